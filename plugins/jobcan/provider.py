"""The Jobcan provider: what the core calls to check credentials and fetch members and attendance."""

from __future__ import annotations

import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from hub.providers import (
    CheckResult,
    CheckStatus,
    MissingScopeError,
    Progress,
    Provider,
    ProviderAuthError,
    ProviderError,
    ProviderNetworkError,
    ProviderSettings,
    RateLimited,
)
from hub.records import DayRecord, RejectedRecord, RemoteMember
from hub_plugins.jobcan import mapping
from hub_plugins.jobcan.catalog import _
from hub_plugins.jobcan.client import ENVIRONMENTS, SCOPES, ClientOptions, JobcanClient
from hub_plugins.jobcan.forms import JobcanSettingsForm

REFRESH_RANGE_DAYS = 31
#: The longest wait between two polls of a refresh that answers "processing", in seconds.
REFRESH_POLL_CAP = 8.0
#: Threads a fetch uses at most: the pace, not this, decides how fast requests start, so it is generous.
DEFAULT_CONCURRENCY = 8


def client_options(settings: ProviderSettings) -> ClientOptions:
    """Connection options from an integration's settings (environment or custom URLs). ``requests_per_second``
    is the admin's ceiling (blank or 0: none, the pace finds the rate)."""
    environment = settings.get("environment") or "production"
    ceiling = settings.get("requests_per_second")
    if environment == "custom":
        api_base, auth_base = settings.get("api_base_url"), settings.get("auth_base_url")
    else:
        api_base, auth_base = ENVIRONMENTS[environment]
    return ClientOptions(
        api_base=api_base,
        auth_base=auth_base,
        client_id=settings.get("client_id") or "",
        client_secret=settings.get("client_secret") or "",
        max_requests_per_second=float(ceiling) if ceiling not in (None, "") and float(ceiling) > 0 else None,
        concurrency=int(settings.get("concurrency") or DEFAULT_CONCURRENCY),
        url_policy=settings.url_policy,
    )


