"""The PostgreSQL catalog as clients read it, compared with a real PostgreSQL 15.

One schema (tables with serial keys, a foreign key, a unique column, an index, a view,
comments, a second schema) is created in this server and in a throwaway PostgreSQL 15
database; then psql's describe commands, SQLAlchemy's Inspector and pgjdbc's
DatabaseMetaData run against both, and what they report must agree. Where the two
legitimately differ (column defaults are printed as DuckDB stores them) the comparison
says so; docs/compatibility.md lists each difference.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine, inspect

from tests.conftest import ServerProcess
from tests.support.jdbc import JAR, compile_java, jdbc_url
from tests.support.pg15 import fresh_database, pg15_dsn  # noqa: F401 - pytest fixture

SCHEMA = [
    "create table customers (id serial primary key, name text not null, "
    "email text unique, active boolean default true, created timestamptz default now())",
    "create table orders (id bigserial primary key, customer_id integer references "
    "customers (id), amount numeric(12,2), placed date, note text)",
    "create index orders_customer on orders (customer_id)",
    "create view big_orders as select id, amount from orders where amount > 100",
    "comment on table customers is 'people who order'",
    "comment on column customers.name is 'full name'",
    "create schema sales",
    "create table sales.regions (code text primary key, label text)",
    "insert into customers (name, email) values ('Ada', 'ada@example.com')",
]


def _create_schema(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        for statement in SCHEMA:
            conn.execute(statement)


@pytest.fixture(scope="module")
def both(tmp_path_factory, pg15_dsn):  # noqa: F811
    """(our DSN, PostgreSQL's DSN), each holding SCHEMA in database catalog_test."""
    ours = ServerProcess(tmp_path_factory.mktemp("catalog") / "data").start()
    theirs = fresh_database(pg15_dsn, "catalog_test")
    mine = ours.dsn(dbname="catalog_test")
    _create_schema(mine)
    _create_schema(theirs)
    yield mine, theirs
    ours.stop()


def _psql(dsn: str, command: str) -> list[list[str]]:
    out = subprocess.run(["psql", "-X", "-A", "-t", "-F", "|", "-d", dsn, "-c", command],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and not out.stderr, f"{command}: {out.stderr}"
    return [line.split("|") for line in out.stdout.splitlines() if line.strip()]


@pytest.mark.parametrize("command", [r"\dt", r"\dv", r"\di", r"\ds", r"\dn", r"\dt sales.*"])
def test_psql_lists_the_same_objects(both, command):
    ours, theirs = (sorted(tuple(row[:3]) + tuple(row[4:5]) for row in _psql(dsn, command))
                    for dsn in both)
    assert ours == theirs


@pytest.mark.parametrize("relation", ["customers", "orders", "sales.regions", "big_orders"])
def test_psql_describes_a_relation_as_postgresql(both, relation):
    """Columns (name, type, collation, nullability) and the footer: indexes, foreign
    keys, references. Defaults are left out: DuckDB prints nextval('s'), PostgreSQL
    nextval('s'::regclass)."""
    ours, theirs = (_psql(dsn, rf"\d {relation}") for dsn in both)

    def columns(rows):
        return [row[:4] for row in rows if len(row) >= 4]

    def footer(rows):
        return [row[0] for row in rows if len(row) == 1]

    assert columns(ours) == columns(theirs)
    assert footer(ours) == footer(theirs)


def test_sqlalchemy_inspector_reports_what_postgresql_does(both):
    def report(dsn: str) -> dict:
        engine = create_engine("postgresql+psycopg://", creator=lambda: psycopg.connect(dsn))
        try:
            insp = inspect(engine)
            tables = sorted(insp.get_table_names())
            result = {
                "schemas": sorted(s for s in insp.get_schema_names()
                                  if s not in ("information_schema",)),
                "tables": tables,
                "sales": insp.get_table_names(schema="sales"),
                "views": insp.get_view_names(),
                "has": (insp.has_table("customers"), insp.has_table("nope")),
            }
            for table in tables:
                result[table] = {
                    "columns": [(c["name"], str(c["type"]), c["nullable"])
                                for c in insp.get_columns(table)],
                    "pk": insp.get_pk_constraint(table),
                    "fk": insp.get_foreign_keys(table),
                    "indexes": sorted(insp.get_indexes(table), key=lambda i: i["name"]),
                    "unique": insp.get_unique_constraints(table),
                    "comment": insp.get_table_comment(table),
                }
            return result
        finally:
            engine.dispose()

    ours, theirs = (report(dsn) for dsn in both)
    assert ours == theirs


JAVA = Path(__file__).parent / "java" / "JdbcCatalog.java"



@pytest.fixture(scope="module")
def jdbc_classes(tmp_path_factory) -> Path:
    return compile_java(JAVA, tmp_path_factory.mktemp("jdbc-catalog"))


def _jdbc(dsn: str, classes: Path, *args: str) -> list[str]:
    out = subprocess.run(
        ["java", "-cp", f"{JAR}:{classes}", "JdbcCatalog", jdbc_url(dsn), *args],
        capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout.splitlines()


def test_pgjdbc_database_metadata_reports_what_postgresql_does(both, jdbc_classes):
    ours, theirs = (_jdbc(dsn, jdbc_classes) for dsn in both)
    assert ours == theirs


def test_pgjdbc_type_and_function_lists(both, jdbc_classes):
    """Type and function lists are this server's own (DuckDB's types and functions),
    so they are not compared with PostgreSQL's; they must list what a tool needs."""
    lines = set(_jdbc(both[0], jdbc_classes, "types"))
    for expected in ("type | int4 | 4", "type | text | 12", "type | numeric | 2",
                     "type | timestamptz | 93", "type | _int4 | 2003",
                     "tabletype | TABLE", "tabletype | VIEW", "function | lower"):
        assert expected in lines, expected
