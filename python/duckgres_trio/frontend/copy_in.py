"""COPY FROM STDIN rows to the Arrow batches the engine inserts.

Fields are read as PostgreSQL reads them: by the same functions as Bind parameters
(``wire/params.py``, text or binary, by the target column's type), then reduced to
DuckDB's bind forms, which the engine's INSERT casts to the column types; bytea stays
bytes. Text fields of the types whose text DuckDB's cast reads exactly as PostgreSQL
does (``_AS_TEXT``) skip the decoding: most COPY data is of those types.
"""

from __future__ import annotations

import array
import math
import sys

import pyarrow as pa
import pyarrow.compute as pc

from duckgres_trio.engine.literals import bind_form
from duckgres_trio.wire import unbounded
from duckgres_trio.wire.params import check_numeric_params, decode_param
from duckgres_trio.wire.types import pg_type_for

#: Rows per INSERT: bounds the memory one COPY holds, and amortises a round trip.
COPY_BATCH_ROWS = 50_000
#: The largest binary COPY field accepted (PostgreSQL's limit for a datum).
MAX_COPY_FIELD = (1 << 30) - 1

_BYTEA = 17
_NUMERIC = 1700


def _typecode(size: int, codes: str) -> str:
    """The ``array`` type code of ``codes`` whose items are ``size`` bytes here."""
    return next(code for code in codes if array.array(code).itemsize == size)


#: Binary fields of int2, int4, int8, float4 and float8 are big-endian numbers of one
#: width: a whole column is read at once (``array`` and a byte swap), not value by
#: value, when its values all have that width. By oid: (type code, Arrow type).
_FIXED_BINARY = {
    21: (_typecode(2, "hi"), pa.int16()), 23: (_typecode(4, "ilh"), pa.int32()),
    20: (_typecode(8, "qlL"), pa.int64()), 700: (_typecode(4, "f"), pa.float32()),
    701: (_typecode(8, "d"), pa.float64()),
}
#: text and varchar: binary fields are the text in UTF-8, checked a column at a time.
_TEXT_BINARY = frozenset({25, 1043})
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
            arrays.append(_bare_numeric_checked(column, field))
        else:
            arrays.append(_column(column.to_pylist(), field, index + 1, binary))
    return pa.record_batch(arrays, names=names)


def _column(values, field: pa.Field, index: int, binary: bool) -> pa.Array:
    """One column of COPY fields (text, or raw binary; None for NULL) as the engine
    inserts it."""
    oid = pg_type_for(field).oid
    if not binary and oid in _AS_TEXT:
        return _bare_numeric_checked(pa.array(values, pa.string()), field)
    if binary:
        column = _binary_column(values, field.type, oid)
        if column is not None:
            return column
        decoded = [None if v is None else decode_param(v, 1, oid, index=index,
                                                       row_type_known=True)
                   for v in values]
    else:
        decoded = [None if v is None else decode_param(v.encode(), 0, oid, index=index)
                   for v in values]
    if oid == _BYTEA:
        return pa.array(decoded, pa.binary())
    if oid == _NUMERIC:
        for value in decoded:  # NaN, Infinity; digits past bare numeric's
            if value is not None:
                check_numeric_params([value], [field])
    return pa.array([_text(v) for v in decoded], pa.string())


def _bare_numeric_checked(column: pa.Array, field: pa.Field) -> pa.Array:
    """A text column for a numeric column, refused where a value would be rounded or
    does not fit (bare numeric, ``wire.unbounded``) or is NaN / Infinity (any DECIMAL,
    which has neither); DuckDB's cast would round the first silently."""
    typ = field.type
    if pa.types.is_decimal(typ):
        if unbounded.is_bare(typ):
            unbounded.check_texts(column)
        else:
            unbounded.check_texts(column, special_only=True)
    return column


def _binary_column(values, typ: pa.DataType, oid: int) -> pa.Array | None:
    """A column of binary fields of a common type decoded at once, as the column's own
    Arrow type; None where it must go value by value: another type, or a value that
    ``decode_param`` refuses (which then reports it as PostgreSQL does)."""
    if oid in _FIXED_BINARY and typ == _FIXED_BINARY[oid][1]:
        items = array.array(_FIXED_BINARY[oid][0])
        width = items.itemsize
        if any(v is not None and len(v) != width for v in values):
            return None
        items.frombytes(b"".join(bytes(width) if v is None else v for v in values))
        if sys.byteorder == "little":
            items.byteswap()
        valid = None
        if None in values:
            valid = pa.array([v is not None for v in values], pa.bool_()).buffers()[1]
        return pa.Array.from_buffers(typ, len(values), [valid, pa.py_buffer(items)])
    if oid in _TEXT_BINARY:
        raw = pa.array(values, pa.binary())
        if pc.any(pc.match_substring(raw, "\x00")).as_py():
            return None  # NUL is not text (22021)
        try:
            return raw.cast(pa.string())  # checks the UTF-8
        except pa.ArrowInvalid:
            return None
    return None


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
