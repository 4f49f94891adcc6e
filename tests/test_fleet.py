"""A remote worker fleet coordinated through the config store (issue 23, first slice;
docs/scale-out.md): real processes, a throwaway PostgreSQL 15 as config store and
DuckLake catalog, five `duckgres-trio worker` processes on loopback addresses
127.0.0.2-6 (standing in for hosts) with TLS and the fleet token, and two control
planes with ``worker_backend: remote``.

One fleet per module; the tests run in order and the later ones break things (SIGSTOP
of a worker, kill -9 of a control plane), so each leaves what the next needs.
Leases are short here (4 s, grace 1 s) so failure handling is seen in seconds.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pyarrow.flight as fl
import pytest

from duckgres_trio.worker import protocol as p
from tests.conftest import ServerProcess, free_port
from tests.support.config_store import admin, ok
from tests.support.pg15 import pg15_cluster

# the fleet's control planes run in that mode whatever DUCKGRES_MODE says:
# deselected in the standalone pass (tests/conftest.py)
pytestmark = pytest.mark.controlplane_only

TOKEN = "fleet-token-" + "f" * 32
HOSTS = ("127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6")
LEASE, GRACE = 4.0, 1.0


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _certificates(root: Path) -> None:
    """A CA, and one worker certificate it signed for every loopback address used."""
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
             "/CN=fleet test CA", "-keyout", "ca.key", "-out", "ca.crt", cwd=root)
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=fleet worker",
             "-keyout", "worker.key", "-out", "worker.csr", cwd=root)
    (root / "san.ext").write_text(
        "subjectAltName=" + ",".join(f"IP:{h}" for h in HOSTS) + "\n")
    _openssl("x509", "-req", "-in", "worker.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
             "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", "worker.crt",
             cwd=root)


class FleetWorker:
    def __init__(self, root: Path, host: str, dsn: str) -> None:
        self.host, self.port = host, free_port()
        self.root, self.dsn = root, dsn
        self.log_path = root / f"worker-{host}.log"
        self.proc: subprocess.Popen | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> FleetWorker:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "duckgres_trio", "worker", "--listen", self.address,
                 "--config-store", self.dsn, "--tls-cert", str(self.root / "worker.crt"),
                 "--tls-key", str(self.root / "worker.key"), "--fleet-token-file",
                 str(self.root / "token"), "--heartbeat", "0.5",
                 "--data-dir", str(self.root / f"w-{self.host}")],
                stdout=log, stderr=subprocess.STDOUT)
        return self

    def health(self, token: str = TOKEN) -> dict:
        return json.loads(self.action("HealthCheck", {}, token=token))

    def action(self, name: str, body: dict, token: str = TOKEN) -> bytes:
        client = fl.connect(f"grpc+tls://{self.address}",
                            tls_root_certs=(self.root / "ca.crt").read_bytes())
        try:
            options = fl.FlightCallOptions(
                timeout=5, headers=[(b"authorization", f"Bearer {token}".encode())])
            results = list(client.do_action(fl.Action(name, json.dumps(body).encode()),
                                            options))
            return results[0].body.to_pybytes() if results else b""
        finally:
            client.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


class Fleet:
    def __init__(self, root: Path, store) -> None:
        self.root, self.store = root, store
        self.workers: list[FleetWorker] = []
        self.planes: list[ServerProcess] = []

    def stop(self) -> None:
        """Stop the control planes, then the workers (a stopped one continued first)."""
        for plane in self.planes:
            if plane.proc and plane.proc.poll() is None:
                plane.stop(timeout=30)
        for worker in self.workers:
            if worker.proc.poll() is None:
                worker.proc.send_signal(signal.SIGCONT)
                worker.proc.terminate()
        for worker in self.workers:
            try:
                worker.proc.wait(15)
            except subprocess.TimeoutExpired:
                worker.proc.kill()

    def rows(self) -> dict[str, dict]:
        """The workers' rows by name."""
        with psycopg.connect(self.store.dsn, autocommit=True) as conn:
            cur = conn.execute("SELECT name, id, state, owner_cp, owner_epoch, retire_reason, "
                               "pool_key FROM duckgres.fleet_workers")
            return {r[0]: dict(zip(("name", "id", "state", "owner", "epoch", "reason",
                                    "key"), r)) for r in cur}

    def store_sql(self, sql: str, *params) -> list[tuple]:
        with psycopg.connect(self.store.dsn, autocommit=True) as conn:
            return conn.execute(sql, params or None).fetchall()

    def janitor_leader(self) -> str | None:
        """The control plane whose connection holds the janitor's advisory lock."""
        rows = self.store_sql(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a "
            "ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted "
            "AND a.application_name LIKE 'duckgres janitor %'")
        return rows[0][0].removeprefix("duckgres janitor ") if rows else None

    def plane_ids(self) -> dict[str, bool]:
        """Control plane id -> alive (not expired, not stopped)."""
        return {i: e is None and s is None for i, e, s in self.store_sql(
            "SELECT id, expired_at, stopped_at FROM duckgres.control_planes")}


