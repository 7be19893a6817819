"""Benchmark of the タイムシート month page and the レポート with many members (DESIGN.md, "Performance targets").

A benchmark, not a test: it builds a throw-away hub on a temporary SQLite file with N members (default 1,000),
a month of attendance for every member (weekdays, with a break; some leave, night shifts and a missing
clock-out) and man-hours on most days, logs in with Flask's test client, and prints the median, p90 and max
render time of

1. one member's month page (the target: median under 50 ms with 1,000 members in the database),
2. one member's day page with its man-hours form,
3. the report of the month (every member × day, first page of 50) — no target, printed for planning.

Run ``.venv/bin/python bench/timesheet_bench.py [--members N] [--runs R]`` from the repository root.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy import insert, select

from hub import create_app
from hub.auth.accounts import create_admin
from hub.extensions import db
from hub.models import AttendanceBreak, AttendanceDay, Member, Project, TimeEntry
from hub.records import LeaveKind

MONTH = date(2026, 11, 1)
TARGET_MS = 50.0
PASSWORD = "bench-password-123"


def build(app, members: int) -> int:
    """Fill the database; returns the id of a member with a full month."""
    rng = random.Random(5)
    with app.app_context():
        db.session.execute(
            insert(Member),
            [{"code": f"E{n:05d}", "name": f"社員 {n}", "department": f"部署{n % 12}"} for n in range(members)],
        )
        db.session.execute(insert(Project), [{"code": f"PRJ{n}", "name": f"案件 {n}"} for n in range(20)])
        member_ids = list(db.session.scalars(select(Member.id).order_by(Member.id)))
        project_ids = list(db.session.scalars(select(Project.id)))
        days, entries = [], []
        for member_id in member_ids:
            for offset in range(30):
                work_date = MONTH + timedelta(days=offset)
                if work_date.weekday() >= 5:
                    continue
                roll = rng.random()
                clock_in, clock_out, leave = 9 * 60, 18 * 60 + rng.choice((0, 15, 30, 60)), LeaveKind.NONE
                if roll < 0.03:
                    clock_in = clock_out = None
                    leave = LeaveKind.FULL
                elif roll < 0.05:
                    clock_in, clock_out = 22 * 60, 26 * 60 + 10
                elif roll < 0.06:
                    clock_out = None
                work = clock_out - clock_in - 60 if clock_in is not None and clock_out is not None else None
                days.append(
                    {
                        "member_id": member_id,
                        "work_date": work_date,
                        "clock_in": clock_in,
                        "clock_out": clock_out,
                        "work_minutes": work,
                        "break_minutes": 60,
                        "leave": leave,
                    }
                )
                if work and rng.random() < 0.8:
                    booked = work if rng.random() < 0.7 else work - 60
                    entries.append(
                        {
                            "member_id": member_id,
                            "work_date": work_date,
                            "project_id": rng.choice(project_ids),
                            "minutes": max(booked // 15 * 15, 0),
                        }
                    )
        db.session.execute(insert(AttendanceDay), days)
        day_ids = list(db.session.scalars(select(AttendanceDay.id)))
        breaks = [{"day_id": day_id, "start": 720, "end": 780} for day_id in day_ids]
        db.session.execute(insert(AttendanceBreak), breaks)
        db.session.execute(insert(TimeEntry), entries)
        create_admin("bench@example.com", PASSWORD)
        db.session.commit()
        return member_ids[len(member_ids) // 2]


def timed(client, url: str, runs: int) -> list[float]:
    client.get(url)  # warm up templates and caches
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hub-timesheet-bench-") as folder:
        os.environ["HUB_INSTANCE_PATH"] = folder
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{Path(folder) / 'bench.sqlite3'}",
                "SECRET_KEY": "bench",
                "HUB_ENCRYPTION_KEYS": [Fernet.generate_key().decode()],
                "WTF_CSRF_ENABLED": False,
                "RATELIMIT_ENABLED": False,
                "HUB_QUEUE_IMMEDIATE": True,
            }
        )
        with app.app_context():
            from flask_migrate import upgrade

            upgrade()
        started = time.perf_counter()
        member_id = build(app, args.members)
        print(f"built {args.members:,} members × a month in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        client = app.test_client()
        client.post("/login", data={"email": "bench@example.com", "password": PASSWORD})
        pages = {
            "month page": f"/timesheets/{member_id}/{MONTH:%Y-%m}",
            "day page": f"/timesheets/{member_id}/day/{MONTH + timedelta(days=1):%Y-%m-%d}",
            "report (first 50 of all members)": f"/reports/?month={MONTH:%Y-%m}",
        }
        print(f"{'page':<36}{'median ms':>10}{'p90 ms':>9}{'max ms':>9}   target")
        for label, url in pages.items():
            samples = sorted(timed(client, url, args.runs))
            median = statistics.median(samples)
            p90 = samples[int(len(samples) * 0.9) - 1]
            verdict = ""
            if label == "month page":
                verdict = f"< {TARGET_MS:.0f} ms: {'PASS' if median < TARGET_MS else 'MISS'}"
            print(f"{label:<36}{median:>10.1f}{p90:>9.1f}{samples[-1]:>9.1f}   {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
