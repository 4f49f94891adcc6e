"""What SQL users may do to the server (issue 18): which files DuckDB may open
(``file_access``), which engine settings a session may change, which extensions it may
load. Every check runs through a real server in the mode the suite runs in
(DUCKGRES_MODE), so the control plane's workers are set up like standalone DuckDB.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from duckgres_trio import config
from duckgres_trio.config import ConfigError
from duckgres_trio.engine import lockdown


def _sqlstate(conn: psycopg.Connection, sql: str) -> tuple[str | None, str]:
    with pytest.raises(psycopg.Error) as info:
        conn.execute(sql)
    return info.value.sqlstate, info.value.diag.message_primary or ""


def _csv(directory: Path, name: str = "t.csv") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text("a,b\n1,x\n2,y\n")
    return path


# --- settings -----------------------------------------------------------------------


def test_settings_defaults_and_sources(tmp_path):
    cfg = config.load(None, {}, {})
    assert cfg.file_access == "data_dir" and cfg.allowed_directories == ()
    assert cfg.auth_ban_exempt == ("127.0.0.0/8", "::1/128")
    assert set(cfg.allowed_extensions) == {"core_functions", "icu", "json", "parquet"}
    file = tmp_path / "c.yaml"
    file.write_text("auth_ban_exempt: [10.0.0.7, 192.168.0.0/16]\n"
                    "allowed_directories: [/srv/in, /srv/out]\nfile_access: none\n")
    cfg = config.load(file, {"allowed_extensions": "json"}, {"DUCKGRES_FILE_ACCESS": "all"})
    assert cfg.auth_ban_exempt == ("10.0.0.7/32", "192.168.0.0/16")
    assert cfg.allowed_directories == (Path("/srv/in"), Path("/srv/out"))
    assert cfg.file_access == "all" and cfg.allowed_extensions == ("json",)
    assert config.load(None, {"auth_ban_exempt": ""}, {}).auth_ban_exempt == ()
    for bad, message in (
            ({"auth_ban_exempt": "localhost"}, "auth_ban_exempt: expected addresses"),
            ({"file_access": "some"}, "file_access: must be one of all, data_dir, none")):
        with pytest.raises(ConfigError) as info:
            config.load(None, bad, {})
        assert message in str(info.value)


def test_file_access_as_duckdb_settings(tmp_path):
    assert "enable_external_access" not in lockdown.duckdb_config("all", tmp_path)
    early, late = lockdown.split(lockdown.duckdb_config("data_dir", tmp_path, [Path("/x'y")]))
    assert early["autoinstall_known_extensions"] == "false"
    assert "enable_external_access" not in early and "allowed_directories" not in early
    assert late == [f"SET GLOBAL allowed_directories = ['{tmp_path.resolve()}/', '/x''y/']",
                    "SET GLOBAL enable_external_access = false"]
    assert lockdown.split(lockdown.duckdb_config("none", tmp_path))[1] == [
        "SET GLOBAL enable_external_access = false"]


# --- file_access ------------------------------------------------------------------


def test_data_dir_is_the_default_and_fences_files_in(start_server, tmp_path):
    data = tmp_path / "data0"
    inside = _csv(data)
    extra = _csv(tmp_path / "extra")
    outside = _csv(tmp_path / "elsewhere")
    srv = start_server("--allowed-directories", str(extra.parent))
    with psycopg.connect(srv.dsn(), autocommit=True) as conn:
        # the data directory and allowed_directories: read and written
        assert conn.execute(f"SELECT count(*) FROM read_csv('{inside}')").fetchone() == (2,)
        assert conn.execute(f"SELECT sum(a) FROM read_csv('{extra}')").fetchone() == (3,)
        conn.execute("CREATE TABLE t AS SELECT 1 AS a")
        conn.execute(f"COPY t TO '{data / 'out.csv'}'")
        assert (data / "out.csv").read_text().strip() == "a\n1"
        # anything else: 42501, nothing read or written
        for sql in (f"SELECT * FROM read_csv('{outside}')",
                    "SELECT * FROM read_csv('/etc/passwd')",
                    "SELECT * FROM read_text('/proc/self/environ')",
                    f"SELECT * FROM read_csv('{data}/../elsewhere/t.csv')",
                    "SELECT * FROM glob('/etc/*')",
                    f"COPY t TO '{tmp_path / 'x.csv'}'",
                    f"ATTACH '{tmp_path / 'other.duckdb'}' AS other"):
            state, message = _sqlstate(conn, sql)
            assert state == "42501", (sql, state, message)
            assert "disabled by configuration" in message, message
        assert not (tmp_path / "x.csv").exists() and not (tmp_path / "other.duckdb").exists()
        # and a session cannot open it again
        for sql in ("SET enable_external_access = true",
                    "SET GLOBAL allowed_directories = ['/']",
                    "SET allowed_paths = ['/etc/passwd']"):
            state, _ = _sqlstate(conn, sql)
            assert state == "42501", (sql, state)
        # the server's own catalog, COPY through the client, and spilling still work
        assert conn.execute("SELECT datname FROM pg_database WHERE datname = 'postgres'"
                            ).fetchone() == ("postgres",)
        with conn.cursor().copy("COPY t FROM STDIN") as copy:
            copy.write("2\n")
        with conn.cursor().copy("COPY t TO STDOUT") as copy:
            assert b"".join(copy) == b"1\n2\n"
        assert conn.execute("SELECT count(*) FROM pg_class WHERE relname = 't'"
                            ).fetchone() == (1,)


def test_spilling_works_under_file_access_none(start_server, tmp_path):
    srv = start_server("--file-access", "none", "--duckdb-memory-limit", "100MB",
                       "--duckdb-threads", "1")
    with psycopg.connect(srv.dsn(), autocommit=True) as conn:
        state, _ = _sqlstate(conn, f"SELECT * FROM read_csv('{_csv(tmp_path / 'data0')}')")
        assert state == "42501"
        # more than memory_limit to sort: DuckDB spills to <database>.tmp
        assert conn.execute(
            "SELECT count(*) FROM (SELECT i, repeat('x', 60) || i AS s FROM range(4000000) t(i) "
            "ORDER BY s)").fetchone() == (4000000,)
        conn.execute("CREATE TABLE t AS SELECT range AS a FROM range(1000)")
        conn.execute("CHECKPOINT")
        assert conn.execute("SELECT current_database()").fetchone() == ("postgres",)
        assert conn.execute("SELECT datname FROM pg_database").fetchall() == [("postgres",)]


def test_file_access_all_reads_anything(start_server):
    srv = start_server("--file-access", "all")
    with psycopg.connect(srv.dsn(), autocommit=True) as conn:
        rows = conn.execute("SELECT * FROM read_csv('/etc/passwd', header = false, sep = ':')"
                            ).fetchall()
        assert any(row[0] == "root" for row in rows)


# --- engine settings ----------------------------------------------------------------

ENGINE_SETTINGS = (("SET memory_limit = '1GB'", "memory_limit"), ("SET threads TO 1", "threads"),
                   ("SET temp_directory = '/tmp'", "temp_directory"),
                   ("RESET memory_limit", "memory_limit"), ("SET SESSION threads = 1", "threads"),
                   ("SET GLOBAL pivot_limit = 5", "pivot_limit"),
                   ("PRAGMA memory_limit = '1GB'", "memory_limit"),
                   ("PRAGMA disable_checkpoint_on_shutdown", "disable_checkpoint_on_shutdown"),
                   ("SET enable_external_access = true", "enable_external_access"),
                   ("SET autoinstall_known_extensions = true", "autoinstall_known_extensions"),
                   ("SET lock_configuration = false", "lock_configuration"),
                   ('SET "Preserve_Insertion_Order" = false', "preserve_insertion_order"))


@pytest.mark.parametrize("prepare", [False, True], ids=["simple", "extended"])
def test_engine_settings_are_refused_naming_the_setting(server, prepare):
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        limit = conn.execute("SELECT current_setting('memory_limit')").fetchone()
        for sql, name in ENGINE_SETTINGS:
            with pytest.raises(psycopg.errors.InsufficientPrivilege) as info:
                conn.execute(sql, prepare=prepare)
            assert name in info.value.diag.message_primary, (sql, info.value.diag.message_primary)
        assert conn.execute("SELECT current_setting('memory_limit')").fetchone() == limit
        # inside a transaction it is an error like any other
        conn.execute("BEGIN")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SET threads = 1")
        conn.execute("ROLLBACK")


def test_session_settings_still_work(server):
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute("CREATE SCHEMA IF NOT EXISTS lockdown_s")
        for sql in ("SET search_path = lockdown_s, public", "SET TimeZone = 'Europe/Berlin'",
                    "SET DateStyle = 'SQL, DMY'", "SET statement_timeout = '5s'",
                    "SET application_name = 'x'", "SET myapp.flag = 'on'",
                    "SET pivot_limit = 5000", "SET VARIABLE v = 42"):
            conn.execute(sql)
        assert conn.execute("SHOW TimeZone").fetchone() == ("Europe/Berlin",)
        assert conn.execute("SELECT current_setting('pivot_limit')::VARCHAR, getvariable('v')"
                            ).fetchone() == ("5000", 42)
        assert conn.execute("SELECT current_schema()").fetchone() == ("lockdown_s",)
        # not a setting anyone knows: PostgreSQL's 42704, as before
        with pytest.raises(psycopg.errors.UndefinedObject):
            conn.execute("SET no_such_setting = 1")


def test_session_settings_are_duckdb_connection_local():
    """What SESSION_SETTINGS allows acts on the session's own DuckDB connection only:
    set on one connection, another still has the default (a DuckDB upgrade that made one
    of them instance-wide fails here)."""
    import duckdb

    from duckgres_trio.sql.lockdown import SESSION_SETTINGS

    db = duckdb.connect()
    one, other = db.cursor(), db.cursor()
    rows = one.execute("SELECT lower(name), value, input_type FROM duckdb_settings()").fetchall()
    values = {name: (value, kind) for name, value, kind in rows}
    for name in sorted(SESSION_SETTINGS):
        value, kind = values[name]
        if kind == "BOOLEAN":
            changed = "false" if value.lower() == "true" else "true"
        elif kind in ("BIGINT", "UBIGINT", "INTEGER", "UINTEGER", "DOUBLE"):
            changed = str(int(float(value)) + 7)
        elif name == "schema":
            one.execute("CREATE SCHEMA IF NOT EXISTS other_schema")
            changed = "'other_schema'"
        elif name == "file_search_path":
            changed = "'/tmp'"
        else:
            options = {"lambda_syntax": "'DISABLE_SINGLE_ARROW'",
                       "deprecated_using_key_syntax": "'UNION_AS_UNION_ALL'"}
            changed = options[name]
        one.execute(f"SET {name} = {changed}")
        shown = f"SELECT current_setting('{name}')::VARCHAR"
        assert one.execute(shown).fetchone()[0] != value, name
        assert other.execute(shown).fetchone()[0] == value, name


# --- extensions -----------------------------------------------------------------------


def test_install_is_refused_and_only_allowed_extensions_load(start_server):
    srv = start_server("--file-access", "all")  # DuckDB alone would now try the download
    with psycopg.connect(srv.dsn(), autocommit=True) as conn:
        for sql in ("INSTALL httpfs", "FORCE INSTALL httpfs", "INSTALL json"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege) as info:
                conn.execute(sql)
            assert info.value.diag.message_primary == "installing extensions is not allowed"
        for sql in ("LOAD httpfs", "LOAD '/tmp/evil.duckdb_extension'"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege) as info:
                conn.execute(sql)
            assert "permission denied to load extension" in info.value.diag.message_primary
            assert "json" in info.value.diag.message_hint
        conn.execute("LOAD json")
        conn.execute("LOAD parquet")
        assert conn.execute("""SELECT '{"a": 1}'::JSON->>'a'""").fetchone() == ("1",)
        # no autoload / autoinstall: a known extension's function is not fetched
        with pytest.raises(psycopg.Error) as info:
            conn.execute("SELECT * FROM read_xlsx('x.xlsx')")
        assert info.value.sqlstate != "00000"
        assert conn.execute("SELECT count(*) FROM duckdb_extensions() WHERE loaded "
                            "AND install_mode <> 'STATICALLY_LINKED'").fetchone() == (0,)


def test_allowed_extensions_setting(start_server):
    srv = start_server("--allowed-extensions", "parquet")
    with psycopg.connect(srv.dsn(), autocommit=True) as conn:
        conn.execute("LOAD parquet")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("LOAD json")
