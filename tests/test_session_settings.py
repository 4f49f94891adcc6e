"""SET / SHOW / RESET / SET LOCAL of PostgreSQL's parameters, search_path applied to
DuckDB, savepoints accepted, compared where it matters with PostgreSQL 15."""

from __future__ import annotations

import psycopg
import pytest

from tests.support.pg15 import pg15_dsn  # noqa: F401 - pytest fixture
from tests.support.script import run_script

SCRIPT = [
    "show transaction isolation level",
    "show work_mem",
    "set work_mem = '64MB'",
    "show work_mem",
    "reset work_mem",
    "show work_mem",
    "set myapp.tenant = 'acme'",
    "show myapp.tenant",
    "begin",
    "set local statement_timeout = '5s'",
    "show statement_timeout",
    "savepoint a",
    "release savepoint a",
    "commit",
    "show statement_timeout",
    "set local work_mem = '1MB'",  # outside a transaction: a warning, no effect
    "show work_mem",
    "set transaction isolation level read committed",
    "set session characteristics as transaction isolation level read committed",
    "show max_identifier_length",
    # current_setting() reads the session's values, as SHOW does
    "select current_setting('work_mem'), current_setting('application_name')",
    "set work_mem = '64MB'",
    "set application_name = 'it''s me'",
    "set search_path = other, public",
    "select current_setting('work_mem'), current_setting('application_name'),"
    " current_setting('search_path'), current_setting('statement_timeout')",
    "begin",
    "set local work_mem = '1GB'",
    "select current_setting('work_mem')",
    "commit",
    "select current_setting('work_mem'), current_setting('myapp.tenant')",
    # set_config() sets, as SET and SET LOCAL do, and answers the value set
    "select set_config('myapp.user', '42', false)",
    "select current_setting('myapp.user')",
    "select pg_catalog.set_config('statement_timeout', '5000', false) as t, 1 as x",
    "show statement_timeout",
    "select set_config('work_mem', '1GB', true)",  # outside a transaction: no effect
    "show work_mem",
    "begin",
    "select set_config('work_mem', '1GB', true)",
    "show work_mem",
    "commit",
    "show work_mem",
    "select set_config('search_path', '', false)",
    "show search_path",
    "reset search_path",
    # custom (dotted) parameters: RESET and SET ... TO DEFAULT empty them; a RESET of
    # one never set creates it empty, as PostgreSQL's placeholders do
    "set myapp.tenant = 'other'",
    "reset myapp.tenant",
    "show myapp.tenant",
    "set myapp.tenant = 'again'",
    "set myapp.tenant to default",
    "show myapp.tenant",
    "reset myapp.never_before",
    "show myapp.never_before",
    "reset \"MyApp\".\"Tenant\"",
    # SET LOCAL of a custom parameter never set, by SET and set_config(): empty after
    "begin",
    "set local myapp.local_only = 'q'",
    "set local myapp.local_default to default",
    "select set_config('myapp.local_config', 'r', true)",
    "select current_setting('myapp.local_only'), current_setting('myapp.local_config')",
    "commit",
    "show myapp.local_only",
    "show myapp.local_default",
    "show myapp.local_config",
]


def test_settings_behave_as_in_postgresql(server, pg15_dsn):  # noqa: F811
    assert run_script(server.dsn(), SCRIPT) == run_script(pg15_dsn, SCRIPT)


@pytest.mark.parametrize("sql, sqlstate", [
    ("select set_config('no_such_setting', '1', false)", "42704"),
    ("show no_such_setting", "42704"),
    ("set server_version = '9'", "55P02"),
    ("show myapp.never_set", "42704"),
])
def test_settings_errors(server, sql, sqlstate):
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        with pytest.raises(psycopg.Error) as info:
            conn.execute(sql)
        assert info.value.sqlstate == sqlstate


def test_search_path_decides_where_unqualified_names_go(server):
    with psycopg.connect(server.dsn(dbname="paths"), autocommit=True) as conn:
        conn.execute("create schema if not exists app")
        conn.execute("set search_path = app, public")
        conn.execute("create table in_app (x int)")
        assert conn.execute("select table_schema from information_schema.tables "
                            "where table_name = 'in_app'").fetchone() == ("app",)
        conn.execute("set search_path = nowhere, public")  # PostgreSQL skips what is missing
        conn.execute("create table in_public (x int)")
        assert conn.execute("select table_schema from information_schema.tables "
                            "where table_name = 'in_public'").fetchone() == ("public",)
        assert conn.execute("show search_path").fetchone() == ("nowhere, public",)


def test_set_local_timezone_reverts_at_commit(server):
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute("set timezone = 'UTC'")
        conn.execute("begin")
        conn.execute("set local timezone = 'Asia/Tokyo'")
        assert conn.execute("select extract(hour from timestamptz '2024-01-01 00:00:00+00')"
                            ).fetchone()[0] == 9
        conn.execute("commit")
        assert conn.execute("show timezone").fetchone() == ("UTC",)
        assert conn.info.parameter_status("TimeZone") == "UTC"
        assert conn.execute("select extract(hour from timestamptz '2024-01-01 00:00:00+00')"
                            ).fetchone()[0] == 0


def test_rolling_back_to_a_savepoint_is_refused(server):
    with psycopg.connect(server.dsn()) as conn:
        conn.execute("savepoint s")
        with pytest.raises(psycopg.errors.FeatureNotSupported):
            conn.execute("rollback to savepoint s")


def test_set_config_reports_what_it_changes(server):
    """A reported parameter set by set_config() comes back as ParameterStatus, as after
    SET, in both protocols."""
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute("SELECT set_config('application_name', 'via set_config', false)")
        assert conn.info.parameter_status("application_name") == "via set_config"
        conn.execute("SELECT set_config('TimeZone', 'Europe/Berlin', false)", prepare=True)
        assert conn.info.parameter_status("TimeZone") == "Europe/Berlin"
        assert conn.execute("SELECT '2026-01-01 12:00:00+00'::timestamptz::text").fetchone() \
            == ("2026-01-01 13:00:00+01",)
