"""Steps with consequences ask first: closing a round, reopening it, restoring a version. The page spells out
what happens, works without JavaScript (a second POST with ``confirm``), and the services refuse an unconfirmed
request in Chinese with nothing changed."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.web.test_panels_factory import QUOTAS, build_round
from tests.web.test_panels_service import application, get_round
from web.extensions import db
from web.models import AuditEvent, Round
from web.services import panels, rounds


def state_of(app, round_id: int) -> str:
    with app.app_context():
        return db.session.get(Round, round_id).state


def audited(app, action: str) -> int:
    with app.app_context():
        return len(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all())


@pytest.fixture
def scoring_round(app):
    return build_round(app, state="scoring")


def test_closing_shows_its_consequences_first_and_changes_nothing_until_confirmed(app, client, auth, csrf_token,
                                                                                 table_counts, scoring_round):
    auth.login("organizer")
    overview = client.get(f"/rounds/{scoring_round}").get_data(as_text=True)
    before = table_counts()
    response = client.post(f"/rounds/{scoring_round}/state", data={"csrf_token": csrf_token(overview),
                                                                  "state": "closed"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "关闭评审轮次" in page
    assert "份尚未提交，将不计入排名" in page and "专家将无法再" in page and "重新开启" in page
    assert 'name="confirm" value="yes"' in page
    assert state_of(app, scoring_round) == "scoring" and table_counts() == before
    response = client.post(f"/rounds/{scoring_round}/state", data={"csrf_token": csrf_token(page),
                                                                  "state": "closed", "confirm": "yes"})
    assert response.status_code == 302 and state_of(app, scoring_round) == "closed"


def test_the_services_refuse_unconfirmed_steps_in_chinese(app, scoring_round):
    with app.app_context(), app.test_request_context():
        round_ = get_round(scoring_round)
        with pytest.raises(rounds.RoundError, match="未作任何更改：关闭轮次需要在确认页面上确认"):
            rounds.transition(round_, "closed", actor=None)
        assert round_.state == "scoring"
        rounds.transition(round_, "closed", actor=None, confirmed=True)
        with pytest.raises(rounds.RoundError, match="未作任何更改：重新开启轮次需要"):
            rounds.reopen(round_, actor=None, confirmed=False)
        assert round_.state == "closed"
        with pytest.raises(panels.PanelError, match="未作任何更改：恢复版本需要"):
            panels.restore_version(panels.active_version(round_), actor=None, confirmed=False)


def test_reopening_undoes_closing_after_its_own_confirmation(app, client, auth, csrf_token, scoring_round):
    with app.app_context():
        rounds.transition(get_round(scoring_round), "closed", actor=None, confirmed=True)
        db.session.commit()
    auth.login("organizer")
    overview = client.get(f"/rounds/{scoring_round}").get_data(as_text=True)
    assert f'action="/rounds/{scoring_round}/reopen"' in overview
    page = client.post(f"/rounds/{scoring_round}/reopen", data={"csrf_token": csrf_token(overview)}
                       ).get_data(as_text=True)
    assert "轮次回到评审阶段" in page and state_of(app, scoring_round) == "closed"
    client.post(f"/rounds/{scoring_round}/reopen", data={"csrf_token": csrf_token(page), "confirm": "yes"})
    assert state_of(app, scoring_round) == "scoring" and audited(app, "round.reopen") == 1


def test_restoring_a_version_lists_the_seats_that_change_before_it_does(app, client, auth, csrf_token,
                                                                      table_counts):
    round_id = build_round(app)
    with app.app_context():
        round_ = get_round(round_id)
        panels.run_matching(round_, actor=None)
        seats = panels.seats(round_, application("APP-003"))
        spare = next(seat for seat in seats if sum(other.pool == seat.pool for other in seats) > QUOTAS[seat.pool][0])
        name = spare.expert.name
        panels.remove_expert(spare, actor=None, reason="时间冲突")
        db.session.commit()
    auth.login("organizer")
    versions = client.get(f"/rounds/{round_id}/versions").get_data(as_text=True)
    before = table_counts()
    response = client.post(f"/rounds/{round_id}/versions/1/restore", data={"csrf_token": csrf_token(versions)})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "版本 1 将取代版本 2 成为生效版本" in page
    assert f"{name} 加入 APP-003 的专家组" in page and "版本 2 仍会保存" in page
    assert table_counts() == before
    with app.app_context():
        assert panels.active_version(get_round(round_id)).number == 2
    client.post(f"/rounds/{round_id}/versions/1/restore", data={"csrf_token": csrf_token(page), "confirm": "yes"})
    with app.app_context():
        assert panels.active_version(get_round(round_id)).number == 1
