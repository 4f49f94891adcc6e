"""The statement path on the worker side: one thread per control-plane session,
blocking socket I/O, frames of ``worker.protocol``.

A thread per session is the cheapest shape measured (DESIGN.md): the thread blocks in
DuckDB (ctypes releases the GIL) or in recv, and nothing is multiplexed in Python.
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
import time

import pyarrow as pa

from duckgres_trio.engine.statement import Started, to_pg_error
from duckgres_trio.errors import PgError, SqlState
from duckgres_trio.worker import protocol as p
from duckgres_trio.worker.session import Sessions, WorkerSession

log = logging.getLogger(__name__)

#: Below this size a reply is joined and sent with one system call.
_JOIN_BELOW = 1 << 20
#: Buffers one sendmsg may take (Linux's IOV_MAX is 1024).
_IOV_MAX = 512
#: DuckDB's 2,048-row chunks go out joined into batches of up to this many bytes (one
#: BATCH frame each): the control plane then reads, and a Flight SQL session forwards,
#: one batch per FETCH instead of decoding and gathering 32 (docs/benchmarks.md,
#: issue 24). Bounded so a frame of wide rows stays far below MAX_FRAME.
JOIN_BYTES = 4 << 20


class StatementServer:
    def __init__(self, listener: socket.socket, sessions: Sessions, ssl_context=None) -> None:
        self._listener = listener
        self._sessions = sessions
        self._ssl = ssl_context  # a fleet worker's TLS (fleet.agent), else None
        self._closed = False

    def serve(self) -> None:
        """Accept connections until ``close()``; each is served in its own thread.

        Nothing but ``close()`` ends this loop: if it died, the worker would still pass
        its health checks while every later session on its database waited for an
        answer to HELLO. A connection whose thread cannot start (a busy machine's
        thread limit) is closed, which its control plane reads as a worker failure."""
        while not self._closed:
            try:
                conn, _ = self._listener.accept()
            except OSError as exc:
                if self._closed:
                    return
                log.error("statement path: accept failed: %s; retrying", exc)
                time.sleep(0.1)  # EMFILE and the like: do not spin
                continue
            try:
                threading.Thread(target=self._serve_one, args=(conn,), daemon=True,
                                 name="session").start()
            except RuntimeError as exc:
                log.error("statement path: cannot start a session's thread (%s); "
                          "closing its connection", exc)
                conn.close()

    def close(self) -> None:
        self._closed = True
        try:
            self._listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._listener.close()

    def _serve_one(self, conn: socket.socket) -> None:
        try:
            if self._ssl is not None:
                conn.settimeout(10.0)  # a peer that never finishes the handshake
                conn = self._ssl.wrap_socket(conn, server_side=True)
                conn.settimeout(None)
            elif conn.family != socket.AF_UNIX:
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            else:
                # room for a whole joined batch: the control plane reads it in a few
                # receives, not one per 208 KiB (the kernel caps this at wmem_max)
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, JOIN_BYTES)
        except OSError:
            conn.close()
            return
        channel = _Channel(conn)
        try:
            kind, payload = channel.read()
            session = self._sessions.get(payload.decode(errors="replace"))
            if kind == p.CANCEL:
                if session is not None:
                    session.interrupt()
                return
            if kind != p.HELLO or session is None:
                channel.send([p.frame(p.ERROR, p.error_payload(PgError(
                    SqlState.INVALID_AUTHORIZATION_SPECIFICATION, "unknown worker session")))])
                return
            channel.send([p.frame(p.OK)])
            with session.lock:
                _Handler(channel, session).loop()
        except (EOFError, ConnectionError):
            pass  # the control plane closed the session's connection
        except p.ProtocolError as exc:
            log.error("statement path: %s; closing the connection", exc)
        finally:
            conn.close()


class _Channel:
    """Blocking frame I/O on one socket."""

    def __init__(self, conn: socket.socket) -> None:
        self._conn = conn
        self._reader = p.FrameReader()

    def read(self) -> tuple[int, bytes]:
        while (got := self._reader.next()) is None:
            data = self._conn.recv(max(65536, self._reader.missing()))
            if not data:
                raise EOFError
            self._reader.feed(data)
        return got

    def send(self, parts: list) -> None:
        if sum(len(x) for x in parts) < _JOIN_BELOW:
            self._conn.sendall(b"".join(parts))
        elif isinstance(self._conn, ssl.SSLSocket):  # no sendmsg
            for part in parts:
                self._conn.sendall(part)
        else:  # gathered: a frame's header does not go (and wake the reader) alone
            views = [memoryview(part).cast("B") for part in parts]
            while views:
                sent = self._conn.sendmsg(views[:_IOV_MAX])
                while views and sent >= len(views[0]):
                    sent -= len(views.pop(0))
                if sent:
                    views[0] = views[0][sent:]


class _Handler:
    """Serves one session's requests in order until the connection ends."""

    def __init__(self, channel: _Channel, session: WorkerSession) -> None:
        self._channel = channel
        self._session = session
        #: (schema, has dictionary columns) of the last result: a prepared statement's
        #: results share one schema object (engine.statement's memo).
        self._last: tuple[pa.Schema | None, bool] = (None, False)

    def loop(self) -> None:
        try:
            while True:
                kind, payload = self._channel.read()
                self._dispatch(kind, payload)
        finally:
            self._session.drop_result()

    def _dispatch(self, kind: int, payload: bytes) -> None:
        session = self._session
        if kind == p.DROP:
            session.drop_result()
        elif kind == p.UNPREP:
            session.unprepare(p.read_u32(payload))
        elif kind == p.EXEC:
            self._reply(lambda: self._result(
                session.execute(payload[1:].decode(), p.rows_hint(payload[0])), None))
        elif kind == p.RUN:
            handle = p.read_u32(payload)
            if len(payload) < 5:
                raise p.ProtocolError("truncated frame")
            values = p.decode_values(payload, 5)
            self._reply(lambda: self._result(
                session.run(handle, values, p.rows_hint(payload[4])),
                session.described_columns(handle)))
        elif kind == p.PREP:
            self._reply(lambda: p.frame_parts(
                p.DESCRIBED, *p.described_payload(*session.prepare(payload.decode()))))
        elif kind == p.INSERT:
            target, batch = p.read_insert(payload)
            self._reply(lambda: [p.frame(p.COMMAND, p.i64(session.insert_batch(target, batch)))])
        elif kind == p.FETCH:
            rows = p.fetch_rows(payload)
            self._reply(lambda: self._batches(*(session.fetch(rows) if rows
                                                else session.fetch())))
        else:
            raise p.ProtocolError(f"unexpected request {bytes([kind])!r}")

    def _reply(self, build) -> None:
        try:
            parts = build()
        except Exception as exc:  # DuckDB, binding, pyarrow: the statement fails
            self._session.drop_result()
            parts = [p.frame(p.ERROR, p.error_payload(to_pg_error(exc)))]
        self._channel.send(parts)

    def _result(self, started: Started, described: pa.Schema | None) -> list:
        if started.schema is None:
            rowcount = -1 if started.rowcount is None else started.rowcount
            return [p.frame(p.COMMAND, p.i64(rowcount))]
        # A prepared statement's columns are usually what Describe announced: then the
        # schema is not sent again.
        same = described is not None and started.schema.equals(described, check_metadata=True)
        schema = b"" if same else started.schema.serialize().to_pybytes()
        first = self._joined(started.first or [])
        if started.result is None and len(first) <= 1 and not self._dictionary(started.schema):
            return p.rows_frame(schema, first[0] if first else None)
        return [*p.frame_parts(p.SCHEMA, schema),
                *self._batches(first, started.result is None)]

    def _dictionary(self, schema: pa.Schema) -> bool:
        last, flag = self._last
        if schema is not last:
            flag = p.has_dictionary(schema)
            self._last = (schema, flag)
        return flag

    def _joined(self, batches: list[pa.RecordBatch]) -> list[pa.RecordBatch]:
        """``batches`` joined into as few as JOIN_BYTES allows (one copy here saves a
        decode per chunk and a copy on the control plane); a result with dictionary
        columns keeps its chunks (each frame carries its own dictionaries)."""
        if len(batches) < 2 or self._dictionary(batches[0].schema):
            return batches
        joined, group, size = [], [], 0
        for batch in batches:
            if group and size + batch.nbytes > JOIN_BYTES:
                joined.append(group[0] if len(group) == 1 else pa.concat_batches(group))
                group, size = [], 0
            group.append(batch)
            size += batch.nbytes
        joined.append(group[0] if len(group) == 1 else pa.concat_batches(group))
        return joined

    def _batches(self, batches: list[pa.RecordBatch], exhausted: bool) -> list:
        parts: list = []
        for batch in self._joined(batches):
            parts += p.batch_frame(batch, self._dictionary(batch.schema))
        parts.append(p.frame(p.END, bytes([exhausted])))
        return parts
