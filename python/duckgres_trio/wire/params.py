"""Bind parameters: the bytes of a Bind message in, a Python value for DuckDB out.

``decode_param(data, fmt, oid)`` turns one non-NULL parameter (a NULL, length -1, never
gets here: the caller binds None) into the Python value the engine binds natively to a
DuckDB prepared-statement parameter. ``fmt`` is the Bind format code (0 text, 1 binary)
and ``oid`` the parameter type: the one the client gave in Parse, or the one the server
inferred, or 0 when neither is known.

What each type becomes (the engine must know this to bind it):

=====================  ==================================================================
bool                   bool
int2/int4/int8/oid     int (oid: unsigned 32-bit, '-1' is 4294967295 as in PostgreSQL)
float4/float8          float (float4 is rounded to single precision, as PostgreSQL stores
                       it); NaN and +-Infinity are the float specials
numeric                decimal.Decimal with PostgreSQL's display scale ('1.50' keeps two
                       digits, '1.5e3' is Decimal('1500')); NaN is Decimal('NaN'),
                       +-Infinity Decimal('Infinity') / Decimal('-Infinity'); never -0
text, varchar, bpchar, str (name is clipped to 63 bytes like PostgreSQL's namein)
name, unknown (705)
json, jsonb            str, the JSON text exactly as sent (validated as JSON; the jsonb
                       binary version byte is stripped)
bytea                  bytes
uuid                   uuid.UUID
date                   datetime.date; 'infinity' / '-infinity' as those strings; a date
                       Python cannot hold (BC, year > 9999) as a str in DuckDB's
                       spelling, e.g. '0044-03-15 (BC)' or '12345-01-01'
time                   datetime.time; '24:00:00' (valid in PostgreSQL and DuckDB, not in
                       Python) as the str '24:00:00'
timetz                 datetime.time with a fixed-offset tzinfo; text without an offset is
                       a naive time (DuckDB applies its own rule when casting)
timestamp              naive datetime.datetime; an explicit zone in the text is ignored,
                       as PostgreSQL does; infinities and out-of-range values as str
                       like date, e.g. '0044-03-15 (BC) 10:00:00'
timestamptz            aware datetime.datetime in UTC. Text *without* an offset is a
                       naive datetime: binding it as TIMESTAMP and letting DuckDB cast to
                       TIMESTAMPTZ applies the session TimeZone, which is what
                       PostgreSQL does. Infinities and out-of-range values as str in
                       DuckDB's spelling ('0044-03-15 (BC) 05:00:00+00', always UTC)
interval               Interval(months, days, microseconds) below; ``str(interval)`` is
                       a literal DuckDB's INTERVAL cast accepts
arrays                 nested lists (one level per dimension, lower bounds dropped),
                       None for NULL elements, elements as above; '{}' is []
composite types        text format: str, the record in DuckDB's STRUCT text
                       (wire/records.py); binary format (record_recv): a tuple of the
                       fields, each decoded by the OID it carries (None for NULL), which
                       the engine binds as STRUCT text; arrays of them as lists. A record
                       (2249) in binary is 0A000, as in PostgreSQL, except for a COPY
                       column (``row_type_known``)
unspecified (oid 0)    text format: str, for DuckDB to cast to the inferred type
other OIDs             text format: str; binary format: PgError 0A000 (see below)
=====================  ==================================================================

Errors are PgError with PostgreSQL's SQLSTATE and message for the same input:
22P02 'invalid input syntax for type integer: "abc"' for text, 22003 for out-of-range
numbers, 22007/22008/22009 for date/time text (PostgreSQL's codes for those), 22021 for
text that is not UTF-8 (or holds NUL), 22023 for a bad format code or bytea hex, and
22P03 'incorrect binary data format in bind parameter N' for any malformed binary value
(the detail says what was wrong). Binary arrays with more than 6 dimensions are 54000,
with the wrong element type 42804 ('wrong element type'), as in PostgreSQL.

Binary format for an OID this module does not know is refused with 0A000
(feature_not_supported) and PostgreSQL's own wording, 'no binary input function
available for type oid N': PostgreSQL itself could read many of those types, so this
is a limitation of the server, not a client error. Binary format with OID 0 is 42P18,
'could not determine data type of parameter $N'.

Nothing here trusts a length: every binary length is checked against the bytes that
remain before anything is read or allocated, array dimensions are capped at 6 and the
element count at what the remaining bytes could hold, text arrays nest at most 6
deep and binary records 64 (wire/records.py), so hostile input raises PgError and
nothing else.
"""

from __future__ import annotations

import datetime as _dt
import json as _json
import math
import re
import struct
import uuid as _uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import pyarrow as pa

from duckgres_trio.errors import PgError, SqlState
from duckgres_trio.wire import records, unbounded

__all__ = ["Interval", "decode_param", "TEXT_FORMAT", "BINARY_FORMAT"]

TEXT_FORMAT = 0
BINARY_FORMAT = 1

# OIDs (pg_type.dat). The ones wire.types has are repeated here so this module stands alone.
BOOL, BYTEA, CHAR, NAME, INT8, INT2, INT4, TEXT, OID = 16, 17, 18, 19, 20, 21, 23, 25, 26
JSON, FLOAT4, FLOAT8, UNKNOWN = 114, 700, 701, 705
BPCHAR, VARCHAR, DATE, TIME, TIMESTAMP, TIMESTAMPTZ = 1042, 1043, 1082, 1083, 1114, 1184
INTERVAL, TIMETZ, NUMERIC, UUID, JSONB = 1186, 1266, 1700, 2950, 3802

#: Array OID -> element OID.
ARRAY_ELEMENT: dict[int, int] = {
    1000: BOOL,
    1001: BYTEA,
    1003: NAME,
    1005: INT2,
    1007: INT4,
    1009: TEXT,
    1014: BPCHAR,
    1015: VARCHAR,
    1016: INT8,
    1021: FLOAT4,
    1022: FLOAT8,
    1028: OID,
    1115: TIMESTAMP,
    1182: DATE,
    1183: TIME,
    1185: TIMESTAMPTZ,
    1187: INTERVAL,
    1231: NUMERIC,
    1270: TIMETZ,
    2951: UUID,
    199: JSON,
    3807: JSONB,
}

MAXDIM = 6  # PostgreSQL's MAXDIM
_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1

_USECS_PER_SEC = 1_000_000
_USECS_PER_MINUTE = 60 * _USECS_PER_SEC
_USECS_PER_HOUR = 60 * _USECS_PER_MINUTE
_USECS_PER_DAY = 24 * _USECS_PER_HOUR

# Julian day numbers, as PostgreSQL counts them.
_POSTGRES_EPOCH_JDATE = 2451545  # 2000-01-01
_DATETIME_MIN_JULIAN = 0  # 4714-11-24 BC
_DATE_END_JULIAN = 2147483494  # 5874898-01-01
_TIMESTAMP_END_JULIAN = 109203528  # 294277-01-01
_PY_ORDINAL_OFFSET = 1721425  # julian day of date.fromordinal(1) is 1721426
_PY_MIN_JULIAN = 1 + _PY_ORDINAL_OFFSET
_PY_MAX_JULIAN = _dt.date.max.toordinal() + _PY_ORDINAL_OFFSET
_MIN_TIMESTAMP_US = (_DATETIME_MIN_JULIAN - _POSTGRES_EPOCH_JDATE) * _USECS_PER_DAY
_END_TIMESTAMP_US = (_TIMESTAMP_END_JULIAN - _POSTGRES_EPOCH_JDATE) * _USECS_PER_DAY
_MAX_TZDISP_SECONDS = 15 * 3600 + 59 * 60 + 59  # PostgreSQL's MAX_TZDISP_HOUR is 15

