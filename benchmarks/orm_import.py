"""The import path Panel used before bulk inserts: one ORM object per row, flushed by the unit of work.

Kept only as the baseline benchmarks/import_speed.py measures the bulk path against, in the same run; it writes
the same rows and audit events (and commits, as it did). Not used by the application.
"""

from __future__ import annotations

from sqlalchemy import inspect, select
from sqlalchemy.orm import ONETOMANY

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
from web.services import audit
from web.services.organizations import OrganizationResolver
from web.services.records import (
    CONTACT_KEYS,
    ENTERPRISE_KEYS,
    INSTITUTE_TEXT_KEYS,
    IP_KEYS,
    LEAD_KEYS,
    LEGAL_REP_KEYS,
    REGISTRATION_KEYS,
    TEAM_CONTACT_KEYS,
    TEAM_LEAD_KEYS,
    TEAM_MEMBER_KEYS,
    RecordError,
    without_personal,
)

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


