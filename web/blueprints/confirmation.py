"""Confirmation before a step with consequences: a page that spells them out, then a second POST with ``confirm``.

Works without JavaScript: the first POST (or a link) shows the page, its button posts the same form again with
``confirm=yes``. The services refuse the step unless told it was confirmed, so a request that skips the page
changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from flask import render_template, request


def confirmed() -> bool:
    """Whether this POST carries the confirmation the page asks for."""
    return request.form.get("confirm") == "yes"


def confirmation_page(*, title: str, consequences: Sequence[str], action: str, button: str, cancel: str,
                      fields: Mapping[str, str] | None = None, warning: str | None = None) -> str:
    """The page that says what the step will do and posts ``fields`` again with ``confirm=yes``."""
    return render_template("confirm.html", title=title, consequences=consequences, action=action, button=button,
                           cancel=cancel, fields=fields or {}, warning=warning)
