"""Syncs through the Huey queue: queued runs, live pages, cancel, dead workers, the daily schedule, health."""

from __future__ import annotations

import signal
import time
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from hub import hookimpl
from hub.extensions import db
from hub.integrations.service import provider_named, save_integration
from hub.jobs import make_huey, queue
from hub.models import AttendanceDay, Integration, IssueKind, Member, RunStatus, SyncRun, Trigger
from hub.records import RemoteMember
from hub.sync.engine import execute_run
from hub.sync.lifecycle import start_run
from hub.sync.schedule import latest_slot, tick
from tests.conftest import create_test_admin, make_app, service_url
from tests.fake_provider import FakeHR, FakePlugin, FakeProvider

D1 = date(2026, 11, 2)


class Finished:
    def __init__(self):
        self.statuses = []

    @hookimpl
    def hub_sync_finished(self, run):
        self.statuses.append((run.id, run.status))


@pytest.fixture
def hr():
    hr = FakeHR(employees=[RemoteMember("10", "P1001", "工数 太郎")])
    hr.day("10", D1)
    return hr


@pytest.fixture
def finished():
    return Finished()


@pytest.fixture
def app(tmp_path, hr, finished):
    app = make_app(tmp_path, plugins=[FakePlugin(hr), finished], HUB_QUEUE_IMMEDIATE=False)
    create_test_admin(app)
    with app.app_context():
        db.session.add(Member(code="P1001", name="工数 太郎", start_date=date(2020, 1, 1)))
        integration = save_integration(provider_named("fakehr"), "本社", {"token": "good"}, auto_sync=True)
        integration.created_at = datetime(2026, 1, 1, tzinfo=UTC)
        db.session.commit()
    return app


@pytest.fixture
def web(app):
    client = app.test_client()
    client.post("/login", data={"email": "admin@example.com", "password": "correct horse battery"})
    return client


def drain(app) -> int:
    """Run every queued task as a worker would (the queue is the real SqliteHuey file)."""
    huey, count = queue(app), 0
    while (task := huey.dequeue()) is not None:
        huey.execute(task)
        count += 1
    return count


def integration_id(app) -> int:
    with app.app_context():
        return db.session.scalar(select(Integration.id))


def run_of(app, run_id) -> SyncRun:
    with app.app_context():
        run = db.session.get(SyncRun, run_id)
        db.session.expunge(run)
        return run


def days(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(AttendanceDay.id)))


def post_sync(web, app, lang="en") -> str:
    return web.post(
        f"/admin/attendance/?lang={lang}",
        data={"integration": integration_id(app), "start": "2026-11-01", "end": "2026-11-30"},
    ).headers["Location"]


def test_a_web_sync_is_queued_and_the_page_follows_it(app, web):
    location = post_sync(web, app)
    waiting = web.get(location).get_data(as_text=True)
    assert 'http-equiv="refresh"' in waiting and "Queued" in waiting and "Waiting for a worker" in waiting
    assert days(app) == 0
    assert drain(app) == 1
    done = web.get(location).get_data(as_text=True)
    assert 'http-equiv="refresh"' not in done and "Succeeded" in done
    assert days(app) == 1


def test_issue_messages_use_the_language_of_who_started_it(app, web, hr):
    hr.employees.append(RemoteMember("11", "", "コード なし"))
    location = post_sync(web, app, lang="ja")
    drain(app)
    with app.app_context():
        run = db.session.get(SyncRun, int(location.rsplit("/", 1)[1]))
        issue = next(issue for issue in run.issues if issue.kind is IssueKind.UNMATCHED_REMOTE)
        assert issue.message == "勤怠システムでスタッフコードが設定されていません。"


