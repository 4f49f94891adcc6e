"""asyncpg against a real server process, over TLS with SCRAM (the defaults).

asyncpg speaks only the extended query protocol, asks for BINARY results for every
column, encodes every parameter in binary according to the ParameterDescription the
server answers to Describe, and caches named prepared statements per connection. When
it meets a type OID it has no built-in codec for (int4[] among others) it sends its type
introspection query against pg_catalog (pg_type, pg_namespace, pg_range, ...).

asyncpg is asyncio-based and the suite runs under pytest-trio (``trio_mode = true``), so
every test here is a plain sync function that runs its coroutine with ``asyncio.run``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
import uuid
from decimal import Decimal

import asyncpg
import pytest

# asyncpg's StartupMessage always carries ``client_encoding`` = ``'utf-8'`` *with* the
# quotes (asyncpg/protocol/coreproto.pyx). PostgreSQL accepts that because its encoding
# lookup (clean_encoding_name) ignores every non-alphanumeric character; this server does
# not yet (see test_connect_with_asyncpg_defaults). Every other test overrides the
# parameter (a later startup key wins) so that they exercise the rest of the protocol;
# remove the override once the server accepts asyncpg's own value.
_STARTUP_WORKAROUND = {"client_encoding": "UTF8"}


def _ssl_context() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


async def connect(server, database: str = "postgres", **kw) -> asyncpg.Connection:
    kw.setdefault("server_settings", dict(_STARTUP_WORKAROUND))
    return await asyncpg.connect(host="127.0.0.1", port=server.port, user="postgres",
                                 password="postgres", database=database,
                                 ssl=_ssl_context(), **kw)


def run(coro):
    return asyncio.run(coro)


class QueryLog:
    """Every query asyncpg runs on a connection (including its introspection queries),
    so a failure can say exactly what asyncpg sent and what the server answered."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.records: list = []
        conn.add_query_logger(self.records.append)

    def describe(self) -> str:
        lines = []
        for r in self.records:
            outcome = "ok" if r.exception is None else (
                f"{type(r.exception).__name__} "
                f"[{getattr(r.exception, 'sqlstate', '?')}]: {r.exception}")
            lines.append(f"--- query (args={r.args!r}) -> {outcome}\n{r.query.strip()}")
        return "\n".join(lines)


async def _with_log(conn: asyncpg.Connection, coro_fn):
    log = QueryLog(conn)
    try:
        return await coro_fn()
    except Exception as exc:
        await asyncio.sleep(0)  # query loggers are called with call_soon
        await asyncio.sleep(0)
        exc.add_note("queries asyncpg sent on this connection:\n" + log.describe())
        raise


# -- connecting ---------------------------------------------------------------------------


def test_connect_with_asyncpg_defaults(server):
    """No workaround: asyncpg's own startup packet (client_encoding="'utf-8'")."""

    async def main():
        conn = await asyncpg.connect(host="127.0.0.1", port=server.port, user="postgres",
                                     password="postgres", database="postgres",
                                     ssl=_ssl_context())
        try:
            assert await conn.fetchval("SELECT 42") == 42
            assert conn.get_settings().client_encoding == "UTF8"
        finally:
            await conn.close()

    run(main())


def test_select_42_over_tls_with_scram(server):
    async def main():
        conn = await connect(server)
        try:
            assert await conn.fetchval("SELECT 42") == 42
            assert conn.get_server_version().major == 15
            assert conn.get_settings().server_version.startswith("15.")
            assert conn.get_server_pid() > 0
            assert conn.get_settings().TimeZone == "UTC"
            assert not conn.is_in_transaction()
        finally:
            await conn.close()

    run(main())


# -- types ------------------------------------------------------------------------------------

UUID_VALUE = uuid.UUID("5f0e0a4c-1b9a-4d8e-9e5e-2f6a3b7c8d9e")

