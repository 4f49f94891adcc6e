"""COPY TO STDOUT data: Arrow record batches to the bytes of CopyData messages, in
PostgreSQL's text, CSV and binary formats (sans-IO).

Each value is first rendered by the same encoders as query results (``wire/text.py``,
``wire/binary.py``: the type's output / send function), then framed the way PostgreSQL's
``copyto.c`` frames it: text escapes backslash, the delimiter and control characters;
CSV quotes a value only when it must (or when FORCE_QUOTE says so); binary is the
PGCOPY layout. One element of a returned list is one row, which PostgreSQL sends as one
CopyData message.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import pyarrow as pa

from duckgres_trio.wire.binary import encode_binary_column
from duckgres_trio.wire.text import encode_text_column


@dataclass(frozen=True)
class CopyOptions:
    """The format of COPY data (PostgreSQL's COPY options and their defaults)."""

    format: str = "text"  # text, csv or binary
    delimiter: str = "\t"
    null: str = "\\N"
    header: bool = False
    quote: str = '"'
    escape: str = '"'
    force_quote: frozenset[str] | None = None  # FORCE_QUOTE (col, ...), lower-cased names
    force_quote_all: bool = False  # FORCE_QUOTE *


BINARY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)
BINARY_TRAILER = struct.pack("!h", -1)

_TEXT_ESCAPES = {ord("\\"): "\\\\", ord("\b"): "\\b", ord("\f"): "\\f", ord("\n"): "\\n",
                 ord("\r"): "\\r", ord("\t"): "\\t", ord("\v"): "\\v"}


def copy_header(schema: pa.Schema, options: CopyOptions) -> bytes | None:
    """The data sent before the first row: the binary signature, or the CSV/text header
    line of column names; None if nothing."""
    if options.format == "binary":
        return BINARY_HEADER
    if options.header:
        names = [name.encode() for name in schema.names]
        return _line([_csv_value(n, options, force=False) if options.format == "csv"
                      else _text_value(n, options) for n in names], options)
    return None


def copy_trailer(options: CopyOptions) -> bytes | None:
    return BINARY_TRAILER if options.format == "binary" else None


def copy_rows(batch: pa.RecordBatch, options: CopyOptions) -> list[bytes]:
    """Every row of ``batch`` in the COPY format, one bytes object per row."""
    if options.format == "binary":
        columns = [encode_binary_column(batch.column(i), batch.schema.field(i))
                   for i in range(batch.num_columns)]
        count = struct.pack("!h", batch.num_columns)
        return [count + b"".join(b"\xff\xff\xff\xff" if v is None
                                 else struct.pack("!i", len(v)) + v for v in row)
                for row in _rows(columns, batch.num_rows)]
    columns = [encode_text_column(batch.column(i), batch.schema.field(i))
               for i in range(batch.num_columns)]
    null = options.null.encode()
    if options.format == "csv":
        wanted = options.force_quote or frozenset()
        forced = [options.force_quote_all or name in wanted or name.lower() in wanted
                  for name in batch.schema.names]
        rendered = [[null if v is None else _csv_value(v, options, force=f) for v in column]
                    for column, f in zip(columns, forced)]
    else:
        rendered = [[null if v is None else _text_value(v, options) for v in column]
                    for column in columns]
    return [_line(row, options) for row in _rows(rendered, batch.num_rows)]


def _rows(columns: list[list], num_rows: int):
    if not columns:  # a row without columns still is a row
        return [()] * num_rows
    return zip(*columns)


def _line(values, options: CopyOptions) -> bytes:
    return options.delimiter.encode().join(values) + b"\n"


def _text_value(value: bytes, options: CopyOptions) -> bytes:
    text = value.decode()
    escaped = text.translate(_TEXT_ESCAPES)
    if options.delimiter not in "\\\b\f\n\r\t\v" and options.delimiter in escaped:
        escaped = escaped.replace(options.delimiter, "\\" + options.delimiter)
    return escaped.encode()


def _csv_value(value: bytes, options: CopyOptions, *, force: bool) -> bytes:
    """CopyAttributeOutCSV: quote if forced, if the value equals the NULL string, or if
    it holds the delimiter, the quote, CR or LF (or is a lone \\. line)."""
    text = value.decode()
    quote, escape = options.quote, options.escape
    must = (force or text == options.null
            or any(c in text for c in (options.delimiter, quote, "\r", "\n"))
            or text == "\\.")
    if not must:
        return value
    body = "".join(escape + c if c in (quote, escape) else c for c in text)
    return (quote + body + quote).encode()
