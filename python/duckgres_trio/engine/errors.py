"""Map DuckDB exceptions to PgError with a PostgreSQL SQLSTATE.

Clients branch on SQLSTATE (retry on 40001, "already exists" on 42P07, ...), so the
code has to be right even though DuckDB has no SQLSTATEs. The duckdb Python exception
class is DuckDB's own error kind (Catalog, Binder, Constraint, ...) and is stable, so it
decides first; the message only refines a kind that covers several PostgreSQL
conditions. See docs/errors.md for the table in prose.

Message patterns match DuckDB's message templates, never the user's SQL: each one is
anchored at the start of the first line, and where the distinguishing words come after
an echoed name or value ("Table with name X already exists!") it is anchored at the
end too, or the echoed part is restricted to what DuckDB renders there (a number).
A name that happens to contain "does not exist!" cannot flip the code.
"""

from __future__ import annotations

import re

import duckdb

from ..errors import PgError, SqlState as S

# DuckDB prefixes its messages with the error kind: "Catalog Error: ", "Out of Range
# Error: ", "INTERRUPT Error: ". The kind has no colon, so this stops at the first one.
_KIND_PREFIX = re.compile(r"[A-Za-z][A-Za-z -]* Error: ")

_Rules = tuple[str, tuple[tuple[re.Pattern[str], str], ...]]


def _rules(default: str, *pairs: tuple[str, str]) -> _Rules:
    """A class's default SQLSTATE and its (message pattern, SQLSTATE) refinements."""
    return default, tuple((re.compile(pattern), code) for pattern, code in pairs)


