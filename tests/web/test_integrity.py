"""Integrity: one unit of work per request, serialized sheets, refusals instead of 500s, the append-only audit
table, engine settings. The same tests run on SQLite and, with PANEL_TEST_DATABASE_URL, on PostgreSQL."""

from __future__ import annotations

import csv
import io
import threading

import pytest
from sqlalchemy import func, select, text

from tests.web.test_expert_views import declare, login, seat_id, sheet_form
from tests.web.test_sheets_fixtures import full_values, sheet_of, world_fixture  # noqa: F401  (the world fixture)
from web.extensions import db
from web.models import AuditEvent, ScoreSheet, User

LOCKED = "评分表已提交并锁定"
CONTROL = "不能包含控制字符"


def events(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)
                                       .order_by(AuditEvent.id)))


def submitted_values(app, world) -> dict[str, float]:
    with app.app_context():
        return {code: f"{value:g}" for code, value in full_values(world.round()).items()}


# ---------------------------------------------------------------- serialized sheets

def test_a_save_after_submit_is_a_409_with_the_sentence_and_the_typed_draft(client, auth, world, app, csrf_token):
    seat = seat_id(app, world, "EXP-A", "APP-001")
    login(client, auth, "expert_a")
    client.get("/expert/?lang=zh_Hans_CN")
    declare(client, csrf_token, seat)
    values = submitted_values(app, world)
    assert sheet_form(client, csrf_token, seat, values, action="submit", confirmed="yes",
                      opinion="recommend").status_code == 302
    with app.app_context():
        stored = sheet_of(world, "EXP-A", "APP-001").total
    response = client.post(f"/expert/seats/{seat}/sheet", data={
        "csrf_token": csrf_token(client.get("/expert/").get_data(as_text=True)), "action": "save",
        "score-goals": "1", "comment": "我的新意见还在"})
    page = response.get_data(as_text=True)
    assert response.status_code == 409 and LOCKED in page and "我的新意见还在" in page
    with app.app_context():
        assert sheet_of(world, "EXP-A", "APP-001").total == stored


def test_the_api_answers_409_when_the_sheet_was_submitted(app, client, world, make_user):
    from web.services.tokens import create_token

    seat = seat_id(app, world, "EXP-A", "APP-001")
    with app.app_context():
        from web.services import sheets

        assignment = world.seat("EXP-A", "APP-001")
        sheet = sheets.declare(assignment, conflict=False, reason=None, actor=None)
        sheets.save_draft(sheet, full_values(world.round()), opinion="recommend", actor=None)
        sheets.submit(sheet, confirmed=True, actor=None)
        expert_a = db.session.scalar(select(User).where(User.username == "expert_a"))
        token = create_token(expert_a, "test", actor=None)
        sheet_id = sheet.id
    assert seat
    response = client.put(f"/api/v1/sheets/{sheet_id}", json={"values": {"goals": 1}},
                          headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 409 and LOCKED in response.get_json()["error"]


def test_a_double_declaration_is_one_declaration(client, auth, world, app, csrf_token):
    seat = seat_id(app, world, "EXP-A", "APP-001")
    login(client, auth, "expert_a")
    page = client.get(f"/expert/seats/{seat}/declare").get_data(as_text=True)
    token = csrf_token(page)
    first = client.post(f"/expert/seats/{seat}/declare", data={"csrf_token": token, "conflict": "no"})
    again = client.post(f"/expert/seats/{seat}/declare", data={"csrf_token": token, "conflict": "no"})
    assert first.status_code == again.status_code == 302
    other = client.post(f"/expert/seats/{seat}/declare", data={"csrf_token": token, "conflict": "yes",
                                                               "reason": "回避"})
    assert other.status_code in (302, 409)            # the page sends a declared expert on to the sheet
    assert len(events(app, "sheet.declare")) == 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ScoreSheet)) == 1


def test_sheet_for_creates_one_row_when_asked_twice(app, world):
    from web.services import sheets

    with app.app_context():
        seat = world.seat("EXP-A", "APP-001")
        first = sheets.sheet_for(seat.version.round, seat.application, seat.expert)
        second = sheets.sheet_for(seat.version.round, seat.application, seat.expert)
        assert first.id == second.id


def test_only_a_seated_expert_writes_a_sheet(app, world):
    from web.services import sheets

    with app.app_context():
        seat = world.seat("EXP-A", "APP-001")
        sheet = sheets.declare(seat, conflict=False, reason=None, actor=None)
        seat.state = "declined"
        with pytest.raises(sheets.SheetError):
            sheets.save_draft(sheet, {"goals": "1"}, actor=None)
        assert not sheets.holds_seat(sheet)


