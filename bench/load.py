"""Load and fault check of the production layout: gunicorn, PostgreSQL, Redis, two `hub worker` processes.

A script, not a test: it builds a throw-away deployment on this machine, drives logged-in page traffic at it
from several threads while two syncs run against faulty Jobcan simulators, SIGKILLs the worker process that is
executing one of them, waits for the dead run to be reaped, re-queues it, and checks the end state:

- every request's latency per page (p50 / p95), 5xx answers and connection errors;
- every run ended succeeded, partial or interrupted, and none is left queued or running;
- the attendance stored under load equals a clean `hub sync` of the same simulators into a second database.

Run it from the repository root (PostgreSQL on 127.0.0.1:5432 as postgres with trust auth, Redis on
127.0.0.1:6379; database 14 is flushed at the start and at the end)::

    .venv/bin/python bench/load.py                 # 300 employees, at least 60 s of traffic: about 2½ minutes
    .venv/bin/python bench/load.py --quick         # 100 employees, at least 20 s of traffic: under 2 minutes

Results and method: docs/performance.md, "Load and fault check".

Everything it starts (simulators, gunicorn, workers) is stopped, both databases are dropped, Redis database 14
is flushed and the temporary folder removed, whatever happens (Ctrl-C included). Exit status 0 when every check
passes, 1 otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import html
import json
import math
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import psycopg
import redis
import requests
from _common import HUB, ROOT, hub_env
from psycopg.rows import dict_row

GUNICORN = str(Path(sys.executable).parent / "gunicorn")
PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
REDIS_URL = "redis://127.0.0.1:6379/14"
START = date(2026, 10, 1)  # first synced day; the simulators' data is deterministic for a seed and size
ADMIN_EMAIL = "load-admin@example.com"
ADMIN_PASSWORD = "load-check-password-1"
INTEGRATIONS = (("本社", 11), ("支社", 12))  # name, simulator seed
ENDED_OK = ("succeeded", "partial", "interrupted")
ACTIVE = ("queued", "running")
MAX_FRESH = 3  # fresh syncs the script starts per integration after a run ended interrupted or failed
HEARTBEAT_TIMEOUT = 20
TICK_SECONDS = 60  # hub.scheduler_tick runs every minute on the worker with --periodic
MAX_REQUESTS_PER_THREAD = 1_000_000
_CSRF = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"|<input[^>]*value="([^"]+)"[^>]*name="csrf_token"')
_OPTION = re.compile(r'<option[^>]*value="(\d+)"[^>]*>([^<]*)</option>')
_FLASH = re.compile(r'class="flash[^"]*"[^>]*>(.*?)</', re.S)


class Interrupted(Exception):
    """SIGTERM: clean up as for Ctrl-C."""


def log(message: str) -> None:
    print(f"[{time.monotonic() - T0:7.1f}s] {message}", file=sys.stderr, flush=True)


T0 = time.monotonic()


# --- options -----------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, help="least seconds of page traffic (default 60; --quick 20)")
    parser.add_argument("--employees", type=int, help="employees per simulator (default 300; --quick 100)")
    parser.add_argument("--days", type=int, default=30, help="days in each synced period, at most 40 (30)")
    parser.add_argument("--threads", type=int, default=8, help="client threads sending page requests (8)")
    parser.add_argument("--web-workers", type=int, default=4, help="gunicorn worker processes (4)")
    parser.add_argument("--rps", type=int, default=20, help="the integrations' requests_per_second, 1–50 (20)")
    parser.add_argument("--rate-429", type=float, default=0.05, help="simulators' 429 probability (0.05)")
    parser.add_argument("--rate-5xx", type=float, default=0.03, help="simulators' 5xx probability (0.03)")
    parser.add_argument("--latency-ms", type=float, default=5.0, help="simulators' added latency (5)")
    parser.add_argument(
        "--reap-wait",
        type=float,
        help="seconds to give the periodic worker's tick to reap a run whose heartbeat is older than "
        "HUB_HEARTBEAT_TIMEOUT, before the re-queue's own start reaps it (default 75, a tick and a margin; --quick 0)",
    )
    parser.add_argument("--keep-logs", metavar="DIR", type=Path, help="copy the process logs to DIR at the end")
    parser.add_argument("--quick", action="store_true", help="100 employees, 20 s of traffic: under 2 minutes")
    args = parser.parse_args(argv)
    args.seconds = args.seconds if args.seconds is not None else (20.0 if args.quick else 60.0)
    args.employees = args.employees if args.employees is not None else (100 if args.quick else 300)
    if args.reap_wait is None:
        args.reap_wait = 0.0 if args.quick else TICK_SECONDS + 15.0
    if not 1 <= args.days <= 40:
        parser.error("--days: a sync covers 1 to 40 days")
    if args.employees < 2 or args.threads < 1 or args.web_workers < 1 or not 1 <= args.rps <= 50:
        parser.error("--employees ≥ 2, --threads ≥ 1, --web-workers ≥ 1, --rps 1–50")
    if args.seconds <= 0 or args.seconds > 3600:
        parser.error("--seconds: 1 to 3600")
    return args


# --- processes, databases, Redis -----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Children:
    """Child processes, each in its own session so that stopping one reaches its own children only."""

    def __init__(self, logdir: Path):
        self.logdir = logdir
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self, name: str, argv: list[str], env: dict) -> subprocess.Popen:
        with open(self.logdir / f"{name}.log", "wb") as output:
            proc = subprocess.Popen(
                argv,
                env=env,
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.procs[name] = proc
        return proc

    def logfile(self, name: str) -> Path:
        return self.logdir / f"{name}.log"

    def read_log(self, name: str) -> str:
        try:
            return self.logfile(name).read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stop(self, name: str) -> None:
        proc = self.procs.pop(name, None)
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)
        # The process led its own group: whatever is left of it (gunicorn workers) goes too.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)

    def stop_all(self) -> None:
        for name in list(self.procs):
            self.stop(name)


CLEANUP_DATABASES: list[str] = []


def create_database(name: str, template: str | None = None) -> str:
    CLEANUP_DATABASES.append(name)
    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    return f"{PG_SERVER}/{name}"


def drop_database(name: str) -> None:
    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def flush_redis() -> None:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.flushdb()
    finally:
        client.close()


def base_env(instance: Path, database_url: str, queue_url: str | None) -> dict:
    return hub_env(instance, database_url, queue_url=queue_url, heartbeat_timeout=HEARTBEAT_TIMEOUT)


def hub(env: dict, *args: str, stdin: str | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [HUB, *args], env=env, cwd=ROOT, input=stdin, capture_output=True, text=True, timeout=timeout
    )
    if result.returncode != 0:
        raise RuntimeError(f"hub {' '.join(args)} → exit {result.returncode}\n{result.stderr[-2000:]}")
    return result


# --- deployment --------------------------------------------------------------------------------------


@dataclass
class Simulator:
    name: str  # the integration it serves
    seed: int
    label: str  # its log's name
    url: str = ""
    client_id: str = ""
    client_secret: str = ""


def launch_simulator(children: Children, env: dict, args, integration: str, seed: int, clean: bool) -> Simulator:
    """Start `hub jobcan simulator` on a free port; :func:`await_simulator` reads its URL and credentials."""
    first, last = START, START + timedelta(days=args.days - 1)
    label = f"sim-{'clean' if clean else 'faulty'}-{seed}"
    faults = ["0", "0", "0"] if clean else [str(args.rate_429), str(args.rate_5xx), str(args.latency_ms)]
    argv = [HUB, "jobcan", "simulator", "--port", "0", "--employees", str(args.employees)]
    argv += ["--from", first.isoformat(), "--to", last.isoformat(), "--seed", str(seed), "--retry-after", "1"]
    argv += ["--rate-429", faults[0], "--rate-5xx", faults[1], "--latency-ms", faults[2]]
    children.start(label, argv, env)
    return Simulator(integration, seed, label)


def await_simulator(children: Children, simulator: Simulator, timeout: float = 60) -> Simulator:
    deadline = time.monotonic() + timeout
    patterns = {
        "url": r"listening on (http://\S+)",
        "client_id": r"ID \(client ID\):\s+(\S+)",
        "client_secret": r"Secret:\s+(\S+)",
    }
    while time.monotonic() < deadline:
        text = children.read_log(simulator.label)
        found = {key: re.search(pattern, text) for key, pattern in patterns.items()}
        if all(found.values()):
            for key, match in found.items():
                setattr(simulator, key, match.group(1))
            return simulator
        if children.procs[simulator.label].poll() is not None:
            raise RuntimeError(f"simulator {simulator.label} exited:\n{text[-2000:]}")
        time.sleep(0.1)
    raise RuntimeError(f"simulator {simulator.label} did not start in {timeout:.0f} s")


def add_integration(env: dict, simulator: Simulator, rps: int) -> None:
    argv = ["integrations", "add", "jobcan", simulator.name, "--no-auto-sync"]
    for setting in (
        f"client_id={simulator.client_id}",
        "client_secret=-",
        "environment=custom",
        f"api_base_url={simulator.url}",
        f"auth_base_url={simulator.url}",
        f"requests_per_second={rps}",
    ):
        argv += ["--set", setting]
    for attempt in range(1, 6):  # the credential check meets the simulator's random 429/5xx too
        try:
            hub(env, *argv, stdin=simulator.client_secret + "\n")
            return
        except RuntimeError as exc:
            if attempt == 5:
                raise
            log(f"integrations add {simulator.name} failed (attempt {attempt}), retrying: {str(exc)[-200:]}")
            time.sleep(1)


def write_members_csv(path: Path, employees: int) -> None:
    """A member for every code the simulators can serve (P1001…); each simulator leaves one employee uncoded."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["社員コード", "名前", "部署"])
        for index in range(employees):
            writer.writerow([f"P{1001 + index}", f"負荷 {index + 1:04d}", f"部署{index % 7 + 1}"])


