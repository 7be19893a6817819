"""What an exporter plugin implements: a named format that streams rows into a binary stream."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from typing import Any, BinaryIO, ClassVar


class ExportError(Exception):
    """The export cannot be written as asked (e.g. a name the chosen encoding cannot hold)."""


class Exporter(ABC):
    """A file format the hub can export attendance in."""

    name: ClassVar[str]
    label: ClassVar[str]
    media_type: ClassVar[str] = "text/csv"
    file_extension: ClassVar[str] = "csv"
    #: A Flask-WTF form class with the exporter's own options, or ``None``.
    options_form: ClassVar[type | None] = None

    @abstractmethod
    def write(self, rows: Iterable[Any], stream: BinaryIO, options: Mapping[str, Any]) -> None:
        """Write ``rows`` to ``stream`` as they come, without holding them all in memory."""
