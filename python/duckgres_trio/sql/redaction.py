"""Secrets out of the texts the server shows: pg_stat_activity, error messages.

A statement that may carry a secret (CREATE SECRET, ... PASSWORD '...') is shown with
its string literals replaced by '<redacted>'. DuckDB's errors quote the statement they
failed on ("LINE 1: CREATE SECRET ... 'hunter2'"), so an error raised by such a
statement has the same literals taken out of its message, detail and hint before it
reaches the client. Statement texts are never logged at all (``logs``).
"""

from __future__ import annotations

import re

from duckgres_trio.errors import PgError
from duckgres_trio.sql.lexer import Kind, LexError, Token, string_value, tokenize

_SECRET_WORDS = ("SECRET", "PASSWORD")
REDACTED = "<redacted>"


def _may_hold_secret(text: str) -> bool:
    upper = text.upper()
    return any(word in upper for word in _SECRET_WORDS)


def _literals(text: str) -> list[Token] | None:
    """The string literals of ``text``; None if it does not tokenize."""
    try:
        return [t for t in tokenize(text) if t.kind is Kind.STRING]
    except LexError:
        return None


def redacted(text: str) -> str:
    """``text`` with its string literals replaced by '<redacted>' if it may carry a
    secret; other texts as they are."""
    if not _may_hold_secret(text):
        return text
    literals = _literals(text)
    if literals is None:
        return REDACTED
    pieces, last = [], 0
    for literal in literals:
        pieces += [text[last:literal.start], f"'{REDACTED}'"]
        last = literal.end
    pieces.append(text[last:])
    return "".join(pieces)


def redacted_error(err: PgError, statement: str) -> PgError:
    """``err`` without the string literals of the secret-bearing ``statement`` it was
    raised by, quoted or bare, in any of its texts; other errors as they are."""
    if not _may_hold_secret(statement):
        return err
    literals = _literals(statement)
    if literals is None:  # unlexable: keep only what cannot quote the statement
        return PgError(err.sqlstate, REDACTED, severity=err.severity)
    quoted = {statement[t.start:t.end] for t in literals}
    bare = {value for value in map(string_value, literals) if value}
    # Quoted literals whole (longest first, so none is cut by a shorter one); then their
    # values where the error prints them bare, as whole words only ('x' must not take
    # the x out of "extension").
    patterns = [re.escape(q) for q in sorted(quoted, key=len, reverse=True)]
    patterns += [rf"(?<!\w){re.escape(b)}(?!\w)" for b in sorted(bare, key=len, reverse=True)]
    secret = re.compile("|".join(patterns)) if patterns else None

    def clean(text: str | None) -> str | None:
        if text is None or secret is None:
            return text
        return secret.sub(lambda m: f"'{REDACTED}'" if m[0][0] == "'" else REDACTED, text)

    return PgError(err.sqlstate, clean(err.message), severity=err.severity,
                   detail=clean(err.detail), hint=clean(err.hint), position=err.position,
                   constraint=clean(err.constraint))
