"""parse_problem: DESIGN §10 input in, a validated Problem out, or every error at once."""

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matching.problem import ProblemError, parse_problem
from matching.types import POOLS, FitWeights, Organization
from tests.matching.conftest import application, expert, five_pool_experts, make_uscc, problem


def refused(data) -> list[str]:
    with pytest.raises(ProblemError) as caught:
        parse_problem(data)
    return caught.value.errors


def test_parses_design_example_settings_and_chinese_names():
    experts = five_pool_experts(3)
    experts[0]["pool"] = "经济"
    experts[3]["fields"] = ["人工智能", "ICT-IC"]
    data = problem(experts, [application("A1", field="集成电路")], panel_size=7,
                   pool_quotas={"technology": [3, 5], "industry": [1, 2], "economics": [1, 1],
                                "management": [1, 1], "law": [1, 1]},
                   randomize={"max_probability": 0.5, "seed": 7}, weights={"field": 3, "text": 1},
                   meeting={"max_applications_per_panel": 4}, mode="meeting")
    parsed = parse_problem(data)
    assert parsed.settings.as_of == date(2020, 10, 1)
    assert parsed.settings.quota("technology") == (3, 5)
    assert parsed.settings.randomize.max_probability == 0.5 and parsed.settings.randomize.seed == 7
    assert parsed.settings.weights == FitWeights(field=0.75, text=0.25)
    assert parsed.settings.meeting_max_applications == 4
    assert parsed.experts[0].pool == "economics"
    assert parsed.experts[3].fields == ("DIG-AI", "ICT-IC")
    assert parsed.applications[0].field == "ICT-IC" and parsed.applications[0].sector == "ICT"


def test_solve_time_limit_is_optional_and_at_least_one_second():
    plain = problem(five_pool_experts(3), [application("A1")])
    assert parse_problem(plain).settings.time_limit is None
    limited = problem(five_pool_experts(3), [application("A1")], time_limit=90)
    assert parse_problem(limited).settings.time_limit == 90.0
    instant = problem(five_pool_experts(3), [application("A1")], time_limit=0)
    assert any(error.startswith("settings: time_limit: must be between 1") for error in refused(instant))


def test_application_collects_text_people_and_units():
    record = application(
        "A1",
        center_name="上海智能语音创新中心",
        construction_content="建设语音识别平台",
        plan={"necessity": "国产化替代", "risks": "市场风险"},
        bearer={"name": "上海声科有限公司", "uscc": make_uscc(1), "registered_on": "2019-05-01",
                "legal_rep": {"name": "王五"}, "contact": {"name": "赵六"},
                "shareholders": [{"name": "钱七", "share_pct": 60}, {"name": "声科控股", "share_pct": 40}]},
        leads={"rd_team": {"name": "孙八"}},
        members=[{"role": "participating", "kind": "institute", "name": "某大学",
                  "rd_lead": {"name": "周九"}, "team_members": [{"name": "吴十"}, "郑一"]}],
        excluded_experts=["E1"],
    )
    parsed = parse_problem(problem([expert("E1"), expert("E2")], [record])).applications[0]
    assert parsed.text.split("\n") == ["上海智能语音创新中心", "建设语音识别平台", "国产化替代", "市场风险"]
    assert parsed.bearer == Organization("上海声科有限公司", make_uscc(1))
    assert parsed.bearer_registered_on == date(2019, 5, 1)
    assert parsed.named_people == ("王五", "赵六", "孙八")
    assert parsed.shareholders == ("钱七", "声科控股")
    assert parsed.members[0].people == ("周九", "吴十", "郑一")
    assert parsed.excluded_experts == ("E1",)


