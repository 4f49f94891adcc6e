"""Statements that would change the server rather than the session: refused before
they reach DuckDB.

DuckDB's settings mostly belong to the whole instance (``memory_limit``, ``threads``,
``temp_directory``, ...): a SET from one session would act on the worker and every
session on it. DuckDB's own ``lock_configuration`` cannot be used: it freezes every
setting but ``search_path`` for every connection, the server's included, which sets
``TimeZone``, the progress bar and its Arrow options on each session's connection and
moves ``memory_limit`` between workers at run time. So the lock is here: a session may
SET (or RESET, or PRAGMA) only the parameters the server answers itself
(``sql.settings``) and the DuckDB settings in ``SESSION_SETTINGS``, which act on the
session's connection only and change nothing the server relies on; any other DuckDB
setting is 42501, as PostgreSQL refuses a superuser-only parameter. A name DuckDB does
not know goes on to DuckDB, which answers 42704 as PostgreSQL does.

Extensions: ``INSTALL`` downloads code and is always refused; ``LOAD`` only of the
extensions the configuration allows (``allowed_extensions``, by default the ones built
into DuckDB), set once at start with ``configure``.
"""

from __future__ import annotations

from functools import cache

from duckgres_trio.errors import PgError, SqlState
from duckgres_trio.sql import settings
from duckgres_trio.sql.lexer import Kind, Token, string_value

#: DuckDB settings that act on one connection only (checked: a SET on one connection
#: leaves another's value alone; test_lockdown holds it) and that nothing in the server
#: depends on. Lower case.
SESSION_SETTINGS = frozenset({
    "schema", "file_search_path", "binary_as_string", "max_expression_depth",
    "ordered_aggregate_threshold", "perfect_ht_threshold", "pivot_limit",
    "pivot_filter_threshold", "merge_join_threshold", "nested_loop_join_threshold",
    "prefer_range_joins", "asof_loop_join_threshold", "dynamic_or_filter_threshold",
    "late_materialization_max_rows", "scalar_subquery_error_on_multiple_rows",
    "ieee_floating_point_ops", "order_by_non_integer_literal", "enable_caching_operators",
    "lambda_syntax", "deprecated_using_key_syntax", "disable_timestamptz_casts",
})

#: PRAGMAs without a value that change the instance's configuration.
_INSTANCE_PRAGMAS = frozenset({
    "enable_object_cache", "disable_object_cache", "enable_checkpoint_on_shutdown",
    "disable_checkpoint_on_shutdown", "enable_profiling", "enable_profile",
    "disable_profiling", "disable_profile", "enable_progress_bar", "disable_progress_bar",
    "enable_print_progress_bar", "disable_print_progress_bar", "enable_verification",
    "disable_verification", "verify_external", "disable_verify_external",
    "verify_serializer", "disable_verify_serializer", "enable_force_parallelism",
    "disable_force_parallelism", "enable_optimizer", "disable_optimizer",
    "force_index_join", "verify_fetch_row",
})

_allowed_extensions: frozenset[str] = frozenset({"core_functions", "icu", "json", "parquet"})


def configure(allowed_extensions) -> None:
    """Which extensions sessions may LOAD (the server's configuration); call before
    any statement is classified (classifications are cached)."""
    global _allowed_extensions
    _allowed_extensions = frozenset(name.lower() for name in allowed_extensions)
    duckdb_settings()  # looked up now, not on a session's first SET


@cache
def duckdb_settings() -> frozenset[str]:
    """Every setting name DuckDB knows (aliases included), lower case."""
    import duckdb  # the engine's library; only its catalog of settings is read

    with duckdb.connect() as conn:
        rows = conn.execute("SELECT name FROM duckdb_settings()").fetchall()
    return frozenset(name.lower() for (name,) in rows)


#: postgres_scanner's functions: with DuckLake storage the extension is loaded for the
#: lake's catalog, and through them SQL could run anything on that PostgreSQL database
#: (other databases' catalogs, the config store's tables when it is the same server).
_POSTGRES_FUNCTIONS = frozenset({"POSTGRES_QUERY", "POSTGRES_EXECUTE", "POSTGRES_SCAN",
                                 "POSTGRES_SCAN_PUSHDOWN", "POSTGRES_ATTACH",
                                 "POSTGRES_CLEAR_CACHE", "POSTGRES_CONFIGURE_POOL"})
#: What DuckLake names its attachment of the catalog database (``engine.lake``):
#: reading it directly would be as above.
_LAKE_METADATA = "__ducklake_metadata_"


