"""In the browser: invited experts read their personal link in the invitation (as the organizer sees it in the
outbox), open it, set a password and land on their own seats, logged in — at desktop width and on a phone."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

pytestmark = pytest.mark.e2e
expect = pytest.importorskip("playwright.sync_api").expect

NEW_PASSWORD = "黄浦江边的评审 2020"


@pytest.mark.parametrize("width", [1280, 390])
def test_an_invited_expert_opens_the_link_sets_a_password_and_lands_on_their_seats(page, live, login, logout,
                                                                                  seed_demo, scoring_round, width):
    live.app.config["PANEL_BASE_URL"] = live.url
    seed_demo(live, applications=6, experts=60)
    round_id = scoring_round(live)
    invited = live.run(_first_invitation, round_id)

    login(page, live, "organizer")
    page.goto(f"{live.url}/invitations/outbox/{invited['message_id']}")
    mail = page.locator("pre.mail").inner_text()
    link = re.search(r"http://\S+/access/\S+", mail).group(0)
    assert f"用户名：{invited['username']}" in mail
    logout(page)

    page.set_viewport_size({"width": width, "height": 844})
    page.goto(link)
    expect(page.locator("h1")).to_have_text("设置密码")
    assert invited["username"] in page.locator("main").inner_text()
    page.fill("input[name=password]", "short")
    page.fill("input[name=confirm]", "short")
    page.locator("main form [type=submit]").click()
    expect(page.locator("span.error")).to_contain_text("密码至少需要 10 个字符")
    page.fill("input[name=password]", NEW_PASSWORD)
    page.fill("input[name=confirm]", NEW_PASSWORD)
    page.locator("main form [type=submit]").click()
    page.wait_for_url("**/expert/")
    seats = page.locator("li.seat")
    for ref in invited["applications"]:
        expect(seats.filter(has_text=ref)).to_have_count(1)
    assert page.evaluate("document.documentElement.scrollWidth") <= width   # nothing runs off the screen

    logout(page)
    page.goto(link)                                                           # used once: refused in Chinese
    expect(page.locator("p.link-refused")).to_contain_text("此链接已使用过")
    login(page, live, invited["username"], NEW_PASSWORD)
    assert page.url.endswith("/expert/")


def _first_invitation(round_id: int) -> dict:
    """The first invitation of the round: its message id, the expert's username and applications."""
    from web.extensions import db
    from web.models import OutboxMessage, User
    from web.services import invitations

    message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.round_id == round_id,
                                                            OutboxMessage.kind == "invitation")
                                .order_by(OutboxMessage.id))
    user = db.session.scalar(select(User).where(User.expert_id == message.expert_id))
    round_ = db.session.get(invitations.Round, round_id)
    refs = sorted(seat.application.ref for seat in invitations.round_seats(round_)
                  if seat.expert_id == message.expert_id)
    return {"message_id": message.id, "username": user.username, "applications": refs}
