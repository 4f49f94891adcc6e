"""COPY TO STDOUT data from the Rust codec must equal the pure-Python reference byte for byte.

``copy_rows`` is the reference: the result encoders, then ``copyto.c``'s framing in
Python, one bytes object per row, each wrapped here as a CopyData message.
``copy_data_messages(..., codec="rust")`` hands the batch to
``_native.encode_copy_data`` (the columns prepared as for ``encode_rows``: Arrow arrays
of the native kinds, the Python encoders' values for the rest), which renders, escapes
or quotes, and frames every row. Hypothesis draws random batches (every native kind,
Python-only kinds, text full of tabs, newlines, backslashes, quotes, delimiters and
non-ASCII, NULLs, sliced arrays, no columns, no rows) and random options (text, CSV,
binary; delimiters, NULL strings, quote and escape characters, FORCE_QUOTE); the
numeric, time, interval and list kinds once more on their own, and so ENUM, BIT,
TIMETZ, VARINT and timestamptz in named time zones; and nested columns (STRUCT / MAP /
UNION as json, multi-dimensional arrays; a ragged one raises RaggedArrayError in binary
COPY from both). The native module must be built.

Binary COPY FROM data is framed by ``_native.split_binary_copy`` with the Rust codec:
random PGCOPY streams, some broken, fed in random pieces, give the same rows after
every piece and the same error as the reference ``wire.copy.split_binary_copy``.
"""

from __future__ import annotations

import math
import struct

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import duckdb

from duckgres_trio import _native
from duckgres_trio.wire import backend
from duckgres_trio.wire.copy import (
    BINARY_HEADER,
    BinaryCopyInParser,
    CopyFormatError,
    CopyOptions,
    copy_data_messages,
    copy_rows,
)
from duckgres_trio.wire.binary import RaggedArrayError
from tests.support.examples import examples
from tests.test_rust_rows import (
    ALL_ZONES,
    DUCKDB_KINDS,
    DUCKDB_NESTED,
    DUCKDB_TYPE_COLUMNS,
    DUCKDB_TYPES,
    KIND_COLUMNS,
    MULTI_DIM_COLUMNS,
    NATIVE_COLUMNS,
    TRICKY_ZONES,
    Columns,
    PYTHON_COLUMNS,
    batches,
    containers,
    duckdb_batch,
    duckdb_types_batch,
    named_zone_batches,
    plain,
)

#: Characters the COPY framing treats specially, and some it must leave alone.
SPECIAL = list("\t\n\r\\\b\f\v\"',|;.N:x ") + ["é", "𝄞", "\x00", "\x7f"]
texts = st.one_of(
    st.sampled_from(["", "\\N", "NA", "\\.", "null", '"', "\\", "a\tb", "x\r\ny"]),
    st.text(alphabet=st.sampled_from(SPECIAL), max_size=12),
    st.text(max_size=12),
)
TEXT_COLUMNS = [plain(pa.string(), texts), plain(pa.large_string(), texts)]
FLOATS = st.one_of(st.sampled_from([math.nan, math.inf, -math.inf, -0.0, 0.0]), st.floats())
COLUMNS = Columns("COLUMNS", NATIVE_COLUMNS + PYTHON_COLUMNS + TEXT_COLUMNS * 4
                  + [plain(pa.float64(), FLOATS)])

NAMES = ["c0", "C1", "Mixed", "tab\there", "é", "x"]


