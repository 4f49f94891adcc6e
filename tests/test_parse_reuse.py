"""A Parse of the text the unnamed statement already holds, with the same declared
parameter types, in the same catalog and settings state, keeps its plan (pgbench -M
extended, drivers' unnamed statements): frontend/extended.py. Anything that can change
what the plan means (DDL by this session or another, SET, temporary objects, a failed
transaction) makes the next Parse plan again, or fail as a fresh one would."""

from __future__ import annotations

import psycopg
import pytest

from duckgres_trio.engine import local
from duckgres_trio.errors import PgError
from duckgres_trio.frontend.extended import ExtendedProtocol
from duckgres_trio.frontend.session import Session
from duckgres_trio.wire import frontend as msg


class _Out:
    def __init__(self) -> None:
        self.data = bytearray()

    def queue(self, data: bytes) -> None:
        self.data += data

    async def flush_if_full(self) -> None:
        pass

    async def flush(self) -> None:
        pass


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
    out = _Out()
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