# (DuckDB DDL type, SQL literal, the Python value asyncpg must give back / accept)
TYPE_CASES = [
    ("BOOLEAN", "true", True),
    ("BOOLEAN", "false", False),
    ("SMALLINT", "(-32768)::SMALLINT", -32768),
    ("INTEGER", "2147483647::INTEGER", 2147483647),
    ("BIGINT", "(-9223372036854775808)::BIGINT", -9223372036854775808),
    ("REAL", "1.5::REAL", 1.5),
    ("DOUBLE", "0.1::DOUBLE", 0.1),
    ("DOUBLE", "'-Infinity'::DOUBLE", float("-inf")),
    ("DECIMAL(10,4)", "123.4500::DECIMAL(10,4)", Decimal("123.4500")),
    ("DECIMAL(38,10)", "(-12345678901234567890.0123456789)::DECIMAL(38,10)",
     Decimal("-12345678901234567890.0123456789")),
    ("DECIMAL(18,3)", "(-0.001)::DECIMAL(18,3)", Decimal("-0.001")),
    ("VARCHAR", "'héllo ✓'", "héllo ✓"),
    ("VARCHAR", "''", ""),
    ("TEXT", "'a\"b''c'::TEXT", "a\"b'c"),
    ("BLOB", "'\\x00\\xff\\x10'::BLOB", b"\x00\xff\x10"),
    ("DATE", "DATE '2024-02-29'", dt.date(2024, 2, 29)),
    ("TIME", "TIME '13:14:15.123456'", dt.time(13, 14, 15, 123456)),
    ("TIMETZ", "TIMETZ '12:34:56+02'",
     dt.time(12, 34, 56, tzinfo=dt.timezone(dt.timedelta(hours=2)))),
    ("TIMESTAMP", "TIMESTAMP '2024-01-02 03:04:05.5'", dt.datetime(2024, 1, 2, 3, 4, 5, 500000)),
    ("TIMESTAMPTZ", "TIMESTAMPTZ '2024-06-01 12:00:00.25+02'",
     dt.datetime(2024, 6, 1, 10, 0, 0, 250000, tzinfo=dt.timezone.utc)),
    ("INTERVAL", "INTERVAL '1 day 02:03:04.5'",
     dt.timedelta(days=1, hours=2, minutes=3, seconds=4, microseconds=500000)),
    ("INTERVAL", "INTERVAL '-1 day -00:00:01'", dt.timedelta(days=-1, seconds=-1)),
    ("UUID", f"'{UUID_VALUE}'::UUID", UUID_VALUE),
    ("JSON", "'{\"a\": [1, 2], \"b\": null}'::JSON", '{"a": [1, 2], "b": null}'),
    ("VARCHAR[]", "['a b', NULL, '', '{x}']", ["a b", None, "", "{x}"]),
    ("VARCHAR[][]", "[['a', NULL], ['b', 'c']]", [["a", None], ["b", "c"]]),
    ("VARCHAR[]", "[]::VARCHAR[]", []),
    ("INTEGER[]", "[1, NULL, 3]", [1, None, 3]),
    ("INTEGER[][]", "[[1, 2], [NULL, 4]]", [[1, 2], [None, 4]]),
    ("BIGINT[]", "[1::BIGINT, NULL]", [1, None]),
]

_IDS = [f"{ddl}:{literal}" for ddl, literal, _ in TYPE_CASES]
TYPE_CASES = [pytest.param(*case, id=case_id) for case, case_id in zip(TYPE_CASES, _IDS)]

# DuckDB compares intervals field by field after a truncating normalisation, so the
# interval asyncpg sends for timedelta(days=-1, seconds=-1) -- (0 months, -2 days,
# +86399 s), Python's normal form -- is not equal to INTERVAL '-1 day -00:00:01' in DuckDB
# (it is in PostgreSQL). test_negative_interval_parameter_equals_literal covers that
# separately; the generic tests do not compare that case with "=" in SQL.
_SQL_EQUALITY_DIFFERS = {("INTERVAL", "INTERVAL '-1 day -00:00:01'")}


