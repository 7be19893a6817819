"""`hub sync` and `hub runs list|show`."""

from __future__ import annotations

import json
import sys
from datetime import date
from typing import NoReturn

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from hub.characters import TEXT
from hub.extensions import db
from hub.i18n import cli_language
from hub.models import Integration, RunStatus, SyncRun, Trigger
from hub.sync.engine import run_sync
from hub.sync.lifecycle import SyncAlreadyRunning, SyncBlackout, SyncError, start_run
from hub.sync.progress import ProgressUpdate
from hub.sync.report import COUNT_KEYS, run_as_dict
from hub.sync.tasks import enqueue_run

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_BUSY = 0, 1, 2, 3


def _date(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        click.echo(f"{option} {value!r}: use YYYY-MM-DD.", err=True)
        sys.exit(EXIT_USAGE)


@click.command("sync")
@click.argument("name", type=TEXT)
@click.option("--from", "start", required=True, metavar="YYYY-MM-DD", help="First work date (inclusive).")
@click.option("--to", "end", required=True, metavar="YYYY-MM-DD", help="Last work date (inclusive).")
@click.option("--json", "as_json", is_flag=True, help="Print the run as one JSON object.")
@click.option("--enqueue", is_flag=True, help="Queue the run for a worker and print its id.")
@with_appcontext
def sync_command(name: str, start: str, end: str, as_json: bool, enqueue: bool) -> None:
    """Sync an integration's attendance for a period of at most 40 days.

    Exit status: 0 succeeded or partial, 1 failed (a run stopped by the provider's blackout window too), 2 bad
    arguments, 3 try again later: another run of the integration is active, or the provider refuses calls
    now (a blackout window; the message says until when).
    """
    first, last = _date(start, "--from"), _date(end, "--to")
    integration = db.session.scalar(select(Integration).where(Integration.name == name))
    if integration is None:
        click.echo(f"No integration named {name}.", err=True)
        sys.exit(EXIT_USAGE)
    if enqueue:
        try:
            run = start_run(integration, first, last, Trigger.CLI, queued=True)
        except SyncError as exc:
            _refused(exc)
        enqueue_run(run.id, cli_language())
        click.echo(json.dumps({"run_id": run.id, "status": str(run.status)}) if as_json else run.id)
        return
    with click.progressbar(length=100, label=f"Syncing {name}", file=sys.stderr, show_percent=True) as bar:
        shown = [0]

        def advance(update: ProgressUpdate) -> None:
            percent = update.percent
            if percent is not None and percent > shown[0]:
                bar.update(percent - shown[0])
                shown[0] = percent

        try:
            run = run_sync(integration, first, last, Trigger.CLI, on_progress=advance)
        except SyncError as exc:
            click.echo("", err=True)
            _refused(exc)
        bar.update(100 - shown[0])
    _print_run(run, as_json)
    sys.exit(EXIT_FAILED if run.status is RunStatus.FAILED else EXIT_OK)


def _refused(exc: SyncError) -> NoReturn:
    click.echo(str(exc), err=True)
    sys.exit(EXIT_BUSY if isinstance(exc, SyncAlreadyRunning | SyncBlackout) else EXIT_USAGE)


@click.group("runs")
def runs_group() -> None:
    """Sync history."""


@runs_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
@with_appcontext
def runs_list_command(as_json: bool, limit: int) -> None:
    """The latest sync runs, newest first."""
    runs = db.session.scalars(select(SyncRun).order_by(SyncRun.id.desc()).limit(limit)).all()
    if as_json:
        objects = [{key: value for key, value in run_as_dict(run).items() if key != "issues"} for run in runs]
        click.echo(json.dumps(objects, ensure_ascii=False, indent=2))
        return
    if not runs:
        click.echo("No sync runs yet.")
    for run in runs:
        click.echo(
            f"{run.id:>5}  {run.integration_name}  {run.period_start}..{run.period_end}  {run.trigger}  "
            f"{run.status}  created {run.created} updated {run.updated} rejected {run.rejected}"
        )


@runs_group.command("show")
@click.argument("run_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_appcontext
def runs_show_command(run_id: int, as_json: bool) -> None:
    """One run with its counts and issues."""
    run = db.session.get(SyncRun, run_id)
    if run is None:
        click.echo(f"No sync run {run_id}.", err=True)
        sys.exit(EXIT_USAGE)
    _print_run(run, as_json)


def _print_run(run: SyncRun, as_json: bool) -> None:
    report = run_as_dict(run)
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    click.echo(
        f"Run {run.id} of {run.integration_name} for {report['period']['from']}..{report['period']['to']}: "
        f"{report['status']} ({report['requests']} requests, {report['duration_s']} s)"
    )
    if run.error:
        click.echo(f"  {run.error}")
    click.echo("  " + ", ".join(f"{key} {report['counts'][key]}" for key in COUNT_KEYS))
    for issue in report["issues"]:
        where = " ".join(part for part in (issue["employee_code"] or "(no code)", issue["date"] or "") if part)
        hint = f" (did you mean {issue['suggestion']}?)" if issue["suggestion"] else ""
        click.echo(f"  {issue['kind']}: {where}: {issue['message']}{hint}")
