"""What every CSV import of the hub shares: decoding, header names, rows with their line numbers, errors, the
check of every line and the result.

An import checks every line first and reports each bad one by its line number (line 1 is the header; a
quoted cell spanning lines counts them all), then writes everything in one transaction, or nothing. An
importer is a function ``(data, filename) → ImportResult`` that raises ImportFailed; :mod:`hub.importing` runs
it from a page or a command.

A file is refused, too, for a cell with a control character (a tab and the line breaks of a quoted cell
excepted; :mod:`hub.characters`) and for lines in another encoding than the rest (:func:`decode_csv`). At most
MAX_ERRORS errors are listed, then how many more there are.

Over 300 lines: the encoding decision, the capped error list and the line checks are the one reading every
import shares; split apart, each would need the others' types.
"""

from __future__ import annotations

import csv
import io
import ntpath
import unicodedata
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from flask_babel import gettext as _
from flask_babel import ngettext

from hub.characters import LINE_BREAKS_AND_TABS, code_point, control_character, without_control_characters

T = TypeVar("T")

#: The errors a refused file lists; past them, one more line says how many were left out.
MAX_ERRORS = 50
_UTF8_BOM = b"\xef\xbb\xbf"
#: The longest file name an import keeps (AttendanceDay.source_file, the audit log's target).
MAX_FILE_NAME = 255


@dataclass(frozen=True)
class RowError:
    """A problem on one line of the file (line 1 is the header)."""

    line: int
    message: str

    def __str__(self) -> str:
        return _("Line %(line)d: %(message)s", line=self.line, message=self.message)


class ImportFailed(Exception):
    """The file was refused; nothing was imported."""

    def __init__(self, errors: list[RowError]):
        super().__init__("; ".join(str(error) for error in errors))
        self.errors = errors


class RowErrors:
    """The errors a check finds: the first MAX_ERRORS kept, later ones only counted (a file may hold a million
    bad cells, and formatting each message would take longer than the rest of the import)."""

    def __init__(self, errors: Iterable[RowError] = ()):
        self.kept: list[RowError] = []
        self.more = 0
        self.first_more_line = 0
        self.stopped_at = 0  # the line of an error past the kept ones, where a check read no further
        self.extend(errors)

    @property
    def full(self) -> bool:
        """Whether a further error is only counted (so its message need not be made)."""
        return len(self.kept) >= MAX_ERRORS

    def count(self, line: int) -> None:
        """One more error on ``line``, past the kept ones."""
        self.more += 1
        self.first_more_line = self.first_more_line or line

    def append(self, error: RowError) -> None:
        if self.full:
            self.count(error.line)
        else:
            self.kept.append(error)

    def extend(self, errors: Iterable[RowError]) -> None:
        for error in errors:
            self.append(error)

    def __bool__(self) -> bool:
        return bool(self.kept)

    def listed(self) -> list[RowError]:
        """The kept errors by line, then how many more there are, or where the check stopped."""
        listed = sorted(self.kept, key=lambda error: error.line)
        if self.more:
            more = ngettext("…and %(num)d more error.", "…and %(num)d more errors.", self.more)
            listed.append(RowError(self.first_more_line, more))
        if self.stopped_at:
            stopped = _("More errors from this line on; checking stopped after %(count)d errors.", count=MAX_ERRORS)
            listed.append(RowError(self.stopped_at, stopped))
        return listed


def decode_csv(data: bytes) -> str:
    """UTF-8 (with or without BOM) or CP932 (Shift_JIS as Excel saves it), decided for the whole file.

    A file that decodes as UTF-8 is UTF-8. Otherwise each line with non-ASCII bytes is evidence: a line that is
    not UTF-8 speaks for CP932; a line that is UTF-8 with a character of three bytes or more (kana, kanji) speaks
    for UTF-8, since CP932 text almost never forms one (a line of two-byte UTF-8 only, such as the half-width
    katakana ﾃｱ in CP932, speaks for neither). A file with both kinds of line is refused, naming the lines of the
    smaller kind (a stray line pasted from another file, which either reading would turn into mojibake); the
    UTF-8 BOM, or a tie, makes it a UTF-8 file. A file with CP932 lines only must decode as CP932 as a whole.
    """
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    utf8_lines: list[int] = []
    cp932_lines: list[int] = []
    for line, raw in enumerate(data.removeprefix(_UTF8_BOM).splitlines(), start=1):
        if raw.isascii():
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            cp932_lines.append(line)
        else:
            if any(ord(character) >= 0x800 for character in text):
                utf8_lines.append(line)
    if data.startswith(_UTF8_BOM) or (utf8_lines and len(utf8_lines) >= len(cp932_lines)):
        stray = cp932_lines
        message = _("This line is not UTF-8, unlike the rest of the file. Save the whole file as UTF-8.")
    else:
        stray = utf8_lines
        message = _(
            "This line is UTF-8, unlike the rest of the file (Shift_JIS). Save the whole file as UTF-8 "
            "(in Excel: CSV UTF-8)."
        )
    if stray:
        errors = RowErrors()
        for line in stray:
            errors.append(RowError(line, message))
        raise ImportFailed(errors.listed())
    try:
        return data.decode("cp932")
    except UnicodeDecodeError as exc:
        raise ImportFailed([RowError(1, _("The file is neither UTF-8 nor Shift_JIS (CP932)."))]) from exc


def source_name(filename: str) -> str:
    """The file's own name, without any folder a browser or a shell put before it, nor control characters
    (the name is a label in the history and on imported days; a NUL cannot even be stored on PostgreSQL)."""
    name = without_control_characters(ntpath.basename(filename))
    return name.strip()[:MAX_FILE_NAME] or "upload.csv"


