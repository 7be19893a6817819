"""The KING OF TIME client parses the two large answers as they arrive: items reach the caller one date at a time,
a truncated or malformed answer is a typed error, a throttled one is still recognised, and a connection lost
midway is retried from the start."""

from __future__ import annotations

import io
import json
import logging
from datetime import date

import pytest
from urllib3.exceptions import ProtocolError

from hub.pacing import Pace
from hub.providers import ProviderError, ProviderSettings
from hub.records import DayRecord
from hub_plugins.kingoftime import client as client_module
from hub_plugins.kingoftime.client import ClientOptions, KingOfTimeClient
from hub_plugins.kingoftime.provider import KingOfTimeProvider

ROOT = "https://kot.test"
API = f"{ROOT}/v1.0"
TOKEN = "t0ken-VALUE-0123456789abcdef"
DAILY = f"{API}/daily-workings"
TIMERECORD = f"{API}/daily-workings/timerecord"
START, END = date(2026, 11, 2), date(2026, 11, 3)
KEY = "k1"


class Clock:
    def __init__(self):
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def client(clock):
    pace = Pace(1e9, ceiling=1e9, clock=clock, wall=clock)
    return KingOfTimeClient(ClientOptions(API, TOKEN), pace=pace, sleep=clock.sleep)


def groups(count: int = 2) -> list[dict]:
    return [
        {"date": f"2026-11-{day:02d}", "dailyWorkings": [{"employeeKey": KEY, "totalWork": 480, "ratio": 0.5}]}
        for day in range(2, 2 + count)
    ]


def test_the_c_parser_is_the_one_used():
    assert client_module._parser is not None, "ijson's C backend (yajl2_c) is missing: answers are read whole"
    assert client_module._parser.backend_name == "yajl2_c"


def test_items_reach_the_reader_as_an_iterator_one_date_at_a_time(requests_mock, client):
    body = json.dumps(groups(3), ensure_ascii=False).encode()
    requests_mock.get(DAILY, body=io.BytesIO(body))
    seen = []

    def read(items):
        assert not isinstance(items, list)
        for item in items:
            seen.append(item)
        return "read"

    assert client.daily_workings(START, END, read=read) == "read"
    assert seen == groups(3)  # a number that is not an integer comes as a float, as json decodes it
    assert type(seen[0]["dailyWorkings"][0]["ratio"]) is float


def test_without_a_reader_the_dates_come_as_a_list(requests_mock, client):
    requests_mock.get(DAILY, json=groups())
    assert client.daily_workings(START, END) == groups()


@pytest.mark.parametrize("body", [b'[{"date": "2026-11-02", "dailyWorkings": [{"employeeKey"', b"[1, 2,", b"[1] [2]"])
def test_a_truncated_or_malformed_answer_is_an_error_naming_the_path(requests_mock, client, body):
    requests_mock.get(DAILY, body=io.BytesIO(body))
    with pytest.raises(ProviderError, match="daily-workings with something that is not JSON"):
        client.daily_workings(START, END, read=list)


def test_an_answer_that_is_not_json_at_all_is_an_error(requests_mock, client):
    requests_mock.get(DAILY, text="<html>maintenance</html>")
    with pytest.raises(ProviderError, match="not JSON"):
        client.daily_workings(START, END, read=list)


def test_an_object_where_an_array_belongs_is_an_error(requests_mock, client):
    requests_mock.get(DAILY, json={"dailyWorkings": []})
    with pytest.raises(ProviderError, match="not a list"):
        client.daily_workings(START, END, read=list)


def test_a_reader_that_stops_early_still_has_the_whole_answer_checked(requests_mock, client):
    requests_mock.get(DAILY, body=io.BytesIO(b'[{"date": "2026-11-02"}, {"date": '))
    with pytest.raises(ProviderError, match="not JSON"):
        client.daily_workings(START, END, read=lambda items: next(items))


