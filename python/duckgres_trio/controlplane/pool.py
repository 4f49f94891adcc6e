"""The worker pool: which worker serves which database, and keeping workers healthy.

Database affinity: DuckDB lets one process write a database file, so every session on
database D goes to the one worker that owns D's file. A database without an owner gets
a spare worker (``idle``: started, no database yet), else a new one while fewer than
``max_workers`` run or are starting (spawns in flight count, so a burst cannot
overshoot), else the least recently used worker without sessions is retired to make
room, else the request waits until a session ends.

A DuckLake database (``engine.lake``) has no file to own: every worker serving it
attaches the lake and commits through its catalog, so its sessions spread over up to
``max_workers_per_database`` workers (its *group*), least sessions first. The group
grows only when a worker is free to take without waiting (a spare, or room below
``max_workers`` and the organisation's share); otherwise the least busy member serves.
With ``user`` (many tenants: ``controlplane.sessions``) the group is that user's
alone, so no instance holding a user's secrets serves another user's session.

Background tasks (``run``): ``min_workers`` spawned at start and restored after a crash;
per worker, a watch on its process and a health check every 2 s (3 s limit) where 3 failures
in a row, an exited process or an invalidated DuckDB instance gets the worker killed
(its sessions see their connection close and end with an error); the idle reaper;
memory rebalancing when the number of database-owning workers changes.

Upgrades (SIGUSR1): the old process's workers are handed to the new one, which adopts
them and serves new sessions on them at once (``adoption``); ``gate`` stops session
openings here once they are handed over.
"""

from __future__ import annotations

import logging
import os
import stat
import time
from collections import Counter
from pathlib import Path

import trio

from duckgres_trio import metrics
from duckgres_trio.controlplane import adoption, janitor
from duckgres_trio.controlplane.worker import (
    RetireReason,
    State,
    Worker,
    WorkerError,
    exit_status,
    process_state,
    group_key,
    spawn,
)

log = logging.getLogger(__name__)

HEALTH_INTERVAL = 2.0
HEALTH_TIMEOUT = 3.0
HEALTH_FAILURES = 3
#: A worker stuck opening its database this long is retired.
ACTIVATION_SECONDS = 60.0
REBALANCE_DEBOUNCE = 0.1


