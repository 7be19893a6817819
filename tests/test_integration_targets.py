"""Where an integration's requests go, and how long a check may take: the Jobcan provider in the real app.

A stored secret is only sent to the connection target it was entered for; custom URLs may not point at cloud
metadata services; a connection check answers within its deadline whatever the provider does, and says so when
Jobcan limits requests for longer. Jobcan is mocked with requests-mock at address literals (no DNS lookups), or
served on loopback (the simulator, a server that drips its answer) where a real connection is needed.
"""

from __future__ import annotations

import base64
import threading
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
from flask import request
from sqlalchemy import select

from hub import hookimpl
from hub.extensions import db
from hub.integrations import service
from hub.integrations.service import check_values, provider_named, run_check, save_integration
from hub.models import Health, Integration
from hub.providers import CheckResult, CheckStatus, Deadline, ProviderSettings
from hub_plugins.jobcan.client import ENVIRONMENTS, TOKENS
from hub_plugins.jobcan.provider import JobcanProvider
from hub_plugins.jobcan.simulator import JobcanSimulator, SimulatorConfig
from tests.conftest import create_test_admin, make_app

OLD, NEW = "http://192.0.2.10", "http://198.51.100.7"  # documentation addresses: nothing answers there
STORED, TYPED = "stored-s3cret", "typed-s3cret"
SCOPES = "employees.read summaries.create summaries.read adits.read"
FORM = {
    "name": "本社",
    "auto_sync": "on",
    "client_id": "cid",
    "client_secret": STORED,
    "environment": "custom",
    "api_base_url": OLD,
    "auth_base_url": OLD,
    "refresh_summaries": "y",
    "requests_per_second": "50",
    "concurrency": "2",
}
TARGET_CHANGED = "The connection target changed: enter the secret again."


class JobcanPlugin:
    """The Jobcan provider with a sleep that only records, so a test never waits out a Retry-After."""

    def __init__(self, sleeps: list[float]):
        self.sleeps = sleeps

    @hookimpl
    def hub_providers(self):
        return [JobcanProvider(sleep=self.sleeps.append)]


@pytest.fixture(autouse=True)
def _fresh_tokens():
    TOKENS._tokens.clear()
    yield
    TOKENS._tokens.clear()


@pytest.fixture
def sleeps():
    return []


def hub(tmp_path, sleeps, **config):
    app = make_app(tmp_path, plugins=[JobcanPlugin(sleeps)], HUB_BLOCKED_PLUGINS=["jobcan"], **config)
    create_test_admin(app)
    return app


@pytest.fixture
def app(tmp_path, sleeps):
    return hub(tmp_path, sleeps)


@pytest.fixture
def web(app, client):
    client.post("/login", data={"email": "admin@example.com", "password": "correct horse battery"})
    return client


def jobcan_at(requests_mock, base: str):
    """A Jobcan at ``base`` that accepts any credentials; returns the token endpoint's mock."""
    requests_mock.get(f"{base}/master/v1/employees", json={"employees": []})
    requests_mock.get(f"{base}/attendance/v1/summaries/daily", json={"daily_summaries": []})
    requests_mock.get(f"{base}/attendance/v1/adits", json={"adits": []})
    return requests_mock.post(
        f"{base}/oauth/token", json={"access_token": "t", "token_type": "Bearer", "expires_in": 3600, "scope": SCOPES}
    )


def basic(secret: str) -> str:
    return "Basic " + base64.b64encode(f"cid:{secret}".encode()).decode()


def sent_to(requests_mock, base: str) -> list:
    host = urlsplit(base).netloc
    return [request for request in requests_mock.request_history if urlsplit(request.url).netloc == host]


def stored(app) -> Integration:
    with app.app_context():
        integration = db.session.scalars(select(Integration)).one()
        integration.secrets = integration.read_secrets()
        return integration


@pytest.fixture
def integration_id(app, web, requests_mock, sleeps):
    jobcan_at(requests_mock, OLD)
    assert web.post("/admin/integrations/new/jobcan", data=FORM).status_code == 302
    requests_mock.reset_mock()
    sleeps.clear()
    with app.app_context():  # a pace learned at 50 requests a second, so pacing waits stay well under waits()
        db.session.get(Integration, stored(app).id).learned_rate = 50
        db.session.commit()
    return stored(app).id


# --- a stored secret goes only where it was entered for ---------------------------------------------------


