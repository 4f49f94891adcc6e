"""Limits: statement and idle-in-transaction timeouts, per-address connection caps,
bans after failed logins, slow and stalled clients."""

from __future__ import annotations

import re
import socket
import struct
import threading
import time

import psycopg
import pytest

from duckgres_trio.frontend.limits import ClientLimits
from tests.conftest import free_port
from tests.support.rawpg import RawClient, error_fields
from tests.support.metrics import scrape, value

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


def test_max_connections_counts_sessions_and_bounds_the_unauthenticated(start_server):
    srv = start_server("--auth-method", "trust", "--max-connections", "2")
    sessions = [psycopg.connect(srv.dsn()) for _ in range(2)]
    with pytest.raises(psycopg.OperationalError) as info:
        psycopg.connect(srv.dsn())
    assert "sorry, too many clients already" in str(info.value)
    sessions.pop().close()
    deadline = time.monotonic() + 10
    while True:  # the freed place is taken again (the server notices the close soon)
        try:
            sessions.append(psycopg.connect(srv.dsn()))
            break
        except psycopg.OperationalError:
            assert time.monotonic() < deadline
            time.sleep(0.1)
    # Connections that never authenticate: at most twice max_connections in all.
    silent = [socket.create_connection(("127.0.0.1", srv.port)) for _ in range(2)]
    refused = socket.create_connection(("127.0.0.1", srv.port))
    refused.settimeout(10)
    assert refused.recv(1) == b""  # closed unanswered
    assert "twice max_connections" in srv.log()
    for sock in silent + [refused]:
        sock.close()
    for conn in sessions:
        assert conn.execute("SELECT 1").fetchone() == (1,)
        conn.close()


def _password_login(port: int, password: str, source: str | None = None) -> str:
    client = RawClient(port, source=source)
    client.startup(user="postgres", database="postgres")
    assert client.receive() == (b"R", struct.pack("!i", 3))
    client.message(b"p", password.encode() + b"\0")
    kind, body = client.until(b"Z")[-1] if password == "postgres" else client.receive()
    client.close()
    return "ok" if kind == b"Z" else error_fields(body)["C"]


def _banned_answer(port: int, source: str) -> dict[str, str]:
    """What a banned address hears: its startup packet (over TLS) is answered with a
    FATAL and the connection closed, no authentication asked."""
    client = RawClient(port, source=source)
    client.startup(user="postgres", database="postgres")
    kind, body = client.receive()
    assert kind == b"E", kind
    assert client.closed()
    return error_fields(body)


def test_six_wrong_passwords_ban_the_address_and_only_it(start_server):
    """The default limit (5 failures in 5 minutes) from 127.0.0.2: the sixth attempt is
    refused with FATAL 28000 saying why and for how long, and counted; another address
    logs in; metrics show both. Loopback 127.0.0.1 is exempt by default: six wrong
    passwords from it ban nothing."""
    metrics_port = free_port()
    srv = start_server("--auth-method", "password",
                       "--metrics-address", f"127.0.0.1:{metrics_port}",
                       "--auth-ban-exempt", "127.0.0.1/32,::1")
    before = value(scrape(metrics_port), "duckgres_rate_limit_rejects_total")
    outcomes = []
    for _ in range(5):
        outcomes.append(_password_login(srv.port, "wrong", source="127.0.0.2"))
    assert outcomes == ["28P01"] * 5
    fields = _banned_answer(srv.port, "127.0.0.2")
    assert (fields["S"], fields["C"]) == ("FATAL", "28000")
    assert re.fullmatch(r"too many failed login attempts from this address; "
                        r"retry after (\d+) s", fields["M"]), fields["M"]
    assert 890 <= int(fields["M"].split()[-2]) <= 900
    # the right password changes nothing now
    assert _banned_answer(srv.port, "127.0.0.2")["C"] == "28000"
    assert _password_login(srv.port, "postgres", source="127.0.0.3") == "ok"
    assert [_password_login(srv.port, "wrong") for _ in range(6)] == ["28P01"] * 6
    assert _password_login(srv.port, "postgres") == "ok"  # 127.0.0.1: exempt
    samples = scrape(metrics_port)
    assert value(samples, "duckgres_rate_limit_rejects_total") == before + 2
    assert value(samples, "duckgres_rate_limited_ips") == 1
    assert value(samples, "duckgres_auth_failures_total") >= 11
    assert "banned or over max_connections_per_ip" in srv.log()


