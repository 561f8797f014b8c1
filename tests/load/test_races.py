"""Races between two gunicorn servers sharing one PostgreSQL database (issue: integrity under load).

Two ``gunicorn --worker-class gthread`` processes serve the same app on two ports of 127.0.0.1; experts log in on
the first and save or submit on either. Each race runs TRIALS times with threads released together:

- two submits of different values — the sheet holds exactly one of them, the other request gets 409;
- an autosave racing a submit — the submitted values win, the autosave is stored before it or refused;
- an API write racing a form submit — the same;
- a submit racing the organizer's reopen — submitted with the new values, or reopened with the old ones;
- a double-clicked declaration — one sheet, one audit event, both clicks answered without an error.

After every trial the database equals exactly one outcome, the newest audit event of the sheet describes that
state, and no request answered 500. Runs only with PANEL_TEST_DATABASE_URL (a database it may wipe) and gunicorn.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import date
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import select, text

DATABASE_URL = os.environ.get("PANEL_TEST_DATABASE_URL")
TRIALS = 20
REQUEST_TIMEOUT = 30          # seconds; a request slower than this fails the test instead of hanging it
PASSWORD = "correct horse 42"
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not DATABASE_URL, reason="needs PANEL_TEST_DATABASE_URL (a PostgreSQL database to wipe)"),
    pytest.mark.skipif(importlib.util.find_spec("gunicorn") is None, reason="needs gunicorn"),
]


# ---------------------------------------------------------------- a browser without a browser

class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """One person's cookies, sent to whichever server is asked (both share the secret key)."""

    opener = urllib.request.build_opener(NoRedirect())

    def __init__(self) -> None:
        self.cookies: dict[str, str] = {}
        self.token = ""

    def call(self, method: str, url: str, *, form: dict | None = None, body: dict | None = None,
             headers: dict | None = None) -> tuple[int, str]:
        headers = dict(headers or {})
        data = None
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            response = self.opener.open(request, timeout=REQUEST_TIMEOUT)
        except urllib.error.HTTPError as error:
            response = error
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        return response.status, response.read().decode("utf-8", "replace")

    def login(self, server: str, username: str) -> None:
        status, page = self.call("GET", f"{server}/login")
        status, _ = self.call("POST", f"{server}/login", form={
            "csrf_token": CSRF.search(page).group(1), "username": username, "password": PASSWORD})
        assert status == 302, f"login of {username} answered {status}"

    def token_from(self, url: str) -> str:
        status, page = self.call("GET", url)
        assert status == 200, (url, status)
        self.token = CSRF.search(page).group(1)
        return self.token


def together(*calls) -> list:
    """Run the calls in threads released at the same moment; their results in order."""
    barrier, results = threading.Barrier(len(calls)), [None] * len(calls)

    def run(index: int) -> None:
        barrier.wait()
        results[index] = calls[index]()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(REQUEST_TIMEOUT * 2)
    return results


