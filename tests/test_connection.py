"""Connection-level behaviour: TLS policy, authentication, limits, timeouts, shutdown."""

from __future__ import annotations

import os
import select
import signal
import socket
import stat
import struct
import threading
import time
from pathlib import Path

import psycopg
import pytest

from duckgres_trio.frontend import scram
from tests.support.rawpg import RawClient, error_fields


def fatal_of(client: RawClient) -> dict[str, str]:
    kind, body = client.until(b"E")[-1]
    return error_fields(body)


def test_plaintext_startup_when_tls_required_is_28000(server):
    client = RawClient(server.port, tls=False)
    client.startup(user="postgres", database="postgres")
    fields = fatal_of(client)
    assert fields["S"] == "FATAL" and fields["C"] == "28000"
    assert "TLS is required" in fields["M"]
    assert client.closed()


def test_psycopg_sslmode_disable_is_refused(server):
    with pytest.raises(psycopg.OperationalError) as info:
        psycopg.connect(server.dsn(sslmode="disable"))
    assert "TLS is required" in str(info.value)


def test_wrong_password_is_28p01_and_unknown_user_looks_the_same(server):
    for user in ("postgres", "nobody"):
        with pytest.raises(psycopg.OperationalError) as info:
            psycopg.connect(server.dsn(user=user, password="wrong"))
        assert f'FATAL:  password authentication failed for user "{user}"' in str(info.value)


def test_wrong_password_sqlstate_on_the_wire(start_server):
    srv = start_server("--auth-method", "password")
    for user in ("postgres", "nobody"):
        client = RawClient(srv.port)
        client.startup(user=user, database="postgres")
        assert client.receive() == (b"R", struct.pack("!i", 3))  # cleartext, inside TLS
        client.message(b"p", b"wrong\0")
        fields = fatal_of(client)
        assert (fields["S"], fields["C"]) == ("FATAL", "28P01")
        assert client.closed()


def test_oversized_message_is_08p01(start_server):
    srv = start_server("--auth-method", "trust", "--max-message-size", "4kB")
    client = RawClient(srv.port)
    client.startup(user="postgres", database="postgres")
    client.until(b"Z")
    # Only the header: the server must refuse from the length alone, not wait for 1 MB.
    client.send(b"Q" + struct.pack("!i", 1_000_004))
    fields = fatal_of(client)
    assert fields["C"] == "08P01" and fields["S"] == "FATAL"
    assert client.closed()


def test_malformed_message_is_08p01(start_server):
    srv = start_server("--auth-method", "trust")
    client = RawClient(srv.port)
    client.startup(user="postgres", database="postgres")
    client.until(b"Z")
    client.message(b"Q", b"SELECT 1")  # no NUL terminator
    assert fatal_of(client)["C"] == "08P01"
    assert client.closed()


def test_unknown_message_type_is_08p01(start_server):
    srv = start_server("--auth-method", "trust")
    client = RawClient(srv.port)
    client.startup(user="postgres", database="postgres")
    client.until(b"Z")
    client.message(b"!", b"")
    assert fatal_of(client)["C"] == "08P01"


def _server_spoke(conn: psycopg.Connection, within: float) -> float:
    """Seconds until the server sent something unasked (the timeout's FATAL), polled
    rather than slept, so the test waits no longer than the server; fails past
    ``within``."""
    started = time.monotonic()
    with select.epoll() as poll:
        poll.register(conn.pgconn.socket, select.EPOLLIN)
        assert poll.poll(within), f"the server said nothing within {within} s"
    return time.monotonic() - started


def test_idle_session_timeout_is_57p05(start_server, server):
    srv = start_server("--idle-session-timeout", "1s")
    conn = psycopg.connect(srv.dsn(), autocommit=True)
    assert conn.execute("SELECT 1").fetchone() == (1,)
    assert _server_spoke(conn, 10) > 0.9
    with pytest.raises(psycopg.OperationalError) as info:
        conn.execute("SELECT 1")
    assert "idle-session timeout" in str(info.value)
    # A session sets its own, as in PostgreSQL: off here, on where the server has none
    # (the shared server).
    with psycopg.connect(srv.dsn(), autocommit=True) as conn:
        conn.execute("SET idle_session_timeout = 0")
        time.sleep(2.5)
        assert conn.execute("SHOW idle_session_timeout").fetchone() == ("0",)
    conn = psycopg.connect(server.dsn(options="-c idle_session_timeout=500ms"), autocommit=True)
    assert _server_spoke(conn, 10) > 0.4
    with pytest.raises(psycopg.OperationalError):
        conn.execute("SELECT 1")


