"""Running one DuckDB statement: the blocking core shared by the in-process engine
(``local``, standalone mode) and the worker process, so both decide "rows or a count",
pull the first rows and name errors the same way.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass

import pyarrow as pa

from duckgres_trio.engine import duckdb_capi as capi
from duckgres_trio.engine import (digests, foreign_keys, jsonb_comments, jsonb_typing, lake,
                                  lockdown, pg_catalog)
from duckgres_trio.engine.base import is_result_set
from duckgres_trio.engine.errors import as_duckdb_exception, pg_error_from_duckdb
from duckgres_trio.errors import PgError

#: Rows pulled from DuckDB per step: large enough to amortise a thread hop or a round
#: trip to a worker, small enough that the batches of wide rows stay a few MiB.
BATCH_ROWS = 8192


#: Settings every database is opened with: results keep DuckDB's exact types through
#: Arrow (TIMETZ, HUGEINT, UUID, ... as extension types), which the encoders rely on;
#: integer / integer is an integer, truncated, as in PostgreSQL (DuckDB's default gives
#: a double).
DATABASE_CONFIG = {"arrow_lossless_conversion": "true", "integer_division": "true"}


def open_database(path: str | None, config: dict[str, str] | None = None,
                  lake_spec: dict[str, str] | None = None) -> capi.Database:
    """Open a database, with PostgreSQL's catalog views attached (``pg_catalog``), then
    fence SQL's file access in (``lockdown``: possible only once it is started).

    ``lake_spec`` (``engine.lake``; ``path`` is then None): the database is a DuckLake,
    attached to an in-memory instance before the lockdown and made each session's
    default catalog (``connect``)."""
    config = config or {}
    if lake_spec is not None:
        config = lake.widen_lockdown(config, lake_spec)
    early, late = lockdown.split(config)
    database = capi.Database(path, {**DATABASE_CONFIG, **early})
    conn = database.connect()
    try:
        listed = path is not None and lockdown.reads_data_dir(config)
        digests.register(conn)  # before the catalog: its sha macros call these
        pg_catalog.install(conn, os.path.dirname(os.path.abspath(path)) if listed else None)
        if lake_spec is not None:
            lake.make_data_dir(lake_spec)
            for sql in lake.attach_statements(lake_spec):
                conn.run(sql)
            conn.run(lake.database_files_view(lake_spec, pg_catalog.DATABASE))
            database.session_setup = (lake.use_statement(lake_spec),)
        for sql in late:
            conn.run(sql)
    except BaseException:
        conn.close()
        database.close()
        raise
    conn.close()
    return database


#: Run on every session's connection: DuckDB tracks a running statement's progress
#: (pg_stat_activity shows it) only with its progress bar on, from the first moment;
#: the bar itself must never print.
CONNECTION_SETUP = ("SET enable_progress_bar = true", "SET enable_progress_bar_print = false",
                    "SET progress_bar_time = 0")


def connect(database: capi.Database) -> capi.Connection:
    """A session's connection to ``database``."""
    conn = database.connect()
    try:
        for sql in (*CONNECTION_SETUP, *database.session_setup):
            conn.run(sql)
    except BaseException:
        conn.close()
        raise
    return conn


@dataclass
class Started:
    """A statement that has run: a row count, or result columns with the first rows.
    ``result`` is the open DuckDB result while more rows remain (the caller closes it)."""

    schema: pa.Schema | None
    rowcount: int | None = None
    first: list[pa.RecordBatch] | None = None
    result: capi.Result | None = None


class _Memo:
    """What a prepared statement's executions share while the catalog and the
    connection's settings stay as they were (``_state``): its result columns'
    identities (a catalog query each for enum, STRUCT and JSON columns) and its last
    result's annotated Arrow schema with the shape it was built for."""

    __slots__ = ("state", "identities", "known")

    def __init__(self, state: tuple[int, int], identities: dict[int, bytes]) -> None:
        self.state = state
        self.identities = identities
        self.known: tuple[tuple, pa.Schema] | None = None


#: Statement types that change neither the catalog nor a connection's settings; any
#: other (DDL, SET, PRAGMA, CALL, ATTACH, EXECUTE, ...) bumps Database.generation.
_KEEPS_CATALOG = frozenset({capi.STATEMENT_SELECT, capi.STATEMENT_INSERT,
                            capi.STATEMENT_UPDATE, capi.STATEMENT_DELETE,
                            capi.STATEMENT_MERGE_INTO})


