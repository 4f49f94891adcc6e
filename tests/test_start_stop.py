"""Starting and stopping as a user meets them: a startup failure is one line on stderr
and exit status 2; Ctrl-C drains, Ctrl-C again cancels and stops at once (databases
checkpointed, exit 0), a third Ctrl-C or SIGQUIT exits immediately."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import pytest

from duckgres_trio import config
from tests.conftest import free_port

LONG = "select count(*) from range(50000000000)"
CONTROLPLANE = os.environ.get("DUCKGRES_MODE", "controlplane") == "controlplane"


def run_server(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "duckgres_trio", "--host", "127.0.0.1",
                           "--metrics-address", "", *args],
                          capture_output=True, text=True, timeout=60)


def assert_one_line_exit_2(result: subprocess.CompletedProcess, *expected: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("duckgres-trio:")]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr and "ExceptionGroup" not in result.stderr
    for text in expected:
        assert text in lines[0], lines[0]


def test_a_taken_port_is_one_line_and_exit_2(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_server("--port", str(port), "--data-dir", str(tmp_path / "d"))
    assert_one_line_exit_2(result, f"port {port}", "Address already in use")
    # bound before anything started: no worker was spawned for nothing
    assert "worker 1" not in result.stderr


def test_an_unusable_data_directory_is_one_line_and_exit_2(tmp_path):
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    result = run_server("--port", str(free_port()), "--data-dir", str(not_a_dir))
    assert_one_line_exit_2(result, "data_dir", "not a directory")
    result = run_server("--port", str(free_port()), "--data-dir", str(not_a_dir / "sub"))
    assert_one_line_exit_2(result, "data_dir", "cannot create")


def _pem_pair(directory: Path, name: str) -> tuple[Path, Path]:
    from duckgres_trio.frontend import tls

    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    tls.ensure_certificate(cert, key)
    return cert, key


@pytest.mark.parametrize("case, expected", [
    ("garbage", "not a PEM certificate and key"),
    ("other key", "the key is not the certificate's"),
    ("key missing", "must both exist"),
    ("key readable by others", "group or world access"),
])
def test_a_bad_certificate_or_key_is_one_line_and_exit_2(tmp_path, case, expected):
    cert, key = _pem_pair(tmp_path, "a")
    if case == "garbage":
        cert.write_text("not a certificate\n")
    elif case == "other key":
        key = _pem_pair(tmp_path, "b")[1]
    elif case == "key missing":
        key.unlink()
    else:
        key.chmod(0o644)
    result = run_server("--port", str(free_port()), "--data-dir", str(tmp_path / "d"),
                        "--tls-cert", str(cert), "--tls-key", str(key))
    assert_one_line_exit_2(result, "TLS", expected)


# -- stopping ----------------------------------------------------------------------------


def _wait_for_log(server, text: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while text not in server.log():
        assert time.monotonic() < deadline, f"no {text!r} in the log:\n{server.log()}"
        assert server.proc.poll() is None, server.log()
        time.sleep(0.01)


class Running:
    """A long statement on its own connection and thread; ``error`` is what it got."""

    def __init__(self, server) -> None:
        self.conn = psycopg.connect(server.dsn(dbname="shop"), autocommit=True)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run)
        self.thread.start()
        deadline = time.monotonic() + 20
        with psycopg.connect(server.dsn(), autocommit=True) as probe:
            while not probe.execute(
                    "select count(*) from pg_stat_activity where state = 'active' "
                    "and query like 'select count(*) from range%'").fetchone()[0]:
                assert time.monotonic() < deadline, "the statement did not start"
                time.sleep(0.05)

    def _run(self) -> None:
        try:
            self.conn.execute(LONG)
        except BaseException as exc:  # noqa: BLE001 - inspected by the test
            self.error = exc
        finally:
            self.conn.close()


def _with_data(start_server):
    server = start_server("--handover-drain-timeout", "5m")
    with psycopg.connect(server.dsn(dbname="shop"), autocommit=True) as conn:
        conn.execute("create table items (id int primary key, name text)")
        conn.execute("insert into items select i, 'item ' || i from range(1000) t(i)")
    return server


def test_two_sigints_cancel_a_running_statement_and_stop_within_2s(start_server):
    server = _with_data(start_server)
    socket_dir = config.load(None, {"data_dir": str(server.data_dir)}, {}).worker_socket_dir
    if CONTROLPLANE:
        assert socket_dir.is_dir()
    running = Running(server)
    server.proc.send_signal(signal.SIGINT)
    _wait_for_log(server, "received SIGINT: draining 1 session for at most 5m")
    assert server.proc.poll() is None  # the drain waits for the statement
    started = time.monotonic()
    server.proc.send_signal(signal.SIGINT)
    code = server.proc.wait(10)
    elapsed = time.monotonic() - started
    running.thread.join(10)
    assert code == 0, server.log()
    assert elapsed < 2.0, f"stopped after {elapsed:.1f} s:\n{server.log()}"
    assert "received SIGINT again: cancelling 1 running session" in server.log()
    assert isinstance(running.error, psycopg.OperationalError), running.error
    assert not socket_dir.exists(), "the empty socket directory is left behind"
    # the databases are intact: a new server on the same directory has the data
    again = start_server(data_dir=server.data_dir)
    with psycopg.connect(again.dsn(dbname="shop")) as conn:
        assert conn.execute("select count(*), max(name) from items").fetchone() == (
            1000, "item 999")
    assert again.stop() == 0


def test_a_third_stop_signal_exits_at_once(start_server):
    server = _with_data(start_server)
    Running(server)
    server.proc.send_signal(signal.SIGINT)
    _wait_for_log(server, "draining 1 session")
    # Back to back, so the fast stop has no time to finish first: SIGINT and SIGTERM
    # (one signal sent twice at once may arrive once); which comes first is the kernel's.
    server.proc.send_signal(signal.SIGTERM)
    server.proc.send_signal(signal.SIGINT)
    assert server.proc.wait(2) == 1, server.log()
    assert "again: cancelling" in server.log() and "exiting immediately" in server.log()
    _reopen_after_immediate_exit(start_server, server)


def test_sigquit_exits_at_once(start_server):
    server = _with_data(start_server)
    Running(server)
    server.proc.send_signal(signal.SIGQUIT)
    assert server.proc.wait(2) == 1, server.log()
    assert "received SIGQUIT: exiting immediately" in server.log()
    _reopen_after_immediate_exit(start_server, server)


def _reopen_after_immediate_exit(start_server, server) -> None:
    """Nothing was checkpointed, yet a new server on the directory has every committed
    row (DuckDB replays its WAL; control plane workers stop when their parent is gone)."""
    again = start_server(data_dir=server.data_dir)
    with psycopg.connect(again.dsn(dbname="shop")) as conn:
        assert conn.execute("select count(*) from items").fetchone() == (1000,)
    assert again.stop() == 0
