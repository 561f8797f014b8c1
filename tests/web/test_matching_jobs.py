"""Matching runs from the web: small ones answer inline, others are jobs with progress; refusals in Chinese.

The jobs here run on the immediate queue (right after the request's commit), or wait on the embedded queue with
no worker when a test needs a job to stay unfinished. A worker killed mid-run, or two workers, are tested on the
real stores in tests/web/test_jobs_queue.py.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import delete, func, select

from tests.web.test_chinese_pages import english_words, readable
from tests.web.test_panels_factory import build_round
from web.extensions import db
from web.models import AssignmentVersion, AuditEvent, Job, Round, RoundApplication
from web.services import panels, rounds
from web.services.matching_runs import start_matching

EVERY_RUN_A_JOB = {"PANEL_MATCHING_INLINE_PAIRS": 0}


def post_match(client, csrf_token, round_id: int, **form):
    token = csrf_token(client.get(f"/rounds/{round_id}").get_data(as_text=True))
    return client.post(f"/rounds/{round_id}/match", data={"seed": "", "max_probability": "", **form,
                                                          "csrf_token": token})


def versions_of(app, round_id: int) -> list[AssignmentVersion]:
    with app.app_context():
        found = db.session.scalars(select(AssignmentVersion).where(AssignmentVersion.round_id == round_id)
                                   .order_by(AssignmentVersion.number)).all()
        db.session.expunge_all()
        return found


def jobs_of(app) -> list[Job]:
    with app.app_context():
        found = db.session.scalars(select(Job).where(Job.kind == "matching").order_by(Job.id)).all()
        db.session.expunge_all()
        return found


def flashes(client, url: str) -> str:
    return client.get(url).get_data(as_text=True)


@pytest.mark.app_config(**EVERY_RUN_A_JOB)
def test_a_run_over_the_inline_size_is_a_job_that_stores_one_version(app, client, auth, csrf_token):
    round_id = build_round(app)
    auth.login("organizer")
    response = post_match(client, csrf_token, round_id)
    # the immediate queue finished the job before the answer: the organizer lands on the version, as inline
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/rounds/{round_id}/versions/1")
    [job] = jobs_of(app)
    assert (job.state, job.step, job.done, job.total, job.attempts) == ("done", "finished", 6, 6, 1)
    assert job.outcome["version"] == 1 and job.outcome["active"] is True and job.outcome["status"] == "optimal"
    [version] = versions_of(app, round_id)
    assert version.active and version.created_by_id == job.requested_by_id
    status = client.get(f"/jobs/{job.id}.json").get_json()
    assert status["kind_label"] == "专家匹配" and status["result_url"] == f"/rounds/{round_id}/versions/1"
    assert status["result_label"] == "查看第 1 版" and status["download"] is None
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert f'href="/rounds/{round_id}/versions/1"' in page and "http-equiv" not in page


@pytest.mark.app_config(**EVERY_RUN_A_JOB)
def test_a_matching_job_keeps_where_its_time_went_and_a_replay_solving_the_same_problem(app, client, auth,
                                                                                       csrf_token, runner):
    round_id = build_round(app)
    auth.login("organizer")
    post_match(client, csrf_token, round_id)
    [job] = jobs_of(app)
    timing = job.outcome["timing"]
    assert list(timing)[:3] == ["loading", "conflicts", "fit"] and list(timing)[-2:] == ["storing", "total"]
    assert min(timing.values()) >= 0 and sum(timing.values()) - timing["total"] == pytest.approx(timing["total"],
                                                                                                 abs=0.01)
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert "各步用时" in page and "保存版本" in page and job.outcome["input_hash"] in page
    command = page.split("<code>")[2].split("</code>")[0]
    assert english_words(readable(page), (command, job.outcome["input_hash"], "organizer")) == []
    replay = command.removeprefix("panel match ").split()
    assert replay[:2] == ["--round", str(round_id)] and "--dry-run" in replay
    result = runner.invoke(args=["match", *replay])
    assert json.loads(result.output)["input_hash"] == job.outcome["input_hash"]
    assert [version.number for version in versions_of(app, round_id)] == [1]


def test_a_small_run_answers_inline_without_a_job(app, client, auth, csrf_token):
    round_id = build_round(app)
    auth.login("organizer")
    response = post_match(client, csrf_token, round_id)
    assert response.headers["Location"].endswith(f"/rounds/{round_id}/versions/1")
    assert jobs_of(app) == [] and len(versions_of(app, round_id)) == 1


def test_meeting_mode_and_the_fair_objective_are_always_jobs(app, client, auth, csrf_token):
    round_id = build_round(app, mode="meeting")
    auth.login("organizer")
    post_match(client, csrf_token, round_id)
    [job] = jobs_of(app)
    assert job.state == "done" and versions_of(app, round_id)[0].number == job.outcome["version"]
    with app.app_context():
        round_ = db.session.get(Round, round_id)
        round_.mode, round_.objective = "individual", "fair"
        from web.services.matching_runs import runs_inline

        assert not runs_inline(round_, experts=1)
        round_.objective = "total"
        assert runs_inline(round_, experts=1)


@pytest.mark.app_config(**EVERY_RUN_A_JOB)
def test_a_randomized_job_draws_its_seed_when_asked_so_a_retry_draws_the_same_panels(app, client, auth,
                                                                                        csrf_token):
    round_id = build_round(app)
    auth.login("organizer")
    post_match(client, csrf_token, round_id, max_probability="0.8")
    [job] = jobs_of(app)
    [version] = versions_of(app, round_id)
    assert job.params["seed"] is None and isinstance(job.params["drawn_seed"], int)
    assert version.seed == job.params["drawn_seed"]


@pytest.mark.parametrize(("state", "apps", "sentence"), [
    ("draft", 4, "只有在分配专家阶段才能运行匹配。"),
    ("assigning", 0, "该轮次没有需要分配专家的申报。"),
])
@pytest.mark.app_config(**EVERY_RUN_A_JOB)
def test_a_run_the_round_cannot_have_is_refused_in_chinese_and_nothing_changes(app, client, auth, csrf_token,
                                                                                table_counts, state, apps,
                                                                                sentence):
    round_id = build_round(app, state=state)
    if apps == 0:
        with app.app_context():
            db.session.execute(delete(RoundApplication).where(RoundApplication.round_id == round_id))
    auth.login("organizer")
    before = table_counts()
    response = post_match(client, csrf_token, round_id)
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/rounds/{round_id}")
    assert table_counts() == before
    assert sentence in flashes(client, f"/rounds/{round_id}")


@pytest.mark.app_config(PANEL_QUEUE="sqlite", **EVERY_RUN_A_JOB)
def test_asking_again_joins_the_run_under_way_and_other_settings_are_refused(app, client, auth, csrf_token,
                                                                            make_user, table_counts):
    """No worker consumes the embedded queue here: the first job stays queued."""
    round_id = build_round(app)
    auth.login("organizer")
    first = post_match(client, csrf_token, round_id, seed="7")
    assert first.status_code == 303 and first.headers["Location"].startswith("/jobs/")
    page = client.get(first.headers["Location"]).get_data(as_text=True)
    assert '<meta http-equiv="refresh"' in page and "<progress" in page and "jobs.js" in page
    assert "专家匹配" in page and "排队等待处理" in page
    overview = client.get(f"/rounds/{round_id}").get_data(as_text=True)
    assert f'href="{first.headers["Location"]}"' in overview and "匹配正在进行" in overview
    auth.logout()
    auth.login("admin")
    again = post_match(client, csrf_token, round_id, seed="7")
    assert again.status_code == 303 and again.headers["Location"] == first.headers["Location"]
    before = table_counts()
    other = post_match(client, csrf_token, round_id, seed="8")
    assert other.status_code == 302 and table_counts() == before
    assert "本轮次正在按另一组设置运行匹配" in flashes(client, f"/rounds/{round_id}")
    [job] = jobs_of(app)
    assert job.state == "queued" and versions_of(app, round_id) == []
    with app.app_context():
        asked = db.session.scalar(select(func.count()).where(AuditEvent.action == "job.requested"))
    assert asked == 1
    with app.app_context():        # the service's own refusal reads the same for any caller (a command, a job)
        with pytest.raises(panels.PanelError, match="本轮次正在按另一组设置运行匹配") as refused:
            start_matching(db.session.get(Round, round_id), actor=None, seed=9, max_probability=None)
        assert refused.value.code == "matching_under_way"


def test_the_cli_run_shows_the_result_as_before(app, runner):
    """`panel match` stays synchronous (its progress bar is drawn only on a terminal)."""
    build_round(app)
    result = runner.invoke(args=["match", "--round", "测试轮次"])
    assert result.exit_code == 0 and "stored as version 1 (active)" in result.output
    with app.app_context():
        assert panels.active_version(db.session.scalar(select(Round))).number == 1


@pytest.mark.app_config(PANEL_QUEUE="sqlite", **EVERY_RUN_A_JOB)
def test_two_organizers_starting_the_same_run_at_once_get_one_job(app, auth, csrf_token, make_user):
    """Both requests pass their checks at the same moment; the round's lock serves them one after the other."""
    import threading

    round_id = build_round(app)
    make_user("second", "organizer")
    clients = [app.test_client(), app.test_client()]
    tokens = []
    for client, username in zip(clients, ("organizer", "second"), strict=True):
        if username == "organizer":
            make_user("organizer", "organizer")
        login_page = client.get("/login").get_data(as_text=True)
        client.post("/login", data={"username": username, "password": auth.password,
                                    "csrf_token": csrf_token(login_page)})
        tokens.append(csrf_token(client.get(f"/rounds/{round_id}").get_data(as_text=True)))
    start = threading.Barrier(2)
    answers: list = [None, None]

    def ask(number: int) -> None:
        start.wait()
        answers[number] = clients[number].post(f"/rounds/{round_id}/match", data={
            "seed": "", "max_probability": "", "csrf_token": tokens[number]})

    threads = [threading.Thread(target=ask, args=(number,)) for number in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [answer.status_code for answer in answers] == [303, 303]
    assert answers[0].headers["Location"] == answers[1].headers["Location"]
    assert len(jobs_of(app)) == 1


def test_every_refusal_of_a_run_has_a_sentence_in_the_catalog(app):
    from web.blueprints.jobs.labels import ERROR_LABELS, error_sentence

    codes = (*panels.MATCHING_REFUSALS, "matching_under_way")
    with app.test_request_context("/"):
        assert all(code in ERROR_LABELS for code in codes)
        assert all(error_sentence(code).endswith("。") for code in codes)        # Chinese by default


def test_a_run_with_a_seed_no_draw_can_take_is_refused_in_chinese_and_nothing_changes(app, client, auth,
                                                                                       csrf_token, table_counts):
    """The run form's seed: a negative one (the draw's generator refuses it) was a server error, and one above
    the version's integer column a database error on PostgreSQL; each is a refusal naming the seed, with no
    version and no job."""
    round_id = build_round(app)
    auth.login("organizer")
    before = table_counts()
    for seed, sentence in (("-1", "随机种子：必须留空或填写不小于 0 的整数，而不是“-1”"),
                           (str(10**12), "随机种子：不能大于 2147483647，而不是“1000000000000”")):
        response = post_match(client, csrf_token, round_id, seed=seed, max_probability="0.9")
        assert response.status_code == 302 and response.headers["Location"].endswith(f"/rounds/{round_id}")
        assert sentence in flashes(client, f"/rounds/{round_id}")
    assert table_counts() == before and versions_of(app, round_id) == [] and jobs_of(app) == []


@pytest.mark.app_config(**EVERY_RUN_A_JOB)
def test_a_matching_job_solves_under_the_rounds_time_limit(app, client, auth, csrf_token):
    """A run too large for the request is a job, and the job's run reads the round's time limit as the inline
    run does: the version's settings snapshot records the limit it solved under."""
    round_id = build_round(app)
    with app.app_context():
        rounds.update_settings(db.session.get(Round, round_id), {"time_limit": 45}, actor=None)
        db.session.commit()
    auth.login("organizer")
    post_match(client, csrf_token, round_id)
    [job] = jobs_of(app)
    [version] = versions_of(app, round_id)
    assert job.state == "done" and version.settings["time_limit"] == 45


def test_a_leftover_message_does_not_run_again_a_job_whose_worker_died_on_its_last_attempt(app, monkeypatch):
    """A job waiting long in the queue gets a message more each minute (``requeue_stalled``: in case its message
    was lost); one left over once its worker died on the last attempt (a national run out of memory) must not
    take the job over and run it again: ``requeue_stalled`` fails it."""
    from datetime import timedelta

    from web.jobs import runner
    from web.jobs.queue import MATCHING, run
    from web.jobs.work import WORK
    from web.models import utcnow

    stopped = utcnow() - timedelta(seconds=runner.STALL_SECONDS + 1)
    ran = []
    monkeypatch.setitem(WORK, "matching", lambda job, progress: ran.append(job.id))
    with app.app_context():
        job = Job(kind="matching", state="running", step="solve", attempts=runner.MAX_ATTEMPTS, created_at=stopped,
                  started_at=stopped, heartbeat_at=stopped)
        db.session.add(job)
        db.session.commit()
        job_id = job.id
    run(app, "run_job", job_id, on=MATCHING)                  # the leftover message, as a worker runs it
    with app.app_context():
        job = db.session.get(Job, job_id)
        assert ran == [] and (job.state, job.attempts) == ("running", runner.MAX_ATTEMPTS)
