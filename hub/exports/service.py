"""Running an export: the rows of the filter through an exporter into a binary stream, then the audit entry."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, BinaryIO

from sqlalchemy import select

from hub import audit
from hub.chunks import chunks
from hub.codes import normalize_code
from hub.exporters import Exporter, ExportError
from hub.exports.query import ExportFilter, ExportRows
from hub.extensions import db
from hub.models import Integration, Member
from hub.settings.service import company_timezone, current_settings

MAX_MEMBER_CODES = 1000
_CODE_SEPARATORS = re.compile(r"[\s,、，]+")


def run_export(exporter: Exporter, flt: ExportFilter, options: Mapping[str, Any], stream: BinaryIO) -> int:
    """Write the filter's days to ``stream`` with ``exporter`` and record the export; returns the row count.

    An :class:`ExportError` leaves the stream partly written and records nothing: callers write to a
    temporary file or spool and only hand it out when this returns.
    """
    rows = ExportRows(flt, threshold=current_settings().mismatch_threshold, timezone=company_timezone())
    try:
        exporter.write(rows, stream, options)
    except ExportError:
        db.session.rollback()
        raise
    finally:
        rows.close()
    filters = flt.as_dict()
    if flt.integration_id is not None:
        filters["integration"] = db.session.scalar(select(Integration.name).where(Integration.id == flt.integration_id))
    audit.record(
        "export",
        target=exporter.name,
        details={"exporter": exporter.name, "options": _plain(options), "filters": filters, "rows": rows.count},
    )
    db.session.commit()
    return rows.count


def _plain(options: Mapping[str, Any]) -> dict[str, Any]:
    """The options, JSON-ready (they come from the exporter's options form, which holds no secrets)."""
    return {
        key: value if value is None or isinstance(value, bool | int | float | str) else str(value)
        for key, value in options.items()
    }


def parse_member_codes(text: str | Iterable[str]) -> tuple[str, ...]:
    """Normalized codes, in order and once each, from text separated by spaces, commas or 、 (or a list)."""
    texts = [text] if isinstance(text, str) else list(text)
    parts = [part for item in texts for part in _CODE_SEPARATORS.split(item)]
    return tuple(dict.fromkeys(code for code in map(normalize_code, parts) if code))


def unknown_member_codes(codes: Iterable[str]) -> list[str]:
    """The codes no member has."""
    codes = list(codes)
    known: set[str] = set()
    for chunk in chunks(codes):
        known.update(db.session.scalars(select(Member.code).where(Member.code.in_(chunk))))
    return [code for code in codes if code not in known]
