"""LIKE's escape character and the words DuckDB reserves, against PostgreSQL 15.

Every statement runs on both servers (one of ours and the pg15 cluster, shared by the
module); each test compares the outcome: result column names, type OIDs and values, or
the SQLSTATE and message of the error. Statements run in the simple protocol (text
results), the extended protocol with binary results, and as prepared statements;
patterns also arrive as parameters, bound in text (%s) and binary (%b).

Keywords: the words PostgreSQL lets a name be unquoted but DuckDB's grammar reserves
(or keeps for types, functions or columns only) are derived from the two grammars,
pglast's keyword lists and duckdb_keywords(); each is used as schema, table, column,
index, view, alias, CTE name in DDL, DML, SELECT and COPY on both servers.
"""

from __future__ import annotations

import random

import duckdb
import psycopg
import pytest
from pglast import keywords

from duckgres_trio.sql.lexer import tokenize
from duckgres_trio.sql.statements import split_statements
from duckgres_trio.sql.translate import DUCKDB_EXTRA_KEYWORDS, needs_translation
from tests.conftest import ServerProcess
from tests.support.differential import outcome
from tests.support.pg15 import pg15_dsn  # noqa: F401 - pytest fixture

DATABASE = "like_keywords"

ROWS = [("a_b", r"a\_b"), ("axb", r"a\_b"), ("a%", r"a\%"), ("ab", r"a\b"),
        ("a\\b", r"a\\b"), ("a", "a\\"), ("b", "a\\"), ("abc", "%c"), (None, "a"),
        ("a", None), ("A_B", r"a\_B")]


@pytest.fixture(scope="module")
def dsns(tmp_path_factory, pg15_dsn):  # noqa: F811
    """(PostgreSQL's DSN, ours), each with a fresh database holding table lk."""
    with psycopg.connect(pg15_dsn, autocommit=True) as conn:
        conn.execute(f"drop database if exists {DATABASE}")
        conn.execute(f"create database {DATABASE}")
    ours = ServerProcess(tmp_path_factory.mktemp("like") / "data").start()
    pair = (pg15_dsn.replace("dbname=postgres", f"dbname={DATABASE}"), ours.dsn(dbname=DATABASE))
    for dsn in pair:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("create table lk (s text, p text)")
            with conn.cursor() as cur:
                cur.executemany("insert into lk values (%s, %s)", ROWS)
    yield pair
    ours.stop()


@pytest.fixture(scope="module")
def conns(dsns):
    """One connection to each server for the whole module."""
    pair = [psycopg.connect(dsn, autocommit=True) for dsn in dsns]
    yield pair
    for conn in pair:
        conn.close()


def _agree(conns, sql, params=None, **how) -> None:
    theirs, ours = (outcome(conn, sql, params, **how) for conn in conns)
    assert ours == theirs


#: simple protocol + text results; extended + binary results; a prepared statement
MODES = {"simple": {}, "binary": {"binary": True}, "prepared": {"prepare": True}}

