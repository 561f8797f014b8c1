"""Panels service: matching runs as versions, manual edits checked like the solver's, undo, replacements."""

from __future__ import annotations

import numpy as np
import pytest
from flask_babel import force_locale
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from matching.instance import assignment_violations
from tests.web.test_panels_factory import HARD_EXPERT, QUOTAS, SOFT_EXPERT, TWINS, build_round
from web.extensions import db
from web.labels import label
from web.models import Application, Assignment, AuditEvent, DeclaredRelation, Expert, Round, User
from web.services import matching_bridge, panels, rounds


def get_round(round_id: int) -> Round:
    return db.session.get(Round, round_id)


def expert(ref: str) -> Expert:
    return db.session.scalar(select(Expert).where(Expert.ref == ref))


def application(ref: str) -> Application:
    return db.session.scalar(select(Application).where(Application.ref == ref))


def user(role: str) -> User:
    found = db.session.scalar(select(User).where(User.username == role))
    if found is None:
        found = User(username=role, role=role, password_hash="x")
        db.session.add(found)
        db.session.commit()
    return found


def seat_pairs(round_: Round) -> set[tuple[str, str]]:
    return {(seat.application.ref, seat.expert.ref) for seat in panels.seats(round_)}


def violations(round_: Round) -> list[str]:
    """Every rule the active seats break, by the engine's own checker (overridden pairs allowed)."""
    context = matching_bridge.round_context(round_)
    problem = context.problem
    assigned = np.zeros(context.instance.fit.shape, dtype=bool)
    allowed = context.instance.allowed.copy()
    for seat in panels.seats(round_):
        e, a = problem.expert_index[seat.expert.ref], problem.application_index[seat.application.ref]
        assigned[e, a] = True
        if seat.override_reason:
            allowed[e, a] = True
    from dataclasses import replace

    return assignment_violations(replace(context.instance, allowed=allowed), assigned)


def member(round_: Round, app_ref: str, pool: str) -> Assignment:
    return next(seat for seat in panels.seats(round_, application(app_ref)) if seat.pool == pool)


@pytest.fixture
def matched(app):
    """A round in state assigning with one solver version."""
    round_id = build_round(app)
    with app.app_context():
        user("admin")
        panels.run_matching(get_round(round_id), actor=user("organizer"))
    return round_id


def test_a_run_stores_an_active_optimal_version_without_conflicted_pairs(app, matched):
    with app.app_context():
        round_ = get_round(matched)
        version = panels.active_version(round_)
        assert (version.number, version.status, version.active) == (1, "optimal", True)
        assert version.settings["panel_size"] == 5 and version.settings["as_of"] == "2020-10-01"
        assert version.objective == pytest.approx(sum(seat.fit for seat in panels.seats(round_)), abs=1e-4)
        assert version.bound >= version.objective - 1e-6
        conflicted = {(c.application, c.expert) for c in matching_bridge.round_conflicts(round_)}
        assert len(seat_pairs(round_)) == 20 and not seat_pairs(round_) & conflicted
        assert violations(round_) == []
        for app_ref in ("APP-001", "APP-004"):
            reserves = panels.reserves_of(version, application(app_ref))
            assert [r.rank for r in reserves] == list(range(1, len(reserves) + 1)) and reserves
            assert all(r.fit is not None and (app_ref, r.expert.ref) not in conflicted for r in reserves)
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "assignment.run")) is not None


def test_matching_runs_only_while_assigning(app, table_counts):
    round_id = build_round(app, state="draft")
    before = table_counts()
    with app.app_context(), pytest.raises(panels.PanelError, match="草稿"):
        panels.run_matching(get_round(round_id), actor=None)
    assert table_counts() == before


def test_an_infeasible_run_keeps_the_previous_version_active_and_says_why(app, matched):
    with app.app_context():
        round_ = get_round(matched)
        quotas = {"technology": [2, 3], "industry": [1, 2], "economics": [1, 1], "management": [0, 1],
                  "law": [1, 1]}
        rounds.update_settings(round_, {"max_load": 1, "pool_quotas": quotas}, actor=None)
        version = panels.run_matching(round_, actor=None)
        assert (version.number, version.status, version.active) == (2, "infeasible", False)
        assert version.assignments == [] and any("法律" in sentence for sentence in version.diagnostics)
        assert panels.active_version(round_).number == 1