_UTC = _dt.UTC


@dataclass(frozen=True, slots=True)
class Interval:
    """A PostgreSQL interval: months, days and microseconds are kept apart, as in PG.

    ``str()`` gives a literal DuckDB's ``INTERVAL`` cast reads back exactly, e.g.
    ``'14 months 3 days 14706500000 microseconds'``.
    """

    months: int
    days: int
    microseconds: int

    def __str__(self) -> str:
        return f"{self.months} months {self.days} days {self.microseconds} microseconds"


# ---------------------------------------------------------------------------------------
# Errors


class _BinaryFormatError(Exception):
    """Malformed binary data; decode_param turns it into PgError 22P03."""


class _InsufficientData(_BinaryFormatError):
    """A read past the end of the value: 08P01, as PostgreSQL's pq_getmsg* functions
    report it (a value too short for its type, in Bind and in binary COPY alike)."""


def _syntax(type_name: str, text: str, code: str = SqlState.INVALID_TEXT_REPRESENTATION):
    return PgError(code, f'invalid input syntax for type {type_name}: "{text}"')


def _datetime_syntax(type_name: str, text: str) -> PgError:
    return _syntax(type_name, text, SqlState.INVALID_DATETIME_FORMAT)


def _field_overflow(text: str) -> PgError:
    return PgError(
        SqlState.DATETIME_FIELD_OVERFLOW, f'date/time field value out of range: "{text}"'
    )


# ---------------------------------------------------------------------------------------
# Entry point


#: The OIDs of the user's enum types and of their array types (engine/pg_catalog.py,
#: view enum_types: 16384 + h and 2147500032 + h for h = hash of the qualified name
#: mod 500,000,000). No other type has an OID in these ranges. An enum's text and
#: binary forms are both its label (enum_recv), so a value is bound as text and DuckDB
#: casts it where the statement gives it the enum type.
ENUM_OIDS = range(16384, 16384 + 500_000_000)
ENUM_ARRAY_OIDS = range(2147500032, 2147500032 + 500_000_000)


def enum_element(oid: int) -> int | None:
    """The enum type an enum array OID holds, else None."""
    return oid - ENUM_ARRAY_OIDS.start + ENUM_OIDS.start if oid in ENUM_ARRAY_OIDS else None


#: The OIDs of the user's composite types and of their array types (view
#: composite_types: 500016384 + h and 2647500032 + h, h as for enums). A composite
#: parameter in text form is read with record_in's rules and handed to DuckDB in its
#: STRUCT text (wire/records.py), which DuckDB casts where the statement types it; in
#: binary form (record_recv) its fields are decoded here, by the OIDs they carry.
COMPOSITE_OIDS = range(500_016_384, 500_016_384 + 500_000_000)
COMPOSITE_ARRAY_OIDS = range(2_647_500_032, 2_647_500_032 + 500_000_000)
RECORD_OID, RECORD_ARRAY_OID = 2249, 2287


def _composite_elements(value: object) -> object:
    if isinstance(value, list):
        return [_composite_elements(item) for item in value]
    return None if value is None else records.to_duckdb(value)


def decode_param(data: bytes, fmt: int, oid: int, *, index: int | None = None,
                 row_type_known: bool = False) -> object:
    """The Python value of one Bind parameter (see the module docstring for the table).

    ``index`` (1-based) only goes into error messages, like PostgreSQL's 'incorrect
    binary data format in bind parameter 1'. ``row_type_known``: a binary record (2249)
    or record[] (2287) is a column's whose STRUCT type the caller knows (COPY FROM),
    not an anonymous record parameter, which PostgreSQL cannot read either.
    """
    data = bytes(data)
    if fmt == TEXT_FORMAT:
        text = _utf8(data)
        decoder = _TEXT_DECODERS.get(oid)
        if decoder is not None:
            return decoder(text)
        element = ARRAY_ELEMENT.get(oid)
        if element is not None:
            return _text_array(text, element)
        if oid in ENUM_ARRAY_OIDS:
            return _text_array(text, TEXT)
        if oid in COMPOSITE_OIDS or oid == RECORD_OID:  # record: a STRUCT column's COPY
            return records.to_duckdb(text)
        if oid in COMPOSITE_ARRAY_OIDS or oid == RECORD_ARRAY_OID:
            return _composite_elements(_text_array(text, TEXT))
        return text  # oid 0, unknown and types we do not know: DuckDB casts the string
    if fmt == BINARY_FORMAT:
        where = f" in bind parameter {index}" if index is not None else ""
        if oid == 0:
            raise PgError(
                SqlState.INDETERMINATE_DATATYPE,
                f"could not determine data type of parameter ${index or '?'}",
            )
        if oid in (RECORD_OID, RECORD_ARRAY_OID) and not row_type_known:
            raise PgError(SqlState.FEATURE_NOT_SUPPORTED,
                          "input of anonymous composite types is not implemented")
        decode = _binary_decoder(oid, 0)
        if decode is None:
            raise PgError(
                SqlState.FEATURE_NOT_SUPPORTED,
                f"no binary input function available for type oid {oid}",
            )
        reader = _Reader(data)
        try:
            value = decode(reader)
            if reader.remaining:
                raise _BinaryFormatError(f"{reader.remaining} bytes left over")
        except records.LeftOver as exc:  # a record that did not use all its bytes
            raise PgError(
                SqlState.INVALID_BINARY_REPRESENTATION,
                f"incorrect binary data format{where}",
                detail=str(exc),
            ) from None
        except _InsufficientData:
            raise PgError(SqlState.PROTOCOL_VIOLATION, "insufficient data left in message") from None
        except _BinaryFormatError as exc:
            raise PgError(
                SqlState.INVALID_BINARY_REPRESENTATION,
                f"incorrect binary data format{where}",
                detail=str(exc),
            ) from None
        return value
    raise PgError(SqlState.INVALID_PARAMETER_VALUE, f"unsupported format code: {fmt}")


def _utf8(data: bytes) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = " ".join(f"0x{b:02x}" for b in data[exc.start : min(exc.end + 1, exc.start + 4)])
        raise PgError(
            SqlState.CHARACTER_NOT_IN_REPERTOIRE, f'invalid byte sequence for encoding "UTF8": {bad}'
        ) from None
    if "\x00" in text:
        raise PgError(
            SqlState.CHARACTER_NOT_IN_REPERTOIRE, 'invalid byte sequence for encoding "UTF8": 0x00'
        )
    return text


# ---------------------------------------------------------------------------------------
# Text format: scalars

_WS = " \t\n\r\f\v"  # C isspace
_INT_RE = re.compile(r"[ \t\n\r\f\v]*([+-]?)([0-9]+)[ \t\n\r\f\v]*", re.ASCII)


def _text_int(type_name: str, low: int, high: int) -> Callable[[str], int]:
    def decode(text: str) -> int:
        m = _INT_RE.fullmatch(text)
        if m is None:
            raise _syntax(type_name, text)
        digits = m.group(2).lstrip("0") or "0"
        value = int(digits) if len(digits) <= 30 else high + 1
        if m.group(1) == "-":
            value = -value
        if not low <= value <= high:
            raise PgError(
                SqlState.NUMERIC_VALUE_OUT_OF_RANGE,
                f'value "{text}" is out of range for type {type_name}',
            )
        return value

    return decode


_text_int2 = _text_int("smallint", -(2**15), 2**15 - 1)
_text_int4 = _text_int("integer", _INT32_MIN, _INT32_MAX)
_text_int8 = _text_int("bigint", _INT64_MIN, _INT64_MAX)
_text_oid_signed = _text_int("oid", _INT32_MIN, 2**32 - 1)


