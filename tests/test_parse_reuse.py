"""A Parse of the text the unnamed statement already holds, with the same declared
parameter types, in the same catalog and settings state, keeps its plan (pgbench -M
extended, drivers' unnamed statements): frontend/statements.py. Anything that can change
what the plan means (DDL by this session or another, SET, temporary objects, a failed
transaction) makes the next Parse plan again, or fail as a fresh one would. A simple
Query's SELECT seen twice keeps its plan under the same rule (frontend/text_plans.py)."""

from __future__ import annotations

import psycopg
import pytest

from duckgres_trio.engine import local
from duckgres_trio.errors import PgError
from duckgres_trio.frontend.extended import ExtendedProtocol
from duckgres_trio.frontend.session import Session
from duckgres_trio.wire import frontend as msg
from tests.support.output import QueuedOutput
from tests.support.pg15 import pg15_dsn  # noqa: F401 - pytest fixture


async def test_same_parse_plans_once_until_the_catalog_or_settings_change(tmp_path):
    engine = local.LocalEngine(tmp_path)
    session = Session(await engine.open_session("reuse", "u"), "u", {})
    protocol = ExtendedProtocol(session)
    await session.start()
    prepares = []
    real_prepare = session.executor.prepare

    async def counting_prepare(sql):
        prepares.append(sql)
        return await real_prepare(sql)

    session.executor.prepare = counting_prepare
    out = QueuedOutput()
    lookup = msg.Parse("", "SELECT id FROM t WHERE id = $1", ())
    try:
        await session.simple_query("CREATE TABLE t (id INTEGER)", out)
        for _ in range(3):
            await protocol.parse(lookup, out)
        assert len(prepares) == 1
        await protocol.parse(msg.Parse("", lookup.sql, (23,)), out)  # declared
        assert len(prepares) == 2
        await protocol.parse(msg.Parse("", lookup.sql, (23,)), out)
        assert len(prepares) == 2
        await session.simple_query("ALTER TABLE t ADD COLUMN v INTEGER", out)  # DDL
        await protocol.parse(msg.Parse("", lookup.sql, (23,)), out)
        assert len(prepares) == 3
        await session.simple_query("SET TimeZone = 'Europe/Paris'", out)  # settings
        await protocol.parse(msg.Parse("", lookup.sql, (23,)), out)
        assert len(prepares) == 4
        cast = msg.Parse("", "SELECT $1::TEXT::INTEGER AS n", (25,))
        await protocol.parse(cast, out)
        planned = len(prepares)
        await protocol.parse(cast, out)
        assert len(prepares) == planned
        await protocol.bind(msg.Bind("", "", (), (b"x",), ()), out)
        with pytest.raises(PgError):  # a failed Execute: planned again at the next Parse
            await protocol.execute(msg.Execute("", 0), out, sync_next=True)
        await session.after_error()
        await protocol.parse(cast, out)
        assert len(prepares) > planned
        await session.simple_query("CREATE TEMP TABLE x (a INTEGER)", out)  # private
        planned = len(prepares)
        await protocol.parse(msg.Parse("", lookup.sql, (23,)), out)
        await protocol.parse(msg.Parse("", lookup.sql, (23,)), out)
        assert len(prepares) == planned + 2
    finally:
        await session.close()
        await engine.aclose()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from tests.conftest import ServerProcess

    srv = ServerProcess(tmp_path_factory.mktemp("reuse") / "data",
                        ["--auth-method", "trust", "--tls", "disabled"]).start()
    yield srv
    srv.stop()


def _connect(server, **kw) -> psycopg.Connection:
    # prepare_threshold=None: every execute is Parse/Bind/Describe/Execute/Sync of the
    # unnamed statement
    return psycopg.connect(server.dsn(sslmode="disable", dbname="reuse"),
                           prepare_threshold=None, **kw)


def test_reparse_after_ddl_by_this_or_another_session_sees_the_new_columns(server):
    with _connect(server, autocommit=True) as a, _connect(server, autocommit=True) as b:
        a.execute("CREATE TABLE ddl (id INTEGER)")
        a.execute("INSERT INTO ddl VALUES (1)")
        query = "SELECT * FROM ddl WHERE id = %s"
        for _ in range(2):
            cur = a.execute(query, (1,))
            assert [c.name for c in cur.description] == ["id"] and cur.fetchall() == [(1,)]
        b.execute("ALTER TABLE ddl ADD COLUMN note TEXT DEFAULT 'x'")
        cur = a.execute(query, (1,))
        assert [c.name for c in cur.description] == ["id", "note"]
        assert cur.fetchall() == [(1, "x")]
        a.execute("ALTER TABLE ddl DROP COLUMN note")
        cur = a.execute(query, (1,))
        assert [c.name for c in cur.description] == ["id"] and cur.fetchall() == [(1,)]


