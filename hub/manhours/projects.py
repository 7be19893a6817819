"""Projects (管理 › プロジェクト): how long a code and a name may be, and adding or changing a project with its
audit entry. The add/edit form and the CSV import both go through here, so a project is checked and audited
the same way however it comes in.
"""

from __future__ import annotations

from typing import Any

from hub import audit
from hub.extensions import db
from hub.models import Project

# The columns hold the limits; the form and the import read them from there rather than restate them.
CODE_MAX_LENGTH: int = Project.__table__.c.code.type.length
NAME_MAX_LENGTH: int = Project.__table__.c.name.type.length


def add_project(code: str, name: str, active: bool) -> Project:
    """Add a project to the session, audited as ``project.create``."""
    project = Project(code=code, name=name, active=active)
    db.session.add(project)
    audit.record("project.create", target=code, details={"name": name, "active": active})
    return project


def update_project(project: Project, **values: Any) -> bool:
    """Set the given fields, audited as ``project.update`` with what changed; False (and no write) if nothing did."""
    diff = audit.changes({key: getattr(project, key) for key in values}, values)
    if not diff:
        return False
    for key in diff:
        setattr(project, key, values[key])
    audit.record("project.update", target=project.code, details=diff)
    return True