# Looked up along the exception's MRO, so a subclass without an entry (HTTPException
# is an IOException) gets its base's rules, and duckdb.Error catches the rest: DuckDB
# raises the bare duckdb.Error, with no kind prefix, for kinds the Python package has
# no class for (autoload, missing extension, divide by zero, ...).
_BY_CLASS: dict[type[BaseException], _Rules] = {
    duckdb.CatalogException: _rules(
        S.SYNTAX_ERROR_OR_ACCESS_RULE_VIOLATION,
        (r"Table with name .* does not exist because schema .* does not exist\.$", S.INVALID_SCHEMA_NAME),
        (r"Schema with name .* does not exist!$", S.INVALID_SCHEMA_NAME),
        (r"SET (?:search_path|schema): No catalog \+ schema named ", S.INVALID_SCHEMA_NAME),
        (r"Catalog with name .* does not exist!$", S.INVALID_CATALOG_NAME),
        (r"(?:Table|View|Sequence|Index) with name .* does not exist!$", S.UNDEFINED_TABLE),
        (r"[A-Za-z ]*Function with name .* does not exist(?:!|, but .*)$", S.UNDEFINED_FUNCTION),
        (r"[A-Za-z ]+ with name .* does not exist!$", S.UNDEFINED_OBJECT),
        (r"unrecognized configuration parameter ", S.UNDEFINED_OBJECT),
        (r"Schema with name .* already exists!$", S.DUPLICATE_SCHEMA),
        (r"(?:Table|View|Sequence|Index) with name .* already exists!$", S.DUPLICATE_TABLE),
        (r"[A-Za-z ]*Function with name .* already exists!$", S.DUPLICATE_FUNCTION),
        (r"[A-Za-z ]+ with name .* already exists!$", S.DUPLICATE_OBJECT),
        (r"Existing object .* is of type \w+, trying to drop type \w+$", S.WRONG_OBJECT_TYPE),
    ),
    duckdb.BinderException: _rules(
        S.SYNTAX_ERROR_OR_ACCESS_RULE_VIOLATION,
        (r"Referenced column ", S.UNDEFINED_COLUMN),
        (r'Table ".*" does not have a column named ".*"$', S.UNDEFINED_COLUMN),
        (r"Column .* does not exist on (?:left|right) side of join!$", S.UNDEFINED_COLUMN),
        (r"Referenced table ", S.UNDEFINED_TABLE),
        (r'Catalog ".*" does not exist!$', S.INVALID_CATALOG_NAME),
        (r"Ambiguous reference to column name ", S.AMBIGUOUS_COLUMN),
        (r"Ambiguous reference to table ", S.DUPLICATE_ALIAS),
        (r"No function matches the given name and argument types ", S.UNDEFINED_FUNCTION),
        (r"Macro .* does not support the supplied arguments\.", S.UNDEFINED_FUNCTION),
        (r"Could not choose a best candidate function ", S.AMBIGUOUS_FUNCTION),
        (r"Cannot (?:compare|mix) values of type ", S.DATATYPE_MISMATCH),
    ),
    duckdb.ParserException: _rules(S.SYNTAX_ERROR),
    duckdb.SyntaxException: _rules(S.SYNTAX_ERROR),
    duckdb.ConstraintException: _rules(
        S.INTEGRITY_CONSTRAINT_VIOLATION,
        (r"Duplicate key ", S.UNIQUE_VIOLATION),
        (r"PRIMARY KEY or UNIQUE constraint violation", S.UNIQUE_VIOLATION),
        (r"NOT NULL constraint failed", S.NOT_NULL_VIOLATION),
        (r"Violates foreign key constraint", S.FOREIGN_KEY_VIOLATION),
        (r"CHECK constraint failed", S.CHECK_VIOLATION),
    ),
    duckdb.ConversionException: _rules(
        S.INVALID_TEXT_REPRESENTATION,
        # The echoed value is a rendered number here, so it cannot spell out the template.
        (r"Type \S+ with value [-+.\w]+ can't be cast because the value is out of range", S.NUMERIC_VALUE_OUT_OF_RANGE),
        (r'Casting value "[-+.\w]+" to type \S+ failed: value is out of range!$', S.NUMERIC_VALUE_OUT_OF_RANGE),
        (r"Could not cast value [-+.\w]+ to DECIMAL", S.NUMERIC_VALUE_OUT_OF_RANGE),
        (r"(?:date|time|timestamp) field value out of range: ", S.DATETIME_FIELD_OVERFLOW),
        (r"(?:Date|Timestamp|Time|Epoch seconds) out of range", S.DATETIME_FIELD_OVERFLOW),
        (r"invalid (?:date|time|timestamp) field format: ", S.INVALID_DATETIME_FORMAT),
        (r"Unimplemented type for cast \(", S.CANNOT_COERCE),
    ),
    duckdb.OutOfRangeException: _rules(
        S.NUMERIC_VALUE_OUT_OF_RANGE,
        # "divison" is DuckDB's own spelling in log(1, x).
        (r"[Dd]ivisi?on by zero", S.DIVISION_BY_ZERO),
    ),
    duckdb.TransactionException: _rules(
        S.INVALID_TRANSACTION_STATE,
        (r"Current transaction is aborted", S.IN_FAILED_SQL_TRANSACTION),
        (r"cannot start a transaction within a transaction", S.ACTIVE_SQL_TRANSACTION),
        (r"cannot (?:commit|rollback) - no transaction is active", S.NO_ACTIVE_SQL_TRANSACTION),
        (r"failed to (?:commit|rollback): no transaction active", S.NO_ACTIVE_SQL_TRANSACTION),
        (r"Cannot write to database .* - transaction is launched in read-only mode$", S.READ_ONLY_SQL_TRANSACTION),
        (r"Conflict on (?:update|tuple deletion)!", S.SERIALIZATION_FAILURE),
        (r"Catalog write-write conflict ", S.SERIALIZATION_FAILURE),
        (r"Transaction conflict: ", S.SERIALIZATION_FAILURE),
        (r"Failed to commit: PRIMARY KEY or UNIQUE constraint violation", S.UNIQUE_VIOLATION),
    ),
    duckdb.InvalidInputException: _rules(
        S.INVALID_PARAMETER_VALUE,
        (r"Could not parse string ", S.INVALID_DATETIME_FORMAT),
        (r"division by zero", S.DIVISION_BY_ZERO),  # pg_catalog's div/mod macros
        # pg_catalog's LIKE macros and translated SIMILAR TO patterns
        (r"(?:LIKE pattern must not end with escape character|invalid escape string)$",
         S.INVALID_ESCAPE_SEQUENCE),
        (r"SQL regular expression may not contain more than two escape-double-quote "
         r"separators$", S.INVALID_USE_OF_ESCAPE_CHARACTER),
    ),
    duckdb.TypeMismatchException: _rules(S.DATATYPE_MISMATCH),
    duckdb.InvalidTypeException: _rules(S.DATATYPE_MISMATCH),
    duckdb.SequenceException: _rules(S.SEQUENCE_GENERATOR_LIMIT_EXCEEDED),
    duckdb.NotImplementedException: _rules(S.FEATURE_NOT_SUPPORTED),
    duckdb.PermissionException: _rules(S.INSUFFICIENT_PRIVILEGE),
    duckdb.DependencyException: _rules(S.DEPENDENT_OBJECTS_STILL_EXIST),
    duckdb.IOException: _rules(S.IO_ERROR),
    duckdb.ConnectionException: _rules(S.CONNECTION_EXCEPTION),
    duckdb.OutOfMemoryException: _rules(S.OUT_OF_MEMORY),
    duckdb.InterruptException: _rules(S.QUERY_CANCELED),
    # DuckDB's serialization is its storage format, not transaction isolation: a
    # failure there is not the retryable 40001.
    duckdb.SerializationException: _rules(S.INTERNAL_ERROR),
    duckdb.InternalException: _rules(S.INTERNAL_ERROR),
    duckdb.FatalException: _rules(S.INTERNAL_ERROR),
    duckdb.Error: _rules(
        S.INTERNAL_ERROR,
        (r"(?:Division|Divide) by zero", S.DIVISION_BY_ZERO),
    ),
}


