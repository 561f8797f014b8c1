"""Fixtures for the web application's tests (shared with the import/export, check and demo tests).

``app``
    A fresh application on its own instance folder (tmp_path). Its database: PostgreSQL when
    ``PANEL_TEST_DATABASE_URL`` is set (migrated once per session, every table emptied after each test — the
    URL's database is wiped: never point it at data you keep; under pytest-xdist each worker wipes its own,
    ``<name>_gw0``, ``<name>_gw1``…, created beside it on first use), else a new SQLite file per test, copied
    from one migrated by Alembic once per session. Either way the taxonomy and the default templates are loaded.
    CSRF protection is on; a test that needs it off passes ``@pytest.mark.app_config(WTF_CSRF_ENABLED=False)``.
    Jobs run in Huey's immediate mode (right after the commit that asks for them); the queue's own tests
    (tests/web/test_jobs_queue.py) run a real consumer on the stores of docs/jobs.md.
``client`` / ``runner``
    The app's test client and CLI runner (``runner.invoke(args=["users", "create", …])``).
``auth``
    ``auth.login(role="organizer")`` creates the account ``<role>`` on first use and logs in through the form
    (with its CSRF token); ``auth.login(username=…, password=…)`` logs in as anyone; ``auth.logout()``.
    ``auth.password`` is the password of the accounts it creates.
``make_user(username, role, password=PASSWORD, expert_ref=None)``
    Creates an account through web.services.accounts and returns it (detached, attributes loaded).
``table_counts()``
    Row count of every table but the stored rankings (a cache any page view may fill), for "nothing changed" assertions: ``before = table_counts(); …;
    assert table_counts() == before``.
``make_application_record(ref="APP-001", **overrides)`` / ``make_expert_record(ref="EXP-001", **overrides)``
    A complete, valid record in the validated shape of DESIGN §10 (every key present, dates as date objects):
    the application has shareholders summing to 100, an enterprise and an institute member, all leads, plan
    sections and attachments; top-level keys can be overridden.
``csrf_token(html)``
    The CSRF token of the first form in a page, for posting forms by hand.
``uscc(number, division="310115")``
    A valid USCC (correct check character) for a made-up organization number; Shanghai unless told.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
from datetime import date

import click
import pytest
from flask import has_request_context
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from matching.uscc import check_character
from web import create_app
from web.extensions import db

PASSWORD = "correct horse 42"


def worker_database_url(url: str | None) -> str | None:
    """The PostgreSQL database of this pytest process: ``url`` itself, or under pytest-xdist (which names its
    workers gw0, gw1… in ``PYTEST_XDIST_WORKER``) the worker's own database beside it, ``<name>_gw0``: every test
    empties every table, so two workers cannot share one."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not url or not worker:
        return url
    parsed = make_url(url)
    return parsed.set(database=f"{parsed.database}_{worker}").render_as_string(hide_password=False)


TEST_DATABASE_URL = worker_database_url(os.environ.get("PANEL_TEST_DATABASE_URL"))
# Results any page view may store: not data a refusal must leave alone.
CACHE_TABLES = {"stored_ranking", "stored_panel_context"}
CSRF_PATTERN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def pytest_configure(config):
    config.addinivalue_line("markers", "app_config(**settings): extra settings for the app fixture")


def upgrade_and_seed(app) -> None:
    """Bring the app's database to the newest migration and load the reference data."""
    from flask_migrate import upgrade

    from web.services.reference_data import seed_reference_data

    with app.app_context():
        upgrade()
        seed_reference_data()
        db.session.commit()


def migrated_database(instance) -> str:
    """The database the tests copy or empty, migrated and seeded in the folder ``instance``: the PostgreSQL
    database of :data:`TEST_DATABASE_URL` (created if missing, its schema dropped and built again) or a SQLite
    template file; returns its URL or the file's path."""
    if TEST_DATABASE_URL:
        _create_database_if_missing(TEST_DATABASE_URL)
        app = create_app({"INSTANCE_PATH": str(instance), "SQLALCHEMY_DATABASE_URI": TEST_DATABASE_URL})
        with app.app_context(), db.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        upgrade_and_seed(app)
        with app.app_context():
            db.engine.dispose()
        return TEST_DATABASE_URL
    template = instance / "template.sqlite3"
    app = create_app({"INSTANCE_PATH": str(instance), "SQLALCHEMY_DATABASE_URI": f"sqlite:///{template}"})
    upgrade_and_seed(app)
    with app.app_context():
        db.engine.dispose()
    return template


