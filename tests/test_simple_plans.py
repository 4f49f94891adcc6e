"""Simple-protocol SELECTs that differ only in a constant share one kept plan, the
constant bound as a parameter (sql/autoparam.py, frontend/text_plans.py), and answer
exactly as the plain run and PostgreSQL 15 do: the same RowDescription (names, type
OIDs, typmods), rows and errors, whatever the constant's size against int2/int4/int8,
numeric and float columns."""

from __future__ import annotations

import psycopg
import pytest

from duckgres_trio.engine import local
from duckgres_trio.frontend.session import Session
from duckgres_trio.sql import autoparam, split_statements
from duckgres_trio.sql import statements as sql_statements
from tests.support.output import QueuedOutput
from tests.support.pg15 import fresh_database, pg15_dsn  # noqa: F401 - pytest fixture


# -- which constants are taken (no server) ------------------------------------------

def _bound(sql: str) -> str | None:
    constants = split_statements(sql)[0].constants
    return None if constants is None else constants.text


@pytest.mark.mode_independent
@pytest.mark.parametrize("sql, expected", [
    ("SELECT abalance FROM pgbench_accounts WHERE aid = 48213",
     "SELECT abalance FROM pgbench_accounts WHERE aid = $1::INTEGER"),
    ("SELECT a FROM t WHERE t.a >= 3000000000 AND 7 < b",
     "SELECT a FROM t WHERE t.a >= $1::BIGINT AND $2::INTEGER < b"),
    ("SELECT a FROM t WHERE (a = 1 OR \"B\" <> 2) ORDER BY 1 LIMIT 5",
     "SELECT a FROM t WHERE (a = $1::INTEGER OR \"B\" <> $2::INTEGER) ORDER BY 1 LIMIT 5"),
    ("SELECT a FROM t WHERE a IN (SELECT b FROM u WHERE c = 4)",
     "SELECT a FROM t WHERE a IN (SELECT b FROM u WHERE c = $1::INTEGER)"),
    # a unary minus belongs to the constant; the type is its digits' (DuckDB's literal)
    ("SELECT a FROM t WHERE a = -5 AND -7 < b AND (c <> - 2147483648)",
     "SELECT a FROM t WHERE a = $1::INTEGER AND $2::INTEGER < b AND (c <> $3::BIGINT)"),
    ("SELECT a FROM t WHERE NOT -1 = a", "SELECT a FROM t WHERE NOT $1::INTEGER = a"),
    ("SELECT a FROM t WHERE a=-5", "SELECT a FROM t WHERE a=$1::INTEGER"),  # "=", "-", "5"
])
def test_bound_constants(sql, expected):
    assert _bound(sql) == expected


@pytest.mark.mode_independent
@pytest.mark.parametrize("sql", [
    "SELECT a = 5 FROM t",  # select list: names the column
    "SELECT (a = 5) FROM t WHERE b = 'x'",
    "SELECT a FROM t WHERE a = 9223372036854775808",  # past int64: NUMERIC
    "SELECT a FROM t WHERE a = -9223372036854775808",  # digits past int64
    "SELECT a FROM t WHERE a - 5 = b",  # a binary minus
    "SELECT a FROM t WHERE a = 3 - -5",
    "SELECT a FROM t WHERE a = - -5",
    "SELECT a FROM t WHERE a = -5.0",
    "SELECT a FROM t WHERE a = -5::bigint",
    "SELECT a FROM t WHERE a = 5.0",
    "SELECT a FROM t WHERE a = '5'",
    "SELECT a FROM t WHERE a = 5::bigint",
    "SELECT a FROM t WHERE a::int = 5",
    "SELECT a FROM t WHERE a + 1 = 5",
    "SELECT a FROM t WHERE a = 5 + 1",
    "SELECT a FROM t WHERE x BETWEEN 1 AND a = 5",
    "SELECT a FROM t WHERE a IN (5)",
    "SELECT a FROM t WHERE a = $1",
    "SELECT a FROM t LIMIT 5",
    "SELECT a FROM t JOIN u ON u.b = 5",
    "SELECT count(*) FILTER (WHERE a = 5) FROM t",
    "SELECT (SELECT max(b) FROM u WHERE c = 5) FROM t",
    "SELECT a FROM t WHERE current_date = 5",
])
def test_constants_left_in_the_text(sql):
    assert _bound(sql) is None


