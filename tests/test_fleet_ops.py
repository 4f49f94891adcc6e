"""Fleet operations (issue 23; docs/scale-out.md, "Hot-idle" and "Failure handling"):
hot-idle reuse and its limits (TTL, the organisation's cap), and a worker cut off by
the network.

Its own small fleet, because its control planes need settings tests/test_fleet.py's do
not: one PostgreSQL 15 (config store and DuckLake catalog) listening on 127.0.0.1 and on
the host end of a veth pair; three workers on loopback addresses and, from the cut-off
test on, a fourth inside a network namespace (``ip netns``, run as root) at the other
end of that pair, so taking the link down cuts it off from the store and the control
planes alike; control plane A (leads the janitor, hot-idle TTL 10 min) and B (TTL 3 s).
The tests run in order: each leaves the fleet as the next one expects.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import psycopg
import pyarrow.flight as fl
import pytest
import trio

from duckgres_trio.fleet import records
from duckgres_trio.tenancy.pgtrio import Connection
from tests.conftest import ServerProcess
from tests.support.config_store import admin, ok
from tests.support.pg15 import pg15_cluster
from tests.test_fleet import TOKEN, Fleet, FleetWorker, serving, wait_for

# Its fleet's control planes run in that mode whatever DUCKGRES_MODE says: deselected in
# the standalone pass (tests/conftest.py).
pytestmark = pytest.mark.controlplane_only

LEASE, GRACE = 4.0, 1.0
TTL_A, TTL_B = 600.0, 3.0
LOOPBACK = ("127.0.0.7", "127.0.0.8", "127.0.0.9")


class Netns:
    """A network namespace joined to this host by a veth pair: 10.231.X.1 here,
    10.231.X.2 inside. ``down()`` takes the namespace's end down (nothing passes)."""

    def __init__(self) -> None:
        pid = os.getpid()
        self.name, self.host_if, self.ns_if = f"dgf{pid}", f"dgf{pid}h", f"dgf{pid}n"
        used = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True,
                              text=True).stdout
        x = next(x for x in [*range(pid % 250 + 1, 255), *range(1, 255)]
                 if f" 10.231.{x}." not in used)
        self.network, self.host, self.inside = f"10.231.{x}.0/30", f"10.231.{x}.1", \
            f"10.231.{x}.2"

    def _ip(self, *args: str) -> None:
        result = subprocess.run(["ip", *args], capture_output=True, text=True)
        assert result.returncode == 0, f"ip {' '.join(args)}: {result.stderr}"

    def create(self) -> Netns:
        self._ip("netns", "add", self.name)
        self._ip("link", "add", self.host_if, "type", "veth", "peer", "name", self.ns_if)
        self._ip("link", "set", self.ns_if, "netns", self.name)
        self._ip("addr", "add", f"{self.host}/30", "dev", self.host_if)
        self._ip("link", "set", self.host_if, "up")
        self._ip("-n", self.name, "addr", "add", f"{self.inside}/30", "dev", self.ns_if)
        self._ip("-n", self.name, "link", "set", "lo", "up")
        self.up()
        return self

    def up(self) -> None:
        self._ip("-n", self.name, "link", "set", self.ns_if, "up")

    def down(self) -> None:
        self._ip("-n", self.name, "link", "set", self.ns_if, "down")

    def delete(self) -> None:
        subprocess.run(["ip", "link", "del", self.host_if], capture_output=True)
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)


class NetnsWorker(FleetWorker):
    """A fleet worker started inside the namespace."""

    def __init__(self, root, netns: Netns, dsn: str) -> None:
        super().__init__(root, netns.inside, dsn)
        self.port = 7100 + os.getpid() % 1000  # the namespace has all its ports free
        self.netns = netns

    def start(self) -> NetnsWorker:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                ["ip", "netns", "exec", self.netns.name, sys.executable, "-m",
                 "duckgres_trio", "worker", "--listen", self.address, "--config-store",
                 self.dsn, "--tls-cert", str(self.root / "worker.crt"), "--tls-key",
                 str(self.root / "worker.key"), "--fleet-token-file", str(self.root / "token"),
                 "--heartbeat", "0.5", "--data-dir", str(self.root / "w-netns")],
                stdout=log, stderr=subprocess.STDOUT)
        return self


