"""Login, logout, throttling, safe redirects, headers, cookies, first-admin setup and create-admin."""

from __future__ import annotations

import time

import pytest
from flask_login.utils import encode_cookie
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from hub.auth.accounts import issue_setup_token
from hub.auth.passwords import MIN_PASSWORD_LENGTH, common_passwords, password_problem
from hub.extensions import db
from hub.models import AuditLog, User
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, AuthActions, make_app, service_url


def test_login_and_logout(client, auth, admin):
    assert client.get("/").status_code == 302
    response = auth.login()
    assert response.headers["Location"] == "/"
    assert client.get("/").status_code == 200
    response = auth.logout()
    assert response.headers["Location"] == "/login"
    assert client.get("/").status_code == 302


def test_login_is_case_insensitive_on_email(auth, admin):
    assert auth.login(email="  Admin@Example.com ").status_code == 302


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [
        (ADMIN_EMAIL, "wrong password", "The email address or password is wrong."),
        ("nobody@example.com", ADMIN_PASSWORD, "The email address or password is wrong."),
        ("", ADMIN_PASSWORD, "Enter your email address."),
        (ADMIN_EMAIL, "", "Enter your password."),
    ],
)
def test_login_refused_with_a_reason(client, auth, admin, email, password, message):
    response = auth.login(email=email, password=password)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_inactive_admin_cannot_log_in(app, auth, admin):
    with app.app_context():
        db.session.get(User, admin).active = False
        db.session.commit()
    assert auth.login().status_code == 200


def test_login_records_last_login(app, auth, admin):
    auth.login()
    with app.app_context():
        assert db.session.get(User, admin).last_login_at is not None


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/admin/members/?q=P1", "/admin/members/?q=P1"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
    ],
)
def test_next_redirect_stays_on_site(auth, admin, target, expected):
    response = auth.login(query_string={"next": target})
    assert response.headers["Location"] == expected


