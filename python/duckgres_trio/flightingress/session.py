"""One Flight SQL client's session on the control plane (the trio side).

A session is what a bearer token stands for: one engine session (``Engine.open_session``,
the same worker slots, queue and workers as a pgwire session), registered with the
server as a pgwire connection is (``Server.admit``), so it counts against the same
connection limits and shows in pg_stat_activity. Its calls run one at a time (``lock``);
a query's result is kept, its first batch read ahead, until the client's DoGet reads it
or the next statement supersedes it. Batches go from the engine to the client as Arrow,
one pull per batch (``next_batch``), so a client that reads slowly stops the worker.

The engine session is opened again on the next call if its worker was lost: the token
outlives a worker failure, not a control-plane restart.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pyarrow as pa
import trio

from duckgres_trio.engine.base import Engine, Executor, Prepared, Result, is_result_set
from duckgres_trio.errors import PgError, SqlState
from duckgres_trio.frontend import bpchar as char_semantics
from duckgres_trio.frontend.activity import Activity
from duckgres_trio.frontend.origins import (Catalogs, annotate, blank_padded, find_tables,
                                            padded, with_char_types)
from duckgres_trio.flightingress import arrow_types
from duckgres_trio.sql import split_statements
from duckgres_trio.sql.origins import Sources, column_sources
from duckgres_trio.sql.settings import REMEMBERED as _SETTINGS, search_path_schemas
from duckgres_trio.sql.statements import Statement

log = logging.getLogger(__name__)

#: Run on every new engine session: the worker gives DuckDB's own types as extension
#: types, as to pgwire sessions (``arrow_lossless_conversion``; DuckDB's standard Arrow
#: drops a timetz's offset); ``arrow_types`` turns them into what clients read.
SESSION_SETUP = ("SET SESSION arrow_lossless_conversion = true",)
#: A result's rows go to the client in batches of up to this many rows or bytes.
MESSAGE_ROWS = 1 << 16
MESSAGE_BYTES = 4 << 20
SEARCH_PATH = _SETTINGS["search_path"]
_SEARCH_PATH_SCHEMAS = tuple(search_path_schemas(SEARCH_PATH))
#: Statements whose result columns may be a table's (frontend/session.py's)
_DESCRIBED = frozenset(("SELECT", "INSERT", "UPDATE", "DELETE"))
#: First words of statements that may change a table's columns (frontend/session.py's)
_CATALOG_WORDS = ("CREATE", "ALTER", "DROP", "IMPORT", "ATTACH", "DETACH", "USE")
_TEMPORARY = re.compile(r"CREATE\s[^(]*?\b(TEMP|TEMPORARY|pg_temp\w*)\b", re.IGNORECASE)


class _NoExecutor:
    """Stands in while no engine session is open (before the first call, after a
    worker was lost): what pg_stat_activity reads."""

    worker = None

    def progress(self):
        return None


@dataclass
class _Kept:
    """A query result waiting for (or being read by) its DoGet."""

    ticket: bytes
    plan: arrow_types.Plan  # the client's schema, and how batches become it
    batches: AsyncIterator[pa.RecordBatch]
    ahead: list[pa.RecordBatch] = field(default_factory=list)
    done: bool = False  # ``batches`` has ended


@dataclass
class _Statement:
    """A Flight SQL prepared statement: the engine's, and the parameter row bound."""

    prepared: Prepared
    text: str
    conflicts: bool  # waits for the database's write turn (sql/conflicts.py)
    statement: Statement  # as run (char(n) semantics: its result's padded columns)
    row: list = field(default_factory=list)


def plan(text: str) -> tuple[str, tuple[str, ...], Statement]:
    """The DuckDB text of one statement (PostgreSQL syntax translated as for pgwire),
    the setup it needs, and the statement as the sql layer classified it. Refused as pgwire refuses it (an engine setting, INSTALL, ...);
    statements the pgwire session runs itself (COPY, SET of a PostgreSQL parameter,
    cursors, LISTEN, CREATE DATABASE, ...) are 0A000 here."""
    statements = split_statements(text)
    if len(statements) != 1:
        raise PgError(SqlState.SYNTAX_ERROR if not statements else SqlState.FEATURE_NOT_SUPPORTED,
                      "empty statement" if not statements else
                      "a Flight SQL statement must be a single SQL statement")
    stmt = statements[0]
    if stmt.refusal is not None:
        raise stmt.refusal
    if stmt.transaction not in (None, "begin", "commit", "rollback") or stmt.copy \
            or stmt.parameter is not None or stmt.cursor is not None \
            or stmt.database is not None or stmt.notification is not None \
            or stmt.prepared is not None or stmt.reset is not None or stmt.activity \
            or stmt.signals or stmt.explain is not None:
        raise PgError(SqlState.FEATURE_NOT_SUPPORTED,
                      f"{stmt.command} is not supported over Flight SQL: use a pgwire session")
    if stmt.transaction is not None:
        return stmt.transaction.upper(), (), stmt
    return stmt.sql or stmt.text, stmt.setup, stmt


