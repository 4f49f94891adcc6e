"""COPY statements: what to copy, which way, and in which format.

Parsed from the lexer's tokens (never by pattern-matching the text), both option
syntaxes PostgreSQL accepts, because psql's ``\\copy`` passes the user's options through
as written::

    COPY t [(a, b)] TO STDOUT [WITH] (FORMAT csv, HEADER, DELIMITER ';', NULL 'x', ...)
    COPY (SELECT ...) TO STDOUT WITH CSV HEADER DELIMITER AS ';' NULL AS 'x'   -- pre-9.0
"""

from __future__ import annotations

from dataclasses import dataclass, field

from duckgres_trio.errors import PgError, SqlState
from duckgres_trio.sql.translate import DUCKDB_ONLY_KEYWORDS, needs_translation, translate
from duckgres_trio.sql.lexer import Kind, Token, string_value, tokenize
from duckgres_trio.wire.copy import CopyOptions


@dataclass(frozen=True)
class CopyStatement:
    direction: str  # "to" (TO STDOUT) or "from" (FROM STDIN)
    query: str  # the SELECT producing the rows (TO), or the table name (FROM)
    columns: tuple[str, ...] = ()
    options: CopyOptions = field(default_factory=CopyOptions)
    #: the query's ``Translation.json_types`` (TO)
    json_types: tuple[tuple[int, str], ...] = ()


def _syntax(message: str) -> PgError:
    return PgError(SqlState.SYNTAX_ERROR, message)


def parse_copy(text: str) -> CopyStatement:
    tokens = [t for t in tokenize(text) if t.kind is not Kind.SEMICOLON]
    pos = 1  # after COPY
    columns: tuple[str, ...] = ()
    json_types: tuple[tuple[int, str], ...] = ()
    if _is(tokens, pos, "("):
        close = _matching(tokens, pos)
        query = text[tokens[pos + 1].start:tokens[close - 1].end]
        pos = close + 1
        target = None
    else:
        start = pos
        while pos < len(tokens) and (tokens[pos].kind in (Kind.WORD, Kind.QUOTED_IDENT)
                                     and tokens[pos].value not in ("TO", "FROM")
                                     or _is(tokens, pos, ".")):
            pos += 1
        if pos == start:
            raise _syntax("syntax error at or near COPY: a table name or (query) expected")
        target = "".join(_name(text, t) for t in tokens[start:pos])
        if _is(tokens, pos, "("):
            close = _matching(tokens, pos)
            columns = tuple(_name(text, t) for t in tokens[pos + 1:close]
                            if not (t.kind is Kind.PUNCT and t.value == ","))
            pos = close + 1
        query = f"SELECT {', '.join(columns) if columns else '*'} FROM {target}"
    if pos >= len(tokens) or tokens[pos].value not in ("TO", "FROM"):
        raise _syntax("syntax error in COPY: TO or FROM expected")
    direction = tokens[pos].value.lower()
    pos += 1
    where = tokens[pos].value if pos < len(tokens) else ""
    if (direction, where) not in (("to", "STDOUT"), ("from", "STDIN")):
        raise _syntax(f"syntax error in COPY: {'STDOUT' if direction == 'to' else 'STDIN'} "
                      "expected")
    if direction == "from":
        if target is None:
            raise _syntax("COPY FROM needs a table, not a query")
        query = target
        if query.lower().startswith("public."):
            query = "main." + query[len("public."):]  # PostgreSQL's default schema is main here
    elif needs_translation(tokenize(query)):
        translation = translate(query)  # setup statements come only with DDL, never here
        query, json_types = translation.sql, translation.json_types
    options = _options(tokens[pos + 1:])
    _check_direction(options, direction)
    return CopyStatement(direction, query, columns, options, json_types)


def _name(text: str, token: Token) -> str:
    """A name as written, quoted if DuckDB reserves the word and PostgreSQL does not
    (``COPY at (at) FROM STDIN``)."""
    if token.kind is Kind.WORD and token.value.lower() in DUCKDB_ONLY_KEYWORDS:
        return f'"{token.value.lower()}"'
    return text[token.start:token.end]


def _is(tokens: list[Token], pos: int, punct: str) -> bool:
    return pos < len(tokens) and tokens[pos].kind is Kind.PUNCT and tokens[pos].value == punct


