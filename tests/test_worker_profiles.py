"""Worker profiles and vCPU admission (issue 23, "Reuse and sizing"; docs/scale-out.md).

One PostgreSQL 15 holds the DuckLake catalog and the config store. The mode is
DUCKGRES_MODE's: in control-plane mode a profile sizes the session's worker (DuckDB
threads and memory_limit) and is part of the key under which a worker is reused; in
standalone mode the sessions of a database share one DuckDB instance, so a profile is
validated, clamped and shown but changes nothing, and no vCPUs are counted (the
max_vcpus tests are control-plane servers whatever DUCKGRES_MODE says).
"""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import threading
import time
from pathlib import Path

import asyncpg
import psycopg
import pytest

from tests.conftest import ServerProcess
from tests.support.pg15 import fresh_database, pg15_cluster

CONTROLPLANE = os.environ.get("DUCKGRES_MODE", "controlplane") == "controlplane"
LAUNCHER = str(Path(__file__).parent / "support" / "tenant_server.py")


@pytest.fixture(scope="module")
def cluster():
    with pg15_cluster() as cluster:
        yield cluster


@pytest.fixture(scope="module")
def srv(tmp_path_factory, cluster):
    """One tenant, DuckLake storage, clients may choose profiles within 1-2 vCPUs and
    256MiB-1GiB."""
    catalog = fresh_database(cluster.dsn, "profiles_lake")
    root = tmp_path_factory.mktemp("profiles")
    server = ServerProcess(root / "data", [
        "--storage", "ducklake", "--ducklake-catalog", catalog, "--min-workers", "0",
        "--allow-client-worker-profile", "true", "--worker-cpu-max", "2",
        "--worker-memory-max", "1GiB", "--worker-ttl-max", "1m",
        "--max-workers-per-database", "1", "--metrics-address", ""]).start()
    yield server
    server.stop()


def _options(**profile: str) -> str:
    return " ".join(f"-c duckgres.worker_{k}={v}" for k, v in profile.items())


def _connect(server, **profile: str):
    return psycopg.connect(server.dsn(options=_options(**profile)), autocommit=True)


def _refused(server, *, user: str = "postgres", password: str = "postgres",
             database: str = "postgres", **profile: str) -> asyncpg.PostgresError:
    """The error a connection attempt gets, with its fields (asyncpg reads them from
    the FATAL ErrorResponse; it sends the profile as startup parameters)."""
    async def attempt() -> None:
        ctx = ssl.create_default_context()
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
        conn = await asyncpg.connect(
            host="127.0.0.1", port=server.port, user=user, password=password,
            database=database, ssl=ctx, timeout=30,
            server_settings={f"duckgres.worker_{k}": v for k, v in profile.items()})
        await conn.close()

    with pytest.raises(asyncpg.PostgresError) as info:
        asyncio.run(attempt())
    return info.value


def _shown(conn) -> tuple[str, str, str]:
    return conn.execute("SELECT current_setting('duckgres.worker_cpu'), "
                        "current_setting('duckgres.worker_memory'), "
                        "current_setting('duckgres.worker_ttl')").fetchone()


def _duckdb(conn) -> tuple[str, str]:
    """The worker's DuckDB settings (current_setting('threads') reads as DuckDB types it)."""
    return tuple(map(str, conn.execute("SELECT current_setting('threads'), "
                                       "current_setting('memory_limit')").fetchone()))


@pytest.mark.mode_independent
def test_profile_precedence_and_clamps():
    """Deployment defaults < the organisation's < the client's, then clamped."""
    from types import SimpleNamespace

    from duckgres_trio.engine.profiles import Limits, Profile, resolve
    from duckgres_trio.errors import PgError

    limits = Limits(allow_client=True, cpu=2, memory=0, ttl=300, cpu_min=1, cpu_max=4,
                    memory_min=256 << 20, memory_max=4 << 30, ttl_max=600)
    org = SimpleNamespace(worker_cpu=3, worker_memory=1 << 30, worker_ttl=None)
    assert resolve(limits, {}) == Profile(2, 0, 300)
    assert resolve(limits, {}, org) == Profile(3, 1 << 30, 300)
    asked = {"duckgres.worker_cpu": "1", "duckgres.worker_ttl": "0"}
    assert resolve(limits, asked, org) == Profile(1, 1 << 30, 1.0)  # a TTL is >= 1 s
    asked = {"duckgres.worker_cpu": "99", "duckgres.worker_memory": "1000GB",
             "duckgres.worker_ttl": "1h"}
    assert resolve(limits, asked, org) == Profile(4, 4 << 30, 600)
    assert resolve(limits, {"duckgres.worker_memory": "1000001"}).memory == 256 << 20
    assert resolve(limits, {"duckgres.worker_memory": "300MB"}).memory == 286 << 20
    with pytest.raises(PgError) as info:
        resolve(Limits(), {"duckgres.worker_memory": "1GB"})
    assert (info.value.sqlstate, info.value.severity) == ("42501", "FATAL")
    assert resolve(Limits(), {"duckgres.worker_memory": ""}) == Profile(1, 0, 300)


