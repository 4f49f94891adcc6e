"""psycopg 3 against a real server process, over TLS with SCRAM (the defaults)."""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import psycopg
import pytest
from psycopg import pq



def connect(server, **kw) -> psycopg.Connection:
    return psycopg.connect(server.dsn(**kw), autocommit=True)


def test_select_42_over_tls_with_scram(server):
    with connect(server) as conn:
        assert conn.execute("SELECT 42").fetchone() == (42,)
        assert conn.pgconn.ssl_in_use
        assert conn.info.parameter_status("server_version").startswith("15.")
        assert conn.info.parameter_status("TimeZone") == "UTC"
        assert conn.info.backend_pid > 0


def test_ddl_dml_and_command_tags(server):
    with connect(server, dbname="tags") as conn:
        cur = conn.cursor()
        cur.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name VARCHAR)")
        assert cur.statusmessage == "CREATE TABLE"
        cur.execute("INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c')")
        assert cur.statusmessage == "INSERT 0 3"
        assert cur.rowcount == 3
        cur.execute("UPDATE t SET name = 'z' WHERE id >= 2")
        assert cur.statusmessage == "UPDATE 2"
        cur.execute("DELETE FROM t WHERE id = 3")
        assert cur.statusmessage == "DELETE 1"
        cur.execute("SELECT id, name FROM t ORDER BY id")
        assert cur.statusmessage == "SELECT 2"
        assert cur.fetchall() == [(1, "a"), (2, "z")]
        cur.execute("INSERT INTO t VALUES (7, 'x') RETURNING id, name")
        assert cur.statusmessage == "INSERT 0 1"
        assert cur.fetchall() == [(7, "x")]
        cur.execute("CREATE TABLE t2 AS SELECT * FROM t")
        assert cur.statusmessage == "SELECT 3"
        cur.execute("DROP TABLE t2")
        assert cur.statusmessage == "DROP TABLE"
        cur.execute("CREATE VIEW v AS SELECT 1 AS one")
        assert cur.statusmessage == "CREATE VIEW"


def test_empty_result_keeps_its_columns(server):
    with connect(server) as conn:
        cur = conn.execute("SELECT 1 AS a, 'x' AS b WHERE false")
        assert [d.name for d in cur.description] == ["a", "b"]
        assert cur.fetchall() == []
        assert cur.statusmessage == "SELECT 0"


def test_many_rows_stream_in_order(server):
    with connect(server) as conn:
        rows = conn.execute("SELECT range AS i FROM range(100000)").fetchall()
        assert len(rows) == 100000
        assert rows[0] == (0,) and rows[-1] == (99999,)
        assert sum(r[0] for r in rows) == sum(range(100000))


