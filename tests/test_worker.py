"""A worker's statement path and control actions, spoken directly: the frames of
``worker/protocol.py`` over its Unix socket, as the control plane speaks them."""

from __future__ import annotations

import socket
import struct
import threading
import time

import pyarrow as pa
import pytest
from hypothesis import given, strategies as st

from duckgres_trio.worker import protocol as p
from duckgres_trio.worker.statements import JOIN_BYTES
from tests.support.worker import running_worker

# a worker process, spoken to directly: no server mode, no PostgreSQL codec:
# deselected in the standalone pass (tests/conftest.py)
pytestmark = pytest.mark.controlplane_only


@pytest.fixture(scope="module")
def worker():
    yield from running_worker()


class Channel:
    """Blocking frames on one statement-path connection."""

    def __init__(self, path: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(30)
        self.sock.connect(path)
        self.reader = p.FrameReader()

    def send(self, kind: int, payload: bytes = b"") -> None:
        self.sock.sendall(p.frame(kind, payload))

    def read(self) -> tuple[int, bytes]:
        while (got := self.reader.next()) is None:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError
            self.reader.feed(data)
        return got

    def result(self, schema: pa.Schema | None = None):
        """One result: ("command", rowcount) | ("rows", table, exhausted) | ("error", PgError)."""
        kind, payload = self.read()
        if kind == p.ERROR:
            return "error", p.read_error(payload)
        if kind == p.COMMAND:
            return "command", p.read_i64(payload)
        if kind == p.ROWS:
            schema, batches = p.read_rows(payload, schema)
            return "rows", pa.Table.from_batches(batches, schema), True
        assert kind == p.SCHEMA
        schema = pa.ipc.read_schema(pa.py_buffer(payload)) if payload else schema
        return ("rows", *self.batches(schema))

    def batches(self, schema: pa.Schema):
        batches = []
        while True:
            kind, payload = self.read()
            if kind == p.END:
                return pa.Table.from_batches(batches, schema), payload == b"\x01"
            if kind == p.ERROR:
                raise p.read_error(payload)
            batches.append(p.read_batch(kind, payload, schema))


def session(worker) -> tuple[str, Channel]:
    token = worker.action("CreateSession", {"user": "tester"})["session_token"]
    channel = Channel(worker.statement_socket)
    channel.send(p.HELLO, token.encode())
    assert channel.read()[0] == p.OK
    return token, channel


def test_unknown_session_is_refused(worker):
    channel = Channel(worker.statement_socket)
    channel.send(p.HELLO, b"not-a-token")
    kind, payload = channel.read()
    assert kind == p.ERROR and p.read_error(payload).sqlstate == "28000"
    with pytest.raises(EOFError):
        channel.read()


def test_the_statement_path_outlives_a_thread_that_cannot_start(monkeypatch, tmp_path):
    """A connection whose thread fails to start is closed, and the next one is served:
    the accept loop must not die (the worker would pass its health checks while every
    later session hung at HELLO)."""
    from duckgres_trio.worker import statements
    from duckgres_trio.worker.session import Sessions

    real_start, failures = threading.Thread.start, []

    def start(thread):
        if thread.name == "session" and not failures:
            failures.append(thread)
            raise RuntimeError("can't start new thread")
        real_start(thread)

    monkeypatch.setattr(threading.Thread, "start", start)
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(tmp_path / "s.sock"))
    listener.listen()
    server = statements.StatementServer(listener, Sessions())
    threading.Thread(target=server.serve, daemon=True).start()
    try:
        first = Channel(str(tmp_path / "s.sock"))
        with pytest.raises((EOFError, ConnectionError)):  # closed unanswered
            first.send(p.HELLO, b"not-a-token")
            first.read()
        second = Channel(str(tmp_path / "s.sock"))
        second.sock.settimeout(5)  # without the fix, nobody accepts it
        second.send(p.HELLO, b"not-a-token")
        kind, payload = second.read()
        assert kind == p.ERROR and p.read_error(payload).sqlstate == "28000"
        assert len(failures) == 1
    finally:
        server.close()


