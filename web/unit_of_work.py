"""One unit of work per request: services flush, the request commits once at its end or rolls back everything.

A request's work is committed after the view returns a response below 400 that was not marked refused; an
exception (a 500), an error status (400, 403, 404, 409, 422 …) or a refusal the view showed with
:func:`refuse` rolls back everything the request flushed (unless the view said :func:`keep`). CLI commands and the demo loader are units of work of
their own and call ``db.session.commit()`` once, when they succeed. See docs/transactions.md.
"""

from __future__ import annotations

from flask import Flask, Response, flash, g

from web.extensions import db

_REFUSED = "unit_of_work_refused"
_KEPT = "unit_of_work_kept"


def init_app(app: Flask) -> None:
    """Commit or roll back each request's work once, after its view."""
    app.after_request(_finish)


def refuse(message: str) -> None:
    """Show ``message`` as an error and roll back everything this request did (the view still redirects)."""
    g.setdefault(_REFUSED, True)
    flash(message, "error")


def keep() -> None:
    """Commit this request's work although its answer is an error: a later step was refused, an earlier one stands
    (a sheet's draft is saved even when the submit that followed it was refused)."""
    g.setdefault(_KEPT, True)


def refused() -> bool:
    """Whether the current request was refused (its work will be rolled back)."""
    return bool(g.get(_REFUSED))


def _finish(response: Response) -> Response:
    """Commit a successful request's work; roll back a failed or refused one."""
    # keep() stands for a refusal the view answered (4xx), never for a crash (5xx): a 500 rolls everything back.
    status = response.status_code
    if (status < 400 or (g.get(_KEPT) and status < 500)) and not refused():
        db.session.commit()
    else:
        db.session.rollback()
    return response