@st.composite
def copy_options(draw, names: list[str]) -> CopyOptions:
    fmt = draw(st.sampled_from(["text", "csv", "binary"]))
    delimiter = draw(st.sampled_from(["\t", ",", "|", ";", ":", " "]
                                     + (["\\"] if fmt == "text" else [])))
    null = draw(st.one_of(st.sampled_from(["", "\\N", "NA", "null", "é", '"']),
                          st.text(alphabet=st.sampled_from(SPECIAL), max_size=4)))
    quote = draw(st.sampled_from(['"', "'", "|", "\\"]))
    escape = draw(st.sampled_from([quote, '"', "'", "\\"]))
    force_all = draw(st.booleans()) and draw(st.booleans())
    force = None
    if draw(st.booleans()):
        chosen = draw(st.lists(st.sampled_from(names + ["absent"]), max_size=4)) if names else []
        force = frozenset(name.lower() if draw(st.booleans()) else name for name in chosen)
    return CopyOptions(format=fmt, delimiter=delimiter, null=null, quote=quote, escape=escape,
                       force_quote=force, force_quote_all=force_all)


def reference(batch: pa.RecordBatch, options: CopyOptions) -> bytes:
    return b"".join(backend.copy_data(row) for row in copy_rows(batch, options))


def rows_of(data: bytes) -> list[bytes]:
    """The rows of concatenated CopyData messages, checking the framing."""
    rows, at = [], 0
    while at < len(data):
        assert data[at:at + 1] == b"d"
        length = int.from_bytes(data[at + 1:at + 5], "big")
        rows.append(data[at + 5:at + 1 + length])
        at += 1 + length
    assert at == len(data)
    return rows


def check(batch: pa.RecordBatch, options: CopyOptions) -> None:
    try:
        expected = reference(batch, options)
    except RaggedArrayError:  # binary COPY of a ragged array: both codecs refuse it
        assert options.format == "binary"
        with pytest.raises(RaggedArrayError):
            copy_data_messages(batch, options, codec="rust")
        return
    rust = copy_data_messages(batch, options, codec="rust")
    assert rust == expected
    assert copy_data_messages(batch, options, codec="python") == expected
    assert rows_of(rust) == copy_rows(batch, options)


def renamed(batch: pa.RecordBatch, names: list[str]) -> pa.RecordBatch:
    fields = [batch.schema.field(i).with_name(name) for i, name in enumerate(names)]
    return pa.RecordBatch.from_arrays(batch.columns, schema=pa.schema(fields))


@settings(max_examples=examples(600), deadline=None)
@given(st.data())
def test_copy_matches_python(data):
    batch = data.draw(batches(COLUMNS, max_columns=6))
    names = data.draw(st.lists(st.sampled_from(NAMES), min_size=batch.num_columns,
                               max_size=batch.num_columns, unique=True))
    batch = renamed(batch, names)
    check(batch, data.draw(copy_options(names)))


@settings(max_examples=examples(300), deadline=None)
@given(st.data())
def test_numeric_time_interval_list_columns_match_python(data):
    """The kinds rendered natively last, lists above all: their text holds braces,
    quotes, backslashes and spaces that COPY escapes or quotes in turn."""
    batch = data.draw(batches(Columns("KIND + TEXT_COLUMNS", KIND_COLUMNS + TEXT_COLUMNS), max_columns=5))
    names = [f"c{i}" for i in range(batch.num_columns)]
    check(batch, data.draw(copy_options(names)))


NESTED = st.one_of(containers(), st.sampled_from(MULTI_DIM_COLUMNS), st.sampled_from(TEXT_COLUMNS))


@settings(max_examples=examples(300), deadline=None)
@given(st.data())
def test_nested_columns_match_python(data):
    """json and array text full of quotes, backslashes, braces and control characters,
    which COPY escapes or quotes in turn."""
    batch = data.draw(batches(NESTED, max_columns=3))
    names = [f"c{i}" for i in range(batch.num_columns)]
    check(batch, data.draw(copy_options(names)))


def test_duckdb_nested_match_python():
    batch = duckdb_batch(DUCKDB_NESTED)
    for options in (CopyOptions(), CopyOptions(format="binary"),
                    CopyOptions(format="csv", delimiter=",", null=""),
                    CopyOptions(format="csv", delimiter="|", null="NA", escape="\\", force_quote_all=True)):
        check(batch, options)
        check(batch.slice(0, 2), options)
    assert copy_data_messages(batch.slice(0, 2), CopyOptions(format="binary"), codec="rust")