def test_a_page_sends_visitors_to_login_and_back(client, auth, admin):
    response = client.get("/admin/members/?q=x")
    assert response.status_code == 302
    login_url = response.headers["Location"]
    assert login_url.startswith("/login?next=")
    response = client.post(login_url, data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert response.headers["Location"] == "/admin/members/?q=x"


def test_repeated_failures_are_throttled_even_with_the_right_password(client, auth, admin):
    for _ in range(5):
        assert auth.login(password="wrong password").status_code == 200
    response = auth.login()
    assert response.status_code == 429
    assert "Too many failed logins" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_failures_from_many_addresses_are_throttled_per_account(tmp_path, admin_factory):
    app = make_app(tmp_path, HUB_LOGIN_ACCOUNT_LIMITS="10 per hour")  # the default 100 would take long here
    admin_factory(app)
    auth = AuthActions(app.test_client())
    for number in range(10):
        response = auth.login(password="wrong password", environ_base={"REMOTE_ADDR": f"10.0.{number}.1"})
        assert response.status_code == 200
    assert auth.login(environ_base={"REMOTE_ADDR": "10.9.9.9"}).status_code == 429


def test_one_address_is_throttled_over_all_accounts(client, auth, admin):
    stranger = {"REMOTE_ADDR": "203.0.113.5"}
    for number in range(20):
        response = auth.login(email=f"guess{number}@example.com", password="wrong password", environ_base=stranger)
        assert response.status_code == 200
    assert auth.login(environ_base=stranger).status_code == 429
    assert auth.login(environ_base={"REMOTE_ADDR": "198.51.100.7"}).status_code == 302


@pytest.mark.parametrize(
    ("stranger", "admin_address"),
    [
        ("203.0.113.{}", "198.51.100.7"),
        ("::ffff:203.0.113.{}", "::ffff:198.51.100.7"),  # IPv4 on a dual-stack socket stays per address
        ("2001:db8:{}::1", "2001:db8:99::1"),  # one /64 each
    ],
)
def test_a_stranger_cannot_lock_the_admin_out(client, auth, admin, stranger, admin_address):
    """Failing with the admin's email until throttled, from four addresses, blocks only those addresses."""
    for number in range(4):
        address = {"REMOTE_ADDR": stranger.format(number)}
        for _ in range(5):
            assert auth.login(password="wrong password", environ_base=address).status_code == 200
        assert auth.login(password="wrong password", environ_base=address).status_code == 429
    assert auth.login(environ_base={"REMOTE_ADDR": admin_address}).status_code == 302


def test_the_addresses_of_one_ipv6_network_share_its_limits(app, auth, admin):
    """One attacker usually owns a whole /64: twenty of its addresses fail five times each with the admin's
    email, yet only the first five failures count, and the admin, elsewhere, still gets in."""
    statuses = [
        auth.login(password="wrong password", environ_base={"REMOTE_ADDR": f"2001:db8:1:2::{number:x}"}).status_code
        for number in range(1, 21)
        for _ in range(5)
    ]
    admin_browser = AuthActions(app.test_client())
    assert admin_browser.login(environ_base={"REMOTE_ADDR": "2001:db8:1:3::1"}).status_code == 302
    assert statuses.count(200) == 5 and statuses.count(429) == 95
    assert auth.login(environ_base={"REMOTE_ADDR": "2001:db8:1:2:ffff:ffff:ffff:ffff"}).status_code == 429


def test_one_ipv6_network_is_throttled_over_all_accounts(client, auth, admin):
    for number in range(1, 21):
        network = {"REMOTE_ADDR": f"2001:db8:1:2::{number:x}"}
        response = auth.login(email=f"guess{number}@example.com", password="wrong password", environ_base=network)
        assert response.status_code == 200
    assert auth.login(environ_base={"REMOTE_ADDR": "2001:db8:1:2::ff"}).status_code == 429
    assert auth.login(environ_base={"REMOTE_ADDR": "2001:db8:1:3::1"}).status_code == 302


def test_behind_a_trusted_proxy_clients_are_throttled_by_their_forwarded_address(tmp_path, admin_factory):
    app = make_app(tmp_path, HUB_TRUSTED_PROXIES=1)  # every request comes from the proxy at 127.0.0.1
    admin_factory(app)
    auth = AuthActions(app.test_client())
    for number in range(5):
        # The proxy appends the address it saw; whatever the client wrote before it is not believed.
        forwarded = {"X-Forwarded-For": f"10.0.0.{number}, 203.0.113.5", "X-Forwarded-Proto": "https"}
        assert auth.login(password="wrong password", headers=forwarded).status_code == 200
    assert auth.login(headers={"X-Forwarded-For": "10.9.9.9, 203.0.113.5"}).status_code == 429
    assert auth.login(headers={"X-Forwarded-For": "198.51.100.7"}).status_code == 302
    assert (app.wsgi_app.x_for, app.wsgi_app.x_proto, app.wsgi_app.x_host) == (1, 1, 0)


def test_without_a_trusted_proxy_a_forged_forwarded_for_is_ignored(client, auth, admin):
    for number in range(5):
        forged = {"X-Forwarded-For": f"192.0.2.{number}"}
        assert auth.login(password="wrong password", headers=forged).status_code == 200
    response = auth.login(headers={"X-Forwarded-For": "192.0.2.99"})
    assert response.status_code == 429
    assert "Wait up to 15 minutes" in response.get_data(as_text=True)


def test_successful_logins_are_not_counted(client, auth, admin):
    for _ in range(7):
        assert auth.login().status_code == 302
        auth.logout()


def _fail_five_times_then_log_in_from_a_fresh_app(tmp_path, admin_factory, storage_uri):
    first = make_app(tmp_path / "first", RATELIMIT_STORAGE_URI=storage_uri)
    admin_factory(first)
    for _ in range(5):
        first.test_client().post("/login", data={"email": ADMIN_EMAIL, "password": "wrong"})
    # A second app (as in another gunicorn worker) starts with its own limiter storage connection.
    second = make_app(tmp_path / "second", RATELIMIT_STORAGE_URI=storage_uri)
    admin_factory(second)
    return second.test_client().post("/login", data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})


def test_throttle_is_shared_between_processes_through_redis(tmp_path, admin_factory):
    url = service_url("HUB_TEST_REDIS_URL")
    import redis

    redis.Redis.from_url(url).flushdb()
    response = _fail_five_times_then_log_in_from_a_fresh_app(tmp_path, admin_factory, url)
    assert response.status_code == 429


def test_memory_throttle_is_per_process(tmp_path, admin_factory):
    response = _fail_five_times_then_log_in_from_a_fresh_app(tmp_path, admin_factory, "memory://")
    assert response.status_code == 302


def test_security_headers_and_cookie_flags(client, auth, admin):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"
    cookies = auth.login().headers.getlist("Set-Cookie")
    assert {cookie.partition("=")[0] for cookie in cookies} == {"session", DEVICE_COOKIE}
    assert all("HttpOnly" in cookie and "SameSite=Lax" in cookie for cookie in cookies)


