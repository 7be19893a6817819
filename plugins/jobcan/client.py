"""HTTP access to the Jobcan API: OAuth2 client credentials, retries, rate limit and key paging.

Everything about *how* to talk to Jobcan lives here; what the JSON means lives in :mod:`.mapping`.

Over 300 lines: the token request and the API calls share one set of rules (URL policy, pace, retries,
Retry-After, deadline), and one class holding both is what keeps those rules the same. The pace and the retry
budget are the core's (:mod:`hub.pacing`); this module only applies them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import requests
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session

from hub.pacing import Pace
from hub.providers import (
    Deadline,
    DeadlineExceeded,
    MissingScopeError,
    ProviderAuthError,
    ProviderError,
    ProviderNetworkError,
    RateLimited,
    URLPolicy,
)
from hub_plugins.jobcan import mapping
from hub_plugins.jobcan.catalog import _

SCOPES = ("employees.read", "summaries.create", "summaries.read", "adits.read")
ENVIRONMENTS = {
    "production": ("https://api-kintai.jobcan.jp", "https://api-auth-kintai.jobcan.jp"),
    "sandbox": ("https://sandbox-api-kintai.jobcan.jp", "https://sandbox-api-auth-kintai.jobcan.jp"),
}
RETRY_STATUSES = {429, 500, 502, 503, 504}
#: 401s not counted as a refusal, per request, when the token had outlived its lifetime by the answer.
IN_FLIGHT_EXPIRIES = 5
#: The scope each API path needs, to name it when Jobcan answers 403.
PATH_SCOPES = (
    ("/master/v1/employees", "employees.read"),
    ("/refresh", "summaries.create"),
    ("/attendance/v1/summaries", "summaries.read"),
    ("/attendance/v1/adits", "adits.read"),
)


@dataclass(frozen=True)
class ClientOptions:
    """Where to call Jobcan, and the admin's limits; one per integration. The pace itself is the core's."""

    api_base: str
    auth_base: str
    client_id: str
    client_secret: str
    max_requests_per_second: float | None = None  # the admin's ceiling; None: the pace finds the rate alone
    concurrency: int = 8
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    url_policy: URLPolicy = field(default_factory=URLPolicy)

    def __repr__(self) -> str:  # the secret never reaches a log line or traceback
        return f"ClientOptions(api_base={self.api_base!r}, client_id={self.client_id!r}, secret=<hidden>)"


def token_margin(lifetime: float) -> float:
    """Seconds before expiry a token is renewed: a minute, but at most half its life (a 2 s token lives 1 s)."""
    return min(60.0, lifetime / 2)


class _TokenCache:
    """Access tokens per integration and credentials, shared by every client in the process; one fetch per key
    at a time, so threads that find the token expired together wait for one new token (single-flight)."""

    def __init__(self):
        self._tokens: dict[tuple, dict] = {}
        self._lock = threading.Lock()
        self._fetching: dict[tuple, threading.Lock] = {}

    def get(self, key: tuple) -> dict | None:
        with self._lock:
            return self._tokens.get(key)

    def put(self, key: tuple, token: dict) -> None:
        with self._lock:
            self._tokens[key] = token

    def drop(self, key: tuple, access_token: str | None = None) -> None:
        with self._lock:
            current = self._tokens.get(key)
            if current is not None and (access_token is None or current.get("access_token") == access_token):
                del self._tokens[key]

    def fetch_lock(self, key: tuple) -> threading.Lock:
        with self._lock:
            return self._fetching.setdefault(key, threading.Lock())


TOKENS = _TokenCache()


class _RetryableAnswer(Exception):
    """The token endpoint answered 429 or 5xx: retried as an API call is (Authlib would raise at once)."""

    def __init__(self, response: requests.Response):
        super().__init__(response.status_code)
        self.response = response


def _raise_retryable(response: requests.Response) -> requests.Response:
    if response.status_code in RETRY_STATUSES:
        raise _RetryableAnswer(response)
    return response


class JobcanClient:
    """Calls the Jobcan API for one integration at the core's pace.

    Every request, the token's included, is checked against ``options.url_policy`` as it is sent, waits for
    ``pace``, and is retried and given timeouts alike: while the run's retry budget lasts (``pace``), or the
    ``deadline`` when it is bounded (a connection check).
    """

    def __init__(
        self,
        key: str,
        options: ClientOptions,
        *,
        pace: Pace | None = None,
        sleep: Callable[[float], None] = time.sleep,
        deadline: Deadline | None = None,
        wall: Callable[[], float] = time.time,
    ):
        self.options = options
        self._cache_key = (key, options.auth_base, options.client_id, options.client_secret)
        self._sleep, self._wall = sleep, wall
        self._deadline = deadline or Deadline()
        self.pace = pace or Pace()
        if options.max_requests_per_second:
            self.pace.set_ceiling(options.max_requests_per_second)
        self._local = threading.local()
        self.granted_scopes: tuple[str, ...] = ()

    @property
    def requests(self) -> int:
        """HTTP requests made so far at this pace (the run's, when the pace is the run's)."""
        return self.pace.requests

    # --- token ----------------------------------------------------------------------------------

    def token(self, *, force: bool = False) -> dict:
        """A valid access token, from the cache unless about to expire or ``force``; one fetch at a time."""
        token = None if force else TOKENS.get(self._cache_key)
        if not self._fresh(token):
            with TOKENS.fetch_lock(self._cache_key):
                token = None if force else TOKENS.get(self._cache_key)  # another thread may have just fetched it
                if not self._fresh(token):
                    token = self._fetch_token()
                    TOKENS.put(self._cache_key, token)
        self.granted_scopes = token["granted_scopes"]
        return token

    def _fresh(self, token: dict | None) -> bool:
        if token is None:
            return False
        return token["expires_at"] - token_margin(token["lifetime"]) > self._wall()

    def _fetch_token(self) -> dict:
        oauth = OAuth2Session(
            self.options.client_id,
            self.options.client_secret,
            token_endpoint_auth_method="client_secret_basic",
            scope=" ".join(SCOPES),
        )
        self.options.url_policy.guard(oauth)
        oauth.register_compliance_hook("access_token_response", _raise_retryable)
        url = self.options.auth_base.rstrip("/") + "/oauth/token"
        try:
            attempt = 0
            while True:
                attempt += 1
                self.pace.wait(self._pause)
                fetched_at = self._wall()
                try:
                    token = oauth.fetch_token(
                        url, grant_type="client_credentials", timeout=self._timeout(), allow_redirects=False
                    )
                except _RetryableAnswer as exc:
                    self.pace.answered(exc.response.status_code, exc.response.headers)
                    self._wait_to_retry(exc.response, attempt, "/oauth/token")
                    continue
                except OAuthError as exc:
                    if exc.error == "invalid_client":
                        raise ProviderAuthError(
                            "Jobcan refused the ID or secret access key (invalid_client). "
                            "Check both against the API client in Jobcan."
                        ) from exc
                    raise ProviderError(f"Jobcan refused the token request: {exc.error}") from exc
                except requests.RequestException as exc:
                    self._back_off(_network_error(exc), attempt)
                    continue
                self.pace.answered(200, {})
                # No "scope" in the answer means all that was asked; an empty one means none was granted.
                granted = str(token["scope"] if "scope" in token else " ".join(SCOPES)).split()
                lifetime = float(token.get("expires_in") or 3600)
                return {
                    **token,
                    "granted_scopes": tuple(scope for scope in SCOPES if scope in granted),
                    "lifetime": lifetime,
                    "expires_at": fetched_at + lifetime,
                }
        finally:
            oauth.close()

    # --- requests -------------------------------------------------------------------------------

    def get(self, path: str, params: Mapping[str, Any] | list | None = None) -> dict:
        return self._call("GET", path, params=params)

    def post_json(self, path: str, body: Mapping[str, Any]) -> dict:
        return self._call("POST", path, json=body)

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = self.options.url_policy.guard(requests.Session())
        return session

    def close(self) -> None:
        session = getattr(self._local, "session", None)
        if session is not None:
            session.close()

    def _call(self, method: str, path: str, **kwargs) -> dict:
        url = self.options.api_base.rstrip("/") + path
        renewed = False
        attempt = in_flight = 0
        while True:
            attempt += 1
            self.pace.wait(self._pause)
            token = self.token()  # after the wait, which may outlast a short-lived token
            try:
                response = self._session().request(
                    method,
                    url,
                    headers={"Authorization": f"Bearer {token['access_token']}"},
                    timeout=self._timeout(),
                    allow_redirects=False,  # a redirect could lead past the URL policy
                    **kwargs,
                )
            except requests.RequestException as exc:
                self._back_off(_network_error(exc), attempt)
                continue
            self.pace.answered(response.status_code, response.headers)
            if response.status_code == 401 and (
                not renewed or (in_flight < IN_FLIGHT_EXPIRIES and self._expired(token))
            ):
                # Tokens expire; Jobcan clients fetch a new one and retry once. A token that outlived its lifetime
                # while the request was on its way (a short-lived token, a slow answer) was not refused: the
                # retry with a new one is not counted, up to a few times.
                TOKENS.drop(self._cache_key, token["access_token"])
                in_flight += renewed
                renewed = True
                attempt -= 1
                continue
            if response.status_code in RETRY_STATUSES:
                self._wait_to_retry(response, attempt, path)
                continue
            if response.status_code >= 300:  # a redirect too: it is not followed
                raise _status_error(response, path)
            try:
                return response.json()
            except ValueError as exc:
                raise ProviderError(f"Jobcan answered {path} with something that is not JSON.") from exc

    def _expired(self, token: dict) -> bool:
        """Whether ``token``'s lifetime, counted from when it was asked for, has passed by now."""
        return self._wall() >= token["expires_at"]

    def _timeout(self) -> tuple[float, float]:
        return self._deadline.timeout(self.options.connect_timeout, self.options.read_timeout)

    def _pause(self, seconds: float) -> None:
        self._deadline.sleep(seconds, self._sleep)

    def _wait_to_retry(self, response: requests.Response, attempt: int, path: str) -> None:
        """Wait before retrying ``response``'s request: a 429's Retry-After is the pace's, for every thread;
        otherwise a backoff. A 429 whose wait would pass the deadline is reported as the rate limit it is,
        saying when to try again: Jobcan did answer, in time."""
        paused = self.pace.paused_for()
        if response.status_code == 429 and paused and paused >= self._deadline.remaining():
            raise _rate_limited(response)
        try:
            self._retry_or_raise(_status_error(response, path), attempt)
        except DeadlineExceeded:
            if response.status_code == 429:
                raise _rate_limited(response) from None
            raise

    def _back_off(self, error: ProviderNetworkError, attempt: int) -> None:
        """Wait to retry after a network error. In a check, one before any answer is final: the admin is asking
        whether the URL and network are right, and they are not."""
        if self._deadline.bounded and not self.pace.answers:
            raise error
        self._retry_or_raise(error, attempt)

    def _retry_or_raise(self, error: ProviderError, attempt: int) -> None:
        """Wait for retry number ``attempt``, or raise ``error`` once the run's retry budget is spent. Under a
        bounded deadline (a check) the deadline is the budget, kept by every wait and timeout."""
        if not self.pace.before_retry(attempt, self._pause, bounded=self._deadline.bounded):
            raise type(error)(
                _(
                    "Jobcan answered no request successfully for %(seconds)d s; the last failure: %(error)s",
                    seconds=round(self.pace.stall_seconds),
                    error=str(error),
                )
            )

    # --- paging ---------------------------------------------------------------------------------

    def paged(self, path: str, items_key: str, id_key: str, params: Mapping[str, Any] | None = None) -> Iterator[dict]:
        """Every item of a list endpoint, following ``last_id`` until a page is shorter than 100."""
        last_id = 0
        while True:
            query = {**(params or {}), mapping.PAGE_AFTER: last_id, mapping.PAGE_COUNT: mapping.PAGE_SIZE}
            page = self.get(path, query).get(items_key) or []
            yield from page
            # `count` counts ids (employees), not items: an adit page carries all punches of its employees.
            if len({item[id_key] for item in page}) < mapping.PAGE_SIZE:
                return
            last_id = int(page[-1][id_key])

    # --- endpoints ------------------------------------------------------------------------------

    def employees(self) -> list[dict]:
        return list(self.paged("/master/v1/employees", mapping.EMPLOYEES, mapping.EMPLOYEE_ID))

    def daily_summaries(self, day: date) -> list[dict]:
        path, day_only = "/attendance/v1/summaries/daily", {mapping.DATE_PARAMETER: day.isoformat()}
        return list(self.paged(path, mapping.DAILY_SUMMARIES, mapping.SUMMARY_EMPLOYEE_ID, day_only))

    def adits(self, day: date) -> list[dict]:
        day_only = {mapping.DATE_PARAMETER: day.isoformat()}
        return list(self.paged("/attendance/v1/adits", mapping.ADITS, mapping.ADIT_EMPLOYEE_ID, day_only))

    def refresh(self, employee_id: str, start: date, end_exclusive: date) -> bool:
        """Ask Jobcan to recalculate one employee's summaries; True while it is still recalculating."""
        path = f"/attendance/v1/summaries/daily/{employee_id}/refresh"
        return mapping.refresh_processing(self.post_json(path, mapping.refresh_body(start, end_exclusive)))


