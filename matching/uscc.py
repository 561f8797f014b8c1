"""Unified Social Credit Codes (统一社会信用代码, GB 32100-2015).

An 18-character code: registration authority (1), organization kind (1), administrative division (6),
organization code (9), check character (1). The alphabet leaves out I, O, Z, S and V.
"""

from __future__ import annotations

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
LENGTH = 18
REGISTRATION_AUTHORITIES = "123456789ANY"
SHANGHAI_DIVISION_PREFIX = "31"


def compact(code: str) -> str:
    """Strip the spaces and hyphens people type into codes; letters are kept as given."""
    return "".join(code.split()).replace("-", "")


def check_character(body: str) -> str:
    """The check character for the first 17 characters of a code."""
    total = sum(ALPHABET.index(char) * weight for char, weight in zip(body, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def uscc_error(code: str) -> str | None:
    """Why ``code`` is not a valid USCC, as a short English rule, or None when it is valid."""
    code = compact(code)
    if len(code) != LENGTH:
        return f"must be {LENGTH} characters, got {len(code)}"
    bad = sorted({char for char in code if char not in ALPHABET})
    if bad:
        return "characters not allowed: " + " ".join(bad) + " (digits and capitals except I O Z S V)"
    if code[0] not in REGISTRATION_AUTHORITIES:
        return f"first character {code[0]} is not a registration authority code ({REGISTRATION_AUTHORITIES})"
    expected = check_character(code[:17])
    if code[17] != expected:
        return f"check character is {code[17]}, expected {expected}"
    return None


def is_valid(code: str) -> bool:
    """True when ``code`` is a well-formed USCC with the right check character."""
    return uscc_error(code) is None


def division(code: str) -> str:
    """The six-digit administrative division code (characters 3–8)."""
    return compact(code)[2:8]


def is_shanghai(code: str) -> bool:
    """True when the division code places the registration in Shanghai (31xxxx)."""
    return division(code).startswith(SHANGHAI_DIVISION_PREFIX)
