"""The harness's outputs: a markdown section for docs/benchmarks.md (between markers, so
the rest of the file, which people edit by hand, is never touched), a chart, the targets
of issue 7 checked against the numbers, and a description of the machine.

Ratios are always "times better than": for rates the system's number over the
reference's, for seconds and memory the reference's over the system's; > 1 is better.
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
from pathlib import Path

from harness_common import LIMIT, PG, Workload

BEGIN, END = "<!-- harness:begin -->", "<!-- harness:end -->"
DUCKGRES = ("duckgres control plane", "duckgres standalone")
COLUMNS = (*DUCKGRES, PG, "buenavista", LIMIT)


def machine() -> dict[str, str]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
    return {"nproc": str(os.cpu_count()), "memory": f"{mem_kb / 1024 / 1024:.1f} GiB",
            "cpu": cpu, "kernel": platform.release()}


def git_revision(root: Path) -> str:
    out = subprocess.run(["git", "-C", str(root), "describe", "--always", "--dirty"],
                         capture_output=True, text=True)
    return out.stdout.strip() or "unknown"


def _number(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value:.3f}" if value < 10 else f"{value:.1f}"
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def _ratio(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def markdown_table(workloads: list[Workload]) -> tuple[str, list[str]]:
    """The table and its footnotes (error texts are too long for a cell)."""
    notes: list[str] = []
    head = ["workload", "unit", *COLUMNS, *(f"{d.split()[1]} vs PG" for d in DUCKGRES),
            *(f"{d.split()[1]} vs in-process" for d in DUCKGRES)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * 2 + "---:|" * (len(head) - 2)]
    for w in workloads:
        cells = [w.name, w.unit + ("" if w.higher_is_better else " (lower is better)")]
        for system in COLUMNS:
            outcome = w.outcomes.get(system)
            if outcome is None:
                cells.append("")
            elif outcome.status:
                status = outcome.status
                if status.startswith(("error", "unavailable")) and len(status) > 24:
                    if status not in notes:
                        notes.append(status)
                    status = f"{status.split(':', 1)[0]} [{notes.index(status) + 1}]"
                cells.append(status)
            else:
                text = _number(outcome.median(), w.unit)
                if outcome.note.startswith(">="):
                    text = ">= " + text
                if "wrong answer" in outcome.note:
                    text += " (wrong answer)"
                cells.append(text)
        cells += [_ratio(w.ratio(d, PG)) for d in DUCKGRES]
        cells += [_ratio(w.ratio(d, LIMIT)) for d in DUCKGRES]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines), notes


def _find(workloads: list[Workload], pattern: str) -> list[Workload]:
    return [w for w in workloads if re.search(pattern, w.name)]


def targets(workloads: list[Workload]) -> list[tuple[str, str, str]]:
    """(target, system, "met"/"missed"/"not measured: ...") for issue 7's targets."""
    out = []

    def check(label: str, rows: list[Workload], test) -> None:
        for system in DUCKGRES:
            if not rows:
                out.append((label, system, "not measured"))
                continue
            try:
                verdict = test(rows, system)
            except (TypeError, KeyError):
                verdict = None
            out.append((label, system, "not measured" if verdict is None
                        else "met" if verdict else "missed"))

    def tpch(rows, system):
        total = [w for w in rows if "total (22" in w.name][0]
        queries = [w for w in rows if re.search(r"Q\d\d$", w.name)]
        if any(w.outcome(system).status.startswith("error")
               or "wrong answer" in w.outcome(system).note for w in queries):
            return False  # an error or a wrong answer is not "faster on every query"
        ratios = [w.ratio(system, PG) for w in queries]
        if total.ratio(system, PG) is None:
            return None
        return total.ratio(system, PG) >= 5 and all(r is not None and r > 1 for r in ratios)

    check("TPC-H SF1: total >= 5x faster than PostgreSQL and faster on every query",
          _find(workloads, r"^TPC-H SF1 "), tpch)

    def prepared8(rows, system):
        w = rows[0]
        bv = w.outcomes.get("buenavista")
        beats_bv = bv is None or bv.median() is None or w.outcome(system).median() > bv.median()
        return beats_bv and w.ratio(system, LIMIT) >= 0.7

    check("pgbench -S -M prepared -c 8: more TPS than buenavista and >= 70% of in-process",
          _find(workloads, r"^pgbench -S -M prepared -c 8$"), prepared8)
    check("streaming (every client): >= PostgreSQL's rows/s",
          _find(workloads, r"^SELECT \*"),
          lambda rows, s: all(w.ratio(s, PG) >= 1 for w in rows))
    check("1,000 idle sessions: less RSS than PostgreSQL",
          _find(workloads, r"^RSS, 1,000 idle"), lambda rows, s: rows[0].ratio(s, PG) > 1)
    check("connection rate (pgbench -C, TLS + SCRAM): >= half of PostgreSQL's",
          _find(workloads, r"^pgbench -C"), lambda rows, s: all(w.ratio(s, PG) >= 0.5 for w in rows))
    return out