@pytest.mark.mode_independent
@pytest.mark.parametrize("shape, sign", [
    ("WITH shape_cte AS (SELECT k FROM shape_t WHERE k = {}) SELECT * FROM shape_cte", 1),
    ("WITH shape_cte AS (SELECT k FROM shape_t WHERE k = -{}) SELECT * FROM shape_cte", -1),
])
def test_a_known_shape_is_not_translated_again(monkeypatch, shape, sign):
    """The third and later Queries of a shape are the first one's statement with the
    new constant put in: no translation (pglast) for them, the same statement."""
    calls = []
    real = sql_statements.translate
    monkeypatch.setattr(sql_statements, "translate", lambda text: calls.append(text) or real(text))
    statements = [split_statements(shape.format(n))[0] for n in (101, 102, 103, 104)]
    assert len(calls) == 2  # the first text, and the second (which checked the shape)
    for n, stmt in zip((101, 102, 103, 104), statements):
        assert stmt.text == shape.format(n)
        assert stmt.constants.values == (sign * n,)
        assert (stmt,) == sql_statements._split(shape.format(n))


@pytest.mark.mode_independent
@pytest.mark.parametrize("shape, constants", [
    (" /* v2 */ SELECT c1 FROM t9 WHERE c1 = {} AND c2 <> {} ;  ",
     [(1, 2), (30, 4), (5, 600), (2147483647, 0), (2147483648, 1), (7, 8)]),
    ("SELECT x FROM shape_q WHERE x = {} LIMIT 10", [(1,), (2,), (3,), (12345678901,), (4,)]),
    ("SELECT x FROM shape_neg WHERE x = -{} AND -{} < y", [(1, 2), (3, 4), (2147483648, 5),
                                                          (6, 2147483647), (7, 8)]),
])
def test_shaped_split_is_the_full_split(shape, constants):
    for values in constants:
        sql = shape.format(*values)
        assert split_statements(sql) == list(sql_statements._split(sql)), sql


@pytest.mark.mode_independent
def test_other_numbers_of_a_shape_are_split_in_full():
    """Queries with the same text but for digits outside the constants (a column
    ``a1`` against ``a2``) are different statements."""
    for n in range(3):
        assert split_statements(f"SELECT a1 FROM other_digits WHERE k = {n}")[0].text \
            == f"SELECT a1 FROM other_digits WHERE k = {n}"
    stmt = split_statements("SELECT a2 FROM other_digits WHERE k = 5")[0]
    assert stmt.text == "SELECT a2 FROM other_digits WHERE k = 5"
    assert stmt.constants.text == "SELECT a2 FROM other_digits WHERE k = $1::INTEGER"


# -- one session, in this process -------------------------------------------------------

@pytest.mark.mode_independent
async def test_one_plan_per_shape_bound_with_each_constant(tmp_path):
    engine = local.LocalEngine(tmp_path)
    session = Session(await engine.open_session("shapes", "u"), "u", {})
    await session.start()
    executor = session.executor
    prepares, plain = [], []
    real_prepare, real_execute = executor.prepare, executor.execute

    async def counting_prepare(sql):
        prepares.append(sql)
        return await real_prepare(sql)

    async def counting_execute(sql, returns_rows):
        plain.append(sql)
        return await real_execute(sql, returns_rows)

    executor.prepare, executor.execute = counting_prepare, counting_execute
    out = QueuedOutput()
    try:
        await session.simple_query("CREATE TABLE t (id INTEGER, d INTEGER)", out)
        await session.simple_query("INSERT INTO t VALUES (1, 1), (2, 0)", out)
        prepares.clear()
        plain.clear()
        for n in range(5):
            await session.simple_query(f"SELECT id FROM t WHERE id = {n}", out)
        # the probe (id's type): an INTEGER column holds every INTEGER constant, so the
        # probe is the plan
        assert prepares == ["SELECT id FROM t WHERE id = $1"]
        # the first sighting only (the rest of ``plain`` is catalog queries)
        assert [sql for sql in plain if "FROM t " in sql] == ["SELECT id FROM t WHERE id = 0"]
        for n in (3000000000, 3000000001, 3000000002):  # BIGINT constants: cast
            await session.simple_query(f"SELECT id FROM t WHERE id = {n}", out)
        assert prepares[1:] == ["SELECT id FROM t WHERE id = $1",
                                "SELECT id FROM t WHERE id = $1::BIGINT"]
        del prepares[1:]
        plain.clear()
        for n in range(1, 5):  # negative constants bind into the same text: its plan
            await session.simple_query(f"SELECT id FROM t WHERE id = -{n}", out)
        assert len(prepares) == 1
        assert [sql for sql in plain if "FROM t " in sql] == []
        # inside a transaction block: nothing planned
        await session.simple_query("BEGIN", out)
        for n in range(3):
            await session.simple_query(f"SELECT d FROM t WHERE id = {n}", out)
        await session.simple_query("COMMIT", out)
        assert len(prepares) == 1
        # a kept plan whose run fails reports the error without the plain run
        failing = "SELECT id FROM t WHERE id = {} AND 10 / d > 0"
        for n in (1, 1, 1):
            out.data.clear()
            await session.simple_query(failing.format(n), out)
            assert out.data[:1] == b"T"  # RowDescription, no error
        plain.clear()
        out.data.clear()
        await session.simple_query(failing.format(2), out)
        assert out.data[:1] == b"E" and b"22012" in out.data
        assert [sql for sql in plain if "FROM t " in sql] == []
        out.data.clear()
        await session.simple_query("SELECT 1", out)
        assert out.data.startswith(b"T")
    finally:
        await session.close()
        await engine.aclose()


