"""pgbench (the real binary) with a custom \\set script under every query mode."""

from __future__ import annotations

import os
import re
import subprocess

import psycopg
import pytest

SCRIPT = """\\set aid random(1, 1000)
\\set delta random(-50, 50)
BEGIN;
UPDATE accounts SET balance = balance + :delta WHERE id = :aid;
SELECT balance FROM accounts WHERE id = :aid;
INSERT INTO history (id, delta) VALUES (:aid, :delta);
END;
"""


@pytest.fixture(scope="module")
def bench_db(server):
    with psycopg.connect(server.dsn(dbname="bench"), autocommit=True) as conn:
        conn.execute("CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance BIGINT)")
        conn.execute("INSERT INTO accounts SELECT range, 0 FROM range(1, 1001)")
        conn.execute("CREATE TABLE history (id INTEGER, delta INTEGER)")
    return server


@pytest.mark.parametrize("mode", ["simple", "extended", "prepared"])
def test_pgbench_custom_script(bench_db, tmp_path, mode):
    script = tmp_path / "bench.sql"
    script.write_text(SCRIPT)
    env = {**os.environ, "PGPASSWORD": "postgres", "PGSSLMODE": "require"}
    result = subprocess.run(
        # Two clients may update the same row: the second waits for the first's write
        # turn (tests/test_write_turns.py), so no retries are needed, as on PostgreSQL.
        ["pgbench", "-n", "-M", mode, "-c", "2", "-t", "100",
         "-f", str(script),
         "-h", "127.0.0.1", "-p", str(bench_db.port), "-U", "postgres", "bench"],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    processed = re.search(r"number of transactions actually processed: (\d+)/(\d+)", result.stdout)
    assert processed and processed.group(1) == processed.group(2) == "200", result.stdout
    failed = re.search(r"number of failed transactions: (\d+)", result.stdout)
    assert failed is None or failed.group(1) == "0", result.stdout
    with psycopg.connect(bench_db.dsn(dbname="bench")) as conn:
        # Every committed transaction left one history row and moved the balance by its delta.
        history, total = conn.execute("SELECT count(*), coalesce(sum(delta), 0) FROM history").fetchone()
        (balance,) = conn.execute("SELECT sum(balance) FROM accounts").fetchone()
        assert balance == total
        assert history % 200 == 0 and history > 0


def _pgbench(server, *args: str) -> str:
    env = {**os.environ, "PGPASSWORD": "postgres", "PGSSLMODE": "require"}
    result = subprocess.run(
        ["pgbench", *args, "-h", "127.0.0.1", "-p", str(server.port), "-U", "postgres",
         "pgbench_builtin"], env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def test_pgbench_initialise_then_select_only_and_tpcb_like(server):
    """pgbench's own schema (-i: DROP of several tables, CREATE ... WITH (fillfactor),
    COPY FROM STDIN, VACUUM, primary keys), then its builtin scripts: nothing fails, and
    the tpcb-like invariants hold afterwards."""
    output = _pgbench(server, "-i", "-s", "10")
    assert "done in" in output
    with psycopg.connect(server.dsn(dbname="pgbench_builtin")) as conn:
        assert conn.execute("select count(*) from pgbench_accounts").fetchone() == (1_000_000,)
    for script in (["-S"], ["-b", "tpcb-like", "--max-tries", "50"]):
        output = _pgbench(server, *script, "-c", "2", "-T", "10")
        assert re.search(r"number of failed transactions: 0 ", output), output
        processed = re.search(r"number of transactions actually processed: (\d+)", output)
        assert processed and int(processed.group(1)) > 0, output
    with psycopg.connect(server.dsn(dbname="pgbench_builtin")) as conn:
        accounts, tellers, branches, history = conn.execute(
            "select (select sum(abalance) from pgbench_accounts), "
            "(select sum(tbalance) from pgbench_tellers), "
            "(select sum(bbalance) from pgbench_branches), "
            "(select sum(delta) from pgbench_history)").fetchone()
        assert accounts == tellers == branches == history
