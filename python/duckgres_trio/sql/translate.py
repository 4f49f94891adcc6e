"""PostgreSQL SQL in, SQL that DuckDB runs with PostgreSQL's meaning out.

Three tiers, cheapest first:

1. Fast path: the lexer's tokens show nothing PostgreSQL-specific (no catalog name, no
   PostgreSQL-only type, operator or clause, and a select list of plain columns), so the
   text goes to DuckDB untouched. Most OLTP statements (pgbench's) stop here.
2. PostgreSQL's own parser (libpg_query through pglast) builds the tree; the rewrites
   below change only what DuckDB reads differently; the tree is printed back. DuckDB's
   parser descends from PostgreSQL's, so the printed text keeps the statement's meaning.
   If no rewrite applies, the original text is kept.
3. Text the PostgreSQL parser rejects is DuckDB's own dialect (FROM-first, QUALIFY,
   PIVOT, SUMMARIZE, ...): it goes to DuckDB untouched, and DuckDB reports real errors.

Why pglast and not sqlglot: measured on the client corpus (docs/architecture.md, *SQL
translation*; ci/bench/translate.py), pglast parses every statement PostgreSQL does, in
about half of sqlglot's time, and never rewrites what we did not ask it to (sqlglot
silently changed casts, E'' strings and json paths). Translations are cached with the
statement split (``statements``).
"""

from __future__ import annotations

import copy
import decimal

import re
from dataclasses import dataclass, replace

import pglast.keywords
import pglast.stream
from pglast import ast, parse_sql
from pglast.enums import (A_Expr_Kind, BoolExprType, CoercionForm, ConstrType, MinMaxOp,
                          NullTestType, ObjectType, SQLValueFunctionOp, SubLinkType)
from pglast.parser import ParseError
from pglast.stream import RawStream
from pglast.visitors import Visitor

from duckgres_trio.engine import pg_catalog as catalog
from duckgres_trio.errors import PgError, SqlState
from duckgres_trio.sql.column_sources import pg_typeof_sources
from duckgres_trio.sql.jsonb_alter import alter_comments, create_comments, is_jsonb, replayable
from duckgres_trio.sql import foreign_keys, lake_ddl, settings
from duckgres_trio.sql.lexer import Kind, Token, tokenize
from duckgres_trio.wire import records, unbounded
from duckgres_trio.wire.params import NUMERIC as NUMERIC_OID
from duckgres_trio.wire.params import array_literal, decode_param, parse_interval_text


#: Words DuckDB's grammar reserves (reserved, type/function or column-name keywords)
#: that PostgreSQL's does not: printed back unquoted, ``at`` or ``map`` as a column name
#: would not parse in DuckDB. tests/test_translate.py holds this equal to DuckDB's
#: duckdb_keywords().
DUCKDB_ONLY_KEYWORDS = frozenset(
    {"anti", "asof", "at", "by", "columns", "describe", "generated", "glob", "grouping_id",
     "lambda", "map", "pivot", "pivot_longer", "pivot_wider", "positional", "qualify",
     "semi", "show", "struct", "summarize", "try_cast", "unpack", "unpivot"})
#: DuckDB's keywords that are not PostgreSQL's (pglast's lists): with PostgreSQL's, the
#: words DuckDB refuses as a bare column label (``select 1 value``), which PostgreSQL
#: takes. tests/test_like_and_keywords.py holds this equal to duckdb_keywords().
DUCKDB_EXTRA_KEYWORDS = frozenset(
    {"anti", "asof", "centuries", "century", "days", "decade", "decades", "describe",
     "export", "export_state", "extensions", "glob", "grouping_id", "hours", "ignore",
     "install", "lambda", "macro", "map", "microsecond", "microseconds", "millennia",
     "millennium", "millisecond", "milliseconds", "minutes", "months", "partitioned",
     "percent", "persistent", "pivot", "pivot_longer", "pivot_wider", "positional", "pragma",
     "qualify", "quarter", "quarters", "respect", "sample", "scope", "seconds", "secret",
     "semi", "sorted", "struct", "summarize", "try_cast", "unpack", "unpivot", "use",
     "variable", "virtual", "week", "weeks", "years"})
_LABEL_KEYWORDS = (pglast.keywords.RESERVED_KEYWORDS | pglast.keywords.TYPE_FUNC_NAME_KEYWORDS
                   | pglast.keywords.COL_NAME_KEYWORDS | pglast.keywords.UNRESERVED_KEYWORDS
                   | DUCKDB_EXTRA_KEYWORDS)
# pglast quotes a name that is one of these sets when it prints it; DuckDB's extra
# keywords join the set of reserved ones so the printed text parses in DuckDB.
pglast.stream.RESERVED_KEYWORDS = pglast.stream.RESERVED_KEYWORDS | DUCKDB_ONLY_KEYWORDS


@dataclass(frozen=True, slots=True)
class Translation:
    """``sql`` for DuckDB, after running each of ``setup`` (statements the rewrite
    needs first, such as the sequence behind a SERIAL column). ``param_types``: (n, OID)
    for each ``$n`` cast to a type whose OID DuckDB's inference would not give
    (``$1::oid[]`` is oid[] to PostgreSQL, a uint32 list, int8[], to DuckDB).
    ``activity``: the statement reads pg_stat_activity or pg_prepared_statements,
    which the session publishes first (frontend/activity.py, frontend/statements.py). ``signals``: (result column, "cancel" | "terminate" |
    "set_config" | "notify") for each select-list pg_cancel_backend /
    pg_terminate_backend / set_config / pg_notify, which the session carries out with
    what the column holds. ``json_types``: (result column, "json" | "jsonb" |
    "column:<name>" | "param:<n>") for select-list expressions whose JSON type the
    text decides (``_json_types``): DuckDB's JSON is both, the session announces these
    as told, "column:<name>" as jsonb when a column of that name is declared jsonb,
    "param:<n>" when parameter n is. ``char_types``: (result column, n) for each
    select-list cast to char(n), which the session announces as bpchar(n) and sends
    blank-padded (``_char_types``)."""

    sql: str
    setup: tuple[str, ...] = ()
    param_types: tuple[tuple[int, int], ...] = ()
    activity: bool = False
    signals: tuple[tuple[int, str], ...] = ()
    json_types: tuple[tuple[int, str], ...] = ()
    char_types: tuple[tuple[int, int], ...] = ()
    #: WARNINGs to send the client: what DuckLake storage dropped (``sql.lake_ddl``)
    notices: tuple[str, ...] = ()


# -- tier 1: the fast path ----------------------------------------------------------------

#: Words that make a statement worth parsing (upper case, as the lexer gives them).
_TRIGGER_WORDS = frozenset(
    {"PG_CATALOG", "INFORMATION_SCHEMA", "PUBLIC", "OPERATOR", "COLLATE", "SIMILAR",
     "INDKEY", "INDOPTION", "INDCLASS", "INDCOLLATION", "PROARGTYPES",
     "GENERATE_SERIES", "GENERATE_SUBSCRIPTS", "UNNEST",
     "SERIAL", "BIGSERIAL", "SMALLSERIAL", "SERIAL4", "SERIAL8", "SERIAL2", "JSONB",
     "REGCLASS", "REGTYPE", "REGPROC", "REGPROCEDURE", "REGNAMESPACE", "REGROLE",
     "REGOPER", "REGOPERATOR", "REGCONFIG", "OIDVECTOR", "INT2VECTOR",
     "FILLFACTOR", "TABLESPACE", "REFERENCES", "CURRENT_USER", "SESSION_USER", "USER",
     "CURRENT_ROLE", "CURRENT_CATALOG", "NOWAIT", "LOCKED",
     "PG_STAT_ACTIVITY", "PG_CANCEL_BACKEND", "PG_TERMINATE_BACKEND", "PG_NOTIFY",
     "PG_PREPARED_STATEMENTS",
     # DuckDB has a pg_typeof of its own (its type's name, as text)
     "PG_TYPEOF",
     # format() with a PostgreSQL template: DuckDB's format() reads {} placeholders
     "FORMAT"}
    | {word.upper() for word in DUCKDB_ONLY_KEYWORDS if word != "by"}
    | {name.upper() for name in catalog.RELATIONS}
    | {name.upper() for name in catalog.FUNCTIONS}
)
#: Functions with a bytea form DuckDB lacks (catalog.BYTEA_FUNCTIONS) and bytea's
#: formats: worth parsing for, except in DDL (a CHECK keeps the text it was given).
_BYTEA_WORDS = frozenset({name.upper() for name in catalog.BYTEA_FUNCTIONS}
                         | {"TRIM", "ENCODE", "DECODE"})
#: Type names that are also common column names: they count only where a type stands.
#: The character types are here for their length (a cast cuts to it, a column keeps
#: it: ``_Rewriter._declared_length``), the time types for their precision.
_TYPE_WORDS = frozenset({"NAME", "XID", "XID8", "CID", "TID", "OID", "INET", "CIDR",
                         "NUMERIC", "DECIMAL", "DEC",
                         "MACADDR", "MONEY", "TSVECTOR", "TSQUERY",
                         "VARCHAR", "CHAR", "CHARACTER", "BPCHAR", "NCHAR",
                         "TIME", "TIMETZ", "TIMESTAMPTZ"})
_ARITHMETIC = frozenset({"+", "-", "*", "/", "%"})
# -> too: json's or jsonb's, which its operand decides (_json_types)
_TRIGGER_OPERATORS = frozenset({"~", "~*", "!~", "!~*", "@>", "<@", "?", "?|", "?&", "#>", "#>>",
                                "/", "%", "||", "->"})
_SELECT_END = frozenset(
    {"FROM", "WHERE", "GROUP", "HAVING", "WINDOW", "ORDER", "LIMIT", "OFFSET", "UNION",
     "INTERSECT", "EXCEPT", "FETCH", "FOR", "INTO", "QUALIFY"})


def needs_translation(tokens: list[Token]) -> bool:
    """False when the statement can go to DuckDB as it is (the cheap token check)."""
    first = tokens[0].value if tokens[0].kind is Kind.WORD else ""
    if first in ("WITH", "VALUES") or (
            first in ("CREATE", "ALTER", "VACUUM", "ANALYZE") and lake_ddl.active()):
        return True
    if first == "ALTER" and any(t.kind is Kind.WORD and t.value == "JSON" for t in tokens):
        return True  # TYPE json clears a jsonb column's mark (sql/jsonb_alter.py)
    if first not in ("CREATE", "ALTER") \
            and any(t.kind is Kind.WORD and t.value in _BYTEA_WORDS for t in tokens):
        return True
    previous = None
    for i, token in enumerate(tokens):
        if token.kind is Kind.WORD and token.value in _TRIGGER_WORDS:
            return True
        if token.value in _LIKE_OR_BY and token.kind is not Kind.QUOTED_IDENT:
            if token.value != "BY":
                if not _plain_pattern(tokens[i + 1:i + 3]):
                    return True
            elif previous is not None and previous.value not in _BEFORE_BY:
                return True  # "by" as a name, which DuckDB reserves
        if token.kind is Kind.WORD and token.value in _TYPE_WORDS and previous is not None \
                and (previous.value in ("::", "AS") or first in ("CREATE", "ALTER")):
            return True  # a type DuckDB lacks (a column may well be named tid or name)
        if previous is not None and previous.value == "FOR" \
                and token.value in ("UPDATE", "SHARE", "NO", "KEY"):
            return True  # a locking clause
        previous = token
        if token.kind is Kind.PUNCT and token.value in _TRIGGER_OPERATORS:
            return True
        if token.kind is Kind.QUOTED_IDENT and token.value == "char":
            return True
        if token.kind is Kind.STRING and token.value[1:].lstrip()[:1] in ("{", "[", "("):
            return True  # perhaps an array or record literal, which DuckDB reads otherwise
        if token.kind is Kind.STRING and token.value[1:3] in ("\\x", "\\X") \
                and first not in ("CREATE", "ALTER"):
            return True  # perhaps bytea's hex format, which DuckDB reads per escape
        if token.value == "[" and token.kind is Kind.PUNCT and i >= 2 \
                and tokens[i - 1].kind is Kind.WORD and tokens[i - 2].value in ("::", "AS"):
            return True  # a cast to an array type: its text is PostgreSQL's
        if token.kind is Kind.WORD and token.value in ("TEXT", "VARCHAR") \
                and i >= 1 and tokens[i - 1].value in ("::", "AS"):
            return True  # a cast to text, of an array perhaps
        if token.kind is Kind.STRING and i + 2 < len(tokens) and tokens[i + 1].value == "::" \
                and tokens[i + 2].kind in (Kind.WORD, Kind.QUOTED_IDENT) \
                and tokens[i + 2].value.lower() not in _NOT_COMPOSITE:
            return True  # perhaps a record literal of a composite type: '(1,x)'::t
        if token.value in _ROW_COMPARISONS and 0 < i < len(tokens) - 1 \
                and tokens[i - 1].value == ")" and tokens[i + 1].value in ("(", "ROW"):
            return True  # perhaps ROW(..) = ROW(..), compared field by field
        if token.kind is Kind.WORD and (token.value == "NULL" and i >= 1 and (
                tokens[i - 1].value == "IS" or tokens[i - 1].value == "NOT" and i >= 2
                and tokens[i - 2].value == "IS") or token.value in ("ISNULL", "NOTNULL")) \
                and first not in ("CREATE", "ALTER"):
            return True  # IS [NOT] NULL, of a row value perhaps (_Rewriter.visit_NullTest)
        if token.kind is Kind.PARAM and i >= 2 and tokens[i - 1].value == "(" \
                and tokens[i - 2].value in ("ANY", "ALL"):
            return True  # x = ANY($1), which DuckDB cannot unnest
    if _integer_beside_parameter(tokens):
        return True
    if any(t.kind is Kind.WORD and t.value in ("INTERVAL", "ZONE", "TIMEZONE") for t in tokens) \
            and any(t.kind is Kind.STRING for t in tokens):
        return True  # an interval literal or AT TIME ZONE 'zone', in PostgreSQL's reading
    if first == "DROP" and len(tokens) > 1 and tokens[1].value == "TYPE":
        return True  # perhaps a composite type, whose fields' view goes too
    if first in ("DROP", "TRUNCATE"):
        return any(t.kind is Kind.PUNCT and t.value == "," for t in tokens)
    if first == "CREATE":
        if len(tokens) > 1 and tokens[1].value == "TYPE" and any(
                t.value == "AS" and n.value == "(" for t, n in zip(tokens, tokens[1:])):
            return True  # a composite type: DuckDB's STRUCT
        return any(t.kind is Kind.WORD and t.value == "WITH" for t in tokens)
    if first == "SELECT" or "RETURNING" in (t.value for t in tokens if t.kind is Kind.WORD):
        return not _plain_targets(tokens)
    return False


