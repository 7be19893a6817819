"""Sweeps over everything the hub shows or writes: the secret never appears, a payload is never markup.

These hold the promises of docs/security.md as the hub grows: a new page, log line, CLI output or export is
covered without a new test.
"""

from __future__ import annotations

import base64
import logging
import re
from datetime import date
from urllib.parse import quote

import pytest
from sqlalchemy import select

from hub.extensions import db
from hub.integrations.service import provider_named, save_integration
from hub.models import AuditLog, Integration, IssueKind, Member, Project, RunStatus, SyncIssue, SyncRun, Trigger
from hub_plugins.jobcan.client import TOKENS
from hub_plugins.jobcan.simulator import JobcanSimulator, SimulatorConfig
from tests.conftest import make_app

START, END = date(2026, 11, 2), date(2026, 11, 8)
PAYLOAD = "<script>alert(1)</script>\"'><img src=x onerror=alert(2)>"


def _pages(app, client) -> dict[str, str]:
    """Every GET page of the app with each id argument filled from the database."""
    with app.app_context():
        ids = {
            "integration_id": db.session.scalar(select(Integration.id)),
            "run_id": db.session.scalar(select(SyncRun.id)),
            "member_id": db.session.scalar(select(Member.id)),
            "project_id": db.session.scalar(select(Project.id)),
        }
    values = {"month": START.strftime("%Y-%m"), "day": START.isoformat(), "provider_name": "jobcan"}
    pages = {}
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        arguments = {name: ids.get(name) or values.get(name) for name in rule.arguments}
        assert all(arguments.values()), f"no value for {rule.rule}: add one to the sweep"
        path = rule.rule
        for name, value in arguments.items():
            path = re.sub(rf"<(?:[^:>]+:)?{name}>", quote(str(value)), path)
        response = client.get(path)
        assert response.status_code < 500, path
        pages[path] = response.get_data(as_text=True)
    assert len(pages) >= 20
    return pages


@pytest.fixture
def sim():
    TOKENS._tokens.clear()
    config = SimulatorConfig(employees=5, start=START, end=END, seed=11)
    with JobcanSimulator(config) as simulator:
        yield simulator


def test_the_secret_appears_in_no_page_log_output_export_or_stored_text(tmp_path, sim, caplog, admin_factory):
    caplog.set_level(logging.DEBUG)
    app = make_app(tmp_path)
    admin_factory(app)
    with app.app_context():
        for employee in sim.data.employees:
            if employee["employee_code"]:
                db.session.add(Member(code=employee["employee_code"], name=employee["last_name"]))
        db.session.add(Project(code="PRJ-A", name="案件A"))
        db.session.commit()
    runner = app.test_cli_runner()
    settings = [f"client_id={sim.client_id}", "client_secret=-", "environment=custom"]
    settings += [f"api_base_url={sim.url}", f"auth_base_url={sim.url}", "requests_per_second=50"]
    add = ["integrations", "add", "jobcan", "本社", *[arg for value in settings for arg in ("--set", value)]]
    outputs = [
        runner.invoke(args=[*add[:4], "誤り", *add[4:]], input="wrong-secret\n").output,  # refused, exit 1
        runner.invoke(args=add, input=sim.client_secret + "\n").output,
    ]
    period = ["--from", START.isoformat(), "--to", END.isoformat()]
    commands = [
        ["sync", "本社", *period, "--json"],
        ["integrations", "list", "--json"],
        ["integrations", "check", "本社"],
        ["runs", "list", "--json"],
        ["runs", "show", "1", "--json"],
        ["plugins", "--json"],
    ]
    commands += [["export", "csv", *period, "--format", kind] for kind in ("crowdlog", "daily", "monthly")]
    for args in commands:
        result = runner.invoke(args=args)
        assert result.exit_code == 0, (args, result.output)
        outputs.append(result.output)
    client = app.test_client()
    client.post("/login", data={"email": "admin@example.com", "password": "correct horse battery"})
    integration_id = db_value(app, select(Integration.id).where(Integration.name == "本社"))
    outputs.append(client.post(f"/admin/integrations/{integration_id}/check", follow_redirects=True).get_data(True))
    outputs += _pages(app, client).values()
    with app.app_context():
        outputs += [str(row) for row in db.session.execute(select(AuditLog.action, AuditLog.details)).all()]
        outputs += [str(row) for row in db.session.execute(select(SyncIssue.message)).all()]
        outputs += [str(row) for row in db.session.execute(select(SyncRun.error)).all()]
        outputs += [str(integration.settings) for integration in db.session.scalars(select(Integration))]
    outputs += [record.getMessage() for record in caplog.records]

    basic = base64.b64encode(f"{sim.client_id}:{sim.client_secret}".encode()).decode()
    everything = "\n".join(outputs)
    assert "本社" in everything and len(caplog.records) > 0
    for form in (sim.client_secret, quote(sim.client_secret), basic, "wrong-secret"):
        assert form not in everything


def db_value(app, query):
    with app.app_context():
        return db.session.scalar(query)


def test_a_payload_in_every_text_the_admin_types_is_shown_as_text(tmp_path, admin_factory):
    app = make_app(tmp_path)
    admin_factory(app)
    with app.app_context():
        db.session.add(Member(code="P1", name=PAYLOAD, department=PAYLOAD, position=PAYLOAD, employment_type=PAYLOAD))
        db.session.add(Project(code="PRJ-1", name=PAYLOAD))
        values = {"client_id": PAYLOAD, "client_secret": "s", "environment": "production"}
        save_integration(provider_named("jobcan"), PAYLOAD, values, auto_sync=True)
        run = SyncRun(
            integration_name=PAYLOAD,
            trigger=Trigger.MANUAL,
            period_start=START,
            period_end=END,
            status=RunStatus.FAILED,
        )
        run.error = PAYLOAD
        db.session.add(run)
        db.session.flush()
        issue = SyncIssue(run_id=run.id, kind=IssueKind.REJECTED, employee_code="P1", employee_name=PAYLOAD)
        issue.message = PAYLOAD
        db.session.add(issue)
        db.session.commit()
    client = app.test_client()
    client.post("/login", data={"email": "admin@example.com", "password": "correct horse battery"})
    pages = _pages(app, client)
    pages["/admin/members/?q=" + quote(PAYLOAD)] = client.get("/admin/members/?q=" + quote(PAYLOAD)).get_data(True)
    escaped = [path for path, page in pages.items() if "&lt;script&gt;alert(1)&lt;/script&gt;" in page]
    assert len(escaped) >= 6, escaped
    for path, page in pages.items():
        assert "<script>alert" not in page and "<img src=x" not in page, path