def _text_oid(text: str) -> int:
    return _text_oid_signed(text) % 2**32


def _text_bool(text: str) -> bool:
    s = text.strip(_WS).lower()
    if s:
        if s in ("1", "0"):
            return s == "1"
        for word, value, minimum in (
            ("true", True, 1),
            ("false", False, 1),
            ("yes", True, 1),
            ("no", False, 1),
            ("on", True, 2),
            ("off", False, 2),
        ):
            if len(s) >= minimum and word.startswith(s):
                return value
    raise _syntax("boolean", text)


_FLOAT_RE = re.compile(r"([+-]?)((?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)", re.ASCII)
_FLOAT_SPECIAL = {
    "nan": math.nan,
    "infinity": math.inf,
    "+infinity": math.inf,
    "-infinity": -math.inf,
    "inf": math.inf,
    "+inf": math.inf,
    "-inf": -math.inf,
}


def _text_float(type_name: str, single: bool) -> Callable[[str], float]:
    def decode(text: str) -> float:
        s = text.strip(_WS)
        special = _FLOAT_SPECIAL.get(s.lower())
        if special is not None:
            return special
        m = _FLOAT_RE.fullmatch(s)
        if m is None:
            raise _syntax(type_name, text)
        value = float(s)
        nonzero = any(c in "123456789" for c in m.group(2).split("e")[0].split("E")[0])
        if single and math.isfinite(value):
            try:
                value = struct.unpack(">f", struct.pack(">f", value))[0]
            except OverflowError:
                value = math.inf
        if math.isinf(value) or (value == 0.0 and nonzero):
            raise PgError(
                SqlState.NUMERIC_VALUE_OUT_OF_RANGE,
                f'"{text}" is out of range for type {type_name}',
            )
        return value

    return decode


_text_float4 = _text_float("real", True)
_text_float8 = _text_float("double precision", False)

_NUMERIC_RE = re.compile(r"([+-]?)([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?", re.ASCII)
_NUMERIC_SPECIAL = {
    "nan": Decimal("NaN"),
    "infinity": Decimal("Infinity"),
    "+infinity": Decimal("Infinity"),
    "-infinity": Decimal("-Infinity"),
    "inf": Decimal("Infinity"),
    "+inf": Decimal("Infinity"),
    "-inf": Decimal("-Infinity"),
}
_NUMERIC_MAX_DIGITS = 131072  # digits before the decimal point numeric can hold
_NUMERIC_DSCALE_MAX = 0x3FFF


def _text_numeric(text: str) -> Decimal:
    s = text.strip(_WS)
    special = _NUMERIC_SPECIAL.get(s.lower())
    if special is not None:
        return special
    m = _NUMERIC_RE.fullmatch(s)
    if m is None:
        raise _syntax("numeric", text)
    sign, whole, frac, exp = m.group(1), m.group(2), m.group(3) or "", m.group(4)
    if not whole and not frac:
        raise _syntax("numeric", text)
    overflow = PgError(SqlState.NUMERIC_VALUE_OUT_OF_RANGE, "value overflows numeric format")
    exponent = 0
    if exp is not None:
        if len(exp.lstrip("+-").lstrip("0")) > 9:
            raise overflow
        exponent = int(exp)
    digits = (whole + frac).lstrip("0") or "0"
    dscale = max(0, len(frac) - exponent)
    shift = exponent - len(frac)  # value = int(digits) * 10**shift
    if dscale > _NUMERIC_DSCALE_MAX or (digits != "0" and len(digits) + shift > _NUMERIC_MAX_DIGITS):
        raise overflow  # checked before the padding below allocates anything
    if shift > 0:
        digits += "0" * shift
        shift = 0
    negative = sign == "-" and digits.strip("0") != ""
    return Decimal((int(negative), tuple(int(c) for c in digits), shift))


def _text_str(text: str) -> str:
    return text


def _text_name(text: str) -> str:
    raw = text.encode()
    if len(raw) <= 63:
        return text
    return raw[:63].decode("utf-8", errors="ignore")  # clipped at a character boundary


def _check_json(text: str) -> str:
    def reject(constant: str) -> object:
        raise ValueError(f"Token {constant!r} is invalid")

    try:
        _json.loads(text, parse_constant=reject)
    except (ValueError, RecursionError) as exc:
        raise PgError(
            SqlState.INVALID_TEXT_REPRESENTATION,
            "invalid input syntax for type json",
            detail=str(exc)[:200],
        ) from None
    return text


_HEX = "0123456789abcdefABCDEF"


def _text_bytea(text: str) -> bytes:
    if text.startswith("\\x"):
        out = bytearray()
        s = text[2:]
        i, n = 0, len(s)
        while i < n:
            c = s[i]
            if c in " \n\t\r":
                i += 1
                continue
            if c not in _HEX:
                raise PgError(SqlState.INVALID_PARAMETER_VALUE, f'invalid hexadecimal digit: "{c}"')
            if i + 1 >= n:
                raise PgError(
                    SqlState.INVALID_PARAMETER_VALUE,
                    "invalid hexadecimal data: odd number of digits",
                )
            d = s[i + 1]
            if d not in _HEX:
                raise PgError(SqlState.INVALID_PARAMETER_VALUE, f'invalid hexadecimal digit: "{d}"')
            out.append(int(c + d, 16))
            i += 2
        return bytes(out)
    raw = text.encode()
    if b"\\" not in raw:
        return raw
    out = bytearray()
    i, n = 0, len(raw)
    while i < n:
        b = raw[i]
        if b != 0x5C:
            out.append(b)
            i += 1
        elif i + 1 < n and raw[i + 1] == 0x5C:
            out.append(0x5C)
            i += 2
        elif (
            i + 3 < n
            and 0x30 <= raw[i + 1] <= 0x33
            and 0x30 <= raw[i + 2] <= 0x37
            and 0x30 <= raw[i + 3] <= 0x37
        ):
            out.append(int(raw[i + 1 : i + 4], 8))
            i += 4
        else:
            raise PgError(SqlState.INVALID_TEXT_REPRESENTATION, "invalid input syntax for type bytea")
    return bytes(out)


_UUID_HEX = frozenset("0123456789abcdefABCDEF")


def _text_uuid(text: str) -> _uuid.UUID:
    s = text
    i = 0
    braces = s.startswith("{")
    if braces:
        i = 1
    digits = []
    for byte in range(16):
        if i + 2 > len(s) or s[i] not in _UUID_HEX or s[i + 1] not in _UUID_HEX:
            raise _syntax("uuid", text)
        digits.append(s[i : i + 2])
        i += 2
        if byte % 2 == 1 and byte < 15 and i < len(s) and s[i] == "-":
            i += 1
    if braces:
        if i >= len(s) or s[i] != "}":
            raise _syntax("uuid", text)
        i += 1
    if i != len(s):
        raise _syntax("uuid", text)
    return _uuid.UUID(hex="".join(digits))


# ---------------------------------------------------------------------------------------
# Calendar helpers (PostgreSQL's date2j / j2date, proleptic Gregorian, year 0 = 1 BC)


def _date2j(year: int, month: int, day: int) -> int:
    if month > 2:
        month += 1
        year += 4800
    else:
        month += 13
        year += 4799
    century = year // 100
    julian = year * 365 - 32167
    julian += year // 4 - century + century // 4
    julian += 7834 * month // 256 + day
    return julian


