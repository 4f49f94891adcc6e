"""Backend (server -> client) messages: one encoder per message, each returns bytes.

Pure functions, so a connection can build a whole reply (RowDescription, DataRows,
CommandComplete, ReadyForQuery) into one buffer and write it with one syscall.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence

from duckgres_trio.errors import PgError

_I32 = struct.Struct("!i")
_FIELD = struct.Struct("!IhIhih")


def _msg(kind: bytes, body: bytes) -> bytes:
    return kind + _I32.pack(len(body) + 4) + body


def _cstr(text: str) -> bytes:
    data = text.encode()
    if b"\0" in data:
        # A NUL would end the C string early and desynchronise the client.
        data = data.replace(b"\0", b"\\0")
    return data + b"\0"


# Authentication ('R')
def authentication_ok() -> bytes:
    return _msg(b"R", _I32.pack(0))


def authentication_cleartext_password() -> bytes:
    return _msg(b"R", _I32.pack(3))


def authentication_md5_password(salt: bytes) -> bytes:
    return _msg(b"R", _I32.pack(5) + salt)


def authentication_sasl(mechanisms: Sequence[str]) -> bytes:
    return _msg(b"R", _I32.pack(10) + b"".join(_cstr(m) for m in mechanisms) + b"\0")


def authentication_sasl_continue(data: bytes) -> bytes:
    return _msg(b"R", _I32.pack(11) + data)


def authentication_sasl_final(data: bytes) -> bytes:
    return _msg(b"R", _I32.pack(12) + data)


def parameter_status(name: str, value: str) -> bytes:
    return _msg(b"S", _cstr(name) + _cstr(value))


def backend_key_data(pid: int, secret: int) -> bytes:
    return _msg(b"K", struct.pack("!iI", pid, secret))


def ready_for_query(status: bytes) -> bytes:
    """``status`` is b"I" (idle), b"T" (in a transaction) or b"E" (failed transaction)."""
    return _msg(b"Z", status)


def row_description(fields: Iterable[tuple[str, int, int, int, int]]) -> bytes:
    """``fields``: (name, type oid, typlen, typmod, format code) per column."""
    parts = []
    count = 0
    for name, oid, typlen, typmod, fmt in fields:
        parts.append(_cstr(name) + _FIELD.pack(0, 0, oid, typlen, typmod, fmt))
        count += 1
    return _msg(b"T", struct.pack("!h", count) + b"".join(parts))


def row_description_with_origins(fields: Iterable[tuple[str, int, int, int, int, int, int]]
                                 ) -> bytes:
    """RowDescription whose columns may name their table: ``fields`` are (name, table
    oid, column number, type oid, typlen, typmod, format code). Python only (the Rust
    twin of ``row_description`` sends 0, 0): a result gets one, and only results with a
    column of a table (frontend/origins.py) use it."""
    parts = []
    count = 0
    for name, table, attnum, oid, typlen, typmod, fmt in fields:
        parts.append(_cstr(name) + _FIELD.pack(table, attnum, oid, typlen, typmod, fmt))
        count += 1
    return _msg(b"T", struct.pack("!h", count) + b"".join(parts))


def data_row(values: Sequence[bytes | None]) -> bytes:
    parts = [struct.pack("!h", len(values))]
    for value in values:
        if value is None:
            parts.append(b"\xff\xff\xff\xff")
        else:
            parts.append(_I32.pack(len(value)))
            parts.append(value)
    return _msg(b"D", b"".join(parts))


def command_complete(tag: str) -> bytes:
    return _msg(b"C", _cstr(tag))


def empty_query_response() -> bytes:
    return _msg(b"I", b"")


def no_data() -> bytes:
    return _msg(b"n", b"")


def parse_complete() -> bytes:
    return _msg(b"1", b"")


def bind_complete() -> bytes:
    return _msg(b"2", b"")


def close_complete() -> bytes:
    return _msg(b"3", b"")


def portal_suspended() -> bytes:
    return _msg(b"s", b"")


def parameter_description(oids: Sequence[int]) -> bytes:
    return _msg(b"t", struct.pack(f"!h{len(oids)}I", len(oids), *oids))


def _error_fields(err: PgError, severity: str) -> bytes:
    fields = [b"S" + _cstr(severity), b"V" + _cstr(severity), b"C" + _cstr(err.sqlstate)]
    fields.append(b"M" + _cstr(err.message))
    if err.detail:
        fields.append(b"D" + _cstr(err.detail))
    if err.hint:
        fields.append(b"H" + _cstr(err.hint))
    return b"".join(fields) + b"\0"


def error_response(err: PgError) -> bytes:
    return _msg(b"E", _error_fields(err, err.severity))


def positioned(message: bytes, position: int | None) -> bytes:
    """An ErrorResponse from either codec with PostgreSQL's Position field ('P', the
    1-based character offset in the Query) added before its terminator. Kept out of the
    encoders, whose Rust and Python twins must produce the same bytes for the same
    fields; errors are rare, so the copy costs nothing."""
    if not position:
        return message
    body = message[5:-1] + b"P" + _cstr(str(position)) + b"\0"
    return message[:1] + struct.pack("!I", len(body) + 4) + body


def notice_response(err: PgError) -> bytes:
    """A NoticeResponse; ``err.severity`` should be WARNING, NOTICE, INFO, ..."""
    return _msg(b"N", _error_fields(err, err.severity))


# Replies to startup-phase requests are single bytes, not messages.
SSL_ACCEPT = b"S"
SSL_REFUSE = b"N"
GSSENC_REFUSE = b"N"


def copy_out_response(binary: bool, columns: int) -> bytes:
    code = int(binary)
    return _msg(b"H", struct.pack(f"!bh{columns}h", code, columns, *([code] * columns)))


def copy_in_response(binary: bool, columns: int) -> bytes:
    code = int(binary)
    return _msg(b"G", struct.pack(f"!bh{columns}h", code, columns, *([code] * columns)))


def copy_data(data: bytes) -> bytes:
    return _msg(b"d", data)


def copy_done() -> bytes:
    return _msg(b"c", b"")


def notification_response(pid: int, channel: str, payload: str) -> bytes:
    """NotificationResponse ('A'): rare, so Python only (not in ``PYTHON``)."""
    return _msg(b"A", struct.pack("!i", pid) + _cstr(channel) + _cstr(payload))


# The reference encoders above, kept by name for the parity tests; with the Rust codec
# (DUCKGRES_CODEC, read in `duckgres_trio.wire`, whose __init__ imports only
# `wire.framing`, so importing it here is not circular) each name is rebound to its
# byte-identical twin in `duckgres_trio._native`.
PYTHON = {
    fn.__name__: fn
    for fn in (
        authentication_ok,
        authentication_cleartext_password,
        authentication_md5_password,
        authentication_sasl,
        authentication_sasl_continue,
        authentication_sasl_final,
        parameter_status,
        backend_key_data,
        ready_for_query,
        row_description,
        data_row,
        command_complete,
        empty_query_response,
        no_data,
        parse_complete,
        bind_complete,
        close_complete,
        portal_suspended,
        parameter_description,
        error_response,
        notice_response,
        copy_out_response,
        copy_in_response,
        copy_data,
        copy_done,
    )
}

from duckgres_trio.wire import CODEC  # noqa: E402

if CODEC == "rust":
    from duckgres_trio import _native

    globals().update({name: getattr(_native, name) for name in PYTHON})
