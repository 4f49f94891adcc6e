"""Foreign keys the server enforces itself, in the statement's own transaction.

DuckDB 1.5.5 runs an UPDATE that touches any indexed column (a key, a UNIQUE column) as
a delete and an insert of the whole row, and its delete checks the foreign keys that
reference the table: ``UPDATE customers SET email = ...`` fails while an order points at
the customer, although the key does not change; an upsert touching such a column too.
So foreign keys are not declared to DuckDB. sql/foreign_keys.py turns each into an
always-true CHECK whose text holds its definition (``pg_catalog.FOREIGN_KEY_MARK``); the
catalog shows it as the foreign key, and this module checks it after every statement
that can break it, as PostgreSQL's NO ACTION does at the end of the statement:

- a plain INSERT (and COPY FROM) into the referencing table: the rows this transaction
  appended (DuckDB numbers them from ``LOCAL_ROWS`` until commit) must have a parent;
- a DELETE naming the referenced table, an UPDATE assigning a column of the key (its
  SET list is read), a MERGE or upsert naming either table: no referencing row may lack
  its parent, one anti-join; the referential actions (ON DELETE CASCADE, SET NULL, SET
  DEFAULT) act on the rows it finds, and their effects are checked in turn.

A violation rolls the statement back (outside a transaction the statement runs inside
one the guard opens) or aborts the transaction (inside one), with PostgreSQL's 23503.
A CREATE, ALTER or DROP is checked the same way for what it would leave dangling
(dropping a referenced table, a key without a unique constraint to point at), and
TRUNCATE of a referenced table alone is refused. Which foreign keys exist is read once
per catalog change (any session's DDL, seen at its commit) and kept per connection.
Concurrent transactions are not locked against each other, as DuckDB's own foreign keys
were not: two sessions may each commit half of an orphan (docs/compatibility.md).
"""

from __future__ import annotations

import json
import re
import threading
import weakref
from dataclasses import dataclass
from typing import Callable, TypeVar

from duckgres_trio.engine import duckdb_capi as capi
from duckgres_trio.engine.pg_catalog import FOREIGN_KEY_MARK
from duckgres_trio.errors import PgError, SqlState

T = TypeVar("T")

#: DuckDB's MAX_ROW_ID: the rows a transaction appends are numbered from here until it
#: commits, so ``rowid >= LOCAL_ROWS`` is exactly the transaction's new rows, and
#: DuckDB reads only its local storage for them (5M-row table: ~1 ms).
LOCAL_ROWS = 36028797018960000
#: Referential actions cascade at most this deep (a table referencing itself with ON
#: DELETE CASCADE takes one round per generation of rows).
MAX_ACTION_ROUNDS = 10000
#: At most this many distinct new keys are looked up by a filter on the referenced key.
FEW_KEYS = 8

# duckdb_statement_type values (duckdb.h)
_INSERT, _UPDATE, _DELETE, _CREATE, _ALTER, _TRANSACTION, _COPY, _DROP, _MERGE = (
    2, 3, 5, 7, 9, 10, 11, 15, 30)
_DML = frozenset({_INSERT, _UPDATE, _DELETE, _COPY, _MERGE})
_DDL = frozenset({_CREATE, _ALTER, _DROP})


@dataclass(frozen=True)
class ForeignKey:
    name: str
    database: str
    schema: str
    table: str
    columns: tuple[str, ...]
    ref_database: str
    ref_schema: str
    ref_table: str
    ref_columns: tuple[str, ...]  # empty while the referenced table has no such key
    on_update: str = "a"  # pg_constraint's confupdtype: a(no action) r(estrict) n(ull) d(efault)
    on_delete: str = "a"  # confdeltype: those and c(ascade)


def payload(definition: dict) -> str:
    """The CHECK's marker text for a foreign key's definition (no single quote in it,
    so it sits in an SQL string literal as is)."""
    return FOREIGN_KEY_MARK + json.dumps(definition, sort_keys=True).replace("'", "\\u0027")


_PAYLOAD = re.compile(re.escape(FOREIGN_KEY_MARK) + r"(\{[^']*\})")


def parse(expression: str) -> dict | None:
    match = _PAYLOAD.search(expression)
    return json.loads(match.group(1)) if match else None


