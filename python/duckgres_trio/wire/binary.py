"""PostgreSQL BINARY format of Arrow columns (pure-Python reference implementation).

Every value is what PostgreSQL 15's send function (typsend) writes for the type that
``types.pg_type_for`` announces, so the bytes always match the RowDescription OID: a
UTINYINT announced as int2 is two bytes, a UBIGINT announced as numeric is a numeric.
Dispatch is on ``types.classify`` exactly as in ``wire.text``, and everything that is
not about the byte layout (decoding DuckDB's HUGEINT, BIGNUM, TIMETZ, time units,
the JSON of STRUCT/MAP/UNION) is text.py's own helper, so the two formats cannot drift.

Integers are network order (big-endian) throughout. tests/test_binary_encoding.py
checks all of it against a real PostgreSQL 15; docs/types.md has the table.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc

from duckgres_trio.errors import PgError
from duckgres_trio.wire import jsonb, text, unbounded
from duckgres_trio.wire.types import (
    classify,
    declared_element_oid,
    element_field,
    pg_type_for,
    storage_field,
)

Values = list[bytes | None]

#: 2000-01-01 (PostgreSQL's epoch) in days and microseconds after 1970-01-01.
PG_EPOCH_DAYS = 10_957
PG_EPOCH_USECS = PG_EPOCH_DAYS * text.USECS_PER_DAY

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

#: The NaN bit patterns PostgreSQL sends: C's NAN, which 'NaN'::float8/float4 store.
FLOAT8_NAN_BITS = 0x7FF8000000000000
FLOAT4_NAN_BITS = 0x7FC00000

#: numeric sign words (numeric.c).
NUMERIC_POS = 0x0000
NUMERIC_NEG = 0x4000


def encode_binary_column(array: pa.Array, field: pa.Field) -> list[bytes | None]:
    """Each value's PostgreSQL binary form; None for SQL NULL."""
    return _BINARY[classify(field)](text.storage_array(array), field)


# --- fixed width -------------------------------------------------------------------------


def _pack(values: list[int | None], code: str) -> Values:
    """Pack a whole column with one struct call, then cut it into values."""
    size = struct.calcsize(">" + code)
    data = struct.pack(f">{len(values)}{code}", *(0 if v is None else v for v in values))
    return [None if v is None else data[i * size : (i + 1) * size] for i, v in enumerate(values)]


def _scaled_numeric_values(array: pa.Array, _field: pa.Field) -> Values:
    # numeric_send with dscale the constant's display scale (types.SCALED_NUMERIC_FIELDS)
    out: Values = []
    for d in unbounded.scaled_values(array):
        if d is None:
            out.append(None)
            continue
        sign, digits, exponent = d.as_tuple()
        unscaled = int("".join(map(str, digits))) * (-1 if sign else 1)
        if exponent > 0:
            unscaled, exponent = unscaled * 10 ** exponent, 0
        out.append(numeric_binary(unscaled, -exponent))
    return out


def _reg_values(array: pa.Array, _field: pa.Field) -> Values:
    # regtypesend and friends: the OID (types.REG_FIELDS: a STRUCT of OID and name)
    oids = array.field(0).to_pylist()
    return _pack([oid if valid else None
                  for valid, oid in zip(array.is_valid().to_pylist(), oids)], "I")


def _bool_values(array: pa.Array, _field: pa.Field) -> Values:
    # boolsend: one byte 1/0. arrow.bool8 storage is int8, nonzero is true.
    return [None if v is None else (b"\x01" if v else b"\x00") for v in array.to_pylist()]


# The announced integer type decides the width (types._INT_KIND): unsigned values go
# one size up, so the cast to the signed type of that width is always exact.
_INT_WIDTHS = {"int2": (pa.int16(), "h"), "int4": (pa.int32(), "i"), "int8": (pa.int64(), "q"),
               "oid": (pa.uint32(), "I")}


def _int_values(array: pa.Array, field: pa.Field) -> Values:
    arrow_type, code = _INT_WIDTHS[classify(field)]
    return _pack(pc.cast(array, arrow_type).to_pylist(), code)


def _float8_values(array: pa.Array, _field: pa.Field) -> Values:
    return _float_values(array, pa.float64(), pa.uint64(), "Q", FLOAT8_NAN_BITS)


