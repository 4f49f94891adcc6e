"""Cleaning up after a control plane that died without retiring its workers.

Every worker leaves three files in ``socket_dir``, named after the control plane that
spawned it: ``cp<pid>-w<id>.sock`` / ``.flight`` (its sockets) and ``.pid`` (its process
id). Workers watch their parent and exit when it goes, but one that is stopped or stuck
cannot; and the files stay. At start the pool sweeps the directory: the files of a
control plane that is no longer running are removed, and a worker process they name
that is still there (and still a duckgres-trio worker: pids are reused) is killed.
Files of a control plane that is alive (another server, or the old one during an
upgrade) are left alone. Workers stuck while spawning or activating are bounded where
that happens (``worker.SPAWN_SECONDS``, ``pool.ACTIVATION_SECONDS``).
"""

from __future__ import annotations

import logging
import os
import re
import signal
from pathlib import Path

log = logging.getLogger(__name__)

_FILE = re.compile(r"cp(\d+)-w(\d+)\.(sock|flight|pid)")


def sweep(socket_dir: Path) -> int:
    """Remove what dead control planes left in ``socket_dir``; the number of orphan
    workers killed."""
    killed = 0
    if not socket_dir.is_dir():
        return 0
    for path in sorted(socket_dir.iterdir()):
        match = _FILE.fullmatch(path.name)
        if match is None or _is_control_plane(int(match[1])):
            continue
        if match[3] == "pid":
            killed += _kill_orphan(path)
        try:
            path.unlink()
        except FileNotFoundError:
            pass
    return killed


def _kill_orphan(pid_file: Path) -> int:
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return 0
    if not _is_worker(pid):
        return 0
    log.warning("killing orphan worker %d left by a control plane that died (%s)",
                pid, pid_file.name)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return 0
    return 1


def _cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def _is_control_plane(pid: int) -> bool:
    args = _cmdline(pid)
    return any("duckgres" in a for a in args) and not _worker_args(args)


def _is_worker(pid: int) -> bool:
    return _worker_args(_cmdline(pid))


def _worker_args(args: list[str]) -> bool:
    return "duckgres_trio" in args and "--mode" in args and "worker" in args
