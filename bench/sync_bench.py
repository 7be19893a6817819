"""Benchmark of a Jobcan sync against the simulator on loopback (DESIGN.md, "Performance targets").

A benchmark, not a test: it measures and prints, in one run,

1. requests of a full sync of N employees × D days against the minimum the API contract allows;
2. hub-side throughput (mapping + validation + write) in day records per second on SQLite;
3. rows written by a re-sync of the unchanged period;
4. wall time with simulated latency against requests × latency ÷ concurrency;
5. the same sync against a straightforward sequential per-employee client, in the same run.

Run ``.venv/bin/python bench/sync_bench.py --help`` for the options; ``--quick`` finishes in well under a minute.
Everything lives in a temporary folder and every simulator is stopped, whatever happens.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import multiprocessing
import os
import signal
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import requests
from _common import Table, build_hub, isolate_environment, say, verdict
from sqlalchemy import func, select, text

from hub.extensions import db
from hub.integrations.service import provider_named, provider_settings
from hub.models import AttendanceDay, Integration, Member, Trigger
from hub.sync.engine import run_sync
from hub.sync.lifecycle import start_run
from hub.sync.matching import match_members
from hub.sync.progress import ProgressUpdate
from hub.sync.write import write_records
from hub_plugins.jobcan import mapping
from hub_plugins.jobcan.client import SCOPES, TOKENS
from hub_plugins.jobcan.mapping import PAGE_SIZE
from hub_plugins.jobcan.provider import REFRESH_RANGE_DAYS
from hub_plugins.jobcan.simulator import JobcanSimulator, SimulatorConfig, generate_data

START = date(2026, 11, 2)  # a Monday; the data is deterministic for a given seed, size and period
MAX_DATES_PER_CALL = 31  # the one-employee summaries endpoint takes 1–31 `date` parameters
#: ``client_options`` turns a requests_per_second of 0 into the default 5.0 (``or 5.0``), so "unpaced" is
#: spelled as a rate no loopback server can reach: the RateLimit interval becomes 1 ns.
UNPACED = 1e9
_ATTENDANCE_TABLES = ("attendance_days", "attendance_breaks", "hourly_leave_intervals")


# --- set-up -------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--employees", type=int, help="employees in the simulator (default 1000; --quick 200)")
    parser.add_argument("--days", type=int, help="days in the synced period, at most 40 (default 40; --quick 10)")
    parser.add_argument("--latency-ms", type=float, help="simulated latency per request (default 20; --quick 5)")
    parser.add_argument("--concurrency", type=int, default=8, help="parallel requests of the hub's client (8)")
    parser.add_argument(
        "--baseline-employees", type=int, help="N of the hub-vs-baseline comparison (default 300; --quick = N)"
    )
    parser.add_argument(
        "--baseline-days", type=int, help="D of the hub-vs-baseline comparison (default 10; --quick = D)"
    )
    parser.add_argument("--seed", type=int, default=1, help="simulator seed (1)")
    parser.add_argument(
        "--rate-limit-rps",
        type=float,
        default=18.0,
        help="the simulator's token bucket for the rate-limit figures, unknown to the hub; 0 skips them (18)",
    )
    parser.add_argument("--rate-latency-ms", type=float, default=10.0, help="latency under the rate limit (10)")
    parser.add_argument(
        "--rate-baseline-employees", type=int, help="N of the hub-vs-sequential ratio under the limit (100; --quick 30)"
    )
    parser.add_argument(
        "--rate-baseline-days", type=int, help="D of the hub-vs-sequential ratio under the limit (40; --quick 10)"
    )
    parser.add_argument("--rate-only", action="store_true", help="measure only the figures under the rate limit")
    parser.add_argument("--quick", action="store_true", help="200 employees × 10 days, 5 ms: under a minute")
    parser.add_argument(
        "--in-process-simulator",
        action="store_true",
        help="serve the simulator from a thread of this process (as the tests do) instead of a child process",
    )
    args = parser.parse_args(argv)
    quick = args.quick
    args.employees = args.employees if args.employees is not None else (200 if quick else 1000)
    args.days = args.days if args.days is not None else (10 if quick else 40)
    args.latency_ms = args.latency_ms if args.latency_ms is not None else (5.0 if quick else 20.0)
    if args.baseline_employees is None:
        args.baseline_employees = args.employees if quick else min(300, args.employees)
    if args.baseline_days is None:
        args.baseline_days = args.days if quick else min(10, args.days)
    if args.rate_baseline_employees is None:
        args.rate_baseline_employees = 30 if quick else 100
    if args.rate_baseline_days is None:
        args.rate_baseline_days = 10 if quick else 40
    if args.rate_limit_rps < 0 or args.rate_latency_ms < 0 or args.rate_baseline_employees < 1:
        parser.error("--rate-limit-rps and --rate-latency-ms at least 0, --rate-baseline-employees at least 1")
    if not 1 <= args.days <= 40 or not 1 <= args.baseline_days <= 40 or not 1 <= args.rate_baseline_days <= 40:
        parser.error("a sync covers 1 to 40 days")
    if args.employees < 1 or args.baseline_employees < 1 or args.concurrency < 1 or args.latency_ms < 0:
        parser.error("employees and concurrency must be at least 1, latency at least 0")
    return args


def period(days: int) -> tuple[date, date]:
    return START, START + timedelta(days=days - 1)


def start_simulator(
    stack: contextlib.ExitStack, args: argparse.Namespace, employees: int, days: int, latency_ms, rate_limit_rps=None
):
    """The simulator for ``days`` days from START, in a child process unless --in-process-simulator."""
    first, last = period(days)
    config = SimulatorConfig(
        employees=employees,
        start=first,
        end=last,
        latency_ms=latency_ms,
        seed=args.seed,
        rate_limit_rps=rate_limit_rps,
    )
    simulator = JobcanSimulator(config) if args.in_process_simulator else SimulatorProcess(config)
    return stack.enter_context(simulator)


def _serve_simulator(config: SimulatorConfig, connection) -> None:
    """Child process: serve the simulator and answer the parent's stats / reset / stop over a pipe."""
    with JobcanSimulator(config) as simulator:
        connection.send((simulator.url, len(simulator.data.summaries), len(simulator.data.adits)))
        while True:
            try:
                command = connection.recv()
            except EOFError:  # the parent is gone
                return
            if command == "stats":
                connection.send(dict(simulator.stats))
            elif command == "reset":
                simulator.reset_stats()
                connection.send(True)
            else:
                return


