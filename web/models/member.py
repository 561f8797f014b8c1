"""Member units (成员单位) of an application, with the enterprise table or the university/institute table."""

from __future__ import annotations

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from web.extensions import db

from .application import Application, Shareholder
from .common import LegalEntityColumns, legal_entity_checks, not_negative, one_of, percentage
from .organization import Organization

MEMBER_ROLES = ("initiating", "participating")
MEMBER_KINDS = ("enterprise", "institute")
RD_INSTITUTIONS = (
    "enterprise_tech_center", "engineering_research_center", "engineering_tech_research_center",
    "key_laboratory", "other",
)
IP_COUNTS = (
    "invention_applied", "invention_granted", "utility_applied", "utility_granted",
    "software_copyrights", "ic_layouts",
)


class MemberUnit(db.Model):
    """An initiating (发起) or participating (参加) unit.

    ``name``, ``uscc`` and ``parent_name`` keep the form as filed; ``organization`` is what they resolve to.
    """

    __table_args__ = (one_of("role", MEMBER_ROLES), one_of("kind", MEMBER_KINDS))

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(255))
    uscc: Mapped[str | None] = mapped_column(String(18))
    parent_name: Mapped[str | None] = mapped_column(String(255))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)

    application: Mapped[Application] = relationship(back_populates="members")
    organization: Mapped[Organization] = relationship()
    enterprise: Mapped[EnterpriseDetails | None] = relationship(
        back_populates="member", cascade="all, delete-orphan", uselist=False
    )
    institute: Mapped[InstituteDetails | None] = relationship(
        back_populates="member", cascade="all, delete-orphan", uselist=False
    )


class EnterpriseDetails(LegalEntityColumns, db.Model):
    """The member-unit (enterprise) information table."""

    __table_args__ = (
        *legal_entity_checks(),
        *(not_negative(column) for column in (
            "employees", "rd_staff", "total_assets", "fixed_assets", *IP_COUNTS)),
        percentage("debt_ratio_pct"),
        percentage("market_share_pct"),
    )

    member_id: Mapped[int] = mapped_column(ForeignKey("member_unit.id", ondelete="CASCADE"), primary_key=True)
    employees: Mapped[int | None] = mapped_column(Integer)
    rd_staff: Mapped[int | None] = mapped_column(Integer)
    total_assets: Mapped[float | None] = mapped_column(Float)
    fixed_assets: Mapped[float | None] = mapped_column(Float)
    debt_ratio_pct: Mapped[float | None] = mapped_column(Float)
    after_tax_profit: Mapped[float | None] = mapped_column(Float)
    rd_institutions: Mapped[list[str]] = mapped_column(JSON, default=list)
    rd_institutions_other: Mapped[str | None] = mapped_column(Text)
    invention_applied: Mapped[int | None] = mapped_column(Integer)
    invention_granted: Mapped[int | None] = mapped_column(Integer)
    utility_applied: Mapped[int | None] = mapped_column(Integer)
    utility_granted: Mapped[int | None] = mapped_column(Integer)
    software_copyrights: Mapped[int | None] = mapped_column(Integer)
    ic_layouts: Mapped[int | None] = mapped_column(Integer)
    main_business: Mapped[str | None] = mapped_column(Text)
    market_share_pct: Mapped[float | None] = mapped_column(Float)

    member: Mapped[MemberUnit] = relationship(back_populates="enterprise")
    financial_years: Mapped[list[FinancialYear]] = relationship(
        cascade="all, delete-orphan", order_by="FinancialYear.year"
    )
    shareholders: Mapped[list[Shareholder]] = relationship(
        cascade="all, delete-orphan", order_by="Shareholder.position",
        primaryjoin="EnterpriseDetails.member_id == Shareholder.enterprise_id",
    )


class FinancialYear(db.Model):
    """Sales and R&D investment (万元) of one of an enterprise's last three years."""

    __table_args__ = (UniqueConstraint("enterprise_id", "year"), not_negative("sales"), not_negative("rd_investment"))

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(
        ForeignKey("enterprise_details.member_id", ondelete="CASCADE"), index=True
    )
    year: Mapped[int] = mapped_column(Integer)
    sales: Mapped[float | None] = mapped_column(Float)
    rd_investment: Mapped[float | None] = mapped_column(Float)


class InstituteDetails(db.Model):
    """The member-unit (university/institute) information table: the R&D team behind the unit."""

    member_id: Mapped[int] = mapped_column(ForeignKey("member_unit.id", ondelete="CASCADE"), primary_key=True)
    lead_name: Mapped[str | None] = mapped_column(String(100))
    lead_department: Mapped[str | None] = mapped_column(String(255))
    lead_title: Mapped[str | None] = mapped_column(String(100))
    lead_phone: Mapped[str | None] = mapped_column(String(40))
    lead_email: Mapped[str | None] = mapped_column(String(255))
    contact_name: Mapped[str | None] = mapped_column(String(100))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    contact_fax: Mapped[str | None] = mapped_column(String(40))
    contact_email: Mapped[str | None] = mapped_column(String(255))
    team_description: Mapped[str | None] = mapped_column(Text)
    lead_bio: Mapped[str | None] = mapped_column(Text)
    current_projects: Mapped[str | None] = mapped_column(Text)
    main_results: Mapped[str | None] = mapped_column(Text)

    member: Mapped[MemberUnit] = relationship(back_populates="institute")
    team_members: Mapped[list[TeamMember]] = relationship(
        cascade="all, delete-orphan", order_by="TeamMember.position"
    )


class TeamMember(db.Model):
    """A main member of an institute's R&D team (团队主要成员)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    institute_id: Mapped[int] = mapped_column(
        ForeignKey("institute_details.member_id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    title: Mapped[str | None] = mapped_column(String(100))
    research_direction: Mapped[str | None] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(40))
