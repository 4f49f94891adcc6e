"""A client session's state after startup: its parameters, its transaction, its engine.

Both query protocols run statements through here. The simple protocol is in this
module (split the Query, run each statement, one implicit transaction around a
multi-statement Query); the session's statements and portals, which the extended
protocol (``extended``, above this module) drives, are in ``statements``, a base class. PostgreSQL's transaction semantics live here once: after an error
inside BEGIN ... every statement fails with 25P02 until ROLLBACK.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import aclosing, asynccontextmanager
from typing import Protocol, TypeVar

import pyarrow as pa
import trio

from duckgres_trio import __version__, logs, metrics
from duckgres_trio.engine import pg_catalog as catalog
from duckgres_trio.engine.base import Executor, Result
from duckgres_trio.errors import PgError, SqlState
from duckgres_trio.frontend.activity import Activity, signalled_schema, snapshot
from duckgres_trio.frontend import secrets as persistent
from duckgres_trio.frontend import bpchar as char_semantics
from duckgres_trio.frontend import jsontypes
from duckgres_trio.frontend.notify import Notifier
from duckgres_trio.frontend.portals import Portals
from duckgres_trio.frontend.turns import TurnBusy, Turns
from duckgres_trio.frontend.origins import (Catalogs, Table, annotate, blank_padded,
                                            find_tables, padded, with_char_types)
from duckgres_trio.frontend.results import Output, command_tag, encode, encoding_errors
from duckgres_trio.frontend.statements import PreparedPath
from duckgres_trio.frontend.text_plans import TextPlans
from duckgres_trio.sql import Statement, settings, split_statements
from duckgres_trio.sql.conflicts import lock_takes_turn
from duckgres_trio.sql.copy import CopyStatement, parse_copy
from duckgres_trio.sql.notifications import MAX_PAYLOAD
from duckgres_trio.sql import secrets as secret_ddl
from duckgres_trio.sql.origins import Relation, Sources, column_sources
from duckgres_trio.sql.redaction import redacted_error
from duckgres_trio.sql.unsupported import lock_relations
from duckgres_trio.wire import backend
from duckgres_trio.frontend.copy_in import COPY_BATCH_ROWS, MAX_COPY_FIELD, copy_batch
from duckgres_trio.wire.copy import (
    BinaryCopyInParser,
    CopyFormatError,
    CopyInParser,
    CopyOut,
)

COPY_DATA, COPY_DONE = ord("d"), ord("c")
from duckgres_trio.wire.rows import RowEncoder, row_description
from duckgres_trio.wire.text import OutputStyle

SERVER_VERSION = f"15.0 (duckgres-trio {__version__})"

T = TypeVar("T")

#: How long a closing session holding a write turn may take to roll back.
ROLLBACK_ON_CLOSE_SECONDS = 5.0

# Transaction states.
IDLE, EXPLICIT, IMPLICIT, FAILED = "idle", "explicit", "implicit", "failed"


class Backends(Protocol):
    """The server's view of every session, for pg_stat_activity and the functions
    that signal other backends; and the databases they are on (CREATE/DROP DATABASE,
    which must know who else uses a database)."""

    def activities(self) -> list[Activity]: ...

    def signal(self, pid: int, kind: str) -> bool: ...

    async def create_database(self, name: str) -> None: ...

    async def drop_database(self, name: str, *, current: str, pid: int, force: bool) -> bool: ...


#: The commands whose result columns may name a table's (RETURNING: sql/origins.py).
_DESCRIBED = frozenset(("SELECT", "INSERT", "UPDATE", "DELETE"))

#: A statement's Sources and its relations' Tables (frontend/origins.py), or None.
Origins = tuple[Sources, list[Table | None]] | None

#: CREATE of a temporary object (or of one in pg_temp / temp): named so in the part
#: before the first parenthesis (a false match only costs the session the shared cache).
_TEMPORARY = re.compile(r"CREATE\s[^(]*?\b(TEMP|TEMPORARY|pg_temp\w*)\b", re.IGNORECASE)

#: First words of statements that may change a table's columns (or what a name means).
_CATALOG_WORDS = ("CREATE", "ALTER", "DROP", "IMPORT", "ATTACH", "DETACH", "USE")


class Session(PreparedPath):
    def __init__(self, executor: Executor, user: str, parameters: dict[str, str],
                 pid: int = 0, *, activity: Activity | None = None,
                 backends: Backends | None = None, notifier: Notifier | None = None,
                 roles: dict[str, int] | None = None,
                 catalogs: Catalogs | None = None, turns: Turns | None = None) -> None:
        self.executor = executor
        #: the server's write turns (frontend/turns.py); None: write_turns off
        self.turns = turns
        self._has_turn = False
        self._turn_wait: trio.CancelScope | None = None  # waiting for the turn
        # the block has planned statements (Parse) but run none on the engine yet
        self.planned_in_block = False
        self._block_fresh = False
        # result columns' origins (frontend/origins.py): the server's cache, the catalog
        # generation this session's snapshot has, DDL not yet ended, temporary objects
        self.catalogs = catalogs or Catalogs()
        self._snapshot_generation = 0
        self._catalog_dirty = False
        self._private_catalog = False
        self._own_catalog = Catalogs(limit=256)  # what it finds while not ``shared``
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
            "default_transaction_isolation": "read committed",
            "default_transaction_deferrable": "off",
            "transaction_read_only": "off",
            "transaction_isolation": "read committed",
            "transaction_deferrable": "off",
            "in_hot_standby": "off",
            "max_identifier_length": "63",
            "block_size": "8192",
            "lc_collate": "C.UTF-8",
            "lc_ctype": "C.UTF-8",
            "max_connections": "100",
            **settings.REMEMBERED,
        }
        self.parameters.update(parameters)
        for mode in settings.TRANSACTION_MODES:  # startup options set the defaults
            self.parameters[mode] = self.parameters["default_" + mode]
        self._initial = dict(self.parameters)
        self._undo_at_end: dict[str, str] = {}
        self._set_after_statement: list[tuple[str, str, bool]] = []  # set_config()
        self.settings_version = 0  # bumped whenever publish_settings runs
        self.style = _output_style(self.parameters)
        self.encoder: RowEncoder | None = None  # the last simple-protocol result's
        self._multi = False  # running a Query of several statements: a transaction block
        self._queried = False  # the transaction block ran a query (took its snapshot)
        self.portals = Portals(executor)  # prepared statements and portals, by name
        self.text_plans = TextPlans(executor)  # repeated simple SELECTs' DuckDB plans
        # LISTEN/NOTIFY: channels listened to; what the open transaction will listen to,
        # stop listening to, and notify at commit; notifications not yet sent.
        self.notifier = notifier
        self.listening: set[str] = set()
        self._pending_listen: list[tuple[str, str | None]] = []
        self._pending_notify: dict[tuple[str, str], None] = {}  # ordered, deduplicated
        self.notifications: deque[tuple[int, str, str]] = deque()
        self.wake: Callable[[], None] | None = None  # the connection, to send them when idle
        #: frontend.secrets.SessionSecrets of the session's (organisation, user) with a
        #: config store; None: CREATE / DROP PERSISTENT SECRET are refused (0A000)
        self.persistent_secrets: persistent.SessionSecrets | None = None
        #: the session's DuckDB instance may serve other users' sessions: CREATE SECRET
        #: is refused (frontend.server.Server.secrets_shared_with_other_users)
        self.secrets_shared = False

    async def start(self) -> None:
        """Apply the session's TimeZone to the engine (DuckDB defaults to the host's), and
        publish the session to the catalog."""
        await self._apply_timezone(self.parameters["TimeZone"])
        if self.parameters["search_path"] != settings.REMEMBERED["search_path"]:
            await self._apply_search_path(self.parameters["search_path"])
        if self.persistent_secrets is not None:
            await self.persistent_secrets.replay(self)
        await self.publish_settings()

    async def publish_settings(self) -> None:
        """Tell the catalog (engine.pg_catalog) who this session is and what its
        parameters are: current_user, pg_backend_pid(), current_setting()."""
        self.settings_version += 1
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
            if self._turn_wait is not None:
                self._turn_wait.cancel()

    def begin_work(self) -> None:
        """A client message starts being processed: a cancel from now on applies to it."""
        self._cancel_requested = False
        self.busy = True
        self.busy_since = trio.current_time()

    def end_work(self) -> None:
        self.end_turn_if_idle()
        if self._catalog_dirty and self.txn == IDLE:
            # the DDL's transaction has ended: what others found meanwhile may be stale
            self._catalog_dirty = False
            self.catalogs.changed(self.activity.database)
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
        err = redacted_error(err, self.activity.query or "")
        return backend.positioned(backend.error_response(err), err.position)

    def _note_state(self, state: str) -> None:
        activity, now = self.activity, None  # the clock read only when needed
        if self.txn == IDLE:
            activity.xact_start = None
        elif activity.xact_start is None:
            now = _now()
            activity.xact_start = activity.query_start or now
        if activity.state != state:
            activity.state, activity.state_change = state, now or _now()

    def timeout(self, name: str) -> float:
        """A time setting of this session in seconds; 0 when off."""
        return settings.milliseconds(self.parameters[name]) / 1000

    async def timed(self, step: Awaitable[T], out: Output) -> T:
        """Run one statement's work under the session's statement_timeout, counted in
        the query metrics; then apply what its set_config() calls set."""
        started = trio.current_time()
        try:
            try:
                result = await self._within_timeout(step)
            finally:
                self.end_turn_if_idle()  # an autocommit statement's turn ends with it
            if self._set_after_statement:
                await self._apply_set_configs(out)
            if self.txn == IDLE and self._pending_notify:  # pg_notify() outside a block
                self._end_notifications(commit=True)
        except PgError as err:
            self._set_after_statement.clear()
            if self.txn == IDLE:
                self._pending_notify.clear()
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

    # -- write turns (frontend/turns.py) ----------------------------------------------

    async def take_turn(self, stmt: Statement, *, force: bool = False,
                        nowait: bool = False) -> None:
        """Before ``stmt`` reaches the engine: if it can conflict with other writers,
        wait for the database's write turn (at most once per transaction), bounded by
        lock_timeout (55P03), statement_timeout (the caller's scope) and cancel
        requests (57014). pg_stat_activity shows the wait as PostgreSQL shows a row
        lock wait. ``force``: whatever ``stmt`` is (LOCK TABLE); ``nowait``: fail at
        once (55P03) if another session has the turn."""
        if self.turns is None or self._has_turn or not (stmt.conflicts or force):
            return
        # the block has run nothing before this statement (check_writable: _queried)
        fresh = not self._queried if force else self._block_fresh
        database, activity = self.activity.database, self.activity
        lock_timeout = self.timeout("lock_timeout")
        activity.wait_event_type, activity.wait_event = "Lock", "transactionid"
        try:
            with trio.CancelScope() as self._turn_wait:
                if lock_timeout:
                    self._turn_wait.deadline = trio.current_time() + lock_timeout
                await self.turns.take(database, self.pid, nowait=nowait)
                self._has_turn = True
        except TurnBusy:
            name = lock_relations(stmt.text)[0].rsplit(".", 1)[-1].strip('"')
            raise PgError("55P03", f'could not obtain lock on relation "{name}"') from None
        finally:
            self._turn_wait = None
            activity.wait_event_type = activity.wait_event = None
        if not self._has_turn:
            self.check_cancel()
            raise PgError("55P03", "canceling statement due to lock timeout")  # lock_not_available
        if fresh and self.planned_in_block and self.in_transaction():
            # Parse planned statements of this block before the turn, which started
            # DuckDB's snapshot then (not at BEGIN): with nothing run yet, restart the
            # engine's transaction so that the snapshot follows the previous holder's
            # commit (prepared statements and settings outlive it). Parse never waits:
            # a client such as pgbench -M prepared blocks on it for all its connections.
            self.planned_in_block = False
            await self._engine("ROLLBACK")
            await self._engine("BEGIN")

    def end_turn_if_idle(self) -> None:
        """Give the write turn back once the transaction is over (outside a block: once
        the statement's result is no longer being read)."""
        if self._has_turn and self.txn == IDLE and not self.portals.reading():
            self.give_back_turn()

    def give_back_turn(self) -> None:
        if self._has_turn:
            self._has_turn = False
            self.turns.give_back(self.activity.database, self.pid)

    def reported_parameters(self) -> list[bytes]:
        return [backend.parameter_status(name, self.parameters[name]) for name in settings.REPORTED]

    # -- simple query protocol ------------------------------------------------------

    async def simple_query(self, sql: str, out: Output) -> None:
        """Answer one Query message, up to and including ReadyForQuery."""
        self.begin_work()
        self.note_query(sql)
        try:
            await self.portals.drop_unnamed_portal()  # as a Query does in PostgreSQL
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
        multi = self._multi = len(statements) > 1
        try:
            await self._run_statements(statements, out, multi)
        finally:
            self._multi = False
        if multi and self.txn == IDLE:
            # the Query was a block, perhaps with no engine transaction (SET TRANSACTION
            # ...; SHOW ...); its characteristics end with it
            await self.undo_local_settings(out)

    async def _run_statements(self, statements: list[Statement], out: Output,
                              multi: bool) -> None:
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
        if stmt.database is not None:
            await self.database_command(stmt, out, in_block=implicit or self.txn != IDLE)
            return
        if await self.run_session_statement(stmt, out, describe=True, implicit=implicit):
            return
        self.check_writable(stmt)
        await self.take_turn(stmt)
        if implicit:
            await self.begin_implicit()
        if stmt.copy == "out":
            await self._copy_out(parse_copy(stmt.text), out)
            return
        if stmt.copy == "in":
            try:
                await self._copy_in(parse_copy(stmt.text), out)
            except PgError as err:  # constraint names come from the COPY's table
                raise stmt.located(err, "") from None
            return
        self.queue_notices(stmt, out)
        result = await self.run_translated(stmt)
        if result.schema is None:
            out.queue(backend.command_complete(command_tag(stmt.command, result.rowcount)))
            return
        out.queue(row_description(result.schema))
        try:
            rows = await self.send_rows(result.batches(), None, out)
        except PgError as err:
            raise stmt.located(err, "") from None  # a running statement has no position
        out.queue(backend.command_complete(command_tag(stmt.command, rows)))

    @staticmethod
    def queue_notices(stmt: Statement, out: Output) -> None:
        """The statement's WARNINGs (what DuckLake storage dropped: sql.lake_ddl)."""
        for message in stmt.notices:
            out.queue(_warning(SqlState.WARNING, message))

    async def run_translated(self, stmt: Statement) -> Result:
        """Run the statement's DuckDB translation, its setup statements first."""
        await self.portals.park()  # open cursors keep their rows
        stmt = await char_semantics.with_char_semantics(self, stmt)
        if stmt.activity:
            await self.publish_activity()
        ran = ""
        try:
            for ran in stmt.setup:
                await self.executor.execute(ran, False)
            ran = ""
            origins = await self.column_origins(stmt)
            ran = stmt.engine_text
            resolved = await jsontypes.resolve(self.executor, stmt.json_types)
            if stmt.command == "SELECT" and self.txn == IDLE and not self._multi \
                    and not (stmt.setup or stmt.activity or stmt.signals
                             or stmt.explain is not None):
                result = await self.text_plans.execute(ran, stmt.returns_rows,
                                                       self.plan_state(), stmt.constants)
            else:
                result = await self.executor.execute(ran, stmt.returns_rows)
        except PgError as err:
            raise stmt.located(err, ran) from None
        if (origins is not None or stmt.char_types) and result.schema is not None:
            schema = with_char_types(self.described(result.schema, origins), stmt.char_types)
            widths = blank_padded(schema)  # char(n) columns
            result = Result(schema, result.rowcount, padded(result.batches(), widths)
                            if widths else result.batches())
        result = jsontypes.retyped_result(result, resolved)
        return self.finish_result(stmt, result)

    async def publish_activity(self) -> None:
        """Write the server's sessions into this session's pg_stat_activity table and its
        prepared statements into pg_prepared_statements (temporary tables)."""
        if self.backends is None:
            raise PgError(SqlState.FEATURE_NOT_SUPPORTED, "pg_stat_activity is not available")
        batch = snapshot(self.backends.activities())
        # In a transaction of its own outside a block, as COPY FROM's: insert_batch's
        # Arrow view is created in the default catalog, and a DuckLake one, once
        # committed, is read back from its SQL text, which names the stream by address
        # and does not parse. Created and dropped inside one transaction, it never is.
        async with self._own_transaction():
            await self.executor.execute(catalog.ACTIVITY_DDL, False)
            await self.executor.insert_batch(catalog.ACTIVITY_TABLE, batch)
            await self.executor.execute(catalog.PREPARED_DDL, False)
            await self.executor.insert_batch(catalog.PREPARED_TABLE,
                                             self.portals.prepared_statements())

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
                    elif kind == "notify":
                        columns[index] = pa.array(
                            [None if v is None else self._pg_notify(*v) for v in values],
                            pa.string())
                    else:
                        columns[index] = pa.array(
                            [None if pid is None else self._signal(pid, kind) for pid in values],
                            pa.bool_())
                yield pa.record_batch(columns, schema=signalled_schema(batch.schema, signals))

    def _pg_notify(self, channel: str | None, payload: str | None) -> str:
        """pg_notify(channel, payload): NOTIFY, sent when the transaction (this statement
        alone, outside a block: ``timed``) commits."""
        if not channel:
            raise PgError(SqlState.INVALID_PARAMETER_VALUE, "channel name cannot be empty")
        payload = payload or ""
        if len(payload.encode()) >= MAX_PAYLOAD:
            raise PgError(SqlState.INVALID_PARAMETER_VALUE, "payload string too long")
        if self.notifier is None:
            raise PgError(SqlState.FEATURE_NOT_SUPPORTED, "pg_notify is not available")
        self._pending_notify[(channel, payload)] = None
        return ""

    def _set_config(self, name: str | None, value: str | None, local: str | None) -> str:
        """set_config(name, value, is_local): SET, or SET LOCAL when is_local (which,
        outside a transaction block, lasts no longer than the statement: no effect).
        Validated now, applied once the statement is through (``timed``): the engine
        is busy streaming its result until then."""
        if name is None:
            raise PgError("22004", "SET requires parameter name")
        canon, norm = settings.validate(name, "" if value is None else value)
        if canon == "DateStyle":  # the half not given stays as it is
            norm = settings.datestyle(value or "", self.parameters["DateStyle"])
        if local != "true" or self.txn == EXPLICIT:
            self._set_after_statement.append((canon, norm, local == "true"))
        return norm

    async def _apply_set_configs(self, out: Output) -> None:
        pending, self._set_after_statement = self._set_after_statement, []
        for name, value, local in pending:
            if local:
                self._undo_at_end.setdefault(name, self.parameters.get(name, ""))
            await self._set_parameter(name, value, out)

    def _signal(self, pid: int, kind: str) -> bool:
        if kind == "terminate" and pid == self.pid:
            # PostgreSQL's backend ends itself at once: no result, FATAL 57P01, closed.
            raise PgError(SqlState.ADMIN_SHUTDOWN,
                          "terminating connection due to administrator command",
                          severity="FATAL")
        if self.backends is None:
            return False
        return self.backends.signal(pid, kind)

    async def run_session_statement(self, stmt: Statement, out: Output, *, describe: bool,
                                    implicit: bool = False) -> bool:
        """Run ``stmt`` if the session answers it itself (transaction control, reported
        parameters, cursors, prepared statements, DISCARD); False if it is for the engine.
        ``implicit``: it stands in a multi-statement Query (or, in the extended protocol,
        before other messages up to Sync): an implicit transaction block."""
        if stmt.transaction is not None:
            await self._transaction_control(stmt, out, implicit)
            return True
        if settings.is_session_parameter(stmt.parameter):
            await self._parameter(stmt, out, describe)
            return True
        if stmt.cursor is not None:
            await self.cursor(stmt, [], (), out, describe=describe)
            return True
        if stmt.prepared is not None:
            if implicit and stmt.prepared.kind == "execute":
                await self.begin_implicit()
            await self.prepared_command(stmt, out, describe=describe,
                                                source=self.activity.query)
            return True
        if stmt.reset is not None:
            await self._reset(stmt, out, implicit)
            return True
        if stmt.notification is not None:
            await self._notification(stmt, out, implicit)
            return True
        if stmt.command in persistent.COMMANDS:
            if self.secrets_shared and stmt.command == "CREATE SECRET":
                raise persistent.shared_instance()
            command = secret_ddl.parse(stmt.text)
            if command is not None:
                await persistent.run(self, command, out, in_block=self.txn != IDLE or self._multi)
                return True
        return False

    async def database_command(self, stmt: Statement, out: Output, *, in_block: bool) -> None:
        """CREATE DATABASE / DROP DATABASE, which PostgreSQL refuses inside a
        transaction block (a multi-statement Query is one)."""
        command = stmt.database
        if in_block:
            raise PgError(SqlState.ACTIVE_SQL_TRANSACTION,
                          f"{stmt.command} cannot run inside a transaction block")
        if command.error is not None:
            raise command.error
        if self.backends is None:
            raise PgError(SqlState.FEATURE_NOT_SUPPORTED, f"{stmt.command} is not available")
        for warning in command.warnings:
            out.queue(backend.notice_response(warning))
        if command.kind == "create":
            await self.backends.create_database(command.name)
        elif not await self.backends.drop_database(command.name, current=self.activity.database,
                                                   pid=self.pid, force=command.force):
            message = f'database "{command.name}" does not exist'
            if not command.missing_ok:
                raise PgError(SqlState.INVALID_CATALOG_NAME, message)
            out.queue(backend.notice_response(
                PgError(SqlState.SUCCESSFUL_COMPLETION, message + ", skipping",
                        severity="NOTICE")))
        out.queue(backend.command_complete(stmt.command))

    async def _notification(self, stmt: Statement, out: Output, implicit: bool) -> None:
        """LISTEN / UNLISTEN / NOTIFY take effect when the transaction commits, as in
        PostgreSQL (a statement outside a transaction block commits at once)."""
        if self.notifier is None:
            raise PgError(SqlState.FEATURE_NOT_SUPPORTED, f"{stmt.command} is not available")
        if implicit:
            await self.begin_implicit()
        command = stmt.notification
        if command.kind == "notify":
            self._pending_notify[(command.channel, command.payload)] = None
        else:
            self._pending_listen.append((command.kind, command.channel))
        out.queue(backend.command_complete(stmt.command))
        if self.txn == IDLE:
            self._end_notifications(commit=True)

    def _end_notifications(self, *, commit: bool) -> None:
        """The transaction ended: on commit, apply its LISTEN/UNLISTEN, then send its
        notifications (a session hears its own); on rollback, forget them."""
        listens, self._pending_listen = self._pending_listen, []
        notifies, self._pending_notify = self._pending_notify, {}
        if not commit or self.notifier is None:
            return
        database = self.activity.database
        for kind, channel in listens:
            if kind == "listen":
                self.listening.add(channel)
                self.notifier.listen(database, channel, self)
            else:
                for name in [channel] if channel is not None else list(self.listening):
                    self.listening.discard(name)
                    self.notifier.unlisten(database, name, self)
        for channel, payload in notifies:
            self.notifier.send(database, self.pid, channel, payload)

    def deliver(self, pid: int, channel: str, payload: str) -> None:
        """A notification for this session (frontend/notify.py)."""
        self.notifications.append((pid, channel, payload))
        if self.wake is not None:
            self.wake()

    async def _reset(self, stmt: Statement, out: Output, implicit: bool) -> None:
        """DISCARD ALL / PLANS / TEMP / SEQUENCES and RESET ALL, with PostgreSQL's effects.
        DISCARD ALL is CLOSE ALL, SET SESSION AUTHORIZATION DEFAULT, RESET ALL,
        DEALLOCATE ALL, UNLISTEN *, pg_advisory_unlock_all(), DISCARD PLANS, TEMP and
        SEQUENCES; here roles and advisory locks do not exist, plans belong to
        prepared statements (DEALLOCATE), and DuckDB keeps no per-session sequence state
        to forget (docs/compatibility.md)."""
        what = stmt.reset
        if what == "all":
            if implicit or self.txn != IDLE:
                raise PgError(SqlState.ACTIVE_SQL_TRANSACTION,
                              "DISCARD ALL cannot run inside a transaction block")
            await self.portals.drop_portals()
            await self.portals.deallocate(None)
            self._pending_listen.append(("unlisten", None))
            self._end_notifications(commit=True)
        if what in ("all", "parameters"):
            await self._reset_parameters(out)
        if what in ("all", "temp"):
            await self._drop_temporary_objects()
        out.queue(backend.command_complete(stmt.command))

    async def _reset_parameters(self, out: Output) -> None:
        """RESET ALL: every parameter back to its value at connection start (parameters
        set since, custom ones included, become empty as a RESET of one does)."""
        changed = {name: self._initial.get(name, "") for name, value in self.parameters.items()
                   if value != self._initial.get(name, "") and name not in settings.READ_ONLY}
        self._undo_at_end.clear()
        if not changed:
            return
        if "TimeZone" in changed:
            await self._apply_timezone(changed["TimeZone"])
        if "search_path" in changed:
            await self._apply_search_path(changed["search_path"])
        self.parameters.update(changed)
        await self.publish_settings()
        for name, value in changed.items():
            if name in settings.REPORTED:
                out.queue(backend.parameter_status(name, value))

    async def _drop_temporary_objects(self) -> None:
        """DISCARD TEMP: drop this session's temporary views, macros, tables, sequences."""
        for kind, name in await self.query_rows(_TEMPORARY_OBJECTS):
            quoted = '"' + name.replace('"', '""') + '"'
            await self._engine(f"DROP {kind} IF EXISTS temp.main.{quoted}")
    def check_writable(self, stmt: Statement) -> None:
        """Before a statement runs on the engine: refuse what a read-only transaction may
        not do (25006, named as PostgreSQL names the command), and note that the
        transaction block has run a query (its characteristics are fixed from now)."""
        if not (self.in_block() and self._queried):  # this statement takes the snapshot
            self._snapshot_generation = self.catalogs.generation(self.activity.database)
        self._block_fresh = not self._queried  # for take_turn
        if self.in_block():
            self._queried = True
        if stmt.text[:8].upper().startswith(_CATALOG_WORDS):
            self._changes_catalog(stmt)
        if stmt.writes is not None and self.parameters["transaction_read_only"] == "on":
            raise PgError(SqlState.READ_ONLY_SQL_TRANSACTION,
                          f"cannot execute {stmt.writes} in a read-only transaction")

    def _changes_catalog(self, stmt: Statement) -> None:
        """``stmt`` may change tables' columns: nobody's cached origins hold now, and
        this session looks up its own until its transaction ends (``end_work``).
        Temporary tables (and USE) change what names mean to this session alone."""
        words = stmt.text.split(None, 3)
        first = words[0].upper()
        if first not in _CATALOG_WORDS:
            return
        self._catalog_dirty = True
        self.catalogs.changed(self.activity.database)
        self._own_catalog.changed(self.activity.database)
        if first == "USE" or _TEMPORARY.match(stmt.text[:300]):
            self._private_catalog = True

    async def column_origins(self, stmt: Statement) -> Origins:
        """What ``described`` needs to give a result's columns that name a table's
        columns their origin (frontend/origins.py): the statement's Sources and its
        relations' Tables, looked up in the catalog only when the server has not yet
        for this catalog state. Run before the statement (which holds the connection
        until its rows are read); None when there is nothing to give."""
        if stmt.command not in _DESCRIBED or stmt.explain is not None or stmt.signals \
                or not stmt.returns_rows:
            return None
        sources = column_sources(stmt.text, stmt.shape)
        if sources is None:
            return None
        database = self.activity.database
        generation = self.catalogs.generation(database)
        if not self.in_block():
            self._snapshot_generation = generation  # the statement's own snapshot
        shared = not (self._catalog_dirty or self._private_catalog) \
            and self._snapshot_generation == generation
        # what it finds while not shared it keeps for itself, under its snapshot's
        # generation (its own DDL clears that: _changes_catalog)
        store = self.catalogs if shared else self._own_catalog
        path = settings.search_path_key(self.parameters["search_path"])
        tables = await self._tables(sources.relations, store, database, path, 0)
        return None if tables is None else (sources, tables)

    async def _tables(self, relations: tuple[Relation, ...], store: Catalogs, database: str,
                      path: tuple[str, ...], depth: int) -> list[Table | None] | None:
        """The Tables of ``relations`` (``origins.find_tables``)."""
        return await find_tables(relations, store, database, self._snapshot_generation,
                                 path, self.query_rows, depth)

    def shares_catalog(self) -> bool:
        """Whether what this session reads in the catalog now holds for the server's
        cache (``column_origins``' rule: no DDL of its own pending, no temporary
        objects, a snapshot not older than the catalog's generation)."""
        generation = self.catalogs.generation(self.activity.database)
        return not (self._catalog_dirty or self._private_catalog) \
            and (not self.in_block() or self._snapshot_generation == generation)

    def plan_state(self) -> tuple | None:
        """What a statement planned now depends on besides its text and declared
        parameter types: the catalog as the server knows it and the session's settings
        (frontend/statements.py keeps a Parse's plan while it holds); None when a plan
        made now must not be kept (``shares_catalog`` does not hold)."""
        if not self.shares_catalog():
            return None
        database = self.activity.database
        return database, self.catalogs.generation(database), self.settings_version

    @staticmethod
    def described(schema: pa.Schema | None, origins: Origins) -> pa.Schema | None:
        """``schema`` with the ``column_origins`` found for its columns."""
        if schema is None or origins is None:
            return schema
        return annotate(schema, *origins)

    def in_block(self) -> bool:
        """In a transaction block, which transaction_* settings last to the end of:
        BEGIN's, a failed one, or a Query of several statements."""
        return self.txn != IDLE or self._multi

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
                out.queue(encode(batch, formats, self.style, self))
                rows += batch.num_rows
                await out.flush_if_full()
        return rows

    async def _copy_out(self, copy: CopyStatement, out: Output) -> None:
        """COPY ... TO STDOUT: run the query, stream its rows as CopyData, one per row;
        a table's char(n) columns blank-padded, as every other result sends them."""
        await self.portals.park()
        resolved = await jsontypes.resolve(self.executor, copy.json_types)
        query = split_statements(copy.query)
        origins = await self.column_origins(query[0]) if len(query) == 1 else None
        result = jsontypes.retyped_result(await self.executor.execute(copy.query, True), resolved)
        if result.schema is None:
            raise PgError(SqlState.FEATURE_NOT_SUPPORTED,
                          "COPY query must have a result: only SELECT-like queries can be copied")
        widths = blank_padded(self.described(result.schema, origins))
        if widths:
            result = Result(result.schema, result.rowcount, padded(result.batches(), widths))
        options = copy.options
        out.queue(backend.copy_out_response(options.format == "binary", len(result.schema)))
        framing = CopyOut(result.schema, options, style=self.style)
        out.queue(framing.start())
        rows = 0
        async with aclosing(result.batches()) as stream:
            async for batch in stream:
                self.check_cancel()
                with encoding_errors():
                    data = framing.rows(batch)
                out.queue(data)
                rows += batch.num_rows
                await out.flush_if_full()
        out.queue(framing.end())
        out.queue(backend.copy_done())
        out.queue(backend.command_complete(f"COPY {rows}"))

    async def _copy_in(self, copy: CopyStatement, out: Output) -> None:
        """COPY ... FROM STDIN: parse the client's CopyData as it arrives and insert it
        in batches of COPY_BATCH_ROWS rows, all in one transaction (the session's, or
        one of its own), so an error or a CopyFail leaves nothing inserted."""
        columns = f" ({', '.join(copy.columns)})" if copy.columns else ""
        target = copy.query + columns
        await self.portals.park()
        probe = await self.executor.prepare(
            f"SELECT {', '.join(copy.columns) or '*'} FROM {copy.query} LIMIT 0")
        await self.executor.close_prepared(probe)
        schema = probe.columns
        options = copy.options
        binary = options.format == "binary"
        parser = (BinaryCopyInParser(len(schema), MAX_COPY_FIELD) if binary
                  else CopyInParser(options, len(schema), schema.names))
        trim = await char_semantics.copy_trimmed(self, copy.query, schema.names)
        out.queue(backend.copy_in_response(binary, len(schema)))
        await out.flush()
        async with self._own_transaction():
            total = await self._copy_rows(parser, schema, binary, target, out, trim)
        out.queue(backend.command_complete(f"COPY {total}"))

    async def _copy_rows(self, parser, schema: pa.Schema, binary: bool, target: str,
                         out: Output, trim: list[int]) -> int:
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
                if trim:  # char(n) columns: stored without trailing blanks
                    batch = char_semantics.trimmed(batch, trim)
                total += await self.executor.insert_batch(target, batch)
                pending, rows = [], 0
        return total

    @asynccontextmanager
    async def _own_transaction(self):
        """Outside a transaction block, a transaction of the engine's own around the
        body (committed, or rolled back, shielded, if it fails); inside one, nothing:
        the block's transaction holds it."""
        if self.txn != IDLE:
            yield
            return
        await self._engine("BEGIN")
        try:
            yield
        except BaseException:
            with trio.CancelScope(shield=True):
                await self._engine_quietly("ROLLBACK")
            raise
        await self._engine("COMMIT")

    async def query_rows(self, sql: str) -> list[tuple]:
        """All rows of a (small, catalog) query run on the session's engine."""
        return await self.executor.query_rows(sql)

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
                self._end_notifications(commit=False)
                out.queue(backend.error_response(err))
            else:
                self._end_notifications(commit=True)
            await self.undo_local_settings(out)

    async def after_error(self) -> None:
        if self.txn == EXPLICIT:
            self.txn = FAILED
        elif self.txn == IMPLICIT:
            self.txn = IDLE
            self._end_notifications(commit=False)
            try:
                await self._engine("ROLLBACK")
            except PgError:
                pass  # the engine may already have ended the transaction itself
            await self.undo_local_settings(None)

    async def _transaction_control(self, stmt: Statement, out: Output, implicit: bool) -> None:
        kind = stmt.transaction
        if kind == "accept":
            out.queue(backend.command_complete(stmt.command))
            return
        if kind == "lock":
            if not implicit and self.txn == IDLE:
                raise PgError(SqlState.NO_ACTIVE_SQL_TRANSACTION,
                              "LOCK TABLE can only be used in transaction blocks")
            turn, nowait = lock_takes_turn(stmt.text)
            if turn:  # before the probes below start the engine's snapshot
                await self.take_turn(stmt, force=True, nowait=nowait)
            for relation in lock_relations(stmt.text):  # they must exist, as in PostgreSQL
                probe = split_statements(f"SELECT NULL FROM {relation} LIMIT 0")[0]
                result = await self.run_translated(probe)
                async for _ in result.batches():
                    pass
            out.queue(backend.command_complete(stmt.command))
            return
        if kind == "characteristics":
            if stmt.modes and not stmt.modes[0][0].startswith("default_") \
                    and not self.in_block():
                out.queue(_warning(SqlState.NO_ACTIVE_SQL_TRANSACTION,
                                   "SET TRANSACTION can only be used in transaction blocks"))
            for name, value in stmt.modes:
                await self._set_parameter(name, value, out)
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
            for name, value in stmt.modes:
                await self._set_parameter(name, value, out)
            out.queue(backend.command_complete(stmt.command))
            return
        if self.txn == IDLE:
            out.queue(_warning(SqlState.NO_ACTIVE_SQL_TRANSACTION,
                               "there is no transaction in progress"))
            out.queue(backend.command_complete(stmt.command))
            return
        failed = self.txn == FAILED
        self.txn = IDLE  # whatever happens next, the engine's transaction is over
        await self.portals.end_transaction()  # portals live only as long as their transaction
        if kind == "commit" and not failed:
            try:
                await self._engine("COMMIT")
            except PgError:
                self._end_notifications(commit=False)
                raise
            self._end_notifications(commit=True)
            await self.undo_local_settings(out)
            out.queue(backend.command_complete("COMMIT"))
        else:
            self._end_notifications(commit=False)
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
        # A RESET (or SET ... TO DEFAULT) of a custom parameter never set creates it
        # empty, as PostgreSQL's placeholders; SHOW of one is 42704.
        if name not in self.parameters and (stmt.command == "SHOW"
                                            or (stmt.value is None and "." not in name)):
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
            if name == "DateStyle":  # the half not given stays as it is
                value = settings.datestyle(stmt.value, self.parameters["DateStyle"])
        if stmt.local:
            if self.txn == IDLE:
                out.queue(_warning(SqlState.NO_ACTIVE_SQL_TRANSACTION,
                                   "SET LOCAL can only be used in transaction blocks"))
                out.queue(backend.command_complete(stmt.command))
                return
            self._undo_at_end.setdefault(name, self.parameters.get(name, ""))
        await self._set_parameter(name, value, out)
        out.queue(backend.command_complete(stmt.command))

    async def _set_parameter(self, name: str, value: str, out: Output | None) -> None:
        if name in settings.TRANSACTION_MODES:
            if not self.in_block():
                return  # it would last only as long as this statement's own transaction
            self._check_mode_change(name, value)  # the block's end brings the default back
        elif name.startswith("default_") and name[8:] in settings.TRANSACTION_MODES \
                and not self.in_block():  # else the next transaction starts with it
            self.parameters[name[8:]] = value
        if name == "TimeZone":
            await self._apply_timezone(value)
        if name == "search_path":
            await self._apply_search_path(value)
        self.parameters[name] = value
        if name in ("DateStyle", "IntervalStyle"):
            self.style = _output_style(self.parameters)
        await self.publish_settings()
        if name in settings.REPORTED and out is not None:
            out.queue(backend.parameter_status(name, value))

    def _check_mode_change(self, name: str, value: str) -> None:
        """PostgreSQL's check hooks: once the block has run a query, its isolation level
        and deferrability are fixed, and read-only cannot become read-write."""
        if not self._queried:
            return
        current = self.parameters[name]
        if name == "transaction_isolation" and value != current:
            message = "SET TRANSACTION ISOLATION LEVEL must be called before any query"
        elif name == "transaction_read_only" and value == "off" and current == "on":
            message = "transaction read-write mode must be set before any query"
        elif name == "transaction_deferrable":
            message = "SET TRANSACTION [NOT] DEFERRABLE must be called before any query"
        else:
            return
        raise PgError(SqlState.ACTIVE_SQL_TRANSACTION, message)

    async def undo_local_settings(self, out: Output | None) -> None:
        """The transaction ended: SET LOCAL values go back to what they were, the
        transaction's characteristics to their defaults."""
        self._queried = self.planned_in_block = False
        undo, self._undo_at_end = self._undo_at_end, {}
        for name, value in undo.items():
            await self._set_parameter(name, value, out)
        modes = {name: self.parameters["default_" + name] for name in settings.TRANSACTION_MODES
                 if self.parameters[name] != self.parameters["default_" + name]}
        if modes:
            self.parameters.update(modes)
            await self.publish_settings()

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
        duckdb_zone = settings.duckdb_timezone(zone)  # 0A000 for what DuckDB cannot follow
        try:
            await self._engine(f"SET TimeZone = {_quote(duckdb_zone)}")
        except PgError:
            raise PgError(SqlState.INVALID_PARAMETER_VALUE,
                          f'invalid value for parameter "TimeZone": "{zone}"') from None

    async def _engine(self, sql: str) -> None:
        await self.portals.park()
        await self.executor.execute(sql, False)

    async def close(self) -> None:
        try:
            self._pending_notify.clear()  # its transaction never committed
            self._pending_listen = [("unlisten", None)]
            self._end_notifications(commit=True)
            await self.portals.drop_portals()
            await self.portals.close_statements()
            await self.text_plans.close()
            if self._has_turn and self.txn != IDLE:
                # a worker rolls back a closed session later, on its own: the next
                # writer must not start before (it would meet this transaction)
                with trio.move_on_after(ROLLBACK_ON_CLOSE_SECONDS):
                    try:
                        await self.executor.execute("ROLLBACK", False)
                    except PgError:
                        pass  # the engine has ended it already (a lost worker)
            if self.persistent_secrets is not None:
                await self.persistent_secrets.forget(self)
            await self.executor.close()
        finally:
            # however the session ends; once the engine has rolled its transaction
            # back, or the next writer would still meet it
            self.give_back_turn()


#: A session's temporary objects, in the order DISCARD TEMP drops them (views and
#: macros may use tables; tables may use sequences).
_TEMPORARY_OBJECTS = (
    "SELECT 'VIEW', view_name FROM duckdb_views() WHERE database_name = 'temp' AND NOT internal "
    "UNION ALL SELECT 'MACRO', function_name FROM duckdb_functions() "
    "WHERE database_name = 'temp' AND NOT internal AND function_type = 'macro' "
    "UNION ALL SELECT 'MACRO TABLE', function_name FROM duckdb_functions() "
    "WHERE database_name = 'temp' AND NOT internal AND function_type = 'table_macro' "
    "UNION ALL SELECT 'TABLE', table_name FROM duckdb_tables() WHERE database_name = 'temp' "
    "UNION ALL SELECT 'SEQUENCE', sequence_name FROM duckdb_sequences() "
    "WHERE database_name = 'temp'")

#: Query ids, unique in this server process (pg_stat_activity.query_id, log lines).
_QUERY_IDS = itertools.count(1)


def _output_style(parameters: dict[str, str]) -> OutputStyle:
    """How values print under the session's DateStyle and IntervalStyle."""
    dates, order = (p.strip() for p in parameters["DateStyle"].split(","))
    return OutputStyle(dates, order, parameters["IntervalStyle"])


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _warning(sqlstate: str, message: str) -> bytes:
    return backend.notice_response(PgError(sqlstate, message, severity="WARNING"))
