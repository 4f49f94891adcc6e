"""Faults under load: workers and the whole server killed with SIGKILL while clients
write. Nothing acknowledged as committed may be lost, the control plane must keep
serving, and the damage must stay with the sessions of the killed process.

The pgbench test runs for FAULT_SECONDS (default 60, the figure docs/reliability.md
reports).
"""

from __future__ import annotations

import os
import re
import signal
import statistics
import subprocess
import threading
import time
from pathlib import Path

import psycopg
import pytest

from tests.test_controlplane import CP, owner_of, worker_pids

# its servers name their mode (--mode) whatever DUCKGRES_MODE says:
# deselected in the standalone pass (tests/conftest.py)
pytestmark = pytest.mark.controlplane_only

FAULT_SECONDS = int(os.environ.get("FAULT_SECONDS", "60"))
KILL_EVERY = 10.0
RECOVERY_BOUND = 5.0


def _pgbench(server, args: list[str], timeout: float) -> subprocess.CompletedProcess:
    env = {**os.environ, "PGPASSWORD": "postgres", "PGSSLMODE": "require"}
    return subprocess.run(
        ["pgbench", *args, "-h", "127.0.0.1", "-p", str(server.port), "-U", "postgres",
         "faults"], env=env, capture_output=True, text=True, timeout=timeout)


def _committed(log_dir: Path) -> list[float]:
    """End times (epoch seconds) of the transactions pgbench logged as completed: it
    logs a transaction once its END was acknowledged; failed ones say so instead."""
    times = []
    for path in log_dir.iterdir():
        for line in path.read_text().splitlines():
            fields = line.split()
            if len(fields) >= 6 and fields[2].isdigit():  # latency in us, not "failed"
                times.append(int(fields[4]) + int(fields[5]) / 1e6)
    return times


def test_pgbench_tpcb_while_the_worker_is_killed_every_ten_seconds(start_server, tmp_path):
    """pgbench -c 8 tpcb-like for a minute; the worker under it is kill -9'd every 10 s.
    pgbench gives up a client whose connection fails, so a driver starts it again
    until the minute is over, as an application's pool would reconnect."""
    server = start_server(*CP, "--max-workers", "4")
    init = _pgbench(server, ["-i", "-s", "4", "-q"], timeout=300)
    assert init.returncode == 0, init.stdout + init.stderr
    log_dir = tmp_path / "pgbench-logs"
    log_dir.mkdir()

    # A bystander on another database (so another worker) must never see an error.
    stop = threading.Event()
    bystander_errors: list[str] = []
    bystander_count = [0]

    def bystander() -> None:
        with psycopg.connect(server.dsn(dbname="bystander"), autocommit=True) as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS seen (i INTEGER)")
            while not stop.is_set():
                try:
                    conn.execute("INSERT INTO seen VALUES (%s)", [bystander_count[0]])
                    bystander_count[0] += 1
                except psycopg.Error as exc:
                    bystander_errors.append(repr(exc))
                time.sleep(0.05)

    kills: list[tuple[float, int]] = []

    def killer() -> None:
        while not stop.wait(KILL_EVERY):
            pid = owner_of(server, "faults")
            kills.append((time.time(), pid))
            os.kill(pid, signal.SIGKILL)

    threads = [threading.Thread(target=bystander), threading.Thread(target=killer)]
    runs, aborted = 0, 0
    start = time.monotonic()
    for thread in threads:
        thread.start()
    try:
        while (left := FAULT_SECONDS - (time.monotonic() - start)) >= 1:
            runs += 1
            result = _pgbench(server, [
                "-n", "-b", "tpcb-like", "-c", "8", "-j", "2", "-T", str(int(left)),
                # DuckDB answers a write-write conflict with 40001 where PostgreSQL would
                # wait; pgbench retries those.
                "--max-tries", "100", "-l", "--log-prefix", str(log_dir / f"run{runs}")],
                timeout=FAULT_SECONDS + 120)
            assert server.proc.poll() is None, "the control plane died"
            output = result.stdout + result.stderr
            aborted += len(re.findall(r"client \d+ (?:script \d+ )?aborted", output))
            # Only the sessions on the killed worker fail, and with the worker's error.
            for line in re.findall(r".*aborted in command.*|.*ERROR:.*", output):
                assert re.search(r"worker|terminat|connection|server closed", line), output
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    ended = time.time()
    assert server.proc.poll() is None, "the control plane died"
    assert len(kills) >= FAULT_SECONDS // KILL_EVERY - 1, kills
    assert len({pid for _, pid in kills}) == len(kills), "a killed worker came back?"
    assert bystander_errors == [] and bystander_count[0] > 0, bystander_errors

    committed = _committed(log_dir)
    assert committed, "pgbench completed no transaction"
    # Throughput recovers within RECOVERY_BOUND of each kill: in the last two seconds of
    # that window transactions commit at no less than half the rate of the 5 s before.
    # (Two seconds, not one: with both CI suites side by side one second's count swings
    # by half on its own.)
    recovery = []
    for killed_at, _ in kills:
        before = sum(killed_at - 5 <= t < killed_at for t in committed) / 5
        back = [t for t in committed if killed_at < t]
        first = min(back) - killed_at if back else None
        window = sum(killed_at + RECOVERY_BOUND - 2 <= t < killed_at + RECOVERY_BOUND
                     for t in committed) / 2
        recovery.append(first)
        if killed_at + RECOVERY_BOUND < ended - 1:  # the run went on long enough to see
            assert first is not None and first < RECOVERY_BOUND, (killed_at, first)
            assert window >= before / 2, (killed_at, before, window)

    with psycopg.connect(server.dsn(dbname="faults")) as conn:
        history, delta = conn.execute(
            "SELECT count(*), coalesce(sum(delta), 0) FROM pgbench_history").fetchone()
        sums = conn.execute(
            "SELECT (SELECT sum(abalance) FROM pgbench_accounts),"
            " (SELECT sum(bbalance) FROM pgbench_branches),"
            " (SELECT sum(tbalance) FROM pgbench_tellers)").fetchone()
    assert all(s == delta for s in sums), (sums, delta)
    # Every acknowledged commit is there; beyond them, at most the transactions that
    # committed as their worker died (their client never heard back).
    assert len(committed) <= history <= len(committed) + 8 * len(kills), (
        len(committed), history)
    print(f"{FAULT_SECONDS} s, {len(kills)} kills, {runs} pgbench runs, {aborted} clients "
          f"aborted, {len(committed)} committed ({len(committed) / FAULT_SECONDS:.0f} TPS), "
          f"history {history}, first commit after each kill (s): "
          f"{[round(r, 2) if r is not None else None for r in recovery]}, "
          f"median {statistics.median([r for r in recovery if r is not None]):.2f}; "
          f"bystander {bystander_count[0]} inserts, 0 errors")


