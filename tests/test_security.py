"""Security: secrets stay out of errors and logs, worker credentials out of command
lines, private files private, startup parameters cannot smuggle SQL in.

(Bans after failed logins: test_limits.py; pg_stat_activity redaction: test_activity.py;
plaintext passwords refused in the configuration: test_config.py; unknown users
indistinguishable: test_scram.py.)
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import psycopg
import pytest

from duckgres_trio.errors import PgError
from duckgres_trio.sql.redaction import redacted, redacted_error
from tests.test_controlplane import worker_pids

SECRET = "hunter2-0123"
BAD_SECRETS = [
    # a syntax error: DuckDB quotes the whole statement back ("LINE 1: ...", which the
    # session turns into a Position)
    f"CREATE SECRET s1 (TYPE s3, KEY_ID 'AKIA' SECRET '{SECRET}')",
    f"CREATE SECRET s2 (TYPE nosuch, SECRET '{SECRET}')",
    f"ALTER ROLE bob PASSWORD '{SECRET}'",
    f"SELECT '{SECRET}' AS password FROM no_such_table",
]


def _error_text(err: psycopg.Error) -> str:
    diag = err.diag
    return " ".join(filter(None, [diag.message_primary, diag.message_detail, diag.message_hint]))


@pytest.mark.controlplane_only  # conftest.py: control plane whatever the mode
@pytest.mark.parametrize("prepare", [False, True], ids=["simple", "extended"])
def test_secret_literals_never_come_back_in_errors_or_logs(start_server, prepare):
    srv = start_server("--log-level", "debug", "--mode", "controlplane")
    with psycopg.connect(srv.dsn(), autocommit=True) as conn:
        for sql in BAD_SECRETS:
            with pytest.raises(psycopg.Error) as info:
                conn.execute(sql, prepare=prepare)
            text = _error_text(info.value)
            assert SECRET not in text, (sql, text)
            assert "LINE 1" not in text, text  # DuckDB's context became the Position
        assert conn.execute("SELECT 1").fetchone() == (1,)
        # Statements without a secret keep their position and DuckDB's other lines.
        sql = "SELECT * FROM no_such_table WHERE x = 'visible-literal'"
        with pytest.raises(psycopg.Error) as info:
            conn.execute(sql, prepare=prepare)
        assert info.value.diag.statement_position == str(sql.index("no_such_table") + 1)
    assert SECRET not in srv.log()


def test_redacted_error_replaces_literals_whole_and_bare():
    sql = "CREATE SECRET (TYPE s3, KEY_ID 'k', SECRET 'It''s x')"
    err = PgError("42601", "bad value It's x near 'k'", detail=f"LINE 1: {sql}", hint="k")
    clean = redacted_error(err, sql)
    assert clean.message == "bad value <redacted> near '<redacted>'"
    assert clean.detail == ("LINE 1: CREATE SECRET (TYPE s3, KEY_ID '<redacted>', "
                            "SECRET '<redacted>')")
    assert clean.hint == "<redacted>"
    assert redacted_error(PgError("x", "k in kind"), sql).message == "<redacted> in kind"
    ordinary = PgError("42P01", "'k' is missing")
    assert redacted_error(ordinary, "SELECT 'k'") is ordinary


def test_unquoted_secret_option_values_are_redacted_too():
    """DuckDB takes a secret's option values unquoted (a word, "ident", a number)."""
    sql = 'CREATE SECRET s (TYPE http, BEARER_TOKEN Tok1, X "tok2", Y 345, PROVIDER config)'
    assert redacted(sql) == ("CREATE SECRET s (TYPE http, BEARER_TOKEN <redacted>, "
                             "X <redacted>, Y <redacted>, PROVIDER config)")
    err = PgError("42601", 'bad tok1 "tok2" 345 for type http', detail=f"LINE 1: {sql}")
    clean = redacted_error(err, sql)
    assert clean.message == "bad <redacted> <redacted> <redacted> for type http"
    assert "Tok1" not in clean.detail and "tok2" not in clean.detail
    # not a CREATE SECRET: words stay
    assert redacted("ALTER USER bob PASSWORD 'x' VALID UNTIL 'infinity'").count("bob") == 1


