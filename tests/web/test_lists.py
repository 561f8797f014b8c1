"""Long lists: search, filters, sort and pages on generated data; bad query values never cost a 500."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from tests.web.test_panels_factory import build_round
from tests.web.test_ranking_service import build_design_round
from web import listing
from web.extensions import db
from web.models import AuditEvent, OutboxMessage, Round
from web.services import matching_bridge, panels, ranking, rounds
from web.services.formal_check import check_application
from web.services.records import import_applications, import_experts

HUGE = "1" + "0" * 30
FIELDS = ("EQP-SM", "DIG-II")
ORGANIZATIONS = ("上海交通装备研究所", "复旦大学", "华东理工大学")


def outside_shanghai(record: dict, number: int) -> dict:
    """The record with a bearer registered in Beijing: it carries a formal-check flag."""
    bearer = dict(record["bearer"], uscc=uscc_of(number, "110105"), registered_address="北京市朝阳区")
    return dict(record, bearer=bearer)


def uscc_of(number: int, division: str = "310115") -> str:
    from tests.web.conftest import uscc

    return uscc(number, division)


@pytest.fixture
def applications(app, make_application_record):
    """12 applications over two fields; every third one's bearer is outside Shanghai. Returns the records."""
    records = []
    for n in range(12):
        record = make_application_record(f"APP-{n:03d}", center_name=f"中心{chr(0x7532 + (11 - n))}{n}",
                                         field=FIELDS[n % 2])
        records.append(outside_shanghai(record, 200 + n) if n % 3 == 0 else record)
    with app.app_context():
        import_applications(records, actor=None)
        db.session.commit()
    return records


@pytest.fixture
def experts(app, make_expert_record):
    """25 experts cycling through pools, fields and organizations. Returns the records."""
    pools = ("economics", "technology", "industry", "management", "law")
    records = [make_expert_record(
        f"EXP-{n:03d}", name=f"专家{n:02d}", pool=pools[n % 5], fields=[FIELDS[n % 2]], declared=[], roles=[],
        past_affiliations=[], max_load=n % 7,
        organization={"name": ORGANIZATIONS[n % 3], "uscc": uscc_of(300 + n % 3), "parent": None})
        for n in range(25)]
    with app.app_context():
        import_experts(records, actor=None)
        db.session.commit()
    return records


def refs_on(html: str, pattern: str) -> list[str]:
    return re.findall(pattern, html)


def every_page(client, url: str, pattern: str) -> list[list[str]]:
    """The refs of each page of a list, following its "next" links from the first page."""
    pages = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        html = response.get_data(as_text=True)
        pages.append(refs_on(html, pattern))
        found = re.search(r'rel="next" href="([^"]+)"', html)
        url = found.group(1).replace("&amp;", "&") if found else None
    return pages


APPLICATION_REF = r'/records/applications/(APP-\d+)"'
EXPERT_REF = r"<td>(?:<a [^>]*>)?(EXP-\d+)(?:</a>)?</td>"


# ---------------------------------------------------------------- the reusable piece

@pytest.mark.parametrize("query, page, per_page, sort, direction", [
    ("page=-1&per_page=0", 1, 1, "ref", "asc"),
    (f"page={HUGE}&per_page={HUGE}", 10**30, listing.MAX_PER_PAGE, "ref", "asc"),
    ("page=abc&per_page=%E2%91%A0&sort=password&direction=sideways", 1, 50, "ref", "asc"),
    ("page=" + "9" * 5000, 10**30, 50, "ref", "asc"),
    ("page=3&per_page=7&sort=name&direction=desc", 3, 7, "name", "desc"),
])
def test_query_values_are_held_to_what_the_list_accepts(app, query, page, per_page, sort, direction):
    spec = listing.ListSpec(sorts=("ref", "name"), filters={"pool": ("law",), "organization": None})
    with app.test_request_context(f"/?{query}&pool=astrology&organization=%20复旦%20"):
        args = listing.parse(spec)
    assert (args.page, args.per_page, args.sort, args.direction) == (page, per_page, sort, direction)
    assert args.filters == {"organization": "复旦"}


def test_items_sort_with_missing_values_last_and_pages_are_clamped(app):
    items = [{"ref": "B", "score": 2}, {"ref": "A", "score": None}, {"ref": "C", "score": 9}, {"ref": "D", "score": 5}]
    keys = {"score": lambda item: item["score"]}
    with app.test_request_context("/?sort=score&direction=desc&per_page=3&page=99"):
        page = listing.paginate_items(items, listing.parse(listing.ListSpec(sorts=("score",))), sort_keys=keys)
    assert (page.page, page.pages, page.total, [item["ref"] for item in page.items]) == (2, 2, 4, ["A"])
    with app.test_request_context("/?sort=score&per_page=3"):
        page = listing.paginate_items(items, listing.parse(listing.ListSpec(sorts=("score",))), sort_keys=keys)
    assert [item["ref"] for item in page.items] == ["B", "D", "C"]


