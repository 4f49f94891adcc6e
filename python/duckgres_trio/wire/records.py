"""Composite (record) values in: PostgreSQL's record_in (text) and record_recv (binary).

A composite type here is DuckDB's STRUCT. DuckDB casts text to a STRUCT with rules of
its own: an unquoted empty field is '' (PostgreSQL: NULL), an unquoted NULL is NULL
(PostgreSQL: the string 'NULL'), white space around a field is trimmed (PostgreSQL keeps
it), '""' inside quotes is not a quote and a backslash outside quotes is an error. So a
PostgreSQL record literal (a parameter's text, or the string of ``'(1,x)'::t``) is read
here with record_in's rules (``record_fields``) and written again in the form DuckDB
reads unambiguously (``duckdb_struct_text``): every field double-quoted with backslash
escapes, NULL bare.

What DuckDB then does with each field's text is its own cast from VARCHAR: a field
that is itself an array or a record must be written as DuckDB reads those (documented
in docs/compatibility.md). The number of fields is not checked here (the type is not
known at this layer): DuckDB fills missing fields with NULL and refuses extra ones.

Binary input (``record_recv``) is PostgreSQL's record format: an int32 field count,
then per field its type OID (uint32), an int32 length (-1 for NULL) and that many bytes,
each field read by its own OID's binary input. The fields come back as a tuple of
Python values, which the engine binds as DuckDB's STRUCT text
(``engine.literals.bind_form``). Hostile input is normal input: the count is checked
against the bytes that remain before anything is allocated, every length against the
bytes left, and nesting (a record field in a record) is capped.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from duckgres_trio.errors import PgError, SqlState

#: Bounds the work on hostile input: PostgreSQL's own limit is the 1 GB field.
MAX_RECORD_FIELDS = 1664  # PostgreSQL's MaxTupleAttributeNumber
#: Records nested in records (and arrays of them) in one binary value: each level is a
#: Python call here, PostgreSQL stops at its stack depth (54001) much deeper.
MAX_RECORD_DEPTH = 64


def _malformed(text: str, detail: str) -> PgError:
    return PgError(SqlState.INVALID_TEXT_REPRESENTATION,
                   f'malformed record literal: "{text}"', detail=detail)


def record_fields(text: str) -> list[str | None]:
    """The fields of a record literal as record_in reads them ('(1,"a b",)' is
    ['1', 'a b', None]); 22P02 'malformed record literal' with record_in's detail."""
    n, i = len(text), 0
    while i < n and text[i].isspace():
        i += 1
    if i >= n or text[i] != "(":
        raise _malformed(text, "Missing left parenthesis.")
    i += 1
    fields: list[str | None] = []
    if i < n and text[i] == ")":  # '()': a record of no fields
        i += 1
    else:
        while True:
            if len(fields) >= MAX_RECORD_FIELDS:
                raise _malformed(text, "Too many columns.")
            if i < n and text[i] in ",)":
                fields.append(None)  # nothing at all (not even "") is NULL
            else:
                chars: list[str] = []
                quoted = False
                while True:
                    if i >= n:
                        raise _malformed(text, "Unexpected end of input.")
                    ch = text[i]
                    if not quoted and ch in ",)":
                        break
                    i += 1
                    if ch == "\\":
                        if i >= n:
                            raise _malformed(text, "Unexpected end of input.")
                        chars.append(text[i])
                        i += 1
                    elif ch == '"':
                        if quoted and i < n and text[i] == '"':
                            chars.append('"')  # a doubled quote inside quotes
                            i += 1
                        else:
                            quoted = not quoted
                    else:
                        chars.append(ch)
                fields.append("".join(chars))
            ch = text[i]
            i += 1
            if ch == ")":
                break
    while i < n and text[i].isspace():
        i += 1
    if i < n:
        raise _malformed(text, "Junk after right parenthesis.")
    return fields


def duckdb_struct_text(fields: list[str | None]) -> str:
    """The text DuckDB's VARCHAR -> STRUCT cast reads as exactly these fields."""
    return "(" + ",".join(
        "NULL" if field is None
        else '"' + field.replace("\\", "\\\\").replace('"', '\\"') + '"'
        for field in fields) + ")"


def to_duckdb(text: str) -> str:
    """A PostgreSQL record literal as DuckDB's STRUCT text of the same fields."""
    return duckdb_struct_text(record_fields(text))


class LeftOver(Exception):
    """A value's binary input left bytes unread. ``field`` raises it for a field
    (record_recv's 'improper binary format in record column N'), ``record_recv`` for
    the record itself (its caller's 'incorrect binary data format')."""


_COUNT = struct.Struct(">i")
_FIELD = struct.Struct(">Ii")


def _insufficient() -> PgError:
    # pq_getmsgint's error: the value is shorter than its own words say
    return PgError(SqlState.PROTOCOL_VIOLATION, "insufficient data left in message")


def record_recv(data: bytes, field: Callable[[int, bytes], object],
                depth: int = 0) -> tuple:
    """The fields of one binary record, each decoded by ``field(oid, bytes)`` (None
    for a NULL field), with record_recv's errors: 08P01 for a value cut short, 22P03
    for a field length past the end or a field its own input did not consume whole,
    54001 past ``MAX_RECORD_DEPTH`` levels of nesting."""
    if depth >= MAX_RECORD_DEPTH:
        raise PgError("54001", "stack depth limit exceeded",
                      hint=f"Records nest at most {MAX_RECORD_DEPTH} levels deep here.")
    view = memoryview(data)
    if len(view) < 4:
        raise _insufficient()
    (count,) = _COUNT.unpack_from(view, 0)
    if count < 0 or count > MAX_RECORD_FIELDS:  # record_recv's check against the type's
        raise PgError(SqlState.DATATYPE_MISMATCH, f"wrong number of columns: {count}")
    at, fields = 4, []  # each field's words are read before its slot: the bytes bound it
    for column in range(1, count + 1):
        if at + _FIELD.size > len(view):
            raise _insufficient()
        oid, length = _FIELD.unpack_from(view, at)
        at += _FIELD.size
        if length == -1:
            fields.append(None)
            continue
        if length < -1 or length > len(view) - at:
            raise PgError(SqlState.INVALID_BINARY_REPRESENTATION,
                          "insufficient data left in message")
        try:
            fields.append(field(oid, bytes(view[at:at + length])))
        except LeftOver:
            raise PgError(SqlState.INVALID_BINARY_REPRESENTATION,
                          f"improper binary format in record column {column}") from None
        at += length
    if at != len(view):
        raise LeftOver(f"{len(view) - at} bytes left over")
    return tuple(fields)
