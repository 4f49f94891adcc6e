"""Zero-downtime upgrade on SIGUSR1: the running server hands its listening socket to a
new process, which takes the new connections while the old one drains and exits."""

from __future__ import annotations

import os
import re
import signal
import threading
import time

import psycopg


def _successor(server, after: int = 0) -> int:
    """The pid of the process that took over, from the (shared) server log."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        found = re.findall(r"upgrade: process (\d+) took over", server.log())
        if len(found) > after:
            return int(found[after])
        time.sleep(0.1)
    raise AssertionError(f"no process took over:\n{server.log()[-3000:]}")


def _stop(pid: int) -> None:
    """Stop a successor (not a child of the test: the old server started it)."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)


class ConnectLoop:
    """Connects every 50 ms (and runs a query) until stopped; counts what failed."""

    def __init__(self, server) -> None:
        self.server, self.ok, self.failures = server, 0, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(self.server.dsn(dbname="loop"), connect_timeout=30) as c:
                    assert c.execute("select 1").fetchone() == (1,)
                self.ok += 1
            except Exception as exc:  # noqa: BLE001 - every failure is the finding
                self.failures.append(repr(exc))
            time.sleep(0.05)

    def __enter__(self) -> ConnectLoop:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(60)


def test_upgrade_while_a_long_query_runs(start_server):
    server = start_server("--handover-drain-timeout", "120s")
    long = psycopg.connect(server.dsn(dbname="long"), autocommit=True)
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault(
        "rows", long.execute("select count(*) from range(8000000000)").fetchone()))
    successor = None
    try:
        with ConnectLoop(server) as loop:
            time.sleep(1)
            thread.start()
            time.sleep(0.5)
            server.proc.send_signal(signal.SIGUSR1)
            successor = _successor(server)
            thread.join(180)
            long.close()  # its last session: the old one exits once it ends
            assert server.proc.wait(120) == 0
            served_before = loop.ok
            time.sleep(2)  # the new one serves alone now
        assert result["rows"] == (8000000000,)  # completed on the old process
        assert loop.failures == [], loop.failures[:3]
        assert loop.ok > served_before > 0
        with psycopg.connect(server.dsn(dbname="long")) as conn:  # the file is free again
            assert conn.execute("select 42").fetchone() == (42,)
    finally:
        long.close()
        if successor:
            _stop(successor)


def test_a_successor_that_dies_before_ready_leaves_the_old_one_serving(start_server, tmp_path):
    config = tmp_path / "duckgres.yaml"
    config.write_text("log_level: info\n")
    server = start_server("--config", str(config))
    config.write_text("log_level: nonsense\n")  # the next process refuses to start
    server.proc.send_signal(signal.SIGUSR1)
    deadline = time.monotonic() + 60
    while "before it was ready; still serving" not in server.log():
        assert time.monotonic() < deadline, server.log()[-3000:]
        time.sleep(0.1)
    with psycopg.connect(server.dsn()) as conn:
        assert conn.execute("select 'still here'").fetchone() == ("still here",)
    assert server.proc.poll() is None
    config.write_text("log_level: info\n")
    server.proc.send_signal(signal.SIGUSR1)  # a later attempt works
    successor = _successor(server)
    try:
        assert server.proc.wait(60) == 0
        with psycopg.connect(server.dsn()) as conn:
            assert conn.execute("select 'new'").fetchone() == ("new",)
    finally:
        _stop(successor)


def test_a_second_sigusr1_during_an_upgrade_is_ignored(start_server):
    server = start_server()
    server.proc.send_signal(signal.SIGUSR1)
    time.sleep(0.2)
    server.proc.send_signal(signal.SIGUSR1)
    successor = _successor(server)
    try:
        assert server.proc.wait(60) == 0
        time.sleep(1)
        assert len(re.findall(r"upgrade: started process", server.log())) == 1
        assert "received SIGUSR1 during an upgrade: ignored" in server.log()
    finally:
        _stop(successor)
