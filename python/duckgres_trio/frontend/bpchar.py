"""char(n) semantics for a session's statements (sql/bpchar.py says what and why).

The declared varchar(n) / char(n) columns of the database are one catalog query per
catalog state, kept in the server's ``Catalogs`` (per database, generation and
search_path) like the result columns' origins; a session whose catalog view is its own
(DDL not yet ended, temporary tables) asks each time. A statement that names none of
their tables costs a substring search of its text.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Protocol

import pyarrow as pa
import pyarrow.compute as pc

from duckgres_trio.engine import pg_catalog as catalog
from duckgres_trio.errors import PgError
from duckgres_trio.sql import Statement, settings, split_statements
from duckgres_trio.sql import bpchar

from duckgres_trio.frontend.activity import Activity
from duckgres_trio.frontend.origins import Catalogs


class Session(Protocol):
    """What of a session (frontend/session.py, which calls this module) is used here:
    declared, not imported, so that the session's module stays the only one above."""

    activity: Activity
    parameters: dict[str, str]
    catalogs: Catalogs

    def shares_catalog(self) -> bool: ...

    async def query_rows(self, sql: str) -> list[tuple]: ...

#: table (lower case) -> ((column lower case, kind, n, attnum), ...)
Columns = dict[str, tuple[tuple[str, str, int, int], ...]]

_COMMANDS = frozenset({"SELECT", "INSERT", "UPDATE", "DELETE"})
_KEY = "declared character columns"
_DECLARED = re.compile(catalog.DECLARED_TYPE_PATTERN)
#: a cast to char(n) may be in the text (a word; varchar and char_length are not)
_CHAR_CAST = re.compile(r"\b(?:bpchar|char|character)\b")


def declared_sql() -> str:
    """Every column of each visible table that has a declared varchar(n) / char(n)
    column: table name, column name, column number, the CHECK that declares it (NULL
    for the others, which tell sql/bpchar.py that a name is not ambiguous)."""
    d = catalog.DATABASE
    mark = f"contains(k.expression, '{catalog.DECLARED_TYPE_MARK}')"
    return (
        "SELECT t.table_name, c.column_name, c.column_index, "
        "(SELECT max(k.expression) FROM duckdb_constraints() k "
        "WHERE k.table_oid = t.table_oid AND k.constraint_type = 'CHECK' "
        f"AND k.constraint_column_indexes[1] + 1 = c.column_index AND {mark}) "
        "FROM duckdb_tables() t JOIN duckdb_columns() c ON c.table_oid = t.table_oid "
        f"WHERE {d}.main.visible(t.database_name, t.table_name) AND t.table_oid IN ("
        "SELECT k.table_oid FROM duckdb_constraints() k "
        f"WHERE k.constraint_type = 'CHECK' AND {mark})")


def columns_from_rows(rows: list[tuple]) -> Columns:
    found: dict[str, dict[str, tuple[str, str, int, int]]] = {}
    for table, column, attnum, check in rows:
        m = bpchar_declared(check) if check is not None else None
        kind, n = m if m is not None else ("other", 0)
        found.setdefault(table.lower(), {})[column.lower()] = (column.lower(), kind, n, attnum)
    return {table: tuple(sorted(columns.values())) for table, columns in found.items()
            if any(kind != "other" for _c, kind, _n, _a in columns.values())}


def bpchar_declared(check: str) -> tuple[str, int] | None:
    """(kind, n) of a CHECK declaring varchar(n) / char(n), else None."""
    m = _DECLARED.search(check)
    if m is None or m["length"] is None:
        return None
    return m["kind"], int(m["length"])


async def declared_columns(session: Session) -> Columns:
    """The declared columns as this session sees the catalog now."""
    database = session.activity.database
    path = settings.search_path_key(session.parameters["search_path"])
    shared = session.shares_catalog()
    key = (database, session.catalogs.generation(database), path, _KEY)
    if shared:
        cached = session.catalogs.get(key)
        if cached is not False:
            return cached or {}
    try:
        rows = await session.query_rows(declared_sql())
    except PgError:
        return {}
    columns = columns_from_rows(rows)
    if columns:
        columns = await _with_views(session, columns)
    if shared:
        session.catalogs.put(key, columns)
    return columns


