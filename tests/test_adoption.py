"""Upgrades adopt workers (controlplane.adoption, worker.owner): on SIGUSR1 the new control
plane takes over the old one's worker processes, so a database keeps its process and new
sessions on it never wait for the old process's statements. Control-plane mode whatever
DUCKGRES_MODE says: standalone has no workers."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg
import pyarrow as pa
import pyarrow.flight as fl
import pytest

from tests.support.worker import start_worker
from tests.test_upgrade import _stop, _successor

# upgrades adopt workers: control-plane servers and workers only:
# deselected in the standalone pass (tests/conftest.py)
pytestmark = pytest.mark.controlplane_only


def _action(worker, kind: str, body: dict | None = None, epoch: int | None = None) -> dict:
    headers = [(b"authorization", f"Bearer {worker.token}".encode())]
    if epoch is not None:
        headers.append((b"x-duckgres-epoch", str(epoch).encode()))
    with fl.connect(worker.uri) as client:
        results = list(client.do_action(fl.Action(kind, json.dumps(body or {}).encode()),
                                        fl.FlightCallOptions(headers=headers)))
    return json.loads(results[0].body.to_pybytes())


@pytest.fixture
def worker():
    directory = Path(tempfile.mkdtemp(prefix="dgadopt-"))
    w = start_worker(directory)
    yield w
    w.stop()
    shutil.rmtree(directory, ignore_errors=True)


def test_a_worker_obeys_only_its_newest_owner(worker):
    old = _action(worker, "CreateSession", {"user": "u"}, epoch=1)["session_token"]
    owner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    third = None
    try:
        reply = _action(worker, "Adopt", {"epoch": 2, "owner_pid": owner.pid})
        assert (reply["adopted"], reply["epoch"], reply["pid"], reply["sessions"]) == \
            (True, 2, worker.proc.pid, 1)
        assert _action(worker, "HealthCheck")["older_sessions"] == 1  # the old owner's
        refused = [
            lambda: _action(worker, "CreateSession", {"user": "u"}, epoch=1),
            lambda: _action(worker, "CreateSession", {"user": "u"}),  # no epoch: stale now
            lambda: _action(worker, "CreateSession", {"user": "u"}, epoch=3),  # never granted
            lambda: _action(worker, "SetLimits", {"threads": "1"}, epoch=1),
            lambda: _action(worker, "Adopt", {"epoch": 2, "owner_pid": os.getpid()}),
        ]
        for attempt in refused:
            with pytest.raises(fl.FlightUnauthorizedError):
                attempt()
        # a fleet worker's action (its owner has it end a gone owner's sessions): a
        # local worker ends them itself (the pidfd, below) and serves no such command
        with pytest.raises(pa.ArrowNotImplementedError, match="unknown action"):
            _action(worker, "EndOlderSessions", {"owners": ["any"]}, epoch=2)
        assert _action(worker, "HealthCheck")["older_sessions"] == 1
        new = _action(worker, "CreateSession", {"user": "u"}, epoch=2)["session_token"]
        # the old owner still ends the session it created, never the new owner's
        with pytest.raises(fl.FlightUnauthorizedError):
            _action(worker, "DestroySession", {"session_token": new}, epoch=1)
        assert _action(worker, "DestroySession", {"session_token": old}, epoch=1) == \
            {"destroyed": True}
        health = _action(worker, "HealthCheck", epoch=1)  # read-only: any epoch
        assert (health["epoch"], health["refused"], health["sessions"],
                health["older_sessions"]) == (2, 6, 1, 0)
        # a third owner; the second one's process exits without ending its session
        third = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        _action(worker, "Adopt", {"epoch": 3, "owner_pid": third.pid})
        mine = _action(worker, "CreateSession", {"user": "u"}, epoch=3)["session_token"]
        owner.kill()
        owner.wait()
        deadline = time.monotonic() + 10
        while _action(worker, "HealthCheck")["sessions"] != 1:  # its session ended
            assert time.monotonic() < deadline, worker.log()
            time.sleep(0.1)
        assert worker.proc.poll() is None  # the current owner's work goes on
        assert _action(worker, "DestroySession", {"session_token": mine}, epoch=3) == \
            {"destroyed": True}
        # it stops with its current owner, not with its parent (this test)
        third.kill()
        third.wait()
        assert worker.proc.wait(10) == 0
        assert "the control plane (pid %d) is gone" % third.pid in worker.log()
    finally:
        for process in (owner, third):
            if process is not None:
                process.kill()
                process.wait()


class ConnectLoop:
    """Connects to ``database`` every 50 ms with a 2 s connect timeout and asks which
    worker process serves it, until stopped."""

    def __init__(self, server, database: str) -> None:
        self.server, self.database = server, database
        self.ok, self.failures, self.pids = 0, [], set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(self.server.dsn(dbname=self.database),
                                     connect_timeout=2) as conn:
                    self.pids.add(conn.execute("select duckgres_worker()").fetchone()[0])
                    assert conn.execute("select count(*) from t").fetchone() == (1,)
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


def _worker_pid(server, database: str) -> int:
    with psycopg.connect(server.dsn(dbname=database), connect_timeout=10) as conn:
        return conn.execute("select duckgres_worker()").fetchone()[0]


def _wait_gone(pid: int, seconds: float = 120) -> None:
    """Until ``pid`` exited (not our child: a zombie counts as gone)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] in "ZX":
                return
        except (FileNotFoundError, IndexError):
            return
        time.sleep(0.1)
    raise AssertionError(f"process {pid} did not exit")