def test_pages_have_no_inline_script_or_style(logged_in):
    for path in [
        "/login",
        "/",
        "/admin/settings/",
        "/admin/members/",
        "/admin/members/new",
        "/admin/members/import",
    ]:
        page = logged_in.get(path).get_data(as_text=True)
        assert "<script" not in page and "style=" not in page and "<style" not in page, path
        assert "http://" not in page and "https://" not in page, f"{path} loads something from elsewhere"


def test_login_page_explains_the_first_login(client):
    page = client.get("/login").get_data(as_text=True)
    assert "hub create-admin" in page and "setup link" in page


def test_first_admin_through_the_setup_link(app, client):
    with app.test_request_context():
        token = issue_setup_token()
    assert client.get("/setup?token=forged").status_code == 403
    assert client.get(f"/setup?token={token}").status_code == 200
    response = client.post(
        f"/setup?token={token}", data={"email": "Boss@Example.com", "password": "short", "confirm": "short"}
    )
    assert "Use at least 10 characters." in response.get_data(as_text=True)
    response = client.post(
        f"/setup?token={token}",
        data={"email": "Boss@Example.com", "password": "long enough pw", "confirm": "long enough pw"},
    )
    assert response.headers["Location"] == "/"
    assert client.get("/").status_code == 200
    with app.app_context():
        assert db.session.query(User).one().email == "boss@example.com"
    # The link is spent once an admin exists.
    other = app.test_client()
    assert other.get(f"/setup?token={token}").headers["Location"] == "/login"
    other.post(
        f"/setup?token={token}",
        data={"email": "eve@example.com", "password": "long enough pw", "confirm": "long enough pw"},
    )
    with app.app_context():
        assert db.session.query(User).count() == 1


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("Password123", "one of the most common ones"),
        ("boss@example.com", "Do not use your email address"),
        ("my-Boss-account", "Do not use your email address"),
    ],
)
def test_setup_refuses_a_common_password_or_the_email(app, client, password, message):
    with app.test_request_context():
        token = issue_setup_token()
    response = client.post(
        f"/setup?token={token}", data={"email": "Boss@Example.com", "password": password, "confirm": password}
    )
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.query(User).count() == 0


@pytest.mark.parametrize(
    ("password", "email", "problem"),
    [
        ("short", "ops@example.com", "Use at least 10 characters."),
        ("qwertyuiop", "ops@example.com", "one of the most common ones"),
        ("  1234567890 ", "ops@example.com", "one of the most common ones"),
        ("OPS@example.com!", "ops@example.com", "Do not use your email address"),
        ("hanako.sato-2026", "Hanako.Sato@example.com", "Do not use your email address"),
        ("ops room keys", "ops@example.com", None),  # a local part under 4 characters is too short to judge by
        ("correct horse battery", "admin@example.com", None),
    ],
)
def test_the_password_rule(app, password, email, problem):
    with app.app_context():
        found = password_problem(password, email)
    assert found == problem if problem is None else problem in found


def test_the_common_password_list_is_loaded_from_the_package():
    common = common_passwords()
    assert len(common) > 1000 and "1234567890" in common and "password123" in common
    assert not any(entry.startswith("#") or len(entry) < MIN_PASSWORD_LENGTH for entry in common)


def test_run_prints_a_setup_link_only_without_admin(app, runner, monkeypatch):
    served = []
    monkeypatch.setattr("werkzeug.serving.run_simple", lambda *args, **kwargs: served.append(args))
    result = runner.invoke(args=["run", "--port", "5055", "--no-worker"])
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:5055/setup?token=" in result.output
    assert served and served[0][:2] == ("127.0.0.1", 5055)
    runner.invoke(args=["create-admin", "a@example.com", "--password-stdin"], input="long enough pw\n")
    assert "setup?token=" not in runner.invoke(args=["run", "--no-worker"]).output


def test_create_admin_cli(app, runner):
    result = runner.invoke(args=["create-admin", "ops@example.com", "--password-stdin"], input="a long password\n")
    assert result.exit_code == 0, result.output
    assert "Admin ops@example.com created." in result.output
    client = app.test_client()
    assert client.post("/login", data={"email": "ops@example.com", "password": "a long password"}).status_code == 302
    with app.app_context():
        entry = db.session.query(AuditLog).one()
        assert (entry.action, entry.target, entry.actor) == ("admin.create", "ops@example.com", "cli")
        assert "a long password" not in str(entry.details)


