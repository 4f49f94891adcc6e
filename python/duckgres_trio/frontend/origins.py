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
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass
from functools import lru_cache

import pyarrow as pa
import pyarrow.compute as pc

from duckgres_trio.engine import pg_catalog as catalog
from duckgres_trio.errors import PgError
from duckgres_trio.sql.origins import Relation, Sources, Target, view_sources
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


@dataclass(frozen=True, slots=True, eq=False)  # identity: the cache's own objects
class Table:
    oid: int
    columns: tuple[Column, ...]
    definition: str | None = None  # a view's (CREATE VIEW ...), until read: through_view
    schema: str = "main"


class Catalogs:
    """The server's cache of relations' columns, per database and catalog generation."""

    def __init__(self, limit: int = 4096) -> None:
        self.limit = limit
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
        while len(self._tables) > self.limit:
            self._tables.popitem(last=False)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def lookup_sql(names: list[str]) -> str:
    """The catalog query for every table and view (temporary too) named one of ``names``
    (DuckDB matches names without regard to case): schema, name, temporary, OID, column
    number, column name, DuckDB type's OID and the CHECK naming a declared type (a
    view's: its definition)."""
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
        f"AND lower(t.table_name) IN ({wanted}) "
        # a view: its own OID and column numbers, as PostgreSQL names a view's columns
        "UNION ALL SELECT v.schema_name, v.view_name, v.temporary, v.view_oid::UINTEGER, "
        f"c.column_index, c.column_name, {d}.main.type_oid(c.data_type)::UINTEGER, v.sql "
        "FROM duckdb_views() v JOIN duckdb_columns() c ON c.table_oid = v.view_oid "
        f"WHERE NOT v.internal AND {d}.main.visible(v.database_name, v.view_name) "
        f"AND lower(v.view_name) IN ({wanted}) ORDER BY 4, 5")


def tables_from_rows(rows: list[tuple]) -> dict[tuple[str, str], Table]:
    """(schema, lower-case name) -> Table from lookup_sql's rows; temporary tables under
    schema "temp"."""
    columns: dict[tuple[str, str], list[Column]] = {}
    oids: dict[tuple[str, str], int] = {}
    definitions: dict[tuple[str, str], str] = {}
    ambiguous = set()  # two tables whose names differ only in case: never resolved
    for schema, name, temporary, oid, attnum, column, type_oid, check in rows:
        key = ("temp" if temporary else schema, name.lower())
        if oids.setdefault(key, oid) != oid:
            ambiguous.add(key)
            continue
        declared = None
        if check is not None and check.lstrip()[:6].upper() == "CREATE":
            definitions[key] = check  # a view's definition
        elif check is not None and (m := _DECLARED.search(check)) is not None \
                and m["length"] is not None:  # (jsonb has none: the engine marks it)
            length = int(m["length"])
            declared = (1043 if m["kind"] == "varchar" else 1042, length + 4)
        columns.setdefault(key, []).append(Column(column, attnum, type_oid, declared))
    return {key: Table(oids[key], tuple(cols), definitions.get(key), key[0])
            for key, cols in columns.items() if key not in ambiguous}


def through_view(view: Table, sources: Sources | None, tables: list[Table | None]) -> Table:
    """``view`` with the declared types of the columns its query takes unchanged from a
    table's (or another view's) ``varchar(n)`` / ``char(n)`` column, as PostgreSQL keeps
    them in a view's columns; ``sources``: its query's (sql.origins.view_sources), and
    ``tables`` its relations'. Whatever disagrees keeps DuckDB's type."""
    plain = Table(view.oid, view.columns, None, view.schema)
    if sources is None:
        return plain
    expected = _expected(sources, tables)
    if expected is None or len(expected) != len(view.columns):
        return plain
    columns = []
    for column, (origin, _label) in zip(view.columns, expected):
        if origin is not None and origin[1].declared is not None \
                and origin[1].type_oid == column.type_oid:
            column = Column(column.name, column.attnum, column.type_oid, origin[1].declared)
        columns.append(column)
    return Table(view.oid, tuple(columns), None, view.schema)


def resolve(relation: Relation, found: dict[tuple[str, str], Table],
            path: tuple[str, ...]) -> Table | None:
    """The table ``relation`` names, as DuckDB binds it: a temporary table first, then
    the schemas of the search path in order; None where unsure or not a table or view
    (a catalog relation)."""
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