class _Session:
    """Per DuckDB connection: whether a transaction is open, and the foreign keys as
    loaded at the database's generation ``generation``."""

    def __init__(self) -> None:
        self.in_transaction = False
        self.ddl_in_transaction = False
        self.loaded_in_transaction = False  # keys read in a snapshot that may be old
        self.generation = -1
        self.keys: tuple[ForeignKey, ...] = ()


_sessions: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def _session(conn: capi.Connection) -> _Session:
    state = _sessions.get(conn)
    if state is None:
        with _lock:
            state = _sessions.setdefault(conn, _Session())
    return state


def _generation(conn: capi.Connection) -> int:
    return getattr(conn.database, "foreign_key_generation", 0)


def _bump(conn: capi.Connection) -> None:
    """Some session changed the catalog: every session reloads before its next write."""
    with _lock:
        conn.database.foreign_key_generation = _generation(conn) + 1


def _rows(conn: capi.Connection, sql: str) -> list[tuple]:
    statement = conn.prepare(sql)
    try:
        result = statement.execute()
        try:
            return [row for batch in result.fetch(1 << 16)
                    for row in zip(*(c.to_pylist() for c in batch.columns))]
        finally:
            result.close()
    finally:
        statement.close()


_LOAD = (
    "SELECT database_name, schema_name, table_name, constraint_type, expression, "
    "constraint_column_names FROM duckdb_constraints() "
    "WHERE database_name IN (current_database(), 'temp') AND ("
    f"(constraint_type = 'CHECK' AND contains(expression, '{FOREIGN_KEY_MARK}')) "
    "OR constraint_type IN ('PRIMARY KEY', 'UNIQUE')) "
    "ORDER BY constraint_type, table_oid, constraint_index")  # creation order, as pg_depend


def load(conn: capi.Connection) -> tuple[ForeignKey, ...]:
    """The database's foreign keys as this transaction sees them, each resolved to its
    referenced table (ref_columns empty when that table or key is missing)."""
    keys: dict[tuple[str, str, str], list[tuple[str, ...]]] = {}
    marks = []
    for database, schema, table, kind, expression, columns in _rows(conn, _LOAD):
        if kind == "CHECK":
            definition = parse(expression)
            if definition is not None:
                marks.append((database, schema, table, definition))
        else:  # a primary key first, so an omitted column list means it
            found = keys.setdefault((database, schema.lower(), table.lower()), [])
            found.insert(0, tuple(columns)) if kind == "PRIMARY KEY" else found.append(
                tuple(columns))
    resolved = []
    for database, schema, table, d in marks:
        ref_schema = d.get("ref_schema") or "main"
        ref_database, candidates = database, None
        for db in (database, "temp"):
            candidates = keys.get((db, ref_schema.lower(), d["ref_table"].lower()))
            if candidates is not None:
                ref_database = db
                break
        ref_columns: tuple[str, ...] = ()
        wanted = tuple(d.get("ref_columns") or ())
        for key in candidates or ():
            if (not wanted and key) or sorted(c.lower() for c in key) == sorted(
                    c.lower() for c in wanted):
                ref_columns = wanted or key
                break
        resolved.append(ForeignKey(d["name"], database, schema, table, tuple(d["columns"]),
                                   ref_database, ref_schema, d["ref_table"], ref_columns,
                                   d.get("on_update") or "a", d.get("on_delete") or "a"))
    return tuple(resolved)


def _keys(conn: capi.Connection, state: _Session) -> tuple[ForeignKey, ...]:
    generation = _generation(conn)
    if state.generation != generation:
        state.keys = load(conn)
        state.generation = generation
        # a transaction's snapshot may predate another session's committed DDL: what
        # it read holds until the transaction ends (ran() forgets it then)
        state.loaded_in_transaction = state.in_transaction
    return state.keys


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _table(database: str, schema: str, table: str) -> str:
    return ".".join(_quote(p) for p in (database, schema, table))


