"""DataRows from the Rust codec must equal the pure-Python reference byte for byte.

``encode_rows(..., codec="python")`` is the reference: the Python encoders and the
Python assembly. ``codec="rust"`` hands the int2/int4/int8, bool, text/json, ENUM,
float4/float8, numeric (decimal128, uint64, hugeint, uhugeint, VARINT), bytea, uuid,
BIT, date, time, TIMETZ, timestamp, timestamptz and interval columns, lists of those
(multi-dimensional when nested), and STRUCT / MAP / UNION (json) of any of these, to
``_native.encode_data_rows`` as (trees of) Arrow arrays and every other column as the
Python encoder's values (float16, date64 and duration us/ns are read natively too).
Hypothesis builds random batches (nulls, slices with non-zero offsets, empty batches,
no columns, extreme integers, multi-byte text, every float class and bit pattern,
DuckDB's date and timestamp infinities and range ends in every unit, empty and long
bytea, decimals at the int128 and precision-38 limits in every scale, times outside a
day, intervals with mixed signs and extreme fields, lists with NULL lists and
elements, empty lists and elements array_out quotes, ENUMs of every index type with
NULL and quoted labels and sliced dictionaries, BITs of every padding, every TIMETZ bit
pattern, VARINTs up to 4300 digits and odd headers, string and binary views inline and
in several data buffers; structs, maps and sparse and dense unions nested in each
other and in lists, NULL and sliced at every level, JSON's special texts and numbers;
2-D and 3-D arrays, rectangular, ragged or with NULL sub-lists) and compares both, in
text, binary and mixed formats (a ragged binary array: both raise RaggedArrayError).

timestamptz text in a named zone: Rust reads the zone's TZif file (the one zoneinfo
reads) and must give zoneinfo's offsets. Every zone of the tz database is checked at
every transition of its file, and at its rule's switches in later years; Hypothesis
draws zones (all of them, and hand-picked hard ones) with instants at transitions,
at rule switches, whole 400-year cycles away and anywhere in DuckDB's range; and
makes TZif files of its own (v1 to v3, POSIX rules of every form, crowded and
unsorted transitions) and hostile ones, which Rust must refuse or read as zoneinfo
does. The native module must be built.
"""

from __future__ import annotations

import datetime as dt
import decimal
import functools
import importlib.resources
import io
import json
import math
import struct
import sys
import zoneinfo

import pyarrow as pa
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import duckdb

from duckgres_trio import _native
from duckgres_trio.wire import backend, rows, text, unbounded
from duckgres_trio.wire.binary import RaggedArrayError, encode_binary_column
from duckgres_trio.wire.rows import encode_rows
from duckgres_trio.wire.text import encode_text_column
from tests.support.examples import examples

INT_TYPES = [pa.int8(), pa.int16(), pa.int32(), pa.int64(), pa.uint8(), pa.uint16(), pa.uint32()]
BOOL8_META = {b"ARROW:extension:name": b"arrow.bool8", b"ARROW:extension:metadata": b""}


def int_values(typ: pa.DataType):
    bits = typ.bit_width
    lo, hi = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if pa.types.is_signed_integer(typ) else (0, 2**bits - 1)
    return st.one_of(st.sampled_from([lo, hi, 0, -1 if lo else 1]), st.integers(lo, hi))


# (field maker, value strategy, array maker): each makes one column of a batch.
def plain(typ: pa.DataType, values):
    return (lambda name: pa.field(name, typ), values, lambda vals: pa.array(vals, typ))


def bool8(metadata_only: bool):
    """DuckDB's BOOLEAN: arrow.bool8, int8 storage, nonzero is true. An older pyarrow
    leaves it as int8 plus field metadata, so both shapes are covered."""
    if metadata_only:
        return (lambda name: pa.field(name, pa.int8(), metadata=BOOL8_META),
                st.integers(-128, 127), lambda vals: pa.array(vals, pa.int8()))
    return (lambda name: pa.field(name, pa.bool8()), st.integers(-128, 127),
            lambda vals: pa.ExtensionArray.from_storage(pa.bool8(), pa.array(vals, pa.int8())))


def float_from_bits(bits: int) -> float:
    return struct.unpack("<d", struct.pack("<Q", bits))[0]


def float32_from_bits(bits: int) -> float:
    return struct.unpack("<f", struct.pack("<I", bits))[0]


#: Floats whose text is easy to get wrong: classes, range ends, subnormals, the
#: fixed/exponent switch points, 17-digit values, values PostgreSQL prints longer
#: than Python's repr (its Ryu excludes the interval bounds), NaNs with payloads.
SPECIAL_FLOATS = [
    math.nan, math.inf, -math.inf, 0.0, -0.0, 5e-324, -5e-324, 2.2250738585072014e-308,
    2.225073858507201e-308, 1.7976931348623157e308, -1.7976931348623157e308, 1e-300, 1e300,
    0.1, 1 / 3, 0.1 + 0.2, 6.4527064814438464e16, 9007199254740993.0, 2.0**53, 2.0**63,
    1e15, 1e16, 999999999999999.0, 1e-4, 1e-5, 9.999999999999999e-5, 123456789012345680.0,
    1.2345678901234567e-7, 4.35, 5e-5, 100.0, float_from_bits(0x7FF8000000000123),
    float_from_bits(0xFFF8000000000000), float_from_bits(0x7FF0000000000001),
]
SPECIAL_FLOAT32 = [
    math.nan, math.inf, -math.inf, 0.0, -0.0, float32_from_bits(1), float32_from_bits(0x007FFFFF),
    float32_from_bits(0x00800000), float32_from_bits(0x7F7FFFFF), 0.1, 1e6, 999999.0,
    16777216.0, 1e-4, 1e-5, 3.4028234663852886e38, float32_from_bits(0x7FC00001),
    float32_from_bits(0xFFC00000),
]
float64s = st.one_of(
    st.sampled_from(SPECIAL_FLOATS),
    st.floats(),
    st.integers(0, 2**64 - 1).map(float_from_bits),
    st.integers(-(10**9), 10**9).map(lambda n: n / 1000),
)
float32s = st.one_of(
    st.sampled_from(SPECIAL_FLOAT32),
    st.floats(width=32),
    st.integers(0, 2**32 - 1).map(float32_from_bits),
)

I32_MIN, I32_MAX = -(2**31), 2**31 - 1
I64_MIN, I64_MAX = -(2**63), 2**63 - 1
#: date32: DuckDB's +-infinity (+-(2^31 - 1)), int32's ends, DuckDB's finite range
#: ends (5877642-06-25 BC, 5881580-07-10), the BC/AD switch, PostgreSQL's epoch.
SPECIAL_DAYS = [0, I32_MAX, -I32_MAX, I32_MIN, I32_MAX - 1, -I32_MAX + 1, -719162, -719163,
                -719528, -719529, 10957, -1, 2932896, -2451545]
days = st.one_of(st.sampled_from(SPECIAL_DAYS), st.integers(I32_MIN, I32_MAX),
                 st.integers(-800_000, 3_000_000))
#: int64 timestamps in any unit: the infinities (+-(2^63 - 1)), int64's ends, DuckDB's
#: TIMESTAMP range ends in microseconds, around the epochs and the BC/AD switch.
SPECIAL_TIMESTAMPS = [0, -1, 1, I64_MAX, -I64_MAX, I64_MIN, I64_MAX - 1, -I64_MAX + 1,
                      9223372036854775806, -9223372022400000000, 946684800000000,
                      -62135596800000000, -62135596800000001, -62135596800, 86_399_999_999,
                      -86_400_000_000]
timestamps = st.one_of(st.sampled_from(SPECIAL_TIMESTAMPS), st.integers(I64_MIN, I64_MAX),
                       st.integers(-(10**17), 10**17), st.integers(-(10**12), 10**12))
