"""A session on a worker process (control-plane mode), over the statement path.

The control plane runs no DuckDB: every statement goes as frames of
``worker.protocol`` over this session's own Unix-socket connection to its worker, and
results come back as Arrow IPC batches. One request is in flight at a time; a
result being read also has its next FETCH out ahead (``_stream_rows``).

Cancellation: ``cancel()`` (a CancelRequest) and a cancelled task (statement_timeout,
shutdown, a vanished client) both interrupt the statement on the worker through a
separate CANCEL connection; a cancelled task then reads, shielded and bounded, to the
end of the reply it abandoned, so the connection stays in step and the session usable.
If the worker does not answer in time, or dies, the session is lost: the client gets
an error naming a worker failure and the connection is closed.

How the connection is made is the worker's ``endpoint`` (``UnixEndpoint`` for a spawned
worker; a fleet worker's is TCP, with TLS: ``fleet.backend``).
"""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

import pyarrow as pa
import trio

from duckgres_trio.engine.base import SETTLE_SECONDS, Executor, Prepared, Progress, Result
from duckgres_trio.engine.literals import UnbindableValue, bind_form
from duckgres_trio.errors import PgError, SqlState
from duckgres_trio.worker import protocol as p

log = logging.getLogger(__name__)

#: After interrupting a statement, how long the worker may take to end its reply.
DRAIN_SECONDS = 5.0
_RECEIVE = 1 << 18
_TERMINAL = frozenset({p.ERROR, p.COMMAND, p.END, p.DESCRIBED, p.ROWS})


async def _whole(batches: list[pa.RecordBatch]) -> AsyncIterator[pa.RecordBatch]:
    """A result that arrived whole: nothing to fetch or drop."""
    for batch in batches:
        yield batch


def worker_lost(detail: str) -> PgError:
    return PgError(SqlState.ADMIN_SHUTDOWN, "terminating connection due to worker failure",
                   severity="FATAL", detail=detail)


class UnixEndpoint:
    """A spawned worker's statement path: a local Unix socket."""

    def __init__(self, path: str) -> None:
        self.path = path

    async def open(self) -> trio.abc.Stream:
        return await trio.open_unix_socket(self.path)

    def cancel(self, token: str) -> None:
        """Connect and send do not block on a local Unix socket."""
        try:
            with socket.socket(socket.AF_UNIX) as sock:
                sock.settimeout(1.0)
                sock.connect(self.path)
                sock.sendall(p.frame(p.CANCEL, token.encode()))
        except OSError as exc:
            log.warning("could not send a cancel to the worker at %s: %s", self.path, exc)


