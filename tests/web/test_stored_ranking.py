"""Stored rankings: computed once per change of the inputs, read by the pages, the export and the API, which say
when it was computed; a change makes it stale, and a large round is renewed by a job meanwhile. Over the memory
limit (the ranking lists every conflict of the round) the job fails for good and the pages say why."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from tests.web.queue_helpers import ask_for
from tests.web.test_ranking_service import build_design_round, sheet_of
from web.extensions import db
from web.local_time import local_time
from web.models import Job, Round, StoredRanking
from web.services import ranking, sheets, stored_ranking
from web.services.matching_bridge import TOO_LARGE


@pytest.fixture
def round_id(app, make_application_record, make_expert_record):
    return build_design_round(app, make_application_record, make_expert_record)


@pytest.fixture
def engine_runs(monkeypatch):
    """How often the scoring engine ranked a round (the expensive part: 10,000 bootstrap draws)."""
    runs = []
    original = ranking.rank_problem

    def counted(problem):
        runs.append(problem)
        return original(problem)

    monkeypatch.setattr(ranking, "rank_problem", counted)
    return runs


def stored_rows(app) -> list[tuple[str, datetime]]:
    with app.app_context():
        return [(row.data_version, row.computed_at) for row in db.session.scalars(select(StoredRanking))]


def test_the_ranking_is_computed_once_and_read_by_every_view(app, client, auth, round_id, engine_runs):
    auth.login("organizer")
    first = client.get(f"/rankings/rounds/{round_id}").get_data(as_text=True)
    stored = stored_rows(app)
    assert len(engine_runs) == 1 and len(stored) == 1
    computed = local_time(stored[0][1], seconds=True)
    assert computed in first and computed.endswith(" UTC+8")             # the page says when, in Beijing time
    with app.app_context():
        p1 = sheet_of(round_id, "P1", "E1").application_id
    assert computed in client.get(f"/rankings/rounds/{round_id}/applications/{p1}").get_data(as_text=True)
    client.get(f"/rankings/rounds/{round_id}/export.xlsx")
    client.get(f"/rankings/rounds/{round_id}/blank.pdf")               # asking for a PDF changes no input
    assert computed in client.get(f"/rankings/rounds/{round_id}").get_data(as_text=True)
    assert len(engine_runs) == 1 and stored_rows(app) == stored


def test_a_change_of_the_sheets_is_ranked_at_the_next_view(app, client, auth, round_id, engine_runs):
    auth.login("organizer")
    client.get(f"/rankings/rounds/{round_id}")
    with app.app_context():
        before = stored_ranking.ranking_for_view(db.session.get(ranking.Round, round_id)).report
        ranked_before = [line.application.ref for line in before.lines if line.result and line.result.rank]
        sheets.reopen(sheet_of(round_id, "P1", "E1"), "请复核第二项", actor=None)   # P1 loses a sheet
        db.session.commit()
    client.get(f"/rankings/rounds/{round_id}")
    assert len(engine_runs) == 2
    with app.app_context():
        report = stored_ranking.ranking_for_view(db.session.get(ranking.Round, round_id)).report
        fresh = ranking.round_ranking(db.session.get(ranking.Round, round_id))
        assert report.result == fresh.result                              # the stored result is the fresh one
        assert "P1" in ranked_before and report.result != before.result
    assert len(stored_rows(app)) == 1                                    # replaced, not added


def test_an_unchanged_input_after_a_change_elsewhere_is_not_ranked_again(app, round_id, engine_runs):
    with app.app_context():
        round_ = db.session.get(ranking.Round, round_id)
        stored_ranking.ranking_for_view(round_)
        db.session.commit()
        sheet = sheet_of(round_id, "P3", "E1")
        sheet.confidence = sheet.confidence                                # touched: the stamp moves…
        sheet.updated_at = sheet.updated_at.replace(microsecond=(sheet.updated_at.microsecond + 1) % 1_000_000)
        db.session.commit()
        stored_ranking.ranking_for_view(round_)                            # …the input does not
        db.session.commit()
    assert len(engine_runs) == 1


def test_a_large_round_shows_the_stored_ranking_while_a_job_renews_it(app, client, auth, round_id, monkeypatch,
                                                                      engine_runs):
    monkeypatch.setattr(stored_ranking, "INLINE_SHEET_LIMIT", 0)
    auth.login("organizer")
    client.get(f"/rankings/rounds/{round_id}")                            # nothing stored yet: computed inline
    with app.app_context():
        sheets.reopen(sheet_of(round_id, "P1", "E1"), "请复核第二项", actor=None)
        db.session.commit()
    page = client.get(f"/rankings/rounds/{round_id}?lang=en").get_data(as_text=True)
    assert "a recomputation is under way" in page
    with app.app_context():
        job = db.session.scalars(select(Job).where(Job.kind == "ranking")).one()
        assert job.state == "done"                                         # the immediate queue ran it at commit
    assert len(engine_runs) == 2
    assert "a recomputation is under way" not in client.get(f"/rankings/rounds/{round_id}").get_data(as_text=True)


def test_the_api_reads_the_stored_ranking_and_says_when_it_was_computed(app, client, round_id, make_user):
    from web.services.tokens import create_token

    with app.app_context():
        token = create_token(make_user("integrator", "organizer"), "test", actor=None)
        db.session.commit()
    body = client.get(f"/api/v1/rounds/{round_id}/ranking", headers={"Authorization": f"Bearer {token}"}).get_json()
    computed = stored_rows(app)[0][1]
    assert body["computed_at"] == computed.isoformat() + "Z" and body["stale"] is False and body["ranking"]


def test_a_refusal_stored_before_the_groups_were_kept_is_shown_with_its_groups(app, make_application_record,
                                                                             make_expert_record):
    """A calibration refused before an upgrade is stored as the engine's English sentence; nothing has changed
    since, so the page reads that payload: it must still name the design's groups, in Chinese, not fail."""
    import pickle

    from tests.web.test_ranking_service import build_round, get_round

    round_id = build_round(app, make_application_record, make_expert_record,
                           {"P1": [80, 81, 82, None, None, None], "P2": [None, None, None, 70, 71, 72]})
    options = ranking.Options(calibrate=True)
    with app.app_context():
        round_ = get_round(round_id)
        stored_ranking.renew(round_, options)
        stored = db.session.scalar(select(StoredRanking))
        result, _, reasons = pickle.loads(stored.payload)
        stored.payload = pickle.dumps((result, ("calibration refused: the expert–application design falls into 2 "
                                                "unconnected groups, whose experts' biases cannot be compared",),
                                       reasons))
        db.session.commit()
    with app.test_request_context():
        viewed = stored_ranking.ranking_for_view(get_round(round_id), options)
        assert not viewed.stale
        assert viewed.report.calibration_refused == ((("P1",), ("E1", "E2", "E3")), (("P2",), ("E4", "E5", "E6")))
        assert viewed.report.calibration_refusal[0] == "申报书和专家分成 2 个互无共同专家的组，无法跨组比较专家的宽严程度："


