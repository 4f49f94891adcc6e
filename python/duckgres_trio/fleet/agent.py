"""``duckgres-trio worker``: a long-lived fleet worker (docs/scale-out.md).

It serves the same two ways in as a worker the control plane spawns (worker/): Flight
(control actions, Flight SQL) on ``--listen HOST:PORT`` and the statement path on the
next port, both on TCP, with TLS when ``--tls-cert``/``--tls-key`` are given. Every
Flight call must carry the fleet's bearer token (``--fleet-token-file`` or
``DUCKGRES_FLEET_TOKEN``; never argv: the command line is world-readable), compared in
constant time; the statement path takes only session tokens that an authenticated
CreateSession handed out.

It registers itself in the config store (``fleet.records``: one row per advertised
address, idle, its epoch bumped) and heartbeats. A control plane claims it, activates
it for one organisation's database (DuckLake, so any worker can serve any
organisation) and drives it under its epoch (``fleet.fence``). When its row says it
was written off (``retired``: released, or reclaimed after its owner expired;
``lost``: it was silent), it ends every session, closes the database and registers
again: idle, under a newer epoch, so nothing sent under the old one is served.
SIGTERM/SIGINT: drain (bounded) and exit; the row is left to expire.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import signal
import socket
import ssl
import sys
import threading
from pathlib import Path

import pyarrow.flight as fl
import trio

from duckgres_trio import __version__, logs
from duckgres_trio.fleet import records
from duckgres_trio.fleet.fence import Fence
from duckgres_trio.worker.flight import WorkerFlightServer
from duckgres_trio.worker.main import drain_and_close
from duckgres_trio.worker.session import Sessions
from duckgres_trio.worker.statements import StatementServer

log = logging.getLogger("duckgres_trio.fleet")

TOKEN_ENV = "DUCKGRES_FLEET_TOKEN"
#: What duckgres_worker() reads (engine.pg_catalog).
ID_ENV = "DUCKGRES_FLEET_WORKER_ID"


def parse_address(text: str, what: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65535:
        raise ValueError(f"{what}: expected HOST:PORT, got {text!r}")
    return host.strip("[]"), int(port)


def read_token(path: str | Path | None, environ=os.environ) -> str:
    """The fleet token: the file's first line, else the environment (removed from it
    once read, so no child inherits it)."""
    token = Path(path).read_text().strip().splitlines()[0].strip() if path else \
        environ.pop(TOKEN_ENV, "").strip()
    if len(token) < 16:
        raise ValueError("fleet token: set --fleet-token-file or DUCKGRES_FLEET_TOKEN "
                         "(at least 16 characters)")
    return token


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="duckgres-trio worker",
        description="A long-lived fleet worker registered in the config store "
                    "(docs/scale-out.md). The fleet token comes from --fleet-token-file "
                    f"or {TOKEN_ENV}, never the command line.")
    parser.add_argument("--listen", required=True, metavar="HOST:PORT",
                        help="Flight address; the statement path listens on PORT+1")
    parser.add_argument("--advertise", metavar="HOST:PORT",
                        help="the address control planes reach (default: --listen)")
    parser.add_argument("--config-store", metavar="DSN",
                        default=os.environ.get("DUCKGRES_CONFIG_STORE"),
                        help="libpq connection string (env DUCKGRES_CONFIG_STORE)")
    parser.add_argument("--tls-cert", type=Path, metavar="FILE")
    parser.add_argument("--tls-key", type=Path, metavar="FILE")
    parser.add_argument("--fleet-token-file", type=Path, metavar="FILE",
                        default=os.environ.get("DUCKGRES_FLEET_TOKEN_FILE"))
    parser.add_argument("--data-dir", type=Path, default=Path("data"), metavar="DIR",
                        help="spill and local files")
    parser.add_argument("--heartbeat", type=float, default=5.0, metavar="SECONDS",
                        help="seconds between heartbeats of the worker's row")
    parser.add_argument("--cpu", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--memory", type=int, default=0, metavar="BYTES",
                        help="memory offered (default: the machine's)")
    parser.add_argument("--log-level", default=os.environ.get("DUCKGRES_LOG_LEVEL", "info"),
                        choices=("debug", "info", "warning", "error"))
    parser.add_argument("--log-format", default=os.environ.get("DUCKGRES_LOG_FORMAT", "text"),
                        choices=("text", "keyvalue", "json"))
    return parser


class Agent:
    """The worker's registration: the row, the fence, the reset."""

    def __init__(self, args, sessions: Sessions, fence: Fence, statement_address: str,
                 name: str) -> None:
        self.args = args
        self.sessions = sessions
        self.fence = fence
        self.statement_address = statement_address
        self.name = name
        self.id = 0
        self.incarnation = ""
        self.registrations = 0
        self._reset_now: trio.Event | None = None
        self._token: trio.lowlevel.TrioToken | None = None
        self.ready = threading.Event()
        self.failure: BaseException | None = None

    def health(self) -> dict:
        return {"worker_id": self.id, "registrations": self.registrations,
                "fence": self.fence.report()}

    def request_reset(self) -> None:
        """The owner released the worker (the Reset action, any thread)."""
        if self._token is not None:
            trio.from_thread.run_sync(self._reset_now.set, trio_token=self._token)

    def run(self, stop: threading.Event) -> None:
        try:
            trio.run(self._main, stop)
        except BaseException as exc:  # noqa: BLE001 - reported to the main thread
            self.failure = exc
            log.error("fleet worker: %s", exc)
            stop.set()

    async def _main(self, stop: threading.Event) -> None:
        from duckgres_trio.tenancy import migrate
        from duckgres_trio.tenancy.pgtrio import Connection

        self._token = trio.lowlevel.current_trio_token()
        self._reset_now = trio.Event()
        conn = await Connection.connect(self.args.config_store)
        await migrate.migrate(conn)
        await self._register(conn)
        self.ready.set()
        backoff = 0.25
        while not stop.is_set():
            with trio.move_on_after(self.args.heartbeat):
                await self._reset_now.wait()
            try:
                if conn.closed:
                    conn = await Connection.connect(self.args.config_store)
                if self._reset_now.is_set():
                    self._reset_now = trio.Event()
                    await self._written_off(conn, "released by its control plane")
                    continue
                beat = await records.heartbeat(conn, self.id, self.incarnation)
                backoff = 0.25
            except Exception as exc:  # noqa: BLE001 - the store being down stops nothing
                log.warning("fleet worker: config store: %s", str(exc).splitlines()[0])
                conn.close()
                await trio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            if beat is None:
                log.error("fleet worker: another process registered as %s; stopping",
                          self.name)
                stop.set()
                return
            state, owner, epoch = beat
            if state in ("retired", "lost"):
                await self._written_off(conn, f"its row is {state}")
            else:
                self.fence.raise_floor(epoch, owner)
        conn.close()

    async def _written_off(self, conn, why: str) -> None:
        log.warning("fleet worker %d: %s: ending its sessions and registering again",
                    self.id, why)
        await trio.to_thread.run_sync(self.sessions.deactivate)
        await self._register(conn)

    async def _register(self, conn) -> None:
        self.incarnation = secrets.token_hex(8)
        memory = self.args.memory or os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        self.id, epoch = await records.register(
            conn, name=self.name, statement_address=self.statement_address,
            tls=self.args.tls_cert is not None, version=__version__, cpu=self.args.cpu,
            memory=memory, host=socket.gethostname(), pid=os.getpid(),
            incarnation=self.incarnation)
        os.environ[ID_ENV] = str(self.id)
        self.fence.reset(epoch)
        self.registrations += 1
        log.info("fleet worker %d registered as %s (epoch %d)", self.id, self.name, epoch)


