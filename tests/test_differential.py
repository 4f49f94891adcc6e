"""The differential corpus (tests/corpus/differential.sql) against PostgreSQL 15.

Both servers get the same setup, then every corpus statement runs in order on one
connection to each (some statements change the data the next ones read). Each test
compares one statement's outcome: the result column names, their type OIDs and the
values, or, when both fail, the SQLSTATE class. Statements that legitimately differ are
in DIVERGENT with the reason; they are strict expected failures, so one that starts to
agree fails the suite until its entry (and its line in docs/compatibility.md) goes.
"""

from __future__ import annotations

import math
from pathlib import Path

import psycopg
import pytest

from tests.conftest import ServerProcess
from tests.support.pg15 import fresh_database, pg15_dsn  # noqa: F401 - pytest fixture

CORPUS = Path(__file__).parent / "corpus" / "differential.sql"


def _load() -> tuple[list[str], list[str]]:
    setup: list[str] = []
    corpus: list[str] = []
    target = setup
    current: list[str] = []
    for line in CORPUS.read_text().splitlines():
        if line.strip() == "-- corpus":
            target = corpus
            continue
        if line.startswith("--") or not line.strip():
            continue
        if line.strip() == ";":
            target.append("\n".join(current))
            current = []
        else:
            current.append(line)
    if current:
        target.append("\n".join(current))
    return setup, corpus


SETUP, STATEMENTS = _load()

_NAME = "name and \"char\" columns are sent as text (OID 25), not name (19) / \"char\" (18)"
_BIGINT = "DuckDB types it bigint where PostgreSQL says integer; the values agree"

#: Statement -> why this server's answer differs from PostgreSQL's (docs/compatibility.md).
DIVERGENT: dict[str, str] = {
    "select 7 / 2, 7.0 / 2, -7 / 2":
        "numeric / integer is double precision in DuckDB, numeric in PostgreSQL",
    "select sign(-3), sign(0)": "sign() of an integer is an integer in DuckDB, double in PostgreSQL",
    "select salary * 2, salary / 3 from emp where id = 1":
        "numeric / integer is double precision in DuckDB, numeric in PostgreSQL",
    "select date '2024-03-01' - date '2024-02-01'": _BIGINT,
    "select extract(year from hired), extract(month from hired) from emp order by id":
        "EXTRACT is bigint in DuckDB, numeric in PostgreSQL 14+",
    "select date_trunc('month', hired) from emp order by id":
        "date_trunc of a date is a timestamp in DuckDB, timestamptz in PostgreSQL",
    "with recursive r(n) as (select 1 union all select n + 1 from r where n < 5) select sum(n) from r":
        "sum(integer) is a 128-bit integer (numeric) in DuckDB, bigint in PostgreSQL",
    "select stddev_samp(rating), var_samp(rating) from emp":
        "floating-point sums in another order: the last digit differs",
    "select percentile_cont(0.5) within group (order by salary) from emp":
        "percentile_cont of numeric is numeric in DuckDB, double in PostgreSQL",
    "select array[1, 2, 3] || 4": "array || element is not translated (DuckDB: list_append)",
    "select * from generate_series(1, 5)": _BIGINT + " (in FROM)",
    "select * from generate_series(1, 10, 3) as g(n)": _BIGINT + " (in FROM)",
    "select current_setting('server_version_num')":
        "this server reports 150000 (15.0), the reference cluster its own minor version",
    "select current_schema()": _NAME,
    "select relname from pg_class where relname in ('emp', 'dept') order by relname": _NAME,
    "select relkind from pg_class where relname = 'emp'": _NAME,
    "select attname, atttypid from pg_attribute where attrelid = 'emp'::regclass "
    "and attnum > 0 order by attnum": _NAME,
    "select nspname from pg_namespace where nspname = 'public'": _NAME,
    "select typname from pg_type where oid = 23": _NAME,
    "select conname, contype from pg_constraint where conrelid = 'emp'::regclass "
    "order by conname": _NAME,
    "select table_name from information_schema.tables where table_schema = 'public' "
    "order by table_name": _NAME,
    "select column_name, data_type from information_schema.columns where "
    "table_name = 'dept' order by ordinal_position": _NAME,
    "select schema_name from information_schema.schemata where schema_name = 'public'": _NAME,
    "select tablename from pg_tables where schemaname = 'public' order by tablename": _NAME,
    "select indexname from pg_indexes where tablename = 'emp'": _NAME,
    "select 1.0 / 3": "numeric / integer is double precision in DuckDB, numeric in PostgreSQL",
    "select 'a' || null": "an untyped NULL is integer in DuckDB, text in PostgreSQL",
    "select extract(dow from date '2024-05-17')":
        "EXTRACT is bigint in DuckDB, numeric in PostgreSQL 14+",
    "select extract(epoch from timestamp '2024-01-01 00:00:00')":
        "EXTRACT(epoch) is double in DuckDB, numeric in PostgreSQL 14+",
    "select make_interval(days => 2)": "named arguments of make_interval are not translated",
    "select x, y from generate_series(1, 2) as x, generate_series(1, 2) as y order by x, y":
        _BIGINT + " (in FROM)",
    "select ntile(2) over (order by id) from emp order by id": _BIGINT,
    "select 3.0::real * 2": "real * integer is real in DuckDB, double precision in PostgreSQL",
    "select 'abc'::varchar(2)":
        "varchar(n) is text (OID 25) here; the value is cut to n characters as in PostgreSQL",
}


def _outcome(conn: psycopg.Connection, sql: str) -> tuple:
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            if cur.description is None:
                return ("ok", cur.statusmessage)
            names = [(d.name, d.type_code) for d in cur.description]
            return ("rows", names, [tuple(map(_comparable, row)) for row in cur.fetchall()])
    except psycopg.Error as err:
        return ("error", (err.sqlstate or "")[:2])


def _comparable(value: object) -> object:
    """NaN is not equal to itself; its text is."""
    return "NaN" if isinstance(value, float) and math.isnan(value) else value


def _run_all(dsn: str) -> dict[str, tuple]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        for statement in SETUP:
            conn.execute(statement)
        return {sql: _outcome(conn, sql) for sql in STATEMENTS}


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory, pg15_dsn):  # noqa: F811
    """{statement: (ours, PostgreSQL's)} for the whole corpus."""
    ours = ServerProcess(tmp_path_factory.mktemp("differential") / "data").start()
    try:
        theirs = _run_all(fresh_database(pg15_dsn, "differential_test"))
        mine = _run_all(ours.dsn(dbname="differential_test"))
    finally:
        ours.stop()
    return {sql: (mine[sql], theirs[sql]) for sql in STATEMENTS}


@pytest.mark.parametrize("sql", [
    pytest.param(sql, marks=pytest.mark.xfail(strict=True, reason=DIVERGENT[sql]))
    if sql in DIVERGENT else sql
    for sql in STATEMENTS
])
def test_statement_agrees_with_postgresql(outcomes, sql):
    ours, theirs = outcomes[sql]
    assert ours == theirs
