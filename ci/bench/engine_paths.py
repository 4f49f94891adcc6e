"""Per-statement cost of the two ways to drive DuckDB in-process, side by side.

Run: .venv/bin/python ci/bench/engine_paths.py [--executions N] [--runs R]
A primary-key lookup on a 100k-row table, executed N times with different keys, one
row fetched as Arrow; the paths alternate R times and the medians are printed. This is
the number behind using DuckDB's C API (engine/duckdb_capi.py) instead of its Python API.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import duckdb

from duckgres_trio.engine import duckdb_capi as capi

SETUP = ("CREATE TABLE t (id BIGINT PRIMARY KEY, name VARCHAR)",
         "INSERT INTO t SELECT range, 'name' || range FROM range(100000)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--executions", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    warnings.simplefilter("ignore", DeprecationWarning)
    keys = [random.randrange(100000) for _ in range(args.executions)]
    with tempfile.TemporaryDirectory() as tmp:
        db = capi.Database(str(Path(tmp) / "c.duckdb"), {"arrow_lossless_conversion": "true"})
        con = db.connect()
        for sql in SETUP:
            con.run(sql)
        lookup = con.prepare("SELECT * FROM t WHERE id = $1")

        def c_api() -> None:
            for key in keys:
                lookup.bind([key])
                result = lookup.execute()
                assert sum(b.num_rows for b in result.fetch(8192)) == 1
                result.close()

        py = duckdb.connect(str(Path(tmp) / "p.duckdb"))
        for sql in SETUP:
            py.execute(sql)

        def python_arrow() -> None:
            for key in keys:
                assert py.execute("SELECT * FROM t WHERE id = ?", [key]).to_arrow_table().num_rows == 1

        def python_fetchall() -> None:
            for key in keys:
                assert len(py.execute("SELECT * FROM t WHERE id = ?", [key]).fetchall()) == 1

        paths = {"C API (duckdb_capi), prepared once, Arrow": c_api,
                 "Python API execute(...).to_arrow_table()": python_arrow,
                 "Python API execute(...).fetchall()": python_fetchall}
        times: dict[str, list[float]] = {name: [] for name in paths}
        for _ in range(args.runs):
            for name, fn in paths.items():
                started = time.perf_counter()
                fn()
                times[name].append((time.perf_counter() - started) / len(keys) * 1e6)
        lookup.close()
        con.close()
        db.close()
        py.close()
    base = statistics.median(times["C API (duckdb_capi), prepared once, Arrow"])
    print(f"{'path':45} {'median us/stmt':>15} {'ratio':>7}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:45} {median:15.1f} {median / base:7.2f}")


if __name__ == "__main__":
    main()