class SimulatorProcess:
    """JobcanSimulator in a child process, so serving does not compete for the hub client's GIL.

    Jobcan does not run on the hub's CPU; in one process the simulator's request handling (HTTP parsing, JSON
    encoding) would be charged to the hub. ``data`` is generated here from the same config: generation is
    deterministic, and the child's counts are checked against it.
    """

    def __init__(self, config: SimulatorConfig):
        self.config = config
        self.data = generate_data(config)
        context = multiprocessing.get_context("spawn")
        self._connection, child = context.Pipe()
        self._process = context.Process(target=_serve_simulator, args=(config, child), daemon=True)
        self._child_end = child
        self.url = ""

    def __enter__(self) -> SimulatorProcess:
        self._process.start()
        self._child_end.close()
        if not self._connection.poll(60):
            self.__exit__()
            raise RuntimeError("the simulator process did not start within 60 s")
        try:
            self.url, summaries, adits = self._connection.recv()
        except EOFError:
            self.__exit__()
            raise RuntimeError("the simulator process exited while starting") from None
        if (summaries, adits) != (len(self.data.summaries), len(self.data.adits)):
            self.__exit__()
            raise RuntimeError("the simulator process generated other data than this process")
        return self

    def __exit__(self, *exc_info: object) -> None:
        with contextlib.suppress(OSError, BrokenPipeError):
            self._connection.send("stop")
        self._process.join(10)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(5)
        self._connection.close()

    @property
    def client_id(self) -> str:
        return self.config.client_id

    @property
    def client_secret(self) -> str:
        return self.config.client_secret

    @property
    def stats(self) -> Counter:
        self._connection.send("stats")
        return Counter(self._connection.recv())

    def reset_stats(self) -> None:
        self._connection.send("reset")
        self._connection.recv()