def test_changing_the_urls_asks_for_the_secret_again(app, web, requests_mock, integration_id):
    jobcan_at(requests_mock, NEW)
    edit = f"/admin/integrations/{integration_id}/edit"
    page = web.post(edit, data=dict(FORM, api_base_url=NEW, auth_base_url=NEW, client_secret=""))
    assert page.status_code == 200 and TARGET_CHANGED in page.get_data(as_text=True)
    assert requests_mock.request_history == []  # nothing went to the new host, nor anywhere
    assert stored(app).settings["api_base_url"] == OLD
    web.post(f"/admin/integrations/{integration_id}/check")  # 接続テスト still uses the stored target
    assert {request.headers["Authorization"] for request in sent_to(requests_mock, OLD)[:1]} == {basic(STORED)}
    assert sent_to(requests_mock, NEW) == []

    saved = web.post(edit, data=dict(FORM, api_base_url=NEW, auth_base_url=NEW, client_secret=TYPED))
    assert saved.status_code == 302
    assert sent_to(requests_mock, NEW)[0].headers["Authorization"] == basic(TYPED)
    integration = stored(app)
    assert integration.settings["auth_base_url"] == NEW and integration.secrets == {"client_secret": TYPED}


def test_changing_the_environment_asks_for_the_secret_again(app, web, requests_mock, integration_id):
    page = web.post(
        f"/admin/integrations/{integration_id}/edit", data=dict(FORM, environment="sandbox", client_secret="")
    )
    assert TARGET_CHANGED in page.get_data(as_text=True)
    assert requests_mock.request_history == []
    assert stored(app).settings["environment"] == "custom"


def test_other_changes_keep_the_stored_secret(app, web, requests_mock, integration_id):
    response = web.post(
        f"/admin/integrations/{integration_id}/edit", data=dict(FORM, requests_per_second="10", client_secret="")
    )
    assert response.status_code == 302
    assert sent_to(requests_mock, OLD)[0].headers["Authorization"] == basic(STORED)
    integration = stored(app)
    assert integration.settings["requests_per_second"] == 10 and integration.secrets == {"client_secret": STORED}


def test_the_edit_form_says_when_the_secret_must_be_entered_again(web, integration_id):
    page = web.get(f"/admin/integrations/{integration_id}/edit").get_data(as_text=True)
    assert "Enter it again when you change Environment, API base URL, or Auth base URL." in page
    page = web.get(f"/admin/integrations/{integration_id}/edit?lang=ja").get_data(as_text=True)
    assert "環境、APIベースURL、または認証ベースURLを変更するときは、再入力が必要です。" in page


def test_the_secret_error_reads_in_japanese(web, requests_mock, integration_id):
    page = web.post(
        f"/admin/integrations/{integration_id}/edit?lang=ja",
        data=dict(FORM, api_base_url=NEW, auth_base_url=NEW, client_secret=""),
    ).get_data(as_text=True)
    assert "接続先が変更されたため、シークレットを再入力してください。" in page


def test_hub_integrations_edit_asks_for_the_secret_again(app, requests_mock, integration_id):
    jobcan_at(requests_mock, NEW)
    cli = app.test_cli_runner()
    moved = ["integrations", "edit", "本社", "--set", f"api_base_url={NEW}", "--set", f"auth_base_url={NEW}"]
    result = cli.invoke(args=moved)
    assert result.exit_code == 2
    assert f"client_secret: {TARGET_CHANGED}" in result.stderr and "--set client_secret=-" in result.stderr
    assert requests_mock.request_history == [] and stored(app).settings["api_base_url"] == OLD

    result = cli.invoke(args=[*moved, "--set", "client_secret=-"], input=TYPED + "\n")
    assert result.exit_code == 0, result.output
    assert result.stdout == "Integration 本社 (ジョブカン勤怠管理) saved.\n"
    assert sent_to(requests_mock, NEW)[0].headers["Authorization"] == basic(TYPED)
    integration = stored(app)
    assert integration.settings["api_base_url"] == NEW and integration.secrets == {"client_secret": TYPED}


def test_hub_integrations_edit_keeps_the_secret_for_other_changes(app, requests_mock, integration_id):
    result = app.test_cli_runner().invoke(args=["integrations", "edit", "本社", "--set", "concurrency=4"])
    assert result.exit_code == 0, result.output
    assert sent_to(requests_mock, OLD)[0].headers["Authorization"] == basic(STORED)
    integration = stored(app)
    assert integration.settings["concurrency"] == 4 and integration.settings["refresh_summaries"] is True
    assert integration.secrets == {"client_secret": STORED}


