"""Catalog relations tools read (statistics views, pg_enum, pg_language, roles,
information_schema.schemata, temporary relations), compared with a real PostgreSQL 15,
and the server's own objects kept out of every catalog relation.

The same schema (tables with keys and indexes, a view, an ENUM type, a sequence,
comments) is made here and in a throwaway PostgreSQL 15 database; each query runs on
both in three ways (simple protocol with text results, extended protocol with binary
results, a prepared statement) and must give the same column names, type OIDs and
rows. Rows of PostgreSQL's built-in objects are left out, as are values that cannot
agree (OIDs, which are compared by joining instead; statistics counters). `name` and
`"char"` columns are sent as text (docs/compatibility.md), so those type OIDs are
compared as text.
"""

from __future__ import annotations

import re
import subprocess

import psycopg
import pytest

from duckgres_trio.engine import pg_catalog as catalog
from tests.support.pg15 import pg15_dsn  # noqa: F401 - pytest fixture

DATABASE = "catalog_relations"

SCHEMA = [
    "create type mood as enum ('sad', 'it''s ok', 'happy')",
    "create table people (id integer primary key, name text not null, email text unique, "
    "feeling mood, age integer)",
    "create table visits (id integer primary key, person integer references people (id), "
    "visited date, amount numeric(10,2))",
    "create index visits_on on visits (visited)",
    "create table plain (a integer, b bigint)",
    "create view adults as select id, name from people where age >= 18",
    "create sequence tickets",
    "comment on table people is 'who visits'",
    "insert into people values (1, 'Ada', 'ada@example.com', 'happy', 36), "
    "(2, 'Bob', null, 'sad', 12), (3, 'Cy', 'cy@example.com', null, 50)",
    "insert into visits values (1, 1, '2024-01-01', 10.5), (2, 3, '2024-02-01', 20)",
    "insert into plain select g, g from generate_series(1, 7) g",
]

#: Type OIDs compared as the ones this server sends: name, "char", regproc,
#: pg_node_tree and information_schema's character_data (varchar) -> text;
#: aclitem[] -> text[] (docs/compatibility.md).
_SAME_TYPE = {19: 25, 18: 25, 24: 25, 194: 25, 1043: 25, 1034: 1009}

#: PostgreSQL 15's columns of these relations must be ours, in order.
RELATIONS = [
    "pg_rules", "pg_stat_all_tables", "pg_stat_user_tables", "pg_stat_sys_tables",
    "pg_statio_all_tables", "pg_statio_user_tables", "pg_statio_sys_tables",
    "pg_stat_all_indexes", "pg_stat_user_indexes", "pg_stat_sys_indexes",
    "pg_statio_all_indexes", "pg_statio_user_indexes", "pg_statio_sys_indexes",
    "pg_stat_database", "pg_enum", "pg_language", "pg_roles", "pg_authid", "pg_user",
    "pg_namespace", "pg_type", "information_schema.schemata",
]

#: A schema PostgreSQL's own objects live in.
_BUILTIN = "('pg_catalog', 'information_schema', 'pg_toast')"


@pytest.fixture(scope="module")
def both(server, pg15_dsn):  # noqa: F811
    """(our DSN, PostgreSQL's DSN), each holding SCHEMA in database DATABASE."""
    with psycopg.connect(pg15_dsn, autocommit=True) as conn:
        conn.execute(f"drop database if exists {DATABASE}")
        conn.execute(f"create database {DATABASE}")
    dsns = (server.dsn(dbname=DATABASE), pg15_dsn.replace("dbname=postgres",
                                                          f"dbname={DATABASE}"))
    for dsn in dsns:
        with psycopg.connect(dsn, autocommit=True) as conn:
            for statement in SCHEMA:
                conn.execute(statement)
    with psycopg.connect(dsns[1], autocommit=True) as conn:
        conn.execute("select pg_stat_force_next_flush()")  # n_live_tup counts the inserts
        # this database has had temporary tables: PostgreSQL lists pg_temp_N from now on
        conn.execute("create temp table used (x integer)")
    return dsns


@pytest.fixture(scope="module")
def conns(both):
    """One open connection to each server."""
    with psycopg.connect(both[0], autocommit=True) as ours, \
            psycopg.connect(both[1], autocommit=True) as theirs:
        yield ours, theirs


def _normal(value):
    """pg_temp_3 (PostgreSQL numbers it by backend) and pg_temp_1 are the same schema."""
    if isinstance(value, str):
        return re.sub(r"^pg_(toast_)?temp_\d+$", r"pg_\1temp_N", value)
    return value