#: The words PostgreSQL's grammar puts before BY: anywhere else, "by" is a name.
_BEFORE_BY = frozenset({"ORDER", "GROUP", "PARTITION", "INCREMENT", "OWNED", "FIRST",
                        "GENERATED"})
#: LIKE and its operators (PostgreSQL's pattern has an escape character, DuckDB's not),
#: and BY (a name unless a clause's): one lookup per token on the fast path.
_LIKE_OR_BY = frozenset({"LIKE", "ILIKE", "~~", "!~~", "~~*", "!~~*", "BY"})


def _plain_pattern(following: list[Token]) -> bool:
    """The tokens after LIKE are a string constant meaning the same to DuckDB: no
    backslash (nor a Unicode escape that could make one), no ESCAPE clause."""
    if not following or following[0].kind is not Kind.STRING:
        return False
    text = following[0].value
    if "\\" in text or text[:1] in "Uu":
        return False
    return len(following) < 2 or following[1].value != "ESCAPE"


def _plain_targets(tokens: list[Token]) -> bool:
    """Every SELECT / RETURNING list item is a column, a star, or carries an alias, so
    DuckDB names the result columns as PostgreSQL does."""
    depth = 0
    item: list[Token] = []
    inside = False
    for token in tokens:
        if token.kind is Kind.PUNCT:
            depth += token.value.count("(") - token.value.count(")")
        if depth < 0:
            return False
        word = token.value if token.kind is Kind.WORD else None
        if not inside:
            if word in ("SELECT", "RETURNING") and depth == 0:
                inside, item = True, []
            continue
        if depth == 0 and (word in _SELECT_END or token.kind is Kind.PUNCT and token.value == ","):
            if not _plain_item(item):
                return False
            item = []
            inside = word is None  # a comma continues the list, a keyword ends it
            continue
        if depth == 0 and word in ("DISTINCT", "ALL") and not item:
            continue
        item.append(token)
    return not inside or _plain_item(item)


def _integer_beside_parameter(tokens: list[Token]) -> bool:
    """An integer literal operand of + - * / % in a statement with parameters
    (``$1 + 1``), which _int4_beside_parameter types as PostgreSQL does."""
    if not any(t.kind is Kind.PARAM for t in tokens):
        return False
    for i, token in enumerate(tokens):
        if token.kind is Kind.PUNCT and token.value in _ARITHMETIC:
            for j in (i - 1, i + 1):
                if 0 <= j < len(tokens) and tokens[j].kind is Kind.NUMBER \
                        and tokens[j].value.isdigit():
                    return True
    return False


def _int4_beside_parameter(node: ast.A_Expr) -> bool:
    """``$1 + 1``: PostgreSQL's integer literal is int4, so an int2 parameter plus 1 is
    int4 (32767 + 1 is 32768); DuckDB's takes the other operand's type (smallint, and
    overflows). The literal beside a parameter (perhaps cast) becomes an explicit
    INTEGER. True when it changed ``node``."""
    def parameter(expr: object) -> bool:
        return isinstance(expr.arg if isinstance(expr, ast.TypeCast) else expr, ast.ParamRef)

    changed = False
    for mine, other in (("lexpr", node.rexpr), ("rexpr", node.lexpr)):
        literal = getattr(node, mine)
        if isinstance(literal, ast.A_Const) and isinstance(literal.val, ast.Integer) \
                and parameter(other):
            setattr(node, mine, ast.TypeCast(arg=literal, typeName=ast.TypeName(
                names=(_string("integer"),), typemod=-1)))
            changed = True
    return changed


def _plain_item(item: list[Token]) -> bool:
    if item and item[0].kind is Kind.WORD and item[0].value == "NULL":
        return False  # an untyped NULL column: text in PostgreSQL, integer in DuckDB
    if len(item) >= 2 and item[-2].kind is Kind.WORD and item[-2].value == "AS":
        return True
    for i, token in enumerate(item):
        expect_name = i % 2 == 0
        if expect_name and not (token.kind in (Kind.WORD, Kind.QUOTED_IDENT)
                                or token.kind is Kind.PUNCT and token.value == "*"):
            return False
        if not expect_name and not (token.kind is Kind.PUNCT and token.value == "."):
            return False
    return len(item) % 2 == 1


# -- tier 2: the rewrites -------------------------------------------------------------------

def translate(sql: str) -> Translation:
    """The translation of one statement's text (see the module docstring); with
    DuckLake storage, of its DDL without what a lake cannot hold (``sql.lake_ddl``)."""
    if lake_ddl.active():
        try:
            tree = parse_sql(sql)
        except ParseError:
            tree = ()
        if len(tree) == 1:
            notices, nothing = lake_ddl.strip(tree[0].stmt)
            if nothing:
                return Translation(lake_ddl.NOTHING, notices=tuple(notices))
            if notices:
                return replace(_translate(RawStream()(tree[0].stmt)), notices=tuple(notices))
    return _translate(sql)


def _translate(sql: str) -> Translation:
    try:
        tree = parse_sql(sql)
    except ParseError:
        return Translation(sql)  # DuckDB's own dialect
    if len(tree) != 1:
        return Translation(sql)
    stmt = tree[0].stmt
    survey = _Survey()
    survey(stmt)
    if not _DUCKDB_JOINS.isdisjoint(survey.aliases) and _duckdb_join(sql):
        return Translation(sql)
    rewriter = _Rewriter(survey.ctes, survey.reads_catalog)
    if "pg_typeof" in sql.lower():
        rewriter.sources = pg_typeof_sources(stmt)
    # before jsonb is renamed to DuckDB's json (a DuckLake keeps no comment here either)
    comments = alter_comments(stmt) or ([] if lake_ddl.active() else create_comments(stmt))
    if replayable(stmt):
        rewriter.changed = True
    _name_targets(stmt, rewriter)  # first: names follow the text as the client wrote it
    json_types = _json_types(stmt)  # before jsonb_agg & co. are renamed to DuckDB's
    char_types = _char_types(stmt)
    signals = _backend_signals(stmt, rewriter)
    _reg_targets(stmt, rewriter)
    _scaled_numeric_targets(stmt, rewriter)
    # A replaced node's new children are not visited in the same pass (the regex call
    # made from ``a ~ b COLLATE "C"`` still holds the COLLATE): pass again until nothing
    # is replaced. Each rewrite produces a tree no rewrite matches, so this ends.
    for _ in range(_MAX_PASSES):
        rewriter.changed_now = False
        rewriter(tree[0])
        if not rewriter.changed_now:
            break
    extra = _statement_rewrites(stmt, rewriter)
    if comments and not extra:
        rewriter.changed = True
        extra = [RawStream()(stmt), *comments]
    if survey.duckdb_keyword:
        rewriter.changed = True  # printed back, the name gets the quotes DuckDB needs
    param_types = tuple(sorted(rewriter.param_types.items()))
    if not rewriter.changed:
        return Translation(sql, param_types=param_types, json_types=json_types)
    try:
        main = RawStream()(tree[0].stmt)
    except Exception:  # noqa: BLE001 - a printer gap: DuckDB gets the text and says why
        return Translation(sql, param_types=param_types, json_types=json_types)
    setup = tuple(rewriter.setup)
    if extra:
        setup, main = setup + tuple(extra[:-1]), extra[-1]
    return Translation(main, setup, param_types, rewriter.activity, tuple(signals), json_types,
                       char_types)


def _qualified(names: tuple | list | None) -> tuple[str | None, str]:
    """(schema, name) of a dotted name of String nodes: schema None when unqualified."""
    parts = [n.sval for n in names or () if isinstance(n, ast.String)]
    if not parts:
        return None, ""
    return (parts[-2].lower() if len(parts) > 1 else None), parts[-1]


def _string(value: str) -> ast.String:
    return ast.String(sval=value)


def _compat_function(name: str) -> tuple:
    return (_string(catalog.DATABASE), _string("main"), _string(name))


def _typeof_oid(arg: object, sources: dict | None = None) -> ast.FuncCall:
    """The OID of ``arg``'s type as PostgreSQL would name it (pg_typeof(arg)::oid)."""
    return ast.FuncCall(funcname=_compat_function("pg_typeof_oid"),
                        args=(_typeof(arg, sources),))


def _typeof(arg: object, sources: dict | None = None) -> object:
    """DuckDB's name of ``arg``'s type, for pg_typeof_name / pg_typeof_oid: typeof(x),
    but JSONB (catalog.JSONB_TYPE_NAME) where PostgreSQL's type is jsonb, which DuckDB's
    JSON does not tell (``_json_kind``; a column's by its declared type: of the tables
    ``sources`` (sql/column_sources.py) says it reads, else of any table)."""
    typeof = ast.FuncCall(funcname=(_string("typeof"),), args=(arg,))
    kind = _json_kind(arg)
    if kind == "jsonb":
        return ast.A_Const(val=_string(catalog.JSONB_TYPE_NAME))
    if kind is None or not kind.startswith("column:"):
        return typeof  # (a parameter: its type is not known here)
    pairs = (sources or {}).get(id(arg), (None, None))[1]
    declared = parse_sql(catalog.jsonb_columns_sql({kind[len("column:"):]}, pairs))[0].stmt
    jsonb = ast.BoolExpr(boolop=BoolExprType.AND_EXPR, args=(
        ast.A_Expr(kind=A_Expr_Kind.AEXPR_OP, name=(_string("="),), lexpr=typeof,
                   rexpr=ast.A_Const(val=_string("JSON"))),
        ast.SubLink(subLinkType=SubLinkType.EXISTS_SUBLINK, subselect=declared)))
    return ast.CaseExpr(args=(ast.CaseWhen(expr=jsonb, result=ast.A_Const(
        val=_string(catalog.JSONB_TYPE_NAME))),), defresult=typeof)


def _pg_typeof_arg(node: object) -> object | None:
    """x of pg_typeof(x), before its translation (pg_typeof_name(typeof(x)))."""
    if not isinstance(node, ast.FuncCall) or len(node.args or ()) != 1:
        return None
    names = tuple(getattr(n, "sval", None) for n in node.funcname)
    if names[-1] == "pg_typeof" and len(names) <= 2:
        return node.args[0]
    if names == (catalog.DATABASE, "main", "pg_typeof_name"):
        inner = node.args[0]
        if isinstance(inner, ast.FuncCall) and inner.funcname[-1].sval == "typeof":
            return inner.args[0]
    return None


#: The catalog's functions whose result is already text (never an array or a number):
#: the translations of oid::regtype / ::regclass / ::regnamespace and of pg_typeof, and
#: the pg_get_* functions (SQLAlchemy's get_columns casts pg_get_serial_sequence's
#: result to regclass, through text).
_NAME_FUNCTIONS = frozenset({"format_type_oid", "format_type", "regclass_name", "regtype_name",
                             "regnamespace_name", "pg_typeof_name"})
#: PostgreSQL's own functions of that kind, as a statement calls them (bare or
#: pg_catalog., which PostgreSQL resolves before any other schema).
_TEXT_FUNCTIONS = frozenset({"pg_get_constraintdef", "pg_get_expr", "pg_get_function_result",
                             "pg_get_indexdef", "pg_get_serial_sequence", "pg_get_userbyid",
                             "pg_get_viewdef"})


def _names_text(node: object) -> bool:
    """Whether ``node`` is a call of one of _NAME_FUNCTIONS: its ::text is a plain cast
    (the as_text macro, which expands its argument ten times, around it made psycopg's
    TypeInfo query ten times slower)."""
    if not isinstance(node, ast.FuncCall):
        return False
    names = tuple(getattr(n, "sval", None) for n in node.funcname)
    if names[-1] in _TEXT_FUNCTIONS:
        return names[:-1] in ((), ("pg_catalog",), (catalog.DATABASE, "main"))
    return names[:2] == (catalog.DATABASE, "main") and names[-1] in _NAME_FUNCTIONS


#: reg* types whose values the select list sends as PostgreSQL does (the type's OID in
#: RowDescription, its name in text, the OID in binary): the pg_compat macro that packs
#: (oid, name) into the STRUCT wire/types.py recognises (REG_FIELDS there).
_REG_VALUES = {"regtype": "regtype_value", "regclass": "regclass_value",
               "regnamespace": "regnamespace_value"}


def _reg_cast(node: object) -> str | None:
    """The reg* type ``node`` casts to (a key of _REG_VALUES), else None."""
    if not isinstance(node, ast.TypeCast) or node.typeName.arrayBounds:
        return None
    _, name = _qualified(node.typeName.names)
    return name if name in _REG_VALUES else None


def _typecast(node: object, type_name: str) -> ast.TypeCast:
    return ast.TypeCast(arg=node, typeName=ast.TypeName(names=(_string(type_name),),
                                                        typemod=-1))


def _sends_its_targets(stmt: object) -> bool:
    """Whether ``stmt`` is a plain SELECT whose select list goes to the client (not
    SELECT ... INTO a table, whose columns must keep their plain types) and may be
    rewritten alone: a GROUP BY (or a DISTINCT's ORDER BY) that repeats a reg-valued
    select-list expression must still find it there, so such an item is made the
    column's position (the same grouping in PostgreSQL)."""
    if not isinstance(stmt, ast.SelectStmt) or stmt.larg is not None \
            or stmt.intoClause is not None:
        return False
    reg = [target.val for target in stmt.targetList or () if _reg_kind(target.val)]
    if not reg:
        return True

    def position(item: object) -> object:
        for index, target in enumerate(stmt.targetList):
            if any(target.val is value for value in reg) and target.val == item:
                return ast.A_Const(val=ast.Integer(ival=index + 1))
        return item

    if stmt.groupClause:
        stmt.groupClause = tuple(position(item) for item in stmt.groupClause)
    if stmt.distinctClause:
        for item in stmt.sortClause or ():
            item.node = position(item.node)
    return True


