"""What telling jsonb from json costs a statement, before and after a change (issue 17).

Run: .venv/bin/python ci/bench/jsonb_typing.py --before /path/to/old/checkout
     [--before label=/another/checkout ...] [--count 200] [--rounds 3]
Starts duckgres-trio in standalone and control-plane mode from this checkout and from
each --before checkout (its ``python`` directory on PYTHONPATH; it needs its own
compiled ``_native``), makes a table with a jsonb column, a view over it and a few
unrelated tables, then, round by round and alternating the servers, times ``count``
executions of each statement over one connection in the simple protocol (each one
prepared anew by the server: no per-statement memo helps) and, for the jsonb column,
in the extended protocol prepared once; and, each time after a DDL statement (a new
catalog state: what was looked up is looked up again), with and without JSON. Prints the median milliseconds per statement
of each server; the ratios between servers measured in the same run are what carries
on a shared machine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.conftest import ServerProcess  # noqa: E402

SETUP = [
    "create table t (id int, j jsonb, k json, s text)",
    "insert into t select i, ('{\"a\": ' || i || '}')::jsonb, '[1]', 'x' "
    "from generate_series(1, 10) g(i)",
    "create view tv as select id, j as vj from t",
    *(f"create table other{i} (a int, b text, c jsonb)" for i in range(20)),
]
#: name -> (SQL, prepared once: the extended protocol)
STATEMENTS = {
    "select 1": ("select 1", False),
    "select id from t (no json)": ("select id from t", False),
    "select j from t": ("select j from t", False),
    "select j, k from t (json + jsonb)": ("select j, k from t", False),
    "select vj from tv (a view)": ("select vj from tv", False),
    "select j from t, prepared": ("select j from t", True),
    "DDL; select id from t": ("comment on table other0 is 'x'; select id from t", False),
    "DDL; select j from t": ("comment on table other0 is 'x'; select j from t", False),
}
MODES = ("standalone", "controlplane")


def _time(conn: psycopg.Connection, sql: str, prepared: bool, count: int) -> float:
    """Milliseconds per execution of ``sql``, ``count`` times."""
    cur = conn.cursor()
    started = time.perf_counter()
    for _ in range(count):
        cur.execute(sql, prepare=prepared)
        while True:
            if cur.description is not None:
                cur.fetchall()
            if not cur.nextset():
                break
    return (time.perf_counter() - started) * 1000 / count


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--before", action="append", default=[],
                        help="[label=]another checkout to compare with")
    args = parser.parse_args()
    trees = {}
    for spec in args.before:
        label, _, path = spec.rpartition("=")
        trees[label or "before"] = Path(path)
    trees["after"] = ROOT
    times: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        servers, conns = {}, {}
        try:
            for tree_name, tree in trees.items():
                for mode in MODES:
                    key = f"{mode} {tree_name}"
                    servers[key] = ServerProcess(
                        Path(tmp) / key.replace(" ", "-"),
                        ["--mode", mode, "--tls", "disabled", "--auth-method", "trust"],
                        env={"PYTHONPATH": str(Path(tree) / "python")}).start()
                    conn = conns[key] = psycopg.connect(
                        servers[key].dsn(sslmode="disable", dbname="bench"), autocommit=True)
                    for sql in SETUP:
                        conn.execute(sql)
                    for sql, prepared in STATEMENTS.values():  # warm up
                        _time(conn, sql, prepared, 3)
            for _ in range(args.rounds):
                for name, (sql, prepared) in STATEMENTS.items():
                    for key, conn in conns.items():
                        times.setdefault((name, key), []).append(
                            _time(conn, sql, prepared, args.count))
        finally:
            for conn in conns.values():
                conn.close()
            for server in servers.values():
                server.stop()
    print(f"| statement | {' | '.join(conns)} |")
    print("|---|" + "---:|" * len(conns))
    for name in STATEMENTS:
        cells = [f"{statistics.median(times[name, key]):.2f}" for key in conns]
        print(f"| {name} | {' | '.join(cells)} |")


if __name__ == "__main__":
    main()