def post_together(clients, url: str, forms: list[dict]) -> list[int]:
    """POST each form with its client from its own thread, all released at once; the statuses."""
    barrier, statuses = threading.Barrier(len(clients)), [0] * len(clients)

    def post(index: int) -> None:
        barrier.wait()
        statuses[index] = clients[index].post(url, data=forms[index]).status_code

    threads = [threading.Thread(target=post, args=(index,)) for index in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


@pytest.mark.slow
def test_two_submits_at_once_store_exactly_one_of_them(app, world, make_user, csrf_token):
    """Two browsers of expert A submit different values at the same moment, ten times over."""
    seat = seat_id(app, world, "EXP-A", "APP-001")
    values = submitted_values(app, world)
    codes = list(values)
    clients = [app.test_client() for _ in range(2)]
    for client in clients:
        client.post("/login", data={"username": "expert_a", "password": "correct horse 42",
                                    "csrf_token": csrf_token(client.get("/login").get_data(as_text=True))})
    declare(clients[0], csrf_token, seat)
    for trial in range(10):
        versions = [dict(values, **{codes[0]: "1"}), dict(values, **{codes[0]: "2"})]
        forms = [{"csrf_token": csrf_token(client.get(f"/expert/seats/{seat}/sheet").get_data(as_text=True)),
                  "action": "submit", "confirmed": "yes", "opinion": "recommend",
                  **{f"score-{code}": value for code, value in version.items()}}
                 for client, version in zip(clients, versions, strict=True)]
        statuses = post_together(clients, f"/expert/seats/{seat}/sheet", forms)
        assert sorted(statuses) in ([302, 409], [302, 302]), statuses
        with app.app_context():
            sheet = sheet_of(world, "EXP-A", "APP-001")
            stored = {score.criterion.code: f"{score.value:g}" for score in sheet.scores}
            assert sheet.state == "submitted" and stored in versions
            submits = [event for event in events(app, "sheet.submit") if event.entity_id == str(sheet.id)]
            assert submits[-1].after["scores"] == {code: float(value) for code, value in stored.items()}
            from web.services import sheets

            sheets.reopen(sheet, f"trial {trial}", actor=None)


# ---------------------------------------------------------------- one unit of work

def test_a_refused_request_changes_nothing(client, auth, app, table_counts, csrf_token):
    auth.login("organizer")
    before = table_counts()
    page = client.get("/rounds/new").get_data(as_text=True)
    response = client.post("/rounds/new", data={"csrf_token": csrf_token(page), "name": "", "kind": "nope"})
    assert response.status_code == 400
    assert table_counts() == before


def test_a_view_that_fails_rolls_back_what_the_service_flushed(app, client, auth, monkeypatch):
    """A 500 after a service flushed: the flushed rows are gone (the request is one transaction)."""
    from web.services import accounts

    auth.login("admin")
    page = client.get("/admin/users").get_data(as_text=True)
    original = accounts.create_user

    def create_then_fail(*args, **kwargs):
        original(*args, **kwargs)
        raise RuntimeError("after the flush")

    monkeypatch.setattr("web.blueprints.admin.views.create_user", create_then_fail)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    from tests.web.conftest import csrf_token as token_of

    response = client.post("/admin/users", data={"csrf_token": token_of(page), "username": "ghost",
                                                 "role": "organizer", "password": "long enough 1"})
    assert response.status_code == 500
    with app.app_context():
        assert db.session.scalar(select(User).where(User.username == "ghost")) is None


# ---------------------------------------------------------------- the audit table is append-only

def test_plain_sql_cannot_change_or_delete_an_audit_event(app, auth):
    auth.login("organizer")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)) > 0
        for statement in ("UPDATE audit_event SET action = 'forged'", "DELETE FROM audit_event"):
            with pytest.raises(Exception, match="append-only"), db.engine.begin() as connection:
                connection.execute(text(statement))
        assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "forged")) == 0


def test_logout_is_audited(client, auth, app):
    auth.login("organizer")
    auth.logout()
    logged = events(app, "user.logout")
    assert len(logged) == 1 and logged[0].actor_name == "organizer"


# ---------------------------------------------------------------- bad input: a refusal, never a 500

def test_a_nul_in_a_username_or_an_audit_filter_is_a_400_in_chinese(client, auth, csrf_token):
    page = client.get("/login").get_data(as_text=True)
    response = client.post("/login", data={"csrf_token": csrf_token(page), "username": "adm\x00in",
                                           "password": "x"})
    assert response.status_code == 400 and CONTROL in response.get_data(as_text=True)
    auth.login("admin")
    for url in ("/admin/audit?actor=a%00b", "/admin/audit.csv?action=%01", "/records/applications/A%00"):
        response = client.get(url)
        assert response.status_code == 400 and CONTROL in response.get_data(as_text=True), url