def _reg_kind(node: object, depth: int = 0) -> str | None:
    """The reg type (a key of _REG_VALUES) ``node`` has: pg_typeof(x), a reg cast, a
    scalar subquery selecting one, COALESCE of them; else None."""
    if depth > 16:
        return None
    if _pg_typeof_arg(node) is not None:
        return "regtype"
    if (kind := _reg_cast(node)) is not None:
        return kind
    if isinstance(node, ast.SubLink) and node.subLinkType is SubLinkType.EXPR_SUBLINK \
            and isinstance(node.subselect, ast.SelectStmt) and node.subselect.larg is None \
            and len(node.subselect.targetList or ()) == 1:
        return _reg_kind(node.subselect.targetList[0].val, depth + 1)
    if isinstance(node, ast.CoalesceExpr):
        kinds = {_reg_kind(arg, depth + 1) for arg in node.args or ()
                 if not (isinstance(arg, ast.A_Const) and arg.isnull)}
        return kinds.pop() if len(kinds) == 1 else None
    return None


def _reg_value(node: object, kind: str) -> object:
    """``node`` (of ``_reg_kind`` kind) as the pg_compat macro packing (x::oid, x::text)
    that goes out as the reg type; inside a scalar subquery or a COALESCE, each reg
    value packed so (the packed value passes through them)."""
    if isinstance(node, ast.SubLink):
        target = node.subselect.targetList[0]
        target.val = _reg_value(target.val, kind)
        return node
    if isinstance(node, ast.CoalesceExpr):
        node.args = tuple(arg if isinstance(arg, ast.A_Const) and arg.isnull
                          else _reg_value(arg, kind) for arg in node.args)
        return node
    return ast.FuncCall(funcname=_compat_function(_REG_VALUES[kind]), args=(
        _typecast(copy.deepcopy(node), "oid"), _typecast(node, "text")))


def _reg_targets(stmt: object, rewriter: "_Rewriter") -> None:
    """A select-list pg_typeof(x), x::regtype, x::regclass or x::regnamespace goes out as
    PostgreSQL sends it: as the reg type, its name in text and its OID in binary. It
    becomes the pg_compat macro packing (x::oid, x::text), which the rewriter then
    translates as it translates those two casts anywhere. Elsewhere (WHERE, arguments,
    subqueries) a reg value stays what it was: the OID, or the name for pg_typeof and
    an OID column cast to regclass, which is what comparisons with oid columns need."""
    if not _sends_its_targets(stmt):
        return
    for target in stmt.targetList or ():
        value = target.val
        kind = _reg_kind(value)
        if kind is None:
            continue
        target.val = _reg_value(value, kind)
        rewriter.changed = True


def _numeric_scale(node: object, cast_seen: list[bool]) -> int | None:
    """PostgreSQL's display scale of a constant numeric expression: a number cast to
    bare numeric keeps the scale it is written with ('1.50' has 2), an integer has 0,
    -x has x's, a + b and a - b the larger of the two, a * b their sum (numeric.c's
    add_var / mul_var). None if ``node`` is anything else; ``cast_seen`` records a
    cast to bare numeric (without one the expression is no bare numeric)."""
    if isinstance(node, ast.TypeCast):
        _, name = _qualified(node.typeName.names)
        if name != "numeric" or node.typeName.typmods or node.typeName.arrayBounds:
            return None
        cast_seen[0] = True
        node = node.arg
    if isinstance(node, ast.A_Const) and not node.isnull:
        value = node.val
        text = value.sval if isinstance(value, ast.String) else \
            value.fval if isinstance(value, ast.Float) else \
            str(value.ival) if isinstance(value, ast.Integer) else None
        try:
            exponent = decimal.Decimal((text or "").strip()).as_tuple().exponent
        except decimal.InvalidOperation:
            return None
        return max(0, -exponent) if isinstance(exponent, int) else None
    if isinstance(node, ast.A_Expr) and node.kind is A_Expr_Kind.AEXPR_OP \
            and len(node.name) == 1 and node.name[0].sval in ("+", "-", "*"):
        right = _numeric_scale(node.rexpr, cast_seen)
        if node.lexpr is None:
            return right if node.name[0].sval in ("+", "-") else None
        left = _numeric_scale(node.lexpr, cast_seen)
        if left is None or right is None:
            return None
        return left + right if node.name[0].sval == "*" else max(left, right)
    return None


#: PostgreSQL's largest display scale (NUMERIC_MAX_DISPLAY_SCALE).
_MAX_DISPLAY_SCALE = 1000


def _scaled_numeric_targets(stmt: object, rewriter: "_Rewriter") -> None:
    """A select-list constant of bare numeric (``1.50::numeric``, ``'2.0'::numeric *
    3``) is sent with PostgreSQL's display scale (``1.50``, ``6.0``): DuckDB's
    DECIMAL(38,10) keeps none, so the statically known scale goes with the value (the
    pg_compat macro numeric_scaled packs both; wire/types.py SCALED_NUMERIC_FIELDS)."""
    if not _sends_its_targets(stmt):
        return
    for target in stmt.targetList or ():
        seen = [False]
        scale = _numeric_scale(target.val, seen)
        if scale is None or not seen[0] or scale > _MAX_DISPLAY_SCALE:
            continue
        target.val = ast.FuncCall(funcname=_compat_function("numeric_scaled"), args=(
            target.val, ast.A_Const(val=ast.Integer(ival=scale))))
        rewriter.changed = True


def _const_string(node: object) -> str | None:
    if isinstance(node, ast.A_Const) and not node.isnull and isinstance(node.val, ast.String):
        return node.val.sval
    return None


#: PostgreSQL types DuckDB lacks -> the DuckDB type holding the same values.
_TYPES = {
    "jsonb": "json", "oid": "uinteger", "name": "varchar", "char": "varchar", "xid": "bigint", "xid8": "bigint",
    "cid": "bigint", "tid": "varchar", "oidvector": "varchar", "int2vector": "varchar",
    "regconfig": "varchar", "regdictionary": "varchar", "regoper": "varchar",
    "regoperator": "varchar", "regrole": "varchar", "regnamespace": "varchar",
    "regprocedure": "varchar", "regproc": "varchar", "regtype": "varchar",
    "regclass": "varchar", "money": "decimal", "inet": "varchar", "cidr": "varchar",
    "macaddr": "varchar", "tsvector": "varchar", "tsquery": "varchar",
}
#: Types of microseconds DuckDB gives no precision modifier (TIMESTAMP's maps to its
#: TIMESTAMP_S / _MS variants).
_MICROSECOND_TYPES = frozenset({"timestamptz", "time", "timetz"})
#: reg* casts of a name: the lookup macro giving the object's oid.
_REG_LOOKUP = {"regclass": "regclass_oid", "regtype": "regtype_oid",
               "regnamespace": "regnamespace_oid"}
#: reg* casts of an oid: the macro giving the object's name, as PostgreSQL prints it.
_REG_NAME = {"regclass": "regclass_name", "regtype": "regtype_name",
             "regnamespace": "regnamespace_name"}
#: Functions are named, not numbered, in our catalog (pg_type.typinput is 'array_in').
_REGPROC = ("regproc", "regprocedure")
#: PostgreSQL functions DuckDB has under another name (same arguments, same meaning).
_RENAMES = {"json_build_object": "json_object", "jsonb_build_object": "json_object",
            "json_build_array": "json_array", "jsonb_build_array": "json_array",
            "json_agg": "json_group_array", "jsonb_agg": "json_group_array",
            "json_object_agg": "json_group_object", "jsonb_object_agg": "json_group_object",
            "to_jsonb": "to_json", "jsonb_array_length": "json_array_length",
            "jsonb_typeof": "json_type", "json_typeof": "json_type", "btrim": "trim",
            "cardinality": "len", "octet_length": "strlen", "every": "bool_and"}
# A renamed function is worth parsing for, even in a select list of aliased items.
_TRIGGER_WORDS |= {name.upper() for name in _RENAMES}
#: SQL-syntax functions pglast prints back as syntax (EXTRACT(x FROM y)) only while they
#: keep their pg_catalog name; the others it prints as calls, which DuckDB must resolve.
_PRINTED_AS_SYNTAX = frozenset({"extract", "position", "overlay", "normalize", "is_normalized",
                                "overlaps", "pg_collation_for", "xmlexists"})
#: Types whose OID a parameter cast to them has in PostgreSQL but not by DuckDB's
#: inference: (scalar OID, array OID).
_PARAM_OIDS = {"oid": (26, 1028), "regclass": (2205, 2210), "regtype": (2206, 2211),
               "regproc": (24, 1008), "name": (19, 1003), "xid": (28, 1011),
               "bpchar": (1042, 1014)}
#: json #> path (json) and #>> path (text) -> DuckDB's function of a JSON path.
_JSON_PATH_OPERATORS = {"#>": "json_extract", "#>>": "json_extract_string"}
#: (encode | decode, format) -> DuckDB's function.
_BINARY_FORMATS = {("encode", "hex"): "hex", ("encode", "base64"): "to_base64",
                   ("decode", "hex"): "unhex", ("decode", "base64"): "from_base64"}
#: Comparison operators (regtype compares as an OID).
_COMPARISONS = frozenset({"=", "<>", "!=", "<", "<=", ">", ">="})
#: Operators PostgreSQL raises division_by_zero for (DuckDB: NULL) -> the macro.
_DIVISIONS = {"/": "div", "%": "mod"}
#: Functions PostgreSQL types integer that DuckDB types bigint.
_INT4_FUNCTIONS = frozenset({"length", "char_length", "character_length", "octet_length",
                             "bit_length", "strpos", "position", "array_length",
                             "cardinality", "ascii", "array_position", "json_array_length",
                             "jsonb_array_length"})
#: to_char/to_date/to_timestamp template patterns -> strftime's, longest first.
_DATETIME_PATTERNS = [("YYYY", "%Y"), ("HH24", "%H"), ("HH12", "%I"), ("Month", "%B"),
                      ("MONTH", "%B"), ("Mon", "%b"), ("MON", "%b"), ("Day", "%A"),
                      ("DAY", "%A"), ("DDD", "%j"), ("Dy", "%a"), ("YY", "%y"), ("MM", "%m"),
                      ("DD", "%d"), ("HH", "%I"), ("MI", "%M"), ("SS", "%S"), ("MS", "%g"),
                      ("US", "%f"), ("AM", "%p"), ("PM", "%p"), ("TZ", "%Z")]
#: Patterns that make a template a date/time one (a number's has none of them).
_DATETIME_MARKS = ("YY", "MM", "DD", "HH", "MI", "SS", "Mon", "MON", "Day", "DAY")
#: An opening parenthesis that starts a capturing group (not escaped, not (?...)).
_CAPTURING_GROUP = re.compile(r"(?<!\\)\((?!\?)")
#: What a cast to text may hold an array in: the rest (constants, operators) cannot.
_MAYBE_ARRAY = (ast.A_ArrayExpr, ast.TypeCast, ast.SubLink, ast.ColumnRef, ast.A_Indirection,
                ast.FuncCall)
#: One format() specifier: %[position$][-][width]type.
_FORMAT_SPEC = re.compile(r"%(?:(\d+)\$)?(-)?(\d+)?([sIL%])")
_SCALAR_SRFS = frozenset({"generate_series", "generate_subscripts", "unnest"})
_SERIALS = {"serial": "integer", "serial4": "integer", "bigserial": "bigint",
            "serial8": "bigint", "smallserial": "smallint", "serial2": "smallint"}
#: LIKE's operators -> (case-insensitive, negated).
_LIKE = {"~~": (False, False), "!~~": (False, True), "~~*": (True, False), "!~~*": (True, True)}
#: The lambda parameter of ``x LIKE ANY (array)`` (list_transform over the patterns).
_LIKE_ELEMENT = "_like_pattern"
_REGEX = {"~": ("regexp_matches", False, False), "~*": ("regexp_matches", True, False),
          "!~": ("regexp_matches", False, True), "!~*": ("regexp_matches", True, True)}
_USER_FUNCTIONS = {
    SQLValueFunctionOp.SVFOP_CURRENT_USER: "current_user",
    SQLValueFunctionOp.SVFOP_CURRENT_ROLE: "current_user",
    SQLValueFunctionOp.SVFOP_USER: "current_user",
    SQLValueFunctionOp.SVFOP_SESSION_USER: "session_user",
}


_MAX_PASSES = 8


