"""Differential tests: DuckDB -> Arrow -> encode_binary_column must send what PostgreSQL 15 sends.

The cases are test_text_encoding.py's own (imported), so text and binary cover the same
values. For each, PostgreSQL's binary result (libpq, result_format=1) is compared byte
for byte with our encoder's output, and PostgreSQL's column type OID with the one
pg_type_for announces.
"""

from __future__ import annotations

import psycopg
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from duckgres_trio.wire.binary import RaggedArrayError, encode_binary_column
from duckgres_trio.wire.text import encode_text_column
from duckgres_trio.wire.types import pg_type_for
from tests.support.pg15 import pg15_dsn  # noqa: F401 - pytest fixture
from tests.test_text_encoding import (
    ARRAY_CASES,
    DECIMALS,
    FUZZ,
    JSON_CASES,
    PG_TEXT,
    RECORD_CASES,
    SCALAR_CASES,
    TIMESTAMP_USECS,
    TIMESTAMPTZ_INSTANTS,
    UNION_TYPE,
    ZONES,
    Case,
    duck_column,
    json_case,
    lits,
    pg_array,
    q,
    values_query,
)


@pytest.fixture(scope="module")
def pg(pg15_dsn: str):  # noqa: F811 - the imported fixture
    with psycopg.connect(pg15_dsn, autocommit=True) as conn:
        yield conn


def pg_binary(conn: psycopg.Connection, sql: str, zone: str = "UTC") -> tuple[int, list[bytes | None]]:
    """PostgreSQL's column-0 type OID and binary values, straight from libpq."""
    conn.execute(f"SET TimeZone = '{zone}'")
    result = conn.pgconn.exec_params(sql.encode(), [], result_format=1)
    assert result.status == psycopg.pq.ExecStatus.TUPLES_OK, result.error_message
    return result.ftype(0), [result.get_value(row, 0) for row in range(result.ntuples)]


def duck_binary(sql: str, zone: str = "UTC", setup: tuple[str, ...] = ()) -> tuple[int, list[bytes | None]]:
    """The OID we announce for column 0 and our binary values."""
    array, field = duck_column(sql, zone, setup)
    return pg_type_for(field).oid, encode_binary_column(array, field)


def assert_same_sql(pg_conn, duck_sql: str, pg_sql: str, zone: str = "UTC", setup: tuple[str, ...] = ()) -> None:
    assert duck_binary(duck_sql, zone, setup) == pg_binary(pg_conn, pg_sql, zone)


def assert_same(pg_conn, case: Case, zone: str = "UTC", setup: tuple[str, ...] = ()) -> None:
    duck_exprs, pg_exprs = case.sides()
    assert_same_sql(
        pg_conn, values_query(duck_exprs, case.duck_type), values_query(pg_exprs, case.pg_type), zone, setup
    )


# --- scalar types (test_text_encoding's cases) ----------------------------------------------


@pytest.mark.parametrize("name", sorted(SCALAR_CASES))
def test_scalar(pg, name: str) -> None:
    assert_same(pg, SCALAR_CASES[name])


@pytest.mark.parametrize(("precision", "scale"), DECIMALS)
def test_decimal(pg, precision: int, scale: int) -> None:
    whole = "9" * (precision - scale) or "0"
    frac = "9" * scale
    largest = f"{whole}.{frac}" if scale else whole
    smallest_step = f"0.{'0' * (scale - 1)}1" if scale else "1"
    values = lits("0", largest, "-" + largest, smallest_step, "-" + smallest_step) + ["NULL"]
    # DECIMAL(38, s >= 10) is shown as numeric without a typmod (bare numeric)
    pg_type = "numeric" if precision == 38 and scale >= 10 else f"numeric({precision},{scale})"
    assert_same(pg, Case(f"DECIMAL({precision},{scale})", pg_type, values))


# Trailing zeros (dropped digit groups, dscale kept), groups straddling the point,
# values whose first or last group is partly zero.
NUMERIC_EXTRAS = [
    ("DECIMAL(18,6)", ["1.000000", "10000", "100000000", "0.0001", "0.000100", "1234.5678", "-0.000001", "12345.6"]),
    ("DECIMAL(38,0)", ["10000", "100000000000000000000", "99990000", "-1"]),
    ("DECIMAL(10,9)", ["0.1", "0.000010000", "1.000000001", "-9.999999999"]),
    ("DECIMAL(5,5)", ["0.00001", "0.1", "-0.5"]),
    # bare numeric: the dscale is the value's own, trailing zeros trimmed
    ("DECIMAL(38,10)", ["1.5", "100", "0.0001", "-12345.6", "0.0000000001", "99990000"]),
    ("DECIMAL(3,1)", ["10.0", "-99.9", "0.1"]),
]


