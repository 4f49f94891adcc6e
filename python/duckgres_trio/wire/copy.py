"""COPY data in PostgreSQL's text, CSV and binary formats, both ways (sans-IO).

COPY TO STDOUT: Arrow record batches to the bytes of CopyData messages.

Each value is first rendered by the same encoders as query results (``wire/text.py``,
``wire/binary.py``: the type's output / send function), then framed the way PostgreSQL's
``copyto.c`` frames it: text escapes backslash, the delimiter and control characters;
CSV quotes a value only when it must (or when FORCE_QUOTE says so); binary is the
PGCOPY layout. One element of a returned list is one row, which PostgreSQL sends as one
CopyData message.

COPY FROM STDIN: CopyData bytes to rows of field texts (``CopyInParser``: text, CSV) or
raw binary field values (``BinaryCopyInParser``), parsed as ``copyfrom.c`` reads them; a
record split across messages is completed before it is parsed. With the Rust codec
``_native.split_binary_copy`` frames the binary rows; ``split_binary_copy`` here is its
reference.
"""

from __future__ import annotations

import codecs
import re
import struct
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as _pc
import pyarrow.csv as _pacsv

from duckgres_trio.wire import CODEC, backend
from duckgres_trio.wire.binary import encode_binary_column
from duckgres_trio.wire.rows import rust_column
from duckgres_trio.wire.text import OutputStyle, encode_text_column, output_style


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
    # CSV input: a quoted null string is NULL too / the null string is never NULL
    force_null: frozenset[str] = frozenset()
    force_not_null: frozenset[str] = frozenset()


BINARY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)
BINARY_TRAILER = struct.pack("!h", -1)

_TEXT_ESCAPES = {ord("\\"): "\\\\", ord("\b"): "\\b", ord("\f"): "\\f", ord("\n"): "\\n",
                 ord("\r"): "\\r", ord("\t"): "\\t", ord("\v"): "\\v"}


class CopyOut:
    """The CopyData messages of one COPY TO STDOUT, cut where PostgreSQL cuts them.

    Clients read COPY data message by message (psycopg's binary ``rows()``, pgjdbc's
    ``CopyOut.readFromCopy``), so the boundaries matter, not only the bytes.
    ``copyto.c`` ends a message at the end of each row (``CopySendEndOfRow``): a text or
    CSV HEADER line is a message of its own, but the binary signature is not followed
    by an end of row, so it is sent in front of the first row, and with zero rows in
    front of the trailer (one message); the trailer ends a message of its own.
    """

    def __init__(self, schema: pa.Schema, options: CopyOptions, codec: str = CODEC,
                 style: OutputStyle | None = None) -> None:
        self.style = style
        self.options = options
        self.codec = codec
        self._prefix = BINARY_HEADER if options.format == "binary" else b""
        self._schema = schema

    def start(self) -> bytes:
        """The messages before the first row: the HEADER line (text, CSV)."""
        options = self.options
        if options.format == "binary" or not options.header:
            return b""
        names = [name.encode() for name in self._schema.names]
        return backend.copy_data(_line([_csv_value(n, options, force=False)
                                        if options.format == "csv"
                                        else _text_value(n, options) for n in names], options))

    def rows(self, batch: pa.RecordBatch) -> bytes:
        """The rows of ``batch``, a CopyData message each (the first may carry the
        binary signature)."""
        data = copy_data_messages(batch, self.options, self.codec, self.style)
        if self._prefix and data:
            data = _prefixed(self._prefix, data)
            self._prefix = b""
        return data

    def end(self) -> bytes:
        """The messages after the last row: the binary trailer."""
        if self.options.format != "binary":
            return b""
        data, self._prefix = self._prefix + BINARY_TRAILER, b""
        return backend.copy_data(data)


def _prefixed(prefix: bytes, messages: bytes) -> bytes:
    """``messages`` (concatenated CopyData) with ``prefix`` put at the start of the
    first one's payload."""
    (length,) = struct.unpack_from("!i", messages, 1)
    return (backend.copy_data(prefix + messages[5:1 + length]) + messages[1 + length:])


