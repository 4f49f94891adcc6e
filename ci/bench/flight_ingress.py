"""Flight SQL ingress vs pgwire: SELECT of N rows (int8, float8, text) through the
control plane, side by side in one run.

Run: .venv/bin/python ci/bench/flight_ingress.py [--rows 10000000] [--rounds 5]
     [--before CHECKOUT]
Starts a throwaway duckgres-trio in control-plane mode with flight_address, makes a
table of N rows, then reads it whole in each of these ways:

- ADBC Flight SQL (adbc_driver_flightsql) into an Arrow table;
- psycopg, binary results (rows into Python tuples, fetchmany(100k) as
  ci/bench/streaming.py);
- psql ``\\copy (SELECT ...) TO '/dev/null'`` (COPY text, libpq);
- the worker's in-process Arrow rate: the same SELECT on the same table (a copy of the
  database file) with the same DuckDB (the Python package of the pinned version), the
  worker's settings (threads = the CPUs, as ``engine.threads`` gives one statement alone;
  ``arrow_lossless_conversion`` as a Flight session) and the Flight session's
  batch size, into an Arrow table: what the worker can produce, with no wire at all;
- with ``--before CHECKOUT`` (another checkout of the project, its ``_native`` built or
  copied in), ADBC Flight SQL again through a second server running that checkout's
  code, so a change is measured against its base in the same run.

Method, for a machine whose load moves under the run (the ratio is the point, not the
rates): every way runs once unmeasured first (caches, connections, the copy); then
each round runs every way, starting with a different one each round; a ratio is taken
within each round between adjacent measurements and the median of those is printed,
not the ratio of medians (load swings across rounds cancel within one). Besides wall
time, each way's CPU seconds are counted (this process and its children, and the
server's process tree: control plane and workers, from /proc), which load moves far
less than wall time: CPU per row is the cost of a path, wall time its speed here.
"""

from __future__ import annotations

import argparse
import os
import resource
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
#: rows per batch the worker sends a Flight session (flightingress/session.py)
BATCH_ROWS = 1 << 16


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--before", type=Path, default=None,
                        help="a checkout whose server is measured too (flight_before)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        servers = []
        try:
            for name, tree in (("data", None), ("before", args.before)):
                if name == "before" and tree is None:
                    continue
                env = {} if tree is None else {
                    "PYTHONPATH": str(tree.resolve() / "python")}
                port = free_port()
                servers.append((ServerProcess(Path(tmp) / name, [
                    "--mode", "controlplane", "--metrics-address", "",
                    "--flight-address", f"127.0.0.1:{port}"], env=env).start(), port))
            run(servers, args)
        finally:
            for server, _ in servers:
                server.stop()


def _tree_cpu(root: int, *, children: bool = True) -> float:
    """CPU seconds (user + system) of ``root`` and (``children``) its descendants now
    living."""
    ticks = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        cpu[pid] = (int(fields[11]) + int(fields[12])) / ticks
    if not children:
        return cpu.get(root, 0.0)
    total = 0.0
    for pid, seconds in cpu.items():
        p = pid
        while p > 1 and p != root:
            p = parents.get(p, 0)
        if p == root:
            total += seconds
    return total