Simulator = JobcanSimulator | SimulatorProcess


def unpaced_hub(stack: contextlib.ExitStack, workdir: Path, label: str, sim: Simulator, concurrency: int):
    """A hub (see ``_common.build_hub``) whose Jobcan integration is unpaced, with ``concurrency`` threads."""
    settings = {"requests_per_second": UNPACED, "concurrency": concurrency}
    return build_hub(stack, workdir / label, sim, settings)


def coded_ids(sim: Simulator) -> set[int]:
    return {e["id"] for e in sim.data.employees if e["employee_code"]}


# --- measurements -------------------------------------------------------------------------------------


@dataclass
class SyncFigures:
    status: str
    requests: int
    server_requests: int
    fetched: int
    created: int
    updated: int
    removed: int
    unchanged: int
    wall: float
    fetch: float  # start → the engine's "write" progress mark
    write: float  # "write" mark → run_sync returned
    phases: list[tuple[str, float, int]] = field(default_factory=list)  # (phase, seconds, requests)

    @property
    def written(self) -> int:
        return self.created + self.updated + self.removed

    def describe_phases(self, latency_ms: float, concurrency: int) -> str:
        """Each network phase with its requests and its own requests × latency ÷ concurrency."""
        parts = []
        for name, seconds, requests_made in self.phases:
            model = requests_made * latency_ms / 1000 / concurrency
            parts.append(f"{name} {requests_made} req {seconds:.2f} s (model {model:.2f} s)")
        return "; ".join(parts)


def timed_sync(app, sim: Simulator, days: int) -> SyncFigures:
    """run_sync as the CLI runs it, with a fresh token.

    The progress callback gives the phases: the engine reports "members" once members are fetched, the
    provider reports "refresh" and "fetch" as jobs finish (always the last one), and the engine reports "write"
    as the write phase starts. Each mark keeps its last time and the client's request count at that time.
    """
    TOKENS._tokens.clear()  # every measured sync pays for its token, as the minimum counts it
    sim.reset_stats()
    marks: dict[str, tuple[float, int]] = {}

    def on_progress(update: ProgressUpdate) -> None:
        stage, requests_made = update.stage, update.requests
        if stage == "members":  # the engine reports 0 here: fetch_members reports no progress; ask the server
            requests_made = sim.stats["total"]
        marks[stage] = (time.perf_counter(), requests_made)

    first, last = period(days)
    with app.app_context():
        integration = db.session.scalar(select(Integration))
        began = time.perf_counter()
        run = run_sync(integration, first, last, Trigger.CLI, on_progress=on_progress)
        ended = time.perf_counter()
        if run.status not in ("succeeded", "partial"):
            raise SystemExit(f"sync failed: {run.status} {run.error}")
        write_mark = marks.get("write", (ended, run.requests))[0]
        phases, previous = [], (began, 0)
        for stage, name in (("members", "token+employees"), ("refresh", "refresh"), ("fetch", "read days")):
            if stage in marks:
                at, requests_made = marks[stage]
                phases.append((name, at - previous[0], requests_made - previous[1]))
                previous = marks[stage]
        return SyncFigures(
            status=str(run.status),
            requests=run.requests,
            server_requests=sim.stats["total"],
            fetched=run.fetched,
            created=run.created,
            updated=run.updated,
            removed=run.removed,
            unchanged=run.unchanged,
            wall=ended - began,
            fetch=write_mark - began,
            write=ended - write_mark,
            phases=phases,
        )