@pytest.mark.parametrize(("sql_type", "values"), NUMERIC_EXTRAS)
def test_decimal_digit_groups(pg, sql_type: str, values: list[str]) -> None:
    pg_type = "numeric" if sql_type == "DECIMAL(38,10)" else sql_type.replace("DECIMAL", "numeric")
    assert_same(pg, Case(sql_type, pg_type, lits(*values)))


def test_integer_numerics_group_boundaries(pg) -> None:
    values = lits("1", "9999", "10000", "10001", "100000000", "-100000000", "123456789012")
    assert_same(pg, Case("HUGEINT", "numeric", values))
    assert_same(pg, Case("UBIGINT", "numeric", values[:-2] + lits("10000000000000000000")))
    assert_same(pg, Case("VARINT", "numeric", values + lits("-1" + "0" * 40)))


def test_enum(pg) -> None:
    setup = ("CREATE TYPE mood AS ENUM ('sad', 'ok', 'very happy', '')",)
    case = Case("mood", "text", lits("ok", "very happy", "", "sad") + ["NULL"])
    duck_exprs, pg_exprs = case.sides()
    assert_same_sql(pg, values_query(duck_exprs, "mood"), values_query(pg_exprs, "text"), setup=setup)


@pytest.mark.parametrize("zone", ZONES)
def test_timestamptz(pg, zone: str) -> None:
    assert_same(pg, Case("TIMESTAMPTZ", "timestamptz", TIMESTAMPTZ_INSTANTS), zone=zone)


def test_timestamptz_binary_ignores_the_zone() -> None:
    duck_exprs, _ = Case("TIMESTAMPTZ", "timestamptz", TIMESTAMPTZ_INSTANTS).sides()
    sql = values_query(duck_exprs, "TIMESTAMPTZ")
    results = {tuple(duck_binary(sql, zone)[1]) for zone in ZONES}
    assert len(results) == 1


def test_float_nan_is_postgres_nan(pg) -> None:
    """DuckDB also has -NaN (another bit pattern); PostgreSQL sends one NaN."""
    values = [("-('NaN'::DOUBLE)", "'NaN'::float8"), ("'NaN'::DOUBLE", "'NaN'::float8")]
    assert_same(pg, Case("DOUBLE", "float8", values))
    values = [("-('NaN'::FLOAT)", "'NaN'::float4"), ("('NaN'::DOUBLE)::FLOAT", "'NaN'::float4")]
    assert_same(pg, Case("FLOAT", "float4", values))


def test_values_beyond_postgres_saturate_to_infinity() -> None:
    """DuckDB's earliest dates/timestamps do not fit PostgreSQL's int32/int64 after the
    shift to the 2000-01-01 epoch; they are sent as -infinity (docs/types.md)."""
    sql = values_query(
        lits("5877642-06-25 (BC)", "5877641-06-23 (BC)", "5881580-07-10"), "DATE"
    )
    assert duck_binary(sql)[1] == [
        b"\x80\x00\x00\x00", b"\x80\x00\x00\x00", (2147483646 - 10957).to_bytes(4, "big")
    ]
    for sql_type in ("TIMESTAMP", "TIMESTAMP_S"):
        sql = values_query(lits("290309-12-22 (BC) 00:00:00"), sql_type)
        assert duck_binary(sql)[1] == [b"\x80" + bytes(7)]


# --- arrays ------------------------------------------------------------------------------

