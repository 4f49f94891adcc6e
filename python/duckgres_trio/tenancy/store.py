"""The config store as a running control plane sees it: a snapshot in memory, kept fresh.

At start: connect, migrate (``migrate.py``), read the first snapshot, register this
control plane; any failure there stops the start (there is nothing to serve yet).
Then one task, on one connection, does everything the store needs:

- ``LISTEN duckgres_config``: admin writes notify in their own transaction, so a
  change is reloaded within milliseconds of its commit;
- a reload every ``config_poll_interval`` anyway (a notification is lost while the
  listening connection is down, and a hand-made change may not notify);
- a heartbeat on this control plane's row every HEARTBEAT seconds.

When the store is unreachable the last snapshot goes on serving: logins read only the
snapshot. The outage is logged once, when it starts, and once when it ends; the task
reconnects with exponential backoff and reloads at once on reconnecting (changes made
meanwhile notified nobody). Metrics: the snapshot's age, reloads by trigger, whether
the store is reachable.
"""

from __future__ import annotations

import json
import logging
import math
import os
import secrets
import socket
import time
from types import MappingProxyType

import trio
from psycopg import Error as PsycopgError

from duckgres_trio import __version__, metrics
from duckgres_trio.tenancy import migrate
from duckgres_trio.tenancy.directory import Org, Snapshot, User
from duckgres_trio.tenancy.pgtrio import Connection

log = logging.getLogger(__name__)

#: The channel admin writes notify (payload: what changed, for the log only).
CHANNEL = "duckgres_config"
#: Seconds between heartbeats of this control plane's row.
HEARTBEAT = 5.0
#: Reconnect backoff: first wait and the longest (seconds).
BACKOFF_FIRST, BACKOFF_MAX = 0.25, 5.0
#: Give up connecting at start after this long (seconds): a mistyped DSN fails fast.
START_TIMEOUT = 15.0

_SNAPSHOT_SQL = f"""
SELECT json_build_object(
  'orgs', (SELECT coalesce(json_agg(json_build_object(
             'name', name, 'database_name', database_name, 'hostname_alias', hostname_alias,
             'max_connections', max_connections, 'max_workers', max_workers,
             'disabled', disabled, 'worker_settings', worker_settings, 'max_vcpus', max_vcpus,
             'worker_cpu', worker_cpu, 'worker_memory', worker_memory,
             'worker_ttl', worker_ttl)), '[]')
           FROM {migrate.SCHEMA}.orgs),
  'users', (SELECT coalesce(json_agg(json_build_object(
              'org', org, 'name', name, 'verifier', verifier, 'disabled', disabled,
              'max_connections', max_connections)), '[]')
            FROM {migrate.SCHEMA}.users))
"""


class StoreError(Exception):
    """The config store cannot be used at start; the message is for the operator."""


async def load_snapshot(conn: Connection) -> Snapshot:
    """Every organisation and user, read by one statement (so one consistent view)."""
    started = time.monotonic()
    [(text,)] = await conn.query(_SNAPSHOT_SQL)
    data = json.loads(text)
    orgs = {}
    for row in data["orgs"]:
        settings = row["worker_settings"] or {}
        orgs[row["name"]] = Org(
            name=row["name"], database_name=row["database_name"],
            hostname_alias=row["hostname_alias"], max_connections=row["max_connections"],
            max_workers=row["max_workers"], disabled=row["disabled"],
            worker_settings=MappingProxyType({str(k): str(v) for k, v in settings.items()}),
            max_vcpus=row.get("max_vcpus"), worker_cpu=row.get("worker_cpu"),
            worker_memory=row.get("worker_memory"), worker_ttl=row.get("worker_ttl"))
    users = {(row["org"], row["name"]): User(
        org=row["org"], name=row["name"], verifier=row["verifier"],
        disabled=row["disabled"], max_connections=row["max_connections"])
        for row in data["users"]}
    return Snapshot(orgs=MappingProxyType(orgs), users=MappingProxyType(users),
                    loaded_at=started)


