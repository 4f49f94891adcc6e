"""Result sets: an Arrow schema to a RowDescription, a record batch to DataRows."""

from __future__ import annotations

import struct

import pyarrow as pa

from duckgres_trio.wire import backend
from duckgres_trio.wire.text import encode_text_column
from duckgres_trio.wire.types import pg_type_for

_NULL = b"\xff\xff\xff\xff"
_I32 = struct.Struct("!i")


def row_description(schema: pa.Schema) -> bytes:
    """RowDescription of a result, every column in text format."""
    fields = []
    for field in schema:
        pg = pg_type_for(field)
        fields.append((field.name, pg.oid, pg.typlen, pg.typmod, 0))
    return backend.row_description(fields)


def encode_rows(batch: pa.RecordBatch) -> bytes:
    """Every row of ``batch`` as a DataRow message, text format, concatenated."""
    columns = [encode_text_column(batch.column(i), batch.schema.field(i))
               for i in range(batch.num_columns)]
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
