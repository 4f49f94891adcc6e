"""Who may drive this worker: its owning control plane's process and owner epoch.

A worker starts owned by the control plane that spawned it, at epoch 1. An upgrade's new
control plane adopts it (the ``Adopt`` action: a higher epoch and its own pid;
``controlplane.adoption``); from then on the worker:

- obeys control actions that change it (``CreateSession``, ``Activate``, ``SetLimits``)
  only under the current epoch: an older owner can no longer open sessions or reconfigure
  it, and an epoch never granted is refused as well;
- lets a session be ended (``DestroySession``) under the epoch it was created in, so the
  previous owner finishes the sessions it already has here while the new one opens its own;
- answers ``HealthCheck`` whatever the epoch (it changes nothing);
- stops when its *current* owner's process is gone, no longer when its parent is (the
  adopter is not its parent);
- ends the sessions a previous owner created once that owner's process is gone (it
  crashed, or was killed, before it could end them): nobody can reach them any more.

Every refusal is counted (``refused`` in the health reply) and logged. An action without
an epoch header is taken as the current epoch only while the worker was never adopted
(tools and tests that talk to a worker directly); after that it is refused.

The owner's process is watched through a pidfd, which cannot be fooled by a reused pid.
"""

from __future__ import annotations

import logging
import os
import select
import threading

log = logging.getLogger(__name__)

#: The gRPC header every control action carries (``controlplane.worker.Worker.action``).
EPOCH_HEADER = "x-duckgres-epoch"
#: Actions that change the worker: only the current owner's are obeyed.
FENCED = frozenset({"CreateSession", "Activate", "SetLimits"})


class StaleOwner(Exception):
    """An action from an owner that is not (or no longer) this worker's."""


class Owner:
    def __init__(self, pid: int, epoch: int = 1) -> None:
        self._lock = threading.Lock()
        self.pid = pid
        self.epoch = epoch
        self.adopted = False
        self.refused = 0
        self._previous: list[tuple[int, int]] = []  # (epoch, pidfd) of earlier owners
        try:
            self._fd: int | None = os.pidfd_open(pid)
        except OSError:  # no such process (a fleet worker's parent may be pid 0)
            self._fd = None
        # Opened after the parent died? Then the pid may be another process already.
        self._parent_gone = os.getppid() != pid

    def gone(self) -> bool:
        """Whether the owning control plane's process has exited."""
        with self._lock:
            if (self._parent_gone and not self.adopted) or self._fd is None:
                return True
            readable, _, _ = select.select([self._fd], [], [], 0)
            return bool(readable)

    def departed(self) -> list[int]:
        """The epochs of previous owners whose process has exited since last asked."""
        with self._lock:
            gone = [(epoch, fd) for epoch, fd in self._previous
                    if select.select([fd], [], [], 0)[0]]
            for entry in gone:
                self._previous.remove(entry)
                os.close(entry[1])
        return [epoch for epoch, _ in gone]

    def adopt(self, epoch: int, pid: int) -> None:
        """A new owner claims the worker with a higher epoch (``StaleOwner`` otherwise)."""
        with self._lock:
            if epoch <= self.epoch:
                self.refused += 1
                log.warning("refused Adopt at epoch %d from pid %d: epoch is %d",
                            epoch, pid, self.epoch)
                raise StaleOwner(f"adopt: epoch {epoch} is not above {self.epoch}")
            fd = os.pidfd_open(pid)  # ProcessLookupError: no such adopter
            if self._fd is not None:
                self._previous.append((self.epoch, self._fd))
            self._fd, self.pid, self.epoch, self.adopted = fd, pid, epoch, True
        log.info("adopted by pid %d at epoch %d", pid, epoch)

    def current(self, header: str | None) -> int:
        """The epoch an action claims (its header; none: see the module doc)."""
        if header is None:
            return self.epoch if not self.adopted else 0
        try:
            return int(header)
        except ValueError:
            return 0

    def check(self, action: str, epoch: int, created: int | None = None) -> None:
        """Refuse (``StaleOwner``, counted) ``action`` at ``epoch``; ``created``: the
        epoch of the session a DestroySession ends."""
        with self._lock:
            if action in FENCED:
                allowed = epoch == self.epoch
            elif action == "DestroySession":
                allowed = epoch == self.epoch or (created is not None and epoch == created)
            else:
                return
            if allowed:
                return
            self.refused += 1
            current = self.epoch
        log.warning("refused %s at epoch %d: the owner epoch is %d", action, epoch, current)
        raise StaleOwner(f"{action}: owner epoch {epoch} is stale (current {current})")