def orphan_query(key: ForeignKey, new_rows_only: bool) -> str:
    """The first referencing row of ``key`` that has no referenced row (MATCH SIMPLE: a
    row with a NULL in its key references nothing), its key as text."""
    values = ", ".join(f"c.{_quote(c)}::VARCHAR" for c in key.columns)
    on = " AND ".join(f"p.{_quote(r)} = c.{_quote(c)}"
                      for c, r in zip(key.columns, key.ref_columns))
    where = " AND ".join(f"c.{_quote(c)} IS NOT NULL" for c in key.columns)
    if new_rows_only:
        where += f" AND c.rowid >= {LOCAL_ROWS}"
    return (f"SELECT {values} FROM {_table(key.database, key.schema, key.table)} AS c "
            f"ANTI JOIN {_table(key.ref_database, key.ref_schema, key.ref_table)} AS p "
            f"ON {on} WHERE {where} LIMIT 1")


def violation(key: ForeignKey, values: tuple, referencing_side: bool) -> PgError:
    """PostgreSQL's 23503 for ``key``: as the referencing table's insert or update broke
    it, or as the referenced table's update or delete did."""
    shown = ", ".join("" if v is None else str(v) for v in values)
    if referencing_side:
        return PgError(
            SqlState.FOREIGN_KEY_VIOLATION,
            f'insert or update on table "{key.table}" violates foreign key constraint '
            f'"{key.name}"',
            detail=f"Key ({', '.join(key.columns)})=({shown}) is not present in table "
                   f'"{key.ref_table}".', constraint=key.name)
    return PgError(
        SqlState.FOREIGN_KEY_VIOLATION,
        f'update or delete on table "{key.ref_table}" violates foreign key constraint '
        f'"{key.name}" on table "{key.table}"',
        detail=f"Key ({', '.join(key.ref_columns)})=({shown}) is still referenced from "
               f'table "{key.table}".', constraint=key.name)


def _mentions(text: str, name: str) -> bool:
    return name.lower() in text


_TARGET = re.compile(
    r'\b(?:update|into|from)\s+((?:"(?:[^"]|"")+"|[\w$]+)(?:\s*\.\s*(?:"(?:[^"]|"")+"|[\w$]+))*)',
    re.IGNORECASE)
_UPSERT = re.compile(r"\b(?:conflict|replace)\b")


def _target(sql: str) -> str | None:
    """The written table of a DML statement, by its keyword (UPDATE x, INTO x, FROM x):
    only to word an error as PostgreSQL does, never to decide what is checked."""
    match = _TARGET.search(sql)
    if not match:
        return None
    last = re.split(r'\s*\.\s*(?=(?:"|[\w$]))', match.group(1))[-1]
    return last[1:-1].replace('""', '"') if last.startswith('"') else last


_TOKEN = re.compile(r"""'(?:[^']|'')*'|"(?:[^"]|"")*"|[\w$]+|\S""")


def assigned(text: str) -> set[str] | None:
    """The names on the left of an UPDATE's SET assignments (lower-cased; a qualifier
    too, so a superset), read from its tokens between SET and the WHERE / FROM /
    RETURNING at parenthesis depth 0; None when the text does not read as expected
    (then every column counts as assigned)."""
    tokens = _TOKEN.findall(text)
    lowered = [t.lower() for t in tokens]
    try:
        i = lowered.index("set") + 1
    except ValueError:
        return None
    names: set[str] = set()
    depth, left = 0, True  # left: on the left of an assignment's "="
    for token, low in zip(tokens[i:], lowered[i:]):
        if depth == 0 and low in ("where", "from", "returning"):
            return names
        if token == "(":
            depth += 1
        elif token == ")":
            depth -= 1
            if depth < 0:
                return None
        elif depth == 0 and token == "=":
            left = False
        elif depth == 0 and token == ",":
            left = True
        elif left and (token[0] == '"' or token[0].isalpha() or token[0] in "_$"):
            names.add(token[1:-1].replace('""', '"').lower() if token[0] == '"' else low)
    return names if not left or names else None


def _assigns(assigned_columns: set[str] | None, columns: tuple[str, ...]) -> bool:
    return assigned_columns is None or any(c.lower() in assigned_columns for c in columns)


@dataclass
class _Check:
    key: ForeignKey
    new_rows_only: bool
    referencing_side: bool
    deleted: bool = False  # the referenced rows went by a DELETE (else by an UPDATE)
    #: after SET DEFAULT: the keys the statement had orphaned. A default among them is
    #: still referenced (PostgreSQL words it as the referenced side's); another one
    #: missing is the updated referencing row's own violation.
    orphaned: frozenset = frozenset()


