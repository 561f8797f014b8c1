"""Reference data every database starts with: the field taxonomy and the default score templates."""

from __future__ import annotations

import json
from importlib import resources

from sqlalchemy import select

from scoring.templates import DEFAULT_TEMPLATES
from scoring.types import Template
from web.extensions import db
from web.models import Field, ScoreTemplate, Sector, TemplateCriterion, TemplateIndicator


def seed_reference_data() -> dict[str, int]:
    """Add the taxonomy and default templates that are missing (idempotent, flushed); return what was added."""
    added = {"sectors": 0, "fields": 0, "templates": 0}
    taxonomy = json.loads(resources.files("web").joinpath("data/taxonomy.json").read_text(encoding="utf-8"))
    sectors = {sector.code: sector for sector in db.session.scalars(select(Sector))}
    field_codes = set(db.session.scalars(select(Field.code)))
    for sector_position, sector_data in enumerate(taxonomy["sectors"]):
        sector = sectors.get(sector_data["code"])
        if sector is None:
            sector = Sector(code=sector_data["code"], name=sector_data["name"], name_en=sector_data["name_en"],
                            position=sector_position)
            db.session.add(sector)
            added["sectors"] += 1
        for field_position, field_data in enumerate(sector_data["fields"]):
            if field_data["code"] not in field_codes:
                sector.fields.append(Field(code=field_data["code"], name=field_data["name"],
                                           name_en=field_data["name_en"], position=field_position))
                added["fields"] += 1
    default_kinds = set(db.session.scalars(select(ScoreTemplate.kind).where(ScoreTemplate.is_default)))
    for kind, template in DEFAULT_TEMPLATES.items():
        if kind not in default_kinds:
            db.session.add(template_from_definition(template, is_default=True))
            added["templates"] += 1
    db.session.flush()
    return added


def template_from_definition(template: Template, *, is_default: bool) -> ScoreTemplate:
    """A template row (with criteria and indicators) from scoring's definition."""
    row = ScoreTemplate(kind=template.kind, name=template.name, name_en=template.name_en, is_default=is_default)
    for position, criterion in enumerate(template.criteria):
        row.criteria.append(TemplateCriterion(
            position=position, code=criterion.id, name=criterion.name, name_en=criterion.name_en,
            max=criterion.max, step=criterion.step, group=criterion.group, guidance=criterion.guidance,
            veto=criterion.veto, comment_required=criterion.comment_required, priority=criterion.priority,
        ))
    for position, indicator in enumerate(template.indicators):
        row.indicators.append(TemplateIndicator(position=position, code=indicator.id, name=indicator.name,
                                                name_en=indicator.name_en, unit=indicator.unit))
    return row


def copy_template(template: ScoreTemplate) -> ScoreTemplate:
    """A copy of ``template`` for one round, so editing it changes no other round."""
    copy = ScoreTemplate(kind=template.kind, name=template.name, name_en=template.name_en, is_default=False,
                         copied_from_id=template.id)
    for criterion in template.criteria:
        copy.criteria.append(TemplateCriterion(
            position=criterion.position, code=criterion.code, name=criterion.name, name_en=criterion.name_en,
            max=criterion.max, step=criterion.step, group=criterion.group, guidance=criterion.guidance,
            veto=criterion.veto, comment_required=criterion.comment_required, priority=criterion.priority,
        ))
    for indicator in template.indicators:
        copy.indicators.append(TemplateIndicator(position=indicator.position, code=indicator.code,
                                                 name=indicator.name, name_en=indicator.name_en, unit=indicator.unit))
    return copy
