"""A throwaway PostgreSQL 15 cluster for differential tests.

PostgreSQL refuses to run as root, and these tests do run as root, so initdb and the
server run as the ``postgres`` OS user in a temporary directory that user owns. The
cluster listens on 127.0.0.1 only, on a port picked free just before start, with trust
auth and fsync off (it is thrown away). A missing installation is an error, not a skip:
the differential tests are the point of the suite.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_MAJOR = "15"
PG_USER = "postgres"


def _bindir() -> Path:
    """The directory holding initdb and pg_ctl of a PostgreSQL 15 installation."""
    candidates = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        if out.returncode == 0:
            candidates.append(Path(out.stdout.strip()))
    candidates.append(Path(f"/usr/lib/postgresql/{PG_MAJOR}/bin"))
    for bindir in candidates:
        initdb = bindir / "initdb"
        if initdb.exists() and (bindir / "pg_ctl").exists():
            version = subprocess.run([initdb, "--version"], capture_output=True, text=True)
            if f") {PG_MAJOR}." in version.stdout:
                return bindir
    raise RuntimeError(
        f"PostgreSQL {PG_MAJOR} is not installed (looked in {[str(c) for c in candidates]}); "
        "the differential tests need it"
    )


def _as_postgres(argv: list[str]) -> list[str]:
    """Prefix argv so it runs as the postgres user when we are root."""
    if os.geteuid() == 0:
        return ["runuser", "-u", PG_USER, "--", *argv]
    return argv


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run(argv: list[str]) -> None:
    proc = subprocess.run(_as_postgres(argv), capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")


class Cluster:
    """A throwaway cluster that a test may stop and start again (a config store outage)."""

    def __init__(self, bindir: Path, root: Path, listen: str = "127.0.0.1") -> None:
        self.bindir, self.root, self.datadir = bindir, root, root / "data"
        self.listen = listen
        self.port = _free_port()

    @property
    def dsn(self) -> str:
        return f"host=127.0.0.1 port={self.port} user={PG_USER} dbname=postgres"

    def start(self) -> None:
        options = f"-c listen_addresses={self.listen} -p {self.port} -k {self.root} -c fsync=off"
        _run([str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-l",
              str(self.root / "log"), "-o", options, "-w", "start"])

    def stop(self, mode: str = "immediate") -> None:
        _run([str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", mode, "-w", "stop"])


@contextlib.contextmanager
def pg15_cluster(listen: str = "127.0.0.1", trust: tuple[str, ...] = ()) -> Iterator[Cluster]:
    """Start a fresh PostgreSQL 15 cluster, yield it, stop (if running) and delete it.
    ``listen``: listen_addresses (comma-separated); ``trust``: networks (CIDR) whose
    clients it trusts besides loopback. For a test network namespace's host address
    (tests/test_fleet_ops.py)."""
    bindir = _bindir()
    root = Path(tempfile.mkdtemp(prefix="duckgres-pg15-"))
    try:
        if os.geteuid() == 0:
            pw = pwd.getpwnam(PG_USER)
            os.chown(root, pw.pw_uid, pw.pw_gid)
        cluster = Cluster(bindir, root, listen)
        _run([str(bindir / "initdb"), "-D", str(cluster.datadir), "-U", PG_USER,
              "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"])
        with open(cluster.datadir / "pg_hba.conf", "a") as hba:  # trust, as for loopback
            hba.writelines(f"host all all {network} trust\n" for network in trust)
        cluster.start()
        try:
            yield cluster
        finally:
            if (cluster.datadir / "postmaster.pid").exists():
                cluster.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def running_pg15() -> Iterator[str]:
    """Start a fresh PostgreSQL 15 cluster, yield its DSN, stop and delete it."""
    with pg15_cluster() as cluster:
        yield cluster.dsn


@pytest.fixture(scope="session")
def pg15_dsn() -> Iterator[str]:
    """DSN of a PostgreSQL 15 cluster shared by the whole test session."""
    with running_pg15() as dsn:
        yield dsn


def fresh_database(pg15_dsn: str, name: str) -> str:
    """The DSN of database ``name`` on the reference cluster, dropped and created empty
    (a module's schema starts from nothing on every run)."""
    import psycopg

    with psycopg.connect(pg15_dsn, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}"')
        conn.execute(f'create database "{name}"')
    return pg15_dsn.replace("dbname=postgres", f"dbname={name}")
