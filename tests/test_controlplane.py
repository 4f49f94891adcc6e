"""Control-plane mode: worker processes, their failures, and the pool's limits.

These tests start their own servers in control-plane mode (whatever DUCKGRES_MODE the
suite runs under) and find the workers as the server's child processes.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import psycopg
import pytest

# every server here is started with --mode controlplane:
# deselected in the standalone pass (tests/conftest.py)
pytestmark = pytest.mark.controlplane_only

CP = ("--mode", "controlplane")


def worker_pids(server) -> list[int]:
    """The server's worker processes (its children running --mode worker)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == server.proc.pid and b"worker" in cmdline:
            pids.append(int(entry.name))
    return pids


def owner_of(server, database: str) -> int:
    """The worker holding ``database``'s DuckDB file open."""
    target = str(server.data_dir / f"{database}.duckdb")
    for pid in worker_pids(server):
        try:
            fds = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(fd) == target:
                    return pid
            except OSError:
                continue
    raise AssertionError(f"no worker owns {target}; workers: {worker_pids(server)}")


def connect(server, dbname="postgres", **kw):
    return psycopg.connect(server.dsn(dbname=dbname), autocommit=True, **kw)


def wait_until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def test_worker_killed_during_a_query(start_server):
    server = start_server(*CP)
    with connect(server, "killed") as conn:
        conn.execute("CREATE TABLE t AS SELECT range AS i FROM range(1000)")
        conn.execute("INSERT INTO t VALUES (-1)")
    victim = connect(server, "killed")
    pid = owner_of(server, "killed")
    killer = threading.Timer(0.5, os.kill, (pid, signal.SIGKILL))
    killer.start()
    started = time.monotonic()
    with pytest.raises(psycopg.Error) as info:
        victim.execute("SELECT count(*) FROM range(100000000000) a")
    killer.join()
    assert time.monotonic() - started < 10
    assert info.value.sqlstate in ("57P01", "XX000", None), info.value
    assert "worker" in str(info.value)
    victim.close()
    assert server.proc.poll() is None, "the control plane died with its worker"
    with connect(server, "killed") as conn:  # a fresh worker opens the same file
        assert conn.execute("SELECT count(*), min(i) FROM t").fetchone() == (1001, -1)
        assert owner_of(server, "killed") != pid
    # the log names the session lost and why: the worker's end (noticed by the pool, or
    # by the session's failed DestroySession first) and a SIGKILL not sent by the server.
    # The end is logged when retire() has reaped the process, which may come after the
    # fresh worker already served (seen once on CI's loaded cores): wait for it.
    assert re.search(r"session on worker w\d+ lost: ", server.log()), server.log()
    wait_until(lambda: re.search(
        r"worker \d+ (\(database killed, \d+ sessions\) exited on its own with|"
        r"\(destroy_failure\) ended with) signal SIGKILL, not sent by this control plane",
        server.log()), 20, "the killed worker's end in the log")


