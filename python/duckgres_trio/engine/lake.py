"""DuckLake storage: a database held in a DuckLake (catalog in PostgreSQL, data files
under a directory or s3:// prefix) instead of a DuckDB file (docs/ducklake.md).

Each database is one DuckLake: its metadata in its own schema of the catalog
PostgreSQL database (the schema is named after the database) and its data files under
``<data_path>/<name>/``. A process serving it opens an in-memory DuckDB (the server's
pg_catalog installed as for a file), LOADs ducklake and postgres_scanner from their
wheels (``engine.extensions``), ATTACHes the lake under the database's name, and each
session's connection ``USE``s it, so current_database(), unqualified names and the
pg_catalog views see the lake as they see a file's catalog.

A ``Lake`` travels to workers as a dict (``spec``): JSON, like the rest of Activate.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass

from duckgres_trio.engine import extensions
from duckgres_trio.engine.databases import name_problem
from duckgres_trio.errors import PgError, SqlState

#: Seconds libpq waits to connect to the catalog (added to the DSN unless it sets its
#: own): an unreachable catalog is an error, never a hang.
CONNECT_TIMEOUT = 10


@dataclass(frozen=True)
class Lake:
    """Where the server's DuckLakes live: ``catalog`` a libpq connection string,
    ``data_path`` a directory or an s3:// prefix."""

    catalog: str
    data_path: str
    #: before each database's schema name: an organisation's ``<org>/`` (many tenants)
    schema_prefix: str = ""

    def spec(self, name: str) -> dict[str, str]:
        """What a process needs to attach database ``name``'s lake."""
        return {"name": name, "catalog": with_connect_timeout(self.catalog),
                "data_path": self.data_path.rstrip("/") + "/" + name + "/",
                "schema": self.schema_prefix + name}

    def exists(self, name: str) -> bool:
        """Whether database ``name``'s lake is in the catalog (blocking)."""
        return lake_exists(self.catalog, self.schema_prefix + name)

    def check_new(self, name: str) -> None:
        """CREATE DATABASE ``name``: 42P04 if its lake exists (blocking; the caller
        has checked the name)."""
        if self.exists(name):
            raise PgError("42P04", f'database "{name}" already exists')

    def drop(self, name: str) -> bool:
        """DROP DATABASE ``name``: its schema and (local) files; False if it has none
        (blocking)."""
        if name_problem(name) is not None or not self.exists(name):
            return False
        drop_lake(self.catalog, self.spec(name))
        return True

    def names(self) -> list[str]:
        """The databases of this server (or organisation) in the catalog (blocking)."""
        prefix = self.schema_prefix
        return [schema[len(prefix):] for schema in lake_names(self.catalog)
                if schema.startswith(prefix) and "/" not in schema[len(prefix):]]


#: DuckDB's message when a lake's catalog database cannot be reached (attaching, or any
#: statement: DuckLake asks the catalog for its latest snapshot first). Its text names
#: the connection string; ``catalog_unreachable`` keeps only libpq's reason.
CATALOG_UNREACHABLE = (r".*(?:Unable to connect to Postgres at |server closed the connection "
                       r"unexpectedly|no connection to the server|terminating connection due "
                       r"to administrator command)")
_REASON = re.compile(r'Unable to connect to Postgres at ".*?": (.*)$')


def catalog_unreachable(message: str) -> str | None:
    """The message to send when ``message`` (DuckDB's first line) says the catalog
    cannot be reached, without the connection string; None otherwise."""
    first = message.partition("\n")[0]
    if not re.match(CATALOG_UNREACHABLE, first):
        return None
    found = _REASON.search(first)
    if found:
        reason = found.group(1)
    else:  # a connection lost mid-query: libpq's words, without the query DuckDB quotes
        reason = re.search(r"(server closed the connection unexpectedly|no connection to "
                           r"the server|terminating connection due to administrator command)",
                           first).group(1)
    return f"could not reach the DuckLake catalog database: {reason}"


def with_connect_timeout(dsn: str) -> str:
    """``dsn`` with libpq's connect_timeout set, unless it sets one."""
    if "connect_timeout" in dsn:
        return dsn
    if dsn.startswith(("postgres://", "postgresql://")):
        return dsn + ("&" if "?" in dsn else "?") + f"connect_timeout={CONNECT_TIMEOUT}"
    return f"{dsn} connect_timeout={CONNECT_TIMEOUT}".strip()