# ---------------------------------------------------------------- two servers on one database

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def make_user(app, username: str, role: str, expert_ref: str | None = None):
    from web.extensions import db
    from web.services.accounts import create_user

    with app.app_context():
        create_user(username, role, PASSWORD, expert_ref=expert_ref, actor=None)
        db.session.commit()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The world of tests/web (a round in scoring, experts A and B on APP-001) on PostgreSQL, served twice."""
    from flask_migrate import upgrade

    from tests.web.conftest import application_record, expert_record
    from tests.web.test_sheets_fixtures import build_world
    from web import create_app
    from web.extensions import db
    from web.services.reference_data import seed_reference_data
    from web.services.tokens import create_token

    instance = tmp_path_factory.mktemp("load_instance")
    secret = secrets.token_hex(32)
    app = create_app({"INSTANCE_PATH": str(instance), "SQLALCHEMY_DATABASE_URI": DATABASE_URL,
                      "SECRET_KEY": secret})
    with app.app_context():
        with db.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        upgrade()
        seed_reference_data()
        db.session.commit()
    world = build_world(app, lambda username, role, expert_ref=None: make_user(app, username, role, expert_ref),
                        deadline=date(2099, 1, 1), application_record=application_record,
                        expert_record=expert_record)
    with app.app_context():
        from web.models import User

        expert_a = db.session.scalar(select(User).where(User.username == "expert_a"))
        api_token = create_token(expert_a, "load test", actor=None)
        db.session.commit()
    environment = {**os.environ, "PANEL_DATABASE_URL": DATABASE_URL, "PANEL_SECRET_KEY": secret,
                   "PANEL_INSTANCE_PATH": str(instance), "PYTHONPATH": str(Path(__file__).parents[2])}
    servers, processes = [], []
    for _ in range(2):
        port = free_port()
        servers.append(f"http://127.0.0.1:{port}")
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--worker-class", "gthread", "--workers", "2", "--threads", "4",
             "--bind", f"127.0.0.1:{port}", "--timeout", "60", "--log-level", "warning", "web:create_app()"],
            env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
    try:
        for server in servers:
            wait_until_up(server)
        yield {"app": app, "world": world, "servers": servers, "api_token": api_token}
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        with app.app_context():
            db.engine.dispose()


def wait_until_up(server: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{server}/login", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"{server} did not start within {seconds} s")


# ---------------------------------------------------------------- reading and resetting the database

def sheet_state(site, expert_ref: str = "EXP-A") -> dict | None:
    """The sheet of ``expert_ref`` on APP-001: state, scores and the sheet id (None before the declaration)."""
    from web.services import sheets

    with site["app"].app_context():
        seat = site["world"].seat(expert_ref, "APP-001")
        sheet = sheets.seat_sheet(seat)
        if sheet is None:
            return None
        return {"id": sheet.id, "state": sheet.state, "seat": seat.id,
                "scores": {score.criterion.code: score.value for score in sheet.scores}}


def audit_after(site, mark: int, sheet_id: int) -> list:
    from web.extensions import db
    from web.models import AuditEvent

    with site["app"].app_context():
        return [(event.action, event.after) for event in db.session.scalars(
            select(AuditEvent).where(AuditEvent.id > mark, AuditEvent.entity_type == "score_sheet",
                                     AuditEvent.entity_id == str(sheet_id)).order_by(AuditEvent.id))]


def audit_mark(site) -> int:
    from sqlalchemy import func

    from web.extensions import db
    from web.models import AuditEvent

    with site["app"].app_context():
        return db.session.scalar(select(func.coalesce(func.max(AuditEvent.id), 0)))


def put_sheet(site, values: dict[str, float], state: str) -> None:
    """Bring expert A's sheet to ``state`` (draft or submitted) holding ``values``, through the services."""
    from web.extensions import db
    from web.services import sheets

    with site["app"].app_context():
        seat = site["world"].seat("EXP-A", "APP-001")
        sheet = sheets.seat_sheet(seat) or sheets.declare(seat, conflict=False, reason=None, actor=None)
        if sheet.state == "submitted":
            sheets.reopen(sheet, "load test: next trial", actor=None)
        sheets.save_draft(sheet, values, opinion="recommend", actor=None)
        if state == "submitted":
            sheets.submit(sheet, confirmed=True, actor=None)
        db.session.commit()


def full_values(site) -> dict[str, float]:
    from tests.web.test_sheets_fixtures import full_values as values_of
    from web.extensions import db

    with site["app"].app_context():
        values = values_of(site["world"].round())
        db.session.remove()
        return values


def variant(values: dict[str, float], first: float) -> dict[str, float]:
    code = next(iter(values))
    return {**values, code: first}


def form_of(values: dict[str, float], token: str, action: str) -> dict:
    """The sheet form; a submit is the confirmed one (the confirmation step's answer)."""
    confirmed = {"confirmed": "yes"} if action == "submit" else {}
    return {"csrf_token": token, "action": action, "opinion": "recommend", **confirmed,
            **{f"score-{code}": f"{value:g}" for code, value in values.items()}}


def stored_matches(after: dict, values: dict[str, float]) -> bool:
    return {code: float(value) for code, value in after["scores"].items()} == values


# ---------------------------------------------------------------- the races

@pytest.fixture(scope="module")
def experts(site):
    """Two browsers of expert A and one of the organizer, logged in on the first server."""
    first = site["servers"][0]
    browsers = {"a1": Browser(), "a2": Browser(), "organizer": Browser()}
    browsers["a1"].login(first, "expert_a")
    browsers["a2"].login(first, "expert_a")
    browsers["organizer"].login(first, "organizer")
    put_sheet(site, full_values(site), "draft")
    seat = sheet_state(site)["seat"]
    for name in ("a1", "a2"):
        browsers[name].token_from(f"{first}/expert/seats/{seat}/sheet")
    return browsers


def test_two_submits_with_different_values_store_exactly_one(site, experts):
    one, two = site["servers"]
    values = full_values(site)
    for trial in range(TRIALS):
        put_sheet(site, values, "draft")
        sheet, mark = sheet_state(site), audit_mark(site)
        url = "/expert/seats/{}/sheet".format(sheet["seat"])
        versions = [variant(values, 1), variant(values, 2)]
        statuses = [status for status, _ in together(
            partial(experts["a1"].call, "POST", one + url, form=form_of(versions[0], experts["a1"].token, "submit")),
            partial(experts["a2"].call, "POST", two + url, form=form_of(versions[1], experts["a2"].token, "submit")))]
        assert 302 in statuses and set(statuses) <= {302, 409}, (trial, statuses)
        after = sheet_state(site)
        assert after["state"] == "submitted" and after["scores"] in versions, trial
        events = audit_after(site, mark, sheet["id"])
        assert [action for action, _ in events].count("sheet.submit") == 1, (trial, events)
        assert events[-1][0] == "sheet.submit" and stored_matches(events[-1][1], after["scores"]), trial


