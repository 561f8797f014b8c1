"""Personal links: an invitation carries one; it sets a password once, lands the expert on their seats logged in,
expires, and is refused with a Chinese page after use or when tampered with. Organizers create the missing
accounts of a round in one click (twice is once) and resend a link to one expert."""

from __future__ import annotations

import re
import time

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import func, select

from tests.web.test_sheets_fixtures import world_fixture  # noqa: F401  (the world fixture)
from web.extensions import db
from web.models import AuditEvent, Expert, OutboxMessage, User
from web.services import access_links, invitations

NEW_PASSWORD = "黄浦江边的评审 2020"
LINK = re.compile(r"(/access/[\w.-]+)")


def invite(app, world):
    with app.app_context():
        invitations.invite(world.round(), actor=None)


def link_for(app, recipient: str, kind: str = "invitation") -> str:
    """The path of the personal link in the newest message of ``kind`` to ``recipient``."""
    with app.app_context():
        message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.recipient == recipient,
                                                                OutboxMessage.kind == kind)
                                    .order_by(OutboxMessage.id.desc()))
        return LINK.search(message.body).group(1)


def set_password(client, csrf_token, path: str, password: str = NEW_PASSWORD, confirm: str | None = None):
    page = client.get(path)
    return client.post(path, data={"csrf_token": csrf_token(page.get_data(as_text=True)), "password": password,
                                   "confirm": password if confirm is None else confirm})


def user_named(app, username: str) -> User:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        db.session.expunge(user)
        return user


def actions(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_an_invitation_gives_an_expert_without_account_one_and_a_link_that_works_once(app, client, world,
                                                                                      csrf_token):
    invite(app, world)
    newcomer = user_named(app, "exp-d")
    assert newcomer.role == "expert" and not newcomer.has_usable_password
    assert [event.after["username"] for event in actions(app, "user.create")][-1:] == ["exp-d"]
    path = link_for(app, "EXP-D")
    page = client.get(path)
    assert page.status_code == 200 and "exp-d" in page.get_data(as_text=True)

    response = set_password(client, csrf_token, path)
    assert response.status_code == 302
    start = client.get("/", follow_redirects=True)
    assert start.request.path == "/expert/" and "APP-003" in start.get_data(as_text=True)
    assert user_named(app, "exp-d").check_password(NEW_PASSWORD)
    assert len(actions(app, "user.password_set_by_link")) == 1

    client.post("/logout", data={"csrf_token": csrf_token(start.get_data(as_text=True))})
    again = client.get(path)
    assert again.status_code == 410 and "此链接已使用过" in again.get_data(as_text=True)
    token = csrf_token(client.get("/login").get_data(as_text=True))
    assert client.post(path, data={"csrf_token": token, "password": "另一个足够长的密码 99",
                                   "confirm": "另一个足够长的密码 99"}).status_code == 410
    assert user_named(app, "exp-d").check_password(NEW_PASSWORD)


def test_the_invitation_of_an_expert_with_an_account_names_it_and_carries_a_link(app, world):
    invite(app, world)
    with app.app_context():
        body = db.session.scalar(select(OutboxMessage.body).where(OutboxMessage.recipient == "a@example.com"))
    assert "用户名：expert_a" in body and LINK.search(body)


def test_a_link_expires_after_the_configured_days(app, client, world, csrf_token, monkeypatch, table_counts):
    invite(app, world)
    fifteen_days_ago = int(time.time()) - 15 * 86400
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: fifteen_days_ago)
    with app.app_context():
        token = access_links.make_token(db.session.scalar(select(User).where(User.username == "exp-d")))
    monkeypatch.undo()
    before = table_counts()
    response = client.get(f"/access/{token}")
    assert response.status_code == 410 and "此链接已过期" in response.get_data(as_text=True)
    assert table_counts() == before
    app.config["ACCESS_LINK_MAX_AGE_DAYS"] = 16
    assert client.get(f"/access/{token}").status_code == 200


@pytest.mark.parametrize("tamper", ["one character", "other key", "other user"])
def test_a_wrong_signature_is_refused_in_chinese_and_changes_nothing(app, client, world, table_counts, tamper,
                                                                     csrf_token):
    invite(app, world)
    good = link_for(app, "EXP-D").removeprefix("/access/")
    with app.app_context():
        other_id = db.session.scalar(select(User.id).where(User.username == "expert_a"))
    forged = {
        # (not the last character: its low bits are base64 padding)
        "one character": good[:-5] + ("A" if good[-5] != "A" else "B") + good[-4:],
        "other key": URLSafeTimedSerializer("not the key", salt=access_links.SALT).dumps({"u": 1, "f": "x"}),
        # the payload of another account under this token's signature
        "other user": good.replace(good.split(".")[0], URLSafeTimedSerializer("k").dump_payload(
            {"u": other_id, "f": "x"}).decode()),
    }[tamper]
    before = table_counts()
    response = client.get(f"/access/{forged}")
    assert response.status_code == 400 and "此链接无效" in response.get_data(as_text=True)
    token = csrf_token(client.get("/login").get_data(as_text=True))
    assert client.post(f"/access/{forged}", data={"csrf_token": token, "password": NEW_PASSWORD,
                                                 "confirm": NEW_PASSWORD}).status_code == 400
    assert table_counts() == before


