"""`pgbench -i` bulk-load time: duckgres-trio (control plane, standalone) vs PostgreSQL 15.

Run: .venv/bin/python ci/bench/pgbench_init.py --scale 10 --rounds 3
`pgbench -i` is the first thing most people point at a PostgreSQL-compatible server, so
its wall time is what a new user sees first: DDL, a bulk COPY of 100000 * scale rows,
VACUUM and primary keys. Starts a throwaway PostgreSQL 15 cluster and one duckgres-trio
server per --modes entry (plaintext + trust on loopback, like the cluster), then each
round runs `pgbench -i -s SCALE` into a fresh database on each system in the same order
(PostgreSQL first). A new database name gives duckgres-trio a new DuckDB file; PostgreSQL
gets CREATE DATABASE. Row counts are checked after every load so a silent failure cannot
look fast. Prints a markdown table of medians and the ratio to PostgreSQL.
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.conftest import ServerProcess  # noqa: E402
from tests.support.pg15 import running_pg15  # noqa: E402

PG = "postgresql-15"
ROWS_PER_SCALE = 100_000


def pgbench_init(dsn_args: list[str], scale: int) -> float:
    """Wall seconds of `pgbench -i -s scale`; raises with pgbench's stderr on failure."""
    started = time.perf_counter()
    result = subprocess.run(
        ["pgbench", "-i", "-s", str(scale), *dsn_args],
        capture_output=True, text=True, timeout=600 + 120 * scale,
        env={**os.environ, "PGSSLMODE": "disable"},
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"pgbench -i failed ({result.returncode}):\n{result.stderr}")
    return elapsed


def check_accounts(dsn: str, dbname: str, scale: int) -> None:
    with psycopg.connect(dsn, dbname=dbname, autocommit=True) as conn:
        count = conn.execute("select count(*) from pgbench_accounts").fetchone()[0]
    if count != ROWS_PER_SCALE * scale:
        raise RuntimeError(f"pgbench_accounts has {count} rows, expected "
                           f"{ROWS_PER_SCALE * scale} ({dsn} dbname={dbname})")


def start_duckgres(data_dir: Path, mode: str) -> ServerProcess:
    return ServerProcess(data_dir, ["--mode", mode, "--tls", "disabled",
                                    "--auth-method", "trust"]).start()


def print_table(results: dict[str, list[float]], scale: int, rounds: int) -> None:
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    command = " ".join([".venv/bin/python", "ci/bench/pgbench_init.py", *sys.argv[1:]])
    print(f"`pgbench -i -s {scale}`, {rounds} rounds: `{command}` ({now})\n")
    print("| system | median s | min s | ratio to PostgreSQL |")
    print("|---|---:|---:|---:|")
    pg_median = statistics.median(results[PG])
    for name, values in results.items():
        median = statistics.median(values)
        print(f"| {name} | {median:.2f} | {min(values):.2f} | {median / pg_median:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--modes", default="controlplane,standalone")
    args = parser.parse_args()
    modes = [m for m in args.modes.split(",") if m]
    results: dict[str, list[float]] = {PG: [], **{f"duckgres-trio {m}": [] for m in modes}}
    with tempfile.TemporaryDirectory() as tmp, running_pg15() as pg_dsn:
        pg = dict(part.split("=", 1) for part in pg_dsn.split())
        servers: dict[str, ServerProcess] = {}
        try:
            for mode in modes:
                servers[mode] = start_duckgres(Path(tmp) / mode, mode)
            for n in range(args.rounds):
                dbname = f"pgbench_init_{n}"
                with psycopg.connect(pg_dsn, autocommit=True) as conn:
                    conn.execute(f"CREATE DATABASE {dbname}")
                results[PG].append(pgbench_init(
                    ["-h", pg["host"], "-p", pg["port"], "-U", pg["user"], dbname], args.scale))
                check_accounts(pg_dsn, dbname, args.scale)
                for mode, server in servers.items():
                    dsn_args = ["-h", "127.0.0.1", "-p", str(server.port), "-U", "postgres",
                                dbname]
                    try:
                        elapsed = pgbench_init(dsn_args, args.scale)
                    except RuntimeError:
                        print(server.log()[-5000:], file=sys.stderr)
                        raise
                    check_accounts(server.dsn(sslmode="disable"), dbname, args.scale)
                    results[f"duckgres-trio {mode}"].append(elapsed)
        finally:
            for server in servers.values():
                server.stop()
    print_table(results, args.scale, args.rounds)


if __name__ == "__main__":
    main()
