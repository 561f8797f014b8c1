"""Registering applications and experts by uploading a file: preview with every error in Chinese, the "update
existing records" option, confirmation by the uploader only, all or nothing through a job."""

from __future__ import annotations

import csv
import html as html_text
import io
import json
import os
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.web.test_import_jobs import failing_after_its_work, run_retry, scheduled_retry
from web.extensions import db
from web.io import write_records
from web.models import Application, AuditEvent, Expert, Job, MemberUnit
from web.services.records import import_applications, import_experts


def file_bytes(tmp_path: Path, kind: str, records: list[dict], suffix: str) -> bytes:
    """``records`` written as a file of ``suffix`` by the exporter's own writer."""
    path = tmp_path / f"{kind}{suffix}"
    write_records(path, kind, records)
    return path.read_bytes()


def upload(client, csrf_token, kind: str, filename: str, data: bytes, *, update: bool = False):
    """Post a file to the upload page (with the form's CSRF token)."""
    page = client.get(f"/records/{kind}/upload")
    form = {"csrf_token": csrf_token(page.get_data(as_text=True)), "file": (io.BytesIO(data), filename)}
    if update:
        form["update"] = "1"
    return client.post(f"/records/{kind}/upload", data=form, content_type="multipart/form-data")


def confirm(client, csrf_token, preview):
    """Press the preview's confirm button (with the CSRF token of whoever is logged in now)."""
    html = preview.get_data(as_text=True)
    action = re.search(r'action="(/records/[a-z]+/upload/[^"]+)"', html).group(1)
    form = {"csrf_token": csrf_token(client.get("/records/experts/upload").get_data(as_text=True))}
    if 'name="update" value="1"' in html:
        form["update"] = "1"
    return client.post(action, data=form)


def problem_rows(html: str) -> list[tuple[str, str, str, str]]:
    """(sheet, row, column, error) of every row of the preview's error table."""
    body = html.split('<table class="problems">', 1)[1].split("</table>", 1)[0]
    return [tuple(html_text.unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S))
            for row in re.findall(r"<tr>(.*?)</tr>", body.split("<tbody>", 1)[1], re.S)]


def uploads_left(app) -> list[Path]:
    """Files still kept in the store's uploads folder."""
    folder = Path(app.config["PANEL_FILE_STORE"]) / "uploads"
    return [path for path in folder.rglob("*") if path.is_file()] if folder.exists() else []


def test_a_good_workbook_is_previewed_then_registered_by_a_job(app, client, auth, csrf_token, tmp_path, table_counts,
                                                                make_application_record):
    auth.login(role="organizer")
    records = [make_application_record("A101"), make_application_record("A102", center_name="上海机器人创新中心")]
    before = table_counts()
    preview = upload(client, csrf_token, "applications", "申报书.xlsx",
                     file_bytes(tmp_path, "applications", records, ".xlsx"))
    assert preview.status_code == 200
    assert "2 条新记录" in preview.get_data(as_text=True)
    assert table_counts() == before                              # nothing before the confirmation
    assert len(uploads_left(app)) == 1
    answer = confirm(client, csrf_token, preview)
    assert answer.status_code == 303 and "/jobs/" in answer.headers["Location"]
    with app.app_context():
        job = db.session.scalar(select(Job).where(Job.kind == "records_upload"))
        assert job.state == "done" and job.done == 2
        assert set(db.session.scalars(select(Application.ref))) == {"A101", "A102"}
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "application.import")).all()
        assert sorted(event.entity_id for event in events) == ["A101", "A102"]
        assert {event.actor_name for event in events} == {"organizer"}
    assert uploads_left(app) == []
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "/records/applications" in page                     # the job page leads to the list


