"""pg_error_from_duckdb against errors DuckDB 1.5 really raises.

Each row runs SQL that fails on a fresh in-memory database, so a DuckDB upgrade that
rewords a message or moves it to another exception class shows up here as a wrong
SQLSTATE. The few classes no SQL can reach reliably (internal, fatal, HTTP, ...) are
built by hand with the message shape DuckDB gives them.
"""

from __future__ import annotations

import threading

import duckdb
import pytest

from duckgres_trio.engine.errors import for_statement, pg_error_from_duckdb
from duckgres_trio.errors import PgError, SqlState as S
from duckgres_trio.sql.translate import translate

# in-process DuckDB and the translator: no server, the same in either mode (tests/conftest.py)
pytestmark = pytest.mark.mode_independent

SETUP = """
create table t(a int primary key, b int not null, c int check (c > 0));
insert into t values (1, 1, 1);
create table parent(id int primary key);
create table child(x int references parent(id));
insert into parent values (1);
insert into child values (1);
create table a1(x int);
create table a2(x int);
create view v as select 1 as x;
create sequence seq maxvalue 2;
create macro m(x) as x;
create schema sc;
create table sc.inner_t(a int);
"""


@pytest.fixture
def conn() -> duckdb.DuckDBPyConnection:
    c = duckdb.connect()
    c.execute(SETUP)
    yield c
    c.close()


def failing(conn: duckdb.DuckDBPyConnection, sql: str) -> duckdb.Error:
    with pytest.raises(duckdb.Error) as info:
        conn.execute(sql)
    return info.value


def assert_clean_message(err: PgError) -> None:
    assert "Error: " not in err.message
    assert "\n" not in err.message
    assert err.message