class JobcanProvider(Provider):
    """ジョブカン勤怠管理 through its public API (client credentials)."""

    name = "jobcan"
    label = "ジョブカン勤怠管理"
    settings_title = "ジョブカン"
    settings_form = JobcanSettingsForm

    def __init__(self, sleep=time.sleep):
        self._sleep = sleep

    def client(self, settings: ProviderSettings) -> JobcanClient:
        """A client at the call's pace (the run's, so its requests add up across a sync's calls) and deadline."""
        return JobcanClient(
            settings.key, client_options(settings), pace=settings.pace, sleep=self._sleep, deadline=settings.deadline
        )

    # --- check ----------------------------------------------------------------------------------

    def check(self, settings: ProviderSettings) -> CheckResult:
        client = self.client(settings)
        try:
            client.token(force=True)
            missing = [scope for scope in SCOPES if scope not in client.granted_scopes]
            missing += [scope for scope in self._probe_scopes(client) if scope not in missing]
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
        if missing:
            ordered = tuple(scope for scope in SCOPES if scope in missing)
            message = _(
                "The Jobcan API client lacks the scope(s) %(scopes)s. Add them to the client in Jobcan "
                "(基本情報設定 → 他社システム連携 → APIクライアント) and try again.",
                scopes=", ".join(ordered),
            )
            return CheckResult(CheckStatus.MISSING_SCOPE, message, ordered)
        return CheckResult(CheckStatus.OK, _("Connected to Jobcan."))

    def _probe_scopes(self, client: JobcanClient) -> list[str]:
        """One cheap call per scope; the scopes Jobcan refuses with 403."""
        missing: list[str] = []
        today = date.today()
        first_employee = None
        probes = [
            ("employees.read", lambda: client.get("/master/v1/employees", {"last_id": 0, "count": 1})),
            (
                "summaries.read",
                lambda: client.get(
                    "/attendance/v1/summaries/daily", {"date": today.isoformat(), "last_id": 0, "count": 1}
                ),
            ),
            (
                "adits.read",
                lambda: client.get("/attendance/v1/adits", {"date": today.isoformat(), "last_id": 0, "count": 1}),
            ),
        ]
        for scope, probe in probes:
            try:
                answer = probe()
                if scope == "employees.read" and answer.get("employees"):
                    first_employee = answer["employees"][0]["id"]
            except MissingScopeError:
                missing.append(scope)
        if first_employee is not None:
            try:
                client.refresh(str(first_employee), today, today + timedelta(days=1))
            except MissingScopeError:
                missing.append("summaries.create")
        return missing

    # --- fetch ----------------------------------------------------------------------------------

    def fetch_members(self, settings: ProviderSettings) -> list[RemoteMember]:
        client = self.client(settings)
        try:
            return [mapping.employee_to_member(employee) for employee in client.employees()]
        finally:
            client.close()

    def fetch_attendance(
        self,
        settings: ProviderSettings,
        remote_ids: Iterable[str],
        start: date,
        end: date,
        progress: Progress,
    ) -> list[DayRecord | RejectedRecord]:
        wanted = {str(remote_id) for remote_id in remote_ids}
        client = self.client(settings)
        tz = ZoneInfo(settings.timezone)
        days = [start + timedelta(days=offset) for offset in range((end - start).days + 1)]
        try:
            if settings.get("refresh_summaries", True) and wanted:
                self._refresh(client, sorted(wanted), start, end, progress)
            return self._read_days(client, days, wanted, tz, progress)
        finally:
            client.close()

    def _refresh(self, client: JobcanClient, employee_ids: list[str], start: date, end: date, progress) -> None:
        """Ask Jobcan to recalculate every employee's summaries, polling while it says ``processing``."""
        chunks = []
        chunk_start = start
        while chunk_start <= end:
            chunk_end = min(chunk_start + timedelta(days=REFRESH_RANGE_DAYS), end + timedelta(days=1))
            chunks.append((chunk_start, chunk_end))
            chunk_start = chunk_end
        jobs = [(employee_id, chunk) for employee_id in employee_ids for chunk in chunks]

        def refresh(job):
            # Only the polls' own waits count against the run's budget: the time the client spends retrying a
            # 429 or a 5xx is the retry budget's, and a busy run must not make a slow recalculation fail.
            employee_id, (first, stop) = job
            waited, delay = 0.0, 0.5
            while client.refresh(employee_id, first, stop):
                if waited >= client.pace.stall_seconds:
                    raise ProviderError(
                        _(
                            "Jobcan was still recalculating summaries after %(seconds)s s; try again later.",
                            seconds=round(waited),
                        )
                    )
                self._sleep(delay)
                waited += delay
                delay = min(delay * 2, REFRESH_POLL_CAP)

        self._parallel(client, jobs, refresh, "refresh", progress)

    def _read_days(self, client, days, wanted, tz, progress) -> list[DayRecord | RejectedRecord]:
        def read(day: date) -> list[DayRecord | RejectedRecord]:
            summaries = {
                employee_id: items[-1]
                for employee_id, items in mapping.group_by_employee(
                    client.daily_summaries(day), mapping.SUMMARY_EMPLOYEE_ID
                ).items()
                if employee_id in wanted
            }
            punches = {
                employee_id: items
                for employee_id, items in mapping.group_by_employee(client.adits(day), mapping.ADIT_EMPLOYEE_ID).items()
                if employee_id in wanted
            }
            records = []
            for employee_id in sorted(set(summaries) | set(punches)):
                record = mapping.day_record(
                    employee_id, day, summaries.get(employee_id), punches.get(employee_id, []), tz
                )
                if record is not None:
                    records.append(record)
            return records

        results = self._parallel(client, days, read, "fetch", progress)
        return [record for day_records in results for record in day_records]

    @staticmethod
    def _parallel(client: JobcanClient, jobs: list, work, stage: str, progress) -> list:
        """Run ``work`` over ``jobs`` on the integration's concurrency; progress is reported from this thread."""
        results = []
        with ThreadPoolExecutor(max_workers=client.options.concurrency) as pool:
            futures = [pool.submit(work, job) for job in jobs]
            try:
                for done, future in enumerate(as_completed(futures), start=1):
                    results.append(future.result())
                    progress(stage=stage, done=done, total=len(jobs), requests=client.requests)
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
        return results