def test_every_error_is_listed_in_chinese_by_sheet_row_and_column(app, client, auth, csrf_token, tmp_path,
                                                                   table_counts, make_application_record):
    auth.login(role="organizer")
    good = make_application_record("A201")
    bad = make_application_record("A202")
    bad["bearer"] = {**bad["bearer"], "uscc": bad["bearer"]["uscc"][:-1] + "X"}
    bad["members"] = [{**bad["members"][0], "employees": -5}, *bad["members"][1:]]
    before = table_counts()
    answer = upload(client, csrf_token, "applications", "申报书.xlsx",
                    file_bytes(tmp_path, "applications", [good, bad], ".xlsx"))
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert "文件中有 2 个错误" in html and "未登记任何记录" in html
    rows = problem_rows(html)
    assert rows[0][:3] == ("申报书", "3", "承担单位.统一社会信用代码") and "校验位" in rows[0][3]
    assert rows[1][:3] == ("成员单位", "4", "员工总人数") and rows[1][3].startswith("不能为负数")
    assert not re.search(r"[A-Za-z]{4,}", "".join(row[3] for row in rows))      # no English sentence
    assert table_counts() == before and uploads_left(app) == []


def test_a_control_character_in_a_file_is_refused_in_chinese_on_the_page_and_the_command_line(
        app, client, auth, csrf_token, runner, tmp_path, table_counts, make_application_record):
    from web.commands.data import import_command

    auth.login(role="organizer")
    record = make_application_record("A203", center_name="上海未来智造创新中心")
    data = file_bytes(tmp_path, "applications", [record], ".csv").replace(     # PostgreSQL refused the NUL
        "上海未来智造创新中心".encode(), "上海\x00未来智造创新中心".encode())
    before = table_counts()
    answer = upload(client, csrf_token, "applications", "申报书.csv", data)
    assert answer.status_code == 422
    rows = problem_rows(answer.get_data(as_text=True))
    assert [row[2:] for row in rows] == [("中心名称", "不能包含控制字符（如 NUL 空字符）")]
    path = tmp_path / "nul.csv"
    path.write_bytes(data)
    result = runner.invoke(import_command, ["applications", str(path)])
    assert result.exit_code == 1 and "control characters" in result.stderr
    assert table_counts() == before


def test_a_missing_column_is_reported_once_not_per_row(client, auth, csrf_token, tmp_path, table_counts,
                                                       make_expert_record):
    auth.login(role="organizer")
    data = file_bytes(tmp_path, "experts", [make_expert_record(f"E{n}") for n in range(1, 6)], ".csv")
    table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    position = table[0].index("姓名")
    text = io.StringIO()
    csv.writer(text).writerows([row[:position] + row[position + 1:] for row in table])
    before = table_counts()
    answer = upload(client, csrf_token, "experts", "专家.csv", text.getvalue().encode("utf-8"))
    assert answer.status_code == 422
    rows = problem_rows(answer.get_data(as_text=True))
    assert rows == [("", "", "姓名", "缺少必填列 姓名：请在标题行中补上这一列")]
    assert table_counts() == before


def test_a_file_of_the_wrong_type_or_an_xls_workbook_is_refused_in_chinese(client, auth, csrf_token, table_counts):
    auth.login(role="organizer")
    before = table_counts()
    answer = upload(client, csrf_token, "applications", "申报书.docx", b"PK\x03\x04 not a record file")
    assert answer.status_code == 422
    assert "不能读取 .docx 类型的文件：请上传 .xlsx、.csv 或 .json 文件" in answer.get_data(as_text=True)
    answer = upload(client, csrf_token, "applications", "申报书.xls", b"\xd0\xcf\x11\xe0" + b"\0" * 100)
    assert "请在 Excel 中打开并另存为 .xlsx" in answer.get_data(as_text=True)
    answer = upload(client, csrf_token, "experts", "专家.json", b"{not json")
    assert "不是有效的 JSON" in answer.get_data(as_text=True)
    assert table_counts() == before


@pytest.mark.app_config(IMPORT_MAX_BYTES=4096)
def test_a_file_over_the_size_limit_is_refused_before_it_is_read(client, auth, csrf_token, table_counts):
    auth.login(role="organizer")
    before = table_counts()
    answer = upload(client, csrf_token, "experts", "专家.json", b"[" + b" " * 8000 + b"]")
    assert answer.status_code == 413
    assert "请求内容超过服务器允许的大小" in answer.get_data(as_text=True)
    assert table_counts() == before


