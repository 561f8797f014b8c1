"""API errors as JSON: ``{"error": sentence, "errors": [the problems]}`` with the HTTP status; a list cut short
for length also says ``"error_count"``, the number of problems found."""

from __future__ import annotations

from flask import jsonify
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from web.io.limits import too_large_request

from . import bp


class ApiError(Exception):
    """A refused request: its status, a sentence, and every individual problem (422 lists them all)."""

    def __init__(self, status: int, message: str, errors: list[str] | None = None, error_count: int | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = list(errors or [])
        self.error_count = error_count


def error_response(status: int, message: str, errors: list[str] | None = None, error_count: int | None = None):
    """A JSON error response; 401s carry the bearer challenge."""
    body = {"error": message, "errors": list(errors or [])}
    if error_count is not None:
        body["error_count"] = error_count
    response = jsonify(body)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="panel"'
    return response


@bp.errorhandler(ApiError)
def api_error(error: ApiError):
    """Our own refusals."""
    return error_response(error.status, error.message, error.errors, error.error_count)


@bp.errorhandler(RequestEntityTooLarge)
def too_large(error: RequestEntityTooLarge):
    """A body over the request's limit, as JSON in the user's language (registered by code, so that it wins over
    the site's 413 page, which Flask would otherwise prefer to the class handler below)."""
    return error_response(413, too_large_request())


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException):
    """Flask's aborts (404, 405, 400 on bad JSON …) as JSON, never the site's HTML error page."""
    return error_response(error.code or 500, error.description or error.name)
