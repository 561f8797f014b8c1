"""Pieces shared by the models: the UTC clock, enum checks and the legal-entity columns of the notice's forms."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import CheckConstraint, Date, Float, String, Text
from sqlalchemy.orm import Mapped, mapped_column

ECONOMIC_TYPES = ("state_owned", "state_controlled", "foreign", "joint_venture", "private", "other")
POOLS = ("economics", "technology", "industry", "management", "law")
LARGEST_INTEGER = 2**31 - 1
"""The largest value an Integer column holds (PostgreSQL's integer): whole numbers people type are checked
against it before they reach the database."""


def utcnow() -> datetime:
    """Now in UTC, naive: SQLite drops time zones, so every stored time is naive UTC by convention."""
    return datetime.now(UTC).replace(tzinfo=None)


def one_of(column: str, values: tuple[str, ...], *, nullable: bool = False) -> CheckConstraint:
    """A CHECK that ``column`` holds one of ``values`` (portable, unlike native enums)."""
    quoted = ", ".join(f"'{value}'" for value in values)
    rule = f"{column} IN ({quoted})"
    if nullable:
        rule = f"{column} IS NULL OR {rule}"
    return CheckConstraint(rule, name=f"{column}_valid")


def percentage(column: str) -> CheckConstraint:
    """A CHECK that a nullable percentage lies in 0–100."""
    return CheckConstraint(f"{column} IS NULL OR ({column} >= 0 AND {column} <= 100)", name=f"{column}_range")


def not_negative(column: str) -> CheckConstraint:
    """A CHECK that a nullable count or amount is not negative."""
    return CheckConstraint(f"{column} IS NULL OR {column} >= 0", name=f"{column}_not_negative")


class LegalEntityColumns:
    """Registration, addresses, legal representative, contact and economic type, as both the basic information
    table (for the bearer unit) and the enterprise table ask them."""

    registered_on: Mapped[date | None] = mapped_column(Date)
    registered_capital: Mapped[float | None] = mapped_column(Float)
    foreign_share_pct: Mapped[float | None] = mapped_column(Float)
    registered_address: Mapped[str | None] = mapped_column(String(255))
    registered_postcode: Mapped[str | None] = mapped_column(String(16))
    contact_address: Mapped[str | None] = mapped_column(String(255))
    contact_postcode: Mapped[str | None] = mapped_column(String(16))
    legal_rep_name: Mapped[str | None] = mapped_column(String(100))
    legal_rep_phone: Mapped[str | None] = mapped_column(String(40))
    legal_rep_email: Mapped[str | None] = mapped_column(String(255))
    legal_rep_id_type: Mapped[str | None] = mapped_column(String(40))
    legal_rep_id_number: Mapped[str | None] = mapped_column(String(40))
    contact_name: Mapped[str | None] = mapped_column(String(100))
    contact_post: Mapped[str | None] = mapped_column(String(100))
    contact_mobile: Mapped[str | None] = mapped_column(String(40))
    contact_email: Mapped[str | None] = mapped_column(String(255))
    economic_type: Mapped[str | None] = mapped_column(String(20))
    economic_type_other: Mapped[str | None] = mapped_column(Text)


def legal_entity_checks() -> tuple[CheckConstraint, ...]:
    """The CHECKs every table with :class:`LegalEntityColumns` carries."""
    return (
        one_of("economic_type", ECONOMIC_TYPES, nullable=True),
        percentage("foreign_share_pct"),
        not_negative("registered_capital"),
    )
