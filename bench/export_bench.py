"""Benchmark of the CSV export (DESIGN.md, "Performance targets": 1,000,000 day rows, streaming, peak memory
under 150 MB whatever the row count, within 1.5× of a bare ``csv.writer`` over the same query).

A benchmark, not a test: it builds a throw-away SQLite hub (migrated schema) with N members × D days of
attendance (default 2,740 × 365 = 1,000,100 days, with breaks, leave, night shifts, missing clock-outs,
hourly leave and man-hours on about half of the days), then measures, each in a fresh child process:

1. the baseline: the export's own day query (``hub.exports.query.day_query``) executed the same way
   (``yield_per``) and its rows handed straight to ``csv.writer`` over a UTF-8-with-BOM file, CRLF;
2. ``hub.exports.service.run_export`` with the ``csv`` exporter in every format (crowdlog, daily,
   monthly; utf-8-sig), into a file — rows merged with breaks and hourly leave, formatted, neutralized,
   encoded, and the audit entry committed;

at the full period and at a smaller one (``--small-days``, default 37 days ≈ 100,000 rows) to show that
memory does not grow with the row count. Each child reports its wall time for the export alone (app built
and connected beforehand), its RSS just before the export, and its peak RSS: ``VmHWM`` of
``/proc/self/status``, the high-water mark of the interpreter, the app and the export together (not
``ru_maxrss``, which Linux carries over from the parent through fork + exec).

Run ``.venv/bin/python bench/export_bench.py [--members N] [--days D]`` from the repository root;
``--quick`` is 274 × 365 (100,010 rows). ``--db FILE`` keeps the built database in FILE and reuses it on the
next run (same N and D); ``--database-url postgresql+psycopg://…/DB`` runs the same on PostgreSQL (an empty
database, filled on the first run and reused afterwards).
"""

from __future__ import annotations

import argparse
import csv
import multiprocessing
import os
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy import func, insert, inspect, select

from hub.config import VARIABLES

START = date(2026, 1, 1)
TARGET_RATIO = 1.5
TARGET_MB = 150.0
FORMATS = ("crowdlog", "daily", "monthly")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, help="members (default 2740; --quick 274)")
    parser.add_argument("--days", type=int, default=365, help="days from 2026-01-01, one row each (365)")
    parser.add_argument("--small-days", type=int, default=37, help="period of the smaller export (37 days)")
    parser.add_argument("--runs", type=int, default=1, help="measurements of each kind; the fastest is kept (1)")
    parser.add_argument("--db", type=Path, help="build the SQLite database into this file once and reuse it")
    parser.add_argument("--database-url", help="an empty PostgreSQL database to build into (or reuse) instead")
    parser.add_argument("--quick", action="store_true", help="274 members × 365 days (100,010 rows)")
    args = parser.parse_args(argv)
    if args.members is None:
        args.members = 274 if args.quick else 2740
    if args.members < 1 or args.days < 1 or not 1 <= args.small_days <= args.days or args.runs < 1:
        parser.error("members, days and runs must be at least 1, and small-days at most days")
    return args


def isolate_environment(workdir: Path) -> None:
    """The benchmark never reads the developer's HUB_* settings; instance files go to the temporary folder."""
    for name in VARIABLES:
        os.environ.pop(name, None)
    os.environ["HUB_INSTANCE_PATH"] = str(workdir / "instance")
    os.environ["HUB_LANGUAGE"] = "en"


def make_app(database: str):
    from hub import create_app

    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "bench-secret",
            "HUB_ENCRYPTION_KEYS": [Fernet.generate_key().decode()],
            "SQLALCHEMY_DATABASE_URI": database,
        }
    )


# --- the database -------------------------------------------------------------------------------------


