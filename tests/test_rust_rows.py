"""DataRows from the Rust codec must equal the pure-Python reference byte for byte.

``encode_rows(..., codec="python")`` is the reference: the Python encoders and the
Python assembly. ``codec="rust"`` hands the int2/int4/int8, bool, text/json,
float4/float8, bytea, uuid, date, timestamp and timestamptz columns to
``_native.encode_data_rows`` as Arrow arrays and every other column as the Python
encoder's values. Hypothesis builds random batches (nulls, slices with non-zero
offsets, empty batches, no columns, extreme integers, multi-byte text, every float
class and bit pattern, DuckDB's date and timestamp infinities and range ends in
every unit, empty and long bytea) and compares both, in text, binary and mixed
formats. The native module must be built.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import struct

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import duckdb

from duckgres_trio import _native
from duckgres_trio.wire import backend, rows
from duckgres_trio.wire.binary import encode_binary_column
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
NATIVE_COLUMNS = OLD_NATIVE_COLUMNS + NEW_NATIVE_COLUMNS
# Kinds or layouts the Rust side leaves to Python (timestamptz in a named zone: only
# its text; the binary form is native).
PYTHON_COLUMNS = [
    plain(pa.decimal128(12, 3), st.decimals(-(10**8), 10**8, places=3, allow_nan=False, allow_infinity=False)),
    plain(pa.string_view(), st.text()),
    plain(pa.binary_view(), st.binary(max_size=20)),
    plain(pa.uint64(), st.integers(0, 2**64 - 1)),
    plain(pa.float16(), st.floats(width=16)),
    plain(pa.date64(), st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31))),
    plain(pa.time64("us"), st.times()),
    viewed(pa.int64(), pa.timestamp("us", tz="America/New_York"), st.integers(-(10**17), 10**17)),
    viewed(pa.int64(), pa.timestamp("ms", tz="Asia/Kolkata"), st.integers(-(10**14), 10**14)),
]


@st.composite
def batches(draw, kinds, max_columns: int = 5):
    """A record batch of columns drawn from `kinds`, each sliced out of a longer
    array at a random offset, with random NULLs."""
    n = draw(st.integers(0, 20))
    columns, fields = [], []
    for i in range(draw(st.integers(0, max_columns))):
        make_field, values, make_array = draw(st.sampled_from(kinds))
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


def check(batch: pa.RecordBatch, formats: list[int]) -> None:
    python = encode_rows(batch, formats, codec="python")
    assert python == reference(batch, formats)
    assert encode_rows(batch, formats, codec="rust") == python


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_native_columns_match_python(data):
    batch = data.draw(batches(NATIVE_COLUMNS))
    check(batch, formats_for(data.draw, batch))


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_floats_dates_timestamps_bytes_match_python(data):
    batch = data.draw(batches(NEW_NATIVE_COLUMNS, max_columns=6))
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
    batch = data.draw(batches(NATIVE_COLUMNS + PYTHON_COLUMNS, max_columns=6))
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
    with pytest.raises(TypeError, match="not encoded natively"):
        _native.encode_data_rows([(pa.array([1], pa.uint64()), 0, "int8")], 1)
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
    ]
    for array, kind in mismatches:
        with pytest.raises(ValueError, match="does not fit kind"):
            _native.encode_data_rows([(array, 1, kind)], 1)
    with pytest.raises(TypeError, match="not encoded natively"):
        _native.encode_data_rows([(pa.array([1.0], pa.float16()), 0, "float4")], 1)
    with pytest.raises(TypeError, match="not encoded natively"):
        _native.encode_data_rows([(pa.array([0], pa.int64()).view(pa.date64()), 0, "date")], 1)
    assert _native.encode_data_rows([], 2) == backend.data_row(()) * 2
