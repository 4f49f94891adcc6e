"""The control-plane path against standalone: what a worker hop costs per statement.

Run: .venv/bin/python ci/bench/controlplane_path.py [--seconds 10] [--rounds 2]
Starts duckgres-trio twice (``--mode standalone`` and ``--mode controlplane``; plaintext
and trust on loopback), loads the same 100k-row table into each, then runs
``pgbench -n -M prepared`` with a one-row query (``SELECT 1``) and a primary-key lookup
at ``-c 1`` and ``-c 8``, alternating the servers round by round. Prints TPS medians and
the ratio control plane / standalone. Targets (issue 4): >= 0.70 at -c 1, > 1 at -c 8.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "ci" / "bench"))

from pgbench_lookup import SCRIPT as LOOKUP, SETUP, pgbench_tps  # noqa: E402
from tests.conftest import ServerProcess  # noqa: E402

SCRIPTS = {"one row": "SELECT 1;\n", "pk lookup": LOOKUP}
MODES = ("standalone", "controlplane")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--clients", default="1,8")
    args = parser.parse_args()
    clients = [int(c) for c in args.clients.split(",")]
    results: dict[tuple[str, int, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        scripts = {}
        for name, text in SCRIPTS.items():
            scripts[name] = Path(tmp) / f"{name.replace(' ', '_')}.sql"
            scripts[name].write_text(text)
        servers = {}
        try:
            for mode in MODES:
                servers[mode] = ServerProcess(
                    Path(tmp) / mode, ["--mode", mode, "--tls", "disabled", "--auth-method",
                                       "trust", "--max-connections", "50"]).start()
                with psycopg.connect(servers[mode].dsn(sslmode="disable", dbname="bench"),
                                     autocommit=True) as conn:
                    for sql in SETUP:
                        conn.execute(sql)
            for _ in range(args.rounds):
                for script in SCRIPTS:
                    for n in clients:
                        for mode, server in servers.items():
                            dsn = ["-h", "127.0.0.1", "-p", str(server.port), "-U", "postgres",
                                   "bench"]
                            try:
                                tps = pgbench_tps(dsn, "prepared", args.seconds,
                                                  scripts[script], n)
                            except RuntimeError:
                                print(server.log()[-5000:], file=sys.stderr)
                                raise
                            results.setdefault((script, n, mode), []).append(tps)
        finally:
            for server in servers.values():
                server.stop()
    print(f"{'workload':10} {'clients':>7} {'standalone':>11} {'controlplane':>13} {'cp/sa':>6}")
    for script in SCRIPTS:
        for n in clients:
            sa = statistics.median(results[(script, n, "standalone")])
            cp = statistics.median(results[(script, n, "controlplane")])
            print(f"{script:10} {n:7} {sa:11.0f} {cp:13.0f} {cp / sa:6.2f}")


if __name__ == "__main__":
    main()
