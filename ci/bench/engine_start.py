"""CPU per execution of engine/statement.start for a prepared statement (issue 22).

Run: .venv/bin/python ci/bench/engine_start.py [--before /path/to/old/checkout] [--runs 3]
No server, no wire: a 100k-row table with a primary key, the lookup
``SELECT id, name, balance FROM lookup WHERE id = $1`` and ``SELECT 1`` prepared once,
then bound and started 1,500 times, 7 times over; prints the median CPU time of the
calling thread per execution. DuckDB runs with ``threads=1`` so its work is on that
thread too, and thread CPU time barely moves with the machine's load. With --before
the same is measured with another checkout's ``python`` directory, alternating runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def measure() -> dict[str, float]:
    from duckgres_trio.engine import statement as st

    with tempfile.TemporaryDirectory() as tmp:
        db = st.open_database(str(Path(tmp) / "start.duckdb"), {"threads": "1"})
        conn = st.connect(db)
        conn.run("CREATE TABLE lookup (id INTEGER PRIMARY KEY, name VARCHAR, balance BIGINT)")
        conn.run("INSERT INTO lookup SELECT range, 'name ' || range, range * 7 "
                 "FROM range(100000)")
        cases = {"pk lookup": (conn.prepare("SELECT id, name, balance FROM lookup "
                                            "WHERE id = $1"), lambda i: [i * 37 % 100000]),
                 "SELECT 1": (conn.prepare("SELECT 1"), lambda i: [])}
        times: dict[str, list[float]] = {}
        for statement, _ in cases.values():
            st.columns(statement)
        for _ in range(7):
            for name, (statement, params) in cases.items():
                started = time.thread_time()
                for i in range(1500):
                    statement.bind(params(i))
                    st.start(statement, True)
                times.setdefault(name, []).append((time.thread_time() - started) / 1500 * 1e6)
        for statement, _ in cases.values():
            statement.close()
        conn.close()
        db.close()
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    if os.environ.get("ENGINE_START_CHILD"):
        print(json.dumps(measure()))
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    trees = {"after": ROOT} if args.before is None else {"before": args.before, "after": ROOT}
    found: dict[str, dict[str, list[float]]] = {}
    for _ in range(args.runs):
        for name, tree in trees.items():
            env = {**os.environ, "ENGINE_START_CHILD": "1", "PYTHONPATH": str(tree / "python")}
            out = subprocess.run([sys.executable, __file__], env=env, check=True,
                                 capture_output=True, text=True).stdout
            for statement, us in json.loads(out).items():
                found.setdefault(statement, {}).setdefault(name, []).append(us)
    for statement, by_tree in found.items():
        for name, values in by_tree.items():
            print(f"{statement:10} {name:7} " + " / ".join(f"{v:.0f}" for v in values) + " us")


if __name__ == "__main__":
    main()
