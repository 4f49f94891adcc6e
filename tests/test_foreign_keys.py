"""Foreign keys against PostgreSQL 15: referenced rows can be updated, integrity holds.

DuckDB 1.5.5 runs an UPDATE of an indexed column as a delete and an insert, so updating
a referenced customer's UNIQUE email failed; the server now keeps foreign keys itself
(engine/foreign_keys.py). Every statement here runs on both servers, in each psycopg
protocol, inside a transaction rolled back afterwards; what a client reads (rows, command
tags, SQLSTATE, message and DETAIL) must be the same.
"""

from __future__ import annotations

import psycopg
import pytest

from tests.support.differential import PROTOCOLS, outcome, schema_on_both
from tests.support.pg15 import pg15_dsn  # noqa: F401 - pytest fixture

SCHEMA = [
    "create table customers (id integer primary key, email text unique, name text)",
    "create table orders (oid integer primary key, customer_id integer references customers, "
    "amount integer)",
    "create table parents (a integer, b integer, primary key (a, b))",
    "create table kids (k integer, a integer, b integer, foreign key (a, b) references parents)",
    "create table emp (id integer primary key, boss integer references emp (id))",
    "create table items (id integer, cid integer constraint items_cust references customers (id) "
    "on delete restrict)",
    "insert into customers values (1, 'a@x', 'Ann'), (2, 'b@x', 'Bob'), (3, 'c@x', 'Cy')",
    "insert into orders values (10, 1, 5), (11, 1, 6), (12, 2, 7)",
    "insert into parents values (1, 1), (2, 2)",
    "insert into kids values (1, 1, 1)",
    "insert into emp values (1, null), (2, 1)",
    # referential actions
    "create table folders (id integer primary key, name text unique)",
    "create table files (id integer primary key, folder integer references folders "
    "on delete cascade)",
    "create table chunks (file integer references files on delete cascade, n integer)",
    "create table locks (file integer references files)",
    "create table shortcuts (folder integer default 1 references folders "
    "on delete set default on update set null)",
    "create table pins (folder integer references folders on delete set null)",
    "create table tree (id integer primary key, up integer references tree on delete cascade)",
    "insert into folders values (1, 'root'), (2, 'a'), (3, 'b')",
    "insert into files values (10, 2), (11, 2)",
    "insert into chunks values (10, 1), (10, 2), (11, 1)",
    "insert into shortcuts values (2), (3)",
    "insert into pins values (2)",
    "insert into tree values (1, null), (2, 1), (3, 2), (4, 1)",
]

