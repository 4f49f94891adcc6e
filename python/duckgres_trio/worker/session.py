"""Client sessions on a worker: one DuckDB connection each, with its prepared
statements and its open result, and the registry that creates, finds and ends them.

Both ways into a worker (the statement path and Flight SQL) run statements through
``WorkerSession``, so they behave the same. Every method blocks; callers run them in
their own threads, one caller per session at a time (``lock``).
"""

from __future__ import annotations

import os
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager, nullcontext

import pyarrow as pa

from duckgres_trio.engine import duckdb_capi as capi
from duckgres_trio.engine.statement import (
    BATCH_ROWS,
    Started,
    columns,
    connect,
    insert_batch,
    open_database,
    start,
)
from duckgres_trio.engine.threads import DatabaseThreads, Threads, shape

#: DuckDB reports an error after which the database instance is unusable this way
#: ("FATAL Error: ...", "... database has been invalidated ...").
_FATAL = re.compile(r"^FATAL Error|database has been invalidated", re.IGNORECASE)
_MEMORY_LIMIT = re.compile(r"\d+(\.\d+)?\s*(B|KB|KiB|MB|MiB|GB|GiB|TB|TiB)?", re.IGNORECASE)


class Unavailable(Exception):
    """The worker is draining or full: the control plane should use another."""


class WorkerSession:
    def __init__(self, token: str, user: str, conn: capi.Connection,
                 on_fatal: Callable[[], None], threads: Threads | None = None) -> None:
        self.token = token
        self.user = user
        self.lock = threading.Lock()
        self.busy_since: float | None = None
        self._conn = conn
        self._on_fatal = on_fatal
        self._threads = threads
        #: handle -> (statement, described columns, its key for ``threads``)
        self._statements: dict[int, tuple[capi.Prepared, pa.Schema, str]] = {}
        self._next_handle = 1
        self._result: capi.Result | None = None

    # -- statements ----------------------------------------------------------------

    def execute(self, sql: str, returns_rows: bool | None) -> Started:
        with self._running():
            with self._sized(shape(sql)):  # before planning too
                statement = self._conn.prepare(sql)
                try:
                    return self._keep(start(statement, returns_rows))
                finally:
                    statement.close()

    def prepare(self, sql: str) -> tuple[int, pa.Schema, pa.Schema]:
        """Prepare ``sql``: (handle, parameter types, result columns)."""
        with self._running():
            statement = self._conn.prepare(sql)
            try:
                described = statement.param_schema(), columns(statement)
            except BaseException:
                statement.close()
                raise
            handle = self._next_handle
            self._next_handle += 1
            self._statements[handle] = (statement, described[1], sql)
            return (handle, *described)

    def run(self, handle: int, values: Sequence[object], returns_rows: bool | None) -> Started:
        with self._running():
            statement, _, key = self._statement(handle)
            statement.bind(values)
            with self._sized(key):
                return self._keep(start(statement, returns_rows))

    def insert_batch(self, target: str, batch: pa.RecordBatch) -> int:
        with self._running():
            self.drop_result()
            return insert_batch(self._conn, target, batch)

    def described_columns(self, handle: int) -> pa.Schema:
        return self._statement(handle)[1]

    def fetch(self, max_rows: int = BATCH_ROWS) -> tuple[list[pa.RecordBatch], bool]:
        """More rows of the open result: (batches, exhausted)."""
        if self._result is None:
            return [], True
        with self._running():
            batches = [b for b in self._result.fetch(max_rows) if b.num_rows]
        if self._result.exhausted:
            self._result = None
        return batches, self._result is None

    def drop_result(self) -> None:
        if self._result is not None:
            self._result.close()
            self._result = None

    def unprepare(self, handle: int) -> None:
        entry = self._statements.pop(handle, None)
        if entry is not None:
            entry[0].close()

    def _statement(self, handle: int) -> tuple[capi.Prepared, pa.Schema, str]:
        try:
            return self._statements[handle]
        except KeyError:
            raise capi.DuckDBError(
                f"Invalid Input Error: prepared statement {handle} does not exist") from None

    def _keep(self, started: Started) -> Started:
        self.drop_result()
        self._result = started.result
        return started

    def _sized(self, key: str):
        """DuckDB's threads for this statement (``engine.threads``)."""
        return nullcontext() if self._threads is None else self._threads.running(key)

    @contextmanager
    def _running(self):
        self.busy_since = time.monotonic()
        try:
            yield
        except capi.DuckDBError as exc:
            if _FATAL.search(str(exc)):
                self._on_fatal()
            raise
        finally:
            self.busy_since = None

    # -- control, from other threads -----------------------------------------------

    def interrupt(self) -> None:
        self._conn.interrupt()

    def progress(self) -> dict | None:
        """The running query's progress (None when idle)."""
        since = self.busy_since
        if since is None:
            return None
        percent, rows, total = self._conn.progress()
        return {"percentage": percent, "rows_processed": rows, "total_rows": total,
                "running_seconds": round(time.monotonic() - since, 3)}

    def run_setup(self, sql: str) -> None:
        self._conn.run(sql)

    def close(self) -> None:
        """Roll back what is open and release the connection (temporary objects and
        settings die with it). The caller holds ``lock``."""
        self.drop_result()
        for statement, *_ in self._statements.values():
            statement.close()
        self._statements.clear()
        try:
            self._conn.run("ROLLBACK")
        except capi.DuckDBError:
            pass  # no transaction was open
        self._conn.close()


