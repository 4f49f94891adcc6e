"""Error messages against PostgreSQL 15: the same failing statements on both servers.

Clients and ORMs match PostgreSQL's wording (``relation "x" does not exist``, the
constraint name in a duplicate-key error) and psql draws its ``LINE 1:`` caret from
the Position field, so for each statement this compares, in the simple and the
extended protocol, what psycopg exposes: the SQLSTATE with the primary message, the
detail and the hint where both servers give one, and the statement position. Every
field that still differs is a strict xfail naming the reason (also in
docs/compatibility.md); one that starts to agree fails until its entry goes.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path

import psycopg
import pytest

from tests.conftest import ServerProcess
from tests.support.pg15 import fresh_database, pg15_dsn  # noqa: F401 - pytest fixture

SETUP = [
    "create table t(id int primary key, c varchar(3) not null, n int unique, "
    "s smallint check (s > 0), a int, b text, unique (a, b))",
    "create table u(id int references t(id), x int)",
    "insert into t values (1, 'a', 1, 1, 1, 'x')",
    "insert into u values (1, 1)",
    "create table w(k int primary key)",
    "insert into w values (7)",
    "create schema sch",
    "create view v as select 1 as one",
]

#: (statement, parameters or None). Each runs in a transaction of its own that is then
#: rolled back, so one server's answer never changes the data the next case sees.
CASES: list[tuple[str, tuple | None]] = [
    # missing and duplicate objects
    ("select nosuch from t", None),
    ("select t.nosuch from t", None),
    ("select nosuch from nosuch_table", None),
    ("select * from nosuch.t", None),
    ("select * from\n  t,\n  nosuch_table", None),
    ("drop table nosuch", None),
    ("drop view nosuch", None),
    ("drop sequence nosuch", None),
    ("drop index nosuch", None),
    ("drop schema nosuch", None),
    ("create table nosuch.x(a int)", None),
    ("select 1::nosuchtype", None),
    ("select cast(1 as nosuchtype)", None),
    ("create table t(a int)", None),
    ("create view v as select 2", None),
    ("create schema sch", None),
    ("alter table t add column c int", None),
    ("create table dup(a int, a int)", None),
    ("insert into t(id, zz) values (9, 1)", None),
    ("select id from t join u using (nosuch)", None),
    ("select * from t where nosuch = 1", None),
    ("select id from t order by nosuch", None),
    ("insert into nosuch values (1)", None),
    ("update nosuch set a = 1", None),
    ("delete from nosuch", None),
    ("alter table nosuch add column x int", None),
    ("alter table t drop column nosuch", None),
    ("truncate nosuch", None),
    ("create index i on t(nosuch)", None),
    ("create table x(a nosuchtype)", None),
    ("select nextval('nosuch')", None),
    ("select current_setting('nosuch.setting')", None),
    ("show nosuch_setting", None),
    ("select x from (select 1 as x, 2 as x) s", None),
    ("select id from t, u", None),
    ("select x.id from t", None),
    ("select * from t as a, t as a", None),
    ("drop table v", None),
    ("drop table t", None),
    # functions and operators
    ("select nosuch_function(1)", None),
    ("select length(1)", None),
    ("select 'a'::text + 1", None),
    ("select true + 1", None),
    # constraints
    ("insert into t values (1, 'a', 2, 1, 2, 'y')", None),
    ("insert into t values (2, 'a', 1, 1, 2, 'y')", None),
    ("insert into t values (2, 'a', 2, 1, 1, 'x')", None),
    ("insert into w values (%s)", (7,)),
    ("insert into w values (8), (8)", None),
    ("insert into t values (3, null, 3, 1, 3, 'z')", None),
    ("insert into t values (4, 'a', 4, -1, 4, 'z')", None),
    ("insert into u values (99, 1)", None),
    ("delete from t where id = 1", None),
    ("insert into t values (5, 'a', 5, 1, 5, 'z', 'extra')", None),
    # a declared length (varchar(3)): characters, not bytes
    ("insert into t values (6, 'abcd', 6, 1, 6, 'z')", None),
    ("update t set c = c || 'xyz' where id = 1", None),
    ("insert into t (id, c) values (%s, %s)", (7, "éééé")),
    # data
    ("select 'x'::int", None),
    ("select 'x'::bigint", None),
    ("select 'x'::smallint", None),
    ("select 'x'::boolean", None),
    ("select 'x'::float8", None),
    ("select 'x'::numeric", None),
    ("select 'x'::date", None),
    ("select 'x'::timestamp", None),
    ("select * from t where id = 'abc'", None),
    ("select '99999999999'::int", None),
    ("select 2147483647::int + 1", None),
    ("select 9223372036854775807::bigint + 1", None),
    ("select 40000::smallint", None),
    ("select 99999::numeric(3,1)", None),
    ("select 1.5::numeric(2,2)", None),
    ("select date '2020-13-45'", None),
    ("select '2020-02-30'::date", None),
    ("select 1/0", None),
    ("select 5 % 0", None),
    ("select sqrt(-1)", None),
    ("select ln(0)", None),
    ("select %s::int", ("x",)),
    ("select ''::int", None),
    ("select 'x'::interval", None),
    ("select 'x'::uuid", None),
    ("insert into t(id, c) values ('x', 'a')", None),
    ("select * from t limit 'x'", None),
    ("update t set id = 'x'", None),
    # grouping, subqueries
    ("select id, count(*) from t", None),
    ("select * from t where count(*) > 1", None),
    ("select sum(sum(id)) from t", None),
    ("select (select id from t union all select 2)", None),
    ("select 1 in (select 1, 2)", None),
    ("select id from t group by n", None),
    ("select count(*) from t where sum(id) > 0 group by id", None),
    # syntax
    ("selec 1", None),
    ("select 1 +", None),
    ("select selec from", None),
    ("select 1 from t where", None),
    ("select 1;\nselect nosuch from t", None),
    # transactions: the statement after a failed one
    ("select 1 /* after an error */", None),
]

#: Statements run (and allowed to fail) before the case's statement, in its transaction.
BEFORE = {"select 1 /* after an error */": ("select 1/0",)}

PROTOCOLS = ("simple", "extended", "jdbc")
JAR = Path("/usr/share/java/postgresql.jar")
JDBC_SOURCE = Path(__file__).parent / "java" / "JdbcErrors.java"
FIELDS = ("message", "detail", "hint", "position")

_NO_TYPES = "DuckDB's message does not give the argument types"
_NO_POSITION = "DuckDB reports no position for this error"
_BOTH = PROTOCOLS  # every protocol

#: (statement, field) -> (reason, the protocols it applies to).
DIFFERENT: dict[tuple[str, str], tuple[str, tuple[str, ...]]] = {
    ("create table nosuch.x(a int)", "position"): (_NO_POSITION, _BOTH),
    ("insert into t(id, zz) values (9, 1)", "position"): (_NO_POSITION, _BOTH),
    ("select nosuch_function(1)", "message"): (_NO_TYPES, _BOTH),
    ("insert into t values (5, 'a', 5, 1, 5, 'z', 'extra')", "position"): (_NO_POSITION, _BOTH),
    ("insert into nosuch values (1)", "position"): (_NO_POSITION, _BOTH),
    ("insert into w values (8), (8)", "message"):
        ("DuckDB names neither the constraint nor its columns for duplicates within one "
         "statement", _BOTH),
    ("insert into w values (8), (8)", "detail"):
        ("DuckDB names neither the constraint nor its columns for duplicates within one "
         "statement", _BOTH),
    ("select nextval('nosuch')", "position"): (_NO_POSITION, _BOTH),
    ("truncate nosuch", "position"):
        ("DuckDB places the error; PostgreSQL gives TRUNCATE's errors no position", _BOTH),
    ("select current_setting('nosuch.setting')", "message"):
        ("current_setting() of an unknown setting is NULL here, not an error", _BOTH),
    ("select x from (select 1 as x, 2 as x) s", "message"):
        ("DuckDB renames a duplicate column of a subquery instead of failing", _BOTH),
    ("select x from (select 1 as x, 2 as x) s", "position"):
        ("DuckDB renames a duplicate column of a subquery instead of failing", _BOTH),
    ("select 'x'::uuid", "message"):
        ("DuckDB reports a UUID it cannot read as a 128-bit integer it cannot convert", _BOTH),
    ("select id from t group by n", "message"):
        ("DuckDB's message names the column without its table (PostgreSQL: \"t.id\")", _BOTH),
    ("select id, count(*) from t", "message"):
        ("DuckDB's message names the column without its table (PostgreSQL: \"t.id\")", _BOTH),
}


def _outcome(conn: psycopg.Connection, sql: str, params: tuple | None, prepare: bool):
    conn.execute("begin")
    try:
        for statement in BEFORE.get(sql, ()):
            try:
                conn.execute(statement)
            except psycopg.Error:
                pass
        conn.execute(sql, params, prepare=prepare)
    except psycopg.Error as err:
        return _fields(err)
    finally:
        conn.execute("rollback")
    return {"message": ("no error", None), "detail": None, "hint": None, "position": None}


def _fields(err: psycopg.Error) -> dict:
    diag = err.diag
    return {"message": (diag.sqlstate, diag.message_primary), "detail": diag.message_detail,
            "hint": diag.message_hint, "position": diag.statement_position}


def _copy_outcome(conn: psycopg.Connection) -> dict | None:
    """A duplicate key in COPY FROM STDIN: the constraint is named after COPY's table."""
    conn.execute("begin")
    try:
        with conn.cursor().copy("copy w from stdin") as copy:
            copy.write("7\n")
    except psycopg.Error as err:
        return _fields(err)
    finally:
        conn.execute("rollback")
    return None


