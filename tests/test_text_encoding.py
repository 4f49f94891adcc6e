"""Differential tests: DuckDB -> Arrow -> encode_text_column must print what PostgreSQL 15 prints.

Each case builds the same values in both systems (the same SQL where both accept it,
a pair of expressions where their syntax differs), fetches PostgreSQL's raw text
bytes through libpq, and compares them byte for byte with our encoder's output.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import psycopg
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from duckgres_trio.wire.text import encode_text_column
from duckgres_trio.wire.types import PgType, pg_type_for
from tests.support.pg15 import pg15_dsn  # noqa: F401 - pytest fixture

ZONES = ["UTC", "America/New_York", "Asia/Kolkata", "America/St_Johns", "Australia/Lord_Howe"]


@dataclass(frozen=True)
class Case:
    """One column: DuckDB and PostgreSQL types and, per row, an expression for each."""

    duck_type: str
    pg_type: str
    values: list[str | tuple[str, str]]  # an expression, or (duckdb expr, pg expr)

    def sides(self) -> tuple[list[str], list[str]]:
        duck = [v[0] if isinstance(v, tuple) else v for v in self.values]
        pg = [v[1] if isinstance(v, tuple) else v for v in self.values]
        return duck, pg


def values_query(exprs: list[str], sql_type: str | None) -> str:
    """SELECT of one column, one row per expression, in order."""
    rows = ", ".join(
        f"({i}, {expr if sql_type is None else f'CAST({expr} AS {sql_type})'})"
        for i, expr in enumerate(exprs)
    )
    return f"SELECT v FROM (VALUES {rows}) AS t(i, v) ORDER BY i"


@pytest.fixture(scope="module")
def pg(pg15_dsn: str):  # noqa: F811 - the imported fixture
    with psycopg.connect(pg15_dsn, autocommit=True) as conn:
        yield conn


def pg_texts(conn: psycopg.Connection, sql: str, zone: str = "UTC") -> list[bytes | None]:
    """PostgreSQL's own text output of column 0, straight from libpq."""
    conn.execute(f"SET TimeZone = '{zone}'")
    result = conn.pgconn.exec_(sql.encode())
    assert result.status == psycopg.pq.ExecStatus.TUPLES_OK, result.error_message
    return [result.get_value(row, 0) for row in range(result.ntuples)]


def duck_column(sql: str, zone: str = "UTC", setup: tuple[str, ...] = ()) -> tuple[pa.Array, pa.Field]:
    with duckdb.connect() as con:
        con.execute("SET arrow_lossless_conversion = true")
        con.execute(f"SET TimeZone = '{zone}'")
        for statement in setup:
            con.execute(statement)
        table = con.execute(sql).arrow().read_all()
    return table.column(0).combine_chunks(), table.schema.field(0)


def duck_texts(sql: str, zone: str = "UTC", setup: tuple[str, ...] = ()) -> list[bytes | None]:
    return encode_text_column(*duck_column(sql, zone, setup))


def assert_same(pg_conn, case: Case, zone: str = "UTC", setup: tuple[str, ...] = ()) -> None:
    duck_exprs, pg_exprs = case.sides()
    expected = pg_texts(pg_conn, values_query(pg_exprs, case.pg_type), zone)
    actual = duck_texts(values_query(duck_exprs, case.duck_type), zone, setup)
    assert actual == expected


