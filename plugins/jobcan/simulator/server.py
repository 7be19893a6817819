"""A fake Jobcan on loopback: the token endpoint and the API of jobcan-api.md, with faults on demand.

One WSGI application serves both the auth base (``/oauth/token``) and the API base (``/master/v1/…``,
``/attendance/v1/…``). Checks run in this order: injected fault (rate limit, 429/5xx, dropped connection;
:mod:`.faults`), 401, 403, 415, 404, 400.
Over 300 lines: it is jobcan-api.md as one server, endpoint by endpoint in the page's order, so that the two
can be read side by side; the generated data lives in :mod:`.data`.
"""

from __future__ import annotations

import hmac
import json
import re
import secrets
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from hub_plugins.jobcan.simulator.data import SCOPES, SimulatedData, SimulatorConfig, adit, generate_data
from hub_plugins.jobcan.simulator.faults import Faults

MAX_COUNT = 100
MAX_DATES = 31
MAX_REFRESH_DAYS = 31

# endpoint name → (rule, method, scope); "token" needs client credentials instead of a scope.
ENDPOINTS = {
    "token": ("/oauth/token", "POST", None),
    "employees": ("/master/v1/employees", "GET", "employees.read"),
    "summaries": ("/attendance/v1/summaries/daily", "GET", "summaries.read"),
    "summaries_one": ("/attendance/v1/summaries/daily/<int:employee_id>", "GET", "summaries.read"),
    "refresh": ("/attendance/v1/summaries/daily/<int:employee_id>/refresh", "POST", "summaries.create"),
    "adits": ("/attendance/v1/adits", "GET", "adits.read"),
    "adits_one": ("/attendance/v1/adits/<int:employee_id>", "GET", "adits.read"),
}

