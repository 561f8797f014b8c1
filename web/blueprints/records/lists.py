"""The lists of registered records: the applications with their formal-check flags, the experts, one application
in full."""

from __future__ import annotations

from flask import abort, render_template
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select

from web import listing
from web.auth.roles import roles_required
from web.blueprints.records import bp
from web.extensions import db
from web.labels import label
from web.models import POOLS, Application, Expert, ExpertField, Field, Organization
from web.services.formal_check import check_application
from web.services.records import export_applications, export_experts

STAFF = ("organizer", "admin")


def formal_check(record: dict) -> list:
    """The formal-check flags of one application record."""
    return check_application(record)


def field_names() -> dict[str, Field]:
    """Every field by code, for showing names beside codes."""
    return {field.code: field for field in db.session.scalars(select(Field))}


FORMAL_STATES = ("flagged", "clean")
APPLICATION_SORTS = {"ref": (Application.ref,), "center_name": (Application.center_name, Application.ref),
                     "field": (Field.position, Application.ref), "bearer": (Application.bearer_name, Application.ref),
                     "submitted_on": (Application.submitted_on, Application.ref)}


def application_spec() -> listing.ListSpec:
    """Applications: search by ref, center or bearer; filter by field and formal-check result."""
    return listing.ListSpec(sorts=tuple(APPLICATION_SORTS),
                            filters={"field": set(field_names()), "formal": FORMAL_STATES})


@bp.route("/applications")
@roles_required(*STAFF)
def applications():
    """The applications with field, bearer, member count and formal-check flags: searched, filtered, sorted and
    one page at a time."""
    args = listing.parse(application_spec())
    query = select(Application.ref).join(Field, Application.field_id == Field.id)
    if "field" in args.filters:
        query = query.where(Field.code == args.filters["field"])
    query = listing.searched(query, args, (Application.ref, Application.center_name, Application.bearer_name))
    refs = list(db.session.scalars(listing.ordered(query, args, APPLICATION_SORTS)))
    if "formal" in args.filters:
        flagged = {record["ref"] for record in export_applications(refs=refs) if formal_check(record)}
        refs = [ref for ref in refs if (ref in flagged) == (args.filters["formal"] == "flagged")]
    page = listing.page_of(refs, args)
    records = {record["ref"]: record for record in export_applications(refs=page.items)}
    rows = [(records[ref], formal_check(records[ref])) for ref in page.items]
    return render_template("records/applications.html", rows=rows, page=page, fields=field_names(),
                           field_options=field_options(), formal_options=[
                               ("flagged", _("with flags")), ("clean", _("without flags"))])


def field_options() -> list[tuple[str, str]]:
    """(code, name) of every field, for a filter."""
    fields = db.session.scalars(select(Field).order_by(Field.position, Field.code))
    return [(field.code, field.name_en if get_locale().language == "en" else field.name) for field in fields]


@bp.route("/applications/<record_ref:ref>")
@roles_required(*STAFF)
def application_detail(ref: str):
    """One application with all of its tables (personal data masked unless admin)."""
    records = export_applications(include_personal=True, refs=[ref])
    if not records:
        abort(404)
    record = records[0]
    return render_template("records/application.html", record=record, flags=formal_check(record),
                           fields=field_names())


EXPERT_SORTS = {"ref": (Expert.ref,), "name": (Expert.name, Expert.ref), "pool": (Expert.pool, Expert.ref),
                "organization": (Organization.name, Expert.ref), "max_load": (Expert.max_load, Expert.ref)}


@bp.route("/experts")
@roles_required(*STAFF)
def experts():
    """The experts with pool, fields, organization and load cap (contact data masked unless admin): searched by
    ref, name or organization, filtered by pool, field and organization, sorted, one page at a time."""
    args = listing.parse(listing.ListSpec(sorts=tuple(EXPERT_SORTS), filters={
        "pool": POOLS, "field": set(field_names()), "organization": None}))
    query = select(Expert).outerjoin(Organization, Expert.organization_id == Organization.id)
    if "pool" in args.filters:
        query = query.where(Expert.pool == args.filters["pool"])
    if "field" in args.filters:
        query = query.where(Expert.id.in_(select(ExpertField.expert_id).join(Field).where(
            Field.code == args.filters["field"])))
    if "organization" in args.filters:
        query = query.where(listing.contains(Organization.name, args.filters["organization"]))
    page = listing.paginate_query(query, args, sort_columns=EXPERT_SORTS,
                                  search=(Expert.ref, Expert.name, Organization.name))
    records = {record["ref"]: record for record in export_experts(include_personal=True,
                                                                   refs=[expert.ref for expert in page.items])}
    return render_template("records/experts.html", experts=[records[expert.ref] for expert in page.items],
                           page=page, fields=field_names(), field_options=field_options(),
                           pool_options=[(pool, label(pool, "pool")) for pool in POOLS])
