"""Panel's web application: the factory that builds a configured Flask app."""

from __future__ import annotations

import os

from flask import Flask, request, session

from .config import default_config, instance_path_from_env, stored_secret_key
from .extensions import babel, csrf, db, login_manager, migrate

LOCALES = ("zh_Hans_CN", "en")
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def create_app(config: dict | None = None) -> Flask:
    """Build the app; ``config`` overrides the environment's settings (tests pass their own)."""
    config = dict(config or {})
    instance_path = config.pop("INSTANCE_PATH", None) or instance_path_from_env()
    app = Flask(__name__, instance_path=instance_path, instance_relative_config=True)
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.update(default_config(app.instance_path))
    app.config.update(config)
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = stored_secret_key(app.instance_path)

    _init_extensions(app)
    _register_blueprints(app)
    app.after_request(_add_security_headers)
    return app


def _init_extensions(app: Flask) -> None:
    """Bind the module-level extensions to ``app``."""
    from . import models  # noqa: F401  (registers every table on db.metadata before Migrate looks)
    from .auth.login import load_user

    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(os.path.dirname(__file__)), "migrations"))
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.user_loader(load_user)
    babel.init_app(app, locale_selector=select_locale)


def _register_blueprints(app: Flask) -> None:
    """Attach the HTTP areas of the application."""
    from .auth import bp as auth_bp
    from .blueprints.organizer import bp as organizer_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(organizer_bp)
    app.add_url_rule("/", endpoint="index", view_func=_index)


def _index():
    """Send each user to their start page."""
    from flask import redirect, url_for
    from flask_login import current_user

    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return redirect(url_for("organizer.applications"))


def select_locale() -> str:
    """Chinese by default; ``?lang=en`` or ``?lang=zh_Hans_CN`` switches and is remembered in the session."""
    requested = request.args.get("lang")
    if requested in LOCALES:
        session["lang"] = requested
    return session.get("lang", LOCALES[0])


def _add_security_headers(response):
    """Forbid framing, sniffing and third-party content on every response."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response
