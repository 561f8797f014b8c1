"""Login and logout views."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from web.extensions import db
from web.models import User
from web.services import accounts

from . import bp
from .forms import LoginForm


def load_user(session_id: str) -> User | None:
    """Flask-Login's loader: the active user of a session ``"<id>:<session version>"`` that has not ended.

    Checked on every request, so a cookie copied before a logout no longer opens anything after it.
    """
    user_id, _, version = session_id.partition(":")
    if not (user_id.isdigit() and version.isdigit()):
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or user.session_version != int(version):
        return None
    return user


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the login form; on success go to the page asked for (same site only) or the start page."""
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.username.data.strip(), form.password.data)
        if user is None:
            # One message for unknown user, wrong password and locked account: no account probing.
            flash(_("Wrong username or password, or the account is locked for a while."), "error")
        else:
            log_in_afresh(user)
            return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form)


def log_in_afresh(user: User) -> None:
    """A new session for ``user`` (nothing of the previous one kept but the language): after a login, and after a
    password change, which ended the old session version."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    session.permanent = True
    login_user(user)


def authenticate(username: str, password: str) -> User | None:
    """The user when the password is right, in two units of work: the attempt is counted and committed before
    the slow password check, so attempts in parallel see each other; then the outcome is committed."""
    attempt = accounts.start_login(username)
    db.session.commit()
    user = accounts.finish_login(attempt, password)
    db.session.commit()
    return user


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """End the session for good: this cookie, copies of it and the account's other sessions stop working.

    POST with CSRF, so a link elsewhere cannot log anyone out.
    """
    accounts.end_sessions(current_user, actor=current_user)
    db.session.commit()
    logout_user()
    return redirect(url_for("auth.login"))


def _safe_next(target: str | None) -> str:
    """``target`` when it is a path on this site, else the start page (no open redirects)."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//"):
            return target
    return url_for("home.index")
