"""PostgreSQL's catalog, as views over DuckDB's own metadata.

Clients learn about tables, columns, keys and types from ``pg_catalog`` and
``information_schema``: psql's ``\\d``, pgjdbc's DatabaseMetaData, SQLAlchemy's Inspector,
asyncpg's type introspection. DuckDB ships a ``pg_catalog`` of its own, but it gives
DuckDB's type ids where PostgreSQL gives type OIDs, so a client joining pg_attribute to
the RowDescription it received finds nothing. These views give real rows from
``duckdb_tables()``, ``duckdb_columns()``, ``duckdb_constraints()``, ... with the OIDs the
wire announces (``DUCKDB_TYPE_OIDS`` agrees with ``wire.types``: a test holds them equal)
and ``main`` shown as ``public``.

They live in a small in-memory database attached to every DuckDB instance we open
(``DATABASE``); the translator (``sql.translate``) points catalog references at it, so
user schemas stay untouched. Objects DuckDB does not have (roles, ranges, triggers) are
empty relations with PostgreSQL's columns.
"""

from __future__ import annotations

import os
import zlib

#: The attached database holding the views and macros.
DATABASE = "pg_compat"
#: A CHECK constraint holding this text followed by ``varchar(n)``, ``bpchar(n)`` or
#: ``jsonb`` records a column's declared type (sql/translate.py adds it at CREATE
#: TABLE): it is the column's type in these views, never a constraint of its own.
DECLARED_TYPE_MARK = "duckgres_typmod:"
#: The declared type in such a constraint's expression (as duckdb_constraints() prints
#: it), as a regular expression with groups (kind, length); jsonb has no length.
DECLARED_TYPE_PATTERN = (r"'" + DECLARED_TYPE_MARK
                         + r"(?P<kind>varchar|bpchar|jsonb)(?:\((?P<length>\d+)\))?' IS NULL\)+$")
#: An always-true CHECK holding this text followed by a JSON object is a foreign key the
#: server enforces (engine/foreign_keys.py): these views show it as that foreign key.
FOREIGN_KEY_MARK = "duckgres_fkey:"
_DECLARED = DECLARED_TYPE_PATTERN.replace("'", "''")  # inside an SQL string literal
#: The comment of a column declared jsonb (sql/jsonb_alter.py), or CREATE TABLE AS made
#: jsonb (engine/statement.py): read while the column is JSON, never shown as a
#: description. A description of such a column follows it after a newline
#: (engine/jsonb_comments.py).
JSONB_COMMENT = DECLARED_TYPE_MARK + "jsonb"
#: What ALTER COLUMN TYPE json sets (sql/jsonb_alter.py): engine/jsonb_comments.py
#: removes the mark, keeping the description.
JSON_UNMARK = DECLARED_TYPE_MARK + "json"


def jsonb_marked(comment: str = "comment") -> str:
    """An SQL condition: the column comment ``comment`` carries the jsonb mark."""
    return (f"({comment} = '{JSONB_COMMENT}' "
            f"OR starts_with({comment}, '{JSONB_COMMENT}\n'))")


def _description(comment: str = "comment") -> str:
    """SQL: a column comment without its jsonb mark (NULL if that is all it is)."""
    return (f"CASE WHEN {comment} = '{JSONB_COMMENT}' THEN NULL "
            f"WHEN starts_with({comment}, '{JSONB_COMMENT}\n') "
            f"THEN substr({comment}, {len(JSONB_COMMENT) + 2}) ELSE {comment} END")


def jsonb_columns_sql(names: set[str] | None = None,
                      pairs: tuple[tuple[str, str], ...] | None = None) -> str:
    """A query of those of ``names`` (None: any) that some table's column declared jsonb
    has (its CHECK or comment names the type): jsonb and json are both DuckDB's JSON, and
    a result column is told apart by the name of the column it comes from. With ``pairs``
    ((lower-case relation name, column name), sql/column_sources.py), any row means
    jsonb: one of those columns is declared jsonb, or one of those relations is a view
    (not followed further) and a table's column of that name is."""
    sql = ("SELECT DISTINCT column_name FROM (SELECT table_name, "
           "constraint_column_names[1] AS column_name FROM duckdb_constraints() "
           f"WHERE constraint_type = 'CHECK' AND contains(expression, "
           f"'{DECLARED_TYPE_MARK}jsonb') UNION ALL SELECT table_name, column_name "
           f"FROM duckdb_columns() WHERE {jsonb_marked()} AND data_type = 'JSON')")
    if not pairs:
        if names is None:
            return sql
        return sql + f" WHERE column_name IN ({', '.join(map(_literal, sorted(names)))})"
    tables = ", ".join(sorted({_literal(table) for table, _ in pairs}))
    columns = ", ".join(sorted({_literal(column) for _, column in pairs}))
    return sql + " WHERE " + " OR ".join(
        f"(lower(table_name) = {_literal(table)} AND lower(column_name) "
        f"= {_literal(column)})" for table, column in pairs) + (
        f" OR (lower(column_name) IN ({columns}) AND EXISTS (SELECT 1 "
        f"FROM duckdb_views() WHERE NOT internal AND lower(view_name) IN ({tables})))")


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def relation_columns_sql(names: set[str]) -> str:
    """A query of the visible tables and views named one of ``names`` (lower case, as
    DuckDB matches them): schema, name, temporary, column name, DuckDB type, whether
    the column is declared jsonb (its CHECK names the type), a view's SQL; in column
    order (engine/jsonb_typing.py follows result columns back to them)."""
    quoted = ", ".join("'" + name.replace("'", "''") + "'" for name in sorted(names))
    return (
        "SELECT t.schema_name, t.table_name, t.temporary, c.column_name, c.data_type, "
        "EXISTS (SELECT 1 FROM duckdb_constraints() k WHERE k.table_oid = t.table_oid "
        "AND k.constraint_type = 'CHECK' AND k.constraint_column_indexes[1] + 1 = "
        f"c.column_index AND contains(k.expression, '{DECLARED_TYPE_MARK}jsonb')) "
        f"OR ({jsonb_marked('c.comment')} AND c.data_type = 'JSON'), NULL, "
        "c.column_index "
        "FROM duckdb_tables() t JOIN duckdb_columns() c ON c.table_oid = t.table_oid "
        f"WHERE {DATABASE}.main.visible(t.database_name, t.table_name) "
        f"AND lower(t.table_name) IN ({quoted}) "
        "UNION ALL SELECT v.schema_name, v.view_name, v.temporary, c.column_name, "
        "c.data_type, false, v.sql, c.column_index FROM duckdb_views() v "
        "JOIN duckdb_columns() c "
        f"ON c.table_oid = v.view_oid WHERE NOT v.internal AND {DATABASE}.main.visible("
        f"v.database_name, v.view_name) AND lower(v.view_name) IN ({quoted}) "
        "ORDER BY 1, 2, 3, 8")


#: Its schema for information_schema (DuckDB reserves that name in every database).
INFO_SCHEMA = "information_schema_pg"
#: Temporary objects the server makes for itself (the pg_stat_activity snapshot, Arrow
#: batches registered for COPY FROM) are named with this prefix; no catalog relation
#: shows them. A session's other temporary objects are the user's, shown in pg_temp_1.
PRIVATE_PREFIX = "__duckgres_"
#: The view beside a composite type t (``CREATE TYPE t AS (a int, b text)``) is
#: COMPOSITE_PREFIX + t: its columns are t's fields (pg_attribute), its OID is t's
#: typrelid (sql/translate.py creates and drops it with the type).
COMPOSITE_PREFIX = PRIVATE_PREFIX + "composite_"
#: The temporary table a session publishes the server's sessions into just before a
#: statement that reads pg_stat_activity (or pg_stat_database) runs.
ACTIVITY_TABLE = f"temp.main.{PRIVATE_PREFIX}pg_stat_activity"
ACTIVITY_DDL = (
    f"CREATE OR REPLACE TEMP TABLE {PRIVATE_PREFIX}pg_stat_activity (datid UINTEGER, "
    "datname VARCHAR, pid INTEGER, leader_pid INTEGER, usesysid UINTEGER, usename VARCHAR, "
    "application_name VARCHAR, client_addr VARCHAR, client_hostname VARCHAR, "
    "client_port INTEGER, backend_start TIMESTAMPTZ, xact_start TIMESTAMPTZ, "
    "query_start TIMESTAMPTZ, state_change TIMESTAMPTZ, wait_event_type VARCHAR, "
    "wait_event VARCHAR, state VARCHAR, backend_xid VARCHAR, backend_xmin VARCHAR, "
    "query_id BIGINT, query VARCHAR, backend_type VARCHAR, worker VARCHAR, "
    "progress_percent DOUBLE, progress_rows BIGINT, progress_total_rows BIGINT, "
    "progress_stalled BOOLEAN)"
)
#: pg_prepared_statements (PostgreSQL 15), published the same way from the session's
#: prepared statements. parameter_types is text[] of the types' names (DuckDB has no
#: regtype[]); generic_plans / custom_plans are 0: DuckDB counts nothing of the kind.
PREPARED_TABLE = f"temp.main.{PRIVATE_PREFIX}pg_prepared_statements"
PREPARED_DDL = (
    f"CREATE OR REPLACE TEMP TABLE {PRIVATE_PREFIX}pg_prepared_statements (name VARCHAR, "
    "statement VARCHAR, prepare_time TIMESTAMPTZ, parameter_types VARCHAR[], "
    "from_sql BOOLEAN, generic_plans BIGINT, custom_plans BIGINT)")
#: The views the session publishes into those tables -> the table.
PUBLISHED = {"pg_stat_activity": ACTIVITY_TABLE, "pg_prepared_statements": PREPARED_TABLE}
#: The role that owns every object (PostgreSQL's bootstrap superuser has OID 10).
OWNER_OID = 10


def role_oids(configured: list[str], others: list[str] = ()) -> dict[str, int]:
    """OIDs for the roles pg_roles lists: the configured users and ``others`` (with trust
    authentication anyone may log in). ``postgres``, else the first configured user, is
    OID 10, the owner of every object; the others' OIDs come from their names, so they
    are the same in every session and process."""
    owner = "postgres" if "postgres" in configured or not configured else min(configured)
    return {name: OWNER_OID if name == owner else 16384 + zlib.crc32(name.encode()) % 10**9
            for name in {*configured, *others}}

#: DuckDB type name (data_type of duckdb_columns, array suffix removed) -> the PostgreSQL
#: type OID the wire announces for it (wire.types.pg_type_for).
DUCKDB_TYPE_OIDS = {
    "BOOLEAN": 16, "TINYINT": 21, "SMALLINT": 21, "UTINYINT": 21, "INTEGER": 23,
    "USMALLINT": 23, "BIGINT": 20, "UINTEGER": 26, "UBIGINT": 1700, "HUGEINT": 1700,
    "UHUGEINT": 1700, "BIGNUM": 1700, "FLOAT": 700, "DOUBLE": 701, "VARCHAR": 25,
    "BLOB": 17, "BIT": 1562, "DATE": 1082, "TIME": 1083, "TIME WITH TIME ZONE": 1266,
    "TIMESTAMP": 1114, "TIMESTAMP_S": 1114, "TIMESTAMP_MS": 1114, "TIMESTAMP_NS": 1114,
    "TIMESTAMP WITH TIME ZONE": 1184, "INTERVAL": 1186, "UUID": 2950, "JSON": 114,
}
#: Prefixes of parameterised DuckDB types -> OID.
_PREFIX_OIDS = {"DECIMAL": 1700, "STRUCT": 2249, "MAP": 114, "UNION": 114, "ENUM": 25}

# (oid, name, typlen, category, array oid). Arrays are named _name, typlen -1, category A.
_BASE_TYPES = [
    (16, "bool", 1, "B", 1000), (17, "bytea", -1, "U", 1001), (18, "char", 1, "Z", 1002),
    (19, "name", 64, "S", 1003), (20, "int8", 8, "N", 1016), (21, "int2", 2, "N", 1005),
    (22, "int2vector", -1, "A", 1006), (23, "int4", 4, "N", 1007),
    (24, "regproc", 4, "N", 1008), (25, "text", -1, "S", 1009), (26, "oid", 4, "N", 1028),
    (27, "tid", 6, "U", 1010), (28, "xid", 4, "U", 1011), (29, "cid", 4, "U", 1012),
    (30, "oidvector", -1, "A", 1013), (114, "json", -1, "U", 199),
    (700, "float4", 4, "N", 1021), (701, "float8", 8, "N", 1022),
    (1042, "bpchar", -1, "S", 1014), (1043, "varchar", -1, "S", 1015),
    (1082, "date", 4, "D", 1182), (1083, "time", 8, "D", 1183),
    (1114, "timestamp", 8, "D", 1115), (1184, "timestamptz", 8, "D", 1185),
    (1186, "interval", 16, "T", 1187), (1266, "timetz", 12, "D", 1270),
    (1560, "bit", -1, "V", 1561), (1562, "varbit", -1, "V", 1563),
    (1700, "numeric", -1, "N", 1231), (2205, "regclass", 4, "N", 2210),
    (2206, "regtype", 4, "N", 2211), (2950, "uuid", 16, "U", 2951),
    (3802, "jsonb", -1, "U", 3807), (4089, "regnamespace", 4, "N", 4090),
]
# Pseudo-types: (oid, name, typlen).
_PSEUDO_TYPES = [(705, "unknown", -2), (2249, "record", -1), (2275, "cstring", -2),
                 (2276, "any", 4), (2277, "anyarray", -1), (2278, "void", 4),
                 (2279, "trigger", 4), (2283, "anyelement", 4)]

_BYVAL = {1, 2, 4, 8}


def _type_rows() -> list[str]:
    rows = []
    for oid, name, length, category, array in _BASE_TYPES:
        align = {1: "c", 2: "s", 4: "i", 8: "d", 6: "s"}.get(length, "i")
        rows.append(f"({oid}, '{name}', {length}, {length in _BYVAL}, 'b', '{category}', "
                    f"0, {array}, '{name}in', '{name}out', '{align}')")
        rows.append(f"({array}, '_{name}', -1, false, 'b', 'A', {oid}, 0, 'array_in', "
                    f"'array_out', '{align}')")
    for oid, name, length in _PSEUDO_TYPES:
        array = 2287 if oid == 2249 else 0  # record has an array type, _record
        rows.append(f"({oid}, '{name}', {length}, {length in _BYVAL}, 'p', 'P', 0, {array}, "
                    f"'{name}_in', '{name}_out', 'd')")
    rows.append("(2287, '_record', -1, false, 'p', 'P', 2249, 0, 'array_in', 'array_out', 'd')")
    return rows


# Map lookups, not CASE chains: a macro's argument is pasted into every WHEN, and
# type_oid nests these three deep, so CASEs made every view reading it take ~0.2 s to bind.
#: Not DuckDB's: the type name sql/translate.py gives pg_typeof of a jsonb value.
JSONB_TYPE_NAME = "JSONB"


def _type_oid_case(expr: str) -> str:
    names = ", ".join(f"'{name}': {oid}" for name, oid
                      in {**DUCKDB_TYPE_OIDS, JSONB_TYPE_NAME: 3802}.items())
    whens = [f"WHEN {expr} LIKE '{prefix}%' THEN {oid}" for prefix, oid in _PREFIX_OIDS.items()]
    return f"coalesce(MAP {{{names}}}[{expr}], CASE " + " ".join(whens) + " ELSE 25 END)"


def _array_oid_case(expr: str) -> str:
    arrays = ", ".join(f"{oid}: {array}" for oid, _, _, _, array in _BASE_TYPES) + ", 2249: 2287"
    return f"coalesce(MAP {{{arrays}}}[{expr}], 1009)"


_D = DATABASE
_I = INFO_SCHEMA


def _files_view(data_dir: str) -> str:
    """The server's databases (name, bytes): the files in ``data_dir`` whose names
    engine.databases.name_problem accepts, read when queried, so a database created or
    dropped by any session or process shows at once (read_blob reads no content when
    only the size is asked for)."""
    pattern = (data_dir.rstrip("/") + "/*.duckdb").replace("'", "''")
    return (
        f"CREATE OR REPLACE VIEW {_D}.main.database_files AS SELECT * FROM ("
        "SELECT regexp_extract(filename, '([^/]*)\\.duckdb$', 1) AS datname, size "
        f"FROM read_blob('{pattern}')) WHERE datname <> '' AND strlen(datname) <= 63 "
        "AND NOT regexp_matches(datname, '[./\\x00-\\x1f\\x7f]') AND lower(datname) "
        "NOT IN ('memory', 'system', 'temp', 'main', 'pg_compat')")


#: Settings of PostgreSQL's that DuckDB has not, as current_setting() reports them; the
#: translator sends current_setting() of any other name to DuckDB's own.
POSTGRES_SETTINGS = {
    "server_version_num": "150000", "server_version": "15.0", "server_encoding": "UTF8",
    "client_encoding": "UTF8", "standard_conforming_strings": "on", "integer_datetimes": "on",
    "max_identifier_length": "63", "max_index_keys": "32", "block_size": "8192",
    "datestyle": "ISO, MDY", "intervalstyle": "postgres", "search_path": '"$user", public',
    "default_transaction_isolation": "read committed",
    "transaction_isolation": "read committed", "is_superuser": "on",
    "lc_collate": "C.UTF-8", "lc_ctype": "C.UTF-8", "application_name": "",
    "default_table_access_method": "heap", "bytea_output": "hex",
}

