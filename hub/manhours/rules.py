"""The rules every way of booking man-hours shares: the input unit, and the duration syntax."""

from __future__ import annotations

import re

from flask_babel import gettext as _

MAX_DAY_MINUTES = 24 * 60
_DURATION = re.compile(r"^(?:(\d{1,2}):([0-5]\d)|(\d{1,4}))$")


class EntryError(ValueError):
    """A man-hours value that cannot be booked; the message says why."""


def parse_duration(text: str) -> int:
    """Minutes for ``"H:MM"`` / ``"HH:MM"`` or a plain number of minutes; EntryError otherwise."""
    match = _DURATION.match(text.strip())
    if not match:
        raise EntryError(_("Enter minutes (90) or hours and minutes (1:30)."))
    if match.group(3) is not None:
        return int(match.group(3))
    return int(match.group(1)) * 60 + int(match.group(2))


def check_minutes(minutes: int, unit: int) -> None:
    """Refuse negative values, more than a day, and values that are not a multiple of the input unit."""
    if minutes < 0:
        raise EntryError(_("Man-hours cannot be negative."))
    if minutes > MAX_DAY_MINUTES:
        raise EntryError(_("Man-hours cannot exceed 24 hours a day."))
    if minutes % unit:
        raise EntryError(_("Enter a multiple of the input unit (%(unit)d minutes).", unit=unit))
