"""The layer rules of docs/architecture.md, checked by what an import really loads:
``wire`` (the sans-IO PostgreSQL protocol) loads neither trio nor DuckDB, and the worker
process loads no PostgreSQL protocol code (``wire``, the Rust codec); and by the import
graph: the frontend's modules import one another one way (no cycle, counting imports
made for type annotations only and those inside functions)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

# imports in fresh interpreters, both codecs named: no server (tests/conftest.py)
pytestmark = pytest.mark.mode_independent


def loaded_after(*modules: str) -> set[str]:
    """The modules a fresh interpreter holds after importing ``modules``."""
    code = ("import sys\n" + "".join(f"import {m}\n" for m in modules)
            + "print('\\n'.join(sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True, timeout=60).stdout
    return set(out.split())


@pytest.mark.parametrize("codec", ["rust", "python"])
def test_wire_loads_neither_trio_nor_duckdb(codec, monkeypatch):
    monkeypatch.setenv("DUCKGRES_CODEC", codec)
    loaded = loaded_after("duckgres_trio.wire.frontend", "duckgres_trio.wire.backend",
                          "duckgres_trio.wire.params", "duckgres_trio.wire.rows",
                          "duckgres_trio.wire.copy", "duckgres_trio.wire.records")
    assert {"trio", "duckdb"} & loaded == set()


def test_worker_loads_no_postgresql_protocol():
    loaded = loaded_after("duckgres_trio.worker.main", "duckgres_trio.worker.flightsql",
                          "duckgres_trio.worker.statements", "duckgres_trio.worker.session")
    assert "duckgres_trio.worker.flightsql" in loaded
    assert sorted(m for m in loaded if m.startswith("duckgres_trio.wire")
                  or m == "duckgres_trio._native") == []


FRONTEND = Path(__file__).resolve().parents[1] / "python" / "duckgres_trio" / "frontend"


def frontend_imports(source: str) -> set[str]:
    """The frontend modules a module's source imports, wherever the import stands."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "duckgres_trio.frontend":
                found.update(alias.name for alias in node.names)
            elif node.module.startswith("duckgres_trio.frontend."):
                found.add(node.module.split(".")[2])
        elif isinstance(node, ast.Import):
            found.update(alias.name.split(".")[2] for alias in node.names
                         if alias.name.startswith("duckgres_trio.frontend."))
    return found


def import_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of ``graph`` (module -> modules it imports) as a path, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node], _ = 1, path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node], _ = 2, path.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_import_cycle_is_found():
    assert import_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert import_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None
    assert frontend_imports("if TYPE_CHECKING:\n    from duckgres_trio.frontend.session "
                            "import Session\nfrom duckgres_trio.frontend import bpchar\n"
                            "def f():\n    import duckgres_trio.frontend.server\n"
                            ) == {"session", "bpchar", "server"}


def test_frontend_imports_go_one_way():
    """The protocol layer calls down (connection -> extended -> session -> statements,
    the server -> connection), never called back through an import of the caller:
    what a lower module needs of the one above it is a Protocol it declares itself."""
    graph = {path.stem: frontend_imports(path.read_text()) - {path.stem}
             for path in FRONTEND.glob("*.py")}
    assert {"connection", "extended", "session", "statements", "server"} <= graph.keys()
    assert import_cycle(graph) is None
