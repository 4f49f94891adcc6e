"""An upgrade's new control plane adopts the old one's workers (process backend).

Without this, a SIGUSR1 upgrade (``frontend.upgrade``) makes the new process open every
database anew, and a database whose file a statement still holds in the old process
cannot be opened until that statement ends: new clients of it wait. Instead the workers
change owner, not the databases their process:

1. The new process starts with one end of the handover channel (a socket pair). Until
   the old one has handed its workers over (or ``ADOPT_SECONDS`` passed, or the channel
   closed), its pool holds back every session that needs a worker (``WorkerPool.acquire``).
2. Once the new process is ready, the old one stops accepting, lets the connections it
   accepted finish starting up (``frontend.server``), closes its ``Gate`` (no session
   opens on the workers it hands over; those being opened finish first) and sends, as one
   JSON line, every running worker: its pid, socket paths, token, owner epoch, and which
   database, organisation and user it serves.
3. The new process adopts each one: it links the worker's sockets under its own name in
   ``socket_dir`` and moves the pid file there (so the janitor of a later start never
   takes an adopted worker for an orphan of the old process), and sends ``Adopt`` with
   the epoch above the old one and its own pid. From then on the worker obeys control
   actions (CreateSession, Activate, SetLimits) only from the new process, and stops
   when the new process does, not the old (``worker.owner``). It then answers which
   workers it adopted and serves new sessions on them at once.
4. The old process forgets every worker whose epoch rose (asked of the worker itself, so
   a lost answer cannot leave two owners); its sessions there keep running through the
   statement path and end with DestroySession, which a worker accepts under the epoch the
   session was created in. Workers not adopted stay the old process's, retired as before
   when their sessions end. The old process exits when its last session ends, without
   stopping the adopted workers.

The new pool counts only its own sessions on a worker; those still running for the old
process (the worker's health report) keep the worker from being retired as idle or to make
room, or for DROP DATABASE. When the channel closes (the old process exited), the new
process removes the old names of the adopted workers' sockets.
"""

from __future__ import annotations

import json
import logging
import os
import select
import signal
import socket
import time
from contextlib import contextmanager, nullcontext
from pathlib import Path

import trio

from duckgres_trio.controlplane.worker import State, Worker, WorkerError, group_key
from duckgres_trio.engine.profiles import Profile
from duckgres_trio.errors import PgError, SqlState

log = logging.getLogger(__name__)

#: The environment variable naming the inherited channel (frontend.upgrade.HANDOVER_FD).
HANDOVER_FD = "DUCKGRES_HANDOVER_FD"
#: How long the new process holds back sessions waiting for the workers, and how long the
#: old one waits for the new one's answer.
ADOPT_SECONDS = 30.0
#: How long the old process lets CreateSession calls under way finish.
OPENING_SECONDS = 5.0
_STATES = {"idle": State.IDLE, "hot": State.HOT_IDLE, "hot_idle": State.HOT_IDLE}
_MAX_LINE = 1 << 20


def inherited_channel() -> socket.socket | None:
    """The handover channel from the predecessor, or None when started afresh."""
    fd = os.environ.pop(HANDOVER_FD, "")
    if not fd:
        return None
    try:
        return socket.socket(fileno=int(fd))
    except (OSError, ValueError) as exc:
        log.warning("upgrade: no handover channel (%s): starting without workers", exc)
        return None


class Gate:
    """Session openings (CreateSession) in the old process of an upgrade: an adopted
    worker refuses CreateSession from its previous owner, so none may be under way on a
    worker while it is handed over, and none may start on it afterwards. ``close`` stops
    new openings and waits (bounded) for those under way; once the workers offered are
    marked ``handed_over`` (``settle``), openings on the others (a worker that was still
    activating, so was not offered) go on."""

    def __init__(self) -> None:
        self.closed = False
        #: (database, user, profile key) pool keys whose workers were handed over
        self.handed: set[tuple] = set()
        self._settled = False
        self._opening = 0
        self._none = trio.Event()
        self._none.set()

    def check(self, key: tuple[str | None, str | None]) -> None:
        """Before a worker is sought for ``key``: none while the offer is being made,
        and none for a database whose worker is the successor's now (opening it anew
        here would wait for its lock). Others (a Flight SQL login on the old process,
        whose port is not handed over) are served here as before."""
        if self.closed and (not self._settled or key in self.handed):
            raise _upgraded()

    @contextmanager
    def opening(self, worker: Worker):
        if self.closed and (not self._settled or worker.handed_over):
            raise _upgraded()
        self._opening += 1
        self._none = trio.Event() if self._opening == 1 else self._none
        try:
            yield
        finally:
            self._opening -= 1
            if not self._opening:
                self._none.set()

    async def close(self, seconds: float) -> None:
        """No more openings; wait (bounded) for those under way."""
        self.closed = True
        with trio.move_on_after(seconds):
            await self._none.wait()

    def settle(self) -> None:
        """The workers to hand over are marked: openings on the others may go on."""
        self._settled = True


