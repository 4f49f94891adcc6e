"""Memory of a server holding many idle sessions: 1,000 connections opened with psycopg
and left idle, then the resident memory of the server's whole process tree.

The whole tree because neither server is one process: PostgreSQL forks a backend per
connection, duckgres-trio's control plane runs DuckDB workers. RSS summed over the tree
counts a shared page once per process that touched it (PostgreSQL's shared buffers, the
workers' shared libraries), so PSS (each shared page divided among its sharers) is
reported too: it is the memory the tree actually costs the machine.
"""

from __future__ import annotations

import contextlib
import resource
import time
from pathlib import Path

import psycopg

from harness_common import Bench, Workload, alternate


def tree_pids(root: int) -> list[int]:
    """root and all its descendants, from /proc's parent links."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    pids, todo = [], [root]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        todo.extend(children.get(pid, []))
    return pids


def _kb(path: Path, key: str) -> int:
    with contextlib.suppress(OSError):
        for line in path.read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1])
    return 0


def tree_memory_mb(root: int) -> tuple[float, float]:
    """(RSS, PSS) of the tree in MiB."""
    pids = tree_pids(root)
    rss = sum(_kb(Path(f"/proc/{pid}/status"), "VmRSS:") for pid in pids)
    pss = sum(_kb(Path(f"/proc/{pid}/smaps_rollup"), "Pss:") for pid in pids)
    return rss / 1024, pss / 1024


def raise_fd_limit(needed: int) -> None:
    """Each idle session is a client socket here; the default soft limit can be 1024."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(needed, soft)), hard))


def hold_sessions(system, sessions: int, settle: float) -> tuple[float, float]:
    """Open `sessions` connections, let the server settle, measure, close them."""
    conns = []
    try:
        for _ in range(sessions):
            conns.append(psycopg.connect(system.conninfo("postgres"), autocommit=True))
        conns[-1].execute("SELECT 1")
        time.sleep(settle)
        return tree_memory_mb(system.root_pid())
    finally:
        for conn in conns:
            conn.close()


def run(bench: Bench) -> list[Workload]:
    sessions = 20 if bench.smoke else 1000
    raise_fd_limit(sessions + 1000)
    rss = Workload("memory", f"RSS, {sessions:,} idle sessions", "MiB", False)
    pss = Workload("memory", f"PSS, {sessions:,} idle sessions", "MiB", False)
    idle = Workload("memory", "RSS, no sessions", "MiB", False)
    held: dict[tuple[str, int], tuple[float, float]] = {}

    def make(workload: Workload, system):
        def measure() -> float:
            index = len(workload.outcome(system.name).samples)
            if workload is idle:
                return tree_memory_mb(system.root_pid())[0]
            key = (system.name, index)
            if key not in held:
                held[key] = hold_sessions(system, sessions, 0.5 if bench.smoke else 3)
            return held[key][0 if workload is rss else 1]
        return measure

    alternate(bench.rounds, [idle, rss, pss], bench.contenders(make))
    return [rss, pss, idle]