#: Catalog relations of objects DuckDB does not have: empty, with PostgreSQL's columns
#: (those clients read), so the clients' catalog queries run and find nothing.
_EMPTY = {
    "pg_statistic_ext": "oid UINTEGER, stxrelid UINTEGER, stxname VARCHAR, "
    "stxnamespace UINTEGER, stxowner UINTEGER, stxstattarget INTEGER, stxkeys SMALLINT[], "
    "stxkind VARCHAR[], stxexprs VARCHAR",
    "pg_publication": "oid UINTEGER, pubname VARCHAR, pubowner UINTEGER, "
    "puballtables BOOLEAN, pubinsert BOOLEAN, pubupdate BOOLEAN, pubdelete BOOLEAN, "
    "pubtruncate BOOLEAN, pubviaroot BOOLEAN",
    "pg_publication_rel": "oid UINTEGER, prpubid UINTEGER, prrelid UINTEGER, "
    "prqual VARCHAR, prattrs SMALLINT[]",
    "pg_publication_namespace": "oid UINTEGER, pnpubid UINTEGER, pnnspid UINTEGER",
    "pg_partitioned_table": "partrelid UINTEGER, partstrat VARCHAR, partnatts SMALLINT, "
    "partdefid UINTEGER, partattrs SMALLINT[], partclass UINTEGER[], "
    "partcollation UINTEGER[], partexprs VARCHAR",
    "pg_foreign_table": "ftrelid UINTEGER, ftserver UINTEGER, ftoptions VARCHAR[]",
    "pg_foreign_server": "oid UINTEGER, srvname VARCHAR, srvowner UINTEGER, srvfdw UINTEGER, "
    "srvtype VARCHAR, srvversion VARCHAR, srvacl VARCHAR[], srvoptions VARCHAR[]",
    "pg_foreign_data_wrapper": "oid UINTEGER, fdwname VARCHAR, fdwowner UINTEGER, "
    "fdwhandler UINTEGER, fdwvalidator UINTEGER, fdwacl VARCHAR[], fdwoptions VARCHAR[]",
    "pg_event_trigger": "oid UINTEGER, evtname VARCHAR, evtevent VARCHAR, evtowner UINTEGER, "
    "evtfoid UINTEGER, evtenabled VARCHAR, evttags VARCHAR[]",
    "pg_matviews": "schemaname VARCHAR, matviewname VARCHAR, matviewowner VARCHAR, "
    "tablespace VARCHAR, hasindexes BOOLEAN, ispopulated BOOLEAN, definition VARCHAR",
    "pg_shdescription": "objoid UINTEGER, classoid UINTEGER, description VARCHAR",
    "pg_seclabel": "objoid UINTEGER, classoid UINTEGER, objsubid INTEGER, "
    "provider VARCHAR, label VARCHAR",
    "pg_seclabels": "objoid UINTEGER, classoid UINTEGER, objsubid INTEGER, objtype VARCHAR, "
    "objnamespace UINTEGER, objname VARCHAR, provider VARCHAR, label VARCHAR",
    "pg_init_privs": "objoid UINTEGER, classoid UINTEGER, objsubid INTEGER, "
    "privtype VARCHAR, initprivs VARCHAR[]",
    "pg_default_acl": "oid UINTEGER, defaclrole UINTEGER, defaclnamespace UINTEGER, "
    "defaclobjtype VARCHAR, defaclacl VARCHAR[]",
    "pg_db_role_setting": "setdatabase UINTEGER, setrole UINTEGER, setconfig VARCHAR[]",
    "pg_locks": "locktype VARCHAR, database UINTEGER, relation UINTEGER, pid INTEGER, "
    "mode VARCHAR, granted BOOLEAN",
    "pg_cursors": "name VARCHAR, statement VARCHAR, is_holdable BOOLEAN, is_binary BOOLEAN, "
    "is_scrollable BOOLEAN, creation_time TIMESTAMPTZ",
    "pg_prepared_xacts": "transaction BIGINT, gid VARCHAR, prepared TIMESTAMPTZ, "
    "owner VARCHAR, database VARCHAR",
    "pg_opclass": "oid UINTEGER, opcmethod UINTEGER, opcname VARCHAR, "
    "opcnamespace UINTEGER, opcowner UINTEGER, opcfamily UINTEGER, opcintype UINTEGER, "
    "opcdefault BOOLEAN, opckeytype UINTEGER",
    "pg_cast": "oid UINTEGER, castsource UINTEGER, casttarget UINTEGER, castfunc UINTEGER, "
    "castcontext VARCHAR, castmethod VARCHAR",
    "pg_conversion": "oid UINTEGER, conname VARCHAR, connamespace UINTEGER, "
    "conowner UINTEGER, conforencoding INTEGER, contoencoding INTEGER, conproc UINTEGER, "
    "condefault BOOLEAN",
}

#: The catalog's own relations, listed in pg_class as PostgreSQL lists them (tools find
#: catalogs by name there: pgAdmin, ``(SELECT oid FROM pg_class WHERE relname =
#: 'pg_constraint')``): name -> PostgreSQL 15's OID.
_CATALOG_RELATIONS = {
    "pg_default_acl": 826, "pg_type": 1247, "pg_attribute": 1249, "pg_proc": 1255,
    "pg_class": 1259, "pg_authid": 1260, "pg_auth_members": 1261, "pg_database": 1262,
    "pg_foreign_server": 1417, "pg_sequence": 2224, "pg_foreign_data_wrapper": 2328,
    "pg_shdescription": 2396, "pg_am": 2601, "pg_attrdef": 2604, "pg_cast": 2605,
    "pg_constraint": 2606, "pg_conversion": 2607, "pg_depend": 2608, "pg_description": 2609,
    "pg_index": 2610, "pg_inherits": 2611, "pg_language": 2612, "pg_namespace": 2615,
    "pg_opclass": 2616, "pg_rewrite": 2618, "pg_trigger": 2620, "pg_db_role_setting": 2964,
    "pg_extension": 3079, "pg_foreign_table": 3118, "pg_policy": 3256,
    "pg_partitioned_table": 3350, "pg_statistic_ext": 3381, "pg_init_privs": 3394,
    "pg_collation": 3456, "pg_event_trigger": 3466, "pg_enum": 3501, "pg_range": 3541,
    "pg_seclabel": 3596, "pg_publication": 6104, "pg_publication_rel": 6106,
    "pg_publication_namespace": 6237,
}
#: The system columns every table and sequence has (attnum < 0): (name, type oid, attlen,
#: attnum, attbyval, attalign).
_SYSTEM_COLUMNS = [("tableoid", 26, 4, -6, True, "i"), ("cmax", 29, 4, -5, True, "i"),
                   ("xmax", 28, 4, -4, True, "i"), ("cmin", 29, 4, -3, True, "i"),
                   ("xmin", 28, 4, -2, True, "i"), ("ctid", 27, 6, -1, False, "s")]
#: A sequence's columns, as PostgreSQL shows a sequence relation.
_SEQUENCE_COLUMNS = [("last_value", 20, 8, 1, True, "d"), ("log_cnt", 20, 8, 2, True, "d"),
                     ("is_called", 16, 1, 3, True, "c")]


def _values(rows: list[tuple]) -> str:
    return ", ".join("(" + ", ".join(repr(v) if isinstance(v, str) else str(v).lower()
                                     for v in row) + ")" for row in rows)


#: The statements that build the catalog, run once per DuckDB instance.
#: numeric without a precision, as DuckDB names its type: ``wire.unbounded.DUCKDB_TYPE``
#: (the worker imports no wire module; tests/test_numeric_compat.py holds them equal).
BARE_NUMERIC = "DECIMAL(38,10)"

