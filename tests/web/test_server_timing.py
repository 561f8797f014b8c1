"""Server-Timing: with PANEL_SERVER_TIMING every response names the app's time, which benchmarks/load.py reads;
without it, no response does."""

from __future__ import annotations

import pytest

from web.server_timing import CPU_METRIC, HEADER, duration


@pytest.mark.app_config(SERVER_TIMING=True)
def test_every_answer_names_the_apps_time(client, auth):
    answers = [client.get("/login"), client.get("/no-such-page"), client.get("/rankings/")]
    auth.login("organizer")
    answers += [client.get("/rankings/"), client.post("/logout")]          # a page, and a refusal (no CSRF token)
    statuses = {answer.status_code for answer in answers}
    assert {200, 302, 404, 400} <= statuses
    for answer in answers:
        milliseconds = duration(answer.headers.get(HEADER))
        cpu = duration(answer.headers.get(HEADER), CPU_METRIC)
        assert milliseconds is not None and milliseconds >= 0, answer.headers.get(HEADER)
        assert cpu is not None and cpu >= 0, answer.headers.get(HEADER)


def test_off_by_default(client):
    assert HEADER not in client.get("/login").headers


def test_the_header_is_read_as_the_w3c_format_writes_it():
    assert duration("app;dur=12.34") == 12.34
    assert duration('db;dur=3, app;desc="Panel";dur=7.5') == 7.5
    assert duration("app;dur=12.34, cpu;dur=8.1", "cpu") == 8.1
    assert duration("db;dur=3") is None and duration(None) is None and duration("app") is None


@pytest.mark.parametrize(("value", "on"), [("1", True), ("true", True), ("on", True), ("0", False),
                                           ("false", False), ("no", False), ("off", False), ("", False)])
def test_the_switch_reads_as_people_write_it(monkeypatch, tmp_path, value, on):
    from web.config import default_config

    monkeypatch.setenv("PANEL_SERVER_TIMING", value)
    assert default_config(str(tmp_path))["SERVER_TIMING"] is on
