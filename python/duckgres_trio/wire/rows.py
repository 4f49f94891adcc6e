"""Result sets: an Arrow schema to a RowDescription, a record batch to DataRows.

Each column goes out in the format the client asked for (0 text, 1 binary). A column
announced as binary is always binary-encoded: the RowDescription and the bytes come
from the same type classification, so they cannot disagree.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

import pyarrow as pa

from duckgres_trio.errors import PgError, SqlState
from duckgres_trio.wire import backend
from duckgres_trio.wire.binary import encode_binary_column
from duckgres_trio.wire.text import encode_text_column
from duckgres_trio.wire.types import pg_type_for

_NULL = b"\xff\xff\xff\xff"
_I32 = struct.Struct("!i")
_ENCODERS = (encode_text_column, encode_binary_column)


def column_formats(requested: Sequence[int], columns: int) -> list[int]:
    """Bind's result-format codes expanded to one per column (none: all text; one:
    all the same; else exactly one per column)."""
    if not requested:
        return [0] * columns
    if len(requested) == 1:
        return [requested[0]] * columns
    if len(requested) != columns:
        raise PgError(
            SqlState.PROTOCOL_VIOLATION,
            f"bind message has {len(requested)} result formats but query has {columns} columns")
    return list(requested)


def row_description(schema: pa.Schema, formats: Sequence[int] | None = None) -> bytes:
    """RowDescription of a result; ``formats`` per column, default all text."""
    formats = formats or [0] * len(schema)
    fields = []
    for field, fmt in zip(schema, formats):
        pg = pg_type_for(field)
        fields.append((field.name, pg.oid, pg.typlen, pg.typmod, fmt))
    return backend.row_description(fields)


def encode_rows(batch: pa.RecordBatch, formats: Sequence[int] | None = None) -> bytes:
    """Every row of ``batch`` as a DataRow message, concatenated."""
    formats = formats or [0] * batch.num_columns
    columns = [_ENCODERS[fmt](batch.column(i), batch.schema.field(i))
               for i, fmt in enumerate(formats)]
    head = struct.pack("!h", batch.num_columns)
    out = bytearray()
    for values in zip(*columns):
        body = bytearray(head)
        for value in values:
            if value is None:
                body += _NULL
            else:
                body += _I32.pack(len(value))
                body += value
        out += b"D"
        out += _I32.pack(len(body) + 4)
        out += body
    if batch.num_columns == 0:  # zip() of nothing yields no rows; the rows still exist
        out += backend.data_row(()) * batch.num_rows
    return bytes(out)
