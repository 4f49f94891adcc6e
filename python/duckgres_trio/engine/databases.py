"""Which DuckDB file holds a PostgreSQL database: ``<data_dir>/<name>.duckdb``.

Shared by both engines, so a database name means the same file in standalone and
control-plane mode, and a bad name is refused the same way when connecting, creating
and dropping.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from duckgres_trio.errors import PgError, SqlState

#: DuckDB names its own catalogs so (pg_compat is ours: engine.pg_catalog); a file with
#: one of these names cannot be attached under it.
RESERVED = frozenset({"memory", "system", "temp", "main", "pg_compat"})
#: PostgreSQL's NAMEDATALEN - 1, in bytes.
MAX_NAME_BYTES = 63
#: Where the OIDs of databases start (PostgreSQL's FirstNormalObjectId).
FIRST_OID = 16384

_RULE = ("Database names are 1-63 bytes without '/', '.' or control characters, "
         "and not one of DuckDB's reserved catalog names (memory, system, temp, main, "
         "pg_compat).")


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a database here, or None.

    The name becomes a file name, so '/', NUL and other control characters are out
    (no path traversal); so is '.': DuckDB names a file's catalog after the part before
    its first dot, so "a.b" would call itself "a" (current_database()). Spaces, upper
    case and any other character PostgreSQL allows in a quoted name are kept as they are.
    """
    if not name:
        return "it is empty"
    if len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        return "it is longer than 63 bytes"
    if any(c in "/." or ord(c) < 32 or ord(c) == 127 for c in name):
        return "it contains '/', '.' or a control character"
    if name.lower() in RESERVED:
        return "DuckDB reserves it"
    return None


def database_file(data_dir: Path, name: str) -> Path:
    """The file of database ``name``; FATAL 3D000 if no database can have that name
    (a connection to it is refused as to a database that does not exist)."""
    if name_problem(name) is not None:
        raise PgError(SqlState.INVALID_CATALOG_NAME, f'database "{name}" does not exist',
                      severity="FATAL", detail=_RULE)
    return data_dir / f"{name}.duckdb"


def new_database_file(data_dir: Path, name: str) -> Path:
    """The file for CREATE DATABASE ``name``: 42602 if the name cannot be one, 42P04 if
    the database exists."""
    problem = name_problem(name)
    if problem is not None:
        raise PgError("42602", f'invalid database name "{name}": {problem}', detail=_RULE)
    path = data_dir / f"{name}.duckdb"
    if path.exists():
        raise PgError("42P04", f'database "{name}" already exists')
    return path


def existing_database_file(data_dir: Path, name: str) -> Path | None:
    """The file of database ``name`` if it exists (DROP DATABASE), else None."""
    if name_problem(name) is not None:
        return None
    path = data_dir / f"{name}.duckdb"
    return path if path.is_file() else None


def remove_database_files(path: Path) -> None:
    """Delete a database: its file, its write-ahead log, its spill directory."""
    for extra in (path.with_name(path.name + ".wal"),):
        extra.unlink(missing_ok=True)
    shutil.rmtree(path.with_name(path.name + ".tmp"), ignore_errors=True)
    path.unlink(missing_ok=True)


def database_oid(name: str) -> int:
    """pg_database.oid of ``name``: derived from the name, so it is the same in every
    process and after a restart (pg_stat_activity.datid agrees with pg_database).
    ``engine.pg_catalog`` computes the same in SQL (a test holds them equal)."""
    return FIRST_OID + int(hashlib.md5(name.encode()).hexdigest()[:7], 16)


def busy(name: str, others: int) -> PgError:
    """DROP DATABASE while other sessions use it (PostgreSQL's errdetail_busy_db)."""
    detail = (f"There is {others} other session using the database." if others == 1
              else f"There are {others} other sessions using the database.")
    return PgError("55006", f'database "{name}" is being accessed by other users',
                   detail=detail)


def no_database(name: str) -> PgError:
    return PgError(SqlState.INVALID_CATALOG_NAME, f'database "{name}" does not exist',
                   severity="FATAL")


def is_lock_conflict(message: str) -> bool:
    """Whether DuckDB refused to open a file because another process holds it."""
    return "Could not set lock on file" in message
