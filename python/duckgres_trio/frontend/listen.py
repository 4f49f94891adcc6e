"""The client port, bound before anything else starts and listened on once the engine runs.

Binding first (as PostgreSQL's postmaster does) makes a taken port a one-line startup
failure before any worker is spawned; listening only once the engine is up keeps a
client from connecting (and waiting in the backlog) while the server cannot serve yet.
Same socket options as ``trio.open_tcp_listeners``: SO_REUSEADDR, IPv6 sockets v6-only.
"""

from __future__ import annotations

import errno
import socket

import trio


class StartupError(Exception):
    """The server cannot start; the message is the one line the user sees."""


#: The kernel clamps this to net.core.somaxconn (trio's default too).
BACKLOG = 0xFFFF


def bind(host: str, port: int) -> list[trio.socket.SocketType]:
    """Sockets bound to every address of ``host`` (not listening yet)."""
    try:
        addresses = socket.getaddrinfo(host or None, port, socket.AF_UNSPEC,
                                       socket.SOCK_STREAM, 0, socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise StartupError(f"could not resolve listen address {host!r}: {exc.strerror}") from None
    bound: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in addresses:
            sock = socket.socket(family, kind, proto)
            bound.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                sock.bind(address)
            except OSError as exc:
                hint = (" (is another server running on this port?)"
                        if exc.errno == errno.EADDRINUSE else "")
                raise StartupError(f"could not bind {address[0]} port {address[1]}: "
                                   f"{exc.strerror}{hint}") from None
    except BaseException:
        for sock in bound:
            sock.close()
        raise
    return [trio.socket.from_stdlib_socket(sock) for sock in bound]


def listen(sockets: list[trio.socket.SocketType]) -> list[trio.SocketListener]:
    for sock in sockets:
        sock.listen(BACKLOG)
    return [trio.SocketListener(sock) for sock in sockets]
