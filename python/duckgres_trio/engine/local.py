"""The local engine: DuckDB inside this process (standalone mode).

Each PostgreSQL database name is one DuckDB file in ``data_dir``, opened once and
shared by every session on it; each session gets its own DuckDB connection (a
``cursor()`` of the database), so sessions see each other's committed data through
DuckDB's MVCC and nothing else. DuckDB calls block, so they run in threads behind a
CapacityLimiter, one thread hop per statement and one per result batch.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TypeVar

import duckdb
import outcome
import pyarrow as pa
import trio

from duckgres_trio.engine.base import Engine, Executor, Result
from duckgres_trio.engine.errors import pg_error_from_duckdb
from duckgres_trio.errors import PgError, SqlState

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Rows per Arrow batch pulled from DuckDB: large enough to amortise a thread hop,
#: small enough that a batch of wide rows stays a few MiB.
BATCH_ROWS = 8192

_DB_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}")
# DuckDB names its own catalogs so; a file with one of these names cannot be attached.
_RESERVED = frozenset({"memory", "system", "temp", "main"})
# What DuckDB answers for statements without a result set.
_NO_ROWS_COLUMNS = (["Success"], ["Count"])


class LocalEngine(Engine):
    def __init__(
        self,
        data_dir: Path,
        *,
        auto_create: bool = True,
        max_concurrent: int = 64,
        duckdb_config: dict[str, str] | None = None,
    ) -> None:
        self._data_dir = data_dir
        self._auto_create = auto_create
        self._limiter = trio.CapacityLimiter(max_concurrent)
        self._config = {"arrow_lossless_conversion": True, **(duckdb_config or {})}
        self._databases: dict[str, duckdb.DuckDBPyConnection] = {}
        self._open_lock = trio.Lock()

    async def open_session(self, database: str, user: str) -> LocalExecutor:
        db = await self._database(database)
        conn = await trio.to_thread.run_sync(db.cursor, limiter=self._limiter)
        return LocalExecutor(conn, self._limiter)

    async def _database(self, name: str) -> duckdb.DuckDBPyConnection:
        async with self._open_lock:
            db = self._databases.get(name)
            if db is not None:
                return db
            path = self._path(name)
            if not path.exists() and not self._auto_create:
                raise _no_database(name)
            self._data_dir.mkdir(parents=True, exist_ok=True)
            try:
                db = await trio.to_thread.run_sync(
                    lambda: duckdb.connect(str(path), config=self._config),
                    limiter=self._limiter,
                )
            except duckdb.Error as exc:
                err = pg_error_from_duckdb(exc)
                raise PgError(err.sqlstate, f'cannot open database "{name}": {err.message}',
                              severity="FATAL") from None
            log.info("opened database %r at %s", name, path)
            self._databases[name] = db
            return db

    def _path(self, name: str) -> Path:
        if not _DB_NAME.fullmatch(name) or name.lower() in _RESERVED or ".." in name:
            raise PgError(
                SqlState.INVALID_CATALOG_NAME,
                f'database "{name}" does not exist',
                severity="FATAL",
                detail="Database names are 1-63 letters, digits, '_', '.' or '-', "
                "and not one of DuckDB's reserved catalog names.",
            )
        return self._data_dir / f"{name}.duckdb"

    async def aclose(self) -> None:
        databases, self._databases = self._databases, {}
        for name, db in databases.items():
            try:
                await trio.to_thread.run_sync(db.close, limiter=self._limiter)
            except duckdb.Error:
                log.exception("closing database %r failed", name)


def _no_database(name: str) -> PgError:
    return PgError(SqlState.INVALID_CATALOG_NAME, f'database "{name}" does not exist',
                   severity="FATAL")


class LocalExecutor(Executor):
    def __init__(self, conn: duckdb.DuckDBPyConnection, limiter: trio.CapacityLimiter) -> None:
        self._conn = conn
        self._limiter = limiter
        self._running = False

    async def execute(self, sql: str, returns_rows: bool | None) -> Result:
        return await self._call(lambda: self._start(sql, returns_rows))

    def _start(self, sql: str, returns_rows: bool | None) -> Result:
        """In a thread: run the statement and pull its first batch."""
        conn = self._conn
        conn.execute(sql)
        columns = [d[0] for d in conn.description] if conn.description else []
        if returns_rows is None:
            returns_rows = bool(columns) and columns not in _NO_ROWS_COLUMNS
        if not returns_rows:
            rowcount = None
            if columns == ["Count"]:
                row = conn.fetchone()
                rowcount = int(row[0]) if row else None
            return Result(None, rowcount)
        reader = conn.to_arrow_reader(BATCH_ROWS)
        first = _next_batch(reader)
        return Result(reader.schema, None, self._stream(reader, first))

    async def _stream(
        self, reader: pa.RecordBatchReader, first: pa.RecordBatch | None
    ) -> AsyncIterator[pa.RecordBatch]:
        try:
            batch = first
            while batch is not None:
                if batch.num_rows:
                    yield batch
                batch = await self._call(lambda: _next_batch(reader))
        finally:
            reader.close()

    async def _call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` in a thread; if this task is cancelled meanwhile, interrupt DuckDB
        and wait for the thread to stop (the connection is not usable before it does)."""
        box: list[outcome.Outcome] = []
        async with trio.open_nursery() as nursery:

            async def run() -> None:
                with trio.CancelScope(shield=True):
                    box.append(await outcome.acapture(
                        trio.to_thread.run_sync, fn, limiter=self._limiter))
                nursery.cancel_scope.cancel()

            self._running = True
            try:
                nursery.start_soon(run)
                await trio.sleep_forever()
            except trio.Cancelled:
                if not box:
                    self._conn.interrupt()
                raise
            finally:
                self._running = False
        try:
            return box[0].unwrap()
        except Exception as exc:  # DuckDB's, or pyarrow's while reading a batch
            raise pg_error_from_duckdb(exc) from None

    def cancel(self) -> None:
        if self._running:
            self._conn.interrupt()

    async def close(self) -> None:
        try:
            await trio.to_thread.run_sync(self._conn.close, limiter=self._limiter)
        except duckdb.Error:
            log.exception("closing a session's DuckDB connection failed")


def _next_batch(reader: pa.RecordBatchReader) -> pa.RecordBatch | None:
    try:
        return reader.read_next_batch()
    except StopIteration:
        return None
