"""Secrets out of the texts the server shows: pg_stat_activity, error messages.

A statement that may carry a secret (CREATE SECRET, ... PASSWORD '...') is shown with
its string literals replaced by '<redacted>'. DuckDB also takes a secret's option
values unquoted (``BEARER_TOKEN tok``, ``"tok"``, ``12345``): in CREATE [OR REPLACE]
[PERSISTENT | TEMPORARY] SECRET those are replaced by <redacted> as well, but for
TYPE and PROVIDER, which name no secret. DuckDB's errors quote the statement they
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
    """The string literals of ``text``, and the unquoted option values of a CREATE
    SECRET, in order; None if it does not tokenize."""
    try:
        tokens = tokenize(text)
    except LexError:
        return None
    bare = _bare_option_values(tokens)
    return [t for t in tokens if t.kind is Kind.STRING or t.start in bare]


#: Options of CREATE SECRET whose values name no secret.
_NAMING_OPTIONS = frozenset({"TYPE", "PROVIDER"})


def _bare_option_values(tokens: list[Token]) -> set[int]:
    """Start offsets of the option values of a CREATE ... SECRET that are not string
    literals (every token of a value but the options' keys and punctuation)."""
    words = [t.value for t in tokens[:6] if t.kind is Kind.WORD]
    if not words or words[0] != "CREATE" or "SECRET" not in words:
        return set()
    found, depth, key, expect_key = set(), 0, "", False
    for token in tokens[words.index("SECRET") + 1:]:
        if token.kind is Kind.PUNCT and token.value in "([":
            depth += 1
            expect_key = depth == 1
            continue
        if token.kind is Kind.PUNCT and token.value in ")]":
            depth -= 1
            continue
        if depth == 0:
            continue
        if depth == 1 and token.kind is Kind.PUNCT and token.value == ",":
            expect_key = True
            continue
        if expect_key:
            key, expect_key = token.value.upper(), False
            continue
        if key not in _NAMING_OPTIONS and token.kind in (Kind.WORD, Kind.QUOTED_IDENT,
                                                         Kind.NUMBER):
            found.add(token.start)
    return found


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
        shown = f"'{REDACTED}'" if literal.kind is Kind.STRING else REDACTED
        pieces += [text[last:literal.start], shown]
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
    quoted = {statement[t.start:t.end] for t in literals
              if t.kind in (Kind.STRING, Kind.QUOTED_IDENT)}
    bare = set()
    for t in literals:
        value = string_value(t) if t.kind is Kind.STRING else \
            t.value if t.kind is Kind.QUOTED_IDENT else statement[t.start:t.end]
        bare |= {value, value.lower()} if t.kind is Kind.WORD else {value}
    bare.discard("")
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
