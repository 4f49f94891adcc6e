"""``worker_backend: remote``: the control plane places sessions on fleet workers
(``fleet.agent``) instead of spawning processes. Same interface as
``controlplane.pool.WorkerPool`` (acquire, release, retire, release_database,
handover, run, workers_by_org), so ``controlplane.sessions`` and the tenancy layer do
not know which backend they drive.

Ownership goes through the config store (``fleet.records``): a worker is claimed with
one conditional write that bumps its epoch, every control action carries (this control
plane, that epoch) and the worker refuses older ones (``fleet.fence``). Transitions
are compare-and-set; a miss drops the worker here (someone else owns it now) and is
counted, never raised into a loop. Physical cleanup (Reset: the worker ends its
sessions, closes its database and registers again, idle) happens only after the
transition to ``retired`` succeeded.

Placement is the process pool's for DuckLake: a database's sessions spread over up to
``max_workers_per_database`` workers, least sessions first, growing while a worker can
be claimed; with none to claim, the request waits (bounded by the session queue
timeout) for one. A worker whose last session ended is ``hot_idle`` in the store (its
key: database and user): any control plane that needs that key takes it over
(``records.claim_hot_idle``, epoch bumped) before claiming an idle worker, skipping the
activation; its previous owner notices at its next heartbeat or compare-and-set.
The row carries the worker's TTL (``hot_idle_ttl``, from ``state_since``; the
deployment's ``worker_idle_timeout``): the owner retires it then (Reset), without the
janitor; the janitor retires it for an
owner that is gone (``records.retire_hot_idle``), and above the organisation's
``max_hot_idle_workers``. Until its TTL a gone owner's hot-idle worker may still be
taken over by any control plane for its key.

Failure handling: each worker gets a health check every ``lease / 4`` seconds (at most
2 s); after 3 failures in a row it is marked ``lost`` in the store and every statement
connection to it is closed at once, so its sessions end with FATAL 57P01. This control
plane heartbeats its row every ``lease / 4`` and re-reads what it owns: a worker the
janitor reclaimed (this control plane was silent longer than the lease) is dropped
here. One janitor runs among all control planes (``fleet.janitor``).

A SIGUSR1 upgrade hands the hot and hot-idle workers to the new process over the
handover channel (``handover`` / ``_take``): it moves each row to itself with one
compare-and-set (epoch + 1, ``records.adopt``) and serves new sessions there at once;
the old process forgets them and ends its own sessions there under their own fence.
If it dies before it has ended them (kill -9 during its drain), the new owner's
heartbeat finds it gone in the store and has the worker end them
(``_end_gone_owners_sessions``): the worker then goes hot-idle as after any last session.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import socket
import ssl
import threading
import time
import weakref
from collections import Counter
from contextlib import asynccontextmanager

import pyarrow.flight as fl
import trio
from psycopg import Error as PsycopgError

from duckgres_trio.controlplane import adoption
from duckgres_trio.controlplane.worker import RetireReason, WorkerError, flight_action
from duckgres_trio.engine.profiles import Profile
from duckgres_trio.fleet import records
from duckgres_trio.fleet.janitor import Janitor
from duckgres_trio.tenancy import migrate
from duckgres_trio.tenancy.pgtrio import Connection
from duckgres_trio.worker import protocol as p

log = logging.getLogger(__name__)

HEALTH_FAILURES = 3
ACTIVATION_SECONDS = 60.0
#: How often a request with no worker to claim looks again.
CLAIM_RETRY_SECONDS = 0.25
#: EndOlderSessions: the worker waits up to 10 s for each busy session to let go.
END_OLDER_SECONDS = 30.0


class _NoWorker(Exception):
    pass


def _key(key: tuple) -> str:
    """The store's form of a pool key (database, user, profile key): a hot-idle worker
    is taken over only for an equal one."""
    return json.dumps(list(key))


def _host_port(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


class TcpEndpoint:
    """A fleet worker's statement path: TCP, TLS when the worker registered with it.
    Open streams are tracked so a lost worker's sessions can be cut at once."""

    def __init__(self, address: str, context: ssl.SSLContext | None) -> None:
        self.path = address  # for log lines (engine.remote)
        self.host, self.port = _host_port(address)
        self._context = context
        self.streams: weakref.WeakSet = weakref.WeakSet()

    async def open(self) -> trio.abc.Stream:
        stream = await trio.open_tcp_stream(self.host, self.port)
        stream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self._context is not None:
            stream = trio.SSLStream(stream, self._context, server_hostname=self.host)
            await stream.do_handshake()
        self.streams.add(stream)
        return stream

    def cancel(self, token: str) -> None:
        """On a connection of its own, from a thread: a remote connect may block."""
        threading.Thread(target=self._cancel, args=(token,), daemon=True,
                         name="fleet-cancel").start()

    def _cancel(self, token: str) -> None:
        try:
            with socket.create_connection((self.host, self.port), timeout=2.0) as raw:
                sock = (self._context.wrap_socket(raw, server_hostname=self.host)
                        if self._context is not None else raw)
                sock.sendall(p.frame(p.CANCEL, token.encode()))
        except OSError as exc:
            log.warning("could not send a cancel to fleet worker %s: %s", self.path, exc)

    async def cut(self) -> None:
        for stream in list(self.streams):
            await trio.aclose_forcefully(stream)


