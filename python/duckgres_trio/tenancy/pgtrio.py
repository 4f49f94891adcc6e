"""A PostgreSQL client connection for trio: psycopg's libpq wrapper and its sans-IO
generators, driven with ``trio.lowlevel.wait_readable``/``wait_writable``.

psycopg's async API needs an asyncio loop (trio-asyncio would provide one); its
generators do not: each yields what it waits for (read, write, or either) and is resumed
when the socket is ready, so a store query never blocks the event loop and is cancelled
like any trio wait. docs/multitenancy.md has the measurements that chose this over
trio-asyncio. The store's queries are few and small, so this speaks text only:
parameters go as text, values come back as ``str`` or ``None``; the caller converts.
"""

from __future__ import annotations

import ipaddress
import os
import select
from collections.abc import Generator, Sequence
from typing import Any

import trio
from psycopg import errors as pg_errors
from psycopg import generators, pq
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.waiting import Ready, Wait

Row = tuple[str | None, ...]

#: A query or connection attempt that takes longer fails (OperationalError).
DEFAULT_TIMEOUT = 10.0


class Connection:
    """One libpq connection, used by one task at a time (the callers serialise)."""

    def __init__(self, pgconn: pq.abc.PGconn) -> None:
        self.pgconn = pgconn
        self._fd = pgconn.socket
        self._lock = trio.Lock()
        # psycopg's fetch generator hands notifications that arrive during a query to
        # this handler (and drops them without one): keep them for notifies()
        self._notified: list[pq.PGnotify] = []
        pgconn.notify_handler = self._notified.append

    @classmethod
    async def connect(cls, conninfo: str, timeout: float = DEFAULT_TIMEOUT) -> Connection:
        """Connect, trying each host of ``conninfo`` in turn (raises
        psycopg.OperationalError, with libpq's message, when none answers)."""
        with trio.move_on_after(timeout) as scope:
            failure = None
            for attempt in await _attempts(conninfo):
                try:
                    return await cls._connect(attempt)
                except pg_errors.OperationalError as exc:
                    failure = exc
            assert failure is not None
            raise failure
        assert scope.cancelled_caught
        raise pg_errors.OperationalError(f"connection timed out after {timeout:g} s")

    @classmethod
    async def _connect(cls, conninfo: str) -> Connection:
        gen = generators.connect(conninfo)
        try:
            fd, wait = next(gen)
            while True:
                ready = await _wait(fd, wait)
                fd, wait = gen.send(ready)
        except StopIteration as done:
            return cls(done.value)
        except OSError as exc:
            raise pg_errors.OperationalError(f"connection socket failed: {exc}") from None
        finally:
            gen.close()  # a cancelled attempt closes its half-open libpq connection

    @property
    def closed(self) -> bool:
        return self.pgconn.status == pq.ConnStatus.BAD

    async def query(self, sql: str, params: Sequence[Any] = (),
                    timeout: float = DEFAULT_TIMEOUT) -> list[Row]:
        """Run one statement (parameters $1.. as text; None is NULL) and return its rows;
        an error result raises psycopg's exception for its SQLSTATE."""
        values = [None if p is None else str(p).encode() for p in params]
        async with self._lock:
            self._check()
            if values:
                self.pgconn.send_query_params(sql.encode(), values)
            else:
                self.pgconn.send_query(sql.encode())
            results = await self._run(generators.execute(self.pgconn), timeout)
        return _rows(results)

    def send(self, sql: str, params: Sequence[Any]) -> None:
        """Send one statement now, from code that cannot wait (libpq queues it and
        writes what the socket takes); ``receive`` waits for its result. Between the
        two the caller owns the connection: nothing else may query it."""
        self._check()
        self.pgconn.send_query_params(
            sql.encode(), [None if p is None else str(p).encode() for p in params])
        self.pgconn.flush()

    async def receive(self, timeout: float = DEFAULT_TIMEOUT) -> list[Row]:
        """The rows of the statement ``send`` sent (as ``query`` returns them)."""
        async with self._lock:
            return _rows(await self._run(generators.execute(self.pgconn), timeout))

    async def notifies(self) -> list[pq.PGnotify]:
        """Wait until at least one notification arrived (after LISTEN) and return them.
        Safe to cancel: nothing was sent, so the connection stays usable. A connection
        the server closed raises psycopg.OperationalError."""
        while True:
            self._check()
            self.pgconn.consume_input()
            while notice := self.pgconn.notifies():
                self._notified.append(notice)
            if self._notified:
                found, self._notified[:] = list(self._notified), []
                return found
            await trio.lowlevel.wait_readable(self._fd)

    async def _run(self, gen: Generator, timeout: float | None) -> Any:
        try:
            with trio.fail_after(timeout if timeout is not None else float("inf")):
                wait = next(gen)
                while True:
                    wait = gen.send(await _wait(self._fd, wait))
        except StopIteration as done:
            return done.value
        except trio.TooSlowError:
            gen.close()
            self.close()  # the server may still answer: the connection is unusable
            raise pg_errors.OperationalError(f"query timed out after {timeout:g} s") from None
        except OSError as exc:
            self.close()
            raise pg_errors.OperationalError(f"connection socket closed: {exc}") from None
        except BaseException:
            # cancelled half-way (or the generator failed): the protocol state is lost
            gen.close()
            self.close()
            raise

    def _check(self) -> None:
        if self.closed:
            raise pg_errors.OperationalError("the connection is closed")

    def close(self) -> None:
        if self.pgconn.status == pq.ConnStatus.BAD:
            return  # finished already (finish() leaves it BAD)
        try:
            trio.lowlevel.notify_closing(self._fd)  # wake any task waiting on it
        except (RuntimeError, OSError, ValueError):
            pass  # outside trio, or the descriptor is already gone
        self.pgconn.finish()


