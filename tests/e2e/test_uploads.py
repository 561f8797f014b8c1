"""In the browser, in Chinese: an organizer uploads applications; a file with errors is refused with every error
listed by sheet, row and column, then a good file is previewed, confirmed, registered by a job and listed."""

from __future__ import annotations

import pytest

from tests.web.conftest import application_record
from web.io import write_records

pytestmark = pytest.mark.e2e
expect = pytest.importorskip("playwright.sync_api").expect


def test_a_refused_upload_then_a_good_one_registered_and_listed(page, live, login, tmp_path):
    good = [application_record("A801"), application_record("A802", center_name="上海航空发动机创新中心")]
    bad = [good[0], {**good[1], "center_name": None}]
    bad[1]["bearer"] = {**bad[1]["bearer"], "uscc": bad[1]["bearer"]["uscc"][:-1] + "X"}
    write_records(tmp_path / "有错误的申报书.xlsx", "applications", bad)
    write_records(tmp_path / "申报书.xlsx", "applications", good)
    live.user("organizer", "organizer")
    login(page, live, "organizer")

    page.get_by_role("link", name="申报书", exact=True).click()
    page.get_by_role("link", name="上传文件登记").click()
    page.set_input_files("input[name=file]", str(tmp_path / "有错误的申报书.xlsx"))
    page.get_by_role("button", name="检查文件").click()
    expect(page.get_by_role("alert")).to_contain_text("文件中有 2 个错误，未登记任何记录")
    errors = page.locator("table.problems tbody tr")
    expect(errors).to_have_count(2)
    expect(errors.nth(0)).to_contain_text("中心名称")
    expect(errors.nth(0)).to_contain_text("必填项，但未填写")
    expect(errors.nth(1)).to_contain_text("承担单位.统一社会信用代码")
    expect(errors.nth(1)).to_contain_text("校验位")

    page.set_input_files("input[name=file]", str(tmp_path / "申报书.xlsx"))
    page.get_by_role("button", name="检查文件").click()
    expect(page.locator("main")).to_contain_text("将登记 2 条新记录")
    page.get_by_role("button", name="确认登记").click()
    page.get_by_role("link", name="查看已登记的记录").click(timeout=30_000)     # once the job is done
    rows = page.locator("main table tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator("main table")).to_contain_text("上海航空发动机创新中心")
