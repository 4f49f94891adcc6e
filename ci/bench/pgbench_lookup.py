"""pgbench primary-key lookups: duckgres-trio vs PostgreSQL 15 vs the in-process limit.

Run: .venv/bin/python ci/bench/pgbench_lookup.py [--seconds 10] [--rounds 2]
Loads a 100k-row table into duckgres-trio (--mode standalone, plaintext + trust, like the
throwaway PostgreSQL cluster it is compared with) and PostgreSQL 15, runs
`pgbench -n -c 1 -T <seconds>` with a one-statement lookup script under -M simple,
extended and prepared, alternating servers, and measures the same lookup in a tight
in-process DuckDB loop (prepared once through the engine's C API binding: the limit
no wire protocol can beat). Prints TPS medians and ratios.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from duckgres_trio.engine import duckdb_capi as capi  # noqa: E402
from tests.conftest import ServerProcess  # noqa: E402
from tests.support.pg15 import running_pg15  # noqa: E402

ROWS = 100_000
SCRIPT = "\\set id random(0, 99999)\nSELECT id, name, balance FROM lookup WHERE id = :id;\n"
SETUP = [
    "CREATE TABLE lookup (id INTEGER PRIMARY KEY, name VARCHAR, balance BIGINT)",
    f"INSERT INTO lookup SELECT range, 'name ' || range, range * 7 FROM range({ROWS})",
]
PG_SETUP = [
    "CREATE TABLE lookup (id INTEGER PRIMARY KEY, name VARCHAR, balance BIGINT)",
    f"INSERT INTO lookup SELECT g, 'name ' || g, g * 7 FROM generate_series(0, {ROWS - 1}) g",
    "VACUUM ANALYZE lookup",
]


def pgbench_tps(dsn_args: list[str], mode: str, seconds: int, script: Path | None,
                clients: int = 1, extra: tuple[str, ...] = ()) -> float:
    """TPS of one pgbench run; script None with extra ("-S",) runs a builtin script
    (ci/bench/harness.py also passes "-C" for its connection-rate workload)."""
    script_args = ["-f", str(script)] if script is not None else []
    result = subprocess.run(
        ["pgbench", "-n", "-c", str(clients), "-j", str(min(clients, 2)), "-T", str(seconds),
         "-M", mode, *script_args, *extra, *dsn_args],
        capture_output=True, text=True, timeout=seconds + 120,
        env={**os.environ, "PGSSLMODE": "disable"},
    )
    match = re.search(r"tps = ([\d.]+)", result.stdout)
    if result.returncode != 0 or not match:
        raise RuntimeError(result.stdout + result.stderr)
    failed = re.search(r"number of failed transactions: (\d+)", result.stdout)
    assert failed is None or failed.group(1) == "0", result.stdout
    return float(match.group(1))


def in_process_tps(seconds: float, setup: list[str] = SETUP,
                   sql: str = "SELECT id, name, balance FROM lookup WHERE id = $1",
                   params=lambda: [random.randrange(ROWS)], rows: int | None = 1) -> float:
    """One-row statements per second through the C API; setup/sql/params are parameters
    so ci/bench/harness.py measures its other one-row workloads with the same loop.
    ``rows``: what each execution must return (None: not checked)."""
    with tempfile.TemporaryDirectory() as tmp:
        db = capi.Database(str(Path(tmp) / "limit.duckdb"), {"arrow_lossless_conversion": "true"})
        con = db.connect()
        for statement in setup:
            con.run(statement)
        lookup = con.prepare(sql)
        count = 0
        deadline = time.perf_counter() + seconds
        started = time.perf_counter()
        while time.perf_counter() < deadline:
            lookup.bind(params())
            result = lookup.execute()
            got = sum(b.num_rows for b in result.fetch(8192))
            assert rows is None or got == rows
            result.close()
            count += 1
        elapsed = time.perf_counter() - started
        lookup.close()
        con.close()
        db.close()
    return count / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    modes = ("simple", "extended", "prepared")
    results: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp, running_pg15() as pg_dsn:
        script = Path(tmp) / "lookup.sql"
        script.write_text(SCRIPT)
        duck = ServerProcess(Path(tmp) / "data", ["--mode", "standalone", "--tls", "disabled",
                                                  "--auth-method", "trust"]).start()
        try:
            with psycopg.connect(duck.dsn(sslmode="disable", dbname="bench"), autocommit=True) as conn:
                for sql in SETUP:
                    conn.execute(sql)
            with psycopg.connect(pg_dsn, autocommit=True) as conn:
                for sql in PG_SETUP:
                    conn.execute(sql)
            pg = dict(part.split("=", 1) for part in pg_dsn.split())
            targets = {
                "duckgres-trio": ["-h", "127.0.0.1", "-p", str(duck.port), "-U", "postgres", "bench"],
                "postgresql-15": ["-h", pg["host"], "-p", pg["port"], "-U", pg["user"], pg["dbname"]],
            }
            for _ in range(args.rounds):
                for mode in modes:
                    for name, dsn_args in targets.items():
                        results.setdefault((name, mode), []).append(
                            pgbench_tps(dsn_args, mode, args.seconds, script))
                results.setdefault(("in-process DuckDB", "-"), []).append(
                    in_process_tps(args.seconds))
        finally:
            duck.stop()
    limit = statistics.median(results[("in-process DuckDB", "-")])
    print(f"{'system':18} {'mode':9} {'tps (median)':>12} {'vs in-process':>14} {'vs PostgreSQL':>14}")
    for (name, mode), values in results.items():
        tps = statistics.median(values)
        pg_tps = statistics.median(results.get(("postgresql-15", mode), [float("nan")]))
        print(f"{name:18} {mode:9} {tps:12.0f} {tps / limit:14.2f} {tps / pg_tps:14.2f}")


if __name__ == "__main__":
    main()
