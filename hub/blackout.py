"""Blackout windows: the hours of every day a provider refuses API calls (KING OF TIME: 08:30–10:00 and
17:30–18:30 JST).

A provider declares them (:meth:`hub.providers.Provider.blackout_windows`) on its own clock, whatever the
company's time zone. The core then refuses to start a sync inside one, moves the auto sync past it and stops
a run that reaches one. :func:`window_at` and :func:`next_allowed` are the one reading of the windows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, tzinfo

__all__ = ["BlackoutWindow", "next_allowed", "window_at"]


@dataclass(frozen=True)
class BlackoutWindow:
    """Every day from ``start`` up to (not including) ``end``, on the clock of ``tz``.

    ``start`` and ``end`` are naive times read in ``tz`` (e.g. ``ZoneInfo("Asia/Tokyo")``), ``start`` before
    ``end``: a window across midnight is declared as two windows.
    """

    start: time
    end: time
    tz: tzinfo

    def __post_init__(self) -> None:  # a wrong window would refuse syncs at the wrong hours: fail when declared
        if not isinstance(self.tz, tzinfo):
            raise TypeError(f"BlackoutWindow.tz must be a tzinfo such as ZoneInfo('Asia/Tokyo'), not {self.tz!r}")
        for value in (self.start, self.end):
            if not isinstance(value, time) or value.tzinfo is not None:
                raise TypeError(f"BlackoutWindow start and end are naive datetime.time values, not {value!r}")
        if not self.start < self.end:
            raise ValueError(
                f"BlackoutWindow {self.start:%H:%M}–{self.end:%H:%M}: start must be before end "
                "(declare a window across midnight as two)"
            )

    def contains(self, moment: datetime) -> bool:
        """Whether ``moment`` (time-zone aware) is inside the window."""
        return self.start <= _local(moment, self.tz).time() < self.end

    def ends_after(self, moment: datetime) -> datetime:
        """The end of the window on ``moment``'s day in ``tz``."""
        return datetime.combine(_local(moment, self.tz).date(), self.end, tzinfo=self.tz)

    def zone_name(self, moment: datetime) -> str:
        """The zone's abbreviation at ``moment`` (``JST``), to show beside the window's times."""
        return _local(moment, self.tz).tzname() or str(self.tz)


def window_at(windows: Iterable[BlackoutWindow], now: datetime) -> BlackoutWindow | None:
    """The first of ``windows`` that ``now`` (time-zone aware) is inside, or None."""
    return next((window for window in windows if window.contains(now)), None)


def next_allowed(windows: Iterable[BlackoutWindow], now: datetime) -> datetime:
    """``now`` when it is outside every window, else the first moment after it outside them all (a window
    may end where another begins)."""
    windows = tuple(windows)
    moment = now
    for _ in range(len(windows) + 1):  # each window can push the moment on once
        window = window_at(windows, moment)
        if window is None:
            return moment
        moment = window.ends_after(moment)
    return moment


def _local(moment: datetime, tz: tzinfo) -> datetime:
    if moment.tzinfo is None:  # a naive time would be read as the server's zone: a silent error of hours
        raise ValueError(f"a blackout window needs a time-zone aware moment, not {moment!r}")
    return moment.astimezone(tz)
