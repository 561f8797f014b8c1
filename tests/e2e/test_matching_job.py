"""In the browser, a matching run over the inline size: the organizer clicks "run matching", lands on the job's
progress page, which (polling its JSON) turns into the finished page: a link to the stored version, and where the
run spent its time with the command that replays it."""

from __future__ import annotations

from datetime import date

import pytest

expect = pytest.importorskip("playwright.sync_api").expect
WAIT_STEPS = 600          # 100 ms each: a generous bound for a loaded machine (the run takes about a second)
SMALL_PANELS = {"panel_size": 5, "max_load": 5, "reserves": 3,
                "pool_quotas": {"technology": [2, 3], "industry": [1, 2], "economics": [0, 1],
                                "management": [0, 1], "law": [0, 1]}}


def test_a_matching_job_shows_its_steps_then_links_to_the_version(page, live, login, seed_demo):
    seed_demo(live, applications=6, experts=80)
    live.app.config["PANEL_MATCHING_INLINE_PAIRS"] = 0            # every run is a job
    live.user("organizer", "organizer")
    round_id = live.run(_assigning_round)
    login(page, live, "organizer")

    page.goto(f"{live.url}/rounds/{round_id}")
    page.locator("form.run button").click()
    page.wait_for_url("**/jobs/*")
    expect(page.locator("main h1")).to_have_text("专家匹配")
    version_link = page.locator("main a.download")
    for _ in range(WAIT_STEPS):
        if version_link.count():
            break
        page.wait_for_timeout(100)
    expect(version_link).to_have_text("查看第 1 版")
    expect(page.locator("main .job-state")).to_have_text("已完成")
    assert "/jobs/" in page.url                                    # the script reloaded the job's own page
    expect(page.locator("main h2")).to_have_text("本次运行各步用时")     # and shows where the run spent its time
    expect(page.locator("main code").last).to_contain_text("panel match --round")
    version_link.click()
    page.wait_for_url(f"**/rounds/{round_id}/versions/1")


def _assigning_round() -> int:
    from web.services import rounds

    round_ = rounds.create_round("浏览器匹配任务", "selection_review", as_of=date(2020, 10, 1),
                                 application_refs=_refs(), actor=None)
    rounds.update_settings(round_, SMALL_PANELS, actor=None)
    rounds.transition(round_, "assigning", actor=None)
    return round_.id


def _refs() -> list[str]:
    from sqlalchemy import select

    from web.extensions import db
    from web.models import Application

    return list(db.session.scalars(select(Application.ref).order_by(Application.id)))
