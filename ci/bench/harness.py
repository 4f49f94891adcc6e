"""One benchmark harness for everything duckgres-trio is compared with (issue 7).

Run:  .venv/bin/python ci/bench/harness.py                  # full run, rewrites the docs
      .venv/bin/python ci/bench/harness.py --smoke          # about a minute, CI
      .venv/bin/python ci/bench/harness.py --only tpch --seconds 5 --rounds 1

Starts, on loopback, duckgres-trio in control-plane and in standalone mode, a throwaway
PostgreSQL 15 and buenavista (in .venv-buenavista, installed on first use; "unavailable:
<reason>" when it cannot be), runs each workload group against all of them and against
the in-process DuckDB limit, then stops everything. Groups, in run order (memory first,
while the servers hold no data): memory (1,000 idle sessions), connections (pgbench -C
over TLS + SCRAM), pgbench (-S at scale 10 under each query mode and client count, a
primary-key lookup script, SELECT 1), streaming (SELECT * of 10M rows), tpch (the 22
queries at SF1). Writes the results JSON (.bench-data/, outside git), and for a full run
the harness section of docs/benchmarks.md and docs/benchmarks.png.

--smoke shrinks every scale (pgbench -s 1, TPC-H SF0.01, 100k rows, 20 sessions, 1 s per
run, one round) but still starts every system it can; it fails only when the harness
breaks: an exception, or PostgreSQL (the reference) without a number somewhere.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent.parent
sys.path.insert(0, str(BENCH))

import harness_connect  # noqa: E402
import harness_memory  # noqa: E402
import harness_oltp  # noqa: E402
import harness_report  # noqa: E402
import harness_streaming  # noqa: E402
import harness_systems  # noqa: E402
import harness_tpch  # noqa: E402
from harness_common import PG, Bench, Workload  # noqa: E402

GROUPS = {"memory": harness_memory, "connections": harness_connect, "pgbench": harness_oltp,
          "streaming": harness_streaming, "tpch": harness_tpch}
CACHE = ROOT / ".bench-data"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny scales, about a minute")
    parser.add_argument("--only", default="", help=f"comma-separated groups: {', '.join(GROUPS)}")
    parser.add_argument("--seconds", type=int, help="per pgbench run (default 10, smoke 1)")
    parser.add_argument("--rounds", type=int, help="A/B rounds (default 2, smoke 1)")
    parser.add_argument("--query-timeout", type=float, help="per TPC-H query, s (default 120)")
    parser.add_argument("--no-buenavista", action="store_true", help="skip buenavista")
    parser.add_argument("--json", type=Path, help="results file (default .bench-data/...)")
    parser.add_argument("--from-json", type=Path, metavar="FILE",
                        help="run nothing: redraw the docs section and chart from a results file")
    docs = parser.add_mutually_exclusive_group()
    docs.add_argument("--docs", action="store_true", default=None,
                      help="rewrite the docs section and chart (default: full runs only)")
    docs.add_argument("--no-docs", dest="docs", action="store_false")
    args = parser.parse_args()
    args.seconds = args.seconds or (1 if args.smoke else 10)
    args.rounds = args.rounds or (1 if args.smoke else 2)
    args.query_timeout = args.query_timeout or (30 if args.smoke else 120)
    args.groups = [g for g in args.only.split(",") if g] or list(GROUPS)
    unknown = set(args.groups) - set(GROUPS)
    if unknown:
        parser.error(f"unknown group(s) {', '.join(sorted(unknown))}; known: {', '.join(GROUPS)}")
    if args.docs is None:
        args.docs = not args.smoke and not args.only
    return args


def start_systems(stack: contextlib.ExitStack, args, workdir: Path) -> tuple[dict, dict]:
    """duckgres-trio and PostgreSQL must start (else the harness is broken); buenavista
    may be unavailable."""
    systems, missing = {}, {}
    for mode in ("controlplane", "standalone"):
        system = stack.enter_context(harness_systems.duckgres(mode, workdir, args.query_timeout))
        systems[system.name] = system
    system = stack.enter_context(harness_systems.postgresql(args.query_timeout))
    systems[system.name] = system
    if args.no_buenavista:
        missing["buenavista"] = "unavailable: --no-buenavista"
    else:
        try:
            system = stack.enter_context(harness_systems.buenavista(workdir))
            systems[system.name] = system
        except harness_systems.Unavailable as exc:
            missing["buenavista"] = f"unavailable: {exc}"
    for name, reason in missing.items():
        print(f"{name}: {reason}", flush=True)
    return systems, missing


def pgbench_version() -> str:
    text = subprocess.run(["pgbench", "--version"], capture_output=True, text=True).stdout
    match = re.search(r"\d+\.\d+", text)
    return match.group(0) if match else "unknown"


def versions(systems: dict) -> dict[str, str]:
    import duckdb
    import psycopg

    out = {"duckgres-trio": harness_report.git_revision(ROOT), "DuckDB": duckdb.__version__}
    with psycopg.connect(systems[PG].conninfo("postgres")) as conn:
        out["PostgreSQL"] = conn.execute("SHOW server_version").fetchone()[0]
    out["buenavista"] = harness_systems.buenavista_version().removeprefix("buenavista ")
    out["pgbench"] = pgbench_version()
    out["Python"] = sys.version.split()[0]
    return out


def problems(workloads) -> list[str]:
    """Every duckgres-trio error or wrong answer, for the report."""
    out = []
    for w in workloads:
        for system in harness_report.DUCKGRES:
            outcome = w.outcomes.get(system)
            if outcome and outcome.status.startswith("error"):
                out.append(f"{system}, {w.name}: {outcome.status}")
            if outcome and "wrong answer" in outcome.note and "total" not in w.name:
                out.append(f"{system}, {w.name}: wrong answer (differs from PostgreSQL)")
    return out


def write_docs(workloads: list, meta: dict) -> None:
    harness_report.chart(workloads, ROOT / "docs" / "benchmarks.png",
                         f"{meta['command']} ({meta['date']})")
    harness_report.write_section(ROOT / "docs" / "benchmarks.md",
                                 harness_report.section(workloads, meta))
    print("wrote docs/benchmarks.md (harness section) and docs/benchmarks.png")


def redraw(path: Path) -> int:
    data = json.loads(path.read_text())
    workloads = [Workload.from_json(w) for w in data["workloads"]
                 if not (w["group"] == "TPC-H" and "total" in w["name"])]
    queries = [w for w in workloads if w.group == "TPC-H" and re.search(r"Q\d\d$", w.name)]
    if queries:
        at = next(i for i, w in enumerate(workloads) if w.group == "TPC-H") + len(queries)
        scale = float(re.search(r"SF([\d.]+)", queries[0].name).group(1))
        workloads[at:at] = harness_tpch.totals(queries, scale, data["meta"]["query_timeout"])
    meta = {**data["meta"], "targets": harness_report.targets(workloads),
            "versions": {**data["meta"]["versions"], "pgbench": pgbench_version()},
            "problems": problems(workloads)}
    write_docs(workloads, meta)
    return 0


def main() -> int:
    args = parse_args()
    if args.from_json:
        return redraw(args.from_json)
    started = time.monotonic()
    os.environ["PGPASSWORD"] = harness_systems.PASSWORD
    CACHE.mkdir(exist_ok=True)
    workloads = []
    with tempfile.TemporaryDirectory(prefix="duckgres-harness-") as tmp, \
            contextlib.ExitStack() as stack:
        workdir = Path(tmp)
        systems, missing = start_systems(stack, args, workdir)
        bench = Bench(systems, missing, args.seconds, args.rounds, args.smoke,
                      args.query_timeout, workdir, CACHE)
        meta_versions = versions(systems)
        for group in args.groups:
            group_started = time.monotonic()
            print(f"=== {group}", flush=True)
            rows = GROUPS[group].run(bench)
            for w in rows:
                cells = ", ".join(
                    f"{name}={o.status or f'{o.median():.4g}'}" for name, o in w.outcomes.items())
                print(f"  {w.name} [{w.unit}]: {cells}", flush=True)
            print(f"  ({time.monotonic() - group_started:.0f} s)", flush=True)
            workloads += rows
    minutes = (time.monotonic() - started) / 60
    command = " ".join([".venv/bin/python", "ci/bench/harness.py", *map(shlex.quote, sys.argv[1:])])
    meta = {"command": command, "minutes": minutes, "seconds": args.seconds,
            "rounds": args.rounds, "query_timeout": args.query_timeout,
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": harness_report.machine(), "versions": meta_versions,
            "targets": harness_report.targets(workloads), "problems": problems(workloads)}
    out = args.json or CACHE / f"harness-{'smoke' if args.smoke else 'results'}.json"
    out.write_text(json.dumps({"meta": meta, "workloads": [w.as_json() for w in workloads]},
                              indent=1))
    table, notes = harness_report.markdown_table(workloads)
    print(table)
    for i, note in enumerate(notes, 1):
        print(f"[{i}] {note}")
    for label, system, verdict in meta["targets"]:
        print(f"target: {label}, {system}: {verdict}")
    for problem in meta["problems"]:
        print(f"problem: {problem}")
    print(f"results: {out} ({minutes:.1f} min)")
    if args.docs:
        write_docs(workloads, meta)
    broken = [w.name for w in workloads if PG in w.outcomes and w.outcomes[PG].median() is None]
    if broken:
        print(f"harness broken: PostgreSQL has no number for {', '.join(broken)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
