"""The field taxonomy (方向领域, DESIGN §4): sectors and their fields, as data an admin can extend."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from web.extensions import db


class Sector(db.Model):
    """A group of related fields (e.g. DIG, 数字智能); a near miss within a sector still scores."""

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer, default=0)

    fields: Mapped[list[Field]] = relationship(back_populates="sector", order_by="Field.position")


class Field(db.Model):
    """A technical direction an application is filed under and an expert is qualified in (e.g. DIG-AI)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    sector_id: Mapped[int] = mapped_column(ForeignKey("sector.id"), index=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    name_en: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer, default=0)

    sector: Mapped[Sector] = relationship(back_populates="fields")
