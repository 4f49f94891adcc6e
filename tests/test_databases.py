"""CREATE DATABASE / DROP DATABASE, createdb / dropdb, psql -l and pg_database.

Differential: the same statements go to this server and to a real PostgreSQL 15; the
command tags, SQLSTATEs, messages, details and notices must agree. Statements whose
answer differs on purpose are strict xfails with the reason (docs/compatibility.md).
One server per module; the mode (standalone / control plane) is DUCKGRES_MODE's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import psycopg
import pytest

from duckgres_trio.engine.databases import database_oid
from tests.conftest import ServerProcess
from tests.support.pg15 import pg15_dsn  # noqa: F401 - pytest fixture

BIN = "/usr/lib/postgresql/15/bin"
JAR = Path("/usr/share/java/postgresql.jar")
JDBC_SOURCE = Path(__file__).parent / "java" / "DatabasesJdbc.java"


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    server = ServerProcess(tmp_path_factory.mktemp("databases") / "data").start()
    yield server
    assert server.stop() == 0, server.log()


def _connect(dsn: str) -> psycopg.Connection:
    conn = psycopg.connect(dsn, autocommit=True)
    conn.notices = []
    conn.add_notice_handler(lambda d: conn.notices.append(
        (d.severity_nonlocalized, d.sqlstate, d.message_primary)))
    return conn


@pytest.fixture(scope="module")
def ours(srv):
    with _connect(srv.dsn()) as conn:
        yield conn


@pytest.fixture(scope="module")
def theirs(pg15_dsn):
    with _connect(pg15_dsn) as conn:
        yield conn


def outcome(conn: psycopg.Connection, sql: str, **kw) -> tuple:
    """What the client sees of one statement: tag or error, and the notices sent."""
    conn.notices.clear()
    try:
        cur = conn.execute(sql, **kw)
        result: tuple = ("ok", cur.statusmessage)
    except psycopg.Error as exc:
        result = ("error", exc.sqlstate, exc.diag.message_primary, exc.diag.message_detail)
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        conn.execute("ROLLBACK")
    return result, tuple(conn.notices)


def both(ours, theirs, sql: str, **kw) -> tuple:
    mine, reference = outcome(ours, sql, **kw), outcome(theirs, sql, **kw)
    assert mine == reference, sql
    return mine


#: Run in order on both servers, each answer compared. Names start with dbt_ so the
#: shared PostgreSQL cluster is left as found (the last statements drop them).
SCRIPT = [
    "DROP DATABASE IF EXISTS dbt_a",
    "CREATE DATABASE dbt_a",
    "CREATE DATABASE dbt_a",
    "create database DBT_A",  # folded to lower case: the same database
    'CREATE DATABASE "dbt Mixed Case"',
    'CREATE DATABASE "dbt Mixed Case"',
    "CREATE DATABASE dbt_opts WITH OWNER = postgres TEMPLATE = template0 ENCODING = 'UTF8' "
    "LC_COLLATE = 'C' LC_CTYPE = 'C' CONNECTION LIMIT = -1 IS_TEMPLATE = false "
    "ALLOW_CONNECTIONS = true TABLESPACE = pg_default STRATEGY = wal_log",
    "CREATE DATABASE dbt_locale LOCALE 'C' TEMPLATE template0 OWNER DEFAULT ENCODING 6",
    "CREATE DATABASE dbt_loc LOCATION 'somewhere'",
    "CREATE DATABASE dbt_x frobnicate = 1",
    "CREATE DATABASE dbt_x OWNER postgres OWNER postgres",
    "CREATE DATABASE dbt_x STRATEGY nope",
    "CREATE DATABASE dbt_x CONNECTION LIMIT = -2",
    "CREATE DATABASE dbt_x CONNECTION LIMIT = 'ten'",
    "CREATE DATABASE dbt_x IS_TEMPLATE = maybe",
    "CREATE DATABASE dbt_x TABLESPACE nowhere",
    "CREATE DATABASE dbt_x LOCALE_PROVIDER nope",
    "CREATE DATABASE",
    "DROP DATABASE dbt_x",
    "DROP DATABASE IF EXISTS dbt_x",
    "DROP DATABASE IF EXISTS dbt_x WITH (FORCE)",
    "DROP DATABASE dbt_x (FORCE)",
    "DROP DATABASE postgres",
    "DROP DATABASE IF EXISTS postgres WITH (FORCE)",
    "BEGIN; CREATE DATABASE dbt_txn",
    "BEGIN; DROP DATABASE dbt_a",
    "CREATE DATABASE dbt_multi; SELECT 1",
    "SELECT 1; DROP DATABASE dbt_a",
    "DROP DATABASE dbt_a",
    "DROP DATABASE dbt_a",
    'DROP DATABASE "dbt Mixed Case"',
    "DROP DATABASE dbt_opts WITH (FORCE)",
    "DROP DATABASE dbt_locale",
    "DROP DATABASE dbt_loc",
    "SELECT count(*) FROM pg_database WHERE datname LIKE 'dbt%'",
]


@pytest.mark.parametrize("sql", SCRIPT)
def test_statement_matches_pg15(ours, theirs, sql):
    both(ours, theirs, sql)


@pytest.mark.parametrize("sql", [
    "CREATE DATABASE dbt_ext", "CREATE DATABASE dbt_ext", "DROP DATABASE dbt_ext",
    "DROP DATABASE dbt_ext", "DROP DATABASE IF EXISTS dbt_ext", "DROP DATABASE postgres",
])
def test_extended_protocol_matches_pg15(ours, theirs, sql):
    # binary=True: Parse/Bind/Execute of the unnamed statement. (prepare=True would
    # also work but psycopg follows a DROP with DEALLOCATE ALL, not supported here yet.)
    both(ours, theirs, sql, binary=True)


def test_create_in_explicit_transaction_extended_protocol(ours, theirs):
    for conn in (ours, theirs):
        conn.execute("BEGIN")
    try:
        mine = outcome(ours, "CREATE DATABASE dbt_xt", binary=True)
        reference = outcome(theirs, "CREATE DATABASE dbt_xt", binary=True)
    finally:
        for conn in (ours, theirs):
            if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                conn.execute("ROLLBACK")
    assert mine == reference
    assert mine[0][1] == "25001"


#: (statement, why this server differs) run on both; strict xfails.
DIVERGENT = [
    ("DROP DATABASE template1", "no template databases here (pg_database lists the "
     "database files only): 3D000, where PostgreSQL refuses with 55006"),
    ("CREATE DATABASE dbt_copy TEMPLATE postgres", "a new database always starts empty: "
     "0A000 where PostgreSQL copies the template"),
    ("CREATE DATABASE dbt_enc ENCODING 'LATIN1' TEMPLATE template0 LOCALE 'C'",
     "every database is UTF8: 0A000 where PostgreSQL creates a LATIN1 database"),
    ("CREATE DATABASE dbt_lim CONNECTION LIMIT 3", "no per-database connection limit: "
     "0A000 where PostgreSQL stores the limit"),
    ('CREATE DATABASE "dbt/slash"', "'/', '.' and control characters cannot be in a "
     "database name here (it is a file name): 42602"),
]


@pytest.mark.parametrize("sql,why", DIVERGENT, ids=[s for s, _ in DIVERGENT])
@pytest.mark.xfail(strict=True, raises=AssertionError, reason="documented difference")
def test_divergent(ours, theirs, sql, why):
    try:
        both(ours, theirs, sql)
    finally:
        for conn in (ours, theirs):
            for name in ("dbt_copy", "dbt_enc", "dbt_lim", "dbt/slash"):
                conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


def test_unsupported_options_say_what(ours):
    for sql, named in [
        ("CREATE DATABASE dbt_u TEMPLATE postgres", "TEMPLATE postgres"),
        ("CREATE DATABASE dbt_u ENCODING 'LATIN1'", "ENCODING LATIN1"),
        ("CREATE DATABASE dbt_u LC_COLLATE 'de_DE.UTF-8'", "LC_COLLATE de_DE.UTF-8"),
        ("CREATE DATABASE dbt_u LOCALE_PROVIDER icu", "LOCALE_PROVIDER icu"),
        ("CREATE DATABASE dbt_u IS_TEMPLATE true", "IS_TEMPLATE true"),
        ("CREATE DATABASE dbt_u ALLOW_CONNECTIONS false", "ALLOW_CONNECTIONS false"),
        ("CREATE DATABASE dbt_u CONNECTION LIMIT 3", "CONNECTION LIMIT"),
        ("CREATE DATABASE dbt_u OID 50000", "OID"),
    ]:
        (result, _notices) = outcome(ours, sql)
        assert result[:2] == ("error", "0A000"), sql
        assert named in result[2], result
    assert ours.execute("SELECT 1").fetchone() == (1,)  # the session is fine
    assert outcome(ours, "DROP DATABASE dbt_u")[0][1] == "3D000"


def test_names_as_files(srv, ours):
    """Names PostgreSQL allows in quotes map to files as they are; names that cannot
    be a file name are refused alike for CREATE, DROP and connecting."""
    for name in ("dbt Spaced", "dbt_UPPER", "dbt_é_ü", "dbt-dash"):
        quoted = '"' + name + '"'
        assert outcome(ours, f"CREATE DATABASE {quoted}")[0] == ("ok", "CREATE DATABASE")
        assert (srv.data_dir / f"{name}.duckdb").is_file()
        with psycopg.connect(srv.dsn(dbname=name), autocommit=True) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == (name,)
            # the OID computed in SQL (the catalog) and in Python (pg_stat_activity)
            assert conn.execute("SELECT p.oid, a.datid FROM pg_database p JOIN "
                                "pg_stat_activity a ON a.datname = p.datname "
                                "WHERE a.pid = pg_backend_pid()").fetchone() == \
                (database_oid(name),) * 2
        assert outcome(ours, f"DROP DATABASE {quoted}")[0] == ("ok", "DROP DATABASE")
        assert not (srv.data_dir / f"{name}.duckdb").exists()
    for name in ("../dbt_up", "dbt/x", "dbt.x", "dbt\tx", "memory", "Main", "pg_compat"):
        quoted = '"' + name + '"'
        result = outcome(ours, f"CREATE DATABASE {quoted}")[0]
        assert result[:2] == ("error", "42602"), (name, result)
        assert outcome(ours, f"DROP DATABASE {quoted}")[0][1] == "3D000"
        if "\t" not in name:
            with pytest.raises(psycopg.OperationalError, match="does not exist"):
                psycopg.connect(srv.dsn(dbname=name))
    assert not (srv.data_dir.parent / "dbt_up.duckdb").exists()
    assert not any("dbt" in p.name for p in srv.data_dir.iterdir())
    # a name longer than 63 bytes is cut there, as PostgreSQL's parser cuts identifiers
    assert outcome(ours, f"CREATE DATABASE dbt{'x' * 70}")[0] == ("ok", "CREATE DATABASE")
    assert (srv.data_dir / f"dbt{'x' * 60}.duckdb").is_file()
    assert outcome(ours, f"DROP DATABASE dbt{'x' * 80}")[0] == ("ok", "DROP DATABASE")


def test_pg_database_lists_every_database(srv, ours, theirs):
    ours.execute("CREATE DATABASE dbt_listed")
    theirs.execute("CREATE DATABASE dbt_listed")
    try:
        query = ("SELECT oid, datname, datdba, encoding, datistemplate, datallowconn, "
                 "datconnlimit, dattablespace FROM pg_database WHERE datname = 'dbt_listed'")
        mine, reference = ours.execute(query), theirs.execute(query)
        # datname is sent as text (25), not name (19), as every name column here
        assert [(c.name, 19 if c.name == "datname" else c.type_code)
                for c in mine.description] == \
            [(c.name, c.type_code) for c in reference.description]
        assert mine.description[1].type_code == 25
        (row,), (ref,) = mine.fetchall(), reference.fetchall()
        assert row[1:] == ref[1:]  # OIDs differ: derived from the name here
        assert row[0] == database_oid("dbt_listed")
        names = {r[0] for r in ours.execute("SELECT datname FROM pg_database")}
        files = {p.name.removesuffix(".duckdb") for p in srv.data_dir.glob("*.duckdb")}
        assert names == files and {"postgres", "dbt_listed"} <= names
        # the current database's oid, pg_stat_activity's datid and the Python function agree
        current = ours.execute("SELECT oid FROM pg_database WHERE datname = current_database()")
        datid = ours.execute("SELECT datid FROM pg_stat_activity WHERE pid = pg_backend_pid()")
        assert current.fetchone()[0] == datid.fetchone()[0] == database_oid("postgres")
        size = ours.execute("SELECT pg_database_size('dbt_listed'), "
                            "pg_database_size(oid) FROM pg_database WHERE datname = 'dbt_listed'")
        assert size.fetchone() == ((srv.data_dir / "dbt_listed.duckdb").stat().st_size,) * 2
        # a database another session creates is listed at once (read at query time)
        with psycopg.connect(srv.dsn(dbname="dbt_listed"), autocommit=True) as other:
            other.execute("CREATE DATABASE dbt_listed2")
            listed = other.execute(
                "SELECT count(*) FROM pg_database WHERE datname = 'dbt_listed2'")
            assert listed.fetchone() == (1,)
        assert ours.execute(
            "SELECT count(*) FROM pg_database WHERE datname = 'dbt_listed2'").fetchone() == (1,)
        ours.execute("DROP DATABASE dbt_listed2")
    finally:
        both(ours, theirs, "DROP DATABASE dbt_listed")


def _psql(dsn: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["psql", dsn, "-X", *args], capture_output=True, text=True,
                          timeout=60)


def test_psql_l(srv, ours, pg15_dsn):
    """psql -l / \\l / \\l+ run; their columns are PostgreSQL's; the rows are this
    server's databases (no template0/template1: see docs/compatibility.md)."""
    ours.execute('CREATE DATABASE "dbt psql"')
    try:
        for args in (["-l", "-A"], ["-A", "-c", r"\l"], ["-A", "-c", r"\l+"]):
            mine, reference = _psql(srv.dsn(), *args), _psql(pg15_dsn, *args)
            assert mine.returncode == 0 and reference.returncode == 0, mine.stderr
            assert mine.stdout.splitlines()[1] == reference.stdout.splitlines()[1]  # header
            rows = {line.split("|")[0] for line in mine.stdout.splitlines()[2:-1]}
            assert rows == {"postgres", "dbt psql"}, mine.stdout
            ref_rows = {line.split("|")[0] for line in reference.stdout.splitlines()[2:-1]}
            assert {"postgres", "template0", "template1"} <= ref_rows
    finally:
        ours.execute('DROP DATABASE "dbt psql"')


