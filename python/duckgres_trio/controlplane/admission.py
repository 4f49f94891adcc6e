"""vCPU admission: an organisation's sessions hold at most its ``max_vcpus`` at once.

Each session takes its worker profile's ``cpu`` (``engine.profiles``) when it opens and
gives it back when it ends. A request that can never fit (more than ``max_vcpus`` on
its own) is FATAL 53400 at once; one that does not fit now waits, looking again
whenever a session here ends and every POLL seconds (another control plane's may have
ended), until the connection queue's deadline (``worker_queue_timeout``), then FATAL
53300 with a HINT saying when to retry.

With a config store the count is in the store (``duckgres.vcpu_reservations``,
migration 0003), so the limit holds across every control plane: a reservation is
one row, inserted under a transaction-scoped advisory lock per organisation only while
the organisation's sum stays within the limit. A row counts only while its control
plane's row in ``duckgres.control_planes`` is alive (heartbeat within the lease, not
expired or stopped); the next admission of that organisation deletes the others, so a
control plane killed with sessions open gives their vCPUs back within the lease.
Without a store (one process) the same count is kept in memory.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Callable

import trio
from psycopg import Error as PsycopgError

from duckgres_trio.errors import PgError, SqlState

log = logging.getLogger(__name__)

CONFIGURATION_LIMIT_EXCEEDED = "53400"
#: How often a waiting request looks again when nothing here has changed.
POLL = 0.25
#: The advisory-lock class (first key) of the per-organisation admission lock.
LOCK_CLASS = int.from_bytes(b"vcpu", "big")


def never_fits(org: str, vcpus: int, limit: int) -> PgError:
    return PgError(CONFIGURATION_LIMIT_EXCEEDED,
                   f'worker profile needs {vcpus} vCPUs, more than organisation "{org}" may '
                   f"use at once (max_vcpus {limit})", severity="FATAL",
                   hint=f"Connect with duckgres.worker_cpu at most {limit}.")


def timed_out(org: str, vcpus: int, limit: int, waited: float) -> PgError:
    retry = max(1, math.ceil(min(waited, 60.0) / 4))
    return PgError(SqlState.TOO_MANY_CONNECTIONS,
                   f'too many vCPUs in use for organisation "{org}": {vcpus} did not become '
                   f"free within {waited:g} s", severity="FATAL",
                   detail=f"Its sessions' worker profiles may hold {limit} vCPUs at once.",
                   hint=f"Retry after {retry} s, or connect with a smaller "
                   "duckgres.worker_cpu.")


class Admission:
    """The in-memory count (one control plane); ``StoreAdmission`` shares it."""

    def __init__(self) -> None:
        self.used: Counter[str] = Counter()
        self._changed = trio.Event()

    async def take(self, org: str, vcpus: int, limit: Callable[[], int | None],
                   timeout: float, deadline: float | None = None):
        """A ticket for ``give`` once ``org`` has room for ``vcpus`` under ``limit()``
        (re-read while waiting: the snapshot may change), None when it has no limit;
        PgError 53400 / 53300 as the module says. ``deadline`` (trio time): a moment
        before the caller's own, so this one's 53300 is the one raised; else now +
        ``timeout``."""
        if deadline is None:
            deadline = trio.current_time() + (timeout or math.inf)
        with trio.move_on_at(deadline):
            while True:
                cap = limit()
                if cap is None:
                    return None
                if vcpus > cap:
                    raise never_fits(org, vcpus, cap)
                changed = self._changed
                ticket = await self._try(org, vcpus, cap)
                if ticket is not None:
                    return ticket
                with trio.move_on_after(self._poll()):
                    await changed.wait()
        raise timed_out(org, vcpus, limit() or 0, timeout)

    async def give(self, ticket) -> None:
        if ticket is None:
            return
        await self._give(ticket)
        self._changed.set()
        self._changed = trio.Event()

    # -- the count ------------------------------------------------------------------------

    def _poll(self) -> float:
        return math.inf  # only this process changes the count

    async def _try(self, org: str, vcpus: int, cap: int):
        if self.used[org] + vcpus > cap:
            return None
        self.used[org] += vcpus
        return (org, vcpus)

    async def _give(self, ticket) -> None:
        org, vcpus = ticket
        self.used[org] -= vcpus


class StoreAdmission(Admission):
    """The count in the config store, shared by every control plane."""

    def __init__(self, dsn: str, lease: float) -> None:
        super().__init__()
        self.dsn = dsn
        self.lease = lease
        #: this control plane's id in duckgres.control_planes (cli sets it)
        self.cp_id = ""
        self._conn = None
        self._lock = trio.Lock()  # one transaction at a time on the connection

    def _poll(self) -> float:
        return POLL

    async def _try(self, org: str, vcpus: int, cap: int):
        rows = await self._transaction(
            ("SELECT pg_advisory_xact_lock($1::int, hashtext($2))", [LOCK_CLASS, org]),
            (f"DELETE FROM {_R} r WHERE r.org = $1 AND NOT EXISTS (SELECT 1 FROM {_CP} c "
             "WHERE c.id = r.control_plane AND c.stopped_at IS NULL AND c.expired_at IS NULL "
             "AND c.heartbeat > now() - make_interval(secs => $2::float8))", [org, self.lease]),
            (f"INSERT INTO {_R} (org, control_plane, vcpus) SELECT $1, $2, $3::int WHERE "
             f"(SELECT coalesce(sum(vcpus), 0) FROM {_R} WHERE org = $1) + $3::int <= $4::int "
             "RETURNING id", [org, self.cp_id, vcpus, cap]))
        return int(rows[0][0]) if rows else None

    async def _give(self, ticket) -> None:
        try:
            await self._transaction((f"DELETE FROM {_R} WHERE id = $1::bigint", [ticket]))
        except PgError as exc:  # counted until its control plane's row dies
            log.warning("vCPU reservation %s not given back: %s", ticket, exc.message)

    async def _transaction(self, *statements):
        """The statements in one transaction on this admission's own connection; the
        last one's rows. A store that cannot be reached is FATAL 08006 for the session."""
        # shielded: a transaction cut off in mid-statement would leave the connection
        # inside it, holding the lock (bounded: the store's queries time out)
        with trio.CancelScope(shield=True):
            async with self._lock:
                return await self._run(statements)

    async def _run(self, statements):
        from duckgres_trio.tenancy.pgtrio import Connection

        for attempt in (1, 2):
            try:
                if self._conn is None or self._conn.closed:
                    self._conn = await Connection.connect(self.dsn)
                await self._conn.query("BEGIN")
                rows = []
                for sql, params in statements:
                    rows = await self._conn.query(sql, params)
                await self._conn.query("COMMIT")
                return rows
            except (PsycopgError, OSError) as exc:
                if self._conn is not None:
                    self._conn.close()
                    self._conn = None
                if attempt == 2:
                    raise PgError(SqlState.CONNECTION_FAILURE,
                                  "cannot count vCPUs in the config store: "
                                  f"{str(exc).splitlines()[0] if str(exc) else exc!r}",
                                  severity="FATAL") from None
        raise AssertionError


_R = "duckgres.vcpu_reservations"
_CP = "duckgres.control_planes"
