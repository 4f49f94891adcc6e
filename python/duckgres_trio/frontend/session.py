"""A client session's state after startup: its parameters, its transaction, its engine.

Both query protocols run statements through here. The simple protocol is in this
module (split the Query, run each statement, one implicit transaction around a
multi-statement Query); the extended protocol's statements and portals are in
``extended``. PostgreSQL's transaction semantics live here once: after an error
inside BEGIN ... every statement fails with 25P02 until ROLLBACK.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import AsyncIterator, Awaitable, Sequence
from contextlib import aclosing
from typing import Protocol, TypeVar

import pyarrow as pa
import trio

from duckgres_trio import __version__, logs, metrics
from duckgres_trio.engine import pg_catalog as catalog
from duckgres_trio.engine.base import Executor, Result
from duckgres_trio.errors import PgError, SqlState
from duckgres_trio.frontend.activity import Activity, signalled_schema, snapshot
from duckgres_trio.frontend.extended import ExtendedProtocol
from duckgres_trio.frontend.results import command_tag, encode, encoding_errors
from duckgres_trio.sql import Statement, settings, split_statements
from duckgres_trio.sql.copy import CopyStatement, parse_copy
from duckgres_trio.sql.redaction import redacted_error
from duckgres_trio.wire import backend
from duckgres_trio.frontend.copy_in import COPY_BATCH_ROWS, MAX_COPY_FIELD, copy_batch
from duckgres_trio.wire.copy import (
    BinaryCopyInParser,
    CopyFormatError,
    CopyInParser,
    copy_data_messages,
    copy_header,
    copy_trailer,
)
from duckgres_trio.wire.frontend import CopyMessage

COPY_DATA, COPY_DONE = ord("d"), ord("c")
from duckgres_trio.wire.rows import row_description

SERVER_VERSION = f"15.0 (duckgres-trio {__version__})"

T = TypeVar("T")

# Transaction states.
IDLE, EXPLICIT, IMPLICIT, FAILED = "idle", "explicit", "implicit", "failed"


class Output(Protocol):
    """Where a session writes its replies (a buffer flushed to the client), and where
    COPY FROM STDIN reads the client's data from."""

    def queue(self, data: bytes) -> None: ...

    async def flush_if_full(self) -> None: ...

    async def flush(self) -> None: ...

    async def copy_message(self) -> CopyMessage: ...


class Backends(Protocol):
    """The server's view of every session, for pg_stat_activity and the functions
    that signal other backends."""

    def activities(self) -> list[Activity]: ...

    def signal(self, pid: int, kind: str) -> bool: ...