def test_a_password_breaking_the_rules_is_refused_and_the_link_stays_good(app, client, world, csrf_token,
                                                                         table_counts):
    invite(app, world)
    path = link_for(app, "EXP-D")
    before = table_counts()
    response = set_password(client, csrf_token, path, "short")
    assert response.status_code == 400 and "密码至少需要 10 个字符" in response.get_data(as_text=True)
    response = set_password(client, csrf_token, path, NEW_PASSWORD, confirm=NEW_PASSWORD + "x")
    assert response.status_code == 400 and "两次输入的密码不一致" in response.get_data(as_text=True)
    assert table_counts() == before
    assert not user_named(app, "exp-d").has_usable_password
    assert set_password(client, csrf_token, path).status_code == 302


def post_confirmed(client, csrf_token, url, confirm: bool = True):
    token = csrf_token(client.get("/invitations/").get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **({"confirm": "yes"} if confirm else {})})


def invited_without_accounts(app, world):
    """The seats as a round invited before accounts came with invitations: invited, expert D without account."""
    with app.app_context():
        for seat_id in world.seats.values():
            db.session.get(invitations.Assignment, seat_id).state = "invited"


def test_create_accounts_is_one_click_idempotent_and_audited(app, client, auth, world, csrf_token, table_counts):
    invited_without_accounts(app, world)
    auth.login(username="organizer")
    url = f"/invitations/rounds/{world.round_id}/accounts"
    page = client.get(f"/invitations/rounds/{world.round_id}").get_data(as_text=True)
    assert "创建 1 个账号，并向每位专家发送个人链接（共 1 封）" in page

    before = table_counts()
    refused = post_confirmed(client, csrf_token, url, confirm=False)
    assert refused.status_code == 302 and table_counts() == before
    assert "未发送任何消息：请先勾选确认框。" in client.get(refused.headers["Location"]).get_data(as_text=True)

    assert post_confirmed(client, csrf_token, url).status_code == 302
    assert post_confirmed(client, csrf_token, url).status_code == 302       # the double-click
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User).where(User.username == "exp-d")) == 1
        messages = list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "access_link")))
        assert [message.recipient for message in messages] == ["EXP-D"]
        assert "用户名：exp-d" in messages[0].body
    assert [event.after["accounts"] for event in actions(app, "round.create_accounts")] == [["exp-d"], []]
    assert all(event.actor_name == "organizer" for event in actions(app, "round.create_accounts"))
    assert len(actions(app, "user.create")) == 1 + 3     # exp-d, and the fixture's three accounts


def test_an_organizer_resends_one_expert_a_fresh_link(app, client, auth, world, csrf_token):
    invite(app, world)
    auth.login(username="organizer")
    with app.app_context():
        ids = {expert.ref: expert.id for expert in db.session.scalars(select(Expert))}
    response = post_confirmed(client, csrf_token, f"/invitations/rounds/{world.round_id}/experts/{ids['EXP-A']}/link")
    assert response.status_code == 302
    path = link_for(app, "a@example.com", kind="access_link")
    assert client.get(path).status_code == 200
    assert [event.after for event in actions(app, "user.send_link")] == [{"round": world.round_id,
                                                                         "expert": "EXP-A"}]
    # the reserve holds no invited seat: as if the expert did not exist
    assert post_confirmed(client, csrf_token,
                          f"/invitations/rounds/{world.round_id}/experts/{ids['EXP-C']}/link").status_code == 404


@pytest.mark.app_config(RATELIMIT_LOGIN="1000 per minute")
def test_two_simultaneous_clicks_create_each_account_once(app, make_user, world, csrf_token):
    """Two organizers' requests at the same moment: the round's row lock makes the second wait and find the
    accounts made; both answer normally, one account and one message exist."""
    import threading

    invited_without_accounts(app, world)
    make_user("organizer2", "organizer")
    clients = []
    for username in ("organizer", "organizer2"):
        client = app.test_client()
        page = client.get("/login")
        client.post("/login", data={"username": username, "password": "correct horse 42",
                                    "csrf_token": csrf_token(page.get_data(as_text=True))})
        token = csrf_token(client.get("/invitations/").get_data(as_text=True))
        clients.append((client, token))
    start = threading.Barrier(2)
    statuses = []

    def click(client, token):
        start.wait()
        statuses.append(client.post(f"/invitations/rounds/{world.round_id}/accounts",
                                    data={"csrf_token": token, "confirm": "yes"}).status_code)

    threads = [threading.Thread(target=click, args=pair) for pair in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [302, 302]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User).where(User.expert_id.is_not(None))) == 3
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 1


def test_an_account_waiting_for_its_first_password_opens_with_none(app, client, world, csrf_token):
    invite(app, world)
    for password in ("", "!", NEW_PASSWORD):
        page = client.get("/login")
        response = client.post("/login", data={"username": "exp-d", "password": password,
                                               "csrf_token": csrf_token(page.get_data(as_text=True))})
        assert response.status_code == 200