async def find_tables(relations: tuple[Relation, ...], store: Catalogs, database: str,
                      generation: int, path: tuple[str, ...],
                      query_rows: Callable[[str], Awaitable[list[tuple]]], depth: int = 0
                      ) -> list[Table | None] | None:
    """The Tables of ``relations`` from ``store`` (under the catalog ``generation`` the
    caller's snapshot has), looked up with ``query_rows`` (a session's catalog query)
    where it has none; a view's through its query's relations (``depth``: views of
    views, bounded), for its columns' declared types. None if the lookup failed."""
    keys = [(database, generation, path, r.schema, r.name) for r in relations]
    tables = [store.get(key) for key in keys]
    missing = [r for r, t in zip(relations, tables) if t is False]
    if missing:
        try:
            rows = await query_rows(lookup_sql([r.name for r in missing]))
        except PgError:
            return None
        found = tables_from_rows(rows)
        for i, (relation, key) in enumerate(zip(relations, keys)):
            if tables[i] is False:
                table = resolve(relation, found, path)
                if table is not None and table.definition is not None:
                    table = await _through_view(table, store, database, generation, path,
                                                query_rows, depth)
                tables[i] = table
                store.put(key, table)
    return tables


async def _through_view(view: Table, store: Catalogs, database: str, generation: int,
                        path: tuple[str, ...],
                        query_rows: Callable[[str], Awaitable[list[tuple]]],
                        depth: int) -> Table:
    """``view`` with the declared types its query's columns carry (through_view);
    its query's names are bound in the view's schema first, as DuckDB binds them."""
    inner = view_sources(view.definition) if depth < 4 else None
    tables = None
    if inner is not None:
        own = path if view.schema in ("temp", *path[:1]) else (view.schema, *path)
        tables = await find_tables(inner.relations, store, database, generation, own,
                                   query_rows, depth + 1)
    return through_view(view, inner if tables is not None else None, tables or [])


def annotate(schema: pa.Schema, sources: Sources, tables: list[Table | None]) -> pa.Schema:
    """``_annotate``, kept per result shape (the schema's text: names, types, field
    metadata) and Sources and Tables (the caches' own objects, by identity): a
    statement run again pays a dictionary lookup, not the checks."""
    key = (schema.to_string(), sources, *tables)
    annotated = _ANNOTATED.get(key)
    if annotated is None:
        annotated = _ANNOTATED[key] = _annotate(schema, sources, tables)
        if len(_ANNOTATED) > 1024:
            _ANNOTATED.pop(next(iter(_ANNOTATED)))
    return annotated


_ANNOTATED: dict[tuple, pa.Schema] = {}


def _annotate(schema: pa.Schema, sources: Sources, tables: list[Table | None]) -> pa.Schema:
    """``schema`` with ORIGIN_KEY naming the origin of each column the Sources and Tables
    place (wire/rows.py reads it); unchanged when they disagree with it (count, names,
    types). Per column ``table attnum type typmod``, ``;`` between columns, empty for a
    column without origin: one schema-level value, cheap to make and to read."""
    expected = _expected(sources, tables)
    if expected is None or len(expected) != len(schema):
        return schema
    parts = []
    for field, (origin, label) in zip(schema, expected):
        if origin is None:
            parts.append("")
            continue
        table, column = origin
        if field.name.lower() != (label or column.name).lower() or not _agrees(field, column):
            parts.append("")
            continue
        if column.declared is not None:
            oid, typmod = column.declared
        else:
            pg = pg_type_for(field)
            oid, typmod = pg.oid, pg.typmod
        parts.append(f"{table.oid} {column.attnum} {oid} {typmod}")
    if not any(parts):
        return schema
    return schema.with_metadata({**(schema.metadata or {}), ORIGIN_KEY: ";".join(parts).encode()})


def _expected(sources: Sources, tables: list[Table | None]
              ) -> list[tuple[tuple[Table, Column] | None, str | None]] | None:
    """Per result column its (table, column) or None, and its label; None when a ``*``
    names a relation not found."""
    expected: list[tuple[tuple[Table, Column] | None, str | None]] = []
    for target in sources.targets:
        if target is None:
            expected.append((None, None))
        elif target.column is None:  # a relation's *
            table = tables[target.relation]
            if table is None:
                return None
            expected += [((table, column), None) for column in table.columns]
        else:
            expected.append((_column(target, tables), target.label))
    return expected