class ConfigStore:
    """The running control plane's view of the store (see the module docstring)."""

    def __init__(self, dsn: str, poll_interval: float, *, port: int = 0) -> None:
        self.dsn = dsn
        self.poll_interval = poll_interval
        self.port = port
        self.instance_id = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        self._snapshot: Snapshot | None = None
        self._conn: Connection | None = None
        self._draining = False
        self._beat_now = False  # write the row at once (draining changed)
        self._waiting: trio.CancelScope | None = None  # the loop's wait for NOTIFY
        self.outage_since: float | None = None  # monotonic, while unreachable

    # -- what readers use -----------------------------------------------------------

    def current(self) -> Snapshot:
        """The newest snapshot (never None once start() has returned)."""
        assert self._snapshot is not None, "ConfigStore.start() has not run"
        return self._snapshot

    def snapshot_age(self) -> float:
        return time.monotonic() - self._snapshot.loaded_at if self._snapshot else math.nan

    # -- start, run, stop ------------------------------------------------------------

    async def start(self) -> None:
        """Connect, migrate, load the first snapshot, register: StoreError if not."""
        try:
            with trio.fail_after(START_TIMEOUT):
                conn = await Connection.connect(self.dsn)
                try:
                    await migrate.migrate(conn)
                    self._install(await load_snapshot(conn), "start")
                    await self._heartbeat(conn)
                except BaseException:
                    conn.close()
                    raise
        except migrate.MigrationError as exc:
            raise StoreError(str(exc)) from None
        except PsycopgError as exc:
            raise StoreError(f"config store: {_first_line(exc)}") from None
        except trio.TooSlowError:
            raise StoreError(f"config store: no answer within {START_TIMEOUT:g} s") from None
        self._conn = conn
        metrics.gauge_from(metrics.config_snapshot_age, self.snapshot_age)
        metrics.gauge_from(metrics.config_orgs, lambda: len(self.current().orgs))
        metrics.gauge_from(metrics.config_users, lambda: len(self.current().users))
        metrics.config_store_up.set(1)
        snap = self.current()
        log.info("config store: %d organisations, %d users; this control plane is %s",
                 len(snap.orgs), len(snap.users), self.instance_id)

    async def run(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        """Keep the snapshot fresh and the row alive until cancelled; then mark the row
        stopped (best effort, bounded)."""
        if self._snapshot is None:
            await self.start()
        task_status.started()
        try:
            await self._loop()
        finally:
            with trio.CancelScope(shield=True), trio.move_on_after(2):
                await self._mark_stopped()

    def set_draining(self) -> None:
        """The server is shutting down: say so in its row (the loop writes it now)."""
        self._draining = True
        self._beat_now = True
        if self._waiting is not None:
            self._waiting.cancel()

    async def _loop(self) -> None:
        backoff = BACKOFF_FIRST
        while True:
            try:
                conn = self._conn or await Connection.connect(self.dsn)
                self._conn = conn
                await conn.query(f"LISTEN {CHANNEL}")
                if self.outage_since is not None:
                    await self._reload(conn, "reconnect")
                    log.warning("config store: reachable again after %.1f s; snapshot "
                                "reloaded", time.monotonic() - self.outage_since)
                    self.outage_since = None
                    metrics.config_store_up.set(1)
                backoff = BACKOFF_FIRST
                await self._serve(conn)
            except Exception as exc:  # noqa: BLE001 - the store must never stop the server
                if not isinstance(exc, (PsycopgError, OSError)):
                    log.exception("config store: unexpected failure; reconnecting")
                if self._conn is not None:
                    self._conn.close()
                    self._conn = None
                if self.outage_since is None:
                    self.outage_since = time.monotonic()
                    metrics.config_store_up.set(0)
                    log.warning("config store unreachable (%s): serving the snapshot loaded "
                                "%.1f s ago until it is back; retrying", _first_line(exc),
                                self.snapshot_age())
                await trio.sleep(backoff * (0.5 + secrets.randbelow(1000) / 1000))
                backoff = min(backoff * 2, BACKOFF_MAX)

    async def _serve(self, conn: Connection) -> None:
        """Wait for notifications, the poll interval or the heartbeat, whichever first."""
        next_poll = time.monotonic() + (self.poll_interval or math.inf)
        next_beat = time.monotonic()  # a beat at once: the row may be gone after an outage
        while True:
            now = time.monotonic()
            if now >= next_beat or self._beat_now:
                self._beat_now = False
                await self._heartbeat(conn)
                next_beat = now + HEARTBEAT
            if now >= next_poll:
                await self._reload(conn, "poll")
                next_poll = now + self.poll_interval
            notified = []
            with trio.move_on_after(min(next_beat, next_poll) - time.monotonic()) as scope:
                self._waiting = scope  # set_draining() cuts the wait short
                if not self._beat_now:
                    notified = await conn.notifies()
            self._waiting = None
            if notified:
                log.debug("config store: notified of %s",
                          ", ".join(n.extra.decode(errors="replace") for n in notified))
                await self._reload(conn, "notify")

    async def _reload(self, conn: Connection, trigger: str) -> None:
        self._install(await load_snapshot(conn), trigger)

    def _install(self, snapshot: Snapshot, trigger: str) -> None:
        self._snapshot = snapshot
        metrics.config_reloads.labels(trigger).inc()

    async def _heartbeat(self, conn: Connection) -> None:
        await conn.query(
            f"INSERT INTO {migrate.SCHEMA}.control_planes "
            "(id, host, pid, port, version, draining) VALUES ($1, $2, $3, $4, $5, $6) "
            "ON CONFLICT (id) DO UPDATE SET heartbeat = now(), draining = excluded.draining",
            [self.instance_id, socket.gethostname(), os.getpid(), self.port, __version__,
             "true" if self._draining else "false"])

    async def _mark_stopped(self) -> None:
        try:
            conn = self._conn
            if conn is None or conn.closed:  # the loop was cancelled in mid-query
                conn = self._conn = await Connection.connect(self.dsn, timeout=2)
            await conn.query(
                f"UPDATE {migrate.SCHEMA}.control_planes SET draining = true, "
                "heartbeat = now(), stopped_at = now() WHERE id = $1", [self.instance_id])
        except (PsycopgError, OSError) as exc:
            log.warning("config store: could not mark this control plane stopped: %s",
                        _first_line(exc))
        finally:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def notify_payload(what: str, name: str) -> tuple[str, list[str]]:
    """The statement admin writes run in their transaction: NOTIFY is delivered at
    commit, and not at all if the transaction rolls back."""
    return "SELECT pg_notify($1, $2)", [CHANNEL, f"{what}:{name}"]

