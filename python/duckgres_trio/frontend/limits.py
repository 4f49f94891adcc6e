"""Admission per client address: connections at once, and bans after failed logins.

Checked at accept, before TLS, so a refused or banned address costs one accept and one
close: no handshake, no key derivation. A ban follows ``failure_limit`` failed
authentications within ``failure_window`` seconds and lasts ``ban_duration``; a
successful login clears the address's failures (as duckgres does). Failures from an
``exempt`` address or block (loopback by default) never ban it: a user who mistyped a
password five times on the server's own machine must not be locked out of it.
"""

from __future__ import annotations

import ipaddress
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable

from duckgres_trio import metrics


class ClientLimits:
    def __init__(
        self,
        *,
        max_per_ip: int,
        failure_limit: int,
        failure_window: float,
        ban_duration: float,
        exempt: Iterable[str] = (),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max_per_ip = max_per_ip
        self._failure_limit = failure_limit
        self._failure_window = failure_window
        self._ban_duration = ban_duration
        self._clock = clock
        self._exempt = tuple(ipaddress.ip_network(n, strict=False) for n in exempt)
        self._open: Counter[str] = Counter()
        self._failures: dict[str, deque[float]] = {}
        self._banned_until: dict[str, float] = {}
        self.rejects = 0

    def banned_count(self) -> int:
        """Addresses banned right now."""
        now = self._clock()
        return sum(1 for until in self._banned_until.values() if until > now)

    def admit(self, address: str) -> bool:
        """Count a new connection from ``address``; False (not counted) if it must be
        refused. Every admitted connection is given back with ``release``."""
        now = self._clock()
        until = self._banned_until.get(address)
        if until is not None and now >= until:
            del self._banned_until[address]
            until = None
        if until is not None or (self._max_per_ip and self._open[address] >= self._max_per_ip):
            self.rejects += 1
            metrics.rate_limit_rejects.inc()
            return False
        self._open[address] += 1
        return True

    def release(self, address: str) -> None:
        self._open[address] -= 1
        if self._open[address] <= 0:
            del self._open[address]

    def exempt(self, address: str) -> bool:
        """Whether failures from ``address`` are never counted (IPv4-mapped IPv6
        addresses count as their IPv4 address)."""
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip in network for network in self._exempt)

    def auth_failed(self, address: str) -> None:
        if not self._failure_limit or self.exempt(address):
            return
        now = self._clock()
        failures = self._failures.setdefault(address, deque())
        failures.append(now)
        while failures and failures[0] <= now - self._failure_window:
            failures.popleft()
        if len(failures) >= self._failure_limit:
            self._banned_until[address] = now + self._ban_duration
            del self._failures[address]

    def auth_succeeded(self, address: str) -> None:
        self._failures.pop(address, None)

    def banned(self, address: str) -> bool:
        return self.ban_remaining(address) > 0

    def ban_remaining(self, address: str) -> float:
        """Seconds until ``address`` may connect again (0: it is not banned)."""
        until = self._banned_until.get(address)
        return 0.0 if until is None else max(0.0, until - self._clock())
