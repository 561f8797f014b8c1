"""The long lists on the demo: rows, HTML size and server time of the first page (default page size) against the
largest page the list allows (200 rows, the nearest to the whole list shown at once as before), in one process.

Server time is the median time Flask's test client takes for ``--repeat`` GETs (no network, no browser).
Usage: ``python3 benchmarks/lists.py [--instance DIR] [--repeat 5]``: the demo instance to use (loaded there first
when it holds no data; default: a fresh temporary folder). Not a test: it prints a table.
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
sys.path.append(str(HERE.parent))                # the repository, for benchmarks.pages

from sqlalchemy import select  # noqa: E402

from benchmarks.pages import demo_app  # noqa: E402
from web.commands.data import DEMO_PASSWORD  # noqa: E402
from web.extensions import db  # noqa: E402
from web.models import Round  # noqa: E402


def measured(client, url: str, repeat: int) -> tuple[int, int, float]:
    """(table rows, HTML bytes, median seconds) of ``url``."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - start)
        if response.status_code != 200:
            raise SystemExit(f"{url}: HTTP {response.status_code}")
    html = response.get_data(as_text=True)
    body = html.rsplit("<tbody>", 1)[-1].split("</tbody>", 1)[0]          # the list is the last table
    return body.count("<tr"), len(response.get_data()), statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instance", default=None)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    app = demo_app(str(Path(args.instance or tempfile.mkdtemp(prefix="panel-bench-")).resolve()))
    with app.app_context():
        round_id = db.session.scalars(select(Round.id).order_by(Round.id)).first()
    client = app.test_client()
    client.post("/login", data={"username": "organizer", "password": DEMO_PASSWORD})
    lists = {"applications": "/records/applications", "experts": "/records/experts",
             "conflicts": f"/rounds/{round_id}/conflicts", "outbox": "/invitations/outbox",
             "ranking": f"/rankings/rounds/{round_id}"}
    print(f"Machine: nproc {os.cpu_count()}, {platform.machine()}, Python {platform.python_version()}")
    print(f"{'list':<14}{'rows 200':>9}{'rows page':>10}{'KiB 200':>9}{'KiB page':>9}"
          f"{'ms 200':>8}{'ms page':>8}{'time ratio':>11}")
    for name, url in lists.items():
        joiner = "&" if "?" in url else "?"
        rows_all, bytes_all, seconds_all = measured(client, f"{url}{joiner}per_page=200", args.repeat)
        rows, size, seconds = measured(client, url, args.repeat)
        print(f"{name:<14}{rows_all:>9}{rows:>10}{bytes_all / 1024:>9.0f}{size / 1024:>9.0f}"
              f"{seconds_all * 1000:>8.0f}{seconds * 1000:>8.0f}{seconds / seconds_all:>11.2f}")


if __name__ == "__main__":
    main()