def _matching(tokens: list[Token], pos: int) -> int:
    depth = 0
    for i in range(pos, len(tokens)):
        if _is(tokens, i, "("):
            depth += 1
        elif _is(tokens, i, ")"):
            depth -= 1
            if depth == 0:
                return i
    raise _syntax("syntax error in COPY: unbalanced parentheses")


def _options(tokens: list[Token]) -> CopyOptions:
    if tokens and tokens[0].value == "WITH":
        tokens = tokens[1:]
    pairs: list[tuple[str, list[Token]]] = []
    if tokens and _is(tokens, 0, "("):
        close = _matching(tokens, 0)
        if close != len(tokens) - 1:
            raise _syntax("syntax error in COPY options")
        item: list[Token] = []
        depth = 0  # FORCE_QUOTE (a, b) has commas of its own
        for token in [*tokens[1:close], None]:
            if token is not None and token.kind is Kind.PUNCT and token.value in "()":
                depth += 1 if token.value == "(" else -1
            if token is None or (depth == 0 and token.kind is Kind.PUNCT and token.value == ","):
                if not item:
                    raise _syntax("syntax error in COPY options")
                pairs.append((item[0].value.lower(), item[1:]))
                item = []
            else:
                item.append(token)
    else:
        pairs = _legacy_options(tokens)
    return _resolve(pairs)


def _legacy_options(tokens: list[Token]) -> list[tuple[str, list[Token]]]:
    """The pre-9.0 syntax: BINARY, CSV, HEADER, DELIMITER [AS] 'x', NULL [AS] 'x',
    QUOTE [AS] 'x', ESCAPE [AS] 'x', FORCE QUOTE col, ... | *."""
    pairs = []
    pos = 0
    while pos < len(tokens):
        word = tokens[pos].value
        pos += 1
        if word in ("BINARY", "CSV"):
            pairs.append(("format", [Token(Kind.WORD, word, 0, 0)]))
        elif word == "HEADER":
            pairs.append(("header", []))
        elif word in ("DELIMITER", "NULL", "QUOTE", "ESCAPE", "ENCODING"):
            if pos < len(tokens) and tokens[pos].value == "AS":
                pos += 1
            if pos >= len(tokens):
                raise _syntax(f"syntax error in COPY: a value for {word} expected")
            pairs.append((word.lower(), [tokens[pos]]))
            pos += 1
        elif word == "FORCE" and pos < len(tokens) and tokens[pos].value in ("QUOTE", "NOT", "NULL"):
            kind = "force_quote" if tokens[pos].value == "QUOTE" else (
                "force_not_null" if tokens[pos].value == "NOT" else "force_null")
            pos += 2 if kind == "force_not_null" else 1  # FORCE NOT NULL: two words
            names = []
            while pos < len(tokens) and tokens[pos].value not in (
                    "DELIMITER", "NULL", "QUOTE", "ESCAPE", "HEADER", "CSV", "BINARY",
                    "ENCODING", "FORCE"):
                names.append(tokens[pos])
                pos += 1
            pairs.append((kind, names))
        else:
            raise _syntax(f'syntax error at or near "{word}" in COPY options')
    return pairs


def _resolve(pairs: list[tuple[str, list[Token]]]) -> CopyOptions:
    values: dict[str, object] = {}
    for name, args in pairs:
        if name in values:
            raise _syntax(f'conflicting or redundant options: "{name}"')
        values[name] = args
    fmt = _word(values.pop("format", None), "text").lower()
    if fmt not in ("text", "csv", "binary"):
        raise PgError(SqlState.INVALID_PARAMETER_VALUE, f'COPY format "{fmt}" not recognized')
    csv = fmt == "csv"
    opts = {"format": fmt, "delimiter": "," if csv else "\t", "null": "" if csv else "\\N"}
    for name, args in values.items():
        if name in ("delimiter", "null", "quote", "escape"):
            opts[name] = _string(args, name)
        elif name == "header":
            opts["header"] = _boolean(args)
        elif name == "force_quote":
            if len(args) == 1 and args[0].value == "*":
                opts["force_quote_all"] = True
            else:
                opts["force_quote"] = _column_names(args)
        elif name in ("force_null", "force_not_null"):
            opts[name] = _column_names(args)
        elif name == "freeze":
            _boolean(args)  # a PostgreSQL storage hint (pgbench -i sends it): no meaning here
        elif name == "encoding":
            if _string(args, name).upper().replace("-", "") not in ("UTF8", "SQL_ASCII"):
                raise PgError(SqlState.FEATURE_NOT_SUPPORTED, "COPY supports only UTF8")
        else:
            raise PgError(SqlState.FEATURE_NOT_SUPPORTED, f'COPY option "{name}" is not supported')
    if "quote" in opts and "escape" not in opts:
        opts["escape"] = opts["quote"]  # ESCAPE defaults to QUOTE
    options = CopyOptions(**opts)
    _check(options)
    return options


