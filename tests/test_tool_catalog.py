"""Tools' connect-time catalog queries, replayed on this server and on PostgreSQL 15.

The same schema (tables, a view, an enum type, sequences, comments on a table and a
column, primary, foreign, unique and check constraints, an index, a second schema) is
created in both; then the catalog queries Metabase, DBeaver, pgAdmin, dbt and Harlequin
send when they connect and browse (tests/corpus/tool_catalog.sql, each with the tool's
source) and SQLAlchemy's Inspector (what Superset calls) run on both, and the answers
must agree row for row: column names, type OIDs and values. Every query runs twice: in the simple
protocol with text results (as psql-like and psycopg ClientCursor tools send it) and
prepared on the server with binary results (as pgjdbc sends a statement it reuses); the
JDBC tools' queries also run through pgjdbc itself (tests/java/ToolCatalogReplay.java).

Rows about PostgreSQL's own objects (pg_* schemas, information_schema, built-in roles)
are left out where an entry says so: this server has DuckDB's, not PostgreSQL's. OIDs
differ between the servers, so an OID column is compared as the name it stands for. Name
and "char" columns are sent as text here (docs/compatibility.md), so their type OIDs are
compared as text's. Entries that still differ are strict expected failures with the
reason (docs/compatibility.md lists them).
"""

from __future__ import annotations

import json
import re
import struct
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine, inspect

from tests.conftest import ServerProcess
from tests.support.jdbc import JAR, compile_java, jdbc_url
from tests.support.pg15 import pg15_dsn  # noqa: F401 - pytest fixture

CORPUS = Path(__file__).parent / "corpus" / "tool_catalog.sql"
DBNAME = "tool_catalog"

SCHEMA = [
    "create type mood as enum ('sad', 'ok', 'happy')",
    "create sequence order_numbers start 100",
    "create table customers (id integer primary key, name text not null, "
    "email text unique, mood mood, created timestamptz)",
    "create table orders (id integer primary key default nextval('order_numbers'), "
    "customer_id integer not null references customers (id), amount numeric(12,2) "
    "check (amount >= 0), placed date, note text, unique (customer_id, placed))",
    "create index orders_amount_idx on orders (amount)",
    "create view big_orders as select id, amount from orders where amount > 100",
    "comment on table customers is 'people who order'",
    "comment on column customers.name is 'full name'",
    "create schema sales",
    "create table sales.regions (code text primary key, label text)",
]

#: name, "char", int2vector, oidvector and varchar (information_schema's character_data)
#: are sent as text here (docs/compatibility.md).
TYPE_ALIASES = {19: 25, 18: 25, 22: 25, 30: 25, 1043: 25}

#: catalog -> (OID column, name column), for "-- oid: column=catalog".
OID_CATALOGS = {
    "pg_class": ("oid", "relname"), "pg_type": ("oid", "typname"),
    "pg_namespace": ("oid", "nspname"), "pg_am": ("oid", "amname"),
    "pg_roles": ("oid", "rolname"), "pg_proc": ("oid", "proname"),
}


@dataclass
class Entry:
    name: str
    sql: str
    meta: dict[str, str] = field(default_factory=dict)

    def list(self, key: str) -> list[str]:
        return [v.strip() for v in self.meta.get(key, "").split(",") if v.strip()]

    @property
    def lets(self) -> dict[str, str]:
        out = {}
        for line in self.meta.get("let", "").split("\n"):
            if line.strip():
                key, query = line.split("=", 1)
                out[key.strip()] = query.strip()
        return out

    @property
    def oids(self) -> dict[str, str]:
        return dict(item.split("=") for item in self.list("oid"))

    @property
    def ordered(self) -> bool:
        return "unordered" not in self.meta and bool(
            re.search(r"\border\s+by\b[^)]*$", self.sql, re.I | re.S))


def _load() -> list[Entry]:
    entries: list[Entry] = []
    meta: dict[str, str] = {}
    lines: list[str] = []
    for line in CORPUS.read_text().splitlines():
        match = re.match(r"-- ([\w-]+): (.*)$", line)
        if match and not lines:
            key, value = match.groups()
            meta[key] = f"{meta[key]}\n{value}" if key in meta else value
        elif line.strip() == ";":
            entries.append(Entry(meta["name"], "\n".join(lines), meta))
            meta, lines = {}, []
        elif meta and not line.startswith("--"):
            lines.append(line)
    return entries


