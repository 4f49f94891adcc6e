"""A minimal blocking PostgreSQL protocol client for tests that need exact bytes.

Real drivers hide what the server sent (or cannot send what a hostile client would);
this one sends what the test says and returns each message as (type, body).
"""

from __future__ import annotations

import socket
import ssl
import struct


class RawClient:
    def __init__(self, port: int, *, tls: bool = True, timeout: float = 10.0,
                 source: str | None = None) -> None:
        self.sock: socket.socket | ssl.SSLSocket = socket.create_connection(
            ("127.0.0.1", port), timeout=timeout,
            source_address=(source, 0) if source else None)
        if tls:
            self.sock.sendall(struct.pack("!ii", 8, 80877103))
            answer = self.sock.recv(1)
            if not answer:
                raise EOFError("server closed the connection")
            assert answer == b"S", answer
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            self.sock = context.wrap_socket(self.sock)
        self._buf = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def startup(self, **params: str) -> None:
        body = struct.pack("!i", 196608)
        for key, value in params.items():
            body += key.encode() + b"\0" + value.encode() + b"\0"
        body += b"\0"
        self.send(struct.pack("!i", len(body) + 4) + body)

    def message(self, kind: bytes, body: bytes) -> None:
        self.send(kind + struct.pack("!i", len(body) + 4) + body)

    def query(self, sql: str) -> None:
        self.message(b"Q", sql.encode() + b"\0")

    def _read(self, n: int) -> bytes:
        while len(self._buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("server closed the connection")
            self._buf += chunk
        data, self._buf = self._buf[:n], self._buf[n:]
        return data

    def receive(self) -> tuple[bytes, bytes]:
        kind = self._read(1)
        (length,) = struct.unpack("!i", self._read(4))
        return kind, self._read(length - 4)

    def until(self, kind: bytes) -> list[tuple[bytes, bytes]]:
        """Messages up to and including the first of type ``kind``."""
        messages = []
        while True:
            message = self.receive()
            messages.append(message)
            if message[0] == kind:
                return messages

    def closed(self) -> bool:
        """True once the server has closed the connection (waits up to the timeout)."""
        try:
            return self.sock.recv(1) == b""
        except (ConnectionError, ssl.SSLError):
            return True

    def close(self) -> None:
        self.sock.close()


def error_fields(body: bytes) -> dict[str, str]:
    """The fields of an ErrorResponse / NoticeResponse body, keyed by field type."""
    fields = {}
    for part in body.rstrip(b"\0").split(b"\0"):
        if part:
            fields[chr(part[0])] = part[1:].decode()
    return fields


def parse(name: str, sql: str, oids: tuple[int, ...] = ()) -> bytes:
    body = name.encode() + b"\0" + sql.encode() + b"\0" + struct.pack(f"!h{len(oids)}I", len(oids), *oids)
    return _frame(b"P", body)


def bind(portal: str, statement: str, params: tuple[bytes | None, ...] = (),
         param_formats: tuple[int, ...] = (), result_formats: tuple[int, ...] = ()) -> bytes:
    body = portal.encode() + b"\0" + statement.encode() + b"\0"
    body += struct.pack(f"!h{len(param_formats)}h", len(param_formats), *param_formats)
    body += struct.pack("!h", len(params))
    for value in params:
        body += struct.pack("!i", -1) if value is None else struct.pack("!i", len(value)) + value
    body += struct.pack(f"!h{len(result_formats)}h", len(result_formats), *result_formats)
    return _frame(b"B", body)


def describe(kind: str, name: str) -> bytes:
    return _frame(b"D", kind.encode() + name.encode() + b"\0")


def execute(portal: str, max_rows: int = 0) -> bytes:
    return _frame(b"E", portal.encode() + b"\0" + struct.pack("!i", max_rows))


def close(kind: str, name: str) -> bytes:
    return _frame(b"C", kind.encode() + name.encode() + b"\0")


SYNC = b"S\0\0\0\4"
FLUSH = b"H\0\0\0\4"


def _frame(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack("!i", len(body) + 4) + body


def kinds(messages: list[tuple[bytes, bytes]]) -> bytes:
    """The message types of a reply, as one byte string (b"12TDCZ")."""
    return b"".join(kind for kind, _ in messages)
