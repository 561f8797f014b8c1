"""In the browser, in Chinese: logging in, the organizer's applications with formal-check flags, one application
in full with personal data masked, and an expert kept out of the organizer's pages."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.e2e
expect = pytest.importorskip("playwright.sync_api").expect


def test_login_refuses_a_wrong_password_then_lets_the_organizer_in(page, live, login):
    live.user("organizer", "organizer")
    page.goto(f"{live.url}/records/applications")
    assert "/login" in page.url  # anonymous: sent to the login page
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    page.fill("input[name=username]", "organizer")
    page.fill("input[name=password]", "not the password")
    page.get_by_role("button", name="登录").click()
    assert page.get_by_role("alert").inner_text() == "用户名或密码错误，或账户已被暂时锁定。"
    login(page, live, "organizer")
    assert page.url.endswith("/records/applications")
    assert page.get_by_role("button", name="退出").is_visible()


def test_organizer_reads_the_applications_and_one_application_masked(page, live, login, seed_demo):
    demo = seed_demo(live)
    live.user("organizer", "organizer")
    login(page, live, "organizer")
    page.get_by_role("link", name="申报书").click()
    rows = page.locator("main table tbody tr")
    expect(rows).to_have_count(len(demo.applications))
    flagged = {ref for refs in demo.planted_flags.values() for ref in refs}
    for application in demo.applications:
        row = rows.filter(has=page.get_by_role("link", name=application["ref"], exact=True))
        assert application["center_name"] in row.inner_text()
        assert (row.locator("ul.flags li").count() > 0) == (application["ref"] in flagged)
    first = demo.applications[0]
    page.get_by_role("link", name=first["ref"], exact=True).click()
    page.wait_for_url(f"**/records/applications/{first['ref']}")
    body = page.locator("main").inner_text()
    assert first["center_name"] in body and first["bearer"]["name"] in body
    mobile = first["bearer"]["contact"]["mobile"]
    assert mobile not in body and f"{mobile[:3]}****{mobile[-4:]}" in body  # personal data masked


def test_an_expert_sees_only_their_own_start_page(page, live, login, seed_demo):
    demo = seed_demo(live)
    expert = demo.experts[0]["ref"]
    live.user("expert1", "expert", expert_ref=expert)
    login(page, live, "expert1")
    assert page.get_by_role("heading", level=1).is_visible()
    assert page.get_by_role("link", name="申报书").count() == 0  # no organizer navigation
    response = page.goto(f"{live.url}/records/applications")
    assert response.status in (403, 404)
    assert not re.search(r"A0\d\d", page.locator("main").inner_text())
