"""A column's jsonb mark and its description share DuckDB's one column comment.

A column declared jsonb is marked by its comment (pg_catalog.JSONB_COMMENT,
sql/jsonb_alter.py); PostgreSQL's ``COMMENT ON COLUMN`` sets a description beside the
type. So the comment is the mark alone, or the mark, a newline and the description
(pg_description shows only the latter), and every COMMENT ON COLUMN is followed by
one that puts both back: a user's description keeps the mark, the server's mark
(JSONB_COMMENT, from CREATE / ALTER TABLE) and unmark (JSON_UNMARK, ALTER COLUMN TYPE
json) keep the description. It costs a catalog query per COMMENT ON COLUMN only.
"""

from __future__ import annotations

from collections.abc import Callable

from pglast import ast
from pglast.enums import ObjectType
from pglast.parser import ParseError, parse_sql

from duckgres_trio.engine.pg_catalog import JSON_UNMARK, JSONB_COMMENT

_PREFIX = JSONB_COMMENT + "\n"


def follow_up(sql: str, query: Callable[[str], list[tuple]]) -> list[str]:
    """For a COMMENT ON COLUMN statement (``sql``, run after this returns): the COMMENT
    that makes the column's comment the mark and description it should hold; [] when
    the statement's own value already is, or for any other statement. ``query`` runs a
    catalog query (before the statement)."""
    if sql.lstrip()[:7].upper() != "COMMENT":
        return []
    try:
        statements = parse_sql(sql)
    except (ParseError, RecursionError):
        return []
    stmt = statements[0].stmt if len(statements) == 1 else None
    if not isinstance(stmt, ast.CommentStmt) or stmt.objtype != ObjectType.OBJECT_COLUMN:
        return []
    names = [getattr(name, "sval", None) for name in stmt.object or ()]
    if None in names or not 2 <= len(names) <= 4:
        return []
    try:
        rows = query(_current_sql(names))
    except Exception:  # noqa: BLE001 - an aborted transaction: the statement fails too
        return []
    if not rows:
        return []
    marked, description = _split(rows[0][0])
    value = stmt.comment or None  # PostgreSQL: '' drops the description, as NULL does
    if value == JSONB_COMMENT:
        marked = True
    elif value == JSON_UNMARK:
        marked = False
    else:
        description = value
    wanted = (_PREFIX + description if description else JSONB_COMMENT) if marked \
        else description
    if wanted == stmt.comment:
        return []
    if len(names) >= 3 and names[-3].lower() == "public":
        names[-3] = "main"
    target = ".".join(_quote(name) for name in names)
    return [f"COMMENT ON COLUMN {target} IS {_literal(wanted) if wanted else 'NULL'}"]


def _split(comment: str | None) -> tuple[bool, str | None]:
    """(whether ``comment`` carries the jsonb mark, its description)."""
    if comment == JSONB_COMMENT:
        return True, None
    if comment is not None and comment.startswith(_PREFIX):
        return True, comment[len(_PREFIX):] or None
    return False, comment


def _current_sql(names: list[str]) -> str:
    """The comment of the column ``names`` ([[catalog.]schema.]table.column) as DuckDB
    resolves it: a temporary table's first."""
    column, table = names[-1], names[-2]
    where = [f"lower(column_name) = {_literal(column.lower())}",
             f"lower(table_name) = {_literal(table.lower())}"]
    if len(names) >= 3:
        schema = "main" if names[-3].lower() == "public" else names[-3]
        where.append(f"lower(schema_name) = {_literal(schema.lower())}")
    if len(names) == 4:
        where.append(f"lower(database_name) = {_literal(names[0].lower())}")
    else:
        where.append("database_name IN (current_database(), 'temp')")
    return (f"SELECT comment FROM duckdb_columns() WHERE {' AND '.join(where)} "
            "ORDER BY database_name = 'temp' DESC LIMIT 1")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
