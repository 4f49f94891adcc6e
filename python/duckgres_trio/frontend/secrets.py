"""A session's side of persistent secrets (``tenancy.secrets`` keeps them): replay at
start, CREATE / DROP PERSISTENT SECRET, and taking them off the DuckDB instance when
the user's last session on it ends.

DuckDB keeps temporary secrets per instance, not per connection (1.5.5 has no
connection-scoped storage): sessions of the same organisation on the same database
share one instance, so while a user's session is open its secrets are on that
instance. When the user's last session on the database ends they are dropped from it
(docs/multitenancy.md, "Persistent secrets", says what this leaves shared).
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from typing import TYPE_CHECKING, Protocol

import trio

from duckgres_trio.errors import PgError, SqlState
from duckgres_trio.sql import secrets as secret_ddl
from duckgres_trio.sql.redaction import redacted_error
from duckgres_trio.wire import backend

from duckgres_trio.engine.base import Executor
from duckgres_trio.frontend.results import Output

if TYPE_CHECKING:
    from duckgres_trio.tenancy.secrets import UserSecrets

log = logging.getLogger(__name__)


class Session(Protocol):
    """What of a session (frontend/session.py, which calls this module) is used here:
    declared, not imported, so that the session's module stays the only one above."""

    executor: Executor
    persistent_secrets: SessionSecrets | None

    async def _engine(self, sql: str) -> None: ...

#: Statement tags (``sql.statements``) a persistent-secret command has.
COMMANDS = frozenset({"CREATE SECRET", "DROP PERSISTENT"})

#: Sessions open per (organisation, user, database) on this server, and the names of
#: the secrets they put on that database's instance (replayed or created).
_open: Counter[tuple[str, str, str]] = Counter()
_placed: dict[tuple[str, str, str], set[str]] = {}
#: Held while a session replays or its last one drops: a session starting while the
#: previous one's DROPs run must not lose what it replays to them.
_locks: defaultdict[tuple[str, str, str], trio.Lock] = defaultdict(trio.Lock)


def is_persistent_secret(stmt) -> bool:
    """Whether ``stmt`` (an ``sql.Statement``) is CREATE / DROP PERSISTENT SECRET, which
    the session answers (PgError for one it cannot keep)."""
    return stmt.command in COMMANDS and secret_ddl.parse(stmt.text) is not None


def shared_instance() -> PgError:
    """CREATE SECRET where other users' sessions may share the DuckDB instance."""
    return PgError(SqlState.FEATURE_NOT_SUPPORTED,
                   "CREATE SECRET needs a DuckDB instance of this user's own",
                   detail="DuckDB keeps secrets per instance, and with organisations on "
                   "DuckDB files (or in standalone mode) one database's instance serves "
                   "every user of the organisation, so the secret would be theirs too.",
                   hint="Serve the organisation with --mode controlplane --storage "
                   "ducklake: there each user's sessions get workers of their own.")


class SessionSecrets:
    """The persistent secrets of one session's user: (store, organisation, user)."""

    def __init__(self, store: UserSecrets, org: str, user: str, database: str) -> None:
        self.store, self.org, self.user, self.database = store, org, user, database
        self._counted = False

    async def replay(self, session: Session) -> None:
        """Before the session's first statement: its user's secrets, as temporary ones."""
        statements = await self.store.statements(self.org, self.user)
        async with _locks[self._key]:
            _open[self._key] += 1
            self._counted = True
            for name, sql in statements:
                try:
                    await session.executor.execute(sql, False)
                except PgError as err:
                    err = redacted_error(err, sql)
                    log.warning("persistent secret %r of %s/%s not replayed: %s %s", name,
                                self.org, self.user, err.sqlstate, err.message)
                    continue
                self.placed(name)

    async def forget(self, session: Session) -> None:
        """The session ends: the user's last one on this database takes the secrets
        this session put there off the instance."""
        if not self._counted:
            return
        self._counted = False
        key = self._key
        async with _locks[key]:
            _open[key] -= 1
            if _open[key] > 0:
                return
            del _open[key]
            for name in sorted(_placed.pop(key, ())):
                try:
                    await session.executor.execute(
                        f"DROP TEMPORARY SECRET IF EXISTS {secret_ddl.quote_ident(name)}",
                        False)
                except Exception:  # noqa: BLE001 - closing must not fail: the engine is
                    break  # gone, and its instance with it

    def placed(self, name: str) -> None:
        _placed.setdefault(self._key, set()).add(name)

    def removed(self, name: str) -> None:
        _placed.get(self._key, set()).discard(name)

    @property
    def _key(self) -> tuple[str, str, str]:
        return (self.org, self.user, self.database)


async def run(session: Session, command: secret_ddl.SecretCommand, out: Output, *,
              in_block: bool) -> None:
    """CREATE / DROP PERSISTENT SECRET in ``session``."""
    bound: SessionSecrets | None = session.persistent_secrets
    verb = "CREATE" if command.kind == "create" else "DROP"
    if bound is None:
        raise PgError(SqlState.FEATURE_NOT_SUPPORTED,
                      f"{verb} PERSISTENT SECRET needs a config store",
                      detail="Persistent secrets are kept, sealed, in the config store of a "
                      "server serving organisations (setting config_store); DuckDB's own "
                      "secret files are off.",
                      hint="CREATE TEMPORARY SECRET lasts as long as the session.")
    if in_block:
        raise PgError(SqlState.ACTIVE_SQL_TRANSACTION,
                      f"{verb} PERSISTENT SECRET cannot run inside a transaction block")
    if command.kind == "create":
        await _create(session, bound, command)
        out.queue(backend.command_complete("CREATE SECRET"))
        return
    if await bound.store.delete(bound.org, bound.user, command.name):
        bound.removed(command.name)
        await session._engine(
            f"DROP TEMPORARY SECRET IF EXISTS {secret_ddl.quote_ident(command.name)}")
    else:
        message = f'persistent secret "{command.name}" does not exist'
        if not command.missing_ok:
            raise PgError(SqlState.UNDEFINED_OBJECT, message)
        out.queue(backend.notice_response(
            PgError(SqlState.SUCCESSFUL_COMPLETION, message + ", skipping", severity="NOTICE")))
    out.queue(backend.command_complete("DROP SECRET"))


async def _create(session: Session, bound: SessionSecrets,
                  command: secret_ddl.SecretCommand) -> None:
    bound.store.check_key()
    await session._engine(command.temporary_sql())  # DuckDB validates; errors redacted
    try:
        await bound.store.put(bound.org, bound.user, command.name, command.options,
                              replace=command.replace, if_not_exists=command.if_not_exists)
    except BaseException:
        # not kept: not in the session either (the statement had no effect)
        try:
            await session._engine(
                f"DROP TEMPORARY SECRET IF EXISTS {secret_ddl.quote_ident(command.name)}")
        except PgError:
            pass
        raise
    bound.placed(command.name)
