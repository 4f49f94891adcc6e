"""pgbench tpcb-like with write turns on and off, and PostgreSQL 15, in one run.

Run: .venv/bin/python ci/bench/write_turns.py [--seconds 10] [--clients 1,4,8]
     [--modes standalone,controlplane]
Each target gets `pgbench -i -s 1` then, for each client count, `pgbench -b tpcb-like
-c N -T seconds` without --max-tries (a 40001 is a failed transaction, as a client
without retries sees it). Targets: duckgres-trio in each --modes with write_turns on
and off (plaintext + trust, like the throwaway PostgreSQL 15 cluster), and that
cluster. Prints TPS (committed transactions per second) and the share of failed
transactions; docs/benchmarks.md keeps the numbers.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.conftest import ServerProcess  # noqa: E402
from tests.support.pg15 import running_pg15  # noqa: E402


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
    args = parser.parse_args()
    clients = [int(c) for c in args.clients.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp, running_pg15() as pg_dsn:
        pg = dict(part.split("=", 1) for part in pg_dsn.split())
        targets = {}
        servers = []
        try:
            for mode in args.modes.split(","):
                for turns in ("on", "off"):
                    server = ServerProcess(
                        Path(tmp) / f"data-{mode}-{turns}",
                        ["--mode", mode, "--tls", "disabled", "--auth-method", "trust",
                         "--write-turns", turns]).start()
                    servers.append(server)
                    targets[f"duckgres-trio {mode}, write_turns {turns}"] = [
                        "-h", "127.0.0.1", "-p", str(server.port), "-U", "postgres", "bench"]
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
        print(f"| {name} | {n} | {tps:.0f} | {share:.0%} |")


if __name__ == "__main__":
    main()