def _private_dir(path: Path) -> Path:
    """``path`` as a directory only this user can enter (checked before anything
    runs, so a bad one stops the server with a message)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    # The default lives in /tmp, where anyone may have made the name first.
    owner = os.lstat(path)
    if stat.S_ISLNK(owner.st_mode) or owner.st_uid != os.geteuid():
        raise PermissionError(f"socket_dir {path} is a symlink or not ours")
    os.chmod(path, 0o700)
    return path


def _remove_if_empty(path: Path) -> None:
    """Remove the socket directory on a clean exit, as PostgreSQL removes its socket
    lock files; one still holding files (another process's) stays."""
    try:
        path.rmdir()
    except OSError:
        pass


class WorkerPool:
    def __init__(self, *, socket_dir: Path, max_workers: int, min_workers: int = 0,
                 max_workers_per_database: int = 2,
                 idle_timeout: float = 300.0, memory_budget: int = 0, memory_limit: str = "",
                 threads: int = 0,
                 retire_on_session_end: bool = False, log_level: str = "info",
                 engine_config: dict[str, str] | None = None) -> None:
        self.socket_dir = _private_dir(socket_dir)
        self.max_workers = max(1, max_workers)
        self.min_workers = min(min_workers, self.max_workers)
        self.max_workers_per_database = max(1, max_workers_per_database)
        self._idle_timeout = idle_timeout
        self._memory_budget = memory_budget
        self._memory_limit = memory_limit
        # A worker's long statements get these threads, its short ones one
        # (engine/threads.py): all cores by default, as DuckDB's own default.
        self._threads = threads or os.cpu_count() or 1
        self._retire_on_session_end = retire_on_session_end
        self._log_level = log_level
        self._handing_over = False
        self._engine_config = engine_config or {}  # file access, extensions (engine.lockdown)
        self.workers: dict[int, Worker] = {}
        #: (database, user, profile key) -> the workers serving it: one for a file, up to
        #: max_workers_per_database for a lake
        self._owners: dict[tuple, list[Worker]] = {}
        self._activations: dict[tuple, trio.Event] = {}
        self._spawning = 0
        self._spawning_for: Counter[str] = Counter()  # spawns in flight per organisation
        self._next_id = 1
        self._changed = trio.Event()
        self._rebalance = trio.Event()
        self._nursery: trio.Nursery | None = None
        self.gate = adoption.Gate()  # session openings; closed once handed over
        self._adopting: trio.Event | None = None  # set once a predecessor's workers are in
        self._successor = None  # the handover channel, open until this process exits
        self.spawn_seconds: list[float] = []
        metrics.gauge_from(metrics.workers_active,
                           lambda: sum(1 for w in self.workers.values() if w.alive))

    # -- running ------------------------------------------------------------------------

    async def run(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        """Start ``min_workers``, then keep the pool healthy until cancelled; on the way
        out every worker is retired (shielded)."""
        janitor.sweep(self.socket_dir)
        channel = adoption.inherited_channel()
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                if channel is not None:  # spares once the predecessor's are in
                    self._adopting = trio.Event()
                    nursery.start_soon(adoption.take, self, channel, self._adopting)
                    nursery.start_soon(self._restore_min_after, self._adopting)
                else:
                    async with trio.open_nursery() as starting:
                        self._restore_min(starting)
                nursery.start_soon(self._idle_reaper)
                nursery.start_soon(self._rebalancer)
                task_status.started()
        finally:
            self._nursery = None
            with trio.CancelScope(shield=True):
                await self.shutdown_all()
            if not self._handing_over:  # a successor's workers live in the same directory
                _remove_if_empty(self.socket_dir)

    async def shutdown_all(self) -> None:
        async with trio.open_nursery() as nursery:
            for worker in list(self.workers.values()):
                nursery.start_soon(self._retire, worker, RetireReason.SHUTDOWN)

    # -- acquiring a worker for a session -----------------------------------------------

    async def acquire(self, database: str, path: str | None, *, org: str | None = None,
                      engine_config: dict[str, str] | None = None,
                      org_max_workers: int | None = None,
                      lake: dict[str, str] | None = None, user: str | None = None,
                      profile=None) -> Worker:
        """A worker serving ``database`` (file ``path``, or the DuckLake ``lake``
        describes: ``engine.lake``), with one more session counted on it; activates a
        worker for it first if needed. A file has one owner; a lake's sessions go to
        the least busy of its group, which grows while a worker is free (module doc).

        With ``org`` (many tenants; ``database`` is then a key unique across them) the
        worker is the organisation's, opened with its ``engine_config`` (its own
        directory's lockdown), and the organisation holds at most ``org_max_workers``
        workers: beyond that its own least recently used idle worker makes room, or
        the request waits, while other organisations' requests go on. ``user`` (a
        lake only): the worker serves no other user's sessions while this one's last.

        ``profile`` (``engine.profiles``): a lake's worker is activated with its
        threads and memory_limit and serves only sessions of the same profile (part
        of the key); a file's one owner serves every profile, with the one it was
        activated with."""
        key = (database, user if lake else None,
               profile.key if lake and profile is not None else None)
        self.gate.check(key)  # handed over (an upgrade): the successor's sessions
        if self._adopting is not None and not self._adopting.is_set():
            with trio.move_on_after(adoption.ADOPT_SECONDS):
                await self._adopting.wait()  # the predecessor's workers may serve it
        spread = self.max_workers_per_database if lake else 1
        while True:
            group = [w for w in self._owners.get(key, ()) if w.alive]
            least = min(group, key=lambda w: w.sessions, default=None)
            activation = self._activations.get(key)
            grow = (least is not None and least.sessions > 0 and len(group) < spread
                    and activation is None and self._free(org, org_max_workers))
            if least is not None and not grow:
                least.sessions += 1
                if least.state is State.HOT_IDLE:
                    least.transition(State.HOT)
                if profile is not None:
                    least.ttl = profile.ttl
                return least
            if activation is not None:
                await activation.wait()
                continue
            done = self._activations[key] = trio.Event()
            try:
                await self._activate(key, path, org, engine_config, org_max_workers, lake,
                                     profile)
            except WorkerError:
                if least is None:
                    raise
                spread = len(group)  # growing is optional: the group still serves
            finally:
                del self._activations[key]
                done.set()

    def _free(self, org: str | None, cap: int | None) -> bool:
        """Whether a worker can be had now without retiring or waiting: a spare, or room
        below max_workers (and the organisation's share)."""
        if org is not None and cap is not None and self.org_workers(org) >= cap:
            return False
        return (len(self.workers) + self._spawning < self.max_workers
                or any(w.state is State.IDLE and w.alive for w in self.workers.values()))

    async def _activate(self, key: tuple, path: str | None,
                        org: str | None = None,
                        engine_config: dict[str, str] | None = None,
                        org_max_workers: int | None = None,
                        lake: dict[str, str] | None = None, profile=None) -> None:
        worker = await self._reserve(org, org_max_workers)
        worker.database, worker.user = key[0], key[1]
        worker.pool_key, worker.profile = key, profile
        worker.ttl = None if profile is None else profile.ttl
        worker.org = org
        worker.transition(State.ACTIVATING)
        config = self._engine_config if engine_config is None else engine_config
        try:
            # Shielded (and bounded): a requester that gives up (its queue timeout, a
            # client hanging up) must not leave the worker half-activated, owned by
            # nobody; once done it serves the database's next session.
            with trio.CancelScope(shield=True), trio.fail_after(ACTIVATION_SECONDS):
                await worker.action("Activate", {"database": path,
                                                 "duckdb_config": {
                                                     **config,
                                                     **self._limits(extra=1,
                                                                    profile=profile)},
                                                 **({"lake": lake} if lake else {})},
                                    timeout=ACTIVATION_SECONDS)
        except (WorkerError, trio.TooSlowError) as exc:
            reason = (RetireReason.STUCK_ACTIVATING if isinstance(exc, trio.TooSlowError)
                      else RetireReason.ACTIVATION_FAILURE)
            await self._retire(worker, reason)
            raise WorkerError(f"cannot open database {key[0]!r}: {exc}") from None
        worker.transition(State.HOT_IDLE)
        worker.idle_since = time.monotonic()
        self._owners.setdefault(key, []).append(worker)
        self._rebalance.set()
        self._restore_min()

    async def _reserve(self, org: str | None = None, cap: int | None = None) -> Worker:
        """A worker without a database, for one to be activated on it; with ``org``
        and ``cap``, only while the organisation holds fewer than ``cap`` workers (its
        workers retired to make room are its own)."""
        while True:
            full = org is not None and cap is not None and self.org_workers(org) >= cap
            if not full:
                for worker in self.workers.values():
                    if worker.state is State.IDLE and worker.alive:
                        worker.transition(State.RESERVED)
                        worker.org = org
                        return worker
                if len(self.workers) + self._spawning < self.max_workers:
                    if org is not None:
                        self._spawning_for[org] += 1
                    try:
                        worker = await self._spawn()
                    finally:
                        if org is not None:
                            self._spawning_for[org] -= 1
                    worker.transition(State.RESERVED)
                    worker.org = org
                    return worker
            victim = self._least_recently_used_idle(org if full else None)
            if victim is not None:
                await self._retire(victim, RetireReason.MAKE_ROOM)
                continue
            changed = self._changed
            await changed.wait()

    def org_workers(self, org: str) -> int:
        """Workers the organisation holds or is starting."""
        return self._spawning_for[org] + sum(
            1 for w in self.workers.values() if w.org == org and w.state is not State.RETIRED)

    def workers_by_org(self) -> Counter[str]:
        """Live workers per organisation (the per-organisation gauge)."""
        return Counter(w.org for w in self.workers.values() if w.org is not None and w.alive)

    def _least_recently_used_idle(self, org: str | None = None) -> Worker | None:
        idle = [w for w in self.workers.values()
                if w.state is State.HOT_IDLE and w.sessions == 0
                and not adoption.foreign_sessions(w) and (org is None or w.org == org)]
        return min(idle, key=lambda w: w.idle_since, default=None)

    def release(self, worker: Worker) -> None:
        """A session on ``worker`` ended (its DestroySession has completed)."""
        worker.sessions -= 1
        if worker.sessions == 0 and worker.state is State.HOT:
            worker.transition(State.HOT_IDLE)
            worker.idle_since = time.monotonic()
            if self._retire_on_session_end and self._nursery is not None \
                    and not adoption.foreign_sessions(worker):
                self._nursery.start_soon(self._retire, worker, RetireReason.SESSION_END)
        self._notify()

    async def retire(self, worker: Worker, reason: RetireReason) -> None:
        await self._retire(worker, reason)

    async def release_database(self, database: str, wait: float) -> int:
        """Make the worker(s) holding ``database``'s file let it go (DROP DATABASE):
        wait up to ``wait`` seconds for an activation in progress and for their
        sessions to end, then retire them, which returns once their processes have
        exited. The number of sessions still there when the wait ran out (then nothing
        is retired), else 0."""
        with trio.move_on_after(wait):
            while True:
                activation = next((event for (name, *_), event in self._activations.items()
                                   if name == database), None)
                if activation is not None:
                    await activation.wait()
                    continue
                holders = [w for w in self.workers.values()
                           if w.database == database and w.state is not State.RETIRED]
                if not any(w.sessions or adoption.foreign_sessions(w) for w in holders):
                    async with trio.open_nursery() as nursery:
                        for worker in holders:
                            nursery.start_soon(self._retire, worker, RetireReason.DATABASE_DROPPED)
                    return 0
                await self._changed.wait()
        return sum(w.sessions + adoption.foreign_sessions(w)
                   for w in self.workers.values() if w.database == database)

    async def handover(self, channel=None) -> None:
        """Another control plane takes over: hand it the workers over ``channel``
        (``adoption``); retire every worker it did not adopt now if it has no sessions
        (each holds its database's lock), the others when their last session ends;
        start no spare."""
        self._retire_on_session_end = True
        self._handing_over = True
        self.min_workers = 0
        if channel is not None:
            self._successor = channel
            await adoption.give(self, channel)
        async with trio.open_nursery() as nursery:
            for worker in list(self.workers.values()):
                # one still being activated serves the session it is for, then retires
                if worker.sessions == 0 and worker.alive \
                        and worker.state in (State.IDLE, State.HOT_IDLE):
                    nursery.start_soon(self._retire, worker, RetireReason.NORMAL)

    def new_id(self) -> int:
        self._next_id += 1
        return self._next_id - 1

    def add(self, worker: Worker) -> None:
        """A worker adopted from a predecessor (``adoption``) joins the pool."""
        self.workers[worker.id] = worker
        if worker.database is not None:
            self._owners.setdefault(group_key(worker), []).append(worker)
            self._rebalance.set()
        if self._nursery is not None:
            self._nursery.start_soon(self._monitor, worker)
        self._notify()

    def forget(self, worker: Worker) -> None:
        """A worker handed over to a successor leaves the pool (our sessions on it
        still end through it; it is never stopped from here)."""
        group = self._owners.get(group_key(worker), [])
        if worker in group:
            group.remove(worker)
            if not group:
                del self._owners[group_key(worker)]
        self.workers.pop(worker.id, None)
        self._notify()

    # -- spawning and retiring ----------------------------------------------------------

    async def _spawn(self, *, reserved: bool = False) -> Worker:
        """Start a worker. ``reserved``: the caller already counted it in
        ``_spawning`` (synchronously, so no one else can take the same room)."""
        if not reserved:
            self._spawning += 1
        worker_id = self._next_id
        self._next_id += 1
        started = time.monotonic()
        try:
            worker = await spawn(worker_id, self.socket_dir, log_level=self._log_level)
        finally:
            self._spawning -= 1
            self._notify()
        self.spawn_seconds.append(time.monotonic() - started)
        del self.spawn_seconds[:-100]
        metrics.worker_spawn.observe(self.spawn_seconds[-1])
        self.workers[worker.id] = worker
        if self._nursery is not None:
            self._nursery.start_soon(self._monitor, worker)
        log.info("worker %d started in %.0f ms", worker.id, (time.monotonic() - started) * 1000)
        return worker

    async def _spawn_spare(self) -> None:
        try:
            await self._spawn(reserved=True)
        except WorkerError as exc:
            log.error("could not start a spare worker: %s", exc)

    def _restore_min(self, nursery: trio.Nursery | None = None) -> None:
        """Start spares in the background until min_workers run or are starting, never
        beyond max_workers."""
        nursery = nursery or self._nursery
        if nursery is None:
            return
        alive = sum(1 for w in self.workers.values() if w.alive)
        missing = min(self.min_workers - alive - self._spawning,
                      self.max_workers - len(self.workers) - self._spawning)
        for _ in range(max(0, missing)):
            self._spawning += 1
            nursery.start_soon(self._spawn_spare)

    async def _restore_min_after(self, adopted: trio.Event) -> None:
        await adopted.wait()
        self._restore_min()

    async def _monitor(self, worker: Worker) -> None:
        """Watch one worker until it is retired: notice at once when its process exits
        on its own, and start a health check every HEALTH_INTERVAL. Checks overlap when
        a worker is slow to answer, so a stopped worker is killed within
        HEALTH_INTERVAL * (HEALTH_FAILURES - 1) + HEALTH_TIMEOUT seconds (7 s)."""
        async with trio.open_nursery() as nursery:
            async def watch_exit() -> None:
                await worker.process.wait()
                if worker.retire_reason is None:
                    log.error("worker %d (database %s, %d sessions) exited on its own with %s",
                              worker.id, worker.database, worker.sessions,
                              exit_status(worker.process, worker.killed_here))
                    await self._retire(worker, RetireReason.CRASH)
                nursery.cancel_scope.cancel()

            nursery.start_soon(watch_exit)
            while worker.state is not State.RETIRED and not worker.handed_over:
                await trio.sleep(HEALTH_INTERVAL)
                if worker.state not in (State.DRAINING, State.RETIRED) \
                        and not worker.handed_over:
                    nursery.start_soon(self.check, worker)
            if worker.handed_over:  # no longer ours to watch
                nursery.cancel_scope.cancel()

    async def _retire(self, worker: Worker, reason: RetireReason) -> None:
        if worker.handed_over:
            return  # the successor's now
        key = group_key(worker)
        group = self._owners.get(key, [])
        if worker in group:
            group.remove(worker)
            if not group:
                del self._owners[key]
        worker.retire_reason = worker.retire_reason or reason
        await worker.retire(reason)
        self.workers.pop(worker.id, None)
        self._rebalance.set()
        self._notify()
        if reason is not RetireReason.SHUTDOWN:
            self._restore_min()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    # -- health, idle reaper, memory ----------------------------------------------------

    async def check(self, worker: Worker) -> None:
        """One health check; the worker is killed after HEALTH_FAILURES in a row or
        when DuckDB says its instance is invalidated."""
        started = time.monotonic()
        try:
            with trio.fail_after(HEALTH_TIMEOUT):
                worker.last_health = await worker.action("HealthCheck", timeout=HEALTH_TIMEOUT)
            worker.health_failures = 0
        except (WorkerError, trio.TooSlowError) as exc:
            if worker.state in (State.DRAINING, State.RETIRED):
                return
            worker.health_failures += 1
            log.warning("worker %d failed a health check (%d in a row) after %.1f s: %s; "
                        "process %s", worker.id, worker.health_failures,
                        time.monotonic() - started, str(exc) or "timeout",
                        process_state(worker.process.pid))
            if worker.health_failures >= HEALTH_FAILURES:
                log.error("worker %d (database %s, %d sessions): killed after %d failed "
                          "health checks in a row", worker.id, worker.database,
                          worker.sessions, worker.health_failures)
                worker.kill()
                await self._retire(worker, RetireReason.HEALTH_CHECK_FAILURE)
            return
        if worker.last_health.get("invalidated"):
            log.error("worker %d: DuckDB instance invalidated", worker.id)
            worker.kill()
            await self._retire(worker, RetireReason.INVALIDATED)

    def _ttl(self, worker: Worker) -> float:
        """How long ``worker`` may stay idle: its profile's TTL, else
        worker_idle_timeout (0: no limit)."""
        return self._idle_timeout if worker.ttl is None else worker.ttl

    async def _idle_reaper(self) -> None:
        while True:
            ttls = [t for t in (self._idle_timeout, *map(self._ttl, self.workers.values()))
                    if t]
            await trio.sleep(min(60.0, max(0.5, min(ttls, default=240.0) / 4)))
            now = time.monotonic()
            for worker in sorted(self.workers.values(), key=lambda w: w.idle_since):
                if sum(1 for w in self.workers.values() if w.alive) <= self.min_workers:
                    break
                idle = (worker.state in (State.IDLE, State.HOT_IDLE) and worker.sessions == 0
                        and not adoption.foreign_sessions(worker))
                ttl = self._ttl(worker)
                if idle and ttl and now - worker.idle_since >= ttl:
                    await self._retire(worker, RetireReason.IDLE_TIMEOUT)

    def _limits(self, extra: int = 0, profile=None) -> dict[str, str]:
        """DuckDB settings for each database-owning worker: the configured memory_limit,
        or an equal share of the memory budget (DuckDB's limits are per process); the
        configured threads, else all cores (for long statements: engine/threads.py).
        A worker's ``profile`` (engine.profiles) chooses threads, and memory if it
        names one."""
        owners = sum(1 for w in self._owning() if w.alive) + extra
        limits = {}
        if self._memory_limit:
            limits["memory_limit"] = self._memory_limit
        elif self._memory_budget:
            share = max(256 << 20, self._memory_budget // max(1, owners))
            limits["memory_limit"] = f"{share >> 20}MiB"
        if self._threads:
            limits["threads"] = str(self._threads)
        if profile is not None:
            limits.update(profile.duckdb())
        return limits

    async def _rebalancer(self) -> None:
        """After owners come or go (debounced), give every owner its new share."""
        while True:
            await self._rebalance.wait()
            self._rebalance = trio.Event()
            await trio.sleep(REBALANCE_DEBOUNCE)
            async with trio.open_nursery() as nursery:
                for worker in self._owning():
                    if worker.alive:
                        nursery.start_soon(self._set_limits, worker,
                                           self._limits(profile=worker.profile))

    def _owning(self) -> list[Worker]:
        """Every worker serving a database."""
        return [w for group in self._owners.values() for w in group]

    @staticmethod
    async def _set_limits(worker: Worker, limits: dict[str, str]) -> None:
        try:
            await worker.action("SetLimits", limits, timeout=5.0)
        except WorkerError as exc:
            log.warning("worker %d: could not set limits %s: %s", worker.id, limits, exc)

    def stats(self) -> dict:
        return {"workers": len(self.workers), "spawning": self._spawning,
                "by_state": {s.value: sum(1 for w in self.workers.values() if w.state is s)
                             for s in State}}
