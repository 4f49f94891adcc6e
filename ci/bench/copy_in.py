"""COPY FROM STDIN in text and binary format: this server vs PostgreSQL 15.

Run: .venv/bin/python ci/bench/copy_in.py [--rows 1000000] [--rounds 2]
         [--mode controlplane|standalone]
Each system makes the data itself (COPY (SELECT id, 'row ' || id, id / 7.0) TO STDOUT
in the format), then the client (psycopg 3) writes it back with COPY ... FROM STDIN
into a (bigint, text, float8) table; the load's seconds, medians, side by side.
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
from tests.support.pg15 import running_pg15  # noqa: E402


def load_seconds(dsn: str, rows: int, fmt: str, duck: bool) -> float:
    series = f"range({rows}) s(i)" if duck else f"generate_series(0, {rows - 1}) s(i)"
    with psycopg.connect(dsn, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS copied")
        cur.execute("CREATE TABLE copied (id bigint, label text, x float8)")
        with cur.copy(f"COPY (SELECT i::int8, 'row ' || i, i / 7.0::float8 FROM {series}) "
                      f"TO STDOUT (FORMAT {fmt})") as copy:
            data = b"".join(bytes(chunk) for chunk in copy)
        started = time.perf_counter()
        with cur.copy(f"COPY copied FROM STDIN (FORMAT {fmt})") as copy:
            for at in range(0, len(data), 1 << 16):
                copy.write(data[at:at + (1 << 16)])
        seconds = time.perf_counter() - started
        assert cur.execute("SELECT count(*) FROM copied").fetchone() == (rows,)
        return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--mode", choices=["controlplane", "standalone"], default="controlplane")
    args = parser.parse_args()
    results: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp, running_pg15() as pg_dsn:
        server = ServerProcess(Path(tmp) / "s", ["--tls", "disabled", "--auth-method", "trust",
                                                  "--mode", args.mode]).start()
        try:
            targets = {"duckgres-trio": (server.dsn(sslmode="disable"), True),
                       "postgresql-15": (pg_dsn, False)}
            for _ in range(args.rounds):
                for fmt in ("text", "binary"):
                    for system, (dsn, duck) in targets.items():
                        results.setdefault((fmt, system), []).append(
                            load_seconds(dsn, args.rows, fmt, duck))
        finally:
            server.stop()
    print(f"{args.mode} mode, {args.rows:,} rows, medians of {args.rounds}")
    for (fmt, system), runs in results.items():
        seconds = statistics.median(runs)
        pg = statistics.median(results[(fmt, "postgresql-15")])
        print(f"{fmt:7} {system:14} {seconds:7.2f} s {args.rows / seconds:12,.0f} rows/s "
              f"{pg / seconds:6.2f} of PG")


if __name__ == "__main__":
    main()
