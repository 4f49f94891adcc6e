"""COPY: TO STDOUT byte-identical to PostgreSQL 15 in text, CSV and binary; FROM STDIN
in the same formats, atomic (an error or CopyFail inserts nothing), read as PostgreSQL
reads it; through psycopg and psql's \\copy. What is not supported is refused cleanly."""

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
    ("COPY no_such_table FROM STDIN", "42P01"),
    ("COPY (SELECT 1) FROM STDIN", "42601"),
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


# -- COPY FROM STDIN ---------------------------------------------------------------------

TABLE = ("(id int, name text, score float8, day date, raw bytea, ok bool, span interval, "
         "amount numeric(12,3), stamp timestamp)")
SAMPLE = " UNION ALL ".join([
    "SELECT 1, 'plain', 1.5, DATE '2024-02-29', '\\x00ff'::bytea, true, "
    "INTERVAL '1 day 02:00:00', 12.5::numeric(12,3), TIMESTAMP '2024-01-02 03:04:05.678'",
    "SELECT 2, 'tab' || chr(9) || 'nl' || chr(10) || 'cr' || chr(13) || 'bs \\ q \"', "
    "-0.25, DATE '1999-12-31', ''::bytea, false, INTERVAL '-3 months', -1, "
    "TIMESTAMP '1970-01-01 00:00:00'",
    "SELECT 3, '', NULL, NULL, NULL, NULL, NULL, NULL, NULL",
    "SELECT 4, '\\N', 1e300, DATE '2000-01-01', '\\x5c4e'::bytea, true, "
    "INTERVAL '0 seconds', 0, TIMESTAMP '2000-01-01 00:00:00'",
    "SELECT 5, NULL, 2.5, DATE '2024-01-01', NULL, NULL, NULL, 99999.999, NULL",
])
FORMATS = ["", "(FORMAT csv)", "(FORMAT csv, HEADER, DELIMITER ';', NULL 'NA')",
           "(FORMAT text, DELIMITER '|', NULL '<null>')", "(FORMAT binary)"]


def reset(dsn: str, name: str, source: bool) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {name}")
        conn.execute(f"CREATE TABLE {name} {TABLE}")
        if source:
            conn.execute(f"INSERT INTO {name} {SAMPLE}")


def copy_in(dsn: str, statement: str, data: bytes) -> str:
    with psycopg.connect(dsn, autocommit=True) as conn, conn.cursor() as cur:
        with cur.copy(statement) as copy:
            for start in range(0, len(data), 7):  # records cut across CopyData messages
                copy.write(data[start:start + 7])
        return cur.statusmessage


@pytest.mark.parametrize("options", FORMATS)
def test_copy_from_stdin_reads_what_postgresql_writes(server, pg15_dsn, options):  # noqa: F811
    """PostgreSQL writes the data; both servers read it back; both tables match."""
    reset(pg15_dsn, "src", source=True)
    data = copy_out(pg15_dsn, f"COPY src TO STDOUT {options}")
    results = []
    for dsn in (server.dsn(), pg15_dsn):
        reset(dsn, "dst", source=False)
        assert copy_in(dsn, f"COPY dst FROM STDIN {options}", data) == "COPY 5"
        results.append(copy_out(dsn, "COPY (SELECT * FROM dst ORDER BY id) TO STDOUT"))
    assert results[0] == results[1]


def test_copy_from_stdin_with_a_column_list(server):
    reset(server.dsn(), "partial", source=False)
    data = b"a,\n,7\n\"q,\"\"x\"\"\n\",8\n"
    assert copy_in(server.dsn(), "COPY partial (name, id) FROM STDIN (FORMAT csv)", data) \
        == "COPY 3"
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        rows = conn.execute("SELECT name, id, score FROM partial ORDER BY id NULLS FIRST")
        assert rows.fetchall() == [("a", None, None), (None, 7, None), ('q,"x"\n', 8, None)]


