"""The worker's Flight SQL service: an ADBC Flight SQL client (and a raw pyarrow.flight
client) against a real worker process started the way the control plane starts one."""

from __future__ import annotations

import datetime
import shutil
import tempfile
import time
from pathlib import Path

import adbc_driver_flightsql
import adbc_driver_flightsql.dbapi as flight_dbapi
import pyarrow as pa
import pyarrow.flight as fl
import pytest

from duckgres_trio.worker import flightsql
from duckgres_trio.worker.flight import WorkerFlightServer
from duckgres_trio.worker.flightsql import pack_any, pb_decode, pb_encode, pb_uint32s, unpack_any
from duckgres_trio.worker.session import Sessions
from tests.support.worker import running_worker, start_worker

# a worker process, spoken to directly: no server mode, no codec:
# deselected in the standalone pass (tests/conftest.py)
pytestmark = pytest.mark.controlplane_only

AUTH = adbc_driver_flightsql.DatabaseOptions.AUTHORIZATION_HEADER.value
CALL_HEADER = adbc_driver_flightsql.ConnectionOptions.RPC_CALL_HEADER_PREFIX.value


@pytest.fixture(scope="module")
def worker():
    yield from running_worker()


def adbc(worker, token: str | None = None, **conn_kwargs: str):
    return flight_dbapi.connect(worker.uri, db_kwargs={AUTH: f"Bearer {token or worker.token}"},
                                conn_kwargs=conn_kwargs or None, autocommit=True)


@pytest.fixture
def conn(worker):
    with adbc(worker) as connection:
        yield connection


# -- ADBC ---------------------------------------------------------------------------------

def test_adbc_create_insert_select(conn):
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE items (id INTEGER, name VARCHAR, price DOUBLE, "
                    "born DATE, ok BOOLEAN)")
        rows = [(1, "apple", 1.5, datetime.date(2024, 1, 2), True),
                (2, "pear, 'ripe'", -0.25, datetime.date(1999, 12, 31), False),
                (3, None, None, None, None)]
        for row in rows:
            cur.execute("INSERT INTO items VALUES (?, ?, ?, ?, ?)", row)
            assert cur.rowcount == 1

        cur.execute("SELECT id, name, price, born, ok FROM items ORDER BY id")
        assert cur.fetchall() == rows
        assert [d[0] for d in cur.description] == ["id", "name", "price", "born", "ok"]

        cur.execute("SELECT name, price * 2 AS doubled FROM items WHERE id = ? OR name = ? "
                    "ORDER BY id", (1, "pear, 'ripe'"))
        assert cur.fetchall() == [("apple", 3.0), ("pear, 'ripe'", -0.5)]

        cur.execute("SELECT count(*) FROM items WHERE born < ?", (datetime.date(2000, 1, 1),))
        assert cur.fetchall() == [(1,)]

        cur.execute("UPDATE items SET price = ? WHERE id >= ?", (9.0, 2))
        assert cur.rowcount == 2
        cur.execute("SELECT id, price FROM items ORDER BY id")
        assert cur.fetchall() == [(1, 1.5), (2, 9.0), (3, 9.0)]


def test_adbc_large_result_streams_in_batches(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT range AS i, range * 2 AS j, 'row ' || range AS s "
                    "FROM range(100000) ORDER BY i")
        table = cur.fetch_arrow_table()
    assert table.num_rows == 100_000
    assert len(table.to_batches()) > 1
    assert table.column("i").to_pylist() == list(range(100_000))
    assert pa.compute.sum(table.column("j")).as_py() == 2 * sum(range(100_000))
    assert table.column("s")[99_999].as_py() == "row 99999"


def test_adbc_error_then_connection_keeps_working(conn):
    with conn.cursor() as cur:
        with pytest.raises(flight_dbapi.Error, match="nope_no_such_table"):
            cur.execute("SELECT * FROM nope_no_such_table")
        with pytest.raises(flight_dbapi.Error, match="(?i)syntax"):
            cur.execute("SELEC 1")
        with pytest.raises(flight_dbapi.Error, match="several parameter rows"):
            cur.executemany("SELECT ?::INTEGER", [(1,), (2,)])
        cur.execute("SELECT 41 + ?", (1,))
        assert cur.fetchall() == [(42,)]


def test_adbc_statement_without_prepare(conn):
    """The plain (unprepared) Flight SQL commands: CommandStatementUpdate (DoPut) and
    CommandStatementQuery (GetFlightInfo + DoGet)."""
    with conn.cursor() as cur:
        statement = cur.adbc_statement
        statement.set_sql_query("CREATE TABLE plain AS SELECT range AS i FROM range(10)")
        assert statement.execute_update() == 10
        statement.set_sql_query("DELETE FROM plain WHERE i < 3")
        assert statement.execute_update() == 3
        statement.set_sql_query("SELECT sum(i) AS total, count(*) AS n FROM plain")
        handle, _ = statement.execute_query()
        table = pa.RecordBatchReader._import_from_c(handle.address).read_all()
    assert table.to_pylist() == [{"total": sum(range(3, 10)), "n": 7}]
    # The default session speaks standard Arrow types: SUM's HUGEINT as a decimal.
    assert table.schema.field("total").type == pa.decimal128(38, 0)


