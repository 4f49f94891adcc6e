"""Result streaming end to end: SELECT * of a large table, this server vs PostgreSQL 15.

Run: .venv/bin/python ci/bench/streaming.py [--rows 10000000] [--rounds 2]
         [--mode controlplane|standalone] [--baseline OTHER_CHECKOUT/python]
Loads the same (id int8, x float8, label text) table into duckgres-trio (control-plane
mode, plaintext + trust on loopback) and a throwaway PostgreSQL 15, then reads it back
with clients that discard the rows, alternating the servers: psql
``COPY (SELECT * FROM t) TO STDOUT`` into /dev/null, and psycopg 3 ``SELECT *`` with
binary results fetched 100,000 rows at a time. Prints rows/s medians and the ratio to
PostgreSQL (issue 5's target: >= 1), and the CPU time the server spent per row (all
its processes: control plane and workers; PostgreSQL's postmaster and the backends it
reaped), which a shared machine disturbs far less than the rows/s. ``--baseline`` also runs the duckgres-trio of
another checkout (its ``python`` directory, with its ``_native`` built), alternated
with the others, to measure a change side by side.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.conftest import ServerProcess  # noqa: E402
from tests.support.pg15 import running_pg15  # noqa: E402


def create_sql(rows: int, duck: bool) -> str:
    """The table's CREATE (DuckDB's range or PostgreSQL's generate_series); ci/bench/harness.py
    runs it in-process too."""
    series = f"range({rows}) AS s(i)" if duck else f"generate_series(0, {rows - 1}) AS s(i)"
    return (f"CREATE TABLE stream AS SELECT i::int8 AS id, i / 7.0::float8 AS x, "
            f"'label ' || i AS label FROM {series}")


def load(dsn: str, rows: int, duck: bool) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS stream")
        conn.execute(create_sql(rows, duck))


_TICK = os.sysconf("SC_CLK_TCK")


def server_cpu(pid: int) -> float:
    """CPU seconds of ``pid``, its live children and the children it has reaped."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry.name) == pid or int(stat[1]) == pid:
            # utime, stime, cutime, cstime (fields 14-17 of proc(5))
            total += sum(int(field) for field in stat[11:15]) / _TICK
    return total


def postmaster_pid(dsn: str) -> int:
    """The PostgreSQL server listening on the dsn's port (running_pg15 passes -p)."""
    port = dsn.split("port=")[1].split()[0]
    for entry in Path("/proc").iterdir():
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv[0].endswith(b"/postgres") and b"-p" in argv and argv[argv.index(b"-p") + 1] == port.encode():
            return int(entry.name)
    raise RuntimeError(f"no postgres process for {dsn}")


def measured(run: Callable[[str], float], dsn: str, pid: int) -> tuple[float, float]:
    """(seconds, server CPU seconds) of one run; the CPU read after a pause, so that a
    backend which exits at the end of the connection has been reaped."""
    before = server_cpu(pid)
    seconds = run(dsn)
    time.sleep(0.3)
    return seconds, server_cpu(pid) - before


def psql_copy(dsn: str) -> float:
    started = time.perf_counter()
    with open(os.devnull, "wb") as sink:
        subprocess.run(["psql", dsn, "-c", "COPY (SELECT * FROM stream) TO STDOUT"],
                       stdout=sink, check=True)
    return time.perf_counter() - started


def psycopg_binary(dsn: str) -> float:
    started = time.perf_counter()
    with psycopg.connect(dsn) as conn, conn.cursor(binary=True) as cur:
        cur.execute("SELECT * FROM stream")
        while cur.fetchmany(100_000):
            pass
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--mode", choices=["controlplane", "standalone"], default="controlplane")
    parser.add_argument("--baseline", type=Path, help="another checkout's python directory")
    args = parser.parse_args()
    clients = {"psql COPY TO STDOUT": psql_copy, "psycopg binary SELECT *": psycopg_binary}
    trees = {"duckgres-trio": None, **({"baseline": args.baseline} if args.baseline else {})}
    results: dict[tuple[str, str], list[tuple[float, float]]] = {}
    servers = []
    with tempfile.TemporaryDirectory() as tmp, running_pg15() as pg_dsn:
        try:
            targets = {}
            for system, tree in trees.items():
                env = {"PYTHONPATH": str(tree.resolve())} if tree else {}
                server = ServerProcess(Path(tmp) / system, ["--tls", "disabled", "--auth-method",
                                                           "trust", "--mode", args.mode], env=env)
                servers.append(server.start())
                targets[system] = (server.dsn(sslmode="disable", dbname="bench"), server.proc.pid)
                load(targets[system][0], args.rows, duck=True)
            targets["postgresql-15"] = (pg_dsn, postmaster_pid(pg_dsn))
            load(pg_dsn, args.rows, duck=False)
            for _ in range(args.rounds):
                for client, run in clients.items():
                    for system, (dsn, pid) in targets.items():
                        results.setdefault((client, system), []).append(measured(run, dsn, pid))
        finally:
            for server in servers:
                server.stop()
    print(f"{args.mode} mode, {args.rows:,} rows, medians of {args.rounds}")
    print(f"{'client':26} {'system':14} {'seconds':>8} {'rows/s':>12} {'vs PG':>6} "
          f"{'CPU ns/row':>10} {'CPU vs PG':>9}" + (f" {'vs base':>7}" if args.baseline else ""))

    def medians(client: str, system: str) -> tuple[float, float]:
        runs = results[(client, system)]
        return (statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs))

    for client, system in results:
        seconds, cpu = medians(client, system)
        pg_seconds, pg_cpu = medians(client, "postgresql-15")
        line = (f"{client:26} {system:14} {seconds:8.2f} {args.rows / seconds:12,.0f} "
                f"{pg_seconds / seconds:6.2f} {cpu / args.rows * 1e9:10.0f} {cpu / pg_cpu:9.2f}")
        if args.baseline:
            line += f" {medians(client, 'baseline')[0] / seconds:7.2f}"
        print(line)


if __name__ == "__main__":
    main()
