"""Chinese everywhere: every page of the route matrix, the common refusals, the Excel export and the e-mails read in
Chinese, with codes (rule, flag, state and pool codes, field names) only in tooltips or the API.

Each role of the route matrix's world logs in and opens every GET page it may open; the text a person reads (tags,
scripts, styles and ``title`` tooltips stripped, ``placeholder``/``alt``/``aria-label`` kept) may hold no English
word outside :data:`ALLOWED`. A failure names the page and the words.
"""

from __future__ import annotations

import io
import re
from datetime import date
from html.parser import HTMLParser

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from tests.web.test_route_matrix import EXPECTED, ROLES, World, build_world, rules
from web.extensions import db
from web.models import OutboxMessage

# Words a Chinese reader meets on purpose: the product's name, units, file kinds, the languages' own names.
ALLOWED = {
    "panel", "pdf", "xlsx", "xls", "csv", "json", "excel", "api", "token", "bearer", "utc", "id", "ip", "uscc",
    "english", "ok", "cst", "gb", "mb", "mib", "kb", "min", "csrf", "url", "e-mail", "email", "http", "https",
    "openapi", "ic", "ai", "smtp", "kib", "ofd", "office", "zip",
    "grubbs", "dixon",          # the outlier tests are known by their authors' names in Chinese texts too
}
# Things that look like words but are references, addresses or numbers with units: removed before the check.
NOT_WORDS = re.compile(
    r"[\w.*+-]+@[\w-]+(\.[\w-]+)+"          # e-mail addresses, masked ones too
    r"|https?://\S+|[A-Za-z0-9_.-]*/[\w./{}<>-]*\w"         # URLs and paths (docs/scoring.md)
    r"|(?<![A-Za-z0-9])[A-Z]{1,4}-?[0-9][A-Za-z0-9-]*"      # refs: A034, E0005, APP-001
    r"|(?<![A-Za-z0-9])[A-Z]{2,5}(-[A-Z0-9]{1,5})+(?![A-Za-z0-9])"      # refs and field codes: EXP-A, EQP-SM
    r"|(?<![A-Za-z0-9])[0-9A-Z]{18}(?![A-Za-z0-9])"      # USCC
    r"|\b[\w-]+\.(pdf|xlsx|xls|csv|json|png)\b"
)
WORD = re.compile(r"[A-Za-z][A-Za-z'-]*[A-Za-z]|[A-Za-z]")
READ_ATTRIBUTES = {"placeholder", "alt", "aria-label"}
# Scripts and styles are not read; <pre> holds recorded data verbatim (the audit log's before/after records).
SKIPPED_ELEMENTS = {"script", "style", "pre"}
ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}


class ReadableText(HTMLParser):
    """The words of a page a person reads: text outside scripts and styles, placeholders, alt and aria labels."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in SKIPPED_ELEMENTS:
            self._skipping += 1
        self.parts.extend(value for name, value in attrs if name in READ_ATTRIBUTES and value)
        if tag == "input" and dict(attrs).get("type") in {"submit", "button"}:
            self.parts.append(dict(attrs).get("value") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIPPED_ELEMENTS and self._skipping:
            self._skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def english_words(text: str, data: tuple[str, ...] = ()) -> list[str]:
    """English words in ``text`` outside the allowlist and the fixtures' own ``data``, in order, without repeats."""
    for value in sorted(data, key=len, reverse=True):
        text = text.replace(value, " ")
    found: list[str] = []
    for word in WORD.findall(NOT_WORDS.sub(" ", text)):
        if word.lower() not in ALLOWED and len(word) > 1 and word not in found:
            found.append(word)
    return found


def readable(html: str) -> str:
    parser = ReadableText()
    parser.feed(html)
    return "\n".join(parser.parts)


def english_in_page(html: str) -> list[str]:
    return english_words(readable(html), WORLD_DATA)


# What the route matrix's world itself calls its accounts and tokens, and the placeholder plan texts of the record
# fixture ("risks 部分的说明。"): data typed by people, not words of Panel.
WORLD_DATA = (*(f"{name} integration" for name in ("expert_a", "expert_b", "organizer", "admin", "spare")),
              "expert_a", "expert_b", "organizer", "admin", "spare",
              *(f"{key} 部分的说明。" for key in ("necessity", "goals", "technical_route", "ip_and_standards", "market",
                                                "foundation", "operations", "staff", "leaders", "organization",
                                                "investment", "risks")))


