"""Configuration from the environment: PANEL_DATABASE_URL, PANEL_SECRET_KEY, PANEL_INSTANCE_PATH, the serving
settings PANEL_COOKIE_SECURE, PANEL_PROXY_FIX, PANEL_RATELIMIT_STORAGE (docs/deploy.md) and PANEL_SERVER_TIMING
(docs/performance.md), and the job settings PANEL_QUEUE, PANEL_FILE_STORE, PANEL_MATCHING_INLINE_PAIRS
(docs/jobs.md), PANEL_MATCHING_MEMORY (docs/scale.md, "Memory") and PANEL_RANKING_MEMORY (docs/scale.md,
"Ranking's limit")."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

from matching.memory import environment_limit

SECRET_KEY_FILE = "secret_key"
DATABASE_FILE = "panel.sqlite3"


def instance_path_from_env() -> str | None:
    """The instance folder named by PANEL_INSTANCE_PATH, made absolute, or None for Flask's default."""
    path = os.environ.get("PANEL_INSTANCE_PATH")
    return str(Path(path).resolve()) if path else None


def stored_secret_key(instance_path: str) -> str:
    """The secret key kept in the instance folder, generated (mode 0600) on first use."""
    path = Path(instance_path) / SECRET_KEY_FILE
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    key = secrets.token_hex(32)
    # O_EXCL: two processes starting at once must not overwrite each other's key.
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(key)
    return key


def default_config(instance_path: str) -> dict:
    """The settings of a production app, read from the environment with instance-folder defaults."""
    database_url = os.environ.get("PANEL_DATABASE_URL") or f"sqlite:///{Path(instance_path) / DATABASE_FILE}"
    return {
        "SECRET_KEY": os.environ.get("PANEL_SECRET_KEY") or None,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "ATTACHMENT_FOLDER": str(Path(instance_path) / "attachments"),
        # An expert filling a long sheet must not be logged out or lose the form's CSRF token.
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=8),
        "WTF_CSRF_TIME_LIMIT": None,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # Behind HTTPS set PANEL_COOKIE_SECURE=1; plain-HTTP intranet and demo installs need it off.
        "SESSION_COOKIE_SECURE": os.environ.get("PANEL_COOKIE_SECURE") == "1",
        "REMEMBER_COOKIE_SECURE": os.environ.get("PANEL_COOKIE_SECURE") == "1",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "BABEL_DEFAULT_LOCALE": "zh_Hans_CN",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
        # Requests and imports cost no more than a refusal (docs/import.md, Limits).
        "MAX_CONTENT_LENGTH": int(os.environ.get("PANEL_MAX_CONTENT_LENGTH") or 50 * 1024 * 1024),
        # A JSON body that is not an import (a sheet, a report, a decision) is a few KiB; past this it is a 413
        # before it is parsed (a 30 MiB list took 15 s and 600 MB to parse and walk).
        "MAX_JSON_LENGTH": int(os.environ.get("PANEL_MAX_JSON_LENGTH") or 1024 * 1024),
        "IMPORT_MAX_ROWS": int(os.environ.get("PANEL_IMPORT_MAX_ROWS") or 20_000),
        "IMPORT_MAX_BYTES": int(os.environ.get("PANEL_IMPORT_MAX_BYTES") or 20 * 1024 * 1024),
        "IMPORT_MAX_UNCOMPRESSED": int(os.environ.get("PANEL_IMPORT_MAX_UNCOMPRESSED") or 256 * 1024 * 1024),
        "IMPORT_MAX_ERRORS": int(os.environ.get("PANEL_IMPORT_MAX_ERRORS") or 1_000),
        "LOGIN_MAX_FAILURES": 5,
        "LOGIN_LOCK_MINUTES": 15,
        # A Server-Timing header with the app's time on every response, for load benchmarks (web/server_timing.py).
        "SERVER_TIMING": os.environ.get("PANEL_SERVER_TIMING", "").strip().lower() in ("1", "true", "yes", "on"),
        # Behind a reverse proxy: how many proxies set X-Forwarded-For/-Proto/-Host (0: trust none).
        "PROXY_FIX": int(os.environ.get("PANEL_PROXY_FIX") or 0),
        # Per-client request limits (Flask-Limiter). One process keeps counts in memory; several processes
        # (gunicorn workers, two servers) must share a store, e.g. PANEL_RATELIMIT_STORAGE=redis://127.0.0.1:6379/1.
        "RATELIMIT_STORAGE_URI": os.environ.get("PANEL_RATELIMIT_STORAGE") or "memory://",
        "RATELIMIT_HEADERS_ENABLED": True,
        # A shared store that goes away must not take logins down: count in memory until it is back.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
        "RATELIMIT_LOGIN": os.environ.get("PANEL_RATELIMIT_LOGIN") or "20 per minute",
        "RATELIMIT_API_FAILURES": os.environ.get("PANEL_RATELIMIT_API_FAILURES") or "20 per minute",
        "RATELIMIT_EXPENSIVE": os.environ.get("PANEL_RATELIMIT_EXPENSIVE") or "30 per minute",
        # Slow work (docs/jobs.md): the queue, and the folder every web process and worker reads results from.
        "PANEL_QUEUE": os.environ.get("PANEL_QUEUE") or "sqlite",
        "PANEL_FILE_STORE": os.environ.get("PANEL_FILE_STORE") or str(Path(instance_path) / "files"),
        # Matching runs up to this many expert-application pairs answer inline (estimated under 2 s); larger
        # ones, meeting mode and the fair objective are jobs (0: every run is a job).
        "PANEL_MATCHING_INLINE_PAIRS": int(os.environ.get("PANEL_MATCHING_INLINE_PAIRS") or 10_000),
        # Most memory a matching run may take (8G, 8000M, bytes; unset: no limit): a round whose estimated peak
        # passes it is refused before it is loaded (a job, a run answered in the request, panel match), instead of
        # the process being killed mid-run.
        "PANEL_MATCHING_MEMORY": environment_limit(os.environ),
        # Most memory a ranking may take (its list of conflicts; unset: PANEL_MATCHING_MEMORY): the limit of the
        # general queue's workers, which run the ranking jobs. Set the same on the web servers, so a page refuses at
        # once a round those workers would refuse rather than asking them for a job bound to fail.
        "PANEL_RANKING_MEMORY": environment_limit(os.environ, "PANEL_RANKING_MEMORY"),
        # A worker's claim on a batch of outgoing mail; after it, the batch belongs to a worker that died.
        "OUTBOX_CLAIM_LEASE_SECONDS": int(os.environ.get("PANEL_OUTBOX_LEASE_SECONDS") or 300),
    }
