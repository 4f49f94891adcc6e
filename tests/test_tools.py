"""What database tools ask at connect and when they browse a database (the kind of
catalog queries pgAdmin and DBeaver send: database and schema lists with descriptions,
types, keywords, roles, settings, a table's columns), written for this suite from their
published query shapes. Neither tool runs on this machine, so this checks the catalog
answers such queries sensibly, not the tools themselves."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

QUERIES = [q.strip() for q in (Path(__file__).parent / "corpus" / "tools.sql").read_text()
           .split(";\n") if q.strip()]


@pytest.fixture(scope="module")
def conn(server):
    with psycopg.connect(server.dsn(dbname="tools"), autocommit=True) as connection:
        connection.execute("create table if not exists accounts (id integer primary key, "
                           "balance bigint default 0, note text)")
        yield connection


@pytest.mark.parametrize("sql", QUERIES)
def test_tool_queries_run(conn, sql):
    rows = conn.execute(sql).fetchall()
    assert rows, sql


def test_tool_queries_find_this_database_and_its_objects(conn, server):
    # every database of the server, as PostgreSQL lists them: one file each
    names = [row[1] for row in conn.execute(QUERIES[0]).fetchall()]
    assert "tools" in names
    assert sorted(names) == sorted(p.stem for p in server.data_dir.glob("*.duckdb"))
    schemas = [row[1] for row in conn.execute(QUERIES[2]).fetchall()]
    assert "public" in schemas and "pg_catalog" in schemas
    keywords = conn.execute(QUERIES[5]).fetchone()[0].split(",")
    assert "select" in keywords and "from" in keywords
    columns = conn.execute(QUERIES[9]).fetchall()
    assert [(c[0], c[1], c[2]) for c in columns] == [
        ("id", "integer", True), ("balance", "bigint", False), ("note", "text", False)]
