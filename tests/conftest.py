"""Fixtures that run the real server as a subprocess, the way users run it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

STARTUP_TIMEOUT = 30.0

#: CI runs the suite twice side by side (ci/test.sh): DUCKGRES_MODE=controlplane with the
#: Rust codec, and standalone with the Python one. A test that would run the same in
#: both is marked, and the standalone run deselects it: ``controlplane_only`` (it starts
#: control-plane servers or workers itself, or names its modes explicitly) and
#: ``mode_independent`` (no server, nothing DUCKGRES_MODE or DUCKGRES_CODEC choose). The
#: codec is no reason to keep the first: the control plane's frontend encodes with the
#: same code as a standalone server's, which every standalone test runs with the Python
#: codec.
ONCE = {
    "controlplane_only": "starts control-plane servers or workers itself, whatever "
                         "DUCKGRES_MODE says",
    "mode_independent": "starts no server and depends on neither DUCKGRES_MODE nor "
                        "DUCKGRES_CODEC",
}


def pytest_configure(config):
    for name, why in ONCE.items():
        config.addinivalue_line("markers", f"{name}: {why}; deselected when "
                                "DUCKGRES_MODE=standalone (it runs in the controlplane run)")


def pytest_collection_modifyitems(config, items):
    if os.environ.get("DUCKGRES_MODE", "controlplane") != "standalone":
        return
    deselected = [item for item in items if any(item.get_closest_marker(m) for m in ONCE)]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if item not in set(deselected)]
        config._once_deselected = len(deselected)


def pytest_report_collectionfinish(config):
    count = getattr(config, "_once_deselected", 0)
    if count:
        return (f"{count} tests deselected: marked {' or '.join(ONCE)} (they run the same "
                "whatever DUCKGRES_MODE says), so they run in the controlplane run only")
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class ServerProcess:
    """A duckgres-trio process on 127.0.0.1 with its own data directory."""

    data_dir: Path
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    proc: subprocess.Popen | None = None
    #: What runs after the interpreter: the package, or a test's own launcher script.
    program: tuple[str, ...] = ("-m", "duckgres_trio")

    @property
    def log_path(self) -> Path:
        return self.data_dir.parent / f"{self.data_dir.name}-server.log"

    def start(self) -> ServerProcess:
        if not any(server is self for server in _RUNNING):
            _RUNNING.append(self)
        self.port = self.port or free_port()
        env = {**os.environ, **self.env}
        cmd = [sys.executable, *self.program, "--host", "127.0.0.1",
               "--port", str(self.port), "--data-dir", str(self.data_dir), *self.args]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"server did not start:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def dsn(self, *, user: str = "postgres", password: str = "postgres",
            dbname: str = "postgres", sslmode: str = "require", **extra: str) -> str:
        parts = {"host": "127.0.0.1", "port": str(self.port), "user": user,
                 "password": password, "dbname": dbname, "sslmode": sslmode, **extra}
        return " ".join(f"{k}={_quote(v)}" for k, v in parts.items())

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60.0) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise


#: Servers started and not yet seen exited at a test's start: a failing test's report
#: carries what each logged while it ran (the shared server's log is not printed
#: otherwise, and a worker failure's cause is only there).
_RUNNING: list[ServerProcess] = []
LOG_TAIL_CHARS = 20_000


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    _RUNNING[:] = [s for s in _RUNNING if s.proc is None or s.proc.poll() is None]
    item._server_log_offsets = {
        id(s): s.log_path.stat().st_size if s.log_path.exists() else 0 for s in _RUNNING}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.failed and call.when in ("setup", "call"):
        offsets = getattr(item, "_server_log_offsets", {})
        for server in _RUNNING:
            if not server.log_path.exists():
                continue
            with open(server.log_path, "rb") as log:
                log.seek(offsets.get(id(server), 0))
                text = log.read().decode(errors="replace")
            if text:
                if len(text) > LOG_TAIL_CHARS:
                    text = "[...]" + text[-LOG_TAIL_CHARS:]
                report.sections.append((f"server log during the test: {server.log_path}", text))
    return report


def _quote(value: str) -> str:
    """libpq connection-string quoting."""
    if value and not any(c in value for c in " '\\"):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


@pytest.fixture
def start_server(tmp_path):
    """Factory: start a server with extra CLI args / env; all are stopped at the end."""
    started: list[ServerProcess] = []

    def start(*args: str, env: dict[str, str] | None = None, data_dir: Path | None = None,
              port: int = 0) -> ServerProcess:
        server = ServerProcess(data_dir or tmp_path / f"data{len(started)}", list(args),
                               env or {}, port)
        started.append(server)
        return server.start()

    yield start
    for server in started:
        if server.proc and server.proc.poll() is None:
            server.stop(signal.SIGKILL)


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """One server shared by the tests that need no special configuration."""
    srv = ServerProcess(tmp_path_factory.mktemp("shared") / "data").start()
    yield srv
    code = srv.stop()
    assert code == 0, f"server exit code {code}:\n{srv.log()}"