class _Rewriter(Visitor):
    """The expression and relation rewrites, applied wherever they stand.

    ``changed``: the tree differs from the text; ``changed_now``: a node was replaced in
    this pass."""

    def __init__(self, ctes: set[str], reads_catalog: bool = False) -> None:
        super().__init__()
        self.reads_catalog = reads_catalog
        self.changed = False
        self.changed_now = False
        self.setup: list[str] = []
        self.ctes = ctes
        self._vector_done: set[int] = set()
        self._typed: set[int] = set()  # calls already wrapped in a cast
        self._bare_numerics: set[int] = set()  # numeric TypeNames given (38,10) here
        self._null_tests: set[int] = set()  # IS [NOT] NULL of a ROW()'s fields, kept
        self.param_types: dict[int, int] = {}
        self.activity = False
        #: pg_typeof's column arguments and the tables they read (sql/column_sources.py)
        self.sources: dict = {}

    def _changed(self, node: object) -> None:
        """``node`` was changed in place. Returning None (not the node, which the
        visitor would take as a replacement and not descend into) lets its children be
        visited after it."""
        self.changed = True

    def _replaced(self, node: object) -> object:
        """A new node in the old one's place: its children are not visited in this
        pass, so another one follows."""
        self.changed = self.changed_now = True
        return node

    def visit_RangeVar(self, ancestors, node: ast.RangeVar):
        if node.catalogname:
            return None
        schema = node.schemaname.lower() if node.schemaname else None
        if schema in (None, "pg_catalog") and node.relname in catalog.PUBLISHED \
                and not (schema is None and node.relname in self.ctes):
            # the session's snapshot table, under the view's name for column references
            node.alias = node.alias or ast.Alias(aliasname=node.relname)
            node.catalogname, node.schemaname, node.relname = \
                catalog.PUBLISHED[node.relname].split(".")
            self.activity = True
            return self._changed(node)
        if schema in (None, "pg_catalog") and node.relname in catalog.RELATIONS \
                and not (schema is None and node.relname in self.ctes):
            node.catalogname, node.schemaname = catalog.DATABASE, "main"
            self.activity |= node.relname == "pg_stat_database"  # counts the sessions
            return self._changed(node)
        if schema == "information_schema" and node.relname in catalog.INFORMATION_SCHEMA:
            node.catalogname, node.schemaname = catalog.DATABASE, catalog.INFO_SCHEMA
            return self._changed(node)
        if schema == "public":
            node.schemaname = "main"
            return self._changed(node)
        return None

    def visit_ColumnRef(self, ancestors, node: ast.ColumnRef):
        """``pg_catalog.pg_class.relname`` -> ``pg_class.relname``: the relation may have
        moved (to our catalog), its name did not."""
        fields = node.fields
        if len(fields) < 3 or not all(isinstance(f, ast.String) for f in fields[-3:-1]):
            return None
        schema = fields[-3].sval.lower()
        if schema in ("pg_catalog", "information_schema"):  # DuckDB binds table.column only
            node.fields = tuple(fields[-2:])
            return self._changed(node)
        if schema == "public":
            node.fields = tuple(fields[:-3]) + (_string("main"),) + tuple(fields[-2:])
            return self._changed(node)
        return None

    def visit_FuncCall(self, ancestors, node: ast.FuncCall):
        schema, name = _qualified(node.funcname)
        if schema not in (None, "pg_catalog", "information_schema"):
            return None
        setting = _const_string((node.args or (None,))[0])
        if name == "current_setting" and setting is not None \
                and setting.lower() not in catalog.POSTGRES_SETTINGS \
                and not settings.is_session_parameter(setting):
            return None  # one of DuckDB's own settings (memory_limit, threads, ...)
        if name == "timezone" and len(node.args or ()) == 2 and id(node) not in self._typed:
            return self._at_time_zone(node)
        if name == "pg_typeof" and len(node.args or ()) == 1:
            # regtype shown by name: PostgreSQL's name of the value's type
            return self._replaced(ast.FuncCall(funcname=_compat_function("pg_typeof_name"),
                                               args=(_typeof(node.args[0], self.sources),)))
        if name in catalog.FUNCTIONS:
            node.funcname = _compat_function(name)
            return self._changed(node)
        if name in catalog.BYTEA_FUNCTIONS and not (
                name == "substring" and len(node.args or ()) == 2
                and _const_string(node.args[1]) is not None) \
                and not _inside(ancestors, (ast.CreateStmt, ast.AlterTableStmt)):
            # (not in a CHECK or DEFAULT: a table's constraint must not call pg_compat,
            # which each process makes anew, and a function-calling CHECK breaks
            # DuckDB 1.5.5's WAL replay of a later ALTER TABLE)
            # the macro has bytea's form and DuckDB's (PostgreSQL's SQL syntax, such as
            # POSITION(a IN b), is printed as the call it is: (b, a))
            node.funcname = _compat_function(catalog.BYTEA_FUNCTIONS[name])
            node.funcformat = CoercionForm.COERCE_EXPLICIT_CALL
            self._typed.add(id(node))
            return self._changed(node)
        if name in ("encode", "decode") and len(node.args or ()) == 2 \
                and (_const_string(node.args[1]) or "").lower() == "escape":
            return self._replaced(ast.FuncCall(funcname=_compat_function(f"{name}_escape"),
                                               args=(node.args[0],)))
        if name in _RENAMES:
            node.funcname = (_string(_RENAMES[name]),)
            if name in _INT4_FUNCTIONS:
                self._typed.add(id(node))
                return self._replaced(_as_integer(node))
            return self._changed(node)
        if name in ("to_char", "to_date", "to_timestamp") and len(node.args or ()) == 2:
            return self._datetime_format(node, name)
        if name in ("encode", "decode") and len(node.args or ()) == 2:
            return self._binary_format(node, name)
        if name == "format" and node.args and "%" in (_const_string(node.args[0]) or ""):
            return self._format(node)
        if name == "substring" and len(node.args or ()) == 2 \
                and _const_string(node.args[1]) is not None:
            return self._substring_regex(node)
        if name == "generate_series" and id(node) not in self._typed \
                and not _inside(ancestors, ast.RangeFunction):
            # in a select list PostgreSQL returns rows; DuckDB's scalar form, a list
            self._typed.add(id(node))
            rows = ast.FuncCall(funcname=(_string("unnest"),), args=(node,))
            if all(isinstance(a, ast.A_Const) and isinstance(a.val, ast.Integer)
                   for a in node.args or ()):
                rows = _as_integer(rows)  # integer arguments: integer rows, not bigint
            return self._replaced(rows)
        if name == "date_part" and id(node) not in self._typed:
            self._typed.add(id(node))  # double precision in PostgreSQL, bigint in DuckDB
            return self._replaced(ast.TypeCast(arg=node, typeName=ast.TypeName(
                names=(_string("double"),), typemod=-1)))
        if name in _INT4_FUNCTIONS and id(node) not in self._typed:
            self._typed.add(id(node))
            return self._replaced(_as_integer(node))
        if schema == "pg_catalog" and not (node.funcformat is CoercionForm.COERCE_SQL_SYNTAX
                                           and name in _PRINTED_AS_SYNTAX):
            node.funcname = (_string(name),)
            return self._changed(node)
        return None

    def visit_A_Indirection(self, ancestors, node: ast.A_Indirection):
        """``i.indkey[0]``: a vector column counts from 0, a DuckDB list from 1.
        ``(v).*``: a composite's fields as columns, DuckDB's unnest of a STRUCT."""
        if len(node.indirection or ()) == 1 and isinstance(node.indirection[0], ast.A_Star) \
                and isinstance(ancestors.node, ast.ResTarget):
            return self._replaced(ast.FuncCall(funcname=(_string("unnest"),), args=(node.arg,)))
        if id(node) in self._vector_done \
                or not (isinstance(node.arg, ast.ColumnRef) and _is_vector(node.arg)):
            return None
        first = node.indirection[0]
        if not isinstance(first, ast.A_Indices) or first.is_slice or first.uidx is None:
            return None
        one = ast.A_Const(val=ast.Integer(ival=1))
        first.uidx = ast.A_Expr(kind=A_Expr_Kind.AEXPR_OP, name=(_string("+"),),
                                lexpr=first.uidx, rexpr=one)
        self._vector_done.add(id(node))  # the passes that follow must not shift it again
        return self._changed(node)

    def visit_RangeFunction(self, ancestors, node: ast.RangeFunction):
        """``FROM generate_series(1, 3) s``: PostgreSQL names a scalar function's column
        after the alias (``s``); DuckDB would name it after the function."""
        if node.alias is None or node.alias.colnames or node.ordinality \
                or len(node.functions or ()) != 1:
            return None
        call = node.functions[0][0]
        if isinstance(call, ast.FuncCall) and _qualified(call.funcname)[1] in _SCALAR_SRFS:
            node.alias.colnames = (_string(node.alias.aliasname),)
            return self._changed(node)
        return None

    def _datetime_format(self, node: ast.FuncCall, name: str):
        """to_char(ts, 'YYYY-MM-DD') -> strftime(ts, '%Y-%m-%d') (to_date, to_timestamp:
        strptime). Only for a constant template made of date/time patterns; to_char of
        a number stays for DuckDB to refuse."""
        template = _const_string(node.args[1])
        if template is None or not any(mark in template for mark in _DATETIME_MARKS):
            return None
        converted = _strftime_template(template)
        function = "strftime" if name == "to_char" else "strptime"
        call = ast.FuncCall(funcname=(_string(function),),
                            args=(node.args[0], ast.A_Const(val=_string(converted))))
        if name == "to_date":
            call = ast.TypeCast(arg=call, typeName=ast.TypeName(names=(_string("date"),),
                                                                typemod=-1))
        return self._replaced(call)

    def _binary_format(self, node: ast.FuncCall, name: str):
        """encode(bytea, 'hex' | 'base64') is text, decode(text, ...) bytea; DuckDB's
        encode/decode convert between text and UTF-8 bytes instead."""
        fmt = (_const_string(node.args[1]) or "").lower()
        function = _BINARY_FORMATS.get((name, fmt))
        if function is None:
            return None
        call = ast.FuncCall(funcname=(_string(function),), args=(node.args[0],))
        if function == "hex":
            call = ast.FuncCall(funcname=(_string("lower"),), args=(call,))
        return self._replaced(call)

    def _format(self, node: ast.FuncCall):
        """PostgreSQL's format('%s %I %L %%', ...) with a constant template, as a concat
        of its pieces (DuckDB's format() reads {} and would return the template as it
        is). A template this does not read (%*s) stays for DuckDB."""
        template, args = _const_string(node.args[0]), node.args[1:]
        pieces: list[object] = []
        following = 0
        end = 0
        for spec in _FORMAT_SPEC.finditer(template):
            literal = template[end:spec.start()]
            if "%" in literal:
                return None
            if literal:
                pieces.append(ast.A_Const(val=_string(literal)))
            end = spec.end()
            position, left, width, kind = spec.groups()
            if kind == "%":
                pieces.append(ast.A_Const(val=_string("%")))
                continue
            index = int(position) - 1 if position else following
            following = index + 1
            if not 0 <= index < len(args):
                return None
            value = _as_text(args[index])
            if kind == "I":
                value = ast.FuncCall(funcname=_compat_function("quote_ident"), args=(value,))
            elif kind == "L":
                value = ast.FuncCall(funcname=_compat_function("quote_nullable"), args=(value,))
            else:  # %s of NULL is the empty string
                value = ast.CoalesceExpr(args=(value, ast.A_Const(val=_string(""))))
            if width:  # padded to width, never cut; '-': on the right
                padding = ast.FuncCall(funcname=(_string("repeat"),), args=(
                    ast.A_Const(val=_string(" ")),
                    ast.MinMaxExpr(op=MinMaxOp.IS_GREATEST, args=(
                        ast.A_Expr(kind=A_Expr_Kind.AEXPR_OP, name=(_string("-"),),
                                   lexpr=ast.A_Const(val=ast.Integer(ival=int(width))),
                                   rexpr=ast.FuncCall(funcname=(_string("length"),),
                                                      args=(value,))),
                        ast.A_Const(val=ast.Integer(ival=0))))))
                value = ast.FuncCall(funcname=(_string("concat"),),
                                     args=(value, padding) if left else (padding, value))
            pieces.append(value)
        if "%" in template[end:]:
            return None
        if template[end:] or not pieces:
            pieces.append(ast.A_Const(val=_string(template[end:])))
        return self._replaced(ast.FuncCall(funcname=(_string("concat"),), args=tuple(pieces)))

    def _substring_regex(self, node: ast.FuncCall):
        """substring(x FROM 'pattern') (a text pattern, not a position) is the part of x
        the regular expression matches, its first parenthesized group if it has one,
        NULL when nothing matches; DuckDB's substring takes positions only."""
        value, pattern = node.args
        group = 1 if _CAPTURING_GROUP.search(_const_string(pattern)) else 0
        extract = ast.FuncCall(funcname=(_string("regexp_extract"),), args=(
            value, pattern, ast.A_Const(val=ast.Integer(ival=group))))
        matches = ast.FuncCall(funcname=(_string("regexp_matches"),), args=(value, pattern))
        return self._replaced(ast.CaseExpr(args=(ast.CaseWhen(expr=matches, result=extract),)))

    def visit_SQLValueFunction(self, ancestors, node: ast.SQLValueFunction):
        name = _USER_FUNCTIONS.get(node.op)
        if name is None:
            return None
        return self._replaced(ast.FuncCall(funcname=_compat_function(name), args=()))

    def visit_TypeName(self, ancestors, node: ast.TypeName):
        schema, name = _qualified(node.names)
        if schema not in (None, "pg_catalog"):
            return None
        if name in _MICROSECOND_TYPES and node.typmods and len(node.typmods) == 1 \
                and isinstance(node.typmods[0], ast.A_Const) \
                and getattr(node.typmods[0].val, "ival", None) == 6:
            # (6) is these types' own precision, which DuckDB's take no modifier for
            # (Hibernate writes timestamp(6) with time zone); any other stays refused
            node.typmods = None
            self.changed = True
        if name == "numeric":
            self._numeric_typmods(node)
        if name in _TYPES and not isinstance(ancestors.node, ast.TypeCast) \
                or name in _TYPES and name not in _REG_LOOKUP:
            node.names = (_string(_TYPES[name]),)
            if name in ("char", "name"):
                node.typmods = None
            return self._changed(node)
        if schema == "pg_catalog" and name not in _SERIALS:
            node.names = (_string(name),)
            return self._changed(node)
        return None

    def _numeric_typmods(self, node: ast.TypeName) -> None:
        """numeric without a precision is DuckDB's DECIMAL(38,10) (``wire.unbounded``:
        DuckDB's own default, DECIMAL(18,3), rounds to 3 decimals); a precision DuckDB
        cannot hold is refused here, with PostgreSQL's bounds first."""
        if not node.typmods:
            node.typmods = (ast.A_Const(val=ast.Integer(ival=unbounded.PRECISION)),
                            ast.A_Const(val=ast.Integer(ival=unbounded.SCALE)))
            self._bare_numerics.add(id(node))
            self.changed = True
            return
        precision = getattr(node.typmods[0], "val", None)
        precision = getattr(precision, "ival", None)
        if isinstance(precision, int) and id(node) not in self._bare_numerics:
            if not 1 <= precision <= 1000:
                raise PgError(SqlState.INVALID_PARAMETER_VALUE,
                              f"NUMERIC precision {precision} must be between 1 and 1000")
            if precision > unbounded.PRECISION:
                raise PgError(SqlState.FEATURE_NOT_SUPPORTED,
                              f"NUMERIC precision {precision} is not supported",
                              detail=f"DuckDB's DECIMAL holds at most {unbounded.PRECISION} "
                                     "digits; declare numeric(p,s) with p at most "
                                     f"{unbounded.PRECISION}, or numeric without a precision.")

    def _is_bare_numeric(self, type_name: ast.TypeName) -> bool:
        """numeric without a precision (or given (38,10) by ``_numeric_typmods``)."""
        return _qualified(type_name.names)[1] == "numeric" and (
            not type_name.typmods or id(type_name) in self._bare_numerics)

    def _bare_numeric_constant(self, node: ast.TypeCast) -> None:
        """A constant cast to bare numeric that DuckDB's DECIMAL(38,10) would round or
        cannot hold (NaN, Infinity, too many digits) fails here, as a parameter does;
        one cast to numeric(p,s), only if NaN or Infinity (it rounds the rest)."""
        type_name = node.typeName
        arg = node.arg
        if not isinstance(arg, ast.A_Const) or arg.isnull:
            return
        text = arg.val.sval if isinstance(arg.val, ast.String) else \
            arg.val.fval if isinstance(arg.val, ast.Float) else None
        if text is None:
            return
        try:
            value = decode_param(text.encode(), 0, NUMERIC_OID)
        except PgError:
            return  # not a number: DuckDB's cast says so (22P02)
        error = unbounded.special(value)
        if error is not None:
            raise error
        if self._is_bare_numeric(type_name):
            unbounded.check(value, text)

    def visit_TypeCast(self, ancestors, node: ast.TypeCast):
        _, name = _qualified(node.typeName.names)
        typeof = _pg_typeof_arg(node.arg)
        if typeof is not None and name == "oid" and not node.typeName.arrayBounds:
            return self._replaced(_typeof_oid(typeof, self.sources))  # the type's OID
        if typeof is not None and name in ("text", "varchar") and not node.typeName.arrayBounds:
            # the name, as the bare call gives it (not through as_text, which made two
            # pg_typeof in one select list take seconds to plan)
            return self._replaced(ast.FuncCall(funcname=_compat_function("pg_typeof_name"),
                                               args=(_typeof(typeof, self.sources),)))
        reg = _reg_cast(node.arg)
        if reg is not None and not node.typeName.arrayBounds \
                and name in ("oid", "text", "varchar"):
            return self._reg_as(node, reg, name)
        if name == "numeric":
            self._bare_numeric_constant(node)
        if isinstance(node.arg, ast.ParamRef) and name in _PARAM_OIDS:
            scalar, array = _PARAM_OIDS[name]
            self.param_types[node.arg.number] = array if node.typeName.arrayBounds else scalar
        text = _const_string(node.arg)
        if node.typeName.arrayBounds and text is not None:
            return self._replaced(_array_value(node.typeName, text))
        if text is not None and id(node) not in self._typed:
            record = _record_value(node, text)
            if record is not None:
                for when in record.args:  # its casts are final
                    self._typed.add(id(when.result))
                self._typed.add(id(record.defresult))
                return self._replaced(record)
        if name in ("text", "varchar") and not node.typeName.arrayBounds \
                and not node.typeName.typmods and isinstance(node.arg, _MAYBE_ARRAY) \
                and not (self.reads_catalog and isinstance(node.arg, ast.ColumnRef)) \
                and not (isinstance(node.arg, ast.TypeCast)
                         and not node.arg.typeName.arrayBounds
                         and not self._is_bare_numeric(node.arg.typeName)) \
                and not _names_text(node.arg) and _pg_typeof_arg(node.arg) is None \
                and not (isinstance(node.arg, ast.SubLink) and node.arg.subLinkType
                         not in (SubLinkType.ARRAY_SUBLINK, SubLinkType.EXPR_SUBLINK)):
            # an array prints as array_out prints it; the macro casts anything else. A
            # catalog column is left as it is: its arrays are vectors (int2vector,
            # oidvector), which do not print as arrays, and the macro in a catalog query
            # keeps DuckDB from planning it well (Metabase's describe-fields: > 3 min)
            return self._replaced(ast.FuncCall(funcname=_compat_function("as_text"),
                                               args=(node.arg,)))
        if name == "bytea" and text is not None and text[:2] in ("\\x", "\\X"):
            # PostgreSQL's hex format; DuckDB would read the backslash escape per byte
            return self._replaced(ast.FuncCall(funcname=(_string("unhex"),),
                                              args=(ast.A_Const(val=_string(text[2:])),)))
        if name in ("varchar", "bpchar") and node.typeName.typmods \
                and id(node) not in self._typed:
            # an explicit cast to varchar(n) or char(n) cuts the value to n characters;
            # char(n)'s trailing blanks are stripped, as a char(n) column stores them
            # (sql/bpchar.py), so that comparisons, length() and || agree with
            # PostgreSQL's, which ignore them
            (length,) = node.typeName.typmods
            self._typed.add(id(node))
            node.arg = ast.FuncCall(funcname=(_string("left"),), args=(
                ast.TypeCast(arg=node.arg, typeName=ast.TypeName(names=(_string("varchar"),),
                                                                 typemod=-1)), length))
            if name == "bpchar":
                node.arg = ast.FuncCall(funcname=(_string("rtrim"),), args=(
                    node.arg, ast.A_Const(val=_string(" "))))
            return self._changed(node)
        if name == "interval" and node.typeName.typmods:
            return self._interval_fields(node, text)
        if name == "interval" and text is not None and id(node) not in self._typed:
            return self._interval_text(node, text)
        if name in _REGPROC and text is not None:
            return self._replaced(ast.A_Const(val=_string(text.removeprefix("pg_catalog."))))
        if name not in _REG_LOOKUP:
            return None
        # regclass is both an oid and a name: a column holds oids and is shown by name
        # (c.oid::regclass); anything else is a name to look up ('t'::regclass,
        # $1::regclass, pg_get_serial_sequence(...)::regclass), giving the oid.
        if isinstance(node.arg, ast.ColumnRef):
            call = ast.FuncCall(funcname=_compat_function(_REG_NAME[name]), args=(node.arg,))
        elif isinstance(node.arg, ast.A_Const) and isinstance(node.arg.val, ast.Integer):
            return self._replaced(node.arg)
        else:
            arg = ast.A_Const(val=_string(text)) if text is not None else ast.TypeCast(
                arg=node.arg, typeName=ast.TypeName(names=(_string("text"),), typemod=-1))
            call = ast.FuncCall(funcname=_compat_function(_REG_LOOKUP[name]), args=(arg,))
        return self._replaced(call)

    def _typeof_compared(self, node: ast.A_Expr):
        """pg_typeof(x) = 'integer'::regtype (or = pg_typeof(y)) compares OIDs, as
        PostgreSQL compares regtype: pg_typeof gives the OID here. (A bare string beside
        it is an oid to PostgreSQL, = 'int4' is 22P02 there, and stays so here.)"""
        node.lexpr, node.rexpr = (
            side if _pg_typeof_arg(side) is None
            else _typeof_oid(_pg_typeof_arg(side), self.sources)
            for side in (node.lexpr, node.rexpr))
        return self._replaced(node)

    def _reg_as(self, node: ast.TypeCast, reg: str, target: str):
        """x::regtype::oid (or regclass, regnamespace) is the object's OID, ::text its
        name, as in PostgreSQL: an OID column or integer is the OID already, anything
        else (a string) is looked up by name first."""
        inner = node.arg.arg
        text = _const_string(inner)
        if isinstance(inner, ast.ColumnRef) or (
                isinstance(inner, ast.A_Const) and isinstance(inner.val, ast.Integer)):
            oid = _typecast(inner, "oid")
        else:
            oid = _typecast(ast.FuncCall(funcname=_compat_function(_REG_LOOKUP[reg]), args=(
                ast.A_Const(val=_string(text)) if text is not None
                else _typecast(inner, "text"),)), "oid")
        if target == "oid":
            return self._replaced(oid)
        if isinstance(inner, ast.ColumnRef):
            oid = inner  # as the catalog's OID columns are: the plan stays the one it was
        return self._replaced(ast.FuncCall(funcname=_compat_function(_REG_NAME[reg]),
                                           args=(oid,)))

    def _at_time_zone(self, node: ast.FuncCall):
        """x AT TIME ZONE 'UTC+3': PostgreSQL reads a POSIX zone string (hours WEST of
        UTC), DuckDB an ICU zone (where 'UTC+3' is three hours EAST): such a constant
        becomes the Etc/GMT zone PostgreSQL means (0A000 where DuckDB has none)."""
        zone = _const_string(node.args[0])
        duckdb_zone = None if zone is None else settings.posix_zone(zone)
        self._typed.add(id(node))
        if duckdb_zone is not None:
            node.args = (ast.A_Const(val=_string(duckdb_zone)), node.args[1])
        elif len(node.funcname) == 1:
            return None
        # AT TIME ZONE is printed as pg_catalog.timezone(), which DuckDB lacks
        node.funcname = (_string("timezone"),)
        return self._changed(node)

    def _interval_text(self, node: ast.TypeCast, text: str):
        """An interval literal as PostgreSQL reads it ('-1 days +23:59:59', '@ 1 day
        ago', 'P1Y2M': its own output in every IntervalStyle it can read back), given
        to DuckDB as months, days and microseconds; what PostgreSQL's reading refuses
        is left to DuckDB."""
        try:
            value = parse_interval_text(text)
        except PgError:
            return None
        self._typed.add(id(node))
        node.arg = ast.A_Const(val=_string(str(value)))  # a literal DuckDB reads exactly
        return self._changed(node)

    def _interval_fields(self, node: ast.TypeCast, text: str | None):
        """interval '3' month, interval '2' hour to minute: PostgreSQL's parser makes the
        fields a type modifier DuckDB refuses. A bare number is in the units of the
        last field, as PostgreSQL reads it; any other text carries its own units."""
        mask = node.typeName.typmods[0]
        fields = mask.val.ival if isinstance(mask, ast.A_Const) \
            and isinstance(mask.val, ast.Integer) else 0
        node.typeName.typmods = None
        node.typeName.typemod = -1
        unit = next((unit for bit, unit in _INTERVAL_FIELDS if fields & bit), None)
        if text is not None and unit is not None and _NUMBER_TEXT.fullmatch(text.strip()):
            node.arg = ast.A_Const(val=_string(f"{text.strip()} {unit}"))
        return self._changed(node)

    def visit_A_Expr(self, ancestors, node: ast.A_Expr):
        _, op = _qualified(node.name)
        if op in _LIKE and node.kind in (A_Expr_Kind.AEXPR_LIKE, A_Expr_Kind.AEXPR_ILIKE,
                                         A_Expr_Kind.AEXPR_OP):
            return self._like(node, op)
        if op in _LIKE and node.kind in (A_Expr_Kind.AEXPR_OP_ANY, A_Expr_Kind.AEXPR_OP_ALL):
            return self._like_list(node, op)
        if node.kind is A_Expr_Kind.AEXPR_SIMILAR:
            return self._similar(node)
        if isinstance(node.rexpr.arg if isinstance(node.rexpr, ast.TypeCast) else node.rexpr,
                      ast.ParamRef) and len(node.name) == 1 \
                and (node.kind, op) in ((A_Expr_Kind.AEXPR_OP_ANY, "="),
                                        (A_Expr_Kind.AEXPR_OP_ALL, "<>")):
            return self._in_list(node, op)
        if node.kind is not A_Expr_Kind.AEXPR_OP:
            return None
        if op in _COMPARISONS and (_pg_typeof_arg(node.lexpr) is not None
                                   or _pg_typeof_arg(node.rexpr) is not None):
            return self._typeof_compared(node)
        if op in _ROW_COMPARISONS and isinstance(node.lexpr, ast.RowExpr) \
                and isinstance(node.rexpr, ast.RowExpr) \
                and len(node.lexpr.args or ()) == len(node.rexpr.args or ()) > 0:
            return self._replaced(_row_comparison(op, node.lexpr.args, node.rexpr.args))
        if op in _REGEX:
            function, insensitive, negate = _REGEX[op]
            args = (node.lexpr, node.rexpr) + ((ast.A_Const(val=_string("i")),) if insensitive else ())
            call = ast.FuncCall(funcname=(_string(function),), args=args)
            return self._replaced(_negated(call) if negate else call)
        if op in _ARITHMETIC and node.lexpr is not None and _int4_beside_parameter(node):
            return self._changed(node)
        if op in _DIVISIONS:
            call = ast.FuncCall(funcname=_compat_function(_DIVISIONS[op]),
                                args=(node.lexpr, node.rexpr))
            return self._replaced(call)
        if op in _JSON_PATH_OPERATORS:
            path = ast.FuncCall(funcname=_compat_function("json_path"), args=(node.rexpr,))
            return self._replaced(ast.FuncCall(
                funcname=(_string(_JSON_PATH_OPERATORS[op]),), args=(node.lexpr, path)))
        if op == "?":
            key = ast.FuncCall(funcname=_compat_function("json_path"), args=(node.rexpr,))
            return self._replaced(ast.FuncCall(funcname=(_string("json_exists"),),
                                               args=(node.lexpr, key)))
        if op in ("@>", "<@"):
            left, right = (node.lexpr, node.rexpr) if op == "@>" else (node.rexpr, node.lexpr)
            if _is_jsonish(left) or _is_jsonish(right):
                return self._replaced(ast.FuncCall(funcname=(_string("json_contains"),),
                                                  args=(left, right)))
        if len(node.name) > 1:  # OPERATOR(pg_catalog.=): DuckDB knows the bare operator
            node.name = (_string(op),)
            return self._changed(node)
        return None

    def _like(self, node: ast.A_Expr, op: str):
        """LIKE / ILIKE / ``~~`` and their negations. PostgreSQL's pattern has an escape
        character, backslash unless ESCAPE names another; DuckDB's LIKE has none. A
        constant pattern without a backslash means the same to both and stays."""
        pattern, escape = node.rexpr, None
        if isinstance(pattern, ast.FuncCall) and len(pattern.args or ()) == 2 \
                and _qualified(pattern.funcname) in ((None, "like_escape"),
                                                     ("pg_catalog", "like_escape")):
            pattern, escape = pattern.args  # the parser's spelling of ESCAPE
        if escape is None:
            text = _const_string(pattern)
            if text is not None and "\\" not in text and len(node.name) == 1:
                return None  # (OPERATOR(pg_catalog.~~) is DuckDB's ~~ only as a call)
            escape = ast.A_Const(val=_string("\\"))
        return self._replaced(self._like_call(node.lexpr, pattern, escape, op))

    @staticmethod
    def _like_call(value, pattern, escape, op: str, *, code: bool = False):
        """The match as a boolean, or as the macros' code (``code``) for ANY / ALL."""
        insensitive, negate = _LIKE[op]
        name = ("pg_ilike" if insensitive else "pg_like") + ("_match" if code else "")
        call = ast.FuncCall(funcname=_compat_function(name), args=(value, pattern, escape))
        if negate:
            return ast.FuncCall(funcname=_compat_function("like_not"), args=(call,)) \
                if code else _negated(call)
        return call

    def _in_list(self, node: ast.A_Expr, op: str):
        """``x = ANY($1)`` / ``x <> ALL($1)``: DuckDB reads ANY of a list as a subquery
        over its unnest, which it cannot do for a parameter (nor an empty list), and
        types no parameter inside a lambda; list_contains types it from x. NULLs as
        PostgreSQL has them: no match and a NULL element (or x NULL) is NULL."""
        call = ast.FuncCall(funcname=_compat_function("in_list"), args=(node.rexpr, node.lexpr))
        return self._replaced(call if op == "=" else _negated(call))

    def _like_list(self, node: ast.A_Expr, op: str):
        """``x LIKE ANY / ALL (array)``, which DuckDB does not parse: the match of each
        pattern, combined as PostgreSQL does (any true / all true, else NULL if one is)."""
        patterns = node.rexpr
        text = _const_string(patterns)
        if text is not None:  # '{a,b}': PostgreSQL reads it as text[]
            elements = _array_literal(text)
            if elements is None:
                return None  # DuckDB refuses the statement
            patterns = ast.A_ArrayExpr(elements=tuple(
                ast.A_Const(isnull=True) if e is None else ast.A_Const(val=_string(e))
                for e in elements))
        patterns = ast.TypeCast(arg=patterns, typeName=ast.TypeName(
            names=(_string("varchar"),), typemod=-1, arrayBounds=(ast.Integer(ival=-1),)))
        element = ast.ColumnRef(fields=(_string(_LIKE_ELEMENT),))
        match = ast.A_Expr(kind=A_Expr_Kind.AEXPR_OP, name=(_string("->"),), lexpr=element,
                           rexpr=self._like_call(node.lexpr, element,
                                                 ast.A_Const(val=_string("\\")), op, code=True))
        matches = ast.FuncCall(funcname=(_string("list_transform"),), args=(patterns, match))
        combine = "like_any" if node.kind is A_Expr_Kind.AEXPR_OP_ANY else "like_all"
        return self._replaced(ast.FuncCall(funcname=_compat_function(combine), args=(matches,)))

    def visit_NullTest(self, ancestors, node: ast.NullTest):
        """``x IS [NOT] NULL`` of a row value as PostgreSQL reads it: true when every
        field is NULL (IS NULL) or none is (IS NOT NULL), not just the value itself
        (DuckDB's rule, and still this server's in DDL: a view or CHECK keeps its text).
        ROW(...) tests each field; an expression that may be a composite (a column, a
        field, a cast to a type not built in) goes through a macro that asks DuckDB
        whether it is a STRUCT, folded away for any other type."""
        if id(node) in self._null_tests or node.arg is None or _in_ddl(ancestors):
            return None
        is_null = node.nulltesttype is NullTestType.IS_NULL
        arg = node.arg
        if isinstance(arg, ast.RowExpr):
            if not arg.args:
                return None
            tests = []
            for field in arg.args:  # each field's own value, by DuckDB's rule
                test = ast.NullTest(arg=field, nulltesttype=node.nulltesttype)
                self._null_tests.add(id(test))
                tests.append(test)
            return self._replaced(tests[0] if len(tests) == 1 else ast.BoolExpr(
                boolop=BoolExprType.AND_EXPR, args=tuple(tests)))
        if not _maybe_composite(arg):
            return None
        macro = "row_is_null" if is_null else "row_is_not_null"
        return self._replaced(ast.FuncCall(funcname=_compat_function(macro), args=(arg,)))

    def visit_SubLink(self, ancestors, node: ast.SubLink):
        """``x LIKE ANY / ALL (SELECT ...)``: the subquery's patterns as a list, matched
        as above (DuckDB does not parse the operator before a subquery)."""
        _, op = _qualified(node.operName)
        if op not in _LIKE or node.subLinkType not in (SubLinkType.ANY_SUBLINK,
                                                       SubLinkType.ALL_SUBLINK):
            return None
        element = ast.ColumnRef(fields=(_string("_like_rows"), _string(_LIKE_ELEMENT)))
        match = self._like_call(node.testexpr, element, ast.A_Const(val=_string("\\")), op,
                                code=True)
        matches = ast.CoalesceExpr(args=(
            ast.FuncCall(funcname=(_string("list"),), args=(match,)),
            ast.A_ArrayExpr(elements=())))
        combine = "like_any" if node.subLinkType is SubLinkType.ANY_SUBLINK else "like_all"
        rows = ast.RangeSubselect(subquery=node.subselect, alias=ast.Alias(
            aliasname="_like_rows", colnames=(_string(_LIKE_ELEMENT),)))
        select = ast.SelectStmt(
            targetList=(ast.ResTarget(val=ast.FuncCall(funcname=_compat_function(combine),
                                                       args=(matches,))),),
            fromClause=(rows,))
        return self._replaced(ast.SubLink(subLinkType=SubLinkType.EXPR_SUBLINK,
                                          subselect=select))

    def _similar(self, node: ast.A_Expr):
        """SIMILAR TO matches the whole string against an SQL regular expression, which
        PostgreSQL turns into a POSIX one (similar_escape); DuckDB's SIMILAR TO takes the
        pattern as a regular expression as it is (``%`` would be literal)."""
        pattern, escape = node.rexpr, None
        if isinstance(pattern, ast.FuncCall) and _qualified(pattern.funcname)[1] == "similar_to_escape":
            pattern, escape = pattern.args[0], (pattern.args[1:] or (None,))[0]
        text = _const_string(pattern)
        escape_text = "\\" if escape is None else _const_string(escape)
        if text is not None and escape_text is not None:
            try:
                regex = ast.A_Const(val=_string(_similar_regex(text, escape_text)))
            except _PatternError as exc:
                regex = ast.FuncCall(funcname=(_string("error"),),
                                     args=(ast.A_Const(val=_string(str(exc))),))
        else:
            if escape is not None:  # to the default escape first
                pattern = ast.FuncCall(funcname=_compat_function("similar_pattern"),
                                       args=(pattern, escape))
            regex = ast.FuncCall(funcname=_compat_function("similar_to_regex"), args=(pattern,))
        call = ast.FuncCall(funcname=(_string("regexp_full_match"),), args=(node.lexpr, regex))
        _, op = _qualified(node.name)
        return self._replaced(_negated(call) if op.startswith("!") else call)

    def visit_CollateClause(self, ancestors, node: ast.CollateClause):
        _, name = _qualified(node.collname)
        if name.lower() in ("default", "c", "posix", "ucs_basic"):
            return self._replaced(node.arg) if node.arg is not None else None
        return None

    def visit_SelectStmt(self, ancestors, node: ast.SelectStmt):
        if node.lockingClause:
            node.lockingClause = None  # one writer per database file: rows are never contended
            self._changed(node)
        if _resolves_unknowns(ancestors):
            for target in node.targetList or ():
                if isinstance(target.val, ast.A_Const) and target.val.isnull:
                    # an untyped NULL result column is text in PostgreSQL (integer in
                    # DuckDB), except where a set operation or INSERT types it
                    target.name = target.name or "?column?"
                    target.val = _as_text(target.val)
                    self._changed(node)
        return None

    def visit_CreateStmt(self, ancestors, node: ast.CreateStmt):
        if node.options or node.tablespacename:
            node.options = None  # storage parameters (fillfactor, ...) mean nothing to DuckDB
            node.tablespacename = None
            self.changed = True
        for element in node.tableElts or ():
            if isinstance(element, ast.ColumnDef):
                self._serial(node.relation, element)
                if node.if_not_exists or not is_jsonb(element.typeName):
                    self._declared_length(element)  # (else a comment: sql/jsonb_alter.py)
        if foreign_keys.declare(node):  # kept by the server (sql/foreign_keys.py)
            self.changed = True
        return None

    def _declared_length(self, column: ast.ColumnDef) -> None:
        """varchar(n) / char(n): DuckDB keeps VARCHAR only, so the column gets a CHECK
        that enforces the length as PostgreSQL does and names the declared type
        (``DECLARED_TYPE_MARK``), which the catalog reads back and engine/errors.py turns
        into 22001 (docs/architecture.md, *Declared types*). jsonb (DuckDB's JSON, as
        json is) gets an always-true CHECK that only names the type."""
        declared = _declared_type(column.typeName)
        if declared is None or id(column) in self._typed or lake_ddl.active():
            return  # a DuckLake holds no CHECK: the column is plain text / json there
        self._typed.add(id(column))  # once: the statement may be visited again
        column.constraints = tuple(column.constraints or ()) + (ast.Constraint(
            contype=ConstrType.CONSTR_CHECK, raw_expr=_length_check(column.colname, *declared)),)
        self.changed = True

    def _serial(self, relation: ast.RangeVar, column: ast.ColumnDef) -> None:
        """SERIAL: a sequence named as PostgreSQL names it, and a NOT NULL column whose
        default draws from it."""
        _, name = _qualified(column.typeName.names)
        if name not in _SERIALS:
            return
        sequence = f"{relation.relname}_{column.colname}_seq"
        if relation.schemaname:
            schema = "main" if relation.schemaname.lower() == "public" else relation.schemaname
            sequence = f"{schema}.{sequence}"
        self.setup.append(f"CREATE SEQUENCE IF NOT EXISTS {sequence}")
        column.typeName = ast.TypeName(names=(_string(_SERIALS[name]),), typemod=-1)
        default = ast.FuncCall(funcname=(_string("nextval"),),
                               args=(ast.A_Const(val=_string(sequence)),))
        column.constraints = tuple(column.constraints or ()) + (
            ast.Constraint(contype=ConstrType.CONSTR_DEFAULT, raw_expr=default),
            ast.Constraint(contype=ConstrType.CONSTR_NOTNULL),
        )
        self.changed = True


