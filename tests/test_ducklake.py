"""DuckLake storage (issue 20, docs/ducklake.md): a database held in a DuckLake whose
catalog is a throwaway PostgreSQL 15 and whose data files are in a temp directory.

One server per module with ``storage: ducklake``; the mode (standalone / control plane)
is DUCKGRES_MODE's, so the module runs in both.
"""

from __future__ import annotations

import importlib.metadata
import io

import psycopg
import pytest

from duckgres_trio.engine import extensions
from tests.conftest import ServerProcess
from tests.support.pg15 import pg15_cluster


@pytest.fixture(scope="module")
def catalog():
    """A PostgreSQL 15 cluster holding the lakes' catalogs (module's own: a test stops
    and starts it)."""
    with pg15_cluster() as cluster:
        yield cluster


@pytest.fixture(scope="module")
def srv(tmp_path_factory, catalog):
    root = tmp_path_factory.mktemp("ducklake")
    server = ServerProcess(root / "data", ["--storage", "ducklake",
                                           "--ducklake-catalog", catalog.dsn,
                                           "--ducklake-data-path", str(root / "lake")]).start()
    server.lake_path = root / "lake"
    yield server
    assert server.stop() == 0, server.log()


def _connect(srv, dbname="postgres", **kw) -> psycopg.Connection:
    return psycopg.connect(srv.dsn(dbname=dbname), autocommit=True, **kw)


def _catalog_schemas(catalog) -> set[str]:
    with psycopg.connect(catalog.dsn) as conn:
        return {row[0] for row in conn.execute(
            "SELECT schemaname FROM pg_tables WHERE tablename = 'ducklake_metadata'")}


# -- the build: extensions from their wheels, pinned with DuckDB ---------------------

def test_extension_wheels_match_duckdb_version():
    """An extension loads only in the DuckDB it was built for: pyproject pins all four
    to one version, and this fails if an install lets them drift apart."""
    duckdb = importlib.metadata.version("duckdb")
    for name in extensions.WHEELS:
        assert extensions.wheel_version(name) == duckdb, name
        assert extensions.path(name).is_file()
        assert f"v{duckdb}" in str(extensions.path(name))


# -- step A: the lake as the database --------------------------------------------------

def test_a_table_in_the_lake_is_seen_by_another_session(srv, catalog):
    with _connect(srv, "lakesmoke") as a, _connect(srv, "lakesmoke") as b:
        assert a.execute("SELECT current_database()").fetchone() == ("lakesmoke",)
        a.execute("CREATE TABLE items (id integer NOT NULL, name text, price numeric(10,2))")
        a.execute("INSERT INTO items VALUES (1, 'one', 1.50), (2, 'two', 2.25)")
        rows = b.execute("SELECT id, name, price FROM items ORDER BY id").fetchall()
        assert [(r[0], r[1], str(r[2])) for r in rows] == [(1, "one", "1.50"), (2, "two", "2.25")]
        # the catalog lives in PostgreSQL, in the database's own schema
        assert "lakesmoke" in _catalog_schemas(catalog)
        # pg_catalog sees the lake's table as a file's
        assert b.execute("SELECT relname FROM pg_class WHERE relname = 'items'").fetchall() \
            == [("items",)]
        assert b.execute("SELECT table_catalog, table_schema FROM information_schema.tables "
                         "WHERE table_name = 'items'").fetchall() == [("lakesmoke", "public")]


def test_copy_in_and_out(srv):
    with _connect(srv, "lakesmoke") as conn:
        conn.execute("CREATE TABLE copied (a integer, b text)")
        with conn.cursor().copy("COPY copied FROM STDIN") as copy:
            copy.write("1\tx\n2\ty\n3\t\\N\n")
        out = io.BytesIO()
        with conn.cursor().copy("COPY (SELECT * FROM copied ORDER BY a) TO STDOUT") as copy:
            for chunk in copy:
                out.write(chunk)
        assert out.getvalue() == b"1\tx\n2\ty\n3\t\\N\n"


def test_prepared_statements_and_cursors(srv):
    with _connect(srv, "lakesmoke") as conn:
        conn.execute("CREATE TABLE numbers AS SELECT range::integer AS n FROM range(100)")
        for n in (5, 7, 5):
            assert conn.execute("SELECT n * 2 FROM numbers WHERE n = %s", (n,),
                                prepare=True).fetchone() == (n * 2,)
        conn.execute("PREPARE p(int) AS SELECT count(*) FROM numbers WHERE n < $1")
        assert conn.execute("EXECUTE p(10)").fetchone() == (10,)
        with conn.transaction():
            with conn.cursor(name="c") as cursor:  # a server-side cursor: DECLARE/FETCH
                cursor.execute("SELECT n FROM numbers ORDER BY n")
                assert cursor.fetchmany(3) == [(0,), (1,), (2,)]
                assert cursor.fetchmany(2) == [(3,), (4,)]