# The C API (engine/duckdb_capi.py) reports errors as text only; its "<Kind> Error: "
# prefix names the kind the Python package would have raised as this class.
_CLASS_BY_KIND: dict[str, type[duckdb.Error]] = {
    "Catalog": duckdb.CatalogException,
    "Binder": duckdb.BinderException,
    "Parser": duckdb.ParserException,
    "Syntax": duckdb.SyntaxException,
    "Constraint": duckdb.ConstraintException,
    "Conversion": duckdb.ConversionException,
    "Out of Range": duckdb.OutOfRangeException,
    "TransactionContext": duckdb.TransactionException,
    "Transaction": duckdb.TransactionException,
    "Invalid Input": duckdb.InvalidInputException,
    "Type Mismatch": duckdb.TypeMismatchException,
    "Mismatch Type": duckdb.TypeMismatchException,
    "Invalid type": duckdb.InvalidTypeException,
    "Sequence": duckdb.SequenceException,
    "Not implemented": duckdb.NotImplementedException,
    "Permission": duckdb.PermissionException,
    "Dependency": duckdb.DependencyException,
    "IO": duckdb.IOException,
    "HTTP": duckdb.HTTPException,
    "Connection": duckdb.ConnectionException,
    "Out of Memory": duckdb.OutOfMemoryException,
    "INTERRUPT": duckdb.InterruptException,
    "Serialization": duckdb.SerializationException,
    "INTERNAL": duckdb.InternalException,
    "FATAL": duckdb.FatalException,
}


def as_duckdb_exception(message: str) -> duckdb.Error:
    """The duckdb exception the Python API would raise for this C API error message."""
    kind = _KIND_PREFIX.match(message)
    cls = _CLASS_BY_KIND.get(kind.group()[: -len(" Error: ")], duckdb.Error) if kind else duckdb.Error
    return cls(message)


def pg_error_from_duckdb(exc: BaseException) -> PgError:
    """The PgError to send for ``exc``, an exception raised while DuckDB ran a query.

    The message is the first line of DuckDB's text without its "<Kind> Error: "
    prefix, as PostgreSQL puts one line in the message; the rest ("Did you mean ...",
    "LINE 1: ..." and its caret line) goes to ``detail``, with the caret's indentation
    kept so it still points at the right column.
    """
    if not isinstance(exc, duckdb.Error):
        return PgError(S.INTERNAL_ERROR, str(exc) or type(exc).__name__)
    first, _, rest = str(exc).partition("\n")
    kind = _KIND_PREFIX.match(first)
    message = first[kind.end() :] if kind else first
    detail = "\n".join(line.rstrip() for line in rest.splitlines()).strip("\n") or None
    sqlstate = _classify(exc, message)
    if sqlstate == S.QUERY_CANCELED:
        message = "canceling statement due to user request"
    return PgError(sqlstate, message, detail=detail)


def _classify(exc: duckdb.Error, message: str) -> str:
    # duckdb.Error is in the table, so some class on the MRO always is.
    default, rules = next(_BY_CLASS[cls] for cls in type(exc).__mro__ if cls in _BY_CLASS)
    return next((code for pattern, code in rules if pattern.match(message)), default)
