"""Fault fuzz of the Jobcan sync: seeded random fault schedules against the simulator, each checked against a
clean sync (issue 11, "Fault fuzz").

A benchmark, not a test. Every schedule draws a :class:`SimulatorConfig` from its seed — random 429s with or
without Retry-After, 429 bursts, 5xx, dropped connections, slow answers (some past the client's read
timeout), faults on the token endpoint, short token lifetimes, slow summary refresh — serves the same
attendance data with those faults, and runs ``hub sync`` as a child process against a fresh SQLite file with
the integration's default settings. Half the schedules start from an empty database, half from one holding
an older version of the data (about half of the days differ), so that a failed run has data it could damage
and a good one has days to update and remove. In some schedules the child gets SIGKILL at a random moment and, once
its heartbeat is stale (``HUB_HEARTBEAT_TIMEOUT``), a new ``hub sync`` runs. It prints:

- final data exact: the stored attendance equals a clean sync of the same data (no faults);
- failed-run data changes: a failed or killed run must change nothing (dump before and after it);
- stuck runs: runs left queued or running at the end;
- runs that failed although the provider recovered: failed runs (not killed) while the simulator had
  answered a request successfully within the last ``--budget`` seconds — no schedule has a permanent fault,
  so the provider was still making progress.

Run ``.venv/bin/python bench/fuzz_sync.py --help`` for the options; ``--quick`` runs 20 schedules.
Everything lives in a temporary folder and every simulator and child process is stopped, whatever happens.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path

from _common import HUB, ROOT, Table, build_hub, hub_env, isolate_environment, say, verdict
from cryptography.fernet import Fernet

from hub_plugins.jobcan.client import ClientOptions
from hub_plugins.jobcan.simulator import JobcanSimulator, SimulatorConfig, generate_data

START = date(2026, 11, 2)  # a Monday
HEARTBEAT_TIMEOUT = 3  # seconds; the hub beats every second at this setting
RUN_TIMEOUT = 900  # seconds a `hub sync` may take before the fuzz gives up on it (counted as stuck)
READ_TIMEOUT_MS = ClientOptions.read_timeout * 1000
ACTIVE = ("queued", "running")

# --- options ------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--schedules", type=int, help="fault schedules to run (default 200; --quick 20)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the data and of every schedule (1)")
    parser.add_argument("--employees", type=int, default=10, help="employees in the simulator (10)")
    parser.add_argument("--days", type=int, default=3, help="days in the synced period (3)")
    parser.add_argument("--jobs", type=int, default=16, help="schedules run at once, mostly waiting (16)")
    parser.add_argument(
        "--budget", type=float, default=120.0, help="seconds without a successful answer before a run may fail (120)"
    )
    parser.add_argument("--only", type=int, help="run only the schedule with this index (to reproduce one)")
    parser.add_argument("--verbose", action="store_true", help="print every run of every schedule")
    parser.add_argument("--quick", action="store_true", help="20 schedules: a few minutes")
    args = parser.parse_args(argv)
    args.schedules = args.schedules if args.schedules is not None else (20 if args.quick else 200)
    if args.schedules < 1 or args.employees < 1 or args.jobs < 1 or not 1 <= args.days <= 40:
        parser.error("--schedules, --employees and --jobs at least 1; --days 1 to 40")
    return args


# --- schedules ----------------------------------------------------------------------------------------


@dataclass
class Schedule:
    index: int
    config: SimulatorConfig
    kill_after: float | None  # seconds into the run (from when it is stored as running); None: no SIGKILL
    stale: bool  # starts from a database holding an older version of the data

    def describe(self) -> str:
        c = self.config
        parts = []
        if c.rate_429:
            parts.append(f"429 {c.rate_429:.0%} (Retry-After {c.retry_after})")
        if c.burst_429_every:
            parts.append(f"burst {c.burst_429_length}/{c.burst_429_every} (Retry-After {c.retry_after})")
        if c.rate_5xx:
            parts.append(f"5xx {c.rate_5xx:.0%}")
        if c.drop_rate:
            parts.append(f"drop {c.drop_rate:.0%}")
        if c.slow_rate:
            parts.append(f"slow {c.slow_rate:.0%} × {c.slow_ms / 1000:.1f} s")
        if c.faults_on_token:
            parts.append("token endpoint too")
        if c.token_lifetime < 3600:
            parts.append(f"token {c.token_lifetime} s")
        if c.refresh_polls:
            parts.append(f"refresh polls {c.refresh_polls}")
        if self.kill_after is not None:
            parts.append(f"SIGKILL {self.kill_after:.1f} s into the run")
        return ("older data; " if self.stale else "empty; ") + (", ".join(parts) or "no faults")


def data_config(args: argparse.Namespace) -> SimulatorConfig:
    """The attendance every schedule serves: the same employees and days, so one clean sync is the reference."""
    return SimulatorConfig(
        employees=args.employees, start=START, end=START + timedelta(days=args.days - 1), seed=args.seed
    )


def draw_schedule(args: argparse.Namespace, index: int) -> Schedule:
    """Schedule ``index``'s faults, drawn from (seed, index). No fault is permanent: rates stay below one and a
    burst never covers a whole cycle, so the provider always answers some requests."""
    rng = random.Random(f"fuzz-sync/{args.seed}/{index}")
    faults: dict = {"latency_ms": rng.uniform(0, 20), "fault_seed": rng.randrange(1 << 30)}
    faults["retry_after"] = rng.choice((None, 0, 1, 1, 2))
    if rng.random() < 0.5:
        faults["rate_429"] = rng.uniform(0.02, 0.3)
    if rng.random() < 0.3:
        every = rng.randint(3, 12)
        faults["burst_429_every"], faults["burst_429_length"] = every, rng.randint(1, min(4, every - 1))
    if rng.random() < 0.5:
        faults["rate_5xx"] = rng.uniform(0.02, 0.2)
    if rng.random() < 0.3:
        faults["drop_rate"] = rng.uniform(0.02, 0.1)
    if rng.random() < 0.3:
        past_timeout = rng.random() < 0.4
        faults["slow_rate"] = rng.uniform(0.01, 0.05) if past_timeout else rng.uniform(0.05, 0.2)
        faults["slow_ms"] = READ_TIMEOUT_MS + 1000 if past_timeout else rng.uniform(300, 3000)
    faults["faults_on_token"] = rng.random() < 0.3
    if rng.random() < 0.3:
        faults["token_lifetime"] = rng.choice((1, 2, 3, 5))
    if rng.random() < 0.3:
        faults["refresh_polls"] = rng.randint(1, 3)
    # A run of the default size takes about 4 s without faults: most kills land inside it, some after its end.
    kill_after = rng.uniform(0.0, 5.0) if rng.random() < 0.25 else None
    return Schedule(index, replace(data_config(args), **faults), kill_after, stale=rng.random() < 0.5)


def age(sim: JobcanSimulator) -> None:
    """Make ``sim`` serve an older version of its data: about half of the employee days are replaced by the
    same employee's (by position) day under another seed — different times, leave, or no day at all."""
    other = generate_data(replace(sim.config, seed=sim.config.seed + 1))
    rng = random.Random(f"fuzz-sync/age/{sim.config.seed}")
    for employee, twin in zip(sim.data.employees, other.employees, strict=True):
        day = sim.config.start
        while day <= sim.config.end:
            if rng.random() < 0.5:
                summary = other.summaries.get((twin["id"], day))
                adits = other.adits.get((twin["id"], day))
                sim.set_day(
                    employee["id"],
                    day,
                    None if summary is None else {k: v for k, v in summary.items() if k not in ("employee_id", "date")},
                    None if adits is None else [adit["recorded_at"] for adit in adits],
                )
            day += timedelta(days=1)