def test_search_text_takes_percent_and_underscore_literally(app, applications, client, auth):
    auth.login("organizer")
    assert refs_on(client.get("/records/applications?q=%25").get_data(as_text=True), APPLICATION_REF) == []
    assert refs_on(client.get("/records/applications?q=APP_00").get_data(as_text=True), APPLICATION_REF) == []
    assert len(refs_on(client.get("/records/applications?q=app-00").get_data(as_text=True), APPLICATION_REF)) == 10


@pytest.mark.parametrize("query", ["q=a%00b", "q=a%1Bb", "organization=x%00", "q=" + "长" * 101])
def test_bad_search_text_is_refused_in_chinese(app, experts, client, auth, query):
    auth.login("organizer")
    response = client.get(f"/records/experts?{query}")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "控制字符" in html or "最多 100 个字符" in html


# ---------------------------------------------------------------- applications

def test_applications_come_one_page_at_a_time_each_once_in_ref_order(client, auth, applications):
    auth.login("organizer")
    pages = every_page(client, "/records/applications?per_page=5", APPLICATION_REF)
    assert [len(refs) for refs in pages] == [5, 5, 2]
    assert sum(pages, []) == sorted(record["ref"] for record in applications)


def test_applications_filtered_by_field_and_formal_check_and_searched(client, auth, applications):
    auth.login("organizer")
    flagged = {record["ref"] for record in applications if check_application(record)}
    assert flagged and len(flagged) < len(applications)
    html = client.get("/records/applications?formal=flagged&per_page=200").get_data(as_text=True)
    assert set(refs_on(html, APPLICATION_REF)) == flagged
    html = client.get("/records/applications?formal=clean&field=DIG-II").get_data(as_text=True)
    assert set(refs_on(html, APPLICATION_REF)) == {record["ref"] for record in applications
                                                    if record["ref"] not in flagged and record["field"] == "DIG-II"}
    html = client.get("/records/applications?q=中心甲").get_data(as_text=True)
    assert refs_on(html, APPLICATION_REF) == [record["ref"] for record in applications
                                              if "中心甲" in record["center_name"]]


def test_applications_sorted_by_center_name_both_ways_keeping_the_filter(client, auth, applications):
    auth.login("organizer")
    html = client.get("/records/applications?field=EQP-SM&sort=center_name").get_data(as_text=True)
    chosen = [record for record in applications if record["field"] == "EQP-SM"]
    expected = [record["ref"] for record in sorted(chosen, key=lambda record: record["center_name"])]
    assert refs_on(html, APPLICATION_REF) == expected
    assert 'href="/records/applications?field=EQP-SM&amp;sort=center_name&amp;direction=desc"' in html
    html = client.get("/records/applications?field=EQP-SM&sort=center_name&direction=desc").get_data(as_text=True)
    assert refs_on(html, APPLICATION_REF) == expected[::-1]


@pytest.mark.parametrize("query", ["page=-1", f"page={HUGE}", "sort=__class__", "per_page=-5", "field=NOPE",
                                   "formal=maybe", "direction=%27%3B--"])
def test_bad_application_query_values_give_a_page(client, auth, applications, query):
    auth.login("organizer")
    response = client.get(f"/records/applications?{query}")
    assert response.status_code == 200
    assert refs_on(response.get_data(as_text=True), APPLICATION_REF)


def test_a_page_past_the_end_shows_the_last(client, auth, applications):
    auth.login("organizer")
    html = client.get(f"/records/applications?per_page=5&page={HUGE}").get_data(as_text=True)
    assert refs_on(html, APPLICATION_REF) == ["APP-010", "APP-011"]
    assert "第 3 / 3 页" in html


def test_lists_stay_staff_only(app, client, auth, applications, experts):
    auth.login("expert", expert_ref="EXP-001")
    for url in ("/records/applications?q=APP", "/records/experts?pool=law", "/invitations/outbox?q=x"):
        assert client.get(url).status_code == 403


# ---------------------------------------------------------------- experts

def test_experts_filtered_by_pool_field_and_organization(client, auth, experts):
    auth.login("organizer")
    html = client.get("/records/experts?pool=law&field=DIG-II&organization=复旦").get_data(as_text=True)
    expected = [record["ref"] for record in experts if record["pool"] == "law" and record["fields"] == ["DIG-II"]
                and record["organization"]["name"] == "复旦大学"]
    assert expected and refs_on(html, EXPERT_REF) == expected


