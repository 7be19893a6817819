"""Many rows into one table through the database driver, each value encoded once: COPY on PostgreSQL,
executemany and multi-row INSERTs on SQLite, in the session's transaction.

SQLAlchemy's executemany builds a parameter dict per row and passes every value through its type; psycopg then
scans each thousand-row INSERT for placeholders, which was most of a PostgreSQL sync's write (docs/performance.md,
"Hub-side write"). Here rows are tuples, only the columns whose type encodes values for this database (dates and
timestamps on SQLite, enums) go through SQLAlchemy's own bind processor, JSON is encoded once by one encoder,
and values every row shares are encoded once.
"""

from __future__ import annotations

import gc
import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from itertools import chain, islice
from typing import Any

import orjson
from sqlalchemy import JSON, Table
from sqlalchemy.exc import DBAPIError

from hub.extensions import db

#: Rows per multi-row INSERT on SQLite: 18 columns (a day row) × 1,000 stays well under its 32,766 parameters.
ROWS_PER_STATEMENT = 1000

#: JSON as the driver gets it when orjson cannot encode a value (an integer past 64 bits): compact, and Japanese
#: kept as it is, as orjson writes it; the rows come from decoded JSON, so there is no cycle to check for.
_json_text = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, check_circular=False).encode

_pauses = 0
_pauses_lock = threading.Lock()
_collector_was_on = False


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cycle collector off while building and writing many rows, on again after (nesting and threads count).

    Tens of thousands of new, acyclic row objects trigger full collections, each walking the whole app's heap to
    free nothing: half the CPU time of a sync's write phase (docs/performance.md, "Hub-side write"). Cycles made
    meanwhile are collected once the last pause ends.
    """
    global _pauses, _collector_was_on
    with _pauses_lock:
        if _pauses == 0:
            _collector_was_on = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _pauses_lock:
            _pauses -= 1
            if _pauses == 0 and _collector_was_on:
                gc.enable()


def insert(table: Table, columns: Sequence[str], rows: Sequence[Sequence], shared: Mapping[str, Any]) -> None:
    """Insert ``rows`` (values in the order of ``columns``), each with the ``shared`` column values."""
    if not rows:
        return
    connection = db.session.connection()
    names, encoded = _encoded(connection.dialect, table, columns, rows, shared)
    if connection.dialect.name == "postgresql":
        _copy(connection, table, names, encoded)
    else:
        marks = ", ".join("?" * len(names))
        connection.exec_driver_sql(f"INSERT INTO {_quoted(connection, table, names)} VALUES ({marks})", list(encoded))


def insert_with_ids(
    table: Table, columns: Sequence[str], rows: Sequence[Sequence], shared: Mapping[str, Any], key: Sequence[int]
) -> list[int]:
    """Insert as :func:`insert` and return the new ids in the order of ``rows``.

    ``key`` are the positions in ``columns`` of values unique to each row: SQLite does not promise the order of
    RETURNING, so ids are matched back by them. PostgreSQL takes the ids from the table's sequence first, so the
    rows can go by COPY, which returns nothing.
    """
    if not rows:
        return []
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        sequence = f"pg_get_serial_sequence('{table.name}', 'id')"
        ids = list(
            connection.exec_driver_sql(
                f"SELECT nextval({sequence}) FROM generate_series(1, %s)", (len(rows),)
            ).scalars()
        )
        names, encoded = _encoded(connection.dialect, table, columns, rows, shared)
        _copy(connection, table, ["id", *names], ((row_id, *row) for row_id, row in zip(ids, encoded, strict=True)))
        return ids
    names, encoded = _encoded(connection.dialect, table, columns, rows, shared)
    returned = ", ".join(connection.dialect.identifier_preparer.quote(columns[index]) for index in key)
    into = _quoted(connection, table, names)
    found, keys = {}, []
    while batch := list(islice(encoded, ROWS_PER_STATEMENT)):
        keys += [tuple(row[index] for index in key) for row in batch]
        values = ", ".join([f"({', '.join('?' * len(names))})"] * len(batch))
        flat = tuple(chain.from_iterable(batch))
        for row_id, *values_of_key in connection.exec_driver_sql(
            f"INSERT INTO {into} VALUES {values} RETURNING id, {returned}", flat
        ):
            found[tuple(values_of_key)] = row_id
    return [found[values_of_key] for values_of_key in keys]


def _encoded(dialect, table: Table, columns: Sequence[str], rows: Sequence[Sequence], shared: Mapping[str, Any]):
    """The column names, and the rows as the driver takes them, shared values appended: an iterator, each row
    encoded as it is sent, so a sync's tens of thousands of JSON texts are never all held at once."""
    processors = [
        (index, processor)
        for index, name in enumerate(columns)
        if (processor := _processor(dialect, table, name)) is not None
    ]
    tail = tuple(_encode(dialect, table, name, value) for name, value in shared.items())
    return [*columns, *shared], _encoded_rows(rows, processors, tail)


def _encoded_rows(rows: Sequence[Sequence], processors: list, tail: tuple) -> Iterator[tuple]:
    for row in rows:
        if processors:
            row = list(row)
            for index, processor in processors:
                row[index] = processor(row[index])
        yield (*row, *tail)


def _encode(dialect, table: Table, name: str, value: Any) -> Any:
    processor = _processor(dialect, table, name)
    return value if processor is None else processor(value)


def _processor(dialect, table: Table, name: str):
    """SQLAlchemy's encoding of the column's values for this database, None when the driver takes them as they are."""
    type_ = table.c[name].type
    if isinstance(type_, JSON):
        # SQLAlchemy's stores None as JSON null and, on PostgreSQL, wraps each value for psycopg: the text is enough.
        return _json_null_or_text
    return type_.dialect_impl(dialect).bind_processor(dialect)


def _json_null_or_text(value: Any) -> str:
    """A raw payload as JSON text: orjson, several times faster than the standard encoder on a sync's payloads
    (docs/performance.md); the standard one for what orjson refuses, so odd provider data is stored all the same.
    Bytes are JSON text already (UTF-8, as a provider kept it: ``hub.records.DayRecord.raw``) and go as they are."""
    if value is None:
        return "null"
    if isinstance(value, bytes):
        return value.decode()
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:
        return _json_text(value)


def _quoted(connection, table: Table, names: Sequence[str]) -> str:
    quote = connection.dialect.identifier_preparer.quote
    return f"{quote(table.name)} ({', '.join(quote(name) for name in names)})"


def _copy(connection, table: Table, names: Sequence[str], rows: Sequence[Sequence]) -> None:
    """COPY on the session's own connection; psycopg encodes each value in C."""
    statement = f"COPY {_quoted(connection, table, names)} FROM STDIN"
    driver_error = connection.dialect.loaded_dbapi.Error
    try:
        with connection.connection.driver_connection.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
    except driver_error as error:
        # Raised as SQLAlchemy raises the driver's errors: the engine retries a write that met another sync's
        # new days on IntegrityError, whichever path the rows took.
        raise DBAPIError.instance(statement, None, error, driver_error, dialect=connection.dialect) from error
