"""CREATE / DROP PERSISTENT SECRET, read here so the session can keep them in the
config store instead of letting DuckDB write them to a file (``tenancy.secrets``).

DuckDB's syntax: ``CREATE [OR REPLACE] PERSISTENT SECRET [IF NOT EXISTS] [name]
(option value, ...)`` and ``DROP PERSISTENT SECRET [IF EXISTS] name``. The session
runs a CREATE as the same secret made TEMPORARY (DuckDB validates it and the session
can use it at once); what is kept is the option list, the text between the
parentheses, replayed later as ``CREATE OR REPLACE TEMPORARY SECRET name (...)``.
Names fold to lower case as DuckDB folds them (quoted ones too); an unnamed secret
is DuckDB's ``__default_<type>``.
"""

from __future__ import annotations

from dataclasses import dataclass

from duckgres_trio.errors import PgError, SqlState
from duckgres_trio.sql.lexer import Kind, LexError, Token, string_value, tokenize

#: Longest CREATE PERSISTENT SECRET kept (its sealed blob must fit the store's row).
MAX_STATEMENT = 8192


@dataclass(frozen=True)
class SecretCommand:
    kind: str  # "create" or "drop"
    name: str  # as DuckDB names it (lower case)
    options: str = ""  # create: "(TYPE ..., ...)", as the client wrote it
    replace: bool = False  # CREATE OR REPLACE
    if_not_exists: bool = False  # CREATE ... IF NOT EXISTS
    missing_ok: bool = False  # DROP ... IF EXISTS

    def temporary_sql(self) -> str:
        """The CREATE run on the session (and replayed by later sessions)."""
        return temporary_sql(self.name, self.options, replace=self.replace,
                             if_not_exists=self.if_not_exists)


def temporary_sql(name: str, options: str, *, replace: bool = True,
                  if_not_exists: bool = False) -> str:
    head = "CREATE OR REPLACE" if replace else "CREATE"
    guard = " IF NOT EXISTS" if if_not_exists else ""
    return f"{head} TEMPORARY SECRET{guard} {quote_ident(name)} {options}"


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def parse(text: str) -> SecretCommand | None:
    """The persistent-secret command ``text`` is, None for any other statement;
    PgError for one this server cannot keep."""
    head = text.lstrip()[:200].upper()
    if "PERSISTENT" not in head or not (head.startswith("CREATE") or head.startswith("DROP")):
        return None
    try:
        tokens = tokenize(text)
    except LexError:
        return None  # the splitter has refused it already
    if tokens and tokens[-1].kind is Kind.SEMICOLON:
        tokens = tokens[:-1]
    words = _leading_words(tokens)
    if words[:3] == ["DROP", "PERSISTENT", "SECRET"]:
        return _drop(tokens[3:])
    at = 1
    replace = words[1:3] == ["OR", "REPLACE"]
    if replace:
        at = 3
    if words[at:at + 2] != ["PERSISTENT", "SECRET"]:
        return None
    return _create(text, tokens[at + 2:], replace)


def _create(text: str, rest: list[Token], replace: bool) -> SecretCommand:
    if len(text) > MAX_STATEMENT:
        raise PgError(SqlState.PROGRAM_LIMIT_EXCEEDED,
                      f"CREATE PERSISTENT SECRET is too long (at most {MAX_STATEMENT} bytes)")
    if_not_exists = _words(rest, 3) == ["IF", "NOT", "EXISTS"]
    if if_not_exists:
        rest = rest[3:]
        if replace:
            raise PgError(SqlState.SYNTAX_ERROR,
                          "CREATE OR REPLACE PERSISTENT SECRET cannot have IF NOT EXISTS")
    name = None
    if rest and rest[0].kind in (Kind.WORD, Kind.QUOTED_IDENT, Kind.STRING):
        name, rest = _ident(rest[0]), rest[1:]
    if rest and rest[0].kind is Kind.WORD and rest[0].value == "IN":
        raise PgError(SqlState.FEATURE_NOT_SUPPORTED,
                      "a persistent secret is kept in the server's config store; "
                      "IN <storage> is not supported")
    if not rest or rest[0].value != "(" or rest[-1].value != ")" or not _balanced(rest):
        raise PgError(SqlState.SYNTAX_ERROR,
                      "CREATE PERSISTENT SECRET needs its options in parentheses, "
                      "and nothing after them")
    if any(t.kind is Kind.PARAM for t in rest):
        raise PgError(SqlState.FEATURE_NOT_SUPPORTED,
                      "CREATE PERSISTENT SECRET cannot take parameters ($n)")
    options = text[rest[0].start:rest[-1].end]
    if name is None:
        kind = _option(rest, "TYPE")
        if kind is None:
            raise PgError(SqlState.SYNTAX_ERROR, "CREATE PERSISTENT SECRET needs a TYPE")
        name = f"__default_{kind}"
    return SecretCommand("create", name, options, replace=replace, if_not_exists=if_not_exists)


def _drop(rest: list[Token]) -> SecretCommand:
    missing_ok = _words(rest, 2) == ["IF", "EXISTS"]
    if missing_ok:
        rest = rest[2:]
    if len(rest) != 1 or rest[0].kind not in (Kind.WORD, Kind.QUOTED_IDENT, Kind.STRING):
        raise PgError(SqlState.SYNTAX_ERROR,
                      "DROP PERSISTENT SECRET takes one secret name (and no FROM <storage>)")
    return SecretCommand("drop", _ident(rest[0]), missing_ok=missing_ok)


def _leading_words(tokens: list[Token]) -> list[str]:
    out = []
    for token in tokens[:5]:
        if token.kind is not Kind.WORD:
            break
        out.append(token.value)
    return out


def _words(tokens: list[Token], n: int) -> list[str]:
    return [t.value for t in tokens[:n] if t.kind is Kind.WORD]


def _ident(token: Token) -> str:
    if token.kind is Kind.STRING:
        return string_value(token).lower()
    return token.value.lower()  # a quoted identifier's value is without its quotes


def _balanced(tokens: list[Token]) -> bool:
    """The first "(" closes at the last token."""
    depth = 0
    for i, token in enumerate(tokens):
        if token.kind is Kind.PUNCT and token.value in "([":
            depth += 1
        elif token.kind is Kind.PUNCT and token.value in ")]":
            depth -= 1
            if depth == 0 and i != len(tokens) - 1:
                return False
    return depth == 0


def _option(tokens: list[Token], key: str) -> str | None:
    """The value of a top-level option (``TYPE http``), lower case."""
    for i in range(1, len(tokens) - 1):
        before = tokens[i - 1]
        if tokens[i].kind is Kind.WORD and tokens[i].value == key \
                and before.kind is Kind.PUNCT and before.value in "(,":
            return _ident(tokens[i + 1])
    return None