def _tool(dsn_env: dict[str, str], *argv: str) -> tuple[int, str]:
    proc = subprocess.run([f"{BIN}/{argv[0]}", *argv[1:]], capture_output=True, text=True,
                          env={**os.environ, **dsn_env}, timeout=60)
    return proc.returncode, proc.stderr


def _env(dsn: str) -> dict[str, str]:
    parts = dict(item.split("=", 1) for item in dsn.split())
    return {"PGHOST": parts["host"], "PGPORT": parts["port"], "PGUSER": parts["user"],
            "PGPASSWORD": parts.get("password", ""), "PGSSLMODE": parts.get("sslmode", "prefer")}


def test_createdb_dropdb_programs(srv, pg15_dsn):
    steps = [
        ("createdb", "dbt_tool"),
        ("createdb", "dbt_tool"),
        ("createdb", "-E", "UTF8", "-T", "template0", "-O", "postgres", "dbt_tool2"),
        ("dropdb", "dbt_tool2"),
        ("dropdb", "dbt_tool"),
        ("dropdb", "dbt_tool"),
        ("dropdb", "--if-exists", "dbt_tool"),
        ("createdb", "dbt_tool"),
        ("dropdb", "--force", "dbt_tool"),
    ]  # never "dropdb postgres": it connects to template1 and would drop the shared cluster's
    for step in steps:
        mine, reference = _tool(_env(srv.dsn()), *step), _tool(_env(pg15_dsn), *step)
        assert mine == reference, step
    assert not (srv.data_dir / "dbt_tool.duckdb").exists()


