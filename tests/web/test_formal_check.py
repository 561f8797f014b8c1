"""Formal check (DESIGN §5 step 2): each rule flags exactly the application that breaks it, naming the evidence."""

from __future__ import annotations

import copy
from dataclasses import FrozenInstanceError
from datetime import date

import pytest

from web.services.formal_check import Flag, check_application, check_report


def codes(record, **kwargs):
    return [flag.code for flag in check_application(record, **kwargs)]


@pytest.fixture
def eligible(make_application_record):
    record = make_application_record("A1")
    record["attachments"] = [{"kind": kind, "filename": f"{kind}.pdf", "sha256": None} for kind in (
        "business_licence", "audited_financials", "cooperation_agreement", "bylaws")]
    return record


def test_an_eligible_complete_application_has_no_flags(eligible):
    assert check_application(eligible) == []


def test_flags_are_frozen(eligible):
    eligible["attachments"] = []
    flag = check_application(eligible)[0]
    assert isinstance(flag, Flag)
    with pytest.raises(FrozenInstanceError):
        flag.code = "OTHER"


def test_bearer_outside_shanghai_by_code_and_address(eligible):
    eligible["bearer"].update(uscc="913205056082348768", registered_address="江苏省苏州市工业园区星湖街1号")
    [flag] = check_application(eligible)
    assert flag.code == "BEARER_NOT_SHANGHAI"
    assert "913205056082348768" in flag.message and "320505" in flag.message and "江苏省苏州市" in flag.message
    assert "division code 320505" in flag.message_en


def test_a_shanghai_address_or_a_31_code_is_enough(eligible):
    eligible["bearer"].update(uscc="913205056082348768", registered_address="上海市浦东新区张江路1号")
    assert codes(eligible) == []
    eligible["bearer"].update(uscc="91310115MA1K3BTP2B", registered_address="江苏省苏州市")
    assert codes(eligible) == []


def test_bearer_registered_more_than_three_years_before_submission(eligible):
    eligible["bearer"]["registered_on"] = date(2017, 10, 14)
    eligible["submitted_on"] = date(2020, 10, 15)
    [flag] = check_application(eligible)
    assert flag.code == "BEARER_TOO_OLD"
    assert "2017-10-14" in flag.message and "2020-10-15" in flag.message and "2017-10-15" in flag.message


def test_exactly_three_years_is_still_eligible(eligible):
    eligible["bearer"]["registered_on"] = date(2017, 10, 15)
    eligible["submitted_on"] = date(2020, 10, 15)
    assert codes(eligible) == []


def test_submission_date_can_be_given_by_the_caller(eligible):
    eligible["bearer"]["registered_on"] = date(2019, 5, 20)
    eligible["submitted_on"] = None
    assert codes(eligible) == []
    assert codes(eligible, submitted_on=date(2022, 5, 21)) == ["BEARER_TOO_OLD"]
    assert codes(eligible, submitted_on=date(2022, 5, 20)) == []


def test_leap_day_submission(eligible):
    eligible["bearer"]["registered_on"] = date(2017, 2, 27)
    assert codes(eligible, submitted_on=date(2020, 2, 29)) == ["BEARER_TOO_OLD"]
    eligible["bearer"]["registered_on"] = date(2017, 2, 28)
    assert codes(eligible, submitted_on=date(2020, 2, 29)) == []


@pytest.mark.parametrize(("shares", "flagged"), [
    ([60.0, 40.0], False), ([60.0, 39.995], False), ([60.0, 40.02], True), ([55.0, 40.0], True), ([], True),
])
def test_shares_must_sum_to_100_within_a_hundredth(eligible, shares, flagged):
    eligible["bearer"]["shareholders"] = [{"name": f"股东{n}", "share_pct": share} for n, share in enumerate(shares)]
    assert codes(eligible) == (["SHARES_NOT_100"] if flagged else [])


def test_shares_flag_names_the_total_and_holders(eligible):
    eligible["bearer"]["shareholders"][0]["share_pct"] = 55.0
    [flag] = check_application(eligible)
    assert "95%" in flag.message and "上海智造装备股份有限公司 55.0%" in flag.message


def test_no_initiating_unit(eligible):
    for member in eligible["members"]:
        member["role"] = "participating"
    [flag] = check_application(eligible)
    assert flag.code == "NO_INITIATING_UNIT" and "2家" in flag.message


def test_each_missing_attachment_is_named(eligible):
    eligible["attachments"] = [item for item in eligible["attachments"]
                               if item["kind"] not in ("audited_financials", "bylaws")]
    flags = check_application(eligible)
    assert [flag.code for flag in flags] == ["MISSING_ATTACHMENT", "MISSING_ATTACHMENT"]
    assert [flag.message for flag in flags] == ["缺少附件：发起单位上一会计年度的财务审计报告", "缺少附件：创新中心规章制度及章程"]


def test_member_figures_name_the_member(eligible):
    eligible["members"][0].update(employees=850, rd_staff=851, total_assets=100.0, fixed_assets=100.5)
    flags = check_application(eligible)
    assert [flag.code for flag in flags] == ["RD_STAFF_ABOVE_EMPLOYEES", "FIXED_ABOVE_TOTAL_ASSETS"]
    assert all("上海智造装备股份有限公司" in flag.message for flag in flags)
    assert "851" in flags[0].message and "850" in flags[0].message
    assert "100.5" in flags[1].message_en


def test_equal_figures_are_not_flagged(eligible):
    eligible["members"][0].update(employees=850, rd_staff=850, total_assets=100.0, fixed_assets=100.0)
    assert codes(eligible) == []


def test_unknown_figures_are_not_flagged(eligible):
    eligible["members"][0].update(employees=None, fixed_assets=None)
    assert codes(eligible) == []


def test_report_lists_every_application_with_its_flags(eligible):
    other = copy.deepcopy(eligible)
    other["ref"] = "A2"
    other["attachments"] = other["attachments"][:3]
    report = check_report([eligible, other])
    assert [entry["ref"] for entry in report] == ["A1", "A2"]
    assert report[0]["flags"] == []
    assert report[1]["flags"] == [{"code": "MISSING_ATTACHMENT", "message": "缺少附件：创新中心规章制度及章程",
                                   "message_en": "Missing attachment: bylaws and rules of the center"}]