def _j2date(jd: int) -> tuple[int, int, int]:
    julian = jd + 32044
    quad = julian // 146097
    extra = (julian - quad * 146097) * 4 + 3
    julian += 60 + quad * 3 + extra // 146097
    quad = julian // 1461
    julian -= quad * 1461
    y = julian * 4 // 1461
    julian = ((julian + 305) % 365) if y != 0 else ((julian + 306) % 366)
    julian += 123
    y += quad * 4
    year = y - 4800
    quad = julian * 2141 // 65536
    day = julian - 7834 * quad // 256
    month = (quad + 10) % 12 + 1
    return year, month, day


def _days_in_month(year: int, month: int) -> int:
    if month == 2:
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        return 29 if leap else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _duck_date(jd: int) -> str:
    """DuckDB's spelling of a date (it reads '(BC)' but silently ignores PG's ' BC')."""
    year, month, day = _j2date(jd)
    if year <= 0:
        return f"{1 - year:04d}-{month:02d}-{day:02d} (BC)"
    return f"{year:04d}-{month:02d}-{day:02d}"


def _duck_time(us: int) -> str:
    seconds, micro = divmod(us, _USECS_PER_SEC)
    minutes, sec = divmod(seconds, 60)
    hours, minute = divmod(minutes, 60)
    out = f"{hours:02d}:{minute:02d}:{sec:02d}"
    return f"{out}.{micro:06d}" if micro else out


def _date_value(jd: int) -> _dt.date | str:
    if _PY_MIN_JULIAN <= jd <= _PY_MAX_JULIAN:
        return _dt.date.fromordinal(jd - _PY_ORDINAL_OFFSET)
    return _duck_date(jd)


def _timestamp_value(us: int, utc: bool) -> _dt.datetime | str:
    """A timestamp given as microseconds since 2000-01-01 (UTC when ``utc``)."""
    jd_offset, time_us = divmod(us, _USECS_PER_DAY)
    jd = _POSTGRES_EPOCH_JDATE + jd_offset
    if _PY_MIN_JULIAN <= jd <= _PY_MAX_JULIAN:
        day = _dt.date.fromordinal(jd - _PY_ORDINAL_OFFSET)
        value = _dt.datetime.combine(day, _dt.time(), _UTC if utc else None)
        return value + _dt.timedelta(microseconds=time_us)
    text = f"{_duck_date(jd)} {_duck_time(time_us)}"
    return text + "+00" if utc else text


def _time_value(us: int, tzinfo: _dt.tzinfo | None = None) -> _dt.time | str:
    if us == _USECS_PER_DAY:
        if tzinfo is None:
            return "24:00:00"
        offset = int(tzinfo.utcoffset(None).total_seconds())
        return "24:00:00" + _format_offset(offset)
    seconds, micro = divmod(us, _USECS_PER_SEC)
    minutes, sec = divmod(seconds, 60)
    hours, minute = divmod(minutes, 60)
    return _dt.time(hours, minute, sec, micro, tzinfo=tzinfo)


def _format_offset(seconds: int) -> str:
    sign = "-" if seconds < 0 else "+"
    h, rest = divmod(abs(seconds), 3600)
    m, s = divmod(rest, 60)
    out = f"{sign}{h:02d}"
    if m or s:
        out += f":{m:02d}"
    if s:
        out += f":{s:02d}"
    return out


# ---------------------------------------------------------------------------------------
# Text format: date/time

_DATE_PART = r"(?P<y>[0-9]{1,9})-(?P<mo>[0-9]{1,2})-(?P<d>[0-9]{1,2})"
_TIME_PART = r"(?P<h>[0-9]{1,2}):(?P<mi>[0-9]{2})(?::(?P<s>[0-9]{2})(?:\.(?P<f>[0-9]*))?)?"
_ZONE_PART = (
    r"(?P<tz>[zZ]|[+-][0-9]{1,2}(?::?[0-9]{2}(?::?[0-9]{2})?)?"
    r"|[A-Za-z][A-Za-z0-9_/+-]{0,63})"
)
_ERA = r"(?:\s*(?P<era{n}>[bB][cC]|[aA][dD]))?"
_DATETIME_RE = re.compile(
    rf"\s*{_DATE_PART}(?:(?:\s+|[tT]){_TIME_PART})?{_ERA.format(n=1)}"
    rf"(?:\s*{_ZONE_PART})?{_ERA.format(n=2)}\s*",
    re.ASCII,
)
_TIME_RE = re.compile(
    rf"\s*(?:{_DATE_PART}(?:\s+|[tT]))?{_TIME_PART}(?:\s*{_ZONE_PART})?\s*", re.ASCII
)
_INFINITIES = {"infinity": "infinity", "+infinity": "infinity", "-infinity": "-infinity"}


def _fraction_us(frac: str | None) -> int:
    if not frac:
        return 0
    return round(float("0." + frac[:30]) * 1_000_000)  # rint, as ParseFractionalSecond


def _time_of_day_us(m: re.Match[str], text: str) -> int:
    """Microseconds since midnight of a matched time; 24:00:00 and hh:mm:60 allowed."""
    if m.group("h") is None:
        return 0
    hour, minute = int(m.group("h")), int(m.group("mi"))
    sec = int(m.group("s") or 0)
    fsec = _fraction_us(m.group("f"))
    if minute > 59 or sec > 60 or hour > 24:
        raise _field_overflow(text)
    if hour == 24 and (minute or sec or fsec):
        raise _field_overflow(text)
    return ((hour * 60 + minute) * 60 + sec) * _USECS_PER_SEC + fsec


def _zone(tz: str | None, text: str, type_name: str) -> tuple[int | None, _dt.tzinfo | None]:
    """(fixed offset seconds east, or None; tzinfo) of a zone spelled in the input."""
    if tz is None:
        return None, None
    if tz[0] in "+-":
        digits = tz[1:].replace(":", "")
        if ":" in tz[1:]:
            parts = tz[1:].split(":")
        elif len(digits) <= 2:
            parts = [digits]
        elif len(digits) in (3, 4):
            parts = [digits[:-2], digits[-2:]]
        elif len(digits) in (5, 6):
            parts = [digits[:-4], digits[-4:-2], digits[-2:]]
        else:
            raise _datetime_syntax(type_name, text)
        hours = int(parts[0])
        minutes = int(parts[1]) if len(parts) > 1 else 0
        seconds = int(parts[2]) if len(parts) > 2 else 0
        if hours > 15 or minutes > 59 or seconds > 59:
            raise PgError(
                SqlState.INVALID_TIME_ZONE_DISPLACEMENT_VALUE,
                f'time zone displacement out of range: "{text}"',
            )
        offset = hours * 3600 + minutes * 60 + seconds
        if tz[0] == "-":
            offset = -offset
        return offset, _dt.timezone(_dt.timedelta(seconds=offset))
    upper = tz.upper()
    if upper in ("Z", "UTC", "GMT", "UT", "ZULU"):
        return 0, _UTC
    try:
        from zoneinfo import ZoneInfo

        return None, ZoneInfo(tz)
    except Exception:  # noqa: BLE001 - any failure means "not a zone we know"
        raise PgError(
            SqlState.INVALID_PARAMETER_VALUE, f'time zone "{tz}" not recognized'
        ) from None