SCRIPT = [
    f"ATTACH IF NOT EXISTS ':memory:' AS {_D}",
    f"CREATE SCHEMA IF NOT EXISTS {_D}.{_I}",
    # -- helpers --------------------------------------------------------------------
    f"CREATE OR REPLACE MACRO {_D}.main.nspname(s) AS CASE s WHEN 'main' THEN 'public' ELSE s END",
    f"CREATE OR REPLACE MACRO {_D}.main.nspoid(s, o) AS "
    "(CASE s WHEN 'main' THEN 2200 WHEN 'pg_catalog' THEN 11 ELSE o END)::UINTEGER",
    f"CREATE OR REPLACE MACRO {_D}.main.scalar_type_oid(t) AS {_type_oid_case('t')}",
    f"CREATE OR REPLACE MACRO {_D}.main.array_type_oid(o) AS {_array_oid_case('o')}",
    f"CREATE OR REPLACE MACRO {_D}.main.type_oid(t) AS CASE WHEN t LIKE '%]' "
    f"THEN {_D}.main.array_type_oid({_D}.main.scalar_type_oid("
    r"regexp_replace(t, '(\[\d*\])+$', ''))) "
    f"ELSE {_D}.main.scalar_type_oid(t) END",
    # numeric without a precision is DECIMAL(38,10) (wire.unbounded): no typmod
    f"CREATE OR REPLACE MACRO {_D}.main.type_mod(t) AS CASE "
    f"WHEN t LIKE '{BARE_NUMERIC}%' THEN -1 WHEN t LIKE 'DECIMAL(%' THEN "
    r"((CAST(regexp_extract(t, 'DECIMAL\((\d+),(\d+)\)', 1) AS INTEGER) << 16) "
    r"| CAST(regexp_extract(t, 'DECIMAL\((\d+),(\d+)\)', 2) AS INTEGER)) + 4 ELSE -1 END",
    # The current database's objects and the session's temporary ones, except those the
    # server makes for itself (named PRIVATE_PREFIX...): clients never see them.
    f"CREATE OR REPLACE MACRO {_D}.main.visible(d, n) AS (d = current_database() "
    f"OR d = 'temp') AND NOT starts_with(n, '{PRIVATE_PREFIX}')",
    # A composite type's fields: the view sql/translate.py creates beside it (what
    # PostgreSQL's relkind 'c' pg_class row is), shown as that row, never as a view.
    f"CREATE OR REPLACE MACRO {_D}.main.composite_of(d, n) AS (d = current_database() "
    f"OR d = 'temp') AND starts_with(n, '{COMPOSITE_PREFIX}')",
    # -- pg_type and friends: static --------------------------------------------------
    f"CREATE OR REPLACE TABLE {_D}.main.builtin_types AS SELECT oid::UINTEGER AS oid, "
    "typname::VARCHAR AS typname, 11::UINTEGER AS typnamespace, 10::UINTEGER AS typowner, "
    "typlen::SMALLINT AS typlen, typbyval, typtype, typcategory, false AS typispreferred, "
    "true AS typisdefined, ',' AS typdelim, 0::UINTEGER AS typrelid, "
    "'-' AS typsubscript, typelem::UINTEGER AS typelem, typarray::UINTEGER AS typarray, "
    "typinput, typoutput, typinput AS typreceive, typoutput AS typsend, '-' AS typmodin, "
    "'-' AS typmodout, '-' AS typanalyze, typalign, 'p' AS typstorage, false AS typnotnull, "
    "0::UINTEGER AS typbasetype, -1 AS typtypmod, 0 AS typndims, 0::UINTEGER AS typcollation, "
    "NULL::VARCHAR AS typdefaultbin, NULL::VARCHAR AS typdefault, NULL::VARCHAR[] AS typacl "
    "FROM (VALUES " + ", ".join(_type_rows()) + ") AS t(oid, typname, typlen, typbyval, "
    "typtype, typcategory, typelem, typarray, typinput, typoutput, typalign)",
    f"CREATE OR REPLACE TABLE {_D}.main.pg_range (rngtypid UINTEGER, rngsubtype UINTEGER, "
    "rngmultitypid UINTEGER, rngcollation UINTEGER, rngsubopc UINTEGER, "
    "rngcanonical VARCHAR, rngsubdiff VARCHAR)",
    # The user's ENUM types. Their OIDs come from their qualified names (DuckDB's own
    # type OIDs change when a database file is opened again), so every session and
    # process agrees; the array type's is the type's plus 2^31. DuckDB names a column's
    # enum type by its labels only (ENUM('a', 'b')): ``literal`` is how pg_attribute
    # finds the type.
    f"CREATE OR REPLACE VIEW {_D}.main.enum_types AS SELECT "
    "(16384 + hash(qualified) % 500000000)::UINTEGER AS oid, "
    "(2147500032 + hash(qualified) % 500000000)::UINTEGER AS array_oid, type_name, labels, "
    "qualified, typnamespace, literal FROM (SELECT type_name, labels, CASE WHEN "
    f"database_name = 'temp' THEN 'pg_temp_1' ELSE {_D}.main.nspname(schema_name) END "
    "|| '.' || type_name AS qualified, "
    f"{_D}.main.nspoid(CASE WHEN database_name = 'temp' THEN 'temp' ELSE schema_name END, "
    "schema_oid)::UINTEGER AS typnamespace, 'ENUM(' || array_to_string(list_transform(labels, "
    "l -> '''' || replace(l, '''', '''''') || ''''), ', ') || ')' AS literal "
    "FROM duckdb_types() WHERE logical_type = 'ENUM' AND NOT internal "
    f"AND {_D}.main.visible(database_name, type_name))",
    # The user's composite types: DuckDB's STRUCT types, named as enums are (another
    # OID range: wire/params.py tells the two apart by it); typrelid is the OID of the
    # fields' view (COMPOSITE_PREFIX), 0 for a STRUCT type made with DuckDB's own
    # syntax. ``literal`` is the STRUCT as duckdb_columns() writes a column of the type.
    f"CREATE OR REPLACE VIEW {_D}.main.composite_types AS SELECT "
    "(500016384 + hash(qualified) % 500000000)::UINTEGER AS oid, "
    "(2647500032 + hash(qualified) % 500000000)::UINTEGER AS array_oid, type_name, "
    "qualified, typnamespace, relid, natts, database_name, schema_name FROM (SELECT "
    "t.type_name, t.database_name, t.schema_name, "
    "CASE WHEN t.database_name = 'temp' THEN 'pg_temp_1' ELSE "
    f"{_D}.main.nspname(t.schema_name) END || '.' || t.type_name AS qualified, "
    f"{_D}.main.nspoid(CASE WHEN t.database_name = 'temp' THEN 'temp' ELSE t.schema_name END, "
    "t.schema_oid)::UINTEGER AS typnamespace, coalesce(v.view_oid, 0)::UINTEGER AS relid, "
    "coalesce(v.column_count, 0) AS natts FROM duckdb_types() t LEFT JOIN duckdb_views() v "
    "ON v.database_name = t.database_name AND v.schema_name = t.schema_name "
    f"AND v.view_name = '{COMPOSITE_PREFIX}' || t.type_name "
    "WHERE t.logical_type = 'STRUCT' AND NOT t.internal "
    f"AND {_D}.main.visible(t.database_name, t.type_name))",
    # A composite type as duckdb_columns() writes a column of it: STRUCT(a INTEGER, ...)
    # from its fields' view (a scan of duckdb_columns(): pg_attribute's alone reads it).
    # A field name is quoted as DuckDB quotes it: unless it is a plain identifier (upper
    # case allowed) and no keyword of any category ("by", "name", "value" are quoted).
    f"CREATE OR REPLACE VIEW {_D}.main.composite_literals AS SELECT c.oid, c.array_oid, "
    "f.literal FROM (SELECT table_oid, 'STRUCT(' || string_agg(CASE WHEN "
    "regexp_full_match(column_name, '[A-Za-z_][A-Za-z0-9_]*') AND lower(column_name) NOT IN "
    "(SELECT keyword_name FROM duckdb_keywords()) THEN column_name ELSE '\"' || "
    "replace(column_name, '\"', '\"\"') || '\"' END || ' ' || data_type, ', ' "
    "ORDER BY column_index) || ')' AS literal FROM duckdb_columns() "
    f"WHERE {_D}.main.composite_of(database_name, table_name) GROUP BY table_oid) f "
    f"JOIN {_D}.main.composite_types c ON c.relid = f.table_oid",
    # A user's type by the STRUCT / ENUM text duckdb_columns() gives its columns (an
    # array of a composite as well); two with one text are the lower OID.
    f"CREATE OR REPLACE VIEW {_D}.main.user_type_literals AS SELECT literal, min(oid) AS oid "
    f"FROM (SELECT literal, oid FROM {_D}.main.enum_types UNION ALL SELECT literal, oid "
    f"FROM {_D}.main.composite_literals UNION ALL SELECT literal || '[]', array_oid "
    f"FROM {_D}.main.composite_literals) GROUP BY literal",
    # One scan of enum_types gives each type's row (k = 0) and its array type's (k = 1):
    # planning a union of three branches made every catalog query that reads pg_type
    # (format_type, psql's \d) measurably slower.
    f"CREATE OR REPLACE VIEW {_D}.main.pg_type AS SELECT * FROM {_D}.main.builtin_types "
    "UNION ALL SELECT CASE WHEN k = 0 THEN oid ELSE array_oid END, "
    "CASE WHEN k = 0 THEN type_name ELSE '_' || type_name END, typnamespace, 10::UINTEGER, "
    "CASE WHEN k = 0 THEN 4 ELSE -1 END::SMALLINT, k = 0, CASE WHEN k = 0 THEN 'e' ELSE 'b' END, "
    "CASE WHEN k = 0 THEN 'E' ELSE 'A' END, false, true, ',', 0::UINTEGER, "
    "CASE WHEN k = 0 THEN '-' ELSE 'array_subscript_handler' END, "
    "CASE WHEN k = 0 THEN 0 ELSE oid END::UINTEGER, "
    "CASE WHEN k = 0 THEN array_oid ELSE 0 END::UINTEGER, "
    "CASE WHEN k = 0 THEN 'enum_in' ELSE 'array_in' END, "
    "CASE WHEN k = 0 THEN 'enum_out' ELSE 'array_out' END, "
    "CASE WHEN k = 0 THEN 'enum_recv' ELSE 'array_recv' END, "
    "CASE WHEN k = 0 THEN 'enum_send' ELSE 'array_send' END, '-', '-', "
    "CASE WHEN k = 0 THEN '-' ELSE 'array_typanalyze' END, 'i', "
    "CASE WHEN k = 0 THEN 'p' ELSE 'x' END, false, 0::UINTEGER, -1, 0, 0::UINTEGER, NULL, NULL, "
    f"NULL FROM {_D}.main.enum_types, (VALUES (0), (1)) AS _k(k) "
    # composite types likewise (record_in/out; typrelid the fields' relation)
    "UNION ALL SELECT CASE WHEN k = 0 THEN oid ELSE array_oid END, "
    "CASE WHEN k = 0 THEN type_name ELSE '_' || type_name END, typnamespace, 10::UINTEGER, "
    "-1::SMALLINT, false, CASE WHEN k = 0 THEN 'c' ELSE 'b' END, "
    "CASE WHEN k = 0 THEN 'C' ELSE 'A' END, false, true, ',', "
    "CASE WHEN k = 0 THEN relid ELSE 0 END::UINTEGER, "
    "CASE WHEN k = 0 THEN '-' ELSE 'array_subscript_handler' END, "
    "CASE WHEN k = 0 THEN 0 ELSE oid END::UINTEGER, "
    "CASE WHEN k = 0 THEN array_oid ELSE 0 END::UINTEGER, "
    "CASE WHEN k = 0 THEN 'record_in' ELSE 'array_in' END, "
    "CASE WHEN k = 0 THEN 'record_out' ELSE 'array_out' END, "
    "CASE WHEN k = 0 THEN 'record_recv' ELSE 'array_recv' END, "
    "CASE WHEN k = 0 THEN 'record_send' ELSE 'array_send' END, '-', '-', "
    "CASE WHEN k = 0 THEN '-' ELSE 'array_typanalyze' END, 'd', 'x', false, 0::UINTEGER, "
    f"-1, 0, 0::UINTEGER, NULL, NULL, NULL FROM {_D}.main.composite_types, "
    "(VALUES (0), (1)) AS _k(k)",
    f"CREATE OR REPLACE VIEW {_D}.main.pg_enum AS SELECT (16384 + hash(qualified || '.' || "
    "labels[i]) % 4000000000)::UINTEGER AS oid, oid AS enumtypid, i::FLOAT AS enumsortorder, "
    "labels[i] AS enumlabel FROM (SELECT oid, qualified, labels, "
    f"unnest(range(1, len(labels) + 1)) AS i FROM {_D}.main.enum_types)",
    f"CREATE OR REPLACE TABLE {_D}.main.pg_inherits (inhrelid UINTEGER, inhparent UINTEGER, "
    "inhseqno INTEGER, inhdetachpending BOOLEAN)",
    f"CREATE OR REPLACE TABLE {_D}.main.pg_trigger (oid UINTEGER, tgrelid UINTEGER, "
    "tgparentid UINTEGER, tgname VARCHAR, tgfoid UINTEGER, tgtype SMALLINT, "
    "tgenabled VARCHAR, tgisinternal BOOLEAN, tgconstrrelid UINTEGER, tgconstrindid UINTEGER, "
    "tgconstraint UINTEGER, tgdeferrable BOOLEAN, tginitdeferred BOOLEAN, tgnargs SMALLINT, "
    "tgattr SMALLINT[], tgargs BLOB, tgqual VARCHAR, tgoldtable VARCHAR, tgnewtable VARCHAR)",
    f"CREATE OR REPLACE TABLE {_D}.main.pg_rewrite (oid UINTEGER, rulename VARCHAR, "
    "ev_class UINTEGER, ev_type VARCHAR, ev_enabled VARCHAR, is_instead BOOLEAN, "
    "ev_qual VARCHAR, ev_action VARCHAR)",
    f"CREATE OR REPLACE TABLE {_D}.main.pg_policy (oid UINTEGER, polname VARCHAR, "
    "polrelid UINTEGER, polcmd VARCHAR, polpermissive BOOLEAN, polroles UINTEGER[], "
    "polqual VARCHAR, polwithcheck VARCHAR)",
    *(f"CREATE OR REPLACE TABLE {_D}.main.{name} ({columns})"
      for name, columns in _EMPTY.items()),
    f"CREATE OR REPLACE TABLE {_D}.main.pg_language AS SELECT oid::UINTEGER AS oid, lanname, "
    "10::UINTEGER AS lanowner, lanispl, lanpltrusted, lanplcallfoid::UINTEGER AS lanplcallfoid, "
    "laninline::UINTEGER AS laninline, lanvalidator::UINTEGER AS lanvalidator, "
    "NULL::VARCHAR[] AS lanacl FROM (VALUES (12, 'internal', false, false, 0, 0, 2246), "
    "(13, 'c', false, false, 0, 0, 2247), (14, 'sql', false, true, 0, 0, 2248), "
    "(13563, 'plpgsql', true, true, 13560, 13561, 13562)) AS t(oid, lanname, lanispl, "
    "lanpltrusted, lanplcallfoid, laninline, lanvalidator)",
    # Rules exist only on PostgreSQL's own views; DuckDB has none.
    f"CREATE OR REPLACE TABLE {_D}.main.pg_rules (schemaname VARCHAR, tablename VARCHAR, "
    "rulename VARCHAR, definition VARCHAR)",
    f"CREATE OR REPLACE TABLE {_D}.main.pg_collation AS SELECT * FROM (VALUES "
    "(100::UINTEGER, 'default', 11::UINTEGER, 10::UINTEGER, 'd', true, -1, NULL, NULL), "
    "(950::UINTEGER, 'C', 11::UINTEGER, 10::UINTEGER, 'c', true, -1, 'C', 'C')) AS t(oid, "
    "collname, collnamespace, collowner, collprovider, collisdeterministic, collencoding, "
    "collcollate, collctype)",
    f"CREATE OR REPLACE TABLE {_D}.main.pg_extension AS SELECT 13500::UINTEGER AS oid, "
    "'plpgsql' AS extname, 10::UINTEGER AS extowner, 11::UINTEGER AS extnamespace, "
    "false AS extrelocatable, '1.0' AS extversion, NULL::UINTEGER[] AS extconfig, "
    "NULL::VARCHAR[] AS extcondition",
    f"CREATE OR REPLACE TABLE {_D}.main.pg_am AS SELECT * FROM (VALUES "
    "(2::UINTEGER, 'heap', 'heap_tableam_handler', 't'), "
    "(403::UINTEGER, 'btree', 'bthandler', 'i'), (405::UINTEGER, 'hash', 'hashhandler', 'i'), "
    "(405::UINTEGER + 10000, 'art', 'arthandler', 'i')) AS t(oid, amname, amhandler, amtype)",
    # -- namespaces, roles, databases -------------------------------------------------
    f"CREATE OR REPLACE VIEW {_D}.main.pg_namespace AS "
    f"SELECT {_D}.main.nspoid(schema_name, oid)::UINTEGER AS oid, "
    f"{_D}.main.nspname(schema_name) AS nspname, "
    "(CASE schema_name WHEN 'main' THEN 6171 ELSE 10 END)::UINTEGER AS nspowner, "
    "NULL::VARCHAR[] AS nspacl FROM duckdb_schemas() "
    f"WHERE {_D}.main.visible(database_name, '') AND database_name <> 'temp' "
    "UNION ALL SELECT 11::UINTEGER, 'pg_catalog', 10::UINTEGER, NULL "
    "UNION ALL SELECT 13000::UINTEGER, 'information_schema', 10::UINTEGER, NULL "
    "UNION ALL SELECT 99::UINTEGER, 'pg_toast', 10::UINTEGER, NULL "
    # A session's temporary schemas, as in a PostgreSQL database where temporary tables
    # have been used (PostgreSQL makes them on first use and keeps them).
    "UNION ALL SELECT (oid + t.i)::UINTEGER, t.name, 10::UINTEGER, NULL FROM duckdb_schemas(), "
    "(VALUES (0, 'pg_temp_1'), (1, 'pg_toast_temp_1')) AS t(i, name) "
    "WHERE database_name = 'temp' AND schema_name = 'main'",
    f"CREATE OR REPLACE MACRO {_D}.main.current_user() AS "
    "coalesce(getvariable('pg_session').user, 'postgres')",
    f"CREATE OR REPLACE MACRO {_D}.main.session_user() AS {_D}.main.current_user()",
    # The users who can log in (the session publishes them with their OIDs: role_oids),
    # all superusers; and pg_database_owner, which owns public as in PostgreSQL.
    f"CREATE OR REPLACE VIEW {_D}.main.authid AS SELECT r.oid::UINTEGER AS oid, "
    "r.name AS rolname, true AS rolsuper, true AS rolcanlogin FROM (SELECT unnest(coalesce("
    "getvariable('pg_session').roles, [{'name': 'postgres', 'oid': 10}])) AS r) "
    "UNION ALL SELECT 6171::UINTEGER, 'pg_database_owner', false, false",
    f"CREATE OR REPLACE VIEW {_D}.main.pg_roles AS SELECT rolname, rolsuper, "
    "true AS rolinherit, rolsuper AS rolcreaterole, rolsuper AS rolcreatedb, rolcanlogin, "
    "rolsuper AS rolreplication, -1 AS rolconnlimit, '********' AS rolpassword, "
    "NULL::TIMESTAMPTZ AS rolvaliduntil, rolsuper AS rolbypassrls, "
    f"NULL::VARCHAR[] AS rolconfig, oid FROM {_D}.main.authid",
    # rolpassword: the verifiers stay in the server's configuration
    f"CREATE OR REPLACE VIEW {_D}.main.pg_authid AS SELECT oid, rolname, rolsuper, "
    "rolinherit, rolcreaterole, rolcreatedb, rolcanlogin, rolreplication, rolbypassrls, "
    "rolconnlimit, NULL::VARCHAR AS rolpassword, rolvaliduntil "
    f"FROM {_D}.main.pg_roles",
    f"CREATE OR REPLACE VIEW {_D}.main.pg_user AS SELECT rolname AS usename, "
    "oid AS usesysid, rolcreatedb AS usecreatedb, rolsuper AS usesuper, "
    "rolreplication AS userepl, rolbypassrls AS usebypassrls, rolpassword AS passwd, "
    f"rolvaliduntil AS valuntil, rolconfig AS useconfig FROM {_D}.main.pg_roles "
    "WHERE rolcanlogin",
    f"CREATE OR REPLACE TABLE {_D}.main.pg_auth_members (oid UINTEGER, roleid UINTEGER, "
    "member UINTEGER, grantor UINTEGER, admin_option BOOLEAN)",
    # engine.databases.database_oid, in SQL
    f"CREATE OR REPLACE MACRO {_D}.main.database_oid(name) AS "
    "(16384 + ('0x' || md5(name)[1:7])::BIGINT)::UINTEGER",
    # Without a data directory (an in-memory database): the current database only;
    # install() replaces it with the files of the data directory.
    f"CREATE OR REPLACE VIEW {_D}.main.database_files AS "
    "SELECT current_database() AS datname, NULL::BIGINT AS size",
    f"CREATE OR REPLACE VIEW {_D}.main.pg_database AS SELECT "
    f"{_D}.main.database_oid(datname) AS oid, datname, 10::UINTEGER AS datdba, "
    "6 AS encoding, 'c' AS datlocprovider, false AS datistemplate, true AS datallowconn, "
    "-1 AS datconnlimit, 0::UINTEGER AS datlastsysoid, 0::BIGINT AS datfrozenxid, "
    "0::BIGINT AS datminmxid, 1663::UINTEGER AS dattablespace, "
    "'C.UTF-8' AS datcollate, 'C.UTF-8' AS datctype, NULL::VARCHAR AS daticulocale, "
    f"NULL::VARCHAR AS datcollversion, NULL::VARCHAR[] AS datacl FROM {_D}.main.database_files",
    # by name or by oid, as PostgreSQL's two forms
    f"CREATE OR REPLACE MACRO {_D}.main.pg_database_size(d) AS (SELECT size FROM "
    f"{_D}.main.database_files WHERE datname = d::VARCHAR "
    f"OR {_D}.main.database_oid(datname)::VARCHAR = d::VARCHAR LIMIT 1)",
    f"CREATE OR REPLACE VIEW {_D}.main.pg_tablespace AS SELECT * FROM (VALUES "
    "(1663::UINTEGER, 'pg_default', 10::UINTEGER, NULL::VARCHAR[], NULL::VARCHAR[]), "
    "(1664, 'pg_global', 10, NULL, NULL)) AS t(oid, spcname, spcowner, spcacl, spcoptions)",
    # -- relations ----------------------------------------------------------------------
    f"CREATE OR REPLACE MACRO {_D}.main.schema_of(db, s) AS "
    f"CASE WHEN db = 'temp' THEN 'pg_temp_1' ELSE {_D}.main.nspname(s) END",
    f"CREATE OR REPLACE MACRO {_D}.main.relnsp(db, s, o) AS "
    f"{_D}.main.nspoid(CASE WHEN db = 'temp' THEN 'temp' ELSE s END, o)",
    # Columns declared varchar(n) / char(n): DuckDB keeps VARCHAR and the CHECK that
    # sql/translate.py added, which names the declared type (DECLARED_TYPE_MARK).
    f"CREATE OR REPLACE MACRO {_D}.main.is_declared_type(e) AS "
    f"contains(e, '{DECLARED_TYPE_MARK}') AND regexp_matches(e, '{_DECLARED}')",
    f"CREATE OR REPLACE VIEW {_D}.main.declared_types AS SELECT database_name, schema_name, "
    "table_name, table_oid::UINTEGER AS table_oid, "
    "(constraint_column_indexes[1] + 1)::INTEGER AS attnum, "
    "(CASE m.kind WHEN 'varchar' THEN 1043 WHEN 'jsonb' THEN 3802 ELSE 1042 END)::UINTEGER "
    "AS type_oid, nullif(m.length, '')::INTEGER AS length, "
    "coalesce(nullif(m.length, '')::INTEGER + 4, -1) AS typmod "
    "FROM (SELECT *, regexp_extract(expression, "
    f"'{_DECLARED}', ['kind', 'length']) AS m "
    "FROM duckdb_constraints() WHERE constraint_type = 'CHECK' "
    f"AND contains(expression, '{DECLARED_TYPE_MARK}') "
    f"AND {_D}.main.visible(database_name, table_name)) WHERE m.kind <> '' "
    # a column ALTER TABLE / CREATE TABLE AS made jsonb: its comment (JSONB_COMMENT)
    "UNION ALL SELECT database_name, schema_name, table_name, table_oid::UINTEGER, "
    "column_index::INTEGER, 3802::UINTEGER, NULL::INTEGER, -1 FROM duckdb_columns() "
    f"WHERE {jsonb_marked()} AND data_type = 'JSON' "
    f"AND {_D}.main.visible(database_name, table_name)",
    # a foreign key's action as pg_get_constraintdef and information_schema spell it
    f"CREATE OR REPLACE MACRO {_D}.main.fk_rule(a) AS CASE a WHEN 'r' THEN 'RESTRICT' "
    "WHEN 'c' THEN 'CASCADE' WHEN 'n' THEN 'SET NULL' WHEN 'd' THEN 'SET DEFAULT' "
    "ELSE 'NO ACTION' END",
    f"CREATE OR REPLACE MACRO {_D}.main.fk_action(prefix, a) AS "
    f"CASE WHEN coalesce(a, 'a') = 'a' THEN '' ELSE prefix || {_D}.main.fk_rule(a) END",
    # duckdb_constraints() with each foreign key the server keeps (an always-true CHECK
    # holding FOREIGN_KEY_MARK and its definition, engine/foreign_keys.py) shown as that
    # foreign key: PostgreSQL's name (server_fk), columns, referenced table and columns
    # (its primary key's when the definition names none), schema and actions.
    f"CREATE OR REPLACE VIEW {_D}.main.constraints AS SELECT *, false AS server_fk, "
    "NULL::VARCHAR AS referenced_schema, NULL::VARCHAR AS update_action, "
    "NULL::VARCHAR AS delete_action FROM duckdb_constraints() WHERE NOT "
    f"(constraint_type = 'CHECK' AND contains(expression, '{FOREIGN_KEY_MARK}')) "
    "UNION ALL BY NAME SELECT database_name, database_oid, schema_name, schema_oid, "
    "table_name, table_oid, constraint_index, 'FOREIGN KEY' AS constraint_type, "
    "'FOREIGN KEY (' || array_to_string(fk_columns, ', ') || ') REFERENCES ' || "
    "CASE WHEN ref_schema IS NULL THEN '' ELSE ref_schema || '.' END || ref_table || "
    "'(' || array_to_string(ref_columns, ', ') || ')' || "
    f"{_D}.main.fk_action(' ON UPDATE ', update_action) || "
    f"{_D}.main.fk_action(' ON DELETE ', delete_action) AS constraint_text, "
    "NULL::VARCHAR AS expression, (SELECT list(dc.column_index - 1 ORDER BY u.i) FROM "
    "(SELECT unnest(fk_columns) AS n, generate_subscripts(fk_columns, 1) AS i) u "
    "JOIN duckdb_columns() dc ON dc.column_name = u.n AND dc.table_oid = f.table_oid) "
    "AS constraint_column_indexes, fk_columns AS constraint_column_names, "
    "fk_name AS constraint_name, ref_table AS referenced_table, "
    "ref_columns AS referenced_column_names, true AS server_fk, "
    "coalesce(ref_schema, 'main') AS referenced_schema, update_action, delete_action "
    "FROM (SELECT *, coalesce(nullif(listed_columns, []), (SELECT k.constraint_column_names "
    "FROM duckdb_constraints() k WHERE k.constraint_type = 'PRIMARY KEY' "
    "AND k.database_name = m.database_name AND lower(k.table_name) = lower(m.ref_table) "
    "AND lower(k.schema_name) = lower(coalesce(m.ref_schema, 'main')) LIMIT 1), []) "
    "AS ref_columns FROM (SELECT c.* EXCLUDE (j), j ->> 'name' AS fk_name, "
    "from_json(j -> 'columns', '[\"VARCHAR\"]') AS fk_columns, j ->> 'ref_table' AS ref_table, "
    "j ->> 'ref_schema' AS ref_schema, "
    "from_json(j -> 'ref_columns', '[\"VARCHAR\"]') AS listed_columns, "
    "j ->> 'on_update' AS update_action, j ->> 'on_delete' AS delete_action "
    "FROM (SELECT * EXCLUDE (constraint_name, constraint_text, constraint_type, "
    "constraint_column_indexes, constraint_column_names, referenced_table, "
    "referenced_column_names, expression), "
    f"regexp_extract(expression, '{FOREIGN_KEY_MARK}(\\{{[^'']*\\}})', 1)::JSON AS j "
    "FROM duckdb_constraints() WHERE constraint_type = 'CHECK' "
    f"AND contains(expression, '{FOREIGN_KEY_MARK}')) c) m) f",
    # Primary keys and unique constraints are indexes in PostgreSQL (DuckDB keeps them
    # as constraints): each gets a synthetic index with an oid derived from its table's.
    f"CREATE OR REPLACE VIEW {_D}.main.constraint_rows AS SELECT "
    "(1000000000 + table_oid * 256 + constraint_index)::UINTEGER AS oid, "
    "(2500000000 + table_oid * 256 + constraint_index)::UINTEGER AS index_oid, "
    # PostgreSQL's names for unnamed constraints (DuckDB's differ: c_id_pkey).
    "CASE WHEN server_fk THEN constraint_name WHEN constraint_type = 'PRIMARY KEY' "
    "THEN table_name || '_pkey' "
    "ELSE table_name || '_' || array_to_string(constraint_column_names, '_') || "
    "CASE constraint_type WHEN 'UNIQUE' THEN '_key' WHEN 'FOREIGN KEY' THEN '_fkey' "
    "ELSE '_check' END END AS constraint_name, server_fk, referenced_schema, "
    "update_action, delete_action, "
    "constraint_type, constraint_text, expression, table_oid::UINTEGER "
    "AS table_oid, table_name, "
    f"{_D}.main.relnsp(database_name, schema_name, schema_oid)::UINTEGER AS relnamespace, "
    "list_transform(constraint_column_indexes, i -> (i + 1)::SMALLINT) AS conkey, "
    "referenced_table, referenced_column_names, schema_name, database_name, "
    f"constraint_column_names FROM {_D}.main.constraints "
    f"WHERE {_D}.main.visible(database_name, table_name) "
    "AND constraint_type IN ('PRIMARY KEY', 'UNIQUE', 'FOREIGN KEY', 'CHECK') "
    f"AND NOT (constraint_type = 'CHECK' AND {_D}.main.is_declared_type(expression))",
    f"CREATE OR REPLACE VIEW {_D}.main.relations AS "
    "SELECT table_oid::UINTEGER AS oid, table_name AS relname, "
    f"{_D}.main.relnsp(database_name, schema_name, schema_oid)::UINTEGER AS relnamespace, "
    "'r' AS relkind, column_count::SMALLINT AS relnatts, "
    "CASE WHEN temporary THEN 't' ELSE 'p' END AS relpersistence, "
    "index_count > 0 OR has_primary_key AS relhasindex, "
    "check_constraint_count::SMALLINT AS relchecks, estimated_size::FLOAT AS reltuples, "
    "2::UINTEGER AS relam, comment, sql FROM duckdb_tables() "
    f"WHERE {_D}.main.visible(database_name, table_name) "
    "UNION ALL SELECT view_oid, view_name, "
    f"{_D}.main.relnsp(database_name, schema_name, schema_oid), 'v', column_count, "
    "CASE WHEN temporary THEN 't' ELSE 'p' END, false, 0, -1, 0, comment, sql "
    f"FROM duckdb_views() WHERE NOT internal AND {_D}.main.visible(database_name, view_name) "
    # a composite type's row (relkind 'c'): its fields' view, under the type's name
    "UNION ALL SELECT relid, type_name, typnamespace, 'c', natts, 'p', false, 0, -1, 0, "
    "NULL, NULL "
    f"FROM {_D}.main.composite_types WHERE relid <> 0 "
    "UNION ALL SELECT index_oid, index_name, "
    f"{_D}.main.relnsp(database_name, schema_name, schema_oid), 'i', "
    "len(string_split(expressions, ',')), CASE WHEN database_name = 'temp' THEN 't' "
    "ELSE 'p' END, false, 0, -1, 403, comment, sql "
    f"FROM duckdb_indexes() WHERE {_D}.main.visible(database_name, index_name) "
    "UNION ALL SELECT index_oid, constraint_name, relnamespace, 'i', len(conkey), "
    "CASE WHEN database_name = 'temp' THEN 't' ELSE 'p' END, "
    f"false, 0, -1, 403, NULL, NULL FROM {_D}.main.constraint_rows "
    "WHERE constraint_type IN ('PRIMARY KEY', 'UNIQUE') "
    "UNION ALL SELECT sequence_oid, sequence_name, "
    f"{_D}.main.relnsp(database_name, schema_name, schema_oid), 'S', 3, 'p', false, 0, -1, 0, "
    f"comment, sql FROM duckdb_sequences() WHERE {_D}.main.visible(database_name, "
    "sequence_name) "
    "UNION ALL SELECT oid::UINTEGER, relname, 11::UINTEGER, 'r', 0, 'p', true, 0, -1, 2, "
    "NULL, NULL FROM (VALUES " + ", ".join(f"({oid}, '{name}')" for name, oid
                                           in _CATALOG_RELATIONS.items())
    + ") AS t(oid, relname)",
    f"CREATE OR REPLACE VIEW {_D}.main.pg_class AS SELECT oid::UINTEGER AS oid, relname, "
    "relnamespace::UINTEGER AS relnamespace, "
    "0::UINTEGER AS reltype, 0::UINTEGER AS reloftype, 10::UINTEGER AS relowner, "
    "relam::UINTEGER AS relam, "
    "oid AS relfilenode, 0::UINTEGER AS reltablespace, 0 AS relpages, reltuples, "
    "0 AS relallvisible, 0::UINTEGER AS reltoastrelid, relhasindex, false AS relisshared, "
    # relchecks counts a declared type's CHECK too (declared_types): leaving it out
    # costs every pg_class read one more duckdb_constraints() scan, and clients read
    # the constraints themselves from pg_constraint, which has none of them
    "relpersistence, relkind, relnatts::SMALLINT AS relnatts, "
    "relchecks::SMALLINT AS relchecks, false AS relhasrules, "
    "relkind = 'r' AS relhastriggers, false AS relhassubclass, false AS relrowsecurity, "
    "false AS relforcerowsecurity, true AS relispopulated, 'd' AS relreplident, "
    "false AS relispartition, 0::UINTEGER AS relrewrite, 0::BIGINT AS relfrozenxid, "
    "0::BIGINT AS relminmxid, NULL::VARCHAR[] AS relacl, NULL::VARCHAR[] AS reloptions, "
    # tableoid: the system column tools join catalogs on (pgAdmin: cls.tableoid)
    f"NULL::VARCHAR AS relpartbound, 1259::UINTEGER AS tableoid FROM {_D}.main.relations",
    f"CREATE OR REPLACE VIEW {_D}.main.pg_attribute AS SELECT "
    "c.table_oid::UINTEGER AS attrelid, c.column_name AS attname, "
    "c.type_oid::UINTEGER AS atttypid, -1 AS attstattarget, "
    f"coalesce(t.typlen, -1)::SMALLINT AS attlen, c.column_index::SMALLINT AS attnum, "
    "(CASE WHEN c.data_type LIKE '%]' THEN 1 ELSE 0 END)::INTEGER AS attndims, "
    f"-1 AS attcacheoff, coalesce(c.typmod, {_D}.main.type_mod(c.data_type))::INTEGER "
    "AS atttypmod, "
    "coalesce(t.typbyval, false) AS attbyval, coalesce(t.typalign, 'i') AS attalign, "
    "'p' AS attstorage, '' AS attcompression, NOT c.is_nullable AS attnotnull, "
    "coalesce(c.column_default <> 'NULL', false) AS atthasdef, false AS atthasmissing, "
    "'' AS attidentity, "
    "'' AS attgenerated, false AS attisdropped, true AS attislocal, 0 AS attinhcount, "
    "0::UINTEGER AS attcollation, NULL::VARCHAR[] AS attacl, NULL::VARCHAR[] AS attoptions, "
    "NULL::VARCHAR[] AS attfdwoptions, NULL::VARCHAR AS attmissingval "
    # type_oid once per visible column (it is a long CASE: computed in the join as well,
    # for every column of every database, it made each read of this view take ~1 s);
    # a declared varchar(n) / char(n), or a user's ENUM type, gives the column its type
    f"FROM (SELECT c.* EXCLUDE (type_oid), d.typmod, "
    f"coalesce(d.type_oid, e.oid, c.type_oid) AS type_oid FROM (SELECT *, "
    f"{_D}.main.type_oid(data_type) AS type_oid FROM duckdb_columns() "
    f"WHERE ({_D}.main.visible(database_name, table_name) "
    f"OR {_D}.main.composite_of(database_name, table_name)) AND NOT internal) c "
    f"LEFT JOIN {_D}.main.declared_types d "
    "ON d.table_oid = c.table_oid AND d.attnum = c.column_index "
    f"LEFT JOIN {_D}.main.user_type_literals e ON e.literal = c.data_type) c "
    f"LEFT JOIN {_D}.main.pg_type t ON t.oid = c.type_oid "
    "UNION ALL SELECT r.oid, s.attname, s.atttypid::UINTEGER, -1, s.attlen::SMALLINT, "
    "s.attnum::SMALLINT, 0, -1, -1, s.attbyval, s.attalign, 'p', '', true, false, false, "
    "'', '', false, true, 0, 0::UINTEGER, NULL, NULL, NULL, NULL "
    f"FROM {_D}.main.relations r, (SELECT * FROM (VALUES {_values(_SYSTEM_COLUMNS)}) "
    "UNION ALL SELECT * FROM (VALUES " + _values(_SEQUENCE_COLUMNS) + ")) "
    "AS s(attname, atttypid, attlen, attnum, attbyval, attalign) "
    "WHERE r.relkind = 'r' AND s.attnum < 0 OR r.relkind = 'S'",
    f"CREATE OR REPLACE VIEW {_D}.main.pg_attrdef AS SELECT "
    "(3000000000 + c.table_oid * 256 + c.column_index)::UINTEGER AS oid, "
    "c.table_oid::UINTEGER AS adrelid, c.column_index::SMALLINT AS adnum, "
    "c.column_default AS adbin FROM duckdb_columns() c "
    # DEFAULT NULL is no default, as PostgreSQL stores none (DuckLake reports 'NULL'
    # for every column without one)
    f"WHERE {_D}.main.visible(c.database_name, c.table_name) AND c.column_default <> 'NULL'",
    f"CREATE OR REPLACE VIEW {_D}.main.pg_constraint AS SELECT oid, "
    "constraint_name AS conname, relnamespace AS connamespace, "
    "CASE constraint_type WHEN 'PRIMARY KEY' THEN 'p' WHEN 'UNIQUE' THEN 'u' "
    "WHEN 'FOREIGN KEY' THEN 'f' ELSE 'c' END AS contype, false AS condeferrable, "
    "false AS condeferred, true AS convalidated, table_oid AS conrelid, "
    "0::UINTEGER AS contypid, "
    # a key's own index; for a foreign key, the referenced key's index
    "coalesce(CASE WHEN constraint_type IN ('PRIMARY KEY', 'UNIQUE') THEN index_oid "
    f"WHEN constraint_type = 'FOREIGN KEY' THEN (SELECT k.index_oid FROM {_D}.main.constraint_rows "
    "k WHERE k.table_name = constraint_rows.referenced_table "
    "AND k.schema_name = constraint_rows.schema_name "
    "AND k.constraint_type IN ('PRIMARY KEY', 'UNIQUE') "
    "AND k.constraint_column_names = constraint_rows.referenced_column_names LIMIT 1) END, 0)"
    "::UINTEGER AS conindid, 0::UINTEGER AS conparentid, "
    "coalesce((SELECT r.oid FROM "
    f"{_D}.main.relations r WHERE r.relname = referenced_table AND r.relkind = 'r' "
    "AND r.relnamespace = constraint_rows.relnamespace), 0)::UINTEGER AS confrelid, "
    "CASE WHEN constraint_type = 'FOREIGN KEY' THEN coalesce(update_action, 'a') ELSE ' ' END "
    "AS confupdtype, "
    "CASE WHEN constraint_type = 'FOREIGN KEY' THEN coalesce(delete_action, 'a') ELSE ' ' END "
    "AS confdeltype, "
    "CASE WHEN constraint_type = 'FOREIGN KEY' THEN 's' ELSE ' ' END AS confmatchtype, "
    "true AS conislocal, "
    "0 AS coninhcount, false AS connoinherit, conkey, "
    "CASE WHEN constraint_type = 'FOREIGN KEY' THEN (SELECT list(dc.column_index::SMALLINT "
    "ORDER BY u.i) FROM (SELECT unnest(referenced_column_names) AS n, "
    "generate_subscripts(referenced_column_names, 1) AS i) u JOIN duckdb_columns() dc "
    "ON dc.column_name = u.n AND dc.table_name = referenced_table "
    "AND dc.schema_name = constraint_rows.schema_name "
    "AND dc.database_name = constraint_rows.database_name) END AS confkey, NULL::UINTEGER[] AS conpfeqop, NULL::UINTEGER[] AS conppeqop, "
    "NULL::UINTEGER[] AS conffeqop, NULL::SMALLINT[] AS confdelsetcols, "
    "NULL::UINTEGER[] AS conexclop, expression AS conbin, constraint_text, "
    "2606::UINTEGER AS tableoid "
    f"FROM {_D}.main.constraint_rows",
    f"CREATE OR REPLACE VIEW {_D}.main.index_rows AS "
    "SELECT index_oid AS indexrelid, table_oid AS indrelid, len(conkey)::SMALLINT AS indnatts, "
    "len(conkey)::SMALLINT AS indnkeyatts, true AS indisunique, "
    "constraint_type = 'PRIMARY KEY' AS indisprimary, conkey AS indkey, "
    "NULL::VARCHAR AS indexprs, NULL::VARCHAR AS indpred "
    f"FROM {_D}.main.constraint_rows WHERE constraint_type IN ('PRIMARY KEY', 'UNIQUE') "
    "UNION ALL SELECT i.index_oid::UINTEGER, i.table_oid::UINTEGER, "
    "len(string_split(i.expressions, ','))::SMALLINT, "
    "len(string_split(i.expressions, ','))::SMALLINT, "
    "i.is_unique, i.is_primary, "
    "(SELECT list(coalesce(dc.column_index, 0)::SMALLINT ORDER BY u.i) FROM (SELECT "
    "trim(unnest(string_split(trim(i.expressions, '[]'), ',')), ' \"') AS e, "
    "generate_subscripts(string_split(i.expressions, ','), 1) AS i) u JOIN "
    "duckdb_columns() dc ON dc.table_oid = i.table_oid AND dc.column_name = u.e), NULL, NULL "
    f"FROM duckdb_indexes() i WHERE {_D}.main.visible(i.database_name, i.table_name)",
    f"CREATE OR REPLACE VIEW {_D}.main.pg_index AS SELECT indexrelid, indrelid, indnatts, "
    "indnkeyatts, indisunique, false AS indnullsnotdistinct, indisprimary, "
    "false AS indisexclusion, true AS indimmediate, false AS indisclustered, "
    "true AS indisvalid, false AS indcheckxmin, true AS indisready, true AS indislive, "
    "false AS indisreplident, indkey, list_transform(indkey, k -> 0::UINTEGER) "
    "AS indcollation, list_transform(indkey, k -> 0::UINTEGER) AS indclass, "
    "list_transform(indkey, k -> 0::SMALLINT) AS indoption, indexprs, indpred "
    f"FROM {_D}.main.index_rows",
    f"CREATE OR REPLACE VIEW {_D}.main.index_definitions AS SELECT index_oid, "
    f"constraint_name AS index_name, {_D}.main.nspname(schema_name) AS schema_name, "
    "table_name, true AS is_unique, constraint_column_names AS columns "
    f"FROM {_D}.main.constraint_rows WHERE constraint_type IN ('PRIMARY KEY', 'UNIQUE') "
    f"UNION ALL SELECT index_oid::UINTEGER, index_name, {_D}.main.nspname(schema_name), "
    "table_name, is_unique, list_transform(string_split(trim(expressions, '[]'), ','), "
    f"e -> trim(e)) FROM duckdb_indexes() WHERE {_D}.main.visible(database_name, "
    "table_name)",
    f"CREATE OR REPLACE VIEW {_D}.main.pg_depend AS SELECT 1259::UINTEGER AS classid, "
    "index_oid AS objid, 0 AS objsubid, 2606::UINTEGER AS refclassid, oid AS refobjid, "
    f"0 AS refobjsubid, 'i' AS deptype FROM {_D}.main.constraint_rows "
    "WHERE constraint_type IN ('PRIMARY KEY', 'UNIQUE')",
    f"CREATE OR REPLACE VIEW {_D}.main.pg_description AS "
    "SELECT oid AS objoid, 1259::UINTEGER AS classoid, 0 AS objsubid, comment AS description "
    f"FROM {_D}.main.relations WHERE comment IS NOT NULL "
    "UNION ALL SELECT table_oid::UINTEGER, 1259, column_index, "
    f"{_description()} FROM duckdb_columns() "
    f"WHERE comment IS NOT NULL AND comment <> '{JSONB_COMMENT}' "
    f"AND {_D}.main.visible(database_name, table_name) "
    f"UNION ALL SELECT {_D}.main.nspoid(schema_name, oid), 2615, 0, coalesce(comment, "
    "'standard public schema') FROM duckdb_schemas() WHERE (comment IS NOT NULL OR "
    "schema_name = 'main') AND database_name = current_database()",
    # -- functions ----------------------------------------------------------------------
    f"CREATE OR REPLACE MACRO {_D}.main.version() AS 'PostgreSQL 15.0 on x86_64-pc-linux-gnu, "
    "compiled by duckgres-trio (DuckDB ' || (SELECT library_version FROM pragma_version()) "
    "|| '), 64-bit'",
    f"CREATE OR REPLACE MACRO {_D}.main.format_named(o, m) AS CASE o "
    "WHEN 16 THEN 'boolean' WHEN 17 THEN 'bytea' WHEN 18 THEN '\"char\"' WHEN 19 THEN 'name' "
    "WHEN 20 THEN 'bigint' WHEN 21 THEN 'smallint' WHEN 23 THEN 'integer' "
    "WHEN 24 THEN 'regproc' WHEN 25 THEN 'text' WHEN 26 THEN 'oid' WHEN 114 THEN 'json' "
    "WHEN 700 THEN 'real' WHEN 701 THEN 'double precision' "
    "WHEN 1042 THEN 'character' || CASE WHEN m > 4 THEN '(' || (m - 4) || ')' ELSE '' END "
    "WHEN 1043 THEN 'character varying' || CASE WHEN m > 4 THEN '(' || (m - 4) || ')' "
    "ELSE '' END WHEN 1082 THEN 'date' WHEN 1083 THEN 'time without time zone' "
    "WHEN 1114 THEN 'timestamp without time zone' WHEN 1184 THEN 'timestamp with time zone' "
    "WHEN 1186 THEN 'interval' WHEN 1266 THEN 'time with time zone' WHEN 1560 THEN 'bit' "
    "WHEN 1562 THEN 'bit varying' WHEN 1700 THEN 'numeric' || CASE WHEN m >= 4 THEN "
    "'(' || ((m - 4) >> 16) || ',' || ((m - 4) & 65535) || ')' ELSE '' END "
    "WHEN 2205 THEN 'regclass' WHEN 2206 THEN 'regtype' WHEN 2950 THEN 'uuid' "
    "WHEN 3802 THEN 'jsonb' END",
    # format_type's name of a scalar type: PostgreSQL's SQL name, else the typname.
    f"CREATE OR REPLACE MACRO {_D}.main.format_scalar(o, m) AS coalesce("
    f"{_D}.main.format_named(o, m), (SELECT typname FROM {_D}.main.pg_type _m WHERE _m.oid = o))",
    f"CREATE OR REPLACE MACRO {_D}.main.array_element(o) AS (SELECT typelem FROM "
    f"{_D}.main.pg_type _m WHERE _m.oid = o AND _m.typcategory = 'A' AND o NOT IN (22, 30))",
    f"CREATE OR REPLACE MACRO {_D}.main.format_type(o, m) AS CASE WHEN o IS NULL THEN NULL "
    f"ELSE coalesce({_D}.main.format_scalar(coalesce({_D}.main.array_element(o), o), m), "
    f"'???') || CASE WHEN {_D}.main.array_element(o) IS NULL THEN '' ELSE '[]' END END",
    f"CREATE OR REPLACE MACRO {_D}.main.format_type_oid(o) AS {_D}.main.format_type(o, NULL)",
    # regtype's output of an OID, as format_type(o, NULL) gives it, from one uncorrelated
    # scan of the types (format_type's correlated lookups around an OID that is itself a
    # lookup, 'integer'::regtype, took seconds to plan)
    f"CREATE OR REPLACE TABLE {_D}.main.builtin_type_names AS SELECT t.oid, coalesce("
    f"{_D}.main.format_named(coalesce(e.oid, t.oid), NULL), coalesce(e.typname, t.typname)) "
    "|| CASE WHEN e.oid IS NULL THEN '' ELSE '[]' END AS name "
    f"FROM {_D}.main.builtin_types t LEFT JOIN {_D}.main.builtin_types e "
    "ON t.typcategory = 'A' AND t.oid NOT IN (22, 30) AND e.oid = t.typelem",
    # a user's enum type and its array type, schema-qualified outside public
    f"CREATE OR REPLACE VIEW {_D}.main.enum_type_names AS SELECT oid, name FROM (SELECT "
    "unnest([oid, array_oid]) AS oid, unnest([n, n || '[]']) AS name FROM (SELECT oid, "
    "array_oid, CASE WHEN qualified LIKE 'public.%' THEN type_name ELSE qualified END AS n "
    f"FROM {_D}.main.enum_types))",
    f"CREATE OR REPLACE MACRO {_D}.main.regtype_name(o) AS coalesce(map_extract((SELECT "
    f"map(list(oid), list(name)) FROM {_D}.main.builtin_type_names), o)[1], "
    f"map_extract((SELECT map(list(oid), list(name)) FROM {_D}.main.enum_type_names), o)[1])",
    # pg_typeof(x) is pg_typeof_name(typeof(x)) and pg_typeof(x)::oid pg_typeof_oid(...)
    # (sql/translate.py): the OID and name of a value's DuckDB type as pg_attribute gives
    # them, a user's enum (typeof names it by its labels) by its labels as pg_attribute
    # finds it. The enum lookups are uncorrelated subqueries (run once per statement):
    # correlated ones, and format_type, took seconds per statement.
    f"CREATE OR REPLACE MACRO {_D}.main.enum_by_literal(k) AS (SELECT map(list(literal), "
    "list(CASE k WHEN 'oid' THEN oid::VARCHAR WHEN 'array_oid' THEN array_oid::VARCHAR "
    "ELSE CASE WHEN qualified LIKE 'public.%' THEN type_name ELSE qualified END END)) "
    "FROM (SELECT literal, min(oid) AS oid, min_by(array_oid, oid) AS array_oid, "
    "min_by(type_name, oid) AS type_name, min_by(qualified, oid) AS qualified "
    f"FROM {_D}.main.enum_types "
    "GROUP BY literal))",
    f"CREATE OR REPLACE MACRO {_D}.main.pg_typeof_oid(t) AS CASE "
    "WHEN t LIKE 'ENUM(%)' THEN "
    f"map_extract({_D}.main.enum_by_literal('oid'), t)[1]::UINTEGER "
    r"WHEN regexp_replace(t, '(\[\d*\])+$', '') LIKE 'ENUM(%)' THEN "
    f"map_extract({_D}.main.enum_by_literal('array_oid'), "
    r"regexp_replace(t, '(\[\d*\])+$', ''))[1]::UINTEGER "
    f"ELSE {_D}.main.type_oid(t) END::UINTEGER",
    f"CREATE OR REPLACE MACRO {_D}.main.pg_typeof_name(t) AS "
    f"{_D}.main.regtype_name({_D}.main.pg_typeof_oid(t))",
    f"CREATE OR REPLACE MACRO {_D}.main.pg_get_userbyid(o) AS coalesce((SELECT rolname "
    f"FROM {_D}.main.authid _m WHERE _m.oid = o), 'unknown (OID=' || o || ')')",
    # Visible: in the default search path (public, pg_catalog) or temporary.
    f"CREATE OR REPLACE MACRO {_D}.main.pg_table_is_visible(o) AS coalesce((SELECT "
    f"_m.relnamespace IN (2200, 11) OR _m.relpersistence = 't' FROM {_D}.main.relations _m "
    "WHERE _m.oid = o), true)",
    f"CREATE OR REPLACE MACRO {_D}.main.pg_type_is_visible(o) AS true",
    f"CREATE OR REPLACE MACRO {_D}.main.pg_function_is_visible(o) AS true",
    *(f"CREATE OR REPLACE MACRO {_D}.main.{name}(a, b, c := NULL) AS true" for name in (
        "has_table_privilege", "has_schema_privilege", "has_database_privilege",
        "has_function_privilege", "has_sequence_privilege", "has_any_column_privilege")),
    f"CREATE OR REPLACE MACRO {_D}.main.has_column_privilege(a, b, c, d := NULL) AS true",
    f"CREATE OR REPLACE MACRO {_D}.main.obj_description(o, c := NULL) AS (SELECT description "
    f"FROM {_D}.main.pg_description _m WHERE _m.objoid = o AND _m.objsubid = 0 LIMIT 1)",
    f"CREATE OR REPLACE MACRO {_D}.main.col_description(o, n) AS (SELECT description "
    f"FROM {_D}.main.pg_description _m WHERE _m.objoid = o AND _m.objsubid = n LIMIT 1)",
    f"CREATE OR REPLACE MACRO {_D}.main.shobj_description(o, c) AS NULL::VARCHAR",
    f"CREATE OR REPLACE MACRO {_D}.main.pg_get_expr(e, r, p := NULL) AS "
    r"regexp_replace(e, 'nextval\((''[^'']*'')\)', 'nextval(\1::regclass)', 'g')",
    f"CREATE OR REPLACE MACRO {_D}.main.pg_get_constraintdef(o, p := NULL) AS (SELECT "
    r"regexp_replace(constraint_text, '^(PRIMARY KEY|UNIQUE|CHECK)\(', '\1 (') "
    f"FROM {_D}.main.constraint_rows _m WHERE _m.oid = o)",
    f"CREATE OR REPLACE MACRO {_D}.main.pg_get_indexdef(o, c := NULL, p := NULL) AS "
    "(SELECT CASE WHEN c IS NOT NULL AND c > 0 THEN columns[c] ELSE 'CREATE ' || "
    "CASE WHEN is_unique THEN 'UNIQUE ' ELSE '' END || 'INDEX ' || index_name || ' ON ' || "
    "schema_name || '.' || table_name || ' USING btree (' || array_to_string(columns, ', ') "
    f"|| ')' END FROM {_D}.main.index_definitions _m WHERE _m.index_oid = o)",
    f"CREATE OR REPLACE MACRO {_D}.main.pg_get_viewdef(o, p := NULL) AS (SELECT sql FROM "
    f"{_D}.main.relations _m WHERE _m.oid = o)",
    f"CREATE OR REPLACE MACRO {_D}.main.pg_encoding_to_char(e) AS 'UTF8'",
    # Definitions of objects DuckDB does not have (statistics, partitions, triggers,
    # rules): their catalogs are empty, so these are never asked about a real object.
    *(f"CREATE OR REPLACE MACRO {_D}.main.{name}(o, a := NULL, b := NULL) AS NULL::VARCHAR"
      for name in ("pg_get_statisticsobjdef_columns", "pg_get_partkeydef",
                   "pg_get_triggerdef", "pg_get_ruledef", "pg_get_functiondef",
                   "pg_get_partition_constraintdef")),
    f"CREATE OR REPLACE MACRO {_D}.main.pg_relation_is_publishable(o) AS false",
    # DuckDB's keywords (the ones this server's parser knows), in PostgreSQL's shape
    f"CREATE OR REPLACE MACRO {_D}.main.pg_get_keywords() AS TABLE SELECT keyword_name "
    "AS word, CASE keyword_category WHEN 'reserved' THEN 'R' WHEN 'unreserved' THEN 'U' "
    "WHEN 'column_name' THEN 'C' ELSE 'T' END AS catcode, true AS barelabel, "
    "keyword_category AS catdesc, 'can be bare label' AS baredesc FROM duckdb_keywords()",
    # No partitions: a relation's only ancestor is itself. Scalar (psql calls it in a
    # select list) and table form; DuckDB ignores WITH ORDINALITY on a table macro, so
    # the table form returns the ordinality column itself.
    f"CREATE OR REPLACE MACRO {_D}.main.pg_partition_ancestors(o) AS o::UINTEGER",
    f"CREATE OR REPLACE MACRO {_D}.main.pg_partition_ancestors(o) AS TABLE "
    "SELECT o::UINTEGER AS relid, 1::BIGINT AS ordinality",

    *(f"CREATE OR REPLACE MACRO {_D}.main.{name}(o, f := NULL) AS 0::BIGINT" for name in (
        "pg_relation_size", "pg_total_relation_size", "pg_table_size", "pg_indexes_size")),
    f"CREATE OR REPLACE MACRO {_D}.main.quote_ident(s) AS CASE WHEN "
    r"regexp_full_match(s, '[a-z_][a-z0-9_$]*') THEN s "
    "ELSE '\"' || replace(s, '\"', '\"\"') || '\"' END",
    f"CREATE OR REPLACE MACRO {_D}.main.quote_literal(s) AS "
    "'''' || replace(CAST(s AS VARCHAR), '''', '''''') || ''''",
    f"CREATE OR REPLACE MACRO {_D}.main.quote_nullable(s) AS "
    f"coalesce({_D}.main.quote_literal(s), 'NULL')",
    f"CREATE OR REPLACE MACRO {_D}.main.txid_current() AS epoch_ms(get_current_timestamp())",
    f"CREATE OR REPLACE MACRO {_D}.main.pg_current_xact_id() AS {_D}.main.txid_current()",
    f"CREATE OR REPLACE MACRO {_D}.main.pg_is_in_recovery() AS false",
    f"CREATE OR REPLACE MACRO {_D}.main.pg_backend_pid() AS "
    "coalesce(getvariable('pg_session').pid, 0)::INTEGER",
    f"CREATE OR REPLACE MACRO {_D}.main.current_schema() AS "
    f"{_D}.main.nspname(system.pg_catalog.current_schema())",
    f"CREATE OR REPLACE MACRO {_D}.main.current_schemas(i) AS "
    "CASE WHEN i THEN ['pg_catalog', 'public'] ELSE ['public'] END",
    f"CREATE OR REPLACE MACRO {_D}.main.pg_get_serial_sequence(t, c) AS (SELECT "
    "'public.' || sequence_name FROM duckdb_sequences() WHERE sequence_name = "
    "string_split(t, '.')[-1] || '_' || c || '_seq' LIMIT 1)",
    f"CREATE OR REPLACE MACRO {_D}.main.set_config(n, v, l) AS v",
    f"CREATE OR REPLACE MACRO {_D}.main.regclass_oid(t) AS (SELECT CASE WHEN "
    r"regexp_full_match(_t, '\d+') THEN TRY_CAST(_t AS UINTEGER) "
    "WHEN _t IN ('pg_class', 'pg_catalog.pg_class') THEN 1259 "
    "WHEN _t IN ('pg_type', 'pg_catalog.pg_type') THEN 1247 "
    "WHEN _t IN ('pg_proc', 'pg_catalog.pg_proc') THEN 1255 "
    "WHEN _t IN ('pg_namespace', 'pg_catalog.pg_namespace') THEN 2615 "
    "WHEN _t IN ('pg_constraint', 'pg_catalog.pg_constraint') THEN 2606 "
    "WHEN _t IN ('pg_attribute', 'pg_catalog.pg_attribute') THEN 1249 "
    "WHEN _t IN ('pg_index', 'pg_catalog.pg_index') THEN 2610 "
    "WHEN _t IN ('pg_database', 'pg_catalog.pg_database') THEN 1262 "
    "ELSE (SELECT _m.oid FROM "
    f"{_D}.main.relations _m JOIN {_D}.main.pg_namespace _n ON _n.oid = _m.relnamespace "
    "WHERE _m.relname = trim(string_split(_t, '.')[-1], '\"') AND (NOT contains(_t, '.') "
    "OR _n.nspname = trim(string_split(_t, '.')[1], '\"')) "
    "ORDER BY _n.nspname <> 'public' LIMIT 1) END FROM (SELECT t AS _t))",
    # SIMILAR TO's pattern (not a constant: sql/translate.py converts those itself) as a
    # regular expression, as PostgreSQL's similar_escape does with the default escape:
    # \x is x escaped (as PostgreSQL's regular expressions read \x: translate._ARE_ESCAPES),
    # a lone trailing \ and \" (SUBSTRING's separator) vanish, % and _ are the
    # wildcards, ( does not capture, . ^ $ are literal, [...] is copied.
    f"CREATE OR REPLACE MACRO {_D}.main.similar_to_regex(p) AS '^(?:' || array_to_string("
    r"list_transform(regexp_extract_all(p, '\\[\s\S]?|\[[^\]\\]*\]?|[\s\S]'), "
    r"t -> CASE WHEN t IN ('\', '\"') THEN '' WHEN t = '\b' THEN '\x08' "
    r"WHEN t = '\B' THEN '\\' WHEN t = '\y' THEN '\b' WHEN t = '\Y' THEN '\B' "
    r"WHEN t = '\Z' THEN '\z' WHEN t = '\e' THEN '\x1b' WHEN t[1] IN ('\', '[') THEN t "
    r"WHEN t = '%' THEN '.*' WHEN t = '_' THEN '.' WHEN t = '(' THEN '(?:' "
    r"WHEN t IN ('.', '^', '$') THEN '\' || t ELSE t END), '') || ')$'",
    # A SIMILAR TO pattern with escape e as one with the default escape: e then c is \c,
    # a backslash that is not escaped is a literal one (\\).
    f"CREATE OR REPLACE MACRO {_D}.main.similar_pattern(p, e) AS CASE WHEN length(e) > 1 "
    "THEN error('invalid escape string') ELSE array_to_string(list_transform("
    r"regexp_extract_all(p, CASE WHEN e = '' THEN '[\s\S]' "
    r"ELSE regexp_escape(e) || '[\s\S]?|[\s\S]' END), "
    r"t -> CASE WHEN e <> '' AND t[1] = e THEN '\' || t[2:] WHEN t = '\' THEN '\\' "
    "ELSE t END), '') END",
    # The pattern matching text that reaches the lone escape ending q || e with text
    # left: q, then one character more; if q ends in a run of wildcards holding a %,
    # the match reaches the escape from that run once its _'s are matched (at least one
    # character left on arriving at the %). An escaped first wildcard is not in the run.
    f"CREATE OR REPLACE MACRO {_D}.main.like_probe_tail(head, run) AS CASE "
    "WHEN NOT contains(run, '%') THEN head || run || '_%' "
    "ELSE head || regexp_extract(run, '^_*') || repeat('_', greatest(1, "
    "length(replace(substr(run, strpos(run, '%')), '%', '')))) || '%' END",
    f"CREATE OR REPLACE MACRO {_D}.main.like_probe_parts(q, e, run, head) AS CASE "
    "WHEN run <> '' AND (length(head) - length(rtrim(head, e))) % 2 = 1 THEN "
    f"{_D}.main.like_probe_tail(head || left(run, 1), substr(run, 2)) "
    f"ELSE {_D}.main.like_probe_tail(head, run) END",
    f"CREATE OR REPLACE MACRO {_D}.main.like_probe_run(q, e, run) AS "
    f"{_D}.main.like_probe_parts(q, e, run, left(q, length(q) - length(run)))",
    f"CREATE OR REPLACE MACRO {_D}.main.like_probe(q, e) AS {_D}.main.like_probe_run("
    "q, e, regexp_extract(q, '[%_]*$'))",
    # LIKE and ILIKE as PostgreSQL matches (sql/translate.py sends here every pattern
    # that is not a constant free of backslashes): one escape character, backslash
    # unless the statement names another ('' for none). A pattern ending in a lone
    # escape matches nothing, and is an error once the match gets that far: when text
    # is left where the escape stands (like_probe, PostgreSQL's MatchText). The match
    # is a code, so that LIKE ANY / ALL can stop at the first decisive pattern as
    # PostgreSQL does: 0 false, 1 true, 2 and 3 the errors like_result raises.
    *(f"CREATE OR REPLACE MACRO {_D}.main.pg_{name}_match(s, p, e) AS CASE "
      "WHEN p IS NULL OR e IS NULL THEN NULL WHEN length(e) > 1 THEN 3 "
      "WHEN s IS NULL THEN NULL "
      f"WHEN (length(p) - length(rtrim(p, e))) % 2 = 1 THEN CASE WHEN {name}_escape(s, "
      f"{_D}.main.like_probe(left(p, -1), e), e) THEN 2 ELSE 0 END "
      f"ELSE {name}_escape(s, p, e)::INTEGER END" for name in ("like", "ilike")),
    f"CREATE OR REPLACE MACRO {_D}.main.like_result(c) AS CASE "
    "WHEN c = 2 THEN error('LIKE pattern must not end with escape character') "
    "WHEN c = 3 THEN error('invalid escape string') ELSE c = 1 END",
    f"CREATE OR REPLACE MACRO {_D}.main.like_not(c) AS CASE WHEN c <= 1 THEN 1 - c ELSE c END",
    *(f"CREATE OR REPLACE MACRO {_D}.main.pg_{name}(s, p, e) AS "
      f"{_D}.main.like_result({_D}.main.pg_{name}_match(s, p, e))" for name in ("like", "ilike")),
    # x LIKE ANY / ALL (array) from the list of codes: the first true (ANY) or false
    # (ALL) decides, unless an error comes first; else NULL if a match was NULL.
    f"CREATE OR REPLACE MACRO {_D}.main.like_list(m, first, otherwise) AS CASE "
    f"WHEN m IS NULL THEN NULL WHEN first IS NOT NULL THEN {_D}.main.like_result(first) "
    "WHEN list_count(m) < len(m) THEN NULL ELSE otherwise END",
    f"CREATE OR REPLACE MACRO {_D}.main.like_any(m) AS {_D}.main.like_list(m, "
    "list_filter(m, c -> c >= 1)[1], false)",
    f"CREATE OR REPLACE MACRO {_D}.main.like_all(m) AS {_D}.main.like_list(m, "
    "list_filter(m, c -> c <> 1)[1], true)",
    # array::text as array_out prints it ({a,"b c",NULL}, {{1,2},{3,4}}, {t,f}), not
    # DuckDB's [a, b c, NULL]: sql/translate.py sends casts to text here. A macro binds
    # for any type, so the list's elements are read as text through its JSON; other
    # values are cast as before. Element quoting is array_out's (docs/types.md).
    f"CREATE OR REPLACE MACRO {_D}.main.array_element_text(e, b) AS CASE "
    "WHEN e IS NULL THEN 'NULL' WHEN b THEN left(e, 1) "
    r"""WHEN e = '' OR upper(e) = 'NULL' OR regexp_matches(e, '[\s"\\{},]') """
    r"""THEN '"' || regexp_replace(e, '(["\\])', '\\\1', 'g') || '"' ELSE e END""",
    f"CREATE OR REPLACE MACRO {_D}.main.as_text(x) AS CASE "
    # bare numeric and arithmetic on it (DECIMAL(38, s >= 10)) print as numeric_out
    # prints an unconstrained numeric: no trailing fraction zeros (wire.unbounded)
    r"WHEN regexp_full_match(typeof(x), 'DECIMAL\(38,[1-3][0-9]\)') "
    r"THEN regexp_replace(x::VARCHAR, '\.?0+$', '') "
    "WHEN typeof(x) NOT LIKE '%[]' THEN x::VARCHAR "
    "ELSE CASE (length(typeof(x)) - length(replace(typeof(x), '[]', ''))) // 2 "
    "WHEN 1 THEN '{' || array_to_string(list_transform(json_transform(to_json(x), "
    f"""'["VARCHAR"]'), e -> {_D}.main.array_element_text(e, typeof(x) LIKE 'BOOLEAN%')), """
    "',') || '}' "
    "WHEN 2 THEN '{' || array_to_string(list_transform(json_transform(to_json(x), "
    """'[["VARCHAR"]]'), s -> '{' || array_to_string(list_transform(s, e -> """
    f"{_D}.main.array_element_text(e, typeof(x) LIKE 'BOOLEAN%')), ',') || '}}'), ',') || '}}' "
    "ELSE error('casting an array of more than 2 dimensions to text is not supported') "
    "END END",
    # x = ANY (list) as PostgreSQL has it: true on a match, else NULL if x or an element
    # is NULL, else false (an empty list: false). sql/translate.py sends ANY($1) here;
    # the list is cast to x's list type, which DuckDB cannot infer for a parameter.
    f"CREATE OR REPLACE MACRO {_D}.main.in_typed_list(l, x) AS CASE WHEN l IS NULL "
    "THEN NULL WHEN len(l) = 0 THEN false WHEN x IS NULL THEN NULL "
    "WHEN list_contains(l, x) THEN true WHEN list_count(l) < len(l) THEN NULL ELSE false END",
    f"CREATE OR REPLACE MACRO {_D}.main.in_list(l, x) AS "
    f"{_D}.main.in_typed_list(cast_to_type(l, [x]), x)",
    # information_schema._pg_expandarray (pgjdbc's key columns): one row per element,
    # as the (x, n) pairs PostgreSQL's set-returning function gives.
    f"CREATE OR REPLACE MACRO {_D}.main._pg_expandarray(a) AS unnest(list_transform("
    "generate_series(1, len(a)), i -> {'x': a[i], 'n': i}))",
    # PostgreSQL raises division_by_zero where DuckDB returns NULL (sql/translate.py
    # sends / and % here)
    f"CREATE OR REPLACE MACRO {_D}.main.div(a, b) AS "
    "CASE WHEN b = 0 THEN error('division by zero') ELSE a / b END",
    f"CREATE OR REPLACE MACRO {_D}.main.mod(a, b) AS "
    "CASE WHEN b = 0 THEN error('division by zero') ELSE a % b END",
    # bytea's byte and bit accessors (bits numbered from each byte's lowest, as
    # PostgreSQL does), with its 2202E for an index outside the value
    f"CREATE OR REPLACE MACRO {_D}.main._bytea_index(b, n, size) AS "
    "CASE WHEN n < 0 OR n >= size THEN error('index ' || n || ' out of valid range, 0..' "
    "|| (size - 1)) ELSE n END",
    f"CREATE OR REPLACE MACRO {_D}.main.get_byte(b, n) AS ('0x' || substr(hex(b), "
    f"2 * {_D}.main._bytea_index(b, n, octet_length(b)) + 1, 2))::INTEGER",
    f"CREATE OR REPLACE MACRO {_D}.main.set_byte(b, n, v) AS unhex(substr(hex(b), 1, "
    f"2 * {_D}.main._bytea_index(b, n, octet_length(b))) || lpad(hex(v & 255), 2, '0') "
    "|| substr(hex(b), 2 * n + 3))",
    f"CREATE OR REPLACE MACRO {_D}.main.get_bit(b, n) AS (({_D}.main.get_byte(b, "
    f"{_D}.main._bytea_index(b, n, 8 * octet_length(b)) // 8) >> (n % 8)) & 1)::INTEGER",
    f"CREATE OR REPLACE MACRO {_D}.main.set_bit(b, n, v) AS {_D}.main.set_byte(b, "
    f"{_D}.main._bytea_index(b, n, 8 * octet_length(b)) // 8, CASE "
    "WHEN v IS NULL THEN NULL "
    f"WHEN v = 0 THEN {_D}.main.get_byte(b, n // 8) & ~(1 << (n % 8)) "
    f"WHEN v = 1 THEN {_D}.main.get_byte(b, n // 8) | (1 << (n % 8)) "
    "ELSE error('new bit must be 0 or 1') END)",
    # PostgreSQL's other bytea functions. sql/translate.py sends length, octet_length,
    # position, substring/substr, overlay, btrim/ltrim/rtrim, sha256, bit_count and
    # convert* here: each macro's BLOB overload is bytea's form, the untyped one the
    # function DuckDB already had (text, lists), so a call keeps its meaning for every
    # other type. Bytes are handled as hex digits (two per byte) or as lists of ints.
    f"CREATE OR REPLACE MACRO {_D}.main._bytea_list(b) AS list_transform("
    "range(octet_length(b)), i -> ('0x' || substr(hex(b), 2 * i + 1, 2))::INTEGER)",
    # an unknown literal where bytea is meant: PostgreSQL's hex input format, else as is
    f"CREATE OR REPLACE MACRO {_D}.main._bytea_in(c BLOB) AS c, (c) AS CASE WHEN "
    r"c[1:2] IN ('\x', '\X') THEN unhex(c[3:]) ELSE c::BLOB END",
    f"CREATE OR REPLACE MACRO {_D}.main.pg_length(b BLOB) AS octet_length(b)::INTEGER, "
    "(s) AS system.main.length(s)::INTEGER",
    f"CREATE OR REPLACE MACRO {_D}.main.pg_octet_length(b BLOB) AS "
    "octet_length(b)::INTEGER, (s) AS strlen(s)::INTEGER",
    # bytes are matched at byte boundaries: each hex pair is followed by a space
    f"CREATE OR REPLACE MACRO {_D}.main._bytea_spaced(b) AS "
    r"' ' || regexp_replace(hex(b), '(..)', '\1 ', 'g')",
    f"CREATE OR REPLACE MACRO {_D}.main.pg_position(b BLOB, sub) AS CASE "
    f"WHEN octet_length({_D}.main._bytea_in(sub)) = 0 THEN 1 ELSE "
    f"(instr({_D}.main._bytea_spaced(b), {_D}.main._bytea_spaced({_D}.main._bytea_in(sub)))"
    " + 2) // 3 END::INTEGER, (s, sub) AS system.main.position(s, sub)::INTEGER",
    # PostgreSQL's bytea_substring: from max(s, 1) up to s + n, 22011 for n < 0
    f"CREATE OR REPLACE MACRO {_D}.main.pg_substring(b BLOB, s, n) AS CASE WHEN n < 0 "
    "THEN error('negative substring length not allowed') "
    "WHEN s + n <= greatest(s, 1) THEN ''::BLOB "
    "ELSE unhex(substr(hex(b), 2 * greatest(s, 1) - 1, 2 * (s + n - greatest(s, 1)))) END, "
    "(b BLOB, s) AS unhex(substr(hex(b), 2 * greatest(s, 1) - 1)), "
    "(t, s, n) AS system.main.substring(t, s, n), (t, s) AS system.main.substring(t, s)",
    f"CREATE OR REPLACE MACRO {_D}.main.pg_text_overlay(t, p, s, n) AS CASE WHEN s - 1 < 0 "
    "THEN error('negative substring length not allowed') ELSE "
    "system.main.substring(t, 1, s - 1) || p || system.main.substring(t, s + n) END",
    f"CREATE OR REPLACE MACRO {_D}.main.pg_overlay(b BLOB, p, s, n) AS "
    f"{_D}.main.pg_substring(b, 1, s - 1) || {_D}.main._bytea_in(p) "
    f"|| {_D}.main.pg_substring(b, s + n), "
    f"(b BLOB, p, s) AS {_D}.main.pg_substring(b, 1, s - 1) || {_D}.main._bytea_in(p) "
    f"|| {_D}.main.pg_substring(b, s + octet_length({_D}.main._bytea_in(p))), "
    f"(t, p, s, n) AS {_D}.main.pg_text_overlay(t, p, s, n), "
    f"(t, p, s) AS {_D}.main.pg_text_overlay(t, p, s, system.main.length(p))",
    # trim bytes in c: the first and last byte not in c, by their list positions
    f"CREATE OR REPLACE MACRO {_D}.main._bytea_kept(b, c) AS list_transform("
    f"{_D}.main._bytea_list(b), x -> NOT list_contains({_D}.main._bytea_list(c), x))",
    f"CREATE OR REPLACE MACRO {_D}.main._bytea_trim(b, c, head, tail) AS {_D}.main."
    f"pg_substring(b, CASE WHEN head THEN coalesce(list_position({_D}.main._bytea_kept(b, c), "
    "true), octet_length(b) + 1) ELSE 1 END, "
    f"greatest(0, octet_length(b) + 1 - CASE WHEN tail THEN coalesce(list_position(list_reverse("
    f"{_D}.main._bytea_kept(b, c)), true), octet_length(b) + 1) - 1 ELSE 0 END - "
    f"CASE WHEN head THEN coalesce(list_position({_D}.main._bytea_kept(b, c), true), "
    "octet_length(b) + 1) ELSE 1 END))",
    *(f"CREATE OR REPLACE MACRO {_D}.main.pg_{name}(b BLOB, c) AS {_D}.main._bytea_trim("
      f"b, {_D}.main._bytea_in(c), {head}, {tail}), (s, c) AS system.main.{duck}(s, c), "
      f"(s) AS system.main.{duck}(s)"
      for name, duck, head, tail in (("btrim", "trim", "true", "true"),
                                     ("ltrim", "ltrim", "true", "false"),
                                     ("rtrim", "rtrim", "false", "true"))),
    # sha256 of bytea (or of an unknown literal, which PostgreSQL reads as bytea) is bytea
    f"CREATE OR REPLACE MACRO {_D}.main.pg_sha256(b) AS "
    f"unhex(sha256({_D}.main._bytea_in(b)))",
    # sha224/384/512: bytea only in PostgreSQL; engine/digests.py computes them
    *(f"CREATE OR REPLACE MACRO {_D}.main.pg_{name}(b) AS "
      f"system.main.duckgres_{name}({_D}.main._bytea_in(b))"
      for name in ("sha224", "sha384", "sha512")),
    f"CREATE OR REPLACE MACRO {_D}.main.pg_bit_count(b BLOB) AS CASE WHEN b IS NOT NULL "
    f"THEN coalesce(list_sum(list_transform({_D}.main._bytea_list(b), x -> bit_count(x))), "
    "0) END::BIGINT, "
    "(x) AS system.main.bit_count(x)",
    # encode/decode in the 'escape' format: backslash doubled, NUL and high bytes octal
    f"CREATE OR REPLACE MACRO {_D}.main.encode_escape(b) AS array_to_string(list_transform("
    f"{_D}.main._bytea_list(b), x -> CASE WHEN x = 92 THEN '\\\\' "
    "WHEN x = 0 OR x >= 128 THEN '\\' || printf('%03o', x) ELSE chr(x) END), '')",
    f"CREATE OR REPLACE MACRO {_D}.main.decode_escape(s) AS unhex(array_to_string("
    r"list_transform(regexp_extract_all(s, '\\\\|\\[0-3][0-7][0-7]|\\|[^\\]+'), t -> "
    r"CASE WHEN t = '\\' THEN '5C' WHEN t = '\' "
    "THEN error('invalid input syntax for type bytea') "
    r"WHEN t[1] = '\' THEN printf('%02X', t[2]::INTEGER * 64 + t[3]::INTEGER * 8 "
    "+ t[4]::INTEGER) ELSE hex(encode(t)) END), ''))",
    # convert_to / convert_from / convert for UTF8 (and its SQL_ASCII pass-through) and
    # LATIN1; other encodings are 0A000 (errors.py)
    f"CREATE OR REPLACE MACRO {_D}.main._encoding(e) AS CASE "
    "regexp_replace(upper(e), '[^A-Z0-9]', '', 'g') WHEN 'UTF8' THEN 'UTF8' "
    "WHEN 'UNICODE' THEN 'UTF8' WHEN 'SQLASCII' THEN 'SQL_ASCII' WHEN 'LATIN1' THEN 'LATIN1' "
    "WHEN 'ISO88591' THEN 'LATIN1' ELSE error('conversion to or from encoding \"' || e || "
    "'\" is not supported') END",
    f"CREATE OR REPLACE MACRO {_D}.main.convert_to(s, e) AS CASE {_D}.main._encoding(e) "
    "WHEN 'LATIN1' THEN unhex(array_to_string(list_transform(string_split(s, ''), "
    "c -> CASE WHEN unicode(c) < 256 THEN printf('%02X', unicode(c)) ELSE "
    "error('character with byte sequence ' || trim(lower(regexp_replace(hex(encode(c)), "
    r"""'(..)', '0x\1 ', 'g'))) || ' in encoding "UTF8" has no equivalent in encoding """
    """"LATIN1"') END), '')) ELSE encode(s) END""",
    f"CREATE OR REPLACE MACRO {_D}.main.convert_from(b, e) AS CASE {_D}.main._encoding(e) "
    f"WHEN 'LATIN1' THEN array_to_string(list_transform({_D}.main._bytea_list("
    f"{_D}.main._bytea_in(b)), x -> chr(x)), '') ELSE decode({_D}.main._bytea_in(b)) END",
    f"CREATE OR REPLACE MACRO {_D}.main.convert(b, src, dst) AS "
    f"{_D}.main.convert_to({_D}.main.convert_from(b, src), dst)",
    # A PostgreSQL text-array path ('{a,0,b}', for #> and #>>) as a JSON path: numbers
    # index arrays, anything else names a key.
    f"CREATE OR REPLACE MACRO {_D}.main.json_path(p) AS '$' || array_to_string(list_transform("
    "string_split(trim(CAST(p AS VARCHAR), '{}'), ','), e -> CASE WHEN "
    r"regexp_full_match(trim(e), '\d+') THEN '[' || trim(e) || ']' ELSE "
    "'.\"' || replace(trim(trim(e), '\"'), '\"', '\\\"') || '\"' END), '')",
    # PostgreSQL's IS [NOT] NULL of a row value (sql/translate.py, visit_NullTest): a
    # STRUCT is NULL when every field is, NOT NULL when none is. typeof() is a constant,
    # so for any other type DuckDB folds this to its own x IS [NOT] NULL at bind time
    # (filters still reach the scan); the JSON of the fields works for any field type.
    f"CREATE OR REPLACE MACRO {_D}.main.row_is_null(x) AS CASE WHEN typeof(x) LIKE "
    "'STRUCT(%' THEN x IS NULL OR list_bool_and(list_transform(CAST(json_extract("
    "to_json(x), '$.*') AS JSON[]), f -> json_type(f) = 'NULL')) ELSE x IS NULL END",
    f"CREATE OR REPLACE MACRO {_D}.main.row_is_not_null(x) AS CASE WHEN typeof(x) LIKE "
    "'STRUCT(%' THEN x IS NOT NULL AND NOT list_bool_or(list_transform(CAST(json_extract("
    "to_json(x), '$.*') AS JSON[]), f -> json_type(f) = 'NULL')) ELSE x IS NOT NULL END",
    f"CREATE OR REPLACE MACRO {_D}.main.initcap(s) AS array_to_string(list_transform("
    "string_split(lower(s), ' '), w -> upper(w[1]) || w[2:]), ' ')",
    f"CREATE OR REPLACE MACRO {_D}.main.array_upper(a, d) AS "
    "CASE WHEN d = 1 AND len(a) > 0 THEN len(a) END",
    f"CREATE OR REPLACE MACRO {_D}.main.array_lower(a, d) AS "
    "CASE WHEN d = 1 AND len(a) > 0 THEN 1 END",
    f"CREATE OR REPLACE MACRO {_D}.main.regclass_name(o) AS (SELECT relname FROM "
    f"{_D}.main.relations _m WHERE _m.oid = o)",
    # A type by name, schema-qualified ('other.size') or not.
    f"CREATE OR REPLACE MACRO {_D}.main.regtype_named(t) AS coalesce((SELECT min(oid) FROM "
    f"{_D}.main.pg_type _m WHERE _m.typname = t), (SELECT min(_m.oid) FROM "
    f"{_D}.main.pg_type _m JOIN {_D}.main.pg_namespace _n ON _n.oid = _m.typnamespace "
    "WHERE _n.nspname || '.' || _m.typname = t))",
    f"CREATE OR REPLACE MACRO {_D}.main.regtype_scalar(t) AS CASE t "
    "WHEN 'integer' THEN 23 WHEN 'int' THEN 23 WHEN 'bigint' THEN 20 WHEN 'smallint' THEN 21 "
    "WHEN 'boolean' THEN 16 WHEN 'real' THEN 700 WHEN 'double precision' THEN 701 "
    "WHEN 'character varying' THEN 1043 WHEN 'character' THEN 1042 "
    "WHEN 'timestamp without time zone' THEN 1114 WHEN 'timestamp with time zone' THEN 1184 "
    "WHEN 'time without time zone' THEN 1083 WHEN 'decimal' THEN 1700 "
    f"ELSE {_D}.main.regtype_named(t) END",
    # An array type by its element's name ('mood[]', 'integer[]') as well.
    f"CREATE OR REPLACE MACRO {_D}.main.regtype_oid(t) AS CASE WHEN t LIKE '%[]' THEN "
    f"(SELECT typarray FROM {_D}.main.pg_type _m WHERE _m.oid = "
    f"{_D}.main.regtype_scalar(lower(t)[:-3])) ELSE {_D}.main.regtype_scalar(lower(t)) "
    "END::UINTEGER",
    f"CREATE OR REPLACE MACRO {_D}.main.regnamespace_oid(t) AS (SELECT oid FROM "
    f"{_D}.main.pg_namespace _m WHERE _m.nspname = t)",
    f"CREATE OR REPLACE MACRO {_D}.main.regnamespace_name(o) AS (SELECT nspname FROM "
    f"{_D}.main.pg_namespace _m WHERE _m.oid = o)",
    # A select list's constant of bare numeric with PostgreSQL's display scale
    # (sql/translate.py _scaled_numeric_targets; wire/types.py SCALED_NUMERIC_FIELDS)
    f"CREATE OR REPLACE MACRO {_D}.main.numeric_scaled(v, s) AS CASE WHEN v IS NOT NULL "
    "THEN struct_pack(duckgres_numeric := v, dscale := s::INTEGER) END",
    # A select list's reg* value (sql/translate.py _reg_targets): its OID and name in
    # the STRUCT wire/types.py sends as the reg type (REG_FIELDS there).
    *(f"CREATE OR REPLACE MACRO {_D}.main.{kind}_value(o, n) AS CASE WHEN o IS NOT NULL "
      f"THEN struct_pack(duckgres_{kind} := o::UINTEGER, name := n::VARCHAR) END"
      for kind in ("regtype", "regclass", "regnamespace")),
    f"CREATE OR REPLACE MACRO {_D}.main.to_regclass(t) AS {_D}.main.regclass_oid(t)",
    f"CREATE OR REPLACE MACRO {_D}.main.to_regtype(t) AS {_D}.main.regtype_oid(t)",
    f"CREATE OR REPLACE MACRO {_D}.main.to_regnamespace(t) AS {_D}.main.regnamespace_oid(t)",
    # The session's own values first (Session.publish_settings keeps them in pg_session).
    f"CREATE OR REPLACE MACRO {_D}.main.current_setting(n, m := NULL) AS coalesce("
    "getvariable('pg_session').settings[lower(n)], CASE lower(n) "
    + " ".join(f"WHEN '{name}' THEN '{value}'" for name, value in POSTGRES_SETTINGS.items())
    + " END)",
    f"CREATE OR REPLACE VIEW {_D}.main.pg_proc AS SELECT function_oid::UINTEGER AS oid, "
    "function_name AS proname, CASE WHEN internal THEN 11 ELSE "
    f"{_D}.main.nspoid(schema_name, 0) END::UINTEGER AS pronamespace, "
    "10::UINTEGER AS proowner, (CASE WHEN function_type LIKE '%macro' THEN 14 ELSE 12 END)"
    "::UINTEGER AS prolang, 1::FLOAT AS procost, 0::FLOAT AS prorows, "
    "0::UINTEGER AS provariadic, '-' AS prosupport, CASE function_type WHEN 'aggregate' "
    "THEN 'a' ELSE 'f' END AS prokind, false AS prosecdef, false AS proleakproof, "
    "false AS proisstrict, function_type LIKE 'table%' AS proretset, "
    "CASE WHEN stability = 'CONSISTENT' THEN 'i' ELSE 'v' END AS provolatile, "
    "'s' AS proparallel, len(parameters)::SMALLINT AS pronargs, "
    "0::SMALLINT AS pronargdefaults, "
    f"{_D}.main.type_oid(coalesce(return_type, 'VARCHAR'))::UINTEGER AS prorettype, "
    f"list_transform(parameter_types, t -> {_D}.main.type_oid(coalesce(t, 'VARCHAR'))"
    "::UINTEGER) AS proargtypes, NULL::UINTEGER[] AS proallargtypes, "
    "NULL::VARCHAR[] AS proargmodes, parameters AS proargnames, "
    "NULL::VARCHAR AS proargdefaults, NULL::UINTEGER[] AS protrftypes, "
    "coalesce(macro_definition, function_name) AS prosrc, NULL::VARCHAR AS probin, "
    "NULL::VARCHAR AS prosqlbody, NULL::VARCHAR[] AS proconfig, NULL::VARCHAR[] AS proacl "
    "FROM duckdb_functions() WHERE function_type IN ('scalar', 'aggregate', 'macro', "
    f"'table_macro', 'table') AND (internal OR {_D}.main.visible(database_name, function_name))",
    # PostgreSQL's compile-time limits that drivers read, then DuckDB's own settings.
    f"CREATE OR REPLACE VIEW {_D}.main.pg_settings AS SELECT name, setting, "
    "NULL::VARCHAR AS unit, 'Preset Options' AS category, '' AS short_desc, "
    "NULL::VARCHAR AS extra_desc, 'internal' AS context, 'integer' AS vartype, "
    "'default' AS source, NULL::VARCHAR AS min_val, NULL::VARCHAR AS max_val, "
    "NULL::VARCHAR[] AS enumvals, setting AS boot_val, setting AS reset_val, "
    "NULL::VARCHAR AS sourcefile, NULL::INTEGER AS sourceline, false AS pending_restart "
    "FROM (VALUES ('max_index_keys', '32'), ('max_identifier_length', '63'), "
    "('max_function_args', '100'), ('block_size', '8192'), ('server_version_num', '150000'), "
    "('server_version', '15.0'), ('server_encoding', 'UTF8'), ('integer_datetimes', 'on'), "
    "('standard_conforming_strings', 'on')) AS t(name, setting) "
    "UNION ALL SELECT name, value, NULL, 'DuckDB', description, NULL, 'user', "
    "lower(input_type), 'default', NULL, NULL, NULL, value, value, NULL, NULL, false "
    "FROM duckdb_settings()",
    f"CREATE OR REPLACE VIEW {_D}.main.pg_sequence AS SELECT sequence_oid::UINTEGER AS seqrelid, "
    "20::UINTEGER AS seqtypid, start_value AS seqstart, increment_by AS seqincrement, "
    "max_value AS seqmax, min_value AS seqmin, 1::BIGINT AS seqcache, cycle AS seqcycle "
    f"FROM duckdb_sequences() WHERE {_D}.main.visible(database_name, sequence_name)",
    f"CREATE OR REPLACE VIEW {_D}.main.pg_sequences AS SELECT {_D}.main.nspname(schema_name) "
    "AS schemaname, sequence_name AS sequencename, 'postgres' AS sequenceowner, "
    "'bigint' AS data_type, start_value, min_value, max_value, increment_by, cycle, "
    "1::BIGINT AS cache_size, last_value "
    f"FROM duckdb_sequences() WHERE {_D}.main.visible(database_name, sequence_name)",
    # From duckdb_functions() itself, not pg_proc: binding pg_proc's type mapping in
    # every macro that reads it made opening a database 0.35 s slower.
    f"CREATE OR REPLACE MACRO {_D}.main.pg_get_function_result(o) AS (SELECT "
    "lower(coalesce(return_type, 'void')) FROM duckdb_functions() _m "
    "WHERE _m.function_oid = o LIMIT 1)",
    *(f"CREATE OR REPLACE MACRO {_D}.main.{name}(o) AS (SELECT "
      "array_to_string(parameters, ', ') FROM duckdb_functions() _m "
      "WHERE _m.function_oid = o LIMIT 1)"
      for name in ("pg_get_function_arguments", "pg_get_function_identity_arguments")),
    # -- the PostgreSQL views over them -----------------------------------------------------
    f"CREATE OR REPLACE VIEW {_D}.main.pg_tables AS SELECT n.nspname AS schemaname, "
    "c.relname AS tablename, 'postgres' AS tableowner, NULL::VARCHAR AS tablespace, "
    "c.relhasindex AS hasindexes, false AS hasrules, false AS hastriggers, "
    f"false AS rowsecurity FROM {_D}.main.pg_class c JOIN {_D}.main.pg_namespace n "
    "ON n.oid = c.relnamespace WHERE c.relkind = 'r'",
    f"CREATE OR REPLACE VIEW {_D}.main.pg_views AS SELECT n.nspname AS schemaname, "
    "r.relname AS viewname, 'postgres' AS viewowner, r.sql AS definition "
    f"FROM {_D}.main.relations r JOIN {_D}.main.pg_namespace n ON n.oid = r.relnamespace "
    "WHERE r.relkind = 'v'",
    f"CREATE OR REPLACE VIEW {_D}.main.pg_indexes AS SELECT n.nspname AS schemaname, "
    "t.relname AS tablename, r.relname AS indexname, NULL::VARCHAR AS tablespace, "
    f"{_D}.main.pg_get_indexdef(i.indexrelid) AS indexdef FROM {_D}.main.pg_index i "
    f"JOIN {_D}.main.relations r ON r.oid = i.indexrelid "
    f"JOIN {_D}.main.relations t ON t.oid = i.indrelid "
    f"JOIN {_D}.main.pg_namespace n ON n.oid = t.relnamespace",
    # -- statistics views: PostgreSQL 15's columns; DuckDB counts no scans, blocks or
    # transactions, so those are 0 (NULL where PostgreSQL has nothing to count: idx_*
    # of a table without indexes, toast_* of one without variable-length columns);
    # n_live_tup is DuckDB's row estimate.
    f"CREATE OR REPLACE VIEW {_D}.main.table_stats AS SELECT c.oid::UINTEGER AS relid, "
    "n.nspname AS schemaname, c.relname, c.reltuples::BIGINT AS n_live_tup, "
    f"CASE WHEN EXISTS (SELECT 1 FROM {_D}.main.index_rows i WHERE i.indrelid = c.oid) "
    "THEN 0 END::BIGINT AS idx, CASE WHEN EXISTS (SELECT 1 FROM duckdb_columns() dc "
    "WHERE dc.table_oid = c.oid AND (dc.data_type IN ('VARCHAR', 'BLOB', 'JSON', 'BIT') "
    "OR dc.data_type LIKE 'DECIMAL%' OR dc.data_type LIKE '%]' "
    "OR dc.data_type LIKE 'ENUM%')) THEN 0 END::BIGINT AS toast "
    f"FROM {_D}.main.pg_class c JOIN {_D}.main.pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.relkind = 'r'",
    f"CREATE OR REPLACE VIEW {_D}.main.pg_stat_all_tables AS SELECT relid, schemaname, "
    "relname, 0::BIGINT AS seq_scan, 0::BIGINT AS seq_tup_read, idx AS idx_scan, "
    "idx AS idx_tup_fetch, 0::BIGINT AS n_tup_ins, 0::BIGINT AS n_tup_upd, "
    "0::BIGINT AS n_tup_del, 0::BIGINT AS n_tup_hot_upd, n_live_tup, 0::BIGINT AS n_dead_tup, "
    "0::BIGINT AS n_mod_since_analyze, 0::BIGINT AS n_ins_since_vacuum, "
    "NULL::TIMESTAMPTZ AS last_vacuum, NULL::TIMESTAMPTZ AS last_autovacuum, "
    "NULL::TIMESTAMPTZ AS last_analyze, NULL::TIMESTAMPTZ AS last_autoanalyze, "
    "0::BIGINT AS vacuum_count, 0::BIGINT AS autovacuum_count, 0::BIGINT AS analyze_count, "
    f"0::BIGINT AS autoanalyze_count FROM {_D}.main.table_stats",
    f"CREATE OR REPLACE VIEW {_D}.main.pg_statio_all_tables AS SELECT relid, schemaname, "
    "relname, 0::BIGINT AS heap_blks_read, 0::BIGINT AS heap_blks_hit, idx AS idx_blks_read, "
    "idx AS idx_blks_hit, toast AS toast_blks_read, toast AS toast_blks_hit, "
    f"toast AS tidx_blks_read, toast AS tidx_blks_hit FROM {_D}.main.table_stats",
    f"CREATE OR REPLACE VIEW {_D}.main.index_stats AS SELECT i.indrelid::UINTEGER AS relid, "
    "i.indexrelid::UINTEGER AS indexrelid, n.nspname AS schemaname, t.relname, r.relname AS indexrelname "
    f"FROM {_D}.main.index_rows i JOIN {_D}.main.relations r ON r.oid = i.indexrelid "
    f"JOIN {_D}.main.relations t ON t.oid = i.indrelid "
    f"JOIN {_D}.main.pg_namespace n ON n.oid = t.relnamespace",
    f"CREATE OR REPLACE VIEW {_D}.main.pg_stat_all_indexes AS SELECT *, 0::BIGINT AS idx_scan, "
    f"0::BIGINT AS idx_tup_read, 0::BIGINT AS idx_tup_fetch FROM {_D}.main.index_stats",
    f"CREATE OR REPLACE VIEW {_D}.main.pg_statio_all_indexes AS SELECT *, "
    f"0::BIGINT AS idx_blks_read, 0::BIGINT AS idx_blks_hit FROM {_D}.main.index_stats",
    # PostgreSQL's split: sys = pg_catalog, information_schema and pg_toast*
    *(f"CREATE OR REPLACE VIEW {_D}.main.{view.replace('_all_', kind)} AS SELECT * FROM "
      f"{_D}.main.{view} WHERE {negate}(schemaname IN ('pg_catalog', 'information_schema') "
      "OR starts_with(schemaname, 'pg_toast'))"
      for view in ("pg_stat_all_tables", "pg_statio_all_tables", "pg_stat_all_indexes",
                   "pg_statio_all_indexes")
      for kind, negate in (("_user_", "NOT "), ("_sys_", ""))),
    # numbackends counts the server's sessions: the translator has the session publish
    # them (ACTIVITY_TABLE) before a statement that reads this view. The table exists on
    # this connection only so that the view can be created.
    ACTIVITY_DDL,
    f"CREATE OR REPLACE VIEW {_D}.main.pg_stat_database AS SELECT datid, datname, "
    f"(SELECT count(*) FROM {ACTIVITY_TABLE} a WHERE a.datname = d.datname)::INTEGER "
    "AS numbackends, "
    + ", ".join(f"0::BIGINT AS {c}" for c in (
        "xact_commit", "xact_rollback", "blks_read", "blks_hit", "tup_returned", "tup_fetched",
        "tup_inserted", "tup_updated", "tup_deleted", "conflicts", "temp_files", "temp_bytes",
        "deadlocks")) + ", NULL::BIGINT AS checksum_failures, "
    "NULL::TIMESTAMPTZ AS checksum_last_failure, "
    + ", ".join(f"0::DOUBLE AS {c}" for c in (
        "blk_read_time", "blk_write_time", "session_time", "active_time",
        "idle_in_transaction_time")) + ", "
    + ", ".join(f"0::BIGINT AS {c}" for c in (
        "sessions", "sessions_abandoned", "sessions_fatal", "sessions_killed"))
    + ", NULL::TIMESTAMPTZ AS stats_reset FROM (SELECT 0::UINTEGER AS datid, "
    f"NULL::VARCHAR AS datname UNION ALL SELECT oid, datname FROM {_D}.main.pg_database) d",
    # -- information_schema -------------------------------------------------------------
    f"CREATE OR REPLACE VIEW {_D}.{_I}.schemata AS SELECT current_database() AS catalog_name, "
    f"nspname AS schema_name, {_D}.main.pg_get_userbyid(nspowner) AS schema_owner, "
    "NULL::VARCHAR AS default_character_set_catalog, "
    "NULL::VARCHAR AS default_character_set_schema, "
    "NULL::VARCHAR AS default_character_set_name, NULL::VARCHAR AS sql_path "
    f"FROM {_D}.main.pg_namespace",
    f"CREATE OR REPLACE VIEW {_D}.{_I}.tables AS SELECT * REPLACE "
    "(current_database() AS table_catalog, CASE WHEN table_catalog = 'temp' "
    "THEN 'LOCAL TEMPORARY' ELSE table_type END AS table_type, "
    f"{_D}.main.schema_of(table_catalog, table_schema) AS table_schema) "
    "FROM information_schema.tables "
    f"WHERE {_D}.main.visible(table_catalog, table_name)",
    f"CREATE OR REPLACE VIEW {_D}.{_I}.views AS SELECT * REPLACE "
    "(current_database() AS table_catalog, "
    f"{_D}.main.schema_of(table_catalog, table_schema) AS table_schema) "
    "FROM information_schema.views "
    f"WHERE {_D}.main.visible(table_catalog, table_name)",
    f"CREATE OR REPLACE VIEW {_D}.{_I}.columns AS SELECT * EXCLUDE (type_oid, length) "
    "REPLACE (current_database() AS table_catalog, "
    "nullif(column_default, 'NULL') AS column_default, "  # as pg_attrdef
    f"CASE WHEN data_type <> '{BARE_NUMERIC}' THEN numeric_precision END "
    "AS numeric_precision, "
    f"CASE WHEN data_type <> '{BARE_NUMERIC}' THEN numeric_scale END AS numeric_scale, "
    f"{_D}.main.schema_of(table_catalog, table_schema) AS table_schema, "
    "CASE WHEN data_type LIKE '%]' "
    f"THEN 'ARRAY' ELSE {_D}.main.format_type(type_oid, NULL) END AS data_type, "
    "coalesce(length, character_maximum_length) AS character_maximum_length, "
    # UTF8: at most four bytes a character; without a length, PostgreSQL's 1 GB limit
    "coalesce(length * 4, CASE WHEN type_oid IN (25, 1042, 1043) THEN 1073741824 END, "
    "character_octet_length) AS character_octet_length, "
    f"(SELECT typname FROM {_D}.main.pg_type t WHERE t.oid = type_oid) AS udt_name, "
    "current_database() AS udt_catalog, (SELECT n.nspname FROM "
    f"{_D}.main.pg_type t JOIN {_D}.main.pg_namespace n ON n.oid = t.typnamespace "
    "WHERE t.oid = type_oid) AS udt_schema, 'NO' AS is_identity, "
    "'NO' AS is_self_referencing, 'NEVER' AS is_generated, 'NO' AS identity_cycle, "
    "ordinal_position::VARCHAR AS dtd_identifier) "
    "FROM (SELECT c.*, d.length, "
    f"coalesce(d.type_oid, {_D}.main.type_oid(c.data_type)) AS type_oid "
    f"FROM information_schema.columns c LEFT JOIN {_D}.main.declared_types d "
    "ON d.database_name = c.table_catalog AND d.schema_name = c.table_schema "
    "AND d.table_name = c.table_name AND d.attnum = c.ordinal_position "
    f"WHERE {_D}.main.visible(c.table_catalog, c.table_name))",
    # DuckDB 1.5.5's own information_schema constraint views (default_views.cpp), read
    # from the constraints view above so the server's foreign keys appear in them
    f"CREATE OR REPLACE VIEW {_D}.main.duck_referential_constraints AS SELECT "
    "f.database_name constraint_catalog, f.schema_name constraint_schema, "
    "f.constraint_name constraint_name, c.database_name unique_constraint_catalog, "
    "c.schema_name unique_constraint_schema, c.constraint_name unique_constraint_name, "
    f"'NONE' match_option, {_D}.main.fk_rule(f.update_action) update_rule, "
    f"{_D}.main.fk_rule(f.delete_action) delete_rule FROM {_D}.main.constraints c, {_D}.main.constraints f "
    "WHERE f.constraint_type = 'FOREIGN KEY' AND (c.constraint_type = 'UNIQUE' OR "
    "c.constraint_type = 'PRIMARY KEY') AND f.database_oid = c.database_oid AND "
    "CASE WHEN f.server_fk THEN lower(c.schema_name) = lower(f.referenced_schema) "
    "ELSE f.schema_oid = c.schema_oid END "
    "AND lower(f.referenced_table) = lower(c.table_name) AND "
    "[lower(x) for x in f.referenced_column_names] = "
    "[lower(x) for x in c.constraint_column_names]",
    f"CREATE OR REPLACE VIEW {_D}.main.duck_key_column_usage AS SELECT database_name "
    "constraint_catalog, schema_name constraint_schema, constraint_name, database_name "
    "table_catalog, schema_name table_schema, table_name, UNNEST(constraint_column_names) "
    "column_name, UNNEST(generate_series(1, len(constraint_column_names))) "
    "ordinal_position, CASE constraint_type WHEN 'FOREIGN KEY' THEN UNNEST "
    "(generate_series(1, len(constraint_column_names))) ELSE NULL END "
    f"position_in_unique_constraint FROM {_D}.main.constraints WHERE constraint_type = "
    "'FOREIGN KEY' OR constraint_type = 'PRIMARY KEY' OR constraint_type = 'UNIQUE'",
    f"CREATE OR REPLACE VIEW {_D}.main.duck_table_constraints AS SELECT database_name "
    "constraint_catalog, schema_name constraint_schema, constraint_name, database_name "
    "table_catalog, schema_name table_schema, table_name, CASE constraint_type WHEN "
    "'NOT NULL' THEN 'CHECK' ELSE constraint_type END constraint_type, 'NO' is_deferrable, "
    "'NO' initially_deferred, 'YES' enforced, 'YES' nulls_distinct FROM "
    f"{_D}.main.constraints WHERE constraint_type = 'PRIMARY KEY' OR constraint_type = "
    "'FOREIGN KEY' OR constraint_type = 'UNIQUE' OR constraint_type = 'CHECK' OR "
    "constraint_type = 'NOT NULL'",
    f"CREATE OR REPLACE VIEW {_D}.main.duck_constraint_column_usage AS SELECT database_name "
    "AS table_catalog, schema_name AS table_schema, table_name, column_name, database_name "
    "AS constraint_catalog, schema_name AS constraint_schema, constraint_name, "
    "constraint_type, constraint_text FROM (SELECT dc.*, UNNEST(dc.constraint_column_names) "
    f"AS column_name FROM {_D}.main.constraints AS dc "
    "WHERE constraint_type NOT IN ('NOT NULL'))",
    f"CREATE OR REPLACE VIEW {_D}.main.duck_constraint_table_usage AS SELECT database_name "
    "AS table_catalog, schema_name AS table_schema, table_name, database_name AS "
    "constraint_catalog, schema_name AS constraint_schema, constraint_name, constraint_type "
    f"FROM {_D}.main.constraints WHERE constraint_type NOT IN ('NOT NULL')",
    f"CREATE OR REPLACE VIEW {_D}.main.duck_check_constraints AS SELECT database_name AS "
    "constraint_catalog, schema_name AS constraint_schema, constraint_name, CASE "
    "constraint_type WHEN 'NOT NULL' THEN column_name || ' IS NOT NULL' ELSE "
    "constraint_text END AS check_clause FROM (SELECT dc.*, "
    f"UNNEST(dc.constraint_column_names) AS column_name FROM {_D}.main.constraints AS dc "
    "WHERE constraint_type IN ('CHECK', 'NOT NULL'))",
    *(f"CREATE OR REPLACE VIEW {_D}.{_I}.{view} AS SELECT * REPLACE "
      "(current_database() AS constraint_catalog, current_database() AS table_catalog, "
      f"{_D}.main.schema_of(constraint_catalog, constraint_schema) AS constraint_schema, "
      f"{_D}.main.schema_of(table_catalog, table_schema) AS table_schema) "
      f"FROM {_D}.main.duck_{view} WHERE {_D}.main.visible(constraint_catalog, table_name)"
      + extra
      for view, extra in (("key_column_usage", ""), ("table_constraints", (
          # a declared type's CHECK (DuckDB names it as any CHECK of the column)
          " AND NOT (constraint_type = 'CHECK' AND (constraint_schema, constraint_name) IN "
          "(SELECT (constraint_schema, constraint_name) FROM "
          f"{_D}.main.duck_check_constraints WHERE constraint_catalog = current_database() "
          f"GROUP BY ALL HAVING bool_and({_D}.main.is_declared_type(check_clause))))")))),
    # PostgreSQL's columns (DuckDB adds the type and text), without the declared types;
    # PostgreSQL lists no CHECK in constraint_table_usage
    *(f"CREATE OR REPLACE VIEW {_D}.{_I}.{view} AS SELECT table_catalog, "
      f"{_D}.main.nspname(table_schema) AS table_schema, table_name, {column}"
      f"constraint_catalog, {_D}.main.nspname(constraint_schema) AS constraint_schema, "
      f"constraint_name FROM {_D}.main.duck_{view} "
      f"WHERE constraint_catalog = current_database() AND {where}"
      for view, column, where in (
          ("constraint_column_usage", "column_name, ",
           "NOT (constraint_type = 'CHECK' AND (constraint_schema, constraint_name) IN "
           "(SELECT (schema_name, constraint_name) FROM duckdb_constraints() "
           "WHERE constraint_type = 'CHECK' AND database_name = current_database() "
           f"GROUP BY ALL HAVING bool_and({_D}.main.is_declared_type(expression))))"),
          ("constraint_table_usage", "", "constraint_type <> 'CHECK'"))),
    f"CREATE OR REPLACE VIEW {_D}.{_I}.check_constraints AS SELECT * REPLACE "
    f"({_D}.main.nspname(constraint_schema) AS constraint_schema) "
    f"FROM {_D}.main.duck_check_constraints WHERE constraint_catalog = current_database() "
    f"AND NOT {_D}.main.is_declared_type(check_clause)",
    f"CREATE OR REPLACE VIEW {_D}.{_I}.referential_constraints AS SELECT * REPLACE "
    f"({_D}.main.nspname(constraint_schema) AS constraint_schema, "
    f"{_D}.main.nspname(unique_constraint_schema) AS unique_constraint_schema) "
    f"FROM {_D}.main.duck_referential_constraints "
    "WHERE constraint_catalog = current_database()",
]