def _same(value, expected) -> None:
    assert value == expected
    if isinstance(expected, uuid.UUID):
        assert isinstance(value, uuid.UUID)  # asyncpg's own (faster) uuid.UUID subclass
    else:
        assert type(value) is type(expected)
    if isinstance(expected, (dt.time, dt.datetime)):
        assert value.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize("ddl, literal, expected", TYPE_CASES)
def test_literal_in_binary_results(server, ddl, literal, expected):
    async def main():
        conn = await connect(server)
        try:
            async def check():
                _same(await conn.fetchval(f"SELECT {literal}"), expected)
                assert await conn.fetchval(f"SELECT NULL::{ddl}") is None
                row = await conn.fetchrow(f"SELECT {literal} AS v, NULL::{ddl} AS n, 1 AS one")
                _same(row["v"], expected)
                assert row["n"] is None and row["one"] == 1

            await _with_log(conn, check)
        finally:
            await conn.close()

    run(main())


@pytest.mark.parametrize("ddl, literal, expected", TYPE_CASES)
def test_parameter_round_trip(server, ddl, literal, expected):
    async def main():
        conn = await connect(server)
        try:
            async def check():
                _same(await conn.fetchval(f"SELECT $1::{ddl}", expected), expected)
                assert await conn.fetchval(f"SELECT $1::{ddl}", None) is None
                # the value from a literal equals the one bound as a parameter
                if (ddl, literal) not in _SQL_EQUALITY_DIFFERS:
                    assert await conn.fetchval(f"SELECT $1::{ddl} = {literal}",
                                               expected) is True

            await _with_log(conn, check)
        finally:
            await conn.close()

    run(main())


@pytest.mark.parametrize("ddl, literal, expected", TYPE_CASES)
def test_insert_parameters_then_select(server, ddl, literal, expected):
    async def main():
        conn = await connect(server, database="apg_types")
        table = f"t_{_IDS.index(f'{ddl}:{literal}')}"
        try:
            async def check():
                await conn.execute(f"CREATE OR REPLACE TABLE {table} (id INTEGER, v {ddl})")
                status = await conn.execute(f"INSERT INTO {table} VALUES ($1, $2)", 1, expected)
                assert status == "INSERT 0 1"
                await conn.execute(f"INSERT INTO {table} VALUES ($1, $2)", 2, None)
                await conn.execute(f"INSERT INTO {table} VALUES (3, {literal})")
                rows = await conn.fetch(f"SELECT id, v FROM {table} ORDER BY id")
                assert [r["id"] for r in rows] == [1, 2, 3]
                _same(rows[0]["v"], expected)
                assert rows[1]["v"] is None
                _same(rows[2]["v"], expected)
                # and back as a parameter in WHERE, typed by DuckDB from the column
                if (ddl not in ("JSON", "REAL", "DOUBLE") and not ddl.endswith("]")
                        and (ddl, literal) not in _SQL_EQUALITY_DIFFERS):
                    ids = await conn.fetch(f"SELECT id FROM {table} WHERE v = $1 ORDER BY id",
                                           expected)
                    assert [r["id"] for r in ids] == [1, 3]

            await _with_log(conn, check)
        finally:
            await conn.close()

    run(main())


WIDE_COLUMNS = [
    ("b", "BOOLEAN", True),
    ("i2", "SMALLINT", 12),
    ("i4", "INTEGER", -34),
    ("i8", "BIGINT", 2**40),
    ("f4", "REAL", 0.5),
    ("f8", "DOUBLE", 1e300),
    ("n", "DECIMAL(12,3)", Decimal("-123456789.125")),
    ("s", "VARCHAR", "it's"),
    ("bl", "BLOB", b"\x00\x01\xfe"),
    ("d", "DATE", dt.date(1999, 12, 31)),
    ("t", "TIME", dt.time(23, 59, 59, 999999)),
    ("ts", "TIMESTAMP", dt.datetime(2000, 1, 1, 0, 0, 0, 1)),
    ("tz", "TIMESTAMPTZ", dt.datetime(2020, 2, 29, 23, 0, tzinfo=dt.timezone.utc)),
    ("iv", "INTERVAL", dt.timedelta(days=3, seconds=7)),
    ("u", "UUID", UUID_VALUE),
    ("j", "JSON", '{"k": "v"}'),
    ("sa", "VARCHAR[]", ["x", None]),
]