BINARY_ARRAY_CASES = {
    "utinyint as int2": Case("UTINYINT[]", "int2[]", [pg_array(["0", "255", "NULL"], "UTINYINT", "int2")]),
    "usmallint as int4": Case("USMALLINT[]", "int4[]", [pg_array(["65535"], "USMALLINT", "int4")]),
    "uinteger as oid": Case("UINTEGER[]", "oid[]", [pg_array(["4294967295", "NULL"], "UINTEGER", "oid")]),
    "ubigint as numeric": Case("UBIGINT[]", "numeric[]", [pg_array(["18446744073709551615", "0"], "UBIGINT", "numeric")]),
    "hugeint as numeric": Case("HUGEINT[]", "numeric[]", [
        pg_array(["-170141183460469231731687303715884105728", "NULL", "10000"], "HUGEINT", "numeric")
    ]),
    "varint as numeric": Case("VARINT[]", "numeric[]", [
        pg_array(lits("-" + "9" * 50, "0"), "VARINT", "numeric")
    ]),
    "numeric trailing zeros": Case("DECIMAL(18,4)[]", "numeric(18,4)[]", [
        pg_array(lits("10000.0000", "0.0100", "-0.0001", "0"), "DECIMAL(18,4)", "numeric(18,4)")
    ]),
    "no nulls": Case("VARCHAR[]", "text[]", [pg_array(lits("a", "b"), "VARCHAR", "text")]),
    "empty of every kind": Case("VARCHAR[]", "text[]", [("[]::VARCHAR[]", "'{}'::text[]")]),
    "empty 2-d": Case("INTEGER[][]", "int4[]", [("[[], []]::INTEGER[][]", "'{}'::int4[]"), ("[]::INTEGER[][]", "'{}'::int4[]")]),
    "nested nulls only": Case("INTEGER[][]", "int4[]", [("[[NULL], [NULL]]", "ARRAY[[NULL], [NULL]]::int4[]")]),
    "3-d text": Case("VARCHAR[][][]", "text[]", [
        ("[[['a', NULL], ['b', 'c']], [['d', 'e'], ['', 'f']]]",
         "ARRAY[[['a', NULL], ['b', 'c']], [['d', 'e'], ['', 'f']]]::text[]"),
    ]),
    "3-d fixed size": Case("INTEGER[2][1][2]", "int4[]", [("[[[1, 2]], [[3, NULL]]]", "ARRAY[[[1, 2]], [[3, NULL]]]")]),
    "timestamp extremes": Case("TIMESTAMP[]", "timestamp[]", [
        (
            "['-infinity'::TIMESTAMP, '4713-11-24 (BC) 00:00:00'::TIMESTAMP, '294247-01-10 04:00:54.775806'::TIMESTAMP]",
            "ARRAY['-infinity'::timestamp, '4713-11-24 00:00:00 BC', '294247-01-10 04:00:54.775806']",
        )
    ]),
    "date -infinity": Case("DATE[]", "date[]", [pg_array(lits("-infinity", "2000-01-01") + ["NULL"], "DATE")]),
}


@pytest.mark.parametrize("name", sorted(ARRAY_CASES))
def test_array(pg, name: str) -> None:
    assert_same(pg, ARRAY_CASES[name])


@pytest.mark.parametrize("name", sorted(BINARY_ARRAY_CASES))
def test_array_binary_only(pg, name: str) -> None:
    assert_same(pg, BINARY_ARRAY_CASES[name])


def test_enum_array(pg) -> None:
    setup = ("CREATE TYPE mood AS ENUM ('sad', 'ok')",)
    assert_same_sql(pg, "SELECT ['ok', NULL, 'sad']::mood[]", "SELECT ARRAY['ok', NULL, 'sad']::text[]", setup=setup)


@pytest.mark.parametrize("value", ["[[1], [2, 3]]", "[[1], NULL]", "[[1], []]", "[[[1]], [[2], [3]]]"])
def test_ragged_lists_have_no_binary_form(value: str) -> None:
    array, field = duck_column(f"SELECT {value} AS v")
    with pytest.raises(RaggedArrayError) as raised:
        encode_binary_column(array, field)
    assert raised.value.sqlstate == "2202E"
    encode_text_column(array, field)  # the text form is still sent


# --- STRUCT / MAP / UNION as json ----------------------------------------------------------


@pytest.mark.parametrize(("duck_expr", "pg_select"), RECORD_CASES)
def test_struct_is_a_record(pg, duck_expr: str, pg_select: str) -> None:
    """record_send: the field count, then each field's type OID, length and value."""
    assert_same_sql(pg, f"SELECT {duck_expr} AS v", f"SELECT r FROM ({pg_select}) AS r")