def test_a_nul_in_a_sheet_comment_keeps_the_draft_on_the_page(client, auth, world, app, csrf_token):
    seat = seat_id(app, world, "EXP-A", "APP-001")
    login(client, auth, "expert_a")
    client.get("/expert/?lang=zh_Hans_CN")
    declare(client, csrf_token, seat)
    response = sheet_form(client, csrf_token, seat, {"goals": "5"}, comment="写了很久的意见\x00")
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and CONTROL in page and "写了很久的意见" in page
    token = csrf_token(client.get("/expert/").get_data(as_text=True))
    response = client.post(f"/expert/seats/{seat}/sheet/autosave", data={"comment": "\x00"},
                           headers={"X-CSRFToken": token})
    assert response.status_code == 400 and CONTROL in response.get_json()["errors"][0]
    with app.app_context():
        assert sheet_of(world, "EXP-A", "APP-001").comment is None


def test_a_nul_in_a_recusal_or_decline_reason_is_refused_beside_what_was_typed(client, auth, world, app,
                                                                             csrf_token):
    seat = seat_id(app, world, "EXP-A", "APP-001")
    login(client, auth, "expert_a")
    client.get("/expert/?lang=zh_Hans_CN")
    for page in (f"/expert/seats/{seat}/declare", f"/expert/seats/{seat}/decline"):
        token = csrf_token(client.get(page).get_data(as_text=True))
        answer = client.post(page, data={"csrf_token": token, "conflict": "yes", "reason": "与申报单位\x00有合作"})
        shown = answer.get_data(as_text=True)
        assert answer.status_code in (400, 422) and CONTROL in shown and "与申报单位" in shown, page
    assert events(app, "sheet.declare") == [] and events(app, "assignment.decline") == []


def test_tab_and_newline_stay_allowed_in_a_comment(client, auth, world, app, csrf_token):
    seat = seat_id(app, world, "EXP-A", "APP-001")
    login(client, auth, "expert_a")
    declare(client, csrf_token, seat)
    assert sheet_form(client, csrf_token, seat, {}, comment="第一行\n\t第二行").status_code == 302


def test_ids_beyond_a_database_integer_are_404_and_pages_are_ignored(client, auth):
    auth.login("admin")
    for url in ("/rounds/99999999999999999999", "/admin/users/99999999999999999999/unlock"):
        assert client.get(url).status_code in (404, 405)
    assert client.get("/rounds/99999999999999999999").status_code == 404
    assert client.get("/admin/audit?page=99999999999999999999").status_code == 200
    assert client.get("/invitations/outbox?round=99999999999999999999").status_code == 200


def test_numbers_and_dates_at_the_edges_of_what_python_reads_are_answered_not_500(client, auth, world, app):
    with app.app_context():
        round_id = world.round().id
    auth.login("admin")
    page = client.get(f"/rankings/rounds/{round_id}?capacity=%C2%B2&lang=zh_Hans_CN")    # "²": a digit, not int
    assert page.status_code == 200 and "名额 k 须为不小于 1 的整数" in page.get_data(as_text=True)
    assert client.get(f"/rankings/rounds/{round_id}/export.xlsx?capacity=%C2%B2").status_code == 200
    everything = "since=0001-01-01&until=9999-12-31"          # the calendar's ends, in Shanghai and in UTC
    assert client.get(f"/admin/audit?{everything}").status_code == 200
    rows = client.get(f"/admin/audit.json?{everything}").get_json()
    assert len(rows) == len(client.get("/admin/audit.json").get_json()) > 0
    assert client.get("/admin/audit.json?since=9999-12-31").get_json() == []


def declared_sheet_with_token(app, world) -> tuple[int, str]:
    """EXP-A's declared sheet on APP-001 and an API token of expert_a, for a request to the sheet's API."""
    from web.services import sheets
    from web.services.tokens import create_token

    with app.app_context():
        sheet = sheets.declare(world.seat("EXP-A", "APP-001"), conflict=False, reason=None, actor=None)
        expert_a = db.session.scalar(select(User).where(User.username == "expert_a"))
        token = create_token(expert_a, "test", actor=None)
        db.session.commit()
        return sheet.id, token


def test_a_json_integer_too_large_for_a_float_is_refused_in_chinese(app, client, world):
    sheet_id, token = declared_sheet_with_token(app, world)
    huge = "1" + "0" * 400                                    # float(10**400) raises; 1e400 reads as infinity
    response = client.put(f"/api/v1/sheets/{sheet_id}", data=f'{{"values": {{"goals": {huge}}}}}',
                          headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                                   "Accept-Language": "zh-CN"})
    assert response.status_code == 422 and "不是数字" in response.get_json()["errors"][0]
    with app.app_context():
        assert sheet_of(world, "EXP-A", "APP-001").scores == []


