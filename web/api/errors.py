"""API errors as JSON: ``{"error": sentence, "errors": [every problem]}`` with the HTTP status."""

from __future__ import annotations

from flask import jsonify
from werkzeug.exceptions import HTTPException

from . import bp


class ApiError(Exception):
    """A refused request: its status, a sentence, and every individual problem (422 lists them all)."""

    def __init__(self, status: int, message: str, errors: list[str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = list(errors or [])


def error_response(status: int, message: str, errors: list[str] | None = None):
    """A JSON error response; 401s carry the bearer challenge."""
    response = jsonify({"error": message, "errors": list(errors or [])})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="panel"'
    return response


@bp.errorhandler(ApiError)
def api_error(error: ApiError):
    """Our own refusals."""
    return error_response(error.status, error.message, error.errors)


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException):
    """Flask's aborts (404, 405, 400 on bad JSON …) as JSON, never the site's HTML error page."""
    return error_response(error.code or 500, error.description or error.name)