# --- one hub, one run ---------------------------------------------------------------------------------


def dump(database: Path) -> list[tuple]:
    """Every stored day with its breaks and hourly leave, by member code and date: what a sync must get right.
    Ids, timestamps and the engine's content hash are left out."""
    with contextlib.closing(sqlite3.connect(database)) as conn:
        breaks: dict[int, list] = {}
        for day_id, start, end in conn.execute('SELECT day_id, start, "end" FROM attendance_breaks'):
            breaks.setdefault(day_id, []).append((start, end))
        leave: dict[int, list] = {}
        for day_id, *interval in conn.execute('SELECT day_id, start, "end", name FROM hourly_leave_intervals'):
            leave.setdefault(day_id, []).append(tuple(interval))
        rows = conn.execute(
            """SELECT d.id, m.code, d.work_date, d.clock_in, d.clock_out, d.work_minutes, d.break_minutes, d.leave,
                      d.leave_name, i.name, d.source_file, d.remote_id, d.raw_payload
               FROM attendance_days d JOIN members m ON m.id = d.member_id
               LEFT JOIN integrations i ON i.id = d.integration_id"""
        ).fetchall()
    return sorted(
        (*row[1:], tuple(sorted(breaks.get(row[0], ()))), tuple(sorted(leave.get(row[0], ())))) for row in rows
    )


