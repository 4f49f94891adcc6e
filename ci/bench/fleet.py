"""The remote worker fleet (issue 23; docs/scale-out.md), side by side in one run:

- connect time (connect + ``SELECT 1`` + close): cold activation of an idle fleet worker,
  reuse of the same control plane's hot-idle worker, and takeover of that hot-idle
  worker by the other control plane;
- pgbench -S -M prepared -c 16 on one organisation's DuckLake database through one
  control plane with 1, 2 and 4 fleet workers serving it, and through two control
  planes at once (-c 8 each) with 2 and 4 workers in all.

Run: .venv/bin/python ci/bench/fleet.py [--seconds 6] [--rounds 3] [--scale 1]
One PostgreSQL 15 (config store and DuckLake catalog), four workers on 127.0.0.2-5 with
TLS and the fleet token (as in tests/test_fleet.py), control planes with client TLS off.
The number of workers serving is the control planes' max_workers_per_database; before
each pgbench run that many workers are made hot for the user (then hot-idle), so the 16
connections spread evenly, least sessions first.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.conftest import ServerProcess  # noqa: E402
from tests.support.config_store import admin, ok  # noqa: E402
from tests.support.pg15 import pg15_cluster  # noqa: E402
from tests.test_fleet import TOKEN, Fleet, FleetWorker, _certificates, wait_for  # noqa: E402

HOSTS = ("127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5")


def plane(root: Path, name: str, dsn: str, per_database: int, ttl: str) -> ServerProcess:
    return ServerProcess(root / name, [
        "--mode", "controlplane", "--config-store", dsn, "--storage", "ducklake",
        "--ducklake-data-path", str(root / "lake"), "--worker-backend", "remote",
        "--fleet-token-file", str(root / "token"), "--fleet-ca-file", str(root / "ca.crt"),
        "--fleet-lease", "8s", "--fleet-grace", "2s",
        "--max-workers-per-database", str(per_database), "--worker-idle-timeout", ttl,
        "--metrics-address", "", "--worker-queue-timeout", "120s", "--tls", "disabled",
        "--log-level", "warning"]).start()


def dsn(server: ServerProcess, user: str) -> str:
    return server.dsn(user=user, password=f"{user}-pw", dbname="acme", sslmode="disable")


def connect_ms(server: ServerProcess, user: str) -> tuple[float, int]:
    started = time.perf_counter()
    with psycopg.connect(dsn(server, user), connect_timeout=120) as conn:
        worker = conn.execute("SELECT duckgres_worker()").fetchone()[0]
    return (time.perf_counter() - started) * 1000, worker


def pgbench(server: ServerProcess, clients: int, seconds: int) -> subprocess.Popen:
    return subprocess.Popen(
        ["pgbench", "-n", "-S", "-M", "prepared", "-c", str(clients), "-j", "2", "-T",
         str(seconds), "-h", "127.0.0.1", "-p", str(server.port), "-U", "alice", "acme"],
        env={**os.environ, "PGPASSWORD": "alice-pw", "PGSSLMODE": "disable"},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def tps(run: subprocess.Popen) -> float:
    out = run.communicate(timeout=600)[0]
    match = re.search(r"tps = ([\d.]+)", out)
    failed = re.search(r"number of failed transactions: (\d+)", out)
    if run.returncode != 0 or not match or (failed and failed.group(1) != "0"):
        raise RuntimeError(out)
    return float(match.group(1))


def warm(servers: list[ServerProcess], workers: int) -> set[int]:
    """Hold ``workers`` sessions on each control plane at once, so each one's group
    grows to that many workers of its own (then hot-idle: one plane's ended session
    would otherwise be taken over by the next): pgbench's connections then spread over
    them."""
    conns = []
    try:
        for server in servers:
            for _ in range(workers):
                conns.append(psycopg.connect(dsn(server, "alice"), connect_timeout=120))
        return {c.execute("SELECT duckgres_worker()").fetchone()[0] for c in conns}
    finally:
        for conn in conns:
            conn.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scale", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, pg15_cluster() as store:
        root = Path(tmp)
        _certificates(root)
        (root / "token").write_text(TOKEN + "\n")
        ok(admin(store.dsn, "org", "create", "acme"))
        users = ["alice"] + [f"u{i}" for i in range(args.rounds)]
        for user in users:
            ok(admin(store.dsn, "user", "create", "acme", user, password=f"{user}-pw"))
        fleet = Fleet(root, store)
        fleet.workers = [FleetWorker(root, h, store.dsn).start() for h in HOSTS]
        planes: list[ServerProcess] = []
        try:
            wait_for(lambda: sum(r["state"] == "idle" for r in fleet.rows().values())
                     == len(HOSTS), 60, "idle workers")
            idle = lambda: sum(r["state"] == "idle" for r in fleet.rows().values())  # noqa: E731

            # -- connect time: cold, reuse (same plane), takeover (the other plane) ------
            with ThreadPoolExecutor(2) as pool:
                planes = list(pool.map(lambda n: plane(root, n, store.dsn, 1, "4s"),
                                       ("cp-a", "cp-b")))
            times: dict[str, list[float]] = {"cold": [], "reuse": [], "takeover": []}
            for user in users[1:]:
                wait_for(lambda: idle() == len(HOSTS), 60, "workers back in the fleet")
                cold, w1 = connect_ms(planes[0], user)
                reuse, w2 = connect_ms(planes[0], user)
                wait_for(lambda: any(r["state"] == "hot_idle" and r["id"] == w1
                                     for r in fleet.rows().values()), 10, "hot_idle")
                takeover, w3 = connect_ms(planes[1], user)
                assert w1 == w2 == w3, (w1, w2, w3)
                for k, v in (("cold", cold), ("reuse", reuse), ("takeover", takeover)):
                    times[k].append(v)
            for p in planes:
                p.stop(timeout=60)
            cold = statistics.median(times["cold"])
            print(f"\nconnect + SELECT 1 + close, {args.rounds} samples each, ms (median):")
            print("| path | median ms | / cold |\n|---|---|---|")
            for k in times:
                med = statistics.median(times[k])
                print(f"| {k} | {med:.0f} | {med / cold:.2f} |")

            # -- pgbench -S ----------------------------------------------------------
            first = plane(root, "init", store.dsn, 1, "10m")
            started = time.monotonic()
            init = subprocess.run(
                ["pgbench", "-i", "-q", "-s", str(args.scale), "-h", "127.0.0.1", "-p",
                 str(first.port), "-U", "alice", "acme"], capture_output=True, text=True,
                env={**os.environ, "PGPASSWORD": "alice-pw", "PGSSLMODE": "disable"})
            assert init.returncode == 0, init.stdout + init.stderr
            print(f"\npgbench -i -s {args.scale} through one control plane: "
                  f"{time.monotonic() - started:.1f} s")
            first.stop(timeout=60)
            results: dict[str, list[float]] = {}
            layouts = [("one control plane, 1 worker", 1, 1),
                       ("one control plane, 2 workers", 1, 2),
                       ("one control plane, 4 workers", 1, 4),
                       ("two control planes, 2 workers (1 each)", 2, 1),
                       ("two control planes, 4 workers (2 each)", 2, 2)]
            for label, n_planes, per in layouts:
                wait_for(lambda: idle() == len(HOSTS), 60, "workers back in the fleet")
                with ThreadPoolExecutor(2) as pool:
                    planes = list(pool.map(lambda n: plane(root, n, store.dsn, per, "10m"),
                                           [f"pg{n_planes}x{per}-{i}" for i in range(n_planes)]))
                try:
                    served = warm(planes, per)
                    assert len(served) == n_planes * per, served
                    results[label] = []
                    for _ in range(args.rounds):
                        runs = [pgbench(p, 16 // n_planes, args.seconds) for p in planes]
                        results[label].append(sum(tps(r) for r in runs))
                    print(f"{label}: {results[label]}", flush=True)
                finally:
                    for p in planes:
                        p.stop(timeout=60)
            base = statistics.median(results[layouts[0][0]])
            print(f"\n| pgbench -S -M prepared -c 16 -T {args.seconds} (-s {args.scale}) | "
                  f"TPS (median of {args.rounds}) | runs | / 1 worker |\n|---|---|---|---|")
            for label, values in results.items():
                med = statistics.median(values)
                print(f"| {label} | {med:.0f} | {', '.join(f'{v:.0f}' for v in values)} | "
                      f"{med / base:.2f} |")
            print(f"\nload average after: {os.getloadavg()[0]:.1f}")
        finally:
            for p in planes:
                if p.proc and p.proc.poll() is None:
                    p.stop(timeout=30)
            for w in fleet.workers:
                w.proc.terminate()
            for w in fleet.workers:
                try:
                    w.proc.wait(15)
                except subprocess.TimeoutExpired:
                    w.proc.kill()


if __name__ == "__main__":
    main()
