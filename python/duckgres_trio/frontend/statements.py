"""The session's prepared statements and portals: Parse's planning, Bind's portals,
Execute's rows, Close and Sync; SQL PREPARE / EXECUTE / DEALLOCATE and SQL cursors.

A prepared statement is planned once by DuckDB (``Executor.prepare``) and answers
Describe from that plan without running anything. A portal binds decoded parameter
values to it; Execute streams its rows, stopping after ``max_rows`` with
PortalSuspended and resuming on the next Execute. Statements and portals are kept,
parked and ended by the session's ``frontend.portals.Portals`` (portals live only as
long as their transaction, so parking is bounded by what the transaction itself
fetches).

This is the session's API for the extended protocol (``frontend/extended.py`` calls it,
one call per message; nothing here calls the protocol back). ``PreparedPath`` is a base
class of ``Session``: it uses the session's transaction state and checks as its own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import aclosing

import pyarrow as pa

from duckgres_trio.engine.base import Prepared, Result, is_result_set
from duckgres_trio.errors import PgError, SqlState
from duckgres_trio.frontend import bpchar as char_semantics
from duckgres_trio.frontend import jsontypes
from duckgres_trio.frontend.activity import signalled_schema
from duckgres_trio.frontend.origins import blank_padded, padded, with_char_types
from duckgres_trio.frontend.portals import Portal, PreparedStatement
from duckgres_trio.frontend.results import Output, command_tag, encode
from duckgres_trio.frontend.secrets import is_persistent_secret as persistent_secret
from duckgres_trio.sql import Statement, settings, split_statements
from duckgres_trio.sql.cursors import ALL, CursorCommand
from duckgres_trio.sql.explain import (EXPLAINABLE, Explain, duckdb_explain, plan_batches,
                                       plan_schema)
from duckgres_trio.sql.lexer import Kind, tokenize
from duckgres_trio.sql.prepared import PreparedCommand
from duckgres_trio.sql.parameters import (DUCKDB_TYPE_FOR_OID, UNTYPED_FALLBACKS, cast_parameters,
                                          null_parameters, untyped_casts)
from duckgres_trio.wire import backend
from duckgres_trio.wire import frontend as msg
from duckgres_trio.wire.params import NUMERIC, check_numeric_params
from duckgres_trio.wire.rows import row_description
from duckgres_trio.wire.types import REG_FIELDS, SCALED_NUMERIC_FIELDS, pg_type_for


class PreparedPath:
    """The session's statements and portals: what the extended protocol's messages, SQL
    PREPARE/EXECUTE/DEALLOCATE and SQL cursors do to them. A part of ``Session``
    (its base class; frontend/session.py), kept in a module of its own: it uses the
    session's state and checks as its own, and calls nothing above the session."""

    # -- Parse ------------------------------------------------------------------------

    async def parse_statement(self, message: msg.Parse) -> None:
        """Parse: plan the statement (or keep the plan it has) under its name."""
        if message.name and message.name in self.portals.statements:
            raise PgError("42P05", f'prepared statement "{message.name}" already exists')
        self.note_query(message.sql)  # as PostgreSQL reports it at Parse
        state = self.plan_state()
        old = self.portals.statements.get(message.name)
        if old is not None and old.reusable(message, state):
            # the same statement planned in the same catalog and settings: as it is
            self.check_not_failed(old.statement)
            await self.portals.unbind(old)  # its portals end, as when it is replaced
            old.prepare_time = _now()
            return
        statements = split_statements(message.sql)
        if len(statements) > 1:
            raise PgError(SqlState.SYNTAX_ERROR,
                          "cannot insert multiple commands into a prepared statement")
        stmt = statements[0] if statements else None
        self.check_not_failed(stmt)
        if stmt is None:
            prepared = PreparedStatement(None, None, message.param_oids, None)
        elif stmt.refusal is not None:
            raise stmt.refusal
        elif stmt.copy is not None:
            raise PgError(SqlState.FEATURE_NOT_SUPPORTED,
                          "COPY is supported in the simple query protocol only")
        elif stmt.transaction is not None or stmt.database is not None \
                or settings.is_session_parameter(stmt.parameter) \
                or stmt.reset is not None or stmt.notification is not None \
                or persistent_secret(stmt) or stmt.command == "CREATE SECRET":
            prepared = PreparedStatement(stmt, None, message.param_oids,
                                         self.parameter_schema(stmt))
        elif stmt.prepared is not None:
            # EXECUTE's parameters are its arguments' ($n in them: an error when it runs,
            # as in PostgreSQL); its rows its statement's (``_statement``)
            execute = stmt.prepared.kind == "execute"
            oids = _all_params(stmt.text, message.param_oids) if execute else message.param_oids
            columns = plan_schema(stmt.explain) if stmt.explain is not None else None
            prepared = PreparedStatement(stmt, None, oids, columns)
        elif stmt.cursor is not None:
            # FETCH's rows are its cursor's (Describe answers with them); the others none
            cursor = self.portals.portals.get(stmt.cursor.name) if stmt.cursor.kind == "fetch" else None
            prepared = PreparedStatement(stmt, None, message.param_oids,
                                         cursor.statement.columns if cursor else None)
        elif stmt.setup or stmt.notices:
            # Several DuckDB statements (CREATE TABLE with SERIAL, DROP of many), or DDL
            # with WARNINGs to send (sql.lake_ddl): no parameters, no rows; run as one
            # at Execute.
            prepared = PreparedStatement(stmt, None, message.param_oids, None)
        else:
            try:
                prepared = await self._prepare(stmt, message.param_oids)
            except PgError:
                # What DuckDB cannot plan, PostgreSQL would have refused at Execute
                # first if the transaction is read-only.
                self.check_writable(stmt)
                raise
            if not stmt.activity:  # pg_stat_activity's snapshot is taken when planning
                prepared.declared, prepared.plan_state = message.param_oids, state
        old = self.portals.statements.pop(message.name, None)
        if old is not None:
            await self.portals.release(old)
        prepared.text, prepared.prepare_time = message.sql, _now()
        self.portals.statements[message.name] = prepared

    async def _prepare(self, stmt: Statement, declared: tuple[int, ...]) -> PreparedStatement:
        executor = self.executor
        if self.in_transaction():
            self.planned_in_block = True  # DuckDB's snapshot starts now
        await self.portals.park()
        stmt = await char_semantics.with_char_semantics(self, stmt, declared)
        if stmt.activity:
            await self.publish_activity()  # the table must exist to plan
        origins = await self.column_origins(stmt)
        try:
            prepared = await executor.prepare(stmt.engine_text)
        except PgError as err:
            raise stmt.located(err, stmt.engine_text) from None
        with_casts = bool(prepared.unresolved)
        if with_casts:
            unresolved = prepared.unresolved
            await executor.close_prepared(prepared)
            try:
                prepared = await self._prepare_with_casts(stmt.engine_text, unresolved, declared)
            except PgError as err:  # DuckDB saw the text with casts: no position
                raise stmt.located(err, "") from None
        cast = dict(stmt.param_types)  # $1::oid[] is oid[], as PostgreSQL infers it
        oids = tuple(
            declared[i] if i < len(declared) and declared[i]
            else cast.get(i + 1) or pg_type_for(f).oid
            for i, f in enumerate(prepared.params)
        )
        columns = prepared.columns
        if prepared.unresolved or any(pa.types.is_null(field.type) for field in columns):
            columns = await self._probe_columns(stmt.engine_text, oids, columns)
        json_types = await jsontypes.resolve(executor, stmt.json_types, oids)
        columns = jsontypes.retyped(columns, json_types)
        if stmt.signals:
            columns = signalled_schema(columns, stmt.signals)
        if stmt.explain is not None:
            columns = plan_schema(stmt.explain)
        columns = with_char_types(self.described(columns, origins), stmt.char_types)
        returns_rows = stmt.returns_rows
        if returns_rows is None:
            returns_rows = is_result_set(columns)
        version = (self.settings_version
                   if "current_setting" in stmt.engine_text.lower() else None)
        return PreparedStatement(stmt, prepared, oids, columns if returns_rows else None,
                                 cast=with_casts, settings_version=version,
                                 json_types=json_types)

    async def _replan_if_settings_changed(self, statement: PreparedStatement) -> None:
        if statement.settings_version in (None, self.settings_version):
            return
        fresh = await self._prepare(statement.statement, statement.param_oids)
        await self.executor.close_prepared(statement.prepared)
        statement.prepared, statement.settings_version = fresh.prepared, fresh.settings_version

    async def _probe_columns(self, sql: str, oids: tuple[int, ...],
                             columns: pa.Schema) -> pa.Schema:
        """The result columns of a statement DuckDB binds only when it runs: planned
        with NULL parameters of the announced types, never executed."""
        types = {n: DUCKDB_TYPE_FOR_OID[oid] for n, oid in enumerate(oids, 1)
                 if oid in DUCKDB_TYPE_FOR_OID}
        for subquery in (True, False):
            try:
                probe = await self.executor.prepare(
                    null_parameters(sql, types, subquery=subquery))
            except PgError:
                continue
            await self.executor.close_prepared(probe)
            return probe.columns
        return columns

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
                return await self.executor.prepare(
                    cast_parameters(sql, untyped_casts(unresolved, declared, fallback)))
            except PgError as err:
                if err.sqlstate not in (SqlState.UNDEFINED_FUNCTION, SqlState.DATATYPE_MISMATCH,
                                        "42846"):
                    raise
                first_error = first_error or err
        raise first_error

    # -- Bind ---------------------------------------------------------------------------

    def bindable(self, statement_name: str, portal_name: str) -> PreparedStatement:
        """Bind's statement, once Bind may make a portal of it (its parameters are
        decoded by the protocol: frontend/extended.py)."""
        statement = self.prepared_statement(statement_name)
        self.check_not_failed(statement.statement)
        if portal_name and portal_name in self.portals.portals:
            raise PgError("42P03", f'portal "{portal_name}" already exists')
        return statement

    async def bind_portal(self, name: str, statement: PreparedStatement, params: list[object],
                          result_formats: list[int]) -> None:
        """The portal ``name`` of ``statement`` with these parameter values (replacing
        the unnamed one)."""
        if statement.prepared is not None:
            check_numeric_params(params, statement.prepared.params)
        old = self.portals.portals.pop(name, None)
        if old is not None:
            await self.portals.discard(old)
        self.portals.portals[name] = Portal(statement, params, result_formats)

    def described_target(self, kind: str, name: str
                         ) -> tuple[PreparedStatement, list[int] | None]:
        """Describe's statement (``kind`` "S") or portal's statement and its formats."""
        if kind == "S":
            return self.prepared_statement(name), None
        portal = self.named_portal(name)
        return portal.statement, portal.formats

    # -- Execute ----------------------------------------------------------------------------

    async def execute_portal(self, name: str, max_rows: int, out: Output, *,
                             sync_next: bool) -> None:
        """Run (or resume) a portal, timed as a statement (``Session.timed``).
        ``sync_next``: the client's Sync is the very next message, so this statement
        alone makes up the implicit transaction."""
        portal = self.named_portal(name)
        try:
            await self.timed(self._execute(portal, max_rows, out, sync_next), out)
        except PgError:
            # planned again at its next Parse: the plan may be what failed (the table
            # changed where the sessions do not see DDL: cached plan must not change)
            portal.statement.plan_state = None
            raise

    async def _execute(self, portal: Portal, max_rows: int, out: Output,
                       sync_next: bool) -> None:
        statement = portal.statement
        stmt = statement.statement
        if stmt is None:
            out.queue(backend.empty_query_response())
            return
        if not portal.started:
            portal.started = True
            self.check_not_failed(stmt)
            self.note_query(stmt.text)
            if stmt.cursor is not None:
                await self.cursor(stmt, portal.params, statement.param_oids, out, describe=False)
                portal.done = True
                return
            if stmt.database is not None:
                await self.database_command(
                    stmt, out, in_block=self.in_transaction())
                portal.done = True
                return
            command = stmt.prepared
            if command is not None and command.kind == "execute":
                if not sync_next:
                    await self.begin_implicit()
                target, result = await self._execute_sql(command, stmt.explain)
                portal.command = stmt.command if stmt.explain else target.statement.command
                if result.schema is None:
                    portal.done = True
                    out.queue(backend.command_complete(command_tag(portal.command,
                                                                   result.rowcount)))
                    return
                portal.stream = await _in_shape(result, statement.columns)
                await self._send(portal, max_rows, out)
                return
            if statement.prepared is None:
                if command is not None:
                    await self.prepared_command(stmt, out, describe=False,
                                                source=statement.text)
                elif not await self.run_session_statement(stmt, out, describe=False,
                                                                   implicit=not sync_next):
                    self.check_writable(stmt)
                    await self.take_turn(stmt)
                    self.queue_notices(stmt, out)
                    result = await self.run_translated(stmt)
                    out.queue(backend.command_complete(command_tag(stmt.command, result.rowcount)))
                portal.done = True
                return
            if not sync_next:
                await self.begin_implicit()
            result = await self._run(statement, portal.params)
            if result.schema is None:
                portal.done = True
                out.queue(backend.command_complete(command_tag(stmt.command, result.rowcount)))
                return
            portal.stream = await _in_shape(result, statement.columns, statement.padding())
        try:
            await self._send(portal, max_rows, out)
        except PgError as err:
            raise stmt.located(err, "") from None

    async def _run(self, statement: PreparedStatement, params: list[object]):
        """Execute a prepared statement (its set_config / pg_cancel_backend columns
        carried out); its result."""
        stmt = statement.statement
        self.check_writable(stmt)
        await self.take_turn(stmt)
        await self.portals.park()
        if stmt.activity:
            await self.publish_activity()
        # PREPARE may declare more parameters than its statement uses
        params = params[:len(statement.prepared.params)]
        await self._replan_if_settings_changed(statement)
        try:
            result = await self.executor.execute_prepared(
                statement.prepared, params, stmt.returns_rows)
        except PgError as err:
            raise stmt.located(err, "" if statement.cast else stmt.engine_text) from None
        result = jsontypes.retyped_result(result, statement.json_types)
        return self.finish_result(stmt, result)

    def finish_result(self, stmt: Statement, result: Result) -> Result:
        """What a statement's own result becomes for the client, in both protocols:
        pg_cancel_backend()/pg_terminate_backend() calls signal as their rows are read,
        and EXPLAIN's rows become PostgreSQL's plan text."""
        if stmt.signals and result.schema is not None:
            result = Result(signalled_schema(result.schema, stmt.signals), result.rowcount,
                            self.signal_backends(result.batches(), stmt.signals))
        if stmt.explain is not None and result.schema is not None:
            result = Result(plan_schema(stmt.explain), result.rowcount,
                            plan_batches(result.batches(), stmt.explain))
        return result

    async def _send(self, portal: Portal, max_rows: int, out: Output) -> None:
        sent, exhausted = await self._emit(portal, max_rows, portal.formats, out)
        if exhausted:
            await portal.close()
            portal.done = True
            command = portal.command or portal.statement.statement.command
            out.queue(backend.command_complete(command_tag(command, sent)))
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
            self.check_cancel()
            if limit and sent + batch.num_rows > limit:
                take = limit - sent
                portal.parked.insert(0, batch.slice(take))
                batch = batch.slice(0, take)
            if out is not None:
                out.queue(encode(batch, formats, self.style, portal.statement))
                await out.flush_if_full()
            sent += batch.num_rows
        return sent, portal.done

    # -- SQL prepared statements ------------------------------------------------------------

    async def prepared_command(self, stmt: Statement, out: Output, *, describe: bool,
                               source: str) -> None:
        """PREPARE / EXECUTE / DEALLOCATE, on the statements Parse makes: PostgreSQL
        keeps both in one namespace. ``describe``: the simple protocol, where EXECUTE
        sends its RowDescription. ``source``: the Query's or the Parse's text, which
        pg_prepared_statements shows for a PREPARE, as PostgreSQL does."""
        command = stmt.prepared
        if command.kind == "prepare":
            await self._prepare_sql(command.name, command.query, command.param_oids, source)
        elif command.kind == "deallocate":
            await self.portals.deallocate(command.name)
        else:
            target, result = await self._execute_sql(command, stmt.explain)
            tag = stmt.command if stmt.explain else target.statement.command
            if result.schema is None:
                out.queue(backend.command_complete(command_tag(tag, result.rowcount)))
                return
            columns = result.schema if stmt.explain else target.columns
            if describe:
                out.queue(row_description(columns))
            rows = await self.send_rows(await _in_shape(result, columns), None, out)
            out.queue(backend.command_complete(command_tag(tag, rows)))
            return
        out.queue(backend.command_complete(stmt.command))

    async def _prepare_sql(self, name: str, query: str, declared: tuple[int, ...],
                           text: str) -> None:
        if name in self.portals.statements:
            raise PgError("42P05", f'prepared statement "{name}" already exists')
        inner = split_statements(query)
        if len(inner) != 1:
            raise PgError(SqlState.SYNTAX_ERROR, "syntax error at or near \";\"")
        stmt = inner[0]
        if stmt.refusal is not None:
            raise stmt.refusal
        if stmt.command not in _PREPARABLE or stmt.prepared is not None or stmt.setup:
            raise PgError(SqlState.SYNTAX_ERROR,
                          f'syntax error at or near "{query.split(None, 1)[0]}"')
        prepared = await self._prepare(stmt, declared)
        if len(declared) > len(prepared.param_oids):
            unused = declared[len(prepared.param_oids):]
            if 0 in unused:  # declared unknown and not used: nothing to infer it from
                await self.portals.release(prepared)
                number = len(prepared.param_oids) + unused.index(0) + 1
                raise PgError(SqlState.INDETERMINATE_DATATYPE,
                              f"could not determine data type of parameter ${number}")
            prepared.param_oids += unused
        prepared.text, prepared.prepare_time, prepared.from_sql = text, _now(), True
        self.portals.statements[name] = prepared

    async def _execute_sql(self, command: PreparedCommand, explain: Explain | None = None
                           ) -> tuple[PreparedStatement, Result]:
        """EXECUTE name (args): the statement and its result (``explain``: its plan).
        The arguments are evaluated first, each cast to its parameter's type as
        PostgreSQL coerces them, then bound like Bind values (never pasted into the
        statement)."""
        target = self.prepared_statement(command.name)
        expected = len(target.param_oids)
        if len(command.args) != expected:
            raise PgError(SqlState.SYNTAX_ERROR,
                          f'wrong number of parameters for prepared statement "{command.name}"',
                          detail=f"Expected {expected} parameters but got {len(command.args)}.")
        if target.prepared is None:  # the empty query, or one answered by the session
            raise PgError(SqlState.FEATURE_NOT_SUPPORTED,
                          f'prepared statement "{command.name}" cannot be run by EXECUTE')
        values = await self._arguments(command.args, target.param_oids)
        if explain is None:
            return target, await self._run(target, values)
        return target, await self._explain(target.statement, values, explain)

    async def _explain(self, stmt: Statement, values: list[object], explain: Explain) -> Result:
        """EXPLAIN EXECUTE: the plan of the prepared statement's text with these values.
        The plan is a few rows, read whole so that its DuckDB statement is closed here."""
        if stmt.command not in EXPLAINABLE:
            raise PgError(SqlState.SYNTAX_ERROR,
                          f'syntax error at or near "{stmt.text.split(None, 1)[0]}"')
        executor = self.executor
        plan = await executor.prepare(duckdb_explain(explain, stmt.engine_text))
        try:
            result = await executor.execute_prepared(plan, values, True)
            batches = [batch async for batch in plan_batches(result.batches(), explain)]
        finally:
            await executor.close_prepared(plan)
        return Result(plan_schema(explain), None, _replayed(batches))

    async def _arguments(self, args: tuple[str, ...], oids: tuple[int, ...]) -> list[object]:
        if not args:
            return []
        for arg in args:
            # PostgreSQL gives a utility statement no parameters: EXECUTE's arguments
            # cannot use the Bind values of an extended-protocol EXECUTE
            param = next((t for t in tokenize(arg) if t.kind is Kind.PARAM), None)
            if param is not None:
                raise PgError("42P02", f"there is no parameter {param.value}")
        # numeric as the client wrote it: the translation refuses a constant that bare
        # numeric's DECIMAL(38,10) would round (wire.unbounded), as Bind does
        casts = ["numeric" if oid == NUMERIC else DUCKDB_TYPE_FOR_OID.get(oid) for oid in oids]
        select = split_statements("SELECT " + ", ".join(
            f"CAST(({arg}) AS {cast})" if cast else f"({arg})" for arg, cast in zip(args, casts)))
        if len(select) != 1:
            raise PgError(SqlState.SYNTAX_ERROR, "syntax error in EXECUTE arguments")
        result = await self.run_translated(select[0])
        batches = [batch async for batch in result.batches()]
        row = next(batch for batch in batches if batch.num_rows).slice(0, 1)
        return [_bindable(column.to_pylist()[0]) for column in row.columns]

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
                await self.portals.park(keep=portal)
                sent, _ = await self._emit(portal, count, formats,
                                           out if command.kind == "fetch" else None)
            else:
                sent = 0  # FETCH 0: PostgreSQL refetches the current row; we have none
            out.queue(backend.command_complete(f"{stmt.command} {sent}"))
            return
        elif command.name is None:
            for name in [n for n, p in self.portals.portals.items() if p.cursor]:
                await self.portals.discard(self.portals.portals.pop(name))
        else:
            await self.portals.discard(self._cursor(command.name, pop=True))
        out.queue(backend.command_complete(stmt.command))

    async def _declare(self, command: CursorCommand, params: list[object],
                       declared: tuple[int, ...]) -> None:
        if command.name in self.portals.portals:
            raise PgError("42P03", f'cursor "{command.name}" already exists')
        if not command.hold and not self.in_transaction():
            raise PgError(SqlState.NO_ACTIVE_SQL_TRANSACTION,
                          "DECLARE CURSOR can only be used in transaction blocks")
        inner = split_statements(command.query)
        if len(inner) != 1 or inner[0].returns_rows is False or inner[0].cursor is not None:
            raise PgError("42P11", "DECLARE CURSOR needs one query that returns rows")
        prepared = await self._prepare(inner[0], declared)
        if prepared.columns is None:
            await self.portals.release(prepared)
            raise PgError("42P11", "DECLARE CURSOR needs one query that returns rows")
        formats = [1 if command.binary else 0] * len(prepared.columns)
        portal = Portal(prepared, params, formats, started=True, cursor=True, hold=command.hold)
        self.portals.portals[command.name] = portal
        await self.portals.park(keep=portal)
        result = await self.executor.execute_prepared(prepared.prepared, params, True)
        portal.stream = await _in_shape(result, prepared.columns)

    def _cursor(self, name: str, *, pop: bool = False) -> Portal:
        portal = self.portals.portals.get(name)
        if portal is None or not portal.cursor and name == "":
            raise PgError("34000", f'cursor "{name}" does not exist')
        if pop:
            del self.portals.portals[name]
        return portal

    # -- Close, Sync --------------------------------------------------------------------------

    async def close_statement(self, name: str) -> None:
        statement = self.portals.statements.pop(name, None)
        if statement is not None:
            await self.portals.release(statement)

    async def close_portal(self, name: str) -> None:
        portal = self.portals.portals.pop(name, None)
        if portal is not None:
            await self.portals.discard(portal)

    async def sync(self, out: Output) -> None:
        """Sync: the implicit transaction commits; outside a block, portals end."""
        await self.end_implicit(out)
        if self.status == b"I":
            await self.portals.end_transaction()

    def prepared_statement(self, name: str) -> PreparedStatement:
        statement = self.portals.statements.get(name)
        if statement is None:
            raise PgError("26000", f'prepared statement "{name}" does not exist')
        command = statement.statement.prepared if statement.statement is not None else None
        if command is not None and command.kind == "execute" \
                and statement.statement.explain is None:
            # EXECUTE's rows are those of its statement as it is now (PREPAREd after
            # this Parse, perhaps, as in a pipeline)
            target = self.portals.statements.get(command.name)
            statement.columns = target.columns if target is not None else None
        return statement

    def named_portal(self, name: str) -> Portal:
        portal = self.portals.portals.get(name)
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