def wait_for(condition, timeout: float, what: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(interval)


def _plane(root: Path, name: str, dsn: str) -> ServerProcess:
    return ServerProcess(root / name, [
        "--mode", "controlplane", "--config-store", dsn, "--storage", "ducklake",
        "--ducklake-data-path", str(root / "lake"), "--worker-backend", "remote",
        "--fleet-token-file", str(root / "token"), "--fleet-ca-file", str(root / "ca.crt"),
        "--fleet-lease", f"{LEASE:g}s", "--fleet-grace", f"{GRACE:g}s",
        "--max-workers-per-database", "2", "--metrics-address", "",
        "--worker-queue-timeout", "60s",
        # any certificate will do for clients (sslmode=require): skip generating one
        "--tls-cert", str(root / "worker.crt"), "--tls-key", str(root / "worker.key")]).start()


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    root = tmp_path_factory.mktemp("fleet")
    _certificates(root)
    (root / "token").write_text(TOKEN + "\n")
    with pg15_cluster() as store:
        ok(admin(store.dsn, "org", "create", "acme"))
        ok(admin(store.dsn, "user", "create", "acme", "alice", password="alice-pw"))
        ok(admin(store.dsn, "user", "create", "acme", "bob", password="bob-pw"))
        fleet = Fleet(root, store)
        try:
            fleet.workers = [FleetWorker(root, host, store.dsn).start() for host in HOSTS]
            wait_for(lambda: len([r for r in fleet.rows().values() if r["state"] == "idle"])
                     == len(HOSTS), 90, "idle workers")
            with ThreadPoolExecutor(2) as pool:  # both start at once
                fleet.planes = list(pool.map(lambda n: _plane(root, n, store.dsn),
                                             ("cp-a", "cp-b")))
            yield fleet
        finally:
            fleet.stop()


def connect(plane: ServerProcess, user: str = "alice", **kw) -> psycopg.Connection:
    return psycopg.connect(plane.dsn(user=user, password=f"{user}-pw", dbname="acme"),
                           autocommit=True, connect_timeout=60, **kw)


def serving(conn) -> int:
    return conn.execute("SELECT duckgres_worker()").fetchone()[0]


# -- without a fleet ------------------------------------------------------------------------

def test_the_fence_refuses_older_epochs_and_records_it():
    from duckgres_trio.fleet.fence import Fence, Refused

    fence = Fence()
    fence.reset(3)
    assert fence.admit("Activate", {"cp": "a", "epoch": 3}) == ("a", 3)
    with pytest.raises(Refused):  # same epoch, another control plane
        fence.admit("CreateSession", {"cp": "b", "epoch": 3})
    assert fence.admit("Activate", {"cp": "b", "epoch": 4}) == ("b", 4)  # b claimed it since
    for stale in ({"cp": "a", "epoch": 3}, {"cp": "a"}, None, {"epoch": 9}):
        with pytest.raises(Refused):
            fence.admit("CreateSession", stale)
    fence.raise_floor(6, "c")  # the store says c holds it under 6
    with pytest.raises(Refused):
        fence.admit("DestroySession", {"cp": "b", "epoch": 4})
    report = fence.report()
    assert report["epoch"] == 6 and report["owner"] == "c" and report["refused_total"] == 6
    assert [r["action"] for r in report["refused"]][-1] == "DestroySession"


def test_a_claim_places_a_profile_on_the_smallest_worker_that_offers_it():
    """Placement by what workers register: the smallest idle worker with the profile's
    cpu and memory; when none offers them, the largest; without a profile, any."""
    import trio

    from duckgres_trio.fleet import records
    from duckgres_trio.tenancy.pgtrio import Connection

    gib = 1 << 30
    offers = {"w-2c-4g": (2, 4 * gib), "w-4c-8g": (4, 8 * gib), "w-8c-32g": (8, 32 * gib),
              "w-8c-4g": (8, 4 * gib)}

    async def run() -> list[str | None]:
        conn = await Connection.connect(store.dsn)
        try:
            for name, (cpu, memory) in offers.items():
                await records.register(conn, name=name, statement_address=name, tls=False,
                                       version="test", cpu=cpu, memory=memory, host="h",
                                       pid=1, incarnation=name)
            taken = []
            for cpu, memory in ((3, 0), (4, 16 * gib), (16, 0), (1, 1 * gib), (1, gib)):
                claimed = await records.claim(conn, "cp-test", LEASE, cpu, memory)
                taken.append(claimed and claimed.name)
            return taken
        finally:
            conn.close()

    with pg15_cluster() as store:
        ok(admin(store.dsn, "org", "create", "acme"))  # the store's schema
        taken = trio.run(run)
    # 3 cpu: 4c-8g (not 8c); 4 cpu 16 GiB: only 8c-32g; 16 cpu: none offers it, the
    # largest left (8c-4g); 1 cpu 1 GiB: the smallest, 2c-4g; then nothing is idle
    assert taken == ["w-4c-8g", "w-8c-32g", "w-8c-4g", "w-2c-4g", None]


@pytest.mark.parametrize("args, message", [
    (["--worker-backend", "remote"], "remote needs mode controlplane, a config_store"),
    (["--worker-backend", "remote", "--config-store", "host=x", "--storage", "ducklake"],
     "remote needs the fleet token"),
])
def test_worker_backend_remote_is_refused_without_what_it_needs(tmp_path, args, message):
    env = {k: v for k, v in os.environ.items() if k != "DUCKGRES_FLEET_TOKEN"}
    result = subprocess.run([sys.executable, "-m", "duckgres_trio", "--mode", "controlplane",
                             "--data-dir", str(tmp_path), *args], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and message in result.stderr, result.stderr


def test_a_fleet_worker_wants_its_token_off_the_command_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DUCKGRES_FLEET_TOKEN"}
    result = subprocess.run([sys.executable, "-m", "duckgres_trio", "worker", "--listen",
                             "127.0.0.2:1", "--config-store", "host=x", "--data-dir",
                             str(tmp_path)], env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2 and "DUCKGRES_FLEET_TOKEN" in result.stderr, result.stderr


# -- the fleet: the tests run in order ------------------------------------------------------

def test_sessions_of_one_org_spread_over_workers_of_both_control_planes(fleet):
    a, b = fleet.planes

    def two(plane):  # the second session grows the group: one activation after the other
        first = connect(plane)
        return [first, connect(plane)]

    with ThreadPoolExecutor(2) as pool:  # the two planes at once
        conns = [c for pair in pool.map(two, (a, b)) for c in pair]
    try:
        ids = [serving(c) for c in conns]
        rows = {r["id"]: r for r in fleet.rows().values()}
        # duckgres_worker() is the serving fleet worker's registered id
        assert set(ids) <= set(rows), (ids, rows)
        assert ids[0] != ids[1] and ids[2] != ids[3], ids  # each plane spread its two
        assert len(set(ids)) == 4, ids
        owners = {rows[i]["owner"] for i in ids}
        assert len(owners) == 2 and all(rows[i]["state"] == "hot" for i in ids), rows
        conns[0].execute("CREATE TABLE t (id integer, who text)")
        conns[0].execute("INSERT INTO t VALUES (1, 'a0')")
        conns[3].execute("INSERT INTO t VALUES (2, 'b1')")
        for conn in conns:  # a write on one is visible on all
            assert conn.execute("SELECT id, who FROM t ORDER BY id").fetchall() == \
                [(1, "a0"), (2, "b1")]
    finally:
        for conn in conns:
            conn.close()


def test_a_hot_idle_worker_is_taken_over_for_the_same_key_only(fleet):
    """Four workers are held by the first test's sessions (hot_idle now), the fifth is
    idle: bob's first session activates it, and when that session ends the other control
    plane takes it over for bob's next session without activating it again."""
    import trio

    from duckgres_trio.fleet import records
    from duckgres_trio.tenancy.pgtrio import Connection

    a, b = fleet.planes
    started = time.monotonic()
    with connect(a, "bob") as conn:
        worker_id = serving(conn)
    cold = time.monotonic() - started
    name = next(r["name"] for r in fleet.rows().values() if r["id"] == worker_id)
    worker = next(w for w in fleet.workers if w.address == name)
    row = wait_for(lambda: (r := fleet.rows()[name])["state"] == "hot_idle" and r, 10,
                   "hot_idle")
    started = time.monotonic()
    with connect(b, "bob") as conn:
        assert serving(conn) == worker_id
        warm = time.monotonic() - started
        taken = fleet.rows()[name]
        assert taken["state"] == "hot" and taken["owner"] != row["owner"]
        assert taken["epoch"] == row["epoch"] + 1
    health = worker.health()
    assert health["registrations"] == 1 and health["activated"] is True  # not reset
    print(f"bob's connect: cold activation {cold:.2f} s, hot-idle takeover {warm:.2f} s")
    idle = wait_for(lambda: (r := fleet.rows()[name])["state"] == "hot_idle" and r, 10,
                    "hot_idle again")

    async def claim(key: str):
        conn = await Connection.connect(fleet.store.dsn)
        try:
            return await records.claim_hot_idle(conn, "someone-else", LEASE, key, "acme")
        finally:
            conn.close()

    # never for another organisation, another user or another worker profile: the key is
    # database, user and profile (docs/scale-out.md, "Worker profiles")
    database, user, _profile = json.loads(idle["key"])
    for other in (idle["key"].replace("acme/", "globex/"), idle["key"].replace("bob", "eve"),
                  json.dumps([database, user, [64, 1 << 30]])):
        assert trio.run(claim, other) is None
    assert fleet.rows()[name]["state"] == "hot_idle"


def _pgbench(plane: ServerProcess, *args: str) -> subprocess.Popen:
    env = {**os.environ, "PGPASSWORD": "alice-pw", "PGSSLMODE": "require"}
    return subprocess.Popen(["pgbench", *args, "-h", "127.0.0.1", "-p", str(plane.port),
                             "-U", "alice", "acme"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def _summary(run: subprocess.Popen, transactions: int) -> str:
    """pgbench's output, once it ended with every transaction processed and none failed."""
    output = run.communicate(timeout=300)[0]
    assert run.returncode == 0, output
    assert re.search(r"number of failed transactions: 0 ", output), output
    processed = re.search(r"number of transactions actually processed: (\d+)", output)
    assert processed and int(processed.group(1)) == transactions, output
    return output


def test_pgbench_tpcb_like_through_both_control_planes_at_once(fleet):
    init = _pgbench(fleet.planes[0], "-i", "-s", "1")
    output = init.communicate(timeout=300)[0]
    assert init.returncode == 0, output
    # a fixed number of transactions (-t), not a time limit: on a loaded 2-core machine a
    # DuckLake tpcb transaction can take seconds, and a short -T may see none finish.
    # -n: without it each pgbench starts with TRUNCATE pgbench_history, and the run whose
    # first connection is slower (a cold worker activation) wipes the history rows the
    # other has committed by then, while the balances keep them (PostgreSQL does the
    # same); -i has just left the history empty.
    runs = [_pgbench(plane, "-n", "-b", "tpcb-like", "-c", "2", "-j", "2", "--max-tries",
                     "20", "-t", "3") for plane in fleet.planes]
    for run in runs:
        _summary(run, 6)
    with connect(fleet.planes[1]) as conn:
        accounts, tellers, branches, history, rows = conn.execute(
            "SELECT (SELECT sum(abalance) FROM pgbench_accounts), "
            "(SELECT sum(tbalance) FROM pgbench_tellers), "
            "(SELECT sum(bbalance) FROM pgbench_branches), "
            "(SELECT coalesce(sum(delta), 0) FROM pgbench_history), "
            "(SELECT count(*) FROM pgbench_history)").fetchone()
        # one history row per committed transaction, none lost or doubled by a retry
        assert (accounts == tellers == branches == history and rows == 12), (
            accounts, tellers, branches, history, rows)


def test_pgbench_select_only_through_both_control_planes_at_once(fleet):
    """pgbench -S on the tables the tpcb-like test left (one query mode per control
    plane): none fails, and reading changes nothing."""
    check = ("SELECT (SELECT sum(abalance) FROM pgbench_accounts), "
             "(SELECT sum(bbalance) FROM pgbench_branches), "
             "(SELECT count(*) FROM pgbench_history)")
    with connect(fleet.planes[0]) as conn:
        if conn.execute("SELECT to_regclass('pgbench_accounts')").fetchone()[0] is None:
            init = _pgbench(fleet.planes[0], "-i", "-s", "1")  # run on its own (-k)
            output = init.communicate(timeout=300)[0]
            assert init.returncode == 0, output
        before = conn.execute(check).fetchone()
    runs = [_pgbench(plane, "-n", "-S", "-M", mode, "-c", "2", "-j", "2", "-t", "10")
            for plane, mode in zip(fleet.planes, ("prepared", "simple"))]
    for run in runs:
        _summary(run, 20)
    with connect(fleet.planes[1]) as conn:
        assert conn.execute(check).fetchone() == before


def test_a_large_result_streams_whole_from_a_fleet_worker(fleet):
    """A result whose FETCH replies pass 1 MiB (joined batches, written in parts over
    the fleet's TLS, read without the Unix socket's direct receive) arrives whole
    and in order."""
    with connect(fleet.planes[0]) as conn:
        rows = conn.execute("SELECT i, repeat('x', 200) || i FROM range(60000) t(i)"
                            ).fetchall()
    assert len(rows) == 60000
    assert [i for i, _ in rows] == list(range(60000))
    assert rows[-1][1] == "x" * 200 + "59999"


def test_a_wrong_fleet_token_is_refused(fleet):
    worker = fleet.workers[0]
    with pytest.raises(fl.FlightUnauthenticatedError):
        worker.health(token="not-the-fleet-token-" + "x" * 20)
    assert worker.health()["healthy"] is True
    # the statement path takes only session tokens handed out under the fleet token
    rows = fleet.rows()
    host, port = rows[worker.address]["name"].split(":")
    statement = (host, int(port) + 1)
    context = ssl.create_default_context(cafile=str(fleet.root / "ca.crt"))
    with socket.create_connection(statement, timeout=5) as raw, \
            context.wrap_socket(raw, server_hostname=host) as sock:
        sock.sendall(p.frame(p.HELLO, TOKEN.encode()))
        reader = p.FrameReader()
        while (got := reader.next()) is None:
            reader.feed(sock.recv(65536))
        assert got[0] == p.ERROR and b"unknown worker session" in got[1]


def test_a_stopped_worker_is_lost_and_never_serves_under_a_stale_epoch(fleet):
    a = fleet.planes[0]
    victim_conn, other_conn = connect(a), connect(a)
    try:
        victim_id = serving(victim_conn)
        assert serving(other_conn) != victim_id
        row = next(r for r in fleet.rows().values() if r["id"] == victim_id)
        owner, epoch = row["owner"], row["epoch"]
        victim = next(w for w in fleet.workers if w.address == row["name"])
        victim.proc.send_signal(signal.SIGSTOP)
        try:
            started = time.monotonic()
            # its session ends with FATAL 57P01 once the control plane gives up on it
            with pytest.raises(psycopg.errors.AdminShutdown) as failure:
                victim_conn.execute("SELECT count(*) FROM t")
            assert "worker failure" in str(failure.value)
            assert time.monotonic() - started < 15
            assert fleet.rows()[row["name"]]["state"] == "lost"
            # new sessions go to other workers; the other session goes on
            with connect(a) as fresh:
                assert serving(fresh) != victim_id
                assert fresh.execute("SELECT count(*) FROM t").fetchone()[0] >= 2
            assert other_conn.execute("SELECT 1").fetchone() == (1,)
        finally:
            victim.proc.send_signal(signal.SIGCONT)
        # right after it wakes, even its last owner's epoch is refused: it has not heard
        # from the store for a while, so it may have been written off
        body = {"user": "alice", "fence": {"cp": owner, "epoch": epoch}}
        with pytest.raises(fl.FlightUnauthorizedError):
            victim.action("CreateSession", body)
        # it registers again (idle, newer epoch); the old owner's epoch stays refused
        wait_for(lambda: fleet.rows()[row["name"]]["state"] == "idle"
                 and fleet.rows()[row["name"]]["epoch"] > epoch, 10, "re-registration")
        with pytest.raises(fl.FlightUnauthorizedError):
            victim.action("CreateSession", body)
        health = victim.health()
        assert health["sessions"] == 0 and health["activated"] is False, health
        assert health["registrations"] >= 2 and health["fence"]["epoch"] > epoch, health
        refused = [r for r in health["fence"]["refused"] if r["cp"] == owner]
        assert [r["action"] for r in refused][-2:] == ["CreateSession", "CreateSession"]
        assert all(r["epoch"] == epoch for r in refused)
        assert refused[-1]["why"] == "stale"
    finally:
        victim_conn.close()
        other_conn.close()


def test_a_worker_restarted_by_its_supervisor_registers_again_and_serves(fleet):
    b = fleet.planes[1]
    with connect(b) as conn:
        victim_id = serving(conn)
        row = next(r for r in fleet.rows().values() if r["id"] == victim_id)
        index = next(i for i, w in enumerate(fleet.workers) if w.address == row["name"])
        fleet.workers[index].proc.kill()
        fleet.workers[index].proc.wait()
        with pytest.raises(psycopg.errors.AdminShutdown):
            conn.execute("SELECT 1")
    # what systemd's Restart=always does: the same address again
    restarted = fleet.workers[index] = FleetWorker(fleet.root, fleet.workers[index].host,
                                                   fleet.store.dsn)
    restarted.port = int(row["name"].rsplit(":", 1)[1])
    restarted.start()
    wait_for(lambda: (r := fleet.rows()[row["name"]])["state"] == "idle"
             and r["epoch"] > row["epoch"], 20, "the restarted worker's registration")
    assert fleet.rows()[row["name"]]["id"] == victim_id  # the same registered id
    # two sessions on each control plane: each group grows by one idle worker, and
    # the restarted one is among them
    conns = []
    try:
        with ThreadPoolExecutor(2) as pool:  # the two planes at once
            for pair in pool.map(lambda plane: [connect(plane), connect(plane)], fleet.planes):
                conns += pair
        served = {serving(c) for c in conns}
        assert victim_id in served, (served, fleet.rows())
        assert all(c.execute("SELECT count(*) FROM t").fetchone()[0] >= 2 for c in conns)
    finally:
        for conn in conns:
            conn.close()


def test_the_janitor_retires_workers_stuck_activating_once(fleet):
    """The janitor's steps are conditional writes: a worker stuck activating past the
    limit is retired, a fresh one is not, and a second pass (a partitioned former
    leader repeating it) changes nothing. Fake rows, owned by a live control plane and
    heartbeating, so the running janitors (60 s limit) leave them alone."""
    import trio

    from duckgres_trio.fleet import records
    from duckgres_trio.tenancy.pgtrio import Connection

    live = next(cp for cp, alive in fleet.plane_ids().items() if alive)
    ids = {}
    for name, age in (("stuck", 45), ("fresh", 0)):
        [(ids[name],)] = fleet.store_sql(
            "INSERT INTO duckgres.fleet_workers (name, statement_address, version, cpu, "
            "memory, host, pid, incarnation, state, owner_cp, owner_epoch, heartbeat_at, "
            "state_since) VALUES (%s, 'x:1', 'test', 1, 1, 'x', 1, 'i', 'activating', %s, 1, "
            "now() + interval '1 hour', now() - make_interval(secs => %s)) RETURNING id",
            f"fake-{name}:1", live, age)

    async def sweep():
        conn = await Connection.connect(fleet.store.dsn)
        try:
            return (await records.retire_stuck(conn, 30.0), await records.retire_stuck(conn, 30.0))
        finally:
            conn.close()

    try:
        first, second = trio.run(sweep)
        assert ids["stuck"] in first and ids["fresh"] not in first and second == []
        rows = fleet.rows()
        assert (rows["fake-stuck:1"]["state"], rows["fake-stuck:1"]["reason"]) == \
            ("retired", "stuck_activating")
        assert rows["fake-fresh:1"]["state"] == "activating"
    finally:
        fleet.store_sql("DELETE FROM duckgres.fleet_workers WHERE name LIKE 'fake-%%' "
                        "RETURNING id")


def test_kill_9_of_a_control_plane_reclaims_its_workers_and_moves_the_janitor(fleet):
    leader = wait_for(fleet.janitor_leader, 10, "a janitor")
    by_id = {p.proc.pid: p for p in fleet.planes}
    ids = {cp for cp in fleet.plane_ids()}
    # which plane is the leader: its id carries its pid (<host>-<pid>-<random>)
    doomed = next(p for pid, p in by_id.items() if f"-{pid}-" in leader)
    survivor = next(p for p in fleet.planes if p is not doomed)
    acknowledged: list[int] = []
    stop = threading.Event()

    def writer() -> None:  # commits in a loop; an id is acknowledged once execute returns
        with connect(doomed) as conn:
            for n in range(1000, 100000):
                try:
                    conn.execute("INSERT INTO t VALUES (%s, 'acknowledged')", [n])
                except psycopg.Error:
                    return
                acknowledged.append(n)
                if stop.is_set():
                    return

    thread = threading.Thread(target=writer)
    thread.start()
    wait_for(lambda: len(acknowledged) >= 3, 30, "commits under way")
    doomed.proc.kill()  # while the writer commits
    killed_at = time.monotonic()
    held = {r["name"]: r["state"] for r in fleet.rows().values() if r["owner"] == leader}
    assert "hot" in held.values(), fleet.rows()
    stop.set()
    thread.join(30)
    doomed.proc.wait()
    # its workers are reclaimed within lease + grace + one janitor period (+ a beat);
    # hot-idle ones stay for any control plane to take over until their TTL (300 s)
    wait_for(lambda: all(fleet.rows()[n]["state"] == "idle" and fleet.rows()[n]["owner"]
                         is None for n, state in held.items() if state != "hot_idle"),
             LEASE + GRACE + LEASE / 4 + 8, "reclaimed workers")
    assert all(fleet.rows()[n]["state"] == "hot_idle" for n, s in held.items()
               if s == "hot_idle")
    # the sessions a reclaimed worker ended when it read its row are not counted as a
    # previous owner's by whoever claims it next
    for worker in fleet.workers:
        if held.get(worker.address, "hot_idle") != "hot_idle":
            assert worker.health()["older_sessions"] == 0, worker.address
    assert time.monotonic() - killed_at >= LEASE - 1  # not before it was expired
    assert fleet.plane_ids()[leader] is False
    # leadership moved to the survivor
    new_leader = wait_for(lambda: (l := fleet.janitor_leader()) != leader and l, 10,
                          "a new janitor")
    assert f"-{survivor.proc.pid}-" in new_leader and new_leader in ids
    # clients of the killed plane reconnect to the other and find every commit
    with connect(survivor) as conn:
        found = {r[0] for r in conn.execute("SELECT id FROM t WHERE who = 'acknowledged'")}
        assert set(acknowledged) <= found, sorted(set(acknowledged) - found)


def test_sigusr1_of_a_fleet_control_plane_adopts_its_workers(fleet):
    """The successor moves the old process's workers to itself (epoch + 1, one
    compare-and-set each): a query running there completes on the old process, a new
    client reaches the same worker at once, and the old process's commands are refused
    but for ending its own session."""
    from tests.test_upgrade import _stop, _successor

    c = _plane(fleet.root, "cp-upgrade", fleet.store.dsn)
    successor = None
    try:
        old = connect(c)
        wid = serving(old)
        row = next(r for r in fleet.rows().values() if r["id"] == wid)
        owner, epoch = row["owner"], row["epoch"]
        worker = next(w for w in fleet.workers if w.address == row["name"])
        result: list = []
        running = threading.Thread(target=lambda: result.append(old.execute(
            "SELECT sum(i * i % 7) FROM range(500000000) t(i)").fetchone()))
        running.start()
        time.sleep(0.5)
        c.proc.send_signal(signal.SIGUSR1)
        successor = _successor(c)
        wait_for(lambda: "upgrade: the successor adopted 1 of 1 fleet workers" in c.log(),
                 60, "the handover")
        assert running.is_alive(), "the query ended before the handover: make it longer"
        activations = len(re.findall(r"fleet: (claimed|took over hot-idle) worker", c.log()))
        started = time.monotonic()
        with connect(c) as fresh:
            assert serving(fresh) == wid  # the adopted worker, no activation
            assert time.monotonic() - started < 10
            new = fleet.rows()[row["name"]]
            assert new["owner"] not in (None, owner) and new["epoch"] == epoch + 1, new
            assert new["state"] == "hot", new
        assert len(re.findall(r"fleet: (claimed|took over hot-idle) worker",
                              c.log())) == activations  # served by adoption alone
        running.join(120)
        assert result == [(999999999,)], result  # completed on the old process
        old.close()
        assert c.proc.wait(60) == 0  # its last session ended: the old process exits
        # the old owner's stale fence: CreateSession refused; its own session's end was
        # the one command it was still granted
        with pytest.raises(fl.FlightUnauthorizedError):
            worker.action("CreateSession", {"user": "alice",
                                            "fence": {"cp": owner, "epoch": epoch}})
        fence = worker.health()["fence"]
        assert (fence["epoch"], fence["owner"]) == (epoch + 1, new["owner"]), fence
        assert fence["session_scoped"] == 1, fence  # the old session's DestroySession
        assert [r["action"] for r in fence["refused"] if r["cp"] == owner][-1:] == \
            ["CreateSession"], fence
        # the janitor left it with its new owner after the old process stopped
        time.sleep(LEASE / 2)
        assert fleet.rows()[row["name"]]["owner"] == new["owner"]
    finally:
        if successor is not None:
            _stop(successor)
        c.stop(timeout=30)


def test_gone_control_planes_are_the_expired_stopped_silent_and_unknown(fleet):
    """Whose older sessions an owner has its workers end (``records.gone_control_planes``):
    a row expired, stopped, silent for the lease, or none; never one that heartbeats."""
    import trio

    from duckgres_trio.fleet import records
    from duckgres_trio.tenancy.pgtrio import Connection

    fake = {n: f"fake-cp-{n}" for n in ("alive", "silent", "expired", "stopped")}
    fleet.store_sql(
        "INSERT INTO duckgres.control_planes (id, host, pid, port, version, heartbeat, "
        "expired_at, stopped_at) VALUES "
        "(%s, 'h', 1, 1, 'test', now(), NULL, NULL), "
        "(%s, 'h', 1, 1, 'test', now() - interval '10 seconds', NULL, NULL), "
        "(%s, 'h', 1, 1, 'test', now(), now(), NULL), "
        "(%s, 'h', 1, 1, 'test', now(), NULL, now()) RETURNING id", *fake.values())

    async def gone(ids: list[str]) -> set[str]:
        conn = await Connection.connect(fleet.store.dsn)
        try:
            return await records.gone_control_planes(conn, ids, LEASE)
        finally:
            conn.close()

    try:
        assert trio.run(gone, [*fake.values(), "fake-cp-unknown", 'odd "id", {x}']) == \
            {fake["silent"], fake["expired"], fake["stopped"], "fake-cp-unknown",
             'odd "id", {x}'}
        live = [cp for cp, alive in fleet.plane_ids().items()
                if alive and not cp.startswith("fake-")]
        assert live and trio.run(gone, live) == set()
        assert trio.run(gone, []) == set()
    finally:
        fleet.store_sql("DELETE FROM duckgres.control_planes WHERE id LIKE 'fake-cp-%%' "
                        "RETURNING id")


def _adopted(plane: ServerProcess) -> int:
    """How many fleet workers the old process of ``plane``'s upgrade saw adopted (all
    it offered)."""
    found = wait_for(lambda: re.search(r"upgrade: the successor adopted (\d+) of (\d+) "
                                       r"fleet workers", plane.log()), 60, "the handover")
    assert found[1] == found[2], found[0]
    return int(found[1])


def test_sessions_of_an_old_control_plane_that_is_alive_are_left_to_it(fleet):
    """An upgrade's old process is draining, alive, with an open transaction on the
    adopted worker: for longer than a dead owner's sessions would last, the successor
    leaves it alone; the old session commits and ends on its own, and the worker then
    goes hot-idle. The worker refuses EndOlderSessions under the old fence."""
    from tests.test_upgrade import _stop, _successor

    c = _plane(fleet.root, "cp-alive", fleet.store.dsn)
    successor = None
    try:
        old = connect(c)
        old.execute("CREATE TABLE alive_t (id integer)")
        old.execute("BEGIN")
        old.execute("INSERT INTO alive_t VALUES (1)")
        wid = serving(old)
        row = next(r for r in fleet.rows().values() if r["id"] == wid)
        owner, epoch = row["owner"], row["epoch"]
        worker = next(w for w in fleet.workers if w.address == row["name"])
        c.proc.send_signal(signal.SIGUSR1)
        successor = _successor(c)
        assert _adopted(c) >= 1
        new = fleet.rows()[row["name"]]
        assert new["owner"] not in (None, owner) and new["epoch"] == epoch + 1, new
        health = worker.health()
        assert (health["older_sessions"], health["older_owners"]) == (1, {owner: 1}), health
        # the old fence may end its own session (DestroySession), nothing else
        with pytest.raises(fl.FlightUnauthorizedError):
            worker.action("EndOlderSessions", {"owners": [owner],
                                               "fence": {"cp": owner, "epoch": epoch}})
        # a body that is not a short list of ids is refused, even from the owner
        with pytest.raises(fl.FlightError, match="owners") as refused:
            worker.action("EndOlderSessions", {"owners": "everyone", "fence": {
                "cp": new["owner"], "epoch": new["epoch"]}})
        assert not isinstance(refused.value, fl.FlightUnauthorizedError)
        time.sleep(LEASE + 2 * LEASE / 4)  # a dead owner's sessions would be gone by now
        assert worker.health()["older_sessions"] == 1
        assert "previous owners that are gone" not in c.log()
        old.execute("INSERT INTO alive_t VALUES (2)")  # the session still works
        old.execute("COMMIT")
        old.close()
        assert c.proc.wait(60) == 0  # its last session ended: the old process exits
        assert worker.health()["older_sessions"] == 0
        wait_for(lambda: fleet.rows()[row["name"]]["state"] == "hot_idle", 10, "hot_idle")
        with connect(c) as fresh:
            assert serving(fresh) == wid
            assert fresh.execute("SELECT id FROM alive_t ORDER BY id").fetchall() == \
                [(1,), (2,)]
    finally:
        if successor is not None:
            _stop(successor)
        c.stop(timeout=30)


def test_sessions_of_an_old_control_plane_killed_during_its_drain_are_ended(fleet):
    """The old process of an upgrade holds an open transaction and a long query on the
    workers its successor adopted, and is killed (-9) during its drain. Once its row is
    silent for the lease, the successor has the workers end its sessions (the query
    interrupted, the transaction rolled back, the DuckDB connections freed): within the
    lease and one heartbeat, not before; the workers go hot-idle and serve new clients,
    and the uncommitted write is nowhere."""
    from tests.test_upgrade import _stop, _successor

    c = _plane(fleet.root, "cp-killed", fleet.store.dsn)
    successor = None
    try:
        with connect(c) as setup:
            setup.execute("CREATE TABLE killed_t (id integer, who text)")
            setup.execute("INSERT INTO killed_t VALUES (1, 'committed')")
        open_tx = connect(c)
        open_tx.execute("BEGIN")
        open_tx.execute("INSERT INTO killed_t VALUES (2, 'uncommitted')")
        running = connect(c)
        wids = {serving(open_tx), serving(running)}
        rows = {r["id"]: r for r in fleet.rows().values()}
        owner = rows[serving(open_tx)]["owner"]
        workers = {wid: next(w for w in fleet.workers if w.address == rows[wid]["name"])
                   for wid in wids}
        failed: list = []

        def long_query() -> None:  # minutes, unless something interrupts it
            try:
                running.execute("SELECT sum(i * i % 7) FROM range(50000000000) t(i)")
            except psycopg.Error as exc:
                failed.append(exc)

        thread = threading.Thread(target=long_query, daemon=True)
        thread.start()
        wait_for(lambda: sum(w.health()["active_queries"] for w in workers.values()) == 1,
                 30, "the long query running")
        c.proc.send_signal(signal.SIGUSR1)
        successor = _successor(c)
        assert _adopted(c) >= 1
        for wid, worker in workers.items():
            health = worker.health()
            mine = 2 if len(wids) == 1 else 1
            assert health["older_owners"] == {owner: mine}, health
            assert fleet.rows()[rows[wid]["name"]]["owner"] not in (None, owner)
        c.proc.kill()  # during its drain: its sessions are nobody's now
        killed_at = time.monotonic()
        c.proc.wait(30)
        # the old row is silent for the lease from its last heartbeat (before the kill),
        # then the successor's next beat (lease / 4) ends them; 2 s more for the
        # worker's answer and this loop's own health calls (2 shared, loaded cores)
        wait_for(lambda: all(w.health()["older_sessions"] == 0 for w in workers.values()),
                 LEASE + LEASE / 4 + 2, "the dead owner's sessions ended")
        [(silent,)] = fleet.store_sql(
            "SELECT extract(epoch FROM now() - heartbeat)::float8 "
            "FROM duckgres.control_planes WHERE id = %s", owner)
        assert silent >= LEASE, silent  # not before its row had expired
        print(f"older sessions ended {time.monotonic() - killed_at:.1f} s after the kill")
        for worker in workers.values():
            health = worker.health()
            # the long query interrupted, every DuckDB session of the old process freed
            assert (health["active_queries"], health["sessions"]) == (0, 0), health
        assert "previous owners that are gone" in c.log()  # the successor's log line
        thread.join(30)
        assert failed, "the long query's client saw no error"
        for wid in wids:  # the last session on each ended: hot-idle, the successor's
            wait_for(lambda wid=wid: fleet.rows()[rows[wid]["name"]]["state"] == "hot_idle",
                     10, "hot_idle")
            assert fleet.rows()[rows[wid]["name"]]["owner"] not in (None, owner)
        with connect(c) as fresh:  # the successor serves on an adopted worker
            assert serving(fresh) in wids
            assert fresh.execute("SELECT id, who FROM killed_t ORDER BY id").fetchall() == \
                [(1, "committed")]  # the open transaction was rolled back
            fresh.execute("INSERT INTO killed_t VALUES (2, 'after')")
            assert fresh.execute("SELECT count(*) FROM killed_t").fetchone() == (2,)
    finally:
        if successor is not None:
            _stop(successor)
        c.stop(timeout=30)
