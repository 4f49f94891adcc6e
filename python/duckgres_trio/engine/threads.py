"""DuckDB's thread count of one database instance, chosen per statement: one thread
for short statements, all of the instance's threads for long ones. A worker's
database and a standalone server's databases are each such an instance, shared by
their sessions (worker/session.py, engine/local.py).

Why: DuckDB 1.5.5's ``threads`` is a global setting (per instance; no per-connection or
per-query control, docs/architecture.md), and the two kinds of statement want
opposite counts. A primary-key lookup with a background thread costs about twice the
CPU (the pipeline's task handed to the other thread and back), and on two cores that
thread takes the core the event loop (or the control plane) needs; TPC-H wants every
core. An instance serves one database, so it can be switched by what runs on it.

How: each statement has a key (the prepared SQL, or the SQL with its literals blanked,
so ``-M simple`` lookups share one) and the key remembers whether its last run was
short (``SHORT_SECONDS`` of its own work). A statement not known to be short runs
*wide*: the thread count is raised before it starts (DuckDB sizes a pipeline's tasks
when it schedules it). A known-short statement lowers the count to one only when no
long statement runs and none ended in the last ``NARROW_AFTER_SECONDS``: switching
costs a thread start or join (0.1-2 ms), so a mix of lookups and analytics does not
switch at every statement. Otherwise it simply runs wide, as it would without this.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)

#: A run whose own work took less than this is short (thread CPU when it ran on one
#: thread, else the lesser of wall and process CPU time).
SHORT_SECONDS = 0.002
#: After a long statement ends, keep the threads this long before narrowing.
NARROW_AFTER_SECONDS = 0.5
#: Keys remembered; past this the memory starts over (a hint, not a cache of results).
MAX_KEYS = 4096

# string literals (with '' inside), then numbers not part of a name
_LITERAL = re.compile(r"'(?:[^']|'')*'|(?<![\w$])\d+(?:\.\d*)?(?:[eE][+-]?\d+)?")


def shape(sql: str) -> str:
    """``sql`` with its literals blanked: the key of a statement sent as text."""
    return _LITERAL.sub("?", sql)


class Threads:
    """The instance's thread count; ``apply(n)`` sets it (``SET threads``)."""

    def __init__(self, apply: Callable[[int], None], wide: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._apply = apply
        self._clock = clock
        self.wide = max(1, int(wide))
        self.current: int | None = None  # unknown until first set
        self._long = 0  # long statements running now
        self._long_ended = float("-inf")
        self._short: dict[str, bool] = {}
        self._lock = threading.Lock()
        self._failed = False

    def set_wide(self, threads: int) -> None:
        """The count for long statements (the control plane's share of cores)."""
        with self._lock:
            self.wide = max(1, int(threads))
            if self.current is not None and self.current != 1:
                self._set(self.wide)

    @contextmanager
    def running(self, key: str) -> Iterator[None]:
        """Around one statement's execution (and first rows)."""
        short = self._short.get(key, False)
        with self._lock:
            if short:
                if self._long == 0 and self._clock() - self._long_ended >= NARROW_AFTER_SECONDS:
                    self._set(1)
            else:
                self._long += 1
                self._set(self.wide)
            narrow = self.current == 1
        # only the clocks the cost is read from (each a system call)
        if narrow:
            thread_cpu = time.thread_time()
        else:
            started, cpu = self._clock(), time.process_time()
        try:
            yield
        finally:
            if narrow:  # all of DuckDB's work was on this thread
                cost = time.thread_time() - thread_cpu
            else:
                cost = min(self._clock() - started, time.process_time() - cpu)
            if not short:
                with self._lock:
                    self._long -= 1
                    if cost >= SHORT_SECONDS:  # a first run that was short delays nothing
                        self._long_ended = self._clock()
            if len(self._short) >= MAX_KEYS:
                self._short.clear()
            self._short[key] = cost < SHORT_SECONDS

    def _set(self, threads: int) -> None:
        if threads == self.current or self._failed:
            return
        try:
            self._apply(threads)
        except Exception as exc:  # noqa: BLE001 - a hint: the statement still runs
            log.warning("could not set DuckDB threads to %d: %s; the count stays as it is",
                        threads, exc)
            self._failed = True  # once: not a warning per statement
            return
        self.current = threads


class DatabaseThreads(Threads):
    """The Threads of one opened database: ``SET threads`` (global to the instance) on
    a connection of its own, opened at the first change. ``close`` it before the
    database: an open connection keeps the instance, and its file, open."""

    def __init__(self, database, wide: int) -> None:
        super().__init__(self._set_threads, wide)
        self._database = database
        self._conn = None

    def _set_threads(self, threads: int) -> None:  # under the lock
        if self._conn is None:
            self._conn = self._database.connect()
        self._conn.run(f"SET threads = {int(threads)}")

    def close(self) -> None:
        with self._lock:
            self._failed = True  # no connection is opened again
            if self._conn is not None:
                self._conn.close()
                self._conn = None
