"""A small round for the panel tests (imported by test_panels_*, test_rounds_* and test_match_cli), and checks that
its planted conflicts are what the other tests rely on."""

from __future__ import annotations

from datetime import date

from tests.web.conftest import application_record, expert_record, uscc
from web.extensions import db
from web.models import Round, User
from web.services import matching_bridge, rounds
from web.services.records import import_applications, import_experts

AS_OF = date(2020, 10, 1)
FIELDS = ("EQP-SM", "EQP-AM", "DIG-AI", "DIG-II")
POOL_SIZES = {"technology": 11, "industry": 7, "economics": 5, "management": 4, "law": 3}
QUOTAS = {"technology": [2, 3], "industry": [1, 2], "economics": [1, 1], "management": [0, 1], "law": [0, 1]}
HARD_EXPERT = "EXP-HARD"
"""Works at every application's bearer unit (same-organization, hard)."""
SOFT_EXPERT = "EXP-009"
"""Named by every application as an expert to avoid (applicant-excluded, soft)."""
TWINS = ("EXP-W01", "EXP-W02")
"""Two technology experts of one organization (the organization limit is 1 per panel)."""


def experts() -> list[dict]:
    """~30 experts over the five pools without history, plus the planted ones."""
    records = []
    number = 100
    for pool, count in POOL_SIZES.items():
        for k in range(count):
            number += 1
            ref = f"EXP-{pool[0].upper()}{k + 1:02d}"
            records.append(expert_record(
                ref, name=f"专家{number}", pool=pool, fields=[FIELDS[k % len(FIELDS)]],
                organization={"name": f"上海第{number}研究所", "uscc": uscc(number, "310110"), "parent": None},
                past_affiliations=[], roles=[], declared=[], max_load=None,
                profile=f"从事{FIELDS[k % len(FIELDS)]}方向研究与产业化工作，编号{number}。"))
    twin_org = {"name": "上海双子研究院", "uscc": uscc(900, "310110"), "parent": None}
    records += [expert_record(ref, name=f"双子{n}", pool="technology", fields=["EQP-SM"], organization=twin_org,
                              past_affiliations=[], roles=[], declared=[], max_load=None,
                              profile="智能制造装备与工业互联网平台研究。")
                for n, ref in enumerate(TWINS)]
    records.append(expert_record(HARD_EXPERT, name="冲突专家", pool="technology", fields=["EQP-SM"],
                                 organization={"name": "上海智能制造创新中心有限公司", "uscc": uscc(1),
                                               "parent": None},
                                 past_affiliations=[], roles=[], declared=[], max_load=None,
                                 profile="智能制造创新中心技术负责人，智能装备。"))
    records.append(expert_record(SOFT_EXPERT, name="回避专家", pool="technology", fields=["EQP-SM"],
                                 organization={"name": "上海回避研究所", "uscc": uscc(901, "310110"), "parent": None},
                                 past_affiliations=[], roles=[], declared=[], max_load=None,
                                 profile="智能制造与增材制造研究。"))
    return records


def applications(count: int = 4) -> list[dict]:
    """``count`` applications over FIELDS (same bearer and members; each asks to avoid EXP-009)."""
    return [application_record(f"APP-{n + 1:03d}", field=FIELDS[n % len(FIELDS)],
                               center_name=f"上海{FIELDS[n % len(FIELDS)]}创新中心{n + 1}")
            for n in range(count)]


def build_round(app, *, count: int = 4, state: str = "assigning", actor: User | None = None, **settings) -> int:
    """Import the records, open a round over them with panels of 5, move it to ``state``; returns its id."""
    with app.app_context():
        import_experts(experts(), actor=None)
        import_applications(applications(count), actor=None)
        db.session.commit()
        round_ = rounds.create_round("测试轮次", "selection_review", as_of=AS_OF,
                                     application_refs=[f"APP-{n + 1:03d}" for n in range(count)], actor=actor)
        rounds.update_settings(round_, {"panel_size": 5, "max_load": 3, "max_per_organization": 1,
                                        "reserves": 4, "pool_quotas": QUOTAS, **settings}, actor=actor)
        for step in ("assigning", "scoring", "closed"):
            if round_.state == state:
                break
            if step == "scoring":
                from web.services import panels

                panels.run_matching(round_, actor=actor)
            rounds.transition(round_, step, actor=actor, confirmed=True)
        return round_.id


def test_planted_conflicts_are_found(app):
    round_id = build_round(app, state="draft")
    with app.app_context():
        conflicts = matching_bridge.round_conflicts(db.session.get(Round, round_id))
    by_expert = {(c.expert, c.rule, c.kind) for c in conflicts}
    assert (HARD_EXPERT, "same-organization", "hard") in by_expert
    assert (SOFT_EXPERT, "applicant-excluded", "soft") in by_expert
    assert {c.expert for c in conflicts} == {HARD_EXPERT, SOFT_EXPERT}
    assert len(conflicts) == 8          # each of the two, with each of the four applications


def test_problem_carries_the_round_settings(app):
    round_id = build_round(app, state="draft", max_probability=0.5, seed=11)
    with app.app_context():
        problem = matching_bridge.build_problem(db.session.get(Round, round_id))
    settings = problem.settings
    assert (settings.panel_size, settings.max_load, settings.reserves, settings.as_of) == (5, 3, 4, AS_OF)
    assert settings.quota("technology") == (2, 3) and settings.quota("law") == (0, 1)
    assert settings.randomize.max_probability == 0.5 and settings.randomize.seed == 11
    assert len(problem.experts) == sum(POOL_SIZES.values()) + 4 and len(problem.applications) == 4
    application = problem.applications[0]
    assert "王教授" in application.members[1].people and "赵研究员" in application.members[1].people
    assert {"张总", "承担法人"} <= set(application.named_people)
    assert application.excluded_experts == (SOFT_EXPERT,)
