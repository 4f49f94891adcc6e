"""PostgreSQL's array syntax, against PostgreSQL 15.

Array literals ('{1,2}'::int[], nested, quoted and NULL elements, explicit bounds),
arrays cast to text ({a,b}, not DuckDB's [a, b]) and array parameters in text form
(= ANY($1), <> ALL($1), empty arrays). Every statement runs on both servers, ours and
the pg15 cluster shared by the module; each test compares the outcome: result column
names, type OIDs and values, or the SQLSTATE and message of the error, in the simple
protocol (text results), the extended protocol with binary results, and prepared;
pgjdbc's setArray / getArray through tests/java/JdbcArrays.java.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import psycopg
import pytest

from tests.conftest import ServerProcess
from tests.support.differential import outcome
from tests.support.pg15 import pg15_dsn  # noqa: F401 - pytest fixture

DATABASE = "array_syntax"


@pytest.fixture(scope="module")
def conns(tmp_path_factory, pg15_dsn):  # noqa: F811
    """One connection to PostgreSQL and one to ours, each on a fresh database with
    table arr, for the whole module."""
    with psycopg.connect(pg15_dsn, autocommit=True) as conn:
        conn.execute(f"drop database if exists {DATABASE}")
        conn.execute(f"create database {DATABASE}")
    ours = ServerProcess(tmp_path_factory.mktemp("arrays") / "data").start()
    dsns = (pg15_dsn.replace("dbname=postgres", f"dbname={DATABASE}"),
            ours.dsn(dbname=DATABASE))
    pair = [psycopg.connect(dsn, autocommit=True) for dsn in dsns]
    for conn in pair:
        conn.execute("create table arr (id int, i int[], t text[], b boolean[])")
        conn.execute("insert into arr values (1, '{1,2}'::int[], '{a,\"b c\"}'::text[], "
                     "'{t,f}'::bool[]), (2, '{}'::int[], '{NULL,\"NULL\"}'::text[], "
                     "'{}'::bool[]), (3, NULL, NULL, NULL)")
    yield pair
    for conn in pair:
        conn.close()
    ours.stop()


def _outcome(conn, sql, params=None, **how) -> tuple:
    return outcome(conn, sql, params, detail=True, **how)


def _agree(conns, sql, params=None, **how) -> None:
    theirs, ours = (_outcome(conn, sql, params, **how) for conn in conns)
    assert ours == theirs


#: simple protocol + text results; extended + binary results; a prepared statement
MODES = {"simple": {}, "binary": {"binary": True}, "prepared": {"prepare": True}}

LITERALS = [
    "select '{10,20}'::int[] as a",
    "select '{10,20}'::int2[] as a, '{10,20}'::int8[] as b, '{1.5,-2}'::float8[] as c",
    "select '{1.50,2}'::numeric[] as a, '{1.5}'::float4[] as b",
    "select '{{1,2},{3,4}}'::int[][] as a",
    "select '{{1,2},{3,4}}'::int[] as a",
    "select cast('{a,b}' as text[]) as a",
    "select '{\"a,b\",\"c\\\"d\",NULL,\"NULL\"}'::text[] as a",
    "select '{ 1 , 2 ,NULL}'::int[] as a",
    "select '{  a b  , c }'::text[] as a",
    "select '{}'::int[] as a, '{}'::text[] as b",
    "select '{t,f,true,false,NULL}'::bool[] as a",
    "select '{2024-01-02,2023-12-31}'::date[] as a",
    "select '{\"2024-01-02 03:04:05\"}'::timestamp[] as a",
    "select '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}'::uuid[] as a",
    "select '{\"\\\\x0102\"}'::bytea[] as a",
    "select array['{1,2}'] as a",
    "select '{1,2}'::int[] = array[1,2] as a",
    "select ('{10,20,30}'::int[])[2] as a",
    "select 2 = any('{1,2}'::int[]) as a, 3 <> all('{1,2}'::int[]) as b",
    "select '{1,2}'::int[][] as a, '{{{1}},{{2}}}'::int[] as b",
    "select '{\"\\\\x0102\",NULL}'::bytea[] as a",
    "select '{1.5,-Infinity,1e-3}'::float4[] as a",
    "select '{\"2024-01-02 03:04:05+00\"}'::timestamptz[] as a",
    "select '{\"{\\\"a\\\": 1}\"}'::json[] as a",
    "select array_length('{{1,2,3},{4,5,6}}'::int[], 1) as a",
    "select i, t, b from arr order by id",
    "select cardinality('{1,2,3}'::int[]) as a",
]

MALFORMED = [
    "select '{1,2'::int[] as a",
    "select '1,2'::int[] as a",
    "select '{{1,2},{3}}'::int[] as a",
    "select '{1,{2}}'::int[] as a",
    "select '{\"a}'::text[] as a",
    "select '{a,b}'::int[] as a",
    "select '{1,2}}'::int[] as a",
    "select '[1:2]{1}'::int[] as a",
    "select '[1:3]={1,2}'::int[] as a",
    "select '{1,2} x'::int[] as a",
    "select '{{1},2}'::int[] as a",
    "select '{,}'::int[] as a",
    "select '[2:1]={}'::int[] as a",
    "select '{1,2'::text[] as a",
    "select cast('{\"x}' as text[]) as a",
    "select '{{{{{{{1}}}}}}}'::int[] as a",
]

#: explicit lower bounds of 1 are the default ones
BOUNDS = [
    "select '[1:2]={10,20}'::int[] as a",
    "select '[1:2][1:1]={{10},{20}}'::int[] as a",
]

#: what this server does differently, and why (docs/compatibility.md)
KNOWN = [
    # DuckDB lists start at 1: any other lower bound is refused (0A000), not dropped
    "select '[0:1]={10,20}'::int[] as a",
    # DuckDB has one string type: varchar[] is announced as text[] (1009, not 1015)
    "select '{a,b}'::varchar[] as a",
    "select cast(array['x'] as varchar) as a",
    # numeric keeps DuckDB's scale: 2 in a numeric(2,1) array is 2.0
    "select array[1.5,2]::text as a",
    # an untyped string is not read as the array the other operand calls for
    "select 3 <> all('{1,2}') as a",
]

TO_TEXT = [
    "select array[1,2]::text as a",
    "select array['a','b']::text as a",
    "select array['a b', null]::text as a",
    "select array[array[1,2],array[3,4]]::text as a",
    "select array[true,false]::text as a",
    "select array['a,b','c\"d','','NULL', 'x\\y']::text as a",
    "select array[]::int[]::text as a",
    "select array[1.5,2.5]::text as a, array[1e20::float8, 0.1]::text as b",
    "select 'x' || array[1,2]::text as a",
    "select array_to_string(array[1,2], ',') as a",
    "select format('%s|%s', array[1,2], array['a b'])",
    "select id, i::text as i, t::text as t, b::text as b from arr order by id",
    "select cast(array['x'] as text) as a, cast(array[null, 'y'] as text) as b",
    "select (select array_agg(id order by id) from arr)::text as a",
    "select array(select id from arr order by id)::text as a",
    "select t::text || '!' as a, 1::text as b, null::int[]::text as c from arr order by id",
    "select '{\"a b\",NULL}'::text[]::text as a",
    "select array['2024-01-02'::date]::text as a",
]

ANY_PARAMS = [
    ("select id from arr where id = any(%s) order by id", [[1, 2]]),
    ("select id from arr where id = any(%s) order by id", [[]]),
    ("select id from arr where id <> all(%s) order by id", [[1]]),
    ("select id from arr where id <> all(%s) order by id", [[]]),
    ("select 'a' = any(%s) as a", [["a", "b"]]),
    ("select 'a' = any(%s) as a", [["x,y", 'q"r', None]]),
    ("select %s::text[] as a", [["a b", None, "NULL"]]),
    ("select %s::int[] as a", [[1, None, 3]]),
    ("select %s::bool[] as a", [[True, False]]),
    ("select %s::float8[] as a", [[1.5, -2.0]]),
    ("select %s::bigint[] as a", [[2**40]]),
    ("select id, id = any(%s) as m from arr order by id", [[1, None]]),
    ("select id, id <> all(%s) as m from arr order by id", [[1, None]]),
    ("select id from arr where id = any(%s::int[]) order by id", [[2]]),
    ("select id from arr where id = any(%s::int[]) order by id", [[]]),
    ("select id from arr where id <> all(%s::int[]) order by id", [[]]),
    # bytea elements go to DuckDB's list cast as \xHH escapes (engine/literals.py)
    ("select %s::bytea[] as a", [[b"\x01\x02", b"\\", b"", None]]),
]

#: parameters this server binds differently (docs/compatibility.md)
KNOWN_PARAMS = [
    # an array parameter cast to text is DuckDB's list text, not array_out's
    ("select %s::text as a", [[1, 2]]),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("sql", LITERALS)
def test_literals(conns, sql, mode):
    _agree(conns, sql, **MODES[mode])


@pytest.mark.parametrize("sql", MALFORMED)
def test_malformed_literals(conns, sql):
    _agree(conns, sql)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("sql", TO_TEXT)
def test_cast_to_text(conns, sql, mode):
    _agree(conns, sql, **MODES[mode])


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("sql,params", ANY_PARAMS)
def test_array_parameters(conns, sql, params, mode):
    _agree(conns, sql, params, **MODES[mode])


@pytest.mark.parametrize("sql", BOUNDS)
def test_explicit_bounds(conns, sql):
    _agree(conns, sql)


@pytest.mark.xfail(strict=True, reason="known difference, see docs/compatibility.md")
@pytest.mark.parametrize("sql", KNOWN)
def test_known_differences(conns, sql):
    _agree(conns, sql)


@pytest.mark.xfail(strict=True, reason="known difference, see docs/compatibility.md")
@pytest.mark.parametrize("sql,params", KNOWN_PARAMS)
def test_known_parameter_differences(conns, sql, params):
    _agree(conns, sql, params)


def test_bounds_refused_cleanly(conns):
    """A lower bound other than 1 is a clear 0A000 and the session goes on."""
    ours = conns[1]
    outcome = _outcome(ours, "select '[0:1]={10,20}'::int[] as a")
    assert outcome[:3] == ("error", "0A000", "array lower bounds other than 1 are not supported")
    _agree(conns, "select 1 as a")


JAR = Path("/usr/share/java/postgresql.jar")
JDBC_SOURCE = Path(__file__).parent / "java" / "JdbcArrays.java"


def _jdbc_lines(classes: Path, url: str) -> dict[str, str]:
    proc = subprocess.run(["java", "-cp", f"{classes}:{JAR}", "JdbcArrays", url],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return dict(line.split(" ", 1) for line in proc.stdout.splitlines())


@pytest.fixture(scope="module")
def jdbc_outcomes(conns, tmp_path_factory):
    """(PostgreSQL's, ours): what pgjdbc read for each check of JdbcArrays."""
    javac = shutil.which("javac")
    if not (javac and shutil.which("java") and JAR.exists()):
        pytest.fail("needs java, javac and /usr/share/java/postgresql.jar", pytrace=False)
    classes = tmp_path_factory.mktemp("jdbc-arrays")
    compiled = subprocess.run([javac, "-encoding", "UTF-8", "-cp", str(JAR), "-d", str(classes),
                               str(JDBC_SOURCE)], capture_output=True, text=True, timeout=300)
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    theirs, ours = (conn.info for conn in conns)
    return (_jdbc_lines(classes, f"jdbc:postgresql://{theirs.host}:{theirs.port}/{DATABASE}"
                        "?user=postgres&sslmode=disable"),
            _jdbc_lines(classes, f"jdbc:postgresql://127.0.0.1:{ours.port}/{DATABASE}"
                        "?sslmode=require&user=postgres&password=postgres"))


JDBC_CHECKS = ["any_int", "any_empty", "all_int8", "any_text", "text_param", "bool_param",
               "float_param", "get_literal", "get_nested", "get_text"]


@pytest.mark.parametrize("check", JDBC_CHECKS)
def test_jdbc_arrays(jdbc_outcomes, check):
    theirs, ours = jdbc_outcomes
    assert ours[check] == theirs[check], check