@dataclass
class Minimum:
    total: int
    parts: dict[str, int] = field(default_factory=dict)


def minimum_requests(sim: Simulator, days: int) -> Minimum:
    """What the contract forces: key paging at 100 where a full page needs one more (empty) page."""
    first, last = period(days)

    def pages(items: int) -> int:
        return items // PAGE_SIZE + 1

    with_summary = Counter(day for (_, day) in sim.data.summaries if first <= day <= last)
    with_punches = Counter(day for (_, day), punches in sim.data.adits.items() if punches and first <= day <= last)
    dates = [first + timedelta(days=offset) for offset in range(days)]
    parts = {
        "token": 1,
        "employees": pages(len(sim.data.employees)),
        "refresh": len(coded_ids(sim)) * math.ceil(days / REFRESH_RANGE_DAYS),
        "summaries": sum(pages(with_summary[day]) for day in dates),
        "adits": sum(pages(with_punches[day]) for day in dates),
    }
    return Minimum(sum(parts.values()), parts)


class _RecordedAnswers:
    """Stands in for JobcanClient when timing mapping: the all-employee answers of each day, already decoded."""

    def __init__(self, sim: Simulator, days: list[date]):
        self.options = SimpleNamespace(concurrency=1)
        self.requests = 0
        ids = [e["id"] for e in sim.data.employees]
        summaries, adits = sim.data.summaries, sim.data.adits
        # json round trip: fresh objects, as requests' response.json() would hand them to the provider.
        self._summaries = {
            day: json.loads(json.dumps([summaries[(i, day)] for i in ids if (i, day) in summaries])) for day in days
        }
        self._adits = {day: json.loads(json.dumps([p for i in ids for p in adits.get((i, day), ())])) for day in days}

    def daily_summaries(self, day: date) -> list[dict]:
        return self._summaries[day]

    def adits(self, day: date) -> list[dict]:
        return self._adits[day]


@dataclass
class HubSide:
    records: int
    mapping: float
    write: float
    created: int

    @property
    def total(self) -> float:
        return self.mapping + self.write


def measure_hub_side(stack, workdir: Path, sim: Simulator, days: int, concurrency: int) -> HubSide:
    """Mapping, then validation + write, each timed on its own with no network inside the timed part.

    Mapping: the provider's own day reader (``JobcanProvider._read_days``, one thread) over the simulator's
    JSON for every day of the period. Validation + write: the engine's write phase (``write_records``) and the commit,
    on a fresh database, inside a SyncRun started as run_sync starts one. Members are fetched and matched
    beforehand, untimed.
    """
    app = unpaced_hub(stack, workdir, "hub-side", sim, concurrency)
    first, last = period(days)
    dates = [first + timedelta(days=offset) for offset in range(days)]
    TOKENS._tokens.clear()
    with app.app_context():
        integration = db.session.scalar(select(Integration))
        # Started first, as execute_run does: start_run commits, which would expire the matched members.
        run = start_run(integration, first, last, Trigger.CLI)
        provider = provider_named("jobcan")
        settings = provider_settings(integration)
        remote = provider.fetch_members(settings)
        matching = match_members(remote, db.session.scalars(select(Member)))
        answers = _RecordedAnswers(sim, dates)
        tz = ZoneInfo(settings.timezone)
        wanted = set(matching.matched)

        began = time.perf_counter()
        records = provider._read_days(answers, dates, wanted, tz, lambda **_: None)
        mapped = time.perf_counter()

        before_write = time.perf_counter()
        write_records(run, integration, matching, records)
        db.session.commit()
        written = time.perf_counter()
        return HubSide(len(records), mapped - began, written - before_write, run.created)


@dataclass
class Resync:
    figures: SyncFigures
    synced_at_changed: int
    rows: int
    trigger_writes: dict[str, int]


