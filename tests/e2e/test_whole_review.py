"""A whole review through the browser only, in Chinese: the organizer (the one account made directly) uploads a
file of applications that is refused with its errors, then good files of experts and applications; creates a round
with panel settings that fit them, attaches the applications, matches, moves to scoring and invites. Three invited
experts open their personal links from the outbox, set a password, declare no conflict on each seat, score and
submit — two at desktop width, one on a 390 px phone. The organizer reads the ranking (each row counts the sheets
the three submitted) and downloads the Excel export."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from openpyxl import load_workbook

from web.demo import validated_demo
from web.io import write_records

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
expect = pytest.importorskip("playwright.sync_api").expect

ROUND_NAME = "浏览器全流程评审"
QUOTAS = {"technology": (2, 3), "industry": (1, 2), "economics": (0, 1), "management": (0, 1), "law": (0, 1)}
JOB_TIMEOUT = 120_000          # a job (registering, matching) on a loaded machine
WIDTHS = (1280, 1280, 390)     # the three experts' screens


def test_a_whole_review_runs_in_the_browser(page, live, login, logout, open_round, tmp_path):
    live.app.config["PANEL_BASE_URL"] = live.url
    live.app.config["PANEL_MATCHING_INLINE_PAIRS"] = 0         # matching runs as a job, as a large round's would
    demo = validated_demo(7, applications=3, experts=80)
    refs = [application["ref"] for application in demo.applications]
    live.user("organizer", "organizer")
    login(page, live, "organizer")

    _refused_upload(page, live, demo.applications, tmp_path)
    _upload(page, live, "experts", demo.experts, tmp_path)
    _upload(page, live, "applications", demo.applications, tmp_path)
    round_id = open_round(page, live, refs, quotas=QUOTAS, fields={
        "name": ROUND_NAME, "as_of": "2020-10-01", "deadline": "2020-10-30", "panel_size": "5", "max_load": "3",
        "reserves": "2"})
    _match(page, live, round_id)
    _to_scoring(page, live, round_id)
    invitations = _invite(page, live, round_id)
    logout(page)

    submitted: Counter[str] = Counter()
    for invitation, width in zip(invitations[:3], WIDTHS, strict=True):
        page.set_viewport_size({"width": width, "height": 900 if width > 400 else 844})
        _set_password(page, invitation)
        for ref in _review_every_seat(page, live, width):
            submitted[ref] += 1
        logout(page)
    assert sum(submitted.values()) >= 3

    page.set_viewport_size({"width": 1280, "height": 900})
    login(page, live, "organizer")
    _check_ranking(page, live, round_id, refs, submitted)
    _check_export(page, tmp_path, refs)


# ---------------------------------------------------------------- uploads

def _refused_upload(page, live, applications: list[dict], tmp_path) -> None:
    """A file whose second application has no centre name: refused, the error named by sheet, row and column."""
    bad = [applications[0], {**applications[1], "center_name": None}]
    path = tmp_path / "有错误的申报书.xlsx"
    write_records(path, "applications", bad)
    sheet, row = _cell_of(path, applications[1]["ref"])
    _check_file(page, live, "applications", path)
    expect(page.get_by_role("alert")).to_contain_text("文件中有 1 个错误，未登记任何记录")
    errors = page.locator("table.problems tbody tr")
    expect(errors).to_have_count(1)
    cells = errors.first.locator("td")
    expect(cells.nth(0)).to_have_text(sheet)
    expect(cells.nth(1)).to_have_text(str(row))
    expect(cells.nth(2)).to_have_text("中心名称")
    expect(cells.nth(3)).to_contain_text("必填项，但未填写")


def _cell_of(path, ref: str) -> tuple[str, int]:
    """The worksheet and row of the file where the record ``ref`` is written (its first cell)."""
    workbook = load_workbook(path, read_only=True)
    for sheet in workbook.worksheets:
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            if ref in values:
                return sheet.title, number
    raise AssertionError(f"{ref} is not in {path}")


def _upload(page, live, kind: str, records: list[dict], tmp_path) -> None:
    """Upload ``records`` as an Excel file, confirm the preview and wait for the job to register them."""
    path = tmp_path / f"{kind}.xlsx"
    write_records(path, kind, records)
    _check_file(page, live, kind, path)
    expect(page.locator("main")).to_contain_text(f"将登记 {len(records)} 条新记录")
    page.get_by_role("button", name="确认登记").click()
    page.wait_for_url("**/jobs/*")
    page.get_by_role("link", name="查看已登记的记录").click(timeout=JOB_TIMEOUT)     # once the job is done
    expect(page.locator("main")).to_contain_text(records[0]["ref"])


def _check_file(page, live, kind: str, path) -> None:
    """Send ``path`` to the upload page of ``kind`` for its preview."""
    page.goto(f"{live.url}/records/{kind}/upload")
    page.set_input_files("input[name=file]", str(path))
    page.get_by_role("button", name="检查文件").click()


# ---------------------------------------------------------------- the round

def _match(page, live, round_id: int) -> None:
    """Move to assigning and run matching as a job: its progress page links to the version once stored."""
    page.goto(f"{live.url}/rounds/{round_id}")
    page.locator("form[action$='/state'] button").click()                  # draft → assigning
    expect(page.locator("ol.states li").nth(1)).to_have_attribute("aria-current", "step")
    page.locator("form.run button").click()
    page.wait_for_url("**/jobs/*")
    expect(page.locator("main h1")).to_have_text("专家匹配")
    page.get_by_role("link", name="查看第 1 版").click(timeout=JOB_TIMEOUT)
    page.wait_for_url(f"**/rounds/{round_id}/versions/1")


def _to_scoring(page, live, round_id: int) -> None:
    page.goto(f"{live.url}/rounds/{round_id}")
    page.locator("form[action$='/state'] button").click()                  # assigning → scoring
    expect(page.locator("ol.states li").nth(2)).to_have_attribute("aria-current", "step")


def _invite(page, live, round_id: int) -> list[dict]:
    """Invite every proposed seat (the box that states the count ticked first); returns each invitation's
    username and personal link as the outbox shows them."""
    page.goto(f"{live.url}/invitations/rounds/{round_id}")
    form = page.locator("form[action$='/invite']")
    label = form.locator("label.confirm").inner_text()
    messages = int(re.search(r"(\d+)", label).group(1))
    assert messages >= 3
    form.locator("input[name=confirm]").check()
    form.locator("button[type=submit]").click()
    expect(page.get_by_role("alert").first).to_contain_text(f"{messages} 封")
    page.goto(f"{live.url}/invitations/outbox?round={round_id}&kind=invitation")
    subjects = page.locator("main table tbody tr td:nth-child(5) a")
    expect(subjects).to_have_count(messages)
    hrefs = [subjects.nth(n).get_attribute("href") for n in range(3)]
    invitations = []
    for href in hrefs:
        page.goto(f"{live.url}{href}")
        mail = page.locator("pre.mail").inner_text()
        invitations.append({"link": re.search(r"http://\S+/access/\S+", mail).group(0),
                            "username": re.search(r"用户名：(\S+)", mail).group(1)})
    assert len({invitation["username"] for invitation in invitations}) == 3
    return invitations


# ---------------------------------------------------------------- the experts

def _set_password(page, invitation: dict) -> None:
    """Open the personal link, choose a password and land on the expert's own seats, logged in."""
    page.goto(invitation["link"])
    expect(page.locator("h1")).to_have_text("设置密码")
    password = f"{invitation['username']} 的评审密码 2020"
    page.fill("input[name=password]", password)
    page.fill("input[name=confirm]", password)
    page.locator("main form [type=submit]").click()
    page.wait_for_url("**/expert/")


