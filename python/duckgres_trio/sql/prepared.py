"""SQL-level prepared statements: PREPARE, EXECUTE, DEALLOCATE.

PostgreSQL keeps SQL PREPAREd statements and protocol-level ones (Parse with a name) in
one namespace: EXECUTE runs either, DEALLOCATE ALL drops both, a name taken by one is
taken for the other. So the session runs these statements itself, on the extended
protocol's statements (frontend/statements.py), and DuckDB never sees them. This module
only reads them: names, declared parameter types (as PostgreSQL type OIDs), the query,
the EXECUTE arguments as SQL expressions.
"""

from __future__ import annotations

from dataclasses import dataclass

from pglast import ast
from pglast.stream import RawStream

from duckgres_trio.errors import PgError, SqlState
from duckgres_trio.sql.lexer import Kind, tokenize
from duckgres_trio.sql.parsing import parse_statement

#: PostgreSQL type name (as its parser normalises it) -> (OID, array OID).
TYPE_OIDS: dict[str, tuple[int, int]] = {
    "bool": (16, 1000), "bytea": (17, 1001), "char": (18, 1002), "name": (19, 1003),
    "int8": (20, 1016), "int2": (21, 1005), "int4": (23, 1007), "text": (25, 1009),
    "oid": (26, 1028), "json": (114, 199), "float4": (700, 1021), "float8": (701, 1022),
    "bpchar": (1042, 1014), "varchar": (1043, 1015), "date": (1082, 1182),
    "time": (1083, 1183), "timestamp": (1114, 1115), "timestamptz": (1184, 1185),
    "interval": (1186, 1187), "timetz": (1266, 1270), "numeric": (1700, 1231),
    "uuid": (2950, 2951), "jsonb": (3802, 3807), "unknown": (0, 0),
}


#: Type OID -> the name regtype shows (pg_prepared_statements.parameter_types).
_SHOWN_NAMES = {
    16: "boolean", 17: "bytea", 18: '"char"', 19: "name", 20: "bigint", 21: "smallint",
    23: "integer", 25: "text", 26: "oid", 114: "json", 700: "real", 701: "double precision",
    1042: "character", 1043: "character varying", 1082: "date",
    1083: "time without time zone", 1114: "timestamp without time zone",
    1184: "timestamp with time zone", 1186: "interval", 1266: "time with time zone",
    1700: "numeric", 2950: "uuid", 3802: "jsonb", 0: "unknown",
}
_SHOWN_NAMES.update({array: _SHOWN_NAMES[oid] + "[]"
                     for oid, array in TYPE_OIDS.values() if oid in _SHOWN_NAMES and array})


def type_name(oid: int) -> str:
    """The name PostgreSQL shows for a type OID (its regtype output)."""
    return _SHOWN_NAMES.get(oid, str(oid))


@dataclass(frozen=True, slots=True)
class PreparedCommand:
    """``kind`` "prepare", "execute" or "deallocate"; ``name`` None for DEALLOCATE ALL.
    PREPARE: ``param_oids`` declared (0: to be inferred) and ``query``. EXECUTE:
    ``args``, each argument printed back as an SQL expression."""

    kind: str
    name: str | None
    param_oids: tuple[int, ...] = ()
    query: str = ""
    args: tuple[str, ...] = ()


def parse_prepared(text: str) -> PreparedCommand:
    node = parse_statement(text)
    if isinstance(node, ast.DeallocateStmt):
        return PreparedCommand("deallocate", None if node.isall else node.name)
    if isinstance(node, ast.ExecuteStmt):
        return PreparedCommand("execute", node.name,
                               args=tuple(RawStream()(arg) for arg in node.params or ()))
    if not isinstance(node, ast.PrepareStmt):  # PREPARE TRANSACTION
        raise PgError(SqlState.FEATURE_NOT_SUPPORTED, "PREPARE TRANSACTION is not supported")
    return PreparedCommand("prepare", node.name,
                           tuple(_type_oid(t) for t in node.argtypes or ()), _query(text))


def _query(text: str) -> str:
    """The statement after AS: the first AS outside the parameter type list."""
    depth = 0
    tokens = tokenize(text)
    for index, token in enumerate(tokens):
        if token.kind is Kind.PUNCT:
            depth += token.value.count("(") - token.value.count(")")
        elif depth == 0 and token.kind is Kind.WORD and token.value == "AS" and index >= 2:
            end = tokens[-1].end if tokens[-1].kind is not Kind.SEMICOLON else tokens[-2].end
            return text[tokens[index + 1].start:end]
    raise PgError(SqlState.SYNTAX_ERROR, "PREPARE name AS statement expected")


def _type_oid(type_name: ast.TypeName) -> int:
    names = [n.sval for n in type_name.names]
    if len(names) == 2 and names[0] == "pg_catalog":
        names = names[1:]
    oids = TYPE_OIDS.get(names[0]) if len(names) == 1 else None
    if oids is None:
        shown = ".".join(names) + ("[]" if type_name.arrayBounds else "")
        raise PgError(SqlState.UNDEFINED_OBJECT, f'type "{shown}" does not exist')
    return oids[1] if type_name.arrayBounds else oids[0]
