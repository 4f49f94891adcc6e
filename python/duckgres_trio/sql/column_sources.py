"""Which table columns a column reference inside ``pg_typeof(...)`` may read, by its text.

pg_typeof of a column is jsonb when the column it reads is declared jsonb, which DuckDB's
JSON type does not say; the translation asks the catalog at run time (sql/translate.py,
``_typeof``). This module tells it which (table, column) pairs to ask about: the column
is followed through its select's FROM clause, subqueries, CTEs and ``*`` to the tables
named there. A reference it cannot follow (a view is followed no further than its name,
so its pair names the view and never matches; an expression) is None: the translation
then asks about the column's name in any table, as before.
"""

from __future__ import annotations

from pglast import ast
from pglast.visitors import Visitor

#: Nesting followed at most this deep.
_DEPTH = 32

Pairs = tuple[tuple[str, str], ...]


def pg_typeof_sources(stmt: object) -> dict[int, tuple[object, Pairs | None]]:
    """id(column reference) -> (the reference, its (table, column) pairs or None), for
    each column reference that is pg_typeof's argument in ``stmt``."""
    finder = _Finder()
    finder(stmt)
    return finder.found


class _Context:
    """A select's FROM items and CTEs, and the select around it."""

    def __init__(self, select: ast.SelectStmt, outer: _Context | None, ctes: dict) -> None:
        self.select, self.outer = select, outer
        self.ctes = dict(ctes)
        for cte in (select.withClause.ctes if select.withClause else None) or ():
            if isinstance(cte.ctequery, ast.SelectStmt):
                self.ctes[cte.ctename.lower()] = cte
        self.items: list = []
        stack = list(select.fromClause or ())
        while stack:
            item = stack.pop(0)
            if isinstance(item, ast.JoinExpr):
                stack[:0] = [item.larg, item.rarg]
            else:
                self.items.append(item)


class _Finder(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.found: dict[int, tuple[object, Pairs | None]] = {}

    def visit_FuncCall(self, ancestors, node: ast.FuncCall):
        names = [getattr(n, "sval", None) for n in node.funcname]
        if names[-1] != "pg_typeof" or len(node.args or ()) != 1 \
                or not isinstance(node.args[0], ast.ColumnRef):
            return None
        selects = [a.node for a in _chain(ancestors) if isinstance(a.node, ast.SelectStmt)]
        context = None
        for select in reversed(selects):  # outermost first
            context = _Context(select, context, context.ctes if context else {})
        pairs = _resolve(node.args[0], context, 0) if context is not None else None
        self.found[id(node.args[0])] = (node.args[0], tuple(sorted(set(pairs)))
                                        if pairs else None)
        return None


def _chain(ancestors):
    while ancestors is not None and ancestors.node is not None:
        yield ancestors
        ancestors = ancestors.parent


def _resolve(ref: ast.ColumnRef, context: _Context | None, depth: int
             ) -> list[tuple[str, str]] | None:
    names = [getattr(f, "sval", None) for f in ref.fields]
    if None in names or len(names) > 3 or depth > _DEPTH:
        return None
    column, qualifier = names[-1].lower(), names[-2].lower() if len(names) > 1 else None
    while context is not None:
        items = [i for i in context.items
                 if qualifier is None or _refname(i) == qualifier]
        pairs: list[tuple[str, str]] = []
        matched = False
        for item in items:
            found = _from_item(item, column, context, depth + 1)
            if found is None:
                return None
            if found is not False:
                matched = True
                pairs += found
        if matched:
            return pairs
        if qualifier is not None and items:
            return None
        context = context.outer
    return None


def _refname(item) -> str | None:
    alias = getattr(item, "alias", None)
    if alias is not None:
        return alias.aliasname.lower()
    return item.relname.lower() if isinstance(item, ast.RangeVar) else None


def _from_item(item, column: str, context: _Context, depth: int):
    """The pairs ``column`` of this FROM item reads; False: it has no such column (as
    far as the text says); None: unsure."""
    if isinstance(item, ast.RangeVar):
        name = item.relname.lower()
        if item.schemaname is None and name in context.ctes:
            cte = context.ctes[name]
            return _output(cte.ctequery, _renamed(column, cte.aliascolnames, item.alias),
                           context, depth)
        if item.alias is not None and item.alias.colnames:
            return None  # renamed columns of a table: positions, which need the catalog
        return [(name, column)]
    if isinstance(item, ast.RangeSubselect) and isinstance(item.subquery, ast.SelectStmt):
        renamed = _renamed(column, None, item.alias)
        return _output(item.subquery, renamed, context, depth)
    return None


def _renamed(column: str, colnames, alias) -> str | int:
    """The output ``column`` is under an alias's column names: its position if renamed."""
    names = [c.sval.lower() for c in (colnames or (alias.colnames if alias else None) or ())]
    return names.index(column) if column in names else column


def _output(select: ast.SelectStmt, column: str | int, context: _Context, depth: int):
    """The pairs the output ``column`` (a name, or a position) of ``select`` reads."""
    while select.larg is not None:
        select = select.larg
    inner = _Context(select, context, context.ctes)
    for index, target in enumerate(select.targetList or ()):
        val = target.val
        if isinstance(val, ast.ColumnRef) and isinstance(val.fields[-1], ast.A_Star):
            if isinstance(column, int):
                return None
            return _resolve(ast.ColumnRef(fields=(*val.fields[:-1], ast.String(sval=column))),
                            inner, depth + 1)
        name = target.name or (getattr(val.fields[-1], "sval", None)
                               if isinstance(val, ast.ColumnRef) else None)
        if index == column or (name is not None and name.lower() == column):
            if isinstance(val, ast.ColumnRef):
                return _resolve(val, inner, depth + 1)
            return None
    return False
