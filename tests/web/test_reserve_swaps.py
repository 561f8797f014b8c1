"""A reserve swapped in with one click: the page says who leaves, the confirmed POST swaps, the rules still hold,
and a swap that would break one is refused in Chinese with nothing changed."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from tests.web.test_panels_factory import build_round
from tests.web.test_panels_service import application, get_round, violations
from web.extensions import db
from web.models import AuditEvent, DeclaredRelation, Reserve
from web.services import panels, reserve_swaps


@pytest.fixture
def matched(app):
    round_id = build_round(app)
    with app.app_context():
        panels.run_matching(get_round(round_id), actor=None)
    return round_id


def first_reserve(round_id: int, ref: str = "APP-001") -> Reserve:
    round_ = get_round(round_id)
    return panels.reserves_of(panels.active_version(round_), application(ref))[0]


def pool_counts(round_id: int, ref: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for seat in panels.seats(get_round(round_id), application(ref)):
        counts[seat.pool] = counts.get(seat.pool, 0) + 1
    return counts


def swap_url(round_id: int, reserve_id: int) -> str:
    return f"/rounds/{round_id}/reserves/{reserve_id}/swap-in"


def test_the_panel_page_links_each_reserve_to_its_swap(app, client, auth, matched):
    with app.app_context():
        reserve = first_reserve(matched)
        url = swap_url(matched, reserve.id)
        application_id = reserve.application_id
    auth.login("organizer")
    html = client.get(f"/rounds/{matched}/applications/{application_id}").get_data(as_text=True)
    assert f'href="{url}"' in html


def test_a_confirmed_swap_seats_the_reserve_in_place_of_a_member_of_its_pool(app, client, auth, csrf_token,
                                                                            matched):
    with app.app_context():
        reserve = first_reserve(matched)
        plan = reserve_swaps.planned_swap(reserve)
        assert plan.leaving.pool == reserve.expert.pool and reserve_swaps.swap_problem(plan) is None
        reserve_id, reserve_ref, leaving_ref = reserve.id, reserve.expert.ref, plan.leaving.expert.ref
        names = (reserve.expert.name, plan.leaving.expert.name)
        quotas_before = pool_counts(matched, "APP-001")
    auth.login("organizer")
    page = client.get(swap_url(matched, reserve_id)).get_data(as_text=True)
    assert all(name in page for name in names) and "将接替" in page
    response = client.post(swap_url(matched, reserve_id), data={"csrf_token": csrf_token(page), "confirm": "yes"})
    assert response.status_code == 302
    with app.app_context():
        round_ = get_round(matched)
        seated = {seat.expert.ref for seat in panels.seats(round_, application("APP-001"))}
        assert reserve_ref in seated and leaving_ref not in seated
        assert panels.active_version(round_).number == 2
        assert pool_counts(matched, "APP-001") == quotas_before         # quotas: same pool, same counts
        assert violations(round_) == []                                  # no conflict, load or limit broken
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                                 .where(AuditEvent.action == "assignment.swap")) == 1


def test_an_unconfirmed_post_shows_the_page_and_changes_nothing(app, client, auth, csrf_token, table_counts,
                                                                matched):
    with app.app_context():
        reserve_id = first_reserve(matched).id
        reserve = db.session.get(Reserve, reserve_id)
        with app.test_request_context(), pytest.raises(panels.PanelError, match="未作任何更改"):
            reserve_swaps.swap_in(reserve, actor=None, confirmed=False)
    auth.login("organizer")
    page = client.get(swap_url(matched, reserve_id)).get_data(as_text=True)
    before = table_counts()
    response = client.post(swap_url(matched, reserve_id), data={"csrf_token": csrf_token(page)})
    assert response.status_code == 200 and 'name="confirm" value="yes"' in response.get_data(as_text=True)
    assert table_counts() == before


def test_a_swap_that_would_break_a_conflict_rule_is_refused_in_chinese(app, client, auth, csrf_token,
                                                                      table_counts, matched):
    with app.app_context():
        reserve = first_reserve(matched)
        reserve_id, name = reserve.id, reserve.expert.name
        # Since matching, the reserve declared having drafted APP-001: a hard conflict the stale reserve row hides.
        reserve.expert.declared.append(DeclaredRelation(position=0, kind="drafted", application_ref="APP-001"))
        db.session.commit()
    auth.login("organizer")
    page = client.get(swap_url(matched, reserve_id)).get_data(as_text=True)
    assert f"{name} 不得评审 APP-001" in page                           # the page warns before the click
    before = table_counts()
    response = client.post(swap_url(matched, reserve_id), data={"csrf_token": csrf_token(page), "confirm": "yes"},
                           follow_redirects=True)
    text = response.get_data(as_text=True)
    assert f"{name} 不得评审 APP-001" in text and "未作任何更改" in text
    assert not re.search(r"role=\"alert\">[A-Za-z]", text)
    assert table_counts() == before
    with app.app_context():
        assert panels.active_version(get_round(matched)).number == 1


def test_a_reserve_sharing_an_organization_with_a_member_takes_that_members_seat(app, matched):
    # One organization per panel: a twin on the reserve list can only replace the other twin, even when a
    # weaker member of the same pool sits on the panel.
    with app.app_context():
        round_ = get_round(matched)
        version = panels.active_version(round_)
        found = []
        for link in round_.round_applications:
            members = panels.seats(round_, link.application)
            for reserve in panels.reserves_of(version, link.application):
                mates = [row for row in members if reserve.expert.organization_id is not None
                         and row.expert.organization_id == reserve.expert.organization_id]
                if mates:
                    found.append((reserve_swaps.planned_swap(reserve).leaving, mates[0]))
        assert found
        assert all(leaving.id == mate.id for leaving, mate in found)


def test_a_swap_that_would_break_a_pool_quota_is_refused_in_chinese_with_nothing_changed(app, matched, monkeypatch,
                                                                                        table_counts):
    # Economics is fixed at one seat (1–1): a reserve of another pool taking the economist's seat breaks it.
    with app.app_context(), app.test_request_context():
        round_ = get_round(matched)
        version = panels.active_version(round_)
        economist = next(seat for seat in panels.seats(round_, application("APP-001")) if seat.pool == "economics")
        reserve = next(row for row in panels.reserves_of(version, application("APP-001"))
                       if row.expert.pool != "economics")
        plan = reserve_swaps.SwapIn(reserve, version, economist)
        assert "将违反专家组的类别人数要求" in reserve_swaps.swap_problem(plan)
        monkeypatch.setattr(reserve_swaps, "planned_swap", lambda _: plan)
        before = table_counts()
        with pytest.raises(panels.PanelError, match="类别人数要求，未作任何更改"):
            reserve_swaps.swap_in(reserve, actor=None, confirmed=True)
        db.session.rollback()
        assert table_counts() == before and panels.active_version(round_).number == 1