def _checks(sql: str, kind: int, keys: tuple[ForeignKey, ...]) -> list[_Check]:
    """The checks a DML statement needs: those of the foreign keys it can break."""
    text = sql.lower()
    plain_insert = kind == _COPY or (kind == _INSERT and not _UPSERT.search(text))
    target = (_target(sql) or "").lower()
    assignments: set[str] | None | bool = False  # read when first needed
    checks = []
    for key in keys:
        child, parent = _mentions(text, key.table), _mentions(text, key.ref_table)
        if plain_insert:  # only new referencing rows can lack a parent
            if child:
                checks.append(_Check(key, True, True))
            continue
        if kind == _DELETE:  # only a referenced row's going can orphan one
            if parent:
                checks.append(_Check(key, False, False, deleted=True))
            continue
        if not (child or parent):
            continue
        if kind == _UPDATE:
            # an UPDATE changes only the columns it assigns: the referencing ones can
            # lose their parent, the referenced ones their children
            if assignments is False:
                assignments = assigned(sql)
            if not (child and _assigns(assignments, key.columns)
                    or parent and _assigns(assignments, key.ref_columns)):
                continue
        referencing = target == key.table.lower()
        if referencing and key.table.lower() == key.ref_table.lower():
            # a table referencing itself: the referenced side's wording when the
            # statement deletes rows or assigns the referenced key
            if assignments is False:
                assignments = assigned(sql)
            referencing = kind != _DELETE and not _assigns(assignments, key.ref_columns)
        checks.append(_Check(key, False, referencing))
    return checks


