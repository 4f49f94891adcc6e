"""A first-come-first-served counting semaphore whose size is read when it matters.

An organisation's ``max_connections`` comes from the snapshot and may change while
sessions wait, so the size is a function, not a number. A released slot passes
straight to the longest waiter (no newcomer overtakes the queue).
"""

from __future__ import annotations

from collections.abc import Callable

import trio


class Slots:
    def __init__(self, size: Callable[[], int]) -> None:
        self._size = size
        self.used = 0
        self._queue = trio.lowlevel.ParkingLot()

    @property
    def waiting(self) -> int:
        return len(self._queue)

    async def acquire(self) -> None:
        await trio.lowlevel.checkpoint_if_cancelled()
        self._fill()
        if not self._queue and self.used < self._size():
            self.used += 1
            await trio.lowlevel.cancel_shielded_checkpoint()
            return
        await self._queue.park()  # returns holding a slot (handed over by _fill/release)

    def release(self) -> None:
        if self._queue and self.used <= self._size():
            self._queue.unpark()  # the slot passes to the first waiter as it is
        else:
            self.used -= 1
        self._fill()

    def _fill(self) -> None:
        """The size grew while sessions waited: let them in."""
        while self._queue and self.used < self._size():
            self.used += 1
            self._queue.unpark()
