"""Statement parameters ($1, $2, ...): typing the ones DuckDB cannot infer.

DuckDB infers a parameter's type from where it stands (``id = $1`` takes id's type) and
cannot plan a statement while one stays untyped (``SELECT $1``). PostgreSQL resolves
such a parameter to the type the client declared in Parse, or to text; we do the same by
casting exactly those parameter tokens, found by the lexer, never by text search.
"""

from __future__ import annotations

from duckgres_trio.sql.lexer import Kind, tokenize
from duckgres_trio.wire import unbounded
from duckgres_trio.wire.params import ENUM_ARRAY_OIDS, ENUM_OIDS

#: PostgreSQL type OID -> DuckDB type, for casting untyped parameters.
DUCKDB_TYPE_FOR_OID: dict[int, str] = {
    16: "BOOLEAN", 21: "SMALLINT", 23: "INTEGER", 20: "BIGINT", 26: "UINTEGER",
    700: "REAL", 701: "DOUBLE",
    # numeric has no DuckDB equivalent of unbounded precision: bare numeric's type
    # (wire.unbounded), 38 digits, 10 after the point.
    1700: unbounded.DUCKDB_TYPE,
    25: "VARCHAR", 1043: "VARCHAR", 1042: "VARCHAR", 19: "VARCHAR", 18: "VARCHAR", 705: "VARCHAR",
    17: "BLOB", 1082: "DATE", 1083: "TIME", 1266: "TIMETZ", 1114: "TIMESTAMP",
    1184: "TIMESTAMPTZ", 1186: "INTERVAL", 2950: "UUID", 114: "JSON", 3802: "JSON",
    1000: "BOOLEAN[]", 1005: "SMALLINT[]", 1007: "INTEGER[]", 1016: "BIGINT[]",
    1021: "REAL[]", 1022: "DOUBLE[]", 1231: unbounded.DUCKDB_TYPE + "[]", 1009: "VARCHAR[]",
    1015: "VARCHAR[]", 1182: "DATE[]", 1183: "TIME[]", 1115: "TIMESTAMP[]",
    1185: "TIMESTAMPTZ[]", 1187: "INTERVAL[]", 2951: "UUID[]", 199: "JSON[]", 1028: "UINTEGER[]",
}


def cast_parameters(sql: str, casts: dict[int, str]) -> str:
    """``sql`` with each ``$n`` whose n is in ``casts`` replaced by ``($n::TYPE)``."""
    pieces = []
    last = 0
    for token in tokenize(sql):
        if token.kind is Kind.PARAM and int(token.value[1:]) in casts:
            pieces.append(sql[last : token.start])
            pieces.append(f"({token.value}::{casts[int(token.value[1:])]})")
            last = token.end
    pieces.append(sql[last:])
    return "".join(pieces)


#: Types tried, in order, for an untyped parameter the client declared nothing for.
UNTYPED_FALLBACKS = ("VARCHAR", "BIGINT", "DOUBLE")


def untyped_casts(unresolved: list[int], declared: tuple[int, ...],
                  fallback: str = "VARCHAR") -> dict[int, str]:
    """The cast for each untyped parameter: the client's declared type, else ``fallback``."""
    casts = {}
    for number in unresolved:
        oid = declared[number - 1] if number <= len(declared) else 0
        # An enum parameter no context types: its label as text (an enum array: text[]);
        # the OID gives no name to cast to here.
        casts[number] = DUCKDB_TYPE_FOR_OID.get(
            oid, "VARCHAR[]" if oid in ENUM_ARRAY_OIDS else
            "VARCHAR" if oid in ENUM_OIDS else fallback)
    return casts


def null_parameters(sql: str, types: dict[int, str], *, subquery: bool = True) -> str:
    """``sql`` with each ``$n`` replaced by a NULL of its type (``types``, else VARCHAR):
    a statement DuckDB can plan, to learn result columns that depend on parameter
    values (it binds a json function of a parameter only when it runs). Each NULL is a
    scalar subquery: DuckDB folds a bare ``CAST(NULL AS SMALLINT) * 2.5`` to integer,
    where the statement run with a value is numeric. ``subquery`` False: bare NULLs,
    for what takes only constants (a macro's argument checked when it binds)."""
    pieces = []
    last = 0
    for token in tokenize(sql):
        if token.kind is Kind.PARAM:
            pieces.append(sql[last : token.start])
            null = f"CAST(NULL AS {types.get(int(token.value[1:]), 'VARCHAR')})"
            pieces.append(f"(SELECT {null})" if subquery else null)
            last = token.end
    pieces.append(sql[last:])
    return "".join(pieces)
