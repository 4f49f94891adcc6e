"""sql.translate: which statements are rewritten, into what, and which are left alone.

What the rewritten text means is checked against PostgreSQL 15 by the differential
corpus (test_differential.py) and the client suites (test_catalog.py); these tests pin
the translator's own decisions: the fast path, the native fallback, column names.
"""

from __future__ import annotations

import re

import duckdb
import pytest
from pglast import keywords

from duckgres_trio.sql import split_statements
from duckgres_trio.sql.lexer import tokenize
from duckgres_trio.sql.translate import DUCKDB_ONLY_KEYWORDS, needs_translation, translate

# the SQL translator: no server, the same in either mode (tests/conftest.py)
pytestmark = pytest.mark.mode_independent


def test_duckdb_only_keywords_are_what_duckdb_reserves_beyond_postgresql():
    reserved = {row[0] for row in duckdb.sql(
        "select keyword_name from duckdb_keywords() "
        "where keyword_category in ('reserved', 'type_function', 'column_name')").fetchall()}
    postgres = (keywords.RESERVED_KEYWORDS | keywords.TYPE_FUNC_NAME_KEYWORDS
                | keywords.COL_NAME_KEYWORDS)
    assert DUCKDB_ONLY_KEYWORDS == reserved - postgres


@pytest.mark.parametrize("sql", [
    "SELECT abalance FROM pgbench_accounts WHERE aid = 42",
    "UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid = 3",
    "INSERT INTO pgbench_history (tid, bid) VALUES (1, 2)",
    "SELECT a, t.b, c AS total FROM t ORDER BY a",
    "select * from t where x = $1",
    "DELETE FROM t WHERE id = 5",
])
def test_plain_statements_take_the_fast_path(sql):
    assert not needs_translation(tokenize(sql))
    (stmt,) = split_statements(sql)
    assert stmt.engine_text == sql and stmt.setup == ()


@pytest.mark.parametrize("sql", [
    "FROM t SELECT a",
    "SUMMARIZE t",
    "SELECT * EXCLUDE (a) FROM t",
    "SELECT a, row_number() OVER () AS r FROM t QUALIFY r = 1",
    "PIVOT t ON a USING sum(b)",
    "SELECT * FROM t ASOF JOIN u USING (k)",
])
def test_duckdb_dialect_goes_through_untouched(sql):
    assert translate(sql).sql == sql


@pytest.mark.parametrize("sql, names", [
    ("select count(*) from t", ["count"]),
    ("select 1, 'a'::text, x::int from t", ["?column?", "text", "x"]),
    ("select lower(a), a + 1, case when a then 1 end from t", ["lower", "?column?", "case"]),
    ("select exists(select 1), array[1], coalesce(a, 1), greatest(1, 2) from t",
     ["exists", "array", "coalesce", "greatest"]),
    ("select (select max(b) from u) from t", ["max"]),
    ("select current_user, current_date", ["current_user", "current_date"]),
    ("select sum(a) as total, b from t group by b", ["total", None]),
])
def test_result_columns_get_postgresqls_names(sql, names):
    text = translate(sql).sql
    tree = __import__("pglast").parse_sql(text)[0].stmt
    assert [t.name for t in tree.targetList] == names


def test_serial_becomes_a_sequence_and_a_default():
    result = translate("create table public.t (id serial primary key, n bigserial)")
    assert result.setup == ("CREATE SEQUENCE IF NOT EXISTS main.t_id_seq",
                            "CREATE SEQUENCE IF NOT EXISTS main.t_n_seq")
    assert "nextval('main.t_id_seq')" in result.sql and "main.t" in result.sql
    assert "serial" not in result.sql.lower()


def test_dropping_several_objects_is_one_statement_each():
    result = translate("drop table a, b, c cascade")
    assert result.setup == ("DROP TABLE a CASCADE", "DROP TABLE b CASCADE")
    assert result.sql == "DROP TABLE c CASCADE"


