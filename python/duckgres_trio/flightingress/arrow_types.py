"""The Arrow types a Flight SQL client reads (docs/flight-sql.md, "Types").

A Flight session's worker gives the Arrow a pgwire session's gives
(``arrow_lossless_conversion``: DuckDB's own types as extension types, which
``wire.types.classify`` tells apart), because DuckDB's standard Arrow loses what a
PostgreSQL client reads: a timetz's offset, a BIT's bits (DuckDB's internal bytes), a
UUID's type (text). Here those columns become types any Arrow client reads as psycopg
reads the PostgreSQL value:

- ``arrow.bool8`` -> bool; ``arrow.uuid`` and ``arrow.json`` stay (canonical Arrow
  extension types: pyarrow reads a ``uuid.UUID``, a JSON text);
- TIME_NS, TIMESTAMP_NS -> microseconds, floored as pgwire sends them (pyarrow cannot
  make a Python value of a nanosecond time);
- HUGEINT -> decimal128(38, 0) (the same 16 bytes), UHUGEINT -> decimal256(39, 0);
- TIMETZ, BIT and BIGNUM (VARINT) -> PostgreSQL's text of the value (``13:14:15+02``,
  ``0101``): Arrow has no time-with-offset, bit-string or unbounded-integer type, and
  the text is what ``datetime.time.fromisoformat``, ``str`` and ``Decimal`` read back;
- the select list's reg* and scaled-numeric STRUCTs (sql/translate.py) -> their name or
  their decimal, as pgwire sends them;
- an ENUM (a dictionary) -> its labels (pyarrow's Flight server sends no dictionary
  batches for a generated stream: an ADBC client would fail to read it);
- the same inside lists and structs (a map's or union's members are left as DuckDB
  gives them).

Every top-level field also carries Flight SQL's column metadata
``ARROW:FLIGHT:SQL:TYPE_NAME``: the PostgreSQL type psql would show. A result with none
of these types (the usual int, float, text) passes through untouched, without a copy.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from duckgres_trio.wire import types as wt
from duckgres_trio.wire.text import encode_text_column

#: Flight SQL's column metadata key for the database's type name (FlightSql.proto).
TYPE_NAME = b"ARROW:FLIGHT:SQL:TYPE_NAME"

Convert = Callable[[pa.Array], pa.Array]


class Plan:
    """How the columns of one result schema are converted: the client's schema, and a
    conversion per column (None: as it is)."""

    def __init__(self, schema: pa.Schema) -> None:
        fields, self.converts = [], []
        for field in schema:
            new, convert = _convert(field)
            metadata = {**(new.metadata or {}), TYPE_NAME: _type_name(field).encode()}
            fields.append(new.with_metadata(metadata))
            self.converts.append(convert)
        self.schema = pa.schema(fields, schema.metadata)
        self.identity = not any(self.converts)

    def batch(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        columns = batch.columns if self.identity else [
            column if convert is None else convert(column)
            for column, convert in zip(batch.columns, self.converts)]
        return pa.RecordBatch.from_arrays(columns, schema=self.schema)


def client_schema(schema: pa.Schema) -> pa.Schema:
    return Plan(schema).schema


def _type_name(field: pa.Field) -> str:
    try:
        return wt.pg_type_for(field).name
    except Exception:  # noqa: BLE001 - a name for the client's information only
        return "unknown"


def _convert(field: pa.Field) -> tuple[pa.Field, Convert | None]:
    """The client's field for ``field`` and how to convert its values (None: as is)."""
    kind = wt.classify(field)
    name, nullable = field.name, field.nullable
    if kind == "bool" and wt.extension_of(field) is not None:
        return pa.field(name, pa.bool_(), nullable), _bool8
    if kind == "hugeint":
        return pa.field(name, pa.decimal128(38, 0), nullable), _hugeint
    if kind == "uhugeint":
        return pa.field(name, pa.decimal256(39, 0), nullable), _uhugeint
    if kind in ("timetz", "varbit", "bignum"):
        return pa.field(name, pa.string(), nullable), _as_text(field)
    if kind in ("regtype", "regclass", "regnamespace"):
        return pa.field(name, pa.string(), nullable), _member(1)
    if kind == "scaled_numeric":
        return pa.field(name, field.type.field(0).type, nullable), _member(0)
    typ = field.type
    if (pa.types.is_time64(typ) or pa.types.is_timestamp(typ)) and typ.unit == "ns":
        micro = pa.time64("us") if pa.types.is_time64(typ) else pa.timestamp("us", typ.tz)
        return pa.field(name, micro, nullable), _to_micros(micro)
    if pa.types.is_dictionary(typ):  # pyarrow's GeneratorStream sends no dictionaries
        value, convert = _convert(pa.field(name, typ.value_type, nullable))
        return value, _decoded(convert)
    if kind == "list" and not isinstance(typ, pa.BaseExtensionType) and (
            pa.types.is_list(typ) or pa.types.is_large_list(typ)
            or pa.types.is_fixed_size_list(typ)):
        value, convert = _convert(typ.value_field)
        if convert is None:
            return field, None
        return pa.field(name, _list_like(typ, value), nullable), _list(convert, value)
    if kind == "struct" and not isinstance(typ, pa.BaseExtensionType):
        members = [_convert(typ.field(i)) for i in range(typ.num_fields)]
        if not any(convert for _f, convert in members):
            return field, None
        fields = [f for f, _c in members]
        return pa.field(name, pa.struct(fields), nullable), _struct(members, fields)
    return field, None


