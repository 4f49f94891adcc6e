"""What a psycopg client reads from one statement, in a form that compares equal between
this server and PostgreSQL 15 when the client could not tell them apart."""

from __future__ import annotations

import psycopg


def outcome(conn: psycopg.Connection, sql: str, params=None, *, binary: bool = False,
            prepare: bool | None = None, detail: bool = False) -> tuple:
    """``("rows", [(name, type OID)], rows)`` as psycopg's loaders read them,
    ``("ok", command tag)``, or ``("error", SQLSTATE, primary message)`` (and the DETAIL
    with ``detail``). ``prepare=True`` forces the extended protocol's named statements,
    ``binary`` asks for binary results."""
    try:
        with conn.cursor(binary=binary) as cur:
            cur.execute(sql, params, prepare=prepare)
            if cur.description is None:
                return ("ok", cur.statusmessage)
            return ("rows", [(d.name, d.type_code) for d in cur.description], cur.fetchall())
    except psycopg.Error as err:
        if detail:
            return ("error", err.sqlstate, err.diag.message_primary, err.diag.message_detail)
        return ("error", err.sqlstate, err.diag.message_primary)