def _run_all(dsn: str) -> dict:
    results = {}
    with psycopg.connect(dsn, autocommit=True) as conn:
        for statement in SETUP:
            conn.execute(statement)
        for protocol in ("simple", "extended"):
            for sql, params in CASES:
                results[protocol, sql] = _outcome(conn, sql, params, protocol == "extended")
        results["copy"] = _copy_outcome(conn)
    return results


def _jdbc_all(classes: Path, url: str) -> dict:
    """The outcomes pgjdbc reports (prepared statements) for the cases without
    parameters; JdbcErrors runs each in a transaction it rolls back."""
    cases = [sql for sql, params in CASES if params is None]
    lines = [" ".join(base64.b64encode(s.encode()).decode() for s in (*BEFORE.get(sql, ()), sql))
             for sql in cases]
    proc = subprocess.run(["java", "-cp", f"{classes}:{JAR}", "JdbcErrors", url],
                          input="\n".join(lines) + "\n", capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    results = {}
    for sql, line in zip(cases, proc.stdout.split(), strict=True):
        text = base64.b64decode(line).decode()
        if text == "no error":
            results["jdbc", sql] = {"message": ("no error", None), "detail": None,
                                    "hint": None, "position": None}
            continue
        sqlstate, message, detail, hint, position = text.split("\x1f")
        results["jdbc", sql] = {"message": (sqlstate, message), "detail": detail or None,
                                "hint": hint or None,
                                "position": None if position == "0" else position}
    return results


@pytest.fixture(scope="module")
def jdbc_classes(tmp_path_factory) -> Path:
    javac = shutil.which("javac")
    if not (javac and shutil.which("java") and JAR.exists()):
        pytest.fail("needs java, javac and /usr/share/java/postgresql.jar (apt: "
                    "openjdk-17-jdk-headless libpostgresql-jdbc-java)", pytrace=False)
    classes = tmp_path_factory.mktemp("jdbc-errors")
    compiled = subprocess.run([javac, "-encoding", "UTF-8", "-cp", str(JAR), "-d", str(classes),
                               str(JDBC_SOURCE)], capture_output=True, text=True, timeout=300)
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    return classes


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory, pg15_dsn, jdbc_classes):  # noqa: F811
    ours = ServerProcess(tmp_path_factory.mktemp("errors") / "data").start()
    try:
        theirs_dsn = fresh_database(pg15_dsn, "error_messages")
        theirs = _run_all(theirs_dsn)
        mine = _run_all(ours.dsn(dbname="error_messages"))
        pg = dict(part.split("=", 1) for part in pg15_dsn.split())
        theirs |= _jdbc_all(jdbc_classes, f"jdbc:postgresql://{pg['host']}:{pg['port']}/"
                            "error_messages?user=postgres&sslmode=disable")
        mine |= _jdbc_all(jdbc_classes, f"jdbc:postgresql://127.0.0.1:{ours.port}/error_messages"
                          "?sslmode=require&user=postgres&password=postgres")
    finally:
        ours.stop()
    return mine, theirs


