"""Load benchmark: experts logging in, autosaving and submitting against a real server on 127.0.0.1.

Not a test and not timed by CI: it prints a table of what it measured, with the machine it ran on.

For each server (``panel serve``'s waitress, then gunicorn with ``gthread`` workers) on a fresh set of experts:

1. **logins**: the experts log in one after another, evenly spread over ``--login-window`` seconds (60 s: 200
   logins within a minute), each on a connection of its own that stays open, the form's CSRF token included:
   p50/p95 of one login, failures, and when the last one was in.
2. **closed-loop saves**: ``--clients`` experts save their sheet back to back for ``--seconds``: sheet saves
   per second the server sustains (each save is a real draft save: validation, scores, audit, commit).
3. **autosave pace**: every expert keeps one keep-alive connection open (a browser tab), autosaves every
   ``--interval`` seconds (20 s is the sheet page's pace; a smaller value compresses time), ``--saves`` times,
   then submits: p50/p95 of a save and of a submit, failures.

Two times per request: the **client's**, from sending the request to the last byte of its answer on 127.0.0.1
(the server's time plus the wait in its accept queue and in this generator's own threads, which share the
machine's cores with the server), and the **server's**, the app's own time from the ``Server-Timing`` header
the servers are started to send (PANEL_SERVER_TIMING=1, web/server_timing.py), with the processor time the
request's thread used. The targets are server times; on a machine shared with other work the server's time
includes waiting for a core, which the processor time does not.

The round is generated from the demo data set (60 applications, 420 experts): one seat, with the conflict
declaration done, per expert account. The database at ``--database-url`` is WIPED first: give it a throw-away
database. Run with the code to measure first on the path, e.g. ``PYTHONPATH=/path/to/checkout``.

    python benchmarks/load.py --database-url postgresql+psycopg://postgres@127.0.0.1:55502/panel_bench
"""

from __future__ import annotations

import argparse
import http.client
import os
import platform
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from urllib.parse import urlencode

# Run as a script, Python puts benchmarks/ first on the path, where matching.py would hide the matching package.
# The code measured is the checkout PYTHONPATH names, else this one.
HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]
sys.path.append(str(HERE.parent))

PASSWORD = "load-benchmark-42"
HEADER = "Server-Timing"
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
TIMEOUT = 120.0


# ---------------------------------------------------------------- the data

@dataclass(frozen=True)
class Seat:
    """An expert account and the seat whose sheet it scores."""

    username: str
    seat_id: int


@dataclass(frozen=True)
class Criterion:
    code: str
    max: float
    step: float


def prepare(database_url: str, instance: str, accounts: int) -> tuple[list[Seat], list[Criterion]]:
    """Wipe the database, migrate it, load the demo's records and seat ``accounts`` experts in a scoring round."""
    from flask_migrate import upgrade
    from sqlalchemy import select, text
    from werkzeug.security import generate_password_hash

    from web import create_app
    from web.demo import validated_demo
    from web.extensions import db
    from web.models import Application, Assignment, AssignmentVersion, Expert, ScoreSheet, User
    from web.services.records import import_applications, import_experts
    from web.services.reference_data import seed_reference_data
    from web.services.rounds import create_round

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "INSTANCE_PATH": instance})
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE"))
                connection.execute(text("CREATE SCHEMA public"))
        upgrade()
        seed_reference_data()
        demo = validated_demo()
        import_applications(demo.applications, actor=None)
        import_experts(demo.experts, actor=None)
        db.session.commit()
        applications = list(db.session.scalars(select(Application).order_by(Application.id)))
        experts = list(db.session.scalars(select(Expert).order_by(Expert.id)))[:accounts]
        if len(experts) < accounts:
            raise SystemExit(f"the demo has {len(experts)} experts, fewer than the {accounts} asked for")
        round_ = create_round("负载测试评审", "selection_review", as_of=date(2020, 10, 1),
                              application_refs=[row.ref for row in applications], actor=None)
        round_.state = "scoring"
        version = AssignmentVersion(round=round_, number=1, status="manual", active=True, settings={})
        password_hash = generate_password_hash(PASSWORD)        # one hash, made like every account's
        seats = []
        for number, expert in enumerate(experts):
            application = applications[number % len(applications)]
            seat = Assignment(version=version, application=application, expert=expert, pool=expert.pool,
                              fit=0.5, state="accepted")
            sheet = ScoreSheet(round=round_, application=application, expert=expert, state="draft",
                               confidence=1.0, conflict_declared=False)
            user = User(username=f"load{number:04d}", role="expert", expert=expert, password_hash=password_hash,
                        active=True, failed_logins=0)
            db.session.add_all([seat, sheet, user])
            seats.append((user.username, seat))
        db.session.commit()
        criteria = [Criterion(row.code, row.max, row.step) for row in round_.template.criteria]
        result = [Seat(username, seat.id) for username, seat in seats]
        db.engine.dispose()
    return result, criteria


