"""Projects CSV import: every line checked first, then the projects upserted by code in one transaction, or none.

The header names プロジェクトコード and プロジェクト名 (or ``code`` and ``name``), and optionally 有効
(``active``), in any order. Codes and names follow the project form's rules. A blank 有効, or no 有効 column,
makes a new project active and leaves an existing one's flag as it is.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select

from hub import audit
from hub.cells import unneutralize
from hub.codes import checked_code
from hub.csvfiles import (
    ImportResult,
    cells_by_key,
    check_lines,
    decode_csv,
    header_keys,
    read_csv,
    refuse,
)
from hub.extensions import db
from hub.manhours.projects import CODE_MAX_LENGTH, NAME_MAX_LENGTH, add_project, update_project
from hub.models import Project

COLUMNS = {
    "code": ("プロジェクトコード", "project_code", "code"),
    "name": ("プロジェクト名", "project_name", "name"),
    "active": ("有効", "active"),
}
REQUIRED = ("code", "name")
#: 有効 as written after NFKC and case folding, yes and no in pairs (the order the page and errors list them).
ACTIVE_VALUES = {
    "1": True,
    "0": False,
    "true": True,
    "false": False,
    "yes": True,
    "no": False,
    "はい": True,
    "いいえ": False,
    "有効": True,
    "無効": False,
}


@dataclass(frozen=True)
class ProjectRow:
    """One checked line; ``active`` is None when its 有効 is blank or absent."""

    line: int
    code: str
    name: str
    active: bool | None


@dataclass
class ProjectsImported(ImportResult):
    def summary(self) -> str:
        return ngettext(
            "Imported %(num)d project: %(created)d added, %(updated)d updated, %(unchanged)d unchanged.",
            "Imported %(num)d projects: %(created)d added, %(updated)d updated, %(unchanged)d unchanged.",
            self.total,
            created=self.created,
            updated=self.updated,
            unchanged=self.unchanged,
        )


def import_projects(data: bytes, filename: str) -> ProjectsImported:
    """Check every line of the CSV ``data``, then upsert the projects by code; raise ImportFailed otherwise."""
    rows = parse_rows(decode_csv(data))
    result = _write(rows)
    audit.record("projects.import", target=filename, details=result.as_dict())
    db.session.commit()
    return result


def parse_rows(text: str) -> list[ProjectRow]:
    """The file's lines checked one by one; ImportFailed names every bad line."""
    header, lines = read_csv(text)
    keys = header_keys(header, COLUMNS, REQUIRED)
    rows, errors = check_lines(
        lines,
        lambda line, cells: _read_row(line, keys, cells),
        key=lambda row: row.code,
        duplicate=lambda row, first: _("Project code %(code)s is already on line %(line)d.", code=row.code, line=first),
    )
    refuse(errors, None if rows else _("The file has a header but no projects."))
    return rows


def _read_row(line: int, keys: list[str], cells: list[str]) -> ProjectRow:
    raw = cells_by_key(keys, cells)
    code = _text(checked_code(unneutralize(raw["code"]), COLUMNS["code"][0]), "code", CODE_MAX_LENGTH)
    name = _text(raw["name"], "name", NAME_MAX_LENGTH)
    return ProjectRow(line, code, name, _active(raw.get("active", "")))


def _text(value: str, key: str, max_length: int) -> str:
    if not value:
        raise ValueError(_("%(column)s is empty.", column=COLUMNS[key][0]))
    if len(value) > max_length:
        raise ValueError(_("%(column)s is longer than %(max)d characters.", column=COLUMNS[key][0], max=max_length))
    return value


def _active(text: str) -> bool | None:
    if not text:
        return None
    value = ACTIVE_VALUES.get(unicodedata.normalize("NFKC", text).casefold())
    if value is None:
        raise ValueError(
            _(
                "%(column)s “%(value)s” is not one of %(accepted)s.",
                column=COLUMNS["active"][0],
                value=text,
                accepted=accepted_active_values(),
            )
        )
    return value


def accepted_active_values() -> str:
    """The 有効 values as the import page and its errors show them: ``1/0, true/false, …``."""
    words = list(ACTIVE_VALUES)
    return ", ".join(f"{yes}/{no}" for yes, no in zip(words[::2], words[1::2], strict=True))


def _write(rows: list[ProjectRow]) -> ProjectsImported:
    existing = {project.code: project for project in db.session.scalars(select(Project))}
    result = ProjectsImported()
    for row in rows:
        project = existing.get(row.code)
        if project is None:
            add_project(row.code, row.name, True if row.active is None else row.active)
            result.created += 1
        elif update_project(project, name=row.name, active=project.active if row.active is None else row.active):
            result.updated += 1
        else:
            result.unchanged += 1
    return result