#: The text that marks a CHECK constraint as a column's declared type, followed by
#: ``varchar(n)`` or ``bpchar(n)`` (engine/pg_catalog.py and engine/errors.py read it).
DECLARED_TYPE_MARK = catalog.DECLARED_TYPE_MARK


#: The CHECK of a declared varchar(n) / char(n) column ``x``: at most n characters, or
#: more only by spaces (PostgreSQL cuts those off; here they stay). Every function is
#: called by its qualified name in DuckDB's built-in catalog, ``system.main``: DuckDB
#: 1.5.5 binds a CHECK again when it replays an ALTER TABLE from its WAL, before a
#: default database is set, and an unqualified name cannot be looked up then (the
#: database would not open after a crash). Only functions of DuckDB's core library
#: are used: ``system.main.rtrim`` is in the core_functions extension, which is not
#: loaded yet at replay. The CASE settles most rows by their byte length (never less
#: than the character count) and runs the later tests only on the rest: an OR would
#: run all three on every row (1M rows of char(84): ~2.5x the INSERT's time, the CASE
#: ~1x). The mark stays last, where DECLARED_TYPE_PATTERN finds it.
_LENGTH_CHECK = ("SELECT CASE WHEN system.main.strlen(x) <= {n} THEN true "
                 "WHEN system.main.length(x) <= {n} THEN true "
                 "ELSE system.main.regexp_full_match(system.main.substring(x, {after}), ' *') "
                 "END OR '{mark}{kind}({n})' IS NULL")


