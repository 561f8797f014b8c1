"""Replacing registered applications and experts with a newer version of their records (an upload with "update
existing records", or the edit form).

An update keeps the row and its id — rounds, seats, sheets and decisions point at it — and replaces everything
the record describes: the row's columns and its child rows (member units with their tables, shareholders, leads,
plan sections, excluded experts; an expert's fields, affiliations, roles and declarations). Attachments whose file
was uploaded stay (a record lists only their metadata); the paper-only attachment rows are replaced by the
record's list. Like the import it flushes and never commits, and audits each record (``<entity>.update`` with
the record before and after, personal data left out).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import delete, select, update

from web.extensions import db
from web.models import (
    Application,
    Attachment,
    DeclaredRelation,
    EnterpriseDetails,
    ExcludedExpert,
    Expert,
    ExpertField,
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
    IMPORTERS,
    RecordError,
    Row,
    _audited,
    _field_ids,
    _insert,
    _resolve_organizations,
    _rows_and_errors,
    export_applications,
    export_experts,
)

MODELS = {"applications": Application, "experts": Expert}
EXPORTERS = {"applications": export_applications, "experts": export_experts}


def update_records(kind: str, records: Sequence[dict], *, actor: User | None,
                   progress: Callable[[int, int], None] | None = None) -> list[str]:
    """Replace the registered records of ``kind`` that have the refs of ``records`` (validated); their refs.

    All or nothing in the caller's transaction; a record whose ref is not registered, or one the database would
    refuse, raises :class:`RecordError` (one line per record) before anything is written.
    """
    build, entity = IMPORTERS[kind]
    model = MODELS[kind]
    ids = dict(db.session.execute(select(model.ref, model.id).where(model.ref.in_([r["ref"] for r in records]))).all())
    trees, errors = _rows_and_errors(records, build, _field_ids())
    errors += [f"{record['ref']}: ref: not registered, nothing to update" for record in records
               if record["ref"] not in ids]
    if errors:
        raise RecordError("\n".join(errors))
    before = {record["ref"]: record for record in EXPORTERS[kind](refs=list(ids))}
    _resolve_organizations(trees, OrganizationResolver())
    for number, (tree, record) in enumerate(zip(trees, records, strict=True), start=1):
        _replace(kind, model, ids[record["ref"]], tree)
        audit.record(f"{entity}.update", entity, record["ref"], actor=actor,
                     before=_audited(before[record["ref"]]), after=_audited(record))
        if progress is not None:
            progress(number, len(records))
    db.session.flush()
    db.session.expire_all()       # the ORM's copies of the replaced rows are stale
    return [record["ref"] for record in records]


def _replace(kind: str, model: type, row_id: int, tree: Row) -> None:
    """Overwrite row ``row_id`` with ``tree``'s values and put ``tree``'s children in place of its own."""
    kept = _clear_children(kind, row_id)
    values = {name: value for name, value in tree.values.items() if name != "ref"}
    db.session.execute(update(model.__table__).where(model.__table__.c.id == row_id).values(**values))
    children = []
    for foreign_key, child in tree.children:
        if child.table is Attachment.__table__ and (child.values["kind"], child.values["filename"]) in kept:
            continue                  # the uploaded file's own row stays
        child.values[foreign_key] = row_id
        children.append(child)
    _insert(children)


def _clear_children(kind: str, row_id: int) -> set[tuple[str, str]]:
    """Delete the child rows a record describes; return (kind, filename) of the uploaded attachments kept."""
    if kind == "experts":
        for model in (ExpertField, PastAffiliation, GovernanceRole, DeclaredRelation):
            db.session.execute(delete(model).where(model.expert_id == row_id)
                               .execution_options(synchronize_session=False))
        return set()
    members = select(MemberUnit.id).where(MemberUnit.application_id == row_id).scalar_subquery()
    for statement in (
        delete(FinancialYear).where(FinancialYear.enterprise_id.in_(members)),
        delete(Shareholder).where(Shareholder.enterprise_id.in_(members)),
        delete(TeamMember).where(TeamMember.institute_id.in_(members)),
        delete(EnterpriseDetails).where(EnterpriseDetails.member_id.in_(members)),
        delete(InstituteDetails).where(InstituteDetails.member_id.in_(members)),
        delete(MemberUnit).where(MemberUnit.application_id == row_id),
        delete(Shareholder).where(Shareholder.application_id == row_id),
        delete(Lead).where(Lead.application_id == row_id),
        delete(PlanSection).where(PlanSection.application_id == row_id),
        delete(ExcludedExpert).where(ExcludedExpert.application_id == row_id),
        delete(Attachment).where(Attachment.application_id == row_id, Attachment.stored_name.is_(None)),
    ):
        db.session.execute(statement.execution_options(synchronize_session=False))
    kept = db.session.execute(select(Attachment.kind, Attachment.filename).where(Attachment.application_id == row_id))
    return {(kind, filename) for kind, filename in kept}
