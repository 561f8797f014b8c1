"""Organizations: bearer units, member units and experts' employers, matched by USCC, then normalized name."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from web.extensions import db


class Organization(db.Model):
    """One legal entity; ``parent`` links group companies and their subsidiaries (DESIGN §6.1 group-relation)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    uscc: Mapped[str | None] = mapped_column(String(18), unique=True)
    normalized_name: Mapped[str] = mapped_column(String(255), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id"), index=True)

    parent: Mapped[Organization | None] = relationship(remote_side=[id])
    aliases: Mapped[list[OrganizationAlias]] = relationship(
        back_populates="organization", cascade="all, delete-orphan"
    )


class OrganizationAlias(db.Model):
    """Another name the same organization goes by (former names, abbreviations): aliases are data."""

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    normalized_name: Mapped[str] = mapped_column(String(255), index=True)

    organization: Mapped[Organization] = relationship(back_populates="aliases")
