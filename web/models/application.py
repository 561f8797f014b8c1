"""The application (申报书): the basic information table, its bearer unit, leads, expectations and plan."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
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

from .common import LegalEntityColumns, legal_entity_checks, not_negative, one_of, percentage, utcnow
from .organization import Organization
from .taxonomy import Field

CONSTRUCTION_CONTENT_LIMIT = 500
LEAD_ROLES = ("initiator", "rd_team", "daily_contact")
PLAN_SECTIONS = (
    "necessity", "goals", "technical_route", "ip_and_standards", "market", "foundation",
    "operations", "staff", "leaders", "organization", "investment", "risks",
)
EXPECTED_RESULTS = ("patent", "standard", "technology", "product", "process", "device", "other")
EXPECTED_STANDARDS = ("international", "national", "industry", "alliance", "enterprise")
MAX_EXCLUDED_EXPERTS = 3


class Application(LegalEntityColumns, db.Model):
    """One center's application; the bearer unit's registration columns come from :class:`LegalEntityColumns`.

    ``bearer_name`` and ``bearer_uscc`` keep the form as filed; ``bearer`` is the organization they resolve to.
    """

    __table_args__ = (
        *legal_entity_checks(),
        CheckConstraint(
            f"construction_content IS NULL OR length(construction_content) <= {CONSTRUCTION_CONTENT_LIMIT}",
            name="construction_content_length",
        ),
        not_negative("expected_foreign_invention"),
        not_negative("expected_domestic_invention"),
        not_negative("expected_other_ip"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(64), unique=True)
    center_name: Mapped[str] = mapped_column(String(255))
    field_id: Mapped[int] = mapped_column(ForeignKey("field.id"), index=True)
    submitted_on: Mapped[date | None] = mapped_column(Date)
    bearer_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    bearer_name: Mapped[str] = mapped_column(String(255))
    bearer_uscc: Mapped[str | None] = mapped_column(String(18))
    expected_results: Mapped[list[str]] = mapped_column(JSON, default=list)
    expected_foreign_invention: Mapped[int | None] = mapped_column(Integer)
    expected_domestic_invention: Mapped[int | None] = mapped_column(Integer)
    expected_other_ip: Mapped[int | None] = mapped_column(Integer)
    expected_standards: Mapped[list[str]] = mapped_column(JSON, default=list)
    construction_content: Mapped[str | None] = mapped_column(Text)
    applicant_opinion: Mapped[str | None] = mapped_column(Text)
    applicant_opinion_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    field: Mapped[Field] = relationship()
    bearer: Mapped[Organization] = relationship()
    shareholders: Mapped[list[Shareholder]] = relationship(
        cascade="all, delete-orphan", order_by="Shareholder.position",
        primaryjoin="Application.id == Shareholder.application_id",
    )
    leads: Mapped[list[Lead]] = relationship(cascade="all, delete-orphan", order_by="Lead.id")
    members: Mapped[list[MemberUnit]] = relationship(  # noqa: F821
        back_populates="application", cascade="all, delete-orphan", order_by="MemberUnit.position"
    )
    plan_sections: Mapped[list[PlanSection]] = relationship(cascade="all, delete-orphan", order_by="PlanSection.id")
    excluded_experts: Mapped[list[ExcludedExpert]] = relationship(
        cascade="all, delete-orphan", order_by="ExcludedExpert.position"
    )
    attachments: Mapped[list[Attachment]] = relationship(  # noqa: F821
        back_populates="application", cascade="all, delete-orphan", order_by="Attachment.id"
    )

    def lead(self, role: str) -> Lead | None:
        """The lead with ``role`` (initiator, rd_team, daily_contact), if filled in."""
        return next((lead for lead in self.leads if lead.role == role), None)

    def plan(self, key: str) -> str | None:
        """The text of construction-plan section ``key``, if written."""
        return next((section.text for section in self.plan_sections if section.key == key), None)


class Shareholder(db.Model):
    """A line of a shareholding table: the bearer's full structure, or an enterprise member's top three."""

    __table_args__ = (
        percentage("share_pct"),
        CheckConstraint(
            "(application_id IS NULL) <> (enterprise_id IS NULL)", name="one_owner"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("application.id", ondelete="CASCADE"), index=True)
    enterprise_id: Mapped[int | None] = mapped_column(
        ForeignKey("enterprise_details.member_id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(255))
    share_pct: Mapped[float | None]


class Lead(db.Model):
    """One of the three people the basic information table names: initiator lead, R&D lead, daily contact."""

    __table_args__ = (UniqueConstraint("application_id", "role"), one_of("role", LEAD_ROLES))

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    name: Mapped[str | None] = mapped_column(String(100))
    mobile: Mapped[str | None] = mapped_column(String(40))
    post: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(255))


class PlanSection(db.Model):
    """One section of the construction plan (建设方案 outline, DESIGN §3)."""

    __table_args__ = (UniqueConstraint("application_id", "key"), one_of("key", PLAN_SECTIONS))

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)


class ExcludedExpert(db.Model):
    """An expert the applicant asks to avoid (at most three; soft conflict applicant-excluded, DESIGN §6.1).

    Kept as the filed ref, not a foreign key: the expert may be registered after the application.
    """

    __table_args__ = (
        UniqueConstraint("application_id", "expert_ref"),
        CheckConstraint(f"position >= 0 AND position < {MAX_EXCLUDED_EXPERTS}", name="at_most_three"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    expert_ref: Mapped[str] = mapped_column(String(64), index=True)
