"""Security from the browser's side: lockout after repeated failed logins, and sessions long enough for a sheet."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from web.extensions import db
from web.models import AuditEvent

REFUSED = "Wrong username or password, or the account is locked for a while."


def attempt(client, csrf_token, username: str, password: str):
    page = client.get("/login?lang=en").get_data(as_text=True)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": csrf_token(page)})


def count(app, action: str) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action))


def test_repeated_failures_lock_the_account_even_for_the_right_password(app, client, make_user, csrf_token):
    make_user("org", "organizer", password="the right password")
    limit = app.config["LOGIN_MAX_FAILURES"]
    for _ in range(limit):
        response = attempt(client, csrf_token, "org", "a wrong password")
        assert response.status_code == 200 and REFUSED in response.get_data(as_text=True)
    locked = attempt(client, csrf_token, "org", "the right password")
    assert locked.status_code == 200 and REFUSED in locked.get_data(as_text=True)
    assert client.get("/records/applications").status_code == 302
    assert count(app, "login.failure") == limit and count(app, "user.lock") == 1
    assert count(app, "login.refused_locked") == 1
    # an unknown account gets the very same answer: the form does not tell which usernames exist
    unknown = attempt(client, csrf_token, "nobody", "whatever")
    assert REFUSED in unknown.get_data(as_text=True)


def test_one_failure_short_of_the_limit_still_lets_the_right_password_in(app, client, make_user, csrf_token):
    make_user("org", "organizer", password="the right password")
    for _ in range(app.config["LOGIN_MAX_FAILURES"] - 1):
        attempt(client, csrf_token, "org", "a wrong password")
    assert attempt(client, csrf_token, "org", "the right password").status_code == 302
    assert count(app, "user.lock") == 0


def test_the_session_outlives_a_long_sheet_and_its_csrf_token_does_not_expire(app, client, auth):
    assert app.config["PERMANENT_SESSION_LIFETIME"] >= timedelta(hours=8)
    assert app.config["WTF_CSRF_TIME_LIMIT"] is None
    before = datetime.now(UTC)
    auth.login("organizer")
    cookie = client.get_cookie("session")
    assert cookie is not None and cookie.http_only
    lasts = cookie.expires - before
    assert timedelta(hours=8) - timedelta(minutes=1) <= lasts <= app.config["PERMANENT_SESSION_LIFETIME"] + \
        timedelta(minutes=1)
