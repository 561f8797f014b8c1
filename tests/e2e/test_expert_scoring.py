"""In the browser: an expert declares no conflict, scores on a phone-width screen with the live total and the step
check, has the draft autosaved, confirms the submission; on a desk the application sits beside the sheet with the
organizer's guidance under each criterion; a second expert recuses, and the organizer gives the seat to the first
feasible reserve."""

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
    page.evaluate("window.scrollTo(0, 0)")
    expect(field).not_to_be_in_viewport()                  # the application comes first on a phone …
    page.locator("nav.jump a[href='#sheet-column']").click()
    expect(field).to_be_in_viewport()                      # … and the sheet is one tap away
    field.fill(str(first["step"] * 0.6))  # off the step: flagged as typed
    assert field.get_attribute("aria-invalid") == "true"
    assert page.locator(f"li.criterion:has(input[name=score-{first['code']}]) .check").inner_text() != ""
    assert page.locator("#total").inner_text() == "0"      # the invalid value is not counted …
    note = page.locator("#total-note").inner_text()
    assert "1 个无效分值未计入" in note and f"已评 0 / {len(criteria)} 项" in note   # … and the total says so
    running = 0.0
    values = {}
    for criterion in criteria:
        value = criterion["max"] - criterion["step"] * (1 + len(values) % 3)
        values[criterion["code"]] = value
        page.fill(f"input[name=score-{criterion['code']}]", _plain(value))
        running += value
        assert page.locator("#total").inner_text() == _plain(running)  # the live total follows each entry
    assert field.get_attribute("aria-invalid") == "false"
    assert page.locator("#total-note").inner_text() == ""  # complete: no note
    page.locator(f"input[name=score-{criteria[-1]['code']}]").blur()  # a change autosaves the draft
    _eventually(lambda: live.run(_sheet, round_id, seat)["values"] == values)
    assert page.locator("#autosave-status").inner_text() != ""
    page.reload()
    assert page.locator(f"input[name=score-{first['code']}]").input_value() == _plain(values[first["code"]])

    page.check("input[name=opinion][value=recommend]")
    page.fill("textarea[name=comment]", "技术路线清晰，建议支持。")
    page.locator("button[name=action][value=submit]").click()
    expect(page.locator("#consequence")).to_contain_text("除非组织方退回")   # the lock is spelled out first
    assert live.run(_sheet, round_id, seat)["state"] == "draft"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.locator("form.confirm-submit button[name=action][value=submit]").click()
    page.wait_for_url("**/expert/")
    assert _plain(running) in page.locator("li.seat", has_text=seat["ref"]).inner_text()
    assert seat["ref"] in page.locator("li.seat").last.inner_text()   # submitted sheets come last
    if page.locator("li.seat").count() > 1:                         # the round's deadline (2020-10-30) has passed
        assert "已逾期" in page.locator("li.seat").first.inner_text()
    stored = live.run(_sheet, round_id, seat)
    assert stored["state"] == "submitted" and stored["opinion"] == "recommend" and stored["values"] == values

    page.goto(f"{live.url}/expert/seats/{seat['id']}/sheet")  # locked once submitted
    assert page.locator(f"input[name=score-{first['code']}]").is_disabled()
    assert page.locator("button[name=action][value=submit]").count() == 0


def test_on_a_desk_the_application_sits_beside_the_sheet_with_the_guidance(page, live, login, logout, seed_demo,
                                                                          scoring_round):
    seed_demo(live, applications=6, experts=80)
    round_id = scoring_round(live)
    seat = live.run(_seats, round_id)[0]
    criteria = live.run(_criteria, round_id)
    login(page, live, "organizer")                        # the organizer writes the guidance of the first criterion
    page.goto(f"{live.url}/rounds/{round_id}/guidance")
    page.fill(f"textarea[name=guidance_{criteria[0]['id']}]", "看需求是否来自产业一线，有无用户证明。")
    with page.expect_navigation():
        page.locator("form.guidance button[type=submit]").click()
    assert "ok" in page.get_by_role("alert").get_attribute("class")
    logout(page)

    live.user("expert-c", "expert", expert_ref=seat["expert"])
    login(page, live, "expert-c")
    page.goto(f"{live.url}/expert/seats/{seat['id']}/declare")
    page.check("input[name=conflict][value=no]")
    page.locator("form.declaration button[type=submit]").click()
    page.wait_for_url(f"**/expert/seats/{seat['id']}/sheet")
    first = page.locator("li.criterion").first
    assert "看需求是否来自产业一线，有无用户证明。" in first.locator(".guidance").inner_text()

    material, sheet = page.locator("#material").bounding_box(), page.locator("#sheet-column").bounding_box()
    assert material["x"] + material["width"] <= sheet["x"] and abs(material["y"] - sheet["y"]) < 5  # side by side
    assert page.locator("nav.jump").first.is_hidden()
    assert page.evaluate("(m => m.scrollHeight > m.clientHeight)(document.getElementById('material'))")
    page.evaluate("document.getElementById('material').scrollTop = 3000")   # reading far into the application …
    field = page.locator(f"input[name=score-{criteria[0]['code']}]")
    expect(field).to_be_in_viewport()                                          # … leaves the sheet in view
    assert seat["center_name"] in page.locator("#material").inner_text()

    for criterion in criteria:
        page.fill(f"input[name=score-{criterion['code']}]", _plain(criterion["max"]))
    page.check("input[name=opinion][value=conditional]")
    page.locator("button[name=action][value=submit]").click()
    expect(page.locator("#consequence")).to_be_visible()
    page.locator("form.confirm-submit a").click()                     # back: nothing submitted, the draft kept
    page.wait_for_url(f"**/expert/seats/{seat['id']}/sheet")
    stored = live.run(_sheet, round_id, seat)
    assert stored["state"] == "draft" and stored["opinion"] == "conditional"
    assert field.input_value() == _plain(criteria[0]["max"])
    page.locator("button[name=action][value=submit]").click()
    page.locator("form.confirm-submit button[name=action][value=submit]").click()
    page.wait_for_url("**/expert/")
    assert live.run(_sheet, round_id, seat)["state"] == "submitted"


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

    page.goto(f"{live.url}/invitations/outbox")
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

    return [{"id": c.id, "code": c.code, "max": c.max, "step": c.step}
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
