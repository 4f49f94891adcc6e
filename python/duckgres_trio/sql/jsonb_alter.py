"""ALTER TABLE that makes a column jsonb (or json): the column's comment names the type.

A column declared jsonb in CREATE TABLE has a hidden CHECK that names its type
(sql/translate.py); DuckDB adds no constraint with ALTER TABLE, so ADD COLUMN ... jsonb
and ALTER COLUMN ... TYPE jsonb mark the column with the comment
``duckgres_typmod:jsonb`` instead (pg_catalog.JSONB_COMMENT; DuckDB keeps a column's
comment through ALTER TYPE and RENAME, as PostgreSQL does). The catalog reads it only
while the column is DuckDB's JSON, and never shows it as a description. ALTER COLUMN
TYPE json clears it. (CREATE TABLE AS: engine/statement.py marks the new table's
columns that engine/jsonb_typing.py finds jsonb.)
"""

from __future__ import annotations

from pglast import ast
from pglast.enums import AlterTableType, ObjectType

from duckgres_trio.engine import pg_catalog


def alter_comments(stmt: object) -> list[str]:
    """The COMMENT statements to run after ``stmt`` (an ALTER TABLE, before the
    translator renames its types) so that its jsonb columns are jsonb; [] for others."""
    if not isinstance(stmt, ast.AlterTableStmt) or stmt.objtype != ObjectType.OBJECT_TABLE:
        return []
    comments = []
    for cmd in stmt.cmds or ():
        if not isinstance(cmd, ast.AlterTableCmd) or not isinstance(cmd.def_, ast.ColumnDef) \
                or cmd.def_.typeName is None:
            continue
        if cmd.subtype == AlterTableType.AT_AddColumn and not cmd.missing_ok:
            column = cmd.def_.colname
        elif cmd.subtype == AlterTableType.AT_AlterColumnType:
            column = cmd.name
        else:
            continue
        type_name = cmd.def_.typeName
        schema = type_name.names[0].sval if len(type_name.names) > 1 else None
        name = type_name.names[-1].sval
        if type_name.arrayBounds or schema not in (None, "pg_catalog") \
                or name not in ("json", "jsonb"):
            continue
        if name == "json" and cmd.subtype == AlterTableType.AT_AddColumn:
            continue
        value = f"'{pg_catalog.JSONB_COMMENT}'" if name == "jsonb" else "NULL"
        comments.append(f"COMMENT ON COLUMN {_relation(stmt.relation)}.{_quote(column)} "
                        f"IS {value}")
    return comments


def _relation(var: ast.RangeVar) -> str:
    schema = var.schemaname
    if schema is not None and schema.lower() == "public":
        schema = "main"
    return ".".join(_quote(part) for part in (var.catalogname, schema, var.relname) if part)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
