"""API errors as JSON: ``{"code": code, "error": sentence, "errors": [the problems]}`` with the HTTP status.

The code is stable (:data:`ERROR_CODES`): an integration branches on it. The sentence and the problems come from
the catalog in the request's language (Chinese unless ``?lang=en``): a person reads them. A list cut short for
length also says ``"error_count"``, the number of problems found.
"""

from __future__ import annotations

from flask import jsonify
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from web.io.limits import too_large_request

from . import bp

ERROR_CODES = {
    "authentication_required": "401: no bearer token was sent",
    "invalid_token": "401: the token is unknown, revoked or expired, or its account is deactivated",
    "role_not_allowed": "403: the endpoint is not for the token's role",
    "expert_not_linked": "403: the expert account is not linked to an expert",
    "not_found": "404: no such record, or not one the caller may see",
    "seat_lost": "404: the expert no longer holds the sheet's seat",
    "unknown_endpoint": "404: no such endpoint",
    "method_not_allowed": "405: the endpoint does not take this method",
    "not_json": "400: the body is not sent as application/json",
    "invalid_json": "400: the body is not valid JSON",
    "bad_request": "400: the request is malformed (the sentence says how)",
    "missing_document": "400: the multipart field `document` is missing",
    "invalid_body": "422: the body has the wrong shape (every problem in `errors`)",
    "refused": "422: the values were refused (every problem in `errors`); nothing was changed",
    "control_characters": "422: a text holds control characters",
    "conflict": "409: the record's state forbids the change (changed meanwhile)",
    "request_too_large": "413: the body is over the server's size limit",
    "too_many_records": "413: the list holds more records than one import takes",
    "rate_limited": "429: too many requests; wait and try again",
    "http_error": "any other HTTP error",
}
"""Every code an error body may carry, with its status and meaning (the OpenAPI document lists them)."""

HTTP_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "request_too_large",
              429: "rate_limited"}
"""The code of an HTTP error Flask raised itself (an ``abort``, a route that takes no such method …)."""


class ApiError(Exception):
    """A refused request: its status, a stable code, a sentence, and every individual problem (422 lists them all)."""

    def __init__(self, status: int, code: str, message: str, errors: list[str] | None = None,
                 error_count: int | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.errors = list(errors or [])
        self.error_count = error_count


def error_response(status: int, code: str, message: str, errors: list[str] | None = None,
                   error_count: int | None = None):
    """A JSON error response; 401s carry the bearer challenge."""
    body = {"code": code, "error": message, "errors": list(errors or [])}
    if error_count is not None:
        body["error_count"] = error_count
    response = jsonify(body)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="panel"'
    return response


def refused(errors: list[str]) -> ApiError:
    """Values refused (422) with every reason; nothing was changed."""
    return ApiError(422, "refused", _("Refused: %(count)d error(s); nothing was changed.", count=len(errors)), errors)


def invalid_body(problems: list[str]) -> ApiError:
    """A body of the wrong shape, with every problem."""
    return ApiError(422, "invalid_body", _("The body was refused: %(count)d error(s); nothing was changed.",
                                           count=len(problems)), problems)


def json_type(value: object) -> str:
    """The JSON name of a value's type, as a problem names what was sent."""
    names = {dict: _("an object"), list: _("a list"), str: _("a string"), bool: _("true or false"),
             int: _("a number"), float: _("a number"), type(None): _("null")}
    return names.get(type(value), type(value).__name__)


@bp.errorhandler(ApiError)
def api_error(error: ApiError):
    """Our own refusals."""
    return error_response(error.status, error.code, error.message, error.errors, error.error_count)


@bp.errorhandler(RequestEntityTooLarge)
def too_large(error: RequestEntityTooLarge):
    """A body over the request's limit, as JSON in the user's language (registered by code, so that it wins over
    the site's 413 page, which Flask would otherwise prefer to the class handler below)."""
    return error_response(413, "request_too_large", too_large_request())


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException):
    """Flask's aborts (404, 405, 400 on bad JSON …) as JSON, never the site's HTML error page; Werkzeug's own
    English description is replaced by a sentence of the catalog, a description of ours (already one) is kept."""
    status = error.code or 500
    ours = error.description != type(error).description
    return error_response(status, HTTP_CODES.get(status, "http_error"),
                          error.description if ours and error.description else http_sentence(status))


SITE_PAGE_STATUSES = (400, 403, 404, 405, 500)
"""The statuses the site answers with its HTML page (``web._register_blueprints``). Flask prefers a handler
registered for the status, the application's included, to a blueprint's handler for a class, so the API
registers :func:`http_error` for each of them as well: an API client gets JSON, a crash included."""
for _status in SITE_PAGE_STATUSES:
    bp.register_error_handler(_status, http_error)


def http_sentence(status: int) -> str:
    """What an HTTP error status means, in one sentence of the catalog."""
    sentences = {
        400: _("The request is malformed."),
        404: _("There is nothing at this address."),
        405: _("This address does not take this method."),
    }
    return sentences.get(status) or _("The request failed (HTTP %(status)d).", status=status)