def _params():
    for protocol in PROTOCOLS:
        for sql, params in CASES:
            if protocol == "jdbc" and params is not None:
                continue
            for field in FIELDS:
                reason, protocols = DIFFERENT.get((sql, field), (None, ()))
                marks = [pytest.mark.xfail(strict=True, reason=reason)] \
                    if protocol in protocols else []
                yield pytest.param(protocol, sql, field, marks=marks,
                                   id=f"{protocol}-{field}-{sql}")


@pytest.mark.parametrize(("protocol", "sql", "field"), list(_params()))
def test_error_agrees_with_postgresql(outcomes, protocol, sql, field):
    mine, theirs = (side[protocol, sql] for side in outcomes)
    assert theirs["message"][0] != "no error", "the case must fail on PostgreSQL"
    ours_value, their_value = mine[field], theirs[field]
    if field in ("detail", "hint") and (ours_value is None or their_value is None):
        return  # compared where both servers give one
    assert ours_value == their_value


def test_copy_error_agrees_with_postgresql(outcomes):
    mine, theirs = (side["copy"] for side in outcomes)
    assert theirs is not None and mine is not None
    assert mine["message"] == theirs["message"]
    assert mine["detail"] == theirs["detail"]


def test_moved_position_follows_the_clients_tokens():
    from duckgres_trio.sql.statements import moved_position

    text, ran = "select 'x'::int", "SELECT CAST('x' AS int4) AS int4"
    assert moved_position(ran.index("CAST") + 1, ran, text) == text.index("'x'") + 1
    text, ran = "select f(1) from pg_class", "SELECT f(1) AS f FROM pg_compat.main.pg_class"
    assert moved_position(ran.index("f(") + 1, ran, text) == text.index("f(") + 1
    assert moved_position(ran.rindex("pg_class") + 1, ran, text) == text.index("pg_class") + 1
    assert moved_position(ran.index("AS f") + 4, ran, text) is None  # the alias it added
    assert moved_position(ran.index("pg_compat") + 1, ran, text) is None
    assert moved_position(ran.index("(1)") + 2, ran, text) == text.index("(1)") + 2
    assert moved_position(ran.index("ELECT") + 1, ran, text) is None  # inside a token
