"""Flight SQL's metadata commands: their result schemas (fixed by the Flight SQL
specification, FlightSql.proto) and the DuckDB catalog reads that answer them.

The rows come from DuckDB's own catalog functions on the client's engine session, so
a client sees the databases, schemas and tables its session sees; DuckDB's internal
catalogs (system, temp), the server's PostgreSQL catalog (``pg_compat``, whose views
pgwire sessions read) and schemas (information_schema, pg_catalog) are left out, as
PostgreSQL's drivers leave out theirs.
"""

from __future__ import annotations

import pyarrow as pa

from duckgres_trio.engine import pg_catalog


_TEXT = pa.utf8()

CATALOGS = pa.schema([pa.field("catalog_name", _TEXT, nullable=False)])
DB_SCHEMAS = pa.schema([pa.field("catalog_name", _TEXT),
                        pa.field("db_schema_name", _TEXT, nullable=False)])
TABLES = pa.schema([pa.field("catalog_name", _TEXT), pa.field("db_schema_name", _TEXT),
                    pa.field("table_name", _TEXT, nullable=False),
                    pa.field("table_type", _TEXT, nullable=False)])
TABLES_WITH_SCHEMA = TABLES.append(pa.field("table_schema", pa.binary(), nullable=False))
TABLE_TYPES = pa.schema([pa.field("table_type", _TEXT, nullable=False)])
PRIMARY_KEYS = pa.schema([pa.field("catalog_name", _TEXT), pa.field("db_schema_name", _TEXT),
                          pa.field("table_name", _TEXT, nullable=False),
                          pa.field("column_name", _TEXT, nullable=False),
                          pa.field("key_sequence", pa.int32(), nullable=False),
                          pa.field("key_name", _TEXT)])

#: The table types listed (DuckDB's catalog has these two kinds of relation).
KINDS = ("TABLE", "VIEW")

_HIDDEN_CATALOGS = f"('system', 'temp', '{pg_catalog.DATABASE}')"  # and the server's own
_HIDDEN_SCHEMAS = "('information_schema', 'pg_catalog')"


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def identifier(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def catalogs_sql() -> str:
    return ("SELECT database_name FROM duckdb_databases() WHERE NOT internal AND "
            f"database_name NOT IN {_HIDDEN_CATALOGS} ORDER BY 1")


def _where(catalog: str | None, schema_pattern: str | None) -> str:
    out = (f" AND database_name NOT IN {_HIDDEN_CATALOGS}"
           f" AND schema_name NOT IN {_HIDDEN_SCHEMAS}")
    if catalog is not None:
        out += f" AND database_name = {literal(catalog)}"
    if schema_pattern is not None:
        out += f" AND schema_name LIKE {literal(schema_pattern)} ESCAPE '\\'"
    return out


def db_schemas_sql(catalog: str | None, schema_pattern: str | None) -> str:
    return ("SELECT DISTINCT database_name, schema_name FROM duckdb_schemas() "
            f"WHERE true{_where(catalog, schema_pattern)} ORDER BY 1, 2")  # main is internal


def tables_sql(catalog: str | None, schema_pattern: str | None, table_pattern: str | None,
               kinds: list[str]) -> str:
    parts = []
    for kind, source in (("TABLE", "duckdb_tables()"), ("VIEW", "duckdb_views()")):
        if kinds and kind not in kinds:
            continue
        name = "table_name" if kind == "TABLE" else "view_name"
        where = (f"NOT internal AND NOT temporary{_where(catalog, schema_pattern)}"
                 f" AND NOT starts_with({name}, '{pg_catalog.PRIVATE_PREFIX}')")
        if table_pattern is not None:
            where += f" AND {name} LIKE {literal(table_pattern)} ESCAPE '\\'"
        parts.append(f"SELECT database_name, schema_name, {name}, '{kind}' FROM {source} "
                     f"WHERE {where}")
    if not parts:
        return ""
    return " UNION ALL ".join(parts) + " ORDER BY 4, 1, 2, 3"


def primary_keys_sql(catalog: str | None, schema: str | None, table: str) -> str:
    where = f"constraint_type = 'PRIMARY KEY' AND table_name = {literal(table)}"
    if catalog is not None:
        where += f" AND database_name = {literal(catalog)}"
    if schema is not None:
        where += f" AND schema_name = {literal(schema)}"
    return ("SELECT database_name, schema_name, table_name, column_name, "
            "CAST(position AS INTEGER), constraint_name FROM ("
            "SELECT database_name, schema_name, table_name, constraint_name, "
            "unnest(constraint_column_names) AS column_name, "
            "generate_subscripts(constraint_column_names, 1) AS position "
            f"FROM duckdb_constraints() WHERE {where}) ORDER BY 1, 2, 3, 5")


def relation_sql(catalog: str | None, schema: str | None, table: str) -> str:
    """A query whose result columns are ``table``'s (described, never run)."""
    name = ".".join(identifier(part) for part in (catalog, schema, table) if part is not None)
    return f"SELECT * FROM {name}"


def table(schema: pa.Schema, rows: list[tuple]) -> pa.Table:
    columns = list(zip(*rows)) if rows else [[] for _ in schema]
    return pa.Table.from_arrays([pa.array(list(c), f.type) for c, f in zip(columns, schema)],
                                schema=schema)
