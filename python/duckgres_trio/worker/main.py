"""Starting and stopping a worker process (``duckgres-trio --mode worker``).

The control plane spawns a worker with ``DUCKGRES_WORKER`` in its environment: a JSON
object with the worker's bearer ``token`` (kept off the command line, removed from the
environment once read), optionally the ``database`` file to open at once (null:
in-memory; absent: wait for the ``Activate`` action), the Flight
``flight_socket`` path to bind, the inherited file descriptor ``statement_fd`` of the
statement-path listener the control plane bound, and DuckDB ``duckdb_config``.

The worker exits when its control plane dies (parent-death signal), so no orphan keeps a
database file locked. SIGTERM/SIGINT: stop taking sessions, let running statements
finish (bounded), close the database (checkpoint), exit 0.
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import signal
import socket
import sys
import threading
import time

from duckgres_trio.worker.flight import WorkerFlightServer
from duckgres_trio.worker.session import Sessions
from duckgres_trio.worker.statements import StatementServer

log = logging.getLogger("duckgres_trio.worker")

SPEC_ENV = "DUCKGRES_WORKER"
_PR_SET_PDEATHSIG = 1
#: How long running statements may take to finish once the worker is told to stop.
DRAIN_SECONDS = 30.0


def _die_with_parent(parent: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os.kill(os.getpid(), signal.SIGTERM)


def main() -> int:
    spec = json.loads(os.environ.pop(SPEC_ENV))
    _die_with_parent(int(spec["parent_pid"]))
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())

    started = time.monotonic()
    sessions = Sessions()
    if "database" in spec:
        sessions.activate(spec["database"], spec.get("duckdb_config") or {})
    listener = socket.socket(fileno=int(spec["statement_fd"]))
    statements = StatementServer(listener, sessions)
    threading.Thread(target=statements.serve, daemon=True, name="statements").start()
    flight = WorkerFlightServer(f"grpc+unix://{spec['flight_socket']}", spec["token"], sessions)
    log.info("worker %s ready in %.0f ms ", spec.get("id"),
             (time.monotonic() - started) * 1000)

    stop.wait()
    sessions.draining = True
    deadline = time.monotonic() + DRAIN_SECONDS
    while time.monotonic() < deadline and any(s.busy_since for s in sessions.all()):
        time.sleep(0.05)
    statements.close()
    flight.shutdown()
    sessions.close()
    log.info("worker %s stopped", spec.get("id"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
