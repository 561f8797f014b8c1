"""Application and expert records (DESIGN §10) ⇄ database rows: bulk import, export, existing refs.

An import turns every record into plain rows first (refusing, before anything is written, what the database
would refuse), then writes them with one executemany per table and level (SQLAlchemy Core ``insert()``) and one
audit event per record, in the caller's transaction: the service flushes, the caller commits once.

Records come in already validated (web.records.validate): every key of the schema present, dates as
``datetime.date``, enums and the field as English codes, blanks as None, absent lists as ``[]``. Export writes
the same shape, so export → import → export changes nothing. Personal data (phones, e-mails, ID numbers, fax)
is exported as None unless ``include_personal`` is set (DESIGN §3).
"""

from __future__ import annotations

import gc
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import Any

from sqlalchemy import JSON, Table, insert, select
from sqlalchemy.orm import selectinload

from web.extensions import db
from web.models import (
    LEAD_ROLES,
    PLAN_SECTIONS,
    Application,
    Attachment,
    AuditEvent,
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
    utcnow,
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

CHUNK = 500
"""Records written per round of bulk inserts: bounds the statements' size and paces the progress callback."""

Progress = Callable[[int, int], None]

NATURAL_KEYS = {"application": ("ref",), "expert": ("ref",), "member_unit": ("application_id", "position")}
"""Unique columns that tell which new row got which generated key, for the tables whose rows have children."""


@dataclass(slots=True)
class Row:
    """A row to insert into ``table``; ``children`` are (foreign key, row) pairs that take this row's key.

    ``organizations`` maps a column to the (name, USCC, parent) it resolves to once the records are accepted.
    """

    table: Table
    values: dict[str, Any]
    children: list[tuple[str, Row]] = field(default_factory=list)
    organizations: dict[str, tuple[str | None, str | None, str | None]] | None = None

    def add(self, model: type, foreign_key: str, values: dict[str, Any]) -> Row:
        """A child row of ``model`` whose ``foreign_key`` will hold this row's key."""
        child = Row(model.__table__, {foreign_key: None, **values})
        self.children.append((foreign_key, child))
        return child

    def walk(self) -> Iterator[Row]:
        """This row and every row below it, parents first, children in the order added."""
        yield self
        for _, child in self.children:
            yield from child.walk()


def import_records(kind: str, records: Sequence[dict], *, actor: User | None,
                   progress: Progress | None = None) -> list[str]:
    """Insert validated records of ``kind`` ('applications' or 'experts') with bulk inserts; return their refs.

    All or nothing, in the caller's transaction: rows are flushed, never committed (the caller commits once).
    Each record gets one ``<entity>.import`` audit event without personal data. Records the database would
    refuse raise one :class:`RecordError` listing every such record (one line each, ``<ref>: <key>: <rule>``)
    before anything is written. ``progress(done, total)`` is called after every chunk of records written.
    """
    if kind not in IMPORTERS:
        raise ValueError(f"kind must be 'applications' or 'experts', got {kind!r}")
    build, entity = IMPORTERS[kind]
    fields = _field_ids()
    with _no_cycle_collection():
        trees, errors = _rows_and_errors(records, build, fields)
        if errors:
            raise RecordError("\n".join(errors))
        _write(trees, records, entity, actor, progress)
    return [record["ref"] for record in records]


def _write(trees: list[Row], records: Sequence[dict], entity: str, actor: User | None,
           progress: Progress | None) -> None:
    """Resolve organizations, insert the rows and audit events, chunk by chunk; report progress after each."""
    organizations = OrganizationResolver()
    for start in range(0, len(records), CHUNK):
        stop = min(start + CHUNK, len(records))
        _resolve_organizations(trees[start:stop], organizations)
        _insert(trees[start:stop])
        _insert_audit(entity, records[start:stop], actor)
        if progress is not None:
            progress(stop, len(records))


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while the rows are written (reference counting still frees them).

    An import builds hundreds of thousands of small dicts while the raw and validated records are still alive;
    each full collection walks all of them and finds no cycle (rows point only at their children). Measured on
    1,000 applications it took between a quarter and 40 % of the import (benchmarks/import_speed.py).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _rows_and_errors(records: Sequence[dict], build: Callable[[dict, dict[str, int]], Row],
                     fields: dict[str, int]) -> tuple[list[Row], list[str]]:
    """The rows of every record, and every reason the database would refuse one."""
    trees, errors = [], []
    for record in records:
        try:
            tree = build(record, fields)
        except RecordError as error:
            errors.append(str(error))
            continue
        errors.extend(f"{record['ref']}: {problem}" for problem in too_long(tree))
        trees.append(tree)
    return trees, errors


def refusals(kind: str, records: Sequence[dict]) -> list[str]:
    """Every reason the database would refuse validated records of ``kind`` (one line each), writing nothing."""
    build, _ = IMPORTERS[kind]
    with _no_cycle_collection():
        return _rows_and_errors(records, build, _field_ids())[1]


def import_applications(records: Sequence[dict], *, actor: User | None) -> list[Application]:
    """Insert validated application records (see :func:`import_records`); the new rows, in record order."""
    return _stored(Application, import_records("applications", records, actor=actor))


def import_experts(records: Sequence[dict], *, actor: User | None) -> list[Expert]:
    """Insert validated expert records (see :func:`import_records`); the new rows, in record order."""
    return _stored(Expert, import_records("experts", records, actor=actor))


def _stored(model: type, refs: list[str]) -> list:
    """The rows of ``model`` with ``refs``, in that order."""
    by_ref = {row.ref: row for row in db.session.scalars(select(model).where(model.ref.in_(refs)))}
    return [by_ref[ref] for ref in refs]


def too_long(tree: Row) -> list[str]:
    """``table.column: at most N characters`` for every string of ``tree``'s rows that its column cannot hold
    (PostgreSQL refuses them; SQLite would silently keep them)."""
    problems = []
    for row in tree.walk():
        for name, limit in _length_limits(row.table):
            value = row.values.get(name)
            if isinstance(value, str) and len(value) > limit:
                problems.append(f"{row.table.name}.{name}: at most {limit} characters, got {len(value)}")
    return problems


@cache
def _length_limits(table: Table) -> tuple[tuple[str, int], ...]:
    """(column, length) of every length-limited string column of ``table``."""
    return tuple((column.name, column.type.length) for column in table.columns
                 if getattr(column.type, "length", None))


def _resolve_organizations(trees: list[Row], organizations: OrganizationResolver) -> None:
    """Put the id of each row's organization (found or created, in record order) into its column."""
    resolved = []
    for tree in trees:
        for row in tree.walk():
            for column, (name, uscc, parent) in (row.organizations or {}).items():
                resolved.append((row, column, organizations.resolve(name, uscc, parent)))
    db.session.flush()
    for row, column, organization in resolved:
        row.values[column] = organization.id if organization is not None else None


def _insert(roots: list[Row]) -> None:
    """Insert the rows of ``roots`` level by level, one executemany per table and shape of row."""
    level = roots
    while level:
        batches: dict[tuple[Table, frozenset[str]], list[Row]] = {}
        for row in level:
            batches.setdefault((row.table, frozenset(row.values)), []).append(row)
        below = []
        for (table, _), rows in batches.items():
            for row, key in zip(rows, _insert_rows(table, rows), strict=True):
                for foreign_key, child in row.children:
                    child.values[foreign_key] = key
                    below.append(child)
        level = below


def _insert_rows(table: Table, rows: list[Row]) -> list[Any]:
    """Insert ``rows`` into ``table``; return each row's primary key where a child row needs it.

    New keys come back through RETURNING in one batched statement, matched to the rows by a unique natural key:
    SQLite does not promise RETURNING's order, and asking SQLAlchemy to sort would send one row per statement.
    """
    [key] = table.primary_key.columns
    if key.name in rows[0].values or not any(row.children for row in rows):
        _insert_many(table, [row.values for row in rows])
        return [row.values.get(key.name) for row in rows]
    natural = NATURAL_KEYS[table.name]
    returned = db.session.execute(insert(table).returning(key, *(table.c[name] for name in natural)),
                                  [row.values for row in rows])
    keys = {tuple(found[1:]): found[0] for found in returned}
    return [keys[tuple(row.values[name] for name in natural)] for row in rows]


def _insert_many(table: Table, values: list[dict[str, Any]]) -> None:
    """Insert rows whose keys nobody needs back: one Core executemany, or one COPY on PostgreSQL (psycopg)."""
    dialect = db.session.get_bind().dialect
    if dialect.name == "postgresql" and dialect.driver == "psycopg":
        _copy(table, values)
    else:
        db.session.execute(insert(table), values)


def _copy(table: Table, values: list[dict[str, Any]]) -> None:
    """``COPY … FROM STDIN`` in the session's transaction: one stream instead of a pipelined statement per row
    (benchmarks/import_speed.py: about a third less time on PostgreSQL).

    COPY bypasses SQLAlchemy, so this does the two things its insert() would: the Python-side column defaults
    (``created_at``, ``level``) are filled in, and JSON columns are sent as JSON text.
    """
    given = list(values[0])
    defaults = [column for column in table.columns
                if column.default is not None and not column.primary_key and column.name not in values[0]]
    filled = [column.default.arg(None) if column.default.is_callable else column.default.arg for column in defaults]
    names = given + [column.name for column in defaults]
    json_positions = [position for position, name in enumerate(names) if isinstance(table.c[name].type, JSON)]
    quote = db.session.get_bind().dialect.identifier_preparer.quote
    statement = f"COPY {quote(table.name)} ({', '.join(quote(name) for name in names)}) FROM STDIN"
    connection = db.session.connection().connection.driver_connection
    with connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in values:
            cells = [row[name] for name in given] + filled
            for position in json_positions:
                cells[position] = json.dumps(cells[position])
            copy.write_row(cells)


def _insert_audit(entity: str, records: Sequence[dict], actor: User | None) -> None:
    """One ``<entity>.import`` audit event per record, personal data left out, in one bulk insert."""
    now = utcnow()
    _insert_many(AuditEvent.__table__, [{
        "at": now, "actor_id": actor.id if actor is not None else None,
        "actor_name": actor.username if actor is not None else audit.SYSTEM_ACTOR,
        "action": f"{entity}.import", "entity_type": entity, "entity_id": record["ref"],
        "before": None, "after": _audited(record),
    } for record in records])


def _audited(record: dict) -> dict:
    """A record as the audit log keeps it: personal data (PERSONAL_KEYS) as None, dates as ISO text.

    Written out for the record's shape (lists hold objects or plain values), as it runs over every value imported.
    """
    kept = {}
    for key, value in record.items():
        if key in PERSONAL_KEYS:
            kept[key] = None
        elif type(value) is dict:
            kept[key] = _audited(value)
        elif type(value) is list:
            kept[key] = [_audited(item) if type(item) is dict else item for item in value]
        elif isinstance(value, date):
            kept[key] = value.isoformat()
        else:
            kept[key] = value
    return kept


def existing_refs(kind: str) -> set[str]:
    """The refs already in the database for ``kind`` ('applications' or 'experts')."""
    model = {"applications": Application, "experts": Expert}.get(kind)
    if model is None:
        raise ValueError(f"kind must be 'applications' or 'experts', got {kind!r}")
    return set(db.session.scalars(select(model.ref)))


def _field_ids() -> dict[str, int]:
    """The id of every field of the taxonomy, by code."""
    return {code: id_ for code, id_ in db.session.execute(select(Field.code, Field.id))}


def _field(code: str, fields: dict[str, int], ref: str) -> int:
    """The id of the field with ``code``, or a RecordError naming the record."""
    if code not in fields:
        raise RecordError(f"{ref}: field: unknown field code {code!r} (run `panel init` to load the taxonomy)")
    return fields[code]


def _application_rows(record: dict, fields: dict[str, int]) -> Row:
    """An application with all its child rows, from one record."""
    bearer = record["bearer"]
    application = Row(Application.__table__, {
        "ref": record["ref"],
        "center_name": record["center_name"],
        "field_id": _field(record["field"], fields, record["ref"]),
        "submitted_on": record["submitted_on"],
        "bearer_id": None,
        "bearer_name": bearer["name"],
        "bearer_uscc": bearer["uscc"],
        **_registration_values(bearer),
        "expected_results": list(record["expected_results"]),
        "expected_foreign_invention": record["expected_ip"]["foreign_invention"],
        "expected_domestic_invention": record["expected_ip"]["domestic_invention"],
        "expected_other_ip": record["expected_ip"]["other"],
        "expected_standards": list(record["expected_standards"]),
        "construction_content": record["construction_content"],
        "applicant_opinion": record["applicant_opinion"],
        "applicant_opinion_on": record["applicant_opinion_on"],
    }, organizations={"bearer_id": (bearer["name"], bearer["uscc"], None)})
    _add_shareholders(application, "application_id", bearer["shareholders"])
    for role in LEAD_ROLES:
        if _filled(record["leads"][role]):
            application.add(Lead, "application_id",
                            {"role": role, **{key: record["leads"][role][key] for key in LEAD_KEYS}})
    for position, member in enumerate(record["members"]):
        _add_member(application, position, member, record["ref"])
    for key in PLAN_SECTIONS:
        if record["plan"][key]:
            application.add(PlanSection, "application_id", {"key": key, "text": record["plan"][key]})
    for position, ref in enumerate(record["excluded_experts"]):
        application.add(ExcludedExpert, "application_id", {"position": position, "expert_ref": ref})
    for item in record["attachments"]:
        application.add(Attachment, "application_id",
                        {"kind": item["kind"], "filename": item["filename"], "sha256": item["sha256"]})
    return application


def _registration_values(data: dict) -> dict[str, Any]:
    """The columns of the registration block (the bearer and the enterprise table share it)."""
    return {
        **{key: data[key] for key in REGISTRATION_KEYS},
        **{f"legal_rep_{key}": data["legal_rep"][key] for key in LEGAL_REP_KEYS},
        **{f"contact_{key}": data["contact"][key] for key in CONTACT_KEYS},
    }


def _add_shareholders(owner: Row, foreign_key: str, rows: list[dict]) -> None:
    """Shareholder rows below ``owner``, in the order given."""
    for position, row in enumerate(rows):
        owner.add(Shareholder, foreign_key, {"position": position, "name": row["name"], "share_pct": row["share_pct"]})


def _filled(group: dict) -> bool:
    """True when any value of a group was given."""
    return any(value is not None for value in group.values())


def _add_member(application: Row, position: int, data: dict, ref: str) -> None:
    """A member unit below ``application``, with its enterprise or institute table."""
    member = application.add(MemberUnit, "application_id", {
        "position": position, "role": data["role"], "kind": data["kind"], "name": data["name"],
        "uscc": data["uscc"], "parent_name": data["parent"], "organization_id": None,
    })
    member.organizations = {"organization_id": (data["name"], data["uscc"], data["parent"])}
    if data["kind"] == "enterprise":
        try:
            _add_enterprise(member, data)
        except RecordError as error:
            raise RecordError(f"{ref}: members[{position + 1}].{error}") from None
    else:
        _add_institute(member, data)


def _add_enterprise(member: Row, data: dict) -> None:
    """The enterprise information table of a member, with its years and top shareholders."""
    years = [row["year"] for row in data["finances"]]
    if len(set(years)) < len(years):
        raise RecordError(f"finances: a year is given twice ({', '.join(map(str, years))})")
    details = member.add(EnterpriseDetails, "member_id", {
        **{key: data[key] for key in ENTERPRISE_KEYS},
        "rd_institutions": list(data["rd_institutions"]),
        **{key: data["ip"][key] for key in IP_KEYS},
        **_registration_values(data),
    })
    for row in data["finances"]:
        details.add(FinancialYear, "enterprise_id",
                    {"year": row["year"], "sales": row["sales"], "rd_investment": row["rd_investment"]})
    _add_shareholders(details, "enterprise_id", data["top_shareholders"])


def _add_institute(member: Row, data: dict) -> None:
    """The university/institute information table of a member, with its team members."""
    details = member.add(InstituteDetails, "member_id", {
        **{f"lead_{key}": data["team_lead"][key] for key in TEAM_LEAD_KEYS},
        **{f"contact_{key}": data["team_contact"][key] for key in TEAM_CONTACT_KEYS},
        **{key: data[key] for key in INSTITUTE_TEXT_KEYS},
    })
    for position, row in enumerate(data["team_members"]):
        details.add(TeamMember, "institute_id", {"position": position, **{key: row[key] for key in TEAM_MEMBER_KEYS}})


def _expert_rows(record: dict, fields: dict[str, int]) -> Row:
    """An expert with fields, history and declarations, from one record."""
    for number, row in enumerate(record["declared"], start=1):
        if not any(row[key] for key in ("person", "organization", "uscc", "application")):
            raise RecordError(f"{record['ref']}: declared[{number}]: names no person, organization, uscc or "
                              "application the relation is with")
    organization = record["organization"]
    expert = Row(Expert.__table__, {
        "ref": record["ref"], "name": record["name"], "pool": record["pool"], "title": record["title"],
        "organization_id": None, "profile": record["profile"], "max_load": record["max_load"],
        "email": record["email"], "mobile": record["mobile"], "available": record["available"] is not False,
    }, organizations={"organization_id": (organization["name"], organization["uscc"], organization["parent"])})
    for position, code in enumerate(record["fields"]):
        expert.add(ExpertField, "expert_id", {"position": position, "field_id": _field(code, fields, record["ref"])})
    for position, row in enumerate(record["past_affiliations"]):
        expert.add(PastAffiliation, "expert_id", {"position": position, "name": row["name"], "uscc": row["uscc"],
                                                  "from_on": row["from"], "until_on": row["until"]})
    for position, row in enumerate(record["roles"]):
        expert.add(GovernanceRole, "expert_id", {"position": position, "organization": row["organization"],
                                                 "uscc": row["uscc"], "role": row["role"], "until_on": row["until"]})
    for position, row in enumerate(record["declared"]):
        expert.add(DeclaredRelation, "expert_id", {
            "position": position, "kind": row["kind"], "person": row["person"], "organization": row["organization"],
            "uscc": row["uscc"], "application_ref": row["application"], "until_on": row["until"], "note": row["note"]})
    return expert


IMPORTERS: dict[str, tuple[Callable[[dict, dict[str, int]], Row], str]] = {
    "applications": (_application_rows, "application"),
    "experts": (_expert_rows, "expert"),
}
"""Per kind: the function that turns a record into rows, and the audited entity name."""


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