def _certificates(root, hosts) -> None:
    def openssl(*args):
        subprocess.run(["openssl", *args], cwd=root, check=True, capture_output=True)
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
            "/CN=fleet ops CA", "-keyout", "ca.key", "-out", "ca.crt")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=fleet worker",
            "-keyout", "worker.key", "-out", "worker.csr")
    (root / "san.ext").write_text("subjectAltName=" + ",".join(f"IP:{h}" for h in hosts))
    openssl("x509", "-req", "-in", "worker.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", "worker.crt")


def _plane(root, name: str, store_dsn: str, catalog: str, ttl: float) -> ServerProcess:
    return ServerProcess(root / name, [
        "--mode", "controlplane", "--config-store", store_dsn, "--storage", "ducklake",
        "--ducklake-catalog", catalog, "--ducklake-data-path", str(root / "lake"),
        "--worker-backend", "remote", "--fleet-token-file", str(root / "token"),
        "--fleet-ca-file", str(root / "ca.crt"), "--fleet-lease", f"{LEASE:g}s",
        "--fleet-grace", f"{GRACE:g}s", "--max-workers-per-database", "2",
        "--worker-idle-timeout", f"{ttl:g}s", "--metrics-address", "",
        "--worker-queue-timeout", "60s",
        "--tls-cert", str(root / "worker.crt"), "--tls-key", str(root / "worker.key")]).start()


class Ops(Fleet):
    netns: Netns
    catalog: str

    def plane_id(self, plane: ServerProcess) -> str:
        return next(cp for cp in self.plane_ids() if f"-{plane.proc.pid}-" in cp)

    def row(self, worker_id: int) -> dict:
        return next(r for r in self.rows().values() if r["id"] == worker_id)

    def worker(self, worker_id: int) -> FleetWorker:
        name = self.row(worker_id)["name"]
        return next(w for w in self.workers if w.address == name)


@pytest.fixture(scope="module")
def ops(tmp_path_factory):
    root = tmp_path_factory.mktemp("fleetops")
    netns = Netns()
    _certificates(root, (*LOOPBACK, netns.inside))
    (root / "token").write_text(TOKEN + "\n")
    try:
        netns.create()
        with pg15_cluster(listen=f"127.0.0.1,{netns.host}", trust=(netns.network,)) \
                as store:
            catalog = store.dsn.replace("host=127.0.0.1", f"host={netns.host}")
            ok(admin(store.dsn, "org", "create", "acme"))
            ok(admin(store.dsn, "org", "create", "globex"))
            for org, user in (("acme", "alice"), ("acme", "bob"), ("globex", "gina")):
                ok(admin(store.dsn, "user", "create", org, user, password=f"{user}-pw"))
            fleet = Ops(root, store)
            fleet.netns, fleet.catalog = netns, catalog
            try:
                fleet.workers = [FleetWorker(root, h, catalog).start() for h in LOOPBACK]
                wait_for(lambda: len(fleet.rows()) == len(LOOPBACK), 90, "registrations")
                # A first, and leading the janitor before B starts: the hot-idle TTL test
                # shows B retiring its own worker without the leader
                a = _plane(root, "cp-a", store.dsn, catalog, TTL_A)
                fleet.planes = [a]
                wait_for(fleet.janitor_leader, 15, "a janitor")
                fleet.planes.append(_plane(root, "cp-b", store.dsn, catalog, TTL_B))
                yield fleet
            finally:
                fleet.stop()
    finally:
        netns.delete()


def connect(plane: ServerProcess, user: str, db: str = "acme") -> psycopg.Connection:
    return psycopg.connect(plane.dsn(user=user, password=f"{user}-pw", dbname=db),
                           autocommit=True, connect_timeout=60)


def _janitor_said(plane: ServerProcess, what: str, worker_id: int) -> bool:
    """The plane's janitor logged ``worker_id`` among the workers of a step."""
    return any(re.search(rf"{what}: .*\b{worker_id}\b", line) and "fleet janitor" in line
               for line in plane.log().splitlines())


