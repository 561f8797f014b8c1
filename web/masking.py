"""Masking personal data (phones, ID numbers, e-mails) for everyone but admins (DESIGN §3)."""

from __future__ import annotations

from flask import Flask
from flask_login import current_user

MASK = "****"


def mask_phone(value: str) -> str:
    """138****5678: the first three and last four characters stay."""
    if len(value) < 8:
        return MASK
    return value[:3] + MASK + value[-4:]


def mask_id_number(value: str) -> str:
    """310***********1234: the first three and last four characters stay, the rest starred one for one."""
    if len(value) < 8:
        return MASK
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_email(value: str) -> str:
    """a***@example.com: the first letter of the mailbox and the domain stay."""
    mailbox, at, domain = value.partition("@")
    if not at or not mailbox:
        return MASK
    return mailbox[0] + "***@" + domain


def mask_whole(value: str) -> str:
    """Nothing of the value stays (the kind of an identity document, as the API shows it)."""
    return MASK


MASKERS = {"phone": mask_phone, "mobile": mask_phone, "fax": mask_phone, "id_number": mask_id_number,
           "id_type": mask_whole, "email": mask_email}


def mask(value: str | None, kind: str) -> str | None:
    """``value`` masked as ``kind`` (phone, mobile, fax, id_number, id_type, email); None stays None."""
    if value is None or value == "":
        return value
    return MASKERS[kind](str(value))


def personal(value: str | None, kind: str) -> str | None:
    """Template filter: ``value`` in full for an admin, masked for everyone else."""
    if current_user.is_authenticated and current_user.role == "admin":
        return value
    return mask(value, kind)


def init_app(app: Flask) -> None:
    """Offer ``{{ value | personal('phone') }}`` in templates."""
    app.add_template_filter(personal, "personal")