# --- held to the memory limit: ranking lists every conflict of the round (≈ 1.5 GB at 5,000 × 12,500), so it is
# refused over PANEL_MATCHING_MEMORY as the conflicts page is, its job failing for good, its pages saying why.

MIB = 1 << 20
LIMIT = 100 * MIB
REFUSED = "本轮排名须先列出全部回避冲突及其原因，约需"
OVER = "超过排名的内存上限 0.09 GB：无法排名。"
TOO_LARGE_HEADING = "<h2>本轮规模过大，无法排名</h2>"
ENGINE_REFUSED = "<h2>评分引擎拒绝计算本轮次</h2>"


def jobs_of(app, kind: str) -> list[Job]:
    with app.app_context():
        found = db.session.scalars(select(Job).where(Job.kind == kind)).all()
        db.session.expunge_all()
        return found


def ranking_jobs(app) -> list[Job]:
    return jobs_of(app, "ranking")


def stored_versions(app) -> list[str]:
    with app.app_context():
        return [row.data_version for row in db.session.scalars(select(StoredRanking))]


def test_the_ranking_pages_render_the_refusal_with_its_figures_and_rank_once_the_round_fits(app, client, auth,
                                                                                          round_id, engine_runs):
    app.config["PANEL_MATCHING_MEMORY"] = LIMIT
    auth.login("organizer")
    with app.app_context():
        p1 = sheet_of(round_id, "P1", "E1").application_id
    for url in (f"/rankings/rounds/{round_id}", f"/rankings/rounds/{round_id}/applications/{p1}"):
        response = client.get(url)
        text = response.get_data(as_text=True)
        assert response.status_code == 200 and REFUSED in text and OVER in text
        assert TOO_LARGE_HEADING in text and ENGINE_REFUSED not in text
    assert engine_runs == [] and ranking_jobs(app) == []
    app.config["PANEL_MATCHING_MEMORY"] = None
    assert REFUSED not in client.get(f"/rankings/rounds/{round_id}").get_data(as_text=True)
    assert len(engine_runs) == 1 and len(stored_versions(app)) == 1


def stale_large_round(app, client, auth, round_id: int, monkeypatch) -> None:
    """A round renewed by a job when stale (every round is large), its ranking stored without a limit and then
    made stale; the organizer logged in."""
    monkeypatch.setattr(stored_ranking, "INLINE_SHEET_LIMIT", 0)
    auth.login("organizer")
    client.get(f"/rankings/rounds/{round_id}")                            # stored without a limit
    with app.app_context():
        sheets.reopen(sheet_of(round_id, "P1", "E1"), "请复核第二项", actor=None)
        db.session.commit()


