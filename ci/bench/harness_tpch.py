"""Analytics: the 22 TPC-H queries (ci/bench/tpch/qNN.sql, validation parameters) at scale
factor 1, each run through psql against each server with a per-query time limit.

Data: tpchgen-cli (PyPI, the Rust generator; DuckDB's tpch extension needs a download)
writes CSV once into the cache directory, outside git. DuckDB-based systems load it with
DuckDB's own COPY FROM 'file' (through duckgres-trio's wire: a server-side COPY; the
fast path a DBA would use for a bulk load); PostgreSQL gets COPY FROM STDIN, then the
primary keys (tpch/keys.sql, on every system) and the join-key indexes plus VACUUM
ANALYZE (tpch/pg_indexes.sql).

Timing is psql's `\\timing` of the query alone (connection start-up excluded). Answers
are compared with PostgreSQL's in the first round (rows sorted, numbers with a relative
tolerance, char padding ignored): a wrong answer is marked, not hidden.
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psycopg

from harness_common import PG, Bench, Timeout, Workload, alternate, short_error

from duckgres_trio.engine import duckdb_capi as capi

TPCH = Path(__file__).resolve().parent / "tpch"
TABLES = ("region", "nation", "part", "supplier", "partsupp", "customer", "orders", "lineitem")
DB = "tpch"


def statements(path: Path) -> list[str]:
    """The ;-terminated statements of a SQL file, comment lines dropped."""
    text = "\n".join(line for line in path.read_text().splitlines()
                     if not line.lstrip().startswith("--"))
    return [s.strip() for s in text.split(";") if s.strip()]


def generate(scale: float, cache: Path) -> Path:
    """CSV files for every table at `scale`, generated once per scale into the cache."""
    out = cache / f"tpch-sf{scale:g}"
    if (out / ".complete").exists():
        return out
    tool = shutil.which("tpchgen-cli") or str(Path(sys.executable).parent / "tpchgen-cli")
    if not Path(tool).exists():
        raise RuntimeError("tpchgen-cli is missing: .venv/bin/pip install -e '.[test]'")
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run([tool, "csv", "-s", f"{scale:g}", "--output-dir", str(out), "--overwrite"],
                   check=True, capture_output=True, timeout=1800)
    (out / ".complete").write_text(f"tpchgen-cli csv -s {scale:g}\n")
    return out


def duckdb_load(data: Path) -> list[str]:
    return [*statements(TPCH / "schema.sql"),
            *(f"COPY {t} FROM '{data / (t + '.csv')}' (FORMAT csv, HEADER true)" for t in TABLES),
            *statements(TPCH / "keys.sql")]


def load(system, data: Path) -> None:
    if system.kind == "postgresql":
        system.create_database(DB)
        with psycopg.connect(system.conninfo(DB), autocommit=True) as conn:
            for sql in statements(TPCH / "schema.sql"):
                conn.execute(sql)
            for table in TABLES:
                with conn.cursor().copy(f"COPY {table} FROM STDIN (FORMAT csv, HEADER true)") as copy, \
                        open(data / f"{table}.csv", "rb") as source:
                    while chunk := source.read(1 << 20):
                        copy.write(chunk)
            for sql in statements(TPCH / "keys.sql") + statements(TPCH / "pg_indexes.sql"):
                conn.execute(sql)
    else:
        system.run_setup(DB, duckdb_load(data))


_TIME = re.compile(r"^Time: ([\d.]+) ms.*\n?", re.M)  # "Time: 7268.1 ms (00:07.268)" past 1 s


def psql_query(system, sql: str, timeout: float) -> tuple[float, str]:
    """(seconds, unaligned output) of one query in a fresh psql; statement_timeout is
    set on the server where it is supported and the client gives up a little later."""
    script = "\\timing on\n" + sql + "\n"
    try:
        result = subprocess.run(
            ["psql", "-X", "-q", "-A", "-t", "-F", "|", "-v", "ON_ERROR_STOP=1",
             system.conninfo(DB)], input=script, capture_output=True, text=True,
            timeout=timeout + 15)
    except subprocess.TimeoutExpired as exc:
        raise Timeout() from exc
    if "statement timeout" in result.stderr or "57014" in result.stderr:
        raise Timeout()
    if result.returncode != 0:
        raise RuntimeError(result.stderr.strip() or f"psql exited {result.returncode}")
    times = _TIME.findall(result.stdout)
    if not times:
        raise RuntimeError(f"no timing in psql output: {result.stdout[-200:]}")
    seconds = float(times[-1]) / 1000
    if seconds > timeout:
        raise Timeout()
    body = _TIME.sub("", result.stdout)
    return seconds, body


def _cell(value: str):
    value = value.strip()
    try:
        return float(value)
    except ValueError:
        return value


def normalise(output: str) -> list[tuple]:
    rows = [tuple(_cell(v) for v in line.split("|")) for line in output.splitlines() if line.strip()]
    return sorted(rows, key=lambda row: tuple(str(round(v, 2)) if isinstance(v, float) else v
                                               for v in row))


def same_answer(mine: list[tuple], reference: list[tuple]) -> bool:
    if len(mine) != len(reference):
        return False
    for a_row, b_row in zip(mine, reference):
        if len(a_row) != len(b_row):
            return False
        for a, b in zip(a_row, b_row):
            if isinstance(a, float) and isinstance(b, float):
                if not math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-6):
                    return False
            elif a != b:
                return False
    return True


class InProcess:
    """The same queries on a DuckDB file loaded the same way, through the engine's C API."""

    def __init__(self, workdir: Path, data: Path) -> None:
        self.db = capi.Database(str(workdir / "tpch-limit.duckdb"),
                                {"arrow_lossless_conversion": "true"})
        self.con = self.db.connect()
        for sql in duckdb_load(data):
            self.con.run(sql)

    def seconds(self, sql: str) -> float:
        started = time.perf_counter()
        statement = self.con.prepare(sql)
        result = statement.execute()
        while result.fetch(100_000):
            pass
        elapsed = time.perf_counter() - started
        result.close()
        statement.close()
        return elapsed

    def close(self) -> None:
        self.con.close()
        self.db.close()