def test_insert_all_scalar_types_in_one_statement(server):
    """INSERT ... VALUES ($1, ..., $17), then SELECT back: a row of values and a row of NULLs."""

    async def main():
        conn = await connect(server, database="apg_wide")
        try:
            async def check():
                cols = ", ".join(f"{name} {ddl}" for name, ddl, _ in WIDE_COLUMNS)
                await conn.execute(f"CREATE OR REPLACE TABLE wide (id INTEGER, {cols})")
                marks = ", ".join(f"${i + 2}" for i in range(len(WIDE_COLUMNS)))
                insert = f"INSERT INTO wide VALUES ($1, {marks})"
                await conn.execute(insert, 1, *[v for _, _, v in WIDE_COLUMNS])
                await conn.execute(insert, 2, *[None] * len(WIDE_COLUMNS))
                rows = await conn.fetch("SELECT * FROM wide ORDER BY id")
                assert len(rows) == 2
                for name, _, value in WIDE_COLUMNS:
                    _same(rows[0][name], value)
                    assert rows[1][name] is None, name

            await _with_log(conn, check)
        finally:
            await conn.close()

    run(main())


@pytest.mark.xfail(strict=True, reason="DuckDB compares intervals field by field, "
                   "PostgreSQL by their total span")
def test_negative_interval_parameter_equals_literal(server):
    """PostgreSQL: '-2 days +23:59:59' = '-1 day -00:00:01' (both are -86401 s). asyncpg
    always sends a timedelta in Python's normal form (days < 0, seconds >= 0)."""

    async def main():
        conn = await connect(server)
        try:
            value = dt.timedelta(days=-1, seconds=-1)
            assert await conn.fetchval("SELECT $1::INTERVAL", value) == value
            assert await conn.fetchval(
                "SELECT $1::INTERVAL = INTERVAL '-1 day -00:00:01'", value) is True
        finally:
            await conn.close()

    run(main())


def test_array_parameters(server):
    """int[] / bigint[] parameters: asyncpg looks their codecs up in pg_type first."""

    async def main():
        conn = await connect(server)
        try:
            async def check():
                assert await conn.fetchval("SELECT $1::INTEGER[]", [1, None, 3]) == [1, None, 3]
                assert await conn.fetchval("SELECT $1::INTEGER[][]",
                                           [[1, None], [3, 4]]) == [[1, None], [3, 4]]
                assert await conn.fetchval("SELECT $1::BIGINT[]", [2**40]) == [2**40]
                assert await conn.fetchval("SELECT list_sum($1::INTEGER[])", [1, 2, 3]) == 6

            await _with_log(conn, check)
        finally:
            await conn.close()

    run(main())


# -- executemany, prepared statements ------------------------------------------------------------


def test_executemany_1000_rows(server):
    async def main():
        conn = await connect(server, database="apg_many")
        try:
            await conn.execute("CREATE OR REPLACE TABLE m (id INTEGER PRIMARY KEY, name VARCHAR, "
                               "amount DECIMAL(10,2), created TIMESTAMP)")
            base = dt.datetime(2024, 1, 1)
            rows = [(i, f"name {i}", Decimal(i) / 4, base + dt.timedelta(minutes=i))
                    for i in range(1000)]
            assert await conn.executemany("INSERT INTO m VALUES ($1, $2, $3, $4)", rows) is None
            assert await conn.fetchval("SELECT count(*) FROM m") == 1000
            assert await conn.fetchval("SELECT sum(id) FROM m") == sum(range(1000))
            got = await conn.fetch("SELECT * FROM m ORDER BY id")
            assert [tuple(r) for r in got] == [
                (i, n, a.quantize(Decimal("0.01")), t) for i, n, a, t in rows]
        finally:
            await conn.close()

    run(main())