def main(argv: list[str]) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logs.configure(args.log_level, args.log_format)
    try:
        host, port = parse_address(args.listen, "--listen")
        adv_host, adv_port = parse_address(args.advertise or args.listen, "--advertise")
        if not args.config_store:
            raise ValueError("--config-store: the config store's DSN is required")
        if (args.tls_cert is None) != (args.tls_key is None):
            raise ValueError("--tls-cert and --tls-key go together")
        token = read_token(args.fleet_token_file)
        args.data_dir.mkdir(parents=True, exist_ok=True)
    except (ValueError, OSError) as exc:
        print(f"duckgres-trio worker: {exc}", file=sys.stderr)
        return 2
    os.chdir(args.data_dir)  # DuckDB's relative spill directory lands here

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    # three heartbeats without the store: maybe written off, refuse until confirmed
    sessions, fence = Sessions(), Fence(stale_after=max(3 * args.heartbeat, 1.0))
    tls = None
    if args.tls_cert is not None:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(args.tls_cert, args.tls_key)
    listener = socket.create_server((host, port + 1), backlog=1024)
    agent = Agent(args, sessions, fence, f"{adv_host}:{adv_port + 1}", f"{adv_host}:{adv_port}")
    scheme = "grpc+tls" if tls else "grpc+tcp"
    certificates = ([fl.CertKeyPair(args.tls_cert.read_bytes(), args.tls_key.read_bytes())]
                    if tls else None)
    flight = WorkerFlightServer(f"{scheme}://{host}:{port}", token, sessions, fence=fence,
                                on_reset=agent.request_reset, tls_certificates=certificates,
                                health_extra=agent.health)
    statements = StatementServer(listener, sessions, ssl_context=tls)
    threading.Thread(target=statements.serve, daemon=True, name="statements").start()
    registry = threading.Thread(target=agent.run, args=(stop,), daemon=True, name="registry")
    registry.start()
    while not agent.ready.wait(0.2) and not stop.is_set():
        pass
    if agent.failure is not None:
        print(f"duckgres-trio worker: config store: {agent.failure}", file=sys.stderr)
        flight.shutdown()
        return 1
    log.info("fleet worker %d serving on %s (statement path port %d)", agent.id,
             args.listen, port + 1)
    while not stop.wait(1.0):
        pass
    drain_and_close(sessions, statements, flight)
    registry.join(timeout=2)
    log.info("fleet worker %d stopped", agent.id)
    return 0
