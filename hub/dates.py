"""The dates the hub accepts: a plausible window for stored records and a narrower one for syncs.

A year such as 0001 or 9999 is a typo, not history; refusing it where it is typed keeps it out of the database
and out of date arithmetic that would overflow later.
"""

from __future__ import annotations

from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from wtforms.validators import ValidationError

#: Work dates, start and end dates in imports, forms and exports.
EARLIEST_RECORD, LATEST_RECORD = date(1900, 1, 1), date(2100, 12, 31)
#: No provider keeps attendance from before this; syncs reach at most a year past today.
EARLIEST_SYNC = date(2000, 1, 1)
SYNC_AHEAD = timedelta(days=366)


class DateOutOfRange(ValueError):
    """A date outside the window the hub accepts; the message names the window."""


def check_record_date(day: date) -> date:
    """``day`` when it lies in 1900-01-01 … 2100-12-31, else DateOutOfRange."""
    if not EARLIEST_RECORD <= day <= LATEST_RECORD:
        raise DateOutOfRange(
            _l(
                "%(day)s is outside %(earliest)s … %(latest)s.",
                day=day.isoformat(),
                earliest=EARLIEST_RECORD.isoformat(),
                latest=LATEST_RECORD.isoformat(),
            )
        )
    return day


def check_sync_date(day: date, today: date | None = None) -> date:
    """``day`` when a sync may cover it (2000-01-01 … a year after today), else DateOutOfRange."""
    latest = (today or date.today()) + SYNC_AHEAD
    if not EARLIEST_SYNC <= day <= latest:
        raise DateOutOfRange(
            _l(
                "A sync covers dates from %(earliest)s to %(latest)s; %(day)s is outside.",
                day=day.isoformat(),
                earliest=EARLIEST_SYNC.isoformat(),
                latest=latest.isoformat(),
            )
        )
    return day


def plausible_date(form, field) -> None:
    """WTForms validator: a typed date inside the record window."""
    if field.data is not None:
        try:
            check_record_date(field.data)
        except DateOutOfRange as exc:
            raise ValidationError(str(exc)) from None
