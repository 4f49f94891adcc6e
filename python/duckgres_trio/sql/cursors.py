"""SQL cursor statements: DECLARE, FETCH, MOVE, CLOSE.

DuckDB has no cursors; the session keeps them as portals (frontend/statements.py), which
is also what PostgreSQL does, so a driver can Describe a DECLAREd cursor as a portal
(psycopg's named cursors do). This module only reads the statements: the cursor's name,
its query, and how many rows a FETCH or MOVE wants. Cursors scan forward only, as
PostgreSQL's do without SCROLL; a backward direction is refused with 0A000.
"""

from __future__ import annotations

from dataclasses import dataclass

from duckgres_trio.errors import PgError, SqlState
from duckgres_trio.sql.lexer import Kind, Token, tokenize

#: FETCH/MOVE count meaning "every remaining row".
ALL = -1


@dataclass(frozen=True, slots=True)
class CursorCommand:
    """``kind`` is "declare", "fetch", "move" or "close"; ``name`` None for CLOSE ALL.
    DECLARE: ``query``, ``hold`` (WITH HOLD) and ``binary`` (BINARY: rows in binary
    format). FETCH/MOVE: ``count`` rows (ALL for every remaining one)."""

    kind: str
    name: str | None
    query: str = ""
    hold: bool = False
    binary: bool = False
    count: int = 1


def parse_cursor(text: str) -> CursorCommand:
    tokens = [t for t in tokenize(text) if t.kind is not Kind.SEMICOLON]
    first = tokens[0].value
    if first == "DECLARE":
        return _declare(text, tokens)
    if first in ("FETCH", "MOVE"):
        return _fetch(first.lower(), tokens[1:])
    if len(tokens) == 2 and tokens[1].kind is Kind.WORD and tokens[1].value == "ALL":
        return CursorCommand("close", None)
    if len(tokens) != 2:
        raise _syntax("CLOSE takes a cursor name or ALL")
    return CursorCommand("close", _name(tokens[1]))


def _declare(text: str, tokens: list[Token]) -> CursorCommand:
    if len(tokens) < 4:
        raise _syntax("DECLARE name CURSOR FOR query expected")
    name = _name(tokens[1])
    words = []
    pos = 2
    while pos < len(tokens) and not (tokens[pos].kind is Kind.WORD and tokens[pos].value == "FOR"):
        words.append(tokens[pos].value)
        pos += 1
    if pos >= len(tokens) - 1 or "CURSOR" not in words:
        raise _syntax("DECLARE name CURSOR FOR query expected")
    if "SCROLL" in words and "NO" not in words:
        raise PgError(SqlState.FEATURE_NOT_SUPPORTED,
                      "SCROLL cursors are not supported: cursors scan forward only")
    hold = "WITH" in words and "HOLD" in words
    return CursorCommand("declare", name, text[tokens[pos + 1].start:tokens[-1].end], hold=hold,
                         binary="BINARY" in words)


def _fetch(kind: str, tokens: list[Token]) -> CursorCommand:
    if not tokens:
        raise _syntax(f"{kind.upper()} needs a cursor name")
    name = _name(tokens[-1])
    words = tokens[:-1]
    if words and words[-1].kind is Kind.WORD and words[-1].value in ("FROM", "IN"):
        words = words[:-1]
    values = [t.value for t in words]
    if not values or values in (["NEXT"], ["FORWARD"]):
        count = 1
    elif values in (["ALL"], ["FORWARD", "ALL"]):
        count = ALL
    elif len(values) == 1 and words[0].kind is Kind.NUMBER:
        count = _count(values[0])
    elif len(values) == 2 and values[0] == "FORWARD" and words[1].kind is Kind.NUMBER:
        count = _count(values[1])
    elif values[0] in ("PRIOR", "FIRST", "LAST", "ABSOLUTE", "RELATIVE", "BACKWARD") \
            or values[0].startswith("-"):
        raise PgError(SqlState.FEATURE_NOT_SUPPORTED,
                      "cursor can only scan forward")
    else:
        raise _syntax(f"syntax error in {kind.upper()}")
    return CursorCommand(kind, name, count=count)


def _count(text: str) -> int:
    if not text.isdigit():
        raise _syntax(f"invalid row count: {text}")
    return int(text)


def _name(token: Token) -> str:
    if token.kind is Kind.QUOTED_IDENT:
        return token.value
    if token.kind is Kind.WORD:
        return token.value.lower()
    raise _syntax(f'syntax error at or near "{token.value}"')


def _syntax(message: str) -> PgError:
    return PgError(SqlState.SYNTAX_ERROR, message)
