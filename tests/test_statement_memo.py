"""engine/statement.py's per-statement memo: a prepared statement's result-column
identities (enum, composite, jsonb: catalog queries) and its Arrow schema are worked
out once per catalog state, not per execution, and DDL or SET between two executions
(by this session or, once committed, by another) changes the answer.

Both ways a statement runs are covered: the in-process engine's core (standalone mode)
and a worker session (control-plane mode) share ``statement.start``.
"""

from __future__ import annotations

import pytest

from duckgres_trio.engine import statement as st
from duckgres_trio.worker.session import Sessions

# both engines in process, named by the fixture: no server, no codec:
# deselected in the standalone pass (tests/conftest.py)
pytestmark = pytest.mark.controlplane_only


class _Local:
    """Sessions on one in-process database, as engine/local.py drives them."""

    def __init__(self, tmp_path) -> None:
        self.database = st.open_database(str(tmp_path / "memo.duckdb"))
        self.conns = []

    def session(self):
        conn = st.connect(self.database)
        self.conns.append(conn)
        prepared = {}

        def run(sql, params=()):
            statement = conn.prepare(sql)
            try:
                statement.bind(list(params))
                started = st.start(statement, None)
            finally:
                statement.close()
            return started

        def prepare(sql):
            statement = conn.prepare(sql)
            st.columns(statement)
            prepared[sql] = statement
            return sql

        def run_prepared(handle, params=()):
            statement = prepared[handle]
            statement.bind(list(params))
            return st.start(statement, True)

        return run, prepare, run_prepared

    def close(self):
        for conn in self.conns:
            conn.close()
        self.database.close()


class _Worker:
    """Sessions of a worker (worker/session.py), as the statement path drives them."""

    def __init__(self, tmp_path) -> None:
        self.sessions = Sessions()
        self.sessions.activate(str(tmp_path / "memo.duckdb"), {})

    def session(self):
        session = self.sessions.create("u")

        def run(sql, params=()):
            return session.execute(sql, None)

        def prepare(sql):
            return session.prepare(sql)[0]

        def run_prepared(handle, params=()):
            return session.run(handle, list(params), True)

        return run, prepare, run_prepared

    def close(self):
        self.sessions.close()


@pytest.fixture(params=["standalone", "controlplane"])
def engine(request, tmp_path):
    made = (_Local if request.param == "standalone" else _Worker)(tmp_path)
    yield made
    made.close()


def _type_name(started) -> str:
    """The PostgreSQL type name the schema's first column carries (enum identity)."""
    metadata = started.schema.field(0).metadata or {}
    return metadata.get(st.PG_TYPE_KEY, b"").decode().split(" ", 3)[-1]


def test_enum_identity_follows_ddl_between_executions(engine):
    run, prepare, run_prepared = engine.session()
    other, _, _ = engine.session()
    run("CREATE TYPE mood_a AS ENUM ('x', 'y')")
    run("CREATE TABLE t (m mood_a)")
    run("INSERT INTO t VALUES ('x')")
    lookup = prepare("SELECT m FROM t")
    assert _type_name(run_prepared(lookup)) == "mood_a"
    assert _type_name(run_prepared(lookup)) == "mood_a"
    # another session replaces the type by one with the same labels (and a new OID)
    for sql in ("DROP TABLE t", "DROP TYPE mood_a", "CREATE TYPE mood_b AS ENUM ('x', 'y')",
                "CREATE TABLE t (m mood_b)", "INSERT INTO t VALUES ('y')"):
        other(sql)
    started = run_prepared(lookup)
    assert _type_name(started) == "mood_b"
    assert started.first[0].column(0).to_pylist() == ["y"]


def test_enum_identity_inside_a_transaction_keeps_its_snapshot(engine):
    run, prepare, run_prepared = engine.session()
    other, _, _ = engine.session()
    run("CREATE TYPE mood_a AS ENUM ('x', 'y')")
    run("CREATE TABLE t (m mood_a)")
    lookup = prepare("SELECT m FROM t")
    run("BEGIN")
    assert _type_name(run_prepared(lookup)) == "mood_a"
    for sql in ("DROP TABLE t", "DROP TYPE mood_a", "CREATE TYPE mood_b AS ENUM ('x', 'y')",
                "CREATE TABLE t (m mood_b)"):
        other(sql)
    # looked up again (the generation moved), but in this transaction's snapshot
    assert _type_name(run_prepared(lookup)) == "mood_a"
    run("COMMIT")
    # the new snapshot sees the other session's types: what was found in the old one
    # is not kept although no DDL ran since
    assert _type_name(run_prepared(lookup)) == "mood_b"