# --- a check answers within its deadline ------------------------------------------------------------------


def waits(sleeps: list[float]) -> list[float]:
    """Retry-After waits, not the pacing of 50 requests per second (a few hundredths of a second here, as the
    recorded sleeps let no time pass)."""
    return [seconds for seconds in sleeps if seconds >= 0.5]


def rate_limited_for(requests_mock, seconds: int):
    """The token endpoint answers 429 at once, asking for a wait of ``seconds``."""
    requests_mock.post(
        f"{OLD}/oauth/token",
        status_code=429,
        headers={"Retry-After": str(seconds)},
        json={"error": "temporarily_unavailable"},
    )


def test_a_retry_after_past_the_deadline_says_jobcan_is_limiting_requests(
    app, web, requests_mock, sleeps, integration_id
):
    """Jobcan answered at once: the check says it limits requests and when to retry, not that it is silent."""
    rate_limited_for(requests_mock, 600)
    page = web.post(f"/admin/integrations/{integration_id}/check", follow_redirects=True).get_data(as_text=True)
    message = "Jobcan is limiting requests (try again in 600 s)."
    assert message in page and "did not answer" not in page
    assert waits(sleeps) == []  # the Retry-After would pass the deadline: given up at once, not waited out
    assert stored(app).health_message == message
    assert all(request.timeout == pytest.approx((5, 10), abs=1) for request in requests_mock.request_history)
    with app.app_context():
        result = check_values(JobcanProvider(sleep=sleeps.append), "本社", dict(FORM, refresh_summaries=True))
    assert (result.status, result.message) == (CheckStatus.RATE_LIMITED, message)


def test_the_rate_limit_message_reads_in_japanese(web, requests_mock, integration_id):
    """The provider's message is made in the check's own thread: the page's language reaches it."""
    rate_limited_for(requests_mock, 600)
    page = web.post(f"/admin/integrations/{integration_id}/check?lang=ja", follow_redirects=True)
    assert "ジョブカンがリクエストを制限しています。600秒後にもう一度お試しください。" in page.get_data(as_text=True)


def test_the_cli_check_may_wait_longer(app, web, requests_mock, sleeps, integration_id):
    """A Retry-After of 30 s: the page says Jobcan is limiting requests, the command waits it out."""
    jobcan_at(requests_mock, OLD)
    rate_limited_for(requests_mock, 30)
    page = web.post(f"/admin/integrations/{integration_id}/check", follow_redirects=True).get_data(as_text=True)
    assert "Jobcan is limiting requests (try again in 30 s)." in page and waits(sleeps) == []
    requests_mock.post(
        f"{OLD}/oauth/token",
        [
            {"status_code": 429, "headers": {"Retry-After": "30"}, "json": {"error": "temporarily_unavailable"}},
            {"json": {"access_token": "t", "token_type": "Bearer", "expires_in": 3600, "scope": SCOPES}},
        ],
    )
    result = app.test_cli_runner().invoke(args=["integrations", "check", "本社"])
    assert result.exit_code == 0, result.output
    assert waits(sleeps) == [pytest.approx(30.0, abs=0.1)]


def test_the_cli_check_says_when_jobcan_limits_requests_longer(app, requests_mock, sleeps, integration_id):
    rate_limited_for(requests_mock, 600)
    result = app.test_cli_runner().invoke(args=["integrations", "check", "本社"])
    assert result.exit_code == 1
    assert "本社: rate_limited: Jobcan is limiting requests (try again in 600 s)." in result.stderr
    assert waits(sleeps) == []


def test_a_429_from_the_token_endpoint_is_waited_out_within_the_deadline(
    app, web, requests_mock, sleeps, integration_id
):
    jobcan_at(requests_mock, OLD)
    requests_mock.post(
        f"{OLD}/oauth/token",
        [
            {"status_code": 429, "headers": {"Retry-After": "1"}, "json": {"error": "temporarily_unavailable"}},
            {"json": {"access_token": "t", "token_type": "Bearer", "expires_in": 3600, "scope": SCOPES}},
        ],
    )
    page = web.post(f"/admin/integrations/{integration_id}/check", follow_redirects=True).get_data(as_text=True)
    assert "Connected to Jobcan." in page
    assert waits(sleeps) == [pytest.approx(1.0, abs=0.1)]  # the shared pause, less the time since the 429