def test_upgrade_adopts_the_workers_while_a_long_query_runs(start_server):
    sockets = Path(tempfile.mkdtemp(prefix="dgadopt-"))  # short: Unix socket paths
    server = start_server("--mode", "controlplane", "--handover-drain-timeout", "120s",
                          "--socket-dir", str(sockets))
    for database in ("long", "other"):
        with psycopg.connect(server.dsn(dbname=database), autocommit=True) as conn:
            conn.execute("create table t as select 1 as i")
    pids = {database: _worker_pid(server, database) for database in ("long", "other")}
    long = psycopg.connect(server.dsn(dbname="long"), autocommit=True)
    result = {}
    query = threading.Thread(target=lambda: result.setdefault(
        "rows", long.execute("select count(*) from range(8000000000)").fetchone()))
    successors = []
    try:
        with ConnectLoop(server, "long") as loop:
            time.sleep(0.5)
            query.start()
            time.sleep(0.5)
            server.proc.send_signal(signal.SIGUSR1)
            successors.append(_successor(server))
            query.join(180)
            long.close()  # its last session: the old process exits once it ends
            assert server.proc.wait(120) == 0
            served_before = loop.ok
            time.sleep(1)  # the successor serves alone now
        assert result["rows"] == (8000000000,)  # completed on the old process
        assert loop.failures == [], loop.failures[:3]
        assert loop.ok > served_before > 0
        assert loop.pids == {pids["long"]}  # one process served the database throughout
        # the long query still ran on the worker when it was adopted
        adopted = re.search(rf"adopted worker pid {pids['long']} as \d+ \(database long, "
                            r"epoch 2, (\d+) sessions still", server.log())
        assert adopted and int(adopted[1]) >= 1, server.log()[-3000:]
        # the old process has exited: the adopted workers keep serving
        assert {db: _worker_pid(server, db) for db in pids} == pids
        # and a second upgrade adopts them again
        os.kill(successors[0], signal.SIGUSR1)
        successors.append(_successor(server, after=1))
        _wait_gone(successors[0])
        assert {db: _worker_pid(server, db) for db in pids} == pids
        assert re.search(rf"adopted worker pid {pids['long']} .* epoch 3", server.log())
        # once a predecessor exits its names for the sockets go: the last owner's remain
        deadline = time.monotonic() + 10
        while {p.name.split("-")[0] for p in sockets.iterdir()} != {f"cp{successors[1]}"}:
            assert time.monotonic() < deadline, sorted(p.name for p in sockets.iterdir())
            time.sleep(0.1)
    finally:
        long.close()
        for pid in successors:
            _stop(pid)
    for pid in pids.values():  # the last owner's shutdown stopped the adopted workers
        _wait_gone(pid, 30)
    shutil.rmtree(sockets, ignore_errors=True)


def test_the_gate_lets_openings_under_way_finish_and_refuses_them_on_handed_workers():
    from types import SimpleNamespace

    import trio

    from duckgres_trio.controlplane.adoption import Gate
    from duckgres_trio.errors import PgError

    kept, handed = SimpleNamespace(handed_over=False), SimpleNamespace(handed_over=False)

    def refused(fn) -> tuple[str, str] | None:
        try:
            fn()
        except PgError as exc:
            return exc.sqlstate, exc.severity
        return None

    def open_on(worker) -> None:
        with gate.opening(worker):
            pass

    async def main() -> list:
        events = []

        async def opening() -> None:
            with gate.opening(handed):
                await trio.sleep(0.2)
                events.append("opened")

        async with trio.open_nursery() as nursery:
            nursery.start_soon(opening)
            await trio.sleep(0.05)
            await gate.close(5)  # waits for the opening under way
            events.append("closed")
        # closed: no worker is sought, and none opens, until the offer is made
        events += [refused(lambda: gate.check(("a", None))), refused(lambda: open_on(kept))]
        handed.handed_over = True
        gate.handed.add(("a", None))
        gate.settle()
        # then only the databases and workers handed over refuse; others serve here
        events += [refused(lambda: gate.check(("a", None))),
                   refused(lambda: gate.check(("b", None))),
                   refused(lambda: open_on(handed)), refused(lambda: open_on(kept))]
        slow = Gate()
        with slow.opening(kept):  # one that never finishes: the wait is bounded
            with trio.move_on_after(1) as scope:
                await slow.close(0.1)
            events.append(scope.cancelled_caught)
        return events

    gate = Gate()
    fatal = ("57P03", "FATAL")
    assert trio.run(main) == ["opened", "closed", fatal, fatal, fatal, None, fatal, None,
                              False]
