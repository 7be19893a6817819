"""A fake KING OF TIME on loopback: the token endpoints and the read API of kingoftime-api.md, faults on demand.

One WSGI application serves ``/v1.0/…``. Checks run in this order: throttling and injected faults
(:mod:`.faults`), the Bearer token (403 code 100), then, for every endpoint but the token ones, the address
refusal (403 code 100) and the restricted hours (403 code 104), and last the parameters (400).
Over 300 lines: it is kingoftime-api.md as one server, endpoint by endpoint in the page's order, so that the
two can be read side by side; the generated data lives in :mod:`.data`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from hub_plugins.kingoftime.simulator.data import DIVISIONS, JST, SimulatedData, SimulatorConfig, generate_data
from hub_plugins.kingoftime.simulator.faults import TOKEN_ENDPOINTS, Faults

MAX_DAYS = 62
RESTRICTED_WINDOWS = ((clock_time(8, 30), clock_time(10, 0)), (clock_time(17, 30), clock_time(18, 30)))
RESTRICTED_MESSAGE = "次の時間帯(JST)はAPIへのアクセスが禁止されています（08:30～10:00、17:30～18:30）"
AUTH_FAILED = "認証に失敗しました"
SERVER_ERROR = "Resource Server Error."
THROTTLED_BODY = {"code": "303", "message": "Too Many Requests"}
PARAMETER_CODE = 200  # [assumed] the code of a 400 for bad parameters; clients match on the status
OPTIONAL_EMPLOYEE_FIELDS = ("hiredDate", "resignationDate", "emailAddresses")

# endpoint name → (rule, method)
ENDPOINTS = {
    "token_available": ("/v1.0/tokens/<token>/available", "GET"),
    "token_reissue": ("/v1.0/tokens/<token>", "POST"),
    "token_delete": ("/v1.0/tokens/<token>", "DELETE"),
    "employees": ("/v1.0/employees", "GET"),
    "daily_workings": ("/v1.0/daily-workings", "GET"),
    "timerecord": ("/v1.0/daily-workings/timerecord", "GET"),
    "divisions": ("/v1.0/divisions", "GET"),
}
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class ApiError(Exception):
    """An error answer: ``{"errors": [{"message", "code"}]}``, or ``body`` as given (the flat throttling body)."""

    def __init__(self, status: int, code: int, message: str, headers: dict | None = None, body: dict | None = None):
        super().__init__(message)
        self.status = status
        self.body = body or {"errors": [{"message": message, "code": code}]}
        self.headers = headers or {}


class _QuietRequestHandler(WSGIRequestHandler):
    """Werkzeug's handler without the per-request access log line; HTTP/1.1 keeps connections alive."""

    protocol_version = "HTTP/1.1"

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


def in_restricted_hours(moment: datetime) -> bool:
    """Whether ``moment`` (aware) falls in [08:30, 10:00) or [17:30, 18:30) JST."""
    local = moment.astimezone(JST).time()
    return any(start <= local < end for start, end in RESTRICTED_WINDOWS)