def _create_database_if_missing(url: str) -> None:
    """CREATE DATABASE for a worker's database, connected to the configured one (which exists)."""
    name = make_url(url).database
    admin = create_engine(os.environ["PANEL_TEST_DATABASE_URL"], isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            if connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}) is None:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()


@pytest.fixture(scope="session")
def _migrated_database(tmp_path_factory):
    """A database migrated once per session: a SQLite template file, or the emptied PostgreSQL database."""
    return migrated_database(tmp_path_factory.mktemp("migrated_instance"))


@pytest.fixture
def app(request, tmp_path, _migrated_database):
    instance = tmp_path / "instance"
    if TEST_DATABASE_URL:
        database_url = TEST_DATABASE_URL
    else:
        instance.mkdir()
        shutil.copy(_migrated_database, instance / "panel.sqlite3")
        database_url = f"sqlite:///{instance / 'panel.sqlite3'}"
    settings = {"TESTING": True, "INSTANCE_PATH": str(instance), "SQLALCHEMY_DATABASE_URI": database_url,
                "PANEL_QUEUE": "immediate"}
    marker = request.node.get_closest_marker("app_config")
    if marker:
        settings.update(marker.kwargs)
    app = create_app(settings)
    app.teardown_appcontext(_commit_test_setup)
    yield app
    with app.app_context():
        db.session.remove()
        if TEST_DATABASE_URL:
            _empty_postgres_tables()
            from web.services.reference_data import seed_reference_data

            seed_reference_data()
            db.session.commit()
        db.engine.dispose()


def _commit_test_setup(error: BaseException | None) -> None:
    """A test's own ``with app.app_context():`` block is a unit of work like a CLI command: what it built through
    the services is committed when the block ends without an error. Requests and CLI commands commit for
    themselves (web.unit_of_work, the commands), so they are left alone here."""
    if error is None and not has_request_context() and click.get_current_context(silent=True) is None:
        session = db.session()
        if session.is_active:                   # not after a flush the block saw fail (it expected the error)
            session.expire_on_commit = False    # what the block returns stays readable, as before the commit
            session.commit()


def _empty_postgres_tables() -> None:
    """TRUNCATE every model table in one statement (fast, resets ids)."""
    names = ", ".join(f'"{table.name}"' for table in db.metadata.sorted_tables)
    with db.engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def csrf_token(html: str) -> str:
    """The CSRF token of the first form in ``html``."""
    match = CSRF_PATTERN.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1)


@pytest.fixture(name="csrf_token")
def csrf_token_fixture():
    return csrf_token


@pytest.fixture
def make_user(app):
    def make(username: str, role: str, password: str = PASSWORD, expert_ref: str | None = None):
        from web.services.accounts import create_user

        with app.app_context():
            user = create_user(username, role, password, expert_ref=expert_ref, actor=None)
            db.session.commit()
            db.session.refresh(user)
            db.session.expunge(user)
            return user

    return make


class AuthActions:
    """Log in and out through the real forms, CSRF tokens included."""

    password = PASSWORD

    def __init__(self, client, make_user):
        self._client = client
        self._make_user = make_user
        self._created: set[str] = set()

    def login(self, role: str = "organizer", *, username: str | None = None, password: str = PASSWORD,
              expert_ref: str | None = None):
        if username is None:
            username = role
            if username not in self._created:
                self._make_user(username, role, expert_ref=expert_ref)
                self._created.add(username)
        page = self._client.get("/login")
        return self._client.post("/login", data={
            "username": username, "password": password, "csrf_token": csrf_token(page.get_data(as_text=True)),
        })

    def logout(self):
        page = self._client.get("/", follow_redirects=True)
        return self._client.post("/logout", data={"csrf_token": csrf_token(page.get_data(as_text=True))})


@pytest.fixture
def auth(client, make_user):
    return AuthActions(client, make_user)