def q(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def lits(*texts: str) -> list[str]:
    return [q(t) for t in texts]


# --- scalar types ------------------------------------------------------------------------

SCALAR_CASES = {
    "bool": Case("BOOLEAN", "bool", ["true", "false", "NULL"]),
    "tinyint": Case("TINYINT", "int2", ["-128", "127", "0", "NULL"]),
    "smallint": Case("SMALLINT", "int2", ["-32768", "32767", "-1"]),
    "integer": Case("INTEGER", "int4", ["-2147483648", "2147483647", "0", "NULL"]),
    "bigint": Case("BIGINT", "int8", ["-9223372036854775808", "9223372036854775807", "42"]),
    "utinyint": Case("UTINYINT", "int2", ["0", "255"]),
    "usmallint": Case("USMALLINT", "int4", ["0", "65535"]),
    "uinteger": Case("UINTEGER", "oid", ["0", "4294967295"]),
    "ubigint": Case("UBIGINT", "numeric", ["0", "18446744073709551615", "NULL"]),
    "hugeint": Case(
        "HUGEINT",
        "numeric",
        [
            "-170141183460469231731687303715884105728",
            "170141183460469231731687303715884105727",
            "-1",
            "0",
            "NULL",
        ],
    ),
    "uhugeint": Case("UHUGEINT", "numeric", ["0", "340282366920938463463374607431768211455"]),
    "varint": Case(
        "VARINT",
        "numeric",
        # Quoted: DuckDB reads a long unquoted integer literal as a DOUBLE.
        lits("0", "-1", "255", "-256", "12345678901234567890", "-" + "9" * 60, "1" + "0" * 80) + ["NULL"],
    ),
    "float8": Case(
        "DOUBLE",
        "float8",
        lits(
            "0", "-0", "1", "-1.5", "0.1", "1e15", "1e16", "123456789012345.6", "999999999999999",
            "1e-4", "1e-5", "0.00012345", "1.7976931348623157e308", "5e-324",
            "2.2250738585072014e-308", "NaN", "Infinity", "-Infinity", "3.141592653589793",
            "100", "1e100", "-1e-100", "0.30000000000000004",
        )
        + ["NULL", "1.0/3"],
    ),
    "float4": Case(
        "FLOAT",
        "float4",
        lits(
            "0", "-0", "1", "0.1", "123456", "1234567", "1e6", "999999", "1e-4", "1e-5",
            "3.4028235e38", "1e-45", "1.17549435e-38", "16777216", "16777217", "NaN",
            "Infinity", "-Infinity", "3.1415927", "8388608", "0.3", "7e-45", "1.5e-44",
        )
        + ["NULL"],
    ),
    "text": Case(
        "VARCHAR",
        "text",
        lits("", "abc", "with space", "ünïcödé ☃ 日本 😀", "it's", "back\\slash", "{}", "NULL")
        + ["chr(10) || 'x' || chr(9)", "NULL"],
    ),
    "bytea": Case(
        "BLOB",
        "bytea",
        [
            ("from_hex('')", "decode('', 'hex')"),
            ("from_hex('00ff7f80')", "decode('00ff7f80', 'hex')"),
            ("'abc'::BLOB", "'abc'::bytea"),
            "NULL",
        ],
    ),
    "bit": Case(
        "BIT",
        "varbit",
        lits("0", "1", "0101", "01010101", "010101011", "1" * 64 + "0", "0" * 17) + ["NULL"],
    ),
    "date": Case(
        "DATE",
        "date",
        lits("2020-02-29", "1970-01-01", "0001-01-01", "1999-12-31", "5874897-12-31", "infinity", "-infinity")
        + [
            (q("0044-03-15 (BC)"), q("0044-03-15 BC")),
            (q("0001-12-31 (BC)"), q("0001-12-31 BC")),
            (q("4713-11-24 (BC)"), q("4713-11-24 BC")),
            "NULL",
        ],
    ),
    "time": Case(
        "TIME",
        "time",
        lits("00:00:00", "23:59:59.999999", "12:34:56.5", "24:00:00", "01:02:03.000001", "10:00:00.12")
        + ["NULL"],
    ),
    "time_ns": Case(
        "TIME_NS",
        "time",
        lits("01:02:03", "23:59:59.999999") + [(q("01:02:03.123456789"), q("01:02:03.123456")), "NULL"],
    ),
    "timetz": Case(
        "TIMETZ",
        "timetz",
        lits(
            "01:02:03+05:30", "01:02:03-03:00", "00:00:00+00", "23:59:59.999999-15:59",
            "12:00:00.5+15:59", "24:00:00-01", "08:00:00+05:30:15",
        )
        + ["NULL"],
    ),
    "timestamp": Case(
        "TIMESTAMP",
        "timestamp",
        lits(
            "2020-01-01 00:00:00", "2020-01-01 01:02:03.5", "1999-12-31 23:59:59.999999",
            "1969-12-31 23:59:59.000001", "0001-01-01 00:00:00", "294247-01-10 04:00:54.775806",
            "infinity", "-infinity",
        )
        + [
            (q("0044-03-15 (BC) 12:00:00.25"), q("0044-03-15 12:00:00.25 BC")),
            (q("4713-11-24 (BC) 00:00:00"), q("4713-11-24 00:00:00 BC")),
            "NULL",
        ],
    ),
    "timestamp_s": Case(
        "TIMESTAMP_S", "timestamp", lits("2020-01-01 01:02:03", "1900-01-01 00:00:00", "infinity", "-infinity")
    ),
    "timestamp_ms": Case(
        "TIMESTAMP_MS", "timestamp", lits("2020-01-01 01:02:03.123", "1960-06-01 00:00:00.5", "infinity")
    ),
    "timestamp_ns": Case(
        "TIMESTAMP_NS",
        "timestamp",
        lits("2020-01-01 01:02:03.123456", "1960-06-01 00:00:00.000001", "-infinity", "infinity")
        # PostgreSQL has microseconds: nanoseconds are floored (see docs/types.md).
        + [
            (q("2020-01-01 00:00:00.123456789"), q("2020-01-01 00:00:00.123456")),
            (q("1960-01-01 00:00:00.123456789"), q("1960-01-01 00:00:00.123456")),
        ],
    ),
    "interval": Case(
        "INTERVAL",
        "interval",
        lits(
            "0 days", "1 year 2 months -3 days 04:05:06.789", "-1 microseconds", "1 day -1 hour",
            "-1 year", "1 month", "1 day", "-1 day", "25 hours", "-2 years -3 months 1 day",
            "1 year -1 microseconds", "-1 days 1 microseconds", "178956970 years 7 months",
            "1000000 hours 1.5 seconds", "14 months -3 days 14706789 microseconds",
        )
        + ["NULL"],
    ),
    "uuid": Case(
        "UUID",
        "uuid",
        lits(
            "00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff",
            "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11", "123e4567-e89b-12d3-a456-426614174000",
            "7fffffff-ffff-ffff-8000-000000000000",
        )
        + ["NULL"],
    ),
    "json": Case("JSON", "json", lits('{"a":1}', '[1,2]', '"x"', "null", '{"b":"ü\\n"}', "3.5") + ["NULL"]),
}

DECIMALS = [(4, 1), (9, 4), (18, 2), (18, 18), (19, 0), (38, 0), (38, 10), (38, 38), (1, 0)]


@pytest.mark.parametrize("name", sorted(SCALAR_CASES))
def test_scalar(pg, name: str) -> None:
    assert_same(pg, SCALAR_CASES[name])


@pytest.mark.parametrize(("precision", "scale"), DECIMALS)
def test_decimal(pg, precision: int, scale: int) -> None:
    whole = "9" * (precision - scale) or "0"
    frac = "9" * scale
    largest = f"{whole}.{frac}" if scale else whole
    smallest_step = f"0.{'0' * (scale - 1)}1" if scale else "1"
    # Quoted: DuckDB reads an unquoted long decimal literal as a DOUBLE.
    values = lits("0", largest, "-" + largest, smallest_step, "-" + smallest_step) + ["NULL"]
    sql_type = f"DECIMAL({precision},{scale})"
    assert_same(pg, Case(sql_type, _pg_numeric(precision, scale), values))


def _pg_numeric(precision: int, scale: int) -> str:
    """PostgreSQL's type for DECIMAL(p,s): DECIMAL(38, s >= 10) is shown as numeric
    without a typmod, bare numeric being DECIMAL(38,10) (wire/unbounded.py)."""
    return "numeric" if precision == 38 and scale >= 10 else f"numeric({precision},{scale})"


def test_enum(pg) -> None:
    setup = ("CREATE TYPE mood AS ENUM ('sad', 'ok', 'very happy', '')",)
    case = Case("mood", "text", lits("ok", "very happy", "", "sad") + ["NULL"])
    duck_exprs, pg_exprs = case.sides()
    expected = pg_texts(pg, values_query(pg_exprs, "text"))
    assert duck_texts(values_query(duck_exprs, "mood"), setup=setup) == expected


TIMESTAMPTZ_INSTANTS = lits(
    "2020-06-01 12:00:00+00", "2020-01-01 00:00:00.123456+00", "2020-03-08 07:00:00+00",
    "2020-11-01 05:30:00+00", "1800-01-01 00:00:00+00", "1883-11-18 16:59:59+00",
    "1969-12-31 23:59:59.5+00", "1941-07-01 00:00:00+00", "2038-07-01 00:00:00+00",
    "2100-01-01 00:00:00+00", "9999-12-31 23:59:59.999999+00", "10000-07-01 00:00:00+00",
    "294246-07-01 00:00:00+00", "0001-01-01 00:00:00+00", "infinity", "-infinity",
) + [
    (q("0044-03-15 (BC) 12:00:00+00"), q("0044-03-15 12:00:00+00 BC")),
    (q("1000-07-01 (BC) 00:00:00+00"), q("1000-07-01 00:00:00+00 BC")),
    "NULL",
]


@pytest.mark.parametrize("zone", ZONES)
def test_timestamptz(pg, zone: str) -> None:
    assert_same(pg, Case("TIMESTAMPTZ", "timestamptz", TIMESTAMPTZ_INSTANTS), zone=zone)


# --- arrays ------------------------------------------------------------------------------


def pg_array(elements: list[str], duck_type: str, pg_type: str | None = None) -> tuple[str, str]:
    """The same one-dimensional array in DuckDB list and PostgreSQL ARRAY syntax."""
    body = ", ".join(elements)
    return f"[{body}]::{duck_type}[]", f"ARRAY[{body}]::{pg_type or duck_type}[]"


ARRAY_CASES = {
    "int": Case("INTEGER[]", "int4[]", [
        pg_array(["1", "2", "3"], "INTEGER"), pg_array(["NULL"], "INTEGER"),
        pg_array(["1", "NULL", "-3"], "INTEGER"), ("[]::INTEGER[]", "'{}'::int4[]"), "NULL",
    ]),
    "bool": Case("BOOLEAN[]", "bool[]", [pg_array(["true", "false", "NULL"], "BOOLEAN")]),
    "smallint": Case("SMALLINT[]", "int2[]", [pg_array(["-32768", "32767"], "SMALLINT")]),
    "bigint": Case("BIGINT[]", "int8[]", [pg_array(["-9223372036854775808", "1"], "BIGINT")]),
    "double": Case("DOUBLE[]", "float8[]", [
        pg_array([f"CAST({v} AS FLOAT8)" for v in lits("NaN", "-0", "1e16", "0.1", "-Infinity")], "FLOAT8")
    ]),
    "float": Case("FLOAT[]", "float4[]", [
        pg_array([f"CAST({v} AS FLOAT4)" for v in lits("NaN", "1e6", "0.1", "Infinity")], "FLOAT4")
    ]),
    "numeric": Case("DECIMAL(10,2)[]", "numeric(10,2)[]", [pg_array(["1.5", "-0.01", "NULL"], "DECIMAL(10,2)")]),
    "text": Case("VARCHAR[]", "text[]", [
        pg_array(
            lits("", "a", "a b", "a,b", "{x}", 'q"uote', "back\\slash", "NULL", "null", "Null ", "ü", "x;y")
            + ["NULL", "chr(9)", "chr(10) || 'a'", "chr(11)", "chr(12)", "chr(13)"],
            "VARCHAR",
        )
    ]),
    "bytea": Case("BLOB[]", "bytea[]", [("[from_hex('01ff'), NULL]", "ARRAY[decode('01ff', 'hex'), NULL]")]),
    "date": Case("DATE[]", "date[]", [
        ("['2020-01-01'::DATE, 'infinity'::DATE, '0044-03-15 (BC)'::DATE]",
         "ARRAY['2020-01-01'::date, 'infinity'::date, '0044-03-15 BC'::date]"),
    ]),
    "time": Case("TIME[]", "time[]", [pg_array(lits("01:02:03.5", "00:00:00"), "TIME")]),
    "timetz": Case("TIMETZ[]", "timetz[]", [pg_array(lits("01:02:03+05:30"), "TIMETZ")]),
    "timestamp": Case("TIMESTAMP[]", "timestamp[]", [pg_array(lits("2020-01-01 01:02:03", "infinity"), "TIMESTAMP")]),
    "timestamptz": Case("TIMESTAMPTZ[]", "timestamptz[]", [
        pg_array(lits("2020-01-01 01:02:03+00", "-infinity"), "TIMESTAMPTZ")
    ]),
    "interval": Case("INTERVAL[]", "interval[]", [pg_array(lits("1 day -1 hour", "0 days"), "INTERVAL")]),
    "uuid": Case("UUID[]", "uuid[]", [pg_array(lits("123e4567-e89b-12d3-a456-426614174000"), "UUID")]),
    "json": Case("JSON[]", "json[]", [pg_array(lits('{"a": "b c"}', "1", '"x"'), "JSON")]),
    "bit": Case("BIT[]", "varbit[]", [pg_array(lits("0101", "1"), "BIT", "varbit")]),
    "nested int": Case("INTEGER[][]", "int4[]", [
        ("[[1, 2], [3, 4]]", "ARRAY[[1, 2], [3, 4]]"),
        ("[[NULL, 2]]", "ARRAY[[NULL, 2]]"),
    ]),
    "3-d int": Case("INTEGER[][][]", "int4[]", [("[[[1], [2]], [[3], [NULL]]]", "ARRAY[[[1], [2]], [[3], [NULL]]]")]),
    "nested text": Case("VARCHAR[][]", "text[]", [
        ("[['a b', ''], ['\"', NULL]]", "ARRAY[['a b', ''], ['\"', NULL]]"),
    ]),
    "fixed size": Case("INTEGER[3]", "int4[]", [("[1, 2, 3]", "ARRAY[1, 2, 3]"), ("[NULL, 0, -1]", "ARRAY[NULL, 0, -1]")]),
    "fixed size nested": Case("INTEGER[2][2]", "int4[]", [("[[1, 2], [3, 4]]", "ARRAY[[1, 2], [3, 4]]")]),
}


@pytest.mark.parametrize("name", sorted(ARRAY_CASES))
def test_array(pg, name: str) -> None:
    assert_same(pg, ARRAY_CASES[name])


# --- STRUCT as a record; MAP / UNION (and a STRUCT inside them) as json ---------------------
# A STRUCT column is an anonymous record: record_out's text of each field's PostgreSQL
# text. The PostgreSQL side selects a row of the same typed values.

RECORD_CASES = [
    ("{'a': 1, 'b': 'x', 'c': NULL::INTEGER, 'd': true}",
     "SELECT 1 AS a, 'x'::text AS b, NULL::int AS c, true AS d"),
    ("{'f': 'NaN'::DOUBLE, 'g': 1e16::DOUBLE, 'h': -0.0::DOUBLE, 'i': 1.50::DECIMAL(5,2), "
     "'j': 'Infinity'::FLOAT}",
     "SELECT 'NaN'::float8 AS f, 1e16::float8 AS g, '-0'::float8 AS h, 1.50::numeric(5,2) AS i, "
     "'Infinity'::float4 AS j"),
    ("{'s': 'quote\" back\\ nl' || chr(10) || chr(1) || 'ü', 'e': '', 'p': '(a,b)', "
     "'sp': ' x', 'n': 'NULL'}",
     "SELECT 'quote\" back\\ nl' || chr(10) || chr(1) || 'ü' AS s, ''::text AS e, "
     "'(a,b)'::text AS p, ' x'::text AS sp, 'NULL'::text AS n"),
    ("{'l': [1, NULL, 3], 'st': {'x': 1, 'y': 'z w'}, 'ls': [{'y': 'z'}, NULL]}",
     "SELECT ARRAY[1, NULL, 3] AS l, (SELECT r FROM (SELECT 1 AS x, 'z w'::text AS y) r) AS st, "
     "ARRAY[(SELECT r2 FROM (SELECT 'z'::text AS y) r2), NULL] AS ls"),
    ("{'d': '2020-01-01'::DATE, 'ts': '2020-01-01 01:02:03.5'::TIMESTAMP, 'i': INTERVAL 1 DAY,"
     " 'u': '123e4567-e89b-12d3-a456-426614174000'::UUID, 'b': from_hex('00ff'),"
     " 't': '01:02:03'::TIME, 'tz': '2020-01-01 00:00:00+00'::TIMESTAMPTZ}",
     "SELECT '2020-01-01'::date AS d, '2020-01-01 01:02:03.5'::timestamp AS ts,"
     " '1 day'::interval AS i, '123e4567-e89b-12d3-a456-426614174000'::uuid AS u,"
     " '\\x00ff'::bytea AS b, '01:02:03'::time AS t, '2020-01-01 00:00:00+00'::timestamptz AS tz"),
    ("{'j': '{\"k\": [1, 2]}'::JSON, 'm': MAP {'k': 1}}",
     "SELECT '{\"k\": [1, 2]}'::json AS j, '{\"k\":1}'::json AS m"),
]


@pytest.mark.parametrize(("duck_expr", "pg_select"), RECORD_CASES)
def test_struct_is_a_record(pg, duck_expr: str, pg_select: str) -> None:
    expected = pg_texts(pg, f"SELECT r FROM ({pg_select}) AS r")
    assert duck_texts(f"SELECT {duck_expr} AS v") == expected


# PostgreSQL's row_to_json prints the compact JSON we promise for plain values; for
# values whose JSON is "the PostgreSQL text as a string" (dates, intervals, ...) the PG
# side converts them with ::text first, because to_json would use ISO 8601 instead. A
# STRUCT's JSON is what it is inside a MAP: json_case wraps the STRUCT cases in one.

JSON_CASES = [
    (
        "{'a': 1, 'b': 'x', 'c': NULL::INTEGER, 'd': true}",
        "SELECT 1 AS a, 'x'::text AS b, NULL::int AS c, true AS d",
    ),
    (
        "{'f': 'NaN'::DOUBLE, 'g': 1e16::DOUBLE, 'h': -0.0::DOUBLE, 'i': 1.50::DECIMAL(5,2), 'j': 'Infinity'::FLOAT}",
        "SELECT 'NaN'::float8 AS f, 1e16::float8 AS g, '-0'::float8 AS h, 1.50::numeric(5,2) AS i, 'Infinity'::float4 AS j",
    ),
    (
        "{'s': 'quote\" back\\ nl' || chr(10) || chr(1) || chr(127) || 'ü', 'e': ''}",
        "SELECT 'quote\" back\\ nl' || chr(10) || chr(1) || chr(127) || 'ü' AS s, '' AS e",
    ),
    (
        "{'l': [1, NULL, 3], 'n': [[1], [2]], 'st': {'x': [{'y': 'z'}]}}",
        "SELECT ARRAY[1, NULL, 3] AS l, ARRAY[[1], [2]] AS n,"
        " (SELECT r FROM (SELECT ARRAY[(SELECT r2 FROM (SELECT 'z' AS y) r2)] AS x) r) AS st",
    ),
    (
        "{'d': '2020-01-01'::DATE, 'ts': '2020-01-01 01:02:03.5'::TIMESTAMP, 'i': INTERVAL 1 DAY,"
        " 'u': '123e4567-e89b-12d3-a456-426614174000'::UUID, 'b': from_hex('00ff'), 'bits': '0101'::BIT,"
        " 't': '01:02:03'::TIME, 'tz': '2020-01-01 00:00:00+00'::TIMESTAMPTZ, 'inf': 'infinity'::DATE}",
        "SELECT '2020-01-01'::date::text AS d, '2020-01-01 01:02:03.5'::timestamp::text AS ts,"
        " '1 day'::interval::text AS i, '123e4567-e89b-12d3-a456-426614174000'::uuid AS u,"
        " '\\x00ff'::bytea AS b, B'0101'::varbit AS bits, '01:02:03'::time AS t,"
        " '2020-01-01 00:00:00+00'::timestamptz::text AS tz, 'infinity'::date::text AS inf",
    ),
    (
        "{'j': '{\"k\": [1, 2]}'::JSON, 'h': 170141183460469231731687303715884105727::HUGEINT,"
        " 'u': 18446744073709551615::UBIGINT}",
        "SELECT '{\"k\": [1, 2]}'::json AS j, 170141183460469231731687303715884105727::numeric AS h,"
        " 18446744073709551615::numeric AS u",
    ),
    (
        "{'Weird \"name\"': 1, 'ünï': 2}",
        "SELECT 1 AS \"Weird \"\"name\"\"\", 2 AS \"ünï\"",
    ),
    ("MAP {'k': 1, 'j': NULL::INTEGER}", 'SELECT 1 AS "k", NULL::int AS "j"'),
    ("MAP {1: 'a', -2: 'b\"'}", "SELECT 'a' AS \"1\", 'b\"' AS \"-2\""),
    ("MAP {'2020-01-01'::DATE: [1.5]}", "SELECT ARRAY[1.5] AS \"2020-01-01\""),
    ("MAP {}::MAP(VARCHAR, INTEGER)", "SELECT"),
]


def json_case(duck_expr: str, pg_select: str) -> tuple[str, str]:
    """(DuckDB query, PostgreSQL query) of a JSON_CASES entry: a MAP as it is, a STRUCT
    as the value of a MAP (at the top level it is a record)."""
    if duck_expr.startswith("MAP"):
        return f"SELECT {duck_expr} AS v", f"SELECT row_to_json(r) FROM ({pg_select}) AS r"
    return (f"SELECT MAP {{'k': {duck_expr}}} AS v",
            f"SELECT row_to_json(o) FROM (SELECT (SELECT row_to_json(r) FROM ({pg_select}) AS r)"
            " AS k) AS o")


@pytest.mark.parametrize(("duck_expr", "pg_select"), JSON_CASES)
def test_struct_and_map_json(pg, duck_expr: str, pg_select: str) -> None:
    duck_sql, pg_sql = json_case(duck_expr, pg_select)
    assert duck_texts(duck_sql) == pg_texts(pg, pg_sql)


def test_null_struct_and_map(pg) -> None:
    assert duck_texts(values_query(["{'a': 1}", "NULL"], "STRUCT(a INTEGER)")) \
        == pg_texts(pg, "SELECT v FROM (VALUES (0, row(1)), (1, NULL)) AS t(i, v) ORDER BY i")
    assert duck_texts("SELECT NULL::MAP(VARCHAR, INTEGER)") == pg_texts(pg, "SELECT NULL::json")


UNION_TYPE = "UNION(num INTEGER, str VARCHAR, d DATE, f DOUBLE)"


def test_union(pg) -> None:
    duck = [
        "union_value(num := 2)", "union_value(str := 'x\"y')", "union_value(d := '2020-01-01'::DATE)",
        "union_value(f := 'NaN'::DOUBLE)", "union_value(f := 0.5::DOUBLE)", "NULL",
    ]
    pg_side = [
        "to_json(2)", "to_json('x\"y'::text)", "to_json('2020-01-01'::date::text)",
        "to_json('NaN'::float8)", "to_json(0.5::float8)", "NULL",
    ]
    expected = pg_texts(pg, values_query(pg_side, "text"))
    assert duck_texts(values_query(duck, UNION_TYPE)) == expected


def test_list_of_structs_is_record_array(pg) -> None:
    duck = "[{'a': 1, 'b': 'x y'}, NULL, {'a': NULL, 'b': '\"'}]"
    pg_side = "ARRAY[row(1, 'x y'::text), NULL, row(NULL::int, '\"'::text)]"
    assert duck_texts(f"SELECT {duck} AS v") == pg_texts(pg, f"SELECT {pg_side}")


def test_list_of_maps_and_nested_lists_of_structs(pg) -> None:
    duck = "[[MAP {'k': 1}], [MAP {'k': 2}]]"
    pg_side = "ARRAY[[(SELECT row_to_json(r) FROM (SELECT 1 AS k) r)], [(SELECT row_to_json(r) FROM (SELECT 2 AS k) r)]]"
    assert duck_texts(f"SELECT {duck} AS v") == pg_texts(pg, f"SELECT {pg_side}")


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
    whole = encode_text_column(array, field)
    for start in range(len(array)):
        assert encode_text_column(array.slice(start), field) == whole[start:]
    for child_index, child_field in enumerate(field.type):
        child = array.field(child_index)
        child_whole = encode_text_column(child, child_field)
        for start in range(len(child)):
            assert encode_text_column(child.slice(start), child_field) == child_whole[start:]


def test_dense_union_matches_sparse() -> None:
    """DuckDB sends sparse unions; a dense one must render the same."""
    types = pa.array([0, 1, 0, 1], pa.int8())
    ints, strs = pa.array([5, None]), pa.array(["a", "b c"])
    dense = pa.UnionArray.from_dense(types, pa.array([0, 0, 1, 1], pa.int32()), [ints, strs], ["n", "s"])
    sparse = pa.UnionArray.from_sparse(
        types, [pa.array([5, None, None, None]), pa.array([None, "a", None, "b c"])], ["n", "s"]
    )
    dense_text = encode_text_column(dense, pa.field("u", dense.type))
    assert dense_text == encode_text_column(sparse, pa.field("u", sparse.type))
    assert encode_text_column(dense.slice(1), pa.field("u", dense.type)) == dense_text[1:]


# --- Hypothesis: random values through both systems ---------------------------------------

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(st.lists(st.integers(-(2**63), 2**63 - 1), min_size=1, max_size=20))
def test_fuzz_bigint(pg, values: list[int]) -> None:
    assert_same(pg, Case("BIGINT", "int8", [str(v) for v in values]))


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


TINY_OR_HUGE_FLOAT32 = st.floats(0, 2.0**-100, width=32) | st.floats(2.0**100, 3.4028234663852886e38, width=32)


@FUZZ
@given(st.lists(TINY_OR_HUGE_FLOAT32 | TINY_OR_HUGE_FLOAT32.map(lambda v: -v), min_size=1, max_size=30))
def test_fuzz_float_extremes(pg, values: list[float]) -> None:
    assert_same(pg, Case("FLOAT", "float4", [q(repr(v)) for v in values]))


PG_TEXT = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=12)


