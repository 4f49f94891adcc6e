"""DDL that DuckLake storage cannot hold, made into what it can (docs/ducklake.md).

A DuckLake keeps no keys, constraints or indexes: DuckDB refuses PRIMARY KEY, UNIQUE,
FOREIGN KEY, CHECK and CREATE INDEX on one. Schemas written for PostgreSQL (pgbench -i
adds its primary keys with ALTER TABLE; ORMs create indexes) should still load, as
they do on warehouses that do not enforce keys: so with ``storage: ducklake`` those
are dropped from the statement and the client is told with a WARNING naming what was
dropped. A PRIMARY KEY's columns keep its NOT NULL. Sequences (and so serial), enum
types and generated columns are left for DuckDB to refuse (0A000, its message names
DuckLake): nothing can stand in for them. VACUUM and ANALYZE (pgbench -i runs them)
do nothing: DuckDB implements them for its own tables only.

The storage kind is the server's (``configure``, at start, before any statement is
classified: classifications are cached by text).
"""

from __future__ import annotations

from pglast import ast
from pglast.enums import AlterTableType, ConstrType

_active = False

#: What each dropped constraint is called in the WARNING.
_KINDS = {ConstrType.CONSTR_PRIMARY: "PRIMARY KEY", ConstrType.CONSTR_UNIQUE: "UNIQUE",
          ConstrType.CONSTR_FOREIGN: "FOREIGN KEY", ConstrType.CONSTR_CHECK: "CHECK",
          ConstrType.CONSTR_EXCLUSION: "EXCLUDE"}

#: A statement left with nothing to do: DuckDB runs this, the client gets the tag.
NOTHING = "SELECT 1 WHERE false"


def configure(storage: str) -> None:
    global _active
    _active = storage == "ducklake"


def active() -> bool:
    return _active


def strip(stmt: object) -> tuple[list[str], bool]:
    """Drop from ``stmt`` (in place) what DuckLake cannot hold: (the WARNING messages,
    whether nothing is left to run)."""
    if isinstance(stmt, ast.VacuumStmt):
        return [], True  # DuckDB vacuums its own tables only; a lake has no dead rows
    if isinstance(stmt, ast.IndexStmt):
        kind = "unique index" if stmt.unique else "index"
        return [f'{kind} "{stmt.idxname or ""}" on table "{stmt.relation.relname}" not '
                "created: DuckLake storage has no indexes"], True
    if isinstance(stmt, ast.CreateStmt):
        dropped = _strip_table(stmt)
        return _warnings(dropped, stmt.relation.relname), False
    if isinstance(stmt, ast.AlterTableStmt) and stmt.cmds:
        dropped, kept = [], []
        for cmd in stmt.cmds:
            if cmd.subtype == AlterTableType.AT_AddConstraint \
                    and isinstance(cmd.def_, ast.Constraint) and cmd.def_.contype in _KINDS:
                dropped.append(_KINDS[cmd.def_.contype])
                continue
            if isinstance(cmd.def_, ast.ColumnDef):
                dropped += _strip_column(cmd.def_)
            kept.append(cmd)
        if dropped:
            stmt.cmds = tuple(kept)
        return _warnings(dropped, stmt.relation.relname), not kept
    return [], False


def _strip_table(stmt: ast.CreateStmt) -> list[str]:
    dropped, kept = [], []
    columns = {e.colname: e for e in stmt.tableElts or () if isinstance(e, ast.ColumnDef)}
    for element in stmt.tableElts or ():
        if isinstance(element, ast.ColumnDef):
            dropped += _strip_column(element)
            kept.append(element)
        elif isinstance(element, ast.Constraint) and element.contype in _KINDS:
            dropped.append(_KINDS[element.contype])
            if element.contype == ConstrType.CONSTR_PRIMARY:
                for key in element.keys or ():
                    if key.sval in columns:
                        _not_null(columns[key.sval])
        else:
            kept.append(element)
    if dropped:
        stmt.tableElts = tuple(kept)
    return dropped


def _strip_column(column: ast.ColumnDef) -> list[str]:
    dropped, kept = [], []
    primary = False
    for constraint in column.constraints or ():
        if constraint.contype in _KINDS:
            dropped.append(_KINDS[constraint.contype])
            primary = primary or constraint.contype == ConstrType.CONSTR_PRIMARY
        else:
            kept.append(constraint)
    if dropped:
        column.constraints = tuple(kept) or None
        if primary:
            _not_null(column)
    return dropped


def _not_null(column: ast.ColumnDef) -> None:
    if not any(c.contype == ConstrType.CONSTR_NOTNULL for c in column.constraints or ()):
        column.constraints = tuple(column.constraints or ()) + (
            ast.Constraint(contype=ConstrType.CONSTR_NOTNULL),)


def _warnings(dropped: list[str], table: str) -> list[str]:
    if not dropped:
        return []
    kinds = ", ".join(dict.fromkeys(dropped))  # each kind once, in order
    return [f'{kinds} constraint{"s" if len(dropped) > 1 else ""} on table "{table}" '
            "not enforced: DuckLake storage has no keys or constraints"]