def read_csv(text: str) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """The header row and an iterator of ``(line, cells)`` for the other non-blank rows.

    ``line`` is where the row starts. An empty file, or a CSV syntax error, raises ImportFailed (from the
    iterator for an error past the header, so the caller can keep the errors it found before it).
    """
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise ImportFailed([RowError(1, _("The file is empty."))]) from None
    except csv.Error as exc:
        raise ImportFailed([RowError(1, _("Not a CSV file: %(error)s", error=exc))]) from exc
    problem = control_problem(header)
    if problem:
        raise ImportFailed([RowError(1, problem)])

    def rows() -> Iterator[tuple[int, list[str]]]:
        line = reader.line_num
        try:
            for cells in reader:
                first_line, line = line + 1, reader.line_num
                if any(cell.strip() for cell in cells):
                    yield first_line, cells
        except csv.Error as exc:
            raise ImportFailed([RowError(line + 1, _("Not a CSV file: %(error)s", error=exc))]) from exc

    return header, rows()


def control_problem(cells: Sequence[str]) -> str | None:
    """Why a row cannot be read when a cell holds a control character (a tab or a quoted line break may)."""
    for column, cell in enumerate(cells, start=1):
        found = control_character(cell, LINE_BREAKS_AND_TABS)
        if found is not None:
            return _(
                "The cell in column %(column)d contains the control character %(character)s; remove it.",
                column=column,
                character=code_point(found),
            )
    return None


def header_keys(header: Sequence[str], columns: Mapping[str, Sequence[str]], required: Sequence[str]) -> list[str]:
    """The key of each header cell, by the names of ``columns`` (key → accepted names, the first shown).

    Names compare after NFKC, trimming and case folding, with spaces read as ``_``. An unknown or repeated
    column, or a missing required one, raises ImportFailed naming the accepted columns (at most MAX_ERRORS
    problems are listed).
    """
    aliases = {name.lower(): key for key, names in columns.items() for name in names}
    keys: list[str] = []
    seen: set[str] = set()
    problems = RowErrors()
    for cell in header:
        name = unicodedata.normalize("NFKC", cell).strip()
        key = aliases.get(name.lower().replace(" ", "_"))
        if (key is None or key in seen) and problems.full:
            problems.count(1)
        elif key is None:
            problems.append(RowError(1, _("The column “%(name)s” is unknown.", name=name)))
        elif key in seen:
            problems.append(RowError(1, _("The column “%(name)s” appears twice.", name=name)))
        keys.append(key or "")
        seen.add(key or "")
    for key in required:
        if key not in seen:
            problems.append(RowError(1, _("The column “%(name)s” is missing.", name=columns[key][0])))
    if problems:
        accepted = ", ".join(names[0] for names in columns.values())
        raise ImportFailed([*problems.listed(), RowError(1, _("Accepted columns: %(accepted)s.", accepted=accepted))])
    return keys


def cells_by_key(keys: Sequence[str], cells: Sequence[str]) -> dict[str, str]:
    """The row's trimmed cells by column key; ValueError when it has more or fewer cells than the header."""
    if len(cells) != len(keys):
        raise ValueError(
            _("The row has %(count)d cells; the header has %(columns)d.", count=len(cells), columns=len(keys))
        )
    return {key: cell.strip() for key, cell in zip(keys, cells, strict=True)}


# --- reading every line first -------------------------------------------------------------------------


def check_lines(
    lines: Iterable[tuple[int, list[str]]],
    read: Callable[[int, list[str]], T],
    key: Callable[[T], Hashable],
    duplicate: Callable[[T, int], str],
) -> tuple[list[T], RowErrors]:
    """Every line read by ``read(line, cells)``, and the errors: a cell with a control character, or a
    ValueError ``read`` raises, is that line's error; a row whose ``key`` an earlier line had is the error
    ``duplicate(row, earlier line)``.

    Stops at the first error past MAX_ERRORS, noting its line (reading on would cost as much as a good file,
    for errors nobody is shown); a CSV syntax error ends the file with an error on its line.
    """
    rows: list[T] = []
    errors = RowErrors()
    seen: dict[Hashable, int] = {}
    try:
        for line, cells in lines:
            try:
                problem = control_problem(cells)
                if problem:
                    raise ValueError(problem)
                row = read(line, cells)
                row_key = key(row)
                if row_key in seen:
                    raise ValueError(duplicate(row, seen[row_key]))
            except ValueError as exc:
                if errors.full:
                    errors.stopped_at = line
                    break
                errors.append(RowError(line, str(exc)))
            else:
                seen[row_key] = line
                rows.append(row)
    except ImportFailed as broken:
        errors.extend(broken.errors)
    return rows, errors


def refuse(errors: RowErrors | list[RowError], no_data: str | None = None) -> None:
    """Raise ImportFailed with the errors by line (at most MAX_ERRORS, then how many more); with ``no_data``,
    the file had no data line and that is the error."""
    found = errors if isinstance(errors, RowErrors) else RowErrors(errors)
    if found:
        raise ImportFailed(found.listed())
    if no_data is not None:
        raise ImportFailed([RowError(2, no_data)])


@dataclass
class ImportResult:
    """What an import changed; each importer's subclass says it in a sentence (:meth:`summary`)."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged

    def as_dict(self) -> dict[str, int]:
        """The counts, for the audit log."""
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged}

    def summary(self) -> str:
        """What the page flashes and the command prints, in the admin's language."""
        raise NotImplementedError


Importer = Callable[[bytes, str], ImportResult]