def login(client, role: str, password: str) -> None:
    if role != "anonymous":
        response = client.post("/login", data={"username": role, "password": password})
        assert response.status_code == 302, f"{role} could not log in"


@pytest.fixture(name="world")
def world_fixture(app, make_user, make_application_record, make_expert_record) -> World:
    return build_world(app, make_user, make_application_record, make_expert_record)


# ---------------------------------------------------------------- every page

def test_the_checker_finds_english_and_spares_references():
    page = ('<p title="hard conflict same-organization">专家 E0005 与 A034 存在利益冲突（EQP-SM，12 MB，'
            'zhou@example.com）</p><script>var x = "highest";</script><p>state: assigning</p>')
    assert english_in_page(page) == ["state", "assigning"]


@pytest.mark.app_config(WTF_CSRF_ENABLED=False)
@pytest.mark.parametrize("role", ROLES)
def test_every_page_reads_in_chinese(app, client, auth, world, role):
    login(client, role, auth.password)
    pages = [(endpoint, EXPECTED[(endpoint, method)][0](world)) for endpoint, method in rules(app)
             if method == "GET" and (endpoint, method) in EXPECTED and not endpoint.startswith("api.")
             and EXPECTED[(endpoint, method)][1][role] == 200]
    assert pages, f"{role} opens no page"
    english = []
    for endpoint, target in pages:
        response = client.get(target, headers=ZH)
        if response.mimetype != "text/html":
            continue
        words = english_in_page(response.get_data(as_text=True))
        if words:
            english.append(f"{target} ({endpoint}): {', '.join(words)}")
    assert not english, f"English on {role}'s pages:\n" + "\n".join(english)


@pytest.mark.parametrize("kind", ["applications", "experts"])
def test_an_empty_list_points_to_the_upload_page_in_chinese(client, auth, kind):
    """Before any import, the list says where to register records in the browser, beside the command."""
    auth.login("organizer")
    html = client.get(f"/records/{kind}", headers=ZH).get_data(as_text=True)
    assert f'href="/records/{kind}/upload"' in html
    command = f"panel import {kind}"
    assert command in html and english_words(readable(html), (command, *WORLD_DATA)) == []


# ---------------------------------------------------------------- refusals of the common forms

def flashed_english(client, page: str) -> list[str]:
    """English words in the page the refusal redirected to (its flashed message included)."""
    return english_in_page(client.get(page, headers=ZH).get_data(as_text=True))


@pytest.mark.app_config(WTF_CSRF_ENABLED=False)
def test_a_conflicted_seat_is_refused_in_chinese(app, client, auth, world, table_counts):
    login(client, "organizer", auth.password)
    before = table_counts()
    target = f"/rounds/{world.round_id}/applications/{world.application_ids['APP-002']}"
    response = client.post(f"{target}/add", data={"expert": "EXP-C"}, headers=ZH)
    assert response.status_code == 302
    page = client.get(target, headers=ZH).get_data(as_text=True)
    assert "EXP-C" in readable(page) and "近期" in readable(page) or "任职" in readable(page), readable(page)[:2000]
    assert english_words(readable(page), WORLD_DATA) == []
    assert table_counts() == before


@pytest.mark.app_config(WTF_CSRF_ENABLED=False)
def test_a_bad_round_form_is_refused_in_chinese(app, client, auth, world, table_counts):
    login(client, "organizer", auth.password)
    before = table_counts()
    response = client.post("/rounds/new", headers=ZH, data={
        "name": "2021年遴选", "kind": "selection_review", "as_of": "2021-13-01", "panel_size": "five",
        "max_per_organization": "1", "max_load": "3", "reserves": "2", "window_years": "3", "weight_field": "1",
        "weight_text": "x", "mode": "individual", "objective": "sum", "quota_economics_min": "1"})
    assert response.status_code == 400
    text = readable(response.get_data(as_text=True))
    assert "经济" in text and "最小值和最大值" in text, text
    assert english_words(text, (*WORLD_DATA, "five")) == []         # the value typed is quoted back
    assert table_counts() == before