def test_cancelling_a_queued_run(app, web, finished):
    location = post_sync(web, app)
    run_id = int(location.rsplit("/", 1)[1])
    page = web.post(f"{location}/cancel", follow_redirects=True).get_data(as_text=True)
    assert "nothing it has not finished will be written" in page
    drain(app)  # the worker picks the task up and leaves the cancelled run alone
    run = run_of(app, run_id)
    assert run.status is RunStatus.INTERRUPTED and "Cancelled before it started" in run.error
    assert days(app) == 0 and finished.statuses == [(run_id, RunStatus.INTERRUPTED)]


def test_cancelling_a_running_run_writes_nothing(app, monkeypatch):
    fetch = FakeProvider.fetch_attendance

    def cancel_then_fetch(self, settings, remote_ids, start, end, progress):
        with db.engine.begin() as connection:  # the admin presses 取消 while the provider answers
            connection.execute(update(SyncRun).values(cancel_requested=True))
        return fetch(self, settings, remote_ids, start, end, progress)

    monkeypatch.setattr(FakeProvider, "fetch_attendance", cancel_then_fetch)
    with app.app_context():
        run_id = start_run(db.session.get(Integration, integration_id(app)), D1, D1, Trigger.MANUAL).id
        execute_run(run_id)
    run = run_of(app, run_id)
    assert run.status is RunStatus.INTERRUPTED and "nothing was written" in run.error
    assert days(app) == 0


def test_a_run_whose_worker_died_is_interrupted_and_unblocks_the_integration(app, finished):
    with app.app_context():
        integration = db.session.get(Integration, integration_id(app))
        integration.auto_sync = False  # only the reaping part of the scheduler's tick matters here
        db.session.commit()
        dead = start_run(integration, D1, D1, Trigger.MANUAL)  # its worker never reports again
        later = datetime.now(UTC) + timedelta(seconds=app.config["HUB_HEARTBEAT_TIMEOUT"] + 1)
        tick(now=later)
        dead_id = dead.id
        fresh_id = start_run(integration, D1, D1, Trigger.MANUAL).id
        execute_run(fresh_id)
    assert run_of(app, dead_id).status is RunStatus.INTERRUPTED
    assert "stopped answering" in run_of(app, dead_id).error
    assert run_of(app, fresh_id).status is RunStatus.SUCCEEDED
    assert (dead_id, RunStatus.INTERRUPTED) in finished.statuses


def test_a_run_marked_interrupted_cannot_finish_later(app, monkeypatch):
    fetch = FakeProvider.fetch_attendance

    def slow_fetch(self, settings, remote_ids, start, end, progress):
        records = fetch(self, settings, remote_ids, start, end, progress)
        with db.engine.begin() as connection:  # meanwhile the scheduler gave up on this run
            connection.execute(update(SyncRun).values(status=RunStatus.INTERRUPTED))
        return records

    monkeypatch.setattr(FakeProvider, "fetch_attendance", slow_fetch)
    with app.app_context():
        run_id = start_run(db.session.get(Integration, integration_id(app)), D1, D1, Trigger.MANUAL).id
        execute_run(run_id)
    assert run_of(app, run_id).status is RunStatus.INTERRUPTED
    assert days(app) == 0  # nothing it had not committed is visible


# --- the daily auto sync ------------------------------------------------------------------------------

JST = timedelta(hours=9)


def at_jst(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC) - JST


def test_latest_slot_is_five_in_the_company_time_zone():
    from zoneinfo import ZoneInfo

    tokyo = ZoneInfo("Asia/Tokyo")
    assert latest_slot(at_jst(D1, 4, 59), tokyo) == datetime(2026, 11, 1, 5, tzinfo=tokyo)
    assert latest_slot(at_jst(D1, 5, 0), tokyo) == datetime(2026, 11, 2, 5, tzinfo=tokyo)


