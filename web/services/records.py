"""Application and expert records (DESIGN §10) ⇄ database rows: import in one transaction, export, existing refs.

Records come in already validated (web.records.validate): every key of the schema present, dates as
``datetime.date``, enums and the field as English codes, blanks as None, absent lists as ``[]``. Export writes
the same shape, so export → import → export changes nothing. Personal data (phones, e-mails, ID numbers, fax)
is exported as None unless ``include_personal`` is set (DESIGN §3).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.orm import ONETOMANY, selectinload

from web.extensions import db
from web.models import (
    LEAD_ROLES,
    PLAN_SECTIONS,
    Application,
    Attachment,
    DeclaredRelation,
    EnterpriseDetails,
    ExcludedExpert,
    Expert,
    ExpertField,
    Field,
    FinancialYear,
    GovernanceRole,
    InstituteDetails,
    Lead,
    MemberUnit,
    PastAffiliation,
    PlanSection,
    Shareholder,
    TeamMember,
    User,
)
from web.records.schema import PERSONAL_KEYS
from web.services import audit
from web.services.organizations import OrganizationResolver

REGISTRATION_KEYS = (
    "registered_on", "registered_capital", "foreign_share_pct", "registered_address", "registered_postcode",
    "contact_address", "contact_postcode", "economic_type", "economic_type_other",
)
LEGAL_REP_KEYS = ("name", "phone", "email", "id_type", "id_number")
CONTACT_KEYS = ("name", "post", "mobile", "email")
LEAD_KEYS = ("name", "mobile", "post", "email")
IP_KEYS = (
    "invention_applied", "invention_granted", "utility_applied", "utility_granted", "software_copyrights",
    "ic_layouts",
)
ENTERPRISE_KEYS = ("employees", "rd_staff", "total_assets", "fixed_assets", "debt_ratio_pct", "after_tax_profit",
                   "rd_institutions_other", "main_business", "market_share_pct")
TEAM_LEAD_KEYS = ("name", "department", "title", "phone", "email")
TEAM_CONTACT_KEYS = ("name", "fax", "phone", "email")
INSTITUTE_TEXT_KEYS = ("team_description", "lead_bio", "current_projects", "main_results")
TEAM_MEMBER_KEYS = ("name", "title", "research_direction", "phone")


class RecordError(ValueError):
    """A record that passed validation but cannot be stored (e.g. a field code not in this database)."""


# ---------------------------------------------------------------- import

def import_applications(records: list[dict], *, actor: User | None) -> list[Application]:
    """Insert validated application records in one transaction, one audit event each; all or nothing."""
    return _import(records, _new_application, "application", actor)


def import_experts(records: list[dict], *, actor: User | None) -> list[Expert]:
    """Insert validated expert records in one transaction, one audit event each; all or nothing."""
    return _import(records, _new_expert, "expert", actor)


def _import(records: list[dict], build, entity: str, actor: User | None) -> list:
    """Build a row from every record with ``build``, audit each as ``<entity>.import``, commit once.

    Records the database would refuse raise one :class:`RecordError` listing every such record (one line
    each, ``<ref>: <key>: <rule>``); then nothing is written.
    """
    fields = _fields_by_code()
    organizations = OrganizationResolver()
    try:
        rows, errors = [], []
        for record in records:
            try:
                row = build(record, fields, organizations)
            except RecordError as error:
                errors.append(str(error))
                continue
            errors.extend(f"{record['ref']}: {problem}" for problem in too_long(row))
            rows.append(row)
        if errors:
            raise RecordError("\n".join(errors))
        db.session.add_all(rows)
        db.session.flush()
        for row, record in zip(rows, records, strict=True):
            audit.record(f"{entity}.import", entity, row.ref, actor=actor, after=without_personal(record))
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return rows


def too_long(row: object) -> list[str]:
    """``table.column: at most N characters`` for every string of ``row`` and its new child rows that the
    column cannot hold (PostgreSQL refuses them; SQLite would silently keep them)."""
    problems = []
    state = inspect(row)
    for column in state.mapper.columns:
        value = getattr(row, column.key, None)
        limit = getattr(column.type, "length", None)
        if isinstance(value, str) and limit and len(value) > limit:
            problems.append(f"{column.table.name}.{column.name}: at most {limit} characters, got {len(value)}")
    for relationship in state.mapper.relationships:
        if relationship.direction is not ONETOMANY or not relationship.cascade.delete_orphan:
            continue
        children = getattr(row, relationship.key)
        for child in children if relationship.uselist else [children]:
            if child is not None:
                problems.extend(too_long(child))
    return problems


def existing_refs(kind: str) -> set[str]:
    """The refs already in the database for ``kind`` ('applications' or 'experts')."""
    model = {"applications": Application, "experts": Expert}.get(kind)
    if model is None:
        raise ValueError(f"kind must be 'applications' or 'experts', got {kind!r}")
    return set(db.session.scalars(select(model.ref)))


def _fields_by_code() -> dict[str, Field]:
    """Every field of the taxonomy by code."""
    return {field.code: field for field in db.session.scalars(select(Field))}


def _field(code: str, fields: dict[str, Field], ref: str) -> Field:
    """The field with ``code``, or a RecordError naming the record."""
    if code not in fields:
        raise RecordError(f"{ref}: field: unknown field code {code!r} (run `panel init` to load the taxonomy)")
    return fields[code]


def _new_application(record: dict, fields: dict[str, Field], organizations: OrganizationResolver) -> Application:
    """An application with all its child rows, from one record."""
    bearer = record["bearer"]
    application = Application(
        ref=record["ref"],
        center_name=record["center_name"],
        field=_field(record["field"], fields, record["ref"]),
        submitted_on=record["submitted_on"],
        bearer=organizations.resolve(bearer["name"], bearer["uscc"]),
        bearer_name=bearer["name"],
        bearer_uscc=bearer["uscc"],
        expected_results=list(record["expected_results"]),
        expected_foreign_invention=record["expected_ip"]["foreign_invention"],
        expected_domestic_invention=record["expected_ip"]["domestic_invention"],
        expected_other_ip=record["expected_ip"]["other"],
        expected_standards=list(record["expected_standards"]),
        construction_content=record["construction_content"],
        applicant_opinion=record["applicant_opinion"],
        applicant_opinion_on=record["applicant_opinion_on"],
    )
    _set_registration(application, bearer)
    application.shareholders = _shareholders(bearer["shareholders"])
    application.leads = [
        Lead(role=role, **{key: record["leads"][role][key] for key in LEAD_KEYS})
        for role in LEAD_ROLES if _filled(record["leads"][role])
    ]
    application.members = [_new_member(position, member, organizations, record["ref"])
                           for position, member in enumerate(record["members"])]
    application.plan_sections = [PlanSection(key=key, text=record["plan"][key])
                                 for key in PLAN_SECTIONS if record["plan"][key]]
    application.excluded_experts = [ExcludedExpert(position=position, expert_ref=ref)
                                    for position, ref in enumerate(record["excluded_experts"])]
    application.attachments = [Attachment(kind=item["kind"], filename=item["filename"], sha256=item["sha256"])
                               for item in record["attachments"]]
    return application


def _set_registration(row: Application | EnterpriseDetails, data: dict) -> None:
    """Copy the registration block (as the bearer and the enterprise table share it) onto ``row``."""
    for key in REGISTRATION_KEYS:
        setattr(row, key, data[key])
    for key in LEGAL_REP_KEYS:
        setattr(row, f"legal_rep_{key}", data["legal_rep"][key])
    for key in CONTACT_KEYS:
        setattr(row, f"contact_{key}", data["contact"][key])


def _shareholders(rows: list[dict]) -> list[Shareholder]:
    """Shareholder rows in the order given."""
    return [Shareholder(position=position, name=row["name"], share_pct=row["share_pct"])
            for position, row in enumerate(rows)]


def _filled(group: dict) -> bool:
    """True when any value of a group was given."""
    return any(value is not None for value in group.values())


def _new_member(position: int, data: dict, organizations: OrganizationResolver, ref: str) -> MemberUnit:
    """A member unit with its enterprise or institute table."""
    member = MemberUnit(
        position=position, role=data["role"], kind=data["kind"], name=data["name"], uscc=data["uscc"],
        parent_name=data["parent"], organization=organizations.resolve(data["name"], data["uscc"], data["parent"]),
    )
    if data["kind"] == "enterprise":
        try:
            member.enterprise = _new_enterprise(data)
        except RecordError as error:
            raise RecordError(f"{ref}: members[{position + 1}].{error}") from None
    else:
        member.institute = _new_institute(data)
    return member


def _new_enterprise(data: dict) -> EnterpriseDetails:
    """The enterprise information table of a member."""
    details = EnterpriseDetails(
        **{key: data[key] for key in ENTERPRISE_KEYS},
        rd_institutions=list(data["rd_institutions"]),
        **{key: data["ip"][key] for key in IP_KEYS},
    )
    _set_registration(details, data)
    years = [row["year"] for row in data["finances"]]
    if len(set(years)) < len(years):
        raise RecordError(f"finances: a year is given twice ({', '.join(map(str, years))})")
    details.financial_years = [FinancialYear(year=row["year"], sales=row["sales"], rd_investment=row["rd_investment"])
                               for row in data["finances"]]
    details.shareholders = _shareholders(data["top_shareholders"])
    return details


def _new_institute(data: dict) -> InstituteDetails:
    """The university/institute information table of a member."""
    details = InstituteDetails(
        **{f"lead_{key}": data["team_lead"][key] for key in TEAM_LEAD_KEYS},
        **{f"contact_{key}": data["team_contact"][key] for key in TEAM_CONTACT_KEYS},
        **{key: data[key] for key in INSTITUTE_TEXT_KEYS},
    )
    details.team_members = [TeamMember(position=position, **{key: row[key] for key in TEAM_MEMBER_KEYS})
                            for position, row in enumerate(data["team_members"])]
    return details


def _new_expert(record: dict, fields: dict[str, Field], organizations: OrganizationResolver) -> Expert:
    """An expert with fields, history and declarations, from one record."""
    organization = record["organization"]
    expert = Expert(
        ref=record["ref"], name=record["name"], pool=record["pool"], title=record["title"],
        organization=organizations.resolve(organization["name"], organization["uscc"], organization["parent"]),
        profile=record["profile"], max_load=record["max_load"], email=record["email"], mobile=record["mobile"],
        available=record["available"] is not False,
    )
    expert.field_links = [ExpertField(position=position, field=_field(code, fields, record["ref"]))
                          for position, code in enumerate(record["fields"])]
    expert.affiliations = [
        PastAffiliation(position=position, name=row["name"], uscc=row["uscc"], from_on=row["from"],
                        until_on=row["until"])
        for position, row in enumerate(record["past_affiliations"])
    ]
    expert.roles = [
        GovernanceRole(position=position, organization=row["organization"], uscc=row["uscc"], role=row["role"],
                       until_on=row["until"])
        for position, row in enumerate(record["roles"])
    ]
    for number, row in enumerate(record["declared"], start=1):
        if not any(row[key] for key in ("person", "organization", "uscc", "application")):
            raise RecordError(f"{record['ref']}: declared[{number}]: names no person, organization, uscc or "
                              "application the relation is with")
    expert.declared = [
        DeclaredRelation(position=position, kind=row["kind"], person=row["person"],
                         organization=row["organization"], uscc=row["uscc"], application_ref=row["application"],
                         until_on=row["until"], note=row["note"])
        for position, row in enumerate(record["declared"])
    ]
    return expert


# ---------------------------------------------------------------- export

def export_applications(*, include_personal: bool = False, refs: Iterable[str] | None = None) -> list[dict]:
    """Every application (or those with ``refs``) as a record, in the order they were registered."""
    query = select(Application).order_by(Application.id).options(
        selectinload(Application.field), selectinload(Application.shareholders), selectinload(Application.leads),
        selectinload(Application.plan_sections), selectinload(Application.excluded_experts),
        selectinload(Application.attachments),
        selectinload(Application.members).selectinload(MemberUnit.enterprise).selectinload(
            EnterpriseDetails.financial_years),
        selectinload(Application.members).selectinload(MemberUnit.enterprise).selectinload(
            EnterpriseDetails.shareholders),
        selectinload(Application.members).selectinload(MemberUnit.institute).selectinload(
            InstituteDetails.team_members),
    )
    if refs is not None:
        query = query.where(Application.ref.in_(list(refs)))
    records = [application_record(application) for application in db.session.scalars(query)]
    return records if include_personal else [without_personal(record) for record in records]


def export_experts(*, include_personal: bool = False, refs: Iterable[str] | None = None) -> list[dict]:
    """Every expert (or those with ``refs``) as a record, in the order they were registered."""
    query = select(Expert).order_by(Expert.id).options(
        selectinload(Expert.organization), selectinload(Expert.field_links).selectinload(ExpertField.field),
        selectinload(Expert.affiliations), selectinload(Expert.roles), selectinload(Expert.declared),
    )
    if refs is not None:
        query = query.where(Expert.ref.in_(list(refs)))
    records = [expert_record(expert) for expert in db.session.scalars(query)]
    return records if include_personal else [without_personal(record) for record in records]


def application_record(application: Application) -> dict:
    """One application as a record (with personal data)."""
    bearer = {"name": application.bearer_name, "uscc": application.bearer_uscc,
              **_registration(application), "shareholders": _shareholder_rows(application.shareholders)}
    leads = {}
    for role in LEAD_ROLES:
        lead = application.lead(role)
        leads[role] = {key: getattr(lead, key) if lead else None for key in LEAD_KEYS}
    return {
        "ref": application.ref,
        "center_name": application.center_name,
        "field": application.field.code,
        "submitted_on": application.submitted_on,
        "bearer": bearer,
        "members": [_member_record(member) for member in application.members],
        "leads": leads,
        "expected_results": list(application.expected_results or []),
        "expected_ip": {"foreign_invention": application.expected_foreign_invention,
                        "domestic_invention": application.expected_domestic_invention,
                        "other": application.expected_other_ip},
        "expected_standards": list(application.expected_standards or []),
        "construction_content": application.construction_content,
        "applicant_opinion": application.applicant_opinion,
        "applicant_opinion_on": application.applicant_opinion_on,
        "plan": {key: application.plan(key) for key in PLAN_SECTIONS},
        "excluded_experts": [row.expert_ref for row in application.excluded_experts],
        "attachments": [{"kind": row.kind, "filename": row.filename, "sha256": row.sha256}
                        for row in application.attachments],
    }


def _registration(row: Application | EnterpriseDetails | None) -> dict:
    """The registration block of ``row`` (all None for a member without an enterprise table)."""
    block: dict[str, Any] = {key: getattr(row, key) if row else None for key in REGISTRATION_KEYS}
    block["legal_rep"] = {key: getattr(row, f"legal_rep_{key}") if row else None for key in LEGAL_REP_KEYS}
    block["contact"] = {key: getattr(row, f"contact_{key}") if row else None for key in CONTACT_KEYS}
    return block


def _shareholder_rows(rows: list[Shareholder]) -> list[dict]:
    """Shareholders as record rows."""
    return [{"name": row.name, "share_pct": row.share_pct} for row in rows]


def _member_record(member: MemberUnit) -> dict:
    """One member unit as a record row: the keys of both tables, those of the other kind empty."""
    enterprise, institute = member.enterprise, member.institute
    return {
        "role": member.role, "kind": member.kind, "name": member.name, "uscc": member.uscc,
        "parent": member.parent_name,
        **_registration(enterprise),
        **{key: getattr(enterprise, key) if enterprise else None for key in ENTERPRISE_KEYS},
        "finances": [{"year": row.year, "sales": row.sales, "rd_investment": row.rd_investment}
                     for row in enterprise.financial_years] if enterprise else [],
        "rd_institutions": list(enterprise.rd_institutions or []) if enterprise else [],
        "ip": {key: getattr(enterprise, key) if enterprise else None for key in IP_KEYS},
        "top_shareholders": _shareholder_rows(enterprise.shareholders) if enterprise else [],
        "team_lead": {key: getattr(institute, f"lead_{key}") if institute else None for key in TEAM_LEAD_KEYS},
        "team_contact": {key: getattr(institute, f"contact_{key}") if institute else None
                         for key in TEAM_CONTACT_KEYS},
        **{key: getattr(institute, key) if institute else None for key in INSTITUTE_TEXT_KEYS},
        "team_members": [{key: getattr(row, key) for key in TEAM_MEMBER_KEYS} for row in institute.team_members]
        if institute else [],
    }


def expert_record(expert: Expert) -> dict:
    """One expert as a record (with personal data)."""
    organization = expert.organization
    return {
        "ref": expert.ref, "name": expert.name, "pool": expert.pool, "title": expert.title,
        "organization": {
            "name": organization.name if organization else None,
            "uscc": organization.uscc if organization else None,
            "parent": organization.parent.name if organization and organization.parent else None,
        },
        "fields": [link.field.code for link in expert.field_links],
        "profile": expert.profile,
        "past_affiliations": [{"name": row.name, "uscc": row.uscc, "from": row.from_on, "until": row.until_on}
                              for row in expert.affiliations],
        "roles": [{"organization": row.organization, "uscc": row.uscc, "role": row.role, "until": row.until_on}
                  for row in expert.roles],
        "declared": [{"kind": row.kind, "person": row.person, "organization": row.organization, "uscc": row.uscc,
                      "application": row.application_ref, "until": row.until_on, "note": row.note}
                     for row in expert.declared],
        "max_load": expert.max_load, "email": expert.email, "mobile": expert.mobile, "available": expert.available,
    }


def without_personal(value: Any) -> Any:
    """A copy of a record with every personal-data value (PERSONAL_KEYS, at any depth) set to None."""
    if isinstance(value, dict):
        return {key: None if key in PERSONAL_KEYS else without_personal(item) for key, item in value.items()}
    if isinstance(value, list):
        return [without_personal(item) for item in value]
    return value
