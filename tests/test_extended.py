"""The extended query protocol, byte level and through psycopg 3."""

from __future__ import annotations

import struct

import psycopg
import pytest

from tests.support import rawpg
from tests.support.rawpg import RawClient, error_fields, kinds


@pytest.fixture(scope="module")
def trust_server(tmp_path_factory):
    from tests.conftest import ServerProcess

    srv = ServerProcess(tmp_path_factory.mktemp("ext") / "data", ["--auth-method", "trust"]).start()
    yield srv
    srv.stop()


def connect(srv, database: str = "ext") -> RawClient:
    client = RawClient(srv.port)
    client.startup(user="postgres", database=database)
    client.until(b"Z")
    return client


def test_parse_bind_describe_execute_sync(trust_server):
    client = connect(trust_server)
    client.send(rawpg.parse("", "SELECT $1::INTEGER + 1 AS n, 'x' AS s", (0,))
                + rawpg.describe("S", "")
                + rawpg.bind("", "", (b"41",))
                + rawpg.describe("P", "")
                + rawpg.execute("")
                + rawpg.SYNC)
    messages = client.until(b"Z")
    assert kinds(messages) == b"1tT2TDCZ"
    assert messages[1][1] == struct.pack("!hI", 1, 23)  # ParameterDescription: int4
    assert messages[5][1] == struct.pack("!hi", 2, 2) + b"42" + struct.pack("!i", 1) + b"x"
    assert messages[6][1] == b"SELECT 1\0"


def test_untyped_parameter_is_text_and_declared_type_is_honoured(trust_server):
    client = connect(trust_server)
    client.send(rawpg.parse("a", "SELECT $1 AS v") + rawpg.describe("S", "a")
                + rawpg.parse("b", "SELECT $1 AS v", (20,)) + rawpg.describe("S", "b")
                + rawpg.SYNC)
    messages = client.until(b"Z")
    assert kinds(messages) == b"1tT1tTZ"
    assert messages[1][1] == struct.pack("!hI", 1, 25)
    assert messages[4][1] == struct.pack("!hI", 1, 20)
    client.send(rawpg.bind("", "b", (struct.pack("!q", -5),), (1,), (1,)) + rawpg.execute("")
                + rawpg.SYNC)
    messages = client.until(b"Z")
    assert kinds(messages) == b"2DCZ"
    assert messages[1][1] == struct.pack("!hi", 1, 8) + struct.pack("!q", -5)


def test_describe_without_executing_and_returning(trust_server):
    client = connect(trust_server, "returning")
    client.query("CREATE TABLE r (id INTEGER, v VARCHAR)")
    client.until(b"Z")
    client.send(rawpg.parse("ins", "INSERT INTO r VALUES ($1, $2) RETURNING id, v")
                + rawpg.describe("S", "ins") + rawpg.SYNC)
    messages = client.until(b"Z")
    assert kinds(messages) == b"1tTZ"
    assert messages[1][1] == struct.pack("!hII", 2, 23, 25)
    client.query("SELECT count(*) FROM r")  # Describe ran nothing
    assert client.until(b"Z")[1][1] == struct.pack("!hi", 1, 1) + b"0"
    client.send(rawpg.bind("", "ins", (b"7", b"seven")) + rawpg.execute("") + rawpg.SYNC)
    messages = client.until(b"Z")
    assert kinds(messages) == b"2DCZ"
    assert messages[2][1] == b"INSERT 0 1\0"
    client.send(rawpg.parse("", "INSERT INTO r VALUES (1, 'a')") + rawpg.describe("S", "")
                + rawpg.bind("", "") + rawpg.execute("") + rawpg.SYNC)
    assert kinds(client.until(b"Z")) == b"1tn2CZ"


