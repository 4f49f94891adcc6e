"""Declared column types (varchar(n), char(n)) as clients see them, against PostgreSQL 15.

The same tables are created here and in a throwaway PostgreSQL 15 database, our server
is restarted (the declared types must survive it), and then the catalog as psql,
SQLAlchemy, pgjdbc and plain catalog queries read it, the length checks (22001) and the
casts must agree with PostgreSQL. What still differs is a strict xfail here and a line
in docs/compatibility.md.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import psycopg
import pytest
from sqlalchemy import create_engine, inspect

from tests.conftest import ServerProcess
from tests.support.jdbc import JAR, compile_java, jdbc_url
from tests.support.pg15 import fresh_database, pg15_dsn  # noqa: F401 - pytest fixture

SCHEMA = [
    "create table people (id integer primary key, name varchar(40) not null, "
    "code char(3), initial char, bio text, "
    "\"Mixed Case\" character varying(5), grade character(2) default 'A', "
    "checked text check (length(checked) < 5))",
    # renamed and dropped columns, a renamed table: the type follows the column
    "create table renamed (a varchar(7), b integer, c bpchar(4))",
    "alter table renamed rename column a to a2",
    "alter table renamed rename to renamed2",
    "create table dropped (x integer, v varchar(9), w char(2))",
    "alter table dropped drop column x",
    "create table gone (g varchar(3))",
    "drop table gone",
    "create table gone (g integer)",  # same name, other type: nothing left of the first
    "insert into people (id, name, code, initial) values (1, 'Ada', 'abc', 'x')",
]
TABLES = ("people", "renamed2", "dropped", "gone")
IN_TABLES = "(" + ", ".join(f"'{table}'" for table in TABLES) + ")"


def _create(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        for statement in SCHEMA:
            conn.execute(statement)


@pytest.fixture(scope="module")
def both(tmp_path_factory, pg15_dsn):  # noqa: F811
    """(our DSN, PostgreSQL's DSN), each holding SCHEMA in database declared_test; our
    server restarted after creating it."""
    data = tmp_path_factory.mktemp("declared") / "data"
    ours = ServerProcess(data).start()
    theirs = fresh_database(pg15_dsn, "declared_test")
    _create(ours.dsn(dbname="declared_test"))
    _create(theirs)
    assert ours.stop() == 0
    ours = ServerProcess(data).start()
    try:
        yield ours.dsn(dbname="declared_test"), theirs
    finally:
        ours.stop()


#: (binary results, extended protocol): psycopg sends a statement without parameters
#: as a simple Query unless asked to prepare it; binary results need the extended one.
PROTOCOLS = {"simple-text": (False, False), "extended-text": (False, True),
             "extended-binary": (True, True)}


def _rows(dsn: str, sql: str, binary: bool = False, extended: bool = True) -> list[tuple]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        with conn.cursor(binary=binary) as cur:
            cur.execute(sql, prepare=extended or None)
            return cur.fetchall()


def _outcome(dsn: str, statements: list[str], params=(), binary: bool = False,
             extended: bool | None = None) -> tuple:
    """``_run`` on a connection of its own."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        return _run(conn, statements, params, binary, extended)


def _run(conn: psycopg.Connection, statements: list[str], params=(), binary: bool = False,
         extended: bool | None = None) -> tuple:
    """("ok", rows of the last statement) or ("error", SQLSTATE, message); the session
    must survive an error (a SELECT 1 after it). ``extended``: prepare even a statement
    without parameters (psycopg sends those as a simple Query otherwise)."""
    try:
        with conn.cursor(binary=binary) as cur:
            for statement in statements:
                cur.execute(statement, params or None, prepare=extended or None)
            rows = cur.fetchall() if cur.description else cur.statusmessage
        result = ("ok", rows)
    except psycopg.Error as err:
        result = ("error", err.sqlstate, err.diag.message_primary)
    assert conn.execute("select 1").fetchone() == (1,)
    return result


def _each(dsn: str, cases: list, run) -> list:
    """``run(conn, case)`` for every case, on one connection (one per case would make
    the module's run several minutes longer)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        return [run(conn, case) for case in cases]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_pg_attribute_and_format_type(both, protocol):
    sql = ("select c.relname, a.attname, a.atttypid::integer, a.atttypmod, "
           "format_type(a.atttypid, a.atttypmod) from pg_attribute a join pg_class c "
           f"on c.oid = a.attrelid where c.relname in {IN_TABLES} and a.attnum > 0 "
           "and not a.attisdropped order by 1, 2")
    ours, theirs = (_rows(dsn, sql, *PROTOCOLS[protocol]) for dsn in both)
    assert ours == theirs


def test_information_schema_columns(both):
    sql = ("select table_name, column_name, data_type, character_maximum_length, "
           "character_octet_length, udt_name from information_schema.columns "
           f"where table_name in {IN_TABLES} order by 1, 2")
    ours, theirs = (_rows(dsn, sql) for dsn in both)
    assert ours == theirs


def test_length_checks_are_not_constraints(both):
    """The CHECK that keeps a length is not a constraint to clients; the user's is."""
    sql = ("select conname, contype from pg_constraint where conrelid = 'people'::regclass "
           "order by 1")
    checks = ("select constraint_name from information_schema.check_constraints "
              "where check_clause like '%length%'")
    # (key constraints are named as DuckDB names them there: checks only)
    usage = ("select table_name, column_name, constraint_name "
             "from information_schema.constraint_column_usage where table_name = 'people' "
             "and constraint_name like '%check' order by 1, 2, 3",
             "select table_name, constraint_name from information_schema.constraint_table_usage "
             "where table_name = 'people' and constraint_name like '%check'")
    for query in (sql, checks, *usage):
        ours, theirs = (_rows(dsn, query) for dsn in both)
        assert ours == theirs, query


def _psql(dsn: str, command: str) -> list[list[str]]:
    out = subprocess.run(["psql", "-X", "-A", "-t", "-F", "|", "-d", dsn, "-c", command],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and not out.stderr, f"{command}: {out.stderr}"
    return [line.split("|") for line in out.stdout.splitlines() if line.strip()]


@pytest.mark.parametrize("table", ["people", "renamed2", "dropped"])
def test_psql_describe(both, table):
    """Column, type, collation, nullability (defaults are printed as DuckDB keeps them)
    and the footer (check constraints among it)."""
    ours, theirs = (_psql(dsn, rf"\d {table}") for dsn in both)
    assert [row[:4] for row in ours if len(row) >= 4] == \
        [row[:4] for row in theirs if len(row) >= 4]
    assert [row for row in ours if len(row) == 1] == [row for row in theirs if len(row) == 1]


def test_sqlalchemy_inspector(both):
    def report(dsn: str) -> dict:
        engine = create_engine("postgresql+psycopg://", creator=lambda: psycopg.connect(dsn))
        try:
            insp = inspect(engine)
            return {table: [(c["name"], repr(c["type"]), c["nullable"])
                            for c in insp.get_columns(table)] for table in TABLES}
        finally:
            engine.dispose()

    ours, theirs = (report(dsn) for dsn in both)
    assert ours == theirs


JAVA = Path(__file__).parent / "java" / "JdbcDeclaredTypes.java"



@pytest.fixture(scope="module")
def jdbc(both, tmp_path_factory) -> dict[str, tuple[list[str], list[str]]]:
    """pgjdbc's lines for each table: (ours, PostgreSQL's)."""
    classes = compile_java(JAVA, tmp_path_factory.mktemp("jdbc-declared"))

    def run(dsn: str, table: str) -> list[str]:
        out = subprocess.run(["java", "-cp", f"{JAR}:{classes}", "JdbcDeclaredTypes",
                              jdbc_url(dsn), table], capture_output=True, text=True,
                             timeout=300)
        assert out.returncode == 0, out.stdout + out.stderr
        return out.stdout.splitlines()

    return {table: tuple(run(dsn, table) for dsn in both) for table in ("people", "renamed2")}


@pytest.mark.parametrize("table", ["people", "renamed2"])
def test_pgjdbc_get_columns(jdbc, table):
    ours, theirs = jdbc[table]
    assert [l for l in ours if l.startswith("column")] == \
        [l for l in theirs if l.startswith("column")]


@pytest.mark.xfail(strict=True, reason="pg_class.relchecks counts the CHECKs that hold "
                   "lengths (leaving them out costs every pg_class read a scan)")
def test_relchecks(both):
    sql = "select relchecks from pg_class where relname = 'people'"
    ours, theirs = (_rows(dsn, sql) for dsn in both)
    assert ours == theirs


def test_pgjdbc_result_metadata(jdbc):
    ours, theirs = jdbc["people"]
    assert [l for l in ours if l.startswith("result")] == \
        [l for l in theirs if l.startswith("result")]


# -- enforcement: 22001 -----------------------------------------------------------------

TOO_LONG = [
    ["insert into people (id, name) values (10, repeat('x', 41))"],
    ["insert into people (id, name, code) values (11, 'n', 'abcd')"],
    ["insert into people (id, name, initial) values (12, 'n', 'xy')"],
    ["insert into people (id, name, \"Mixed Case\") values (13, 'n', 'abcdef')"],
    ["update people set name = repeat('y', 50) where id = 1"],
    ["update people set code = code || 'x' where id = 1"],
    ["insert into renamed2 (a2) values ('12345678')"],
    ["insert into dropped (w) values ('abc')"],
    ["insert into people (id, name) select 14, repeat('z', 100)"],
    ["insert into people (id, name) select 15 + g, repeat('z', 38 + g) "
     "from generate_series(1, 3) g"],
    # characters, not bytes: 41 two-byte characters, a 4-byte one over 3
    ["insert into people (id, name) values (16, repeat('é', 41))"],
    ["insert into people (id, name, code) values (17, 'n', 'ab😀😀')"],
    # a space inside the value, or a non-space after n, is not a trailing space
    ["insert into people (id, name, code) values (18, 'n', 'ab c')"],
    ["insert into people (id, name, code) values (19, 'n', 'abc  d')"],
    ["insert into people (id, name, code) values (20, 'n', E'abc\\n')"],
    # upserts: the row a conflict updates is checked too
    ["insert into people (id, name) values (1, 'n') "
     "on conflict (id) do update set name = repeat('u', 41)"],
    ["insert into people (id, name) values (21, repeat('v', 41)) "
     "on conflict (id) do nothing"],
]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_too_long_values_raise_22001(both, protocol):
    binary, extended = PROTOCOLS[protocol]
    ours, theirs = (_each(dsn, TOO_LONG, lambda conn, statements:
                          _run(conn, statements, binary=binary, extended=extended))
                    for dsn in both)
    assert [t[:2] for t in theirs] == [("error", "22001")] * len(TOO_LONG)
    assert ours == theirs


FITS = [
    "insert into people (id, name) values (60, repeat('é', 40))",
    "insert into people (id, name, code, initial) values (61, 'n', 'a😀c', 'é')",
    # longer than n only by trailing spaces: PostgreSQL accepts it (and cuts it to n)
    "insert into people (id, name, code) values (62, repeat('s', 40) || '   ', 'ab    ')",
    "insert into people (id, name, initial) values (63, 'n', '  ')",
    "update people set code = 'xyz ' where id = 62",
    "insert into people (id, name) values (62, 'n') "
    "on conflict (id) do update set name = repeat('w', 40)",
    "insert into people (id, name, code) values (64, 'n', null)",
]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_values_within_the_length_are_stored(both, protocol):
    """Characters are counted, not bytes, and trailing spaces beyond n are no error
    (what is stored then differs: test_trailing_spaces_beyond_the_length_are_trimmed)."""
    binary, extended = PROTOCOLS[protocol]
    check = ("select id, length(rtrim(name)), length(rtrim(code)) from people where id >= 60 "
             "order by id")
    ours, theirs = (_outcome(dsn, FITS + [check], binary=binary, extended=extended)
                    for dsn in both)
    for dsn in both:
        _outcome(dsn, ["delete from people where id >= 60"])
    assert theirs[0] == "ok"
    assert ours == theirs


TOO_LONG_PARAMETERS = ["q" * 41, "ü" * 41, "q" * 40 + "x", "😀" * 41]


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_too_long_parameter_raises_22001(both, binary):
    """Extended protocol: the value arrives as a parameter."""
    statements = ["insert into people (id, name) values (20, %s)"]
    ours, theirs = (_each(dsn, TOO_LONG_PARAMETERS, lambda conn, value:
                          _run(conn, statements, (value,), binary)) for dsn in both)
    assert [t[:2] for t in theirs] == [("error", "22001")] * len(TOO_LONG_PARAMETERS)
    assert ours == theirs


#: (column, a value too long for it): each COPY sends a row that fits, then this one.
COPIES = {"varchar": ("name", "c" * 41), "multibyte": ("name", "ç" * 41),
          "char": ("code", "abcd"), "char-one": ("initial", "ab")}


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_copy_of_a_too_long_value_raises_22001(both, binary):
    def copy(conn: psycopg.Connection, case: str) -> tuple:
        column, value = COPIES[case]
        other = "code" if column == "name" else column
        statement = f"copy people (id, name, {other}) from stdin"
        if binary:
            statement += " (format binary)"
        try:
            with conn.cursor().copy(statement) as cp:
                if binary:
                    cp.set_types(["int4", "varchar", "varchar"])
                cp.write_row((1000, "n", "a"))
                cp.write_row((30, value, "a") if column == "name" else (30, "n", value))
            result = ("ok",)
        except psycopg.Error as err:
            result = ("error", err.sqlstate, err.diag.message_primary)
        # the whole COPY is undone
        assert conn.execute("select count(*) from people where id in (30, 1000)"
                            ).fetchone() == (0,)
        return result

    ours, theirs = (_each(dsn, list(COPIES), copy) for dsn in both)
    assert [t[:2] for t in theirs] == [("error", "22001")] * len(COPIES)
    assert ours == theirs


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_copy_of_values_that_fit(both, binary):
    statement = "copy people (id, name, code) from stdin" + (" (format binary)" if binary else "")

    def copy(dsn: str) -> list:
        with psycopg.connect(dsn, autocommit=True) as conn:
            with conn.cursor().copy(statement) as cp:
                if binary:
                    cp.set_types(["int4", "varchar", "varchar"])
                cp.write_row((31, "ñ" * 40, "ab  "))
                cp.write_row((32, "n", None))
            rows = conn.execute("select id, length(name), rtrim(code) from people "
                                "where id in (31, 32) order by id").fetchall()
            conn.execute("delete from people where id in (31, 32)")
            return rows

    ours, theirs = (copy(dsn) for dsn in both)
    assert ours == theirs == [(31, 40, "ab"), (32, 1, None)]


def test_values_that_fit_are_stored(both):
    statements = ["insert into people (id, name, code, initial, \"Mixed Case\") "
                  "values (40, repeat('x', 40), 'abc', 'q', 'abcde')",
                  "select length(name), \"Mixed Case\" from people where id = 40",
                  ]
    ours, theirs = (_outcome(dsn, statements) for dsn in both)
    for dsn in both:
        _outcome(dsn, ["delete from people where id = 40"])
    assert ours == theirs


def test_user_check_constraints_still_raise_23514(both):
    statements = ["insert into people (id, name, checked) values (50, 'n', 'longer')"]
    ours, theirs = (_outcome(dsn, statements) for dsn in both)
    assert ours[:2] == theirs[:2] == ("error", "23514")


def test_a_table_made_before_the_length_was_enforced(both):
    """Earlier versions gave a declared column a CHECK that only named the type: the
    catalog still reads the type from it (and the length stays unenforced there)."""
    statements = ["create table older (v varchar check (v IS NULL OR v IS NOT NULL OR "
                  "'duckgres_typmod:varchar(2)' IS NULL))",
                  "insert into older values ('abc')",
                  "select format_type(atttypid, atttypmod), "
                  "(select count(*) from pg_constraint where conrelid = attrelid) "
                  "from pg_attribute where attrelid = 'older'::regclass and attname = 'v'"]
    outcome = _outcome(both[0], statements)
    _outcome(both[0], ["drop table older"])
    assert outcome == ("ok", [("character varying(2)", 0)])


_CRASH_AFTER_ALTER = """
import os, sys, duckdb
from duckgres_trio.sql.translate import translate
conn = duckdb.connect(sys.argv[1])
conn.execute(translate("create table t (id int not null, v varchar(3), c char(2))").sql)
conn.execute("insert into t values (1, 'ab', 'x')")
conn.execute("alter table t add primary key (id)")
os._exit(0)  # a crash: no checkpoint, the WAL holds the ALTER TABLE
"""


def test_a_crash_after_alter_table_recovers(tmp_path):
    """The CHECK that holds a declared type must be one DuckDB can replay from its WAL
    after a crash: in DuckDB 1.5.5 a CHECK calling a function by its bare name (or one
    of the core_functions extension, such as rtrim) cannot be, and a worker killed
    after pgbench -i's ALTER TABLE left its database unopenable."""
    path = tmp_path / "crash.duckdb"
    subprocess.run([sys.executable, "-c", _CRASH_AFTER_ALTER, str(path)], check=True,
                   timeout=120)
    assert Path(f"{path}.wal").exists()
    with duckdb.connect(str(path)) as conn:
        assert conn.execute("select id, v, c from t").fetchall() == [(1, "ab", "x")]
        # and the replayed CHECK still holds the length, trailing spaces aside
        conn.execute("insert into t values (2, 'abc   ', 'y ')")
        with pytest.raises(duckdb.ConstraintException, match="duckgres_typmod:varchar"):
            conn.execute("insert into t values (3, 'abcd', 'z')")


# -- casts ---------------------------------------------------------------------------------

@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("sql", [
    "select 'abcdef'::varchar(3) as v",
    "select cast('abcdef' as character varying(2)) as v",
    "select 'abc'::varchar(5) as v",
    "select 'abcdef'::char(3) as v",
    "select 'abcdef'::char as v",
    "select 'abcdef'::char(3) = 'abc' as v",
])
def test_explicit_casts_cut_silently(both, sql, protocol):
    ours, theirs = (_rows(dsn, sql, *PROTOCOLS[protocol]) for dsn in both)
    assert ours == theirs


# -- known differences ----------------------------------------------------------------------

@pytest.mark.xfail(strict=True, reason="trailing spaces beyond n are kept (PostgreSQL "
                   "stores the value cut to n)")
def test_trailing_spaces_beyond_the_length_are_trimmed(both):
    statements = ["insert into renamed2 (a2, b) values ('abc      ', 60)",
                  "select a2 || '|' from renamed2 where b = 60"]
    ours, theirs = (_outcome(dsn, statements) for dsn in both)
    assert ours == theirs


CHAR_READS = [
    "select code, initial, grade from people where id = 1",
    "select p.code as c, p.* from people p where id = 1",
    "select code from people where code = 'ab' order by code",
    "select code from people where id >= 70 order by id",
    "select r.c, r.c from renamed2 r where b = 70",
]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_char_values_are_blank_padded(both, protocol):
    """A char(n) column's values are sent padded with blanks to n (DuckDB keeps them as
    written); blanks beyond n are dropped (PostgreSQL stores the value cut to n)."""
    setup = ["update people set code = 'ab' where id = 1",
             "insert into people (id, name, code) values (70, 'n', ''), (71, 'n', 'é'), "
             "(72, 'n', 'a b'), (73, 'n', 'xy      '), (74, 'n', null), (75, 'n', '   ')",
             "insert into renamed2 (c, b) values ('ab', 70)"]
    for dsn in both:
        _outcome(dsn, setup)
    try:
        ours, theirs = (_each(dsn, CHAR_READS, lambda conn, sql: _run(
            conn, [sql], binary=PROTOCOLS[protocol][0], extended=PROTOCOLS[protocol][1]))
            for dsn in both)
    finally:
        for dsn in both:
            _outcome(dsn, ["delete from people where id >= 70",
                           "delete from renamed2 where b = 70",
                           "update people set code = 'abc' where id = 1"])
    assert ours == theirs


def test_pgjdbc_reads_char_values_padded(both, tmp_path):
    """pgjdbc's getString of char(n) columns (JdbcDeclaredTypes' "value" lines)."""
    classes = compile_java(JAVA, tmp_path)

    def run(dsn: str) -> list[str]:
        out = subprocess.run(["java", "-cp", f"{JAR}:{classes}", "JdbcDeclaredTypes",
                              jdbc_url(dsn), "people"], capture_output=True, text=True,
                             timeout=300)
        assert out.returncode == 0, out.stdout + out.stderr
        return [line for line in out.stdout.splitlines() if line.startswith("value")]

    ours, theirs = (run(dsn) for dsn in both)
    assert ours == theirs and theirs


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_char_trailing_blanks_are_insignificant(both, protocol):
    """Casts to char(n) (tests/test_bpchar.py has the columns)."""
    sql = "select 'a'::char(3), 'ab '::char(4) || '|', 'a '::char(2) = 'a'"
    ours, theirs = (_rows(dsn, sql, *PROTOCOLS[protocol]) for dsn in both)
    assert ours == theirs


@pytest.mark.xfail(strict=True, reason="a varchar(n)/char(n) column's length is a CHECK "
                   "constraint, and DuckDB cannot change the type of such a column (0A000)")
def test_alter_column_type_of_a_declared_column(both):
    statements = ["create table widen (w varchar(5))",
                  "alter table widen alter column w type varchar(10)",
                  "select format_type(atttypid, atttypmod) from pg_attribute "
                  "where attrelid = 'widen'::regclass and attname = 'w'"]
    ours, theirs = (_outcome(dsn, statements) for dsn in both)
    for dsn in both:
        _outcome(dsn, ["drop table if exists widen"])
    assert ours == theirs


def test_alter_column_type_of_a_declared_column_is_refused_clearly(both):
    """Until it works (the xfail above): 0A000 with a hint, the session goes on."""
    with psycopg.connect(both[0], autocommit=True) as conn:
        with pytest.raises(psycopg.errors.FeatureNotSupported) as info:
            conn.execute("alter table renamed2 alter column a2 type varchar(20)")
        assert "declared type" in info.value.diag.message_hint
        assert conn.execute("select 1").fetchone() == (1,)


@pytest.mark.xfail(strict=True, reason="DuckDB adds no column with a constraint: ALTER TABLE "
                   "ADD COLUMN c varchar(n) makes a text column, without the length")
def test_added_column_keeps_its_declared_type(both):
    statements = ["create table grown (i integer)",
                  "alter table grown add column g varchar(8)",
                  "select format_type(atttypid, atttypmod) from pg_attribute "
                  "where attrelid = 'grown'::regclass and attname = 'g'"]
    ours, theirs = (_outcome(dsn, statements) for dsn in both)
    for dsn in both:
        _outcome(dsn, ["drop table if exists grown"])
    assert ours == theirs


@pytest.mark.xfail(strict=True, reason="varchar without a length is text: a CHECK would "
                   "keep it, at the price of ALTER COLUMN TYPE on every varchar column")
def test_varchar_without_length(both):
    statements = ["create table unbounded (u character varying)",
                  "select format_type(atttypid, atttypmod) from pg_attribute "
                  "where attrelid = 'unbounded'::regclass and attname = 'u'"]
    ours, theirs = (_outcome(dsn, statements) for dsn in both)
    for dsn in both:
        _outcome(dsn, ["drop table if exists unbounded"])
    assert ours == theirs


def test_row_description_type_and_modifier(both):
    """Columns of a table announce their declared type (tests/test_column_origin.py has
    the rest); a cast to varchar(n) is still text (docs/compatibility.md)."""
    def describe(dsn: str) -> list:
        with psycopg.connect(dsn, autocommit=True) as conn:
            cur = conn.execute("select name, code, initial, \"Mixed Case\" from people")
            return [(d.name, d.type_code, d.display_size) for d in cur.description]

    ours, theirs = (describe(dsn) for dsn in both)
    assert ours == theirs


# -- date/time precision ------------------------------------------------------------------

def test_microsecond_precision_is_accepted(both):
    """(6) is the precision these types have anyway (Hibernate 6 writes
    ``timestamp(6) with time zone``): same table, same values as PostgreSQL."""
    statements = ["create table precise (a timestamp(6) with time zone, b time(6), "
                  "c time(6) with time zone, d timestamptz(6))",
                  "insert into precise values ('2024-01-02 03:04:05.123456+00', "
                  "'03:04:05.654321', '03:04:05.5+02', '2024-01-02 03:04:05.5+00')",
                  "set time zone 'UTC'",
                  "select a, b, c, d, now()::timestamptz(6) is not null from precise"]
    ours, theirs = (_outcome(dsn, statements) for dsn in both)
    for dsn in both:
        _outcome(dsn, ["drop table if exists precise"])
    assert ours == theirs


@pytest.mark.xfail(strict=True, reason="DuckDB's timestamptz/time take no precision: a "
                   "precision below 6 is refused with 0A000 (PostgreSQL rounds to it)")
def test_lower_precision_rounds(both):
    statements = ["create table rounded (a timestamptz(0))",
                  "insert into rounded values ('2024-01-02 03:04:05.7+00')",
                  "select a = '2024-01-02 03:04:06+00' from rounded"]
    ours, theirs = (_outcome(dsn, statements) for dsn in both)
    for dsn in both:
        _outcome(dsn, ["drop table if exists rounded"])
    assert ours == theirs


@pytest.mark.xfail(strict=True, reason="a timestamp/time precision is not kept in the "
                   "catalog: format_type says timestamp with time zone, not timestamp(6) ...")
def test_precision_in_the_catalog(both):
    statements = ["create table listed (a timestamp(6) with time zone)",
                  "select format_type(atttypid, atttypmod) from pg_attribute "
                  "where attrelid = 'listed'::regclass and attname = 'a'"]
    ours, theirs = (_outcome(dsn, statements) for dsn in both)
    for dsn in both:
        _outcome(dsn, ["drop table if exists listed"])
    assert ours == theirs


# -- numeric without a precision ------------------------------------------------------------

# DECIMAL(38,10) here (tests/test_numeric_compat.py has the rest); it survives the restart
@pytest.mark.parametrize("statements", [
    ["create table unconstrained (x numeric)", "insert into unconstrained values (1.23456)",
     "select x, format_type(atttypid, atttypmod) from unconstrained, pg_attribute "
     "where attrelid = 'unconstrained'::regclass and attname = 'x'"],
    ["select round(0.123456::float8::numeric, 4) as r"],
], ids=["column", "cast"])
def test_numeric_without_precision(both, statements):
    ours, theirs = (_outcome(dsn, statements) for dsn in both)
    for dsn in both:
        _outcome(dsn, ["drop table if exists unconstrained"])
    assert ours == theirs
