"""What the two README commands install: `ci/serve.sh` only what running the server
needs (no PostgreSQL server, whose package starts a cluster on 5432, no JDK, no test or
benchmark packages); `ci/test.sh` everything the tests need. Checked through
`ci/install.sh MODE --dry-run`, which prints the plan without running apt or pip."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

import pytest

from duckgres_trio.cli import connect_line

ROOT = Path(__file__).resolve().parent.parent
#: Packages only tests or benchmarks use.
TEST_ONLY = {"pytest", "pytest-trio", "hypothesis", "asyncpg", "sqlalchemy",
             "adbc-driver-flightsql", "adbc-driver-manager", "atheris", "matplotlib",
             "tpchgen-cli"}


def plan(mode: str) -> dict[str, str]:
    result = subprocess.run(["bash", str(ROOT / "ci/install.sh"), mode, "--dry-run"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return dict(line.split(": ", 1) for line in result.stdout.splitlines())


def names(requirements: str) -> set[str]:
    return {re.split(r"[\[<>=!~ ]", req, maxsplit=1)[0].lower()
            for req in requirements.split()}


def test_serve_installs_no_postgresql_server_jdk_or_test_package():
    serve = plan("serve")
    apt = serve["apt packages"].split()
    assert apt == ["postgresql-client-15"]  # psql, for the connect line
    assert not [p for p in apt if re.fullmatch(r"postgresql-\d+|.*jdk.*|.*jdbc.*", p)]
    assert serve["pip extras"] == "none"
    assert not names(serve["pip requirements"]) & TEST_ONLY
    # psycopg: the config store's client (tenancy/pgtrio.py)
    assert {"duckdb", "trio", "pglast", "psycopg"} <= names(serve["pip requirements"])


def test_test_installs_what_the_tests_need():
    test = plan("test")
    assert {"postgresql-15", "postgresql-client-15", "libpostgresql-jdbc-java",
            "openjdk-17-jdk-headless"} <= set(test["apt packages"].split())
    assert test["pip extras"] == "test,bench"
    assert TEST_ONLY <= names(test["pip requirements"])


def test_the_runtime_dependencies_exclude_test_libraries():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert not names(" ".join(project["dependencies"])) & TEST_ONLY
    assert set(project["optional-dependencies"]) == {"test", "bench"}


def test_the_readme_commands_install_for_their_purpose():
    assert "bash ci/install.sh serve\n" in (ROOT / "ci/serve.sh").read_text()
    assert "bash ci/install.sh test\n" in (ROOT / "ci/test.sh").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "bash ci/serve.sh" in readme and "bash ci/test.sh" in readme


def test_an_unknown_mode_is_refused():
    result = subprocess.run(["bash", str(ROOT / "ci/install.sh"), "everything"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "usage" in result.stderr


@pytest.mark.parametrize("args, line", [
    ([], 'psql "host=127.0.0.1 port=5432 user=postgres dbname=postgres sslmode=require" '
         "(password postgres)"),
    (["--host", "0.0.0.0", "--port", "6543", "--tls", "disabled"],
     'psql "host=127.0.0.1 port=6543 user=postgres dbname=postgres sslmode=disable" '
     "(password postgres)"),
    (["--users", "alice=md5" + "0" * 32, "--host", "10.1.2.3"],
     'psql "host=10.1.2.3 port=5432 user=alice dbname=postgres sslmode=require"'),
    (["--port", "nope"], ""),
])
def test_serve_prints_the_psql_line_for_its_arguments(args, line, monkeypatch):
    for name in ("DUCKGRES_HOST", "DUCKGRES_PORT", "DUCKGRES_TLS", "DUCKGRES_USERS",
                 "DUCKGRES_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    assert connect_line(args) == line