class Sessions:
    """The sessions of this worker's one database.

    A worker may start before it knows its database (the control plane keeps spare
    workers warm): ``activate`` opens it, once; sessions can be created after that.
    """

    def __init__(self, max_sessions: int = 0) -> None:
        self._database: capi.Database | None = None
        self.database_path: str | None = None
        self._max = max_sessions
        self._sessions: dict[str, WorkerSession] = {}
        self._lock = threading.Lock()
        self.started = time.monotonic()
        self.draining = False
        self.invalidated = False
        #: DuckDB's threads per statement (``engine.threads``), once activated.
        self.threads: DatabaseThreads | None = None

    def activate(self, path: str | None, config: dict[str, str],
                 lake: dict[str, str] | None = None) -> None:
        """Open the database this worker owns (None: in-memory; ``lake``: a DuckLake,
        ``engine.lake``). Idempotent for the same database; a worker never switches
        databases."""
        wanted = path if lake is None else f"ducklake:{lake['name']}"
        with self._lock:
            if self._database is not None:
                if wanted != self.database_path:
                    raise ValueError(f"worker already owns {self.database_path or ':memory:'}")
                return
            self._database = open_database(path, config, lake)
            self.database_path = wanted
            # wide: the threads it was activated with (a worker profile's), else all
            # cores; a later SetLimits may change them
            self.threads = DatabaseThreads(
                self._database, int(config.get("threads") or 0) or os.cpu_count() or 1)

    @property
    def activated(self) -> bool:
        return self._database is not None

    def deactivate(self) -> None:
        """End every session and close the database, so ``activate`` may open another
        (a fleet worker released by its control plane: fleet.agent)."""
        for session in self.all():
            self.destroy(session.token, timeout=1.0)
        with self._lock:
            database, self._database, self.database_path = self._database, None, None
            threads, self.threads = self.threads, None
            self.invalidated = False
        if threads is not None:  # its connection would keep the instance open
            threads.close()
        if database is not None:
            database.close()

    def set_limits(self, limits: dict[str, str]) -> None:
        """Apply the control plane's share of memory and threads to this instance
        (DuckDB settings are per process)."""
        if self._database is None:
            return
        if limits.get("threads"):
            self.threads.set_wide(int(limits["threads"]))
        conn = self._database.connect()
        try:
            for sql in _limit_statements(limits.get("memory_limit")):
                conn.run(sql)
        finally:
            conn.close()

    def create(self, user: str, *, memory_limit: str | None = None,
               threads: int | None = None, replay: Iterable[str] = ()) -> WorkerSession:
        with self._lock:
            if self.draining:
                raise Unavailable("worker is draining")
            if self._database is None:
                raise Unavailable("worker has no database yet (not activated)")
            if self._max and len(self._sessions) >= self._max:
                raise Unavailable(f"max sessions reached ({self._max})")
            database = self._database
        conn = connect(database)
        session = WorkerSession(secrets.token_hex(32), user, conn, self._invalidate,
                                self.threads)
        try:
            # memory_limit and threads are per DuckDB instance: the control plane gives
            # every session of this process the same values.
            if threads:
                self.threads.set_wide(int(threads))
            for sql in [*_limit_statements(memory_limit), *replay]:
                session.run_setup(sql)
        except BaseException:
            session.close()
            raise
        with self._lock:
            self._sessions[session.token] = session
        return session

    def get(self, token: str) -> WorkerSession | None:
        return self._sessions.get(token)

    def destroy(self, token: str, timeout: float = 10.0) -> bool:
        """End a session: interrupt what runs, wait (bounded) for its caller to let go,
        roll back, release. False if there was no such session or it stayed busy."""
        with self._lock:
            session = self._sessions.pop(token, None)
        if session is None:
            return False
        session.interrupt()
        if not session.lock.acquire(timeout=timeout):
            return False
        try:
            session.close()
        finally:
            session.lock.release()
        return True

    def all(self) -> list[WorkerSession]:
        with self._lock:
            return list(self._sessions.values())

    def _invalidate(self) -> None:
        self.invalidated = True

    def health(self, progress_timeout: float = 0.5) -> dict:
        # not self.all(): activate holds _lock while it opens the database, and a
        # lake's ATTACH can take longer than the control plane's health checks wait
        # (it would retire a healthy worker mid-activation); list() of a dict's
        # values is one step under the GIL
        sessions = list(self._sessions.values())
        progress = _bounded(lambda: {s.token[:8]: p for s in sessions
                                     if (p := s.progress()) is not None}, progress_timeout)
        return {
            "healthy": not self.invalidated,
            "activated": self._database is not None,
            "draining": self.draining,
            "sessions": len(sessions),
            "active_queries": sum(1 for s in sessions if s.busy_since is not None),
            "uptime_seconds": round(time.monotonic() - self.started, 3),
            "invalidated": self.invalidated,
            "progress": progress,
            "progress_timed_out": progress is None,
        }

    def close(self) -> None:
        """End every session and close the database (checkpointing it)."""
        for session in self.all():
            self.destroy(session.token, timeout=1.0)
        if self.threads is not None:
            self.threads.close()
        if self._database is not None:
            self._database.close()


def _limit_statements(memory_limit: str | None) -> list[str]:
    """The memory limit as SQL; threads go through ``Sessions.threads``."""
    statements = []
    if memory_limit:
        if not _MEMORY_LIMIT.fullmatch(str(memory_limit).strip()):
            raise ValueError(f"invalid memory_limit {memory_limit!r}")
        statements.append(f"SET memory_limit = '{str(memory_limit).strip()}'")
    return statements


def _bounded(fn: Callable[[], dict], timeout: float) -> dict | None:
    """``fn()`` in a helper thread, or None if it takes longer than ``timeout``: the
    health check must answer even if DuckDB holds a lock the progress call needs."""
    box: list[dict] = []
    thread = threading.Thread(target=lambda: box.append(fn()), daemon=True)
    thread.start()
    thread.join(timeout)
    return box[0] if box else None