@FUZZ
@given(st.lists(st.none() | PG_TEXT, min_size=1, max_size=20))
def test_fuzz_text(pg, values: list[str | None]) -> None:
    assert_same(pg, Case("VARCHAR", "text", ["NULL" if v is None else q(v) for v in values]))


# Pieces that exercise array_out's quoting: delimiters, braces, quotes, backslashes,
# white space, and words spelling NULL.
ARRAY_TEXT = st.none() | st.lists(
    st.sampled_from(list('ab ,{}"\\\t\n\r\x0b\x0c;é') + ["null", "NULL", "Null"]), max_size=6
).map("".join)


@FUZZ
@given(st.lists(st.lists(ARRAY_TEXT, max_size=6), min_size=1, max_size=8))
def test_fuzz_text_arrays(pg, arrays: list[list[str | None]]) -> None:
    values = [pg_array(["NULL" if v is None else q(v) for v in a] or ["NULL"], "VARCHAR") for a in arrays]
    assert_same(pg, Case("VARCHAR[]", "text[]", values))


@FUZZ
@given(
    st.lists(
        st.lists(st.lists(st.none() | st.integers(-(2**31), 2**31 - 1), min_size=2, max_size=2), min_size=1, max_size=3),
        min_size=1,
        max_size=5,
    )
)
def test_fuzz_int_matrices(pg, matrices: list[list[list[int | None]]]) -> None:
    def literal(m: list[list[int | None]]) -> str:
        return "[" + ", ".join("[" + ", ".join("NULL" if v is None else str(v) for v in row) + "]" for row in m) + "]"

    values = [(f"{literal(m)}::INTEGER[][]", f"ARRAY{literal(m)}::int4[]") for m in matrices]
    assert_same(pg, Case("INTEGER[][]", "int4[]", values))


