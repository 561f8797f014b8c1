"""A matching job over the deployment's memory limit (PANEL_MATCHING_MEMORY) fails at once, for good, with a
catalog sentence giving the estimate and the limit, instead of a worker killed mid-run and its retries."""

from __future__ import annotations

import re

import pytest

from tests.web.test_matching_jobs import EVERY_RUN_A_JOB, jobs_of, post_match, versions_of
from tests.web.test_panels_factory import build_round
from web.config import default_config
from web.extensions import db
from web.models import Round
from web.services.matching_bridge import TOO_LARGE, gigabytes, memory_refusal

MIB = 1 << 20


@pytest.mark.app_config(**EVERY_RUN_A_JOB, PANEL_MATCHING_MEMORY=100 * MIB)
def test_a_round_over_the_limit_fails_without_retry_and_its_page_gives_the_sentence(app, client, auth,
                                                                                    csrf_token):
    round_id = build_round(app)
    auth.login("organizer")
    post_match(client, csrf_token, round_id)
    [job] = jobs_of(app)
    assert (job.state, job.error, job.attempts) == ("failed", TOO_LARGE, 1)
    assert job.outcome["limit"] == 100 * MIB and job.outcome["estimate"] > 100 * MIB and job.outcome["pairs"] > 0
    assert versions_of(app, round_id) == []
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    estimate = gigabytes(job.outcome["estimate"], 100 * MIB)["estimate"]
    assert f"本轮约需 {estimate} GB 内存，超过本机上限 0.09 GB；请在内存更大的工作机上运行。" in page


@pytest.mark.app_config(**EVERY_RUN_A_JOB, PANEL_MATCHING_MEMORY=64 << 30)
def test_a_round_under_the_limit_runs(app, client, auth, csrf_token):
    round_id = build_round(app)
    auth.login("organizer")
    post_match(client, csrf_token, round_id)
    [job] = jobs_of(app)
    assert job.state == "done" and len(versions_of(app, round_id)) == 1


def test_the_setting_is_read_as_a_size_and_a_bad_one_stops_the_start(monkeypatch, tmp_path):
    monkeypatch.setenv("PANEL_MATCHING_MEMORY", "8G")
    assert default_config(str(tmp_path))["PANEL_MATCHING_MEMORY"] == 8 << 30
    monkeypatch.delenv("PANEL_MATCHING_MEMORY")
    assert default_config(str(tmp_path))["PANEL_MATCHING_MEMORY"] is None
    monkeypatch.setenv("PANEL_MATCHING_MEMORY", "lots")
    with pytest.raises(ValueError, match="^PANEL_MATCHING_MEMORY: not a memory size: 'lots'"):
        default_config(str(tmp_path))


@pytest.mark.app_config(PANEL_MATCHING_MEMORY=100 * MIB)
def test_a_small_round_run_inline_is_held_to_the_limit_too(app, client, auth, csrf_token, table_counts):
    """A round small enough to run in the request is refused like a job of it, not run past the limit; nothing
    is stored and no job is asked for."""
    round_id = build_round(app)
    auth.login("organizer")
    before = table_counts()
    answer = post_match(client, csrf_token, round_id)
    assert answer.status_code == 302
    assert versions_of(app, round_id) == [] and jobs_of(app) == []
    assert table_counts() == before
    page = client.get(f"/rounds/{round_id}").get_data(as_text=True)
    assert "本轮所需内存超过本机上限" in page


