"""The statement path between the control plane and a worker: frames, sans-IO.

Why not Flight for statements: a Flight call costs ~300 us more per statement than a
plain Unix-socket round trip, and the control plane would need a thread hop per call
(DESIGN.md, "Worker protocol"). So each session gets one Unix-socket connection to its
worker carrying these frames; the worker's Flight SQL endpoint keeps the control actions
(CreateSession, DestroySession, HealthCheck) and serves ADBC clients.

A frame is a type byte, a 4-byte big-endian payload length, and the payload. No I/O
here: ``FrameReader`` takes bytes and gives frames; the ``*_frame`` helpers give bytes.

Requests (control plane -> worker), each answered before the next is sent unless noted:

=========  ===========================================  =================================
``HELLO``  session token (first frame of a connection)  ``OK`` or ``ERROR``
``EXEC``   returns-rows byte, SQL                        a result (below)
``PREP``   SQL                                           ``DESCRIBED`` or ``ERROR``
``RUN``    handle u32, returns-rows byte, values         a result
``FETCH``  (empty) or max rows u32: more rows            ``BATCH``* then ``END``
``DROP``   (empty): discard the open result              no answer
``UNPREP`` handle u32                                    no answer
``INSERT`` target length u32, target, Arrow IPC stream   ``COMMAND`` (rows inserted) or ``ERROR``
``CANCEL`` session token, on a connection of its own     no answer (connection closed)
=========  ===========================================  =================================

A result is ``ERROR``; or ``COMMAND`` (rowcount i64, -1 for none); or ``ROWS``, a whole
result of at most one batch in one frame (schema length u32, the Arrow IPC schema or
nothing, then the batch message or nothing: the common one-row answer, one frame to
write and read); or ``SCHEMA`` (Arrow IPC schema), zero or more ``BATCH`` (an Arrow IPC
record batch message; for a schema with dictionary columns (DuckDB ENUM)
``DICT_BATCH``, a whole IPC stream carrying the dictionaries, which a bare batch message
cannot), then ``END`` (one byte: 1 if the result is exhausted, 0 if ``FETCH`` gives
more). ``ERROR`` may also come after some batches (a failure mid-stream) and ends the
result. An empty schema (in ``ROWS`` or ``SCHEMA``) means the prepared statement's
described columns: the worker sends a schema only when the result's differs.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

import pyarrow as pa

from duckgres_trio.errors import PgError

HELLO, EXEC, PREP, RUN, FETCH, DROP, UNPREP, CANCEL, INSERT = b"hqpxfdczi"
OK, ERROR, COMMAND, SCHEMA, BATCH, END, DESCRIBED, DICT_BATCH, ROWS = b"kEtsbeDBr"

#: returns-rows byte: the classifier's hint (None: let the engine decide).
ROWS_NO, ROWS_YES, ROWS_UNKNOWN = 0, 1, 2

#: The largest frame either side accepts (the size gRPC allows a worker message).
MAX_FRAME = 1 << 30
#: A BATCH frame at least this long is read into a buffer of its own (FrameReader).
LARGE_FRAME = 1 << 16

_HEADER = struct.Struct("!BI")
_U32 = struct.Struct("!I")
_I64 = struct.Struct("!q")
_F64 = struct.Struct("!d")


class ProtocolError(Exception):
    """The peer sent something that is not this protocol; the connection is unusable."""


def frame(kind: int, payload: bytes = b"") -> bytes:
    return _HEADER.pack(kind, len(payload)) + payload


def frame_parts(kind: int, *parts: bytes | memoryview) -> list[bytes | memoryview]:
    """A frame as buffers to write in one go, without joining a large payload."""
    return [_HEADER.pack(kind, sum(len(p) for p in parts)), *parts]


class FrameReader:
    """Bytes in, ``(kind, payload)`` frames out; lengths bounded before buffering.

    A large BATCH frame (the bulk of a result) is gathered in an Arrow buffer of its
    own and handed out as that buffer (``read_batch`` decodes it without a copy);
    ``sink()`` lets a reader receive straight into it, so its bytes are copied once,
    by the kernel. Every other payload is ``bytes``."""

    def __init__(self, max_frame: int = MAX_FRAME) -> None:
        self._buffer = bytearray()
        self._max = max_frame
        #: a large BATCH frame being read: its kind, payload and bytes filled so far
        self._large: tuple[int, pa.Buffer] | None = None
        self._filled = 0

    def feed(self, data: bytes) -> None:
        if self._large is not None:
            payload = self._large[1]
            take = min(len(data), payload.size - self._filled)
            with memoryview(payload) as view, memoryview(data) as chunk:
                view.cast("B")[self._filled:self._filled + take] = chunk.cast("B")[:take]
            self._filled += take
            if take == len(data):
                return
            data = data[take:]
        self._buffer += data

    def sink(self) -> memoryview | None:
        """Where the rest of a large frame's payload goes (None: use ``feed``); tell
        ``filled`` how many bytes were written there."""
        if self._large is None:
            return None
        return memoryview(self._large[1]).cast("B")[self._filled:]

    def filled(self, count: int) -> None:
        self._filled += count

    def next(self) -> tuple[int, bytes | pa.Buffer] | None:
        if self._large is not None:
            if self._filled < self._large[1].size:
                return None
            got, self._large = self._large, None
            return got
        if len(self._buffer) < _HEADER.size:
            return None
        kind, length = _HEADER.unpack_from(self._buffer)
        if length > self._max:
            raise ProtocolError(f"frame of {length} bytes exceeds the limit of {self._max}")
        end = _HEADER.size + length
        if kind in (BATCH, DICT_BATCH) and length >= LARGE_FRAME and len(self._buffer) < end:
            # Arrow's pool: no zeroing, and no page faults once the pool is warm
            self._large = kind, pa.allocate_buffer(length)
            rest = self._buffer[_HEADER.size:]
            self._buffer = bytearray()
            self._filled = 0
            self.feed(rest)
            return None
        if len(self._buffer) < end:
            return None
        with memoryview(self._buffer) as view:  # one copy, not a slice and then bytes
            payload = bytes(view[_HEADER.size:end])
        del self._buffer[:end]
        return kind, payload

    def missing(self) -> int:
        """How many more bytes the frame being read needs (at least 1)."""
        if self._large is not None:
            return max(1, self._large[1].size - self._filled)
        if len(self._buffer) < _HEADER.size:
            return _HEADER.size - len(self._buffer)
        _, length = _HEADER.unpack_from(self._buffer)
        return max(1, _HEADER.size + length - len(self._buffer))


# -- payloads ---------------------------------------------------------------------------

def rows_byte(returns_rows: bool | None) -> int:
    return ROWS_UNKNOWN if returns_rows is None else int(returns_rows)


def rows_hint(byte: int) -> bool | None:
    return None if byte == ROWS_UNKNOWN else bool(byte)


def u32(value: int) -> bytes:
    return _U32.pack(value)


def read_u32(payload: bytes, offset: int = 0) -> int:
    _need(payload, offset, 4)
    return _U32.unpack_from(payload, offset)[0]


#: The most rows one FETCH may ask for (an empty FETCH gets the worker's default).
MAX_FETCH_ROWS = 1 << 20


def fetch_rows(payload: bytes) -> int | None:
    """The rows a FETCH asks for: None (the default) or 1..MAX_FETCH_ROWS."""
    if not payload:
        return None
    return max(1, min(read_u32(payload), MAX_FETCH_ROWS))


def i64(value: int) -> bytes:
    return _I64.pack(value)


def read_i64(payload: bytes) -> int:
    _need(payload, 0, 8)
    return _I64.unpack_from(payload)[0]


def _need(payload: bytes, offset: int, size: int) -> None:
    if len(payload) < offset + size:
        raise ProtocolError("truncated frame")


def encode_values(values: Sequence[object]) -> bytes:
    """Parameter values, each already in DuckDB's bind form (engine.literals)."""
    out = [_U32.pack(len(values))]
    for value in values:
        if value is None:
            out.append(b"n")
        elif value is True:
            out.append(b"t")
        elif value is False:
            out.append(b"f")
        elif isinstance(value, int):
            out.append(b"i" + _I64.pack(value))
        elif isinstance(value, float):
            out.append(b"d" + _F64.pack(value))
        elif isinstance(value, bytes):
            out += (b"b", _U32.pack(len(value)), value)
        elif isinstance(value, str):
            data = value.encode()
            out += (b"s", _U32.pack(len(data)), data)
        else:
            raise TypeError(f"not a bind-form value: {type(value).__name__}")
    return b"".join(out)


