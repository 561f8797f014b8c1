"""The /api/v1 endpoints: bearer auth, roles and ownership, all-or-nothing imports, masking, sheets, ranking."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.web.test_chinese_pages import english_words
from tests.web.test_import_jobs import finished_job, only_the_job_was_recorded
from tests.web.test_route_matrix import World, world_fixture  # noqa: F401  (the world fixture)
from web.api.errors import ERROR_CODES, HTTP_CODES
from web.extensions import db
from web.models import Application, Assignment, AuditEvent, ScoreSheet


def bearer(world: World, account: str) -> dict:
    return {"Authorization": f"Bearer {world.tokens[account]}"}


def call(client, world, account, method, path, **kwargs):
    return client.open(f"/api/v1{path}", method=method, headers=bearer(world, account), **kwargs)


def chinese(text: str) -> bool:
    """A sentence in Chinese: Chinese characters and no English word beside the header and key names it quotes."""
    return bool(re.search("[\u4e00-\u9fff]", text)) and not english_words(text, ("Authorization", "values"))


# ---------------------------------------------------------------- authentication and refusals

@pytest.mark.parametrize("header", [None, "Basic b3JnOnB3", "Bearer", "Bearer not-a-token"])
def test_requests_without_a_live_token_get_401_as_json(client, world, header):
    response = client.get("/api/v1/rounds", headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    body = response.get_json()
    assert set(body) == {"code", "error", "errors"}
    assert body["code"] in ("authentication_required", "invalid_token") and chinese(body["error"])


def test_roles_and_ownership(client, world):
    assert call(client, world, "expert_a", "GET", "/applications").status_code == 403
    assert call(client, world, "organizer", "GET", "/sheets").status_code == 403
    assert call(client, world, "organizer", "PUT", f"/sheets/{world.sheets['expert_a']}", json={"values": {}}
                ).status_code == 403
    other = call(client, world, "expert_b", "GET", f"/sheets/{world.sheets['expert_a']}")
    assert other.status_code == 404 and other.get_json()["code"] == "not_found"
    assert other.get_json()["error"] == f"不存在编号为 {world.sheets['expert_a']} 的评分表。"
    assert call(client, world, "organizer", "GET", "/rounds/999").status_code == 404
    assert call(client, world, "organizer", "GET", "/applications/NOPE").status_code == 404
    unknown = call(client, world, "organizer", "GET", "/nothing/here")
    assert unknown.status_code == 404 and unknown.get_json()["code"] == "unknown_endpoint"
    role = call(client, world, "expert_a", "GET", "/applications").get_json()
    assert role["code"] == "role_not_allowed" and role["error"] == "此接口仅供组织方、管理员账户使用，专家账户不能使用。"



@pytest.mark.app_config(PROPAGATE_EXCEPTIONS=False)
def test_a_crash_is_answered_as_json_in_chinese(app, client, world):
    """The site answers a 500 with its HTML page; an API client must still get the JSON error body."""
    def crashing_view():
        raise RuntimeError("a bug")

    app.add_url_rule("/api/v1/crash", "api.crash", crashing_view)
    response = call(client, world, "organizer", "GET", "/crash")
    assert response.status_code == 500 and response.is_json
    body = response.get_json()
    assert body["code"] in ERROR_CODES and chinese(body["error"])

# ---------------------------------------------------------------- imports

def test_importing_applications_is_all_or_nothing_and_audited(app, client, world, make_application_record):
    records = [make_application_record("APP-101"), make_application_record("APP-102", field="ICT-IC")]
    response = call(client, world, "organizer", "POST", "/applications", json=_iso_dates(records))
    assert response.status_code == 202, response.get_json()
    job = finished_job(client, response, bearer(world, "organizer"))
    assert job["state"] == "done" and job["result"] == {"imported": 2, "refs": ["APP-101", "APP-102"]}
    with app.app_context():
        assert db.session.scalar(select(Application).where(Application.ref == "APP-102")) is not None
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "application.import",
                                                           AuditEvent.entity_id == "APP-101"))
        assert event.actor_name == "organizer"


def test_a_refused_import_lists_every_error_and_changes_nothing(client, world, table_counts,
                                                                make_application_record):
    good = make_application_record("APP-201")
    bad = make_application_record("APP-202", field="NOT-A-FIELD", center_name=None)
    duplicate = make_application_record("APP-001")
    before = table_counts()
    response = call(client, world, "admin", "POST", "/applications", json=_iso_dates([good, bad, duplicate]))
    assert response.status_code == 202
    job = finished_job(client, response, bearer(world, "admin"))
    assert job["state"] == "failed" and job["result"] is None
    errors = job["errors"]
    assert "APP-202，field：'NOT-A-FIELD' 不是可选的值：请从模板的下拉列表中选择" in errors
    assert "APP-202，center_name：必填项，但未填写" in errors
    assert any(error.startswith("APP-001，ref：APP-001 已经登记") for error in errors)
    assert not any("APP-201" in error for error in errors)
    only_the_job_was_recorded(before, table_counts())


def test_the_job_page_shows_an_api_imports_errors_in_chinese(app, client, auth, world, make_application_record):
    bad = make_application_record("APP-202", center_name=None)
    response = call(client, world, "admin", "POST", "/applications", json=_iso_dates([bad]))
    job = finished_job(client, response, bearer(world, "admin"))
    auth.login(username="admin")
    html = client.get(f"/jobs/{job['id']}", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "APP-202" in html and "center_name: required" not in html and "必填" in html


@pytest.mark.parametrize(("body", "status"), [({"ref": "APP-1"}, 422), ("[", 400)])
def test_an_import_body_that_is_not_a_list_is_refused(client, world, table_counts, body, status):
    before = table_counts()
    if isinstance(body, str):
        response = client.post("/api/v1/experts", data=body, content_type="application/json",
                               headers=bearer(world, "organizer"))
    else:
        response = call(client, world, "organizer", "POST", "/experts", json=body)
    body = response.get_json()
    assert response.status_code == status and body["code"] == ("invalid_body" if status == 422 else "invalid_json")
    assert chinese(body["error"]) and all(chinese(problem) for problem in body["errors"])
    assert table_counts() == before


def test_importing_experts(client, world, make_expert_record):
    record = make_expert_record("EXP-NEW", declared=[])
    response = call(client, world, "organizer", "POST", "/experts", json=_iso_dates([record]))
    assert response.status_code == 202
    assert finished_job(client, response, bearer(world, "organizer"))["result"]["refs"] == ["EXP-NEW"]
    listed = call(client, world, "organizer", "GET", "/experts").get_json()
    assert [expert["ref"] for expert in listed] == ["EXP-A", "EXP-B", "EXP-C", "EXP-NEW"]


def _iso_dates(value):
    """A record with its dates as ISO strings, as a JSON client sends them."""
    if isinstance(value, dict):
        return {key: _iso_dates(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_iso_dates(item) for item in value]
    return value.isoformat() if hasattr(value, "isoformat") else value


# ---------------------------------------------------------------- reading

def test_personal_data_is_masked_unless_admin(client, world):
    organizer = call(client, world, "organizer", "GET", "/applications/APP-001").get_json()
    admin = call(client, world, "admin", "GET", "/applications/APP-001").get_json()
    assert admin["leads"]["initiator"]["mobile"] == "13800001111"
    assert organizer["leads"]["initiator"]["mobile"] == "138****1111"
    assert admin["bearer"]["legal_rep"]["id_number"] == "310101198001011234"
    assert organizer["bearer"]["legal_rep"]["id_number"] == "310***********1234"
    assert organizer["bearer"]["legal_rep"]["id_type"] == "****"
    assert organizer["submitted_on"] == "2020-10-15"
    assert organizer["center_name"] == admin["center_name"]
    expert = call(client, world, "organizer", "GET", "/experts/EXP-A").get_json()
    assert expert["email"] == "z***@example.com" and expert["mobile"] == "139****2222"
    summary = call(client, world, "organizer", "GET", "/applications").get_json()
    assert [row["ref"] for row in summary] == ["APP-001", "APP-002"]


def test_rounds_show_state_settings_and_template(client, world):
    rounds = call(client, world, "organizer", "GET", "/rounds").get_json()
    assert [(row["id"], row["state"], row["applications"]) for row in rounds] == [
        (world.round_id, "scoring", 2), (world.triennial_id, "draft", 1)]
    detail = call(client, world, "organizer", "GET", f"/rounds/{world.round_id}").get_json()
    assert detail["settings"]["panel_size"] == 7 and detail["settings"]["mode"] == "individual"
    assert detail["application_refs"] == ["APP-001", "APP-002"]
    assert sum(criterion["max"] for criterion in detail["template"]["criteria"]) == detail["template"]["total"]


def test_assignments_show_the_active_panels_and_reserves(client, world):
    body = call(client, world, "organizer", "GET", f"/rounds/{world.round_id}/assignments").get_json()
    assert body["version"]["number"] == 1
    assert [(panel["application"], [seat["expert"] for seat in panel["seats"]]) for panel in body["panels"]] == [
        ("APP-001", ["EXP-A"]), ("APP-002", ["EXP-B"])]
    reserves = [(row["application"], row["expert"], row["rank"]) for row in body["reserves"]]
    assert reserves == [("APP-001", "EXP-C", 1)]


# ---------------------------------------------------------------- sheets

def criteria(client, world) -> list[dict]:
    return call(client, world, "organizer", "GET", f"/rounds/{world.round_id}").get_json()["template"]["criteria"]


def test_an_expert_sees_only_their_own_sheets(client, world):
    own = call(client, world, "expert_a", "GET", "/sheets").get_json()
    assert [(sheet["id"], sheet["expert"]) for sheet in own] == [(world.sheets["expert_a"], "EXP-A")]
    every = call(client, world, "organizer", "GET", f"/rounds/{world.round_id}/sheets").get_json()
    assert sorted(sheet["expert"] for sheet in every) == ["EXP-A", "EXP-B"]


def test_an_expert_fills_and_submits_their_sheet_through_the_api(app, client, world):
    sheet_path = f"/sheets/{world.sheets['expert_a']}"
    values = {criterion["code"]: criterion["max"] for criterion in criteria(client, world)}
    incomplete = call(client, world, "expert_a", "POST", f"{sheet_path}/submit")
    assert incomplete.status_code == 422
    assert len(incomplete.get_json()["errors"]) >= len(values)       # every missing score, and the opinion
    saved = call(client, world, "expert_a", "PUT", sheet_path,
                 json={"values": values, "opinion": "recommend", "comment": "整体方案可行"})
    assert saved.status_code == 200, saved.get_json()
    assert saved.get_json()["total"] == sum(values.values()) and saved.get_json()["state"] == "draft"
    submitted = call(client, world, "expert_a", "POST", f"{sheet_path}/submit")
    assert submitted.status_code == 200 and submitted.get_json()["state"] == "submitted"
    locked = call(client, world, "expert_a", "PUT", sheet_path, json={"values": {}})
    assert locked.status_code == 409 and locked.get_json()["code"] == "conflict"
    assert "锁定" in locked.get_json()["error"]


def test_refused_sheet_values_are_all_listed_and_nothing_is_saved(app, client, world, table_counts):
    first = criteria(client, world)[0]
    before = table_counts()
    response = call(client, world, "expert_a", "PUT", f"/sheets/{world.sheets['expert_a']}",
                    json={"values": {first["code"]: first["max"] + 1, "NO-SUCH": 1}, "opinion": "maybe"})
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert len(errors) == 3
    assert any(first["code"] in error for error in errors) and any("NO-SUCH" in error for error in errors)
    assert table_counts() == before
    with app.app_context():
        assert db.session.get(ScoreSheet, world.sheets["expert_a"]).scores == []


def test_an_expert_who_lost_the_seat_can_no_longer_write_the_sheet(app, client, world):
    with app.app_context():
        seat = db.session.get(Assignment, world.seats["expert_a"])
        seat.state = "replaced"
        db.session.commit()
    path = f"/sheets/{world.sheets['expert_a']}"
    refused = call(client, world, "expert_a", "PUT", path, json={"values": {}})
    assert refused.status_code == 404 and refused.get_json()["code"] == "seat_lost"
    assert "您已不在该评审组中" in refused.get_json()["error"]
    assert call(client, world, "expert_a", "POST", f"{path}/submit").status_code == 404
    assert call(client, world, "expert_a", "GET", path).status_code == 200      # reading it stays allowed


@pytest.mark.parametrize(("body", "problem"), [
    ([], "（请求内容）：应为对象，而不是列表。"), ({"values": 5}, "values：应为对象"),
    ({"values": {}, "comment": 3}, "comment：应为字符串或 null。"),
    ({"values": {}, "score": 1}, "score：未知的键"),
])
def test_malformed_sheet_bodies_are_refused_in_chinese(app, client, world, table_counts, body, problem):
    before = table_counts()
    response = call(client, world, "expert_a", "PUT", f"/sheets/{world.sheets['expert_a']}", json=body)
    assert response.status_code == 422 and response.get_json()["code"] == "invalid_body"
    assert response.get_json()["error"] == "请求内容被拒绝：共 1 个错误，未作任何更改。"
    assert any(problem in error for error in response.get_json()["errors"])
    assert table_counts() == before
    with app.app_context():
        assert db.session.get(ScoreSheet, world.sheets["expert_a"]).scores == []


def test_an_error_reads_in_english_when_asked(client, world):
    """``?lang=en`` words the sentence in English; the code is the same in every language."""
    response = call(client, world, "organizer", "GET", "/rounds/999?lang=en")
    assert response.get_json() == {"code": "not_found", "error": "There is no round with id 999.", "errors": []}


def test_every_error_code_the_api_raises_is_documented():
    """A code an integration may meet is listed in ERROR_CODES (and so in the OpenAPI document)."""
    source = "\n".join(path.read_text(encoding="utf-8") for path in (*Path("web/api").glob("*.py"),
                                                                     Path("web/input_guard.py"),
                                                                     Path("web/ratelimits.py")))
    used = set(re.findall(r"(?:ApiError|error_response)\(\s*\d+, \"(\w+)\"", source))
    used |= set(HTTP_CODES.values()) | {"refused", "invalid_body"}
    assert len(used) > 15 and used <= set(ERROR_CODES)


# ---------------------------------------------------------------- ranking

def test_the_ranking_comes_from_the_scoring_engine(client, world):
    values = {criterion["code"]: criterion["max"] for criterion in criteria(client, world)}
    for account in ("expert_a", "expert_b"):
        path = f"/sheets/{world.sheets[account]}"
        assert call(client, world, account, "PUT", path, json={"values": values, "opinion": "recommend"}
                    ).status_code == 200
        assert call(client, world, account, "POST", f"{path}/submit").status_code == 200
    response = call(client, world, "organizer", "GET", f"/rounds/{world.round_id}/ranking")
    assert response.status_code == 200
    body = response.get_json()
    assert body["round"] == world.round_id and body["errors"] == []
    lines = {line["application"]: line for line in body["ranking"]}
    assert sorted(lines) == ["APP-001", "APP-002"]
    # fewer than three sheets: no score, and the engine says why
    assert all("INSUFFICIENT" in [flag["code"] for flag in line["flags"]] for line in lines.values())
    # expert A once worked for APP-001's initiating unit: the sheet is kept but left out, with the rule
    [traced] = lines["APP-001"]["trace"]["sheets"]
    assert traced["expert"] == "EXP-A" and traced["status"] == "excluded" and "conflict" in traced["reason"]