def _column_names(args: list[Token]) -> frozenset[str]:
    return frozenset(t.value.lower() if t.kind is Kind.WORD else t.value for t in args
                     if not (t.kind is Kind.PUNCT and t.value in ",()"))


def _word(args, default: str) -> str:
    if args is None:
        return default
    if len(args) != 1:
        raise _syntax("syntax error in COPY options")
    token = args[0]
    return string_value(token) if token.kind is Kind.STRING else token.value


def _string(args, name: str) -> str:
    if len(args) != 1 or args[0].kind is not Kind.STRING:
        raise _syntax(f"syntax error in COPY option {name}: a string expected")
    return string_value(args[0])


def _boolean(args) -> bool:
    if not args:
        return True
    word = _word(args, "true").lower()
    if word in ("true", "on", "1"):
        return True
    if word in ("false", "off", "0"):
        return False
    if word == "match":
        raise PgError(SqlState.FEATURE_NOT_SUPPORTED, "HEADER MATCH is not supported")
    raise PgError(SqlState.INVALID_PARAMETER_VALUE, "header requires a Boolean value")


def _check_direction(o: CopyOptions, direction: str) -> None:
    """The CSV column options, each valid in one direction only (PostgreSQL's messages)."""
    for option, name, wanted in ((o.force_null, "force null", "from"),
                                 (o.force_not_null, "force not null", "from"),
                                 (o.force_quote or o.force_quote_all, "force quote", "to")):
        if not option:
            continue
        if o.format != "csv":
            raise PgError(SqlState.FEATURE_NOT_SUPPORTED,
                          f"COPY {name} available only in CSV mode")
        if direction != wanted:
            raise PgError(SqlState.FEATURE_NOT_SUPPORTED,
                          f"COPY {name} only available using COPY {wanted.upper()}")


def _check(o: CopyOptions) -> None:
    """PostgreSQL's own checks (commands/copy.c), with its messages."""
    if len(o.delimiter) != 1:
        raise PgError(SqlState.FEATURE_NOT_SUPPORTED,
                      "COPY delimiter must be a single one-byte character")
    if o.delimiter in "\r\n":
        raise PgError(SqlState.INVALID_PARAMETER_VALUE,
                      "COPY delimiter cannot be newline or carriage return")
    if "\r" in o.null or "\n" in o.null:
        raise PgError(SqlState.INVALID_PARAMETER_VALUE,
                      "COPY null representation cannot use newline or carriage return")
    if o.format == "text" and o.delimiter in "\\.abcdefghijklmnopqrstuvwxyz0123456789":
        raise PgError(SqlState.INVALID_PARAMETER_VALUE,
                      f'COPY delimiter cannot be "{o.delimiter}"')
    if o.format == "csv":
        if len(o.quote) != 1 or len(o.escape) != 1:
            raise PgError(SqlState.FEATURE_NOT_SUPPORTED,
                          "COPY quote and escape must be single one-byte characters")
        if o.delimiter == o.quote:
            raise PgError(SqlState.INVALID_PARAMETER_VALUE,
                          "COPY delimiter and quote must be different")
        if o.delimiter in o.null:
            raise PgError(SqlState.INVALID_PARAMETER_VALUE,
                          "COPY delimiter must not appear in the NULL specification")
    if o.format == "binary" and o.header:
        raise PgError(SqlState.FEATURE_NOT_SUPPORTED, "cannot specify HEADER in BINARY mode")
