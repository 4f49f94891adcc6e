"""CREATE DATABASE and DROP DATABASE, read with PostgreSQL's own parser.

A database here is a DuckDB file that starts empty (``engine.databases``), so of
CREATE DATABASE's options only those that describe such a database are accepted; the
others (copying a template, another encoding or collation, limits nobody enforces) are
refused with 0A000 naming the option. The checks follow PostgreSQL's ``createdb()`` and
``DropDatabase()`` (src/backend/commands/dbcommands.c): the same errors for unknown,
repeated and malformed options. The session runs the statements (``frontend.session``).
"""

from __future__ import annotations

from dataclasses import dataclass

from pglast import ast

from duckgres_trio.errors import PgError, SqlState
from duckgres_trio.sql.parsing import parse_statement

#: CREATE DATABASE options PostgreSQL 15 knows.
_CREATE_OPTIONS = frozenset({
    "tablespace", "owner", "template", "encoding", "locale", "lc_collate", "lc_ctype",
    "icu_locale", "locale_provider", "collation_version", "connection_limit",
    "is_template", "allow_connections", "oid", "strategy", "location"})
#: The templates PostgreSQL has; a new database here is empty, as a copy of either is.
_TEMPLATES = frozenset({"template0", "template1"})
#: Locales whose collation is DuckDB's (byte order), as pg_database shows.
_LOCALES = frozenset({"c", "posix", "c.utf-8", "c.utf8"})


@dataclass(frozen=True, slots=True)
class DatabaseCommand:
    """``kind`` "create" or "drop"; ``name`` the database; DROP's ``missing_ok``
    (IF EXISTS) and ``force`` (WITH (FORCE)). ``warnings``: notices to send (LOCATION).
    ``error``: what is wrong with the options, raised when the statement runs (after
    the transaction-block check, as in PostgreSQL)."""

    kind: str
    name: str
    missing_ok: bool = False
    force: bool = False
    warnings: tuple[PgError, ...] = ()
    error: PgError | None = None


def parse_database_command(text: str) -> DatabaseCommand:
    """The command of a CREATE/DROP DATABASE statement; PgError 42601 if it does not
    parse. Options PostgreSQL refuses, and those this server cannot honour (0A000),
    are the command's ``error``."""
    stmt = parse_statement(text)
    if isinstance(stmt, ast.DropdbStmt):
        error = next((PgError(SqlState.SYNTAX_ERROR,
                              f'unrecognized DROP DATABASE option "{option.defname}"')
                      for option in stmt.options or () if option.defname != "force"), None)
        return DatabaseCommand("drop", stmt.dbname, bool(stmt.missing_ok),
                               force=bool(stmt.options), error=error)
    if not isinstance(stmt, ast.CreatedbStmt):
        raise PgError(SqlState.SYNTAX_ERROR, "CREATE DATABASE or DROP DATABASE expected")
    try:
        return DatabaseCommand("create", stmt.dbname,
                               warnings=_check_create_options(stmt.options))
    except PgError as err:
        return DatabaseCommand("create", stmt.dbname, error=err)


