"""What every harness workload shares: the result record and the A/B/A/B measuring loop.

A workload is one row of the final table: a number per system (median of its rounds) or
a status instead of a number ("timeout", "error: ...", "unavailable: ..."), because a
comparison table that silently drops a system that broke would read as a win for the
ones that did not. Systems are measured in the same order every round, interleaved, so
that the noise of a shared 2-core machine (another process waking up for a minute)
lands on all of them rather than on whichever ran during it.
"""

from __future__ import annotations

import statistics
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

PG = "postgresql-15"
LIMIT = "in-process DuckDB"


class Timeout(Exception):
    """A measurement exceeded its per-run limit; reported as "timeout", not a number."""


@dataclass
class Outcome:
    samples: list[float] = field(default_factory=list)
    status: str = ""  # "" when samples are the answer; else timeout / error: ... / unavailable: ...
    note: str = ""

    def median(self) -> float | None:
        return statistics.median(self.samples) if self.samples and not self.status else None

    def as_json(self) -> dict:
        return {"samples": self.samples, "median": self.median(), "status": self.status,
                "note": self.note}


@dataclass
class Workload:
    """One table row: `unit` says what the numbers are; higher_is_better picks the
    direction of the ratios (always reported as "times better than", > 1 is better)."""

    group: str
    name: str
    unit: str
    higher_is_better: bool
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    params: dict = field(default_factory=dict)

    def outcome(self, system: str) -> Outcome:
        return self.outcomes.setdefault(system, Outcome())

    def ratio(self, system: str, reference: str) -> float | None:
        mine = self.outcome(system).median() if system in self.outcomes else None
        ref = self.outcomes[reference].median() if reference in self.outcomes else None
        if mine is None or ref is None or mine == 0 or ref == 0:
            return None
        return mine / ref if self.higher_is_better else ref / mine

    @classmethod
    def from_json(cls, data: dict) -> Workload:
        """Back from the results JSON (harness.py --from-json redraws the docs)."""
        workload = cls(data["group"], data["name"], data["unit"], data["higher_is_better"])
        for system, result in data["results"].items():
            workload.outcomes[system] = Outcome(result["samples"], result["status"],
                                                result["note"])
        return workload

    def as_json(self) -> dict:
        return {"group": self.group, "name": self.name, "unit": self.unit,
                "higher_is_better": self.higher_is_better,
                "results": {k: v.as_json() for k, v in self.outcomes.items()}}


def short_error(exc: BaseException) -> str:
    """The first informative line of an error, for a table cell."""
    text = str(exc).strip() or type(exc).__name__
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in lines:
        if "ERROR" in line or "FATAL" in line or "error" in line.lower():
            return line[:200]
    return lines[0][:200]


def measure_into(outcome: Outcome, measure: Callable[[], float]) -> None:
    """Run one measurement; a timeout or failure becomes the outcome's status and later
    rounds skip the system (a system that broke once is not timed again)."""
    if outcome.status:
        return
    try:
        outcome.samples.append(measure())
    except (Timeout, subprocess.TimeoutExpired):
        outcome.status = "timeout"
    except Exception as exc:  # noqa: BLE001 - the table reports it, the run goes on
        outcome.status = f"error: {short_error(exc)}"


def alternate(rounds: int, workloads: Iterable[Workload],
              systems: dict[str, Callable[[Workload], Callable[[], float]] | str]) -> None:
    """Round by round, each workload, each system in a fixed order. A system given as a
    string is marked with that status (e.g. "unavailable: ...") instead of measured."""
    workloads = list(workloads)
    for _ in range(rounds):
        for workload in workloads:
            for name, make in systems.items():
                outcome = workload.outcome(name)
                if isinstance(make, str):
                    outcome.status = outcome.status or make
                    continue
                measure = make(workload)
                if measure is None:
                    outcome.status = outcome.status or "n/a"
                    continue
                measure_into(outcome, measure)


@dataclass
class Bench:
    """What a workload needs: the running systems (in table order), the ones that could
    not run and why, and the run's knobs."""

    systems: dict  # name -> harness_systems.System, running
    missing: dict[str, str]  # name -> "unavailable: reason"
    seconds: int
    rounds: int
    smoke: bool
    query_timeout: float
    workdir: Path
    cache: Path

    def contenders(self, make: Callable, limit: Callable | None = None,
                   applies: Callable = lambda system: "") -> dict:
        """alternate()'s system map: make(workload, system) -> measure() for every
        running system for which applies(system) returns "" (else that status), the
        missing ones with their reason, and the in-process limit last."""
        out: dict = {}
        for name, system in self.systems.items():
            status = applies(system)
            out[name] = status or (lambda workload, system=system: make(workload, system))
        out.update(self.missing)
        if limit is not None:
            out[LIMIT] = limit
        return out
