"""Frontend (client -> server) messages: typed events parsed from framed bodies.

``parse_startup`` reads the untyped startup-phase packets; ``parse_message`` the typed
ones. Every field read is bounds-checked against the body it came from, and every
malformation raises ProtocolViolation (FATAL 08P01).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from duckgres_trio.errors import ProtocolViolation

PROTOCOL_3_0 = 196608
SSL_REQUEST_CODE = 80877103
GSSENC_REQUEST_CODE = 80877104
CANCEL_REQUEST_CODE = 80877102


@dataclass(frozen=True, slots=True)
class StartupMessage:
    protocol: int
    params: dict[str, str]


@dataclass(frozen=True, slots=True)
class SSLRequest:
    pass


@dataclass(frozen=True, slots=True)
class GSSENCRequest:
    pass


@dataclass(frozen=True, slots=True)
class CancelRequest:
    pid: int
    secret: bytes


@dataclass(frozen=True, slots=True)
class Query:
    sql: str


@dataclass(frozen=True, slots=True)
class Terminate:
    pass


@dataclass(frozen=True, slots=True)
class Sync:
    pass


@dataclass(frozen=True, slots=True)
class Flush:
    pass


@dataclass(frozen=True, slots=True)
class Parse:
    name: str
    sql: str
    param_oids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Bind:
    portal: str
    statement: str
    param_formats: tuple[int, ...]
    params: tuple[bytes | None, ...]
    result_formats: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Describe:
    kind: str  # "S" (statement) or "P" (portal)
    name: str


@dataclass(frozen=True, slots=True)
class Execute:
    portal: str
    max_rows: int  # 0: no limit


@dataclass(frozen=True, slots=True)
class Close:
    kind: str  # "S" or "P"
    name: str


@dataclass(frozen=True, slots=True)
class PasswordData:
    """A 'p' message: its meaning (password, SASL initial or continued response)
    depends on the authentication step, so it is decoded by the step that expects it."""

    body: bytes


@dataclass(frozen=True, slots=True)
class CopyMessage:
    """CopyData / CopyDone / CopyFail: only meaningful during COPY."""

    kind: int
    body: bytes


@dataclass(frozen=True, slots=True)
class Unsupported:
    """A valid message type this server does not implement yet."""

    kind: int
    body: bytes


_INT16, _INT32 = struct.Struct("!h"), struct.Struct("!i")


class _Reader:
    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def int16(self) -> int:
        if self.pos + 2 > len(self.data):
            raise ProtocolViolation("message too short")
        (value,) = _INT16.unpack_from(self.data, self.pos)
        self.pos += 2
        return value

    def count(self, item_size: int) -> int:
        """An int16 count of items of at least ``item_size`` bytes each, checked against
        the bytes left so a hostile count cannot make us loop or allocate for nothing."""
        n = self.int16()
        if n < 0 or n * item_size > len(self.data) - self.pos:
            raise ProtocolViolation(f"invalid count {n} in message")
        return n

    def bytes_(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise ProtocolViolation("invalid length in message")
        data = self.data[self.pos : self.pos + n]
        self.pos += n
        return data

    def byte(self) -> str:
        return self.bytes_(1).decode("latin-1")

    def int32(self) -> int:
        if self.pos + 4 > len(self.data):
            raise ProtocolViolation("message too short")
        (value,) = _INT32.unpack_from(self.data, self.pos)
        self.pos += 4
        return value

    def cstring(self) -> str:
        end = self.data.find(b"\0", self.pos)
        if end < 0:
            raise ProtocolViolation("unterminated string in message")
        raw = self.data[self.pos : end]
        self.pos = end + 1
        try:
            return raw.decode()
        except UnicodeDecodeError:
            raise ProtocolViolation("invalid UTF-8 in message") from None

    def rest(self) -> bytes:
        data = self.data[self.pos :]
        self.pos = len(self.data)
        return data

    def end(self) -> None:
        if self.pos != len(self.data):
            raise ProtocolViolation("unexpected bytes at end of message")


def parse_startup(packet: bytes) -> StartupMessage | SSLRequest | GSSENCRequest | CancelRequest:
    """Decode a startup-phase packet (the bytes after its length word)."""
    reader = _Reader(packet)
    code = reader.int32()
    if code == SSL_REQUEST_CODE:
        reader.end()
        return SSLRequest()
    if code == GSSENC_REQUEST_CODE:
        reader.end()
        return GSSENCRequest()
    if code == CANCEL_REQUEST_CODE:
        pid = reader.int32()
        secret = reader.rest()
        # Protocol 3.0 keys are 4 bytes; 3.2 allows up to 256.
        if not 4 <= len(secret) <= 256:
            raise ProtocolViolation("invalid cancel request")
        return CancelRequest(pid, secret)
    if code >> 16 != 3:
        raise ProtocolViolation(
            f"unsupported frontend protocol {code >> 16}.{code & 0xFFFF}: "
            "server supports 3.0"
        )
    params: dict[str, str] = {}
    while True:
        name = reader.cstring()
        if not name:
            break
        params[name] = reader.cstring()
    reader.end()
    return StartupMessage(code, params)


#: The messages without content, one of each (they are immutable).
_TERMINATE, _SYNC, _FLUSH = Terminate(), Sync(), Flush()


def parse_message(kind: int, body: bytes):
    """Decode one typed frontend message."""
    if kind == 0x51:  # 'Q'
        reader = _Reader(body)
        sql = reader.cstring()
        reader.end()
        return Query(sql)
    if kind == 0x58:  # 'X'
        return _TERMINATE
    if kind == 0x53:  # 'S'
        return _SYNC
    if kind == 0x48:  # 'H'
        return _FLUSH
    if kind == 0x70:  # 'p'
        return PasswordData(body)
    if kind in (0x64, 0x63, 0x66):  # 'd' 'c' 'f'
        return CopyMessage(kind, body)
    if kind in _EXTENDED:
        reader = _Reader(body)
        message = _EXTENDED[kind](reader)
        reader.end()
        return message
    if kind == 0x46:  # 'F' FunctionCall: obsolete, never sent by current drivers
        return Unsupported(kind, body)
    raise ProtocolViolation(f"invalid frontend message type {kind}")


def parse_sasl_initial(body: bytes) -> tuple[str, bytes]:
    """SASLInitialResponse: mechanism name and the client-first message."""
    reader = _Reader(body)
    mechanism = reader.cstring()
    length = reader.int32()
    data = reader.rest()
    # -1 means "no initial response"; otherwise the length must match exactly.
    if (length == -1 and data) or (length != -1 and length != len(data)):
        raise ProtocolViolation("malformed SASLInitialResponse message")
    return mechanism, data


def parse_password(body: bytes) -> str:
    """PasswordMessage (cleartext or md5 response): one C string."""
    reader = _Reader(body)
    password = reader.cstring()
    reader.end()
    return password


def _parse(r: _Reader) -> Parse:
    name = r.cstring()
    sql = r.cstring()
    oids = tuple(r.int32() & 0xFFFFFFFF for _ in range(r.count(4)))
    return Parse(name, sql, oids)


def _bind(r: _Reader) -> Bind:
    portal = r.cstring()
    statement = r.cstring()
    formats = tuple(r.int16() for _ in range(r.count(2)))
    params: list[bytes | None] = []
    for _ in range(r.count(4)):
        length = r.int32()
        params.append(None if length == -1 else r.bytes_(length))
    results = tuple(r.int16() for _ in range(r.count(2)))
    if any(f not in (0, 1) for f in formats + results):
        raise ProtocolViolation("invalid format code in Bind message")
    return Bind(portal, statement, formats, tuple(params), results)


def _describe_or_close(cls):
    def parse(r: _Reader):
        kind = r.byte()
        if kind not in ("S", "P"):
            raise ProtocolViolation(f"invalid {cls.__name__} message subtype {ord(kind)}")
        return cls(kind, r.cstring())

    return parse


def _execute(r: _Reader) -> Execute:
    portal = r.cstring()
    max_rows = r.int32()
    return Execute(portal, max(max_rows, 0))


_EXTENDED = {
    0x50: _parse,  # 'P'
    0x42: _bind,  # 'B'
    0x44: _describe_or_close(Describe),  # 'D'
    0x45: _execute,  # 'E'
    0x43: _describe_or_close(Close),  # 'C'
}
