"""Where a query's result columns come from, as far as the statement's text tells.

PostgreSQL's RowDescription names, for a result column that is a plain reference to a
table's column (``SELECT id, name FROM t``, ``t.name``, ``*``, an alias of one), the
table's OID and the column's number, and announces the column's declared type and
modifier (``varchar(40)``: 1043, typmod 44); for any other expression 0, 0 and the
expression's type (parse_target.c, markTargetListOrigin). It follows a column through
subqueries in FROM, CTEs and join aliases to its table, stops at a view (the view's
OID and column number), gives none to a set operation's or a recursive CTE's columns,
and gives RETURNING's columns their table's. pgjdbc's ResultSetMetaData and psycopg's
``cursor.description`` read them.

This module reads only the text (PostgreSQL's grammar, through pglast's JSON tree: a
few microseconds), and says per result column which table or view (at any depth of
the statement) and which column name it names; the frontend (``frontend/origins.py``)
looks the relations up in the catalog, once per catalog state, and checks the outcome
against the columns DuckDB actually returns. Whatever is not certain here is None: a
wrong origin is worse than none. A subquery's column is known by name only when the
text names all of its columns (no ``*`` in it, no expression without AS), and an
unqualified column is a subquery's only then; a ``*`` over a relation whose columns
the text cannot list (a function, an alias renaming a table's columns, a USING /
NATURAL join, whose merged columns come first) makes the whole statement unknown.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from collections import OrderedDict

from pglast.parser import ParseError, parse_sql_json


@dataclass(frozen=True, slots=True)
class Relation:
    """A table or view named in a FROM clause (or a DML statement's target) at any depth
    of the statement: ``schema`` as written (None: by search_path), its name and the name
    the statement refers to it by (its alias, else its name)."""

    schema: str | None
    name: str
    ref: str


@dataclass(frozen=True, slots=True)
class Target:
    """One result column: ``relation`` is an index into Sources.relations (None: an
    unqualified column, in whichever of the relations ``scope`` lists has it); ``column``
    None means ``*`` of ``relation``; ``label``: the result column's name when it is not
    the column's own (AS, a subquery's or CTE's column name, an alias's column list)."""

    relation: int | None
    column: str | None
    label: str | None = None
    scope: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True, eq=False)  # identity: kept by shape, hashed often
class Sources:
    """The relations the statement reads and its result columns, one Target per column
    (a Target with ``column`` None stands for all of its relation's), None for a column
    without origin (an expression)."""

    relations: tuple[Relation, ...]
    targets: tuple[Target | None, ...]


class _Unknown(Exception):
    """The statement's result columns cannot be told from its text (a ``*`` over a
    relation whose columns the text does not list, a recursive CTE, ...)."""


#: A subquery's or CTE's result columns as the enclosing query sees them: (name, Target)
#: each, name None where the text does not tell it (an expression without AS, a table's
#: ``*``); None for a relation whose columns are unknown altogether (a function).
_Columns = tuple[tuple[str | None, Target | None], ...] | None


@dataclass(slots=True)
class _Item:
    """A FROM item of one query level: a table or view (``relation``), else a subquery,
    CTE or join alias whose ``columns`` are known as far as the text tells."""

    ref: str | None
    relation: int | None = None
    columns: _Columns = None
    schema: str | None = None  # a table's or view's, as written
    inner: list[_Item] | None = None  # a join alias's: the items it joins


#: Sources by statement shape (Statement.shape: the tokens, constants left out).
_BY_SHAPE: OrderedDict[tuple, Sources | None] = OrderedDict()
_BY_SHAPE_LIMIT = 1024


def column_sources(text: str, shape: tuple | None = None) -> Sources | None:
    """The Sources of ``text`` when it is a query (or INSERT / UPDATE / DELETE ...
    RETURNING) whose column origins the text can tell (see the module's docstring),
    else None. ``shape``: the statement's shape (statements.Statement.shape), under
    which the answer is kept: pgbench's lookups, which differ in a constant only, are
    parsed once."""
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
    stmt = stmts[0].get("stmt", {})
    relations: list[Relation] = []
    try:
        if "SelectStmt" in stmt:
            select = stmt["SelectStmt"]
            if select.get("op", "SETOP_NONE") != "SETOP_NONE" or "valuesLists" in select \
                    or "intoClause" in select:
                return None  # a set operation's columns have no origin in PostgreSQL
            columns = _query(select, {}, relations)
        else:
            columns = _returning(stmt, relations)
    except (_Unknown, RecursionError):
        return None
    if columns is None:
        return None
    targets = tuple(target for _name, target in columns)
    if all(t is None for t in targets):
        return None
    return Sources(tuple(relations), targets)


def view_sources(definition: str) -> Sources | None:
    """The Sources of a view's query, from its definition (``CREATE VIEW v AS ...``, as
    DuckDB keeps it): what its columns name, for their declared types."""
    if len(definition) > 20000:
        return None
    try:
        tree = json.loads(parse_sql_json(definition))
        stmts = tree.get("stmts") or []
        view = stmts[0].get("stmt", {}).get("ViewStmt") if len(stmts) == 1 else None
        query = view and view["query"].get("SelectStmt")
        if query is None or query.get("op", "SETOP_NONE") != "SETOP_NONE":
            return None
        relations: list[Relation] = []
        columns = _query(query, {}, relations)  # (its column names are the catalog's)
    except (ParseError, ValueError, RecursionError, _Unknown):
        return None
    if columns is None:
        return None
    return Sources(tuple(relations), tuple(target for _name, target in columns))


def _returning(stmt: dict, relations: list[Relation]) -> _Columns:
    """The RETURNING list's columns of an INSERT, UPDATE or DELETE: its target table's
    (and UPDATE's FROM, DELETE's USING relations')."""
    for kind, extra in (("InsertStmt", None), ("UpdateStmt", "fromClause"),
                        ("DeleteStmt", "usingClause")):
        if kind in stmt:
            node = stmt[kind]
            break
    else:
        return None
    if not node.get("returningList"):
        return None
    ctes = _ctes(node.get("withClause"), {}, relations)
    items = [_range_var(node["relation"], {}, relations)]  # never a CTE
    for item in node.get(extra) or () if extra else ():
        items += _from_item(item, ctes, relations)
    return _target_list(node["returningList"], items)


def _query(select: dict, ctes: dict[str, _Columns], relations: list[Relation]) -> _Columns:
    """The result columns of a query (at any depth), its relations appended to
    ``relations``."""
    ctes = _ctes(select.get("withClause"), ctes, relations)
    op = select.get("op", "SETOP_NONE")
    if op != "SETOP_NONE":  # names from the first branch, no origins (as PostgreSQL)
        first = _query(select["larg"], ctes, relations)
        _query(select["rarg"], ctes, relations)
        return None if first is None else tuple((name, None) for name, _ in first)
    if "valuesLists" in select:
        width = len(select["valuesLists"][0]["List"]["items"])
        return tuple((f"column{i + 1}", None) for i in range(width))
    items: list[_Item] = []
    for item in select.get("fromClause") or ():
        items += _from_item(item, ctes, relations)
    return _target_list(select.get("targetList") or (), items)


def _ctes(clause: dict | None, outer: dict[str, _Columns],
          relations: list[Relation]) -> dict[str, _Columns]:
    """The CTEs a WITH clause adds to those of the enclosing queries, each seeing the
    ones before it."""
    if not clause:
        return outer
    if clause.get("recursive"):
        raise _Unknown  # a recursive CTE's columns have no origin; the rest can wait
    ctes = dict(outer)
    for entry in clause["ctes"]:
        cte = entry["CommonTableExpr"]
        query = cte["ctequery"]
        columns = _query(query["SelectStmt"], ctes, relations) if "SelectStmt" in query \
            else None  # INSERT ... RETURNING in WITH: DuckDB has none
        ctes[cte["ctename"]] = _renamed(columns, cte.get("aliascolnames"))
    return ctes


def _renamed(columns: _Columns, names: list[dict] | None) -> _Columns:
    """``columns`` under an alias's column list (``s(a, b)``), which names the first."""
    if not names or columns is None:
        return columns
    new = [n["String"]["sval"] for n in names]
    if len(new) > len(columns) or any(t is not None and t.column is None
                                      for _, t in columns[:len(new)]):
        return None  # a * among them: which columns are renamed is the catalog's
    renamed = [(name, None if t is None else Target(t.relation, t.column, name, t.scope))
               for name, (_, t) in zip(new, columns)]
    return tuple(renamed) + columns[len(new):]


def _range_var(var: dict, ctes: dict[str, _Columns], relations: list[Relation]) -> _Item:
    alias = var.get("alias")
    name = var["relname"]
    ref = alias["aliasname"] if alias is not None else name
    if "catalogname" in var:
        return _Item(ref)
    if "schemaname" not in var and name in ctes:
        return _Item(ref, columns=_renamed(ctes[name], alias and alias.get("colnames")))
    if alias is not None and alias.get("colnames"):
        return _Item(ref)  # columns renamed by the alias: which ones is the catalog's
    relations.append(Relation(var.get("schemaname"), name, ref))
    return _Item(ref, relation=len(relations) - 1, schema=var.get("schemaname"))


def _from_item(node: dict, ctes: dict[str, _Columns], relations: list[Relation]
               ) -> list[_Item]:
    """The items one FROM entry brings into scope (a join: each of its sides')."""
    if "RangeVar" in node:
        return [_range_var(node["RangeVar"], ctes, relations)]
    if "RangeSubselect" in node:
        sub = node["RangeSubselect"]
        alias = sub.get("alias") or {}
        query = sub["subquery"].get("SelectStmt")
        columns = _query(query, ctes, relations) if query is not None else None
        return [_Item(alias.get("aliasname"), columns=_renamed(columns, alias.get("colnames")))]
    if "JoinExpr" in node:
        join = node["JoinExpr"]
        inner = _from_item(join["larg"], ctes, relations) \
            + _from_item(join["rarg"], ctes, relations)
        merged = bool(join.get("usingClause")) or bool(join.get("isNatural"))
        if merged:  # its * lists the merged columns once, first: unknown here
            inner = [_Item(None)] + inner  # (an unknown item: refuses an unqualified *)
        if "alias" not in join:
            return inner
        alias = join["alias"]
        columns = None if merged else _star(inner)
        if alias.get("colnames"):
            return [_Item(alias["aliasname"], columns=_renamed(columns, alias["colnames"]))]
        return [_Item(alias["aliasname"], columns=columns, inner=inner)]
    alias = next(iter(node.values()), {}).get("alias") if len(node) == 1 else None
    return [_Item(alias.get("aliasname") if alias else None)]  # a function, XMLTABLE, ...


def _star(items: list[_Item]) -> _Columns:
    """The columns ``*`` stands for over ``items``; None if the text cannot tell."""
    out: list[tuple[str | None, Target | None]] = []
    for item in items:
        if item.relation is not None:
            out.append((None, Target(item.relation, None)))
        elif item.columns is None:
            return None
        else:
            out += item.columns
    return tuple(out)


def _target_list(entries, items: list[_Item]) -> _Columns:
    refs = [item.ref for item in items if item.ref is not None]
    if len(set(refs)) != len(refs):
        raise _Unknown  # PostgreSQL refuses the statement (42712): nothing to describe
    out: list[tuple[str | None, Target | None]] = []
    for entry in entries:
        target = entry.get("ResTarget", {})
        label = target.get("name")
        ref = target.get("val", {}).get("ColumnRef")
        if ref is None:
            out.append((label, None))
            continue
        fields = ref["fields"]
        star = "A_Star" in fields[-1]
        names = [f.get("String", {}).get("sval") for f in (fields[:-1] if star else fields)]
        if any(name is None for name in names):
            if star:
                raise _Unknown
            out.append((label, None))
            continue
        if star:
            chosen = _item(names, items) if names else items
            columns = _star(chosen if isinstance(chosen, list) else [chosen]) \
                if chosen is not None else None
            if columns is None:
                raise _Unknown
            out += columns
            continue
        column = names[-1]
        out.append((label or column, _column(names[:-1], column, label, items)))
    return tuple(out)


def _item(qualifier: list[str], items: list[_Item]) -> _Item | None:
    """The item ``t`` / ``s.t`` names, if exactly one."""
    if len(qualifier) == 1:
        found = [item for item in items if item.ref == qualifier[0]]
    elif len(qualifier) == 2:
        found = [item for item in items if item.relation is not None and item.ref == qualifier[1]]
        found = [item for item in found if item.schema == qualifier[0]]
    else:
        return None
    return found[0] if len(found) == 1 else None


def _column(qualifier: list[str], column: str, label: str | None,
            items: list[_Item]) -> Target | None:
    """The Target of a column reference, None where the text cannot tell."""
    if qualifier:
        item = _item(qualifier, items)
        if item is None:
            return None
        if item.relation is not None:
            return Target(item.relation, column, label)
        if item.inner is not None:  # a join alias's column: its sides' as if unqualified
            return _column([], column, label, item.inner)
        return _named(item.columns, column, label)
    # unqualified: PostgreSQL refuses an ambiguous name, so a statement that runs has
    # it in one item: a subquery's that has it, else one of the tables'
    derived = [item for item in items if item.relation is None]
    if any(item.columns is None or any(name is None for name, _ in item.columns)
           for item in derived):
        return None
    having = [item for item in derived
              if any(name.lower() == column.lower() for name, _ in item.columns)]
    if len(having) == 1:
        return _named(having[0].columns, column, label)
    if having:
        return None
    scope = tuple(item.relation for item in items if item.relation is not None)
    return Target(None, column, label, scope) if scope else None


def _named(columns: _Columns, column: str, label: str | None) -> Target | None:
    """The Target of a subquery's (CTE's, join alias's) column named ``column``."""
    if columns is None or any(name is None for name, _ in columns):
        return None
    found = [t for name, t in columns if name.lower() == column.lower()]
    if len(found) != 1 or found[0] is None:
        return None
    t = found[0]
    return Target(t.relation, t.column, label or t.label or column, t.scope)