@pytest.mark.parametrize("sql, expected", [
    ("select * from pg_catalog.pg_class", "FROM pg_compat.main.pg_class"),
    ("select * from pg_class c", "FROM pg_compat.main.pg_class AS c"),
    ("select * from information_schema.tables",
     "FROM pg_compat.information_schema_pg.tables"),
    ("select * from public.t", "FROM main.t"),
    ("select 't'::regclass", "pg_compat.main.regclass_oid('t')"),
    ("select c.oid::regclass from pg_class c", "pg_compat.main.regclass_name(c.oid)"),
    # a select list's reg* value and pg_typeof: (oid, name) for the wire's regtype
    ("select pg_typeof(1) as t", "regtype_value(pg_compat.main.pg_typeof_oid(typeof(1)), "
     "pg_compat.main.pg_typeof_name(typeof(1))) AS t"),
    ("select c.oid::regclass::oid from pg_class c", "SELECT CAST(c.oid AS uinteger)"),
    ("select 1 where pg_typeof(1) = 'int4'::regtype",
     "pg_typeof_oid(typeof(1)) = pg_compat.main.regtype_oid('int4')"),
    ("select 1.50::numeric", "numeric_scaled(CAST(1.50 AS numeric(38, 10)), 2)"),
    ("select 1.5::numeric * 2.25", "numeric_scaled(CAST(1.5 AS numeric(38, 10)) * 2.25, 3)"),
    ("select a ~ 'x' from t", "regexp_matches(a, 'x')"),
    ("select a !~* 'y' from t", "NOT regexp_matches(a, 'y', 'i')"),
    ("select a from t where a like 'x!%' escape '!'", "pg_compat.main.pg_like(a, 'x!%', '!')"),
    ("select a from t where a like 'x\\_'", "pg_compat.main.pg_like(a, 'x\\_', '\\')"),
    ("select a from t where a !~~* b", "NOT pg_compat.main.pg_ilike(a, b, '\\')"),
    ("select a similar to 'b%' from t", "regexp_full_match(a, '^(?:b.*)$')"),
    ("select a similar to b from t",
     "regexp_full_match(a, pg_compat.main.similar_to_regex(b))"),
    ("select 1 / 0", "pg_compat.main.div(1, 0)"),
    ("select d + interval '3' month from t", "CAST('3 month' AS interval)"),
    ("select interval '2' hour to minute", "CAST('2 minute' AS interval)"),
    ("select interval '1 day' day", "CAST('1 day' AS interval)"),
    ("select '\\xff00'::bytea", "unhex('ff00')"),
    ("select to_char(d, 'YYYY-MM-DD') from t", "strftime(d, '%Y-%m-%d')"),
    ("select a from t for update", "SELECT a FROM t"),
    ("select a from t for no key update nowait", "SELECT a FROM t"),
    ("create table t (a int) with (fillfactor = 90)", "CREATE TABLE t (a int4)"),
    ("select \"at\", map from t", 'SELECT "at", "map" FROM t'),
])
def test_rewrites(sql, expected):
    assert expected in translate(sql).sql


def test_a_parameter_cast_to_oid_array_is_announced_as_oid_array():
    (stmt,) = split_statements("select * from pg_type where oid = any($1::oid[])")
    assert stmt.param_types == ((1, 1028),)


def test_a_locking_clause_is_noticed_by_the_fast_path():
    (stmt,) = split_statements("SELECT abalance FROM pgbench_accounts WHERE aid = 1 FOR UPDATE")
    assert "FOR UPDATE" not in stmt.engine_text


def test_a_statement_nobody_can_rewrite_is_left_alone():
    sql = "select a, b from t where a = 1 order by b"
    assert translate(sql).sql == sql


@pytest.mark.parametrize("sql", ["select name, tid from t", "insert into t (name, xid) values (1, 2)"])
def test_columns_named_like_types_take_the_fast_path(sql):
    assert not needs_translation(tokenize(sql))


def test_a_cast_to_a_type_duckdb_lacks_is_translated():
    assert needs_translation(tokenize("select x::name from t"))
    assert "CAST(x AS varchar)" in translate("select x::name from t").sql