def test_execute_prepare_run_and_fetch(worker):
    _, ch = session(worker)
    ch.send(p.EXEC, bytes([p.ROWS_UNKNOWN]) + b"CREATE TABLE nums AS SELECT range AS n FROM range(20000)")
    assert ch.result() == ("command", 20000)
    ch.send(p.PREP, b"SELECT n, n::VARCHAR AS s FROM nums WHERE n >= $1 ORDER BY n")
    kind, payload = ch.read()
    assert kind == p.DESCRIBED
    handle, params, columns = p.read_described(payload)
    assert params.types == [pa.int64()] and columns.names == ["n", "s"]
    ch.send(p.RUN, p.u32(handle) + bytes([p.ROWS_YES]) + p.encode_values([5]))
    kind, table, exhausted = ch.result(columns)
    assert not exhausted and table.num_rows >= 2048  # the first rows, not all of them
    rows = table.num_rows
    while not exhausted:
        ch.send(p.FETCH)
        more, exhausted = ch.batches(columns)
        rows += more.num_rows
    assert rows == 19995
    ch.send(p.RUN, p.u32(handle) + bytes([p.ROWS_YES]) + p.encode_values([19999]))
    assert ch.result(columns)[1].to_pylist() == [{"n": 19999, "s": "19999"}]
    ch.send(p.UNPREP, p.u32(handle))
    ch.send(p.RUN, p.u32(handle) + bytes([p.ROWS_YES]) + p.encode_values([1]))
    kind, error = ch.result()
    assert kind == "error" and "does not exist" in error.message


def test_errors_keep_the_session(worker):
    _, ch = session(worker)
    ch.send(p.EXEC, bytes([p.ROWS_UNKNOWN]) + b"SELECT * FROM no_such_table")
    kind, error = ch.result()
    assert kind == "error" and error.sqlstate == "42P01"
    ch.send(p.EXEC, bytes([p.ROWS_UNKNOWN]) + b"SELECT 42 AS answer")
    assert ch.result()[1].to_pylist() == [{"answer": 42}]


def test_a_whole_small_result_is_one_frame(worker):
    """A result of at most one batch comes as one ROWS frame, without a schema when it
    is the described one; longer ones, enums (their dictionaries) and unprepared
    statements keep SCHEMA/BATCH/END or carry their schema."""
    _, ch = session(worker)
    ch.send(p.PREP, b"SELECT $1::INT AS x, 'a' AS s")
    handle, _, columns = p.read_described(ch.read()[1])
    ch.send(p.RUN, p.u32(handle) + bytes([p.ROWS_YES]) + p.encode_values([7]))
    kind, payload = ch.read()
    assert kind == p.ROWS and p.read_u32(payload) == 0  # the described schema
    schema, batches = p.read_rows(payload, columns)
    assert pa.Table.from_batches(batches, schema).to_pylist() == [{"x": 7, "s": "a"}]
    ch.send(p.EXEC, bytes([p.ROWS_YES]) + b"SELECT 1 AS one WHERE false")
    kind, payload = ch.read()
    assert kind == p.ROWS and p.read_u32(payload) > 0
    schema, batches = p.read_rows(payload, None)
    assert schema.names == ["one"] and batches == []
    ch.send(p.EXEC, bytes([p.ROWS_YES]) + b"SELECT 'b'::ENUM('a', 'b') AS e")
    assert ch.read()[0] == p.SCHEMA
    assert ch.batches(None)[0].to_pylist() == [{"e": "b"}]
    ch.send(p.EXEC, bytes([p.ROWS_YES]) + b"SELECT range FROM range(100000)")
    assert ch.read()[0] == p.SCHEMA
    with pytest.raises(p.ProtocolError):  # no schema and nothing described
        p.read_rows(p.u32(0), None)
    with pytest.raises(p.ProtocolError):
        p.read_rows(p.u32(9) + b"xx", None)


def test_dropping_an_open_result(worker):
    _, ch = session(worker)
    ch.send(p.EXEC, bytes([p.ROWS_YES]) + b"SELECT range FROM range(100000)")
    assert ch.result()[2] is False  # more to fetch
    ch.send(p.DROP)
    ch.send(p.FETCH)  # nothing open any more
    table, exhausted = ch.batches(pa.schema([("range", pa.int64())]))
    assert table.num_rows == 0 and exhausted


