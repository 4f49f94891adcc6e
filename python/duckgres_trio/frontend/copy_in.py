"""COPY FROM STDIN rows to the Arrow batches the engine inserts.

Fields are read as PostgreSQL reads them: by the same functions as Bind parameters
(``wire/params.py``, text or binary, by the target column's type), then reduced to
DuckDB's bind forms, which the engine's INSERT casts to the column types; bytea stays
bytes. Text fields of the types whose text DuckDB's cast reads exactly as PostgreSQL
does (``_AS_TEXT``) skip the decoding: most COPY data is of those types.
"""

from __future__ import annotations

import math

import pyarrow as pa

from duckgres_trio.engine.literals import bind_form
from duckgres_trio.wire.params import decode_param
from duckgres_trio.wire.types import pg_type_for

#: Rows per INSERT: bounds the memory one COPY holds, and amortises a round trip.
COPY_BATCH_ROWS = 50_000
#: The largest binary COPY field accepted (PostgreSQL's limit for a datum).
MAX_COPY_FIELD = (1 << 30) - 1

_BYTEA = 17
#: text, varchar, bpchar, name, int2, int4, int8, float8, numeric, date, timestamp
_AS_TEXT = frozenset({25, 1043, 1042, 19, 21, 23, 20, 701, 1700, 1082, 1114})


def copy_batch(rows: list, schema: pa.Schema, binary: bool, *,
               pieces: bool = False) -> pa.RecordBatch:
    """The rows as the batch the engine inserts; with ``pieces``, ``rows`` holds the
    pieces of ``CopyInParser.feed_pieces`` (lists of rows, tables of string columns)."""
    if pieces:
        return _batch_of_pieces(rows, schema, binary)
    names = [f"c{i}" for i in range(len(schema))]
    columns = list(zip(*rows)) if rows else [[] for _ in schema]
    arrays = [_column(values, field, index, binary)
              for index, (field, values) in enumerate(zip(schema, columns), 1)]
    return pa.record_batch(arrays, names=names)


def _batch_of_pieces(pieces: list[list | pa.Table], schema: pa.Schema,
                     binary: bool) -> pa.RecordBatch:
    """``copy_batch`` of the rows of ``pieces`` (``feed_pieces``: lists of rows, or
    tables of string columns), in order. The string columns of the tables are used as
    they are for ``_AS_TEXT`` types, and read like the rows' fields otherwise."""
    if all(isinstance(piece, list) for piece in pieces):
        return copy_batch([row for piece in pieces for row in piece], schema, binary)
    names = [f"c{i}" for i in range(len(schema))]
    arrays = []
    for index, field in enumerate(schema):
        chunks = []
        for piece in pieces:
            if not isinstance(piece, list):
                chunks += piece.column(index).chunks
            elif piece:
                chunks.append(pa.array([row[index] for row in piece], pa.string()))
        column = pa.concat_arrays(chunks) if chunks else pa.array([], pa.string())
        if pg_type_for(field).oid in _AS_TEXT:
            arrays.append(column)
        else:
            arrays.append(_column(column.to_pylist(), field, index + 1, binary))
    return pa.record_batch(arrays, names=names)


def _column(values, field: pa.Field, index: int, binary: bool) -> pa.Array:
    """One column of COPY fields (text, or raw binary; None for NULL) as the engine
    inserts it."""
    oid = pg_type_for(field).oid
    if not binary and oid in _AS_TEXT:
        return pa.array(values, pa.string())
    if binary:
        decoded = [None if v is None else decode_param(v, 1, oid, index=index)
                   for v in values]
    else:
        decoded = [None if v is None else decode_param(v.encode(), 0, oid, index=index)
                   for v in values]
    if oid == _BYTEA:
        return pa.array(decoded, pa.binary())
    return pa.array([_text(v) for v in decoded], pa.string())


def _text(value: object) -> str | None:
    value = bind_form(value)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return repr(value)
    if isinstance(value, bytes):
        return "\\x" + value.hex()
    return str(value)
