"""hub.store: what a sync or an import writes, and that it writes it in batches whatever the days look like."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest
from sqlalchemy import event, select

from hub import bulk, store
from hub.extensions import db
from hub.models import AttendanceBreak, AttendanceDay, HourlyLeaveInterval, Member, utcnow
from hub.records import DayRecord, HourlyLeave, Interval, LeaveKind

START = date(2026, 11, 1)


def mixed_days(member: Member, count: int) -> list[DayRecord]:
    """Days as a real sync has them: missing clock-outs, leave, no work minutes and hourly leave interleaved."""
    days = []
    for offset in range(count):
        days.append(
            DayRecord(
                remote_id=member.code,
                work_date=START + timedelta(days=offset),
                clock_in=540 + offset % 60,
                clock_out=None if offset % 5 == 0 else 1080,
                breaks=(Interval(720, 780 + offset % 30),),
                work_minutes=None if offset % 3 == 0 else 480 - offset % 30,
                leave=LeaveKind.AM if offset % 7 == 0 else LeaveKind.NONE,
                leave_name="有休" if offset % 7 == 0 else None,
                hourly_leaves=(HourlyLeave(900, 960, "有休" if offset % 8 else None),) if offset % 4 == 0 else (),
                # Payroll minutes said, not said (None) and 0 interleaved, as providers differ.
                overtime_minutes=None if offset % 6 == 0 else offset % 3 * 30,
                late_night_minutes=None if offset % 6 == 0 else 0,
                late_minutes=offset % 11 if offset % 2 else None,
                early_leave_minutes=15 if offset % 9 == 0 else None,
                raw={"offset": offset} if offset % 2 else {},
            )
        )
    return days


@pytest.fixture
def members(app):
    with app.app_context():
        people = [Member(code=f"P{number:04d}", name=f"社員 {number}") for number in range(30)]
        db.session.add_all(people)
        db.session.commit()
        yield people


def statements_while(action) -> list[str]:
    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        action()
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    return seen


def test_new_days_are_inserted_in_batches_with_their_breaks_and_hourly_leave(members, monkeypatch):
    records = {member.id: mixed_days(member, 100) for member in members}  # 3,000 days
    changes = store.DayChanges(store.DaySource(source_file="f.csv"), synced_at=utcnow())
    for member_id, days in records.items():
        for record in days:
            assert changes.put(member_id, record, None) is store.Change.CREATED
    copies: list[str] = []  # PostgreSQL's COPY goes past SQLAlchemy's statement events: counted here
    real_copy = bulk._copy
    monkeypatch.setattr(
        bulk, "_copy", lambda conn, table, *rest: copies.append(table.name) or real_copy(conn, table, *rest)
    )

    seen = statements_while(lambda: store.write(changes))
    db.session.commit()

    for table, most in (("attendance_days", 5), ("attendance_breaks", 5), ("hourly_leave_intervals", 2)):
        inserts = [sql for sql in seen if sql.lstrip().lower().startswith(f'insert into "{table}"')]
        inserts += [sql for sql in seen if sql.lstrip().lower().startswith(f"insert into {table}")]
        inserts += [name for name in copies if name == table]
        assert 1 <= len(inserts) <= most, f"{len(inserts)} statements into {table}: the batch is being split"
    for member_id, days in records.items():
        stored = {
            day.work_date: day
            for day in db.session.scalars(select(AttendanceDay).where(AttendanceDay.member_id == member_id))
        }
        for record in days:  # every child row is on its own day
            day = stored[record.work_date]
            assert [(b.start, b.end) for b in day.breaks] == [(b.start, b.end) for b in record.breaks]
            assert [(h.start, h.end, h.name) for h in day.hourly_leaves] == [
                (h.start, h.end, h.name) for h in record.hourly_leaves
            ]
            assert (day.clock_out, day.work_minutes, day.leave_name) == (
                record.clock_out,
                record.work_minutes,
                record.leave_name,
            )


def test_changed_days_are_updated_and_unchanged_ones_left_alone(members):
    member = members[0]
    first = mixed_days(member, 20)
    changes = store.DayChanges(store.DaySource(source_file="f.csv"), synced_at=utcnow())
    for record in first:
        changes.put(member.id, record, None)
    store.write(changes)
    db.session.commit()

    stored = store.stored_days([member.id], START, START + timedelta(days=19))
    again = store.DayChanges(store.DaySource(source_file="f.csv"), synced_at=utcnow())
    outcomes = [
        again.put(member.id, record if index % 2 else _later(record), stored[(member.id, record.work_date)])
        for index, record in enumerate(first)
    ]
    assert outcomes.count(store.Change.UNCHANGED) == 10 and outcomes.count(store.Change.UPDATED) == 10
    store.write(again)
    db.session.commit()
    for index, record in enumerate(first):
        day = db.session.scalar(
            select(AttendanceDay).where(
                AttendanceDay.member_id == member.id, AttendanceDay.work_date == record.work_date
            )
        )
        assert day.clock_in == (record.clock_in if index % 2 else record.clock_in + 1)
        assert len(day.breaks) == 1  # replaced, not added to


def test_a_day_from_another_source_is_updated_even_with_the_same_content(members):
    member = members[0]
    [record] = mixed_days(member, 1)
    changes = store.DayChanges(store.DaySource(source_file="a.csv"), synced_at=utcnow())
    changes.put(member.id, record, None)
    store.write(changes)
    db.session.commit()
    stored = store.stored_days([member.id], START, START)[(member.id, START)]
    other = store.DayChanges(store.DaySource(source_file="b.csv"), synced_at=utcnow())
    assert other.put(member.id, record, stored) is store.Change.UPDATED


def test_removed_days_take_their_breaks_and_hourly_leave_with_them(members):
    member = members[0]
    changes = store.DayChanges(store.DaySource(source_file="f.csv"), synced_at=utcnow())
    for record in mixed_days(member, 8):
        changes.put(member.id, record, None)
    store.write(changes)
    db.session.commit()
    removal = store.DayChanges(store.DaySource(source_file="f.csv"), synced_at=utcnow())
    for day in store.stored_days([member.id], START, START + timedelta(days=7)).values():
        removal.remove(day)
    store.write(removal)
    db.session.commit()
    for model in (AttendanceDay, AttendanceBreak, HourlyLeaveInterval):
        assert db.session.scalars(select(model)).first() is None


def _later(record: DayRecord) -> DayRecord:
    return DayRecord(
        remote_id=record.remote_id,
        work_date=record.work_date,
        clock_in=record.clock_in + 1,
        clock_out=record.clock_out,
        breaks=record.breaks,
        work_minutes=record.work_minutes,
        leave=record.leave,
        leave_name=record.leave_name,
        hourly_leaves=record.hourly_leaves,
    )


def test_raw_payloads_are_stored_as_they_came_whatever_their_values(members):
    """The fast JSON encoder refuses integers past 64 bits; such a payload is stored all the same."""
    payloads = [
        {"summary": {"work": 480, "note": "直行直帰", "ratio": 0.5, "flags": [True, None]}},
        {"id": 2**70, "nested": {"empty": {}, "list": []}},
        {},
    ]
    changes = store.DayChanges(store.DaySource(integration_id=None, source_file="f.csv"), synced_at=utcnow())
    for offset, raw in enumerate(payloads):
        record = DayRecord(remote_id="P0000", work_date=START + timedelta(days=offset), clock_in=540, raw=raw)
        changes.put(members[0].id, record, None)
    store.write(changes)
    db.session.commit()
    db.session.expire_all()
    stored = db.session.scalars(select(AttendanceDay).order_by(AttendanceDay.work_date)).all()
    assert [day.raw_payload for day in stored] == [payloads[0], payloads[1], None]


PAYROLL = ("overtime_minutes", "late_night_minutes", "late_minutes", "early_leave_minutes")


def _stored_payroll(member: Member) -> dict[date, tuple]:
    db.session.expire_all()
    days = db.session.scalars(select(AttendanceDay).where(AttendanceDay.member_id == member.id))
    return {day.work_date: tuple(getattr(day, name) for name in PAYROLL) for day in days}


def test_payroll_minutes_are_stored_as_said_and_none_stays_none(members):
    member = members[0]
    records = mixed_days(member, 12)
    changes = store.DayChanges(store.DaySource(source_file="f.csv"), synced_at=utcnow())
    for record in records:
        changes.put(member.id, record, None)
    store.write(changes)
    db.session.commit()
    stored = _stored_payroll(member)
    assert stored == {record.work_date: tuple(getattr(record, name) for name in PAYROLL) for record in records}
    assert stored[START] == (None, None, None, 15)  # not said stays NULL, never 0
    assert stored[START + timedelta(days=1)] == (30, 0, 1, None)  # a said 0 stays 0


def test_a_resync_of_unchanged_payroll_writes_nothing_and_a_change_in_overtime_alone_updates(members):
    member = members[0]
    records = mixed_days(member, 6)
    changes = store.DayChanges(store.DaySource(integration_id=None, source_file="f.csv"), synced_at=utcnow())
    for record in records:
        changes.put(member.id, record, None)
    store.write(changes)
    db.session.commit()

    stored = store.stored_days([member.id], START, START + timedelta(days=5))
    again = store.DayChanges(store.DaySource(source_file="f.csv"), synced_at=utcnow())
    assert {again.put(member.id, record, stored[(member.id, record.work_date)]) for record in records} == {
        store.Change.UNCHANGED
    }
    assert (again.inserts, again.updates, again.unchanged) == ([], [], 6)

    changed = {
        START + timedelta(days=1): {"overtime_minutes": 45},  # 30 → 45
        START + timedelta(days=2): {"late_night_minutes": None},  # 0 → not said
        START + timedelta(days=3): {"early_leave_minutes": 0},  # not said → 0
    }
    third = store.DayChanges(store.DaySource(source_file="f.csv"), synced_at=utcnow())
    outcomes = {
        record.work_date: third.put(
            member.id, replace(record, **changed.get(record.work_date, {})), stored[(member.id, record.work_date)]
        )
        for record in records
    }
    assert {day for day, outcome in outcomes.items() if outcome is store.Change.UPDATED} == set(changed)
    store.write(third)
    db.session.commit()
    payroll = _stored_payroll(member)
    assert payroll[START + timedelta(days=1)][0] == 45
    assert payroll[START + timedelta(days=2)][1] is None
    assert payroll[START + timedelta(days=3)][3] == 0


def test_a_day_without_payroll_minutes_keeps_the_fingerprint_it_had_before_they_were_stored():
    """Days stored before the payroll columns existed are not all rewritten by the first sync after the upgrade."""
    record = DayRecord(
        remote_id="16",
        work_date=date(2026, 11, 2),
        clock_in=540,
        clock_out=1080,
        breaks=(Interval(720, 780),),
        work_minutes=480,
        break_minutes=60,
        leave=LeaveKind.PM,
        leave_name="有休",
        hourly_leaves=(HourlyLeave(900, 960, "有休"),),
    )
    assert store.content_hash(record) == "4977bdf2fb57d4b610fb482bbb969433"  # as computed before the upgrade
    for name in PAYROLL:
        assert store.content_hash(replace(record, **{name: 0})) != store.content_hash(record), name
    assert store.content_hash(replace(record, overtime_minutes=30)) != store.content_hash(
        replace(record, late_night_minutes=30)
    )


def test_raw_payloads_kept_as_json_text_are_stored_as_that_json_inserted_or_updated(members):
    """A provider may keep a day's payload as its compact JSON text (bytes): stored as it is, not as a string."""
    texts = ['{"dailyWorking":{"totalWork":480,"workdayTypeName":"平日"},"timeRecord":[]}', '{"id":2}']
    changes = store.DayChanges(store.DaySource(integration_id=None, source_file="f.csv"), synced_at=utcnow())
    for offset, text in enumerate([*texts, ""]):
        record = DayRecord(remote_id="P0000", work_date=START + timedelta(days=offset), clock_in=540, raw=text.encode())
        changes.put(members[0].id, record, None)
    store.write(changes)
    db.session.commit()
    first = db.session.scalar(select(AttendanceDay).where(AttendanceDay.work_date == START))
    assert first.raw_payload == {"dailyWorking": {"totalWork": 480, "workdayTypeName": "平日"}, "timeRecord": []}
    stored = store.stored_days([members[0].id], START, START)[(members[0].id, START)]
    again = store.DayChanges(store.DaySource(integration_id=None, source_file="f.csv"), synced_at=utcnow())
    changed = DayRecord(remote_id="P0000", work_date=START, clock_in=541, raw=b'{"timeRecord":[{"code":"1"}]}')
    assert again.put(members[0].id, changed, stored) is store.Change.UPDATED
    store.write(again)
    db.session.commit()
    db.session.expire_all()
    days = db.session.scalars(select(AttendanceDay).order_by(AttendanceDay.work_date)).all()
    assert [day.raw_payload for day in days] == [{"timeRecord": [{"code": "1"}]}, {"id": 2}, None]
