"""CREATE / ALTER TABLE that makes a column jsonb (or json): its comment names the type.

jsonb is DuckDB's JSON, as json is. A column declared jsonb is marked with the comment
``duckgres_typmod:jsonb`` (pg_catalog.JSONB_COMMENT), run after the CREATE TABLE, ADD
COLUMN or ALTER COLUMN ... TYPE jsonb: DuckDB keeps a column's comment through ALTER
TYPE and RENAME, as PostgreSQL keeps the type, and a comment (unlike the CHECK that
marks varchar(n), which DuckDB's ALTER COLUMN TYPE refuses) leaves the column's type
changeable. The catalog reads it only while the column is DuckDB's JSON, and never
shows it as a description. ALTER COLUMN TYPE json clears it. CREATE TABLE IF NOT EXISTS
cannot know whether it made the table, so its jsonb columns keep the older mark, a
hidden always-true CHECK (sql/translate.py), which the catalog reads too. (CREATE TABLE
AS: engine/statement.py marks the new table's columns engine/jsonb_typing.py finds
jsonb.)
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
        # (engine/jsonb_comments.py keeps the column's description beside the mark)
        value = pg_catalog.JSONB_COMMENT if name == "jsonb" else pg_catalog.JSON_UNMARK
        value = f"'{value}'"
        comments.append(f"COMMENT ON COLUMN {_relation(stmt.relation)}.{_quote(column)} "
                        f"IS {value}")
    return comments


def replayable(stmt: object) -> bool:
    """Make ALTER COLUMN TYPE json / jsonb one DuckDB 1.5.5 can replay from its WAL,
    in place; True if changed. Replaying binds the statement's cast to JSON, and a cast
    (or any function) found by name fails there (no default database yet: the file
    would not open after a crash). ``USING column`` (or ``USING x`` for ``USING
    x::jsonb``) leaves DuckDB the cast to the column's new type, bound from the type
    itself. Other functions in a USING expression, of any type, still fail so
    (docs/compatibility.md)."""
    if not isinstance(stmt, ast.AlterTableStmt) or stmt.objtype != ObjectType.OBJECT_TABLE:
        return False
    changed = False
    for cmd in stmt.cmds or ():
        if not isinstance(cmd, ast.AlterTableCmd) \
                or cmd.subtype != AlterTableType.AT_AlterColumnType \
                or not isinstance(cmd.def_, ast.ColumnDef) or not _is_json(cmd.def_.typeName):
            continue
        using = cmd.def_.raw_default
        if using is None:
            cmd.def_.raw_default = ast.ColumnRef(fields=(ast.String(sval=cmd.name),))
            changed = True
        elif isinstance(using, ast.TypeCast) and _is_json(using.typeName):
            cmd.def_.raw_default = using.arg
            changed = True
    return changed


def _is_json(type_name: ast.TypeName | None) -> bool:
    """Whether a type is (scalar) json or jsonb."""
    if type_name is None or type_name.arrayBounds or type_name.typmods:
        return False
    names = [getattr(n, "sval", None) for n in type_name.names]
    return names[-1] in ("json", "jsonb") and (len(names) == 1 or names[:-1] == ["pg_catalog"])


def create_comments(stmt: object) -> list[str]:
    """The COMMENT statements to run after ``stmt`` (a CREATE TABLE without IF NOT
    EXISTS, before the translator renames its types) that mark its jsonb columns; []
    for others (CREATE TABLE IF NOT EXISTS: sql/translate.py gives them the CHECK)."""
    if not isinstance(stmt, ast.CreateStmt) or stmt.if_not_exists:
        return []
    var = stmt.relation
    # a temporary table: in DuckDB's "temp" catalog, whatever schema the text names
    table = (f"temp.main.{_quote(var.relname)}" if var.relpersistence == "t"
             else _relation(var))
    return [f"COMMENT ON COLUMN {table}.{_quote(element.colname)} "
            f"IS '{pg_catalog.JSONB_COMMENT}'"
            for element in stmt.tableElts or ()
            if isinstance(element, ast.ColumnDef) and is_jsonb(element.typeName)]


def is_jsonb(type_name: ast.TypeName | None) -> bool:
    """Whether a column type is (scalar) jsonb."""
    if type_name is None or type_name.arrayBounds or type_name.typmods:
        return False
    names = [getattr(n, "sval", None) for n in type_name.names]
    return names[-1] == "jsonb" and (len(names) == 1 or names[:-1] == ["pg_catalog"])


def _relation(var: ast.RangeVar) -> str:
    schema = var.schemaname
    if schema is not None and schema.lower() == "public":
        schema = "main"
    return ".".join(_quote(part) for part in (var.catalogname, schema, var.relname) if part)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
