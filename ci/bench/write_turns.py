"""pgbench tpcb-like with write turns on and off, and PostgreSQL 15, in one run.

Run: .venv/bin/python ci/bench/write_turns.py [--seconds 10] [--clients 1,4,8]
     [--modes standalone,controlplane] [--storage duckdb,ducklake]
Each target gets `pgbench -i -s 1` then, for each client count, `pgbench -b tpcb-like
-c N -T seconds` without --max-tries (a 40001 is a failed transaction, as a client
without retries sees it). Targets: duckgres-trio in each --modes with write_turns on
and off (plaintext + trust, like the throwaway PostgreSQL 15 cluster), and that
cluster. With ducklake in --storage, a DuckLake database (catalog: a second throwaway
PostgreSQL 15) served by a control plane with two workers, three ways: write turns in
the catalog (advisory lock, frontend/lake_turns.py: the default), write turns in the
control plane's memory only (LocalTurns, patched in by this script: the cost of the
catalog's lock is the difference), write_turns off. Prints TPS (committed transactions
per second) and the share of failed transactions; docs/benchmarks.md keeps the numbers.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.conftest import ServerProcess  # noqa: E402
from tests.support.pg15 import pg15_cluster, running_pg15  # noqa: E402

#: A server whose DuckLake write turns stay in its memory (the pre-catalog-lock
#: behaviour), to measure what the catalog's advisory lock costs per turn.
LOCAL_TURNS = (
    "-c",
    "from duckgres_trio.frontend import server, turns\n"
    "server.Server._new_turns = lambda self, org: turns.LocalTurns()\n"
    "from duckgres_trio.cli import main\n"
    "main()\n",
)


def pgbench(dsn_args: list[str], *args: str, timeout: float = 600) -> str:
    result = subprocess.run(["pgbench", *args, *dsn_args], capture_output=True, text=True,
                            timeout=timeout, env={**os.environ, "PGSSLMODE": "disable"})
    if result.returncode != 0:
        raise RuntimeError(result.stdout + result.stderr)
    return result.stdout


def tpcb_like(dsn_args: list[str], clients: int, seconds: int) -> tuple[float, int, int]:
    """(TPS, committed, failed) of one tpcb-like run."""
    out = pgbench(dsn_args, "-b", "tpcb-like", "-c", str(clients), "-j", str(min(clients, 2)),
                  "-T", str(seconds), timeout=seconds + 300)
    tps = re.search(r"tps = ([\d.]+)", out)
    done = re.search(r"number of transactions actually processed: (\d+)", out)
    failed = re.search(r"number of failed transactions: (\d+)", out)
    if not (tps and done):
        raise RuntimeError(out)
    return float(tps.group(1)), int(done.group(1)), int(failed.group(1)) if failed else 0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--clients", default="1,4,8")
    parser.add_argument("--modes", default="standalone,controlplane")
    parser.add_argument("--storage", default="duckdb")
    args = parser.parse_args()
    clients = [int(c) for c in args.clients.split(",")]
    storage = args.storage.split(",")
    rows = []
    with tempfile.TemporaryDirectory() as tmp, running_pg15() as pg_dsn, \
            (pg15_cluster() if "ducklake" in storage else contextlib.nullcontext()) as catalog:
        pg = dict(part.split("=", 1) for part in pg_dsn.split())
        targets = {}
        servers = []
        plain = ["--tls", "disabled", "--auth-method", "trust"]
        try:
            for mode in args.modes.split(",") if "duckdb" in storage else ():
                for turns in ("on", "off"):
                    server = ServerProcess(
                        Path(tmp) / f"data-{mode}-{turns}",
                        ["--mode", mode, "--tls", "disabled", "--auth-method", "trust",
                         "--write-turns", turns]).start()
                    servers.append(server)
                    targets[f"duckgres-trio {mode}, write_turns {turns}"] = [
                        "-h", "127.0.0.1", "-p", str(server.port), "-U", "postgres", "bench"]
            lakes = {"turns in the catalog": ([], ("-m", "duckgres_trio")),
                     "turns in memory only": ([], LOCAL_TURNS),
                     "write_turns off": (["--write-turns", "off"], ("-m", "duckgres_trio"))}
            for n, (name, (extra, program)) in enumerate(lakes.items() if catalog else ()):
                lake = ["--mode", "controlplane", "--storage", "ducklake", "--ducklake-catalog",
                        catalog.dsn, "--min-workers", "2", "--max-workers-per-database", "2"]
                server = ServerProcess(
                    Path(tmp) / f"data-lake-{n}",
                    [*plain, *lake, "--ducklake-data-path", str(Path(tmp) / f"lake-{n}"),
                     *extra], program=program).start()
                servers.append(server)
                targets[f"DuckLake, 2 workers, {name}"] = [
                    "-h", "127.0.0.1", "-p", str(server.port), "-U", "postgres", f"lake{n}"]
            targets["PostgreSQL 15"] = ["-h", pg["host"], "-p", pg["port"], "-U", pg["user"],
                                        pg["dbname"]]
            for name, dsn_args in targets.items():
                pgbench(dsn_args, "-i", "-s", "1", "-q")
            for n in clients:  # client counts outermost: the targets alternate
                for name, dsn_args in targets.items():
                    tps, done, failed = tpcb_like(dsn_args, n, args.seconds)
                    rows.append((name, n, tps, done, failed))
                    print(f"{name:42} -c {n}: {tps:8.1f} tps, {failed} failed", flush=True)
        finally:
            for server in servers:
                server.stop()
    print()
    print("| target | clients | TPS | failed (of all tried) |")
    print("|---|---:|---:|---:|")
    for name, n, tps, done, failed in rows:
        share = failed / (done + failed) if done + failed else 0.0
        print(f"| {name} | {n} | {tps:.0f} | {share:.0%} |" if tps >= 100
              else f"| {name} | {n} | {tps:.1f} | {share:.0%} |")
    if "ducklake" in storage:
        print()
        print(turn_cost())


def turn_cost(turns: int = 300) -> str:
    """What one uncontended turn costs: take and give back, ``turns`` times, with
    LocalTurns and with LakeTurns against a fresh catalog (lock, then the unlock in
    its own task; the next take may overlap it, as in a server)."""
    import time

    import trio

    from duckgres_trio.frontend.lake_turns import LakeTurns
    from duckgres_trio.frontend.turns import LocalTurns

    async def run(kind) -> float:
        await kind.take("db", 1)  # connect outside the timing
        kind.give_back("db", 1)
        await trio.sleep(0.1)
        started = time.perf_counter()
        for _ in range(turns):
            await kind.take("db", 1)
            kind.give_back("db", 1)
        return (time.perf_counter() - started) / turns

    with pg15_cluster() as catalog:
        local = trio.run(run, LocalTurns())
        lake = trio.run(run, LakeTurns(catalog.dsn))
    return (f"one uncontended turn ({turns} in a row): in memory {local * 1e6:.0f} us, "
            f"catalog advisory lock {lake * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