def _parse_datetime(text: str, type_name: str):
    """(julian day, microseconds of day, tz text or None) of a date[/time] string,
    or the 'infinity' / '-infinity' / 'epoch' word."""
    special = text.strip(_WS).lower()
    if special in _INFINITIES:
        return _INFINITIES[special]
    if special == "epoch":
        return (_date2j(1970, 1, 1), 0, None)
    m = _DATETIME_RE.fullmatch(text)
    if m is None:
        raise _datetime_syntax(type_name, text)
    era1, era2 = m.group("era1"), m.group("era2")
    if era1 and era2:
        raise _datetime_syntax(type_name, text)
    era = (era1 or era2 or "ad").lower()
    year, month, day = int(m.group("y")), int(m.group("mo")), int(m.group("d"))
    if len(m.group("y")) < 3:
        raise _datetime_syntax(type_name, text)  # PG would guess the century; refuse
    if year == 0:
        raise _field_overflow(text)
    if era == "bc":
        year = 1 - year
    if not 1 <= month <= 12 or not 1 <= day <= _days_in_month(year, month):
        raise _field_overflow(text)
    time_us = _time_of_day_us(m, text)
    return (_date2j(year, month, day), time_us, m.group("tz"))


def _text_date(text: str) -> _dt.date | str:
    parsed = _parse_datetime(text, "date")
    if isinstance(parsed, str):
        return parsed
    jd, _time_us, _tz = parsed
    if not _DATETIME_MIN_JULIAN <= jd < _DATE_END_JULIAN:
        raise PgError(SqlState.DATETIME_FIELD_OVERFLOW, f'date out of range: "{text}"')
    return _date_value(jd)


def _timestamp_us(jd: int, time_us: int) -> int:
    return (jd - _POSTGRES_EPOCH_JDATE) * _USECS_PER_DAY + time_us


def _check_timestamp_range(us: int, text: str) -> None:
    if not _MIN_TIMESTAMP_US <= us < _END_TIMESTAMP_US:
        raise PgError(SqlState.DATETIME_FIELD_OVERFLOW, f'timestamp out of range: "{text}"')


def _text_timestamp(text: str) -> _dt.datetime | str:
    parsed = _parse_datetime(text, "timestamp")
    if isinstance(parsed, str):
        return parsed
    jd, time_us, _tz = parsed  # PostgreSQL ignores a zone given for timestamp
    us = _timestamp_us(jd, time_us)
    _check_timestamp_range(us, text)
    return _timestamp_value(us, utc=False)


def _text_timestamptz(text: str) -> _dt.datetime | str:
    type_name = "timestamp with time zone"
    parsed = _parse_datetime(text, type_name)
    if isinstance(parsed, str):
        return parsed
    jd, time_us, tz = parsed
    offset, tzinfo = _zone(tz, text, type_name)
    local_us = _timestamp_us(jd, time_us)
    if tzinfo is None:
        _check_timestamp_range(local_us, text)
        return _timestamp_value(local_us, utc=False)  # naive: DuckDB applies TimeZone
    if offset is None:  # a named zone: let Python resolve it where it can
        local = _timestamp_value(local_us, utc=False)
        if isinstance(local, str):
            return f"{local} {tz}"
        try:
            return local.replace(tzinfo=tzinfo).astimezone(_UTC)
        except (OverflowError, ValueError):
            return f"{local} {tz}"
    else:
        us = local_us - offset * _USECS_PER_SEC
    _check_timestamp_range(us, text)
    return _timestamp_value(us, utc=True)


def _parse_time(text: str, type_name: str) -> tuple[int, str | None]:
    m = _TIME_RE.fullmatch(text)
    if m is None:
        raise _datetime_syntax(type_name, text)
    us = _time_of_day_us(m, text)
    if us > _USECS_PER_DAY:
        raise _field_overflow(text)
    return us, m.group("tz")


def _text_time(text: str) -> _dt.time | str:
    us, _tz = _parse_time(text, "time without time zone")
    return _time_value(us)


def _text_timetz(text: str) -> _dt.time | str:
    type_name = "time with time zone"
    us, tz = _parse_time(text, type_name)
    offset, tzinfo = _zone(tz, text, type_name)
    if tzinfo is not None and offset is None:
        # A named zone has no offset without a date; PostgreSQL uses today's. We use the
        # offset the zone has now, which is what that amounts to.
        now = _dt.datetime.now(tzinfo).utcoffset()
        offset = int(now.total_seconds()) if now is not None else 0
        tzinfo = _dt.timezone(_dt.timedelta(seconds=offset))
    return _time_value(us, tzinfo)


# ---------------------------------------------------------------------------------------
# Text format: interval

_INTERVAL_UNITS: dict[str, str] = {}
for _unit, _names in {
    "us": "microsecond microseconds microsecon us usec usecs useconds",
    "ms": "millisecond milliseconds millisecon ms msec msecs mseconds",
    "s": "s sec secs second seconds",
    "min": "m min mins minute minutes",
    "h": "h hr hrs hour hours",
    "d": "d day days",
    "w": "w week weeks",
    "mon": "mon mons month months",
    "y": "y yr yrs year years",
    "dec": "dec decs decade decades",
    "c": "c cent century centuries",
    "mil": "mil mils millennium millennia",
}.items():
    for _name in _names.split():
        _INTERVAL_UNITS[_name] = _unit

_INTERVAL_TOKEN = re.compile(
    r"\s*(?:(?P<time>[+-]?[0-9]+:[0-9]+(?::[0-9]+(?:\.[0-9]*)?)?)"
    r"|(?P<num>[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+))\s*(?P<unit>[a-z]+)?"
    r"|(?P<ago>ago))",
    re.ASCII,
)
_ISO_INTERVAL = re.compile(
    r"p(?P<date>(?:[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)[ymwd])*)"
    r"(?:t(?P<time>(?:[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)[hms])+))?",
    re.ASCII,
)
_ISO_FIELD = re.compile(r"([+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+))([ymwdhs])", re.ASCII)


def _interval_overflow(text: str) -> PgError:
    return PgError(
        SqlState.INTERVAL_FIELD_OVERFLOW, f'interval field value out of range: "{text}"'
    )


