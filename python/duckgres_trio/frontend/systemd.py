"""systemd's notify protocol (sd_notify), for a unit with ``Type=notify``.

systemd passes the path of a datagram socket in ``NOTIFY_SOCKET``; the service sends
``READY=1`` once it accepts clients and ``STOPPING=1`` when it starts to drain, so
``systemctl start`` returns when the server really is up and ``systemctl stop`` is
reported while sessions finish. Without ``NOTIFY_SOCKET`` (not under systemd) this
does nothing. docs/duckgres-trio.service is an example unit.
"""

from __future__ import annotations

import logging
import os
import socket

log = logging.getLogger(__name__)


def notify(*fields: str) -> bool:
    """Send ``fields`` (``"READY=1"``, ``f"MAINPID={pid}"``, ...); whether it was sent."""
    path = os.environ.get("NOTIFY_SOCKET")
    if not path:
        return False
    if path.startswith("@"):  # an abstract socket
        path = "\0" + path[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.sendto("\n".join(fields).encode(), path)
    except OSError as exc:
        log.warning("systemd notification failed: %s", exc)
        return False
    return True
