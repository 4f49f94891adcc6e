"""pg_stat_activity, pg_cancel_backend and pg_terminate_backend over the server's own
sessions, in both protocols."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest


def connect(server, app: str) -> psycopg.Connection:
    return psycopg.connect(server.dsn(application_name=app), autocommit=True)


def test_pg_stat_activity_lists_the_sessions(server):
    with connect(server, "watcher") as watcher, connect(server, "other") as other:
        other.execute("select 41 + 1")
        rows = watcher.execute(
            "select pid, datname, usename, application_name, state, query, backend_type "
            "from pg_stat_activity where application_name in ('watcher', 'other') "
            "order by application_name").fetchall()
        assert [(r[3], r[4]) for r in rows] == [("other", "idle"), ("watcher", "active")]
        assert rows[0][0] == other.info.backend_pid
        assert rows[0][1:3] == ("postgres", "postgres") and rows[0][5] == "select 41 + 1"
        assert rows[1][5].startswith("select pid, datname")
        assert {r[6] for r in rows} == {"client backend"}
        # extended protocol, with a parameter
        (pid,) = watcher.execute("select pid from pg_stat_activity where application_name = %s",
                                 ["other"]).fetchone()
        assert pid == other.info.backend_pid


def test_idle_in_transaction_is_shown(server):
    with connect(server, "watcher2") as watcher, connect(server, "txn") as txn:
        txn.execute("begin")
        txn.execute("select 1")
        state, xact_start = watcher.execute(
            "select state, xact_start from pg_stat_activity "
            "where application_name = 'txn'").fetchone()
        assert state == "idle in transaction" and xact_start is not None
        txn.execute("rollback")


def test_secrets_in_query_texts_are_redacted(server):
    with connect(server, "watcher3") as watcher, connect(server, "secretive") as secretive:
        with pytest.raises(psycopg.Error):
            secretive.execute("ALTER USER bob PASSWORD 'hunter2'")
        (query,) = watcher.execute("select query from pg_stat_activity "
                                   "where application_name = 'secretive'").fetchone()
        assert "hunter2" not in query and "<redacted>" in query


def test_pg_cancel_backend_stops_another_sessions_statement(server):
    with connect(server, "canceller") as canceller, connect(server, "victim") as victim:
        errors = []

        def run():
            try:
                victim.execute("select count(*) from range(20000000000)")
            except psycopg.Error as err:
                errors.append(err)

        thread = threading.Thread(target=run)
        thread.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            (active,) = canceller.execute(
                "select count(*) from pg_stat_activity "
                "where application_name = 'victim' and state = 'active'").fetchone()
            if active:
                break
            time.sleep(0.05)
        (done,) = canceller.execute("select pg_cancel_backend(pid) from pg_stat_activity "
                                    "where application_name = 'victim'").fetchone()
        thread.join(10)
        assert done is True and not thread.is_alive()
        assert errors and errors[0].sqlstate == "57014"
        assert victim.execute("select 'still here'").fetchone() == ("still here",)


def test_pg_terminate_backend_ends_another_session(server):
    with connect(server, "terminator") as terminator:
        victim = connect(server, "terminated")
        pid = victim.info.backend_pid
        assert terminator.execute("select pg_terminate_backend(%s)", [pid]).fetchone() == (True,)
        with pytest.raises(psycopg.OperationalError):
            victim.execute("select 1")
        assert terminator.execute("select pg_terminate_backend(2147483000)").fetchone() == (False,)
        (left,) = terminator.execute(
            "select count(*) from pg_stat_activity where pid = %s", [pid]).fetchone()
        assert left == 0


def test_a_running_statement_shows_its_worker_and_progress(server):
    import os
    with connect(server, "observer") as observer, connect(server, "runner") as runner:
        # DuckDB now and then reports no progress for a whole statement (seen on a
        # fresh database and, rarely, later: its estimate, not ours), and on loaded
        # cores what a worker's health check reads of it (every 2 s, within 0.5 s) can
        # come back empty for a whole run: it runs again until progress is seen, for
        # up to two minutes.
        give_up = time.monotonic() + 120
        while True:
            thread = threading.Thread(target=lambda: runner.execute(
                "select count(*) from range(12000000000)"))
            thread.start()
            seen = None
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and thread.is_alive():
                seen = observer.execute(
                    "select state, worker, progress_percent, progress_total_rows, "
                    "progress_stalled from pg_stat_activity "
                    "where application_name = 'runner'").fetchone()
                if seen[0] == "active" and seen[3]:
                    break
                time.sleep(0.2)
            thread.join(60)
            if seen[0] == "active" and seen[3] or time.monotonic() > give_up:
                break
        state, worker, percent, total, stalled = seen
        assert state == "active" and total > 0 and stalled is False
        assert percent is None or 0 <= percent <= 100
        if os.environ.get("DUCKGRES_MODE", "controlplane") == "controlplane":
            assert worker.startswith("w")
        else:
            assert worker is None