ENTRIES = _load()


def _jdbc_to_psycopg(sql: str) -> str:
    """pgjdbc's ? placeholders (outside quotes) as psycopg's %s; a literal % doubled."""
    out = []
    for token in re.findall(r"'(?:[^']|'')*'|\"[^\"]*\"|[^'\"]+", sql, re.S):
        token = token.replace("%", "%%")
        if token[0] not in "'\"":
            token = token.replace("?", "%s")
        out.append(token)
    return "".join(out)


def _builtin(value: object) -> bool:
    return isinstance(value, str) and (value.startswith("pg_")
                                       or value == "information_schema")


def _names(conn: psycopg.Connection) -> dict[str, dict[int, str]]:
    names = {}
    for catalog, (oid, name) in OID_CATALOGS.items():
        rows = conn.execute(f"select {oid}::bigint, {name}::text from pg_catalog.{catalog}")
        names[catalog] = dict(rows.fetchall())
    return names


def _normal(value: object, type_oid: int) -> object:
    """A value as both servers' answers can be compared: psycopg has no binary loader
    for int2vector/oidvector (bytes: an array's binary form, here in its text form '1 2'),
    and reads an empty "char" in binary as a NUL where its text is ''."""
    if isinstance(value, list):
        return tuple(_normal(v, 0) for v in value)
    if isinstance(value, memoryview):
        value = bytes(value)
    if type_oid in (22, 30) and isinstance(value, bytes):
        ndim, _, _ = struct.unpack_from("!iiI", value)
        count = struct.unpack_from("!i", value, 12)[0] if ndim else 0
        offset, items = 12 + 8 * ndim, []
        for _ in range(count):
            size = struct.unpack_from("!i", value, offset)[0]
            items.append(str(int.from_bytes(value[offset + 4:offset + 4 + size], "big",
                                            signed=type_oid == 22)))
            offset += 4 + size
        return " ".join(items)
    if type_oid == 18 and value == "\x00":
        return ""
    return value


def _bound(conn: psycopg.Connection, entry: Entry) -> tuple[str, list]:
    """The entry's SQL with its let values in place, and its parameters, on ``conn``."""
    lets = {key: conn.execute(query).fetchone()[0] for key, query in entry.lets.items()}
    sql = entry.sql
    for key, value in lets.items():
        sql = sql.replace("{" + key + "}", str(value))
    return sql, [lets[p[1:-1]] if p.startswith("{") else p for p in entry.list("params")]


def run(conn: psycopg.Connection, entry: Entry, binary: bool) -> tuple:
    """(column names and type OIDs, rows) as compared; or ("error", SQLSTATE, message)."""
    sql, params = _bound(conn, entry)
    names = _names(conn) if entry.oids else {}
    binary = binary and "text-only" not in entry.meta
    try:
        if binary:
            cur = conn.cursor(binary=True)
            cur.execute(_jdbc_to_psycopg(sql) if params else sql, params or None, prepare=True)
        else:
            cur = psycopg.ClientCursor(conn)
            cur.execute(_jdbc_to_psycopg(sql) if params else sql, params or None)
    except psycopg.Error as err:
        return ("error", err.sqlstate, str(err).splitlines()[0])
    types = [d.type_code for d in cur.description]
    described = [(d.name, TYPE_ALIASES.get(t, t)) for d, t in zip(cur.description, types)]
    rows = [[_normal(v, t) for v, t in zip(row, types)] for row in cur.fetchall()]
    return _compared(entry, described, rows, names)


def _compared(entry: Entry, described: list, raw: list, names: dict) -> tuple:
    """The entry's columns of ``raw`` rows, OIDs as names, built-in rows left out."""
    wanted = entry.list("columns") or [name for name, _ in described]
    index = {name: i for i, (name, _) in enumerate(described)}
    missing = [c for c in wanted if c not in index]
    if missing:
        return ("missing columns", missing)
    rows = []
    for row in raw:
        values = {}
        for column in wanted:
            value = row[index[column]]
            if column in entry.oids and value is not None:
                value = names[entry.oids[column]].get(int(value), f"<unknown oid {value}>")
            if column in entry.list("sets") and value is not None:
                value = ",".join(sorted(value.split(",")))
            values[column] = value
        if any(_builtin(values[c]) for c in entry.list("builtin")):
            continue
        rows.append(tuple(values[c] for c in wanted))
    if not entry.ordered:
        rows.sort(key=repr)
    return ([described[index[c]] for c in wanted], rows)


