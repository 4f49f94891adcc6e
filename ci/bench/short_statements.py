"""Short statements before and after a change, both server modes, one run (issue 22).

Run: .venv/bin/python ci/bench/short_statements.py --before /path/to/old/checkout
     [--seconds 5] [--rounds 3] [--protocols prepared,extended,simple]
     [--statements "pk lookup,SELECT 1,negative lookup"]
Starts duckgres-trio in standalone and control-plane mode from this checkout and, with
--before, from another checkout (its ``python`` directory on PYTHONPATH; it needs its
own compiled ``_native``), loads the 100k-row lookup table into each, then runs, round
by round and alternating the servers, ``pgbench -n -c 1`` under each ``--protocols``
mode (default: prepared) with the primary-key lookup and with ``SELECT 1`` (or the
``--statements`` named), and the same statements in the in-process loop (the engine's C API, prepared once:
ci/bench/pgbench_lookup.py). Prints TPS medians, each server's ratio to the in-process
loop of the same statement, and the CPU time the server's processes (a control plane's
workers included) spent per transaction, read from /proc: on a shared, loaded machine
TPS moves with the load, CPU per transaction much less.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import tempfile
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "ci" / "bench"))

from pgbench_lookup import SCRIPT as LOOKUP, SETUP, in_process_tps, pgbench_tps  # noqa: E402
from tests.conftest import ServerProcess  # noqa: E402

#: What --statements may name (default: the first two). The negative lookup finds no
#: row but takes the index all the same: a constant with a minus (sql/autoparam.py).
SCRIPTS = {"pk lookup": LOOKUP, "SELECT 1": "SELECT 1;\n",
           "negative lookup": LOOKUP.replace("id = :id", "id = -:id")}
IN_PROCESS = {"pk lookup": {}, "SELECT 1": {"setup": [], "sql": "SELECT 1", "params": list},
              "negative lookup": {"sql": "SELECT id, name, balance FROM lookup WHERE id = -$1",
                                  "rows": None}}
DEFAULT_STATEMENTS = ("pk lookup", "SELECT 1")
MODES = ("standalone", "controlplane")
_TICK = os.sysconf("SC_CLK_TCK")


def write_scripts(directory: Path, names=DEFAULT_STATEMENTS) -> dict[str, Path]:
    """SCRIPTS ``names`` as pgbench script files in ``directory``, by statement."""
    scripts = {}
    for name in names:
        scripts[name] = directory / f"{name.replace(' ', '_')}.sql"
        scripts[name].write_text(SCRIPTS[name])
    return scripts


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and of its descendants still running."""
    total = 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / _TICK
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                total += _cpu_seconds(int(child))
    except (OSError, IndexError, ValueError):
        pass
    return total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--before", type=Path, help="another checkout to compare with")
    parser.add_argument("--protocols", default="prepared",
                        help="pgbench -M modes, comma-separated (prepared,extended,simple)")
    parser.add_argument("--statements", default=",".join(DEFAULT_STATEMENTS),
                        help=f"comma-separated, of: {', '.join(SCRIPTS)}")
    args = parser.parse_args()
    protocols = args.protocols.split(",")
    names = args.statements.split(",")
    trees = {"after": ROOT} if args.before is None else {"before": args.before, "after": ROOT}
    results: dict[tuple[str, str], list[float]] = {}
    cpu: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        scripts = write_scripts(Path(tmp), names)
        servers = {}
        try:
            for tree_name, tree in trees.items():
                for mode in MODES:
                    env = {"PYTHONPATH": str(Path(tree) / "python")}
                    server = servers[f"{mode} {tree_name}"] = ServerProcess(
                        Path(tmp) / f"{mode}-{tree_name}",
                        ["--mode", mode, "--tls", "disabled", "--auth-method", "trust",
                         "--max-connections", "50"], env=env).start()
                    with psycopg.connect(server.dsn(sslmode="disable", dbname="bench"),
                                         autocommit=True) as conn:
                        for sql in SETUP:
                            conn.execute(sql)
            for _ in range(args.rounds):
                for script in scripts:
                    for protocol, (name, server) in itertools.product(protocols,
                                                                      servers.items()):
                        dsn = ["-h", "127.0.0.1", "-p", str(server.port), "-U", "postgres",
                               "bench"]
                        before = _cpu_seconds(server.proc.pid)
                        tps = pgbench_tps(dsn, protocol, args.seconds, scripts[script])
                        used = _cpu_seconds(server.proc.pid) - before
                        key = f"-M {protocol} {name}"
                        results.setdefault((script, key), []).append(tps)
                        cpu.setdefault((script, key), []).append(
                            used / (tps * args.seconds) * 1e6)
                    results.setdefault((script, "in-process loop"), []).append(
                        in_process_tps(args.seconds, **IN_PROCESS[script]))
        finally:
            for server in servers.values():
                server.stop()
    print(f"{'statement':10} {'served by':38} {'TPS (median)':>12} {'vs in-process':>14} "
          f"{'CPU us/tx':>10}  rounds (TPS)")
    for script in scripts:
        limit = statistics.median(results[(script, "in-process loop")])
        for (name_script, name), values in results.items():
            if name_script == script:
                tps = statistics.median(values)
                used = cpu.get((script, name))
                used_text = f"{statistics.median(used):10.0f}" if used else f"{'-':>10}"
                print(f"{script:10} {name:38} {tps:12.0f} {tps / limit:14.2f} {used_text}  "
                      + " ".join(f"{v:.0f}" for v in values))


if __name__ == "__main__":
    main()
