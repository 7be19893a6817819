"""Hub-side throughput of a Jobcan sync (mapping + validation + write) on SQLite and on PostgreSQL.

A benchmark, not a test: no network. The simulator's data for N employees × D days is fed, already decoded
(JSON round-tripped, as ``response.json()`` hands it over), to the provider's own day reader; the records
then go through the engine's write phase (``write_records``) and the commit, on a fresh database each run —
the first-sync case, where every day is inserted. Members are matched beforehand, untimed. Each run is timed
in CPU time of this process (``time.process_time``, the hub's own cost, little moved by other work on the
machine) and in wall time (which on PostgreSQL includes the server's work). It prints the medians and their
ratio to the 20,000 rec/s target (issue 11).

Run from the repository root; ``--postgres-url`` names an existing, empty-able database (its attendance
tables are dropped and created again), or leave it out to measure SQLite only::

    .venv/bin/python bench/hub_side_bench.py --runs 5 \\
        --postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/hub_bench
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from cryptography.fernet import Fernet
from sqlalchemy import select

from hub import create_app
from hub.bulk import collector_paused
from hub.extensions import db
from hub.integrations.service import provider_named, provider_settings, save_integration
from hub.models import Integration, Member, Trigger
from hub.sync.lifecycle import start_run
from hub.sync.matching import match_members
from hub.sync.write import write_records
from hub_plugins.jobcan import mapping
from hub_plugins.jobcan.simulator import SimulatorConfig, generate_data

sys.path.insert(0, str(Path(__file__).parent))
from sync_bench import START, _RecordedAnswers, isolate_environment

TARGET = 20_000


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--employees", type=int, default=1000, help="employees (1000)")
    parser.add_argument("--days", type=int, default=40, help="days of the period (40)")
    parser.add_argument("--runs", type=int, default=5, help="runs per database; medians are printed (5)")
    parser.add_argument("--postgres-url", help="a PostgreSQL database to measure too (its tables are replaced)")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one run per database instead")
    return parser.parse_args(argv)


def run_once(url: str, data, dates: list[date], profile: bool = False) -> tuple[int, float, float]:
    """(records, CPU seconds, wall seconds) of mapping + write_records + commit on a fresh database."""
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "bench-secret",
            "HUB_ENCRYPTION_KEYS": [Fernet.generate_key().decode()],
            "SQLALCHEMY_DATABASE_URI": url,
        }
    )
    with app.app_context():
        db.drop_all()
        db.create_all()
        db.session.add_all(
            Member(code=e["employee_code"], name=f"{e['last_name']} {e['first_name']}")
            for e in data.employees
            if e["employee_code"]
        )
        values = {"client_id": "bench", "client_secret": "bench", "environment": "custom"}
        values |= {"api_base_url": "http://127.0.0.1:9", "auth_base_url": "http://127.0.0.1:9"}
        save_integration(provider_named("jobcan"), "Jobcan", values, auto_sync=False)
        db.session.commit()
        integration = db.session.scalar(select(Integration))
        run = start_run(integration, dates[0], dates[-1], Trigger.CLI)
        provider = provider_named("jobcan")
        tz = ZoneInfo(provider_settings(integration).timezone)
        remote = [mapping.employee_to_member(employee) for employee in data.employees]
        matching = match_members(remote, db.session.scalars(select(Member)))
        answers = _RecordedAnswers(SimpleNamespace(data=data), dates)
        profiler = cProfile.Profile() if profile else None

        cpu, wall = time.process_time(), time.perf_counter()
        if profiler:
            profiler.enable()
        with collector_paused():  # as the engine's fetch phase runs the provider
            records = provider._read_days(answers, dates, set(matching.matched), tz, lambda **_: None)
        write_records(run, integration, matching, records)
        db.session.commit()
        if profiler:
            profiler.disable()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall

        if profiler:
            pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
        assert run.created == len(records), (run.created, len(records))
        db.session.remove()  # ends the transaction reading the run, which would block DROP TABLE on PostgreSQL
        db.drop_all()
        db.engine.dispose()
    return len(records), cpu, wall


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    dates = [START + timedelta(days=offset) for offset in range(args.days)]
    data = generate_data(SimulatorConfig(employees=args.employees, start=dates[0], end=dates[-1]))
    with tempfile.TemporaryDirectory(prefix="hub-side-bench-") as folder:
        isolate_environment(Path(folder))
        sqlite = f"sqlite:///{os.path.join(folder, 'hub.sqlite3')}"
        databases = [("SQLite", sqlite)] + ([("PostgreSQL", args.postgres_url)] if args.postgres_url else [])
        if args.profile:
            for name, url in databases:
                print(f"--- {name}")
                run_once(url, data, dates, profile=True)
            return 0
        print(f"{args.employees} employees × {args.days} days, {args.runs} runs per database, medians:")
        for name, url in databases:
            runs = [run_once(url, data, dates) for _ in range(args.runs)]
            records = runs[0][0]
            cpu = records / statistics.median(r[1] for r in runs)
            wall = records / statistics.median(r[2] for r in runs)
            print(
                f"  {name:<10} {records} records: {cpu:>8,.0f} rec/s CPU ({cpu / TARGET:.2f} of {TARGET:,}), "
                f"{wall:>8,.0f} rec/s wall ({wall / TARGET:.2f})"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
