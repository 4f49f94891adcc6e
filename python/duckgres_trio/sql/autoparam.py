"""Which constants of a simple Query's SELECT may be bound as parameters instead.

pgbench -S and BI tools send one SELECT again and again with a different number in
its WHERE clause; bound as a parameter, the number leaves a text that repeats, whose
DuckDB plan the session keeps (frontend/text_plans.py). That is only done where the
answer cannot change: the result must be the plain run's byte for byte (column names,
types, rows, errors). So a constant is taken only when

- it is a bare integer (digits only) whose digits fit int64, perhaps with a unary minus
  before it (``a = -5``, ``-5 < a``: the constant is then the negative number), bound
  with the type DuckDB gives the literal, which is its digits' (``$n::INTEGER`` when
  they fit int32, else ``$n::BIGINT``; ``-2147483648`` is a BIGINT): the comparison
  happens in the same types as with the literal (``int_col = 3000000000`` stays false);
- it is one side of ``=``, ``<>``, ``!=``, ``<``, ``<=``, ``>``, ``>=`` whose other side
  is a plain (perhaps qualified) column name, with nothing around the comparison that
  binds tighter (only ``WHERE``/``AND``/``OR``/``NOT``/``(`` before, ``AND``/``OR``/``)``/a
  clause's first word/the end after; no ``BETWEEN`` whose ``AND`` could be mistaken);
- the comparison is in a WHERE clause of a query whose result columns it cannot name:
  not in a select list, ORDER BY, GROUP BY, HAVING, LIMIT, a JOIN's ON or an
  aggregate's ``FILTER (WHERE ...)`` (DuckDB names an unaliased column by its
  expression's text), at any depth.

The column's type is checked when the plan is made (frontend/text_plans.py prepares the
text with uncast ``$n``, whose types DuckDB takes from the columns): only numeric
columns whose comparison with an INTEGER or BIGINT is the literal's (``SAFE_TYPES``).
A string, a cast, a typed literal, LIMIT's count, an IN list: all stay in the text,
whose plan is then kept per text as before.
"""

from __future__ import annotations

from dataclasses import dataclass

from duckgres_trio.sql.lexer import Kind, Token

_INT32 = (1 << 31) - 1
_INT64 = (1 << 63) - 1

_COMPARISONS = frozenset({"=", "<>", "!=", "<", "<=", ">", ">="})
#: What may stand before the comparison (nothing there binds tighter than it).
_BEFORE = frozenset({"WHERE", "AND", "OR", "NOT", "("})
#: What may follow it.
_AFTER = frozenset({"AND", "OR", ")", "GROUP", "ORDER", "LIMIT", "OFFSET", "HAVING",
                    "UNION", "INTERSECT", "EXCEPT", "WINDOW", "QUALIFY"})
#: Words that start a clause: a comparison counts where the nearest one is WHERE.
_CLAUSES = {"SELECT": "SELECT", "FROM": "FROM", "JOIN": "FROM", "WHERE": "WHERE",
            "GROUP": "OTHER", "HAVING": "OTHER", "ORDER": "OTHER", "LIMIT": "OTHER",
            "OFFSET": "OTHER", "WINDOW": "OTHER", "QUALIFY": "OTHER", "ON": "OTHER",
            "USING": "OTHER", "UNION": "OTHER", "INTERSECT": "OTHER", "EXCEPT": "OTHER",
            "FETCH": "OTHER", "VALUES": "OTHER", "WITH": "WITH"}
#: Clauses around a subquery whose WHERE may still be parameterised: they cannot name
#: a result column after the subquery's text.
_ENCLOSING = frozenset({"", "FROM", "WHERE", "WITH"})
#: Words that look like a column name but are not one.
_NOT_COLUMNS = frozenset({
    "NULL", "TRUE", "FALSE", "DEFAULT", "NOT", "ALL", "ANY", "SOME", "EXISTS", "ARRAY",
    "CASE", "WHEN", "THEN", "ELSE", "END", "CURRENT_DATE", "CURRENT_TIME",
    "CURRENT_TIMESTAMP", "LOCALTIME", "LOCALTIMESTAMP", "CURRENT_USER", "SESSION_USER",
    "USER", "CURRENT_ROLE", "CURRENT_CATALOG", "CURRENT_SCHEMA", "SELECT", "WHERE",
    "AND", "OR", "INTERVAL", "ROW"})
#: A statement with one of these words is left alone (it may write, or is no plain query).
_REFUSED_WORDS = frozenset({"INTO", "FOR", "INSERT", "UPDATE", "DELETE", "MERGE",
                            "RETURNING", "BETWEEN", "PIVOT", "UNPIVOT", "FILTER"})

#: DuckDB types (as Arrow reports a parameter inferred from the column) whose comparison
#: with an INTEGER or BIGINT parameter gives what the literal's gives (differential
#: tests in tests/test_simple_plans.py).
SAFE_TYPES = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
              "double", "decimal128")
#: Column types (Arrow's names) that hold every value of a constant's type: a bare ``$n``
#: typed after such a column compares as the literal, which DuckDB casts to the column
#: type too. The probe is then the plan; DuckDB runs it ~30% faster than with the
#: cast (``id = $1::INTEGER`` against ``id = $1``: 1279 against 1814 lookups/s).
EXACT_TYPES = {"INTEGER": ("int32", "int64"), "BIGINT": ("int64",)}