def test_fetch_with_a_row_count(worker):
    """A FETCH may ask for more rows than the default (the Flight SQL ingress does);
    the count is bounded by MAX_FETCH_ROWS."""
    _, ch = session(worker)
    schema = pa.schema([("range", pa.int64())])
    ch.send(p.EXEC, bytes([p.ROWS_YES]) + b"SELECT range FROM range(200000)")
    kind, first, exhausted = ch.result(schema)
    assert not exhausted and first.num_rows < 100_000
    ch.send(p.FETCH, p.u32(100_000))
    more, exhausted = ch.batches(schema)
    assert 100_000 <= more.num_rows < 100_000 + 2048 and not exhausted  # whole chunks
    ch.send(p.FETCH, p.u32(0xFFFFFFFF))
    rest, exhausted = ch.batches(schema)
    assert exhausted and first.num_rows + more.num_rows + rest.num_rows == 200_000
    assert p.fetch_rows(b"") is None and p.fetch_rows(p.u32(0)) == 1
    assert p.fetch_rows(p.u32(0xFFFFFFFF)) == p.MAX_FETCH_ROWS


def _frames_to_end(ch: Channel) -> list[tuple[int, bytes]]:
    frames = []
    while (frame := ch.read())[0] != p.END:
        frames.append(frame)
    return frames


def test_chunks_are_joined_into_one_batch_per_fetch(worker):
    """DuckDB's 2,048-row chunks leave the worker joined: one BATCH frame for a
    result's first rows and for each FETCH, as long as it stays within JOIN_BYTES;
    wider rows make several, none past JOIN_BYTES by more than a chunk; an enum
    result keeps its chunks (their dictionaries)."""
    _, ch = session(worker)
    ch.send(p.EXEC, bytes([p.ROWS_YES])
            + b"SELECT range AS n, range::VARCHAR AS s FROM range(300000)")
    kind, payload = ch.read()
    assert kind == p.SCHEMA
    schema = pa.ipc.read_schema(pa.py_buffer(payload))
    first = _frames_to_end(ch)
    assert [kind for kind, _ in first] == [p.BATCH]
    rows = p.read_batch(*first[0], schema).num_rows
    assert rows > 2048  # several chunks joined
    ch.send(p.FETCH, p.u32(100_000))
    more = _frames_to_end(ch)
    assert [kind for kind, _ in more] == [p.BATCH]
    batch = p.read_batch(*more[0], schema)
    assert 100_000 <= batch.num_rows < 100_000 + 2048
    assert batch.column(0)[0].as_py() == rows and batch.column(1)[-1].as_py() == str(
        rows + batch.num_rows - 1)  # in order, nothing lost at the joins
    ch.send(p.DROP)

    ch.send(p.EXEC, bytes([p.ROWS_YES]) + b"SELECT repeat('x', 200) AS w FROM range(100000)")
    assert ch.read()[0] == p.SCHEMA
    _frames_to_end(ch)
    ch.send(p.FETCH, p.u32(65536))
    wide = [p.read_batch(kind, payload, pa.schema([("w", pa.string())]))
            for kind, payload in _frames_to_end(ch)]
    assert len(wide) > 1 and sum(b.num_rows for b in wide) >= 65536
    assert all(b.nbytes <= JOIN_BYTES + 2048 * 260 for b in wide)
    ch.send(p.DROP)

    ch.send(p.EXEC, bytes([p.ROWS_YES])
            + b"SELECT (range % 2)::VARCHAR::ENUM('0', '1') AS e FROM range(2000000)")
    assert ch.read()[0] == p.SCHEMA
    assert {kind for kind, _ in _frames_to_end(ch)} == {p.DICT_BATCH}
    ch.send(p.FETCH, p.u32(p.MAX_FETCH_ROWS))  # more frames than one sendmsg takes
    frames = _frames_to_end(ch)
    assert len(frames) >= 512 and {kind for kind, _ in frames} == {p.DICT_BATCH}
    assert sum(p.read_batch(kind, payload, None).num_rows
               for kind, payload in frames) >= p.MAX_FETCH_ROWS
    ch.send(p.DROP)


@given(st.lists(st.tuples(st.integers(1, 150_000), st.booleans()), max_size=12),
       st.booleans())
