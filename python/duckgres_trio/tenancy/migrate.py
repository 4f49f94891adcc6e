"""The config store's schema: numbered SQL files shipped in ``migrations/``, applied in
order at start, each once, recorded with its sha256.

Several control planes (and admin commands) may start at once on an empty store, so the
whole check-and-apply runs under one session-level advisory lock: the first applies,
the others wait and then find everything applied. Each file runs in its own transaction
with its record, so a failure leaves the store at the previous number. A file changed
after it was applied, or a store migrated by a newer server, stops the start with a
message naming the file: running against a schema the code was not written for would
fail later, and less clearly.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from importlib import resources

from duckgres_trio.tenancy.pgtrio import Connection

log = logging.getLogger(__name__)

SCHEMA = "duckgres"
#: pg_advisory_lock key: 'duckgres' in ASCII, as a bigint (any constant would do).
LOCK_KEY = int.from_bytes(b"duckgres", "big") & 0x7FFFFFFFFFFFFFFF

_NAME = re.compile(r"(\d{4})_[a-z0-9_]+\.sql")


class MigrationError(Exception):
    """The store's schema cannot be used by this server; the message says why."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def shipped() -> list[Migration]:
    """The package's migrations, by number (two files with one number are a bug)."""
    found: dict[int, Migration] = {}
    for entry in resources.files(__package__).joinpath("migrations").iterdir():
        m = _NAME.fullmatch(entry.name)
        if not m:
            continue
        version = int(m.group(1))
        if version in found:
            raise MigrationError(f"two migrations numbered {version:04d}: "
                                 f"{found[version].name} and {entry.name}")
        found[version] = Migration(version, entry.name, entry.read_text(encoding="utf-8"))
    return [found[v] for v in sorted(found)]


async def migrate(conn: Connection, migrations: list[Migration] | None = None) -> list[str]:
    """Bring the store's schema up to date; the names of the migrations applied now."""
    migrations = shipped() if migrations is None else migrations
    await conn.query("SELECT pg_advisory_lock($1)", [LOCK_KEY])
    try:
        await conn.query(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
        await conn.query(
            f"CREATE TABLE IF NOT EXISTS {SCHEMA}.schema_migrations ("
            "version integer PRIMARY KEY, name text NOT NULL, sha256 text NOT NULL, "
            "applied_at timestamptz NOT NULL DEFAULT now())")
        rows = await conn.query(f"SELECT version, name, sha256 FROM {SCHEMA}.schema_migrations")
        applied = {int(v): (name, sha) for v, name, sha in rows}
        _check(applied, migrations)
        done = []
        for migration in migrations:
            if migration.version in applied:
                continue
            await _apply(conn, migration)
            done.append(migration.name)
            log.info("config store: applied migration %s", migration.name)
        return done
    finally:
        if not conn.closed:
            await conn.query("SELECT pg_advisory_unlock($1)", [LOCK_KEY])


def _check(applied: dict[int, tuple[str, str]], migrations: list[Migration]) -> None:
    ours = {m.version: m for m in migrations}
    for version, (name, sha) in sorted(applied.items()):
        migration = ours.get(version)
        if migration is None:
            raise MigrationError(
                f"config store: migration {name} is applied but this server does not have "
                "it (the store was migrated by a newer version); upgrade this server")
        if migration.sha256 != sha:
            raise MigrationError(
                f"config store: migration {migration.name} was changed after it was applied "
                f"(sha256 {migration.sha256[:12]}..., applied {sha[:12]}...); restore the "
                "file as it was and put the change in a new migration")


async def _apply(conn: Connection, migration: Migration) -> None:
    await conn.query("BEGIN")
    try:
        await conn.query(migration.sql)
        await conn.query(
            f"INSERT INTO {SCHEMA}.schema_migrations (version, name, sha256) "
            "VALUES ($1, $2, $3)", [migration.version, migration.name, migration.sha256])
        await conn.query("COMMIT")
    except BaseException:
        if not conn.closed:
            await conn.query("ROLLBACK")
        raise
