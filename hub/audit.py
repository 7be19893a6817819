"""Writing the audit log. Secrets are never passed in: callers record that a secret changed, not its value."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import has_request_context
from flask_login import current_user

from hub.extensions import db
from hub.models import AuditLog

CLI_ACTOR = "cli"


def record(action: str, target: str | None = None, details: Mapping[str, Any] | None = None) -> AuditLog:
    """Add an audit entry to the session (committed with the change it describes)."""
    if has_request_context() and current_user.is_authenticated:
        entry = AuditLog(actor_id=current_user.id, actor=current_user.email)
    else:
        entry = AuditLog(actor=CLI_ACTOR)
    entry.action, entry.target, entry.details = action, target, dict(details or {})
    db.session.add(entry)
    return entry


def changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list]:
    """``{field: [old, new]}`` for the fields whose value differs, as JSON-ready strings."""
    return {
        key: [_plain(before.get(key)), _plain(after.get(key))] for key in after if before.get(key) != after.get(key)
    }


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