# Microseconds from the Unix epoch within both systems' timestamp ranges (4713 BC on).
TIMESTAMP_USECS = st.integers(-210_866_803_200_000_000, 9_223_371_331_200_000_000)


@FUZZ
@given(st.lists(TIMESTAMP_USECS, min_size=1, max_size=20), st.sampled_from(ZONES))
def test_fuzz_timestamps(pg, usecs: list[int], zone: str) -> None:
    plain = [(f"make_timestamp({u}::BIGINT)", f"'epoch'::timestamp + '{u} microseconds'::interval") for u in usecs]
    assert_same(pg, Case("TIMESTAMP", "timestamp", plain))
    aware = [
        (
            # Through text: DuckDB's TIMESTAMPTZ + INTERVAL (ICU) drops microseconds
            # near the end of the range.
            f"(make_timestamp({u}::BIGINT)::VARCHAR || '+00')::TIMESTAMPTZ",
            f"'epoch'::timestamptz + '{u} microseconds'::interval",
        )
        for u in usecs
    ]
    assert_same(pg, Case("TIMESTAMPTZ", "timestamptz", aware), zone=zone)


@FUZZ
@given(st.lists(st.integers(-2_440_588, 2_145_042_905), min_size=1, max_size=20))
def test_fuzz_dates(pg, days: list[int]) -> None:
    assert_same(pg, Case("DATE", "date", [f"'1970-01-01'::DATE + {d}" for d in days]))


