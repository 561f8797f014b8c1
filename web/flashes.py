"""Flashed messages stay small enough for the session cookie that carries them to the next page.

Messages wait for the next page in the signed session cookie, and a browser drops a cookie over 4 KB (behind
nginx, a response header over its 4–8 KB buffer is a 502). A refused import of 5,000 rows flashed 5,000 reasons
(a 39 KB cookie: the organizer saw none of them), and 3,000 refs typed into a round named in one message made
9 KB. So, after every view, the messages waiting in the session are kept in order while their text fits
:data:`BUDGET` characters, a longer one is cut with "…", and the ones left out are counted in one last line.
The full list of an import's errors is what the import's own page or the CLI shows (docs/import.md).
"""

from __future__ import annotations

from flask import Flask, Response, session
from flask_babel import gettext as _

# Characters of message text carried to the next page. Chinese text in the cookie's JSON is six bytes a
# character before compression; 600 characters stay near 2 KB of cookie with the session's own keys.
BUDGET = 600
ELLIPSIS = "…"


def init_app(app: Flask) -> None:
    """Trim the waiting messages after every view, before the session is saved."""
    app.after_request(_trim_waiting_messages)


def _trim_waiting_messages(response: Response) -> Response:
    waiting = session.get("_flashes")
    if waiting and sum(len(str(message)) for _category, message in waiting) > BUDGET:
        session["_flashes"] = within_budget(waiting)
    return response


def within_budget(messages: list[tuple[str, str]], budget: int = BUDGET) -> list[tuple[str, str]]:
    """The first messages whose text fits ``budget`` characters (the first one cut to fit when it alone is
    longer), then a line counting the messages left out, in the category of the first of them."""
    kept: list[tuple[str, str]] = []
    left = budget
    for category, message in messages:
        text = str(message)
        if len(text) > left:
            if not kept:
                kept.append((category, text[:max(left - 1, 0)] + ELLIPSIS))
            break
        kept.append((category, text))
        left -= len(text)
    dropped = messages[len(kept):]
    if dropped:
        kept.append((dropped[0][0], _("… and %(count)d more messages", count=len(dropped))))
    return kept
