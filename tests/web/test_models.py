"""Model constraints: what the database itself refuses, and the append-only audit log."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from web.extensions import db
from web.models import (
    Application,
    Assignment,
    AssignmentVersion,
    AuditEvent,
    AuditLogIsAppendOnly,
    ExcludedExpert,
    Expert,
    MemberUnit,
    Organization,
    ScoreSheet,
    Shareholder,
)
from web.services import audit
from web.services.records import import_applications, import_experts
from web.services.rounds import create_round


@pytest.fixture
def stored(app, make_application_record, make_expert_record):
    with app.app_context():
        import_applications([make_application_record()], actor=None)
        import_experts([make_expert_record()], actor=None)
        db.session.commit()


def refused(app, change) -> None:
    """Assert the database refuses ``change(application)`` and that the session recovers."""
    with app.app_context():
        application = db.session.scalar(select(Application))
        change(application)
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()


@pytest.mark.usefixtures("stored")
@pytest.mark.parametrize("change", [
    lambda a: setattr(a, "construction_content", "字" * 501),
    lambda a: setattr(a, "foreign_share_pct", 120.0),
    lambda a: setattr(a, "registered_capital", -1.0),
    lambda a: setattr(a, "economic_type", "communal"),
    lambda a: setattr(a, "expected_domestic_invention", -3),
    lambda a: setattr(a.members[0].enterprise, "employees", -5),
    lambda a: setattr(a.members[0].enterprise, "debt_ratio_pct", 100.5),
    lambda a: setattr(a.members[0], "role", "sponsoring"),
    lambda a: setattr(a.shareholders[0], "share_pct", -0.1),
    lambda a: a.excluded_experts.append(ExcludedExpert(position=3, expert_ref="EXP-X")),
], ids=["content-501", "foreign-120", "capital-negative", "economic-type", "ip-negative", "employees-negative",
        "debt-ratio", "member-role", "share-negative", "fourth-excluded-expert"])
def test_the_database_refuses_malformed_values(app, change):
    refused(app, change)


@pytest.mark.usefixtures("stored")
def test_500_characters_of_construction_content_are_accepted(app):
    with app.app_context():
        db.session.scalar(select(Application)).construction_content = "字" * 500
        db.session.commit()


@pytest.mark.usefixtures("stored")
def test_a_shareholder_belongs_to_exactly_one_table(app):
    with app.app_context():
        application = db.session.scalar(select(Application))
        member = application.members[0]
        db.session.add(Shareholder(application_id=application.id, enterprise_id=member.id, position=9, name="X"))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
        db.session.add(Shareholder(position=9, name="X"))
        with pytest.raises(IntegrityError):
            db.session.commit()


@pytest.mark.usefixtures("stored")
def test_refs_and_usccs_are_unique(app, uscc):
    with app.app_context():
        organization = db.session.scalar(select(Organization).where(Organization.uscc.is_not(None)))
        db.session.add(Organization(name="另一家", uscc=organization.uscc, normalized_name="另一家"))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
        db.session.add(Expert(ref="EXP-001", name="重名", pool="law"))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
        db.session.add(Expert(ref="EXP-002", name="新专家", pool="astrology"))
        with pytest.raises(IntegrityError):
            db.session.commit()


@pytest.mark.usefixtures("stored")
def test_one_sheet_per_expert_application_and_round(app):
    with app.app_context():
        round_ = create_round("R", "selection_review", as_of=date(2020, 10, 1),
                              application_refs=["APP-001"], actor=None)
        application, expert = db.session.scalar(select(Application)), db.session.scalar(select(Expert))
        db.session.add(ScoreSheet(round=round_, application=application, expert=expert))
        db.session.commit()
        db.session.add(ScoreSheet(round=round_, application=application, expert=expert))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
        db.session.add(ScoreSheet(round_id=round_.id, application=application, expert=expert, state="archived"))
        with pytest.raises(IntegrityError):
            db.session.commit()


@pytest.mark.usefixtures("stored")
def test_deleting_an_application_removes_its_tables_but_not_the_organizations(app, table_counts):
    before = table_counts()
    with app.app_context():
        db.session.delete(db.session.scalar(select(Application)))
        db.session.commit()
    after = table_counts()
    for table in ("application", "member_unit", "enterprise_details", "institute_details", "financial_year",
                  "team_member", "lead", "plan_section", "attachment", "excluded_expert"):
        assert after[table] == 0, table
    assert after["shareholder"] == 0
    assert after["organization"] == before["organization"]
    assert after["audit_event"] == before["audit_event"]


def test_audit_events_cannot_be_changed_or_deleted(app):
    with app.app_context():
        audit.record("test.event", "thing", 1, actor=None, after={"x": 1})
        db.session.commit()
        event = db.session.scalar(select(AuditEvent))
        event.action = "rewritten"
        with pytest.raises(AuditLogIsAppendOnly, match="cannot be changed"):
            db.session.commit()
        db.session.rollback()
        db.session.delete(db.session.scalar(select(AuditEvent)))
        with pytest.raises(AuditLogIsAppendOnly, match="cannot be deleted"):
            db.session.commit()
        db.session.rollback()
        assert db.session.scalar(select(AuditEvent)).action == "test.event"


@pytest.mark.usefixtures("stored")
def test_members_keep_the_form_and_link_the_organization(app):
    with app.app_context():
        member = db.session.scalar(select(MemberUnit).where(MemberUnit.kind == "institute"))
        assert member.name == "上海理工研究院" and member.organization.uscc == member.uscc
        assert member.institute.team_members[0].research_direction == "数字孪生"


@pytest.mark.usefixtures("stored")
def test_assignment_states_and_one_expert_per_panel_version(app):
    with app.app_context():
        round_ = create_round("R", "selection_review", as_of=date(2020, 10, 1), application_refs=["APP-001"],
                              actor=None)
        version = AssignmentVersion(round=round_, number=1, status="optimal", active=True)
        application, expert = db.session.scalar(select(Application)), db.session.scalar(select(Expert))
        version.assignments.append(Assignment(application=application, expert=expert, pool="technology", fit=0.8))
        db.session.add(version)
        db.session.commit()
        assert version.assignments[0].state == "proposed" and not version.assignments[0].manual
        version.assignments[0].state = "lost"
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
        version.assignments.append(Assignment(application=application, expert=expert, pool="technology"))
        with pytest.raises(IntegrityError):
            db.session.commit()