@pytest.mark.parametrize("rows", [1023, 1024, 1025, 10_000, 1_000_000])
@pytest.mark.parametrize("max_rows", [0, 1000])
def test_row_counts_arrive_complete(trust_server, rows, max_rows):
    if rows == 1_000_000 and max_rows:
        max_rows = 300_000
    client = connect(trust_server)
    client.send(rawpg.parse("", f"SELECT range AS i FROM range({rows})") + rawpg.bind("", "")
                + rawpg.execute("", max_rows) + rawpg.SYNC if not max_rows else
                rawpg.parse("", f"SELECT range AS i FROM range({rows})") + rawpg.bind("", ""))
    received = 0
    total = 0
    if not max_rows:
        for kind, body in client.until(b"Z"):
            if kind == b"D":
                received += 1
                total += int(body[6:])
        assert received == rows and total == rows * (rows - 1) // 2
        return
    # Without Sync the transaction (and the portal) stays open between Executes.
    client.send(rawpg.FLUSH)
    assert kinds(client.until(b"2")) == b"12"
    while True:
        client.send(rawpg.execute("", max_rows) + rawpg.FLUSH)
        batch = 0
        while True:
            kind, body = client.receive()
            if kind == b"D":
                batch += 1
                total += int(body[6:])
            elif kind in (b"s", b"C"):
                break
        received += batch
        assert batch <= max_rows
        if kind == b"C":
            break
    client.send(rawpg.SYNC)
    client.until(b"Z")
    assert received == rows and total == rows * (rows - 1) // 2


def test_portal_suspension_and_resume(trust_server):
    client = connect(trust_server)
    client.send(rawpg.parse("", "SELECT range AS i FROM range(5)") + rawpg.bind("p", "")
                + rawpg.execute("p", 2) + rawpg.execute("p", 2) + rawpg.execute("p", 2)
                + rawpg.SYNC)
    messages = client.until(b"Z")
    assert kinds(messages) == b"12DDsDDsDCZ"
    assert [int(body[6:]) for kind, body in messages if kind == b"D"] == [0, 1, 2, 3, 4]


def test_pipeline_error_skips_to_sync_and_rolls_back_the_batch(trust_server):
    client = connect(trust_server, "pipeline")
    client.query("CREATE TABLE p (a INTEGER)")
    client.until(b"Z")
    insert = rawpg.parse("ins", "INSERT INTO p VALUES ($1)")
    client.send(insert
                + rawpg.bind("", "ins", (b"1",)) + rawpg.execute("")
                + rawpg.bind("", "ins", (b"2",)) + rawpg.execute("")
                + rawpg.parse("", "SELECT * FROM missing_table") + rawpg.bind("", "") + rawpg.execute("")
                + rawpg.bind("", "ins", (b"3",)) + rawpg.execute("")
                + rawpg.SYNC)
    messages = client.until(b"Z")
    assert kinds(messages) == b"12C2CEZ"
    assert error_fields(messages[5][1])["C"] == "42P01"
    assert messages[-1][1] == b"I"
    client.query("SELECT count(*) FROM p")
    assert client.until(b"Z")[1][1] == struct.pack("!hi", 1, 1) + b"0"  # one implicit transaction


def test_statement_and_portal_errors(trust_server):
    client = connect(trust_server)
    client.send(rawpg.bind("", "nope") + rawpg.SYNC)
    messages = client.until(b"Z")
    assert error_fields(messages[0][1])["C"] == "26000"
    client.send(rawpg.execute("nope") + rawpg.SYNC)
    assert error_fields(client.until(b"Z")[0][1])["C"] == "34000"
    client.send(rawpg.parse("s", "SELECT 1") + rawpg.parse("s", "SELECT 2") + rawpg.SYNC)
    messages = client.until(b"Z")
    assert kinds(messages) == b"1EZ" and error_fields(messages[1][1])["C"] == "42P05"
    client.send(rawpg.parse("", "SELECT 1; SELECT 2") + rawpg.SYNC)
    assert error_fields(client.until(b"Z")[0][1])["C"] == "42601"
    client.send(rawpg.parse("t", "SELECT $1::INTEGER") + rawpg.bind("", "t", ()) + rawpg.SYNC)
    assert error_fields(client.until(b"Z")[1][1])["C"] == "08P01"
    client.send(rawpg.close("S", "s") + rawpg.close("S", "never-existed") + rawpg.SYNC)
    assert kinds(client.until(b"Z")) == b"33Z"
    client.send(rawpg.bind("", "s") + rawpg.SYNC)
    assert error_fields(client.until(b"Z")[0][1])["C"] == "26000"


