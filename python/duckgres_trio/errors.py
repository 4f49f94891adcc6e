"""SQLSTATE codes and PgError, the one exception every layer raises.

It lives outside the layers because every layer produces errors that end up in an
ErrorResponse: the wire (malformed frames), the frontend (auth), the engine (DuckDB
exceptions mapped to SQLSTATE). None of them needs to import another to do so.
"""

from __future__ import annotations


class SqlState:
    """The SQLSTATE codes this server sends (PostgreSQL appendix A names)."""

    SUCCESSFUL_COMPLETION = "00000"
    WARNING = "01000"
    CONNECTION_EXCEPTION = "08000"
    CONNECTION_FAILURE = "08006"
    PROTOCOL_VIOLATION = "08P01"
    BAD_COPY_FILE_FORMAT = "22P04"
    FEATURE_NOT_SUPPORTED = "0A000"
    INVALID_PARAMETER_VALUE = "22023"
    DATA_EXCEPTION = "22000"
    STRING_DATA_RIGHT_TRUNCATION = "22001"
    NUMERIC_VALUE_OUT_OF_RANGE = "22003"
    INVALID_DATETIME_FORMAT = "22007"
    DATETIME_FIELD_OVERFLOW = "22008"
    DIVISION_BY_ZERO = "22012"
    SEQUENCE_GENERATOR_LIMIT_EXCEEDED = "2200H"
    INVALID_TEXT_REPRESENTATION = "22P02"
    INVALID_ESCAPE_SEQUENCE = "22025"
    INVALID_USE_OF_ESCAPE_CHARACTER = "2200C"
    INVALID_TIME_ZONE_DISPLACEMENT_VALUE = "22009"
    INTERVAL_FIELD_OVERFLOW = "22015"
    ARRAY_SUBSCRIPT_ERROR = "2202E"
    CHARACTER_NOT_IN_REPERTOIRE = "22021"
    INVALID_BINARY_REPRESENTATION = "22P03"
    INTEGRITY_CONSTRAINT_VIOLATION = "23000"
    NOT_NULL_VIOLATION = "23502"
    FOREIGN_KEY_VIOLATION = "23503"
    UNIQUE_VIOLATION = "23505"
    CHECK_VIOLATION = "23514"
    INVALID_TRANSACTION_STATE = "25000"
    ACTIVE_SQL_TRANSACTION = "25001"
    READ_ONLY_SQL_TRANSACTION = "25006"
    NO_ACTIVE_SQL_TRANSACTION = "25P01"
    IN_FAILED_SQL_TRANSACTION = "25P02"
    INVALID_AUTHORIZATION_SPECIFICATION = "28000"
    INVALID_PASSWORD = "28P01"
    DEPENDENT_OBJECTS_STILL_EXIST = "2BP01"
    INVALID_CATALOG_NAME = "3D000"
    INVALID_SCHEMA_NAME = "3F000"
    SERIALIZATION_FAILURE = "40001"
    SYNTAX_ERROR_OR_ACCESS_RULE_VIOLATION = "42000"
    SYNTAX_ERROR = "42601"
    INSUFFICIENT_PRIVILEGE = "42501"
    UNDEFINED_COLUMN = "42703"
    UNDEFINED_FUNCTION = "42883"
    UNDEFINED_TABLE = "42P01"
    INVALID_FOREIGN_KEY = "42830"
    UNDEFINED_OBJECT = "42704"
    DUPLICATE_OBJECT = "42710"
    DUPLICATE_TABLE = "42P07"
    DUPLICATE_SCHEMA = "42P06"
    DUPLICATE_FUNCTION = "42723"
    DUPLICATE_ALIAS = "42712"
    AMBIGUOUS_COLUMN = "42702"
    AMBIGUOUS_FUNCTION = "42725"
    DATATYPE_MISMATCH = "42804"
    GROUPING_ERROR = "42803"
    DUPLICATE_COLUMN = "42701"
    CARDINALITY_VIOLATION = "21000"
    INVALID_ARGUMENT_FOR_LOGARITHM = "2201E"
    INVALID_ARGUMENT_FOR_POWER_FUNCTION = "2201F"
    WRONG_OBJECT_TYPE = "42809"
    CANNOT_COERCE = "42846"
    INDETERMINATE_DATATYPE = "42P18"
    TOO_MANY_CONNECTIONS = "53300"
    SYSTEM_ERROR = "58000"
    PROGRAM_LIMIT_EXCEEDED = "54000"
    OUT_OF_MEMORY = "53200"
    QUERY_CANCELED = "57014"
    ADMIN_SHUTDOWN = "57P01"
    CANNOT_CONNECT_NOW = "57P03"
    IDLE_SESSION_TIMEOUT = "57P05"
    IO_ERROR = "58030"
    INTERNAL_ERROR = "XX000"


class PgError(Exception):
    """An error to report to the client as an ErrorResponse.

    ``severity`` is ERROR (the statement fails, the session goes on) or FATAL (the
    connection closes after the ErrorResponse is sent). ``position`` is PostgreSQL's
    Position field: the 1-based character offset of the error in the statement text
    that raised it (the session moves it into the client's Query text or drops it).
    ``constraint`` names the violated constraint; the engine, which does not know the
    statement's table, leaves the table out (``_pkey``, ``_id_fkey``) and the session
    completes it (``engine.errors.for_statement``).
    """

    def __init__(
        self,
        sqlstate: str,
        message: str,
        *,
        severity: str = "ERROR",
        detail: str | None = None,
        hint: str | None = None,
        position: int | None = None,
        constraint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate
        self.message = message
        self.severity = severity
        self.detail = detail
        self.hint = hint
        self.position = position
        self.constraint = constraint

    @property
    def fatal(self) -> bool:
        return self.severity in ("FATAL", "PANIC")

    def __repr__(self) -> str:
        return f"PgError({self.sqlstate!r}, {self.message!r}, severity={self.severity!r})"


class ProtocolViolation(PgError):
    """The client broke the protocol: FATAL 08P01, then the connection closes.

    Raised by both wire codecs (the Rust one imports this class), so callers catch
    one type whichever implementation is active.
    """

    def __init__(self, message: str) -> None:
        super().__init__(SqlState.PROTOCOL_VIOLATION, message, severity="FATAL")
