"""A parameter's type is the one its client declared, differential against PostgreSQL 15.

psycopg declares each value's type from its Python type (int as int2/int4/int8/numeric by
magnitude, float as float8, Decimal as numeric, str as unknown in text and text in binary,
bytes as bytea, date/datetime as date/timestamp, bool as bool). Each statement runs on
both servers with the parameters sent in text (%t) and in binary (%b) and the result
read in text and in binary; the result columns' names and type OIDs, and the values, or
the SQLSTATE when both fail, must agree. Differences that remain are strict expected
failures, listed with the reason (and in docs/compatibility.md).
"""

from __future__ import annotations

import datetime
import decimal
import shutil
import subprocess
from pathlib import Path

import psycopg
import pytest

from tests.support.differential import outcome
from tests.support.pg15 import pg15_dsn  # noqa: F401 - pytest fixture

D = decimal.Decimal

#: (statement with %s placeholders, parameters)
CASES: list[tuple[str, tuple]] = [
    # int2 (small Python ints) and int4 parameters as function arguments that take integer
    ("select chr(%s)", (65,)),
    ("select chr(%s)", (70000,)),
    ("select repeat('ab', %s)", (3,)),
    ("select left('abcdef', %s), right('abcdef', %s)", (2, 70000)),
    ("select substr('abcdef', %s, %s), substring('abcdef' from %s for %s)", (2, 3, 2, 3)),
    ("select lpad('x', %s, '-'), rpad('x', %s, '-')", (5, 3)),
    ("select make_date(%s, %s, %s)", (2024, 2, 3)),
    ("select * from generate_series(1, %s)", (3,)),
    ("select * from generate_series(7000000000, %s)", (7000000002,)),
    ("select * from generate_series(%s, %s)", (69998, 70000)),
    # arithmetic and comparisons
    ("select %s + 1", (5,)),
    ("select %s + 1", (32767,)),  # int2 + int4 literal is int4: no smallint overflow
    ("select %s::int2 + 1, 1 - %s, 10 / %s, 7 %% %s", (5, 5, 4, 4)),
    ("select %s + 1", (2147483647,)),  # int4 + int4 overflows: 22003
    ("select %s - 1", (-2147483648,)),
    ("select %s + 1", (70000,)),
    ("select %s + 1", (7000000000,)),
    ("select %s * 2", (70000,)),
    ("select %s + 1", (D("1.5"),)),
    ("select %s + 1", (1.5,)),
    ("select %s / 2", (70000,)),
    ("select abs(%s)", (-70000,)),
    ("select %s < 3, %s = 'a'", (2, "a")),
    ("select %s > 2.5", (3,)),
    ("select %s * 2.5", (3,)),
    ("select pg_typeof(%s)::text", (5,)),
    ("select not %s", (True,)),
    ("select %s::int2, %s::int4, %s::int8", (5, 5, 5)),
    ("select %s::numeric(5,2)", (3,)),
    # strings, dates, bytea
    ("select upper(%s), length(%s)", ("abc", "abcd")),
    ("select date_trunc('day', %s)", (datetime.datetime(2024, 1, 2, 3, 4),)),
    ("select %s + interval '1 day'", (datetime.date(2024, 1, 2),)),
    ("select %s + 3", (datetime.date(2024, 1, 2),)),
    ("select extract(year from %s)::int", (datetime.date(2024, 1, 2),)),
    ("select %s", (b"ab\x00",)),
    ("select length(%s)", (b"ab\x00",)),
    # bytea's byte and bit accessors, their NULLs and their 2202E / 22023 errors
    ("select get_byte('\\x0102ff'::bytea, 2), set_byte('\\x0102ff'::bytea, 1, 65), "
     "set_byte('\\x0102ff'::bytea, 2, 321)", ()),
    ("select get_byte(%s, %s), get_bit(%s, %s), set_byte(%s, %s, %s), set_bit(%s, %s, %s)",
     (b"ab\x00", 1, b"ab\x00", 9, b"ab\x00", 0, 66, b"ab\x00", 1, 1)),
    ("select get_bit('\\x0102ff'::bytea, 9), get_bit('\\x0102ff'::bytea, 8), "
     "set_bit('\\x0102ff'::bytea, 0, 0), set_bit('\\x0102ff'::bytea, 9, 0), "
     "set_bit('\\x0102ff'::bytea, 10, 1)", ()),
    ("select get_byte(null::bytea, 1), get_bit('\\x01'::bytea, null), "
     "set_bit('\\x01'::bytea, 0, null)", ()),
    ("select get_byte('\\x0102ff'::bytea, 10)", ()),
    ("select get_byte('\\x0102ff'::bytea, -1)", ()),
    ("select get_byte(''::bytea, 0)", ()),
    ("select set_byte('\\x0102ff'::bytea, 3, 1)", ()),
    ("select get_bit(%s, %s)", (b"ab\x00", 24)),
    ("select set_bit('\\x0102ff'::bytea, 24, 1)", ()),
    ("select set_bit('\\x0102ff'::bytea, 2, 2)", ()),
    # INSERT into typed columns, then read back
    ("insert into params_t (s, i, b, n, f, t, d, ts) values (%s, %s, %s, %s, %s, %s, %s, %s)",
     (1, 2, 3, D("4.5"), 6.5, "seven", datetime.date(2024, 8, 9),
      datetime.datetime(2024, 10, 11, 12, 13, 14))),
    ("select s + %s, i + %s, b + %s from params_t", (1, 1, 1)),
    ("select * from params_t where i = %s and s = %s and b = %s", (2, 1, 3)),
    ("select * from params_t where n = %s or f = %s", (D("4.5"), 6.5)),
]