#: Each case: statements run in order in one transaction (rolled back after), the last
#: a query of the resulting rows where the effect matters.
CASES = {
    # the issue: a referenced row's other indexed columns, and upserts touching them
    "update-unique-column": ["update customers set email = 'new@x' where id = 1",
                             "select * from customers order by id"],
    "update-unique-column-all-rows": ["update customers set email = email || '!'",
                                      "select * from customers order by id"],
    "update-plain-column": ["update customers set name = 'Anna' where id = 1"],
    "update-key-to-itself": ["update customers set id = id, email = 'z@x' where id = 1"],
    "upsert-unique-column": [
        "insert into customers values (1, 'up@x', 'Ann') on conflict (id) "
        "do update set email = excluded.email", "select * from customers order by id"],
    "upsert-do-nothing": ["insert into customers values (1, 'q@x', 'Q') on conflict do nothing"],
    "upsert-referencing-row": [
        "insert into orders values (10, 2, 9) on conflict (oid) "
        "do update set customer_id = excluded.customer_id", "select * from orders order by oid"],
    "upsert-referencing-row-orphan": [
        "insert into orders values (10, 99, 9) on conflict (oid) "
        "do update set customer_id = excluded.customer_id"],
    # what PostgreSQL refuses
    "orphan-insert": ["insert into orders values (20, 99, 1)"],
    "orphan-insert-select": [
        "insert into orders select 30 + i, 98, 0 from generate_series(1, 3) i"],
    "orphan-update": ["update orders set customer_id = 99 where oid = 10"],
    "key-update-referenced": ["update customers set id = 9 where id = 2"],
    "key-update-multi-row": ["update customers set id = id + 10 where id in (2, 3)"],
    "delete-referenced": ["delete from customers where id = 2"],
    "delete-restrict": ["delete from orders where customer_id = 3",
                        "insert into items values (1, 3)", "delete from customers where id = 3"],
    "composite-orphan": ["insert into kids values (2, 1, 2)"],
    "composite-key-update": ["update parents set b = 5 where a = 1"],
    "self-delete": ["delete from emp where id = 1"],
    "self-orphan": ["insert into emp values (3, 99)"],
    "self-update-reference": ["update emp set boss = 42 where id = 2"],
    "self-update-key": ["update emp set id = 5 where id = 1"],
    "after-error-aborted": ["insert into orders values (20, 99, 1)", "select 1"],
    # what PostgreSQL allows
    "key-update-unreferenced": ["update customers set id = 9 where id = 3",
                                "select * from customers order by id"],
    "delete-unreferenced": ["delete from customers where id = 3",
                            "select count(*) from customers"],
    "delete-children-then-parent": ["delete from orders where customer_id = 1",
                                    "delete from customers where id = 1",
                                    "select * from customers order by id"],
    "null-reference": ["insert into orders values (20, null, 1)",
                       "insert into kids values (2, null, 7)", "select count(*) from kids"],
    "insert-parent-and-child": ["insert into customers values (4, 'd@x', 'Di')",
                                "insert into orders values (20, 4, 1)",
                                "select * from orders order by oid"],
    "insert-select-referencing": [
        "insert into orders select 30 + i, 1 + i % 2, 0 from generate_series(1, 3) i",
        "select * from orders order by oid"],
    "repoint-then-update-key": ["update orders set customer_id = 3 where customer_id = 2",
                                "update customers set id = 8 where id = 2",
                                "select * from customers order by id"],
    "self-chain": ["insert into emp values (3, 2), (4, 3)", "select * from emp order by id"],
    # referential actions: what they leave, and what still stops them
    "on-delete-actions": ["delete from folders where id = 2",
                          "select * from files order by id",
                          "select * from chunks order by file, n",
                          "select * from shortcuts order by folder",
                          "select * from pins order by folder nulls first"],
    "on-delete-cascade-self": ["delete from tree where id = 2", "select * from tree order by id"],
    "on-delete-cascade-blocked": ["insert into locks values (10)",
                                  "delete from folders where id = 2"],
    "on-delete-set-default-missing": ["delete from folders where id = 2",
                                      "delete from folders where id = 1"],
    "on-update-set-null": ["update folders set id = 30 where id = 3",
                           "select * from shortcuts order by folder nulls first"],
    "on-update-no-action": ["update folders set id = 20 where id = 2"],
    "truncate-referenced": ["truncate folders"],
    "truncate-referencing": ["truncate chunks", "select count(*) from chunks"],
    "upsert-new-row": [
        "insert into customers values (5, 'e@x', 'Ed') on conflict (id) "
        "do update set email = excluded.email", "select * from customers order by id"],
}


@pytest.fixture(scope="module")
def both(tmp_path_factory, pg15_dsn):  # noqa: F811
    with schema_on_both(tmp_path_factory, pg15_dsn, "fk_test", SCHEMA) as dsns:
        yield dsns


def _run(dsn: str, statements: list[str], binary: bool, prepare: bool) -> list[tuple]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("begin")
        try:
            return [outcome(conn, sql, binary=binary, prepare=prepare, detail=True)
                    for sql in statements]
        finally:
            conn.execute("rollback")


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("case", CASES)
def test_statements_agree_with_postgresql(both, case, protocol):
    binary, prepare = PROTOCOLS[protocol]
    ours, theirs = (_run(dsn, CASES[case], binary, prepare) for dsn in both)
    assert ours == theirs