def test_stopped_worker_is_replaced_and_others_are_unaffected(start_server):
    server = start_server(*CP)
    with connect(server, "stopped") as conn:
        conn.execute("CREATE TABLE t (x int); INSERT INTO t VALUES (7)")
    other = connect(server, "healthy")
    other.execute("CREATE TABLE u (y int)")
    pid = owner_of(server, "stopped")
    os.kill(pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        for i in range(20):  # the other worker keeps serving meanwhile
            other.execute("INSERT INTO u VALUES (%s)", (i,))
            time.sleep(0.1)

        def replaced():
            try:
                with connect(server, "stopped", connect_timeout=3) as conn:
                    return conn.execute("SELECT x FROM t").fetchone() == (7,)
            except psycopg.OperationalError:
                return False

        # Killed after 7-9 s of failed checks (pool.py), then a cold worker start: 1-2 s
        # on an idle machine, 4-7 s on CI's two loaded cores.
        wait_until(replaced, 20, "a new worker for the stopped one's database")
        assert time.monotonic() - started < 20
        assert pid not in worker_pids(server)
        assert other.execute("SELECT count(*) FROM u").fetchone() == (20,)
        # the log says why: failed checks of a stopped process (state T), then the kill
        log = server.log()
        assert re.search(r"failed a health check \(1 in a row\) after [\d.]+ s: .*; "
                         r"process state T, ", log), log
        assert re.search(r"worker \d+ \(database stopped, \d+ sessions\): killed after 3 "
                         r"failed health checks in a row", log), log
        # the old process's end is logged when retire() has reaped it, which may come
        # after the new worker already serves (seen once on CI's loaded cores; retire
        # waits at most RETIRE_GRACE_SECONDS before a SIGKILL of its own): wait for it
        wait_until(lambda: re.search(r"worker \d+ \(health_check_failure\) ended with "
                                     r"signal SIGKILL", server.log()),
                   20, "the stopped worker's end in the log")
    finally:
        try:
            os.kill(pid, signal.SIGCONT)
        except ProcessLookupError:
            pass
    other.close()


def test_sessions_on_one_worker_are_isolated(start_server):
    server = start_server(*CP)
    a, b = connect(server, "iso"), connect(server, "iso")
    a.execute("CREATE TEMP TABLE mine AS SELECT 1 AS x")
    a.execute("SET TimeZone = 'Asia/Tokyo'")
    with pytest.raises(psycopg.errors.UndefinedTable):
        b.execute("SELECT * FROM mine")
    assert b.execute("SHOW TimeZone").fetchone() == ("UTC",)
    assert owner_of(server, "iso") in worker_pids(server)
    # a transaction left open by a closed session is rolled back
    a.execute("CREATE TABLE shared (x int)")
    a.execute("BEGIN")
    a.execute("INSERT INTO shared VALUES (1)")
    a.close()
    assert b.execute("SELECT count(*) FROM shared").fetchone() == (0,)
    b.close()


def test_burst_of_first_connections_respects_max_workers(start_server):
    server = start_server(*CP, "--max-workers", "2", "--min-workers", "0",
                          "--worker-queue-timeout", "20s")
    peak = 0
    stop = threading.Event()

    def sample():
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, len(worker_pids(server)))
            time.sleep(0.01)

    results: list[object] = []

    def client(n: int):
        try:
            with connect(server, f"burst{n % 3}", connect_timeout=30) as conn:
                results.append(conn.execute("SELECT %s::int", (n,)).fetchone()[0])
        except psycopg.OperationalError as exc:
            results.append(exc)

    sampler = threading.Thread(target=sample)
    sampler.start()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    stop.set()
    sampler.join()
    assert len(results) == 50
    errors = [r for r in results if isinstance(r, Exception)]
    assert all("53300" in str(e) or "too many" in str(e) for e in errors), errors
    assert sorted(r for r in results if isinstance(r, int)) == sorted(
        n for n in range(50) if not errors or n in results)
    assert 1 <= peak <= 2, peak
    assert server.proc.poll() is None


def test_queue_timeout_gives_53300(start_server):
    # min_workers 1: the spare starts with the server, so only "second" waits.
    # The queue timeout must also cover the first session's database activation (its
    # catalog is built then), on a loaded machine.
    server = start_server(*CP, "--max-workers", "1", "--min-workers", "1",
                          "--worker-queue-timeout", "3s")
    holder = connect(server, "first")
    started = time.monotonic()
    with pytest.raises(psycopg.OperationalError) as info:
        connect(server, "second", connect_timeout=15)
    assert 2.8 < time.monotonic() - started < 12
    assert "53300" in str(info.value) or "too many clients" in str(info.value)
    holder.close()

    def second_works():  # the worker is freed for it now (a retire and a spawn later)
        try:
            with connect(server, "second") as conn:
                return conn.execute("SELECT 1").fetchone() == (1,)
        except psycopg.OperationalError:
            return False

    wait_until(second_works, 20, "a worker for the second database")
    assert len(worker_pids(server)) == 1


