"""Bad input costs a refusal, never a 500: control characters are refused, ids beyond a database integer are 404.

Control characters in what a person sends are refused before any view or service reads it.

A NUL byte makes PostgreSQL refuse the statement (a 500 before this check); other control characters have no
place in a name, a filter or a comment either. Tab, line feed and carriage return are allowed (multi-line text).
Every query-string value, form field, uploaded file's name and type, URL part and JSON string (keys too) is
checked; the first offending field is named in a Chinese sentence: 400 on a page, 422 from the API. Views that
check their own text, so they can show the refusal beside what was typed (the score sheet, the recusal and decline
forms), say so with :func:`checks_own_text`.

``<int:…>`` URL parts are capped at the largest database integer (a larger one is a 404, as for an id that does not
exist), and :func:`database_int` reads integers from query strings the same way (``type=database_int``: out of
range counts as absent). A JSON integer too large for a float reads as infinity, as the JSON number ``1e400``
does, so every number check refuses it with its own sentence instead of overflowing (:class:`BoundedJSONProvider`).
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable, Iterator

from flask import Flask, current_app, render_template, request
from flask.json.provider import DefaultJSONProvider
from flask_babel import gettext as _
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter

from web.control_characters import CONTROL_CHARACTERS
from web.io.limits import apply_body_limit

# The largest value of a 32-bit signed INTEGER column (PostgreSQL's integer; SQLite stores up to 2**63 - 1).
MAX_DATABASE_INT = 2**31 - 1
# Lists and objects inside each other: a list of application records is 6 deep, a sheet 3.
MAX_JSON_DEPTH = 32


class DatabaseIntegerConverter(IntegerConverter):
    """``<int:…>`` no larger than :data:`MAX_DATABASE_INT`: a larger id is a 404, never an overflow."""

    def __init__(self, map, fixed_digits: int = 0, min: int | None = None, max: int | None = MAX_DATABASE_INT,
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def database_int(text: str) -> int:
    """An integer a database column holds (for ``request.args.get(…, type=database_int)``); ValueError else."""
    value = int(text)
    if not -MAX_DATABASE_INT <= value <= MAX_DATABASE_INT:
        raise ValueError(f"{text} is out of range")
    return value


def json_int(text: str) -> int | float:
    """A JSON integer as Python reads it, but ±infinity beyond the largest float (``float(10**400)`` raises)."""
    value = int(text)
    if abs(value) <= sys.float_info.max:
        return value
    return math.inf if value > 0 else -math.inf


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON, reading integers with :func:`json_int` (a number check then never overflows) and refusing
    a document nested deeper than :data:`MAX_JSON_DEPTH` as invalid JSON: ``[[[[…`` a few thousand deep made
    the parser, or the walk over the document below, raise RecursionError — a 500."""

    def loads(self, s: str | bytes, **kwargs) -> object:
        try:
            document = json.loads(s, parse_int=json_int, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None
        if json_depth(document) > MAX_JSON_DEPTH:
            raise ValueError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
        return document


def json_depth(document: object) -> int:
    """How deeply lists and objects nest in ``document`` (a scalar is 0), counted without recursion."""
    deepest, stack = 0, [(document, 1)]
    while stack:
        value, depth = stack.pop()
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else None
        if children is not None:
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in children)
    return deepest


def control_character_error(field: str, value: str) -> str | None:
    """The refusal for ``value`` of ``field`` when it holds a control character, else None."""
    if CONTROL_CHARACTERS.search(value):
        return _("%(field)s: control characters (such as NUL) are not allowed.", field=field)
    return None


def checks_own_text(view: Callable) -> Callable:
    """Mark a view that checks control characters itself (it refuses them beside the input it re-shows)."""
    view.checks_own_text = True
    return view


def init_app(app: Flask) -> None:
    """Cap ``<int:…>`` (before any blueprint registers a rule), bound JSON integers and check every request
    before its view."""
    app.url_map.converters["int"] = DatabaseIntegerConverter
    app.json = BoundedJSONProvider(app)
    app.before_request(_refuse_control_characters)


def _refuse_control_characters():
    """A 400 page (422 JSON on the API) naming the first field holding a control character."""
    view = current_app.view_functions.get(request.endpoint or "")
    apply_body_limit(view)                   # an import's own limit holds before the body is read here
    if view is None or getattr(view, "checks_own_text", False):
        return None
    for field, value in _texts():
        message = control_character_error(field, value)
        if message:
            return _refusal(message)
    return None


def _texts() -> Iterator[tuple[str, str]]:
    """(field name, text) of everything the request carries: URL parts, query string, form, the names and types
    of uploaded files, JSON body."""
    for name, value in (request.view_args or {}).items():
        if isinstance(value, str):
            yield name, value
    for source in (request.args, request.form):
        for name, values in source.lists():
            yield "(name)", name
            for value in values:
                yield name, value
    for name, upload in request.files.items(multi=True):      # stored with the file: PostgreSQL refuses a NUL
        yield name, upload.filename or ""
        yield name, upload.content_type or ""
    if request.is_json:
        yield from _json_texts("(body)", request.get_json(silent=True))


def _json_texts(path: str, value: object) -> Iterator[tuple[str, str]]:
    """Every string in a JSON document with its path (``values.goals``, ``items[2]``)."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield path, str(key)
            yield from _json_texts(key if path == "(body)" else f"{path}.{key}", item)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _json_texts(f"{path}[{index}]", item)


def _refusal(message: str):
    """The refusal in the caller's format."""
    if request.blueprint == "api":
        from web.api.errors import error_response

        return error_response(422, "control_characters", message, [message])
    return render_template("error.html", error=BadRequest(message)), 400