def _names(schema: str) -> frozenset[str]:
    """The names of the objects SCRIPT creates in ``schema`` of DATABASE."""
    prefix = f"{DATABASE}.{schema}."
    names = set()
    for statement in SCRIPT:
        for kind in ("VIEW", "TABLE", "MACRO"):
            head = f"CREATE OR REPLACE {kind} {prefix}"
            if statement.startswith(head):
                names.add(statement[len(head):].split("(")[0].split(" ")[0])
    return frozenset(names)


#: PostgreSQL function -> the pg_compat macro that has its bytea form (its other
#: overloads are DuckDB's function of the same name); sql/translate.py calls it.
BYTEA_FUNCTIONS = {"length": "pg_length", "octet_length": "pg_octet_length",
                   "position": "pg_position", "substring": "pg_substring",
                   "substr": "pg_substring", "overlay": "pg_overlay", "btrim": "pg_btrim",
                   "ltrim": "pg_ltrim", "rtrim": "pg_rtrim", "sha256": "pg_sha256",
                   "sha224": "pg_sha224", "sha384": "pg_sha384", "sha512": "pg_sha512",
                   "bit_count": "pg_bit_count"}


def _kind_names(kind: str) -> frozenset[str]:
    head = f"CREATE OR REPLACE {kind} {DATABASE}.main."
    return frozenset(s[len(head):].split("(")[0].split(" ")[0]
                     for s in SCRIPT if s.startswith(head))


