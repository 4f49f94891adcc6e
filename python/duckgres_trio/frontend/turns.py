"""Write turns: conflicting writers of one database wait for each other.

DuckDB's optimistic concurrency aborts the second of two transactions that write the
same row (40001) where PostgreSQL's row locks make the second wait for the first to
end. A session therefore takes its database's *turn* before a statement that can
conflict (``sql.conflicts``) reaches the engine, and holds it until its transaction
ends; the next waiter then starts its statement, and with it its DuckDB snapshot,
after the first committed, so DuckDB sees no conflict. Plain INSERT and COPY FROM
never take it: appends do not conflict and stay concurrent.

Deadlock-free by construction: there is one turn per database, a session takes it at
most once per transaction and waits for nothing else while holding it (DuckDB never
blocks a statement on another transaction), so no cycle of waits can form. A waiter
is bounded by lock_timeout, statement_timeout and cancel requests; a session that
ends, however it ends, gives its turn back (``Session.close``).

``Turns`` is the interface the session sees. ``LocalTurns`` serves every database
whose sessions all pass through this process: a DuckDB file (one worker process owns
it, and one server routes its sessions). A database that several server processes
may serve (DuckLake) has its turn held outside: ``frontend.lake_turns.LakeTurns``
wraps ``LocalTurns`` and, while one of its sessions holds a database's turn, holds an
advisory lock in the DuckLake catalog's PostgreSQL (docs/architecture.md, "Write
turns"); ``Server`` picks one by storage.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import OrderedDict
from dataclasses import dataclass, field

import trio


class TurnBusy(Exception):
    """``take(..., nowait=True)``: another session has the turn (LOCK ... NOWAIT)."""


class Turns(ABC):
    """The write turns of the databases a server serves, keyed by database name.

    ``take`` waits (FIFO) until ``holder`` has ``database``'s turn; cancelling the
    waiting task gives up the place in the queue (and the turn, if it was granted
    meanwhile); with ``nowait`` it raises ``TurnBusy`` instead of waiting for another
    holder. ``give_back`` never blocks: an implementation that must tell another
    server does so from its own task. Both are idempotent for a holder."""

    @abstractmethod
    async def take(self, database: str, holder: int, *, nowait: bool = False) -> None: ...

    @abstractmethod
    def give_back(self, database: str, holder: int) -> None: ...

    @abstractmethod
    def holder(self, database: str) -> int | None:
        """Who has ``database``'s turn now (a backend pid), if anyone."""


@dataclass
class _Turn:
    holder: int | None = None
    waiters: OrderedDict[int, trio.Event] = field(default_factory=OrderedDict)


class LocalTurns(Turns):
    """Turns held in this process: a FIFO queue per database, not tied to a task (a
    session's statements may run in different tasks)."""

    def __init__(self) -> None:
        self._turns: dict[str, _Turn] = {}

    async def take(self, database: str, holder: int, *, nowait: bool = False) -> None:
        turn = self._turns.setdefault(database, _Turn())
        if turn.holder == holder:
            return
        if nowait and turn.holder is not None:
            raise TurnBusy
        if turn.holder is None and not turn.waiters:
            await trio.lowlevel.checkpoint_if_cancelled()  # no yield unless cancelled
            turn.holder = holder
            return
        granted = trio.Event()
        turn.waiters[holder] = granted
        try:
            await granted.wait()
        except BaseException:
            if turn.holder == holder:  # granted just as it was cancelled
                self.give_back(database, holder)
            else:
                turn.waiters.pop(holder, None)
            raise

    def give_back(self, database: str, holder: int) -> None:
        turn = self._turns.get(database)
        if turn is None:
            return
        turn.waiters.pop(holder, None)
        if turn.holder != holder:
            return
        if turn.waiters:
            turn.holder, granted = turn.waiters.popitem(last=False)
            granted.set()
        else:
            del self._turns[database]

    def holder(self, database: str) -> int | None:
        turn = self._turns.get(database)
        return None if turn is None else turn.holder
