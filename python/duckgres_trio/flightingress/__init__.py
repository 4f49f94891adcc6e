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

import pyarrow.flight as fl
import trio

from duckgres_trio.flightingress.service import FlightIngress
from duckgres_trio.frontend.listen import StartupError

log = logging.getLogger(__name__)

#: How often running calls are checked for a client that cancelled (seconds).
WATCH_INTERVAL = 0.1


def split_address(address: str) -> tuple[str, int]:
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise StartupError(f"flight_address {address!r}: expected HOST:PORT")
    return host.strip("[]") or "0.0.0.0", int(port)


async def serve(server, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
    """Serve Flight SQL until cancelled; then end every Flight session and stop."""
    config = server.config
    host, port = split_address(config.flight_address)
    certificates = None
    scheme = "grpc+tcp"
    if config.tls != "disabled":
        certificates = [fl.CertKeyPair(config.cert_path.read_bytes(),
                                       config.key_path.read_bytes())]
        scheme = "grpc+tls"
    location = f"{scheme}://{host}:{port}"
    try:
        ingress = FlightIngress(location, server, trio.lowlevel.current_trio_token(),
                                certificates)
    except Exception as exc:  # pyarrow reports a taken port as an Arrow error
        raise StartupError(f"could not listen for Flight SQL on {host}:{port}: {exc}") from None
    log.info("Flight SQL listening on %s port %d (%s)", host, ingress.port, scheme)
    task_status.started(ingress.port)
    try:
        await _housekeeping(ingress, config.flight_idle_timeout)
    finally:
        with trio.CancelScope(shield=True):
            for session in list(ingress.sessions.values()):
                await ingress.end(session)
            await trio.to_thread.run_sync(ingress.shutdown)


async def _housekeeping(ingress: FlightIngress, idle_timeout: float) -> None:
    """Cancel the statement of a call its client cancelled (gRPC tells the call, not
    us: it is looked at from here), end sessions idle past ``idle_timeout`` and those
    the server told to end (shutdown, pg_terminate_backend)."""
    async with trio.open_nursery() as nursery:
        while True:
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