def test_drop_while_in_use_then_force(srv, ours, theirs, pg15_dsn):
    """Another session on the database: 55006 after PostgreSQL's 5 s wait, with its
    DETAIL; WITH (FORCE) ends that session with 57P01 and drops the database."""
    for conn in (ours, theirs):
        conn.execute("CREATE DATABASE dbt_busy")
    other_ours = psycopg.connect(srv.dsn(dbname="dbt_busy"), autocommit=True)
    other_theirs = psycopg.connect(pg15_dsn.replace("dbname=postgres", "dbname=dbt_busy"),
                                   autocommit=True)
    try:
        other_ours.execute("CREATE TABLE t AS SELECT 1 AS x")
        started = time.monotonic()
        result = both(ours, theirs, "DROP DATABASE dbt_busy")
        assert result[0] == ("error", "55006", 'database "dbt_busy" is being accessed by '
                             "other users", "There is 1 other session using the database.")
        assert time.monotonic() - started >= 5.0  # both waited
        assert other_ours.execute("SELECT x FROM t").fetchone() == (1,)
        assert both(ours, theirs, "DROP DATABASE dbt_busy WITH (FORCE)")[0] == \
            ("ok", "DROP DATABASE")
        errors = []
        for other in (other_ours, other_theirs):
            with pytest.raises(psycopg.OperationalError) as info:
                other.execute("SELECT 1")
            errors.append(info.value.sqlstate)
        assert errors == ["57P01", "57P01"]
        assert not (srv.data_dir / "dbt_busy.duckdb").exists()
        # the file is gone for good: a new database of that name starts empty
        ours.execute("CREATE DATABASE dbt_busy")
        with _connect(srv.dsn(dbname="dbt_busy")) as again:
            assert outcome(again, "SELECT x FROM t")[0][1] == "42P01"
        ours.execute("DROP DATABASE dbt_busy")
    finally:
        other_ours.close()
        other_theirs.close()
        theirs.execute("DROP DATABASE IF EXISTS dbt_busy WITH (FORCE)")


