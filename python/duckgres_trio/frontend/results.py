"""Small pieces both query protocols use to report results."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import contextmanager
from typing import Protocol

import pyarrow as pa

from duckgres_trio.errors import PgError, SqlState
from duckgres_trio.sql.statements import COUNTED
from duckgres_trio.wire.frontend import CopyMessage
from duckgres_trio.wire.rows import RowEncoder, encode_rows, encoder
from duckgres_trio.wire.text import OutputStyle


class Output(Protocol):
    """Where a session writes its replies (a buffer flushed to the client), and where
    COPY FROM STDIN reads the client's data from (the connection)."""

    def queue(self, data: bytes) -> None: ...

    async def flush_if_full(self) -> None: ...

    async def flush(self) -> None: ...

    async def copy_message(self) -> CopyMessage: ...


def command_tag(command: str, rows: int | None) -> str:
    """CommandComplete's tag: "INSERT 0 n", "SELECT n", ..., or the bare command."""
    if command == "INSERT":
        return f"INSERT 0 {rows or 0}"
    if command in COUNTED:
        return f"{command} {rows or 0}"
    return command


class KeepsEncoder(Protocol):
    """What remembers the row encoder of its last result (a prepared statement, a
    session), so its next one with the same columns encodes at once."""

    encoder: RowEncoder | None


def encode(batch: pa.RecordBatch, formats: Sequence[int] | None,
           style: OutputStyle | None = None, keep: KeepsEncoder | None = None) -> bytes:
    """DataRows for a batch, text in the session's DateStyle / IntervalStyle."""
    try:  # encoding_errors, inline: this runs for every batch
        if keep is None:
            return encode_rows(batch, formats, style=style)
        rows = keep.encoder = encoder(keep.encoder, batch.schema, formats, style)
        return rows.encode(batch)
    except PgError:
        raise
    except Exception as exc:
        raise PgError(SqlState.INTERNAL_ERROR, f"cannot send a result value: {exc}") from None


@contextmanager
def encoding_errors():
    """A value the encoders cannot represent fails the statement (ERROR), not the
    connection."""
    try:
        yield
    except PgError:
        raise
    except Exception as exc:
        raise PgError(SqlState.INTERNAL_ERROR, f"cannot send a result value: {exc}") from None