def test_executemany_is_atomic(server):
    """asyncpg pipelines Bind/Execute for every row and Syncs once: one implicit
    transaction, so a failing row rolls back the rows before it (as in PostgreSQL)."""

    async def main():
        conn = await connect(server, database="apg_many_atomic")
        try:
            await conn.execute("CREATE OR REPLACE TABLE a (id INTEGER PRIMARY KEY)")
            rows = [(i,) for i in range(100)] + [(5,)] + [(i,) for i in range(100, 200)]
            with pytest.raises(asyncpg.UniqueViolationError):
                await conn.executemany("INSERT INTO a VALUES ($1)", rows)
            assert not conn.is_in_transaction()
            assert await conn.fetchval("SELECT count(*) FROM a") == 0
            await conn.executemany("INSERT INTO a VALUES ($1)", [(1,), (2,)])
            assert await conn.fetchval("SELECT count(*) FROM a") == 2
        finally:
            await conn.close()

    run(main())


def test_prepared_statement_reused_1000_times(server):
    async def main():
        conn = await connect(server)
        try:
            stmt = await conn.prepare(
                "SELECT $1::INTEGER * 2 AS doubled, $2::VARCHAR || '!' AS shout, "
                "$3::DATE + $1::INTEGER AS later")
            assert [t.name for t in stmt.get_parameters()] == ["int4", "text", "date"]
            assert [(a.name, a.type.name) for a in stmt.get_attributes()] == [
                ("doubled", "int4"), ("shout", "text"), ("later", "date")]
            day = dt.date(2024, 1, 1)
            for i in range(1000):
                row = await stmt.fetchrow(i, f"v{i}", day)
                assert tuple(row) == (2 * i, f"v{i}!", day + dt.timedelta(days=i))
            assert await stmt.fetchval(7, "x", day) == 14
        finally:
            await conn.close()

    run(main())


def test_prepared_statement_with_null_arguments(server):
    """NULL arguments never change a PostgreSQL statement's result types."""

    async def main():
        conn = await connect(server)
        try:
            stmt = await conn.prepare(
                "SELECT $1::INTEGER * 2 AS doubled, $2::VARCHAR || '!' AS shout")
            assert tuple(await stmt.fetchrow(1, "a")) == (2, "a!")
            assert tuple(await stmt.fetchrow(None, None)) == (None, None)
            assert tuple(await stmt.fetchrow(2, "b")) == (4, "b!")
        finally:
            await conn.close()

    run(main())


def test_prepared_statement_on_a_table(server):
    async def main():
        conn = await connect(server, database="apg_prep_table")
        try:
            await conn.execute("CREATE OR REPLACE TABLE p AS "
                               "SELECT range::INTEGER AS id, 'n' || range AS name FROM range(100)")
            lookup = await conn.prepare("SELECT name FROM p WHERE id = $1")
            for i in range(100):
                assert await lookup.fetchval(i) == f"n{i}"
            assert await lookup.fetchval(1000) is None
            between = await conn.prepare("SELECT id FROM p WHERE id BETWEEN $1 AND $2 "
                                         "ORDER BY id LIMIT $3")
            assert [r[0] for r in await between.fetch(10, 50, 3)] == [10, 11, 12]
            update = await conn.prepare("UPDATE p SET name = $2 WHERE id < $1")
            await update.fetch(5, "low")
            assert await conn.fetchval("SELECT count(*) FROM p WHERE name = 'low'") == 5
        finally:
            await conn.close()

    run(main())


def test_without_statement_cache_uses_unnamed_statements(server):
    async def main():
        conn = await connect(server, statement_cache_size=0)
        try:
            for i in range(50):
                assert await conn.fetchval("SELECT $1::BIGINT + 1", i) == i + 1
            assert await conn.fetchval("SELECT 'x'") == "x"
        finally:
            await conn.close()

    run(main())


# -- errors ---------------------------------------------------------------------------------------

