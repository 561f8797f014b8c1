"""Times as people in the review read them: stored in UTC, shown in Asia/Shanghai with the zone written beside.

Every stored time is naive UTC (:func:`web.models.common.utcnow`; SQLite drops zones). Pages, e-mails, Excel
files and PDFs show a time only through :func:`local_time` (the ``local_time`` template filter), so a reader never
has to guess whether 09:30 is Beijing time or UTC. Deadlines are calendar days in Shanghai, so "today" for a
deadline is :func:`local_today`, not the UTC date (between 00:00 and 08:00 Beijing time the two differ).
``PANEL_TODAY`` (an ISO date, app config or environment) pins that day: the demo shows its 2020 round as it stood
on a day inside it, not as overdue six years later.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask import Flask, current_app, has_app_context

ZONE = ZoneInfo("Asia/Shanghai")
ZONE_LABEL = "UTC+8"
"""Written after every time shown; China keeps no daylight-saving time, so the offset never changes."""


def to_local(value: datetime) -> datetime:
    """A stored time (naive UTC, or aware) as an aware Asia/Shanghai time."""
    aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value
    return aware.astimezone(ZONE)


def local_time(value: datetime | None, seconds: bool = False, empty: str = "—") -> str:
    """``2020-10-12 17:30 UTC+8``: a stored time in Beijing time with the zone; ``empty`` for no time."""
    if value is None:
        return empty
    pattern = "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
    return f"{to_local(value).strftime(pattern)} {ZONE_LABEL}"


def local_today(now: datetime | None = None) -> date:
    """The calendar day in Shanghai at ``now`` (a stored, naive-UTC time; default: the present moment, or the day
    ``PANEL_TODAY`` pins)."""
    if now is None:
        pinned = (current_app.config.get("PANEL_TODAY") if has_app_context() else None) or os.environ.get("PANEL_TODAY")
        if pinned:
            return date.fromisoformat(str(pinned))
    return to_local(now or datetime.now(UTC)).date()


def init_app(app: Flask) -> None:
    """Make :func:`local_time` the ``local_time`` filter of every template (pages, e-mails and PDFs)."""
    app.add_template_filter(local_time, "local_time")
