"""Composite (record) values as text: PostgreSQL's record_in in, DuckDB's STRUCT text out.

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
"""

from __future__ import annotations

from duckgres_trio.errors import PgError, SqlState

#: Bounds the work on hostile input: PostgreSQL's own limit is the 1 GB field.
MAX_RECORD_FIELDS = 1664  # PostgreSQL's MaxTupleAttributeNumber


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
