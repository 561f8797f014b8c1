"""Records ⇄ models: import in one transaction, export in the same shape, round trip, personal data."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from web.extensions import db
from web.models import Application, AuditEvent, Expert, MemberUnit, Organization
from web.records import default_field_names, validate_applications, validate_experts
from web.services.records import (
    RecordError,
    existing_refs,
    export_applications,
    export_experts,
    import_applications,
    import_experts,
)


def compact(value):
    """``value`` with every blank (None, [], a group of blanks) left out, as a person would type it."""
    if isinstance(value, dict):
        kept = {key: compact(item) for key, item in value.items()}
        return {key: item for key, item in kept.items() if item not in (None, [], {})}
    if isinstance(value, list):
        return [compact(item) for item in value]
    return value


def test_fixture_records_are_what_the_validator_makes_of_them(make_application_record, make_expert_record):
    application, expert = make_application_record(), make_expert_record()
    applications, errors = validate_applications([compact(application)], source_refs=["[1]"],
                                                 taxonomy=default_field_names())
    assert errors == []
    assert applications == [application]
    experts, errors = validate_experts([compact(expert)], source_refs=["[1]"], taxonomy=default_field_names())
    assert errors == []
    assert experts == [expert]


def test_export_reproduces_the_imported_record_with_personal_data(app, make_application_record,
                                                                   make_expert_record):
    application, expert = make_application_record(), make_expert_record()
    with app.app_context():
        import_applications([application], actor=None)
        import_experts([expert], actor=None)
        assert export_applications(include_personal=True) == [application]
        assert export_experts(include_personal=True) == [expert]


def test_round_trip_through_an_empty_database_changes_nothing(app, make_application_record, make_expert_record):
    second = make_application_record("APP-002", field="DIG-AI", center_name="上海人工智能创新中心")
    second["members"] = list(reversed(second["members"]))
    with app.app_context():
        import_applications([make_application_record(), second], actor=None)
        import_experts([make_expert_record(), make_expert_record("EXP-002", pool="law", fields=[])], actor=None)
        db.session.commit()
        applications, experts = export_applications(include_personal=True), export_experts(include_personal=True)
        db.session.remove()
        for model in (Application, Expert):
            for row in db.session.scalars(select(model)):
                db.session.delete(row)
        db.session.commit()
        assert existing_refs("applications") == set()
        import_applications(applications, actor=None)
        import_experts(experts, actor=None)
        assert export_applications(include_personal=True) == applications
        assert export_experts(include_personal=True) == experts


def test_export_leaves_personal_data_out_by_default(app, make_application_record, make_expert_record):
    with app.app_context():
        import_applications([make_application_record()], actor=None)
        import_experts([make_expert_record()], actor=None)
        [application], [expert] = export_applications(), export_experts()
    assert application["bearer"]["legal_rep"] == {"name": "承担法人", "phone": None, "email": None,
                                                  "id_type": None, "id_number": None}
    assert application["leads"]["initiator"]["mobile"] is None
    assert application["members"][1]["team_members"][0] == {
        "name": "赵研究员", "title": "研究员", "research_direction": "数字孪生", "phone": None}
    assert application["members"][1]["team_contact"]["fax"] is None
    assert (expert["email"], expert["mobile"], expert["name"]) == (None, None, "周专家")


def test_import_writes_one_audit_event_per_record_without_personal_data(app, make_application_record):
    with app.app_context():
        import_applications([make_application_record(), make_application_record("APP-002")], actor=None)
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "application.import")).all()
    assert [event.entity_id for event in events] == ["APP-001", "APP-002"]
    assert events[0].actor_name == "system"
    assert events[0].after["bearer"]["legal_rep"]["id_number"] is None
    assert events[0].after["submitted_on"] == "2020-10-15"


def test_a_failing_record_leaves_the_database_unchanged(app, table_counts, make_application_record):
    before = table_counts()
    with app.app_context(), pytest.raises(RecordError, match="APP-002: field: unknown field code 'XXX-1'"):
        import_applications([make_application_record(), make_application_record("APP-002", field="XXX-1")],
                            actor=None)
    assert table_counts() == before


def test_a_database_refusal_rolls_back_the_whole_file(app, table_counts, make_application_record):
    with app.app_context():
        import_applications([make_application_record()], actor=None)
        db.session.commit()
    before = table_counts()
    with app.app_context():
        with pytest.raises(Exception, match="(?i)unique"):
            import_applications([make_application_record("APP-002"), make_application_record("APP-001")],
                                actor=None)
        db.session.rollback()
    assert table_counts() == before


def test_the_import_is_committed_by_the_caller_only(app, table_counts, make_application_record):
    before = table_counts()
    with app.app_context():
        import_applications([make_application_record()], actor=None)
        db.session.rollback()
    assert table_counts() == before
    with app.app_context():
        import_applications([make_application_record()], actor=None)
        db.session.commit()
    assert table_counts()["application"] == before["application"] + 1


def test_organizations_are_shared_by_uscc_then_by_normalized_name(app, make_application_record, uscc):
    first = make_application_record()
    second = make_application_record("APP-002")
    # Same member USCC spelled differently; a bearer with no USCC match but the same name after normalization.
    second["members"][0]["name"] = "上海智造装备股份有限公司（新）"
    second["bearer"]["uscc"] = uscc(99)
    with app.app_context():
        import_applications([first, second], actor=None)
        members = db.session.scalars(select(MemberUnit).order_by(MemberUnit.id)).all()
        assert members[0].organization_id == members[2].organization_id
        assert members[2].name == "上海智造装备股份有限公司（新）"  # the form as filed is kept
        bearers = db.session.scalars(select(Application.bearer_id)).all()
        assert bearers[0] != bearers[1]  # same name, different USCC: two legal entities
        parent = db.session.scalar(select(Organization).where(Organization.name == "智造集团有限公司"))
        assert members[0].organization.parent_id == parent.id


def test_existing_refs_lists_what_is_stored(app, make_application_record, make_expert_record):
    with app.app_context():
        import_applications([make_application_record("A1"), make_application_record("A2")], actor=None)
        import_experts([make_expert_record("E1")], actor=None)
        assert existing_refs("applications") == {"A1", "A2"}
        assert existing_refs("experts") == {"E1"}
        with pytest.raises(ValueError, match="kind must be"):
            existing_refs("rounds")


def test_records_the_database_would_refuse_are_all_named_and_nothing_is_written(
        app, table_counts, make_application_record, make_expert_record):
    repeated_year = make_application_record("APP-002")
    repeated_year["members"][0]["finances"][1]["year"] = 2017
    long_name = make_application_record("APP-003")
    long_name["members"][1]["team_members"][0]["research_direction"] = "方" * 256
    no_party = make_expert_record("EXP-002")
    no_party["declared"] = [{"kind": "kinship", "person": None, "organization": None, "uscc": None,
                             "application": None, "until": None, "note": "配偶"}]
    before = table_counts()
    with app.app_context():
        with pytest.raises(RecordError) as refused:
            import_applications([make_application_record(), repeated_year, long_name], actor=None)
        assert str(refused.value).splitlines() == [
            "APP-002: members[1].finances: a year is given twice (2017, 2017, 2019)",
            "APP-003: team_member.research_direction: at most 255 characters, got 256",
        ]
        with pytest.raises(RecordError, match=r"^EXP-002: declared\[1\]: names no person, organization"):
            import_experts([make_expert_record(), no_party], actor=None)
    assert table_counts() == before


OPTIONAL_PATHS = [
    ("submitted_on",), ("bearer", "registered_on"), ("bearer", "registered_capital"), ("bearer", "legal_rep"),
    ("bearer", "contact", "email"), ("bearer", "economic_type"), ("bearer", "shareholders"), ("members",),
    ("members", 0, "uscc"), ("members", 0, "parent"), ("members", 0, "finances"), ("members", 0, "ip"),
    ("members", 0, "rd_institutions"), ("members", 0, "top_shareholders"), ("members", 0, "after_tax_profit"),
    ("members", 0, "legal_rep", "id_number"), ("members", 1, "team_lead"), ("members", 1, "team_members"),
    ("members", 1, "team_contact", "fax"), ("members", 1, "main_results"), ("leads", "initiator"),
    ("leads", "daily_contact", "email"), ("expected_results",), ("expected_ip", "other"), ("expected_standards",),
    ("construction_content",), ("applicant_opinion",), ("applicant_opinion_on",), ("plan", "risks"), ("plan",),
    ("excluded_experts",), ("attachments",), ("attachments", 0, "sha256"),
]


def blank(value):
    """What "not given" looks like for ``value`` in a validated record."""
    if isinstance(value, list):
        return []
    if isinstance(value, dict):
        return {key: blank(item) for key, item in value.items()}
    return None


def with_blanks(record: dict, paths) -> dict:
    """``record`` with the values at ``paths`` blanked (deepest first, so parents can be blanked too)."""
    for path in sorted(paths, key=len, reverse=True):
        parent = record
        for step in path[:-1]:
            parent = parent[step]
        parent[path[-1]] = blank(parent[path[-1]])
    return record


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(blanked=st.sets(st.sampled_from(OPTIONAL_PATHS)), include_personal=st.booleans())
def test_any_record_with_blanks_survives_export_import_export(app, make_application_record, blanked,
                                                               include_personal):
    ref = f"H{uuid.uuid4().hex[:10]}"
    record = with_blanks(make_application_record(ref), blanked)
    with app.app_context():
        import_applications([record], actor=None)
        assert export_applications(include_personal=True, refs=[ref]) == [record]
        [exported] = export_applications(include_personal=include_personal, refs=[ref])
        exported["ref"] = ref + "-again"
        import_applications([exported], actor=None)
        assert export_applications(include_personal=include_personal, refs=[exported["ref"]]) == [exported]
        db.session.remove()


def test_progress_is_reported_after_every_chunk_written(app, monkeypatch, make_expert_record):
    from web.services import records

    monkeypatch.setattr(records, "CHUNK", 2)
    reported = []
    with app.app_context():
        refs = records.import_records("experts", [make_expert_record(f"E{number}") for number in range(5)],
                                      actor=None, progress=lambda done, total: reported.append((done, total)))
        assert existing_refs("experts") == set(refs) == {f"E{number}" for number in range(5)}
    assert reported == [(2, 5), (4, 5), (5, 5)]


def test_imported_rows_get_the_column_defaults_an_orm_insert_would_give(app, make_application_record,
                                                                        make_expert_record):
    from web.models import Attachment, ExpertField

    with app.app_context():
        import_applications([make_application_record()], actor=None)
        import_experts([make_expert_record()], actor=None)
        db.session.commit()
        attachments = db.session.scalars(select(Attachment)).all()
        assert attachments and all(attachment.created_at is not None for attachment in attachments)
        assert {link.level for link in db.session.scalars(select(ExpertField))} == {1}
        assert all(event.at is not None and event.before is None
                   for event in db.session.scalars(select(AuditEvent).where(AuditEvent.action.like("%.import"))))
