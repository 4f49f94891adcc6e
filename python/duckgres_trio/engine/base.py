"""The Executor interface: what the frontend needs from a DuckDB session.

Two implementations: ``local`` (DuckDB in this process, standalone mode) and
``remote`` (a session on a worker process; ``controlplane.sessions`` is its Engine). The frontend only sees this interface.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field

import pyarrow as pa
import trio


#: A result's next batches are fetched while the batches in hand are encoded and sent
#: (both engines). Once they are no longer wanted, a fetch still running after this
#: long is interrupted rather than waited for.
SETTLE_SECONDS = 0.2

#: How long DROP DATABASE waits for the sessions on the database to end before it
#: gives up with 55006 (PostgreSQL's CountOtherDBBackends waits 5 s too).
BUSY_WAIT_SECONDS = 5.0


@dataclass
class Result:
    """The outcome of one statement.

    ``schema`` is None when the statement returns no rows; then ``rowcount`` holds the
    affected-row count where DuckDB reports one. Rows arrive through ``batches()``,
    one Arrow record batch at a time, pulled on demand: a client that reads slowly makes
    the engine produce slowly.
    """

    schema: pa.Schema | None
    rowcount: int | None = None
    _batches: AsyncIterator[pa.RecordBatch] | None = field(default=None, repr=False)

    def batches(self) -> AsyncIterator[pa.RecordBatch]:
        if self._batches is None:
            return _empty()
        return self._batches


async def _empty() -> AsyncIterator[pa.RecordBatch]:
    return
    yield


#: The single column DuckDB reports for statements without a result set.
_NO_RESULT_COLUMNS = (["Success"], ["Count"])


def is_result_set(columns: pa.Schema) -> bool:
    """Whether DuckDB's result columns are rows for the client, not a status."""
    return len(columns) > 0 and columns.names not in _NO_RESULT_COLUMNS


@dataclass
class Prepared:
    """A statement prepared in the engine, described without being run.

    ``params``: one Arrow field per parameter ($1, $2, ...) with the type DuckDB infers
    (Arrow null type where it cannot). ``columns``: the result columns as DuckDB will
    produce them (for DML without RETURNING, its single "Count" column).
    ``handle`` belongs to the executor that made it.
    """

    params: pa.Schema
    columns: pa.Schema
    handle: object = field(repr=False)
    #: How long the last execution took in the engine (seconds); executors may use it
    #: to run statements that are reliably quick without a thread hop.
    last_seconds: float = float("inf")

    @property
    def unresolved(self) -> list[int]:
        """1-based numbers of the parameters DuckDB could not type."""
        return [i for i, f in enumerate(self.params, 1) if pa.types.is_null(f.type)]


@dataclass
class Progress:
    """How far the running statement is, as DuckDB estimates it. ``stalled``: the
    engine could not be asked (its last health check failed or timed out)."""

    percent: float | None
    rows: int | None
    total_rows: int | None
    stalled: bool = False


class Executor(ABC):
    """One client session's engine: runs statements one at a time.

    ``worker``: where the session runs ("w3": worker 3; None in this process)."""

    worker: str | None = None

    def progress(self) -> Progress | None:
        """The running statement's progress (None when idle or unknown)."""
        return None

    @abstractmethod
    async def execute(self, sql: str, returns_rows: bool | None) -> Result:
        """Run one statement; ``returns_rows`` is the classifier's hint (None: unknown).

        The returned Result must be fully consumed or closed (``aclose()`` on the batch
        iterator) before the next call. Cancelling the calling task interrupts the
        statement in the engine. Errors are raised as PgError.
        """

    async def query_rows(self, sql: str) -> list[tuple]:
        """All rows of a small (catalog) query, as Python tuples."""
        result = await self.execute(sql, True)
        rows: list[tuple] = []
        async with aclosing(result.batches()) as stream:
            async for batch in stream:
                rows.extend(zip(*(c.to_pylist() for c in batch.columns)))
        return rows

    @abstractmethod
    async def prepare(self, sql: str) -> Prepared:
        """Prepare (parse, bind, plan) one statement without running it."""

    @abstractmethod
    async def execute_prepared(self, prepared: Prepared, params: Sequence[object],
                               returns_rows: bool | None) -> Result:
        """Run a prepared statement with its parameter values bound natively."""

    @abstractmethod
    async def close_prepared(self, prepared: Prepared) -> None:
        """Release a prepared statement."""

    @abstractmethod
    async def insert_batch(self, target: str, batch: pa.RecordBatch) -> int:
        """Insert the rows of ``batch`` into ``target`` ("t" or "t (a, b)"), each column
        cast to the target column's type (COPY FROM); the number of rows inserted."""

    @abstractmethod
    def cancel(self) -> None:
        """Interrupt the running statement, if any. Safe to call from any task."""

    @abstractmethod
    async def close(self) -> None:
        """End the session: roll back what is open and release the engine connection."""


class Engine(ABC):
    """Opens sessions on databases."""

    async def run(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        """The engine's background work (a worker pool's health checks), started before
        the server listens and cancelled after its sessions have ended."""
        task_status.started()

    @abstractmethod
    async def open_session(self, database: str, user: str, *, profile=None) -> Executor:
        """A new session on ``database``; PgError 3D000 (FATAL) if it does not exist.
        ``profile`` (``engine.profiles.Profile``): the size of its worker, where a
        session has one (None: the deployment's default)."""

    @abstractmethod
    async def create_database(self, name: str) -> None:
        """CREATE DATABASE: make ``name``'s DuckDB file. PgError 42602 for a name no
        database can have, 42P04 if it exists."""

    @abstractmethod
    async def drop_database(self, name: str) -> bool:
        """DROP DATABASE: delete ``name``'s file once no session uses it; new sessions
        on it wait meanwhile. Sessions still ending are waited for up to
        BUSY_WAIT_SECONDS, then PgError 55006. False if there is no such database."""

    async def handover(self, channel=None) -> None:
        """Another server process takes over (an upgrade): no new sessions will come,
        so release each database file as soon as no session uses it (DuckDB lets one
        process at a time open a file). ``channel``: a socket to the successor, over
        which a control plane hands it its workers (controlplane.adoption)."""

    @abstractmethod
    async def aclose(self) -> None:
        """Close every database (checkpointing what was written)."""
