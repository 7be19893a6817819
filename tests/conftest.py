"""Fixtures in the flaskr style: app, client, runner, an admin and a logged-in client."""

from __future__ import annotations

import os
import socket
import uuid

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from flask.testing import FlaskClient

from hub import create_app
from hub.config import VARIABLES
from hub.extensions import db
from hub.models import User

ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "correct horse battery"
TEST_KEY = Fernet.generate_key().decode()


def service_url(variable: str) -> str:
    """The URL of a real server the test needs; skipped without it, except on CI where it must be set."""
    url = os.environ.get(variable)
    if not url:
        if os.environ.get("CI"):
            pytest.fail(f"{variable} is not set on CI: .ci/run must export it")
        pytest.skip(f"{variable} is not set")
    return url


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch, tmp_path):
    """Tests never read the developer's HUB_* settings, and each gets its own instance folder."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HUB_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("HUB_LANGUAGE", "en")


@pytest.fixture
def dns(monkeypatch):
    """Host names resolved from this dict (name → addresses) instead of the network; others do not resolve."""
    names: dict[str, list[str]] = {}

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in names:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        family = {True: socket.AF_INET6, False: socket.AF_INET}
        return [(family[":" in a], socket.SOCK_STREAM, 6, "", (a, port)) for a in names[host]]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return names


class EnglishClient(FlaskClient):
    """A test client whose browser asks for English, so assertions read the source messages."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"


class ThrowawayDatabases:
    """Fresh PostgreSQL databases on the server of HUB_TEST_DATABASE_URL, dropped when the test ends."""

    def __init__(self):
        self.names: list[str] = []
        self.apps: list = []

    def create(self) -> str:
        base = sa.make_url(service_url("HUB_TEST_DATABASE_URL"))
        name = f"hub_test_{uuid.uuid4().hex[:12]}"
        with _admin_engine(base).connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        self.names.append(name)
        return base.set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        for app in self.apps:
            with app.app_context():
                db.engine.dispose()
        if self.names:
            base = sa.make_url(os.environ["HUB_TEST_DATABASE_URL"])
            with _admin_engine(base).connect() as connection:
                for name in self.names:
                    connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.names.clear()
        self.apps.clear()


_ADMIN_ENGINES: dict = {}
_THROWAWAY = ThrowawayDatabases()


def _admin_engine(base):
    key = base.render_as_string(hide_password=False)
    if key not in _ADMIN_ENGINES:
        _ADMIN_ENGINES[key] = sa.create_engine(
            base.set(database="postgres"), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool
        )
    return _ADMIN_ENGINES[key]


def suite_on_postgres() -> bool:
    """`HUB_TEST_SUITE_ON_POSTGRES=1` runs every app of the suite on its own PostgreSQL database."""
    return os.environ.get("HUB_TEST_SUITE_ON_POSTGRES", "") not in ("", "0")


@pytest.fixture(autouse=True)
def _drop_throwaway_databases():
    yield
    _THROWAWAY.drop_all()


@pytest.fixture
def postgres_url():
    """A throwaway database on the PostgreSQL server named by HUB_TEST_DATABASE_URL."""
    return _THROWAWAY.create()


def make_app(tmp_path, **overrides):
    tmp_path.mkdir(parents=True, exist_ok=True)
    default_database = (
        _THROWAWAY.create()
        if suite_on_postgres() and "SQLALCHEMY_DATABASE_URI" not in overrides
        else f"sqlite:///{tmp_path / 'hub.sqlite3'}"
    )
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "HUB_ENCRYPTION_KEYS": [TEST_KEY],
        "SQLALCHEMY_DATABASE_URI": default_database,
        "WTF_CSRF_ENABLED": False,
        "HUB_QUEUE_IMMEDIATE": True,  # Huey runs tasks inline; tests of a real consumer turn it off
    }
    config.update(overrides)
    plugins = config.pop("plugins", ())
    app = create_app(config, plugins=plugins)
    app.test_client_class = EnglishClient
    _THROWAWAY.apps.append(app)
    with app.app_context():
        db.create_all()
    return app


@pytest.fixture
def app(tmp_path):
    app = make_app(tmp_path)
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def create_test_admin(app, email=ADMIN_EMAIL, password=ADMIN_PASSWORD) -> int:
    with app.app_context():
        user = User(email=email)
        user.set_password(password)
        db.session.add(user)
        db.session.commit()
        return user.id


@pytest.fixture
def admin_factory():
    return create_test_admin


@pytest.fixture
def admin(app):
    return create_test_admin(app)


class AuthActions:
    def __init__(self, client):
        self._client = client

    def login(self, email=ADMIN_EMAIL, password=ADMIN_PASSWORD, **kwargs):
        return self._client.post("/login", data={"email": email, "password": password}, **kwargs)

    def logout(self):
        return self._client.post("/logout")


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def logged_in(client, auth, admin):
    """A client with an admin session."""
    response = auth.login()
    assert response.status_code == 302, response.get_data(as_text=True)
    return client
