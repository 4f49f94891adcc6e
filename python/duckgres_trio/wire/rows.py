"""Result sets: an Arrow schema to a RowDescription, a record batch to DataRows.

Each column goes out in the format the client asked for (0 text, 1 binary). A column
announced as binary is always binary-encoded: the RowDescription and the bytes come
from the same type classification, so they cannot disagree.

With the Rust codec, ``_native.encode_data_rows`` assembles the DataRows and itself
encodes the columns of the common kinds (``_native``: integers, bool, text, json,
ENUM, floats, numeric including VARINT, bytea, uuid, BIT, date, time, TIMETZ,
timestamp, timestamptz in any zone, interval), arrays of them (multi-dimensional for
nested lists), and STRUCT / MAP / UNION (json) and arrays of those, as long as every
leaf is of such a kind (``_node``); every other column is encoded by the Python
encoders and handed over as its list of values. For timestamptz text in a named zone
Rust reads the zone's TZif file, the one zoneinfo reads (``_rust_zone``). The Python
assembly (``data_rows``) is the reference the Rust one is tested against.
"""

from __future__ import annotations

import functools
import re
import struct
from collections.abc import Sequence

import pyarrow as pa

from duckgres_trio.errors import PgError, SqlState
from duckgres_trio.wire import CODEC, backend, unbounded
from duckgres_trio.wire.binary import encode_binary_column
from duckgres_trio.wire.text import (OutputStyle, encode_text_column, output_style,
                                     storage_array, zone_tzif)
from duckgres_trio.wire.types import classify, declared_element_oid, element_field, pg_type_for

_NULL = b"\xff\xff\xff\xff"
_I32 = struct.Struct("!i")
_ENCODERS = (encode_text_column, encode_binary_column)

#: The Arrow storage types the Rust codec reads, by the kind it encodes them as
#: (in both formats); durations in seconds or milliseconds (their microseconds can
#: pass int64) and every other type go through Python. ``_native`` adds
#: fixed_size_binary bytea, decimal128, timestamptz and ENUM (dictionaries of
#: strings); ``_node`` adds lists, structs, maps and unions of these.
_NATIVE = {
    "int2": {pa.int8(), pa.int16(), pa.uint8()},
    "int4": {pa.int32(), pa.uint16()},
    "int8": {pa.int64()},
    "oid": {pa.uint32()},
    "bool": {pa.bool_(), pa.int8()},  # int8: arrow.bool8 storage
    "text": {pa.string(), pa.large_string(), pa.string_view()},
    "json": {pa.string(), pa.large_string(), pa.string_view()},
    "float4": {pa.float32(), pa.float16()},
    "float8": {pa.float64()},
    "bytea": {pa.binary(), pa.large_binary(), pa.binary_view()},
    "uuid": {pa.binary(16)},
    "date": {pa.date32(), pa.date64()},
    "timestamp": {pa.timestamp(unit) for unit in ("s", "ms", "us", "ns")},
    "time": {pa.time32("s"), pa.time32("ms"), pa.time64("us"), pa.time64("ns")},
    "interval": {pa.month_day_nano_interval(), pa.duration("us"), pa.duration("ns")},
    "uint64": {pa.uint64()},
    "hugeint": {pa.binary(16)},
    "uhugeint": {pa.binary(16)},
    "bignum": {pa.binary(), pa.large_binary()},
    "varbit": {pa.binary(), pa.large_binary()},
    "timetz": {pa.binary(8)},
}

#: The label types of a dictionary (DuckDB's ENUM) the Rust codec reads; its indices
#: may be any integer type.
_NATIVE_LABELS = {pa.string(), pa.large_string()}

#: A fixed UTC offset as text._zone reads it (ASCII digits; under 24 hours, which
#: datetime.timezone requires). Rust prints timestamptz text in these zones and UTC
#: from the offset alone, in a named zone from its TZif data (``_rust_zone``); binary
#: is UTC anywhere.
_FIXED_OFFSET = re.compile(r"[+-]([0-9]{2}):([0-9]{2})", re.ASCII)


def _fixed_zone(tz: str) -> bool:
    if tz == "UTC":
        return True
    fixed = _FIXED_OFFSET.fullmatch(tz)
    return fixed is not None and int(fixed[1]) * 60 + int(fixed[2]) < 24 * 60


