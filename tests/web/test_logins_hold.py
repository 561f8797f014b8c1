"""Logins that hold: per-client limits, one password check on every path, sessions that end at logout,
pages never stored, tokens that act only as their own user, HTTPS and proxy settings.

The parallel lockout is tested against a live server in test_login_races.py.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from web.extensions import db
from web.models import ApiToken, AuditEvent, User, utcnow

TOO_MANY = "您的电脑请求过于频繁，请稍候一分钟再试。"
EXPERT_TOKEN_REFUSED = "专家账号的令牌只能由专家本人持有：任何人不得以专家名义评分。"
PASSWORD = "correct horse 42"


def add_accounts(app, count: int, role: str = "organizer") -> list[str]:
    """``count`` accounts with a cheap hash (the test is about counting, not about hashing)."""
    names = [f"user{number:02d}" for number in range(count)]
    with app.app_context():
        cheap = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
        db.session.add_all(User(username=name, role=role, password_hash=cheap, active=True, failed_logins=0,
                                session_version=0) for name in names)
        db.session.commit()
    return names


def post_login(client, csrf_token, username: str, password: str, **headers):
    page = client.get("/login", headers=headers)
    return client.post("/login", headers=headers, data={
        "username": username, "password": password, "csrf_token": csrf_token(page.get_data(as_text=True))})


def locked_accounts(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(User.username).where(User.locked_until > utcnow())))


# ---------------------------------------------------------------- per-client limits

def test_one_client_guessing_gets_429_long_before_it_could_lock_every_account(app, client, csrf_token):
    names = add_accounts(app, 20)
    statuses = [post_login(client, csrf_token, names[number % 20], "wrong password").status_code
                for number in range(100)]
    assert statuses[:20] == [200] * 20                       # the generic "wrong password" page
    assert statuses[20:] == [429] * 80
    assert locked_accounts(app) == []                        # one failure each: nobody locked out
    refused = post_login(client, csrf_token, names[0], PASSWORD)
    assert refused.status_code == 429 and TOO_MANY in refused.get_data(as_text=True)


@pytest.mark.app_config(PROXY_FIX=1, RATELIMIT_LOGIN="3 per minute")
def test_behind_a_proxy_each_client_address_has_its_own_login_budget(app, client, csrf_token):
    names = add_accounts(app, 1)
    first = {"X-Forwarded-For": "10.0.0.7"}
    assert [post_login(client, csrf_token, names[0], "wrong", **first).status_code for _ in range(4)] == \
        [200, 200, 200, 429]
    second = {"X-Forwarded-For": "10.0.0.8"}
    assert post_login(client, csrf_token, names[0], PASSWORD, **second).status_code == 302


def test_a_client_trying_api_tokens_gets_429_with_a_chinese_sentence(app, client):
    statuses = [client.get("/api/v1/rounds", headers={"Authorization": f"Bearer guess-{number}"}).status_code
                for number in range(21)]
    assert statuses == [401] * 20 + [429]
    assert client.get("/api/v1/rounds", headers={"Authorization": "Bearer guess"}).get_json()["error"] == TOO_MANY


@pytest.mark.app_config(RATELIMIT_EXPENSIVE="3 per minute")
def test_exports_are_limited_per_account(app, client, auth, make_user):
    auth.login("admin")
    assert [client.get("/admin/audit.csv").status_code for _ in range(4)] == [200, 200, 200, 429]
    assert TOO_MANY in client.get("/admin/audit.csv").get_data(as_text=True)
    make_user("second_admin", "admin")
    auth.logout()
    auth.login(username="second_admin")
    assert client.get("/admin/audit.csv").status_code == 200     # another account keeps its own budget


# ---------------------------------------------------------------- the same work for every refusal

@pytest.fixture
def hash_checks(monkeypatch):
    """Count every password hash check, the account's and the dummy one."""
    from werkzeug.security import check_password_hash

    import web.models.user
    import web.services.accounts

    calls: list[str] = []

    def counting(stored, password):
        calls.append(stored)
        return check_password_hash(stored, password)

    monkeypatch.setattr(web.services.accounts, "check_password_hash", counting)
    monkeypatch.setattr(web.models.user, "check_password_hash", counting)
    return calls


def test_unknown_wrong_inactive_and_locked_each_check_one_password_hash(app, client, csrf_token, make_user,
                                                                         hash_checks):
    make_user("alice", "organizer")
    make_user("bob", "organizer")
    make_user("carol", "organizer")
    with app.app_context():
        db.session.scalar(select(User).where(User.username == "bob")).active = False
        db.session.scalar(select(User).where(User.username == "carol")).locked_until = utcnow() + timedelta(minutes=5)
        db.session.commit()
    checked = {}
    for username, password in (("nobody", PASSWORD), ("alice", "wrong password"), ("bob", PASSWORD),
                               ("carol", PASSWORD), ("alice", PASSWORD)):
        hash_checks.clear()
        post_login(client, csrf_token, username, password)
        assert len(hash_checks) == 1, username
        checked[username] = hash_checks[0]
    with app.app_context():
        stored = {user.username: user.password_hash for user in db.session.scalars(select(User))}
    assert checked["carol"] != stored["carol"]                   # locked: the dummy, the account is not tried
    # the dummy hash costs what an account's hash costs: same method, same iterations
    assert checked["nobody"].split("$")[0] == stored["carol"].split("$")[0]


# ---------------------------------------------------------------- sessions end at logout

def test_a_session_cookie_copied_before_logout_opens_nothing_after_it(app, client, auth):
    auth.login("organizer")
    cookie = client.get_cookie("session").value
    thief = app.test_client()
    thief.set_cookie("session", cookie)
    assert thief.get("/records/experts").status_code == 200
    assert auth.logout().status_code == 302
    assert thief.get("/records/experts").status_code == 302          # to the login page
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.logout"))
        assert event.actor_name == "organizer"
    assert auth.login("organizer").status_code == 302                   # a new login works as before
    assert client.get("/records/experts").status_code == 200


# ---------------------------------------------------------------- nothing stored

def test_pages_and_api_answers_are_never_stored_static_files_are(app, client, auth):
    auth.login("admin")
    for path in ("/records/experts", "/admin/audit", "/admin/audit.csv", "/rankings/", "/no-such-page"):
        assert client.get(path).headers["Cache-Control"] == "no-store", path
    assert "no-store" not in client.get("/static/panel.css").headers.get("Cache-Control", "")


@pytest.mark.app_config(SESSION_COOKIE_SECURE=True)
def test_hsts_is_sent_only_when_the_site_runs_on_https(app, client):
    assert client.get("/login").headers["Strict-Transport-Security"].startswith("max-age=")


def test_no_hsts_on_a_plain_http_install(client):
    assert "Strict-Transport-Security" not in client.get("/login").headers


# ---------------------------------------------------------------- tokens act only as their own user

def test_an_admin_cannot_create_a_token_for_an_expert(app, client, auth, csrf_token, make_expert_record,
                                                      make_user, table_counts):
    from web.services.records import import_experts

    with app.app_context():
        import_experts([make_expert_record("EXP-001")], actor=None)
        db.session.commit()
    make_user("zhou", "expert", expert_ref="EXP-001")
    auth.login("admin")
    before = table_counts()
    page = client.get("/admin/tokens")
    response = client.post("/admin/tokens", data={"csrf_token": csrf_token(page.get_data(as_text=True)),
                                                  "name": "act as zhou", "username": "zhou"})
    assert EXPERT_TOKEN_REFUSED in response.get_data(as_text=True)
    assert table_counts() == before
    with app.app_context():
        assert db.session.scalar(select(ApiToken)) is None