class Guard:
    """Runs one statement and the checks it needs, inside a transaction."""

    def __init__(self, conn: capi.Connection, state: _Session, kind: int, sql: str,
                 checks: list[_Check], refusal: PgError | None = None) -> None:
        self.conn, self.state, self.kind, self.sql, self.checks = conn, state, kind, sql, checks
        self.refusal = refusal

    def run(self, fn: Callable[[], T]) -> T:
        if self.refusal is not None:
            raise self.refusal
        conn = self.conn
        own = not self.state.in_transaction
        if own:
            conn.run("BEGIN TRANSACTION")
        try:
            out = fn()
            error = self._dangling() if self.kind in _DDL else self._orphan()
            if error is not None:
                if not own:  # PostgreSQL aborts the transaction; make DuckDB's follow
                    try:
                        conn.run("SELECT error('foreign key violation')")
                    except capi.DuckDBError:
                        pass
                raise error
            if own:
                own = False
                conn.run("COMMIT")
            return out
        finally:
            if own:
                try:
                    conn.run("ROLLBACK")
                except capi.DuckDBError:
                    pass

    def _orphan(self) -> PgError | None:
        """The first violation, after the referential actions (ON DELETE CASCADE / SET
        NULL / SET DEFAULT, ON UPDATE SET NULL / SET DEFAULT) have had their effect: they
        act on the referencing rows the statement orphaned, and what they change is
        checked in turn (a cascade's own children), as PostgreSQL's triggers do."""
        pending = list(self.checks)
        for _ in range(MAX_ACTION_ROUNDS):
            if not pending:
                return None
            check = pending.pop(0)
            key = check.key
            if not key.ref_columns:
                continue  # the DDL checks refuse such a key; an old one checks nothing
            if check.new_rows_only and self._few_keys_present(key):
                continue
            found = _rows(self.conn, orphan_query(key, check.new_rows_only))
            if not found:
                continue
            action = None if check.referencing_side else (
                key.on_delete if check.deleted else key.on_update)
            if action not in ("c", "n", "d"):
                referencing = check.referencing_side and tuple(found[0]) not in check.orphaned
                return violation(key, found[0], referencing)
            orphaned = frozenset()
            if action == "d":
                orphaned = frozenset(tuple(row) for row in _rows(
                    self.conn, orphan_query(key, False).replace(" LIMIT 1", " LIMIT 10000")))
            self._act(key, action)
            if action == "d":  # the default must itself have a referenced row
                pending.append(_Check(key, False, True, orphaned=orphaned))
            below = [k for k in self.state.keys if k.ref_table.lower() == key.table.lower()
                     and k.ref_schema.lower() == key.schema.lower()]
            pending.extend(_Check(k, False, False, deleted=action == "c") for k in below)
        raise PgError(SqlState.PROGRAM_LIMIT_EXCEEDED,
                      f"more than {MAX_ACTION_ROUNDS} rounds of referential actions")

    def _act(self, key: ForeignKey, action: str) -> None:
        on = " AND ".join(f"p.{_quote(r)} = c.{_quote(c)}"
                          for c, r in zip(key.columns, key.ref_columns))
        where = " AND ".join(f"c.{_quote(c)} IS NOT NULL" for c in key.columns)
        child = _table(key.database, key.schema, key.table)
        orphans = (f"SELECT c.rowid FROM {child} AS c ANTI JOIN "
                   f"{_table(key.ref_database, key.ref_schema, key.ref_table)} AS p "
                   f"ON {on} WHERE {where}")
        if action == "c":
            self.conn.run(f"DELETE FROM {child} WHERE rowid IN ({orphans})")
            return
        value = "NULL" if action == "n" else "DEFAULT"
        assignments = ", ".join(f"{_quote(c)} = {value}" for c in key.columns)
        self.conn.run(f"UPDATE {child} SET {assignments} WHERE rowid IN ({orphans})")

    def _few_keys_present(self, key: ForeignKey) -> bool:
        """True when the transaction's new rows hold at most FEW_KEYS distinct keys (of a
        one-column foreign key) and the referenced table has them all: a filtered scan
        of its key column, where the anti-join would hash the whole column (2M rows:
        ~2 ms against ~30 ms). False sends the caller to the exact anti-join."""
        if len(key.columns) != 1:
            return False
        column, ref = _quote(key.columns[0]), _quote(key.ref_columns[0])
        keys = _rows(self.conn, (
            f"SELECT DISTINCT c.{column}::VARCHAR FROM "
            f"{_table(key.database, key.schema, key.table)} AS c WHERE c.{column} IS NOT NULL "
            f"AND c.rowid >= {LOCAL_ROWS} LIMIT {FEW_KEYS + 1}"))
        if len(keys) > FEW_KEYS:
            return False
        if not keys:
            return True
        listed = ", ".join(_literal(value) for (value,) in keys)  # cast to the key's type
        found = _rows(self.conn, (
            f"SELECT count(DISTINCT p.{ref}) FROM "
            f"{_table(key.ref_database, key.ref_schema, key.ref_table)} AS p "
            f"WHERE p.{ref} IN ({listed})"))
        return found[0][0] == len(keys)

    def _dangling(self) -> PgError | None:
        """What the DDL statement left: a foreign key whose referenced table or key is
        gone or was never there, or whose own columns are not (all) in its table."""
        keys = load(self.conn)
        dangling = [key for key in keys if not key.ref_columns]
        if dangling and self.kind == _DROP:
            table = dangling[0].ref_table
            return PgError(
                SqlState.DEPENDENT_OBJECTS_STILL_EXIST,
                f"cannot drop table {table} because other objects depend on it",
                detail="\n".join(f"constraint {key.name} on table {key.table} depends on "
                                 f"table {key.ref_table}" for key in dangling),
                hint="Use DROP ... CASCADE to drop the dependent objects too.")
        for key in dangling:
            if self.kind == _ALTER:  # a referenced table or key column renamed or dropped
                return PgError(
                    SqlState.FEATURE_NOT_SUPPORTED,
                    f'cannot alter table "{key.ref_table}" or its key: foreign key '
                    f'constraint "{key.name}" on table "{key.table}" references them',
                    hint="Drop the referencing table first; docs/compatibility.md.")
            exists = _rows(self.conn, (
                "SELECT 1 FROM duckdb_tables() WHERE database_name IN "
                f"({_literal(key.database)}, 'temp') AND lower(schema_name) = "
                f"lower({_literal(key.ref_schema)}) AND lower(table_name) = "
                f"lower({_literal(key.ref_table)})"))
            if not exists:
                return PgError(SqlState.UNDEFINED_TABLE,
                               f'relation "{key.ref_table}" does not exist')
            return PgError(SqlState.INVALID_FOREIGN_KEY,
                           "there is no unique constraint matching given keys for referenced "
                           f'table "{key.ref_table}"')
        columns: dict[tuple[str, str, str], set[str]] = {}
        for database, schema, table, column in _rows(self.conn, (
                "SELECT database_name, schema_name, table_name, column_name FROM "
                "duckdb_columns() WHERE database_name IN (current_database(), 'temp')")):
            columns.setdefault((database, schema, table), set()).add(column)
        for key in keys:
            have = columns.get((key.database, key.schema, key.table), set())
            for column in key.columns:
                if column in have:
                    continue
                if self.kind == _ALTER:
                    return PgError(
                        SqlState.FEATURE_NOT_SUPPORTED,
                        f'cannot alter column "{column}" of table "{key.table}": foreign '
                        f'key constraint "{key.name}" uses it',
                        hint="docs/compatibility.md, Foreign keys.")
                return PgError(SqlState.UNDEFINED_COLUMN,
                               f'column "{column}" referenced in foreign key constraint '
                               "does not exist")
        return None


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


