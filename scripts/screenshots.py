"""Regenerate the screenshots of the main pages (docs/screenshots/*.png) from the demo.

    python3 scripts/screenshots.py [--out docs/screenshots]

Loads the demo into a temporary instance exactly as ``panel demo --no-serve`` does, serves it from a thread on
127.0.0.1, and has Debian's Chromium (/usr/bin/chromium, driven by Playwright) log in as the organizer, the admin
and a demo expert and save one PNG per page (1280×900; the score sheet at phone width, 390 px). A page whose view
is not registered, or that does not answer 200, is reported and skipped; the exit status is 1 if any was.
"""
# ruff: noqa: TID251  (a script of the web application; ruff.toml exempts web/ and tests/ but not scripts/)

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from werkzeug.routing import BuildError
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from web import create_app  # noqa: E402
from web.commands.data import DEMO_PASSWORD  # noqa: E402
from web.extensions import db  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--lang=zh-CN"]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@dataclass(frozen=True)
class Shot:
    """One screenshot: file name, who looks, the view's endpoint and arguments, and how."""

    name: str
    account: str
    endpoint: str
    args: Callable[[dict], dict] = lambda ids: {}
    full_page: bool = False
    phone: bool = False


SHOTS = [
    Shot("01-applications", "organizer", "records.applications"),
    Shot("02-application-detail", "organizer", "records.application_detail",
         lambda ids: {"ref": ids["outlier_application_ref"]}),
    Shot("03-experts", "organizer", "records.experts"),
    Shot("04-rounds", "organizer", "rounds.index"),
    Shot("05-conflicts", "organizer", "rounds.conflicts", lambda ids: {"round_id": ids["round"]}),
    Shot("06-panel", "organizer", "rounds.panel",
         lambda ids: {"round_id": ids["round"], "application_id": ids["recusal_application"]}, full_page=True),
    Shot("07-progress", "organizer", "invitations.progress", lambda ids: {"round_id": ids["round"]}),
    Shot("08-ranking", "organizer", "rankings.round_ranking", lambda ids: {"round_id": ids["round"]}),
    Shot("09-trace", "organizer", "rankings.trace",
         lambda ids: {"round_id": ids["round"], "application_id": ids["outlier_application"]}, full_page=True),
    Shot("10-expert-assignments", "expert", "expert.index", full_page=True),
    # One phone screen: a full-page capture would paint the sticky total over the middle of the form.
    Shot("11-score-sheet-phone", "expert", "expert.sheet", lambda ids: {"seat_id": ids["expert_draft_seat"]},
         phone=True),
    Shot("12-outbox", "organizer", "invitations.outbox_page"),
    Shot("13-audit-log", "admin", "admin.audit"),
    Shot("14-center", "organizer", "centers.center_page", lambda ids: {"center_id": ids["center"]}, full_page=True),
    Shot("15-annual-evaluation", "organizer", "centers.evaluation", lambda ids: {"round_id": ids["annual_round"]}),
    Shot("16-decisions", "organizer", "centers.decisions"),
    Shot("17-triennial-assessment", "organizer", "centers.evaluation",
         lambda ids: {"round_id": ids["triennial_round"]}),
    Shot("18-upload", "organizer", "records.upload", lambda ids: {"kind": "applications"}),
    Shot("19-score-sheet-desk", "expert", "expert.sheet", lambda ids: {"seat_id": ids["expert_draft_seat"]}),
]


def load_demo(app) -> dict:
    """Run ``panel demo --no-serve`` on the app; return the ids the page URLs need."""
    result = app.test_cli_runner().invoke(args=["demo", "--no-serve"])
    if result.exit_code != 0:
        raise SystemExit(f"panel demo failed:\n{result.output}")
    outlier = re.search(r"outlier (\S+) on (\S+);", result.output).group(2)
    recusal = re.search(r"recused on (\S+),", result.output).group(1)
    with app.app_context():
        return demo_ids(outlier, recusal)


