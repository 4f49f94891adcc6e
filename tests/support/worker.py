"""A worker process started the way the control plane starts one, for tests that talk
to a worker directly (Flight actions, Flight SQL, the statement path)."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.flight as fl

STARTUP_TIMEOUT = 20.0


@dataclass
class Worker:
    proc: subprocess.Popen
    token: str
    flight_socket: str
    log_path: Path
    statement_socket: str = ""

    @property
    def uri(self) -> str:
        return f"grpc+unix://{self.flight_socket}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def options(self, token: str | None = None) -> fl.FlightCallOptions:
        return fl.FlightCallOptions(
            headers=[(b"authorization", f"Bearer {token or self.token}".encode())])

    def action(self, kind: str, body: dict | None = None) -> dict:
        with fl.connect(self.uri) as client:
            results = list(client.do_action(
                fl.Action(kind, json.dumps(body or {}).encode()), self.options()))
        return json.loads(results[0].body.to_pybytes())

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise


def start_worker(directory: Path) -> Worker:
    """A worker process, spawned as the control plane spawns one: the spec in its
    environment, the statement-path listener inherited as a file descriptor."""
    token = secrets.token_hex(16)
    flight_socket = str(directory / "flight.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(directory / "statements.sock"))
    listener.listen()
    spec = {"token": token, "database": str(directory / "worker.duckdb"),
            "flight_socket": flight_socket, "statement_fd": listener.fileno(),
            "parent_pid": os.getpid(), "duckdb_config": {}}
    log_path = directory / "worker.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "duckgres_trio.worker.main"],
            env={**os.environ, "DUCKGRES_WORKER": json.dumps(spec)},
            pass_fds=[listener.fileno()], stdout=log, stderr=subprocess.STDOUT)
    listener.close()
    worker = Worker(proc, token, flight_socket, log_path, str(directory / "statements.sock"))
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"worker exited with {proc.returncode}:\n{worker.log()}")
        try:
            if worker.action("HealthCheck")["healthy"]:
                return worker
        except (fl.FlightError, pa.ArrowException, OSError):
            pass
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"worker did not answer HealthCheck:\n{worker.log()}")
        time.sleep(0.05)


def running_worker() -> Iterator[Worker]:
    """A worker for a module-scoped fixture (``yield from running_worker()``), stopped
    with SIGTERM at the end, which must exit 0."""
    # Unix socket paths are short (108 bytes): not under pytest's deep tmp_path.
    directory = Path(tempfile.mkdtemp(prefix="dgfsql-"))
    w = start_worker(directory)
    yield w
    code = w.stop()
    shutil.rmtree(directory, ignore_errors=True)
    assert code == 0, f"worker exit code {code}:\n{w.log()}"