@dataclass(frozen=True, slots=True)
class Constants:
    """A statement's DuckDB text with its bindable constants taken out: ``text`` has
    ``$n::TYPE`` in their place, ``probe`` a bare ``$n`` (the column decides its
    type, which tells the plan's maker what the column is); ``values`` are theirs,
    ``types`` the types they are bound with in ``text``, ``pieces`` the text around
    them."""

    text: str
    probe: str
    values: tuple[int, ...]
    types: tuple[str, ...]
    pieces: tuple[str, ...]

    def with_values(self, values: tuple[int, ...]) -> tuple[str, Constants]:
        """The DuckDB text with ``values`` in place of these constants, and its
        Constants."""
        parts = [self.pieces[0]]
        for value, piece in zip(values, self.pieces[1:]):
            parts += (str(value), piece)
        return "".join(parts), Constants(self.text, self.probe, values, self.types,
                                         self.pieces)


def slots(tokens: list[Token]) -> list[tuple[int, str, bool]]:
    """The bindable constants of a SELECT's tokens: (the number's token index, DuckDB
    type, whether a unary minus before it belongs to the constant)."""
    if not tokens or tokens[0].kind is not Kind.WORD or tokens[0].value not in ("SELECT", "WITH"):
        return []
    for token in tokens:
        if token.kind is Kind.PARAM or token.kind is Kind.PUNCT and "?" in token.value \
                or token.kind is Kind.WORD and token.value in _REFUSED_WORDS:
            return []  # client parameters (its own error), or a statement left alone
    found = []
    stack = [""]  # the clause at each parenthesis depth
    for i, token in enumerate(tokens):
        kind, value = token.kind, token.value
        if kind is Kind.PUNCT:
            if value == "(":
                stack.append(stack[-1])
            elif value == ")" and len(stack) > 1:
                stack.pop()
            continue
        if kind is Kind.WORD:
            clause = _CLAUSES.get(value)
            if clause is not None:
                if clause == "WHERE" and i and tokens[i - 1].value == "(":
                    clause = "OTHER"  # FILTER (WHERE ...), an ON CONFLICT's: not a query's
                stack[-1] = clause
            continue
        if kind is not Kind.NUMBER or stack[-1] != "WHERE" \
                or any(c not in _ENCLOSING for c in stack[:-1]):
            continue
        cast = bind_type(value)
        negative = i >= 1 and tokens[i - 1].kind is Kind.PUNCT and tokens[i - 1].value == "-"
        if cast is not None and _compared_with_column(tokens, i - negative, i):
            found.append((i, cast, negative))
    return found


def bind_type(digits: str) -> str | None:
    """The type DuckDB gives the integer literal ``digits``, if it is one that fits int64."""
    if not (digits.isascii() and digits.isdigit()):
        return None
    value = int(digits)
    return "INTEGER" if value <= _INT32 else "BIGINT" if value <= _INT64 else None


def _compared_with_column(tokens: list[Token], first: int, last: int) -> bool:
    """Whether the constant of tokens ``first`` to ``last`` (a number, or a minus and
    a number) is one side of a comparison with a column name, with nothing binding
    tighter on either side. A minus after the comparison or after what opens it (WHERE,
    AND, ``(``, ...) is unary; one after anything else (``a - 5 = b``) matches neither."""
    n = len(tokens)
    if first >= 1 and _comparison(tokens[first - 1]):  # column op [-]NUMBER
        start = _column_before(tokens, first - 2)
        return start is not None and _opens(tokens, start - 1) and _closes(tokens, last + 1)
    if last + 1 < n and _comparison(tokens[last + 1]):  # [-]NUMBER op column
        end = _column_after(tokens, last + 2)
        return end is not None and _opens(tokens, first - 1) and _closes(tokens, end + 1)
    return False


def _comparison(token: Token) -> bool:
    return token.kind is Kind.PUNCT and token.value in _COMPARISONS


def _name(token: Token) -> bool:
    return token.kind is Kind.QUOTED_IDENT or \
        token.kind is Kind.WORD and token.value not in _NOT_COLUMNS


def _column_before(tokens: list[Token], at: int) -> int | None:
    """Where the column name ending at ``at`` starts (a.b.c), or None."""
    if at < 0 or not _name(tokens[at]):
        return None
    while at >= 2 and tokens[at - 1].value == "." and _name(tokens[at - 2]):
        at -= 2
    return at


def _column_after(tokens: list[Token], at: int) -> int | None:
    """Where the column name starting at ``at`` ends, or None."""
    if at >= len(tokens) or not _name(tokens[at]):
        return None
    while at + 2 < len(tokens) and tokens[at + 1].value == "." and _name(tokens[at + 2]):
        at += 2
    return at


def _opens(tokens: list[Token], at: int) -> bool:
    return at >= 0 and tokens[at].kind in (Kind.WORD, Kind.PUNCT) and tokens[at].value in _BEFORE


def _closes(tokens: list[Token], at: int) -> bool:
    return at >= len(tokens) or tokens[at].kind in (Kind.WORD, Kind.PUNCT) \
        and tokens[at].value in _AFTER


def constants(text: str, tokens: list[Token]) -> Constants | None:
    """``text``'s bindable constants (``tokens`` are its tokens), or None."""
    found = slots(tokens)
    if not found:
        return None
    pieces, bound, probe, values, pos = [], [], [], [], 0
    for number, (i, cast, negative) in enumerate(found, 1):
        token = tokens[i]
        pieces.append(text[pos:tokens[i - negative].start])
        bound += (pieces[-1], f"${number}::{cast}")
        probe += (pieces[-1], f"${number}")
        values.append(-int(token.value) if negative else int(token.value))
        pos = token.end
    pieces.append(text[pos:])
    return Constants("".join(bound) + pieces[-1], "".join(probe) + pieces[-1],
                     tuple(values), tuple(cast for _i, cast, _negative in found),
                     tuple(pieces))