def test_a_throttled_answer_with_status_200_is_recognised_and_retried(requests_mock, client, clock):
    throttled = {"code": "303", "message": "Too Many Requests"}
    requests_mock.get(DAILY, [{"status_code": 200, "json": throttled}, {"json": groups()}])
    assert client.daily_workings(START, END, read=list) == groups()
    assert requests_mock.call_count == 2 and clock.slept


def test_a_bom_before_the_array_is_no_fault(requests_mock, client):
    requests_mock.get(DAILY, body=io.BytesIO(b"\xef\xbb\xbf " + json.dumps(groups()).encode()))
    assert client.daily_workings(START, END, read=list) == groups()


class _DroppedMidway(io.BytesIO):
    """A body whose connection is lost after ``cut`` bytes."""

    def __init__(self, body: bytes, cut: int):
        super().__init__(body)
        self.cut = cut

    def read(self, size: int = -1) -> bytes:
        if self.tell() >= self.cut:
            raise ProtocolError("Connection broken: IncompleteRead")
        return super().read(min(size, self.cut - self.tell()) if size and size > 0 else self.cut - self.tell())


def test_a_connection_lost_midway_is_retried_and_read_again_from_the_start(requests_mock, client, clock):
    body = json.dumps(groups(3000)).encode()  # a few of the client's chunks: the cut comes after items were read
    assert len(body) > 2 * client_module.CHUNK_BYTES
    requests_mock.get(DAILY, [{"body": _DroppedMidway(body, len(body) // 2)}, {"body": io.BytesIO(body)}])
    calls = []

    def read(items):
        calls.append(0)
        return list(items)

    assert client.daily_workings(START, END, read=read) == groups(3000)
    assert len(calls) == 2 and requests_mock.call_count == 2 and len(clock.slept) == 1


def test_without_the_c_parser_answers_are_read_whole_with_a_warning(requests_mock, client, monkeypatch, caplog):
    monkeypatch.setattr(client_module, "_parser", None)
    monkeypatch.setattr(client_module, "_warned", False)
    requests_mock.get(DAILY, body=io.BytesIO(json.dumps(groups()).encode()))
    with caplog.at_level(logging.WARNING, logger=client_module.__name__):
        assert client.daily_workings(START, END, read=list) == groups()
    assert "yajl2_c" in caplog.text
    requests_mock.get(DAILY, body=io.BytesIO(b"[1, "))
    with pytest.raises(ProviderError, match="not JSON"):
        client.daily_workings(START, END, read=list)


def test_the_provider_maps_the_streamed_answers_into_day_records(requests_mock, clock):
    workings = [{"date": "2026-11-02", "dailyWorkings": [{"employeeKey": KEY, "totalWork": 480, "breakTime": 60}]}]
    punches = [
        {
            "date": "2026-11-02",
            "dailyWorkings": [
                {
                    "employeeKey": KEY,
                    "timeRecord": [
                        {"time": "2026-11-02T18:00:00+09:00", "code": "2", "name": "退勤"},
                        {"time": "2026-11-02T09:00+09:00", "code": "1", "name": "出勤"},
                    ],
                }
            ],
        }
    ]
    requests_mock.get(DAILY, body=io.BytesIO(json.dumps(workings, ensure_ascii=False).encode()))
    requests_mock.get(TIMERECORD, body=io.BytesIO(json.dumps(punches, ensure_ascii=False).encode()))
    values = {"access_token": TOKEN, "environment": "custom", "api_base_url": ROOT}
    pace = Pace(1e9, ceiling=1e9, clock=clock, wall=clock)
    settings = ProviderSettings(key="1", values=values, pace=pace)
    records = KingOfTimeProvider(sleep=clock.sleep).fetch_attendance(settings, [KEY], START, END, lambda **_: None)
    [record] = records
    assert isinstance(record, DayRecord)
    assert (record.clock_in, record.clock_out, record.work_minutes) == (540, 1080, 480)
    assert json.loads(record.raw) == {
        "dailyWorking": workings[0]["dailyWorkings"][0] | {"date": "2026-11-02"},
        "timeRecord": punches[0]["dailyWorkings"][0]["timeRecord"],
    }
