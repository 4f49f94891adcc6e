"""Who the tenants are: organisations and their users, as one immutable snapshot.

This is the interface between the config store (``store.py``, which builds snapshots
from PostgreSQL) and routing/authentication (which only reads them): a connection looks
its organisation and user up here, in memory, never with a round trip to the store, so
a store outage does not stop logins. A reload builds a new Snapshot and swaps the
reference; readers holding the old one see a consistent, if older, view.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


@dataclass(frozen=True)
class Org:
    """An organisation: its own databases, users, limits and worker settings."""

    name: str
    database_name: str
    hostname_alias: str | None
    max_connections: int | None  # None: no limit of its own
    max_workers: int | None  # None: no share of its own
    disabled: bool
    worker_settings: Mapping[str, str]  # default DuckDB settings of its sessions
    max_vcpus: int | None = None  # vCPUs its sessions' profiles may hold at once
    worker_cpu: int | None = None  # its sessions' default profile (engine.profiles)
    worker_memory: int | None = None  # bytes
    worker_ttl: int | None = None  # seconds


@dataclass(frozen=True)
class User:
    """A user of one organisation: the same name in two organisations is two users."""

    org: str
    name: str
    verifier: str  # 'SCRAM-SHA-256$...' or 'md5...'; never a password
    disabled: bool
    max_connections: int | None


@dataclass(frozen=True)
class Snapshot:
    """The organisations and users as read in one store transaction."""

    orgs: Mapping[str, Org]
    users: Mapping[tuple[str, str], User]
    loaded_at: float  # time.monotonic() when it was read
    _by_label: Mapping[str, Org] = field(init=False, repr=False, compare=False)
    _by_database: Mapping[str, Org] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_label: dict[str, Org] = {}
        by_database: dict[str, Org] = {}
        for org in self.orgs.values():
            by_database[org.database_name] = org
            if org.hostname_alias:
                by_label[org.hostname_alias] = org
        for org in self.orgs.values():
            by_label[org.name] = org  # a name wins over another org's alias
        object.__setattr__(self, "_by_label", MappingProxyType(by_label))
        object.__setattr__(self, "_by_database", MappingProxyType(by_database))

    def org_for_name(self, label: str) -> Org | None:
        """The organisation whose name or hostname alias is ``label`` (an SNI label)."""
        return self._by_label.get(label)

    def org_for_database(self, database: str) -> Org | None:
        """The organisation owning the startup database ``database``."""
        return self._by_database.get(database)

    def user(self, org: str, name: str) -> User | None:
        return self.users.get((org, name))

