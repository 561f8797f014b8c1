"""Data commands of the ``panel`` CLI: import templates, import, export, formal check and the demo (DESIGN §8)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

KINDS = click.Choice(["applications", "experts"])
REFUSED = 1  # DESIGN §8: exit status 1 on refused input, 2 on usage errors (click's own)


@click.command("template")
@click.argument("kind", type=KINDS)
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def template_command(kind: str, path: Path) -> None:
    """Write an Excel import template (Chinese headers, drop-downs, one example row)."""
    from web.io.template import write_template

    if path.suffix.lower() != ".xlsx":
        raise click.BadParameter("the template is an Excel workbook: give a path ending in .xlsx", param_hint="PATH")
    write_template(kind, path)
    click.echo(f"wrote the {kind} import template to {path}")


@click.command("import")
@click.argument("kind", type=KINDS)
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Validate only; write nothing.")
@with_appcontext
def import_command(kind: str, path: Path, dry_run: bool) -> None:
    """Import .xlsx, .csv or .json records, all or nothing."""
    from web.io import read_records
    from web.records import field_names, validate_records
    from web.services import records as record_service

    read = read_records(path, kind)
    records, errors = [], list(read.errors)
    if not errors:
        records, errors = validate_records(
            kind, read.records, source_refs=read.source_refs, taxonomy=field_names(),
            existing_refs=record_service.existing_refs(kind),
        )
    if errors:
        refuse(errors, path)
    if dry_run:
        click.echo(f"{path}: {len(records)} {kind} valid (dry run: nothing written)")
        return
    importer = record_service.import_applications if kind == "applications" else record_service.import_experts
    importer(records, actor=None)
    click.echo(f"imported {len(records)} {kind} from {path}")


def refuse(errors: list[str], path: Path) -> None:
    """Print every error on standard error and exit with status 1."""
    for error in errors:
        click.echo(error, err=True)
    click.echo(f"{path}: refused, {len(errors)} error(s); nothing was imported", err=True)
    sys.exit(REFUSED)


@click.command("export")
@click.argument("kind", type=KINDS)
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--include-personal", is_flag=True, help="Include ID numbers, phones and e-mails.")
@with_appcontext
def export_command(kind: str, path: Path, include_personal: bool) -> None:
    """Export records to .xlsx, .csv or .json, in the format import reads."""
    from web.io import write_records
    from web.services import records as record_service

    exporter = record_service.export_applications if kind == "applications" else record_service.export_experts
    records = exporter(include_personal=include_personal)
    write_records(path, kind, records)
    click.echo(f"exported {len(records)} {kind} to {path}")


@click.command("check")
@click.option("--round", "round_name", default=None, help="Only the applications of this round.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@with_appcontext
def check_command(round_name: str | None, as_json: bool) -> None:
    """Print the formal-check flags of every application."""
    from web.services.formal_check import check_applications

    results = check_applications(round_name=round_name)
    if as_json:
        click.echo(json.dumps(results, ensure_ascii=False, indent=1))
        return
    for result in results:
        flags = result["flags"]
        click.echo(f"{result['ref']} {result['center_name']}: {'OK' if not flags else len(flags)}")
        for flag in flags:
            click.echo(f"  {flag['code']}: {flag['message']}")


data_commands = [template_command, import_command, export_command, check_command]
"""The commands web/commands/__init__.py registers on the ``panel`` group."""
