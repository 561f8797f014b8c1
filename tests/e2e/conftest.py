"""Browser tests: Playwright drives Debian's Chromium against the app served from a thread on 127.0.0.1.

``live``
    A fresh app on its own instance folder, served on a free port (werkzeug ``make_server``), its jobs run by a
    consumer on the embedded queue (``PANEL_QUEUE=sqlite`` in the instance folder): ``live.url``,
    ``live.app``, ``live.run(function)`` (calls it inside an app context and returns its result, e.g. to seed
    data through the services), ``live.user(username, role, expert_ref=None)`` (an invited expert's account,
    made by the invitation, is renamed and given the password). Its database is a copy of a
    SQLite file migrated once per session, or the PostgreSQL database of ``PANEL_TEST_DATABASE_URL`` (the
    worker's own under pytest-xdist, as for tests/web; schema dropped and migrated again at the start of the e2e
    session, every table emptied after each test).
``page``
    A Chinese-locale (zh-CN) browser page of a new context, 1280×900.
``login(page, live, username, password=PASSWORD)`` / ``logout(page)``
    Log in through the form (asserting it worked) / out through the header's button.
``seed_demo(live, applications=6, experts=60, seed=7)``
    Imports a small demo data set (web.demo) through the records service and returns it.
``open_round(page, live, refs, fields={…}, quotas={…})``
    Through the browser: a new selection round with those form fields and pool quotas, ``refs`` attached; its id.
``scoring_round(live, name=…, settings=SMALL_PANELS)``
    A selection round over every application, matched, in scoring, invitations sent (through the services);
    returns the round id.

Everything is skipped when /usr/bin/chromium or Playwright is missing.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import threading
from pathlib import Path

import pytest

from web import create_app
from web.extensions import db
from web.jobs.queue import start_consumer

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
PASSWORD = "e2e password 42"
VIEWPORT = {"width": 1280, "height": 900}


def _web_test_helpers():
    """tests/web/conftest.py loaded under its own name (every test folder has a module called conftest)."""
    path = Path(__file__).resolve().parent.parent / "web" / "conftest.py"
    spec = importlib.util.spec_from_file_location("panel_web_test_helpers", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


helpers = _web_test_helpers()
TEST_DATABASE_URL = helpers.TEST_DATABASE_URL


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def _e2e_database(tmp_path_factory, browser):
    """A SQLite file migrated once, or the PostgreSQL schema dropped and migrated again."""
    return helpers.migrated_database(tmp_path_factory.mktemp("e2e_migrated"))


class LiveApp:
    """The app under test, served from a thread."""

    def __init__(self, app, url: str):
        self.app, self.url = app, url

    def run(self, function, *args, **kwargs):
        """Call ``function`` as one unit of work (committed when it returns, like a CLI command)."""
        with self.app.app_context():
            result = function(*args, **kwargs)
            session = db.session()
            session.expire_on_commit = False        # what it returns stays readable
            session.commit()
            return result

    def user(self, username: str, role: str, expert_ref: str | None = None) -> None:
        """An account with the test password; an expert the invitations already gave an account keeps it, renamed
        ``username``, with the password set as the expert would through their link."""
        from sqlalchemy import select

        from web.models import Expert
        from web.services import accounts

        def make() -> None:
            expert = db.session.scalar(select(Expert).where(Expert.ref == expert_ref)) if expert_ref else None
            invited = accounts.expert_account(expert) if expert is not None else None
            if invited is None:
                accounts.create_user(username, role, PASSWORD, expert_ref=expert_ref, actor=None)
            else:
                invited.username = username
                accounts.set_password(invited, PASSWORD, actor=None)

        self.run(make)


@pytest.fixture
def live(tmp_path, _e2e_database):
    from werkzeug.serving import make_server

    instance = tmp_path / "instance"
    instance.mkdir()
    if TEST_DATABASE_URL:
        database_url = TEST_DATABASE_URL
    else:
        shutil.copy(_e2e_database, instance / "panel.sqlite3")
        database_url = f"sqlite:///{instance / 'panel.sqlite3'}"
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(instance), "SQLALCHEMY_DATABASE_URI": database_url})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    consumer = start_consumer(app, workers=1)          # jobs run beside the server, as under `panel serve`
    yield LiveApp(app, f"http://127.0.0.1:{server.server_port}")
    consumer.stop(graceful=True)
    server.shutdown()
    thread.join(timeout=10)
    with app.app_context():
        db.session.remove()
        if TEST_DATABASE_URL:
            helpers._empty_postgres_tables()
            from web.services.reference_data import seed_reference_data

            seed_reference_data()
            db.session.commit()
        db.engine.dispose()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="zh-CN", viewport=VIEWPORT, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def _login(page, live: LiveApp, username: str, password: str = PASSWORD) -> None:
    """Log in through the form and wait for the start page."""
    page.goto(f"{live.url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("form [type=submit]")
    assert "/login" not in page.url, f"login as {username} failed"


def _logout(page) -> None:
    """Log out through the header's button."""
    page.click("header form [type=submit]")
    page.wait_for_url("**/login**")


