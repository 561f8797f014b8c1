"""Passwords: the rules (each refusal in Chinese, nothing changed), the holder's change, the forgotten-password
link (same answer for any username, rate-limited), and the admin's forced reset."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from web.extensions import db
from web.models import AuditEvent, OutboxMessage, User
from web.services.passwords import refusals

OLD = "correct horse 42"          # the conftest accounts' password
NEW = "黄浦江边的评审 2020"


def user_named(app, username: str) -> User:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        db.session.expunge(user)
        return user


def actions(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def change(client, csrf_token, current: str, new: str, confirm: str | None = None):
    page = client.get("/password")
    return client.post("/password", data={"csrf_token": csrf_token(page.get_data(as_text=True)), "current": current,
                                          "password": new, "confirm": new if confirm is None else confirm})


def test_the_rules_in_plain_terms():
    assert refusals("a long unusual phrase", "alice") == []
    assert len(refusals("short", "alice")) == 1
    assert refusals("Alice.Wang.2020", "alice.wang.2020") == ["The password must not be the username."]
    assert refusals("QwertyUiop", "alice") == ["This password is among the most common ones; choose another."]
    assert refusals("1234567890", "alice") == ["This password is among the most common ones; choose another."]


@pytest.mark.parametrize(("new", "confirm", "message"), [
    ("short", None, "密码至少需要 10 个字符。"),
    ("Organizer.Li.Hua", None, "密码不能与用户名相同。"),
    ("password123", None, "该密码属于最常见的密码"),
    (NEW, NEW + "!", "两次输入的密码不一致。"),
    (OLD, None, "新密码不能与当前密码相同。"),
])
def test_a_password_breaking_a_rule_is_refused_in_chinese_and_nothing_changes(app, client, auth, csrf_token,
                                                                               table_counts, new, confirm, message):
    from web.services.accounts import create_user

    with app.app_context():
        create_user("organizer.li.hua", "organizer", OLD, actor=None)
    auth.login(username="organizer.li.hua")
    before = table_counts()
    hash_before = user_named(app, "organizer.li.hua").password_hash
    response = change(client, csrf_token, OLD, new, confirm)
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert table_counts() == before
    assert user_named(app, "organizer.li.hua").password_hash == hash_before


def test_a_wrong_current_password_is_refused(app, client, auth, csrf_token, table_counts):
    auth.login("organizer")
    before = table_counts()
    response = change(client, csrf_token, "not my password", NEW)
    assert response.status_code == 400 and "当前密码不正确。" in response.get_data(as_text=True)
    assert table_counts() == before


def test_a_change_takes_the_old_password_ends_other_sessions_and_is_audited(app, client, auth, csrf_token):
    auth.login("organizer")
    other = app.test_client()
    page = other.get("/login")
    other.post("/login", data={"username": "organizer", "password": OLD,
                               "csrf_token": csrf_token(page.get_data(as_text=True))})
    assert other.get("/rounds/").status_code == 200
    response = change(client, csrf_token, OLD, NEW)
    assert response.status_code == 302
    assert client.get("/rounds/").status_code == 200                      # this session goes on
    assert other.get("/rounds/").headers["Location"].startswith("/login")  # the other one has ended
    user = user_named(app, "organizer")
    assert user.check_password(NEW) and not user.check_password(OLD)
    assert [event.actor_name for event in actions(app, "user.password_change")] == ["organizer"]


def forgot(client, csrf_token, username: str):
    page = client.get("/password/forgot")
    return client.post("/password/forgot", data={"csrf_token": csrf_token(page.get_data(as_text=True)),
                                                  "username": username})


def test_a_forgotten_password_is_reset_by_mailed_link_and_the_answer_never_tells(app, client, make_user,
                                                                                 make_expert_record, csrf_token):
    from web.services.records import import_experts

    with app.app_context():
        import_experts([make_expert_record("EXP-001", email="zhou@example.com")], actor=None)
    make_user("zhou", "expert", expert_ref="EXP-001")
    answers = []
    for username in ("zhou", "nobody"):
        response = forgot(client, csrf_token, username)
        shown = client.get(response.headers["Location"]).get_data(as_text=True)
        answers.append((response.status_code, response.headers["Location"],
                        re.findall(r'<p class="flash[^"]*"[^>]*>([^<]*)</p>', shown)))
    assert answers[0] == answers[1]
    assert answers[0][0] == 302 and answers[0][2] == ["如该账号存在，重设密码的链接已发出。专家将通过电子邮件收到；组织方人员请联系管理员。"]
    with app.app_context():
        messages = list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "password_reset")))
    assert [message.recipient for message in messages] == ["zhou@example.com"]
    path = re.search(r"(/access/[\w.-]+)", messages[0].body).group(1)
    page = client.get(path)
    client.post(path, data={"csrf_token": csrf_token(page.get_data(as_text=True)), "password": NEW, "confirm": NEW})
    assert user_named(app, "zhou").check_password(NEW)
    assert client.get(path).status_code == 410


@pytest.mark.app_config(RATELIMIT_LOGIN="3 per minute")
def test_the_forgotten_password_form_is_rate_limited(app, client, csrf_token):
    statuses = [forgot(client, csrf_token, f"guess{number}").status_code for number in range(4)]
    assert statuses == [302, 302, 302, 429]


def test_a_forced_reset_ends_the_session_and_leads_to_the_password_page_until_done(app, client, auth, make_user,
                                                                                  csrf_token):
    target = make_user("li", "organizer")
    victim = app.test_client()
    page = victim.get("/login")
    victim.post("/login", data={"username": "li", "password": OLD,
                                "csrf_token": csrf_token(page.get_data(as_text=True))})
    auth.login("admin")
    page = client.get("/admin/users")
    assert "强制重设密码" in page.get_data(as_text=True)
    response = client.post(f"/admin/users/{target.id}/force_reset",
                           data={"csrf_token": csrf_token(page.get_data(as_text=True))})
    assert response.status_code == 302
    assert [event.after for event in actions(app, "user.force_reset")] == [{"must_change_password": True}]
    assert victim.get("/rounds/").headers["Location"].startswith("/login")

    page = victim.get("/login")
    victim.post("/login", data={"username": "li", "password": OLD,
                                "csrf_token": csrf_token(page.get_data(as_text=True))})
    blocked = victim.get("/rounds/")
    assert blocked.status_code == 302 and blocked.headers["Location"] == "/password"
    assert "管理员要求您先设置新密码" in victim.get("/password").get_data(as_text=True)
    assert change(victim, csrf_token, OLD, NEW).status_code == 302
    assert victim.get("/rounds/").status_code == 200
    assert not user_named(app, "li").must_change_password


def test_no_reset_link_is_left_in_the_outbox_for_staff(app, client, make_user, csrf_token, runner, table_counts):
    """An organizer reads the outbox: a link for the admin there would hand them the admin's account."""
    make_user("admin", "admin")
    before = table_counts()
    assert forgot(client, csrf_token, "admin").status_code == 302
    with app.app_context():
        assert db.session.scalar(select(OutboxMessage.id)) is None
    assert [event.after for event in actions(app, "user.reset_requested")] == [{"mailed": False}]
    refused = runner.invoke(args=["users", "set-password", "admin", "--password-stdin"], input="admin\n")
    assert refused.exit_code == 1 and "admin：" in refused.output and "密码不能与用户名相同" in refused.output
    assert runner.invoke(args=["users", "set-password", "admin", "--password-stdin"], input=NEW + "\n").exit_code == 0
    assert user_named(app, "admin").check_password(NEW)
    assert table_counts()["outbox_message"] == before["outbox_message"]
