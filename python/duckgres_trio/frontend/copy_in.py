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


def copy_batch(rows: list[list], schema: pa.Schema, binary: bool) -> pa.RecordBatch:
    names = [f"c{i}" for i in range(len(schema))]
    columns = list(zip(*rows)) if rows else [[] for _ in schema]
    arrays = []
    for index, (field, values) in enumerate(zip(schema, columns), 1):
        oid = pg_type_for(field).oid
        if not binary and oid in _AS_TEXT:
            arrays.append(pa.array(values, pa.string()))
            continue
        if binary:
            decoded = [None if v is None else decode_param(v, 1, oid, index=index)
                       for v in values]
        else:
            decoded = [None if v is None else decode_param(v.encode(), 0, oid, index=index)
                       for v in values]
        if oid == _BYTEA:
            arrays.append(pa.array(decoded, pa.binary()))
        else:
            arrays.append(pa.array([_text(v) for v in decoded], pa.string()))
    return pa.record_batch(arrays, names=names)


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