def test_a_dry_run_stores_nothing(app, matched, table_counts):
    before = table_counts()
    with app.app_context():
        version = panels.run_matching(get_round(matched), actor=None, dry_run=True)
        assert version.status == "optimal" and len(version.assignments) == 20
    assert table_counts() == before


def test_a_randomized_run_records_its_seed_and_replays(app, matched):
    with app.app_context():
        round_ = get_round(matched)
        first = panels.run_matching(round_, actor=None, max_probability=0.6, seed=5)
        pairs = seat_pairs(round_)
        second = panels.run_matching(round_, actor=None, max_probability=0.6, seed=5)
        assert first.seed == second.seed == 5 and first.settings["randomize"] == {"max_probability": 0.6, "seed": 5}
        assert seat_pairs(round_) == pairs and violations(round_) == []


def test_a_hard_conflict_needs_an_admin_and_a_written_reason(app, matched, table_counts):
    with app.app_context():
        round_ = get_round(matched)
        seat_id = member(round_, "APP-001", "technology").id
    before = table_counts()
    with app.app_context():
        seat = db.session.get(Assignment, seat_id)
        with pytest.raises(panels.PanelError, match="任职于承担单位或成员单位.*硬性回避只有管理员"):
            panels.swap_expert(seat, expert(HARD_EXPERT), actor=user("organizer"), override_reason="needed")
        with pytest.raises(panels.PanelError, match="忽略回避须书面说明理由"):
            panels.swap_expert(seat, expert(HARD_EXPERT), actor=user("admin"))
    assert table_counts() == before
    with app.app_context():
        seat = db.session.get(Assignment, seat_id)
        new = panels.swap_expert(seat, expert(HARD_EXPERT), actor=user("admin"), override_reason="唯一燃机专家")
        assert (new.override_reason, new.manual, new.version.status) == ("唯一燃机专家", True, "manual")
        seated_fits = sum(seat.fit for seat in panels.seats(get_round(matched)))
        assert new.version.objective == pytest.approx(seated_fits, abs=1e-5)
        assert db.session.get(Assignment, new.replaces_id).state == "replaced"
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "assignment.swap"))
        assert event.after["override_reason"] == "唯一燃机专家" and event.actor_name == "admin"
        assert violations(get_round(matched)) == []
        explained = panels.explanation(get_round(matched), application("APP-001"))
        assert HARD_EXPERT in explained["binding"]


def test_a_soft_conflict_needs_the_organizers_reason(app, matched, table_counts):
    with app.app_context():
        seat_id = member(get_round(matched), "APP-002", "technology").id
    before = table_counts()
    with app.app_context(), pytest.raises(panels.PanelError, match="申报单位要求回避.*接受一般回避情形须说明理由"):
        panels.swap_expert(db.session.get(Assignment, seat_id), expert(SOFT_EXPERT), actor=user("organizer"))
    assert table_counts() == before
    with app.app_context():
        new = panels.swap_expert(db.session.get(Assignment, seat_id), expert(SOFT_EXPERT), actor=user("organizer"),
                                 override_reason="申请回避理由不成立")
        assert new.override_reason == "申请回避理由不成立"


