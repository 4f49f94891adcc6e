"""One worker process as the control plane sees it: spawn, control actions, health,
lifecycle state, retirement.

Lifecycle (the seed's states)::

    spawning -> idle -> reserved -> activating -> hot <-> hot_idle
                  \\_______________________________\\______ -> draining -> retired

``idle``: running, no database yet (a spare). ``reserved``: chosen for a database,
``activating``: opening it. ``hot``: has sessions; ``hot_idle``: owns its database but
has no session now. Any state can go to ``retired`` (crash, failed spawn); ``draining``
stops new sessions while the retirement runs.
"""

from __future__ import annotations

import enum
import json
import logging
import os
import secrets
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.flight as fl
import trio

from duckgres_trio import metrics
from duckgres_trio.worker.owner import EPOCH_HEADER

log = logging.getLogger(__name__)

#: A spawned worker must answer a HealthCheck within this long.
SPAWN_SECONDS = 20.0
#: Retirement: SIGINT, then SIGKILL after this long.
RETIRE_GRACE_SECONDS = 10.0


class State(enum.Enum):
    SPAWNING = "spawning"
    IDLE = "idle"
    RESERVED = "reserved"
    ACTIVATING = "activating"
    HOT = "hot"
    HOT_IDLE = "hot_idle"
    DRAINING = "draining"
    RETIRED = "retired"


_NEXT = {
    State.SPAWNING: {State.IDLE},
    State.IDLE: {State.RESERVED, State.DRAINING},
    State.RESERVED: {State.ACTIVATING, State.IDLE, State.DRAINING},
    State.ACTIVATING: {State.HOT, State.HOT_IDLE, State.DRAINING},
    State.HOT: {State.HOT_IDLE, State.DRAINING},
    State.HOT_IDLE: {State.HOT, State.DRAINING},
    State.DRAINING: set(),
    State.RETIRED: set(),
}


class RetireReason(enum.Enum):
    NORMAL = "normal"
    CRASH = "crash"
    IDLE_TIMEOUT = "idle_timeout"
    SHUTDOWN = "shutdown"
    SPAWN_FAILURE = "spawn_failure"
    ACTIVATION_FAILURE = "activation_failure"
    STUCK_ACTIVATING = "stuck_activating"
    HEALTH_CHECK_FAILURE = "health_check_failure"
    INVALIDATED = "invalidated"
    SESSION_END = "session_end"
    SESSION_CREATE_FAILURE = "session_create_failure"
    DESTROY_FAILURE = "destroy_failure"
    MAKE_ROOM = "make_room"
    DATABASE_DROPPED = "database_dropped"


class InvalidTransition(RuntimeError):
    pass


def group_key(worker) -> tuple:
    """The pool key of the group ``worker`` serves in: (database, user, profile key)."""
    return worker.pool_key or (worker.database, worker.user, None)


class WorkerError(Exception):
    """A control action failed; ``unavailable`` if the worker refused for now."""

    def __init__(self, message: str, *, unavailable: bool = False) -> None:
        super().__init__(message)
        self.unavailable = unavailable


