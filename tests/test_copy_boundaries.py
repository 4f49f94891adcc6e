"""COPY TO STDOUT cut into CopyData messages where PostgreSQL 15 cuts them.

Clients read COPY data message by message: psycopg's ``rows()``/``read_row()`` parse
one CopyData at a time (a binary signature sent on its own is "bad copy data: fields
number truncated"), pgjdbc's ``CopyOut.readFromCopy()`` hands each one to the
application. So each statement here runs on both servers and the payloads are compared
one message at a time (psycopg's ``Copy.read()`` returns one CopyData per call), in
text, CSV and binary, with and without HEADER, with zero, one and many rows (more than
one result batch), from a query and from a table; then read back as rows by psycopg and
by pgjdbc's CopyManager.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import psycopg
import pytest

from tests.support.jdbc import JAR, compile_java, jdbc_url
from tests.support.pg15 import pg15_dsn  # noqa: F401 - pytest fixture

TABLE = "copy_boundaries_t"
SETUP = [
    f"DROP TABLE IF EXISTS {TABLE}",
    f"CREATE TABLE {TABLE} (id int, name text, score float8)",
    f"INSERT INTO {TABLE} VALUES (1, 'a', 1.5), (2, NULL, 2), (3, 'c\\d', NULL)",
]

# Same result types in both dialects (int4, text, float8, bool).
QUERY = ("SELECT n::int AS n, 'v' || n AS s, n / 2.0::float8 AS f, n % 2 = 0 AS even "
         "FROM generate_series(1, 3) AS g(n) ORDER BY n")
EMPTY = "SELECT 1::int AS a, 'x'::text AS b WHERE false"
NULLS = "SELECT NULL::int AS a, NULL::text AS b"
# More rows than one result batch (8192), so the signature must go out once only.
MANY = "SELECT n::int AS n FROM generate_series(1, 20000) AS g(n) ORDER BY n"

FORMATS = ["", "(FORMAT text, HEADER)", "(FORMAT csv)", "(FORMAT csv, HEADER)",
           "(FORMAT binary)", "BINARY", "CSV HEADER"]

STATEMENTS = (
    [f"COPY ({q}) TO STDOUT {f}".strip() for q in (QUERY, EMPTY, NULLS) for f in FORMATS]
    + [f"COPY {TABLE} TO STDOUT {f}".strip() for f in FORMATS]
    + [f"COPY {TABLE} (name, id) TO STDOUT (FORMAT binary)",
       f"COPY ({MANY}) TO STDOUT (FORMAT binary)", f"COPY ({MANY}) TO STDOUT (FORMAT csv)"]
)


def _setup(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        for sql in SETUP:
            conn.execute(sql)


@pytest.fixture(scope="module")
def dsns(server, pg15_dsn):  # noqa: F811
    """(ours, PostgreSQL's), both with the table."""
    for dsn in (server.dsn(), pg15_dsn):
        _setup(dsn)
    return server.dsn(), pg15_dsn


def messages(dsn: str, statement: str) -> list[bytes]:
    """The payload of every CopyData message, in order."""
    with psycopg.connect(dsn, autocommit=True) as conn, conn.cursor() as cur:
        with cur.copy(statement) as copy:
            out = []
            while data := copy.read():
                out.append(bytes(data))
        return out


@pytest.mark.parametrize("statement", STATEMENTS)
def test_copydata_messages_match_postgresql(dsns, statement):
    ours, theirs = (messages(dsn, statement) for dsn in dsns)
    assert len(ours) == len(theirs)
    assert ours == theirs


ROW_READS = [
    (f"COPY ({QUERY}) TO STDOUT (FORMAT binary)", ["int4", "text", "float8", "bool"]),
    (f"COPY ({EMPTY}) TO STDOUT (FORMAT binary)", ["int4", "text"]),
    (f"COPY ({NULLS}) TO STDOUT (FORMAT binary)", ["int4", "text"]),
    (f"COPY {TABLE} TO STDOUT (FORMAT binary)", ["int4", "text", "float8"]),
    (f"COPY ({MANY}) TO STDOUT (FORMAT binary)", ["int4"]),
    (f"COPY ({QUERY}) TO STDOUT", None),
    (f"COPY ({QUERY}) TO STDOUT (FORMAT text, HEADER)", None),  # psycopg: no CSV rows
    (f"COPY {TABLE} TO STDOUT", None),
]


def read_rows(dsn: str, statement: str, types: list[str] | None, *,
              one_at_a_time: bool) -> list[tuple]:
    with psycopg.connect(dsn, autocommit=True) as conn, conn.cursor() as cur:
        with cur.copy(statement) as copy:
            if types:
                copy.set_types(types)
            if not one_at_a_time:
                return list(copy.rows())
            rows = []
            while (row := copy.read_row()) is not None:
                rows.append(row)
            return rows


@pytest.mark.parametrize("one_at_a_time", [False, True], ids=["rows", "read_row"])
@pytest.mark.parametrize("statement,types", ROW_READS)
def test_psycopg_reads_rows_as_from_postgresql(dsns, statement, types, one_at_a_time):
    ours, theirs = (read_rows(dsn, statement, types, one_at_a_time=one_at_a_time)
                    for dsn in dsns)
    assert ours == theirs
    # Every test reads rows, except the zero-row one: a binary read that yields nothing
    # would agree with PostgreSQL while proving nothing.
    assert ours or "WHERE false" in statement


# -- pgjdbc's CopyManager ------------------------------------------------------------------

SOURCE = Path(__file__).parent / "java" / "CopyBoundaries.java"


@pytest.fixture(scope="module")
def copy_boundaries_class(tmp_path_factory) -> Path:
    return compile_java(SOURCE, tmp_path_factory.mktemp("copy-boundaries"))



def jdbc_copy(classes: Path, dsn: str, statements: list[str]) -> list[str]:
    proc = subprocess.run(
        ["java", "-cp", f"{classes}:{JAR}", "CopyBoundaries", jdbc_url(dsn)],
        input="\n".join(statements) + "\n", capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc.stdout.splitlines()


JDBC_STATEMENTS = [s for s in STATEMENTS if "20000" not in s]


def test_pgjdbc_copymanager_reads_the_messages_postgresql_sends(dsns, copy_boundaries_class):
    ours, theirs = (jdbc_copy(copy_boundaries_class, dsn, JDBC_STATEMENTS) for dsn in dsns)
    assert sum(line.startswith("STATEMENT ") for line in theirs) == len(JDBC_STATEMENTS)
    assert sum(line.startswith("MESSAGE ") for line in theirs) > len(JDBC_STATEMENTS)
    for mine, reference in zip(ours, theirs, strict=True):
        assert mine == reference
