"""Password pages: a personal link sets a password and logs in, the account holder changes theirs, a forgotten
password is reset by e-mailed link, and an account an admin forced to reset goes to the password page first."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from web.services import access_links, accounts
from web.services.access_links import LinkError
from web.services.accounts import AccountError

from . import bp
from .forms import ChangePasswordForm, ForgotPasswordForm, NewPasswordForm
from .login import log_in_afresh

# Where an account that must change its password may still go.
OPEN_DURING_FORCED_RESET = ("auth.change_password", "auth.logout", "auth.access", "static")
LINK_REFUSAL_STATUS = {"invalid": 400, "expired": 410, "used": 410}


@bp.route("/access/<token>", methods=["GET", "POST"])
def access(token: str):
    """A personal link: set a password, then land logged in on one's start page (the expert's seats)."""
    try:
        user = access_links.user_of(token)
    except LinkError as error:
        return render_template("auth/link_refused.html", message=str(error)), LINK_REFUSAL_STATUS[error.reason]
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            user = access_links.redeem(token)
        except LinkError as error:
            return render_template("auth/link_refused.html", message=str(error)), LINK_REFUSAL_STATUS[error.reason]
        try:
            accounts.set_password(user, form.password.data, actor=user, action="user.password_set_by_link")
        except AccountError as error:
            form.password.errors.append(str(error))
        else:
            log_in_afresh(user)
            flash(_("Your password is set; welcome."), "info")
            return redirect(url_for("home.index"))
    status = 400 if form.errors else 200
    return render_template("auth/set_password.html", form=form, user=user), status


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    """Change one's own password (the current one first); after an admin's forced reset, the only page open."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            accounts.change_password(user, form.current.data, form.password.data, actor=user)
        except AccountError as error:
            form.password.errors.append(str(error))
        else:
            log_in_afresh(user)
            flash(_("Your password is changed; your other sessions have ended."), "info")
            return redirect(url_for("home.index"))
    status = 400 if form.errors else 200
    return render_template("auth/change_password.html", form=form), status


@bp.route("/password/forgot", methods=["GET", "POST"])
def forgot_password():
    """Ask for a link by username; the answer is the same whether or not the account exists."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        accounts.request_reset(form.username.data)
        flash(_("If the account exists, a link to set a new password is on its way. Experts receive it by "
                "e-mail; organizers, ask an administrator."), "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot_password.html", form=form)


@bp.before_app_request
def forced_reset_first():
    """An account an admin forced to reset its password sees only the password page until it does."""
    if (current_user.is_authenticated and current_user.must_change_password and request.blueprint != "api"
            and request.endpoint not in OPEN_DURING_FORCED_RESET):
        flash(_("An administrator asked you to choose a new password before going on."), "error")
        return redirect(url_for("auth.change_password"))
    return None
