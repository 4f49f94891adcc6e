"""The local engine: DuckDB inside this process (standalone mode).

Each PostgreSQL database name is one DuckDB file in ``data_dir``, opened once and
shared by every session on it; each session gets its own DuckDB connection, so
sessions see each other's committed data through DuckDB's MVCC and nothing else.
DuckDB is driven through its C API (``duckdb_capi``), and every call blocks, so calls
run in threads behind a CapacityLimiter: one thread hop per statement and one per
group of result batches. A database's DuckDB threads are chosen per statement
(``engine.threads``): one for a statement whose last run was short, all for others.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import TypeVar

import outcome
import pyarrow as pa
import trio

from duckgres_trio.engine import duckdb_capi as capi
from duckgres_trio.engine.base import (
    BUSY_WAIT_SECONDS,
    SETTLE_SECONDS,
    Engine,
    Executor,
    Prepared,
    Progress,
    Result,
)
from duckgres_trio.engine.databases import (
    busy,
    database_file,
    existing_database_file,
    is_lock_conflict,
    name_problem,
    new_database_file,
    no_database,
    remove_database_files,
)
from duckgres_trio.engine.errors import as_duckdb_exception, pg_error_from_duckdb
from duckgres_trio.engine.lake import Lake
from duckgres_trio.engine.threads import DatabaseThreads, shape
from duckgres_trio.engine.statement import (
    BATCH_ROWS,
    columns,
    connect,
    insert_batch,
    open_database,
    start,
    to_pg_error,
)
from duckgres_trio.errors import PgError

log = logging.getLogger(__name__)
T = TypeVar("T")

#: How long opening a database waits for another process (the one this server took
#: over from) to let its file go.
LOCK_WAIT_SECONDS = 60.0

#: A prepared statement whose last execution took less than this runs on the event
#: loop instead of a thread: the hop (100-300 us) costs as much as such a statement.
#: The loop is then blocked for about this long at most, unless a run that was quick
#: last time is slow this time (it then goes back to threads).
INLINE_SECONDS = 0.002



class LocalEngine(Engine):
    def __init__(
        self,
        data_dir: Path,
        *,
        auto_create: bool = True,
        max_concurrent: int = 64,
        duckdb_config: dict[str, str] | None = None,
        lake: Lake | None = None,
    ) -> None:
        self._data_dir = data_dir
        self._lake = lake  # DuckLake storage (engine.lake); None: DuckDB files
        self._auto_create = auto_create
        self._limiter = trio.CapacityLimiter(max_concurrent)
        self._config = duckdb_config or {}
        self._databases: dict[str, capi.Database] = {}
        #: each open database's DuckDB threads per statement; wide: the configured
        #: count, else the cores (DuckDB's own default)
        self._threads: dict[str, DatabaseThreads] = {}
        self._wide = int(self._config.get("threads") or 0) or os.cpu_count() or 1
        self._open_lock = trio.Lock()
        self._sessions: Counter[str] = Counter()
        self._dropping: dict[str, trio.Event] = {}
        self._handing_over = False

    async def open_session(self, database: str, user: str, *,
                           profile=None) -> LocalExecutor:
        """``profile`` changes nothing here: a database's sessions share one DuckDB
        instance, whose settings are the deployment's (docs/scale-out.md)."""
        while (dropping := self._dropping.get(database)) is not None:
            await dropping.wait()  # then it is gone (or auto-created anew below)
        # Counted from the start, so a DROP DATABASE meanwhile waits for this session.
        self._sessions[database] += 1
        try:
            db = await self._database(database)
            conn = await trio.to_thread.run_sync(connect, db, limiter=self._limiter)
        except BaseException:
            self._sessions[database] -= 1
            raise
        return LocalExecutor(conn, self._limiter, lambda: self._session_ended(database),
                             self._threads.get(database))

    async def create_database(self, name: str) -> None:
        async with self._open_lock:
            path = new_database_file(self._data_dir, name)
            if self._lake is not None:
                await trio.to_thread.run_sync(self._lake.check_new, name, limiter=self._limiter)
            self._data_dir.mkdir(parents=True, exist_ok=True)
            self._databases[name] = await self._open(name, path, severity="ERROR")
        if self._handing_over:
            await self._closed_for_handover(name)

    async def drop_database(self, name: str) -> bool:
        while (dropping := self._dropping.get(name)) is not None:
            await dropping.wait()
        if self._lake is not None:
            if name_problem(name) is not None or not await self._exists(name, Path()):
                return False
            path = None
        else:
            path = existing_database_file(self._data_dir, name)
            if path is None:
                return False
        done = self._dropping[name] = trio.Event()
        try:
            with trio.move_on_after(BUSY_WAIT_SECONDS):
                while self._sessions[name]:
                    await trio.sleep(0.05)
            if self._sessions[name]:
                raise busy(name, self._sessions[name])
            async with self._open_lock:
                await self._close_database(name)
                if path is None:
                    await trio.to_thread.run_sync(self._lake.drop, name, limiter=self._limiter)
                else:
                    remove_database_files(path)
            log.info("dropped database %r", name)
            return True
        finally:
            del self._dropping[name]
            done.set()

    async def handover(self, channel=None) -> None:
        """Close each database as soon as no session uses it: the process taking over
        opens the same files."""
        self._handing_over = True
        for name in [n for n in self._databases if not self._sessions[n]]:
            await self._closed_for_handover(name)

    async def _closed_for_handover(self, name: str) -> None:
        if await self._close_database(name):
            log.info("closed database %r", name)

    async def _session_ended(self, database: str) -> None:
        self._sessions[database] -= 1
        if self._handing_over and not self._sessions[database]:
            await self._closed_for_handover(database)

    async def _close_database(self, name: str) -> bool:
        db = self._databases.pop(name, None)
        threads = self._threads.pop(name, None)
        if db is None:
            return False

        def close() -> None:
            if threads is not None:  # its connection would keep the file open
                threads.close()
            db.close()

        await trio.to_thread.run_sync(close, limiter=self._limiter)
        return True

    async def _database(self, name: str) -> capi.Database:
        async with self._open_lock:
            db = self._databases.get(name)
            if db is not None:
                return db
            path = database_file(self._data_dir, name)
            if not self._auto_create and not await self._exists(name, path):
                raise no_database(name)
            if self._lake is None:
                self._data_dir.mkdir(parents=True, exist_ok=True)
            db = self._databases[name] = await self._open(name, path)
            return db

    async def _exists(self, name: str, path: Path) -> bool:
        if self._lake is None:
            return path.exists()
        return await trio.to_thread.run_sync(self._lake.exists, name, limiter=self._limiter)

    async def _open(self, name: str, path: Path, severity: str = "FATAL") -> capi.Database:
        """Open (or create) a database file, waiting for another process to let it go;
        a failure is FATAL to a session that wanted to connect."""
        deadline = trio.current_time() + LOCK_WAIT_SECONDS
        spec = None
        if self._lake is not None:
            spec = self._lake.spec(name)
            path, where = None, f"ducklake {spec['data_path']}"
        else:
            where = str(path)
        while True:
            try:
                db = await trio.to_thread.run_sync(
                    lambda: open_database(path and str(path), self._config, spec),
                    limiter=self._limiter)
                break
            except capi.DuckDBError as exc:
                if is_lock_conflict(str(exc)) and trio.current_time() < deadline:
                    # the process this one took over from still has it open
                    await trio.sleep(0.2)
                    continue
                err = pg_error_from_duckdb(as_duckdb_exception(str(exc)))
                raise PgError(err.sqlstate,
                              f'cannot open database "{name}": {err.message}',
                              severity=severity) from None
        log.info("opened database %r at %s", name, where)
        self._threads[name] = DatabaseThreads(db, self._wide)
        return db

    async def aclose(self) -> None:
        for name in list(self._databases):
            await self._close_database(name)


