"""The login lockout under parallel guesses, and open connections, against a live waitress on 127.0.0.1.

The server runs with Panel's own waitress settings (web.serve) in a thread on a free port. CSRF is off and the
per-client limit raised, because every guess comes from one address here: what is tested is the per-account lock.
"""

from __future__ import annotations

import http.client
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from web.extensions import db
from web.models import AuditEvent, User, utcnow
from web.serve import waitress_settings

pytestmark = [pytest.mark.slow,
              pytest.mark.app_config(WTF_CSRF_ENABLED=False, RATELIMIT_LOGIN="1000 per minute")]

GUESSES = 30
RIGHT_AT = 20            # the right password is the 21st guess
PASSWORD = "correct horse 42"


@pytest.fixture
def live(app) -> Iterator[int]:
    """``app`` served by waitress on 127.0.0.1; yields the port."""
    from waitress import create_server

    server = create_server(app, host="127.0.0.1", port=0, **waitress_settings(app))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield server.effective_port
    server.close()
    thread.join(timeout=10)


def login(port: int, username: str, password: str, **headers: str) -> int:
    """POST the login form on a new connection; the status (302: logged in, 200: refused)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("POST", "/login", urlencode({"username": username, "password": password}),
                           {"Content-Type": "application/x-www-form-urlencoded", **headers})
        return connection.getresponse().status
    finally:
        connection.close()


def audit_count(app, action: str) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action))


def locked(app, username: str) -> bool:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        return user.locked_until is not None and user.locked_until > utcnow()


def test_thirty_parallel_wrong_guesses_lock_the_account_after_exactly_five(app, live, make_user):
    make_user("alice", "organizer")
    start = threading.Barrier(GUESSES)

    def guess(number: int) -> int:
        start.wait()
        return login(live, "alice", f"wrong {number}")

    with ThreadPoolExecutor(GUESSES) as pool:
        statuses = list(pool.map(guess, range(GUESSES)))
    assert statuses == [200] * GUESSES                       # every guess refused, none a 500
    assert locked(app, "alice")
    # each failure was counted once: five were checked, the rest refused without a look
    assert audit_count(app, "login.failure") == app.config["LOGIN_MAX_FAILURES"]
    assert audit_count(app, "login.refused_locked") == GUESSES - app.config["LOGIN_MAX_FAILURES"]


def test_the_right_password_as_the_21st_of_30_parallel_guesses_does_not_log_in(app, live, make_user):
    make_user("alice", "organizer")
    first_twenty_answered = threading.Event()
    answered = []
    lock = threading.Lock()

    def guess(number: int) -> int:
        if number >= RIGHT_AT:
            first_twenty_answered.wait(timeout=120)
        status = login(live, "alice", PASSWORD if number == RIGHT_AT else f"wrong {number}")
        with lock:
            answered.append(number)
            if sum(1 for n in answered if n < RIGHT_AT) == RIGHT_AT:
                first_twenty_answered.set()
        return status

    with ThreadPoolExecutor(GUESSES) as pool:
        statuses = list(pool.map(guess, range(GUESSES)))
    assert statuses[RIGHT_AT] == 200                         # refused: the login form again, no redirect
    assert 302 not in statuses and set(statuses) == {200}
    assert locked(app, "alice") and audit_count(app, "login.success") == 0


def test_hundreds_of_idle_connections_leave_room_for_a_new_browser(app, live):
    """Idle keep-alive connections (open browsers between autosaves) must not use up the server."""
    idle = []
    try:
        for _ in range(300):
            idle.append(socket.create_connection(("127.0.0.1", live), timeout=10))
        connection = http.client.HTTPConnection("127.0.0.1", live, timeout=20)
        connection.request("GET", "/login")
        assert connection.getresponse().status == 200
        connection.close()
    finally:
        for sock in idle:
            sock.close()


@pytest.mark.app_config(WTF_CSRF_ENABLED=False, RATELIMIT_LOGIN="2 per minute", PROXY_FIX=1)
def test_behind_a_proxy_panel_serve_limits_each_client_address_on_its_own(app, live, make_user):
    make_user("alice", "organizer")
    first = {"X-Forwarded-For": "10.0.0.7"}
    assert [login(live, "alice", "wrong", **first) for _ in range(3)] == [200, 200, 429]
    assert login(live, "alice", PASSWORD, **{"X-Forwarded-For": "10.0.0.8"}) == 302