def widen_lockdown(config: dict[str, str], spec: dict[str, str]) -> dict[str, str]:
    """The engine configuration with the lake's data directory writable: with file
    access fenced in (``engine.lockdown``) DuckDB checks its own data files against
    ``allowed_directories`` too, so the lake's directory joins the list (in
    file_access=none, as the only entry: SQL may then read that lake's files, which
    hold nothing the session could not SELECT)."""
    if config.get("enable_external_access") != "false":
        return config
    dirs = json.loads(config.get("allowed_directories", "[]"))
    if spec["data_path"] not in dirs:
        dirs.append(spec["data_path"])
    return {**config, "allowed_directories": json.dumps(dirs)}


def make_data_dir(spec: dict[str, str]) -> None:
    """Create the lake's local data directory (DuckLake makes only the folders below
    it); an object-store prefix needs none."""
    if "://" not in spec["data_path"]:
        os.makedirs(spec["data_path"], exist_ok=True)


def attach_statements(spec: dict[str, str]) -> list[str]:
    """Run once on a new instance, before the lockdown: the extensions, then the lake
    attached under the database's name. DuckLake asks DuckDB's secret manager for a
    postgres secret, which looks in the persistent (``local_file``) storage the
    server turns off and fails unless an in-memory one answers first: an empty one
    does, dropped once the lake is attached (the DSN carries the credentials)."""
    statements = [extensions.load_statement("postgres_scanner"),
                  extensions.load_statement("ducklake")]
    if spec["data_path"].startswith(("s3://", "s3a://", "gs://", "r2://", "https://")):
        statements.append(extensions.load_statement("httpfs"))
    secret = "__default_postgres"
    statements += [
        f"CREATE OR REPLACE SECRET {secret} (TYPE postgres)",
        f"ATTACH {_literal('ducklake:postgres:' + spec['catalog'])} AS {ident(spec['name'])} "
        f"(DATA_PATH {_literal(spec['data_path'])}, "
        f"METADATA_SCHEMA {_literal(spec['schema'])})",
        f"DROP SECRET {secret}",
    ]
    return statements


def database_files_view(spec: dict[str, str], catalog_db: str) -> str:
    """pg_database's source (``engine.pg_catalog``'s database_files) for a lake: the
    lakes in the catalog, read when queried through DuckLake's own connection to it,
    so a database created or dropped by any process shows at once. An organisation's
    (schema ``<org>/<name>``) lists its own only."""
    prefix = spec["schema"][: len(spec["schema"]) - len(spec["name"])]
    metadata = "__ducklake_metadata_" + spec["name"]
    return (
        f"CREATE OR REPLACE VIEW {catalog_db}.main.database_files AS "
        f"SELECT substr(schemaname, {len(prefix) + 1}) AS datname, NULL::BIGINT AS size "
        f"FROM postgres_query({_literal(metadata)}, {_literal(_LAKES_SQL)}) "
        f"WHERE starts_with(schemaname, {_literal(prefix)}) "
        f"AND strpos(substr(schemaname, {len(prefix) + 1}), '/') = 0")


def use_statement(spec: dict[str, str]) -> str:
    """Run on each session's connection: DuckDB's default catalog is per connection."""
    return f"USE {ident(spec['name'])}"


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# -- the catalog's side: which lakes exist (blocking; callers run these in a thread) --

#: A schema holds a lake when DuckLake's own table is in it.
_LAKES_SQL = ("SELECT schemaname::text AS schemaname FROM pg_catalog.pg_tables "
              "WHERE tablename = 'ducklake_metadata'")


def _catalog_connect(dsn: str):
    import psycopg  # the config store's client, a dependency already

    try:
        return psycopg.connect(with_connect_timeout(dsn), autocommit=True)
    except psycopg.OperationalError as exc:
        reason = str(exc).partition("\n")[0].removeprefix("connection failed: ")
        raise PgError(SqlState.CONNECTION_FAILURE,
                      f"could not reach the DuckLake catalog database: {reason}") from None


def lake_names(catalog: str) -> list[str]:
    """The databases whose lakes the catalog holds."""
    with _catalog_connect(catalog) as conn:
        return sorted(row[0] for row in conn.execute(_LAKES_SQL))


def lake_exists(catalog: str, name: str) -> bool:
    with _catalog_connect(catalog) as conn:
        return conn.execute(_LAKES_SQL + " AND schemaname = %s", (name,)).fetchone() is not None


def drop_lake(catalog: str, spec: dict[str, str]) -> None:
    """Remove a lake: its metadata schema, then (a local directory only) its files."""
    import shutil

    with _catalog_connect(catalog) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {ident(spec['schema'])} CASCADE")
    if "://" not in spec["data_path"]:
        shutil.rmtree(spec["data_path"], ignore_errors=True)