def section(workloads: list[Workload], meta: dict) -> str:
    table, notes = markdown_table(workloads)
    m = meta["machine"]
    lines = [
        "## All systems, one harness (issue 7)", "",
        f"Command: `{meta['command']}` ({meta['date']}, {meta['minutes']:.0f} min; "
        "`--smoke` for a run of about a minute, `--only GROUP` for one group).", "",
        f"Machine: {m['nproc']} cores ({m['cpu']}), {m['memory']} memory, Linux {m['kernel']}. "
        "Versions: " + "; ".join(f"{k} {v}" for k, v in meta["versions"].items()) + ".", "",
        "Every system runs on this machine on loopback, started and stopped by the harness; "
        "systems are alternated within each round (A/B/A/B), numbers are medians of "
        f"{meta['rounds']} rounds of {meta['seconds']} s (TPC-H: one run per query and round, "
        f"{meta['query_timeout']:g} s limit per query). duckgres-trio runs with its defaults "
        "plus TLS optional, SCRAM (plaintext for all but the connection workload), "
        f"max_connections 1100 and statement_timeout {meta['query_timeout']:g} s; "
        "PostgreSQL 15 with ssl=on, scram-sha-256, shared_buffers 2GB, work_mem 64MB, "
        "TPC-H primary keys, join-key indexes and VACUUM ANALYZE; buenavista is its "
        "`buenavista.examples.duckdb_postgres` server in its own virtualenv. "
        "The in-process limit is the same work through the engine's DuckDB C API in the "
        "harness's own process (a single-threaded loop for the one-row statements). "
        "Ratios are \"times better than\" (> 1: better; for seconds and MiB the inverse). "
        "Raw samples: the results JSON the harness writes (`--json`). The machine is "
        "shared (other test runs may overlap a run), so expect numbers to move 10-30% "
        "between runs; the ratios within a run are the comparison.", "",
        "![ratio to PostgreSQL per workload](benchmarks.png)", "",
        table, "",
    ]
    for i, note in enumerate(notes, 1):
        lines.append(f"[{i}] {note}  ")
    if notes:
        lines.append("")
    lines.append("Targets (not CI gates):")
    lines.append("")
    for label, system, verdict in meta["targets"]:
        lines.append(f"- {label}, {system}: **{verdict}**")
    if meta.get("problems"):
        lines += ["", "Problems seen in this run:", ""]
        lines += [f"- {p}" for p in meta["problems"]]
    return "\n".join(lines) + "\n"


def write_section(doc: Path, text: str) -> None:
    """Replace what is between the markers (append the markers at the end the first time);
    the file is read right before writing so concurrent hand edits elsewhere survive."""
    current = doc.read_text()
    block = f"{BEGIN}\n{text}{END}\n"
    if BEGIN in current and END in current:
        start = current.index(BEGIN)
        stop = current.index(END) + len(END)
        if current[stop:stop + 1] == "\n":
            stop += 1
        updated = current[:start] + block + current[stop:]
    else:
        updated = current.rstrip("\n") + "\n\n" + block
    doc.write_text(updated)


def chart(workloads: list[Workload], path: Path, title: str) -> None:
    """Horizontal bars: each system's ratio to PostgreSQL per workload, log scale."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    systems = [s for s in COLUMNS if s != PG]
    rows = [w for w in workloads if PG in w.outcomes]
    fig, ax = plt.subplots(figsize=(11, 0.42 * len(rows) + 1.8))
    height = 0.8 / len(systems)
    failed = []  # (y, text): a system that has a status instead of a number gets a label
    ratios = [w.ratio(s, PG) for w in rows for s in systems]
    left = min([r for r in ratios if r is not None] or [1]) / 3
    for i, system in enumerate(systems):
        ys, xs = [], []
        for j, w in enumerate(rows):
            y = j + (i - (len(systems) - 1) / 2) * height
            ratio = w.ratio(system, PG)
            if ratio is not None:
                ys.append(y)
                xs.append(ratio)
            elif system in w.outcomes and w.outcomes[system].status.startswith(("error",
                                                                                 "timeout")):
                failed.append((y, f"{system}: {w.outcomes[system].status.split(':')[0]}"))
        ax.barh(ys, xs, height=height, label=system)
    ax.set_xscale("log")
    ax.set_xlim(left=left)
    for y, text in failed:
        ax.text(left * 1.1, y, text, fontsize=5.5, va="center", color="dimgray")
    ax.axvline(1, color="black", linewidth=0.8)
    ax.set_yticks(range(len(rows)), [w.name for w in rows], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("times better than PostgreSQL 15 (log scale; > 1 is better)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.grid(axis="x", which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