@dataclass(eq=False)
class Worker:
    id: int
    process: trio.Process
    statement_path: str
    flight_path: str
    token: str = field(repr=False)
    state: State = State.SPAWNING
    database: str | None = None
    #: The organisation whose database this worker opened (None: single tenant). A
    #: worker never opens a second database, so never serves a second organisation.
    org: str | None = None
    #: The one user whose sessions this worker serves (a DuckLake database of many
    #: tenants: controlplane.pool), None: any user of the organisation.
    user: str | None = None
    #: The worker profile it was activated with (engine.profiles), the pool key it
    #: serves (database, user, profile key) and its hot-idle TTL (its latest session's)
    profile: Any = None
    pool_key: tuple | None = None
    ttl: float | None = None
    sessions: int = 0
    health_failures: int = 0
    last_health: dict = field(default_factory=dict)
    idle_since: float = field(default_factory=time.monotonic)
    state_since: float = field(default_factory=time.monotonic)
    retire_reason: RetireReason | None = None
    #: The owner epoch this control plane drives the worker under (worker.owner); an
    #: upgrade's successor adopts the worker at a higher one (controlplane.adoption).
    epoch: int = 1
    #: Given to a successor: no longer ours to stop; our sessions on it still end here.
    handed_over: bool = False
    _client: fl.FlightClient | None = field(default=None, repr=False)
    #: Whether this control plane sent SIGKILL (a SIGKILL exit otherwise came from
    #: elsewhere: the kernel's OOM killer, an operator), for the log line of its end.
    killed_here: bool = field(default=False, repr=False)

    # -- lifecycle ----------------------------------------------------------------------

    def transition(self, new: State) -> None:
        if new is not State.RETIRED and new not in _NEXT[self.state]:
            metrics.worker_transitions.labels(new.value, "invalid", self.state.value).inc()
            raise InvalidTransition(f"worker {self.id}: {self.state.value} -> {new.value}")
        metrics.worker_transitions.labels(new.value, "ok", self.state.value).inc()
        log.debug("worker %d: %s -> %s", self.id, self.state.value, new.value)
        self.state = new
        self.state_since = time.monotonic()

    @property
    def alive(self) -> bool:
        return self.state not in (State.DRAINING, State.RETIRED) and self.process.returncode is None

    async def retire(self, reason: RetireReason) -> None:
        """Stop the process (SIGINT, then SIGKILL after the grace time) and remove its
        sockets. Safe to call twice. A worker handed over to a successor is left running."""
        if self.state is State.RETIRED or self.handed_over:
            return
        if self.state is not State.DRAINING:
            self.state = State.DRAINING
        self.retire_reason = reason
        metrics.worker_transitions.labels("retire", "ok", reason.value).inc()
        log.info("retiring worker %d (%s, database %s)", self.id, reason.value, self.database)
        with trio.CancelScope(shield=True):
            if self.process.returncode is None:
                try:
                    self.process.send_signal(signal.SIGINT)
                except ProcessLookupError:
                    pass
                with trio.move_on_after(RETIRE_GRACE_SECONDS):
                    await self.process.wait()
                if self.process.returncode is None:
                    self.killed_here = True
                    self.process.kill()
                    await self.process.wait()
                log.info("worker %d (%s) ended with %s", self.id, reason.value,
                         exit_status(self.process, self.killed_here))
            self.close_client()
            for path in (self.statement_path, self.flight_path,
                         self.statement_path.removesuffix(".sock") + ".pid"):
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    pass
        self.transition(State.RETIRED)

    def kill(self) -> None:
        """SIGKILL now (a worker that failed its health checks)."""
        if self.process.returncode is None and not self.handed_over:
            self.killed_here = True
            self.process.kill()

    # -- control actions ----------------------------------------------------------------

    async def action(self, name: str, body: dict | None = None, *, timeout: float = 10.0) -> dict:
        """Run a custom Flight action in a thread (pyarrow's client blocks)."""
        headers = [(b"authorization", f"Bearer {self.token}".encode()),
                   (EPOCH_HEADER.encode(), str(self.epoch).encode())]
        return await flight_action(self.client, name, body or {}, headers, timeout)

    def client(self) -> fl.FlightClient:
        if self._client is None:
            self._client = fl.connect(f"grpc+unix://{self.flight_path}")
        return self._client

    def close_client(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def exit_status(process, killed_here: bool = False) -> str:
    """A process's end as a log line says it: its exit code or the signal's name, and
    for a SIGKILL this control plane did not send, that it came from elsewhere."""
    code = process.returncode
    if code is None:
        return "the process still running"
    if getattr(process, "status_unknown", False):
        return "an exit status only its parent can read (an adopted worker)"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            return f"signal {-code}"
        if -code == signal.SIGKILL and not killed_here:
            return f"signal {name}, not sent by this control plane (the OOM killer?)"
        return f"signal {name}"
    return f"exit code {code}"


def process_state(pid: int) -> str:
    """What the kernel says of a process (/proc/PID/stat): its state letter (R running,
    S sleeping, D in I/O, T stopped, Z exited) and CPU seconds so far, so a log tells a
    stopped or hung worker from one starved by a busy machine."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return f"state {fields[0]}, {(int(fields[11]) + int(fields[12])) / ticks:.2f} s CPU"
    except (OSError, IndexError, ValueError):
        return "state unknown"


async def flight_action(client, name: str, body: dict, headers: list, timeout: float) -> dict:
    """One custom Flight action with a JSON body and reply, run in a thread (pyarrow's
    client blocks); ``client`` is called in that thread. Failures become WorkerError,
    ``unavailable`` when the worker cannot be reached at all."""
    payload = json.dumps(body).encode()

    def call() -> dict:
        options = fl.FlightCallOptions(timeout=timeout, headers=headers)
        results = list(client().do_action(fl.Action(name, payload), options))
        return json.loads(results[0].body.to_pybytes()) if results else {}

    try:
        return await trio.to_thread.run_sync(call, abandon_on_cancel=True)
    except fl.FlightUnavailableError as exc:
        raise WorkerError(_flight_message(exc), unavailable=True) from None
    except (fl.FlightError, OSError) as exc:
        raise WorkerError(_flight_message(exc)) from None


def _flight_message(exc: Exception) -> str:
    """The worker's own message, without gRPC's decoration."""
    text = str(exc)
    for marker in (". Detail:", "\ngRPC client debug context"):
        text = text.split(marker, 1)[0]
    return text


async def spawn(worker_id: int, socket_dir: Path, *, log_level: str = "info") -> Worker:
    """Start a worker process and wait until it answers a HealthCheck.

    The statement-path socket is bound here, before the process starts, and inherited:
    it exists (and accepts connections into its backlog) from the first moment.
    """
    # Named after this control plane, so two of them (an upgrade's old and new) never
    # take each other's sockets, and the janitor knows whose files these are.
    stem = socket_dir / f"cp{os.getpid()}-w{worker_id}"
    statement_path, flight_path = f"{stem}.sock", f"{stem}.flight"
    for path in (statement_path, flight_path):
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(statement_path)
        listener.listen(1024)
        token = secrets.token_hex(32)
        spec = {"id": worker_id, "token": token, "flight_socket": flight_path,
                "statement_fd": listener.fileno(), "parent_pid": os.getpid(),
                "epoch": 1}
        env = {**os.environ, "DUCKGRES_WORKER": json.dumps(spec), "DUCKGRES_MODE": "worker",
               "DUCKGRES_LOG_LEVEL": log_level}
        process = await trio.lowlevel.open_process(
            [sys.executable, "-m", "duckgres_trio", "--mode", "worker"],
            # its own session: a terminal's Ctrl-C reaches the control plane only,
            # which decides what the workers do (drain, cancel, stop)
            env=env, pass_fds=(listener.fileno(),), start_new_session=True)
    finally:
        listener.close()
    Path(f"{stem}.pid").write_text(f"{process.pid}\n")  # for the janitor after a crash
    worker = Worker(worker_id, process, statement_path, flight_path, token)
    try:
        with trio.fail_after(SPAWN_SECONDS):
            while True:
                if process.returncode is not None:
                    raise WorkerError(f"worker {worker_id} exited with {process.returncode} "
                                      "during startup")
                try:
                    worker.last_health = await worker.action("HealthCheck", timeout=1.0)
                    break
                except WorkerError:
                    await trio.sleep(0.02)
    except BaseException as exc:
        await worker.retire(RetireReason.SPAWN_FAILURE)
        if isinstance(exc, trio.TooSlowError):
            raise WorkerError(f"worker {worker_id} did not become healthy within "
                              f"{SPAWN_SECONDS:.0f} s") from None
        raise
    worker.transition(State.IDLE)
    return worker