ERROR_CASES = [
    ("SELECT * FROM no_such_table", (), asyncpg.UndefinedTableError, "42P01"),
    ("SELECT no_such_column FROM (SELECT 1 AS a)", (), asyncpg.UndefinedColumnError, "42703"),
    ("SELEKT 1", (), asyncpg.PostgresSyntaxError, "42601"),
    ("SELECT 'x'::INTEGER", (), asyncpg.InvalidTextRepresentationError, "22P02"),
    ("SELECT no_such_function(1)", (), asyncpg.UndefinedFunctionError, "42883"),
    ("SELECT * FROM no_such_table WHERE a = $1", (1,), asyncpg.UndefinedTableError, "42P01"),
    ("SELECT $1::VARCHAR::INTEGER", ("abc",), asyncpg.InvalidTextRepresentationError, "22P02"),
]


@pytest.mark.parametrize("sql, args, exc_class, sqlstate", ERROR_CASES,
                         ids=[c[0] for c in ERROR_CASES])
def test_errors_map_to_asyncpg_exceptions(server, sql, args, exc_class, sqlstate):
    async def main():
        conn = await connect(server)
        try:
            for _ in range(2):  # the second time, asyncpg must not reuse a broken statement
                with pytest.raises(exc_class) as info:
                    await conn.fetch(sql, *args)
                assert info.value.sqlstate == sqlstate
                assert not conn.is_in_transaction()
                assert await conn.fetchval("SELECT $1::INTEGER + 1", 1) == 2
        finally:
            await conn.close()

    run(main())


def test_unique_violation_and_connection_keeps_working(server):
    async def main():
        conn = await connect(server, database="apg_uniq")
        try:
            await conn.execute("CREATE OR REPLACE TABLE u (id INTEGER PRIMARY KEY)")
            await conn.execute("INSERT INTO u VALUES ($1)", 1)
            with pytest.raises(asyncpg.UniqueViolationError) as info:
                await conn.execute("INSERT INTO u VALUES ($1)", 1)
            assert info.value.sqlstate == "23505"
            await conn.execute("INSERT INTO u VALUES ($1)", 2)
            assert await conn.fetchval("SELECT count(*) FROM u") == 2
        finally:
            await conn.close()

    run(main())


def test_error_inside_transaction_then_rollback(server):
    async def main():
        conn = await connect(server, database="apg_txn_err")
        try:
            await conn.execute("CREATE OR REPLACE TABLE e (v INTEGER)")
            tr = conn.transaction()
            await tr.start()
            assert conn.is_in_transaction()
            await conn.execute("INSERT INTO e VALUES ($1)", 1)
            with pytest.raises(asyncpg.UndefinedTableError):
                await conn.fetch("SELECT * FROM nope")
            with pytest.raises(asyncpg.InFailedSQLTransactionError) as info:
                await conn.fetchval("SELECT 1")
            assert info.value.sqlstate == "25P02"
            await tr.rollback()
            assert not conn.is_in_transaction()
            assert await conn.fetchval("SELECT count(*) FROM e") == 0
        finally:
            await conn.close()

    run(main())


# -- transactions, cursors --------------------------------------------------------------------------


def test_transaction_commit_and_rollback(server):
    async def main():
        conn = await connect(server, database="apg_txn")
        other = await connect(server, database="apg_txn")
        try:
            await conn.execute("CREATE OR REPLACE TABLE acct (id INTEGER, v INTEGER)")
            async with conn.transaction():
                assert conn.is_in_transaction()
                await conn.execute("INSERT INTO acct VALUES ($1, $2)", 1, 10)
                assert await conn.fetchval("SELECT count(*) FROM acct") == 1
                assert await other.fetchval("SELECT count(*) FROM acct") == 0
            assert not conn.is_in_transaction()
            assert await other.fetchval("SELECT count(*) FROM acct") == 1

            class Boom(Exception):
                pass

            with pytest.raises(Boom):
                async with conn.transaction():
                    await conn.execute("INSERT INTO acct VALUES ($1, $2)", 2, 20)
                    await conn.executemany("INSERT INTO acct VALUES ($1, $2)",
                                           [(3, 30), (4, 40)])
                    assert await conn.fetchval("SELECT count(*) FROM acct") == 4
                    raise Boom
            assert not conn.is_in_transaction()
            assert await conn.fetchval("SELECT count(*) FROM acct") == 1
            assert await other.fetchval("SELECT sum(v) FROM acct") == 10

            with pytest.raises(asyncpg.UndefinedTableError):
                async with conn.transaction():
                    await conn.execute("INSERT INTO acct VALUES (5, 50)")
                    await conn.execute("INSERT INTO nope VALUES (1)")
            assert not conn.is_in_transaction()
            assert await conn.fetchval("SELECT count(*) FROM acct") == 1
        finally:
            await conn.close()
            await other.close()

    run(main())