def test_a_declared_length_becomes_a_check_that_names_the_type():
    """varchar(n) / char(n) columns keep their length in a CHECK (docs/architecture.md,
    *Declared types*); arrays, unbounded varchar and text get none. The statement is
    visited more than once (SERIAL): the CHECK is added once."""
    sql = translate('create table t (id serial, "A b" varchar(40), c char, d char(3)[], '
                    'e varchar, f text)').sql
    assert sql.count("CHECK") == 2
    assert "\"A b\" varchar(40) CHECK (CASE WHEN system.main.strlen(\"A b\") <= 40 THEN TRUE " \
           "WHEN system.main.length(\"A b\") <= 40 THEN TRUE " \
           "ELSE system.main.regexp_full_match(system.main.substring(\"A b\", 41), ' *') END " \
           "OR 'duckgres_typmod:varchar(40)' IS NULL)" in sql
    assert "c bpchar(1) CHECK (CASE WHEN system.main.strlen(c) <= 1 THEN TRUE " \
           "WHEN system.main.length(c) <= 1 THEN TRUE " \
           "ELSE system.main.regexp_full_match(system.main.substring(c, 2), ' *') END " \
           "OR 'duckgres_typmod:bpchar(1)' IS NULL)" in sql


def test_a_declared_length_check_calls_only_qualified_functions():
    """DuckDB 1.5.5 replays a CHECK from its WAL only if each function in it is named
    system.main.f (tests/test_declared_types.py::test_a_crash_after_alter_table_recovers)."""
    sql = translate("create table t (a varchar(3), b char(2))").sql
    calls = re.findall(r"([\w.]+)\(", sql)
    assert {c for c in calls if c not in ("varchar", "bpchar")} == {
        "system.main.strlen", "system.main.length", "system.main.regexp_full_match",
        "system.main.substring"}


@pytest.mark.parametrize("sql", [
    "create table t (a varchar(10))", "create table t (a character varying(10))",
    "create table t (a char(2))", "select 'abc'::varchar(2) as v",
    "select cast(x as character(2)) as v from t", "create table t (a time(6))",
])
def test_declared_lengths_and_precisions_leave_the_fast_path(sql):
    assert needs_translation(tokenize(sql))


@pytest.mark.parametrize("sql, expected", [
    ("create table t (a timestamp(6) with time zone, b time(6), c time(6) with time zone)",
     "CREATE TABLE t (a timestamptz, b time, c timetz)"),
    ("select now()::timestamptz(6) as x", "CAST(now() AS timestamptz)"),
    ("create table t (a timestamptz(0))", "timestamptz(0)"),  # refused by DuckDB: 0A000
    ("create table t (a timestamp(3))", "timestamp(3)"),  # DuckDB's TIMESTAMP_MS
])
def test_only_the_microsecond_precision_is_dropped(sql, expected):
    assert expected in translate(sql).sql
@pytest.mark.parametrize("sql", [
    "select format('{} and {}', 1, 2)",   # DuckDB's own format(): no % in the template
    "select format('%*s', 5, 'a')",       # a width from an argument: not read here
    "select format('%s %s', 'only one')",  # too few arguments: PostgreSQL's error, DuckDB's
])
def test_format_templates_this_cannot_read_stay_for_duckdb(sql):
    assert "format(" in translate(sql).sql


@pytest.mark.parametrize("sql, text", [
    ("select null", True),
    ("select null as x from t", True),
    ("with c as (select null as r) select r from c", True),
    ("select null union all select 1", False),   # the set operation types it
    ("insert into t select null", False),        # the target column types it
    ("select 1 in (select null)", False),
])
def test_an_untyped_null_column_is_text_where_postgresql_resolves_it(sql, text):
    assert ("CAST(NULL AS text)" in translate(sql).sql) is text


def test_format_with_an_alias_leaves_the_fast_path():
    """A plain select list with an alias skips the parser unless a word calls for it:
    DuckDB's format() would print a PostgreSQL template unchanged."""
    sql = "select format('%s', x) as a from t"
    assert needs_translation(tokenize(sql))
    assert "format(" not in translate(sql).sql