def copy_data_messages(batch: pa.RecordBatch, options: CopyOptions,
                       codec: str = CODEC, style: OutputStyle | None = None) -> bytes:
    """Every row of ``batch`` in the COPY format, each as a CopyData message, concatenated.

    With the Rust codec, ``_native.encode_copy_data`` renders the values (the columns
    prepared as for ``wire.rows.encode_rows``) and frames the rows; ``copy_rows`` is the
    reference, and serves the options Rust does not take (a delimiter, quote or escape
    that is not one ASCII byte). Text in ``style`` (DateStyle, IntervalStyle)."""
    with output_style(style):
        if codec == "rust" and _rust_options(options):
            from duckgres_trio import _native

            fmt = 1 if options.format == "binary" else 0
            columns = [rust_column(batch.column(i), batch.schema.field(i), fmt, style)
                       for i in range(batch.num_columns)]
            forced = _forced(batch.schema, options) if options.format == "csv" else []
            return _native.encode_copy_data(columns, batch.num_rows, options.format,
                                            options.delimiter, options.null, options.quote,
                                            options.escape, forced)
        return b"".join(backend.copy_data(row) for row in copy_rows(batch, options))


def _rust_options(options: CopyOptions) -> bool:
    """Whether the Rust framing reproduces the reference for these options: single
    ASCII delimiter, quote and escape; in text, a delimiter that is not an escape
    letter (which PostgreSQL rejects anyway)."""
    if options.format == "binary":
        return True
    chars = (options.delimiter, options.quote, options.escape)
    return (all(len(c) == 1 and c.isascii() for c in chars)
            and not (options.format == "text" and options.delimiter in "bfnrtv"))


def _forced(schema: pa.Schema, options: CopyOptions) -> list[bool]:
    """CSV FORCE_QUOTE per column."""
    wanted = options.force_quote or frozenset()
    return [options.force_quote_all or name in wanted or name.lower() in wanted
            for name in schema.names]


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
        forced = _forced(batch.schema, options)
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


# -- COPY FROM STDIN: CopyData bytes in, rows of field texts out ---------------------------

class CopyFormatError(ValueError):
    """Malformed COPY data (PostgreSQL: 22P04 bad_copy_file_format / 22P02)."""


_UNESCAPE = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
_TEXT_ESCAPE = re.compile(r"\\(?:([0-7]{1,3})|x([0-9A-Fa-f]{1,2})|(.))", re.DOTALL)
_MAX_FIELDS = 1600  # PostgreSQL's MaxTupleAttributeNumber


def _unescape_text(m: re.Match) -> str:
    octal, hexa, other = m.groups()
    if octal:
        return chr(int(octal, 8) & 0xFF)
    if hexa:
        return chr(int(hexa, 16))
    return _UNESCAPE.get(other, other)


