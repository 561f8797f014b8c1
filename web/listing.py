"""Long lists people can work with: search, filters, sort and pages read from the query string, checked, applied.

Every list page declares a :class:`ListSpec` (its sort keys, its filters and their allowed values); :func:`parse`
reads the query string against it and :func:`paginate_query` (an SQL select) or :func:`paginate_items` (a list
computed in Python, such as the conflicts of a round) returns one :class:`Page`. The macros in
``templates/_listing.html`` draw the filter form, the sort headers and the pager as plain GET forms and links, so the
lists work without JavaScript, and every link keeps the other arguments of the query string.

Bad values never cost a 500: a page that is not a number counts as the first, a page past the end shows the last,
the page size is held between 1 and :data:`MAX_PER_PAGE`, an unknown sort key or direction falls back to the
list's default, and a filter value outside its allowed values is ignored. Search text holding control characters
(a NUL makes PostgreSQL refuse the statement) or longer than :data:`MAX_SEARCH` is refused with a 400.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import abort, request, url_for
from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Select, func, or_, select

from web.extensions import db
from web.input_guard import control_character_error

MAX_PER_PAGE = 200
MAX_SEARCH = 100
DIRECTIONS = ("asc", "desc")


@dataclass(frozen=True)
class ListSpec:
    """What one list accepts: its sort keys (the first is the default), its filters, its page size.

    ``filters`` maps a query argument to its allowed values, or to None for free text (checked like the search).
    """

    sorts: Sequence[str]
    filters: Mapping[str, Collection[str] | None] = field(default_factory=dict)
    direction: str = "asc"
    per_page: int = 50


@dataclass(frozen=True)
class ListArgs:
    """The checked arguments of one request: the page asked for, its size, sort, direction, search and filters."""

    page: int
    per_page: int
    sort: str
    direction: str
    q: str
    filters: dict[str, str]

    @property
    def descending(self) -> bool:
        return self.direction == "desc"


@dataclass(frozen=True)
class Page:
    """One page of a list: its items, the total that matched, and where it is among the pages."""

    items: list
    total: int
    page: int
    pages: int
    args: ListArgs

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1

    @property
    def first_index(self) -> int:
        """1-based position of the first item on this page (0 when nothing matched)."""
        return (self.page - 1) * self.args.per_page + 1 if self.total else 0

    def url(self, **changes: Any) -> str:
        """This list's address with ``changes`` to its query string (None or "" removes an argument).

        Arguments url_for would read as its own (``_external``, ``_scheme``…, ``endpoint``) are dropped, and the
        URL's own parts win over query arguments of the same name: a crafted link cannot steer where it points."""
        args = {key: value for key, value in request.args.items() if not key.startswith("_") and key != "endpoint"}
        for key, value in changes.items():
            if value is None or value == "":
                args.pop(key, None)
            else:
                args[key] = str(value)
        return url_for(request.endpoint, **{**args, **(request.view_args or {})})

    def sort_url(self, key: str) -> str:
        """The address sorting by ``key``: ascending first, the other way on a second click; back to page 1."""
        direction = "desc" if self.args.sort == key and not self.args.descending else "asc"
        return self.url(sort=key, direction=direction, page=None)


def parse(spec: ListSpec, args: Mapping[str, str] | None = None) -> ListArgs:
    """The list arguments of the query string (``request.args`` unless given), checked against ``spec``."""
    args = request.args if args is None else args
    sort = args.get("sort", "")
    direction = args.get("direction", "")
    return ListArgs(
        page=max(1, _integer(args.get("page"), 1)),
        per_page=min(MAX_PER_PAGE, max(1, _integer(args.get("per_page"), spec.per_page))),
        sort=sort if sort in spec.sorts else spec.sorts[0],
        direction=direction if direction in DIRECTIONS else spec.direction,
        q=_text(_("Search"), args.get("q", "")),
        filters=_filters(spec, args),
    )


