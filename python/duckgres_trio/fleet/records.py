"""The fleet's rows in the config store (migration 0002_fleet.sql): every write is one
statement, and every ownership change is a compare-and-set on (state, owner, epoch)
whose miss is an outcome (None / False), never an exception.

Workers write their own registration and heartbeat; control planes claim, transition
and release; the janitor expires and reclaims. Parameters go as text (tenancy.pgtrio).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from duckgres_trio import metrics
from duckgres_trio.tenancy.migrate import SCHEMA
from duckgres_trio.tenancy.pgtrio import Connection

log = logging.getLogger(__name__)

W = f"{SCHEMA}.fleet_workers"
CP = f"{SCHEMA}.control_planes"

#: States in which a control plane holds the worker.
OWNED = ("reserved", "activating", "hot", "hot_idle", "draining")
#: A control plane that is neither expired nor stopped (``c`` is its row).
_ALIVE = "c.expired_at IS NULL AND c.stopped_at IS NULL"


#: A hot_idle row's TTL has passed (the row is ``w``, or the only table): its TTL counts
#: from state_since, set when it became hot_idle; 0 or none is no TTL.
_TTL_PASSED = ("(coalesce(hot_idle_ttl, 0) > 0 "
               "AND state_since + make_interval(secs => hot_idle_ttl) < now())")


@dataclass(frozen=True)
class Claimed:
    id: int
    name: str
    statement_address: str
    tls: bool
    epoch: int


# -- the worker's own row ---------------------------------------------------------------

async def register(conn: Connection, *, name: str, statement_address: str, tls: bool,
                   version: str, cpu: int, memory: int, host: str, pid: int,
                   incarnation: str) -> tuple[int, int]:
    """Insert or take over the row of ``name`` as idle and unowned, bumping its epoch
    (whatever held it before is fenced off): (id, epoch)."""
    [(wid, epoch)] = await conn.query(
        f"INSERT INTO {W} (name, statement_address, tls, version, cpu, memory, host, pid, "
        "incarnation, state) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'idle') "
        "ON CONFLICT (name) DO UPDATE SET statement_address = excluded.statement_address, "
        "tls = excluded.tls, version = excluded.version, cpu = excluded.cpu, "
        "memory = excluded.memory, host = excluded.host, pid = excluded.pid, "
        "incarnation = excluded.incarnation, state = 'idle', owner_cp = NULL, "
        f"owner_epoch = {W}.owner_epoch + 1, org = NULL, database = NULL, "
        "retire_reason = NULL, pool_key = NULL, hot_idle_ttl = NULL, profile = NULL, "
        "registered_at = now(), heartbeat_at = now(), "
        "state_since = now() RETURNING id, owner_epoch",
        [name, statement_address, "true" if tls else "false", version, cpu, memory, host,
         pid, incarnation])
    return int(wid), int(epoch)


async def heartbeat(conn: Connection, wid: int, incarnation: str
                    ) -> tuple[str, str | None, int] | None:
    """Beat this registration's row: (state, owner, epoch), or None when another
    registration of the same name took it."""
    rows = await conn.query(
        f"UPDATE {W} SET heartbeat_at = now() WHERE id = $1 AND incarnation = $2 "
        "RETURNING state, owner_cp, owner_epoch", [wid, incarnation])
    if not rows:
        return None
    state, owner, epoch = rows[0]
    return str(state), owner, int(epoch)


# -- control planes -----------------------------------------------------------------------

#: An idle worker offers at least the wanted cpu ($3) and memory ($4, bytes).
_FITS = "(cpu >= $3::int AND memory >= $4::bigint)"


async def claim(conn: Connection, cp: str, lease: float, cpu: int = 0,
                memory: int = 0) -> Claimed | None:
    """Take one idle worker that heartbeats (one conditional write; SKIP LOCKED so
    concurrent claimers take different rows): reserved, owned by ``cp``, epoch bumped.

    Placement: the smallest worker that offers the profile's ``cpu`` and ``memory``
    (bytes; 0: any), so large workers stay free for large profiles; when none does,
    the largest there is (the session is served, on fewer cores than it asked for)."""
    rows = await conn.query(
        f"UPDATE {W} SET state = 'reserved', owner_cp = $1, owner_epoch = owner_epoch + 1, "
        "state_since = now() WHERE id = (SELECT id FROM "
        f"{W} WHERE state = 'idle' AND heartbeat_at > now() - make_interval(secs => $2) "
        f"ORDER BY {_FITS} DESC, CASE WHEN {_FITS} THEN cpu ELSE -cpu END, "
        f"CASE WHEN {_FITS} THEN memory ELSE -memory END, heartbeat_at DESC "
        "LIMIT 1 FOR UPDATE SKIP LOCKED) "
        "RETURNING id, name, statement_address, tls, owner_epoch, cpu, memory",
        [cp, lease, cpu, memory])
    if not rows:
        return None
    wid, name, statement, tls, epoch, offered_cpu, offered_memory = rows[0]
    if int(offered_cpu) < cpu or int(offered_memory) < memory:
        log.warning("fleet: no idle worker offers %d cpu and %d bytes; worker %s offers "
                    "%s cpu and %s bytes", cpu, memory, name, offered_cpu, offered_memory)
    return Claimed(int(wid), str(name), str(statement), tls == "t", int(epoch))


async def claim_hot_idle(conn: Connection, cp: str, lease: float, key: str,
                         org: str | None = None) -> Claimed | None:
    """Take over a worker another control plane (or this one, before a restart, or one
    that is gone) left ``hot_idle`` for the same ``key`` and organisation, before its
    TTL: still activated, no re-attach. The previous owner's epoch is fenced off by the
    bump. The organisation is compared on its own too, not only through the key."""
    rows = await conn.query(
        f"UPDATE {W} SET state = 'hot', owner_cp = $1, owner_epoch = owner_epoch + 1, "
        "state_since = now() WHERE id = (SELECT id FROM "
        f"{W} WHERE state = 'hot_idle' AND pool_key = $3 AND org IS NOT DISTINCT FROM $4 "
        "AND heartbeat_at > now() - make_interval(secs => $2) "
        f"AND NOT {_TTL_PASSED} "
        "ORDER BY state_since DESC LIMIT 1 FOR UPDATE SKIP LOCKED) "
        "RETURNING id, name, statement_address, tls, owner_epoch", [cp, lease, key, org])
    if not rows:
        return None
    wid, name, statement, tls, epoch = rows[0]
    return Claimed(int(wid), str(name), str(statement), tls == "t", int(epoch))


async def transition(conn: Connection, wid: int, cp: str, epoch: int, old: tuple[str, ...],
                     new: str, *, org: str | None = None, database: str | None = None,
                     reason: str | None = None, key: str | None = None,
                     ttl: float | None = None, profile: str | None = None) -> bool:
    """Compare-and-set: ``new`` only while the row is in one of ``old`` under (cp,
    epoch). A miss is counted and logged and returns False. ``ttl``: the seconds it may
    stay hot_idle (from ``state_since``), kept where not given; so is ``profile``
    (JSON: the worker profile it was activated with)."""
    rows = await conn.query(
        f"UPDATE {W} SET state = $4, state_since = now(), org = coalesce($5, org), "
        "database = coalesce($6, database), retire_reason = coalesce($7, retire_reason), "
        "pool_key = coalesce($9, pool_key), hot_idle_ttl = coalesce($10::float8, hot_idle_ttl), "
        "profile = coalesce($11::jsonb, profile) "
        "WHERE id = $1 AND owner_cp = $2 AND owner_epoch = $3 AND state = ANY($8::text[]) "
        "RETURNING id",
        [wid, cp, epoch, new, org, database, reason, "{" + ",".join(old) + "}", key, ttl,
         profile])
    if rows:
        metrics.worker_transitions.labels(new, "ok", "fleet").inc()
        return True
    metrics.worker_transitions.labels(new, "miss", "fleet").inc()
    log.warning("fleet worker %d: %s -> %s missed (no longer held under %s epoch %d)",
                wid, "/".join(old), new, cp, epoch)
    return False


@dataclass(frozen=True)
class Adopted:
    claimed: Claimed
    state: str
    org: str | None
    database: str | None
    key: str | None
    ttl: float | None
    profile: str | None
    idle_seconds: float


async def adopt(conn: Connection, wid: int, old_cp: str, epoch: int, cp: str
                ) -> Adopted | None:
    """An upgrade: move a hot or hot-idle worker from the predecessor ``old_cp`` (held
    under ``epoch``) to ``cp`` under ``epoch + 1``, one compare-and-set. Its state and
    ``state_since`` stay (a hot-idle TTL goes on counting). None: a miss (someone
    else took it meanwhile, or it was written off)."""
    rows = await conn.query(
        f"UPDATE {W} SET owner_cp = $3, owner_epoch = owner_epoch + 1 "
        "WHERE id = $1 AND owner_cp = $2 AND owner_epoch = $4 "
        "AND state = ANY('{hot,hot_idle}'::text[]) RETURNING id, name, statement_address, "
        "tls, owner_epoch, state, org, database, pool_key, hot_idle_ttl, profile::text, "
        "extract(epoch FROM now() - state_since)::float8", [wid, old_cp, cp, epoch])
    if not rows:
        metrics.worker_transitions.labels("adopted", "miss", "fleet").inc()
        log.warning("fleet worker %d: adoption from %s epoch %d missed", wid, old_cp, epoch)
        return None
    metrics.worker_transitions.labels("adopted", "ok", "fleet").inc()
    i, name, statement, tls, e, state, org, database, key, ttl, profile, idle = rows[0]
    return Adopted(Claimed(int(i), str(name), str(statement), tls == "t", int(e)),
                   str(state), org, database, key,
                   None if ttl is None else float(ttl), profile, float(idle or 0))


async def owned(conn: Connection, cp: str) -> dict[int, tuple[str, int]]:
    """The rows ``cp`` holds: id -> (state, epoch)."""
    rows = await conn.query(f"SELECT id, state, owner_epoch FROM {W} WHERE owner_cp = $1",
                            [cp])
    return {int(i): (str(s), int(e)) for i, s, e in rows}


async def beat_control_plane(conn: Connection, cp: str) -> bool:
    """Heartbeat ``cp``'s row (written first by tenancy.store); clears an expiry mark
    (it is alive again; what it held was reclaimed meanwhile). False: no row yet."""
    return bool(await conn.query(
        f"UPDATE {CP} SET heartbeat = now(), expired_at = NULL WHERE id = $1 RETURNING id",
        [cp]))


async def gone_control_planes(conn: Connection, ids: list[str], lease: float) -> set[str]:
    """Which of ``ids`` are gone: expired or stopped, silent for longer than ``lease``
    (the janitor's expiry, without waiting for its sweep to write it) or without a row
    (as ``reclaim_orphans`` and vCPU admission count them). One that heartbeats is never
    among them."""
    rows = await conn.query(
        "SELECT i.id FROM jsonb_array_elements_text($1::jsonb) AS i(id) WHERE NOT EXISTS ("
        f"SELECT 1 FROM {CP} c WHERE c.id = i.id AND {_ALIVE} "
        "AND c.heartbeat > now() - make_interval(secs => $2::float8))",
        [json.dumps(list(ids)), lease])
    return {str(r[0]) for r in rows}


# -- the janitor --------------------------------------------------------------------------

async def expire_control_planes(conn: Connection, lease: float) -> list[str]:
    rows = await conn.query(
        f"UPDATE {CP} SET expired_at = now() WHERE expired_at IS NULL AND stopped_at IS NULL "
        "AND heartbeat < now() - make_interval(secs => $1) RETURNING id", [lease])
    return [str(r[0]) for r in rows]


async def reclaim_orphans(conn: Connection, grace: float) -> list[int]:
    """Retire workers held by a control plane that expired or stopped more than
    ``grace`` seconds ago (or is gone): their processes see it at their next heartbeat
    and register again, idle, under a newer epoch. A hot-idle worker with a TTL is left
    to it (``retire_hot_idle``): until then any control plane may take it over."""
    rows = await conn.query(
        f"UPDATE {W} w SET state = 'retired', retire_reason = 'owner_expired', "
        "state_since = now() WHERE w.state = ANY($2::text[]) "
        "AND NOT (w.state = 'hot_idle' AND coalesce(w.hot_idle_ttl, 0) > 0) AND NOT EXISTS ("
        f"SELECT 1 FROM {CP} c WHERE c.id = w.owner_cp AND (c.expired_at IS NULL AND "
        "c.stopped_at IS NULL OR coalesce(c.expired_at, c.stopped_at) > now() - "
        "make_interval(secs => $1))) RETURNING w.id",
        [grace, "{" + ",".join((*OWNED, "lost")) + "}"])
    return [int(r[0]) for r in rows]


async def mark_silent_lost(conn: Connection, lease: float) -> list[int]:
    rows = await conn.query(
        f"UPDATE {W} SET state = 'lost', state_since = now() WHERE state <> ALL($2::text[]) "
        "AND heartbeat_at < now() - make_interval(secs => $1) RETURNING id",
        [lease, "{retired,lost}"])
    return [int(r[0]) for r in rows]


async def retire_stuck(conn: Connection, seconds: float) -> list[int]:
    rows = await conn.query(
        f"UPDATE {W} SET state = 'retired', retire_reason = 'stuck_activating', "
        "state_since = now() WHERE state = ANY($2::text[]) "
        "AND state_since < now() - make_interval(secs => $1) RETURNING id",
        [seconds, "{spawning,reserved,activating}"])
    return [int(r[0]) for r in rows]


async def retire_hot_idle(conn: Connection, lease: float) -> list[int]:
    """Retire hot-idle workers past their TTL whose owner is gone (expired, stopped, no
    row); one whose owner is alive is its owner's to retire (it does, without the
    janitor), so the janitor steps in only a lease later, as a backstop. The same
    compare-and-set as the owner's (state still hot_idle): whichever comes second
    misses, harmlessly."""
    rows = await conn.query(
        f"UPDATE {W} w SET state = 'retired', retire_reason = 'hot_idle_ttl', "
        f"state_since = now() WHERE w.state = 'hot_idle' AND {_TTL_PASSED} AND ("
        "w.state_since + make_interval(secs => w.hot_idle_ttl + $1) < now() "
        f"OR NOT EXISTS (SELECT 1 FROM {CP} c "
        f"WHERE c.id = w.owner_cp AND {_ALIVE})) RETURNING w.id", [lease])
    return [int(r[0]) for r in rows]


async def retire_hot_idle_over_cap(conn: Connection) -> list[int]:
    """Retire the longest-idle hot-idle workers of every organisation above its
    ``max_hot_idle_workers`` (duckgres.orgs). A worker taken over meanwhile is not
    hot_idle any more when its row is locked, and is skipped."""
    rows = await conn.query(
        "WITH ranked AS (SELECT w.id, row_number() OVER (PARTITION BY w.org ORDER BY "
        "w.state_since DESC, w.id DESC) AS n, o.max_hot_idle_workers AS cap "
        f"FROM {W} w JOIN {SCHEMA}.orgs o ON o.name = w.org "
        "WHERE w.state = 'hot_idle' AND o.max_hot_idle_workers IS NOT NULL) "
        f"UPDATE {W} w SET state = 'retired', retire_reason = 'hot_idle_cap', "
        "state_since = now() FROM ranked r "
        "WHERE w.id = r.id AND r.n > r.cap AND w.state = 'hot_idle' RETURNING w.id")
    return [int(r[0]) for r in rows]