class _IntervalBuilder:
    """PostgreSQL 15's DecodeInterval arithmetic (fractions cascade down)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.months = 0
        self.days = 0
        self.us = 0

    @staticmethod
    def split(number: str) -> tuple[int, float]:
        """(integer part, fractional part carrying the same sign) of '-1.5'."""
        negative = number.startswith("-")
        body = number.lstrip("+-")
        whole, _, frac = body.partition(".")
        if len(whole.lstrip("0")) > 25:
            raise OverflowError
        val = int(whole or "0")
        fval = float("0." + frac[:30]) if frac else 0.0
        return (-val, -fval) if negative else (val, fval)

    def fract_us(self, frac: float, scale: int) -> None:
        self.us += round(frac * scale)

    def fract_days(self, frac: float, scale: int) -> None:
        extra = frac * scale
        whole = int(extra)
        self.days += whole
        self.fract_us(extra - whole, _USECS_PER_DAY)

    def add(self, number: str, unit: str) -> None:
        val, fval = self.split(number)
        if unit in ("us", "ms", "s", "min", "h"):
            scale = {
                "us": 1,
                "ms": 1000,
                "s": _USECS_PER_SEC,
                "min": _USECS_PER_MINUTE,
                "h": _USECS_PER_HOUR,
            }[unit]
            self.us += val * scale
            self.fract_us(fval, scale)
        elif unit == "d":
            self.days += val
            self.fract_us(fval, _USECS_PER_DAY)
        elif unit == "w":
            self.days += val * 7
            self.fract_days(fval, 7)
        elif unit == "mon":
            self.months += val
            self.fract_days(fval, 30)
        else:
            years = {"y": 1, "dec": 10, "c": 100, "mil": 1000}[unit]
            self.months += val * years * 12
            self.months += round(fval * years * 12)

    def add_time(self, token: str) -> None:
        negative = token.startswith("-")
        parts = token.lstrip("+-").split(":")
        hours = int(parts[0]) if len(parts[0]) <= 12 else _INT64_MAX
        minutes = int(parts[1])
        secs_text = parts[2] if len(parts) > 2 else "0"
        whole, _, frac = secs_text.partition(".")
        secs = int(whole)
        if minutes > 59 or secs > 60:
            raise _interval_overflow(self.text)
        us = ((hours * 60 + minutes) * 60 + secs) * _USECS_PER_SEC + _fraction_us(frac)
        self.us += -us if negative else us

    def result(self) -> Interval:
        if not (
            _INT32_MIN <= self.months <= _INT32_MAX
            and _INT32_MIN <= self.days <= _INT32_MAX
            and _INT64_MIN <= self.us <= _INT64_MAX
        ):
            raise _interval_overflow(self.text)
        return Interval(self.months, self.days, self.us)


def parse_interval_text(text: str) -> Interval:
    """interval_in: PostgreSQL's interval text (its output in every IntervalStyle but
    sql_standard, and the other forms it reads); PgError where PostgreSQL refuses it."""
    return _text_interval(text)


def _text_interval(text: str) -> Interval:
    s = text.strip(_WS).lower()
    builder = _IntervalBuilder(text)
    try:
        iso = _ISO_INTERVAL.fullmatch(s)
        if iso is not None and (iso.group("date") or iso.group("time")):
            for number, designator in _ISO_FIELD.findall(iso.group("date")):
                builder.add(number, {"y": "y", "m": "mon", "w": "w", "d": "d"}[designator])
            for number, designator in _ISO_FIELD.findall(iso.group("time") or ""):
                builder.add(number, {"h": "h", "m": "min", "s": "s"}[designator])
            return builder.result()
        if s.startswith("@"):
            s = s[1:]
        pos, ago, seen = 0, False, False
        while pos < len(s):
            m = _INTERVAL_TOKEN.match(s, pos)
            if m is None or m.end() == pos:
                if s[pos:].strip(_WS) == "":
                    break
                raise _datetime_syntax("interval", text)
            pos = m.end()
            if m.group("ago"):
                if ago or not seen:
                    raise _datetime_syntax("interval", text)
                ago = True
                continue
            if ago:
                raise _datetime_syntax("interval", text)
            seen = True
            if m.group("time"):
                builder.add_time(m.group("time"))
                continue
            unit_name = m.group("unit")
            unit = "s" if unit_name is None else _INTERVAL_UNITS.get(unit_name)
            if unit is None or (unit_name is None and s[pos:].strip(_WS)):
                raise _datetime_syntax("interval", text)  # a bare number only comes last
            builder.add(m.group("num"), unit)
        if not seen:
            raise _datetime_syntax("interval", text)
        if ago:
            builder.months, builder.days, builder.us = -builder.months, -builder.days, -builder.us
        return builder.result()
    except (OverflowError, ValueError):
        raise _interval_overflow(text) from None


# ---------------------------------------------------------------------------------------
# Text format: arrays


_ARRAY_DIM = re.compile(r"\[\s*([+-]?[0-9]+)\s*(?::\s*([+-]?[0-9]+)\s*)?\]", re.ASCII)


class _ArrayParser:
    """PostgreSQL's array_in grammar, producing nested lists of element strings."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.lower: list[int] = []  # the explicit lower bounds ('[0:1]={..}'), if any

    def error(self, detail: str) -> PgError:
        return PgError(
            SqlState.INVALID_TEXT_REPRESENTATION,
            f'malformed array literal: "{self.text}"',
            detail=detail,
        )

    def skip_ws(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in _WS:
            self.pos += 1

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def parse(self) -> tuple[list, list[int] | None]:
        self.skip_ws()
        dims = None
        if self.peek() == "[":
            dims = []
            while self.peek() == "[":
                if len(dims) >= MAXDIM:
                    raise _too_many_dims(len(dims) + 1)
                found = _ARRAY_DIM.match(self.text, self.pos)
                if found is None:
                    raise self.error('Missing "]" after array dimensions.')
                lower, upper = found.group(1), found.group(2)
                if upper is None:
                    lower, upper = "1", lower
                if len(lower) > 12 or len(upper) > 12:
                    raise self.error("Array dimension out of range.")
                lb, ub = int(lower), int(upper)
                if ub < lb:
                    raise PgError(
                        SqlState.ARRAY_SUBSCRIPT_ERROR,
                        "upper bound cannot be less than lower bound",
                    )
                dims.append(ub - lb + 1)
                self.lower.append(lb)
                self.pos = found.end()
                self.skip_ws()
            if self.peek() != "=":
                raise self.error('Missing "=" after array dimensions.')
            self.pos += 1
            self.skip_ws()
        if self.peek() != "{":
            raise self.error('Array value must start with "{" or dimension information.')
        value = self.level(1)
        self.skip_ws()
        if self.pos != len(self.text):
            raise self.error("Junk after closing right brace.")
        return value, dims

    def level(self, depth: int) -> list:
        if depth > MAXDIM:
            raise _too_many_dims(depth)
        self.pos += 1  # "{"
        items: list = []
        kinds = set()
        self.skip_ws()
        if self.peek() == "}":
            self.pos += 1
            return items
        while True:
            self.skip_ws()
            c = self.peek()
            if c == "{":
                if "scalar" in kinds:  # PostgreSQL 15's array_in checks this first
                    raise self.error('Unexpected "{" character.')
                items.append(self.level(depth + 1))
                kinds.add("list")
            elif c == "":
                raise self.error("Unexpected end of input.")
            elif c in ("}", ","):
                raise self.error(f'Unexpected "{c}" character.')
            else:
                items.append(self.element())
                kinds.add("scalar")
            if len(kinds) > 1:
                raise self.error("Unexpected array element.")
            self.skip_ws()
            c = self.peek()
            self.pos += 1
            if c == "}":
                break
            if c == "":
                raise self.error("Unexpected end of input.")
            if c != ",":
                raise self.error(f'Unexpected "{c or "end of input"}" character.')
        if kinds == {"list"}:
            shape = _shape(items[0])
            for sub in items[1:]:
                if _shape(sub) != shape:
                    raise self.error(
                        "Multidimensional arrays must have sub-arrays with matching dimensions."
                    )
        return items

    def element(self) -> str | None:
        text, n = self.text, len(self.text)
        out: list[str] = []
        if text[self.pos] == '"':
            self.pos += 1
            while True:
                if self.pos >= n:
                    raise self.error("Unexpected end of input.")
                c = text[self.pos]
                if c == "\\":
                    if self.pos + 1 >= n:
                        raise self.error("Unexpected end of input.")
                    out.append(text[self.pos + 1])
                    self.pos += 2
                elif c == '"':
                    self.pos += 1
                    return "".join(out)
                else:
                    out.append(c)
                    self.pos += 1
        escaped = False
        keep = 0  # length of out that trailing-whitespace trimming must not cut
        while self.pos < n:
            c = text[self.pos]
            if c in ",}":
                break
            if c in '{"':
                raise self.error(f'Unexpected "{c}" character.')
            if c == "\\":
                if self.pos + 1 >= n:
                    raise self.error("Unexpected end of input.")
                out.append(text[self.pos + 1])
                keep = len(out)
                escaped = True
                self.pos += 2
                continue
            out.append(c)
            if c not in _WS:
                keep = len(out)
            self.pos += 1
        value = "".join(out[:keep])
        if not escaped and value.upper() == "NULL":
            return None
        return value


def _shape(value: object) -> tuple:
    if isinstance(value, list) and value and isinstance(value[0], list):
        return (len(value), *_shape(value[0]))
    if isinstance(value, list):
        return (len(value),)
    return ()


def _too_many_dims(ndim: int) -> PgError:
    return PgError(
        SqlState.PROGRAM_LIMIT_EXCEEDED,
        f"number of array dimensions ({ndim}) exceeds the maximum allowed ({MAXDIM})",
    )


def array_literal(text: str) -> tuple[list, list[int]]:
    """PostgreSQL's text form of an array read as array_in reads it: nested lists of
    element strings (None for NULL) and the explicit lower bounds ([] without any).
    Malformed text raises PostgreSQL's PgError (22P02 'malformed array literal')."""
    parser = _ArrayParser(text)
    nested, dims = parser.parse()
    shape = _shape(nested) if nested else ()
    if dims is not None:
        if not nested:
            if any(d != 0 for d in dims):
                raise parser.error("Specified array dimensions do not match array contents.")
        elif list(shape) != dims:
            raise parser.error("Specified array dimensions do not match array contents.")
    if not nested or 0 in shape:
        return [], parser.lower
    return nested, parser.lower


def _text_array(text: str, element_oid: int) -> list:
    nested, _ = array_literal(text)
    if not nested:
        return []
    decode = _TEXT_DECODERS.get(element_oid, _text_str)

    def convert(value):
        if isinstance(value, list):
            return [convert(v) for v in value]
        return None if value is None else decode(value)

    return convert(nested)


# ---------------------------------------------------------------------------------------
# Binary format


class _Reader:
    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    @property
    def remaining(self) -> int:
        return len(self.data) - self.pos

    def take(self, n: int) -> bytes:
        if n < 0 or n > self.remaining:
            raise _InsufficientData("insufficient data left in message")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def rest(self) -> bytes:
        return self.take(self.remaining)

    def unpack(self, fmt: struct.Struct) -> tuple:
        return fmt.unpack(self.take(fmt.size))


_I16, _U16, _I32, _U32, _I64 = (struct.Struct(f) for f in (">h", ">H", ">i", ">I", ">q"))
_F32, _F64 = struct.Struct(">f"), struct.Struct(">d")
_II = struct.Struct(">ii")


def _bin_bool(r: _Reader) -> bool:
    return r.take(1)[0] != 0


def _bin_str(r: _Reader) -> str:
    return _utf8(r.rest())  # an encoding problem is 22021, as PostgreSQL reports it


def _bin_name(r: _Reader) -> str:
    return _text_name(_bin_str(r))


def _bin_json(r: _Reader) -> str:
    return _check_json(_bin_str(r))


def _bin_jsonb(r: _Reader) -> str:
    version = r.take(1)[0]
    if version != 1:  # jsonb_recv's elog: XX000, not a binary format error
        raise PgError(SqlState.INTERNAL_ERROR, f"unsupported jsonb version number {version}")
    return _bin_json(r)


def _bin_numeric(r: _Reader) -> Decimal:
    ndigits, weight, sign, dscale = r.unpack(struct.Struct(">HhHH"))
    if sign not in (0x0000, 0x4000, 0xC000, 0xD000, 0xF000):
        raise _BinaryFormatError('invalid sign in external "numeric" value')
    if dscale > _NUMERIC_DSCALE_MAX:
        raise _BinaryFormatError('invalid scale in external "numeric" value')
    # PostgreSQL checks each digit as it reads it, and may run out of data first.
    present = min(ndigits, r.remaining // 2)
    digits = struct.unpack(f">{present}h", r.take(2 * present))
    if any(d < 0 or d >= 10000 for d in digits):
        raise _BinaryFormatError('invalid digit in external "numeric" value')
    if present < ndigits:
        raise _InsufficientData("insufficient data left in message")
    if sign == 0xC000:
        return Decimal("NaN")
    if sign == 0xD000:
        return Decimal("Infinity")
    if sign == 0xF000:
        return Decimal("-Infinity")
    text = "".join(f"{d:04d}" for d in digits) or "0"
    exponent = 4 * (weight - ndigits + 1)  # value = int(text) * 10**exponent
    if exponent >= -dscale:
        text += "0" * (exponent + dscale)
    else:
        cut = -dscale - exponent  # digits beyond dscale: truncated, as numeric_recv does
        text = text[:-cut] if cut < len(text) else "0"
    text = text.lstrip("0") or "0"
    negative = sign == 0x4000 and text != "0"
    return Decimal((int(negative), tuple(int(c) for c in text), -dscale))


def _bin_date(r: _Reader) -> _dt.date | str:
    (days,) = r.unpack(_I32)
    if days == _INT32_MAX:
        return "infinity"
    if days == _INT32_MIN:
        return "-infinity"
    jd = days + _POSTGRES_EPOCH_JDATE
    if not _DATETIME_MIN_JULIAN <= jd < _DATE_END_JULIAN:
        raise PgError(SqlState.DATETIME_FIELD_OVERFLOW, "date out of range")
    return _date_value(jd)


def _bin_timestamp_common(r: _Reader, utc: bool) -> _dt.datetime | str:
    (us,) = r.unpack(_I64)
    if us == _INT64_MAX:
        return "infinity"
    if us == _INT64_MIN:
        return "-infinity"
    if not _MIN_TIMESTAMP_US <= us < _END_TIMESTAMP_US:
        raise PgError(SqlState.DATETIME_FIELD_OVERFLOW, "timestamp out of range")
    return _timestamp_value(us, utc)


def _bin_time_us(r: _Reader) -> int:
    (us,) = r.unpack(_I64)
    if not 0 <= us <= _USECS_PER_DAY:
        raise PgError(SqlState.DATETIME_FIELD_OVERFLOW, "time out of range")
    return us


def _bin_timetz(r: _Reader) -> _dt.time | str:
    us = _bin_time_us(r)
    (zone,) = r.unpack(_I32)  # seconds WEST of UTC
    if not -_MAX_TZDISP_SECONDS <= zone <= _MAX_TZDISP_SECONDS:
        raise PgError(
            SqlState.INVALID_TIME_ZONE_DISPLACEMENT_VALUE, "time zone displacement out of range"
        )
    return _time_value(us, _dt.timezone(_dt.timedelta(seconds=-zone)))


def _bin_interval(r: _Reader) -> Interval:
    us, days, months = r.unpack(struct.Struct(">qii"))
    return Interval(months, days, us)


def _binary_array(r: _Reader, element_oid: int, depth: int = 0) -> list:
    ndim, flags, elem = r.unpack(struct.Struct(">iiI"))
    if ndim < 0:
        raise _BinaryFormatError(f"invalid number of dimensions: {ndim}")
    if ndim > MAXDIM:
        raise _too_many_dims(ndim)
    if flags not in (0, 1):
        raise _BinaryFormatError("invalid array flags")
    if elem != element_oid and not (element_oid == RECORD_OID and elem in COMPOSITE_OIDS):
        raise PgError(SqlState.DATATYPE_MISMATCH, "wrong element type")
    dims = []
    for _ in range(ndim):
        dim, lower = r.unpack(_II)
        if dim < 0:
            raise PgError(SqlState.PROGRAM_LIMIT_EXCEEDED, "array size exceeds the maximum allowed")
        if dim > 0 and lower + dim - 1 > _INT32_MAX:
            raise PgError(SqlState.PROGRAM_LIMIT_EXCEEDED, f"array lower bound is too large: {lower}")
        dims.append(dim)
    nitems = math.prod(dims) if dims else 0
    if nitems == 0:
        return []
    if nitems > r.remaining // 4:  # every element needs at least its length word
        raise _InsufficientData("insufficient data left in message")
    decode = _binary_decoder(element_oid, depth)
    flat: list = []
    for i in range(nitems):
        (length,) = r.unpack(_I32)
        if length == -1:
            flat.append(None)
            continue
        if length < -1 or length > r.remaining:  # array_recv's own check: 22P03
            raise _BinaryFormatError("insufficient data left in message")
        sub = _Reader(r.take(length))
        try:
            value = decode(sub)
        except records.LeftOver:
            sub.pos = 0  # a record element with bytes to spare: array_recv's error
        if sub.remaining:
            raise _BinaryFormatError(f"improper binary format in array element {i + 1}")
        flat.append(value)
    for dim in reversed(dims[1:]):
        flat = [flat[k : k + dim] for k in range(0, len(flat), dim)]
    return flat


def _fixed(fmt: struct.Struct) -> Callable[[_Reader], object]:
    return lambda r: r.unpack(fmt)[0]


_TEXT_DECODERS: dict[int, Callable[[str], object]] = {
    BOOL: _text_bool,
    INT2: _text_int2,
    INT4: _text_int4,
    INT8: _text_int8,
    OID: _text_oid,
    FLOAT4: _text_float4,
    FLOAT8: _text_float8,
    NUMERIC: _text_numeric,
    TEXT: _text_str,
    VARCHAR: _text_str,
    BPCHAR: _text_str,
    NAME: _text_name,
    UNKNOWN: _text_str,
    JSON: _check_json,
    JSONB: _check_json,
    BYTEA: _text_bytea,
    UUID: _text_uuid,
    DATE: _text_date,
    TIME: _text_time,
    TIMETZ: _text_timetz,
    TIMESTAMP: _text_timestamp,
    TIMESTAMPTZ: _text_timestamptz,
    INTERVAL: _text_interval,
}

_BINARY_DECODERS: dict[int, Callable[[_Reader], object]] = {
    BOOL: _bin_bool,
    INT2: _fixed(_I16),
    INT4: _fixed(_I32),
    INT8: _fixed(_I64),
    OID: _fixed(_U32),
    FLOAT4: _fixed(_F32),
    FLOAT8: _fixed(_F64),
    NUMERIC: _bin_numeric,
    TEXT: _bin_str,
    VARCHAR: _bin_str,
    BPCHAR: _bin_str,
    NAME: _bin_name,
    UNKNOWN: _bin_str,
    JSON: _bin_json,
    JSONB: _bin_jsonb,
    BYTEA: lambda r: r.rest(),
    UUID: lambda r: _uuid.UUID(bytes=r.take(16)),
    DATE: _bin_date,
    TIME: lambda r: _time_value(_bin_time_us(r)),
    TIMETZ: _bin_timetz,
    TIMESTAMP: lambda r: _bin_timestamp_common(r, utc=False),
    TIMESTAMPTZ: lambda r: _bin_timestamp_common(r, utc=True),
    INTERVAL: _bin_interval,
}


def _binary_decoder(oid: int, depth: int) -> Callable[[_Reader], object] | None:
    """The binary input of ``oid`` (None: none here). ``depth``: the records this value
    stands in, which bounds a record nested in itself (wire/records.py)."""
    if oid in ARRAY_ELEMENT:
        element = ARRAY_ELEMENT[oid]
        return lambda r: _binary_array(r, element, depth)
    if oid in ENUM_ARRAY_OIDS or oid in COMPOSITE_ARRAY_OIDS:
        element = oid - (ENUM_ARRAY_OIDS.start - ENUM_OIDS.start if oid in ENUM_ARRAY_OIDS
                         else COMPOSITE_ARRAY_OIDS.start - COMPOSITE_OIDS.start)
        return lambda r: _binary_array(r, element, depth)
    if oid in ENUM_OIDS:
        return _bin_str
    if oid in COMPOSITE_OIDS or oid == RECORD_OID:
        return lambda r: _bin_record(r, depth)
    if oid == RECORD_ARRAY_OID:
        return lambda r: _binary_array(r, RECORD_OID, depth)
    return _BINARY_DECODERS.get(oid)


def _bin_record(r: _Reader, depth: int) -> tuple:
    """record_recv: the fields as a tuple, each read by its own OID's binary input."""
    def field(oid: int, data: bytes) -> object:
        decode = _binary_decoder(oid, depth + 1)
        if decode is None:
            raise PgError(SqlState.FEATURE_NOT_SUPPORTED,
                          f"no binary input function available for type oid {oid}")
        sub = _Reader(data)
        value = decode(sub)
        if sub.remaining:
            raise records.LeftOver(f"{sub.remaining} bytes left over")
        return value

    return records.record_recv(r.rest(), field, depth)


def check_numeric_params(values: list[object], fields: pa.Schema) -> None:
    """Refuse what a DuckDB DECIMAL parameter would round or cannot hold, as PostgreSQL's
    numeric would not: NaN and Infinity for any DECIMAL (0A000), and for bare numeric's
    DECIMAL(38,10) a value with more digits than it has (22003; ``wire.unbounded``).
    Text bound to such a parameter (declared text by the client) is read as numeric
    first; what is not a number is left to DuckDB's cast."""
    for index in _numeric_fields(fields):
        if index < len(values) and values[index] is not None:
            _check_numeric(values[index], fields[index].type)


#: A statement's parameter schema (by identity: the entry holds it, so its id stays
#: its own) -> the indexes of the fields that hold a DECIMAL. Every Bind checks its
#: values; walking the schema's fields each time cost ~4 us per parameter, the lookup
#: here a fraction of one (a statement without numeric parameters then checks nothing).
_NUMERIC_FIELDS: dict[int, tuple[pa.Schema, tuple[int, ...]]] = {}
_NUMERIC_FIELDS_LIMIT = 1024


def _numeric_fields(fields: pa.Schema | list[pa.Field]) -> tuple[int, ...]:
    cacheable = isinstance(fields, pa.Schema)  # a list (COPY's one field) is built per call
    if cacheable:
        hit = _NUMERIC_FIELDS.get(id(fields))
        if hit is not None and hit[0] is fields:
            return hit[1]
    found = tuple(i for i, field in enumerate(fields) if _holds_decimal(field.type))
    if cacheable:
        if len(_NUMERIC_FIELDS) >= _NUMERIC_FIELDS_LIMIT:
            del _NUMERIC_FIELDS[next(iter(_NUMERIC_FIELDS))]  # the oldest
        _NUMERIC_FIELDS[id(fields)] = (fields, found)
    return found


def _holds_decimal(typ: pa.DataType) -> bool:
    """Whether _check_numeric can refuse a value of this type (it looks into lists and
    records: a DECIMAL anywhere inside counts)."""
    while pa.types.is_list(typ) or pa.types.is_large_list(typ):
        typ = typ.value_type
    if pa.types.is_struct(typ):
        return any(_holds_decimal(field.type) for field in typ)
    return pa.types.is_decimal(typ)


def _check_numeric(value: object, typ: pa.DataType) -> None:
    if isinstance(value, list) and (pa.types.is_list(typ) or pa.types.is_large_list(typ)):
        for item in value:
            if item is not None:
                _check_numeric(item, typ.value_type)
        return
    if type(value) is tuple and pa.types.is_struct(typ):  # noqa: E721 - a binary record
        for item, field in zip(value, typ):
            if item is not None:
                _check_numeric(item, field.type)
        return
    if not pa.types.is_decimal(typ):
        return
    if isinstance(value, str):
        try:
            value = _text_numeric(value)
        except PgError:
            return
    if not isinstance(value, Decimal):
        return
    if unbounded.is_bare(typ):
        unbounded.check(value)
        return
    error = unbounded.special(value)
    if error is not None:
        raise error
