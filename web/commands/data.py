"""Data commands of the ``panel`` CLI: import templates, import, export, formal check and the demo (DESIGN §8).

Exit status 0 on success, 1 on refused input (every error on standard error, nothing written), 2 on usage
errors (click's own: a missing file, an unknown kind).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_babel import gettext as _

KINDS = click.Choice(["applications", "experts"])
REFUSED = 1
DEMO_PASSWORD = "panel-demo-2020"
DEMO_EXPERT_ACCOUNTS = 5


@click.command("template")
@click.argument("kind", type=KINDS)
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def template_command(kind: str, path: Path) -> None:
    """Write an Excel import template (Chinese headers, drop-downs, one example row)."""
    from web.io.template import write_template

    if path.suffix.lower() != ".xlsx":
        raise click.BadParameter(_("the template is an Excel workbook: give a path ending in .xlsx."),
                                 param_hint="PATH")
    write_template(kind, path)
    click.echo(f"wrote the {kind} import template to {path}")


def refuse(errors: Sequence[str], path: Path) -> None:
    """Print the errors (the first IMPORT_MAX_ERRORS, then how many more) on standard error and exit with status 1."""
    from web.io.limits import capped_errors

    for error in capped_errors(errors, current_app.config["IMPORT_MAX_ERRORS"]):
        click.echo(error, err=True)
    click.echo(_("%(path)s: refused, %(count)d error(s); nothing was imported.", path=path, count=len(errors)),
               err=True)
    sys.exit(REFUSED)


def taxonomy() -> dict[str, str]:
    """The database's field taxonomy (code → Chinese name), the shipped one when the table is empty."""
    from sqlalchemy import select

    from web.extensions import db
    from web.models import Field
    from web.records import default_field_names

    return {field.code: field.name for field in db.session.scalars(select(Field))} or default_field_names()


def with_progress(label: str, total: int, work: Callable[[Callable[..., None]], object]) -> object:
    """Run ``work(step)`` under a progress bar of ``total`` steps (``step(n=1)`` advances it), drawn only when
    standard error is a terminal."""
    if not sys.stderr.isatty():
        return work(lambda steps=1: None)
    with click.progressbar(length=total, label=label, file=sys.stderr) as bar:
        return work(lambda steps=1: bar.update(steps))


def validate_file(kind: str, path: Path) -> tuple[list[dict], list[str]]:
    """Read and validate a file against the database's taxonomy and refs; return (records, errors)."""
    from web.io import read_records
    from web.io.limits import ImportLimits
    from web.records import validate_records
    from web.services import records as record_service

    read = read_records(path, kind, ImportLimits.from_config(current_app.config))
    if read.errors:
        return [], read.errors
    fields, existing = taxonomy(), record_service.existing_refs(kind)
    return with_progress(f"validating {len(read.records)} {kind}", len(read.records), lambda step: validate_records(
        kind, read.records, source_refs=read.source_refs, taxonomy=fields, existing_refs=existing, on_record=step,
        origins=read.origins))


def import_records(kind: str, records: list[dict]) -> None:
    """Insert validated records through the records service and commit them: the command is the unit of work."""
    from web.extensions import db
    from web.services import records as record_service

    def write(step: Callable[..., None]) -> None:
        shown = 0

        def progress(done: int, total: int) -> None:
            nonlocal shown
            step(done - shown)
            shown = done

        record_service.import_records(kind, records, actor=None, progress=progress)

    with_progress(f"importing {len(records)} {kind}", len(records), write)
    db.session.commit()


@click.command("import")
@click.argument("kind", type=KINDS)
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Validate only; write nothing.")
@with_appcontext
def import_command(kind: str, path: Path, dry_run: bool) -> None:
    """Import .xlsx, .csv or .json records, all or nothing."""
    from web.extensions import db
    from web.services.records import RecordError

    records, errors = validate_file(kind, path)
    if errors:
        refuse(errors, path)
    if dry_run:
        click.echo(f"{path}: {len(records)} {kind} valid; dry run, nothing written")
        return
    try:
        import_records(kind, records)
    except RecordError as error:
        refuse([str(error)], path)
    db.session.commit()
    click.echo(f"imported {len(records)} {kind} from {path}")


@click.command("export")
@click.argument("kind", type=click.Choice(["applications", "experts", "ranking", "sheets"]))
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--include-personal", is_flag=True, help="Include ID numbers, phones and e-mails.")
@click.option("--round", "round_name", default=None, help="ranking/sheets: the round (name or id).")
@with_appcontext
def export_command(kind: str, path: Path, include_personal: bool, round_name: str | None) -> None:
    """Export records to .xlsx, .csv or .json (the format import reads); a round's ranking
    (.xlsx/.csv/.json) or its score sheets for signature (.pdf)."""
    if kind in ("ranking", "sheets"):
        from web.commands.ranking import export_round

        export_round(kind, round_name, path)
        return
    from web.io import FORMATS, write_records
    from web.services import records as record_service

    if path.suffix.lower() not in FORMATS:
        raise click.BadParameter(_("give a path ending in one of %(suffixes)s.", suffixes=", ".join(FORMATS)),
                                 param_hint="PATH")
    exporter = record_service.export_applications if kind == "applications" else record_service.export_experts
    records = exporter(include_personal=include_personal)
    write_records(path, kind, records)
    click.echo(f"exported {len(records)} {kind} to {path}")


