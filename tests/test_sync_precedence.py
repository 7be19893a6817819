"""Two integrations, one member (issue 12): which source keeps a day, per integration (優先度) and per member
(勤怠の優先連携); the loser's runs skip without writing or warning, ties keep the later-sync-wins rule."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import event, select

from hub.extensions import db
from hub.integrations.service import delete_integration, provider_named, save_integration
from hub.models import AttendanceDay, Integration, IssueKind, Member, SyncRun, Trigger
from hub.records import RemoteMember
from hub.sync.engine import run_sync
from hub.sync.report import run_as_dict
from tests.conftest import make_app
from tests.fake_provider import FakeHR, FakePlugin

D1, D2, D3 = date(2026, 11, 2), date(2026, 11, 3), date(2026, 11, 4)
#: What each attendance system says: the same people, days and clock-ins, different clock-outs.
CLOCK_OUT = {"本社": 1080, "支社": 1110}


@pytest.fixture
def hr():
    return FakeHR(employees=[RemoteMember("10", "P1001", "工数 太郎"), RemoteMember("11", "P1002", "町田 洋助")])


@pytest.fixture
def app(tmp_path, hr):
    app = make_app(tmp_path, plugins=[FakePlugin(hr)])
    with app.app_context():
        db.session.add_all([Member(code="P1001", name="工数 太郎"), Member(code="P1002", name="町田 洋助")])
        provider = provider_named("fakehr")
        save_integration(provider, "本社", {"account": "jobcan", "token": "good"}, auto_sync=True)
        save_integration(provider, "支社", {"account": "kingoftime", "token": "good"}, auto_sync=True)
        db.session.commit()
    with app.app_context():
        yield app


def sync(hr: FakeHR, name: str, days=(D1, D2, D3)) -> SyncRun:
    """Sync integration ``name`` with the fake system answering as that integration's system does."""
    hr.days.clear()
    for work_date in days:
        hr.day("10", work_date, clock_out=CLOCK_OUT[name])
        hr.day("11", work_date, clock_out=None if work_date == D1 else CLOCK_OUT[name], breaks=())
    integration = db.session.scalar(select(Integration).where(Integration.name == name))
    return run_sync(integration, D1, D3, Trigger.CLI)


def set_priority(name: str, priority: int) -> None:
    db.session.scalar(select(Integration).where(Integration.name == name)).priority = priority
    db.session.commit()


def prefer(code: str, name: str | None) -> None:
    member = db.session.scalar(select(Member).where(Member.code == code))
    member.preferred_integration_id = db.session.scalar(select(Integration.id).where(Integration.name == name))
    db.session.commit()


def sources(code: str) -> dict[date, tuple[str, int | None]]:
    """The member's stored days: (source integration, clock-out) by date."""
    rows = db.session.execute(
        select(AttendanceDay.work_date, Integration.name, AttendanceDay.clock_out)
        .select_from(AttendanceDay)
        .join(Member, Member.id == AttendanceDay.member_id)
        .join(Integration, Integration.id == AttendanceDay.integration_id)
        .where(Member.code == code)
    )
    return {work_date: (name, clock_out) for work_date, name, clock_out in rows}


def kinds(run: SyncRun) -> list[str]:
    return sorted(str(issue.kind) for issue in run.issues)


def test_equal_priorities_keep_the_later_sync_wins_rule_with_its_warning(app, hr):
    sync(hr, "本社")
    for name in ("支社", "本社", "支社"):
        run = sync(hr, name)
        assert run.updated == 6 and run.skipped_other_source == 0 and run.warnings >= 2
        conflicts = [issue for issue in run.issues if issue.kind is IssueKind.CONFLICT]
        assert [issue.employee_code for issue in conflicts] == ["P1001", "P1002"]
        assert "higher priority" in conflicts[0].message  # the way out is named
        assert set(sources("P1001").values()) == {(name, CLOCK_OUT[name])}


def test_the_lower_priority_skips_the_winners_days_and_writes_and_warns_nothing(app, hr):
    set_priority("本社", 10)
    first = sync(hr, "本社")
    assert (first.created, first.warnings) == (6, 1)  # P1002 has no clock-out on D1: the winner warns
    for name in ("支社", "本社", "支社", "本社"):
        run = sync(hr, name)
        if name == "支社":
            assert (run.skipped_other_source, run.created, run.updated, run.removed) == (6, 0, 0, 0)
            assert run.issues == [] and run.warnings == 0 and str(run.status) == "succeeded"
        else:
            assert (run.unchanged, run.skipped_other_source, run.warnings) == (6, 0, 1)
            assert kinds(run) == ["missing_clock_out"]
    assert set(sources("P1001").values()) == {("本社", 1080)}
    assert run_as_dict(run)["counts"]["skipped_other_source"] == 0