def refusal(tokens: list[Token]) -> PgError | None:
    """Why the statement may not run, or None. Looks at its first words, and at every
    token for the DuckLake catalog database."""
    catalog = _catalog_access(tokens)
    if catalog is not None:
        return catalog
    first = _word(tokens, 0)
    if first in ("SET", "RESET"):
        return _set_refusal(tokens[1:])
    if first == "PRAGMA" and len(tokens) > 1:
        name = _name(tokens[1])
        if len(tokens) > 2 and tokens[2].kind is Kind.PUNCT and tokens[2].value == "=":
            return _setting_refusal(name)  # PRAGMA name = value is a SET
        if name in _INSTANCE_PRAGMAS:
            return PgError(SqlState.INSUFFICIENT_PRIVILEGE, f"permission denied for PRAGMA {name}",
                           detail="It changes the server's DuckDB engine, shared by every "
                           "session.")
        return None
    if first == "INSTALL" or (first == "FORCE" and _word(tokens, 1) == "INSTALL") \
            or (first == "UPDATE" and _word(tokens, 1) == "EXTENSIONS"):
        return PgError(SqlState.INSUFFICIENT_PRIVILEGE, "installing extensions is not allowed",
                       detail="Extensions come from the DuckDB library the server runs; "
                       "nothing is downloaded.",
                       hint=f"LOAD one of: {', '.join(sorted(_allowed_extensions))}.")
    if first == "LOAD" and len(tokens) > 1:
        name = _name(tokens[1])
        if name not in _allowed_extensions:
            return PgError(SqlState.INSUFFICIENT_PRIVILEGE,
                           f'permission denied to load extension "{name}"',
                           hint="Allowed (setting allowed_extensions): "
                           f"{', '.join(sorted(_allowed_extensions)) or 'none'}.")
    return None


def _catalog_access(tokens: list[Token]) -> PgError | None:
    """A statement naming the DuckLake catalog's attachment or calling postgres_scanner
    (42501): only DuckLake itself talks to the catalog database."""
    for at, token in enumerate(tokens):
        if token.kind in (Kind.WORD, Kind.QUOTED_IDENT, Kind.STRING) \
                and _LAKE_METADATA in token.value.lower():
            return PgError(SqlState.INSUFFICIENT_PRIVILEGE,
                           "permission denied for the DuckLake catalog database",
                           detail="Only DuckLake itself reads and writes its catalog.")
        if token.kind is Kind.WORD and token.value in _POSTGRES_FUNCTIONS \
                and at + 1 < len(tokens) and tokens[at + 1].value == "(":
            return PgError(SqlState.INSUFFICIENT_PRIVILEGE,
                           f"permission denied for function {token.value.lower()}",
                           detail="postgres_scanner is the server's, for DuckLake's catalog.")
    return None


def _set_refusal(rest: list[Token]) -> PgError | None:
    scope = _word(rest, 0)
    if scope in ("SESSION", "LOCAL", "GLOBAL"):
        rest = rest[1:]
    if not rest or rest[0].kind not in (Kind.WORD, Kind.QUOTED_IDENT):
        return None
    if rest[0].kind is Kind.WORD and rest[0].value in (
            "VARIABLE", "TRANSACTION", "TIME", "NAMES", "CHARACTERISTICS", "ALL", "ROLE",
            "SESSION", "CONSTRAINTS"):
        return None  # not a setting (or decided elsewhere)
    if len(rest) > 1 and rest[1].kind is Kind.PUNCT and rest[1].value == ".":
        return None  # a custom parameter (myapp.x): the session's
    name = _name(rest[0])
    if scope == "GLOBAL":
        return _denied(name)
    return _setting_refusal(name)


def _setting_refusal(name: str) -> PgError | None:
    if settings.is_session_parameter(name) or name in SESSION_SETTINGS \
            or name not in duckdb_settings():
        return None
    return _denied(name)


def _denied(name: str) -> PgError:
    return PgError(SqlState.INSUFFICIENT_PRIVILEGE, f'permission denied to set parameter "{name}"',
                   detail="It is a setting of the server's DuckDB engine, shared by every "
                   "session; the server's configuration decides it.")


def _word(tokens: list[Token], at: int) -> str | None:
    return tokens[at].value if at < len(tokens) and tokens[at].kind is Kind.WORD else None


def _name(token: Token) -> str:
    if token.kind is Kind.STRING:
        return string_value(token).lower()
    return token.value.lower()
