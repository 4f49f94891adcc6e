"""DuckDB threads on control-plane workers: TPC-H SF1 and one-row statements, one run.

Run: .venv/bin/python ci/bench/analytics_threads.py --before /path/to/old/checkout
     [--rounds 2] [--seconds 5] [--queries 1,6,19]
Compares, side by side and alternating round by round, control-plane servers whose
workers run DuckDB on: one thread for everything (``--before``'s default, cores - 1
here), all cores for everything (``--before`` with ``--duckdb-threads <cores>``), and
this checkout's choice per statement (engine/threads.py); plus this checkout in
standalone mode and the in-process limit (the engine's C API, DuckDB's default
threads; for one-row statements the single loop of ci/bench/pgbench_lookup.py).
Workloads: the 22 TPC-H queries through psql (ci/bench/harness_tpch.py, `\\timing`), and
`pgbench -n -M prepared` with 1 and 8 clients of the primary-key lookup and of
`SELECT 1` (the in-process loop is one loop either way).
TPC-H data: one DuckDB file loaded once (cached in .bench-data/, outside git) and
copied into each server's data directory as database ``tpch``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psycopg

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

import harness_tpch as tpch  # noqa: E402
from pgbench_lookup import SCRIPT as LOOKUP, SETUP, in_process_tps, pgbench_tps  # noqa: E402
from tests.conftest import ServerProcess  # noqa: E402

from duckgres_trio.engine import duckdb_capi as capi  # noqa: E402

CACHE = ROOT / ".bench-data"
SCRIPTS = {"pk lookup": LOOKUP, "SELECT 1": "SELECT 1;\n"}
IN_PROCESS = {"pk lookup": {}, "SELECT 1": {"setup": [], "sql": "SELECT 1", "params": list}}


def tpch_file() -> Path:
    """A DuckDB file with TPC-H SF1 loaded as the harness loads it (built once)."""
    path = CACHE / "tpch-sf1.duckdb"
    if not path.exists():
        data = tpch.generate(1, CACHE)
        partial = path.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        db = capi.Database(str(partial), {"arrow_lossless_conversion": "true"})
        conn = db.connect()
        for sql in tpch.duckdb_load(data):
            conn.run(sql)
        conn.close()
        db.close()
        partial.rename(path)
    return path


def in_process_seconds(conn: capi.Connection, sql: str) -> float:
    started = time.perf_counter()
    statement = conn.prepare(sql)
    result = statement.execute()
    while result.fetch(100_000):
        pass
    elapsed = time.perf_counter() - started
    result.close()
    statement.close()
    return elapsed


class _Psql:
    """What harness_tpch.psql_query needs of a system."""

    def __init__(self, port: int) -> None:
        self.port = port

    def conninfo(self, dbname: str) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={dbname} sslmode=disable"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", type=Path, required=True, help="the old checkout")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--queries", default="", help="comma-separated numbers (default all)")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    wanted = {int(q) for q in args.queries.split(",") if q}
    queries = {q.stem.upper(): "\n".join(tpch.statements(q))
               for q in sorted(tpch.TPCH.glob("q[0-9][0-9].sql"))
               if not wanted or int(q.stem[1:]) in wanted}
    source = tpch_file()
    servers: dict[str, ServerProcess] = {}
    tps: dict[tuple[str, str], list[float]] = {}
    seconds: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        limit_path = Path(tmp) / "limit.duckdb"
        shutil.copy(source, limit_path)
        layouts = {
            "cp, 1 thread (before)": (args.before, "controlplane", []),
            f"cp, {cores} threads (before)": (args.before, "controlplane",
                                               ["--duckdb-threads", str(cores)]),
            "cp, per statement (after)": (ROOT, "controlplane", []),
            "standalone (after)": (ROOT, "standalone", []),
        }
        try:
            for name, (tree, mode, extra) in layouts.items():
                data = Path(tmp) / f"data-{len(servers)}"
                data.mkdir()
                shutil.copy(source, data / "tpch.duckdb")
                server = servers[name] = ServerProcess(
                    data, ["--mode", mode, "--tls", "disabled", "--auth-method", "trust",
                           "--log-level", "warning", *extra],
                    env={"PYTHONPATH": str(Path(tree) / "python")}).start()
                with psycopg.connect(server.dsn(sslmode="disable", dbname="bench"),
                                     autocommit=True) as conn:
                    for sql in SETUP:
                        conn.execute(sql)
            scripts = {}
            for script, text in SCRIPTS.items():
                scripts[script] = Path(tmp) / f"{script.replace(' ', '_')}.sql"
                scripts[script].write_text(text)
            limit_db = capi.Database(str(limit_path), {"arrow_lossless_conversion": "true"})
            limit = limit_db.connect()
            try:
                for _ in range(args.rounds):
                    for script, path in scripts.items():
                        for clients in (1, 8):
                            for name, server in servers.items():
                                dsn = ["-h", "127.0.0.1", "-p", str(server.port),
                                       "-U", "postgres", "bench"]
                                tps.setdefault((f"{script} -c {clients}", name), []).append(
                                    pgbench_tps(dsn, "prepared", args.seconds, path, clients))
                        limit_tps = in_process_tps(args.seconds, **IN_PROCESS[script])
                        for clients in (1, 8):
                            tps.setdefault((f"{script} -c {clients}", "in-process"),
                                           []).append(limit_tps)
                    for query, sql in queries.items():
                        for name, server in servers.items():
                            took, _ = tpch.psql_query(_Psql(server.port), sql, 300)
                            seconds.setdefault((query, name), []).append(took)
                        seconds.setdefault((query, "in-process"), []).append(
                            in_process_seconds(limit, sql))
            finally:
                limit.close()
                limit_db.close()
        finally:
            for server in servers.values():
                server.stop()
    names = [*servers, "in-process"]
    print("| workload | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * len(names))
    for workload in dict.fromkeys(w for w, _ in tps):
        base = statistics.median(tps[(workload, "in-process")])
        cells = [f"{statistics.median(tps[(workload, n)]):.0f} "
                 f"({statistics.median(tps[(workload, n)]) / base:.2f})" for n in names]
        print(f"| {workload} -M prepared, TPS (vs in-process) | " + " | ".join(cells) + " |")
    totals = dict.fromkeys(names, 0.0)
    for query in queries:
        cells = []
        for n in names:
            value = statistics.median(seconds[(query, n)])
            totals[n] += value
            cells.append(f"{value:.3f}")
        print(f"| TPC-H SF1 {query}, s | " + " | ".join(cells) + " |")
    base = totals["in-process"]
    print("| TPC-H total, s (in-process / it) | "
          + " | ".join(f"{totals[n]:.2f} ({base / totals[n]:.2f})" for n in names) + " |")


if __name__ == "__main__":
    main()