def test_experts_searched_by_organization_and_paged_by_name_descending(client, auth, experts):
    auth.login("organizer")
    pages = every_page(client, "/records/experts?q=理工&sort=name&direction=desc&per_page=4", EXPERT_REF)
    chosen = sorted((record for record in experts if "理工" in record["organization"]["name"]),
                    key=lambda record: record["name"], reverse=True)
    assert [len(refs) for refs in pages] == [4, 4]
    assert sum(pages, []) == [record["ref"] for record in chosen]


def test_experts_sorted_by_load_cap_keep_every_expert_once(client, auth, experts):
    auth.login("organizer")
    refs = sum(every_page(client, "/records/experts?sort=max_load&per_page=10", EXPERT_REF), [])
    expected = sorted(experts, key=lambda record: (record["max_load"], record["ref"]))
    assert refs == [record["ref"] for record in expected]


# ---------------------------------------------------------------- conflicts and versions of a round

CONFLICT_ROW = r'<tr class="conflict-(?:hard|soft)">\s*<td>(\S+) [^<]*</td>\s*<td>(\S+)</td>\s*<td title="([^"]+)">'


def test_conflicts_filtered_searched_sorted_and_paged(app, client, auth):
    round_id = build_round(app, state="draft")
    with app.app_context():
        found = matching_bridge.round_conflicts(db.session.get(Round, round_id))
    auth.login("organizer")
    pages = every_page(client, f"/rounds/{round_id}/conflicts?per_page=3&sort=application", CONFLICT_ROW)
    assert [len(rows) for rows in pages] == [3, 3, 2]
    assert sum(pages, []) == sorted(((c.expert, c.application, c.rule) for c in found),
                                    key=lambda row: (row[1], row[0]))
    rule = found[0].rule
    html = client.get(f"/rounds/{round_id}/conflicts?rule={rule}&q={found[0].expert}").get_data(as_text=True)
    assert set(re.findall(CONFLICT_ROW, html)) == {(c.expert, c.application, c.rule) for c in found
                                                   if c.rule == rule and c.expert == found[0].expert}
    assert client.get(f"/rounds/{round_id}/conflicts?rule=no-such-rule&page=-4").status_code == 200


def test_links_keep_the_list_arguments_but_cannot_be_steered(app, client, auth):
    round_id = build_round(app, state="draft")
    auth.login("organizer")
    response = client.get(f"/rounds/{round_id}/conflicts?per_page=3&round_id=999&endpoint=auth.login"
                          "&_external=1&_scheme=javascript&_anchor=x")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "javascript:" not in html and "auth.login" not in html and "#x" not in html
    assert f'rel="next" href="/rounds/{round_id}/conflicts?per_page=3&amp;page=2"' in html


def test_versions_paged_and_filtered_by_status(app, client, auth):
    round_id = build_round(app)
    with app.app_context():
        round_ = db.session.get(Round, round_id)
        for seed in (1, 2, 3):
            panels.run_matching(round_, actor=None, seed=seed)
        db.session.commit()
        statuses = {version.number: version.status for version in panels.versions(round_)}
    auth.login("organizer")
    number = rf'/rounds/{round_id}/versions/(\d+)"'
    pages = every_page(client, f"/rounds/{round_id}/versions?per_page=2", number)
    assert [int(n) for n in sum(pages, [])] == sorted(statuses, reverse=True)
    status = statuses[1]
    html = client.get(f"/rounds/{round_id}/versions?status={status}&sort=number&direction=asc").get_data(as_text=True)
    assert [int(n) for n in re.findall(number, html)] == sorted(n for n, s in statuses.items() if s == status)