class LocalExecutor(Executor):
    def __init__(self, conn: capi.Connection, limiter: trio.CapacityLimiter,
                 closed: Callable[[], Awaitable[None]] | None = None,
                 threads: DatabaseThreads | None = None) -> None:
        self._conn = conn
        self._limiter = limiter
        self._closed = closed
        self._threads = threads  # the database's (engine.threads); None: DuckDB's own
        self._running = False

    async def execute(self, sql: str, returns_rows: bool | None) -> Result:
        def run() -> Result:
            with self._sized(shape(sql)):  # before planning too
                statement = self._conn.prepare(sql)
                try:
                    return self._start(statement, returns_rows)
                finally:
                    statement.close()

        return await self._call(run)

    async def prepare(self, sql: str) -> Prepared:
        def run() -> Prepared:
            statement = self._conn.prepare(sql)
            try:
                return Prepared(statement.param_schema(), columns(statement), statement)
            except BaseException:
                statement.close()
                raise

        return await self._call(run)

    async def execute_prepared(self, prepared: Prepared, params: Sequence[object],
                               returns_rows: bool | None) -> Result:
        statement: capi.Prepared = prepared.handle

        def run() -> Result:
            # the statement's own time: a change of the database's thread count
            # (``_sized``, once per switch) says nothing about the next run
            with self._sized(statement.sql):
                started = time.perf_counter()
                try:
                    statement.bind(params)
                    return self._start(statement, returns_rows)
                finally:
                    prepared.last_seconds = time.perf_counter() - started

        if prepared.last_seconds < INLINE_SECONDS:
            # Reliably quick (its last run took under INLINE_SECONDS): run it on the
            # event loop, saving the thread hop that would cost as much as the work.
            # A run that turns out slow sends the statement back to threads.
            await trio.lowlevel.checkpoint()
            return _unwrap(outcome.capture(run))
        return await self._call(run)

    async def insert_batch(self, target: str, batch: pa.RecordBatch) -> int:
        return await self._call(lambda: insert_batch(self._conn, target, batch))

    async def close_prepared(self, prepared: Prepared) -> None:
        prepared.handle.close()

    def _sized(self, key: str):
        """DuckDB's threads for this statement, known by ``key`` (``engine.threads``)."""
        return nullcontext() if self._threads is None else self._threads.running(key)

    def _start(self, statement: capi.Prepared, returns_rows: bool | None) -> Result:
        """In a thread: run the statement and pull its first batches."""
        started = start(statement, returns_rows)
        if started.schema is None:
            return Result(None, started.rowcount)
        return Result(started.schema, None, self._stream(started.result, started.first))

    async def _stream(self, result: capi.Result | None,
                      first: list[pa.RecordBatch]) -> AsyncIterator[pa.RecordBatch]:
        """The result's batches. The next fetch starts on a thread before the batches
        in hand are handed on, so DuckDB makes rows while the event loop encodes and
        sends these (DuckDB and the Rust codec both run without the GIL)."""
        ahead = None
        try:
            batches = first
            while True:
                if result is not None and not result.exhausted:  # no thread for small results
                    ahead = _FetchAhead(self, lambda: result.fetch(BATCH_ROWS))
                for batch in batches:
                    if batch.num_rows:
                        yield batch
                if ahead is None:
                    break
                batches = await ahead.wait()
                ahead = None
        finally:
            if ahead is not None:
                with trio.CancelScope(shield=True):
                    await ahead.settle()
            if result is not None:
                result.close()

    async def _call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` in a thread. If this task is cancelled meanwhile (statement_timeout,
        shutdown), interrupt DuckDB and wait, shielded, for the thread to stop: the
        connection must never be used by two threads."""
        call = _ThreadCall(fn, trio.lowlevel.current_trio_token())
        self._running = True
        try:
            captured = await trio.to_thread.run_sync(
                call.run, limiter=self._limiter, abandon_on_cancel=True)
        except trio.Cancelled:
            if call.abandon():
                self._conn.interrupt()
                with trio.CancelScope(shield=True):
                    await call.done.wait()
            raise
        finally:
            self._running = False
        return _unwrap(captured)

    def progress(self) -> Progress | None:
        """DuckDB's estimate for the running statement (asked from this thread while
        the statement runs in another: what the call is for)."""
        if not self._running:
            return None
        percent, rows, total = self._conn.progress()
        return Progress(percent if percent >= 0 else None, rows, total)

    def cancel(self) -> None:
        if self._running:
            self._conn.interrupt()

    async def close(self) -> None:
        await trio.to_thread.run_sync(self._conn.close, limiter=self._limiter)
        if self._closed is not None:
            await self._closed()


def _unwrap(captured: outcome.Outcome) -> T:
    """The call's value, or its error as the PgError to send."""
    try:
        return captured.unwrap()
    except Exception as exc:
        raise to_pg_error(exc) from None


class _FetchAhead:
    """A fetch started on a thread before its rows are wanted. It holds a place of the
    executor's limiter; with none free it runs later, through ``_call``, when waited
    for. The connection must not be used by two threads: until the thread is done,
    nothing else runs on it (the frontend parks other portals first) and the result is
    not closed (``settle``)."""

    def __init__(self, executor: LocalExecutor, fn: Callable[[], list[pa.RecordBatch]]) -> None:
        self._executor = executor
        self._fn = fn
        self._done = trio.Event()
        self._outcome: outcome.Outcome | None = None
        try:
            executor._limiter.acquire_on_behalf_of_nowait(self)
        except trio.WouldBlock:
            self._started = False
            return
        self._started = True
        executor._running = True
        token = trio.lowlevel.current_trio_token()

        def deliver(result: outcome.Outcome) -> None:  # on the thread
            self._outcome = result
            try:
                token.run_sync_soon(self._finished)
            except trio.RunFinishedError:
                pass

        trio.lowlevel.start_thread_soon(fn, deliver)

    def _finished(self) -> None:
        self._executor._limiter.release_on_behalf_of(self)
        self._executor._running = False
        self._done.set()

    async def wait(self) -> list[pa.RecordBatch]:
        if not self._started:
            return await self._executor._call(self._fn)
        await self._done.wait()
        return _unwrap(self._outcome)

    async def settle(self) -> None:
        """Wait (shielded caller) for the thread to end, interrupting DuckDB if it is
        still at work after SETTLE_SECONDS."""
        if not self._started:
            return
        with trio.move_on_after(SETTLE_SECONDS):
            await self._done.wait()
            return
        self._executor._conn.interrupt()
        await self._done.wait()


class _ThreadCall:
    """One DuckDB call in a worker thread that its trio task may stop waiting for.

    If the task is cancelled, ``abandon()`` tells whether the thread is still running;
    the thread then reports its end through ``done`` (set on the trio loop). The lock
    makes "finished" and "abandoned" agree, so ``done`` is set exactly when awaited.
    """

    def __init__(self, fn: Callable[[], object], token: trio.lowlevel.TrioToken) -> None:
        self._fn = fn
        self._token = token
        self._lock = threading.Lock()
        self._finished = False
        self._abandoned = False
        self.done = trio.Event()

    def run(self) -> outcome.Outcome:
        try:
            return outcome.capture(self._fn)  # errors come back as values, mapped in one place
        finally:
            with self._lock:
                self._finished = True
                notify = self._abandoned
            if notify:
                self._token.run_sync_soon(self.done.set)

    def abandon(self) -> bool:
        """Mark the call abandoned; True if the thread has not finished yet."""
        with self._lock:
            self._abandoned = True
            return not self._finished
