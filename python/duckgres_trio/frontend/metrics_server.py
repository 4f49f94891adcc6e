"""The Prometheus endpoint: ``GET /metrics`` over plain HTTP on ``metrics_address``.

A scrape is tiny and rare, so this is the least HTTP that works: one request per
connection, read with a size and a time bound (a port that answers anybody meets
hostile clients too), answered and closed. If the address cannot be bound the server
logs why and serves its clients anyway: metrics are not worth an outage.
"""

from __future__ import annotations

import logging

import trio

from duckgres_trio import metrics

log = logging.getLogger(__name__)

#: The most a request (line and headers) may be, and how long it may take to arrive.
MAX_REQUEST = 8192
REQUEST_SECONDS = 5.0


def parse_address(address: str) -> tuple[str, int]:
    """``host:port`` (``[v6]:port`` too) -> (host, port)."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"metrics address must be host:port, not {address!r}")
    return host.strip("[]"), int(port)


async def serve_metrics(address: str, *, retry_seconds: float = 0.0,
                        task_status=trio.TASK_STATUS_IGNORED) -> None:
    """Serve until cancelled; returns (after logging) if the address cannot be bound
    within ``retry_seconds`` (a process taking over from another waits for that one to
    let the address go). Reports started once bound, or once it starts waiting."""
    host, port = parse_address(address)
    deadline = trio.current_time() + retry_seconds
    started = False
    while True:
        try:
            listeners = await trio.open_tcp_listeners(port, host=host)
            break
        except OSError as exc:
            if trio.current_time() >= deadline:
                log.error("metrics endpoint not started: cannot listen on %s (%s)",
                          address, exc)
                if not started:
                    task_status.started()
                return
            if not started:
                task_status.started()
                started = True
            await trio.sleep(1.0)
    log.info("metrics on http://%s/metrics", address)
    if not started:
        task_status.started()
    await trio.serve_listeners(_answer, listeners)


async def _answer(stream: trio.SocketStream) -> None:
    async with stream:
        request = b""
        with trio.move_on_after(REQUEST_SECONDS):
            while b"\r\n\r\n" not in request and len(request) < MAX_REQUEST:
                chunk = await stream.receive_some(MAX_REQUEST - len(request))
                if not chunk:
                    break
                request += chunk
        line = request.split(b"\r\n", 1)[0].split()
        if len(line) >= 2 and line[0] == b"GET" and line[1].split(b"?")[0] == b"/metrics":
            body, status = metrics.exposition(), b"200 OK"
            kind = b"text/plain; version=0.0.4; charset=utf-8"
        else:
            body, status, kind = b"not found\n", b"404 Not Found", b"text/plain"
        head = (b"HTTP/1.1 " + status + b"\r\nContent-Type: " + kind
                + b"\r\nContent-Length: " + str(len(body)).encode()
                + b"\r\nConnection: close\r\n\r\n")
        try:
            with trio.move_on_after(REQUEST_SECONDS):
                await stream.send_all(head + body)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
