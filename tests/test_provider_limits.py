"""The limits the core hands a provider: the URL policy, the deadline, and how long a message may be."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from hub.config import config_from_env
from hub.providers import (
    CheckResult,
    CheckStatus,
    Deadline,
    DeadlineExceeded,
    MissingScopeError,
    ProviderError,
    URLNotAllowed,
    URLPolicy,
)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
        ("http://169.254.0.1:8080", "is a link-local address"),
        ("http://[fe80::1]/", "fe80::1 is a link-local address"),
        ("http://[fd00:ec2::254]/", "fd00:ec2::254 is an IPv6 unique-local address"),
        ("http://[::ffff:169.254.169.254]/", "(169.254.169.254) is a link-local address"),
        ("http://metadata.google.internal/computeMetadata/v1/", "metadata.google.internal is a cloud metadata service"),
        ("http://METADATA.google.internal./", "metadata.google.internal is a cloud metadata service"),
        ("http://100.100.100.200/latest/meta-data/", "100.100.100.200 is a cloud metadata service"),
    ],
)
def test_link_local_and_metadata_addresses_are_refused(dns, url, reason):
    with pytest.raises(URLNotAllowed, match="HUB_ALLOW_PRIVATE_URLS=1") as refused:
        URLPolicy().check(url)
    assert reason in str(refused.value)
    URLPolicy(allow_private=True).check(url)  # the operator's way out


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8750", "http://[::1]:8750/", "http://10.1.2.3/api", "https://192.168.0.10", "http://172.16.0.1"],
)
def test_loopback_and_private_networks_stay_allowed(dns, url):
    URLPolicy().check(url)


def test_every_address_of_a_name_is_checked(dns):
    dns["hr-proxy.example"] = ["203.0.113.5"]
    URLPolicy().check("https://hr-proxy.example/v1")
    dns["hr-proxy.example"] = ["203.0.113.5", "169.254.169.254"]
    with pytest.raises(URLNotAllowed, match=r"hr-proxy\.example \(169\.254\.169\.254\) is a link-local address"):
        URLPolicy().check("https://hr-proxy.example/v1")


def test_a_name_that_does_not_resolve_is_left_to_fail_on_its_own(dns):
    URLPolicy().check("https://nowhere.example")


@pytest.mark.parametrize("url", ["ftp://files.example/x", "file:///etc/passwd", "http://", "http://host:port/"])
def test_only_http_and_https_urls(url):
    with pytest.raises(URLNotAllowed, match="is not an http:// or https:// URL"):
        URLPolicy(allow_private=True).check(url)


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_deadline_cuts_timeouts_and_refuses_a_wait_past_it():
    clock, slept = Clock(), []
    deadline = Deadline(10, clock=clock)
    assert deadline.timeout(5, 30) == (5, 10)
    deadline.sleep(3, slept.append)
    clock.now += 3
    assert deadline.timeout(5, 30) == (5, 7)
    with pytest.raises(DeadlineExceeded, match="did not answer within 10 seconds"):
        deadline.sleep(600, slept.append)
    assert slept == [3]  # the long wait was refused, not slept
    clock.now += 7
    with pytest.raises(DeadlineExceeded):
        deadline.timeout(5, 30)
    with pytest.raises(DeadlineExceeded):
        deadline.check()


def test_no_deadline_means_unbounded():
    slept = []
    deadline = Deadline()
    assert not deadline.bounded and deadline.timeout(5, 30) == (5, 30)
    deadline.sleep(600, slept.append)
    deadline.check()
    assert slept == [600]


def test_provider_messages_are_cut_to_200_characters():
    remote = "Jobcan answered 502: " + "x" * 500
    for message in (
        str(ProviderError(remote)),
        str(MissingScopeError(remote, ["a"])),
        CheckResult(CheckStatus.ERROR, remote).message,
    ):
        assert len(message) == 200 and message.endswith("x…")
    assert str(ProviderError("short")) == "short"


class _Answers(BaseHTTPRequestHandler):
    """200 on /, and on /redirect a redirect to the metadata service."""

    def do_GET(self):
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
        else:
            self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def loopback_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answers)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_a_guarded_session_checks_each_request_as_it_is_sent(dns, loopback_server):
    """Saved while the name pointed at an allowed address, refused once it points at the metadata service."""
    dns["hr-proxy.example"] = ["127.0.0.1"]
    url = f"http://hr-proxy.example:{loopback_server.server_port}"
    with URLPolicy().guard(requests.Session()) as session:
        assert session.get(url + "/", timeout=5).status_code == 200
        with pytest.raises(URLNotAllowed, match=r"^169\.254\.169\.254 is a link-local address"):
            session.get(url + "/redirect", timeout=5)  # the redirect is refused before it is followed
        dns["hr-proxy.example"] = ["169.254.169.254"]
        with pytest.raises(URLNotAllowed, match=r"hr-proxy\.example \(169\.254\.169\.254\)"):
            session.get(url + "/", timeout=5)


def test_hub_allow_private_urls_is_read_from_the_environment(tmp_path):
    assert config_from_env(tmp_path, {})["HUB_ALLOW_PRIVATE_URLS"] is False
    assert config_from_env(tmp_path, {"HUB_ALLOW_PRIVATE_URLS": "1"})["HUB_ALLOW_PRIVATE_URLS"] is True