def _list_like(typ: pa.DataType, value: pa.Field) -> pa.DataType:
    if pa.types.is_large_list(typ):
        return pa.large_list(value)
    if pa.types.is_fixed_size_list(typ):
        return pa.list_(value, typ.list_size)
    return pa.list_(value)


def _mask(array: pa.Array) -> pa.Array | None:
    return array.is_null() if array.null_count else None


def _bool8(array: pa.Array) -> pa.Array:
    return pc.not_equal(array.storage, 0)


def _hugeint(array: pa.Array) -> pa.Array:
    storage = array.storage  # 16-byte little-endian two's complement: decimal128's form
    return pa.Array.from_buffers(pa.decimal128(38, 0), len(storage), storage.buffers(),
                                 storage.null_count, storage.offset)


def _uhugeint(array: pa.Array) -> pa.Array:
    values = array.storage.to_pylist()
    return pa.array([None if v is None else Decimal(int.from_bytes(v, "little"))
                     for v in values], pa.decimal256(39, 0))


def _decoded(convert: Convert | None) -> Convert:
    def decoded(array: pa.Array) -> pa.Array:
        values = array.dictionary_decode()
        return values if convert is None else convert(values)
    return decoded


def _to_micros(typ: pa.DataType) -> Convert:
    def convert(array: pa.Array) -> pa.Array:
        nanos = array.cast(pa.int64()).to_numpy(zero_copy_only=False)
        if array.null_count:
            nanos = np.nan_to_num(nanos).astype(np.int64)
        return pa.array(np.floor_divide(nanos, 1000), pa.int64(),
                        mask=array.is_null().to_numpy(zero_copy_only=False)
                        if array.null_count else None).cast(typ)
    return convert


def _as_text(field: pa.Field) -> Convert:
    def convert(array: pa.Array) -> pa.Array:
        return pa.array([None if text is None else text.decode()
                         for text in encode_text_column(array, field)], pa.string())
    return convert


def _member(index: int) -> Convert:
    def convert(array: pa.Array) -> pa.Array:
        return array.flatten()[index]  # flatten: the struct's NULLs are the member's
    return convert


def _list(convert: Convert, value: pa.Field) -> Convert:
    def converted(array: pa.Array) -> pa.Array:
        typ = array.type
        if pa.types.is_fixed_size_list(typ):
            size = typ.list_size
            values = array.values.slice(array.offset * size, len(array) * size)
            return pa.FixedSizeListArray.from_arrays(convert(values), type=pa.list_(
                value, size), mask=_mask(array))
        cls = pa.LargeListArray if pa.types.is_large_list(typ) else pa.ListArray
        offsets = array.offsets  # of a slice: its own, into the whole child
        first, last = offsets[0].as_py(), offsets[-1].as_py()
        return cls.from_arrays(pc.subtract(offsets, offsets[0]),
                               convert(array.values.slice(first, last - first)),
                               type=_list_like(typ, value), mask=_mask(array))
    return converted


def _struct(members: list[tuple[pa.Field, Convert | None]], fields: list[pa.Field]
            ) -> Convert:
    def converted(array: pa.Array) -> pa.Array:
        children = [array.field(i) for i in range(len(members))]
        children = [child if convert is None else convert(child)
                    for child, (_f, convert) in zip(children, members)]
        return pa.StructArray.from_arrays(children, fields=fields, mask=_mask(array))
    return converted
