"""Per-client request limits (Flask-Limiter) on the routes a client could use to guess or to exhaust the server.

* ``/login`` (POST): per address, so one client guessing passwords gets 429 long before it could lock every
  account by the per-account lockout (RATELIMIT_LOGIN). The forgotten-password form (POST) shares the same
  limit per address, so nobody can flood an expert's mailbox; the password change (POST), which checks the
  current password, too.
* the API token check: per address, only refused tokens count (RATELIMIT_API_FAILURES): an integration with a
  good token spends nothing, and an address that had too many tokens refused gets 429 for the rest of the
  window, before its requests reach the database.
* expensive routes — exports, PDFs, a matching run: per account (RATELIMIT_EXPENSIVE).

The limits are applied here, in one table, rather than by decorators spread over the blueprints, so one page says
what is limited and how. Behind a proxy the address is the client's only with PANEL_PROXY_FIX set.
"""

from __future__ import annotations

from flask import Flask, current_app, render_template, request
from flask_babel import gettext as _
from flask_limiter import RateLimitExceeded
from flask_login import current_user

from web.extensions import limiter

PASSWORD_ENDPOINTS = ("auth.login", "auth.forgot_password", "auth.change_password")
EXPENSIVE_ENDPOINTS = (
    "admin.audit_export",
    "rankings.export_xlsx",
    "rankings.sheets_pdf",
    "rankings.application_sheets_pdf",
    "rankings.blank_pdf",
    "rounds.run_matching",
)


def client_address() -> str:
    """The client's address (the proxy's, unless ProxyFix trusts its X-Forwarded-For)."""
    return request.remote_addr or "unknown"


def account_or_address() -> str:
    """The logged-in account, else the address: staff sharing an office's address keep separate budgets."""
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    return f"address:{client_address()}"


# The limits are read from the config at request time. Module-level functions, not lambdas made per app: the
# limiter keeps its limits by view name across apps, and equal limits (same functions) are kept only once.

def login_limit() -> str:
    """RATELIMIT_LOGIN: login attempts per address."""
    return current_app.config["RATELIMIT_LOGIN"]


def api_failure_limit() -> str:
    """RATELIMIT_API_FAILURES: refused API tokens per address."""
    return current_app.config["RATELIMIT_API_FAILURES"]


def expensive_limit() -> str:
    """RATELIMIT_EXPENSIVE: exports, PDFs and matching runs per account."""
    return current_app.config["RATELIMIT_EXPENSIVE"]


def refused_token(response) -> bool:
    """Only API answers refusing the token count against the API limit."""
    return response.status_code == 401


def init_app(app: Flask) -> None:
    """Bind the limiter to ``app`` and limit the routes above (call after the blueprints are registered)."""
    limiter.init_app(app)
    for endpoint in PASSWORD_ENDPOINTS:
        _limit(app, endpoint, limiter.limit(login_limit, key_func=client_address, methods=["POST"]))
    for endpoint in EXPENSIVE_ENDPOINTS:
        _limit(app, endpoint, limiter.limit(expensive_limit, key_func=account_or_address))
    limiter.limit(api_failure_limit, key_func=client_address, deduct_when=refused_token)(app.blueprints["api"])
    app.register_error_handler(RateLimitExceeded, too_many_requests)


def _limit(app: Flask, endpoint: str, decorator) -> None:
    """Wrap the view of ``endpoint`` in a limit decorator."""
    app.view_functions[endpoint] = decorator(app.view_functions[endpoint])


def too_many_requests(error: RateLimitExceeded):
    """429 with a sentence a person can read (JSON on the API), and when to try again."""
    message = _("Too many requests from your computer; please wait a minute and try again.")
    if request.blueprint == "api":
        from web.api.errors import error_response

        response = error_response(429, "rate_limited", message)
    else:
        response = current_app.make_response((render_template("error.html", error=error, message=message), 429))
    return response