class FlightSession:
    """Also what ``Server`` keeps per connection (pid, secret, org, user, session with
    its activity and executor, the signalling methods), so Flight sessions are listed,
    limited and signalled like pgwire ones."""

    def __init__(self, server, engine: Engine, *, token: str, user: str, org: str | None,
                 database: str, address: str, application_name: str) -> None:
        self.server = server
        self.engine = engine
        self.token = token
        self.user = user
        self.org = org
        self.database = database
        self.pid, self.secret = server.new_backend_key()
        self.session = self
        #: the client's address, known at the session's first call after its login
        #: (None until then; "" once given back to the per-address limits)
        self.address: str | None = None
        self.activity = Activity(self.pid, database, user, address,
                                 dt.datetime.now(dt.timezone.utc), application_name)
        self.executor: Executor | _NoExecutor = _NoExecutor()
        self.lock = trio.Lock()
        self.busy_since: float | None = None
        self.last_used = trio.current_time()
        self.closed = False
        #: the gRPC call running a statement now (its is_cancelled() is watched)
        self.call_context = None
        self._born = trio.current_time()
        self._kept: _Kept | None = None
        self._statements: dict[int, _Statement] = {}
        self._handles = 0
        self._scope: trio.CancelScope | None = None
        self._cancel_requested = False
        self._timezone = server.config.timezone
        #: the write turns pgwire sessions of this database take too (None: off)
        self.turns = server.turns_for(org)
        self._has_turn = False
        self._in_block = False  # between BEGIN and COMMIT/ROLLBACK
        self._statement_timeout = server.config.statement_timeout  # 0: none
        #: the server's cache of this organisation's tables (frontend/origins.py)
        self.catalogs = server.catalogs_for(org)
        self._catalog_dirty = False  # DDL of its own in the transaction now
        self._private_catalog = False  # temporary tables: names mean its own
        self._own_catalog = Catalogs()  # what it looks up while not sharing the server's

    # -- what Server asks of a connection -------------------------------------------

    def age(self) -> float:
        return trio.current_time() - self._born

    def busy_seconds(self) -> float:
        return 0.0 if self.busy_since is None else trio.current_time() - self.busy_since

    def hung_up(self) -> bool:
        return False  # a gRPC call that goes away is noticed by the ingress's watcher

    def client_vanished(self) -> None:
        self.request_cancel()

    def request_cancel(self) -> None:
        """pg_cancel_backend, a Flight SQL cancel, a cancelled gRPC call: stop the
        running statement (the session stays usable)."""
        if self._scope is not None:
            self._cancel_requested = True
            self._scope.cancel()

    def terminate(self) -> None:
        self.request_cancel()
        self.closed = True  # the next call finds it gone; the ingress closes it

    def request_shutdown(self) -> None:
        self.closed = True
        if self.busy_since is None:
            self.request_cancel()

    # -- lifecycle ------------------------------------------------------------------

    async def _executor(self) -> Executor:
        if self.closed:
            raise PgError(SqlState.ADMIN_SHUTDOWN, "the Flight SQL session has ended: "
                          "authenticate again", severity="FATAL")
        if isinstance(self.executor, _NoExecutor):
            executor = await self.engine.open_session(self.database, self.user)
            try:
                for sql in (*SESSION_SETUP, f"SET TimeZone = '{_quoted(self._timezone)}'"):
                    await executor.execute(sql, False)
                if hasattr(executor, "fetch_rows"):  # a worker's: fetch a message's worth
                    executor.fetch_rows = MESSAGE_ROWS
            except BaseException:
                with trio.CancelScope(shield=True):
                    await executor.close()
                raise
            self.executor = executor
        return self.executor

    async def open(self) -> None:
        """Open the engine session now (authentication): limits and queueing apply at
        once, as they do when a pgwire client connects."""
        async with self.lock:
            await self._executor()

    async def close(self) -> None:
        with trio.CancelScope(shield=True):
            self.closed = True
            self.request_cancel()
            async with self.lock:
                await self._drop_kept()
                await self._lose_executor()

    async def _lose_executor(self) -> None:
        executor, self.executor = self.executor, _NoExecutor()
        self._in_block = False  # the engine session's transaction ends with it
        self._give_back_turn()
        self._statements.clear()
        if not isinstance(executor, _NoExecutor):
            try:
                await executor.close()
            except Exception:
                log.exception("closing a Flight SQL session's engine session")

    # -- running ----------------------------------------------------------------------

    async def _run(self, text: str, call: Callable[[Executor], Awaitable], context=None):
        """Run one engine call as the session's statement (the caller holds ``lock``):
        in pg_stat_activity, cancellable, bounded by the server's statement_timeout,
        the engine session dropped if its worker was lost."""
        executor = await self._executor()
        await self._drop_kept()
        self._begin(text)
        self.call_context = context
        self._cancel_requested = False
        timeout = self._statement_timeout
        try:
            with trio.CancelScope(deadline=trio.current_time() + timeout if timeout
                                  else math.inf) as self._scope:
                return await call(executor)
            raise PgError(SqlState.QUERY_CANCELED, "canceling statement due to user request"
                          if self._cancel_requested else
                          "canceling statement due to statement timeout")
        except PgError as err:
            if err.fatal:  # the worker is gone: a new engine session on the next call
                await self._lose_executor()
            raise
        finally:
            self._scope = None
            self.call_context = None
            self._idle()

    def _begin(self, text: str) -> None:
        now = dt.datetime.now(dt.timezone.utc)
        self.busy_since = self.last_used = trio.current_time()
        self.activity.state, self.activity.query = "active", text
        self.activity.query_start = self.activity.state_change = now

    def _idle(self) -> None:
        self.busy_since = None
        self.last_used = trio.current_time()
        self.activity.state = "idle"
        self.activity.state_change = dt.datetime.now(dt.timezone.utc)

    # -- char(n) and the catalog, as a pgwire session sees them (frontend/bpchar.py) --

    async def _with_chars(self, executor: Executor, stmt: Statement) -> Statement:
        """``stmt`` with PostgreSQL's char(n) semantics spelled out, as a pgwire session
        runs it (stripped on the way in, compared without trailing blanks; its
        ``char_types``: the result columns sent blank-padded)."""
        return await char_semantics.with_char_semantics(_CatalogView(self, executor), stmt)

    def _catalog_changes(self, stmt: Statement) -> None:
        """DDL (and its transaction's end): what the server's sessions cached about this
        database's tables (frontend/origins.Catalogs) no longer holds."""
        words = stmt.text.split(None, 1)
        if words and words[0].upper() in _CATALOG_WORDS:
            self._catalog_dirty = True
            if _TEMPORARY.match(stmt.text[:300]):
                self._private_catalog = True
        if self._catalog_dirty:
            self.catalogs.changed(self.database)
            self._own_catalog.changed(self.database)
            # again at COMMIT/ROLLBACK: others may have looked it up meanwhile
            self._catalog_dirty = self._in_block and stmt.transaction not in (
                "commit", "rollback")

    async def _origins(self, executor: Executor, stmt: Statement) -> Origins:
        """The statement's result columns' tables, as a pgwire session finds them
        (``Session.column_origins``: the server's cache while this session shares its
        view of the catalog), for their char(n) columns."""
        if stmt.command not in _DESCRIBED or not stmt.returns_rows:
            return None
        sources = column_sources(stmt.text, stmt.shape)
        if sources is None:
            return None
        view = _CatalogView(self, executor)
        store = self.catalogs if view.shares_catalog() else self._own_catalog
        tables = await find_tables(sources.relations, store, self.database,
                                   self.catalogs.generation(self.database),
                                   _SEARCH_PATH_SCHEMAS, view.query_rows)
        return None if tables is None else (sources, tables)

    @staticmethod
    def _padded(result: Result, stmt: Statement, origins: Origins) -> Result:
        """``result`` with its char(n) columns blank-padded (the client's schema stays
        DuckDB's: the origins are the server's own metadata)."""
        schema = result.schema
        if schema is None or (origins is None and not stmt.char_types):
            return result
        widths = blank_padded(with_char_types(
            annotate(schema, *origins) if origins is not None else schema, stmt.char_types))
        return Result(schema, result.rowcount, padded(result.batches(), widths)) \
            if widths else result

    async def query(self, text: str, context=None) -> tuple[pa.Schema, bytes] | int:
        """Run a statement: (its schema, the ticket of its rows), or the affected-row
        count (-1: none reported) of one that returns no rows."""
        sql, setup, stmt = plan(text)

        async def call(executor: Executor) -> Result:
            nonlocal stmt
            if stmt.conflicts:
                await self._take_turn()
            for step in setup:
                await executor.execute(step, False)
            origins = None
            if stmt.transaction is None:
                stmt = await self._with_chars(executor, stmt)
                origins = await self._origins(executor, stmt)
            try:
                return self._padded(await executor.execute(stmt.engine_text
                                                           if stmt.transaction is None
                                                           else sql, None), stmt, origins)
            finally:
                self._catalog_changes(stmt)

        async with self.lock:
            ok = False
            try:
                result = await self._run(text, call, context)
                kept = await self._keep(result)
                ok = True
            finally:
                if stmt.transaction == "begin":
                    self._in_block = self._in_block or ok
                elif stmt.transaction is not None:  # COMMIT, ROLLBACK: the block is over
                    self._in_block = False
                self._end_turn_if_idle()
            return kept

    # -- write turns (frontend/turns.py), taken as a pgwire session takes them --------

    async def _take_turn(self) -> None:
        """Before a statement that can conflict with other writers reaches the engine:
        wait for the database's write turn, once per transaction, in the same queue as
        pgwire sessions, so neither kind gets the other's 40001. Bounded by the
        caller's scope (statement_timeout, cancel); pg_stat_activity shows the wait."""
        if self.turns is None or self._has_turn:
            return
        activity = self.activity
        activity.wait_event_type, activity.wait_event = "Lock", "transactionid"
        try:
            await self.turns.take(self.database, self.pid)
            self._has_turn = True
        finally:
            activity.wait_event_type = activity.wait_event = None

    def _end_turn_if_idle(self) -> None:
        """Give the turn back once the transaction is over (outside a block: once the
        statement's result is no longer being read; DuckDB commits it then)."""
        if not self._in_block and self._kept is None:
            self._give_back_turn()

    def _give_back_turn(self) -> None:
        if self._has_turn:
            self._has_turn = False
            self.turns.give_back(self.database, self.pid)

    async def update(self, text: str, context=None) -> int:
        count = await self.query(text, context)
        if not isinstance(count, int):
            await self.drop(count[1])
            return -1
        return count

    async def _keep(self, result: Result) -> tuple[pa.Schema, bytes] | int:
        if result.schema is None or not is_result_set(result.schema):
            if result.schema is not None:  # DML's "Count" column: the count, as a result
                count = 0
                async for batch in result.batches():
                    count += sum(v for v in batch.column(0).to_pylist() if v is not None)
                return count
            return -1 if result.rowcount is None else result.rowcount
        batches = result.batches()
        kept = _Kept(secrets.token_bytes(16), arrow_types.Plan(result.schema), batches)
        try:  # read ahead: the first batch, and the worker already makes the next
            kept.ahead.append(await anext(batches))
        except StopAsyncIteration:
            pass
        self._kept = kept
        return kept.plan.schema, kept.ticket

    def _kept_for(self, ticket: bytes) -> _Kept:
        kept = self._kept
        if kept is None or kept.ticket != ticket:
            raise PgError("55000", "unknown statement ticket: the result was superseded by a "
                          "later statement of its session, or was already read")
        return kept

    async def kept_schema(self, ticket: bytes) -> pa.Schema:
        return self._kept_for(ticket).plan.schema

    async def next_batch(self, ticket: bytes) -> pa.RecordBatch | None:
        """The next rows of a kept result as one batch (None at its end): the engine's
        batches gathered up to MESSAGE_ROWS rows or MESSAGE_BYTES, so a result of many
        small batches costs the loop, gRPC and the client a hop and a message per
        gathered batch, not per engine batch."""
        async with self.lock:
            kept = self._kept_for(ticket)
            gathered, rows, size = kept.ahead, 0, 0
            kept.ahead = []
            for batch in gathered:
                rows, size = rows + batch.num_rows, size + batch.nbytes
            self._begin(self.activity.query)
            try:
                with trio.CancelScope() as self._scope:
                    while not kept.done and rows < MESSAGE_ROWS and size < MESSAGE_BYTES:
                        try:
                            batch = await anext(kept.batches)
                        except StopAsyncIteration:
                            kept.done = True
                            break
                        gathered.append(batch)
                        rows, size = rows + batch.num_rows, size + batch.nbytes
                if self._scope.cancelled_caught:
                    self._kept = None
                    raise PgError(SqlState.QUERY_CANCELED,
                                  "canceling statement due to user request")
            except PgError as err:
                self._kept = None
                if err.fatal:
                    await self._lose_executor()
                raise
            finally:
                self._scope = None
                self._idle()
                self._end_turn_if_idle()
            if not gathered:
                self._kept = None
                self._end_turn_if_idle()
                return None
            return kept.plan.batch(gathered[0] if len(gathered) == 1
                                   else pa.concat_batches(gathered))

    async def drop(self, ticket: bytes) -> None:
        """The client stopped reading a result: close it (the worker stops)."""
        async with self.lock:
            if self._kept is not None and self._kept.ticket == ticket:
                await self._drop_kept()

    async def _drop_kept(self) -> None:
        kept, self._kept = self._kept, None
        if kept is not None:
            with trio.CancelScope(shield=True):
                try:
                    await kept.batches.aclose()
                except PgError as err:
                    if err.fatal:
                        await self._lose_executor()
        self._end_turn_if_idle()

    # -- prepared statements ------------------------------------------------------------

    async def prepare(self, text: str, context=None) -> tuple[int, pa.Schema, pa.Schema]:
        """(handle, parameter schema, result schema: empty if it returns no rows)."""
        sql, setup, stmt = plan(text)

        async def call(executor: Executor) -> Prepared:
            nonlocal stmt
            for step in setup:
                await executor.execute(step, False)
            if stmt.transaction is None:
                stmt = await self._with_chars(executor, stmt)
            return await executor.prepare(stmt.engine_text if stmt.transaction is None
                                          else sql)

        async with self.lock:
            prepared = await self._run(text, call, context)
            self._handles += 1
            self._statements[self._handles] = _Statement(prepared, text, stmt.conflicts,
                                                         stmt)
        columns = arrow_types.client_schema(prepared.columns) \
            if is_result_set(prepared.columns) else pa.schema([])
        return self._handles, prepared.params, columns

    def statement(self, handle: int) -> _Statement:
        found = self._statements.get(handle)
        if found is None:
            raise PgError("26000", f"prepared statement {handle} does not exist "
                          "(closed, or its session was reopened after a worker failure)")
        return found

    async def bind(self, handle: int, row: list) -> None:
        self.statement(handle).row = row

    async def run_prepared(self, handle: int, row: list | None, context=None,
                           rows: bool = True) -> tuple[pa.Schema, bytes] | int:
        async with self.lock:
            stmt = self.statement(handle)
            params = stmt.row if row is None else row

            async def call(executor: Executor) -> Result:
                if stmt.conflicts:
                    await self._take_turn()
                origins = await self._origins(executor, stmt.statement)
                try:
                    return self._padded(await executor.execute_prepared(
                        stmt.prepared, params, None if rows else False), stmt.statement,
                        origins)
                finally:
                    self._catalog_changes(stmt.statement)

            try:
                result = await self._run(stmt.text, call, context)
                return await self._keep(result)
            finally:
                self._end_turn_if_idle()

    async def close_prepared(self, handle: int) -> None:
        async with self.lock:
            stmt = self._statements.pop(handle, None)
            if stmt is not None and not isinstance(self.executor, _NoExecutor):
                await self.executor.close_prepared(stmt.prepared)

    # -- metadata -----------------------------------------------------------------------

    async def rows(self, sql: str) -> list[tuple]:
        """The rows of a query of the server's own (catalog reads)."""
        async with self.lock:
            result = await self._run(sql, lambda executor: executor.execute(sql, True))
            out: list[tuple] = []
            if result.schema is not None:
                plan = arrow_types.Plan(result.schema)
                async for batch in result.batches():
                    out.extend(zip(*(c.to_pylist() for c in plan.batch(batch).columns)))
            return out

    async def describe(self, sql: str) -> pa.Schema:
        """The result columns of ``sql`` without running it."""
        async with self.lock:
            prepared = await self._run(sql, lambda executor: executor.prepare(sql))
            await self.executor.close_prepared(prepared)
        return arrow_types.client_schema(prepared.columns)


#: A statement's Sources and its relations' Tables (frontend/origins.py), or None.
Origins = tuple[Sources, list] | None


class _CatalogView:
    """What frontend/bpchar.py reads of a session to find the declared char(n) columns
    (through the server's cache while this session's view of the catalog is the
    server's): a Flight session has no SET, so its search_path is the default."""

    parameters = {"search_path": SEARCH_PATH}

    def __init__(self, session: FlightSession, executor: Executor) -> None:
        self.activity = session.activity
        self.catalogs = session.catalogs
        self._session = session
        self._executor = executor

    def shares_catalog(self) -> bool:
        session = self._session
        return not (session._catalog_dirty or session._private_catalog)

    async def query_rows(self, sql: str) -> list[tuple]:
        return await self._executor.query_rows(sql)


def _quoted(text: str) -> str:
    return text.replace("'", "''")