def _seed_demo(live: LiveApp, *, applications: int = 6, experts: int = 60, seed: int = 7):
    """Import a small demo data set through the records service; returns the DemoData."""
    from web.demo import validated_demo
    from web.services.records import import_applications, import_experts

    demo = validated_demo(seed, applications=applications, experts=experts)

    def load():
        import_experts(demo.experts, actor=None)
        import_applications(demo.applications, actor=None)
        db.session.commit()

    live.run(load)
    return demo


SMALL_PANELS = {"panel_size": 5, "max_load": 5, "reserves": 3,
                "pool_quotas": {"technology": [2, 3], "industry": [1, 2], "economics": [0, 1],
                                "management": [0, 1], "law": [0, 1]}}


def _scoring_round(live: LiveApp, name: str = "浏览器测试评审", settings: dict | None = None) -> int:
    """A selection round over every application, matched, moved to scoring and invited, through the services
    (organizer ``organizer``, created if missing); returns its id."""
    from datetime import date

    from sqlalchemy import select

    from web.models import Application, User
    from web.services import invitations, panels, rounds

    def build() -> int:
        organizer = db.session.scalar(select(User).where(User.username == "organizer"))
        if organizer is None:
            live.user("organizer", "organizer")
            organizer = db.session.scalar(select(User).where(User.username == "organizer"))
        refs = list(db.session.scalars(select(Application.ref).order_by(Application.id)))
        round_ = rounds.create_round(name, "selection_review", as_of=date(2020, 10, 1), application_refs=refs,
                                     deadline=date(2020, 10, 30), actor=organizer)
        rounds.update_settings(round_, settings or SMALL_PANELS, actor=organizer)
        rounds.transition(round_, "assigning", actor=organizer)
        version = panels.run_matching(round_, actor=organizer, seed=1)
        assert version.active, version.diagnostics
        rounds.transition(round_, "scoring", actor=organizer)
        invitations.invite(round_, actor=organizer)
        return round_.id

    return live.run(build)


def _open_round(page, live: LiveApp, refs: list[str], *, fields: dict[str, str],
                quotas: dict[str, tuple[int, int]]) -> int:
    """Through the browser: a selection round with the form's ``fields`` (name → value) and pool ``quotas``, the
    applications ``refs`` attached; returns its id."""
    page.goto(f"{live.url}/rounds/new")
    form = page.locator("form.settings")
    form.locator("select[name=kind]").select_option("selection_review")
    for name, value in fields.items():
        form.locator(f"input[name={name}]").fill(value)
    for pool, (low, high) in quotas.items():
        form.locator(f"input[name=quota_{pool}_min]").fill(str(low))
        form.locator(f"input[name=quota_{pool}_max]").fill(str(high))
    form.locator("button[type=submit]").click()
    page.wait_for_url("**/rounds/*/applications")
    round_id = int(page.url.rstrip("/").split("/")[-2])
    page.locator("textarea[name=refs]").fill(", ".join(refs))
    page.locator("main form:has(textarea[name=refs]) button[type=submit]").click()
    sync_api = pytest.importorskip("playwright.sync_api")
    sync_api.expect(page.locator("main table tbody tr")).to_have_count(len(refs))
    return round_id


@pytest.fixture(name="open_round")
def open_round_fixture():
    return _open_round


@pytest.fixture(name="scoring_round")
def scoring_round_fixture():
    return _scoring_round


@pytest.fixture(name="login")
def login_fixture():
    return _login


@pytest.fixture(name="logout")
def logout_fixture():
    return _logout


@pytest.fixture(name="seed_demo")
def seed_demo_fixture():
    return _seed_demo