async def _attempts(conninfo: str) -> list[str]:
    """One connection string per host, each host name resolved here, by trio: libpq
    would resolve it inside PQconnectStart, blocking the event loop. A host that does
    not resolve is skipped (an error if none does); IP addresses, Unix socket
    directories and an explicit hostaddr are left to libpq."""
    params = conninfo_to_dict(conninfo)
    hosts = str(params.get("host") or os.environ.get("PGHOST", "")).split(",")
    if params.get("hostaddr") or not any(hosts):
        return [conninfo]
    ports = str(params.get("port") or os.environ.get("PGPORT", "5432")).split(",")
    if len(ports) == 1:
        ports *= len(hosts)
    attempts, failure = [], None
    for host, port in zip(hosts, ports):
        attempt = {**params, "host": host, "port": port}
        if host and not host.startswith("/") and not _is_address(host):
            try:
                found = await trio.socket.getaddrinfo(host, int(port or 5432),
                                                      type=trio.socket.SOCK_STREAM)
            except (OSError, ValueError) as exc:
                failure = exc
                continue
            attempt["hostaddr"] = found[0][4][0]
        attempts.append(make_conninfo(**attempt))
    if not attempts:
        raise pg_errors.OperationalError(f"could not resolve host {hosts[0]!r}: {failure}")
    return attempts


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


async def _wait(fd: int, wait: Wait) -> Ready:
    """Wait until ``fd`` is ready as ``wait`` asks. Writing is almost always possible at
    once, so a zero-timeout poll comes first; read-or-write waits for the first."""
    if wait == Wait.R:
        await trio.lowlevel.wait_readable(fd)
        return Ready.R
    poller = select.poll()
    poller.register(fd, (select.POLLIN if wait & Wait.R else 0)
                    | (select.POLLOUT if wait & Wait.W else 0))
    ready = _ready(poller.poll(0))
    if ready:
        await trio.lowlevel.checkpoint()
        return ready
    if wait == Wait.W:
        await trio.lowlevel.wait_writable(fd)
        return Ready.W
    found = Ready.NONE
    async with trio.open_nursery() as nursery:
        async def one(waiter, ready: Ready) -> None:
            nonlocal found
            await waiter(fd)
            found = ready
            nursery.cancel_scope.cancel()
        nursery.start_soon(one, trio.lowlevel.wait_readable, Ready.R)
        nursery.start_soon(one, trio.lowlevel.wait_writable, Ready.W)
    return found


def _ready(events: list[tuple[int, int]]) -> Ready:
    mask = 0
    for _, event in events:
        if event & (select.POLLIN | select.POLLERR | select.POLLHUP):
            mask |= Ready.R
        if event & select.POLLOUT:
            mask |= Ready.W
    return Ready(mask)


def _rows(results: list[pq.abc.PGresult]) -> list[Row]:
    """The last result's rows; an error result raises psycopg's exception for its
    SQLSTATE."""
    rows: list[Row] = []
    for result in results:
        if result.status == pq.ExecStatus.FATAL_ERROR:
            raise pg_errors.error_from_result(result)
        if result.status == pq.ExecStatus.TUPLES_OK:
            rows = [tuple(_text(result.get_value(r, c)) for c in range(result.nfields))
                    for r in range(result.ntuples)]
    return rows


def _text(value: bytes | None) -> str | None:
    return None if value is None else bytes(value).decode()