def _state(conn: capi.Connection) -> tuple[int, int]:
    """The catalog and settings state a memo is valid for: the database's generation
    and the transaction ends of this connection that may have shown it a newer
    catalog. Read *before* anything is looked up, so a change meanwhile invalidates."""
    return conn.database.generation, conn.snapshots


def _memo(statement: capi.Prepared) -> _Memo:
    state = _state(statement.connection)
    memo = statement.memo
    if memo is None or memo.state != state:
        memo = statement.memo = _Memo(state, _identities(statement))
    return memo


def _ran(statement: capi.Prepared) -> None:
    """After a statement ran (or failed): keep Database.generation and the
    connection's transaction bookkeeping true. A statement that may change the catalog
    or settings bumps the generation (after it, so a lookup meanwhile is not kept) and
    marks the connection; its transaction's end bumps again (others see the change
    only then). A transaction statement after another session's bump starts a new
    snapshot here: what this connection looked up inside the old one is dropped."""
    conn = statement.connection
    kind = statement.statement_type
    if kind in _KEEPS_CATALOG:
        return
    database = conn.database
    if kind != capi.STATEMENT_TRANSACTION:
        conn.catalog_dirty = True
        database.bump()
        return
    if conn.catalog_dirty:
        conn.catalog_dirty = False
        database.bump()
    if database.generation != conn.boundary_generation:
        conn.snapshots += 1
    conn.boundary_generation = database.generation


def start(statement: capi.Prepared, returns_rows: bool | None) -> Started:
    """Execute a bound statement and pull its first batches. ``returns_rows`` is the
    classifier's hint; None lets DuckDB's result kind decide. A statement that could
    break a foreign key runs with its checks (engine/foreign_keys.py), its rows pulled
    whole first (a check on this connection would end their stream)."""
    guard = foreign_keys.guard(statement)
    succeeded = False
    try:
        if guard is None:
            started = _start(statement, returns_rows)
        else:
            started = guard.run(lambda: _whole(_start(statement, returns_rows)))
        succeeded = True
        return started
    finally:
        foreign_keys.ran(statement, succeeded)


def _whole(started: Started) -> Started:
    if started.result is not None:
        try:
            while not started.result.exhausted:
                started.first.extend(b for b in started.result.fetch(BATCH_ROWS) if b.num_rows)
        finally:
            started.result.close()
        started.result = None
    return started


def _start(statement: capi.Prepared, returns_rows: bool | None) -> Started:
    # Before executing: a catalog query on this connection would end the result's stream.
    memo = _memo(statement)
    comments = _created_jsonb(statement)
    try:
        result = statement.execute(memo.known)
    except BaseException:
        _ran(statement)
        raise
    try:
        if returns_rows is None:
            returns_rows = result.kind == capi.RESULT_QUERY and is_result_set(result.schema)
        if not returns_rows:
            rowcount = None
            if result.kind == capi.RESULT_CHANGED_ROWS or result.schema.names == ["Count"]:
                batches = [b for b in result.fetch(1) if b.num_rows]
                rowcount = batches[0].column(0)[0].as_py() if batches else 0
            result.close()
            for sql in comments:
                statement.connection.run(sql)
            return Started(None, rowcount)
        if memo.known is None or result.schema is not memo.known[1]:
            # Batches imported from here on carry the enum types too (binary arrays of
            # enums name their element type).
            result.schema = _annotate(result.schema, memo.identities)
            if result.shape is not None:
                memo.known = (result.shape, result.schema)
        first = [b for b in result.fetch(BATCH_ROWS) if b.num_rows]
    except BaseException:
        result.close()
        raise
    finally:
        _ran(statement)
    return Started(result.schema, None, first, None if result.exhausted else result)


def columns(statement: capi.Prepared) -> pa.Schema:
    """The result schema, or an empty one while a parameter is untyped (DuckDB cannot
    plan the result then; the caller re-prepares with the parameter cast)."""
    if statement.unresolved_params():
        return pa.schema([])
    return _annotate(statement.result_schema(), _memo(statement).identities)