def prepare_database(env: dict, csv_path: Path, with_admin: bool) -> None:
    hub(env, "db", "upgrade")
    if with_admin:
        hub(env, "create-admin", ADMIN_EMAIL, "--password-stdin", stdin=ADMIN_PASSWORD + "\n")
    hub(env, "members", "import", str(csv_path))


def wait_http(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: the server exited with {proc.returncode}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer 200 within {timeout:.0f} s")


# --- web clients -------------------------------------------------------------------------------------


def csrf_token(page: str) -> str:
    match = _CSRF.search(page)
    if not match:
        raise RuntimeError("no csrf_token in the page")
    return html.unescape(match.group(1) or match.group(2))


def login(base: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{base}/login", timeout=30)
    page.raise_for_status()
    answer = session.post(
        f"{base}/login",
        data={"csrf_token": csrf_token(page.text), "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
        allow_redirects=False,
        timeout=30,
    )
    if answer.status_code != 302:
        raise RuntimeError(f"login failed: HTTP {answer.status_code}")
    return session


@dataclass
class Sample:
    page: str
    seconds: float
    status: int | None  # None: connection error or timeout
    error: str | None = None


@dataclass
class Stats:
    samples: list[Sample] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, sample: Sample) -> None:
        with self.lock:
            self.samples.append(sample)


def timed(stats: Stats, page: str, call) -> requests.Response | None:
    began = time.perf_counter()
    try:
        response = call()
    except requests.RequestException as exc:
        stats.add(Sample(page, time.perf_counter() - began, None, type(exc).__name__))
        return None
    stats.add(Sample(page, time.perf_counter() - began, response.status_code))
    return response


class Traffic:
    """Threads of logged-in admins reading pages until told to stop (bounded in count and time)."""

    def __init__(self, base: str, threads: int, stats: Stats, run_ids: list[int], hard_stop: float):
        self.base = base
        self.stats = stats
        self.run_ids = run_ids
        self.hard_stop = hard_stop
        self.stop = threading.Event()
        self.failures: list[str] = []
        self.threads = [
            threading.Thread(target=self._loop, args=(index,), name=f"traffic-{index}", daemon=True)
            for index in range(threads)
        ]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def join(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)

    def _loop(self, index: int) -> None:
        rng = random.Random(index)
        try:
            session = login(self.base)
        except Exception as exc:  # reported, and the thread sends nothing
            self.failures.append(f"thread {index}: {exc}")
            return
        with session:
            for _ in range(MAX_REQUESTS_PER_THREAD):
                if self.stop.is_set() or time.monotonic() > self.hard_stop:
                    return
                page, url = self._pick(rng)
                response = timed(
                    self.stats, page, lambda url=url, client=session: client.get(url, allow_redirects=False, timeout=30)
                )
                if (
                    response is not None
                    and response.status_code == 302
                    and "/login" in response.headers.get("Location", "")
                ):
                    with contextlib.suppress(Exception):
                        session = login(self.base)

    def _pick(self, rng: random.Random) -> tuple[str, str]:
        roll = rng.random()
        if roll < 0.35:
            query = rng.choice(["", "", "P10", "P12", "負荷", "部署3", "p1005", "zzz"])
            return "members list", f"{self.base}/admin/members/?q={query}&page={rng.randint(1, 4)}"
        if roll < 0.60:
            return "attendance", f"{self.base}/admin/attendance/"
        if roll < 0.85 and self.run_ids:
            return "run page", f"{self.base}/admin/attendance/runs/{rng.choice(self.run_ids)}"
        return "healthz", f"{self.base}/healthz"


class Admin:
    """The admin who starts syncs through the 勤怠 form."""

    def __init__(self, base: str, stats: Stats):
        self.base = base
        self.stats = stats
        self.session = login(base)

    def start_sync(self, integration: str, start: date, end: date) -> tuple[int | None, str]:
        """The new run's id, or None and the page's message when the hub refused to start it."""
        page = timed(self.stats, "attendance", lambda: self.session.get(f"{self.base}/admin/attendance/", timeout=30))
        if page is None or page.status_code != 200:
            return None, f"attendance page: {page.status_code if page is not None else 'connection error'}"
        options = {html.unescape(label).strip(): value for value, label in _OPTION.findall(page.text)}
        data = {
            "csrf_token": csrf_token(page.text),
            "integration": options[integration],
            "start": start.isoformat(),
            "end": end.isoformat(),
        }
        answer = timed(
            self.stats,
            "sync form (POST)",
            lambda: self.session.post(f"{self.base}/admin/attendance/", data=data, allow_redirects=False, timeout=30),
        )
        if answer is None:
            return None, "connection error"
        match = re.search(r"/admin/attendance/runs/(\d+)", answer.headers.get("Location", ""))
        if answer.status_code == 302 and match:
            return int(match.group(1)), ""
        flashes = [re.sub(r"<[^>]+>", "", item).strip() for item in _FLASH.findall(answer.text)]
        return None, f"HTTP {answer.status_code}: {' / '.join(f for f in flashes if f) or 'no message'}"


# --- the database of the load run --------------------------------------------------------------------

RUN_COLUMNS = (
    "id, integration_name, trigger, status, progress_stage, progress_percent, requests, heartbeat_at, "
    "fetched, created, updated, unchanged, removed, rejected, unmatched_remote, unmatched_local, warnings, "
    "error, queued_at, started_at, finished_at"
)


class Database:
    def __init__(self, url: str):
        self.conn = psycopg.connect(url, autocommit=True, row_factory=dict_row)
        self.lock = threading.Lock()

    def runs(self) -> list[dict]:
        with self.lock:
            return self.conn.execute(f"SELECT {RUN_COLUMNS} FROM sync_runs ORDER BY id").fetchall()

    def run(self, run_id: int) -> dict:
        with self.lock:
            return self.conn.execute(f"SELECT {RUN_COLUMNS} FROM sync_runs WHERE id = %s", (run_id,)).fetchone()

    def stale_runs(self, seconds: int) -> set[int]:
        """Runs still "running" whose heartbeat is older than ``seconds`` (by the database's clock)."""
        query = "SELECT id FROM sync_runs WHERE status = 'running' AND heartbeat_at < now() - make_interval(secs => %s)"
        with self.lock:
            return {row["id"] for row in self.conn.execute(query, (seconds,)).fetchall()}

    def close(self) -> None:
        self.conn.close()


def attendance_rows(url: str) -> list[tuple]:
    """Every stored day with its breaks and hourly leave, by member code and date, as comparable tuples.

    The content hash is left out: it is the engine's private fingerprint, and code changed between the load run
    and the reference (a deploy, another developer's edit) may compute it differently for the same day.
    """
    query = """
        SELECT m.code, d.work_date, d.clock_in, d.clock_out, d.work_minutes, d.break_minutes, d.leave,
               d.leave_name, i.name, d.remote_id,
               COALESCE((SELECT string_agg(b.start || '-' || b."end", ',' ORDER BY b.start, b."end")
                         FROM attendance_breaks b WHERE b.day_id = d.id), ''),
               COALESCE((SELECT string_agg(h.start || '-' || h."end" || ':' || COALESCE(h.name, ''), ','
                                           ORDER BY h.start, h."end")
                         FROM hourly_leave_intervals h WHERE h.day_id = d.id), '')
        FROM attendance_days d
        JOIN members m ON m.id = d.member_id
        LEFT JOIN integrations i ON i.id = d.integration_id
        ORDER BY m.code, d.work_date
    """
    with psycopg.connect(url) as conn:
        return [tuple(row) for row in conn.execute(query).fetchall()]


ROW_FIELDS = (
    "code",
    "date",
    "clock_in",
    "clock_out",
    "work",
    "break",
    "leave",
    "leave_name",
    "integration",
    "remote_id",
    "breaks",
    "hourly_leave",
)


# --- the fault scenario ------------------------------------------------------------------------------


@dataclass
class Worker:
    name: str
    periodic: bool
    proc: subprocess.Popen | None = None


class Scenario:
    """Queue both syncs, kill the worker executing one mid-run, let the reaper mark it, re-queue, wait."""

    def __init__(self, args, children: Children, env: dict, db: Database, run_ids: list[int]):
        self.args = args
        self.children = children
        self.env = env
        self.db = db
        self.admin: Admin | None = None  # logged in once gunicorn answers
        self.run_ids = run_ids
        self.workers: list[Worker] = []
        self.run_worker: dict[int, str] = {}
        self.events: list[str] = []
        self.kill: dict | None = None
        self.reaped_by: dict[int, str] = {}
        self.stale_noted: set[int] = set()
        self.first, self.last = START, START + timedelta(days=args.days - 1)

    def note(self, message: str) -> None:
        self.events.append(f"{time.monotonic() - T0:6.1f}s {message}")
        log(message)

    def start_worker(self, periodic: bool, generation: int = 1) -> Worker:
        name = f"worker-{'periodic' if periodic else 'noperiodic'}-{generation}"
        argv = [HUB, "worker", "--workers", "2"] + ([] if periodic else ["--no-periodic"])
        worker = Worker(name, periodic, self.children.start(name, argv, self.env))
        self.workers.append(worker)
        return worker

    def executions(self) -> dict[str, int]:
        """How many sync tasks each live worker has started, from Huey's "Executing …sync_run" log lines."""
        return {
            worker.name: sum(
                1
                for line in self.children.read_log(worker.name).splitlines()
                if "Executing" in line and "sync_run" in line
            )
            for worker in self.workers
            if worker.proc is not None and worker.proc.poll() is None
        }

    def queue(self, integration: str, deadline: float) -> int | None:
        """Start a sync through the web form (retrying while the hub says the integration is busy), then wait
        until a worker has taken it and tell which one."""
        while time.monotonic() < deadline:
            before = self.executions()
            run_id, message = self.admin.start_sync(integration, self.first, self.last)
            if run_id is not None:
                self.run_ids.append(run_id)
                self.note(f"queued run {run_id} ({integration}) through the form")
                self.wait_running(run_id, before)
                return run_id
            self.note(f"form refused a sync of {integration}: {message[:160]}")
            time.sleep(2)
        return None

    def wait_running(self, run_id: int, before: dict[str, int], timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = self.db.run(run_id)
            if run["status"] != "queued":
                break
            time.sleep(0.1)
        # Which worker took it: the one whose count of executed sync tasks went up.
        for _ in range(30):
            grown = [name for name, count in self.executions().items() if count > before.get(name, 0)]
            if len(grown) == 1:
                self.run_worker[run_id] = grown[0]
                break
            time.sleep(0.1)
        run = self.db.run(run_id)
        self.note(f"run {run_id} is {run['status']} on {self.run_worker.get(run_id, '?')}")
        return run

    def moving(self, run_id: int, window: float = 1.5) -> bool:
        first = self.db.run(run_id)
        time.sleep(window)
        second = self.db.run(run_id)
        keys = ("progress_stage", "progress_percent", "requests", "heartbeat_at")
        return (
            second["status"] == "running"
            and second["progress_stage"] not in ("write", "done")
            and any(first[key] != second[key] for key in keys)
        )

    def run(self, deadline: float) -> None:
        names = [name for name, _seed in INTEGRATIONS]
        first_run = self.queue(names[0], deadline)
        if first_run is None:
            return
        second_run = self.queue(names[1], deadline)
        self.kill_one([run for run in (first_run, second_run) if run is not None], deadline)
        self.settle(deadline)

    def kill_one(self, candidates: list[int], deadline: float) -> None:
        """SIGKILL the worker process executing the first run whose progress is moving."""
        for run_id in candidates:
            worker_name = self.run_worker.get(run_id)
            if worker_name is None:
                continue
            limit = min(deadline, time.monotonic() + 20)
            while time.monotonic() < limit and not self.moving(run_id):
                if self.db.run(run_id)["status"] not in ACTIVE:
                    break
            if not self.moving(run_id, window=0.6):
                self.note(f"run {run_id} is not moving (status {self.db.run(run_id)['status']}); not killing for it")
                continue
            worker = next(w for w in self.workers if w.name == worker_name)
            on_it = [rid for rid, name in self.run_worker.items() if name == worker_name]
            snapshot = {rid: self.db.run(rid) for rid in on_it}
            os.kill(worker.proc.pid, signal.SIGKILL)
            worker.proc.wait(timeout=10)
            self.kill = {
                "at": time.monotonic(),
                "worker": worker_name,
                "pid": worker.proc.pid,
                "runs": [rid for rid, run in snapshot.items() if run["status"] == "running"],
                "progress": {
                    rid: (run["progress_stage"], run["progress_percent"], run["requests"])
                    for rid, run in snapshot.items()
                },
            }
            self.note(
                f"SIGKILL {worker_name} (pid {worker.proc.pid}) executing run(s) {self.kill['runs']}: "
                + ", ".join(
                    f"#{rid} {stage} {pct}% {req} req" for rid, (stage, pct, req) in self.kill["progress"].items()
                )
            )
            self.children.procs.pop(worker_name, None)
            worker.proc = None
            generation = sum(1 for w in self.workers if w.periodic == worker.periodic) + 1
            replacement = self.start_worker(worker.periodic, generation)
            self.note(f"started {replacement.name} in its place, as a process supervisor would")
            return
        self.note("no run was moving long enough to kill its worker: the fault was not injected")

    def settle(self, deadline: float) -> None:
        """Until every integration's latest run succeeded or was partial: let the reaper mark runs without a
        heartbeat interrupted (or, after --reap-wait, let the re-queue's own start reap them), then start a fresh
        sync of every integration whose latest run was interrupted or failed (at most MAX_FRESH times each)."""
        fresh: Counter[str] = Counter()
        stale_since: dict[int, float] = {}
        while time.monotonic() < deadline:
            latest = {run["integration_name"]: run for run in self.db.runs()}
            stale = self.db.stale_runs(HEARTBEAT_TIMEOUT)
            settled = True
            for name, _seed in INTEGRATIONS:
                run = latest.get(name)
                if run is None:
                    continue
                rid = run["id"]
                if run["status"] in ACTIVE:
                    settled = False
                    if rid in stale:
                        first_seen = stale_since.setdefault(rid, time.monotonic())
                        if rid not in self.stale_noted:
                            self.stale_noted.add(rid)
                            self.note(f"run {rid} ({name}) has had no heartbeat for {HEARTBEAT_TIMEOUT} s")
                        if time.monotonic() - first_seen >= self.args.reap_wait and fresh[name] < MAX_FRESH:
                            self.reaped_by[rid] = "start_run of the re-queue"
                            self.note(f"run {rid} still running; the re-queue of {name} reaps it")
                            fresh[name] += 1
                            self.queue(name, deadline)
                    continue
                if run["status"] in ("interrupted", "failed"):
                    if rid not in self.reaped_by and run["progress_stage"] == "interrupted":
                        self.reaped_by[rid] = "scheduler tick"
                        waited = time.monotonic() - stale_since.get(rid, time.monotonic())
                        self.note(
                            f"run {rid} reaped by the periodic tick, {waited:.0f} s after its heartbeat went stale"
                        )
                    if fresh[name] < MAX_FRESH:
                        settled = False
                        fresh[name] += 1
                        self.note(f"run {rid} ({name}) ended {run['status']}: a fresh sync so the data ends complete")
                        self.queue(name, deadline)
            if settled:
                self.note("every integration's latest run has ended; none is queued or running")
                return
            time.sleep(0.5)
        self.note("gave up waiting: some run is still queued or running")


# --- the reference --------------------------------------------------------------------------------------


def reference_syncs(env: dict, args, order: list[str]) -> list[dict]:
    """`hub sync` of the clean simulators, in the order the load run's last successful runs finished."""
    results = []
    last = START + timedelta(days=args.days - 1)
    for integration in order:
        answer = hub(env, "sync", integration, "--from", START.isoformat(), "--to", last.isoformat(), "--json")
        results.append(json.loads(answer.stdout))
    return results


# --- report ---------------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[max(1, math.ceil(q / 100 * len(ordered))) - 1]  # nearest rank


def expected(sample: Sample) -> bool:
    """200, or the sync form's redirect to the new run; any other answer is counted under "other"."""
    return sample.status == 200 or (sample.page == "sync form (POST)" and sample.status == 302)


def report_requests(stats: Stats, seconds: float) -> tuple[int, int]:
    by_page: dict[str, list[Sample]] = defaultdict(list)
    for sample in stats.samples:
        by_page[sample.page].append(sample)
    print(f"\nRequests ({seconds:.1f} s of traffic)")
    header = (
        f"  {'page':<18} {'requests':>8} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'5xx':>5} {'conn err':>8} other"
    )
    print(header)
    total_5xx = total_conn = 0
    for page in [*sorted(by_page), "overall"]:
        samples = stats.samples if page == "overall" else by_page[page]
        times = [s.seconds * 1000 for s in samples if s.status is not None]
        errors = sum(1 for s in samples if s.status is not None and s.status >= 500)
        conn = sum(1 for s in samples if s.status is None)
        other = Counter(s.status for s in samples if s.status is not None and s.status < 500 and not expected(s))
        if page == "overall":
            total_5xx, total_conn = errors, conn
        print(
            f"  {page:<18} {len(samples):>8} {percentile(times, 50):>8.1f} {percentile(times, 95):>8.1f} "
            f"{max(times, default=float('nan')):>8.1f} {errors:>5} {conn:>8} {dict(other) or ''}"
        )
    statuses = Counter(s.status for s in stats.samples)
    print(f"  status codes: {dict(sorted(statuses.items(), key=lambda item: str(item[0])))}")
    print(f"  throughput: {len(stats.samples) / seconds:.1f} requests/s")
    return total_5xx, total_conn


def report_runs(runs: list[dict], run_worker: dict[int, str]) -> None:
    print("\nRuns")
    print(
        f"  {'id':>3} {'integration':<6} {'trigger':<7} {'status':<11} {'worker':<22} {'req':>5} {'fetched':>7} "
        f"{'created':>7} {'updated':>7} {'unch.':>6} {'rej.':>4} {'warn':>4} {'secs':>6}  error"
    )
    for run in runs:
        secs = (
            f"{(run['finished_at'] - run['started_at']).total_seconds():.1f}"
            if run["finished_at"] and run["started_at"]
            else "—"
        )
        print(
            f"  {run['id']:>3} {run['integration_name']:<6} {run['trigger']:<7} {run['status']:<11} "
            f"{run_worker.get(run['id'], '?'):<22} {run['requests']:>5} {run['fetched']:>7} {run['created']:>7} "
            f"{run['updated']:>7} {run['unchanged']:>6} {run['rejected']:>4} {run['warnings']:>4} {secs:>6}  "
            f"{(run['error'] or '')[:90]}"
        )


def commit_order(runs: list[dict]) -> list[str]:
    """Integrations by when their last succeeded/partial run finished: the later sync wins shared days."""
    last: dict[str, datetime] = {}
    for run in runs:
        if run["status"] in ("succeeded", "partial") and run["finished_at"]:
            last[run["integration_name"]] = max(
                run["finished_at"], last.get(run["integration_name"], run["finished_at"])
            )
    names = [name for name, _seed in INTEGRATIONS]
    return sorted(names, key=lambda name: (name in last, last.get(name) or datetime.min))


def compare(load_rows: list[tuple], reference_rows: list[tuple]) -> bool:
    loaded, reference = Counter(load_rows), Counter(reference_rows)
    missing, extra = reference - loaded, loaded - reference
    per_source = Counter(row[8] for row in load_rows)
    print(
        f"\nAttendance: load {len(load_rows)} days, clean reference {len(reference_rows)} days "
        f"(load by source: {dict(per_source)})"
    )
    if not missing and not extra:
        print("  every day equal (code, date, clock-in/out, work/break minutes, leave, source, breaks, hourly leave)")
        return True
    print(f"  {sum(missing.values())} reference days missing or different under load, {sum(extra.values())} extra")
    for label, rows in (("missing", missing), ("extra", extra)):
        for row in list(rows)[:5]:
            print(f"    {label}: {dict(zip(ROW_FIELDS, row, strict=True))}")
    return False


# --- main -----------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="hub-load-"))
    logdir = tmp / "logs"
    logdir.mkdir()
    children = Children(logdir)
    traffic: Traffic | None = None
    db: Database | None = None
    ok = False

    def on_term(signum, frame):
        raise Interrupted()

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        ok, traffic, db = run_check(args, tmp, children)
    except (KeyboardInterrupt, Interrupted):
        log("interrupted: cleaning up")
    except Exception as exc:
        log(f"FAILED: {type(exc).__name__}: {exc}")
        for name in list(children.procs):
            tail = children.read_log(name)[-1500:]
            if tail.strip():
                print(f"\n--- last lines of {name}.log ---\n{tail}", file=sys.stderr)
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # cleanup must not be cut short
        log("cleaning up: processes, databases, Redis db 14, temporary folder")
        if traffic is not None:
            traffic.stop.set()
        children.stop_all()
        if db is not None:
            with contextlib.suppress(Exception):
                db.close()
        for name in CLEANUP_DATABASES:
            try:
                drop_database(name)
            except Exception as exc:
                log(f"could not drop database {name}: {exc}")
        try:
            flush_redis()
        except Exception as exc:
            log(f"could not flush Redis db 14: {exc}")
        if args.keep_logs:
            shutil.copytree(logdir, args.keep_logs, dirs_exist_ok=True)
        shutil.rmtree(tmp, ignore_errors=True)
        signal.signal(signal.SIGTERM, previous)
    return 0 if ok else 1


def run_check(args, tmp: Path, children: Children):
    flush_redis()
    db_name = f"load_{uuid.uuid4().hex[:8]}"
    url = create_database(db_name)
    env = base_env(tmp / "instance", url, REDIS_URL)
    csv_path = tmp / "members.csv"
    write_members_csv(csv_path, args.employees)
    log(f"database {db_name}; {args.employees} employees × {args.days} days per simulator; Redis db 14")
    faulty = [launch_simulator(children, env, args, name, seed, clean=False) for name, seed in INTEGRATIONS]
    clean = [launch_simulator(children, env, args, name, seed, clean=True) for name, seed in INTEGRATIONS]
    prepare_database(env, csv_path, with_admin=True)
    log("schema, admin and members ready")
    # The reference starts as a copy of this database before any integration: schema, admin and members only.
    reference_url = create_database(f"{db_name}_ref", template=db_name)
    reference_env = base_env(tmp / "instance-ref", reference_url, None)

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    argv = [GUNICORN, "-w", str(args.web_workers), "-b", f"127.0.0.1:{port}", "--graceful-timeout", "5"]
    gunicorn = children.start("gunicorn", [*argv, "hub.wsgi:app"], env)
    db = Database(url)
    stats = Stats()
    run_ids: list[int] = []
    scenario = Scenario(args, children, env, db, run_ids)
    scenario.start_worker(periodic=True)
    scenario.start_worker(periodic=False)
    # While gunicorn and the workers boot: the four integrations (two under load, two for the reference).
    with ThreadPoolExecutor(max_workers=4) as pool:
        jobs = [pool.submit(add_integration, env, await_simulator(children, sim), args.rps) for sim in faulty]
        jobs += [pool.submit(add_integration, reference_env, await_simulator(children, sim), 50) for sim in clean]
        for job in jobs:
            job.result()
    log("four simulators and four integrations ready (two faulty under load, two clean for the reference)")
    wait_http(f"{base}/healthz", gunicorn)
    log(f"gunicorn ({args.web_workers} workers) on {base}; two `hub worker --workers 2` (one --no-periodic)")

    scenario.admin = Admin(base, stats)
    began = time.monotonic()
    scenario_deadline = began + args.seconds + 420
    traffic = Traffic(base, args.threads, stats, run_ids, hard_stop=scenario_deadline)
    traffic.start()
    time.sleep(min(3.0, args.seconds / 4))  # warm-up traffic before the first sync
    scenario.run(scenario_deadline)
    while time.monotonic() < began + args.seconds:
        time.sleep(0.2)
    traffic.join()
    traffic_seconds = time.monotonic() - began
    log(f"traffic stopped after {traffic_seconds:.1f} s, {len(stats.samples)} requests")
    runs = db.runs()
    for line in traffic.failures:
        print(f"traffic thread failed to log in: {line}")

    total_5xx, total_conn = report_requests(stats, traffic_seconds)
    report_runs(runs, scenario.run_worker)
    print("\nEvents")
    for event in scenario.events:
        print(f"  {event}")
    print(f"  reaped by: {scenario.reaped_by or 'nothing reaped'}")
    killed = scenario.kill["runs"] if scenario.kill else []
    unexpected = [run for run in runs if run["status"] in ("interrupted", "failed") and run["id"] not in killed]
    for run in unexpected:
        print(f"\nRun {run['id']} ended {run['status']} although its worker was not killed: {run['error']}")
        worker = scenario.run_worker.get(run["id"])
        if worker:
            errors = [line for line in scenario.children.read_log(worker).splitlines() if "Error: " in line]
            for line in errors[-3:]:
                print(f"  {worker}: {line[:400]}")

    order = commit_order(runs)
    log(f"clean reference: `hub sync` of clean simulators in the order {order}")
    for result in reference_syncs(reference_env, args, order):
        counts = result["counts"]
        print(
            f"  reference `hub sync {result['integration']}`: {result['status']}, {result['requests']} requests, "
            f"fetched {counts['fetched']}, created {counts['created']}, updated {counts['updated']}"
        )
    equal = compare(attendance_rows(url), attendance_rows(reference_url))

    statuses = dict(Counter(run["status"] for run in runs))
    kill = scenario.kill
    checks = [
        ("zero 5xx from the hub", total_5xx == 0, f"{total_5xx} 5xx, {total_conn} connection errors"),
        ("a worker was SIGKILLed mid-run", kill is not None, kill and f"{kill['worker']}, runs {kill['runs']}"),
        (
            "every run ended succeeded/partial/interrupted",
            bool(runs) and all(r["status"] in ENDED_OK for r in runs),
            statuses,
        ),
        ("no run left queued or running", not any(run["status"] in ACTIVE for run in runs), statuses),
        (
            "the killed run(s) ended interrupted",
            bool(killed) and all(db.run(rid)["status"] == "interrupted" for rid in killed),
            {rid: db.run(rid)["status"] for rid in killed},
        ),
        (
            "no other run was interrupted or failed",
            not unexpected,
            {run["id"]: run["status"] for run in unexpected} or "none",
        ),
        ("attendance equals a clean sync", equal, f"order {' then '.join(order)}"),
    ]
    print("\nChecks")
    for label, passed, detail in checks:
        print(f"  {'PASS' if passed else 'MISS'}  {label}  ({detail})")
    return all(passed for _label, passed, _detail in checks), traffic, db


if __name__ == "__main__":
    sys.exit(main())