def decode_values(payload: bytes, offset: int = 0) -> list[object]:
    count = read_u32(payload, offset)
    offset += 4
    if count > len(payload) - offset:  # every value takes at least one byte
        raise ProtocolError("parameter count exceeds the frame")
    values: list[object] = []
    for _ in range(count):
        _need(payload, offset, 1)
        tag = payload[offset]
        offset += 1
        if tag == 0x6E:  # n
            values.append(None)
        elif tag in (0x74, 0x66):  # t, f
            values.append(tag == 0x74)
        elif tag == 0x69:  # i
            _need(payload, offset, 8)
            values.append(_I64.unpack_from(payload, offset)[0])
            offset += 8
        elif tag == 0x64:  # d
            _need(payload, offset, 8)
            values.append(_F64.unpack_from(payload, offset)[0])
            offset += 8
        elif tag in (0x62, 0x73):  # b, s
            size = read_u32(payload, offset)
            offset += 4
            _need(payload, offset, size)
            data = payload[offset:offset + size]
            offset += size
            values.append(data if tag == 0x62 else data.decode())
        else:
            raise ProtocolError(f"unknown value tag {tag}")
    return values


_ERROR_FIELDS = ("sqlstate", "message", "detail", "hint", "constraint")


def error_payload(error: PgError) -> bytes:
    return b"\0".join((getattr(error, f) or "").encode() for f in _ERROR_FIELDS)


