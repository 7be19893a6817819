"""The ``hub`` commands of DESIGN.md, registered on every app the factory builds.

The core's own commands (run, worker, create-admin, keys, plugins) are here; each area adds its group
(``members``, ``projects``, ``manhours``, ``attendance``, ``integrations``, ``sync``, ``runs``, ``export``).
"""

from __future__ import annotations

import json
import sys

import click
from cryptography.fernet import Fernet
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from hub.characters import TEXT
from hub.extensions import db


def init_app(app: Flask) -> None:
    from hub.attendance.cli import attendance_group
    from hub.exports.cli import export_group
    from hub.integrations.cli import integrations_group
    from hub.manhours.cli import manhours_group, projects_group
    from hub.members.cli import members_group
    from hub.sync.cli import runs_group, sync_command

    for command in (
        run_command,
        create_admin_command,
        keys_group,
        members_group,
        projects_group,
        manhours_group,
        attendance_group,
        plugins_command,
        integrations_group,
        sync_command,
        runs_group,
        export_group,
        worker_command,
    ):
        app.cli.add_command(command)


@click.command("run")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=5000, show_default=True, type=int)
@click.option(
    "--worker/--no-worker",
    default=True,
    show_default=True,
    help="Also run a job consumer (syncs, the daily auto sync) in this process.",
)
@with_appcontext
def run_command(host: str, port: int, worker: bool) -> None:
    """Serve the hub with the development server (production runs the WSGI app under gunicorn)."""
    from werkzeug.serving import run_simple

    from hub.auth.accounts import has_admin, issue_setup_token

    app = current_app._get_current_object()
    base = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    if not has_admin():
        click.secho("\nNo admin account yet. Open this one-time link to create the first one:", fg="yellow")
        click.secho(f"  {base}/setup?token={issue_setup_token()}\n", bold=True)
        click.echo("(or run `.venv/bin/hub create-admin EMAIL`; the link stops working once an admin exists)\n")
    click.echo(f"Kintai Hub on {base}  (Ctrl+C to stop)")
    consumer = _start_consumer(workers=2, periodic=True) if worker else None
    try:
        run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)
    finally:
        if consumer is not None:
            consumer.stop(graceful=True)


def _start_consumer(workers: int, periodic: bool):
    """A Huey consumer on threads of this process; Ctrl+C stays with the web server."""
    import signal

    from huey.consumer import Consumer

    from hub.jobs import queue

    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    consumer = Consumer(queue(), workers=workers, periodic=periodic, worker_type="thread")
    consumer.start()
    for sig, handler in handlers.items():
        signal.signal(sig, handler)
    return consumer


@click.command("worker")
@click.option(
    "--workers",
    "-w",
    default=2,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Worker threads, each running one sync at a time.",
)
@click.option(
    "--periodic/--no-periodic",
    default=True,
    show_default=True,
    help="Run the schedule (daily auto sync, reaping dead runs); exactly one process should.",
)
@with_appcontext
def worker_command(workers: int, periodic: bool) -> None:
    """Consume the job queue (HUB_QUEUE_URL) until stopped with Ctrl+C or SIGTERM."""
    from huey.consumer import Consumer

    from hub.jobs import queue

    Consumer(queue(), workers=workers, periodic=periodic, worker_type="thread").run()


@click.command("create-admin")
@click.argument("email", type=TEXT)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--reset", is_flag=True, help="Set a new password for an existing admin.")
@with_appcontext
def create_admin_command(email: str, password_stdin: bool, reset: bool) -> None:
    """Create an admin who can log in to the web UI."""
    from hub.auth.accounts import AccountError, create_admin

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = create_admin(email, password, reset=reset)
    except AccountError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"Admin {user.email} {'updated' if reset else 'created'}.")


@click.group("keys")
def keys_group() -> None:
    """Encryption keys for stored secrets (HUB_ENCRYPTION_KEYS)."""


@keys_group.command("generate")
def keys_generate_command() -> None:
    """Print a new key to put first in HUB_ENCRYPTION_KEYS."""
    click.echo(Fernet.generate_key().decode())


@keys_group.command("rotate")
@with_appcontext
def keys_rotate_command() -> None:
    """Re-encrypt every stored secret with the newest (first) key of HUB_ENCRYPTION_KEYS."""
    from hub import audit
    from hub.encryption import SecretDecryptError, secret_box
    from hub.models import Integration

    box = secret_box()
    count = 0
    try:
        for integration in db.session.scalars(select(Integration).where(Integration.secrets_token.is_not(None))):
            integration.secrets_token = box.rotate(integration.secrets_token)
            count += 1
    except SecretDecryptError as exc:
        db.session.rollback()
        raise click.ClickException(f"{exc} Nothing was changed.") from exc
    audit.record("keys.rotate", details={"secrets": count})
    db.session.commit()
    click.echo(f"Re-encrypted the secrets of {count} integration(s) with the newest key.")
    click.echo("Older keys can now be removed from HUB_ENCRYPTION_KEYS.")


@click.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_appcontext
def plugins_command(as_json: bool) -> None:
    """List installed plugins, their versions and the hooks they implement."""
    from hub.plugins import installed_plugins, plugin_manager

    infos = [info.as_dict() for info in installed_plugins(plugin_manager())]
    if as_json:
        click.echo(json.dumps(infos, indent=2, ensure_ascii=False))
        return
    if not infos:
        click.echo("No plugins installed.")
    for info in infos:
        click.echo(f"{info['name']} {info['version'] or ''}".rstrip())
        click.echo(f"  hooks: {', '.join(info['hooks']) or '-'}")