def test_a_registered_ref_is_an_error_without_the_update_option(app, client, auth, csrf_token, tmp_path,
                                                                table_counts, make_expert_record):
    with app.app_context():
        import_experts([make_expert_record("E1")], actor=None)
    auth.login(role="organizer")
    before = table_counts()
    data = file_bytes(tmp_path, "experts", [make_expert_record("E1", name="改名专家"), make_expert_record("E2")],
                      ".json")
    answer = upload(client, csrf_token, "experts", "专家.json", data)
    assert answer.status_code == 422
    [problem] = problem_rows(answer.get_data(as_text=True))
    assert problem[1:3] == ("1", "ref")
    assert problem[3] == "E1 已经登记：如要用本文件中的记录替换已登记的记录，请勾选“更新已有记录”"
    assert table_counts() == before


def test_the_update_option_replaces_registered_records_and_keeps_their_ids(app, client, auth, csrf_token, tmp_path,
                                                                           make_application_record):
    with app.app_context():
        [registered] = import_applications([make_application_record("A301")], actor=None)
        registered_id, members_before = registered.id, len(registered.members)
    changed = make_application_record("A301", center_name="上海智能传感器创新中心")
    changed["members"] = changed["members"][:1]
    auth.login(role="organizer")
    preview = upload(client, csrf_token, "applications", "申报书.xlsx",
                     file_bytes(tmp_path, "applications", [changed, make_application_record("A302")], ".xlsx"),
                     update=True)
    assert preview.status_code == 200
    assert "1 条新记录" in preview.get_data(as_text=True) and "替换 1 条" in preview.get_data(as_text=True)
    confirm(client, csrf_token, preview)
    with app.app_context():
        application = db.session.scalar(select(Application).where(Application.ref == "A301"))
        assert application.id == registered_id and application.center_name == "上海智能传感器创新中心"
        members = db.session.scalar(select(func.count()).select_from(MemberUnit)
                                    .where(MemberUnit.application_id == registered_id))
        assert members == 1 < members_before
        [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "application.update")).all()
        assert (event.entity_id, event.actor_name) == ("A301", "organizer")
        assert event.before["center_name"] != event.after["center_name"] == "上海智能传感器创新中心"
        assert event.after["bearer"]["legal_rep"]["phone"] is None              # personal data left out
        assert db.session.scalar(select(Application).where(Application.ref == "A302")) is not None


def test_an_upload_is_confirmed_only_by_its_uploader(app, client, auth, csrf_token, tmp_path, table_counts,
                                                      make_user, make_expert_record):
    make_user("organizer2", "organizer")
    auth.login(role="organizer")
    preview = upload(client, csrf_token, "experts", "专家.json",
                     file_bytes(tmp_path, "experts", [make_expert_record("E9")], ".json"))
    auth.logout()
    auth.login(username="organizer2")
    before = table_counts()
    assert confirm(client, csrf_token, preview).status_code == 404
    assert table_counts() == before


def test_a_file_that_no_longer_passes_at_confirmation_writes_nothing(app, client, auth, csrf_token, tmp_path,
                                                                     make_expert_record):
    auth.login(role="organizer")
    preview = upload(client, csrf_token, "experts", "专家.json",
                     file_bytes(tmp_path, "experts", [make_expert_record("E7"), make_expert_record("E8")], ".json"))
    with app.app_context():
        import_experts([make_expert_record("E8", name="别人先登记")], actor=None)   # registered meanwhile
    answer = confirm(client, csrf_token, preview)
    with app.app_context():
        job = db.session.scalar(select(Job).where(Job.kind == "records_upload"))
        assert (job.state, job.error) == ("failed", "upload_changed")
        assert set(db.session.scalars(select(Expert.ref))) == {"E8"}
        assert db.session.scalar(select(Expert.name).where(Expert.ref == "E8")) == "别人先登记"
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "未写入任何记录" in page
    assert uploads_left(app) == []


