"""Split a Query string into statements and classify each one.

The classification gives what the protocol layer must know before and after running a
statement: its command tag word, whether it returns rows, whether it controls the
transaction, and whether it must be refused before reaching the engine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache

from duckgres_trio.engine.errors import for_statement
from duckgres_trio.errors import PgError, SqlState
from duckgres_trio.sql import autoparam, lockdown
from duckgres_trio.sql.conflicts import takes_turn
from duckgres_trio.sql.cursors import CursorCommand, parse_cursor
from duckgres_trio.sql.databases import DatabaseCommand, parse_database_command
from duckgres_trio.sql.explain import (EXPLAINABLE, Explain, duckdb_explain, parse_explain,
                                       syntax_error)
from duckgres_trio.sql.lexer import Kind, LexError, Token, string_value, tokenize
from duckgres_trio.sql.notifications import NotificationCommand, parse_notification
from duckgres_trio.sql.prepared import PreparedCommand, parse_prepared
from duckgres_trio.sql.unsupported import decide, refusal
from duckgres_trio.sql.translate import needs_translation, translate

#: Commands whose tag carries a row count ("INSERT 0 n", "UPDATE n", ...).
COUNTED = frozenset({"INSERT", "UPDATE", "DELETE", "MERGE", "SELECT", "COPY", "FETCH", "MOVE"})

_ROWS = {
    "SELECT": "SELECT", "VALUES": "SELECT", "TABLE": "SELECT", "FROM": "SELECT",
    "PIVOT": "SELECT", "UNPIVOT": "SELECT", "SUMMARIZE": "SELECT", "DESCRIBE": "SELECT",
    "DESC": "SELECT", "CALL": "SELECT", "SHOW": "SHOW", "EXPLAIN": "EXPLAIN",
}
_DML = ("INSERT", "UPDATE", "DELETE", "MERGE")
_CURSOR_COMMANDS = {"DECLARE": "DECLARE CURSOR", "FETCH": "FETCH", "MOVE": "MOVE",
                    "CLOSE": "CLOSE CURSOR"}
#: SHOW forms spelled as SQL phrases.
_SHOW_PHRASES = {("TRANSACTION", "ISOLATION", "LEVEL"): "transaction_isolation",
                 ("TIME", "ZONE"): "timezone", ("SESSION", "AUTHORIZATION"): "session_authorization"}
#: DISCARD targets -> their command tag's word.
_DISCARD = {"ALL": "ALL", "PLANS": "PLANS", "TEMP": "TEMP", "TEMPORARY": "TEMP",
            "SEQUENCES": "SEQUENCES"}
#: Leading words of statements sql.unsupported decides (refused or accepted as they
#: are); for CREATE/ALTER/DROP, the object word after them. Nothing else is parsed there.
_DECIDED = frozenset({"LOCK", "CLUSTER", "REINDEX", "GRANT",
                      "REVOKE", "DO", "REFRESH", "SECURITY", "REASSIGN", "IMPORT"})
_DECIDED_OBJECTS = frozenset(
    {"ROLE", "USER", "GROUP", "TRIGGER", "CONSTRAINT", "RULE", "EXTENSION", "POLICY",
     "PUBLICATION", "SUBSCRIPTION", "TABLESPACE", "DOMAIN", "AGGREGATE", "OPERATOR", "CAST",
     "COLLATION", "CONVERSION", "LANGUAGE", "TRUSTED", "PROCEDURAL", "FOREIGN", "SERVER",
     "EVENT", "STATISTICS", "ACCESS", "TEXT", "TRANSFORM", "PROCEDURE", "ROUTINE", "FUNCTION",
     "MATERIALIZED", "TYPE", "OWNED", "SYSTEM", "DEFAULT"})
_CREATE_MODIFIERS = frozenset(
    {"OR", "REPLACE", "TEMP", "TEMPORARY", "UNLOGGED", "GLOBAL", "LOCAL", "UNIQUE",
     "MATERIALIZED", "PERSISTENT", "RECURSIVE"}
)


@dataclass(frozen=True, slots=True)
class Statement:
    """One statement of a Query.

    ``command``: the tag word(s) PostgreSQL reports ("SELECT", "CREATE TABLE", ...).
    ``returns_rows``: True/False when the shape is known, None when only the engine's
    result can tell (DuckDB-only statements such as PRAGMA).
    ``transaction``: "begin", "commit" or "rollback" for transaction control.
    ``refusal``: an error to answer instead of running the statement.
    ``parameter``/``value``: for SET, RESET and SHOW, the parameter named (lower case)
    and, for SET, the value text (None for RESET, SET ... TO DEFAULT and SHOW).
    ``copy``: "out" for COPY ... TO STDOUT, "in" for COPY ... FROM STDIN (the session
    runs the copy protocol).
    ``sql``/``setup``/``param_types``: the text DuckDB runs (``sql.translate``; None:
    ``text`` as it is), after each statement of ``setup``; parameter OIDs the text's
    casts decide; ``activity``/``signals``/``json_types``/``char_types``: see
    ``sql.translate.Translation``.
    ``cursor``: DECLARE/FETCH/MOVE/CLOSE, which the session runs (``sql.cursors``).
    ``local``: SET LOCAL, undone when the transaction ends.
    ``explain``: EXPLAIN's options; ``sql`` asks DuckDB for the plan as JSON, which the
    session renders as PostgreSQL's QUERY PLAN (``sql.explain``).
    ``database``: CREATE/DROP DATABASE, which the session runs (``sql.databases``).
    ``start``: where ``text`` starts in the Query (error positions count from there).
    ``transaction`` "characteristics": SET TRANSACTION / SET SESSION CHARACTERISTICS
    (their ``modes``); "accept": another statement answered with its tag and nothing
    else (sql.unsupported); "lock": LOCK TABLE.
    ``prepared``: PREPARE/EXECUTE/DEALLOCATE, run by the session (``sql.prepared``).
    ``reset``: DISCARD's target ("all", "plans", "temp", "sequences") or "parameters"
    for RESET ALL, run by the session. ``notification``: LISTEN/UNLISTEN/NOTIFY,
    run by the session (frontend/notify.py).
    ``modes``: the (parameter, value) pairs that they and BEGIN / START TRANSACTION
    set (transaction_isolation, transaction_read_only, transaction_deferrable or the
    default_ ones).
    ``writes``: the command name PostgreSQL refuses in a read-only transaction
    ("INSERT", "CREATE TABLE", "COPY FROM", "SELECT FOR UPDATE", ...), None if allowed.
    ``shape``: a SELECT's tokens with its constants' values left out: statements of
    one shape differ in constants only, so their result columns have the same origins
    (sql/origins.py caches them by it; pgbench's lookups differ in a number).
    ``constants``: a SELECT's constants that may be bound as parameters of a plan kept
    for all statements of its text without them (``sql.autoparam``), or None.
    ``conflicts``: it can conflict with another transaction's writes, so it waits for
    its database's write turn (sql/conflicts.py, frontend/turns.py).
    """

    text: str
    command: str
    returns_rows: bool | None = True
    transaction: str | None = None
    refusal: PgError | None = None
    parameter: str | None = None
    value: str | None = None
    copy: str | None = None
    sql: str | None = None
    setup: tuple[str, ...] = ()
    param_types: tuple[tuple[int, int], ...] = ()
    activity: bool = False
    signals: tuple[tuple[int, str], ...] = ()
    json_types: tuple[tuple[int, str], ...] = ()
    char_types: tuple[tuple[int, int], ...] = ()
    cursor: CursorCommand | None = None
    local: bool = False
    explain: Explain | None = None
    database: DatabaseCommand | None = None
    start: int = 0
    prepared: PreparedCommand | None = None
    reset: str | None = None
    notification: NotificationCommand | None = None
    #: WARNINGs sent before the statement runs (``sql.lake_ddl``: what DuckLake dropped)
    notices: tuple[str, ...] = ()
    modes: tuple[tuple[str, str], ...] = ()
    writes: str | None = None
    shape: tuple[str, ...] | None = None
    conflicts: bool = False
    constants: autoparam.Constants | None = None

    @property
    def engine_text(self) -> str:
        """What DuckDB runs for this statement."""
        return self.text if self.sql is None else self.sql

    def located(self, err: PgError, ran: str) -> PgError:
        """``err``, raised by DuckDB running ``ran`` for this statement, with what only
        the statement tells: its Position in the client's Query, the target table's
        name in constraint names and messages (``engine.errors.for_statement``)."""
        if self.command == "SHOW" and self.parameter and err.sqlstate == SqlState.UNDEFINED_TABLE:
            # neither ours nor a DuckDB table to show: PostgreSQL's answer
            return PgError(SqlState.UNDEFINED_OBJECT,
                           f'unrecognized configuration parameter "{self.parameter}"')
        located = for_statement(err, self.text, ran, self.start, target_table(self.text),
                                self.command,
                                lambda position: moved_position(position, ran, self.text))
        if located.position is None and located.sqlstate == SqlState.UNDEFINED_FUNCTION \
                and ran != self.text:
            # DuckDB places no error inside a macro the translation called for the
            # client's function (length(1) runs pg_compat's pg_length): PostgreSQL points
            # at the call, which the client's text holds once
            call = called_at(self.text, located.message)
            located.position = None if call is None else call + self.start
        return located


def split_statements(sql: str) -> list[Statement]:
    """The statements of a Query message, empty ones dropped, in order.

    Raises PgError 42601 for text that cannot be tokenised (an unterminated quote or
    comment), as PostgreSQL rejects the whole Query before running any of it.
    """
    return list(_split_cached(sql))


@lru_cache(maxsize=4096)
def _split_cached(sql: str) -> tuple[Statement, ...]:
    pieces = _RUNS.split(sql)
    key = tuple(pieces[0::2])
    shape = _SHAPES.get(key)
    if shape is not None and shape.verified:
        stmt = shape.instance(sql, pieces)
        if stmt is not None:
            return (stmt,)
    statements = _split(sql)
    if len(statements) == 1 and statements[0].constants is not None \
            and (shape is None or shape.verified is None):
        _learn(key, sql, pieces, statements[0], shape)
    return statements


def _split(sql: str) -> tuple[Statement, ...]:
    try:
        tokens = tokenize(sql)
    except LexError as exc:
        raise PgError(SqlState.SYNTAX_ERROR, str(exc)) from None
    statements = []
    current: list[Token] = []
    for token in [*tokens, None]:
        if token is None or token.kind is Kind.SEMICOLON:
            if current:
                text, own = _own_text(sql, current)
                statements.append(_at(_with_constants(_statement(text, own), own),
                                      current[0].start))
            current = []
        else:
            current.append(token)
    return tuple(statements)


#: A Query's runs of digits, among which are its bindable constants.
_RUNS = re.compile(r"([0-9]+)")

#: One-statement Queries with bindable constants (``autoparam``), by their text without
#: its digit runs. A new Query that differs from one of them only in those constants is
#: its statement with the new ones put in: no lexing, classification or translation
#: (pgbench's lookups differ in a number). Trusted once a second Query of the shape,
#: split and translated in full, came out exactly so.
_SHAPES: dict[tuple[str, ...], _Shape] = {}
MAX_SHAPES = 1024


class _Shape:
    __slots__ = ("stmt", "pieces", "slots", "tail", "verified")

    def __init__(self, stmt: Statement, pieces: list[str],
                 slots: dict[int, tuple[str, bool]], tail: int) -> None:
        self.stmt, self.pieces, self.slots, self.tail = stmt, pieces, slots, tail
        self.verified: bool | None = None  # None: not yet checked against a full split

    def instance(self, sql: str, pieces: list[str]) -> Statement | None:
        """The statement of ``sql`` (split into ``pieces`` by _RUNS, with this shape's
        key), or None if it differs from this one elsewhere than in the constants or
        a constant needs another type."""
        values = []
        for i in range(1, len(pieces), 2):
            slot = self.slots.get(i)  # (type, negative): the minus is in the shape's key
            if slot is None:
                if pieces[i] != self.pieces[i]:
                    return None
            elif autoparam.bind_type(pieces[i]) != slot[0]:
                return None
            else:
                values.append(-int(pieces[i]) if slot[1] else int(pieces[i]))
        start = self.stmt.start
        return _instance(self.stmt, sql[start:len(sql) - self.tail], tuple(values))


def _learn(key: tuple[str, ...], sql: str, pieces: list[str], stmt: Statement,
           shape: _Shape | None) -> None:
    """Keep ``stmt``, the one statement of ``sql``, as its shape's; or, being the second
    of a shape, check that the shape's statement with its constants gives ``stmt``."""
    if shape is not None:
        found = shape.instance(sql, pieces)
        if found is not None and found.constants.values != shape.stmt.constants.values:
            shape.verified = found == stmt
        return
    tokens = tokenize(stmt.text)
    runs, at = {}, 0  # run index by where it starts in sql
    for i, piece in enumerate(pieces):
        if i % 2:
            runs[at] = i
        at += len(piece)
    slots = {}
    for index, cast, negative in autoparam.slots(tokens):
        token = tokens[index]
        run = runs.get(stmt.start + token.start)
        if run is None or len(pieces[run]) != token.end - token.start:
            return
        slots[run] = (cast, negative)
    if not slots:
        return
    if len(_SHAPES) >= MAX_SHAPES:
        _SHAPES.clear()
    _SHAPES[key] = _Shape(stmt, pieces, slots, len(sql) - stmt.start - len(stmt.text))


def _with_constants(stmt: Statement, tokens: list[Token]) -> Statement:
    """``stmt`` with the constants of its DuckDB text that may be bound (a SELECT's)."""
    if stmt.command != "SELECT" or stmt.refusal is not None or stmt.setup \
            or stmt.explain is not None or stmt.cursor is not None:
        return stmt
    try:
        engine_tokens = tokens if stmt.sql is None else tokenize(stmt.sql)
    except LexError:
        return stmt
    found = autoparam.constants(stmt.engine_text, engine_tokens)
    return stmt if found is None else replace(stmt, constants=found)


def _instance(template: Statement, text: str, values: tuple[int, ...]) -> Statement | None:
    """The statement of ``text``, whose constants are ``values`` where ``template``'s
    text has its own; None when the template's DuckDB text has not as many."""
    constants = template.constants
    if constants is None or len(constants.values) != len(values):
        return None
    sql, constants = constants.with_values(values)
    return replace(template, text=text, sql=None if template.sql is None else sql,
                   constants=constants)


def _own_text(sql: str, tokens: list[Token]) -> tuple[str, list[Token]]:
    """A statement's text and its tokens placed in that text, not in the whole Query:
    everything after the split slices the statement's text by token positions (a SET
    after leading blanks or another statement lost its value to misplaced ones)."""
    base = tokens[0].start
    return sql[base:tokens[-1].end], [Token(t.kind, t.value, t.start - base, t.end - base)
                                      for t in tokens]


def _at(stmt: Statement, start: int) -> Statement:
    """``stmt`` with where it starts in the Query (error positions count from there)."""
    return replace(stmt, start=start) if start else stmt


def _statement(text: str, tokens: list[Token]) -> Statement:
    """The classified statement, with its DuckDB translation where it needs one."""
    if tokens[0].kind is Kind.WORD and tokens[0].value == "EXPLAIN":
        return _explain(text, tokens)
    stmt = _classify(text, tokens)
    if stmt.command == "SELECT" and stmt.refusal is None:
        stmt = replace(stmt, shape=_shape(tokens))
    if stmt.refusal is None and (refused := lockdown.refusal(tokens)) is not None:
        return replace(stmt, refusal=refused)  # an engine setting, INSTALL, LOAD
    if stmt.refusal is not None or stmt.transaction is not None or stmt.copy is not None \
            or stmt.parameter is not None or stmt.cursor is not None \
            or stmt.database is not None \
            or stmt.prepared is not None or stmt.reset is not None \
            or stmt.notification is not None \
            or not needs_translation(tokens):
        return stmt
    translation = translate(text)
    if translation.sql == text and not translation.setup and not translation.param_types \
            and not translation.json_types and not translation.char_types \
            and not translation.notices:
        return stmt
    return replace(stmt, sql=None if translation.sql == text else translation.sql,
                   setup=translation.setup, param_types=translation.param_types,
                   activity=translation.activity, signals=translation.signals,
                   json_types=translation.json_types, char_types=translation.char_types,
                   notices=translation.notices)


def _shape(tokens: list[Token]) -> tuple[str, ...]:
    """``Statement.shape``: each token's text, a constant's kind in place of its value."""
    return tuple(_MARKS[t.kind] if t.kind in _MARKS else
                 '"' + t.value if t.kind is Kind.QUOTED_IDENT else t.value for t in tokens)


#: What stands for a constant in a shape (no token's text starts with a NUL).
_MARKS = {Kind.STRING: "\x00string", Kind.NUMBER: "\x00number"}


def _explain(text: str, tokens: list[Token]) -> Statement:
    """EXPLAIN: the explained statement classified and translated as on its own, then
    asked of DuckDB as EXPLAIN (FORMAT json)."""
    try:
        explain, pos = parse_explain(text, tokens)
    except PgError as err:
        return Statement(text, "EXPLAIN", True, refusal=err)
    inner_text = text[tokens[pos].start:]
    inner = _statement(inner_text, tokenize(inner_text))
    if inner.cursor is not None and inner.cursor.kind == "declare":
        # PostgreSQL explains a DECLARE CURSOR's query
        inner = _statement(inner.cursor.query, tokenize(inner.cursor.query))
    if inner.refusal is not None:
        return Statement(text, "EXPLAIN", True, refusal=inner.refusal)
    if inner.prepared is not None and inner.prepared.kind == "execute":
        # the session runs EXECUTE: it explains the prepared statement's text
        return Statement(text, "EXPLAIN", True, prepared=inner.prepared,
                         explain=replace(explain, command="EXECUTE"))
    if inner.command == "(":  # a parenthesized query
        inner = replace(inner, command="SELECT")
    if inner.command not in EXPLAINABLE or inner.transaction is not None or inner.setup \
            or inner.parameter is not None or inner.copy is not None or inner.cursor is not None:
        return Statement(text, "EXPLAIN", True, refusal=syntax_error(text, tokens[pos]))
    return Statement(text, "EXPLAIN", True,
                     sql=duckdb_explain(explain, inner.engine_text),
                     param_types=inner.param_types, activity=inner.activity,
                     explain=replace(explain, command=inner.command),
                     writes=inner.writes if explain.analyze else None,
                     conflicts=inner.conflicts and explain.analyze)


def moved_position(position: int, ran: str, text: str) -> int | None:
    """Where the token at ``position`` (1-based) of ``ran``, a translation of ``text``,
    stands in ``text``: the translation prints the client's tokens in their order and
    adds some (casts, aliases, catalog prefixes), so the n-th occurrence of a token in
    ``ran`` is its n-th in ``text`` when ``text`` has at least as many. None when the
    position is not at a token's start, or the token is one the translation added."""
    try:
        ran_tokens, text_tokens = tokenize(ran), tokenize(text)
    except LexError:
        return None
    at = next((i for i, t in enumerate(ran_tokens) if t.start == position - 1), None)
    if at is None:
        return None
    place = _place(ran_tokens, text_tokens, at)
    if place is None and ran_tokens[at].value == "CAST" and at + 2 < len(ran_tokens) \
            and ran_tokens[at + 1].value == "(":
        # A CAST the translation made of ``x::type``: PostgreSQL points at its operand.
        place = _place(ran_tokens, text_tokens, at + 2)
    return None if place is None else place + 1


_UNDEFINED_FUNCTION = re.compile(r'^function (?:"?[^"(]*"?\.)?"?([^"(]+)"?\(')


def called_at(text: str, message: str) -> int | None:
    """The 1-based position in ``text`` of the one call of the function that ``message``
    ("function name(types) does not exist") names; None if not exactly one."""
    match = _UNDEFINED_FUNCTION.match(message)
    if match is None:
        return None
    try:
        tokens = tokenize(text)
    except LexError:
        return None
    name = match.group(1).upper()
    calls = [i for i, (t, after) in enumerate(zip(tokens, tokens[1:]))
             if t.kind is Kind.WORD and t.value.upper() == name and after.value == "("]
    if len(calls) != 1:
        return None
    at = calls[0]
    while at >= 2 and tokens[at - 1].value == "." and tokens[at - 2].kind is Kind.WORD:
        at -= 2  # a qualified name: PostgreSQL points at its first part
    return tokens[at].start + 1


def _place(ran_tokens: list[Token], text_tokens: list[Token], at: int) -> int | None:
    token = ran_tokens[at]
    same = [t for t in ran_tokens if (t.kind, t.value) == (token.kind, token.value)]
    theirs = [t for t in text_tokens if (t.kind, t.value) == (token.kind, token.value)]
    index = same.index(token)
    return theirs[index].start if index < len(theirs) else None


#: The words before the table a statement writes to or alters, by its first words.
_TARGET_AFTER = (("INSERT", "INTO"), ("UPDATE",), ("DELETE", "FROM"), ("MERGE", "INTO"),
                 ("ALTER", "TABLE"), ("DROP", "TABLE"), ("CREATE", "TABLE"), ("COPY",))
_TARGET_SKIP = frozenset({"ONLY", "IF", "NOT", "EXISTS"})


def target_table(text: str) -> str | None:
    """The table ``text`` inserts into, updates, deletes from, alters, drops or creates
    (without its schema, named as PostgreSQL folds it); None for other statements."""
    try:
        tokens = [t for t in tokenize(text) if t.kind is not Kind.SEMICOLON]
    except LexError:
        return None
    words = [t.value if t.kind is Kind.WORD else None for t in tokens]
    for lead in _TARGET_AFTER:
        if tuple(words[: len(lead)]) == lead:
            break
    else:
        return None
    at = len(lead)
    while at < len(tokens) and words[at] in _TARGET_SKIP:
        at += 1
    name = None
    while at < len(tokens) and tokens[at].kind in (Kind.WORD, Kind.QUOTED_IDENT):
        token = tokens[at]
        name = token.value.lower() if token.kind is Kind.WORD else token.value
        if at + 1 < len(tokens) and tokens[at + 1].value == ".":
            at += 2
        else:
            break
    return name


def _words_at_depth0(tokens: list[Token]) -> list[str]:
    depth = 0
    words = []
    for token in tokens:
        if token.kind is Kind.PUNCT:
            depth += token.value.count("(") + token.value.count("[")
            depth -= token.value.count(")") + token.value.count("]")
        elif depth == 0 and token.kind is Kind.WORD:
            words.append(token.value)
    return words


def _classify(text: str, tokens: list[Token]) -> Statement:
    stmt = _classify_command(text, tokens)
    writes = _writes(stmt, tokens)
    if writes is None:
        return stmt
    return replace(stmt, writes=writes,
                   conflicts=takes_turn(writes, _words_at_depth0(tokens)))


#: Commands refused in a read-only transaction by the first word, named as the
#: statement's command; DML and COPY are looked at closer (``_writes``).
_WRITING = frozenset({"CREATE", "DROP", "ALTER", "TRUNCATE", "COMMENT", "GRANT", "REVOKE",
                      "REFRESH", "REINDEX", "CLUSTER"})
_LOCKING = {("UPDATE",): "UPDATE", ("SHARE",): "SHARE", ("NO", "KEY"): "NO KEY UPDATE",
            ("KEY", "SHARE"): "KEY SHARE"}


def _writes(stmt: Statement, tokens: list[Token]) -> str | None:
    """The name PostgreSQL's PreventCommandIfReadOnly gives the statement (its
    CreateCommandName), if it may not run in a read-only transaction."""
    first = tokens[0].value if tokens[0].kind is Kind.WORD else ""
    words = _words_at_depth0(tokens)
    if first in _DML:
        return first
    if first == "WITH":
        if stmt.command in _DML:
            return stmt.command
        if any(t.kind is Kind.WORD and t.value in _DML for t in tokens):
            return "SELECT"  # a data-modifying WITH inside a query, named as PostgreSQL does
    if first == "COPY":
        return "COPY FROM" if stmt.copy == "in" or (stmt.copy is None and "FROM" in words) \
            else None
    if first == "CREATE" and stmt.command == "SELECT":
        return "CREATE TABLE AS"
    if first in _WRITING:
        return stmt.command
    if stmt.command == "SELECT":
        for i, word in enumerate(words[:-1]):
            if word == "FOR":
                for phrase, name in _LOCKING.items():
                    if tuple(words[i + 1:i + 1 + len(phrase)]) == phrase:
                        return f"SELECT FOR {name}"
    return None


def _classify_command(text: str, tokens: list[Token]) -> Statement:
    first = tokens[0].value if tokens[0].kind is Kind.WORD else ""
    words = _words_at_depth0(tokens)
    if first in _DECIDED or (first in ("CREATE", "ALTER", "DROP", "SET", "RESET", "COMMIT",
                                       "ROLLBACK") and _decided_object(words)):
        decision = decide(text)
        if decision is not None:
            what, name = decision
            if what == "refuse":
                return Statement(text, name, False, refusal=refusal(name))
            return Statement(text, name, False, what)
    if first in ("PREPARE", "EXECUTE", "DEALLOCATE"):
        try:
            command = parse_prepared(text)
        except PgError as err:
            return Statement(text, first, False, refusal=err)
        if command.kind == "deallocate":
            return Statement(text, "DEALLOCATE" if command.name else "DEALLOCATE ALL", False,
                             prepared=command)
        # EXECUTE's tag and rows are its statement's, known when it runs
        return Statement(text, first, None if command.kind == "execute" else False,
                         prepared=command)
    if first in ("LISTEN", "UNLISTEN", "NOTIFY"):
        try:
            return Statement(text, first, False, notification=parse_notification(text))
        except PgError as err:
            return Statement(text, first, False, refusal=err)
    if first == "DISCARD":
        target = _DISCARD.get(words[1]) if len(words) == 2 else None
        if target is None:
            return Statement(text, first, False, refusal=PgError(
                SqlState.SYNTAX_ERROR, "DISCARD takes ALL, PLANS, TEMP or SEQUENCES"))
        return Statement(text, f"DISCARD {target}", False, reset=target.lower())
    if first == "RESET" and words[1:] == ["ALL"]:
        return Statement(text, "RESET", False, reset="parameters")
    if first in ("BEGIN", "START"):
        return _begin(text, tokens)
    if first in ("COMMIT", "END"):
        return Statement(text, "COMMIT", False, "commit")
    if first in ("ROLLBACK", "ABORT"):
        if "TO" in words:
            return _refuse(text, "ROLLBACK", "savepoints are not supported yet")
        return Statement(text, "ROLLBACK", False, "rollback")
    if first in ("SAVEPOINT", "RELEASE"):
        # Accepted, so drivers that nest transactions work while nothing fails; rolling
        # back to one is what DuckDB cannot do (above).
        return Statement(text, first, False, "savepoint")
    if first == "WITH":
        main = next((w for w in words if w in _DML or w in _ROWS), "SELECT")
        if main in _DML:
            return Statement(text, main, "RETURNING" in words)
        return Statement(text, _ROWS[main], True)
    if first in _DML:
        return Statement(text, first, "RETURNING" in words)
    if first == "SHOW" and len(tokens) == 2 and tokens[1].kind in (Kind.WORD, Kind.QUOTED_IDENT):
        return Statement(text, "SHOW", True, parameter=_ident(tokens[1]))
    if first == "SHOW" and _dotted_name(tokens[1:]) is not None:
        return Statement(text, "SHOW", True, parameter=_dotted_name(tokens[1:]))
    if first == "SHOW" and tuple(words[1:]) in _SHOW_PHRASES:
        return Statement(text, "SHOW", True, parameter=_SHOW_PHRASES[tuple(words[1:])])
    if first in _ROWS:
        return Statement(text, _ROWS[first], True)
    if first == "SET":
        return _set_statement(text, tokens)
    if first == "RESET" and len(tokens) == 2 and tokens[1].kind in (Kind.WORD, Kind.QUOTED_IDENT):
        return Statement(text, "RESET", False, parameter=_ident(tokens[1]))
    if first == "RESET" and _dotted_name(tokens[1:]) is not None:
        return Statement(text, "RESET", False, parameter=_dotted_name(tokens[1:]))
    if first in ("CREATE", "DROP") and words[1:2] == ["DATABASE"]:
        command = f"{first} DATABASE"
        try:
            return Statement(text, command, False, database=parse_database_command(text))
        except PgError as err:
            return Statement(text, command, False, refusal=err)
    if first == "CREATE":
        kind = next((w for w in words[1:] if w not in _CREATE_MODIFIERS), "")
        if kind == "TABLE" and "AS" in words:
            return Statement(text, "SELECT", False)  # CREATE TABLE AS reports "SELECT n"
        if kind == "MATERIALIZED":
            kind = "MATERIALIZED VIEW"
        return Statement(text, f"CREATE {kind}".strip(), False)
    if first in ("DROP", "ALTER"):
        kind = words[1] if len(words) > 1 else ""
        return Statement(text, f"{first} {kind}".strip(), False)
    if first in _CURSOR_COMMANDS:
        try:
            cursor = parse_cursor(text)
        except PgError as err:
            return Statement(text, first, False, refusal=err)
        command = _CURSOR_COMMANDS[first]
        if cursor.kind == "close" and cursor.name is None:
            command = "CLOSE CURSOR ALL"
        return Statement(text, command, cursor.kind == "fetch", cursor=cursor)
    if first == "COPY":
        if "STDIN" in words:
            return Statement(text, "COPY", False, copy="in")
        if "STDOUT" in words:
            return Statement(text, "COPY", False, copy="out")
        return Statement(text, "COPY", False)
    if first == "TRUNCATE":
        return Statement(text, "TRUNCATE TABLE", False)
    if first in ("SET", "RESET", "VACUUM", "ANALYZE", "CHECKPOINT", "ATTACH", "DETACH",
                 "USE", "INSTALL", "LOAD", "COMMENT"):
        return Statement(text, first, False)
    return Statement(text, first or tokens[0].value.upper(), None)


def _decided_object(words: list[str]) -> bool:
    """CREATE/ALTER/DROP of an object kind sql.unsupported decides; SET/RESET ROLE,
    SESSION AUTHORIZATION, CONSTRAINTS; COMMIT/ROLLBACK PREPARED."""
    kind = next((w for w in words[1:] if w not in _CREATE_MODIFIERS or w == "MATERIALIZED"), "")
    if words[0] in ("SET", "RESET"):
        return kind in ("ROLE", "CONSTRAINTS", "SESSION") and "CHARACTERISTICS" not in words
    if words[0] in ("COMMIT", "ROLLBACK"):
        return "PREPARED" in words
    return kind in _DECIDED_OBJECTS


def _refuse(text: str, command: str, message: str) -> Statement:
    return Statement(
        text, command, False, refusal=PgError(SqlState.FEATURE_NOT_SUPPORTED, message)
    )


def _ident(token: Token) -> str:
    return token.value.lower() if token.kind is Kind.WORD else token.value


def _set_statement(text: str, tokens: list[Token]) -> Statement:
    """SET [SESSION | LOCAL] name {TO | =} value [, ...] and SET TIME ZONE value."""
    rest = tokens[1:]
    local = False
    if rest and rest[0].kind is Kind.WORD and rest[0].value in ("SESSION", "LOCAL"):
        if len(rest) > 1 and rest[1].value == "CHARACTERISTICS":
            if len(rest) < 4 or rest[2].value != "AS" or rest[3].value != "TRANSACTION":
                return _syntax_error(text, "SET", rest[2] if len(rest) > 2 else None)
            return _modes(text, "SET", "characteristics", rest[4:], "default_", empty_ok=False)
        local = rest[0].value == "LOCAL"
        rest = rest[1:]
    if rest and rest[0].kind is Kind.WORD and rest[0].value == "TRANSACTION":
        if len(rest) > 1 and rest[1].kind is Kind.WORD and rest[1].value == "SNAPSHOT":
            return _refuse(text, "SET", "SET TRANSACTION SNAPSHOT is not supported")
        return _modes(text, "SET", "characteristics", rest[1:], "", empty_ok=False)
    if len(rest) >= 3 and rest[0].value == "TIME" and rest[1].value == "ZONE":
        name, values = "timezone", rest[2:]
        if values[0].kind is Kind.WORD and values[0].value == "INTERVAL" and len(values) > 1 \
                and values[1].kind is Kind.STRING:
            # SET TIME ZONE INTERVAL '...' [qualifier]: the TimeZone check reads the
            # interval (the qualifier's rounding is not applied)
            value = "INTERVAL '" + string_value(values[1]).replace("'", "''") + "'"
            return Statement(text, "SET", False, parameter=name, value=value, local=local)
    elif rest and rest[0].kind is Kind.WORD and rest[0].value == "NAMES":
        # SET NAMES 'enc' is SET client_encoding; without a value, its default
        if len(rest) == 1:
            return Statement(text, "SET", False, parameter="client_encoding", local=local)
        name, values = "client_encoding", rest[1:]
    elif len(rest) >= 3 and rest[0].kind in (Kind.WORD, Kind.QUOTED_IDENT) and rest[1].value in ("TO", "="):
        name, values = _ident(rest[0]), rest[2:]
    elif len(rest) >= 5 and _dotted_name(rest[:3]) is not None and rest[3].value in ("TO", "="):
        name, values = _dotted_name(rest[:3]), rest[4:]  # a custom parameter, myapp.x
    else:
        return Statement(text, "SET", False)
    value = _value_text(text, values)
    return Statement(text, "SET", False, parameter=name, value=value, local=local)


def _dotted_name(tokens: list[Token]) -> str | None:
    """``a.b`` (exactly three tokens), a custom parameter's name; else None."""
    if len(tokens) == 3 and tokens[1].kind is Kind.PUNCT and tokens[1].value == "." \
            and all(t.kind in (Kind.WORD, Kind.QUOTED_IDENT) for t in (tokens[0], tokens[2])):
        return f"{_ident(tokens[0])}.{_ident(tokens[2])}"
    return None


def _value_text(text: str, tokens: list[Token]) -> str | None:
    """The value of a SET as PostgreSQL's GUC code sees it: list items joined by ", "."""
    if len(tokens) == 1 and tokens[0].kind is Kind.WORD and tokens[0].value in ("DEFAULT", "LOCAL"):
        return None
    items: list[str] = []
    current = ""
    for token in tokens:
        if token.kind is Kind.PUNCT and token.value == ",":
            items.append(current)
            current = ""
        elif token.kind is Kind.STRING and token.value.startswith("'"):
            current += string_value(token)
        else:
            current += text[token.start : token.end]
    items.append(current)
    return ", ".join(items)


_ISOLATION = {("SERIALIZABLE",): "serializable", ("REPEATABLE", "READ"): "repeatable read",
              ("READ", "COMMITTED"): "read committed",
              ("READ", "UNCOMMITTED"): "read uncommitted"}
_MODES = {("READ", "ONLY"): ("transaction_read_only", "on"),
          ("READ", "WRITE"): ("transaction_read_only", "off"),
          ("DEFERRABLE",): ("transaction_deferrable", "on"),
          ("NOT", "DEFERRABLE"): ("transaction_deferrable", "off")}


def _begin(text: str, tokens: list[Token]) -> Statement:
    """BEGIN [WORK | TRANSACTION] [modes] / START TRANSACTION [modes]."""
    command = "START TRANSACTION" if tokens[0].value == "START" else "BEGIN"
    rest = tokens[1:]
    if rest and rest[0].kind is Kind.WORD and (
            rest[0].value == "TRANSACTION" or command == "BEGIN" and rest[0].value == "WORK"):
        rest = rest[1:]
    elif command == "START TRANSACTION":
        return _syntax_error(text, command, rest[0] if rest else None)
    return _modes(text, command, "begin", rest, "", empty_ok=True)


def _modes(text: str, command: str, kind: str, tokens: list[Token], prefix: str, *,
           empty_ok: bool) -> Statement:
    """A transaction_mode_list as gram.y reads it: modes separated by commas or
    blanks; each mode becomes the parameter it sets (``prefix`` "default_" for SET
    SESSION CHARACTERISTICS)."""
    modes: list[tuple[str, str]] = []
    pos = 0
    while pos < len(tokens):
        if modes and tokens[pos].kind is Kind.PUNCT and tokens[pos].value == ",":
            pos += 1
        words = tuple(t.value if t.kind is Kind.WORD else "" for t in tokens[pos:pos + 4])
        if words[:2] == ("ISOLATION", "LEVEL"):
            level = next(((p, v) for p, v in _ISOLATION.items() if words[2:2 + len(p)] == p),
                         None)
            if level is None:
                return _syntax_error(text, command, tokens[pos + 2] if pos + 2 < len(tokens)
                                     else None)
            modes.append((f"{prefix}transaction_isolation", level[1]))
            pos += 2 + len(level[0])
            continue
        mode = next(((p, v) for p, v in _MODES.items() if words[:len(p)] == p), None)
        if mode is None:  # the error is at the first word no mode continues with
            fit = max(_common_prefix(words, p) for p in (*_MODES, ("ISOLATION", "LEVEL")))
            return _syntax_error(text, command, tokens[pos + fit] if pos + fit < len(tokens)
                                 else None)
        modes.append((prefix + mode[1][0], mode[1][1]))
        pos += len(mode[0])
    if not modes and not empty_ok:
        return _syntax_error(text, command, None)
    return Statement(text, command, False, kind, modes=tuple(modes))


def _common_prefix(words: tuple[str, ...], phrase: tuple[str, ...]) -> int:
    count = 0
    for word, expected in zip(words, phrase):
        if word != expected:
            break
        count += 1
    return count


def _syntax_error(text: str, command: str, token: Token | None) -> Statement:
    message = ("syntax error at end of input" if token is None
               else f'syntax error at or near "{text[token.start:token.end]}"')
    return Statement(text, command, False, refusal=PgError(SqlState.SYNTAX_ERROR, message))
