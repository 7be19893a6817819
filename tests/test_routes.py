"""Meta-tests over every route: login is required and CSRF is enforced everywhere."""

from __future__ import annotations

import re

import pytest
from werkzeug.routing import IntegerConverter

from tests.conftest import make_app

# /healthz answers load balancers without a session (and without any detail worth hiding).
OPEN_ENDPOINTS = {"auth.login", "auth.logout", "static", "health.healthz"}


def _routes(app):
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(?:int:)?[^>]+>", "1", rule.rule)
        yield rule, path


def test_every_page_needs_login(app):
    client = app.test_client()
    checked = 0
    for rule, path in _routes(app):
        if rule.endpoint in OPEN_ENDPOINTS:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(path, method=method)
            assert response.status_code in (302, 401, 403), (method, path, response.status_code)
            if response.status_code == 302:
                assert response.headers["Location"].startswith("/login"), (method, path)
            checked += 1
    assert checked >= 8


@pytest.fixture
def csrf_client(tmp_path, admin_factory):
    app = make_app(tmp_path, WTF_CSRF_ENABLED=True)
    admin_factory(app)
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post(
        "/login",
        data={"email": "admin@example.com", "password": "correct horse battery", "csrf_token": token},
    )
    assert response.status_code == 302
    return app, client


def test_every_post_without_csrf_token_is_refused(csrf_client):
    app, client = csrf_client
    posts = [path for rule, path in _routes(app) if "POST" in rule.methods]
    assert "/logout" in posts and "/admin/settings/" in posts
    for path in posts:
        response = client.post(path, data={"email": "x@example.com", "code": "P1"})
        assert response.status_code == 400, path
        assert "The form expired" in response.get_data(as_text=True)


def test_login_without_csrf_token_is_refused(tmp_path, admin_factory):
    app = make_app(tmp_path, WTF_CSRF_ENABLED=True)
    admin_factory(app)
    response = app.test_client().post(
        "/login", data={"email": "admin@example.com", "password": "correct horse battery"}
    )
    assert response.status_code == 400


def test_ids_past_the_integer_column_are_a_404_on_every_route(app, logged_in):
    """A huge id in any route (plugins' included) is a 404, never an integer overflow in the database."""
    checked = []
    for rule in app.url_map.iter_rules():
        if not any(isinstance(converter, IntegerConverter) for converter in rule._converters.values()):
            continue
        path = re.sub(r"<int:[^>]+>", "99999999999999999999", rule.rule)
        path = re.sub(r"<[^>]+>", "2026-01", path)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            assert logged_in.open(path, method=method).status_code == 404, (method, path)
            checked.append(path)
    assert any(path.startswith("/timesheets/99999999999999999999/") for path in checked)
    assert len(checked) >= 12
    assert logged_in.get("/admin/members/2147483647/edit").status_code == 404