def test_force_interrupts_a_running_statement(srv, ours):
    ours.execute("CREATE DATABASE dbt_running")
    errors = []

    def run() -> None:
        with psycopg.connect(srv.dsn(dbname="dbt_running"), autocommit=True) as conn:
            try:
                conn.execute("SELECT count(*) FROM range(10000000000)")
            except psycopg.Error as exc:
                errors.append(exc.sqlstate)

    worker = threading.Thread(target=run)
    worker.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and ours.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = 'dbt_running' "
                "AND state = 'active'").fetchone() == (0,):
            time.sleep(0.05)
        assert outcome(ours, "DROP DATABASE dbt_running WITH (FORCE)")[0] == \
            ("ok", "DROP DATABASE")
    finally:
        worker.join(30)
    assert errors == ["57P01"]
    assert not (srv.data_dir / "dbt_running.duckdb").exists()


def test_restart_keeps_databases_and_oids_and_create_without_auto_create(start_server,
                                                                           tmp_path):
    data = tmp_path / "restart"
    first = start_server(data_dir=data)
    with psycopg.connect(first.dsn(), autocommit=True) as conn:
        conn.execute('CREATE DATABASE "Kept DB"')
        oids = dict(conn.execute("SELECT datname, oid FROM pg_database").fetchall())
    with psycopg.connect(first.dsn(dbname="Kept DB"), autocommit=True) as conn:
        conn.execute("CREATE TABLE t AS SELECT 42 AS x")
    assert first.stop() == 0
    second = start_server("--auto-create-databases", "false", data_dir=data)
    with psycopg.connect(second.dsn(dbname="Kept DB"), autocommit=True) as conn:
        assert conn.execute("SELECT x FROM t").fetchone() == (42,)
        assert dict(conn.execute("SELECT datname, oid FROM pg_database").fetchall()) == oids
        # auto_create_databases false: CREATE DATABASE is the way to make one
        conn.execute("CREATE DATABASE made")
    with pytest.raises(psycopg.OperationalError, match='database "unmade" does not exist'):
        psycopg.connect(second.dsn(dbname="unmade"))
    with psycopg.connect(second.dsn(dbname="made"), autocommit=True) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == ("made",)
        conn.execute('DROP DATABASE "Kept DB"')
    with pytest.raises(psycopg.OperationalError, match='database "Kept DB" does not exist'):
        psycopg.connect(second.dsn(dbname="Kept DB"))
    assert second.stop() == 0


