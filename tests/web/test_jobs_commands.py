"""What ``panel worker`` and ``panel serve`` print when they start: the catalog's sentences, Chinese first (the
loops themselves are replaced here; tests/web/test_jobs_queue.py runs them)."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path
from types import SimpleNamespace

import pytest


@pytest.mark.app_config(PANEL_QUEUE="sqlite")
def test_a_worker_says_in_chinese_what_it_takes(runner, monkeypatch):
    taken = []
    monkeypatch.setattr("web.commands.worker.run_worker", lambda app, names, workers, stop: taken.append(names))
    result = runner.invoke(args=["worker", "--workers", "3", "--queue", "matching"])
    assert result.exit_code == 0 and taken == [["matching"]]
    assert result.output == "后台进程：队列存储 sqlite，处理队列 matching，每个队列 3 个线程（按 Ctrl+C 停止）\n"


@pytest.mark.app_config(PANEL_QUEUE="redis://:s3cret-pass@127.0.0.1:6390/0")
def test_a_workers_status_line_hides_the_password_of_its_redis_url(runner, monkeypatch):
    """docs/jobs.md has the operator put Redis's password in PANEL_QUEUE; the line goes to the service's journal."""
    monkeypatch.setattr("web.commands.worker.run_worker", lambda app, names, workers, stop: None)
    result = runner.invoke(args=["worker"])
    assert result.exit_code == 0 and "s3cret-pass" not in result.output
    assert "队列存储 redis://:***@127.0.0.1:6390/0，" in result.output


class FakeServer:
    """Stands for waitress's server: records where it would serve; its map is empty, so its loop returns at once."""

    adj = SimpleNamespace(asyncore_loop_timeout=1, asyncore_use_poll=True)

    def __init__(self, host: str, port: int, served: list):
        served.append((host, port))

    def print_listen(self, line: str) -> None:
        pass


@pytest.mark.app_config(PANEL_QUEUE="sqlite")
def test_serve_says_in_chinese_where_it_serves_and_that_it_runs_the_jobs(runner, monkeypatch):
    served = []
    queue = importlib.import_module("web.jobs.queue")
    monkeypatch.setattr(queue, "start_consumer", lambda app, workers: queue.Consumers(app, []))
    monkeypatch.setattr("waitress.create_server", lambda app, map, host, port, **settings: FakeServer(host, port, served))
    result = runner.invoke(args=["serve", "--port", "5123"])
    assert result.exit_code == 0 and served == [("127.0.0.1", 5123)]
    assert result.output.splitlines() == ["网站已在 http://127.0.0.1:5123/ 提供服务（按 Ctrl+C 停止）",
                                          "后台任务：由本进程运行，每个队列（general、matching）2 个线程（PANEL_QUEUE=sqlite）"]


def test_a_matching_jobs_replay_is_a_panel_match_command_line_it_parses():
    from web.commands.matching import match_command
    from web.services.matching_runs import replay_command

    line = replay_command(3, 7, 0.5)
    assert line == "panel match --round 3 --seed 7 --max-probability 0.5 --dry-run --json"
    context = match_command.make_context("match", line.split()[2:])
    assert context.params == {"round_ref": "3", "seed": 7, "max_probability": 0.5, "dry_run": True, "as_json": True}
    assert replay_command(3, None, None) == "panel match --round 3 --dry-run --json"


def test_the_job_views_import_no_command_module():
    """A view reads the replay command from the matching service, not from the ``panel match`` command's module."""
    views = Path(__file__).resolve().parents[2] / "web" / "blueprints" / "jobs" / "views.py"
    imported = {node.module for node in ast.walk(ast.parse(views.read_text())) if isinstance(node, ast.ImportFrom)}
    assert not {name for name in imported if name and name.startswith("web.commands")}
