"""The fleet's janitor: exactly one at a time among all control planes, elected with a
PostgreSQL advisory lock held on a connection of its own. Losing that connection (a
crash, a partition, the store restarting) loses the lock, so another control plane's
next try takes over; a sweep that fails gives the lock up the same way.

Every ``period`` the leader: marks control planes silent longer than the lease
expired; retires workers whose owner expired or stopped more than ``grace`` ago (the
worker sees it at its next heartbeat and registers again, idle, under a newer epoch);
marks workers silent longer than the lease lost; retires workers stuck reserved or
activating; retires hot-idle workers past their TTL whose owner is gone (a live owner
retires its own; the janitor backs it up a lease later) and the longest idle above an
organisation's ``max_hot_idle_workers``. Each step is one conditional UPDATE, so two
janitors (a partitioned former leader) would only repeat each other's harmless work.

``application_name`` on the connection names the control plane (``duckgres janitor
<id>``): who leads is visible in pg_locks / pg_stat_activity.
"""

from __future__ import annotations

import logging

import trio
from psycopg import Error as PsycopgError
from psycopg.conninfo import make_conninfo

from duckgres_trio.fleet import records
from duckgres_trio.tenancy.pgtrio import Connection

log = logging.getLogger(__name__)

#: pg_advisory_lock key of the janitor (distinct from the migrations').
LOCK_KEY = int.from_bytes(b"dgjanitr", "big") & 0x7FFFFFFFFFFFFFFF


class Janitor:
    def __init__(self, dsn: str, cp_id, *, lease: float, grace: float, period: float,
                 stuck: float) -> None:
        self._dsn = dsn
        self._cp_id = cp_id  # callable: the id is final only once the server is built
        self.lease, self.grace, self.period, self.stuck = lease, grace, period, stuck
        self.leader = False
        self.sweeps = 0

    async def run(self) -> None:
        backoff = 0.25
        while True:
            conn = None
            try:
                conn = await Connection.connect(make_conninfo(
                    self._dsn, application_name=f"duckgres janitor {self._cp_id()}"[:63]))
                while True:
                    if not self.leader:
                        [(got,)] = await conn.query("SELECT pg_try_advisory_lock($1)",
                                                    [LOCK_KEY])
                        if got == "t":
                            self.leader = True
                            log.info("fleet janitor: this control plane (%s) leads",
                                     self._cp_id())
                    if self.leader:
                        await self.sweep(conn)
                    backoff = 0.25
                    await trio.sleep(self.period)
            except Exception as exc:  # noqa: BLE001 - never stop the server's nursery
                if not isinstance(exc, (PsycopgError, OSError)):
                    log.exception("fleet janitor: unexpected failure; starting over")
                if self.leader:
                    log.warning("fleet janitor: lost leadership: %s",
                                (str(exc).splitlines() or [type(exc).__name__])[0])
                self.leader = False
                await trio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            finally:
                if conn is not None:
                    conn.close()  # closing the session releases the lock
                self.leader = False

    async def sweep(self, conn: Connection) -> None:
        expired = await records.expire_control_planes(conn, self.lease)
        reclaimed = await records.reclaim_orphans(conn, self.grace)
        lost = await records.mark_silent_lost(conn, self.lease)
        stuck = await records.retire_stuck(conn, self.stuck)
        ttl = await records.retire_hot_idle(conn, self.lease)
        capped = await records.retire_hot_idle_over_cap(conn)
        self.sweeps += 1
        for what, ids in (("expired control planes", expired),
                          ("reclaimed workers of expired control planes", reclaimed),
                          ("workers lost (silent)", lost), ("workers stuck activating", stuck),
                          ("hot-idle workers past their TTL", ttl),
                          ("hot-idle workers above their organisation's cap", capped)):
            if ids:
                log.warning("fleet janitor: %s: %s", what, ", ".join(map(str, ids)))
