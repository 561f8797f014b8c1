"""Stored panel contexts: the matching context of a round built once per change of its inputs, read by the panel
page, which says when it was computed; a change makes it stale, and a large round is renewed by a job meanwhile.
The explanation read from the stored context is the one a fresh context gives."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from tests.web.test_panels_factory import build_round
from web.extensions import db
from web.local_time import local_time
from web.models import Application, Job, Round, StoredPanelContext
from web.services import panels, rounds, stored_context


@pytest.fixture
def matched(app):
    round_id = build_round(app)
    with app.app_context():
        panels.run_matching(db.session.get(Round, round_id), actor=None)
        db.session.commit()
    return round_id


@pytest.fixture
def builds(monkeypatch):
    """How often a matching context was built (the expensive part: the conflict scan and the fit)."""
    built = []
    original = stored_context.build_context

    def counted(problem):
        built.append(problem)
        return original(problem)

    monkeypatch.setattr(stored_context, "build_context", counted)
    return built


def panel_urls(app, round_id: int) -> list[str]:
    with app.app_context():
        ids = db.session.scalars(select(Application.id).order_by(Application.ref)).all()
    return [f"/rounds/{round_id}/applications/{application_id}" for application_id in ids]


def stored_rows(app) -> list[tuple[str, str]]:
    with app.app_context():
        return [(row.data_version, row.computed_at.isoformat())
                for row in db.session.scalars(select(StoredPanelContext))]


def change_settings(app, round_id: int, values: dict) -> None:
    with app.app_context():
        rounds.update_settings(db.session.get(Round, round_id), values, actor=None)
        db.session.commit()


def test_the_context_is_built_once_and_read_by_every_panel_page(app, client, auth, matched, builds):
    auth.login("organizer")
    urls = panel_urls(app, matched)
    first = client.get(urls[0]).get_data(as_text=True)
    stored = stored_rows(app)
    assert len(builds) == 1 and len(stored) == 1
    computed = local_time(datetime.fromisoformat(stored[0][1]), seconds=True)
    assert computed in first                                              # the page says when, in Beijing time
    for url in urls + urls[:1]:
        assert computed in client.get(url).get_data(as_text=True)
    assert len(builds) == 1 and stored_rows(app) == stored


def test_a_changed_setting_is_built_into_the_context_at_the_next_view(app, client, auth, matched, builds):
    auth.login("organizer")
    url = panel_urls(app, matched)[0]
    client.get(url)
    change_settings(app, matched, {"max_load": 2})
    client.get(url)
    assert len(builds) == 2 and len(stored_rows(app)) == 1                # replaced, not added
    with app.app_context():
        viewed = stored_context.stored_view(db.session.get(Round, matched))
        assert set(viewed.context.instance.load_cap.tolist()) == {2}


def test_a_change_the_engine_does_not_read_does_not_rebuild(app, client, auth, matched, builds):
    auth.login("organizer")
    url = panel_urls(app, matched)[0]
    client.get(url)
    stored = stored_rows(app)
    with app.app_context():
        rounds.transition(db.session.get(Round, matched), "scoring", actor=None)   # audited: the stamp moves…
        db.session.commit()
    client.get(url)                                                        # …the engine's problem does not
    assert len(builds) == 1 and stored_rows(app) == stored


def test_a_time_limit_of_its_own_does_not_rebuild_the_context(app, client, auth, matched, builds):
    """Bounding a large round's run reads nothing a context holds: setting the round's time limit leaves the
    stored context as it is (at national scale a rebuild is minutes of conflicts and fit)."""
    auth.login("organizer")
    url = panel_urls(app, matched)[0]
    client.get(url)
    stored = stored_rows(app)
    change_settings(app, matched, {"time_limit": 60})                   # audited: the stamp moves…
    client.get(url)                                                        # …the context's inputs do not
    assert len(builds) == 1 and stored_rows(app) == stored
    change_settings(app, matched, {"time_limit": 60, "max_load": 2})
    client.get(url)
    assert len(builds) == 2 and stored_rows(app) != stored


def test_the_stored_explanation_is_the_fresh_one_after_a_panel_edit(app, matched):
    with app.app_context():
        round_ = db.session.get(Round, matched)
        stored_context.renew(round_)
        db.session.commit()
        seat = next(seat for seat in panels.seats(round_) if seat.pool == "technology")
        seat.state, seat.state_reason = "recused", "曾参与申报书编写"
        panels.replace_from_reserves(seat, actor=None)
        db.session.commit()
        viewed = stored_context.stored_view(round_)
        for application in round_.applications:
            assert panels.explanation(round_, application, viewed.context) == panels.explanation(round_, application)


def test_a_large_round_explains_with_the_stored_context_while_a_job_renews_it(app, client, auth, matched, builds,
                                                                              monkeypatch):
    monkeypatch.setattr(stored_context, "INLINE_PAIR_LIMIT", 0)
    auth.login("organizer")
    url = panel_urls(app, matched)[0]
    first = client.get(f"{url}?lang=en").get_data(as_text=True)         # nothing stored: never built inline
    assert "Conflicts and fit computed at" in first                      # by the job, run at the view's commit
    change_settings(app, matched, {"max_load": 2})
    page = client.get(f"{url}?lang=en").get_data(as_text=True)
    assert "a recomputation is under way" in page and "Conflicts and fit computed at" in page
    with app.app_context():
        jobs = db.session.scalars(select(Job).where(Job.kind == "panel_context")).all()
        assert [job.state for job in jobs] == ["done", "done"]           # the first build, then the renewal
    assert len(builds) == 2
    assert "a recomputation is under way" not in client.get(f"{url}?lang=en").get_data(as_text=True)


def test_two_first_views_of_a_round_store_one_context(app, matched, monkeypatch):
    with app.app_context():
        round_ = db.session.get(Round, matched)
        stored_context.renew(round_)                      # one view stored the context and committed…
        db.session.commit()
        first = db.session.scalars(select(StoredPanelContext)).one()
        first_id, first_at = first.id, first.computed_at
        lookups = []
        real_lookup = stored_context._stored

        def looked_before_that_commit(round_):            # …while the other had found nothing stored
            lookups.append(round_.id)
            return None if len(lookups) == 1 else real_lookup(round_)

        monkeypatch.setattr(stored_context, "_stored", looked_before_that_commit)
        stored_context.recompute(round_)                  # inserts, collides on the round, updates instead
        db.session.commit()
        rows = db.session.scalars(select(StoredPanelContext)).all()
        assert len(lookups) == 2
        assert [row.id for row in rows] == [first_id] and rows[0].computed_at > first_at


def test_a_declaration_renews_the_context_a_draft_does_not(app, matched):
    """Accepting or recusing from a seat (audited on the sheet) changes the repeat-review conflicts of other
    rounds; saving a draft changes nothing the engine reads."""
    from web.services import audit

    with app.app_context():
        round_ = db.session.get(Round, matched)
        before = stored_context.input_stamp(round_)
        audit.record("sheet.save_draft", "score_sheet", 1, actor=None, after={})
        db.session.flush()
        assert stored_context.input_stamp(round_) == before
        audit.record("sheet.declare", "score_sheet", 1, actor=None, after={"assignment": "accepted"})
        db.session.flush()
        assert stored_context.input_stamp(round_) != before
        db.session.rollback()