# --- a check answers in time whatever the provider does -----------------------------------------------------


class _Drip(BaseHTTPRequestHandler):
    """Answers a POST (the token request) 200 with a body sent one byte every half second: each read gets a
    byte well within its timeout, so only a bound on the whole check ends the wait."""

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "1000")
        self.end_headers()
        try:
            for _ in range(40):  # 20 s at most, should a test not stop it
                self.wfile.write(b" ")
                self.wfile.flush()
                if self.server.stop.wait(0.5):
                    break
        except OSError:  # the client gave up
            pass
        finally:
            self.server.finished.set()

    def log_message(self, *args):
        pass


def checks_running() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name.startswith("hub-check") and thread.is_alive()]


@pytest.fixture
def dripping():
    """A loopback server that drips its answer until the test ends; the checks left running end with it."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Drip)
    server.stop, server.finished = threading.Event(), threading.Event()
    server.url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.stop.set()
    for check in checks_running():
        check.join(timeout=30)
    server.shutdown()
    server.server_close()


def jobcan_values(url: str) -> dict:
    return {
        "client_id": "cid",
        "client_secret": STORED,
        "environment": "custom",
        "api_base_url": url,
        "auth_base_url": url,
        "refresh_summaries": True,
        "requests_per_second": 0,
        "concurrency": 2,
    }


def test_a_check_ends_at_its_deadline_while_the_provider_still_drips(app, dripping):
    with app.app_context():
        result = check_values(JobcanProvider(), "本社", jobcan_values(dripping.url), seconds=1.5)
    assert result.status is CheckStatus.NETWORK
    assert result.message == "The attendance system did not answer within 1.5 seconds. Try again in a few minutes."
    assert not dripping.finished.is_set(), "the check waited for the whole answer"
    assert checks_running(), "the provider's check is left to end on its own"


def test_the_check_page_answers_while_the_provider_still_drips(app, web, dripping, monkeypatch):
    monkeypatch.setattr(service, "WEB_CHECK_SECONDS", 1.5)
    with app.app_context():
        integration = save_integration(provider_named("jobcan"), "本社", jobcan_values(dripping.url), False)
        db.session.commit()
        integration_id = integration.id
    page = web.post(f"/admin/integrations/{integration_id}/check?lang=ja", follow_redirects=True)
    message = "勤怠システムが1.5秒以内に応答しませんでした。数分おいてから、もう一度お試しください。"
    assert page.status_code == 200 and message in page.get_data(as_text=True)
    assert not dripping.finished.is_set() and checks_running()
    assert (stored(app).health, stored(app).health_message) == (Health.ERROR, message)


class _Probe:
    """A provider whose check notes where it ran, then answers or raises."""

    name = "probe"

    def __init__(self, error: Exception | None = None):
        self.error, self.seen = error, {}

    def check(self, settings):
        if self.error:
            raise self.error
        self.seen.update(session=db.session(), path=request.path, thread=threading.current_thread())
        return CheckResult(CheckStatus.OK, "fine")


def test_a_check_runs_in_its_own_thread_and_database_session(app):
    probe = _Probe()
    settings = ProviderSettings(key="1", deadline=Deadline(5))
    with app.test_request_context("/admin/integrations/1/check"):
        assert run_check(probe, settings).message == "fine"
        assert probe.seen["session"] is not db.session()  # it cannot write to the request's session
        assert probe.seen["path"] == "/admin/integrations/1/check"  # but reads the request, as gettext does
        assert probe.seen["thread"] is not threading.current_thread()
    with app.app_context(), pytest.raises(ZeroDivisionError):  # a check's own failure reaches the caller
        run_check(_Probe(ZeroDivisionError()), settings)


# --- custom URLs may not reach cloud metadata -------------------------------------------------------------


def test_the_form_refuses_a_metadata_url_and_names_the_field(app, web, requests_mock):
    page = web.post("/admin/integrations/new/jobcan", data=dict(FORM, api_base_url="http://169.254.169.254/latest"))
    text = page.get_data(as_text=True)
    assert "API base URL: 169.254.169.254 is a link-local address, where cloud metadata services answer." in text
    assert "unless HUB_ALLOW_PRIVATE_URLS=1 is set" in text
    assert requests_mock.request_history == []
    with app.app_context():
        assert db.session.scalars(select(Integration)).all() == []


def test_hub_allow_private_urls_lets_the_form_use_such_an_address(tmp_path, sleeps, requests_mock):
    app = hub(tmp_path, sleeps, HUB_ALLOW_PRIVATE_URLS=True)
    web = app.test_client()
    web.post("/login", data={"email": "admin@example.com", "password": "correct horse battery"})
    proxy = "http://169.254.10.20"
    jobcan_at(requests_mock, proxy)
    response = web.post("/admin/integrations/new/jobcan", data=dict(FORM, api_base_url=proxy, auth_base_url=proxy))
    assert response.status_code == 302 and sent_to(requests_mock, proxy)


def test_hub_integrations_add_refuses_a_metadata_host(app, requests_mock):
    settings = {
        "client_id": "cid",
        "client_secret": "x",
        "environment": "custom",
        "api_base_url": OLD,
        "auth_base_url": "http://metadata.google.internal/computeMetadata/v1",
    }
    assignments = [part for field, value in settings.items() for part in ("--set", f"{field}={value}")]
    result = app.test_cli_runner().invoke(args=["integrations", "add", "jobcan", "本社", *assignments])
    assert result.exit_code == 2
    assert "auth_base_url: Auth base URL: metadata.google.internal is a cloud metadata service." in result.stderr
    assert requests_mock.request_history == []


def test_a_host_name_is_checked_again_before_the_check_sends(tmp_path, sleeps, dns):
    """Saved while the name pointed at the simulator; it then points at the metadata service."""
    config = SimulatorConfig(employees=2, start=date(2026, 11, 2), end=date(2026, 11, 6))
    with JobcanSimulator(config) as sim:
        dns["hr-proxy.example"] = ["127.0.0.1"]
        url = f"http://hr-proxy.example:{urlsplit(sim.url).port}"
        app = hub(tmp_path, sleeps)
        web = app.test_client()
        web.post("/login", data={"email": "admin@example.com", "password": "correct horse battery"})
        settings = dict(
            FORM, client_id=sim.client_id, client_secret=sim.client_secret, api_base_url=url, auth_base_url=url
        )
        assert web.post("/admin/integrations/new/jobcan", data=settings).status_code == 302
        reached = sim.stats["total"]
        dns["hr-proxy.example"] = ["169.254.169.254"]
        page = web.post(f"/admin/integrations/{stored(app).id}/check", follow_redirects=True).get_data(as_text=True)
        assert "hr-proxy.example (169.254.169.254) is a link-local address" in page
        assert sim.stats["total"] == reached  # nothing was sent


def test_the_fixed_environments_are_not_custom_urls():
    """The policy guards what an admin types; Jobcan's own hosts are constants (and public)."""
    assert set(ENVIRONMENTS) == {"production", "sandbox"}