_ERROR_CODES = {
    400: "invalid_parameter",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    415: "unsupported_media_type",
    429: "too_many_requests",
    500: "internal_server_error",
    502: "bad_gateway",
    503: "service_unavailable",
}
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class ApiError(Exception):
    """An error answer: ``{"errors": [{"code", "message"}]}`` on the API, RFC 6749 shape on the token endpoint."""

    def __init__(self, status: int, message: str, code: str | None = None, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or _ERROR_CODES.get(status, "error")
        self.headers = headers or {}


@dataclass
class _Token:
    scopes: frozenset[str]
    expires_at: float  # on the simulator's clock


class _Dropped(ConnectionError):
    """Raised after closing the client's socket: Werkzeug takes it for a client gone and sends nothing."""


class _QuietRequestHandler(WSGIRequestHandler):
    """Werkzeug's handler without the per-request access log line (errors are still logged).

    HTTP/1.1 keeps connections alive between requests, as Jobcan's servers do.
    """

    protocol_version = "HTTP/1.1"

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


class JobcanSimulator:
    """A deterministic fake Jobcan serving :class:`SimulatedData` over real HTTP; use it as a context manager.

    ``stats`` counts requests: "total", one key per endpoint, and the answers "429" (any cause), "rate_limited"
    (429s of the token bucket), "dropped" and "slow". ``last_success`` is the clock's time of the latest 2xx
    answer. ``clock`` (monotonic seconds) drives token lifetimes and the token bucket.
    """

    def __init__(
        self,
        config: SimulatorConfig | None = None,
        port: int = 0,
        host: str = "127.0.0.1",
        log_requests: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.config = config or SimulatorConfig()
        self.data: SimulatedData = generate_data(self.config)
        self.stats: Counter[str] = Counter()
        self.last_success: float | None = None
        self._host = host
        self._port = port
        self._log_requests = log_requests
        self._clock = clock
        self._lock = threading.Lock()
        self._faults = Faults(self.config, clock)
        self._tokens: dict[str, _Token] = {}
        self._refresh_calls: Counter[tuple[int, date, date]] = Counter()
        self._urls = Map([Rule(rule, endpoint=name, methods=[method]) for name, (rule, method, _) in ENDPOINTS.items()])
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ---

    def start(self) -> JobcanSimulator:
        """Listen and serve in a daemon thread; ``url`` is valid afterwards."""
        if self._server is not None:
            raise RuntimeError("the simulator is already running")
        handler = WSGIRequestHandler if self._log_requests else _QuietRequestHandler
        self._server = make_server(self._host, self._port, self, threaded=True, request_handler=handler)
        # A short poll interval makes stop() quick, which matters to tests that start many simulators.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="jobcan-simulator", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the listening socket; safe to call twice."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = None
        self._thread = None

    def __enter__(self) -> JobcanSimulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """``http://host:port``, both the API base and the auth base."""
        if self._server is None:
            raise RuntimeError("start the simulator first")
        return f"http://{self._host}:{self._server.server_port}"

    @property
    def client_id(self) -> str:
        return self.config.client_id

    @property
    def client_secret(self) -> str:
        return self.config.client_secret

    # --- controls for tests and demos ---

    def fail_next(self, count: int, status: int = 500, retry_after: int | None = None, endpoint: str | None = None):
        """The next ``count`` API calls answer ``status`` (with Retry-After when given).

        ``endpoint`` (an :data:`ENDPOINTS` name, "token" included) limits the faults to that endpoint; without
        it they hit any API call but never the token endpoint. Calls queue up: earlier faults are used first.
        """
        if endpoint is not None and endpoint not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {endpoint!r}; one of {', '.join(ENDPOINTS)}")
        if not 400 <= status <= 599:
            raise ValueError("status must be an error status (400–599)")
        self._faults.queue(count, status, retry_after, endpoint)

    def clear_faults(self) -> None:
        """Forget the faults queued by :meth:`fail_next` that have not been used yet."""
        self._faults.clear()

    def expire_tokens(self) -> None:
        """Every token issued so far answers 401 from now on."""
        with self._lock:
            for token in self._tokens.values():
                token.expires_at = float("-inf")

    def set_day(self, employee_id: int, day: date, summary: dict | None, adits: list[str] | None) -> None:
        """Replace one day's data: ``summary`` as given (employee_id and date filled in), ``adits`` as ISO
        timestamps in the order given; ``None`` removes that part."""
        employee = self.data.employee(employee_id)
        if employee is None:
            raise KeyError(f"no employee with id {employee_id}")
        key = (employee_id, day)
        with self._lock:
            self.data.day_kinds.pop(key, None)
            if summary is None:
                self.data.summaries.pop(key, None)
            else:
                self.data.summaries[key] = {"employee_id": employee_id, "date": day.isoformat(), **summary}
            if adits is None:
                self.data.adits.pop(key, None)
            else:
                self.data.adits[key] = [adit(employee, day, 0) | {"recorded_at": at} for at in adits]

    def reset_stats(self) -> None:
        with self._lock:
            self.stats.clear()

    # --- WSGI ---

    def __call__(self, environ: dict, start_response: Any) -> Any:
        request = Request(environ)
        response = self._respond(request)
        with self._lock:
            if response.status_code == 429:
                self.stats["429"] += 1
            elif response.status_code < 300:
                self.last_success = self._clock()
        return response(environ, start_response)

    def _respond(self, request: Request) -> Response:
        try:
            endpoint, arguments = self._urls.bind_to_environ(request.environ).match()
        except (NotFound, MethodNotAllowed) as error:
            self._count(None)
            return _api_error(ApiError(error.code or 404, error.description or "not found"))
        except HTTPException as error:  # e.g. a redirect to the canonical URL
            return error.get_response(request.environ)
        self._count(endpoint)
        if self.config.latency_ms:
            time.sleep(self.config.latency_ms / 1000)
        error_answer = _oauth_error if endpoint == "token" else _api_error
        try:
            self._apply_fault(request, endpoint)
            if endpoint == "token":
                return _json(self._token(request), headers={"Cache-Control": "no-store"})
            self._authorize(request, ENDPOINTS[endpoint][2])
            return _json(getattr(self, f"_{endpoint}")(request, **arguments))
        except ApiError as error:
            return error_answer(error)

    def _count(self, endpoint: str | None) -> None:
        with self._lock:
            self.stats["total"] += 1
            if endpoint:
                self.stats[endpoint] += 1

    def _note(self, kind: str) -> None:
        with self._lock:
            self.stats[kind] += 1

    def _apply_fault(self, request: Request, endpoint: str) -> None:
        """Raise this request's fault as an error answer, drop its connection, or delay it (see :mod:`.faults`)."""
        verdict = self._faults.judge(endpoint)
        if verdict.status is not None:
            if verdict.limited:
                self._note("rate_limited")
            headers = {"Retry-After": str(verdict.retry_after)} if verdict.retry_after is not None else {}
            raise ApiError(verdict.status, f"simulated {verdict.status}", headers=headers)
        if verdict.drop:
            self._note("dropped")
            # Read the body first, or the server would parse it as the next request; then shut the socket down
            # so the client sees the connection end at once, without a status line.
            request.get_data()
            request.environ["werkzeug.socket"].shutdown(socket.SHUT_RDWR)
            raise _Dropped(f"dropped {endpoint}")
        if verdict.delay:
            self._note("slow")
            time.sleep(verdict.delay)

    # --- token endpoint ---

    def _token(self, request: Request) -> dict:
        credentials = request.authorization
        if (
            credentials is None
            or credentials.type != "basic"
            or not hmac.compare_digest(str(credentials.username).encode(), self.client_id.encode())
            or not hmac.compare_digest(str(credentials.password).encode(), self.client_secret.encode())
        ):
            raise ApiError(
                401,
                "wrong client ID or secret, or no Basic authorization",
                "invalid_client",
                {"WWW-Authenticate": 'Basic realm="jobcan"'},
            )
        if request.mimetype != "application/x-www-form-urlencoded":
            raise ApiError(400, "the body must be application/x-www-form-urlencoded", "invalid_request")
        grant_type = request.form.get("grant_type")
        if not grant_type:
            raise ApiError(400, "grant_type is required", "invalid_request")
        if grant_type != "client_credentials":
            raise ApiError(400, f"grant_type {grant_type!r} is not supported", "unsupported_grant_type")
        requested = request.form.get("scope")
        names = SCOPES if requested is None else requested.split()
        unknown = [name for name in names if name not in SCOPES]
        if unknown:
            raise ApiError(400, f"unknown scope: {' '.join(unknown)}", "invalid_scope")
        granted = [scope for scope in SCOPES if scope in names and scope in self.config.granted_scopes]
        access_token = f"sim-{secrets.token_urlsafe(24)}"
        with self._lock:
            self._tokens[access_token] = _Token(frozenset(granted), self._clock() + self.config.token_lifetime)
        return {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": self.config.token_lifetime,
            "scope": " ".join(granted),
        }

    def _authorize(self, request: Request, scope: str) -> None:
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        value = value.strip()
        challenge = {"WWW-Authenticate": 'Bearer realm="jobcan"'}
        if scheme.lower() != "bearer" or not value:
            raise ApiError(401, "a Bearer token is required", headers=challenge)
        with self._lock:
            token = self._tokens.get(value)
        if token is None:
            raise ApiError(401, "the access token is invalid", headers=challenge)
        if token.expires_at <= self._clock():
            raise ApiError(401, "the access token has expired", headers=challenge)
        if scope not in token.scopes:
            raise ApiError(403, f"the access token lacks the scope {scope}")

    # --- API endpoints, named after ENDPOINTS ---

    def _employees(self, request: Request) -> dict:
        last_id, count = _paging(request)
        with self._lock:
            page = [e for e in self.data.employees if e["id"] > last_id][:count]
        return {"employees": page}

    def _summaries(self, request: Request) -> dict:
        day = _one_date(request)
        last_id, count = _paging(request)
        page: list[dict] = []
        with self._lock:
            for employee in self.data.employees:
                summary = self.data.summaries.get((employee["id"], day))
                if employee["id"] > last_id and summary is not None:
                    page.append(summary)
                    if len(page) == count:
                        break
        return {"daily_summaries": page}

    def _summaries_one(self, request: Request, employee_id: int) -> dict:
        self._require_employee(employee_id)
        values = request.args.getlist("date")
        if not 1 <= len(values) <= MAX_DATES:
            raise ApiError(400, f"give 1–{MAX_DATES} date parameters, not {len(values)}")
        days = sorted({_parse_date(value, "date") for value in values})
        with self._lock:
            found = [self.data.summaries.get((employee_id, day)) for day in days]
        return {"daily_summaries": [summary for summary in found if summary is not None]}

    def _refresh(self, request: Request, employee_id: int) -> dict:
        if request.mimetype != "application/json":
            raise ApiError(415, "the body must be application/json")
        self._require_employee(employee_id)
        try:
            body = json.loads(request.get_data(as_text=True))
            period = body["conditions"]["range"]
            start, end = _parse_date(period["from"], "from"), _parse_date(period["to"], "to")
        except (ValueError, KeyError, TypeError):
            raise ApiError(400, 'the body must be {"conditions": {"range": {"from": …, "to": …}}}') from None
        if not start < end:
            raise ApiError(400, "the range is empty: from must be before to (to is exclusive)")
        if end - start > timedelta(days=MAX_REFRESH_DAYS):
            raise ApiError(400, f"the range is longer than {MAX_REFRESH_DAYS} days")
        key = (employee_id, start, end)
        with self._lock:
            if self._refresh_calls[key] < self.config.refresh_polls:
                self._refresh_calls[key] += 1
                return {"refresh": {"status": "processing"}}
            del self._refresh_calls[key]  # the next refresh of this range starts a new job
        return {"refresh": {"status": "finished"}}

    def _adits(self, request: Request) -> dict:
        day = _one_date(request)
        last_id, count = _paging(request)
        page: list[dict] = []
        employees_on_page = 0
        with self._lock:
            for employee in self.data.employees:
                punches = self.data.adits.get((employee["id"], day))
                if employee["id"] > last_id and punches:
                    page.extend(punches)
                    employees_on_page += 1
                    if employees_on_page == count:
                        break
        return {"adits": page}

    def _adits_one(self, request: Request, employee_id: int) -> dict:
        self._require_employee(employee_id)
        day = _one_date(request)
        with self._lock:
            punches = list(self.data.adits.get((employee_id, day), []))
        return {"adits": punches}

    def _require_employee(self, employee_id: int) -> None:
        with self._lock:
            if self.data.employee(employee_id) is None:
                raise ApiError(404, f"no employee with id {employee_id}")


def _paging(request: Request) -> tuple[int, int]:
    last_id = _int_parameter(request, "last_id", 0)
    count = _int_parameter(request, "count", MAX_COUNT)
    if last_id < 0:
        raise ApiError(400, "last_id cannot be negative")
    if not 1 <= count <= MAX_COUNT:
        raise ApiError(400, f"count must be 1–{MAX_COUNT}")
    return last_id, count


def _int_parameter(request: Request, name: str, default: int) -> int:
    value = request.args.get(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise ApiError(400, f"{name} must be an integer") from None


def _one_date(request: Request) -> date:
    values = request.args.getlist("date")
    if len(values) != 1:
        raise ApiError(400, "give exactly one date parameter")
    return _parse_date(values[0], "date")


def _parse_date(value: Any, name: str) -> date:
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise ApiError(400, f"{name} must be a date YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ApiError(400, f"{name} is not a valid date: {value}") from None


def _json(body: dict, status: int = 200, headers: dict | None = None) -> Response:
    text = json.dumps(body, ensure_ascii=False)
    return Response(text, status=status, headers=headers, content_type="application/json; charset=utf-8")


def _api_error(error: ApiError) -> Response:
    return _json({"errors": [{"code": error.code, "message": error.message}]}, error.status, error.headers)


def _oauth_error(error: ApiError) -> Response:
    code = error.code
    if error.status >= 500:
        code = "server_error"
    elif error.status == 429:
        code = "temporarily_unavailable"
    elif code in _ERROR_CODES.values():  # a fault injected with another status
        code = "invalid_request"
    return _json({"error": code, "error_description": error.message}, error.status, error.headers)
