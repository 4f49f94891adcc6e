"""Session settings as drivers use them, compared with PostgreSQL 15: SET statements
anywhere in a Query, transaction characteristics and READ ONLY, TimeZone in every form
PostgreSQL accepts, DateStyle and IntervalStyle output and input.

Each script runs on both servers over one connection and every answer is compared:
command tag, column names and type OIDs, values (raw text for date/time types, so the
server's own spelling is compared), or SQLSTATE and message."""

from __future__ import annotations

import psycopg
import pytest
from psycopg.adapt import Loader

from tests.support.pg15 import pg15_dsn  # noqa: F401 - pytest fixture

#: Date/time types whose text is compared as the server spelled it.
_RAW_TEXT = ("date", "time", "timetz", "timestamp", "timestamptz", "interval")


class _Raw(Loader):
    def load(self, data):
        return bytes(data).decode()


def _raw_text(conn: psycopg.Connection) -> None:
    for name in _RAW_TEXT:
        conn.adapters.register_loader(name, _Raw)


def outcomes(dsn: str, script: list, *, binary: bool = False, prepare: bool | None = None,
             raw: bool = True) -> list:
    """What each statement answered on one autocommit connection. A statement is SQL
    or (SQL, params)."""
    answers = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        if raw and not binary:
            _raw_text(conn)
        for item in script:
            sql, params = (item, None) if isinstance(item, str) else item
            try:
                cur = conn.execute(sql, params, binary=binary, prepare=prepare)
                answers.append((sql, cur.statusmessage,
                                [(c.name, c.type_code) for c in cur.description or ()],
                                cur.fetchall() if cur.description else None))
            except psycopg.Error as err:
                answers.append((sql, "ERROR", err.sqlstate, err.diag.message_primary))
    return answers


def assert_same(ours: list, theirs: list) -> None:
    for mine, pg in zip(ours, theirs, strict=True):
        assert mine == pg


# -- SET wherever it stands in a Query ---------------------------------------------

SET_POSITIONS = [
    "\n set application_name to 'after a newline'",
    "show application_name",
    "select 1; set application_name to 'second'",
    "show application_name",
    "  \t set statement_timeout = '7s'",
    "show statement_timeout",
    "select 1;\n\n  set work_mem to '32MB'; show work_mem",
    "/* c */ set search_path to public",
    "show search_path",
    "select 2; set time zone 'Europe/Paris'",
    "show timezone",
    "select 3;  reset application_name",
    "show application_name",
    "select 5; set myapp.x = 'y'; show myapp.x",
]


def test_set_anywhere_in_a_query(server, pg15_dsn):  # noqa: F811
    assert_same(outcomes(server.dsn(), SET_POSITIONS), outcomes(pg15_dsn, SET_POSITIONS))