#: statement -> why it still differs (docs/compatibility.md, "Parameters").
_SERIES = "DuckDB's generate_series has only a bigint form; PostgreSQL's is int4 for int4 arguments"
DIVERGENT: dict[str, str] = {
    "select * from generate_series(1, %s) (3,)": _SERIES,
    "select * from generate_series(%s, %s) (69998, 70000)": _SERIES,
}

SETUP = ("create table params_t (s smallint, i integer, b bigint, n numeric(10,2), "
         "f double precision, t text, d date, ts timestamp)")


def _key(sql: str, params: tuple) -> str:
    return f"{sql} {params!r}"


def _outcome(conn: psycopg.Connection, sql: str, params: tuple, binary: bool):
    return outcome(conn, sql, params, binary=binary, prepare=True)


@pytest.fixture(scope="module")
def connections(server, pg15_dsn):  # noqa: F811
    ours = psycopg.connect(server.dsn(), autocommit=True)
    theirs = psycopg.connect(pg15_dsn, autocommit=True)
    for conn in (ours, theirs):
        conn.execute("drop table if exists params_t")
        conn.execute(SETUP)
    yield ours, theirs
    for conn in (ours, theirs):
        conn.execute("drop table if exists params_t")
        conn.close()


@pytest.mark.parametrize("result_binary", [False, True], ids=["text-result", "binary-result"])
@pytest.mark.parametrize("placeholder", ["%t", "%b"], ids=["text-params", "binary-params"])
@pytest.mark.parametrize(("sql", "params"), CASES, ids=[_key(*c) for c in CASES])
def test_same_as_postgresql(connections, sql, params, placeholder, result_binary, request):
    reason = DIVERGENT.get(_key(sql, params))
    if reason:
        request.applymarker(pytest.mark.xfail(reason=reason, strict=True))
    ours, theirs = connections
    statement = sql.replace("%s", placeholder)
    expected = _outcome(theirs, statement, params, result_binary)
    assert _outcome(ours, statement, params, result_binary) == expected


# -- pgjdbc's setters -------------------------------------------------------------------

JAR = Path("/usr/share/java/postgresql.jar")
JDBC_SOURCE = Path(__file__).parent / "java" / "JdbcParameterTypes.java"

#: case name (JdbcParameterTypes.java) -> why it still differs (docs/compatibility.md)
JDBC_DIVERGENT: dict[str, str] = {
    "setFloat times": "pgjdbc declares float4; a DuckDB integer literal takes the other "
                      "operand's type (float4 * 2 is float4), PostgreSQL's is int4, so float8",
    "setTimestamp trunc": "pgjdbc leaves a timestamp's type unspecified; PostgreSQL finds "
                          "date_trunc ambiguous (42725), this server finds none (42883)",
}


def _jdbc_lines(classes: Path, url: str) -> dict[str, str]:
    run = subprocess.run(["java", "-cp", f"{classes}:{JAR}", "JdbcParameterTypes", url],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    return dict(line.split(" |", 1) for line in run.stdout.splitlines())


@pytest.fixture(scope="module")
def jdbc_outcomes(tmp_path_factory, server, pg15_dsn):  # noqa: F811
    if not (shutil.which("javac") and shutil.which("java") and JAR.exists()):
        pytest.fail("needs java, javac and /usr/share/java/postgresql.jar", pytrace=False)
    classes = tmp_path_factory.mktemp("jdbc-params")
    compiled = subprocess.run(["javac", "-encoding", "UTF-8", "-cp", str(JAR), "-d",
                               str(classes), str(JDBC_SOURCE)], capture_output=True, text=True,
                              timeout=300)
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    pg = dict(part.split("=", 1) for part in pg15_dsn.split())
    theirs = _jdbc_lines(classes, f"jdbc:postgresql://{pg['host']}:{pg['port']}/postgres"
                                  "?user=postgres&sslmode=disable")
    ours = _jdbc_lines(classes, f"jdbc:postgresql://127.0.0.1:{server.port}/postgres"
                                "?sslmode=require&user=postgres&password=postgres")
    return ours, theirs


_JDBC_CASES = [line.split('"')[1] for line in JDBC_SOURCE.read_text().splitlines()
               if line.strip().startswith('run(conn, "')]


@pytest.mark.parametrize("case", _JDBC_CASES)
def test_jdbc_setter_same_as_postgresql(jdbc_outcomes, case, request):
    if case in JDBC_DIVERGENT:
        request.applymarker(pytest.mark.xfail(reason=JDBC_DIVERGENT[case], strict=True))
    ours, theirs = jdbc_outcomes
    assert case in theirs, f"JdbcParameterTypes printed nothing for {case}"
    assert ours.get(case) == theirs[case]
