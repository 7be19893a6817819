"""hub.testing.ProviderConformance run for the Jobcan plugin (simulator on loopback) and the tiny FakeProvider."""

from __future__ import annotations

import time
import uuid
from datetime import date, timedelta
from datetime import time as time_of_day
from zoneinfo import ZoneInfo

import pytest

from hub.blackout import BlackoutWindow
from hub.providers import ProviderSettings
from hub.records import RejectedRecord, RemoteMember
from hub.testing import ConformanceHarness, ProviderConformance
from hub_plugins.jobcan.provider import JobcanProvider
from hub_plugins.jobcan.simulator import SCOPES, JobcanSimulator, SimulatorConfig
from tests.fake_provider import FakeHR, FakeProvider

START, END = date(2026, 11, 2), date(2026, 11, 6)  # Monday to Friday
JOBCAN_EMPLOYEES = 130  # more than one page of 100
UNREACHABLE = "http://127.0.0.1:9"


def fast_sleep(seconds: float) -> None:
    """Backoff and Retry-After waits shortened, so retries are exercised without slowing the suite."""
    time.sleep(min(seconds, 0.05))


class JobcanHarness(ConformanceHarness):
    def __init__(self, sim: JobcanSimulator, limited: JobcanSimulator):
        self.sim = sim
        self.limited = limited  # the same API with a client lacking adits.read
        self.provider = JobcanProvider(sleep=fast_sleep)
        self._key = f"conformance-{uuid.uuid4().hex}"  # a token cache entry of its own

    def _settings(self, url: str, client_id: str, client_secret: str) -> ProviderSettings:
        values = {
            "client_id": client_id,
            "client_secret": client_secret,
            "environment": "custom",
            "api_base_url": url,
            "auth_base_url": url,
            "requests_per_second": 50,
            "concurrency": 4,
            "refresh_summaries": True,
        }
        return ProviderSettings(key=self._key, values=values)

    def valid_settings(self) -> ProviderSettings:
        return self._settings(self.sim.url, self.sim.client_id, self.sim.client_secret)

    def invalid_settings(self) -> ProviderSettings:
        return self._settings(self.sim.url, self.sim.client_id, "wrong-secret-0123456789")

    def settings_missing_scope(self) -> ProviderSettings:
        return self._settings(self.limited.url, self.limited.client_id, self.limited.client_secret)

    def unreachable_settings(self) -> ProviderSettings:
        return self._settings(UNREACHABLE, self.sim.client_id, self.sim.client_secret)

    def expected_members(self) -> int:
        return JOBCAN_EMPLOYEES

    def period(self) -> tuple[date, date]:
        return START, END

    def expire_credentials(self) -> None:
        self.sim.expire_tokens()

    def inject_rate_limit(self, count: int) -> None:
        self.sim.fail_next(count, 429, retry_after=1)

    def persistent_rate_limit(self) -> None:
        self.sim.config.rate_429 = 1.0  # every API call draws a 429

    def clear_faults(self) -> None:
        self.sim.config.rate_429 = 0.0

    def inject_unreadable_day(self, remote_id: str, work_date: date) -> str:
        # A company's own leave type the mapping does not know, on an otherwise ordinary day.
        holiday = {"type": "sabbatical", "name": "サバティカル"}
        punches = [f"{work_date.isoformat()}T09:00:00+09:00", f"{work_date.isoformat()}T18:00:00+09:00"]
        self.sim.set_day(int(remote_id), work_date, {"work": 480, "break": 60, "holiday": holiday}, punches)
        return "sabbatical"


class TestJobcanConformance(ProviderConformance):
    @pytest.fixture
    def harness(self):
        config = SimulatorConfig(employees=JOBCAN_EMPLOYEES, start=START, end=END, seed=11)
        limited = SimulatorConfig(
            employees=3, start=START, end=END, granted_scopes=tuple(s for s in SCOPES if s != "adits.read")
        )
        with JobcanSimulator(config) as sim, JobcanSimulator(limited) as limited_sim:
            yield JobcanHarness(sim, limited_sim)

    def test_missing_scope_is_the_one_not_granted(self, harness):
        result = harness.provider.check(harness.settings_missing_scope())
        assert result.missing_scopes == ("adits.read",)


class FakeHarness(ConformanceHarness):
    """The in-memory FakeHR: no scopes and no tokens, so those tests skip or pass trivially."""

    def __init__(self):
        employees = [RemoteMember(str(100 + i), f"P{1001 + i}", f"社員 {i}") for i in range(12)]
        tokyo = ZoneInfo("Asia/Tokyo")  # KING OF TIME's restricted hours, so the windows' case has some to read
        windows = (
            BlackoutWindow(time_of_day(8, 30), time_of_day(10), tokyo),
            BlackoutWindow(time_of_day(17, 30), time_of_day(18, 30), tokyo),
        )
        self.hr = FakeHR(employees=employees, account="acme", blackouts=windows)
        for index, employee in enumerate(employees):
            for offset in range(index % 3, 5):
                self.hr.day(employee.remote_id, START + timedelta(days=offset))
        self.provider = FakeProvider(self.hr)

    def valid_settings(self) -> ProviderSettings:
        return ProviderSettings(key="fake", values={"account": "acme", "token": "good"})

    def invalid_settings(self) -> ProviderSettings:
        return ProviderSettings(key="fake", values={"account": "acme", "token": "not-the-token-42"})

    def unreachable_settings(self) -> ProviderSettings:
        return ProviderSettings(key="fake", values={"account": "elsewhere", "token": "good"})

    def expected_members(self) -> int:
        return len(self.hr.employees)

    def period(self) -> tuple[date, date]:
        return START, END

    def inject_rate_limit(self, count: int) -> None:
        self.hr.rate_limited = count

    def persistent_rate_limit(self) -> None:
        self.hr.rate_limited = 10**9

    def clear_faults(self) -> None:
        self.hr.rate_limited = 0

    def inject_unreadable_day(self, remote_id: str, work_date: date) -> str:
        self.hr.days[(remote_id, work_date)] = RejectedRecord(
            remote_id, work_date, "leave", '"sabbatical"', "an unknown leave type"
        )
        return "sabbatical"


class TestFakeProviderConformance(ProviderConformance):
    @pytest.fixture
    def harness(self):
        return FakeHarness()
