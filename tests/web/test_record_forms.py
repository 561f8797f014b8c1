"""The form of one application or expert, generated from the record schema: the import's validator, every error
in Chinese beside its field, nothing changed on refusal, personal data kept for staff who do not see it."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import select

from web.blueprints.records.form import RecordForm
from web.extensions import db
from web.models import Application, AuditEvent, Expert
from web.services.records import export_applications, import_experts


def form_fields(value: object, name: str = "") -> list[tuple[str, str]]:
    """A validated record as the (name, value) pairs its form posts."""
    if isinstance(value, dict):
        return [pair for key, item in value.items() for pair in form_fields(item, f"{name}.{key}" if name else key)]
    if isinstance(value, list):
        if value and isinstance(value[0], dict):
            return [pair for number, row in enumerate(value, start=1) for pair in form_fields(row, f"{name}[{number}]")]
        return [(name, str(item)) for item in value]
    if value is None:
        return [(name, "")]
    if isinstance(value, bool):
        return [(name, "true" if value else "false")]
    if isinstance(value, date):
        return [(name, value.isoformat())]
    return [(name, str(value))]


def post_form(client, csrf_token, target: str, record: dict):
    """Open the form at ``target`` and post ``record`` through it."""
    token = csrf_token(client.get(target).get_data(as_text=True))
    data = [("csrf_token", token), *form_fields(record)]
    return client.post(target, data=_multi(data))


def _multi(pairs: list[tuple[str, str]]):
    from werkzeug.datastructures import MultiDict

    return MultiDict(pairs)


def field_error(html: str, name: str) -> str:
    """The error shown beside the field ``name``."""
    field_id = "f-" + name.replace(".", "-").replace("[", "-").replace("]", "")
    found = re.search(rf'id="{re.escape(field_id)}-error">([^<]*)<', html)
    return found.group(1) if found else ""


def test_an_application_registered_through_the_form_is_the_record_posted(app, client, auth, csrf_token,
                                                                          make_application_record):
    auth.login(role="organizer")
    record = make_application_record("A501", attachments=[])
    answer = post_form(client, csrf_token, "/records/applications/new", record)
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/records/applications/A501")
    with app.app_context():
        [stored] = export_applications(include_personal=True, refs=["A501"])
        assert stored == record
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "application.import"))
        assert (event.entity_id, event.actor_name) == ("A501", "organizer")


def test_a_refused_form_shows_every_error_in_chinese_beside_its_field_and_changes_nothing(
        client, auth, csrf_token, table_counts, make_application_record):
    auth.login(role="organizer")
    record = make_application_record("A502", center_name=None)
    record["bearer"] = {**record["bearer"], "uscc": record["bearer"]["uscc"][:-1] + "X"}
    record["members"][0] = {**record["members"][0], "employees": -3}
    before = table_counts()
    answer = post_form(client, csrf_token, "/records/applications/new", record)
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert "3 处需要改正，未保存任何内容。" in html
    assert field_error(html, "center_name") == "必填项，但未填写"
    assert "校验位" in field_error(html, "bearer.uscc")
    assert field_error(html, "members[1].employees").startswith("不能为负数")
    assert 'value="-3"' in html                                   # what was typed stays in the form
    assert 'name="excluded_experts" type="text" value="EXP-009"' in html
    assert table_counts() == before


def test_an_expert_edited_keeps_its_id_and_the_personal_data_the_organizer_did_not_see(
        app, client, auth, csrf_token, make_expert_record):
    with app.app_context():
        [expert] = import_experts([make_expert_record("E51")], actor=None)
        expert_id, email = expert.id, expert.email
    auth.login(role="organizer")
    page = client.get("/records/experts/E51/edit").get_data(as_text=True)
    assert email not in page                                       # masked for organizers: the field is empty
    record = make_expert_record("E51", title="研究员（二级）", email=None, mobile=None)
    answer = post_form(client, csrf_token, "/records/experts/E51/edit", record)
    assert answer.status_code == 302
    with app.app_context():
        expert = db.session.get(Expert, expert_id)
        assert (expert.title, expert.email) == ("研究员（二级）", email)
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "expert.update"))
        assert event.before["title"] != event.after["title"] == "研究员（二级）"


def test_a_refused_edit_changes_nothing(app, client, auth, csrf_token, table_counts, make_application_record):
    with app.app_context():
        from web.services.records import import_applications

        import_applications([make_application_record("A503")], actor=None)
    auth.login(role="admin")
    record = make_application_record("A503", field="NO-SUCH-FIELD", center_name="改过的名称")
    before = table_counts()
    answer = post_form(client, csrf_token, "/records/applications/A503/edit", record)
    assert answer.status_code == 422
    assert "请从模板的下拉列表中选择" in field_error(answer.get_data(as_text=True), "field")
    assert table_counts() == before
    with app.app_context():
        assert db.session.scalar(select(Application.center_name).where(Application.ref == "A503")) != "改过的名称"


def test_removing_a_row_an_organizer_sees_without_personal_data_keeps_each_persons_own_data():
    """Team member B removed from A, B, C: A keeps 111 and C keeps 333 (not B's 222)."""
    team = [{"name": "A", "phone": "111"}, {"name": "B", "phone": "222"}, {"name": "C", "phone": "333"}]
    registered = {"ref": "A601", "members": [{"name": "研究院", "team_members": team}]}
    posted = {"ref": ["A601"], "members[1].name": ["研究院"],
              "members[1].team_members[1].name": ["A"], "members[1].team_members[1].phone": [""],
              "members[1].team_members[2].name": [""], "members[1].team_members[2].phone": [""],
              "members[1].team_members[3].name": ["C"], "members[1].team_members[3].phone": [""],
              "members[1].team_members[4].name": ["D"], "members[1].team_members[4].phone": [""]}
    form = RecordForm("applications", {}, personal_visible=False)
    raw = form.read(posted, registered)
    assert [(row["name"], row["phone"]) for row in raw["members"][0]["team_members"]] == [
        ("A", "111"), ("C", "333"), ("D", None)]


def hidden_marks(items: list) -> dict[str, object]:
    """The hidden row marks of a rendered form: {input name: value}."""
    marks = {}
    for item in items:
        if getattr(item, "widget", None) == "hidden":
            marks[item.name] = item.value
        for inner in getattr(item, "rows", None) or []:
            marks.update(hidden_marks(inner.items))
        marks.update(hidden_marks(getattr(item, "items", None) or []))
    return marks


def test_a_refused_form_sent_again_still_gives_each_person_their_own_data():
    """After a refusal the form shows A, C, D renumbered 1, 2, 3; sent again, C still keeps 333 and D gets none."""
    team = [{"name": "A", "phone": "111"}, {"name": "B", "phone": "222"}, {"name": "C", "phone": "333"}]
    registered = {"ref": "A601", "members": [{"name": "研究院", "team_members": team}]}
    form = RecordForm("applications", {}, personal_visible=False)
    first = form.read({"ref": ["A601"], "members[1].name": ["研究院"],
                       "members[1].team_members[1].name": ["A"], "members[1].team_members[2].name": [""],
                       "members[1].team_members[3].name": ["C"], "members[1].team_members[4].name": ["D"]},
                      registered)
    marks = hidden_marks(form.fields(first))                  # the refused form as the organizer sees it again
    assert marks["members[1].team_members[1]._row"] == 1 and marks["members[1].team_members[2]._row"] == 3
    assert "members[1].team_members[3]._row" not in marks     # D is new: it takes nobody's data
    again = {"ref": ["A601"], "members[1].name": ["研究院"], "members[1]._row": [str(marks["members[1]._row"])],
             "members[1].team_members[1].name": ["A"], "members[1].team_members[2].name": ["C"],
             "members[1].team_members[3].name": ["D"],
             **{name: [str(value)] for name, value in marks.items() if "team_members" in name}}
    rows = form.read(again, registered)["members"][0]["team_members"]
    assert [(row["name"], row["phone"]) for row in rows] == [("A", "111"), ("C", "333"), ("D", None)]


def test_a_row_mark_that_is_not_a_plain_number_makes_a_new_row():
    """"²" passes str.isdigit() but not int(): the row is new (takes nobody's data), never a 500."""
    team = [{"name": "A", "phone": "111"}]
    registered = {"ref": "A601", "members": [{"name": "研究院", "team_members": team}]}
    form = RecordForm("applications", {}, personal_visible=False)
    raw = form.read({"ref": ["A601"], "members[1].name": ["研究院"], "members[1]._row": ["1"],
                     "members[1].team_members[1].name": ["A"], "members[1].team_members[1]._row": ["²"]},
                    registered)
    assert [(row["name"], row["phone"]) for row in raw["members"][0]["team_members"]] == [("A", None)]