#: Helpers of the views, not PostgreSQL names.
_INTERNAL = frozenset({"relations", "constraint_rows", "constraints", "fk_rule", "fk_action",
                       "duck_referential_constraints", "duck_key_column_usage",
                       "duck_table_constraints", "duck_constraint_column_usage",
                       "duck_constraint_table_usage", "duck_check_constraints", "index_rows", "index_definitions",
                       "nspname", "nspoid", "scalar_type_oid", "declared_types",
                       "is_declared_type", "array_type_oid", "type_oid", "type_mod",
                       "visible", "relnsp", "database_oid", "database_files",
                       "builtin_types", "enum_types", "composite_types", "composite_literals",
                       "user_type_literals", "composite_of", "schema_of", "authid", "table_stats",
                       "index_stats", "format_scalar", "array_element", "pg_like",
                       "pg_ilike", "pg_like_match", "pg_ilike_match", "like_result",
                       "like_not", "like_probe", "like_probe_run", "like_probe_parts",
                       "like_probe_tail", "like_any", "like_all", "like_list",
                       "similar_pattern", "as_text", "array_element_text", "in_list",
                       "in_typed_list", "_bytea_list", "_bytea_in",
                       "_bytea_spaced", "_bytea_kept", "_bytea_trim", "_encoding",
                       "pg_text_overlay", "pg_typeof_oid", "pg_typeof_name", "format_named",
                       "enum_by_literal", "regtype_named", "regtype_scalar",
                       "regtype_value", "regclass_value", "regnamespace_value",
                       "builtin_type_names", "enum_type_names", "regtype_name",
                       "numeric_scaled", "row_is_null", "row_is_not_null",
                       *BYTEA_FUNCTIONS.values()})
