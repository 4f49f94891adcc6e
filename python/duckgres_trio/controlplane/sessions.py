"""Sessions on workers: the control plane's ``Engine``.

Opening a session: wait (bounded by ``worker_queue_timeout``, first come first served)
for a connection slot, get the worker that owns the database, ``CreateSession`` there
(3 attempts: a worker that fails is retired and another tried), then connect the
session's statement path. Ending it: ``DestroySession`` completes before the worker
counts the session as gone; a worker that cannot destroy a session is retired.
"""

from __future__ import annotations

import logging
from pathlib import Path

import trio

from duckgres_trio import metrics
from duckgres_trio.controlplane import adoption
from duckgres_trio.controlplane.admission import Admission
from duckgres_trio.controlplane.pool import WorkerPool
from duckgres_trio.controlplane.worker import RetireReason, Worker, WorkerError
from duckgres_trio.engine.base import BUSY_WAIT_SECONDS, Engine, Progress
from duckgres_trio.engine.databases import (
    busy,
    database_file,
    existing_database_file,
    is_lock_conflict,
    name_problem,
    new_database_file,
    no_database,
    remove_database_files,
)
from duckgres_trio.engine.lake import Lake, catalog_unreachable
from duckgres_trio.engine.remote import RemoteExecutor
from duckgres_trio.errors import PgError, SqlState

log = logging.getLogger(__name__)

CREATE_ATTEMPTS = 3
#: Pause between attempts to open a database another process holds.
LOCK_RETRY_SECONDS = 0.2
DESTROY_SECONDS = 15.0