def test_client_leaving_while_queued_gives_up_its_place(start_server):
    server = start_server(*CP, "--max-workers", "1", "--min-workers", "0",
                          "--worker-queue-timeout", "30s")
    holder = connect(server, "held")
    holder_worker = owner_of(server, "held")
    waiter = subprocess.Popen(["psql", server.dsn(dbname="wanted"), "-c", "SELECT 1"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1)  # queued behind "held" by now; then the client gives up
    waiter.kill()
    waiter.wait()
    time.sleep(0.3)
    holder.close()
    time.sleep(1.5)
    # Nobody waits for "wanted" any more: its worker was not started for a dead client.
    assert worker_pids(server) == [holder_worker]
    assert not (server.data_dir / "wanted.duckdb").exists()
    with connect(server, "held") as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def _cancel_after(conn, seconds: float) -> threading.Timer:
    timer = threading.Timer(seconds, conn.cancel)
    timer.start()
    return timer


def test_cancel_during_execution_stops_the_worker_statement(start_server):
    server = start_server(*CP)
    with connect(server, "cancel") as conn:
        timer = _cancel_after(conn, 0.5)
        started = time.monotonic()
        with pytest.raises(psycopg.errors.QueryCanceled):
            conn.execute("SELECT count(*) FROM range(100000000000) a")
        timer.join()
        assert time.monotonic() - started < 1.5  # stopped within 1 s of the cancel
        assert conn.execute("SELECT 41 + 1").fetchone() == (42,)


def test_cancel_during_row_streaming(start_server):
    server = start_server(*CP)
    with connect(server, "stream") as conn:
        rows = 0
        with pytest.raises(psycopg.errors.QueryCanceled):
            for _ in conn.cursor().stream("SELECT range AS i FROM range(50000000)"):
                rows += 1
                if rows == 20000:
                    conn.cancel()
        assert 20000 <= rows < 50000000
        assert conn.execute("SELECT count(*) FROM range(10)").fetchone() == (10,)
        # nothing of the cancelled result is left on the session's worker connection
        assert conn.execute("SELECT 'after'").fetchone() == ("after",)


@pytest.mark.parametrize("mode", ["controlplane", "standalone"])
def test_cursor_closed_with_a_fetch_out_ahead(start_server, mode):
    """While a result's batches are sent, its next fetch is already running (a FETCH on
    the worker; a thread in standalone mode). Closing the result then must wait for it
    and leave the session in step: every later statement gets its own answer."""
    server = start_server("--mode", mode)
    with connect(server, "ahead") as conn:
        for round_ in range(3):
            with conn.transaction():
                cur = conn.cursor(name=f"c{round_}")
                cur.execute("SELECT i, i * 2 AS j FROM range(1000000) t(i)")
                assert cur.fetchmany(5) == [(i, i * 2) for i in range(5)]
                cur.close()
            assert conn.execute("SELECT 40 + %s", (round_,)).fetchone() == (40 + round_,)
        assert conn.execute("SELECT count(*) FROM range(7)").fetchone() == (7,)
        # A result read to its end still counts every row.
        assert conn.execute("SELECT count(*) FROM (SELECT * FROM range(300000))").fetchone() == (300000,)
        rows = list(conn.cursor().stream("SELECT i FROM range(100000) t(i)"))
        assert rows == [(i,) for i in range(100000)]


def test_idle_workers_are_retired_and_shutdown_stops_every_worker(start_server):
    # long enough that the first worker outlives the second session's start (a spawn
    # and a database open take about a second)
    server = start_server(*CP, "--min-workers", "1", "--worker-idle-timeout", "3s")
    for name in ("idle_a", "idle_b"):
        with connect(server, name) as conn:
            conn.execute("SELECT 1")
    assert len(worker_pids(server)) >= 2
    # Both become idle; the reaper keeps min_workers (1) and retires the rest.
    wait_until(lambda: len(worker_pids(server)) == 1, 15, "the idle reaper")
    pids = worker_pids(server)
    assert server.stop() == 0
    assert not any(Path(f"/proc/{pid}").exists() for pid in pids)


def test_retire_on_session_end(start_server):
    server = start_server(*CP, "--min-workers", "0", "--retire-on-session-end", "true")
    with connect(server, "once") as conn:
        pid = owner_of(server, "once")
        conn.execute("CREATE TABLE t AS SELECT 1 AS x")
    wait_until(lambda: pid not in worker_pids(server), 10, "the worker to retire")
    with connect(server, "once") as conn:
        assert conn.execute("SELECT x FROM t").fetchone() == (1,)


def test_workers_share_the_memory_budget(start_server):
    server = start_server(*CP, "--memory-budget", "2GiB")

    def limit(conn) -> str:
        return conn.execute("SELECT current_setting('memory_limit')").fetchone()[0]

    first = connect(server, "mem_a")
    assert limit(first) == "2.0 GiB"  # the only owner: the whole budget
    second = connect(server, "mem_b")
    assert limit(second) == "1.0 GiB"
    wait_until(lambda: limit(first) == "1.0 GiB", 5, "the first worker's share to shrink")
    second.close()
    first.close()


def test_lifecycle_transitions_are_validated():
    from duckgres_trio.controlplane.worker import InvalidTransition, State, Worker

    worker = Worker(1, process=None, statement_path="", flight_path="", token="")
    for state in (State.IDLE, State.RESERVED, State.ACTIVATING, State.HOT, State.HOT_IDLE,
                  State.HOT, State.DRAINING):
        worker.transition(state)
    with pytest.raises(InvalidTransition):
        worker.transition(State.HOT)
    spare = Worker(2, process=None, statement_path="", flight_path="", token="")
    with pytest.raises(InvalidTransition):
        spare.transition(State.HOT)  # spawning -> hot skips activation
    spare.transition(State.RETIRED)  # any state may end


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_rate(pid: int, window: float = 0.5) -> float:
    before = _cpu_seconds(pid)
    time.sleep(window)
    return (_cpu_seconds(pid) - before) / window


@pytest.mark.parametrize("mode", ["controlplane", "standalone"])
def test_client_vanishing_mid_query_stops_the_statement(start_server, mode):
    server = start_server("--mode", mode)
    client = subprocess.Popen(
        ["psql", server.dsn(dbname="vanish"), "-c",
         "SELECT count(*) FROM range(100000000000) a, range(10) b"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    engine = (lambda: owner_of(server, "vanish")) if mode == "controlplane" else (
        lambda: server.proc.pid)
    pid = wait_until(lambda: _safe(engine), 10, "the query to start")
    wait_until(lambda: _cpu_rate(pid) > 0.5, 10, "the query to be running")
    client.kill()
    client.wait()
    killed = time.monotonic()
    wait_until(lambda: _cpu_rate(pid, 0.25) < 0.1, 5, "the statement to stop")
    assert time.monotonic() - killed < 2.5
    with connect(server, "vanish") as conn:  # the database is fine
        assert conn.execute("SELECT 1").fetchone() == (1,)


def _safe(fn):
    try:
        return fn()
    except AssertionError:
        return None


def test_workers_exit_when_the_control_plane_is_killed(start_server):
    server = start_server(*CP, "--min-workers", "2")
    with connect(server, "orphan") as conn:
        conn.execute("CREATE TABLE t AS SELECT 1 AS x")
        pids = worker_pids(server)
        assert len(pids) == 2
        server.proc.kill()
        server.proc.wait()
    wait_until(lambda: not any(_is_worker(pid) for pid in pids), 5,
               "the orphaned workers to exit")
    # No orphan holds the file: a new server opens the same database.
    again = start_server(*CP, data_dir=server.data_dir)
    with connect(again, "orphan") as conn:
        assert conn.execute("SELECT x FROM t").fetchone() == (1,)


def test_the_janitor_kills_a_stuck_orphan_and_clears_its_files(start_server, tmp_path):
    """A worker that cannot notice its parent died (stopped here) keeps the database
    file locked; the next control plane on the same socket_dir kills it at start, removes
    the dead one's files, and serves the committed data."""
    sockets = tmp_path / "sockets"
    server = start_server(*CP, "--socket-dir", str(sockets))
    with connect(server, "stuck") as conn:
        conn.execute("CREATE TABLE t AS SELECT 42 AS x")
        stuck = owner_of(server, "stuck")
        old_files = sorted(p.name for p in sockets.iterdir())
        assert any(name.endswith(".pid") for name in old_files), old_files
        os.kill(stuck, signal.SIGSTOP)
        server.proc.kill()
        server.proc.wait()
    time.sleep(1.5)  # the parent watch would have fired by now: the worker is stopped
    assert _is_worker(stuck)
    again = start_server(*CP, "--socket-dir", str(sockets), data_dir=server.data_dir)
    with connect(again, "stuck") as conn:
        assert conn.execute("SELECT x FROM t").fetchone() == (42,)
    wait_until(lambda: not _is_worker(stuck), 5, "the stuck orphan to be killed")
    assert not set(old_files) & {p.name for p in sockets.iterdir()}
    assert "killing orphan worker" in again.log()


def _is_worker(pid: int) -> bool:
    try:
        return b"worker" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def test_two_servers_side_by_side_with_default_settings(start_server):
    first, second = start_server(*CP), start_server(*CP)
    a, b = connect(first, "side"), connect(second, "side")
    a.execute("CREATE TABLE t AS SELECT 'first' AS who")
    b.execute("CREATE TABLE t AS SELECT 'second' AS who")
    assert a.execute("SELECT who FROM t").fetchone() == ("first",)
    assert b.execute("SELECT who FROM t").fetchone() == ("second",)
    a.close()
    b.close()
