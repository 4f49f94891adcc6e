"""SQLAlchemy reflection against duckgres-trio: how long the inspector's catalog
queries take (they are what BI tools and ORMs send when they open a schema).

Run: .venv/bin/python ci/bench/reflection.py [--rounds 3]
Starts a standalone server, creates tests/test_tool_catalog.py's schema, and times
``Inspector.get_columns`` per table and ``get_multi_columns``, each on a fresh inspector
(SQLAlchemy caches per inspector), first call and the best of the later rounds.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from sqlalchemy import create_engine, inspect

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.conftest import ServerProcess  # noqa: E402
from tests.test_tool_catalog import DBNAME, SCHEMA  # noqa: E402

CALLS = {
    "get_columns(customers)": lambda i: i.get_columns("customers"),
    "get_columns(orders)": lambda i: i.get_columns("orders"),
    "get_columns(big_orders)": lambda i: i.get_columns("big_orders"),
    "get_multi_columns()": lambda i: i.get_multi_columns(),
}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(Path(tmp) / "data").start()
        try:
            dsn = server.dsn(dbname=DBNAME)
            with psycopg.connect(dsn, autocommit=True) as conn:
                for statement in SCHEMA:
                    conn.execute(statement)
            engine = create_engine("postgresql+psycopg://", creator=lambda: psycopg.connect(dsn))
            times: dict[str, list[float]] = {name: [] for name in CALLS}
            for _ in range(args.rounds):
                for name, call in CALLS.items():
                    inspector = inspect(engine)
                    started = time.perf_counter()
                    call(inspector)
                    times[name].append(time.perf_counter() - started)
            engine.dispose()
        finally:
            server.stop()
    for name, samples in times.items():
        print(f"{name:28} first {samples[0]:7.3f} s   best later {min(samples[1:] or samples):7.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