def test_a_large_round_over_the_limit_says_so_and_asks_no_job(app, client, auth, round_id, monkeypatch,
                                                              engine_runs):
    """A stored ranking gone stale is not shown as current, nor renewed by a job bound to fail."""
    stale_large_round(app, client, auth, round_id, monkeypatch)
    app.config["PANEL_MATCHING_MEMORY"] = LIMIT
    text = client.get(f"/rankings/rounds/{round_id}").get_data(as_text=True)
    assert REFUSED in text and OVER in text and ranking_jobs(app) == [] and len(engine_runs) == 1
    assert TOO_LARGE_HEADING in text and ENGINE_REFUSED not in text


def test_a_round_over_the_workers_ranking_limit_but_under_the_webs_asks_no_job(app, client, auth, round_id,
                                                                               monkeypatch, engine_runs):
    """A web server with more memory than the general queue's workers, which run the ranking jobs: PANEL_RANKING_MEMORY
    is their limit, and a stale view of a large round over it says why at once instead of asking, at each view, for
    a job the worker would fail; the job asked anyway fails on that limit."""
    stale_large_round(app, client, auth, round_id, monkeypatch)
    app.config.update(PANEL_MATCHING_MEMORY=None, PANEL_RANKING_MEMORY=LIMIT)
    for _ in range(2):
        text = client.get(f"/rankings/rounds/{round_id}").get_data(as_text=True)
        assert REFUSED in text and OVER in text and TOO_LARGE_HEADING in text
    assert ranking_jobs(app) == [] and len(engine_runs) == 1
    ask_for(app, "ranking", round_id, capacity=None, calibrate=False, rank_on_calibrated=False)
    [job] = ranking_jobs(app)
    assert (job.state, job.error, job.outcome["limit"]) == ("failed", TOO_LARGE, LIMIT)


def test_the_rankings_limit_stands_for_the_matching_one_when_set(app, client, auth, round_id, engine_runs):
    """PANEL_RANKING_MEMORY above PANEL_MATCHING_MEMORY: the round is ranked (its conflicts listed) under the
    ranking's limit, while the conflicts page, which is no ranking, is still held to the matching one."""
    app.config.update(PANEL_MATCHING_MEMORY=LIMIT, PANEL_RANKING_MEMORY=1 << 40)
    auth.login("organizer")
    text = client.get(f"/rankings/rounds/{round_id}").get_data(as_text=True)
    assert REFUSED not in text and TOO_LARGE_HEADING not in text and len(engine_runs) == 1
    conflicts = client.get(f"/rounds/{round_id}/conflicts", follow_redirects=True).get_data(as_text=True)
    assert "约需" in conflicts and "0.09 GB" in conflicts


def test_the_rankings_limit_is_read_from_the_environment(monkeypatch, tmp_path):
    from web.config import default_config

    monkeypatch.setenv("PANEL_RANKING_MEMORY", "2G")
    assert default_config(str(tmp_path))["PANEL_RANKING_MEMORY"] == 2 << 30
    monkeypatch.setenv("PANEL_RANKING_MEMORY", "")
    assert default_config(str(tmp_path))["PANEL_RANKING_MEMORY"] is None
    monkeypatch.setenv("PANEL_RANKING_MEMORY", "lots")
    with pytest.raises(ValueError, match="PANEL_RANKING_MEMORY: not a memory size"):
        default_config(str(tmp_path))


@pytest.mark.parametrize("kind, params", [
    ("ranking", {"capacity": None, "calibrate": False, "rank_on_calibrated": False}),
    ("sheets_pdf", {}),                 # the signed sheets rank the round first
])
def test_a_ranking_job_over_the_limit_fails_at_once_for_good_with_the_figures(app, client, auth, round_id, kind,
                                                                              params):
    app.config["PANEL_MATCHING_MEMORY"] = LIMIT
    job_id = ask_for(app, kind, round_id, **params)
    [job] = jobs_of(app, kind)
    assert (job.id, job.state, job.error, job.attempts) == (job_id, "failed", TOO_LARGE, 1)
    assert job.outcome["limit"] == LIMIT and job.outcome["estimate"] > LIMIT and job.outcome["pairs"] > 0
    assert job.outcome["errors"][0].startswith(REFUSED) and stored_versions(app) == []
    auth.login("organizer")
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert OVER in page and "本轮规模超过本机内存上限：未作计算。" in page
    assert "请在内存更大的工作机上运行" not in page        # its label is not a matching run's


