"""The KING OF TIME provider: what the core calls to check the token and fetch members and attendance."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import partial
from zoneinfo import ZoneInfo

from hub.blackout import BlackoutWindow, next_allowed, window_at
from hub.providers import (
    CheckResult,
    CheckStatus,
    Progress,
    Provider,
    ProviderAuthError,
    ProviderError,
    ProviderNetworkError,
    ProviderSettings,
    RateLimited,
)
from hub.records import DayRecord, RejectedRecord, RemoteMember
from hub_plugins.kingoftime import mapping
from hub_plugins.kingoftime.catalog import _
from hub_plugins.kingoftime.client import ClientOptions, KingOfTimeClient, RestrictedHours
from hub_plugins.kingoftime.forms import KingOfTimeSettingsForm

#: The right /employees needs, named when KING OF TIME refuses it to a valid token.
EMPLOYEES_RIGHT = "employees"


def api_base(settings: ProviderSettings) -> str:
    """The API's base URL with its version: production, or the custom root the admin gave."""
    if (settings.get("environment") or "production") == "custom":
        root = str(settings.get("api_base_url") or "").rstrip("/")
        return root if root.endswith(mapping.API_VERSION_PATH) else root + mapping.API_VERSION_PATH
    return mapping.PRODUCTION_URL + mapping.API_VERSION_PATH


def client_options(settings: ProviderSettings) -> ClientOptions:
    """Connection options from an integration's settings; ``requests_per_second`` is the admin's ceiling (blank or
    0: none, the pace finds the rate)."""
    ceiling = settings.get("requests_per_second")
    return ClientOptions(
        api_base=api_base(settings),
        access_token=str(settings.get("access_token") or ""),
        max_requests_per_second=float(ceiling) if ceiling not in (None, "") and float(ceiling) > 0 else None,
        url_policy=settings.url_policy,
    )


