"""HTTP access to the KING OF TIME WebAPI: the access token, the core's pace and retries, typed errors.

Everything about *how* to talk to KING OF TIME lives here; what the JSON means, and every name in it, lives in
:mod:`.mapping`. The API has no paging: a whole period of a company's totals or punches comes as one array
(15–17 MB for 1,000 employees × 40 days). Those two answers are parsed as they arrive (``ijson`` with its C
backend, ``yajl2_c``) and handed to the caller's ``read`` one date at a time, so neither is ever held whole,
as text or decoded; the small answers (employees, tokens, errors) are read whole.

Over 300 lines: one request path (pace, deadline, retries, typed errors) with its streaming parse, which must
share that path's retries and error handling, and the messages an admin reads for each failure.
"""

from __future__ import annotations

import codecs
import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar
from urllib.parse import quote

import requests

from hub.pacing import Pace
from hub.providers import (
    Deadline,
    DeadlineExceeded,
    ProviderAuthError,
    ProviderError,
    ProviderNetworkError,
    RateLimited,
    URLPolicy,
    shorten,
)
from hub_plugins.kingoftime import mapping
from hub_plugins.kingoftime.catalog import _

try:  # the C backend: the pure-Python one parses a sync's 32 MB many times slower than reading it whole
    import ijson

    _parser = ijson.get_backend("yajl2_c")
except ImportError:  # no ijson, or built without its C extension: answers are read whole (see _items_read_whole)
    _parser = None

log = logging.getLogger(__name__)

#: Answers retried with the pace's backoff (500 with code 300: maintenance or server trouble).
RETRY_STATUSES = frozenset({500, 502, 503, 504})
#: Bytes read from the socket at a time while parsing an answer as it arrives.
CHUNK_BYTES = 64 * 1024

T = TypeVar("T")


class RestrictedHours(ProviderError):
    """KING OF TIME refused a call inside its restricted hours (403, code 104)."""


@dataclass(frozen=True)
class ClientOptions:
    """Where to call KING OF TIME with which token, and the admin's ceiling; one per integration."""

    api_base: str  # with /v1.0
    access_token: str
    max_requests_per_second: float | None = None  # None: the pace finds the rate alone
    connect_timeout: float = 5.0
    read_timeout: float = 60.0  # a whole period of a large company comes in one answer
    url_policy: URLPolicy = field(default_factory=URLPolicy)

    def __repr__(self) -> str:  # the token never reaches a log line or traceback
        return f"ClientOptions(api_base={self.api_base!r}, access_token=<hidden>)"