class FleetWorker:
    """A claimed fleet worker as this control plane drives it (duck-types
    controlplane.worker.Worker where the session engine uses it)."""

    def __init__(self, claimed: records.Claimed, pool: FleetPool) -> None:
        self.id = claimed.id
        self.name = claimed.name
        self.epoch = claimed.epoch
        self.tls = claimed.tls
        self.state = "reserved"
        self.statement_path = TcpEndpoint(claimed.statement_address,
                                          pool.ssl_context if claimed.tls else None)
        self.database: str | None = None
        self.org: str | None = None
        self.user: str | None = None
        self.ttl: float | None = None  # hot-idle TTL (None: the deployment's)
        self.key: tuple | None = None  # (database, user, profile key)
        self.profile = None  # engine.profiles.Profile it was activated with
        self.sessions = 0
        self.health_failures = 0
        self.last_health: dict = {}
        self.idle_since = time.monotonic()
        self.retire_reason: RetireReason | None = None
        self.handed_over = False  # offered to an upgrade's successor (adoption.Gate)
        self.ending_older = False  # an EndOlderSessions is under way
        self._pool = pool
        self._client: fl.FlightClient | None = None
        self.sync = trio.Lock()  # one hot/hot_idle write to the store at a time

    @property
    def alive(self) -> bool:
        return self.state not in ("draining", "retired", "lost")

    async def action(self, name: str, body: dict | None = None, *, timeout: float = 10.0) -> dict:
        fenced = {**(body or {}), "fence": {"cp": self._pool.cp_id, "epoch": self.epoch}}
        headers = [(b"authorization", f"Bearer {self._pool.token}".encode())]
        return await flight_action(self.client, name, fenced, headers, timeout)

    def client(self) -> fl.FlightClient:
        if self._client is None:
            if self.tls:
                self._client = fl.connect(f"grpc+tls://{self.name}",
                                          tls_root_certs=self._pool.ca_pem or None)
            else:
                self._client = fl.connect(f"grpc+tcp://{self.name}")
        return self._client

    def close_client(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


class FleetPool:
    def __init__(self, *, dsn: str, token: str, ca_file=None, lease: float = 20.0,
                 grace: float = 10.0, max_workers_per_database: int = 2, threads: int = 0,
                 memory_limit: str = "", engine_config: dict[str, str] | None = None,
                 idle_timeout: float = 300.0) -> None:
        self.dsn = dsn
        self.token = token
        self.ca_pem = ca_file.read_bytes() if ca_file else b""
        self.ssl_context = ssl.create_default_context(
            cafile=str(ca_file) if ca_file else None)
        self.lease = lease
        self.grace = grace
        self.interval = min(2.0, lease / 4)
        self.health_timeout = 3.0
        self._idle_timeout = idle_timeout
        self.max_workers_per_database = max(1, max_workers_per_database)
        self._limits = {**({"threads": str(threads)} if threads else {}),
                        **({"memory_limit": memory_limit} if memory_limit else {})}
        self._engine_config = engine_config or {}
        #: this control plane's id in the store (tenancy.store uses the same: cli)
        self.cp_id = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        self.workers: dict[int, FleetWorker] = {}
        self._owners: dict[tuple, list[FleetWorker]] = {}
        self._activations: dict[tuple, trio.Event] = {}
        self._conn: Connection | None = None
        self._nursery: trio.Nursery | None = None
        self.misses = 0
        self.reused = 0
        self._attached: set[str] = set()  # databases some activation here attached
        self._strays: dict[int, int] = {}  # beats that found a row ours but unknown here
        self.gate = adoption.Gate()  # session openings; closed once handed over
        self._adopting: trio.Event | None = None  # set once a predecessor's workers are in
        self.adopted = 0
        self.janitor = Janitor(dsn, lambda: self.cp_id, lease=lease, grace=grace,
                               period=lease / 4, stuck=ACTIVATION_SECONDS)

    # -- running ------------------------------------------------------------------------

    async def run(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        self._conn = await Connection.connect(self.dsn)
        await migrate.migrate(self._conn)
        channel = adoption.inherited_channel()
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                if channel is not None:  # an upgrade: the predecessor's workers first
                    self._adopting = trio.Event()
                    nursery.start_soon(self._take, channel)
                nursery.start_soon(self._heartbeat)
                nursery.start_soon(self.janitor.run)
                log.info("fleet: control plane %s places sessions on remote workers",
                         self.cp_id)
                task_status.started()
        finally:
            self._nursery = None
            with trio.CancelScope(shield=True), trio.move_on_after(15):
                await self.shutdown_all()
            if self._conn is not None:
                self._conn.close()

    async def shutdown_all(self) -> None:
        async with trio.open_nursery() as nursery:
            for worker in list(self.workers.values()):
                nursery.start_soon(self._retire, worker, RetireReason.SHUTDOWN)

    async def _store(self, fn, *args, **kw):
        """One store call on the pool's connection, reconnecting once if it broke;
        WorkerError if the store cannot be reached."""
        for attempt in (1, 2):
            try:
                if self._conn is None or self._conn.closed:
                    self._conn = await Connection.connect(self.dsn)
                return await fn(self._conn, *args, **kw)
            except (PsycopgError, OSError) as exc:
                if self._conn is not None:
                    self._conn.close()
                if attempt == 2:
                    raise WorkerError(f"config store: {str(exc).splitlines()[0]}") from None
        raise AssertionError

    # -- acquiring ---------------------------------------------------------------------

    async def acquire(self, database: str, path: str | None, *, org: str | None = None,
                      engine_config: dict[str, str] | None = None,
                      org_max_workers: int | None = None,
                      lake: dict[str, str] | None = None, user: str | None = None,
                      profile=None):
        if lake is None:
            raise WorkerError("worker_backend remote serves DuckLake databases only")
        key = (database, user, None if profile is None else profile.key)
        self.gate.check(key)  # handed over (an upgrade): the successor's sessions
        if self._adopting is not None and not self._adopting.is_set():
            with trio.move_on_after(adoption.ADOPT_SECONDS):
                await self._adopting.wait()  # the predecessor's workers serve it at once
        spread = self.max_workers_per_database
        while True:
            group = [w for w in self._owners.get(key, ()) if w.state in ("hot", "hot_idle")]
            least = min(group, key=lambda w: w.sessions, default=None)
            activation = self._activations.get(key)
            capped = (org is not None and org_max_workers is not None
                      and self.org_workers(org) >= org_max_workers)
            grow = (least is not None and least.sessions > 0 and len(group) < spread
                    and activation is None and not capped)
            if least is not None and not grow:
                least.sessions += 1
                if least.state == "hot_idle":
                    least.state = "hot"
                    if not await self._sync_state(least):  # another control plane took it
                        least.sessions -= 1
                        await self._retire(least, RetireReason.INVALIDATED, lost=True,
                                           written=False)
                        continue
                if profile is not None:
                    least.ttl = profile.ttl
                return least
            if activation is not None:
                await activation.wait()
                continue
            if capped:
                await trio.sleep(CLAIM_RETRY_SECONDS)
                continue
            done = self._activations[key] = trio.Event()
            try:
                await self._activate(key, org, engine_config, lake, profile)
            except _NoWorker:
                if least is None:
                    await trio.sleep(CLAIM_RETRY_SECONDS)  # the caller's timeout bounds this
                else:
                    spread = len(group)
            except WorkerError:
                if least is None:
                    raise
                spread = len(group)
            finally:
                del self._activations[key]
                done.set()

    async def _activate(self, key, org, engine_config, lake, profile=None) -> None:
        # shielded: a claim committed by a cancelled query would strand the worker
        # (reserved by nobody) until the janitor retires it as stuck
        # (bounded: the store's queries time out, tenancy.pgtrio)
        with trio.CancelScope(shield=True):
            claimed = await self._store(records.claim_hot_idle, self.cp_id, self.lease,
                                        _key(key), org)
            reused = claimed is not None
            if not reused:
                claimed = await self._store(
                    records.claim, self.cp_id, self.lease,
                    *((profile.cpu, profile.memory) if profile is not None else ()))
        if claimed is None:
            raise _NoWorker
        worker = FleetWorker(claimed, self)
        worker.database, worker.user = key[0], key[1]
        worker.key, worker.profile = key, profile
        worker.ttl = None if profile is None else profile.ttl
        worker.org = org
        self.workers[worker.id] = worker
        if self._nursery is not None:
            self._nursery.start_soon(self._monitor, worker)
        log.info("fleet: %s worker %d (%s) under epoch %d for %s",
                 "took over hot-idle" if reused else "claimed", worker.id, worker.name,
                 worker.epoch, key[0])
        if reused:
            self.reused += 1
            worker.state = "hot"
            self._owners.setdefault(key, []).append(worker)
            return
        config = {**(self._engine_config if engine_config is None else engine_config),
                  **self._limits, **(profile.duckdb() if profile is not None else {})}
        try:
            with trio.CancelScope(shield=True), trio.fail_after(ACTIVATION_SECONDS):
                if not await self._cas(worker, ("reserved",), "activating"):
                    raise WorkerError("the worker was taken over while being activated")
                worker.state = "activating"
                async with self._first_attach(key):
                    await worker.action("Activate", {"database": None, "duckdb_config": config,
                                                     "lake": lake}, timeout=ACTIVATION_SECONDS)
                if not await self._cas(worker, ("activating",), "hot", org=org,
                                       database=key[0], key=_key(key),
                                       profile=profile and json.dumps(profile.as_json())):
                    raise WorkerError("the worker was taken over while being activated")
        except (WorkerError, trio.TooSlowError) as exc:
            reason = (RetireReason.STUCK_ACTIVATING if isinstance(exc, trio.TooSlowError)
                      else RetireReason.ACTIVATION_FAILURE)
            log.error("fleet worker %d: activation for %s failed: %s", worker.id, key[0],
                      exc or "timeout")
            await self._retire(worker, reason)
            raise WorkerError(f"cannot open database {key[0]!r} on fleet worker "
                              f"{worker.id}: {exc}") from None
        worker.state = "hot"
        self._owners.setdefault(key, []).append(worker)

    @asynccontextmanager
    async def _first_attach(self, key):
        """Activations of one database from every control plane, one at a time, while
        none has succeeded here yet: two workers attaching a new DuckLake at once both
        create its catalog and one fails. A session-level advisory lock on a connection
        of its own (closing it releases the lock, whatever happens)."""
        if key[0] in self._attached:
            yield
            return
        lock = int.from_bytes(hashlib.sha256(key[0].encode()).digest()[:8], "big") >> 1
        try:
            conn = await Connection.connect(self.dsn)
        except (PsycopgError, OSError) as exc:
            raise WorkerError(f"config store: {str(exc).splitlines()[0]}") from None
        try:
            await conn.query("SELECT pg_advisory_lock($1)", [lock], timeout=ACTIVATION_SECONDS)
            yield
            self._attached.add(key[0])
        except (PsycopgError, OSError) as exc:
            raise WorkerError(f"config store: {str(exc).splitlines()[0]}") from None
        finally:
            conn.close()

    async def _cas(self, worker: FleetWorker, old: tuple[str, ...], new: str, **kw) -> bool:
        try:
            ok = await self._store(records.transition, worker.id, self.cp_id, worker.epoch,
                                   old, new, **kw)
        except WorkerError as exc:
            log.warning("fleet worker %d: %s -> %s not written: %s", worker.id,
                        "/".join(old), new, exc)
            ok = False
        if not ok:
            self.misses += 1
        return ok

    def org_workers(self, org: str) -> int:
        return sum(1 for w in self.workers.values() if w.org == org and w.alive)

    def workers_by_org(self) -> Counter[str]:
        return Counter(w.org for w in self.workers.values() if w.org is not None and w.alive)

    def release(self, worker: FleetWorker) -> None:
        worker.sessions -= 1
        if worker.sessions == 0 and worker.state == "hot":
            worker.idle_since = time.monotonic()
            worker.state = "hot_idle"
            if self._nursery is not None:
                self._nursery.start_soon(self._sync_state, worker)

    async def _sync_state(self, worker: FleetWorker) -> bool:
        """Write the worker's local hot / hot_idle state to the store (one at a time
        per worker, so the last one written is the current one). False: the row is no
        longer this control plane's."""
        async with worker.sync:
            if worker.state not in ("hot", "hot_idle"):
                return False
            # the effective TTL goes to the store: the janitor reads it (hot_idle_ttl)
            return await self._cas(worker, ("hot", "hot_idle"), worker.state,
                                   ttl=self._ttl(worker))

    def _ttl(self, worker: FleetWorker) -> float:
        """Seconds ``worker`` may stay hot-idle (0: no limit)."""
        return self._idle_timeout if worker.ttl is None else worker.ttl

    async def retire(self, worker: FleetWorker, reason: RetireReason) -> None:
        await self._retire(worker, reason)

    async def release_database(self, database: str, wait: float) -> int:
        with trio.move_on_after(wait):
            while True:
                holders = [w for w in self.workers.values()
                           if w.database == database and w.alive]
                if not any(w.sessions for w in holders):
                    async with trio.open_nursery() as nursery:
                        for worker in holders:
                            nursery.start_soon(self._retire, worker,
                                               RetireReason.DATABASE_DROPPED)
                    return 0
                await trio.sleep(0.1)
        return sum(w.sessions for w in self.workers.values() if w.database == database)

    async def handover(self, channel=None) -> None:
        """SIGUSR1 upgrade, the old process: offer the successor (the other end of
        ``channel``) every hot and hot-idle worker; it moves each row to itself with one
        compare-and-set, epoch + 1 (``_take``). Then the store says which moved: those
        are forgotten here (never retired, reclaimed or synced from here again) while
        the sessions this process has on them run on to their end, ended with
        DestroySession under the epoch they were created in (``fleet.fence``)."""
        if channel is None:
            return
        await self.gate.close(adoption.OPENING_SECONDS)
        offered = [w for w in self.workers.values() if w.state in ("hot", "hot_idle")]
        for worker in offered:
            worker.handed_over = True  # the heartbeat leaves it alone from now on
            self.gate.handed.add(worker.key)
        self.gate.settle()
        stream = trio.SocketStream(trio.socket.from_stdlib_socket(channel))
        try:
            with trio.move_on_after(adoption.ADOPT_SECONDS):
                await stream.send_all(json.dumps({"fleet": {
                    "cp": self.cp_id,
                    "workers": [{"id": w.id, "epoch": w.epoch} for w in offered]}
                }).encode() + b"\n")
                await adoption._read_line(stream)  # when; the store says what
        except (OSError, trio.BrokenResourceError, ValueError) as exc:
            log.warning("upgrade: handover channel failed: %s", exc)
        try:
            owned = await self._store(records.owned, self.cp_id)
        except WorkerError as exc:  # cannot tell: keep them handed over, never cut
            log.warning("upgrade: which workers the successor adopted is unknown: %s", exc)
            return
        adopted = 0
        for worker in offered:
            if owned.get(worker.id, ("gone", -1))[1] == worker.epoch:
                worker.handed_over = False  # still ours
                continue
            self._forget(worker)
            adopted += 1
        log.info("upgrade: the successor adopted %d of %d fleet workers", adopted,
                 len(offered))

    def _forget(self, worker: FleetWorker) -> None:
        """``worker`` is another control plane's now: only this process's sessions on
        it go on (``release`` does nothing more for it)."""
        worker.state = "adopted"
        self.workers.pop(worker.id, None)
        group = self._owners.get(worker.key, [])
        if worker in group:
            group.remove(worker)
            if not group:
                del self._owners[worker.key]

    async def _take(self, channel) -> None:
        """SIGUSR1 upgrade, the new process: adopt what the predecessor offers (a
        miss is logged and counted), then answer and let sessions through."""
        stream = trio.SocketStream(trio.socket.from_stdlib_socket(channel))
        taken: list[int] = []
        try:
            with trio.move_on_after(adoption.ADOPT_SECONDS):
                line = await adoption._read_line(stream)
                offer = json.loads(line)["fleet"] if line else {"workers": []}
                async with trio.open_nursery() as nursery:
                    for record in offer["workers"]:
                        nursery.start_soon(self._adopt_one, str(offer["cp"]),
                                           int(record["id"]), int(record["epoch"]), taken)
                await stream.send_all(json.dumps({"adopted": taken}).encode() + b"\n")
        except (OSError, trio.BrokenResourceError, ValueError, KeyError, TypeError) as exc:
            log.warning("upgrade: handover channel failed: %s", exc)
        finally:
            self._adopting.set()
            with trio.CancelScope(shield=True):
                await stream.aclose()
        log.info("upgrade: adopted %d fleet workers", len(taken))

    async def _adopt_one(self, old_cp: str, wid: int, epoch: int, taken: list) -> None:
        try:
            row = await self._store(records.adopt, wid, old_cp, epoch, self.cp_id)
        except WorkerError as exc:
            log.warning("upgrade: fleet worker %d not adopted: %s", wid, exc)
            row = None
        if row is None:
            self.misses += 1
            return
        worker = FleetWorker(row.claimed, self)
        try:
            worker.key = adoption._tuple(json.loads(row.key)) if row.key else None
            worker.profile = Profile.from_json(json.loads(row.profile)) if row.profile else None
        except (ValueError, TypeError):
            worker.key = None
        if not isinstance(worker.key, tuple) or len(worker.key) != 3:
            worker.key = (row.database, None, None)
        worker.database, worker.user = worker.key[0], worker.key[1]
        worker.org, worker.ttl = row.org, row.ttl
        worker.state = "hot_idle"  # none of its sessions are this process's
        worker.idle_since = time.monotonic() - (row.idle_seconds if row.state == "hot_idle"
                                                else 0.0)
        worker.last_health = {"older_sessions": 1}  # until the worker says (no reaping)
        self.workers[worker.id] = worker  # ours now (else a stray to the heartbeat)
        self._owners.setdefault(worker.key, []).append(worker)
        try:  # the worker takes the new epoch now, not at its next heartbeat
            reply = await worker.action("Adopt", {"epoch": worker.epoch}, timeout=10.0)
            worker.last_health = {"older_sessions": int(reply.get("sessions") or 0)}
        except WorkerError as exc:  # the row is ours: the health checks decide
            log.warning("upgrade: fleet worker %d did not confirm adoption: %s", wid, exc)
        if self._nursery is not None:
            self._nursery.start_soon(self._monitor, worker)
        self.adopted += 1
        taken.append(wid)
        log.info("upgrade: adopted fleet worker %d (%s) under epoch %d for %s", wid,
                 worker.name, worker.epoch, worker.database)

    # -- retiring, losing --------------------------------------------------------------

    async def _retire(self, worker: FleetWorker, reason: RetireReason, *,
                      lost: bool = False, written: bool = True) -> None:
        """Let the worker go: ``retired`` (then Reset: it registers again, idle) or
        ``lost`` (it did not answer). ``written``: False when the store already says
        so (reconciled), so only the local side is cleaned up."""
        if worker.state in ("retired", "lost"):
            return
        with trio.CancelScope(shield=True):
            key = worker.key or (worker.database, worker.user, None)
            group = self._owners.get(key, [])
            if worker in group:
                group.remove(worker)
                if not group:
                    del self._owners[key]
            worker.state = "draining"
            worker.retire_reason = worker.retire_reason or reason
            await worker.statement_path.cut()  # its sessions end with FATAL 57P01
            new = "lost" if lost else "retired"
            ok = written and await self._cas(
                worker, (*records.OWNED,), new, reason=reason.value)
            if ok and not lost:
                with trio.move_on_after(5):
                    try:
                        await worker.action("Reset", timeout=5.0)
                    except WorkerError as exc:
                        log.warning("fleet worker %d: reset failed (%s); it resets at its "
                                    "next heartbeat", worker.id, exc)
            worker.state = new
            worker.close_client()
            self.workers.pop(worker.id, None)
            log.info("fleet: worker %d %s (%s)", worker.id, new, reason.value)

    async def _monitor(self, worker: FleetWorker) -> None:
        async with trio.open_nursery() as nursery:
            while worker.alive or worker.state == "draining":
                await trio.sleep(self.interval)
                # activation is bounded by ACTIVATION_SECONDS (and holds the worker's lock)
                if worker.state in ("hot", "hot_idle"):
                    nursery.start_soon(self._check, worker)
                elif worker.state != "draining":
                    break
            nursery.cancel_scope.cancel()

    async def _check(self, worker: FleetWorker) -> None:
        try:
            with trio.fail_after(self.health_timeout):
                health = await worker.action("HealthCheck", timeout=self.health_timeout)
            self._observe(worker, health)
            worker.health_failures = 0
        except (WorkerError, trio.TooSlowError) as exc:
            if not worker.alive:
                return
            worker.health_failures += 1
            log.warning("fleet worker %d failed a health check (%d in a row): %s",
                        worker.id, worker.health_failures, exc or "timeout")
            if worker.health_failures >= HEALTH_FAILURES:
                await self._retire(worker, RetireReason.HEALTH_CHECK_FAILURE, lost=True)
            return
        if worker.last_health.get("invalidated"):
            await self._retire(worker, RetireReason.INVALIDATED)

    async def _heartbeat(self) -> None:
        """This control plane's row, and what the store says it owns."""
        while True:
            try:
                await self._beat_once()
            except Exception:  # noqa: BLE001 - a miss must never stop the server's nursery
                log.exception("fleet: heartbeat failed unexpectedly")
            await trio.sleep(self.interval)

    async def _beat_once(self) -> None:
        """Beat this control plane's row; drop the workers the store no longer says
        are ours (the janitor reclaimed them, another control plane took one over);
        release the ones idle too long."""
        # only workers claimed before the read: a claim committing after it is not
        # in what it returns
        known = list(self.workers.values())
        try:
            await self._store(records.beat_control_plane, self.cp_id)
            owned = await self._store(records.owned, self.cp_id)
        except WorkerError as exc:
            log.warning("fleet: heartbeat: %s", exc)
            return
        for worker in known:
            state, epoch = owned.get(worker.id, ("gone", -1))
            if worker.handed_over:  # being adopted: its sessions run on (handover)
                continue
            if worker.alive and (epoch != worker.epoch or state in ("retired", "lost")):
                log.warning("fleet: worker %d is no longer ours (%s, epoch %d)",
                            worker.id, state, epoch)
                self.misses += 1
                await self._retire(worker, RetireReason.INVALIDATED, lost=True,
                                   written=False)
        await self._retire_strays(owned)
        await self._end_gone_owners_sessions()
        self._reap_idle()

    async def _retire_strays(self, owned: dict[int, tuple[str, int]]) -> None:
        """Rows the store says are ours but this control plane let go of (a retirement
        whose write failed while the store was unreachable): retired on the second beat
        that finds them, so the worker resets itself and returns to the fleet."""
        for wid, (state, epoch) in owned.items():
            if wid in self.workers or state not in ("hot", "hot_idle", "draining"):
                self._strays.pop(wid, None)
                continue
            self._strays[wid] = self._strays.get(wid, 0) + 1
            if self._strays[wid] < 2:
                continue
            del self._strays[wid]
            try:
                await self._store(records.transition, wid, self.cp_id, epoch,
                                  records.OWNED, "retired", reason="stray")
            except WorkerError as exc:
                log.warning("fleet: stray worker %d not retired: %s", wid, exc)

    def _observe(self, worker: FleetWorker, health: dict) -> None:
        """The worker's latest report. When the last session a previous owner had there
        ended (it ended it, or we had it ended) and none of ours runs there, the worker
        is hot-idle from now, in the store too: an adopted worker's row stays as it was
        adopted (hot) while the old process's sessions run, and its TTL counts from now."""
        before = adoption.foreign_sessions(worker)
        worker.last_health = health
        if (before and not adoption.foreign_sessions(worker) and worker.state == "hot_idle"
                and worker.sessions == 0 and not worker.handed_over
                and self._nursery is not None):
            worker.idle_since = time.monotonic()
            self._nursery.start_soon(self._sync_state, worker)

    async def _end_gone_owners_sessions(self) -> None:
        """Sessions a previous owner (an upgrade's old process) still has on our workers,
        once the store says that owner is gone (``records.gone_control_planes``: expired,
        stopped, or silent for the lease): nobody is left to end them, and they would
        keep the worker from going hot-idle. The worker ends them at our word, under our
        fence (``EndOlderSessions``, naming only the gone owners; an owner that is alive
        keeps its sessions). A local worker does the same itself, watching the old
        process's pidfd (``worker.owner``); a fleet worker cannot watch a process on
        another host, so its owner, which reads the store anyway, does it. One query per
        beat, only while some worker reports older sessions."""
        older = {}
        for worker in list(self.workers.values()):
            if (worker.state in ("hot", "hot_idle") and not worker.ending_older
                    and not worker.handed_over and adoption.foreign_sessions(worker)):
                owners = worker.last_health.get("older_owners")
                named = set(owners) - {self.cp_id} if isinstance(owners, dict) else set()
                if named:
                    older[worker] = named
        if not older or self._nursery is None:
            return
        try:
            gone = await self._store(records.gone_control_planes,
                                     sorted(set().union(*older.values())), self.lease)
        except WorkerError as exc:
            log.warning("fleet: which previous owners are gone is unknown: %s", exc)
            return
        for worker, named in older.items():
            if named & gone:
                worker.ending_older = True
                self._nursery.start_soon(self._end_older, worker, sorted(named & gone))

    async def _end_older(self, worker: FleetWorker, owners: list[str]) -> None:
        """Have ``worker`` end the sessions of ``owners``, gone; a failure is logged and
        the next beat tries again."""
        try:
            reply = await worker.action("EndOlderSessions", {"owners": owners},
                                        timeout=END_OLDER_SECONDS)
        except WorkerError as exc:
            log.warning("fleet worker %d: sessions of %s (gone) not ended yet: %s",
                        worker.id, ", ".join(owners), exc)
            return
        finally:
            worker.ending_older = False
        log.warning("fleet worker %d: ended %s sessions of %s, previous owners that are "
                    "gone", worker.id, reply.get("ended"), ", ".join(owners))
        self._observe(worker, {**worker.last_health,
                               "older_sessions": reply.get("older_sessions"),
                               "older_owners": reply.get("older_owners")})

    def _reap_idle(self) -> None:
        """Give workers hot-idle past their TTL back to the fleet: the owner does it
        without the janitor (whose ``retire_hot_idle`` waits a lease longer for a live
        owner); if both do, the second compare-and-set misses harmlessly."""
        now = time.monotonic()
        for worker in list(self.workers.values()):
            ttl = self._ttl(worker)
            if (ttl and worker.state == "hot_idle" and worker.sessions == 0
                    and not adoption.foreign_sessions(worker)
                    and now - worker.idle_since >= ttl
                    and self._nursery is not None):
                worker.state = "reaping"  # not taken again while it is being retired
                self._nursery.start_soon(self._retire, worker, RetireReason.IDLE_TIMEOUT)

    def stats(self) -> dict:
        return {"workers": len(self.workers), "cas_misses": self.misses,
                "hot_idle_reused": self.reused, "adopted": self.adopted,
                "janitor_leader": self.janitor.leader,
                "by_state": dict(Counter(w.state for w in self.workers.values()))}
