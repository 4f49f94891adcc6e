"""Limits: statement and idle-in-transaction timeouts, per-address connection caps,
bans after failed logins, slow and stalled clients."""

from __future__ import annotations

import struct
import threading
import time

import psycopg
import pytest

from duckgres_trio.frontend.limits import ClientLimits
from tests.support.rawpg import RawClient, error_fields

LONG_QUERY = "SELECT count(*) FROM range(10000000000) a, range(1000) b"


def test_statement_timeout_set_by_the_session(server):
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute("SET statement_timeout = '500ms'")
        assert conn.execute("SHOW statement_timeout").fetchone() == ("500ms",)
        started = time.monotonic()
        with pytest.raises(psycopg.errors.QueryCanceled) as info:
            conn.execute(LONG_QUERY)
        assert "statement timeout" in str(info.value)
        assert time.monotonic() - started < 5
        assert conn.execute("SELECT 1").fetchone() == (1,)
        conn.execute("RESET statement_timeout")
        assert conn.execute("SHOW statement_timeout").fetchone() == ("0",)


def test_statement_timeout_from_config_applies_to_the_extended_protocol(start_server):
    srv = start_server("--statement-timeout", "500ms")
    with psycopg.connect(srv.dsn(), autocommit=True) as conn:
        with pytest.raises(psycopg.errors.QueryCanceled):
            conn.execute(LONG_QUERY + " WHERE a.range > %s", [-1])
        assert conn.execute("SELECT %s::INTEGER", [5]).fetchone() == (5,)


def test_idle_in_transaction_timeout_is_25p03(start_server):
    srv = start_server("--auth-method", "trust", "--idle-in-transaction-session-timeout", "500ms")
    client = RawClient(srv.port)
    client.startup(user="postgres", database="postgres")
    client.until(b"Z")
    client.query("BEGIN")
    assert client.until(b"Z")[-1] == (b"Z", b"T")
    started = time.monotonic()
    kind, body = client.receive()
    assert kind == b"E"
    fields = error_fields(body)
    assert (fields["S"], fields["C"]) == ("FATAL", "25P03")
    assert 0.4 < time.monotonic() - started < 5
    assert client.closed()


def test_max_connections_per_ip(start_server):
    srv = start_server("--auth-method", "trust", "--max-connections-per-ip", "2")
    first, second = (RawClient(srv.port) for _ in range(2))
    for client in (first, second):
        client.startup(user="postgres", database="postgres")
        client.until(b"Z")
    with pytest.raises((ConnectionError, OSError, EOFError)):
        RawClient(srv.port)  # closed unanswered before TLS
    other = RawClient(srv.port, source="127.0.0.2")  # another address is unaffected
    other.startup(user="postgres", database="postgres")
    assert other.until(b"Z")[-1][0] == b"Z"
    first.close()
    deadline = time.monotonic() + 10
    while True:  # the server notices the close asynchronously
        try:
            again = RawClient(srv.port)
            break
        except (ConnectionError, OSError, EOFError):
            assert time.monotonic() < deadline
            time.sleep(0.2)
    again.startup(user="postgres", database="postgres")
    assert again.until(b"Z")[-1][0] == b"Z"


def _password_login(port: int, password: str, source: str | None = None) -> str:
    client = RawClient(port, source=source)
    client.startup(user="postgres", database="postgres")
    assert client.receive() == (b"R", struct.pack("!i", 3))
    client.message(b"p", password.encode() + b"\0")
    kind, body = client.until(b"Z")[-1] if password == "postgres" else client.receive()
    client.close()
    return "ok" if kind == b"Z" else error_fields(body)["C"]


def test_failed_logins_ban_the_address_and_only_it(start_server):
    srv = start_server("--auth-method", "password", "--auth-failure-limit", "5")
    assert _password_login(srv.port, "postgres") == "ok"
    for _ in range(5):
        assert _password_login(srv.port, "wrong") == "28P01"
    with pytest.raises((ConnectionError, OSError, EOFError)):
        _password_login(srv.port, "postgres")  # banned: closed before TLS
    assert _password_login(srv.port, "postgres", source="127.0.0.2") == "ok"
    assert "banned or over max_connections_per_ip" in srv.log()


def test_slowloris_is_cut_at_the_authentication_timeout(start_server):
    srv = start_server("--auth-method", "trust", "--authentication-timeout", "2s")
    slow = RawClient(srv.port, tls=False, timeout=20)
    packet = struct.pack("!ii", 8, 80877103)
    started = time.monotonic()
    closed_after = None
    for byte in packet:
        try:
            slow.sock.sendall(bytes([byte]))
        except OSError:
            closed_after = time.monotonic() - started
            break
        time.sleep(1)
    if closed_after is None:
        assert slow.closed()
        closed_after = time.monotonic() - started
    assert closed_after < 10
    normal = RawClient(srv.port)
    normal.startup(user="postgres", database="postgres")
    normal.until(b"Z")
    normal.query("SELECT 1")
    assert [m[0] for m in normal.until(b"Z")] == [b"T", b"D", b"C", b"Z"]


def test_client_that_stops_reading_is_disconnected_after_write_timeout(start_server):
    srv = start_server("--auth-method", "trust", "--write-timeout", "2s")
    stalled = RawClient(srv.port)
    stalled.startup(user="postgres", database="postgres")
    stalled.until(b"Z")
    stalled.query("SELECT range AS i, 'padding-padding' AS p FROM range(100000000)")
    deadline = time.monotonic() + 20
    while "accepted no data" not in srv.log():
        assert time.monotonic() < deadline, srv.log()
        time.sleep(0.2)
    normal = RawClient(srv.port)
    normal.startup(user="postgres", database="postgres")
    normal.until(b"Z")
    normal.query("SELECT 2")
    assert [m[0] for m in normal.until(b"Z")] == [b"T", b"D", b"C", b"Z"]


def test_client_limits_unit():
    now = [0.0]
    limits = ClientLimits(max_per_ip=1, failure_limit=3, failure_window=10,
                          ban_duration=60, clock=lambda: now[0])
    assert limits.admit("a") and not limits.admit("a") and limits.admit("b")
    limits.release("a")
    assert limits.admit("a")
    for _ in range(2):
        limits.auth_failed("c")
    now[0] = 11.0  # the first two failures leave the window
    limits.auth_failed("c")
    assert not limits.banned("c")
    limits.auth_failed("c")
    limits.auth_failed("c")
    assert limits.banned("c") and not limits.admit("c")
    now[0] = 11.0 + 61
    assert not limits.banned("c") and limits.admit("c")
    assert limits.rejects == 2