def test_experts_are_updated_from_json_with_their_fields_replaced(app, client, auth, csrf_token, tmp_path,
                                                                  make_expert_record):
    with app.app_context():
        [expert] = import_experts([make_expert_record("E5")], actor=None)
        expert_id = expert.id
    record = make_expert_record("E5", title="研究员", fields=["DIG-AI"], declared=[])
    auth.login(role="organizer")
    confirm(client, csrf_token, upload(client, csrf_token, "experts", "专家.json",
                                       json.dumps([json.loads(json.dumps(record, default=str))]).encode(),
                                       update=True))
    with app.app_context():
        expert = db.session.get(Expert, expert_id)
        assert expert.title == "研究员" and [link.field.code for link in expert.field_links] == ["DIG-AI"]
        assert expert.declared == []


@pytest.mark.app_config(IMPORT_MAX_ERRORS=3)
def test_at_most_the_error_limit_is_listed_with_the_total(client, auth, csrf_token, make_expert_record):
    auth.login(role="organizer")
    records = [make_expert_record(f"E{n}", max_load=-1) for n in range(1, 6)]
    answer = upload(client, csrf_token, "experts", "专家.json",
                    json.dumps(json.loads(json.dumps(records, default=str))).encode())
    html = answer.get_data(as_text=True)
    assert "文件中有 5 个错误" in html and "共 5 个错误，下面列出前 3 个。" in html
    assert [row[1] for row in problem_rows(html)] == ["1", "2", "3"]


def test_an_upload_never_confirmed_is_forgotten_after_a_day(app, client, auth, csrf_token, tmp_path,
                                                            make_expert_record):
    auth.login(role="organizer")
    data = file_bytes(tmp_path, "experts", [make_expert_record("E6")], ".json")
    stale = upload(client, csrf_token, "experts", "专家.json", data)
    [kept] = uploads_left(app)
    two_days_ago = kept.parent.stat().st_mtime - 2 * 24 * 3600
    os.utime(kept.parent, (two_days_ago, two_days_ago))
    upload(client, csrf_token, "experts", "专家.json", data)
    assert len(uploads_left(app)) == 1 and kept not in uploads_left(app)
    assert confirm(client, csrf_token, stale).status_code == 404


def test_the_template_downloaded_from_the_page_passes_its_own_preview(client, auth, csrf_token):
    auth.login(role="organizer")
    template = client.get("/records/applications/template.xlsx")
    assert template.status_code == 200 and "attachment" in template.headers["Content-Disposition"]
    preview = upload(client, csrf_token, "applications", "申报书导入模板.xlsx", template.data)
    assert preview.status_code == 200 and "将登记 1 条新记录" in preview.get_data(as_text=True)


def test_an_upload_whose_first_attempt_failed_after_its_work_is_registered_by_the_retry(
        app, client, auth, csrf_token, tmp_path, monkeypatch, make_expert_record):
    """A worker that fails between the work and the commit (killed, or the commit refused) writes nothing and
    leaves the kept file, so Huey's retry registers the upload; the file goes once that end is committed."""
    from web.jobs.queue import run
    from web.models import User, utcnow

    auth.login(role="organizer")
    preview = upload(client, csrf_token, "experts", "专家.json",
                     file_bytes(tmp_path, "experts", [make_expert_record("E31")], ".json"))
    token = re.search(r'action="/records/experts/upload/([^"]+)"', preview.get_data(as_text=True)).group(1)
    with app.app_context():
        organizer = db.session.scalar(select(User).where(User.username == "organizer"))
        job = Job(kind="records_upload", requested_by=organizer, state="queued", step="waiting",
                  params={"kind": "experts", "token": token, "update": False}, created_at=utcnow())
        db.session.add(job)
        db.session.commit()
        job_id = job.id
    with monkeypatch.context() as patched:
        failing_after_its_work(patched, "records_upload")
        run(app, "run_job", job_id)
    retry = scheduled_retry(app)
    with app.app_context():
        assert db.session.get(Job, job_id).state == "queued"
        assert db.session.scalar(select(func.count(Expert.id))) == 0
    assert len(uploads_left(app)) == 1
    run_retry(app, retry)
    with app.app_context():
        job = db.session.get(Job, job_id)
        assert (job.state, job.error) == ("done", None)
        assert list(db.session.scalars(select(Expert.ref))) == ["E31"]
    assert uploads_left(app) == []
