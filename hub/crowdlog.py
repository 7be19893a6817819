"""The crowdlog attendance CSV notation, defined once: what the export writes and the import reads.

CrowdLog's attendance import takes exactly ``社員コード,年月日,出社,退社,休憩詳細,日報,ステータス,休暇``:
年月日 ``YYYY-MM-DD``; 出社/退社 ``HH:MM`` with hours past 24 after midnight (``26:10``), empty when missing;
休憩詳細 the breaks in time order as ``HH:MM-HH:MM`` joined by ``/``; 日報 empty; ステータス ``0``; 休暇
empty, 全休, 午前休 or 午後休, then each hourly leave as ``時間休(HH:MM-HH:MM)``, joined by ``/``. The code
cell is neutralized as every exported text is (:mod:`hub.cells`). Writing is a pure function of the day, so an
export imported into another hub and exported again is byte-identical.

The ``daily`` export uses the same time and leave notation for its columns of the same name. Plugins may
import this module.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import date

from flask_babel import gettext as _

from hub.cells import text_cell
from hub.forms import format_hhmm
from hub.records import HourlyLeave, Interval, LeaveKind

HEADER = ("社員コード", "年月日", "出社", "退社", "休憩詳細", "日報", "ステータス", "休暇")
#: The keys the import reads the columns by, in header order.
KEYS = ("code", "date", "clock_in", "clock_out", "breaks", "report", "status", "leave")
LABELS = dict(zip(KEYS, HEADER, strict=True))
LEAVE_WORDS = {LeaveKind.NONE: "", LeaveKind.FULL: "全休", LeaveKind.AM: "午前休", LeaveKind.PM: "午後休"}
HOURLY_LEAVE = "時間休"
#: A work date's clock-out can be the next morning (26:10), never the day after: times stay under 48:00.
MAX_CLOCK_MINUTES = 48 * 60

_WORDS_TO_KINDS = {word: kind for kind, word in LEAVE_WORDS.items() if word}
_CLOCK = re.compile(r"^(\d{1,2}):([0-5]\d)$")
_HOURLY = re.compile(rf"^{HOURLY_LEAVE}\((.*)\)$")

# --- writing --------------------------------------------------------------------------------------------

_CLOCK_TEXTS = tuple(format_hhmm(minutes) for minutes in range(MAX_CLOCK_MINUTES))  # looked up per cell
_INTERVAL_CACHE_SIZE = 4096
_interval_texts: dict[tuple[tuple[int, int], ...], str] = {}


def clock_text(minutes: int | None) -> str:
    """``HH:MM``, hours past 24 after midnight (``26:10``); empty when missing."""
    if minutes is None:
        return ""
    if 0 <= minutes < MAX_CLOCK_MINUTES:
        return _CLOCK_TEXTS[minutes]
    return format_hhmm(minutes)


def intervals_text(intervals: tuple[tuple[int, int], ...]) -> str:
    """``HH:MM-HH:MM`` per interval, joined by ``/``: 休憩詳細. Few patterns recur, so they are cached."""
    if not intervals:
        return ""
    text = _interval_texts.get(intervals)
    if text is None:
        if len(_interval_texts) >= _INTERVAL_CACHE_SIZE:
            _interval_texts.clear()  # bounded whatever the data
        text = _interval_texts[intervals] = "/".join(
            f"{clock_text(start)}-{clock_text(end)}" for start, end in intervals
        )
    return text


def leave_text(leave: LeaveKind, hourly_leaves: tuple[tuple[int, int], ...]) -> str:
    """休暇: empty, 全休, 午前休 or 午後休, then each 時間休(HH:MM-HH:MM), joined by ``/``."""
    text = LEAVE_WORDS[leave]
    if not hourly_leaves:
        return text
    hourly = "/".join(f"{HOURLY_LEAVE}({clock_text(start)}-{clock_text(end)})" for start, end in hourly_leaves)
    return f"{text}/{hourly}" if text else hourly


def row_cells(
    code: str,
    work_date: date,
    clock_in: int | None,
    clock_out: int | None,
    breaks: tuple[tuple[int, int], ...],
    leave: LeaveKind,
    hourly_leaves: tuple[tuple[int, int], ...],
) -> list:
    """One crowdlog row: 社員コード,年月日,出社,退社,休憩詳細,日報 (empty),ステータス (0),休暇."""
    return [
        text_cell(code),
        work_date.isoformat(),
        clock_text(clock_in),
        clock_text(clock_out),
        intervals_text(breaks),
        "",
        0,
        leave_text(leave, hourly_leaves),
    ]


# --- reading --------------------------------------------------------------------------------------------


def header_matches(header: Iterable[str]) -> bool:
    """Whether a file's header row is the crowdlog header (全角 letters and stray spaces forgiven)."""
    return tuple(unicodedata.normalize("NFKC", cell).strip() for cell in header) == HEADER