async def _replayed(batches: list[pa.RecordBatch]) -> AsyncIterator[pa.RecordBatch]:
    for batch in batches:
        yield batch


async def _in_shape(result: Result, described: pa.Schema | None,
                    widths: dict[int, int] | None = None) -> AsyncIterator[pa.RecordBatch]:
    """A statement's rows, in the shape Describe announced for it (char(n) columns
    blank-padded: frontend/origins.py; ``widths``: theirs, if known)."""
    if _same_shape(result.schema, described):
        stream = result.batches()
    else:
        stream = await _as_described(result.batches(), result.schema, described)
    if widths is None:
        widths = blank_padded(described)
    return padded(stream, widths) if widths else stream


#: What PREPARE takes (PostgreSQL's PreparableStmt; DuckDB's FROM-first, PIVOT, ...
#: are SELECTs).
_PREPARABLE = frozenset({"SELECT", "INSERT", "UPDATE", "DELETE", "MERGE"})


def _all_params(sql: str, declared: tuple[int, ...]) -> tuple[int, ...]:
    """The declared parameter types, 0 (unknown) for each further ``$n`` the text uses."""
    numbers = [int(t.value[1:]) for t in tokenize(sql) if t.kind is Kind.PARAM]
    return declared + (0,) * (max(numbers, default=0) - len(declared))


def _bindable(value: object) -> object:
    """An argument's value as Bind decodes one: an interval as its text (Arrow gives a
    MonthDayNano tuple), lists element by element."""
    if isinstance(value, list):
        return [_bindable(v) for v in value]
    if isinstance(value, pa.MonthDayNano):
        months, days, nanoseconds = value
        return f"{months} months {days} days {nanoseconds // 1000} microseconds"
    if isinstance(value, dict) and len(value) == 2:
        # a select-list reg* value or numeric constant (wire.types: a STRUCT whose first
        # field is the value itself, the OID or the number)
        first = next(iter(value))
        if first in REG_FIELDS or first == SCALED_NUMERIC_FIELDS[0]:
            return value[first]
    return value


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _same_shape(actual: pa.Schema, described: pa.Schema | None) -> bool:
    """Same column names and PostgreSQL types (a timestamptz's zone may differ: it
    follows the session's TimeZone, not the plan)."""
    if described is None:
        return False
    if actual.equals(described):
        return True
    return actual.names == described.names and all(
        pg_type_for(a) == pg_type_for(d) for a, d in zip(actual, described))