# -- differential, through a server in either mode --------------------------------------

SETUP = [
    "CREATE TABLE nums (id INTEGER, s SMALLINT, b BIGINT, n NUMERIC(10, 2), "
    "f DOUBLE PRECISION, r REAL, t TEXT)",
    "INSERT INTO nums VALUES (1, 1, 1, 1.00, 1.0, 1.0, 'one'), "
    "(2, 32767, 2147483647, 12.50, 2.5, 16777216, NULL), "
    "(2147483647, -32768, 3000000000, 99999999.99, 9007199254740992, 0.5, 'max'), "
    "(-2147483648, 0, 9223372036854775807, -5.25, -1e300, -2, 'min')",
    "CREATE TABLE div (id INTEGER, d INTEGER)",
    "INSERT INTO div VALUES (1, 1), (2, 0)",
]

#: Each shape with the constants it runs with, in order (so later runs use a kept plan).
BOUNDARIES = ["0", "1", "2", "32767", "32768", "65536", "2147483647", "2147483648",
              "3000000000", "9223372036854775807", "9223372036854775808", "1"]
SHAPES = [
    ("SELECT id, t FROM nums WHERE id = {} ORDER BY id", BOUNDARIES),
    ("SELECT id FROM nums WHERE {} <= id ORDER BY id", BOUNDARIES),
    ("SELECT id, s FROM nums WHERE s = {} ORDER BY id", BOUNDARIES),
    ("SELECT id, s FROM nums WHERE s < {} ORDER BY id", BOUNDARIES),
    ("SELECT id, b FROM nums WHERE b >= {} ORDER BY id", BOUNDARIES),
    ("SELECT id, b FROM nums WHERE nums.b <> {} ORDER BY id", BOUNDARIES),
    ("SELECT id, n FROM nums WHERE n > {} ORDER BY id", ["0", "12", "13", "99999999",
                                                        "100000000", "3000000000", "1"]),
    ("SELECT id, f FROM nums WHERE f = {} ORDER BY id", ["1", "2", "9007199254740992",
                                                       "9007199254740993", "1"]),
    ("SELECT id, f FROM nums WHERE f < {} ORDER BY id", ["1", "3", "9007199254740993", "0"]),
    ("SELECT * FROM nums WHERE id = {} AND s > {} ORDER BY id",
     ["1", "0", "2", "0", "2", "32767", "2147483647", "1", "5", "5"]),
    # negative constants: the same boundaries below zero
    ("SELECT id, t FROM nums WHERE id = -{} ORDER BY id", BOUNDARIES),
    ("SELECT id, t FROM nums WHERE id<>-{} ORDER BY id", BOUNDARIES),
    ("SELECT id FROM nums WHERE -{} >= id ORDER BY id", BOUNDARIES),
    ("SELECT id, s FROM nums WHERE s <= - {} ORDER BY id", BOUNDARIES),
    ("SELECT id, b FROM nums WHERE b > -{} ORDER BY id", BOUNDARIES),
    ("SELECT id, n FROM nums WHERE n < -{} ORDER BY id", ["0", "5", "6", "3000000000", "1"]),
    ("SELECT id, f FROM nums WHERE f >= -{} ORDER BY id", ["1", "2", "9007199254740993", "0"]),
]


def _answer(conn: psycopg.Connection, sql: str) -> tuple:
    """What a client reads of a simple Query (libpq's PQexec): the columns' names,
    type OIDs and typmods, the rows as text, or the error's SQLSTATE and message."""
    res = conn.pgconn.exec_(sql.encode())
    if res.error_message:
        return ("error", res.error_field(ord("C")), res.error_field(ord("M")))
    columns = [(res.fname(i), res.ftype(i), res.fmod(i)) for i in range(res.nfields)]
    rows = [tuple(res.get_value(r, c) for c in range(res.nfields)) for r in range(res.ntuples)]
    return columns, rows


