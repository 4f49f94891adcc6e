"""Statement splitting, classification and session-parameter parsing (no server)."""

from __future__ import annotations

import pytest

from duckgres_trio.errors import PgError
from duckgres_trio.sql import split_statements
from duckgres_trio.sql import settings
from duckgres_trio.sql.lexer import tokenize


def texts(sql: str) -> list[str]:
    return [s.text for s in split_statements(sql)]


@pytest.mark.parametrize("sql, expected", [
    ("select 1; select 2;", ["select 1", "select 2"]),
    ("select ';' ; select 2", ["select ';'", "select 2"]),
    ("select 'it''s;' as x", ["select 'it''s;' as x"]),
    ("select e'\\';' ; select 3", ["select e'\\';'", "select 3"]),
    ("select $$a;b$$; select $tag$ $$; $tag$", ["select $$a;b$$", "select $tag$ $$; $tag$"]),
    ('select 1 as "a;b"; select 2', ['select 1 as "a;b"', "select 2"]),
    ("/* a /* nested; */ ; */ select 1 -- x;\n; select 2", ["select 1", "select 2"]),
    ("select $1; select 2", ["select $1", "select 2"]),
    (" ;; ", []),
    ("-- only a comment", []),
])
def test_split(sql, expected):
    assert texts(sql) == expected


@pytest.mark.parametrize("sql, tokens", [
    ("a=-5", ["A", "=", "-", "5"]),
    ("a<>-5", ["A", "<>", "-", "5"]),
    ("x*-y", ["X", "*", "-", "Y"]),  # PostgreSQL's docs: *- cannot be an operator name
    ("x@-y", ["X", "@-", "Y"]),  # @- can
    ("a=+-5", ["A", "=", "+", "-", "5"]),
    ("'a'||-5", ["'a'", "||-", "5"]),
    ("a=--5\n", ["A", "="]),  # a comment starts inside the operator
    ("a=/*c*/1", ["A", "=", "1"]),
    ("x::int", ["X", "::", "INT"]),
])
def test_operators_are_cut_as_postgresql_cuts_them(sql, tokens):
    """scan.l: a multi-character operator ends in + or - only if it holds one of
    ~!@#^&|`?%, and a comment start ends it."""
    assert [t.value for t in tokenize(sql)] == tokens


@pytest.mark.parametrize("sql", ["select 'open", "select \"open", "select /* open", "select $q$ open"])
def test_unterminated_text_is_a_syntax_error(sql):
    with pytest.raises(PgError) as info:
        split_statements(sql)
    assert info.value.sqlstate == "42601"


@pytest.mark.parametrize("sql, command, returns_rows", [
    ("SELECT 1", "SELECT", True),
    ("values (1)", "SELECT", True),
    ("TABLE t", "SELECT", True),
    ("FROM t", "SELECT", True),
    ("with x as (select 1) select * from x", "SELECT", True),
    ("with x as (delete from t returning *) select * from x", "SELECT", True),
    ("with x as (select 1) insert into t select * from x", "INSERT", False),
    ("insert into t values (1)", "INSERT", False),
    ("insert into t values (1) returning id", "INSERT", True),
    ("update t set a = (select max(b) from u)", "UPDATE", False),
    ("delete from t where a in (select 1) returning *", "DELETE", True),
    ("create table t (a int)", "CREATE TABLE", False),
    ("CREATE OR REPLACE TEMP TABLE t AS SELECT 1", "SELECT", False),
    ("create unique index i on t(a)", "CREATE INDEX", False),
    ("create or replace view v as select 1", "CREATE VIEW", False),
    ("create schema s", "CREATE SCHEMA", False),
    ("drop table if exists t", "DROP TABLE", False),
    ("alter table t add column b int", "ALTER TABLE", False),
    ("explain select 1", "EXPLAIN", True),
    ("show tables", "SHOW", True),
    ("describe t", "SELECT", True),
    ("truncate t", "TRUNCATE TABLE", False),
    ("set threads = 2", "SET", False),
    ("pragma version", "PRAGMA", None),
    ("copy t to '/tmp/x.csv'", "COPY", False),
])
def test_classify(sql, command, returns_rows):
    (stmt,) = split_statements(sql)
    assert (stmt.command, stmt.returns_rows) == (command, returns_rows)


@pytest.mark.parametrize("sql, kind, command", [
    ("begin", "begin", "BEGIN"),
    ("BEGIN ISOLATION LEVEL SERIALIZABLE", "begin", "BEGIN"),
    ("start transaction read only", "begin", "START TRANSACTION"),
    ("commit", "commit", "COMMIT"),
    ("end", "commit", "COMMIT"),
    ("rollback work", "rollback", "ROLLBACK"),
    ("abort", "rollback", "ROLLBACK"),
])
def test_transaction_control(sql, kind, command):
    (stmt,) = split_statements(sql)
    assert (stmt.transaction, stmt.command) == (kind, command)


def test_rollback_to_savepoint_is_refused_with_0a000_before_reaching_the_engine():
    (stmt,) = split_statements("rollback to savepoint a")
    assert stmt.refusal is not None and stmt.refusal.sqlstate == "0A000"


