"""Validation of imported records (DESIGN §10): malformed input is refused with record, key and rule, every
error at once; well-formed but inconsistent input is accepted for the formal check."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matching.uscc import ALPHABET, check_character
from web.records import default_field_names, validate_applications, validate_experts

TAXONOMY = default_field_names()
USCC_EXAMPLES = Path(__file__).resolve().parents[3] / "shared" / "data" / "cn_org_names" / "uscc_examples.csv"


def errors_of(records, kind="applications", sources=None, existing=()):
    validate = validate_applications if kind == "applications" else validate_experts
    sources = sources or [f"row {n}" for n in range(2, len(records) + 2)]
    return validate(records, source_refs=sources, taxonomy=TAXONOMY, existing_refs=existing)[1]


def test_a_complete_record_validates_to_itself(make_application_record, make_expert_record):
    application, expert = make_application_record(), make_expert_record()
    assert validate_applications([application], source_refs=["[1]"], taxonomy=TAXONOMY) == ([application], [])
    assert validate_experts([expert], source_refs=["[1]"], taxonomy=TAXONOMY) == ([expert], [])


def test_spreadsheet_strings_become_typed_values(make_application_record):
    raw = make_application_record()
    raw["field"] = "智能制造"  # the Chinese name
    raw["submitted_on"] = "2020-10-15"
    raw["bearer"]["economic_type"] = "私营企业"
    raw["bearer"]["foreign_share_pct"] = "10"
    raw["members"][0]["employees"] = "850"
    raw["members"][0]["role"] = "发起单位"
    raw["members"][1]["kind"] = "高校/科研院所"
    raw["expected_results"] = "专利、技术标准，新产品"
    raw["bearer"]["registered_postcode"] = 201203  # an Excel number cell
    records, errors = validate_applications([raw], source_refs=["row 2"], taxonomy=TAXONOMY)
    assert errors == []
    assert records == [make_application_record()]


def test_blank_strings_are_none_and_absent_lists_empty(make_application_record):
    raw = {"ref": " A1 ", "center_name": "中心", "field": "EQP-GT",
           "bearer": {"name": "承担单位", "uscc": "91310115MA1K3BTP2B", "registered_address": "  "}}
    [record], errors = validate_applications([raw], source_refs=["[1]"], taxonomy=TAXONOMY)
    assert errors == []
    assert record["ref"] == "A1"
    assert record["bearer"]["registered_address"] is None
    assert record["members"] == [] and record["attachments"] == []
    assert record["leads"]["initiator"] == {"name": None, "mobile": None, "post": None, "email": None}


BAD_APPLICATION_INPUTS = [
    ("wrong check character", lambda r: r["bearer"].update(uscc="91110000600037341K"),
     "A017: bearer.uscc: check character is K, expected L"),
    ("lowercase", lambda r: r["bearer"].update(uscc="91110000600037341l"),
     "A017: bearer.uscc: characters not allowed: l"),
    ("letter O", lambda r: r["members"][0].update(uscc="9111000060003O341L"),
     "A017: members[1].uscc: characters not allowed: O"),
    ("I O Z S V", lambda r: r["bearer"].update(uscc="9111000060003IOZSV"),
     "A017: bearer.uscc: characters not allowed: I O S V Z"),
    ("17 characters", lambda r: r["bearer"].update(uscc="9111000060003734L"),
     "A017: bearer.uscc: must be 18 characters, got 17"),
    ("unknown field code", lambda r: r.update(field="EQP-XX"), "A017: field: unknown field code 'EQP-XX'"),
    ("date not ISO", lambda r: r["bearer"].update(registered_on="2020/13/01"),
     "A017: bearer.registered_on: must be an ISO date YYYY-MM-DD, got '2020/13/01'"),
    ("impossible date", lambda r: r.update(submitted_on="2020-02-30"),
     "A017: submitted_on: is not a calendar date, got '2020-02-30'"),
    ("foreign share 120", lambda r: r["bearer"].update(foreign_share_pct=120),
     "A017: bearer.foreign_share_pct: must be between 0 and 100, got 120"),
    ("negative employees", lambda r: r["members"][0].update(employees=-5),
     "A017: members[1].employees: must be ≥ 0, got -5"),
    ("negative amount", lambda r: r["members"][0]["finances"][1].update(sales="-1.5"),
     "A017: members[1].finances[2].sales: must be ≥ 0, got -1.5"),
    ("fractional count", lambda r: r["expected_ip"].update(other=2.5),
     "A017: expected_ip.other: must be a whole number, got 2.5"),
    ("501 characters", lambda r: r.update(construction_content="字" * 501),
     "A017: construction_content: at most 500 characters, got 501"),
    ("four excluded experts", lambda r: r.update(excluded_experts=["E1", "E2", "E3", "E4"]),
     "A017: excluded_experts: at most 3 entries, got 4"),
    ("unknown enum", lambda r: r["bearer"].update(economic_type="collective"),
     "A017: bearer.economic_type: unknown value 'collective'"),
    ("unknown result type", lambda r: r.update(expected_results=["patent", "poem"]),
     "A017: expected_results: unknown value 'poem'"),
    ("unknown attachment kind", lambda r: r["attachments"][0].update(kind="photo"),
     "A017: attachments[1].kind: unknown value 'photo'"),
    ("unknown key", lambda r: r["bearer"].update(registred_on="2020-01-01"),
     "A017: bearer.registred_on: unknown key"),
    ("unknown top-level key", lambda r: r.update(colour="red"), "A017: colour: unknown key"),
    ("missing center name", lambda r: r.pop("center_name"), "A017: center_name: required"),
    ("missing bearer USCC", lambda r: r["bearer"].update(uscc=""), "A017: bearer.uscc: required"),
    ("member without kind", lambda r: r["members"][1].update(kind=None), "A017: members[2].kind: required"),
    ("enterprise figure on an institute", lambda r: r["members"][1].update(employees=3),
     "A017: members[2].employees: only for enterprise members, this member is institute"),
    ("list where an object belongs", lambda r: r.update(bearer=["x"]), "A017: bearer: must be an object"),
    ("more than three years of finances", lambda r: r["members"][0]["finances"].append(
        {"year": 2016, "sales": 1.0, "rd_investment": 1.0}), "A017: members[1].finances: at most 3 entries, got 4"),
    ("shareholder share 101", lambda r: r["bearer"]["shareholders"][0].update(share_pct="101"),
     "A017: bearer.shareholders[1].share_pct: must be between 0 and 100, got 101"),
]


@pytest.mark.parametrize(("mutate", "message"), [case[1:] for case in BAD_APPLICATION_INPUTS],
                         ids=[case[0] for case in BAD_APPLICATION_INPUTS])
def test_malformed_application_is_refused_naming_record_key_and_rule(make_application_record, mutate, message):
    record = make_application_record("A017")
    mutate(record)
    errors = errors_of([record], sources=["[1]"])
    assert any(error.startswith(message) for error in errors), errors
    assert len(errors) == 1, errors


BAD_EXPERT_INPUTS = [
    ("unknown pool", lambda r: r.update(pool="finance"), "E1: pool: unknown pool 'finance'"),
    ("unknown field", lambda r: r.update(fields=["EQP-SM", "XYZ"]), "E1: fields: unknown field code 'XYZ'"),
    ("unknown role", lambda r: r["roles"][0].update(role="ceo"), "E1: roles[1].role: unknown value 'ceo'"),
    ("unknown declared kind", lambda r: r["declared"][0].update(kind="friendship"),
     "E1: declared[1].kind: unknown value 'friendship'"),
    ("date not ISO", lambda r: r["past_affiliations"][0].update(until="30.06.2018"),
     "E1: past_affiliations[1].until: must be an ISO date YYYY-MM-DD, got '30.06.2018'"),
    ("negative load", lambda r: r.update(max_load=-1), "E1: max_load: must be ≥ 0, got -1"),
    ("not yes or no", lambda r: r.update(available="maybe"), "E1: available: must be yes or no"),
    ("organization USCC check", lambda r: r["organization"].update(uscc="91110000600037341N"),
     "E1: organization.uscc: check character is N, expected L"),
]


@pytest.mark.parametrize(("mutate", "message"), [case[1:] for case in BAD_EXPERT_INPUTS],
                         ids=[case[0] for case in BAD_EXPERT_INPUTS])
def test_malformed_expert_is_refused_naming_record_key_and_rule(make_expert_record, mutate, message):
    record = make_expert_record("E1")
    mutate(record)
    errors = errors_of([record], kind="experts", sources=["[1]"])
    assert any(error.startswith(message) for error in errors), errors
    assert len(errors) == 1, errors


def test_pools_and_fields_by_chinese_name(make_expert_record):
    [record], errors = validate_experts([make_expert_record(pool="法律", fields="智能制造,工业互联网")],
                                        source_refs=["row 2"], taxonomy=TAXONOMY)
    assert errors == []
    assert record["pool"] == "law" and record["fields"] == ["EQP-SM", "DIG-II"]


def test_every_error_is_reported_not_only_the_first(make_application_record):
    first, second = make_application_record("A017"), make_application_record("A018")
    first["bearer"]["uscc"] = "91110000600037341K"
    first["construction_content"] = "字" * 501
    second["members"][0]["employees"] = -5
    second["submitted_on"] = "2020/13/01"
    errors = errors_of([first, second], sources=["row 2", "row 9"])
    assert errors == [
        "row 2 (A017): bearer.uscc: check character is K, expected L",
        "row 2 (A017): construction_content: at most 500 characters, got 501",
        "row 9 (A018): submitted_on: must be an ISO date YYYY-MM-DD, got '2020/13/01'",
        "row 9 (A018): members[1].employees: must be ≥ 0, got -5",
    ]


def test_duplicate_refs_within_the_file_and_against_the_database(make_application_record):
    records = [make_application_record("A1"), make_application_record("A2"), make_application_record("A1")]
    errors = errors_of(records, sources=["row 2", "row 3", "row 4"], existing={"A2"})
    assert errors == [
        "row 3 (A2): ref: duplicate ref 'A2': already in the database",
        "row 4 (A1): ref: duplicate ref 'A1': also row 2",
    ]


def test_a_record_without_ref_is_named_by_its_row():
    errors = errors_of([{"center_name": "x"}], sources=["row 5"])
    assert "row 5: ref: required" in errors
    assert "row 5: field: required" in errors and "row 5: bearer: required" in errors


def test_something_that_is_not_an_object_is_refused():
    assert errors_of(["A001"], sources=["[1]"]) == ["[1]: (record): must be an object with keys, got str"]


def test_inconsistent_but_well_formed_data_is_accepted_for_the_formal_check(make_application_record):
    record = make_application_record("A1", submitted_on=date(2020, 10, 1))
    record["bearer"]["shareholders"][0]["share_pct"] = 55.0  # sums to 95
    record["bearer"]["uscc"] = "913205056082348768"  # Jiangsu
    record["bearer"]["registered_address"] = "江苏省苏州市"
    record["bearer"]["registered_on"] = date(2015, 1, 1)  # five years before
    record["members"][0].update(role="participating", rd_staff=900, employees=850, fixed_assets=130000.0)
    record["attachments"] = []
    records, errors = validate_applications([record], source_refs=["[1]"], taxonomy=TAXONOMY)
    assert errors == [] and records == [record]


def test_usccs_with_spaces_are_compacted(make_application_record):
    record = make_application_record(bearer={**make_application_record()["bearer"], "uscc": "91 110000 600037341L"})
    [validated], errors = validate_applications([record], source_refs=["[1]"], taxonomy=TAXONOMY)
    assert errors == [] and validated["bearer"]["uscc"] == "91110000600037341L"


@pytest.mark.skipif(not USCC_EXAMPLES.is_file(), reason="../shared/data is not present")
def test_real_uscc_examples(make_application_record):
    with USCC_EXAMPLES.open(encoding="utf-8") as handle:
        examples = list(csv.DictReader(handle))
    assert len(examples) > 200
    for example in examples:
        record = make_application_record("A1")
        record["bearer"]["uscc"] = example["code"]
        records, errors = validate_applications([record], source_refs=["[1]"], taxonomy=TAXONOMY)
        if example["expected_valid"] == "1":
            assert errors == [], example
            assert records[0]["bearer"]["uscc"] == example["compact_form"]
        else:
            assert len(errors) == 1 and errors[0].startswith("A1: bearer.uscc: "), (example, errors)


uscc_bodies = st.tuples(st.sampled_from("123456789ANY"), st.text(alphabet=ALPHABET, min_size=16, max_size=16))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(uscc_bodies, st.sampled_from(ALPHABET))
def test_a_uscc_is_accepted_exactly_when_its_check_character_is_right(make_expert_record, body, last):
    body = body[0] + body[1]
    record = make_expert_record("E1", organization={"name": "某单位", "uscc": body + last, "parent": None})
    errors = errors_of([record], kind="experts", sources=["[1]"])
    if last == check_character(body):
        assert errors == []
    else:
        assert errors == [f"E1: organization.uscc: check character is {last}, expected {check_character(body)}"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(min_value=-10**9, max_value=-1), st.sampled_from([str, int, float]))
def test_negative_counts_are_refused_whatever_their_spelling(make_application_record, number, spelling):
    record = make_application_record("A1")
    record["members"][0]["employees"] = spelling(number)
    errors = errors_of([record], sources=["[1]"])
    assert len(errors) == 1 and errors[0].startswith("A1: members[1].employees: must be ≥ 0, got -")
