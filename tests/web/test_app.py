"""The application factory, its configuration from the environment, and the CLI commands of this layer."""

from __future__ import annotations

import os
import stat
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from web import create_app
from web.cli import build_cli
from web.extensions import db
from web.models import AuditEvent, Field, Round, ScoreTemplate, Sector, User


def test_test_config_overrides_the_defaults(app):
    assert app.testing
    assert not create_app({"INSTANCE_PATH": app.instance_path}).testing


def test_defaults_use_the_instance_folder_and_generate_a_private_secret_key(tmp_path, monkeypatch):
    for name in ("PANEL_DATABASE_URL", "PANEL_SECRET_KEY", "PANEL_INSTANCE_PATH"):
        monkeypatch.delenv(name, raising=False)
    app = create_app({"INSTANCE_PATH": str(tmp_path / "inst")})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'inst' / 'panel.sqlite3'}"
    key_file = tmp_path / "inst" / "secret_key"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert app.config["SECRET_KEY"] == key_file.read_text()
    assert len(app.config["SECRET_KEY"]) == 64
    again = create_app({"INSTANCE_PATH": str(tmp_path / "inst")})
    assert again.config["SECRET_KEY"] == app.config["SECRET_KEY"]


def test_environment_variables_configure_the_app(tmp_path, monkeypatch):
    monkeypatch.setenv("PANEL_INSTANCE_PATH", str(tmp_path / "env-inst"))
    monkeypatch.setenv("PANEL_DATABASE_URL", "sqlite:////tmp/elsewhere.sqlite3")
    monkeypatch.setenv("PANEL_SECRET_KEY", "from-the-environment")
    app = create_app()
    assert app.instance_path == str(tmp_path / "env-inst")
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "sqlite:////tmp/elsewhere.sqlite3"
    assert app.config["SECRET_KEY"] == "from-the-environment"
    assert not (tmp_path / "env-inst" / "secret_key").exists()


def test_sessions_last_a_working_day_and_csrf_tokens_do_not_expire(app):
    assert app.config["PERMANENT_SESSION_LIFETIME"] == timedelta(hours=8)
    assert app.config["WTF_CSRF_TIME_LIMIT"] is None
    assert app.config["SESSION_COOKIE_HTTPONLY"] and app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_reference_data_is_loaded(app):
    with app.app_context():
        assert db.session.scalar(select(func.count(Sector.id))) == 5
        assert db.session.scalar(select(func.count(Field.id))) == 18
        kinds = db.session.scalars(select(ScoreTemplate.kind).where(ScoreTemplate.is_default)).all()
        assert sorted(kinds) == ["annual", "selection_review", "site_inspection", "triennial"]
        review = db.session.scalar(select(ScoreTemplate).where(ScoreTemplate.kind == "selection_review"))
        assert review.total == 100 and len(review.criteria) == 9


def test_panel_group_has_every_command(app, monkeypatch):
    from click.testing import CliRunner

    monkeypatch.setenv("PANEL_INSTANCE_PATH", app.instance_path)
    result = CliRunner().invoke(build_cli(), ["--help"])
    assert result.exit_code == 0, result.output
    for command in ("init", "serve", "users", "rounds", "template", "import", "export", "check", "demo", "db"):
        assert f"\n  {command} " in result.output, command


def test_init_is_idempotent(runner):
    result = runner.invoke(args=["init"])
    assert result.exit_code == 0, result.output
    assert "added 0 sectors, 0 fields, 0 templates" in result.output


def test_users_create_reads_the_password_from_stdin_and_audits(app, runner):
    result = runner.invoke(args=["users", "create", "--role", "organizer", "--username", "olga", "--password-stdin"],
                           input="a long passphrase\n")
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "olga"))
        assert user.role == "organizer" and user.check_password("a long passphrase")
        assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.entity_id == str(user.id))) == "user.create"


def test_users_create_prompts_twice_without_password_stdin(app, runner):
    result = runner.invoke(args=["users", "create", "--role", "admin", "--username", "ada"],
                           input="a long passphrase\na long passphrase\n")
    assert result.exit_code == 0, result.output
    mismatch = runner.invoke(args=["users", "create", "--role", "admin", "--username", "bob"],
                             input="a long passphrase\nanother one\n")
    assert mismatch.exit_code != 0


