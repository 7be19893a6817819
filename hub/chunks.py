"""Large ``IN (…)`` lists, in slices: the one home of the chunk size every such query uses."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

#: Values per ``IN (…)`` list: well under SQLite's and PostgreSQL's parameter limits, few round trips.
CHUNK = 500

T = TypeVar("T")


def chunks(values: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    """``values`` in slices of ``size``, for queries with large ``IN`` lists."""
    for index in range(0, len(values), size):
        yield values[index : index + size]
