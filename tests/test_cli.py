"""The console script's commands, run as a user would run them."""
import sqlite3

from click.testing import CliRunner

from plugin.cli import main


def test_migrate_creates_the_schema(tmp_path, monkeypatch):
    db = tmp_path / "cli.sqlite3"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{db}")
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
    result = CliRunner().invoke(main, ["migrate"])
    assert result.exit_code == 0, result.output
    tables = {r[0] for r in sqlite3.connect(db).execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"shops", "backorders", "webhook_events", "job_runs", "alembic_version"} <= tables
    # Running it again is a no-op, not an error.
    assert CliRunner().invoke(main, ["migrate"]).exit_code == 0


def test_a_bad_setting_stops_with_the_variable_named(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "mysql://nope")
    result = CliRunner().invoke(main, ["migrate"])
    assert result.exit_code != 0
    assert "DATABASE_URL" in result.output


def test_demo_order_explains_when_the_app_is_not_running(tmp_path, monkeypatch):
    monkeypatch.setenv("APP_URL", "http://127.0.0.1:9")  # discard port: nothing listens
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
    result = CliRunner().invoke(main, ["demo", "order", "--sku", "DESK-OAK", "--qty", "3"])
    assert result.exit_code != 0
    assert "make run" in result.output