def test_the_winner_overwrites_the_losers_days_once_then_the_loser_skips(app, hr):
    sync(hr, "支社")
    set_priority("本社", 1)
    takeover = sync(hr, "本社")
    assert takeover.updated == 6
    conflicts = [issue for issue in takeover.issues if issue.kind is IssueKind.CONFLICT]
    assert len(conflicts) == 2 and "has precedence" in conflicts[0].message and "支社" in conflicts[0].message
    loser = sync(hr, "支社")
    assert (loser.skipped_other_source, loser.updated, loser.warnings) == (6, 0, 0)
    again = sync(hr, "本社")
    assert (again.unchanged, again.updated) == (6, 0)
    assert IssueKind.CONFLICT not in {issue.kind for issue in again.issues}


def test_a_members_preferred_integration_overrides_the_priorities(app, hr):
    set_priority("本社", 10)
    prefer("P1002", "支社")
    sync(hr, "本社")
    sync(hr, "支社")
    assert set(sources("P1001").values()) == {("本社", 1080)}
    assert sources("P1002") == {D1: ("支社", None), D2: ("支社", 1110), D3: ("支社", 1110)}
    # steady state: each run keeps its own member's days and skips the other's, without a conflict
    for name in ("本社", "支社", "本社"):
        run = sync(hr, name)
        assert (run.unchanged, run.skipped_other_source, run.updated) == (3, 3, 0)
        assert IssueKind.CONFLICT not in {issue.kind for issue in run.issues}
    assert set(sources("P1001").values()) == {("本社", 1080)}
    assert sources("P1002")[D2] == ("支社", 1110)


def test_a_preference_for_a_third_integration_leaves_the_two_to_their_priorities(app, hr):
    save_integration(provider_named("fakehr"), "旧システム", {"token": "good"}, auto_sync=False)
    db.session.commit()
    prefer("P1001", "旧システム")
    set_priority("支社", 5)
    sync(hr, "支社")
    run = sync(hr, "本社")
    assert run.skipped_other_source == 6 and set(sources("P1001").values()) == {("支社", 1110)}


def test_deleting_the_preferred_integration_clears_the_preference(app, hr):
    prefer("P1001", "支社")
    delete_integration(db.session.scalar(select(Integration).where(Integration.name == "支社")))
    db.session.commit()
    db.session.expire_all()
    assert db.session.scalar(select(Member.preferred_integration_id).where(Member.code == "P1001")) is None


def test_a_sync_never_removes_a_day_another_integration_stored(app, hr):
    set_priority("支社", 10)
    sync(hr, "本社")
    winner = sync(hr, "支社", days=(D1,))  # the winner has no D2 and D3 in its system
    assert (winner.updated, winner.removed) == (2, 0)
    assert sources("P1001") == {D1: ("支社", 1110), D2: ("本社", 1080), D3: ("本社", 1080)}
    loser = sync(hr, "本社", days=(D2,))  # and the loser drops D3: only its own day goes
    assert (loser.skipped_other_source, loser.unchanged, loser.removed) == (0, 2, 2)
    assert sources("P1001") == {D1: ("支社", 1110), D2: ("本社", 1080)}


def test_a_day_imported_from_a_file_is_overwritten_by_any_sync_as_before(app, hr):
    set_priority("本社", 10)
    member = db.session.scalar(select(Member).where(Member.code == "P1001"))
    db.session.add(AttendanceDay(member_id=member.id, work_date=D1, clock_in=600, source_file="crowdlog.csv"))
    db.session.commit()
    run = sync(hr, "支社")
    assert (run.created, run.updated, run.skipped_other_source) == (5, 1, 0)
    assert IssueKind.CONFLICT not in {issue.kind for issue in run.issues}


def test_the_skip_count_is_in_runs_show_json_and_on_the_run_page(app, hr):
    set_priority("本社", 10)
    sync(hr, "本社")
    run = sync(hr, "支社")
    result = app.test_cli_runner().invoke(args=["runs", "show", str(run.id), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["counts"]["skipped_other_source"] == 6


def test_precedence_costs_no_query_per_day(app, hr):
    """Priorities are read once per run and preferences ride on the matched members: a run skipping three
    times the days makes the same statements."""
    set_priority("本社", 10)
    prefer("P1002", "本社")
    sync(hr, "本社")

    def statements(days) -> int:
        seen = []
        listener = lambda *args: seen.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            sync(hr, "支社", days=days)
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(seen)

    assert statements((D1,)) == statements((D1, D2, D3))