def _run(conn, query: str, how: str, distinct: bool = False):
    if how == "text":
        cur = conn.execute(query)
    elif how == "binary":
        cur = conn.cursor(binary=True).execute(query)
    else:
        cur = conn.execute(query, prepare=True)
    columns = [(d.name, _SAME_TYPE.get(d.type_code, d.type_code)) for d in cur.description]
    rows = [tuple(_normal(v) for v in row) for row in cur.fetchall()]
    return columns, sorted(set(rows) if distinct else rows, key=repr)


def _same(conns, query: str, distinct: bool = False) -> list[tuple]:
    """Run ``query`` on both servers in each of the three ways; equal answers. The rows.
    ``distinct``: PostgreSQL lists every backend's pg_temp_N, this server one."""
    for how in ("text", "binary", "prepared"):
        ours, theirs = (_run(conn, query, how, distinct) for conn in conns)
        assert ours == theirs, f"{how}: {query}"
    return ours[1]


@pytest.mark.parametrize("relation", RELATIONS)
def test_columns_are_postgresqls(conns, relation):
    """Names, type OIDs and order of every column."""
    ours, theirs = (_run(conn, f"select * from {relation} limit 0", "binary")[0]
                    for conn in conns)
    assert ours == theirs


def test_statistics_views_list_the_user_tables_and_indexes(conns):
    tables = _same(conns, "select schemaname, relname, n_live_tup, seq_scan is null, "
                          "idx_scan is null, idx_tup_fetch is null, last_vacuum from "
                          "pg_stat_user_tables order by relname")
    assert [t[1] for t in tables] == ["people", "plain", "visits"]
    _same(conns, "select schemaname, relname, idx_blks_read is null from "
                 "pg_statio_user_tables")
    indexes = _same(conns, "select schemaname, relname, indexrelname from "
                           "pg_stat_user_indexes")
    assert len(indexes) == 4  # people_pkey, people_email_key, visits_pkey, visits_on
    _same(conns, "select schemaname, relname, indexrelname from pg_statio_user_indexes")
    for view in ("pg_stat_all_tables", "pg_statio_all_tables", "pg_stat_all_indexes",
                 "pg_statio_all_indexes"):
        _same(conns, f"select relname from {view} where schemaname not in {_BUILTIN}")
    for view in ("pg_stat_sys_tables", "pg_statio_sys_tables", "pg_stat_sys_indexes",
                 "pg_statio_sys_indexes"):
        _same(conns, f"select count(*) from {view} where schemaname not in {_BUILTIN}")


def test_statistics_views_join_the_catalog(conns):
    """relid / indexrelid are pg_class OIDs, as tools join them."""
    _same(conns, "select c.relname, n.nspname from pg_stat_user_tables s join pg_class c "
                 "on c.oid = s.relid join pg_namespace n on n.oid = c.relnamespace")
    _same(conns, "select i.relname, t.relname, x.indisprimary from pg_stat_user_indexes s "
                 "join pg_class i on i.oid = s.indexrelid join pg_class t on t.oid = s.relid "
                 "join pg_index x on x.indexrelid = s.indexrelid")


def test_pg_stat_database_counts_this_database_sessions(conns):
    _same(conns, "select datname, numbackends, xact_rollback is null, checksum_failures, "
                 "stats_reset from pg_stat_database where datname = current_database() "
                 "or datid = 0")
    _same(conns, "select d.datname from pg_stat_database s join pg_database d "
                 "on d.oid = s.datid where d.datname = current_database()")


def test_enum_types_are_in_pg_type_and_pg_enum(conns):
    _same(conns, "select t.typname, n.nspname, t.typtype, t.typcategory, t.typlen, "
                 "t.typbyval, t.typalign, t.typinput::text, e.enumlabel, e.enumsortorder "
                 "from pg_enum e join pg_type t on t.oid = e.enumtypid "
                 "join pg_namespace n on n.oid = t.typnamespace")
    _same(conns, "select a.typname, a.typcategory, a.typlen from pg_type a join pg_type e "
                 "on e.oid = a.typelem and e.typarray = a.oid where e.typname = 'mood'")


def test_enum_columns_have_their_type(conns):
    """pg_attribute.atttypid of an ENUM column is that type's pg_type row."""
    _same(conns, "select a.attname, t.typname, format_type(a.atttypid, a.atttypmod) "
                 "from pg_attribute a join pg_class c on c.oid = a.attrelid "
                 "join pg_type t on t.oid = a.atttypid where c.relname = 'people' "
                 "and a.attnum > 0")


