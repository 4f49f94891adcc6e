"""Epoch fencing on the worker: every control action carries the (control plane,
epoch) its sender holds the worker under, and the worker refuses one older than the
newest it has accepted or learnt from its own row in the config store.

An epoch only grows (a claim bumps it in the store, so does every registration of the
worker), so a control plane that lost the worker (partitioned, expired, reclaimed) can
never drive it again: its epoch is behind. Refusals are kept (bounded) for the health
check and the tests, and logged.

A worker that has not heard from the store for ``stale_after`` seconds (it was stopped,
or cut off) may have been written off meanwhile: it refuses every action until its next
heartbeat confirms its row (or registers it again under a newer epoch), so not even
its last owner's current epoch is served in that window.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque

log = logging.getLogger(__name__)

#: Refusals kept for HealthCheck.
KEEP = 100


class Refused(Exception):
    """A control action under a stale epoch (or without one)."""


class Fence:
    def __init__(self, stale_after: float | None = None) -> None:
        self._stale_after = stale_after
        self._confirmed = time.monotonic()
        self._lock = threading.Lock()
        self.epoch = 0
        self.owner: str | None = None
        self.refused: deque[dict] = deque(maxlen=KEEP)
        self.refused_total = 0
        #: DestroySession accepted under an older epoch (its session's own: ``admit``)
        self.session_scoped = 0

    def admit(self, action: str, fence: object,
              created: tuple[str, int] | None = None) -> tuple[str, int]:
        """Accept ``action`` under ``fence`` ({cp, epoch}) or raise Refused. A newer
        epoch is adopted: the sender has claimed the worker since. ``created``: the
        fence the session ``action`` is about was created under; ending it
        (DestroySession) under that same fence is accepted whatever the epoch is now,
        since an upgrade's old control plane still serves that session after its
        successor adopted the worker (nothing else is accepted from it)."""
        cp, epoch = _parse(fence)
        with self._lock:
            if action == "DestroySession" and cp is not None and created == (cp, epoch):
                if epoch < self.epoch:
                    self.session_scoped += 1
                return cp, epoch
            stale = epoch < self.epoch or (epoch == self.epoch and self.owner not in (None, cp))
            unconfirmed = (self._stale_after is not None
                           and time.monotonic() - self._confirmed > self._stale_after)
            if cp is None or stale or unconfirmed:
                self.refused_total += 1
                record = {"action": action, "cp": cp, "epoch": epoch, "current": self.epoch,
                          "owner": self.owner, "at": time.time(),
                          "why": "unconfirmed" if not stale and cp else "stale"}
                self.refused.append(record)
                log.warning("refused %s from control plane %s under epoch %s (current %d)",
                            action, cp, epoch, self.epoch)
                raise Refused(f"{action}: owner epoch {epoch} refused ({record['why']}; "
                              f"current {self.epoch})")
            if epoch > self.epoch:
                self.epoch, self.owner = epoch, cp
            elif self.owner is None:
                self.owner = cp
            return cp, epoch

    def raise_floor(self, epoch: int, owner: str | None) -> None:
        """The store says the worker is held under ``epoch`` by ``owner`` (a heartbeat
        read it): nothing older is accepted any more."""
        with self._lock:
            self._confirmed = time.monotonic()
            if epoch > self.epoch:
                self.epoch, self.owner = epoch, owner

    def reset(self, epoch: int) -> None:
        """A new registration under ``epoch``: unowned until a claim arrives."""
        with self._lock:
            self._confirmed = time.monotonic()
            self.epoch = max(self.epoch, epoch)
            self.owner = None

    def report(self) -> dict:
        with self._lock:
            return {"epoch": self.epoch, "owner": self.owner,
                    "refused_total": self.refused_total, "refused": list(self.refused),
                    "session_scoped": self.session_scoped}


def _parse(fence: object) -> tuple[str | None, int]:
    if not isinstance(fence, dict):
        return None, -1
    cp = fence.get("cp")
    try:
        epoch = int(fence.get("epoch"))
    except (TypeError, ValueError):
        return None, -1
    return (str(cp) if cp else None), epoch