def _texts(shape: str, constants: list[str]) -> list[str]:
    count = shape.count("{}")
    return [shape.format(*constants[i:i + count]) for i in range(0, len(constants) - count + 1,
                                                                   count)]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from tests.conftest import ServerProcess

    srv = ServerProcess(tmp_path_factory.mktemp("shapes") / "data",
                        ["--auth-method", "trust", "--tls", "disabled"]).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def connections(server, pg15_dsn):  # noqa: F811
    ours = psycopg.connect(server.dsn(sslmode="disable", dbname="shapes"), autocommit=True)
    theirs = psycopg.connect(fresh_database(pg15_dsn, "shapes"), autocommit=True)
    for conn in (ours, theirs):
        for sql in SETUP:
            conn.execute(sql)
    yield ours, theirs
    ours.close()
    theirs.close()


def _plain(conn: psycopg.Connection, sql: str) -> tuple:
    """The plain run's answer: inside a transaction block no plan is kept."""
    conn.pgconn.exec_(b"BEGIN")
    try:
        return _answer(conn, sql)
    finally:
        conn.pgconn.exec_(b"ROLLBACK")


@pytest.mark.parametrize("shape, constants", SHAPES, ids=[s for s, _ in SHAPES])
def test_constants_answer_as_the_plain_run_and_postgresql(connections, shape, constants):
    ours, theirs = connections
    for text in _texts(shape, constants):
        kept = _answer(ours, text)  # the first of a shape plain, later ones its plan
        assert kept == _plain(ours, text), text
        assert kept == _answer(theirs, text), text


def test_real_column_answers_as_the_plain_run(connections):
    """A real (float4) column is compared with an integer literal in float4 by DuckDB
    (16777217 rounds to 16777216): left in the text, so as the plain run every time."""
    ours, _theirs = connections
    for text in _texts("SELECT id FROM nums WHERE r = {} ORDER BY id",
                       ["16777216", "16777217", "1", "16777217"]):
        assert _answer(ours, text) == _plain(ours, text), text


def test_an_error_in_a_later_run(connections):
    ours, theirs = connections
    shape = "SELECT id FROM div WHERE id = {} AND 10 / d > 0"
    for n in ("1", "1", "1", "2", "1", "2"):
        text = shape.format(n)
        answer = _answer(ours, text)
        assert answer == _answer(theirs, text), text
    assert answer[:2] == ("error", b"22012")
    assert _answer(ours, "SELECT 1") == _answer(theirs, "SELECT 1")  # the session is fine


def test_plan_follows_ddl_and_settings(connections):
    ours, theirs = connections
    for conn in (ours, theirs):
        conn.execute("CREATE TABLE shaped_ddl (id INTEGER, ts TIMESTAMPTZ)")
        conn.execute("INSERT INTO shaped_ddl VALUES (1, '2020-01-01 12:00:00+00'), "
                     "(2, '2020-06-01 12:00:00+00')")
    shape = "SELECT * FROM shaped_ddl WHERE id = {}"

    def same(n: int) -> None:
        text = shape.format(n)
        assert _answer(ours, text) == _answer(theirs, text), text

    for n in (1, 2, 1):
        same(n)
    for conn in (ours, theirs):
        conn.execute("ALTER TABLE shaped_ddl ADD COLUMN note TEXT DEFAULT 'x'")
    same(2)
    same(1)
    for conn in (ours, theirs):
        conn.execute("SET TimeZone = 'Europe/Paris'")
    same(2)
    same(1)
    for conn in (ours, theirs):
        conn.execute("RESET TimeZone")
        conn.execute("DROP TABLE shaped_ddl")


def test_psycopg_client_side_binding(connections):
    """psycopg's ClientCursor sends each query as a simple Query with the values
    written in: the rows it reads are PostgreSQL's."""
    ours, theirs = connections
    query = "SELECT id, s, b, n, f, t FROM nums WHERE id = %s AND b >= %s"
    for values in ((1, 1), (2, 0), (2147483647, 3000000000), (3, 0), (2, 2147483647),
                   (-2147483648, -1), (-2147483648, -5), (2, -3000000000), (1, 0)):
        got = psycopg.ClientCursor(ours).execute(query, values)
        want = psycopg.ClientCursor(theirs).execute(query, values)
        assert got.fetchall() == want.fetchall(), values
        assert [(c.name, c.type_code) for c in got.description] == \
            [(c.name, c.type_code) for c in want.description]


@pytest.mark.mode_independent
def test_safe_types_are_arrow_names():
    import pyarrow as pa

    for arrow_type in (pa.int16(), pa.int32(), pa.int64(), pa.float64(), pa.decimal128(10, 2)):
        assert str(arrow_type).split("(")[0] in autoparam.SAFE_TYPES
    assert str(pa.float32()) not in autoparam.SAFE_TYPES