def test_large_batch_frames_arrive_whole_in_their_own_buffer(pieces, last_into_sink):
    """However a large BATCH frame is split on its way (fed, or received into
    ``sink()``), it comes out whole, as the Arrow buffer it was gathered in (as bytes
    if it came whole); the frames around it as bytes."""
    batch = pa.record_batch([pa.array(range(20_000)),
                             pa.array([f"row {i}" for i in range(20_000)])], names=["i", "s"])
    stream = b"".join([p.frame(p.COMMAND, p.i64(5)), *map(bytes, p.batch_frame(batch)),
                       p.frame(p.END, b"\x01")])
    start = len(p.frame(p.COMMAND, p.i64(5)))
    end = len(stream) - len(p.frame(p.END, b"\x01"))
    reader, got, at, cuts = p.FrameReader(), [], 0, []
    for size, into_sink in [*pieces, *[(len(stream), last_into_sink)] * 3,
                            (len(stream), False)]:
        sink = reader.sink() if into_sink else None
        if sink is not None:
            size = min(size, len(sink), len(stream) - at)
            sink[:size] = stream[at:at + size]
            reader.filled(size)
        else:
            reader.feed(stream[at:at + size])
        at += size
        cuts.append(at)
        while (frame := reader.next()) is not None:
            got.append(frame)
    assert got[0] == (p.COMMAND, p.i64(5)) and got[2] == (p.END, b"\x01") and len(got) == 3
    kind, payload = got[1]
    # its own buffer once its header came before its end; else bytes, as every frame
    split = any(start + 5 <= cut < end for cut in cuts)
    assert kind == p.BATCH and isinstance(payload, pa.Buffer if split else bytes)
    assert p.read_batch(kind, payload, batch.schema).equals(batch)


def test_cancel_progress_and_destroy(worker):
    token, ch = session(worker)
    ch.send(p.EXEC, bytes([p.ROWS_UNKNOWN]) + b"SELECT count(*) FROM range(100000000000) a")
    time.sleep(0.5)
    health = worker.action("HealthCheck")
    assert health["active_queries"] >= 1
    assert token[:8] in health["progress"]
    assert set(health["progress"][token[:8]]) >= {"percentage", "rows_processed"}
    cancel = socket.socket(socket.AF_UNIX)
    cancel.connect(worker.statement_socket)
    cancel.sendall(p.frame(p.CANCEL, token.encode()))
    cancel.close()
    kind, error = ch.result()
    assert kind == "error" and error.sqlstate == "57014"
    ch.send(p.EXEC, bytes([p.ROWS_UNKNOWN]) + b"BEGIN")
    ch.result()
    ch.send(p.EXEC, bytes([p.ROWS_UNKNOWN]) + b"CREATE TABLE left_open (x int)")
    ch.result()
    ch.sock.close()
    assert worker.action("DestroySession", {"session_token": token}) == {"destroyed": True}
    assert worker.action("DestroySession", {"session_token": token}) == {"destroyed": False}
    _, other = session(worker)  # the destroyed session's transaction was rolled back
    other.send(p.EXEC, bytes([p.ROWS_UNKNOWN]) + b"SELECT * FROM left_open")
    assert other.result()[1].sqlstate == "42P01"


def test_sessions_run_in_parallel(worker):
    """Each session has its own thread: a long statement does not hold up another."""
    token, slow = session(worker)
    slow.send(p.EXEC, bytes([p.ROWS_UNKNOWN]) + b"SELECT count(*) FROM range(100000000000) a")
    time.sleep(0.2)
    _, quick = session(worker)
    started = time.monotonic()
    quick.send(p.EXEC, bytes([p.ROWS_UNKNOWN]) + b"SELECT 1 AS one")
    assert quick.result()[1].to_pylist() == [{"one": 1}]
    assert time.monotonic() - started < 2
    threading.Thread(target=lambda: worker.action("DestroySession",
                                                  {"session_token": token})).start()
    assert slow.result()[0] == "error"


# -- the protocol codec, sans-IO ---------------------------------------------------------

values = st.lists(st.one_of(
    st.none(), st.booleans(), st.integers(-(1 << 63), (1 << 63) - 1),
    st.floats(allow_nan=False), st.binary(max_size=50), st.text(max_size=50)), max_size=20)


@given(values)
def test_values_round_trip(items):
    assert p.decode_values(p.encode_values(items)) == items


@given(st.binary(max_size=200))
def test_hostile_value_payloads_fail_cleanly(data):
    try:
        p.decode_values(data)
    except (p.ProtocolError, UnicodeDecodeError):
        pass


def test_frame_lengths_are_bounded_before_buffering():
    reader = p.FrameReader(max_frame=1024)
    reader.feed(struct.pack("!BI", p.EXEC, 1025))
    with pytest.raises(p.ProtocolError):
        reader.next()
    huge_count = struct.pack("!I", 1 << 31)
    with pytest.raises(p.ProtocolError):
        p.decode_values(huge_count + b"n")
