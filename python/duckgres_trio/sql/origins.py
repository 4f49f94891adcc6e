"""Where a SELECT's result columns come from, as far as the statement's text tells.

PostgreSQL's RowDescription names, for a result column that is a plain reference to a
table's column (``SELECT id, name FROM t``, ``t.name``, ``*``, an alias of one), the
table's OID and the column's number, and announces the column's declared type and
modifier (``varchar(40)``: 1043, typmod 44); for any other expression 0, 0 and the
expression's type (parse_target.c, markTargetListOrigin). pgjdbc's ResultSetMetaData
and psycopg's ``cursor.description`` read them.

This module reads only the text (PostgreSQL's grammar, through pglast's JSON tree: a
few microseconds), and says per result column which relation of the FROM clause and
which column name it names; the frontend (``frontend/origins.py``) looks the relations
up in the catalog, once per catalog state, and checks the outcome against the columns
DuckDB actually returns. Whatever is not certain here is None: a wrong origin is worse
than none. Certain means: one SELECT (no set operation, no WITH), a FROM clause of
plain relations and joins of them (no subquery, function, LATERAL; no USING or NATURAL
join when ``*`` is used, whose merged columns PostgreSQL numbers otherwise).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from collections import OrderedDict

from pglast.parser import ParseError, parse_sql_json


@dataclass(frozen=True, slots=True)
class Relation:
    """A relation of the FROM clause: ``schema`` as written (None: by search_path),
    its name and the name the statement refers to it by (its alias, else its name)."""

    schema: str | None
    name: str
    ref: str


@dataclass(frozen=True, slots=True)
class Target:
    """One entry of the target list: ``relation`` is an index into Sources.relations
    (None: an unqualified column, in whichever relation has it); ``column`` None means
    ``*`` (of ``relation``, or of every relation when that is None too); ``label``: the
    result column's name when given by AS."""

    relation: int | None
    column: str | None
    label: str | None = None


@dataclass(frozen=True, slots=True, eq=False)  # identity: kept by shape, hashed often
class Sources:
    """The relations of a SELECT's FROM clause and its target list, one Target per
    entry, None for an expression (no origin)."""

    relations: tuple[Relation, ...]
    targets: tuple[Target | None, ...]


#: Sources by statement shape (Statement.shape: the tokens, constants left out).
_BY_SHAPE: OrderedDict[tuple, Sources | None] = OrderedDict()
_BY_SHAPE_LIMIT = 1024


def column_sources(text: str, shape: tuple | None = None) -> Sources | None:
    """The Sources of ``text`` when it is a SELECT whose column origins the text can
    tell (see the module's docstring), else None. ``shape``: the statement's shape
    (statements.Statement.shape), under which the answer is kept: pgbench's lookups,
    which differ in a constant only, are parsed once."""
    if len(text) > 20000:  # hostile input stays cheap; origins are for ordinary queries
        return None
    if shape is None:
        return _sources(text)
    found = _BY_SHAPE.get(shape, False)
    if found is False:
        found = _BY_SHAPE[shape] = _sources(text)
        if len(_BY_SHAPE) > _BY_SHAPE_LIMIT:
            _BY_SHAPE.popitem(last=False)
    return found


def _sources(text: str) -> Sources | None:
    try:
        tree = json.loads(parse_sql_json(text))
    except (ParseError, ValueError, RecursionError):
        return None
    stmts = tree.get("stmts") or []
    if len(stmts) != 1:
        return None
    select = stmts[0].get("stmt", {}).get("SelectStmt")
    if select is None or select.get("op", "SETOP_NONE") != "SETOP_NONE" \
            or "withClause" in select or "valuesLists" in select or "intoClause" in select:
        return None
    relations: list[Relation] = []
    merged = False  # a USING / NATURAL join: * is not each relation's columns in turn
    for item in select.get("fromClause") or ():
        found = _relations(item, relations)
        if found is None:
            return None
        merged |= found
    if not relations:
        return None
    refs = [r.ref for r in relations]
    if len(set(refs)) != len(refs):
        return None  # PostgreSQL refuses the statement (42712): nothing to describe
    targets = []
    for entry in select.get("targetList") or ():
        target = entry.get("ResTarget", {})
        targets.append(_target(target.get("val", {}), target.get("name"), relations, merged))
        if targets[-1] is False:
            return None
    if all(t is None for t in targets):
        return None
    return Sources(tuple(relations), tuple(targets))


def _relations(node: dict, into: list[Relation]) -> bool | None:
    """Append the relations of one FROM item; whether a join in it merges columns
    (USING, NATURAL); None for an item whose columns we cannot follow."""
    if "RangeVar" in node:
        var = node["RangeVar"]
        if "catalogname" in var:
            return None
        alias = var.get("alias")
        if alias is not None and alias.get("colnames"):
            return None  # columns renamed by the alias
        name = var["relname"]
        into.append(Relation(var.get("schemaname"), name,
                             alias["aliasname"] if alias is not None else name))
        return False
    if "JoinExpr" in node:
        join = node["JoinExpr"]
        if "alias" in join:
            return None
        left = _relations(join["larg"], into)
        right = _relations(join["rarg"], into) if left is not None else None
        if right is None:
            return None
        return left or right or bool(join.get("usingClause")) or bool(join.get("isNatural"))
    return None


def _target(val: dict, label: str | None, relations: list[Relation],
            merged: bool) -> Target | None | bool:
    """The Target of one target-list entry; None for an expression; False when the
    whole statement cannot be described (a ``*`` we cannot expand)."""
    ref = val.get("ColumnRef")
    if ref is None:
        return None
    fields = ref["fields"]
    star = "A_Star" in fields[-1]
    names = [f.get("String", {}).get("sval") for f in (fields[:-1] if star else fields)]
    if any(name is None for name in names):
        return False if star else None
    column = None if star else names[-1]
    qualifier = names if star else names[:-1]
    if not qualifier:
        if star and merged:
            return False
        return Target(None, column, label)
    index = _relation(qualifier, relations)
    if index is None:
        return False if star else None
    return Target(index, column, label)


def _relation(qualifier: list[str], relations: list[Relation]) -> int | None:
    """The index of the relation ``t`` / ``s.t`` names, if exactly one."""
    if len(qualifier) == 1:
        found = [i for i, r in enumerate(relations) if r.ref == qualifier[0]]
    elif len(qualifier) == 2:
        found = [i for i, r in enumerate(relations)
                 if r.ref == r.name == qualifier[1] and r.schema == qualifier[0]]
    else:
        return None
    return found[0] if len(found) == 1 else None
