"""Server time of the ranking, trace and panel pages and of the Excel export on the demo, recomputed per view
(as before stored rankings) and read from the stored ranking (now).

Server time is the time Flask's test client takes for the request in this process (no network, no browser):
median of ``--repeat`` views (20) for pages, of ``--repeat-export`` (5) for the export and the recomputing
views. "recompute" deletes the stored ranking before each view, so the view ranks the round afresh (10,000
bootstrap draws and a conflict scan) as every view did before; "stored" reads the row the first view wrote.
The panel page builds the matching engine's context per view either way (it is not stored yet).

Usage: ``python3 benchmarks/pages.py [--instance DIR]``: the demo instance to use (``panel demo --no-serve``
loads it there first when it holds no data; default: a fresh temporary folder). Not a test: it prints a table.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]

from sqlalchemy import delete, func, select  # noqa: E402

from web import create_app  # noqa: E402
from web.commands.data import DEMO_PASSWORD  # noqa: E402
from web.extensions import db  # noqa: E402
from web.models import Round, ScoreSheet, StoredRanking  # noqa: E402


def demo_app(instance: str):
    """The app on ``instance``, with the demo loaded (once) and the schema current."""
    app = create_app({"INSTANCE_PATH": instance, "PANEL_QUEUE": "immediate", "WTF_CSRF_ENABLED": False})
    result = app.test_cli_runner().invoke(args=["demo", "--no-serve"])
    if result.exit_code != 0:
        raise SystemExit(result.output)
    return app


def timed(client, url: str, repeat: int, before=None) -> float:
    """Median seconds of ``repeat`` GETs of ``url`` (``before()`` runs untimed before each)."""
    times = []
    for _ in range(repeat):
        if before is not None:
            before()
        start = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - start)
        if response.status_code != 200:
            raise SystemExit(f"{url}: HTTP {response.status_code}")
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instance", default=None)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--repeat-export", type=int, default=5)
    args = parser.parse_args()
    instance = args.instance or tempfile.mkdtemp(prefix="panel-bench-")
    app = demo_app(str(Path(instance).resolve()))
    with app.app_context():
        round_ = db.session.scalars(select(Round).where(Round.state == "scoring").order_by(Round.id)).first()
        round_id, first_application = round_.id, round_.applications[0].id
        applications = len(round_.applications)
        sheets = db.session.scalar(select(func.count(ScoreSheet.id)).where(ScoreSheet.round_id == round_id))

    def forget() -> None:
        with app.app_context():
            db.session.execute(delete(StoredRanking))
            db.session.commit()

    client = app.test_client()
    login = client.post("/login", data={"username": "organizer", "password": DEMO_PASSWORD})
    if login.status_code != 302:
        raise SystemExit("could not log in as the demo organizer")
    pages = [
        ("ranking page", f"/rankings/rounds/{round_id}", True),
        ("trace page", f"/rankings/rounds/{round_id}/applications/{first_application}", True),
        ("panel page", f"/rounds/{round_id}/applications/{first_application}", False),
        ("Excel export", f"/rankings/rounds/{round_id}/export.xlsx", True),
    ]
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, "
          f"Python {platform.python_version()}")
    print(f"demo round {round_id}: {applications} applications, {sheets} sheets; "
          f"medians of {args.repeat} views (pages, stored) and {args.repeat_export} (export, recompute)\n")
    print(f"{'view':<14} {'recompute (s)':>14} {'stored (s)':>11} {'stored/recompute':>17}")
    for name, url, uses_ranking in pages:
        export = name == "Excel export"
        before = timed(client, url, args.repeat_export, forget if uses_ranking else None)
        client.get(url)                                              # stores the ranking once
        after = timed(client, url, args.repeat_export if export else args.repeat)
        print(f"{name:<14} {before:>14.3f} {after:>11.3f} {after / before:>17.2f}")


if __name__ == "__main__":
    main()