@pytest.mark.app_config(PANEL_MATCHING_MEMORY=100 * MIB)
def test_a_run_in_the_request_counts_the_experts_once_and_is_refused_with_a_jobs_figures(app, client, auth,
                                                                                         csrf_token):
    """The request checked the round, chose inline and estimated the run, each counting the experts (three
    counts for one run); it counts them once, as a job does, and its refusal carries the job's figures."""
    from sqlalchemy import event

    from web.services import panels
    from web.services.matching_runs import start_matching

    round_id = build_round(app)
    counts = []

    def counted(conn, cursor, statement, parameters, context, executemany):
        if "count(expert.id)" in statement:
            counts.append(statement)

    with app.test_request_context("/"):
        round_ = db.session.get(Round, round_id)
        event.listen(db.engine, "before_cursor_execute", counted)
        try:
            with pytest.raises(panels.PanelError) as refusal:
                start_matching(round_, actor=None)
        finally:
            event.remove(db.engine, "before_cursor_execute", counted)
        inline = refusal.value.details
        db.session.rollback()
    assert len(counts) == 1 and jobs_of(app) == []
    app.config.update(EVERY_RUN_A_JOB)
    auth.login("organizer")
    post_match(client, csrf_token, round_id)
    [job] = jobs_of(app)
    assert job.error == TOO_LARGE
    assert {key: job.outcome[key] for key in ("estimate", "limit", "pairs", "errors")} == inline


@pytest.mark.app_config(PANEL_MATCHING_MEMORY=100 * MIB)
def test_panel_match_is_held_to_the_limit_and_exits_1_with_the_figures(app, runner):
    build_round(app)
    result = runner.invoke(args=["match", "--round", "测试轮次", "--dry-run"])
    assert result.exit_code == 1
    assert "超过本机上限 0.09 GB" in result.stderr
    assert versions_of(app, 1) == []


def test_a_refusal_just_over_the_limit_does_not_read_as_equal_figures(app):
    """The estimate is shown rounded up and the limit down: a round a byte over an 8 GB limit must not read
    "needs about 8.0 GB, more than the limit of 8.0 GB"."""
    round_id = build_round(app)
    with app.test_request_context("/"):
        round_ = db.session.get(Round, round_id)
        peak = memory_refusal(round_, 1)["estimate"]
        refusal = memory_refusal(round_, peak - 1)
        assert refusal["estimate"] == peak and refusal["limit"] == peak - 1
        estimate, limit = (float(figure) for figure in re.findall(r"(\d+\.\d+) GB", refusal["errors"][0]))
        assert estimate > limit
        assert memory_refusal(round_, peak) is None


@pytest.mark.parametrize(("estimate", "limit", "shown"), [
    ((8 << 30) + 1, 8 << 30, ("8.1", "8.0")), (int(1.02 * (1 << 30)), 900 * MIB, ("1.1", "0.8")),
    (200 * MIB, 100 * MIB, ("0.20", "0.09")), (200 * MIB, MIB, ("0.196", "0.000"))])
def test_gigabytes_round_the_estimate_up_and_the_limit_down(estimate, limit, shown):
    assert tuple(gigabytes(estimate, limit).values()) == shown


@pytest.mark.parametrize(("change", "code"), [
    ("state", "round_not_assigning"), ("applications", "round_without_applications")])
def test_a_run_in_the_request_checks_the_round_under_its_lock_before_the_solve(app, monkeypatch, change, code):
    """What another request changed before this one held the round (the state, the applications) is checked under
    the lock, before the engine runs: refused with its code, the engine never called, nothing stored."""
    from sqlalchemy import delete, update

    from web.models import AssignmentVersion, RoundApplication
    from web.services import matching_runs, panels

    round_id = build_round(app)
    lock, solved = matching_runs.lock_row, []

    def changed_then_locked(model, row_id, **kwargs):
        if change == "state":
            db.session.execute(update(Round).where(Round.id == row_id).values(state="scoring"))
        else:
            db.session.execute(delete(RoundApplication).where(RoundApplication.round_id == row_id))
        lock(model, row_id, **kwargs)

    monkeypatch.setattr(matching_runs, "lock_row", changed_then_locked)
    monkeypatch.setattr(panels, "assign", lambda *args, **kwargs: solved.append(args))
    with app.test_request_context("/"):
        with pytest.raises(panels.PanelError) as refusal:
            matching_runs.start_matching(db.session.get(Round, round_id), actor=None)
        db.session.rollback()
        assert db.session.query(AssignmentVersion).count() == 0
    assert refusal.value.code == code and solved == []
