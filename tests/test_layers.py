"""The layer rules of docs/architecture.md, checked by what an import really loads:
``wire`` (the sans-IO PostgreSQL protocol) loads neither trio nor DuckDB, and the worker
process loads no PostgreSQL protocol code (``wire``, the Rust codec)."""

from __future__ import annotations

import subprocess
import sys

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