@pytest.fixture
def table_counts(app):
    def counts() -> dict[str, int]:
        with app.app_context():
            return {table.name: db.session.scalar(select(func.count()).select_from(table))
                    for table in db.metadata.sorted_tables if table.name not in CACHE_TABLES}

    return counts


def uscc(number: int, division: str = "310115") -> str:
    """A valid USCC: registered by the market regulator (9), enterprise (1), ``division``, a made-up number."""
    body = f"91{division}{number:09d}"
    return body + check_character(body)


@pytest.fixture(name="uscc")
def uscc_fixture():
    return uscc


def _person(name, **extra):
    return {"name": name, **extra}


def _registration(seed: int, name_hint: str) -> dict:
    return {
        "registered_on": date(2019, 5, 20), "registered_capital": 5000.0, "foreign_share_pct": 10.0,
        "registered_address": f"上海市浦东新区张江路{seed}号", "registered_postcode": "201203",
        "contact_address": f"上海市浦东新区科苑路{seed}号", "contact_postcode": "201203",
        "legal_rep": _person(f"{name_hint}法人", phone="13812345678", email=f"rep{seed}@example.com",
                             id_type="身份证", id_number="310101198001011234"),
        "contact": _person(f"{name_hint}联系人", post="办公室主任", mobile="13912345678",
                           email=f"contact{seed}@example.com"),
        "economic_type": "private", "economic_type_other": None,
    }


def _enterprise_member() -> dict:
    return {
        "role": "initiating", "kind": "enterprise", "name": "上海智造装备股份有限公司", "uscc": uscc(2),
        "parent": "智造集团有限公司", **_registration(2, "智造"),
        "employees": 850, "rd_staff": 210, "total_assets": 120000.0, "fixed_assets": 45000.0,
        "debt_ratio_pct": 42.5, "after_tax_profit": -320.5,
        "finances": [{"year": 2017, "sales": 80000.0, "rd_investment": 6000.0},
                     {"year": 2018, "sales": 86000.0, "rd_investment": 6800.0},
                     {"year": 2019, "sales": 91000.5, "rd_investment": 7300.0}],
        "rd_institutions": ["enterprise_tech_center", "other"], "rd_institutions_other": "博士后工作站",
        "ip": {"invention_applied": 120, "invention_granted": 64, "utility_applied": 200, "utility_granted": 180,
               "software_copyrights": 35, "ic_layouts": 2},
        "top_shareholders": [{"name": "智造集团有限公司", "share_pct": 51.0},
                             {"name": "上海国投", "share_pct": 20.0}],
        "main_business": "工业机器人及智能产线", "market_share_pct": 8.0,
        "team_lead": {"name": None, "department": None, "title": None, "phone": None, "email": None},
        "team_contact": {"name": None, "fax": None, "phone": None, "email": None},
        "team_description": None, "lead_bio": None, "team_members": [], "current_projects": None,
        "main_results": None,
    }


def _institute_member() -> dict:
    empty_registration = {key: None for key in _registration(0, "")}
    empty_registration["legal_rep"] = {key: None for key in ("name", "phone", "email", "id_type", "id_number")}
    empty_registration["contact"] = {key: None for key in ("name", "post", "mobile", "email")}
    return {
        "role": "participating", "kind": "institute", "name": "上海理工研究院", "uscc": uscc(3, "310104"),
        "parent": None, **empty_registration,
        "employees": None, "rd_staff": None, "total_assets": None, "fixed_assets": None, "debt_ratio_pct": None,
        "after_tax_profit": None, "finances": [], "rd_institutions": [], "rd_institutions_other": None,
        "ip": {key: None for key in ("invention_applied", "invention_granted", "utility_applied",
                                     "utility_granted", "software_copyrights", "ic_layouts")},
        "top_shareholders": [], "main_business": None, "market_share_pct": None,
        "team_lead": {"name": "王教授", "department": "机械工程学院", "title": "教授/院长",
                      "phone": "021-65431234", "email": "wang@example.edu.cn"},
        "team_contact": {"name": "李老师", "fax": "021-65439999", "phone": "13700001111",
                         "email": "li@example.edu.cn"},
        "team_description": "团队长期从事智能制造装备研究。", "lead_bio": "王教授，博士生导师。",
        "team_members": [
            {"name": "赵研究员", "title": "研究员", "research_direction": "数字孪生", "phone": "13600002222"},
            {"name": "钱副教授", "title": "副教授", "research_direction": "工业视觉", "phone": None},
        ],
        "current_projects": "国家重点研发计划项目一项。", "main_results": "发表论文50篇，授权专利30项。",
    }