def test_auto_sync_fires_at_five_once_a_day_for_auto_integrations(app):
    with app.app_context():
        save_integration(
            provider_named("fakehr"), "手動のみ", {"token": "good"}, auto_sync=False
        ).created_at = datetime(2026, 1, 1, tzinfo=UTC)
        db.session.commit()
        db.session.add(
            SyncRun(
                integration_id=db.session.scalar(select(Integration.id).where(Integration.name == "本社")),
                integration_name="本社",
                trigger=Trigger.AUTO,
                period_start=D1,
                period_end=D1,
                status=RunStatus.SUCCEEDED,
                queued_at=at_jst(D1 - timedelta(days=1), 5),
            )
        )
        db.session.commit()
        assert tick(now=at_jst(D1, 4, 59)) == []
        [run_id] = tick(now=at_jst(D1, 5, 0))
        assert tick(now=at_jst(D1, 5, 1)) == []  # already queued for today's slot
    drain(app)
    run = run_of(app, run_id)
    assert (run.trigger, run.status, run.integration_name) == (Trigger.AUTO, RunStatus.SUCCEEDED, "本社")
    assert (run.period_start, run.period_end) == (D1 - timedelta(days=39), D1)
    with app.app_context():
        assert tick(now=at_jst(D1, 23, 59)) == []
        assert len(tick(now=at_jst(D1 + timedelta(days=1), 5, 0))) == 1


def test_a_scheduler_that_was_down_catches_up_once(app):
    with app.app_context():
        assert len(tick(now=at_jst(D1, 5, 0))) == 1
        drain(app)
        # Down for three days; it comes back at noon: one run, not three.
        assert len(tick(now=at_jst(D1 + timedelta(days=3), 12, 0))) == 1
        assert tick(now=at_jst(D1 + timedelta(days=3), 12, 1)) == []
        assert db.session.scalar(select(func.count(SyncRun.id)).where(SyncRun.trigger == Trigger.AUTO)) == 2


def test_an_integration_connected_after_five_waits_for_tomorrow(app):
    with app.app_context():
        db.session.get(Integration, integration_id(app)).created_at = at_jst(D1, 9, 0)
        db.session.commit()
        assert tick(now=at_jst(D1, 10, 0)) == []
        assert len(tick(now=at_jst(D1 + timedelta(days=1), 5, 0))) == 1


def test_auto_sync_waits_while_another_run_is_active(app):
    with app.app_context():
        start_run(db.session.get(Integration, integration_id(app)), D1, D1, Trigger.MANUAL)
        assert tick(now=datetime.now(UTC)) == []


# --- CLI, worker, health --------------------------------------------------------------------------------


def test_sync_enqueue_prints_the_run_id_and_returns(app):
    result = app.test_cli_runner().invoke(
        args=["sync", "本社", "--from", "2026-11-01", "--to", "2026-11-30", "--enqueue"]
    )
    assert result.exit_code == 0, result.output
    run_id = int(result.output.strip())
    assert run_of(app, run_id).status is RunStatus.QUEUED
    drain(app)
    assert run_of(app, run_id).status is RunStatus.SUCCEEDED


def test_a_real_consumer_runs_queued_syncs(app, web):
    from huey.consumer import Consumer

    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    consumer = Consumer(queue(app), workers=1, periodic=False, worker_type="thread", initial_delay=0.05, max_delay=0.2)
    consumer.start()
    try:
        location = post_sync(web, app)
        run_id = int(location.rsplit("/", 1)[1])
        deadline = time.monotonic() + 15
        while run_of(app, run_id).status in (RunStatus.QUEUED, RunStatus.RUNNING) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert run_of(app, run_id).status is RunStatus.SUCCEEDED
    finally:
        consumer.stop(graceful=True)
        for sig, handler in handlers.items():
            signal.signal(sig, handler)


def test_healthz_answers_without_login_and_without_details(app):
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "queue": "ok"}


def test_healthz_reports_an_unreachable_queue(tmp_path):
    app = make_app(tmp_path, HUB_QUEUE_URL="redis://127.0.0.1:9/0", HUB_QUEUE_IMMEDIATE=False)
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "database": "ok", "queue": "unavailable"}


