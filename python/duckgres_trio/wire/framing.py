"""Frontend message framing: bytes in, whole messages out (pure-Python reference).

A PostgreSQL client first sends untyped startup-phase packets (``int32 length`` then
the body: StartupMessage, SSLRequest, GSSENCRequest, CancelRequest), then typed
messages (``byte type, int32 length, body``). The connection knows which phase it is
in and asks for the matching kind. Every length is checked against its limit as soon
as the header is seen, before the body is waited for, so a hostile length costs
nothing. The Rust implementation (``duckgres_trio._native.FrameDecoder``) has the same
interface and must behave identically, byte for byte and error for error.
"""

from __future__ import annotations

from duckgres_trio.errors import ProtocolViolation

#: PostgreSQL's own startup packet limit (MAX_STARTUP_PACKET_LENGTH).
MAX_STARTUP_PACKET = 10_000
#: Largest message PostgreSQL itself accepts (PQ_LARGE_MESSAGE_LIMIT, 1 GiB - 1).
MAX_MESSAGE_LIMIT = 0x3FFFFFFF


class FrameDecoder:
    """Cuts a frontend byte stream into packets; feed bytes, pull messages."""

    __slots__ = ("_buf", "_pos", "max_message_size", "max_startup_size")

    def __init__(
        self, max_message_size: int = 64 << 20, max_startup_size: int = MAX_STARTUP_PACKET
    ) -> None:
        if not 4 <= max_message_size <= MAX_MESSAGE_LIMIT:
            raise ValueError("max_message_size out of range")
        if not 8 <= max_startup_size <= MAX_MESSAGE_LIMIT:
            raise ValueError("max_startup_size out of range")
        self._buf = bytearray()
        self._pos = 0
        self.max_message_size = max_message_size
        self.max_startup_size = max_startup_size

    @property
    def buffered(self) -> int:
        """Bytes received but not yet returned as a message."""
        return len(self._buf) - self._pos

    def feed(self, data: bytes) -> None:
        if self._pos and self._pos == len(self._buf):
            self._buf.clear()
            self._pos = 0
        elif self._pos > 65536 and self._pos * 2 > len(self._buf):
            del self._buf[: self._pos]
            self._pos = 0
        self._buf += data

    def next_startup(self) -> bytes | None:
        """One startup-phase packet (the bytes after its length word), or None."""
        if self.buffered < 4:
            return None
        pos = self._pos
        length = int.from_bytes(self._buf[pos : pos + 4], "big")
        if length < 8 or length > self.max_startup_size:
            raise ProtocolViolation("invalid length of startup packet")
        if self.buffered < length:
            return None
        self._pos = pos + length
        return bytes(self._buf[pos + 4 : pos + length])

    def next_message(self) -> tuple[int, bytes] | None:
        """One typed message as (type byte, body), or None if incomplete."""
        if self.buffered < 5:
            return None
        pos = self._pos
        msg_type = self._buf[pos]
        length = int.from_bytes(self._buf[pos + 1 : pos + 5], "big")
        if length < 4:
            raise ProtocolViolation(f"invalid message length {length}")
        if length - 4 > self.max_message_size:
            raise ProtocolViolation(
                f"message of type {chr(msg_type)!r} is {length - 4} bytes, "
                f"over the limit of {self.max_message_size}"
            )
        end = pos + 1 + length
        if len(self._buf) < end:
            return None
        self._pos = end
        return msg_type, bytes(self._buf[pos + 5 : end])
