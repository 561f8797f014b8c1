"""The review world the W2 tests share (no tests here): three applications, four experts, a round in scoring.

``build_world(app, make_user)`` imports the records through web.services.records, opens a round through
web.services.rounds, puts it in scoring and seats the experts directly on an active assignment version:
expert A on APP-001 and APP-002, expert B on APP-001, expert D on APP-003; expert C is APP-001's reserve.
Accounts: ``expert_a``, ``expert_b`` (experts A and B), ``organizer``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy import select

from web.extensions import db
from web.models import Application, Assignment, AssignmentVersion, Expert, Reserve, Round, ScoreSheet

ROUND_NAME = "2020年遴选综合评审"


@dataclass
class World:
    """Ids of what :func:`build_world` made (rows themselves belong to one app context)."""

    round_id: int
    seats: dict[tuple[str, str], int]          # (expert ref, application ref) → assignment id

    def seat(self, expert_ref: str, application_ref: str) -> Assignment:
        return db.session.get(Assignment, self.seats[(expert_ref, application_ref)])

    def round(self) -> Round:
        return db.session.get(Round, self.round_id)


def build_world(app, make_user, *, auto_replace: bool = False, deadline: date = date(2020, 11, 30),
                application_record=None, expert_record=None) -> World:
    from web.services.records import import_applications, import_experts
    from web.services.rounds import create_round

    with app.app_context():
        import_applications([
            application_record("APP-001", center_name="上海智能制造创新中心"),
            application_record("APP-002", center_name="上海集成电路创新中心", field="ICT-IC"),
            application_record("APP-003", center_name="上海新材料创新中心", field="MAT-NM"),
        ], actor=None)
        import_experts([
            expert_record(ref, name=name, email=email, declared=[], past_affiliations=[], roles=[],
                          organization={"name": f"{name}所在大学", "uscc": None, "parent": None})
            for ref, name, email in (("EXP-A", "甲专家", "a@example.com"), ("EXP-B", "乙专家", "b@example.com"),
                                     ("EXP-C", "丙专家", "c@example.com"), ("EXP-D", "丁专家", None))
        ], actor=None)
        db.session.commit()
        round_ = create_round(ROUND_NAME, "selection_review", as_of=date(2020, 10, 1), deadline=deadline,
                              application_refs=["APP-001", "APP-002", "APP-003"], actor=None)
        round_.state = "scoring"
        round_.auto_replace = auto_replace
        experts = {expert.ref: expert for expert in db.session.scalars(select(Expert))}
        applications = {application.ref: application for application in db.session.scalars(select(Application))}
        version = AssignmentVersion(round=round_, number=1, status="manual", active=True, settings={},
                                    diagnostics=[])
        db.session.add(version)
        pairs = [("EXP-A", "APP-001"), ("EXP-A", "APP-002"), ("EXP-B", "APP-001"), ("EXP-D", "APP-003")]
        seats = {}
        for expert_ref, application_ref in pairs:
            seat = Assignment(version=version, application=applications[application_ref],
                              expert=experts[expert_ref], pool="technology", state="proposed", fit=0.8)
            db.session.add(seat)
            seats[(expert_ref, application_ref)] = seat
        version.reserves.append(Reserve(application=applications["APP-001"], expert=experts["EXP-C"],
                               rank=1, fit=0.7))
        db.session.commit()
        world = World(round_.id, {pair: seat.id for pair, seat in seats.items()})
    make_user("expert_a", "expert", expert_ref="EXP-A")
    make_user("expert_b", "expert", expert_ref="EXP-B")
    make_user("organizer", "organizer")
    return world


@pytest.fixture(name="world")
def world_fixture(app, make_user, make_application_record, make_expert_record) -> World:
    return build_world(app, make_user, application_record=make_application_record,
                       expert_record=make_expert_record)


def full_values(round_: Round) -> dict[str, float]:
    """A valid full score for every criterion of the round's template (the maximum less one step)."""
    return {criterion.code: criterion.max - criterion.step for criterion in round_.template.criteria}


def sheet_of(world: World, expert_ref: str, application_ref: str) -> ScoreSheet | None:
    seat = world.seat(expert_ref, application_ref)
    return db.session.scalar(select(ScoreSheet).where(
        ScoreSheet.round_id == world.round_id, ScoreSheet.application_id == seat.application_id,
        ScoreSheet.expert_id == seat.expert_id))