@pytest.fixture(scope="module")
def both(tmp_path_factory, pg15_dsn):  # noqa: F811
    """(our connection, PostgreSQL's connection), each on SCHEMA in database tool_catalog."""
    ours = ServerProcess(tmp_path_factory.mktemp("toolcat") / "data").start()
    with psycopg.connect(pg15_dsn, autocommit=True) as conn:
        conn.execute(f"drop database if exists {DBNAME}")
        conn.execute(f"create database {DBNAME}")
    dsns = (ours.dsn(dbname=DBNAME), pg15_dsn.replace("dbname=postgres", f"dbname={DBNAME}"))
    conns = [psycopg.connect(dsn, autocommit=True) for dsn in dsns]
    for conn in conns:
        for statement in SCHEMA:
            conn.execute(statement)
    yield conns[0], conns[1], dsns
    for conn in conns:
        conn.close()
    ours.stop()


def _marks(entry: Entry, variant: str) -> list:
    reason = entry.meta.get(f"xfail-{variant}") or entry.meta.get("xfail")
    return [pytest.mark.xfail(reason=reason, strict=True)] if reason else []


@pytest.mark.parametrize("entry,binary", [
    pytest.param(e, binary, id=f"{e.name}-{variant}", marks=_marks(e, variant))
    for e in ENTRIES for binary, variant in (
        (False, "text"), (True, "prepared" if "text-only" in e.meta else "binary"))])
def test_tool_query_answers_as_postgresql(both, entry, binary):
    ours, theirs, _ = both
    expected = run(theirs, entry, binary)
    assert expected[0] != "error", f"PostgreSQL rejects {entry.name}: {expected}"
    assert expected[1] or "empty" in entry.meta, \
        f"{entry.name} finds nothing in PostgreSQL: the test proves nothing"
    assert run(ours, entry, binary) == expected


# -- pgjdbc: the queries of the JDBC tools as pgjdbc runs them -------------------------------

JAVA = Path(__file__).parent / "java" / "ToolCatalogReplay.java"
#: pgjdbc's type names of the types sent as text here (TYPE_ALIASES).
JDBC_TYPE_ALIASES = {"name": "text", "char": "text", "int2vector": "text",
                     "oidvector": "text", "varchar": "text"}
JDBC_ENTRIES = [e for e in ENTRIES if e.name.split(".")[0] in ("metabase", "dbeaver")]