def test_a_form_without_its_csrf_token_or_a_wrong_method_is_refused_in_chinese(client, auth, table_counts):
    """Flask-WTF's and Werkzeug's own refusals read as sentences of the catalog, not their English descriptions."""
    auth.login("organizer")
    before = table_counts()
    stale = client.post("/rounds/new", headers=ZH, data={"name": "2021年遴选", "kind": "selection_review"})
    assert stale.status_code == 400
    assert "表单已过期" in readable(stale.get_data(as_text=True))
    wrong_method = client.put("/rounds/new", headers=ZH)
    assert wrong_method.status_code == 405
    for response in (stale, wrong_method):
        assert english_words(readable(response.get_data(as_text=True)), WORLD_DATA) == []
    assert table_counts() == before


@pytest.mark.app_config(WTF_CSRF_ENABLED=False)
def test_a_round_that_cannot_move_on_says_so_in_chinese(app, client, auth, world):
    login(client, "organizer", auth.password)
    client.post(f"/rounds/{world.round_id}/state", data={"state": "assigning"}, headers=ZH)
    assert flashed_english(client, f"/rounds/{world.round_id}") == []


# ---------------------------------------------------------------- the Excel export and the e-mails

@pytest.mark.app_config(WTF_CSRF_ENABLED=False)
def test_the_excel_export_reads_in_chinese(app, client, auth, world):
    login(client, "organizer", auth.password)
    response = client.get(f"/rankings/rounds/{world.round_id}/export.xlsx", headers=ZH)
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.data))
    english = [f"{sheet.title}!{cell.coordinate}: {cell.value}" for sheet in workbook for row in sheet.iter_rows()
               for cell in row if isinstance(cell.value, str) and english_words(cell.value, WORLD_DATA)]
    assert not english, "English in the Excel export:\n" + "\n".join(english)
    assert "技术" in [cell.value for cell in workbook["评分明细"]["E"]]          # the pool, not "technology"


@pytest.mark.app_config(WTF_CSRF_ENABLED=False)
def test_the_e_mails_read_in_chinese(app, client, auth, world):
    from web.models import Assignment

    with app.app_context():
        db.session.get(Assignment, world.seats["expert_b"]).state = "proposed"      # to be invited
        db.session.commit()
    login(client, "organizer", auth.password)
    client.post(f"/invitations/rounds/{world.round_id}/invite", data={"confirm": "yes"}, headers=ZH)
    client.post(f"/invitations/rounds/{world.round_id}/remind", data={"confirm": "yes"}, headers=ZH)
    client.post(f"/invitations/rounds/{world.round_id}/experts/{world.experts['expert_a']}/link", headers=ZH)
    with app.app_context():
        messages = db.session.scalars(select(OutboxMessage).where(OutboxMessage.id != world.message_id)).all()
        assert {"invitation", "reminder", "access_link"} <= {message.kind for message in messages}
        english = [f"{message.kind}: {', '.join(words)}" for message in messages
                   if (words := english_words(f"{message.subject}\n{message.body}", WORLD_DATA))]
    assert not english, "English in the e-mails:\n" + "\n".join(english)


# ---------------------------------------------------------------- rounds with more in them

def staff_pages_english(app, client, auth, pages: list[str]) -> list[str]:
    """The English words on each of ``pages`` as the organizer reads them."""
    auth.login("organizer")
    english = []
    for target in pages:
        response = client.get(target, headers=ZH)
        assert response.status_code == 200, target
        words = english_in_page(response.get_data(as_text=True))
        if words:
            english.append(f"{target}: {', '.join(words)}")
    return english


def test_a_matched_round_reads_in_chinese(app, client, auth):
    """Conflicts of every rule, an optimal version with reserves, panels with fit reasons."""
    from tests.web.test_rounds_views import build_round
    from web.models import Application, Round
    from web.services import panels

    round_id = build_round(app)
    with app.app_context():
        panels.run_matching(db.session.get(Round, round_id), actor=None)
        applications = db.session.scalars(select(Application.id)).all()
    pages = [f"/rounds/{round_id}{tail}" for tail in ("", "/settings", "/template", "/applications", "/conflicts",
                                                        "/versions", "/versions/1", "/meeting")]
    pages += [f"/rounds/{round_id}/applications/{application}" for application in applications]
    english = staff_pages_english(app, client, auth, pages)
    assert not english, "English on a matched round's pages:\n" + "\n".join(english)