def test_idle_timeout_fatal_on_the_wire(start_server):
    srv = start_server("--idle-session-timeout", "500ms", "--auth-method", "trust")
    client = RawClient(srv.port)
    client.startup(user="postgres", database="postgres")
    client.until(b"Z")
    started = time.monotonic()
    fields = fatal_of(client)
    assert fields["C"] == "57P05" and fields["S"] == "FATAL"
    assert 0.4 < time.monotonic() - started < 5
    assert client.closed()


def test_idle_timeout_does_not_apply_inside_a_transaction(start_server):
    srv = start_server("--idle-session-timeout", "500ms")
    with psycopg.connect(srv.dsn()) as conn:  # psycopg opens a transaction
        conn.execute("SELECT 1")
        time.sleep(1.2)
        assert conn.execute("SELECT 2").fetchone() == (2,)
        conn.rollback()


def test_authentication_timeout(start_server):
    srv = start_server("--authentication-timeout", "1s")
    client = RawClient(srv.port)  # TLS done, then silence: no startup packet
    started = time.monotonic()
    assert fatal_of(client)["C"] == "57014"
    assert client.closed()
    assert time.monotonic() - started < 5


def test_gssenc_request_is_refused_then_startup_works(start_server):
    srv = start_server("--auth-method", "trust", "--tls", "optional")
    client = RawClient(srv.port, tls=False)
    client.send(struct.pack("!ii", 8, 80877104))
    assert client.sock.recv(1) == b"N"
    client.startup(user="postgres", database="postgres", application_name="raw")
    messages = client.until(b"Z")
    status = dict(
        tuple(body.rstrip(b"\0").decode().split("\0")) for kind, body in messages if kind == b"S"
    )
    for name in ("server_version", "server_encoding", "client_encoding", "DateStyle",
                 "IntervalStyle", "TimeZone", "integer_datetimes",
                 "standard_conforming_strings", "application_name", "is_superuser"):
        assert name in status, name
    assert status["application_name"] == "raw"
    assert any(kind == b"K" for kind, _ in messages)
    assert messages[-1] == (b"Z", b"I")


def test_startup_options_are_applied(server):
    with psycopg.connect(server.dsn(options="-c TimeZone=Europe/Berlin -capplication_name=opt")) as conn:
        assert conn.info.parameter_status("TimeZone") == "Europe/Berlin"
        assert conn.info.parameter_status("application_name") == "opt"
    with pytest.raises(psycopg.OperationalError) as info:
        psycopg.connect(server.dsn(options="-c no_such_setting=1"))
    assert "unrecognized configuration parameter" in str(info.value)


def test_auth_methods(start_server):
    md5 = scram.make_md5_verifier("alice", "s3cret")
    srv = start_server("--auth-method", "md5", "--users", f"alice={md5}")
    with psycopg.connect(srv.dsn(user="alice", password="s3cret")) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(srv.dsn(user="alice", password="nope"))

    verifier = scram.make_scram_verifier("pw")
    srv = start_server("--auth-method", "password", "--tls", "optional", "--users", f"bob={verifier}")
    with psycopg.connect(srv.dsn(user="bob", password="pw")) as conn:
        assert conn.execute("SELECT 2").fetchone() == (2,)
    with pytest.raises(psycopg.OperationalError) as info:
        psycopg.connect(srv.dsn(user="bob", password="pw", sslmode="disable"))
    assert "requires an encrypted" in str(info.value)

    srv = start_server("--auth-method", "trust", "--tls", "disabled")
    with psycopg.connect(srv.dsn(password="", sslmode="disable")) as conn:
        assert conn.execute("SELECT 3").fetchone() == (3,)


def test_scram_channel_binding_is_used_over_tls(server):
    with psycopg.connect(server.dsn(channel_binding="require")) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_unknown_database_without_auto_create_is_3d000(start_server):
    srv = start_server("--auto-create-databases", "false", "--auth-method", "trust")
    with pytest.raises(psycopg.OperationalError) as info:
        psycopg.connect(srv.dsn(dbname="nope"))
    assert 'database "nope" does not exist' in str(info.value)
    client = RawClient(srv.port)
    client.startup(user="postgres", database="nope")
    assert (fatal_of(client)["C"]) == "3D000"
    assert not (srv.data_dir / "nope.duckdb").exists()


def test_generated_key_is_private(server):
    mode = stat.S_IMODE(os.stat(server.data_dir / "server.key").st_mode)
    assert mode == 0o600


