"""COPY: TO STDOUT byte-identical to PostgreSQL 15 in text, CSV and binary; FROM STDIN
in the same formats, atomic (an error or CopyFail inserts nothing), read as PostgreSQL
reads it; through psycopg and psql's \\copy. What is not supported is refused cleanly."""

from __future__ import annotations

import struct
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


NUMBERS = "(n int, a int2, b int4, c int8, f float4, d float8, t text, v varchar(20))"
NUMBER_ROWS = [
    "(1, -32768, -2147483648, -9223372036854775808, '-Infinity', '-Infinity', 'é ☃ 𝄞', '')",
    "(2, 32767, 2147483647, 9223372036854775807, 'Infinity', 'Infinity', '', 'x')",
    "(3, 0, 0, 0, 'NaN', 'NaN', 'tab\tnl\n', 'v')",
    "(4, NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
    "(5, -1, 7, -42, 1.4e-45, 4.9e-324, repeat('long ', 300), NULL)",
    "(6, 1, NULL, 3, '-0', '-0', NULL, 'w')",
    "(7, NULL, 2, NULL, 3.4028235e38, 1.7976931348623157e308, 'a', NULL)",
]


def test_binary_copy_from_reads_whole_columns_as_postgresql_does(server, pg15_dsn):  # noqa: F811
    """int2/int4/int8/float4/float8/text/varchar binary fields are read a column at a
    time: extremes, NULLs, -0, NaN and non-ASCII come back as PostgreSQL reads them."""
    with psycopg.connect(pg15_dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS nums_src")
        conn.execute(f"CREATE TABLE nums_src {NUMBERS}")
        conn.execute("INSERT INTO nums_src VALUES " + ", ".join(NUMBER_ROWS))
    data = copy_out(pg15_dsn, "COPY (SELECT * FROM nums_src ORDER BY n) TO STDOUT (FORMAT binary)")
    results = []
    for dsn in (server.dsn(), pg15_dsn):
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("DROP TABLE IF EXISTS nums")
            conn.execute(f"CREATE TABLE nums {NUMBERS}")
        assert copy_in(dsn, "COPY nums FROM STDIN (FORMAT binary)", data) == "COPY 7"
        results.append(copy_out(dsn, "COPY (SELECT * FROM nums ORDER BY n) TO STDOUT (FORMAT binary)"))
    assert results[0] == results[1]


def binary_copy(*rows: tuple[bytes | None, ...]) -> bytes:
    """PGCOPY data of rows of raw fields (None: NULL)."""
    body = b"".join(
        struct.pack("!h", len(row)) + b"".join(
            struct.pack("!i", -1) if f is None else struct.pack("!i", len(f)) + f for f in row)
        for row in rows)
    return b"PGCOPY\n\xff\r\n\x00" + bytes(8) + body + struct.pack("!h", -1)


@pytest.mark.parametrize("fields, sqlstate", [
    ((struct.pack("!q", 1), b"x"), "22P03"),  # an int4 of 8 bytes
    ((struct.pack("!i", 1), b"a\x00b"), "22021"),  # NUL in text
    ((struct.pack("!i", 1), b"\xff\xfe"), "22021"),  # not UTF-8
    ((struct.pack("!h", 1), b"x"), "08P01"),  # an int4 of 2 bytes: PostgreSQL runs out
])
def test_binary_copy_from_refuses_what_postgresql_refuses(server, pg15_dsn, fields, sqlstate):  # noqa: F811
    data = binary_copy((struct.pack("!i", 2), b"fine"), (None, None), fields)
    for dsn in (server.dsn(), pg15_dsn):
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("DROP TABLE IF EXISTS refused")
            conn.execute("CREATE TABLE refused (i int4, t text)")
            with pytest.raises(psycopg.Error) as caught:
                with conn.cursor().copy("COPY refused FROM STDIN (FORMAT binary)") as copy:
                    copy.write(data)
            assert caught.value.sqlstate == sqlstate, dsn
            assert conn.execute("SELECT count(*) FROM refused").fetchone() == (0,)


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
    ours, theirs = (
        read_back(dsn, "forced (a text, b text, n int)", "n",
                  lambda: copy_in(dsn, f"COPY forced FROM STDIN ({options})", data))
        for dsn in (server.dsn(), pg15_dsn))
    assert ours == theirs


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


# -- COPY FROM STDIN: the columnar fast path (wire/copy.py CopyInParser._columnar) -------

def read_back(dsn: str, table: str, order: str, load) -> list[tuple]:
    """Create ``table`` ("name (columns)") afresh, ``load()`` it, and read it back."""
    name = table.split(" ", 1)[0]
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {name}")
        conn.execute(f"CREATE TABLE {table}")
    load()
    with psycopg.connect(dsn) as conn:
        return conn.execute(f"SELECT * FROM {name} ORDER BY {order}").fetchall()


def copy_in_rows(dsn: str, statement: str, rows: list[bytes]) -> str:
    """One CopyData message per row, as pgbench sends them: the server joins the
    messages it has received, so its parser sees many records at once."""
    with psycopg.connect(dsn, autocommit=True) as conn, conn.cursor() as cur:
        with cur.copy(statement) as copy:
            for row in rows:
                copy.write(row)
        return cur.statusmessage


def copy_error(dsn: str, statement: str, data: bytes) -> psycopg.Error:
    with psycopg.connect(dsn, autocommit=True) as conn:
        with pytest.raises(psycopg.Error) as info:
            with conn.cursor().copy(statement) as copy:
                copy.write(data)
        return info.value


FAST_TABLE = "(id int, name text, score float8, day date, raw bytea, ok bool)"
PLAIN = [b"%d\tname %d\t%d.5\t2024-01-%02d\traw %d\t%s\n"
         % (i, i, i, i % 28 + 1, i, b"tf"[i % 2:i % 2 + 1]) for i in range(3000)]
MIXED = (PLAIN[:1000]
         + [b"1000\t\\N\t\\N\t\\N\t\\N\t\\N\n", b"1001\t\t0\t2024-01-01\t\\\\x\tt\n",
            b"1002\ttab\\there\\\\ and \\N\t1\t\\N\t\\N\t\\N\n",
            b"1003\t\\\\N\t2\t\\N\t\\N\t\\N\n",
            b"1004\t\xc3\xa9t\xc3\xa9 \\x41\\101\t3\t\\N\t\\N\tf\n"]
         + [b"%d\t\t\\N\t\\N\t\t\\N\n" % i for i in range(1005, 1010)]
         + PLAIN[1010:])


@pytest.mark.parametrize("chunking", ["one write", "a message per row", "7-byte messages"])
@pytest.mark.parametrize("rows", [PLAIN, MIXED], ids=["plain", "mixed"])
def test_text_copy_in_chunks_match_postgresql(server, pg15_dsn, chunking, rows):  # noqa: F811
    """Plain rows (the fast path), escapes, NULLs and empty strings: the same table as
    PostgreSQL's, however the records fall into CopyData messages."""
    data = b"".join(rows)
    rows = rows if chunking == "a message per row" else [data]
    tables = []
    for dsn in (server.dsn(), pg15_dsn):
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("DROP TABLE IF EXISTS fast")
            conn.execute(f"CREATE TABLE fast {FAST_TABLE}")
        if chunking == "7-byte messages":
            assert copy_in(dsn, "COPY fast FROM STDIN", data) == "COPY 3000"
        else:
            assert copy_in_rows(dsn, "COPY fast FROM STDIN", rows) == "COPY 3000"
        tables.append(copy_out(dsn, "COPY (SELECT * FROM fast ORDER BY id) TO STDOUT"))
    assert tables[0] == tables[1]
    assert tables[0].count(b"\n") == 3000


@pytest.mark.parametrize("options, rows", [
    ("(FORMAT csv)", [b"%d,x%d,\n" % (i, i) for i in range(2000)] + [b'2000,"a,b",""\n']),
    ("(FORMAT csv, NULL 'NA', DELIMITER ';')",
     [b"%d;NA;%s\n" % (i, b"" if i % 3 else b"NA") for i in range(2000)]),
    ("(FORMAT csv, FORCE_NOT_NULL (name))", [b"%d,,\n" % i for i in range(2000)]),
    ("(FORMAT csv, FORCE_NULL (name, note))", [b"%d,,x\n" % i for i in range(2000)]),
    ("(FORMAT csv, HEADER)", [b"id,name,note\n"] + [b"%d,\\,\\N\n" % i for i in range(2000)]),
    ("(FORMAT text, NULL '')", [b"%d\t\tx\n" % i for i in range(2000)]),
    ("", [b"%d\tcrlf\t\\N\r\n" % i for i in range(2000)]),
    ("", [b"%d\ta\tb\n" % i for i in range(2000)] + [b"\\.\n", b"9999\tafter\tend\n"]),
    ("(FORMAT csv)", [b"%d,a,b\n" % i for i in range(2000)] + [b"\\.\n", b"9999,x,y\n"]),
    ("", [b"\xef\xbb\xbf0\ta\tb\n"] + [b"%d\t\xef\xbb\xbf\tb\n" % i for i in range(1, 2000)]),
])
def test_copy_in_fast_path_options_match_postgresql(server, pg15_dsn, options, rows):  # noqa: F811
    ours, theirs = (
        read_back(dsn, "fastopt (id text, name text, note text)", "id",
                  lambda: copy_in_rows(dsn, f"COPY fastopt FROM STDIN {options}", rows))
        for dsn in (server.dsn(), pg15_dsn))
    assert ours == theirs
    assert len(ours) >= 2000


@pytest.mark.parametrize("bad, message", [
    (b"1500\tname\textra\n", "extra data after last expected column (line 1501)"),
    (b"1500\n", "missing data for column (line 1501)"),
    (b"\n", "missing data for column (line 1501)"),
])
def test_copy_in_field_count_errors_name_the_line(server, bad, message):
    """A wrong field count inside a run of plain records: the same error and line as
    the record-by-record parser gives (the run is parsed again by it)."""
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS counted")
        conn.execute("CREATE TABLE counted (id int, name text)")
    good = b"".join(b"%d\tname\n" % i for i in range(3000))
    cut = good.index(b"1500\t")
    error = copy_error(server.dsn(), "COPY counted FROM STDIN", good[:cut] + bad + good[cut:])
    assert isinstance(error, psycopg.errors.BadCopyFileFormat)
    assert error.diag.message_primary == message
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM counted").fetchone() == (0,)


# Sans-IO: the parser's columnar pieces are the record-by-record parser's rows.

def _parsed(options, columns: int, chunks: list[bytes], *, fast: bool):
    from duckgres_trio.wire.copy import CopyFormatError, CopyInParser

    parser = CopyInParser(options, columns, [f"c{i}" for i in range(columns)])
    if not fast:
        parser._fast = None
    rows, tables = [], 0
    try:
        for chunk in chunks + [None]:
            pieces = parser.finish_pieces() if chunk is None else parser.feed_pieces(chunk)
            for piece in pieces:
                if isinstance(piece, list):
                    rows += piece
                else:
                    tables += 1
                    rows += [list(r) for r in zip(*(c.to_pylist() for c in piece.columns))]
    except CopyFormatError as exc:
        rows.append(str(exc))
    return rows, parser.line, tables


TEXT, CSV = "text", "csv"


@pytest.mark.parametrize("fmt, columns, chunks, columnar", [
    (TEXT, 3, [b"1\ta\t\\N\n2\t\tb\n3\tc\td\n"], True),  # NULL, empty string
    (TEXT, 3, [b"1\ta\t\\N\n2\t", b"\tb\n3\tc", b"\td\n"], True),  # records cut
    (TEXT, 3, [b"1\ta\\tb\t\\N\n2\t\tb\n"], False),  # an escape: record by record
    (TEXT, 3, [b"1\t\\\\N\t\\N\n"], False),  # an escaped backslash next to a NULL
    (TEXT, 2, [b"1\ta\n\\.\n3\tb\n"], False),  # the end marker
    (TEXT, 2, [b"1\ta\r\n3\tb\r\n"], False),  # CRLF
    (TEXT, 2, [b"1\ta\n\n2\tb\n"], False),  # an empty line is an error, not a row
    (TEXT, 1, [b"1\n\n\\N\n"], True),  # ... unless one field: an empty string
    (TEXT, 2, [b"1\ta\n2\tb\tc\n"], False),  # extra data, line 2
    (TEXT, 2, [b"1\ta\n2\n"], False),  # missing data, line 2
    (TEXT, 2, [b"\xef\xbb\xbf1\ta\n"], False),  # Arrow would drop the BOM
    (TEXT, 2, [b"1\ta\n2\tb"], True),  # the last record's newline missing
    (CSV, 2, [b"1,\n2,x\n3,", b"y\n"], True),
    (CSV, 2, [b'1,\n2,"x\ny"\n3,z\n'], False),  # quotes: record by record
    (CSV, 2, [b"1,\n2,x\n3,y,z\n"], False),
    (CSV, 2, [b"1,\\.\n\\.\n2,x\n"], False),
])
def test_columnar_pieces_equal_the_rows(fmt, columns, chunks, columnar):
    from duckgres_trio.wire.copy import CopyOptions

    options = CopyOptions() if fmt == TEXT else CopyOptions(format="csv", delimiter=",",
                                                           null="")
    fast = _parsed(options, columns, chunks, fast=True)
    slow = _parsed(options, columns, chunks, fast=False)
    assert fast[:2] == slow[:2]
    assert slow[2] == 0
    assert (fast[2] > 0) == columnar, fast


def test_copy_data_messages_are_joined_until_another_message():
    from collections import deque
    from types import SimpleNamespace

    from duckgres_trio.frontend.connection import Connection

    d, c, s, h, q = (ord(k) for k in "dcSHQ")
    conn = SimpleNamespace(_inbox=deque([(d, b"b"), (h, b""), (d, b"c"), (s, b""),
                                         (c, b""), (d, b"e")]))
    assert Connection._join_copy_data(conn, b"a") == b"abc"
    assert list(conn._inbox) == [(c, b""), (d, b"e")]
    conn = SimpleNamespace(_inbox=deque([(d, b"x" * (1 << 20)), (d, b"y"), (q, b"")]))
    assert Connection._join_copy_data(conn, b"a") == b"a" + b"x" * (1 << 20)
    assert list(conn._inbox) == [(d, b"y"), (q, b"")]
