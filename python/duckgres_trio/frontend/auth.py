"""The authentication exchange of one connection, for each configured method.

The cryptography lives in ``scram`` (sans-IO); this module only sequences the messages.
Unknown users go through exactly the same exchange as known ones and fail at the same
point with the same error, so a client cannot learn which user names exist.
"""

from __future__ import annotations

import logging
from typing import Protocol

from duckgres_trio.errors import PgError, ProtocolViolation, SqlState
from duckgres_trio.frontend import scram
from duckgres_trio.wire import backend
from duckgres_trio.wire.frontend import parse_password, parse_sasl_initial

log = logging.getLogger(__name__)


class AuthChannel(Protocol):
    """What authentication needs from the connection."""

    tls: bool
    channel_binding: bytes | None

    async def send_now(self, data: bytes) -> None: ...

    async def read_password_message(self) -> bytes: ...


async def authenticate(
    channel: AuthChannel,
    method: str,
    user: str,
    verifier: scram.ScramVerifier | scram.Md5Verifier | None,
    mock_secret: bytes,
    *,
    doomed: bool = False,
    mock_name: str | None = None,
) -> None:
    """Run ``method`` for ``user``; return on success, raise FATAL PgError on failure.

    ``doomed``: the exchange runs to its end and fails as a wrong password does (a
    disabled user or organisation); ``mock_name`` keys an unknown user's mock salt."""
    if method == "trust":
        if doomed or verifier is None and mock_name is not None:
            raise scram._auth_failed(user)
        return
    if method == "password":
        if not channel.tls:
            raise PgError(
                SqlState.INVALID_AUTHORIZATION_SPECIFICATION,
                "password authentication requires an encrypted (TLS) connection",
                severity="FATAL",
            )
        await channel.send_now(backend.authentication_cleartext_password())
        password = parse_password(await channel.read_password_message())
        scram.check_cleartext(verifier, user, password, doomed)
        return
    # PostgreSQL answers an md5 request for a user stored as SCRAM with SCRAM.
    if method == "md5" and not isinstance(verifier, scram.ScramVerifier):
        salt = scram.md5_salt()
        await channel.send_now(backend.authentication_md5_password(salt))
        response = parse_password(await channel.read_password_message())
        md5 = verifier if isinstance(verifier, scram.Md5Verifier) else None
        scram.check_md5_response(md5, salt, response.encode(), username=user, doomed=doomed)
        return
    try:
        await _scram(channel, user, verifier, mock_secret, doomed, mock_name)
    except PgError as err:
        if isinstance(verifier, scram.Md5Verifier) and err.sqlstate == SqlState.INVALID_PASSWORD:
            # The client only hears "password authentication failed" (PostgreSQL's
            # answer too); the operator must learn that no password can succeed.
            log.warning("user %r failed SCRAM authentication: its stored md5 verifier "
                        "cannot be used with auth_method %s; set auth_method: md5 or store "
                        "a SCRAM verifier (duckgres-trio passwd)", user, method)
        raise


async def _scram(
    channel: AuthChannel,
    user: str,
    verifier: scram.ScramVerifier | scram.Md5Verifier | None,
    mock_secret: bytes,
    doomed: bool,
    mock_name: str | None,
) -> None:
    exchange = scram.ScramExchange(
        verifier if isinstance(verifier, scram.ScramVerifier) else None,
        username=user,
        channel_binding=channel.channel_binding,
        mock_secret=mock_secret,
        doomed=doomed,
        mock_name=mock_name,
    )
    await channel.send_now(backend.authentication_sasl(exchange.mechanisms()))
    mechanism, client_first = parse_sasl_initial(await channel.read_password_message())
    if mechanism not in exchange.mechanisms():
        raise ProtocolViolation("client selected an invalid SASL authentication mechanism")
    server_first = exchange.server_first(mechanism, client_first)
    await channel.send_now(backend.authentication_sasl_continue(server_first))
    server_final = exchange.server_final(await channel.read_password_message())
    await channel.send_now(backend.authentication_sasl_final(server_final))


def tenant_login(snapshot, org, user: str):
    """Many tenants: the verifier of ``user`` in ``org`` (the routed organisation, None
    if routing found none) and why the login must fail ("" if it may succeed). Shared
    by pgwire and the Flight SQL ingress, so both refuse the same logins; every reason
    is for the server's log only, the client hears what a wrong password gets."""
    from duckgres_trio.engine.databases import name_problem

    why, verifier = "", None
    record = snapshot.user(org.name, user) if org is not None else None
    if org is not None:
        if name_problem(org.name) is not None:
            why = f"organisation name {org.name!r} cannot name its directory"
        elif org.disabled:
            why = f"organisation {org.name!r} is disabled"
        elif record is None:
            why = f"no user {user!r} in organisation {org.name!r}"
        elif record.disabled:
            why = f"user {user!r} of organisation {org.name!r} is disabled"
    if record is not None:
        try:
            verifier = scram.parse_verifier(record.verifier)
        except ValueError:
            why = why or f"user {user!r} of organisation {org.name!r} has no usable verifier"
    return verifier, why