def _own_cpu() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def run(servers: list[tuple[ServerProcess, int]], args) -> None:
    for server, _ in servers:
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            conn.execute(f"CREATE TABLE bench AS SELECT i::int8 AS i, i * 0.5 AS f, "
                         f"'row ' || i AS s FROM generate_series(1, {args.rows}) t(i)")
            conn.execute("CHECKPOINT")
    server, port = servers[0]

    def flight_way(server: ServerProcess, port: int):
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
        return flight

    flight = flight_way(server, port)

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

    copy = server.data_dir.parent / "copy.duckdb"

    def in_process() -> int:
        import duckdb

        with duckdb.connect(str(copy), read_only=True, config={
                "threads": os.cpu_count() or 1, "arrow_lossless_conversion": True}) as db:
            return db.execute(QUERY).to_arrow_reader(BATCH_ROWS).read_all().num_rows

    ways = {"flight_adbc": flight, "psycopg_binary": psycopg_binary, "psql_copy": psql_copy}
    if len(servers) > 1:
        ways["flight_before"] = flight_way(*servers[1])
    if _has_duckdb():
        shutil.copy(server.data_dir / "postgres.duckdb", copy)
        ways["worker_in_process_arrow"] = in_process
    if shutil.which("psql") is None:
        del ways["psql_copy"]
    names = list(ways)
    wall: dict[str, list[float]] = {name: [] for name in ways}
    cpu: dict[str, list[float]] = {name: [] for name in ways}
    #: the Flight ways' CPU seconds by process: client, control plane, workers
    parts: dict[str, list[tuple[float, float, float]]] = {"flight_adbc": [],
                                                           "flight_before": []}
    pids = {name: server.proc.pid for name in ways}
    if len(servers) > 1:
        pids["flight_before"] = servers[1][0].proc.pid
    for name in names:  # warm: unmeasured
        assert ways[name]() == args.rows, name
    for r in range(args.rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            pid = pids[name]
            before = _own_cpu(), _tree_cpu(pid, children=False), _tree_cpu(pid)
            started = time.perf_counter()
            rows = ways[name]()
            wall[name].append(time.perf_counter() - started)
            after = _own_cpu(), _tree_cpu(pid, children=False), _tree_cpu(pid)
            cpu[name].append(after[0] - before[0] + after[2] - before[2])
            if name in parts:
                plane = after[1] - before[1]
                parts[name].append((after[0] - before[0], plane,
                                    after[2] - before[2] - plane))
            assert rows == args.rows, (name, rows)

    def ratio(a: str, b: str, of=wall) -> float:
        """Median over the rounds of b's time / a's time (a's rate / b's rate)."""
        return statistics.median(tb / ta for ta, tb in zip(of[a], of[b]))

    n = args.rows
    print(f"SELECT of {n:,} rows (int8, float8, text), {args.rounds} rounds, "
          f"load average {os.getloadavg()[0]:.1f}")
    for name in names:
        print(f"  {name:26s} {n / statistics.median(wall[name]) / 1e6:8.2f} M rows/s "
              f"(wall {statistics.median(wall[name]):.2f} s, min {min(wall[name]):.2f}; "
              f"CPU {statistics.median(cpu[name]):.2f} s)")
    print(f"  flight / psycopg binary, rows/s: {ratio('flight_adbc', 'psycopg_binary'):.1f}x")
    if "psql_copy" in wall:
        print(f"  flight / psql COPY, rows/s:      {ratio('flight_adbc', 'psql_copy'):.1f}x")
    if "worker_in_process_arrow" in wall:
        inproc = "worker_in_process_arrow"
        print(f"  in-process / flight, rows/s:     {ratio(inproc, 'flight_adbc'):.2f}x "
              f"(per round: {', '.join(f'{f / i:.2f}' for i, f in zip(wall[inproc], wall['flight_adbc']))})")
        print(f"  flight / in-process, CPU s:      {ratio(inproc, 'flight_adbc', cpu):.2f}x")
        if "flight_before" in wall:
            print(f"  in-process / flight before:      {ratio(inproc, 'flight_before'):.2f}x "
                  f"rows/s; {ratio(inproc, 'flight_before', cpu):.2f}x CPU s")
    if "flight_before" in wall:
        print(f"  flight / flight before, rows/s:  {ratio('flight_adbc', 'flight_before'):.2f}x"
              f"; CPU s: {ratio('flight_before', 'flight_adbc', cpu):.2f}x")
    for name, measured in parts.items():
        if measured:
            client, plane, workers = (statistics.median(p[i] for p in measured)
                                      for i in range(3))
            print(f"  {name} CPU s by process: client {client:.2f}, control plane "
                  f"{plane:.2f}, workers {workers:.2f}")


def _has_duckdb() -> bool:
    try:
        import duckdb  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    main()