def test_reparse_follows_search_path(server):
    with _connect(server, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA IF NOT EXISTS other")
        conn.execute("CREATE TABLE IF NOT EXISTS public.which (v TEXT)")
        conn.execute("CREATE TABLE IF NOT EXISTS other.which (v TEXT)")
        conn.execute("INSERT INTO public.which VALUES ('public')")
        conn.execute("INSERT INTO other.which VALUES ('other')")
        query = "SELECT v FROM which WHERE v <> %s"
        assert conn.execute(query, ("",)).fetchall() == [("public",)]
        assert conn.execute(query, ("",)).fetchall() == [("public",)]
        conn.execute("SET search_path = other, public")
        assert conn.execute(query, ("",)).fetchall() == [("other",)]


def test_reparse_in_a_failed_transaction_is_refused(server):
    with _connect(server) as conn:
        query = "SELECT %s::INTEGER + 1"
        assert conn.execute(query, (1,)).fetchone() == (2,)
        with pytest.raises(psycopg.errors.DivisionByZero):
            conn.execute("SELECT 1 / 0")
        with pytest.raises(psycopg.errors.InFailedSqlTransaction):
            conn.execute(query, (1,))
        conn.rollback()
        assert conn.execute(query, (1,)).fetchone() == (2,)


@pytest.mark.mode_independent  # an in-process engine, no server
async def test_repeated_simple_select_plans_once_until_the_catalog_or_settings_change(tmp_path):
    engine = local.LocalEngine(tmp_path)
    session = Session(await engine.open_session("textplans", "u"), "u", {})
    await session.start()
    prepares = []
    real_prepare = session.executor.prepare

    async def counting_prepare(sql):
        prepares.append(sql)
        return await real_prepare(sql)

    session.executor.prepare = counting_prepare
    out = QueuedOutput()
    try:
        await session.simple_query("CREATE TABLE t (id INTEGER)", out)
        for n in range(3):  # texts seen once run as they did: no plan kept (a constant
            # in the select list stays in the text: tests/test_simple_plans.py)
            await session.simple_query(f"SELECT id + {n} FROM t", out)
        assert prepares == []
        for _ in range(4):
            await session.simple_query("SELECT count(*) FROM t", out)
        assert len(prepares) == 1  # at the second sighting, then kept
        await session.simple_query("ALTER TABLE t ADD COLUMN v TEXT", out)
        await session.simple_query("SELECT count(*) FROM t", out)
        await session.simple_query("SET TimeZone = 'Europe/Paris'", out)
        await session.simple_query("SELECT count(*) FROM t", out)
        await session.simple_query("SELECT count(*) FROM t", out)
        assert len(prepares) == 3
        errors = []
        for _ in range(3):  # a parameter in a simple Query: the same error each time
            out.data.clear()
            await session.simple_query("SELECT $1::INTEGER", out)
            errors.append(bytes(out.data))
        assert errors[0].startswith(b"E") and errors[0] == errors[1] == errors[2]
    finally:
        await session.close()
        await engine.aclose()


def _simple(conn: psycopg.Connection, sql: str) -> tuple[list[str], list[tuple]]:
    """Column names and text rows of a simple-protocol Query (libpq's PQexec)."""
    res = conn.pgconn.exec_(sql.encode())
    if res.error_message:
        raise AssertionError(res.error_message.decode())
    names = [res.fname(i).decode() for i in range(res.nfields)]
    rows = [tuple(None if res.get_value(r, c) is None else res.get_value(r, c).decode()
                  for c in range(res.nfields)) for r in range(res.ntuples)]
    return names, rows


def test_repeated_simple_select_follows_ddl_and_settings(server):
    with _connect(server, autocommit=True) as a, _connect(server, autocommit=True) as b:
        a.execute("CREATE TABLE simple_ddl (id INTEGER)")
        a.execute("INSERT INTO simple_ddl VALUES (1)")
        for _ in range(3):
            assert _simple(a, "SELECT * FROM simple_ddl") == (["id"], [("1",)])
        b.execute("ALTER TABLE simple_ddl ADD COLUMN note TEXT DEFAULT 'x'")
        assert _simple(a, "SELECT * FROM simple_ddl") == (["id", "note"], [("1", "x")])
        a.execute("ALTER TABLE simple_ddl DROP COLUMN note")
        assert _simple(a, "SELECT * FROM simple_ddl") == (["id"], [("1",)])
        when = "SELECT TIMESTAMPTZ '2020-01-01 12:00:00+00' AS t"
        for _ in range(3):
            assert _simple(a, when) == (["t"], [("2020-01-01 12:00:00+00",)])
        _simple(a, "SET TimeZone = 'Europe/Paris'")
        assert _simple(a, when) == (["t"], [("2020-01-01 13:00:00+01",)])
        assert _simple(a, when) == (["t"], [("2020-01-01 13:00:00+01",)])


def test_repeated_simple_select_answers_as_the_plain_run(server):
    """A kept plan reads the data as it is now; what fails answers as each plain run
    did (the error, every time)."""
    with _connect(server, autocommit=True) as conn:
        conn.execute("CREATE TABLE simple_rows (k TEXT)")
        query = "SELECT k FROM simple_rows ORDER BY k"
        for _ in range(3):
            assert _simple(conn, query) == (["k"], [])
        conn.execute("INSERT INTO simple_rows VALUES ('a')")
        assert _simple(conn, query) == (["k"], [("a",)])
        failing = "SELECT CAST(k AS INTEGER) FROM simple_rows"
        errors = [conn.pgconn.exec_(failing.encode()).error_field(ord("C")) for _ in range(3)]
        assert errors[0] and errors == [errors[0]] * 3, errors
        conn.execute("DELETE FROM simple_rows")
        assert _simple(conn, failing) == (["k"], [])


def test_a_repeated_simple_select_that_fails_runs_once(server, pg15_dsn):  # noqa: F811
    """A kept plan that runs and fails reports that error without running again:
    each failed run advances the sequence once, as on PostgreSQL 15."""
    failing = "SELECT ('x' || nextval('simple_once'))::int"

    def counted(conn: psycopg.Connection) -> int:
        conn.execute("DROP SEQUENCE IF EXISTS simple_once")
        conn.execute("CREATE SEQUENCE simple_once")
        for _ in range(3):
            assert conn.pgconn.exec_(failing.encode()).error_field(ord("C")) == b"22P02"
        return conn.execute("SELECT nextval('simple_once')").fetchone()[0]

    with _connect(server, autocommit=True) as conn:
        ours = counted(conn)
    with psycopg.connect(pg15_dsn, autocommit=True) as conn:
        assert ours == counted(conn) == 4
