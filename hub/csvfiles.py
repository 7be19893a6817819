"""What every CSV import of the hub shares: decoding, header names, rows with their line numbers, errors, the
check of every line and the result.

An import checks every line first and reports each bad one by its line number (line 1 is the header; a
quoted cell spanning lines counts them all), then writes everything in one transaction, or nothing. An
importer is a function ``(data, filename) → ImportResult`` that raises ImportFailed; :mod:`hub.importing` runs
it from a page or a command.
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

T = TypeVar("T")

MAX_ERRORS = 50
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


def decode_csv(data: bytes) -> str:
    """UTF-8 (with or without BOM) or CP932 (Shift_JIS as Excel saves it)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp932")
    except UnicodeDecodeError as exc:
        raise ImportFailed([RowError(1, _("The file is neither UTF-8 nor Shift_JIS (CP932)."))]) from exc


def source_name(filename: str) -> str:
    """The file's own name, without any folder a browser or a shell put before it."""
    return ntpath.basename(filename).strip()[:MAX_FILE_NAME] or "upload.csv"


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


def header_keys(header: Sequence[str], columns: Mapping[str, Sequence[str]], required: Sequence[str]) -> list[str]:
    """The key of each header cell, by the names of ``columns`` (key → accepted names, the first shown).

    Names compare after NFKC, trimming and case folding, with spaces read as ``_``. An unknown or repeated
    column, or a missing required one, raises ImportFailed naming the accepted columns.
    """
    aliases = {name.lower(): key for key, names in columns.items() for name in names}
    keys: list[str] = []
    problems: list[str] = []
    for cell in header:
        name = unicodedata.normalize("NFKC", cell).strip()
        key = aliases.get(name.lower().replace(" ", "_"))
        if key is None:
            problems.append(_("The column “%(name)s” is unknown.", name=name))
        elif key in keys:
            problems.append(_("The column “%(name)s” appears twice.", name=name))
        keys.append(key or "")
    for key in required:
        if key not in keys:
            problems.append(_("The column “%(name)s” is missing.", name=columns[key][0]))
    if problems:
        accepted = ", ".join(names[0] for names in columns.values())
        problems.append(_("Accepted columns: %(accepted)s.", accepted=accepted))
        raise ImportFailed([RowError(1, problem) for problem in problems])
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
) -> tuple[list[T], list[RowError]]:
    """Every line read by ``read(line, cells)``, and the errors: a ValueError it raises is that line's error; a
    row whose ``key`` an earlier line had is the error ``duplicate(row, earlier line)``.

    Stops after MAX_ERRORS errors; a CSV syntax error ends the file with an error on its line.
    """
    rows: list[T] = []
    errors: list[RowError] = []
    seen: dict[Hashable, int] = {}
    try:
        for line, cells in lines:
            try:
                row = read(line, cells)
            except ValueError as exc:
                errors.append(RowError(line, str(exc)))
            else:
                row_key = key(row)
                if row_key in seen:
                    errors.append(RowError(line, duplicate(row, seen[row_key])))
                else:
                    seen[row_key] = line
                    rows.append(row)
            if len(errors) >= MAX_ERRORS:
                break
    except ImportFailed as broken:
        errors.extend(broken.errors)
    return rows, errors


def refuse(errors: list[RowError], no_data: str | None = None) -> None:
    """Raise ImportFailed with the errors by line (at most MAX_ERRORS); with ``no_data``, the file had no data
    line and that is the error."""
    if errors:
        raise ImportFailed(sorted(errors, key=lambda error: error.line)[:MAX_ERRORS])
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
