"""Conversion of one raw value (a string from CSV, a cell from Excel, a JSON value) to its record type.

Each converter returns the converted value or raises :class:`Refused` with the rule the value breaks, in the
words that end an error line (``must be ≥ 0, got -5``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import date, datetime

from matching.uscc import compact, uscc_error
from web.control_characters import CONTROL_CHARACTERS

ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
TAG_SEPARATORS = re.compile(r"[,，、;；\s]+")
TRUE_WORDS = frozenset({"true", "yes", "y", "1", "是", "有", "√"})
FALSE_WORDS = frozenset({"false", "no", "n", "0", "否", "无", "×"})


class Refused(ValueError):
    """A value breaks a rule; the message is the rule."""


def shown(value: object) -> str:
    """A value as it appears in an error message."""
    return repr(value) if isinstance(value, str) else str(value)


def blank(value: object) -> bool:
    """True for values that mean "not given": None and strings of whitespace."""
    return value is None or (isinstance(value, str) and not value.strip())


def to_text(value: object) -> str:
    """A string, stripped; numbers from Excel cells (postcodes, phones) become their digits. Control characters
    are refused as in every form (tab and line breaks are text)."""
    if isinstance(value, bool | list | dict):
        raise Refused(f"must be text, got {type(value).__name__}")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    if CONTROL_CHARACTERS.search(text):             # PostgreSQL refuses a NUL: the import would end in a crash
        raise Refused("control characters (such as NUL) are not allowed")
    return text


def to_date(value: object) -> date:
    """An ISO date ``YYYY-MM-DD``; Excel date cells are accepted as they are."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = to_text(value)
    if not ISO_DATE.match(text):
        raise Refused(f"must be an ISO date YYYY-MM-DD, got {shown(text)}")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise Refused(f"is not a calendar date, got {shown(text)}") from None


def to_number(value: object) -> float:
    """A finite number; strings are parsed, booleans refused."""
    if isinstance(value, bool):
        raise Refused(f"must be a number, got {value}")
    if isinstance(value, int | float):
        number = float(value)
    else:
        text = to_text(value)
        try:
            number = float(text)
        except ValueError:
            raise Refused(f"must be a number, got {shown(text)}") from None
    if not math.isfinite(number):
        raise Refused(f"must be a finite number, got {number}")
    return number


def whole(number: float, original: object) -> int:
    """The number as an int, refusing fractions."""
    if not number.is_integer():
        raise Refused(f"must be a whole number, got {shown(original)}")
    return int(number)


def at_least_zero(number: float, original: object) -> None:
    """Refuse negative numbers."""
    if number < 0:
        raise Refused(f"must be ≥ 0, got {to_text(original) if not isinstance(original, str) else original}")


def to_count(value: object) -> int:
    """A non-negative whole number (people, patents, standards)."""
    number = to_number(value)
    at_least_zero(number, value)
    return whole(number, value)


def to_amount(value: object) -> float:
    """A non-negative amount of money in 万元."""
    number = to_number(value)
    at_least_zero(number, value)
    return number


def to_percentage(value: object) -> float:
    """A percentage between 0 and 100."""
    number = to_number(value)
    if not 0 <= number <= 100:
        raise Refused(f"must be between 0 and 100, got {to_text(value)}")
    return number


def to_year(value: object) -> int:
    """A four-digit calendar year."""
    year = whole(to_number(value), value)
    if not 1900 <= year <= 2100:
        raise Refused(f"must be a year between 1900 and 2100, got {year}")
    return year


def to_bool(value: object) -> bool:
    """Yes or no, in English, Chinese or as 1/0."""
    if isinstance(value, bool):
        return value
    word = to_text(value).lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise Refused(f"must be yes or no (true/false, 是/否), got {shown(word)}")


def to_uscc(value: object) -> str:
    """A unified social credit code with the right check character (GB 32100-2015), spaces removed."""
    code = to_text(value)
    error = uscc_error(code)
    if error:
        raise Refused(error)
    return compact(code)


def choice_reader(codes: Mapping[str, str], aliases: Mapping[str, str], what: str) -> Callable[[object], str]:
    """A converter accepting a code, its Chinese label or an alias, returning the code."""
    by_word = {label: code for code, label in codes.items()}
    by_word.update({alias: code for alias, code in aliases.items() if code in codes})
    by_word.update({code: code for code in codes})

    def read(value: object) -> str:
        word = to_text(value)
        code = by_word.get(word) or by_word.get(word.lower())
        if code is None:
            raise Refused(f"unknown {what} {shown(word)} (one of: {', '.join(codes)})")
        return code

    return read


def split_tags(value: object) -> list[object]:
    """A list as given in JSON, or the items of a comma-separated cell."""
    if isinstance(value, list | tuple):
        return [item for item in value if not blank(item)]
    return [item for item in TAG_SEPARATORS.split(to_text(value)) if item]
