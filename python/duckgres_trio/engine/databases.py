"""Which DuckDB file holds a PostgreSQL database: ``<data_dir>/<name>.duckdb``.

Shared by both engines, so a database name means the same file in standalone and
control-plane mode, and a bad name is refused the same way.
"""

from __future__ import annotations

import re
from pathlib import Path

from duckgres_trio.errors import PgError, SqlState

_DB_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}")
# DuckDB names its own catalogs so; a file with one of these names cannot be attached.
_RESERVED = frozenset({"memory", "system", "temp", "main"})


def database_file(data_dir: Path, name: str) -> Path:
    if not _DB_NAME.fullmatch(name) or name.lower() in _RESERVED or ".." in name:
        raise PgError(
            SqlState.INVALID_CATALOG_NAME,
            f'database "{name}" does not exist',
            severity="FATAL",
            detail="Database names are 1-63 letters, digits, '_', '.' or '-', "
            "and not one of DuckDB's reserved catalog names.",
        )
    return data_dir / f"{name}.duckdb"


def no_database(name: str) -> PgError:
    return PgError(SqlState.INVALID_CATALOG_NAME, f'database "{name}" does not exist',
                   severity="FATAL")


def is_lock_conflict(message: str) -> bool:
    """Whether DuckDB refused to open a file because another process holds it."""
    return "Could not set lock on file" in message