@settings(max_examples=examples(300), deadline=None)
@given(st.data())
def test_enum_bit_timetz_varint_columns_match_python(data):
    """ENUM labels full of what COPY escapes or quotes, BIT, TIMETZ and VARINT, and
    lists of them."""
    batch = data.draw(batches(Columns("DUCKDB_TYPE + TEXT_COLUMNS", DUCKDB_TYPE_COLUMNS + TEXT_COLUMNS),
                              max_columns=5))
    names = [f"c{i}" for i in range(batch.num_columns)]
    check(batch, data.draw(copy_options(names)))


@settings(max_examples=examples(300), deadline=None)
@given(st.data())
def test_text_columns_match_python(data):
    """Many text values against the escaping and quoting rules."""
    batch = data.draw(batches(Columns("TEXT_COLUMNS", TEXT_COLUMNS), max_columns=4))
    names = [f"c{i}" for i in range(batch.num_columns)]
    check(batch, data.draw(copy_options(names)))


@settings(max_examples=examples(200), deadline=None)
@given(st.data())
def test_named_zones_match_python(data):
    """timestamptz (and lists of it) in any zone: its text as zoneinfo's offsets give it."""
    batch = data.draw(named_zone_batches(ALL_ZONES + TRICKY_ZONES))
    names = [f"c{i}" for i in range(batch.num_columns)]
    check(batch, data.draw(copy_options(names)))


@pytest.mark.parametrize("fmt", ["text", "csv", "binary"])
def test_no_columns_and_no_rows(fmt):
    options = CopyOptions(format=fmt)
    empty = pa.record_batch([pa.nulls(3)], names=["x"]).select([])
    check(empty, options)
    assert len(rows_of(copy_data_messages(empty, options, codec="rust"))) == 3
    check(pa.record_batch({"s": pa.array([], pa.string())}), options)


def test_duckdb_result_matches_python():
    with duckdb.connect() as con:
        table = con.execute(
            "SELECT i::INT8 AS id, i / 7.0::FLOAT8 AS x, 'label ' || i AS label,"
            " CASE WHEN i % 3 = 0 THEN NULL ELSE E'a\\tb\"c,' || i END AS odd,"
            " DATE '2000-01-01' + i::INT AS d, TIMESTAMP '2000-01-01' + i * INTERVAL 1 SECOND AS ts,"
            " (i % 7)::DECIMAL(6, 2) AS dec, md5(i::VARCHAR)::BLOB AS b FROM range(-300, 700) r(i)"
        ).arrow().read_all()
    batch = table.combine_chunks().to_batches()[0]
    for options in (CopyOptions(), CopyOptions(format="binary"),
                    CopyOptions(format="csv", delimiter=",", null=""),
                    CopyOptions(format="csv", delimiter="|", null="NA", escape="\\",
                                force_quote=frozenset({"label"})),
                    CopyOptions(format="csv", delimiter=",", null="", force_quote_all=True)):
        check(batch, options)
        check(batch.slice(123, 456), options)


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "Pacific/Chatham"])
def test_duckdb_numeric_time_interval_lists_match_python(zone):
    batch = duckdb_batch(DUCKDB_KINDS, zone)
    for options in (CopyOptions(), CopyOptions(format="binary"),
                    CopyOptions(format="csv", delimiter=",", null=""),
                    CopyOptions(format="csv", delimiter="|", null="NA", escape="\\", force_quote_all=True)):
        check(batch, options)
        check(batch.slice(1, 2), options)


def test_duckdb_enum_bit_timetz_varint_match_python():
    batch = duckdb_types_batch(DUCKDB_TYPES)
    for options in (CopyOptions(), CopyOptions(format="binary"),
                    CopyOptions(format="csv", delimiter=",", null=""),
                    CopyOptions(format="csv", delimiter="|", null="NA", escape="\\", force_quote_all=True)):
        check(batch, options)
        check(batch.slice(1, 3), options)


