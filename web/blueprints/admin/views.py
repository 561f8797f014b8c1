"""The views of the admin area: audit log, accounts (admins) and API tokens (organizers and admins)."""

from __future__ import annotations

import json
from datetime import timedelta

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from web import listing
from web.auth.roles import roles_required
from web.extensions import db
from web.models import ApiToken, User, utcnow
from web.services import accounts
from web.services import tokens as token_service
from web.services.accounts import AccountError, create_user
from web.unit_of_work import refuse

from . import audit_log, bp
from .forms import ROLE_LABELS, AuditFilterForm, CreateTokenForm, CreateUserForm

PER_PAGE = 50
FILTER_KEYS = ("actor", "action", "entity_type", "entity_id", "since", "until", "exclude")


def pretty_json(value) -> str:
    """Before/after values as indented JSON, Chinese kept readable."""
    return json.dumps(value, ensure_ascii=False, indent=1, sort_keys=True)


# ---------------------------------------------------------------- audit log

def audit_filters() -> tuple[AuditFilterForm, dict]:
    """The filter form bound to the query string, and the valid filters it holds."""
    form = AuditFilterForm(request.args)
    form.validate()
    filters = {key: getattr(form, key).data for key in FILTER_KEYS
               if getattr(form, key).data and not getattr(form, key).errors}
    return form, filters


@bp.get("/audit")
@roles_required("admin")
def audit():
    """The audit log, filtered and paginated, newest first."""
    form, filters = audit_filters()
    args = listing.parse(listing.ListSpec(sorts=("at",), direction="desc", per_page=PER_PAGE))
    page = listing.paginate_query(audit_log.filtered(filters), args, sort_columns=None)
    query_args = {key: request.args.getlist(key) for key in FILTER_KEYS if any(request.args.getlist(key))}
    return render_template("admin/audit.html", form=form, page=page, query_args=query_args,
                           pretty_json=pretty_json, known=audit_log.known_values())


@bp.get("/audit.<any(csv, json):extension>")
@roles_required("admin")
def audit_export(extension: str):
    """Every event matching the filters as CSV (UTF-8 with BOM, for Excel) or JSON."""
    _, filters = audit_filters()
    events = list(db.session.scalars(audit_log.filtered(filters)))
    body, mimetype = ((audit_log.to_csv(events), "text/csv; charset=utf-8") if extension == "csv"
                      else (audit_log.to_json(events), "application/json"))
    filename = f"audit-{utcnow():%Y%m%d-%H%M%S}.{extension}"
    return Response(body, mimetype=mimetype,
                    headers={"Content-Disposition": f"attachment; filename={filename}"})


# ---------------------------------------------------------------- accounts

def user_or_404(user_id: int) -> User:
    """The account with ``user_id``, or 404."""
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


@bp.route("/users", methods=["GET", "POST"])
@roles_required("admin")
def users():
    """Every account with its state; the form creates one (audited by the accounts service)."""
    form = CreateUserForm()
    if form.validate_on_submit():
        try:
            user = create_user(form.username.data, form.role.data, form.password.data,
                               expert_ref=form.expert_ref.data or None, actor=current_user)
        except AccountError as error:
            refuse(str(error))
        else:
            flash(_("Account %(name)s created.", name=user.username), "info")
            return redirect(url_for("admin.users"))
    accounts = db.session.scalars(select(User).order_by(User.username)).all()
    return render_template("admin/users.html", form=form, accounts=accounts, now=utcnow(), roles=ROLE_LABELS)


@bp.post("/users/<int:user_id>/<any(deactivate, activate, unlock, force_reset):change>")
@roles_required("admin")
def change_user(user_id: int, change: str):
    """Deactivate, reactivate or unlock one account, or make it set a new password at its next login."""
    user = user_or_404(user_id)
    try:
        if change == "unlock":
            accounts.unlock(user, actor=current_user)
        elif change == "force_reset":
            accounts.force_reset(user, actor=current_user)
        else:
            accounts.set_active(user, change == "activate", actor=current_user)
    except AccountError as error:
        refuse(str(error))
    else:
        flash(_("Account %(name)s updated.", name=user.username), "info")
    return redirect(url_for("admin.users"))


# ---------------------------------------------------------------- API tokens

def token_owner(form: CreateTokenForm) -> User | None:
    """The account a new token is for: yourself, or (admins only) the one named; None after an error."""
    username = (form.username.data or "").strip()
    if not username or username == current_user.username:
        return current_user._get_current_object()
    if current_user.role != "admin":
        flash(_("Only admins create tokens for other accounts."), "error")
        return None
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        flash(_("There is no account %(name)s.", name=username), "error")
    return user


@bp.route("/tokens", methods=["GET", "POST"])
@roles_required("organizer", "admin")
def tokens():
    """Your tokens (every token for admins); the form creates one and shows it this once."""
    form = CreateTokenForm()
    new_token = None
    if form.validate_on_submit():
        owner = token_owner(form)
        if owner is not None:
            expires_at = utcnow() + timedelta(days=form.expires_days.data) if form.expires_days.data else None
            try:
                new_token = token_service.create_token(owner, form.name.data, actor=current_user,
                                                       expires_at=expires_at)
            except token_service.TokenError as error:
                refuse(str(error))
            else:
                form = CreateTokenForm(formdata=None)     # an empty form: a second click makes no twin
    shown = token_service.tokens_of(None if current_user.role == "admin" else current_user)
    return render_template("admin/tokens.html", form=form, tokens=shown, new_token=new_token, now=utcnow())


@bp.post("/tokens/<int:token_id>/revoke")
@roles_required("organizer", "admin")
def revoke_token(token_id: int):
    """Revoke a token: your own, or any for an admin (404 for another's)."""
    token = db.session.get(ApiToken, token_id)
    if token is None or (current_user.role != "admin" and token.user_id != current_user.id):
        abort(404)
    try:
        token_service.revoke_token(token, actor=current_user)
    except token_service.TokenError as error:
        refuse(str(error))
    else:
        flash(_("Token %(name)s revoked.", name=token.name), "info")
    return redirect(url_for("admin.tokens"))
