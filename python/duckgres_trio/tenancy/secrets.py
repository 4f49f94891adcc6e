"""Users' persistent secrets: sealed with AES-256-GCM, kept in the config store,
replayed as temporary DuckDB secrets at the start of each of the user's sessions.

DuckDB's own persistent secrets are files in the server's home directory, shared by
every tenant: they are off (``engine.lockdown``). Here a secret is the option list of
its CREATE statement (``sql.secrets``), sealed:

- key: ``DUCKGRES_USER_SECRET_KEY`` only (32 bytes, base64), never a flag or YAML, so
  it is not in a file next to the store's DSN. A malformed key stops the start; a
  missing one makes CREATE PERSISTENT SECRET fail with 0A000 (DROP still works).
- blob: version byte 1, 12-byte random nonce, ciphertext and tag; associated data the
  organisation, user and secret name, each length-prefixed, so a blob copied to another
  row (or with its names shifted, ("ab","c") against ("a","bc")) does not open.

The store sees only blobs; the plaintext exists in this process and on the session's
DuckDB connection. Rows that do not open (moved, another key) are logged by name and
skipped; a session never fails for them.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import re
import struct

import trio
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from psycopg import Error as PsycopgError

from duckgres_trio.errors import PgError, SqlState
from duckgres_trio.tenancy import migrate
from duckgres_trio.tenancy.pgtrio import Connection

log = logging.getLogger(__name__)

KEY_ENV = "DUCKGRES_USER_SECRET_KEY"
VERSION = 1
NONCE_BYTES = 12
#: Persistent secrets one user may keep.
MAX_PER_USER = 32
#: How long a session's start waits for its user's rows (seconds) before it goes on
#: with those last read, or none.
READ_TIMEOUT = 3.0


class SealingKeyError(ValueError):
    """DUCKGRES_USER_SECRET_KEY is set but is not 32 bytes of base64."""


class OpenError(ValueError):
    """A blob that does not open: another row's, another key's, or damaged."""


def load_key(environ=os.environ) -> bytes | None:
    """The sealing key from the environment; None if unset (persisting is off)."""
    text = environ.get(KEY_ENV, "").strip()
    if not text:
        return None
    key = None
    if re.fullmatch(r"[A-Za-z0-9+/]+={0,2}|[A-Za-z0-9_-]+={0,2}", text):
        padded = (text.rstrip("=") + "=" * (-len(text.rstrip("=")) % 4)).encode()
        try:  # standard or URL-safe alphabet, padded or not
            key = base64.b64decode(padded.replace(b"-", b"+").replace(b"_", b"/"),
                                   validate=True)
        except (binascii.Error, ValueError):
            key = None
    if key is None:
        raise SealingKeyError(f"{KEY_ENV} is not base64 (it must be 32 bytes in base64, "
                              "e.g. from `openssl rand -base64 32`)")
    if len(key) != 32:
        raise SealingKeyError(f"{KEY_ENV} must be 32 bytes in base64; it decodes to "
                              f"{len(key)} bytes")
    return key


def associated_data(org: str, user: str, name: str) -> bytes:
    """org, user and name, each as a 4-byte length and its UTF-8 bytes."""
    out = bytearray()
    for part in (org, user, name):
        data = part.encode()
        out += struct.pack(">I", len(data)) + data
    return bytes(out)


def seal(key: bytes, org: str, user: str, name: str, plaintext: str) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(key).encrypt(nonce, plaintext.encode(), associated_data(org, user, name))
    return bytes([VERSION]) + nonce + sealed


def open_blob(key: bytes, org: str, user: str, name: str, blob: bytes) -> str:
    if len(blob) < 1 + NONCE_BYTES + 16:
        raise OpenError("too short")
    if blob[0] != VERSION:
        raise OpenError(f"unknown version {blob[0]}")
    nonce, sealed = blob[1:1 + NONCE_BYTES], blob[1 + NONCE_BYTES:]
    try:
        return AESGCM(key).decrypt(nonce, sealed, associated_data(org, user, name)).decode()
    except (InvalidTag, UnicodeDecodeError):
        raise OpenError("does not open with this key for this row") from None


def _no_key() -> PgError:
    return PgError(SqlState.FEATURE_NOT_SUPPORTED,
                   "persistent secrets cannot be stored: the server has no sealing key",
                   hint=f"The operator sets {KEY_ENV} (32 bytes, base64) in the server's "
                   "environment.")


class UserSecrets:
    """The config store's ``user_secrets`` for this control plane: one connection of
    its own (the snapshot's is busy listening), used by one task at a time."""

    def __init__(self, dsn: str, key: bytes | None, snapshots=lambda: None) -> None:
        self.dsn = dsn
        self.key = key
        self._snapshots = snapshots  # the current snapshot: a new one drops the cache
        self._conn: Connection | None = None
        self._lock = trio.Lock()
        # (org, user) -> (snapshot it was read under, [(name, blob)]): a reload (NOTIFY
        # from any control plane's write, or the poll) makes it stale; during a store
        # outage the last rows read serve.
        self._cache: dict[tuple[str, str], tuple[object, list[tuple[str, bytes]]]] = {}

    async def _connection(self, timeout: float = 10.0) -> Connection:
        if self._conn is None or self._conn.closed:
            self._conn = await Connection.connect(self.dsn, timeout=timeout)
        return self._conn

    def _drop_connection(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- reading ---------------------------------------------------------------------

    async def statements(self, org: str, user: str) -> list[tuple[str, str]]:
        """(name, CREATE OR REPLACE TEMPORARY SECRET ...) to replay for a new session."""
        from duckgres_trio.sql.secrets import temporary_sql

        rows = await self._rows(org, user)
        if rows and self.key is None:
            log.warning("persistent secrets of %s/%s not replayed: %s is not set", org, user,
                        KEY_ENV)
            return []
        out = []
        for name, blob in rows:
            try:
                options = open_blob(self.key, org, user, name, blob)
            except OpenError as exc:
                log.warning("persistent secret %r of %s/%s skipped: %s", name, org, user, exc)
                continue
            out.append((name, temporary_sql(name, options)))
        return out

    async def _rows(self, org: str, user: str) -> list[tuple[str, bytes]]:
        snapshot = self._snapshots()
        cached = self._cache.get((org, user))
        if cached is not None and cached[0] is snapshot:
            return cached[1]
        try:
            async with self._lock:
                conn = await self._connection(READ_TIMEOUT)
                found = await conn.query(
                    f"SELECT name, sealed FROM {migrate.SCHEMA}.user_secrets "
                    "WHERE org = $1 AND user_name = $2 ORDER BY name", [org, user],
                    timeout=READ_TIMEOUT)
        except (PsycopgError, OSError) as exc:
            self._drop_connection()
            if cached is not None:
                log.warning("config store unreachable (%s): replaying the persistent secrets "
                            "of %s/%s as last read", _first_line(exc), org, user)
                return cached[1]
            log.warning("config store unreachable (%s): persistent secrets of %s/%s not "
                        "replayed", _first_line(exc), org, user)
            return []
        rows = [(name, bytes.fromhex(blob[2:])) for name, blob in found]
        self._cache[(org, user)] = (snapshot, rows)
        return rows

    # -- writing ---------------------------------------------------------------------

    def check_key(self) -> None:
        if self.key is None:
            raise _no_key()

    async def put(self, org: str, user: str, name: str, options: str, *,
                  replace: bool, if_not_exists: bool) -> bool:
        """Seal and store; False if IF NOT EXISTS found one. One transaction: the user
        row locked (concurrent CREATEs of one user count in turn), the count, the write,
        the NOTIFY that reloads every control plane."""
        self.check_key()
        blob = seal(self.key, org, user, name, options)
        conflict = ("DO UPDATE SET sealed = excluded.sealed, updated_at = now()" if replace
                    else "DO NOTHING")
        async with self._transaction() as conn:
            if not await conn.query(f"SELECT 1 FROM {migrate.SCHEMA}.users WHERE org = $1 "
                                    "AND name = $2 FOR UPDATE", [org, user]):
                raise PgError(SqlState.UNDEFINED_OBJECT,
                              f'user "{user}" is no longer in the config store')
            [(count,)] = await conn.query(
                f"SELECT count(*) FROM {migrate.SCHEMA}.user_secrets WHERE org = $1 "
                "AND user_name = $2 AND name <> $3", [org, user, name])
            if int(count) >= MAX_PER_USER:
                raise PgError(SqlState.PROGRAM_LIMIT_EXCEEDED,
                              f'user "{user}" has {count} persistent secrets, the most '
                              f"one user may keep ({MAX_PER_USER})",
                              hint="DROP PERSISTENT SECRET one first.")
            written = await conn.query(
                f"INSERT INTO {migrate.SCHEMA}.user_secrets (org, user_name, name, sealed) "
                f"VALUES ($1, $2, $3, decode($4, 'hex')) "
                f"ON CONFLICT (org, user_name, name) {conflict} RETURNING 1",
                [org, user, name, blob.hex()])
            if not written and not if_not_exists:
                raise PgError(SqlState.DUPLICATE_OBJECT,
                              f'persistent secret "{name}" already exists')
            await self._notify(conn, org, user)
        self._cache.pop((org, user), None)
        return bool(written)

    async def delete(self, org: str, user: str, name: str) -> bool:
        """Remove; False if there was none. Needs no key (rows sealed with a lost key
        stay removable)."""
        async with self._transaction() as conn:
            gone = await conn.query(
                f"DELETE FROM {migrate.SCHEMA}.user_secrets WHERE org = $1 "
                "AND user_name = $2 AND name = $3 RETURNING 1", [org, user, name])
            if gone:
                await self._notify(conn, org, user)
        self._cache.pop((org, user), None)
        return bool(gone)

    async def _notify(self, conn: Connection, org: str, user: str) -> None:
        from duckgres_trio.tenancy.store import notify_payload

        await conn.query(*notify_payload("secret", f"{org}/{user}"))

    def _transaction(self):
        return _Transaction(self)

    def close(self) -> None:
        self._drop_connection()


class _Transaction:
    """BEGIN ... COMMIT on the store, ROLLBACK on any error; a store failure becomes
    PgError 58000 (the statement fails, the session goes on)."""

    def __init__(self, owner: UserSecrets) -> None:
        self.owner = owner

    async def __aenter__(self) -> Connection:
        await self.owner._lock.acquire()
        try:
            conn = await self.owner._connection()
            await conn.query("BEGIN")
        except BaseException as exc:
            self.owner._drop_connection()
            self.owner._lock.release()
            if isinstance(exc, (PsycopgError, OSError)):
                raise _store_failed(exc) from None
            raise
        self.conn = conn
        return conn

    async def __aexit__(self, kind, exc, tb) -> bool:
        try:
            if kind is None:
                await self.conn.query("COMMIT")
                return False
            with trio.CancelScope(shield=True), trio.move_on_after(2):
                await self.conn.query("ROLLBACK")
        except (PsycopgError, OSError) as failed:
            self.owner._drop_connection()
            if kind is None:
                raise _store_failed(failed) from None
        finally:
            self.owner._lock.release()
        if isinstance(exc, (PsycopgError, OSError)):
            raise _store_failed(exc) from None
        return False


def _store_failed(exc: BaseException) -> PgError:
    log.warning("config store: persistent secret not written: %s", _first_line(exc))
    return PgError("58000",
                   "the config store could not be written; the persistent secret is unchanged")


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
