"""`hub db upgrade` builds the schema the models describe, on SQLite and (when available) PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from hub.extensions import db
from tests.conftest import make_app


def _check_upgrade_matches_models(app):
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, db.metadata) == []
            tables = set(sa.inspect(connection).get_table_names())
        assert {
            "users",
            "settings",
            "members",
            "integrations",
            "attendance_days",
            "attendance_breaks",
            "hourly_leave_intervals",
            "projects",
            "time_entries",
            "timesheet_days",
            "sync_runs",
            "sync_issues",
            "audit_log",
        } <= tables
        downgrade(revision="base")
        with db.engine.connect() as connection:
            assert set(sa.inspect(connection).get_table_names()) <= {"alembic_version"}


def _fresh_app(tmp_path, url):
    app = make_app(tmp_path, SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        db.drop_all()  # make_app created the tables from the models; start from nothing
    return app


def test_migrations_match_models_on_sqlite(tmp_path):
    _check_upgrade_matches_models(_fresh_app(tmp_path, f"sqlite:///{tmp_path / 'migrate.sqlite3'}"))


def test_migrations_match_models_on_postgresql(tmp_path, postgres_url):
    app = _fresh_app(tmp_path, postgres_url)
    _check_upgrade_matches_models(app)
    with app.app_context():
        db.engine.dispose()


def test_one_active_run_per_integration_is_enforced_by_the_database(tmp_path):
    from datetime import date

    from sqlalchemy.exc import IntegrityError

    from hub.models import Integration, RunStatus, SyncRun, Trigger

    app = _fresh_app(tmp_path, f"sqlite:///{tmp_path / 'runs.sqlite3'}")
    with app.app_context():
        upgrade()
        integration = Integration(provider="jobcan", name="本社")
        db.session.add(integration)
        db.session.commit()

        def run(status):
            return SyncRun(
                integration_id=integration.id,
                integration_name="本社",
                trigger=Trigger.CLI,
                period_start=date(2026, 11, 1),
                period_end=date(2026, 11, 30),
                status=status,
            )

        db.session.add_all([run(RunStatus.SUCCEEDED), run(RunStatus.FAILED), run(RunStatus.RUNNING)])
        db.session.commit()
        db.session.add(run(RunStatus.QUEUED))
        with pytest.raises(IntegrityError):
            db.session.commit()


def test_the_old_default_pace_of_jobcan_integrations_becomes_no_ceiling(tmp_path):
    """requests_per_second is now a ceiling: a stored 5 (the old default, never chosen) would cap every sync at
    the pace issue 11 measured; a value an admin chose stays, as the ceiling."""
    from datetime import datetime

    app = _fresh_app(tmp_path, f"sqlite:///{tmp_path / 'pace.sqlite3'}")
    integrations = sa.table(
        "integrations",
        sa.column("id", sa.Integer),
        sa.column("provider", sa.String),
        sa.column("name", sa.String),
        sa.column("settings", sa.JSON),
        sa.column("auto_sync", sa.Boolean),
        sa.column("health", sa.String),
        sa.column("created_at", sa.DateTime),
        sa.column("updated_at", sa.DateTime),
    )
    stored = {
        "本社": {"client_id": "a", "requests_per_second": 5.0, "concurrency": 2},
        "支社": {"client_id": "b", "requests_per_second": 12, "concurrency": 4},
    }
    with app.app_context():
        upgrade(revision="cbd219b9dd9b")
        with db.engine.begin() as connection:
            for name, settings in stored.items():
                connection.execute(
                    integrations.insert().values(
                        provider="jobcan",
                        name=name,
                        settings=settings,
                        auto_sync=True,
                        health="unknown",
                        created_at=datetime(2026, 11, 1),
                        updated_at=datetime(2026, 11, 1),
                    )
                )
        upgrade()
        with db.engine.connect() as connection:
            after = dict(connection.execute(sa.select(integrations.c.name, integrations.c.settings)).all())
    assert after == {"本社": {"client_id": "a"}, "支社": stored["支社"]}