#: The CHECK of a declared jsonb column ``x``: always true (DuckDB's JSON is both json
#: and jsonb), it only names the type for the catalog and for result columns
#: (engine/statement.py). No function in it, so WAL replay binds it.
_JSONB_CHECK = "SELECT x IS NULL OR x IS NOT NULL OR '{mark}jsonb' IS NULL"


def _length_check(column: str, kind: str, length: int | None) -> ast.Node:
    """The CHECK expression (``_LENGTH_CHECK``, or ``_JSONB_CHECK`` for jsonb) for
    ``column``; raises if a function in it is not qualified by ``system.main`` (which
    would not survive WAL replay)."""
    sql = (_JSONB_CHECK.format(mark=DECLARED_TYPE_MARK) if kind == "jsonb" else
           _LENGTH_CHECK.format(n=length, after=length + 1, mark=DECLARED_TYPE_MARK, kind=kind))
    expression = parse_sql(sql)[0].stmt.targetList[0].val

    class Columns(Visitor):
        def visit_ColumnRef(self, ancestors, node):
            return ast.ColumnRef(fields=(_string(column),))

        def visit_FuncCall(self, ancestors, node):
            names = tuple(n.sval for n in node.funcname)
            if names[:2] != ("system", "main"):
                raise ValueError(f"unqualified {names} in a declared type's CHECK")

    Columns()(expression)
    return expression


def _declared_type(type_name: ast.TypeName | None) -> tuple[str, int | None] | None:
    """("varchar" | "bpchar", n) for a scalar varchar(n) / char(n) column type,
    ("jsonb", None) for a scalar jsonb one."""
    if type_name is None or type_name.arrayBounds:
        return None
    schema, name = _qualified(type_name.names)
    if name == "jsonb" and schema in (None, "pg_catalog") and not type_name.typmods:
        return "jsonb", None
    if not type_name.typmods or len(type_name.typmods) != 1:
        return None
    if schema not in (None, "pg_catalog") or name not in ("varchar", "bpchar"):
        return None
    length = type_name.typmods[0]
    if not (isinstance(length, ast.A_Const) and isinstance(length.val, ast.Integer)):
        return None
    return name, length.val.ival


#: DuckDB join kinds PostgreSQL's grammar reads as a table alias (``t ASOF JOIN u`` is
#: ``t AS asof JOIN u`` to it): such a statement is DuckDB's, and runs as written.
_DUCKDB_JOINS = frozenset({"asof", "positional", "anti", "semi"})
_JOIN_SIDES = frozenset({"LEFT", "RIGHT", "FULL", "INNER", "OUTER"})


def _duckdb_join(sql: str) -> bool:
    """``t ASOF [LEFT] JOIN u``: PostgreSQL's parser reads the word as t's alias, but it
    is DuckDB's join. Anywhere else (``FROM t asof``, ``select asof``) it is a name."""
    tokens = tokenize(sql)
    for i, token in enumerate(tokens):
        if token.kind is Kind.WORD and token.value.lower() in _DUCKDB_JOINS:
            following = iter(tokens[i + 1:])
            word = next(following, None)
            while word is not None and word.value in _JOIN_SIDES:
                word = next(following, None)
            if word is not None and word.kind is Kind.WORD and word.value == "JOIN":
                return True
    return False


