"""A client session's state after startup: its parameters, its transaction, its engine.

The simple-query protocol runs here: split the Query, run each statement through the
Executor, stream its rows, and keep PostgreSQL's transaction semantics (an implicit
transaction around a multi-statement Query; after an error inside BEGIN ... every
statement fails with 25P02 until ROLLBACK).
"""

from __future__ import annotations

from contextlib import aclosing
from typing import Protocol

import pyarrow as pa

from duckgres_trio import __version__
from duckgres_trio.engine.base import Executor, Result
from duckgres_trio.errors import PgError, SqlState
from duckgres_trio.sql import Statement, split_statements
from duckgres_trio.sql import settings
from duckgres_trio.sql.statements import COUNTED
from duckgres_trio.wire import backend
from duckgres_trio.wire.rows import encode_rows, row_description

SERVER_VERSION = f"15.0 (duckgres-trio {__version__})"

# Transaction states.
IDLE, EXPLICIT, IMPLICIT, FAILED = "idle", "explicit", "implicit", "failed"


class Output(Protocol):
    """Where a session writes its replies: a buffer flushed to the client."""

    def queue(self, data: bytes) -> None: ...

    async def flush_if_full(self) -> None: ...


class Session:
    def __init__(self, executor: Executor, user: str, parameters: dict[str, str]) -> None:
        self.executor = executor
        self.user = user
        self._txn = IDLE
        self._cancel_requested = False
        self.busy = False
        self.parameters: dict[str, str] = {
            "server_version": SERVER_VERSION,
            "server_version_num": "150000",
            "server_encoding": "UTF8",
            "client_encoding": "UTF8",
            "DateStyle": "ISO, MDY",
            "IntervalStyle": "postgres",
            "TimeZone": "UTC",
            "integer_datetimes": "on",
            "standard_conforming_strings": "on",
            "application_name": "",
            "extra_float_digits": "1",
            "is_superuser": "on",
            "session_authorization": user,
            "default_transaction_read_only": "off",
            "in_hot_standby": "off",
        }
        self.parameters.update(parameters)
        self._initial = dict(self.parameters)

    async def start(self) -> None:
        """Apply the session's TimeZone to the engine (DuckDB defaults to the host's)."""
        await self._apply_timezone(self.parameters["TimeZone"])

    @property
    def status(self) -> bytes:
        """The ReadyForQuery transaction status byte."""
        return {EXPLICIT: b"T", FAILED: b"E"}.get(self._txn, b"I")

    def request_cancel(self) -> None:
        """A CancelRequest arrived: stop the running statement, if there is one."""
        if self.busy:
            self._cancel_requested = True
            self.executor.cancel()

    def reported_parameters(self) -> list[bytes]:
        return [backend.parameter_status(name, self.parameters[name]) for name in settings.REPORTED]

    async def simple_query(self, sql: str, out: Output) -> None:
        """Answer one Query message, up to and including ReadyForQuery."""
        self._cancel_requested = False
        self.busy = True
        try:
            await self._run_query(sql, out)
        finally:
            self.busy = False
        out.queue(backend.ready_for_query(self.status))

    async def _run_query(self, sql: str, out: Output) -> None:
        try:
            statements = split_statements(sql)
        except PgError as err:
            out.queue(backend.error_response(err))
            await self._after_error()
            return
        if not statements:
            out.queue(backend.empty_query_response())
            return
        multi = len(statements) > 1
        for statement in statements:
            try:
                await self._statement(statement, multi, out)
            except PgError as err:
                if err.fatal:
                    raise
                out.queue(backend.error_response(err))
                await self._after_error()
                return
        if self._txn == IMPLICIT:
            self._txn = IDLE
            try:
                await self._engine("COMMIT")
            except PgError as err:
                out.queue(backend.error_response(err))

    async def _statement(self, stmt: Statement, multi: bool, out: Output) -> None:
        if self._txn == FAILED and stmt.transaction not in ("commit", "rollback"):
            raise PgError(
                SqlState.IN_FAILED_SQL_TRANSACTION,
                "current transaction is aborted, commands ignored until end of transaction block",
            )
        if stmt.refusal is not None:
            raise stmt.refusal
        if stmt.transaction is not None:
            await self._transaction_control(stmt, out)
            return
        if multi and self._txn == IDLE:
            await self._engine("BEGIN")
            self._txn = IMPLICIT
        if stmt.parameter is not None and settings.canonical(stmt.parameter):
            await self._parameter(stmt, out)
            return
        result = await self.executor.execute(stmt.text, stmt.returns_rows)
        await self._send_result(stmt.command, result, out)

    async def _send_result(self, command: str, result: Result, out: Output) -> None:
        if result.schema is None:
            out.queue(backend.command_complete(_tag(command, result.rowcount)))
            return
        out.queue(row_description(result.schema))
        rows = 0
        async with aclosing(result.batches()) as batches:
            async for batch in batches:
                if self._cancel_requested:
                    raise _canceled()
                out.queue(_encode(batch))
                rows += batch.num_rows
                await out.flush_if_full()
        out.queue(backend.command_complete(_tag(command, rows)))

    async def _transaction_control(self, stmt: Statement, out: Output) -> None:
        kind = stmt.transaction
        if kind == "begin":
            if self._txn == EXPLICIT:
                out.queue(_warning(SqlState.ACTIVE_SQL_TRANSACTION,
                                   "there is already a transaction in progress"))
            elif self._txn == IMPLICIT:
                self._txn = EXPLICIT  # as PostgreSQL: BEGIN turns the implicit block explicit
            else:
                await self._engine("BEGIN")
                self._txn = EXPLICIT
            out.queue(backend.command_complete(stmt.command))
            return
        if self._txn == IDLE:
            out.queue(_warning(SqlState.NO_ACTIVE_SQL_TRANSACTION,
                               "there is no transaction in progress"))
            out.queue(backend.command_complete(stmt.command))
            return
        failed = self._txn == FAILED
        self._txn = IDLE  # whatever happens next, the engine's transaction is over
        if kind == "commit" and not failed:
            await self._engine("COMMIT")
            out.queue(backend.command_complete("COMMIT"))
        else:
            await self._engine("ROLLBACK")
            out.queue(backend.command_complete("ROLLBACK"))

    async def _after_error(self) -> None:
        if self._txn == EXPLICIT:
            self._txn = FAILED
        elif self._txn == IMPLICIT:
            self._txn = IDLE
            try:
                await self._engine("ROLLBACK")
            except PgError:
                pass  # the engine may already have ended the transaction itself

    async def _parameter(self, stmt: Statement, out: Output) -> None:
        if stmt.command == "SHOW":
            name = settings.canonical(stmt.parameter)
            batch = pa.record_batch([pa.array([self.parameters[name]], pa.string())], names=[name])
            await self._send_result("SHOW", Result(batch.schema, None, _one(batch)), out)
            return
        if stmt.value is None:
            name = settings.canonical(stmt.parameter)
            if name in settings.READ_ONLY:
                raise PgError("55P02", f'parameter "{name}" cannot be changed')
            value = self._initial[name]
        else:
            name, value = settings.validate(stmt.parameter, stmt.value)
        if name == "TimeZone":
            await self._apply_timezone(value)
        self.parameters[name] = value
        if name in settings.REPORTED:
            out.queue(backend.parameter_status(name, value))
        out.queue(backend.command_complete(stmt.command))

    async def _apply_timezone(self, zone: str) -> None:
        try:
            await self._engine(f"SET TimeZone = '{zone}'")
        except PgError:
            raise PgError(SqlState.INVALID_PARAMETER_VALUE,
                          f'invalid value for parameter "TimeZone": "{zone}"') from None

    async def _engine(self, sql: str) -> None:
        await self.executor.execute(sql, False)

    async def close(self) -> None:
        await self.executor.close()


def _tag(command: str, rows: int | None) -> str:
    if command == "INSERT":
        return f"INSERT 0 {rows or 0}"
    if command in COUNTED:
        return f"{command} {rows or 0}"
    return command


def _encode(batch: pa.RecordBatch) -> bytes:
    try:
        return encode_rows(batch)
    except Exception as exc:  # a value the encoder cannot represent: fail the statement only
        raise PgError(SqlState.INTERNAL_ERROR, f"cannot send a result value: {exc}") from None


def _warning(sqlstate: str, message: str) -> bytes:
    return backend.notice_response(PgError(sqlstate, message, severity="WARNING"))


def _canceled() -> PgError:
    return PgError(SqlState.QUERY_CANCELED, "canceling statement due to user request")


async def _one(batch: pa.RecordBatch):
    yield batch