class KingOfTimeClient:
    """GET requests for one provider call at the core's pace: the token, retries, typed errors.

    Every request is checked against ``options.url_policy`` as it is sent, waits for ``pace``, follows no
    redirect, and is retried while the run's retry budget lasts (or the ``deadline``, when it is bounded).
    """

    def __init__(
        self,
        options: ClientOptions,
        *,
        pace: Pace | None = None,
        sleep: Callable[[float], None] = time.sleep,
        deadline: Deadline | None = None,
    ):
        self.options = options
        self.pace = pace or Pace()
        self._sleep = sleep
        self._deadline = deadline or Deadline()
        if options.max_requests_per_second:
            self.pace.set_ceiling(options.max_requests_per_second)
        self._session = options.url_policy.guard(requests.Session())

    def __repr__(self) -> str:
        return f"KingOfTimeClient({self.options!r})"

    @property
    def requests(self) -> int:
        """HTTP requests made so far at this pace (the run's, when the pace is the run's)."""
        return self.pace.requests

    def close(self) -> None:
        self._session.close()

    # --- endpoints ------------------------------------------------------------------------------

    def token_available(self) -> bool:
        """Whether KING OF TIME accepts the token (allowed at any hour)."""
        path = mapping.TOKEN_AVAILABLE_PATH.format(token=quote(self.options.access_token, safe=""))
        return mapping.token_available(self.get(path, shown=mapping.TOKEN_AVAILABLE_PATH))

    def employees(self, as_of: date) -> list[dict]:
        return _array(self.get(mapping.EMPLOYEES_PATH, mapping.employees_query(as_of)), mapping.EMPLOYEES_PATH)

    def daily_workings(self, start: date, end: date, read: Callable[[Iterator[Any]], T] = list) -> T:
        """``read`` of the answer's dates as they are parsed (by default, the list of them)."""
        return self.get(mapping.DAILY_WORKINGS_PATH, mapping.range_query(start, end), read=read)

    def timerecords(
        self, start: date, end: date, employee_keys: Sequence[str], read: Callable[[Iterator[Any]], T] = list
    ) -> T:
        """``read`` of the answer's dates as they are parsed (by default, the list of them)."""
        return self.get(mapping.TIMERECORD_PATH, mapping.timerecord_query(start, end, employee_keys), read=read)

    # --- requests -------------------------------------------------------------------------------

    def get(
        self,
        path: str,
        params: Mapping[str, str] | None = None,
        *,
        shown: str | None = None,
        read: Callable[[Iterator[Any]], T] | None = None,
    ) -> Any:
        """The decoded JSON of ``GET path``; ``shown`` is how messages name the path (never with the token).

        With ``read``, the answer must be a JSON array: a successful one is parsed as it arrives, and what
        ``read`` makes of an iterator over its items is returned. ``read`` may be called again, from the
        start, when the connection fails midway and the request is retried.
        """
        shown = shown or path
        url = self.options.api_base.rstrip("/") + path
        attempt = 0
        while True:
            attempt += 1
            self.pace.wait(self._pause)
            try:
                response = self._session.get(
                    url,
                    params=params,
                    headers={"Authorization": f"Bearer {self.options.access_token}", "Accept": "application/json"},
                    timeout=self._deadline.timeout(self.options.connect_timeout, self.options.read_timeout),
                    allow_redirects=False,  # a redirect could lead past the URL policy
                    stream=True,  # the body is read below, inside this try: a connection lost midway is retried
                )
                with response:
                    streamed, body = self._body(response, read, shown)
            except requests.RequestException as exc:
                self._back_off(_network_error(exc), attempt)
                continue
            if streamed:
                self.pace.answered(response.status_code, response.headers)
                return body
            if response.status_code == mapping.THROTTLED_STATUS or mapping.throttled(body):
                # Either shape of "too many requests" teaches the pace the same (a flat 303 may come as any status).
                self.pace.answered(mapping.THROTTLED_STATUS, response.headers)
                self._wait_to_retry(_rate_limited(response), attempt)
                continue
            self.pace.answered(response.status_code, response.headers)
            if response.status_code in RETRY_STATUSES:
                self._wait_to_retry(_status_error(response, body, shown, self.options.access_token), attempt)
                continue
            if response.status_code >= 300:  # a redirect too: it is not followed
                raise _status_error(response, body, shown, self.options.access_token)
            if body is None:
                raise _not_json(shown)
            if read is not None:  # an answer read whole: an array all the same?
                return read(iter(_array(body, shown)))
            return body

    def _body(
        self, response: requests.Response, read: Callable[[Iterator[Any]], T] | None, shown: str
    ) -> tuple[bool, Any]:
        """(True, what ``read`` made of the items) for a successful answer that is an array and a ``read``; else
        (False, the decoded body, None when it is not JSON). Only a 200 answer opening with ``[`` is streamed:
        an error, a throttled answer (a flat object, whatever its status) or anything else is small and read
        whole, to be judged as before."""
        if read is None or response.status_code != 200:
            return False, _json(response.content)
        chunks = response.iter_content(CHUNK_BYTES)
        opening = b""
        for chunk in chunks:
            opening = chunk.lstrip()
            if opening.startswith(codecs.BOM_UTF8):
                opening = opening[len(codecs.BOM_UTF8) :].lstrip()
            if opening:
                break
        if not opening.startswith(b"["):
            return False, _json(opening + b"".join(chunks))
        items = _items(opening, chunks, shown, self._deadline)
        result = read(items)
        for _item in items:  # what ``read`` left: the answer is checked whole all the same
            pass
        return True, result

    def _pause(self, seconds: float) -> None:
        self._deadline.sleep(seconds, self._sleep)

    def _wait_to_retry(self, error: ProviderError, attempt: int) -> None:
        """Wait before retrying: a Retry-After is the pace's shared pause, otherwise a backoff. A rate limit whose
        wait would pass the deadline is reported as the rate limit it is: KING OF TIME did answer, in time."""
        limited = isinstance(error, RateLimited)
        paused = self.pace.paused_for()
        if limited and paused and paused >= self._deadline.remaining():
            raise error
        try:
            self._retry_or_raise(error, attempt)
        except DeadlineExceeded:
            if limited:
                raise error from None
            raise

    def _back_off(self, error: ProviderNetworkError, attempt: int) -> None:
        """Wait to retry after a network error. In a check, one before any answer is final: the admin is asking
        whether the URL and network are right, and they are not."""
        if self._deadline.bounded and not self.pace.answers:
            raise error
        self._retry_or_raise(error, attempt)

    def _retry_or_raise(self, error: ProviderError, attempt: int) -> None:
        """Wait for retry number ``attempt``, or raise ``error`` once the run's retry budget is spent (under a
        bounded deadline the deadline is the budget, kept by every wait and timeout)."""
        if not self.pace.before_retry(attempt, self._pause, bounded=self._deadline.bounded):
            raise type(error)(
                _(
                    "KING OF TIME answered no request successfully for %(seconds)d s; the last failure: %(error)s",
                    seconds=round(self.pace.stall_seconds),
                    error=str(error),
                )
            )


def _json(content: bytes) -> Any:
    try:
        return json.loads(content)
    except ValueError:  # UnicodeDecodeError too
        return None