def test_panel_size_pool_quotas_load_and_organization_limit_are_refused_in_plain_words(app, matched, table_counts):
    with app.app_context():
        round_ = get_round(matched)
        outsider = next(e for e in db.session.scalars(select(Expert).where(Expert.pool == "industry"))
                        if ("APP-001", e.ref) not in seat_pairs(round_))
        economics = member(round_, "APP-001", "economics")
        technology_ref = next(e.ref for e in db.session.scalars(select(Expert).where(Expert.pool == "technology"))
                              if ("APP-001", e.ref) not in seat_pairs(round_) and e.ref != HARD_EXPERT
                              and e.ref != SOFT_EXPERT)
        before = table_counts()
        with pytest.raises(panels.PanelError, match="专家组已满（5 / 5 席）"):
            panels.add_expert(round_, application("APP-001"), outsider, actor=None)
        with pytest.raises(panels.PanelError, match="将只有 0 位经济类专家，低于下限 1 位"):
            panels.swap_expert(economics, expert(technology_ref), actor=None)
        with pytest.raises(panels.PanelError, match="须填写理由"):
            panels.remove_expert(economics, actor=None, reason=" ")
        loads: dict[str, int] = {}
        for seat in panels.seats(round_):
            loads[seat.expert.ref] = loads.get(seat.expert.ref, 0) + 1
        busiest = max(loads, key=loads.get)
        rounds.update_settings(round_, {"max_load": loads[busiest]}, actor=None)
        before = table_counts()
        target = next(a.ref for a in round_.applications if ("" + a.ref, busiest) not in seat_pairs(round_))
        pool = expert(busiest).pool
        with pytest.raises(panels.PanelError, match=f"{busiest} 已参加 {loads[busiest]} 个专家组"):
            panels.swap_expert(member(round_, target, pool), expert(busiest), actor=None)
        assert table_counts() == before
        # organization limit: seat one twin, then try the other on the same panel (loads no longer in the way)
        rounds.update_settings(round_, {"max_load": 20}, actor=None)
        twin_free = next(a.ref for a in round_.applications
                         if not {(a.ref, t) for t in TWINS} & seat_pairs(round_))
        tech = [s for s in panels.seats(round_, application(twin_free)) if s.pool == "technology"]
        panels.swap_expert(tech[0], expert(TWINS[0]), actor=None)
        db.session.commit()                         # one unit of work, as one request would
        before = table_counts()
        other = next(s for s in panels.seats(round_, application(twin_free))
                     if s.pool == "technology" and s.expert.ref != TWINS[0])
        with pytest.raises(panels.PanelError, match="同一单位的专家.*超过上限 1 位"):
            panels.swap_expert(other, expert(TWINS[1]), actor=None)
    assert table_counts() == before


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(swaps=st.lists(st.tuples(st.integers(0, 19), st.integers(0, 200), st.booleans()), min_size=1, max_size=5))
def test_manual_swaps_never_break_a_rule(app, matched, swaps):
    """Property: whatever swaps are tried (with or without a reason), each is either refused with nothing changed
    or leaves every rule intact (no unaccepted conflicted pair, quotas, loads, organization limit, panel size)."""
    with app.app_context():
        round_ = get_round(matched)
        everyone = db.session.scalars(select(Expert).order_by(Expert.id)).all()
        for seat_index, expert_index, with_reason in swaps:
            seats = sorted(panels.seats(round_), key=lambda seat: seat.id)
            seat, candidate = seats[seat_index % len(seats)], everyone[expert_index % len(everyone)]
            versions_before, pairs_before = len(panels.versions(round_)), seat_pairs(round_)
            try:
                panels.swap_expert(seat, candidate, actor=user("organizer"),
                                   override_reason="组织方确认" if with_reason else None)
            except panels.PanelError:
                db.session.rollback()
                assert (len(panels.versions(round_)), seat_pairs(round_)) == (versions_before, pairs_before)
            else:
                db.session.commit()                 # each swap is its own unit of work, as one request
            hard = {(c.application, c.expert) for c in matching_bridge.round_conflicts(round_) if c.kind == "hard"}
            assert not seat_pairs(round_) & hard          # an organizer never seats a hard conflict
            assert violations(round_) == []


def test_restore_brings_back_the_exact_assignment(app, matched):
    with app.app_context():
        round_ = get_round(matched)
        original = seat_pairs(round_)
        panel = panels.seats(round_, application("APP-003"))
        spare = next(seat for seat in panel               # a member whose pool keeps its minimum without them
                     if sum(other.pool == seat.pool for other in panel) > QUOTAS[seat.pool][0])
        panels.remove_expert(spare, actor=None, reason="时间冲突")
        assert len(seat_pairs(round_)) == 19 and panels.active_version(round_).status == "manual"
        panels.restore_version(panels.version_by_number(round_, 1), actor=user("organizer"), confirmed=True)
        assert seat_pairs(round_) == original and panels.active_version(round_).number == 1
        with pytest.raises(panels.PanelError, match="已是当前版本"):
            panels.restore_version(panels.version_by_number(round_, 1), actor=None, confirmed=True)


def test_replace_from_reserves_moves_nobody_else(app, matched):
    with app.app_context():
        round_ = get_round(matched)
        leaving = member(round_, "APP-002", "technology")
        others = seat_pairs(round_) - {("APP-002", leaving.expert.ref)}
        leaving.state, leaving.state_reason = "recused", "与申报单位有合作"
        db.session.commit()
        solver_objective = leaving.version.objective
        first_fitting = next(r for r, problem in panels.reserve_report(leaving) if problem is None)
        new = panels.replace_from_reserves(leaving, actor=None)
        assert new.expert_id == first_fitting.expert_id and new.replaces_id == leaving.id
        assert leaving.state == "recused" and new.version_id == leaving.version_id
        assert new.version.objective == solver_objective          # the solver's figure is kept
        assert seat_pairs(round_) == others | {("APP-002", new.expert.ref)}
        assert violations(round_) == []
        remaining = {reserve.expert_id for reserve in panels.reserves_of(new.version, new.application)}
        assert new.expert_id not in remaining and leaving.expert_id not in remaining   # seated or left: no reserve
        with pytest.raises(panels.PanelError, match="已由 .* 替换"):
            panels.replace_from_reserves(leaving, actor=None)