@functools.lru_cache(maxsize=64)
def _rust_zone(tz: str) -> object | None:
    """A named zone's offsets as Rust holds them (``_native.TimeZone``), read once per
    zone from the file zoneinfo reads; None where Rust cannot read that file as
    zoneinfo does, or where Python's zone is a fixed offset after all (non-ASCII
    digits), and the Python encoders print the text. An unknown zone raises as the
    Python encoders would (errors are not cached)."""
    from duckgres_trio import _native as native

    tzif = zone_tzif(tz)
    if tzif is None:
        return None
    try:
        return native.TimeZone(tz, tzif)
    except ValueError:
        return None


def _text_zone(typ: pa.DataType, fmt: int) -> tuple:
    """(``_rust_zone``,) for timestamptz text in a named zone: Rust needs it passed
    with the column; else ()."""
    if fmt == 0 and pa.types.is_timestamp(typ) and typ.tz is not None and not _fixed_zone(typ.tz):
        return (_rust_zone(typ.tz),)
    return ()


def _native(kind: str, typ: pa.DataType, fmt: int) -> bool:
    """Whether the Rust codec encodes a column of this kind and storage type."""
    if typ in _NATIVE.get(kind, ()):
        return True
    if kind == "bytea":
        return pa.types.is_fixed_size_binary(typ)
    if kind == "timestamptz" and pa.types.is_timestamp(typ):
        return fmt == 1 or _fixed_zone(typ.tz) or _rust_zone(typ.tz) is not None
    if kind == "decimal":
        # A negative scale (Arrow allows it) has no numeric dscale; bare numeric's
        # trailing zeros are trimmed in Python (wire.unbounded)
        return pa.types.is_decimal128(typ) and typ.scale >= 0 and not unbounded.is_unbounded(typ)
    if kind == "dictionary":
        return pa.types.is_dictionary(typ) and typ.value_type in _NATIVE_LABELS
    return False


def _native_list(typ: pa.DataType) -> bool:
    """Whether the Rust codec reads this list layout (its elements decide the rest)."""
    t = pa.types
    return t.is_list(typ) or t.is_large_list(typ) or t.is_fixed_size_list(typ)


#: The most levels of lists and containers the Rust codec nests (its MAX_DEPTH: it
#: recurses once per level); deeper columns stay in Python.
_MAX_DEPTH = 32

_CONTAINERS = frozenset({"list", "struct", "map", "union"})


def _node(array: pa.Array, field: pa.Field, fmt: int, level: int) -> tuple | None:
    """``array`` as Rust reads it at nesting ``level`` (1: the column's own
    container): (storage array, kind) for a native scalar, (storage array, kind,
    zone) for timestamptz text in a named zone (``_text_zone``, json's members
    included: json holds their text), (storage array, kind, children) for a
    container; None if any part of it is not native."""
    kind = classify(field)
    storage = storage_array(array)
    if kind not in _CONTAINERS:
        if not _native(kind, storage.type, fmt):
            return None
        return (storage, kind, *_text_zone(storage.type, fmt))
    children = _children(storage, kind, fmt, level)
    return None if children is None else (storage, kind, children)


def _children(storage: pa.Array, kind: str, fmt: int, level: int) -> tuple | None:
    """A container's children as ``_node`` gives them, in the arrays and order the
    Python encoders read: a list's elements (``.values`` ignores the list's slice, as
    the offsets do) in the list's format; a struct's fields and a sparse union's
    members sliced like the container (``field(i)``), a dense union's members and a
    map's keys and items whole, all in text, as json holds text."""
    typ = storage.type
    if level > _MAX_DEPTH or (kind == "list" and not _native_list(typ)):
        return None
    if kind == "list":
        parts = [(storage.values, typ.value_field, fmt)]
    elif kind == "map":
        parts = [(storage.keys, typ.key_field, 0), (storage.items, typ.item_field, 0)]
    else:  # struct, union
        parts = [(storage.field(i), typ.field(i), 0) for i in range(typ.num_fields)]
    children = []
    for array, field, child_fmt in parts:
        child = _node(array, field, child_fmt, level + 1)
        if child is None:
            return None
        children.append(child)
    return tuple(children)


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


#: Schema metadata naming result columns' origins, set by frontend/origins.py: per
#: column b"<table oid> <column number> <type oid> <typmod>" (the type a declared
#: varchar(n) / char(n) column announces; its values are text either way), b";"
#: between columns, empty for a column without one.
ORIGIN_KEY = b"duckgres.origin"