def test_options_rust_does_not_take_go_through_python():
    batch = pa.record_batch({"s": pa.array(["aéb", "x,y", None, "b\tn"])})
    for options in (CopyOptions(delimiter="é"), CopyOptions(format="csv", delimiter="é"),
                    CopyOptions(format="csv", delimiter=",", quote="é", escape="é"),
                    CopyOptions(delimiter="b"), CopyOptions(delimiter="n")):
        check(batch, options)
    column = [[b"x"]]
    with pytest.raises(ValueError, match="single ASCII character"):
        _native.encode_copy_data(column, 1, "text", "é")
    with pytest.raises(ValueError, match="single ASCII character"):
        _native.encode_copy_data(column, 1, "csv", ",", "", "ab")
    with pytest.raises(ValueError, match="escape letter"):
        _native.encode_copy_data(column, 1, "text", "n")
    with pytest.raises(ValueError, match="not recognized"):
        _native.encode_copy_data(column, 1, "json")


def test_native_argument_errors():
    with pytest.raises(ValueError, match="has 1 values, expected 2"):
        _native.encode_copy_data([[b"x"]], 2, "text")
    with pytest.raises(ValueError, match="FORCE_QUOTE"):
        _native.encode_copy_data([[b"x"]], 1, "csv", ",", "", '"', '"', [True, False])
    with pytest.raises(ValueError, match="UTF-8"):
        _native.encode_copy_data([[b"\xff"]], 1, "csv", ",")
    with pytest.raises(TypeError):
        _native.encode_copy_data([{}], 0, "text")
    assert _native.encode_copy_data([[b"\xff"]], 1, "binary") == backend.copy_data(
        b"\x00\x01\x00\x00\x00\x01\xff")


# -- binary COPY FROM: the Rust framing equals the reference ---------------------------

FIELDS = st.one_of(st.none(), st.binary(max_size=12))


@st.composite
def binary_copy_streams(draw) -> tuple[int, bytes]:
    """(columns, PGCOPY data): rows of random fields, some of them broken (a wrong
    field count, a negative or oversized length, a cut end, bytes after the trailer)."""
    columns = draw(st.integers(0, 4))
    data = bytearray(BINARY_HEADER)
    for fields in draw(st.lists(st.lists(FIELDS, min_size=columns, max_size=columns), max_size=6)):
        count = draw(st.sampled_from([columns] * 8 + [columns + 1, -2]))
        data += struct.pack("!h", count)
        for field in fields:
            size = -1 if field is None else len(field)
            size = draw(st.sampled_from([size] * 8 + [-2, 40, (1 << 31) - 1]))
            data += struct.pack("!i", size) + (field or b"")
    if draw(st.booleans()):
        data += struct.pack("!h", -1) + draw(st.binary(max_size=4))
    return columns, bytes(data[:draw(st.integers(0, len(data)))] if draw(st.booleans()) else data)


def parsed(parser, data: bytes, cuts: list[int]) -> list:
    """What each feed (at the cuts) and finish return, or the error that ends it."""
    out, start = [], 0
    try:
        for cut in [*sorted(cuts), len(data)]:
            out.append(parser.feed(data[start:cut]))
            start = cut
        out.append(parser.finish())
    except CopyFormatError as exc:
        out.append(("error", str(exc)))
    return out


@settings(max_examples=examples(600), deadline=None)
@given(binary_copy_streams(), st.data())
def test_binary_copy_in_rows_match_python(stream, data):
    columns, payload = stream
    cuts = data.draw(st.lists(st.integers(0, len(payload)), max_size=6))
    max_field = data.draw(st.sampled_from([12, 40, 1 << 30]))
    python = parsed(BinaryCopyInParser(columns, max_field, codec="python"), payload, cuts)
    rust = parsed(BinaryCopyInParser(columns, max_field, codec="rust"), payload, cuts)
    assert rust == python