#: Field metadata naming a column's PostgreSQL type where its Arrow type cannot:
#: b"<oid> <typlen> <element oid> <typname>". wire/types.py reads it (PG_TYPE_KEY
#: there; the two must agree).
PG_TYPE_KEY = b"duckgres.pg_type"


#: PG_TYPE_KEY's value for a jsonb column (wire/types.py: JSONB_IDENTITY).
JSONB_IDENTITY = b"3802 -1 0 jsonb"
#: PG_TYPE_KEY's value for a jsonb[] column; ``_annotate`` marks its elements
#: JSONB_IDENTITY too (the encoders print each as jsonb).
JSONB_ARRAY = b"3807 -1 3802 _jsonb"


def _jsonb_identities(statement: capi.Prepared) -> dict[int, bytes]:
    """Result columns of DuckDB's JSON type (or arrays of it) that are jsonb: jsonb and
    json are both DuckDB's JSON and nothing in a result's types tells them apart, so
    each column is followed back to the columns it reads (engine/jsonb_typing.py); one
    it cannot follow is jsonb when a column declared jsonb (the CHECK sql/translate.py
    adds names it) has its name. The translator overrides this for select-list
    expressions the text types (``Translation.json_types``). A statement without JSON
    columns costs nothing more; any failure leaves them json. An array's value is
    JSONB_ARRAY: ``_annotate`` marks its elements."""
    try:
        columns = statement.json_columns()
    except capi.DuckDBError:
        return {}
    if not columns:
        return {}
    conn = statement.connection
    catalog = _jsonb_catalog(conn)
    kinds = jsonb_typing.result_kinds(statement.sql, lambda sql: _query(conn, sql), catalog)
    if kinds is None or len(kinds) != statement.column_count():
        kinds = []
    declared: frozenset[str] = frozenset()
    if any(not is_array and (index >= len(kinds) or kinds[index] is None)
           for index, (_, is_array) in columns.items()):
        try:
            declared = catalog.declared_names(lambda sql: _query(conn, sql))
        except capi.DuckDBError:
            pass
    identities = {}
    for index, (name, is_array) in columns.items():
        kind = kinds[index] if index < len(kinds) else None
        if kind is None and not is_array:
            kind = "jsonb" if name in declared else "json"
        if kind == ("jsonb[]" if is_array else "jsonb"):
            identities[index] = JSONB_ARRAY if is_array else JSONB_IDENTITY
    return identities


def _created_jsonb(statement: capi.Prepared) -> list[str]:
    """What to run after the statement for jsonb's mark: CREATE TABLE AS marks the new
    table's jsonb columns (engine/jsonb_typing.created_jsonb_columns), COMMENT ON
    COLUMN keeps the mark beside the description (engine/jsonb_comments.py); only a
    CREATE or COMMENT statement is parsed."""
    head = statement.sql.lstrip()[:7].upper()
    conn = statement.connection
    if head == "COMMENT":
        return jsonb_comments.follow_up(statement.sql, lambda sql: _query(conn, sql))
    if head[:6] != "CREATE":
        return []
    return jsonb_typing.created_jsonb_columns(
        statement.sql, lambda sql: _query(conn, sql), _jsonb_catalog(conn))


def _jsonb_catalog(conn: capi.Connection) -> jsonb_typing.Catalog:
    """What engine/jsonb_typing.py found in the catalog for this connection, kept while
    its catalog state (``_state``, as a memo's) holds: a statement with JSON columns
    then costs a catalog query only the first time it names a relation in that state,
    whatever the protocol (the simple one prepares each statement anew: no memo)."""
    state = _state(conn)
    catalog = conn.jsonb_catalog
    if catalog is None or catalog.state != state:
        catalog = conn.jsonb_catalog = jsonb_typing.Catalog(state)
    return catalog


def _identities(statement: capi.Prepared) -> dict[int, object]:
    """PG_TYPE_KEY values of the result columns of a user's enum or composite type
    and of jsonb."""
    return {**_enum_identities(statement), **_composite_identities(statement),
            **_jsonb_identities(statement)}


