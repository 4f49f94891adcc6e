"""CREATE TABLE's foreign keys, kept by the server instead of DuckDB.

DuckDB 1.5.5 runs an UPDATE of any indexed column as a delete and an insert, and the
delete fails while another table references the row, although its key stays the same
(engine/foreign_keys.py tells the story). So each FOREIGN KEY / REFERENCES of a CREATE
TABLE becomes an always-true CHECK that only carries its definition (name as PostgreSQL
chooses it, columns, referenced table and columns) in its text; the catalog shows it as
the foreign key, and the engine enforces it after each statement that could break it.
"""

from __future__ import annotations

from pglast import ast, parse_sql
from pglast.enums import ConstrType

from duckgres_trio.engine.foreign_keys import payload
from duckgres_trio.errors import PgError, SqlState

#: PostgreSQL's NAMEDATALEN - 1
_MAX_NAME = 63


def object_name(name1: str, name2: str, label: str) -> str:
    """PostgreSQL's makeObjectName: name1_name2_label, the longer of name1 and name2
    cut until the whole fits in 63 bytes."""
    overhead = (1 if name2 else 0) + len(label) + 1
    n1, n2 = len(name1.encode()), len(name2.encode())
    while n1 + n2 > _MAX_NAME - overhead:
        if n1 > n2:
            n1 -= 1
        else:
            n2 -= 1
    cut1 = name1.encode()[:n1].decode(errors="ignore")
    cut2 = name2.encode()[:n2].decode(errors="ignore")
    return "_".join(p for p in (cut1, cut2, label) if p)


def declare(node: ast.CreateStmt) -> bool:
    """Replace the statement's foreign keys by their marker CHECKs; True if any."""
    table = node.relation.relname
    taken: set[str] = set()
    changed = False

    def marker(constraint: ast.Constraint, columns: list[str]) -> ast.Constraint:
        if constraint.fk_upd_action == "c":
            # the statement's end shows which referencing rows lost their key, not the
            # new key they should follow (engine/foreign_keys.py)
            raise PgError(SqlState.FEATURE_NOT_SUPPORTED,
                          "foreign key action ON UPDATE CASCADE is not supported",
                          hint="Use ON UPDATE NO ACTION, RESTRICT, SET NULL or SET DEFAULT.")
        name = constraint.conname
        if not name:
            label, n = "fkey", 0
            name = object_name(table, "_".join(columns), label)
            while name in taken:
                n += 1
                name = object_name(table, "_".join(columns), f"{label}{n}")
        taken.add(name)
        ref = constraint.pktable
        schema = ref.schemaname
        if schema and schema.lower() == "public":
            schema = None
        definition = {
            "name": name, "columns": columns, "ref_schema": schema,
            "ref_table": ref.relname,
            "ref_columns": [s.sval for s in constraint.pk_attrs or ()],
            "on_update": constraint.fk_upd_action, "on_delete": constraint.fk_del_action,
        }
        check = parse_sql(f"SELECT '{payload(definition)}' IS NOT NULL")[0].stmt
        return ast.Constraint(contype=ConstrType.CONSTR_CHECK,
                              raw_expr=check.targetList[0].val)

    elements = []
    for element in node.tableElts or ():
        if isinstance(element, ast.ColumnDef) and element.constraints:
            kept = []
            for constraint in element.constraints:
                if constraint.contype == ConstrType.CONSTR_FOREIGN:
                    elements.append(marker(constraint, [element.colname]))
                    changed = True
                else:
                    kept.append(constraint)
            element.constraints = tuple(kept) or None
        elif (isinstance(element, ast.Constraint)
              and element.contype == ConstrType.CONSTR_FOREIGN):
            element = marker(element, [s.sval for s in element.fk_attrs])
            changed = True
        elements.append(element)
    if changed:
        # column constraints' markers after their column, so the table's own order holds
        columns = [e for e in elements if isinstance(e, ast.ColumnDef)]
        node.tableElts = tuple(columns + [e for e in elements if not isinstance(e, ast.ColumnDef)])
    return changed