def test_adbc_sql_info(conn):
    info = conn.adbc_get_info()
    assert info["vendor_name"] == "duckgres-trio"
    assert info["vendor_arrow_version"] == pa.__version__


def test_adbc_wrong_token_refused(worker):
    with pytest.raises(flight_dbapi.Error, match="(?i)unauthenticated|token"):
        with adbc(worker, token="not-the-token") as bad, bad.cursor() as cur:
            cur.execute("SELECT 1")
            cur.fetchall()
    with fl.connect(worker.uri) as client, pytest.raises(fl.FlightUnauthenticatedError):
        client.get_flight_info(_command("CommandStatementQuery", (1, "SELECT 1")),
                               worker.options(token="not-the-token"))


def test_adbc_session_header_selects_the_session(worker):
    token = worker.action("CreateSession", {"user": "alice"})["session_token"]
    try:
        with adbc(worker, **{CALL_HEADER + flightsql.SESSION_HEADER: token}) as mine:
            with mine.cursor() as cur:
                cur.execute("CREATE TEMP TABLE only_here AS SELECT 7 AS x")
                cur.execute("SELECT x FROM only_here")
                assert cur.fetchall() == [(7,)]
        with adbc(worker) as other, other.cursor() as cur:  # the shared default session
            with pytest.raises(flight_dbapi.Error, match="only_here"):
                cur.execute("SELECT x FROM only_here")
        with adbc(worker, **{CALL_HEADER + flightsql.SESSION_HEADER: token}) as again:
            with again.cursor() as cur:
                cur.execute("SELECT x FROM only_here")
                assert cur.fetchall() == [(7,)]
    finally:
        assert worker.action("DestroySession", {"session_token": token})["destroyed"]
    with adbc(worker, **{CALL_HEADER + flightsql.SESSION_HEADER: "no-such-session"}) as bad:
        with bad.cursor() as cur, pytest.raises(flight_dbapi.Error, match="unknown duckgres"):
            cur.execute("SELECT 1")


# -- raw Flight ---------------------------------------------------------------------------

def _command(name: str, *fields) -> fl.FlightDescriptor:
    return fl.FlightDescriptor.for_command(pack_any(name, pb_encode(*fields)))


def test_raw_statement_query_and_sql_info(worker):
    with fl.connect(worker.uri) as client:
        opts = worker.options()
        info = client.get_flight_info(
            _command("CommandStatementQuery", (1, "SELECT 1 AS one, 'x' AS s")), opts)
        assert info.schema.names == ["one", "s"]
        assert len(info.endpoints) == 1
        name, fields = unpack_any(info.endpoints[0].ticket.ticket)
        assert name == "TicketStatementQuery"
        ticket = info.endpoints[0].ticket
        assert client.do_get(ticket, opts).read_all().to_pylist() == [{"one": 1, "s": "x"}]
        with pytest.raises(fl.FlightServerError, match="unknown statement ticket"):
            client.do_get(ticket, opts).read_all()  # a ticket is good for one read

        info = client.get_flight_info(_command("CommandGetSqlInfo", (1, 0), (1, 3)), opts)
        table = client.do_get(info.endpoints[0].ticket, opts).read_all()
        assert table.schema.equals(flightsql.SQL_INFO_SCHEMA)
        assert {r["info_name"]: r["value"] for r in table.to_pylist()} == {
            0: "duckgres-trio", 3: False}


HOSTILE = [
    b"",                                        # no type_url at all
    b"\xff\xff",                                # truncated varint
    b"\x80" * 11 + b"\x01",                     # overlong varint
    b"\x0a\xff\xff\xff\xff\x0f",                # length far beyond the message
    b"\x0a\x05abc",                             # length beyond the message
    b"\x0b\x0c",                                # a group (wire type 3)
    b"\x00\x01",                                # field number 0
    pb_encode((1, "type.googleapis.com/google.protobuf.Empty")),
    pb_encode((1, b"type.googleapis.com/arrow.flight.protocol.sql.\xff")),
    pack_any("CommandStatementQuery", b"\x0a\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01"),
    pack_any("CommandStatementQuery", b"\x0d\x01\x02"),  # truncated fixed32
    pack_any("CommandStatementQuery", b"\x08\x05"),      # query as a varint
    pack_any("CommandPreparedStatementQuery", pb_encode((1, b"\x00junk"))),
    pack_any("CommandPreparedStatementQuery", pb_encode((1, b"99999"))),  # no such handle
    pack_any("TicketStatementQuery", pb_encode((1, b"forged"))),
]