def read_clock(key: str, text: str) -> int | None:
    """出社 or 退社 (``key`` ``clock_in``/``clock_out``) as minutes; ValueError naming the column otherwise."""
    if not text:
        return None
    try:
        return _clock(text)
    except ValueError:
        raise ValueError(
            _("%(column)s “%(value)s” is not a time such as 09:00 or 26:10.", column=LABELS[key], value=text)
        ) from None


def read_breaks(text: str) -> tuple[Interval, ...]:
    """休憩詳細 as intervals in time order; ValueError naming the column otherwise."""
    if not text:
        return ()
    try:
        intervals = [Interval(*_interval(part)) for part in text.split("/")]
    except ValueError:
        raise ValueError(
            _(
                "%(column)s “%(value)s” is not a list of breaks such as %(example)s.",
                column=LABELS["breaks"],
                value=text,
                example="12:00-13:00/15:00-15:15",
            )
        ) from None
    return tuple(sorted(intervals, key=lambda interval: interval.start))


def read_leave(text: str) -> tuple[LeaveKind, tuple[HourlyLeave, ...]]:
    """休暇 as the leave kind and the hourly leaves in time order; ValueError naming the column otherwise."""
    if not text:
        return LeaveKind.NONE, ()
    kind = LeaveKind.NONE
    hourly = []
    for part in unicodedata.normalize("NFKC", text).split("/"):
        part = part.strip()
        if part in _WORDS_TO_KINDS:
            if kind is not LeaveKind.NONE:
                raise ValueError(
                    _(
                        "%(column)s “%(value)s” has more than one of %(kinds)s.",
                        column=LABELS["leave"],
                        value=text,
                        kinds=", ".join(_WORDS_TO_KINDS),
                    )
                )
            kind = _WORDS_TO_KINDS[part]
            continue
        match = _HOURLY.match(part)
        try:
            if not match:
                raise ValueError(part)
            start, end = _interval(match.group(1))
        except ValueError:
            raise ValueError(
                _(
                    "%(column)s “%(value)s”: “%(part)s” is not one of %(kinds)s or %(hourly)s.",
                    column=LABELS["leave"],
                    value=text,
                    part=part,
                    kinds=", ".join(_WORDS_TO_KINDS),
                    hourly=f"{HOURLY_LEAVE}(HH:MM-HH:MM)",
                )
            ) from None
        if end <= start:
            raise ValueError(
                _("%(column)s “%(value)s”: an hourly leave ends before it starts.", column=LABELS["leave"], value=text)
            )
        hourly.append(HourlyLeave(start, end))
    return kind, tuple(sorted(hourly, key=lambda leave: leave.start))


def work_minutes(clock_in: int | None, clock_out: int | None, away: Iterable[Interval | HourlyLeave]) -> int | None:
    """The work time a crowdlog row implies (it has no column for it): clock-out − clock-in, less the time within
    it spent on breaks or hourly leave; None without both clocks."""
    if clock_in is None or clock_out is None:
        return None
    covered = 0
    reach = clock_in
    for start, end in sorted((max(item.start, clock_in), min(item.end, clock_out)) for item in away):
        start = max(start, reach)
        if end > start:
            covered += end - start
            reach = end
    return max(clock_out - clock_in - covered, 0)


def _clock(text: str) -> int:
    """Minutes from the work date's midnight for ``HH:MM``, hours past 24 after midnight; ValueError otherwise."""
    match = _CLOCK.match(unicodedata.normalize("NFKC", text).strip())
    if not match or int(match.group(1)) * 60 >= MAX_CLOCK_MINUTES:
        raise ValueError(text)
    return int(match.group(1)) * 60 + int(match.group(2))


def _interval(text: str) -> tuple[int, int]:
    start, separator, end = text.partition("-")
    if not separator:
        raise ValueError(text)
    return _clock(start), _clock(end)