def test_a_scored_round_reads_in_chinese(app, client, auth, make_application_record, make_expert_record):
    """A ranking with trimmed, excluded and flagged sheets, its traces and the combination page."""
    from tests.web.test_ranking_service import build_design_round, sheet_of
    from web.models import Application

    round_id = build_design_round(app, make_application_record, make_expert_record)
    with app.app_context():
        sheet_of(round_id, "P1", "E3").conflict_declared = True
        sheet_of(round_id, "P1", "E3").conflict_note = "与承担单位有合作项目"
        sheet_of(round_id, "P3", "E1").state = "draft"
        db.session.commit()
        applications = db.session.scalars(select(Application.id)).all()
    pages = ["/rankings/", f"/rankings/rounds/{round_id}", f"/rankings/combine?round={round_id}",
             f"/rankings/rounds/{round_id}?calibrate=1"]
    pages += [f"/rankings/rounds/{round_id}/applications/{application}" for application in applications]
    english = staff_pages_english(app, client, auth, pages)
    assert not english, "English on a scored round's pages:\n" + "\n".join(english)


def test_a_refused_calibration_reads_in_chinese(app, client, auth, make_application_record, make_expert_record):
    """Two panels without a common expert cannot be calibrated: the page says why in Chinese, naming the groups."""
    from tests.web.test_ranking_service import build_round

    round_id = build_round(app, make_application_record, make_expert_record,
                           {"P1": [80, 81, 82, None, None, None], "P2": [None, None, None, 70, 71, 72]})
    page = f"/rankings/rounds/{round_id}?calibrate=1"
    assert staff_pages_english(app, client, auth, [page]) == []
    text = readable(client.get(page, headers=ZH).get_data(as_text=True))
    assert "分成 2 个互无共同专家的组" in text and "申报书 P2，由专家 E4、E5、E6 评分。" in text


@pytest.mark.app_config(WTF_CSRF_ENABLED=False)
def test_a_bad_import_is_refused_in_chinese(app, client, auth, world, table_counts):
    """The annual reports' workbook with an unknown center and a year that is not one: every reason in Chinese."""
    login(client, "organizer", auth.password)
    workbook = load_workbook(io.BytesIO(client.get("/centers/reports/template.xlsx").data))
    sheet = workbook.active
    sheet.append(["APP-404", "去年", *(["很多"] * (sheet.max_column - 2))])
    sheet.append(["APP-001", "二〇二一", *(["-5"] * (sheet.max_column - 2))])
    upload = io.BytesIO()
    workbook.save(upload)
    before = table_counts()
    response = client.post("/centers/reports/import", headers=ZH,
                           data={"file": (io.BytesIO(upload.getvalue()), "年度报告.xlsx")})
    assert response.status_code == 302
    text = readable(client.get(response.headers["Location"], headers=ZH).get_data(as_text=True))
    assert "APP-404" in text
    assert english_words(text, WORLD_DATA) == []
    assert table_counts() == before


def test_the_centers_evaluations_read_in_chinese(app, client, auth, make_application_record, make_expert_record):
    """An annual evaluation and a triennial assessment with a failing center: figures, grades, outcomes, flags."""
    from tests.web.test_centers import FIGURES, build, listed, scored_round
    from web.services import centers
    from web.services.records import import_experts

    build(app, make_application_record)
    with app.app_context():
        import_experts([make_expert_record(f"EXP-{n}", declared=[]) for n in range(5)], actor=None)
        center = listed("APP-001")
        listed("APP-002")
        centers.save_report(center, 2021, FIGURES, actor=None)
        annual = centers.open_evaluation_round("annual", 2021, actor=None)
        scored_round("2021年度评估", "annual", date(2022, 3, 1), {"APP-001": 0.9, "APP-002": 0.5})
        triennial = scored_round("2021—2023年三年考核", "triennial", date(2024, 4, 1), {"APP-001": 0.9, "APP-002": 0.7})
        db.session.commit()
        pages = [f"/centers/evaluations/{annual.id}", f"/centers/evaluations/{triennial.id}", "/centers/",
                 "/centers/decisions", f"/centers/{center.id}"]
    english = staff_pages_english(app, client, auth, pages)
    assert not english, "English on the centers' pages:\n" + "\n".join(english)