@pytest.mark.parametrize("sslmode", ["require", "prefer", "disable"])
def test_a_banned_client_is_told_why(start_server, sslmode):
    """libpq (psql, psycopg) shows the FATAL, whatever its sslmode, instead of "server
    closed the connection unexpectedly". No exemption here, so 127.0.0.1 can be banned."""
    srv = start_server("--auth-failure-limit", "2", "--auth-ban-exempt", "",
                       "--tls", "optional")
    for _ in range(2):
        with pytest.raises(psycopg.OperationalError) as info:
            psycopg.connect(srv.dsn(password="wrong"))
        assert "password authentication failed" in str(info.value)
    with pytest.raises(psycopg.OperationalError) as info:
        psycopg.connect(srv.dsn(sslmode=sslmode))
    assert re.search(r"FATAL:  too many failed login attempts from this address; "
                     r"retry after \d+ s", str(info.value)), str(info.value)


def test_ban_exemptions_unit():
    limits = ClientLimits(max_per_ip=0, failure_limit=1, failure_window=10,
                          ban_duration=60, exempt=("127.0.0.0/8", "::1", "10.1.0.0/16"),
                          clock=lambda: 5.0)
    for address in ("127.0.0.1", "127.9.9.9", "::1", "::ffff:127.0.0.1", "10.1.2.3"):
        limits.auth_failed(address)
        assert not limits.banned(address) and limits.admit(address), address
    for address in ("10.2.0.1", "::2", "unknown"):
        limits.auth_failed(address)
        assert limits.banned(address) and limits.ban_remaining(address) == 60.0, address


def _seconds_until_closed(sock: socket.socket, trickle: bytes = b"") -> float:
    """Send ``trickle`` one byte a second, then wait; how long until the server closes."""
    started = time.monotonic()
    sock.settimeout(1.0)
    for byte in trickle:
        try:
            sock.sendall(bytes([byte]))
            if sock.recv(1) == b"":
                return time.monotonic() - started
        except socket.timeout:
            continue
        except OSError:
            return time.monotonic() - started
    sock.settimeout(30)
    try:
        while sock.recv(65536):
            pass
    except OSError:
        pass
    return time.monotonic() - started


def test_hostile_clients_are_cut_within_their_bounds_while_ten_others_work(start_server):
    """A slowloris (one byte a second), a client that never completes TLS and one that
    stops reading a large result: each is disconnected within its configured bound,
    while ten normal clients run queries throughout without an error."""
    bound = 3.0
    srv = start_server("--auth-method", "trust", "--authentication-timeout", f"{bound:g}s",
                       "--write-timeout", f"{bound:g}s")
    stop = threading.Event()
    served, failures = [0] * 10, []

    def normal(index: int) -> None:
        try:
            with psycopg.connect(srv.dsn(), autocommit=True) as conn:
                while not stop.is_set():
                    assert conn.execute("SELECT sum(range) FROM range(%s)",
                                        [index + 1000]).fetchone() == (sum(range(index + 1000)),)
                    served[index] += 1
                    time.sleep(0.05)
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(repr(exc))

    normals = [threading.Thread(target=normal, args=(i,)) for i in range(10)]
    for thread in normals:
        thread.start()
    try:
        # Slowloris: a startup packet at one byte a second never completes in time.
        slow = socket.create_connection(("127.0.0.1", srv.port))
        slowloris = _seconds_until_closed(slow, struct.pack("!ii", 80, 196608) + b"user\0x" * 5)
        # TLS that never completes: SSLRequest accepted, then half a ClientHello.
        stuck = socket.create_connection(("127.0.0.1", srv.port))
        stuck.sendall(struct.pack("!ii", 8, 80877103))
        assert stuck.recv(1) == b"S"
        stuck.sendall(b"\x16\x03\x01\x02\x00\x01")  # record header, first byte of the hello
        tls_stuck = _seconds_until_closed(stuck)
        # A client that stops reading mid-result.
        stalled = RawClient(srv.port)
        stalled.startup(user="postgres", database="postgres")
        stalled.until(b"Z")
        stalled.query("SELECT range AS i, 'padding-padding' AS p FROM range(100000000)")
        started = time.monotonic()
        while "accepted no data" not in srv.log():
            assert time.monotonic() - started < bound + 15, srv.log()
            time.sleep(0.1)
        stalled_cut = time.monotonic() - started
        counts_before = list(served)
        time.sleep(1)
    finally:
        stop.set()
        for thread in normals:
            thread.join(30)
    assert failures == []
    assert all(after > before for after, before in zip(served, counts_before)), served
    assert bound - 0.5 < slowloris < bound + 3, slowloris
    assert bound - 0.5 < tls_stuck < bound + 3, tls_stuck
    # the write timeout runs once the kernel's buffers are full, which takes a moment
    assert bound - 0.5 < stalled_cut < bound + 10, stalled_cut
    print(f"cut after: slowloris {slowloris:.1f}s, TLS never completed {tls_stuck:.1f}s, "
          f"stopped reading {stalled_cut:.1f}s; normal clients served {sum(served)} queries")


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
