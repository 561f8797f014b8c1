"""The views of registering in the browser: upload → preview → confirm (a job), the form of one record, and
attachments.

Uploads, forms and attachment pages are for organizers and admins; an expert downloads the attachments of the
application on one of their own seats, once they declared no conflict (the same rule as the material itself).
"""

from __future__ import annotations

import io
import mimetypes

from flask import abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from web.auth.roles import roles_required
from web.blueprints.expert.views import declared_sheet, own_seat
from web.extensions import db
from web.io.limits import ImportLimits, import_body, size_text
from web.io.template import write_template
from web.models import Application, Attachment
from web.records.schema import ATTACHMENT_KINDS
from web.services import records as record_service
from web.services import uploads
from web.services.attachments import AttachmentError, attachment_path, attachment_refusal, store_attachment
from web.services.jobs import request_job
from web.services.record_updates import EXPORTERS, update_records
from web.unit_of_work import refuse

from . import bp
from .form import RecordForm, errors_by_field, unmarked

STAFF = ("organizer", "admin")
KIND = "<any(applications, experts):kind>"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
def limits() -> ImportLimits:
    """The import limits of this server (the same as ``panel import`` and the API)."""
    return ImportLimits.from_config(current_app.config)


# ---------------------------------------------------------------- uploads

@bp.route(f"/{KIND}/upload", methods=["GET", "POST"])
@import_body
@roles_required(*STAFF)
def upload(kind: str):
    """The upload form; a posted file comes back as its preview: every error, or what confirming would write."""
    if request.method == "GET":
        return render_template("records/upload.html", kind=kind, limits=limits())
    update = request.form.get("update") == "1"
    sent = request.files.get("file")
    if sent is None or not sent.filename:
        return render_template("records/upload.html", kind=kind, limits=limits(), update=update,
                               error=_("Choose a file to upload.")), 400
    data = sent.read()
    checked = uploads.check(kind, sent.filename, data, update=update, limits=limits())
    if checked.problems:
        shown = checked.problems[:limits().max_errors]
        return render_template("records/upload.html", kind=kind, limits=limits(), update=update,
                               filename=sent.filename, problems=shown, problem_count=len(checked.problems),
                               is_json=sent.filename.lower().endswith(".json")), 422
    token = uploads.keep(current_user, sent.filename, data)
    return render_template("records/upload.html", kind=kind, limits=limits(), update=update, filename=sent.filename,
                           checked=checked, token=token)


@bp.route(f"/{KIND}/template.xlsx")
@roles_required(*STAFF)
def template(kind: str):
    """The Excel import template: Chinese headers, drop-down lists of this server's fields, an example row."""
    content = io.BytesIO()
    write_template(kind, content, uploads.taxonomy())
    content.seek(0)
    name = "申报书导入模板.xlsx" if kind == "applications" else "专家导入模板.xlsx"
    return send_file(content, mimetype=XLSX, as_attachment=True, download_name=name)


@bp.route(f"/{KIND}/upload/<token>", methods=["POST"])
@roles_required(*STAFF)
def confirm(kind: str, token: str):
    """Register a previewed upload of the current user: a job adds and replaces its records in one commit."""
    if uploads.kept(current_user.id, token) is None:
        abort(404)
    job = request_job("records_upload", round_=None, actor=current_user,
                      params={"kind": kind, "token": token, "update": request.form.get("update") == "1"})
    return redirect(url_for("jobs.job_page", job_id=job.id), 303)


# ---------------------------------------------------------------- one record by form

def record_form(kind: str, *, personal_visible: bool) -> RecordForm:
    """The form of ``kind`` against this server's field taxonomy."""
    return RecordForm(kind, uploads.taxonomy(), personal_visible=personal_visible)


def registered(kind: str, ref: str) -> dict:
    """The registered record ``ref`` of ``kind`` with personal data, or 404."""
    found = EXPORTERS[kind](include_personal=True, refs=[ref])
    return found[0] if found else abort(404)


def saved(kind: str, raw: dict, *, replacing: str | None = None) -> tuple[dict | None, dict[str, str]]:
    """The form's record checked: (record, {}) or (None, the errors by field name)."""
    record, errors = uploads.check_record(kind, raw, replacing=replacing)
    return record, errors_by_field(errors, raw)


