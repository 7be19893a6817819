"""hub.testing.ProviderConformance run for the KING OF TIME plugin against its simulator on loopback."""

from __future__ import annotations

import time
from datetime import date, datetime
from datetime import time as time_of_day

import pytest

from hub.providers import CheckStatus, ProviderSettings
from hub.testing import ConformanceHarness, ProviderConformance
from hub_plugins.kingoftime.provider import KingOfTimeProvider
from hub_plugins.kingoftime.simulator import JST, KingOfTimeSimulator, SimulatorConfig

START, END = date(2026, 11, 2), date(2026, 11, 6)  # Monday to Friday
EMPLOYEES = 130
UNREACHABLE = "http://127.0.0.1:9"


def fast_sleep(seconds: float) -> None:
    """Backoff and Retry-After waits shortened, so retries are exercised without slowing the suite."""
    time.sleep(min(seconds, 0.05))


def noon_in_tokyo() -> datetime:
    """The provider's clock: outside KING OF TIME's restricted hours whenever the suite runs."""
    return datetime.combine(datetime.now(JST).date(), time_of_day(12), tzinfo=JST)


class KingOfTimeHarness(ConformanceHarness):
    def __init__(self, sim: KingOfTimeSimulator, refusing: KingOfTimeSimulator):
        self.sim = sim
        self.refusing = refusing  # the same API refusing this server's address
        self.provider = KingOfTimeProvider(sleep=fast_sleep, now=noon_in_tokyo)

    def _settings(self, url: str, token: str) -> ProviderSettings:
        values = {"access_token": token, "environment": "custom", "api_base_url": url, "requests_per_second": 50}
        return ProviderSettings(key="conformance", values=values)

    def valid_settings(self) -> ProviderSettings:
        return self._settings(self.sim.url, self.sim.access_token)

    def invalid_settings(self) -> ProviderSettings:
        return self._settings(self.sim.url, "wrong-token-0123456789")

    def settings_missing_scope(self) -> ProviderSettings:
        return self._settings(self.refusing.url, self.refusing.access_token)

    def unreachable_settings(self) -> ProviderSettings:
        return self._settings(UNREACHABLE, self.sim.access_token)

    def expected_members(self) -> int:
        return EMPLOYEES  # the retired ones too: within the three years the API answers for

    def period(self) -> tuple[date, date]:
        return START, END

    # expire_credentials() stays a no-op: KING OF TIME access tokens do not expire by themselves.

    def inject_rate_limit(self, count: int) -> None:
        self.sim.fail_next(count, "throttled")

    def persistent_rate_limit(self) -> None:
        self.sim.fail_next(10**9, "throttled")

    def clear_faults(self) -> None:
        self.sim.clear_faults()

    def inject_unreadable_day(self, remote_id: str, work_date: date) -> str:
        # A half-day type the mapping does not know, on an otherwise ordinary day.
        working = self.sim.data.daily_workings[(remote_id, work_date)]
        working["holidaysObtained"] = {"halfdayHolidays": [{"typeName": "夕休", "code": 9, "name": "夕方休"}]}
        return "夕休"


class TestKingOfTimeConformance(ProviderConformance):
    @pytest.fixture
    def harness(self):
        config = SimulatorConfig(employees=EMPLOYEES, start=START, end=END, seed=11)
        refusing = SimulatorConfig(employees=3, start=START, end=END, refuse_address=True)
        with KingOfTimeSimulator(config) as sim, KingOfTimeSimulator(refusing) as refusing_sim:
            yield KingOfTimeHarness(sim, refusing_sim)

    def test_the_refused_read_names_the_address(self, harness):
        result = harness.provider.check(harness.settings_missing_scope())
        assert result.status is CheckStatus.MISSING_SCOPE and "IP address" in result.message

    def test_the_throttling_body_alone_is_retried(self, harness):
        harness.sim.config.throttle_shape = "body303"  # 403 with only {"code": "303"}
        before = harness.provider.fetch_members(harness.valid_settings())
        harness.inject_rate_limit(2)
        assert harness.provider.fetch_members(harness.valid_settings()) == before
        assert harness.sim.stats["throttled"] == 2