def test_enum_oids_are_the_same_in_every_session(both):
    query = ("select t.oid, e.oid, e.enumlabel from pg_type t join pg_enum e "
             "on e.enumtypid = t.oid order by 3")
    seen = []
    for _ in range(2):
        with psycopg.connect(both[0], autocommit=True) as conn:
            seen.append(conn.execute(query).fetchall())
    assert seen[0] == seen[1] and len(seen[0]) == 3


def test_pg_language_is_postgresqls(conns):
    rows = _same(conns, "select * from pg_language")
    assert {r[1] for r in rows} == {"internal", "c", "sql", "plpgsql"}


def test_information_schema_schemata(conns):
    _same(conns, "select * from information_schema.schemata", distinct=True)


def test_roles_list_the_login_users(conns):
    for query in ("select rolname, rolsuper, rolcanlogin, oid from pg_roles",
                  "select rolname, rolsuper, rolcanlogin, oid from pg_authid",
                  "select usename, usesysid, usesuper from pg_user"):
        column = query.split()[1].rstrip(",")
        _same(conns, f"{query} where left({column}, 3) <> 'pg_'")
    _same(conns, "select rolname from pg_roles where rolname = 'pg_database_owner'")
    _same(conns, "select n.nspname, pg_get_userbyid(n.nspowner), r.rolname from pg_namespace "
                 "n join pg_roles r on r.oid = n.nspowner where n.nspname = 'public'")
    _same(conns, "select r.rolname from pg_stat_activity a join pg_roles r "
                 "on r.oid = a.usesysid where a.pid = pg_backend_pid()")


@pytest.mark.parametrize("command", [r"\dT", r"\du", r"\d people", r"\dn"])
def test_psql_describes_types_and_roles_as_postgresql(both, command):
    ours, theirs = (subprocess.run(["psql", "-X", "-A", "-t", "-d", dsn, "-c", command],
                                   capture_output=True, text=True, timeout=60)
                    for dsn in both)
    assert ours.returncode == 0 and not ours.stderr, ours.stderr
    assert ours.stdout == theirs.stdout


def test_pg_rules_has_no_user_rules(conns):
    _same(conns, f"select * from pg_rules where schemaname not in {_BUILTIN}")


# -- the server's own objects -------------------------------------------------------------

_USER_NSP = (f"(select oid from pg_namespace where nspname not in {_BUILTIN} "
             "and left(nspname, 8) <> 'pg_toast')")

#: What each catalog relation lists, without PostgreSQL's own objects.
LISTINGS = {
    "pg_class": f"select relname, relkind, relpersistence from pg_class "
                f"where relnamespace in {_USER_NSP}",
    # tables' and views' columns (an index's or a sequence's are not listed yet)
    "pg_attribute": "select c.relname, a.attname from pg_attribute a join pg_class c "
                    "on c.oid = a.attrelid where a.attnum > 0 and c.relkind in ('r', 'v') "
                    f"and c.relnamespace in {_USER_NSP}",
    "pg_namespace": "select nspname from pg_namespace",
    "pg_tables": f"select schemaname, tablename from pg_tables where schemaname not in {_BUILTIN}",
    "pg_views": f"select schemaname, viewname from pg_views where schemaname not in {_BUILTIN}",
    "pg_indexes": "select schemaname, tablename, indexname from pg_indexes "
                  f"where schemaname not in {_BUILTIN}",
    "pg_sequences": "select schemaname, sequencename from pg_sequences",
    "pg_sequence": "select c.relname from pg_sequence s join pg_class c on c.oid = s.seqrelid",
    "pg_constraint": f"select conname, contype from pg_constraint where connamespace in {_USER_NSP}",
    "pg_description": "select c.relname, d.description from pg_description d "
                      f"join pg_class c on c.oid = d.objoid where c.relnamespace in {_USER_NSP}",
    # without tables' row types (and their arrays), which this server does not have
    "pg_type": "select typname from pg_type where typrelid = 0 and typelem not in "
               f"(select oid from pg_type where typrelid <> 0) and typnamespace in {_USER_NSP}",
    "information_schema.tables": "select table_catalog, table_schema, table_name, table_type "
                                 "from information_schema.tables "
                                 f"where table_schema not in {_BUILTIN}",
    "information_schema.columns": "select table_catalog, table_schema, table_name, column_name "
                                  "from information_schema.columns "
                                  f"where table_schema not in {_BUILTIN}",
    "information_schema.views": "select table_schema, table_name from information_schema.views "
                                f"where table_schema not in {_BUILTIN}",
    "information_schema.schemata": "select schema_name from information_schema.schemata",
    # constraint names differ (DuckDB's own: t_k_pkey); which tables have which kinds
    "information_schema.table_constraints": "select table_catalog, table_schema, table_name, "
                                            "constraint_type from information_schema."
                                            "table_constraints where constraint_type <> 'CHECK' "
                                            f"and table_schema not in {_BUILTIN}",
    "information_schema.key_column_usage": "select table_catalog, table_schema, table_name, "
                                           "column_name from information_schema.key_column_usage "
                                           f"where table_schema not in {_BUILTIN}",
    "pg_stat_user_tables": "select schemaname, relname from pg_stat_user_tables",
}


