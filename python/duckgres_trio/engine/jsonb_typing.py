"""Which JSON result columns are jsonb, by following each one back to where it comes from.

DuckDB has one JSON type for PostgreSQL's json and jsonb and keeps no alias through an
expression, so a result column of DuckDB's JSON type says nothing of which it is. A
column declared jsonb is marked in the catalog (its hidden CHECK, sql/translate.py);
this module types a statement's result columns as PostgreSQL's parser would, as far as
jsonb goes: a column reference through aliases, subqueries, CTEs, views (their stored
SQL, read the same way), set operations and joins; ``array[j]`` / ``array_agg(j)`` /
``ARRAY(select j ...)`` are arrays of the element's kind; casts, json / jsonb functions,
``-> #> - #- ||`` and COALESCE / CASE / GREATEST / NULLIF / min / max follow their
operands. What it cannot follow (a table function, a relation it does not find) is
None: the caller then falls back to its guess by name.

It runs only for a statement whose result has JSON columns (``Prepared.json_columns``),
on the text DuckDB prepared. What the catalog says is kept in a ``Catalog`` per
connection and catalog state (engine/statement.py keys it as a prepared statement's
memo): a relation is looked up (one query per level of views; ~15-30 ms, DuckDB lists
every column of every view to answer) once per state, then each statement that reads it
costs a dict lookup. Parsed trees are kept per text. Kinds: "jsonb", "json", "other",
each with "[]" for an array of one.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

from pglast import ast
from pglast.enums import A_Expr_Kind, ObjectType, SetOperation, SubLinkType
from pglast.parser import ParseError, parse_sql

from duckgres_trio.engine import pg_catalog

#: Relations of a level of views looked up at most this many times (views over views).
_ROUNDS = 4
#: Nesting followed at most this deep (expressions, subqueries, views).
_DEPTH = 48
#: Texts longer than this are not parsed here (the caller's guess by name stands).
_MAX_TEXT = 20000
#: Relation names a Catalog keeps at most (it starts again beyond).
_KEPT_NAMES = 4096

#: json / jsonb functions whose result's kind is their first argument's (DuckDB's names
#: of ``->`` / ``#>``, as the translator writes them, and PostgreSQL's own).
_FIRST_ARGUMENT = frozenset({"json_extract", "jsonb_extract_path", "json_extract_path",
                             "coalesce", "greatest", "least", "nullif", "ifnull", "max",
                             "min", "any_value", "first", "last", "arbitrary",
                             "jsonb_set", "jsonb_insert", "jsonb_strip_nulls"})
#: Aggregates whose result is an array of their argument's kind.
_ARRAY_AGGREGATES = frozenset({"array_agg", "list"})
_JSON_FUNCTIONS = frozenset({"to_json", "array_to_json", "row_to_json"})
#: Operators whose result has the kind of their (json or jsonb) left operand.
_JSON_OPERATORS = frozenset({"->", "#>", "-", "#-", "||"})

Kind = str | None
Columns = list[tuple[str | None, Kind]]
#: A select's result columns, and whether the list is complete (a ``*`` the module
#: cannot expand leaves the positions after it unknown).
Outputs = tuple[Columns, bool]
Query = Callable[[str], list[tuple]]


_TREES: OrderedDict[str, object | None] = OrderedDict()


def _tree(sql: str) -> object | None:
    """The one statement of ``sql`` (pglast's tree), or None; kept per text."""
    found = _TREES.get(sql, False)
    if found is False:
        found = None
        if len(sql) <= _MAX_TEXT:
            try:
                statements = parse_sql(sql)
                if len(statements) == 1:
                    found = statements[0].stmt
            except (ParseError, RecursionError):
                pass
        _TREES[sql] = found
        if len(_TREES) > 512:
            _TREES.popitem(last=False)
    return found


class Catalog:
    """One connection's catalog lookups for one catalog state (``state``, opaque here):
    the relations found by lower-case name, and the names of the columns declared jsonb
    anywhere. A lookup that fails (an aborted transaction) is not kept."""

    __slots__ = ("state", "by_name", "declared")

    def __init__(self, state: object) -> None:
        self.state = state
        self.by_name: dict[str, list[_Relation]] = {}
        self.declared: frozenset[str] | None = None

    def declared_names(self, query: Query) -> frozenset[str]:
        """Names of the columns declared jsonb in any table (the guess by name for a
        column not followed); raises what ``query`` raises."""
        if self.declared is None:
            self.declared = frozenset(row[0] for row in query(pg_catalog.jsonb_columns_sql()))
        return self.declared


def result_kinds(sql: str, query: Query, catalog: Catalog | None = None
                 ) -> list[Kind] | None:
    """The kind of each result column of ``sql`` as far as known (None where not), or
    None when the text is not a statement this module reads. ``query`` runs a catalog
    query on the statement's connection; ``catalog`` keeps what was found (for the
    connection's current catalog state)."""
    stmt = _tree(sql)
    if isinstance(stmt, ast.ViewStmt):
        return None
    if isinstance(stmt, (ast.InsertStmt, ast.UpdateStmt, ast.DeleteStmt)):
        if not stmt.returningList:
            return None
    elif not isinstance(stmt, ast.SelectStmt):
        return None
    try:
        relations = _Relations(query, catalog or Catalog(None))
        relations.load(_relation_names(stmt))
        typer = _Typer(relations)
        if isinstance(stmt, ast.SelectStmt):
            columns, _complete = typer.select(stmt, (), {}, 0)
        else:
            entry = typer.range_var(stmt.relation, {})
            scope = _Scope([entry], entry[1])
            for item in (getattr(stmt, "fromClause", None) or getattr(stmt, "usingClause", None)
                         or ()):
                scope.add(*typer.from_item(item, (), {}, 0))
            columns, _complete = typer.targets(stmt.returningList, (scope,), 0)
    except Exception:  # noqa: BLE001 - a tree this module misreads: the caller's guess
        return None
    return [kind for _, kind in columns]


def created_jsonb_columns(sql: str, query: Query, catalog: Catalog | None = None
                          ) -> list[str]:
    """For CREATE TABLE ... AS (or CREATE TABLE AS ... WITH NO DATA): the COMMENT
    statements (pg_catalog.JSONB_COMMENT) that mark the new table's jsonb columns, to
    run after it; [] for any other statement (or when unsure)."""
    stmt = _tree(sql)
    if not isinstance(stmt, ast.CreateTableAsStmt) or stmt.if_not_exists \
            or stmt.objtype != ObjectType.OBJECT_TABLE \
            or not isinstance(stmt.query, ast.SelectStmt) or stmt.into is None:
        return []
    try:
        relations = _Relations(query, catalog or Catalog(None))
        relations.load(_relation_names(stmt.query))
        columns, _complete = _Typer(relations).select(stmt.query, (), {}, 0)
    except Exception:  # noqa: BLE001 - a tree this module misreads: left json
        return []
    names = [c.sval for c in stmt.into.colNames or ()]
    var = stmt.into.rel
    schema = "main" if (var.schemaname or "").lower() == "public" else var.schemaname
    table = ".".join(_quote(part) for part in (var.catalogname, schema, var.relname) if part)
    return [f"COMMENT ON COLUMN {table}.{_quote(names[i] if i < len(names) else name)} "
            f"IS '{pg_catalog.JSONB_COMMENT}'"
            for i, (name, kind) in enumerate(columns)
            if kind == "jsonb" and (i < len(names) or name is not None)]


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# -- the catalog ------------------------------------------------------------------------

class _Relation:
    """A table or view as the catalog lists it: its columns (name, kind of a table's
    column; a view's DuckDB type) and a view's stored SQL."""

    __slots__ = ("schema", "temporary", "columns", "view_sql", "outputs")

    def __init__(self, schema: str, temporary: bool, view_sql: str | None) -> None:
        self.schema, self.temporary, self.view_sql = schema, temporary, view_sql
        self.columns: list[tuple[str, str]] = []
        self.outputs: Columns | None = None


class _Relations:
    """The tables and views the statement (and the views it reads) names, by lower-case
    name, each name's candidates in every visible schema: the catalog's, looked up
    where it has not got them yet (a failed query raises: nothing is known)."""

    def __init__(self, query: Query, catalog: Catalog) -> None:
        self.query = query
        if len(catalog.by_name) > _KEPT_NAMES:
            catalog.by_name.clear()  # (names that are no relation count too: bounded)
        self.by_name = catalog.by_name

    def load(self, names: set[str]) -> None:
        for _ in range(_ROUNDS):
            names = {name for name in names if name not in self.by_name}
            if not names:
                return
            rows = self.query(pg_catalog.relation_columns_sql(names))
            for name in names:
                self.by_name[name] = []
            found: dict[tuple, _Relation] = {}
            for schema, relname, temporary, column, data_type, jsonb, view_sql, _ in rows:
                key = (schema, relname, temporary)
                if key not in found:
                    found[key] = _Relation(schema, temporary, view_sql)
                    self.by_name.setdefault(relname.lower(), []).append(found[key])
                found[key].columns.append((column, _declared_kind(data_type, jsonb)))
            names = set()
            for relation in found.values():
                if relation.view_sql is not None:
                    names |= _relation_names(_tree(relation.view_sql))

    def find(self, schema: str | None, name: str) -> _Relation | None:
        """The relation DuckDB binds ``[schema.]name`` to: a temporary one first, else
        the only candidate (several in different schemas: unsure, None)."""
        candidates = self.by_name.get(name.lower(), [])
        if schema is not None:
            schema = "main" if schema.lower() == "public" else schema.lower()
            candidates = [r for r in candidates if r.schema.lower() == schema]
        temporary = [r for r in candidates if r.temporary]
        if temporary:
            candidates = temporary
        return candidates[0] if len(candidates) == 1 else None


def _declared_kind(data_type: str, jsonb: bool) -> str:
    if data_type == "JSON":
        return "jsonb" if jsonb else "json"
    if data_type.startswith("JSON["):
        return "json[]"
    return "other"


def _relation_names(stmt: object) -> set[str]:
    """Lower-case names of every relation the tree names (CTE names too: harmless)."""
    names: set[str] = set()
    stack = [stmt]
    seen = 0
    while stack and seen < 100_000:
        node = stack.pop()
        seen += 1
        if isinstance(node, ast.RangeVar):
            names.add(node.relname.lower())
        if isinstance(node, ast.Node):
            stack.extend(value for value in (getattr(node, name) for name in node)
                         if isinstance(value, (ast.Node, tuple)))
        elif isinstance(node, tuple):
            stack.extend(node)
    return names


# -- typing -------------------------------------------------------------------------------

#: One FROM item as a scope entry: the name it is referred to by and its columns (None:
#: unknown), whether a ``*`` of it can be expanded.
_Entry = tuple[str | None, Columns | None, bool]


class _Scope:
    """A select's FROM clause: its entries, and what its unqualified ``*`` is (None:
    unknown; a USING or NATURAL join merges its common columns first)."""

    __slots__ = ("entries", "star")

    def __init__(self, entries: list[_Entry] | None = None, star: Columns | None = None
                 ) -> None:
        self.entries = entries or []
        self.star = star if entries else []

    def add(self, entries: list[_Entry], star: Columns | None) -> None:
        self.entries += entries
        self.star = None if self.star is None or star is None else self.star + star


class _Typer:
    def __init__(self, relations: _Relations) -> None:
        self.relations = relations
        self.ctes: dict = {}  # the CTEs a subquery in the current select list sees

    # statements

    def select(self, stmt: ast.SelectStmt, outer: tuple, ctes: dict, depth: int) -> Outputs:
        if depth > _DEPTH:
            return [], False
        if stmt.withClause is not None:
            ctes = dict(ctes)
            for cte in stmt.withClause.ctes or ():
                query = cte.ctequery
                if isinstance(query, ast.SelectStmt) and query.op is not SetOperation.SETOP_NONE \
                        and stmt.withClause.recursive:
                    query = query.larg  # a recursive CTE: its non-recursive part
                columns, complete = (self.select(query, outer, ctes, depth + 1)
                                     if isinstance(query, ast.SelectStmt) else ([], False))
                ctes[cte.ctename.lower()] = (_renamed(columns, cte.aliascolnames), complete)
        if stmt.op is not SetOperation.SETOP_NONE:
            return self.select(stmt.larg, outer, ctes, depth + 1)
        if stmt.valuesLists:
            row = stmt.valuesLists[0]
            return [(f"column{i + 1}", self.kind(v, outer, depth + 1))
                    for i, v in enumerate(row)], True
        scope = _Scope()
        for item in stmt.fromClause or ():
            scope.add(*self.from_item(item, outer, ctes, depth + 1))
        saved, self.ctes = self.ctes, ctes
        try:
            return self.targets(stmt.targetList, (scope, *outer), depth + 1)
        finally:
            self.ctes = saved

    def targets(self, targets, scopes: tuple, depth: int) -> Outputs:
        columns: Columns = []
        for target in targets or ():
            val = target.val
            if isinstance(val, ast.ColumnRef) and isinstance(val.fields[-1], ast.A_Star):
                expanded = self.star(val, scopes[0])
                if expanded is None:
                    return columns, False
                columns += expanded
                continue
            name = target.name
            if name is None and isinstance(val, ast.ColumnRef):
                name = getattr(val.fields[-1], "sval", None)
            columns.append((name, self.kind(val, scopes, depth + 1)))
        return columns, True

    def star(self, ref: ast.ColumnRef, scope: _Scope) -> Columns | None:
        if len(ref.fields) == 1:
            return scope.star
        qualifier = getattr(ref.fields[-2], "sval", "").lower()
        entries = [e for e in scope.entries
                   if e[0] is not None and e[0].lower() == qualifier][:1]
        if not entries:
            return None
        columns: Columns = []
        for _, entry_columns, expandable in entries:
            if entry_columns is None or not expandable:
                return None
            columns += entry_columns
        return columns

    def from_item(self, item, outer: tuple, ctes: dict, depth: int
                  ) -> tuple[list[_Entry], Columns | None]:
        """The scope entries of one FROM item and what its ``*`` expands to."""
        if depth > _DEPTH:
            return [(None, None, False)], None
        if isinstance(item, ast.RangeVar):
            entry = self.range_var(item, ctes, depth)
            return [entry], entry[1]
        if isinstance(item, ast.RangeSubselect):
            alias = item.alias
            if isinstance(item.subquery, ast.SelectStmt):
                columns, complete = self.select(item.subquery, outer, ctes, depth + 1)
            else:
                columns, complete = [], False
            columns = _renamed(columns, alias.colnames if alias else None)
            columns = columns if complete else None
            return [(alias.aliasname if alias else None, columns, complete)], columns
        if isinstance(item, ast.JoinExpr):
            left, left_star = self.from_item(item.larg, outer, ctes, depth + 1)
            right, right_star = self.from_item(item.rarg, outer, ctes, depth + 1)
            star = _joined(left_star, right_star, item)
            if item.alias is not None:
                return [(item.alias.aliasname, star, star is not None)], star
            return left + right, star
        alias = getattr(item, "alias", None)
        return [(alias.aliasname if alias is not None else None, None, False)], None

    def range_var(self, item: ast.RangeVar, ctes: dict, depth: int = 0) -> _Entry:
        ref = item.alias.aliasname if item.alias is not None else item.relname
        colnames = item.alias.colnames if item.alias is not None else None
        if item.schemaname is None and item.relname.lower() in ctes:
            columns, complete = ctes[item.relname.lower()]
            return (ref, _renamed(columns, colnames) if complete else None, complete)
        relation = self.relations.find(item.schemaname, item.relname)
        if relation is None:
            return (ref, None, False)
        if relation.view_sql is not None:
            columns = self.view(relation, depth)
        else:
            columns = list(relation.columns)
        if columns is None:
            return (ref, None, False)
        return (ref, _renamed(columns, colnames), True)

    def view(self, relation: _Relation, depth: int) -> Columns | None:
        """A view's columns: its query's kinds, each unknown one left to the catalog's
        DuckDB type (JSON: unknown, else "other")."""
        if relation.outputs is None:
            relation.outputs = []  # (a view that reads itself stops here)
            stmt = _tree(relation.view_sql)
            kinds: Columns = []
            try:
                if isinstance(stmt, ast.ViewStmt) and isinstance(stmt.query, ast.SelectStmt) \
                        and depth < _DEPTH:
                    # (kept with the catalog: what it reads must be there first)
                    self.relations.load(_relation_names(stmt.query))
                    kinds, _ = self.select(stmt.query, (), {}, depth + 1)
            except BaseException:
                relation.outputs = None
                raise
            relation.outputs = [
                (name, kinds[i][1] if i < len(kinds) and kinds[i][1] is not None
                 else None if declared in ("json", "json[]") else declared)
                for i, (name, declared) in enumerate(relation.columns)]
        return relation.outputs or None

    # expressions

    def kind(self, node, scopes: tuple, depth: int) -> Kind:
        if depth > _DEPTH or node is None:
            return None
        if isinstance(node, ast.ColumnRef):
            return self.column(node, scopes)
        if isinstance(node, ast.TypeCast):
            name = getattr(node.typeName.names[-1], "sval", "")
            if name in ("json", "jsonb"):
                return name + "[]" * bool(node.typeName.arrayBounds)
            return "other"
        if isinstance(node, ast.FuncCall):
            return self.function(node, scopes, depth)
        if isinstance(node, ast.A_Expr):
            if node.kind is A_Expr_Kind.AEXPR_NULLIF:
                return self.kind(node.lexpr, scopes, depth + 1)
            if node.kind is A_Expr_Kind.AEXPR_OP and len(node.name) == 1 \
                    and node.name[0].sval in _JSON_OPERATORS:
                left = self.kind(node.lexpr, scopes, depth + 1) if node.lexpr else "other"
                if node.name[0].sval == "||" and not _jsonish(left):
                    right = self.kind(node.rexpr, scopes, depth + 1)
                    return right if _jsonish(right) else left
                return left
            return "other"
        if isinstance(node, ast.A_ArrayExpr):
            return _array_of(self.first(node.elements, scopes, depth))
        if isinstance(node, ast.SubLink):
            if node.subLinkType not in (SubLinkType.EXPR_SUBLINK, SubLinkType.ARRAY_SUBLINK) \
                    or not isinstance(node.subselect, ast.SelectStmt):
                return "other"
            columns, _ = self.select(node.subselect, scopes, self.ctes, depth + 1)
            kind = columns[0][1] if columns else None
            return _array_of(kind) if node.subLinkType is SubLinkType.ARRAY_SUBLINK else kind
        if isinstance(node, ast.CaseExpr):
            return self.first((*(w.result for w in node.args or ()), node.defresult),
                              scopes, depth)
        if isinstance(node, (ast.CoalesceExpr, ast.MinMaxExpr)):
            return self.first(node.args, scopes, depth)
        if isinstance(node, ast.A_Indirection):
            kind = self.kind(node.arg, scopes, depth + 1)
            for step in node.indirection or ():
                if isinstance(step, ast.A_Indices) and kind is not None \
                        and kind.endswith("[]") and not step.is_slice:
                    kind = kind[:-2]
                elif not isinstance(step, ast.A_Indices):
                    return "other"
            return kind
        if isinstance(node, ast.ParamRef):
            return None
        return "other"

    def first(self, nodes, scopes: tuple, depth: int) -> Kind:
        """The first json / jsonb kind among ``nodes`` (PostgreSQL resolves the common
        type from the first non-unknown one), "other" if none is, None if unsure."""
        unsure = False
        for node in nodes or ():
            kind = self.kind(node, scopes, depth + 1)
            if _jsonish(kind):
                return kind
            unsure = unsure or kind is None
        return None if unsure else "other"

    def function(self, node: ast.FuncCall, scopes: tuple, depth: int) -> Kind:
        name = getattr(node.funcname[-1], "sval", "").lower()
        if name in _ARRAY_AGGREGATES and node.args:
            return _array_of(self.kind(node.args[0], scopes, depth + 1))
        if name == "unnest" and node.args:
            kind = self.kind(node.args[0], scopes, depth + 1)
            return kind[:-2] if kind is not None and kind.endswith("[]") else "other"
        if name in _FIRST_ARGUMENT and node.args:
            return self.first(node.args, scopes, depth)
        if name.startswith("jsonb_") or name == "to_jsonb":
            return "jsonb"
        if name.startswith("json_") or name in _JSON_FUNCTIONS:
            return "json"
        return "other"

    def column(self, ref: ast.ColumnRef, scopes: tuple) -> Kind:
        names = [getattr(f, "sval", None) for f in ref.fields]
        if None in names:
            return "other"
        column = names[-1].lower()
        for scope in scopes:
            if len(names) == 1:
                entries = scope.entries
            else:
                qualifier = names[-2].lower()
                entries = [e for e in scope.entries
                           if e[0] is not None and e[0].lower() == qualifier]
                if not entries:
                    continue
            found, unsure = [], False
            for _, columns, _ in entries:
                if columns is None:
                    unsure = True
                    continue
                found += [kind for name, kind in columns
                          if name is not None and name.lower() == column]
            if len(found) == 1 and not unsure:
                return found[0]
            if found or unsure:
                return None
        if len(names) == 1:
            return None  # a whole-row reference, or a name we could not place
        return "other"


def _joined(left: Columns | None, right: Columns | None, join: ast.JoinExpr
            ) -> Columns | None:
    """A join's ``*``: a USING / NATURAL join's common columns first (the left side's;
    their types agree), then each side's others."""
    if left is None or right is None:
        return None
    if join.usingClause:
        common = [name.sval.lower() for name in join.usingClause]
    elif join.isNatural:
        right_names = {(name or "").lower() for name, _ in right}
        common = [name.lower() for name, _ in left if name and name.lower() in right_names]
    else:
        return left + right
    merged = [next(((n, k) for n, k in left if (n or "").lower() == name), (name, None))
              for name in common]
    return merged + [(n, k) for n, k in left + right if (n or "").lower() not in common]


def _renamed(columns: Columns, colnames) -> Columns:
    """``columns`` under an alias's column names (``AS s(a, b)``)."""
    if not colnames:
        return columns
    names = [c.sval for c in colnames]
    return [(names[i] if i < len(names) else name, kind)
            for i, (name, kind) in enumerate(columns)]


def _jsonish(kind: Kind) -> bool:
    return kind is not None and kind.startswith("json")


def _array_of(kind: Kind) -> Kind:
    if kind is None:
        return None
    return kind if kind.endswith("[]") else kind + "[]"