def test_pgjdbc_matches_pg15(srv, pg15_dsn, tmp_path):
    java, javac = shutil.which("java"), shutil.which("javac")
    assert java and javac and JAR.exists(), "pgjdbc tests need java, javac and " + str(JAR)
    compiled = subprocess.run([javac, "-encoding", "UTF-8", "-cp", str(JAR), "-d",
                               str(tmp_path), str(JDBC_SOURCE)],
                              capture_output=True, text=True, timeout=300)
    assert compiled.returncode == 0, compiled.stderr

    def run(port: str, user: str, password: str) -> str:
        proc = subprocess.run([java, "-cp", f"{tmp_path}:{JAR}", "DatabasesJdbc", port, user,
                               password], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    reference = _env(pg15_dsn)
    mine = run(str(srv.port), "postgres", "postgres")
    assert mine == run(reference["PGPORT"], reference["PGUSER"], "")
    assert "DROP DATABASE dbt_jdbc -> ok" in mine and "-> 25001" in mine


def test_pipeline_mode_matches_pg15(ours, theirs):
    """psycopg's pipeline mode (no Sync between statements' messages, autocommit):
    PostgreSQL 15 runs CREATE DATABASE there, and so does this server."""
    listed = []
    for conn in (ours, theirs):
        with conn.pipeline():
            conn.execute("CREATE DATABASE dbt_pipe1")
            conn.execute("SELECT 1")
        with conn.pipeline():
            conn.execute("CREATE DATABASE dbt_pipe2")
            conn.execute("DROP DATABASE dbt_pipe1")
        listed.append(conn.execute("SELECT datname FROM pg_database "
                                   "WHERE datname LIKE 'dbt_pipe%'").fetchall())
        conn.execute("DROP DATABASE dbt_pipe2")
    assert listed[0] == listed[1] == [("dbt_pipe2",)]