# ---------------------------------------------------------------- one simulated browser

def duration(header: str | None, metric_name: str = "app") -> float | None:
    """Milliseconds of ``metric_name`` in a ``Server-Timing: app;dur=…, cpu;dur=…`` header (parsed here, not
    imported, so the benchmark also measures code older than the header: client times only)."""
    for metric in (header or "").split(","):
        name, *parameters = (part.strip() for part in metric.split(";"))
        if name == metric_name:
            for key, _, value in (parameter.partition("=") for parameter in parameters):
                if key == "dur":
                    return float(value)
    return None


@dataclass
class Timings:
    """Response times in seconds (at the client, and the server's own) and failures of one kind of request."""

    seconds: list[float] = field(default_factory=list)
    server_seconds: list[float] = field(default_factory=list)
    cpu_seconds: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, elapsed: float, failure: str | None, server: tuple[float, float] | None = None) -> None:
        with self.lock:
            if failure is None:
                self.seconds.append(elapsed)
                if server is not None:
                    self.server_seconds.append(server[0])
                    self.cpu_seconds.append(server[1])
            else:
                self.failures.append(failure)


class Browser:
    """One expert's browser: a keep-alive connection, the session cookie, a client address of its own."""

    def __init__(self, port: int, seat: Seat, address: str):
        self.port, self.seat = port, seat
        self.headers = {"X-Forwarded-For": address}          # one address per expert, as on a real network
        self.connection: http.client.HTTPConnection | None = None
        self.csrf = ""

    def request(self, method: str, path: str, form: dict | None = None
                ) -> tuple[int, str, float, tuple[float, float] | None]:
        """Send a request on the kept-alive connection (reopened when the server closed it): status, body, the
        client's seconds and the server's (its time and its thread's processor time; None when the answer carries
        no Server-Timing)."""
        body = urlencode(form) if form is not None else None
        headers = dict(self.headers)
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in (1, 2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
            started = time.perf_counter()
            try:
                self.connection.request(method, path, body, headers)
                response = self.connection.getresponse()
                text = response.read().decode("utf-8", "replace")
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()                                  # an idle connection the server timed out
                if attempt == 2:
                    raise
                continue
            elapsed = time.perf_counter() - started
            cookie = response.getheader("Set-Cookie")
            if cookie and cookie.startswith("session="):
                self.headers["Cookie"] = cookie.split(";", 1)[0]
            if response.getheader("Connection", "").lower() == "close":
                self.close()
            header = response.getheader(HEADER)
            server, cpu = duration(header), duration(header, "cpu")
            timing = None if server is None else (server / 1000, (cpu or 0.0) / 1000)
            return response.status, text, elapsed, timing
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def login(self, timings: Timings) -> bool:
        """GET the form, POST it; the POST's time is the login's time (it checks the password hash)."""
        try:
            _, page, _, _ = self.request("GET", "/login")
            token = CSRF.search(page).group(1)
            status, _, elapsed, server = self.request("POST", "/login", {
                "username": self.seat.username, "password": PASSWORD, "csrf_token": token})
        except (OSError, http.client.HTTPException, AttributeError) as error:
            timings.add(0, type(error).__name__)
            return False
        timings.add(elapsed, None if status == 302 else f"HTTP {status}", server)
        if status != 302:
            return False
        try:
            _, page, _, _ = self.request("GET", f"/expert/seats/{self.seat.seat_id}/sheet")
        except (OSError, http.client.HTTPException):
            return False
        match = CSRF.search(page)
        self.csrf = match.group(1) if match else ""
        return bool(match)

    def save(self, criteria: list[Criterion], timings: Timings, *, submit: bool = False) -> None:
        """Autosave (or submit) the sheet with fresh valid scores and the opinion."""
        form = {"csrf_token": self.csrf, "opinion": "recommend", "comment": "负载测试意见：技术路线清晰。"}
        for criterion in criteria:
            steps = int(criterion.max / criterion.step)
            form[f"score-{criterion.code}"] = f"{random.randint(steps // 2, steps) * criterion.step:g}"
        path = f"/expert/seats/{self.seat.seat_id}/sheet"
        if submit:
            form.update(action="submit", confirmed="yes")     # the confirmation step's answer: saves and locks
        else:
            path += "/autosave"
        try:
            status, _, elapsed, server = self.request("POST", path, form)
        except (OSError, http.client.HTTPException) as error:
            timings.add(0, type(error).__name__)
            return
        expected = 302 if submit else 200
        timings.add(elapsed, None if status == expected else f"HTTP {status}", server)


# ---------------------------------------------------------------- the three phases

def log_in_everyone(port: int, seats: list[Seat], window: float) -> tuple[list[Browser], Timings, float]:
    """The experts log in evenly spread over ``window`` seconds; the browsers that got in, the timings, and the
    time from the first login's start until the last one was answered."""
    timings = Timings()
    browsers = [Browser(port, seat, f"10.{number // 250}.{number % 250}.{1 + number % 200}")
                for number, seat in enumerate(seats)]
    gap = window / len(browsers)

    def log_in(number: int) -> bool:
        time.sleep(number * gap)
        return browsers[number].login(timings)

    started = time.perf_counter()
    with ThreadPoolExecutor(len(browsers)) as pool:
        logged_in = list(pool.map(log_in, range(len(browsers))))
    return [b for b, ok in zip(browsers, logged_in, strict=True) if ok], timings, time.perf_counter() - started


def closed_loop(browsers: list[Browser], criteria: list[Criterion], seconds: float) -> tuple[Timings, float]:
    """``browsers`` save back to back for ``seconds``; the timings and the wall time used."""
    timings = Timings()
    deadline = time.perf_counter() + seconds

    def run(browser: Browser) -> None:
        while time.perf_counter() < deadline:
            browser.save(criteria, timings)

    started = time.perf_counter()
    with ThreadPoolExecutor(len(browsers)) as pool:
        list(pool.map(run, browsers))
    return timings, time.perf_counter() - started


def autosave_pace(browsers: list[Browser], criteria: list[Criterion], interval: float,
                  saves: int) -> tuple[Timings, Timings]:
    """Each browser saves every ``interval`` s (starting at a random moment of the first interval), then submits."""
    save_timings, submit_timings = Timings(), Timings()

    def run(browser: Browser) -> None:
        time.sleep(random.uniform(0, interval))
        for number in range(saves):
            started = time.perf_counter()
            browser.save(criteria, save_timings)
            if number < saves - 1:
                time.sleep(max(0.0, interval - (time.perf_counter() - started)))
        browser.save(criteria, submit_timings, submit=True)
        browser.close()

    with ThreadPoolExecutor(len(browsers)) as pool:
        list(pool.map(run, browsers))
    return save_timings, submit_timings


# ---------------------------------------------------------------- servers

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_command(kind: str, port: int) -> list[str]:
    """The command that serves the app: ``panel serve`` or gunicorn (with Panel's config when the code has one)."""
    if kind == "waitress":
        return [sys.executable, "-c", "from web.cli import main; main()", "serve", "--port", str(port)]
    import importlib.util

    options = (["-c", "python:web.gunicorn_conf"] if importlib.util.find_spec("web.gunicorn_conf")
               else ["--worker-class", "gthread", "--workers", str(os.cpu_count() or 2), "--threads", "8"])
    return [sys.executable, "-m", "gunicorn", *options, "--bind", f"127.0.0.1:{port}",
            "--access-logfile", "/dev/null", "web:create_app()"]


def start_server(kind: str, environment: dict) -> tuple[subprocess.Popen, int]:
    """Start a server on a free port of 127.0.0.1 and wait until it answers."""
    port = free_port()
    # From the checkout being measured: `python -c` and `-m` put the working folder first on the path, ahead of
    # PYTHONPATH, so a server started elsewhere could serve another checkout's code.
    process = subprocess.Popen(server_command(kind, port), env=environment, cwd=checkout(), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/login")
            if connection.getresponse().status == 200:
                return process, port
        except OSError:
            time.sleep(0.3)
    stop_server(process)
    raise SystemExit(f"{kind} did not answer on port {port} within 60 s")


def stop_server(process: subprocess.Popen) -> None:
    """Stop the server and its workers (its own process group)."""
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


# ---------------------------------------------------------------- the report

def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def row(server: str, phase: str, timings: Timings, extra: str = "") -> str:
    """One line of the table: requests, failures, then server, server CPU and client p50/p95 in ms, the client's
    maximum."""
    ms = [value * 1000 for value in timings.seconds]
    server_ms = [value * 1000 for value in timings.server_seconds]
    cpu_ms = [value * 1000 for value in timings.cpu_seconds]
    if timings.failures:
        reasons = Counter(timings.failures).most_common(3)
        extra = "; ".join([extra, *(f"{count}× {reason}" for reason, count in reasons)]).lstrip("; ")
    return (f"| {server} | {phase} | {len(ms) + len(timings.failures)} | {len(timings.failures)} | "
            f"{median(server_ms):.1f} | {percentile(server_ms, 0.95):.1f} | {median(cpu_ms):.1f} | "
            f"{percentile(cpu_ms, 0.95):.1f} | {median(ms):.0f} | "
            f"{percentile(ms, 0.95):.0f} | {max(ms, default=float('nan')):.0f} | {extra} |")


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def machine() -> str:
    """What the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                 if line.startswith("model name")]
        cpu = names[0] if names else cpu
    load = " ".join(f"{value:.1f}" for value in os.getloadavg())
    return (f"{platform.system()} {platform.release()}, {cpu}, {os.cpu_count()} cores, load average {load}, "
            f"Python {platform.python_version()}")


def checkout() -> Path:
    """The folder holding the ``web`` package being measured."""
    import web

    return Path(web.__file__).resolve().parents[1]


def code_version() -> str:
    commit = subprocess.run(["git", "-C", str(checkout()), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    return f"{checkout()} at {commit or 'unknown commit'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="a throw-away database: it is wiped")
    parser.add_argument("--experts", type=int, default=200, help="expert accounts per server (default 200)")
    parser.add_argument("--login-window", type=float, default=60.0, help="seconds the logins are spread over")
    parser.add_argument("--interval", type=float, default=20.0, help="seconds between autosaves (default 20)")
    parser.add_argument("--saves", type=int, default=3, help="autosaves per expert before the submit")
    parser.add_argument("--clients", type=int, default=16, help="experts saving back to back (closed loop)")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the closed-loop phase")
    parser.add_argument("--servers", default="waitress,gunicorn", help="comma-separated: waitress, gunicorn")
    parser.add_argument("--instance", default=None, help="instance folder (default: a temporary one)")
    parser.add_argument("--seed", type=int, default=1)
    arguments = parser.parse_args()
    random.seed(arguments.seed)
    servers = [name.strip() for name in arguments.servers.split(",") if name.strip()]
    instance = arguments.instance or tempfile.mkdtemp(prefix="panel-load-")

    print(f"preparing {arguments.experts} × {len(servers)} expert accounts …", file=sys.stderr)
    seats, criteria = prepare(arguments.database_url, instance, arguments.experts * len(servers))
    environment = {**os.environ, "PANEL_DATABASE_URL": arguments.database_url, "PANEL_INSTANCE_PATH": instance,
                   "PANEL_PROXY_FIX": "1", "PANEL_SERVER_TIMING": "1"}
    lines = []
    throughput = {}
    for index, kind in enumerate(servers):
        group = seats[index * arguments.experts:(index + 1) * arguments.experts]
        print(f"{kind}: starting …", file=sys.stderr)
        process, port = start_server(kind, environment)
        try:
            browsers, login_timings, login_wall = log_in_everyone(port, group, arguments.login_window)
            lines.append(row(kind, f"{len(group)} logins over {arguments.login_window:g} s", login_timings,
                             f"last one in after {login_wall:.1f} s"))
            print(f"{kind}: {len(browsers)} logged in; closed loop …", file=sys.stderr)
            loop_timings, loop_wall = closed_loop(browsers[:arguments.clients], criteria, arguments.seconds)
            throughput[kind] = len(loop_timings.seconds) / loop_wall
            lines.append(row(kind, f"closed-loop save, {arguments.clients} clients", loop_timings,
                             f"{throughput[kind]:.1f} saves/s"))
            print(f"{kind}: autosave pace …", file=sys.stderr)
            saves, submits = autosave_pace(browsers, criteria, arguments.interval, arguments.saves)
            lines.append(row(kind, f"autosave every {arguments.interval:g} s", saves))
            lines.append(row(kind, "submit", submits))
        finally:
            stop_server(process)

    print(f"\nPanel load benchmark — {code_version()}")
    print(f"machine: {machine()}")
    print(f"database: {arguments.database_url.split('@')[-1]}; {arguments.experts} experts per server, "
          f"{arguments.saves} autosaves every {arguments.interval:g} s then a submit; times in ms: the server's "
          f"own and its thread's processor time (Server-Timing), and at the client on 127.0.0.1\n")
    print("| server | phase | requests | failed | server p50 | server p95 | CPU p50 | CPU p95 | client p50 | "
          "client p95 | client max | |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(lines))
    if len(throughput) == 2 and throughput.get("waitress"):
        print(f"\nclosed-loop throughput, gunicorn / waitress: {throughput['gunicorn'] / throughput['waitress']:.2f}")


if __name__ == "__main__":
    main()