def test_result_columns_follow_alter_table_and_set(engine):
    run, prepare, run_prepared = engine.session()
    other, _, _ = engine.session()
    run("CREATE TABLE w (a INTEGER, ts TIMESTAMPTZ)")
    run("INSERT INTO w VALUES (1, TIMESTAMPTZ '2024-01-01 00:00:00+00')")
    lookup = prepare("SELECT * FROM w WHERE a = $1")
    first = run_prepared(lookup, [1]).schema
    assert run_prepared(lookup, [1]).schema.names == ["a", "ts"]
    other("ALTER TABLE w ADD COLUMN b VARCHAR DEFAULT 'z'")
    started = run_prepared(lookup, [1])
    assert started.schema.names == ["a", "ts", "b"]
    assert started.first[0].column(2).to_pylist() == ["z"]
    run("SET TimeZone = 'America/New_York'")
    zoned = run_prepared(lookup, [1]).schema.field("ts").type
    assert zoned.tz != first.field("ts").type.tz


def test_schema_and_identities_are_reused_while_nothing_changes(engine, monkeypatch):
    run, prepare, run_prepared = engine.session()
    run("CREATE TYPE mood AS ENUM ('x', 'y')")
    run("CREATE TABLE t (id INTEGER, m mood, name VARCHAR, d DECIMAL(10, 2))")
    run("INSERT INTO t VALUES (1, 'x', 'one', 1.5), (2, 'y', 'two', 2.5)")
    lookup = prepare("SELECT id, m, name, d FROM t WHERE id = $1")
    run_prepared(lookup, [1])
    lookups = []
    real = st._identities
    monkeypatch.setattr(st, "_identities", lambda s: lookups.append(s) or real(s))
    kept = [run_prepared(lookup, [i]) for i in (1, 2, 1)]  # alive: ids stay distinct
    assert lookups == []
    # a column type with parameters beyond the cheap check (ENUM) rebuilds the schema
    # each time, the identities stay remembered
    assert len({id(r.schema) for r in kept}) == 3
    assert all(r.schema.field(1).metadata[st.PG_TYPE_KEY].endswith(b" mood") for r in kept)
    plain = prepare("SELECT id, name, d FROM t WHERE id = $1")
    results = [run_prepared(plain, [i]) for i in (1, 2, 1)]
    assert len({id(r.schema) for r in results}) == 1
    assert [r.first[0].column(2).to_pylist() for r in results] == [
        [pytest.approx(1.5)], [pytest.approx(2.5)], [pytest.approx(1.5)]]
    # after DDL (anywhere in the database) the identities are looked up again
    run("CREATE TABLE unrelated (x INTEGER)")
    lookups.clear()
    again = run_prepared(lookup, [1])
    assert lookups != []
    assert again.schema.field(1).metadata[st.PG_TYPE_KEY].endswith(b" mood")


def _jsonb(started) -> list[bool]:
    return [(field.metadata or {}).get(st.PG_TYPE_KEY) == st.JSONB_IDENTITY
            for field in started.schema]


def test_jsonb_lookups_are_kept_per_catalog_state_without_a_prepared_statement(
        engine, monkeypatch):
    """A statement prepared anew each time (the simple protocol) with JSON columns asks
    the catalog which are jsonb once per catalog state (engine/jsonb_typing.Catalog),
    and again after another session's DDL."""
    run, _, _ = engine.session()
    other, _, _ = engine.session()
    run("CREATE TABLE docs (id INTEGER, a JSON, b JSON)")
    run("COMMENT ON COLUMN docs.a IS 'duckgres_typmod:jsonb'")
    run("CREATE VIEW docs_v AS SELECT a AS x, b FROM docs")
    queries = []
    real = st._query
    monkeypatch.setattr(st, "_query", lambda conn, sql: queries.append(sql) or real(conn, sql))
    for sql, expected in (("SELECT a, b FROM docs", [True, False]),
                          ("SELECT x, b FROM docs_v", [True, False])):
        assert _jsonb(run(sql)) == expected
        looked_up = len(queries)
        assert looked_up > 0
        assert _jsonb(run(sql)) == expected
        assert _jsonb(run(sql)) == expected
        assert len(queries) == looked_up  # kept: no catalog query
        queries.clear()
    # another session's DDL: looked up again
    other("COMMENT ON COLUMN docs.b IS 'duckgres_typmod:jsonb'")
    assert _jsonb(run("SELECT a, b FROM docs")) == [True, True]
    assert queries