TYPE_CASES = [
    ("true", True),
    ("false", False),
    ("1::TINYINT", 1),
    ("(-32768)::SMALLINT", -32768),
    ("2147483647::INTEGER", 2147483647),
    ("'-9223372036854775808'::BIGINT", -9223372036854775808),
    ("170141183460469231731687303715884105727::HUGEINT", Decimal(170141183460469231731687303715884105727)),
    ("18446744073709551615::UBIGINT", Decimal(18446744073709551615)),
    ("1.5::REAL", 1.5),
    ("0.1::DOUBLE", 0.1),
    ("'NaN'::DOUBLE", "nan"),
    ("'-Infinity'::DOUBLE", float("-inf")),
    ("123.4500::DECIMAL(10,4)", Decimal("123.4500")),
    ("(-0.001)::DECIMAL(38,3)", Decimal("-0.001")),
    ("'héllo ✓'", "héllo ✓"),
    ("''", ""),
    ("'\\x00\\xff'::BLOB", b"\x00\xff"),
    ("DATE '2024-02-29'", dt.date(2024, 2, 29)),
    ("TIME '13:14:15.123456'", dt.time(13, 14, 15, 123456)),
    ("TIMESTAMP '2024-01-02 03:04:05.5'", dt.datetime(2024, 1, 2, 3, 4, 5, 500000)),
    ("TIMESTAMPTZ '2024-01-02 03:04:05+00'",
     dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)),
    ("INTERVAL '1 day 02:03:04'", dt.timedelta(days=1, hours=2, minutes=3, seconds=4)),
    ("'5f0e0a4c-1b9a-4d8e-9e5e-2f6a3b7c8d9e'::UUID", uuid.UUID("5f0e0a4c-1b9a-4d8e-9e5e-2f6a3b7c8d9e")),
    ("'{\"a\": [1, 2]}'::JSON", {"a": [1, 2]}),
    ("[1, NULL, 3]", [1, None, 3]),
    ("['a b', NULL, '']", ["a b", None, ""]),
    ("[[1, 2], [3, 4]]", [[1, 2], [3, 4]]),
    ("NULL::INTEGER", None),
    ("255::UTINYINT", 255),
    ("4294967295::UINTEGER", 4294967295),
    ("TIMETZ '12:34:56+02'", dt.time(12, 34, 56, tzinfo=dt.timezone(dt.timedelta(hours=2)))),
    ("INTERVAL '1 year 2 months 3 days'", dt.timedelta(days=365 + 60 + 3)),
    ("INTERVAL '-1 day -00:00:01'", dt.timedelta(days=-1, seconds=-1)),
    ("[DATE '2024-01-01', NULL]", [dt.date(2024, 1, 1), None]),
    ("['5f0e0a4c-1b9a-4d8e-9e5e-2f6a3b7c8d9e'::UUID]", [uuid.UUID("5f0e0a4c-1b9a-4d8e-9e5e-2f6a3b7c8d9e")]),
    ("['a\"b', 'c\\d', '{e}']", ['a"b', "c\\d", "{e}"]),
    ("[1.5::DECIMAL(4,2)]", [Decimal("1.50")]),
    ("'a'::ENUM('a', 'b')", "a"),
    # a STRUCT is a PostgreSQL record (2249): psycopg reads an anonymous record's
    # fields as text, as it does from PostgreSQL's ROW(1, 'x')
    ("{'k': 1, 'v': 'x'}", ("1", "x")),
]


@pytest.mark.parametrize("expr, expected", TYPE_CASES, ids=[c[0] for c in TYPE_CASES])
def test_type_round_trip_in_text_format(server, expr, expected):
    with connect(server) as conn:
        (value,) = conn.execute(f"SELECT {expr}").fetchone()
    if expected == "nan":
        assert value != value
    else:
        assert value == expected
        assert type(value) is type(expected)


def test_timestamptz_follows_session_timezone(server):
    with connect(server) as conn:
        conn.execute("SET TimeZone = 'Asia/Kolkata'")
        assert conn.info.parameter_status("TimeZone") == "Asia/Kolkata"
        (text,) = conn.execute("SELECT (TIMESTAMPTZ '2024-01-02 03:04:05+00')::VARCHAR").fetchone()
        assert text.endswith("+05:30")
        cur = conn.cursor()
        cur.execute("SELECT TIMESTAMPTZ '2024-01-02 03:04:05+00'")
        (value,) = cur.fetchone()
        assert value == dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
        assert value.utcoffset() == dt.timedelta(hours=5, minutes=30)
        assert conn.execute("SHOW timezone").fetchone() == ("Asia/Kolkata",)
        with pytest.raises(psycopg.errors.InvalidParameterValue):
            conn.execute("SET TimeZone = 'Nowhere/Atlantis'")
        assert conn.execute("SHOW TimeZone").fetchone() == ("Asia/Kolkata",)


ERROR_CASES = [
    ("SELECT * FROM no_such_table", "42P01"),
    ("SELECT no_such_column FROM (SELECT 1 AS a)", "42703"),
    ("SELEKT 1", "42601"),
    ("SELECT 1 + 'x'::INTEGER", "22P02"),
    ("SELECT 1/0", "22012"),  # DuckDB alone answers NULL
    ("SELECT 5 % 0", "22012"),
    ("SELECT no_such_function(1)", "42883"),
]


@pytest.mark.parametrize("sql, sqlstate", ERROR_CASES)
def test_errors_carry_sqlstate_and_session_survives(server, sql, sqlstate):
    with connect(server) as conn:
        with pytest.raises(psycopg.Error) as info:
            conn.execute(sql)
        assert info.value.sqlstate == sqlstate
        assert "Error:" not in str(info.value).split("\n")[0]
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_unique_violation(server):
    with connect(server, dbname="uniq") as conn:
        conn.execute("CREATE TABLE u (id INTEGER PRIMARY KEY)")
        conn.execute("INSERT INTO u VALUES (1)")
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("INSERT INTO u VALUES (1)")


