"""One DuckLake database served by several workers (issue 20, step 2; controlplane.pool):
sessions of one lake database spread over up to ``max_workers_per_database`` workers,
each with the lake attached, writers committing through a throwaway PostgreSQL 15
catalog; ``duckgres_worker()`` names the process serving a session.

Spreading is the control plane's: the lake server runs in that mode whatever
DUCKGRES_MODE says; duckgres_worker() is checked in both modes (a standalone server is
its own single worker).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time

import psycopg
import pytest

from tests.conftest import ServerProcess
from tests.support.pg15 import pg15_cluster

# its servers name their mode (--mode) whatever DUCKGRES_MODE says:
# deselected in the standalone pass (tests/conftest.py)
pytestmark = pytest.mark.controlplane_only



@pytest.fixture(scope="module")
def catalog():
    with pg15_cluster() as cluster:
        yield cluster


@pytest.fixture(scope="module")
def srv(tmp_path_factory, catalog):
    root = tmp_path_factory.mktemp("lakepool")
    server = ServerProcess(root / "data", [
        "--mode", "controlplane", "--storage", "ducklake", "--ducklake-catalog", catalog.dsn,
        "--ducklake-data-path", str(root / "lake"), "--min-workers", "2",
        "--max-workers", "12", "--max-workers-per-database", "2"]).start()
    yield server
    assert server.stop() == 0, server.log()


def _connect(server, dbname: str, **kw) -> psycopg.Connection:
    return psycopg.connect(server.dsn(dbname=dbname), autocommit=True, **kw)


def _worker(conn) -> int:
    (pid,) = conn.execute("SELECT duckgres_worker()").fetchone()
    return pid


def _parent(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return int(re.search(r"^PPid:\s+(\d+)", status.read(), re.M).group(1))


def _served_by_the_server(server, pid: int) -> None:
    """``pid`` is one of the server's workers (control plane)."""
    assert pid != server.proc.pid and _parent(pid) == server.proc.pid


# -- duckgres_worker() ----------------------------------------------------------------

@pytest.mark.parametrize("mode", ["controlplane", "standalone"])
@pytest.mark.parametrize("storage", ["duckdb", "ducklake"])
def test_duckgres_worker_names_the_serving_process(start_server, tmp_path, catalog, mode,
                                                   storage):
    lake = ["--ducklake-catalog", catalog.dsn, "--ducklake-data-path", str(tmp_path / "lake")]
    server = start_server("--mode", mode, "--storage", storage, "--min-workers", "1",
                          *(lake if storage == "ducklake" else []))
    with _connect(server, f"w_{mode}") as conn:
        pid = _worker(conn)
        if mode == "standalone":
            assert pid == server.proc.pid
        else:
            _served_by_the_server(server, pid)
        cur = conn.execute("SELECT duckgres_worker() AS w, pg_typeof(duckgres_worker())")
        assert cur.description[0].type_code == 23  # int4, like pg_backend_pid()
        assert cur.fetchone() == (pid, "integer")
        # prepared (extended protocol), in an expression
        assert conn.execute("SELECT duckgres_worker() = %s", [pid]).fetchone() == (True,)


# -- spread ------------------------------------------------------------------------------

def test_two_sessions_on_two_workers_see_each_others_commits(srv):
    with _connect(srv, "spread") as a, _connect(srv, "spread") as b:
        wa, wb = _worker(a), _worker(b)
        _served_by_the_server(srv, wa)
        _served_by_the_server(srv, wb)
        assert wa != wb
        a.execute("CREATE TABLE t (id integer, note text)")
        a.execute("INSERT INTO t VALUES (1, 'from a')")
        assert b.execute("SELECT id, note FROM t").fetchall() == [(1, "from a")]
        with b.transaction():
            b.execute("INSERT INTO t VALUES (2, 'from b')")
            b.execute("UPDATE t SET note = 'b was here' WHERE id = 1")
            # not committed yet: a sees none of it
            assert a.execute("SELECT id, note FROM t ORDER BY id").fetchall() \
                == [(1, "from a")]
        assert a.execute("SELECT id, note FROM t ORDER BY id").fetchall() \
            == [(1, "b was here"), (2, "from b")]
        # a third session goes to the least busy of the two (at most 2 per database)
        with _connect(srv, "spread") as c:
            assert _worker(c) in {wa, wb}


def test_a_file_database_stays_on_one_worker(tmp_path, start_server):
    server = start_server("--mode", "controlplane", "--min-workers", "2", "--max-workers", "4",
                          "--max-workers-per-database", "2")
    with _connect(server, "onefile") as a, _connect(server, "onefile") as b:
        assert _worker(a) == _worker(b)


def test_drop_database_releases_every_worker_of_it(srv):
    with _connect(srv, "dropme") as a, _connect(srv, "dropme") as b:
        pids = {_worker(a), _worker(b)}
        a.execute("CREATE TABLE t (x integer)")
    assert len(pids) == 2
    with _connect(srv, "postgres") as admin:
        admin.execute("DROP DATABASE dropme")
    deadline = time.monotonic() + 10
    while any(os.path.exists(f"/proc/{pid}") for pid in pids):
        assert time.monotonic() < deadline, "a worker of the dropped database still runs"
        time.sleep(0.1)