def _running(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("mode", ["standalone", "controlplane"])
def test_kill_9_of_the_whole_server_loses_no_acknowledged_commit(start_server, tmp_path, mode):
    """Writers commit (autocommit and explicit transactions) while every process of the
    server is SIGKILLed; after a restart on the same data directory each row whose
    commit was acknowledged is there."""
    data = tmp_path / "data"
    server = start_server("--mode", mode, data_dir=data)
    with psycopg.connect(server.dsn(dbname="durable"), autocommit=True) as conn:
        conn.execute("CREATE TABLE acked (writer INTEGER, n INTEGER, payload VARCHAR)")
    acknowledged: list[list[int]] = [[] for _ in range(4)]

    def writer(index: int) -> None:
        try:
            with psycopg.connect(server.dsn(dbname="durable"), autocommit=True) as conn:
                for n in range(1_000_000):
                    if n % 2:
                        conn.execute("INSERT INTO acked VALUES (%s, %s, repeat('x', 500))",
                                     [index, n])
                    else:
                        with conn.transaction():
                            conn.execute("INSERT INTO acked VALUES (%s, %s, 'a')", [index, n])
                            conn.execute("INSERT INTO acked VALUES (%s, %s, 'b')",
                                         [index, -n - 1])
                    acknowledged[index].append(n)
        except psycopg.Error:
            pass  # the server is gone

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60
    while sum(map(len, acknowledged)) < 400 and time.monotonic() < deadline:
        time.sleep(0.05)
    victims = [server.proc.pid, *worker_pids(server)]
    for pid in victims:
        os.kill(pid, signal.SIGKILL)
    for thread in threads:
        thread.join(30)
    server.proc.wait(10)
    assert sum(map(len, acknowledged)) >= 400
    if mode == "controlplane":
        # a worker must not outlive a kill -9 and hold the file; the kernel takes a while
        # to tear a large process down (state R until it is a zombie) on a loaded machine
        deadline = time.monotonic() + 10
        while (alive := [pid for pid in victims[1:] if _running(pid)]) \
                and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive

    again = start_server("--mode", mode, data_dir=data)
    with psycopg.connect(again.dsn(dbname="durable")) as conn:
        rows = conn.execute("SELECT writer, n FROM acked").fetchall()
    present = set(rows)
    for index, ns in enumerate(acknowledged):
        for n in ns:
            assert (index, n) in present, (index, n)
            if n % 2 == 0:  # both rows of a committed transaction, or neither
                assert (index, -n - 1) in present, (index, n)
    for index, n in present:
        if n < 0:  # no half transaction survived
            assert (index, -n - 1) in present, (index, n)
