"""Many organisations on one server: routing by SNI or database, authentication per
organisation, each organisation's own files, engine, limits, gauges and log tags.

The organisations come from an in-memory snapshot (``tests/support/tenant_server.py``
stands in for the config store; the rest is the real server process). libpq sends
``host=`` as the TLS server name while ``hostaddr=`` says where to connect, so the
managed names need no DNS.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import threading
import time
from pathlib import Path

import psycopg
import pytest

from tests.conftest import ServerProcess, free_port
from tests.support.jdbc import JAR, compile_java
from tests.support.metrics import scrape, value
from tests.support.rawpg import RawClient, error_fields
from tests.test_scram import Client as ScramClient

LAUNCHER = str(Path(__file__).parent / "support" / "tenant_server.py")
SUFFIX = ".dw.example.test"
CONTROLPLANE = os.environ.get("DUCKGRES_MODE", "controlplane") == "controlplane"

ORGS = {
    "orgs": [
        {"name": "acme", "database_name": "acme_db"},
        {"name": "globex", "database_name": "globex_db", "hostname_alias": "gx"},
        {"name": "small", "database_name": "small_db", "max_connections": 2},
        {"name": "shut", "database_name": "shut_db", "disabled": True},
        {"name": "duo", "database_name": "duo_db", "max_workers": 1},
    ],
    "users": [
        {"org": "acme", "name": "alice", "password": "acme-pw"},
        {"org": "globex", "name": "alice", "password": "globex-pw"},
        {"org": "acme", "name": "carol", "password": "carol-pw", "disabled": True},
        {"org": "acme", "name": "solo", "password": "solo-pw", "max_connections": 1},
        {"org": "small", "name": "sam", "password": "small-pw"},
        {"org": "shut", "name": "alice", "password": "shut-pw"},
        {"org": "duo", "name": "dee", "password": "duo-pw"},
    ],
}


def start_tenant_server(tmp_path: Path, *args: str, spec: dict = ORGS) -> ServerProcess:
    spec_path = tmp_path / "tenants.json"
    spec_path.write_text(json.dumps(spec))
    server = ServerProcess(tmp_path / "data", list(args),
                           {"DUCKGRES_TEST_TENANTS": str(spec_path)},
                           program=(LAUNCHER,))
    return server.start()


@pytest.fixture(scope="module")
def tenants(tmp_path_factory):
    """passthrough routing, a metrics endpoint."""
    metrics_port = free_port()
    server = start_tenant_server(
        tmp_path_factory.mktemp("tenants"), "--sni-routing-mode", "passthrough",
        "--managed-hostname-suffixes", SUFFIX, "--metrics-address",
        f"127.0.0.1:{metrics_port}", "--worker-queue-timeout", "30s", "--max-workers", "6",
        "--auth-failure-limit", "0")
    server.metrics_port = metrics_port
    yield server
    code = server.stop()
    assert code == 0, server.log()


def connect(server: ServerProcess, user: str, password: str, dbname: str,
            host: str | None = None, **extra) -> psycopg.Connection:
    params = {"port": server.port, "user": user, "password": password, "dbname": dbname,
              "sslmode": "require", "connect_timeout": 20, "autocommit": True, **extra}
    if host is None:
        params["host"] = "127.0.0.1"
    else:
        params.update(host=host, hostaddr="127.0.0.1")
    return psycopg.connect(**params)


def refusal(server: ServerProcess, *args, **kwargs) -> str:
    with pytest.raises(psycopg.OperationalError) as info:
        connect(server, *args, **kwargs).close()
    return str(info.value)


# -- isolation --------------------------------------------------------------------------


def test_same_user_name_in_two_organisations_sees_only_its_own(tenants):
    with connect(tenants, "alice", "acme-pw", "acme_db") as acme, \
            connect(tenants, "alice", "globex-pw", "globex_db") as globex:
        acme.execute("CREATE TABLE acme_secrets (x int)")
        globex.execute("CREATE TABLE globex_secrets (y int)")
        tables = "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        assert acme.execute(tables).fetchall() == [("acme_secrets",)]
        assert globex.execute(tables).fetchall() == [("globex_secrets",)]
        with pytest.raises(psycopg.errors.UndefinedTable):
            globex.execute("SELECT * FROM acme_secrets")
        assert acme.execute("SELECT datname FROM pg_database").fetchall() == [("acme_db",)]
        # pg_stat_activity and the signal functions reach the organisation's own only
        acme_pid = acme.info.backend_pid
        seen = globex.execute("SELECT pid FROM pg_stat_activity").fetchall()
        assert (acme_pid,) not in seen and (globex.info.backend_pid,) in seen
        assert globex.execute("SELECT pg_terminate_backend(%s)", [acme_pid]).fetchone() == (False,)
        assert acme.execute("SELECT 1").fetchone() == (1,)
        roles = {r for (r,) in acme.execute("SELECT rolname FROM pg_roles")}
        assert "alice" in roles and "solo" in roles and "sam" not in roles


def test_notifications_stay_within_the_organisation(tenants):
    """acme and globex both have a database "shared": a NOTIFY on one organisation's
    reaches its own listeners only."""
    conns = [connect(tenants, "alice", pw, "shared", host=f"{org}{SUFFIX}")
             for org, pw in (("acme", "acme-pw"), ("globex", "globex-pw"), ("acme", "acme-pw"))]
    acme, globex, acme2 = conns
    try:
        for conn in conns:
            conn.execute("LISTEN news")
        globex.execute("NOTIFY news, 'from globex'")
        acme2.execute("NOTIFY news, 'from acme'")
        got = {}
        for name, conn in (("acme", acme), ("globex", globex)):
            conn.execute("SELECT 1")  # notifications arrive with the next reply
            got[name] = [n.payload for n in conn.notifies(timeout=0.5, stop_after=2)]
        assert got == {"acme": ["from acme"], "globex": ["from globex"]}
    finally:
        for conn in conns:
            conn.close()


def test_files_outside_the_organisation_directory_are_out_of_reach(tenants):
    orgs = tenants.data_dir / "orgs"
    with connect(tenants, "alice", "acme-pw", "acme_db") as acme, \
            connect(tenants, "alice", "globex-pw", "globex_db") as globex:
        own = orgs / "globex" / "mine.csv"
        globex.execute(f"COPY (SELECT 42 AS v) TO '{own}' (HEADER)")
        assert globex.execute(f"SELECT v FROM read_csv('{own}')").fetchall() == [(42,)]
        for path in (own, orgs / "acme" / ".." / "globex" / "mine.csv",
                     tenants.data_dir / "server.crt", "/etc/passwd"):
            with pytest.raises(psycopg.Error, match="(?i)permission|not allowed|disabled"):
                acme.execute(f"SELECT * FROM read_text('{path}')")
        with pytest.raises(psycopg.Error):
            acme.execute(f"COPY (SELECT 1) TO '{orgs / 'globex' / 'planted.csv'}'")
        assert not (orgs / "globex" / "planted.csv").exists()
        for sql in ("SET enable_external_access = true",
                    f"SET allowed_directories = ['{tenants.data_dir}/']",
                    f"ATTACH '{orgs / 'globex' / 'globex_db.duckdb'}' AS other"):
            with pytest.raises(psycopg.Error):
                acme.execute(sql)


# -- authentication -------------------------------------------------------------------


def scram_attempt(port: int, user: str, database: str, password: str):
    """A full SCRAM exchange by hand: (the server-first's salt and iterations, the
    message types seen, the final error's severity, code and message)."""
    client = RawClient(port)
    client.startup(user=user, database=database)
    kind, body = client.receive()
    assert kind == b"R" and struct.unpack("!i", body[:4])[0] == 10  # AuthenticationSASL
    scram = ScramClient(password)
    first = scram.first()
    client.message(b"p", b"SCRAM-SHA-256\0" + struct.pack("!i", len(first)) + first)
    kind, body = client.receive()
    assert kind == b"R" and struct.unpack("!i", body[:4])[0] == 11  # SASLContinue
    server_first = body[4:]
    attrs = dict(item.split("=", 1) for item in server_first.decode().split(","))
    client.message(b"p", scram.final(server_first))
    messages = client.until(b"E")
    fields = error_fields(messages[-1][1])
    assert client.closed()
    return (attrs["s"], attrs["i"]), b"".join(k for k, _ in messages), \
        (fields["S"], fields["C"], fields["M"])


def test_every_login_failure_is_the_same_28p01_exchange(tenants):
    failures = {
        "wrong password": ("alice", "acme_db", "nope"),
        "other organisation's password": ("alice", "acme_db", "globex-pw"),
        "unknown user": ("mallory", "acme_db", "acme-pw"),
        "unknown organisation": ("alice", "initech_db", "acme-pw"),
        "disabled user": ("carol", "acme_db", "carol-pw"),
        "disabled organisation": ("alice", "shut_db", "shut-pw"),
    }
    outcomes = {}
    for kind, (user, database, password) in failures.items():
        salt, seen, error = scram_attempt(tenants.port, user, database, password)
        assert seen == b"E", kind  # nothing but the error after the client's proof
        assert error == ("FATAL", "28P01", f'password authentication failed for user "{user}"')
        outcomes[kind] = salt
        # a second attempt sees the same salt: existing or not cannot be told apart
        assert scram_attempt(tenants.port, user, database, password)[0] == salt, kind
    assert all(iterations == "4096" for _, iterations in outcomes.values())
    message = refusal(tenants, "alice", "acme-pw", "globex_db")
    assert 'FATAL:  password authentication failed for user "alice"' in message
    log = tenants.log()
    assert "is disabled" in log and "no organisation has database 'initech_db'" in log


# -- routing by SNI ---------------------------------------------------------------------


def test_passthrough_routes_by_managed_name_or_by_database(tenants):
    for host in (f"gx{SUFFIX}", f"GLOBEX{SUFFIX}"):  # alias or name, any case
        with connect(tenants, "alice", "globex-pw", "globex_db", host=host) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == ("globex_db",)
    # the database selects within the organisation the name gave
    with connect(tenants, "alice", "globex-pw", "reports", host=f"gx{SUFFIX}") as conn:
        assert conn.execute("SELECT current_database()").fetchone() == ("reports",)
    assert (tenants.data_dir / "orgs" / "globex" / "reports.duckdb").exists()
    # an unmanaged name routes by the database
    with connect(tenants, "alice", "acme-pw", "acme_db", host="localhost") as conn:
        assert conn.execute("SELECT current_database()").fetchone() == ("acme_db",)
    # a managed name must agree with the database's organisation
    assert "password authentication failed" in refusal(
        tenants, "alice", "globex-pw", "globex_db", host=f"acme{SUFFIX}")
    message = refusal(tenants, "alice", "acme-pw", "acme_db", host=f"a.acme{SUFFIX}")
    assert f'FATAL:  server name "a.acme{SUFFIX}" does not name one organisation' in message


def test_enforce_refuses_connections_without_a_managed_name(tmp_path):
    server = start_tenant_server(tmp_path, "--sni-routing-mode", "enforce",
                                 "--managed-hostname-suffixes", SUFFIX.lstrip("."),
                                 "--metrics-address", "")
    try:
        for host in (None, "localhost"):
            message = refusal(server, "alice", "acme-pw", "acme_db", host=host)
            assert "FATAL:  this server routes connections by TLS server name" in message
            assert f"host <organisation>{SUFFIX}" in message
        raw = RawClient(server.port)  # no SNI: FATAL 08006 before any authentication
        raw.startup(user="alice", database="acme_db")
        fields = error_fields(raw.until(b"E")[-1][1])
        assert (fields["S"], fields["C"]) == ("FATAL", "08006")
        with connect(server, "alice", "acme-pw", "acme_db", host=f"acme{SUFFIX}") as conn:
            assert conn.execute("SELECT current_database()").fetchone() == ("acme_db",)
        assert "does not name one organisation" in refusal(
            server, "alice", "acme-pw", "acme_db", host=f"x.acme{SUFFIX}")
        assert "does not name one organisation" in refusal(
            server, "alice", "acme-pw", "acme_db", host=SUFFIX.lstrip("."))
    finally:
        assert server.stop() == 0, server.log()


def test_off_lets_the_database_decide_whatever_the_name(tmp_path):
    server = start_tenant_server(tmp_path, "--managed-hostname-suffixes", SUFFIX,
                                 "--metrics-address", "")
    try:
        for host in (f"acme{SUFFIX}", f"a.b{SUFFIX}", None):
            with connect(server, "alice", "globex-pw", "globex_db", host=host) as conn:
                assert conn.execute("SELECT current_database()").fetchone() == ("globex_db",)
    finally:
        assert server.stop() == 0, server.log()


# -- limits -----------------------------------------------------------------------------


def test_a_full_organisation_does_not_hold_up_another(tenants):
    """small is at its max_connections with 50 more of its connections arriving
    (queued in the control plane, in order, until its sessions end; refused 53300
    standalone): acme's user still gets in within a second."""
    connect(tenants, "alice", "acme-pw", "acme_db").close()  # its worker is up: not timed
    held = [connect(tenants, "sam", "small-pw", "small_db") for _ in range(2)]
    outcomes: list[str] = []

    def overflow() -> None:
        try:
            connect(tenants, "sam", "small-pw", "small_db").close()
            outcomes.append("connected")
        except psycopg.OperationalError as exc:
            outcomes.append(str(exc))

    threads = [threading.Thread(target=overflow) for _ in range(50)]
    try:
        for thread in threads:
            thread.start()

        def all_in() -> bool:  # all 50 are waiting in the server (or were refused)
            if not CONTROLPLANE:
                return len(outcomes) == 50
            return value(scrape(tenants.metrics_port), "duckgres_org_waiting", org="small") == 50

        deadline = time.monotonic() + 60
        while not all_in():
            assert time.monotonic() < deadline, "the 50 did not arrive"
            time.sleep(0.05)
        # timed from here: the test's own 50 clients are parked, not competing with it
        started = time.monotonic()
        with connect(tenants, "alice", "acme-pw", "acme_db") as acme:
            assert acme.execute("SELECT 1").fetchone() == (1,)
        assert time.monotonic() - started < 1.0
        if CONTROLPLANE:
            samples = scrape(tenants.metrics_port)
            assert value(samples, "duckgres_org_waiting", org="small") == 50
            assert value(samples, "duckgres_org_connections", org="small") == 52
            assert not outcomes
    finally:
        for conn in held:
            conn.close()
        for thread in threads:
            thread.join(60)
    assert len(outcomes) == 50
    if CONTROLPLANE:  # each got in as the one before it left
        assert outcomes == ["connected"] * 50, outcomes[:3]
    else:
        assert all('too many connections for organisation "small"' in o
                   for o in outcomes), outcomes[:3]
    with connect(tenants, "sam", "small-pw", "small_db") as again:  # room once more
        assert again.execute("SELECT 1").fetchone() == (1,)


def test_an_organisation_at_its_worker_share_waits_alone(tenants):
    """duo may hold one worker: its second database waits for the first one's worker
    (retired once idle: a worker never opens a second database, so never serves
    another); acme meanwhile connects at once."""
    worker = "SELECT worker FROM pg_stat_activity WHERE pid = pg_backend_pid()"
    connect(tenants, "alice", "acme-pw", "acme_db").close()  # opened before the clock runs
    duo = f"duo{SUFFIX}"
    first = connect(tenants, "dee", "duo-pw", "duo_db", host=duo)
    first_worker = first.execute(worker).fetchone()[0]
    second: list = []
    waiter = threading.Thread(
        target=lambda: second.append(connect(tenants, "dee", "duo-pw", "duo_other", host=duo)))
    waiter.start()
    try:
        waiter.join(1.5)
        if CONTROLPLANE:  # standalone has no workers to wait for: it just connects
            assert waiter.is_alive()
        started = time.monotonic()
        with connect(tenants, "alice", "acme-pw", "acme_db") as acme:
            acme_worker = acme.execute(worker).fetchone()[0]
        # not behind duo (which waits until its session below ends); loose: the
        # machine may be loaded, and the 1 s bound is the test above's
        assert time.monotonic() - started < 5.0
    finally:
        first.close()
        waiter.join(30)
    assert len(second) == 1
    with second[0] as conn:
        assert conn.execute("SELECT current_database()").fetchone() == ("duo_other",)
        second_worker = conn.execute(worker).fetchone()[0]
    if CONTROLPLANE:
        assert len({first_worker, second_worker, acme_worker}) == 3
    else:
        assert first_worker is second_worker is acme_worker is None


def test_user_connection_limit(tenants):
    with connect(tenants, "solo", "solo-pw", "acme_db"):
        assert 'too many connections for role "solo"' in refusal(
            tenants, "solo", "solo-pw", "acme_db")
    with connect(tenants, "solo", "solo-pw", "acme_db"):
        pass


# -- observability ----------------------------------------------------------------------


def test_gauges_and_log_lines_name_the_organisation(tenants):
    with connect(tenants, "alice", "globex-pw", "globex_db") as conn:
        conn.execute("SELECT 1")
        samples = scrape(tenants.metrics_port)
        assert value(samples, "duckgres_org_connections", org="globex") >= 1
        if CONTROLPLANE:
            assert value(samples, "duckgres_org_workers", org="globex") >= 1
    assert any("org=globex" in line and "user=alice" in line
               for line in tenants.log().splitlines())


# -- tools ------------------------------------------------------------------------------


def test_psql_and_pgbench_through_an_organisation(tenants):
    env = {**os.environ, "PGPASSWORD": "globex-pw", "PGSSLMODE": "require",
           "PGHOSTADDR": "127.0.0.1"}
    common = ["-h", f"gx{SUFFIX}", "-p", str(tenants.port), "-U", "alice"]
    result = subprocess.run(["psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", *common,
                             "-d", "bench", "-c", "SELECT current_database()"],
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "bench\n"
    for args in (["-i", "-s", "1"], ["-n", "-S", "-t", "50", "-c", "2"]):
        result = subprocess.run(["pgbench", *args, *common, "bench"], env=env,
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr
    assert "number of transactions actually processed: 100/100" in result.stdout
    assert (tenants.data_dir / "orgs" / "globex" / "bench.duckdb").exists()


def test_pgjdbc_through_an_organisation(tenants, tmp_path):
    """pgjdbc (no hostaddr: it resolves the host it sends as SNI) routes by database."""
    classes = compile_java(Path(__file__).parent / "java" / "TenantJdbc.java", tmp_path)
    url = f"jdbc:postgresql://127.0.0.1:{tenants.port}/acme_db?sslmode=require"
    proc = subprocess.run(["java", "-cp", f"{classes}:{JAR}", "TenantJdbc", url, "alice",
                           "acme-pw", "globex-pw"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "database acme_db user alice", "batch 3", "row item2", "row item3",
        "table jdbc_items", "other password 28P01"]
    with connect(tenants, "alice", "globex-pw", "globex_db") as globex:
        with pytest.raises(psycopg.errors.UndefinedTable):
            globex.execute("SELECT * FROM jdbc_items")


# -- with the real config store -----------------------------------------------------------


def test_admin_changes_reach_logins_within_a_second(tmp_path):
    """On a running server with a config store: a new organisation's new user connects
    within 1 s of `admin user create`; after `admin user disable` new connections are
    refused (the same 28P01) and the session already open runs on."""
    from tests.support.config_store import admin, ok
    from tests.support.pg15 import fresh_database, pg15_cluster

    with pg15_cluster() as cluster:
        dsn = fresh_database(cluster.dsn, "tenancy_admin")
        server = ServerProcess(tmp_path / "data", ["--config-store", dsn, "--metrics-address",
                                                   "", "--min-workers", "0"]).start()
        try:
            ok(admin(dsn, "org", "create", "initech"))
            ok(admin(dsn, "user", "create", "initech", "peter", password="tps report"))
            peter = server.dsn(user="peter", password="tps report", dbname="initech")
            written = time.monotonic()
            while True:
                try:
                    session = psycopg.connect(peter, autocommit=True)
                    break
                except psycopg.OperationalError as exc:
                    assert "password authentication failed" in str(exc)
                    assert time.monotonic() - written < 1.0, "not within 1 s"
                    time.sleep(0.02)
            assert session.execute("SELECT current_database()").fetchone() == ("initech",)
            assert (tmp_path / "data" / "orgs" / "initech" / "initech.duckdb").exists()
            ok(admin(dsn, "user", "disable", "initech", "peter"))
            written = time.monotonic()
            while True:
                try:
                    psycopg.connect(peter).close()
                except psycopg.OperationalError as exc:
                    assert 'password authentication failed for user "peter"' in str(exc)
                    break
                assert time.monotonic() - written < 1.0, "not within 1 s"
                time.sleep(0.02)
            assert session.execute("SELECT 42").fetchone() == (42,)  # runs on
            session.close()
        finally:
            assert server.stop() == 0, server.log()


# -- routing and queueing, without a server ---------------------------------------------


def test_route_in_each_mode():
    from duckgres_trio.errors import PgError
    from duckgres_trio.tenancy import routing
    from duckgres_trio.tenancy.directory import Org, Snapshot

    def org(name, alias=None):
        return Org(name=name, database_name=f"{name}_db", hostname_alias=alias,
                   max_connections=None, max_workers=None, disabled=False, worker_settings={})

    acme, globex = org("acme", "a1"), org("globex")
    snap = Snapshot(orgs={"acme": acme, "globex": globex}, users={}, loaded_at=0.0)
    suffixes = routing.normalise_suffixes(["dw.example.com", " .DW.Other.org. "])
    assert suffixes == (".dw.example.com", ".dw.other.org")

    def route(mode, name, database):
        return routing.route(snap, mode=mode, suffixes=suffixes, server_name=name,
                             database=database, user="u")

    for mode in routing.MODES:
        for bad in ("x.acme.dw.example.com", "dw.example.com"):
            if mode == "off":
                assert route(mode, bad, "acme_db").org is acme
                continue
            with pytest.raises(PgError) as info:
                route(mode, bad, "acme_db")
            assert (info.value.sqlstate, info.value.severity) == ("08006", "FATAL")
    assert route("off", "globex.dw.example.com", "acme_db").org is acme
    assert route("passthrough", "A1.dw.other.org.", None) == routing.Route(acme, "acme_db", "a1")
    assert route("passthrough", "acme.dw.example.com", "scratch").database == "scratch"
    assert route("passthrough", "acme.dw.example.com", "globex_db").org is None
    assert route("passthrough", "nobody.dw.example.com", "acme_db").org is None
    assert route("passthrough", "db.internal", "globex_db").org is globex
    assert route("passthrough", None, "nope").org is None
    assert route("enforce", "globex.dw.example.com", None).org is globex
    for name in (None, "db.internal"):
        with pytest.raises(PgError) as info:
            route("enforce", name, "acme_db")
        assert info.value.sqlstate == "08006"
        assert "<organisation>.dw.example.com" in info.value.message


def test_slots_queue_in_order_and_follow_their_size():
    import trio
    import trio.testing

    from duckgres_trio.tenancy.slots import Slots

    size = [1]
    slots = Slots(lambda: size[0])
    order: list[int] = []

    async def take(i: int) -> None:
        await slots.acquire()
        order.append(i)

    async def main() -> None:
        await slots.acquire()
        async with trio.open_nursery() as nursery:
            for i in range(3):
                nursery.start_soon(take, i)
                await trio.testing.wait_all_tasks_blocked()
            assert slots.waiting == 3 and order == []
            slots.release()  # handed to the first waiter, not to a newcomer
            await trio.testing.wait_all_tasks_blocked()
            assert order == [0] and slots.used == 1
            size[0] = 3  # grown: the next acquire or release lets the rest in
            slots.release()  # 0 leaves
            await trio.testing.wait_all_tasks_blocked()
            assert sorted(order) == [0, 1, 2] and slots.used == 2
            slots.release()
            slots.release()
        assert slots.used == 0 and slots.waiting == 0

    trio.run(main)
