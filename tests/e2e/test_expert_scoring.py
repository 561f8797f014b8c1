"""In the browser: an expert declares no conflict, scores on a phone-width screen with the live total and the step
check, has the draft autosaved, submits; a second expert recuses, and the organizer gives the seat to the first feasible reserve."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

pytestmark = pytest.mark.e2e
expect = pytest.importorskip("playwright.sync_api").expect


def test_expert_declares_scores_and_submits(page, live, login, seed_demo, scoring_round):
    seed_demo(live, applications=6, experts=80)
    round_id = scoring_round(live)
    seat = live.run(_seats, round_id)[0]
    live.user("expert-a", "expert", expert_ref=seat["expert"])
    login(page, live, "expert-a")

    page.goto(f"{live.url}/expert/")
    page.locator(f"a[href$='/seats/{seat['id']}/declare']").click()
    assert seat["center_name"] in page.locator("main").inner_text()
    page.check("input[name=conflict][value=no]")
    page.locator("form.declaration button[type=submit]").click()
    page.wait_for_url(f"**/expert/seats/{seat['id']}/sheet")
    page.set_viewport_size({"width": 390, "height": 844})  # the sheet is filled on a phone
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing runs off the screen

    criteria = live.run(_criteria, round_id)
    first = criteria[0]
    field = page.locator(f"input[name=score-{first['code']}]")
    field.fill(str(first["step"] * 0.6))  # off the step: flagged as typed
    assert field.get_attribute("aria-invalid") == "true"
    assert page.locator(f"li.criterion:has(input[name=score-{first['code']}]) .check").inner_text() != ""
    running = 0.0
    values = {}
    for criterion in criteria:
        value = criterion["max"] - criterion["step"] * (1 + len(values) % 3)
        values[criterion["code"]] = value
        page.fill(f"input[name=score-{criterion['code']}]", _plain(value))
        running += value
        assert page.locator("#total").inner_text() == _plain(running)  # the live total follows each entry
    assert field.get_attribute("aria-invalid") == "false"
    page.locator(f"input[name=score-{criteria[-1]['code']}]").blur()  # a change autosaves the draft
    _eventually(lambda: live.run(_sheet, round_id, seat)["values"] == values)
    assert page.locator("#autosave-status").inner_text() != ""
    page.reload()
    assert page.locator(f"input[name=score-{first['code']}]").input_value() == _plain(values[first["code"]])

    page.check("input[name=opinion][value=recommend]")
    page.fill("textarea[name=comment]", "技术路线清晰，建议支持。")
    page.locator("button[name=action][value=submit]").click()
    page.wait_for_url("**/expert/")
    assert _plain(running) in page.locator("li.seat", has_text=seat["ref"]).inner_text()
    stored = live.run(_sheet, round_id, seat)
    assert stored["state"] == "submitted" and stored["opinion"] == "recommend" and stored["values"] == values

    page.goto(f"{live.url}/expert/seats/{seat['id']}/sheet")  # locked once submitted
    assert page.locator(f"input[name=score-{first['code']}]").is_disabled()
    assert page.locator("button[name=action][value=submit]").count() == 0


def test_expert_recuses_and_the_organizer_replaces_from_the_reserves(page, live, login, logout, seed_demo,
                                                                       scoring_round):
    seed_demo(live, applications=6, experts=80)
    round_id = scoring_round(live)
    seat = next(seat for seat in live.run(_seats, round_id) if live.run(_first_feasible_reserve, seat["id"]))
    live.user("expert-b", "expert", expert_ref=seat["expert"])
    login(page, live, "expert-b")
    page.goto(f"{live.url}/expert/seats/{seat['id']}/declare")
    page.check("input[name=conflict][value=yes]")
    page.locator("form.declaration button[type=submit]").click()
    expect(page.get_by_role("alert")).to_be_visible()  # a recusal needs a reason: refused, nothing recorded
    assert live.run(_sheet, round_id, seat)["conflict_declared"] is None
    page.check("input[name=conflict][value=yes]")
    page.fill("textarea[name=reason]", "近三年与该申报的参加单位有合作项目。")
    page.locator("form.declaration button[type=submit]").click()
    page.wait_for_url("**/expert/")
    assert page.locator("li.seat", has_text=seat["ref"]).count() == 0  # the seat is freed
    assert live.run(_sheet, round_id, seat)["conflict_declared"] is True
    reserve = live.run(_first_feasible_reserve, seat["id"])
    assert reserve
    logout(page)

    login(page, live, "organizer")
    page.goto(f"{live.url}/rounds/{round_id}/applications/{seat['application_id']}")
    recused = page.locator("table.panel tr.seat-recused", has_text=seat["expert"])
    assert "近三年与该申报的参加单位有合作项目。" in recused.inner_text()
    with page.expect_navigation():
        recused.locator("form[action$='/replace'] button").click()
    assert "ok" in page.get_by_role("alert").get_attribute("class")
    newcomer = page.locator("table.panel tbody tr", has_text=reserve).first
    assert newcomer.get_attribute("class") in ("seat-proposed", "seat-invited")
    assert reserve in live.run(_seated_refs, round_id, seat["application_id"])
    assert seat["expert"] not in live.run(_seated_refs, round_id, seat["application_id"])

    page.goto(f"{live.url}/followup/outbox")
    assert "【回避声明】" in page.locator("main").inner_text()  # the organizer was told


def _eventually(condition, timeout: float = 10.0) -> None:
    """Wait until ``condition()`` holds (the page's script saves in the background)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the draft was not autosaved"
        time.sleep(0.1)


def _plain(value: float) -> str:
    """A number as the sheet shows it: 7 without a decimal point, 7.5 with one."""
    return str(int(value)) if float(value).is_integer() else str(value)


def _seats(round_id: int) -> list[dict]:
    from web.extensions import db
    from web.models import Round
    from web.services import panels

    return [{"id": seat.id, "expert": seat.expert.ref, "ref": seat.application.ref, "pool": seat.pool,
             "application_id": seat.application_id, "center_name": seat.application.center_name}
            for seat in panels.seats(db.session.get(Round, round_id))]


def _criteria(round_id: int) -> list[dict]:
    from web.extensions import db
    from web.models import Round

    return [{"code": c.code, "max": c.max, "step": c.step}
            for c in db.session.get(Round, round_id).template.criteria]


def _sheet(round_id: int, seat: dict) -> dict:
    from web.extensions import db
    from web.models import Expert, ScoreSheet

    expert = db.session.scalar(select(Expert).where(Expert.ref == seat["expert"]))
    sheet = db.session.scalar(select(ScoreSheet).where(
        ScoreSheet.round_id == round_id, ScoreSheet.application_id == seat["application_id"],
        ScoreSheet.expert_id == expert.id))
    if sheet is None:
        return {"state": None, "conflict_declared": None, "values": {}, "opinion": None}
    return {"state": sheet.state, "conflict_declared": sheet.conflict_declared, "opinion": sheet.opinion,
            "values": {score.criterion.code: score.value for score in sheet.scores if score.value is not None}}


def _first_feasible_reserve(seat_id: int) -> str | None:
    from web.extensions import db
    from web.models import Assignment
    from web.services import panels

    report = panels.reserve_report(db.session.get(Assignment, seat_id))
    return next((reserve.expert.ref for reserve, problem in report if problem is None), None)


def _seated_refs(round_id: int, application_id: int) -> list[str]:
    from web.extensions import db
    from web.models import Round
    from web.services import panels

    round_ = db.session.get(Round, round_id)
    return [seat.expert.ref for seat in panels.seats(round_) if seat.application_id == application_id]