def test_create_admin_prompts_for_the_password(app, runner):
    result = runner.invoke(args=["create-admin", "ops@example.com"], input="a long password\na long password\n")
    assert result.exit_code == 0, result.output
    assert "a long password" not in result.output


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (
            ["create-admin", "not-an-email", "--password-stdin"],
            "a long password\n",
            "Not a valid email address",
        ),
        (["create-admin", "ops@example.com", "--password-stdin"], "short\n", "at least 10 characters"),
        (["create-admin", "ops@example.com", "--password-stdin"], "Password123\n", "one of the most common ones"),
        (["create-admin", "hanako@example.com", "--password-stdin"], "hanako-2026-x\n", "Do not use your email"),
    ],
)
def test_create_admin_refuses_bad_input(runner, args, stdin, message):
    result = runner.invoke(args=args, input=stdin)
    assert result.exit_code == 1
    assert message in result.output


def test_create_admin_twice_needs_reset(app, runner):
    runner.invoke(args=["create-admin", "ops@example.com", "--password-stdin"], input="a long password\n")
    again = runner.invoke(args=["create-admin", "ops@example.com", "--password-stdin"], input="another password\n")
    assert again.exit_code == 1 and "--reset" in again.output
    common = runner.invoke(
        args=["create-admin", "ops@example.com", "--password-stdin", "--reset"], input="1q2w3e4r5t\n"
    )
    assert common.exit_code == 1 and "most common" in common.output
    reset = runner.invoke(
        args=["create-admin", "ops@example.com", "--password-stdin", "--reset"], input="another password\n"
    )
    assert reset.exit_code == 0
    client = app.test_client()
    assert client.post("/login", data={"email": "ops@example.com", "password": "another password"}).status_code == 302


# Sessions: a copied cookie stays validly signed, so what ends a session must be checked on every request.


def _session_cookie(client) -> str:
    return client.get_cookie("session").value


def _replay(app, cookie: str, name: str = "session"):
    """A fresh browser presenting a copied cookie."""
    other = app.test_client()
    other.set_cookie(name, cookie)
    return other.get("/")


def test_a_copied_session_cookie_is_useless_after_logout(app, client, auth, admin):
    auth.login()
    copied = _session_cookie(client)
    assert _replay(app, copied).status_code == 200
    auth.logout()
    response = _replay(app, copied)
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_logout_ends_the_sessions_of_every_browser(app, auth, admin):
    first, second = app.test_client(), app.test_client()
    for browser in (first, second):
        assert AuthActions(browser).login().status_code == 302
    AuthActions(first).logout()
    assert second.get("/").status_code == 302


def test_a_password_reset_ends_every_session(app, client, auth, admin):
    auth.login()
    copied = _session_cookie(client)
    result = app.test_cli_runner().invoke(
        args=["create-admin", ADMIN_EMAIL, "--password-stdin", "--reset"], input="a brand new secret\n"
    )
    assert result.exit_code == 0, result.output
    assert client.get("/").status_code == 302
    assert _replay(app, copied).status_code == 302
    assert auth.login(password="a brand new secret").status_code == 302


def test_deactivation_ends_every_session_for_good(app, client, auth, admin):
    auth.login()
    copied = _session_cookie(client)

    def set_active(active: bool) -> None:
        with app.app_context():
            db.session.get(User, admin).active = active
            db.session.commit()

    set_active(False)
    assert client.get("/").status_code == 302
    set_active(True)  # reactivated: the admin logs in again, the old sessions stay ended
    assert client.get("/").status_code == 302
    assert _replay(app, copied).status_code == 302
    assert auth.login().status_code == 302


def test_a_remember_me_cookie_is_no_way_around_logout(app, client, auth, admin):
    auth.login()
    with app.app_context():
        token = db.session.get(User, admin).get_id()
    auth.logout()
    with app.test_request_context():
        remember = encode_cookie(token)  # as Flask-Login would have minted it; the hub never sets one
    assert _replay(app, remember, name=app.config.get("REMEMBER_COOKIE_NAME", "remember_token")).status_code == 302


def test_a_session_ends_after_twelve_idle_hours_and_each_request_renews_it(app, client, auth, admin, monkeypatch):
    assert "Expires=" in _set_cookie(auth.login(), "session")  # a permanent session, renewed on every request
    start = int(time.time())

    def hours_later(hours: int) -> int:
        monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: start + hours * 3600)
        return client.get("/").status_code

    assert hours_later(11) == 200
    assert hours_later(22) == 200  # 11 hours after the last request
    assert hours_later(35) == 302  # 13 idle hours


# Device cookies: a browser the admin has logged in with gets past strangers who spend the account-wide limit.

DEVICE_COOKIE = "hub_device"
HOME = {"REMOTE_ADDR": "198.51.100.7"}  # the admin's own address, where no stranger fails


def _set_cookie(response, name: str) -> str:
    return next(header for header in response.headers.getlist("Set-Cookie") if header.startswith(f"{name}="))


