"""Benchmark of a KING OF TIME sync against the simulator on loopback (issue 12).

A benchmark, not a test: it measures and prints, in one run,

1. the requests of a full sync of N employees × D days through the hub (``run_sync``, as ``hub sync`` runs it)
   against the contract's floor: 3 (employees, daily-workings, timerecord) for any head count, plus token checks;
2. the sizes of the three answers;
3. the peak memory of the syncing process (its ``ru_maxrss``: the sync runs in a process of its own, started
   for it, that builds the hub and runs nothing else) against the 150 MB a whole hub process may use;
4. hub-side throughput (mapping + validation + write) in day records per second on SQLite and, with
   ``--postgres-url``, PostgreSQL, against the 20,000 rec/s target (issue 11): the provider's mapping over the
   decoded answers, then the engine's ``write_records`` and the commit on a fresh database, medians of
   ``--runs``; no network and no JSON decoding inside the timing (as ``bench/hub_side_bench.py`` for Jobcan).
   The CPU time of parsing the two answers as the client does (ijson, 64 KB chunks) is printed apart, and
   added to give the hub side with the parsing. ``--trace-memory`` runs one more sync with tracemalloc on and
   prints where the Python memory goes: fetching and mapping, the records, writing.

The hub's blackout clock is fixed at 12:00 JST so the bench runs at any hour (KING OF TIME's restricted
hours are not what it measures); the simulator's clock reads 12:00 JST too. Run from the repository root::

    .venv/bin/python bench/kingoftime_bench.py            # 1,000 employees × 40 days
    .venv/bin/python bench/kingoftime_bench.py --quick    # 200 × 10
    .venv/bin/python bench/kingoftime_bench.py --postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/hub_bench

``--postgres-url`` names an existing database whose tables may be replaced (dropped and created per run).

Over 300 lines: the simulator and the sync each run in a process of their own (so that neither the serving
nor the simulator's data is counted in the sync's CPU or memory), and each measured step has its own function.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import multiprocessing
import os
import resource
import signal
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import requests
from _common import Table, isolate_environment, say, verdict
from cryptography.fernet import Fernet
from sqlalchemy import select

from hub import create_app
from hub.bulk import collector_paused
from hub.extensions import db
from hub.integrations.service import provider_named, provider_settings, save_integration
from hub.models import Integration, Member, Trigger
from hub.providers import Deadline
from hub.records import RejectedRecord
from hub.sync import blackout
from hub.sync.engine import run_sync
from hub.sync.lifecycle import start_run
from hub.sync.matching import match_members
from hub.sync.progress import ProgressUpdate
from hub.sync.write import write_records
from hub_plugins.kingoftime import client as kot_client
from hub_plugins.kingoftime import mapping
from hub_plugins.kingoftime.client import CHUNK_BYTES
from hub_plugins.kingoftime.simulator import KingOfTimeSimulator, SimulatorConfig, generate_data

START = date(2026, 11, 2)  # a Monday; the data is deterministic for a given seed, size and period
TARGET_RECORDS_PER_SECOND = 20_000
TARGET_PEAK_MB = 150  # a whole hub process, syncing 1,000 employees × 40 days
DATA_ENDPOINTS = ("employees", "daily_workings", "timerecord")
TOKEN_ENDPOINTS = ("token_available", "token_reissue", "token_delete")
NOON_JST_IN_UTC = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--employees", type=int, help="employees in the simulator (default 1000; --quick 200)")
    parser.add_argument("--days", type=int, help="days of the synced period, at most 40 (default 40; --quick 10)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="simulated latency per request (0)")
    parser.add_argument("--runs", type=int, default=3, help="hub-side runs; medians are printed (3)")
    parser.add_argument("--seed", type=int, default=1, help="simulator seed (1)")
    parser.add_argument("--quick", action="store_true", help="200 employees × 10 days, one hub-side run")
    parser.add_argument("--in-process-simulator", action="store_true", help="serve from this process")
    parser.add_argument("--trace-memory", action="store_true", help="one more sync, tracing Python's allocations")
    parser.add_argument("--postgres-url", help="a PostgreSQL database to measure the hub side on too (tables replaced)")
    args = parser.parse_args(argv)
    args.employees = args.employees or (200 if args.quick else 1000)
    args.days = args.days or (10 if args.quick else 40)
    args.runs = 1 if args.quick else args.runs
    if not 1 <= args.days <= 40:
        parser.error("--days is 1 to 40, the hub's longest period")
    return args


# --- the simulator, in a child process so that serving does not compete for the hub's GIL ------------


def _serve_simulator(config: SimulatorConfig, connection) -> None:
    """Child process: serve the simulator and answer the parent's stats / reset / stop over a pipe."""
    with KingOfTimeSimulator(config) as simulator:
        connection.send((simulator.url, simulator.access_token, len(simulator.data.daily_workings)))
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
    """KingOfTimeSimulator in a child process; ``data`` is generated here from the same config (checked)."""

    def __init__(self, config: SimulatorConfig):
        self.config = config
        self.data = generate_data(config)
        context = multiprocessing.get_context("spawn")
        self._connection, self._child_end = context.Pipe()
        self._process = context.Process(target=_serve_simulator, args=(config, self._child_end), daemon=True)
        self.url = self.access_token = ""

    def __enter__(self) -> SimulatorProcess:
        self._process.start()
        self._child_end.close()
        if not self._connection.poll(60):
            self.__exit__()
            raise RuntimeError("the simulator process did not start within 60 s")
        self.url, self.access_token, workings = self._connection.recv()
        if workings != len(self.data.daily_workings):
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
    def stats(self) -> Counter:
        self._connection.send("stats")
        return Counter(self._connection.recv())

    def reset_stats(self) -> None:
        self._connection.send("reset")
        self._connection.recv()


