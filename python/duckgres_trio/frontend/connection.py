"""One client connection, from the first byte to the last.

Phases: startup negotiation (SSLRequest, GSSENCRequest, CancelRequest, StartupMessage),
authentication, session start, then the message loop. Startup and authentication run
under ``authentication_timeout``; the loop waits for messages under
``idle_session_timeout`` and wakes up for server shutdown. Everything that can go wrong
with the client ends as an ErrorResponse (and a close, for FATAL ones), never a hang.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import select
import socket
from collections import deque
import ssl
from typing import Any, Protocol

import outcome
import trio

from duckgres_trio import logs, metrics
from duckgres_trio.engine import profiles
from duckgres_trio.engine.pg_catalog import role_oids
from duckgres_trio.errors import PgError, ProtocolViolation, SqlState
from duckgres_trio.config import Config
from duckgres_trio.frontend import auth, tls
from duckgres_trio.frontend.activity import Activity
from duckgres_trio.frontend.limits import ClientLimits
from duckgres_trio.frontend.notify import Notifier
from duckgres_trio.frontend.origins import Catalogs
from duckgres_trio.frontend.turns import Turns
from duckgres_trio.frontend.extended import ExtendedProtocol
from duckgres_trio.frontend.session import Session
from duckgres_trio.sql import settings
from duckgres_trio.wire import FrameDecoder, backend
from duckgres_trio.wire import frontend as msg

log = logging.getLogger(__name__)

RECEIVE_SIZE = 65536
#: Buffered output is written once it grows past this, so memory per client is bounded.
FLUSH_THRESHOLD = 256 * 1024
#: How long a goodbye (a FATAL ErrorResponse) may take before we just close.
GOODBYE_TIMEOUT = 2.0
#: How long a connection that is only told why it is refused may take to ask.
REFUSAL_TIMEOUT = 5.0

_SKIP_STARTUP_PARAMS = ("user", "database", "options", "replication")


class ClientGone(Exception):
    """The client closed the connection."""


class Server(Protocol):
    """What a connection uses of the server that runs it (frontend/server.py, which
    owns connections and calls them): declared here, not imported, so that imports
    go one way, from the server down to its connections."""

    config: Config
    engine: Any  # engine.base.Engine, or an organisation's (tenancy)
    tenancy: Any  # tenancy.engines, with many tenants; else None
    users: dict
    mock_secret: bytes
    limits: ClientLimits
    ssl_context: ssl.SSLContext | None
    channel_binding: bytes | None

    def new_backend_key(self) -> tuple[int, bytes]: ...

    def admit(self, conn: Connection) -> None: ...

    def forget(self, conn: Connection) -> None: ...

    def cancel(self, pid: int, secret: bytes) -> None: ...

    def backends_for(self, conn: Connection) -> Any: ...

    def notifier_for(self, org: str | None) -> Notifier: ...

    def catalogs_for(self, org: str | None) -> Catalogs: ...

    def turns_for(self, org: str | None) -> Turns | None: ...

    def persistent_secrets_for(self, org: str | None, user: str, database: str) -> Any: ...

    def secrets_shared_with_other_users(self, org: str | None) -> bool: ...


class Connection:
    def __init__(self, server: Server, stream: trio.SocketStream, address: str = "",
                 refusal: PgError | None = None) -> None:
        self.server = server
        #: Answered instead of authenticating (a banned address): the client's startup
        #: packet is read, so that it hears why, and nothing is done for it.
        self.refusal = refusal
        self.address = address
        self.config = server.config
        self._stream: trio.abc.Stream = stream
        self._socket = stream.socket  # the TCP socket under TLS, to notice a hang-up
        self._decoder = FrameDecoder(self.config.max_message_size)
        self._out = bytearray()
        self._inbox: deque[tuple[int, bytes]] = deque()
        self._notification: trio.Event | None = None  # set: a notification to send while idle
        self.tls = False
        self.channel_binding: bytes | None = None
        self.pid, self.secret = server.new_backend_key()
        self._started = dt.datetime.now(dt.timezone.utc)
        self._born = trio.current_time()
        self.session: Session | None = None
        self.user = ""
        #: The organisation this connection belongs to, once authenticated (many
        #: tenants); None on a single-tenant server.
        self.org: str | None = None
        self._org_pending = None
        self.engine = server.engine
        self.scope = trio.CancelScope()
        self._idle = False  # waiting for the client's next message
        self._shutting_down = False
        self.vanished = False

    # -- lifecycle ---------------------------------------------------------------

    async def run(self) -> None:
        try:
            with self.scope:
                await self._run()
            if self.scope.cancelled_caught and not self.vanished:
                # Terminated by the server (shutdown past its timeout).
                await self._goodbye(_admin_shutdown())
        finally:
            self.server.forget(self)
            with trio.CancelScope(shield=True):
                if self.session is not None:
                    await self.session.close()
                await self._close_stream()

    async def _close_stream(self) -> None:
        """Close politely (a TLS close_notify, which libpq's encrypted cancel waits
        for), but never let a dead peer hold the task."""
        with trio.move_on_after(GOODBYE_TIMEOUT):
            try:
                await self._stream.aclose()
                return
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                pass
        await trio.aclose_forcefully(self._stream)

    async def _run(self) -> None:
        try:
            timeout = self.config.authentication_timeout or math.inf
            if self.refusal is not None:
                timeout = min(timeout, REFUSAL_TIMEOUT)
            # Bounds negotiation and authentication only, as in PostgreSQL: a session
            # that waits for a worker afterwards is bounded by worker_queue_timeout.
            with trio.move_on_after(timeout) as startup_scope:
                who = await self._startup()
            if startup_scope.cancelled_caught:
                raise PgError(SqlState.QUERY_CANCELED, "canceling authentication due to timeout",
                              severity="FATAL")
            if who is not None:
                await self._start_session(*who)
                await self._message_loop()
        except PgError as err:
            await self._goodbye(err)
        except (ClientGone, trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        except Exception:
            # A bug must cost one connection, never the server.
            log.exception("internal error on connection %d", self.pid)
            await self._goodbye(PgError(SqlState.INTERNAL_ERROR, "internal server error",
                                        severity="FATAL"))

    async def _goodbye(self, err: PgError) -> None:
        """Send a last ErrorResponse, best effort and bounded, before closing."""
        if err.fatal:
            log.info("closing connection %d: %s %s", self.pid, err.sqlstate, err.message)
        with trio.move_on_after(GOODBYE_TIMEOUT, shield=True):
            try:
                self._out.clear()
                await self._stream.send_all(backend.error_response(err))
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                pass

    def request_shutdown(self) -> None:
        """Server shutdown: close now if idle, else after the running statement."""
        self._shutting_down = True
        if self.session is None or self._idle:
            self.scope.cancel()  # in startup or idle: nothing to preserve; run() says goodbye

    def request_cancel(self) -> None:
        if self.session is not None:
            self.session.request_cancel()

    def terminate(self) -> None:
        """Shutdown past its timeout: end the task (a running DuckDB call is interrupted)."""
        self.scope.cancel()

    def age(self) -> float:
        """Seconds since the client connected."""
        return trio.current_time() - self._born

    def busy_seconds(self) -> float:
        """How long the current client message has been processed (0 when idle)."""
        if self.session is None or self.session.busy_since is None:
            return 0.0
        return trio.current_time() - self.session.busy_since

    def hung_up(self) -> bool:
        """Whether the client closed its side of the connection (or it broke), even if
        bytes it sent before are still unread. Looks, never reads: safe while the
        connection's task is busy elsewhere."""
        poller = select.poll()
        poller.register(self._socket.fileno(), select.POLLRDHUP | select.POLLHUP | select.POLLERR)
        return bool(poller.poll(0))

    def client_vanished(self) -> None:
        """The client left mid-statement: stop the statement and end the connection
        (nobody is there to answer)."""
        log.info("connection %d: client hung up during a statement; stopping it", self.pid)
        self.vanished = True
        self.scope.cancel()

    # -- output ------------------------------------------------------------------

    def queue(self, data: bytes) -> None:
        self._out += data

    async def flush_if_full(self) -> None:
        if len(self._out) >= FLUSH_THRESHOLD:
            await self.flush()

    async def flush(self) -> None:
        """Write what is queued. Shielded: a cancelled send would cut a message in half
        and break the stream; bounded instead by write_timeout, after which a client
        that accepts nothing is disconnected."""
        if self._out:
            # Handed over whole, not copied: the next queue() starts a new buffer.
            data, self._out = self._out, bytearray()
            with trio.CancelScope(shield=True):
                with trio.move_on_after(self.config.write_timeout or math.inf) as scope:
                    await self._stream.send_all(data)
            if scope.cancelled_caught:
                log.warning("connection %d: client accepted no data for %ss, closing",
                            self.pid, self.config.write_timeout)
                raise ClientGone

    async def send_now(self, data: bytes) -> None:
        self.queue(data)
        await self.flush()

    # -- input -------------------------------------------------------------------

    async def _receive(self) -> None:
        data = await self._stream.receive_some(RECEIVE_SIZE)
        if not data:
            raise ClientGone
        self._decoder.feed(data)

    async def _next_startup_packet(self) -> bytes:
        while (packet := self._decoder.next_startup()) is None:
            await self._receive()
        return packet

    async def _next_message(self) -> tuple[int, bytes]:
        while (frame := self._decoder.next_message()) is None:
            await self._receive()
        return frame

    async def read_password_message(self) -> bytes:
        kind, body = await self._next_message()
        if kind != ord("p"):
            raise ProtocolViolation(f"expected password response, got message type {kind}")
        return body

    # -- startup -----------------------------------------------------------------

    async def _startup(self) -> tuple[str, str, dict[str, str]] | None:
        """Negotiate and authenticate: the user, database and session parameters;
        None when the connection just ends (a CancelRequest)."""
        while True:
            request = msg.parse_startup(await self._next_startup_packet())
            if isinstance(request, msg.SSLRequest):
                await self._start_tls()
            elif isinstance(request, msg.GSSENCRequest):
                self._refuse_buffered("GSSENC request")
                await self.send_now(backend.GSSENC_REFUSE)
            elif isinstance(request, msg.CancelRequest):
                if self.refusal is None:
                    self.server.cancel(request.pid, request.secret)
                return None
            else:
                break
        if self.refusal is not None:
            raise self.refusal
        if self.config.tls == "required" and not self.tls:
            raise PgError(
                SqlState.INVALID_AUTHORIZATION_SPECIFICATION,
                "TLS is required: connect with sslmode=require (or stronger)",
                severity="FATAL",
            )
        params = request.params
        user = params.get("user", "")
        if not user:
            raise PgError(SqlState.INVALID_AUTHORIZATION_SPECIFICATION,
                          "no PostgreSQL user name specified in startup packet", severity="FATAL")
        database = params.get("database") or user
        if params.get("replication", "false").lower() not in ("false", "0", "no", "off"):
            raise PgError(SqlState.FEATURE_NOT_SUPPORTED, "replication connections are not supported",
                          severity="FATAL")
        session_params = self._startup_parameters(params)
        verifier, doomed, mock_name, why = self.server.users.get(user), False, None, ""
        if self.server.tenancy is not None:
            verifier, why, mock_name, database = self._route(user, params.get("database"))
            doomed = bool(why)
        try:
            await auth.authenticate(self, self.config.auth_method, user, verifier,
                                    self.server.mock_secret, doomed=doomed, mock_name=mock_name)
        except PgError as err:
            if err.sqlstate == SqlState.INVALID_PASSWORD:
                metrics.auth_failures.inc()
                self.server.limits.auth_failed(self.address)
                if why:  # the client hears only "password authentication failed"
                    log.info("connection %d: login of %r refused: %s", self.pid, user, why)
            raise
        self.server.limits.auth_succeeded(self.address)
        self.user = user
        if self._org_pending is not None:
            self.org = self._org_pending.name
            self.engine = self.server.tenancy.engine_for(self._org_pending)
        self.queue(backend.authentication_ok())
        return user, database, session_params

    def _route(self, user: str, database: str | None):
        """Many tenants: the connection's organisation (by SNI or database) and its
        user's verifier; (verifier, why the login must fail or "", the name keying a
        mock salt, the database within the organisation). Every failure after routing
        (unknown organisation or user, disabled, a disagreeing SNI) only dooms the
        exchange: the client hears what a wrong password gets."""
        from duckgres_trio.tenancy import routing  # only with many tenants

        tenancy = self.server.tenancy
        snapshot = tenancy.snapshot()
        found = routing.route(snapshot, mode=tenancy.mode, suffixes=tenancy.suffixes,
                              server_name=tls.requested_server_name() if self.tls else None,
                              database=database or None, user=user)
        org = found.org
        verifier, why = auth.tenant_login(snapshot, org, user)
        why = found.why or why
        if not why:
            self._org_pending = org  # the connection's once the password is right
            logs.bind(org=org.name)
        return verifier, why, f"{found.label}\0{user}", found.database

    async def _start_session(self, user: str, database: str,
                             session_params: dict[str, str]) -> None:
        """Open the session on its engine and tell the client it is ready."""
        self.server.admit(self)
        logs.bind(pid=self.pid, user=user, database=database)
        org = self.server.tenancy.current(self.org) if self.org is not None else None
        profile = profiles.resolve(self.server.profile_limits, session_params, org)
        session_params.update(profile.shown())  # SHOW duckgres.worker_cpu: the effective one
        executor = await self._open_session(database, user, profile)
        if executor.worker is not None:
            logs.bind(worker=executor.worker)
        users = list(self.server.users)
        if self.org is not None:  # pg_roles: the organisation's users
            users = [name for org, name in self.server.tenancy.snapshot().users
                     if org == self.org] or [user]
        roles = role_oids(users, [user])
        activity = Activity(self.pid, database, user, self.address, self._started,
                            session_params.get("application_name", ""), roles[user])
        session = Session(executor, user, session_params, self.pid, activity=activity,
                          backends=self.server.backends_for(self),
                          notifier=self.server.notifier_for(self.org), roles=roles,
                          catalogs=self.server.catalogs_for(self.org),
                          turns=self.server.turns_for(self.org))
        session.wake = self._notified
        session.persistent_secrets = self.server.persistent_secrets_for(
            self.org, user, database)
        session.secrets_shared = self.server.secrets_shared_with_other_users(self.org)
        self.session = session
        await session.start()
        for status in session.reported_parameters():
            self.queue(status)
        self.queue(backend.backend_key_data(self.pid, int.from_bytes(self.secret, "big")))
        self.queue(backend.ready_for_query(session.status))
        await self.flush()
        metrics.session_start.observe(self.age())

    async def _open_session(self, database: str, user: str, profile=None):
        """The engine's session; opening one may wait for a worker, so stop waiting
        (and give up the place in the queue) if the client hangs up meanwhile."""
        opened: outcome.Outcome | None = None
        async with trio.open_nursery() as nursery:
            gone = False

            async def watch() -> None:
                nonlocal gone
                await trio.lowlevel.wait_readable(self._socket)
                # Readable: EOF, or bytes sent ahead of our answer, which stay unread.
                try:
                    with socket.fromfd(self._socket.fileno(), socket.AF_INET,
                                       socket.SOCK_STREAM) as peek:
                        gone = not peek.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
                except BlockingIOError:
                    return
                except OSError:
                    gone = True
                if gone:
                    nursery.cancel_scope.cancel()

            nursery.start_soon(watch)
            try:  # an error is re-raised below, not wrapped in the nursery's group
                opened = outcome.Value(await self.engine.open_session(
                    database, user, profile=profile))
            except Exception as exc:
                opened = outcome.Error(exc)
            nursery.cancel_scope.cancel()
        if gone:
            if isinstance(opened, outcome.Value):  # opened just as the client left
                await opened.value.close()
            raise ClientGone
        return opened.unwrap()

    def _refuse_buffered(self, what: str) -> None:
        # Bytes sent before our answer would be read as if inside the new channel:
        # the buffer-stuffing attack of CVE-2021-23214. PostgreSQL refuses them too.
        if self._decoder.buffered:
            raise ProtocolViolation(f"received unencrypted data after {what}")

    async def _start_tls(self) -> None:
        if self.tls or self.server.ssl_context is None:
            await self.send_now(backend.SSL_REFUSE)
            return
        self._refuse_buffered("SSL request")
        await self.send_now(backend.SSL_ACCEPT)
        stream = trio.SSLStream(self._stream, self.server.ssl_context, server_side=True)
        await stream.do_handshake()
        self._stream = stream
        self.tls = True
        self.channel_binding = self.server.channel_binding

    def _startup_parameters(self, params: dict[str, str]) -> dict[str, str]:
        """Validate the GUCs a client sets at startup; unknown ones are FATAL as in PostgreSQL."""
        pairs = [("TimeZone", self.config.timezone),
                 ("statement_timeout", _ms(self.config.statement_timeout)),
                 ("idle_in_transaction_session_timeout",
                  _ms(self.config.idle_in_transaction_session_timeout)),
                 ("idle_session_timeout", _ms(self.config.idle_session_timeout))]
        pairs += [(k, v) for k, v in params.items() if k not in _SKIP_STARTUP_PARAMS]
        pairs += settings.parse_options(params.get("options", ""))
        values = {}
        for name, value in pairs:
            try:
                canon, norm = settings.validate(name, value, at_start=True)
            except PgError as err:
                raise PgError(err.sqlstate, err.message, severity="FATAL",
                              detail=err.detail, hint=err.hint) from None
            values[canon] = norm
        return values

    # -- message loop ------------------------------------------------------------

    async def _message_loop(self) -> None:
        session = self.session
        assert session is not None
        extended = ExtendedProtocol(session)  # calls the session, never called back
        skipping = False  # after an error in the extended protocol: ignore all until Sync
        while True:
            kind, body = await self._wait_for_message()
            message = msg.parse_message(kind, body)
            if isinstance(message, msg.Terminate):
                return
            if skipping:
                if isinstance(message, msg.Sync):
                    skipping = False
                    self._end_work()
                    self.queue(backend.ready_for_query(session.status))
                continue
            if isinstance(message, msg.Query):
                self._end_work()  # a Query after extended messages without Sync
                await session.simple_query(message.sql, self)
            elif isinstance(message, msg.Sync):
                await self._extended(extended.sync(self))
                self._end_work()
                self.queue(backend.ready_for_query(session.status))
            elif isinstance(message, msg.Flush):
                await self.flush()
            elif isinstance(message, msg.CopyMessage):
                pass  # PostgreSQL ignores stray COPY messages outside COPY
            elif isinstance(message, msg.Parse):
                skipping = not await self._extended(extended.parse(message, self))
            elif isinstance(message, msg.Bind):
                skipping = not await self._extended(extended.bind(message, self))
            elif isinstance(message, msg.Describe):
                skipping = not await self._extended(extended.describe(message, self))
            elif isinstance(message, msg.Execute):
                run = extended.execute(message, self, sync_next=self._sync_is_next())
                skipping = not await self._extended(run)
            elif isinstance(message, msg.Close):
                skipping = not await self._extended(extended.close(message, self))
            elif isinstance(message, msg.Unsupported):  # FunctionCall
                self.queue(backend.error_response(PgError(
                    SqlState.FEATURE_NOT_SUPPORTED, "the function call protocol is not supported")))
                self.queue(backend.ready_for_query(session.status))
            else:
                raise ProtocolViolation(f"unexpected message type {kind}")

    async def _extended(self, step) -> bool:
        """Run one extended-protocol step; on error answer it and return False, so the
        loop skips to the next Sync as PostgreSQL does. The session's work spans the
        messages up to Sync, or up to the point where the loop waits for the client
        (``_end_work``): its bookkeeping is paid once per batch, not per message, and
        a cancel that arrives during the batch applies to the rest of it."""
        session = self.session
        if not session.busy:
            session.begin_work()
        try:
            await step
            return True
        except PgError as err:
            if err.fatal:
                raise
            self.queue(session.error_response(err))
            await session.after_error()
            return False

    def _end_work(self) -> None:
        if self.session.busy:
            self.session.end_work()

    async def _receive_while_idle(self) -> None:
        """Wait for the client's next bytes, bounded by idle_session_timeout outside a
        transaction and idle_in_transaction_session_timeout inside one. Shutdown ends
        the wait by cancelling the connection's scope (``request_shutdown``), so without
        timeouts no cancel scope is needed here."""
        self._idle = True
        try:
            session = self.session
            if session.status == b"I":
                timeout, error = session.timeout("idle_session_timeout"), _idle_timeout
            else:
                timeout = session.timeout("idle_in_transaction_session_timeout")
                error = _idle_in_transaction_timeout
            # a listening session sends notifications while it waits
            receive = self._receive_or_notify if session.listening else self._receive
            if timeout > 0:
                with trio.move_on_after(timeout) as scope:
                    await receive()
                if scope.cancelled_caught:
                    raise error()
            else:
                await receive()
        finally:
            self._idle = False

    async def _receive_or_notify(self) -> None:
        """Receive, sending notifications that arrive meanwhile if idle outside a
        transaction. They are sent from a second task, not by interrupting the receive:
        a cancelled TLS receive or send breaks the stream."""
        async def notify() -> None:
            while True:
                if self.session.notifications and self.session.status == b"I":
                    self._queue_notifications()
                    try:
                        await self.flush()  # shielded and bounded itself
                    except (ClientGone, trio.BrokenResourceError, trio.ClosedResourceError):
                        return  # the receive ends the connection
                self._notification = trio.Event()
                await self._notification.wait()

        failure: BaseException | None = None
        async with trio.open_nursery() as nursery:
            nursery.start_soon(notify)
            try:
                await self._receive()
            except BaseException as exc:  # re-raised as it is, not in the nursery's group
                failure = exc
            nursery.cancel_scope.cancel()
        self._notification = None
        if failure is not None:
            raise failure

    def _notified(self) -> None:
        """A notification arrived: sent now if the session is idle outside a transaction,
        else when it next is (as in PostgreSQL)."""
        if self._notification is not None:
            self._notification.set()

    def _queue_notifications(self) -> None:
        session = self.session
        if session is not None and session.status == b"I":
            while session.notifications:
                self.queue(backend.notification_response(*session.notifications.popleft()))

    async def copy_message(self) -> msg.CopyMessage:
        """The next message of a COPY FROM STDIN. Flush and Sync are ignored during
        copy-in, as PostgreSQL does; any other message ends the copy with 08P01."""
        while True:
            while not self._inbox:
                await self.flush()
                await self._receive()
                while (frame := self._decoder.next_message()) is not None:
                    self._inbox.append(frame)
            kind, body = self._inbox.popleft()
            if kind == 0x64:  # CopyData: with the CopyData right behind it
                return msg.CopyMessage(kind, self._join_copy_data(body))
            message = msg.parse_message(kind, body)
            if isinstance(message, msg.CopyMessage):
                return message
            if isinstance(message, (msg.Flush, msg.Sync)):
                continue
            if isinstance(message, msg.Terminate):
                raise ClientGone
            raise PgError(SqlState.PROTOCOL_VIOLATION,
                          f"unexpected message type 0x{kind:02X} during COPY from stdin")

    def _join_copy_data(self, body: bytes) -> bytes:
        """``body`` and the bodies of the CopyData messages received right after it,
        as one (up to about 1 MiB): clients such as pgbench send a message per row, and
        the COPY parser costs per call. Flush and Sync among them are dropped, as
        ``copy_message`` drops them; any other message stays next in the inbox."""
        parts, size, inbox = [body], len(body), self._inbox
        while inbox and size < 1 << 20:
            kind = inbox[0][0]
            if kind == 0x64:  # CopyData
                more = inbox.popleft()[1]
                parts.append(more)
                size += len(more)
            elif kind in (0x48, 0x53):  # Flush, Sync
                inbox.popleft()
            else:
                break
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def _sync_is_next(self) -> bool:
        return bool(self._inbox) and self._inbox[0][0] == ord("S")

    async def _wait_for_message(self) -> tuple[int, bytes]:
        """The next message; while idle, bounded by idle_session_timeout and shutdown.

        Every complete message already received is moved to the inbox, so a step can see
        what the client pipelined after it (an Execute followed directly by Sync needs
        no transaction of its own)."""
        while not self._inbox:
            self._end_work()  # waiting for the client: the batch's work is over
            self._queue_notifications()
            await self.flush()
            if self._shutting_down:
                raise _admin_shutdown()
            await self._receive_while_idle()
            while (frame := self._decoder.next_message()) is not None:
                self._inbox.append(frame)
        return self._inbox.popleft()


def _idle_timeout() -> PgError:
    return PgError(SqlState.IDLE_SESSION_TIMEOUT,
                   "terminating connection due to idle-session timeout", severity="FATAL")


def _idle_in_transaction_timeout() -> PgError:
    return PgError("25P03", "terminating connection due to idle-in-transaction timeout",
                   severity="FATAL")


def _admin_shutdown() -> PgError:
    return PgError(SqlState.ADMIN_SHUTDOWN, "terminating connection due to administrator command",
                   severity="FATAL")


def _ms(seconds: float) -> str:
    return str(round(seconds * 1000))


def tune_socket(stream: trio.SocketStream, write_timeout: float) -> None:
    """Detect dead peers in about a minute instead of the kernel's two hours, and let
    the kernel fail writes nobody acknowledges for write_timeout (TCP_USER_TIMEOUT)."""
    sock = stream.socket
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    if hasattr(socket, "TCP_KEEPIDLE"):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 30)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 10)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 3)
    if write_timeout > 0 and hasattr(socket, "TCP_USER_TIMEOUT"):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, int(write_timeout * 1000))
