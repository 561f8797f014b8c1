"""API tokens: shown once, stored as a hash, refused when revoked or expired; created in the UI or the CLI."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from web.extensions import db
from web.models import ApiToken, AuditEvent, User, utcnow
from web.services import tokens

TOKEN_IN_PAGE = re.compile(r"<pre><code>([A-Za-z0-9_-]{40,})</code></pre>")


def user_named(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_a_token_is_stored_only_as_its_hash_and_finds_its_user(app, make_user):
    make_user("org", "organizer")
    with app.app_context():
        raw = tokens.create_token(user_named("org"), "nightly import", actor=None)
        row = db.session.scalar(select(ApiToken))
        assert row.token_hash == hashlib.sha256(raw.encode()).hexdigest()
        assert raw not in (row.token_hash, row.name)
        assert len(raw) >= 40
        assert row.last_used_at is None
        assert tokens.user_for_token(raw).username == "org"
        assert db.session.get(ApiToken, row.id).last_used_at is not None
        assert tokens.user_for_token(raw + "x") is None
        assert tokens.user_for_token("") is None
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "token.create"))
        assert event.after == {"user": "org", "name": "nightly import", "expires_at": None}


def test_revoked_expired_and_deactivated_tokens_are_refused(app, make_user):
    make_user("org", "organizer")
    with app.app_context():
        user = user_named("org")
        revoked = tokens.create_token(user, "revoked", actor=None)
        expiring = tokens.create_token(user, "expiring", actor=None, expires_at=utcnow() + timedelta(seconds=60))
        live = tokens.create_token(user, "live", actor=None)
        tokens.revoke_token(db.session.scalar(select(ApiToken).where(ApiToken.name == "revoked")), actor=None)
        assert tokens.user_for_token(revoked) is None
        assert tokens.user_for_token(expiring) is not None
        row = db.session.scalar(select(ApiToken).where(ApiToken.name == "expiring"))
        row.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
        assert tokens.user_for_token(expiring) is None
        user.active = False
        db.session.commit()
        assert tokens.user_for_token(live) is None


@pytest.mark.parametrize(("name", "expires", "message"), [
    ("   ", None, "令牌名称不能为空"),
    ("x" * 101, None, "令牌名称有 101 个字符，最多 100 个"),
    ("fine", timedelta(days=-1), "到期日期必须晚于今天"),
])
def test_bad_token_requests_are_refused_and_nothing_is_written(app, make_user, table_counts, name, expires,
                                                               message):
    make_user("org", "organizer")
    before = table_counts()
    with app.app_context(), pytest.raises(tokens.TokenError, match=message):
        tokens.create_token(user_named("org"), name, actor=None,
                            expires_at=utcnow() + expires if expires else None)
    assert table_counts() == before


def test_revoking_twice_is_refused(app, make_user):
    make_user("org", "organizer")
    with app.app_context():
        tokens.create_token(user_named("org"), "once", actor=None)
        row = db.session.scalar(select(ApiToken))
        tokens.revoke_token(row, actor=None)
        with pytest.raises(tokens.TokenError, match="已被吊销"):
            tokens.revoke_token(row, actor=None)


def test_cli_prints_the_token_once_and_revokes_it(app, runner, make_user):
    make_user("org", "organizer")
    make_user("other", "organizer")
    assert runner.invoke(args=["tokens", "create", "--username", "other", "--name", "other's"]).exit_code == 0
    result = runner.invoke(args=["tokens", "create", "--username", "org", "--name", "ci", "--expires-days", "30"])
    assert result.exit_code == 0, result.output
    raw = result.stdout.strip()
    client = app.test_client()
    assert client.get("/api/v1/rounds", headers=bearer(raw)).status_code == 200
    listing = runner.invoke(args=["tokens", "list"])
    assert raw not in listing.output and "\torg\tci\t" in listing.output and "\tother\t" in listing.output
    own = runner.invoke(args=["tokens", "list", "--username", "org"]).output
    assert own.count("\n") == 1 and "\tother\t" not in own
    token_id = own.split("\t")[0]
    assert runner.invoke(args=["tokens", "revoke", token_id]).exit_code == 0
    assert client.get("/api/v1/rounds", headers=bearer(raw)).status_code == 401
    again = runner.invoke(args=["tokens", "revoke", token_id])
    assert again.exit_code == 1 and "已被吊销" in again.output


def test_cli_refuses_an_unknown_account_in_chinese(runner, table_counts):
    before = table_counts()
    result = runner.invoke(args=["tokens", "create", "--username", "nobody", "--name", "ci"])
    assert result.exit_code == 1 and "nobody：没有这个账户。" in result.output
    assert table_counts() == before


def create_in_ui(client, csrf_token, **form) -> tuple[int, str | None, str]:
    page = client.get("/admin/tokens")
    response = client.post("/admin/tokens", data={"csrf_token": csrf_token(page.get_data(as_text=True)), **form})
    html = response.get_data(as_text=True)
    match = TOKEN_IN_PAGE.search(html)
    return response.status_code, match.group(1) if match else None, html


def test_an_organizer_creates_a_token_in_the_ui_sees_it_once_and_revokes_it(app, client, auth, csrf_token):
    auth.login("organizer")
    status, raw, _ = create_in_ui(client, csrf_token, name="spreadsheet sync", expires_days="7")
    assert status == 200 and raw
    api = app.test_client()
    assert api.get("/api/v1/applications", headers=bearer(raw)).status_code == 200
    listing = client.get("/admin/tokens").get_data(as_text=True)
    assert "spreadsheet sync" in listing and raw not in listing
    with app.app_context():
        token_id = db.session.scalar(select(ApiToken.id))
    response = client.post(f"/admin/tokens/{token_id}/revoke", data={"csrf_token": csrf_token(listing)})
    assert response.status_code == 302
    assert api.get("/api/v1/applications", headers=bearer(raw)).status_code == 401


def test_organizers_see_and_revoke_only_their_own_tokens_admins_all(app, client, auth, make_user, csrf_token):
    make_user("other", "organizer")
    with app.app_context():
        tokens.create_token(user_named("other"), "other's token", actor=None)
        db.session.commit()
        other_id = db.session.scalar(select(ApiToken.id))
    auth.login("organizer")
    page = client.get("/admin/tokens").get_data(as_text=True)
    assert "other&#39;s token" not in page and "other's token" not in page
    response = client.post(f"/admin/tokens/{other_id}/revoke", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 404
    status, raw, html = create_in_ui(client, csrf_token, name="for other", username="other")
    assert raw is None and "只有管理员可以为其他账号创建令牌" in html
    auth.logout()
    auth.login("admin")
    page = client.get("/admin/tokens").get_data(as_text=True)
    assert "other&#39;s token" in page
    status, raw, _ = create_in_ui(client, csrf_token, name="for other", username="other")
    assert raw is not None
    with app.app_context():
        assert tokens.user_for_token(raw).username == "other"


def test_experts_have_no_token_page(client, auth, make_expert_record, app):
    from web.services.records import import_experts

    with app.app_context():
        import_experts([make_expert_record("EXP-001", declared=[])], actor=None)
        db.session.commit()
    auth.login("expert", expert_ref="EXP-001")
    assert client.get("/admin/tokens").status_code == 403