def _running(database: Path) -> bool:
    with contextlib.closing(sqlite3.connect(database, timeout=30)) as conn:
        return conn.execute("SELECT count(*) FROM sync_runs WHERE status = 'running'").fetchone()[0] > 0


def stored_runs(database: Path) -> list[dict]:
    with contextlib.closing(sqlite3.connect(database)) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(row) for row in conn.execute("SELECT id, status, error, requests FROM sync_runs ORDER BY id")]


@dataclass
class RunResult:
    exit_code: int | None  # None: killed by the fuzz, as scheduled or after RUN_TIMEOUT
    started_at: float  # time.monotonic() when the process started
    run_ids: list[int]  # the runs it added (none when killed before it started one)
    changed: bool  # the stored attendance differs before and after
    ended_at: float  # time.monotonic() when the process ended
    stderr: str
    timed_out: bool = False  # still running after RUN_TIMEOUT: counted as stuck


def hub_sync(env: dict, database: Path, days: int, kill_after: float | None) -> RunResult:
    """`hub sync Jobcan` as a child process, SIGKILLed ``kill_after`` seconds into its run if still running."""
    before, known = dump(database), {run["id"] for run in stored_runs(database)}
    argv = [HUB, "sync", "Jobcan", "--from", START.isoformat(), "--to", (START + timedelta(days=days - 1)).isoformat()]
    started = time.monotonic()
    proc = subprocess.Popen(
        [*argv, "--json"], env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + RUN_TIMEOUT
    if kill_after is not None:
        while proc.poll() is None and not _running(database) and time.monotonic() < deadline:
            time.sleep(0.05)
        deadline = min(deadline, time.monotonic() + kill_after)
    try:
        _out, err = proc.communicate(timeout=max(0.0, deadline - time.monotonic()))  # the run is read from the db
        code: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        proc.kill()  # SIGKILL: no cleanup in the child, as when a machine or worker dies
        _out, err = proc.communicate()
        code = None
    ended = time.monotonic()
    added = [run["id"] for run in stored_runs(database) if run["id"] not in known]
    timed_out = code is None and ended - started >= RUN_TIMEOUT
    return RunResult(code, started, added, dump(database) != before, ended, err[-1500:], timed_out)


# --- one schedule -------------------------------------------------------------------------------------


@dataclass
class Outcome:
    schedule: Schedule
    exact: bool = False
    runs: list[dict] = field(default_factory=list)  # as stored, with "changed", "killed", "recovered" added
    stuck: int = 0
    crashed: list[str] = field(default_factory=list)  # stderr of runs that ended neither 0 nor 1
    error: str = ""  # the fuzz itself failed on this schedule

    @property
    def failed(self) -> list[dict]:
        return [run for run in self.runs if run["status"] in ("failed", "interrupted")]


class Fuzz:
    def __init__(self, args: argparse.Namespace, workdir: Path):
        self.args = args
        self.workdir = workdir
        self.key = Fernet.generate_key().decode()
        self.older: Path | None = None  # the database holding the older data
        self.reference: dict[bool, list[tuple]] = {}  # stale start? → the dump of a clean sync
        self._setup = threading.Lock()  # create_app and plugin loading are not meant to run in parallel

    def prepare(self, label: str, sim: JobcanSimulator, stale: bool):
        """A hub database with the integration on the (started) simulator, and the child processes' env."""
        folder = self.workdir / label
        with self._setup, contextlib.ExitStack() as setup:
            build_hub(setup, folder, sim, encryption_key=self.key, template=self.older if stale else None)
        database = folder / "hub.sqlite3"
        env = hub_env(folder / "instance", f"sqlite:///{database}", self.key, heartbeat_timeout=HEARTBEAT_TIMEOUT)
        return database, env

    def clean_sync(self, label: str, stale: bool, aged: bool = False) -> Path:
        """A database after one `hub sync` with no faults (of the older data when ``aged``)."""
        with JobcanSimulator(data_config(self.args)) as sim:
            if aged:
                age(sim)
            database, env = self.prepare(label, sim, stale)
            result = hub_sync(env, database, self.args.days, None)
        runs = stored_runs(database)
        if result.exit_code != 0 or runs[-1]["status"] != "succeeded":
            raise SystemExit(f"the clean sync {label} failed: {runs} {result.stderr}")
        return database

    def prepare_references(self) -> None:
        """The older data's database, and what a clean sync leaves from an empty and from that database."""
        self.older = self.clean_sync("older", stale=False, aged=True)
        self.reference[False] = dump(self.clean_sync("reference-empty", stale=False))
        self.reference[True] = dump(self.clean_sync("reference-older", stale=True))

    def run(self, schedule: Schedule) -> Outcome:
        outcome = Outcome(schedule)
        try:
            with contextlib.ExitStack() as stack:
                sim = stack.enter_context(JobcanSimulator(schedule.config))
                database, env = self.prepare(f"s{schedule.index:04d}", sim, schedule.stale)
                results = [hub_sync(env, database, self.args.days, schedule.kill_after)]
                if results[0].exit_code is None and not results[0].timed_out:
                    # Killed as scheduled: wait until its run may be reaped, then sync again.
                    time.sleep(HEARTBEAT_TIMEOUT + 1.5)
                    results.append(hub_sync(env, database, self.args.days, None))
                self.judge(outcome, sim, database, results)
        except Exception as exc:  # reported per schedule; the fuzz goes on
            outcome.error = f"{type(exc).__name__}: {exc}"
        return outcome

    def judge(self, outcome: Outcome, sim: JobcanSimulator, database: Path, results: list[RunResult]) -> None:
        ours = {run_id for result in results for run_id in result.run_ids}
        runs = [run for run in stored_runs(database) if run["id"] in ours]  # not the older data's run
        for result in results:
            for run in runs:
                if run["id"] in result.run_ids:
                    run["killed"] = result.exit_code is None and not result.timed_out
                    run["changed"] = result.changed
                    # It gave up while the budget still allowed waiting: less than `budget` seconds after the
                    # provider's latest successful answer (or after the run's start, if none came since).
                    progress = max(sim.last_success or result.started_at, result.started_at)
                    run["recovered"] = result.ended_at - progress < self.args.budget
            if result.exit_code not in (None, 0, 1):
                outcome.crashed.append(f"exit {result.exit_code}: {result.stderr[-300:]}")
        outcome.runs = runs
        outcome.stuck = sum(1 for run in runs if run["status"] in ACTIVE) + sum(r.timed_out for r in results)
        outcome.exact = dump(database) == self.reference[outcome.schedule.stale]


# --- report -------------------------------------------------------------------------------------------


def describe_outcome(outcome: Outcome) -> str:
    runs = " → ".join(
        run["status"]
        + (" (killed)" if run.get("killed") else "")
        + (" CHANGED DATA" if run.get("changed") and run["status"] in ("failed", "interrupted") else "")
        for run in outcome.runs
    )
    verdicts = "exact" if outcome.exact else "NOT EXACT"
    if outcome.error:
        verdicts = f"FUZZ ERROR {outcome.error}"
    return f"[{outcome.schedule.index:4d}] {outcome.schedule.describe()}: {runs or 'no run'}; {verdicts}"


def failure_reason(run: dict) -> str:
    """A failed run's error without its numbers, so that equal causes are counted together."""
    text = re.sub(r" for /\S+", " for <path>", (run["error"] or "").split(" (")[0])
    return re.sub(r"\d+", "N", text)[:100]


def report(outcomes: list[Outcome], args: argparse.Namespace, seconds: float) -> Table:
    runs = [run for outcome in outcomes for run in outcome.runs]
    failed = [run for run in runs if run["status"] == "failed"]
    killed = [run for run in runs if run.get("killed")]
    changes = [run for run in runs if run["status"] in ("failed", "interrupted") and run["changed"]]
    recovered = [run for run in failed if run.get("recovered")]
    exact = sum(1 for outcome in outcomes if outcome.exact)
    stuck = sum(outcome.stuck for outcome in outcomes)
    errors = [outcome for outcome in outcomes if outcome.error]
    crashed = [text for outcome in outcomes for text in outcome.crashed]
    n = len(outcomes)
    table = Table()
    table.add("schedules", str(n), "≥ 200", "", verdict(n >= 200) if n >= 200 else "(fewer asked for)")
    table.add("final data exact", f"{exact} / {n}", f"{n} / {n}", f"{exact / n:.2f}", verdict(exact == n))
    table.add("failed-run data changes", str(len(changes)), "0", "", verdict(not changes))
    table.add("stuck runs (left queued or running)", str(stuck), "0", "", verdict(stuck == 0))
    table.add(
        "runs that failed although the provider recovered",
        str(len(recovered)),
        "0",
        "",
        verdict(not recovered),
    )
    statuses = Counter(run["status"] for run in runs)
    say(f"\nruns: {len(runs)} — " + ", ".join(f"{status} {count}" for status, count in sorted(statuses.items())))
    say(
        f"SIGKILLed mid-run: {len(killed)} (of {sum(1 for o in outcomes if o.schedule.kill_after is not None)} "
        "schedules with a kill; a kill after the run ended does nothing)"
    )
    say(f"schedules whose last run failed: {sum(1 for o in outcomes if o.runs and o.runs[-1]['status'] == 'failed')}")
    for reason, count in Counter(failure_reason(run) for run in failed).most_common(8):
        say(f"  {count:4d} × {reason}")
    if crashed:
        say(f"`hub sync` crashed (exit neither 0 nor 1) {len(crashed)} times; first: {crashed[0]}")
    if errors:
        say(f"the fuzz itself failed on {len(errors)} schedules; first: {errors[0].error}")
    say(
        f"\n{n} schedules in {seconds:.0f} s, {args.jobs} at a time; seed {args.seed}, {args.employees} employees × "
        f"{args.days} days, budget {args.budget:g} s, HUB_HEARTBEAT_TIMEOUT={HEARTBEAT_TIMEOUT}"
    )
    return table


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # `kill` (SIGTERM) unwinds like Ctrl-C, so simulators are stopped and temporary files removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    indexes = [args.only] if args.only is not None else list(range(args.schedules))
    schedules = [draw_schedule(args, index) for index in indexes]
    say(
        f"Sync fault fuzz: {len(schedules)} schedules, {args.employees} employees × {args.days} days, seed "
        f"{args.seed}, {args.jobs} at a time; `hub sync` with the integration's default settings"
    )
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="kintai-fuzz-") as tmp:
        workdir = Path(tmp)
        isolate_environment(workdir)
        fuzz = Fuzz(args, workdir)
        fuzz.prepare_references()
        older = dump(fuzz.older)
        differ = len(set(older) - set(fuzz.reference[True]))
        say(
            f"clean syncs: the older data {len(older)} days ({differ} differ from the current data); the current "
            f"data from empty {len(fuzz.reference[False])} days, over the older data {len(fuzz.reference[True])}"
        )
        outcomes: list[Outcome] = []
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            for done, outcome in enumerate(pool.map(fuzz.run, schedules), start=1):
                outcomes.append(outcome)
                bad = not outcome.exact or outcome.error or outcome.stuck or outcome.failed
                if args.verbose or bad:
                    say(f"{done:4d}/{len(schedules)} " + describe_outcome(outcome))
                elif done % 20 == 0:
                    say(f"{done:4d}/{len(schedules)} done, {time.monotonic() - began:.0f} s")
    table = report(outcomes, args, time.monotonic() - began)
    say("")
    say(table.render())
    return 0


if __name__ == "__main__":
    sys.exit(main())
