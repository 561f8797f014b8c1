"""Rounds pages: role checks, CSRF, and each page doing its one thing through the services."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.web.test_panels_factory import HARD_EXPERT, build_round
from web.extensions import db
from web.models import Application, Assignment, AssignmentVersion, Round
from web.services import panels


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def post(client, url: str, data: dict, *, form_page: str | None = None, csrf_token=None):
    """Post with the CSRF token of ``form_page`` (or of ``url``)."""
    token = csrf_token(page(client, form_page or url))
    return client.post(url, data={**data, "csrf_token": token})


def application_id(app, ref: str) -> int:
    with app.app_context():
        return db.session.scalar(select(Application.id).where(Application.ref == ref))


@pytest.fixture
def matched(app):
    round_id = build_round(app)
    with app.app_context():
        panels.run_matching(db.session.get(Round, round_id), actor=None)
    return round_id


PAGES = ("/rounds/", "/rounds/new", "/rounds/{r}", "/rounds/{r}/settings", "/rounds/{r}/template",
         "/rounds/{r}/applications", "/rounds/{r}/conflicts", "/rounds/{r}/versions", "/rounds/{r}/versions/1",
         "/rounds/{r}/applications/{a}", "/rounds/{r}/meeting")


@pytest.mark.parametrize("role, status", [("expert", 403), ("organizer", 200), ("admin", 200)])
def test_pages_by_role(app, client, auth, matched, role, status, make_expert_record):
    if role == "expert":
        with app.app_context():
            from web.services.records import import_experts

            import_experts([make_expert_record("EXP-LOGIN", declared=[])], actor=None)
            db.session.commit()
        auth.login(role, expert_ref="EXP-LOGIN")
    else:
        auth.login(role)
    a = application_id(app, "APP-001")
    for url in PAGES:
        response = client.get(url.format(r=matched, a=a))
        assert response.status_code == status, (url, response.status_code)


def test_anonymous_goes_to_login(client, matched):
    for url in ("/rounds/", f"/rounds/{matched}", f"/rounds/{matched}/conflicts"):
        response = client.get(url)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_posts_without_csrf_token_are_refused(app, client, auth, matched, table_counts):
    auth.login("organizer")
    before = table_counts()
    for url in (f"/rounds/{matched}/match", f"/rounds/{matched}/state", "/rounds/new"):
        assert client.post(url, data={"state": "scoring", "name": "x"}).status_code == 400
    assert table_counts() == before


def test_create_a_round_with_settings(app, client, auth, csrf_token, table_counts):
    auth.login("organizer")
    form = {"name": "2020年遴选", "kind": "selection_review", "as_of": "2020-10-01", "deadline": "2020-11-01",
            "mode": "individual", "panel_size": "5", "max_per_organization": "1", "max_load": "3",
            "reserves": "2", "window_years": "3", "weight_field": "0.6", "weight_text": "0.4", "objective": "fair",
            "quota_technology_min": "2", "quota_technology_max": "3", "auto_replace": "on", "time_limit": "120"}
    before = table_counts()
    bad = post(client, "/rounds/new", {**form, "panel_size": "0", "quota_law_min": "1"}, csrf_token=csrf_token)
    assert bad.status_code == 400
    text = bad.get_data(as_text=True)
    assert "各类别专家人数（法律）：请同时填写最小值和最大值" in text and 'value="2020年遴选"' in text
    assert table_counts() == before
    response = post(client, "/rounds/new", form, csrf_token=csrf_token)
    assert response.status_code == 302
    with app.app_context():
        round_ = db.session.scalar(select(Round).where(Round.name == "2020年遴选"))
        assert (round_.panel_size, round_.objective, round_.auto_replace, round_.state) == (5, "fair", True, "draft")
        assert round_.time_limit == 120
        assert [(q.pool, q.minimum, q.maximum) for q in round_.pool_quotas] == [("technology", 2, 3)]
        assert len(round_.template.criteria) == 9


def test_state_buttons_move_in_order_and_refuse_otherwise(app, client, auth, csrf_token):
    round_id = build_round(app, state="draft")
    auth.login("organizer")
    overview = f"/rounds/{round_id}"
    response = post(client, f"/rounds/{round_id}/state", {"state": "closed"}, form_page=overview,
                    csrf_token=csrf_token)
    assert response.status_code == 302
    assert "不能转为" in page(client, overview)
    post(client, f"/rounds/{round_id}/state", {"state": "assigning"}, form_page=overview, csrf_token=csrf_token)
    with app.app_context():
        assert db.session.get(Round, round_id).state == "assigning"


def test_conflict_page_filters_without_javascript(app, client, auth, matched):
    auth.login("organizer")
    everything = page(client, f"/rounds/{matched}/conflicts")
    assert len(re.findall(r'<tr class="conflict-(\w+)">', everything)) == 8
    assert re.search(r"<span title=\"same-organization\">任职于承担单位或成员单位</span></a></td><td class=\"num\">4</td>", everything)
    hard = page(client, f"/rounds/{matched}/conflicts?kind=hard")
    rows = re.findall(r'<tr class="conflict-(\w+)">', hard)
    assert rows == ["hard"] * 4 and HARD_EXPERT in hard and "same-organization" in hard
    one = page(client, f"/rounds/{matched}/conflicts?rule=applicant-excluded&application=APP-002")
    assert re.findall(r'<tr class="conflict-(\w+)">', one) == ["soft"]


def test_run_matching_from_the_overview_and_restore(app, client, auth, csrf_token, matched):
    auth.login("organizer")
    overview = f"/rounds/{matched}"
    response = post(client, f"/rounds/{matched}/match", {"seed": "", "max_probability": ""}, form_page=overview,
                    csrf_token=csrf_token)
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/rounds/{matched}/versions/2")
    versions_page = page(client, f"/rounds/{matched}/versions")
    assert f'action="/rounds/{matched}/versions/1/restore"' in versions_page
    assert re.search(r"<td>organizer</td>", versions_page)          # version 2's author
    post(client, f"/rounds/{matched}/versions/1/restore", {"confirm": "yes"}, form_page=f"/rounds/{matched}/versions",
         csrf_token=csrf_token)
    with app.app_context():
        active = db.session.scalar(select(AssignmentVersion).where(AssignmentVersion.active))
        assert active.number == 1


def test_a_conflicted_swap_is_refused_on_the_panel_page(app, client, auth, csrf_token, matched, table_counts):
    auth.login("organizer")
    a = application_id(app, "APP-001")
    panel_url = f"/rounds/{matched}/applications/{a}"
    with app.app_context():
        seat = next(s for s in panels.seats(db.session.get(Round, matched)) if s.application_id == a
                    and s.pool == "technology")
        seat_id = seat.id
    before = table_counts()
    response = post(client, f"/rounds/{matched}/seats/{seat_id}/swap", {"expert": HARD_EXPERT, "reason": "x"},
                    form_page=panel_url, csrf_token=csrf_token)
    assert response.status_code == 302
    text = page(client, panel_url)
    assert "任职于承担单位或成员单位" in text and "硬性回避只有管理员可以" in text
    assert table_counts() == before


def test_the_panel_page_shows_fit_reasons_and_reserves(app, client, auth, matched):
    auth.login("organizer")
    text = page(client, f"/rounds/{matched}/applications/{application_id(app, 'APP-003')}")
    with app.app_context():
        round_ = db.session.get(Round, matched)
        application = db.session.scalar(select(Application).where(Application.ref == "APP-003"))
        for seat in panels.seats(round_, application):
            assert seat.expert.ref in text and f"{seat.fit:.3f}" in text
        for reserve in panels.reserves_of(panels.active_version(round_), application):
            assert reserve.expert.ref in text


def test_replace_button_gives_a_recused_seat_to_a_reserve(app, client, auth, csrf_token, matched, table_counts):
    auth.login("organizer")
    a = application_id(app, "APP-002")
    panel_url = f"/rounds/{matched}/applications/{a}"
    with app.app_context():
        seat = next(s for s in panels.seats(db.session.get(Round, matched)) if s.application_id == a)
        seat_id = seat.id
    before = table_counts()
    post(client, f"/rounds/{matched}/seats/{seat_id}/replace", {}, form_page=panel_url, csrf_token=csrf_token)
    assert table_counts() == before          # a seated member is swapped, not replaced
    with app.app_context():
        seat = db.session.get(Assignment, seat_id)
        seat.state, seat.state_reason = "recused", "曾参与申报书编写"
        db.session.commit()
    text = page(client, panel_url)
    assert f'action="/rounds/{matched}/seats/{seat_id}/replace"' in text
    post(client, f"/rounds/{matched}/seats/{seat_id}/replace", {}, form_page=panel_url, csrf_token=csrf_token)
    with app.app_context():
        new = db.session.scalar(select(Assignment).where(Assignment.replaces_id == seat_id))
        assert new is not None and new.state == "proposed"


def test_template_form_is_checked_whole(app, client, auth, csrf_token, table_counts):
    round_id = build_round(app, state="draft")
    auth.login("organizer")
    url = f"/rounds/{round_id}/template"
    with app.app_context():
        criteria = [(c.id, c.name, c.max, c.step) for c in db.session.get(Round, round_id).template.criteria]
    form = {}
    for criterion_id, name, maximum, step in criteria:
        form.update({f"c{criterion_id}_name": name, f"c{criterion_id}_max": str(maximum),
                     f"c{criterion_id}_step": str(step), f"c{criterion_id}_priority": "0"})
    first, second = criteria[0][0], criteria[1][0]
    before = table_counts()
    bad = post(client, url, {**form, f"c{first}_max": "12"}, csrf_token=csrf_token)
    assert bad.status_code == 400 and "各评分项满分合计为 102，应为 100。" in bad.get_data(as_text=True)
    assert table_counts() == before
    off_step = post(client, url, {**form, f"c{first}_step": "3"}, csrf_token=csrf_token)
    assert off_step.status_code == 400
    assert f"{criteria[0][1]}：步长 3 不能整除满分 {criteria[0][2]:g}。" in off_step.get_data(as_text=True)
    assert table_counts() == before
    good = post(client, url, {**form, f"c{first}_max": "12", f"c{second}_max": "8", f"c{first}_veto": "on"},
                csrf_token=csrf_token)
    assert good.status_code == 302
    with app.app_context():
        template = db.session.get(Round, round_id).template
        assert (template.criteria[0].max, template.criteria[0].veto, template.criteria[1].max) == (12, True, 8)


def test_attach_applications_by_sector_checkbox_and_by_ref(app, client, auth, csrf_token):
    round_id = build_round(app, count=4, state="draft")
    with app.app_context():
        round_ = db.session.get(Round, round_id)
        from web.services import rounds

        for link in list(round_.round_applications):
            rounds.detach_application(round_, link.application, actor=None)
    auth.login("organizer")
    url = f"/rounds/{round_id}/applications"
    post(client, url, {"fields": ["DIG"], "refs": "APP-001"}, csrf_token=csrf_token)
    with app.app_context():
        refs = sorted(a.ref for a in db.session.get(Round, round_id).applications)
    assert refs == ["APP-001", "APP-003", "APP-004"]
    post(client, url, {"refs": "APP-404"}, csrf_token=csrf_token)
    assert "没有编号为 APP-404 的申报书" in page(client, url)


def test_an_infeasible_run_shows_the_engines_sentences(app, client, auth, csrf_token, matched):
    with app.app_context():
        from web.services import rounds

        quotas = {"technology": [2, 3], "industry": [1, 2], "economics": [1, 1], "management": [0, 1],
                  "law": [1, 1]}
        rounds.update_settings(db.session.get(Round, matched), {"max_load": 1, "pool_quotas": quotas}, actor=None)
    auth.login("organizer")
    response = post(client, f"/rounds/{matched}/match", {}, form_page=f"/rounds/{matched}", csrf_token=csrf_token)
    assert response.headers["Location"].endswith(f"/rounds/{matched}/versions/2")
    text = page(client, f"/rounds/{matched}/versions/2")
    assert 'class="flash error"' in text and "法律类专家" in text
    with app.app_context():
        assert panels.active_version(db.session.get(Round, matched)).number == 1