def application_record(ref: str = "APP-001", **overrides) -> dict:
    """A complete, valid application record (see the module docstring)."""
    record = {
        "ref": ref, "center_name": "上海智能制造创新中心", "field": "EQP-SM", "submitted_on": date(2020, 10, 15),
        "bearer": {"name": "上海智能制造创新中心有限公司", "uscc": uscc(1), **_registration(1, "承担"),
                   "shareholders": [{"name": "上海智造装备股份有限公司", "share_pct": 60.0},
                                    {"name": "上海理工研究院", "share_pct": 40.0}]},
        "members": [_enterprise_member(), _institute_member()],
        "leads": {
            "initiator": {"name": "张总", "mobile": "13800001111", "post": "董事长", "email": "zhang@example.com"},
            "rd_team": {"name": "王教授", "mobile": "13800002222", "post": "首席科学家", "email": "wang@example.com"},
            "daily_contact": {"name": "陈经理", "mobile": "13800003333", "post": "项目经理",
                              "email": "chen@example.com"},
        },
        "expected_results": ["patent", "standard", "product"],
        "expected_ip": {"foreign_invention": 5, "domestic_invention": 40, "other": 12},
        "expected_standards": ["national", "industry"],
        "construction_content": "建设智能制造共性技术研发平台，攻关工业软件与智能装备关键技术。",
        "applicant_opinion": "同意申报，所填内容真实。", "applicant_opinion_on": date(2020, 10, 12),
        "plan": {key: f"{key} 部分的说明。" for key in (
            "necessity", "goals", "technical_route", "ip_and_standards", "market", "foundation", "operations",
            "staff", "leaders", "organization", "investment", "risks")},
        "excluded_experts": ["EXP-009"],
        "attachments": [
            {"kind": "business_licence", "filename": "营业执照.pdf", "sha256": "ab" * 32},
            {"kind": "audited_financials", "filename": "2019审计报告.pdf", "sha256": None},
            {"kind": "cooperation_agreement", "filename": "合作协议.pdf", "sha256": None},
            {"kind": "bylaws", "filename": "中心章程.pdf", "sha256": None},
            {"kind": "qualification", "filename": "资质证明.pdf", "sha256": None},
        ],
    }
    record.update(copy.deepcopy(overrides))
    return record


def expert_record(ref: str = "EXP-001", **overrides) -> dict:
    """A complete, valid expert record (see the module docstring)."""
    record = {
        "ref": ref, "name": "周专家", "pool": "technology", "title": "教授级高工",
        "organization": {"name": "上海交通装备研究所", "uscc": uscc(7, "310110"), "parent": "上海装备集团"},
        "fields": ["EQP-SM", "DIG-II"],
        "profile": "长期从事智能制造与工业互联网研究，主持国家级项目多项。",
        "past_affiliations": [{"name": "上海智造装备股份有限公司", "uscc": uscc(2), "from": date(2010, 1, 1),
                               "until": date(2018, 6, 30)}],
        "roles": [{"organization": "上海某科技有限公司", "uscc": uscc(8), "role": "director",
                   "until": date(2019, 12, 31)}],
        "declared": [{"kind": "collaboration", "person": None, "organization": "上海理工研究院",
                      "uscc": uscc(3, "310104"), "application": None, "until": date(2020, 3, 1),
                      "note": "联合承担课题"},
                     {"kind": "drafted", "person": None, "organization": None, "uscc": None,
                      "application": "APP-002", "until": None, "note": None}],
        "max_load": 6, "email": "zhou@example.com", "mobile": "13911112222", "available": True,
    }
    record.update(copy.deepcopy(overrides))
    return record


@pytest.fixture
def make_application_record():
    return application_record


@pytest.fixture
def make_expert_record():
    return expert_record
