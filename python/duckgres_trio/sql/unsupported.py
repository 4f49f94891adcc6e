"""PostgreSQL statements this server does not run, and the harmless ones it accepts.

Each PostgreSQL statement kind (a pglast ``*Stmt`` node) is decided once, here or by
running: SELECT, DML, most DDL, COPY, EXPLAIN, VACUUM, ... run in DuckDB; transaction
control, SET/SHOW/RESET, cursors, PREPARE/EXECUTE/DEALLOCATE, DISCARD and
LISTEN/NOTIFY/UNLISTEN are answered by the session; the kinds below have nothing to run
on (roles, triggers, rules, extensions, replication, ...), and DuckDB would answer them
with a misleading syntax error. They get 0A000 naming the statement instead, before
anything runs.

Only statements whose leading words can start such a kind are parsed here (``_DECIDED``
and ``_DECIDED_OBJECTS`` in sql/statements.py), so ordinary statements pay nothing.
"""

from __future__ import annotations

import pglast
from pglast import ast
from pglast.enums import ObjectType, TransactionStmtKind, VariableSetKind
from pglast.stream import RawStream

from duckgres_trio.errors import PgError, SqlState

#: Node kind -> the statement's name, as PostgreSQL's command tag names it.
_UNSUPPORTED: dict[type, str] = {
    ast.AlterCollationStmt: "ALTER COLLATION",
    ast.AlterDatabaseRefreshCollStmt: "ALTER DATABASE",
    ast.AlterDatabaseSetStmt: "ALTER DATABASE",
    ast.AlterDatabaseStmt: "ALTER DATABASE",
    ast.AlterDefaultPrivilegesStmt: "ALTER DEFAULT PRIVILEGES",
    ast.AlterDomainStmt: "ALTER DOMAIN",
    ast.AlterEnumStmt: "ALTER TYPE",
    ast.AlterEventTrigStmt: "ALTER EVENT TRIGGER",
    ast.AlterExtensionContentsStmt: "ALTER EXTENSION",
    ast.AlterExtensionStmt: "ALTER EXTENSION",
    ast.AlterFdwStmt: "ALTER FOREIGN DATA WRAPPER",
    ast.AlterForeignServerStmt: "ALTER SERVER",
    ast.AlterFunctionStmt: "ALTER FUNCTION",
    ast.AlterOpFamilyStmt: "ALTER OPERATOR FAMILY",
    ast.AlterOperatorStmt: "ALTER OPERATOR",
    ast.AlterPolicyStmt: "ALTER POLICY",
    ast.AlterPublicationStmt: "ALTER PUBLICATION",
    ast.AlterRoleSetStmt: "ALTER ROLE",
    ast.AlterRoleStmt: "ALTER ROLE",
    ast.AlterStatsStmt: "ALTER STATISTICS",
    ast.AlterSubscriptionStmt: "ALTER SUBSCRIPTION",
    ast.AlterSystemStmt: "ALTER SYSTEM",
    ast.AlterTSConfigurationStmt: "ALTER TEXT SEARCH CONFIGURATION",
    ast.AlterTSDictionaryStmt: "ALTER TEXT SEARCH DICTIONARY",
    ast.AlterTableSpaceOptionsStmt: "ALTER TABLESPACE",
    ast.AlterTypeStmt: "ALTER TYPE",
    ast.AlterUserMappingStmt: "ALTER USER MAPPING",
    ast.ClusterStmt: "CLUSTER",
    ast.ConstraintsSetStmt: "SET CONSTRAINTS",
    ast.CreateAmStmt: "CREATE ACCESS METHOD",
    ast.CreateCastStmt: "CREATE CAST",
    ast.CreateConversionStmt: "CREATE CONVERSION",
    ast.CreateDomainStmt: "CREATE DOMAIN",
    ast.CreateEventTrigStmt: "CREATE EVENT TRIGGER",
    ast.CreateExtensionStmt: "CREATE EXTENSION",
    ast.CreateFdwStmt: "CREATE FOREIGN DATA WRAPPER",
    ast.CreateForeignServerStmt: "CREATE SERVER",
    ast.CreateForeignTableStmt: "CREATE FOREIGN TABLE",
    ast.CreateOpClassStmt: "CREATE OPERATOR CLASS",
    ast.CreateOpFamilyStmt: "CREATE OPERATOR FAMILY",
    ast.CreatePLangStmt: "CREATE LANGUAGE",
    ast.CreatePolicyStmt: "CREATE POLICY",
    ast.CreatePublicationStmt: "CREATE PUBLICATION",
    ast.CreateRangeStmt: "CREATE TYPE",
    ast.CreateRoleStmt: "CREATE ROLE",
    ast.CreateStatsStmt: "CREATE STATISTICS",
    ast.CreateSubscriptionStmt: "CREATE SUBSCRIPTION",
    ast.CreateTableSpaceStmt: "CREATE TABLESPACE",
    ast.CreateTransformStmt: "CREATE TRANSFORM",
    ast.CreateTrigStmt: "CREATE TRIGGER",
    ast.CreateUserMappingStmt: "CREATE USER MAPPING",
    ast.DoStmt: "DO",
    ast.DropOwnedStmt: "DROP OWNED",
    ast.DropRoleStmt: "DROP ROLE",
    ast.DropSubscriptionStmt: "DROP SUBSCRIPTION",
    ast.DropTableSpaceStmt: "DROP TABLESPACE",
    ast.DropUserMappingStmt: "DROP USER MAPPING",
    ast.ImportForeignSchemaStmt: "IMPORT FOREIGN SCHEMA",
    ast.ReassignOwnedStmt: "REASSIGN OWNED",
    ast.RefreshMatViewStmt: "REFRESH MATERIALIZED VIEW",
    ast.ReindexStmt: "REINDEX",
    ast.RuleStmt: "CREATE RULE",
    ast.SecLabelStmt: "SECURITY LABEL",
}