class Session:
    def __init__(self, executor: Executor, user: str, parameters: dict[str, str],
                 pid: int = 0, *, activity: Activity | None = None,
                 backends: Backends | None = None, roles: dict[str, int] | None = None) -> None:
        self.executor = executor
        self.user = user
        self.roles = roles or {user: catalog.OWNER_OID}  # pg_roles: who can log in
        self.pid = pid
        self.activity = activity or Activity(pid, "", user, "", _now())
        self.backends = backends
        self.txn = IDLE
        self._cancel_requested = False
        self.busy = False
        self.busy_since: float | None = None
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
            "statement_timeout": "0",
            "idle_in_transaction_session_timeout": "0",
            "is_superuser": "on",
            "session_authorization": user,
            "default_transaction_read_only": "off",
            "in_hot_standby": "off",
            "transaction_isolation": "read committed",
            "max_identifier_length": "63",
            "block_size": "8192",
            "lc_collate": "C.UTF-8",
            "lc_ctype": "C.UTF-8",
            "max_connections": "100",
            **settings.REMEMBERED,
        }
        self.parameters.update(parameters)
        self._initial = dict(self.parameters)
        self._undo_at_end: dict[str, str] = {}
        self._set_after_statement: list[tuple[str, str, bool]] = []  # set_config()
        self.extended = ExtendedProtocol(self)

    async def start(self) -> None:
        """Apply the session's TimeZone to the engine (DuckDB defaults to the host's), and
        publish the session to the catalog."""
        await self._apply_timezone(self.parameters["TimeZone"])
        if self.parameters["search_path"] != settings.REMEMBERED["search_path"]:
            await self._apply_search_path(self.parameters["search_path"])
        await self.publish_settings()

    async def publish_settings(self) -> None:
        """Tell the catalog (engine.pg_catalog) who this session is and what its
        parameters are: current_user, pg_backend_pid(), current_setting()."""
        values = ", ".join(f"{_quote(name.lower())}: {_quote(value)}"
                           for name, value in self.parameters.items())
        roles = ", ".join(f"{{'name': {_quote(name)}, 'oid': {oid}}}"
                          for name, oid in sorted(self.roles.items()))
        await self._engine(f"SET VARIABLE pg_session = {{'user': {_quote(self.user)}, "
                           f"'pid': {self.pid}, 'settings': MAP {{{values}}}, "
                           f"'roles': [{roles}]}}")

    @property
    def status(self) -> bytes:
        """The ReadyForQuery transaction status byte."""
        return {EXPLICIT: b"T", FAILED: b"E"}.get(self.txn, b"I")

    def request_cancel(self) -> None:
        """A CancelRequest arrived: stop the running statement, if there is one."""
        if self.busy:
            self._cancel_requested = True
            self.executor.cancel()

    def begin_work(self) -> None:
        """A client message starts being processed: a cancel from now on applies to it."""
        self._cancel_requested = False
        self.busy = True
        self.busy_since = trio.current_time()

    def end_work(self) -> None:
        self.busy = False
        self.busy_since = None
        self._note_state({IDLE: "idle", FAILED: "idle in transaction (aborted)"}.get(
            self.txn, "idle in transaction"))

    def note_query(self, text: str) -> None:
        """A statement starts: pg_stat_activity shows it, log lines carry its id."""
        activity = self.activity
        activity.query, activity.query_start = text, _now()
        activity.query_id = next(_QUERY_IDS)
        logs.bind(query_id=activity.query_id)
        activity.application_name = self.parameters.get("application_name", "")
        self._note_state("active")

    def error_response(self, err: PgError) -> bytes:
        """The ErrorResponse for ``err`` raised by the current statement, with that
        statement's literals taken out if it may carry a secret (DuckDB quotes it)."""
        return backend.error_response(redacted_error(err, self.activity.query or ""))

    def _note_state(self, state: str) -> None:
        activity = self.activity
        now = _now()
        if self.txn == IDLE:
            activity.xact_start = None
        elif activity.xact_start is None:
            activity.xact_start = activity.query_start or now
        if activity.state != state:
            activity.state, activity.state_change = state, now

    def timeout(self, name: str) -> float:
        """A time setting of this session in seconds; 0 when off."""
        return settings.milliseconds(self.parameters[name]) / 1000

    async def timed(self, step: Awaitable[T], out: Output) -> T:
        """Run one statement's work under the session's statement_timeout, counted in
        the query metrics; then apply what its set_config() calls set."""
        started = trio.current_time()
        try:
            result = await self._within_timeout(step)
            if self._set_after_statement:
                await self._apply_set_configs(out)
        except PgError as err:
            self._set_after_statement.clear()
            metrics.count_query(trio.current_time() - started, err.sqlstate)
            raise
        metrics.count_query(trio.current_time() - started, None)
        return result

    async def _within_timeout(self, step: Awaitable[T]) -> T:
        timeout = self.timeout("statement_timeout")
        if not timeout:
            return await step
        with trio.move_on_after(timeout):
            return await step
        raise PgError(SqlState.QUERY_CANCELED, "canceling statement due to statement timeout")

    def reported_parameters(self) -> list[bytes]:
        return [backend.parameter_status(name, self.parameters[name]) for name in settings.REPORTED]

    # -- simple query protocol ------------------------------------------------------

    async def simple_query(self, sql: str, out: Output) -> None:
        """Answer one Query message, up to and including ReadyForQuery."""
        self.begin_work()
        self.note_query(sql)
        try:
            await self.extended.drop_unnamed_portal()  # as a Query does in PostgreSQL
            await self._run_query(sql, out)
        finally:
            self.end_work()
        out.queue(backend.ready_for_query(self.status))

    async def _run_query(self, sql: str, out: Output) -> None:
        try:
            statements = split_statements(sql)
        except PgError as err:
            out.queue(backend.error_response(err))
            await self.after_error()
            return
        if not statements:
            out.queue(backend.empty_query_response())
            return
        multi = len(statements) > 1
        for statement in statements:
            try:
                await self.timed(self.run_statement(statement, out, implicit=multi), out)
            except PgError as err:
                if err.fatal:
                    raise
                out.queue(self.error_response(err))
                await self.after_error()
                return
        await self.end_implicit(out)

    # -- shared by both protocols ---------------------------------------------------

    def check_not_failed(self, stmt: Statement | None) -> None:
        if self.txn == FAILED and (stmt is None or stmt.transaction not in ("commit", "rollback")):
            raise PgError(
                SqlState.IN_FAILED_SQL_TRANSACTION,
                "current transaction is aborted, commands ignored until end of transaction block",
            )

    async def run_statement(self, stmt: Statement, out: Output, *, implicit: bool) -> None:
        """Run a statement of a simple Query, RowDescription and all."""
        self.check_not_failed(stmt)
        if stmt.refusal is not None:
            raise stmt.refusal
        if await self.run_session_statement(stmt, out, describe=True):
            return
        if implicit:
            await self.begin_implicit()
        if stmt.copy == "out":
            await self._copy_out(parse_copy(stmt.text), out)
            return
        if stmt.copy == "in":
            await self._copy_in(parse_copy(stmt.text), out)
            return
        try:
            result = await self.run_translated(stmt)
        except PgError as err:
            if stmt.command == "SHOW" and stmt.parameter and err.sqlstate == "42P01":
                # neither ours nor a DuckDB table to show: PostgreSQL's answer
                raise PgError(SqlState.UNDEFINED_OBJECT,
                              f'unrecognized configuration parameter "{stmt.parameter}"') from None
            raise
        if result.schema is None:
            out.queue(backend.command_complete(command_tag(stmt.command, result.rowcount)))
            return
        out.queue(row_description(result.schema))
        rows = await self.send_rows(result.batches(), None, out)
        out.queue(backend.command_complete(command_tag(stmt.command, rows)))

    async def run_translated(self, stmt: Statement) -> Result:
        """Run the statement's DuckDB translation, its setup statements first."""
        await self.extended.park_portals()  # open cursors keep their rows
        if stmt.activity:
            await self.publish_activity()
        for setup in stmt.setup:
            await self.executor.execute(setup, False)
        result = await self.executor.execute(stmt.engine_text, stmt.returns_rows)
        if stmt.signals and result.schema is not None:
            result = Result(signalled_schema(result.schema, stmt.signals), result.rowcount,
                            self.signal_backends(result.batches(), stmt.signals))
        return result

    async def publish_activity(self) -> None:
        """Write the server's sessions into this session's pg_stat_activity table."""
        if self.backends is None:
            raise PgError(SqlState.FEATURE_NOT_SUPPORTED, "pg_stat_activity is not available")
        batch = snapshot(self.backends.activities())
        await self.executor.execute(catalog.ACTIVITY_DDL, False)
        await self.executor.insert_batch(catalog.ACTIVITY_TABLE, batch)

    async def signal_backends(self, batches: AsyncIterator[pa.RecordBatch],
                              signals: tuple[tuple[int, str], ...]
                              ) -> AsyncIterator[pa.RecordBatch]:
        """The result with each signal column carried out: pids signalled (cancel /
        terminate) and replaced by whether a backend with that pid was there to signal;
        set_config arguments applied and replaced by the value set."""
        async with aclosing(batches) as stream:
            async for batch in stream:
                columns = list(batch.columns)
                for index, kind in signals:
                    values = columns[index].to_pylist()
                    if kind == "set_config":
                        columns[index] = pa.array(
                            [None if v is None else self._set_config(*v) for v in values],
                            pa.string())
                    else:
                        columns[index] = pa.array(
                            [None if pid is None else self._signal(pid, kind) for pid in values],
                            pa.bool_())
                yield pa.record_batch(columns, schema=signalled_schema(batch.schema, signals))

    def _set_config(self, name: str | None, value: str | None, local: str | None) -> str:
        """set_config(name, value, is_local): SET, or SET LOCAL when is_local (which,
        outside a transaction block, lasts no longer than the statement: no effect).
        Validated now, applied once the statement is through (``timed``): the engine
        is busy streaming its result until then."""
        if name is None:
            raise PgError("22004", "SET requires parameter name")
        canon, norm = settings.validate(name, "" if value is None else value)
        if local != "true" or self.txn == EXPLICIT:
            self._set_after_statement.append((canon, norm, local == "true"))
        return norm

    async def _apply_set_configs(self, out: Output) -> None:
        pending, self._set_after_statement = self._set_after_statement, []
        for name, value, local in pending:
            if local:
                self._undo_at_end.setdefault(name, self.parameters[name])
            await self._set_parameter(name, value, out)

    def _signal(self, pid: int, kind: str) -> bool:
        if self.backends is None:
            return False
        return self.backends.signal(pid, kind)

    async def run_session_statement(self, stmt: Statement, out: Output, *, describe: bool) -> bool:
        """Run ``stmt`` if the session answers it itself (transaction control, reported
        parameters); False if it is for the engine."""
        if stmt.transaction is not None:
            await self._transaction_control(stmt, out)
            return True
        if settings.is_session_parameter(stmt.parameter):
            await self._parameter(stmt, out, describe)
            return True
        if stmt.cursor is not None:
            await self.extended.cursor(stmt, [], (), out, describe=describe)
            return True
        return False

    def in_transaction(self) -> bool:
        """Inside a transaction block, explicit or the implicit one of a multi-statement
        Query (where PostgreSQL lets DECLARE CURSOR stand)."""
        return self.txn in (EXPLICIT, IMPLICIT)

    async def send_rows(self, batches: AsyncIterator[pa.RecordBatch],
                        formats: Sequence[int] | None, out: Output) -> int:
        """Stream every batch as DataRows; the number of rows sent."""
        rows = 0
        async with aclosing(batches) as stream:
            async for batch in stream:
                self.check_cancel()
                out.queue(encode(batch, formats))
                rows += batch.num_rows
                await out.flush_if_full()
        return rows

    async def _copy_out(self, copy: CopyStatement, out: Output) -> None:
        """COPY ... TO STDOUT: run the query, stream its rows as CopyData, one per row."""
        await self.extended.park_portals()
        result = await self.executor.execute(copy.query, True)
        if result.schema is None:
            raise PgError(SqlState.FEATURE_NOT_SUPPORTED,
                          "COPY query must have a result: only SELECT-like queries can be copied")
        options = copy.options
        out.queue(backend.copy_out_response(options.format == "binary", len(result.schema)))
        header = copy_header(result.schema, options)
        if header is not None:
            out.queue(backend.copy_data(header))
        rows = 0
        async with aclosing(result.batches()) as stream:
            async for batch in stream:
                self.check_cancel()
                with encoding_errors():
                    data = copy_data_messages(batch, options)
                out.queue(data)
                rows += batch.num_rows
                await out.flush_if_full()
        trailer = copy_trailer(options)
        if trailer is not None:
            out.queue(backend.copy_data(trailer))
        out.queue(backend.copy_done())
        out.queue(backend.command_complete(f"COPY {rows}"))

    async def _copy_in(self, copy: CopyStatement, out: Output) -> None:
        """COPY ... FROM STDIN: parse the client's CopyData as it arrives and insert it
        in batches of COPY_BATCH_ROWS rows, all in one transaction (the session's, or
        one of its own), so an error or a CopyFail leaves nothing inserted."""
        columns = f" ({', '.join(copy.columns)})" if copy.columns else ""
        target = copy.query + columns
        await self.extended.park_portals()
        probe = await self.executor.prepare(
            f"SELECT {', '.join(copy.columns) or '*'} FROM {copy.query} LIMIT 0")
        await self.executor.close_prepared(probe)
        schema = probe.columns
        options = copy.options
        binary = options.format == "binary"
        parser = (BinaryCopyInParser(len(schema), MAX_COPY_FIELD) if binary
                  else CopyInParser(options, len(schema), schema.names))
        out.queue(backend.copy_in_response(binary, len(schema)))
        await out.flush()
        own = self.txn == IDLE
        if own:
            await self._engine("BEGIN")
        try:
            total = await self._copy_rows(parser, schema, binary, target, out)
        except BaseException:
            if own:
                with trio.CancelScope(shield=True):
                    await self._engine_quietly("ROLLBACK")
            raise
        if own:
            await self._engine("COMMIT")
        out.queue(backend.command_complete(f"COPY {total}"))

    async def _copy_rows(self, parser, schema: pa.Schema, binary: bool, target: str,
                         out: Output) -> int:
        # The parser hands out pieces: lists of rows, or Arrow tables of string columns
        # where a run of records could be split without Python (wire/copy.py).
        total, pending, rows, done = 0, [], 0, False
        while not done:
            message = await out.copy_message()
            try:
                if message.kind == COPY_DATA:
                    pieces = parser.feed_pieces(message.body)
                elif message.kind == COPY_DONE:
                    pieces = parser.finish_pieces()
                    done = True
                else:  # CopyFail
                    reason = message.body.rstrip(b"\0").decode(errors="replace")
                    raise PgError(SqlState.QUERY_CANCELED, f"COPY from stdin failed: {reason}")
            except CopyFormatError as exc:
                raise PgError(SqlState.BAD_COPY_FILE_FORMAT, str(exc)) from None
            for piece in pieces:
                if count := (len(piece) if isinstance(piece, list) else piece.num_rows):
                    pending.append(piece)
                    rows += count
            if rows >= COPY_BATCH_ROWS or (done and rows):
                self.check_cancel()
                batch = copy_batch(pending, schema, binary, pieces=True)
                total += await self.executor.insert_batch(target, batch)
                pending, rows = [], 0
        return total

    async def _engine_quietly(self, sql: str) -> None:
        try:
            await self._engine(sql)
        except PgError:
            pass

    def check_cancel(self) -> None:
        if self._cancel_requested:
            raise PgError(SqlState.QUERY_CANCELED, "canceling statement due to user request")

    async def begin_implicit(self) -> None:
        if self.txn == IDLE:
            await self._engine("BEGIN")
            self.txn = IMPLICIT

    async def end_implicit(self, out: Output) -> None:
        if self.txn == IMPLICIT:
            self.txn = IDLE
            try:
                await self._engine("COMMIT")
            except PgError as err:
                out.queue(backend.error_response(err))
            await self.undo_local_settings(out)

    async def after_error(self) -> None:
        if self.txn == EXPLICIT:
            self.txn = FAILED
        elif self.txn == IMPLICIT:
            self.txn = IDLE
            try:
                await self._engine("ROLLBACK")
            except PgError:
                pass  # the engine may already have ended the transaction itself
            await self.undo_local_settings(None)

    async def _transaction_control(self, stmt: Statement, out: Output) -> None:
        kind = stmt.transaction
        if kind == "characteristics":
            out.queue(backend.command_complete("SET"))
            return
        if kind == "savepoint":
            if self.txn != EXPLICIT:
                raise PgError(SqlState.NO_ACTIVE_SQL_TRANSACTION,
                              f"{stmt.command} can only be used in transaction blocks")
            out.queue(backend.command_complete(stmt.command))
            return
        if kind == "begin":
            if self.txn == EXPLICIT:
                out.queue(_warning(SqlState.ACTIVE_SQL_TRANSACTION,
                                   "there is already a transaction in progress"))
            elif self.txn == IMPLICIT:
                self.txn = EXPLICIT  # as PostgreSQL: BEGIN turns the implicit block explicit
            else:
                await self._engine("BEGIN")
                self.txn = EXPLICIT
            out.queue(backend.command_complete(stmt.command))
            return
        if self.txn == IDLE:
            out.queue(_warning(SqlState.NO_ACTIVE_SQL_TRANSACTION,
                               "there is no transaction in progress"))
            out.queue(backend.command_complete(stmt.command))
            return
        failed = self.txn == FAILED
        self.txn = IDLE  # whatever happens next, the engine's transaction is over
        await self.extended.end_transaction()  # portals live only as long as their transaction
        if kind == "commit" and not failed:
            await self._engine("COMMIT")
            await self.undo_local_settings(out)
            out.queue(backend.command_complete("COMMIT"))
        else:
            await self._engine("ROLLBACK")
            await self.undo_local_settings(out)
            out.queue(backend.command_complete("ROLLBACK"))

    def parameter_schema(self, stmt: Statement) -> pa.Schema | None:
        """The result shape of a session-answered statement (SHOW has one text column)."""
        if stmt.command == "SHOW" and settings.is_session_parameter(stmt.parameter):
            return pa.schema([(settings.canonical(stmt.parameter), pa.string())])
        return None

    async def _parameter(self, stmt: Statement, out: Output, describe: bool) -> None:
        name = settings.canonical(stmt.parameter)
        if name not in self.parameters and (stmt.command == "SHOW" or stmt.value is None):
            raise PgError(SqlState.UNDEFINED_OBJECT,
                          f'unrecognized configuration parameter "{stmt.parameter}"')
        if stmt.command == "SHOW":
            schema = self.parameter_schema(stmt)
            if describe:
                out.queue(row_description(schema))
            batch = pa.record_batch([pa.array([self.parameters[name]], pa.string())], schema=schema)
            out.queue(encode(batch, None))
            out.queue(backend.command_complete("SHOW"))
            return
        if stmt.value is None:
            if name in settings.READ_ONLY:
                raise PgError("55P02", f'parameter "{name}" cannot be changed')
            value = self._initial.get(name, "")
        else:
            name, value = settings.validate(stmt.parameter, stmt.value)
        if stmt.local:
            if self.txn == IDLE:
                out.queue(_warning(SqlState.NO_ACTIVE_SQL_TRANSACTION,
                                   "SET LOCAL can only be used in transaction blocks"))
                out.queue(backend.command_complete(stmt.command))
                return
            self._undo_at_end.setdefault(name, self.parameters[name])
        await self._set_parameter(name, value, out)
        out.queue(backend.command_complete(stmt.command))

    async def _set_parameter(self, name: str, value: str, out: Output | None) -> None:
        if name == "TimeZone":
            await self._apply_timezone(value)
        if name == "search_path":
            await self._apply_search_path(value)
        self.parameters[name] = value
        await self.publish_settings()
        if name in settings.REPORTED and out is not None:
            out.queue(backend.parameter_status(name, value))

    async def undo_local_settings(self, out: Output | None) -> None:
        """The transaction ended: SET LOCAL values go back to what they were."""
        undo, self._undo_at_end = self._undo_at_end, {}
        for name, value in undo.items():
            await self._set_parameter(name, value, out)

    async def _apply_search_path(self, value: str) -> None:
        """DuckDB's search_path from PostgreSQL's: public is main, "$user" and schemas
        that do not exist are skipped (PostgreSQL ignores them; DuckDB would refuse)."""
        wanted = settings.search_path_schemas(value)
        result = await self.executor.execute(
            "SELECT schema_name FROM duckdb_schemas() WHERE database_name = current_database()",
            True)
        existing = set()
        async with aclosing(result.batches()) as stream:
            async for batch in stream:
                existing.update(batch.column(0).to_pylist())
        schemas = [s for s in wanted if s in existing] or ["main"]
        path = ",".join('"' + s.replace('"', '""') + '"' for s in schemas)
        await self._engine("SET search_path = '" + path.replace("'", "''") + "'")

    async def _apply_timezone(self, zone: str) -> None:
        try:
            await self._engine(f"SET TimeZone = '{zone}'")
        except PgError:
            raise PgError(SqlState.INVALID_PARAMETER_VALUE,
                          f'invalid value for parameter "TimeZone": "{zone}"') from None

    async def _engine(self, sql: str) -> None:
        await self.extended.park_portals()
        await self.executor.execute(sql, False)

    async def close(self) -> None:
        await self.extended.drop_portals()
        await self.extended.close_statements()
        await self.executor.close()


#: Query ids, unique in this server process (pg_stat_activity.query_id, log lines).
_QUERY_IDS = itertools.count(1)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _warning(sqlstate: str, message: str) -> bytes:
    return backend.notice_response(PgError(sqlstate, message, severity="WARNING"))