def test_profile_options_honoured_clamped_and_shown(srv):
    with _connect(srv, cpu="1", memory="512MiB", ttl="20s") as conn:
        assert _shown(conn) == ("1", "512MiB", "20s")
        assert conn.execute("SHOW duckgres.worker_cpu").fetchone() == ("1",)
        with pytest.raises(psycopg.errors.CantChangeRuntimeParam,
                           match="cannot be set after connection start"):
            conn.execute("SET duckgres.worker_cpu = 2")
        with pytest.raises(psycopg.errors.CantChangeRuntimeParam):
            conn.execute("SELECT set_config('duckgres.worker_ttl', '1s', false)")
        deployment = _duckdb(conn)
        if CONTROLPLANE:
            assert deployment == ("1", "512.0 MiB")
    # clamped to the deployment's range, not refused
    with _connect(srv, cpu="64", memory="64GB", ttl="2h") as conn:
        assert _shown(conn) == ("2", "1024MiB", "60s")
        if CONTROLPLANE:
            assert _duckdb(conn) == ("2", "1.0 GiB")
    with _connect(srv, cpu="0", memory="1MB") as conn:
        assert _shown(conn)[:2] == ("1", "256MiB")
        if CONTROLPLANE:
            assert _duckdb(conn) == ("1", "256.0 MiB")
    # no options: the deployment's default (threads as before: all cores, here 2)
    with psycopg.connect(srv.dsn(), autocommit=True) as conn:
        assert _shown(conn) == (str(min(2, os.cpu_count() or 1)), "", "60s")
        if not CONTROLPLANE:
            assert _duckdb(conn) == deployment  # standalone: profiles change nothing


@pytest.mark.parametrize("name, value", [("cpu", "two"), ("cpu", "1.5"), ("memory", "lots"),
                                         ("memory", "-1GB"), ("ttl", "soon"),
                                         ("ttl", "x" * 100)])
def test_malformed_profile_values_are_fatal_22023(srv, name, value):
    err = _refused(srv, **{name: value})
    assert (err.sqlstate, err.severity) == ("22023", "FATAL")
    assert err.message.startswith(f'invalid value for parameter "duckgres.worker_{name}"')
    if name == "cpu":  # and by way of PGOPTIONS
        with pytest.raises(psycopg.OperationalError, match="invalid value for parameter"):
            psycopg.connect(srv.dsn(options=f"-c duckgres.worker_cpu={value}"))


def test_profile_is_part_of_the_reuse_key(srv):
    """A worker left hot-idle is reused for the same profile, never for another."""
    def worker(**profile: str) -> tuple[int, str]:
        with _connect(srv, **profile) as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS t (i int)")
            pid, threads = conn.execute("SELECT duckgres_worker(), "
                                        "current_setting('threads')").fetchone()
            return pid, str(threads)

    first = worker(cpu="1")
    assert worker(cpu="1") == first  # hot-idle reuse
    other = worker(cpu="2")
    if CONTROLPLANE:
        assert other[0] != first[0] and other[1] == "2"
        assert worker(cpu="1") == first  # the first is still there, still its profile
    else:
        assert other[0] == first[0]  # one process: the server's


# -- admission: max_vcpus --------------------------------------------------------------


def _hold(dsn: str, seconds: float, opened: list, refused: list) -> None:
    """Connect, hold the session ``seconds``, close; record when it was open."""
    try:
        conn = psycopg.connect(dsn, autocommit=True, connect_timeout=30)
    except psycopg.OperationalError as exc:
        refused.append(exc)
        return
    began = time.monotonic()
    time.sleep(seconds)
    ended = time.monotonic()
    conn.close()
    opened.append((began, ended))


def _most_at_once(intervals: list[tuple[float, float]]) -> int:
    events = sorted([(b, 1) for b, _ in intervals] + [(e, -1) for _, e in intervals])
    most = now = 0
    for _, step in events:
        now += step
        most = max(most, now)
    return most


