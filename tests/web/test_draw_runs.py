"""A randomized run whose every sample breaks the organization limit and cannot be mended: the site keeps the
previous panels and says why in Chinese — never a 500 (the draw used to raise NoReplacement out of the run)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from tests.web.conftest import application_record, expert_record, uscc
from web.extensions import db
from web.models import Assignment, Job, Reserve, Round
from web.services import panels, rounds
from web.services.records import import_applications, import_experts

ORGANIZATIONS = {"T1": 910, "L1": 910, "T2": 911, "L3": 911, "T3": 912, "L2": 912}
"""Three organizations, each with a technology and a law expert (see organization_cycle_problem in
tests/matching/conftest.py, the same round)."""


def build_cycle_round(app) -> int:
    """Three applications, a technology and a law seat each, load 1; APP-00i may take T_i or T_i+1 and L_i or
    L_i+1 (the others are excluded by the applicant). Every pair at 0.5 keeps every rule fractionally; every way
    to fill the seats puts an organization twice on a panel."""
    experts = [expert_record(f"EXP-{ref}", name=f"专家{ref}", pool="technology" if ref[0] == "T" else "law",
                             fields=["EQP-SM"], organization={"name": f"上海第{number}研究所",
                                                              "uscc": uscc(number, "310110"), "parent": None},
                             past_affiliations=[], roles=[], declared=[], max_load=None,
                             profile="智能制造装备研究。")
               for ref, number in sorted(ORGANIZATIONS.items())]
    applications = [application_record(f"APP-00{i + 1}", center_name=f"上海智能制造创新中心{i + 1}",
                                       excluded_experts=[f"EXP-T{(i + 2) % 3 + 1}", f"EXP-L{(i + 2) % 3 + 1}"])
                    for i in range(3)]
    with app.app_context():
        import_experts(experts, actor=None)
        import_applications(applications, actor=None)
        db.session.commit()
        round_ = rounds.create_round("抽取轮次", "selection_review", as_of=date(2020, 10, 1),
                                     application_refs=["APP-001", "APP-002", "APP-003"], actor=None)
        quotas = {"technology": [1, 1], "law": [1, 1], "industry": [0, 0], "economics": [0, 0],
                  "management": [0, 0]}
        rounds.update_settings(round_, {"panel_size": 2, "max_load": 1, "max_per_organization": 1, "reserves": 0,
                                        "pool_quotas": quotas}, actor=None)
        rounds.transition(round_, "assigning", actor=None, confirmed=True)
        db.session.commit()
        return round_.id


def test_a_draw_that_cannot_keep_the_organization_limit_stores_no_seats_and_says_why(app):
    round_id = build_cycle_round(app)
    with app.app_context():
        version = panels.run_matching(db.session.get(Round, round_id), actor=None, max_probability=0.5, seed=0)
        db.session.commit()
        assert (version.status, version.active, version.seed) == ("infeasible", False, 0)
        assert panels.active_version(db.session.get(Round, round_id)) is None
        assert db.session.scalars(select(Assignment)).all() == []
        assert db.session.scalars(select(Reserve)).all() == []
        assert version.diagnostics[0].startswith("随机抽取（种子 0）")
        assert "同单位人数上限 1" in version.diagnostics[0]


def test_the_match_page_answers_such_a_draw_with_the_reason_not_an_error_page(app, client, auth, csrf_token):
    round_id = build_cycle_round(app)
    auth.login("organizer")
    form = client.get(f"/rounds/{round_id}").get_data(as_text=True)
    response = client.post(f"/rounds/{round_id}/match", data={"max_probability": "0.5", "seed": "0",
                                                              "csrf_token": csrf_token(form)})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/rounds/{round_id}/versions/1")
    text = client.get(f"/rounds/{round_id}/versions/1").get_data(as_text=True)
    assert 'class="flash error"' in text and "同单位人数上限" in text
    with app.app_context():
        assert db.session.scalars(select(Assignment)).all() == []


@pytest.mark.app_config(PANEL_MATCHING_INLINE_PAIRS=0)
def test_as_a_job_such_a_draw_finishes_with_the_reason_rather_than_failing(app, client, auth, csrf_token):
    round_id = build_cycle_round(app)
    auth.login("organizer")
    form = client.get(f"/rounds/{round_id}").get_data(as_text=True)
    client.post(f"/rounds/{round_id}/match", data={"max_probability": "0.5", "seed": "0",
                                                   "csrf_token": csrf_token(form)})
    with app.app_context():
        [job] = db.session.scalars(select(Job).where(Job.kind == "matching")).all()
        assert job.state == "done" and job.outcome["status"] == "infeasible" and job.outcome["active"] is False
        assert "同单位人数上限" in job.outcome["diagnostics"][0]
        assert db.session.scalars(select(Assignment)).all() == []
