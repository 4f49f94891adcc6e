"""Result columns' origins (table OID, column number, declared type) for RowDescription.

``sql/origins.py`` says from a SELECT's text which FROM relation and column each result
column names; this module looks those relations up in the catalog and marks the result
schema's fields (``wire.rows.ORIGIN_KEY``), which ``wire.rows.row_description`` sends.

The lookup is one catalog query per relation and *catalog state*, never one per
execution: ``Catalogs`` (one per server, shared by its sessions) keeps what it found per
(database, generation, search_path, relation). A session bumps its database's
generation when it runs DDL and again when the transaction that ran it ends; until then
it (alone seeing the new catalog) looks up for itself without storing. A session whose
snapshot is older than the current generation (a transaction begun before another
session's DDL committed), or that has made temporary objects (which shadow tables for
it alone), looks up for itself too. DDL that bypasses the sessions (Flight SQL) is not
seen: what was found is still checked against the columns DuckDB returns (count, names,
types), and any disagreement leaves the column without an origin (0, 0, DuckDB's type).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass

import pyarrow as pa

from duckgres_trio.engine import pg_catalog as catalog
from duckgres_trio.sql.origins import Relation, Sources
from duckgres_trio.wire.rows import ORIGIN_KEY
from duckgres_trio.wire.types import PG_TYPE_KEY, pg_type_for

_DECLARED = re.compile(catalog.DECLARED_TYPE_PATTERN)
_TEXT_OID = 25


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    attnum: int
    type_oid: int  # the OID of DuckDB's type (wire.types' mapping), for the check
    declared: tuple[int, int] | None  # (OID, typmod) of a declared varchar(n) / char(n)


@dataclass(frozen=True, slots=True)
class Table:
    oid: int
    columns: tuple[Column, ...]


class Catalogs:
    """The server's cache of relations' columns, per database and catalog generation."""

    LIMIT = 4096

    def __init__(self) -> None:
        self._generations: dict[str, int] = {}
        self._tables: OrderedDict[tuple, Table | None] = OrderedDict()

    def generation(self, database: str) -> int:
        return self._generations.get(database, 0)

    def changed(self, database: str) -> None:
        """DDL ran (or its transaction ended) in ``database``: forget what was found."""
        self._generations[database] = self.generation(database) + 1
        for key in [key for key in self._tables if key[0] == database]:
            del self._tables[key]

    def get(self, key: tuple) -> Table | None | bool:
        """The Table stored under ``key``, None if there is none, False if not looked up."""
        return self._tables.get(key, False)

    def put(self, key: tuple, table: Table | None) -> None:
        self._tables[key] = table
        while len(self._tables) > self.LIMIT:
            self._tables.popitem(last=False)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def lookup_sql(names: list[str]) -> str:
    """The catalog query for every table (and temporary table) named one of ``names``
    (DuckDB matches names without regard to case): schema, name, temporary, OID, column
    number, column name, DuckDB type's OID and the CHECK naming a declared type."""
    wanted = ", ".join(_literal(name.lower()) for name in sorted(set(names)))
    d = catalog.DATABASE
    return (
        "SELECT t.schema_name, t.table_name, t.temporary, t.table_oid::UINTEGER, "
        f"c.column_index, c.column_name, {d}.main.type_oid(c.data_type)::UINTEGER, "
        "(SELECT max(k.expression) FROM duckdb_constraints() k WHERE k.table_oid = t.table_oid "
        "AND k.constraint_type = 'CHECK' AND k.constraint_column_indexes[1] + 1 = c.column_index "
        f"AND contains(k.expression, {_literal(catalog.DECLARED_TYPE_MARK)})) "
        "FROM duckdb_tables() t JOIN duckdb_columns() c ON c.table_oid = t.table_oid "
        f"WHERE {d}.main.visible(t.database_name, t.table_name) "
        f"AND lower(t.table_name) IN ({wanted}) ORDER BY 4, 5")