def row_description(schema: pa.Schema, formats: Sequence[int] | None = None) -> bytes:
    """RowDescription of a result; ``formats`` per column, default all text."""
    formats = formats or [0] * len(schema)
    metadata = schema.metadata
    origins = metadata.get(ORIGIN_KEY) if metadata else None
    if origins is not None:
        key = (schema.to_string(), tuple(formats))  # the origins are in the text too
        message = _DESCRIBED.get(key)
        if message is None:
            message = _DESCRIBED[key] = _with_origins(schema, formats, _origins(origins))
            if len(_DESCRIBED) > 1024:
                _DESCRIBED.pop(next(iter(_DESCRIBED)))
        return message
    fields = []
    for field, fmt in zip(schema, formats):
        pg = pg_type_for(field)
        fields.append((field.name, pg.oid, pg.typlen, pg.typmod, fmt))
    return backend.row_description(fields)


#: RowDescriptions with origins by (schema text, formats): made in Python (the Rust
#: encoder sends no origins), so kept rather than made again for each result.
_DESCRIBED: dict[tuple, bytes] = {}


def _origins(value: bytes) -> tuple[tuple[int, ...] | None, ...]:
    return tuple(tuple(int(part) for part in origin.split()) if origin else None
                 for origin in value.split(b";"))


def _with_origins(schema: pa.Schema, formats: Sequence[int],
                  origins: tuple[tuple[int, ...] | None, ...]) -> bytes:
    fields = []
    for field, fmt, origin in zip(schema, formats, origins):
        pg = pg_type_for(field)
        if origin is not None:
            table, attnum, oid, typmod = origin
            fields.append((field.name, table, attnum, oid, pg.typlen, typmod, fmt))
        else:
            fields.append((field.name, 0, 0, pg.oid, pg.typlen, pg.typmod, fmt))
    return backend.row_description_with_origins(fields)


def encode_rows(batch: pa.RecordBatch, formats: Sequence[int] | None = None,
                codec: str = CODEC, style: OutputStyle | None = None) -> bytes:
    """Every row of ``batch`` as a DataRow message, concatenated; text in ``style``
    (DateStyle, IntervalStyle; None: the defaults)."""
    return RowEncoder(batch.schema, formats, codec, style).encode(batch)


class RowEncoder:
    """``encode_rows`` for the batches of one schema, formats, codec and style: what it
    works out per column (the column's kind, whether Rust encodes it, its Python
    encoder) is worked out once, so a statement run again and again (pgbench -M
    prepared) costs a batch only the encoding; ``encoder`` keeps one per statement."""

    __slots__ = ("schema", "formats", "codec", "style", "_plan", "_styled")

    def __init__(self, schema: pa.Schema, formats: Sequence[int] | None = None,
                 codec: str = CODEC, style: OutputStyle | None = None) -> None:
        self.schema = schema
        self.formats = tuple(formats) if formats else (0,) * len(schema)
        self.codec = codec
        self.style = style
        fields = [schema.field(i) for i in range(len(self.formats))]
        if codec == "rust":
            self._plan = [(i, field, fmt, _rust_plan(field, fmt, style))
                          for i, (field, fmt) in enumerate(zip(fields, self.formats))]
            # the Python encoders read the style from the context (output_style);
            # Rust's native columns never print in a non-default one
            self._styled = any(plan[0] != _NATIVE_COLUMN for *_, plan in self._plan)
        else:
            self._plan = [(i, field, _ENCODERS[fmt]) for i, (field, fmt)
                          in enumerate(zip(fields, self.formats))]
            self._styled = True

    def fits(self, schema: pa.Schema, formats: Sequence[int] | None, codec: str,
             style: OutputStyle | None) -> bool:
        """Whether this encodes batches of ``schema`` as a new one would (metadata
        counts: it names types the Arrow types cannot)."""
        return (codec == self.codec and style == self.style
                and (tuple(formats) if formats else (0,) * len(schema)) == self.formats
                and (schema is self.schema or schema.equals(self.schema, check_metadata=True)))

    def encode(self, batch: pa.RecordBatch) -> bytes:
        if self._styled:
            with output_style(self.style):
                return self._encode(batch)
        return self._encode(batch)

    def _encode(self, batch: pa.RecordBatch) -> bytes:
        if self.codec == "rust":
            from duckgres_trio import _native

            columns = [_rust_value(plan, batch.column(i), field, fmt, self.style)
                       for i, field, fmt, plan in self._plan]
            return _native.encode_data_rows(columns, batch.num_rows)
        columns = [encoder(batch.column(i), field) for i, field, encoder in self._plan]
        return data_rows(columns, batch.num_columns, batch.num_rows)