def test_schema_change_under_a_prepared_statement(trust_server):
    client = connect(trust_server, "schemachange")
    client.query("CREATE TABLE sc (a INTEGER)")
    client.until(b"Z")
    client.send(rawpg.parse("q", "SELECT * FROM sc") + rawpg.describe("S", "q") + rawpg.SYNC)
    assert kinds(client.until(b"Z")) == b"1tTZ"
    client.query("ALTER TABLE sc ADD COLUMN b VARCHAR")
    client.until(b"Z")
    client.send(rawpg.bind("", "q") + rawpg.execute("") + rawpg.SYNC)
    messages = client.until(b"Z")
    assert kinds(messages) == b"2EZ"
    fields = error_fields(messages[1][1])
    assert (fields["C"], fields["M"]) == ("0A000", "cached plan must not change result type")


def test_empty_query_and_session_statements(trust_server):
    client = connect(trust_server)
    client.send(rawpg.parse("", "") + rawpg.bind("", "") + rawpg.execute("") + rawpg.SYNC)
    assert kinds(client.until(b"Z")) == b"12IZ"
    client.send(rawpg.parse("", "SET TimeZone = 'Europe/Paris'") + rawpg.bind("", "")
                + rawpg.execute("") + rawpg.parse("", "SHOW TimeZone") + rawpg.describe("S", "")
                + rawpg.bind("", "") + rawpg.execute("") + rawpg.SYNC)
    messages = client.until(b"Z")
    assert kinds(messages) == b"12SC1tT2DCZ"
    assert messages[8][1] == struct.pack("!hi", 1, 12) + b"Europe/Paris"


def test_transaction_control_through_extended_protocol(trust_server):
    client = connect(trust_server, "exttxn")
    client.query("CREATE TABLE x (a INTEGER)")
    client.until(b"Z")
    for sql in ("BEGIN", "INSERT INTO x VALUES (1)"):
        client.send(rawpg.parse("", sql) + rawpg.bind("", "") + rawpg.execute("") + rawpg.SYNC)
        assert client.until(b"Z")[-1] == (b"Z", b"T")
    client.send(rawpg.parse("", "ROLLBACK") + rawpg.bind("", "") + rawpg.execute("") + rawpg.SYNC)
    assert client.until(b"Z")[-1] == (b"Z", b"I")
    client.query("SELECT count(*) FROM x")
    assert client.until(b"Z")[1][1] == struct.pack("!hi", 1, 1) + b"0"


# -- psycopg 3 --------------------------------------------------------------------------


def test_psycopg_binary_cursor_executemany_and_pipeline(server):
    with psycopg.connect(server.dsn(dbname="psyext"), autocommit=True) as conn:
        conn.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name VARCHAR, price DECIMAL(10,2))")
        cur = conn.cursor()
        cur.executemany("INSERT INTO items VALUES (%s, %s, %s)",
                        [(i, f"item {i}", f"{i}.50") for i in range(500)])
        assert conn.execute("SELECT count(*), sum(id) FROM items").fetchone() == (500, sum(range(500)))
        binary = conn.cursor(binary=True)
        binary.execute("SELECT id, name, price FROM items WHERE id = %s", [42])
        assert binary.fetchall() == [(42, "item 42", __import__("decimal").Decimal("42.50"))]
        with conn.pipeline():
            for i in range(500, 520):
                conn.execute("INSERT INTO items VALUES (%s, %s, %s)", [i, "p", 1])
        assert conn.execute("SELECT count(*) FROM items").fetchone() == (520,)
        with pytest.raises(psycopg.errors.UniqueViolation):
            with conn.pipeline():
                conn.execute("INSERT INTO items VALUES (%s, %s, %s)", [1000, "ok", 1])
                conn.execute("INSERT INTO items VALUES (%s, %s, %s)", [1, "dup", 1])
        assert conn.execute("SELECT count(*) FROM items").fetchone() == (520,)


def test_psycopg_prepared_statement_reuse(server):
    with psycopg.connect(server.dsn(dbname="psyprep"), autocommit=True, prepare_threshold=2) as conn:
        conn.execute("CREATE TABLE kv (k INTEGER PRIMARY KEY, v VARCHAR)")
        conn.cursor().executemany("INSERT INTO kv VALUES (%s, %s)", [(i, str(i)) for i in range(100)])
        for i in range(100):
            assert conn.execute("SELECT v FROM kv WHERE k = %s", [i]).fetchone() == (str(i),)