def test_data_files_are_under_the_data_path(srv):
    with _connect(srv, "lakefiles") as conn:
        conn.execute("CREATE TABLE big AS SELECT range AS n FROM range(200000)")
        assert conn.execute("SELECT sum(n) FROM big").fetchone() == (199999 * 200000 // 2,)
    files = list((srv.lake_path / "lakefiles").rglob("*.parquet"))
    assert files, list(srv.lake_path.rglob("*"))


def test_sessions_cannot_load_or_attach_what_the_server_does(srv, catalog):
    """The server LOADs the extensions by path before the lockdown; a session can
    neither LOAD a file nor attach the catalog database itself."""
    with _connect(srv, "lakesmoke") as conn:
        for sql in (f"LOAD '{extensions.path('ducklake')}'", "LOAD ducklake",
                    "LOAD postgres_scanner", "INSTALL ducklake"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(sql)
        with pytest.raises(psycopg.Error) as failed:
            conn.execute(f"ATTACH 'postgres:{catalog.dsn}' AS pg")
        assert "disabled" in str(failed.value) or failed.value.sqlstate == "42501"


def test_ducklake_without_a_catalog_does_not_start(tmp_path):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "duckgres_trio", "--data-dir",
                             str(tmp_path), "--storage", "ducklake"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "ducklake_catalog" in result.stderr, result.stderr


# -- step B: DuckLake's own behaviour through the server -------------------------------

def test_concurrent_append_and_update_conflict_with_40001(srv, start_server, catalog):
    """DuckLake commits a transaction against the catalog's latest snapshot: of two
    that changed the same table, one appending and one updating (even other rows),
    the second fails, as PostgreSQL's serialization failure, which clients retry.
    Two updaters wait for their turn instead, on one server or on two (the turn is
    the catalog's advisory lock: tests/test_write_turns_lake.py); an append takes no
    turn (appends stay concurrent)."""
    other = start_server("--storage", "ducklake", "--ducklake-catalog", catalog.dsn,
                         "--ducklake-data-path", str(srv.lake_path))
    with _connect(srv, "lakesmoke") as a, \
            psycopg.connect(other.dsn(dbname="lakesmoke"), autocommit=True) as b:
        a.execute("CREATE TABLE accounts (id integer, balance integer)")
        a.execute("INSERT INTO accounts VALUES (1, 100), (2, 100)")
        a.execute("BEGIN")
        b.execute("BEGIN")
        a.execute("INSERT INTO accounts VALUES (3, 100)")
        b.execute("UPDATE accounts SET balance = balance + 1 WHERE id = 2")
        a.execute("COMMIT")
        with pytest.raises(psycopg.errors.SerializationFailure) as failed:
            b.execute("COMMIT")
        assert failed.value.diag.message_primary == \
            "could not serialize access due to concurrent update"
        b.execute("ROLLBACK")  # whatever state the failed COMMIT left
        assert b.execute("SELECT balance FROM accounts ORDER BY id").fetchall() \
            == [(100,), (100,), (100,)]


def test_time_travel_reads_each_earlier_version(srv):
    with _connect(srv, "laketravel") as conn:
        conn.execute("CREATE TABLE v (k integer, val text)")
        conn.execute("INSERT INTO v VALUES (1, 'first')")
        first = conn.execute("SELECT max(snapshot_id) FROM ducklake_snapshots('laketravel')"
                             ).fetchone()[0]
        conn.execute("UPDATE v SET val = 'second'")
        second = conn.execute("SELECT max(snapshot_id) FROM ducklake_snapshots('laketravel')"
                              ).fetchone()[0]
        conn.execute("UPDATE v SET val = 'third'")
        assert second > first
        assert conn.execute(f"SELECT val FROM v AT (VERSION => {first})").fetchone() == ("first",)
        assert conn.execute(f"SELECT val FROM v AT (VERSION => {second})").fetchone() \
            == ("second",)
        assert conn.execute("SELECT val FROM v").fetchone() == ("third",)
        # the extended protocol too
        assert conn.execute(f"SELECT val FROM v AT (VERSION => {second})",
                            prepare=True).fetchone() == ("second",)


@pytest.mark.xfail(strict=True, raises=psycopg.errors.InternalError_,
                   reason="DuckDB binds AT (VERSION => ...) when it prepares the statement, "
                   "before a parameter has a value (docs/compatibility.md, DuckLake)")
def test_time_travel_version_as_a_parameter(srv):
    with _connect(srv, "laketravel") as conn:
        assert conn.execute("SELECT count(*) FROM v AT (VERSION => %s::bigint)", (2,),
                            prepare=True).fetchone() == (1,)


def test_catalog_outage_is_a_bounded_08006_and_service_resumes(srv, catalog):
    """The catalog PostgreSQL stops: a session's statement fails at once with 08006 and
    libpq's reason (never the connection string), a new session is refused the same
    way; once PostgreSQL is back both work, without restarting the server."""
    import time

    with _connect(srv, "lakeoutage") as conn:
        conn.execute("CREATE TABLE t (a integer)")
        conn.execute("INSERT INTO t VALUES (1)")
        catalog.stop()
        try:
            started = time.monotonic()
            with pytest.raises(psycopg.errors.ConnectionFailure) as failed:
                conn.execute("SELECT count(*) FROM t")
            assert time.monotonic() - started < 15
            message = failed.value.diag.message_primary
            assert message.startswith("could not reach the DuckLake catalog database: "), message
            assert "port=" not in message and "dbname=" not in message
            with pytest.raises(psycopg.OperationalError) as refused:
                _connect(srv, "lakeoutage2")
            assert "could not reach the DuckLake catalog database" in str(refused.value)
            assert "dbname=" not in str(refused.value)
            assert time.monotonic() - started < 45
        finally:
            catalog.start()
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (1,)
        conn.execute("INSERT INTO t VALUES (2)")
    with _connect(srv, "lakeoutage2") as other:
        assert other.execute("SELECT current_database()").fetchone() == ("lakeoutage2",)


def test_create_list_and_drop_databases(srv, catalog):
    """A database is a schema of the catalog: CREATE DATABASE makes it, pg_database
    lists the catalog's lakes (whichever process made them), DROP DATABASE removes the
    schema and the data files; the errors are PostgreSQL's."""
    with _connect(srv, "lakesmoke") as conn:
        conn.execute('CREATE DATABASE "Lake Made"')
        assert "Lake Made" in _catalog_schemas(catalog)
        with pytest.raises(psycopg.errors.DuplicateDatabase):
            conn.execute('CREATE DATABASE "Lake Made"')
        with pytest.raises(psycopg.errors.InvalidName):
            conn.execute('CREATE DATABASE "a.b"')
        listed = {row[0] for row in conn.execute("SELECT datname FROM pg_database")}
        assert {"Lake Made", "lakesmoke"} <= listed, listed
        with _connect(srv, "Lake Made") as made:
            made.execute("CREATE TABLE t AS SELECT range AS n FROM range(150000)")
            assert made.execute("SELECT current_database(), count(*) FROM t").fetchone() \
                == ("Lake Made", 150000)
        assert (srv.lake_path / "Lake Made").is_dir()
        conn.execute('DROP DATABASE "Lake Made"')
        assert "Lake Made" not in _catalog_schemas(catalog)
        assert not (srv.lake_path / "Lake Made").exists()
        assert "Lake Made" not in {row[0] for row in conn.execute(
            "SELECT datname FROM pg_database")}
        with pytest.raises(psycopg.errors.InvalidCatalogName):
            conn.execute('DROP DATABASE "Lake Made"')
        conn.execute('DROP DATABASE IF EXISTS "Lake Made"')


def test_without_auto_create_an_unknown_lake_is_3d000(srv, start_server, catalog):
    """A second server on the same catalog and data path sees the first's lakes (and
    only those: auto_create_databases false)."""
    with _connect(srv, "lakeshared") as conn:
        conn.execute("CREATE OR REPLACE TABLE shared AS SELECT 42 AS answer")
    server = start_server("--storage", "ducklake", "--ducklake-catalog", catalog.dsn,
                          "--ducklake-data-path", str(srv.lake_path),
                          "--auto-create-databases", "false")
    with pytest.raises(psycopg.OperationalError) as refused:
        psycopg.connect(server.dsn(dbname="nolake"))
    assert 'database "nolake" does not exist' in str(refused.value)
    with psycopg.connect(server.dsn(dbname="lakeshared"), autocommit=True) as conn:
        assert conn.execute("SELECT answer FROM shared").fetchone() == (42,)


@pytest.mark.parametrize("sql", [
    'SELECT * FROM "__ducklake_metadata_lakesmoke".pg_catalog.pg_namespace',
    "SELECT * FROM __ducklake_metadata_lakesmoke.lakesmoke.ducklake_snapshot",
    "SELECT * FROM postgres_query('__ducklake_metadata_lakesmoke', 'SELECT 1')",
    "CALL postgres_execute('__ducklake_metadata_lakesmoke', 'DROP SCHEMA lakesmoke CASCADE')",
    "SELECT * FROM postgres_query('__ducklake' || '_metadata_lakesmoke', 'SELECT 1')",
])
def test_sessions_cannot_reach_the_catalog_database(srv, sql):
    """DuckLake's own attachment of the catalog PostgreSQL would let SQL read or change
    every lake there (and the config store, when it is the same database)."""
    with _connect(srv, "lakesmoke") as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(sql)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(sql, prepare=True)


# -- DDL a lake cannot hold ------------------------------------------------------------

def _warnings(conn) -> list[tuple[str, str, str]]:
    return conn.notices


def _noticing(srv, dbname="lakeddl"):
    conn = _connect(srv, dbname)
    conn.notices = []
    conn.add_notice_handler(lambda d: conn.notices.append(
        (d.severity_nonlocalized, d.sqlstate, d.message_primary)))
    return conn


@pytest.mark.parametrize("prepare", [False, True], ids=["simple", "extended"])
def test_keys_constraints_and_indexes_are_dropped_with_a_warning(srv, prepare):
    """PRIMARY KEY, UNIQUE, FOREIGN KEY, CHECK and CREATE INDEX: accepted, not enforced,
    each statement answered with its tag and a WARNING naming what was dropped; a
    primary key's columns stay NOT NULL."""
    suffix = "_x" if prepare else ""
    with _noticing(srv) as conn:
        def run(sql):
            conn.notices.clear()
            cursor = conn.execute(sql, prepare=prepare)
            return cursor.statusmessage, list(conn.notices)

        tag, notices = run(f"CREATE TABLE parent{suffix} (id integer PRIMARY KEY, "
                           "code text UNIQUE, n integer CHECK (n > 0))")
        assert tag == "CREATE TABLE"
        assert notices == [("WARNING", "01000", f'PRIMARY KEY, UNIQUE, CHECK constraints on '
                            f'table "parent{suffix}" not enforced: DuckLake storage has no '
                            "keys or constraints")]
        tag, notices = run(f"CREATE TABLE child{suffix} (id integer, parent integer "
                           f"REFERENCES parent{suffix} (id), PRIMARY KEY (id))")
        assert tag == "CREATE TABLE" and "FOREIGN KEY" in notices[0][2] \
            and "PRIMARY KEY" in notices[0][2]
        tag, notices = run(f"ALTER TABLE parent{suffix} ADD CONSTRAINT p_code UNIQUE (code)")
        assert tag == "ALTER TABLE" and notices[0][0] == "WARNING" and "UNIQUE" in notices[0][2]
        tag, notices = run(f"CREATE UNIQUE INDEX ix{suffix} ON parent{suffix} (code)")
        assert tag == "CREATE INDEX"
        assert notices == [("WARNING", "01000", f'unique index "ix{suffix}" on table '
                            f'"parent{suffix}" not created: DuckLake storage has no indexes')]
        # not enforced: duplicates, a missing parent and a failing check all go in
        conn.execute(f"INSERT INTO parent{suffix} VALUES (1, 'a', -1), (1, 'a', 5)")
        conn.execute(f"INSERT INTO child{suffix} VALUES (1, 99)")
        # the primary keys' NOT NULL stays
        with pytest.raises(psycopg.errors.NotNullViolation):
            conn.execute(f"INSERT INTO parent{suffix} (id) VALUES (NULL)")
        with pytest.raises(psycopg.errors.NotNullViolation):
            conn.execute(f"INSERT INTO child{suffix} (id) VALUES (NULL)")


def test_pgbench_initialises_on_a_lake(srv):
    """pgbench -i adds its primary keys with ALTER TABLE: they are dropped with a
    warning and the load succeeds."""
    import subprocess

    env = {"PGPASSWORD": "postgres", "PGSSLMODE": "require", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(["/usr/lib/postgresql/15/bin/pgbench", "-i", "-s", "1", "-h",
                             "127.0.0.1", "-p", str(srv.port), "-U", "postgres",
                             "lakebench"], env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert "not enforced: DuckLake storage" in result.stderr
    with _connect(srv, "lakebench") as conn:
        assert conn.execute("SELECT count(*) FROM pgbench_accounts").fetchone() == (100000,)


@pytest.mark.parametrize("sql, what", [
    ("CREATE SEQUENCE s", "sequences"),
    ("CREATE TABLE ser (id serial, v text)", "sequences"),
    ("CREATE TYPE mood AS ENUM ('sad', 'ok')", "user-defined types"),
    ("CREATE TABLE gen (a integer, b integer GENERATED ALWAYS AS (a + 1))",
     "generated columns"),
])
def test_what_a_lake_cannot_hold_is_0a000_naming_ducklake(srv, sql, what):
    with _connect(srv, "lakeddl") as conn:
        with pytest.raises(psycopg.errors.FeatureNotSupported) as refused:
            conn.execute(sql)
        assert "DuckLake" in refused.value.diag.message_primary
        assert what in refused.value.diag.message_primary


def test_declared_types_are_plain_on_a_lake(srv):
    """No hidden CHECK on a lake: varchar(n) is not length-checked and reports as
    text; jsonb reads back as json (documented)."""
    with _noticing(srv) as conn:
        conn.execute("CREATE TABLE typed (v varchar(3), j jsonb)")
        assert conn.notices == []
        conn.execute("""INSERT INTO typed VALUES ('abcdef', '{"a": 1}')""")
        assert conn.execute("SELECT v FROM typed").fetchone() == ("abcdef",)
        rows = conn.execute("SELECT column_name, data_type, character_maximum_length "
                            "FROM information_schema.columns WHERE table_name = 'typed' "
                            "ORDER BY ordinal_position").fetchall()
        assert rows == [("v", "text", None), ("j", "json", None)], rows


# -- tools list a lake's tables as a file's ----------------------------------------------

TOOLS_SCHEMA = [
    "CREATE TABLE customers (id integer NOT NULL, name text NOT NULL, email varchar, "
    "active boolean DEFAULT true, created timestamptz, score double precision)",
    "CREATE TABLE orders (id bigint NOT NULL, customer_id integer, amount numeric(12,2), "
    "placed date, note text)",
    "CREATE VIEW big_orders AS SELECT id, amount FROM orders WHERE amount > 100",
    "COMMENT ON TABLE customers IS 'people who order'",
    "COMMENT ON COLUMN customers.name IS 'full name'",
    "CREATE SCHEMA sales",
    "CREATE TABLE sales.regions (code text NOT NULL, label text)",
    "INSERT INTO customers (id, name, email) VALUES (1, 'Ada', 'ada@example.com')",
]


@pytest.fixture(scope="module")
def lake_and_file(srv, tmp_path_factory):
    """(DSN of database tools_test on the lake server, on a file server), each holding
    TOOLS_SCHEMA (no keys or indexes: those a lake drops)."""
    filesrv = ServerProcess(tmp_path_factory.mktemp("ducklake-file") / "data").start()
    dsns = (srv.dsn(dbname="tools_test"), filesrv.dsn(dbname="tools_test"))
    for dsn in dsns:
        with psycopg.connect(dsn, autocommit=True) as conn:
            for sql in TOOLS_SCHEMA:
                conn.execute(sql)
    yield dsns
    assert filesrv.stop() == 0, filesrv.log()


def _psql(dsn: str, command: str) -> list[str]:
    import subprocess

    out = subprocess.run(["psql", "-X", "-A", "-t", "-F", "|", "-d", dsn, "-c", command],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and not out.stderr, f"{command}: {out.stderr}"
    return out.stdout.splitlines()


@pytest.mark.parametrize("command", [r"\d", r"\dn", r"\dt sales.*", r"\d customers",
                                     r"\d sales.regions", r"\d+ customers"])
def test_psql_describes_a_lake_as_a_file(lake_and_file, command):
    lake, file = (_psql(dsn, command) for dsn in lake_and_file)
    if command == r"\d+ customers":  # sizes and storage are the kind's own
        lake, file = ([line.split("|")[:4] + line.split("|")[-1:] for line in out]
                      for out in (lake, file))
    assert lake == file
    assert lake


def test_sqlalchemy_inspector_sees_a_lake_as_a_file(lake_and_file):
    from sqlalchemy import create_engine, inspect

    def report(dsn: str) -> dict:
        engine = create_engine("postgresql+psycopg://", creator=lambda: psycopg.connect(dsn))
        try:
            insp = inspect(engine)
            tables = sorted(insp.get_table_names())
            result = {"schemas": sorted(insp.get_schema_names()), "tables": tables,
                      "sales": insp.get_table_names(schema="sales"),
                      "views": insp.get_view_names(),
                      "has": (insp.has_table("customers"), insp.has_table("nope"))}
            for table in ("customers",):  # get_columns is slow on this server's catalog
                result[table] = {
                    "columns": [(c["name"], str(c["type"]), c["nullable"], c.get("comment"))
                                for c in insp.get_columns(table)],
                    "pk": insp.get_pk_constraint(table), "fk": insp.get_foreign_keys(table),
                    "indexes": insp.get_indexes(table),
                    "comment": insp.get_table_comment(table),
                }
            return result
        finally:
            engine.dispose()

    lake, file = (report(dsn) for dsn in lake_and_file)
    assert lake == file
    assert lake["tables"] == ["customers", "orders"] and lake["sales"] == ["regions"]


def test_pgjdbc_metadata_sees_a_lake_as_a_file(lake_and_file, tmp_path):
    import subprocess
    from pathlib import Path

    from tests.support.jdbc import JAR, compile_java, jdbc_url

    classes = compile_java(Path(__file__).parent / "java" / "JdbcCatalog.java", tmp_path)

    def run(dsn: str) -> list[str]:
        out = subprocess.run(["java", "-cp", f"{JAR}:{classes}", "JdbcCatalog",
                              jdbc_url(dsn)], capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stdout + out.stderr
        return out.stdout.splitlines()

    lake, file = (run(dsn) for dsn in lake_and_file)
    assert lake == file
    assert any("customers" in line for line in lake)


def test_no_default_is_no_default_in_the_catalog(lake_and_file):
    """DuckLake reports 'NULL' as the default of a column without one: the catalog
    shows none (as PostgreSQL stores none for DEFAULT NULL), on a lake and a file."""
    for dsn in lake_and_file:
        with psycopg.connect(dsn, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT a.attname, a.atthasdef, c.column_default FROM pg_attribute a "
                "JOIN information_schema.columns c ON c.column_name = a.attname "
                "AND c.table_name = 'customers' WHERE a.attrelid = 'customers'::regclass "
                "AND a.attnum > 0 ORDER BY a.attnum").fetchall()
            assert rows[0] == ("id", False, None), (dsn, rows)
            assert rows[3][:2] == ("active", True) and rows[3][2] is not None, (dsn, rows)


def test_organisations_each_have_their_own_lakes(catalog, tmp_path):
    """With many tenants each organisation's databases are its own lakes: schemas
    ``<org>/<database>`` in the catalog, files under ``orgs/<org>/``; pg_database lists
    an organisation's own only."""
    import json

    from tests.test_tenancy import LAUNCHER

    spec = {"orgs": [{"name": "acme", "database_name": "acme_db"},
                     {"name": "globex", "database_name": "globex_db"}],
            "users": [{"org": "acme", "name": "alice", "password": "acme-pw"},
                      {"org": "globex", "name": "alice", "password": "globex-pw"}]}
    (tmp_path / "tenants.json").write_text(json.dumps(spec))
    server = ServerProcess(tmp_path / "data", ["--storage", "ducklake", "--ducklake-catalog",
                                               catalog.dsn],
                           {"DUCKGRES_TEST_TENANTS": str(tmp_path / "tenants.json")},
                           program=(LAUNCHER,)).start()
    try:
        for org, password in (("acme", "acme-pw"), ("globex", "globex-pw")):
            with psycopg.connect(server.dsn(user="alice", password=password,
                                            dbname=f"{org}_db"), autocommit=True) as conn:
                conn.execute(f"CREATE TABLE {org}_t AS SELECT '{org}' AS owner")
                assert conn.execute("SELECT datname FROM pg_database").fetchall() \
                    == [(f"{org}_db",)]
                assert conn.execute("SELECT relname FROM pg_class WHERE relname LIKE "
                                    "'%\\_t'").fetchall() == [(f"{org}_t",)]
        assert {"acme/acme_db", "globex/globex_db"} <= _catalog_schemas(catalog)
        assert (tmp_path / "data" / "lake" / "orgs" / "acme" / "acme_db").is_dir()
    finally:
        assert server.stop() == 0, server.log()
