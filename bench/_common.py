"""What several benchmarks share: an environment free of the developer's HUB_* settings, throw-away hubs on
SQLite with a Jobcan integration pointing at a simulator, and the printed table of figures."""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import uuid
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from sqlalchemy import select

from hub import create_app
from hub.config import VARIABLES
from hub.extensions import db
from hub.integrations.service import provider_named, save_integration
from hub.models import Integration, Member

ROOT = Path(__file__).resolve().parent.parent
HUB = str(Path(sys.executable).parent / "hub")


def isolate_environment(workdir: Path) -> None:
    """This process never reads the developer's HUB_* settings; instance files go to the temporary folder."""
    for name in VARIABLES:
        os.environ.pop(name, None)
    os.environ["HUB_INSTANCE_PATH"] = str(workdir / "instance")
    os.environ["HUB_LANGUAGE"] = "en"


def hub_env(
    instance: Path,
    database_url: str,
    encryption_key: str | None = None,
    queue_url: str | None = None,
    heartbeat_timeout: int = 20,
) -> dict:
    """The environment of a `hub` child process: this one's, without the developer's HUB_* settings."""
    env = {key: value for key, value in os.environ.items() if key not in VARIABLES}
    env.update(
        DATABASE_URL=database_url.replace("postgresql://", "postgresql+psycopg://", 1),
        HUB_INSTANCE_PATH=str(instance),
        HUB_SECRET_KEY=uuid.uuid4().hex + uuid.uuid4().hex,
        HUB_ENCRYPTION_KEYS=encryption_key or Fernet.generate_key().decode(),
        HUB_HEARTBEAT_TIMEOUT=str(heartbeat_timeout),
        HUB_LANGUAGE="en",
        PYTHONUNBUFFERED="1",
    )
    if queue_url:
        env.update(HUB_QUEUE_URL=queue_url, HUB_RATELIMIT_STORAGE_URL=queue_url)
    return env


def build_hub(
    stack: contextlib.ExitStack,
    folder: Path,
    sim: Any,
    settings: dict | None = None,
    encryption_key: str | None = None,
    template: Path | None = None,
):
    """A hub on ``folder``/hub.sqlite3: a member per coded employee and one Jobcan integration named "Jobcan"
    on the simulator, with ``settings`` over the form's defaults. With ``template`` (a database built here
    before, with the same key), a copy of it whose integration is pointed at ``sim``. The app's engine is
    disposed when ``stack`` closes."""
    folder.mkdir(parents=True)
    if template is not None:
        shutil.copyfile(template, folder / "hub.sqlite3")
        (folder / "hub.sqlite3").chmod(0o600)  # as the hub creates its own: others may not read it
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "bench-secret",
            "HUB_ENCRYPTION_KEYS": [encryption_key or Fernet.generate_key().decode()],
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'hub.sqlite3'}",
        }
    )
    with app.app_context():
        if template is None:
            db.create_all()
            db.session.add_all(
                Member(code=e["employee_code"], name=f"{e['last_name']} {e['first_name']}")
                for e in sim.data.employees
                if e["employee_code"]
            )
        values = {
            "client_id": sim.client_id,
            "client_secret": sim.client_secret,
            "environment": "custom",
            "api_base_url": sim.url,
            "auth_base_url": sim.url,
            "refresh_summaries": True,
            **(settings or {}),
        }
        existing = db.session.scalar(select(Integration).where(Integration.name == "Jobcan"))
        save_integration(provider_named("jobcan"), "Jobcan", values, auto_sync=False, integration=existing)
        db.session.commit()
    stack.callback(_dispose, app)
    return app


def _dispose(app) -> None:
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


class Table:
    """Figures with their target, ratio and verdict, printed as aligned columns."""

    def __init__(self):
        self.rows: list[tuple[str, str, str, str, str]] = []

    def add(self, figure: str, measured: str, target: str = "", ratio: str = "", verdict: str = "") -> None:
        self.rows.append((figure, measured, target, ratio, verdict))

    def render(self) -> str:
        header = ("figure", "measured", "target", "ratio", "")
        widths = [max(len(row[i]) for row in [header, *self.rows]) for i in range(5)]
        lines = ["  ".join(cell.ljust(width) for cell, width in zip(header, widths, strict=True)).rstrip()]
        lines.append("  ".join("-" * width for width in widths))
        for row in self.rows:
            lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
        return "\n".join(lines)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def say(message: str) -> None:
    print(message, flush=True)