def test_an_autosave_racing_a_submit_never_changes_the_submitted_sheet(site, experts):
    one, two = site["servers"]
    values = full_values(site)
    for trial in range(TRIALS):
        put_sheet(site, values, "draft")
        sheet, mark = sheet_state(site), audit_mark(site)
        base = "/expert/seats/{}/sheet".format(sheet["seat"])
        draft, final = variant(values, 1), variant(values, 2)
        autosave = form_of(draft, experts["a2"].token, "save")
        (saved, _), (submitted, _) = together(
            partial(experts["a2"].call, "POST", two + base + "/autosave", form=autosave,
                                       headers={"X-CSRFToken": experts["a2"].token}),
            partial(experts["a1"].call, "POST", one + base, form=form_of(final, experts["a1"].token, "submit")))
        assert saved in (200, 409) and submitted == 302, (trial, saved, submitted)
        after = sheet_state(site)
        assert after["state"] == "submitted" and after["scores"] == final, trial
        events = audit_after(site, mark, sheet["id"])
        assert events[-1][0] == "sheet.submit" and stored_matches(events[-1][1], final), (trial, events)


def test_an_api_write_racing_a_form_submit_never_changes_the_submitted_sheet(site, experts):
    one, two = site["servers"]
    values = full_values(site)
    bearer = {"Authorization": f"Bearer {site['api_token']}"}
    for trial in range(TRIALS):
        put_sheet(site, values, "draft")
        sheet, mark = sheet_state(site), audit_mark(site)
        draft, final = variant(values, 1), variant(values, 2)
        (written, _), (submitted, _) = together(
            partial(Browser().call, "PUT", f"{two}/api/v1/sheets/{sheet['id']}", body={"values": draft},
                                   headers=bearer),
            partial(experts["a1"].call, "POST", "{}/expert/seats/{}/sheet".format(one, sheet["seat"]),
                                       form=form_of(final, experts["a1"].token, "submit")))
        assert written in (200, 409) and submitted == 302, (trial, written, submitted)
        after = sheet_state(site)
        assert after["state"] == "submitted" and after["scores"] == final, trial
        events = audit_after(site, mark, sheet["id"])
        assert events[-1][0] == "sheet.submit" and stored_matches(events[-1][1], final), (trial, events)


def test_a_submit_racing_a_reopen_leaves_one_of_two_outcomes(site, experts):
    one, two = site["servers"]
    values = full_values(site)
    organizer = experts["organizer"]
    for trial in range(TRIALS):
        put_sheet(site, values, "submitted")
        sheet, mark = sheet_state(site), audit_mark(site)
        reopen_url = f"{two}/invitations/sheets/{sheet['id']}/reopen"
        organizer_token = organizer.token_from(reopen_url)
        revised = variant(values, 1)
        (reopened, _), (submitted, _) = together(
            partial(organizer.call, "POST", reopen_url, form={"csrf_token": organizer_token, "reason": "请复核"}),
            partial(experts["a1"].call, "POST", "{}/expert/seats/{}/sheet".format(one, sheet["seat"]),
                                       form=form_of(revised, experts["a1"].token, "submit")))
        assert reopened == 302 and submitted in (302, 409), (trial, reopened, submitted)
        after = sheet_state(site)
        events = audit_after(site, mark, sheet["id"])
        if after["state"] == "submitted":
            assert after["scores"] == revised and events[-1][0] == "sheet.submit", (trial, events)
        else:
            assert after["state"] == "reopened" and after["scores"] == values, trial
            assert events[-1] == ("sheet.reopen", {"state": "reopened", "reopen_reason": "请复核"}), trial


def test_a_double_clicked_declaration_declares_once(site, experts):
    from web.extensions import db

    one, two = site["servers"]
    browser = Browser()
    browser.login(one, "expert_b")
    with site["app"].app_context():
        seat_id = site["world"].seat("EXP-B", "APP-001").id
    for trial in range(TRIALS):
        with site["app"].app_context():
            db.session.execute(text("DELETE FROM score WHERE sheet_id IN (SELECT id FROM score_sheet "
                                    "WHERE expert_id = (SELECT expert_id FROM assignment WHERE id = :seat))"),
                               {"seat": seat_id})
            db.session.execute(text("DELETE FROM score_sheet WHERE expert_id = "
                                    "(SELECT expert_id FROM assignment WHERE id = :seat)"), {"seat": seat_id})
            db.session.execute(text("UPDATE assignment SET state = 'proposed', responded_at = NULL "
                                    "WHERE id = :seat"), {"seat": seat_id})
            db.session.commit()
        mark = audit_mark(site)
        token = browser.token_from(f"{one}/expert/seats/{seat_id}/declare")
        url = f"/expert/seats/{seat_id}/declare"
        statuses = [status for status, _ in together(
            partial(browser.call, "POST", one + url, form={"csrf_token": token, "conflict": "no"}),
            partial(browser.call, "POST", two + url, form={"csrf_token": token, "conflict": "no"}))]
        assert statuses == [302, 302], (trial, statuses)
        sheet = sheet_state(site, "EXP-B")
        events = audit_after(site, mark, sheet["id"])
        assert [action for action, _ in events] == ["sheet.declare"], (trial, events)
