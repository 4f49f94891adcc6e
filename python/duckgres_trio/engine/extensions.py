"""DuckDB extensions the server itself loads, from their PyPI wheels.

These machines reach no extension repository, and ``INSTALL`` (a download) is refused
to sessions anyway (``sql.lockdown``). DuckDB publishes its extensions as Python wheels
(``duckdb-extension-ducklake`` ...), each holding one ``.duckdb_extension`` file built
for one DuckDB version: an extension loads only in exactly that version, so
pyproject.toml pins DuckDB and the wheels to the same version and the server LOADs the
file by its path inside the installed wheel. This happens while a database opens,
before the lockdown (``engine.lockdown``) turns file access off; afterwards a session
can LOAD only what ``allowed_extensions`` names, and DuckDB's autoinstall/autoload stay
off, so nothing here widens what SQL may load.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from pathlib import Path

#: extension name -> the Python package (and distribution) of its wheel.
WHEELS = {
    "ducklake": ("duckdb_extension_ducklake", "duckdb-extension-ducklake"),
    "postgres_scanner": ("duckdb_extension_postgres_scanner",
                         "duckdb-extension-postgres-scanner"),
    "httpfs": ("duckdb_extension_httpfs", "duckdb-extension-httpfs"),
}


class ExtensionMissing(RuntimeError):
    """An extension wheel is not installed, or holds no file for this DuckDB."""


def duckdb_version() -> str:
    """The installed DuckDB's version (the distribution's, without importing it)."""
    return importlib.metadata.version("duckdb")


def wheel_version(name: str) -> str:
    """The installed version of extension ``name``'s wheel."""
    try:
        return importlib.metadata.version(WHEELS[name][1])
    except importlib.metadata.PackageNotFoundError:
        raise ExtensionMissing(f"the {WHEELS[name][1]} wheel is not installed "
                               f"(pip install {WHEELS[name][1]}=={duckdb_version()})") from None


def path(name: str) -> Path:
    """The extension file of ``name`` for the installed DuckDB."""
    package, dist = WHEELS[name]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ExtensionMissing(f"the {dist} wheel is not installed "
                               f"(pip install {dist}=={duckdb_version()})")
    version = duckdb_version()
    root = Path(next(iter(spec.submodule_search_locations)))
    file = root / "extensions" / f"v{version}" / f"{name}.duckdb_extension"
    if not file.is_file():
        raise ExtensionMissing(f"{dist} {wheel_version(name)} has no extension for DuckDB "
                               f"{version} (it must be the same version: pip install "
                               f"{dist}=={version})")
    return file


def load_statement(name: str) -> str:
    return "LOAD '" + str(path(name)).replace("'", "''") + "'"