#: pg_catalog relations these views answer (others go to DuckDB's own pg_catalog).
RELATIONS = (_kind_names("VIEW") | _kind_names("TABLE")) - _INTERNAL
#: information_schema relations answered here.
INFORMATION_SCHEMA = _names(INFO_SCHEMA)
#: ``duckgres_worker()``: the process id of the process whose DuckDB runs the session
#: (a worker's; in standalone mode the server's), made by ``install`` in that process.
#: With DuckLake storage a database's sessions spread over several workers
#: (controlplane.pool): this tells a session which one it is on.
WORKER_MACRO = f"CREATE OR REPLACE MACRO {_D}.main.duckgres_worker() AS "
#: Functions given PostgreSQL's meaning here (the reg* helpers are the translator's).
FUNCTIONS = (_kind_names("MACRO") - _INTERNAL) | {"duckgres_worker"}


def install(conn, data_dir: str | None = None) -> None:
    """Create the catalog in the DuckDB instance behind ``conn`` (idempotent);
    ``data_dir``: where the server's database files are (pg_database lists them;
    without it, only the current database)."""
    for statement in SCRIPT:
        conn.run(statement)
    # a fleet worker is named by its registered id (fleet.agent), others by their pid
    conn.run(f"{WORKER_MACRO}{int(os.environ.get('DUCKGRES_FLEET_WORKER_ID') or os.getpid())}"
             "::INTEGER")
    if data_dir is not None:
        conn.run(_files_view(data_dir))
