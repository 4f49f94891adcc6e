"""Zero-downtime upgrade: a running server hands its listening socket to a new one.

On SIGUSR1 the server starts ``python -m duckgres_trio`` with its own arguments (the
code installed now, which may be newer than what runs) and passes it the listening
sockets' file descriptors (``DUCKGRES_LISTEN_FDS``) and the write end of a pipe
(``DUCKGRES_READY_FD``). The new process listens on the inherited sockets, starts its
engine and writes ``ready`` to the pipe. Only then does the old one stop accepting and
drain; the sockets never close, so no connection is refused in between. If the new
process exits or stays silent past ``READY_SECONDS``, the old one keeps serving and a
later SIGUSR1 tries again.

The new process also inherits one end of a socket pair (``DUCKGRES_HANDOVER_FD``), the
handover channel: once it is ready, the old one's engine hands it its workers through
it (``controlplane.adoption``), so no database changes process. The channel closes when
the old process exits.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
from dataclasses import dataclass

import trio

log = logging.getLogger(__name__)

LISTEN_FDS = "DUCKGRES_LISTEN_FDS"
READY_FD = "DUCKGRES_READY_FD"
#: Read by the successor's engine (controlplane.adoption.inherited_channel).
HANDOVER_FD = "DUCKGRES_HANDOVER_FD"
#: How long a new process may take to start listening and open its engine.
READY_SECONDS = 60.0


def inherited_listeners() -> list[trio.SocketListener] | None:
    """The listeners a predecessor handed over, or None when started afresh."""
    fds = os.environ.pop(LISTEN_FDS, "")
    if not fds:
        return None
    listeners = []
    for fd in fds.split(","):
        sock = socket.socket(fileno=int(fd))
        listeners.append(trio.SocketListener(trio.socket.from_stdlib_socket(sock)))
    return listeners


def report_ready() -> None:
    """Tell the predecessor this process accepts clients (no-op without one)."""
    fd = os.environ.pop(READY_FD, "")
    if not fd:
        return
    try:
        os.write(int(fd), b"ready\n")
    finally:
        os.close(int(fd))


@dataclass
class Successor:
    process: trio.Process
    #: Our end of the handover channel (the engine's to use, then kept open until exit).
    channel: socket.socket

    @property
    def pid(self) -> int:
        return self.process.pid


async def start_successor(listeners: list[trio.SocketListener]) -> Successor | None:
    """Start the new server on ``listeners``' sockets; the process once it reported
    ready, None (logged) if it exited or timed out first (it is then stopped)."""
    fds = [listener.socket.fileno() for listener in listeners]
    read_end, write_end = os.pipe()
    ours, theirs = socket.socketpair()
    env = {**os.environ, LISTEN_FDS: ",".join(map(str, fds)), READY_FD: str(write_end),
           HANDOVER_FD: str(theirs.fileno())}
    try:
        process = await trio.lowlevel.open_process(
            [sys.executable, "-m", "duckgres_trio", *sys.argv[1:]],
            env=env, pass_fds=(*fds, write_end, theirs.fileno()))
    finally:
        os.close(write_end)
        theirs.close()
    log.info("upgrade: started process %d", process.pid)
    ready = await _wait_ready(read_end, process)
    os.close(read_end)
    if ready:
        return Successor(process, ours)
    ours.close()
    if process.returncode is None:
        process.kill()
    await process.wait()
    log.error("upgrade: the new process %s before it was ready; still serving",
              f"exited with {process.returncode}" if ready is None else "timed out")
    return None


async def _wait_ready(read_end: int, process: trio.Process) -> bool | None:
    """True once the pipe says ready; None if the process exited first; False on
    timeout."""
    with trio.move_on_after(READY_SECONDS):
        async with trio.open_nursery() as nursery:
            outcome: list[bool | None] = []

            async def read() -> None:
                data = await trio.to_thread.run_sync(_read_line, read_end,
                                                     abandon_on_cancel=True)
                outcome.append(True if data.startswith(b"ready") else None)
                nursery.cancel_scope.cancel()

            async def exited() -> None:
                await process.wait()
                await trio.sleep(0.2)  # a ready written just before exit still counts
                outcome.append(None)
                nursery.cancel_scope.cancel()

            nursery.start_soon(read)
            nursery.start_soon(exited)
        return outcome[0] if outcome else None
    return False


def _read_line(fd: int) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        chunk = os.read(fd, 64)
        if not chunk:
            break
        data += chunk
    return data
