"""Which organisation a connection belongs to: TLS SNI or the startup database.

``sni_routing_mode``:

- ``off``: the database name decides (the organisation whose ``database_name`` it is);
- ``passthrough``: a server name under a managed suffix names the organisation (its
  name or hostname alias), and the database, if it is some organisation's database,
  must be that one's; any other name (or none) routes as ``off``;
- ``enforce``: a connection without a managed server name is refused (FATAL 08006,
  naming the form of the hostname to use).

A managed name is exactly one DNS label before a managed suffix; more labels (or none)
are refused in passthrough and enforce alike: ``a.b.dw.example.com`` must not quietly
become organisation ``b``. With SNI the database selects within the organisation, and
an omitted one is the organisation's own database.

An unknown organisation is not an error here: the caller runs the authentication
exchange to its end with a doomed verifier, so a client cannot tell an organisation
that does not exist from a wrong password.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from duckgres_trio.errors import PgError
from duckgres_trio.tenancy.directory import Org, Snapshot

MODES = ("off", "passthrough", "enforce")
CONNECTION_FAILURE = "08006"


@dataclass(frozen=True)
class Route:
    """Where a connection goes: ``org`` (None: no such organisation, or one the
    routing refuses quietly), the database within it, and the label the client named
    the organisation by (for a stable mock salt and for logs)."""

    org: Org | None
    database: str
    label: str
    #: Why the route failed, for the server's log only (never the client's).
    why: str = ""


def normalise_suffixes(suffixes: Iterable[str]) -> tuple[str, ...]:
    """``dw.example.com`` and ``.dw.example.com`` both mean the names under it."""
    out = []
    for suffix in suffixes:
        text = suffix.strip().lower().rstrip(".")
        if text:
            out.append(text if text.startswith(".") else "." + text)
    return tuple(out)


def managed_label(server_name: str | None, suffixes: tuple[str, ...]) -> str | None:
    """The organisation label of a managed server name; None if the name is not under a
    managed suffix. PgError FATAL 08006 if it is, but not with exactly one label."""
    if not server_name:
        return None
    name = server_name.strip().lower().rstrip(".")
    for suffix in sorted(suffixes, key=len, reverse=True):
        if name.endswith(suffix) or name == suffix[1:]:
            label = name[: -len(suffix)] if name.endswith(suffix) else ""
            if not label or "." in label:
                raise PgError(
                    CONNECTION_FAILURE,
                    f'server name "{server_name}" does not name one organisation',
                    severity="FATAL",
                    detail=f"Exactly one DNS label may precede {suffix[1:]}.",
                    hint=f"Connect to <organisation>{suffix}.")
            return label
    return None


def route(snapshot: Snapshot, *, mode: str, suffixes: tuple[str, ...],
          server_name: str | None, database: str | None, user: str) -> Route:
    """The route of a connection that sent ``server_name`` (None: no SNI, or no TLS)
    and asked for ``database`` (None: the startup packet named none)."""
    label = managed_label(server_name, suffixes) if mode != "off" else None
    if label is None:
        if mode == "enforce":
            suffix = suffixes[0] if suffixes else ".<managed suffix>"
            raise PgError(
                CONNECTION_FAILURE,
                "this server routes connections by TLS server name: connect with "
                f"sslmode=require to host <organisation>{suffix}",
                severity="FATAL",
                hint=f"Use the hostname <organisation>{suffix} (libpq sends it as SNI; "
                     "hostaddr= may give the address).")
        wanted = database or user
        org = snapshot.org_for_database(wanted)
        return Route(org, org.database_name if org else wanted, wanted,
                     "" if org else f"no organisation has database {wanted!r}")
    org = snapshot.org_for_name(label)
    if org is None:
        return Route(None, database or user, label, f"no organisation {label!r}")
    wanted = database or org.database_name
    other = snapshot.org_for_database(wanted)
    if other is not None and other.name != org.name:
        return Route(None, wanted, label,
                     f"database {wanted!r} is organisation {other.name!r}'s, "
                     f"not {org.name!r}'s (server name {server_name!r})")
    return Route(org, wanted, label)