@pytest.fixture
def small_limit_app(tmp_path, admin_factory):
    """The account-wide limit at 10 an hour (the default 100 would take long here), with the usual admin."""
    app = make_app(tmp_path, HUB_LOGIN_ACCOUNT_LIMITS="10 per hour")
    admin_factory(app)
    return app


def _browser_that_logged_in(app, email=ADMIN_EMAIL, password=ADMIN_PASSWORD) -> AuthActions:
    """A browser that logged in once, at home, and logged out again: logging out keeps its device cookie."""
    browser = AuthActions(app.test_client())
    assert browser.login(email=email, password=password, environ_base=HOME).status_code == 302
    assert browser.logout().status_code == 302
    return browser


def _strangers_spend_the_account_limit(app) -> None:
    strangers = AuthActions(app.test_client())
    for number in range(10):
        address = {"REMOTE_ADDR": f"203.0.113.{number}"}
        assert strangers.login(password="wrong password", environ_base=address).status_code == 200


def test_a_device_cookie_lets_the_admin_in_while_strangers_spend_the_account_limit(small_limit_app):
    browser = _browser_that_logged_in(small_limit_app)
    _strangers_spend_the_account_limit(small_limit_app)
    assert browser.login(environ_base=HOME).status_code == 302
    refused = AuthActions(small_limit_app.test_client()).login(environ_base=HOME)  # the right password, no cookie
    assert refused.status_code == 429
    assert "A browser you have logged in with before still gets in" in refused.get_data(as_text=True)


def _unsigned(genuine: str) -> str:
    return genuine.split(".")[0]


def _payload(genuine: str):
    return URLSafeTimedSerializer("any key").loads_unsafe(genuine)[1]


def _signed_with_another_key(genuine: str) -> str:
    return URLSafeTimedSerializer("not the hub's key", salt="hub-device-cookie").dumps(_payload(genuine))


def _signed_for_another_purpose(genuine: str) -> str:
    return URLSafeTimedSerializer("test-secret", salt="hub-first-admin").dumps(_payload(genuine))  # a setup token


@pytest.mark.parametrize(
    "forge", [_unsigned, _signed_with_another_key, _signed_for_another_purpose, lambda genuine: ADMIN_EMAIL]
)
def test_a_forged_device_cookie_gives_no_exemption(small_limit_app, forge):
    browser = _browser_that_logged_in(small_limit_app)
    genuine = browser._client.get_cookie(DEVICE_COOKIE, path="/login").value
    _strangers_spend_the_account_limit(small_limit_app)
    forger = small_limit_app.test_client()
    forger.set_cookie(DEVICE_COOKIE, forge(genuine), path="/login")
    assert AuthActions(forger).login(environ_base=HOME).status_code == 429
    assert browser.login(environ_base=HOME).status_code == 302


def test_a_device_cookie_of_another_account_gives_no_exemption(small_limit_app, admin_factory):
    admin_factory(small_limit_app, email="colleague@example.com", password="another long password")
    colleague = _browser_that_logged_in(small_limit_app, "colleague@example.com", "another long password")
    browser = _browser_that_logged_in(small_limit_app)
    _strangers_spend_the_account_limit(small_limit_app)
    assert colleague.login(environ_base=HOME).status_code == 429  # the admin's email from the colleague's browser
    assert browser.login(environ_base=HOME).status_code == 302


def test_a_stolen_device_cookie_guesses_no_faster(small_limit_app):
    """With a device cookie, failures count per device, from whatever address: five, then 15 minutes' wait."""
    stolen = _browser_that_logged_in(small_limit_app)._client.get_cookie(DEVICE_COOKIE, path="/login").value
    thief = small_limit_app.test_client()
    thief.set_cookie(DEVICE_COOKIE, stolen, path="/login")
    for number in range(5):
        address = {"REMOTE_ADDR": f"203.0.113.{number}"}
        assert AuthActions(thief).login(password="wrong password", environ_base=address).status_code == 200
    assert AuthActions(thief).login(environ_base={"REMOTE_ADDR": "192.0.2.1"}).status_code == 429


def test_the_device_cookie_is_signed_private_and_lasts_a_year(tmp_path, admin_factory):
    app = make_app(tmp_path, SESSION_COOKIE_SECURE=True)
    admin_factory(app)
    cookie = _set_cookie(AuthActions(app.test_client()).login(), DEVICE_COOKIE)
    for flag in ("HttpOnly", "SameSite=Lax", "Secure", "Path=/login", f"Max-Age={365 * 24 * 3600}"):
        assert flag in cookie
    assert ADMIN_EMAIL not in cookie
