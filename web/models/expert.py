"""Experts (评审专家): pool, fields, profile, and the history the conflict rules look at (DESIGN §6.1)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from web.extensions import db

from .common import POOLS, not_negative, one_of, utcnow
from .organization import Organization
from .taxonomy import Field

GOVERNANCE_ROLES = ("director", "supervisor", "legal_rep", "shareholder", "controller")
RELATION_KINDS = ("kinship", "advisor", "collaboration", "dispute", "investment", "drafted")


class Expert(db.Model):
    """A reviewer from one of the five pools; ``max_load`` None means the round's cap applies."""

    __table_args__ = (one_of("pool", POOLS), not_negative("max_load"))

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    pool: Mapped[str] = mapped_column(String(20), index=True)
    title: Mapped[str | None] = mapped_column(String(100))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id"), index=True)
    profile: Mapped[str | None] = mapped_column(Text)
    max_load: Mapped[int | None] = mapped_column(Integer)
    email: Mapped[str | None] = mapped_column(String(255))
    mobile: Mapped[str | None] = mapped_column(String(40))
    available: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    organization: Mapped[Organization | None] = relationship()
    field_links: Mapped[list[ExpertField]] = relationship(
        cascade="all, delete-orphan", order_by="ExpertField.position"
    )
    affiliations: Mapped[list[PastAffiliation]] = relationship(
        cascade="all, delete-orphan", order_by="PastAffiliation.position"
    )
    roles: Mapped[list[GovernanceRole]] = relationship(
        cascade="all, delete-orphan", order_by="GovernanceRole.position"
    )
    declared: Mapped[list[DeclaredRelation]] = relationship(
        cascade="all, delete-orphan", order_by="DeclaredRelation.position"
    )

    @property
    def fields(self) -> list[Field]:
        """The expert's fields in the order given."""
        return [link.field for link in self.field_links]


class ExpertField(db.Model):
    """An expert's qualification in a field; ``level`` 1 is the main field (kept for finer fit later)."""

    __table_args__ = (UniqueConstraint("expert_id", "field_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id", ondelete="CASCADE"), index=True)
    field_id: Mapped[int] = mapped_column(ForeignKey("field.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    level: Mapped[int] = mapped_column(Integer, default=1)

    field: Mapped[Field] = relationship()


class PastAffiliation(db.Model):
    """A former employer, with dates (rule recent-employment: within 3 years of the round's reference date)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(255))
    uscc: Mapped[str | None] = mapped_column(String(18), index=True)
    from_on: Mapped[date | None] = mapped_column(Date)
    until_on: Mapped[date | None] = mapped_column(Date)


class GovernanceRole(db.Model):
    """A director, supervisor, legal-representative, shareholder or controller role (rule governance)."""

    __table_args__ = (one_of("role", GOVERNANCE_ROLES),)

    id: Mapped[int] = mapped_column(primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    organization: Mapped[str] = mapped_column(String(255))
    uscc: Mapped[str | None] = mapped_column(String(18), index=True)
    role: Mapped[str] = mapped_column(String(20))
    until_on: Mapped[date | None] = mapped_column(Date)


class DeclaredRelation(db.Model):
    """A relation the expert declared (rule declared): with a person, an organization (by USCC or name) or the
    application itself (e.g. helped draft it)."""

    __table_args__ = (
        one_of("kind", RELATION_KINDS),
        CheckConstraint(
            "person IS NOT NULL OR organization IS NOT NULL OR uscc IS NOT NULL OR application_ref IS NOT NULL",
            name="has_party",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    person: Mapped[str | None] = mapped_column(String(100))
    organization: Mapped[str | None] = mapped_column(String(255))
    uscc: Mapped[str | None] = mapped_column(String(18), index=True)
    application_ref: Mapped[str | None] = mapped_column(String(64), index=True)
    until_on: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
