"""PostgreSQL's char(n) (bpchar) semantics on DuckDB's VARCHAR.

A char(n) column is a VARCHAR with a CHECK naming its declared type (sql/translate.py,
``_declared_length``). PostgreSQL ignores a bpchar's trailing blanks wherever it
compares or measures it (=, <, IN, GROUP BY, DISTINCT, ORDER BY, joins, length(), ``||``
and casts to text) and sees them padded to n only in a few places (output, LIKE and
regular expressions, octet_length, concat). DuckDB has one VARCHAR and no collation a
client could add, so the server stores char(n) values with their trailing blanks
stripped, pads them on the way out (frontend/origins.pad), and rewrites the statements
that name such a column, in PostgreSQL's text before the translation
(frontend/bpchar.py; cached per text, parameter types and catalog state):

- writes: INSERT's values (VALUES, or the SELECT's targets), UPDATE's and ON CONFLICT's
  SET: ``rtrim(x, ' ')``, through a cast to text unless x is surely a string (a string
  constant is stripped here);
- comparisons of such a column (or a cast to char(n)) with a string constant, a
  parameter PostgreSQL would type bpchar (undeclared, bpchar or varchar; not text) or a
  varchar(n) column (which PostgreSQL compares as bpchar too): the other side stripped;
- LIKE / ILIKE / SIMILAR TO / regular expressions of the column, ``octet_length``,
  ``concat`` / ``concat_ws``: the column padded, ``rpad(c, n, ' ')``;
- result columns that are char(n) (a table's, a view's, a derived table's or a CTE's
  column, min / max of one, RETURNING's): their positions, which the session sends
  blank-padded as bpchar(n) (``rewritten``).

A column is known by its relation's alias or name (``_Scope``); a bare name only within
its own query, when each relation there is a table whose columns are all known.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

from pglast import ast, parse_sql
from pglast.enums import A_Expr_Kind, SetOperation
from pglast.parser import ParseError
from pglast.stream import RawStream
from pglast.visitors import Visitor

#: table name (lower case) -> column name (lower case) -> (kind, n, attnum), kind
#: "bpchar" or "varchar" for the declared char(n) / varchar(n) columns, "other" (n 0)
#: for the rest, of the tables (and views) a statement names, as a hashable tuple (it
#: keys the cache):
#: ((table, ((column, kind, n, attnum), ...)), ...)
Declared = tuple[tuple[str, tuple[tuple[str, str, int, int], ...]], ...]

_COMPARISONS = frozenset({"=", "<>", "!=", "<", ">", "<=", ">="})
_PATTERN_OPERATORS = frozenset({"~~", "~~*", "!~~", "!~~*", "~", "~*", "!~", "!~*"})
_PATTERN_KINDS = (A_Expr_Kind.AEXPR_LIKE, A_Expr_Kind.AEXPR_ILIKE, A_Expr_Kind.AEXPR_SIMILAR)
_PADDED_FUNCTIONS = frozenset({"octet_length", "concat", "concat_ws"})
#: the parameter type PostgreSQL resolves ``bpchar_column = $n`` with as text; any
#: other (none declared, unknown, bpchar, varchar: pgjdbc's setString) compares as bpchar
_TEXT = 25


def rewrite(sql: str, declared: Declared, param_types: tuple[int, ...] = (), *,
            casts: bool = False) -> str | None:
    """``sql`` with char(n) semantics spelled out (see the module docstring), or None
    when nothing changes (or the text is not PostgreSQL's). ``casts``: the text may
    hold casts to char(n), whose comparisons and patterns are rewritten too."""
    return _rewrite(sql, declared, param_types, casts)[0]


def rewritten(sql: str, declared: Declared, param_types: tuple[int, ...] = (), *,
              casts: bool = False) -> tuple[str | None, tuple[tuple[int, int], ...]]:
    """``rewrite``'s text and the (result column, n) of the result's char(n) columns
    (``_result_chars``: sent blank-padded, as ``Translation.char_types``)."""
    return _rewrite(sql, declared, param_types, casts)


@lru_cache(maxsize=1024)
def _rewrite(sql: str, declared: Declared, param_types: tuple[int, ...],
             casts: bool) -> tuple[str | None, tuple[tuple[int, int], ...]]:
    try:
        tree = parse_sql(sql)
    except ParseError:
        return None, ()
    if len(tree) != 1:
        return None, ()
    stmt = tree[0].stmt
    tables = {name: {column: (kind, n, attnum) for column, kind, n, attnum in columns}
              for name, columns in declared}
    scope = _Scope(tables, param_types)
    scope(stmt)
    if not scope.relations and not casts:
        return None, ()
    rewriter = _Rewriter(scope, param_types)
    returning = _result_chars(stmt, scope, rewriter)
    changed = False
    if isinstance(stmt, ast.InsertStmt):
        changed |= _insert(stmt, scope)
    elif isinstance(stmt, ast.UpdateStmt):
        changed |= _assignments(stmt.targetList, scope.table(stmt.relation), scope)
    rewriter(stmt)
    if not (changed or rewriter.changed):
        return None, returning
    try:
        return RawStream()(stmt), returning
    except Exception:  # noqa: BLE001 - a printer gap: the statement runs as written
        return None, returning


def _result_chars(stmt: object, scope: _Scope, rewriter: _Rewriter
                  ) -> tuple[tuple[int, int], ...]:
    """(result column, n) for the result columns that are char(n): a SELECT's
    (``_Scope.outputs``: a derived table's, a CTE's, min / max; not a set operation's,
    whose type PostgreSQL resolves from every branch), RETURNING's; a ``*`` first
    stands for the relation's columns, after which positions are unknown."""
    if isinstance(stmt, ast.SelectStmt):
        if stmt.op != SetOperation.SETOP_NONE:
            return ()
        return tuple(sorted((position - 1, n) for _name, kind, n, position
                            in scope.outputs(stmt) if kind == "bpchar" and position))
    if not isinstance(stmt, (ast.InsertStmt, ast.UpdateStmt, ast.DeleteStmt)) \
            or not stmt.returningList:
        return ()
    found = []
    for index, target in enumerate(stmt.returningList):
        value = target.val
        if isinstance(value, ast.ColumnRef) and isinstance(value.fields[-1], ast.A_Star):
            table = scope.table(stmt.relation)
            if index == 0 and len(value.fields) == 1 and table is not None:
                found += [(attnum - 1, n) for kind, n, attnum in table.values()
                          if kind == "bpchar"]
            break
        n = rewriter._char(value)
        if n is not None:
            found.append((index, n))
    return tuple(sorted(found))


class _Scope:
    """The declared columns of the relations a statement names: alias or name -> the
    columns' (kind, n, position): a table's (position: its column number), a derived
    table's or a CTE's that come from such columns or casts (position in its select
    list, 0 where a ``*`` makes it unknown). A CTE's name shadows a table's."""

    def __init__(self, tables: Mapping[str, Mapping[str, tuple[str, int, int]]],
                 param_types: tuple[int, ...] = ()) -> None:
        self.tables = tables
        self.param_types = param_types
        self.relations: dict[str, Mapping[str, tuple[str, int, int]]] = {}
        self.ctes: dict[str, object] = {}
        self._derived: list[tuple[str, object]] = []
        #: id(ColumnRef) -> the query (SELECT, UPDATE, DELETE, INSERT) it is in
        self.owners: dict[int, object] = {}

    def __call__(self, node: object) -> None:
        survey = _Survey(self.ctes, self.owners)
        survey(node)  # one pass: a CTE may follow the FROM that names it
        for item in survey.relations:
            if isinstance(item, ast.RangeVar):
                self._range_var(item)
            elif item.alias is not None:
                self._derived.append((item.alias.aliasname.lower(), item.subquery))
        # inner queries were found after the outer ones that hold them: resolve them
        # first, so that an outer one sees their columns
        for alias, query in reversed(self._derived):
            columns = {name: (kind, n, position)
                       for name, kind, n, position in self.outputs(query)}
            if columns:
                self.relations[alias] = columns

    def _range_var(self, node: ast.RangeVar) -> None:
        alias = (node.alias.aliasname if node.alias is not None else node.relname).lower()
        if node.schemaname is None and node.relname.lower() in self.ctes:
            self._derived.append((alias, self.ctes[node.relname.lower()]))
            return
        table = self.table(node)
        if table is not None:
            self.relations[alias] = table

    def table(self, node: ast.RangeVar | None) -> Mapping[str, tuple[str, int, int]] | None:
        if node is None or node.schemaname is None and node.relname.lower() in self.ctes:
            return None
        return self.tables.get(node.relname.lower())

    def column(self, node: object) -> tuple[str, int, int] | None:
        """(kind, n, position) of the declared column a ColumnRef names, if it is one."""
        if not isinstance(node, ast.ColumnRef) or not node.fields \
                or not all(isinstance(f, ast.String) for f in node.fields):
            return None
        names = [f.sval.lower() for f in node.fields]
        if len(names) > 1:
            table = self.relations.get(names[-2])
            return None if table is None else table.get(names[-1])
        # a bare name: the column of the one relation of its own query's FROM that has
        # it, when each of them is a table whose columns are all known (any other might
        # have a column so named; a name none has belongs to an outer query)
        tables = self._local(self.owners.get(id(node)))
        found = [table[names[0]] for table in tables or () if names[0] in table]
        return found[0] if len(found) == 1 else None

    def _local(self, query: object) -> list[Mapping[str, tuple[str, int, int]]] | None:
        """The tables ``query``'s FROM (an UPDATE's and DELETE's target and FROM /
        USING, an INSERT's target) names, None if any item is something else."""
        if isinstance(query, ast.SelectStmt):
            items = list(query.fromClause or ())
        elif isinstance(query, ast.UpdateStmt):
            items = [query.relation, *(query.fromClause or ())]
        elif isinstance(query, ast.DeleteStmt):
            items = [query.relation, *(query.usingClause or ())]
        elif isinstance(query, ast.InsertStmt):
            items = [query.relation]
        else:
            return None
        tables = []
        while items:
            item = items.pop()
            if isinstance(item, ast.JoinExpr):
                items += [item.larg, item.rarg]
                continue
            table = self.table(item) if isinstance(item, ast.RangeVar) else None
            if table is None:
                return None
            tables.append(table)
        return tables

    def declared(self, node: object) -> tuple[str, int] | None:
        """(kind, n) of an expression that is a declared column, a cast to char(n), or
        min / max of a char(n) one (PostgreSQL's bpchar aggregates, windowed or not)."""
        if isinstance(node, ast.TypeCast):
            n = char_cast(node)
            return None if n is None else ("bpchar", n)
        if isinstance(node, ast.FuncCall) and len(node.funcname) == 1 \
                and isinstance(node.funcname[0], ast.String) \
                and node.funcname[0].sval.lower() in ("min", "max") \
                and node.args and len(node.args) == 1:
            found = self.declared(node.args[0])
            return found if found is not None and found[0] == "bpchar" else None
        column = self.column(node)
        return None if column is None else column[:2]

    def outputs(self, query: object) -> list[tuple[str, str, int, int]]:
        """(name, kind, n, position) of a query's result columns that are declared
        columns (``declared``); position 1-based, 0 when unknown (after a ``*`` that is
        not the first item)."""
        while isinstance(query, ast.SelectStmt) and query.larg is not None:
            query = query.larg
        if not isinstance(query, ast.SelectStmt) or not query.targetList:
            return []
        found = []
        position: int | None = 0  # of the last item, while known
        for target in query.targetList:
            value = target.val
            if isinstance(value, ast.ColumnRef) and isinstance(value.fields[-1], ast.A_Star):
                first = position == 0
                for name, (kind, n, at) in (self._star(value, query) or {}).items():
                    found.append((name, kind, n, at if first else 0))
                position = None  # unknown from here on
                continue
            if position is not None:
                position += 1
            declared = self.declared(value)
            if declared is None:
                continue
            name = target.name or (value.fields[-1].sval
                                   if isinstance(value, ast.ColumnRef) else "bpchar")
            found.append((name.lower(), *declared, position or 0))
        return found

    def _star(self, star: ast.ColumnRef, query: ast.SelectStmt
              ) -> Mapping[str, tuple[str, int, int]] | None:
        if len(star.fields) == 2 and isinstance(star.fields[0], ast.String):
            return self.relations.get(star.fields[0].sval.lower())
        items = query.fromClause or ()
        if len(items) != 1:
            return None
        item = items[0]
        if isinstance(item, ast.RangeVar):
            alias = item.alias.aliasname if item.alias is not None else item.relname
        elif isinstance(item, ast.RangeSubselect) and item.alias is not None:
            alias = item.alias.aliasname
        else:
            return None
        return self.relations.get(alias.lower())


class _Survey(Visitor):
    """One pass over a statement: its CTEs (name -> query), the query each ColumnRef is
    in (id -> SELECT, UPDATE, DELETE or INSERT), its RangeVars and RangeSubselects in
    the order met (outer queries first)."""

    def __init__(self, ctes: dict[str, object], owners: dict[int, object]) -> None:
        super().__init__()
        self.ctes, self.owners = ctes, owners
        self.relations: list[ast.RangeVar | ast.RangeSubselect] = []

    def visit_CommonTableExpr(self, _ancestors, node: ast.CommonTableExpr) -> None:
        self.ctes[node.ctename.lower()] = node.ctequery

    def visit_RangeVar(self, _ancestors, node: ast.RangeVar) -> None:
        self.relations.append(node)

    def visit_RangeSubselect(self, _ancestors, node: ast.RangeSubselect) -> None:
        self.relations.append(node)

    def visit_ColumnRef(self, ancestors, node: ast.ColumnRef) -> None:
        i = 0
        while (above := ancestors[i]) is not None:
            if isinstance(above, (ast.SelectStmt, ast.UpdateStmt, ast.DeleteStmt,
                                  ast.InsertStmt)):
                self.owners[id(node)] = above
                return
            i += 1


def char_cast(node: ast.TypeCast) -> int | None:
    """n for a cast to char(n) / character(n) / bpchar(n), else None."""
    type_name = node.typeName
    if type_name is None or type_name.arrayBounds or not type_name.typmods \
            or len(type_name.typmods) != 1:
        return None
    names = [n.sval for n in type_name.names if isinstance(n, ast.String)]
    if names not in (["bpchar"], ["pg_catalog", "bpchar"]):
        return None
    (length,) = type_name.typmods
    if isinstance(length, ast.A_Const) and isinstance(length.val, ast.Integer):
        return length.val.ival
    return None


def _stripped(node: object, scope: _Scope | None = None) -> object:
    """A value as a char(n) column stores it: trailing blanks stripped."""
    if isinstance(node, ast.A_Const):
        if isinstance(node.val, ast.String):
            return ast.A_Const(val=ast.String(sval=node.val.sval.rstrip(" ")))
        if node.isnull:
            return node
    if isinstance(node, ast.SetToDefault):
        return node
    if isinstance(node, ast.ParamRef) and _undeclared(node, scope):
        return _rtrim(_as_bpchar(node))
    if strings(node, scope):
        return _rtrim(node)
    # any other type is cast (PostgreSQL's assignment to char(n) takes any type's text;
    # DuckDB's rtrim only VARCHAR): a cast to text costs the as_text macro, ~0.1 s a 1M rows
    return _rtrim(ast.TypeCast(arg=node, typeName=ast.TypeName(
        names=(ast.String(sval="text"),), typemod=-1)))


#: functions whose value is text whatever their arguments
_STRING_FUNCTIONS = frozenset({
    "upper", "lower", "initcap", "concat", "concat_ws", "substr", "substring", "left",
    "right", "btrim", "ltrim", "rtrim", "lpad", "rpad", "replace", "repeat", "md5",
    "format", "translate", "reverse", "split_part", "to_char", "chr", "string_agg"})
_STRING_TYPES = frozenset({"text", "varchar", "bpchar", "char", "character"})
#: parameter types whose value is a string (0: none declared; 705: unknown)
_STRING_PARAMS = frozenset({0, 25, 705, 1042, 1043})


def strings(node: object, scope: _Scope | None = None) -> bool:
    """Whether ``node``'s value is certainly a string (DuckDB's rtrim takes it as is)."""
    if isinstance(node, ast.A_Const):
        return isinstance(node.val, ast.String)
    if isinstance(node, ast.ParamRef):
        types = scope.param_types if scope is not None else ()
        return (types[node.number - 1] if node.number <= len(types) else 0) in _STRING_PARAMS
    if isinstance(node, ast.A_Expr):
        return node.kind == A_Expr_Kind.AEXPR_OP and len(node.name) == 1 \
            and node.name[0].sval == "||" \
            and (strings(node.lexpr, scope) or strings(node.rexpr, scope))
    if isinstance(node, ast.TypeCast):
        names = [n.sval for n in node.typeName.names if isinstance(n, ast.String)]
        return not node.typeName.arrayBounds and names[-1:] and names[-1] in _STRING_TYPES
    if isinstance(node, ast.FuncCall):
        return len(node.funcname) == 1 and isinstance(node.funcname[0], ast.String) \
            and node.funcname[0].sval.lower() in _STRING_FUNCTIONS
    if isinstance(node, ast.ColumnRef) and scope is not None:
        column = scope.column(node)  # a declared varchar(n) / char(n) column
        return column is not None and column[0] in ("bpchar", "varchar")
    return False


def _undeclared(node: ast.ParamRef, scope: _Scope | None) -> bool:
    types = scope.param_types if scope is not None else ()
    return (types[node.number - 1] if node.number <= len(types) else 0) in (0, 705)


def _as_bpchar(node: ast.ParamRef) -> ast.TypeCast:
    """``$n::bpchar``: PostgreSQL types a parameter compared with (or assigned to) a
    char(n) column bpchar, and the translation announces the cast's type (1042)."""
    return ast.TypeCast(arg=node, typeName=ast.TypeName(names=(ast.String(sval="bpchar"),),
                                                        typemod=-1))


def _rtrim(node: object) -> ast.FuncCall:
    return ast.FuncCall(funcname=(ast.String(sval="rtrim"),),
                        args=(node, ast.A_Const(val=ast.String(sval=" "))))


def _padded(node: object, n: int) -> ast.FuncCall:
    return ast.FuncCall(funcname=(ast.String(sval="rpad"),),
                        args=(node, ast.A_Const(val=ast.Integer(ival=n)),
                              ast.A_Const(val=ast.String(sval=" "))))


def _insert(stmt: ast.InsertStmt, scope: _Scope) -> bool:
    """INSERT's values for char(n) columns stripped, ON CONFLICT's SET too."""
    table = scope.table(stmt.relation)
    if table is None:
        return False
    changed = False
    scope.relations.setdefault("excluded", table)  # the row an upsert proposed
    if stmt.onConflictClause is not None and stmt.onConflictClause.targetList:
        changed |= _assignments(stmt.onConflictClause.targetList, table, scope)
    chars = {attnum: column for column, (kind, _n, attnum) in table.items()
             if kind == "bpchar"}
    if not chars:
        return changed
    if stmt.cols:
        names = [target.name.lower() for target in stmt.cols]
        positions = [i for i, name in enumerate(names)
                     if table.get(name, ("",))[0] == "bpchar"]
    else:
        positions = [attnum - 1 for attnum in sorted(chars)]
    select = stmt.selectStmt
    if not positions or not isinstance(select, ast.SelectStmt):
        return changed
    if select.valuesLists:
        rows = []
        for row in select.valuesLists:
            row = list(row)
            for i in positions:
                if i < len(row):
                    row[i] = _stripped(row[i], scope)
            rows.append(tuple(row))
        select.valuesLists = tuple(rows)
        return True
    if select.op == SetOperation.SETOP_NONE and select.targetList \
            and not any(isinstance(t.val, ast.ColumnRef)
                        and isinstance(t.val.fields[-1], ast.A_Star)
                        for t in select.targetList):
        targets = list(select.targetList)
        for i in positions:
            if i < len(targets):
                target = targets[i]
                targets[i] = ast.ResTarget(name=target.name, val=_stripped(target.val, scope))
        select.targetList = tuple(targets)
        return True
    if stmt.cols:  # a set operation or a *: its columns, named, stripped around it
        names = [f"bpchar_{i + 1}" for i in range(len(stmt.cols))]
        targets = tuple(
            ast.ResTarget(val=(_stripped if i in positions else _same)(
                ast.ColumnRef(fields=(ast.String(sval=name),))))
            for i, name in enumerate(names))
        stmt.selectStmt = ast.SelectStmt(
            targetList=targets,
            fromClause=(ast.RangeSubselect(
                subquery=select, alias=ast.Alias(
                    aliasname="bpchar_values",
                    colnames=tuple(ast.String(sval=name) for name in names))),),
            op=SetOperation.SETOP_NONE)
        return True
    return changed


def _same(node: object) -> object:
    return node


def _assignments(targets: tuple | None, table: Mapping[str, tuple[str, int, int]] | None,
                 scope: _Scope) -> bool:
    """SET c = x for a char(n) column c: x stripped."""
    if not targets or table is None:
        return False
    changed = False
    for target in targets:
        if isinstance(target, ast.ResTarget) and target.name and not target.indirection \
                and table.get(target.name.lower(), ("",))[0] == "bpchar" \
                and not isinstance(target.val, ast.MultiAssignRef):
            target.val = _stripped(target.val, scope)
            changed = True
    return changed


class _Rewriter(Visitor):
    """Comparisons, patterns and padded functions of char(n) columns (module doc)."""

    def __init__(self, scope: _Scope, param_types: tuple[int, ...]) -> None:
        super().__init__()
        self.scope = scope
        self.param_types = param_types
        self.changed = False
        self._done: set[int] = set()

    def _char(self, node: object) -> int | None:
        """n for a char(n) column or a cast to char(n), else None."""
        if isinstance(node, ast.TypeCast):
            return char_cast(node)
        column = self.scope.column(node)
        return column[1] if column is not None and column[0] == "bpchar" else None

    def _compared(self, node: object) -> object | None:
        """The other side of a comparison with a char(n) column, as PostgreSQL compares
        it (stripped), or None to leave it."""
        if isinstance(node, ast.A_Const) and isinstance(node.val, ast.String):
            text = node.val.sval
            return None if text == text.rstrip(" ") else \
                ast.A_Const(val=ast.String(sval=text.rstrip(" ")))
        if isinstance(node, ast.ParamRef):
            declared = self.param_types[node.number - 1] \
                if node.number <= len(self.param_types) else 0
            if declared == _TEXT:
                return None
            return _rtrim(_as_bpchar(node) if declared in (0, 705) else node)
        column = self.scope.column(node)
        if column is not None and column[0] == "varchar":
            return _rtrim(node)
        return None

    def visit_A_Expr(self, _ancestors, node: ast.A_Expr) -> None:
        if id(node) in self._done:
            return
        self._done.add(id(node))
        name = node.name[-1].sval if node.name and isinstance(node.name[-1], ast.String) \
            else None
        if node.kind in _PATTERN_KINDS or node.kind == A_Expr_Kind.AEXPR_OP \
                and name in _PATTERN_OPERATORS:
            n = self._char(node.lexpr)
            if n is not None:
                node.lexpr = _padded(node.lexpr, n)
                self.changed = True
            return
        if node.kind == A_Expr_Kind.AEXPR_OP and name in _COMPARISONS:
            for mine, other in (("lexpr", "rexpr"), ("rexpr", "lexpr")):
                if self._char(getattr(node, mine)) is not None:
                    replaced = self._compared(getattr(node, other))
                    if replaced is not None:
                        setattr(node, other, replaced)
                        self.changed = True
                    return
            return
        if node.kind in (A_Expr_Kind.AEXPR_IN, A_Expr_Kind.AEXPR_BETWEEN,
                         A_Expr_Kind.AEXPR_NOT_BETWEEN) \
                and self._char(node.lexpr) is not None and isinstance(node.rexpr, tuple):
            items = [self._compared(item) for item in node.rexpr]
            if any(item is not None for item in items):
                node.rexpr = tuple(item if item is not None else old
                                   for item, old in zip(items, node.rexpr))
                self.changed = True

    def visit_FuncCall(self, _ancestors, node: ast.FuncCall) -> None:
        if id(node) in self._done or not node.args or len(node.funcname) > 2 \
                or not isinstance(node.funcname[-1], ast.String) \
                or node.funcname[-1].sval.lower() not in _PADDED_FUNCTIONS:
            return
        self._done.add(id(node))
        args = list(node.args)
        for i, arg in enumerate(args):
            n = self._char(arg)
            if n is not None:
                args[i] = _padded(arg, n)
                self._done.add(id(args[i]))
                self.changed = True
        node.args = tuple(args)


def view_columns(sql: str, declared: Declared) -> tuple[tuple[str, str, int, int], ...]:
    """(column, kind, n, position) of a view's declared columns, from its definition
    (``CREATE VIEW v AS SELECT ...`` as DuckDB keeps it): those that are a declared
    column of the relations it reads (``_Scope.outputs``), so that a statement reading
    the view compares and sends them as PostgreSQL's view would. Empty when the text is
    not PostgreSQL's."""
    try:
        tree = parse_sql(sql)
    except ParseError:
        return ()
    if len(tree) != 1 or not isinstance(tree[0].stmt, ast.ViewStmt):
        return ()
    view = tree[0].stmt
    tables = {name: {column: (kind, n, attnum) for column, kind, n, attnum in columns}
              for name, columns in declared}
    scope = _Scope(tables)
    scope(view.query)
    names = [a.sval.lower() for a in view.aliases or () if isinstance(a, ast.String)]
    found = []
    for name, kind, n, position in scope.outputs(view.query):
        if position and position <= len(names):
            name = names[position - 1]
        found.append((name, kind, n, position))
    return tuple(sorted(found))
