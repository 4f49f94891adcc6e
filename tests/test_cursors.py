"""SQL cursors: DECLARE, FETCH, MOVE, CLOSE, and psycopg's named cursors on them.

The statements' rows and command tags are compared with PostgreSQL 15's; a named
cursor over a table far larger than a batch is read to the end while the server's
memory (control plane and workers) stays bounded.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.support.pg15 import pg15_dsn  # noqa: F401 - pytest fixture
from tests.support.script import run_script

SCRIPT = [
    "begin",
    "declare c cursor for select g from generate_series(1, 10) as t(g) order by g",
    "fetch 3 from c",
    "fetch next from c",
    "move 2 in c",
    "fetch forward 2 from c",
    "fetch all from c",
    "fetch c",
    "close c",
    "declare d no scroll cursor for select 'x' as label",
    "close all",
    "commit",
    "declare h cursor with hold for select g from generate_series(1, 4) as t(g) order by g",
    "fetch 1 from h",
    "begin",
    "fetch 1 from h",
    "commit",
    "fetch all from h",
    "close h",
]


def test_cursor_statements_answer_as_postgresql_does(server, pg15_dsn):  # noqa: F811
    assert run_script(server.dsn(), SCRIPT) == run_script(pg15_dsn, SCRIPT)


@pytest.mark.parametrize("script, sqlstate", [
    (["declare c cursor for select 1"], "25P01"),  # outside a transaction block
    (["begin", "fetch 1 from nope"], "34000"),
    (["begin", "declare c cursor for select 1", "fetch backward 1 from c"], "0A000"),
    (["begin", "declare c scroll cursor for select 1"], "0A000"),
    (["begin", "declare c cursor for select 1", "declare c cursor for select 2"], "42P03"),
    (["begin", "declare c cursor for select 1", "rollback", "fetch 1 from c"], "34000"),
])
def test_cursor_errors_have_postgresqls_sqlstate_and_the_session_survives(server, script,
                                                                           sqlstate):
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        with pytest.raises(psycopg.Error) as info:
            for sql in script:
                conn.execute(sql)
        assert info.value.sqlstate == sqlstate
        conn.execute("rollback")
        assert conn.execute("select 42").fetchone() == (42,)


def test_named_cursor_with_parameters_and_withhold(server):
    with psycopg.connect(server.dsn()) as conn:
        with conn.cursor(name="params") as cur:
            cur.execute("select g, g * %s as twice from range(%s) t(g) order by g", [2, 1000])
            assert cur.fetchone() == (0, 0)
            assert cur.fetchmany(2) == [(1, 2), (2, 4)]
            assert len(cur.fetchall()) == 997
        conn.commit()
        with conn.cursor(name="held", withhold=True) as cur:
            cur.execute("select 1 as a union all select 2 order by a")
            conn.commit()  # a WITH HOLD cursor outlives its transaction
            assert cur.fetchall() == [(1,), (2,)]


def _rss_kib(pid: int) -> int:
    total = 0
    for child in [pid, *_children(pid)]:
        status = Path(f"/proc/{child}/status")
        if status.exists():
            for line in status.read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = (task / "children").read_text().split()
        for child in map(int, children):
            found += [child, *_children(child)]
    return found


def test_a_named_cursor_streams_a_large_table_in_bounded_memory(start_server):
    """1.5M rows of 200 bytes (300 MB as rows) read through a named cursor, 10,000 at a
    time: the server (control plane and workers together) grows far less than the
    table would take if the cursor's rows were held."""
    server = start_server()
    rows = 1_500_000
    with psycopg.connect(server.dsn()) as conn:
        conn.execute(f"create table big as select range as id, repeat('x', 200) as pad "
                     f"from range({rows})")
        conn.commit()
        before = _rss_kib(server.proc.pid)
        with conn.cursor(name="stream") as cur:
            cur.itersize = 10_000
            cur.execute("select id, pad from big")
            first = next(cur)
            seen, peak = 1, _rss_kib(server.proc.pid)
            for _ in cur:
                seen += 1
                if seen % 100_000 == 0:
                    peak = max(peak, _rss_kib(server.proc.pid))
        assert first[1] == "x" * 200 and seen == rows
    growth_mib = (peak - before) / 1024
    assert growth_mib < 100, f"server grew {growth_mib:.0f} MiB while streaming"
