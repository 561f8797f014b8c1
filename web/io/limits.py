"""How much an import may ask of the server before it is refused, and how many of its errors are shown.

A file is refused on its size, its row count or (for .xlsx) the sizes its zip directory declares before the
expensive work starts, so a hostile or mistaken file costs no more than the refusal (docs/import.md, Limits).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from flask import current_app, has_request_context, request
from flask_babel import gettext as _

MiB = 1024 * 1024


@dataclass(frozen=True)
class ImportLimits:
    """The caps of one import; the defaults are those of a server without settings.

    ``max_rows`` data rows per sheet (or CSV file, or records in a JSON list); ``max_bytes`` the file itself;
    ``max_uncompressed`` the sum of an .xlsx workbook's declared member sizes and ``max_ratio`` the largest
    uncompressed ÷ compressed ratio of a member above ``ratio_floor`` bytes; ``max_errors`` errors shown.
    """

    max_rows: int = 20_000
    max_bytes: int = 20 * MiB
    max_uncompressed: int = 256 * MiB
    max_ratio: int = 100
    ratio_floor: int = MiB
    max_errors: int = 1_000

    @classmethod
    def from_config(cls, config: Mapping[str, object]) -> ImportLimits:
        """The limits a Flask app is configured with (web/config.py)."""
        return cls(max_rows=int(config["IMPORT_MAX_ROWS"]), max_bytes=int(config["IMPORT_MAX_BYTES"]),
                   max_uncompressed=int(config["IMPORT_MAX_UNCOMPRESSED"]),
                   max_errors=int(config["IMPORT_MAX_ERRORS"]))


def import_body(view: Callable) -> Callable:
    """Mark a view whose body is an import: it is read only up to ``IMPORT_MAX_BYTES`` (413 past it)."""
    view.body_limit = "IMPORT_MAX_BYTES"
    return view


def apply_body_limit(view: Callable | None) -> None:
    """Lower this request's body limit to the view's own (an import's), else for a JSON body to
    ``MAX_JSON_LENGTH``, before anything reads the body."""
    key = getattr(view, "body_limit", None) or ("MAX_JSON_LENGTH" if request.is_json else None)
    if key:
        request.max_content_length = min(current_app.config[key], current_app.config["MAX_CONTENT_LENGTH"])


def too_large_request() -> str:
    """The sentence of a 413: the request's limit (the current request's own, when it set a lower one)."""
    limit = request.max_content_length if has_request_context() else current_app.config["MAX_CONTENT_LENGTH"]
    return _("The request is larger than this server accepts (at most %(limit)s): send a smaller file or "
             "split the import.", limit=size_text(limit or 0))


def size_text(size: int) -> str:
    """A byte count as people read it: MiB above one MiB, KiB above one KiB, bytes (B) below."""
    if size >= MiB:
        return f"{size / MiB:.1f} MiB"
    return f"{size / 1024:.0f} KiB" if size >= 1024 else f"{size} B"


def capped_errors(errors: Sequence[str], limit: int) -> list[str]:
    """The first ``limit`` errors, then one line counting the others (all of them when there are no more)."""
    if len(errors) <= limit:
        return list(errors)
    return [*errors[:limit], _("… and %(count)d more errors", count=len(errors) - limit)]
