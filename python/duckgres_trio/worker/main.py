"""Starting and stopping a worker process (``duckgres-trio --mode worker``).

The control plane spawns a worker with ``DUCKGRES_WORKER`` in its environment: a JSON
object with the worker's bearer ``token`` (kept off the command line, removed from the
environment once read), optionally the ``database`` file to open at once (null:
in-memory; absent: wait for the ``Activate`` action), the Flight
``flight_socket`` path to bind, the inherited file descriptor ``statement_fd`` of the
statement-path listener the control plane bound, and DuckDB ``duckdb_config``.

The worker exits when its control plane dies (it checks twice a second), so no orphan
keeps a database file locked: first the parent that spawned it, after an upgrade's
``Adopt`` the control plane that adopted it (``owner``), which is not its parent.
SIGTERM/SIGINT: stop taking sessions, let running statements finish (bounded), close
the database (checkpoint), exit 0.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import sys
import threading
import time

from duckgres_trio.worker.flight import WorkerFlightServer
from duckgres_trio.worker.owner import Owner
from duckgres_trio.worker.session import Sessions
from duckgres_trio.worker.statements import StatementServer

log = logging.getLogger("duckgres_trio.worker")

SPEC_ENV = "DUCKGRES_WORKER"
#: How long running statements may take to finish once the worker is told to stop.
DRAIN_SECONDS = 30.0
#: How often the worker checks that its control plane is still there.
PARENT_CHECK_SECONDS = 0.5


def _watch_owner(owner: Owner, flight: WorkerFlightServer, orphaned: threading.Event,
                 stop: threading.Event) -> None:
    """Stop when the owning control plane is gone; end the sessions of a previous owner
    (an upgrade's old control plane) once it is gone.

    Not PR_SET_PDEATHSIG: that signal follows the *thread* that forked, and trio starts
    processes from a worker thread that exits when idle, which killed healthy workers;
    nor would it follow an adoption.
    """
    while not stop.wait(PARENT_CHECK_SECONDS):
        for epoch in owner.departed():
            flight.end_sessions_of(epoch)
        if owner.gone():
            log.warning("the control plane (pid %d) is gone: stopping", owner.pid)
            orphaned.set()
            stop.set()


def drain_and_close(sessions, statements, flight) -> None:
    """Give running statements up to DRAIN_SECONDS, then close the statement path, the
    Flight server and the DuckDB sessions (a local and a fleet worker stop alike)."""
    sessions.draining = True
    deadline = time.monotonic() + DRAIN_SECONDS
    while time.monotonic() < deadline and any(s.busy_since for s in sessions.all()):
        time.sleep(0.05)
    statements.close()
    flight.shutdown()
    sessions.close()


def main() -> int:
    spec = json.loads(os.environ.pop(SPEC_ENV))
    stop, orphaned = threading.Event(), threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    owner = Owner(int(spec["parent_pid"]), int(spec.get("epoch") or 1))

    started = time.monotonic()
    sessions = Sessions()
    if "database" in spec:
        sessions.activate(spec["database"], spec.get("duckdb_config") or {},
                          spec.get("lake") or None)
    listener = socket.socket(fileno=int(spec["statement_fd"]))
    statements = StatementServer(listener, sessions)
    threading.Thread(target=statements.serve, daemon=True, name="statements").start()
    flight = WorkerFlightServer(f"grpc+unix://{spec['flight_socket']}", spec["token"], sessions,
                                owner=owner)
    threading.Thread(target=_watch_owner, args=(owner, flight, orphaned, stop),
                     daemon=True, name="owner-watch").start()
    log.info("worker %s ready in %.0f ms ", spec.get("id"),
             (time.monotonic() - started) * 1000)

    while not stop.wait(1.0):  # a timeout keeps the main thread responsive to signals
        pass
    sessions.draining = True
    if orphaned.is_set():  # nobody is waiting for results: stop what runs
        for session in sessions.all():
            session.interrupt()
    drain_and_close(sessions, statements, flight)
    log.info("worker %s stopped", spec.get("id"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
