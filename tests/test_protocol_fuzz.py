"""Protocol fuzzing against a live server: a Hypothesis state machine that connects
(with a real or a garbage startup), sends random runs of valid and invalid frontend
messages, and settles each run with Sync + a marker query. The server must answer with
well-formed messages or close the connection, never hang a session past a bound, never
die, and keep serving a well-behaved session that stays open through it all.

Runs per CI: FUZZ_EXAMPLES machines (default 60) of up to 20 steps each
(`FUZZ_EXAMPLES=5000 pytest tests/test_protocol_fuzz.py` for a long run).
"""

from __future__ import annotations

import os
import socket
import struct

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

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
run = st.lists(st.one_of(valid_message, valid_message, invalid_message), min_size=1, max_size=8)
#: What may come before a startup completes: a startup packet with random parameters,
#: protocol codes and lengths, or anything at all.
garbage_startup = st.one_of(
    st.builds(lambda code, params: struct.pack("!ii", 8 + len(params), code) + params,
              st.sampled_from([196608, 80877103, 80877102, 80877104, 131072, 0]),
              st.binary(max_size=40)),
    st.builds(lambda length, tail: struct.pack("!i", length) + tail,
              st.sampled_from([-1, 0, 7, 10_001, 1 << 30]), st.binary(max_size=8)),
    st.binary(min_size=1, max_size=30),
)


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory):
    srv = ServerProcess(tmp_path_factory.mktemp("fuzz") / "data",
                        ["--auth-method", "trust", "--tls", "optional",
                         "--authentication-timeout", "1s", "--max-message-size", "1MB",
                         # A truncated frame makes the server wait for the rest, as it
                         # must; these bound how long.
                         "--idle-session-timeout", "1s",
                         "--idle-in-transaction-session-timeout", "1s"]).start()
    yield srv
    assert srv.proc.poll() is None, "the server died during fuzzing:\n" + srv.log()
    srv.stop()


def _read_until_marker_or_close(client: RawClient) -> bool:
    """Read well-formed backend messages until the marker row (True) or a close (False)."""
    client.sock.settimeout(ANSWER_BOUND)
    try:
        while True:
            kind, body = client.receive()
            assert kind[0] in BACKEND_TYPES, f"unexpected backend message type {kind!r}"
            if kind == b"D" and b"fuzz-end" in body:
                return True
    except (EOFError, ConnectionError):
        return False
    except socket.timeout:
        raise AssertionError("server neither answered nor closed in time") from None
    except OSError:
        return False


class ProtocolMachine(RuleBasedStateMachine):
    def __init__(self, port: int, good: RawClient) -> None:
        super().__init__()
        self.port, self.good = port, good
        self.client: RawClient | None = None

    def _drop(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None

    @rule()
    def connect(self) -> None:
        self._drop()
        self.client = RawClient(self.port, tls=False)
        self.client.startup(user="postgres", database="fuzz")
        self.client.until(b"Z")

    @rule(packet=garbage_startup)
    def connect_with_garbage(self, packet: bytes) -> None:
        """Anything before a startup completes: answered, or the connection closed
        (by the authentication timeout at the latest)."""
        self._drop()
        client = RawClient(self.port, tls=False)
        try:
            client.send(packet)
            client.sock.settimeout(ANSWER_BOUND)
            while client.sock.recv(65536):
                pass
        except socket.timeout:
            raise AssertionError("unfinished startup kept open past its bound") from None
        except OSError:
            pass
        finally:
            client.close()

    @rule(messages=run)
    def send_and_settle(self, messages: list[bytes]) -> None:
        # Whether the server closed the last connection is not Hypothesis's to know
        # (rules must not depend on it): reconnect here rather than in a precondition.
        if self.client is None:
            self.connect()
        assert self.client is not None
        try:
            self.client.send(b"".join(messages))
            # A recognisable end: ROLLBACK leaves any transaction the run opened (or
            # failed), then a marker row follows everything else.
            self.client.send(rawpg.SYNC + rawpg._frame(b"Q", b"ROLLBACK\0")
                             + rawpg._frame(b"Q", b"SELECT 'fuzz-end'\0"))
        except OSError:
            pass  # closed while we were still sending: allowed
        if not _read_until_marker_or_close(self.client):
            self._drop()

    @invariant()
    def a_well_behaved_session_is_served(self) -> None:
        self.good.query("SELECT 42")
        assert [m[0] for m in self.good.until(b"Z")] == [b"T", b"D", b"C", b"Z"]

    def teardown(self) -> None:
        self._drop()


def test_random_message_runs_keep_the_server_serving(fuzz_server):
    good = RawClient(fuzz_server.port, tls=False)
    good.startup(user="postgres", database="fuzz_good")
    good.until(b"Z")
    good.query("SET idle_session_timeout = 0")  # it waits between our steps
    good.until(b"Z")
    try:
        run_state_machine_as_test(
            lambda: ProtocolMachine(fuzz_server.port, good),
            settings=settings(max_examples=EXAMPLES, stateful_step_count=20, deadline=None,
                              suppress_health_check=[HealthCheck.too_slow]))
    finally:
        good.close()
