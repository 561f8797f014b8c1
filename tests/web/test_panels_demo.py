"""Panels on the demo data set's size (60 applications, 420 experts) and in meeting mode."""

from __future__ import annotations

from datetime import date

from tests.web.test_panels_factory import build_round
from tests.web.test_panels_service import violations
from web.demo import validated_demo
from web.extensions import db
from web.models import Round
from web.services import matching_bridge, panels, rounds
from web.services.records import import_applications, import_experts

QUOTAS = {"technology": [3, 5], "industry": [1, 2], "economics": [1, 1], "management": [1, 1], "law": [1, 1]}


def test_demo_round_is_assigned_without_a_conflicted_pair(app):
    data = validated_demo()
    with app.app_context():
        import_experts(data.experts, actor=None)
        import_applications(data.applications, actor=None)
        db.session.commit()
        round_ = rounds.create_round("演示轮次", "selection_review", as_of=date(2020, 10, 1), actor=None,
                                     application_refs=[record["ref"] for record in data.applications],
                                     settings={"pool_quotas": QUOTAS})
        rounds.transition(round_, "assigning", actor=None)
        version = panels.run_matching(round_, actor=None)
        assert version.active and version.status == "optimal"
        conflicted = {(c.application, c.expert) for c in matching_bridge.round_conflicts(round_)}
        planted = {(application, expert) for pairs in data.planted_conflicts.values() for expert, application in pairs}
        assert planted and planted <= conflicted
        seats = {(seat.application.ref, seat.expert.ref) for seat in panels.seats(round_)}
        assert len(seats) == 60 * 7 and not seats & conflicted
        assert not {(r.application.ref, r.expert.ref) for r in version.reserves} & conflicted
        assert violations(round_) == []
        leaving = panels.seats(round_)[0]
        others = seats - {(leaving.application.ref, leaving.expert.ref)}
        leaving.state = "recused"
        db.session.commit()
        new = panels.replace_from_reserves(leaving, actor=None)
        assert new is not None and (new.application.ref, new.expert.ref) not in conflicted
        assert {(s.application.ref, s.expert.ref) for s in panels.seats(round_)} == others | {
            (new.application.ref, new.expert.ref)}


def test_meeting_mode_groups_applications_and_records_recusals(app, client, auth):
    round_id = build_round(app, mode="meeting", meeting_max_applications=2, max_load=4)
    with app.app_context():
        round_ = db.session.get(Round, round_id)
        version = panels.run_matching(round_, actor=None)
        assert version.active, version.diagnostics
        panel_numbers = {row.panel for row in version.assignments}
        assert None not in panel_numbers and len(panel_numbers) == 2
        for row in version.assignments:
            if row.state == "recused":
                assert row.state_reason
        conflicted = {(c.application, c.expert) for c in matching_bridge.round_conflicts(round_)}
        assert not {(s.application.ref, s.expert.ref) for s in panels.seats(round_)} & conflicted
        names = [s.expert.name for s in panels.seats(round_)]
    auth.login("organizer")
    text = client.get(f"/rounds/{round_id}/meeting").get_data(as_text=True)
    assert all(name in text for name in names)