def test_copy_fail_and_errors_insert_nothing(server):
    reset(server.dsn(), "atomic", source=False)
    good = b"".join(b"%d\tname\n" % i for i in range(120_000))  # more than one batch
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        with pytest.raises(RuntimeError):
            with conn.cursor().copy("COPY atomic (id, name) FROM STDIN") as copy:
                copy.write(good)
                raise RuntimeError("the client gives up")  # psycopg sends CopyFail
        assert conn.execute("SELECT count(*) FROM atomic").fetchone() == (0,)
        with pytest.raises(psycopg.errors.InvalidTextRepresentation):
            with conn.cursor().copy("COPY atomic (id, name) FROM STDIN") as copy:
                copy.write(good + b"oops\tname\n")
        with pytest.raises(psycopg.errors.BadCopyFileFormat):
            with conn.cursor().copy("COPY atomic (id, name) FROM STDIN") as copy:
                copy.write(b"1\tname\textra\n")
        assert conn.execute("SELECT count(*) FROM atomic").fetchone() == (0,)
        conn.execute("BEGIN")
        with conn.cursor().copy("COPY atomic (id, name) FROM STDIN") as copy:
            copy.write(b"1\tkept only if committed\n")
        conn.execute("ROLLBACK")
        assert conn.execute("SELECT count(*) FROM atomic").fetchone() == (0,)


@pytest.mark.parametrize("fmt", ["text", "csv", "binary"])
def test_copy_round_trip_of_many_rows(server, fmt):
    rows = 1_000_000
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS big_{fmt}")
        conn.execute(f"CREATE TABLE big_{fmt} (id bigint, label text, x float8)")
        with conn.cursor() as cur:
            with cur.copy(f"COPY (SELECT range, 'row ' || range, range::float8 / 7 "
                          f"FROM range({rows})) "
                          f"TO STDOUT (FORMAT {fmt})") as copy:
                data = b"".join(bytes(chunk) for chunk in copy)
            with cur.copy(f"COPY big_{fmt} FROM STDIN (FORMAT {fmt})") as copy:
                copy.write(data)
            assert cur.statusmessage == f"COPY {rows}"
        check = conn.execute(
            f"SELECT count(*), sum(id), count(DISTINCT label), "
            f"count(*) FILTER (WHERE b.x = r.range::float8 / 7 AND b.label = 'row ' || r.range) "
            f"FROM big_{fmt} b JOIN range({rows}) r ON b.id = r.range").fetchone()
        assert check == (rows, rows * (rows - 1) // 2, rows, rows)  # every value exact


def test_psql_copy_from_file(server, tmp_path):
    source = tmp_path / "in.csv"
    source.write_text("n,label\n" + "".join(f"{i},\"row, {i}\"\n" for i in range(1000)))
    subprocess.run(["psql", server.dsn(), "-v", "ON_ERROR_STOP=1",
                    "-c", "DROP TABLE IF EXISTS from_psql",
                    "-c", "CREATE TABLE from_psql (n int, label text)",
                    "-c", f"\\copy from_psql FROM '{source}' WITH (FORMAT csv, HEADER)"],
                   check=True, capture_output=True, timeout=60)
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        assert conn.execute("SELECT count(*), max(label) FROM from_psql").fetchone() == (
            1000, "row, 999")


@pytest.mark.parametrize("options", [
    "FORMAT csv, FORCE_NULL (a, b)",
    "FORMAT csv, FORCE_NOT_NULL (a)",
    "FORMAT csv, FORCE_NULL (b), FORCE_NOT_NULL (a)",
    "FORMAT csv, NULL 'x', FORCE_NULL (a), FORCE_NOT_NULL (b)",
])
def test_force_null_and_force_not_null_read_as_postgresql_does(server, pg15_dsn, options):  # noqa: F811
    data = b'"",,1\n,"",2\n"x",x,3\nx,"x",4\n'
    tables = []
    for dsn in (server.dsn(), pg15_dsn):
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("DROP TABLE IF EXISTS forced")
            conn.execute("CREATE TABLE forced (a text, b text, n int)")
        copy_in(dsn, f"COPY forced FROM STDIN ({options})", data)
        with psycopg.connect(dsn) as conn:
            tables.append(conn.execute("SELECT a, b, n FROM forced ORDER BY n").fetchall())
    assert tables[0] == tables[1]


@pytest.mark.parametrize("statement", [
    "COPY t FROM STDIN (FORCE_NULL (a))",  # text format
    "COPY t TO STDOUT (FORMAT csv, FORCE_NOT_NULL (a))",
    "COPY t FROM STDIN (FORMAT csv, FORCE_QUOTE (a))",
])
def test_force_options_in_the_wrong_place_are_0a000(server, statement):
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS t (a text)")
        with pytest.raises(psycopg.errors.FeatureNotSupported):
            with conn.cursor().copy(statement):
                pass