def opening(pool, worker):
    """``pool``'s gate around one session opening (``Gate.opening``); a pool without
    one opens freely. The remote fleet's pool has one too (``fleet.backend``: its
    upgrades move rows in the store, but no opening may race the move either)."""
    gate = getattr(pool, "gate", None)
    return gate.opening(worker) if gate is not None else nullcontext()


def _upgraded() -> PgError:
    return PgError(SqlState.CANNOT_CONNECT_NOW, "the database system is shutting down",
                   severity="FATAL",
                   detail="The server was upgraded: its successor takes new sessions.",
                   hint="Connect again.")


# -- the old process ------------------------------------------------------------------


def describe(worker: Worker) -> dict:
    """What the successor needs to adopt ``worker``."""
    return {"id": worker.id, "pid": worker.process.pid, "token": worker.token,
            "statement_path": worker.statement_path, "flight_path": worker.flight_path,
            "pid_file": _pid_file(worker.statement_path), "epoch": worker.epoch,
            "state": worker.state.value, "database": worker.database, "org": worker.org,
            "user": worker.user, "pool_key": worker.pool_key, "ttl": worker.ttl,
            "profile": worker.profile.as_json() if worker.profile is not None else None}


async def give(pool, channel: socket.socket) -> int:
    """Hand ``pool``'s running workers to the successor at the other end of ``channel``;
    the number it adopted. ``channel`` stays open until this process exits (its closing
    tells the successor we are gone)."""
    await pool.gate.close(OPENING_SECONDS)
    offered = [w for w in pool.workers.values()
               if w.alive and w.state in (State.IDLE, State.HOT, State.HOT_IDLE)]
    for worker in offered:
        worker.handed_over = True  # from now on never stopped from here
        pool.gate.handed.add(group_key(worker))
    pool.gate.settle()
    stream = trio.SocketStream(trio.socket.from_stdlib_socket(channel))
    try:
        with trio.move_on_after(ADOPT_SECONDS):
            await stream.send_all(
                json.dumps({"workers": [describe(w) for w in offered]}).encode() + b"\n")
            await _read_line(stream)  # the answer says when; each worker says what
    except (OSError, trio.BrokenResourceError, ValueError) as exc:
        log.warning("upgrade: handover channel failed: %s", exc)
    adopted = 0
    for worker in offered:
        if await _adopted_away(worker):
            pool.forget(worker)
            adopted += 1
        else:
            worker.handed_over = False
    log.info("upgrade: the successor adopted %d of %d workers", adopted, len(offered))
    return adopted


async def _adopted_away(worker: Worker) -> bool:
    """Whether the worker now has a newer owner (its own word: HealthCheck's epoch)."""
    try:
        health = await worker.action("HealthCheck", timeout=5.0)
    except WorkerError:
        return worker.process.returncode is None  # busy or gone: not ours to stop
    return int(health.get("epoch") or 0) > worker.epoch


# -- the new process ------------------------------------------------------------------


async def take(pool, channel: socket.socket, done: trio.Event) -> None:
    """Adopt what the predecessor offers on ``channel`` into ``pool``; ``done`` is set
    when there is nothing more to wait for. Then, once the channel closes (the old
    process exited), remove the old names of the adopted workers' sockets."""
    stream = trio.SocketStream(trio.socket.from_stdlib_socket(channel))
    adopted: list[tuple[Worker, dict]] = []
    try:
        with trio.move_on_after(ADOPT_SECONDS):
            line = await _read_line(stream)
            offered = json.loads(line)["workers"] if line else []
            async with trio.open_nursery() as nursery:
                for record in offered:
                    nursery.start_soon(_adopt_one, pool, record, adopted)
            await stream.send_all(json.dumps(
                {"adopted": [record["id"] for _, record in adopted]}).encode() + b"\n")
    except (OSError, trio.BrokenResourceError, ValueError, KeyError, TypeError) as exc:
        log.warning("upgrade: handover channel failed: %s", exc)
    finally:
        done.set()
    if adopted:
        log.info("upgrade: adopted %d workers", len(adopted))
    try:
        while await stream.receive_some(4096):
            pass
    except (OSError, trio.BrokenResourceError):
        pass
    finally:
        await stream.aclose()
    for _, record in adopted:
        for path in (record["statement_path"], record["flight_path"]):
            _unlink(path)