def test_hub_integrations_edit_renames_and_turns_auto_sync_off(app, requests_mock, integration_id):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["integrations", "edit", "本社", "--set", "name=本店", "--set", "auto_sync=off"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        integration = db.session.get(Integration, integration_id)
        assert (integration.name, integration.auto_sync) == ("本店", False)
    with app.app_context():
        db.session.add(Integration(provider="jobcan", name="支店", settings={}))
        db.session.commit()
    taken = runner.invoke(args=["integrations", "edit", "本店", "--set", "name=支店"])
    assert taken.exit_code == 2 and "An integration named 支店 already exists." in taken.output


def test_hub_integrations_add_takes_name_and_auto_sync_from_set_too(app, requests_mock, sleeps):
    jobcan_at(requests_mock, OLD)
    settings = {"client_id": "cid", "client_secret": STORED, "environment": "custom"}
    settings |= {"api_base_url": OLD, "auth_base_url": OLD, "name": "支店", "auto_sync": "off"}
    assignments = [part for field, value in settings.items() for part in ("--set", f"{field}={value}")]
    result = app.test_cli_runner().invoke(args=["integrations", "add", "jobcan", "本社", *assignments])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert [(i.name, i.auto_sync) for i in db.session.scalars(select(Integration))] == [("支店", False)]
    again = app.test_cli_runner().invoke(args=["integrations", "add", "jobcan", "本店", *assignments])
    assert again.exit_code == 2 and "An integration named 支店 already exists." in again.output