@pytest.mark.parametrize(("duck_expr", "pg_select"), JSON_CASES)
def test_struct_and_map_json(pg, duck_expr: str, pg_select: str) -> None:
    assert_same_sql(pg, *json_case(duck_expr, pg_select))


def test_json_is_its_text() -> None:
    """json's binary form is its text: the same bytes the text encoder sends."""
    sql = values_query(["MAP {'a': [1, NULL], 'b': [2]}", "NULL"], None)
    array, field = duck_column(sql)
    assert encode_binary_column(array, field) == encode_text_column(array, field)


def test_union(pg) -> None:
    duck = [
        "union_value(num := 2)", "union_value(str := 'x\"y')", "union_value(d := '2020-01-01'::DATE)",
        "union_value(f := 'NaN'::DOUBLE)", "union_value(f := 0.5::DOUBLE)", "NULL",
    ]
    pg_side = [
        "to_json(2)", "to_json('x\"y'::text)", "to_json('2020-01-01'::date::text)",
        "to_json('NaN'::float8)", "to_json(0.5::float8)", "NULL",
    ]
    assert_same_sql(pg, values_query(duck, UNION_TYPE), values_query(pg_side, "json"))


def test_list_of_structs_is_record_array(pg) -> None:
    duck = "[{'a': 1, 'b': 'x y'}, NULL, {'a': NULL, 'b': '\"'}]"
    pg_side = "ARRAY[row(1, 'x y'::text), NULL, row(NULL::int, '\"'::text)]"
    assert_same_sql(pg, f"SELECT {duck} AS v", f"SELECT {pg_side}")


def test_sliced_arrays_encode_like_their_rows() -> None:
    """Arrow slices (non-zero offsets) must not shift list, struct, map or union children."""
    sql = values_query(
        [
            "{'l': [1, 2], 'm': MAP {'a': 1}, 'u': union_value(num := 1)::UNION(num INT, s VARCHAR), 'f': [1, 2]::INT[2]}",
            "NULL",
            "{'l': [3], 'm': MAP {'b': 2}, 'u': union_value(s := 'z')::UNION(num INT, s VARCHAR), 'f': [3, 4]::INT[2]}",
            "{'l': NULL, 'm': NULL, 'u': NULL, 'f': NULL}",
        ],
        None,
    )
    array, field = duck_column(sql)
    for child_index, child_field in enumerate(field.type):
        child = array.field(child_index)
        child_whole = encode_binary_column(child, child_field)
        for start in range(len(child)):
            assert encode_binary_column(child.slice(start), child_field) == child_whole[start:]


def test_plain_arrow_types() -> None:
    """Arrow types DuckDB does not send but classify accepts keep the announced width."""
    cases = [
        (pa.array([1, None, -2], pa.int8()), [b"\x00\x01", None, b"\xff\xfe"]),
        (pa.array([True, False, None]), [b"\x01", b"\x00", None]),
        (pa.array([1.5], pa.float16()), [b"\x3f\xc0\x00\x00"]),
        (pa.array(["a", None], pa.string_view()), [b"a", None]),
        (pa.array([b"\x01"], pa.binary(1)), [b"\x01"]),
        (pa.array([1], pa.duration("ms")), [b"\x00\x00\x00\x00\x00\x00\x03\xe8" + bytes(8)]),
        (pa.array([None, None], pa.null()), [None, None]),
    ]
    for array, expected in cases:
        assert encode_binary_column(array, pa.field("v", array.type)) == expected


# --- Hypothesis: random values through both systems ---------------------------------------


@FUZZ
@given(st.lists(st.none() | st.integers(-(2**63), 2**63 - 1), min_size=1, max_size=20))
def test_fuzz_bigint(pg, values: list[int | None]) -> None:
    assert_same(pg, Case("BIGINT", "int8", ["NULL" if v is None else str(v) for v in values]))


@FUZZ
@given(st.lists(st.integers(-(2**15), 2**15 - 1), min_size=1, max_size=20))
def test_fuzz_smallint(pg, values: list[int]) -> None:
    assert_same(pg, Case("SMALLINT", "int2", [str(v) for v in values]))


@FUZZ
@given(st.lists(st.integers(-(2**127), 2**127 - 1), min_size=1, max_size=20))
def test_fuzz_hugeint(pg, values: list[int]) -> None:
    assert_same(pg, Case("HUGEINT", "numeric", [str(v) for v in values]))