def period(days: int) -> tuple[date, date]:
    return START, START + timedelta(days=days - 1)


# --- the hub ------------------------------------------------------------------------------------------


def kingoftime_hub(stack: contextlib.ExitStack, folder: Path, sim, database_url: str | None = None) -> object:
    """A hub on ``folder``/hub.sqlite3 (or on ``database_url``, its tables dropped and created again): a member
    per employee (by code) and one KING OF TIME integration on the simulator, unpaced. The app's engine is
    disposed when ``stack`` closes."""
    folder.mkdir(parents=True)
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "bench-secret",
            "HUB_ENCRYPTION_KEYS": [Fernet.generate_key().decode()],
            "SQLALCHEMY_DATABASE_URI": database_url or f"sqlite:///{folder / 'hub.sqlite3'}",
        }
    )
    with app.app_context():
        if database_url:
            db.drop_all()
        db.create_all()
        db.session.add_all(Member(code=e["code"], name=f"{e['lastName']} {e['firstName']}") for e in sim.data.employees)
        values = {"access_token": sim.access_token, "environment": "custom", "api_base_url": sim.url}
        save_integration(provider_named("kingoftime"), "KING OF TIME", values, auto_sync=False)
        db.session.commit()
    stack.callback(_dispose, app)
    return app


def _dispose(app) -> None:
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


# --- measurements -------------------------------------------------------------------------------------


def timed_sync(app, days: int, trace: bool = False) -> dict:
    """run_sync as the CLI runs it: the run's figures, with the process's resident memory before and at its peak.

    With ``trace``, Python's allocations are traced too (slower): the peak while fetching and mapping, what the
    records hold when the write phase starts, and the peak while writing (the records included)."""
    marks: dict[str, float] = {}
    traced: dict[str, float] = {}

    def on_progress(update: ProgressUpdate) -> None:
        marks[update.stage] = time.perf_counter()
        if trace and update.stage == "write" and "records" not in traced:
            current, peak = tracemalloc.get_traced_memory()
            traced.update(records=current / 2**20, fetch_peak=peak / 2**20)
            tracemalloc.reset_peak()

    first, last = period(days)
    with app.app_context():
        integration = db.session.scalar(select(Integration))
        before = _resident_mb()
        if trace:
            tracemalloc.start()
        began = time.perf_counter()
        run = run_sync(integration, first, last, Trigger.CLI, on_progress=on_progress)
        ended = time.perf_counter()
        if trace:
            traced["write_peak"] = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
        return {
            "traced": traced,
            "status": str(run.status),
            "error": run.error,
            "requests": run.requests,
            "fetched": run.fetched,
            "created": run.created,
            "wall": ended - began,
            "fetch": marks.get("write", ended) - began,
            "rss_before": before,
            "peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,  # KiB on Linux
        }


def _resident_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _sync_child(workdir: str, url: str, token: str, employees: list[dict], days: int, trace: bool, connection) -> None:
    """Child process: a hub of its own, one sync, its figures sent back (the parent holds the simulator's data,
    which would hide the sync's own memory)."""
    logging.getLogger("hub").setLevel(logging.WARNING)
    isolate_environment(Path(workdir))
    blackout.utcnow = lambda: NOON_JST_IN_UTC
    sim = argparse.Namespace(url=url, access_token=token, data=argparse.Namespace(employees=employees))
    with contextlib.ExitStack() as stack:
        app = kingoftime_hub(stack, Path(workdir) / "sync", sim)
        connection.send(timed_sync(app, days, trace))