def after_save(kind: str, ref: str):
    """Where a saved record is shown."""
    if kind == "applications":
        return redirect(url_for("records.application_detail", ref=ref))
    return redirect(url_for("records.experts", q=ref))


@bp.route(f"/{KIND}/new", methods=["GET", "POST"])
@roles_required(*STAFF)
def new(kind: str):
    """Register one application or expert through the form; refused with every error beside its field."""
    form = record_form(kind, personal_visible=True)
    if request.method == "GET":
        return render_template("records/form.html", kind=kind, ref=None, items=form.fields(None))
    raw = form.read(request.form.to_dict(flat=False))
    record, errors = saved(kind, unmarked(raw))
    if errors:
        return render_template("records/form.html", kind=kind, ref=None, items=form.fields(raw, errors),
                               error_count=len(errors)), 422
    record_service.import_records(kind, [record], actor=current_user)
    flash(_("%(ref)s registered.", ref=record["ref"]), "ok")
    return after_save(kind, record["ref"])


@bp.route(f"/{KIND}/<ref>/edit", methods=["GET", "POST"])
@roles_required(*STAFF)
def edit(kind: str, ref: str):
    """Change one registered record through the form; its ref stays. Personal data is shown to admins only:
    for others it is left empty, and an empty personal field keeps the registered value."""
    current = registered(kind, ref)
    form = record_form(kind, personal_visible=current_user.role == "admin")
    if request.method == "GET":
        return render_template("records/form.html", kind=kind, ref=ref, items=form.fields(current))
    kept = None if current_user.role == "admin" else current
    raw = {**form.read(request.form.to_dict(flat=False), kept), "ref": ref}
    record, errors = saved(kind, unmarked(raw), replacing=ref)
    if errors:
        return render_template("records/form.html", kind=kind, ref=ref, items=form.fields(raw, errors),
                               error_count=len(errors)), 422
    update_records(kind, [record], actor=current_user)
    flash(_("%(ref)s saved.", ref=ref), "ok")
    return after_save(kind, ref)


# ---------------------------------------------------------------- attachments

def application_or_404(ref: str) -> Application:
    """The application with ``ref``, or 404."""
    return db.session.scalar(select(Application).where(Application.ref == ref)) or abort(404)


@bp.route("/applications/<ref>/attachments", methods=["GET", "POST"])
@roles_required(*STAFF)
def attachments(ref: str):
    """An application's attachments, each to download, and the form to upload another."""
    application = application_or_404(ref)
    if request.method == "POST":
        sent = request.files.get("file")
        try:
            if sent is None or not sent.filename:
                raise AttachmentError("filename: must not be empty", "filename")
            stored = store_attachment(application, request.form.get("kind", ""), sent.filename, sent.stream,
                                      content_type=sent.mimetype, actor=current_user)
        except AttachmentError as error:
            refuse(attachment_refusal(error))
        else:
            flash(_("%(filename)s attached.", filename=stored.filename), "ok")
        return redirect(url_for("records.attachments", ref=application.ref))
    return render_template("records/attachments.html", application=application, kinds=ATTACHMENT_KINDS,
                           max_bytes=size_text(current_app.config.get("MAX_ATTACHMENT_BYTES", 50 * 1024 * 1024)))


def sent_file(attachment: Attachment):
    """The attachment's file as a download under its own name (404 for a paper-only attachment)."""
    path = attachment_path(attachment)
    if path is None or not path.is_file():
        abort(404)
    mimetype = mimetypes.guess_type(attachment.filename)[0] or "application/octet-stream"
    return send_file(path, mimetype=mimetype, as_attachment=True, download_name=attachment.filename)


@bp.route("/attachments/<int:attachment_id>")
@roles_required(*STAFF)
def download(attachment_id: int):
    """One attachment's file, for organizers and admins."""
    return sent_file(db.session.get(Attachment, attachment_id) or abort(404))


@bp.route("/seats/<int:seat_id>/attachments/<int:attachment_id>")
@roles_required("expert")
def seat_download(seat_id: int, attachment_id: int):
    """An attachment of the application on the expert's own seat, once they declared no conflict (404 else)."""
    seat = own_seat(seat_id)
    attachment = db.session.get(Attachment, attachment_id)
    if declared_sheet(seat) is None or attachment is None or attachment.application_id != seat.application_id:
        abort(404)
    return sent_file(attachment)