class CopyInParser:
    """Incremental parser of COPY FROM STDIN data in text or CSV format.

    ``feed(data)`` returns the rows completed so far, each a list of field texts (None
    for NULL); ``finish()`` the rest. Only complete records are parsed: a record cut
    between two CopyData messages waits for its end, so memory stays bounded by the
    longest record (plus one CopyData message).
    """

    def __init__(self, options: CopyOptions, columns: int,
                 names: list[str] | None = None) -> None:
        """``names``: the target columns, for FORCE_NULL / FORCE_NOT_NULL."""
        if options.format == "binary":
            raise ValueError("use BinaryCopyInParser")
        self._o = options
        self._columns = columns
        names = names or []
        self._force_null = [_named(n, options.force_null) for n in names]
        self._force_not_null = [_named(n, options.force_not_null) for n in names]
        self._buffer = ""
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._skip_header = options.header
        self._done = False  # the \. end-of-data marker was seen
        self.line = 0
        self._fast = _columnar_options(options, columns)
        self._not_null = [i for i, forced in enumerate(self._force_not_null) if forced]

    def feed(self, data: bytes) -> list[list[str | None]]:
        return _as_rows(self.feed_pieces(data))

    def finish(self) -> list[list[str | None]]:
        return _as_rows(self.finish_pieces())

    def feed_pieces(self, data: bytes) -> list[list[list[str | None]] | pa.Table]:
        """Like ``feed``, but the rows come in pieces: each a list of rows, or a
        ``pa.Table`` of string columns (NULL as null) when a run of complete records
        could be split without Python (``_columnar``)."""
        if self._done:
            return []
        self._buffer += self._decode(data, final=False)
        return self._records()

    def finish_pieces(self) -> list[list[list[str | None]] | pa.Table]:
        if self._done:
            return []
        self._buffer += self._decode(b"", final=True)
        pieces = self._records()
        if self._buffer:  # the last record may lack its newline
            pieces.append(self._parse([self._buffer]))
        self._buffer = ""
        return pieces

    def _decode(self, data: bytes, *, final: bool) -> str:
        try:
            return self._decoder.decode(data, final)
        except UnicodeDecodeError:
            raise CopyFormatError('invalid byte sequence for encoding "UTF8"') from None

    def _records(self) -> list:
        buffer = self._buffer
        end = buffer.rfind("\n")
        if end < 0:
            return []
        if self._o.format == "csv" and self._o.quote in buffer[:end]:
            # A newline inside quotes is data: find the records' ends one by one.
            records, self._buffer = _csv_records(buffer, self._o.quote, self._o.escape)
            return [self._parse(records)] if records else []
        complete, self._buffer = buffer[:end + 1], buffer[end + 1:]
        if self._fast and (table := self._columnar(complete)) is not None:
            self.line += table.num_rows
            return [table]
        return [self._parse(complete[:-1].split("\n"))]

    def _columnar(self, complete: str) -> pa.Table | None:
        """Complete records (each ending in a newline) split into string columns by
        Arrow's CSV reader, or None where that might not read them exactly as
        ``_parse`` does: then ``_parse`` reads them (and raises its errors with their
        line numbers). Arrow's reader is exact here because every field is split on
        the delimiter only: no quote character (CSV: the chunk holds none), no escape
        (text: no backslash but in the fields equal to the default NULL string), no
        CR (``_parse`` drops one before a newline), no end marker, no header to skip,
        no BOM (Arrow skips one), no empty line when a record needs several fields
        (Arrow reads it as empty fields), and the field count checked by Arrow."""
        o = self._o
        if self._skip_header or "\r" in complete or complete.startswith("\ufeff"):
            return None
        if self._columns > 1 and (complete.startswith("\n") or "\n\n" in complete):
            return None
        backslashes = 0
        if o.format == "csv":
            if "\\." in complete:
                return None
        elif "\\" in complete:
            if o.null != "\\N":
                return None
            backslashes = complete.count("\\")
        try:
            table = _pacsv.read_csv(pa.py_buffer(complete.encode()),
                                    read_options=self._fast[0],
                                    parse_options=self._fast[1],
                                    convert_options=self._fast[2])
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None
        if table.num_columns != self._columns or table.num_rows != complete.count("\n"):
            return None
        if backslashes and backslashes != sum(c.null_count for c in table.columns):
            return None  # a backslash outside a NULL field: an escape
        for i in self._not_null:  # FORCE_NOT_NULL: the NULL string is text
            if i < self._columns and table.column(i).null_count:
                table = table.set_column(i, table.field(i),
                                         _pc.fill_null(table.column(i), o.null))
        return table

    def _parse(self, records: list[str]) -> list[list[str | None]]:
        rows = []
        parse = self._csv_row if self._o.format == "csv" else self._text_row
        for record in records:
            self.line += 1
            if record.endswith("\r"):
                record = record[:-1]
            if self._skip_header:
                self._skip_header = False
                continue
            if record == "\\.":
                self._done = True
                break
            row = parse(record)
            if len(row) != self._columns:
                raise CopyFormatError(
                    f"{'extra' if len(row) > self._columns else 'missing'} data "
                    f"{'after last expected column' if len(row) > self._columns else 'for column'}"
                    f" (line {self.line})")
            rows.append(row)
        return rows

    def _text_row(self, record: str) -> list[str | None]:
        fields = record.split(self._o.delimiter)
        null = self._o.null
        if "\\" not in record:
            return [None if f == null else f for f in fields]
        # A backslash may escape the delimiter itself: split on unescaped ones only.
        if "\\" + self._o.delimiter in record:
            fields = _split_unescaped(record, self._o.delimiter)
        return [None if f == null else _TEXT_ESCAPE.sub(_unescape_text, f) for f in fields]

    def _csv_row(self, record: str) -> list[str | None]:
        o = self._o
        if not (self._force_null or self._force_not_null):
            if o.quote not in record:
                return [None if f == o.null else f for f in record.split(o.delimiter)]
            return [None if not quoted and text == o.null else text
                    for text, quoted in _csv_fields(record, o)]
        row = []
        for i, (text, quoted) in enumerate(_csv_fields(record, o)):
            forced_null = i < len(self._force_null) and self._force_null[i]
            never_null = i < len(self._force_not_null) and self._force_not_null[i]
            null = text == o.null and (not quoted or forced_null) and not never_null
            row.append(None if null else text)
        return row


