"""Logging in and out: hashed passwords, CSRF, one generic error, the lock after repeated failures."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from web.extensions import db
from web.models import AuditEvent, User, utcnow

GENERIC_ERROR = "Wrong username or password, or the account is locked for a while."


@pytest.fixture
def post_login(client, csrf_token):
    def post(username, password):
        page = client.get("/login?lang=en")
        return client.post("/login", data={"username": username, "password": password,
                                           "csrf_token": csrf_token(page.get_data(as_text=True))})

    return post


def test_login_with_the_right_password_reaches_the_start_page(client, auth):
    response = auth.login("organizer")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert client.get("/records/applications").status_code == 200


def test_the_password_is_stored_only_as_a_hash(app, make_user):
    make_user("alice", "organizer", password="s3cret-passphrase")
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "alice"))
    assert "s3cret-passphrase" not in user.password_hash
    assert user.check_password("s3cret-passphrase") and not user.check_password("s3cret-passphrasE")


@pytest.mark.parametrize("username, password", [("alice", "wrong password"), ("nobody", "correct horse 42")])
def test_wrong_user_or_password_gets_one_generic_message(client, make_user, username, password, post_login):
    make_user("alice", "organizer")
    response = post_login(username, password)
    assert response.status_code == 200
    assert GENERIC_ERROR in response.get_data(as_text=True)
    assert client.get("/records/applications").status_code == 302


def test_a_login_without_csrf_token_is_refused(client, make_user):
    make_user("alice", "organizer")
    response = client.post("/login", data={"username": "alice", "password": "correct horse 42"})
    assert response.status_code == 400
    assert client.get("/records/applications").status_code == 302


def test_five_failures_lock_the_account_for_fifteen_minutes_and_are_audited(app, client, make_user, post_login):
    make_user("alice", "organizer")
    for _ in range(5):
        post_login("alice", "wrong password")
    response = post_login("alice", "correct horse 42")
    assert GENERIC_ERROR in response.get_data(as_text=True)
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "alice"))
        remaining = user.locked_until - utcnow()
        assert timedelta(minutes=14) < remaining <= timedelta(minutes=15)
        actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
        assert actions.count("login.failure") == 5
        assert "user.lock" in actions and actions[-1] == "login.refused_locked"
        user.locked_until = utcnow() - timedelta(seconds=1)  # the quarter of an hour has passed
        db.session.commit()
    assert post_login("alice", "correct horse 42").status_code == 302


def test_a_success_resets_the_failure_count(app, client, make_user, post_login):
    make_user("alice", "organizer")
    for _ in range(4):
        post_login("alice", "wrong password")
    assert post_login("alice", "correct horse 42").status_code == 302
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "alice"))
        assert (user.failed_logins, user.locked_until) == (0, None)


def test_an_inactive_account_cannot_log_in(app, client, make_user, post_login):
    make_user("alice", "organizer")
    with app.app_context():
        db.session.scalar(select(User).where(User.username == "alice")).active = False
        db.session.commit()
    assert GENERIC_ERROR in post_login("alice", "correct horse 42").get_data(as_text=True)


def test_logout_needs_a_post_with_csrf_token(client, auth):
    auth.login("organizer")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    assert auth.logout().status_code == 302
    assert client.get("/records/applications").status_code == 302


def test_next_parameter_only_redirects_within_the_site(client, make_user, csrf_token):
    make_user("alice", "organizer")
    page = client.get("/login")
    token = csrf_token(page.get_data(as_text=True))
    response = client.post("/login?next=https://evil.example/", data={
        "username": "alice", "password": "correct horse 42", "csrf_token": token})
    assert response.headers["Location"] == "/"
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/", follow_redirects=True).get_data(as_text=True))})
    page = client.get("/login")
    response = client.post("/login?next=/records/experts", data={
        "username": "alice", "password": "correct horse 42",
        "csrf_token": csrf_token(page.get_data(as_text=True))})
    assert response.headers["Location"] == "/records/experts"


def test_the_session_cookie_is_http_only_and_same_site_lax(client, auth):
    response = auth.login("organizer")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