def test_transaction_status_and_25p02(server):
    with psycopg.connect(server.dsn(dbname="txn")) as conn:  # not autocommit
        conn.execute("CREATE TABLE IF NOT EXISTS acct (id INTEGER, v INTEGER)")
        assert conn.info.transaction_status == pq.TransactionStatus.INTRANS
        conn.commit()
        assert conn.info.transaction_status == pq.TransactionStatus.IDLE
        conn.execute("INSERT INTO acct VALUES (1, 10)")
        with pytest.raises(psycopg.errors.UndefinedTable):
            conn.execute("SELECT * FROM nope")
        assert conn.info.transaction_status == pq.TransactionStatus.INERROR
        with pytest.raises(psycopg.errors.InFailedSqlTransaction):
            conn.execute("SELECT 1")
        conn.rollback()
        assert conn.info.transaction_status == pq.TransactionStatus.IDLE
        assert conn.execute("SELECT count(*) FROM acct WHERE id = 1").fetchone() == (0,)


def test_commit_in_failed_transaction_rolls_back(server):
    with connect(server, dbname="txn2") as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS x (a INTEGER)")
        conn.execute("BEGIN")
        conn.execute("INSERT INTO x VALUES (1)")
        with pytest.raises(psycopg.Error):
            conn.execute("SELECT * FROM nope")
        cur = conn.execute("COMMIT")
        assert cur.statusmessage == "ROLLBACK"
        assert conn.execute("SELECT count(*) FROM x").fetchone() == (0,)


def test_multi_statement_query_is_one_implicit_transaction(server):
    with connect(server, dbname="implicit") as conn:
        conn.execute("CREATE TABLE m (a INTEGER)")
        with pytest.raises(psycopg.errors.UndefinedTable):
            conn.execute("INSERT INTO m VALUES (1); INSERT INTO m VALUES (2); SELECT * FROM nope")
        assert conn.execute("SELECT count(*) FROM m").fetchone() == (0,)
        conn.execute("INSERT INTO m VALUES (1); INSERT INTO m VALUES (2)")
        assert conn.execute("SELECT count(*) FROM m").fetchone() == (2,)
        assert conn.info.transaction_status == pq.TransactionStatus.IDLE


def test_cancel_interrupts_a_long_query(server):
    long_query = "SELECT count(*) FROM range(10000000000) a, range(1000) b"
    for method in ("cancel", "cancel_safe"):
        with connect(server) as conn:
            timer = threading.Timer(0.5, getattr(conn, method))
            timer.start()
            started = time.monotonic()
            with pytest.raises(psycopg.errors.QueryCanceled):
                conn.execute(long_query)
            assert time.monotonic() - started < 10
            timer.join()
            assert conn.execute("SELECT 7").fetchone() == (7,)


def test_twenty_concurrent_connections(server):
    with connect(server, dbname="conc") as setup:
        setup.execute("CREATE TABLE c (worker INTEGER, i INTEGER)")

    def work(n: int) -> int:
        with connect(server, dbname="conc") as conn:
            for i in range(10):
                conn.execute(f"INSERT INTO c VALUES ({n}, {i})")
            return conn.execute(f"SELECT sum(i) FROM c WHERE worker = {n}").fetchone()[0]

    barrier_start = time.monotonic()
    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(work, range(20)))
    assert results == [45] * 20
    assert time.monotonic() - barrier_start < 60
    with connect(server, dbname="conc") as conn:
        assert conn.execute("SELECT count(*) FROM c").fetchone() == (200,)


def test_second_connection_sees_committed_data(server):
    with connect(server, dbname="shared") as a, connect(server, dbname="shared") as b:
        a.execute("CREATE TABLE s (v VARCHAR)")
        a.execute("INSERT INTO s VALUES ('visible')")
        assert b.execute("SELECT v FROM s").fetchall() == [("visible",)]
        a.execute("BEGIN")
        a.execute("INSERT INTO s VALUES ('pending')")
        assert b.execute("SELECT count(*) FROM s").fetchone() == (1,)
        a.execute("COMMIT")
        assert b.execute("SELECT count(*) FROM s").fetchone() == (2,)
