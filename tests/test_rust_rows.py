"""DataRows from the Rust codec must equal the pure-Python reference byte for byte.

``encode_rows(..., codec="python")`` is the reference: the Python encoders and the
Python assembly. ``codec="rust"`` hands the int2/int4/int8, bool and text columns to
``_native.encode_data_rows`` as Arrow arrays and every other column as the Python
encoder's values. Hypothesis builds random batches (nulls, slices with non-zero
offsets, empty batches, no columns, extreme integers, multi-byte text) and compares
both, in text, binary and mixed formats. The native module must be built.
"""

from __future__ import annotations

import datetime as dt
import decimal

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


NATIVE_COLUMNS = [
    *(plain(t, int_values(t)) for t in INT_TYPES),
    plain(pa.bool_(), st.booleans()),
    bool8(metadata_only=False),
    bool8(metadata_only=True),
    plain(pa.string(), st.text()),
    plain(pa.large_string(), st.text()),
]
# Kinds or layouts the Rust side leaves to Python.
PYTHON_COLUMNS = [
    plain(pa.decimal128(12, 3), st.decimals(-(10**8), 10**8, places=3, allow_nan=False, allow_infinity=False)),
    plain(pa.timestamp("us"), st.datetimes(dt.datetime(1, 1, 1), dt.datetime(9999, 12, 31))),
    plain(pa.string_view(), st.text()),
    plain(pa.uint64(), st.integers(0, 2**64 - 1)),
    plain(pa.float64(), st.floats()),
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
    }
    batch = pa.record_batch(columns)
    for formats in ([0] * 8, [1] * 8, [0, 1] * 4, [1, 0] * 4):
        check(batch, formats)
        check(batch.slice(1, 2), formats)
        check(batch.slice(4, 0), formats)


def test_native_kinds_do_not_call_python_encoders(monkeypatch):
    def refuse(array, field):
        raise AssertionError(f"Python encoder called for {field}")

    batch = pa.record_batch({
        "i": pa.array([1, None], pa.int32()),
        "b": pa.array([True, None]),
        "s": pa.array(["a", None], pa.large_string()),
    })
    expected = encode_rows(batch, [1, 0, 1], codec="python")
    monkeypatch.setattr(rows, "_ENCODERS", (refuse, refuse))
    assert encode_rows(batch, [1, 0, 1], codec="rust") == expected


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
        _native.encode_data_rows([(pa.array([1.0]), 0, "int8")], 1)
    with pytest.raises(ValueError, match="format code"):
        _native.encode_data_rows([(pa.array([1]), 2, "int8")], 1)
    assert _native.encode_data_rows([], 2) == backend.data_row(()) * 2