def test_a_recused_member_is_explained_as_recused_not_as_not_chosen(app, matched):
    with app.app_context():
        round_ = get_round(matched)
        leaving = member(round_, "APP-002", "technology")
        leaving.state, leaving.state_reason = "recused", "与申报单位有合作"
        db.session.commit()
        panels.replace_from_reserves(leaving, actor=None)
        context = matching_bridge.round_context(round_)
        e = context.problem.expert_index[leaving.expert.ref]
        a = context.problem.application_index["APP-002"]
        departed = panels._departed(context, panels._version_rows(leaving.version), a)
        assert departed == {(e, a): "已回避（与申报单位有合作）"}
        assert context.instance.allowed[e, a]                  # the round's own instance is left as it was
        assert "未选：整体最优" not in " ".join(line for line in panels.explanation(round_, leaving.application)
                                              ["not_chosen"] if leaving.expert.ref in line)


def test_replace_from_reserves_skips_a_reserve_conflicted_since_the_run(app, matched):
    with app.app_context():
        round_ = get_round(matched)
        leaving = member(round_, "APP-001", "technology")
        fitting = [r for r, problem in panels.reserve_report(leaving) if problem is None]
        conflicted = fitting[0].expert
        conflicted.declared.append(DeclaredRelation(position=0, kind="drafted", application_ref="APP-001"))
        db.session.commit()
        report = dict((r.expert.ref, problem) for r, problem in panels.reserve_report(leaving))
        assert "利益冲突：专家申报" in report[conflicted.ref]       # the declared relation, in words
        new = panels.replace_from_reserves(leaving, actor=None)
        assert leaving.state == "declined"
        assert new is None or new.expert_id != conflicted.id
        conflicted_pairs = {(c.application, c.expert) for c in matching_bridge.round_conflicts(round_)}
        assert not seat_pairs(round_) & conflicted_pairs


def test_replace_from_reserves_returns_none_with_a_reason_when_nobody_fits(app):
    round_id = build_round(app, reserves=0)
    with app.app_context():
        round_ = get_round(round_id)
        panels.run_matching(round_, actor=None)
        leaving = member(round_, "APP-001", "technology")
        pairs = seat_pairs(round_)
        assert panels.replace_from_reserves(leaving, actor=None) is None
        assert panels.no_reserve_reason(leaving) == "申报书 APP-001 没有备选专家。"
        assert seat_pairs(round_) == pairs - {("APP-001", leaving.expert.ref)}


@st.composite
def panel_settings(draw):
    """Panel settings for the small round: size, load cap, organization limit, pool minima within the size."""
    size = draw(st.integers(3, 7))
    quotas, room = {}, size
    for pool in ("law", "economics", "management", "industry"):
        low = draw(st.integers(0, min(1, room)))
        quotas[pool] = [low, draw(st.integers(max(low, 1), size))]
        room -= low
    quotas["technology"] = [draw(st.integers(0, room)), size]
    return {"panel_size": size, "pool_quotas": quotas, "max_load": draw(st.integers(1, 4)),
            "max_per_organization": draw(st.integers(1, 2)), "reserves": draw(st.integers(0, 3)),
            "objective": draw(st.sampled_from(["total", "fair"]))}


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=panel_settings())
def test_solver_runs_never_store_a_broken_or_conflicted_panel(app, matched, values):
    """Property: whatever the settings, a run either stores an active version keeping every rule (and no
    conflicted pair, no conflicted reserve), or an inactive infeasible one with the engine's sentences while the
    previous active version stays."""
    with app.app_context():
        round_ = get_round(matched)
        rounds.update_settings(round_, values, actor=None)
        previous = panels.active_version(round_).id
        version = panels.run_matching(round_, actor=None)
        conflicted = {(c.application, c.expert) for c in matching_bridge.round_conflicts(round_)}
        if version.status == "infeasible":
            assert not version.active and version.diagnostics and panels.active_version(round_).id == previous
            return
        assert version.active and len(panels.seats(round_)) == 4 * values["panel_size"]
        assert not seat_pairs(round_) & conflicted
        assert not {(r.application.ref, r.expert.ref) for r in version.reserves} & conflicted
        assert violations(round_) == []