def _array(body: Any, path: str) -> list[dict]:
    if not isinstance(body, list):
        raise _not_a_list(path)
    return body


def _items(opening: bytes, chunks: Iterable[bytes], shown: str, deadline: Deadline) -> Iterator[Any]:
    """The items of a JSON array arriving as ``opening`` then ``chunks``, each as soon as it is whole; a
    truncated or malformed answer raises a ProviderError once its fault is read. Numbers that are not integers
    come as floats, as ``json`` decodes them."""
    if _parser is None:
        yield from _items_read_whole(opening, chunks, shown)
        return
    try:
        # ijson pulls from a file: as fast as parsing bytes in memory, twice as fast as pushing chunks to it.
        yield from _parser.items(_Stream(opening, chunks, deadline), "item", use_float=True, buf_size=CHUNK_BYTES)
    except ijson.JSONError:
        raise _not_json(shown) from None


class _Stream:
    """An answer's bytes as a file for ijson: ``opening``, then ``chunks``, the deadline checked before each."""

    def __init__(self, opening: bytes, chunks: Iterable[bytes], deadline: Deadline):
        self._pending, self._chunks, self._deadline = opening, iter(chunks), deadline

    def read(self, size: int = -1) -> bytes:
        if size == 0:  # ijson asks once whether the file gives bytes
            return b""
        while not self._pending:
            self._deadline.check()
            chunk = next(self._chunks, None)
            if chunk is None:
                return b""
            self._pending = chunk
        if 0 < size < len(self._pending):
            data, self._pending = self._pending[:size], self._pending[size:]
        else:
            data, self._pending = self._pending, b""
        return data


_warned = False


def _items_read_whole(opening: bytes, chunks: Iterable[bytes], shown: str) -> Iterator[Any]:
    """Without ijson's C backend: the answer read whole, then decoded, as before streaming (more memory)."""
    global _warned
    if not _warned:
        _warned = True
        log.warning(
            "KING OF TIME: ijson's C backend (yajl2_c) is not available, so answers are read whole instead of "
            "as they arrive: install ijson with its C extension to keep a large sync's memory down"
        )
    body = _json(opening + b"".join(chunks))
    if body is None:
        raise _not_json(shown)
    yield from _array(body, shown)


def _not_json(path: str) -> ProviderError:
    return ProviderError(_("KING OF TIME answered %(path)s with something that is not JSON.", path=path))


def _not_a_list(path: str) -> ProviderError:
    return ProviderError(_("KING OF TIME answered %(path)s with something that is not a list.", path=path))


def _status_error(response: requests.Response, body: Any, path: str, secret: str) -> ProviderError:
    """The typed error of a refused call, with the message an admin reads (a quoted answer without ``secret``)."""
    status, codes = response.status_code, mapping.error_codes(body)
    if mapping.RESTRICTED_HOURS in codes:
        return RestrictedHours(
            _(
                "KING OF TIME refuses API calls from 08:30 to 10:00 and from 17:30 to 18:30 (JST). "
                "Sync outside those hours."
            )
        )
    if mapping.AUTH_FAILED in codes or status == 401:
        return ProviderAuthError(
            _(
                "KING OF TIME refused the token for %(path)s (code 100): a wrong token, this server's IP address "
                "not on the token's allowed addresses, or no Read right for this data.",
                path=path,
            )
        )
    detail = mapping.error_detail(body)
    if secret:
        detail = detail.replace(secret, "<token>")
    if mapping.SERVER_ERROR in codes:
        return ProviderError(
            _("KING OF TIME had a server error (code 300) for %(path)s; it may be under maintenance.", path=path)
        )
    if detail:
        return ProviderError(
            _(
                "KING OF TIME answered %(status)s for %(path)s: %(detail)s",
                status=status,
                path=path,
                detail=shorten(detail, 120),
            )
        )
    return ProviderError(_("KING OF TIME answered %(status)s for %(path)s.", status=status, path=path))


def _rate_limited(response: requests.Response) -> RateLimited:
    """KING OF TIME is throttling: say when to try again when it says so."""
    header = (response.headers.get("Retry-After") or "").strip()
    if header.isdigit():
        return RateLimited(
            _("KING OF TIME is limiting requests (too many requests; try again in %(seconds)s s).", seconds=int(header))
        )
    return RateLimited(_("KING OF TIME is limiting requests (too many requests; try again in a few minutes)."))


def _network_error(exc: requests.RequestException) -> ProviderNetworkError:
    # Only the exception's type: its text holds the URL, and a token check's URL holds the token.
    if isinstance(exc, requests.Timeout):
        return ProviderNetworkError(
            _(
                "KING OF TIME timed out (%(error)s). Check the URL and the network, then retry.",
                error=type(exc).__name__,
            )
        )
    return ProviderNetworkError(
        _(
            "KING OF TIME could not be reached (%(error)s). Check the URL and the network, then retry.",
            error=type(exc).__name__,
        )
    )
