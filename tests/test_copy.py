"""COPY ... TO STDOUT: byte-identical to PostgreSQL 15 in text, CSV and binary, through
psycopg and psql's \\copy; what is not supported is refused cleanly."""

from __future__ import annotations

import subprocess

import psycopg
import pytest

from tests.support.pg15 import pg15_dsn  # noqa: F401 - pytest fixture

# Valid in both dialects, with the same result types (int4, text, float8, date, bool,
# numeric, timestamp), and values that exercise the escaping rules.
ROWS = " UNION ALL ".join([
    "SELECT 1::int AS id, 'plain' AS t, 1.5::float8 AS f, DATE '2024-02-29' AS d, "
    "true AS b, 12.50::numeric(10,2) AS n, TIMESTAMP '2024-01-02 03:04:05.678' AS ts",
    "SELECT 2, 'tab' || chr(9) || 'and' || chr(10) || 'newline' || chr(13), -0.25, "
    "DATE '1999-12-31', false, -1.00::numeric(10,2), TIMESTAMP '1970-01-01 00:00:00'",
    "SELECT 3, 'comma, \"quote\" and \\ backslash', NULL, NULL, NULL, NULL, NULL",
    "SELECT 4, '', 1e300, DATE '2000-01-01', true, 0::numeric(10,2), "
    "TIMESTAMP '2000-01-01 00:00:00'",
    "SELECT 5, NULL, 3.0, DATE '2024-01-01', NULL, 12345678.12::numeric(10,2), NULL",
    "SELECT 6, '\\N', 2.5, DATE '2024-01-01', true, 1::numeric(10,2), NULL",
])
QUERY = f"SELECT * FROM ({ROWS}) AS v ORDER BY id"

OPTIONS = [
    "",
    "(FORMAT text, DELIMITER '|', NULL 'NULL')",
    "(FORMAT csv)",
    "(FORMAT csv, HEADER)",
    "(FORMAT csv, HEADER true, DELIMITER ';', NULL 'NA', QUOTE '''')",
    "(FORMAT csv, FORCE_QUOTE *)",
    "(FORMAT csv, FORCE_QUOTE (t, d), ESCAPE '\\')",
    "CSV HEADER",  # the pre-9.0 syntax psql users still write
    "WITH CSV DELIMITER AS '|' NULL AS '-'",
    "(FORMAT binary)",
    "BINARY",
]


def copy_out(dsn: str, statement: str) -> bytes:
    with psycopg.connect(dsn, autocommit=True) as conn, conn.cursor() as cur:
        with cur.copy(statement) as copy:
            data = b"".join(bytes(chunk) for chunk in copy)
        return data


@pytest.mark.parametrize("options", OPTIONS)
def test_copy_query_to_stdout_matches_postgresql(server, pg15_dsn, options):  # noqa: F811
    statement = f"COPY ({QUERY}) TO STDOUT {options}"
    assert copy_out(server.dsn(), statement) == copy_out(pg15_dsn, statement)


def test_copy_table_with_columns(server, pg15_dsn):  # noqa: F811
    setup = ["DROP TABLE IF EXISTS copied",
             "CREATE TABLE copied (id int, name text, score float8)",
             "INSERT INTO copied VALUES (1, 'a', 1.5), (2, NULL, 2), (3, 'c\\d', NULL)"]
    outputs = []
    for dsn in (server.dsn(), pg15_dsn):
        with psycopg.connect(dsn, autocommit=True) as conn:
            for sql in setup:
                conn.execute(sql)
        outputs.append([copy_out(dsn, f"COPY copied {cols} TO STDOUT {opts}")
                        for cols in ("", "(name, id)") for opts in ("", "(FORMAT csv)")])
    assert outputs[0] == outputs[1]


def test_psql_copy_to_file(server, tmp_path):
    target = tmp_path / "out.csv"
    subprocess.run(["psql", server.dsn(), "-v", "ON_ERROR_STOP=1", "-c",
                    f"\\copy (SELECT range AS n, 'row ' || range AS label FROM range(1000)) "
                    f"TO '{target}' WITH (FORMAT csv, HEADER)"],
                   check=True, capture_output=True, timeout=60)
    lines = target.read_text().splitlines()
    assert lines[0] == "n,label" and lines[1] == "0,row 0" and lines[-1] == "999,row 999"
    assert len(lines) == 1001


def test_large_copy_streams(server):
    rows = 0
    with psycopg.connect(server.dsn(), autocommit=True) as conn, conn.cursor() as cur:
        with cur.copy("COPY (SELECT range AS n, range * 2 AS m FROM range(200000)) "
                      "TO STDOUT") as copy:
            for chunk in copy:
                rows += bytes(chunk).count(b"\n")
    assert rows == 200000


@pytest.mark.parametrize("statement, sqlstate", [
    ("COPY t FROM STDIN", "0A000"),
    ("COPY (SELECT 1) TO STDOUT (FORMAT xml)", "22023"),
    ("COPY (SELECT 1) TO STDOUT (FORMAT csv, DELIMITER 'ab')", "0A000"),
    ("COPY (SELECT 1) TO STDOUT (FORMAT binary, HEADER)", "0A000"),
    ("COPY (SELECT 1) TO STDOUT (FORMAT csv, FORMAT text)", "42601"),
    ("COPY (SELECT 1 TO STDOUT", "42601"),
    ("COPY (SELECT * FROM no_such_table) TO STDOUT", "42P01"),
])
def test_refusals_keep_the_session(server, statement, sqlstate):
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        with pytest.raises(psycopg.Error) as info:
            with conn.cursor().copy(statement) as copy:
                for _ in copy:
                    pass
        assert info.value.sqlstate == sqlstate, info.value
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_copy_in_the_extended_protocol_is_refused(server):
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        with pytest.raises(psycopg.errors.FeatureNotSupported):
            conn.execute("COPY (SELECT 1) TO STDOUT", prepare=True)
        assert conn.execute("SELECT 2").fetchone() == (2,)