def test_queue_url_selects_the_backend(tmp_path):
    from huey import RedisHuey, SqliteHuey

    assert isinstance(make_huey(None, str(tmp_path)), SqliteHuey)
    assert isinstance(make_huey("redis://127.0.0.1:6379/0", str(tmp_path)), RedisHuey)
    with pytest.raises(ValueError, match="HUB_QUEUE_URL"):
        make_huey("amqp://x", str(tmp_path))


@pytest.mark.parametrize("variable", ["HUB_TEST_REDIS_URL", "HUB_TEST_DATABASE_URL"])
def test_syncs_through_redis_and_postgres_queues(tmp_path, hr, variable):
    url = service_url(variable)
    app = make_app(tmp_path, plugins=[FakePlugin(hr)], HUB_QUEUE_IMMEDIATE=False, HUB_QUEUE_URL=url)
    huey = queue(app)
    huey.flush()
    with app.app_context():
        db.session.add(Member(code="P1001", name="工数 太郎"))
        integration = save_integration(provider_named("fakehr"), "本社", {"token": "good"}, auto_sync=True)
        db.session.commit()
        run_id = start_run(integration, D1, D1, Trigger.CLI, queued=True).id
        from hub.sync.tasks import enqueue_run

        enqueue_run(run_id, "en")
    assert drain(app) == 1
    assert run_of(app, run_id).status is RunStatus.SUCCEEDED and days(app) == 1
    huey.flush()
    huey.storage.close()


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_two_processes_starting_one_integration_at_once_run_it_once(tmp_path, database, request):
    """Two `hub sync` processes at the same moment: the database lets exactly one run."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    from cryptography.fernet import Fernet

    from hub_plugins.jobcan.simulator import JobcanSimulator, SimulatorConfig

    url = f"sqlite:///{tmp_path / 'hub.sqlite3'}" if database == "sqlite" else request.getfixturevalue("postgres_url")
    hub = str(Path(sys.executable).parent / "hub")
    env = dict(
        os.environ,
        DATABASE_URL=url,
        HUB_INSTANCE_PATH=str(tmp_path / "instance"),
        HUB_SECRET_KEY="x",
        HUB_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
    )
    config = SimulatorConfig(employees=5, start=D1, end=D1 + timedelta(days=9), latency_ms=200)
    with JobcanSimulator(config) as sim:
        subprocess.run([hub, "db", "upgrade"], env=env, check=True, capture_output=True, timeout=120)
        subprocess.run(
            [
                hub,
                "integrations",
                "add",
                "jobcan",
                "本社",
                "--set",
                f"client_id={sim.client_id}",
                "--set",
                "client_secret=-",
                "--set",
                "environment=custom",
                "--set",
                f"api_base_url={sim.url}",
                "--set",
                f"auth_base_url={sim.url}",
                "--set",
                "requests_per_second=50",
            ],
            env=env,
            check=True,
            capture_output=True,
            input=sim.client_secret + "\n",
            text=True,
            timeout=120,
        )
        command = [
            hub,
            "sync",
            "本社",
            "--from",
            D1.isoformat(),
            "--to",
            (D1 + timedelta(days=9)).isoformat(),
            "--json",
        ]
        processes = [
            subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)
        ]
        outcomes = sorted((process.wait(timeout=120), *process.communicate()) for process in processes)
    (ok_code, ok_out, _), (refused_code, _, refused_err) = outcomes
    assert ok_code == 0 and json.loads(ok_out)["status"] == "succeeded"
    assert refused_code == 3 and "already being synced by run" in refused_err


def test_queued_runs_name_their_task_as_earlier_versions_did(tmp_path):
    """A run queued before an upgrade must be found by the upgraded worker: the queue holds the task's name."""
    from hub.sync.tasks import enqueue_run

    app = make_app(tmp_path, HUB_QUEUE_IMMEDIATE=False)
    huey = queue(app)
    huey.flush()
    with app.app_context():
        enqueue_run(42, "ja")
    message = huey.serializer.deserialize(huey.storage.dequeue())
    assert (message.name, message.args) == ("hub.jobs.hub.sync_run", (42, "ja"))
    huey.storage.close()