def views_sql() -> str:
    """Every visible view's name and definition."""
    return ("SELECT view_name, sql FROM duckdb_views() WHERE NOT internal "
            f"AND {catalog.DATABASE}.main.visible(database_name, view_name)")


async def _with_views(session: Session, columns: Columns) -> Columns:
    """``columns`` and the declared columns of the views that read them (a view of a
    view too: one pass per level, up to a few)."""
    try:
        views = await session.query_rows(views_sql())
    except PgError:
        return columns
    columns = dict(columns)
    for _ in range(4):
        grew = False
        for name, sql in views:
            key = name.lower()
            if key in columns or sql is None:
                continue
            lowered = sql.lower()
            named = tuple(sorted((t, c) for t, c in columns.items() if t in lowered))
            if named and (found := bpchar.view_columns(sql, named)):
                columns[key] = found
                grew = True
        if not grew:
            break
    return columns


async def with_char_semantics(session: Session, stmt: Statement,
                              param_types: tuple[int, ...] = ()) -> Statement:
    """``stmt`` rewritten for the char(n) columns it names and its casts to char(n)
    (sql/bpchar.py), else as is."""
    if stmt.command not in _COMMANDS or stmt.refusal is not None or stmt.explain is not None:
        return stmt
    lowered = stmt.text.lower()
    casts = _CHAR_CAST.search(lowered) is not None
    columns = await declared_columns(session)
    named = tuple(sorted((table, cols) for table, cols in columns.items() if table in lowered))
    # an INSERT's char(n) columns may go unnamed (no column list); elsewhere a char(n)
    # column that matters is named in the text
    whole = stmt.command == "INSERT" or "returning" in lowered
    chars = [column for _table, cols in named for column, kind, _n, _a in cols
             if kind == "bpchar" and (whole or column in lowered)]
    if not chars and not casts:
        return stmt
    text, returning = bpchar.rewritten(stmt.text, named, tuple(param_types), casts=casts)
    if text is None:
        return replace(stmt, char_types=_merged(stmt.char_types, returning)) \
            if returning else stmt
    rewritten = split_statements(text)
    if len(rewritten) != 1:
        return stmt
    # the client's text stays the statement's (error positions are placed in it, as
    # for any translation); DuckDB runs the rewritten text's translation
    return replace(rewritten[0], text=stmt.text, sql=rewritten[0].engine_text,
                   start=stmt.start, shape=stmt.shape,
                   char_types=_merged(rewritten[0].char_types, returning))


def _merged(*char_types: tuple[tuple[int, int], ...]) -> tuple[tuple[int, int], ...]:
    return tuple(sorted(dict(pair for types in char_types for pair in types).items()))


async def copy_trimmed(session: Session, table: str, names: list[str]) -> list[int]:
    """The indexes of ``names`` (COPY FROM's columns of ``table``) that are char(n)
    columns, whose values are stored with trailing blanks stripped."""
    columns = await declared_columns(session)
    name = table.rsplit(".", 1)[-1].strip('"').lower()
    chars = {column for column, kind, _n, _a in columns.get(name, ()) if kind == "bpchar"}
    return [i for i, column in enumerate(names) if column.lower() in chars]


def trimmed(batch: pa.RecordBatch, indexes: list[int]) -> pa.RecordBatch:
    """``batch`` with the columns at ``indexes`` stripped of trailing blanks."""
    columns = list(batch.columns)
    for i in indexes:
        if pa.types.is_string(columns[i].type) or pa.types.is_large_string(columns[i].type):
            columns[i] = pc.utf8_rtrim(columns[i], characters=" ")
    return pa.RecordBatch.from_arrays(columns, schema=batch.schema)