@pytest.mark.controlplane_only  # conftest.py: control plane whatever the mode
def test_worker_credentials_are_in_no_command_line(start_server):
    """Workers get their bearer token through the environment (readable only by this
    user), never argv (world-readable in /proc)."""
    srv = start_server("--mode", "controlplane")
    with psycopg.connect(srv.dsn(dbname="a")), psycopg.connect(srv.dsn(dbname="b")):
        workers = worker_pids(srv)
        assert workers
        token = re.compile(rb"[0-9a-f]{32,}")
        for pid in [srv.proc.pid, *workers]:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            assert not token.search(cmdline), cmdline
            assert b"token" not in cmdline.lower(), cmdline
            environ = Path(f"/proc/{pid}/environ")
            assert stat.S_IMODE(environ.stat().st_mode) == 0o400


@pytest.mark.controlplane_only  # conftest.py: control plane whatever the mode
def test_worker_socket_directory_is_private(start_server, tmp_path):
    socket_dir = tmp_path / "sockets"
    socket_dir.mkdir(mode=0o755)
    os.chmod(socket_dir, 0o755)
    srv = start_server("--mode", "controlplane", "--socket-dir", str(socket_dir))
    with psycopg.connect(srv.dsn()) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
        assert stat.S_IMODE(socket_dir.stat().st_mode) == 0o700
        assert any(p.suffix == ".sock" for p in socket_dir.iterdir())


@pytest.mark.controlplane_only  # conftest.py: control plane whatever the mode
def test_socket_directory_that_is_a_symlink_is_refused(start_server, tmp_path):
    (tmp_path / "elsewhere").mkdir()
    link = tmp_path / "sockets"
    link.symlink_to(tmp_path / "elsewhere")
    with pytest.raises(RuntimeError) as info:
        start_server("--mode", "controlplane", "--socket-dir", str(link))
    assert "exited with 2" in str(info.value)
    assert "is a symlink or not ours" in str(info.value)


def test_tls_key_readable_by_others_is_refused(start_server, tmp_path):
    data = tmp_path / "data"
    first = start_server(data_dir=data)  # generates server.crt / server.key (0600)
    assert stat.S_IMODE((data / "server.key").stat().st_mode) == 0o600
    first.stop()
    os.chmod(data / "server.key", 0o644)
    with pytest.raises(RuntimeError) as info:
        start_server(data_dir=data)
    assert "has group or world access" in str(info.value)
    os.chmod(data / "server.key", 0o600)
    with psycopg.connect(start_server(data_dir=data).dsn()) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


INJECTIONS = [
    "search_path=x'\\;CREATE\\ TABLE\\ pwned1(i\\ int)\\;--",
    "TimeZone=UTC'\\;CREATE\\ TABLE\\ pwned2(i\\ int)\\;--",
    "statement_timeout=1'\\;CREATE\\ TABLE\\ pwned3(i\\ int)\\;--",
    "application_name=x'\\;CREATE\\ TABLE\\ pwned4(i\\ int)\\;--",
    "DateStyle=ISO'\\;CREATE\\ TABLE\\ pwned5(i\\ int)\\;--",
]


@pytest.mark.parametrize("option", INJECTIONS)
def test_startup_parameters_cannot_inject_sql(server, option):
    """Each value is either refused (FATAL, as PostgreSQL refuses it) or taken as a
    plain value; no statement hidden in it ever runs."""
    name, _, value = option.partition("=")
    try:
        with psycopg.connect(server.dsn(options=f"-c {option}"), autocommit=True) as conn:
            shown = conn.execute(f"SHOW {name}").fetchone()[0]
            assert shown == value.replace("\\", ""), shown
            assert conn.execute("SELECT 1").fetchone() == (1,)
    except psycopg.OperationalError as exc:
        assert "invalid value for parameter" in str(exc), exc
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        made = conn.execute("SELECT table_name FROM information_schema.tables "
                            "WHERE table_name LIKE 'pwned%'").fetchall()
        assert made == []
