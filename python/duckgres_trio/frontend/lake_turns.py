"""Write turns held in the DuckLake catalog's PostgreSQL (storage: ducklake).

Several server processes (two standalone servers, later several control planes) may
serve one lake, so a turn held in one process's memory would not make another's
writers wait. ``LakeTurns`` keeps ``LocalTurns``' FIFO for its own sessions and, while
one of them holds a database's turn, holds ``pg_advisory_lock(key)`` on a connection
of its own to the catalog, where every process serving that lake must take it too:

- **Local first, then PostgreSQL**, always in this order: a session first waits in
  this process's queue; only its head asks PostgreSQL, so one process has at most one
  lock request per database in the catalog and uncontended local hand-overs cost no
  round trip: the lock passes to the next local holder with the local turn, at most
  ``HANDOVERS`` times in a row, then it is released so that another process's waiter
  (queued in PostgreSQL since) gets its go.
- **Bounded like the local wait**: the lock request runs in the session's cancel scope
  (lock_timeout, statement_timeout, cancel). A cancelled request closes its connection
  (pgtrio drops a connection whose protocol state is lost): PostgreSQL then forgets
  the request, or releases the lock if it had just been granted.
- **Released by whatever ends**: ``give_back`` never blocks: it sends the unlock at
  once (before the session answers its COMMIT) and a task of its own reads the reply;
  the next request goes on another connection (PostgreSQL orders the two). A server
  that dies closes its connections, and PostgreSQL releases their locks.

The key is a 64-bit hash of the lake's schema in the catalog (``<org>/<database>`` or
``<database>``), the name every process serving the lake uses for it.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

import trio
from psycopg import errors as pg_errors

from duckgres_trio.errors import PgError
from duckgres_trio.frontend.turns import LocalTurns, TurnBusy, Turns
from duckgres_trio.tenancy import pgtrio

log = logging.getLogger(__name__)

#: Local hand-overs of a held lock in a row before it goes back to PostgreSQL's queue.
HANDOVERS = 8
#: Idle catalog connections kept for the next lock (beyond it they are closed).
IDLE = 4
#: An unlock that takes longer closes its connection (PostgreSQL then releases).
UNLOCK_TIMEOUT = 10.0
_APPLICATION = "duckgres-trio write turns"


def lock_key(schema: str) -> int:
    """The advisory lock key (signed 64-bit, as pg_advisory_lock takes it) of the lake
    whose catalog schema is ``schema``: the same in every process."""
    digest = hashlib.blake2b(b"duckgres-trio write turn\0" + schema.encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big", signed=True)


@dataclass
class _Held:
    """The catalog connection holding a database's lock, and the local hand-overs
    since PostgreSQL granted it."""
    conn: pgtrio.Connection
    handovers: int = 0


class LakeTurns(Turns):
    """Turns of DuckLake databases: ``LocalTurns`` here, an advisory lock in the
    catalog (``dsn``) across processes. ``schema_prefix``: an organisation's
    ``<org>/`` before its databases' schema names (engine.lake.Lake)."""

    def __init__(self, dsn: str, schema_prefix: str = "") -> None:
        self._dsn = dsn
        self._prefix = schema_prefix
        self._local = LocalTurns()
        self._held: dict[str, _Held] = {}
        self._idle: list[pgtrio.Connection] = []

    async def take(self, database: str, holder: int, *, nowait: bool = False) -> None:
        try:
            await self._local.take(database, holder, nowait=nowait)
        except BaseException:
            # granted a handed-over lock just as it gave up: nobody here has it now
            if self._local.holder(database) is None and database in self._held:
                self._release(database)
            raise
        if database in self._held:
            return  # this process holds the lock: handed over with the local turn
        try:
            conn = await self._lock(lock_key(self._prefix + database), nowait)
        except BaseException:
            self._local.give_back(database, holder)  # the next local waiter asks itself
            raise
        self._held[database] = _Held(conn)

    def give_back(self, database: str, holder: int) -> None:
        if self._local.holder(database) != holder:
            self._local.give_back(database, holder)  # a waiter leaving the queue
            return
        held = self._held.get(database)
        self._local.give_back(database, holder)
        if held is None:
            return
        if self._local.holder(database) is not None and held.handovers < HANDOVERS:
            held.handovers += 1
            return
        self._release(database)

    def holder(self, database: str) -> int | None:
        return self._local.holder(database)

    def _release(self, database: str) -> None:
        """Unlock now: the request leaves before the session's COMMIT is answered, so
        a client that goes on to another server finds the lock free (LOCK ... NOWAIT
        too); its reply is read by a task of its own."""
        conn = self._held.pop(database).conn
        try:
            conn.send("SELECT pg_advisory_unlock($1)", [lock_key(self._prefix + database)])
        except (pg_errors.Error, OSError) as exc:
            self._lost(conn, exc)
            return
        trio.lowlevel.spawn_system_task(self._unlocked, conn)

    async def _lock(self, key: int, nowait: bool) -> pgtrio.Connection:
        """A connection that holds the lock ``key``; waits for it as long as the
        caller's cancel scope lets it (``nowait``: TurnBusy if another process holds
        it). A pooled connection that turns out dead is replaced; an unreachable
        catalog is 08006."""
        while True:
            pooled, conn = bool(self._idle), None
            try:
                conn = self._idle.pop() if pooled else await self._connect()
                if nowait:
                    rows = await conn.query("SELECT pg_try_advisory_lock($1)", [key])
                    if rows != [("t",)]:
                        self._keep(conn)
                        raise TurnBusy
                    return conn
                cancel = conn.pgconn.get_cancel()
                try:
                    await conn.query("SELECT pg_advisory_lock($1)", [key], timeout=None)
                except (trio.Cancelled, KeyboardInterrupt):
                    # the connection is closed, but its backend waits on in the lock's
                    # queue until it would be granted: interrupt it now
                    trio.lowlevel.spawn_system_task(_cancel_request, cancel)
                    raise
                return conn
            except pg_errors.OperationalError as exc:
                if pooled:
                    conn.close()
                    continue  # it died while idle (the catalog restarted): a new one
                raise PgError("08006", "could not reach the DuckLake catalog database: "
                              f"{_reason(exc)}") from None
            except pg_errors.Error as exc:  # the catalog refused (e.g. its own timeouts)
                if conn is not None:
                    conn.close()
                raise PgError(exc.sqlstate or "XX000", f"write turn: {_reason(exc)}") from None

    async def _connect(self) -> pgtrio.Connection:
        conn = await pgtrio.Connection.connect(self._dsn)
        try:
            # the catalog's own timeouts must not end a wait the session bounds itself
            await conn.query("SELECT set_config('application_name', $1, false), "
                             "set_config('lock_timeout', '0', false), "
                             "set_config('statement_timeout', '0', false), "
                             "set_config('idle_in_transaction_session_timeout', '0', false)",
                             [_APPLICATION])
        except BaseException:
            conn.close()
            raise
        return conn

    async def _unlocked(self, conn: pgtrio.Connection) -> None:
        try:
            await conn.receive(timeout=UNLOCK_TIMEOUT)
        except (pg_errors.Error, OSError) as exc:
            self._lost(conn, exc)
            return
        except BaseException:
            conn.close()
            raise
        self._keep(conn)

    @staticmethod
    def _lost(conn: pgtrio.Connection, exc: BaseException) -> None:
        log.warning("write turn: unlock failed (%s); closing its catalog connection",
                    _reason(exc))
        conn.close()  # PostgreSQL releases the lock with the connection

    def _keep(self, conn: pgtrio.Connection) -> None:
        """Keep a connection that holds no lock for the next request (or close it)."""
        if len(self._idle) < IDLE:
            self._idle.append(conn)
        else:
            conn.close()


async def _cancel_request(cancel) -> None:
    """Send PostgreSQL a CancelRequest for an abandoned lock request (libpq's call
    blocks: in a thread, abandoned at shutdown)."""
    try:
        await trio.to_thread.run_sync(cancel.cancel, abandon_on_cancel=True)
    except Exception as exc:  # the backend ends anyway when the lock is granted
        log.warning("write turn: could not cancel an abandoned lock request (%s)",
                    _reason(exc))


def _reason(exc: BaseException) -> str:
    """libpq's or PostgreSQL's first line, never the connection string."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