def demo_ids(outlier_ref: str, recusal_ref: str) -> dict:
    """Round and application ids of the demo's planted cases, and the busiest demo expert with a draft sheet."""
    from web.demo.centers import ANNUAL_NAME, TRIENNIAL_NAME
    from web.demo.round import SELECTION_NAME
    from web.models import Application, Center, Round, User
    from web.services import panels, sheets

    round_ = db.session.scalar(select(Round).where(Round.name == SELECTION_NAME))
    applications = {a.ref: a.id for a in db.session.scalars(select(Application))}
    accounts = {user.expert_id: user.username
                for user in db.session.scalars(select(User).where(User.role == "expert").order_by(User.username))}
    seats = [seat for seat in panels.seats(round_) if seat.expert_id in accounts]
    load = {expert_id: sum(1 for seat in seats if seat.expert_id == expert_id) for expert_id in accounts}
    drafts = sorted((seat for seat in seats if sheets.sheet_status(sheets.seat_sheet(seat)) == "draft"),
                    key=lambda seat: (-load[seat.expert_id], seat.id))
    if not drafts:
        raise SystemExit("no demo expert account has a draft sheet to show")
    return {"round": round_.id, "outlier_application": applications[outlier_ref],
            "outlier_application_ref": outlier_ref, "recusal_application": applications[recusal_ref],
            "expert": accounts[drafts[0].expert_id], "expert_draft_seat": drafts[0].id,
            "center": db.session.scalar(select(Center.id).order_by(Center.id)),
            "annual_round": db.session.scalar(select(Round.id).where(Round.name == ANNUAL_NAME)),
            "triennial_round": db.session.scalar(select(Round.id).where(Round.name == TRIENNIAL_NAME))}


def resolve(app, shot: Shot, ids: dict) -> str | None:
    """The path of the shot's page, or None when its view is not registered."""
    from flask import url_for

    with app.test_request_context():
        try:
            return url_for(shot.endpoint, **shot.args(ids))
        except BuildError:
            return None


def login(page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    with page.expect_navigation():
        page.click("form [type=submit]")
    if "/login" in page.url:
        raise SystemExit(f"could not log in as {username}")


def take(browser, app, base: str, ids: dict, out: Path) -> list[str]:
    """Save every shot; return the problems (unregistered views, pages not answering 200)."""
    problems, pages = [], {}
    for shot in SHOTS:
        path = resolve(app, shot, ids)
        if path is None:
            problems.append(f"{shot.name}: no view {shot.endpoint}")
            continue
        account = ids["expert"] if shot.account == "expert" else shot.account
        key = (account, shot.phone)
        if key not in pages:
            context = browser.new_context(locale="zh-CN", viewport=PHONE if shot.phone else DESKTOP)
            pages[key] = context.new_page()
            login(pages[key], base, account)
        page = pages[key]
        response = page.goto(base + path)
        page.wait_for_load_state("networkidle")
        if response is None or response.status != 200:
            problems.append(f"{shot.name}: {path} answered {response.status if response else 'nothing'}")
            continue
        target = out / f"{shot.name}.png"
        page.screenshot(path=str(target), full_page=shot.full_page)
        print(f"{target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}  {path}  "
              f"{target.stat().st_size // 1024} KiB")
    for page in pages.values():
        page.context.close()
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="panel-screenshots-") as instance:
        app = create_app({"INSTANCE_PATH": instance,
                          "SQLALCHEMY_DATABASE_URI": f"sqlite:///{Path(instance) / 'panel.sqlite3'}"})
        ids = load_demo(app)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                problems = take(browser, app, f"http://127.0.0.1:{server.server_port}", ids, args.out)
                browser.close()
        finally:
            server.shutdown()
            with app.app_context():
                db.engine.dispose()
    total = sum(path.stat().st_size for path in args.out.glob("*.png"))
    print(f"{len(SHOTS) - len(problems)} screenshots, {total / 1024 / 1024:.2f} MiB in {args.out}")
    for problem in problems:
        print(f"skipped {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