def test_cancel_with_wrong_key_changes_nothing(server):
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        pid = conn.info.backend_pid
        client = RawClient(server.port, tls=False)
        client.send(struct.pack("!iiiI", 16, 80877102, pid, 12345))
        assert client.closed()
        timer = threading.Timer(0.3, lambda: _wrong_cancel(server.port, pid))
        timer.start()
        assert conn.execute("SELECT count(*) FROM range(3000000)").fetchone() == (3000000,)
        timer.join()


def _wrong_cancel(port: int, pid: int) -> None:
    client = RawClient(port)
    client.send(struct.pack("!iiiI", 16, 80877102, pid, 0xDEADBEEF))
    client.closed()


def test_data_survives_restart(start_server, tmp_path):
    data_dir = tmp_path / "persist"
    srv = start_server(data_dir=data_dir)
    with psycopg.connect(srv.dsn(dbname="keep"), autocommit=True) as conn:
        conn.execute("CREATE TABLE k (v VARCHAR)")
        conn.execute("INSERT INTO k VALUES ('still here')")
    assert srv.stop() == 0
    srv = start_server(data_dir=data_dir, port=srv.port)
    with psycopg.connect(srv.dsn(dbname="keep")) as conn:
        assert conn.execute("SELECT v FROM k").fetchall() == [("still here",)]


def test_shutdown_closes_idle_sessions_with_57p01_and_exits_0(start_server):
    srv = start_server()
    conn = psycopg.connect(srv.dsn(), autocommit=True)
    conn.execute("SELECT 1")
    assert srv.stop(signal.SIGTERM) == 0
    with pytest.raises(psycopg.OperationalError) as info:
        conn.execute("SELECT 1")
    assert "terminating connection due to administrator command" in str(info.value)


def test_shutdown_lets_running_statement_finish(start_server):
    srv = start_server("--handover-drain-timeout", "30s")
    conn = psycopg.connect(srv.dsn(), autocommit=True)
    result = {}

    def run():
        result["rows"] = conn.execute(
            "SELECT count(*) FROM range(400000000)").fetchone()

    worker = threading.Thread(target=run)
    worker.start()
    time.sleep(0.5)
    srv.proc.send_signal(signal.SIGTERM)
    worker.join(60)
    assert result["rows"] == (400000000,)
    assert srv.proc.wait(60) == 0


def test_drain_timeout_cancels_running_statement(start_server):
    srv = start_server("--handover-drain-timeout", "1s")
    conn = psycopg.connect(srv.dsn(), autocommit=True)
    errors = []

    def run():
        try:
            conn.execute("SELECT count(*) FROM range(10000000000) a, range(1000) b")
        except psycopg.Error as exc:
            errors.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    time.sleep(0.5)
    started = time.monotonic()
    srv.proc.send_signal(signal.SIGTERM)
    assert srv.proc.wait(30) == 0
    assert time.monotonic() - started < 10
    worker.join(10)
    assert errors and "administrator command" in str(errors[0])


def test_drain_with_a_running_query_and_ten_idle_sessions(start_server):
    """SIGTERM: the running query completes, the ten idle sessions get FATAL 57P01, a
    new connection meanwhile gets FATAL 57P03 (not a refused port), the process exits
    0 and leaves no worker behind."""
    srv = start_server("--handover-drain-timeout", "60s")
    busy = psycopg.connect(srv.dsn(), autocommit=True)
    idle = [psycopg.connect(srv.dsn(), autocommit=True) for _ in range(10)]
    for conn in idle:
        conn.execute("SELECT 1")
    children = _children(srv.proc.pid)
    result = {}

    def run():
        result["rows"] = busy.execute("SELECT count(*) FROM range(10000000000)").fetchone()

    thread = threading.Thread(target=run)
    thread.start()
    time.sleep(0.5)
    srv.proc.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    with pytest.raises(psycopg.OperationalError) as refused:
        psycopg.connect(srv.dsn(), connect_timeout=10)
    assert "shutting down" in str(refused.value)
    for conn in idle:
        with pytest.raises(psycopg.OperationalError) as info:
            conn.execute("SELECT 1")
        assert "administrator command" in str(info.value)
    thread.join(120)
    assert result["rows"] == (10000000000,)
    assert srv.proc.wait(60) == 0
    assert not [pid for pid in children if Path(f"/proc/{pid}").exists()]


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(p) for p in (task / "children").read_text().split()]
    return found


