"""Parsing member values as people type them in forms and CSV files."""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from flask_babel import gettext as _

from hub.dates import DateOutOfRange, check_record_date
from hub.models import PriceUnit

_PRICE = re.compile(r"^(?P<unit>月額|月給|時給|時間単価|monthly|hourly)?\s*[¥\\]?\s*(?P<amount>\d[\d,]*)\s*(円)?$")
_UNITS = {
    "月額": PriceUnit.MONTHLY,
    "月給": PriceUnit.MONTHLY,
    "monthly": PriceUnit.MONTHLY,
    "時給": PriceUnit.HOURLY,
    "時間単価": PriceUnit.HOURLY,
    "hourly": PriceUnit.HOURLY,
}
_DATE = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})$")


def parse_unit_price(text: str) -> tuple[int, PriceUnit]:
    """``"月額 ¥1,000,000"`` → (1000000, monthly); ``"時給 1500"`` → hourly; a bare number is monthly."""
    normalized = unicodedata.normalize("NFKC", text).strip().lower()
    match = _PRICE.match(normalized)
    if not match:
        raise ValueError(text)
    unit = _UNITS.get(match.group("unit") or "monthly", PriceUnit.MONTHLY)
    return int(match.group("amount").replace(",", "")), unit


def format_unit_price(amount: int | None, unit: PriceUnit | None) -> str:
    if amount is None:
        return ""
    prefix = "時給" if unit is PriceUnit.HOURLY else "月額"
    return f"{prefix} ¥{amount:,}"


def parse_date(text: str) -> date:
    """``YYYY-MM-DD`` or ``YYYY/MM/DD`` (as Excel writes it), full-width digits allowed."""
    match = _DATE.match(unicodedata.normalize("NFKC", text).strip())
    if not match:
        raise ValueError(text)
    return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))


def date_cell(text: str, column: str) -> date:
    """A CSV cell's date inside the record window; a ValueError that names the column and the value."""
    try:
        day = parse_date(text)
    except ValueError:
        raise ValueError(
            _("%(column)s “%(value)s” is not a date such as 2025-04-01.", column=column, value=text)
        ) from None
    try:
        return check_record_date(day)
    except DateOutOfRange as exc:
        raise ValueError(_("%(field)s: %(reason)s", field=column, reason=exc)) from None