def _integer(text: str | None, default: int) -> int:
    """``text`` as a whole number (one of more than 30 digits counts as 10**30, a negative one as 0: the caller
    clamps both), or ``default`` when it is absent or not a whole number."""
    text = (text or "").strip()
    digits = text.removeprefix("-")
    if not (digits.isascii() and digits.isdigit()):
        return default
    if text.startswith("-"):
        return 0
    return int(digits) if len(digits) <= 30 else 10**30


def _text(name: str, value: str) -> str:
    """Free text of a search or filter, stripped; control characters or excessive length are a 400."""
    message = control_character_error(name, value)
    if message is None and len(value) > MAX_SEARCH:
        message = _("%(field)s: at most %(count)d characters.", field=name, count=MAX_SEARCH)
    if message:
        abort(400, description=message)
    return value.strip()


def _filters(spec: ListSpec, args: Mapping[str, str]) -> dict[str, str]:
    """The filters given with an allowed value (free-text ones checked like the search)."""
    chosen = {}
    for name, allowed in spec.filters.items():
        value = args.get(name, "")
        if allowed is None:
            value = _text(name, value)
        elif value not in allowed:
            continue
        if value:
            chosen[name] = value
    return chosen


def _clamped(args: ListArgs, total: int) -> tuple[int, int]:
    """(page, pages): the page asked for, held inside the pages there are (one empty page when nothing matched)."""
    pages = max(1, math.ceil(total / args.per_page))
    return min(args.page, pages), pages


def contains(column: ColumnElement, text: str) -> ColumnElement:
    """``column`` contains ``text``, case-insensitively, with ``%`` and ``_`` taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.ilike(f"%{escaped}%", escape="\\")


def searched(query: Select, args: ListArgs, columns: Iterable[ColumnElement]) -> Select:
    """``query`` narrowed to rows where one of ``columns`` contains the search text (unchanged without one)."""
    if not args.q:
        return query
    return query.where(or_(*(contains(column, args.q) for column in columns)))


def ordered(query: Select, args: ListArgs, sort_columns: Mapping[str, Sequence[ColumnElement]]) -> Select:
    """``query`` ordered by the columns of the chosen sort key, in the chosen direction."""
    columns = sort_columns[args.sort]
    return query.order_by(*(column.desc() if args.descending else column.asc() for column in columns))


def paginate_query(query: Select, args: ListArgs, *, sort_columns: Mapping[str, Sequence[ColumnElement]] | None,
                   search: Iterable[ColumnElement] = ()) -> Page:
    """One page of an SQL select of entities, searched, counted and ordered (give a unique column last in each
    sort key so that pages never overlap; None keeps the query's own order)."""
    query = searched(query, args, search)
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    page, pages = _clamped(args, total)
    if sort_columns is not None:
        query = ordered(query, args, sort_columns)
    rows = db.session.scalars(query.limit(args.per_page).offset((page - 1) * args.per_page)).all()
    return Page(items=list(rows), total=total, page=page, pages=pages, args=args)


def paginate_items(items: Iterable, args: ListArgs, *, sort_keys: Mapping[str, Callable[[Any], Any]],
                   search: Callable[[Any], Iterable[str | None]] | None = None) -> Page:
    """One page of a list computed in Python: kept when one of ``search(item)`` contains the search text
    (case-insensitively), sorted by the chosen key (missing values last, whatever the direction)."""
    found = list(items)
    if args.q and search is not None:
        needle = args.q.casefold()
        found = [item for item in found if any(needle in (text or "").casefold() for text in search(item))]
    key = sort_keys[args.sort]
    present = sorted((item for item in found if key(item) is not None), key=key, reverse=args.descending)
    return page_of(present + [item for item in found if key(item) is None], args)


def page_of(found: Sequence, args: ListArgs) -> Page:
    """One page of a list already searched, filtered and ordered."""
    page, pages = _clamped(args, len(found))
    start = (page - 1) * args.per_page
    return Page(items=list(found[start:start + args.per_page]), total=len(found), page=page, pages=pages, args=args)
