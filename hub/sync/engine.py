"""Running a sync: fetch from the provider, match, then validate and write everything in one transaction.

A failure before the write phase changes no attendance; the run itself is always recorded. The run's life
(start, claim, cancel, reap, fail) is :mod:`hub.sync.lifecycle`, its progress :mod:`hub.sync.progress`, the
write phase :mod:`hub.sync.write`.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from datetime import date
from typing import Any

from flask import g
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from hub import bulk
from hub.encryption import SecretDecryptError
from hub.extensions import db
from hub.integrations.service import IntegrationError, provider_for, provider_settings
from hub.models import Integration, Member, RunStatus, SyncRun, Trigger
from hub.providers import Provider, ProviderError, ProviderSettings
from hub.records import DayRecord, RejectedRecord
from hub.sync.blackout import Blackouts
from hub.sync.lifecycle import SyncBlackout, SyncCancelled, claim_run, fail_run, finish_run, start_run
from hub.sync.matching import Matching, match_members
from hub.sync.progress import Heartbeat, OnProgress, ProgressReporter, record_pace
from hub.sync.write import write_records
from hub.sync_events import announce_sync_finished

log = logging.getLogger(__name__)


def run_sync(
    integration: Integration,
    start: date,
    end: date,
    trigger: Trigger = Trigger.CLI,
    user_id: int | None = None,
    on_progress: OnProgress | None = None,
) -> SyncRun:
    """Start and execute a sync of ``integration`` for ``start``..``end``; returns the finished run."""
    run = start_run(integration, start, end, trigger, user_id)
    return execute_run(run.id, on_progress=on_progress)


def execute_run_in_locale(run_id: int, locale: str) -> SyncRun | None:
    """Execute a run outside a request, with issue messages in ``locale`` (the language of who started it)."""
    g.hub_sync_run_id = run_id  # Flask-Babel ignores force_locale while g is empty
    with force_locale(locale):
        return execute_run(run_id)


def execute_run(run_id: int, on_progress: OnProgress | None = None) -> SyncRun | None:
    """Fetch, match, validate and write for a started run; a cancelled or finished run is left alone."""
    run = claim_run(run_id)
    if run is None:
        return db.session.get(SyncRun, run_id)
    integration = db.session.get(Integration, run.integration_id)
    reporter = ProgressReporter(run_id, on_progress)
    began = time.monotonic()
    try:
        provider, settings = provider_for(integration), provider_settings(integration)
    except (IntegrationError, SecretDecryptError) as exc:  # the plugin is gone, or a key was lost
        return fail_run(run_id, str(exc), 0, integration_error=True)
    try:
        with Heartbeat(run_id):
            reporter.blackouts = _call(provider, run_id, Blackouts.declared, provider, settings)
            matching, records = _fetch(run, provider, settings, reporter)
    except SyncCancelled as exc:
        return fail_run(run_id, str(exc), reporter.requests, status=RunStatus.INTERRUPTED)
    except SyncBlackout as exc:  # nothing is wrong with the integration: it only has to wait
        return fail_run(run_id, str(exc), reporter.requests)
    except ProviderError as exc:
        # A call refused because a blackout window began before the next progress step: say so, not "403".
        stop = reporter.blackouts.stop()
        return fail_run(run_id, stop or str(exc), reporter.requests, integration_error=not stop)
    except _ProviderFailed as exc:
        return fail_run(run_id, str(exc), reporter.requests, integration_error=True)
    except Exception:  # a bug of the core's must not leave the run "running", nor show a bare exception class
        return fail_run(run_id, _unexpected(run_id, "fetching"), reporter.requests)
    finally:  # a failed fetch learned the provider's pace too
        record_pace(run_id, run.integration_id, settings.pace)
    try:
        reporter.stage("write", requests=reporter.requests)
    except SyncCancelled as exc:
        return fail_run(run_id, str(exc), reporter.requests, status=RunStatus.INTERRUPTED)
    requests = reporter.requests
    for attempt in (1, 2):
        try:
            finished = _write_and_finish(run_id, matching, records, requests)
            break
        except IntegrityError:
            # Another integration's sync inserted some of the same member days a moment ago: read the days
            # again and write once more, now as updates (with the conflict reported).
            db.session.rollback()
            if attempt == 2:
                return fail_run(run_id, _("Another sync kept writing the same days; run this sync again."), requests)
        except Exception:  # a bug must not leave the run "running"
            db.session.rollback()
            return fail_run(run_id, _unexpected(run_id, "writing"), requests)
    if not finished:
        log.warning("Sync run %s was interrupted or cancelled before it could commit; nothing written", run_id)
        return db.session.get(SyncRun, run_id)
    run = db.session.get(SyncRun, run_id)
    log.info("Sync run %s of %s: %s in %.1f s", run.id, run.integration_name, run.status, time.monotonic() - began)
    announce_sync_finished(run)
    return run


def _fetch(
    run: SyncRun, provider: Provider, settings: ProviderSettings, reporter: ProgressReporter
) -> tuple[Matching, list[DayRecord | RejectedRecord]]:
    """Members, matching and day records from the provider; raises before anything is written, and stops
    before any call into the provider once its blackout window has begun."""
    reporter.check_blackout()
    remote = _call(provider, run.id, provider.fetch_members, settings)
    reporter.stage("members", requests=reporter.requests)
    matching = match_members(remote, db.session.scalars(select(Member)), since=run.period_start)
    ids = list(matching.matched)
    reporter.check_blackout()
    # The provider maps tens of thousands of days into new, acyclic objects: without the pause, Python's cycle
    # collector walks the whole heap again and again to free nothing (docs/performance.md, "Hub-side write").
    # The few cycles the HTTP calls leave (about 20 objects a request) are collected when it ends.
    with bulk.collector_paused():
        records = _call(
            provider,
            run.id,
            lambda: list(provider.fetch_attendance(settings, ids, run.period_start, run.period_end, reporter)),
        )
    return matching, records


class _ProviderFailed(Exception):
    """A provider raised something other than a ProviderError; the message names it and the log reference."""


def _call(provider: Provider, run_id: int, call: Callable, *args: Any) -> Any:
    """``call(*args)`` into the provider: a ProviderError (or a cancel or blackout from its progress steps) passes
    through; any other exception is logged with a reference and becomes a message that names the provider,
    never a bare exception class."""
    try:
        return call(*args)
    except (ProviderError, SyncCancelled, SyncBlackout):
        raise
    except Exception as exc:
        reference = _logged_failure(run_id, f"the {provider.name} provider failed")
        raise _ProviderFailed(
            _(
                "%(provider)s failed unexpectedly; nothing was changed. The details are in the server log under "
                "reference %(reference)s.",
                provider=provider.label,
                reference=reference,
            )
        ) from exc


def _write_and_finish(
    run_id: int, matching: Matching, records: list[DayRecord | RejectedRecord], requests: int
) -> bool:
    """The write phase and the run's final status in one transaction; False when the run may no longer finish."""
    run = db.session.get(SyncRun, run_id)
    integration = db.session.get(Integration, run.integration_id)
    outcome = write_records(run, integration, matching, records)
    run.requests = requests
    run.error = outcome.error
    return finish_run(run, integration, outcome.status)


def _logged_failure(run_id: int, what: str) -> str:
    """Log the exception being handled with a reference an admin can quote, and return the reference."""
    reference = f"sync-{run_id}-{secrets.token_hex(3)}"
    log.exception("Sync run %s: %s [reference %s]", run_id, what, reference)
    return reference


def _unexpected(run_id: int, phase: str) -> str:
    """The message of a run the core itself failed (a bug), with the reference of its logged traceback."""
    reference = _logged_failure(run_id, f"{phase} failed")
    return _(
        "The sync failed unexpectedly; nothing was changed. The details are in the server log under reference "
        "%(reference)s.",
        reference=reference,
    )
