"""Protocol fuzzing against a live server: random sequences of valid and invalid frontend
messages. The server must answer with well-formed messages or close the connection,
never hang past a bound, never die, and keep serving a well-behaved client meanwhile.

Examples per run: FUZZ_EXAMPLES (default 60; `FUZZ_EXAMPLES=5000 pytest
tests/test_protocol_fuzz.py` for a long run).
"""

from __future__ import annotations

import os
import socket
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import ServerProcess
from tests.support import rawpg
from tests.support.rawpg import RawClient

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "60"))
BACKEND_TYPES = set(b"RSKZTDCIEnNst123Aacdv")
ANSWER_BOUND = 10.0  # seconds the server may take to answer or close (> its idle timeouts)

SQL = st.sampled_from([
    "SELECT 1", "SELECT $1", "SELECT $1::INTEGER + $2", "SELEKT", "BEGIN", "COMMIT",
    "ROLLBACK", "SELECT * FROM nope", "", ";", "SELECT 'x' AS a, 2 AS b", "SET TimeZone = 'UTC'",
    "SHOW TimeZone", "SELECT range FROM range(3000)", "INSERT INTO nope VALUES (1)",
])
name = st.sampled_from(["", "s1", "p1"])
small_bytes = st.binary(max_size=12)

valid_message = st.one_of(
    st.builds(lambda sql: rawpg._frame(b"Q", sql.encode() + b"\0"), SQL),
    st.builds(lambda n, sql, oids: rawpg.parse(n, sql, tuple(oids)), name, SQL,
              st.lists(st.sampled_from([0, 16, 20, 23, 25, 1043, 999999]), max_size=3)),
    st.builds(lambda p, s, params, pf, rf: rawpg.bind(p, s, tuple(params), tuple(pf), tuple(rf)),
              name, name, st.lists(st.none() | small_bytes, max_size=3),
              st.lists(st.sampled_from([0, 1]), max_size=3),
              st.lists(st.sampled_from([0, 1]), max_size=3)),
    st.builds(rawpg.describe, st.sampled_from(["S", "P"]), name),
    st.builds(rawpg.execute, name, st.integers(0, 5)),
    st.builds(rawpg.close, st.sampled_from(["S", "P"]), name),
    st.just(rawpg.SYNC), st.just(rawpg.FLUSH),
    st.builds(lambda body: rawpg._frame(b"d", body), small_bytes),
)
invalid_message = st.one_of(
    st.builds(lambda kind, body: kind + struct.pack("!i", len(body) + 4) + body,
              st.binary(min_size=1, max_size=1), st.binary(max_size=30)),
    st.builds(lambda kind, length: kind + struct.pack("!i", length),
              st.sampled_from([b"Q", b"P", b"B"]), st.sampled_from([-1, 0, 3, 1 << 30, 0x7FFFFFFF])),
    st.builds(lambda body: rawpg._frame(b"B", body), st.binary(max_size=40)),
    st.builds(lambda body: rawpg._frame(b"P", body), st.binary(max_size=40)),
    st.binary(min_size=1, max_size=20),
)
sequence = st.lists(st.one_of(valid_message, valid_message, invalid_message), min_size=1, max_size=12)


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory):
    srv = ServerProcess(tmp_path_factory.mktemp("fuzz") / "data",
                        ["--auth-method", "trust", "--tls", "optional",
                         "--authentication-timeout", "5s", "--max-message-size", "1MB",
                         # A truncated frame makes the server wait for the rest, as it
                         # must; these bound how long.
                         "--idle-session-timeout", "3s",
                         "--idle-in-transaction-session-timeout", "3s"]).start()
    yield srv
    assert srv.proc.poll() is None, "the server died during fuzzing:\n" + srv.log()
    srv.stop()


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(messages=sequence)
def test_random_message_sequences(fuzz_server, messages):
    client = RawClient(fuzz_server.port, tls=False)
    client.startup(user="postgres", database="fuzz")
    client.until(b"Z")
    try:
        client.send(b"".join(messages))
        # A recognisable end: ROLLBACK leaves any transaction the sequence opened (or
        # failed), then a marker row follows everything else.
        client.send(rawpg.SYNC + rawpg._frame(b"Q", b"ROLLBACK\0")
                    + rawpg._frame(b"Q", b"SELECT 'fuzz-end'\0"))
    except OSError:
        pass  # closed while we were still sending: allowed
    client.sock.settimeout(ANSWER_BOUND)
    try:
        while True:
            kind, body = client.receive()
            assert kind[0] in BACKEND_TYPES, f"unexpected backend message type {kind!r}"
            if kind == b"D" and b"fuzz-end" in body:
                break
    except EOFError:
        pass
    except socket.timeout:
        raise AssertionError("server neither answered nor closed in time") from None
    except OSError:
        pass
    finally:
        client.close()
    # A well-behaved client is served meanwhile.
    good = RawClient(fuzz_server.port, tls=False)
    good.startup(user="postgres", database="fuzz")
    good.until(b"Z")
    good.query("SELECT 42")
    assert [m[0] for m in good.until(b"Z")] == [b"T", b"D", b"C", b"Z"]
    good.close()