def run(bench: Bench) -> list[Workload]:
    scale = 0.01 if bench.smoke else 1
    data = generate(scale, bench.cache)
    broken: dict[str, str] = {}
    load_seconds: dict[str, float] = {}
    for name, system in bench.systems.items():
        started = time.perf_counter()
        try:
            load(system, data)
            load_seconds[name] = time.perf_counter() - started
        except Exception as exc:  # noqa: BLE001 - reported per system
            broken[name] = f"error: load: {short_error(exc)}"
    queries = sorted(TPCH.glob("q[0-9][0-9].sql"))
    workloads = [Workload("TPC-H", f"TPC-H SF{scale:g} Q{q.stem[1:]}", "s", False,
                          params={"sql": "\n".join(statements(q))}) for q in queries]
    answers: dict[tuple[str, str], list[tuple]] = {}

    def make(workload: Workload, system):
        def measure() -> float:
            try:
                seconds, output = psql_query(system, workload.params["sql"], bench.query_timeout)
            except Timeout:
                if system.restart is not None:
                    system.restart()
                raise
            answers.setdefault((workload.name, system.name), normalise(output))
            return seconds
        return measure

    limit = InProcess(Path(bench.workdir), data)
    try:
        alternate(bench.rounds, workloads, bench.contenders(
            make, lambda w: lambda: limit.seconds(w.params["sql"]),
            applies=lambda s: broken.get(s.name, "")))
    finally:
        limit.close()
    for workload in workloads:
        reference = answers.get((workload.name, PG))
        for (name, system_name), rows in answers.items():
            if name == workload.name and system_name != PG and reference is not None \
                    and not same_answer(rows, reference):
                workload.outcome(system_name).note = "wrong answer"
    loading = Workload("TPC-H", f"TPC-H SF{scale:g} load (COPY, keys; PG also indexes, "
                       "VACUUM ANALYZE)", "s", False)
    for name, seconds in load_seconds.items():
        loading.outcome(name).samples = [seconds]
    return [*workloads, *totals(workloads, scale, bench.query_timeout), loading]


def totals(workloads: list[Workload], scale: float, timeout: float) -> list[Workload]:
    """The per-query rows summed: over all 22 (a timeout counted as the limit, making the
    sum a lower bound; an error leaves no sum), and over the queries all answered.
    harness.py --from-json recomputes them from the per-query rows."""
    total = Workload("TPC-H", f"TPC-H SF{scale:g} total (22 queries)", "s", False)
    for name in sorted({n for w in workloads for n in w.outcomes}):
        outcomes = [w.outcome(name) for w in workloads]
        errors = [w.name.rsplit(" ", 1)[-1] for w, o in zip(workloads, outcomes)
                  if o.status and o.status != "timeout"]
        timeouts = [w.name.rsplit(" ", 1)[-1] for w, o in zip(workloads, outcomes)
                    if o.status == "timeout"]
        result = total.outcome(name)
        if errors and len(errors) == len(workloads):
            result.status = outcomes[0].status
        elif errors:
            result.status = f"error in {', '.join(errors)}"
        else:
            result.samples = [sum(o.median() if o.median() is not None else timeout
                                  for o in outcomes)]
            if timeouts:
                result.note = f">= (timeouts in {', '.join(timeouts)} counted as {timeout:g} s)"
        wrong = [w.name.rsplit(" ", 1)[-1] for w, o in zip(workloads, outcomes)
                 if o.note == "wrong answer"]
        if wrong:
            result.note = (result.note + "; " if result.note else "") + \
                f"wrong answers in {', '.join(wrong)}"
    return [total, common_total(workloads, scale)]


def common_total(workloads: list[Workload], scale: float) -> Workload:
    """The total over the queries duckgres-trio, PostgreSQL and the in-process limit all
    answered, so that a failed query still leaves a comparable sum (the row's name says how
    many queries it has); buenavista is summed over the same queries when it answered them."""
    names = {n for w in workloads for n in w.outcomes}
    core = {n for n in names if n != "buenavista"}
    common = [w for w in workloads if all(w.outcome(n).median() is not None for n in core)]
    row = Workload("TPC-H", f"TPC-H SF{scale:g} total, the {len(common)} queries all answered",
                   "s", False, params={"queries": [w.name.rsplit(" ", 1)[-1] for w in common]})
    for name in sorted(names):
        missing = [w.name.rsplit(" ", 1)[-1] for w in common if w.outcome(name).median() is None]
        if missing:
            first = common[0].outcome(name).status if len(missing) == len(common) else ""
            row.outcome(name).status = first or f"no answer in {', '.join(missing)}"
        else:
            row.outcome(name).samples = [sum(w.outcome(name).median() for w in common)]
    return row
