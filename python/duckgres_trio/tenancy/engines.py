"""Each organisation's engine, directory, limits and view of the server.

An organisation's DuckDB files live in ``<data_dir>/orgs/<org>/`` and its sessions may
read and write files there only: DuckDB's ``enable_external_access = false`` with
``allowed_directories`` = that directory, set globally on every instance the
organisation opens (``engine.lockdown``) and unchangeable by SQL afterwards, whatever
``file_access`` says (``none`` stays none). ``allowed_directories`` of the server does
not apply: it is the server's, not a tenant's.

Standalone: one ``LocalEngine`` per organisation (DuckDB instances are per database
file, each with its organisation's lockdown). Control plane: one ``ControlPlaneEngine``
per organisation on the one shared pool; a worker opens one database of one
organisation for its whole life (a worker never switches databases), so no temporary
object, secret, attachment or setting can cross organisations.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import trio

from duckgres_trio.engine import lockdown
from duckgres_trio.engine.base import Engine
from duckgres_trio.engine.databases import name_problem
from duckgres_trio.errors import PgError, SqlState
from duckgres_trio.tenancy.directory import Org, Snapshot
from duckgres_trio.tenancy.slots import Slots

log = logging.getLogger(__name__)

#: DuckDB settings an organisation's ``worker_settings`` may choose; anything touching
#: files, extensions or the lockdown (temp_directory, allowed_directories, ...) is the
#: server's to fix and is ignored with a warning.
ORG_SETTINGS = frozenset({"memory_limit", "max_memory", "threads", "worker_threads",
                          "default_order", "default_null_order", "preserve_insertion_order",
                          "checkpoint_threshold", "max_temp_directory_size", "TimeZone"})


def org_directory(data_dir: Path, org: str) -> Path:
    """``<data_dir>/orgs/<org>``; ValueError for a name that cannot be a directory."""
    problem = name_problem(org)
    if problem is not None:
        raise ValueError(f"organisation name {org!r} cannot name a directory: {problem}")
    return data_dir / "orgs" / org


def org_engine_config(file_access: str, directory: Path,
                      settings: dict[str, str] | None = None) -> dict[str, str]:
    """The DuckDB configuration of an organisation's instances: its chosen settings
    (ORG_SETTINGS only), then the lockdown to its own directory."""
    chosen = {}
    for key, value in (settings or {}).items():
        if key in ORG_SETTINGS:
            chosen[key] = str(value)
        else:
            log.warning("organisation setting %r ignored: not one an organisation may set", key)
    access = "none" if file_access == "none" else "data_dir"
    return {**chosen, **lockdown.duckdb_config(access, directory)}


class Tenancy:
    """The server's many-tenant side: the current snapshot, routing settings, and one
    engine per organisation, made on first use."""

    def __init__(self, snapshots: Callable[[], Snapshot | None], *, data_dir: Path,
                 make_engine: Callable[[Org, Path, Callable[[], Org]], Engine],
                 pool=None, mode: str = "off",
                 suffixes: tuple[str, ...] = ()) -> None:
        self.snapshots = snapshots
        self.data_dir = data_dir
        self.mode = mode
        self.suffixes = suffixes
        self._make_engine = make_engine
        self._engines: dict[str, Engine] = {}
        self._last: dict[str, Org] = {}  # the latest Org seen, should it leave the snapshot
        self.pool = pool  # the workers all organisations share (control plane)

    def snapshot(self) -> Snapshot:
        """The current snapshot; with none loaded yet, every organisation is unknown."""
        return self.snapshots() or Snapshot(orgs={}, users={}, loaded_at=0.0)

    def current(self, name: str) -> Org:
        """The organisation as the latest snapshot has it (limits may have changed)."""
        org = self.snapshot().orgs.get(name)
        if org is not None:
            self._last[name] = org
        return self._last[name]

    def engine_for(self, org: Org) -> Engine:
        engine = self._engines.get(org.name)
        if engine is None:
            self._last[org.name] = org
            directory = org_directory(self.data_dir, org.name)
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            engine = self._engines[org.name] = self._make_engine(
                org, directory, lambda name=org.name: self.current(name))
            log.info("organisation %s: engine on %s", org.name, directory)
        return engine

    def workers_by_org(self) -> Counter[str]:
        return self.pool.workers_by_org() if self.pool is not None else Counter()

    def waiting_by_org(self) -> Counter[str]:
        return Counter({name: getattr(engine, "waiting", 0)
                        for name, engine in self._engines.items()})

    # the Engine lifecycle the server drives (run, handover, aclose)

    async def run(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        if self.pool is not None:
            await self.pool.run(task_status=task_status)
        else:
            task_status.started()

    async def handover(self, channel=None) -> None:
        if self.pool is not None:
            await self.pool.handover(channel)
        for engine in list(self._engines.values()):
            if self.pool is None:
                await engine.handover()

    async def aclose(self) -> None:
        for engine in list(self._engines.values()):
            await engine.aclose()


def org_slots(current: Callable[[], Org], default: int) -> Slots:
    """An organisation's session queue: max_connections at once, the rest wait."""
    return Slots(lambda: current().max_connections or default)


def too_many(org: str) -> PgError:
    return PgError(SqlState.TOO_MANY_CONNECTIONS,
                   f'too many connections for organisation "{org}"', severity="FATAL")