def test_users_create_refuses_bad_accounts_with_status_1(app, runner, table_counts, make_expert_record):
    make_user_args = ["users", "create", "--password-stdin"]
    before = table_counts()
    cases = [
        (["--role", "expert", "--username", "e1"], "e1：专家账号须填写专家编号。"),
        (["--role", "expert", "--username", "e1", "--expert", "EXP-404"], "没有编号为“EXP-404”的专家。"),
        (["--role", "organizer", "--username", "o1", "--expert", "EXP-001"], "只有专家账号才关联专家。"),
    ]
    for args, message in cases:
        result = runner.invoke(args=make_user_args + args, input="a long passphrase\n")
        assert result.exit_code == 1 and message in result.output, result.output
    short = runner.invoke(args=make_user_args + ["--role", "admin", "--username", "a1"], input="short\n")
    assert short.exit_code == 1 and "密码至少需要 10 个字符" in short.output
    assert table_counts() == before
    usage = runner.invoke(args=make_user_args + ["--role", "boss", "--username", "x"], input="a long passphrase\n")
    assert usage.exit_code == 2


def test_expert_accounts_link_to_their_expert_once(app, runner, make_expert_record):
    from web.services.records import import_experts

    with app.app_context():
        import_experts([make_expert_record()], actor=None)
        db.session.commit()
    args = ["users", "create", "--role", "expert", "--expert", "EXP-001", "--password-stdin"]
    assert runner.invoke(args=[*args, "--username", "zhou"], input="a long passphrase\n").exit_code == 0
    again = runner.invoke(args=[*args, "--username", "zhou2"], input="a long passphrase\n")
    assert again.exit_code == 1 and "zhou2：专家 EXP-001 已有账号。" in again.output


def test_rounds_create_copies_the_default_template(app, runner, make_application_record):
    from web.services.records import import_applications

    with app.app_context():
        import_applications([make_application_record("A1"), make_application_record("A2")], actor=None)
        db.session.commit()
    result = runner.invoke(args=["rounds", "create", "--name", "2020 遴选", "--kind", "selection_review",
                                 "--applications", "A2,A1", "--as-of", "2020-10-01"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        round_ = db.session.scalar(select(Round))
        assert [application.ref for application in round_.applications] == ["A2", "A1"]
        assert round_.as_of.isoformat() == "2020-10-01" and round_.state == "draft"
        default = db.session.scalar(select(ScoreTemplate).where(ScoreTemplate.kind == "selection_review",
                                                                ScoreTemplate.is_default))
        assert round_.template.id != default.id and round_.template.copied_from_id == default.id
        assert [c.code for c in round_.template.criteria] == [c.code for c in default.criteria]
        round_.template.criteria[0].max = 15  # editing the round's copy leaves the default alone
        db.session.commit()
        db.session.refresh(default)
        assert default.criteria[0].max == 10


def test_rounds_create_refuses_unknown_applications(runner, table_counts):
    before = table_counts()
    result = runner.invoke(args=["rounds", "create", "--name", "R", "--kind", "annual", "--applications", "NOPE"])
    assert result.exit_code == 1 and "没有编号为 NOPE 的申报书" in result.output
    assert table_counts() == before


def test_serve_hands_the_app_to_waitress(app, runner, monkeypatch):
    calls = []

    def create_server(wsgi, **options):
        calls.append((wsgi, options))
        adj = SimpleNamespace(asyncore_loop_timeout=1, asyncore_use_poll=True)
        return SimpleNamespace(print_listen=lambda line: None, adj=adj)      # its map is empty: serves nothing, returns

    monkeypatch.setattr("waitress.create_server", create_server)
    result = runner.invoke(args=["serve", "--host", "0.0.0.0", "--port", "5123"])
    assert result.exit_code == 0, result.output
    [(wsgi, options)] = calls
    assert wsgi is app and options["host"] == "0.0.0.0" and options["port"] == 5123


def test_the_chinese_catalog_translates_every_message_and_is_compiled():
    from pathlib import Path

    from babel.messages.mofile import read_mo
    from babel.messages.pofile import read_po

    folder = Path(__file__).resolve().parents[2] / "web" / "translations" / "zh_Hans_CN" / "LC_MESSAGES"
    with open(folder / "messages.po", "rb") as handle:
        source = read_po(handle)
    with open(folder / "messages.mo", "rb") as handle:
        compiled = read_mo(handle)
    def plain(value):
        return tuple(value) if isinstance(value, list | tuple) else value

    untranslated = [message.id for message in source
                    if message.id and not (all(message.string) if isinstance(message.string, tuple) else message.string)]
    assert untranslated == []
    assert ({plain(m.id): plain(m.string) for m in source if m.id}
            == {plain(m.id): plain(m.string) for m in compiled if m.id})


@pytest.mark.app_config(WTF_CSRF_ENABLED=False)
def test_a_test_can_turn_csrf_off_with_the_app_config_marker(app, client, make_user):
    make_user("alice", "organizer")
    response = client.post("/login", data={"username": "alice", "password": "correct horse 42"})
    assert response.status_code == 302 and app.config["WTF_CSRF_ENABLED"] is False