def test_raw_hostile_input_gives_flight_errors_and_worker_keeps_serving(worker):
    with fl.connect(worker.uri) as client:
        opts = worker.options()
        for command in HOSTILE:
            with pytest.raises((fl.FlightServerError, pa.ArrowNotImplementedError)):
                client.get_flight_info(fl.FlightDescriptor.for_command(command), opts)
            with pytest.raises((fl.FlightServerError, pa.ArrowNotImplementedError)):
                client.do_get(fl.Ticket(command), opts).read_all()
            with pytest.raises(fl.FlightServerError):
                list(client.do_action(fl.Action("CreatePreparedStatement", command), opts))
        with pytest.raises(pa.ArrowNotImplementedError, match="CommandGetTables"):
            client.get_flight_info(_command("CommandGetTables"), opts)
        with pytest.raises(pa.ArrowNotImplementedError, match="NoSuchAction"):
            list(client.do_action(fl.Action("NoSuchAction", b""), opts))
        with pytest.raises(pa.ArrowNotImplementedError, match="transactions"):
            client.get_flight_info(
                _command("CommandStatementQuery", (1, "SELECT 1"), (2, b"tx")), opts)

        info = client.get_flight_info(
            _command("CommandStatementQuery", (1, "SELECT 6 * 7 AS answer")), opts)
        assert client.do_get(info.endpoints[0].ticket, opts).read_all().to_pylist() == [
            {"answer": 42}]
    assert worker.proc.poll() is None
    assert worker.action("HealthCheck")["healthy"]


# -- in-process: result lifetime, the codec -----------------------------------------------

def test_kept_results_expire_and_are_superseded(monkeypatch):
    monkeypatch.setattr(flightsql, "RESULT_TTL", 0.3)
    directory = Path(tempfile.mkdtemp(prefix="dgfsql-"))
    sessions = Sessions()
    sessions.activate(None, {})
    server = WorkerFlightServer(f"grpc+unix://{directory}/f.sock", "tok", sessions)
    try:
        with fl.connect(f"grpc+unix://{directory}/f.sock") as client:
            opts = fl.FlightCallOptions(headers=[(b"authorization", b"Bearer tok")])
            big = _command("CommandStatementQuery", (1, "SELECT * FROM range(50000)"))

            first = client.get_flight_info(big, opts).endpoints[0].ticket
            second = client.get_flight_info(big, opts).endpoints[0].ticket
            with pytest.raises(fl.FlightServerError, match="superseded"):
                client.do_get(first, opts).read_all()
            assert client.do_get(second, opts).read_all().num_rows == 50000

            # Preparing ends DuckDB's open result too: the ticket says so, not DuckDB.
            third = client.get_flight_info(big, opts).endpoints[0].ticket
            prepare = pack_any("ActionCreatePreparedStatementRequest", pb_encode((1, "SELECT 1")))
            (created,) = client.do_action(fl.Action("CreatePreparedStatement", prepare), opts)
            name, fields = unpack_any(created.body.to_pybytes())
            assert name == "ActionCreatePreparedStatementResult" and fields[1] == [b"1"]
            with pytest.raises(fl.FlightServerError, match="superseded"):
                client.do_get(third, opts).read_all()

            late = client.get_flight_info(big, opts).endpoints[0].ticket
            (session,) = sessions.all()
            deadline = time.monotonic() + 5
            while session._result is not None and time.monotonic() < deadline:
                time.sleep(0.05)
            assert session._result is None, "the unfetched result was not dropped"
            with pytest.raises(fl.FlightServerError, match="expired"):
                client.do_get(late, opts).read_all()
    finally:
        server.shutdown()
        sessions.close()
        shutil.rmtree(directory, ignore_errors=True)


def test_protobuf_codec():
    message = pb_encode((1, "héllo"), (2, b"\x00\x01"), (3, 300), (4, -1))
    fields = pb_decode(message)
    assert fields == {1: ["héllo".encode()], 2: [b"\x00\x01"], 3: [300], 4: [(1 << 64) - 1]}
    assert unpack_any(pack_any("DoPutUpdateResult", pb_encode((1, 5)))) == (
        "DoPutUpdateResult", {1: [5]})
    packed = pb_encode((1, b"\x00\x03\xac\x02"))            # packed [0, 3, 300]
    assert pb_uint32s(pb_decode(packed + pb_encode((1, 7))), 1) == [0, 3, 300, 7]
    # unknown fields of every wire type are skipped
    unknown = b"\x79" + b"\x00" * 8 + b"\x7d" + b"\x00" * 4 + b"\xf8\x01\x05"
    assert pb_decode(unknown + pb_encode((1, "q")))[1] == [b"q"]
    for bad in (b"\x0a\x02a", b"\x80", b"\xff" * 10 + b"\x7f", b"\x0f", b"\x09\x00"):
        with pytest.raises(flightsql.Malformed):
            pb_decode(bad)
    with pytest.raises(flightsql.Malformed):
        unpack_any(pb_encode((1, "type.googleapis.com/other.Message")))


def test_sigterm_stops_a_worker_with_open_sessions():
    directory = Path(tempfile.mkdtemp(prefix="dgfsql-"))
    try:
        w = start_worker(directory)
        try:
            with adbc(w) as connection, connection.cursor() as cur:
                cur.execute("CREATE TABLE kept AS SELECT 1 AS x")
                cur.execute("SELECT * FROM range(100000)")  # left unfetched
        finally:
            code = w.stop()
        assert code == 0, f"worker exit code {code}:\n{w.log()}"
    finally:
        shutil.rmtree(directory, ignore_errors=True)