def _check_create_options(options) -> tuple[PgError, ...]:
    given: dict[str, object] = {}
    warnings = []
    for option in options or ():
        name = option.defname
        if name not in _CREATE_OPTIONS:
            raise PgError(SqlState.SYNTAX_ERROR, f'option "{name}" not recognized')
        if name == "location":
            warnings.append(PgError(SqlState.FEATURE_NOT_SUPPORTED,
                                    "LOCATION is not supported anymore", severity="WARNING",
                                    hint="Consider using tablespaces instead."))
            continue
        if name in given:
            raise PgError(SqlState.SYNTAX_ERROR, "conflicting or redundant options")
        given[name] = option.arg  # None: DEFAULT, as PostgreSQL's "no value given"
    given = {k: v for k, v in given.items() if v is not None}

    encoding = given.get("encoding")
    if encoding is not None:
        if isinstance(encoding, ast.Integer):
            ok = encoding.ival == 6  # PG_UTF8
        else:
            ok = "".join(c for c in _string(encoding).lower() if c.isalnum()) in ("utf8", "unicode")
        if not ok:
            raise _unsupported(f"ENCODING {_string(encoding)}",
                               "every database here is UTF8")
    for key in ("locale", "lc_collate", "lc_ctype"):
        if key in given and _string(given[key]).lower() not in _LOCALES:
            raise _unsupported(f"{key.upper()} {_string(given[key])}",
                               "databases here collate as C.UTF-8 (byte order)")
    if "icu_locale" in given:
        raise _unsupported("ICU_LOCALE", "databases here collate as C.UTF-8 (byte order)")
    if "locale_provider" in given:
        provider = _string(given["locale_provider"]).lower()
        if provider == "icu":
            raise _unsupported("LOCALE_PROVIDER icu", "databases here use libc's C.UTF-8")
        if provider != "libc":
            raise PgError("42P17",  # invalid_object_definition, as createdb() says it
                          f"unrecognized locale provider: {_string(given['locale_provider'])}")
    if "is_template" in given and _boolean("is_template", given["is_template"]):
        raise _unsupported("IS_TEMPLATE true", "a database here cannot be copied")
    if "allow_connections" in given and not _boolean("allow_connections",
                                                     given["allow_connections"]):
        raise _unsupported("ALLOW_CONNECTIONS false", "every database here accepts connections")
    if "connection_limit" in given:
        limit = _integer("connection_limit", given["connection_limit"])
        if limit < -1:
            raise PgError(SqlState.INVALID_PARAMETER_VALUE, f"invalid connection limit: {limit}")
        if limit != -1:
            raise _unsupported("CONNECTION LIMIT", "connections are limited per server only")
    if "oid" in given:
        raise _unsupported("OID", "database OIDs derive from their names")
    if "template" in given and _string(given["template"]) not in _TEMPLATES:
        raise _unsupported(f"TEMPLATE {_string(given['template'])}",
                           "a new database starts empty (as from template0)")
    if "strategy" in given:
        strategy = _string(given["strategy"])
        if strategy.lower() not in ("wal_log", "file_copy"):
            raise PgError(SqlState.INVALID_PARAMETER_VALUE,
                          f'invalid create database strategy "{strategy}"',
                          hint='Valid strategies are "wal_log", and "file_copy".')
    if "tablespace" in given and _string(given["tablespace"]) != "pg_default":
        raise PgError(SqlState.UNDEFINED_OBJECT,
                      f'tablespace "{_string(given["tablespace"])}" does not exist')
    # OWNER: accepted; every user is a superuser here and pg_database shows datdba 10.
    # COLLATION_VERSION: accepted; DuckDB's collation has no versions.
    return tuple(warnings)


def _unsupported(what: str, why: str) -> PgError:
    return PgError(SqlState.FEATURE_NOT_SUPPORTED,
                   f"CREATE DATABASE ... {what} is not supported: {why}")


def _string(arg) -> str:
    """PostgreSQL's defGetString."""
    if isinstance(arg, ast.Integer):
        return str(arg.ival)
    if isinstance(arg, ast.Float):
        return arg.fval
    if isinstance(arg, ast.Boolean):
        return "true" if arg.boolval else "false"
    return arg.sval


def _boolean(name: str, arg) -> bool:
    """PostgreSQL's defGetBoolean."""
    if isinstance(arg, ast.Integer) and arg.ival in (0, 1):
        return bool(arg.ival)
    if isinstance(arg, ast.String):
        value = arg.sval.lower()
        if value in ("true", "on"):
            return True
        if value in ("false", "off"):
            return False
    if isinstance(arg, ast.Boolean):
        return bool(arg.boolval)
    raise PgError(SqlState.SYNTAX_ERROR, f"{name} requires a Boolean value")


def _integer(name: str, arg) -> int:
    """PostgreSQL's defGetInt32."""
    if isinstance(arg, ast.Integer):
        return arg.ival
    raise PgError(SqlState.SYNTAX_ERROR, f"{name} requires an integer value")