def test_refused_statements_fail_with_23503(both):
    """The differential cases above compare with PostgreSQL; this one says what they
    must show, so a server that agreed by failing otherwise would not pass."""
    ours = _run(both[0], CASES["delete-referenced"], False, False)
    assert ours == [("error", "23503", 'update or delete on table "customers" violates '
                     'foreign key constraint "orders_customer_id_fkey" on table "orders"',
                     'Key (id)=(2) is still referenced from table "orders".')]
    ours = _run(both[0], CASES["update-unique-column"], False, False)
    assert ours[0] == ("ok", "UPDATE 1")


def _autocommit_outcomes(dsn: str) -> list[tuple]:
    """Outside a transaction, a refused statement leaves nothing behind."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        out = [outcome(conn, sql, detail=True) for sql in (
            "update customers set id = 7 where id = 1",
            "insert into orders values (40, 1, 1), (41, 99, 1)",
            "select * from customers order by id",
            "select count(*) from orders where oid >= 40")]
        return out


def test_autocommit_statement_rolls_back(both):
    ours, theirs = (_autocommit_outcomes(dsn) for dsn in both)
    assert ours == theirs
    assert ours[3][2] == [(0,)]


def _across_sessions(dsn: str, table: str) -> list[tuple]:
    """A foreign key created by one session binds another that was already writing."""
    with psycopg.connect(dsn, autocommit=True) as first, \
            psycopg.connect(dsn, autocommit=True) as second:
        out = [outcome(second, "insert into customers values (6, 'f@x', 'Fay')")]
        first.execute("begin")
        first.execute(f"create table {table} (x integer references customers)")
        out.append(outcome(second, f"insert into {table} values (99)"))  # not there yet
        first.execute("commit")
        out.append(outcome(second, f"insert into {table} values (99)", detail=True))
        out.append(outcome(second, f"insert into {table} values (6)"))
        out.append(outcome(first, "delete from customers where id = 6", detail=True))
        second.execute(f"drop table {table}")
        out.append(outcome(first, "delete from customers where id = 6"))
        return out


def test_foreign_key_holds_across_sessions(both):
    ours, theirs = (_across_sessions(dsn, "later") for dsn in both)
    assert ours == theirs
    assert ours[2][1] == "23503" and ours[4][1] == "23503"


def _copy(dsn: str) -> list[tuple]:
    out = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        for rows in (b"50\t1\t1\n51\t99\t1\n", b"50\t1\t1\n51\t2\t1\n"):
            try:
                with conn.cursor() as cur:
                    with cur.copy("copy orders from stdin") as copy:
                        copy.write(rows)
                    out.append(("ok", cur.rowcount))
            except psycopg.Error as err:
                out.append(("error", err.sqlstate, err.diag.message_primary,
                            err.diag.message_detail))
        out.append(outcome(conn, "select * from orders where oid >= 50 order by oid"))
        conn.execute("delete from orders where oid >= 50")
    return out


def test_copy_from_checks_references(both):
    ours, theirs = (_copy(dsn) for dsn in both)
    assert ours == theirs
    assert ours[0][1] == "23503"


def _ddl(dsn: str) -> list[tuple]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return [outcome(conn, sql, detail=True) for sql in (
            "drop table customers",
            "create table bad1 (x integer references nosuch)",
            "create table bad2 (x text references customers (name))",
            "create table bad3 (x integer, foreign key (y) references customers)",
            "create table named (x integer, constraint my_named_fk foreign key (x) "
            "references customers (id))",
            "insert into named values (99)",
            "drop table named")]


def test_ddl_agrees_with_postgresql(both):
    ours, theirs = (_ddl(dsn) for dsn in both)
    assert ours == theirs


CATALOG = [
    "select conname, contype, conkey, confkey, confrelid::regclass::text, confupdtype, "
    "confdeltype, confmatchtype, pg_get_constraintdef(oid) from pg_constraint "
    "where contype = 'f' order by conname",
    "select constraint_name, table_name, constraint_type from "
    "information_schema.table_constraints where constraint_type = 'FOREIGN KEY' "
    "order by constraint_name",
    "select constraint_name, table_name, column_name, ordinal_position, "
    "position_in_unique_constraint from information_schema.key_column_usage "
    "where constraint_name like '%fk%' or constraint_name = 'items_cust' "
    "order by constraint_name, ordinal_position",
    "select pg_get_constraintdef(oid), confupdtype, confdeltype from pg_constraint "
    "where contype = 'f' order by 1",
    "select constraint_name, update_rule, delete_rule from "
    "information_schema.referential_constraints order by constraint_name",
]


@pytest.mark.parametrize("sql", CATALOG)
def test_catalog_shows_the_foreign_keys(both, sql):
    """The rows (information_schema's column types differ as for every table there,
    docs/compatibility.md)."""
    ours, theirs = (outcome(psycopg.connect(dsn, autocommit=True), sql) for dsn in both)
    assert ours[0] == "rows" and ours[2]
    assert ours[2] == theirs[2]


def test_altering_a_key_column_is_refused(both):
    """Renaming or dropping a column a foreign key names would leave its definition
    dangling (PostgreSQL follows the rename): refused, the table unchanged."""
    with psycopg.connect(both[0], autocommit=True) as conn:
        got = [outcome(conn, sql)[:2] for sql in (
            "alter table customers rename column id to cid",
            "alter table orders rename column customer_id to cust",
            "alter table customers rename to clients",
            "select count(*) from customers where id = 1")]
    assert got == [("error", "0A000")] * 3 + [("rows", [("count", 20)])]


def test_on_update_cascade_is_refused(both):
    """The one action the server cannot take: at the statement's end it knows which
    referencing rows lost their key, not which new key they should follow."""
    with psycopg.connect(both[0], autocommit=True) as conn:
        got = outcome(conn, "create table c1 (x integer references customers "
                            "on update cascade)")
    assert got == ("error", "0A000", "foreign key action ON UPDATE CASCADE is not supported")


def test_foreign_keys_survive_a_crash_and_alter_table(tmp_path):
    """The definition lives in the table (its CHECK), so it outlives the server: even
    replayed from DuckDB's WAL after a kill, with an ALTER TABLE after it (a CHECK that
    calls an unqualified function would break that replay in DuckDB 1.5.5)."""
    import signal

    from tests.conftest import ServerProcess

    data = tmp_path / "data"
    server = ServerProcess(data).start()
    try:
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            for sql in SCHEMA[:2] + ["insert into customers values (1, 'a@x', 'Ann')",
                                     "insert into orders values (10, 1, 5)",
                                     "alter table orders add column note text"]:
                conn.execute(sql)
    finally:
        server.stop(signal.SIGKILL)
    server = ServerProcess(data).start()
    try:
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            assert outcome(conn, "update customers set email = 'z@x' where id = 1") == (
                "ok", "UPDATE 1")
            assert outcome(conn, "insert into orders values (11, 99, 1, 'n')")[:2] == (
                "error", "23503")
            assert outcome(conn, "delete from customers")[:2] == ("error", "23503")
            assert outcome(conn, "select conname from pg_constraint where contype = 'f'")[2] == [
                ("orders_customer_id_fkey",)]
    finally:
        server.stop()


def _snapshot_then_ddl(dsn: str) -> list[tuple]:
    """A session whose transaction began before another committed a new foreign key
    reads the keys in its old snapshot; once that transaction ends, the new key binds."""
    with psycopg.connect(dsn, autocommit=True) as first, \
            psycopg.connect(dsn, autocommit=True) as second:
        out = [outcome(second, "insert into customers values (7, 'g@x', 'Gil')")]
        second.execute("begin")  # plain INSERTs: no write turn held (docs/compatibility.md)
        out.append(outcome(second, "insert into orders values (60, 1, 0)"))
        first.execute("create table snap (x integer references customers)")
        first.execute("insert into snap values (7)")
        out.append(outcome(second, "insert into orders values (61, 1, 0)"))
        second.execute("commit")
        out.append(outcome(second, "delete from customers where id = 7", detail=True))
        first.execute("drop table snap")
        out.append(outcome(second, "delete from customers where id = 7"))
        out.append(outcome(second, "delete from orders where oid >= 60"))
        return out


def test_a_key_committed_during_a_transaction_binds_after_it(both):
    ours, theirs = (_snapshot_then_ddl(dsn) for dsn in both)
    assert ours == theirs
    assert ours[3][1] == "23503"