# -- pgbench tpcb-like over two workers -----------------------------------------------

def _pgbench(server, *args: str, timeout: float = 300) -> str:
    env = {**os.environ, "PGPASSWORD": "postgres", "PGSSLMODE": "require"}
    result = subprocess.run(
        ["pgbench", *args, "-h", "127.0.0.1", "-p", str(server.port), "-U", "postgres",
         "lakebench"], env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def test_pgbench_tpcb_like_over_two_workers(srv, tmp_path):
    output = _pgbench(srv, "-i", "-s", "5")
    assert "done in" in output
    # beside tpcb-like, each client notes the worker serving it (every other time)
    seen = tmp_path / "workers"
    probe = tmp_path / "probe.sql"
    probe.write_text(f"SELECT duckgres_worker() AS w \\gset\n\\shell echo :w >> {seen}\n")
    output = _pgbench(srv, "-b", "tpcb-like@1", "-f", f"{probe}@1", "-c", "4", "-j", "2",
                      "--max-tries", "10", "-T", "15")
    assert re.search(r"number of failed transactions: 0 ", output), output
    processed = re.search(r"number of transactions actually processed: (\d+)", output)
    assert processed and int(processed.group(1)) > 0, output
    workers = set(seen.read_text().split())
    assert len(workers) == 2, workers
    for pid in workers:
        _served_by_the_server(srv, int(pid))
    with _connect(srv, "lakebench") as conn:
        accounts, tellers, branches, history, rows = conn.execute(
            "SELECT (SELECT sum(abalance) FROM pgbench_accounts), "
            "(SELECT sum(tbalance) FROM pgbench_tellers), "
            "(SELECT sum(bbalance) FROM pgbench_branches), "
            "(SELECT coalesce(sum(delta), 0) FROM pgbench_history), "
            "(SELECT count(*) FROM pgbench_history)").fetchone()
        assert accounts == tellers == branches == history, (accounts, tellers, branches,
                                                           history)
        assert rows > 0


# -- a worker killed in the middle of a transaction ---------------------------------------

def test_a_worker_killed_mid_transaction_leaves_nothing_and_the_other_serves(srv):
    with _connect(srv, "killme") as setup:
        setup.execute("CREATE TABLE k (id integer, note text)")
        setup.execute("INSERT INTO k VALUES (0, 'before')")
    victim, survivor = _connect(srv, "killme"), _connect(srv, "killme")
    try:
        pid = _worker(victim)
        assert _worker(survivor) != pid
        victim.execute("BEGIN")
        victim.execute("INSERT INTO k VALUES (1, 'doomed')")
        victim.execute("UPDATE k SET note = 'doomed' WHERE id = 0")
        victim.execute("CREATE TABLE doomed (x integer)")
        os.kill(pid, signal.SIGKILL)
        with pytest.raises(psycopg.OperationalError) as caught:
            victim.execute("INSERT INTO k VALUES (2, 'after the kill')")
        assert caught.value.sqlstate == "57P01", caught.value
        assert "terminating connection due to worker failure" in str(caught.value)
        assert survivor.execute("SELECT id, note FROM k ORDER BY id").fetchall() \
            == [(0, "before")]
        assert survivor.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'doomed'"
        ).fetchone() == (0,)
        survivor.execute("INSERT INTO k VALUES (3, 'survivor')")
        # a new session is served (by the survivor's worker or a new one)
        with _connect(srv, "killme") as fresh:
            assert _worker(fresh) != pid
            assert fresh.execute("SELECT id FROM k ORDER BY id").fetchall() == [(0,), (3,)]
    finally:
        victim.close()
        survivor.close()


def test_pg_stat_activity_on_a_lake(srv, catalog):
    """The snapshot's Arrow data reaches the temporary table without a view in the lake
    (which DuckLake cannot parse back): outside and inside transactions, also after the
    transaction wrote the lake, and on both protocols."""
    with _connect(srv, "activity") as conn:
        sql = "SELECT datname FROM pg_stat_activity WHERE pid = pg_backend_pid()"
        assert conn.execute(sql).fetchall() == [("activity",)]
        assert conn.execute(sql, prepare=True).fetchall() == [("activity",)]
        conn.execute("CREATE TABLE IF NOT EXISTS written (a int)")
        with conn.transaction():
            assert conn.execute(sql).fetchall() == [("activity",)]
            conn.execute("INSERT INTO written VALUES (1)")
            assert conn.execute(sql).fetchall() == [("activity",)]
            assert conn.execute("SELECT count(*) FROM written").fetchone() == (1,)
        conn.execute("PREPARE named AS SELECT 1")
        assert conn.execute("SELECT name FROM pg_prepared_statements WHERE name = 'named'"
                            ).fetchall() == [("named",)]
        with psycopg.connect(catalog.dsn, autocommit=True) as meta:
            def snapshots():
                return meta.execute("SELECT count(*) FROM activity.ducklake_snapshot").fetchone()
            before = snapshots()
            assert conn.execute(sql).fetchall() == [("activity",)]
            assert snapshots() == before  # reading the view commits nothing to the lake
        # nothing of the snapshot's is left in the lake
        assert conn.execute("SELECT count(*) FROM information_schema.tables WHERE "
                            "table_name LIKE '%copy_in%'").fetchone() == (0,)