def _store(dsn: str, fn):
    """Run ``fn(conn)`` (async) on a store connection of its own."""
    async def run():
        conn = await Connection.connect(dsn)
        try:
            return await fn(conn)
        finally:
            conn.close()
    return trio.run(run)


# -- the store's rules, on fake rows --------------------------------------------------------

def _fake(fleet, name: str, owner: str, until: float, org: str = "acme") -> int:
    """A hot_idle row that heartbeats (an hour ahead, so no janitor marks it lost),
    its TTL (10 s) passing ``until`` seconds from now."""
    [(wid,)] = fleet.store_sql(
        "INSERT INTO duckgres.fleet_workers (name, statement_address, version, cpu, memory, "
        "host, pid, incarnation, state, owner_cp, owner_epoch, org, pool_key, heartbeat_at, "
        "state_since, hot_idle_ttl) VALUES (%s, 'x:1', 'test', 1, 1, 'x', 1, 'i', 'hot_idle', "
        "%s, 1, %s, 'k', now() + interval '1 hour', now() + make_interval(secs => %s - 10), "
        "10) RETURNING id", f"fake-{name}:1", owner, org, until)
    return wid


def test_hot_idle_ttl_and_cap_rules_and_a_retire_race_is_an_outcome(ops):
    """A live owner's hot-idle worker is its owner's to retire at its TTL: the janitor
    waits a lease longer; a gone owner's is the janitor's at the TTL, and is not
    reclaimed before (any control plane may take it over meanwhile). The owner's
    retirement and the janitor's racing on one row: exactly one wins, the other misses,
    neither raises. (The running janitor may sweep these rows too: the outcomes hold
    whoever wins.)"""
    live = ops.plane_id(ops.planes[0])
    ids = {"live-due": _fake(ops, "live-due", live, -1.0),
           "live-late": _fake(ops, "live-late", live, -(LEASE + 2)),
           "gone-due": _fake(ops, "gone-due", "gone-cp", -1.0),
           "gone-fresh": _fake(ops, "gone-fresh", "gone-cp", 30.0)}
    race = [_fake(ops, f"race-{n}", live, -(LEASE + 2), org="globex") for n in range(8)]
    try:
        async def sweep(conn):
            await records.reclaim_orphans(conn, GRACE)
            return await records.retire_hot_idle(conn, LEASE)
        _store(ops.store.dsn, sweep)
        rows = ops.rows()
        state = {k: (rows[f"fake-{k}:1"]["state"], rows[f"fake-{k}:1"]["reason"]) for k in ids}
        assert state == {"live-due": ("hot_idle", None),
                         "live-late": ("retired", "hot_idle_ttl"),
                         "gone-due": ("retired", "hot_idle_ttl"),
                         "gone-fresh": ("hot_idle", None)}, state

        async def owner(conn, wid):
            return await records.transition(conn, wid, live, 1, records.OWNED, "retired",
                                            reason="idle_timeout")

        async def both(wid):
            got = {}
            conns = [await Connection.connect(ops.store.dsn) for _ in range(2)]
            try:
                async def run(what, coro):
                    got[what] = await coro
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(run, "owner", owner(conns[0], wid))
                    nursery.start_soon(run, "janitor", records.retire_hot_idle(conns[1], LEASE))
            finally:
                for conn in conns:
                    conn.close()
            return got

        for wid in race:
            got = trio.run(both, wid)
            wins = [got["owner"], wid in got["janitor"]]
            assert wins.count(True) <= 1, got  # the running janitor may have won instead
            assert ops.row(wid)["state"] == "retired"
    finally:
        ops.store_sql("DELETE FROM duckgres.fleet_workers WHERE name LIKE 'fake-%%' RETURNING id")


# -- the fleet: the tests run in order ------------------------------------------------------