@pytest.mark.controlplane_only
def test_max_vcpus_in_memory_without_a_config_store(tmp_path):
    """No store (one process): the same limit, counted in memory; 53400 for a profile
    that can never fit (here the organisation's own default), 53300 with a retry hint
    when the queue's deadline passes. Clients may not choose profiles here: 42501."""
    spec = {"orgs": [{"name": "acme", "database_name": "acme", "max_vcpus": 2,
                      "worker_cpu": 1},
                     {"name": "big", "database_name": "big", "max_vcpus": 2,
                      "worker_cpu": 3}],
            "users": [{"org": "acme", "name": "alice", "password": "pw"},
                      {"org": "big", "name": "bob", "password": "pw"}]}
    (tmp_path / "tenants.json").write_text(json.dumps(spec))
    server = ServerProcess(tmp_path / "data", [
        "--mode", "controlplane", "--min-workers", "1", "--worker-queue-timeout", "8s",
        "--metrics-address", "",
        "--worker-cpu-max", "8"],
        {"DUCKGRES_TEST_TENANTS": str(tmp_path / "tenants.json")},
        program=(LAUNCHER,)).start()
    dsn = server.dsn(user="alice", password="pw", dbname="acme")
    alice = {"user": "alice", "password": "pw", "database": "acme"}
    try:
        err = _refused(server, **alice, cpu="1")
        assert (err.sqlstate, err.severity) == ("42501", "FATAL")
        assert err.message == 'permission denied to set parameter "duckgres.worker_cpu"'
        held = [psycopg.connect(dsn, autocommit=True) for _ in range(2)]
        assert held[0].execute("SHOW duckgres.worker_ttl").fetchone() == ("5m",)
        err = _refused(server, **alice)
        assert (err.sqlstate, err.severity) == ("53300", "FATAL")
        assert "too many vCPUs in use" in err.message
        assert err.hint.startswith("Retry after 2 s")
        err = _refused(server, user="bob", password="pw", database="big")
        assert (err.sqlstate, err.severity) == ("53400", "FATAL")
        assert "needs 3 vCPUs" in err.message and "max_vcpus 2" in err.message
        held.pop().close()  # a vCPU is free again
        psycopg.connect(dsn, autocommit=True).close()
        for conn in held:
            conn.close()
    finally:
        server.stop()


@pytest.mark.controlplane_only
def test_max_vcpus_holds_across_two_control_planes(cluster, tmp_path):
    """20 concurrent attempts on two control planes sharing a config store, an
    organisation with max_vcpus 4 and a default profile of 1 vCPU: never more than 4
    sessions open at once; the rest get 53300 when the queue's deadline passes. A dead
    control plane's reservation does not count."""
    store = fresh_database(cluster.dsn, "profiles_store")
    servers = [ServerProcess(tmp_path / f"cp{i}", [
        "--mode", "controlplane", "--config-store", store, "--min-workers", "1",
        "--worker-queue-timeout", "5s",
        "--metrics-address", "", "--allow-client-worker-profile", "true",
        "--worker-cpu-max", "8"]) for i in range(2)]
    try:
        starting = [threading.Thread(target=server.start) for server in servers]
        for thread in starting:  # side by side: each spawns its spare worker
            thread.start()
        for thread in starting:
            thread.join()
        assert all(server.proc.poll() is None for server in servers)
        from tests.support.config_store import admin, ok
        ok(admin(store, "org", "create", "acme", "--max-vcpus", "4", "--worker-cpu", "1"))
        ok(admin(store, "user", "create", "acme", "alice", password="pw"))
        with psycopg.connect(store, autocommit=True) as conn:  # a control plane long dead
            conn.execute("INSERT INTO duckgres.control_planes (id, host, pid, port, version, "
                         "stopped_at) VALUES ('dead', 'h', 1, 1, 'v', now())")
            conn.execute("INSERT INTO duckgres.vcpu_reservations (org, control_plane, vcpus) "
                         "VALUES ('acme', 'dead', 4)")
        dsns = [s.dsn(user="alice", password="pw", dbname="acme") for s in servers]
        deadline = time.monotonic() + 60
        while True:  # both have loaded the organisation and activated a worker
            try:
                for dsn in dsns:
                    psycopg.connect(dsn, autocommit=True).close()
                break
            except psycopg.OperationalError:
                assert time.monotonic() < deadline
                time.sleep(0.2)
        err = _refused(servers[0], user="alice", password="pw", database="acme", cpu="5")
        assert (err.sqlstate, err.severity) == ("53400", "FATAL")
        opened: list = []
        refused: list = []
        threads = [threading.Thread(target=_hold, args=(dsns[i % 2], 2.0, opened, refused))
                   for i in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(opened) + len(refused) == 20
        assert _most_at_once(opened) <= 4, opened
        assert len(opened) >= 4
        assert refused, opened  # psycopg does not read a connection's error fields
        assert all("too many vCPUs in use" in str(e) for e in refused), refused
        with psycopg.connect(store, autocommit=True) as conn:  # all given back
            # the last session's vCPUs are given back when its server has seen the
            # client go, which on loaded cores can come just after the client's close
            deadline = time.monotonic() + 10
            while (left := conn.execute("SELECT count(*) FROM duckgres.vcpu_reservations"
                                        ).fetchone()) != (0,) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert left == (0,)
    finally:
        for server in servers:
            if server.proc is not None:
                server.stop()
