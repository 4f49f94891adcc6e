"""The servers the harness compares, each started on loopback and stopped afterwards.

duckgres-trio runs as users run it (tests/conftest.py's ServerProcess), twice: control
plane and standalone. Both get TLS *optional* and SCRAM-SHA-256 (the default user
postgres/postgres): throughput workloads connect once in plaintext, and the connection
rate workload asks for TLS on the same servers, so every workload runs against one
configuration. PostgreSQL 15 is tests/support/pg15.py's throwaway cluster, reconfigured
the same way (self-signed certificate, ssl=on, scram-sha-256 in pg_hba) plus what the
workloads need: 1,100 connections for the idle-session memory workload and the memory
settings a DBA gives an analytics box of this size (shared_buffers, work_mem). buenavista
(PyPI) gets its own virtualenv, created on first use; when it cannot be installed or
started the harness says why and goes on without it.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from duckgres_trio.frontend.tls import ensure_certificate  # noqa: E402
from tests.conftest import ServerProcess, free_port  # noqa: E402
from tests.support.pg15 import PG_USER, _as_postgres, _bindir, running_pg15  # noqa: E402

PASSWORD = "postgres"
BUENAVISTA_VENV = ROOT / ".venv-buenavista"
BUENAVISTA_PACKAGES = ["buenavista", "duckdb<2", "python-dateutil", "pyarrow"]
MAX_CONNECTIONS = 1100
PG_SETTINGS = {
    "ssl": "on",
    "max_connections": str(MAX_CONNECTIONS),
    "shared_buffers": "2GB",
    "work_mem": "64MB",
    "maintenance_work_mem": "1GB",
    "effective_cache_size": "12GB",
    "password_encryption": "scram-sha-256",
}


class Unavailable(Exception):
    """A system that cannot be run here; the reason goes into the table."""


@dataclass
class System:
    """A PostgreSQL-wire server on 127.0.0.1 with user postgres/postgres.

    `dialect` is the SQL its setup statements are written in ("duckdb" or "postgres");
    `setup` runs them (buenavista loads its DuckDB file directly, see Buenavista);
    `root_pid` is the process whose tree is the server's memory."""

    name: str
    kind: str
    port: int
    dialect: str
    root_pid: Callable[[], int]
    tls_scram: bool = True
    setup: Callable[[str, list[str]], None] | None = None
    log: Callable[[], str] = lambda: ""
    restart: Callable[[], None] | None = None  # stops a query the server cannot cancel

    def conninfo(self, dbname: str, sslmode: str = "disable") -> str:
        return (f"host=127.0.0.1 port={self.port} user=postgres password={PASSWORD} "
                f"dbname={dbname} sslmode={sslmode}")

    def pgbench_args(self, dbname: str, sslmode: str = "disable") -> list[str]:
        """pgbench connection arguments; the database argument is a conninfo string
        (libpq expands it) so sslmode survives pgbench_lookup.pgbench_tps's PGSSLMODE."""
        return ["-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                f"dbname={dbname} sslmode={sslmode}"]

    def create_database(self, dbname: str) -> None:
        """PostgreSQL needs CREATE DATABASE; duckgres-trio creates one on first connect and
        buenavista has only one."""
        if self.kind != "postgresql":
            return
        with psycopg.connect(self.conninfo("postgres"), autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                (dbname,)).fetchone():
                conn.execute(f"CREATE DATABASE {dbname}")

    def run_setup(self, dbname: str, statements: list[str]) -> None:
        if self.setup is not None:
            self.setup(dbname, statements)
            return
        with psycopg.connect(self.conninfo(dbname), autocommit=True) as conn:
            for sql in statements:
                conn.execute(sql)


def _wait_port(port: int, proc: subprocess.Popen, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise Unavailable(f"exited with {proc.returncode}: "
                              f"{log.read_text(errors='replace')[-300:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise Unavailable(f"did not listen within {timeout:.0f} s")


@contextlib.contextmanager
def duckgres(mode: str, workdir: Path, statement_timeout: float) -> Iterator[System]:
    server = ServerProcess(workdir / f"duckgres-{mode}", [
        "--mode", mode, "--tls", "optional", "--auth-method", "scram-sha-256",
        "--max-connections", str(MAX_CONNECTIONS), "--metrics-address", "",
        "--statement-timeout", f"{statement_timeout:g}s", "--log-level", "warning",
        # TPC-H loads with a server-side COPY FROM of the generated CSVs outside data_dir
        "--file-access", "all"]).start()
    try:
        yield System(f"duckgres {'control plane' if mode == 'controlplane' else mode}",
                     "duckgres", server.port, "duckdb", lambda: server.proc.pid,
                     log=server.log)
    finally:
        with contextlib.suppress(Exception):
            server.stop(timeout=60)


def _pg_restart(datadir: str) -> None:
    """pg_ctl restart keeps running_pg15's options; -l so the new postmaster does not
    hold our stdout pipe open (its log goes where running_pg15 put it)."""
    log = str(Path(datadir).parent / "log")
    result = subprocess.run(_as_postgres([str(_bindir() / "pg_ctl"), "-D", datadir, "-w",
                                          "-m", "fast", "-l", log, "restart"]),
                            stdin=subprocess.DEVNULL, capture_output=True, text=True,
                            timeout=120)
    if result.returncode != 0:
        raise RuntimeError(f"pg_ctl restart failed:\n{result.stdout}\n{result.stderr}")


def _configure_pg(dsn: str, extra: dict[str, str]) -> str:
    """TLS, SCRAM and the settings above on running_pg15's trust-only cluster; returns
    its data directory. Unix-socket connections stay trust (the harness's own admin)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        datadir = conn.execute("SHOW data_directory").fetchone()[0]
        conn.execute(f"ALTER USER postgres PASSWORD '{PASSWORD}'")
        for name, value in {**PG_SETTINGS, **extra}.items():
            conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")
    owner = pwd.getpwnam(PG_USER)
    cert, key = Path(datadir) / "server.crt", Path(datadir) / "server.key"
    ensure_certificate(cert, key)
    hba = Path(datadir) / "pg_hba.conf"
    hba.write_text("local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n")
    if os.geteuid() == 0:
        for path in (cert, key, hba):
            os.chown(path, owner.pw_uid, owner.pw_gid)
    _pg_restart(datadir)
    return datadir


@contextlib.contextmanager
def postgresql(statement_timeout: float) -> Iterator[System]:
    with running_pg15() as dsn:
        datadir = _configure_pg(dsn, {"statement_timeout": f"{statement_timeout:g}s"})
        port = int(dict(p.split("=", 1) for p in dsn.split())["port"])

        def root_pid() -> int:
            return int((Path(datadir) / "postmaster.pid").read_text().split()[0])

        log = Path(datadir).parent / "log"
        yield System("postgresql-15", "postgresql", port, "postgres", root_pid,
                     log=lambda: log.read_text(errors="replace") if log.exists() else "")


def buenavista_python() -> Path:
    """The buenavista venv's python, installing it on first use (never into .venv: it
    pins its own duckdb)."""
    python = BUENAVISTA_VENV / "bin" / "python"
    marker = BUENAVISTA_VENV / ".installed"
    wanted = " ".join(BUENAVISTA_PACKAGES) + "\n"
    if not marker.exists() or marker.read_text() != wanted:
        try:
            if not python.exists():
                subprocess.run(["python3", "-m", "venv",
                                str(BUENAVISTA_VENV)], check=True, capture_output=True,
                               text=True, timeout=120)
            subprocess.run([str(python), "-m", "pip", "install", "-q", *BUENAVISTA_PACKAGES],
                           check=True, capture_output=True, text=True, timeout=600)
        except subprocess.CalledProcessError as exc:
            lines = (exc.stderr or exc.stdout or "").strip().splitlines() or ["no output"]
            raise Unavailable(f"pip install failed: {lines[-1][:160]}") from exc
        except (subprocess.TimeoutExpired, OSError) as exc:
            raise Unavailable(f"install failed: {exc}") from exc
        marker.write_text(wanted)
    check = subprocess.run([str(python), "-c", "import buenavista.examples.duckdb_postgres"],
                           capture_output=True, text=True)
    if check.returncode != 0:
        raise Unavailable(f"import failed: {check.stderr.strip().splitlines()[-1][:160]}")
    return python


_LOADER = ("import duckdb, json, sys\n"
           "con = duckdb.connect(sys.argv[1])\n"
           "for sql in json.load(sys.stdin):\n"
           "    con.execute(sql)\n"
           "con.close()\n")


class Buenavista:
    """buenavista's DuckDB example server (`python -m buenavista.examples.duckdb_postgres
    FILE`, address from BUENAVISTA_HOST/PORT; plaintext, no authentication). It serves one
    DuckDB file for every database name and has no COPY FROM STDIN, so data is loaded
    into the file directly by its own duckdb while the server is stopped."""

    def __init__(self, python: Path, workdir: Path) -> None:
        self.python = python
        self.db = workdir / "buenavista.duckdb"
        self.logfile = workdir / "buenavista.log"
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        env = {**os.environ, "BUENAVISTA_HOST": "127.0.0.1", "BUENAVISTA_PORT": str(self.port)}
        with open(self.logfile, "ab") as log:
            self.proc = subprocess.Popen(
                [str(self.python), "-m", "buenavista.examples.duckdb_postgres", str(self.db)],
                stdout=log, stderr=subprocess.STDOUT, env=env)
        _wait_port(self.port, self.proc, self.logfile)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def setup(self, _dbname: str, statements: list[str]) -> None:
        self.stop()
        try:
            subprocess.run([str(self.python), "-c", _LOADER, str(self.db)],
                           input=json.dumps(statements), text=True, check=True,
                           capture_output=True, timeout=1800)
        except subprocess.CalledProcessError as exc:
            raise RuntimeError(exc.stderr.strip().splitlines()[-1]) from exc
        finally:
            self.start()

    def log(self) -> str:
        return self.logfile.read_text(errors="replace") if self.logfile.exists() else ""


@contextlib.contextmanager
def buenavista(workdir: Path) -> Iterator[System]:
    server = Buenavista(buenavista_python(), workdir)
    server.start()
    try:
        yield System("buenavista", "buenavista", server.port, "duckdb",
                     lambda: server.proc.pid, tls_scram=False, setup=server.setup,
                     log=server.log, restart=lambda: (server.stop(), server.start()))
    finally:
        server.stop()


def buenavista_version() -> str:
    python = BUENAVISTA_VENV / "bin" / "python"
    if not python.exists():
        return "not installed"
    out = subprocess.run([str(python), "-m", "pip", "list", "--format", "json"],
                         capture_output=True, text=True)
    try:
        versions = {p["name"].lower(): p["version"] for p in json.loads(out.stdout)}
    except ValueError:
        return "unknown"
    return f"buenavista {versions.get('buenavista', '?')} (duckdb {versions.get('duckdb', '?')})"