@pytest.mark.app_config(PROPAGATE_EXCEPTIONS=False)
def test_a_database_failure_is_answered_with_the_chinese_500_page(app, client, auth, table_counts):
    """A write the database refuses (here a second account with a taken name) leaves the session needing a
    rollback; the error page must still render in the site's layout, in Chinese, and nothing be stored."""
    from web.models import User

    def failing_view():
        db.session.add(User(username="organizer", role="organizer", password_hash="x"))
        db.session.flush()
        return "unreachable"

    app.add_url_rule("/failing-write", "failing_write", failing_view)
    auth.login("organizer")
    before = table_counts()
    response = client.get("/failing-write", headers=ZH)
    assert response.status_code == 500
    text = readable(response.get_data(as_text=True))
    assert "服务器出错，请求未能完成" in text and "Internal Server Error" not in text
    assert table_counts() == before


def test_a_combination_of_a_round_too_large_to_rank_reads_in_chinese(app, client, auth, make_application_record,
                                                                     make_expert_record):
    """Over PANEL_MATCHING_MEMORY the combination names each round it cannot rank with the catalog's sentence, not
    inside the engine's English refusal ("cannot combine rounds: round … was refused: …")."""
    from tests.web.test_ranking_service import DESIGN_PANELS, build_round

    review = build_round(app, make_application_record, make_expert_record, DESIGN_PANELS)
    site = build_round(app, make_application_record, make_expert_record, DESIGN_PANELS, name="2020 现场考察",
                       kind="site_inspection")
    app.config["PANEL_MATCHING_MEMORY"] = 100 << 20
    page = f"/rankings/combine?round={review}&round={site}"
    assert staff_pages_english(app, client, auth, [page]) == []
    text = readable(client.get(page, headers=ZH).get_data(as_text=True))
    for name in ("2020 遴选评审", "2020 现场考察"):
        assert f"评审轮次“{name}”：本轮排名须先列出全部回避冲突及其原因，约需" in text, name
    assert "超过排名的内存上限 0.09 GB：无法排名。" in text


def test_a_combination_the_engine_refuses_reads_in_chinese(app, client, auth, make_application_record,
                                                           make_expert_record):
    """Weights not summing to 1, a negative or non-number weight ("nan" is a float), and a round the scoring engine
    refuses: each reason is a catalog sentence, not the engine's English ("cannot combine rounds: weights must
    sum to 1, not 1.2"; "round … was refused: sheets[1] (E2 → P1): …")."""
    from tests.web.test_ranking_service import DESIGN_PANELS, build_round, sheet_of

    review = build_round(app, make_application_record, make_expert_record, DESIGN_PANELS)
    site = build_round(app, make_application_record, make_expert_record, DESIGN_PANELS, name="2020 现场考察",
                       kind="site_inspection")
    both = f"/rankings/combine?round={review}&round={site}"
    sums, nan = f"{both}&weight_{review}=0.6&weight_{site}=0.6", f"{both}&weight_{review}=nan&weight_{site}=0.4"
    assert staff_pages_english(app, client, auth, [sums, nan]) == []
    assert "各轮权重之和为 1.2，须等于 1。" in readable(client.get(sums, headers=ZH).get_data(as_text=True))
    assert "每项权重须为不小于 0 的有限数值。" in readable(client.get(nan, headers=ZH).get_data(as_text=True))
    with app.app_context():
        sheet_of(site, "P1", "E2").scores[0].value = None
        db.session.commit()
    page = client.get(both, headers=ZH).get_data(as_text=True)
    assert english_in_page(page) == []
    text = readable(page)
    assert "评审轮次“2020 现场考察”：评分引擎拒绝排名，共 1 个错误，详见该轮次的排名页面。" in text