CASES = [
    # Catalog: missing objects
    ("select * from nosuch", S.UNDEFINED_TABLE),
    ("drop view nosuch", S.UNDEFINED_TABLE),
    ("drop sequence nosuch", S.UNDEFINED_TABLE),
    ('select * from "already exists!"', S.UNDEFINED_TABLE),
    ("select * from nosuch.t", S.UNDEFINED_TABLE),  # PostgreSQL reports the relation
    ("drop schema nosuch", S.INVALID_SCHEMA_NAME),
    ("set search_path = 'nosuch'", S.INVALID_SCHEMA_NAME),
    ("create table nosuchdb.main.t(a int)", S.INVALID_CATALOG_NAME),
    ("select nosuchfn(1)", S.UNDEFINED_FUNCTION),
    ("select * from nosuchfn()", S.UNDEFINED_FUNCTION),
    ("drop function nosuch", S.UNDEFINED_FUNCTION),
    ("select 1::nosuchtype", S.UNDEFINED_OBJECT),
    ("select 'a' collate nosuchcoll", S.UNDEFINED_OBJECT),
    ("set nosuchsetting = 1", S.UNDEFINED_OBJECT),
    # Catalog: duplicates and other
    ("create table t(a int)", S.DUPLICATE_TABLE),
    ("create view v as select 2", S.DUPLICATE_TABLE),
    ("create sequence seq", S.DUPLICATE_TABLE),
    ('create table "does not exist!"(a int); create table "does not exist!"(a int)', S.DUPLICATE_TABLE),
    ("create schema sc", S.DUPLICATE_SCHEMA),
    ("create macro m(x) as x", S.DUPLICATE_FUNCTION),
    ("create type mood as enum ('a'); create type mood as enum ('b')", S.DUPLICATE_OBJECT),
    ("drop table v", S.WRONG_OBJECT_TYPE),
    ("alter table a1 drop x", S.SYNTAX_ERROR_OR_ACCESS_RULE_VIOLATION),
    # Binder
    ("select nosuch from t", S.UNDEFINED_COLUMN),
    ("select t.nosuch from t", S.UNDEFINED_COLUMN),
    ("select * from a1 join a2 using (nosuch)", S.UNDEFINED_COLUMN),
    ("select nosuch.x from a1", S.UNDEFINED_TABLE),
    ("select * from nosuchdb.main.t", S.INVALID_CATALOG_NAME),
    ("select x from a1, a2", S.AMBIGUOUS_COLUMN),
    ("select a1.x from a1 join a1 on true", S.DUPLICATE_ALIAS),
    ("select abs('a', 'b')", S.UNDEFINED_FUNCTION),
    ("select m(1, 2)", S.UNDEFINED_FUNCTION),
    ("select 'a' + 1", S.AMBIGUOUS_FUNCTION),
    ("select [1] < {'a': 1}", S.DATATYPE_MISMATCH),
    ("select coalesce(1, [1])", S.DATATYPE_MISMATCH),
    ("select count(*) from a1 group by 2", S.SYNTAX_ERROR_OR_ACCESS_RULE_VIOLATION),
    # Parser
    ("selec 1", S.SYNTAX_ERROR),
    ("select (1", S.SYNTAX_ERROR),
    # Constraint
    ("insert into t values (1, 1, 1)", S.UNIQUE_VIOLATION),
    ("create table u(x int unique); insert into u values (1); insert into u values (1)", S.UNIQUE_VIOLATION),
    ("insert into t values (2, null, 1)", S.NOT_NULL_VIOLATION),
    ("insert into child values (99)", S.FOREIGN_KEY_VIOLATION),
    ("delete from parent", S.FOREIGN_KEY_VIOLATION),
    ("insert into t values (2, 2, -1)", S.CHECK_VIOLATION),
    # a user's CHECK that mentions the mark is still the user's (23514)
    ("create table vm(v varchar check (length(v) <= 2 OR v = 'duckgres_typmod:varchar(2)'));"
     " insert into vm values ('abc')", S.CHECK_VIOLATION),
    # the CHECK sql/translate.py gives a varchar(n) column (docs/architecture.md)
    (translate("create table vc(v varchar(2))").sql + "; insert into vc values ('abc')",
     S.STRING_DATA_RIGHT_TRUNCATION),
    (translate("create table va(v varchar(2))").sql + "; alter table va alter v type text",
     S.FEATURE_NOT_SUPPORTED),
    # the CHECK of a table made before the length was enforced names the type too
    ("create table vo(v varchar check (v IS NULL OR v IS NOT NULL OR "
     "'duckgres_typmod:varchar(2)' IS NULL)); alter table vo alter v type text",
     S.FEATURE_NOT_SUPPORTED),
    ("create table tz(t timestamptz(0))", S.FEATURE_NOT_SUPPORTED),
    # Conversion
    ("select 'abc'::int", S.INVALID_TEXT_REPRESENTATION),
    ("select 'out of range'::int", S.INVALID_TEXT_REPRESENTATION),
    ("select 99999999999::int", S.NUMERIC_VALUE_OUT_OF_RANGE),
    ("select 123.45::decimal(3,1)", S.NUMERIC_VALUE_OUT_OF_RANGE),
    ("select 99999999999999999999::decimal(18,0)", S.NUMERIC_VALUE_OUT_OF_RANGE),
    ("select 'x'::date", S.INVALID_DATETIME_FORMAT),
    ("select date '2020-13-01'", S.DATETIME_FIELD_OVERFLOW),
    ("select '25:00:00'::time", S.DATETIME_FIELD_OVERFLOW),
    ("select make_date(2020, 13, 1)", S.DATETIME_FIELD_OVERFLOW),
    ("select 1::blob", S.CANNOT_COERCE),
    # Out of range
    ("select 2147483647::int + 1", S.NUMERIC_VALUE_OUT_OF_RANGE),
    ("select log(1, 10)", S.DIVISION_BY_ZERO),
    # Transaction
    ("begin; begin", S.ACTIVE_SQL_TRANSACTION),
    ("commit", S.NO_ACTIVE_SQL_TRANSACTION),
    ("rollback", S.NO_ACTIVE_SQL_TRANSACTION),
    ("begin transaction read only; insert into a1 values (1)", S.READ_ONLY_SQL_TRANSACTION),
    # Invalid input
    ("select error('boom')", S.INVALID_PARAMETER_VALUE),
    ("select strptime('x', '%Y')", S.INVALID_DATETIME_FORMAT),
    # One class, one code
    ("select nextval('seq'), nextval('seq'), nextval('seq')", S.SEQUENCE_GENERATOR_LIMIT_EXCEEDED),
    ("create table g(a int generated always as identity)", S.FEATURE_NOT_SUPPORTED),
    ("set enable_external_access = false; select * from read_csv('/etc/hostname')", S.INSUFFICIENT_PRIVILEGE),
    ("drop schema sc", S.DEPENDENT_OBJECTS_STILL_EXIST),
    ("select * from read_csv('/nonexistent/file.csv')", S.IO_ERROR),
    ("copy t to '/nonexistent/dir/x.csv'", S.IO_ERROR),
    ("set memory_limit = '1MB'; select string_agg(range::varchar) from range(1000000)", S.OUT_OF_MEMORY),
]