def _review_every_seat(page, live, width: int) -> list[str]:
    """Declare no conflict, score and submit every seat on the start page; returns the applications' refs."""
    seats = {}
    for seat in page.locator("li.seat").all():
        href = seat.locator("a[href$='/declare']").first.get_attribute("href")
        seats[int(re.search(r"/seats/(\d+)/declare", href).group(1))] = seat.locator("h2 small").inner_text()
    assert seats, "the invited expert has no seat to declare on"
    for seat_id in seats:
        _review_seat(page, live, seat_id, width)
    return list(seats.values())


def _review_seat(page, live, seat_id: int, width: int) -> None:
    page.goto(f"{live.url}/expert/seats/{seat_id}/declare")
    page.check("input[name=conflict][value=no]")
    page.locator("form.declaration button[type=submit]").click()
    page.wait_for_url(f"**/expert/seats/{seat_id}/sheet")
    assert page.evaluate("document.documentElement.scrollWidth") <= width    # nothing runs off the screen
    fields = page.locator("li.criterion input[name^=score-]")
    expect(fields.first).to_be_visible()
    for field in fields.all():
        maximum, step = float(field.get_attribute("data-max")), float(field.get_attribute("data-step"))
        field.fill(_plain(maximum - step))
        assert field.get_attribute("aria-invalid") != "true"
    for comment in page.locator("li.criterion textarea[name^=comment-]").all():
        comment.fill("论证充分。")
    expect(page.locator("#total-note")).to_have_text("")                       # every criterion scored
    page.check("input[name=opinion][value=recommend]")
    page.fill("textarea[name=comment]", "技术路线清晰，建议支持。")
    page.locator("button[name=action][value=submit]").click()
    expect(page.locator("#consequence")).to_contain_text("除非组织方退回")
    page.locator("form.confirm-submit button[name=action][value=submit]").click()
    page.wait_for_url("**/expert/")


def _plain(value: float) -> str:
    """A number as typed: 7 without a decimal point, 7.5 with one."""
    return str(int(value)) if float(value).is_integer() else str(value)


# ---------------------------------------------------------------- the organizer's results

def _check_ranking(page, live, round_id: int, refs: list[str], submitted: Counter) -> None:
    """Every application has its row: the number of submitted sheets, or that none is submitted yet."""
    page.goto(f"{live.url}/rankings/")
    page.get_by_role("link", name=ROUND_NAME).first.click()
    page.wait_for_url(f"**/rankings/rounds/{round_id}")
    rows = page.locator("table.ranking tbody tr")
    expect(rows).to_have_count(len(refs))
    for ref in refs:
        row = rows.filter(has=page.get_by_role("link", name=ref, exact=True))
        if submitted[ref]:
            expect(row.locator("td.num").last).to_have_text(str(submitted[ref]))
        else:
            expect(row).to_contain_text("尚无已提交的评分表。")


def _check_export(page, tmp_path, refs: list[str]) -> None:
    """The Excel ranking downloads as an .xlsx with Chinese headers and one line per application."""
    with page.expect_download() as download:
        page.locator("a[href*='export.xlsx']").click()
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    assert path.suffix == ".xlsx"
    ranking = list(load_workbook(path, read_only=True)["排名"].iter_rows(values_only=True))
    assert ranking[0][:4] == ("排名", "申报书编号", "中心名称", "得分")
    assert sorted(line[1] for line in ranking[1:]) == sorted(refs)
