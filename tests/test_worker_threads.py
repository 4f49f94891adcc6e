"""DuckDB's thread count chosen per statement (engine/threads.py): the policy with a
recorded ``apply`` and a manual clock, on a real worker, and in a standalone server."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

from duckgres_trio.engine import threads as t
from duckgres_trio.worker import protocol as p
from tests.support.worker import running_worker
from tests.test_worker import session

# the policy, a worker process and a server started in each mode by name:
# deselected in the standalone pass (tests/conftest.py)
pytestmark = pytest.mark.controlplane_only


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def burn(seconds: float) -> None:
    """Spend CPU on this thread (a statement's own work)."""
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


@pytest.fixture
def governor():
    applied: list[int] = []
    clock = Clock()
    return t.Threads(applied.append, 4, clock), applied, clock


def run(governor, key: str, long: bool = False) -> None:
    threads, _, clock = governor
    with threads.running(key):
        if long:
            burn(t.SHORT_SECONDS * 2)
            clock.now += 0.01


def test_unknown_statements_run_wide_known_short_ones_narrow(governor):
    threads, applied, _ = governor
    run(governor, "SELECT $1")
    assert applied == [4]
    run(governor, "SELECT $1")
    assert applied == [4, 1] and threads.current == 1
    run(governor, "SELECT $1")
    assert applied == [4, 1]  # no SET when the count is already right


def test_a_long_statement_keeps_the_threads_for_a_while(governor):
    threads, applied, clock = governor
    run(governor, "lookup")
    run(governor, "lookup")
    run(governor, "tpch", long=True)
    run(governor, "tpch", long=True)  # known long: stays wide
    assert applied == [4, 1, 4]
    clock.now += t.NARROW_AFTER_SECONDS / 2
    run(governor, "lookup")
    assert threads.current == 4  # too soon after the long one
    clock.now += t.NARROW_AFTER_SECONDS
    run(governor, "lookup")
    assert applied == [4, 1, 4, 1]


def test_no_narrowing_while_a_long_statement_runs(governor):
    threads, applied, clock = governor
    run(governor, "lookup")
    run(governor, "lookup")
    with threads.running("tpch"):
        clock.now += 10
        run(governor, "lookup")
        assert threads.current == 4
    assert applied == [4, 1, 4]


def test_a_statement_that_became_long_runs_wide_next_time(governor):
    threads, applied, _ = governor
    run(governor, "q")
    run(governor, "q", long=True)  # ran narrow, took long
    assert threads.current == 1
    run(governor, "q")
    assert threads.current == 4


def test_set_wide_and_a_failing_apply(governor, caplog):
    threads, applied, _ = governor
    run(governor, "q", long=True)
    threads.set_wide(2)
    assert applied == [4, 2] and threads.wide == 2

    def refuse(n: int) -> None:
        raise RuntimeError("no")

    broken = t.Threads(refuse, 2)
    for _ in range(3):
        with broken.running("x"):
            pass  # the statement still runs
    assert broken.current is None and caplog.text.count("could not set DuckDB threads") == 1


def test_keys_are_bounded(governor, monkeypatch):
    monkeypatch.setattr(t, "MAX_KEYS", 8)
    threads, _, _ = governor
    for n in range(50):
        run(governor, f"k{n}")
    assert len(threads._short) <= 8


@pytest.mark.parametrize(("sql", "key"), [
    ("SELECT * FROM t1 WHERE id = 42", "SELECT * FROM t1 WHERE id = ?"),
    ("SELECT 'it''s', -1.5e3, $2, x2", "SELECT ?, -?, $2, x2"),
    ("SELECT 1", "SELECT ?"),
])
def test_shape_blanks_literals_only(sql, key):
    assert t.shape(sql) == key


@pytest.fixture(scope="module")
def worker():
    yield from running_worker()


def test_a_worker_runs_short_statements_on_one_thread(worker):
    """A fresh worker (the control plane's share of threads: 3): the first run of a
    statement is wide, its next runs narrow once no long statement is about."""
    worker.action("CreateSession", {"user": "tester", "threads": 3})
    _, ch = session(worker)
    sql = bytes([p.ROWS_YES]) + b"SELECT current_setting('threads')::INT AS n"

    def threads_now(statement: bytes = sql) -> int:
        ch.send(p.EXEC, statement)
        return ch.result()[1].column(0)[0].as_py()

    assert threads_now() == 3
    deadline = time.monotonic() + 5
    while (seen := threads_now()) != 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert seen == 1
    assert threads_now(sql + b" WHERE true") == 3  # a statement not seen before


#: DuckDB's thread count when the statement is planned: at each execution, as DuckDB
#: plans a statement that reads a table again each time (docs/architecture.md)
THREADS = "current_setting('threads')::INT"


def test_a_standalone_database_narrows_lookups_but_never_a_long_query(start_server):
    """Standalone: a database's sessions share one instance. A repeated lookup runs on
    one thread; an aggregate in another session runs on all (3 here), and the
    lookups running beside it do not narrow it."""
    server = start_server("--mode", "standalone", "--duckdb-threads", "3",
                          "--tls", "disabled", "--auth-method", "trust")
    dsn = server.dsn(sslmode="disable")
    with psycopg.connect(dsn, autocommit=True) as a, psycopg.connect(dsn, autocommit=True) as b:
        a.execute("CREATE TABLE lookup (id INTEGER PRIMARY KEY, v INTEGER)")
        a.execute("INSERT INTO lookup SELECT range, range FROM range(1000)")

        def lookup() -> int:
            return a.execute(f"SELECT {THREADS} AS n, v FROM lookup WHERE id = %s", (7,),
                             prepare=True).fetchone()[0]

        assert lookup() == 3  # not known to be short yet
        deadline = time.monotonic() + 5
        while (seen := lookup()) != 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert seen == 1

        ran: dict[str, object] = {}

        def aggregate() -> None:
            ran["started"] = time.monotonic()
            ran["threads"] = b.execute(
                f"SELECT {THREADS} AS n, count(DISTINCT x % 1000003) AS d "
                "FROM range(12000000) t(x)").fetchone()[0]
            ran["ended"] = time.monotonic()

        beside = threading.Thread(target=aggregate)
        beside.start()
        during = []
        while beside.is_alive():
            during.append((time.monotonic(), lookup()))
        beside.join()
        assert ran["threads"] == 3
        # from shortly after the aggregate was sent (its translation) to its end
        inside = [n for at, n in during if ran["started"] + 0.3 < at < ran["ended"] - 0.05]
        assert ran["ended"] - ran["started"] > 0.5 and inside and set(inside) == {3}, during
        deadline = time.monotonic() + 5
        while (seen := lookup()) != 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert seen == 1  # narrow again once the long one is over


def test_a_worker_given_another_database_sets_threads_on_the_new_one(tmp_path):
    """A fleet worker written off ends its sessions and closes its database
    (``Sessions.deactivate``), then may open another: the thread count is set on the
    new instance (the old one's connection for it was kept, setting the closed
    instance's threads and holding its file open)."""
    from duckgres_trio.worker.session import Sessions

    sessions = Sessions()
    sql = "SELECT current_setting('threads')::INT AS n"
    try:
        for name in ("a", "b"):
            sessions.activate(str(tmp_path / f"{name}.duckdb"), {})
            session = sessions.create("tester", threads=3)  # DuckDB's default: the cores
            assert session.execute(sql, True).first[0].column(0)[0].as_py() == 3
            sessions.deactivate()
    finally:
        sessions.close()
