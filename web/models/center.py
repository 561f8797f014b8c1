"""After selection: the organizer's decision on an application, the center it becomes, its yearly reports.

实施方案 四(三)–(四): applications that passed review and site inspection are "列入上海市制造业创新中心建设试点计划";
each center then "每年提交运行发展报告和定量定性指标的完成情况" for the annual evaluation and the triennial assessment.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from web.extensions import db

from .application import Application
from .attachment import Attachment
from .common import not_negative, one_of, utcnow

DECISION_OUTCOMES = ("listed", "not_listed", "deferred")
CENTER_STATUSES = ("building", "passed", "recommended_national", "rectification", "withdrawn")

COUNT_INDICATORS = (
    "contracts", "incubated_companies", "patents_applied", "patents_granted", "standards_international",
    "standards_national", "standards_industry", "first_of_kind_products", "rd_staff",
    "talent_introduced", "international_projects", "companies_served",
)
AMOUNT_INDICATORS = ("contract_amount", "market_turnover", "rd_spending")
INDICATORS = (
    "contracts", "contract_amount", "market_turnover", "incubated_companies", "rd_spending", "patents_applied",
    "patents_granted", "standards_international", "standards_national", "standards_industry",
    "first_of_kind_products", "rd_staff", "talent_introduced", "international_projects",
    "companies_served",
)
"""The quantitative indicators of an annual report, in the order of the form and the Excel template; amounts
are in 万元, everything else is a count."""


class Decision(db.Model):
    """The organizer's decision on an application after the combined rounds (one per application, revisable,
    every change audited)."""

    __table_args__ = (one_of("outcome", DECISION_OUTCOMES),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), unique=True)
    outcome: Mapped[str] = mapped_column(String(20))
    decided_on: Mapped[date] = mapped_column(Date)
    document_no: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    application: Mapped[Application] = relationship()


class Center(db.Model):
    """A pilot center (试点创新中心): an application the organizer listed, with its current status."""

    __table_args__ = (one_of("status", CENTER_STATUSES),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), unique=True)
    status: Mapped[str] = mapped_column(String(30), default="building")
    listed_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    application: Mapped[Application] = relationship()
    reports: Mapped[list[AnnualReport]] = relationship(
        back_populates="center", cascade="all, delete-orphan", order_by="AnnualReport.year")
    targets: Mapped[list[CenterTarget]] = relationship(cascade="all, delete-orphan", order_by="CenterTarget.id")

    @property
    def name(self) -> str:
        """The center's name as filed."""
        return self.application.center_name

    def target(self, indicator: str) -> float | None:
        """The yearly target of ``indicator`` from the construction plan, if one was set."""
        return next((row.value for row in self.targets if row.indicator == indicator), None)


class CenterTarget(db.Model):
    """A yearly target the center set in its construction plan for one indicator."""

    __table_args__ = (
        UniqueConstraint("center_id", "indicator"), one_of("indicator", INDICATORS), not_negative("value"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    center_id: Mapped[int] = mapped_column(ForeignKey("center.id", ondelete="CASCADE"), index=True)
    indicator: Mapped[str] = mapped_column(String(40))
    value: Mapped[float] = mapped_column(Float)


class AnnualReport(db.Model):
    """A center's report for one year (运行发展报告): the document and the quantitative indicators."""

    __table_args__ = (
        UniqueConstraint("center_id", "year"),
        CheckConstraint("year >= 2000 AND year <= 2100", name="year_range"),
        *(not_negative(code) for code in INDICATORS),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    center_id: Mapped[int] = mapped_column(ForeignKey("center.id", ondelete="CASCADE"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("attachment.id", ondelete="SET NULL"))
    submitted_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    contracts: Mapped[int | None] = mapped_column(Integer)
    contract_amount: Mapped[float | None] = mapped_column(Float)
    market_turnover: Mapped[float | None] = mapped_column(Float)
    incubated_companies: Mapped[int | None] = mapped_column(Integer)
    rd_spending: Mapped[float | None] = mapped_column(Float)
    patents_applied: Mapped[int | None] = mapped_column(Integer)
    patents_granted: Mapped[int | None] = mapped_column(Integer)
    standards_international: Mapped[int | None] = mapped_column(Integer)
    standards_national: Mapped[int | None] = mapped_column(Integer)
    standards_industry: Mapped[int | None] = mapped_column(Integer)
    first_of_kind_products: Mapped[int | None] = mapped_column(Integer)   # 首台套/首批次/首版次
    rd_staff: Mapped[int | None] = mapped_column(Integer)
    talent_introduced: Mapped[int | None] = mapped_column(Integer)
    international_projects: Mapped[int | None] = mapped_column(Integer)
    companies_served: Mapped[int | None] = mapped_column(Integer)

    center: Mapped[Center] = relationship(back_populates="reports")
    document: Mapped[Attachment | None] = relationship()

    def values(self) -> dict[str, float | int | None]:
        """The indicators by code."""
        return {code: getattr(self, code) for code in INDICATORS}