def measure_resync(app, sim: Simulator, days: int) -> Resync:
    """Re-sync the same period; count changed synced_at stamps and, by SQLite triggers, any row written."""
    with app.app_context():
        before = dict(db.session.execute(select(AttendanceDay.id, AttendanceDay.synced_at)).all())
        statements = ["CREATE TABLE bench_writes (tbl TEXT, op TEXT)"]
        for table in _ATTENDANCE_TABLES:
            for op in ("INSERT", "UPDATE", "DELETE"):
                statements.append(
                    f"CREATE TRIGGER bench_{table}_{op.lower()} AFTER {op} ON {table} "
                    f"BEGIN INSERT INTO bench_writes VALUES ('{table}', '{op.lower()}'); END"
                )
        for statement in statements:
            db.session.execute(text(statement))
        db.session.commit()
    figures = timed_sync(app, sim, days)
    with app.app_context():
        after = dict(db.session.execute(select(AttendanceDay.id, AttendanceDay.synced_at)).all())
        changed = sum(1 for key in before.keys() | after.keys() if before.get(key) != after.get(key))
        writes = dict(db.session.execute(text("SELECT tbl || ' ' || op, count(*) FROM bench_writes GROUP BY 1")).all())
        rows = db.session.scalar(select(func.count()).select_from(AttendanceDay))
    return Resync(figures, changed, rows, writes)


@dataclass
class Baseline:
    requests: int
    server_requests: int
    wall: float
    days_with_data: int


def baseline_sync(sim: Simulator, days: int) -> Baseline:
    """A straightforward client: one employee after another, one request at a time, plain ``requests``.

    Token, the employee list (the only way to learn employee ids), then per coded employee the one-employee
    endpoints: summaries for up to 31 dates a call and punches one date a call. It maps each day like the hub
    (``mapping.day_record``) but neither recalculates summaries first nor writes anything, so it does less work
    than the hub: the comparison flatters the baseline. A 429 is retried after its Retry-After (1 s without
    one), as a careful client does; every attempt counts as a request.
    """
    TOKENS._tokens.clear()
    sim.reset_stats()
    first, _ = period(days)
    dates = [first + timedelta(days=offset) for offset in range(days)]
    tz = ZoneInfo("Asia/Tokyo")
    count = 0
    found = 0
    began = time.perf_counter()
    with requests.Session() as http:

        def send(call) -> dict:
            nonlocal count
            while True:
                count += 1
                response = call()
                if response.status_code != 429:
                    response.raise_for_status()
                    return response.json()
                time.sleep(float(response.headers.get("Retry-After") or 1))

        def get(path: str, params) -> dict:
            return send(lambda: http.get(sim.url + path, params=params, headers=headers, timeout=30))

        answer = send(
            lambda: http.post(
                sim.url + "/oauth/token",
                auth=(sim.client_id, sim.client_secret),
                data={"grant_type": "client_credentials", "scope": " ".join(SCOPES)},
                timeout=30,
            )
        )
        headers = {"Authorization": f"Bearer {answer['access_token']}"}
        employees, last_id = [], 0
        while True:
            page = get("/master/v1/employees", {"last_id": last_id, "count": PAGE_SIZE})["employees"]
            employees += page
            if len(page) < PAGE_SIZE:
                break
            last_id = page[-1]["id"]
        for employee in employees:
            if not employee["employee_code"]:
                continue
            employee_id = employee["id"]
            summaries = {}
            for index in range(0, len(dates), MAX_DATES_PER_CALL):
                chunk = [("date", day.isoformat()) for day in dates[index : index + MAX_DATES_PER_CALL]]
                for item in get(f"/attendance/v1/summaries/daily/{employee_id}", chunk)["daily_summaries"]:
                    summaries[item["date"]] = item
            for day in dates:
                punches = get(f"/attendance/v1/adits/{employee_id}", {"date": day.isoformat()})["adits"]
                if mapping.day_record(employee_id, day, summaries.get(day.isoformat()), punches, tz) is not None:
                    found += 1
    wall = time.perf_counter() - began
    return Baseline(count, sim.stats["total"], wall, found)


