"""The password rules: at least ``MIN_LENGTH`` characters, not the username, not a common password.

The common passwords are the 30,000 most frequent ones of real leaks, as shipped by zxcvbn (its ``passwords``
frequency list), compared without regard to case. Length and a deny-list rather than composition rules ("one
digit, one capital"): NIST SP 800-63B §5.1.1.2 recommends exactly this, and composition rules push people to
``Password1!``. See docs/security.md.
"""

from __future__ import annotations

from functools import cache

from flask_babel import gettext as _
from zxcvbn.frequency_lists import FREQUENCY_LISTS

MIN_LENGTH = 10


@cache
def common_passwords() -> frozenset[str]:
    """The deny-list, lower-cased, read once."""
    return frozenset(word.lower() for word in FREQUENCY_LISTS["passwords"])


def refusals(password: str, username: str) -> list[str]:
    """Every rule ``password`` breaks for the account ``username``, as sentences for the user; empty when it is
    acceptable."""
    reasons = []
    if len(password) < MIN_LENGTH:
        reasons.append(_("The password needs at least %(count)s characters.", count=MIN_LENGTH))
    folded = password.strip().lower()
    if username and folded == username.strip().lower():
        reasons.append(_("The password must not be the username."))
    if folded in common_passwords():
        reasons.append(_("This password is among the most common ones; choose another."))
    return reasons