class ControlPlaneEngine(Engine):
    """``org`` (many tenants): this engine is one organisation's, on the shared pool:
    its databases are keyed ``org/name`` there (no two organisations share a worker),
    opened with ``engine_config`` and at most ``max_workers()`` workers at once, and its
    sessions queue in this engine's own slots, apart from other organisations'."""

    def __init__(self, pool: WorkerPool, data_dir: Path, *, auto_create: bool = True,
                 max_sessions: int = 100, queue_timeout: float = 60.0,
                 org: str | None = None, engine_config: dict[str, str] | None = None,
                 max_workers=lambda: None, slots=None, lake: Lake | None = None,
                 default_profile=lambda: None, max_vcpus=lambda: None,
                 admission: Admission | None = None) -> None:
        self.pool = pool
        self._lake = lake  # DuckLake storage (engine.lake); None: DuckDB files
        self._data_dir = data_dir
        self._auto_create = auto_create
        self._org = org
        self._engine_config = engine_config
        self._max_workers = max_workers
        # worker profiles (engine.profiles) and the organisation's vCPU limit
        self._default_profile = default_profile
        self._max_vcpus = max_vcpus
        self._admission = admission
        # trio's semaphore wakes waiters in FIFO order: the connection queue.
        self._slots = slots or trio.Semaphore(max_sessions)
        self._queue_timeout = queue_timeout
        self._waiting = 0
        self._ddl = trio.Lock()  # one CREATE/DROP DATABASE at a time
        self._dropping: dict[str, trio.Event] = {}
        if org is None:
            metrics.gauge_from(metrics.worker_queue_depth, lambda: self._waiting)

    @property
    def waiting(self) -> int:
        """Sessions waiting for a slot or a worker now."""
        return self._waiting

    def _key(self, database: str) -> str:
        """The pool's name for a database: unique across organisations ('/' is in no
        database or organisation name)."""
        return database if self._org is None else f"{self._org}/{database}"

    async def _acquire(self, database: str, path: str | None, user: str | None = None,
                       profile=None) -> Worker:
        """``user``: a session's. A lake's workers serve one user of an organisation at
        a time: DuckDB 1.5.5 keeps temporary secrets per instance, so a user's
        persistent secrets (replayed, or created at any moment of a session that cannot
        move to another process) would be on an instance another user's session reads
        (docs/multitenancy.md, "Persistent secrets"). A file has one owner, shared."""
        lake = None if self._lake is None else self._lake.spec(database)
        profile = profile or self._default_profile()
        if self._org is None:
            return await self.pool.acquire(database, path, lake=lake, profile=profile)
        return await self.pool.acquire(self._key(database), path, org=self._org,
                                       engine_config=self._engine_config,
                                       org_max_workers=self._max_workers(), lake=lake,
                                       user=user, profile=profile)

    async def run(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        await self.pool.run(task_status=task_status)

    async def open_session(self, database: str, user: str, *,
                           profile=None) -> RemoteExecutor:
        """With ``profile`` (else the default), its vCPUs taken against the
        organisation's max_vcpus first (``admission``), within the queue timeout."""
        path = database_file(self._data_dir, database)  # FATAL 3D000 for a bad name
        if not self._auto_create and not await self._exists(database, path):
            raise no_database(database)
        if self._lake is not None:
            path = None  # the worker attaches the lake (engine.lake)
        else:
            self._data_dir.mkdir(parents=True, exist_ok=True)
        started = trio.current_time()
        profile = profile or self._default_profile()
        ticket = None
        deadline = started + (self._queue_timeout or float("inf"))
        with trio.move_on_at(deadline):
            self._waiting += 1
            try:
                if self._admission is not None and self._org is not None and profile:
                    # a moment before ours: a wait for vCPUs ends with its own 53300
                    ticket = await self._admission.take(self._org, profile.cpu,
                                                        self._max_vcpus, self._queue_timeout,
                                                        deadline - 0.1)
                await self._slots.acquire()
                try:
                    executor = await self._open(database, path and str(path), user,
                                                profile, ticket)
                except BaseException:
                    self._slots.release()
                    raise
            except BaseException:
                if ticket is not None:
                    with trio.CancelScope(shield=True):
                        await self._admission.give(ticket)
                raise
            finally:
                self._waiting -= 1
            metrics.worker_acquire.observe(trio.current_time() - started)
            return executor
        raise PgError(SqlState.TOO_MANY_CONNECTIONS,
                      "sorry, too many clients already: no worker became available within "
                      f"{self._queue_timeout:g} s", severity="FATAL",
                      hint="Retry later, or raise max_workers / worker_queue_timeout.")

    async def create_database(self, name: str) -> None:
        """The file is made by DuckDB on a worker activated for it (the control plane
        never opens DuckDB); that worker then owns it, ready for the first session."""
        async with self._ddl:
            path = new_database_file(self._data_dir, name)
            if self._lake is not None:
                await trio.to_thread.run_sync(self._lake.check_new, name)
            else:
                self._data_dir.mkdir(parents=True, exist_ok=True)
            worker = None
            with trio.move_on_after(self._queue_timeout or float("inf")):
                try:
                    worker = await self._acquire(name, None if self._lake else str(path))
                except WorkerError as exc:
                    unreachable = catalog_unreachable(str(exc))
                    if unreachable is not None:
                        raise PgError(SqlState.CONNECTION_FAILURE,
                                      f'could not create database "{name}": {unreachable}'
                                      ) from None
                    raise PgError(SqlState.SYSTEM_ERROR,
                                  f'could not create database "{name}": {exc}') from None
            if worker is None:
                raise PgError(SqlState.TOO_MANY_CONNECTIONS,
                              f'could not create database "{name}": no worker became '
                              f"available within {self._queue_timeout:g} s")
            self.pool.release(worker)

    async def drop_database(self, name: str) -> bool:
        async with self._ddl:
            if self._lake is not None:
                if name_problem(name) is not None or not await self._exists(name, Path()):
                    return False
                path = None
            else:
                path = existing_database_file(self._data_dir, name)
                if path is None:
                    return False
            done = self._dropping[name] = trio.Event()
            try:
                remaining = await self.pool.release_database(self._key(name), BUSY_WAIT_SECONDS)
                if remaining:
                    raise busy(name, remaining)
                if path is None:
                    await trio.to_thread.run_sync(self._lake.drop, name)
                else:
                    remove_database_files(path)
            finally:
                del self._dropping[name]
                done.set()
            log.info("dropped database %r", name)
            return True

    async def handover(self, channel=None) -> None:
        await self.pool.handover(channel)

    async def _exists(self, database: str, path: Path) -> bool:
        if self._lake is None:
            return path.exists()
        return await trio.to_thread.run_sync(self._lake.exists, database)

    async def _open(self, database: str, path: str | None, user: str, profile=None,
                    ticket=None) -> RemoteExecutor:
        failure = "no attempt made"
        attempts = 0
        while attempts < CREATE_ATTEMPTS:
            attempts += 1
            while (dropping := self._dropping.get(database)) is not None:
                await dropping.wait()  # then it is gone (or auto-created anew)
                if not self._auto_create and not await self._exists(
                        database, database_file(self._data_dir, database)):
                    raise no_database(database)
            try:
                worker = await self._acquire(database, path, user, profile)
            except WorkerError as exc:
                failure = str(exc)
                unreachable = catalog_unreachable(failure)
                if unreachable is not None:  # another worker would fare no better
                    raise PgError(SqlState.CONNECTION_FAILURE,
                                  f'cannot open database "{database}": {unreachable}',
                                  severity="FATAL") from None
                if is_lock_conflict(failure):
                    # another process (the one this one took over from) still has the
                    # file open: wait for it, bounded by the caller's queue timeout
                    attempts -= 1
                    await trio.sleep(LOCK_RETRY_SECONDS)
                continue
            try:
                # no upgrade hands the worker over while its session opens (adoption.Gate)
                with adoption.opening(self.pool, worker):
                    reply = await worker.action("CreateSession", {"user": user}, timeout=30.0)
                token = reply["session_token"]
            except PgError:
                self.pool.release(worker)
                raise
            except (WorkerError, KeyError) as exc:
                failure = str(exc)
                self.pool.release(worker)
                if worker.sessions == 0:  # the seed's RetireWorkerIfNoSessions
                    await self.pool.retire(worker, RetireReason.SESSION_CREATE_FAILURE)
                continue
            try:
                return await RemoteExecutor.connect(
                    worker.statement_path, token, lambda: self._end(worker, token, ticket),
                    progress=lambda: _progress(worker, token), worker=f"w{worker.id}")
            except BaseException:
                with trio.CancelScope(shield=True):
                    await self._end(worker, token)
                raise
        raise PgError(SqlState.SYSTEM_ERROR,
                      f"could not start a session on a worker: {failure}", severity="FATAL")

    async def _end(self, worker: Worker, token: str, ticket=None) -> None:
        """DestroySession, then count the session gone (shielded: a session always ends)."""
        with trio.CancelScope(shield=True):
            destroyed = False
            if worker.alive:
                try:
                    reply = await worker.action("DestroySession", {"session_token": token},
                                                timeout=DESTROY_SECONDS)
                    destroyed = bool(reply.get("destroyed"))
                except WorkerError as exc:
                    log.warning("worker %d: DestroySession failed: %s", worker.id, exc)
                if not destroyed and worker.alive:
                    await self.pool.retire(worker, RetireReason.DESTROY_FAILURE)
            self.pool.release(worker)
            self._slots.release()
            if ticket is not None:
                await self._admission.give(ticket)

    async def aclose(self) -> None:
        pass  # the pool retires its workers when run() is cancelled


def _progress(worker: Worker, token: str) -> Progress | None:
    """A session's progress as the worker's latest health check reported it."""
    stalled = worker.health_failures > 0 or bool(worker.last_health.get("progress_timed_out"))
    entry = (worker.last_health.get("progress") or {}).get(token[:8])
    if entry is None:
        return Progress(None, None, None, stalled) if stalled else None
    percent = entry.get("percentage")
    return Progress(percent if percent is not None and percent >= 0 else None,
                    entry.get("rows_processed"), entry.get("total_rows"), stalled)