def test_cursor_over_10000_rows(server):
    async def main():
        conn = await connect(server)
        try:
            async with conn.transaction():
                seen = []
                async for r in conn.cursor("SELECT range AS i, 'r' || range AS s FROM range(10000)",
                                           prefetch=100):
                    seen.append((r["i"], r["s"]))
                assert len(seen) == 10000
                assert seen == [(i, f"r{i}") for i in range(10000)]
            # with a parameter, and with explicit fetch/forward on the portal
            async with conn.transaction():
                cur = await conn.cursor(
                    "SELECT range AS i FROM range(10000) WHERE range >= $1 ORDER BY i", 0)
                first = await cur.fetch(5)
                assert [r["i"] for r in first] == [0, 1, 2, 3, 4]
                assert (await cur.fetchrow())["i"] == 5
                rest = await cur.fetch(20000)
                assert [r["i"] for r in rest] == list(range(6, 10000))
                assert await cur.fetch(10) == []
        finally:
            await conn.close()

    run(main())


def test_cursor_forward(server):
    """Cursor.forward(n) is the SQL statement ``MOVE FORWARD n <portal name>`` on the
    protocol-level portal, as PostgreSQL allows (cursors are portals here too)."""

    async def main():
        conn = await connect(server)
        try:
            async with conn.transaction():
                cur = await conn.cursor("SELECT range AS i FROM range(10000)")
                assert [r["i"] for r in await cur.fetch(5)] == [0, 1, 2, 3, 4]
                assert await cur.forward(995) == 995
                assert (await cur.fetchrow())["i"] == 1000
        finally:
            await conn.close()

    run(main())


def test_table_function_with_parameter_argument(server):
    """The result types of range($1) are only known once $1 is bound (DuckDB reports them
    as UNKNOWN when preparing): Describe plans it with a NULL of the parameter's type."""

    async def main():
        conn = await connect(server)
        try:
            rows = await conn.fetch("SELECT range AS i FROM range($1::BIGINT)", 5)
            assert [r["i"] for r in rows] == [0, 1, 2, 3, 4]
            async with conn.transaction():
                cur = await conn.cursor("SELECT range AS i FROM range($1::BIGINT)", 10000)
                assert [r["i"] for r in await cur.fetch(3)] == [0, 1, 2]
        finally:
            await conn.close()

    run(main())


def test_cursor_interleaved_with_other_queries(server):
    """Other statements run between the cursor's fetches (the server parks the portal)."""

    async def main():
        conn = await connect(server)
        try:
            async with conn.transaction():
                total = 0
                count = 0
                async for r in conn.cursor("SELECT range AS i FROM range(10000)", prefetch=100):
                    total += r["i"]
                    count += 1
                    if count % 1000 == 0:
                        assert await conn.fetchval("SELECT $1::INTEGER", count) == count
                assert count == 10000 and total == sum(range(10000))
        finally:
            await conn.close()

    run(main())


def test_cursor_outside_transaction_is_refused_by_asyncpg(server):
    async def main():
        conn = await connect(server)
        try:
            with pytest.raises(asyncpg.NoActiveSQLTransactionError):
                async for _ in conn.cursor("SELECT 1"):
                    pass
            assert await conn.fetchval("SELECT 1") == 1
        finally:
            await conn.close()

    run(main())