class _Survey(Visitor):
    """One walk for what the rewrites need to know first: the CTE names (a CTE may
    shadow a catalog relation), the aliases, and whether a name anywhere (relation,
    column, schema, index, alias, CTE, argument, ...) is a word DuckDB reserves and
    PostgreSQL does not: then the statement is printed back, which quotes it."""

    def __init__(self) -> None:
        super().__init__()
        self.ctes: set[str] = set()
        self.aliases: set[str] = set()
        self.duckdb_keyword = False
        self.reads_catalog = False  # pg_catalog / information_schema

    def visit_RangeVar(self, ancestors, node):
        schema = (node.schemaname or "").lower()
        self.reads_catalog |= schema in ("pg_catalog", "information_schema") or (
            not schema and node.relname in catalog.RELATIONS)
        return self.visit(ancestors, node)

    def visit(self, ancestors, node):
        if self.duckdb_keyword:
            return None
        if isinstance(node, ast.String):
            # a string constant, or a function's or type's name (printed quoted, "map"(..)
            # or "columns"(..) would no longer be DuckDB's function), is not a name here
            if isinstance(ancestors.node, ast.A_Const) or ancestors.parent is not None and (
                    ancestors.parent.member == "funcname"
                    or isinstance(ancestors.parent.node, ast.TypeName)):
                return None
        self.duckdb_keyword = any(getattr(node, member) in DUCKDB_ONLY_KEYWORDS
                                  for member in _text_members(type(node)))
        return None

    def visit_CommonTableExpr(self, ancestors, node):
        self.ctes.add(node.ctename)
        return self.visit(ancestors, node)

    def visit_Alias(self, ancestors, node):
        self.aliases.add(node.aliasname)
        return self.visit(ancestors, node)

    def visit_ResTarget(self, ancestors, node):
        if node.name in _LABEL_KEYWORDS and ancestors.parent is not None \
                and ancestors.parent.member in ("targetList", "returningList"):
            # maybe a bare label (no AS), which DuckDB takes for no keyword: printed
            # back, every label has its AS
            self.duckdb_keyword = True
        return self.visit(ancestors, node)


_TEXT_MEMBERS: dict[type, tuple[str, ...]] = {}


def _text_members(cls: type) -> tuple[str, ...]:
    """The members of a node class that hold text (names, mostly), found once."""
    members = _TEXT_MEMBERS.get(cls)
    if members is None:
        members = _TEXT_MEMBERS[cls] = tuple(
            member for member, info in cls.__slots__.items() if info.c_type == "char*")
    return members


#: PostgreSQL's interval field bits (INTERVAL_MASK), least significant field first.
_INTERVAL_FIELDS = ((1 << 12, "second"), (1 << 11, "minute"), (1 << 10, "hour"),
                    (1 << 3, "day"), (1 << 1, "month"), (1 << 2, "year"))
_NUMBER_TEXT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")


def _as_integer(node: object) -> ast.TypeCast:
    return ast.TypeCast(arg=node, typeName=ast.TypeName(names=(_string("integer"),), typemod=-1))


def _as_text(node: object) -> ast.TypeCast:
    return ast.TypeCast(arg=node, typeName=ast.TypeName(names=(_string("text"),), typemod=-1))


def _resolves_unknowns(ancestors) -> bool:
    """Whether PostgreSQL gives this SELECT's untyped result columns the type text: not
    for a branch of a set operation or the rows of an INSERT (their context types
    them), nor, here, inside a sublink (left as DuckDB types it)."""
    parent = ancestors.node if ancestors is not None else None
    if isinstance(parent, ast.InsertStmt) or (isinstance(parent, ast.SelectStmt)
                                              and ancestors.member in ("larg", "rarg")):
        return False
    return not _inside(ancestors, ast.SubLink)


def _inside(ancestors, kind: type) -> bool:
    while ancestors is not None and ancestors.node is not None:
        if isinstance(ancestors.node, kind):
            return True
        ancestors = ancestors.parent
    return False


def _strftime_template(template: str) -> str:
    out = []
    i = 0
    while i < len(template):
        for pattern, code in _DATETIME_PATTERNS:
            if template.startswith(pattern, i):
                out.append(code)
                i += len(pattern)
                break
        else:
            out.append("%%" if template[i] == "%" else template[i])
            i += 1
    return "".join(out)


def _negated(node: object) -> ast.BoolExpr:
    return ast.BoolExpr(boolop=BoolExprType.NOT_EXPR, args=(node,))


class _PatternError(ValueError):
    """A SIMILAR TO pattern PostgreSQL refuses (the message is PostgreSQL's)."""


def _similar_regex(pattern: str, escape: str) -> str:
    """SIMILAR TO's pattern as the regular expression PostgreSQL matches it with
    (similar_escape in regexp.c): ``escape`` ('' for none) makes the next character
    literal, and escape-double-quote (SUBSTRING's separator) does not change a match."""
    if len(escape) > 1:
        raise _PatternError("invalid escape string")
    out = ["^(?:"]
    after_escape = in_class = False
    quotes = 0
    for char in pattern:
        if after_escape:
            if char == '"' and not in_class:
                quotes += 1
                if quotes > 2:
                    raise _PatternError("SQL regular expression may not contain more than "
                                        "two escape-double-quote separators")
            else:
                out.append(_ARE_ESCAPES.get(char, "\\" + char))
            after_escape = False
        elif escape and char == escape:
            after_escape = True
        elif in_class:
            out.append("\\\\" if char == "\\" else char)
            in_class = char != "]"
        elif char == "[":
            out.append(char)
            in_class = True
        else:
            out.append(_SIMILAR_CHARS.get(char, char))
    out.append(")$")
    return "".join(out)


#: Escapes PostgreSQL's regular expressions (ARE) read otherwise than DuckDB's (RE2).
_ARE_ESCAPES = {"b": "\\x08", "B": "\\\\", "y": "\\b", "Y": "\\B", "Z": "\\z",
                "e": "\\x1b"}
_SIMILAR_CHARS = {"%": ".*", "_": ".", "(": "(?:", "\\": "\\\\", ".": "\\.", "^": "\\^",
                  "$": "\\$"}


def _array_value(type_name: ast.TypeName, text: str) -> ast.TypeCast:
    """'{1,2}'::int[] read as PostgreSQL's array_in reads it (DuckDB's list cast reads
    '[1, 2]' only): a list of the elements, each cast from its text to the element type
    (so each gets that type's own input rules), nested one level per dimension. The
    list is cast to the array type at its nesting depth: DuckDB's int[] holds one
    dimension, PostgreSQL's any number. Malformed text is PostgreSQL's error, raised
    when the statement runs; explicit lower bounds other than 1 are refused, since a
    DuckDB list always starts at 1 and dropping them would move every subscript."""
    element = ast.TypeName(names=type_name.names, typmods=type_name.typmods, typemod=-1)

    def build(value) -> object:
        if isinstance(value, list):
            return ast.A_ArrayExpr(elements=tuple(build(v) for v in value))
        if value is None:
            return ast.TypeCast(arg=ast.A_Const(isnull=True), typeName=element)
        return ast.TypeCast(arg=ast.A_Const(val=_string(value)), typeName=element)

    def depth(value) -> int:
        return 1 + depth(value[0]) if value and isinstance(value[0], list) else 1

    try:
        nested, lower = array_literal(text)
        if any(bound != 1 for bound in lower):
            raise PgError(SqlState.FEATURE_NOT_SUPPORTED,
                          "array lower bounds other than 1 are not supported",
                          detail=f'The array literal is "{text}".')
        value = build(nested)
    except PgError as exc:
        message = exc.message if exc.detail is None else f"{exc.message}\n{exc.detail}"
        value = ast.FuncCall(funcname=(_string("error"),),
                             args=(ast.A_Const(val=_string(message)),))
        nested = []
    array = ast.TypeName(names=type_name.names, typemod=-1,
                         arrayBounds=(ast.Integer(ival=-1),) * depth(nested))
    return ast.TypeCast(arg=value, typeName=array)


#: Type names a '(...)' string is never a record literal of (PostgreSQL's own types;
#: pglast qualifies the keyword ones, int4 and the like, with pg_catalog).
_NOT_COMPOSITE = frozenset(
    {name for _, name, _, _, _ in catalog._BASE_TYPES} | set(_TYPES) | set(_TYPES.values())
    | {"text", "varchar", "bpchar", "json", "uuid", "date", "bytea", "point", "box", "lseg",
       "line", "circle", "path", "polygon", "interval", "numeric", "bool", "record", "int",
       "integer", "smallint", "bigint", "real", "float", "double", "boolean", "character",
       "decimal", "timestamp", "timestamptz", "time", "timetz", "bit", "varbit", "regtype",
       "regclass", "hugeint", "blob", "string"})


def _record_value(node: ast.TypeCast, text: str) -> ast.CaseExpr | None:
    """'(1,x)'::t for a composite type t, read with record_in's rules (wire/records.py):
    the literal in DuckDB's STRUCT text, which is what a STRUCT type casts from a
    string. Only DuckDB knows whether t is a STRUCT type (an enum's label could be
    '(x)'), so the statement asks it: CASE WHEN typeof(NULL::t) is a STRUCT, the
    rewritten text, else the literal as written. Text that is no record literal stays."""
    schema, name = _qualified(node.typeName.names)
    if schema == "pg_catalog" or name in _NOT_COMPOSITE or name in _PARAM_OIDS:
        return None
    try:
        value: object = ast.A_Const(val=_string(records.to_duckdb(text)))
    except PgError as exc:  # record_in's error, raised if t is a composite type
        value = ast.FuncCall(funcname=(_string("error"),), args=(
            ast.A_Const(val=_string(f"{exc.message}\n{exc.detail}")),))
    type_name = ast.TypeName(names=node.typeName.names, typmods=node.typeName.typmods,
                             typemod=-1)
    typeof = ast.FuncCall(funcname=(_string("typeof"),), args=(
        ast.TypeCast(arg=ast.A_Const(isnull=True), typeName=type_name),))
    is_struct = ast.A_Expr(kind=A_Expr_Kind.AEXPR_LIKE, name=(_string("~~"),), lexpr=typeof,
                           rexpr=ast.A_Const(val=_string("STRUCT(%")))
    return ast.CaseExpr(
        args=(ast.CaseWhen(expr=is_struct, result=ast.TypeCast(arg=value,
                                                               typeName=type_name)),),
        defresult=ast.TypeCast(arg=ast.A_Const(val=_string(text)), typeName=type_name))


_ROW_COMPARISONS = frozenset({"=", "<>", "!=", "<", "<=", ">", ">="})
#: Statements whose expressions DuckDB stores (a view, a CHECK, a default, an index):
#: their IS NULL keeps DuckDB's rule rather than call this server's catalog macros.
_DDL_NODES = (ast.CreateStmt, ast.AlterTableStmt, ast.ViewStmt, ast.IndexStmt,
              ast.CreateTableAsStmt, ast.CreateFunctionStmt, ast.CreateDomainStmt)


def _in_ddl(ancestors) -> bool:
    while ancestors is not None:
        if isinstance(ancestors.node, _DDL_NODES):
            return True
        ancestors = ancestors.parent
    return False


def _maybe_composite(arg: object) -> bool:
    """An expression that may be of a composite type: a column, a field or element of
    one, or a cast to a type that is not built in. (Not a bare parameter: ``$1 IS
    NULL`` must leave DuckDB free to type $1 by the rest of the statement.)"""
    if isinstance(arg, (ast.ColumnRef, ast.A_Indirection)):
        return True
    if isinstance(arg, ast.TypeCast) and arg.typeName is not None \
            and not arg.typeName.arrayBounds:
        schema, name = _qualified(arg.typeName.names)
        return not (schema == "pg_catalog" or name.lower() in _NOT_COMPOSITE)
    return False


def _row_comparison(op: str, left: tuple, right: tuple) -> ast.Node:
    """ROW(a, b) op ROW(c, d) as PostgreSQL reads it: field by field, with SQL's NULL
    rules (ROW(1, NULL) = ROW(1, NULL) is NULL). DuckDB compares the two STRUCTs as
    values, where NULL equals NULL and sorts last (PostgreSQL's rule for composite
    values, record_eq / record_lt, which is what a comparison of columns gets here)."""
    def compare(operator: str, a: object, b: object) -> ast.A_Expr:
        return ast.A_Expr(kind=A_Expr_Kind.AEXPR_OP, name=(_string(operator),), lexpr=a,
                          rexpr=b)

    if op in ("=", "<>", "!="):
        pairs = [compare("=", a, b) for a, b in zip(left, right, strict=True)]
        both = pairs[0] if len(pairs) == 1 else ast.BoolExpr(
            boolop=BoolExprType.AND_EXPR, args=tuple(pairs))
        return both if op == "=" else _negated(both)
    # lexicographic: the first pair that is not equal (or is NULL) decides
    strict = op[0]
    result: ast.Node = compare(op, left[-1], right[-1])
    for a, b in zip(reversed(left[:-1]), reversed(right[:-1]), strict=True):
        result = ast.BoolExpr(boolop=BoolExprType.OR_EXPR, args=(
            compare(strict, a, b), ast.BoolExpr(boolop=BoolExprType.AND_EXPR, args=(
                compare("=", a, b), result))))
    return result


def _array_literal(text: str) -> list[str | None] | None:
    """The elements of a one-dimensional PostgreSQL array literal ('{a,"b c",NULL}'),
    or None for anything else (DuckDB then reports it)."""
    text = text.strip()
    if len(text) < 2 or text[0] != "{" or text[-1] != "}":
        return None
    body = text[1:-1]
    if not body.strip():
        return []
    elements: list[str | None] = []
    i, n = 0, len(body)
    while True:
        while i < n and body[i].isspace():
            i += 1
        value, quoted = [], False
        if i < n and body[i] == '"':
            quoted, i = True, i + 1
            while i < n and body[i] != '"':
                if body[i] == "\\":
                    i += 1
                if i < n:
                    value.append(body[i])
                i += 1
            if i >= n:
                return None
            i += 1
        else:
            while i < n and body[i] != ",":
                if body[i] in '{}"':
                    return None
                if body[i] == "\\":
                    i += 1
                if i < n:
                    value.append(body[i])
                i += 1
        while i < n and body[i].isspace():
            i += 1
        item = "".join(value) if quoted else "".join(value).rstrip()
        elements.append(None if not quoted and item.upper() == "NULL" else item)
        if i >= n:
            return elements
        if body[i] != ",":
            return None
        i += 1


def _is_jsonish(node: object) -> bool:
    """A cast to json/jsonb or a json-looking literal: ``@>`` then means containment of
    json, not of arrays."""
    if isinstance(node, ast.TypeCast):
        _, name = _qualified(node.typeName.names)
        return name in ("json", "jsonb")
    text = _const_string(node)
    return text is not None and text.lstrip()[:1] in ("{", "[")