LIKE_STATEMENTS = [
    r"select 'a_b' like 'a\_b', 'axb' like 'a\_b', 'a_b' not like 'a\_b', 'a%' like 'a\%'",
    r"select 'A_B' ilike 'a\_b', 'AxB' ilike 'a\_b', 'A_B' not ilike 'a\_b'",
    r"select 'a_b' ~~ 'a\_b', 'a_b' !~~ 'a\_b', 'A_b' ~~* 'a\_B', 'A_b' !~~* 'a\_B'",
    r"select 'ab' like 'a\b', 'a\b' like 'a\\b', 'a' like 'a\', 'b' like 'a\', '' like '%\'",
    r"select 'a_b' operator(pg_catalog.~~) 'a\_b', 'ab' operator(pg_catalog.~~) 'a%', "
    "'AB' operator(pg_catalog.!~~*) 'a%'",
    "select 'abc' like 'a%', 'abc' like 'a_c', 'abc' not like '%d'",  # stays on DuckDB's LIKE
    "select s, p, s like p, s ilike p, s not like p, s !~~* p from lk "
    "where s not in ('ab', 'A_B') or s is null order by s, p",
    r"select s from lk where s like 'a\%' or s ilike 'A\_%' order by s",
    r"select s from lk where s like p || '%' and p not like '%\' order by s",
    # a pattern ending in a lone escape: an error once the match reaches it
    r"select 'ab' like 'a\'",
    r"select 'ab' like 'a%\'",
    r"select 'a' like '%\'",
    r"select 'a' like '%_\'",
    r"select 'AB' ilike 'a\'",
    r"select s like p from lk where s = 'ab'",
    "select 'ab' like 'ax' escape 'x'",
    # explicit and empty escapes
    r"select 'abc' like 'a_c' escape '', 'a\c' like 'a\c' escape '', 'a_c' like 'a#_c' escape '#', "
    r"'abc' like 'a#_c' escape '#', 'a#' like 'a##' escape '#', 'a\' like 'a\\' escape '#'",
    "select 'a' like 'a' escape 'xy'",
    "select null like 'a' escape 'xy', 'a' like null escape 'xy', 'a' like 'a' escape null",
    # ANY / ALL of arrays and subqueries
    "select 'a' like any (array['b', 'a%']), 'a' like all (array['b', 'a%']), "
    "'a' not like all (array['b', 'c']), 'a' ilike any (array['A']), 'a' !~~* any (array['A'])",
    r"select 'a_' like any ('{b,a\\_}'), 'a' like any (array[]::text[]), "
    "null::text like any (array['a']), 'a' like any (array[null, 'a']), "
    "'a' like any (array[null, 'b']), 'a' like all (array[null, 'a'])",
    "select 'a' like any (select p from lk), 'a_b' like any (select p from lk where p is not null), "
    "'a' like all (select p from lk where false)",
    r"select s from lk where s like any (array['a\_%', 'ab']) order by s",
    r"select 'ab' like any (array['a\', 'a%'])",
    r"select 'ab' like any (array['a%', 'a\'])",
    # SIMILAR TO: PostgreSQL's conversion to a regular expression
    r"select 'a' similar to 'a\', 'a\b' similar to 'a\\b', 'a.b' similar to 'a.b', "
    r"'axb' similar to 'a.b', 'a_b' similar to 'a\_b', 'axb' similar to 'a\_b'",
    "select 'abc' similar to '%(b|x)%', 'abc' similar to 'a[b-c]*', 'ab' similar to 'a#b' escape '#', "
    "'a%' similar to 'a#%' escape '#', 'ab' similar to 'a' escape '', 'a' not similar to 'b'",
    r"select 'abc' similar to 'a\"b\"c', 'a^' similar to 'a^', 'a$' similar to 'a$', "
    r"'a\' similar to 'a\B', 'a b' similar to 'a\yb'",
    "select 'a' similar to 'a' escape 'xy'",
    r"select 'abc' similar to 'a\"b\"c\"'",
    r"select s, p, s similar to p from lk where p not like '%\' order by s, p",
    # what the catalog's own LIKEs mean is unchanged
    r"select nspname::text from pg_namespace where nspname not like 'pg\_%' "
    "and nspname in ('public', 'pg_catalog', 'information_schema') order by 1",
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("sql", LIKE_STATEMENTS)
def test_like_agrees_with_postgresql(conns, sql, mode):
    _agree(conns, sql, **MODES[mode])


PARAMETER_STATEMENTS = [
    ("select s from lk where s like {} order by s", (r"a\_%",)),
    ("select s from lk where s not ilike {} order by s", (r"A\_%",)),
    ("select s from lk where s ~~ {} order by s", ("a%",)),
    ("select s from lk where s like {} escape {} order by s", ("a#_%", "#")),
    ("select s from lk where s like {} escape {} order by s", (r"a\_%", "")),
    ("select {}::text like 'a\\_b', {}::text like 'a\\_b'", ("a_b", "axb")),
    ("select 'ab' like {}", ("a\\",)),
    ("select s from lk where s like any({}) order by s", ([r"a\_%", "ab"],)),
    ("select s from lk where s like all({}) order by s", (["a%", "%b"],)),
    ("select s from lk where s similar to {} order by s", (r"a\_%",)),
    ("select s from lk where s similar to {} order by s", ("(a|b)[_%]%",)),
    ("select s from lk where s similar to {} escape {} order by s", ("a#_%", "#")),
    ("select s from lk where s similar to {} escape {} order by s", ("a\\_%", "")),
    ("select s from lk where s similar to {} escape '#' order by s", ("a#%#\\%",)),
]


@pytest.mark.parametrize("prepare", [False, True], ids=["unnamed", "prepared"])
@pytest.mark.parametrize("placeholder", ["%s", "%b"], ids=["text", "binary"])
@pytest.mark.parametrize("sql, params", PARAMETER_STATEMENTS)
def test_like_parameters_agree_with_postgresql(conns, sql, params, placeholder, prepare):
    query = sql.format(*[placeholder] * len(params))
    _agree(conns, query, params, binary=placeholder == "%b", prepare=prepare)


@pytest.mark.xfail(strict=True, reason="ILIKE folds every letter's case as DuckDB does; the "
                   "reference cluster's C locale folds ASCII only (docs/compatibility.md)")
def test_ilike_of_letters_beyond_ascii(conns):
    _agree(conns, "select 'É' ilike 'é', 'ÉA' ilike 'éa'")


#: Random patterns over the characters that matter, matched against texts in order.
_RANDOM = random.Random(16)
_TEXTS = ["", "a", "b", "ab", "ba", "a\\", "a%", "a_b", "aab", "#a", "A", "a.b"]
PATTERNS = sorted({"".join(_RANDOM.choice("ab%_\\#B.y") for _ in range(_RANDOM.randint(0, 5)))
                   for _ in range(60)})


@pytest.mark.parametrize("pattern", PATTERNS)
def test_random_patterns_agree_with_postgresql(conns, pattern):
    texts = ", ".join(f"({i}, '{t}')" for i, t in enumerate(_TEXTS))
    literal = "'" + pattern.replace("'", "''") + "'"
    template = (f"select t, t like {{p}}, t not ilike {{p}}, t like {{p}} escape '#', "
                f"t similar to {{p}}, t similar to {{p}} escape '#' "
                f"from (values {texts}) v(i, t) order by i")
    _agree(conns, template.format(p=literal))  # a constant: converted by the translator
    _agree(conns, template.format(p="%s::text"), (pattern,) * 5)  # a parameter: the macros


@pytest.mark.parametrize("sql", [
    "select * from t where a like 'abc%'",
    "select * from t where a not ilike 'x_y' and b = 1",
    "SELECT abalance FROM pgbench_accounts WHERE aid = 42",
    "select a from t order by a",
    "select a from t group by a",
])
def test_like_with_a_plain_pattern_takes_the_fast_path(sql):
    assert not needs_translation(tokenize(sql))


@pytest.mark.parametrize("sql", [
    r"select * from t where a like 'a\_b'",
    r"select * from t where a like E'a\\_b'",
    "select * from t where a like $1",
    "select * from t where a like b",
    "select * from t where a like 'x' escape '#'",
    "select * from t where a like any (array['x'])",
    "select * from t where a ~~ $1",
    "select * from t where a !~~* b",
    "select * from t where a similar to 'x'",
    "select by from t",
    "insert into t (by) values (1)",
])
def test_like_and_names_duckdb_reserves_leave_the_fast_path(sql):
    assert needs_translation(tokenize(sql))
    (stmt,) = split_statements(sql)
    assert stmt.engine_text != sql


def _duckdb_keywords() -> dict[str, set[str]]:
    categories: dict[str, set[str]] = {}
    for word, category in duckdb.sql(
            "select keyword_name, keyword_category from duckdb_keywords()").fetchall():
        categories.setdefault(category, set()).add(word)
    return categories


_DUCKDB = _duckdb_keywords()
#: Words PostgreSQL takes as a name (its unreserved and column-name keywords, and words
#: that are not keywords to it) that DuckDB's grammar treats as more than unreserved.
KEYWORDS = sorted((_DUCKDB["reserved"] | _DUCKDB["type_function"] | _DUCKDB["column_name"])
                  - keywords.RESERVED_KEYWORDS - keywords.TYPE_FUNC_NAME_KEYWORDS)
#: PostgreSQL's unreserved and column-name keywords: names to it, unquoted.
POSTGRES_NAMES = sorted(keywords.UNRESERVED_KEYWORDS | keywords.COL_NAME_KEYWORDS)


def _script(w: str) -> list[tuple[str, tuple | None, bool]]:
    """(sql, parameters or COPY rows, binary results) using ``w`` as every kind of name."""
    return [
        (f"create schema {w}", None, False),
        (f"create table {w}.{w} (id int primary key, {w} int)", None, False),
        (f"create table kw_other ({w} int)", None, False),
        (f"create index {w} on kw_other ({w})", None, False),
        (f"drop index {w}", None, False),
        ("drop table kw_other", None, False),
        (f"insert into {w}.{w} (id, {w}) values (1, 10) returning {w}", None, False),
        (f"insert into {w}.{w} as {w} (id, {w}) values (%s, %b) on conflict (id) "
         f"do update set {w} = excluded.{w} returning {w}.{w}", (1, 20), True),
        (f"update {w}.{w} set {w} = {w} + 1 where {w} = %s returning {w}", (20,), False),
        (f"select {w}, {w} as {w}, {w}.{w} from {w}.{w} order by {w}", None, True),
        (f"select {w}.{w} from {w}.{w} {w}", None, False),
        (f"alter table {w}.{w} rename column {w} to kw_col", None, False),
        (f"alter table {w}.{w} rename column kw_col to {w}", None, False),
        (f"create view {w} as select {w} from {w}.{w}", None, False),
        (f"select {w} from {w}", None, True),
        (f"with {w} as (select {w} from {w}.{w}) select {w} from {w}", None, False),
        (f"select {w} from (select 1 as {w}) as {w}({w})", None, False),
        (f"copy {w}.{w} (id, {w}) from stdin", [(5, 50)], False),
        (f"copy {w}.{w} ({w}) to stdout", None, False),
        (f"select count(*) from {w}.{w}", None, False),
        (f"delete from {w}.{w} where {w} = %s returning {w}", (21,), True),
        (f"drop view {w}", None, False),
        (f"drop table {w}.{w}", None, False),
        (f"drop schema {w}", None, False),
    ]


@pytest.fixture(scope="module")
def plain_conns(dsns):
    """Connections that never prepare statements: psycopg would prepare a statement
    run five times, then send DEALLOCATE ALL after the next DDL."""
    pair = [psycopg.connect(dsn, autocommit=True, prepare_threshold=None) for dsn in dsns]
    yield pair
    for conn in pair:
        conn.close()


def _copy(conn, sql: str, rows: list[tuple] | None) -> tuple:
    """COPY FROM STDIN of ``rows``, or COPY TO STDOUT (rows None)."""
    try:
        with conn.cursor() as cur:
            with cur.copy(sql) as copy:
                if rows is None:
                    return ("copy", b"".join(bytes(block) for block in copy))
                for row in rows:
                    copy.write_row(row)
            return ("copy", cur.rowcount)
    except psycopg.Error as err:
        return ("error", err.sqlstate, err.diag.message_primary)


def _run_script(conn, w: str) -> list[tuple]:
    outcomes = []
    for sql, params, binary in _script(w):
        if sql.startswith("copy"):
            outcomes.append(_copy(conn, sql, params))
        else:
            outcomes.append(outcome(conn, sql, params, binary=binary))
    return outcomes


@pytest.mark.parametrize("word", KEYWORDS)
def test_a_word_duckdb_reserves_works_as_every_kind_of_name(plain_conns, word):
    theirs, ours = (_run_script(conn, word) for conn in plain_conns)
    assert [o[0] for o in theirs].count("error") == 0  # the script is valid PostgreSQL
    assert list(zip((s for s, _, _ in _script(word)), ours)) == \
        list(zip((s for s, _, _ in _script(word)), theirs))


def test_postgresql_keywords_work_as_column_names(dsns):
    """Every unreserved / column-name keyword of PostgreSQL as an unquoted column,
    alias and qualified reference, in one wide table. (Connections of its own: psycopg
    sends DEALLOCATE ALL after DDL on a connection holding prepared statements.)"""
    words = POSTGRES_NAMES
    names = ", ".join(words)
    statements = [
        "drop table if exists kw_wide",
        f"create table kw_wide ({', '.join(f'{w} int' for w in words)})",
        f"insert into kw_wide ({names}) values ({', '.join(map(str, range(len(words))))}) "
        f"returning {names}",
        f"update kw_wide set {', '.join(f'{w} = {w} + 1' for w in words)} returning {names}",
    ]
    select = (f"select {', '.join(f'{w} as {w}' for w in words)} from kw_wide as t "
              f"where {' and '.join(f't.{w} > 0' for w in words)}")
    with psycopg.connect(dsns[0], autocommit=True) as pg, \
            psycopg.connect(dsns[1], autocommit=True) as ours:
        for sql in statements:
            _agree((pg, ours), sql)
    with psycopg.connect(dsns[0], autocommit=True) as pg, \
            psycopg.connect(dsns[1], autocommit=True) as ours:
        for how in MODES.values():
            _agree((pg, ours), select, **how)


#: Every word either grammar calls a keyword.
ALL_KEYWORDS = sorted(keywords.RESERVED_KEYWORDS | keywords.TYPE_FUNC_NAME_KEYWORDS
                      | keywords.COL_NAME_KEYWORDS | keywords.UNRESERVED_KEYWORDS
                      | set().union(*_DUCKDB.values()))


def test_keywords_as_labels_and_aliases_agree_with_postgresql(plain_conns):
    """Each keyword as a bare column label (no AS), which PostgreSQL takes for nearly
    every keyword and DuckDB for none, and as a table alias: where PostgreSQL accepts
    the statement, this server answers the same. (What PostgreSQL's parser refuses runs
    as DuckDB's dialect, by design.)"""
    different = []
    for word in ALL_KEYWORDS:
        for sql in (f"select 1 {word}", f"select x {word} from (select 1 x) t",
                    f"select {word}.x from (select 1 x) {word}",
                    f"delete from lk where false returning s {word}"):
            theirs, ours = (outcome(conn, sql) for conn in plain_conns)
            if theirs[0] != "error" and ours != theirs:
                different.append((sql, theirs, ours))
    assert different == []


def test_duckdb_extra_keywords_are_duckdb_keywords_postgresql_lacks():
    postgres = (keywords.RESERVED_KEYWORDS | keywords.TYPE_FUNC_NAME_KEYWORDS
                | keywords.COL_NAME_KEYWORDS | keywords.UNRESERVED_KEYWORDS)
    assert DUCKDB_EXTRA_KEYWORDS == set().union(*_DUCKDB.values()) - postgres


def test_keyword_lists_come_from_the_grammars():
    """The class is derived, not typed: both lists hold the words the issue names."""
    assert {"at", "map", "struct", "columns", "by", "qualify"} <= set(KEYWORDS)
    assert {"year", "month", "value", "name", "type", "position"} <= set(POSTGRES_NAMES)
