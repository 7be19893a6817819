"""HTTP access to the Jobcan API: OAuth2 client credentials, retries, rate limit and key paging.

Everything about *how* to talk to Jobcan lives here; what the JSON means lives in :mod:`.mapping`.

Over 300 lines: the token request and the API calls share one set of rules (URL policy, pace, retries,
Retry-After, deadline), and one class holding both is what keeps those rules the same.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import requests
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from flask_babel import gettext as _

from hub.providers import (
    Deadline,
    MissingScopeError,
    ProviderAuthError,
    ProviderError,
    ProviderNetworkError,
    RateLimited,
    URLPolicy,
)
from hub_plugins.jobcan import mapping

SCOPES = ("employees.read", "summaries.create", "summaries.read", "adits.read")
ENVIRONMENTS = {
    "production": ("https://api-kintai.jobcan.jp", "https://api-auth-kintai.jobcan.jp"),
    "sandbox": ("https://sandbox-api-kintai.jobcan.jp", "https://sandbox-api-auth-kintai.jobcan.jp"),
}
RETRY_STATUSES = {429, 500, 502, 503, 504}
#: The scope each API path needs, to name it when Jobcan answers 403.
PATH_SCOPES = (
    ("/master/v1/employees", "employees.read"),
    ("/refresh", "summaries.create"),
    ("/attendance/v1/summaries", "summaries.read"),
    ("/attendance/v1/adits", "adits.read"),
)


@dataclass(frozen=True)
class ClientOptions:
    """Where and how fast to call Jobcan; one per integration."""

    api_base: str
    auth_base: str
    client_id: str
    client_secret: str
    requests_per_second: float = 5.0
    concurrency: int = 2
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    max_attempts: int = 5
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    retry_after_cap: float = 60.0
    url_policy: URLPolicy = field(default_factory=URLPolicy)

    def __repr__(self) -> str:  # the secret never reaches a log line or traceback
        return f"ClientOptions(api_base={self.api_base!r}, client_id={self.client_id!r}, secret=<hidden>)"


class RateLimit:
    """Spaces request starts at least ``1 / per_second`` apart across all threads of one client."""

    def __init__(self, per_second: float, sleep: Callable[[float], None] = time.sleep):
        self._interval = 1.0 / per_second if per_second > 0 else 0.0
        self._next = 0.0
        self._lock = threading.Lock()
        self._sleep = sleep

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self._interval
        if start > now:
            self._sleep(start - now)


class _TokenCache:
    """Access tokens per integration and credentials, shared by every client in the process."""

    def __init__(self):
        self._tokens: dict[tuple, dict] = {}
        self._lock = threading.Lock()

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
    """Calls the Jobcan API for one integration; counts every HTTP request it makes.

    Every request, the token's included, is checked against ``options.url_policy`` as it is sent, is paced,
    retried and given timeouts alike, and no wait or timeout runs past ``deadline``.
    """

    def __init__(
        self,
        key: str,
        options: ClientOptions,
        *,
        sleep: Callable[[float], None] = time.sleep,
        deadline: Deadline | None = None,
    ):
        self.options = options
        self._cache_key = (key, options.auth_base, options.client_id, options.client_secret)
        self._sleep = sleep
        self._deadline = deadline or Deadline()
        self._rate = RateLimit(options.requests_per_second, self._pause)
        self._local = threading.local()
        self._count_lock = threading.Lock()
        self.requests = 0
        self.granted_scopes: tuple[str, ...] = ()

    # --- token ----------------------------------------------------------------------------------

    def token(self, *, force: bool = False) -> dict:
        """A valid access token, from the cache unless expired or ``force``."""
        cached = None if force else TOKENS.get(self._cache_key)
        if cached is not None and cached.get("expires_at", float("inf")) > time.time() + 30:
            return cached
        token = self._fetch_token()
        TOKENS.put(self._cache_key, token)
        return token

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
            for attempt in range(1, self.options.max_attempts + 1):
                self._rate.wait()
                self._count()
                try:
                    token = oauth.fetch_token(
                        url, grant_type="client_credentials", timeout=self._timeout(), allow_redirects=False
                    )
                except _RetryableAnswer as exc:
                    if attempt == self.options.max_attempts:
                        raise _status_error(exc.response, "/oauth/token") from None
                    self._wait_to_retry(exc.response, attempt)
                    continue
                except OAuthError as exc:
                    if exc.error == "invalid_client":
                        raise ProviderAuthError(
                            "Jobcan refused the ID or secret access key (invalid_client). "
                            "Check both against the API client in Jobcan."
                        ) from exc
                    raise ProviderError(f"Jobcan refused the token request: {exc.error}") from exc
                except requests.RequestException as exc:
                    if attempt == self.options.max_attempts:
                        raise _network_error(exc) from exc
                    self._pause(self._backoff(attempt))
                    continue
                # No "scope" in the answer means all that was asked; an empty one means none was granted.
                granted = str(token["scope"] if "scope" in token else " ".join(SCOPES)).split()
                self.granted_scopes = tuple(scope for scope in SCOPES if scope in granted)
                return dict(token)
        finally:
            oauth.close()
        raise AssertionError("unreachable")

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
        attempt = 0
        while True:
            attempt += 1
            token = self.token()
            self._rate.wait()
            self._count()
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
                if attempt >= self.options.max_attempts:
                    raise _network_error(exc) from exc
                self._pause(self._backoff(attempt))
                continue
            if response.status_code == 401 and not renewed:
                # Tokens expire; Jobcan clients fetch a new one and retry once.
                TOKENS.drop(self._cache_key, token["access_token"])
                renewed = True
                attempt -= 1
                continue
            if response.status_code in RETRY_STATUSES:
                if attempt >= self.options.max_attempts:
                    raise _status_error(response, path)
                self._wait_to_retry(response, attempt)
                continue
            if response.status_code >= 300:  # a redirect too: it is not followed
                raise _status_error(response, path)
            try:
                return response.json()
            except ValueError as exc:
                raise ProviderError(f"Jobcan answered {path} with something that is not JSON.") from exc

    def _timeout(self) -> tuple[float, float]:
        return self._deadline.timeout(self.options.connect_timeout, self.options.read_timeout)

    def _pause(self, seconds: float) -> None:
        self._deadline.sleep(seconds, self._sleep)

    def _wait_to_retry(self, response: requests.Response, attempt: int) -> None:
        """Wait before retrying ``response``'s request. A 429 whose wait would pass the deadline is reported as
        the rate limit it is, saying when to try again: Jobcan did answer, in time."""
        delay = self._retry_delay(response, attempt)
        if response.status_code == 429 and delay >= self._deadline.remaining():
            raise _rate_limited(response)
        self._pause(delay)

    def _retry_delay(self, response: requests.Response, attempt: int) -> float:
        header = response.headers.get("Retry-After")
        if response.status_code == 429 and header and header.strip().isdigit():
            return min(float(header), self.options.retry_after_cap)
        return self._backoff(attempt)

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter."""
        return random.uniform(0, min(self.options.backoff_cap, self.options.backoff_base * 2 ** (attempt - 1)))

    def _count(self) -> None:
        with self._count_lock:
            self.requests += 1

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
        return RateLimited("Jobcan kept answering 429 (too many requests). Lower 'requests per second' or retry later.")
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