def read_error(payload: bytes) -> PgError:
    parts = payload.decode(errors="replace").split("\0")
    if len(parts) != len(_ERROR_FIELDS):
        raise ProtocolError("malformed error frame")
    sqlstate, message, detail, hint, constraint = parts
    return PgError(sqlstate, message, detail=detail or None, hint=hint or None,
                   constraint=constraint or None)


def _has_dictionary(typ: pa.DataType) -> bool:
    """A dictionary anywhere in the type (an enum, or a list of enums): such a batch
    needs the IPC stream form, which carries its dictionaries."""
    if pa.types.is_dictionary(typ):
        return True
    return any(_has_dictionary(typ.field(i).type) for i in range(typ.num_fields))


def has_dictionary(schema: pa.Schema) -> bool:
    return any(_has_dictionary(t) for t in schema.types)


def rows_frame(schema: bytes, batch: pa.RecordBatch | None) -> list:
    """ROWS: a whole result of at most one batch, without dictionary columns."""
    return frame_parts(ROWS, _U32.pack(len(schema)), schema,
                       b"" if batch is None else batch.serialize())


def read_rows(payload: bytes, described: pa.Schema | None) -> tuple[pa.Schema, list]:
    """A ROWS payload: (schema, [the batch] or [])."""
    size = read_u32(payload)
    _need(payload, 4, size)
    buffer = pa.py_buffer(payload)
    if size:
        schema = pa.ipc.read_schema(buffer.slice(4, size))
    elif described is None:
        raise ProtocolError("ROWS without a schema for an unprepared statement")
    else:
        schema = described
    if len(payload) == 4 + size:
        return schema, []
    return schema, [pa.ipc.read_record_batch(buffer.slice(4 + size), schema)]


def batch_frame(batch: pa.RecordBatch, dictionary: bool | None = None) -> list:
    """``dictionary``: whether the schema has dictionary columns, if known."""
    if not (has_dictionary(batch.schema) if dictionary is None else dictionary):
        return frame_parts(BATCH, batch.serialize())
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema) as writer:
        writer.write_batch(batch)
    return frame_parts(DICT_BATCH, sink.getvalue())


def insert_payload(target: str, batch: pa.RecordBatch) -> list:
    """INSERT: the target table (and columns) and one batch (COPY FROM data)."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema) as writer:
        writer.write_batch(batch)
    name = target.encode()
    return frame_parts(INSERT, _U32.pack(len(name)), name, sink.getvalue())


def read_insert(payload: bytes) -> tuple[str, pa.RecordBatch]:
    size = read_u32(payload)
    _need(payload, 4, size)
    target = payload[4:4 + size].decode()
    reader = pa.ipc.open_stream(pa.py_buffer(payload)[4 + size:])
    return target, reader.read_next_batch()


def read_batch(kind: int, payload: bytes | pa.Buffer, schema: pa.Schema) -> pa.RecordBatch:
    buffer = payload if isinstance(payload, pa.Buffer) else pa.py_buffer(payload)
    if kind == BATCH:
        return pa.ipc.read_record_batch(buffer, schema)
    return pa.ipc.open_stream(buffer).read_next_batch()


def described_payload(handle: int, params: pa.Schema, columns: pa.Schema) -> list[bytes]:
    params_ipc = params.serialize()
    return [_U32.pack(handle), _U32.pack(params_ipc.size), params_ipc, columns.serialize()]


def read_described(payload: bytes) -> tuple[int, pa.Schema, pa.Schema]:
    handle = read_u32(payload)
    size = read_u32(payload, 4)
    _need(payload, 8, size)
    buffer = pa.py_buffer(payload)
    params = pa.ipc.read_schema(buffer.slice(8, size))
    columns = pa.ipc.read_schema(buffer.slice(8 + size))
    return handle, params, columns