def test_empty_query_and_comment_only_query(start_server):
    srv = start_server("--auth-method", "trust")
    client = RawClient(srv.port)
    client.startup(user="postgres", database="postgres")
    client.until(b"Z")
    for sql in ("", "  ;  ", "-- nothing\n", "/* nothing */"):
        client.query(sql)
        assert client.until(b"Z") == [(b"I", b""), (b"Z", b"I")], sql


def test_row_description_carries_postgres_types(start_server):
    srv = start_server("--auth-method", "trust")
    client = RawClient(srv.port)
    client.startup(user="postgres", database="postgres")
    client.until(b"Z")
    client.query("SELECT 1::INTEGER AS i, 2::BIGINT AS b, 'x' AS t, 1.5::DECIMAL(10,2) AS n, "
                 "true AS f, DATE '2024-01-01' AS d, [1,2] AS a")
    kind, body = client.receive()
    assert kind == b"T"
    (count,) = struct.unpack("!h", body[:2])
    pos, fields = 2, []
    for _ in range(count):
        end = body.index(b"\0", pos)
        name = body[pos:end].decode()
        table, attnum, oid, typlen, typmod, fmt = struct.unpack("!IhIhih", body[end + 1:end + 19])
        fields.append((name, oid, typlen, typmod, fmt))
        pos = end + 19
    assert fields == [
        ("i", 23, 4, -1, 0), ("b", 20, 8, -1, 0), ("t", 25, -1, -1, 0),
        ("n", 1700, -1, (10 << 16 | 2) + 4, 0), ("f", 16, 1, -1, 0), ("d", 1082, 4, -1, 0),
        ("a", 1007, -1, -1, 0),
    ]
    messages = client.until(b"Z")
    assert [m[0] for m in messages] == [b"D", b"C", b"Z"]
    assert messages[1][1] == b"SELECT 1\0"


def test_extended_error_skips_to_sync_and_session_survives(start_server):
    srv = start_server("--auth-method", "trust")
    client = RawClient(srv.port)
    client.startup(user="postgres", database="postgres")
    client.until(b"Z")
    client.message(b"P", b"\0SELEKT 1\0\0\0")
    client.message(b"B", b"\0\0\0\0\0\0\0\0")
    client.message(b"E", b"\0\0\0\0\0")
    client.message(b"S", b"")
    messages = client.until(b"Z")
    assert [m[0] for m in messages] == [b"E", b"Z"]
    assert error_fields(messages[0][1])["C"] == "42601"
    client.message(b"P", b"\0SELECT 1\0\0\0")
    client.message(b"B", b"\0\0\0\0\0\0\0\0")
    client.message(b"E", b"\0\0\0\0\0")
    client.message(b"S", b"")
    assert [m[0] for m in client.until(b"Z")] == [b"1", b"2", b"D", b"C", b"Z"]
    client.query("SELECT 1")
    assert [m[0] for m in client.until(b"Z")] == [b"T", b"D", b"C", b"Z"]


def test_accepted_sockets_use_tcp_keepalive_and_user_timeout():
    import socket as pysocket

    import trio

    from duckgres_trio.frontend.connection import tune_socket

    async def main():
        listener = (await trio.open_tcp_listeners(0, host="127.0.0.1"))[0]
        port = listener.socket.getsockname()[1]
        async with trio.open_nursery() as nursery:
            nursery.start_soon(trio.open_tcp_stream, "127.0.0.1", port)
            stream = await listener.accept()
            tune_socket(stream, 7.5)
            sock = stream.socket
            assert sock.getsockopt(pysocket.SOL_SOCKET, pysocket.SO_KEEPALIVE) == 1
            assert sock.getsockopt(pysocket.IPPROTO_TCP, pysocket.TCP_KEEPIDLE) == 30
            assert sock.getsockopt(pysocket.IPPROTO_TCP, pysocket.TCP_USER_TIMEOUT) == 7500
            await stream.aclose()
        await listener.aclose()

    trio.run(main)


def test_systemd_hears_ready_and_stopping(start_server, tmp_path):
    path = str(tmp_path / "notify")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind(path)
        listener.settimeout(30)
        srv = start_server(env={"NOTIFY_SOCKET": path})
        ready = listener.recv(4096).decode().split("\n")
        assert "READY=1" in ready and f"MAINPID={srv.proc.pid}" in ready
        srv.proc.send_signal(signal.SIGTERM)
        assert "STOPPING=1" in listener.recv(4096).decode().split("\n")
        assert srv.proc.wait(60) == 0