def _enum_identities(statement: capi.Prepared) -> dict[int, bytes]:
    """Result column index -> PG_TYPE_KEY value, for columns of a user's enum type (or an
    array of one). DuckDB's result types name no enum (the Arrow schema has a bare
    dictionary), so the type is found by its labels in the catalog's enum_types, as
    pg_attribute finds it; two enum types with the same labels are the one with the
    lower OID. Any failure (an aborted transaction) leaves the column plain text."""
    try:
        columns = statement.enum_columns()
    except capi.DuckDBError:
        return {}
    if not columns:
        return {}
    literals = {labels: "ENUM(" + ", ".join(_quote(label) for label in labels) + ")"
                for labels, _ in columns.values()}
    sql = (f"SELECT literal, min(oid), min_by(array_oid, oid), min_by(type_name, oid) "
           f"FROM {pg_catalog.DATABASE}.main.enum_types WHERE literal IN "
           f"({', '.join(_quote(literal) for literal in literals.values())}) GROUP BY literal")
    try:
        found = {row[0]: row[1:] for row in _query(statement.connection, sql)}
    except capi.DuckDBError:
        return {}
    identities = {}
    for index, (labels, is_array) in columns.items():
        row = found.get(literals[labels])
        if row is not None:
            oid, array_oid, name = row
            # enum values are 4 bytes in pg_type (typlen 4); their arrays are varlena
            identities[index] = (f"{array_oid} -1 {oid} _{name}" if is_array
                                 else f"{oid} 4 0 {name}").encode()
    return identities


def _composite_identities(statement: capi.Prepared) -> dict[int, object]:
    """Result column index -> PG_TYPE_KEY value, for STRUCT columns (or arrays of them)
    whose fields are a user's composite type's: DuckDB's result types name no STRUCT
    type either, so each composite type's STRUCT (``NULL::t``'s Arrow type) is compared
    with the column's; two types with the same fields are the one with the lower OID.
    Other STRUCTs stay anonymous records. Any failure leaves the columns as they are."""
    try:
        if not statement.has_struct_columns():
            return {}
        schema = statement.result_schema()
    except capi.DuckDBError:
        return {}
    columns = {}
    for index, field in enumerate(schema):
        typ, is_array = field.type, False
        while pa.types.is_list(typ) or pa.types.is_large_list(typ) \
                or pa.types.is_fixed_size_list(typ):
            typ, is_array = typ.value_type, True
        if pa.types.is_struct(typ) and typ.num_fields \
                and not typ.field(0).name.startswith("duckgres_"):  # reg*, scaled numeric
            columns[index] = (typ, is_array)
    if not columns:
        return {}
    db = pg_catalog.DATABASE
    try:
        types = _query(statement.connection, f"SELECT oid, array_oid, type_name, "
                       f"database_name, schema_name FROM {db}.main.composite_types "
                       "ORDER BY oid")
        if not types:
            return {}
        casts = ", ".join(f"NULL::{_ident(row[3])}.{_ident(row[4])}.{_ident(row[2])}"
                          for row in types)
        probe = statement.connection.prepare(f"SELECT {casts}")
        try:
            struct_types = probe.result_schema().types
        finally:
            probe.close()
    except capi.DuckDBError:
        return {}
    def identity(typ: pa.DataType, is_array: bool) -> bytes | None:
        for (oid, array_oid, name, _, _), struct in zip(types, struct_types, strict=True):
            if struct == typ:
                return (f"{array_oid} -1 {oid} _{name}" if is_array
                        else f"{oid} -1 0 {name}").encode()
        return None

    identities: dict[int, bytes | tuple[bytes | None, pa.DataType]] = {}
    for index, (typ, is_array) in columns.items():
        value = identity(typ, is_array)
        nested = _named_fields(schema.field(index).type, identity)
        if nested is not None:  # a field of a composite type inside: record_send names it
            identities[index] = (value, nested)
        elif value is not None:
            identities[index] = value
    return identities