def tables_from_rows(rows: list[tuple]) -> dict[tuple[str, str], Table]:
    """(schema, lower-case name) -> Table from lookup_sql's rows; temporary tables under
    schema "temp"."""
    columns: dict[tuple[str, str], list[Column]] = {}
    oids: dict[tuple[str, str], int] = {}
    ambiguous = set()  # two tables whose names differ only in case: never resolved
    for schema, name, temporary, oid, attnum, column, type_oid, check in rows:
        key = ("temp" if temporary else schema, name.lower())
        if oids.setdefault(key, oid) != oid:
            ambiguous.add(key)
            continue
        declared = None
        if check is not None and (m := _DECLARED.search(check)) is not None:
            length = int(m["length"])
            declared = (1043 if m["kind"] == "varchar" else 1042, length + 4)
        columns.setdefault(key, []).append(Column(column, attnum, type_oid, declared))
    return {key: Table(oids[key], tuple(cols)) for key, cols in columns.items()
            if key not in ambiguous}


def resolve(relation: Relation, found: dict[tuple[str, str], Table],
            path: tuple[str, ...]) -> Table | None:
    """The table ``relation`` names, as DuckDB binds it: a temporary table first, then
    the schemas of the search path in order; None where unsure or not a table (a view,
    a catalog relation)."""
    name = relation.name.lower()
    if relation.schema is not None:
        schema = relation.schema.lower()
        if schema in ("pg_catalog", "information_schema"):
            return None
        return found.get(("main" if schema == "public" else schema, name))
    if ("temp", name) in found:
        return found[("temp", name)]
    for schema in path:
        if (schema, name) in found:
            return found[(schema, name)]
    return None


def annotate(schema: pa.Schema, sources: Sources, tables: list[Table | None]) -> pa.Schema:
    """``schema`` with ORIGIN_KEY on each field the Sources and Tables place; unchanged
    when they disagree with it (count, names, types)."""
    expected: list[tuple[Table, Column] | None] = []
    labels: list[str | None] = []
    for target in sources.targets:
        if target is None:
            expected.append(None)
            labels.append(None)
        elif target.column is None:  # *
            chosen = tables if target.relation is None else [tables[target.relation]]
            if any(table is None for table in chosen):
                return schema
            expected += [(table, column) for table in chosen for column in table.columns]
            labels += [None] * (len(expected) - len(labels))
        else:
            expected.append(_column(target.relation, target.column, tables))
            labels.append(target.label)
    if len(expected) != len(schema):
        return schema
    fields = []
    for field, origin, label in zip(schema, expected, labels):
        if origin is not None:
            table, column = origin
            if field.name.lower() != (label or column.name).lower() or not _agrees(field, column):
                origin = None
        if origin is None:
            fields.append(field)
            continue
        table, column = origin
        oid, typmod = column.declared or (None, None)
        if oid is None:
            pg = pg_type_for(field)
            oid, typmod = pg.oid, pg.typmod
        value = f"{table.oid} {column.attnum} {oid} {typmod}".encode()
        fields.append(field.with_metadata({**(field.metadata or {}), ORIGIN_KEY: value}))
    return pa.schema(fields, metadata=schema.metadata)


def _column(relation: int | None, name: str, tables: list[Table | None]
            ) -> tuple[Table, Column] | None:
    """The (table, column) a column reference names: in the given relation, or in the one
    relation that has a column so named (case-insensitive, as DuckDB binds)."""
    chosen = tables if relation is None else [tables[relation]]
    if relation is None and any(table is None for table in tables):
        return None  # the column may be in the relation we could not look up
    found = [(table, column) for table in chosen if table is not None
             for column in table.columns if column.name.lower() == name.lower()]
    return found[0] if len(found) == 1 else None


def _agrees(field: pa.Field, column: Column) -> bool:
    """Whether DuckDB's result column has the catalog column's type (a stale catalog
    entry would not)."""
    oid = pg_type_for(field).oid
    if oid == column.type_oid:
        return True
    # a user's enum type: the catalog's DuckDB type is ENUM(...), sent as its own type
    return column.type_oid == _TEXT_OID and PG_TYPE_KEY in (field.metadata or {})
