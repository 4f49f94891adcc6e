"""OLTP-shaped workloads through the real pgbench: builtin `-S` (select-only) on a
`pgbench -i` database under every query mode at 1 and 8 clients, and a primary-key lookup
script and `SELECT 1` (prepared) at 1 and 8 clients.

The pgbench runs and the in-process loop are pgbench_lookup.py's (and the lookup table
its SETUP); this module only decides what is run against what. buenavista has no COPY
FROM STDIN, so `pgbench -i` cannot load it: it gets the same four tables written into its
DuckDB file directly. The in-process limit is a single-threaded loop; it is the same
number for -c 1 and -c 8 (on 2 cores there is no second core for it to use anyway).
"""

from __future__ import annotations

import random
from pathlib import Path

from harness_common import LIMIT, Bench, Workload, alternate, short_error
from pgbench_init import check_accounts, pgbench_init
from pgbench_lookup import PG_SETUP, SCRIPT as LOOKUP_SCRIPT, SETUP, in_process_tps, pgbench_tps

PGBENCH_DB = "pgbench"
LOOKUP_DB = "bench"
SELECT_ONLY = "SELECT abalance FROM pgbench_accounts WHERE aid = $1"


def pgbench_tables(scale: int) -> list[str]:
    """`pgbench -i -s scale`'s tables in DuckDB SQL (for buenavista and the in-process
    loop), same keys and row counts; fillers left empty."""
    return [
        "DROP TABLE IF EXISTS pgbench_accounts", "DROP TABLE IF EXISTS pgbench_branches",
        "DROP TABLE IF EXISTS pgbench_tellers", "DROP TABLE IF EXISTS pgbench_history",
        "CREATE TABLE pgbench_branches (bid INTEGER PRIMARY KEY, bbalance INTEGER, filler CHAR(88))",
        "CREATE TABLE pgbench_tellers (tid INTEGER PRIMARY KEY, bid INTEGER, tbalance INTEGER, "
        "filler CHAR(84))",
        "CREATE TABLE pgbench_accounts (aid INTEGER PRIMARY KEY, bid INTEGER, abalance INTEGER, "
        "filler CHAR(84))",
        "CREATE TABLE pgbench_history (tid INTEGER, bid INTEGER, aid INTEGER, delta INTEGER, "
        "mtime TIMESTAMP, filler CHAR(22))",
        f"INSERT INTO pgbench_branches SELECT range, 0, '' FROM range(1, {scale + 1})",
        f"INSERT INTO pgbench_tellers SELECT range, (range - 1) // 10 + 1, 0, '' "
        f"FROM range(1, {10 * scale + 1})",
        f"INSERT INTO pgbench_accounts SELECT range, (range - 1) // 100000 + 1, 0, '' "
        f"FROM range(1, {100000 * scale + 1})",
    ]


def _init(system, scale: int) -> None:
    if system.kind in ("duckgres", "postgresql"):
        system.create_database(PGBENCH_DB)
        pgbench_init(system.pgbench_args(PGBENCH_DB), scale)
        check_accounts(system.conninfo("postgres"), PGBENCH_DB, scale)
        system.create_database(LOOKUP_DB)
    else:
        system.run_setup(PGBENCH_DB, pgbench_tables(scale))
        system.run_setup(LOOKUP_DB, ["DROP TABLE IF EXISTS lookup"])
    system.run_setup(LOOKUP_DB, SETUP if system.dialect == "duckdb" else PG_SETUP)


def _variants(smoke: bool) -> list[Workload]:
    select_only = [("prepared", 8)] if smoke else [
        (mode, clients) for clients in (1, 8) for mode in ("simple", "extended", "prepared")]
    workloads = [Workload("pgbench -S", f"pgbench -S -M {mode} -c {clients}", "TPS", True,
                          params={"kind": "-S", "mode": mode, "clients": clients})
                 for mode, clients in select_only]
    for kind in ("pk lookup", "SELECT 1"):
        for clients in (1,) if smoke else (1, 8):
            workloads.append(Workload("pgbench script", f"{kind} -M prepared -c {clients}",
                                      "TPS", True, params={"kind": kind, "mode": "prepared",
                                                           "clients": clients}))
    return workloads


def run(bench: Bench) -> list[Workload]:
    scale = 1 if bench.smoke else 10
    scripts = {"pk lookup": Path(bench.workdir) / "lookup.sql",
               "SELECT 1": Path(bench.workdir) / "select1.sql"}
    scripts["pk lookup"].write_text(LOOKUP_SCRIPT)
    scripts["SELECT 1"].write_text("SELECT 1;\n")
    broken: dict[str, str] = {}
    for name, system in bench.systems.items():
        try:
            _init(system, scale)
        except Exception as exc:  # noqa: BLE001 - reported per system
            broken[name] = f"error: setup: {short_error(exc)}"
    limit_samples: dict[str, list[float]] = {}
    in_process = {
        "-S": lambda: in_process_tps(bench.seconds, setup=pgbench_tables(scale), sql=SELECT_ONLY,
                                     params=lambda: [random.randint(1, 100000 * scale)]),
        "pk lookup": lambda: in_process_tps(bench.seconds),
        "SELECT 1": lambda: in_process_tps(bench.seconds, setup=[], sql="SELECT 1",
                                           params=lambda: []),
    }

    def make(workload: Workload, system):
        p = workload.params
        db = PGBENCH_DB if p["kind"] == "-S" else LOOKUP_DB
        script = None if p["kind"] == "-S" else scripts[p["kind"]]
        extra = ("-S",) if p["kind"] == "-S" else ()
        return lambda: pgbench_tps(system.pgbench_args(db), p["mode"], bench.seconds, script,
                                   p["clients"], extra)

    def limit(workload: Workload):
        """One in-process measurement per kind and round, shared by that kind's rows."""
        kind = workload.params["kind"]
        samples = limit_samples.setdefault(kind, [])
        index = len(workload.outcome(LIMIT).samples)

        def measure() -> float:
            while len(samples) <= index:
                samples.append(in_process[kind]())
            return samples[index]
        return measure

    workloads = _variants(bench.smoke)
    alternate(bench.rounds, workloads,
              bench.contenders(make, limit, applies=lambda s: broken.get(s.name, "")))
    return workloads
