"""What SQL may do to the server's machine through DuckDB: files and extensions.

Without this, any user could read and write every file the server can
(``read_csv('/etc/passwd')``, ``COPY ... TO '/anywhere'``, ``ATTACH '/any/file'``) and
make DuckDB download code (``INSTALL``, autoinstall). ``file_access`` maps onto
DuckDB's own switches:

- ``all``: DuckDB's default, every file the server's user may open;
- ``data_dir``: ``enable_external_access = false`` with ``allowed_directories`` = the
  data directory and the configured extra directories;
- ``none``: ``enable_external_access = false`` alone. The databases' own files, their
  WAL and DuckDB's spill directory keep working (DuckDB opened them itself);
  pg_database then lists the current database only (its view reads the data directory).

DuckDB accepts ``allowed_directories`` only once a database is started, and after
``enable_external_access = false`` neither can change again (turning access back on,
or widening the lists, is refused for the life of the instance): so they are applied
right after the server's catalog is installed, as ``SET GLOBAL``, and no session can
undo them. Extensions: never installed or autoloaded; the ones built into the DuckDB
library load without touching a file (``sql.lockdown`` decides which a session may LOAD).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

#: Set when the database opens, in every mode: no download, no autoload, no community
#: or unsigned code; no persistent secrets of DuckDB's own (files under the server
#: user's home, loaded by every instance: they would cross sessions and tenants; the
#: config store keeps users' persistent secrets, ``tenancy.secrets``).
EXTENSION_CONFIG = {
    "autoinstall_known_extensions": "false",
    "autoload_known_extensions": "false",
    "allow_community_extensions": "false",
    "allow_persistent_secrets": "false",
}

#: Keys of the engine configuration applied after the catalog is installed (``late``).
LATE_KEYS = ("allowed_directories", "enable_external_access")


def duckdb_config(file_access: str, data_dir: Path,
                  extra_dirs: Iterable[Path] = ()) -> dict[str, str]:
    """The DuckDB settings for ``file_access``; values are strings (they travel to
    workers as JSON and into DuckDB's C API config)."""
    config = dict(EXTENSION_CONFIG)
    if file_access == "data_dir":
        dirs = [data_dir, *extra_dirs]
        config["allowed_directories"] = json.dumps(
            [str(Path(d).resolve()).rstrip("/") + "/" for d in dirs])
        config["enable_external_access"] = "false"
    elif file_access == "none":
        config["enable_external_access"] = "false"
    return config


def split(config: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """(what DuckDB takes when the database opens, the statements to run once the
    server's own setup is done), from an engine configuration."""
    early = {k: v for k, v in config.items() if k not in LATE_KEYS}
    late = []
    if "allowed_directories" in config:
        dirs = json.loads(config["allowed_directories"])
        late.append("SET GLOBAL allowed_directories = ["
                    + ", ".join(_literal(d) for d in dirs) + "]")
    if config.get("enable_external_access") == "false":
        late.append("SET GLOBAL enable_external_access = false")
    return early, late


def reads_data_dir(config: dict[str, str]) -> bool:
    """Whether SQL may list the data directory (pg_database reads it)."""
    return config.get("enable_external_access") != "false" or "allowed_directories" in config


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
