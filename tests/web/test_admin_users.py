"""Accounts in the admin area: create (with role and expert link), deactivate, reactivate, unlock — audited."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from web.extensions import db
from web.models import AuditEvent, User

NEW_PASSWORD = "a long new password"


def user_named(app, username: str) -> User:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        db.session.expunge(user)
        return user


def post_form(client, csrf_token, path: str, **data):
    page = client.get("/admin/users")
    return client.post(path, data={"csrf_token": csrf_token(page.get_data(as_text=True)), **data})


def last_event(app, action: str) -> AuditEvent:
    with app.app_context():
        return db.session.scalar(select(AuditEvent).where(AuditEvent.action == action)
                                 .order_by(AuditEvent.id.desc()))


def test_an_admin_creates_an_expert_account_that_can_log_in(app, client, auth, csrf_token, make_expert_record):
    from web.services.records import import_experts

    with app.app_context():
        import_experts([make_expert_record("EXP-001", declared=[])], actor=None)
        db.session.commit()
    auth.login("admin")
    response = post_form(client, csrf_token, "/admin/users", username="zhou", role="expert",
                         password=NEW_PASSWORD, expert_ref="EXP-001")
    assert response.status_code == 302
    user = user_named(app, "zhou")
    assert user.role == "expert" and user.expert_id is not None
    event = last_event(app, "user.create")
    assert event.actor_name == "admin"
    assert event.after == {"username": "zhou", "role": "expert", "expert": "EXP-001"}
    auth.logout()
    auth.login(username="zhou", password=NEW_PASSWORD)
    assert client.get("/expert/").status_code == 200


@pytest.mark.parametrize(("form", "message"), [
    ({"username": "admin", "role": "organizer", "password": NEW_PASSWORD}, "已被使用"),
    ({"username": "li", "role": "organizer", "password": "short"}, "密码至少需要 10 个字符"),
    ({"username": "li", "role": "expert", "password": NEW_PASSWORD}, "专家账号须填写专家编号"),
    ({"username": "li", "role": "organizer", "password": NEW_PASSWORD, "expert_ref": "EXP-9"},
     "只有专家账号才关联专家"),
    ({"username": "li", "role": "superuser", "password": NEW_PASSWORD}, '<span class="error">'),
])
def test_refused_accounts_say_why_and_change_nothing(client, auth, csrf_token, table_counts, form, message):
    auth.login("admin")
    before = table_counts()
    response = post_form(client, csrf_token, "/admin/users", **form)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert table_counts() == before


def test_a_deactivated_account_can_neither_log_in_nor_use_its_token(app, client, auth, make_user, csrf_token):
    from web.services.tokens import create_token

    spare = make_user("spare", "organizer")
    with app.app_context():
        token = create_token(db.session.get(User, spare.id), "sync", actor=None)
        db.session.commit()
    api = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/v1/rounds", headers=headers).status_code == 200
    auth.login("admin")
    assert post_form(client, csrf_token, f"/admin/users/{spare.id}/deactivate").status_code == 302
    assert not user_named(app, "spare").active
    event = last_event(app, "user.deactivate")
    assert (event.actor_name, event.before, event.after) == ("admin", {"active": True}, {"active": False})
    assert api.get("/api/v1/rounds", headers=headers).status_code == 401
    other = app.test_client()
    page = other.get("/login").get_data(as_text=True)
    other.post("/login", data={"username": "spare", "password": auth.password, "csrf_token": csrf_token(page)})
    assert other.get("/records/applications").status_code == 302
    assert post_form(client, csrf_token, f"/admin/users/{spare.id}/activate").status_code == 302
    assert user_named(app, "spare").active
    assert api.get("/api/v1/rounds", headers=headers).status_code == 200


def test_an_admin_cannot_deactivate_themselves(app, client, auth, csrf_token):
    auth.login("admin")
    admin = user_named(app, "admin")
    response = post_form(client, csrf_token, f"/admin/users/{admin.id}/deactivate")
    assert response.status_code == 302
    assert user_named(app, "admin").active
    assert "不能停用自己的账号" in client.get("/admin/users").get_data(as_text=True)


def test_unlocking_a_locked_account(app, client, auth, make_user, csrf_token):
    locked = make_user("locked", "organizer")
    other = app.test_client()
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        page = other.get("/login").get_data(as_text=True)
        other.post("/login", data={"username": "locked", "password": "wrong password",
                                   "csrf_token": csrf_token(page)})
    assert user_named(app, "locked").locked_until is not None
    auth.login("admin")
    assert "锁定至" in client.get("/admin/users").get_data(as_text=True)
    assert post_form(client, csrf_token, f"/admin/users/{locked.id}/unlock").status_code == 302
    assert user_named(app, "locked").locked_until is None
    assert last_event(app, "user.unlock").actor_name == "admin"
    page = other.get("/login").get_data(as_text=True)
    response = other.post("/login", data={"username": "locked", "password": auth.password,
                                          "csrf_token": csrf_token(page)})
    assert response.status_code == 302
    again = post_form(client, csrf_token, f"/admin/users/{locked.id}/unlock")
    assert again.status_code == 302 and "未被锁定" in client.get("/admin/users").get_data(as_text=True)


def test_an_unknown_account_is_404(client, auth, csrf_token):
    auth.login("admin")
    assert post_form(client, csrf_token, "/admin/users/999/unlock").status_code == 404