def _float4_values(array: pa.Array, _field: pa.Field) -> Values:
    # float16 is widened first; every half-precision value is exactly a float32.
    return _float_values(array, pa.float32(), pa.uint32(), "I", FLOAT4_NAN_BITS)


def _float_values(
    array: pa.Array, float_type: pa.DataType, bits_type: pa.DataType, code: str, nan_bits: int
) -> Values:
    """float4send/float8send: the IEEE bits, big-endian. -0 and the infinities keep
    their bits; every NaN becomes PostgreSQL's one NaN (DuckDB also has -NaN)."""
    array = pc.cast(array, float_type)
    bits = array.view(bits_type).to_pylist()
    is_nan = pc.is_nan(array).to_pylist()
    return _pack([nan_bits if nan else b for b, nan in zip(bits, is_nan, strict=True)], code)


# --- numeric -----------------------------------------------------------------------------


def numeric_binary(unscaled: int, scale: int) -> bytes:
    """numeric_send of unscaled * 10**-scale, with dscale = scale.

    int16 ndigits, int16 weight, uint16 sign, int16 dscale, then ndigits base-10000
    digits. Digit groups are aligned on the decimal point; weight is the power of
    10000 of the first group. Leading and trailing zero groups are not sent (PG's
    make_result strips them), and zero is ndigits 0, weight 0, positive.
    """
    if scale < 0:  # Arrow allows negative scales; PostgreSQL's dscale cannot be.
        unscaled, scale = unscaled * 10**-scale, 0
    pad = -scale % 4
    digits = str(abs(unscaled) * 10**pad)
    digits = digits.zfill(len(digits) + -len(digits) % 4)
    groups = [int(digits[i : i + 4]) for i in range(0, len(digits), 4)]
    weight = len(groups) - 1 - (scale + pad) // 4
    while groups and groups[0] == 0:
        groups.pop(0)
        weight -= 1
    while groups and groups[-1] == 0:
        groups.pop()
    sign = NUMERIC_NEG if unscaled < 0 else NUMERIC_POS
    if not groups:
        weight, sign = 0, NUMERIC_POS
    return struct.pack(f">hhHh{len(groups)}H", len(groups), weight, sign, scale, *groups)


def _integer_numerics(values: list[int | None]) -> Values:
    return [None if v is None else numeric_binary(v, 0) for v in values]


def _uint64_values(array: pa.Array, _field: pa.Field) -> Values:
    return _integer_numerics(array.to_pylist())


def _hugeint_values(array: pa.Array, field: pa.Field) -> Values:
    signed = classify(field) == "hugeint"
    values = [None if b is None else text.hugeint_value(b, signed) for b in array.to_pylist()]
    return _integer_numerics(values)


def _bignum_values(array: pa.Array, _field: pa.Field) -> Values:
    return _integer_numerics([None if b is None else text.bignum_value(b) for b in array.to_pylist()])


def _trimmed_numeric(unscaled: int, scale: int) -> bytes:
    """numeric_send with the dscale of the value without its trailing fraction zeros."""
    while scale > 0 and unscaled % 10 == 0:
        unscaled //= 10
        scale -= 1
    return numeric_binary(unscaled, scale)


def _decimal_values(array: pa.Array, field: pa.Field) -> Values:
    # dscale is the column's scale, as for a numeric(p, s) column. The unscaled integer
    # is the decimal's little-endian two's complement storage.
    typ = storage_field(field).type
    raw = array.view(pa.binary(typ.byte_width)).to_pylist()
    if unbounded.is_unbounded(typ):  # bare numeric: dscale is the value's own
        return [None if b is None else _trimmed_numeric(int.from_bytes(b, "little", signed=True),
                                                        typ.scale) for b in raw]
    return [
        None if b is None else numeric_binary(int.from_bytes(b, "little", signed=True), typ.scale)
        for b in raw
    ]


# --- strings and bytes -------------------------------------------------------------------


def _string_values(array: pa.Array, _field: pa.Field) -> Values:
    # textsend / json_send: the UTF-8 text (json's binary form is its text).
    return pc.cast(array, pa.large_binary()).to_pylist()


def _bytea_values(array: pa.Array, _field: pa.Field) -> Values:
    # byteasend: the bytes.
    return array.to_pylist()


def _uuid_values(array: pa.Array, _field: pa.Field) -> Values:
    # uuid_send: the 16 bytes in text order (arrow.uuid stores them that way).
    return array.to_pylist()