def sync_in_child(workdir: Path, sim, days: int, trace: bool = False) -> dict:
    """One sync in a process started for it; the figures of the run, of its memory, and of the simulator."""
    sim.reset_stats()
    context = multiprocessing.get_context("spawn")
    receiving, sending = context.Pipe(duplex=False)
    names = ("code", "lastName", "firstName")
    employees = [{name: employee[name] for name in names} for employee in sim.data.employees]
    child = context.Process(
        target=_sync_child, args=(str(workdir), sim.url, sim.access_token, employees, days, trace, sending), daemon=True
    )
    child.start()
    sending.close()
    try:
        sync = receiving.recv()
    except EOFError:
        raise SystemExit("the sync process ended without its figures") from None
    finally:
        child.join(60)
    if sync["status"] not in ("succeeded", "partial"):
        raise SystemExit(f"sync failed: {sync['status']} {sync['error']}")
    stats = sim.stats
    sync.update(
        server=stats["total"],
        data=sum(stats[name] for name in DATA_ENDPOINTS),
        token=sum(stats[name] for name in TOKEN_ENDPOINTS),
        per_endpoint={name: stats[name] for name in (*TOKEN_ENDPOINTS, *DATA_ENDPOINTS) if stats[name]},
    )
    return sync


def answers(sim, days: int) -> dict[str, bytes]:
    """The raw answers a sync reads, as KING OF TIME sends them (fetched outside any timing)."""
    first, last = period(days)
    headers = {"Authorization": f"Bearer {sim.access_token}"}
    span = {"start": first.isoformat(), "end": last.isoformat()}
    as_of = {"date": last.isoformat(), "includeResigner": "true", "additionalFields": "hiredDate,resignationDate"}
    queries = {
        "employees": ("/employees", as_of),
        "daily_workings": ("/daily-workings", span),
        "timerecord": ("/daily-workings/timerecord", span),
    }
    found = {}
    for name, (path, params) in queries.items():
        response = requests.get(f"{sim.url}/v1.0{path}", params=params, headers=headers, timeout=120)
        response.raise_for_status()
        found[name] = response.content
    return found


def decode_cpu(raw: dict[str, bytes]) -> float:
    """CPU seconds of parsing the two large answers as the client does (its parser, in its chunks), items dropped."""
    cpu = time.process_time()
    for name in ("daily_workings", "timerecord"):
        body = raw[name]
        chunks = (body[at : at + CHUNK_BYTES] for at in range(0, len(body), CHUNK_BYTES))
        for _item in kot_client._items(next(chunks), chunks, name, Deadline()):
            pass
    return time.process_time() - cpu


