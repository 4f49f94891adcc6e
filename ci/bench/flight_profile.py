"""A target for profiling the Flight SQL ingress (issue 24): one control-plane server
with ``flight_address``, a table of N rows (int8, decimal, text as
ci/bench/flight_ingress.py makes), then ADBC reads of the whole table in a loop, each
timed. It prints the pids to attach a profiler to, e.g. (docs/benchmarks.md):

    .venv/bin/python ci/bench/flight_profile.py --loops 10 &
    perf record -F 499 -g -p CP,WORKER,CLIENT -o flight.perf -- sleep 8
    .venv/bin/py-spy record --nonblocking -r 200 -p CP -d 8 -f raw -o cp.spy

(the worker is the one printed after the first read: the session's).
"""

from __future__ import annotations

import argparse
import os
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


def children(pid: int) -> str:
    return " ".join(subprocess.run(["pgrep", "-P", str(pid)], capture_output=True,
                                   text=True).stdout.split())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--loops", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        server = ServerProcess(Path(tmp) / "data", [
            "--mode", "controlplane", "--metrics-address", "",
            "--flight-address", f"127.0.0.1:{port}"]).start()
        try:
            with psycopg.connect(server.dsn(), autocommit=True) as conn:
                conn.execute(f"CREATE TABLE bench AS SELECT i::int8 AS i, i * 0.5 AS f, "
                             f"'row ' || i AS s FROM generate_series(1, {args.rows}) t(i)")
                conn.execute("CHECKPOINT")
            options = {"username": "postgres", "password": "postgres",
                       adbc_flight.DatabaseOptions.TLS_ROOT_CERTS.value:
                           (server.data_dir / "server.crt").read_text(),
                       adbc_flight.DatabaseOptions.TLS_OVERRIDE_HOSTNAME.value: "localhost",
                       adbc_flight.DatabaseOptions.RPC_CALL_HEADER_PREFIX.value
                       + "database": "postgres"}
            print(f"control plane {server.proc.pid}, client {os.getpid()}", flush=True)
            for loop in range(args.loops):
                started = time.perf_counter()
                with flight_dbapi.connect(f"grpc+tls://127.0.0.1:{port}", db_kwargs=options,
                                          autocommit=True) as conn, conn.cursor() as cur:
                    cur.execute("SELECT i, f, s FROM bench")
                    assert cur.fetch_arrow_table().num_rows == args.rows
                print(f"read {loop}: {time.perf_counter() - started:.2f} s", flush=True)
                if loop == 0:
                    print(f"workers {children(server.proc.pid)}", flush=True)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