def _varbit_values(array: pa.Array, _field: pa.Field) -> Values:
    return [None if b is None else varbit_binary(b) for b in array.to_pylist()]


def varbit_binary(data: bytes) -> bytes:
    """varbit_send: int32 bit length, then the bits MSB first, zero-padded at the end.

    DuckDB BIT puts the padding (set to 1) at the start: first byte = its bit count.
    """
    length = 8 * (len(data) - 1) - data[0]
    value = int.from_bytes(data[1:], "big") & ((1 << length) - 1)
    size = (length + 7) // 8
    return struct.pack(">i", length) + (value << (8 * size - length)).to_bytes(size, "big")


def _text_values(array: pa.Array, field: pa.Field) -> Values:
    # Announced as text (no PostgreSQL equivalent): the text form's UTF-8 bytes.
    return text.encode_text_column(array, field)


def _json_values(array: pa.Array, field: pa.Field) -> Values:
    # STRUCT / MAP / UNION are announced json: the text encoder's JSON, as UTF-8.
    return [None if t is None else t.encode() for t in text.json_values(array, field)]


# --- dates and times ---------------------------------------------------------------------


def _date_values(array: pa.Array, _field: pa.Field) -> Values:
    return _pack([None if d is None else date_binary_days(d) for d in text.date_days(array)], "i")


def date_binary_days(days: int) -> int:
    """date_send's int32: days since 2000-01-01; DuckDB's ±infinity become
    DATEVAL_NOEND / DATEVAL_NOBEGIN (INT32_MAX / INT32_MIN); DuckDB dates beyond
    what int32 holds after the shift saturate to those as well."""
    if days == text.DATE_INFINITY:
        return INT32_MAX
    if days == -text.DATE_INFINITY:
        return INT32_MIN
    return min(max(days - PG_EPOCH_DAYS, INT32_MIN), INT32_MAX)


def _time_values(array: pa.Array, _field: pa.Field) -> Values:
    # time_send: int64 microseconds since midnight (nanoseconds floored, as in text).
    return _pack(text.time_usecs(array), "q")


def _timetz_values(array: pa.Array, _field: pa.Field) -> Values:
    # timetz_send: int64 local microseconds, int32 zone in seconds WEST of UTC.
    parts = [None if b is None else text.timetz_parts(b) for b in array.to_pylist()]
    return [None if p is None else struct.pack(">qi", p[0], -p[1]) for p in parts]


def _timestamp_values(array: pa.Array, _field: pa.Field) -> Values:
    # timestamp_send / timestamptz_send: the same int64 (UTC for timestamptz), so the
    # binary form does not depend on the session TimeZone.
    unit = array.type.unit
    raw = array.view(pa.int64()).to_pylist()
    return _pack([None if v is None else timestamp_binary_usecs(v, unit) for v in raw], "q")


def timestamp_binary_usecs(value: int, unit: str) -> int:
    """Microseconds since 2000-01-01 00:00 UTC; DuckDB's ±infinity become DT_NOEND /
    DT_NOBEGIN (INT64_MAX / INT64_MIN); values beyond int64 saturate to those."""
    if value == text.TIMESTAMP_INFINITY:
        return INT64_MAX
    if value == -text.TIMESTAMP_INFINITY:
        return INT64_MIN
    return min(max(text.to_usecs(value, unit) - PG_EPOCH_USECS, INT64_MIN), INT64_MAX)


def _interval_values(array: pa.Array, _field: pa.Field) -> Values:
    # interval_send: int64 microseconds, int32 days, int32 months.
    return [
        None if p is None else struct.pack(">qii", p[2], p[1], p[0]) for p in text.interval_parts(array)
    ]


# --- arrays ------------------------------------------------------------------------------


class RaggedArrayError(PgError):
    """A DuckDB nested list that no PostgreSQL array can hold (ragged or NULL sub-list)."""

    def __init__(self) -> None:
        # PostgreSQL's own error for a ragged ARRAY[...] (ERRCODE_ARRAY_SUBSCRIPT_ERROR).
        super().__init__(
            "2202E",
            "multidimensional arrays must have array expressions with matching dimensions",
            detail="A nested list with sub-lists of different lengths or a NULL sub-list "
            "has no PostgreSQL binary array form.",
        )


