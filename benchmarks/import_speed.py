"""Import speed: validate and import 1,000 generated applications (and experts) into SQLite, and into
PostgreSQL when a URL is given. Prints a table with counts, seconds, records/s and rows/s, and machine info.

    python benchmarks/import_speed.py [--applications 1000] [--experts 1000] [--seed N]
                                      [--database-url postgresql+psycopg://…]

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

from sqlalchemy import func, select, text

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
        seed_reference_data()
    return app


def timed(function, *args, **kwargs):
    """(result, seconds) of one call."""
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def run(database_url: str | None, records: dict[str, list[dict]], label: str) -> list[tuple]:
    """Validate and import every kind into a fresh database; one table line per step."""
    from web.services.records import existing_refs, import_applications, import_experts

    lines = []
    taxonomy = default_field_names()
    with tempfile.TemporaryDirectory() as instance:
        app = fresh_app(database_url, Path(instance))
        with app.app_context():
            for kind, importer in (("experts", import_experts), ("applications", import_applications)):
                raw = records[kind]
                sources = [f"[{n}]" for n in range(1, len(raw) + 1)]
                (valid, errors), validate_seconds = timed(
                    validate_records, kind, raw, source_refs=sources, taxonomy=taxonomy,
                    existing_refs=existing_refs(kind))
                assert not errors, errors[:5]
                before = row_count()
                _, import_seconds = timed(importer, valid, actor=None)
                rows = row_count() - before
                lines.append((label, kind, "validate", len(raw), None, validate_seconds))
                lines.append((label, kind, "import", len(raw), rows, import_seconds))
            db.session.remove()
            db.engine.dispose()
    return lines


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
                          size, None, write_seconds))
            lines.append((f".{extension}", "applications", "read", size, None, read_seconds))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--applications", type=int, default=1000)
    parser.add_argument("--experts", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", default=os.environ.get("PANEL_TEST_DATABASE_URL"))
    parser.add_argument("--skip-files", action="store_true", help="Do not time the file formats.")
    options = parser.parse_args()

    demo, generate_seconds = timed(generate_demo, options.seed, applications=options.applications,
                                   experts=options.experts)
    records = {"applications": demo.applications, "experts": demo.experts}
    members = sum(len(application["members"]) for application in demo.applications)
    print(f"machine: {machine()}")
    print(f"generated {options.applications} applications ({members} member units) and {options.experts} experts "
          f"in {generate_seconds:.2f} s (seed {options.seed})")
    lines = run(None, records, "SQLite")
    if options.database_url:
        lines += run(options.database_url, records, "PostgreSQL")
    if not options.skip_files:
        lines += file_lines(records)
    print(f"{'target':<22} {'kind':<13} {'step':<9} {'records':>8} {'rows':>8} {'seconds':>8} {'records/s':>10} "
          f"{'rows/s':>9}")
    for target, kind, step, count, rows, seconds in lines:
        rows_text = f"{rows:>8}" if rows is not None else f"{'':>8}"
        rate = f"{rows / seconds:>9.0f}" if rows is not None else f"{'':>9}"
        print(f"{target:<22} {kind:<13} {step:<9} {count:>8} {rows_text} {seconds:>8.2f} {count / seconds:>10.0f} {rate}")


if __name__ == "__main__":
    main()