def _columnar_options(options: CopyOptions, columns: int):
    """Arrow CSV reader options that split records on the delimiter alone, every
    column a string, the NULL string read as null; None if this COPY's options cannot
    be read that way."""
    d = options.delimiter
    if columns < 1 or len(d) != 1 or not d.isascii() or d in "\r\n\\\"":
        return None
    if any(c in options.null for c in "\r\n"):
        return None
    if options.format == "csv" and (len(options.quote) != 1 or d == options.quote):
        return None
    names = [f"c{i}" for i in range(columns)]
    return (_pacsv.ReadOptions(column_names=names, use_threads=False, block_size=1 << 26),
            _pacsv.ParseOptions(delimiter=d, quote_char=False, escape_char=False,
                                double_quote=False, newlines_in_values=False,
                                ignore_empty_lines=False),
            _pacsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                  null_values=[options.null], strings_can_be_null=True,
                                  quoted_strings_can_be_null=False))


def _as_rows(pieces: list) -> list[list[str | None]]:
    rows: list[list[str | None]] = []
    for piece in pieces:
        if isinstance(piece, list):
            rows += piece
        else:
            rows += [list(row) for row in zip(*(c.to_pylist() for c in piece.columns))]
    return rows


def _split_unescaped(record: str, delimiter: str) -> list[str]:
    fields, current, i = [], [], 0
    while i < len(record):
        ch = record[i]
        if ch == "\\" and i + 1 < len(record):
            current.append(record[i:i + 2])
            i += 2
            continue
        if ch == delimiter:
            fields.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    fields.append("".join(current))
    return fields


def _csv_records(buffer: str, quote: str, escape: str) -> tuple[list[str], str]:
    """Complete CSV records (a newline inside quotes is data) and the unfinished rest."""
    records: list[str] = []
    start = 0
    if quote not in buffer:
        end = buffer.rfind("\n")
        if end < 0:
            return [], buffer
        return buffer[:end].split("\n"), buffer[end + 1:]
    in_quotes = False
    i, n = 0, len(buffer)
    while i < n:
        ch = buffer[i]
        if in_quotes:
            if ch == escape and escape != quote and i + 1 < n and buffer[i + 1] in (quote, escape):
                i += 2
                continue
            if ch == quote:
                in_quotes = False
        elif ch == quote:
            in_quotes = True
        elif ch == "\n":
            records.append(buffer[start:i])
            start = i + 1
        i += 1
    return records, buffer[start:]


def _named(name: str, names: frozenset[str]) -> bool:
    return name in names or name.lower() in names


