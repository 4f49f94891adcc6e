"""Connect time on the control plane: a database whose worker is hot-idle (reuse) against
one that needs a worker (cold: spawn + open, or a spare opened), and during a SIGUSR1
upgrade while a long statement runs (the new process adopts the workers, issue 23).

Run: .venv/bin/python ci/bench/upgrade_adopt.py [--databases 6] [--rounds 2]
Plaintext and trust on loopback. Each sample is connect + ``SELECT 1`` + close, in ms.
Cold and reuse samples alternate database by database in one run; the ratio is what to
read on a loaded machine.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.conftest import ServerProcess  # noqa: E402

ARGS = ["--mode", "controlplane", "--tls", "disabled", "--auth-method", "trust",
        "--max-workers", "32", "--worker-idle-timeout", "10m"]


def connect_ms(server: ServerProcess, database: str, timeout: float = 30) -> float:
    started = time.perf_counter()
    with psycopg.connect(server.dsn(dbname=database, sslmode="disable"),
                         connect_timeout=timeout) as conn:
        conn.execute("SELECT 1").fetchone()
    return (time.perf_counter() - started) * 1000


def reuse_vs_cold(tmp: Path, databases: int, rounds: int, spares: int) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {"cold": [], "reuse": []}
    server = ServerProcess(tmp / f"cold{spares}", [*ARGS, "--min-workers", str(spares)]).start()
    try:
        for round_ in range(rounds):
            for i in range(databases):
                name = f"db{round_}_{i}"
                time.sleep(0.5 if spares else 0)  # a spare is back before the next one
                samples["cold"].append(connect_ms(server, name))
                samples["reuse"].append(connect_ms(server, name))
    finally:
        server.stop()
    return samples


def during_upgrade(tmp: Path) -> tuple[dict[str, list[float]], int, bool]:
    """Connect times to the database a long statement holds, every 50 ms through an
    upgrade (before SIGUSR1, until the old process exited, after); also the failures and
    whether the worker pid stayed the same."""
    server = ServerProcess(tmp / "upgrade", ARGS).start()
    times: list[tuple[float, float]] = []
    failures, pids, marks = 0, set(), []
    stop = threading.Event()

    def loop() -> None:
        nonlocal failures
        while not stop.is_set():
            started = time.perf_counter()
            try:
                with psycopg.connect(server.dsn(dbname="long", sslmode="disable"),
                                     connect_timeout=10) as conn:
                    pids.add(conn.execute("SELECT duckgres_worker()").fetchone()[0])
                times.append((started, (time.perf_counter() - started) * 1000))
            except psycopg.Error:
                failures += 1
            time.sleep(0.05)

    successor = None
    try:
        long = psycopg.connect(server.dsn(dbname="long", sslmode="disable"), autocommit=True)
        query = threading.Thread(target=lambda: long.execute(
            "SELECT count(*) FROM range(8000000000)").fetchone())
        query.start()
        thread = threading.Thread(target=loop)
        thread.start()
        time.sleep(1)
        marks.append(time.perf_counter())
        server.proc.send_signal(signal.SIGUSR1)
        query.join(300)
        long.close()
        server.proc.wait(120)
        marks.append(time.perf_counter())
        time.sleep(2)
        stop.set()
        thread.join()
        found = re.findall(r"upgrade: process (\d+) took over", server.log())
        successor = int(found[0]) if found else None
    finally:
        stop.set()
        if server.proc.poll() is None:
            server.stop()
        if successor:
            os.kill(successor, signal.SIGTERM)
            time.sleep(3)
    phases = {"before": [ms for t, ms in times if t < marks[0]],
              "upgrade": [ms for t, ms in times if marks[0] <= t < marks[1]],
              "after": [ms for t, ms in times if t >= marks[1]]}
    return phases, failures, len(pids) == 1


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--databases", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dgbench-") as tmp:
        print("| activation | samples | cold median ms | hot-idle reuse median ms | reuse / cold |")
        print("|---|---|---|---|---|")
        for spares, label in ((0, "spawn + open"), (1, "spare + open")):
            s = reuse_vs_cold(Path(tmp), args.databases, args.rounds, spares)
            cold, reuse = statistics.median(s["cold"]), statistics.median(s["reuse"])
            print(f"| {label} | {len(s['cold'])} | {cold:.0f} | {reuse:.0f} | "
                  f"{reuse / cold:.2f} |")
        phases, failures, same = during_upgrade(Path(tmp))
        print(f"\nconnects to a database a long statement holds, through an upgrade: "
              f"{failures} failed, same worker pid throughout: {same}")
        print("| phase | connects | median ms | max ms |\n|---|---|---|---|")
        for phase, times in phases.items():
            if times:
                print(f"| {phase} | {len(times)} | {statistics.median(times):.0f} | "
                      f"{max(times):.0f} |")


if __name__ == "__main__":
    main()