def _jdbc_run(conn: psycopg.Connection, dsn: str, classes: Path, workdir: Path) -> dict:
    """Every JDBC entry run by pgjdbc on this server: name -> compared answer."""
    script = []
    for entry in JDBC_ENTRIES:
        sql, params = _bound(conn, entry)
        script.append(f"QUERY {entry.name}")
        script += [f"PARAMLONG {p}" if isinstance(p, int) else f"PARAM {p}" for p in params]
        script += [sql, "END"]
    queries = workdir / f"queries-{abs(hash(dsn))}.txt"
    queries.write_text("\n".join(script) + "\n")
    out = subprocess.run(["java", "-cp", f"{JAR}:{classes}", "ToolCatalogReplay",
                          jdbc_url(dsn) + "&prepareThreshold=2", str(queries)],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    answers = {}
    names = _names(conn)
    for line in out.stdout.splitlines():
        result = json.loads(line)
        entry = next(e for e in JDBC_ENTRIES if e.name == result["name"])
        if "error" in result:
            answers[entry.name] = ("error", result["error"], result["message"])
            continue
        described = [(label, JDBC_TYPE_ALIASES.get(kind, kind))
                     for label, kind in result["columns"]]
        answers[entry.name] = _compared(entry, described, result["rows"], names)
    return answers


@pytest.fixture(scope="module")
def jdbc_answers(both, tmp_path_factory) -> tuple[dict, dict]:
    classes = compile_java(JAVA, tmp_path_factory.mktemp("jdbc-toolcat"))
    ours, theirs, dsns = both
    return tuple(_jdbc_run(conn, dsn, classes, classes)
                 for conn, dsn in ((ours, dsns[0]), (theirs, dsns[1])))


@pytest.mark.parametrize("entry", [
    pytest.param(e, id=e.name, marks=_marks(e, "jdbc")) for e in JDBC_ENTRIES])
def test_pgjdbc_runs_tool_query_as_postgresql(jdbc_answers, entry):
    """pgjdbc values are its getString() text; after two runs it prepares on the server
    and reads the types it knows in binary."""
    ours, theirs = (answers[entry.name] for answers in jdbc_answers)
    assert theirs[0] != "error", f"PostgreSQL rejects {entry.name}: {theirs}"
    assert theirs[1] or "empty" in entry.meta, \
        f"{entry.name} finds nothing in PostgreSQL: the test proves nothing"
    assert ours == theirs


# -- Superset: SQLAlchemy's PostgreSQL dialect Inspector ---------------------------------

#: Inspector call -> why this server answers differently (strict expected failures).
_CHECK = ("a check constraint's text is DuckDB's (amount >= 0); PostgreSQL's deparser "
          "adds casts (amount >= 0::numeric)")
INSPECTOR_DIVERGENT: dict[str, str] = {
    "get_check_constraints": _CHECK,
    "get_multi_check_constraints": _CHECK,
}

INSPECTOR_CALLS = {
    "get_schema_names": lambda i: sorted(s for s in i.get_schema_names()
                                         if s != "information_schema"),
    "get_table_names": lambda i: sorted(i.get_table_names()),
    "get_table_names(sales)": lambda i: sorted(i.get_table_names(schema="sales")),
    "get_view_names": lambda i: sorted(i.get_view_names()),
    "get_sequence_names": lambda i: sorted(i.get_sequence_names()),
    "get_enums": lambda i: i.get_enums(),
    "get_columns": lambda i: {t: [(c["name"], str(c["type"]), c["nullable"],
                                   c.get("comment")) for c in i.get_columns(t)]
                              for t in ("customers", "orders", "big_orders")},
    "get_pk_constraint": lambda i: {t: i.get_pk_constraint(t) for t in ("customers", "orders")},
    "get_foreign_keys": lambda i: i.get_foreign_keys("orders"),
    "get_indexes": lambda i: sorted(i.get_indexes("orders"), key=lambda x: x["name"]),
    "get_unique_constraints": lambda i: {t: i.get_unique_constraints(t)
                                         for t in ("customers", "orders")},
    "get_check_constraints": lambda i: i.get_check_constraints("orders"),
    "get_table_comment": lambda i: {t: i.get_table_comment(t) for t in ("customers", "orders")},
    "get_view_definition": lambda i: bool(i.get_view_definition("big_orders")),
    "get_multi_columns": lambda i: sorted(
        (k, [(c["name"], str(c["type"]), c["nullable"]) for c in v])
        for k, v in i.get_multi_columns().items()),
    "get_multi_pk_constraint": lambda i: sorted(i.get_multi_pk_constraint().items()),
    "get_multi_foreign_keys": lambda i: sorted(i.get_multi_foreign_keys().items()),
    "get_multi_indexes": lambda i: sorted(
        (k, sorted(v, key=lambda x: x["name"])) for k, v in i.get_multi_indexes().items()),
    "get_multi_unique_constraints": lambda i: sorted(
        i.get_multi_unique_constraints().items()),
    "get_multi_check_constraints": lambda i: sorted(i.get_multi_check_constraints().items()),
    "get_multi_table_comment": lambda i: sorted(i.get_multi_table_comment().items()),
}


@pytest.mark.parametrize("call", [
    pytest.param(name, marks=[pytest.mark.xfail(reason=INSPECTOR_DIVERGENT[name], strict=True)]
                 if name in INSPECTOR_DIVERGENT else [])
    for name in INSPECTOR_CALLS])
def test_sqlalchemy_inspector_answers_as_postgresql(both, call):
    def report(dsn: str) -> object:
        engine = create_engine("postgresql+psycopg://", creator=lambda: psycopg.connect(dsn))
        try:
            return INSPECTOR_CALLS[call](inspect(engine))
        finally:
            engine.dispose()

    _, _, (mine, theirs) = both
    expected = report(theirs)
    assert expected, f"{call} finds nothing in PostgreSQL: the test proves nothing"
    assert report(mine) == expected
