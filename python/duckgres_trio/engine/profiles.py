"""Worker profiles: how large a session's worker is and how long it stays hot-idle.

A client may ask for a profile in its startup packet (``duckgres.worker_cpu``,
``duckgres.worker_memory``, ``duckgres.worker_ttl``, also as ``-c`` in PGOPTIONS) when
the deployment sets ``allow_client_worker_profile``; otherwise asking is FATAL 42501,
as PostgreSQL answers a startup option the user may not set. Each value falls back to
the organisation's default (its config-store record), then the deployment's
(``duckdb_threads``, ``duckdb_memory_limit``, ``worker_idle_timeout``), and the result
is clamped to the deployment's ``worker_cpu_min/max``, ``worker_memory_min/max`` and
``worker_ttl_max``. A value that does not parse is FATAL 22023.

The worker's DuckDB ``threads`` and ``memory_limit`` follow the profile, the (cpu,
memory) pair is part of the key under which a worker is reused, and ``cpu`` is what the
session counts against its organisation's ``max_vcpus`` (``controlplane.admission``).
Pure data: no trio, no DuckDB.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from duckgres_trio import config as configuration
from duckgres_trio.errors import PgError, SqlState

CPU, MEMORY, TTL = "duckgres.worker_cpu", "duckgres.worker_memory", "duckgres.worker_ttl"
OPTIONS = (CPU, MEMORY, TTL)
#: The smallest memory_limit a worker gets (the process pool's floor for a share).
MEMORY_FLOOR = 256 << 20


@dataclass(frozen=True)
class Profile:
    cpu: int  # DuckDB threads; the vCPUs counted against max_vcpus
    memory: int  # bytes (whole MiB); 0: derived (a share of memory_budget, or DuckDB's)
    ttl: float  # seconds a worker stays hot-idle after its last session

    @property
    def key(self) -> tuple[int, int]:
        """What a reused worker must match (the TTL may differ: it is only a timer)."""
        return (self.cpu, self.memory)

    def duckdb(self) -> dict[str, str]:
        limits = {"threads": str(self.cpu)}
        if self.memory:
            limits["memory_limit"] = f"{self.memory >> 20}MiB"
        return limits

    def shown(self) -> dict[str, str]:
        """The session parameters SHOW / current_setting() read."""
        return {CPU: str(self.cpu),
                MEMORY: f"{self.memory >> 20}MiB" if self.memory else "",
                TTL: configuration.show_duration(self.ttl)}

    def as_json(self) -> dict:
        return {"cpu": self.cpu, "memory": self.memory, "ttl": self.ttl}

    @classmethod
    def from_json(cls, data: dict | None) -> Profile | None:
        return None if not data else cls(int(data["cpu"]), int(data["memory"]),
                                         float(data["ttl"]))


@dataclass(frozen=True)
class Limits:
    """The deployment's side: whether clients choose, defaults, clamps."""

    allow_client: bool = False
    cpu: int = 1
    memory: int = 0
    ttl: float = 300.0
    cpu_min: int = 1
    cpu_max: int = 1
    memory_min: int = MEMORY_FLOOR
    memory_max: int = 0  # 0: no maximum
    ttl_max: float = 300.0

    @classmethod
    def from_config(cls, config) -> Limits:
        cores = os.cpu_count() or 1
        try:
            memory = configuration._memory(config.duckdb_memory_limit)
        except ValueError:  # e.g. '80%': left to the pool as before
            memory = 0
        cpu_max = config.worker_cpu_max or max(cores, config.duckdb_threads)
        return cls(allow_client=config.allow_client_worker_profile,
                   cpu=config.duckdb_threads or cores, memory=memory,
                   ttl=config.worker_idle_timeout,
                   cpu_min=min(config.worker_cpu_min, cpu_max), cpu_max=cpu_max,
                   memory_min=config.worker_memory_min,
                   memory_max=config.worker_memory_max or config.worker_memory_budget,
                   ttl_max=config.worker_ttl_max or config.worker_idle_timeout)

    def clamp(self, cpu: int, memory: int, ttl: float) -> Profile:
        cpu = min(max(cpu, self.cpu_min), self.cpu_max)
        if memory:
            memory = max(memory, self.memory_min)
            if self.memory_max:
                memory = min(memory, self.memory_max)
            memory = max(1, memory >> 20) << 20  # DuckDB's limit in whole MiB
        # 0 means "no limit" to the pools (as worker_idle_timeout 0), so a TTL is at
        # least a second while the deployment has a maximum
        ttl = min(max(ttl, 1.0), self.ttl_max) if self.ttl_max else 0.0
        return Profile(cpu, memory, ttl)


def resolve(limits: Limits, params: dict[str, str], org=None) -> Profile:
    """The session's profile from its startup ``params`` (canonical, lowercase names),
    the organisation ``org`` (``tenancy.directory.Org`` or None) and ``limits``."""
    asked = {name: params[name] for name in OPTIONS if params.get(name, "") != ""}
    if asked and not limits.allow_client:
        name = next(iter(asked))
        raise PgError(SqlState.INSUFFICIENT_PRIVILEGE,
                      f'permission denied to set parameter "{name}"', severity="FATAL",
                      hint="This server does not let clients choose worker profiles "
                      "(allow_client_worker_profile is off).")
    cpu = _org(org, "worker_cpu") or limits.cpu
    memory = _org(org, "worker_memory") or limits.memory
    ttl = limits.ttl if _org(org, "worker_ttl") is None else float(org.worker_ttl)
    if CPU in asked:
        cpu = _parse(CPU, asked[CPU], _integer)
    if MEMORY in asked:
        memory = _parse(MEMORY, asked[MEMORY], configuration._memory)
    if TTL in asked:
        ttl = _parse(TTL, asked[TTL], configuration._duration)
    return limits.clamp(cpu, memory, ttl)


def _org(org, field: str):
    return None if org is None else getattr(org, field, None)


def _integer(text: str) -> int:
    return int(text.strip(), 10)


def _parse(name: str, text: str, parse):
    try:
        value = parse(text)
    except ValueError:
        value = None
    if value is None or (isinstance(value, (int, float)) and value < 0) or len(text) > 64:
        raise PgError(SqlState.INVALID_PARAMETER_VALUE,
                      f'invalid value for parameter "{name}": "{text[:64]}"', severity="FATAL",
                      hint={CPU: "A whole number of vCPUs, such as 2.",
                            MEMORY: "A size such as 512MB or 4GB.",
                            TTL: "A duration such as 30s or 5m."}[name])
    return value
