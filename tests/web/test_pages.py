"""Organizer pages: who may open them, what they show, personal data masked for all but admins."""

from __future__ import annotations

import pytest

from web.extensions import db
from web.services.records import import_applications, import_experts

STAFF_PAGES = ["/records/applications", "/records/experts", "/records/applications/APP-001"]


@pytest.fixture
def stored(app, make_application_record, make_expert_record):
    with app.app_context():
        import_applications([make_application_record()], actor=None)
        import_experts([make_expert_record()], actor=None)
        db.session.commit()
        db.session.remove()


@pytest.mark.usefixtures("stored")
@pytest.mark.parametrize("path", STAFF_PAGES + ["/"])
def test_anonymous_users_are_sent_to_the_login_page(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


@pytest.mark.usefixtures("stored")
@pytest.mark.parametrize("path", STAFF_PAGES)
def test_experts_are_forbidden_from_organizer_pages(client, auth, make_expert_record, path):
    auth.login("expert", expert_ref="EXP-001")
    response = client.get(path)
    assert response.status_code == 403
    assert "csrf_token" in response.get_data(as_text=True)  # the layout's logout form is still there


@pytest.mark.usefixtures("stored")
@pytest.mark.parametrize("role", ["organizer", "admin"])
@pytest.mark.parametrize("path", STAFF_PAGES)
def test_organizers_and_admins_open_every_organizer_page(client, auth, role, path):
    auth.login(role)
    assert client.get(path).status_code == 200


def test_an_unknown_application_is_404(client, auth):
    auth.login("organizer")
    assert client.get("/records/applications/NOPE").status_code == 404


def test_the_pages_beside_an_application_ref_keep_their_own_views(client, auth):
    """new, upload and template.xlsx share /records/applications/ with the refs; read as a ref they would be 404."""
    auth.login("organizer")
    assert client.get("/records/applications/new").status_code == 200
    assert client.get("/records/applications/upload").status_code == 200
    template = client.get("/records/applications/template.xlsx")
    assert template.status_code == 200 and template.mimetype.endswith("spreadsheetml.sheet")


@pytest.mark.usefixtures("stored")
def test_the_start_page_sends_each_role_to_its_work(client, auth):
    auth.login("expert", expert_ref="EXP-001")
    assert client.get("/").headers["Location"].endswith("/expert/")
    auth.logout()
    auth.login("organizer")
    assert client.get("/").headers["Location"].endswith("/records/applications")


@pytest.mark.usefixtures("stored")
def test_the_detail_page_shows_every_table(client, auth):
    auth.login("organizer")
    page = client.get("/records/applications/APP-001?lang=en").get_data(as_text=True)
    for text in [
        "上海智能制造创新中心", "上海智能制造创新中心有限公司",  # center, bearer
        "Private enterprise", "上海智造装备股份有限公司", ">60<",  # economic type, shareholders
        "陈经理", "项目经理",  # daily contact
        "Technical standard", "National standard", "建设智能制造共性技术研发平台",  # expectations, content
        "同意申报，所填内容真实。",  # applicant's opinion
        "Initiating unit", "Enterprise", ">850<", "91000.5", ">7300<", ">5000<", "博士后工作站", "智造集团有限公司",  # enterprise
        "Participating unit", "University/institute", "王教授", "机械工程学院", "赵研究员", "数字孪生",  # institute
        "国家重点研发计划项目一项。", "发表论文50篇，授权专利30项。",
        "3.1 Technical route, advancement and feasibility", "risks 部分的说明。",  # plan
        "Business licence", "营业执照.pdf", "EXP-009",  # attachments, excluded experts
    ]:
        assert text in page, text


@pytest.mark.usefixtures("stored")
def test_organizers_see_personal_data_masked(client, auth):
    auth.login("organizer")
    detail = client.get("/records/applications/APP-001").get_data(as_text=True)
    experts = client.get("/records/experts").get_data(as_text=True)
    assert "310***********1234" in detail and "310101198001011234" not in detail
    assert "138****5678" in detail and "13812345678" not in detail
    assert "r***@example.com" in detail and "rep1@example.com" not in detail
    assert "139****2222" in experts and "13911112222" not in experts
    assert "z***@example.com" in experts and "zhou@example.com" not in experts


@pytest.mark.usefixtures("stored")
def test_admins_see_personal_data_in_full(client, auth):
    auth.login("admin")
    detail = client.get("/records/applications/APP-001").get_data(as_text=True)
    experts = client.get("/records/experts").get_data(as_text=True)
    assert "310101198001011234" in detail and "13812345678" in detail and "rep1@example.com" in detail
    assert "13911112222" in experts and "zhou@example.com" in experts


@pytest.mark.usefixtures("stored")
def test_the_list_shows_field_bearer_members_and_formal_check(client, auth):
    auth.login("organizer")
    page = client.get("/records/applications?lang=en").get_data(as_text=True)
    assert "Smart manufacturing" in page and "上海智能制造创新中心有限公司" in page
    assert ">2</td>" in page  # two member units
    assert "Formal check" in page


def test_chinese_is_the_default_and_english_is_remembered(client):
    assert "登录" in client.get("/login").get_data(as_text=True)
    assert "Log in" in client.get("/login?lang=en").get_data(as_text=True)
    assert "Log in" in client.get("/login").get_data(as_text=True)
    assert "登录" in client.get("/login?lang=zh_Hans_CN").get_data(as_text=True)


def test_every_response_carries_the_security_headers(client):
    response = client.get("/login")
    assert response.headers["Content-Security-Policy"] == "default-src 'self'"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