def test_a_hot_idle_worker_is_reused_for_its_organisation(ops):
    a = ops.planes[0]
    with connect(a, "alice") as conn:
        worker_id = serving(conn)
        conn.execute("CREATE TABLE t (id integer)")
        conn.execute("INSERT INTO t VALUES (1), (2)")
    row = wait_for(lambda: (r := ops.row(worker_id))["state"] == "hot_idle" and r, 10,
                   "hot_idle")
    [(ttl,)] = ops.store_sql("SELECT hot_idle_ttl FROM duckgres.fleet_workers WHERE id = %s",
                             worker_id)
    assert ttl == TTL_A  # the owner's TTL, in the row: the janitor reads it
    with connect(a, "alice") as conn:
        assert serving(conn) == worker_id
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (2,)
        again = ops.row(worker_id)
        assert again["state"] == "hot" and again["epoch"] == row["epoch"]
    health = ops.worker(worker_id).health()
    assert health["registrations"] == 1 and health["activated"] is True  # not re-activated


def test_a_hot_idle_worker_is_never_reused_for_another_organisation(ops):
    a = ops.planes[0]
    acme = next(r for r in ops.rows().values() if r["key"] and "acme" in r["key"])
    wait_for(lambda: ops.row(acme["id"])["state"] == "hot_idle", 10, "hot_idle")
    with connect(a, "gina", "globex") as conn:
        globex = serving(conn)
        assert globex != acme["id"]
        assert conn.execute("SELECT 1").fetchone() == (1,)
    after = ops.row(acme["id"])
    assert (after["state"], after["owner"], after["epoch"]) == \
        ("hot_idle", acme["owner"], acme["epoch"])
    # not even when asked for by key: the organisation is compared on its own too
    assert _store(ops.store.dsn, lambda c: records.claim_hot_idle(
        c, "someone-else", LEASE, acme["key"], "globex")) is None
    assert ops.row(acme["id"])["state"] == "hot_idle"


def test_a_worker_cut_off_by_the_network_is_lost_and_never_serves_under_a_stale_epoch(ops):
    """The namespace's worker is the fleet's only idle one with the fourth: bob's two
    sessions are placed on it and on the last loopback worker. Its link goes down."""
    a = ops.planes[0]
    cut = NetnsWorker(ops.root, ops.netns, ops.catalog).start()
    ops.workers.append(cut)
    wait_for(lambda: (r := ops.rows().get(cut.address)) and r["state"] == "idle", 30,
             "the namespace's worker registered")
    first = connect(a, "bob")
    second = connect(a, "bob")  # grows bob's group: the other idle worker
    conns = {serving(first): first, serving(second): second}
    try:
        cut_id = ops.rows()[cut.address]["id"]
        assert cut_id in conns and len(conns) == 2, (conns, ops.rows())
        victim = conns.pop(cut_id)
        [(other_id, other)] = conns.items()
        row = ops.row(cut_id)
        owner, epoch = row["owner"], row["epoch"]
        ops.netns.down()
        try:
            started = time.monotonic()
            with pytest.raises(psycopg.errors.AdminShutdown) as failure:
                victim.execute("SELECT count(*) FROM t")
            assert "worker failure" in str(failure.value)
            assert time.monotonic() - started < 20
            assert ops.row(cut_id)["state"] == "lost"
            with connect(a, "bob") as fresh:  # new sessions go to the other worker
                assert serving(fresh) == other_id
            assert other.execute("SELECT count(*) FROM t").fetchone() == (2,)
        finally:
            ops.netns.up()
        # back on the network it finds itself written off and registers again, idle,
        # under a newer epoch; its last owner's epoch is refused
        body = {"user": "bob", "fence": {"cp": owner, "epoch": epoch}}
        wait_for(lambda: (r := ops.row(cut_id))["state"] == "idle" and r["epoch"] > epoch,
                 30, "re-registration")
        with pytest.raises(fl.FlightUnauthorizedError):
            cut.action("CreateSession", body)
        health = cut.health()
        assert health["sessions"] == 0 and health["activated"] is False, health
        assert health["registrations"] >= 2 and health["fence"]["epoch"] > epoch, health
        refused = [r for r in health["fence"]["refused"] if r["cp"] == owner]
        assert refused and all(r["epoch"] == epoch for r in refused), refused
        assert refused[-1]["action"] == "CreateSession" and refused[-1]["why"] == "stale"
    finally:
        victim.close()
        for conn in conns.values():
            conn.close()


