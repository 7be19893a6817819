"""The CSV exporter: one of the formats, in UTF-8 with BOM (Excel), UTF-8 or CP932, CRLF line ends."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, BinaryIO

from hub.exporters import ExportDay, Exporter, ExportError
from hub_plugins.csv_export.catalog import _, _l
from hub_plugins.csv_export.formats import CP932_MARKS, FORMATS, MARKS
from hub_plugins.csv_export.forms import CsvOptionsForm

#: option value → (Python codec, BOM written first, charset of the download)
ENCODINGS = {
    "utf-8-sig": ("utf-8", codecs.BOM_UTF8, "utf-8"),
    "utf-8": ("utf-8", b"", "utf-8"),
    "cp932": ("cp932", b"", "Windows-31J"),
}
DEFAULT_FORMAT, DEFAULT_ENCODING = "crowdlog", "utf-8-sig"


class CsvExporter(Exporter):
    name = "csv"
    label = "CSV"
    media_type = "text/csv"
    file_extension = "csv"
    options_form = CsvOptionsForm

    def write(self, rows: Iterable[ExportDay], stream: BinaryIO, options: Mapping[str, Any]) -> None:
        """Write the header and a line per row as the rows come; CRLF line ends in every encoding.

        Raises :class:`ExportError` naming the member and the character when the encoding cannot hold a text
        (CP932 has no 𠮷 or emoji): never a silent ``?``.
        """
        csv_format = FORMATS.get(options.get("format") or DEFAULT_FORMAT)
        if csv_format is None:
            raise ExportError(_("Unknown CSV format: %(name)s.", name=options.get("format")))
        encoding = options.get("encoding") or DEFAULT_ENCODING
        if encoding not in ENCODINGS:
            raise ExportError(_("Unknown encoding: %(name)s.", name=encoding))
        codec, bom, _charset = ENCODINGS[encoding]
        stream.write(bom)
        text = io.TextIOWrapper(stream, encoding=codec, errors="strict", newline="")
        try:
            writer = csv.writer(text, lineterminator="\r\n")
            writer.writerow(csv_format.header)
            # UTF-8 holds every text the database can; other encodings check each member and track the day.
            seen = _Seen(rows, codec, csv_format.member_fields) if codec != "utf-8" else None
            try:
                writer.writerows(csv_format.rows(seen or rows, CP932_MARKS if codec == "cp932" else MARKS))
            except UnicodeEncodeError as exc:
                raise _unencodable(seen.last if seen else None, exc, encoding) from None
        finally:
            text.detach()  # flushes; the caller's stream stays open

    def content_type(self, options: Mapping[str, Any]) -> str:
        charset = ENCODINGS.get(options.get("encoding") or DEFAULT_ENCODING, ENCODINGS[DEFAULT_ENCODING])[2]
        return f"{self.media_type}; charset={charset}"

    def file_label(self, options: Mapping[str, Any]) -> str:
        return options.get("format") or DEFAULT_FORMAT


class _Seen:
    """The days as they pass, remembering the last one; each member's texts are checked on their first day.

    A monthly row is written after its member's days have passed, so a name that cannot be encoded is caught
    here, on the member's first day, with the member at hand.
    """

    def __init__(self, days: Iterable[ExportDay], codec: str, fields: tuple[str, ...]):
        self.days = days
        self.codec = codec
        self.fields = fields
        self.last: ExportDay | None = None

    def __iter__(self) -> Iterator[ExportDay]:
        member = None
        for day in self.days:
            self.last = day
            if day.member_code != member:
                member = day.member_code
                for field in self.fields:
                    value = getattr(day, field)
                    if value:
                        try:
                            value.encode(self.codec)
                        except UnicodeEncodeError as exc:
                            raise _unencodable(day, exc, self.codec) from None
            yield day


_FIELDS = (
    ("member_code", _l("employee code")),
    ("member_name", _l("name")),
    ("department", _l("department")),
    ("leave_name", _l("leave name")),
    ("integration", _l("integration")),
    ("source_file", _l("source file")),
)


def _unencodable(day: ExportDay | None, exc: UnicodeEncodeError, encoding: str) -> ExportError:
    """An error naming the member, the field and the character the encoding cannot hold."""
    character = exc.object[exc.start : exc.end][:1]
    encoding_label = "CP932 (Shift_JIS)" if encoding == "cp932" else encoding
    if day is None:
        return ExportError(
            _(
                "The character %(char)s (U+%(codepoint)s) cannot be written in %(encoding)s. Choose UTF-8.",
                char=character,
                codepoint=f"{ord(character):04X}",
                encoding=encoding_label,
            )
        )
    field = next((label for name, label in _FIELDS if character in (getattr(day, name) or "")), _l("text"))
    return ExportError(
        _(
            "%(code)s %(name)s: the character %(char)s (U+%(codepoint)s) in the %(field)s cannot be written "
            "in %(encoding)s. Choose UTF-8, or change the %(field)s.",
            code=day.member_code,
            name=day.member_name,
            char=character,
            codepoint=f"{ord(character):04X}",
            field=str(field),
            encoding=encoding_label,
        )
    )
