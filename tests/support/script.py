"""Running a script of statements the same way against this server and PostgreSQL, so
tests can compare what each answered."""

from __future__ import annotations

import psycopg


def run_script(dsn: str, script: list[str]) -> list[tuple]:
    """(statement, command tag, rows or None) for each statement, in autocommit mode on
    one connection."""
    outcomes = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        for sql in script:
            cur = conn.execute(sql)
            outcomes.append((sql, cur.statusmessage, cur.fetchall() if cur.description else None))
    return outcomes