@FUZZ
@given(st.lists(st.floats(), min_size=1, max_size=30))
def test_fuzz_double(pg, values: list[float]) -> None:
    assert_same(pg, Case("DOUBLE", "float8", [q(repr(v)) for v in values]))


@FUZZ
@given(st.lists(st.floats(width=32), min_size=1, max_size=30))
def test_fuzz_float(pg, values: list[float]) -> None:
    assert_same(pg, Case("FLOAT", "float4", [q(repr(v)) for v in values]))


def decimal_literal(unscaled: int, scale: int) -> str:
    digits = str(abs(unscaled)).zfill(scale + 1)
    body = f"{digits[:-scale]}.{digits[-scale:]}" if scale else digits
    return q(("-" if unscaled < 0 else "") + body)


@st.composite
def decimal_columns(draw) -> tuple[int, int, list[int]]:
    precision = draw(st.integers(1, 38))
    # DECIMAL(38, s >= 10) is how bare numeric is held: sent as numeric without a typmod,
    # zeros trimmed (wire.unbounded; tests/test_numeric_compat.py compares that)
    scale = draw(st.integers(0, precision if precision < 38 else 9))
    bound = 10**precision - 1
    # Mix in values with runs of zeros, which drop whole base-10000 digit groups.
    unscaled = st.integers(-bound, bound) | st.builds(
        lambda d, z: d * 10**z, st.integers(-9, 9), st.integers(0, precision - 1)
    )
    return precision, scale, draw(st.lists(unscaled, min_size=1, max_size=15))


@FUZZ
@given(decimal_columns())
def test_fuzz_decimal(pg, column: tuple[int, int, list[int]]) -> None:
    precision, scale, values = column
    sql_type = f"DECIMAL({precision},{scale})"
    assert_same(pg, Case(sql_type, f"numeric({precision},{scale})", [decimal_literal(v, scale) for v in values]))


@FUZZ
@given(st.lists(st.none() | PG_TEXT, min_size=1, max_size=20))
def test_fuzz_text(pg, values: list[str | None]) -> None:
    assert_same(pg, Case("VARCHAR", "text", ["NULL" if v is None else q(v) for v in values]))


@FUZZ
@given(st.lists(TIMESTAMP_USECS, min_size=1, max_size=20), st.sampled_from(ZONES))
def test_fuzz_timestamps(pg, usecs: list[int], zone: str) -> None:
    plain = [(f"make_timestamp({u}::BIGINT)", f"'epoch'::timestamp + '{u} microseconds'::interval") for u in usecs]
    assert_same(pg, Case("TIMESTAMP", "timestamp", plain))
    aware = [
        (
            f"(make_timestamp({u}::BIGINT)::VARCHAR || '+00')::TIMESTAMPTZ",
            f"'epoch'::timestamptz + '{u} microseconds'::interval",
        )
        for u in usecs
    ]
    assert_same(pg, Case("TIMESTAMPTZ", "timestamptz", aware), zone=zone)


@FUZZ
@given(st.lists(st.none() | st.lists(st.none() | st.integers(-(2**31), 2**31 - 1), max_size=6), min_size=1, max_size=8))
def test_fuzz_int_arrays(pg, arrays: list[list[int | None] | None]) -> None:
    def literal(a: list[int | None]) -> str:
        return "[" + ", ".join("NULL" if v is None else str(v) for v in a) + "]"

    values = ["NULL" if a is None else (f"{literal(a)}::INTEGER[]", f"ARRAY{literal(a)}::int4[]") for a in arrays]
    assert_same(pg, Case("INTEGER[]", "int4[]", values))


@FUZZ
@given(
    st.lists(
        st.lists(st.lists(st.none() | st.integers(-(2**63), 2**63 - 1), min_size=2, max_size=2), min_size=1, max_size=3),
        min_size=1,
        max_size=5,
    )
)
def test_fuzz_bigint_matrices(pg, matrices: list[list[list[int | None]]]) -> None:
    def literal(m: list[list[int | None]]) -> str:
        return "[" + ", ".join("[" + ", ".join("NULL" if v is None else str(v) for v in row) + "]" for row in m) + "]"

    values = [(f"{literal(m)}::BIGINT[][]", f"ARRAY{literal(m)}::int8[]") for m in matrices]
    assert_same(pg, Case("BIGINT[][]", "int8[]", values))