def _csv_fields(record: str, o: CopyOptions) -> list[tuple[str, bool]]:
    """One CSV record's fields, each with whether it was quoted (a quoted field is not
    NULL unless FORCE_NULL says so: PostgreSQL's rule)."""
    fields: list[tuple[str, bool]] = []
    current: list[str] = []
    quoted = in_quotes = False
    i, n = 0, len(record)
    while i < n:
        ch = record[i]
        if in_quotes:
            if ch == o.escape and i + 1 < n and record[i + 1] in (o.quote, o.escape) and (
                    o.escape != o.quote or record[i + 1] == o.quote):
                current.append(record[i + 1])
                i += 2
                continue
            if ch == o.quote:
                in_quotes = False
            else:
                current.append(ch)
        elif ch == o.quote:
            in_quotes = quoted = True
        elif ch == o.delimiter:
            fields.append(("".join(current), quoted))
            current, quoted = [], False
        else:
            current.append(ch)
        i += 1
    if in_quotes:
        raise CopyFormatError("unterminated CSV quoted field")
    fields.append(("".join(current), quoted))
    if len(fields) > _MAX_FIELDS:
        raise CopyFormatError("extra data after last expected column")
    return fields


class BinaryCopyInParser:
    """Incremental parser of PGCOPY binary data: rows of raw field bytes (None: NULL).

    The rows are framed by ``split_binary_copy`` or, with the Rust codec (``codec``),
    its twin ``_native.split_binary_copy``: the same rows and errors, 4x faster."""

    def __init__(self, columns: int, max_field: int, *, codec: str = CODEC) -> None:
        self._columns = columns
        self._max_field = max_field
        self._codec = codec
        self._buffer = bytearray()
        self._header = False
        self._done = False

    def feed(self, data: bytes) -> list[list[bytes | None]]:
        if self._done:
            return []
        self._buffer += data
        rows = []
        if not self._header:
            if len(self._buffer) < len(BINARY_HEADER):
                return rows
            if bytes(self._buffer[:11]) != BINARY_HEADER[:11]:
                raise CopyFormatError("COPY file signature not recognized")
            flags, extension = struct.unpack_from("!iI", self._buffer, 11)
            if flags & 0x10000:
                raise CopyFormatError("COPY file with OIDs is not supported")
            if len(self._buffer) < 19 + extension:
                return rows
            del self._buffer[:19 + extension]
            self._header = True
        rows, self._done = self._rows()
        return rows

    def finish(self) -> list[list[bytes | None]]:
        if not self._done:
            raise CopyFormatError("unexpected EOF in COPY data")
        return []

    def feed_pieces(self, data: bytes) -> list[list[list[bytes | None]]]:
        return [self.feed(data)]

    def finish_pieces(self) -> list[list[list[bytes | None]]]:
        return [self.finish()]

    def _rows(self) -> tuple[list[list[bytes | None]], bool]:
        """The complete rows in the buffer, which keeps what follows them, and whether
        the trailer came. One pass over the buffer, which is cut once."""
        data = bytes(self._buffer)
        if self._codec == "rust":
            from duckgres_trio import _native

            try:
                rows, consumed, done = _native.split_binary_copy(data, self._columns, self._max_field)
            except ValueError as exc:
                raise CopyFormatError(str(exc)) from None
        else:
            rows, consumed, done = split_binary_copy(data, self._columns, self._max_field)
        del self._buffer[:consumed]
        return rows, done


def split_binary_copy(data: bytes, columns: int, max_field: int
                      ) -> tuple[list[list[bytes | None]], int, bool]:
    """The complete rows at the start of binary COPY data (after the header), each of
    ``columns`` fields of at most ``max_field`` bytes: (rows, bytes they took with the
    trailer, whether the trailer came). The reference of ``_native.split_binary_copy``."""
    end, pos, rows = len(data), 0, []
    while end - pos >= 2:
        (count,) = _INT16.unpack_from(data, pos)
        if count == -1:
            return rows, pos + 2, True
        if count != columns:
            raise CopyFormatError(f"row field count is {count}, expected {columns}")
        at, fields = pos + 2, []
        for _ in range(count):
            if end - at < 4:
                break
            (size,) = _INT32.unpack_from(data, at)
            at += 4
            if size == -1:
                fields.append(None)
                continue
            if size < 0 or size > max_field:
                raise CopyFormatError("invalid field size")
            if end - at < size:
                break
            fields.append(data[at:at + size])
            at += size
        else:
            rows.append(fields)
            pos = at
            continue
        break  # the row is not complete yet
    return rows, pos, False


_INT16 = struct.Struct("!h")
_INT32 = struct.Struct("!i")