blobs = st.one_of(st.binary(max_size=40), st.binary(min_size=200, max_size=3000))
ZONES = ["UTC", "+05:30", "-03:00", "+00:00", "-00:00", "+23:59", "-23:59", "+13:45",
         "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "Europe/Dublin", "Etc/UTC"]
UUID_META = {b"ARROW:extension:name": b"arrow.uuid", b"ARROW:extension:metadata": b""}
JSON_META = {b"ARROW:extension:name": b"arrow.json", b"ARROW:extension:metadata": b""}


def viewed(storage: pa.DataType, typ: pa.DataType, values):
    """Integers as `storage`, seen as `typ` (dates and timestamps outside Python's
    datetime range, which pa.array would not take as datetimes)."""
    return (lambda name: pa.field(name, typ), values, lambda vals: pa.array(vals, storage).view(typ))


def extension(ext: pa.DataType, storage: pa.DataType, metadata: dict, values, metadata_only: bool):
    """An extension column, or its storage plus field metadata (older pyarrow)."""
    if metadata_only:
        return (lambda name: pa.field(name, storage, metadata=metadata), values,
                lambda vals: pa.array(vals, storage))
    return (lambda name: pa.field(name, ext), values,
            lambda vals: pa.ExtensionArray.from_storage(ext, pa.array(vals, storage)))


OLD_NATIVE_COLUMNS = [
    *(plain(t, int_values(t)) for t in INT_TYPES),
    plain(pa.bool_(), st.booleans()),
    bool8(metadata_only=False),
    bool8(metadata_only=True),
    plain(pa.string(), st.text()),
    plain(pa.large_string(), st.text()),
]
FLOAT_COLUMNS = [plain(pa.float64(), float64s), plain(pa.float32(), float32s)]
DATETIME_COLUMNS = [
    viewed(pa.int32(), pa.date32(), days),
    *(viewed(pa.int64(), pa.timestamp(unit), timestamps) for unit in ("s", "ms", "us", "ns")),
    *(viewed(pa.int64(), pa.timestamp(unit, tz=zone), timestamps)
      for unit in ("s", "us", "ns") for zone in ZONES),
]
BYTES_COLUMNS = [
    plain(pa.binary(), blobs),
    plain(pa.large_binary(), blobs),
    plain(pa.binary(3), st.binary(min_size=3, max_size=3)),
    plain(pa.binary(0), st.just(b"")),
    extension(pa.uuid(), pa.binary(16), UUID_META, st.binary(min_size=16, max_size=16), False),
    extension(pa.uuid(), pa.binary(16), UUID_META, st.binary(min_size=16, max_size=16), True),
    extension(pa.json_(), pa.string(), JSON_META, st.text(), False),
    extension(pa.json_(), pa.large_string(), JSON_META, st.text(), True),
]
NEW_NATIVE_COLUMNS = FLOAT_COLUMNS + DATETIME_COLUMNS + BYTES_COLUMNS

I128_MIN, I128_MAX = -(2**127), 2**127 - 1
U128_MAX = 2**128 - 1


def decimals(precision: int, scale: int, raw: bool = False):
    """decimal128(precision, scale) of unscaled integers within the precision or, with
    `raw`, of any int128 (DuckDB never sends more digits than p; the bytes decide),
    made from their bytes."""
    typ = pa.decimal128(precision, scale)
    if raw:
        values = st.one_of(st.sampled_from([I128_MIN, I128_MAX, 0, -1, 1]),
                           st.integers(I128_MIN, I128_MAX))
    else:
        top = 10**precision - 1
        edges = [v for v in (top, -top, 0, 1, -1, 10**scale, -(10**scale), 10**scale - 1, 9999, 10000)
                 if abs(v) <= top]
        values = st.one_of(st.sampled_from(edges), st.integers(-top, top),
                           st.integers(-min(top, 10**6), min(top, 10**6)))
    return (lambda name: pa.field(name, typ), values, lambda vals: pa.array(
        [None if v is None else v.to_bytes(16, "little", signed=True) for v in vals],
        pa.binary(16)).view(typ))


def opaque16(type_name: str, signed: bool, metadata_only: bool):
    """DuckDB's HUGEINT / UHUGEINT: arrow.opaque over 16 little-endian bytes."""
    lo, hi = (I128_MIN, I128_MAX) if signed else (0, U128_MAX)
    values = st.one_of(st.sampled_from([lo, hi, 0, 1, 10**38, 10**38 - 1]), st.integers(lo, hi),
                       st.integers(-(10**9) if signed else 0, 10**9))
    meta = {b"ARROW:extension:name": b"arrow.opaque", b"ARROW:extension:metadata":
            json.dumps({"type_name": type_name, "vendor_name": "DuckDB"}).encode()}
    return extension(pa.opaque(pa.binary(16), type_name, "DuckDB"), pa.binary(16), meta,
                     values.map(lambda v: v.to_bytes(16, "little", signed=signed)), metadata_only)


NUMERIC_COLUMNS = [
    *(decimals(p, s) for p, s in ((38, 0), (38, 38), (38, 10), (18, 4), (12, 3), (5, 2), (1, 0), (4, 4))),
    decimals(38, 0, raw=True),
    decimals(38, 38, raw=True),
    decimals(38, 5, raw=True),
    plain(pa.uint64(), int_values(pa.uint64())),
    opaque16("hugeint", True, False),
    opaque16("hugeint", True, True),
    opaque16("uhugeint", False, False),
    opaque16("uhugeint", False, True),
]
USECS_PER_DAY = 86_400_000_000
day_usecs = st.one_of(st.sampled_from([0, 1, USECS_PER_DAY - 1, USECS_PER_DAY, 3_723_500_000]),
                      st.integers(0, USECS_PER_DAY))
TIME_COLUMNS = [
    viewed(pa.int64(), pa.time64("us"), day_usecs),
    viewed(pa.int64(), pa.time64("ns"), st.one_of(day_usecs.map(lambda us: us * 1000),
                                                  st.integers(0, USECS_PER_DAY * 1000))),
    viewed(pa.int32(), pa.time32("s"), st.integers(0, 86_400)),
    viewed(pa.int32(), pa.time32("ms"), st.integers(0, 86_400_000)),
    # No DuckDB TIME is negative or past 24:00, but both encoders print them alike.
    viewed(pa.int64(), pa.time64("us"), st.integers(I64_MIN, I64_MAX)),
    viewed(pa.int64(), pa.time64("ns"), st.integers(I64_MIN, I64_MAX)),
    viewed(pa.int32(), pa.time32("s"), st.integers(I32_MIN, I32_MAX)),
    viewed(pa.int32(), pa.time32("ms"), st.integers(I32_MIN, I32_MAX)),
]
#: (months, days, nanoseconds): EncodeInterval's sign rules, C truncation of
#: negative months and microseconds, the int32/int64 ends, sub-microsecond nanos.
SPECIAL_INTERVALS = [
    (0, 0, 0), (14, -3, 14_706_789_000_000), (0, 0, -1000), (0, 0, -1), (0, 0, 999), (-1, 0, 0),
    (-13, 0, 0), (-12, 5, 0), (0, -1, 1000), (1, 1, 0), (12, 0, 0), (0, 0, 86_400_000_000_000),
    (I32_MIN, I32_MIN, I64_MIN), (I32_MAX, I32_MAX, I64_MAX), (-1, 1, -1_000_000_000), (0, 1, -1000),
]
intervals = st.one_of(
    st.sampled_from(SPECIAL_INTERVALS),
    st.tuples(st.integers(-30, 30), st.integers(-40, 40),
              st.integers(-(10**14), 10**14).map(lambda us: us * 1000)),
    st.tuples(st.integers(I32_MIN, I32_MAX), st.integers(I32_MIN, I32_MAX), st.integers(I64_MIN, I64_MAX)),
)
INTERVAL_COLUMN = (
    lambda name: pa.field(name, pa.month_day_nano_interval()), intervals,
    lambda vals: pa.array([None if v is None else pa.MonthDayNano(list(v)) for v in vals],
                          pa.month_day_nano_interval()))

#: Texts array_out quotes (empty, NULL in any case, white space, quotes, backslashes,
#: braces, the delimiter) and some it must not.
ARRAY_TEXTS = st.one_of(
    st.sampled_from(["", "NULL", "null", "NuLl", "NULL ", "NULLx", "a b", 'x"y', "a\\b", "\\", "{", "}",
                     "{}", ",", "\t", "\n", "\r", "\x0b", "\x0c", "é", "𝄞 ✓", "\x00", "\xa0", "'"]),
    st.text(max_size=8),
)


def listed(column, layout: str = "list", size: int = 2):
    """A list column of `column`'s values (layout list, large or fixed of `size`),
    its elements themselves sliced out of a longer array."""
    make_field, values, make_array = column
    element = st.one_of(st.none(), values)
    if layout == "fixed":
        lists = st.lists(element, min_size=size, max_size=size)
    else:
        lists = st.lists(element, max_size=5)
    list_type = {"list": pa.list_, "large": pa.large_list}.get(layout)

    def typ():
        field = make_field("item")
        return pa.list_(field, size) if layout == "fixed" else list_type(field)

    def make(vals):
        filler = [None] * size if layout == "fixed" else []
        flat = [x for v in vals for x in (filler if v is None else v)]
        elements = make_array([None, None, *flat]).slice(2)
        mask = pa.array([v is None for v in vals], pa.bool_())
        if layout == "fixed":
            return pa.FixedSizeListArray.from_arrays(elements, type=typ(), mask=mask)
        ends, at = [0], 0
        for v in vals:
            at += 0 if v is None else len(v)
            ends.append(at)
        cls = pa.LargeListArray if layout == "large" else pa.ListArray
        offsets = pa.array(ends, pa.int64() if layout == "large" else pa.int32())
        return cls.from_arrays(offsets, elements, type=typ(), mask=mask)

    return (lambda name: pa.field(name, typ()), lists, make)


LIST_ELEMENTS = [
    plain(pa.int32(), int_values(pa.int32())),
    plain(pa.int64(), int_values(pa.int64())),
    plain(pa.uint32(), int_values(pa.uint32())),
    plain(pa.bool_(), st.booleans()),
    bool8(metadata_only=False),
    plain(pa.string(), ARRAY_TEXTS),
    plain(pa.large_string(), ARRAY_TEXTS),
    extension(pa.json_(), pa.string(), JSON_META, ARRAY_TEXTS, False),
    *FLOAT_COLUMNS,
    decimals(10, 2),
    decimals(38, 38),
    decimals(38, 0, raw=True),
    plain(pa.uint64(), int_values(pa.uint64())),
    opaque16("hugeint", True, False),
    plain(pa.binary(), st.binary(max_size=6)),
    extension(pa.uuid(), pa.binary(16), UUID_META, st.binary(min_size=16, max_size=16), False),
    viewed(pa.int32(), pa.date32(), days),
    viewed(pa.int64(), pa.time64("us"), day_usecs),
    viewed(pa.int64(), pa.timestamp("us"), timestamps),
    viewed(pa.int64(), pa.timestamp("ns", tz="+05:30"), timestamps),
    viewed(pa.int64(), pa.timestamp("us", tz="America/New_York"), st.integers(-(10**17), 10**17)),
    viewed(pa.int64(), pa.timestamp("ms", tz="Australia/Lord_Howe"), timestamps),
    INTERVAL_COLUMN,
]
LIST_COLUMNS = [
    *(listed(element) for element in LIST_ELEMENTS),
    listed(plain(pa.string(), ARRAY_TEXTS), "large"),
    listed(plain(pa.int16(), int_values(pa.int16())), "large"),
    listed(decimals(12, 3), "large"),
    listed(plain(pa.string(), ARRAY_TEXTS), "fixed", 3),
    listed(plain(pa.float64(), float64s), "fixed", 1),
    listed(viewed(pa.int64(), pa.timestamp("ms"), timestamps), "fixed", 2),
    listed(plain(pa.int8(), int_values(pa.int8())), "fixed", 1),
]
KIND_COLUMNS = NUMERIC_COLUMNS + TIME_COLUMNS + [INTERVAL_COLUMN] + LIST_COLUMNS


def opaque(storage: pa.DataType, type_name: str, values, metadata_only: bool):
    """One of DuckDB's own types: arrow.opaque over `storage` (bytes values)."""
    meta = {b"ARROW:extension:name": b"arrow.opaque", b"ARROW:extension:metadata":
            json.dumps({"type_name": type_name, "vendor_name": "DuckDB"}).encode()}
    return extension(pa.opaque(storage, type_name, "DuckDB"), storage, meta, values, metadata_only)


#: ENUM labels: ones array_out quotes, multi-byte text, and NULL (None): a NULL label
#: is a NULL value, whatever the index.
ENUM_LABELS = ["", "very happy", "sad", "NULL", "a,b", None, "é", 'x"y', "{}", "ok"]
INDEX_TYPES = [pa.int8(), pa.int16(), pa.int32(), pa.int64(), pa.uint8(), pa.uint16(), pa.uint32(),
               pa.uint64()]


def enums(index_type: pa.DataType, label_type: pa.DataType = pa.string(), skip: int = 2):
    """DuckDB's ENUM: a dictionary of strings (itself sliced out of a longer array at
    `skip`), indices of `index_type` into it."""

    def make(vals):
        dictionary = pa.array(["?"] * skip + ENUM_LABELS, label_type).slice(skip)
        return pa.DictionaryArray.from_arrays(pa.array(vals, index_type), dictionary)

    return (lambda name: pa.field(name, pa.dictionary(index_type, label_type)),
            st.integers(0, len(ENUM_LABELS) - 1), make)


#: DuckDB BIT: a padding byte (0 to 7, the padding bits set to 1 as DuckDB sets them,
#: or anything), then the bits; a padding longer than a byte, as the reference reads
#: it too; the padding byte alone.
bit_values = st.one_of(
    st.tuples(st.integers(0, 7), st.binary(min_size=1, max_size=40)).map(
        lambda pd: bytes([pd[0], pd[1][0] | (0xFF00 >> pd[0] & 0xFF)]) + pd[1][1:]),
    st.binary(min_size=1, max_size=600).flatmap(
        lambda bits: st.integers(0, min(255, 8 * len(bits))).map(lambda padding: bytes([padding]) + bits)),
    st.sampled_from([b"\x00", b"\x04\xf5", b"\x07\xff", b"\x00\xaa", b"\x05\xfd\x55", b"\x08\xff"]),
)


def timetz_bits(usecs: int, offset_east: int) -> bytes:
    """DuckDB TIMETZ: uint64 LE, micros << 24 | (57599 - offset east in seconds)."""
    return (usecs << 24 | (57599 - offset_east)).to_bytes(8, "little")


#: DuckDB's range (a day, +-15:59:59) and every other bit pattern.
timetz_values = st.one_of(
    st.tuples(day_usecs, st.sampled_from([0, 19800, -57599, 57599, -3600, 1, -61])).map(
        lambda v: timetz_bits(*v)),
    st.tuples(day_usecs, st.integers(-57599, 57599)).map(lambda v: timetz_bits(*v)),
    st.binary(min_size=8, max_size=8),
    st.sampled_from([b"\xff" * 8, bytes(8)]),
)


def varint_bytes(value: int) -> bytes:
    """DuckDB VARINT: 3-byte header (top bit set, the magnitude's byte count), then
    the big-endian magnitude; every byte inverted for a negative value."""
    magnitude = abs(value).to_bytes(max(1, (abs(value).bit_length() + 7) // 8), "big")
    data = (0x800000 | len(magnitude)).to_bytes(3, "big") + magnitude
    return bytes(0xFF - b for b in data) if value < 0 else data


#: Python prints at most 4300 digits (sys.int_max_str_digits): 10^4299 - 1 is near.
VARINT_EDGES = [0, 1, -1, 255, -256, 9999, 10000, -(10**24) + 1, 2**63, -(2**127), 2**128,
                10**38, 10**4299 - 1, -(10**4299) + 1, 10**4000]
varint_values = st.one_of(
    st.sampled_from(VARINT_EDGES).map(varint_bytes),
    st.integers(-(2**200), 2**200).map(varint_bytes),
    st.integers(0, 10**4299 - 1).map(varint_bytes),
    # What the reference reads too: a magnitude with leading zero bytes, a header alone
    # or cut short (zero), any bytes at all.
    st.integers(-(10**30), 10**30).map(lambda v: varint_bytes(v)[:3] + bytes(2) + varint_bytes(v)[3:]),
    st.sampled_from([b"\x80", b"\x00\x01", b"\x7f\xff\xfe", b"\x7f\xff\xfe\xff\xff"]),
    st.binary(min_size=1, max_size=60),
)

DUCKDB_TYPE_COLUMNS = [
    *(enums(t) for t in INDEX_TYPES),
    enums(pa.int16(), pa.large_string(), skip=0),
    enums(pa.uint8(), skip=5),
    opaque(pa.binary(), "bit", bit_values, False),
    opaque(pa.binary(), "bit", bit_values, True),
    opaque(pa.large_binary(), "bit", bit_values, False),
    opaque(pa.binary(8), "time_tz", timetz_values, False),
    opaque(pa.binary(8), "time_tz", timetz_values, True),
    opaque(pa.binary(), "bignum", varint_values, False),
    opaque(pa.binary(), "bignum", varint_values, True),
    opaque(pa.large_binary(), "bignum", varint_values, False),
]
DUCKDB_TYPE_LISTS = [
    listed(enums(pa.int8())),
    listed(enums(pa.uint32(), pa.large_string(), skip=0), "large"),
    listed(enums(pa.int16()), "fixed", 2),
    listed(opaque(pa.binary(), "bit", bit_values, False)),
    listed(opaque(pa.binary(8), "time_tz", timetz_values, False)),
    listed(opaque(pa.binary(), "bignum", varint_values, False), "fixed", 2),
    listed(opaque(pa.large_binary(), "bignum", varint_values, False), "large"),
]
DUCKDB_TYPE_COLUMNS += DUCKDB_TYPE_LISTS

#: Views hold up to 12 bytes inline, longer values in a data buffer.
view_texts = st.one_of(st.text(max_size=12), st.text(min_size=13, max_size=60), ARRAY_TEXTS)
view_blobs = st.one_of(st.binary(max_size=12), st.binary(min_size=13, max_size=300))


def views_in_buffers(typ: pa.DataType, values):
    """A view array whose long values are in several data buffers (one per chunk)."""
    def make(vals):
        third = len(vals) // 3
        return pa.concat_arrays([pa.array(vals[:third], typ), pa.array(vals[third:2 * third], typ),
                                 pa.array(vals[2 * third:], typ)])

    return (lambda name: pa.field(name, typ), values, make)


VIEW_COLUMNS = [
    plain(pa.string_view(), view_texts),
    plain(pa.binary_view(), view_blobs),
    views_in_buffers(pa.string_view(), view_texts),
    views_in_buffers(pa.binary_view(), view_blobs),
    extension(pa.json_(pa.string_view()), pa.string_view(), JSON_META, view_texts, False),
    extension(pa.json_(pa.string_view()), pa.string_view(), JSON_META, view_texts, True),
    listed(plain(pa.string_view(), view_texts)),
    listed(plain(pa.binary_view(), view_blobs), "fixed", 2),
]
MS_PER_DAY = 86_400_000
#: date64 milliseconds: whole days and not, before 1970 (floored), the date32
#: infinities' days (the reference prints those 'infinity' too), int64's ends.
SPECIAL_DATE64 = [0, -1, 1, MS_PER_DAY - 1, -MS_PER_DAY, I32_MAX * MS_PER_DAY, I32_MAX * MS_PER_DAY + 5,
                  -I32_MAX * MS_PER_DAY, -I32_MAX * MS_PER_DAY + 1, (I32_MAX + 10957) * MS_PER_DAY,
                  I64_MIN, I64_MAX, 946_684_800_000]
#: float16 bit patterns: zeros, subnormals, the largest finite, infinities, NaNs.
SPECIAL_HALVES = [0x0000, 0x8000, 0x0001, 0x03FF, 0x0400, 0x7BFF, 0xFBFF, 0x7C00, 0xFC00, 0x7E00,
                  0xFE01, 0x3C00, 0x3555, 0x2E66]
OTHER_ARROW_COLUMNS = [
    plain(pa.float16(), st.floats(width=16)),
    viewed(pa.uint16(), pa.float16(), st.one_of(st.sampled_from(SPECIAL_HALVES), st.integers(0, 0xFFFF))),
    plain(pa.date64(), st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31))),
    viewed(pa.int64(), pa.date64(), st.one_of(st.sampled_from(SPECIAL_DATE64), st.integers(I64_MIN, I64_MAX),
                                              st.integers(-(10**14), 10**14))),
    *(viewed(pa.int64(), pa.duration(unit), st.one_of(st.sampled_from(SPECIAL_TIMESTAMPS),
                                                      st.integers(I64_MIN, I64_MAX)))
      for unit in ("us", "ns")),
    listed(viewed(pa.uint16(), pa.float16(), st.integers(0, 0xFFFF))),
    listed(viewed(pa.int64(), pa.date64(), st.integers(-(10**14), 10**14)), "large"),
    listed(viewed(pa.int64(), pa.duration("ns"), st.integers(I64_MIN, I64_MAX)), "fixed", 2),
]
NATIVE_COLUMNS = (OLD_NATIVE_COLUMNS + NEW_NATIVE_COLUMNS + KIND_COLUMNS + DUCKDB_TYPE_COLUMNS
                  + VIEW_COLUMNS + OTHER_ARROW_COLUMNS + [
                      # Nested lists, rectangular (a ragged one has no binary form in either
                      # codec): a 2-D array.
                      plain(pa.list_(pa.list_(pa.int32(), 2)),
                            st.lists(st.lists(st.one_of(st.none(), st.integers(-5, 5)), min_size=2, max_size=2),
                                     max_size=3)),
                  ])
# Kinds or layouts the Rust side leaves to Python (timestamptz in a zone Python reads
# as a fixed offset with non-ASCII digits: only its text; the binary form is native).
PYTHON_COLUMNS = [
    # A dictionary of other than strings: announced as its values' type (int4).
    (lambda name: pa.field(name, pa.dictionary(pa.int8(), pa.int32())), st.integers(0, 2),
     lambda vals: pa.DictionaryArray.from_arrays(pa.array(vals, pa.int8()), pa.array([5, None, -7], pa.int32()))),
    plain(pa.decimal256(40, 3), st.decimals(-(10**8), 10**8, places=3, allow_nan=False, allow_infinity=False)),
    (lambda name: pa.field(name, pa.decimal128(5, -2)), st.integers(-99999, 99999),
     lambda vals: pa.array([None if v is None else decimal.Decimal(f"{v}E2") for v in vals],
                           pa.decimal128(5, -2))),
    # Seconds and milliseconds can pass int64 microseconds (binary: a struct.error in
    # the reference); here they stay inside.
    viewed(pa.int64(), pa.duration("s"), st.integers(-(I64_MAX // 10**6), I64_MAX // 10**6)),
    viewed(pa.int64(), pa.duration("ms"), st.integers(-(I64_MAX // 1000), I64_MAX // 1000)),
    viewed(pa.int64(), pa.timestamp("us", tz="+\u0660\u0665:\u0663\u0660"), st.integers(-(10**17), 10**17)),
]


class Columns(list):
    """Column makers under a name: Hypothesis prints a strategy's arguments, and the
    full list of makers runs to tens of kilobytes."""

    def __init__(self, name: str, makers) -> None:
        super().__init__(makers)
        self.name = name

    def __repr__(self) -> str:
        return self.name


@st.composite
def batches(draw, kinds, max_columns: int = 5):
    """A record batch of columns drawn from `kinds`, each sliced out of a longer
    array at a random offset, with random NULLs."""
    n = draw(st.integers(0, 20))
    columns, fields = [], []
    makers = kinds if isinstance(kinds, st.SearchStrategy) else st.sampled_from(kinds)
    for i in range(draw(st.integers(0, max_columns))):
        make_field, values, make_array = draw(makers)
        before, after = draw(st.integers(0, 9)), draw(st.integers(0, 3))
        nullable = draw(st.booleans())
        item = st.one_of(st.none(), values) if nullable else values
        vals = draw(st.lists(item, min_size=before + n + after, max_size=before + n + after))
        columns.append(make_array(vals).slice(before, n))
        fields.append(make_field(f"c{i}"))
    if not columns:  # no columns, yet n rows
        return pa.record_batch([pa.nulls(n)], names=["x"]).select([])
    return pa.RecordBatch.from_arrays(columns, schema=pa.schema(fields))


def formats_for(draw, batch: pa.RecordBatch) -> list[int]:
    mode = draw(st.sampled_from(["text", "binary", "mixed", "default"]))
    if mode == "default":
        return []
    if mode == "mixed":
        return draw(st.lists(st.sampled_from([0, 1]), min_size=batch.num_columns, max_size=batch.num_columns))
    return [int(mode == "binary")] * batch.num_columns


def reference(batch: pa.RecordBatch, formats: list[int]) -> bytes:
    """An independent assembly: each row through backend.data_row."""
    formats = formats or [0] * batch.num_columns
    encoders = (encode_text_column, encode_binary_column)
    columns = [encoders[f](batch.column(i), batch.schema.field(i)) for i, f in enumerate(formats)]
    if not columns:
        return backend.data_row(()) * batch.num_rows
    return b"".join(backend.data_row(values) for values in zip(*columns))


def check(batch: pa.RecordBatch, formats: list[int]) -> bool:
    """Both codecs give the same bytes, or both raise RaggedArrayError (a ragged or
    NULL sub-list in binary); returns whether they gave bytes."""
    try:
        python = encode_rows(batch, formats, codec="python")
    except RaggedArrayError:
        with pytest.raises(RaggedArrayError):
            encode_rows(batch, formats, codec="rust")
        return False
    assert python == reference(batch, formats)
    assert encode_rows(batch, formats, codec="rust") == python
    return True


@settings(max_examples=examples(400), deadline=None)
@given(st.data())
def test_native_columns_match_python(data):
    batch = data.draw(batches(Columns("NATIVE_COLUMNS", NATIVE_COLUMNS)))
    check(batch, formats_for(data.draw, batch))


@settings(max_examples=examples(400), deadline=None)
@given(st.data())
def test_floats_dates_timestamps_bytes_match_python(data):
    batch = data.draw(batches(Columns("NEW_NATIVE_COLUMNS", NEW_NATIVE_COLUMNS), max_columns=6))
    check(batch, formats_for(data.draw, batch))


@settings(max_examples=examples(500), deadline=None)
@given(st.data())
def test_numeric_time_interval_list_columns_match_python(data):
    batch = data.draw(batches(Columns("KIND_COLUMNS", KIND_COLUMNS), max_columns=6))
    check(batch, formats_for(data.draw, batch))


@settings(max_examples=examples(400), deadline=None)
@given(st.data())
def test_enum_bit_timetz_varint_columns_match_python(data):
    batch = data.draw(batches(Columns("DUCKDB_TYPE_COLUMNS", DUCKDB_TYPE_COLUMNS), max_columns=5))
    check(batch, formats_for(data.draw, batch))


@settings(max_examples=examples(200), deadline=None)
@given(st.data())
def test_string_and_binary_views_match_python(data):
    batch = data.draw(batches(Columns("VIEW_COLUMNS", VIEW_COLUMNS), max_columns=4))
    check(batch, formats_for(data.draw, batch))


@settings(max_examples=examples(200), deadline=None)
@given(st.data())
def test_float16_date64_duration_columns_match_python(data):
    batch = data.draw(batches(Columns("OTHER_ARROW_COLUMNS", OTHER_ARROW_COLUMNS), max_columns=4))
    check(batch, formats_for(data.draw, batch))


@settings(max_examples=examples(300), deadline=None)
@given(st.lists(float64s, max_size=200), st.lists(float32s, max_size=200))
def test_float_columns_match_python(doubles, singles):
    for array in (pa.array(doubles, pa.float64()), pa.array(singles, pa.float32())):
        batch = pa.record_batch([array], names=["f"])
        check(batch, [0])
        check(batch, [1])


@settings(max_examples=examples(200), deadline=None)
@given(st.data())
def test_mixed_native_and_python_columns_match_python(data):
    batch = data.draw(batches(Columns("NATIVE + PYTHON_COLUMNS", NATIVE_COLUMNS + PYTHON_COLUMNS),
                              max_columns=6))
    check(batch, formats_for(data.draw, batch))


def test_extremes_and_unicode():
    columns = {
        "i8": pa.array([-128, 127, None, 0], pa.int8()),
        "i64": pa.array([-(2**63), 2**63 - 1, 0, None], pa.int64()),
        "u32": pa.array([2**32 - 1, 0, None, 7], pa.uint32()),
        "u16": pa.array([65535, 0, 1, None], pa.uint16()),
        "b": pa.array([True, False, None, True]),
        "s": pa.array(["", "é", "𝄞 ✓", None]),
        "dec": pa.array([decimal.Decimal("1.50"), None, decimal.Decimal("-0.01"), 0], pa.decimal128(5, 2)),
        "ts": pa.array([dt.datetime(2024, 2, 29, 12), None, dt.datetime(1, 1, 1), dt.datetime(1999, 1, 1)]),
        "f8": pa.array([math.nan, -0.0, None, 5e-324]),
        "f4": pa.array([math.inf, -math.inf, 1e-45, None], pa.float32()),
        "d": pa.array([I32_MAX, -I32_MAX, None, -719163], pa.int32()).view(pa.date32()),
        "tsn": pa.array([I64_MAX, -I64_MAX, I64_MIN, None], pa.int64()).view(pa.timestamp("ns")),
        "tss": pa.array([I64_MAX - 1, None, I64_MIN, -1], pa.int64()).view(pa.timestamp("s")),
        "tz": pa.array([None, 0, -I64_MAX, 1], pa.int64()).view(pa.timestamp("ms", tz="-09:30")),
        "blob": pa.array([b"", None, b"\x00\xff\\", bytes(range(256))]),
        "uuid": pa.ExtensionArray.from_storage(
            pa.uuid(), pa.array([bytes(16), b"\xff" * 16, None, bytes(range(16))], pa.binary(16))),
    }
    batch = pa.record_batch(columns)
    n = batch.num_columns
    for formats in ([0] * n, [1] * n, [0, 1] * (n // 2), [1, 0] * (n // 2)):
        check(batch, formats)
        check(batch.slice(1, 2), formats)
        check(batch.slice(4, 0), formats)


def test_large_bytea():
    big = bytes(range(256)) * 4096  # 1 MiB
    batch = pa.record_batch({
        "b": pa.array([big, b"", None, big[:12345]]),
        "lb": pa.array([b"", big, big[1:], None], pa.large_binary()),
    })
    for formats in ([0, 0], [1, 1], [0, 1], [1, 0]):
        check(batch, formats)
        check(batch.slice(1, 3), formats)


def duckdb_batch(sql: str, zone: str = "UTC") -> pa.RecordBatch:
    """A query's result as the server gets it (lossless Arrow conversion)."""
    with duckdb.connect() as con:
        con.execute("SET arrow_lossless_conversion = true")
        con.execute(f"SET TimeZone = '{zone}'")
        table = con.execute(sql).arrow().read_all()
    return table.combine_chunks().to_batches()[0]


DUCKDB_VALUES = """
SELECT * FROM (VALUES
  (1.5::FLOAT, 0.1::DOUBLE, DATE '2024-02-29', TIMESTAMP '2024-02-29 12:34:56.789',
   TIMESTAMPTZ '2024-02-29 12:34:56.789+02', TIMESTAMP_S '2001-01-01 00:00:01',
   TIMESTAMP_MS '1999-12-31 23:59:59.999', TIMESTAMP_NS '1970-01-01 00:00:00.000000001',
   '\\xDEADBEEF'::BLOB, '00112233-4455-6677-8899-aabbccddeeff'::UUID, '{"a": [1, 2]}'::JSON),
  ('NaN'::FLOAT, '-Infinity'::DOUBLE, 'infinity'::DATE, '-infinity'::TIMESTAMP,
   'infinity'::TIMESTAMPTZ, 'infinity'::TIMESTAMP_S, '-infinity'::TIMESTAMP_MS,
   'infinity'::TIMESTAMP_NS, ''::BLOB, NULL, 'null'::JSON),
  ('-0'::FLOAT, 1e300::DOUBLE, '-infinity'::DATE, 'infinity'::TIMESTAMP,
   '-infinity'::TIMESTAMPTZ, NULL, NULL, NULL, NULL, 'ffffffff-ffff-ffff-ffff-ffffffffffff'::UUID, NULL),
  (NULL, 5e-324::DOUBLE, DATE '5877642-06-25 (BC)', TIMESTAMP '290309-12-22 (BC) 00:00:00',
   TIMESTAMPTZ '0044-03-15 (BC) 12:00:00+00', TIMESTAMP_S '0001-01-01 (BC) 00:00:00', NULL, NULL,
   '\\x00'::BLOB, '00000000-0000-0000-0000-000000000000'::UUID, '"é"'::JSON),
  (3.4028235e38::FLOAT, -1.7976931348623157e308::DOUBLE, DATE '5881580-07-10',
   TIMESTAMP '294247-01-10 04:00:54.775806', TIMESTAMPTZ '294247-01-09 04:00:54.775806+00',
   NULL, NULL, TIMESTAMP_NS '2262-04-11 23:47:16.854775806', NULL, NULL, NULL)
) t(f4, f8, d, ts, tstz, ts_s, ts_ms, ts_ns, blob, u, j)
"""


@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Asia/Kolkata", "Europe/Dublin",
                                  "Australia/Lord_Howe"])
def test_duckdb_results_match_python(zone):
    batch = duckdb_batch(DUCKDB_VALUES, zone)
    n = batch.num_columns
    for formats in ([0] * n, [1] * n, [0, 1] * (n // 2) + [0], [1, 0] * (n // 2) + [1]):
        check(batch, formats)
        check(batch.slice(1, 3), formats)
    ranged = duckdb_batch(
        "SELECT i::DOUBLE / 7 AS f8, (i * 1.1)::FLOAT AS f4, DATE '2000-01-01' + i::INT AS d,"
        " TIMESTAMP '2000-01-01' + i * INTERVAL 1001 SECOND AS ts, md5(i::VARCHAR)::BLOB AS b,"
        " CASE WHEN i % 5 = 0 THEN NULL ELSE i END AS n FROM range(-500, 1500) r(i)", zone)
    for formats in ([0] * 6, [1] * 6):
        check(ranged, formats)
        check(ranged.slice(777, 500), formats)


#: numeric, time and interval values and 1-D lists as DuckDB sends them: DECIMAL at
#: the precision-38 limits, HUGEINT/UHUGEINT/UBIGINT ends, TIME and TIME_NS at the
#: ends of a day, intervals with mixed signs and DuckDB's extremes, lists of every
#: element kind with NULL and quoted elements, empty and NULL lists, ARRAY.
DUCKDB_KINDS = """
SELECT * FROM (VALUES
  (1.50::DECIMAL(10,2), '0.99999999999999999999999999999999999999'::DECIMAL(38,38),
   '-99999999999999999999999999999999999999'::DECIMAL(38,0), 0::DECIMAL(4,0),
   '-170141183460469231731687303715884105728'::HUGEINT, '340282366920938463463374607431768211455'::UHUGEINT,
   18446744073709551615::UBIGINT, TIME '00:00:00', '23:59:59.999999123'::TIME_NS,
   INTERVAL '-1 year 2 months -3 days 04:05:06.789', [1, NULL, 3], ['', NULL, 'a b', 'NULL', 'é', '"q"', 'back\\slash', '{x}', 'a,b'],
   [1.5::DECIMAL(4,1), NULL], [TIME '01:02:03', TIME '24:00:00'], [INTERVAL 1 DAY, INTERVAL '-1 microsecond'],
   [DATE '2020-01-01', 'infinity'::DATE], [TIMESTAMP '2020-01-01 01:02:03.5'], [TIMESTAMPTZ '2020-06-01 12:00:00+00'],
   ['00112233-4455-6677-8899-aabbccddeeff'::UUID], ['\\xDE\\xAD'::BLOB, ''::BLOB], [true, NULL], [1.5::DOUBLE, 'NaN'::DOUBLE],
   [1, 2, 3]::INTEGER[3], ['{"a":1}'::JSON], [2::UBIGINT], [1::HUGEINT]),
  (-0.01::DECIMAL(10,2), '-0.00000000000000000000000000000000000001'::DECIMAL(38,38),
   '99999999999999999999999999999999999999'::DECIMAL(38,0), -7::DECIMAL(4,0),
   '170141183460469231731687303715884105727'::HUGEINT, 0::UHUGEINT, 0::UBIGINT, TIME '23:59:59.999999', NULL,
   INTERVAL '0 seconds', [], [], [], [], [], [], [], [], [], [], [], [], [NULL, NULL, 4]::INTEGER[3], [], [], []),
  (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, to_days(2147483647) + to_months(-2147483648) + to_microseconds(-9223372036854775),
   NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  (12345.67::DECIMAL(10,2), 0::DECIMAL(38,38), 1::DECIMAL(38,0), 9999::DECIMAL(4,0), -1::HUGEINT, 1::UHUGEINT, 1::UBIGINT,
   TIME '12:00:00.5', '00:00:00.000000999'::TIME_NS, INTERVAL '1 month 1 day 1 microsecond',
   [NULL], [NULL, ''], [NULL], [NULL], [NULL], [NULL], [NULL], [NULL], [NULL], [NULL], [NULL], [NULL], NULL, [NULL], [NULL], [NULL])
) t(dec, d38, dbig, d4, huge, uhuge, ubig, tm, tmns, iv, li, ls, ld, lt, liv, ldate, lts, ltz, lu, lb, lbool, lf8, arr, lj, lub, lh)
"""


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata"])
def test_duckdb_numeric_time_interval_lists_match_python(zone):
    batch = duckdb_batch(DUCKDB_KINDS, zone)
    n = batch.num_columns
    for formats in ([0] * n, [1] * n, [0, 1] * (n // 2), [1, 0] * (n // 2)):
        check(batch, formats)
        check(batch.slice(1, 2), formats)
    ranged = duckdb_batch(
        "SELECT (i * 12345)::DECIMAL(18, 4) / 7 AS dec, i::HUGEINT * 170141183460469231 AS huge,"
        " TIME '00:00:00' + i * INTERVAL 43 SECOND AS t, i * INTERVAL '1 month -1 day 1.5 second' AS iv,"
        " CASE WHEN i % 7 = 0 THEN NULL ELSE [i, NULL, -i] END AS li,"
        " [i::VARCHAR, CASE WHEN i % 3 = 0 THEN 'a b' ELSE '' END] AS ls FROM range(-500, 1500) r(i)", zone)
    for formats in ([0] * 6, [1] * 6):
        check(ranged, formats)
        check(ranged.slice(777, 500), formats)


#: ENUM, BIT, TIMETZ and VARINT as DuckDB sends them, and 1-D lists of them: labels
#: array_out quotes, NULLs, BIT lengths around a byte, TIMETZ offsets at DuckDB's
#: ends (+-15:59:59) and with seconds, VARINTs from zero to 100 digits and past the
#: 39 of HUGEINT.
DUCKDB_TYPES = """
SELECT mood::mood AS mood, bit::BIT AS bit, tz::TIMETZ AS tz, v::VARINT AS v, lm::mood[] AS lm,
  lb::BIT[] AS lb, ltz::TIMETZ[] AS ltz, lv::VARINT[] AS lv FROM (VALUES
  ('very happy', '0101', '01:02:03+05:30', '-999999999999999999999999', ['sad', NULL, 'NULL', 'a,b'],
   ['1', '10101010101'], ['23:59:59.999999-15:59:59'], ['0', '-1', '340282366920938463463374607431768211456']),
  ('', '1', '00:00:00+15:59:59', '0', [], [], [], []),
  (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  ('NULL', '10101010', '12:00:00.5-00:00:01', repeat('9', 100), [NULL], [NULL], [NULL], [NULL]),
  ('é', '0000000011111111', '24:00:00+00', '-' || repeat('9', 40), ['é', '{}'], ['0'],
   ['10:00:00-03:30'], ['255', '-256'])
) t(mood, bit, tz, v, lm, lb, ltz, lv)
"""


def duckdb_types_batch(sql: str, zone: str | None = None) -> pa.RecordBatch:
    """`sql` with an ENUM type `mood` defined (in time zone `zone` if given)."""
    with duckdb.connect() as con:
        con.execute("SET arrow_lossless_conversion = true")
        if zone is not None:
            con.execute(f"SET TimeZone = '{zone}'")
        con.execute("CREATE TYPE mood AS ENUM ('sad', 'very happy', '', 'NULL', 'a,b', 'é', '{}')")
        table = con.execute(sql).arrow().read_all()
    return table.combine_chunks().to_batches()[0]


def test_duckdb_enum_bit_timetz_varint_match_python():
    batch = duckdb_types_batch(DUCKDB_TYPES)
    assert [rows.rust_column(batch.column(i), batch.schema.field(i), 0)[2]
            for i in range(4)] == ["dictionary", "varbit", "timetz", "bignum"]
    n = batch.num_columns
    for formats in ([0] * n, [1] * n, [0, 1] * (n // 2), [1, 0] * (n // 2)):
        check(batch, formats)
        check(batch.slice(1, 3), formats)
    ranged = duckdb_types_batch(
        "SELECT (['sad', 'very happy', 'NULL'])[i % 3 + 1]::mood AS m,"
        " CASE WHEN i % 5 = 0 THEN NULL ELSE bitstring(i::BIT::VARCHAR, 70)::BIT END AS b,"
        " ('01:00:00'::TIME + i * INTERVAL 7 SECOND)::TIMETZ AS tz,"
        " (i::VARINT * 12345678901234567890::VARINT) ^ 3 AS v,"
        " [(['sad', 'é'])[i % 2 + 1]::mood, NULL] AS lm FROM range(-500, 1500) r(i)")
    for formats in ([0] * 5, [1] * 5):
        check(ranged, formats)
        check(ranged.slice(777, 500), formats)


def test_varints_up_to_numerics_limit():
    """The reference prints at most 4300 digits (Python's int_max_str_digits), any
    length once that is lifted; the Rust codec stops where PostgreSQL's numeric does
    (131072 digits before the point)."""
    limit = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        values = [10**131071 * 7, -(10**4301) - 3, 2**400000 + 1]
        field, _, make = opaque(pa.binary(), "bignum", None, False)
        batch = pa.RecordBatch.from_arrays([make([varint_bytes(v) for v in values])],
                                           schema=pa.schema([field("v")]))
        check(batch, [0])
        # In binary 131072 nines are 32768 base-10000 digits, one over int16.
        check(batch, [1])
        for value, formats in ((10**131072, [0]), (10**131072, [1]), (-(10**131071) * 9999, [1]),
                               (10**131072 - 1, [1])):
            batch = pa.RecordBatch.from_arrays([make([varint_bytes(value)])], schema=pa.schema([field("v")]))
            with pytest.raises(ValueError, match="out of range for PostgreSQL numeric"):
                encode_rows(batch, formats, codec="rust")
        nines = pa.RecordBatch.from_arrays([make([varint_bytes(10**131072 - 1)])], schema=pa.schema([field("v")]))
        check(nines, [0])
    finally:
        sys.set_int_max_str_digits(limit)


def test_native_kinds_do_not_call_python_encoders(monkeypatch):
    def refuse(array, field):
        raise AssertionError(f"Python encoder called for {field}")

    ints = pa.array([1, None], pa.int64())
    columns = {
        "i": pa.array([1, None], pa.int32()),
        "b": pa.array([True, None]),
        "s": pa.array(["a", None], pa.large_string()),
        "j": pa.ExtensionArray.from_storage(pa.json_(), pa.array(["{}", None])),
        "f4": pa.array([1.5, None], pa.float32()),
        "f8": pa.array([None, 2.5]),
        "blob": pa.array([b"x", None]),
        "lblob": pa.array([b"x", None], pa.large_binary()),
        "fblob": pa.array([b"xy", None], pa.binary(2)),
        "uuid": pa.ExtensionArray.from_storage(pa.uuid(), pa.array([bytes(16), None], pa.binary(16))),
        "d": pa.array([1, None], pa.int32()).view(pa.date32()),
        **{f"ts_{unit}": ints.view(pa.timestamp(unit)) for unit in ("s", "ms", "us", "ns")},
        "tz_utc": ints.view(pa.timestamp("us", tz="UTC")),
        "tz_fixed": ints.view(pa.timestamp("us", tz="-02:30")),
        "tz_named": ints.view(pa.timestamp("us", tz="Europe/Paris")),
        "tz_etc": ints.view(pa.timestamp("ns", tz="Etc/UTC")),
        "dec": pa.array([decimal.Decimal("-1.25"), None], pa.decimal128(38, 2)),
        "dec0": pa.array([decimal.Decimal("7"), None], pa.decimal128(1, 0)),
        "u64": pa.array([2**64 - 1, None], pa.uint64()),
        "huge": pa.ExtensionArray.from_storage(
            pa.opaque(pa.binary(16), "hugeint", "DuckDB"), pa.array([b"\xff" * 16, None], pa.binary(16))),
        "uhuge": pa.ExtensionArray.from_storage(
            pa.opaque(pa.binary(16), "uhugeint", "DuckDB"), pa.array([b"\xff" * 16, None], pa.binary(16))),
        **{f"t_{unit}": pa.array([1, None], pa.int64()).view(pa.time64(unit)) for unit in ("us", "ns")},
        **{f"t_{unit}": pa.array([1, None], pa.int32()).view(pa.time32(unit)) for unit in ("s", "ms")},
        "iv": pa.array([pa.MonthDayNano([1, -2, 3000]), None], pa.month_day_nano_interval()),
        "li": pa.array([[1, None], None], pa.list_(pa.int32())),
        "ls": pa.array([None, ["a b", ""]], pa.large_list(pa.string())),
        "lf": pa.array([[1.5, None], None], pa.list_(pa.float64(), 2)),
        "lu": pa.ListArray.from_arrays(pa.array([0, 1, 1], pa.int32()), pa.ExtensionArray.from_storage(
            pa.uuid(), pa.array([bytes(16)], pa.binary(16)))),
        "ld": pa.array([[], [decimal.Decimal("0.5")]], pa.list_(pa.decimal128(3, 1))),
        "liv": pa.array([[pa.MonthDayNano([0, 0, -1000])], []], pa.list_(pa.month_day_nano_interval())),
        "enum": pa.array(["a b", None]).dictionary_encode(),
        "lenum": pa.array([["x", None], None], pa.list_(pa.dictionary(pa.int32(), pa.large_string()))),
        "bit": pa.ExtensionArray.from_storage(
            pa.opaque(pa.binary(), "bit", "DuckDB"), pa.array([b"\x04\xf5", None])),
        "timetz": pa.ExtensionArray.from_storage(
            pa.opaque(pa.binary(8), "time_tz", "DuckDB"), pa.array([timetz_bits(1, -3600), None], pa.binary(8))),
        "varint": pa.ExtensionArray.from_storage(
            pa.opaque(pa.binary(), "bignum", "DuckDB"), pa.array([varint_bytes(-(10**50)), None])),
        "f16": pa.array([1.5, None], pa.float16()),
        "d64": pa.array([-1, None], pa.int64()).view(pa.date64()),
        "dur_us": ints.view(pa.duration("us")),
        "dur_ns": ints.view(pa.duration("ns")),
        "lf16": pa.array([[0.5, None], None], pa.list_(pa.float16())),
        "sv": pa.array(["short", None, "longer than twelve bytes"], pa.string_view())[1:],
        "bv": pa.array([b"\x00" * 13, None], pa.binary_view()),
        "lsv": pa.array([["a b", None], None], pa.large_list(pa.string_view())),
        "lvarint": pa.ListArray.from_arrays(pa.array([0, 1, 1], pa.int32()), pa.ExtensionArray.from_storage(
            pa.opaque(pa.large_binary(), "bignum", "DuckDB"), pa.array([varint_bytes(7)], pa.large_binary()))),
        "ltz": pa.array([[0], None], pa.list_(pa.int64())).cast(pa.list_(pa.timestamp("us", tz="Asia/Tokyo"))),
    }
    batch = pa.record_batch(columns)
    n = batch.num_columns
    expected = [encode_rows(batch, formats, codec="python") for formats in ([0] * n, [1] * n)]
    # A zone Python reads as a fixed offset with non-ASCII digits: text in Python.
    arabic = pa.record_batch({"tz": ints.view(pa.timestamp("us", tz="+٠٥:٣٠"))})
    arabic_binary = encode_rows(arabic, [1], codec="python")
    monkeypatch.setattr(rows, "_ENCODERS", (refuse, refuse))
    assert [encode_rows(batch, formats, codec="rust") for formats in ([0] * n, [1] * n)] == expected
    assert encode_rows(arabic, [1], codec="rust") == arabic_binary
    with pytest.raises(AssertionError, match="Python encoder called"):
        encode_rows(arabic, [0], codec="rust")


def test_which_zones_rust_prints():
    """Fixed offsets and UTC from the name, named zones from their file; a zone name
    zoneinfo refuses raises the Python encoders' error in text (binary is UTC)."""
    for tz in ("UTC", "+00:00", "-23:59", "+12:75", "Europe/Paris", "Etc/UTC", "EST5EDT"):
        assert rows._native("timestamptz", pa.timestamp("ns", tz=tz), 0), tz
    assert not rows._native("timestamptz", pa.timestamp("us", tz="+٠٥:٣٠"), 0)
    for tz in ("+24:00", "+5:30", "utc", "+05:30:00", "Mars/Olympus", "../zoneinfo/UTC", "/etc/localtime",
               "America/", "America"):
        typ = pa.timestamp("us", tz=tz)
        assert rows._native("timestamptz", typ, 1), tz
        batch = pa.record_batch({"t": pa.array([0], pa.int64()).view(typ)})
        with pytest.raises(Exception) as python:
            encode_rows(batch, [0], codec="python")
        with pytest.raises(type(python.value)) as rust:
            encode_rows(batch, [0], codec="rust")
        assert str(rust.value) == str(python.value), tz
        assert encode_rows(batch, [1], codec="rust") == encode_rows(batch, [1], codec="python")


def test_time_zone_argument_errors():
    paris = pa.array([0], pa.int64()).view(pa.timestamp("us", tz="Europe/Paris"))
    # Without its TimeZone a named zone's text is not encoded here.
    with pytest.raises(ValueError, match="does not fit kind"):
        _native.encode_data_rows([(paris, 0, "timestamptz")], 1)
    berlin = rows._rust_zone("Europe/Berlin")
    assert berlin.name == "Europe/Berlin" and rows._rust_zone("Europe/Berlin") is berlin
    with pytest.raises(ValueError, match="does not fit Arrow type"):
        _native.encode_data_rows([(paris, 0, "timestamptz", berlin)], 1)
    with pytest.raises(ValueError, match="does not fit Arrow type"):
        _native.encode_data_rows([(pa.array([0], pa.int64()), 0, "int8", berlin)], 1)
    with pytest.raises(TypeError):
        _native.encode_data_rows([(paris, 0, "timestamptz", "Europe/Paris")], 1)
    with pytest.raises(ValueError, match="magic not found"):
        _native.TimeZone("x", b"TZjf" + bytes(40))
    zoned = pa.array([[0]], pa.list_(pa.int64())).cast(pa.list_(pa.timestamp("us", tz="Europe/Berlin")))
    assert _native.encode_data_rows([(zoned, 0, "list", zoned.values, "timestamptz", berlin)], 1) == encode_rows(
        pa.record_batch({"l": zoned}), [0], codec="python")


def test_native_argument_errors():
    with pytest.raises(ValueError, match="has 1 values, expected 2"):
        _native.encode_data_rows([[b"x"]], 2)
    with pytest.raises(TypeError):
        _native.encode_data_rows([["not bytes"]], 1)
    with pytest.raises(TypeError):
        _native.encode_data_rows([{}], 0)
    with pytest.raises(ValueError, match="does not fit kind"):
        _native.encode_data_rows([(pa.array([1], pa.uint32()), 0, "int4")], 1)
    with pytest.raises(ValueError, match="does not fit kind"):
        _native.encode_data_rows([(pa.array([1], pa.uint64()), 0, "int8")], 1)
    with pytest.raises(TypeError, match="not encoded natively"):
        _native.encode_data_rows([(pa.array([1], pa.decimal256(40, 0)), 0, "decimal")], 1)
    with pytest.raises(TypeError, match="not encoded natively"):
        _native.encode_data_rows([(pa.array([decimal.Decimal("1E2")], pa.decimal128(5, -2)), 0, "decimal")], 1)
    with pytest.raises(ValueError, match="not encoded natively"):
        _native.encode_data_rows([(pa.array([1], pa.int32()), 0, "list")], 1)
    with pytest.raises(ValueError, match="format code"):
        _native.encode_data_rows([(pa.array([1]), 2, "int8")], 1)
    mismatches = [
        (pa.array([1.0]), "int8"),
        (pa.array([1.0]), "float4"),
        (pa.array([1.0], pa.float32()), "float8"),
        (pa.array([b"x"], pa.binary(1)), "uuid"),
        (pa.array(["x"]), "bytea"),
        (pa.array([b"x"]), "text"),
        (pa.array([0], pa.int64()).view(pa.timestamp("us", tz="UTC")), "timestamp"),
        (pa.array([0], pa.int64()).view(pa.timestamp("us")), "timestamptz"),
        (pa.array([0], pa.int32()).view(pa.date32()), "int4"),
        (pa.array([0], pa.int64()).view(pa.time64("us")), "timestamp"),
        (pa.array([0], pa.int64()).view(pa.timestamp("us")), "time"),
        (pa.array([1.0]), "interval"),
        (pa.array([1.0]), "decimal"),
        (pa.array([b"x"], pa.binary(1)), "hugeint"),
        (pa.array([1], pa.decimal128(5, 1)), "uhugeint"),
        (pa.array([[1]]), "int4"),
        (pa.array(["a"]).dictionary_encode(), "text"),
        (pa.array(["a"]), "dictionary"),
        (pa.array([b"x"], pa.binary(1)), "varbit"),
        (pa.array([b"x" * 8], pa.binary(8)), "bignum"),
        (pa.array([b"x" * 8]), "timetz"),
        (pa.array([b"x" * 16], pa.binary(16)), "timetz"),
        (pa.array(["x"], pa.string_view()), "varbit"),
        (pa.array([b"x"], pa.binary_view()), "uuid"),
    ]
    for array, kind in mismatches:
        with pytest.raises(ValueError, match="does not fit kind"):
            _native.encode_data_rows([(array, 1, kind)], 1)
    for unit in ("s", "ms"):
        with pytest.raises(ValueError, match="does not fit kind Interval"):
            _native.encode_data_rows([(pa.array([0], pa.int64()).view(pa.duration(unit)), 0, "interval")], 1)
    with pytest.raises(TypeError, match="not encoded natively"):
        _native.encode_data_rows([(pa.nulls(1), 0, "text")], 1)
    for dictionary in (pa.array([1]).dictionary_encode(), pa.array(["a"], pa.string_view()).dictionary_encode()):
        with pytest.raises(TypeError, match="not encoded natively"):
            _native.encode_data_rows([(dictionary, 0, "dictionary")], 1)
    for index in (-1, 2, 127):
        bad = pa.DictionaryArray.from_arrays(pa.array([index], pa.int8()), pa.array(["a", "b"]), safe=False)
        with pytest.raises(ValueError, match="dictionary index out of range"):
            _native.encode_data_rows([(bad, 0, "dictionary")], 1)
    for bits in (b"", b"\x01", b"\x11\xff\xff"):
        for fmt in (0, 1):
            with pytest.raises(ValueError, match="malformed Varbit"):
                _native.encode_data_rows([(pa.array([bits]), fmt, "varbit")], 1)
    # Views: a negative length, a buffer index or offset past the data.
    view = [(-1).to_bytes(4, "little", signed=True) + bytes(12),
            (13).to_bytes(4, "little") + b"abcd" + (1).to_bytes(4, "little") + bytes(4),
            (13).to_bytes(4, "little") + b"abcd" + bytes(4) + (8).to_bytes(4, "little")]
    for bad in view:
        array = pa.Array.from_buffers(pa.string_view(), 1, [None, pa.py_buffer(bad), pa.py_buffer(b"x" * 20)])
        with pytest.raises(ValueError, match="offsets out of range"):
            _native.encode_data_rows([(array, 0, "text")], 1)
    with pytest.raises(ValueError, match="malformed Bignum"):
        _native.encode_data_rows([(pa.array([b""]), 0, "bignum")], 1)
    with pytest.raises(ValueError, match="out of range"):
        _native.encode_data_rows([(pa.array([b"\x80\x00\x00" + b"\x01" * 60_000]), 0, "bignum")], 1)
    assert _native.encode_data_rows([], 2) == backend.data_row(()) * 2
    ints = pa.array([[1, None]], pa.list_(pa.int32()))
    with pytest.raises(ValueError, match="only a list"):
        _native.encode_data_rows([(ints, 0, "int4", ints.values, "int4")], 1)
    with pytest.raises(ValueError, match="does not fit kind list"):
        _native.encode_data_rows([(ints.values, 0, "list", ints.values, "int4")], 2)
    with pytest.raises(ValueError, match="does not fit kind"):
        _native.encode_data_rows([(ints, 0, "list", ints.values, "text")], 1)
    with pytest.raises(ValueError, match="not encoded natively"):
        _native.encode_data_rows([(ints, 0, "list", ints.values, "list")], 1)
    # The 1-D shorthand: nested lists need the (array, format, kind, children) form.
    nested = pa.array([[[1]]], pa.list_(pa.list_(pa.int32())))
    with pytest.raises(ValueError, match="does not fit kind int4"):
        _native.encode_data_rows([(nested, 0, "list", nested.values, "int4")], 1)
    assert _native.encode_data_rows([(ints, 1, "list", ints.values, "int4")], 1) == encode_rows(
        pa.record_batch({"l": ints}), [1], codec="python")


def nested_structs(depth: int) -> pa.Array:
    """{'x': {'x': ... 1}}: `depth` structs around an int64."""
    array = pa.array([1, None, 3])
    for _ in range(depth):
        array = pa.StructArray.from_arrays([array], names=["x"])
    return array


def in_map(array: pa.Array) -> pa.Array:
    """MAP {'k': value} per row: a STRUCT at the top is a record (the Python
    encoders'), inside a MAP it is json, which the Rust codec writes."""
    offsets = pa.array(range(len(array) + 1), pa.int32())
    return pa.MapArray.from_arrays(offsets, pa.array(["k"] * len(array)), array)


def nested_lists(depth: int) -> pa.Array:
    """[[...[1, NULL]...]]: `depth` lists around an int64."""
    array = pa.array([1, None])
    for _ in range(depth):
        array = pa.ListArray.from_arrays(pa.array([0, len(array)], pa.int32()), array)
    return array


def test_columns_rust_does_not_take_go_through_python():
    """List views, and lists, structs, maps and unions with any Python-only part (a
    kind, a layout, a zone with non-ASCII digits, nesting past the Rust codec's depth)
    stay with the Python encoders (as values). A named zone's array is native in both
    formats (its text from the zone's TZif file), json holding it too; a zone with
    non-ASCII digits is native in binary only."""
    zone = pa.timestamp("us", tz="Europe/Paris")
    zoned = pa.array([[0]], pa.list_(pa.int64())).cast(pa.list_(zone))
    zoned_2d = pa.array([[[0]]], pa.list_(pa.list_(pa.int64()))).cast(pa.list_(pa.list_(zone)))
    zoned_struct = pa.StructArray.from_arrays([pa.array([0], pa.int64()).view(zone)], names=["t"])
    odd_zoned = pa.array([[0]], pa.list_(pa.int64())).cast(pa.list_(pa.timestamp("us", tz="+٠٥:٣٠")))
    int_enum = pa.DictionaryArray.from_arrays(pa.array([0], pa.int8()), pa.array([7], pa.int32()))
    seconds = pa.array([1], pa.duration("s"))
    ints = pa.array([1], pa.int32())
    union_type = pa.sparse_union([pa.field("i", pa.int32()), pa.field("s", pa.duration("s"))], [0, 1])
    seconds_union = pa.Array.from_buffers(union_type, 1, [None, pa.array([0], pa.int8()).buffers()[1]],
                                          children=[ints, seconds])
    cases = [
        (pa.array([[1]], pa.list_view(pa.int32())), (0, 1)),
        (pa.array([[[1]]], pa.list_(pa.list_view(pa.int32()))), (0, 1)),
        (pa.array([[1]], pa.list_(pa.duration("s"))), (0, 1)),
        (pa.array([[1]], pa.list_(pa.dictionary(pa.int8(), pa.int32()))), (0, 1)),
        (pa.ListArray.from_arrays(pa.array([0, 1], pa.int32()), pa.DictionaryArray.from_arrays(
            pa.array([0], pa.int8()), pa.array(["a"], pa.string_view()))), (0, 1)),
        (pa.StructArray.from_arrays([ints, int_enum], names=["i", "e"]), (0, 1)),
        (pa.StructArray.from_arrays([pa.array([[1]], pa.list_(pa.duration("s")))], names=["l"]), (0, 1)),
        (pa.MapArray.from_arrays(pa.array([0, 1], pa.int32()), ints, seconds), (0, 1)),
        (pa.MapArray.from_arrays(pa.array([0, 1], pa.int32()), seconds, ints), (0, 1)),
        (seconds_union, (0, 1)),
        (odd_zoned, (0,)),
        (pa.StructArray.from_arrays([odd_zoned], names=["l"]), (0, 1)),
        (in_map(nested_structs(32)), (0, 1)),
        (nested_lists(33), (0, 1)),
        (pa.StructArray.from_arrays([nested_lists(32)], names=["l"]), (0, 1)),
    ]
    for array, formats in cases:
        field = pa.field("l", array.type)
        batch = pa.record_batch({"l": array})
        for fmt in formats:
            assert isinstance(rows.rust_column(array, field, fmt), list), (array.type, fmt)
            assert encode_rows(batch, [fmt], codec="rust") == encode_rows(batch, [fmt], codec="python")
    field = pa.field("l", odd_zoned.type)
    assert isinstance(rows.rust_column(odd_zoned, field, 1), tuple)
    batch = pa.record_batch({"l": odd_zoned})
    assert encode_rows(batch, [1], codec="rust") == encode_rows(batch, [1], codec="python")
    # Native in both formats: nested lists, named zones (json holding them too), and every leaf
    # kind native on its own (ENUM, views, float16) in lists, structs, maps and unions.
    enum = pa.array(["a"]).dictionary_encode()
    half = pa.array([1.5], pa.float16())
    half_type = pa.sparse_union([pa.field("i", pa.int32()), pa.field("h", pa.float16())], [0, 1])
    half_union = pa.Array.from_buffers(half_type, 1, [None, pa.array([0], pa.int8()).buffers()[1]],
                                       children=[ints, half])
    native = [
        zoned, zoned_2d, in_map(zoned_struct),
        in_map(pa.ListArray.from_arrays(pa.array([0, 1], pa.int32()), zoned_struct)),
        in_map(nested_structs(31)), nested_lists(32),
        pa.array([[[1, 2]], None], pa.list_(pa.list_(pa.int32()))),
        pa.array([["a"]], pa.list_(pa.dictionary(pa.int8(), pa.string()))),
        pa.array([["a"]], pa.list_(pa.string_view())),
        pa.array([[1]], pa.list_(pa.float16())),
        in_map(pa.StructArray.from_arrays([ints, enum], names=["i", "e"])),
        in_map(pa.StructArray.from_arrays([pa.array([[1.5]], pa.list_(pa.float16()))], names=["l"])),
        pa.MapArray.from_arrays(pa.array([0, 1], pa.int32()), ints, half),
        pa.MapArray.from_arrays(pa.array([0, 1], pa.int32()), half, ints),
        pa.MapArray.from_arrays(pa.array([0, 1], pa.int32()), enum, ints),
        half_union,
    ]
    for array in native:
        field = pa.field("l", array.type)
        batch = pa.record_batch({"l": array})
        for fmt in (0, 1):
            assert isinstance(rows.rust_column(array, field, fmt), tuple), (array.type, fmt)
            assert encode_rows(batch, [fmt], codec="rust") == encode_rows(batch, [fmt], codec="python")


def spec_of(array: pa.Array, kind: str | None = None) -> tuple:
    """An (array, kind[, children]) node for `_native.encode_data_rows`, built by hand."""
    typ = array.type
    if pa.types.is_struct(typ):
        return (array, "struct", tuple(spec_of(array.field(i)) for i in range(typ.num_fields)))
    if pa.types.is_list(typ):
        return (array, "list", (spec_of(array.values),))
    return (array, kind or "int8")


def test_nested_argument_errors():
    s = pa.StructArray.from_arrays([pa.array([1, None], pa.int32())], names=["a"])
    field = (s.field(0), "int4")
    # Rust's struct kind is json (a STRUCT inside a MAP or UNION; at the top a STRUCT is
    # a record, which the Python encoders write)
    assert _native.encode_data_rows([(s, 0, "struct", (field,))], 2) == rows.data_rows(
        [[b'{"a":1}', b'{"a":null}']], 1, 2)
    errors = [
        ((s, 0, "struct", ()), "needs 1 children, not 0"),
        ((s, 0, "struct", (field, field)), "needs 1 children, not 2"),
        ((s, 0, "map", (field, field)), "does not fit kind map"),
        ((s, 0, "union", (field,)), "does not fit kind union"),
        ((s, 0, "list", (field,)), "does not fit kind list"),
        ((s.field(0), 0, "struct", (field,)), "does not fit kind struct"),
        ((s, 0, "struct", ((s.field(0), "int4", ()),)), "has no children"),
        ((s.field(0), 0, "int4", ()), "has no children"),
        ((s, 0, "struct", ((s, "struct"),)), "not encoded natively without its children"),
        ((s, 0, "struct"), "not encoded natively without its children"),
        ((s, 0, "struct", ((s.field(0), "float8"),)), "does not fit kind"),
        ((s, 0, "struct", ((s.field(0), "no_such_kind"),)), "not encoded natively"),
        ((s, 0, "struct", ((pa.array([1, 2, 3], pa.int32()), "int4"),)), "struct field of another length"),
        ((s, 2, "struct", (field,)), "format code"),
        ((s, 1, "struct", ((s.field(0), "int4"),)), None),  # json members are text
    ]
    for spec, message in errors:
        if message is None:
            _native.encode_data_rows([spec], 2)
            continue
        with pytest.raises(ValueError, match=message):
            _native.encode_data_rows([spec], 2)
    with pytest.raises(ValueError, match="has 2 values, expected 3"):
        _native.encode_data_rows([(s, 0, "struct", (field,))], 3)
    deep = nested_structs(33)
    with pytest.raises(ValueError, match="nested too deep"):
        _native.encode_data_rows([(deep, 0, *spec_of(deep)[1:])], 3)
    deep_list = nested_lists(33)
    with pytest.raises(ValueError, match="nested too deep"):
        _native.encode_data_rows([(deep_list, 1, *spec_of(deep_list)[1:])], 1)
    ok = nested_lists(32)
    assert _native.encode_data_rows([(ok, 1, *spec_of(ok)[1:])], 1) == encode_rows(
        pa.record_batch({"l": ok}), [1], codec="python")


def union_of(type_ids: list[int], offsets: list[int] | None = None) -> pa.Array:
    """UNION(i INT = code 3) over [7, 8, 9], sparse or (with offsets) dense, unvalidated."""
    typ = (pa.dense_union if offsets else pa.sparse_union)([pa.field("i", pa.int32())], [3])
    buffers = [None, pa.array(type_ids, pa.int8()).buffers()[1]]
    if offsets:
        buffers.append(pa.array(offsets, pa.int32()).buffers()[1])
    return pa.Array.from_buffers(typ, len(type_ids), buffers, children=[pa.array([7, 8, 9], pa.int32())])


def test_malformed_nested_arrays_are_errors():
    """Type ids naming no member, offsets past a member or the elements: a ValueError
    from Rust, never a read out of bounds."""
    child = lambda u: ((u.field(0), "int4"),)  # noqa: E731
    good = union_of([3, 3], [1, 0])
    assert _native.encode_data_rows([(good, 0, "union", child(good))], 2) == encode_rows(
        pa.record_batch({"u": good}), [0], codec="python")
    for union, message in ((union_of([3, 4]), "union type id without a member"),
                           (union_of([3, -1]), "union type id without a member"),
                           (union_of([3, 3], [0, 3]), "offsets out of range"),
                           (union_of([3, 3], [0, -1]), "offsets out of range")):
        with pytest.raises(ValueError, match=message):
            _native.encode_data_rows([(union, 0, "union", child(union))], 2)
    # pyarrow checks the first and last offsets only: decreasing ones in between pass,
    # and Rust reads the elements it is given, here fewer than the offsets span.
    elements = pa.array([1, 2, 3], pa.int32())
    for offsets, shown in (([0, 2, 1], elements), ([0, 1, 3], elements.slice(0, 2))):
        offsets = pa.array(offsets, pa.int32()).buffers()[1]
        bad = pa.Array.from_buffers(pa.list_(pa.int32()), 2, [None, offsets], children=[elements])
        for fmt in (0, 1):
            with pytest.raises(ValueError, match="offsets out of range"):
                _native.encode_data_rows([(bad, fmt, "list", ((shown, "int4"),))], 2)
        entries = pa.StructArray.from_arrays([elements, elements], fields=[
            pa.field("key", pa.int32(), nullable=False), pa.field("value", pa.int32())])
        bad_map = pa.Array.from_buffers(pa.map_(pa.int32(), pa.int32()), 2, [None, offsets], children=[entries])
        with pytest.raises(ValueError, match="offsets out of range"):
            _native.encode_data_rows([(bad_map, 0, "map", ((shown, "int4"), (shown, "int4")))], 2)


def test_ragged_binary_arrays_raise_like_python():
    """A ragged or NULL sub-list has no binary form: both codecs raise PostgreSQL's
    2202E (RaggedArrayError), in DataRows and binary COPY; text prints it."""
    from duckgres_trio.wire.copy import CopyOptions, copy_data_messages

    int_2d, int_3d = pa.list_(pa.list_(pa.int32())), pa.list_(pa.list_(pa.list_(pa.int32())))
    cases = [(value, int_2d) for value in ([[1], [2, 3]], [[1], None], [[], None], [[], [1]], [None])]
    cases += [(value, int_3d) for value in ([[[1]], [[1], [2]]], [[[1]], None], [[[1, 2]], [[3]]], [[[1]], [None]])]
    for value, typ in cases:
        first = [[5]] if typ == int_2d else [[[5]]]
        batch = pa.record_batch({"l": pa.array([first, value], typ)})
        for codec in ("python", "rust"):
            with pytest.raises(RaggedArrayError) as raised:
                encode_rows(batch, [1], codec=codec)
            assert raised.value.sqlstate == "2202E"
            with pytest.raises(RaggedArrayError):
                copy_data_messages(batch, CopyOptions(format="binary"), codec=codec)
        assert not check(batch, [1])
        assert check(batch, [0])
        assert check(batch.slice(0, 1), [1])  # the other row alone is rectangular


#: Texts escape_json escapes (quotes, backslashes, every control character) and some
#: it leaves as they are (DEL, non-ASCII, '/'), and those array_out quotes.
JSON_TEXTS = st.one_of(
    ARRAY_TEXTS,
    st.text(alphabet=st.sampled_from(['"', "\\", "/", "\x7f", "é", "𝄞", "a", *map(chr, range(32))]), max_size=6),
)
#: The floats JSON does not keep as numbers, and -0, which it does.
JSON_FLOATS = st.sampled_from([math.nan, math.inf, -math.inf, -0.0, 0.0])
#: Scalars inside structs, maps, unions and nested lists: every native kind (the
#: numbers JSON keeps bare, NaN and infinities it quotes, json embedded, text it
#: escapes).
JSON_LEAVES = [
    *(plain(t, int_values(t)) for t in INT_TYPES),
    plain(pa.uint64(), int_values(pa.uint64())),
    plain(pa.bool_(), st.booleans()),
    bool8(metadata_only=False),
    bool8(metadata_only=True),
    plain(pa.string(), JSON_TEXTS),
    plain(pa.large_string(), JSON_TEXTS),
    extension(pa.json_(), pa.string(), JSON_META,
              st.sampled_from(['{"a": [1, "x"]}', "null", "1.5", '"s\\n"', "[]", "true"]), False),
    extension(pa.json_(), pa.large_string(), JSON_META, st.sampled_from(["{}", "-0"]), True),
    *FLOAT_COLUMNS,
    plain(pa.float64(), JSON_FLOATS),
    plain(pa.float32(), JSON_FLOATS),
    decimals(10, 2),
    decimals(38, 38),
    opaque16("hugeint", True, False),
    opaque16("uhugeint", False, True),
    plain(pa.binary(), st.binary(max_size=6)),
    plain(pa.binary(3), st.binary(min_size=3, max_size=3)),
    extension(pa.uuid(), pa.binary(16), UUID_META, st.binary(min_size=16, max_size=16), False),
    viewed(pa.int32(), pa.date32(), days),
    viewed(pa.int64(), pa.time64("us"), day_usecs),
    viewed(pa.int32(), pa.time32("ms"), st.integers(0, 86_400_000)),
    viewed(pa.int64(), pa.timestamp("us"), timestamps),
    viewed(pa.int64(), pa.timestamp("ns", tz="+05:30"), timestamps),
    viewed(pa.int64(), pa.timestamp("s", tz="UTC"), timestamps),
    INTERVAL_COLUMN,
    # ENUM, BIT, TIMETZ and VARINT (a number), views, float16, date64, durations.
    enums(pa.int8()),
    enums(pa.uint64(), pa.large_string(), skip=0),
    opaque(pa.binary(), "bit", bit_values, False),
    opaque(pa.large_binary(), "bit", bit_values, True),
    opaque(pa.binary(8), "time_tz", timetz_values, False),
    opaque(pa.binary(), "bignum", varint_values, False),
    opaque(pa.large_binary(), "bignum", varint_values, True),
    plain(pa.string_view(), view_texts),
    views_in_buffers(pa.binary_view(), view_blobs),
    extension(pa.json_(pa.string_view()), pa.string_view(), JSON_META, st.sampled_from(["{}", "[1]"]), False),
    *OTHER_ARROW_COLUMNS[:6],
]
#: And one kind a json value leaves to Python (a named zone's text).
NESTED_LEAVES = [*JSON_LEAVES,
                 viewed(pa.int64(), pa.timestamp("us", tz="America/New_York"), st.integers(-(10**17), 10**17))]
#: Map keys: DuckDB's are never NULL, and may be any type, lists and structs too.
MAP_KEYS = [
    plain(pa.int32(), int_values(pa.int32())),
    plain(pa.int64(), int_values(pa.int64())),
    plain(pa.string(), JSON_TEXTS),
    plain(pa.bool_(), st.booleans()),
    plain(pa.float64(), float64s),
    viewed(pa.int32(), pa.date32(), days),
    extension(pa.uuid(), pa.binary(16), UUID_META, st.binary(min_size=16, max_size=16), False),
    decimals(10, 2),
    opaque16("hugeint", True, False),
    INTERVAL_COLUMN,
    plain(pa.binary(), st.binary(max_size=4)),
    listed(plain(pa.string(), ARRAY_TEXTS)),
]
#: Field names JSON must escape, and plain ones.
FIELD_NAMES = st.sampled_from(["a", "b", "", 'q"uote', "back\\slash", "new\nline", "é", "\x01", "a b", "value"])


def structed(members: list, names: list[str]):
    """A STRUCT of the members' values; each field sliced out of a longer array."""
    def fields():
        return [make_field(name) for (make_field, _, _), name in zip(members, names, strict=True)]

    def make(vals):
        columns = [make_array([None, *(None if v is None else v[i] for v in vals)]).slice(1)
                   for i, (_, _, make_array) in enumerate(members)]
        mask = pa.array([v is None for v in vals], pa.bool_())
        return pa.StructArray.from_arrays(columns, fields=fields(), mask=mask)

    values = st.tuples(*(st.one_of(st.none(), values) for _, values, _ in members))
    return (lambda name: pa.field(name, pa.struct(fields())), values, make)


def mapped(key, item):
    """A MAP of (key, item) entries, its keys and items sliced out of longer arrays."""
    key_field, key_values, key_array = key
    item_field, item_values, item_array = item

    def typ():
        return pa.map_(key_field("key").with_nullable(False), item_field("value"))

    def make(vals):
        entries = [entry for v in vals if v is not None for entry in v]
        ends = [0]
        for v in vals:
            ends.append(ends[-1] + (0 if v is None else len(v)))
        keys = key_array([None, *(k for k, _ in entries)]).slice(1)
        items = item_array([None, *(i for _, i in entries)]).slice(1)
        mask = pa.array([v is None for v in vals], pa.bool_())
        return pa.MapArray.from_arrays(pa.array(ends, pa.int32()), keys, items, type=typ(), mask=mask)

    values = st.lists(st.tuples(key_values, st.one_of(st.none(), item_values)), max_size=4)
    return (lambda name: pa.field(name, typ()), values, make)


def unioned(members: list, names: list[str], codes: list[int], dense: bool):
    """A sparse or dense UNION with these type codes; a NULL row is member 0's NULL.
    Members are sliced out of longer arrays; a sparse union's inactive slots are NULL."""
    def typ():
        fields = [make_field(name) for (make_field, _, _), name in zip(members, names, strict=True)]
        return (pa.dense_union if dense else pa.sparse_union)(fields, codes)

    def make(vals):
        picked = [(0, None) if v is None else v for v in vals]
        buffers = [None, pa.array([codes[i] for i, _ in picked], pa.int8()).buffers()[1]]
        if dense:
            per_member: list[list] = [[] for _ in members]
            offsets = []
            for i, value in picked:
                offsets.append(len(per_member[i]))
                per_member[i].append(value)
            buffers.append(pa.array(offsets, pa.int32()).buffers()[1])
        else:
            per_member = [[value if i == j else None for i, value in picked] for j in range(len(members))]
        children = [make_array([None, *column]).slice(1)
                    for (_, _, make_array), column in zip(members, per_member, strict=True)]
        return pa.Array.from_buffers(typ(), len(vals), buffers, children=children)

    values = st.one_of(*(st.tuples(st.just(i), st.one_of(st.none(), values))
                         for i, (_, values, _) in enumerate(members)))
    return (lambda name: pa.field(name, typ()), values, make)


def members(depth: int):
    """A leaf, or below `depth` more levels a container too."""
    leaves = st.sampled_from(NESTED_LEAVES)
    return leaves if depth <= 0 else st.one_of(leaves, leaves, containers(depth))


@st.composite
def containers(draw, depth: int = 3):
    """A column maker of a random container type (STRUCT, MAP, sparse or dense UNION,
    list, large_list or fixed_size_list) whose members are leaves or, up to `depth`
    levels, containers again."""
    shape = draw(st.sampled_from(["struct", "map", "sparse", "dense", "list", "large", "fixed"]))
    count = draw(st.integers(1, 3))
    if shape == "map":
        return mapped(draw(st.sampled_from(MAP_KEYS)), draw(members(depth - 1)))
    if shape in ("list", "large", "fixed"):
        return listed(draw(members(depth - 1)), shape, draw(st.integers(1, 3)))
    parts = [draw(members(depth - 1)) for _ in range(count)]
    names = draw(st.lists(FIELD_NAMES, min_size=count, max_size=count))
    if shape == "struct":
        return structed(parts, names)
    codes = draw(st.lists(st.integers(0, 127), min_size=count, max_size=count, unique=True))
    return unioned(parts, names, codes, shape == "dense")


def grids(leaf, depth: int, layouts: str = "list"):
    """`depth` levels of lists of `leaf`, every row rectangular (so it has a binary
    form) unless a draw makes one sub-list shorter or NULL."""
    column = leaf
    for _ in range(depth):
        column = listed(column, layouts)
    make_field, _, make_array = column
    leaf_values = st.one_of(st.none(), leaf[1])

    @st.composite
    def values(draw):
        dims = [draw(st.integers(0, 3)) for _ in range(depth)]

        def build(level):
            if level == depth:
                return draw(leaf_values)
            return [build(level + 1) for _ in range(dims[level])]

        grid = build(0)
        if grid and grid[0] is not None and draw(st.integers(0, 29)) == 0:
            i = draw(st.integers(0, len(grid) - 1))
            grid[i] = None if draw(st.booleans()) else grid[i][1:]
        return grid

    return (make_field, values(), make_array)


GRID_LEAVES = [
    plain(pa.int32(), int_values(pa.int32())),
    plain(pa.string(), ARRAY_TEXTS),
    plain(pa.float64(), float64s),
    decimals(12, 3),
    viewed(pa.int64(), pa.timestamp("us", tz="America/New_York"), st.integers(-(10**17), 10**17)),
    INTERVAL_COLUMN,
    enums(pa.int16()),
    opaque(pa.binary(), "bignum", varint_values, False),
    opaque(pa.binary(8), "time_tz", timetz_values, False),
    structed([plain(pa.int32(), int_values(pa.int32())), plain(pa.string(), JSON_TEXTS)], ["a", "b"]),
]
MULTI_DIM_COLUMNS = Columns("MULTI_DIM_COLUMNS", [
    *(grids(leaf, depth, layout) for leaf in GRID_LEAVES for depth in (2, 3) for layout in ("list", "large")),
    listed(listed(plain(pa.int16(), int_values(pa.int16())), "fixed", 2)),
    listed(listed(plain(pa.string(), ARRAY_TEXTS)), "fixed", 2),
    listed(listed(listed(plain(pa.int64(), int_values(pa.int64())), "fixed", 1), "large"), "fixed", 2),
    listed(listed(plain(pa.bool_(), st.booleans()))),
    listed(listed(listed(viewed(pa.int32(), pa.date32(), days)))),
    listed(listed(mapped(MAP_KEYS[2], plain(pa.float32(), float32s)), "fixed", 1)),
])


#: Every JSON leaf kind in one struct, one sparse and one dense union, and an array of
#: such structs; a map of every key kind.
LEAF_NAMES = [f"f{i}" for i in range(len(JSON_LEAVES))]
EVERY_KIND_COLUMNS = Columns("EVERY_KIND_COLUMNS", [
    structed(JSON_LEAVES, LEAF_NAMES),
    unioned(JSON_LEAVES, LEAF_NAMES, list(range(len(JSON_LEAVES))), dense=False),
    unioned(JSON_LEAVES, LEAF_NAMES, list(range(127, 127 - len(JSON_LEAVES), -1)), dense=True),
    listed(structed(JSON_LEAVES, LEAF_NAMES)),
    *(mapped(key, plain(pa.int8(), int_values(pa.int8()))) for key in MAP_KEYS),
])


def _holds_unbounded(typ: pa.DataType) -> bool:
    """Whether a DECIMAL(38, s >= 10) is anywhere in ``typ``: its trailing zeros are
    trimmed by the Python encoders (wire/unbounded.py), so its container is not native."""
    if unbounded.is_unbounded(typ):
        return True
    if pa.types.is_map(typ):
        return _holds_unbounded(typ.key_type) or _holds_unbounded(typ.item_type)
    if isinstance(typ, (pa.ListType, pa.LargeListType, pa.FixedSizeListType)):
        return _holds_unbounded(typ.value_type)
    if isinstance(typ, (pa.StructType, pa.UnionType)):
        return any(_holds_unbounded(typ.field(i).type) for i in range(typ.num_fields))
    if isinstance(typ, pa.ExtensionType):
        return _holds_unbounded(typ.storage_type)
    return False


@settings(max_examples=examples(300), deadline=None)
@given(st.data())
def test_every_kind_in_json_matches_python(data):
    """Each native kind as a struct field, union member and map key: JSON's rules
    for numbers, NaN and infinities, bool, json, and escaped text."""
    batch = data.draw(batches(EVERY_KIND_COLUMNS, max_columns=3))
    assert all(isinstance(rows.rust_column(column, field, 0), tuple)
               for column, field in zip(batch.columns, batch.schema, strict=True)
               if not _holds_unbounded(field.type))
    check(batch, formats_for(data.draw, batch))


@settings(max_examples=examples(500), deadline=None)
@given(st.data())
def test_nested_columns_match_python(data):
    """Structs, maps, unions and lists nested in each other, NULL at every level,
    sliced at every level, in text, binary and mixed formats."""
    batch = data.draw(batches(containers(), max_columns=3))
    check(batch, formats_for(data.draw, batch))


@settings(max_examples=examples(400), deadline=None)
@given(st.data())
def test_multi_dimensional_arrays_match_python(data):
    """2-D and 3-D arrays, rectangular, ragged or with NULL sub-lists (binary: both
    codecs raise RaggedArrayError), of scalars and json."""
    batch = data.draw(batches(MULTI_DIM_COLUMNS, max_columns=3))
    check(batch, formats_for(data.draw, batch))


def test_nested_kinds_do_not_call_python_encoders(monkeypatch):
    ints = pa.array([1, None, 3], pa.int32())
    texts = pa.array(["a", 'b"\n', None])
    struct = pa.StructArray.from_arrays([ints, texts], names=["i", "t"], mask=pa.array([False, False, True]))
    # a STRUCT at the top is a record (Python's); inside a MAP it is json (Rust's)
    columns = {
        "struct": in_map(struct),
        "struct_list": in_map(pa.array([{"l": [1, None]}, {"l": None}, None],
                                       pa.struct([("l", pa.list_(pa.int64()))]))),
        "map": pa.array([[("a", 1)], [], None], pa.map_(pa.string(), pa.int32())),
        "map_list_key": pa.array([[([1, 2], {"x": 1.5})], None, []],
                                 pa.map_(pa.list_(pa.int32()), pa.struct([("x", pa.float64())]))),
        "sparse": union_of([3, 3, 3]),
        "dense": union_of([3, 3, 3], [1, 0, 1]),
        "list_struct": in_map(pa.ListArray.from_arrays(pa.array([0, 2, 2, 3], pa.int32()), struct)),
        "list_union": pa.ListArray.from_arrays(pa.array([0, 1, 1, 2], pa.int32()), union_of([3, 3])),
        "fixed_map": pa.FixedSizeListArray.from_arrays(
            pa.array([[("k", 1)], None, [], [], [("k", None)], []], pa.map_(pa.string(), pa.int8())), 2),
        "int_2d": pa.array([[[1, 2], [3, None]], [], None], pa.list_(pa.list_(pa.int32()))),
        "text_3d": pa.array([[[["a b", None]]], [[]], [[["NULL", None]], [["", "x"]]]],
                            pa.large_list(pa.list_(pa.list_(pa.string(), 2)))),
        "fixed_2d": pa.array([[[1.5, None]], [[2, 3]], None], pa.list_(pa.list_(pa.float64(), 2), 1)),
        "zoned_2d": pa.array([[[0]], None, []], pa.list_(pa.list_(pa.int64()))).cast(
            pa.list_(pa.list_(pa.timestamp("us", tz="Europe/Paris")))),
        "enum_struct": in_map(pa.StructArray.from_arrays(
            [pa.array(["a b", None, "c"]).dictionary_encode(), pa.array([1.5, None, -0.0], pa.float16()),
             pa.array(["x", None, "longer than twelve bytes"], pa.string_view()),
             pa.ExtensionArray.from_storage(pa.opaque(pa.binary(), "bignum", "DuckDB"),
                                            pa.array([varint_bytes(-(10**50)), None, varint_bytes(0)])),
             pa.ExtensionArray.from_storage(pa.opaque(pa.binary(), "bit", "DuckDB"),
                                            pa.array([b"\x04\xf5", None, b"\x00"])),
             pa.ExtensionArray.from_storage(pa.opaque(pa.binary(8), "time_tz", "DuckDB"),
                                            pa.array([timetz_bits(1, -3600), None, bytes(8)], pa.binary(8)))],
            names=["e", "h", "v", "n", "b", "t"])),
        "enum_2d": pa.array([[["x", None]], None, [["y", "x"], ["", "NULL"]]],
                            pa.list_(pa.list_(pa.dictionary(pa.int32(), pa.string())))),
    }
    batch = pa.record_batch(columns)
    n = batch.num_columns
    formats = ([0] * n, [1] * n)
    cases = [(part, f) for part in (batch, batch.slice(1, 2)) for f in formats]
    expected = [encode_rows(part, f, codec="python") for part, f in cases]
    monkeypatch.setattr(rows, "_ENCODERS", (refuse_encoding, refuse_encoding))
    assert [encode_rows(part, f, codec="rust") for part, f in cases] == expected


def refuse_encoding(array, field):
    raise AssertionError(f"Python encoder called for {field}")


#: STRUCT, MAP, UNION, arrays of them and multi-dimensional arrays as DuckDB sends
#: them: every native kind inside a struct, NULL at every level, empty maps and
#: lists, unions of either member, LIST and ARRAY levels mixed, list keys.
DUCKDB_NESTED = r"""
SELECT * FROM (VALUES
  ({'a': 1, 'b': 'x "y"', 'c': 1.5::DOUBLE}, MAP {1: 'a', -2: NULL}, union_value(num := 2)::UNION(num INT, s VARCHAR),
   [[1, 2], [3, NULL]], [[[1]], [[2]]], [{'a': 1, 'l': [1, 2]}, NULL], [[1, 2], [3, 4]]::INT[2][], [MAP {'k': [1.5]}],
   {'d': DATE '2020-01-01', 'ts': TIMESTAMP '2020-01-01 01:02:03.5', 'u': '00112233-4455-6677-8899-aabbccddeeff'::UUID,
    'iv': INTERVAL '1 day -2 hours', 'j': '{"x": [1, "\n"]}'::JSON, 'f': 'NaN'::FLOAT, 'inf': '-Infinity'::DOUBLE,
    'h': 1::HUGEINT, 'dec': 1.50::DECIMAL(10,2), 'b': true, 'blob': '\x00\x22'::BLOB,
    'tz': TIMESTAMPTZ '2020-06-01 12:00:00+00', 't': TIME '01:02:03', 'ub': 18446744073709551615::UBIGINT,
    'e': {'x': [NULL::INT]}, 'tsn': TIMESTAMP_NS '2020-01-01 00:00:00.123456789'}, MAP {[1, 2]: {'x': 1}},
   [['a', NULL], ['', 'b c']]::VARCHAR[2][2]),
  (NULL, MAP {}, union_value(s := 'tab	"q"\')::UNION(num INT, s VARCHAR), [[]], [], [], NULL, [], NULL, NULL, NULL),
  ({'a': NULL, 'b': NULL, 'c': NULL}, NULL, NULL, [NULL, NULL], [[], []], [NULL], [[NULL, 1], [2, NULL]]::INT[2][],
   [NULL, MAP {}], {'d': NULL, 'ts': NULL, 'u': NULL, 'iv': NULL, 'j': NULL, 'f': NULL, 'inf': NULL, 'h': NULL,
    'dec': NULL, 'b': NULL, 'blob': NULL, 'tz': NULL, 't': NULL, 'ub': NULL, 'e': NULL, 'tsn': NULL}, MAP {[]: NULL},
   [[NULL, NULL], ['x', 'y']]::VARCHAR[2][2])
) t(s, m, u, l2, l3, ls, fa, lm, every, mk, arr2)
"""


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata", "America/New_York"])
def test_duckdb_nested_match_python(zone):
    batch = duckdb_batch(DUCKDB_NESTED, zone)
    n = batch.num_columns
    assert pa.types.is_union(batch.schema.field("u").type) and pa.types.is_map(batch.schema.field("m").type)
    native = [isinstance(rows.rust_column(batch.column(i), batch.schema.field(i), 0), tuple) for i in range(n)]
    # Every column but the records (s, ls, every: the Python encoders'); inside a MAP
    # they are json, Rust's, the struct with a timestamptz in a named zone (its text)
    # included.
    assert native == [name not in ("s", "ls", "every") for name in batch.schema.names]
    in_maps = duckdb_batch("SELECT MAP {'k': s} AS s, MAP {'k': ls} AS ls, MAP {'k': every} AS every "
                           f"FROM ({DUCKDB_NESTED})", zone)
    for fmt in (0, 1):
        assert all(isinstance(rows.rust_column(in_maps.column(i), in_maps.schema.field(i), fmt), tuple)
                   for i in range(3))
        assert check(in_maps.slice(0, 2), [fmt] * 3)
        check(in_maps, [fmt] * 3)
    for formats in ([0] * n, [1] * n, [0, 1] * (n // 2) + [0], [1, 0] * (n // 2) + [1]):
        # Row 2's l2 has a NULL sub-list and ls a NULL element: only the first two
        # rows have binary forms in every column.
        assert check(batch.slice(0, 2), formats)
        check(batch, formats)
        check(batch.slice(1, 2), formats)
    ranged = duckdb_batch(
        "SELECT {'i': i, 's': i::VARCHAR || E'\\n', 'f': i / 7, 'l': [i, NULL]} AS s,"
        " MAP {i::VARCHAR: i / 3, 'k' || i: NULL} AS m,"
        " CASE WHEN i % 3 = 0 THEN union_value(n := i)::UNION(n BIGINT, t VARCHAR)"
        "      ELSE union_value(t := 'v' || i)::UNION(n BIGINT, t VARCHAR) END AS u,"
        " CASE WHEN i % 7 = 0 THEN NULL ELSE [[i, NULL], [-i, i * 2]] END AS l2,"
        " [[[i]], [[i + 1]]] AS l3, [{'a': i}, NULL] AS ls FROM range(-500, 1500) r(i)", zone)
    for formats in ([0] * 6, [1] * 6):
        assert check(ranged, formats)
        assert check(ranged.slice(777, 500), formats)


@pytest.mark.parametrize("zone", ["UTC", "America/New_York"])
def test_duckdb_enum_bit_timetz_varint_nested_match_python(zone):
    """ENUM, BIT, TIMETZ and VARINT inside structs, maps and multi-dimensional arrays,
    and timestamptz in a named zone in a 2-D array: all native."""
    batch = duckdb_types_batch(
        "SELECT MAP {'k': {'m': (['sad', 'very happy', 'NULL'])[i % 3 + 1]::mood,"
        " 'b': CASE WHEN i % 5 = 0 THEN NULL ELSE bitstring(i::BIT::VARCHAR, 70)::BIT END,"
        " 't': ('01:00:00'::TIME + i * INTERVAL 7 SECOND)::TIMETZ,"
        " 'v': (i::VARINT * 12345678901234567890::VARINT) ^ 3}} AS s,"
        " [[(['sad', 'é'])[i % 2 + 1]::mood, NULL], [NULL, 'a,b'::mood]] AS m2,"
        " MAP {(['sad', 'é'])[(i + 50) % 2 + 1]::mood: i::VARINT} AS mp,"
        " [[('01:00:00'::TIME + i * INTERVAL 7 SECOND)::TIMETZ], [NULL]] AS t2,"
        " [[TIMESTAMPTZ '2020-03-08 06:00:00+00' + i * INTERVAL 1 HOUR]] AS z2"
        " FROM range(-50, 150) r(i)", zone)
    n = batch.num_columns
    assert all(isinstance(rows.rust_column(batch.column(i), batch.schema.field(i), f), tuple)
               for i in range(n) for f in (0, 1))
    for formats in ([0] * n, [1] * n, [0, 1] * (n // 2) + [0]):
        assert check(batch, formats)
        assert check(batch.slice(77, 50), formats)


def test_duckdb_ragged_lists_match_python():
    batch = duckdb_batch("SELECT CASE WHEN i % 4 = 0 THEN [[i], [i, i]] WHEN i % 4 = 1 THEN [[i], NULL]"
                         " ELSE [[i, i], [i, i]] END AS l FROM range(12) r(i)")
    assert check(batch, [0])
    assert not check(batch, [1])
    assert check(batch.slice(2, 2), [1])


# --- named time zones ----------------------------------------------------------------

USECS = 1_000_000
#: 400 Gregorian years in microseconds: the reference's offsets repeat with it.
CYCLE_USECS = 146_097 * USECS_PER_DAY
ALL_ZONES = sorted(zoneinfo.available_timezones())
#: Offsets of 30 and 45 minutes (St_Johns, Kolkata, Chatham), negative DST (Dublin),
#: a 30-minute DST (Lord_Howe), DST suspended for Ramadan (Casablanca), DST across
#: the new year (Sao_Paulo, Chatham), a 2-hour DST (Troll), a skipped day (Apia),
#: offsets that came and went (Moscow), v3 rules at -1:00 (Nuuk) and 26:00
#: (Jerusalem), and names that are links or no region.
TRICKY_ZONES = ["America/St_Johns", "Australia/Lord_Howe", "Pacific/Chatham", "Africa/Casablanca",
                "Europe/Dublin", "Asia/Kolkata", "America/Sao_Paulo", "Antarctica/Troll", "Pacific/Apia",
                "Europe/Moscow", "America/Nuuk", "Asia/Jerusalem", "America/New_York", "Etc/UTC",
                "Etc/GMT-14", "EST5EDT", "US/Pacific", "Asia/Kathmandu"]
#: Leap-second ("right/") and "posix/" copies, where the system has them.
EXTRA_ZONES = [zone for zone in ("right/America/New_York", "right/UTC", "posix/Europe/Dublin")
               if zoneinfo._tzpath.find_tzfile(zone)]


def transitions_in_range(times) -> tuple[int, ...]:
    """Transition times (UTC seconds) a microsecond timestamp can hold."""
    return tuple(t for t in times if abs(t) * USECS <= I64_MAX)


@functools.cache
def zone_transitions(zone: str) -> tuple[int, ...]:
    """UTC seconds of a zone's transitions, as zoneinfo reads its file."""
    return transitions_in_range(zoneinfo._common.load_data(io.BytesIO(text.zone_tzif(zone)))[1])


@functools.lru_cache(maxsize=4096)
def offset_changes(zone: zoneinfo.ZoneInfo, year: int) -> tuple[int, ...]:
    """Microseconds in a year (2..9997) where the reference's offset changes: a daily
    scan, then bisection to the microsecond."""
    def offset(usecs: int) -> int:
        return text._utc_offset_seconds(usecs, zone)

    start = (dt.datetime(year, 1, 1) - dt.datetime(1970, 1, 1)) // dt.timedelta(microseconds=1)
    changes, before = [], offset(start)
    for day in range(1, 367):
        lo, hi = start + (day - 1) * USECS_PER_DAY, start + day * USECS_PER_DAY
        after = offset(hi)
        if after != before:
            while hi - lo > 1:
                mid = (lo + hi) // 2
                lo, hi = (mid, hi) if offset(mid) == before else (lo, mid)
            changes.append(hi)
        before = after
    return tuple(changes)


def named_zone_instants(zone: str):
    return zone_instants(zone_transitions(zone), functools.partial(offset_changes, zoneinfo.ZoneInfo(zone)))


@st.composite
def zone_instants(draw, transitions: tuple[int, ...], changes) -> int:
    """Microseconds since 1970 that are hard for a zone: at (and around) one of its
    `transitions` or a switch of its rule (`changes(year)`), possibly whole 400-year
    cycles away (the reference's lookup repeats: far past and far future), DuckDB's
    infinities, or anywhere in DuckDB's range."""
    how = draw(st.sampled_from(["transition", "switch", "anywhere", "special"]))
    if how == "special":
        return draw(st.sampled_from([0, -1, I64_MAX, -I64_MAX, I64_MIN, I64_MAX - 1, -62135596800000000,
                                     253402300799999999, 253402300800000000, -62135596800000001]))
    if how == "anywhere":
        return draw(st.one_of(st.integers(I64_MIN, I64_MAX), st.integers(-(10**17), 10**17)))
    if how == "transition" and transitions:
        base = draw(st.sampled_from(transitions)) * USECS
    else:
        year = draw(st.one_of(st.integers(2037, 2100), st.integers(2, 9997)))
        base = draw(st.sampled_from(changes(year) or (0,)))
    delta = draw(st.one_of(st.sampled_from([0, -1, 1, -USECS, USECS, -3600 * USECS, 3600 * USECS]),
                           st.integers(-26 * 3600, 26 * 3600).map(lambda s: s * USECS),
                           st.integers(-2 * USECS_PER_DAY, 2 * USECS_PER_DAY)))
    cycles = draw(st.one_of(st.just(0), st.integers(-700, 700)))
    value = base + delta + cycles * CYCLE_USECS
    return value if -I64_MAX <= value <= I64_MAX else base


def zoned(zone: str, unit: str = "us"):
    """A timestamptz column in `zone`: instants (microseconds) in `unit`; an
    infinity stays one, nanoseconds beyond int64 are taken as they are."""
    typ = pa.timestamp(unit, tz=zone)

    def in_unit(usecs: int) -> int:
        if usecs in (I64_MAX, -I64_MAX, I64_MIN):
            return usecs
        if unit == "ns":
            return usecs * 1000 if abs(usecs) < I64_MAX // 1000 else usecs
        return usecs // {"s": USECS, "ms": 1000, "us": 1}[unit]

    return (lambda name: pa.field(name, typ), named_zone_instants(zone),
            lambda vals: pa.array([None if v is None else in_unit(v) for v in vals], pa.int64()).view(typ))


def named_zone_batches(zones):
    """Batches of timestamptz columns (and lists of them, and json holding them) in
    one zone of `zones`."""
    @st.composite
    def draw_batch(draw):
        zone = draw(st.sampled_from(zones))
        unit = draw(st.sampled_from(["s", "ms", "us", "ns"]))
        kinds = [zoned(zone, unit), zoned(zone, "us"), listed(zoned(zone, unit)),
                 listed(zoned(zone, "us"), "fixed", 2), plain(pa.int32(), int_values(pa.int32())),
                 structed([zoned(zone, unit), MAP_KEYS[0]], ["t", "n"]),
                 mapped(MAP_KEYS[2], listed(zoned(zone, "us")))]
        return draw(batches(Columns(f"{zone} [{unit}]", kinds), max_columns=4))
    return draw_batch()


@settings(max_examples=examples(200), deadline=None)
@given(st.data())
def test_named_zones_match_python(data):
    batch = data.draw(named_zone_batches(ALL_ZONES))
    check(batch, formats_for(data.draw, batch))


@settings(max_examples=examples(200), deadline=None)
@given(st.data())
def test_tricky_named_zones_match_python(data):
    batch = data.draw(named_zone_batches(TRICKY_ZONES + EXTRA_ZONES))
    check(batch, formats_for(data.draw, batch))


def test_every_zone_at_every_transition():
    """Every zone of the tz database, natively: at each transition of its file, 1 us
    before and half an hour after (a fall-back's repeated time), the same 400 years on
    (its rule) and before (local mean time), and at its rule's switches in 2100."""
    shifts = (0, 2 * CYCLE_USECS, -5 * CYCLE_USECS, 700 * CYCLE_USECS, -700 * CYCLE_USECS)
    for zone in ALL_ZONES + EXTRA_ZONES:
        instants = [t * USECS + d for t in zone_transitions(zone) for d in (-1, 0, 1800 * USECS)]
        instants += [t * USECS + shift for t in zone_transitions(zone)[-3:] for shift in shifts]
        instants += [t + d for t in offset_changes(zoneinfo.ZoneInfo(zone), 2100) for d in (-1, 0, 1)]
        instants += [-I64_MAX, I64_MAX, I64_MIN, 0]
        typ = pa.timestamp("us", tz=zone)
        batch = pa.record_batch({"t": pa.array(instants, pa.int64()).view(typ)})
        assert isinstance(rows.rust_column(batch.column(0), batch.schema.field(0), 0), tuple), zone
        assert encode_rows(batch, [0], codec="rust") == encode_rows(batch, [0], codec="python"), zone


def test_zone_files_are_the_ones_zoneinfo_reads():
    """TZPATH first, then the tzdata package, as zoneinfo searches; the parsed zones
    are cached, boundedly."""
    path = zoneinfo._tzpath.find_tzfile("America/New_York")
    if path is not None:
        with open(path, "rb") as file:
            assert text.zone_tzif("America/New_York") == file.read()
    tzdata = pytest.importorskip("tzdata")
    berlin = pa.record_batch({"t": pa.array([0, 1_700_000_000_000_000, None], pa.int64()).view(
        pa.timestamp("us", tz="Europe/Berlin"))})
    try:
        zoneinfo.reset_tzpath(to=[])
        zoneinfo.ZoneInfo.clear_cache()
        rows._rust_zone.cache_clear()
        packaged = importlib.resources.files(f"{tzdata.__name__}.zoneinfo.Europe").joinpath("Berlin").read_bytes()
        assert text.zone_tzif("Europe/Berlin") == packaged
        assert isinstance(rows.rust_column(berlin.column(0), berlin.schema.field(0), 0), tuple)
        assert encode_rows(berlin, [0], codec="rust") == encode_rows(berlin, [0], codec="python")
        with pytest.raises(zoneinfo.ZoneInfoNotFoundError):
            text.zone_tzif("Europe/Atlantis")
    finally:
        zoneinfo.reset_tzpath()
        zoneinfo.ZoneInfo.clear_cache()
        rows._rust_zone.cache_clear()
    assert rows._rust_zone.cache_info().maxsize == 64


# --- TZif files made here, and hostile ones ---------------------------------------------


def tzif_file(transitions, types, footer: bytes | None, version: bytes = b"2", leaps: int = 0) -> bytes:
    """A TZif file: transitions (UTC second, type index), types (offset, is DST); a
    version 1 file has no footer, and 32-bit times (a v2+ file's v1 block is skipped
    by readers, so its 32-bit copy may be cut)."""
    def block(bits: int) -> bytes:
        head = b"TZif" + version + bytes(15) + struct.pack(">6l", leaps, leaps, leaps, len(transitions),
                                                            len(types), 4)
        body = b"".join((t % 2**bits).to_bytes(bits // 8, "big") for t, _ in transitions)
        body += bytes(i for _, i in transitions)
        body += b"".join(struct.pack(">lbb", offset, dst, 0) for offset, dst in types)
        body += b"LMT\0"
        # Leap records (a time and a correction), then both indicator arrays.
        return head + body + bytes(leaps * (bits // 8 + 4) + 2 * leaps)
    if footer is None:
        return block(32)
    return block(32) + block(64) + b"\n" + footer + b"\n"


def posix_time(max_hours: int):
    """[+-]h[hh][:mm[:ss]], the hours zero-padded to up to 3 digits."""
    @st.composite
    def draw_time(draw):
        hours = draw(st.integers(0, max_hours))
        width = draw(st.integers(len(str(hours)), 3))
        out = draw(st.sampled_from(["", "+", "-"])) + f"{hours:0{width}d}"
        if draw(st.booleans()):
            out += f":{draw(st.integers(0, 99)):02d}"
            if draw(st.booleans()):
                out += f":{draw(st.integers(0, 99)):02d}"
        return out
    return draw_time()


ABBREVIATIONS = st.sampled_from(["EST", "GMT", "IST", "<+0530>", "<-03>", "<>", "ABCD", "<A+1>", "X"])
SWITCH_DAYS = st.one_of(
    st.sampled_from(["J59", "J60", "59", "0", "365", "M2.5.4", "M12.5.6"]),
    st.builds("M{}.{}.{}".format, st.one_of(st.integers(1, 12), st.sampled_from(["01", "03", "10"])),
              st.integers(1, 5), st.integers(0, 6)),
    st.integers(1, 365).map("J{}".format),
    st.integers(0, 365).map(str),
)
SWITCHES = st.builds(lambda day, time: day + (f"/{time}" if time else ""), SWITCH_DAYS,
                     st.one_of(st.just(""), posix_time(167)))


@st.composite
def posix_rules(draw) -> bytes:
    """POSIX TZ strings as a TZif footer may hold them (RFC 8536's v3 included)."""
    rule = draw(ABBREVIATIONS) + draw(posix_time(24))
    if draw(st.booleans()):
        rule += draw(ABBREVIATIONS)
        if draw(st.booleans()):
            rule += draw(posix_time(24))
        rule += "," + draw(SWITCHES) + "," + draw(SWITCHES)
    return rule.encode()


#: UTC offsets: whole hours, the odd ones the tz database has, seconds of LMT, up
#: to a day (which datetime refuses: Rust then leaves the zone to Python).
OFFSETS = st.one_of(st.sampled_from([0, 3600, -3600, 7200, 19800, -12600, 20700, 45900, -17762, 13 * 3600,
                                     -11 * 3600, 86399, -86399, 86400]),
                    st.integers(-86399, 86399))


@st.composite
def tzif_zones(draw):
    """(TZif file, its transition times): types, transitions (sorted as zic writes
    them, or crowded, or out of order), a footer of any version."""
    version = draw(st.sampled_from([b"\0", b"2", b"3", b"4"]))
    bits = 31 if version == b"\0" else 36  # version 1: 32-bit times
    types = draw(st.lists(st.tuples(OFFSETS, st.booleans()), min_size=1, max_size=4))
    times = draw(st.lists(st.one_of(st.integers(-(2**bits), 2**bits - 1),
                                    st.sampled_from([-(2**59) if bits > 31 else -(2**31), 0, 2**31 - 1])),
                          max_size=8, unique=True))
    order = draw(st.sampled_from(["sorted", "sorted", "crowded", "any"]))
    if order == "sorted":
        times.sort()
    elif order == "crowded":  # transitions hours apart: the two lookups disagree
        start = draw(st.integers(-(2**34), 2**34))
        times = [start + i * draw(st.integers(1, 3 * 3600)) for i in range(len(times))]
    transitions = [(t, draw(st.integers(0, len(types) - 1))) for t in times]
    footer = None if version == b"\0" else draw(st.one_of(posix_rules(), st.just(b"")))
    return tzif_file(transitions, types, footer, version, draw(st.integers(0, 2))), times


def cpython_reads_out_of_bounds(data: bytes) -> bool:
    """Whether CPython's C zoneinfo loader would read past an array on this file (and
    may crash the process): a type index one past the types (``load_data`` lets it
    through), or a last transition to a DST type whose size it cannot infer from its
    neighbours (``utcoff_to_dstoff`` then reads the transition after the last). The
    file is parsed by the Python half of that loader, ``_common.load_data``."""
    indices, _, offsets, dsts, _, _ = zoneinfo._common.load_data(io.BytesIO(data))
    if any(i >= len(offsets) for i in indices):
        return True
    sized, found = [0] * len(offsets), 0
    for i in range(1, len(indices)):
        if found == len(offsets):  # C counts every type, not only DST ones
            break
        idx, other = indices[i], indices[i - 1]
        if not dsts[idx] or sized[idx]:
            continue
        size = 0 if dsts[other] else offsets[idx] - offsets[other]
        if not size and idx < len(offsets) - 1:
            if i + 1 == len(indices):
                return True
            other = indices[i + 1]
            if dsts[other]:
                continue
            size = offsets[idx] - offsets[other]
        if size:
            found += 1
            sized[idx] = size
    return False


def python_zone(data: bytes) -> zoneinfo.ZoneInfo | None:
    """zoneinfo's C ZoneInfo of a file, None if it refuses it (or would read out of
    bounds on it)."""
    try:
        if cpython_reads_out_of_bounds(data):
            return None
        return zoneinfo.ZoneInfo.from_file(io.BytesIO(data))
    except Exception:  # noqa: BLE001 - any refusal: the zone never reaches Rust
        return None


def check_zone_data(data: bytes, instants: list[int]) -> None:
    """Rust's text of `instants` in the zone of a TZif file is zoneinfo's."""
    zone = python_zone(data)
    assert zone is not None
    rust_zone = _native.TimeZone("Test/Zone", data)
    array = pa.array(instants, pa.int64()).view(pa.timestamp("us", tz="Test/Zone"))
    expected = b"".join(backend.data_row([text.timestamp_text(v, "us", zone).encode()]) for v in instants)
    assert _native.encode_data_rows([(array, 0, "timestamptz", rust_zone)], len(instants)) == expected


#: Rules whose switches are easy to get wrong: CPython's J59 (February 29 in a leap
#: year) and 0 (December 31 of the year before), the last day, the last Thursday of
#: February, v3 times a week either side, negative DST, half-hour DST across the new
#: year, switches at negative hours, DST an hour behind (no offset given: ahead).
RULE_EDGES = [b"A3B,J59/0,J300", b"A3B,J60,J365/25", b"A-1B,0/0,365/-1", b"A3B,M2.5.4/-167,M12.5.6/167",
              b"IST-1GMT0,M10.5.0,M3.5.0/1", b"<+1030>-10:30<+11>-11,M10.1.0,M4.1.0",
              b"<-03>3<-02>,M3.5.0/-2,M10.5.0/-1", b"A5B6,M3.2.0,M11.1.0", b"A-13B,J1/0,J365/24"]


@pytest.mark.parametrize("footer", RULE_EDGES)
def test_rule_edges_match_zoneinfo(footer):
    blob = tzif_file([(-(2**31), 1), (0, 0)], [(0, False), (-17_762, False)], footer)
    zone = zoneinfo.ZoneInfo.from_file(io.BytesIO(blob))
    years = (1970, 2023, 2024, 2100, 2400, 9996)
    switches = [c for year in years for c in offset_changes(zone, year)]
    assert switches
    # The new year too, where J1 and J365/24 fall and the UTC and local years differ.
    new_years = [(dt.datetime(year, 1, 1) - dt.datetime(1970, 1, 1)) // dt.timedelta(microseconds=1)
                 + half_hours * 1800 * USECS for year in years for half_hours in range(-30, 31)]
    instants = [c + d for c in switches for d in (-USECS, -1, 0, 1, USECS)] + new_years
    check_zone_data(blob, [t + shift for t in instants for shift in (0, 700 * CYCLE_USECS, -700 * CYCLE_USECS)])


@settings(max_examples=examples(400), deadline=None)
@given(st.data())
def test_made_zones_match_zoneinfo(data):
    blob, times = data.draw(tzif_zones())
    assume(not cpython_reads_out_of_bounds(blob))
    zone = zoneinfo.ZoneInfo.from_file(io.BytesIO(blob))  # every file made is one zoneinfo reads
    try:
        _native.TimeZone("Test/Zone", blob)
    except ValueError as refused:
        # Only offsets of a day or more, which datetime refuses (the Python
        # encoders raise), are left to them.
        assert "offset out of range" in str(refused)
        return
    instants = zone_instants(transitions_in_range(times), functools.partial(offset_changes, zone))
    check_zone_data(blob, data.draw(st.lists(instants, min_size=1, max_size=30)))


def mutations(blob: bytes):
    """`blob` with a few bytes changed, cut short, or grown."""
    @st.composite
    def draw_mutation(draw):
        out = bytearray(blob)
        for _ in range(draw(st.integers(1, 4))):
            at = draw(st.integers(0, len(out) - 1))
            out[at] = draw(st.sampled_from([0, 1, 0x7F, 0x80, 0xFF, ord("\n"), ord("2"), ord(",")])
                           | st.integers(0, 255))
        how = draw(st.sampled_from(["flip", "cut", "grow"]))
        if how == "cut":
            del out[draw(st.integers(0, len(out))):]
        elif how == "grow":
            out += draw(st.binary(max_size=20))
        return bytes(out)
    return draw_mutation()


@settings(max_examples=examples(500), deadline=None)
@given(st.data())
def test_hostile_tzif_files_are_refused_or_read_as_zoneinfo_does(data):
    """Random and mutated files (real zones' and made ones): Rust refuses them, or
    zoneinfo refuses them (and the zone never reaches Rust), or both give the same
    offsets."""
    source = data.draw(st.sampled_from(["random", "real", "made"]))
    if source == "random":
        blob = data.draw(st.one_of(st.binary(max_size=200), st.binary(max_size=200).map(b"TZif".__add__)))
    elif source == "real":
        blob = data.draw(mutations(text.zone_tzif(data.draw(st.sampled_from(TRICKY_ZONES)))))
    else:
        blob = data.draw(tzif_zones().flatmap(lambda made: mutations(made[0])))
    try:
        _native.TimeZone("Test/Zone", blob)
    except ValueError:
        return
    if python_zone(blob) is None:
        return
    instants = data.draw(st.lists(st.one_of(st.integers(-(2**40), 2**40).map(lambda s: s * USECS),
                                            st.integers(I64_MIN, I64_MAX)), min_size=1, max_size=20))
    check_zone_data(blob, instants)


# -- a kept RowEncoder (frontend/results.encode) ------------------------------------------

def _kept_matches_new(batch: pa.RecordBatch, formats: list[int], cut: int,
                      style: text.OutputStyle | None = None) -> None:
    for codec in ("python", "rust"):
        kept = rows.RowEncoder(batch.schema, formats, codec, style)
        for part in (batch.slice(0, cut), batch.slice(cut), batch):
            assert rows.encoder(kept, part.schema, formats, style, codec) is kept
            try:
                expected = encode_rows(part, formats, codec=codec, style=style)
            except RaggedArrayError:
                with pytest.raises(RaggedArrayError):
                    kept.encode(part)
                continue
            assert kept.encode(part) == expected


@settings(max_examples=examples(300), deadline=None)
@given(st.data())
def test_a_kept_row_encoder_encodes_each_batch_as_a_new_one(data):
    """A statement's result batches, one encoder for all (what it works out per column
    done once): each batch's bytes are encode_rows' in both codecs, for native,
    Python-only and container columns, in every format mix."""
    kinds = Columns("NATIVE + PYTHON_COLUMNS", NATIVE_COLUMNS + PYTHON_COLUMNS)
    batch = data.draw(st.one_of(batches(kinds, max_columns=5), batches(containers(), max_columns=3)))
    _kept_matches_new(batch, formats_for(data.draw, batch), data.draw(st.integers(0, batch.num_rows)))


def test_a_kept_row_encoder_is_replaced_when_what_it_decided_from_changes():
    """A new schema (metadata included: it names jsonb), other formats, another
    DateStyle or codec each get a new encoder, whose bytes are encode_rows'."""
    ts = pa.array([0, None], pa.int64()).view(pa.timestamp("us"))
    batch = pa.record_batch({"t": ts, "s": pa.array(['{"a": 1}', None])})
    kept = rows.encoder(None, batch.schema, [0, 0])
    assert rows.encoder(kept, batch.schema, None) is kept  # None: all text
    sql_style = text.OutputStyle("SQL", "DMY")
    jsonb = batch.schema.set(1, batch.schema.field(1).with_metadata(
        {b"duckgres.pg_type": b"3802 -1 0 jsonb"}))
    for schema, formats, style, codec in [(batch.schema, [1, 0], None, rows.CODEC),
                                          (batch.schema, [0, 0], sql_style, rows.CODEC),
                                          (jsonb, [0, 0], None, rows.CODEC),
                                          (batch.schema, [0, 0], None, "python"),
                                          (batch.schema, [0, 0], None, "rust")]:
        if codec == kept.codec and schema is batch.schema and formats == [0, 0] and style is None:
            continue  # the kept one's own
        new = rows.encoder(kept, schema, formats, style, codec)
        assert new is not kept
        part = pa.record_batch(batch.columns, schema=schema)
        assert new.encode(part) == encode_rows(part, formats, codec=codec, style=style)
    # the style shows: SQL DateStyle prints the timestamp another way
    assert rows.encoder(kept, batch.schema, [0, 0], sql_style).encode(batch) != kept.encode(batch)
    _kept_matches_new(batch, [0, 0], 1, sql_style)
