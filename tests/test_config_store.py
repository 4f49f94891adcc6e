"""The config store (issue 19, first half): migrations, the snapshot and its reloads,
the control-plane row, and ``duckgres-trio admin``, against a throwaway PostgreSQL 15.

The module has its own cluster, not the session's shared one: one test stops it with
``pg_ctl stop -m immediate`` and starts it again. Each test works in a database of its
own (``fresh_database``), so the schema starts empty every time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import psycopg
import pytest
import trio

from duckgres_trio import metrics as server_metrics
from duckgres_trio.frontend import scram
from duckgres_trio.tenancy import migrate
from duckgres_trio.tenancy.directory import Org, Snapshot, User
from duckgres_trio.tenancy.pgtrio import Connection
from duckgres_trio.tenancy.store import ConfigStore, StoreError
from tests.conftest import ServerProcess, free_port
from tests.support.config_store import admin, fails, ok
from tests.support.metrics import scrape, value
from tests.support.pg15 import fresh_database, pg15_cluster


@pytest.fixture(scope="module")
def cluster():
    with pg15_cluster() as cluster:
        yield cluster


@pytest.fixture
def store_dsn(cluster, request):
    name = "cs_" + request.node.name.split("[")[0][5:][:40]
    return fresh_database(cluster.dsn, name)


def sql(dsn: str, query: str, params=()) -> list[tuple]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else []


# -- the snapshot as an interface --------------------------------------------------------

def test_snapshot_finds_orgs_by_name_alias_and_database():
    acme = Org("acme", "acme_db", "acme-co", 5, None, False, {})
    beta = Org("beta", "beta", None, None, 2, True, {"threads": "2"})
    alice = User("acme", "alice", "md5" + "0" * 32, False, None)
    snap = Snapshot({"acme": acme, "beta": beta}, {("acme", "alice"): alice}, 1.0)
    assert snap.org_for_name("acme") is acme and snap.org_for_name("acme-co") is acme
    assert snap.org_for_name("acme_db") is None  # a database name is not a DNS label
    assert snap.org_for_database("acme_db") is acme and snap.org_for_database("acme") is None
    assert snap.user("acme", "alice") is alice and snap.user("beta", "alice") is None


def test_without_a_config_store_nothing_of_it_is_loaded(tmp_path):
    code = (
        "import sys; from duckgres_trio import config; "
        "from duckgres_trio.frontend.server import Server; "
        f"s = Server(config.load(None, {{'data_dir': {str(tmp_path)!r}, 'tls': 'disabled'}}, "
        "{}), None); "
        "print(s.current_snapshot(), 'duckgres_trio.tenancy' in sys.modules, "
        "'psycopg' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, env={k: v for k, v in os.environ.items()
                                             if not k.startswith("DUCKGRES_CONFIG")})
    assert result.stdout.split() == ["None", "False", "False"], result.stderr


# -- the trio client ---------------------------------------------------------------------

async def test_pgtrio_queries_errors_and_large_messages(cluster):
    conn = await Connection.connect(cluster.dsn)
    try:
        assert await conn.query("select 1, null::text, 'x'") == [("1", None, "x")]
        assert await conn.query("select $1::int + 1, $2::text", [41, None]) == [("42", None)]
        with pytest.raises(psycopg.errors.DivisionByZero):
            await conn.query("select 1/0")
        big = "x" * 8_000_000  # more than a socket buffer: the send waits to write
        assert await conn.query("select length($1)", [big]) == [(str(len(big)),)]
        assert await conn.query("select 2") == [("2",)]  # still in step
    finally:
        conn.close()


async def test_pgtrio_resolves_host_names_without_blocking_and_tries_each_host(cluster):
    # libpq would resolve "localhost" inside PQconnectStart; here trio does
    dsn = cluster.dsn.replace("host=127.0.0.1", "host=no-such-host.invalid,localhost") \
        .replace(f"port={cluster.port}", f"port={free_port()},{cluster.port}")
    conn = await Connection.connect(dsn)
    try:
        assert await conn.query("select inet_server_addr()::text") == [("127.0.0.1/32",)]
    finally:
        conn.close()
    with pytest.raises(psycopg.OperationalError, match="could not resolve host"):
        await Connection.connect(cluster.dsn.replace("host=127.0.0.1", "host=no-such.invalid"))
    with trio.socket.socket() as silent:  # accepts (backlog) and never answers
        await silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        with pytest.raises(psycopg.OperationalError, match="timed out after 0.2 s"):
            await Connection.connect(f"host=127.0.0.1 port={port} user=x", timeout=0.2)


async def test_pgtrio_notifications_wait_cancel_and_arrive_during_queries(cluster):
    listener = await Connection.connect(cluster.dsn)
    sender = await Connection.connect(cluster.dsn)
    try:
        await listener.query("listen chan")
        with trio.move_on_after(0.05) as scope:
            await listener.notifies()
        assert scope.cancelled_caught
        assert await listener.query("select 3") == [("3",)]  # a cancelled wait is harmless
        await sender.query("notify chan, 'one'")
        await sender.query("notify chan, 'two'")
        await trio.sleep(0.1)
        await listener.query("select 4")  # both arrive while this runs
        with trio.fail_after(1):
            found = await listener.notifies()
        assert [n.extra for n in found] == [b"one", b"two"]
        with pytest.raises(psycopg.OperationalError, match="timed out"):
            await listener.query("select pg_sleep(5)", timeout=0.2)
        assert listener.closed  # out of step with the server: closed, not reused
        with pytest.raises(psycopg.OperationalError, match="closed"):
            await listener.query("select 1")
    finally:
        listener.close()
        sender.close()


# -- migrations --------------------------------------------------------------------------

async def test_concurrent_migrations_apply_each_file_once(store_dsn):
    conns = [await Connection.connect(store_dsn) for _ in range(6)]
    applied: list[list[str]] = []
    async with trio.open_nursery() as nursery:
        for conn in conns:
            async def run(conn=conn) -> None:
                applied.append(await migrate.migrate(conn))
            nursery.start_soon(run)
    for conn in conns:
        conn.close()
    names = [m.name for m in migrate.shipped()]
    assert sorted(applied, key=len) == [[]] * 5 + [names]
    rows = sql(store_dsn, "select name, sha256 from duckgres.schema_migrations order by 1")
    assert rows == [(m.name, m.sha256) for m in migrate.shipped()]


async def test_changed_or_unknown_migration_is_refused_by_name(store_dsn):
    conn = await Connection.connect(store_dsn)
    try:
        first = migrate.shipped()[0]
        extra = migrate.Migration(first.version + 900, "0901_extra.sql",
                                  "CREATE TABLE duckgres.extra (x int);")
        assert await migrate.migrate(conn, [first, extra]) == [first.name, extra.name]
        edited = migrate.Migration(extra.version, extra.name, extra.sql + "-- edited\n")
        with pytest.raises(migrate.MigrationError, match="0901_extra.sql was changed"):
            await migrate.migrate(conn, [first, edited])
        with pytest.raises(migrate.MigrationError, match="0901_extra.sql is applied but"):
            await migrate.migrate(conn, [first])
        # a failing migration leaves the store at the previous number
        broken = migrate.Migration(902, "0902_broken.sql", "CREATE TABLE duckgres.y (x int); nope;")
        with pytest.raises(psycopg.errors.SyntaxError):
            await migrate.migrate(conn, [first, extra, broken])
        assert await migrate.migrate(conn, [first, extra]) == []
    finally:
        conn.close()
    assert not sql(store_dsn, "select 1 from pg_tables where tablename = 'y'")


def test_two_servers_started_at_once_on_an_empty_store(store_dsn, start_server, tmp_path):
    """Migrations applied once; both register, both load the same organisations."""
    ports = [free_port(), free_port()]
    servers = []
    for i, port in enumerate(ports):
        servers.append(_server(start_server, tmp_path / f"d{i}", store_dsn, port, nowait=True))
    for server in servers:
        _wait_started(server)
    assert sql(store_dsn, "select count(*) from duckgres.schema_migrations")[0][0] == \
        len(migrate.shipped())
    rows = sql(store_dsn, "select port, draining from duckgres.control_planes order by 1")
    assert rows == sorted((s.port, False) for s in servers)
    ok(admin(store_dsn, "org", "create", "acme"))
    ok(admin(store_dsn, "user", "create", "acme", "alice", password="alice pw"))
    for port in ports:
        _until(lambda port=port: value(scrape(port), "duckgres_config_users") == 1, 1.0)
    for server in servers:  # both serve the organisation's user
        with psycopg.connect(server.dsn(user="alice", password="alice pw", dbname="acme"),
                             autocommit=True) as conn:
            assert conn.execute("select current_database()").fetchone() == ("acme",)
    # a stopped server says so in its row
    servers[0].stop()
    assert sql(store_dsn, "select draining, stopped_at is not null from duckgres.control_planes "
               "where port = %s", (servers[0].port,)) == [(True, True)]


def test_server_refuses_a_store_whose_applied_migration_changed(store_dsn, tmp_path):
    ok(admin(store_dsn, "org", "list"))  # migrates
    sql(store_dsn, "update duckgres.schema_migrations set sha256 = repeat('0', 64)")
    result = subprocess.run(
        [sys.executable, "-m", "duckgres_trio", "--data-dir", str(tmp_path / "d"),
         "--port", "0", "--metrics-address", "", "--config-store", store_dsn],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result
    assert "migration 0001_initial.sql was changed after it was applied" in result.stderr
    fails(admin(store_dsn, "org", "list", separate_process=True), "0001_initial.sql was changed")


def test_unreachable_store_at_start_stops_the_server(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "duckgres_trio", "--data-dir", str(tmp_path / "d"),
         "--port", "0", "--metrics-address", "",
         "--config-store", f"host=127.0.0.1 port={free_port()} user=x connect_timeout=2"],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("duckgres-trio: config store: connection failed"), result.stderr


# -- admin -------------------------------------------------------------------------------

def test_admin_orgs(store_dsn):
    assert ok(admin(store_dsn, "org", "create", "acme", "--hostname-alias", "acme-co",
                    "--max-connections", "5", "--worker-setting", "threads=2")) \
        == "organisation acme created (database acme)\n"
    ok(admin(store_dsn, "org", "create", "beta", "--database-name", "beta_dw",
             "--max-workers", "3", "--max-hot-idle-workers", "2"))
    orgs = json.loads(ok(admin(store_dsn, "org", "list", "--json")))
    assert orgs == [
        {"name": "acme", "database_name": "acme", "hostname_alias": "acme-co",
         "max_connections": 5, "max_workers": None, "disabled": False,
         "worker_settings": {"threads": "2"}, "users": 0, "max_hot_idle_workers": None},
        {"name": "beta", "database_name": "beta_dw", "hostname_alias": None,
         "max_connections": None, "max_workers": 3, "disabled": False,
         "worker_settings": {}, "users": 0, "max_hot_idle_workers": 2}]
    table = ok(admin(store_dsn, "org", "list")).splitlines()
    assert table[0].split() == ["name", "database_name", "hostname_alias", "max_connections",
                                "max_workers", "disabled", "worker_settings", "users",
                                "max_hot_idle_workers"]
    assert table[1].split() == ["acme", "acme", "acme-co", "5", "-", "no", "threads=2", "0",
                                "-"]

    ok(admin(store_dsn, "org", "update", "acme", "--hostname-alias", "", "--max-connections",
             "0", "--worker-setting", "threads=", "--worker-setting", "memory_limit=1GB"))
    ok(admin(store_dsn, "org", "disable", "beta"))
    orgs = {o["name"]: o for o in json.loads(ok(admin(store_dsn, "org", "list", "--json")))}
    assert orgs["acme"]["hostname_alias"] is None and orgs["acme"]["max_connections"] is None
    assert orgs["acme"]["worker_settings"] == {"memory_limit": "1GB"}
    assert orgs["beta"]["disabled"] is True
    ok(admin(store_dsn, "org", "update", "beta", "--max-hot-idle-workers", "0"))
    assert json.loads(ok(admin(store_dsn, "org", "list", "--json")))[1][
        "max_hot_idle_workers"] is None
    ok(admin(store_dsn, "org", "enable", "beta"))
    assert json.loads(ok(admin(store_dsn, "org", "list", "--json")))[1]["disabled"] is False

    fails(admin(store_dsn, "org", "create", "acme"), "organisation 'acme' already exists")
    fails(admin(store_dsn, "org", "create", "gamma", "--database-name", "beta_dw"),
          "database name 'beta_dw' belongs to another organisation")
    fails(admin(store_dsn, "org", "create", "Bad_Name"), "invalid organisation name 'Bad_Name'")
    fails(admin(store_dsn, "org", "create", "x", "--hostname-alias", "a.b"),
          "invalid hostname alias 'a.b'")
    fails(admin(store_dsn, "org", "update", "nope", "--max-workers", "1"), "no organisation 'nope'")
    fails(admin(store_dsn, "org", "update", "acme"), "nothing to change")
    fails(admin(store_dsn, "org", "update", "acme", "--database-name", "d" * 64),
          "the database name must have 1 to 63 characters")
    fails(admin(store_dsn, "org", "disable", "nope"), "no organisation 'nope'")
    ok(admin(store_dsn, "org", "delete", "beta"))
    fails(admin(store_dsn, "org", "delete", "beta"), "no organisation 'beta'")
    assert [o["name"] for o in json.loads(ok(admin(store_dsn, "org", "list", "--json")))] \
        == ["acme"]


def test_admin_users_and_secrets(store_dsn):
    ok(admin(store_dsn, "org", "create", "acme"))
    ok(admin(store_dsn, "org", "create", "beta"))
    ok(admin(store_dsn, "user", "create", "acme", "alice", password="first pw",
             separate_process=True))
    ok(admin(store_dsn, "user", "create", "beta", "alice", password="other pw"))
    ok(admin(store_dsn, "user", "create", "acme", "bob", "--max-connections", "2",
             password="bob pw"))
    _assert_password(store_dsn, "acme", "alice", "first pw")
    _assert_password(store_dsn, "beta", "alice", "other pw")
    ok(admin(store_dsn, "user", "passwd", "acme", "alice", password="second pw"))
    _assert_password(store_dsn, "acme", "alice", "second pw")
    _assert_password(store_dsn, "beta", "alice", "other pw")  # another organisation's user

    ok(admin(store_dsn, "user", "disable", "acme", "bob"))
    users = json.loads(ok(admin(store_dsn, "user", "list", "acme", "--json")))
    assert users == [
        {"name": "alice", "disabled": False, "max_connections": None, "secrets": 0,
         "verifier": "SCRAM-SHA-256"},
        {"name": "bob", "disabled": True, "max_connections": 2, "secrets": 0,
         "verifier": "SCRAM-SHA-256"}]
    ok(admin(store_dsn, "user", "enable", "acme", "bob"))

    # the store holds verifiers only: no password appears in any table read as text
    dump = sql(store_dsn, "select string_agg(t::text, '|') from duckgres.users t")[0][0]
    assert "SCRAM-SHA-256$4096:" in dump
    for password in ("first pw", "second pw", "other pw", "bob pw"):
        assert password not in dump  # "pw" alone can occur in a base64 salt

    # secrets: names only (the sealed value is never printed)
    sql(store_dsn, "insert into duckgres.user_secrets (org, user_name, name, sealed) values "
        "('acme', 'alice', 's3_main', %s), ('acme', 'alice', 'gcs', %s)",
        (b"\x01" + b"k" * 40, b"\x01" + b"k" * 40))
    secrets = json.loads(ok(admin(store_dsn, "secret", "list", "acme", "alice", "--json")))
    assert [s["name"] for s in secrets] == ["gcs", "s3_main"]
    assert set(secrets[0]) == {"name", "created_at"}
    assert "kkkk" not in ok(admin(store_dsn, "secret", "list", "acme", "alice"))
    assert ok(admin(store_dsn, "secret", "list", "acme", "bob")) == "(none)\n"

    fails(admin(store_dsn, "user", "create", "acme", "alice", password="x"),
          "user 'alice' already exists in organisation 'acme'")
    fails(admin(store_dsn, "user", "create", "nope", "alice", password="x"),
          "no organisation 'nope'")
    fails(admin(store_dsn, "user", "create", "acme", "carol", password=""),
          "empty password refused")
    fails(admin(store_dsn, "user", "create", "acme", "c" * 64, password="x"),
          "a user name must have 1 to 63 characters")
    fails(admin(store_dsn, "user", "passwd", "acme", "nobody", password="x"),
          "no user 'nobody' in organisation 'acme'")
    fails(admin(store_dsn, "user", "list", "nope"), "no organisation 'nope'")
    fails(admin(store_dsn, "secret", "list", "acme", "nobody"), "no user 'nobody'")

    ok(admin(store_dsn, "user", "delete", "acme", "alice"))  # and its secrets
    assert sql(store_dsn, "select count(*) from duckgres.user_secrets")[0][0] == 0
    ok(admin(store_dsn, "org", "delete", "beta"))  # and its users
    assert sql(store_dsn, "select org, name from duckgres.users") == [("acme", "bob")]


def test_admin_without_a_store_or_with_a_dead_one(tmp_path):
    result = subprocess.run([sys.executable, "-m", "duckgres_trio", "admin", "org", "list"],
                            capture_output=True, text=True, timeout=60,
                            env={k: v for k, v in os.environ.items()
                                 if k != "DUCKGRES_CONFIG_STORE"})
    assert result.returncode == 1 and "--config-store" in result.stderr
    fails(admin(f"host=127.0.0.1 port={free_port()} user=x", "org", "list",
                separate_process=True), "config store: connection failed")
    fails(admin(f"host=127.0.0.1 port={free_port()} user=x", "user", "create", "a", "b",
                password="pw", separate_process=True), "config store: connection failed")


def _assert_password(dsn: str, org: str, user: str, password: str) -> None:
    [(text,)] = sql(dsn, "select verifier from duckgres.users where org = %s and name = %s",
                    (org, user))
    verifier = scram.parse_verifier(text)
    assert isinstance(verifier, scram.ScramVerifier)
    stored, server = scram._scram_keys(password, verifier.salt, verifier.iterations)
    assert (stored, server) == (verifier.stored_key, verifier.server_key)


# -- the running snapshot --------------------------------------------------------------

async def test_snapshot_reloads_on_notify_within_a_second_and_by_polling(store_dsn):
    store = ConfigStore(store_dsn, poll_interval=0.5)
    await store.start()
    assert store.current().orgs == {}
    async with trio.open_nursery() as nursery:
        await nursery.start(store.run)
        started = time.monotonic()
        await trio.to_thread.run_sync(lambda: ok(admin(
            store_dsn, "org", "create", "acme", "--hostname-alias", "acme-co",
            "--worker-setting", "threads=2", separate_process=True)))
        written = time.monotonic()
        await _until_async(lambda: "acme" in store.current().orgs, 1.0)
        assert time.monotonic() - written < 1.0, time.monotonic() - started
        org = store.current().org_for_name("acme-co")
        assert org == Org("acme", "acme", "acme-co", None, None, False, {"threads": "2"})
        await trio.to_thread.run_sync(lambda: ok(admin(store_dsn, "user", "create", "acme",
                                                       "alice", password="pw")))
        await _until_async(lambda: store.current().user("acme", "alice") is not None, 1.0)
        assert store.current().user("acme", "alice").verifier.startswith("SCRAM-SHA-256$")
        await trio.to_thread.run_sync(lambda: ok(admin(store_dsn, "user", "disable", "acme",
                                                       "alice")))
        await _until_async(lambda: store.current().user("acme", "alice").disabled, 1.0)

        # a change made by hand, without NOTIFY: the poll finds it
        polls = server_metrics.config_reloads.labels("poll")._value.get()
        await trio.to_thread.run_sync(sql, store_dsn,
                                      "insert into duckgres.orgs (name, database_name) "
                                      "values ('quiet', 'quiet')")
        await _until_async(lambda: "quiet" in store.current().orgs, 2.0)
        assert server_metrics.config_reloads.labels("poll")._value.get() > polls
        nursery.cancel_scope.cancel()
    assert sql(store_dsn, "select draining, stopped_at is not null from "
               "duckgres.control_planes") == [(True, True)]


async def test_start_fails_clearly_on_a_database_that_is_not_a_store(cluster):
    store = ConfigStore(cluster.dsn.replace("dbname=postgres", "dbname=missing_db"), 1.0)
    with pytest.raises(StoreError, match='config store: connection failed.*"missing_db"'):
        await store.start()


def test_store_outage_keeps_the_snapshot_and_reloads_resume(cluster, start_server, tmp_path):
    dsn = fresh_database(cluster.dsn, "cs_outage")
    ok(admin(dsn, "org", "create", "acme"))
    ok(admin(dsn, "user", "create", "acme", "alice", password="alice pw"))
    server = _server(start_server, tmp_path / "d", dsn, free_port())
    assert value(scrape(server.metrics_port), "duckgres_config_orgs") == 1
    alice = server.dsn(user="alice", password="alice pw", dbname="acme")
    running = psycopg.connect(alice, autocommit=True)
    cluster.stop("immediate")
    try:
        _until(lambda: value(scrape(server.metrics_port), "duckgres_config_store_up") == 0, 5.0)
        time.sleep(3)  # several reconnect attempts fail meanwhile
        samples = scrape(server.metrics_port)
        assert value(samples, "duckgres_config_orgs") == 1  # the last snapshot serves
        assert value(samples, "duckgres_config_snapshot_age_seconds") >= 3
        assert server.proc.poll() is None
        # still serving clients: the running session, and a known user's new one
        assert running.execute("select 1").fetchone() == (1,)
        with psycopg.connect(alice, autocommit=True) as conn:
            assert conn.execute("select current_database()").fetchone() == ("acme",)
    finally:
        running.close()
        cluster.start()
    # backoff is at most 5 s, jittered up to 7.5 s
    _until(lambda: value(scrape(server.metrics_port), "duckgres_config_store_up") == 1, 15.0)
    # the control plane's row is beating again
    assert sql(dsn, "select heartbeat > started_at + interval '3 s', draining "
               "from duckgres.control_planes") == [(True, False)]
    ok(admin(dsn, "org", "create", "beta", separate_process=True))
    written = time.monotonic()
    _until(lambda: value(scrape(server.metrics_port), "duckgres_config_orgs") == 2, 1.0)
    assert time.monotonic() - written < 1.0
    log = server.log()
    assert log.count("config store unreachable") == 1, log  # once per outage
    assert log.count("config store: reachable again") == 1, log


# -- helpers ----------------------------------------------------------------------------

def _server(start_server, data_dir, dsn: str, metrics_port: int, *, nowait: bool = False):
    args = ("--config-store", dsn, "--metrics-address", f"127.0.0.1:{metrics_port}",
            "--min-workers", "0", "--log-level", "debug")
    if nowait:
        server = ServerProcess(data_dir, list(args))
        server.port = free_port()
        with open(server.log_path, "ab") as log:
            server.proc = subprocess.Popen(
                [sys.executable, "-m", "duckgres_trio", "--host", "127.0.0.1", "--port",
                 str(server.port), "--data-dir", str(data_dir), *args],
                stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ))
        _NOWAIT.append(server)
    else:
        server = start_server(*args, data_dir=data_dir)
    server.metrics_port = metrics_port
    if not nowait:
        _wait_started(server)
    return server


_NOWAIT: list = []


@pytest.fixture(autouse=True)
def _stop_nowait_servers():
    yield
    while _NOWAIT:
        server = _NOWAIT.pop()
        if server.proc.poll() is None:
            server.proc.kill()
            server.proc.wait()


def _wait_started(server) -> None:
    """Until the metrics endpoint answers (it starts just after the listener)."""
    _until(lambda: "metrics on http" in server.log() or server.proc.poll() is not None, 30.0)
    assert server.proc.poll() is None, server.log()


def _until(check, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"not within {seconds} s"
        time.sleep(0.02)


async def _until_async(check, seconds: float) -> None:
    with trio.fail_after(seconds):
        while not check():
            await trio.sleep(0.01)
