"""Import speed: validate and import 1,000 generated applications (and experts) into SQLite, and into
PostgreSQL when a URL is given, through the bulk path (web/services/records.py) and, as the baseline in the
same run, the ORM path it replaced (benchmarks/orm_import.py). Prints a table with counts, seconds, records/s,
rows/s and SQL statements, the bulk path's time as a ratio of the baseline's, and machine info.

    python benchmarks/import_speed.py [--applications 1000] [--experts 1000] [--seed N]
                                      [--database-url postgresql+psycopg://…] [--skip-files] [--skip-baseline]

A PostgreSQL database named by ``--database-url`` or ``PANEL_TEST_DATABASE_URL`` is WIPED (its public schema
is dropped and recreated): never point it at data you keep.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import event, func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from web import create_app  # noqa: E402
from web.demo import generate_demo  # noqa: E402
from web.extensions import db  # noqa: E402
from web.io import read_records, write_records  # noqa: E402
from web.records import default_field_names, validate_records  # noqa: E402


def machine() -> str:
    """CPU count, memory and versions, for the table's caption."""
    memory = "?"
    meminfo = Path("/proc/meminfo")
    if meminfo.is_file():
        kilobytes = int(meminfo.read_text().split("MemTotal:")[1].split()[0])
        memory = f"{kilobytes / 1024 ** 2:.1f} GiB"
    return (f"nproc {os.cpu_count()}, memory {memory}, {platform.machine()}, Python {platform.python_version()}, "
            f"{platform.platform()}")


def row_count() -> int:
    """Rows in every table of the database."""
    return sum(db.session.scalar(select(func.count()).select_from(table)) for table in db.metadata.sorted_tables)


