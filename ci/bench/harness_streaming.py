"""Result streaming: `SELECT *` of a 10M-row (id int8, x float8, label text) table,
rows per second, read by psycopg 3 (binary results, fetchmany) and by psql's COPY TO
STDOUT, clients discarding the rows: streaming.py's table and clients, counting rows.

Each read runs in a child process with a time limit, so a server that streams slowly
(or never finishes) costs the run a bounded time and shows as "timeout". The in-process
limit is the same SELECT * fetched as Arrow batches through the engine's C API.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from harness_common import LIMIT, Bench, Timeout, Workload, alternate, short_error
from streaming import create_sql, load

from duckgres_trio.engine import duckdb_capi as capi

BENCH = Path(__file__).resolve().parent
CLIENTS = {"psycopg binary SELECT *": "psycopg_rows", "psql COPY TO STDOUT": "psql_copy_rows"}


def psycopg_rows(dsn: str) -> tuple[float, int]:
    """streaming.psycopg_binary, counting the rows: a server that answers a short result
    (or an error psql would not report) must not look fast."""
    started = time.perf_counter()
    seen = 0
    with psycopg.connect(dsn) as conn, conn.cursor(binary=True) as cur:
        cur.execute("SELECT * FROM stream")
        while batch := cur.fetchmany(100_000):
            seen += len(batch)
    return time.perf_counter() - started, seen


def psql_copy_rows(dsn: str) -> tuple[float, int]:
    """streaming.psql_copy, counting the lines psql writes instead of sending them to
    /dev/null, and failing on psql's exit status."""
    started = time.perf_counter()
    proc = subprocess.Popen(["psql", "-X", "-v", "ON_ERROR_STOP=1", dsn, "-c",
                             "COPY (SELECT * FROM stream) TO STDOUT"], stdout=subprocess.PIPE)
    seen = 0
    while chunk := proc.stdout.read(1 << 20):
        seen += chunk.count(b"\n")
    if proc.wait() != 0:
        raise RuntimeError(f"psql exited {proc.returncode}")
    return time.perf_counter() - started, seen


def timed_call(function: str, dsn: str, rows: int, timeout: float) -> float:
    """<function>(dsn) in a child process (so a slow server can be abandoned): its
    seconds, after checking it read every row; or Timeout."""
    code = (f"import sys, json; sys.path.insert(0, {str(BENCH)!r}); import harness_streaming; "
            f"print(json.dumps(harness_streaming.{function}({dsn!r})))")
    try:
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise Timeout() from exc
    if result.returncode != 0:
        raise RuntimeError(result.stderr)
    seconds, seen = json.loads(result.stdout.strip().splitlines()[-1])
    if seen != rows:
        raise RuntimeError(f"read {seen:,} of {rows:,} rows")
    return seconds


def in_process_seconds(rows: int) -> float:
    """SELECT * through the C API, every batch fetched and dropped."""
    with tempfile.TemporaryDirectory() as tmp:
        db = capi.Database(str(Path(tmp) / "stream.duckdb"), {"arrow_lossless_conversion": "true"})
        con = db.connect()
        con.run(create_sql(rows, duck=True))
        statement = con.prepare("SELECT * FROM stream")
        started = time.perf_counter()
        result = statement.execute()
        seen = 0
        while batches := result.fetch(100_000):
            seen += sum(b.num_rows for b in batches)
        elapsed = time.perf_counter() - started
        result.close()
        statement.close()
        con.close()
        db.close()
    if seen != rows:
        raise RuntimeError(f"in-process read {seen} rows of {rows}")
    return elapsed


def run(bench: Bench) -> list[Workload]:
    rows = 100_000 if bench.smoke else 10_000_000
    timeout = 30 if bench.smoke else 180
    broken: dict[str, str] = {}
    for name, system in bench.systems.items():
        try:
            system.create_database("bench")
            load(system.conninfo("bench"), rows, duck=system.dialect == "duckdb")
        except Exception as exc:  # noqa: BLE001 - reported per system
            broken[name] = f"error: load: {short_error(exc)}"
    workloads = [Workload("streaming", f"SELECT * {rows:,} rows, {client}", "rows/s", True,
                          params={"function": function})
                 for client, function in CLIENTS.items()]

    def make(workload: Workload, system):
        return lambda: rows / timed_call(workload.params["function"], system.conninfo("bench"),
                                         rows, timeout)

    limit_seconds: list[float] = []

    def limit(workload: Workload):
        index = len(workload.outcome(LIMIT).samples)

        def measure() -> float:
            while len(limit_seconds) <= index:
                limit_seconds.append(in_process_seconds(rows))
            return rows / limit_seconds[index]
        return measure

    alternate(bench.rounds, workloads,
              bench.contenders(make, limit, applies=lambda s: broken.get(s.name, "")))
    return workloads
