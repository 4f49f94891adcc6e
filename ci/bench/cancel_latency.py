"""Cancel latency: CancelRequest sent -> 57014 received, duckgres-trio vs PostgreSQL 15.

Run: .venv/bin/python ci/bench/cancel_latency.py [--samples N]
Starts a throwaway duckgres-trio (standalone) and a throwaway PostgreSQL 15 cluster on
loopback, alternates A/B, prints medians and the worst case for both.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.conftest import ServerProcess  # noqa: E402
from tests.support.pg15 import running_pg15  # noqa: E402

DUCK_QUERY = "SELECT count(*) FROM range(10000000000) a, range(1000) b"
PG_QUERY = "SELECT pg_sleep(100)"


def one_sample(dsn: str, query: str, method: str) -> float:
    with psycopg.connect(dsn, autocommit=True) as conn:
        sent = {}

        def cancel():
            sent["t"] = time.perf_counter()
            getattr(conn, method)()

        timer = threading.Timer(0.3, cancel)
        timer.start()
        try:
            conn.execute(query)
        except psycopg.errors.QueryCanceled:
            done = time.perf_counter()
        else:
            raise AssertionError("query was not cancelled")
        timer.join()
        return done - sent["t"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, running_pg15() as pg_dsn:
        duck = ServerProcess(Path(tmp) / "data").start()
        try:
            duck_dsn = duck.dsn()
            results: dict[tuple[str, str], list[float]] = {}
            for method in ("cancel", "cancel_safe"):
                for _ in range(args.samples):
                    for name, dsn, query in (("duckgres-trio", duck_dsn, DUCK_QUERY),
                                             ("postgresql-15", pg_dsn, PG_QUERY)):
                        results.setdefault((name, method), []).append(
                            one_sample(dsn, query, method))
        finally:
            duck.stop()
    print(f"{'server':15} {'method':12} {'median ms':>10} {'p95 ms':>8} {'max ms':>8}")
    for (name, method), values in results.items():
        values.sort()
        p95 = values[min(len(values) - 1, int(len(values) * 0.95))]
        print(f"{name:15} {method:12} {statistics.median(values) * 1000:10.1f} "
              f"{p95 * 1000:8.1f} {values[-1] * 1000:8.1f}")


if __name__ == "__main__":
    main()