class RemoteExecutor(Executor):
    def __init__(self, stream: trio.abc.Stream, token: str, endpoint,
                 release: Callable[[], Awaitable[None]],
                 progress: Callable[[], Progress | None] | None = None,
                 worker: str | None = None) -> None:
        self._stream = stream
        self._token = token
        self._endpoint = UnixEndpoint(endpoint) if isinstance(endpoint, str) else endpoint
        self._socket_path = self._endpoint.path
        self._release = release
        self._progress = progress
        self.worker = worker
        self._reader = p.FrameReader()
        #: the plain socket under ``stream``, if it is one (a fleet worker's TLS is not)
        self._socket = stream.socket if isinstance(stream, trio.SocketStream) else None
        self._busy = False
        self._lost: str | None = None
        #: rows each FETCH asks for; None: the worker's default (a Flight SQL session
        #: asks for more: its rows are not encoded row by row here)
        self.fetch_rows: int | None = None

    @classmethod
    async def connect(cls, endpoint, token: str,
                      release: Callable[[], Awaitable[None]],
                      progress: Callable[[], Progress | None] | None = None,
                      worker: str | None = None) -> RemoteExecutor:
        """``endpoint``: the worker's (a Unix socket path, or an object with ``open``
        and ``cancel``); ``progress``: the session's progress from the pool's latest
        health check."""
        if isinstance(endpoint, str):
            endpoint = UnixEndpoint(endpoint)
        stream = await endpoint.open()
        executor = cls(stream, token, endpoint, release, progress, worker)
        try:
            await stream.send_all(p.frame(p.HELLO, token.encode()))
            kind, payload = await executor._read()
            if kind != p.OK:
                raise p.read_error(payload) if kind == p.ERROR else p.ProtocolError("no OK")
        except BaseException:
            await stream.aclose()
            raise
        return executor

    # -- Executor ---------------------------------------------------------------------

    def progress(self) -> Progress | None:
        return self._progress() if self._busy and self._progress is not None else None

    async def execute(self, sql: str, returns_rows: bool | None) -> Result:
        request = p.frame(p.EXEC, bytes([p.rows_byte(returns_rows)]) + sql.encode())
        return await self._exchange(request, lambda: self._result(None))

    async def prepare(self, sql: str) -> Prepared:
        async def described() -> Prepared:
            kind, payload = await self._read()
            if kind == p.ERROR:
                raise p.read_error(payload)
            if kind != p.DESCRIBED:
                raise p.ProtocolError(f"unexpected reply {bytes([kind])!r} to PREP")
            handle, params, columns = p.read_described(payload)
            return Prepared(params, columns, handle)

        return await self._exchange(p.frame(p.PREP, sql.encode()), described)

    async def execute_prepared(self, prepared: Prepared, params: Sequence[object],
                               returns_rows: bool | None) -> Result:
        try:
            values = p.encode_values([bind_form(v) for v in params])
        except UnbindableValue as exc:
            raise PgError(SqlState.FEATURE_NOT_SUPPORTED
                          if "Not implemented" in str(exc) else SqlState.INVALID_PARAMETER_VALUE,
                          str(exc).split(": ", 1)[-1]) from None
        request = p.frame(p.RUN, p.u32(prepared.handle)
                          + bytes([p.rows_byte(returns_rows)]) + values)
        return await self._exchange(request, lambda: self._result(prepared.columns))

    async def insert_batch(self, target: str, batch: pa.RecordBatch) -> int:
        request = b"".join(p.insert_payload(target, batch))
        result = await self._exchange(request, lambda: self._result(None))
        return result.rowcount or 0

    async def close_prepared(self, prepared: Prepared) -> None:
        if self._lost is None:
            await self._send(p.frame(p.UNPREP, p.u32(prepared.handle)))

    def cancel(self) -> None:
        if self._busy:
            self._interrupt()

    async def close(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            await self._release()

    # -- the exchange -----------------------------------------------------------------

    async def _exchange(self, request: bytes | None, reply: Callable[[], Awaitable]):
        """Send one request (None: it was sent ahead) and read its reply with ``reply``;
        see the module doc for what a cancelled task does here."""
        if self._lost is not None:
            raise worker_lost(self._lost)
        self._busy = True
        try:
            if request is not None:
                await self._send(request)
            return await reply()
        except trio.Cancelled:
            with trio.CancelScope(shield=True):
                self._interrupt()
                await self._drain()
            raise
        finally:
            self._busy = False

    async def _result(self, described: pa.Schema | None) -> Result:
        kind, payload = await self._read()
        if kind == p.ERROR:
            raise p.read_error(payload)
        if kind == p.COMMAND:
            rowcount = p.read_i64(payload)
            return Result(None, None if rowcount < 0 else rowcount)
        if kind == p.ROWS:  # the whole result in one frame
            schema, batches = p.read_rows(payload, described)
            return Result(schema, None, _whole(batches))
        if kind != p.SCHEMA:
            raise p.ProtocolError(f"unexpected reply {bytes([kind])!r}")
        schema = pa.ipc.read_schema(pa.py_buffer(payload)) if payload else described
        first, exhausted = await self._batches(schema)
        return Result(schema, None, self._stream_rows(schema, first, exhausted))

    async def _batches(self, schema: pa.Schema) -> tuple[list[pa.RecordBatch], bool]:
        """BATCH frames up to END: (batches, exhausted)."""
        batches = []
        while True:
            kind, payload = await self._read()
            if kind in (p.BATCH, p.DICT_BATCH):
                batches.append(p.read_batch(kind, payload, schema))
            elif kind == p.END:
                return batches, payload == b"\x01"
            elif kind == p.ERROR:
                raise p.read_error(payload)
            else:
                raise p.ProtocolError(f"unexpected frame {bytes([kind])!r} in a result")

    async def _stream_rows(self, schema: pa.Schema, first: list[pa.RecordBatch],
                           exhausted: bool) -> AsyncIterator[pa.RecordBatch]:
        """The result's batches. The next FETCH goes out before the batches in hand are
        handed on, so the worker makes rows while the control plane encodes and sends
        these: the two processes work side by side instead of taking turns."""
        batches, ahead = first, False
        try:
            while True:
                if not exhausted:
                    await self._send(p.frame(p.FETCH, b"" if self.fetch_rows is None
                                             else p.u32(self.fetch_rows)))
                    ahead = True
                for batch in batches:
                    yield batch
                if exhausted:
                    return
                batches, exhausted = await self._exchange(None, lambda: self._batches(schema))
                ahead = False
        finally:
            if self._lost is None and (ahead or not exhausted):
                with trio.CancelScope(shield=True):
                    if ahead:
                        await self._settle()
                    if self._lost is None:
                        await self._send(p.frame(p.DROP))

    # -- frames -----------------------------------------------------------------------

    async def _send(self, data: bytes) -> None:
        try:
            await self._stream.send_all(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
            self._lose(f"the connection to the worker broke: {exc}")

    async def _read(self) -> tuple[int, bytes | pa.Buffer]:
        reader = self._reader
        while (got := reader.next()) is None:
            # a large batch goes straight into its own buffer (FrameReader.sink)
            sink = reader.sink() if self._socket is not None else None
            try:
                if sink is not None:
                    received = await self._socket.recv_into(sink)
                else:
                    data = await self._stream.receive_some(max(_RECEIVE, reader.missing()))
                    received = len(data)
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
                self._lose(f"the connection to the worker broke: {exc}")
            if not received:
                self._lose("the worker closed the session's connection")
            if sink is not None:
                reader.filled(received)
            else:
                reader.feed(data)
        return got

    def _lose(self, detail: str):
        self._lost = detail
        # the control plane's log then says why (the pool's retirement or exit lines)
        log.warning("session on worker %s lost: %s", self.worker or self._socket_path, detail)
        raise worker_lost(detail)

    async def _drain(self) -> None:
        """Read to the end of the abandoned reply (shielded caller), or give up on the
        session if the worker does not get there within DRAIN_SECONDS."""
        with trio.move_on_after(DRAIN_SECONDS):
            await self._read_to_end()
            return
        self._lost = "the worker did not stop the statement in time"
        log.warning("session on %s: %s", self._socket_path, self._lost)

    async def _settle(self) -> None:
        """Read and drop the reply to a FETCH sent ahead and no longer wanted (shielded
        caller); one still running after SETTLE_SECONDS is interrupted first, so a
        cancelled statement is not held up by the rows it no longer wants."""
        with trio.move_on_after(SETTLE_SECONDS):
            await self._read_to_end()
            return
        self._interrupt()
        await self._drain()

    async def _read_to_end(self) -> None:
        try:
            while (await self._read())[0] not in _TERMINAL:
                pass
        except PgError:
            pass  # lost: recorded in _lost

    def _interrupt(self) -> None:
        """Ask the worker to interrupt this session's statement, on a connection of its
        own (the session's connection is busy)."""
        self._endpoint.cancel(self._token)
