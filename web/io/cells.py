"""Spreadsheet safety of exported text: a cell that Excel or LibreOffice would run as a formula stays text.

A CSV cell beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is a formula (or the start of
one) to a spreadsheet (OWASP "CSV injection"): an expert's comment ``=HYPERLINK("http://…")`` would become a link.
Every CSV writer passes text cells through :func:`inert`, which puts an apostrophe in front; the CSV reader takes
it off again (:func:`restored`), so an export re-imports to the same values. Numbers are never touched (−3.5 is a
number, not a formula).
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def inert(value: object) -> object:
    """``value`` with an apostrophe in front when it is text a spreadsheet would read as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def restored(text: str) -> str:
    """The text :func:`inert` was given (the apostrophe it added taken off)."""
    if text.startswith("'") and text[1:].startswith(FORMULA_STARTS):
        return text[1:]
    return text
