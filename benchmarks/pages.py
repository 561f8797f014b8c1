"""Server time of the ranking, trace and panel pages and of the Excel export on the demo, recomputed per view
(as before stored results) and read from the stored ranking and panel context (now).

Server time is the time Flask's test client takes for the request in this process (no network, no browser):
median of ``--repeat`` views (20) for pages and the stored export, of ``--repeat-export`` (5) for the
recomputing views. "recompute" deletes the stored ranking and panel context before each view, so the view
ranks the round afresh (10,000 bootstrap draws and a conflict scan) or builds the matching context afresh, as
every view did before; "stored" reads the rows the first view wrote. The last line times the workbook writer
alone on the stored report: XlsxWriter (now) against openpyxl writing the same cells (before), in this process.
The machine is shared: the load average is printed before and after, and the ratios matter more than seconds.

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
from web.io import ranking_excel  # noqa: E402
from web.models import Round, ScoreSheet, StoredPanelContext, StoredRanking  # noqa: E402
from web.services.stored_ranking import ranking_for_view  # noqa: E402


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


def openpyxl_workbook(report) -> bytes:
    """The same workbook as the export writes, with openpyxl as the export did before (the baseline)."""
    import io

    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    from web.io.files import protect_text

    workbook = Workbook()
    excel = ranking_excel
    sheets = [(workbook.active, list(excel.RANKING_HEADERS), excel.ranking_rows(report)),
              (workbook.create_sheet(excel.DETAIL_SHEET), excel.detail_headers(report), excel.detail_rows(report))]
    sheets[0][0].title = excel.RANKING_SHEET
    for sheet, headers, rows in sheets:
        sheet.append(headers)
        for cell in sheet[1]:
            cell.font, cell.alignment = Font(bold=True), Alignment(wrap_text=True, vertical="top")
        for row in rows:
            sheet.append(row)
        for cells in sheet.iter_rows(min_row=2):
            for cell in cells:
                protect_text(cell)
        sheet.freeze_panes = "A2"
        for column, header in enumerate(headers, start=1):
            sheet.column_dimensions[get_column_letter(column)].width = min(max(8, len(header) * 2 + 2), 40)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def writer_medians(app, round_id: int, repeat: int) -> tuple[float, float]:
    """Median seconds of openpyxl and of XlsxWriter writing the stored report's workbook, alternating."""
    with app.app_context():
        report = ranking_for_view(db.session.get(Round, round_id)).report
        before, after = [], []
        for _ in range(repeat):
            for writer, times in ((openpyxl_workbook, before), (ranking_excel.ranking_workbook, after)):
                start = time.perf_counter()
                writer(report)
                times.append(time.perf_counter() - start)
    return statistics.median(before), statistics.median(after)


def load_average() -> str:
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


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
            db.session.execute(delete(StoredPanelContext))
            db.session.commit()

    client = app.test_client()
    login = client.post("/login", data={"username": "organizer", "password": DEMO_PASSWORD})
    if login.status_code != 302:
        raise SystemExit("could not log in as the demo organizer")
    pages = [
        ("ranking page", f"/rankings/rounds/{round_id}", True),
        ("trace page", f"/rankings/rounds/{round_id}/applications/{first_application}", True),
        ("panel page", f"/rounds/{round_id}/applications/{first_application}", True),
        ("Excel export", f"/rankings/rounds/{round_id}/export.xlsx", True),
    ]
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, "
          f"Python {platform.python_version()}; load average {load_average()}")
    print(f"demo round {round_id}: {applications} applications, {sheets} sheets; "
          f"medians of {args.repeat} views (stored) and {args.repeat_export} (recompute)\n")
    print(f"{'view':<14} {'recompute (s)':>14} {'stored (s)':>11} {'stored/recompute':>17}")
    for name, url, stored in pages:
        before = timed(client, url, args.repeat_export, forget if stored else None)
        client.get(url)                                              # stores the ranking or context once
        after = timed(client, url, args.repeat)
        print(f"{name:<14} {before:>14.3f} {after:>11.3f} {after / before:>17.2f}")
    before, after = writer_medians(app, round_id, args.repeat_export)
    print(f"{'writer only':<14} {before:>14.3f} {after:>11.3f} {after / before:>17.2f}"
          "   (openpyxl → XlsxWriter, same report)")
    print(f"\nload average after: {load_average()}")


if __name__ == "__main__":
    main()