_BEGINS = ("begin", "start")
_TEMPORARY = re.compile(r"\s*create\s+(?:or\s+replace\s+)?temp(?:orary)?\b", re.IGNORECASE)


def guard(statement: capi.Prepared) -> Guard | None:
    """The guard ``statement`` needs, or None (most statements: the database has no
    foreign key the statement could break)."""
    kind = statement.statement_type
    if kind not in _DML and kind not in _DDL:
        return None
    conn = statement.connection
    state = _session(conn)
    try:
        keys = _keys(conn, state)
    except capi.DuckDBError:
        return None  # an aborted transaction: the statement fails the same way
    if kind in _DDL:
        text = statement.sql.lower()
        if FOREIGN_KEY_MARK in statement.sql or "schema" in text or any(
                _mentions(text, k.table) or _mentions(text, k.ref_table) for k in keys):
            return Guard(conn, state, kind, statement.sql, [])
        return None
    if not keys:
        return None
    if kind == _DELETE and statement.sql.lstrip()[:8].lower() == "truncate":
        refusal = _truncate_refusal(statement.sql.lower(), keys)
        if refusal is not None:
            return Guard(conn, state, kind, statement.sql, [], refusal)
    checks = _checks(statement.sql, kind, keys)
    return Guard(conn, state, kind, statement.sql, checks) if checks else None


def _truncate_refusal(text: str, keys: tuple[ForeignKey, ...]) -> PgError | None:
    """PostgreSQL refuses TRUNCATE of a referenced table unless the referencing one is
    truncated with it, whatever rows they hold."""
    for key in keys:
        if _mentions(text, key.ref_table) and not _mentions(text, key.table):
            return PgError(
                SqlState.FEATURE_NOT_SUPPORTED,
                "cannot truncate a table referenced in a foreign key constraint",
                detail=f'Table "{key.table}" references "{key.ref_table}".',
                hint=f'Truncate table "{key.table}" at the same time, or use TRUNCATE ... '
                     "CASCADE.")
    return None


def ran(statement: capi.Prepared, succeeded: bool) -> None:
    """After a statement: follow BEGIN / COMMIT / ROLLBACK (a failed COMMIT or ROLLBACK
    ends the transaction too, a failed BEGIN leaves it open), and make every session
    reload the foreign keys after DDL, once others can see it (at its commit)."""
    kind = statement.statement_type
    if kind == _TRANSACTION:
        state = _session(statement.connection)
        began = statement.sql.lstrip().lower().startswith(_BEGINS)
        if not began and state.ddl_in_transaction:
            _bump(statement.connection)
            state.ddl_in_transaction = False
        if not began and state.loaded_in_transaction:
            state.generation = -1
            state.loaded_in_transaction = False
        state.in_transaction = began
    elif kind in _DDL and succeeded:
        state = _session(statement.connection)
        if _TEMPORARY.match(statement.sql):
            state.generation = -1  # only this session sees its temporary objects
        elif state.in_transaction:
            state.ddl_in_transaction = True
            state.generation = -1  # this session sees its own DDL at once
        else:
            _bump(statement.connection)