def test_json_nested_thousands_deep_is_refused_as_invalid_not_a_500(app, client, world, runner, tmp_path):
    from web.commands.data import import_command

    sheet_id, token = declared_sheet_with_token(app, world)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    for body in ("[" * 50_000 + "]" * 50_000, '{"values": ' * 40 + "{}" + "}" * 40):   # the parser's limit; ours
        answer = client.put(f"/api/v1/sheets/{sheet_id}", data=body, headers=headers)
        assert answer.status_code == 400 and answer.get_json()["code"] == "invalid_json"
        assert answer.get_json()["error"] == "请求内容不是有效的 JSON。"
    path = tmp_path / "deep.json"
    path.write_text("[" * 50_000 + "]" * 50_000, encoding="utf-8")
    result = runner.invoke(import_command, ["applications", str(path)])
    assert result.exit_code == 1 and "not valid JSON: nested too deeply" in result.stderr


def test_messages_for_the_next_page_are_cut_to_what_a_cookie_carries(app):
    from web.flashes import BUDGET, within_budget

    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        one_long = within_budget([("error", "没有申报编号为 " + "、".join(f"Z{n:05d}" for n in range(3000)) + " 的申报书。")])
        many = within_budget([("error", f"第 {n} 行：找不到申报编号。") for n in range(2, 5002)])
    assert len(one_long) == 1 and len(one_long[0][1]) == BUDGET and one_long[0][1].endswith("…")
    assert sum(len(text) for _, text in many[:-1]) <= BUDGET and many[0][1] == "第 2 行：找不到申报编号。"
    assert many[-1] == ("error", f"…… 另有 {5000 - len(many) + 1} 条消息")


def test_audit_csv_cells_are_never_formulas(client, auth, make_user):
    make_user("=HYPERLINK(1)", "admin")
    auth.login(username="=HYPERLINK(1)")
    body = client.get("/admin/audit.csv").get_data().decode("utf-8-sig")
    cells = [cell for row in csv.reader(io.StringIO(body)) for cell in row]
    assert "'=HYPERLINK(1)" in body
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in cells)


# ---------------------------------------------------------------- engine settings

def test_sqlite_runs_in_wal_with_a_busy_timeout(app):
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite only")
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000


def test_a_connection_ended_by_postgresql_is_replaced_not_a_500(app, client, auth):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL only (PANEL_TEST_DATABASE_URL)")
    auth.login("organizer")
    assert client.get("/rounds/").status_code == 200
    with app.app_context():
        other = db.engine.url.set(drivername="postgresql+psycopg")
        from sqlalchemy import create_engine

        killer = create_engine(other)
        with killer.begin() as connection:
            ended = connection.execute(text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar()
        killer.dispose()
    assert ended >= 1
    assert client.get("/rounds/").status_code == 200


def test_the_records_csv_never_holds_a_formula_and_reads_back_the_same(tmp_path, make_application_record):
    from tests.web.test_io import read_and_validate
    from web.io.files import csv_bytes

    records = [make_application_record("APP-001", center_name='=HYPERLINK("https://evil.example")创新中心')]
    data = csv_bytes("applications", records)
    header, row = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert row[header.index("中心名称")].startswith("'=HYPERLINK")
    path = tmp_path / "applications.csv"
    path.write_bytes(data)
    assert read_and_validate(path, "applications") == records


def test_a_row_is_locked_once_per_transaction_and_again_after_a_savepoint_or_commit(app, make_user):
    """lock_row skips a row its transaction already holds, and only that: a new transaction, or a savepoint that
    was rolled back (which releases its locks on PostgreSQL), locks the row again."""
    from sqlalchemy import event

    from web.database import lock_row

    make_user("holder", "organizer")
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.username == "holder"))
        db.session.commit()
        locks: list[str] = []

        def count(_connection, _cursor, statement, *_args) -> None:
            if "FOR UPDATE" in statement or statement.lstrip().upper().startswith("UPDATE USERS"):
                locks.append(statement)

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            lock_row(User, user_id)
            lock_row(User, user_id)
            assert len(locks) == 1                                  # held: not locked again
            savepoint = db.session.begin_nested()
            lock_row(User, user_id)
            savepoint.rollback()
            lock_row(User, user_id)
            assert len(locks) == 3                                  # in the savepoint, and after its rollback
            db.session.commit()
            lock_row(User, user_id)
            assert len(locks) == 4                                  # a new transaction locks afresh
            db.session.rollback()
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