def hub_side_once(
    stack, folder: Path, sim, days: int, raw: dict[str, bytes], database_url: str | None = None
) -> tuple[int, float, float, float]:
    """(records, CPU seconds, wall seconds, CPU seconds of the mapping alone) of mapping + write_records + commit
    on a fresh database."""
    app = kingoftime_hub(stack, folder, sim, database_url)
    first, last = period(days)
    with app.app_context():
        integration = db.session.scalar(select(Integration))
        run = start_run(integration, first, last, Trigger.CLI)
        provider = provider_named("kingoftime")
        settings = provider_settings(integration)
        matching = match_members(provider.fetch_members(settings), db.session.scalars(select(Member)))
        tz = ZoneInfo(settings.timezone)
        wanted = {str(remote_id) for remote_id in matching.matched}
        workings, punches = json.loads(raw["daily_workings"]), json.loads(raw["timerecord"])

        cpu, wall = time.process_time(), time.perf_counter()
        with collector_paused():  # as the engine's fetch phase runs the provider
            records = mapping.day_records(
                mapping.day_items(workings), mapping.day_items(punches), wanted, first, last, tz
            )
        mapped = time.process_time()
        write_records(run, integration, matching, records)
        db.session.commit()
        cpu, mapped, wall = time.process_time() - cpu, mapped - cpu, time.perf_counter() - wall
        day_records = [record for record in records if not isinstance(record, RejectedRecord)]
        assert run.created == len(day_records), (run.created, len(day_records))
        db.session.remove()  # ends the transaction reading the run, which would block DROP TABLE on PostgreSQL
    return len(day_records), cpu, wall, mapped


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.getLogger("hub").setLevel(logging.WARNING)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwind: simulators stopped, files removed
    blackout.utcnow = lambda: NOON_JST_IN_UTC  # the bench runs at any hour; restricted hours are not measured
    n, d = args.employees, args.days
    say(
        f"KING OF TIME sync benchmark: {n} employees × {d} days, latency {args.latency_ms:g} ms, "
        f"{args.runs} hub-side runs; {os.cpu_count()} CPUs, Python {sys.version.split()[0]}; simulator "
        + ("in this process" if args.in_process_simulator else "in a child process")
    )
    table = Table()
    first, last = period(d)
    config = SimulatorConfig(employees=n, start=first, end=last, seed=args.seed, latency_ms=args.latency_ms)
    with tempfile.TemporaryDirectory(prefix="kintai-kot-bench-") as tmp, contextlib.ExitStack() as stack:
        workdir = Path(tmp)
        isolate_environment(workdir)
        sim = stack.enter_context(
            KingOfTimeSimulator(config) if args.in_process_simulator else SimulatorProcess(config)
        )

        sync = sync_in_child(workdir / "child", sim, d)
        say(f"sync: {sync['status']}, {sync['fetched']} fetched, {sync['created']} created, {sync['wall']:.2f} s")
        say(f"      requests by endpoint: {sync['per_endpoint']}")
        table.add(
            "data requests (employees, daily-workings, timerecord)",
            str(sync["data"]),
            "3",
            f"{sync['data'] / 3:.2f}",
            verdict(sync["data"] <= 3),
        )
        table.add("token checks", str(sync["token"]))
        table.add("requests counted by the run / by the server", f"{sync['requests']} / {sync['server']}")
        table.add("sync wall time (fetch / total)", f"{sync['fetch']:.2f} s / {sync['wall']:.2f} s")
        peak = sync["peak"]
        table.add(
            "syncing process: peak memory (ru_maxrss)",
            f"{peak:.0f} MB",
            f"{TARGET_PEAK_MB} MB",
            f"{peak / TARGET_PEAK_MB:.2f}",
            verdict(peak <= TARGET_PEAK_MB),
        )
        table.add("  resident before the sync (hub built) / sync's own", f"{sync['rss_before']:.0f} MB / "
                  f"{peak - sync['rss_before']:.0f} MB")  # fmt: skip

        if args.trace_memory:
            traced = sync_in_child(workdir / "traced", sim, d, trace=True)["traced"]
            table.add("  traced (tracemalloc): peak while fetching and mapping", f"{traced['fetch_peak']:.1f} MB")
            table.add("  traced: held by the records when writing starts", f"{traced['records']:.1f} MB")
            table.add("  traced: peak while writing (records included)", f"{traced['write_peak']:.1f} MB")

        raw = answers(sim, d)
        for name, body in raw.items():
            table.add(f"answer size: {name}", f"{len(body) / 1e6:.2f} MB")
        backend = kot_client._parser.backend_name if kot_client._parser else "none: answers read whole"
        decode = statistics.median(decode_cpu(raw) for _ in range(args.runs))
        table.add(f"parsing both answers as they arrive (ijson {backend}), CPU", f"{decode:.2f} s")

        databases = [("SQLite", None)] + ([("PostgreSQL", args.postgres_url)] if args.postgres_url else [])
        target = TARGET_RECORDS_PER_SECOND
        for name, url in databases:
            runs = [hub_side_once(stack, workdir / f"hub-side-{name}-{i}", sim, d, raw, url) for i in range(args.runs)]
            records = runs[0][0]
            cpu = records / statistics.median(r[1] for r in runs)
            wall = records / statistics.median(r[2] for r in runs)
            mapped = records / statistics.median(r[3] for r in runs)
            table.add(f"hub side on {name} ({records} records), CPU", f"{cpu:,.0f} rec/s", f"{target:,}",
                      f"{cpu / target:.2f}", verdict(cpu >= target))  # fmt: skip
            table.add(f"hub side on {name}, wall", f"{wall:,.0f} rec/s", f"{target:,}", f"{wall / target:.2f}",
                      verdict(wall >= target))  # fmt: skip
            table.add(f"  the provider's mapping alone ({name} run), CPU", f"{mapped:,.0f} rec/s")
            parsed = records / (statistics.median(r[1] for r in runs) + decode)
            table.add(f"  hub side on {name} with the parsing, CPU", f"{parsed:,.0f} rec/s")
    say("")
    say(table.render())
    say("\nunpaced (no requests_per_second); temporary files removed, simulator stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