def round_application_refs(name: str) -> list[str]:
    """The refs of the applications in the round called ``name`` (or with that id)."""
    from sqlalchemy import or_, select

    from web.extensions import db
    from web.models import Round

    condition = Round.name == name
    if name.isdigit():
        condition = or_(condition, Round.id == int(name))
    round_ = db.session.scalar(select(Round).where(condition))
    if round_ is None:
        raise click.BadParameter(_("there is no round named “%(name)s”.", name=name), param_hint="--round")
    return [link.application.ref for link in round_.round_applications]


@click.command("check")
@click.option("--round", "round_name", default=None, help="Only the applications of this round (name or id).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@with_appcontext
def check_command(round_name: str | None, as_json: bool) -> None:
    """Print the formal-check flags of every application."""
    from web.services.formal_check import check_report
    from web.services.records import export_applications

    refs = round_application_refs(round_name) if round_name else None
    report = check_report(export_applications(refs=refs))
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=1))
        return
    for entry in report:
        click.echo(f"{entry['ref']} {entry['center_name']}: {len(entry['flags']) or 'OK'}")
        for flag in entry["flags"]:
            click.echo(f"  {flag['code']}: {flag['message']}")
    flagged = sum(1 for entry in report if entry["flags"])
    click.echo(f"{len(report)} applications, {flagged} with flags")


def load_demo(seed: int) -> list:
    """Validate and import the demo data set, build its rounds, give the seated experts passwords; return the
    login table's rows (web.demo.logins).

    The organizer's account comes first so the rounds' audit rows name it; the invitations create the experts'
    accounts, and five experts the selection round seated who still have sheets to score are featured.
    """
    from web.demo import validated_demo
    from web.demo.centers import load_demo_centers
    from web.demo.logins import give_passwords
    from web.demo.round import load_demo_round
    from web.extensions import db
    from web.models import Round
    from web.services.accounts import create_user

    click.echo(f"generating the demo data set (seed {seed}) …")
    demo = validated_demo(seed)
    import_records("experts", demo.experts)
    import_records("applications", demo.applications)
    click.echo(f"loaded {len(demo.applications)} applications and {len(demo.experts)} experts")
    staff = {username: create_user(username, username, DEMO_PASSWORD, actor=None)
             for username in ("admin", "organizer")}
    db.session.commit()
    demo_round = load_demo_round(seed=seed, actor=staff["organizer"], accounts=DEMO_EXPERT_ACCOUNTS)
    sheets = demo_round.sheets
    click.echo(f"selection round: {sheets['submitted']} sheets submitted, {sheets['draft']} drafts, "
               f"{sheets['not_started']} not started; outlier {demo_round.outlier[1]} on {demo_round.outlier[0]}; "
               f"{demo_round.recusal[1]} recused on {demo_round.recusal[0]}, replaced by {demo_round.recusal[2]}")
    click.echo(f"site inspection round (draft): the {demo_round.site_applications} best-scored applications")
    after = load_demo_centers(demo_round.round_id, seed=seed, actor=staff["organizer"])
    click.echo(f"centers listed: {', '.join(after.centers)}; three years of reports ({after.missing_year[0]} "
               f"missing {after.missing_year[1]}, {after.short_of_targets} short of its targets); annual round "
               f"{after.annual_sheets} sheets submitted; triennial round ready to score")
    rows = give_passwords(db.session.get(Round, demo_round.round_id), DEMO_PASSWORD, demo_round.account_experts)
    db.session.commit()
    return rows


@click.command("demo")
@click.option("--seed", type=int, default=None, help="Seed of the demo data set (default: the notice's date).")
@click.option("--no-serve", is_flag=True, help="Load the demo and exit.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=5000, show_default=True)
@with_appcontext
def demo_command(seed: int | None, no_serve: bool, host: str, port: int) -> None:
    """Create or upgrade the database, load the demo data set once, print the logins, serve."""
    from flask_migrate import upgrade

    from web.demo import DEFAULT_SEED
    from web.demo.logins import login_table
    from web.demo.round import SHOWN_ON
    from web.extensions import db
    from web.services.records import existing_refs
    from web.services.reference_data import seed_reference_data

    upgrade()
    seed_reference_data()
    if not current_app.config.get("PANEL_BASE_URL"):
        # The invitations' personal links must open this server.
        current_app.config["PANEL_BASE_URL"] = f"http://{host}:{port}"
    if not current_app.config.get("PANEL_TODAY"):
        # The demo's round is shown on a day inside it: a week before its deadline, nothing is overdue yet.
        current_app.config["PANEL_TODAY"] = SHOWN_ON.isoformat()
    present = existing_refs("applications")
    if present:
        click.echo(f"the database already holds {len(present)} applications: the demo data set is not loaded again "
                   f"(logins as printed when it was loaded; password {DEMO_PASSWORD!r} unless changed since)")
    else:
        rows = load_demo(DEFAULT_SEED if seed is None else seed)
        click.echo("\ndemo logins:")
        click.echo(login_table(rows))
    db.session.commit()
    if no_serve:
        return
    from web.serve import serve

    click.echo(_("serving on %(url)s (Ctrl+C to stop)", url=f"http://{host}:{port}/"))
    serve(current_app._get_current_object(), host, port)


data_commands = [template_command, import_command, export_command, check_command, demo_command]
"""The commands web/commands/__init__.py registers on the ``panel`` group."""