async def _adopt_one(pool, record: dict, adopted: list) -> None:
    worker_id = pool.new_id()
    stem = pool.socket_dir / f"cp{os.getpid()}-w{worker_id}"
    statement_path, flight_path = f"{stem}.sock", f"{stem}.flight"
    try:
        process = AdoptedProcess(int(record["pid"]))
        os.link(record["statement_path"], statement_path)
        os.link(record["flight_path"], flight_path)
    except (OSError, ValueError, KeyError) as exc:
        log.warning("upgrade: cannot adopt worker %s: %s", record.get("pid"), exc)
        _unlink(statement_path, flight_path)
        return
    worker = Worker(worker_id, process, statement_path, flight_path, str(record["token"]),
                    state=_STATES.get(record.get("state"), State.IDLE),
                    database=record.get("database"), org=record.get("org"),
                    user=record.get("user"), epoch=int(record["epoch"]) + 1,
                    profile=Profile.from_json(record.get("profile")),
                    pool_key=_tuple(record.get("pool_key")), ttl=record.get("ttl"))
    try:
        try:
            reply = await worker.action("Adopt", {"epoch": worker.epoch,
                                                  "owner_pid": os.getpid()}, timeout=10.0)
        except WorkerError:
            # the answer may be what was lost: a worker at our epoch is ours (else it
            # would serve nobody, watching this process)
            health = await worker.action("HealthCheck", timeout=5.0)
            if health.get("epoch") != worker.epoch:
                raise
            reply = {"pid": process.pid, "sessions": health.get("older_sessions")}
        if reply.get("pid") != process.pid:
            raise WorkerError(f"pid {reply.get('pid')} answered for {process.pid}")
    except WorkerError as exc:
        log.warning("upgrade: worker pid %d refused adoption: %s", process.pid, exc)
        worker.close_client()
        _unlink(statement_path, flight_path)
        return
    Path(f"{stem}.pid").write_text(f"{process.pid}\n")
    _unlink(str(record["pid_file"]))  # the old name must not lead a janitor to it
    worker.last_health = {"older_sessions": int(reply.get("sessions") or 0)}
    worker.idle_since = time.monotonic()
    pool.add(worker)
    adopted.append((worker, record))
    log.info("upgrade: adopted worker pid %d as %d (database %s, epoch %d, %d sessions "
             "still the old process's)", process.pid, worker_id, worker.database,
             worker.epoch, foreign_sessions(worker))


def _tuple(value):
    """A pool key back from JSON (lists nest where tuples did)."""
    return tuple(map(_tuple, value)) if isinstance(value, list) else value


def foreign_sessions(worker: Worker) -> int:
    """Sessions on ``worker`` that a previous owner (an upgrade's old process) still
    has there, as of the last health check."""
    return int(worker.last_health.get("older_sessions") or 0)


class AdoptedProcess:
    """A worker process this control plane did not start, so cannot wait for: what the
    pool uses of ``trio.Process``, through a pidfd (immune to pid reuse). Its exit status
    is not ours to read: ``returncode`` is -1 once it has exited."""

    status_unknown = True  # for log lines (worker.exit_status)

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._fd: int | None = os.pidfd_open(pid)
        self._exited = False
        self._waiting: trio.Event | None = None  # set when the one real waiter returns

    @property
    def returncode(self) -> int | None:
        if not self._exited and self._fd is not None:
            readable, _, _ = select.select([self._fd], [], [], 0)
            self._exited = bool(readable)
        return -1 if self._exited else None

    async def wait(self) -> int:
        """Until the process has exited; any number of tasks may wait (as with
        trio.Process), though only one can wait on the pidfd itself."""
        while not self._exited:
            if self._waiting is not None:
                await self._waiting.wait()
                continue
            self._waiting = trio.Event()
            try:
                await trio.lowlevel.wait_readable(self._fd)
                self._exited = True
                os.close(self._fd)
                self._fd = None
            finally:
                self._waiting.set()
                self._waiting = None
        return -1

    def send_signal(self, sig: int) -> None:
        if self.returncode is not None or self._fd is None:
            raise ProcessLookupError(self.pid)
        signal.pidfd_send_signal(self._fd, sig)

    def kill(self) -> None:
        try:
            self.send_signal(signal.SIGKILL)
        except ProcessLookupError:
            pass


def _pid_file(statement_path: str) -> str:
    return statement_path.removesuffix(".sock") + ".pid"


def _unlink(*paths: str) -> None:
    for path in paths:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


async def _read_line(stream: trio.SocketStream) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        chunk = await stream.receive_some(65536)
        if not chunk:
            break
        data += chunk
        if len(data) > _MAX_LINE:
            raise ValueError("handover message too long")
    return data.strip()
