"""The extended query protocol: prepared statements, portals, Parse/Bind/Describe/Execute.

A prepared statement is planned once by DuckDB (``Executor.prepare``) and answers
Describe from that plan without running anything. A portal binds decoded parameter
values to it; Execute streams its rows, stopping after ``max_rows`` with
PortalSuspended and resuming on the next Execute. A portal's open DuckDB result is
"parked" (read into memory) before anything else runs on the session's connection,
because a DuckDB connection streams one result at a time; portals live only as long as
their transaction, so parking is bounded by what the transaction itself fetches.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pyarrow as pa

from duckgres_trio.engine.base import Prepared, is_result_set
from duckgres_trio.errors import PgError, SqlState
from duckgres_trio.frontend.activity import signalled_schema
from duckgres_trio.frontend.results import command_tag, encode
from duckgres_trio.sql import Statement, settings, split_statements
from duckgres_trio.sql.cursors import ALL, CursorCommand
from duckgres_trio.sql.explain import plan_batches, plan_schema
from duckgres_trio.sql.parameters import (DUCKDB_TYPE_FOR_OID, UNTYPED_FALLBACKS, cast_parameters,
                                          null_parameters, untyped_casts)
from duckgres_trio.wire import backend
from duckgres_trio.wire import frontend as msg
from duckgres_trio.wire.params import decode_param
from duckgres_trio.wire.rows import column_formats, row_description
from duckgres_trio.wire.types import pg_type_for

if TYPE_CHECKING:
    from duckgres_trio.frontend.session import Output, Session


@dataclass
class PreparedStatement:
    statement: Statement | None  # None: the empty query
    prepared: Prepared | None  # None: answered by the session, not the engine
    param_oids: tuple[int, ...]
    columns: pa.Schema | None  # None: no rows (NoData)
    #: for a statement that reads the session's settings (current_setting()): the
    #: Session.settings_version it was planned at. DuckDB reads a variable once, when it
    #: plans, so a SET since then means planning it again.
    settings_version: int | None = None


@dataclass
class Portal:
    statement: PreparedStatement
    params: list[object]
    formats: list[int]
    started: bool = False
    done: bool = False
    stream: AsyncIterator[pa.RecordBatch] | None = None
    parked: list[pa.RecordBatch] = field(default_factory=list)
    cursor: bool = False  # DECLAREd: its statement belongs to it alone
    hold: bool = False  # WITH HOLD: outlives its transaction

    async def close(self) -> None:
        if self.stream is not None:
            await self.stream.aclose()
            self.stream = None
        self.parked.clear()


class ExtendedProtocol:
    def __init__(self, session: Session) -> None:
        self._session = session
        self._statements: dict[str, PreparedStatement] = {}
        self._portals: dict[str, Portal] = {}

    # -- Parse ------------------------------------------------------------------------

    async def parse(self, message: msg.Parse, out: Output) -> None:
        if message.name and message.name in self._statements:
            raise PgError("42P05", f'prepared statement "{message.name}" already exists')
        self._session.note_query(message.sql)  # as PostgreSQL reports it at Parse
        statements = split_statements(message.sql)
        if len(statements) > 1:
            raise PgError(SqlState.SYNTAX_ERROR,
                          "cannot insert multiple commands into a prepared statement")
        stmt = statements[0] if statements else None
        self._session.check_not_failed(stmt)
        if stmt is None:
            prepared = PreparedStatement(None, None, message.param_oids, None)
        elif stmt.refusal is not None:
            raise stmt.refusal
        elif stmt.copy is not None:
            raise PgError(SqlState.FEATURE_NOT_SUPPORTED,
                          "COPY is supported in the simple query protocol only")
        elif stmt.transaction is not None or settings.is_session_parameter(stmt.parameter):
            prepared = PreparedStatement(stmt, None, message.param_oids,
                                         self._session.parameter_schema(stmt))
        elif stmt.cursor is not None:
            # FETCH's rows are its cursor's (Describe answers with them); the others none
            cursor = self._portals.get(stmt.cursor.name) if stmt.cursor.kind == "fetch" else None
            prepared = PreparedStatement(stmt, None, message.param_oids,
                                         cursor.statement.columns if cursor else None)
        elif stmt.setup:
            # Several DuckDB statements (CREATE TABLE with SERIAL, DROP of many): DDL,
            # no parameters, no rows; run as one at Execute.
            prepared = PreparedStatement(stmt, None, message.param_oids, None)
        else:
            try:
                prepared = await self._prepare(stmt, message.param_oids)
            except PgError:
                # What DuckDB cannot plan, PostgreSQL would have refused at Execute
                # first if the transaction is read-only.
                self._session.check_writable(stmt)
                raise
        old = self._statements.pop(message.name, None)
        if old is not None:
            await self._release(old)
        self._statements[message.name] = prepared
        out.queue(backend.parse_complete())

    async def _prepare(self, stmt: Statement, declared: tuple[int, ...]) -> PreparedStatement:
        executor = self._session.executor
        await self.park_portals()
        if stmt.activity:
            await self._session.publish_activity()  # the table must exist to plan
        prepared = await executor.prepare(stmt.engine_text)
        if prepared.unresolved:
            unresolved = prepared.unresolved
            await executor.close_prepared(prepared)
            prepared = await self._prepare_with_casts(stmt.engine_text, unresolved, declared)
        cast = dict(stmt.param_types)  # $1::oid[] is oid[], as PostgreSQL infers it
        oids = tuple(
            declared[i] if i < len(declared) and declared[i]
            else cast.get(i + 1) or pg_type_for(f).oid
            for i, f in enumerate(prepared.params)
        )
        columns = prepared.columns
        if prepared.unresolved or any(pa.types.is_null(field.type) for field in columns):
            columns = await self._probe_columns(stmt.engine_text, oids, columns)
        if stmt.signals:
            columns = signalled_schema(columns, stmt.signals)
        if stmt.explain is not None:
            columns = plan_schema(stmt.explain)
        returns_rows = stmt.returns_rows
        if returns_rows is None:
            returns_rows = is_result_set(columns)
        version = (self._session.settings_version
                   if "current_setting" in stmt.engine_text.lower() else None)
        return PreparedStatement(stmt, prepared, oids, columns if returns_rows else None,
                                 version)

    async def _replan_if_settings_changed(self, statement: PreparedStatement) -> None:
        if statement.settings_version in (None, self._session.settings_version):
            return
        fresh = await self._prepare(statement.statement, statement.param_oids)
        await self._session.executor.close_prepared(statement.prepared)
        statement.prepared, statement.settings_version = fresh.prepared, fresh.settings_version

    async def _probe_columns(self, sql: str, oids: tuple[int, ...],
                             columns: pa.Schema) -> pa.Schema:
        """The result columns of a statement DuckDB binds only when it runs: planned
        with NULL parameters of the announced types, never executed."""
        types = {n: DUCKDB_TYPE_FOR_OID[oid] for n, oid in enumerate(oids, 1)
                 if oid in DUCKDB_TYPE_FOR_OID}
        try:
            probe = await self._session.executor.prepare(null_parameters(sql, types))
        except PgError:
            return columns
        await self._session.executor.close_prepared(probe)
        return probe.columns

    async def _prepare_with_casts(self, sql: str, unresolved: list[int],
                                  declared: tuple[int, ...]) -> Prepared:
        """Type the parameters DuckDB could not: as the client declared them, else as
        text, as PostgreSQL does; where text cannot stand (``balance + $1``: DuckDB has
        no unknown-literal type to resolve by context), the first numeric type that
        plans, integers before floats, which is what PostgreSQL resolves such an
        operand to for integer columns."""
        first_error = None
        for fallback in UNTYPED_FALLBACKS:
            try:
                return await self._session.executor.prepare(
                    cast_parameters(sql, untyped_casts(unresolved, declared, fallback)))
            except PgError as err:
                if err.sqlstate not in (SqlState.UNDEFINED_FUNCTION, SqlState.DATATYPE_MISMATCH,
                                        "42846"):
                    raise
                first_error = first_error or err
        raise first_error

    # -- Bind ---------------------------------------------------------------------------

    async def bind(self, message: msg.Bind, out: Output) -> None:
        statement = self._statement(message.statement)
        self._session.check_not_failed(statement.statement)
        if message.portal and message.portal in self._portals:
            raise PgError("42P03", f'portal "{message.portal}" already exists')
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
        old = self._portals.pop(message.portal, None)
        if old is not None:
            await self._discard(old)
        self._portals[message.portal] = Portal(statement, params, result_formats)
        out.queue(backend.bind_complete())

    # -- Describe -------------------------------------------------------------------------

    async def describe(self, message: msg.Describe, out: Output) -> None:
        if message.kind == "S":
            statement = self._statement(message.name)
            out.queue(backend.parameter_description(statement.param_oids))
            columns, formats = statement.columns, None
        else:
            portal = self._portal(message.name)
            columns, formats = portal.statement.columns, portal.formats
        out.queue(row_description(columns, formats) if columns is not None else backend.no_data())

    # -- Execute ----------------------------------------------------------------------------

    async def execute(self, message: msg.Execute, out: Output, *, sync_next: bool) -> None:
        """Run (or resume) a portal. ``sync_next``: the client's Sync is the very next
        message, so this statement alone makes up the implicit transaction."""
        portal = self._portal(message.portal)
        statement = portal.statement
        stmt = statement.statement
        if stmt is None:
            out.queue(backend.empty_query_response())
            return
        if not portal.started:
            portal.started = True
            self._session.check_not_failed(stmt)
            self._session.note_query(stmt.text)
            if stmt.cursor is not None:
                await self.cursor(stmt, portal.params, statement.param_oids, out, describe=False)
                portal.done = True
                return
            if statement.prepared is None:
                if not await self._session.run_session_statement(stmt, out, describe=False):
                    self._session.check_writable(stmt)
                    result = await self._session.run_translated(stmt)
                    out.queue(backend.command_complete(command_tag(stmt.command, result.rowcount)))
                portal.done = True
                return
            self._session.check_writable(stmt)
            if not sync_next:
                await self._session.begin_implicit()
            await self.park_portals()
            if stmt.activity:
                await self._session.publish_activity()
            await self._replan_if_settings_changed(statement)
            result = await self._session.executor.execute_prepared(
                statement.prepared, portal.params, stmt.returns_rows)
            if result.schema is None:
                portal.done = True
                out.queue(backend.command_complete(command_tag(stmt.command, result.rowcount)))
                return
            portal.stream = result.batches()
            if stmt.signals:
                portal.stream = self._session.signal_backends(portal.stream, stmt.signals)
                result.schema = signalled_schema(result.schema, stmt.signals)
            if stmt.explain is not None:
                portal.stream = plan_batches(portal.stream, stmt.explain)
                result.schema = plan_schema(stmt.explain)
            if not _same_shape(result.schema, statement.columns):
                portal.stream = await _as_described(portal.stream, result.schema,
                                                    statement.columns)
        await self._send(portal, message.max_rows, out)

    async def _send(self, portal: Portal, max_rows: int, out: Output) -> None:
        sent, exhausted = await self._emit(portal, max_rows, portal.formats, out)
        if exhausted:
            await portal.close()
            portal.done = True
            out.queue(backend.command_complete(command_tag(portal.statement.statement.command,
                                                           sent)))
        else:
            out.queue(backend.portal_suspended())

    async def _emit(self, portal: Portal, limit: int, formats: list[int] | None,
                    out: Output | None) -> tuple[int, bool]:
        """Send up to ``limit`` (0: every) rows of the portal as DataRows (``out`` None:
        skip them, for MOVE); (rows sent, whether the portal has no rows left)."""
        sent = 0
        while not portal.done and (not limit or sent < limit):
            if portal.parked:
                batch = portal.parked.pop(0)
            elif portal.stream is not None:
                batch = await anext(portal.stream, None)
            else:
                batch = None
            if batch is None:
                return sent, True
            self._session.check_cancel()
            if limit and sent + batch.num_rows > limit:
                take = limit - sent
                portal.parked.insert(0, batch.slice(take))
                batch = batch.slice(0, take)
            if out is not None:
                out.queue(encode(batch, formats, self._session.style))
                await out.flush_if_full()
            sent += batch.num_rows
        return sent, portal.done

    # -- SQL cursors --------------------------------------------------------------------------

    async def cursor(self, stmt: Statement, params: list[object], declared: tuple[int, ...],
                     out: Output, *, describe: bool) -> None:
        """DECLARE / FETCH / MOVE / CLOSE: a cursor is a portal named after it, as in
        PostgreSQL (a driver may Describe it as one). ``describe``: the simple protocol,
        where FETCH sends its RowDescription itself."""
        command = stmt.cursor
        if command.kind == "declare":
            await self._declare(command, params, declared)
        elif command.kind in ("fetch", "move"):
            portal = self._cursor(command.name)
            formats = portal.formats
            if describe and command.kind == "fetch":
                out.queue(row_description(portal.statement.columns, formats))
            count = 0 if command.count == ALL else command.count
            if count or command.count == ALL:
                await self.park_portals(keep=portal)
                sent, _ = await self._emit(portal, count, formats,
                                           out if command.kind == "fetch" else None)
            else:
                sent = 0  # FETCH 0: PostgreSQL refetches the current row; we have none
            out.queue(backend.command_complete(f"{stmt.command} {sent}"))
            return
        elif command.name is None:
            for name in [n for n, p in self._portals.items() if p.cursor]:
                await self._discard(self._portals.pop(name))
        else:
            await self._discard(self._cursor(command.name, pop=True))
        out.queue(backend.command_complete(stmt.command))

    async def _declare(self, command: CursorCommand, params: list[object],
                       declared: tuple[int, ...]) -> None:
        if command.name in self._portals:
            raise PgError("42P03", f'cursor "{command.name}" already exists')
        if not command.hold and not self._session.in_transaction():
            raise PgError(SqlState.NO_ACTIVE_SQL_TRANSACTION,
                          "DECLARE CURSOR can only be used in transaction blocks")
        inner = split_statements(command.query)
        if len(inner) != 1 or inner[0].returns_rows is False or inner[0].cursor is not None:
            raise PgError("42P11", "DECLARE CURSOR needs one query that returns rows")
        prepared = await self._prepare(inner[0], declared)
        if prepared.columns is None:
            await self._release(prepared)
            raise PgError("42P11", "DECLARE CURSOR needs one query that returns rows")
        formats = [1 if command.binary else 0] * len(prepared.columns)
        portal = Portal(prepared, params, formats, started=True, cursor=True, hold=command.hold)
        self._portals[command.name] = portal
        await self.park_portals(keep=portal)
        result = await self._session.executor.execute_prepared(prepared.prepared, params, True)
        portal.stream = result.batches()
        if not _same_shape(result.schema, prepared.columns):
            portal.stream = await _as_described(portal.stream, result.schema, prepared.columns)

    def _cursor(self, name: str, *, pop: bool = False) -> Portal:
        portal = self._portals.get(name)
        if portal is None or not portal.cursor and name == "":
            raise PgError("34000", f'cursor "{name}" does not exist')
        if pop:
            del self._portals[name]
        return portal

    # -- Close, Sync --------------------------------------------------------------------------

    async def close(self, message: msg.Close, out: Output) -> None:
        if message.kind == "S":
            statement = self._statements.pop(message.name, None)
            if statement is not None:
                await self._release(statement)
        else:
            portal = self._portals.pop(message.name, None)
            if portal is not None:
                await self._discard(portal)
        out.queue(backend.close_complete())

    async def sync(self, out: Output) -> None:
        await self._session.end_implicit(out)
        if self._session.status == b"I":
            await self.end_transaction()

    # -- housekeeping -------------------------------------------------------------------------

    async def park_portals(self, keep: Portal | None = None) -> None:
        """Read every open portal's remaining rows into memory (but ``keep``'s): the
        engine connection is about to run something else, which would end their DuckDB
        results. A cursor FETCHed with nothing in between is never parked: its memory
        stays one batch."""
        for portal in self._portals.values():
            if portal.stream is not None and portal is not keep:
                async for batch in portal.stream:
                    portal.parked.append(batch)
                portal.stream = None

    async def drop_portals(self) -> None:
        portals, self._portals = self._portals, {}
        for portal in portals.values():
            await self._discard(portal)

    async def end_transaction(self) -> None:
        """The transaction is over, and its portals with it, except WITH HOLD cursors,
        which keep their remaining rows (read now, as PostgreSQL materialises them)."""
        portals, self._portals = self._portals, {}
        for name, portal in portals.items():
            if portal.hold and not portal.done:
                self._portals[name] = portal
            else:
                await self._discard(portal)
        await self.park_portals()

    async def drop_unnamed_portal(self) -> None:
        portal = self._portals.pop("", None)
        if portal is not None:
            await self._discard(portal)

    async def _discard(self, portal: Portal) -> None:
        await portal.close()
        if portal.cursor:
            await self._release(portal.statement)

    async def close_statements(self) -> None:
        statements, self._statements = self._statements, {}
        for statement in statements.values():
            await self._release(statement)

    async def _release(self, statement: PreparedStatement) -> None:
        for name, portal in list(self._portals.items()):
            if portal.statement is statement:
                await portal.close()
                del self._portals[name]
        if statement.prepared is not None:
            await self._session.executor.close_prepared(statement.prepared)

    def _statement(self, name: str) -> PreparedStatement:
        statement = self._statements.get(name)
        if statement is None:
            raise PgError("26000", f'prepared statement "{name}" does not exist')
        return statement

    def _portal(self, name: str) -> Portal:
        portal = self._portals.get(name)
        if portal is None:
            raise PgError("34000", f'portal "{name}" does not exist')
        return portal


async def _as_described(stream: AsyncIterator[pa.RecordBatch], actual: pa.Schema,
                        described: pa.Schema | None) -> AsyncIterator[pa.RecordBatch]:
    """The result in the shape Describe announced. DuckDB re-plans a statement when its
    parameter values' types differ (a NULL binds as the NULL type), which can change a
    column's type but not its meaning: cast back. Different columns mean the tables
    changed under the statement: PostgreSQL's error, on which drivers re-prepare."""
    if described is None or actual.names != described.names:
        await stream.aclose()
        raise PgError(SqlState.FEATURE_NOT_SUPPORTED, "cached plan must not change result type")

    async def cast() -> AsyncIterator[pa.RecordBatch]:
        async with aclosing(stream):
            async for batch in stream:
                try:
                    yield batch.cast(described)
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                    raise PgError(SqlState.FEATURE_NOT_SUPPORTED,
                                  "cached plan must not change result type") from None

    return cast()


def _same_shape(actual: pa.Schema, described: pa.Schema | None) -> bool:
    """Same column names and PostgreSQL types (a timestamptz's zone may differ: it
    follows the session's TimeZone, not the plan)."""
    if described is None:
        return False
    if actual.equals(described):
        return True
    return actual.names == described.names and all(
        pg_type_for(a) == pg_type_for(d) for a, d in zip(actual, described))


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