def test_the_owner_retires_its_hot_idle_worker_at_its_ttl_without_the_janitor(ops):
    """B (TTL 3 s) takes A's hot-idle globex worker over for gina (any control plane
    reuses it for its key), and retires it 3 s after her session ends: B does not lead
    the janitor, and the janitor would wait a lease longer for a live owner."""
    a, b = ops.planes
    assert ops.janitor_leader() == ops.plane_id(a)
    held = next(r for r in ops.rows().values() if r["key"] and "globex" in r["key"])
    with connect(b, "gina", "globex") as conn:
        assert serving(conn) == held["id"]
    taken = ops.row(held["id"])
    assert taken["owner"] == ops.plane_id(b) and taken["epoch"] == held["epoch"] + 1
    wait_for(lambda: ops.row(held["id"])["state"] == "hot_idle", 10, "hot_idle")
    idle_at = time.monotonic()
    retired = wait_for(lambda: (r := ops.row(held["id"]))["state"] in ("retired", "idle")
                       and r, TTL_B + 8, "retirement at the TTL")
    assert time.monotonic() - idle_at > TTL_B / 3, retired
    # by its owner (the retirement's reason is gone once the worker registers again;
    # the owner logs it after the worker's Reset)
    wait_for(lambda: f"fleet: worker {held['id']} retired (idle_timeout)" in b.log(), 10,
             "the owner's retirement")
    assert not _janitor_said(a, "past their TTL", held["id"])
    wait_for(lambda: (r := ops.row(held["id"]))["state"] == "idle"
             and r["epoch"] > taken["epoch"], 15, "back in the fleet")


def test_the_janitor_retires_hot_idle_workers_above_the_organisations_cap(ops):
    acme = sorted((r for r in ops.rows().values()
                   if r["state"] == "hot_idle" and r["key"] and "acme" in r["key"]),
                  key=lambda r: r["id"])
    assert len(acme) == 2, ops.rows()  # alice's and bob's
    [(newest,)] = ops.store_sql(
        "SELECT id FROM duckgres.fleet_workers WHERE state = 'hot_idle' AND org = 'acme' "
        "ORDER BY state_since DESC LIMIT 1")
    ok(admin(ops.store.dsn, "org", "update", "acme", "--max-hot-idle-workers", "1"))
    try:
        older = next(r for r in acme if r["id"] != newest)
        gone = wait_for(lambda: (r := ops.row(older["id"]))["state"] != "hot_idle" and r,
                        10, "the cap applied")
        assert gone["state"] in ("retired", "idle"), gone
        assert ops.row(newest)["state"] == "hot_idle"
        wait_for(lambda: ops.row(older["id"])["state"] == "idle", 15, "back in the fleet")
        wait_for(lambda: _janitor_said(ops.planes[0], "above their organisation's cap",
                                       older["id"]), 10, "the janitor's log")
    finally:
        ok(admin(ops.store.dsn, "org", "update", "acme", "--max-hot-idle-workers", "0"))


def test_the_janitor_retires_a_gone_owners_hot_idle_worker_at_its_ttl(ops):
    a, b = ops.planes
    with connect(b, "alice") as conn:
        worker_id = serving(conn)
    wait_for(lambda: ops.row(worker_id)["state"] == "hot_idle", 10, "hot_idle")
    b.proc.kill()  # before its own TTL (3 s) comes
    b.proc.wait()
    killed = time.monotonic()
    row = wait_for(lambda: (r := ops.row(worker_id))["state"] != "hot_idle" and r,
                   LEASE + GRACE + 10, "retirement by the janitor")
    assert row["state"] in ("retired", "idle")
    wait_for(lambda: _janitor_said(a, "past their TTL", worker_id), 10, "the janitor's log")
    assert time.monotonic() - killed < LEASE + 8
    wait_for(lambda: ops.row(worker_id)["state"] == "idle", 15, "back in the fleet")
