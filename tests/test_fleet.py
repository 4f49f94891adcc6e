"""A remote worker fleet coordinated through the config store (issue 23, first slice;
docs/scale-out.md): real processes, a throwaway PostgreSQL 15 as config store and
DuckLake catalog, four `duckgres-trio worker` processes on loopback addresses
127.0.0.2-5 (standing in for hosts) with TLS and the fleet token, and two control
planes with ``worker_backend: remote``.

One fleet per module; the tests run in order and the later ones break things (SIGSTOP
of a worker, kill -9 of a control plane), so each leaves what the next needs.
Leases are short here (4 s, grace 1 s) so failure handling is seen in seconds.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pyarrow.flight as fl
import pytest

from tests.conftest import ServerProcess, free_port
from tests.support.config_store import admin, ok
from tests.support.pg15 import pg15_cluster

TOKEN = "fleet-token-" + "f" * 32
HOSTS = ("127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5")
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

    def rows(self) -> dict[str, dict]:
        """The workers' rows by name."""
        with psycopg.connect(self.store.dsn, autocommit=True) as conn:
            cur = conn.execute("SELECT name, id, state, owner_cp, owner_epoch, retire_reason "
                               "FROM duckgres.fleet_workers")
            return {r[0]: dict(zip(("name", "id", "state", "owner", "epoch", "reason"), r))
                    for r in cur}

    def store_sql(self, sql: str, *params) -> list[tuple]:
        with psycopg.connect(self.store.dsn, autocommit=True) as conn:
            return conn.execute(sql, params).fetchall()

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
        "--worker-queue-timeout", "20s"]).start()


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    root = tmp_path_factory.mktemp("fleet")
    _certificates(root)
    (root / "token").write_text(TOKEN + "\n")
    with pg15_cluster() as store:
        ok(admin(store.dsn, "org", "create", "acme"))
        ok(admin(store.dsn, "user", "create", "acme", "alice", password="alice-pw"))
        fleet = Fleet(root, store)
        try:
            fleet.workers = [FleetWorker(root, host, store.dsn).start() for host in HOSTS]
            wait_for(lambda: len([r for r in fleet.rows().values() if r["state"] == "idle"])
                     == 4, 30, "four idle workers")
            fleet.planes = [_plane(root, name, store.dsn) for name in ("cp-a", "cp-b")]
            yield fleet
        finally:
            for plane in fleet.planes:
                if plane.proc and plane.proc.poll() is None:
                    plane.stop(timeout=30)
            for worker in fleet.workers:
                if worker.proc.poll() is None:
                    worker.proc.send_signal(signal.SIGCONT)
                    worker.proc.terminate()
            for worker in fleet.workers:
                try:
                    worker.proc.wait(15)
                except subprocess.TimeoutExpired:
                    worker.proc.kill()


def connect(plane: ServerProcess, **kw) -> psycopg.Connection:
    return psycopg.connect(plane.dsn(user="alice", password="alice-pw", dbname="acme"),
                           autocommit=True, connect_timeout=20, **kw)


def serving(conn) -> int:
    return conn.execute("SELECT duckgres_worker()").fetchone()[0]


# -- the tests, in order -----------------------------------------------------------------

def test_sessions_of_one_org_spread_over_workers_of_both_control_planes(fleet):
    a, b = fleet.planes
    conns = [connect(a), connect(a), connect(b), connect(b)]
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