def _statement_rewrites(stmt: object, rewriter: _Rewriter) -> list[str]:
    """Statements DuckDB runs as several: DROP of many objects (one each). Returns the
    texts in order, or [] when the statement stays one."""
    if isinstance(stmt, ast.DropStmt) and stmt.removeType == ObjectType.OBJECT_TYPE:
        return _drop_types(stmt, rewriter)
    if isinstance(stmt, ast.DropStmt) and stmt.objects and len(stmt.objects) > 1:
        return _one_each(stmt, "objects", rewriter)
    if isinstance(stmt, ast.TruncateStmt) and stmt.relations and len(stmt.relations) > 1:
        return _one_each(stmt, "relations", rewriter)
    if isinstance(stmt, ast.CompositeTypeStmt):
        rewriter.changed = True
        return _composite_type(stmt)
    return []


def _composite_type(stmt: ast.CompositeTypeStmt) -> list[str]:
    """CREATE TYPE t AS (a int, b text) as DuckDB's STRUCT type of those fields (its
    values go out as records: wire/text.py), then the view of its fields the catalog
    shows as t's relkind 'c' relation (pg_catalog.COMPOSITE_PREFIX): DuckDB lists no
    STRUCT type's fields anywhere else. The field types are the rewritten ones."""
    var = stmt.typevar
    schema = _duckdb_schema(var.schemaname)
    name = ".".join(_quote_name(part) for part in (schema, var.relname) if part)
    view = ".".join(_quote_name(part) for part in (
        schema, catalog.COMPOSITE_PREFIX + var.relname) if part)
    fields = ", ".join(f"{_quote_name(column.colname)} {RawStream()(column.typeName)}"
                       for column in stmt.coldeflist or ())
    if not fields:  # PostgreSQL allows a composite of no fields; DuckDB's STRUCT not
        raise PgError(SqlState.FEATURE_NOT_SUPPORTED,
                      "a composite type without attributes is not supported")
    return [f"CREATE TYPE {name} AS STRUCT({fields})",
            f"CREATE OR REPLACE VIEW {view} AS SELECT unnest(NULL::{name})"]


def _duckdb_schema(schema: str | None) -> str | None:
    return "main" if (schema or "").lower() == "public" else schema


def _drop_types(stmt: ast.DropStmt, rewriter: _Rewriter) -> list[str]:
    """DROP TYPE, one type at a time, each after the view of its fields (if it is a
    composite type: _composite_type)."""
    texts = []
    for obj in stmt.objects:
        schema, name = _qualified(obj.names)
        view = ".".join(_quote_name(part) for part in (
            _duckdb_schema(schema), catalog.COMPOSITE_PREFIX + name) if part)
        texts.append(f"DROP VIEW IF EXISTS {view}")
        stmt.objects = (obj,)
        texts.append(RawStream()(stmt))
    rewriter.changed = True
    return texts


def _quote_name(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _one_each(stmt: object, attribute: str, rewriter: _Rewriter) -> list[str]:
    texts = []
    for obj in getattr(stmt, attribute):
        setattr(stmt, attribute, (obj,))
        texts.append(RawStream()(stmt))
    rewriter.changed = True
    return texts


_SIGNALS = {"pg_cancel_backend": "cancel", "pg_terminate_backend": "terminate"}


def _backend_signals(stmt: object, rewriter: _Rewriter) -> list[tuple[int, str]]:
    """Select-list functions that act on the session or the server, not on data.

    pg_cancel_backend(pid) / pg_terminate_backend(pid) become the pid (as integer): the
    session signals those backends and shows true/false instead. set_config(name,
    value, is_local) becomes its three arguments as text: the session applies each as
    SET [LOCAL] would and shows the value set; pg_notify(channel, payload) its two,
    sent as NOTIFY sends them. Anywhere else these stay (DuckDB has no
    pg_cancel_backend; the catalog's set_config only returns its value)."""
    if not isinstance(stmt, ast.SelectStmt) or stmt.larg is not None:
        return []
    signals = []
    for index, target in enumerate(stmt.targetList or ()):
        call = target.val
        if not isinstance(call, ast.FuncCall) or not call.args:
            continue
        schema, name = _qualified(call.funcname)
        if schema not in (None, "pg_catalog"):
            continue
        if name in _SIGNALS:
            target.val = _as_integer(call.args[0])
            signals.append((index, _SIGNALS[name]))
        elif name == "set_config" and len(call.args) == 3:
            target.val = ast.A_ArrayExpr(elements=tuple(_as_text(arg) for arg in call.args))
            signals.append((index, "set_config"))
        elif name == "pg_notify" and len(call.args) == 2:
            target.val = ast.A_ArrayExpr(elements=tuple(_as_text(arg) for arg in call.args))
            signals.append((index, "notify"))
        else:
            continue
        target.name = target.name or name
        rewriter.changed = True
    return signals


# -- json or jsonb ----------------------------------------------------------------------

#: Functions PostgreSQL types json though their names do not start with json_.
_JSON_FUNCTIONS = frozenset({"to_json", "array_to_json", "row_to_json"})
#: Operators whose result has the type of their (json or jsonb) left operand.
_JSON_OPERATORS = frozenset({"->", "#>", "-", "#-", "||"})


def _char_types(stmt: object) -> tuple[tuple[int, int], ...]:
    """(result column, n) for each select-list expression that is a cast to char(n):
    PostgreSQL sends its value blank-padded to n, as bpchar(n); up to the first ``*``.
    (The cast's value is stripped of trailing blanks, as char(n) columns store it.)"""
    if not isinstance(stmt, ast.SelectStmt) or stmt.larg is not None:
        return ()
    found = []
    for index, target in enumerate(stmt.targetList or ()):
        value = target.val
        if isinstance(value, ast.ColumnRef) and isinstance(value.fields[-1], ast.A_Star):
            break
        if isinstance(value, ast.TypeCast) and _declared_type(value.typeName) is not None \
                and _declared_type(value.typeName)[0] == "bpchar":
            found.append((index, _declared_type(value.typeName)[1]))
    return tuple(found)


def _json_types(stmt: object) -> tuple[tuple[int, str], ...]:
    """(result column, kind) for each select-list (or RETURNING) expression whose type
    PostgreSQL makes json or jsonb and the text shows (``_json_kind``); up to the first
    ``*``, after which positions are unknown. A set operation takes its first branch's
    (PostgreSQL's would be the same type in every branch)."""
    if isinstance(stmt, ast.SelectStmt):
        while stmt.larg is not None:
            stmt = stmt.larg
        targets = stmt.targetList
    elif isinstance(stmt, (ast.InsertStmt, ast.UpdateStmt, ast.DeleteStmt)):
        targets = stmt.returningList
    else:
        return ()
    found = []
    for index, target in enumerate(targets or ()):
        if isinstance(target.val, ast.ColumnRef) and isinstance(target.val.fields[-1],
                                                                 ast.A_Star):
            break
        kind = _json_kind(target.val)
        if kind is None:
            continue
        if kind.startswith("column:"):
            continue  # the engine follows a column to its table (engine/jsonb_typing.py)
        found.append((index, kind))
    return tuple(found)


def _json_kind(node: object, depth: int = 0) -> str | None:
    """"json" or "jsonb" for an expression PostgreSQL types so (a cast, a json /
    jsonb function, an operator on one), "column:<name>" for a column (or an operator
    on one) whose declared type decides, "param:<n>" for a parameter whose type does;
    None where the text does not tell."""
    if depth > 32:
        return None
    if isinstance(node, ast.TypeCast):
        _, name = _qualified(node.typeName.names)
        if name in ("json", "jsonb") and not node.typeName.arrayBounds:
            return name
        return None
    if isinstance(node, ast.FuncCall):
        schema, name = _qualified(node.funcname)
        if schema not in (None, "pg_catalog"):
            return None
        if name.startswith("jsonb_") or name == "to_jsonb":
            return "jsonb"
        if name.startswith("json_") or name in _JSON_FUNCTIONS:
            return "json"
        return None
    if isinstance(node, ast.A_Expr) and node.kind is A_Expr_Kind.AEXPR_OP \
            and len(node.name) == 1 and node.name[0].sval in _JSON_OPERATORS:
        left = _json_kind(node.lexpr, depth + 1) if node.lexpr is not None else None
        if node.name[0].sval == "||" and left is None:
            return _json_kind(node.rexpr, depth + 1)
        return left
    if isinstance(node, ast.ColumnRef):
        last = node.fields[-1]
        return f"column:{last.sval}" if isinstance(last, ast.String) else None
    if isinstance(node, ast.ParamRef):
        return f"param:{node.number}"
    if isinstance(node, ast.CoalesceExpr):
        for arg in node.args or ():
            if (kind := _json_kind(arg, depth + 1)) is not None:
                return kind
        return None
    if isinstance(node, ast.CaseExpr):
        for branch in (*(w.result for w in node.args or ()), node.defresult):
            if branch is not None and (kind := _json_kind(branch, depth + 1)) is not None:
                return kind
        return None
    return None


# -- result column names ----------------------------------------------------------------

def _name_targets(stmt: object, rewriter: _Rewriter) -> None:
    """Give each unnamed result column the name PostgreSQL would (``count``,
    ``?column?``, ``int4``...): DuckDB names them by their text (``count_star()``), and
    clients read columns by name."""
    if isinstance(stmt, ast.SelectStmt):
        while stmt.larg is not None:  # a set operation is named by its first branch
            stmt = stmt.larg
        targets = stmt.targetList
    elif isinstance(stmt, (ast.InsertStmt, ast.UpdateStmt, ast.DeleteStmt)):
        targets = stmt.returningList
    else:
        return
    for target in targets or ():
        if isinstance(target.val, ast.ColumnRef) and _is_vector(target.val):
            # int2vector/oidvector columns go out in their text form, '1 2'
            target.name = target.name or _colname(target.val)[0]
            target.val = ast.FuncCall(funcname=(_string("array_to_string"),),
                                      args=(target.val, ast.A_Const(val=_string(" "))))
            rewriter.changed = True
        if target.name is not None or isinstance(target.val, ast.ColumnRef) \
                or isinstance(target.val, ast.A_Indirection) \
                and isinstance(target.val.indirection[-1], ast.A_Star):
            continue  # (v).* is several columns, named after the fields
        target.name = _colname(target.val)[0]
        rewriter.changed = True


#: Catalog columns PostgreSQL types int2vector / oidvector: lists in our catalog, but
#: subscripted from 0 and printed as '1 2'.
_VECTOR_COLUMNS = frozenset({"indkey", "indoption", "indclass", "indcollation", "proargtypes"})


def _is_vector(node: ast.ColumnRef) -> bool:
    last = node.fields[-1]
    return isinstance(last, ast.String) and last.sval in _VECTOR_COLUMNS


_FUNCTION_LIKE = {ast.A_ArrayExpr: "array", ast.RowExpr: "row", ast.CoalesceExpr: "coalesce",
                  ast.GroupingFunc: "grouping"}


def _colname(node: object) -> tuple[str, int]:
    """PostgreSQL's FigureColnameInternal: (name, strength), strength 0 for ?column?."""
    if isinstance(node, ast.ColumnRef):
        last = node.fields[-1]
        return (last.sval, 2) if isinstance(last, ast.String) else ("?column?", 0)
    if isinstance(node, ast.A_Indirection):
        last = node.indirection[-1]
        if isinstance(last, ast.String):
            return last.sval, 2
        return _colname(node.arg)
    if isinstance(node, ast.FuncCall):
        return _qualified(node.funcname)[1], 2
    if isinstance(node, ast.A_Expr):
        if node.kind is A_Expr_Kind.AEXPR_NULLIF:
            return "nullif", 2
        return "?column?", 0
    if isinstance(node, ast.TypeCast):
        name, strength = _colname(node.arg)
        if strength <= 1:
            return _qualified(node.typeName.names)[1], 1
        return name, strength
    if isinstance(node, ast.CollateClause):
        return _colname(node.arg)
    if isinstance(node, ast.SubLink):
        if node.subLinkType is SubLinkType.EXISTS_SUBLINK:
            return "exists", 2
        if node.subLinkType is SubLinkType.ARRAY_SUBLINK:
            return "array", 2
        if node.subLinkType is SubLinkType.EXPR_SUBLINK:
            inner = node.subselect
            while isinstance(inner, ast.SelectStmt) and inner.larg is not None:
                inner = inner.larg
            if isinstance(inner, ast.SelectStmt) and inner.targetList:
                first = inner.targetList[0]
                return (first.name, 2) if first.name else _colname(first.val)
        return "?column?", 0
    if isinstance(node, ast.CaseExpr):
        name, strength = _colname(node.defresult) if node.defresult is not None else ("", 0)
        return (name, strength) if strength > 1 else ("case", 1)
    if isinstance(node, ast.MinMaxExpr):
        return ("greatest" if node.op == 0 else "least"), 2
    if isinstance(node, ast.SQLValueFunction):
        return _SVF_NAMES.get(node.op, "?column?"), 2
    if type(node) in _FUNCTION_LIKE:
        return _FUNCTION_LIKE[type(node)], 2
    return "?column?", 0


_SVF_NAMES = {
    SQLValueFunctionOp.SVFOP_CURRENT_DATE: "current_date",
    SQLValueFunctionOp.SVFOP_CURRENT_TIME: "current_time",
    SQLValueFunctionOp.SVFOP_CURRENT_TIME_N: "current_time",
    SQLValueFunctionOp.SVFOP_CURRENT_TIMESTAMP: "current_timestamp",
    SQLValueFunctionOp.SVFOP_CURRENT_TIMESTAMP_N: "current_timestamp",
    SQLValueFunctionOp.SVFOP_LOCALTIME: "localtime",
    SQLValueFunctionOp.SVFOP_LOCALTIME_N: "localtime",
    SQLValueFunctionOp.SVFOP_LOCALTIMESTAMP: "localtimestamp",
    SQLValueFunctionOp.SVFOP_LOCALTIMESTAMP_N: "localtimestamp",
    SQLValueFunctionOp.SVFOP_CURRENT_ROLE: "current_role",
    SQLValueFunctionOp.SVFOP_CURRENT_USER: "current_user",
    SQLValueFunctionOp.SVFOP_USER: "current_user",
    SQLValueFunctionOp.SVFOP_SESSION_USER: "session_user",
    SQLValueFunctionOp.SVFOP_CURRENT_CATALOG: "current_catalog",
    SQLValueFunctionOp.SVFOP_CURRENT_SCHEMA: "current_schema",
}