class KingOfTimeProvider(Provider):
    """KING OF TIME through its WebAPI (a fixed access token issued in KING OF TIME)."""

    name = "kingoftime"
    label = "KING OF TIME"
    settings_title = "KING OF TIME"
    settings_form = KingOfTimeSettingsForm

    def __init__(self, sleep: Callable[[float], None] = time.sleep, now: Callable[[], datetime] | None = None):
        self._sleep = sleep
        self._now = now or (lambda: datetime.now(UTC))

    def client(self, settings: ProviderSettings) -> KingOfTimeClient:
        """A client at the call's pace (the run's, so requests add up across a sync's calls) and deadline."""
        return KingOfTimeClient(
            client_options(settings), pace=settings.pace, sleep=self._sleep, deadline=settings.deadline
        )

    def blackout_windows(self, settings: ProviderSettings) -> list[BlackoutWindow]:
        return list(mapping.RESTRICTED_WINDOWS)

    # --- check ----------------------------------------------------------------------------------

    def check(self, settings: ProviderSettings) -> CheckResult:
        """The token (allowed at any hour), then one read of /employees outside the restricted hours."""
        if not settings.get("access_token"):
            return CheckResult(CheckStatus.BAD_CREDENTIALS, _("Enter the access token issued in KING OF TIME."))
        client = self.client(settings)
        try:
            if not client.token_available():
                return CheckResult(
                    CheckStatus.BAD_CREDENTIALS,
                    _(
                        "KING OF TIME says the access token cannot be used. Issue a new one in KING OF TIME "
                        "(外部サービス連携 → 連携設定) and enter it here."
                    ),
                )
            now = self._now()
            if window_at(self.blackout_windows(settings), now) is not None:
                return self._token_only(settings, now)
            try:
                client.employees(now.astimezone(mapping.KOT_TIMEZONE).date())
            except RestrictedHours:
                return self._token_only(settings, now)
            except ProviderAuthError:
                message = _(
                    "KING OF TIME accepted the access token but refused to list %(right)s (code 100). Add this "
                    "server's IP address to the token's allowed addresses in KING OF TIME, or give the token the Read "
                    "right for employees and daily workings.",
                    right=EMPLOYEES_RIGHT,
                )
                return CheckResult(CheckStatus.MISSING_SCOPE, message, (EMPLOYEES_RIGHT,))
        except ProviderAuthError as exc:
            return CheckResult(CheckStatus.BAD_CREDENTIALS, str(exc))
        except ProviderNetworkError as exc:
            return CheckResult(CheckStatus.NETWORK, str(exc))
        except RateLimited as exc:
            return CheckResult(CheckStatus.RATE_LIMITED, str(exc))
        except ProviderError as exc:
            return CheckResult(CheckStatus.ERROR, str(exc))
        finally:
            client.close()
        return CheckResult(CheckStatus.OK, _("Connected to KING OF TIME."))

    def _token_only(self, settings: ProviderSettings, now: datetime) -> CheckResult:
        """Inside the restricted hours only the token can be verified: say so, and when the rest will be."""
        until = next_allowed(self.blackout_windows(settings), now).astimezone(mapping.KOT_TIMEZONE)
        return CheckResult(
            CheckStatus.OK,
            _(
                "The access token is valid. KING OF TIME accepts no other API calls until %(time)s (JST), so the "
                "token's rights and allowed addresses will be checked by the first sync after then.",
                time=until.strftime("%H:%M"),
            ),
        )

    # --- fetch ----------------------------------------------------------------------------------

    def fetch_members(self, settings: ProviderSettings) -> list[RemoteMember]:
        """Every employee as of today, retired ones included; those retired before the oldest date the API
        answers for are left out (no period can hold their attendance)."""
        today = self._now().astimezone(mapping.KOT_TIMEZONE).date()
        horizon = today - timedelta(days=mapping.HISTORY_DAYS)
        client = self.client(settings)
        try:
            employees = client.employees(today)
        finally:
            client.close()
        members = (mapping.employee_to_member(employee, horizon) for employee in employees)
        return [member for member in members if member is not None]

    def fetch_attendance(
        self,
        settings: ProviderSettings,
        remote_ids: Iterable[str],
        start: date,
        end: date,
        progress: Progress,
    ) -> list[DayRecord | RejectedRecord]:
        """Totals and punches of every employee at once, one call each per range of ≤ 62 days: two requests for
        the hub's longest period (40 days), whatever the head count.

        Each answer is mapped as it is parsed: the totals are read into small digests, then each day's punches
        are joined with its digest and become a record, so only the records (each with its day's JSON as
        compact text) outlive the call, never the answers.
        """
        wanted = {str(remote_id) for remote_id in remote_ids}
        if not wanted:
            return []
        tz = ZoneInfo(settings.timezone)
        ranges = mapping.date_ranges(start, end)
        total, done = 2 * len(ranges), 0
        records: list[DayRecord | RejectedRecord] = []
        client = self.client(settings)
        try:
            for first, last in ranges:
                totals = client.daily_workings(first, last, read=partial(_read_totals, wanted=wanted, tz=tz))
                done += 1
                progress(stage="attendance", done=done, total=total, requests=client.requests)
                join = partial(_join_punches, totals=totals, wanted=wanted, start=first, end=last, tz=tz)
                records += client.timerecords(first, last, sorted(wanted), read=join)
                del totals, join  # the digests: the records hold what they need
                done += 1
                progress(stage="attendance", done=done, total=total, requests=client.requests)
        finally:
            client.close()
        return records


def _read_totals(dates: Iterator, wanted: set[str], tz: tzinfo) -> dict:
    return mapping.totals_by_day(mapping.day_items(dates), wanted, tz)


def _join_punches(
    dates: Iterator, totals: dict, wanted: set[str], start: date, end: date, tz: tzinfo
) -> list[DayRecord | RejectedRecord]:
    return mapping.join_punches(totals, mapping.day_items(dates), wanted, start, end, tz)