@pytest.mark.parametrize("relation", list(LISTINGS))
def test_reading_pg_stat_activity_leaves_no_trace(both, relation):
    """After pg_stat_activity is read (both protocols) and a COPY FROM (which registers
    its rows with DuckDB), every catalog relation lists what PostgreSQL lists; a
    temporary table of the user's is listed, in pg_temp_N, as PostgreSQL lists it."""
    query = LISTINGS[relation]
    with psycopg.connect(both[0], autocommit=True) as ours, \
            psycopg.connect(both[1], autocommit=True) as theirs:
        conns = (ours, theirs)
        _same(conns, query, distinct=True)
        for conn in conns:
            conn.execute("select count(*) from pg_stat_activity").fetchall()
            conn.execute("select pid from pg_stat_activity", prepare=True).fetchall()
            conn.execute("select numbackends from pg_stat_database").fetchall()
            with conn.cursor().copy("copy plain from stdin") as copy:
                copy.write_row((100, 100))
            conn.execute("delete from plain where a = 100")
        _same(conns, query, distinct=True)
        for conn in conns:
            conn.execute("create temp table scratch (k integer primary key, v text)")
            conn.execute("create temp view scratch_v as select k from scratch")
        _same(conns, query, distinct=True)


def test_no_catalog_relation_shows_the_servers_objects(server, both):
    """The class, on our side: after pg_stat_activity, pg_stat_database and a COPY FROM,
    no row of any catalog relation this server answers names an object it made."""
    relations = sorted(catalog.RELATIONS) + [f"information_schema.{name}"
                                             for name in sorted(catalog.INFORMATION_SCHEMA)]
    with psycopg.connect(both[0], autocommit=True) as conn:
        conn.execute("select * from pg_stat_activity").fetchall()
        conn.execute("select * from pg_stat_database").fetchall()
        with conn.cursor().copy("copy plain from stdin") as copy:
            copy.write_row((200, 200))
        conn.execute("delete from plain where a = 200")
        for relation in relations:
            if relation in ("pg_settings", "pg_proc"):
                continue  # settings' and functions' texts, not objects
            rows = conn.execute(f"select * from {relation}").fetchall()
            text = repr(rows)
            assert catalog.PRIVATE_PREFIX not in text, relation
            assert "'pg_stat_activity'" not in text, relation
            assert "'pg_compat'" not in text, relation


def test_roles_are_the_users_who_can_log_in(start_server):
    """Configured users (alice, bob) and, with trust authentication, whoever logs in;
    the same OIDs in every session; the first configured user owns the objects."""
    from duckgres_trio.frontend.scram import make_scram_verifier

    verifier = make_scram_verifier("pw")
    srv = start_server("--auth-method", "trust", "--users",
                       f"alice={verifier},bob={verifier}")
    seen = {}
    for user in ("carol", "bob", "carol"):
        with psycopg.connect(srv.dsn(user=user, dbname="roles"), autocommit=True) as conn:
            conn.execute("create table if not exists owned (x integer)")
            roles = dict(conn.execute("select rolname, oid from pg_roles "
                                      "where rolcanlogin").fetchall())
            assert set(roles) == {"alice", "bob", user}
            assert roles["alice"] == catalog.OWNER_OID
            for name, oid in roles.items():
                assert seen.setdefault(name, oid) == oid, name
            assert conn.execute("select usesysid from pg_stat_activity "
                                "where pid = pg_backend_pid()").fetchone()[0] == roles[user]
            assert conn.execute("select pg_get_userbyid(relowner), r.rolname from pg_class c "
                                "join pg_roles r on r.oid = c.relowner "
                                "where relname = 'owned'").fetchone() == ("alice", "alice")
            assert conn.execute("select usename from pg_user where usesysid = %s",
                                (roles[user],)).fetchone() == (user,)
