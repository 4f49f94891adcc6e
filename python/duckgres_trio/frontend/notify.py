"""LISTEN / NOTIFY between the sessions of this server.

Every session of a database passes through this process (the control plane, or the
standalone server), so the registry of listeners lives here, not in the engine: DuckDB
has no such thing. A session tells the registry what it listens to when its transaction
commits and sends its notifications then; each listening session of the same database
(the sender included) gets them in its queue, and its connection sends them when it is
idle outside a transaction (frontend/connection.py), as PostgreSQL does.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Protocol


class Listener(Protocol):
    def deliver(self, pid: int, channel: str, payload: str) -> None: ...


class Notifier:
    def __init__(self) -> None:
        self._listeners: dict[tuple[str, str], set[Listener]] = defaultdict(set)

    def listen(self, database: str, channel: str, listener: Listener) -> None:
        self._listeners[(database, channel)].add(listener)

    def unlisten(self, database: str, channel: str, listener: Listener) -> None:
        listeners = self._listeners.get((database, channel))
        if listeners is not None:
            listeners.discard(listener)
            if not listeners:
                del self._listeners[(database, channel)]

    def send(self, database: str, pid: int, channel: str, payload: str) -> None:
        for listener in list(self._listeners.get((database, channel), ())):
            listener.deliver(pid, channel, payload)
