"""The control plane's Flight SQL ingress (flight_address): ADBC and raw Flight clients
against a real server with two organisations, beside psycopg on the pgwire port.

One server serves the module (control-plane mode: the ingress is the control plane's,
whatever DUCKGRES_MODE says); the worker-kill test starts its own.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import os
import signal
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import adbc_driver_flightsql as adbc_flight
import adbc_driver_flightsql.dbapi as flight_dbapi
import psycopg
import pyarrow as pa
import pyarrow.flight as fl
import pytest

from duckgres_trio.flightsql import pack_any, pb_encode
from tests.conftest import ServerProcess, free_port
from tests.test_controlplane import worker_pids
from tests.test_tenancy import LAUNCHER
from tests.test_upgrade import _stop, _successor

# the ingress is the control plane's: its servers run in that mode:
# deselected in the standalone pass (tests/conftest.py)
pytestmark = pytest.mark.controlplane_only

OPT = adbc_flight.DatabaseOptions
HEADER = OPT.RPC_CALL_HEADER_PREFIX.value

ORGS = {
    "orgs": [{"name": "acme", "database_name": "acme_db"},
             {"name": "globex", "database_name": "globex_db"}],
    "users": [{"org": "acme", "name": "alice", "password": "acme-pw"},
              {"org": "globex", "name": "bob", "password": "globex-pw"}],
}


def start(tmp_path, *args: str, tenants: bool = True) -> ServerProcess:
    """A control plane serving Flight SQL; with ``tenants``, the two organisations
    (through the test launcher, which an upgrade's new process does not run: without
    them the one user is postgres/postgres)."""
    spec = tmp_path / "tenants.json"
    spec.write_text(json.dumps(ORGS))
    launch = {"env": {"DUCKGRES_TEST_TENANTS": str(spec)}, "program": (LAUNCHER,)} \
        if tenants else {}
    server = ServerProcess(tmp_path / "data", ["--mode", "controlplane", "--metrics-address",
                                               "", "--flight-address",
                                               f"127.0.0.1:{free_port()}", *args], **launch)
    server.flight_port = int(server.args[server.args.index("--flight-address") + 1]
                             .rsplit(":", 1)[1])
    server.start()
    deadline = time.monotonic() + 20
    while "Flight SQL listening" not in server.log():
        assert time.monotonic() < deadline, server.log()
        time.sleep(0.05)
    return server


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = start(tmp_path_factory.mktemp("flight"), "--max-workers", "4",
                "--max-connections", "40", "--worker-queue-timeout", "60s")
    yield srv
    assert srv.stop() == 0, srv.log()


def adbc(server, user="alice", password="acme-pw", database="acme_db", autocommit=True,
         **headers: str):
    options = {"username": user, "password": password,
               OPT.TLS_ROOT_CERTS.value: (server.data_dir / "server.crt").read_text(),
               OPT.TLS_OVERRIDE_HOSTNAME.value: "localhost",
               HEADER + "database": database,
               **{HEADER + name: value for name, value in headers.items()}}
    return flight_dbapi.connect(f"grpc+tls://127.0.0.1:{server.flight_port}",
                                db_kwargs=options, autocommit=autocommit)


def pg(server, user="alice", password="acme-pw", dbname="acme_db"):
    return psycopg.connect(server.dsn(user=user, password=password, dbname=dbname),
                           autocommit=True)


def raw_client(server, user="alice", password="acme-pw", database="acme_db"):
    """A pyarrow Flight client, logged in: (client, call options with the token)."""
    client = fl.FlightClient(f"grpc+tls://127.0.0.1:{server.flight_port}",
                             tls_root_certs=(server.data_dir / "server.crt").read_bytes(),
                             override_hostname="localhost")
    token = client.authenticate_basic_token(
        user, password, fl.FlightCallOptions(headers=[(b"database", database.encode())]))
    return client, fl.FlightCallOptions(headers=[token])


def test_adbc_over_tls_query_params_ddl_dml_metadata(server):
    with adbc(server) as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, price DOUBLE)")
        cur.execute("INSERT INTO items VALUES (?, ?, ?)", (1, "apple", 1.5))
        assert cur.rowcount == 1
        cur.executemany("INSERT INTO items VALUES (?, ?, ?)", [(2, "pear", -0.25),
                                                               (3, None, None)])
        assert cur.rowcount == 2
        cur.execute("UPDATE items SET price = price * 2 WHERE id <= $1", (2,))
        assert cur.rowcount == 2
        cur.execute("SELECT id, name, price FROM items WHERE id >= ? ORDER BY id", (1,))
        table = cur.fetch_arrow_table()
        assert table.to_pylist() == [{"id": 1, "name": "apple", "price": 3.0},
                                     {"id": 2, "name": "pear", "price": -0.5},
                                     {"id": 3, "name": None, "price": None}]
        assert table.schema.field("id").type == pa.int32()
        cur.execute("SELECT i, i * 2.5 AS f, 'row ' || i AS s FROM range(200000) t(i)")
        big = cur.fetch_arrow_table()
        assert big.num_rows == 200_000 and big.column("s")[199_999].as_py() == "row 199999"

        assert conn.adbc_get_table_schema("items") == pa.schema(
            [("id", pa.int32()), ("name", pa.string()), ("price", pa.float64())])
        objects = conn.adbc_get_objects().read_all().to_pylist()
        assert [c["catalog_name"] for c in objects] == ["acme_db"]
        (main,) = [s for s in objects[0]["catalog_db_schemas"] if s["db_schema_name"] == "main"]
        (items,) = [t for t in main["db_schema_tables"] if t["table_name"] == "items"]
        assert [c["column_name"] for c in items["table_columns"]] == ["id", "name", "price"]
        assert set(conn.adbc_get_table_types()) == {"TABLE", "VIEW"}
        cur.execute("DROP TABLE items")
        with pytest.raises(flight_dbapi.Error, match=r"42P01"):
            cur.execute("SELECT * FROM items")


def test_raw_flight_sql_info_primary_keys_and_closed_token(server):
    with pg(server) as conn:
        conn.execute("CREATE TABLE keyed (a INT, b TEXT, c INT, PRIMARY KEY (b, a))")
    client, options = raw_client(server)
    command = pack_any("CommandGetPrimaryKeys", pb_encode((3, "keyed")))
    info = client.get_flight_info(fl.FlightDescriptor.for_command(command), options)
    keys = client.do_get(info.endpoints[0].ticket, options).read_all().to_pylist()
    assert [(k["column_name"], k["key_sequence"]) for k in keys] == [("b", 1), ("a", 2)]

    command = pack_any("CommandGetSqlInfo", pb_encode((1, 9)))  # FLIGHT_SQL_SERVER_CANCEL
    info = client.get_flight_info(fl.FlightDescriptor.for_command(command), options)
    rows = client.do_get(info.endpoints[0].ticket, options).read_all().to_pylist()
    assert rows == [{"info_name": 9, "value": True}]

    list(client.do_action(fl.Action("CloseSession", b""), options))
    with pytest.raises(fl.FlightUnauthenticatedError, match="authenticate again"):
        client.get_flight_info(fl.FlightDescriptor.for_command(command), options)


#: One column per kind of docs/types.md that both clients read as Python values.
TYPES_SELECT = """SELECT true AS b, CAST(-7 AS smallint) AS i2, 2147483647 AS i4,
    CAST(-9223372036854775808 AS bigint) AS i8, CAST(1.5 AS real) AS f4,
    CAST(-2.25e300 AS double precision) AS f8, CAST('12345.678' AS numeric(12, 3)) AS num,
    'héllo' AS txt, CAST('abc' AS varchar(5)) AS vc, CAST('\\x00ff10' AS bytea) AS ba,
    DATE '2024-02-29' AS d, TIME '13:14:15.123456' AS t,
    TIMESTAMP '1999-12-31 23:59:59.5' AS ts,
    TIMESTAMPTZ '2024-07-01 12:00:00+02' AS tstz, INTERVAL '3 days 04:05:06' AS iv,
    CAST('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11' AS uuid) AS u,
    CAST(ARRAY[1, NULL, 3] AS int[]) AS ia, CAST(ARRAY['x', 'y'] AS text[]) AS ta,
    CAST(ARRAY[DATE '2024-01-01'] AS date[]) AS dta, CAST(5 AS oid) AS o,
    CAST('123456789012345678901234.5' AS numeric(30, 1)) AS bignum,
    CAST('{"a": [1, 2]}' AS json) AS js, CAST('{"b": null}' AS jsonb) AS jb,
    CAST('13:14:15+02' AS timetz) AS tz, CAST(ARRAY['01:02:03+05:30'] AS timetz[]) AS tza,
    CAST(NULL AS integer) AS n"""

#: DuckDB's own types of docs/types.md (DuckDB syntax), read by both clients.
DUCKDB_TYPES_SELECT = """SELECT CAST(-12 AS tinyint) AS ti, CAST(255 AS utinyint) AS ut,
    CAST(65535 AS usmallint) AS us, CAST(4294967295 AS uinteger) AS ui,
    CAST(18446744073709551615 AS ubigint) AS ub,
    CAST(-170141183460469231731687303715884105728 AS hugeint) AS h,
    CAST(340282366920938463463374607431768211455 AS uhugeint) AS uh,
    CAST('0101' AS bit) AS vb, TIME_NS '01:02:03.123456789' AS tns,
    TIMESTAMP_NS '1969-12-31 23:59:59.999999999' AS tsns, TIMESTAMP_S '2020-01-01 01:02:03' AS tss,
    TIMESTAMP_MS '2020-01-01 01:02:03.456' AS tsms, [[1, 2], [3, NULL]] AS nested,
    CAST([1, 2, 3] AS INTEGER[3]) AS fixed, [true, NULL] AS bools,
    [CAST('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11' AS uuid)] AS uuids,
    CAST(1.5 AS float4) AS f4, CAST('ok' AS mood) AS m, [CAST('sad' AS mood)] AS ms"""


def _flight_as_psycopg(value, field: pa.Field):
    """What psycopg returns for the value ADBC returned, where the two clients' Python
    forms differ by design (docs/flight-sql.md, "Types"): Arrow's interval keeps months
    apart; a timetz is its PostgreSQL text (Arrow has no time with an offset)."""
    type_name = field.metadata[b"ARROW:FLIGHT:SQL:TYPE_NAME"]
    if isinstance(value, pa.MonthDayNano):
        assert value.months == 0
        return dt.timedelta(days=value.days, microseconds=value.nanoseconds // 1000)
    if type_name == b"timetz":
        assert field.type == pa.string()
        return dt.time.fromisoformat(value)
    if type_name == b"_timetz":
        return [dt.time.fromisoformat(v) for v in value]
    return value


def _both(server, query: str) -> tuple[dict, dict, pa.Schema]:
    """(psycopg's row, ADBC's row made psycopg's, ADBC's schema) of ``query``."""
    with pg(server) as conn:
        cur = conn.execute(query)
        expected = cur.fetchone()
        names = [d.name for d in cur.description]
    with adbc(server) as conn, conn.cursor() as cur:
        cur.execute(query)
        table = cur.fetch_arrow_table()
    assert table.column_names == names
    got = [_flight_as_psycopg(table.column(i)[0].as_py(), field)
           for i, field in enumerate(table.schema)]
    return dict(zip(names, expected)), dict(zip(names, got)), table.schema


def test_same_rows_as_psycopg_for_the_types(server):
    expected, got, schema = _both(server, TYPES_SELECT)
    for name in ("js", "jb"):  # Arrow has no JSON value: the text (arrow.json)
        got[name] = json.loads(got[name])
    assert isinstance(got["u"], uuid.UUID)  # the canonical arrow.uuid
    assert got == expected
    assert isinstance(expected["num"], decimal.Decimal)
    assert schema.field("tz").metadata[b"ARROW:FLIGHT:SQL:TYPE_NAME"] == b"timetz"
    assert expected["tz"].utcoffset() == dt.timedelta(hours=2)


def test_same_rows_as_psycopg_for_duckdb_types(server):
    with pg(server) as conn:
        conn.execute("CREATE TYPE mood AS ENUM ('sad', 'ok')")
    try:
        expected, got, schema = _both(server, DUCKDB_TYPES_SELECT)
    finally:
        with pg(server) as conn:
            conn.execute("DROP TYPE mood")
    # psycopg does not know a user's enum's array type: it reads the array's text
    assert (expected.pop("ms"), got.pop("ms")) == ("{sad}", ["sad"])
    assert got == expected
    assert expected["tsns"] == dt.datetime(1969, 12, 31, 23, 59, 59, 999999)  # floored
    assert schema.field("h").type == pa.decimal128(38, 0)
    assert schema.field("vb").type == pa.string() and got["vb"] == "0101"
    assert schema.field("m").type == pa.string()  # an enum's label, as psycopg's


def test_arrow_types_convert_slices_and_nulls():
    """flightingress/arrow_types.py on DuckDB's own Arrow (no server): NULLs at every
    level and sliced batches (a batch's columns may start inside their buffers)."""
    import duckdb

    from duckgres_trio.flightingress.arrow_types import Plan

    with duckdb.connect(config={"arrow_lossless_conversion": True}) as db:
        batch = db.execute("""SELECT
            CASE WHEN i % 3 = 0 THEN NULL ELSE i::hugeint * 10 ** 21 END AS h,
            CASE WHEN i % 2 = 0 THEN NULL ELSE CAST('01:02:03+05:30' AS timetz) END AS tz,
            CASE WHEN i % 4 = 0 THEN NULL ELSE [i % 2 = 1, NULL] END AS bl,
            CASE WHEN i % 5 = 0 THEN NULL ELSE {'t': CAST('13:00:00-01' AS timetz), 'n': i}
                END AS st,
            CASE WHEN i % 3 = 1 THEN NULL ELSE make_timestamp_ns(i * 1000000001) END AS tsn,
            CAST([i, NULL, 3] AS HUGEINT[3]) AS fx
            FROM range(10) t(i)""").to_arrow_table().to_batches()[0]
    plan = Plan(batch.schema)
    whole = plan.batch(batch).to_pylist()
    assert whole[5] == {"h": decimal.Decimal(5 * 10 ** 21), "tz": "01:02:03+05:30",
                        "bl": [True, None], "st": None,
                        "tsn": dt.datetime(1970, 1, 1, 0, 0, 5), "fx": [5, None, 3]}
    for start, length in ((3, 5), (1, 1), (9, 1)):
        part = plan.batch(batch.slice(start, length))
        part.validate(full=True)
        assert part.to_pylist() == whole[start:start + length]


def test_char_n_as_pgwire_has_it(server):
    """char(n) over Flight SQL as over pgwire: values stored without their trailing
    blanks (a Flight write, a pgwire comparison), compared without them, read padded;
    a table a Flight session creates is known to pgwire sessions at once."""
    with pg(server) as conn:
        conn.execute("CREATE TABLE padded (c char(4), n int)")
        conn.execute("INSERT INTO padded VALUES ('ab', 1)")
        expected = conn.execute("SELECT c FROM padded").fetchall()
    assert expected == [("ab  ",)]
    with adbc(server) as conn, conn.cursor() as cur:
        cur.execute("SELECT c FROM padded")
        assert cur.fetchall() == expected
        cur.execute("SELECT * FROM padded")  # found from the result's table origins
        assert cur.fetchall() == [("ab  ", 1)]
        cur.execute("INSERT INTO padded VALUES ($1, 2)", ("cd  ",))
        cur.execute("SELECT n FROM padded WHERE c = 'cd' ORDER BY n")
        assert cur.fetchall() == [(2,)]
        cur.execute("CREATE TABLE flight_padded (k char(3))")
        cur.execute("INSERT INTO flight_padded VALUES ('x ')")
    with pg(server) as conn:
        assert conn.execute("SELECT n FROM padded WHERE c = 'cd  '").fetchall() == [(2,)]
        assert conn.execute("SELECT k, length(k) FROM flight_padded").fetchall() == [
            ("x  ", 1)]
        conn.execute("DROP TABLE padded")
        conn.execute("DROP TABLE flight_padded")


def test_wrong_password_and_other_organisations(server):
    with pytest.raises(flight_dbapi.Error, match=r"(?s)password authentication failed.*28P01"):
        adbc(server, password="wrong").close()
    with pytest.raises(flight_dbapi.Error, match=r"28P01"):  # alice is acme's, not globex's
        adbc(server, database="globex_db").close()
    with pg(server, "bob", "globex-pw", "globex_db") as conn:
        conn.execute("CREATE TABLE globex_secret AS SELECT 42 AS v")
    with adbc(server) as conn, conn.cursor() as cur:
        with pytest.raises(flight_dbapi.Error, match=r"(?s)globex_secret.*42P01"):
            cur.execute("SELECT * FROM globex_secret")
        with pytest.raises(flight_dbapi.Error, match=r"globex_db"):
            cur.execute("SELECT * FROM globex_db.main.globex_secret")
        objects = conn.adbc_get_objects(depth="tables").read_all().to_pylist()
        assert "globex_secret" not in json.dumps(objects)
    with adbc(server, "bob", "globex-pw", "globex_db") as conn, conn.cursor() as cur:
        cur.execute("SELECT v FROM globex_secret")
        assert cur.fetchall() == [(42,)]


def test_refused_as_pgwire_refuses(server):
    with adbc(server) as conn, conn.cursor() as cur:
        with pytest.raises(flight_dbapi.Error, match=r"42501"):
            cur.execute("SET memory_limit = '1GB'")
        with pytest.raises(flight_dbapi.Error, match=r"(?s)installing extensions.*42501"):
            cur.execute("INSTALL httpfs")
        with pytest.raises(flight_dbapi.Error, match=r"(?s)COPY.*0A000"):
            cur.execute("COPY (SELECT 1) TO STDOUT")


def test_transactions_with_autocommit_off(server):
    with adbc(server, autocommit=False) as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE txn (v INT)")
        conn.commit()
        cur.execute("INSERT INTO txn VALUES (1)")
        conn.rollback()
        cur.execute("INSERT INTO txn VALUES (2)")
        conn.commit()
    with pg(server) as conn:
        assert conn.execute("SELECT v FROM txn").fetchall() == [(2,)]
        conn.execute("DROP TABLE txn")


def test_flight_and_pgwire_writers_wait_for_each_others_turn(server):
    """A Flight SQL UPDATE of a row a pgwire transaction is updating waits for its
    COMMIT (the same write turn), then succeeds; and the other way round, a pgwire
    UPDATE waits for a Flight SQL transaction. Without the shared turn, DuckDB's
    optimistic concurrency fails the second writer with a conflict."""
    with pg(server) as setup:
        setup.execute("CREATE TABLE turn_rows (id INT, v INT)")
        setup.execute("INSERT INTO turn_rows VALUES (1, 0)")

    def flight_update() -> int:
        with adbc(server) as conn, conn.cursor() as cur:
            cur.execute("UPDATE turn_rows SET v = v + 1 WHERE id = 1")
            return cur.rowcount

    with pg(server) as first, ThreadPoolExecutor(1) as pool:
        first.execute("BEGIN")
        first.execute("UPDATE turn_rows SET v = v + 10 WHERE id = 1")
        second = pool.submit(flight_update)
        time.sleep(1.0)
        assert not second.done()  # it waits for pgwire's transaction
        waiting = first.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'").fetchone()
        first.execute("COMMIT")
        assert second.result(timeout=30) == 1
    assert waiting == (1,)

    with adbc(server, autocommit=False) as conn, conn.cursor() as cur, pg(server) as other, \
            ThreadPoolExecutor(1) as pool:
        cur.execute("UPDATE turn_rows SET v = v + 100 WHERE id = 1")
        second = pool.submit(other.execute, "UPDATE turn_rows SET v = v + 1000 WHERE id = 1")
        time.sleep(1.0)
        assert not second.done()  # it waits for Flight's transaction
        conn.commit()
        second.result(timeout=30)
    with pg(server) as check:
        assert check.execute("SELECT v FROM turn_rows").fetchone() == (1111,)
        check.execute("DROP TABLE turn_rows")


def test_pg_stat_activity_and_cancel_from_another_thread(server):
    with adbc(server, application_name="flight-app") as conn, conn.cursor() as cur, \
            pg(server) as watcher:
        timer = threading.Timer(0.5, cur.adbc_cancel)
        seen: list = []

        def look() -> None:
            time.sleep(0.3)
            seen.extend(watcher.execute(
                "SELECT usename, datname, application_name, state, query "
                "FROM pg_stat_activity WHERE application_name = 'flight-app'").fetchall())

        looker = threading.Thread(target=look)
        timer.start()
        looker.start()
        started = time.monotonic()
        with pytest.raises(flight_dbapi.Error, match="(?i)cancel"):
            cur.execute("SELECT count(*) FROM range(100000000000) a")
        looker.join()
        timer.join()
        cur.execute("SELECT 42")  # the statement stopped: the session serves the next
        assert cur.fetchall() == [(42,)]
        assert time.monotonic() - started < 0.5 + 1.0
    assert seen == [("alice", "acme_db", "flight-app", "active",
                     "SELECT count(*) FROM range(100000000000) a")]


def test_ten_adbc_and_ten_psycopg_clients_at_once(server):
    def flight_client(n: int) -> int:
        with adbc(server) as conn, conn.cursor() as cur:
            cur.execute("SELECT sum(i) FROM range(?) t(i)", (n * 1000,))
            return cur.fetchall()[0][0]

    def pg_client(n: int) -> int:
        with pg(server) as conn:
            return conn.execute("SELECT sum(i) FROM range(%s) t(i)", (n * 1000,)).fetchone()[0]

    with ThreadPoolExecutor(20) as pool:
        flights = [pool.submit(flight_client, n) for n in range(1, 11)]
        pgs = [pool.submit(pg_client, n) for n in range(1, 11)]
        results = [f.result(timeout=120) for f in flights + pgs]
    expected = [n * 1000 * (n * 1000 - 1) // 2 for n in range(1, 11)]
    assert results == expected + expected


def test_worker_killed_mid_stream_then_timeouts(tmp_path):
    server = start(tmp_path, "--flight-idle-timeout", "3s", "--statement-timeout", "2s")
    try:
        with adbc(server) as conn, conn.cursor() as cur:
            cur.execute("SELECT 1")
            victim = _owner(server, "acme_db.duckdb")
            cur.execute("SELECT i, repeat('x', 200) AS s FROM range(50000000) t(i)")
            reader = cur.fetch_record_batch()
            reader.read_next_batch()
            os.kill(victim, signal.SIGKILL)
            with pytest.raises(Exception, match="(?i)worker|stream|closed|broke"):
                while True:
                    reader.read_next_batch()
            cur.execute("SELECT 7")
            assert cur.fetchall() == [(7,)]
            with pytest.raises(flight_dbapi.Error, match="statement timeout.*57014"):
                cur.execute("SELECT count(*) FROM range(100000000000) a")
        assert server.proc.poll() is None
        with pg(server) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        client, options = raw_client(server)
        command = fl.FlightDescriptor.for_command(pack_any("CommandGetSqlInfo", b""))
        client.get_flight_info(command, options)
        time.sleep(3.5)
        with pytest.raises(fl.FlightUnauthenticatedError, match="authenticate again"):
            client.get_flight_info(command, options)
    finally:
        server.stop(signal.SIGKILL)


def _owner(server, file_name: str) -> int:
    """The worker holding a database file open."""
    for pid in worker_pids(server):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                if os.readlink(fd).endswith("/" + file_name):
                    return pid
            except OSError:
                continue
    raise AssertionError(f"no worker has {file_name} open")


def test_per_address_limit_then_upgrade_hands_the_port_over(tmp_path):
    """max_connections_per_ip counts a Flight session from its first call after the
    login (with pgwire connections); after SIGUSR1 the old process lets the Flight port
    go at once, the new one binds it and tells an old token to authenticate again, and
    the old process's drain ends with its Flight sessions."""
    server = start(tmp_path, "--max-connections-per-ip", "2",
                   "--handover-drain-timeout", "60s", tenants=False)
    login = ("postgres", "postgres", "postgres")
    successor = None
    info = fl.FlightDescriptor.for_command(pack_any("CommandGetSqlInfo", b""))
    try:
        first, first_options = raw_client(server, *login)
        first.get_flight_info(info, first_options)
        with pg(server, *login) as conn:  # 127.0.0.1's second connection
            assert conn.execute("SELECT client_addr FROM pg_stat_activity WHERE "
                                "client_addr IS NOT NULL").fetchall() == [("127.0.0.1",)] * 2
            second, second_options = raw_client(server, *login)  # the login passes, then
            with pytest.raises(fl.FlightUnavailableError,
                               match=r"too many connections from 127\.0\.0\.1.*53300"):
                second.get_flight_info(info, second_options)
        second, second_options = raw_client(server, *login)
        second.get_flight_info(info, second_options)  # the pgwire one was given back

        os.kill(server.proc.pid, signal.SIGUSR1)
        successor = _successor(server)
        deadline = time.monotonic() + 30
        while True:  # the old process serves until it lets go; a blink unbound
            assert time.monotonic() < deadline, server.log()[-3000:]
            try:
                first.get_flight_info(info, first_options)
            except fl.FlightUnauthenticatedError as exc:
                assert "authenticate again" in str(exc)
                break
            except (fl.FlightUnavailableError, fl.FlightCancelledError):
                pass  # a call meeting the old process's gRPC shutting down
            time.sleep(0.05)
        assert server.proc.wait(timeout=30) == 0  # drained: its Flight sessions ended
        with adbc(server, *login) as conn, conn.cursor() as cur:  # served by the new process
            cur.execute("SELECT 6 * 7")
            assert cur.fetchall() == [(42,)]
    finally:
        if successor is not None:
            _stop(successor)
        server.stop(signal.SIGKILL)