def scope_for(path: str) -> str | None:
    for fragment, scope in PATH_SCOPES:
        if fragment in path:
            return scope
    return None


def _status_error(response: requests.Response, path: str) -> ProviderError:
    status = response.status_code
    if status == 403:
        scope = scope_for(path)
        return MissingScopeError(
            f"The Jobcan API client lacks the scope {scope}. Add it to the client in Jobcan "
            "(基本情報設定 → 他社システム連携 → APIクライアント).",
            scopes=[scope] if scope else [],
        )
    if status == 429:
        return RateLimited(_("Jobcan answered 429 (too many requests)."))
    if status == 401:
        return ProviderAuthError("Jobcan refused the access token twice; check the ID and secret access key.")
    try:
        detail = mapping.error_detail(response.json())
    except ValueError:
        detail = ""
    return ProviderError(f"Jobcan answered {status} for {path}" + (f": {detail}" if detail else "."))


def _rate_limited(response: requests.Response) -> RateLimited:
    """Jobcan answered 429 asking for a wait longer than the call may take."""
    header = (response.headers.get("Retry-After") or "").strip()
    if header.isdigit():
        return RateLimited(_("Jobcan is limiting requests (try again in %(seconds)s s).", seconds=int(header)))
    return RateLimited(_("Jobcan is limiting requests (try again in a few minutes)."))


def _network_error(exc: requests.RequestException) -> ProviderNetworkError:
    kind = "timed out" if isinstance(exc, requests.Timeout) else "could not be reached"
    return ProviderNetworkError(f"Jobcan {kind} ({type(exc).__name__}). Check the URL and the network, then retry.")
