"""Arrow Flight SQL on the server's own port ``flight_address`` (docs/flight-sql.md).

Columnar clients (ADBC, pandas/polars through ADBC, Flight SQL JDBC) get Arrow batches
straight from the engine, never through the PostgreSQL row encoder, with the same users,
organisations, connection limits and workers as pgwire clients:

- ``service``: the gRPC side (pyarrow.flight): authentication, the Flight SQL calls;
- ``session``: a bearer token's session on the trio loop (an engine session);
- ``catalog``: the metadata commands' schemas and catalog reads.

``serve`` runs it beside the pgwire listener; the sessions' housekeeping (idle timeout,
cancelled calls, sessions told to end) runs here on the loop.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable

import pyarrow.flight as fl
import trio

from duckgres_trio.flightingress.service import FlightIngress
from duckgres_trio.frontend.listen import StartupError

log = logging.getLogger(__name__)

#: How often running calls are checked for a client that cancelled (seconds).
WATCH_INTERVAL = 0.1
#: How often a process taking over looks whether its predecessor let the port go.
RETRY_INTERVAL = 0.02
#: How long stopping waits for gRPC's running calls once their sessions ended.
SHUTDOWN_WAIT = 5.0


def split_address(address: str) -> tuple[str, int]:
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise StartupError(f"flight_address {address!r}: expected HOST:PORT")
    return host.strip("[]") or "0.0.0.0", int(port)


async def serve(server, *, retry_seconds: float = 0.0,
                task_status=trio.TASK_STATUS_IGNORED) -> None:
    """Serve Flight SQL until cancelled; then end every Flight session and stop.

    A port that cannot be bound stops the server (StartupError), except in a process
    taking over from another (SIGUSR1, ``retry_seconds``): gRPC binds its own socket,
    which cannot be handed over as pgwire's are, so the predecessor lets the port go as
    soon as this process has taken over (``_hand_over``) and this one binds it then,
    looking every ``RETRY_INTERVAL``."""
    config = server.config
    host, port = split_address(config.flight_address)
    certificates = None
    scheme = "grpc+tcp"
    if config.tls != "disabled":
        certificates = [fl.CertKeyPair(config.cert_path.read_bytes(),
                                       config.key_path.read_bytes())]
        scheme = "grpc+tls"
    location = f"{scheme}://{host}:{port}"
    token = trio.lowlevel.current_trio_token()
    deadline = trio.current_time() + retry_seconds
    started = False
    while True:
        try:
            if retry_seconds and trio.current_time() < deadline:
                _check_free(host, port)  # gRPC would log every failed attempt
            ingress = await trio.to_thread.run_sync(
                lambda: FlightIngress(location, server, token, certificates))
            break
        except Exception as exc:  # pyarrow reports a taken port as an Arrow error
            failure = f"could not listen for Flight SQL on {host}:{port}: {exc}"
            if trio.current_time() >= deadline:
                if started:
                    log.error("%s; Flight SQL not served", failure)
                    return
                raise StartupError(failure) from None
            if not started:
                log.info("Flight SQL: waiting for the previous process to release %s:%d",
                         host, port)
                task_status.started(None)
                started = True
            await trio.sleep(RETRY_INTERVAL)
    log.info("Flight SQL listening on %s port %d (%s)", host, ingress.port, scheme)
    if certificates is None and config.auth_method != "trust":
        log.warning("Flight SQL without TLS (tls: disabled): clients' basic auth sends "
                    "passwords in clear text")
    if not started:
        task_status.started(ingress.port)
    stopping = threading.Thread(target=ingress.shutdown, name="flight-shutdown", daemon=True)
    try:
        await _housekeeping(ingress, config.flight_idle_timeout,
                            lambda: getattr(server, "_handed_over", False))
        await _hand_over(ingress, stopping, config.flight_idle_timeout)
    finally:
        with trio.CancelScope(shield=True):
            for session in list(ingress.sessions.values()):
                await ingress.end(session)
            if stopping.ident is None:  # not started by _hand_over
                stopping.start()
            # a call stuck in gRPC (a client that stopped reading) would hold shutdown
            # forever: wait a while, then leave it to the process's exit
            await trio.to_thread.run_sync(stopping.join, SHUTDOWN_WAIT)


async def _hand_over(ingress: FlightIngress, stopping: threading.Thread,
                     idle_timeout: float) -> None:
    """A successor took over (SIGUSR1): stop listening at once, so it can bind the
    port, and let the calls running here end (gRPC refuses new calls on this
    process's connections from now on: their clients reconnect, to the successor,
    which does not know their tokens and tells them to authenticate again). The
    sessions end with ``serve`` when the calls have (or the drain's end cancels it)."""
    log.info("Flight SQL: a new process took over; releasing port %d for it, "
             "%d session%s ending", ingress.port, len(ingress.sessions),
             "" if len(ingress.sessions) == 1 else "s")
    stopping.start()  # gRPC closes its listener first, then waits for running calls
    await _housekeeping(ingress, idle_timeout, lambda: not stopping.is_alive())


def _check_free(host: str, port: int) -> None:
    """OSError if ``host:port`` is taken (bound and let go at once)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))


async def _housekeeping(ingress: FlightIngress, idle_timeout: float,
                        until: Callable[[], bool]) -> None:
    """Cancel the statement of a call its client cancelled (gRPC tells the call, not
    us: it is looked at from here), end sessions idle past ``idle_timeout`` and those
    the server told to end (shutdown, pg_terminate_backend); return once ``until()``."""
    async with trio.open_nursery() as nursery:
        while not until():
            await trio.sleep(WATCH_INTERVAL)
            now = trio.current_time()
            for session in list(ingress.sessions.values()):
                context = session.call_context
                if context is not None and context.is_cancelled():
                    session.request_cancel()
                idle = session.busy_since is None and not session.lock.locked()
                if idle and (session.closed or (
                        idle_timeout and now - session.last_used > idle_timeout)):
                    if not session.closed:
                        log.info("Flight SQL session %d: idle for %gs, ending it",
                                 session.pid, idle_timeout)
                    ingress.sessions.pop(session.token, None)
                    nursery.start_soon(ingress.end, session)