class KingOfTimeSimulator:
    """A deterministic fake KING OF TIME serving :class:`SimulatedData` over real HTTP; a context manager.

    ``stats`` counts requests: "total", one key per :data:`ENDPOINTS` name, and the answers "throttled" (either
    shape), "429", "403", "auth_failed", "address_refused", "restricted", "500" and "400".
    """

    def __init__(
        self, config: SimulatorConfig | None = None, port: int = 0, host: str = "127.0.0.1", log_requests: bool = False
    ):
        self.config = config or SimulatorConfig()
        self.data: SimulatedData = generate_data(self.config)
        self.stats: Counter[str] = Counter()
        self.access_token = self.config.access_token
        self._now: datetime | None = None
        self._host = host
        self._port = port
        self._log_requests = log_requests
        self._lock = threading.Lock()
        self._faults = Faults(self.config)
        self._reissued = 0
        self._urls = Map(
            [Rule(rule, endpoint=name, methods=[method]) for name, (rule, method) in ENDPOINTS.items()],
            strict_slashes=False,
        )
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ---

    def start(self) -> KingOfTimeSimulator:
        """Listen and serve in a daemon thread; ``url`` is valid afterwards."""
        if self._server is not None:
            raise RuntimeError("the simulator is already running")
        handler = WSGIRequestHandler if self._log_requests else _QuietRequestHandler
        self._server = make_server(self._host, self._port, self, threaded=True, request_handler=handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="kingoftime-simulator", daemon=True
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

    def __enter__(self) -> KingOfTimeSimulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """``http://host:port``: the hub's ``api_base_url`` (the API itself is under ``/v1.0``)."""
        if self._server is None:
            raise RuntimeError("start the simulator first")
        return f"http://{self._host}:{self._server.server_port}"

    # --- controls for tests and demos ---

    def now(self) -> datetime:
        """The simulator's clock: the time set by :meth:`set_now`, else ``config.clock()``."""
        return self._now or self.config.clock()

    def set_now(self, moment: datetime | None) -> None:
        """Fix the clock at ``moment`` (naive: JST), e.g. 09:00 to be inside a restricted window; None: unfix."""
        self._now = moment.replace(tzinfo=JST) if moment is not None and moment.tzinfo is None else moment

    def refuse_address(self, refused: bool = True) -> None:
        """From now on every call but the token endpoints answers 403 code 100, as for a disallowed address."""
        self.config.refuse_address = refused

    def rename_code(self, key: str, new_code: str) -> None:
        """Edit an employee's code as a customer can; the key stays (and so do its attendance records)."""
        with self._lock:
            employee = self.data.employee(key)
            if employee is None:
                raise KeyError(f"no employee with key {key}")
            if self.data.employee_by_code(new_code) not in (None, employee):
                raise ValueError(f"code {new_code} is taken")
            employee["code"] = new_code
            self.data.employees.sort(key=lambda e: e["code"])

    def fail_next(self, count: int, fault: str = "server_error", endpoint: str | None = None) -> None:
        """The next ``count`` calls get ``fault``: "server_error" (500 code 300), "throttled" (as
        ``config.throttle_shape``) or "refused" (403 code 100). ``endpoint`` (an :data:`ENDPOINTS` name) limits
        them to it; without it they hit any call but the token endpoints."""
        if endpoint is not None and endpoint not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {endpoint!r}; one of {', '.join(ENDPOINTS)}")
        self._faults.queue(count, fault, endpoint)

    def clear_faults(self) -> None:
        """Forget the faults queued by :meth:`fail_next` that have not been used yet."""
        self._faults.clear()

    def reset_stats(self) -> None:
        with self._lock:
            self.stats.clear()

    # --- WSGI ---

    def __call__(self, environ: dict, start_response: Any) -> Any:
        request = Request(environ)
        response = self._respond(request)
        with self._lock:
            if response.status_code in (400, 403, 429, 500):
                self.stats[str(response.status_code)] += 1
        return response(environ, start_response)

    def _respond(self, request: Request) -> Response:
        try:
            endpoint, arguments = self._urls.bind_to_environ(request.environ).match()
        except (NotFound, MethodNotAllowed) as error:
            self._note("total")
            return _error(ApiError(error.code or 404, error.code or 404, error.description or "not found"))
        except HTTPException as error:
            return error.get_response(request.environ)
        self._note("total", endpoint)
        if self.config.latency_ms:
            time.sleep(self.config.latency_ms / 1000)
        try:
            self._apply_fault(endpoint)
            self._authorize(request)
            if endpoint not in TOKEN_ENDPOINTS:
                self._check_access()
            return getattr(self, f"_{endpoint}")(request, **arguments)
        except ApiError as error:
            return _error(error)

    def _note(self, *kinds: str) -> None:
        with self._lock:
            self.stats.update(kinds)

    def _apply_fault(self, endpoint: str) -> None:
        verdict = self._faults.judge(endpoint)
        if verdict.fault == "throttled":
            self._note("throttled")
            if self.config.throttle_shape == "body303":
                raise ApiError(403, 303, "", body=THROTTLED_BODY)
            raise ApiError(429, 303, "", {"Retry-After": str(verdict.retry_after or 1)}, THROTTLED_BODY)
        if verdict.fault == "server_error":
            raise ApiError(500, 300, SERVER_ERROR)
        if verdict.fault == "refused":
            self._note("address_refused")
            raise ApiError(403, 100, AUTH_FAILED)

    def _authorize(self, request: Request) -> None:
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode(), self.access_token.encode()):
            self._note("auth_failed")
            raise ApiError(403, 100, AUTH_FAILED)

    def _check_access(self) -> None:
        if self.config.refuse_address:
            self._note("address_refused")
            raise ApiError(403, 100, AUTH_FAILED)
        if self.config.restricted_hours and in_restricted_hours(self.now()):
            self._note("restricted")
            raise ApiError(403, 104, RESTRICTED_MESSAGE)

    def _today(self) -> date:
        return self.now().astimezone(JST).date()

    # --- token endpoints ---

    def _token_available(self, request: Request, token: str) -> Response:
        return _json({"available": hmac.compare_digest(token.encode(), self.access_token.encode())})

    def _token_reissue(self, request: Request, token: str) -> Response:
        self._require_current(token)
        with self._lock:
            self._reissued += 1
            seed = f"kingoftime-simulator/{self.config.seed}/reissue/{self._reissued}"
            self.access_token = hashlib.sha256(seed.encode()).hexdigest()[:32]
        return _json({"token": self.access_token}, 201)

    def _token_delete(self, request: Request, token: str) -> Response:
        self._require_current(token)
        with self._lock:
            self.access_token = "deleted:" + hashlib.sha256(self.access_token.encode()).hexdigest()
        return Response(status=204)

    def _require_current(self, token: str) -> None:
        if not hmac.compare_digest(token.encode(), self.access_token.encode()):
            raise ApiError(403, 100, AUTH_FAILED)

    # --- API endpoints, named after ENDPOINTS ---

    def _employees(self, request: Request) -> Response:
        as_of = _parse_date(request.args["date"], "date") if "date" in request.args else self._today()
        self._check_range(as_of, as_of)
        include_resigner = request.args.get("includeResigner", "false").lower() == "true"
        division = request.args.get("division")
        asked = set(filter(None, request.args.get("additionalFields", "").split(",")))
        left_out = [name for name in OPTIONAL_EMPLOYEE_FIELDS if name not in asked]
        answer = []
        with self._lock:
            for employee in self.data.employees:
                if division and employee["divisionCode"] != division:
                    continue
                if not include_resigner and employee.get("resignationDate", "9999-12-31") < as_of.isoformat():
                    continue
                answer.append({name: value for name, value in employee.items() if name not in left_out})
        return _json(answer)

    def _daily_workings(self, request: Request) -> Response:
        days = self._period(request)
        division = request.args.get("division")
        with_employee = "currentDateEmployee" in request.args.get("additionalFields", "").split(",")
        with self._lock:
            answer = []
            for day in days:
                workings = []
                for employee in self.data.employees:
                    working = self.data.daily_workings.get((employee["key"], day))
                    if working is None or (division and working["workPlaceDivisionCode"] != division):
                        continue
                    workings.append(
                        working | {"currentDateEmployee": _snapshot(employee)} if with_employee else working
                    )
                answer.append({"date": day.isoformat(), "dailyWorkings": workings})
        return _json(answer)

    def _timerecord(self, request: Request) -> Response:
        days = self._period(request)
        wanted = set(filter(None, request.args.get("employeeKeys", "").split(",")))
        division = request.args.get("division")
        if wanted and division:
            raise ApiError(400, PARAMETER_CODE, "employeeKeys cannot be given with division")
        with self._lock:
            answer = []
            for day in days:
                items = []
                for employee in self.data.employees:
                    key = employee["key"]
                    working = self.data.daily_workings.get((key, day))
                    if working is None or (wanted and key not in wanted):
                        continue
                    if division and working["workPlaceDivisionCode"] != division:
                        continue
                    punches = self.data.time_records.get((key, day), [])
                    items.append({"date": day.isoformat(), "employeeKey": key, "timeRecord": punches})
                answer.append({"date": day.isoformat(), "dailyWorkings": items})
        return _json(answer)

    def _divisions(self, request: Request) -> Response:
        return _json(list(DIVISIONS))

    def _period(self, request: Request) -> list[date]:
        """The dates of ``start``–``end``: both required, in order, at most 62 days, within the allowed span."""
        if "start" not in request.args or "end" not in request.args:
            raise ApiError(400, PARAMETER_CODE, "start and end are required together")
        start = _parse_date(request.args["start"], "start")
        end = _parse_date(request.args["end"], "end")
        if end < start:
            raise ApiError(400, PARAMETER_CODE, "end is before start")
        if (end - start).days + 1 > MAX_DAYS:
            raise ApiError(400, PARAMETER_CODE, f"the period is longer than {MAX_DAYS} days")
        self._check_range(start, end)
        return [start + timedelta(days=offset) for offset in range((end - start).days + 1)]

    def _check_range(self, start: date, end: date) -> None:
        today = self._today()
        if start < today.replace(year=today.year - 3, day=min(today.day, 28)) or end > today + timedelta(days=366):
            raise ApiError(400, PARAMETER_CODE, "dates must be at most 3 years back and 1 year ahead")


def _snapshot(employee: dict) -> dict:
    return {name: employee[name] for name in ("divisionCode", "divisionName", "typeCode", "typeName", "code")} | {
        "lastName": employee["lastName"],
        "firstName": employee["firstName"],
    }


def _parse_date(value: str, name: str) -> date:
    if not _DATE.fullmatch(value):
        raise ApiError(400, PARAMETER_CODE, f"{name} must be a date YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ApiError(400, PARAMETER_CODE, f"{name} is not a valid date: {value}") from None


def _json(body: Any, status: int = 200, headers: dict | None = None) -> Response:
    text = json.dumps(body, ensure_ascii=False)
    return Response(text, status=status, headers=headers, content_type="application/json; charset=utf-8")


def _error(error: ApiError) -> Response:
    return _json(error.body, error.status, error.headers)


def fixed_clock(moment: datetime) -> Callable[[], datetime]:
    """A ``SimulatorConfig.clock`` that always reads ``moment`` (naive: JST)."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=JST)
    return lambda: aware