@pytest.mark.parametrize(("sql", "sqlstate"), CASES, ids=[sql for sql, _ in CASES])
def test_sql_failure_maps_to_sqlstate(conn, sql, sqlstate):
    err = pg_error_from_duckdb(failing(conn, sql))
    assert err.sqlstate == sqlstate, err.message
    assert err.severity == "ERROR"
    assert_clean_message(err)


def test_message_is_postgresql_wording_and_the_rest_is_detail(conn):
    err = pg_error_from_duckdb(failing(conn, "select * from nosuch"))
    assert err.message == 'relation "nosuch" does not exist'
    lines = err.detail.splitlines()  # DuckDB's "Did you mean" (a catalog view) is dropped
    assert len(lines) == 2
    # DuckDB's context stays at the end, caret indentation kept, for for_statement.
    assert lines[-2] == "LINE 1: select * from nosuch"
    assert lines[-1] == " " * lines[-2].index("nosuch") + "^"


def test_for_statement_turns_context_into_position(conn):
    sql = "select 1,\n  nosuch\nfrom t"
    err = pg_error_from_duckdb(failing(conn, sql))
    located = for_statement(err, sql, sql, 10, None, "SELECT")
    assert located.position == 10 + sql.index("nosuch") + 1
    assert located.detail is None or "LINE" not in located.detail
    # DuckDB ran other text (a translation): its position means nothing to the client
    assert for_statement(err, sql, sql.upper(), 0, None, "SELECT").position is None


def test_position_of_a_cut_line(conn):
    sql = "select " + ", ".join(str(i) for i in range(40)) + ", nosuch from t"
    err = pg_error_from_duckdb(failing(conn, sql))
    assert "..." in err.detail  # DuckDB cut the line around the error
    assert for_statement(err, sql, sql, 0, None, "SELECT").position == sql.index("nosuch") + 1


def test_constraint_names_come_from_the_target_table(conn):
    err = pg_error_from_duckdb(failing(conn, "insert into t values (1, 1, 1)"))
    assert err.constraint == "_pkey"
    located = for_statement(err, "", "x", 0, "t", "INSERT")
    assert located.message == 'duplicate key value violates unique constraint "t_pkey"'
    assert located.detail == "Key (a)=(1) already exists."
    unnamed = for_statement(err, "", "x", 0, None, "INSERT")
    assert unnamed.message == "duplicate key value violates unique constraint"
    assert unnamed.constraint is None
@pytest.mark.parametrize("declared, name", [("varchar(3)", "character varying(3)"),
                                             ("char(3)", "character(3)"),
                                             ("char", "character(1)")])
def test_a_declared_length_violation_has_postgresqls_message(conn, declared, name):
    conn.execute(translate(f'create table d("Odd col" {declared})').sql)
    err = pg_error_from_duckdb(failing(conn, "insert into d values ('abcd')"))
    assert (err.sqlstate, err.message, err.detail) == ("22001", f"value too long for type {name}", None)
    located = for_statement(err, "insert into d values ('abcd')", "x", 0, "d", "INSERT")
    assert (located.message, located.detail, located.constraint) == (err.message, None, None)


def test_changing_a_declared_column_says_why_not(conn):
    conn.execute("create table w(v varchar check (length(v) <= 3 OR "
                 "'duckgres_typmod:varchar(3)' IS NULL))")
    err = pg_error_from_duckdb(failing(conn, "alter table w alter v type varchar"))
    assert err.sqlstate == S.FEATURE_NOT_SUPPORTED and "declared type" in err.hint


def test_single_line_message_has_no_detail(conn):
    err = pg_error_from_duckdb(failing(conn, "commit"))
    assert err.message == "cannot commit - no transaction is active"
    assert err.detail is None


def test_statement_in_aborted_transaction(conn):
    conn.execute("begin")
    # Only errors while executing abort the transaction; bind errors leave it usable.
    failing(conn, "select error('boom')")
    err = pg_error_from_duckdb(failing(conn, "select 1"))
    assert err.sqlstate == S.IN_FAILED_SQL_TRANSACTION
    assert err.message == ("current transaction is aborted, commands ignored until end of "
                           "transaction block")