@pytest.mark.parametrize("sql, command", [("savepoint a", "SAVEPOINT"),
                                          ("release savepoint a", "RELEASE")])
def test_savepoint_and_release_are_the_sessions(sql, command):
    (stmt,) = split_statements(sql)
    assert (stmt.transaction, stmt.command, stmt.refusal) == ("savepoint", command, None)


def test_copy_to_stdout_is_the_sessions_and_copy_to_a_file_duckdbs():
    (out,) = split_statements("COPY (select 1) TO STDOUT (FORMAT csv)")
    assert out.copy == "out" and out.refusal is None and out.command == "COPY"
    (native,) = split_statements("COPY t TO 'file.parquet' (FORMAT parquet)")
    assert native.copy is None and native.refusal is None


@pytest.mark.parametrize("sql, parameter, value", [
    ("SET TimeZone = 'Europe/Berlin'", "timezone", "Europe/Berlin"),
    ("set time zone 'UTC'", "timezone", "UTC"),
    ("SET datestyle TO ISO, MDY", "datestyle", "ISO, MDY"),
    ("set extra_float_digits = -3", "extra_float_digits", "-3"),
    ("SET SESSION application_name = 'it''s'", "application_name", "it's"),
    ('SET "TimeZone" TO DEFAULT', "TimeZone", None),
    ("reset application_name", "application_name", None),
    ("show timezone", "timezone", None),
])
def test_parameter_statements(sql, parameter, value):
    (stmt,) = split_statements(sql)
    assert (stmt.parameter, stmt.value) == (parameter, value)


def test_settings_validate_and_normalise():
    assert settings.validate("timezone", "Asia/Kolkata") == ("TimeZone", "Asia/Kolkata")
    assert settings.validate("CLIENT_ENCODING", "utf-8") == ("client_encoding", "UTF8")
    assert settings.validate("datestyle", "iso") == ("DateStyle", "ISO, MDY")
    assert settings.validate("datestyle", "German") == ("DateStyle", "German, DMY")
    assert settings.validate("IntervalStyle", "ISO_8601") == ("IntervalStyle", "iso_8601")
    for name, value, code in [
        ("client_encoding", "LATIN1", "0A000"),  # PostgreSQL's: a conversion it lacks
        ("client_encoding", "no_such_encoding", "22023"),
        ("DateStyle", "Gothic", "22023"),
        ("IntervalStyle", "iso_8602", "22023"),
        ("standard_conforming_strings", "off", "0A000"),
        ("standard_conforming_strings", "maybe", "22023"),
        ("server_version", "16", "55P02"),
        ("no_such_thing", "1", "42704"),
        ("TimeZone", "x'; drop table t; --", "22023"),
    ]:
        with pytest.raises(PgError) as info:
            settings.validate(name, value)
        assert info.value.sqlstate == code, (name, value)


@pytest.mark.parametrize("options, expected", [
    ("-c TimeZone=UTC", [("TimeZone", "UTC")]),
    ("-cTimeZone=UTC --application-name=x", [("TimeZone", "UTC"), ("application_name", "x")]),
    (r"-c application_name=with\ space", [("application_name", "with space")]),
    ("", []),
])
def test_parse_options(options, expected):
    assert settings.parse_options(options) == expected


@pytest.mark.parametrize("options", ["-c", "-c novalue", "TimeZone=UTC"])
def test_parse_options_refuses_garbage(options):
    with pytest.raises(PgError) as info:
        settings.parse_options(options)
    assert info.value.fatal and info.value.sqlstate == "22023"


@pytest.mark.parametrize("sql, query, fmt", [
    ('COPY "My Table" (a, "B") TO STDOUT', 'SELECT a, "B" FROM "My Table"', "text"),
    ("copy main.t to stdout with csv header", "SELECT * FROM main.t", "csv"),
    # the query is translated like any other: PostgreSQL's column names for the header
    ("COPY (SELECT 1, ';') TO STDOUT (FORMAT 'csv')",
     'SELECT 1 AS "?column?", \';\' AS "?column?"', "csv"),
    ("COPY t TO STDOUT BINARY", "SELECT * FROM t", "binary"),
])
def test_parse_copy(sql, query, fmt):
    from duckgres_trio.sql.copy import parse_copy

    copy = parse_copy(sql)
    assert (copy.direction, copy.query, copy.options.format) == ("to", query, fmt)


def test_parse_copy_options():
    from duckgres_trio.sql.copy import parse_copy

    o = parse_copy("COPY t TO STDOUT (FORMAT csv, DELIMITER E'\\t', NULL 'n/a', "
                   "QUOTE '''', FORCE_QUOTE (a, \"B\"), HEADER false)").options
    assert (o.delimiter, o.null, o.quote, o.escape, o.header) == ("\t", "n/a", "'", "'", False)
    assert o.force_quote == frozenset({"a", "B"})
    legacy = parse_copy("COPY t TO STDOUT WITH CSV DELIMITER AS '|' FORCE QUOTE *").options
    assert (legacy.format, legacy.delimiter, legacy.force_quote_all) == ("csv", "|", True)
    assert parse_copy("copy t from stdin with (freeze on)").options.format == "text"  # pgbench -i
