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
from collections.abc import Callable

import duckdb

from ..errors import PgError, SqlState as S
from .lake import CATALOG_UNREACHABLE, catalog_unreachable
from .pg_catalog import DECLARED_TYPE_PATTERN

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
        # PostgreSQL reports the relation, not its schema, when it reads one
        (r"Table with name .* does not exist because schema .* does not exist\.$", S.UNDEFINED_TABLE),
        (r"Schema with name .* does not exist!$", S.INVALID_SCHEMA_NAME),
        (r"SET (?:search_path|schema): No catalog \+ schema named ", S.INVALID_SCHEMA_NAME),
        (r"Catalog with name .* does not exist!$", S.INVALID_CATALOG_NAME),
        (r"(?:Table|View|Sequence) with name .* does not exist!$", S.UNDEFINED_TABLE),
        (r"[A-Za-z ]*Function with name .* does not exist(?:!|, but .*)$", S.UNDEFINED_FUNCTION),
        (r"Column with name .* does not exist!$", S.UNDEFINED_COLUMN),
        (r"[A-Za-z ]+ with name .* does not exist!$", S.UNDEFINED_OBJECT),
        (r"unrecognized configuration parameter ", S.UNDEFINED_OBJECT),
        (r"Schema with name .* already exists!$", S.DUPLICATE_SCHEMA),
        (r"(?:Table|View|Sequence|Index) with name .* already exists!$", S.DUPLICATE_TABLE),
        (r"[A-Za-z ]*Function with name .* already exists!$", S.DUPLICATE_FUNCTION),
        (r"Column with name .* already exists!$", S.DUPLICATE_COLUMN),
        (r"[A-Za-z ]+ with name .* already exists!$", S.DUPLICATE_OBJECT),
        (r"Existing object .* is of type \w+, trying to drop type \w+$", S.WRONG_OBJECT_TYPE),
        (r"Could not drop the table because this table is main key table of the table ",
         S.DEPENDENT_OBJECTS_STILL_EXIST),
    ),
    duckdb.BinderException: _rules(
        S.SYNTAX_ERROR_OR_ACCESS_RULE_VIOLATION,
        (r"Referenced column ", S.UNDEFINED_COLUMN),
        (r'Table ".*" does not have a column (?:named|with name) ".*"$', S.UNDEFINED_COLUMN),
        (r"Column .* does not exist on (?:left|right) side of join!$", S.UNDEFINED_COLUMN),
        (r"Referenced table ", S.UNDEFINED_TABLE),
        (r'Catalog ".*" does not exist!$', S.INVALID_CATALOG_NAME),
        (r"Ambiguous reference to column name ", S.AMBIGUOUS_COLUMN),
        (r"Ambiguous reference to table ", S.DUPLICATE_ALIAS),
        (r"No function matches the given name and argument types ", S.UNDEFINED_FUNCTION),
        (r"Macro .* does not support the supplied arguments\.", S.UNDEFINED_FUNCTION),
        (r"Could not choose a best candidate function ", S.AMBIGUOUS_FUNCTION),
        (r"Cannot (?:compare|mix) values of type ", S.DATATYPE_MISMATCH),
        (r"column .* must appear in the GROUP BY clause or must be part of an aggregate function\.$",
         S.GROUPING_ERROR),
        (r"WHERE clause cannot contain aggregates!$", S.GROUPING_ERROR),
        (r"aggregate function calls cannot be nested$", S.GROUPING_ERROR),
        (r"table .* has \d+ columns but \d+ values were supplied$", S.SYNTAX_ERROR),
        (r"Subquery returns \d+ columns - expected 1$", S.SYNTAX_ERROR),
        # a varchar(n) / char(n) column keeps its length as a CHECK (sql/translate.py)
        (r"Cannot change the type of a column that has a CHECK constraint specified",
         S.FEATURE_NOT_SUPPORTED),
        # timestamptz(0), time(3): only these types' own precision (6) is translated
        (r"Type '[A-Z ]+' does not take any type parameters$", S.FEATURE_NOT_SUPPORTED),
    ),
    duckdb.ParserException: _rules(S.SYNTAX_ERROR),
    duckdb.SyntaxException: _rules(S.SYNTAX_ERROR),
    duckdb.ConstraintException: _rules(
        S.INTEGRITY_CONSTRAINT_VIOLATION,
        (r"Duplicate key ", S.UNIQUE_VIOLATION),
        (r"PRIMARY KEY or UNIQUE constraint violation", S.UNIQUE_VIOLATION),
        (r"NOT NULL constraint failed", S.NOT_NULL_VIOLATION),
        (r"Violates foreign key constraint", S.FOREIGN_KEY_VIOLATION),
        # the CHECK that holds a varchar(n) / char(n) length (sql/translate.py)
        (r"CHECK constraint failed on table .* with expression CHECK\(.*"
         + DECLARED_TYPE_PATTERN, S.STRING_DATA_RIGHT_TRUNCATION),
        (r"CHECK constraint failed", S.CHECK_VIOLATION),
    ),
    duckdb.ConversionException: _rules(
        S.INVALID_TEXT_REPRESENTATION,
        # The echoed value is a rendered number here, so it cannot spell out the template.
        (r"Type \S+ with value [-+.\w]+ can't be cast because the value is out of range", S.NUMERIC_VALUE_OUT_OF_RANGE),
        (r'Casting value "[-+.\w]+" to type \S+ failed: value is out of range!$', S.NUMERIC_VALUE_OUT_OF_RANGE),
        (r"Could not cast value [-+.\w]+ to DECIMAL", S.NUMERIC_VALUE_OUT_OF_RANGE),
        # An integer literal that does not fit: PostgreSQL's "value ... is out of range".
        (r"Could not convert string '[-+]?\d+' to U?INT(?:8|16|32|64|128)$", S.NUMERIC_VALUE_OUT_OF_RANGE),
        (r"(?:date|time|timestamp) field value out of range: ", S.DATETIME_FIELD_OVERFLOW),
        (r"(?:Date|Timestamp|Time|Epoch seconds) out of range", S.DATETIME_FIELD_OVERFLOW),
        (r"invalid (?:date|time|timestamp) field format: ", S.INVALID_DATETIME_FORMAT),
        (r"Unimplemented type for cast \(", S.CANNOT_COERCE),
        (r"Could not convert string .* to INTERVAL$", S.INVALID_DATETIME_FORMAT),
    ),
    duckdb.OutOfRangeException: _rules(
        S.NUMERIC_VALUE_OUT_OF_RANGE,
        # "divison" is DuckDB's own spelling in log(1, x).
        (r"[Dd]ivisi?on by zero", S.DIVISION_BY_ZERO),
        (r"cannot take logarithm of (?:zero|a negative number)$", S.INVALID_ARGUMENT_FOR_LOGARITHM),
        (r"cannot take square root of a negative number$", S.INVALID_ARGUMENT_FOR_POWER_FUNCTION),
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
        # two DuckLake writers (engine/lake.py) changed the same table: first wins
        (r"Failed to commit: Failed to commit DuckLake transaction\.", S.SERIALIZATION_FAILURE),
        (r"Failed to commit: PRIMARY KEY or UNIQUE constraint violation", S.UNIQUE_VIOLATION),
    ),
    duckdb.InvalidInputException: _rules(
        S.INVALID_PARAMETER_VALUE,
        (r"Could not parse string ", S.INVALID_DATETIME_FORMAT),
        # array literals read by sql/translate.py, PostgreSQL's array_in errors
        (r'malformed array literal: "', S.INVALID_TEXT_REPRESENTATION),
        (r'malformed record literal: "', S.INVALID_TEXT_REPRESENTATION),  # record_in's
        (r"upper bound cannot be less than lower bound$", S.ARRAY_SUBSCRIPT_ERROR),
        (r"number of array dimensions \(\d+\) exceeds the maximum allowed", S.PROGRAM_LIMIT_EXCEEDED),
        (r"array lower bounds other than 1 are not supported$", S.FEATURE_NOT_SUPPORTED),
        (r"division by zero", S.DIVISION_BY_ZERO),  # pg_catalog's div/mod macros
        (r"index -?\d+ out of valid range, 0\.\.-?\d+$", S.ARRAY_SUBSCRIPT_ERROR),  # get_byte...
        # pg_catalog's bytea macros (substring, overlay, decode, convert_to ...)
        (r"negative substring length not allowed$", "22011"),
        (r"invalid input syntax for type bytea$", S.INVALID_TEXT_REPRESENTATION),
        (r'character with byte sequence .* has no equivalent in encoding "', "22P05"),
        (r'conversion to or from encoding ".*" is not supported$', S.FEATURE_NOT_SUPPORTED),
        (r"More than one row returned by a subquery used as an expression ", S.CARDINALITY_VIOLATION),
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
    duckdb.IOException: _rules(
        S.IO_ERROR,
        # a DuckLake's catalog database cannot be reached (engine/lake.py)
        (CATALOG_UNREACHABLE, S.CONNECTION_FAILURE),
    ),
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

    The SQLSTATE comes from the class and message template (``_classify``); the message
    is PostgreSQL's wording for that condition where DuckDB's text gives what it needs
    (``_REWORDINGS``), else DuckDB's first line without its "<Kind> Error: " prefix. The
    rest of DuckDB's text goes to ``detail`` unless PostgreSQL's wording replaces it;
    DuckDB's "LINE n: ..." context and caret stay at its end, indentation kept, for
    ``for_statement`` to turn into a Position.
    """
    if not isinstance(exc, duckdb.Error):
        return PgError(S.INTERNAL_ERROR, str(exc) or type(exc).__name__)
    first, _, rest = str(exc).partition("\n")
    kind = _KIND_PREFIX.match(first)
    message = first[kind.end() :] if kind else first
    rest, context = _split_context(rest)
    detail = _clean(rest)
    sqlstate = _classify(exc, message)
    hint = constraint = None
    if sqlstate == S.QUERY_CANCELED:
        message = "canceling statement due to user request"
    for pattern, reword in _REWORDINGS.get(sqlstate, ()):
        match = pattern.match(message)
        if match:
            message, detail, hint, constraint = reword(match, detail)
            if reword in _EVALUATED:
                context = None
            break
    if hint is None and sqlstate == S.FEATURE_NOT_SUPPORTED:
        hint = _HINTS.get(message)
    detail = "\n".join(filter(None, (detail, context))) or None
    return PgError(sqlstate, message, detail=detail, hint=hint, constraint=constraint)


#: Why DuckDB refuses what PostgreSQL does, where the message alone would puzzle a
#: PostgreSQL user (the CHECK is one they did not write).
_HINTS = {
    "Cannot change the type of a column that has a CHECK constraint specified":
        "A varchar(n) or char(n) column has one: it holds the declared type.",
}



def _classify(exc: duckdb.Error, message: str) -> str:
    # duckdb.Error is in the table, so some class on the MRO always is.
    default, rules = next(_BY_CLASS[cls] for cls in type(exc).__mro__ if cls in _BY_CLASS)
    return next((code for pattern, code in rules if pattern.match(message)), default)


def _clean(text: str) -> str | None:
    return "\n".join(line.rstrip() for line in text.splitlines()).strip("\n") or None


# DuckDB ends an error that has a location with "LINE n: <that line>" (cut to about 80
# columns around the error, with "..." marking a cut) and a line with a caret under it.
_CONTEXT = re.compile(r"LINE (\d+): (.*)\n( *)\^\s*\Z")


def _split_context(rest: str) -> tuple[str, str | None]:
    """DuckDB's text after the first line, without its LINE/caret context; the context."""
    match = _CONTEXT.search(rest)
    if match is None or (match.start() and rest[match.start() - 1] != "\n"):
        return rest, None
    return rest[: match.start()], rest[match.start() :].rstrip()


# -- PostgreSQL's wording --------------------------------------------------------------
#
# Each rewording reads what it needs from DuckDB's first line (a fixed template around
# echoed names and values) and returns PostgreSQL's (message, detail, hint, constraint);
# the detail it is given is DuckDB's other lines, kept where they add something.

_Reworded = tuple[str, str | None, str | None, str | None]

# DuckDB's names of types (logical type names, the physical ones of cast errors, and the
# binder's literal kinds) as PostgreSQL's format_type names them.
_PG_TYPE = {
    "BOOLEAN": "boolean", "BOOL": "boolean", "TINYINT": "tinyint", "INT8": "tinyint",
    "SMALLINT": "smallint", "INT16": "smallint", "INTEGER": "integer", "INT32": "integer",
    "INTEGER_LITERAL": "integer", "BIGINT": "bigint", "INT64": "bigint",
    "HUGEINT": "numeric", "INT128": "numeric", "FLOAT": "real", "DOUBLE": "double precision",
    "VARCHAR": "text", "STRING_LITERAL": "unknown", "BLOB": "bytea", "DATE": "date",
    "TIME": "time without time zone", "TIMESTAMP": "timestamp without time zone",
    "TIMESTAMP WITH TIME ZONE": "timestamp with time zone",
    "TIME WITH TIME ZONE": "time with time zone", "INTERVAL": "interval", "UUID": "uuid",
    "JSON": "json", "NULL": "unknown", "\"NULL\"": "unknown", "BIT": "bit varying",
}
_INTEGER_TYPES = {"INT16": "smallint", "INT32": "integer", "INT64": "bigint"}


def _pg_type(duck: str) -> str:
    duck = duck.strip()
    if duck.endswith("[]"):
        return _pg_type(duck[:-2]) + "[]"
    if duck.startswith("DECIMAL"):
        return "numeric"
    return _PG_TYPE.get(duck, duck.lower())


def _arguments(text: str) -> list[str]:
    """The argument types of DuckDB's "f(T1, T2)", split at top-level commas."""
    args, depth, current = [], 0, ""
    for char in text:
        if char == "," and depth == 0:
            args.append(current)
            current = ""
            continue
        depth += (char in "([") - (char in ")]")
        current += char
    if current.strip():
        args.append(current)
    return [_pg_type(a) for a in args]


def _unquote(name: str) -> str:
    return name[1:-1] if len(name) > 1 and name[0] == name[-1] == '"' else name


def _keys(text: str) -> tuple[list[str], list[str]]:
    """DuckDB's "a: 1, b: x" as PostgreSQL's key columns and values."""
    parts = re.split(r", (?=[^,:]+: )", text)
    pairs = [part.partition(": ") for part in parts]
    return [p[0] for p in pairs], [p[2] for p in pairs]


def _call(match: re.Match[str]) -> tuple[str, str]:
    """PostgreSQL's "function f(integer)" / "operator: text + integer" for a call."""
    name, args = match["name"], _arguments(match["args"])
    if re.fullmatch(r"[A-Za-z_][\w$]*", name):
        return "function", f"{name}({', '.join(args)})"
    return "operator", f"{name} {args[0]}" if len(args) == 1 else f" {name} ".join(args)


def _no_function(match: re.Match[str], _detail: str | None) -> _Reworded:
    what, call = _call(match)
    if what == "function":
        message = f"function {call} does not exist"
    else:
        message = f"operator does not exist: {call}"
    return (message, None,
            f"No {what} matches the given name and argument types. "
            "You might need to add explicit type casts.", None)


def _not_unique(match: re.Match[str], _detail: str | None) -> _Reworded:
    what, call = _call(match)
    message = f"function {call} is not unique" if what == "function" else \
        f"operator is not unique: {call}"
    return (message, None,
            f"Could not choose a best candidate {what}. You might need to add explicit type casts.",
            None)


def _integer_overflow(match: re.Match[str], detail: str | None) -> _Reworded:
    name = _INTEGER_TYPES.get(match["type"])
    if name is None:
        return match.string, detail, None, None
    return f"{name} out of range", None, None, None


def _string_out_of_range(match: re.Match[str], detail: str | None) -> _Reworded:
    return f'value "{match["value"]}" is out of range for type {_pg_type(match["type"])}', None, None, None


def _numeric_overflow(match: re.Match[str], detail: str | None) -> _Reworded:
    precision, scale = int(match["precision"]), int(match["scale"])
    digits = precision - scale
    bound = f"10^{digits}" if digits > 0 else "1"
    return ("numeric field overflow",
            f"A field with precision {precision}, scale {scale} must round to an absolute "
            f"value less than {bound}.", None, None)


def _fixed(message: str, *, detail: bool = False, hint: str | None = None):
    """A rewording to a message with ``{group}`` fields from the match; DuckDB's other
    lines kept as detail only if ``detail``."""
    def reword(match: re.Match[str], rest: str | None) -> _Reworded:
        fields = {k: _unquote(v) for k, v in match.groupdict().items() if v is not None}
        return message.format(**fields), rest if detail else None, hint, None
    return reword


def _catalog_unreachable(match: re.Match[str], detail: str | None) -> _Reworded:
    """libpq's reason, without the connection string DuckDB names nor the query it
    ran on the catalog (the client's statement is not at fault: no position)."""
    detail = re.split(r"\n\s*LINE \d+:", detail or "")[0].strip() or None
    return catalog_unreachable(match.string), detail, None, None


def _duplicate_key(match: re.Match[str], _detail: str | None) -> _Reworded:
    columns, values = _keys(match["key"])
    suffix = "_pkey" if match["kind"] == "primary key" else f"_{'_'.join(columns)}_key"
    return ("duplicate key value violates unique constraint",
            f"Key ({', '.join(columns)})=({', '.join(values)}) already exists.", None, suffix)


def _foreign_key(match: re.Match[str], _detail: str | None) -> _Reworded:
    columns, values = _keys(match["key"])
    key = f"Key ({', '.join(columns)})=({', '.join(values)})"
    if match["side"] == "does not exist in the referenced table":
        return ("insert or update violates foreign key constraint",
                f"{key} is not present in the referenced table.", None,
                f"_{'_'.join(columns)}_fkey")
    # DuckDB names the referencing column here, not the referenced key's
    return ("update or delete violates foreign key constraint",
            f"Key ({', '.join(values)}) is still referenced by column {', '.join(columns)} of "
            "another table.", None, None)


def _check(match: re.Match[str], _detail: str | None) -> _Reworded:
    # PostgreSQL names an unnamed CHECK after its table and, if the expression reads
    # exactly one column, that column (pg_catalog's constraint names agree).
    table = match["table"]
    return (f'new row for relation "{table}" violates check constraint', None, None,
            f"_{match['column']}_check" if match["column"] else "_check")


def _declared_length(match: re.Match[str], _detail: str | None) -> _Reworded:
    name = "character varying" if match["kind"] == "varchar" else "character"
    return f"value too long for type {name}({match['length']})", None, None, None


_REWORDING_TABLE: dict[str, tuple[tuple[str, Callable[..., _Reworded]], ...]] = {
    S.UNDEFINED_TABLE: (
        (r'Table with name (?P<name>.*) does not exist because schema .* does not exist\.$',
         _fixed('relation "{name}" does not exist')),
        (r"(?:Table|View) with name (?P<name>.*) does not exist!$",
         _fixed('relation "{name}" does not exist')),
        (r"Sequence with name (?P<name>.*) does not exist!$",
         _fixed('relation "{name}" does not exist')),  # DROP SEQUENCE: for_statement
        (r'Referenced table "(?P<name>.*)" not found!$',
         _fixed('missing FROM-clause entry for table "{name}"')),
    ),
    S.INVALID_SCHEMA_NAME: (
        (r"Schema with name (?P<name>.*) does not exist!$", _fixed('schema "{name}" does not exist')),
    ),
    S.UNDEFINED_FUNCTION: (
        (r"No function matches the given name and argument types '(?P<name>[^(]+)\((?P<args>.*)\)'\. ",
         _no_function),
        (r"[A-Za-z ]*Function with name (?P<name>.*) does not exist!$",
         _fixed("function {name} does not exist",
                hint="No function matches the given name and argument types. "
                     "You might need to add explicit type casts.")),
    ),
    S.AMBIGUOUS_FUNCTION: (
        (r'Could not choose a best candidate function for the function call '
         r'"(?P<name>[^(]+)\((?P<args>.*)\)"\. ', _not_unique),
    ),
    S.UNDEFINED_OBJECT: (
        (r"Type with name (?P<name>.*) does not exist!$", _fixed('type "{name}" does not exist')),
        (r"Index with name (?P<name>.*) does not exist!$", _fixed('index "{name}" does not exist')),
    ),
    S.DUPLICATE_TABLE: (
        (r"(?:Table|View|Sequence|Index) with name (?P<name>.*) already exists!$",
         _fixed('relation "{name}" already exists')),
    ),
    S.DUPLICATE_SCHEMA: (
        (r"Schema with name (?P<name>.*) already exists!$", _fixed('schema "{name}" already exists')),
    ),
    S.DUPLICATE_OBJECT: (
        (r"Type with name (?P<name>.*) already exists!$", _fixed('type "{name}" already exists')),
    ),
    S.DUPLICATE_COLUMN: (
        (r"Column with name (?P<name>.*) already exists!$", _fixed('column "{name}" already exists')),
    ),
    S.UNDEFINED_COLUMN: (
        (r'Referenced column "(?P<name>.*)" not found in FROM clause!$',
         _fixed('column "{name}" does not exist', detail=True)),
        (r'Table "(?P<table>.*)" does not have a column named "(?P<name>.*)"$',
         _fixed("column {table}.{name} does not exist", detail=True)),
        (r'Table "(?P<table>.*)" does not have a column with name "(?P<name>.*)"$',
         _fixed('column "{name}" of relation "{table}" does not exist', detail=True)),
        (r'Column "(?P<name>.*)" does not exist on (?P<side>left|right) side of join!$',
         _fixed('column "{name}" specified in USING clause does not exist in {side} table')),
        (r"Column with name (?P<name>.*) does not exist!$", _fixed('column "{name}" does not exist')),
    ),
    S.AMBIGUOUS_COLUMN: (
        (r'Ambiguous reference to column name "(?P<name>.*)" \(use: .*\)$',
         _fixed('column reference "{name}" is ambiguous')),
    ),
    S.DUPLICATE_ALIAS: (
        (r'Ambiguous reference to table "(?P<name>.*)" \(duplicate alias ',
         _fixed('table name "{name}" specified more than once')),
    ),
    S.GROUPING_ERROR: (
        (r'column "(?P<name>.*)" must appear in the GROUP BY clause or must be part of an '
         r"aggregate function\.$",
         _fixed('column "{name}" must appear in the GROUP BY clause or be used in an aggregate '
                "function", detail=True)),
        (r"WHERE clause cannot contain aggregates!$",
         _fixed("aggregate functions are not allowed in WHERE")),
    ),
    S.SYNTAX_ERROR: (
        (r"Subquery returns \d+ columns - expected 1$", _fixed("subquery has too many columns")),
        (r"table .* has (?P<columns>\d+) columns but (?P<values>\d+) values were supplied$",
         lambda m, d: ("INSERT has more expressions than target columns"
                       if int(m["values"]) > int(m["columns"]) else m.string, None, None, None)),
    ),
    S.CARDINALITY_VIOLATION: (
        (r"More than one row returned by a subquery used as an expression ",
         _fixed("more than one row returned by a subquery used as an expression")),
    ),
    S.UNIQUE_VIOLATION: (
        (r'Duplicate key "(?P<key>.*)" violates (?P<kind>primary key|unique) constraint\.?$',
         _duplicate_key),
        # Duplicates within one statement, or found at COMMIT: DuckDB names neither the
        # constraint nor its columns.
        (r'(?:Failed to commit: )?PRIMARY KEY or UNIQUE constraint violation: duplicate key "(?P<key>.*)"$',
         lambda m, d: ("duplicate key value violates unique constraint",
                       f"Key value ({m['key']}) already exists.", None, None)),
    ),
    S.NOT_NULL_VIOLATION: (
        (r"NOT NULL constraint failed: (?P<table>.*)\.(?P<name>[^.]*)$",
         _fixed('null value in column "{name}" of relation "{table}" violates not-null constraint')),
    ),
    S.FOREIGN_KEY_VIOLATION: (
        (r'Violates foreign key constraint because key "(?P<key>.*)" (?P<side>does not exist in '
         r"the referenced table|is still referenced by a foreign key in a different table)", _foreign_key),
    ),
    S.STRING_DATA_RIGHT_TRUNCATION: (
        # a declared length: PostgreSQL names the type, not the column or the constraint
        (r"CHECK constraint failed on table .* with expression CHECK\(.*" + DECLARED_TYPE_PATTERN,
         _declared_length),
    ),
    S.CHECK_VIOLATION: (
        # One bare column in the expression names the constraint after it.
        (r"CHECK constraint failed on table (?P<table>.*) with expression "
         r"CHECK\(\((?:(?P<column>[a-z_][a-z0-9_]*) [^a-z_\"']*|.*)\)\)$", _check),
    ),
    S.NUMERIC_VALUE_OUT_OF_RANGE: (
        (r"Overflow in (?:addition|subtraction|multiplication|negation) of (?P<type>\w+) ",
         _integer_overflow),
        (r"Type \S+ with value \S+ can't be cast because the value is out of range for the "
         r"destination type (?P<type>\w+)$", _integer_overflow),
        (r"Could not cast value \S+ to DECIMAL\((?P<precision>\d+),(?P<scale>\d+)\)$", _numeric_overflow),
        (r'Casting value "\S+" to type DECIMAL\((?P<precision>\d+),(?P<scale>\d+)\) failed: value is '
         r"out of range!$", _numeric_overflow),
        (r"Could not convert string '(?P<value>[-+]?\d+)' to (?P<type>\w+)$", _string_out_of_range),
    ),
    S.INVALID_TEXT_REPRESENTATION: (
        (r"Could not convert string ['\"](?P<value>.*)['\"] to (?P<type>INT16|INT32|INT64|BOOL|DOUBLE|FLOAT|"
         r"DECIMAL\(\d+,\d+\)|BLOB)$",
         lambda m, d: (f'invalid input syntax for type {_pg_type(m["type"])}: "{m["value"]}"',
                       None, None, None)),
    ),
    S.INVALID_DATETIME_FORMAT: (
        (r"Could not convert string ['\"](?P<value>.*)['\"] to INTERVAL$",
         _fixed('invalid input syntax for type interval: "{value}"')),
        (r'invalid (?P<type>date|timestamp) field format: "(?P<value>.*)", expected format is ',
         _fixed('invalid input syntax for type {type}: "{value}"')),
    ),
    S.DATETIME_FIELD_OVERFLOW: (
        (r'(?:date|timestamp) field value out of range: "(?P<value>.*)"$',
         _fixed('date/time field value out of range: "{value}"')),
    ),
    S.DEPENDENT_OBJECTS_STILL_EXIST: (
        (r'Could not drop the table because this table is main key table of the table "(?P<name>.*)"$',
         lambda m, d: ("cannot drop table because other objects depend on it",
                       f"a foreign key constraint on table {m['name']} depends on it",
                       "Use DROP ... CASCADE to drop the dependent objects too.", None)),
    ),
    S.WRONG_OBJECT_TYPE: (
        (r"Existing object (?P<name>.*) is of type View, trying to drop type Table$",
         _fixed('"{name}" is not a table', hint="Use DROP VIEW to remove a view.")),
        (r"Existing object (?P<name>.*) is of type Table, trying to drop type View$",
         _fixed('"{name}" is not a view', hint="Use DROP TABLE to remove a table.")),
    ),
    S.IN_FAILED_SQL_TRANSACTION: (
        (r"Current transaction is aborted",
         _fixed("current transaction is aborted, commands ignored until end of transaction block")),
    ),
    S.SERIALIZATION_FAILURE: (
        (r"Conflict on (?:update|tuple deletion)!",
         _fixed("could not serialize access due to concurrent update", detail=True)),
        (r"Failed to commit: Failed to commit DuckLake transaction\.",
         _fixed("could not serialize access due to concurrent update", detail=True)),
    ),
    S.CONNECTION_FAILURE: (
        # DuckDB's text names the catalog's connection string, password and all
        (CATALOG_UNREACHABLE, _catalog_unreachable),
    ),
}

#: Errors PostgreSQL raises while evaluating an expression (constant casts included),
#: where it reports no position; DuckDB points at the cast.
_EVALUATED = frozenset({_integer_overflow, _numeric_overflow, _catalog_unreachable})

_REWORDINGS = {
    code: tuple((re.compile(pattern), reword) for pattern, reword in rows)
    for code, rows in _REWORDING_TABLE.items()
}


# -- what depends on the statement ------------------------------------------------------

def for_statement(err: PgError, text: str, ran: str, offset: int, table: str | None,
                  command: str, moved: Callable[[int], int | None] | None = None) -> PgError:
    """``err``, raised by DuckDB running ``ran`` for the client's statement ``text``
    (which starts at character ``offset`` of the client's Query), with what only the
    statement tells: the Position, and the names PostgreSQL derives from the target
    ``table`` (constraints, DROP TABLE's wording). A position in ``ran`` counts in
    ``text`` when the two are the same; otherwise only if ``moved`` finds its place in
    ``text`` (None: it cannot be placed, and no position is sent)."""
    detail = err.detail
    position = None
    if detail:
        rest, context = _split_context(detail)
        if context is not None:
            detail = _clean(rest)
            position = _position(context, ran) if ran else None
            if position is not None and ran != text:
                position = moved(position) if moved else None
            position = None if position is None else position + offset
    elif ran == text and err.sqlstate == S.SYNTAX_ERROR and err.message == "syntax error at end of input":
        position = offset + len(text) + 1  # DuckDB gives no context; PostgreSQL: the end
    message, constraint, hint = err.message, err.constraint, err.hint
    if constraint is not None and constraint.startswith("_"):
        constraint = table + constraint if table else None
    if err.sqlstate == S.UNIQUE_VIOLATION and constraint:
        message = f'{message} "{constraint}"'
    elif err.sqlstate == S.FOREIGN_KEY_VIOLATION and table:
        if message == "insert or update violates foreign key constraint" and constraint:
            message = f'insert or update on table "{table}" violates foreign key constraint "{constraint}"'
        elif message == "update or delete violates foreign key constraint":
            message = f'update or delete on table "{table}" violates foreign key constraint'
    elif err.sqlstate == S.CHECK_VIOLATION and constraint:
        message = f'{message} "{constraint}"'
    elif err.sqlstate == S.DUPLICATE_COLUMN and table and command == "ALTER TABLE":
        message = message.replace(" already exists", f' of relation "{table}" already exists', 1)
    elif err.sqlstate == S.DUPLICATE_COLUMN and command == "CREATE TABLE":
        message = message.replace(" already exists", " specified more than once", 1)
    elif err.sqlstate == S.DEPENDENT_OBJECTS_STILL_EXIST and table and \
            message == "cannot drop table because other objects depend on it":
        message = f"cannot drop table {table} because other objects depend on it"
    elif err.sqlstate == S.UNDEFINED_COLUMN and command == "CREATE INDEX":
        # DuckDB names the table; PostgreSQL, reading the index's columns, does not
        message = re.sub(r"^column [^\"]*?\.(.*) does not exist$", r'column "\1" does not exist', message)
    elif err.sqlstate == S.UNDEFINED_TABLE and command in ("DROP TABLE", "DROP VIEW", "DROP SEQUENCE") \
            and message.startswith('relation "'):
        message = command.split()[1].lower() + message[len("relation"):]
    return PgError(err.sqlstate, message, severity=err.severity, detail=detail, hint=hint,
                   position=position, constraint=constraint)


def _position(context: str, text: str) -> int | None:
    """The 1-based character position in ``text`` that DuckDB's "LINE n: ..." context
    and caret point at; None unless that is certain (the line was cut where its text
    repeats, or the caret counts wide or control characters)."""
    match = _CONTEXT.match(context)
    if match is None:
        return None
    number, shown, caret = int(match[1]), match[2], len(match[3]) - len(f"LINE {match[1]}: ")
    lines = re.split(r"[\r\n]", text)  # DuckDB counts each \r and \n as a line end
    if number > len(lines) or caret < 0:
        return None
    line_start = sum(len(line) + 1 for line in lines[: number - 1])
    line = lines[number - 1]
    cut = shown.startswith("...") and not line.startswith("...")
    if cut:
        shown, caret = shown[3:], caret - 3
    if shown.endswith("...") and not line.endswith(shown):
        shown = shown[:-3]
    before = shown[:caret]
    if caret < 0 or caret > len(shown) or not before.isascii() or not before.isprintable():
        return None
    start = line.find(shown) if cut else 0
    if start < 0 or (cut and line.find(shown, start + 1) >= 0) or line[start : start + len(shown)] != shown:
        return None
    return line_start + start + caret + 1
