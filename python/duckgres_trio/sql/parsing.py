"""PostgreSQL's own parser for the statements the session runs itself (PREPARE,
EXECUTE, LISTEN, CREATE DATABASE, ...): one statement's tree, or PostgreSQL's 42601."""

from __future__ import annotations

from pglast import parse_sql
from pglast.parser import ParseError

from duckgres_trio.errors import PgError, SqlState


def parse_statement(text: str) -> object:
    """The parse tree of the one statement ``text``; PgError 42601 if it does not parse
    (the message without pglast's ", at index n")."""
    try:
        return parse_sql(text)[0].stmt
    except ParseError as exc:
        raise PgError(SqlState.SYNTAX_ERROR, str(exc.args[0])) from None
