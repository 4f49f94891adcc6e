"""The extended query protocol's messages: Parse, Bind, Describe, Execute, Close, Sync.

The protocol layer alone: it reads each message, decodes what is the wire's (Bind's
parameter values and formats), writes the protocol's replies, and calls the session
once per message (``frontend/statements.py``, the session's ``PreparedPath``), which
never calls back. The connection's message loop calls this; this calls the session.
"""

from __future__ import annotations

from duckgres_trio.errors import PgError, SqlState
from duckgres_trio.frontend.results import Output
from duckgres_trio.frontend.session import Session
from duckgres_trio.wire import backend
from duckgres_trio.wire import frontend as msg
from duckgres_trio.wire.params import decode_param
from duckgres_trio.wire.rows import column_formats


class ExtendedProtocol:
    def __init__(self, session: Session) -> None:
        self._session = session

    async def parse(self, message: msg.Parse, out: Output) -> None:
        await self._session.parse_statement(message)
        out.queue(backend.parse_complete())

    async def bind(self, message: msg.Bind, out: Output) -> None:
        statement = self._session.bindable(message.statement, message.portal)
        count = len(statement.param_oids)
        if len(message.params) != count:
            raise PgError(
                SqlState.PROTOCOL_VIOLATION,
                f"bind message supplies {len(message.params)} parameters, but prepared "
                f'statement "{message.statement}" requires {count}')
        formats = _param_formats(message.param_formats, count)
        params = [
            None if data is None else decode_param(data, fmt, oid, index=number)
            for number, (data, fmt, oid)
            in enumerate(zip(message.params, formats, statement.param_oids), 1)
        ]
        columns = statement.columns
        result_formats = column_formats(message.result_formats, len(columns)) if columns else []
        await self._session.bind_portal(message.portal, statement, params, result_formats)
        out.queue(backend.bind_complete())

    async def describe(self, message: msg.Describe, out: Output) -> None:
        statement, formats = self._session.described_target(message.kind, message.name)
        if message.kind == "S":
            out.queue(backend.parameter_description(statement.param_oids))
        out.queue(statement.row_description(formats) if statement.columns is not None
                  else backend.no_data())

    async def execute(self, message: msg.Execute, out: Output, *, sync_next: bool) -> None:
        """Run (or resume) a portal. ``sync_next``: the client's Sync is the very next
        message, so this statement alone makes up the implicit transaction."""
        await self._session.execute_portal(message.portal, message.max_rows, out,
                                           sync_next=sync_next)

    async def close(self, message: msg.Close, out: Output) -> None:
        if message.kind == "S":
            await self._session.close_statement(message.name)
        else:
            await self._session.close_portal(message.name)
        out.queue(backend.close_complete())

    async def sync(self, out: Output) -> None:
        await self._session.sync(out)


def _param_formats(formats: tuple[int, ...], count: int) -> tuple[int, ...]:
    if not formats:
        return (0,) * count
    if len(formats) == 1:
        return formats * count
    if len(formats) != count:
        raise PgError(
            SqlState.PROTOCOL_VIOLATION,
            f"bind message has {len(formats)} parameter formats but {count} parameters")
    return formats
