"""What a psycopg client reads from one statement, in a form that compares equal between
this server and PostgreSQL 15 when the client could not tell them apart."""

from __future__ import annotations

from contextlib import contextmanager

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


#: psycopg's three ways to run a statement: (binary results, prepare). Without
#: parameters psycopg sends a simple Query unless asked to prepare, and binary results
#: need the extended protocol.
PROTOCOLS = {"simple-text": (False, False), "extended-text": (False, True),
             "extended-binary": (True, True)}


@contextmanager
def schema_on_both(tmp_path_factory, pg15_dsn: str, database: str, schema: list[str]):
    """(our DSN, PostgreSQL's DSN), each holding ``schema`` in a new ``database``: a
    server of ours started for the module, and the reference cluster's database dropped
    and created empty."""
    from tests.conftest import ServerProcess
    from tests.support.pg15 import fresh_database

    ours = ServerProcess(tmp_path_factory.mktemp(database) / "data").start()
    try:
        dsns = (ours.dsn(dbname=database), fresh_database(pg15_dsn, database))
        for dsn in dsns:
            with psycopg.connect(dsn, autocommit=True) as conn:
                for statement in schema:
                    conn.execute(statement)
        yield dsns
    finally:
        ours.stop()