def test_every_error_is_reported_at_once_naming_record_key_and_rule():
    experts = [
        expert("E1", pool="finance"),
        expert("E1", fields=["DIG-XX"]),
        expert("E3", organization={"name": "某公司", "uscc": "91310000000000001U"},
               past_affiliations=[{"name": "某所", "from": "2020/01/01"}],
               roles=[{"organization": "某公司", "role": "chairman"}],
               declared=[{"kind": "rumour", "person": "某人"}]),
    ]
    applications = [
        application("A1", field="space", bearer={"name": "某公司", "registered_on": "2020-13-01"},
                    construction_content="字" * 501, excluded_experts=["E1", "E3", "E9", "E8"]),
        application("A1"),
    ]
    data = problem(experts, applications, panel_size=3, mode="hybrid",
                   pool_quotas={"technology": [-1, 2], "law": [2, 1], "finance": [1, 1]})
    data["fixed"] = [{"expert": "E7", "application": "A1"}]
    data["forbidden"] = [{"expert": "E1", "application": "A5"}]
    data["affinity"] = [{"expert": "E3", "application": "A9", "score": 1.5}]
    errors = refused(data)
    expected = [
        "experts[0] (E1): pool: unknown pool 'finance'",
        "experts[1] (E1): fields: unknown field 'DIG-XX'",
        "experts[0] (E1): ref: duplicate ref 'E1'",
        "experts[1] (E1): ref: duplicate ref 'E1'",
        "experts[2] (E3).organization: uscc: invalid USCC '91310000000000001U': check character is U",
        "experts[2] (E3).past_affiliations[0]: from: not an ISO date",
        "experts[2] (E3).roles[0]: role: unknown value 'chairman'",
        "experts[2] (E3).declared[0]: kind: unknown value 'rumour'",
        "applications[0] (A1): field: unknown field 'space'",
        "applications[0] (A1).bearer: registered_on: not an ISO date YYYY-MM-DD: '2020-13-01'",
        "applications[0] (A1): construction_content: 501 characters, above the limit of 500",
        "applications[0] (A1): excluded_experts: at most 3 experts, got 4",
        "applications[0] (A1): excluded_experts: unknown expert 'E9'",
        "applications[1] (A1): ref: duplicate ref 'A1'",
        "settings: mode: unknown value 'hybrid'",
        "settings: pool_quotas.technology: quotas must not be negative",
        "settings: pool_quotas.law: minimum 2 is above maximum 1",
        "settings: pool_quotas.finance: unknown pool 'finance'",
        "fixed[0]: expert: unknown expert 'E7'",
        "forbidden[0]: application: unknown application 'A5'",
        "affinity[0]: application: unknown application 'A9'",
        "affinity[0]: score: must be between 0 and 1, got 1.5",
    ]
    for message in expected:
        assert any(error.startswith(message) for error in errors), (message, errors)


def test_refuses_quota_minimums_above_panel_size():
    data = problem(five_pool_experts(3), [application("A1")], panel_size=4,
                   pool_quotas={pool: [1, 2] for pool in POOLS})
    assert "settings: pool_quotas: minimums sum to 5, above the panel size 4" in refused(data)


def test_refuses_quota_maximums_below_panel_size():
    data = problem(five_pool_experts(3), [application("A1")], panel_size=7,
                   pool_quotas={pool: [0, 1] for pool in POOLS})
    assert "settings: pool_quotas: maximums sum to 5, below the panel size 7" in refused(data)


def test_refuses_panel_larger_than_the_available_experts():
    experts = five_pool_experts(1)
    experts[0]["available"] = False
    errors = refused(problem(experts, [application("A1")], panel_size=5))
    assert errors == ["settings: panel_size: panel of 5 is larger than the 4 available experts"]


def test_refuses_pool_minimum_above_that_pools_experts():
    data = problem(five_pool_experts(1), [application("A1")], panel_size=3, pool_quotas={"law": [2, 2]})
    assert refused(data) == ["settings: pool_quotas.law: minimum 2 is above the 1 available law experts"]


def test_refuses_panel_above_pool_capacity():
    experts = [expert("E1", "technology"), expert("E2", "technology"), expert("E3", "law")]
    data = problem(experts, [application("A1")], panel_size=3, pool_quotas={"technology": [0, 1]})
    assert refused(data) == [
        "settings: panel_size: panel of 3 is larger than the pool capacity 2 (available experts within each "
        "pool's maximum)"
    ]


def test_refuses_missing_reference_date_and_fixed_pair_that_is_forbidden():
    data = problem([expert("E1")], [application("A1")])
    del data["settings"]["as_of"]
    data["fixed"] = [{"expert": "E1", "application": "A1"}]
    data["forbidden"] = [{"expert": "E1", "application": "A1", "reason": "x"}]
    errors = refused(data)
    assert "settings: as_of: is required" in errors
    assert "fixed[0]: pair (E1, A1) is also forbidden" in errors


def test_refuses_empty_problem_and_non_objects():
    errors = refused({"settings": {"as_of": "2020-10-01"}, "experts": [], "applications": ["A1"]})
    assert "problem: experts: at least one expert is required" in errors
    assert "applications[0]: must be an object, got str" in errors


@settings(max_examples=60, deadline=None)
@given(pool=st.text(min_size=1, max_size=8).filter(lambda s: s.strip() and s.strip() not in POOLS
                                                   and s.strip() not in ("经济", "技术", "产业", "管理", "法律")))
def test_any_unknown_pool_is_refused_and_named(pool):
    errors = refused(problem([expert("E1"), expert("E2", pool=pool)], [application("A1")]))
    assert any(error.startswith("experts[1] (E2): pool: unknown pool") for error in errors)