def test_write_conflicts_are_serialization_failures(conn):
    first, second = conn.cursor(), conn.cursor()
    first.execute("begin; update t set b = 2 where a = 1")
    second.execute("begin")
    err = pg_error_from_duckdb(failing(second, "update t set b = 3 where a = 1"))
    assert err.sqlstate == S.SERIALIZATION_FAILURE
    first.execute("rollback")
    second.execute("rollback")

    first.execute("begin; create table z(a int)")
    second.execute("begin")
    err = pg_error_from_duckdb(failing(second, "create table z(a int)"))
    assert err.sqlstate == S.SERIALIZATION_FAILURE
    assert err.message.startswith("Catalog write-write conflict")


def test_duplicate_key_found_at_commit_is_unique_violation(conn):
    first, second = conn.cursor(), conn.cursor()
    first.execute("begin; insert into t values (5, 5, 5)")
    second.execute("begin; insert into t values (5, 5, 5)")
    first.execute("commit")
    err = pg_error_from_duckdb(failing(second, "commit"))
    assert err.sqlstate == S.UNIQUE_VIOLATION
    assert_clean_message(err)


def test_interrupt_is_query_canceled(conn):
    timer = threading.Timer(0.2, conn.interrupt)
    timer.start()
    try:
        err = pg_error_from_duckdb(failing(conn, "select count(*) from range(100000000000)"))
    finally:
        timer.cancel()
    assert err.sqlstate == S.QUERY_CANCELED
    assert err.message == "canceling statement due to user request"


def test_closed_connection(conn):
    conn.close()
    err = pg_error_from_duckdb(failing(conn, "select 1"))
    assert err.sqlstate == S.CONNECTION_EXCEPTION
    assert err.message == "Connection already closed!"


BUILT = [
    (duckdb.InternalException("INTERNAL Error: Attempted to access index 3 of 3"), S.INTERNAL_ERROR),
    (duckdb.FatalException("FATAL Error: database has been invalidated"), S.INTERNAL_ERROR),
    (duckdb.SerializationException("Serialization Error: Failed to deserialize"), S.INTERNAL_ERROR),
    (duckdb.TypeMismatchException("Mismatch Type Error: Type VARCHAR does not match"), S.DATATYPE_MISMATCH),
    (duckdb.InvalidTypeException("Invalid type Error: Invalid type [INVALID]"), S.DATATYPE_MISMATCH),
    (duckdb.HTTPException("HTTP Error: HTTP GET error (HTTP 404)"), S.IO_ERROR),
    # Kinds the Python package has no class for arrive as a bare duckdb.Error, unprefixed.
    (duckdb.Error("Division by zero"), S.DIVISION_BY_ZERO),
    (duckdb.Error("An error occurred while trying to automatically install httpfs"), S.INTERNAL_ERROR),
]


@pytest.mark.parametrize(("exc", "sqlstate"), BUILT, ids=[type(exc).__name__ for exc, _ in BUILT])
def test_classes_sql_cannot_reach(exc, sqlstate):
    err = pg_error_from_duckdb(exc)
    assert err.sqlstate == sqlstate
    assert_clean_message(err)


def test_non_duckdb_exception_is_internal_error():
    err = pg_error_from_duckdb(ValueError("cannot convert Python object"))
    assert err.sqlstate == S.INTERNAL_ERROR
    assert err.message == "cannot convert Python object"
    assert err.detail is None


# The engine runs DuckDB through its C API, whose errors are text: the same table must
# classify them identically once the text is turned back into the exception kind.
from duckgres_trio.engine import duckdb_capi  # noqa: E402
from duckgres_trio.engine.errors import as_duckdb_exception  # noqa: E402


@pytest.mark.parametrize(("sql", "sqlstate"), CASES, ids=[sql for sql, _ in CASES])
def test_c_api_errors_map_like_python_api_errors(sql, sqlstate):
    database = duckdb_capi.Database(None)
    connection = database.connect()

    def run(script: str) -> None:
        for statement in (s.strip() for s in script.split(";")):
            if statement:
                connection.run(statement)

    try:
        run(SETUP)
        with pytest.raises(duckdb_capi.DuckDBError) as info:
            run(sql)
        err = pg_error_from_duckdb(as_duckdb_exception(str(info.value)))
        assert err.sqlstate == sqlstate, str(info.value)
    finally:
        connection.close()
        database.close()