def encoder(last: RowEncoder | None, schema: pa.Schema, formats: Sequence[int] | None,
            style: OutputStyle | None = None, codec: str = CODEC) -> RowEncoder:
    """``last`` if it encodes ``schema`` in these formats and style, else a new one."""
    if last is not None and last.fits(schema, formats, codec, style):
        return last
    return RowEncoder(schema, formats, codec, style)


def styled(field: pa.Field, style: OutputStyle | None) -> bool:
    """Whether a column's text depends on a non-default ``style``: dates, timestamps,
    intervals and arrays of them, which only the Python encoders print in other
    styles (JSON containers print dates in ISO whatever the style)."""
    if style is None or style.default_output:
        return False
    kind = classify(field)
    if kind in ("date", "timestamp", "timestamptz"):
        return style.dates != "ISO"
    if kind == "interval":
        return style.intervals != "postgres"
    return kind == "list" and styled(element_field(field), style)


def _record(field: pa.Field) -> bool:
    """A STRUCT column or an array of them: a record, which only the Python encoders
    write (Rust's STRUCT is json, as a STRUCT inside a MAP or UNION still is)."""
    kind = classify(field)
    while kind == "list":
        field = element_field(field)
        kind = classify(field)
    return kind == "struct"


def rust_column(array: pa.Array, field: pa.Field, fmt: int,
                style: OutputStyle | None = None) -> tuple | list:
    """(storage array, format, kind) for Rust to encode a scalar, (storage array,
    format, kind, children) a list, struct, map or union whose every leaf is native
    (see ``_node``), else the Python encoder's values (text in a non-default
    ``style``, which the caller has put in force with ``output_style``). A scalar is
    followed by the zone of timestamptz text in a named zone (``_text_zone``), as is a
    list's leaf."""
    return _rust_value(_rust_plan(field, fmt, style), array, field, fmt, style)


# How ``rust_column`` treats a column, decided from its field alone (``_rust_plan``):
_NATIVE_COLUMN = 0  # a native scalar: (_NATIVE_COLUMN, extension?, (fmt, kind, *zone))
_CONTAINER = 1  # a container: its children are found in each array (``_children``)
_PYTHON = 2  # the Python encoder's values


def _rust_plan(field: pa.Field, fmt: int, style: OutputStyle | None) -> tuple:
    kind = classify(field)
    extension = isinstance(field.type, pa.BaseExtensionType)
    storage_type = field.type.storage_type if extension else field.type
    if fmt == 1 and declared_element_oid(field) is not None:
        # Rust derives a binary array's element OID from the Arrow type (text for an
        # enum's dictionary); the Python encoder writes the enum's.
        return (_PYTHON,)
    if fmt in (0, 1) and not (fmt == 0 and styled(field, style)) and not _record(field):
        if _native(kind, storage_type, fmt):
            return (_NATIVE_COLUMN, extension, (fmt, kind, *_text_zone(storage_type, fmt)))
        if kind in _CONTAINERS:
            return (_CONTAINER, kind)
    return (_PYTHON,)


def _rust_value(plan: tuple, array: pa.Array, field: pa.Field, fmt: int,
                style: OutputStyle | None) -> tuple | list:
    """One column of ``array`` for ``_native.encode_data_rows``, as ``plan`` says."""
    how = plan[0]
    if how == _NATIVE_COLUMN:
        return (array.storage if plan[1] else array, *plan[2])
    if how == _CONTAINER:
        storage = storage_array(array)
        children = _children(storage, plan[1], fmt, 1)
        if children is not None:
            return (storage, fmt, plan[1], children)
    return _ENCODERS[fmt](array, field)


def data_rows(columns: Sequence[Sequence[bytes | None]], num_columns: int, num_rows: int) -> bytes:
    """DataRows of per-column encoded values (None is NULL): the Python assembly."""
    head = struct.pack("!h", num_columns)
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
    if num_columns == 0:  # zip() of nothing yields no rows; the rows still exist
        out += backend.data_row(()) * num_rows
    return bytes(out)
