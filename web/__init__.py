"""Panel's web application: the factory that builds a configured Flask app."""

from __future__ import annotations

import os

from flask import Flask, current_app, has_request_context, render_template, request, session
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.middleware.proxy_fix import ProxyFix

from web import database, flashes, input_guard, unit_of_work
from web.config import default_config, instance_path_from_env, stored_secret_key
from web.extensions import babel, csrf, db, login_manager, migrate

LOCALES = ("zh_Hans_CN", "en")
MIGRATIONS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "migrations")
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
HSTS = "max-age=31536000; includeSubDomains"


def create_app(config: dict | None = None) -> Flask:
    """Build the app; ``config`` overrides the environment's settings, its ``INSTANCE_PATH`` the instance folder."""
    config = dict(config or {})
    instance_path = config.pop("INSTANCE_PATH", None) or instance_path_from_env()
    app = Flask(__name__, instance_path=instance_path, instance_relative_config=True)
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.update(default_config(app.instance_path))
    app.config.update(config)
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = stored_secret_key(app.instance_path)

    input_guard.init_app(app)
    _init_extensions(app)
    _init_templates(app)
    _register_blueprints(app)
    _register_commands(app)
    unit_of_work.init_app(app)
    flashes.init_app(app)
    _init_serving(app)
    app.after_request(_add_security_headers)
    return app


def _init_serving(app: Flask) -> None:
    """Per-client limits, the client's address and scheme from a trusted reverse proxy (PROXY_FIX), and the
    app's time on every response (SERVER_TIMING)."""
    from web import ratelimits, server_timing

    ratelimits.init_app(app)
    proxies = app.config["PROXY_FIX"]
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    server_timing.init_app(app)


def _init_extensions(app: Flask) -> None:
    """Bind the module-level extensions to ``app``."""
    from web import jobs, models  # noqa: F401  (models: registers every table on db.metadata before Migrate looks)
    from web.auth.login import load_user

    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = database.engine_options(app)
    db.init_app(app)
    with app.app_context():
        database.on_connect(app, db.engine)
    migrate.init_app(app, db, directory=MIGRATIONS)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.user_loader(load_user)
    babel.init_app(app, locale_selector=select_locale)
    jobs.init_app(app)


def _init_templates(app: Flask) -> None:
    """Template helpers: the current locale, code labels, local times and personal-data masking."""
    from web import local_time, masking
    from web.io.limits import size_text
    from web.labels import label, plain, state_label

    masking.init_app(app)
    local_time.init_app(app)
    app.add_template_filter(label, "label")
    app.add_template_filter(plain, "plain")
    app.add_template_filter(state_label, "state_label")
    app.add_template_filter(size_text, "file_size")
    app.jinja_env.globals["current_locale"] = lambda: str(get_locale())


def _register_blueprints(app: Flask) -> None:
    """Attach the HTTP areas of the application."""
    from web.api import bp as api_bp
    from web.auth import bp as auth_bp
    from web.blueprints.admin import bp as admin_bp
    from web.blueprints.centers import bp as centers_bp
    from web.blueprints.expert import bp as expert_bp
    from web.blueprints.home import bp as home_bp
    from web.blueprints.invitations import bp as invitations_bp
    from web.blueprints.jobs import bp as jobs_bp
    from web.blueprints.rankings import bp as rankings_bp
    from web.blueprints.records import bp as records_bp
    from web.blueprints.rounds import bp as rounds_bp

    for blueprint in (auth_bp, home_bp, records_bp, rounds_bp, invitations_bp, expert_bp, rankings_bp, jobs_bp,
                      centers_bp, admin_bp, api_bp):
        app.register_blueprint(blueprint)
    for status in (400, 403, 404, 405, 413, 500):
        app.register_error_handler(status, _error_page)


def _register_commands(app: Flask) -> None:
    """Put the ``panel`` commands on the app's CLI (so ``panel`` and ``app.test_cli_runner()`` both see them)."""
    from web.commands import COMMANDS

    for command in COMMANDS:
        app.cli.add_command(command)


def _error_page(error):
    """Errors in the site's layout, so the user keeps the navigation and the logout button.

    A 500 rolls the request's work back first: a failed flush leaves the session refusing every query until then,
    and the layout reads the signed-in account (the request's work is rolled back anyway, web.unit_of_work)."""
    if error.code == 500:
        db.session.rollback()
    return render_template("error.html", error=error, message=_error_sentence(error)), error.code


def _error_sentence(error) -> str | None:
    """What went wrong in the reader's language, in place of Werkzeug's and Flask-WTF's English descriptions; None
    leaves the page's own sentence (403, 404) or a description of ours (a 400 that names the field at fault)."""
    from web.io.limits import too_large_request

    if error.code == 413:
        return too_large_request()
    if isinstance(error, CSRFError):
        return _("This form has expired or was not sent from this site: reload the page and send it again.")
    if error.code == 400 and error.description == type(error).description:
        return _("The request could not be read: reload the page and try again.")
    if error.code == 405:
        return _("This address does not take this kind of request.")
    if error.code == 500:
        return _("Something went wrong on the server and the request was not completed. Try again, or tell the "
                 "administrator.")
    return None


def select_locale() -> str:
    """Chinese by default; ``?lang=en`` or ``?lang=zh_Hans_CN`` switches and is remembered in the session.

    Outside a request (the CLI, the demo loader) there is no session: Chinese, the service's language.
    """
    if not has_request_context():
        return LOCALES[0]
    requested = request.args.get("lang")
    if requested in LOCALES:
        session["lang"] = requested
    return session.get("lang", LOCALES[0])


def _add_security_headers(response):
    """Forbid framing, sniffing, third-party content and storing pages; HSTS when the site runs on HTTPS.

    Every page but the static files gets ``Cache-Control: no-store``: pages show personal data, scores or a
    session's CSRF token, and after logout the browser's back button or a shared proxy must not show them again.
    """
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.endpoint != "static":
        response.headers["Cache-Control"] = "no-store"
    if current_app.config["SESSION_COOKIE_SECURE"]:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    return response