#: Objects DuckDB has no such thing as: CREATE/DROP/ALTER ... of them is unsupported.
_OBJECT_NAMES = {
    ObjectType.OBJECT_ACCESS_METHOD: "ACCESS METHOD", ObjectType.OBJECT_AGGREGATE: "AGGREGATE",
    ObjectType.OBJECT_CAST: "CAST", ObjectType.OBJECT_COLLATION: "COLLATION",
    ObjectType.OBJECT_CONVERSION: "CONVERSION", ObjectType.OBJECT_DOMAIN: "DOMAIN",
    ObjectType.OBJECT_EVENT_TRIGGER: "EVENT TRIGGER", ObjectType.OBJECT_EXTENSION: "EXTENSION",
    ObjectType.OBJECT_FDW: "FOREIGN DATA WRAPPER", ObjectType.OBJECT_FOREIGN_SERVER: "SERVER",
    ObjectType.OBJECT_FOREIGN_TABLE: "FOREIGN TABLE", ObjectType.OBJECT_LANGUAGE: "LANGUAGE",
    ObjectType.OBJECT_MATVIEW: "MATERIALIZED VIEW", ObjectType.OBJECT_OPCLASS: "OPERATOR CLASS",
    ObjectType.OBJECT_OPERATOR: "OPERATOR", ObjectType.OBJECT_OPFAMILY: "OPERATOR FAMILY",
    ObjectType.OBJECT_POLICY: "POLICY", ObjectType.OBJECT_PROCEDURE: "PROCEDURE",
    ObjectType.OBJECT_PUBLICATION: "PUBLICATION", ObjectType.OBJECT_ROUTINE: "ROUTINE",
    ObjectType.OBJECT_RULE: "RULE", ObjectType.OBJECT_STATISTIC_EXT: "STATISTICS",
    ObjectType.OBJECT_TRANSFORM: "TRANSFORM", ObjectType.OBJECT_TRIGGER: "TRIGGER",
    ObjectType.OBJECT_TSCONFIGURATION: "TEXT SEARCH CONFIGURATION",
    ObjectType.OBJECT_TSDICTIONARY: "TEXT SEARCH DICTIONARY",
    ObjectType.OBJECT_TSPARSER: "TEXT SEARCH PARSER",
    ObjectType.OBJECT_TSTEMPLATE: "TEXT SEARCH TEMPLATE",
}
_DEFINE_NAMES = {**_OBJECT_NAMES, ObjectType.OBJECT_TYPE: "TYPE"}  # CREATE TYPE t (INPUT = ...)
_TRANSACTION_NAMES = {
    TransactionStmtKind.TRANS_STMT_PREPARE: "PREPARE TRANSACTION",
    TransactionStmtKind.TRANS_STMT_COMMIT_PREPARED: "COMMIT PREPARED",
    TransactionStmtKind.TRANS_STMT_ROLLBACK_PREPARED: "ROLLBACK PREPARED",
}