# --- report -------------------------------------------------------------------------------------------


def unpaced_figures(stack: contextlib.ExitStack, workdir: Path, args: argparse.Namespace, table: Table) -> None:
    """Targets 1–5 of docs/performance.md: requests, hub-side throughput, re-sync, latency, the baseline."""
    n, d, c, latency = args.employees, args.days, args.concurrency, args.latency_ms
    nb, dbase = args.baseline_employees, args.baseline_days
    # 1–2. Full sync, no latency: requests against the contract's minimum.
    say(f"[1/6] simulator {n} × {d}, no latency; full sync into an empty database …")
    sim = start_simulator(stack, args, n, d, 0.0)
    app = unpaced_hub(stack, workdir, "full", sim, c)
    full = timed_sync(app, sim, d)
    minimum = minimum_requests(sim, d)
    parts = ", ".join(f"{key} {value}" for key, value in minimum.parts.items())
    say(
        f"      {full.fetched} day records, {full.created} created in {full.wall:.2f} s; "
        f"requests {full.requests} (server saw {full.server_requests}); minimum {minimum.total} = {parts}"
    )
    ratio = full.requests / minimum.total
    table.add(
        f"requests, full sync {n}×{d} (hub count / server count)",
        f"{full.requests} / {full.server_requests}",
        f"minimum {minimum.total}",
        f"{ratio:.2f}",
        verdict(full.requests == minimum.total == full.server_requests),
    )

    # 3. Hub-side throughput, timed apart from the network.
    say("[2/6] hub-side throughput: mapping, then validation + write on a fresh database …")
    side = measure_hub_side(stack, workdir, sim, d, c)
    rate = side.records / side.total
    say(
        f"      {side.records} records: mapping {side.mapping:.3f} s, validation + write + commit "
        f"{side.write:.3f} s ({side.created} created)"
    )
    say(
        f"      cross-check inside run_sync (step 1): write phase from the 'write' progress mark to the end "
        f"{full.write:.3f} s for {full.fetched} records"
    )
    table.add("  mapping (provider._read_days, 1 thread)", f"{side.records / side.mapping:,.0f} rec/s")
    table.add("  validation + write + commit (write_records)", f"{side.records / side.write:,.0f} rec/s")
    table.add("  write phase inside run_sync (progress marks)", f"{full.fetched / full.write:,.0f} rec/s")
    table.add(
        f"hub-side mapping + validation + write ({side.records} rec)",
        f"{rate:,.0f} rec/s",
        "≥ 20,000 rec/s",
        f"{rate / 20000:.2f}",
        verdict(rate >= 20000),
    )

    # 4. Re-sync of the unchanged period.
    say("[3/6] re-sync of the same period …")
    resync = measure_resync(app, sim, d)
    writes = sum(resync.trigger_writes.values())
    say(
        f"      created {resync.figures.created}, updated {resync.figures.updated}, removed "
        f"{resync.figures.removed}, unchanged {resync.figures.unchanged}; synced_at changed on "
        f"{resync.synced_at_changed} of {resync.rows} rows; attendance rows written (triggers) {writes}"
    )
    table.add(
        "re-sync: rows written (created+updated+removed)",
        str(resync.figures.written),
        "0",
        "",
        verdict(resync.figures.written == 0),
    )
    table.add(
        "re-sync: synced_at changed / attendance rows by trigger",
        f"{resync.synced_at_changed} / {writes}",
        "0 / 0",
        "",
        verdict(resync.synced_at_changed == 0 and writes == 0),
    )

    # 5. Latency, full size.
    say(f"[4/6] simulator {n} × {d} with {latency:g} ms latency; full sync into an empty database …")
    slow = start_simulator(stack, args, n, d, latency)
    slow_app = unpaced_hub(stack, workdir, "latency", slow, c)
    timed = timed_sync(slow_app, slow, d)
    model = timed.requests * latency / 1000 / c
    say(
        f"      {timed.requests} requests; wall {timed.wall:.2f} s (fetch {timed.fetch:.2f} s + write "
        f"{timed.write:.2f} s); model {timed.requests} × {latency:g} ms ÷ {c} = {model:.2f} s"
    )
    say(f"      phases: {timed.describe_phases(latency, c)}")
    table.add(
        f"latency {latency:g} ms, {n}×{d}: wall / model",
        f"{timed.wall:.2f} s / {model:.2f} s",
        "≤ 1.30×",
        f"{timed.wall / model:.2f}×" if model else "n/a",
        verdict(model > 0 and timed.wall <= 1.3 * model),
    )
    table.add(
        "  fetch only (to the 'write' mark) / model",
        f"{timed.fetch:.2f} s / {model:.2f} s",
        "",
        f"{timed.fetch / model:.2f}×" if model else "n/a",
    )

    # 6. Hub against a straightforward sequential per-employee client, same size and latency.
    say(f"[5/6] hub at {nb} × {dbase} with {latency:g} ms latency …")
    small = start_simulator(stack, args, nb, dbase, latency)
    small_app = unpaced_hub(stack, workdir, "baseline-size", small, c)
    hub_small = timed_sync(small_app, small, dbase)
    small_model = hub_small.requests * latency / 1000 / c
    say(
        f"      {hub_small.requests} requests; wall {hub_small.wall:.2f} s (fetch {hub_small.fetch:.2f} s); "
        f"model {small_model:.2f} s"
    )
    say(f"      phases: {hub_small.describe_phases(latency, c)}")
    say(f"[6/6] baseline: sequential per-employee client at {nb} × {dbase} with {latency:g} ms latency …")
    base = baseline_sync(small, dbase)
    say(
        f"      {base.requests} requests (server saw {base.server_requests}); wall {base.wall:.2f} s; "
        f"{base.days_with_data} day records (hub fetched {hub_small.fetched})"
    )
    table.add(
        f"latency {latency:g} ms, {nb}×{dbase}: hub wall / model",
        f"{hub_small.wall:.2f} s / {small_model:.2f} s",
        "≤ 1.30×",
        f"{hub_small.wall / small_model:.2f}×" if small_model else "n/a",
        verdict(small_model > 0 and hub_small.wall <= 1.3 * small_model),
    )
    table.add(
        f"baseline {nb}×{dbase}: requests, wall",
        f"{base.requests} req, {base.wall:.2f} s",
        "",
        f"{base.requests / hub_small.requests:.1f}× hub's req",
    )
    speedup = base.wall / hub_small.wall
    table.add(
        f"hub vs baseline {nb}×{dbase} (baseline wall / hub wall)",
        f"{hub_small.wall:.2f} s vs {base.wall:.2f} s",
        "≥ 5×",
        f"{speedup:.1f}×",
        verdict(speedup >= 5 and base.days_with_data == hub_small.fetched),
    )