def test_the_ranking_api_refuses_a_round_too_large_with_422_as_the_evaluation_endpoint_does(
        app, client, round_id, make_user, engine_runs):
    """No 200 with an empty ranking: 422, code ``refused``, the sentence with its figures in ``errors``, at the
    first request and at the next (the refusal stored in place of the ranking)."""
    from web.services.tokens import create_token

    with app.app_context():
        token = create_token(make_user("integrator", "organizer"), "test", actor=None)
        db.session.commit()
    app.config["PANEL_MATCHING_MEMORY"] = LIMIT
    for _ in range(2):
        response = client.get(f"/api/v1/rounds/{round_id}/ranking", headers={"Authorization": f"Bearer {token}"})
        body = response.get_json()
        assert response.status_code == 422 and set(body) == {"code", "error", "errors"}
        assert body["code"] == "refused" and body["error"] == "已拒绝：共 1 个错误，未作任何更改。"
        assert len(body["errors"]) == 1 and body["errors"][0].startswith(REFUSED) and OVER in body["errors"][0]
    assert engine_runs == []


def test_the_ranking_read_directly_is_refused_not_raised(app, round_id):
    """The command line, the trace's review button, centers and combined rankings rank the round directly."""
    app.config["PANEL_MATCHING_MEMORY"] = LIMIT
    with app.app_context():
        round_ = db.session.get(Round, round_id)
        report = ranking.round_ranking(round_)
        assert report.result.ranking == () and report.result.errors[0].startswith(REFUSED)
        assert {row.status for line in report.lines for row in line.rows} <= {"not_ranked", "not_counted"}
        assert ranking.rank_round(round_).errors == report.result.errors


def test_exports_and_review_requests_of_a_round_too_large_to_rank_are_refused_with_the_sentence(
        app, client, auth, csrf_token, table_counts, round_id):
    """No workbook or sheets listing no ranking, and no review asked (there is no flag to put back)."""
    app.config["PANEL_MATCHING_MEMORY"] = LIMIT
    auth.login("organizer")
    with app.app_context():
        sheet = sheet_of(round_id, "P1", "E1")
        p1, sheet_id = sheet.application_id, sheet.id
    page = client.get(f"/rankings/rounds/{round_id}/applications/{p1}").get_data(as_text=True)
    before = table_counts()
    for response in (client.get(f"/rankings/rounds/{round_id}/export.xlsx", follow_redirects=True),
                     client.get(f"/rankings/rounds/{round_id}/applications/{p1}/sheets.pdf", follow_redirects=True),
                     client.post(f"/rankings/rounds/{round_id}/applications/{p1}/reviews", follow_redirects=True,
                                 data={"csrf_token": csrf_token(page), "sheet_id": sheet_id, "code": "ROBUST"})):
        text = response.get_data(as_text=True)
        assert response.mimetype == "text/html" and REFUSED in text and OVER in text
        assert "没有 ROBUST 标记" not in text              # the refusal, not a missing flag
    assert table_counts() == before


def test_the_signed_sheets_of_a_round_over_the_rankings_limit_ask_no_job(app, client, auth, round_id):
    """The round's signed sheets are a job that ranks the round first, on a general worker: over the ranking's
    limit the page says why at once (the sentence with its figures) instead of asking for a job bound to fail."""
    import re

    app.config.update(PANEL_MATCHING_MEMORY=None, PANEL_RANKING_MEMORY=LIMIT)
    auth.login("organizer")
    response = client.get(f"/rankings/rounds/{round_id}/sheets.pdf", follow_redirects=True)
    flashed = re.findall(r'<p class="flash error"[^>]*>([^<]*)</p>', response.get_data(as_text=True))
    assert response.request.path == f"/rankings/rounds/{round_id}"
    assert len(flashed) == 1 and REFUSED in flashed[0] and OVER in flashed[0]
    assert jobs_of(app, "sheets_pdf") == []


@pytest.mark.app_config(PANEL_QUEUE="sqlite")
def test_a_refusal_stored_for_a_large_round_is_not_shown_once_the_round_fits(app, client, auth, round_id,
                                                                             monkeypatch, engine_runs):
    """A stored refusal is no ranking to show while a job renews it (no worker takes the embedded queue here):
    the round is ranked at its next view, as when nothing was stored."""
    monkeypatch.setattr(stored_ranking, "INLINE_SHEET_LIMIT", 0)
    app.config["PANEL_MATCHING_MEMORY"] = LIMIT
    auth.login("organizer")
    assert REFUSED in client.get(f"/rankings/rounds/{round_id}").get_data(as_text=True)
    app.config["PANEL_MATCHING_MEMORY"] = None
    text = client.get(f"/rankings/rounds/{round_id}").get_data(as_text=True)
    assert REFUSED not in text and TOO_LARGE_HEADING not in text
    assert len(engine_runs) == 1 and stored_versions(app) != [stored_ranking.REFUSED]
