"""DataRows from the Rust codec must equal the pure-Python reference byte for byte.

``encode_rows(..., codec="python")`` is the reference: the Python encoders and the
Python assembly. ``codec="rust"`` hands the int2/int4/int8, bool, text/json,
float4/float8, numeric (decimal128, uint64, hugeint, uhugeint), bytea, uuid, date,
time, timestamp, timestamptz and interval columns, lists of those (multi-dimensional
when nested), and STRUCT / MAP / UNION (json) of any of these, to
``_native.encode_data_rows`` as (trees of) Arrow arrays and every other column as
the Python encoder's values. Hypothesis builds random batches (nulls, slices with
non-zero offsets, empty batches, no columns, extreme integers, multi-byte text, every
float class and bit pattern, DuckDB's date and timestamp infinities and range ends in
every unit, empty and long bytea, decimals at the int128 and precision-38 limits in
every scale, times outside a day, intervals with mixed signs and extreme fields,
lists with NULL lists and elements, empty lists and elements array_out quotes;
structs, maps and sparse and dense unions nested in each other and in lists, NULL and
sliced at every level, JSON's special texts and numbers; 2-D and 3-D arrays,
rectangular, ragged or with NULL sub-lists) and compares both, in text, binary and
mixed formats (a ragged binary array: both raise RaggedArrayError). The native module
must be built.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import struct

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import duckdb

from duckgres_trio import _native
from duckgres_trio.wire import backend, rows
from duckgres_trio.wire.binary import RaggedArrayError, encode_binary_column
from duckgres_trio.wire.rows import encode_rows
from duckgres_trio.wire.text import encode_text_column

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
         "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]
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
      for unit in ("s", "us", "ns") for zone in ZONES[:8]),
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
    # A named zone: the binary form is native, the text goes through Python.
    viewed(pa.int64(), pa.timestamp("us", tz="America/New_York"), st.integers(-(10**17), 10**17)),
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
NATIVE_COLUMNS = OLD_NATIVE_COLUMNS + NEW_NATIVE_COLUMNS + KIND_COLUMNS
# Kinds or layouts the Rust side leaves to Python (timestamptz in a named zone: only
# its text; the binary form is native).
PYTHON_COLUMNS = [
    plain(pa.decimal256(40, 3), st.decimals(-(10**8), 10**8, places=3, allow_nan=False, allow_infinity=False)),
    (lambda name: pa.field(name, pa.decimal128(5, -2)), st.integers(-99999, 99999),
     lambda vals: pa.array([None if v is None else decimal.Decimal(f"{v}E2") for v in vals],
                           pa.decimal128(5, -2))),
    plain(pa.string_view(), st.text()),
    plain(pa.binary_view(), st.binary(max_size=20)),
    plain(pa.float16(), st.floats(width=16)),
    plain(pa.date64(), st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31))),
    viewed(pa.int64(), pa.duration("us"), st.integers(I64_MIN, I64_MAX)),
    viewed(pa.int64(), pa.timestamp("us", tz="America/New_York"), st.integers(-(10**17), 10**17)),
    viewed(pa.int64(), pa.timestamp("ms", tz="Asia/Kolkata"), st.integers(-(10**14), 10**14)),
    listed(plain(pa.string_view(), ARRAY_TEXTS)),
    # Nested lists, rectangular (a ragged one has no binary form in either codec).
    plain(pa.list_(pa.list_(pa.int32(), 2)), st.lists(st.lists(st.one_of(st.none(), st.integers(-5, 5)),
                                                                min_size=2, max_size=2), max_size=3)),
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


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_native_columns_match_python(data):
    batch = data.draw(batches(Columns("NATIVE_COLUMNS", NATIVE_COLUMNS)))
    check(batch, formats_for(data.draw, batch))


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_floats_dates_timestamps_bytes_match_python(data):
    batch = data.draw(batches(Columns("NEW_NATIVE_COLUMNS", NEW_NATIVE_COLUMNS), max_columns=6))
    check(batch, formats_for(data.draw, batch))


@settings(max_examples=500, deadline=None)
@given(st.data())
def test_numeric_time_interval_list_columns_match_python(data):
    batch = data.draw(batches(Columns("KIND_COLUMNS", KIND_COLUMNS), max_columns=6))
    check(batch, formats_for(data.draw, batch))


@settings(max_examples=300, deadline=None)
@given(st.lists(float64s, max_size=200), st.lists(float32s, max_size=200))
def test_float_columns_match_python(doubles, singles):
    for array in (pa.array(doubles, pa.float64()), pa.array(singles, pa.float32())):
        batch = pa.record_batch([array], names=["f"])
        check(batch, [0])
        check(batch, [1])


@settings(max_examples=200, deadline=None)
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


@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Asia/Kolkata"])
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
    }
    batch = pa.record_batch(columns)
    n = batch.num_columns
    expected = [encode_rows(batch, formats, codec="python") for formats in ([0] * n, [1] * n)]
    # A named zone's text needs its offsets (Python); its binary form is UTC.
    named = pa.record_batch({"tz": ints.view(pa.timestamp("us", tz="Europe/Paris"))})
    named_binary = encode_rows(named, [1], codec="python")
    monkeypatch.setattr(rows, "_ENCODERS", (refuse, refuse))
    assert [encode_rows(batch, formats, codec="rust") for formats in ([0] * n, [1] * n)] == expected
    assert encode_rows(named, [1], codec="rust") == named_binary
    with pytest.raises(AssertionError, match="Python encoder called"):
        encode_rows(named, [0], codec="rust")


def test_zones_without_a_fixed_offset_go_through_python():
    for tz in ("Europe/Paris", "+24:00", "+5:30", "utc", "+05:30:00", "+٠٥:٣٠"):
        typ = pa.timestamp("us", tz=tz)
        assert not rows._native("timestamptz", typ, 0), tz
        assert rows._native("timestamptz", typ, 1), tz
        array = pa.array([0], pa.int64()).view(typ)
        with pytest.raises(ValueError, match="does not fit kind"):
            _native.encode_data_rows([(array, 0, "timestamptz")], 1)
        assert _native.encode_data_rows([(array, 1, "timestamptz")], 1) == encode_rows(
            pa.record_batch({"t": array}), [1], codec="python")
    for tz in ("UTC", "+00:00", "-23:59", "+12:75"):
        assert rows._native("timestamptz", pa.timestamp("ns", tz=tz), 0), tz


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
    ]
    for array, kind in mismatches:
        with pytest.raises(ValueError, match="does not fit kind"):
            _native.encode_data_rows([(array, 1, kind)], 1)
    with pytest.raises(TypeError, match="not encoded natively"):
        _native.encode_data_rows([(pa.array([1.0], pa.float16()), 0, "float4")], 1)
    with pytest.raises(TypeError, match="not encoded natively"):
        _native.encode_data_rows([(pa.array([0], pa.int64()).view(pa.date64()), 0, "date")], 1)
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


def nested_lists(depth: int) -> pa.Array:
    """[[...[1, NULL]...]]: `depth` lists around an int64."""
    array = pa.array([1, None])
    for _ in range(depth):
        array = pa.ListArray.from_arrays(pa.array([0, len(array)], pa.int32()), array)
    return array


def test_columns_rust_does_not_take_go_through_python():
    """List views, and lists, structs, maps and unions with any Python-only part (a
    kind, a layout, a named zone's text, nesting past the Rust codec's depth) stay with
    the Python encoders (as values). A named zone's array is native in binary, but not
    inside json, which holds its text."""
    zone = pa.timestamp("us", tz="Europe/Paris")
    zoned = pa.array([[0]], pa.list_(pa.int64())).cast(pa.list_(zone))
    zoned_2d = pa.array([[[0]]], pa.list_(pa.list_(pa.int64()))).cast(pa.list_(pa.list_(zone)))
    zoned_struct = pa.StructArray.from_arrays([pa.array([0], pa.int64()).view(zone)], names=["t"])
    enum = pa.array(["a"]).dictionary_encode()
    half = pa.array([1.5], pa.float16())
    ints = pa.array([1], pa.int32())
    union_type = pa.sparse_union([pa.field("i", pa.int32()), pa.field("h", pa.float16())], [0, 1])
    half_union = pa.Array.from_buffers(union_type, 1, [None, pa.array([0], pa.int8()).buffers()[1]],
                                       children=[ints, half])
    cases = [
        (pa.array([["a"]], pa.list_(pa.string_view())), (0, 1)),
        (pa.array([[1]], pa.list_view(pa.int32())), (0, 1)),
        (pa.array([[[1]]], pa.list_(pa.list_view(pa.int32()))), (0, 1)),
        (pa.array([[1]], pa.list_(pa.float16())), (0, 1)),
        (pa.array([["a"]], pa.list_(pa.dictionary(pa.int8(), pa.string()))), (0, 1)),
        (pa.StructArray.from_arrays([ints, enum], names=["i", "e"]), (0, 1)),
        (pa.StructArray.from_arrays([pa.array([[1.5]], pa.list_(pa.float16()))], names=["l"]), (0, 1)),
        (pa.MapArray.from_arrays(pa.array([0, 1], pa.int32()), ints, half), (0, 1)),
        (pa.MapArray.from_arrays(pa.array([0, 1], pa.int32()), half, ints), (0, 1)),
        (half_union, (0, 1)),
        (zoned, (0,)),
        (zoned_2d, (0,)),
        (zoned_struct, (0, 1)),
        (pa.ListArray.from_arrays(pa.array([0, 1], pa.int32()), zoned_struct), (0, 1)),
        (nested_structs(33), (0, 1)),
        (nested_lists(33), (0, 1)),
        (pa.StructArray.from_arrays([nested_lists(32)], names=["l"]), (0, 1)),
    ]
    for array, formats in cases:
        field = pa.field("l", array.type)
        batch = pa.record_batch({"l": array})
        for fmt in formats:
            assert isinstance(rows.rust_column(array, field, fmt), list), (array.type, fmt)
            assert encode_rows(batch, [fmt], codec="rust") == encode_rows(batch, [fmt], codec="python")
    for array in (zoned, zoned_2d, nested_structs(32), nested_lists(32)):
        field = pa.field("l", array.type)
        batch = pa.record_batch({"l": array})
        assert isinstance(rows.rust_column(array, field, 1), tuple), array.type
        assert encode_rows(batch, [1], codec="rust") == encode_rows(batch, [1], codec="python")
    for array in (nested_structs(32), nested_lists(32)):
        assert isinstance(rows.rust_column(array, pa.field("l", array.type), 0), tuple), array.type
        batch = pa.record_batch({"l": array})
        assert encode_rows(batch, [0], codec="rust") == encode_rows(batch, [0], codec="python")


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
    assert _native.encode_data_rows([(s, 0, "struct", (field,))], 2) == encode_rows(
        pa.record_batch({"s": s}), [0], codec="python")
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


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_every_kind_in_json_matches_python(data):
    """Each native kind as a struct field, union member and map key: JSON's rules
    for numbers, NaN and infinities, bool, json, and escaped text."""
    batch = data.draw(batches(EVERY_KIND_COLUMNS, max_columns=3))
    assert all(isinstance(rows.rust_column(column, field, 0), tuple)
               for column, field in zip(batch.columns, batch.schema, strict=True))
    check(batch, formats_for(data.draw, batch))


@settings(max_examples=500, deadline=None)
@given(st.data())
def test_nested_columns_match_python(data):
    """Structs, maps, unions and lists nested in each other, NULL at every level,
    sliced at every level, in text, binary and mixed formats."""
    batch = data.draw(batches(containers(), max_columns=3))
    check(batch, formats_for(data.draw, batch))


@settings(max_examples=400, deadline=None)
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
    columns = {
        "struct": struct,
        "struct_list": pa.array([{"l": [1, None]}, {"l": None}, None], pa.struct([("l", pa.list_(pa.int64()))])),
        "map": pa.array([[("a", 1)], [], None], pa.map_(pa.string(), pa.int32())),
        "map_list_key": pa.array([[([1, 2], {"x": 1.5})], None, []],
                                 pa.map_(pa.list_(pa.int32()), pa.struct([("x", pa.float64())]))),
        "sparse": union_of([3, 3, 3]),
        "dense": union_of([3, 3, 3], [1, 0, 1]),
        "list_struct": pa.ListArray.from_arrays(pa.array([0, 2, 2, 3], pa.int32()), struct),
        "list_union": pa.ListArray.from_arrays(pa.array([0, 1, 1, 2], pa.int32()), union_of([3, 3])),
        "fixed_map": pa.FixedSizeListArray.from_arrays(
            pa.array([[("k", 1)], None, [], [], [("k", None)], []], pa.map_(pa.string(), pa.int8())), 2),
        "int_2d": pa.array([[[1, 2], [3, None]], [], None], pa.list_(pa.list_(pa.int32()))),
        "text_3d": pa.array([[[["a b", None]]], [[]], [[["NULL", None]], [["", "x"]]]],
                            pa.large_list(pa.list_(pa.list_(pa.string(), 2)))),
        "fixed_2d": pa.array([[[1.5, None]], [[2, 3]], None], pa.list_(pa.list_(pa.float64(), 2), 1)),
        "zoned_2d": pa.array([[[0]], None, []], pa.list_(pa.list_(pa.int64()))).cast(
            pa.list_(pa.list_(pa.timestamp("us", tz="Europe/Paris")))),
    }
    batch = pa.record_batch(columns)
    n = batch.num_columns
    formats = ([0] * (n - 1) + [1], [1] * n)  # a named zone's text is Python's
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
    # Only the struct with a timestamptz in a named zone (its text) leaves the Rust codec.
    assert native == [name != "every" or zone == "UTC" for name in batch.schema.names]
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


def test_duckdb_ragged_lists_match_python():
    batch = duckdb_batch("SELECT CASE WHEN i % 4 = 0 THEN [[i], [i, i]] WHEN i % 4 = 1 THEN [[i], NULL]"
                         " ELSE [[i, i], [i, i]] END AS l FROM range(12) r(i)")
    assert check(batch, [0])
    assert not check(batch, [1])
    assert check(batch.slice(2, 2), [1])