def rate_limited_figures(stack: contextlib.ExitStack, workdir: Path, args: argparse.Namespace, table: Table) -> None:
    """Issue 11's figures under a token bucket the hub is not told about, with the integration's default settings:
    rate efficiency, the share of 429s, requests against the minimum, and the ratio to the sequential client
    honouring Retry-After."""
    n, d, limit, latency = args.employees, args.days, args.rate_limit_rps, args.rate_latency_ms
    nb, dbase = args.rate_baseline_employees, args.rate_baseline_days
    say(f"[rate 1/2] simulator {n} × {d}, {latency:g} ms, limit {limit:g} requests/s; default settings …")
    sim = start_simulator(stack, args, n, d, latency, rate_limit_rps=limit)
    app = build_hub(stack, workdir / "rate", sim)
    synced = timed_sync(app, sim, d)
    limited = sim.stats["429"]
    minimum = minimum_requests(sim, d).total
    efficiency = minimum / limit / synced.wall
    share = limited / synced.server_requests
    say(
        f"      {synced.requests} requests (server saw {synced.server_requests}, {limited} answered 429); wall "
        f"{synced.wall:.1f} s; the limit allows {minimum} ÷ {limit:g} = {minimum / limit:.1f} s"
    )
    table.add(
        f"rate efficiency {n}×{d} at {limit:g} req/s: (minimum ÷ limit) ÷ wall",
        f"{minimum / limit:.1f} s ÷ {synced.wall:.1f} s",
        "≥ 0.8",
        f"{efficiency:.2f}",
        verdict(efficiency >= 0.8),
    )
    table.add("  requests answered 429", f"{limited} of {synced.server_requests}", "≤ 5 %", f"{share:.1%}",
              verdict(share <= 0.05))  # fmt: skip
    table.add(
        "  requests (server count) / minimum",
        f"{synced.server_requests} / {minimum}",
        "≤ 1.1×",
        f"{synced.server_requests / minimum:.2f}×",
        verdict(synced.server_requests <= 1.1 * minimum),
    )
    say(f"[rate 2/2] hub, then the sequential client honouring Retry-After, at {nb} × {dbase} under the same limit …")
    small = start_simulator(stack, args, nb, dbase, latency, rate_limit_rps=limit)
    hub = timed_sync(build_hub(stack, workdir / "rate-baseline-size", small), small, dbase)
    hub_limited = small.stats["429"]
    base = baseline_sync(small, dbase)
    base_limited = small.stats["429"]
    say(
        f"      hub {hub.requests} requests ({hub_limited} answered 429), {hub.wall:.1f} s; sequential "
        f"{base.requests} requests ({base_limited} answered 429), {base.wall:.1f} s; "
        f"{base.days_with_data} day records (hub fetched {hub.fetched})"
    )
    ratio = base.wall / hub.wall
    table.add(
        f"hub vs sequential honouring Retry-After, {nb}×{dbase} at {limit:g} req/s",
        f"{hub.wall:.1f} s vs {base.wall:.1f} s",
        "≥ 10×",
        f"{ratio:.1f}×",
        verdict(ratio >= 10 and base.days_with_data == hub.fetched),
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.getLogger("hub").setLevel(logging.WARNING)
    # `kill` (SIGTERM) unwinds like Ctrl-C, so simulators are stopped and temporary files removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    n, d, c, latency = args.employees, args.days, args.concurrency, args.latency_ms
    nb, dbase = args.baseline_employees, args.baseline_days
    table = Table()
    started = time.perf_counter()
    say(
        f"Sync benchmark: {n} employees × {d} days, concurrency {c}, latency {latency:g} ms; "
        f"baseline comparison at {nb} × {dbase}; under a limit of {args.rate_limit_rps:g} requests/s, "
        f"{args.rate_latency_ms:g} ms, ratio at {args.rate_baseline_employees} × {args.rate_baseline_days}; "
        f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}; simulator "
        + ("in this process" if args.in_process_simulator else "in a child process")
    )
    with tempfile.TemporaryDirectory(prefix="kintai-sync-bench-") as tmp, contextlib.ExitStack() as stack:
        workdir = Path(tmp)
        isolate_environment(workdir)

        if not args.rate_only:
            unpaced_figures(stack, workdir, args, table)
        if args.rate_limit_rps:
            rate_limited_figures(stack, workdir, args, table)
    say("")
    say(table.render())
    say(
        f"\nrequests_per_second={UNPACED:g} (unpaced), concurrency={c}, refresh_summaries on; under the rate "
        "limit the form's defaults; "
        f"total {time.perf_counter() - started:.1f} s; temporary files removed, simulators stopped."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
