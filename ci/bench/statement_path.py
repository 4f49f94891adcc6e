"""The worker statement path alone: a prepared statement run in-process vs on a worker.

Run: .venv/bin/python ci/bench/statement_path.py [--statements 3000] [--rounds 3]
No PostgreSQL wire: the in-process side binds and runs a DuckDB prepared statement
through the engine's C API binding (engine/statement.py); the worker side runs the same
through engine/remote.py over the Unix-socket statement path to a real worker process,
one request at a time. The difference is what the control-plane hop costs per statement.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import trio

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python"))

from duckgres_trio.controlplane.worker import RetireReason, spawn  # noqa: E402
from duckgres_trio.engine.remote import RemoteExecutor  # noqa: E402
from duckgres_trio.engine.statement import open_database, start  # noqa: E402

STATEMENTS = {
    "SELECT $1::int": None,
    "pk lookup": "CREATE TABLE lookup AS SELECT range AS id, 'name ' || range AS name "
                 "FROM range(100000); ALTER TABLE lookup ADD PRIMARY KEY (id)",
}
SQL = {"SELECT $1::int": "SELECT $1::int AS x",
       "pk lookup": "SELECT id, name FROM lookup WHERE id = $1"}


def in_process(sql: str, setup: str | None, n: int) -> float:
    db = open_database(None)
    conn = db.connect()
    if setup:
        for part in setup.split(";"):
            conn.run(part)
    statement = conn.prepare(sql)
    started = time.perf_counter()
    for i in range(n):
        statement.bind([i % 100000])
        result = start(statement, True)
        if result.result is not None:
            result.result.close()
    elapsed = time.perf_counter() - started
    statement.close()
    conn.close()
    db.close()
    return elapsed / n * 1e6


async def on_worker(sql: str, setup: str | None, n: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        worker = await spawn(1, Path(tmp))
        try:
            await worker.action("Activate", {"database": None})
            token = (await worker.action("CreateSession", {"user": "bench"}))["session_token"]

            async def release() -> None:
                await worker.action("DestroySession", {"session_token": token})

            executor = await RemoteExecutor.connect(worker.statement_path, token, release)
            if setup:
                for part in setup.split(";"):
                    await executor.execute(part, False)
            prepared = await executor.prepare(sql)
            started = time.perf_counter()
            for i in range(n):
                result = await executor.execute_prepared(prepared, [i % 100000], True)
                async for _ in result.batches():
                    pass
            elapsed = time.perf_counter() - started
            await executor.close()
        finally:
            await worker.retire(RetireReason.SHUTDOWN)
    return elapsed / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--statements", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"{'statement':16} {'in-process us':>14} {'worker us':>10} {'hop us':>8}")
    for name, setup in STATEMENTS.items():
        local, remote = [], []
        for _ in range(args.rounds):
            local.append(in_process(SQL[name], setup, args.statements))
            remote.append(trio.run(on_worker, SQL[name], setup, args.statements))
        a, b = statistics.median(local), statistics.median(remote)
        print(f"{name:16} {a:14.0f} {b:10.0f} {b - a:8.0f}")


if __name__ == "__main__":
    main()