def _column(target: Target, tables: list[Table | None]) -> tuple[Table, Column] | None:
    """The (table, column) a column reference names: in its relation, or in the one
    relation of its scope that has a column so named (case-insensitive, as DuckDB
    binds)."""
    chosen = [tables[i] for i in target.scope] if target.relation is None \
        else [tables[target.relation]]
    if target.relation is None and any(table is None for table in chosen):
        return None  # the column may be in the relation we could not look up
    name = target.column.lower()
    found = [(table, column) for table in chosen if table is not None
             for column in table.columns if column.name.lower() == name]
    return found[0] if len(found) == 1 else None


def _agrees(field: pa.Field, column: Column) -> bool:
    """Whether DuckDB's result column has the catalog column's type (a stale catalog
    entry would not)."""
    oid = pg_type_for(field).oid
    if oid == column.type_oid:
        return True
    # a user's enum type: the catalog's DuckDB type is ENUM(...), sent as its own type
    return column.type_oid == _TEXT_OID and PG_TYPE_KEY in (field.metadata or {})


#: bpchar's OID: a char(n) column's values go out blank-padded to n.
_BPCHAR = 1042


def with_char_types(schema: pa.Schema | None, char_types: tuple[tuple[int, int], ...]
                    ) -> pa.Schema | None:
    """``schema`` with the result columns ``char_types`` names (casts to char(n):
    ``sql.translate.Translation``) announced as bpchar(n) without a table, so that
    they go out blank-padded to n as PostgreSQL sends them (``blank_padded``)."""
    if schema is None or not char_types:
        return schema
    metadata = schema.metadata or {}
    origins = metadata.get(ORIGIN_KEY)
    parts = origins.decode().split(";") if origins else [""] * len(schema)
    if len(parts) != len(schema):
        return schema
    for index, length in char_types:
        if index < len(parts) and not parts[index] \
                and pa.types.is_string(schema.field(index).type):
            parts[index] = f"0 0 {_BPCHAR} {length + 4}"
    return schema.with_metadata({**metadata, ORIGIN_KEY: ";".join(parts).encode()})


def blank_padded(schema: pa.Schema | None) -> dict[int, int]:
    """Column index -> n for the result columns that are a table's char(n) column
    (ORIGIN_KEY): PostgreSQL stores and sends their values padded with blanks to n.
    DuckDB keeps each value as written (a VARCHAR), so they are padded on the way out."""
    metadata = schema.metadata if schema is not None else None
    origins = metadata.get(ORIGIN_KEY) if metadata else None
    if origins is None:
        return {}
    return _padded_widths(origins)


@lru_cache(maxsize=1024)
def _padded_widths(origins: bytes) -> dict[int, int]:
    widths = {}
    for index, origin in enumerate(origins.split(b";")):
        if origin:
            _table, _attnum, oid, typmod = (int(part) for part in origin.split())
            if oid == _BPCHAR and typmod > 4:
                widths[index] = typmod - 4
    return widths


def pad(batch: pa.RecordBatch, widths: dict[int, int]) -> pa.RecordBatch:
    """``batch`` with the columns ``widths`` names as PostgreSQL's char(n) sends them:
    trailing blanks beyond the value insignificant, padded to n characters. (A value
    longer than n, which only a table made before lengths were enforced can hold, is
    sent as it is.)"""
    columns = list(batch.columns)
    for index, width in widths.items():
        column = columns[index]
        if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            column = column.cast(pa.string())
        columns[index] = pc.utf8_rpad(pc.utf8_rtrim(column, characters=" "), width=width,
                                      padding=" ")
    return pa.RecordBatch.from_arrays(columns, schema=batch.schema) \
        if all(c.type == f.type for c, f in zip(columns, batch.schema)) \
        else pa.RecordBatch.from_arrays(columns, names=batch.schema.names)


async def padded(batches: AsyncIterator[pa.RecordBatch], widths: dict[int, int]
                 ) -> AsyncIterator[pa.RecordBatch]:
    """The batches, each ``pad``-ded (the stream closed with the generator)."""
    async with aclosing(batches) as stream:
        async for batch in stream:
            yield pad(batch, widths)
