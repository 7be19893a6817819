"""Members CSV import: every row checked first, then all rows upserted in one transaction, or none.

The header uses the seed's member table names (社員コード, 名前, 部署, 役職, 雇用形態, 所属, 単価,
開始日, 終了日), plus 勤怠の優先連携 (an integration's name, see hub.sync.write.Precedence), or their English aliases,
in any order; only 社員コード and 名前 are required.
Columns present in the file set the value (an empty cell clears it); columns absent keep what the hub has.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select

from hub import audit
from hub.codes import checked_code
from hub.csvfiles import (
    ImportResult,
    RowError,
    cells_by_key,
    check_lines,
    decode_csv,
    header_keys,
    read_csv,
    refuse,
)
from hub.extensions import db
from hub.members.fields import date_cell, parse_unit_price
from hub.models import Integration, Member

COLUMNS = {
    "code": ("社員コード", "employee_code", "code"),
    "name": ("名前", "氏名", "name"),
    "department": ("部署", "department"),
    "position": ("役職", "position", "title"),
    "employment_type": ("雇用形態", "employment_type"),
    "affiliation": ("所属", "affiliation"),
    "unit_price": ("単価", "unit_price", "price"),
    "start_date": ("開始日", "start_date"),
    "end_date": ("終了日", "end_date"),
    "preferred_integration": ("勤怠の優先連携", "優先連携", "preferred_integration"),
}
REQUIRED = ("code", "name")
MAX_LENGTHS = {
    "code": 64,
    "name": 200,
    "department": 200,
    "position": 200,
    "employment_type": 100,
    "affiliation": 200,
    "preferred_integration": 100,
}
MAX_UNIT_PRICE = 1_000_000_000


@dataclass
class MembersImported(ImportResult):
    codes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return ngettext(
            "Imported %(num)d member: %(created)d added, %(updated)d updated, %(unchanged)d unchanged.",
            "Imported %(num)d members: %(created)d added, %(updated)d updated, %(unchanged)d unchanged.",
            self.total,
            created=self.created,
            updated=self.updated,
            unchanged=self.unchanged,
        )


def import_members(data: bytes, filename: str) -> MembersImported:
    """Check every row of the CSV ``data``, then upsert all members by code; raise ImportFailed otherwise."""
    rows = parse_rows(decode_csv(data))
    existing = {member.code: member for member in db.session.scalars(select(Member))}
    _check_dates_against_existing(rows, existing)
    _resolve_integrations(rows)
    result = MembersImported()
    for values in rows.values():
        member = existing.get(values["code"])
        if member is None:
            db.session.add(Member(**values))
            result.created += 1
        elif any(getattr(member, key) != value for key, value in values.items()):
            for key, value in values.items():
                setattr(member, key, value)
            result.updated += 1
        else:
            result.unchanged += 1
        result.codes.append(values["code"])
    audit.record(
        "members.import",
        target=filename,
        details=result.as_dict(),
    )
    db.session.commit()
    return result


def _check_dates_against_existing(rows: dict[int, dict[str, Any]], existing: dict[str, Member]) -> None:
    errors = []
    for line, values in rows.items():
        member = existing.get(values["code"])
        start = values.get("start_date", member.start_date if member else None)
        end = values.get("end_date", member.end_date if member else None)
        if start and end and end < start:
            errors.append(
                RowError(
                    line,
                    _(
                        "%(end_column)s %(end)s is before %(start_column)s %(start)s.",
                        end_column=COLUMNS["end_date"][0],
                        end=end,
                        start_column=COLUMNS["start_date"][0],
                        start=start,
                    ),
                )
            )
    refuse(errors)


def _resolve_integrations(rows: dict[int, dict[str, Any]]) -> None:
    """勤怠の優先連携 names → ``preferred_integration_id`` (empty: none); a name no integration has is an error."""
    ids = dict(db.session.execute(select(Integration.name, Integration.id)).all())
    errors = []
    for line, values in rows.items():
        if "preferred_integration" not in values:
            continue
        name = values.pop("preferred_integration")
        if name is not None and name not in ids:
            errors.append(
                RowError(
                    line,
                    _(
                        "%(column)s: no integration is named %(name)s (integrations: %(names)s).",
                        column=COLUMNS["preferred_integration"][0],
                        name=name,
                        names=", ".join(sorted(ids)) or "—",
                    ),
                )
            )
            continue
        values["preferred_integration_id"] = ids.get(name)
    refuse(errors)


def parse_rows(text: str) -> dict[int, dict[str, Any]]:
    """Validated member values by the line their row starts on; ImportFailed names every bad line."""
    header, lines = read_csv(text)
    keys = header_keys(header, COLUMNS, REQUIRED)
    rows, errors = check_lines(
        lines,
        lambda line, cells: (line, _read_row(keys, cells)),
        key=lambda row: row[1]["code"],
        duplicate=lambda row, first: _(
            "Employee code %(code)s is already on line %(line)d.", code=row[1]["code"], line=first
        ),
    )
    refuse(errors, None if rows else _("The file has a header but no members."))
    return dict(rows)


def _read_row(keys: list[str], cells: list[str]) -> dict[str, Any]:
    raw = cells_by_key(keys, cells)
    values: dict[str, Any] = {}
    for key, text in raw.items():
        label = COLUMNS[key][0]
        if key in REQUIRED and not text:
            raise ValueError(_("%(column)s is empty.", column=label))
        if key == "code":
            text = checked_code(text, label)
        if key in MAX_LENGTHS and len(text) > MAX_LENGTHS[key]:
            raise ValueError(_("%(column)s is longer than %(max)d characters.", column=label, max=MAX_LENGTHS[key]))
        if key == "unit_price":
            values["unit_price"], values["price_unit"] = _price(text, label)
        elif key in ("start_date", "end_date"):
            values[key] = _date(text, label)
        else:
            values[key] = text or None
    return values


def _price(text: str, label: str):
    if not text:
        return None, None
    try:
        amount, unit = parse_unit_price(text)
        if amount > MAX_UNIT_PRICE:
            raise ValueError(text)
        return amount, unit
    except ValueError:
        raise ValueError(
            _(
                "%(column)s “%(value)s” is not an amount such as %(example)s.",
                column=label,
                value=text,
                example="月額 ¥300,000 / 時給 1500",
            )
        ) from None


def _date(text: str, label: str) -> date | None:
    if not text:
        return None
    return date_cell(text, label)
