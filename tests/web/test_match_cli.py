"""`panel match`: summary or JSON, a new version unless --dry-run, exit 1 on infeasible, 2 on usage errors."""

from __future__ import annotations

import json

from sqlalchemy import select

from tests.web.test_panels_factory import build_round
from web.extensions import db
from web.models import AssignmentVersion, Round
from web.services import rounds


def stored_versions(app) -> list[tuple[int, str, bool]]:
    with app.app_context():
        return [(v.number, v.status, v.active) for v in
                db.session.scalars(select(AssignmentVersion).order_by(AssignmentVersion.number))]


def test_match_prints_a_summary_and_stores_a_version(app, runner):
    build_round(app)
    result = runner.invoke(args=["match", "--round", "测试轮次"])
    assert result.exit_code == 0, result.output
    assert "optimal, stored as version 1 (active)" in result.output
    assert "panels: 4 applications, 20 seats" in result.output and "objective" in result.output
    assert "timing: conflicts" in result.output and "solve" in result.output
    assert stored_versions(app) == [(1, "optimal", True)]


def test_match_json_with_a_seeded_draw(app, runner):
    round_id = build_round(app)
    result = runner.invoke(args=["match", "--round", str(round_id), "--seed", "3", "--max-probability", "0.7",
                                 "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["status"] == "optimal" and data["seed"] == 3 and data["version"] == 1
    assert all(p["p"] <= 0.7 + 1e-9 for p in data["probabilities"])
    assert sum(len(entry["experts"]) for entry in data["assignments"]) == 20


def test_dry_run_stores_nothing(app, runner, table_counts):
    build_round(app)
    before = table_counts()
    result = runner.invoke(args=["match", "--round", "测试轮次", "--dry-run"])
    assert result.exit_code == 0 and "not stored (dry run)" in result.output
    assert table_counts() == before


def test_infeasible_exits_1_with_the_engines_sentences(app, runner):
    round_id = build_round(app)
    runner.invoke(args=["match", "--round", "测试轮次"])
    with app.app_context():
        quotas = {"technology": [2, 3], "industry": [1, 2], "economics": [1, 1], "management": [0, 1],
                  "law": [1, 1]}
        rounds.update_settings(db.session.get(Round, round_id), {"max_load": 1, "pool_quotas": quotas}, actor=None)
    result = runner.invoke(args=["match", "--round", "测试轮次"])
    assert result.exit_code == 1
    assert "法律" in result.stderr and "the previous version stays active" in result.output
    assert stored_versions(app) == [(1, "optimal", True), (2, "infeasible", False)]


def test_unknown_round_is_a_usage_error(app, runner, table_counts):
    before = table_counts()
    result = runner.invoke(args=["match", "--round", "no such round"])
    assert result.exit_code == 2 and "--round：没有编号或名称为“no such round”的评审轮次。" in result.output
    assert table_counts() == before


def test_a_round_not_assigning_is_refused(app, runner, table_counts):
    build_round(app, state="draft")
    before = table_counts()
    result = runner.invoke(args=["match", "--round", "测试轮次"])
    assert result.exit_code == 1 and "只有在分组阶段才能运行专家匹配" in result.stderr
    assert table_counts() == before


def test_rounds_state_and_list(app, runner):
    build_round(app, state="draft")
    assert runner.invoke(args=["rounds", "state", "--round", "测试轮次", "--to", "scoring"]).exit_code == 1
    result = runner.invoke(args=["rounds", "state", "--round", "测试轮次", "--to", "assigning"])
    assert result.exit_code == 0 and "is now assigning" in result.output
    runner.invoke(args=["match", "--round", "测试轮次"])
    listed = runner.invoke(args=["rounds", "list"]).output
    assert "assigning" in listed and "4 applications" in listed and "version 1 (optimal)" in listed
    assert runner.invoke(args=["rounds", "state", "--round", "nope", "--to", "closed"]).exit_code == 2


def test_the_progress_bar_of_panel_match_counts_the_engines_phases(app):
    """`panel match` on a terminal: the bar stands at the phases finished and names the current one."""
    import io

    import click

    from matching.assign import PHASES
    from web.commands.matching import phase_reporter

    with click.progressbar(length=len(PHASES), label="matching", file=io.StringIO()) as bar:
        report = phase_reporter(bar)
        report("conflicts", 1)
        assert (bar.pos, bar.label) == (0, "conflicts")
        report("solve", 4)
        report("pricing", 2)
        assert (bar.pos, bar.label) == (3, "solving, pricing round 2")
        report("report", 5)
        assert (bar.pos, bar.label) == (4, "report")


def test_a_seed_no_draw_can_take_is_refused_in_chinese_and_nothing_is_stored(app, runner, table_counts):
    """A negative seed (the draw's generator refuses it) or one above the version's integer column was an
    exception from the engine or the database; it is a usage error naming the setting, before anything runs."""
    round_id = build_round(app)
    before = table_counts()
    for seed, sentence in (("-1", "随机种子：必须留空或填写不小于 0 的整数，而不是“-1”"),
                           (str(10**12), "随机种子：不能大于 2147483647，而不是“1000000000000”")):
        result = runner.invoke(args=["match", "--round", str(round_id), "--seed", seed, "--max-probability", "0.7"])
        assert result.exit_code == 2 and sentence in result.output
    assert table_counts() == before


def test_panel_match_solves_under_the_rounds_time_limit(app, runner):
    """`panel match` builds the engine's settings from the round as the site does: the round's time limit is the
    one the run solved under, and the version's settings snapshot says so."""
    round_id = build_round(app)
    with app.app_context():
        rounds.update_settings(db.session.get(Round, round_id), {"time_limit": 45}, actor=None)
        db.session.commit()
    assert runner.invoke(args=["match", "--round", str(round_id)]).exit_code == 0
    with app.app_context():
        [version] = db.session.scalars(select(AssignmentVersion)).all()
        assert version.settings["time_limit"] == 45 and version.status == "optimal"
