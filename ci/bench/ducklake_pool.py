"""DuckLake storage (issue 20): one lake database served by 1 vs 2 workers, and TPC-H on
a lake vs on a DuckDB file.

Run: PYTHONPATH=python .venv/bin/python ci/bench/ducklake_pool.py [--seconds 20]
     [--rounds 3] [--scale 1] [--pgbench-scale 10]

- pgbench -S -M prepared -c 8 -j 2 on one lake database: two servers (control plane,
  plaintext + trust) on the same catalog and data path, one with
  max_workers_per_database 1 and one with 2, measured alternately (A/B/A/B), TPS
  medians. The lake is made once by pgbench -i through the first.
- TPC-H (ci/bench/tpch, tpchgen-cli data as harness_tpch makes it) through psql on a
  server with storage ducklake and one with DuckDB files, loaded the same way (DuckDB's
  COPY FROM 'file', then the primary keys), each query alternately on both, medians of
  psql's \\timing; answers compared between the two.

The catalog is a throwaway PostgreSQL 15 (tests/support/pg15.py). Prints a Markdown
table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness_tpch as tpch  # noqa: E402
from pgbench_lookup import pgbench_tps  # noqa: E402

from tests.conftest import ServerProcess  # noqa: E402
from tests.support.pg15 import pg15_cluster  # noqa: E402

CACHE = ROOT / ".bench-data"
COMMON = ["--mode", "controlplane", "--tls", "disabled", "--auth-method", "trust",
          "--file-access", "all", "--metrics-address", "", "--min-workers", "2",
          "--max-workers", "4", "--worker-idle-timeout", "0"]


class Server:
    """A duckgres-trio server and how psql / pgbench reach one of its databases."""

    def __init__(self, name: str, process: ServerProcess) -> None:
        self.name, self.process = name, process

    def conninfo(self, dbname: str) -> str:
        return f"host=127.0.0.1 port={self.process.port} user=postgres dbname={dbname} " \
               "sslmode=disable"

    def pgbench_args(self, dbname: str) -> list[str]:
        return ["-h", "127.0.0.1", "-p", str(self.process.port), "-U", "postgres", dbname]


def _start(stack: contextlib.ExitStack, name: str, root: Path, args: list[str]) -> Server:
    process = ServerProcess(root / name, [*COMMON, *args]).start()
    stack.callback(process.stop)
    return Server(name, process)


def _lake_args(catalog: str, path: Path, workers: int) -> list[str]:
    return ["--storage", "ducklake", "--ducklake-catalog", catalog, "--ducklake-data-path",
            str(path), "--max-workers-per-database", str(workers)]


def pgbench_select_only(stack, root: Path, catalog: str, args) -> dict[str, list[float]]:
    servers = {n: _start(stack, f"pgbench{n}", root, _lake_args(catalog, root / "lake", n))
               for n in (1, 2)}
    started = time.perf_counter()
    subprocess.run(["pgbench", "-i", "-q", "-s", str(args.pgbench_scale),
                    *servers[1].pgbench_args("bench")], check=True, capture_output=True,
                   text=True, timeout=1800)
    print(f"pgbench -i -s {args.pgbench_scale} on the lake: "
          f"{time.perf_counter() - started:.1f} s", flush=True)
    tps: dict[str, list[float]] = {"1 worker": [], "2 workers": []}
    for _ in range(args.rounds):
        for n, label in ((1, "1 worker"), (2, "2 workers")):
            tps[label].append(pgbench_tps(servers[n].pgbench_args("bench"), "prepared",
                                          args.seconds, None, clients=8, extra=("-S",)))
            print(f"  {label}: {tps[label][-1]:.0f} TPS", flush=True)
    for server in servers.values():
        server.process.stop()
    return tps


def _load(server: Server, data: Path) -> tuple[float, list[str]]:
    """Load TPC-H as harness_tpch does; statements the server refuses (a lake's primary
    keys, say) are listed, not fatal."""
    refused = []
    started = time.perf_counter()
    with psycopg.connect(server.conninfo(tpch.DB), autocommit=True) as conn:
        for sql in tpch.duckdb_load(data):
            try:
                conn.execute(sql)
            except psycopg.Error as exc:
                refused.append(f"{sql[:40]}...: {str(exc).splitlines()[0]}")
    return time.perf_counter() - started, refused


def tpch_lake_vs_file(stack, root: Path, catalog: str, args) -> dict:
    data = tpch.generate(args.scale, CACHE)
    servers = {"ducklake": _start(stack, "tpch-lake", root,
                                  _lake_args(catalog, root / "tpch-lake-data", 1)),
               "duckdb file": _start(stack, "tpch-file", root, [])}
    loads = {}
    for name, server in servers.items():
        seconds, refused = _load(server, data)
        loads[name] = (seconds, refused)
        print(f"load {name}: {seconds:.1f} s; refused: {refused}", flush=True)
    results: dict[str, dict[str, list[float] | str]] = {}
    answers: dict[tuple[str, str], list[tuple]] = {}
    for query in sorted(tpch.TPCH.glob("q[0-9][0-9].sql")):
        sql = "\n".join(tpch.statements(query))
        row = results[query.stem] = {name: [] for name in servers}
        for _ in range(args.rounds):
            for name, server in servers.items():
                if isinstance(row[name], str):
                    continue
                try:
                    seconds, output = tpch.psql_query(server, sql, args.query_timeout)
                except Exception as exc:  # noqa: BLE001 - reported in the table
                    row[name] = "timeout" if isinstance(exc, tpch.Timeout) else \
                        "error: " + str(exc).splitlines()[0][:60]
                    continue
                row[name].append(seconds)
                answers.setdefault((query.stem, name), tpch.normalise(output))
        same = tpch.same_answer(answers.get((query.stem, "ducklake"), []),
                                answers.get((query.stem, "duckdb file"), [None]))
        row["same"] = same
        print(f"  {query.stem}: " + ", ".join(
            f"{n} {_cell(row[n])}" for n in servers) + ("" if same else " (answers differ)"),
            flush=True)
    return {"loads": loads, "queries": results}


def _cell(value) -> str:
    if isinstance(value, str):
        return value
    return f"{statistics.median(value):.3f}" if value else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scale", type=float, default=1.0, help="TPC-H scale factor")
    parser.add_argument("--pgbench-scale", type=int, default=10)
    parser.add_argument("--query-timeout", type=float, default=300.0)
    parser.add_argument("--skip", choices=("pgbench", "tpch"), action="append", default=[])
    parser.add_argument("--workdir", help="keep servers' data and logs here (default: a "
                        "temporary directory, removed)")
    args = parser.parse_args()
    workdir = (contextlib.nullcontext(args.workdir) if args.workdir
               else tempfile.TemporaryDirectory(prefix="ducklake-bench-"))
    with workdir as tmp, \
            pg15_cluster() as cluster, contextlib.ExitStack() as stack:
        root = Path(tmp)
        if "pgbench" not in args.skip:
            tps = pgbench_select_only(stack, root, cluster.dsn, args)
            print(f"\n| pgbench -S -M prepared -c 8 -j 2 -T {args.seconds}, one lake database "
                  f"(-s {args.pgbench_scale}) | TPS (median of {args.rounds}) |\n|---|---|")
            for label, samples in tps.items():
                print(f"| {label} | {statistics.median(samples):.0f} |")
            print(f"\n2 workers / 1 worker: "
                  f"{statistics.median(tps['2 workers']) / statistics.median(tps['1 worker']):.2f}x\n")
        if "tpch" not in args.skip:
            result = tpch_lake_vs_file(stack, root, cluster.dsn, args)
            print(f"\n| TPC-H SF{args.scale:g} query | ducklake (s) | DuckDB file (s) | "
                  "file / lake | same answer |\n|---|---|---|---|---|")
            total = {"ducklake": 0.0, "duckdb file": 0.0}
            for query, row in result["queries"].items():
                lake, file = row["ducklake"], row["duckdb file"]
                ratio = (f"{statistics.median(file) / statistics.median(lake):.2f}"
                         if isinstance(lake, list) and isinstance(file, list) and lake and file
                         else "-")
                for name in total:
                    if isinstance(row[name], list) and row[name]:
                        total[name] += statistics.median(row[name])
                print(f"| {query} | {_cell(lake)} | {_cell(file)} | {ratio} | "
                      f"{'yes' if row['same'] else 'no'} |")
            print(f"| sum of medians | {total['ducklake']:.2f} | {total['duckdb file']:.2f} | "
                  f"{total['duckdb file'] / max(total['ducklake'], 1e-9):.2f} | |")
            for name, (seconds, refused) in result["loads"].items():
                print(f"\nload {name}: {seconds:.1f} s" + (f"; refused: {refused}" if refused
                                                          else ""))


if __name__ == "__main__":
    main()