def test_a_run_that_ends_after_scoring_started_stores_nothing(app, matched, table_counts):
    """Scoring starting while the solver runs: the run is refused when it ends and the panels stay."""
    before = table_counts()
    started = []

    def scoring_starts(step: str, number: int) -> None:
        if not started:
            started.append(step)
            with db.engine.begin() as connection:
                connection.execute(update(Round.__table__).where(Round.__table__.c.id == matched)
                                   .values(state="scoring"))

    with app.app_context():
        with pytest.raises(panels.PanelError, match="评分") as refused:
            panels.match(get_round(matched), actor=None, progress=scoring_starts)
        assert refused.value.code == "round_not_assigning" and started
        db.session.rollback()
        assert panels.active_version(get_round(matched)).number == 1
    assert table_counts() == before


def test_the_stored_reason_of_a_swapped_seat_is_in_chinese_whatever_the_organizers_interface_language(
        app, matched):
    from flask_babel import force_locale

    with app.test_request_context(), force_locale("en"):
        seat = member(get_round(matched), "APP-002", "technology")
        panels.swap_expert(seat, expert(SOFT_EXPERT), actor=user("organizer"), override_reason="申请回避理由不成立")
        replaced = db.session.scalar(select(Assignment).where(Assignment.state == "replaced"))
        assert replaced.state_reason == f"已换为 {SOFT_EXPERT}"


def test_a_run_not_proven_optimal_is_stored_as_feasible_never_optimal(app, matched, monkeypatch):
    """A meeting or fair run with a gap, or a solve stopped at a limit, keeps every rule but proves nothing: the
    version must not say optimal (the page's badge reads the stored status)."""
    real_assign = panels.assign

    def unproven(problem, **options):
        result = real_assign(problem, **options)
        result.status, result.bound = "feasible", result.objective + 1.0
        return result

    monkeypatch.setattr(panels, "assign", unproven)
    with app.app_context():
        version = panels.run_matching(get_round(matched), actor=None)
        assert (version.number, version.status, version.active) == (2, "feasible", True)
        assert len(version.assignments) == 20 and violations(get_round(matched)) == []
        with force_locale("zh_Hans_CN"):
            assert label("feasible", "version_status") == "可行（未证明最优）"


def test_the_rounds_time_limit_reaches_the_solver_and_is_stored_with_the_version(app, matched, monkeypatch):
    """An organizer bounds a national-scale run with the round's time limit: the site's run passes it to the
    engine, and the version's settings snapshot records the limit it ran under."""
    real_assign, limits = panels.assign, []

    def recording(problem, **options):
        limits.append(problem.settings.time_limit)
        return real_assign(problem, **options)

    monkeypatch.setattr(panels, "assign", recording)
    with app.app_context():
        rounds.update_settings(get_round(matched), {"time_limit": 30}, actor=None)
        version = panels.run_matching(get_round(matched), actor=None)
        assert limits == [30]
        assert version.settings["time_limit"] == 30 and version.status == "optimal"
        rounds.update_settings(get_round(matched), {"time_limit": None}, actor=None)
        assert panels.run_matching(get_round(matched), actor=None).settings["time_limit"] is None
        assert limits == [30, None]


def test_a_new_seat_records_its_fit_components_without_building_the_round_wide_matrices(app, matched,
                                                                                        monkeypatch):
    """A replacement's field and text fit are the pair's own, read for that pair only: the E x A component
    matrices (2 GB at 10,000 x 25,000) are never written for one seat."""
    from matching.affinity import FitMatrix

    with app.app_context():
        round_ = get_round(matched)
        fit = matching_bridge.round_context(round_).fit
        leaving = member(round_, "APP-002", "technology")
        leaving.state, leaving.state_reason = "recused", "与申报单位有合作"
        db.session.commit()
        for name in ("field_fit", "text_fit"):
            monkeypatch.setattr(FitMatrix, name, property(lambda self: pytest.fail("E x A matrix built")))
        new = panels.replace_from_reserves(leaving, actor=None)
        monkeypatch.undo()
        e, a = fit.experts.index(new.expert.ref), fit.applications.index(new.application.ref)
        assert (new.field_fit, new.text_fit) == (round(float(fit.field_fit[e, a]), 6),
                                                  round(float(fit.text_fit[e, a]), 6))
