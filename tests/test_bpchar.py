"""char(n) (bpchar) semantics against PostgreSQL 15 (sql/bpchar.py, frontend/bpchar.py).

Values reach char(n) columns by every write path (INSERT VALUES and SELECT, UPDATE,
upsert, COPY FROM STDIN in text and binary, parameters), with and without trailing
blanks; then comparisons, grouping, joins, lengths, concatenation, patterns and casts
must read as PostgreSQL's, through psycopg's simple and extended protocol, text and
binary results (rows and the result columns' type OIDs), and pgjdbc. What still differs is a strict
xfail here and a line in docs/compatibility.md.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import psycopg
import pytest

from tests.support.differential import PROTOCOLS, outcome, schema_on_both
from tests.support.jdbc import JAR, compile_java, jdbc_url
from tests.support.pg15 import pg15_dsn  # noqa: F401 - pytest fixture

SCHEMA = [
    "create table tc (id integer primary key, c char(3), v varchar(5), t text)",
    "create table td (k char(5), label text)",
    "insert into tc values (1, 'ab', 'ab', 'ab'), (2, 'ab ', 'ab ', 'ab '), (3, 'a', 'a', 'a'), "
    "(4, null, null, null), (5, 'ab  ', 'x', 'x'), (6, '', '', ''), (7, '   ', ' ', ' ')",
    "insert into tc (id, c) select 10 + i, 'q' || repeat(' ', i) from generate_series(0, 3) i",
    "insert into tc (c, id) select 'u ', 20 union all select 'u', 21",
    "update tc set c = 'zz    ' where id = 3",
    "insert into tc (id, c) values (5, 'up ') on conflict (id) do update set c = excluded.c",
    "insert into tc (id, c) values (6, 'x') on conflict (id) do update set c = 'w   '",
    "insert into td values ('ab', 'two'), ('a   ', 'one'), ('zz', 'zed')",
    "create table tx (id2 integer, c text)",
    "insert into tx values (1, 'ab '), (2, 'ab'), (3, 'zz')",
    "create view vc as select id, c, c as again, v from tc",
    "create view vv (ident, code) as select id, c from vc where id < 20",
]

READS = [
    "select id, c from tc order by id",
    "select id, c || '|', length(c), char_length(c), octet_length(c), c::text, "
    "upper(c), concat(c, '|') from tc order by id",
    "select id from tc where c = 'ab   ' order by id",
    "select id from tc where c = 'ab' order by id",
    "select id from tc where c <> 'ab ' order by id",
    "select id from tc where c < 'ab!' order by id",
    "select id from tc where c = 'ab '::text order by id",
    "select id from tc where c in ('q ', 'u', 'zz ') order by id",
    "select id from tc where c between 'a ' and 'q  ' order by id",
    "select id from tc where c = v order by id",
    "select id from tc where c = t order by id",
    "select c, count(*) from tc group by c order by c",
    "select distinct c from tc order by c",
    "select c from tc order by c desc nulls last, id",
    "select id, label from tc join td on tc.c = td.k order by id",
    "select x.id from tc x where x.c = 'up  ' order by 1",
    "select id, c like 'ab', c like 'ab%', c like '%b', c like 'q_%', c not like 'u', "
    "c ilike 'AB ' from tc order by id",
    "select id from tc where c ~ 'b $' order by id",
    "select id from tc where c similar to 'ab' order by id",
    # through a view, a view of a view, a derived table (Metabase's shape), a CTE
    "select id, c, again, c = 'ab ' from vc where c in ('ab  ', 'q') order by id",
    "select * from vv where code = 'zz ' or code like 'a_ ' order by 1",
    'select "source"."c" as "c", count(*) as "count" from (select * from tc) as "source" '
    'where "source"."c" <> \'q \' group by "source"."c" order by "source"."c" asc',
    "select s.k, s.id from (select c as k, id from tc where id < 10) s "
    "where s.k = 'ab ' order by 2",
    "with w as (select c, id from tc) select w.c, max(w.c) over () from w "
    "where w.c = 'a ' or w.c = 'zz ' order by id",
    "select min(c), max(c), max(c) || '|' from tc",
    # a text column of the same name: compared as text, in its own query or joined
    "select id from tc where id in (select id2 from tx where c = 'ab ') order by id",
    "select id, tx.c from tc join tx on tx.id2 = tc.id where tx.c = 'ab ' order by id",
    "select id from tc where exists (select 1 from tx where tx.c = tc.c) order by id",
    "select id from tc t where c = (select max(c) from tc where id < t.id) order by id",
    "select 'ab'::char(3) as x, cast('abcdef' as char(3)) as y, 'x'::character as z, "
    "'ab'::char(3) = 'ab  '::char(3) as e, length('a  '::char(3)) as l, "
    "'ab '::char(4) || '|' as cat",
]


@pytest.fixture(scope="module")
def both(tmp_path_factory, pg15_dsn):  # noqa: F811
    """(our DSN, PostgreSQL's DSN), each holding SCHEMA, then COPY's rows."""
    with schema_on_both(tmp_path_factory, pg15_dsn, "bpchar_test", SCHEMA) as dsns:
        for dsn in dsns:
            with psycopg.connect(dsn, autocommit=True) as conn:
                with conn.cursor().copy("copy tc (id, c) from stdin") as copy:
                    copy.write("30\tc  \n31\tc\n")
                with conn.cursor().copy("copy tc (id, c) from stdin (format binary)") as copy:
                    copy.set_types(["int4", "text"])
                    copy.write_row((32, "cc "))
        yield dsns


def _read(dsn: str, sql: str, params=None, protocol: str = "simple-text") -> tuple:
    binary, prepare = PROTOCOLS[protocol]
    with psycopg.connect(dsn, autocommit=True) as conn:
        return outcome(conn, sql, params, binary=binary, prepare=prepare)


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("sql", READS)
def test_reads(both, sql, protocol):
    ours, theirs = (_read(dsn, sql, protocol=protocol) for dsn in both)
    assert ours == theirs
    assert theirs[0] == "rows"


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("value", ["ab", "ab ", "ab    ", "q", "zz"])
def test_parameters_typed_from_the_column(both, protocol, value):
    """``c = %s``: psycopg sends a str untyped in text and as text in binary, which
    PostgreSQL compares as bpchar and as text respectively."""
    sql = "select id from tc where c = %s order by id"
    ours, theirs = (_read(dsn, sql, (value,), protocol) for dsn in both)
    assert ours == theirs


def test_copy_rows_are_read_as_postgresql_reads_them(both):
    sql = "select id, c, c || '|', length(c) from tc where id >= 30 order by id"
    ours, theirs = (_read(dsn, sql) for dsn in both)
    assert ours == theirs


@pytest.mark.parametrize("statement", [
    "copy tc to stdout",
    "copy tc (c, id) to stdout (format csv, header)",
    "copy (select * from tc order by id) to stdout (format binary)",
    "copy (select id, c, c || '|' from tc where id < 30 order by id) to stdout",
    "copy (select s.c from (select c, id from tc) s order by s.id) to stdout (format csv)",
])
def test_copy_to_sends_the_padded_values(both, statement):
    """COPY ... TO sends a char(n) column blank-padded, as PostgreSQL stores it (what
    pg_dump and psql's \\copy read back)."""
    streams = []
    for dsn in both:
        with psycopg.connect(dsn, autocommit=True) as conn:
            with conn.cursor().copy(statement) as copy:
                data = b"".join(bytes(chunk) for chunk in copy)
        streams.append(data if "order by" in statement else sorted(data.splitlines()))
    assert streams[0] == streams[1]


@pytest.mark.parametrize("statement", [
    "insert into tc (id, c) values (90, 'abcd')",
    "insert into tc (id, c) values (91, 'abc      ')",
    "update tc set c = 'wxyz' where id = 1",
    "insert into tc (id, c) select 92, 'abcd '",
])
def test_the_length_is_still_enforced(both, statement):
    """22001 for a value longer than n, except by trailing blanks (PostgreSQL's rule)."""
    results = []
    for dsn in both:
        with psycopg.connect(dsn) as conn:  # rolled back: the table stays as it was
            results.append(outcome(conn, statement))
            if results[-1][0] == "ok":
                results.append(outcome(conn, "select c || '|' from tc where id = 91"))
            conn.rollback()
    assert results[:len(results) // 2] == results[len(results) // 2:]


@pytest.mark.parametrize("value", ["ab", "ab ", "abc  "])
def test_inserted_parameters_are_stored_as_postgresql_stores_them(both, value):
    results = []
    for dsn in both:
        with psycopg.connect(dsn) as conn:
            for binary in (False, True):
                conn.cursor(binary=binary).execute("insert into tc (id, c) values (%s, %s)",
                                                   (95 + binary, value))
            results.append(outcome(conn, "select id, c || '|', c = 'ab' from tc "
                                         "where id >= 95 order by id"))
            conn.rollback()
    assert results[0] == results[1]


CASTS = [
    "select 'ab'::char(3) like 'ab' as a, 'ab'::char(3) like 'ab %' as b, "
    "'ab'::character(4) ~ 'b  $' as c, octet_length('ab'::char(3)) as d",
    "select 'ab'::char(3) = 'ab   ' as a, 'a'::char(2) in ('a ', 'b') as b, "
    "'a '::char(3) = 'a '::text as c, 'a'::char(3) < 'a!' as d",
    "select cast(null as char(3)) as a, ''::char(2) as b, 'é'::char(3) as c",
]


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("sql", CASTS)
def test_casts_to_char(both, sql, protocol):
    ours, theirs = (_read(dsn, sql, protocol=protocol) for dsn in both)
    assert ours == theirs


JAVA = Path(__file__).parent / "java" / "JdbcBpchar.java"


def test_pgjdbc(both, tmp_path):
    """pgjdbc's setString parameters (varchar: compared as bpchar), getString of char(n)
    columns and casts, the columns' type names."""
    classes = compile_java(JAVA, tmp_path)

    def run(dsn: str) -> list[str]:
        out = subprocess.run(["java", "-cp", f"{JAR}:{classes}", "JdbcBpchar", jdbc_url(dsn)],
                             capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stdout + out.stderr
        return out.stdout.splitlines()

    ours, theirs = (run(dsn) for dsn in both)
    assert ours == theirs and any("row" in line for line in theirs)


@pytest.mark.parametrize("sql", [
    "select id from tc where c = $1",
    "select id from tc x where $1 = x.c or c in ($2, 'x')",
    "insert into tc (id, c) values ($1, $2)",
    "update tc set c = $1 where id = $2",
    "select $1::char(3)",
])
def test_parameter_types(both, sql):
    """ParameterDescription: a parameter compared with or assigned to a char(n) column,
    or cast to char(n), is bpchar (1042), as PostgreSQL infers it."""
    found = []
    for dsn in both:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.pgconn.prepare(b"", sql.encode())
            described = conn.pgconn.describe_prepared(b"")
            found.append([described.param_type(i) for i in range(described.nparams)])
    assert found[0] == found[1]


@pytest.mark.parametrize("statement", [
    "delete from tc where c = 'ab   '",
    "update tc set v = 'hit' where c in ('q  ', 'zz')",
    "delete from tc where id in (select t.id from tc t join td on t.c = td.k)",
])
def test_rows_a_write_finds(both, statement):
    results = []
    for dsn in both:
        with psycopg.connect(dsn) as conn:
            results.append(outcome(conn, statement))
            conn.rollback()
    assert results[0] == results[1]


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("statement", [
    "insert into tc (id, c) values (98, 'ab') returning c, id, c || '|'",
    "insert into td values ('x ', 'new') returning *",
    "update tc set c = 'y' where id = 1 returning id, c, 'a'::char(2)",
    "delete from td where label = 'two' returning *",
])
def test_returning_pads(both, statement, protocol):
    binary, prepare = PROTOCOLS[protocol]
    results = []
    for dsn in both:
        with psycopg.connect(dsn) as conn:
            results.append(outcome(conn, statement, binary=binary, prepare=prepare))
            conn.rollback()
    assert results[0] == results[1]


def test_the_rewrite():
    """sql/bpchar.rewrite alone: what each statement becomes."""
    from duckgres_trio.sql.bpchar import rewrite

    declared = (("t", (("c", "bpchar", 3, 2), ("v", "varchar", 5, 3))),)
    cases = {
        "insert into t values (1, 'ab  ', 'v '), (2, $1, $2)":
            "INSERT INTO t VALUES (1, 'ab', 'v '), (2, rtrim(CAST($1 AS bpchar), ' '), $2)",
        "update t set c = v where c like 'a%'":
            "UPDATE t SET c = rtrim(v, ' ') WHERE rpad(c, 3, ' ') LIKE 'a%'",
        "select octet_length(c) from t x where x.c = 'a ' and c <> $1::text":
            "SELECT octet_length(rpad(c, 3, ' ')) FROM t AS x WHERE x.c = 'a' "
            "AND c <> CAST($1 AS text)",
        "with t as (select 'a ' c) select c from t where c = 'a '": None,
    }
    for sql, expected in cases.items():
        assert rewrite(sql, declared) == expected, sql