def test_attaching_flagged_applications_warns_with_their_flags(app, client, auth, applications, csrf_token):
    with app.app_context():
        round_ = rounds.create_round("附加测试", "selection_review", as_of=datetime(2020, 11, 1).date(), actor=None)
        db.session.commit()
        round_id = round_.id
    auth.login("organizer")
    token = csrf_token(client.get(f"/rounds/{round_id}/applications").get_data(as_text=True))
    response = client.post(f"/rounds/{round_id}/applications", data={"refs": "APP-000 APP-001", "csrf_token": token},
                           follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "已添加 2 份申报书" in html
    assert "APP-000 有形式审查问题" in html and "不在上海注册" in html
    assert "APP-001 有形式审查问题" not in html


# ---------------------------------------------------------------- outbox

@pytest.fixture
def messages(app):
    """30 messages: kinds and states alternate, recipients numbered; the newest has the largest id."""
    start = datetime(2020, 11, 1, 8, 0)
    with app.app_context():
        for n in range(30):
            db.session.add(OutboxMessage(
                recipient=f"expert{n:02d}@example.com", kind=("invitation", "reminder")[n % 2],
                subject=f"评审邀请 {n:02d}", body="正文", state=("queued", "sent", "failed")[n % 3],
                created_at=start + timedelta(minutes=n)))
        db.session.commit()


SUBJECT = r"评审邀请 (\d\d)</a>"


def test_outbox_pages_newest_first_and_filters_with_search(client, auth, messages):
    auth.login("organizer")
    pages = every_page(client, "/invitations/outbox?per_page=12", SUBJECT)
    assert [len(numbers) for numbers in pages] == [12, 12, 6]
    assert [int(n) for n in sum(pages, [])] == list(range(29, -1, -1))
    html = client.get("/invitations/outbox?kind=reminder&state=failed&sort=created&direction=asc").get_data(as_text=True)
    assert [int(n) for n in re.findall(SUBJECT, html)] == [n for n in range(30) if n % 2 == 1 and n % 3 == 2]
    html = client.get("/invitations/outbox?q=expert1&state=sent").get_data(as_text=True)
    assert [int(n) for n in re.findall(SUBJECT, html)] == [n for n in range(19, 9, -1) if n % 3 == 1]
    for query in ("round=999999999999", "kind=spam", f"page={HUGE}", "sort=body"):
        assert client.get(f"/invitations/outbox?{query}").status_code == 200


def test_outbox_filtered_by_round_lists_only_its_messages(client, auth, messages, app):
    with app.app_context():
        round_ = rounds.create_round("发件箱筛选", "selection_review", as_of=datetime(2020, 11, 1).date(), actor=None)
        db.session.add(OutboxMessage(recipient="expert99@example.com", kind="invitation", subject="评审邀请 99",
                                     body="正文", state="queued", round_id=round_.id))
        db.session.commit()
        round_id = round_.id
    auth.login("organizer")
    response = client.get(f"/invitations/outbox?round={round_id}")
    assert response.status_code == 200
    assert re.findall(SUBJECT, response.get_data(as_text=True)) == ["99"]


# ---------------------------------------------------------------- rankings and audit

LINE_REF = r'/rankings/rounds/\d+/applications/\d+[^"]*">(P\d+)</a>'


@pytest.fixture
def ranking_round(app, make_application_record, make_expert_record):
    """The five applications of the worked example in docs/, ranked."""
    return build_design_round(app, make_application_record, make_expert_record)


def test_ranking_filtered_by_recommendation_and_flags_and_searched(app, client, auth, ranking_round):
    with app.app_context():
        lines = ranking.round_ranking(db.session.get(Round, ranking_round)).lines
        expected = {code: [line.application.ref for line in lines if line.result and line.result.recommendation == code]
                    for code in ("RECOMMEND", "REJECT")}
        acting = [line.application.ref for line in lines if line.result and any(
            flag.level == "act" and flag.criterion is None for flag in line.result.flags)]
    auth.login("organizer")
    for code, refs in expected.items():
        html = client.get(f"/rankings/rounds/{ranking_round}?recommendation={code}").get_data(as_text=True)
        assert refs and re.findall(LINE_REF, html) == refs
    html = client.get(f"/rankings/rounds/{ranking_round}?flags=act").get_data(as_text=True)
    assert re.findall(LINE_REF, html) == acting
    html = client.get(f"/rankings/rounds/{ranking_round}?q=p2").get_data(as_text=True)
    assert re.findall(LINE_REF, html) == ["P2"]
    html = client.get(f"/rankings/rounds/{ranking_round}?sort=ref&per_page=2&page=2&capacity=2").get_data(as_text=True)
    assert re.findall(LINE_REF, html) == sorted(line.application.ref for line in lines)[2:4]
    assert "capacity=2" in re.search(r'rel="next" href="([^"]+)"', html).group(1)


@pytest.fixture
def audit_events(app):
    with app.app_context():
        for n in range(60):
            db.session.add(AuditEvent(actor_name="importer", action="expert.import", entity_type="expert",
                                      entity_id=f"EXP-{n:03d}", at=datetime(2020, 1, 1) + timedelta(hours=n)))
        db.session.commit()


def test_audit_pages_hold_to_the_pages_there_are(client, auth, audit_events):
    auth.login("admin")
    for query, first, absent in (("page=-1", "EXP-059", "EXP-009"), (f"page={HUGE}", "EXP-000", "EXP-059"),
                                 ("page=" + "9" * 5000, "EXP-000", "EXP-059")):
        response = client.get(f"/admin/audit?actor=importer&{query}")
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert first in html and absent not in html
    assert client.get("/admin/audit?page=2").status_code == 200