def build(database: str, members: int, days: int) -> int:
    """Fill a migrated database with ``members`` × ``days`` attendance days; returns the day count."""
    from flask_migrate import upgrade

    from hub.extensions import db
    from hub.models import (
        AttendanceBreak,
        AttendanceDay,
        HourlyLeaveInterval,
        Integration,
        Member,
        Project,
        Settings,
        TimeEntry,
    )
    from hub.records import LeaveKind

    app = make_app(database)
    rng = random.Random(7)
    synced_at = datetime(2026, 12, 31, 20, 5, tzinfo=UTC)
    with app.app_context():
        upgrade()
        connection = db.session.connection()
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("PRAGMA synchronous=OFF")
        db.session.add(Settings(id=1))
        db.session.execute(insert(Integration), [{"provider": "jobcan", "name": "ジョブカン本社", "settings": {}}])
        integration_id = db.session.scalar(select(Integration.id))
        db.session.execute(
            insert(Member),
            [
                {"id": n + 1, "code": f"E{n:05d}", "name": f"社員 {n}", "department": f"部署{n % 12}"}
                for n in range(members)
            ],
        )
        db.session.execute(insert(Project), [{"id": n + 1, "code": f"PRJ{n}", "name": f"案件 {n}"} for n in range(20)])
        day_id = 0
        for first in range(0, members, 100):
            day_rows, break_rows, leave_rows, entry_rows = [], [], [], []
            for member_id in range(first + 1, min(first + 100, members) + 1):
                for offset in range(days):
                    day_id += 1
                    roll = rng.random()
                    clock_in, clock_out = 9 * 60 + rng.choice((-15, 0, 0, 10)), 18 * 60 + rng.choice((0, 15, 30, 60))
                    breaks, leave, hourly = [(720, 780)], LeaveKind.NONE, []
                    if roll < 0.03:
                        clock_in = clock_out = None
                        breaks, leave = [], LeaveKind.FULL
                    elif roll < 0.05:
                        clock_in, leave, breaks = 14 * 60, LeaveKind.AM, []
                    elif roll < 0.07:
                        clock_out, leave, breaks = 13 * 60, LeaveKind.PM, []
                    elif roll < 0.09:
                        clock_in, clock_out, breaks = 22 * 60, 26 * 60 + 10, [(24 * 60, 24 * 60 + 45)]
                    elif roll < 0.10:
                        clock_out = None
                    elif roll < 0.11:
                        hourly = [(15 * 60, 16 * 60)]
                    if rng.random() < 0.1 and leave is LeaveKind.NONE and clock_out is not None:
                        breaks.append((15 * 60, 15 * 60 + 15))
                    break_minutes = sum(end - start for start, end in breaks)
                    work = None
                    if clock_in is not None and clock_out is not None:
                        work = clock_out - clock_in - break_minutes - sum(end - start for start, end in hourly)
                    work_date = START + timedelta(days=offset)
                    day_rows.append(
                        {
                            "id": day_id,
                            "member_id": member_id,
                            "work_date": work_date,
                            "clock_in": clock_in,
                            "clock_out": clock_out,
                            "work_minutes": work,
                            "break_minutes": break_minutes,
                            "leave": leave,
                            "leave_name": "有給休暇" if leave is not LeaveKind.NONE else None,
                            "integration_id": integration_id,
                            "remote_id": str(member_id),
                            "content_hash": "0" * 32,
                            "synced_at": synced_at,
                        }
                    )
                    break_rows.extend({"day_id": day_id, "start": start, "end": end} for start, end in breaks)
                    leave_rows.extend({"day_id": day_id, "start": start, "end": end} for start, end in hourly)
                    if work and rng.random() < 0.5:
                        booked = work if rng.random() < 0.7 else work - 60
                        split = rng.random() < 0.3
                        parts = (booked // 30 * 15, booked - booked // 30 * 15) if split else (booked,)
                        for project_id, minutes in enumerate(parts, start=1 + member_id % 10):
                            entry_rows.append(
                                {
                                    "member_id": member_id,
                                    "work_date": work_date,
                                    "project_id": project_id,
                                    "minutes": minutes,
                                }
                            )
            connection.execute(AttendanceDay.__table__.insert(), day_rows)
            connection.execute(AttendanceBreak.__table__.insert(), break_rows)
            if leave_rows:
                connection.execute(HourlyLeaveInterval.__table__.insert(), leave_rows)
            if entry_rows:
                connection.execute(TimeEntry.__table__.insert(), entry_rows)
        db.session.commit()  # no ANALYZE: a hub's database never gets one, so the planner works without statistics
        count = db.session.scalar(select(func.count(AttendanceDay.id)))
        db.session.remove()
        db.engine.dispose()
    return count


def table_counts(database: str) -> dict[str, int]:
    from hub.extensions import db
    from hub.models import AttendanceBreak, AttendanceDay, HourlyLeaveInterval, TimeEntry

    app = make_app(database)
    with app.app_context():
        if not inspect(db.engine).has_table("attendance_days"):  # a new, empty database
            db.engine.dispose()
            return {}
        counts = {
            model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
            for model in (AttendanceDay, AttendanceBreak, HourlyLeaveInterval, TimeEntry)
        }
        db.engine.dispose()
    return counts


# --- measurements (each in a child process) ---------------------------------------------------------


@dataclass
class Figures:
    kind: str
    rows: int
    seconds: float
    bytes_written: int
    peak_mb: float
    before_mb: float

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else float("inf")


def _peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM), in MB.

    Not ``getrusage().ru_maxrss``: Linux carries the parent's high-water mark into a child through
    fork + exec, so a child of the (large) building process would report the parent's size.
    """
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status (Linux only)")


def _current_rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1024 / 1024


def _measure(database: str, kind: str, first: str, last: str, output: str, connection) -> None:
    """Child process: build the app, then time one export (or the baseline) into ``output``."""
    from hub.exports.query import ExportFilter, day_query
    from hub.exports.service import run_export
    from hub.extensions import db
    from hub.plugins import exporters

    app = make_app(database)
    flt = ExportFilter(date.fromisoformat(first), date.fromisoformat(last))
    with app.app_context():
        exporter = exporters()["csv"]
        db.session.connection()  # connect before the clock starts, as both sides do
        before = _current_rss_mb()
        began = time.perf_counter()
        if kind == "baseline":
            result = db.session.connection().execute(day_query(flt).execution_options(yield_per=2000))
            with open(output, "w", encoding="utf-8-sig", newline="") as file:
                csv.writer(file, lineterminator="\r\n").writerows(result)
        else:
            with open(output, "wb") as file:
                rows = run_export(exporter, flt, {"format": kind, "encoding": "utf-8-sig"}, file)
        seconds = time.perf_counter() - began
        db.engine.dispose()
    if kind == "baseline":  # counted after the clock stopped: one line per row, no header
        with open(output, "rb") as file:
            rows = sum(chunk.count(b"\r\n") for chunk in iter(lambda: file.read(1 << 20), b""))
    connection.send(Figures(kind, rows, seconds, os.path.getsize(output), _peak_rss_mb(), before))
    connection.close()


def measure(database: str, workdir: Path, kind: str, first: date, last: date) -> Figures:
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    output = workdir / f"{kind}.csv"
    process = context.Process(
        target=_measure, args=(database, kind, first.isoformat(), last.isoformat(), str(output), child)
    )
    process.start()
    child.close()
    try:
        figures = parent.recv()
    except EOFError:
        raise SystemExit(f"the {kind} measurement failed (see its traceback above)") from None
    finally:
        process.join()
        output.unlink(missing_ok=True)
    return figures


def best(database: str, workdir: Path, kind: str, first: date, last: date, runs: int) -> Figures:
    results = [measure(database, workdir, kind, first, last) for _ in range(runs)]
    fastest = min(results, key=lambda figures: figures.seconds)
    fastest.peak_mb = max(figures.peak_mb for figures in results)
    return fastest


def report(label: str, figures: dict[str, Figures]) -> list[tuple[str, bool]]:
    base = figures["baseline"]
    print(f"\n{label}")
    print(
        f"{'':<12}{'rows':>11}{'seconds':>9}{'rows/s':>11}{'MB out':>8}{'ratio':>7}{'RSS before':>12}{'peak RSS':>10}"
    )
    verdicts = []
    for kind, item in figures.items():
        ratio = item.seconds / base.seconds
        shown = "" if kind == "baseline" else f"{ratio:.2f}×"
        print(
            f"{kind:<12}{item.rows:>11,}{item.seconds:>9.2f}{item.rows_per_second:>11,.0f}"
            f"{item.bytes_written / 1e6:>8.1f}{shown:>7}{item.before_mb:>10.1f}MB{item.peak_mb:>8.1f}MB"
        )
        if kind != "baseline":
            verdicts.append((f"{label}: {kind} within {TARGET_RATIO}× of csv.writer", ratio <= TARGET_RATIO))
        verdicts.append((f"{label}: {kind} peak RSS under {TARGET_MB:.0f} MB", item.peak_mb < TARGET_MB))
    return verdicts


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="hub-export-bench-") as folder:
        workdir = Path(folder)
        isolate_environment(workdir)
        if args.database_url:
            database = args.database_url
            where = "PostgreSQL"
        else:
            path = args.db.resolve() if args.db else workdir / "hub.sqlite3"
            database, where = f"sqlite:///{path}", f"SQLite {path.name}"
        counts = table_counts(database) if args.database_url or path.exists() else {}
        if not counts.get("attendance_days"):
            began = time.perf_counter()
            count = build(database, args.members, args.days)
            print(f"built {count:,} attendance days in {time.perf_counter() - began:.1f} s", file=sys.stderr)
            counts = table_counts(database)
        print(f"database: {where}; " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
        verdicts = []
        sizes = [("full period", START + timedelta(days=args.days - 1))]
        if args.small_days < args.days:
            sizes.append((f"{args.small_days} days", START + timedelta(days=args.small_days - 1)))
        for label, last in sizes:
            figures = {kind: best(database, workdir, kind, START, last, args.runs) for kind in ("baseline", *FORMATS)}
            verdicts += report(f"{label} ({START} – {last})", figures)
        print()
        for text, ok in verdicts:
            print(f"{'PASS' if ok else 'MISS'}  {text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
