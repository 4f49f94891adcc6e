"""The listener: accepts clients, owns the connections, cancels and shuts them down.

One nursery holds the accept loop and one task per connection. Shutdown (SIGTERM or
SIGINT) drains: new connections are still accepted but answered FATAL 57P03 (a client
sees "shutting down", not a refused port), every connection is told to finish (idle
ones close at once with FATAL 57P01), running statements get up to
``handover_drain_timeout``; then what is left is cancelled, which interrupts DuckDB,
the listener closes and the engine stops its workers. A second SIGINT/SIGTERM cuts the
wait short (PostgreSQL's fast shutdown); a third, or SIGQUIT, exits on the spot.
"""

from __future__ import annotations

import functools
import hmac
import logging
import math
import os
import secrets
import signal
import ssl
from collections import Counter
from pathlib import Path

import trio

from duckgres_trio import metrics
from duckgres_trio.config import Config, ConfigError, show_duration
from duckgres_trio.engine import profiles
from duckgres_trio.engine.base import BUSY_WAIT_SECONDS, Engine
from duckgres_trio.engine.databases import busy
from duckgres_trio.errors import PgError, SqlState
from duckgres_trio.frontend import listen, scram, systemd, tls, upgrade
from duckgres_trio.frontend.activity import Activity
from duckgres_trio.frontend.connection import Connection, tune_socket
from duckgres_trio.frontend.limits import ClientLimits
from duckgres_trio.frontend.metrics_server import serve_metrics
from duckgres_trio.frontend.notify import Notifier
from duckgres_trio.frontend.origins import Catalogs
from duckgres_trio.frontend.turns import LocalTurns, Turns
from duckgres_trio.sql import lake_ddl, lockdown

log = logging.getLogger(__name__)

#: How often running statements are checked for a client that has gone (seconds).
HANGUP_CHECK = 0.5
#: An upgrade waits this long for connections still starting up before the workers are
#: handed over (slower ones end with FATAL 57P03 and reconnect to the successor); the
#: successor's new sessions wait meanwhile, so it is short.
STARTUP_SETTLE_SECONDS = 1.0

DEFAULT_USER, DEFAULT_PASSWORD = "postgres", "postgres"
#: Banned clients told why at the same time, at most; more are closed unanswered.
BAN_NOTICES = 8


def banned(remaining: float) -> PgError:
    """What a banned address hears, once it has sent its startup packet."""
    return PgError(SqlState.INVALID_AUTHORIZATION_SPECIFICATION,
                   "too many failed login attempts from this address; "
                   f"retry after {math.ceil(remaining)} s", severity="FATAL")

#: Signals that stop the server (SIGQUIT: at once).
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT)