def _named_fields(typ: pa.DataType, identity) -> pa.DataType | None:
    """``typ`` with PG_TYPE_KEY on each STRUCT field (or array of them), at any depth,
    whose fields are a composite type's (``identity``), or None when there is none."""
    if pa.types.is_list(typ) or pa.types.is_large_list(typ):
        inner = _named_fields(typ.value_type, identity)
        if inner is None:
            return None
        field = typ.value_field.with_type(inner)
        return pa.large_list(field) if pa.types.is_large_list(typ) else pa.list_(field)
    if not pa.types.is_struct(typ):
        return None
    fields, changed = [], False
    for child in typ:
        inner, is_array = child.type, False
        while pa.types.is_list(inner) or pa.types.is_large_list(inner):
            inner, is_array = inner.value_type, True
        value = identity(inner, is_array) if pa.types.is_struct(inner) else None
        deeper = _named_fields(child.type, identity)
        if deeper is not None:
            child, changed = child.with_type(deeper), True
        if value is not None:
            child, changed = child.with_metadata({**(child.metadata or {}),
                                                  PG_TYPE_KEY: value}), True
        fields.append(child)
    return pa.struct(fields) if changed else None


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _query(conn: capi.Connection, sql: str) -> list[tuple]:
    statement = conn.prepare(sql)
    try:
        result = statement.execute()
        try:
            rows = []
            while batches := result.fetch(BATCH_ROWS):
                for batch in batches:
                    rows += zip(*(column.to_pylist() for column in batch.columns))
            return rows
        finally:
            result.close()
    finally:
        statement.close()


def _annotate(schema: pa.Schema, identities: dict) -> pa.Schema:
    """The schema with PG_TYPE_KEY on the columns ``identities`` names; a value
    (identity or None, type) also gives the column its type with annotated fields
    (``_named_fields``)."""
    for index, value in identities.items():
        if index < len(schema):
            field = schema.field(index)
            if isinstance(value, tuple):
                value, typ = value
                field = field.with_type(typ)
            if value == JSONB_ARRAY:
                field = _jsonb_elements(field)
            if value is not None:
                field = field.with_metadata({**(field.metadata or {}), PG_TYPE_KEY: value})
            schema = schema.set(index, field)
    return schema


def _jsonb_elements(field: pa.Field) -> pa.Field:
    """A list (of lists...) of JSON field with its innermost values marked jsonb."""
    typ = field.type
    if pa.types.is_list(typ) or pa.types.is_large_list(typ) \
            or pa.types.is_fixed_size_list(typ):
        child = _jsonb_elements(typ.value_field)
        if pa.types.is_large_list(typ):
            typ = pa.large_list(child)
        elif pa.types.is_fixed_size_list(typ):
            typ = pa.list_(child, typ.list_size)
        else:
            typ = pa.list_(child)
        return pa.field(field.name, typ, field.nullable, field.metadata)
    return field.with_metadata({**(field.metadata or {}), PG_TYPE_KEY: JSONB_IDENTITY})


def to_pg_error(exc: Exception) -> PgError:
    """Any error from a DuckDB call as the PgError to send."""
    if isinstance(exc, PgError):
        return exc
    if isinstance(exc, capi.DuckDBError):
        return pg_error_from_duckdb(as_duckdb_exception(str(exc)))
    return pg_error_from_duckdb(exc)  # pyarrow, while importing a batch


#: Numbers the views COPY FROM registers its batches as (``insert_batch``).
_COPY_VIEWS = itertools.count(1)


def insert_batch(conn: capi.Connection, target: str, batch: pa.RecordBatch) -> int:
    """``INSERT INTO target SELECT * FROM batch``; DuckDB casts each column to the
    target's type as an INSERT does (COPY FROM sends text columns). The rows inserted.
    Call it inside a transaction: on a DuckLake the view, once committed, is read back
    from SQL text that names the stream by address and does not parse."""
    # the server's: no catalog shows it. DuckDB's C API makes it a view of the
    # database's main schema, seen by every connection: one name per COPY, or
    # concurrent COPYs replace each other's (and conflict on the catalog entry)
    name = f"{pg_catalog.PRIVATE_PREFIX}copy_in_{next(_COPY_VIEWS)}"
    stream = conn.register_arrow(name, pa.RecordBatchReader.from_batches(batch.schema, [batch]))
    try:
        statement = conn.prepare(f"INSERT INTO {target} SELECT * FROM {name}")
        try:
            return start(statement, False).rowcount or 0
        finally:
            statement.close()
    finally:
        try:  # after a failed INSERT the transaction is aborted and the DROP fails too;
            conn.run(f"DROP VIEW IF EXISTS {name}")  # the view (temporary, replaced
        except capi.DuckDBError:  # by the next registration) must not hide the error
            pass
        del stream  # only now may DuckDB's pointer to it dangle