def _list_values(array: pa.Array, field: pa.Field) -> Values:
    """array_send: int32 ndim, int32 has-NULL flag, int32 element OID, (int32 length,
    int32 lower bound 1) per dimension, then each element as int32 length + bytes or
    -1 for NULL. Nested lists are the dimensions; an array with no elements is ndim 0."""
    depth, inner = 0, field
    while classify(inner) == "list":
        depth, inner = depth + 1, element_field(inner)
    element_oid = declared_element_oid(field) or pg_type_for(inner).oid
    rows = _nested(array, field)
    return [None if items is None else _array_binary(items, depth, element_oid) for items in rows]


def _nested(array: pa.Array, field: pa.Field) -> list[list | None]:
    """Each row's items: element bytes at the innermost level, else nested lists."""
    render = _nested if classify(element_field(field)) == "list" else encode_binary_column
    spans, items = text.element_values(array, field, render)
    return [None if span is None else items[span[0] : span[1]] for span in spans]


def _array_binary(items: list, depth: int, element_oid: int) -> bytes:
    dims: list[int] = []
    level = [items]
    for _ in range(depth):
        if not level:
            break
        if any(sub is None for sub in level):
            raise RaggedArrayError
        lengths = {len(sub) for sub in level}
        if len(lengths) > 1:
            raise RaggedArrayError
        dims.append(lengths.pop())
        level = [item for sub in level for item in sub]
    if not level:  # PostgreSQL has one empty array: no dimensions at all
        return struct.pack(">iii", 0, 0, element_oid)
    has_null = any(item is None for item in level)
    out = bytearray(struct.pack(">iii", depth, has_null, element_oid))
    for length in dims:
        out += struct.pack(">ii", length, 1)
    for item in level:
        if item is None:
            out += b"\xff\xff\xff\xff"
        else:
            out += struct.pack(">i", len(item))
            out += item
    return bytes(out)


def _record_values(array: pa.Array, field: pa.Field) -> Values:
    """record_send: int32 field count, then per field its type OID (as
    ``pg_type_for`` announces it: the engine names a field of a composite type in the
    column's field, engine/statement.py) and int32 length + bytes, or -1 for NULL."""
    typ = field.type if pa.types.is_struct(field.type) \
        and field.type.num_fields == array.type.num_fields else array.type
    oids = [pg_type_for(typ.field(i)).oid for i in range(typ.num_fields)]
    columns = [encode_binary_column(array.field(i), typ.field(i))
               for i in range(typ.num_fields)]
    head = struct.pack(">i", typ.num_fields)
    out: Values = []
    for row, ok in enumerate(array.is_valid().to_pylist()):
        if not ok:
            out.append(None)
            continue
        value = bytearray(head)
        for oid, column in zip(oids, columns, strict=True):
            item = column[row]
            value += struct.pack(">Ii", oid, -1 if item is None else len(item))
            if item is not None:
                value += item
        out.append(bytes(value))
    return out


def _dictionary_values(array: pa.Array, field: pa.Field) -> Values:
    return text.decode_dictionary(array, field, encode_binary_column)


_BINARY: dict[str, Callable[[pa.Array, pa.Field], Values]] = {
    "bool": _bool_values,
    "int2": _int_values,
    "int4": _int_values,
    "int8": _int_values,
    "oid": _int_values,
    "uint64": _uint64_values,
    "hugeint": _hugeint_values,
    "uhugeint": _hugeint_values,
    "bignum": _bignum_values,
    "decimal": _decimal_values,
    "float4": _float4_values,
    "float8": _float8_values,
    "text": _string_values,
    "json": _string_values,
    "jsonb": lambda array, _field: jsonb.binary(array.to_pylist()),
    "bytea": _bytea_values,
    "varbit": _varbit_values,
    "uuid": _uuid_values,
    "date": _date_values,
    "time": _time_values,
    "timetz": _timetz_values,
    "timestamp": _timestamp_values,
    "timestamptz": _timestamp_values,
    "interval": _interval_values,
    "list": _list_values,
    "dictionary": _dictionary_values,
    "struct": _record_values,
    "scaled_numeric": _scaled_numeric_values,
    "regtype": _reg_values,
    "regclass": _reg_values,
    "regnamespace": _reg_values,
    "map": _json_values,
    "union": _json_values,
    "unknown": _text_values,
}