def decide(text: str) -> tuple[str, str] | None:
    """What to do with ``text``: ("refuse", statement name) for a kind this server
    cannot run, ("accept", command tag) for a harmless one answered without running,
    ("lock", "LOCK TABLE") for LOCK; None to run it as usual (also when PostgreSQL's
    parser rejects it: DuckDB's dialect, or a syntax error DuckDB reports)."""
    try:
        statements = pglast.parse_sql(text)
    except pglast.parser.ParseError:
        return None
    if len(statements) != 1:
        return None
    node = statements[0].stmt
    if type(node) in _UNSUPPORTED:
        return "refuse", _UNSUPPORTED[type(node)]
    if isinstance(node, ast.LockStmt):
        # pg_dump and migration tools lock tables inside their transaction. DuckDB has
        # optimistic concurrency (a conflicting writer gets 40001), so there is nothing
        # to take; the tables must exist (checked when it runs).
        return "lock", "LOCK TABLE"
    if isinstance(node, ast.CreateFunctionStmt):
        return "refuse", "CREATE PROCEDURE" if node.is_procedure else "CREATE FUNCTION"
    if isinstance(node, (ast.GrantStmt, ast.GrantRoleStmt)):
        return "refuse", "GRANT" if node.is_grant else "REVOKE"
    if isinstance(node, ast.DropStmt) and node.removeType in _OBJECT_NAMES:
        return "refuse", f"DROP {_OBJECT_NAMES[node.removeType]}"
    if isinstance(node, ast.DefineStmt) and node.kind in _DEFINE_NAMES:
        return "refuse", f"CREATE {_DEFINE_NAMES[node.kind]}"
    if isinstance(node, ast.CreateTableAsStmt) and node.objtype == ObjectType.OBJECT_MATVIEW:
        return "refuse", "CREATE MATERIALIZED VIEW"
    if isinstance(node, ast.RenameStmt) and node.renameType in _OBJECT_NAMES:
        return "refuse", f"ALTER {_OBJECT_NAMES[node.renameType]}"
    # ALTER TYPE t ADD/DROP/ALTER ATTRIBUTE, RENAME: DuckDB alters no type
    if isinstance(node, ast.AlterTableStmt) and node.objtype == ObjectType.OBJECT_TYPE \
            or isinstance(node, ast.RenameStmt) and ObjectType.OBJECT_TYPE in (
                node.renameType, node.relationType) and node.renameType in (
                ObjectType.OBJECT_TYPE, ObjectType.OBJECT_ATTRIBUTE):
        return "refuse", "ALTER TYPE"
    if isinstance(node, ast.AlterOwnerStmt):
        return "refuse", f"ALTER {node.objectType.name[7:].replace('_', ' ')} OWNER TO"
    if isinstance(node, ast.TransactionStmt) and node.kind in _TRANSACTION_NAMES:
        return "refuse", _TRANSACTION_NAMES[node.kind]
    if isinstance(node, ast.VariableSetStmt) and node.name in ("role", "session_authorization"):
        # Back to the session's own identity is all there is: accepted as it changes nothing.
        if node.kind in (VariableSetKind.VAR_SET_DEFAULT, VariableSetKind.VAR_RESET) \
                or _none(node):
            return "accept", "RESET" if node.kind is VariableSetKind.VAR_RESET else "SET"
        return "refuse", "SET ROLE" if node.name == "role" else "SET SESSION AUTHORIZATION"
    return None


def _none(node: ast.VariableSetStmt) -> bool:
    """SET ROLE NONE."""
    args = node.args or ()
    return node.name == "role" and len(args) == 1 and isinstance(args[0], ast.A_Const) \
        and getattr(args[0].val, "sval", None) == "none"


def refusal(name: str) -> PgError:
    return PgError(SqlState.FEATURE_NOT_SUPPORTED, f"{name} is not supported")


def lock_relations(text: str) -> list[str]:
    """The tables a LOCK statement names, as SQL text."""
    node = pglast.parse_sql(text)[0].stmt
    return [RawStream()(relation) for relation in node.relations]