@FUZZ
@given(
    st.lists(
        st.tuples(
            st.integers(-(2**31) + 1, 2**31 - 1),
            st.integers(-(2**31) + 1, 2**31 - 1),
            # DuckDB exports the time part as nanoseconds and wraps beyond int64.
            st.integers(-((2**63 - 1) // 1000), (2**63 - 1) // 1000),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_fuzz_intervals(pg, parts: list[tuple[int, int, int]]) -> None:
    values = [
        (
            f"to_months({m}) + to_days({d}) + to_microseconds({u}::BIGINT)",
            f"'{m} months {d} days'::interval + '{u} microseconds'::interval",
        )
        for m, d, u in parts
    ]
    assert_same(pg, Case("INTERVAL", "interval", values))


# --- pg_type_for: RowDescription types, asked of PostgreSQL --------------------------------

TYPE_TABLE = [
    ("BOOLEAN", "bool"),
    ("TINYINT", "int2"),
    ("SMALLINT", "int2"),
    ("INTEGER", "int4"),
    ("BIGINT", "int8"),
    ("UTINYINT", "int2"),
    ("USMALLINT", "int4"),
    ("UINTEGER", "oid"),
    ("UBIGINT", "numeric(20,0)"),
    ("HUGEINT", "numeric(39,0)"),
    ("UHUGEINT", "numeric(39,0)"),
    ("VARINT", "numeric"),
    ("FLOAT", "float4"),
    ("DOUBLE", "float8"),
    ("DECIMAL(4,1)", "numeric(4,1)"),
    ("DECIMAL(18,3)", "numeric(18,3)"),
    ("DECIMAL(38,10)", "numeric"),  # bare numeric (wire/unbounded.py)
    ("DECIMAL(38,12)", "numeric"),
    ("DECIMAL(38,9)", "numeric(38,9)"),
    ("VARCHAR", "text"),
    ("mood", "text"),
    ("BLOB", "bytea"),
    ("BIT", "varbit"),
    ("DATE", "date"),
    ("TIME", "time"),
    ("TIMETZ", "timetz"),
    ("TIMESTAMP", "timestamp"),
    ("TIMESTAMP_S", "timestamp"),
    ("TIMESTAMP_MS", "timestamp"),
    ("TIMESTAMP_NS", "timestamp"),
    ("TIMESTAMPTZ", "timestamptz"),
    ("INTERVAL", "interval"),
    ("UUID", "uuid"),
    ("JSON", "json"),
    ("STRUCT(a INTEGER)", "record"),
    ("MAP(VARCHAR, INTEGER)", "json"),
    ("UNION(a INTEGER, b VARCHAR)", "json"),
    ("BOOLEAN[]", "bool[]"),
    ("TINYINT[]", "int2[]"),
    ("INTEGER[]", "int4[]"),
    ("BIGINT[]", "int8[]"),
    ("UBIGINT[]", "numeric(20,0)[]"),
    ("FLOAT[]", "float4[]"),
    ("DOUBLE[]", "float8[]"),
    ("DECIMAL(10,2)[]", "numeric(10,2)[]"),
    ("VARCHAR[]", "text[]"),
    ("mood[]", "text[]"),
    ("BLOB[]", "bytea[]"),
    ("BIT[]", "varbit[]"),
    ("DATE[]", "date[]"),
    ("TIME[]", "time[]"),
    ("TIMETZ[]", "timetz[]"),
    ("TIMESTAMP[]", "timestamp[]"),
    ("TIMESTAMPTZ[]", "timestamptz[]"),
    ("INTERVAL[]", "interval[]"),
    ("UUID[]", "uuid[]"),
    ("JSON[]", "json[]"),
    ("INTEGER[][]", "int4[]"),
    ("VARCHAR[][][]", "text[]"),
    ("INTEGER[3]", "int4[]"),
    ("DOUBLE[2][2]", "float8[]"),
    ("STRUCT(a INTEGER)[]", "record[]"),
    ("MAP(VARCHAR, INTEGER)[]", "json[]"),
]


@pytest.mark.parametrize(("duck_type", "pg_type"), TYPE_TABLE)
def test_pg_type_for(pg, duck_type: str, pg_type: str) -> None:
    _, field = duck_column(
        f"SELECT NULL::{duck_type} AS v", setup=("CREATE TYPE mood AS ENUM ('sad', 'ok')",)
    )
    result = pg.pgconn.exec_(
        f"SELECT NULL::{pg_type} AS v, (SELECT typname FROM pg_type WHERE oid = '{pg_type}'::regtype)".encode()
    )
    assert result.status == psycopg.pq.ExecStatus.TUPLES_OK, result.error_message
    expected = PgType(result.ftype(0), result.get_value(0, 1).decode(), result.fsize(0), result.fmod(0))
    assert pg_type_for(field) == expected


def test_pg_type_for_unknown_is_text() -> None:
    assert pg_type_for(pa.field("v", pa.null())) == PgType(25, "text", -1, -1)
    assert encode_text_column(pa.nulls(2), pa.field("v", pa.null())) == [None, None]