class Server:
    def __init__(self, config: Config, engine: Engine, *, tenancy: bool = False) -> None:
        """``tenancy``: ``engine`` is a ``tenancy.engines.Tenancy`` (many organisations,
        users from its snapshot); else one engine and the configured users."""
        self.config = config
        self.engine = engine
        self.profile_limits = profiles.Limits.from_config(config)  # worker profiles
        self.tenancy = engine if tenancy else None
        self.users = {} if tenancy else load_users(config)
        self._per_org: Counter[str] = Counter()  # sessions per organisation
        self._per_role: Counter[tuple[str, str]] = Counter()  # per (organisation, user)
        lockdown.configure(config.allowed_extensions)
        lake_ddl.configure(config.storage)  # before any statement is classified
        if self.tenancy is None:  # an organisation's SQL reaches its own directory only
            _warn_if_sql_reads_the_key(config)
        self.mock_secret = secrets.token_bytes(32)
        self.ssl_context: ssl.SSLContext | None = None
        self.channel_binding: bytes | None = None
        if config.tls != "disabled":
            self.ssl_context, self.channel_binding = _tls_setup(config)
        self.limits = ClientLimits(
            max_per_ip=config.max_connections_per_ip,
            failure_limit=config.auth_failure_limit,
            failure_window=config.auth_failure_window,
            ban_duration=config.auth_ban_duration,
            exempt=config.auth_ban_exempt,
        )
        metrics.gauge_from(metrics.rate_limited_ips, self.limits.banned_count)
        if self.tenancy is not None:
            metrics.per_org(lambda: {
                "connections": self._per_org, "workers": self.tenancy.workers_by_org(),
                "waiting": self.tenancy.waiting_by_org()})
        self.notifier = Notifier()  # LISTEN/NOTIFY between this server's sessions
        self._org_notifiers: dict[str, Notifier] = {}  # ... of each organisation's, apart
        # result columns' origins, per database (frontend/origins.py); likewise apart
        self.catalogs = Catalogs()
        self._org_catalogs: dict[str, Catalogs] = {}
        # conflicting writers' turns per database (frontend/turns.py); likewise apart
        self.turns: Turns = self._new_turns(None)
        self._org_turns: dict[str, Turns] = {}
        self.config_store = None  # tenancy.store.ConfigStore with a config_store DSN
        self.user_secrets = None  # tenancy.secrets.UserSecrets, with it
        if config.config_store:
            from duckgres_trio.tenancy.store import ConfigStore

            from duckgres_trio.tenancy import secrets as user_secrets

            self.config_store = ConfigStore(config.config_store, config.config_poll_interval)
            try:
                key = user_secrets.load_key()
            except user_secrets.SealingKeyError as exc:
                raise ConfigError(str(exc)) from None
            self.user_secrets = user_secrets.UserSecrets(
                config.config_store, key, self.current_snapshot)
        self._by_pid: dict[int, Connection] = {}
        self._connections: set[Connection] = set()
        self._next_pid = secrets.randbelow(1 << 20) + 1000
        self._ban_notices = 0  # banned clients being told so right now
        self._shutting_down = False
        self._handed_over = False  # a successor took the listeners (SIGUSR1)
        self._drained: trio.Event | None = None  # made at shutdown, set when no connection is left
        self._serving = None  # (listeners, accept scope) once accepting
        self._fast = False  # a second SIGINT/SIGTERM: stop waiting for the drain
        self._drain_scope = trio.CancelScope()  # the drain's current wait

    # -- tenants ---------------------------------------------------------------------

    def current_snapshot(self):
        """The organisations and users (tenancy.directory.Snapshot) as last read from the
        config store; None without one (the single-tenant ``users`` setting applies).
        Only memory is read: authentication never waits for the store."""
        return self.config_store.current() if self.config_store is not None else None

    def secrets_shared_with_other_users(self, org: str | None) -> bool:
        """Whether a session of ``org`` runs on a DuckDB instance that other users'
        sessions may share: DuckDB 1.5.5 keeps secrets per instance, so there a user's
        secret would be another's. Only control-plane workers on DuckLake serve one user
        at a time (controlplane.sessions); one tenant's users share everything anyway."""
        return org is not None and not (self.config.mode == "controlplane"
                                        and self.config.storage == "ducklake")

    def persistent_secrets_for(self, org: str | None, user: str, database: str):
        """The persistent secrets of a session of ``user`` of ``org``
        (frontend.secrets.SessionSecrets); None without a config store or organisation."""
        if self.user_secrets is None or org is None:
            return None
        from duckgres_trio.frontend.secrets import SessionSecrets

        return SessionSecrets(self.user_secrets, org, user, database)

    async def _run_config_store(self, port: int, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        from duckgres_trio.tenancy.store import StoreError

        self.config_store.port = port
        try:
            await self.config_store.start()
        except StoreError as exc:
            raise listen.StartupError(str(exc)) from None
        try:
            await self.config_store.run(task_status=task_status)
        finally:
            self.user_secrets.close()

    # -- connections ---------------------------------------------------------------

    def new_backend_key(self) -> tuple[int, bytes]:
        self._next_pid = self._next_pid % 0x7FFFFFFF + 1
        return self._next_pid, secrets.token_bytes(4)

    def admit(self, conn: Connection) -> None:
        """An authenticated connection becomes a session: check the limits, register it."""
        if self._shutting_down:
            raise PgError(SqlState.CANNOT_CONNECT_NOW, "the database system is shutting down",
                          severity="FATAL")
        if len(self._by_pid) >= self.config.max_connections:
            raise PgError(SqlState.TOO_MANY_CONNECTIONS, "sorry, too many clients already",
                          severity="FATAL")
        if conn.org is not None:
            self._admit_to_org(conn)
        self._by_pid[conn.pid] = conn
        metrics.connections_open.inc()

    def _admit_to_org(self, conn: Connection) -> None:
        """An organisation's limits (from the current snapshot): its user's
        max_connections (PostgreSQL's role CONNECTION LIMIT: 53300 beyond) and, in
        standalone mode, its own max_connections (53300 beyond; the control plane
        queues them in the organisation's own slots instead)."""
        org = self.tenancy.current(conn.org)
        role = (conn.org, conn.user)
        user = self.tenancy.snapshot().user(*role)
        if user is not None and user.max_connections is not None \
                and self._per_role[role] >= user.max_connections:
            raise PgError(SqlState.TOO_MANY_CONNECTIONS,
                          f'too many connections for role "{conn.user}"', severity="FATAL")
        if self.config.mode == "standalone" and org.max_connections is not None \
                and self._per_org[org.name] >= org.max_connections:
            raise PgError(SqlState.TOO_MANY_CONNECTIONS,
                          f'too many connections for organisation "{org.name}"',
                          severity="FATAL")
        self._per_org[org.name] += 1
        self._per_role[role] += 1

    def forget(self, conn: Connection) -> None:
        if self._by_pid.pop(conn.pid, None) is not None:
            metrics.connections_open.dec()
            metrics.connection_duration.observe(conn.age())
            if conn.org is not None:
                self._per_org[conn.org] -= 1
                self._per_role[(conn.org, conn.user)] -= 1
        self._connections.discard(conn)
        if self._drained is not None and not self._draining():
            self._drained.set()

    def _draining(self) -> bool:
        """Whether the drain still waits: for any connection after a handover (each was
        accepted here and is served to its end); after SIGTERM for sessions only
        (connections still arriving are refused)."""
        return bool(self._connections if self._handed_over else self._by_pid)

    def activities(self, org: str | None = None) -> list[Activity]:
        """What every session is doing (pg_stat_activity), with the progress of the
        statements running now; with ``org``, that organisation's sessions only."""
        found = []
        for conn in self._by_pid.values():
            if conn.session is None or (org is not None and conn.org != org):
                continue
            activity, executor = conn.session.activity, conn.session.executor
            activity.worker = executor.worker
            activity.progress = executor.progress() if activity.state == "active" else None
            found.append(activity)
        return found

    def signal(self, pid: int, kind: str, org: str | None = None) -> bool:
        """pg_cancel_backend / pg_terminate_backend: cancel the session's running
        statement, or end the session (FATAL 57P01). False if there is no such session
        (or, with ``org``, none of that organisation's). Every user may signal every
        session of their organisation: all are superusers there (pg_roles)."""
        conn = self._by_pid.get(pid)
        if conn is None or conn.session is None or (org is not None and conn.org != org):
            return False
        log.info("%s requested for connection %d", kind, pid)
        if kind == "cancel":
            conn.request_cancel()
        else:
            conn.terminate()
        return True

    # -- CREATE / DROP DATABASE -------------------------------------------------------

    def notifier_for(self, org: str | None) -> Notifier:
        """LISTEN/NOTIFY reach the sessions of the same database of the same
        organisation only (two organisations may both have a database "reports")."""
        if org is None:
            return self.notifier
        return self._org_notifiers.setdefault(org, Notifier())

    def catalogs_for(self, org: str | None) -> Catalogs:
        """The cache of result columns' origins (frontend/origins.py), kept by database
        name: one per organisation, whose databases' names may be another's."""
        if org is None:
            return self.catalogs
        return self._org_catalogs.setdefault(org, Catalogs())

    def turns_for(self, org: str | None) -> Turns | None:
        """The write turns of a session's databases (frontend/turns.py), kept by
        database name like the catalogs; None when write_turns is off."""
        if not self.config.write_turns:
            return None
        if org is None:
            return self.turns
        if org not in self._org_turns:
            self._org_turns[org] = self._new_turns(org)
        return self._org_turns[org]

    def _new_turns(self, org: str | None) -> Turns:
        """In this process for DuckDB files (one server routes all of a file's
        sessions); in the catalog's PostgreSQL for DuckLake, which other servers may
        serve too (frontend/lake_turns.py)."""
        if self.config.storage != "ducklake":
            return LocalTurns()
        from duckgres_trio.engine.lake import with_connect_timeout
        from duckgres_trio.frontend.lake_turns import LakeTurns

        return LakeTurns(with_connect_timeout(self.config.lake_catalog),
                         "" if org is None else f"{org}/")

    def backends_for(self, conn: Connection):
        """The sessions a connection's SQL may see and signal, and where its CREATE /
        DROP DATABASE go: the whole server, or its organisation's part of it."""
        return self if conn.org is None else OrgBackends(self, conn.org, conn.engine)

    async def create_database(self, name: str) -> None:
        await self.engine.create_database(name)

    async def drop_database(self, name: str, *, current: str, pid: int, force: bool,
                            org: str | None = None, engine: Engine | None = None) -> bool:
        """DROP DATABASE from session ``pid`` (on database ``current``), in PostgreSQL's
        order: not the session's own database; with ``force`` the other sessions on it
        are terminated (FATAL 57P01); sessions still there after BUSY_WAIT_SECONDS make
        it fail with 55006. False if there is no such database."""
        if name == current:
            raise PgError("55006", "cannot drop the currently open database")
        if force:
            for conn in self._sessions_on(name, pid, org):
                log.info("DROP DATABASE %s WITH (FORCE): terminating connection %d",
                         name, conn.pid)
                conn.terminate()
        with trio.move_on_after(BUSY_WAIT_SECONDS):
            while self._sessions_on(name, pid, org):
                await trio.sleep(0.05)
        others = self._sessions_on(name, pid, org)
        if others:
            raise busy(name, len(others))
        return await (engine or self.engine).drop_database(name)

    def _sessions_on(self, database: str, but: int, org: str | None = None) -> list[Connection]:
        return [conn for conn in self._by_pid.values() if conn.pid != but
                and conn.org == org
                and conn.session is not None and conn.session.activity.database == database]

    def cancel(self, pid: int, secret: bytes) -> None:
        """A CancelRequest: act only on an exact (pid, secret) match, say nothing either way."""
        conn = self._by_pid.get(pid)
        if conn is not None and hmac.compare_digest(conn.secret, secret):
            log.info("cancel request for connection %d", pid)
            conn.request_cancel()

    async def _handle(self, stream: trio.SocketStream) -> None:
        address = _address(stream)
        if len(self._connections) >= 2 * self.config.max_connections:
            # Connections still authenticating are not sessions yet, but each costs a
            # socket and memory: bound them too, as PostgreSQL bounds its children.
            log.warning("refused a connection from %s (%d connections open, twice "
                        "max_connections)", address, len(self._connections))
            await trio.aclose_forcefully(stream)
            return
        if not self.limits.admit(address):
            log.warning("refused a connection from %s (banned or over max_connections_per_ip)",
                        address)
            remaining = self.limits.ban_remaining(address)
            if remaining and self._ban_notices < BAN_NOTICES:
                # Tell the client why (psql would otherwise report a crash), bounded:
                # a startup packet and, if asked, a TLS handshake; never authentication.
                self._ban_notices += 1
                try:
                    tune_socket(stream, self.config.write_timeout)
                    await Connection(self, stream, address, refusal=banned(remaining)).run()
                finally:
                    self._ban_notices -= 1
            else:
                await trio.aclose_forcefully(stream)
            return
        try:
            tune_socket(stream, self.config.write_timeout)
            conn = Connection(self, stream, address)
            self._connections.add(conn)
            await conn.run()
        finally:
            self.limits.release(address)

    # -- running -------------------------------------------------------------------

    async def serve(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        """Listen until SIGTERM/SIGINT (or a successor took over, after SIGUSR1), then
        shut down in order. The port is bound before anything starts (StartupError if
        it cannot be); the signal task outlives every step, so a later signal can still
        hurry the shutdown along."""
        inherited = upgrade.inherited_listeners()
        bound = None if inherited else listen.bind(self.config.host, self.config.port)
        stopping = trio.Event()
        with trio.open_signal_receiver(*STOP_SIGNALS, signal.SIGUSR1) as signals:
            async with trio.open_nursery() as outer:
                outer.start_soon(self._signals, signals, stopping)
                await self._serve(inherited or bound, bool(inherited), stopping, task_status)
                outer.cancel_scope.cancel()
        log.info("shutdown complete")

    async def _serve(self, sockets, inherited: bool, stopping: trio.Event, task_status) -> None:
        async with trio.open_nursery() as engine_nursery:
            if self.config_store is not None:  # the snapshot is there before any client
                first = sockets[0].socket if inherited else sockets[0]
                await engine_nursery.start(self._run_config_store, first.getsockname()[1])
            await engine_nursery.start(self.engine.run)
            listeners = sockets if inherited else listen.listen(sockets)
            ports = [listener.socket.getsockname()[1] for listener in listeners]
            async with trio.open_nursery() as nursery:
                accept_scope = trio.CancelScope()
                nursery.start_soon(self._accept, listeners, nursery, accept_scope)
                nursery.start_soon(self._watch_hangups)
                if self.config.metrics_address:
                    # after an upgrade the predecessor still holds the address a while
                    await nursery.start(functools.partial(
                        serve_metrics, self.config.metrics_address,
                        retry_seconds=600.0 if inherited else 0.0))
                if self.config.flight_address:  # Arrow Flight SQL (flightingress)
                    from duckgres_trio import flightingress

                    await nursery.start(functools.partial(
                        flightingress.serve, self,
                        retry_seconds=600.0 if inherited else 0.0))
                log.info("listening on %s port %s", self.config.host, ports[0])
                upgrade.report_ready()
                systemd.notify("READY=1", f"MAINPID={os.getpid()}",
                               f"STATUS=accepting clients on port {ports[0]}")
                task_status.started(ports[0])
                self._serving = (listeners, accept_scope)
                await stopping.wait()
                systemd.notify("STOPPING=1", "STATUS=draining sessions")
                await self._shutdown()
                accept_scope.cancel()
                nursery.cancel_scope.cancel()
            engine_nursery.cancel_scope.cancel()  # sessions are gone: stop the workers
        await self.engine.aclose()

    async def _signals(self, signals, stopping: trio.Event) -> None:
        """SIGTERM/SIGINT: drain and stop; the second one: cancel what runs and stop now;
        the third, or SIGQUIT: exit at once (PostgreSQL's smart, fast and immediate
        shutdowns, reached as Ctrl-C is pressed again). SIGUSR1: hand the listeners to a
        new process and, once it is ready, stop accepting and drain (one at a time)."""
        upgrading = False
        stops = 0
        async with trio.open_nursery() as nursery:
            async for signum in signals:
                name = signal.Signals(signum).name
                if signum == signal.SIGQUIT or (signum != signal.SIGUSR1 and stops == 2):
                    log.warning("received %s: exiting immediately, without checkpointing "
                                "(databases replay their write-ahead log when next opened)",
                                name)
                    logging.shutdown()
                    os._exit(1)
                if signum != signal.SIGUSR1:
                    stops += 1
                    if stops == 1:
                        running = sum(1 for conn in self._by_pid.values()
                                      if conn.busy_seconds() > 0)
                        log.info("received %s: draining %d session%s for at most %s "
                                 "(%s again cancels them and stops now)", name, running,
                                 "" if running == 1 else "s",
                                 show_duration(self.config.handover_drain_timeout), name)
                        stopping.set()
                    else:
                        log.warning("received %s again: cancelling %d running session%s and "
                                    "stopping now (once more exits immediately)", name,
                                    len(self._connections),
                                    "" if len(self._connections) == 1 else "s")
                        self._fast = True
                        self._drain_scope.cancel()
                    continue
                if upgrading or stopping.is_set() or self._serving is None:
                    log.warning("received SIGUSR1 %s: ignored", "during an upgrade" if upgrading
                                else "while not serving")
                    continue
                upgrading = True
                listeners, accept_scope = self._serving

                async def hand_over(listeners=listeners, accept_scope=accept_scope) -> None:
                    nonlocal upgrading
                    systemd.notify("RELOADING=1", "STATUS=starting a new process")
                    successor = await upgrade.start_successor(listeners)
                    if successor is None:
                        upgrading = False
                        systemd.notify("READY=1", f"MAINPID={os.getpid()}")
                        return
                    log.info("upgrade: process %d took over; draining", successor.pid)
                    self._handed_over = True
                    accept_scope.cancel()  # the successor accepts on the same sockets
                    await self._startups_settled()
                    await self.engine.handover(successor.channel)
                    stopping.set()

                nursery.start_soon(hand_over)

    async def _startups_settled(self) -> None:
        """Before the engine hands its workers over: let the connections accepted here
        that are still starting up open their sessions (bounded), since once a worker
        is adopted only its new owner opens sessions on it (controlplane.adoption)."""
        with trio.move_on_after(STARTUP_SETTLE_SECONDS):
            while any(conn.session is None for conn in self._connections):
                await trio.sleep(0.02)

    async def _watch_hangups(self) -> None:
        """Stop the statements of clients that left while they ran: nobody reads a
        connection's socket while its statement runs, so it is looked at from here,
        every HANGUP_CHECK seconds, without costing the statements anything."""
        while True:
            await trio.sleep(HANGUP_CHECK)
            for conn in list(self._connections):
                if conn.busy_seconds() >= HANGUP_CHECK and conn.hung_up():
                    conn.client_vanished()

    async def _accept(self, listeners, nursery: trio.Nursery, scope: trio.CancelScope) -> None:
        with scope:
            await trio.serve_listeners(self._handle, listeners, handler_nursery=nursery)

    async def _shutdown(self) -> None:
        """Drain. After SIGTERM: refuse new sessions (57P03), close idle ones now, give
        running statements handover_drain_timeout. After a handover: the successor
        takes the new connections, and every connection this process accepted is
        served until it ends, for up to handover_drain_timeout; then as after SIGTERM."""
        self._drained = trio.Event()
        if self.config_store is not None:
            self.config_store.set_draining()
        if not self._handed_over:
            self._shutting_down = True
            for conn in list(self._connections):
                conn.request_shutdown()
        if not self._draining():
            self._drained.set()
        await self._wait_drained(self.config.handover_drain_timeout)
        if self._handed_over and self._connections:
            log.warning("drain timeout: closing %d sessions", len(self._connections))
            self._shutting_down = True
            for conn in list(self._connections):
                conn.request_shutdown()
            await self._wait_drained(10)
        if self._connections:
            log.warning("shutdown timeout: cancelling %d running sessions", len(self._connections))
            for conn in list(self._connections):
                conn.terminate()
            with trio.move_on_after(10):
                await self._drained.wait()

    async def _wait_drained(self, seconds: float) -> None:
        """Wait for the drain, for ``seconds`` at most, or until a second SIGINT/SIGTERM."""
        with trio.move_on_after(seconds) as self._drain_scope:
            if not self._fast:
                await self._drained.wait()


class OrgBackends:
    """An organisation's part of the server (``session.Backends``): its own sessions
    only in pg_stat_activity and for pg_cancel/terminate_backend, its own engine for
    CREATE / DROP DATABASE."""

    def __init__(self, server: Server, org: str, engine: Engine) -> None:
        self._server, self._org, self._engine = server, org, engine

    def activities(self) -> list[Activity]:
        return self._server.activities(self._org)

    def signal(self, pid: int, kind: str) -> bool:
        return self._server.signal(pid, kind, self._org)

    async def create_database(self, name: str) -> None:
        await self._engine.create_database(name)

    async def drop_database(self, name: str, *, current: str, pid: int, force: bool) -> bool:
        return await self._server.drop_database(name, current=current, pid=pid, force=force,
                                                org=self._org, engine=self._engine)


def _tls_setup(config: Config) -> tuple[ssl.SSLContext, bytes]:
    """The TLS context and the channel-binding data; a certificate or key that cannot be
    used is a ConfigError naming the files (the server stops with that one line)."""
    cert, key = config.cert_path, config.key_path
    try:
        tls.ensure_certificate(cert, key)
        context = tls.server_context(cert, key)
        return context, scram.tls_server_end_point(tls.certificate_der(cert))
    except ssl.SSLError as exc:
        if exc.reason == "KEY_VALUES_MISMATCH":
            reason = "the key is not the certificate's"
        elif "PEM" in str(exc):
            reason = "not a PEM certificate and key"
        else:
            reason = (exc.reason or str(exc)).replace("_", " ").lower()
        raise ConfigError(f"TLS: cannot use certificate {cert} with key {key}: {reason}") from None
    except (OSError, ValueError) as exc:
        detail = (f"{exc.filename}: {exc.strerror}" if isinstance(exc, OSError)
                  and exc.strerror and exc.filename else str(exc))
        raise ConfigError(f"TLS: {detail}" if not detail.startswith("TLS:") else detail) from None


def _address(stream: trio.SocketStream) -> str:
    try:
        return str(stream.socket.getpeername()[0])
    except OSError:
        return "unknown"


def _warn_if_sql_reads_the_key(config: Config) -> None:
    """file_access: data_dir lets SQL read the whole data directory, where the TLS key
    is generated by default: say so (DuckDB cannot allow a directory but one file)."""
    if config.tls == "disabled" or config.file_access != "data_dir":
        return
    key = config.key_path.resolve()
    if any(key.is_relative_to(Path(d).resolve())
           for d in (config.data_dir, *config.allowed_directories)):
        log.warning("SQL users can read the TLS key %s (file_access: data_dir): set tls_key "
                    "and tls_cert outside the data directory and allowed_directories, or "
                    "file_access: none", key)


def load_users(config: Config) -> dict[str, scram.ScramVerifier | scram.Md5Verifier]:
    """Parse the configured verifiers; with none configured, the default user."""
    if not config.users:
        log.warning(
            "no users configured: using the default user %r with password %r; "
            "configure users (see `duckgres-trio passwd`) before exposing this server",
            DEFAULT_USER, DEFAULT_PASSWORD,
        )
        if config.auth_method == "md5":
            verifier = scram.make_md5_verifier(DEFAULT_USER, DEFAULT_PASSWORD)
        else:
            verifier = scram.make_scram_verifier(DEFAULT_PASSWORD)
        return {DEFAULT_USER: scram.parse_verifier(verifier)}
    users = {}
    for name, text in config.users.items():
        try:
            users[name] = scram.parse_verifier(text)
        except ValueError as exc:
            raise ConfigError(f"users.{name}: {exc}") from None
    md5_users = [name for name, v in users.items() if isinstance(v, scram.Md5Verifier)]
    if md5_users and config.auth_method == "scram-sha-256":
        log.warning("users %s have md5 verifiers, which cannot be used with auth_method "
                    "scram-sha-256: they cannot log in; set auth_method: md5 or store SCRAM "
                    "verifiers (duckgres-trio passwd)", ", ".join(map(repr, md5_users)))
    return users
