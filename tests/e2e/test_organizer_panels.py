"""In the browser, the organizer opens a round, attaches applications, runs matching, and changes a panel by
hand: a swap for a conflicted expert is refused with the conflict's rule and reason, a clean swap goes through,
and a reserve swaps in after a page that names who gives way."""

from __future__ import annotations

import pytest
from sqlalchemy import select

pytestmark = pytest.mark.e2e
expect = pytest.importorskip("playwright.sync_api").expect

ROUND_NAME = "浏览器测试遴选评审"
QUOTAS = {"technology": (2, 3), "industry": (1, 2), "economics": (0, 1), "management": (0, 1), "law": (0, 1)}


def test_organizer_opens_a_round_matches_and_swaps_an_expert(page, live, login, seed_demo, open_round):
    demo = seed_demo(live, applications=6, experts=80)
    live.user("organizer", "organizer")
    login(page, live, "organizer")

    refs = [application["ref"] for application in demo.applications]
    round_id = open_round(page, live, refs, quotas=QUOTAS,
                          fields={"name": ROUND_NAME, "as_of": "2020-10-01", "panel_size": "5"})

    page.goto(f"{live.url}/rounds/{round_id}")
    page.locator("form[action$='/state'] button").click()  # draft → assigning
    expect(page.locator("ol.states li").nth(1)).to_have_attribute("aria-current", "step")  # assigning
    page.locator("form.run button").click()
    page.wait_for_url(f"**/rounds/{round_id}/versions/1")
    assert "flash ok" in page.locator("main p[role=alert]").first.get_attribute("class")

    case = live.run(_swap_case, round_id)
    page.goto(f"{live.url}/rounds/{round_id}")
    page.get_by_role("link", name=case["application"], exact=True).click()
    page.wait_for_url(f"**/rounds/{round_id}/applications/{case['application_id']}")
    _swap(page, case["seat_expert"], case["conflicted"])
    alert = page.get_by_role("alert").inner_text()
    assert case["rule"] in alert and case["reason"] in alert  # refused, with the rule (in words) and its reason
    assert live.run(_seated, round_id, case["application"]) == case["panel"]  # nothing changed

    _swap(page, case["seat_expert"], case["clean"])
    assert "ok" in page.get_by_role("alert").get_attribute("class")
    seated = live.run(_seated, round_id, case["application"])
    assert case["clean"] in seated and case["seat_expert"] not in seated
    expect(page.locator("table.panel tr.seat-replaced", has_text=case["seat_expert"])).to_have_count(1)

    reserve = live.run(_swappable_reserve, round_id)
    page.goto(f"{live.url}/rounds/{round_id}/applications/{reserve['application_id']}")
    page.locator(f"a[href$='/reserves/{reserve['id']}/swap-in']").click()
    expect(page.locator("section.consequences")).to_contain_text(reserve["leaving_name"])
    with page.expect_navigation():
        page.locator("form.confirm-step button[type=submit]").click()
    assert "ok" in page.get_by_role("alert").get_attribute("class")
    seated = live.run(_seated, round_id, reserve["application"])
    assert reserve["expert"] in seated and reserve["leaving"] not in seated


def _swappable_reserve(round_id: int) -> dict:
    """A reserve of the active version whose planned swap keeps every rule."""
    from web.extensions import db
    from web.models import Round
    from web.services import panels, reserve_swaps

    round_ = db.session.get(Round, round_id)
    version = panels.active_version(round_)
    for link in round_.round_applications:
        for reserve in panels.reserves_of(version, link.application):
            plan = reserve_swaps.planned_swap(reserve)
            if plan.leaving is not None and reserve_swaps.swap_problem(plan) is None:
                return {"id": reserve.id, "application_id": link.application_id, "application": link.application.ref,
                        "expert": reserve.expert.ref, "leaving": plan.leaving.expert.ref,
                        "leaving_name": plan.leaving.expert.name}
    raise AssertionError("no reserve can swap in")


def _swap(page, seat_expert: str, new_expert: str) -> None:
    """Open the seat's "swap or remove" box and swap it for ``new_expert``."""
    row = page.locator("table.panel tbody tr", has_text=seat_expert).filter(has=page.locator("details"))
    row.locator("summary").click()
    swap = row.locator("form[action$='/swap']")
    swap.locator("input[name=expert]").fill(new_expert)
    with page.expect_navigation():
        swap.locator("button[type=submit]").click()


def _seated(round_id: int, application_ref: str) -> list[str]:
    from web.extensions import db
    from web.models import Round
    from web.services import panels

    round_ = db.session.get(Round, round_id)
    return sorted(seat.expert.ref for seat in panels.seats(round_) if seat.application.ref == application_ref)


def _swap_case(round_id: int) -> dict:
    """A seat whose expert has a hard-conflicted colleague of the same pool, and a clean expert to swap in."""
    from web.extensions import db
    from web.labels import label
    from web.models import Expert, Round
    from web.services import matching_bridge, panels

    round_ = db.session.get(Round, round_id)
    seats = panels.seats(round_)
    conflicts = matching_bridge.round_conflicts(round_)
    experts = {expert.ref: expert for expert in db.session.scalars(select(Expert))}
    for conflict in conflicts:
        if conflict.kind != "hard":
            continue
        panel = [seat for seat in seats if seat.application.ref == conflict.application]
        same_pool = [seat for seat in panel if seat.pool == experts[conflict.expert].pool]
        if not same_pool:
            continue
        seat = same_pool[0]
        clean = _clean_expert(seat, panel, seats, conflicts, experts)
        if clean:
            return {"application": conflict.application, "application_id": seat.application_id,
                    "seat_expert": seat.expert.ref, "conflicted": conflict.expert, "rule": label(conflict.rule, "rule"),
                    "reason": conflict.reason, "clean": clean, "panel": sorted(s.expert.ref for s in panel)}
    raise AssertionError("the seeded data has no conflicted expert of a seated pool")


def _clean_expert(seat, panel, seats, conflicts, experts) -> str | None:
    """An expert of the seat's pool, on no panel, without any conflict with the application, of an organization
    not on the panel."""
    busy = {other.expert.ref for other in seats}
    conflicted = {c.expert for c in conflicts if c.application == seat.application.ref}
    organizations = {other.expert.organization_id for other in panel if other is not seat}
    for ref, expert in sorted(experts.items()):
        if (expert.pool == seat.pool and expert.available and ref not in busy and ref not in conflicted
                and expert.organization_id not in organizations):
            return ref
    return None
