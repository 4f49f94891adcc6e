"""Flight SQL ingress vs pgwire: SELECT of N rows (int8, float8, text) through the
control plane, side by side in one run.

Run: .venv/bin/python ci/bench/flight_ingress.py [--rows 10000000] [--rounds 3]
Starts a throwaway duckgres-trio in control-plane mode with flight_address, makes a
table of N rows, then reads it whole, alternating per round:

- ADBC Flight SQL (adbc_driver_flightsql) into an Arrow table;
- psycopg, binary results (rows into Python tuples, fetchmany(100k) as
  ci/bench/streaming.py);
- psql ``\\copy (SELECT ...) TO '/dev/null'`` (COPY text, libpq);
- the worker's in-process Arrow rate: the same SELECT with DuckDB's Python API on a
  copy of the database file (what the worker can produce, with no wire at all).

Prints rows/s (median of the rounds) and the ratios. Timings on a shared machine are
noisy: only the ratios, measured in the same run, mean much.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import adbc_driver_flightsql as adbc_flight  # noqa: E402
import adbc_driver_flightsql.dbapi as flight_dbapi  # noqa: E402
import psycopg  # noqa: E402

from tests.conftest import ServerProcess, free_port  # noqa: E402

QUERY = "SELECT i, f, s FROM bench"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        server = ServerProcess(Path(tmp) / "data", [
            "--mode", "controlplane", "--metrics-address", "",
            "--flight-address", f"127.0.0.1:{port}"]).start()
        try:
            run(server, port, args)
        finally:
            server.stop()


def run(server: ServerProcess, port: int, args) -> None:
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE bench AS SELECT i::int8 AS i, i * 0.5 AS f, "
                     f"'row ' || i AS s FROM generate_series(1, {args.rows}) t(i)")
        conn.execute("CHECKPOINT")
    options = {"username": "postgres", "password": "postgres",
               adbc_flight.DatabaseOptions.TLS_ROOT_CERTS.value:
                   (server.data_dir / "server.crt").read_text(),
               adbc_flight.DatabaseOptions.TLS_OVERRIDE_HOSTNAME.value: "localhost",
               adbc_flight.DatabaseOptions.RPC_CALL_HEADER_PREFIX.value + "database":
                   "postgres"}

    def flight() -> int:
        with flight_dbapi.connect(f"grpc+tls://127.0.0.1:{port}", db_kwargs=options,
                                  autocommit=True) as conn, conn.cursor() as cur:
            cur.execute(QUERY)
            return cur.fetch_arrow_table().num_rows

    def psycopg_binary() -> int:
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            with conn.cursor(binary=True) as cur:
                cur.execute(QUERY)
                rows = 0
                while batch := cur.fetchmany(100_000):  # Python tuples, then dropped
                    rows += len(batch)
                return rows

    def psql_copy() -> int:
        env = {**os.environ, "PGPASSWORD": "postgres", "PGSSLMODE": "require"}
        out = subprocess.run(
            ["psql", "-h", "127.0.0.1", "-p", str(server.port), "-U", "postgres", "-d",
             "postgres", "-Atc", f"\\copy ({QUERY}) TO '/dev/null'"],
            env=env, check=True, capture_output=True, text=True).stdout
        return int(out.strip().split()[-1])

    def in_process() -> int:
        import duckdb

        copy = server.data_dir.parent / "copy.duckdb"
        if not copy.exists():
            shutil.copy(server.data_dir / "postgres.duckdb", copy)
        with duckdb.connect(str(copy), read_only=True) as db:
            return db.execute(QUERY).to_arrow_table().num_rows

    ways = {"flight_adbc": flight, "psycopg_binary": psycopg_binary, "psql_copy": psql_copy}
    if _has_duckdb():
        ways["worker_in_process_arrow"] = in_process
    if shutil.which("psql") is None:
        del ways["psql_copy"]
    times: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(args.rounds):
        for name, way in ways.items():
            started = time.perf_counter()
            rows = way()
            times[name].append(time.perf_counter() - started)
            assert rows == args.rows, (name, rows)
    rates = {name: args.rows / statistics.median(t) for name, t in times.items()}
    print(f"SELECT of {args.rows:,} rows (int8, float8, text), median of {args.rounds} rounds")
    for name, rate in rates.items():
        print(f"  {name:26s} {rate / 1e6:8.2f} M rows/s  ({statistics.median(times[name]):.2f} s)")
    print(f"  flight / psycopg binary: {rates['flight_adbc'] / rates['psycopg_binary']:.1f}x")
    if "psql_copy" in rates:
        print(f"  flight / psql COPY:      {rates['flight_adbc'] / rates['psql_copy']:.1f}x")
    if "worker_in_process_arrow" in rates:
        print(f"  in-process / flight:     "
              f"{rates['worker_in_process_arrow'] / rates['flight_adbc']:.1f}x")


def _has_duckdb() -> bool:
    try:
        import duckdb  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    main()
