"""Configuration from the environment, with generated keys for the embedded default."""

from __future__ import annotations

import logging
import os
import re
import stat
from datetime import timedelta

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from hub.app import create_app
from hub.config import ConfigError, normalize_database_url
from hub.extensions import db


def test_defaults_use_sqlite_and_generate_keys_once(tmp_path, caplog):
    caplog.set_level(logging.WARNING)
    app = create_app()
    instance = tmp_path / "instance"
    assert app.instance_path == str(instance)
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{instance / 'hub.sqlite3'}"
    assert app.config["HUB_TIMEZONE"] == "Asia/Tokyo"
    assert app.permanent_session_lifetime == timedelta(hours=12)
    assert app.config["HUB_TRUSTED_PROXIES"] == 0
    for name in ("secret_key", "encryption_keys"):
        path = instance / name
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "production should set HUB_SECRET_KEY" in caplog.text
    assert "production should set HUB_ENCRYPTION_KEYS" in caplog.text
    Fernet(app.config["HUB_ENCRYPTION_KEYS"][0])

    caplog.clear()
    again = create_app()
    assert again.config["SECRET_KEY"] == app.config["SECRET_KEY"]
    assert again.config["HUB_ENCRYPTION_KEYS"] == app.config["HUB_ENCRYPTION_KEYS"]
    assert "Generated" not in caplog.text


def test_environment_variables_win(tmp_path, monkeypatch):
    keys = [Fernet.generate_key().decode() for _ in range(2)]
    monkeypatch.setenv("HUB_SECRET_KEY", "from-env")
    monkeypatch.setenv("HUB_ENCRYPTION_KEYS", ",".join(keys))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'other.db'}")
    monkeypatch.setenv("HUB_TIMEZONE", "Asia/Seoul")
    monkeypatch.setenv("HUB_SESSION_IDLE_HOURS", "2")
    monkeypatch.setenv("HUB_TRUSTED_PROXIES", "2")
    app = create_app()
    assert app.config["SECRET_KEY"] == "from-env"
    assert app.config["HUB_ENCRYPTION_KEYS"] == keys
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("other.db")
    assert app.config["HUB_TIMEZONE"] == "Asia/Seoul"
    assert app.permanent_session_lifetime == timedelta(hours=2)
    assert app.config["HUB_TRUSTED_PROXIES"] == 2
    assert not (tmp_path / "instance" / "secret_key").exists()


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("HUB_ENCRYPTION_KEYS", "not-a-key", "HUB_ENCRYPTION_KEYS: key 1 is not a Fernet key"),
        ("HUB_TIMEZONE", "Tokyo/Nowhere", "HUB_TIMEZONE: unknown time zone"),
        ("HUB_SESSION_IDLE_HOURS", "0", "HUB_SESSION_IDLE_HOURS: expected a whole number of at least 1"),
        ("HUB_SESSION_IDLE_HOURS", "half a day", "HUB_SESSION_IDLE_HOURS: expected a whole number"),
        ("HUB_TRUSTED_PROXIES", "-1", "HUB_TRUSTED_PROXIES: expected a whole number of at least 0"),
    ],
)
def test_bad_values_stop_start_up_with_the_variable_named(monkeypatch, variable, value, message):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=message):
        create_app()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
    ],
)
def test_database_url_uses_psycopg3(url, expected):
    assert normalize_database_url(url) == expected


def test_wsgi_entry_point_builds_the_app_from_the_environment(tmp_path, monkeypatch):
    import importlib
    import sys

    monkeypatch.setenv("HUB_TIMEZONE", "Asia/Seoul")
    monkeypatch.delitem(sys.modules, "hub.wsgi", raising=False)
    wsgi = importlib.import_module("hub.wsgi")
    assert wsgi.app.config["HUB_TIMEZONE"] == "Asia/Seoul"
    from flask_migrate import upgrade

    with wsgi.app.app_context():
        upgrade()
    assert wsgi.app.test_client().get("/login").status_code == 200


@pytest.fixture
def world_readable_umask():
    """The common umask 022, under which SQLite on its own creates files 0644."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_the_sqlite_database_is_created_private(tmp_path, world_readable_umask):
    app = create_app()
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    instance = tmp_path / "instance"
    files = [instance / name for name in ("hub.sqlite3", "hub.sqlite3-wal", "hub.sqlite3-shm", "huey.sqlite3")]
    assert files[0].exists() and files[-1].exists()
    assert {path.name: oct(stat.S_IMODE(path.stat().st_mode)) for path in files if path.exists()} == {
        path.name: "0o600" for path in files if path.exists()
    }
    with app.app_context():
        db.engine.dispose()


def test_a_relative_sqlite_path_is_created_private_in_the_instance_folder(tmp_path, monkeypatch, world_readable_umask):
    monkeypatch.setenv("DATABASE_URL", "sqlite:///relative.sqlite3")
    app = create_app()
    with app.app_context():
        db.session.execute(sa.text("SELECT 1"))
        db.session.remove()
        db.engine.dispose()
    assert stat.S_IMODE((tmp_path / "instance" / "relative.sqlite3").stat().st_mode) == 0o600


def test_an_existing_world_readable_database_is_reported(tmp_path, caplog):
    database = tmp_path / "instance" / "hub.sqlite3"
    database.parent.mkdir()
    database.touch(mode=0o644)
    database.chmod(0o644)
    caplog.set_level(logging.WARNING)
    create_app()
    assert "hub.sqlite3 is readable by other users" in caplog.text


def test_every_variable_the_hub_reads_is_listed_once():
    """hub.config.VARIABLES is what tests and benches clear: a variable read anywhere must be in it."""
    from pathlib import Path

    from hub.config import VARIABLES

    pattern = re.compile(r'(?:environ\.get|env\.get|whole_number\(env,)\s*\(?\s*"([A-Z_]+)"')
    hub_dir = Path(__file__).resolve().parents[1] / "hub"
    found = {name for path in hub_dir.rglob("*.py") for name in pattern.findall(path.read_text("utf-8"))}
    read = {name for name in found if name.startswith("HUB_") or name == "DATABASE_URL"}  # not LANG: the system's
    assert read == set(VARIABLES) and len(VARIABLES) == len(set(VARIABLES))
