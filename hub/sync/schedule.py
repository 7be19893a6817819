"""自動同期: every day at 05:00 in the company time zone, each integration with auto sync on syncs the past 40 days.

The scheduler ticks every minute. A slot is due when no auto run was queued since it began, so a scheduler that was
down at 05:00 runs the missed sync once when it comes back, not once per missed day. For the same reason a slot
inside the provider's blackout window (the start is refused) runs once, at the first tick after the window ends.
"""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from hub.extensions import db
from hub.i18n import DEFAULT_LANGUAGE
from hub.models import Integration, SyncRun, Trigger, utcnow
from hub.settings.service import company_timezone
from hub.sync.lifecycle import MAX_PERIOD_DAYS, SyncAlreadyRunning, SyncBlackout, reap_stale_runs, start_run
from hub.sync.tasks import enqueue_run

log = logging.getLogger(__name__)

AUTO_SYNC_AT = time(5, 0)


def latest_slot(now: datetime, tz: ZoneInfo) -> datetime:
    """The most recent 05:00 in ``tz`` at or before ``now``."""
    local = now.astimezone(tz)
    slot = datetime.combine(local.date(), AUTO_SYNC_AT, tzinfo=tz)
    return slot if slot <= local else slot - timedelta(days=1)


def due_integrations(now: datetime) -> list[Integration]:
    """Integrations with auto sync on whose latest 05:00 slot has no auto run yet."""
    slot = latest_slot(now, ZoneInfo(company_timezone()))
    last_auto = (
        select(SyncRun.integration_id, func.max(SyncRun.queued_at).label("queued_at"))
        .where(SyncRun.trigger == Trigger.AUTO)
        .group_by(SyncRun.integration_id)
        .subquery()
    )
    rows = db.session.execute(
        select(Integration, last_auto.c.queued_at)
        .outerjoin(last_auto, last_auto.c.integration_id == Integration.id)
        .where(Integration.auto_sync.is_(True))
        .order_by(Integration.id)
    ).all()
    due = []
    for integration, queued_at in rows:
        if integration.created_at > slot:
            continue  # connected after this slot: its first auto sync is the next one
        if queued_at is None or _aware(queued_at) < slot:
            due.append(integration)
    return due


def tick(now: datetime | None = None) -> list[int]:
    """Reap runs whose worker died, then queue the auto syncs that are due; returns the queued run ids."""
    now = now or utcnow()
    reap_stale_runs(now=now)
    today = now.astimezone(ZoneInfo(company_timezone())).date()
    queued = []
    for integration in due_integrations(now):
        start = today - timedelta(days=MAX_PERIOD_DAYS - 1)
        try:
            run = start_run(integration, start, today, Trigger.AUTO, queued=True, now=now)
        except SyncAlreadyRunning:
            log.info("Auto sync of %s waits: another run is active", integration.name)
            continue
        except SyncBlackout as exc:
            log.info("Auto sync of %s waits for the end of a blackout window: %s", integration.name, exc)
            continue
        queued.append(run.id)
        enqueue_run(run.id, DEFAULT_LANGUAGE)  # nobody started it: messages in the default language
    return queued


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=ZoneInfo("UTC"))
