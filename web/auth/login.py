"""Login and logout views."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from web.extensions import db
from web.models import User
from web.services import audit
from web.services.accounts import authenticate

from . import bp
from .forms import LoginForm


def load_user(user_id: str) -> User | None:
    """Flask-Login's loader: the active user with this id."""
    user = db.session.get(User, int(user_id))
    return user if user is not None and user.active else None


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
            lang = session.get("lang")
            session.clear()
            if lang:
                session["lang"] = lang
            session.permanent = True
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """End the session (POST with CSRF, so a link elsewhere cannot log anyone out); audited."""
    audit.record("logout", "user", current_user.id, actor=current_user)
    logout_user()
    return redirect(url_for("auth.login"))


def _safe_next(target: str | None) -> str:
    """``target`` when it is a path on this site, else the start page (no open redirects)."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//"):
            return target
    return url_for("home.index")