def fresh_app(database_url: str | None, instance: Path):
    """An app on an empty, migrated database with the reference data."""
    from flask_migrate import upgrade

    from web.services.reference_data import seed_reference_data

    url = database_url or f"sqlite:///{instance / 'bench.sqlite3'}"
    app = create_app({"INSTANCE_PATH": str(instance), "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        if database_url:
            with db.engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE"))
                connection.execute(text("CREATE SCHEMA public"))
        upgrade()
        seed_reference_data()           # the service flushes; the taxonomy must outlive this app context
        db.session.commit()
    return app


def timed(function, *args, **kwargs):
    """(result, seconds) of one call."""
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def cpu_timed(function, *args, **kwargs):
    """(result, wall seconds, CPU seconds of this process) of one call: on a shared machine the CPU time is the
    steadier figure (it leaves out waiting for the processor, and PostgreSQL's own work)."""
    start, cpu = time.perf_counter(), time.process_time()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start, time.process_time() - cpu


def bulk_import(kind: str, records: list[dict]) -> None:
    """The bulk path, committed as its callers do."""
    from web.services.records import import_records

    import_records(kind, records, actor=None)
    db.session.commit()


def orm_import(kind: str, records: list[dict]) -> None:
    """The ORM path the bulk path replaced (it commits itself)."""
    from benchmarks import orm_import as baseline

    (baseline.import_applications if kind == "applications" else baseline.import_experts)(records, actor=None)


def run(database_url: str | None, records: dict[str, list[dict]], label: str, path: str, importer) -> list[tuple]:
    """Validate and import every kind into a fresh database with ``importer``; one table line per step."""
    from web.services.records import existing_refs

    lines = []
    taxonomy = default_field_names()
    with tempfile.TemporaryDirectory() as instance:
        app = fresh_app(database_url, Path(instance))
        with app.app_context():
            statements = [0]
            event.listen(db.engine, "before_cursor_execute", lambda *args: statements.__setitem__(0, statements[0] + 1))
            for kind in ("experts", "applications"):
                raw = records[kind]
                sources = [f"[{n}]" for n in range(1, len(raw) + 1)]
                (valid, errors), validate_seconds = timed(
                    validate_records, kind, raw, source_refs=sources, taxonomy=taxonomy,
                    existing_refs=existing_refs(kind))
                assert not errors, errors[:5]
                before, statements[0] = row_count(), 0
                _, import_seconds, import_cpu = cpu_timed(importer, kind, valid)
                executed = statements[0]
                rows = row_count() - before
                lines.append((label, kind, "validate", len(raw), None, validate_seconds, None, None))
                lines.append((label, kind, f"import {path}", len(raw), rows, import_seconds, import_cpu, executed))
            db.session.remove()
            db.engine.dispose()
    return lines


def targets(database_url: str | None, records: dict[str, list[dict]], baseline: bool) -> list[tuple]:
    """Both paths on SQLite, then on PostgreSQL when a URL is given; the baseline first on each database."""
    lines = []
    for url, label in ((None, "SQLite"), (database_url, "PostgreSQL")):
        if label == "PostgreSQL" and not url:
            continue
        if baseline:
            lines += run(url, records, label, "ORM", orm_import)
        lines += run(url, records, label, "bulk", bulk_import)
    return lines


def ratios(lines: list[tuple]) -> list[str]:
    """The bulk path's import time as a share of the ORM path's, per database and kind."""
    times = {(target, kind, step): (wall, cpu) for target, kind, step, _, _, wall, cpu, _ in lines}
    found = []
    for (target, kind, step), (wall, cpu) in times.items():
        baseline = times.get((target, kind, "import ORM"))
        if step == "import bulk" and baseline:
            found.append(f"{target} {kind}: bulk {wall:.2f} s = {wall / baseline[0]:.3f} × ORM {baseline[0]:.2f} s "
                         f"wall; {cpu:.2f} s = {cpu / baseline[1]:.3f} × ORM {baseline[1]:.2f} s CPU")
    return found


def file_lines(records: dict[str, list[dict]]) -> list[tuple]:
    """Write and read the applications in each file format."""
    lines = []
    with tempfile.TemporaryDirectory() as folder:
        for extension in ("json", "csv", "xlsx"):
            path = Path(folder) / f"applications.{extension}"
            _, write_seconds = timed(write_records, path, "applications", records["applications"])
            read, read_seconds = timed(read_records, path, "applications")
            assert not read.errors
            size = len(records["applications"])
            lines.append((f".{extension} ({path.stat().st_size / 1024 ** 2:.1f} MiB)", "applications", "write",
                          size, None, write_seconds, None, None))
            lines.append((f".{extension}", "applications", "read", size, None, read_seconds, None, None))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--applications", type=int, default=1000)
    parser.add_argument("--experts", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", default=os.environ.get("PANEL_TEST_DATABASE_URL"))
    parser.add_argument("--skip-files", action="store_true", help="Do not time the file formats.")
    parser.add_argument("--skip-baseline", action="store_true", help="Do not run the ORM path.")
    options = parser.parse_args()

    demo, generate_seconds = timed(generate_demo, options.seed, applications=options.applications,
                                   experts=options.experts)
    records = {"applications": demo.applications, "experts": demo.experts}
    members = sum(len(application["members"]) for application in demo.applications)
    print(f"machine: {machine()}")
    print(f"generated {options.applications} applications ({members} member units) and {options.experts} experts "
          f"in {generate_seconds:.2f} s (seed {options.seed})")
    print(f"load average before the runs: {os.getloadavg()[0]:.1f} (1 min)")
    lines = targets(options.database_url, records, not options.skip_baseline)
    if not options.skip_files:
        lines += file_lines(records)
    print(f"{'target':<22} {'kind':<13} {'step':<12} {'records':>8} {'rows':>8} {'seconds':>8} {'CPU s':>6} "
          f"{'records/s':>10} {'rows/s':>9} {'statements':>10}")
    for target, kind, step, count, rows, seconds, cpu, statements in lines:
        rows_text = f"{rows:>8}" if rows is not None else f"{'':>8}"
        rate = f"{rows / seconds:>9.0f}" if rows is not None else f"{'':>9}"
        cpu_text = f"{cpu:>6.2f}" if cpu is not None else f"{'':>6}"
        executed = f"{statements:>10}" if statements is not None else f"{'':>10}"
        print(f"{target:<22} {kind:<13} {step:<12} {count:>8} {rows_text} {seconds:>8.2f} {cpu_text} "
              f"{count / seconds:>10.0f} {rate} {executed}")
    print(f"load average after the runs: {os.getloadavg()[0]:.1f} (1 min)")
    for line in ratios(lines):
        print(line)


if __name__ == "__main__":
    main()
