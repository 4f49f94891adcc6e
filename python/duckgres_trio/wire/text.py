"""PostgreSQL TEXT format of Arrow columns (pure-Python reference implementation).

Every value is rendered exactly as PostgreSQL 15's output function prints it under the
default settings (DateStyle ISO, IntervalStyle postgres, extra_float_digits 1,
bytea_output hex). The Rust encoder must match this module byte for byte, so each
rule is spelled out in a small function, with the PostgreSQL source it mirrors named.
Other DateStyles and IntervalStyles (``OutputStyle``) are printed here only: the
caller says which is in force with ``output_style``, and wire.rows sends such columns
to these encoders.

A STRUCT is an anonymous record (``record_out``); the containers PostgreSQL has no
type for (MAP, UNION) are sent as ``json``, and so is a STRUCT inside them; the
JSON rules are in ``json_values``. tests/test_text_encoding.py checks all of it
against a real PostgreSQL 15; docs/types.md lists every deliberate deviation.
"""

from __future__ import annotations

import datetime as _dt
import contextlib
import contextvars
import math
import re
import struct
import uuid
import zoneinfo
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

import pyarrow as pa
import pyarrow.compute as pc

from duckgres_trio.errors import PgError, SqlState
from duckgres_trio.wire import jsonb, unbounded
from duckgres_trio.wire.jsonb import json_string
from duckgres_trio.wire.types import classify, element_field, storage_field

Texts = list[str | None]

USECS_PER_SEC = 1_000_000
USECS_PER_MINUTE = 60 * USECS_PER_SEC
USECS_PER_HOUR = 60 * USECS_PER_MINUTE
USECS_PER_DAY = 24 * USECS_PER_HOUR

#: DuckDB's DATE +infinity / -infinity (date32 values).
DATE_INFINITY = 2**31 - 1
#: DuckDB's TIMESTAMP* +infinity / -infinity, in the column's own unit.
TIMESTAMP_INFINITY = 2**63 - 1

_USECS_PER_UNIT = {"s": USECS_PER_SEC, "ms": 1000, "us": 1}


@dataclass(frozen=True, slots=True)
class OutputStyle:
    """DateStyle's output style and field order, and IntervalStyle, as the session
    sets them (``dates``: ISO, SQL, Postgres, German; ``order``: MDY, DMY, YMD)."""

    dates: str = "ISO"
    order: str = "MDY"
    intervals: str = "postgres"

    @property
    def default_output(self) -> bool:
        """Whether values print as under the defaults (the order only matters to
        non-ISO styles)."""
        return self.dates == "ISO" and self.intervals == "postgres"


DEFAULT_STYLE = OutputStyle()
#: The style the encoders print in; set around one encoding by ``output_style``, so
#: the nested encoders (array elements) see it without every signature carrying it.
_STYLE: contextvars.ContextVar[OutputStyle] = contextvars.ContextVar("style",
                                                                    default=DEFAULT_STYLE)


@contextlib.contextmanager
def output_style(style: OutputStyle | None) -> Iterator[None]:
    token = _STYLE.set(style or DEFAULT_STYLE)
    try:
        yield
    finally:
        _STYLE.reset(token)


def encode_text_column(array: pa.Array, field: pa.Field) -> list[bytes | None]:
    """Each value's PostgreSQL text form as UTF-8 bytes; None for SQL NULL."""
    return [None if text is None else text.encode() for text in _texts(array, field)]


def _texts(array: pa.Array, field: pa.Field) -> Texts:
    """PostgreSQL text of each value of a column."""
    return _TEXT[classify(field)](storage_array(array), field)


def storage_array(array: pa.Array) -> pa.Array:
    if isinstance(array.type, pa.BaseExtensionType):
        return array.storage
    return array


# --- integers, booleans, strings -------------------------------------------------------


def _bool_texts(array: pa.Array, _field: pa.Field) -> Texts:
    # boolout: 't' / 'f'. DuckDB sends BOOLEAN as arrow.bool8 (int8, nonzero is true).
    return [None if v is None else ("t" if v else "f") for v in array.to_pylist()]


#: Below this many values a compute kernel's fixed cost exceeds the per-value loop.
SMALL_ARRAY = 64


def _int_texts(array: pa.Array, _field: pa.Field) -> Texts:
    # Arrow's integer-to-string cast is plain decimal digits with a leading '-',
    # exactly int2out/int4out/int8out/numeric_out of an integer, as is str() of an int.
    if len(array) < SMALL_ARRAY:
        return [None if v is None else str(v) for v in array.to_pylist()]
    return pc.cast(array, pa.string()).to_pylist()


def _hugeint_texts(array: pa.Array, field: pa.Field) -> Texts:
    # DuckDB HUGEINT / UHUGEINT: 16 bytes, little-endian (two's complement if signed).
    signed = classify(field) == "hugeint"
    return [None if b is None else str(hugeint_value(b, signed)) for b in array.to_pylist()]


def hugeint_value(data: bytes, signed: bool) -> int:
    """DuckDB HUGEINT / UHUGEINT: 16 bytes, little-endian (two's complement if signed)."""
    return int.from_bytes(data, "little", signed=signed)


def _bignum_texts(array: pa.Array, _field: pa.Field) -> Texts:
    return [None if b is None else str(bignum_value(b)) for b in array.to_pylist()]


def bignum_value(data: bytes) -> int:
    """DuckDB VARINT/BIGNUM: 3-byte header then big-endian magnitude bytes.

    The header's top bit is 1 for non-negative numbers; a negative number has every
    byte (header and magnitude) bit-inverted.
    """
    if data[0] & 0x80:
        return int.from_bytes(data[3:], "big")
    return -int.from_bytes(bytes(0xFF - b for b in data[3:]), "big")


def _decimal_texts(array: pa.Array, field: pa.Field) -> Texts:
    # numeric_out prints exactly `scale` fraction digits; Decimal(...) from Arrow has
    # exponent -scale and the 'f' format never switches to exponent notation. Bare
    # numeric has no scale of its own: its trailing zeros are DuckDB's, not the value's.
    if unbounded.is_unbounded(storage_field(field).type):
        return [None if d is None else format(unbounded.trimmed(d), "f")
                for d in array.to_pylist()]
    return [None if d is None else format(d, "f") for d in array.to_pylist()]


def _string_texts(array: pa.Array, _field: pa.Field) -> Texts:
    # textout / json_out: the stored text unchanged.
    return array.to_pylist()


def _bytea_texts(array: pa.Array, _field: pa.Field) -> Texts:
    # byteaout with bytea_output = hex: '\x' then lowercase hex digits.
    return [None if b is None else "\\x" + b.hex() for b in array.to_pylist()]


def _varbit_texts(array: pa.Array, _field: pa.Field) -> Texts:
    return [None if b is None else _bit_string(b) for b in array.to_pylist()]


def _bit_string(data: bytes) -> str:
    """DuckDB BIT: first byte = number of padding bits at the start of the bit data."""
    bits = "".join(f"{byte:08b}" for byte in data[1:])
    return bits[data[0] :]


def _uuid_texts(array: pa.Array, _field: pa.Field) -> Texts:
    # uuid_out: lowercase 8-4-4-4-12.
    return [None if b is None else str(uuid.UUID(bytes=b)) for b in array.to_pylist()]


def _unknown_texts(array: pa.Array, _field: pa.Field) -> Texts:
    # No PostgreSQL equivalent: best effort, Python's str() of the value.
    return [None if v is None else str(v) for v in array.to_pylist()]


# --- floats ------------------------------------------------------------------------------


def _float8_texts(array: pa.Array, _field: pa.Field) -> Texts:
    return [None if v is None else float_text(v, _FLOAT64, 15) for v in array.to_pylist()]


def _float4_texts(array: pa.Array, _field: pa.Field) -> Texts:
    # float16 is widened first; every half-precision value is exactly a float32.
    array = pc.cast(array, pa.float32())
    return [None if v is None else float_text(v, _FLOAT32, 6) for v in array.to_pylist()]


def float_text(value: float, width: _FloatWidth, fixed_below: int) -> str:
    """float8out/float4out with extra_float_digits > 0 (PostgreSQL's Ryu, d2s.c/f2s.c).

    The shortest digits that read back as the same value (see shortest_digits);
    fixed-point when the decimal exponent is in [-4, fixed_below) (15 for float8, 6
    for float4), else 'd.ddde+XX' with at least two exponent digits. Zero keeps its
    sign ('-0').
    """
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    sign = "-" if value < 0 else ""
    digits, exponent = shortest_digits(abs(value), width)
    if -4 <= exponent < fixed_below:
        if exponent >= 0:
            whole, frac = digits[: exponent + 1].ljust(exponent + 1, "0"), digits[exponent + 1 :]
        else:
            whole, frac = "0", "0" * (-exponent - 1) + digits
        return sign + whole + ("." + frac if frac else "")
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return f"{sign}{mantissa}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"


@dataclass(frozen=True)
class _FloatWidth:
    """struct codes of an IEEE binary format and of the same-width unsigned integer."""

    float_code: str
    bits_code: str
    max_digits: int  # digits that always suffice to round-trip (9 or 17)
    infinity_bits: int


_FLOAT32 = _FloatWidth("<f", "<I", 9, 0x7F800000)
_FLOAT64 = _FloatWidth("<d", "<Q", 17, 0x7FF0000000000000)


def shortest_digits(value: float, width: _FloatWidth) -> tuple[str, int]:
    """Ryu's digits of a positive finite value: (digits without trailing zeros, exponent).

    PostgreSQL builds Ryu without STRICTLY_SHORTEST, so acceptBounds is false: a
    candidate must lie strictly inside the interval of reals that round to the value,
    even when reading would round a boundary to it (Python's repr accepts those, so
    e.g. 6.4527064814438464e+16 is 17 digits in PostgreSQL, 16 in Python). For n = 1,
    2, ... take the n-digit decimal nearest the exact value (ties to even) and its two
    neighbours; the first n with one strictly inside wins, nearest first. Python's repr
    is never longer, so the search starts at its length for doubles.
    """
    if width is _FLOAT64:
        shortest = _repr_digits(value)
        if _strictly_inside(value, *shortest):
            # repr's digits are then also Ryu's: no shorter candidate exists even with
            # the bounds allowed, and both take the nearest of that length.
            return shortest
    exact = Fraction(value)
    low, high = _rounding_interval(value, width)
    start = len(_digits_exponent(Decimal(repr(value)))[0]) if width is _FLOAT64 else 1
    for n in range(start, width.max_digits + 1):
        nearest = Decimal(f"{value:.{n - 1}e}")
        step = Decimal(1).scaleb(nearest.adjusted() - n + 1)
        found = [c for c in (nearest, nearest - step, nearest + step) if low < Fraction(c) < high]
        if found:
            best = min(found, key=lambda c: abs(Fraction(c) - exact))
            return _digits_exponent(best)
    raise AssertionError(f"no round trip for {value!r}")


def _repr_digits(value: float) -> tuple[str, int]:
    """(digits without trailing zeros, decimal exponent) of repr(value), positive
    finite: what _digits_exponent(Decimal(repr(value))) gives, without Decimal."""
    mantissa, _, exp_text = repr(value).partition("e")
    whole, _, frac = mantissa.partition(".")
    significant = (whole + frac).lstrip("0")  # value = int(significant) * 10^(exp - len(frac))
    exponent = len(significant) - 1 + (int(exp_text) if exp_text else 0) - len(frac)
    return significant.rstrip("0"), exponent


def _strictly_inside(value: float, digits: str, exponent: int) -> bool:
    """Whether 0.digits x 10^(exponent+1) lies strictly between the midpoints to the
    neighbouring doubles of a positive finite ``value``; exact integer arithmetic
    (Fractions would cost ~50x more; this is the common path of float8 output)."""
    fraction, exp2 = math.frexp(value)
    mantissa, exp2 = int(fraction * (1 << 53)), exp2 - 53  # value = mantissa * 2^exp2
    # Neighbour gaps are 2^exp2, except below a power of two (and not subnormal): half.
    low_gap = 1 if mantissa == 1 << 52 and exp2 > -1074 else 2
    # Bounds (value -/+ gap/2) as integers over the common scale 2^(exp2-2).
    low = 4 * mantissa - low_gap
    high = 4 * mantissa + 2
    number = int(digits)
    power10 = exponent - len(digits) + 1  # candidate = number * 10^power10
    # Compare number * 10^power10 with bound * 2^(exp2-2), scaled to integers.
    left, right = number, 1
    if power10 >= 0:
        left *= 10 ** power10
    else:
        right *= 10 ** -power10
    if exp2 - 2 >= 0:
        right_scale, left_scale = 1 << (exp2 - 2), 1
    else:
        right_scale, left_scale = 1, 1 << (2 - exp2)
    candidate = left * left_scale
    return low * right * right_scale < candidate < high * right * right_scale


def _digits_exponent(number: Decimal) -> tuple[str, int]:
    _sign, digit_tuple, exp = number.as_tuple()
    digits = "".join(map(str, digit_tuple)).rstrip("0")
    return digits, exp + len(digit_tuple) - 1


def _rounding_interval(value: float, width: _FloatWidth) -> tuple[Fraction, Fraction]:
    """Midpoints to the neighbouring floats of a positive finite value (bounds excluded)."""
    bits = struct.unpack(width.bits_code, struct.pack(width.float_code, value))[0]
    exact = Fraction(value)
    below = _float_from_bits(bits - 1, width)
    # Above the largest finite float is infinity: mirror the gap below instead.
    above = _float_from_bits(bits + 1, width) if bits + 1 < width.infinity_bits else 2 * exact - below
    return (exact + below) / 2, (exact + above) / 2


def _float_from_bits(bits: int, width: _FloatWidth) -> Fraction:
    return Fraction(struct.unpack(width.float_code, struct.pack(width.bits_code, bits))[0])


# --- dates and times ---------------------------------------------------------------------


def civil_from_days(days: int) -> tuple[int, int, int]:
    """Proleptic Gregorian (year, month, day) of days since 1970-01-01; year 0 is 1 BC."""
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (month <= 2), month, day


def _date_part(days: int) -> tuple[str, bool]:
    """'YYYY-MM-DD' (year at least 4 digits, BC years counted from 1) and is-BC."""
    year, month, day = civil_from_days(days)
    bc = year <= 0
    return f"{(1 - year) if bc else year:04d}-{month:02d}-{day:02d}", bc


def _seconds_part(usecs: int) -> str:
    """AppendSeconds: 'SS' then, if any, the fraction with trailing zeros removed."""
    seconds, fraction = divmod(usecs, USECS_PER_SEC)
    text = f"{seconds:02d}"
    if fraction:
        text += "." + f"{fraction:06d}".rstrip("0")
    return text


def _time_of_day(usecs: int) -> str:
    """'HH:MM:SS[.ffffff]' of microseconds since midnight (24:00:00 allowed)."""
    hours, rest = divmod(usecs, USECS_PER_HOUR)
    minutes, rest = divmod(rest, USECS_PER_MINUTE)
    return f"{hours:02d}:{minutes:02d}:{_seconds_part(rest)}"


def tz_offset_text(seconds_east: int) -> str:
    """EncodeTimezone: '+HH', '+HH:MM' or '+HH:MM:SS', as short as the offset allows."""
    sign = "+" if seconds_east >= 0 else "-"
    minutes, seconds = divmod(abs(seconds_east), 60)
    hours, minutes = divmod(minutes, 60)
    if seconds:
        return f"{sign}{hours:02d}:{minutes:02d}:{seconds:02d}"
    if minutes:
        return f"{sign}{hours:02d}:{minutes:02d}"
    return f"{sign}{hours:02d}"


def _date_texts(array: pa.Array, _field: pa.Field) -> Texts:
    style = _STYLE.get()
    if style.dates != "ISO":
        return [None if d is None else styled_date_text(d, style) for d in date_days(array)]
    return [None if d is None else date_text(d) for d in date_days(array)]


def styled_date_text(days: int, style: OutputStyle) -> str:
    """date_out (EncodeDateOnly) in the SQL, German and Postgres styles."""
    if days in (DATE_INFINITY, -DATE_INFINITY):
        return date_text(days)
    year, month, day = civil_from_days(days)
    text = _styled_date(year, month, day, style, "-" if style.dates == "Postgres" else "/")
    return text + " BC" if year <= 0 else text


def _styled_date(year: int, month: int, day: int, style: OutputStyle, separator: str) -> str:
    """'DD/MM/YYYY' or 'MM/DD/YYYY' (by the order; ``separator`` '/' for SQL, '-'
    for Postgres dates), German 'DD.MM.YYYY'; BC years counted from 1."""
    shown_year = f"{year if year > 0 else 1 - year:04d}"
    if style.dates == "German":
        return f"{day:02d}.{month:02d}.{shown_year}"
    first, second = (day, month) if style.order == "DMY" else (month, day)
    return f"{first:02d}{separator}{second:02d}{separator}{shown_year}"


_DAY_NAMES = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
                "Nov", "Dec")


def date_days(array: pa.Array) -> list[int | None]:
    """Days since 1970-01-01 of a date32 or date64 column."""
    if pa.types.is_date64(array.type):
        return [None if ms is None else ms // 86_400_000 for ms in array.view(pa.int64()).to_pylist()]
    return array.view(pa.int32()).to_pylist()


def date_text(days: int) -> str:
    """date_out: 'YYYY-MM-DD', ' BC' suffix, DuckDB's ±infinity sentinels."""
    if days == DATE_INFINITY:
        return "infinity"
    if days == -DATE_INFINITY:
        return "-infinity"
    text, bc = _date_part(days)
    return text + " BC" if bc else text


def _time_texts(array: pa.Array, _field: pa.Field) -> Texts:
    return [None if v is None else _time_of_day(v) for v in time_usecs(array)]


def time_usecs(array: pa.Array) -> list[int | None]:
    """Microseconds since midnight of a time32 or time64 column."""
    unit = array.type.unit
    raw = array.view(pa.int64() if pa.types.is_time64(array.type) else pa.int32()).to_pylist()
    return [None if v is None else to_usecs(v, unit) for v in raw]


def to_usecs(value: int, unit: str) -> int:
    # Nanoseconds are floored to microseconds, PostgreSQL's resolution.
    if unit == "ns":
        return value // 1000
    return value * _USECS_PER_UNIT[unit]


def _timetz_texts(array: pa.Array, _field: pa.Field) -> Texts:
    return [None if b is None else timetz_text(b) for b in array.to_pylist()]


def timetz_text(data: bytes) -> str:
    """DuckDB TIMETZ: uint64 LE, micros << 24 | (57599 - offset east in seconds).

    The micros are the local time at that offset; timetz_out prints it with the offset.
    """
    usecs, offset_east = timetz_parts(data)
    return _time_of_day(usecs) + tz_offset_text(offset_east)


def timetz_parts(data: bytes) -> tuple[int, int]:
    """(local microseconds since midnight, UTC offset in seconds east) of a DuckDB TIMETZ."""
    bits = int.from_bytes(data, "little")
    return bits >> 24, 57599 - (bits & 0xFFFFFF)


def _timestamp_texts(array: pa.Array, _field: pa.Field) -> Texts:
    unit = array.type.unit
    zone = _zone(array.type.tz) if array.type.tz is not None else None
    style = _STYLE.get()
    if style.dates != "ISO":
        return [None if v is None else styled_timestamp_text(v, unit, zone, style)
                for v in array.view(pa.int64()).to_pylist()]
    return [None if v is None else timestamp_text(v, unit, zone) for v in array.view(pa.int64()).to_pylist()]


def styled_timestamp_text(value: int, unit: str, zone: _dt.tzinfo | None,
                          style: OutputStyle) -> str:
    """timestamp_out / timestamptz_out (EncodeDateTime) in the SQL, German and Postgres
    styles: the zone's abbreviation after a timestamptz ('CEST', '+02' for a fixed
    offset), its numeric offset where it has none."""
    if value in (TIMESTAMP_INFINITY, -TIMESTAMP_INFINITY):
        return timestamp_text(value, unit, zone)
    usecs = to_usecs(value, unit)
    zone_text = ""
    if zone is not None:
        east = _utc_offset_seconds(usecs, zone)
        abbreviation = _zone_abbreviation(usecs, zone)
        usecs += east * USECS_PER_SEC
        if abbreviation:
            zone_text = " " + abbreviation
        else:
            zone_text = (" " if style.dates == "Postgres" else "") + tz_offset_text(east)
    days, time_usecs = divmod(usecs, USECS_PER_DAY)
    year, month, day = civil_from_days(days)
    clock = _time_of_day(time_usecs)
    if style.dates == "Postgres":
        weekday = _DAY_NAMES[(days + 4) % 7]  # 1970-01-01 was a Thursday
        month_name = _MONTH_NAMES[month - 1]
        date = (f"{day:02d} {month_name}" if style.order == "DMY" else f"{month_name} {day:02d}")
        shown_year = f"{year if year > 0 else 1 - year:04d}"
        text = f"{weekday} {date} {clock} {shown_year}{zone_text}"
    else:
        text = f"{_styled_date(year, month, day, style, '/')} {clock}{zone_text}"
    return text + " BC" if year <= 0 else text


def _zone_abbreviation(usecs: int, zone: _dt.tzinfo) -> str | None:
    """The zone's abbreviation at an instant, as tzdata names it (pg_localtime's
    tm_zone); None if Python cannot tell (a fixed offset, years outside 1..9999)."""
    if not isinstance(zone, zoneinfo.ZoneInfo):
        return None
    try:
        instant = _EPOCH + _dt.timedelta(microseconds=usecs)
        return instant.astimezone(zone).tzname()
    except (OverflowError, ValueError):
        return None


def timestamp_text(value: int, unit: str, zone: _dt.tzinfo | None) -> str:
    """timestamp_out / timestamptz_out (zone given) in DateStyle ISO.

    'YYYY-MM-DD HH:MM:SS[.ffffff][offset][ BC]'; DuckDB's ±infinity are int64 max and
    -max in every unit.
    """
    if value == TIMESTAMP_INFINITY:
        return "infinity"
    if value == -TIMESTAMP_INFINITY:
        return "-infinity"
    usecs = to_usecs(value, unit)
    offset = ""
    if zone is not None:
        east = _utc_offset_seconds(usecs, zone)
        usecs += east * USECS_PER_SEC  # printed as local time, followed by the offset
        offset = tz_offset_text(east)
    days, time_usecs = divmod(usecs, USECS_PER_DAY)
    date, bc = _date_part(days)
    return f"{date} {_time_of_day(time_usecs)}{offset}{' BC' if bc else ''}"


_FIXED_OFFSET = re.compile(r"([+-])(\d\d):(\d\d)")


def _zone(name: str) -> _dt.tzinfo:
    """The zone of an Arrow timestamp's tz: an IANA name or a fixed '+HH:MM'."""
    fixed = _FIXED_OFFSET.fullmatch(name)
    if fixed:
        sign = -1 if fixed[1] == "-" else 1
        return _dt.timezone(sign * _dt.timedelta(hours=int(fixed[2]), minutes=int(fixed[3])))
    return zoneinfo.ZoneInfo(name)


def zone_tzif(name: str) -> bytes | None:
    """The TZif file ``_zone(name)`` reads its offsets from, for the Rust codec to read
    too; None for a fixed offset, or if the file is gone. Unknown and malformed zone
    names raise as ``_zone`` does.

    A ZoneInfo keeps its data to itself, so the file is found again as CPython's
    zoneinfo finds it, with the very functions its C ``ZoneInfo`` calls: the first
    match on TZPATH, else the ``tzdata`` package.
    """
    if not isinstance(_zone(name), zoneinfo.ZoneInfo):
        return None
    try:
        path = zoneinfo._tzpath.find_tzfile(name)
        with open(path, "rb") if path is not None else zoneinfo._common.load_tzdata(name) as file:
            return file.read()
    except (OSError, zoneinfo.ZoneInfoNotFoundError):
        return None  # removed since ZoneInfo loaded (and cached) it


_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)
#: 400 Gregorian years: the calendar, and so every zone's recurring rule, repeats.
_CYCLE_USECS = 146097 * USECS_PER_DAY
# Python datetimes cover years 1..9999; stay a year inside so local times fit too.
_MIN_LOOKUP = (_dt.datetime(2, 1, 1, tzinfo=_dt.UTC) - _EPOCH) // _dt.timedelta(microseconds=1)
_MAX_LOOKUP = (_dt.datetime(9998, 12, 31, tzinfo=_dt.UTC) - _EPOCH) // _dt.timedelta(microseconds=1)


def _utc_offset_seconds(usecs: int, zone: _dt.tzinfo) -> int:
    """The zone's UTC offset (seconds east) at an instant, at any year.

    Outside Python's years the instant is moved by whole 400-year cycles, which keeps
    both the answer before a zone's first transition (local mean time) and its rule
    after the last one, which is what PostgreSQL's pg_localtime gives.
    """
    if usecs < _MIN_LOOKUP:
        usecs += -((usecs - _MIN_LOOKUP) // _CYCLE_USECS) * _CYCLE_USECS
    elif usecs > _MAX_LOOKUP:
        usecs -= -((_MAX_LOOKUP - usecs) // _CYCLE_USECS) * _CYCLE_USECS
    instant = _EPOCH + _dt.timedelta(microseconds=usecs)
    return int(instant.astimezone(zone).utcoffset().total_seconds())


def _interval_texts(array: pa.Array, _field: pa.Field) -> Texts:
    style = _STYLE.get().intervals
    if style != "postgres":
        return [None if parts is None else styled_interval_text(*parts, style)
                for parts in interval_parts(array)]
    return [None if parts is None else interval_text(*parts) for parts in interval_parts(array)]


def styled_interval_text(months: int, days: int, usecs: int, style: str) -> str:
    """interval_out (EncodeInterval) in IntervalStyle postgres_verbose, sql_standard or
    iso_8601, from interval2itm's fields (C truncating division)."""
    year, mon = _trunc_divmod(months, 12)
    hour, rest = _trunc_divmod(usecs, USECS_PER_HOUR)
    minute, rest = _trunc_divmod(rest, USECS_PER_MINUTE)
    sec, fsec = _trunc_divmod(rest, USECS_PER_SEC)
    fields = (year, mon, days, hour, minute, sec, fsec)
    if style == "sql_standard":
        return _sql_standard_interval(*fields)
    if style == "iso_8601":
        return _iso_8601_interval(*fields)
    return _verbose_interval(*fields)


def _append_seconds(sec: int, fsec: int, fill: bool) -> str:
    """AppendSeconds: |sec| (two digits when ``fill``), then the fraction, trailing
    zeros removed."""
    text = f"{abs(sec):02d}" if fill else f"{abs(sec)}"
    if fsec:
        text += "." + f"{abs(fsec):06d}".rstrip("0")
    return text


def _sql_standard_interval(year, mon, day, hour, minute, sec, fsec) -> str:
    fields = (year, mon, day, hour, minute, sec, fsec)
    negative = any(v < 0 for v in fields)
    positive = any(v > 0 for v in fields)
    year_month = year != 0 or mon != 0
    day_time = any(v != 0 for v in fields[2:])
    standard = not (negative and positive) and not (year_month and day_time)
    prefix = ""
    if negative and standard:
        prefix = "-"
        year, mon, day, hour, minute, sec, fsec = (-v for v in fields)
    if not negative and not positive:
        return "0"
    if not standard:
        year_sign = "-" if year < 0 or mon < 0 else "+"
        day_sign = "-" if day < 0 else "+"
        time_sign = "-" if hour < 0 or minute < 0 or sec < 0 or fsec < 0 else "+"
        return (f"{prefix}{year_sign}{abs(year)}-{abs(mon)} {day_sign}{abs(day)} "
                f"{time_sign}{abs(hour)}:{abs(minute):02d}:{_append_seconds(sec, fsec, True)}")
    if year_month:
        return f"{prefix}{year}-{mon}"
    clock = f"{hour}:{minute:02d}:{_append_seconds(sec, fsec, True)}"
    return f"{prefix}{day} {clock}" if day else prefix + clock


def _iso_8601_interval(year, mon, day, hour, minute, sec, fsec) -> str:
    if not any((year, mon, day, hour, minute, sec, fsec)):
        return "PT0S"
    text = "P" + "".join(f"{v}{u}" for v, u in ((year, "Y"), (mon, "M"), (day, "D")) if v)
    if hour or minute or sec or fsec:
        text += "T"
    text += "".join(f"{v}{u}" for v, u in ((hour, "H"), (minute, "M")) if v)
    if sec or fsec:
        text += ("-" if sec < 0 or fsec < 0 else "") + _append_seconds(sec, fsec, False) + "S"
    return text


def _verbose_interval(year, mon, day, hour, minute, sec, fsec) -> str:
    parts = ["@"]
    is_zero, is_before = True, False
    for value, unit in ((year, "year"), (mon, "mon"), (day, "day"), (hour, "hour"),
                        (minute, "min")):
        if value == 0:
            continue
        if is_zero:
            is_before = value < 0
            value = abs(value)
        elif is_before:
            value = -value
        parts.append(f"{value} {unit}{'' if value == 1 else 's'}")
        is_zero = False
    if sec or fsec:
        minus = ""
        if sec < 0 or (sec == 0 and fsec < 0):
            if is_zero:
                is_before = True
            elif not is_before:
                minus = "-"
        elif is_before:
            minus = "-"
        plural = "s" if abs(sec) != 1 or fsec != 0 else ""
        parts.append(f"{minus}{_append_seconds(sec, fsec, False)} sec{plural}")
        is_zero = False
    if is_zero:
        parts.append("0")
    if is_before:
        parts.append("ago")
    return " ".join(parts)


def interval_parts(array: pa.Array) -> list[tuple[int, int, int] | None]:
    """(months, days, microseconds) of each value of an interval or duration column."""
    if pa.types.is_duration(array.type):
        unit = array.type.unit
        raw = array.view(pa.int64()).to_pylist()
        return [None if v is None else (0, 0, to_usecs(v, unit)) for v in raw]
    return [
        None if v is None else (v.months, v.days, nanos_to_usecs(v.nanoseconds))
        for v in array.to_pylist()
    ]


def nanos_to_usecs(nanos: int) -> int:
    # Truncated toward zero: DuckDB intervals are whole microseconds anyway.
    return -(-nanos // 1000) if nanos < 0 else nanos // 1000


def interval_text(months: int, days: int, usecs: int) -> str:
    """interval_out with IntervalStyle postgres (EncodeInterval, INTSTYLE_POSTGRES).

    '1 year 2 mons -3 days +04:05:06.5': each nonzero field with a plural 's' unless
    it is 1; a positive field right after a negative one gets '+'; the time part is
    shown when nonzero or when everything is zero ('00:00:00'). Fields come from C
    truncating division, so every part has the sign of its source.
    """
    years, months = _trunc_divmod(months, 12)
    hours, rest = _trunc_divmod(usecs, USECS_PER_HOUR)
    minutes, rest = _trunc_divmod(rest, USECS_PER_MINUTE)
    parts: list[str] = []
    before_negative = False
    for value, unit in ((years, "year"), (months, "mon"), (days, "day")):
        if value:
            plus = "+" if before_negative and value > 0 else ""
            parts.append(f"{plus}{value} {unit}{'' if value == 1 else 's'}")
            before_negative = value < 0
    if not parts or usecs:
        sign = "-" if usecs < 0 else ("+" if before_negative else "")
        parts.append(f"{sign}{abs(hours):02d}:{abs(minutes):02d}:{_seconds_part(abs(rest))}")
    return " ".join(parts)


def _trunc_divmod(value: int, divisor: int) -> tuple[int, int]:
    """C's / and % (truncating toward zero), as PostgreSQL's interval2itm uses."""
    quotient = abs(value) // divisor
    if value < 0:
        quotient = -quotient
    return quotient, value - quotient * divisor


# --- containers --------------------------------------------------------------------------


def _list_spans(array: pa.Array) -> list[tuple[int, int] | None]:
    """(start, end) of each row's elements in array.values, None for a NULL row."""
    valid = array.is_valid().to_pylist()
    if pa.types.is_fixed_size_list(array.type):
        size = array.type.list_size
        starts = [(array.offset + i) * size for i in range(len(array))]
        ends = [start + size for start in starts]
    elif pa.types.is_list_view(array.type) or pa.types.is_large_list_view(array.type):
        starts = array.offsets.to_pylist()
        ends = [s + n for s, n in zip(starts, array.sizes.to_pylist(), strict=True)]
    else:
        offsets = array.offsets.to_pylist()
        starts, ends = offsets[:-1], offsets[1:]
    return [(s, e) if ok else None for s, e, ok in zip(starts, ends, valid, strict=True)]


def element_values(array: pa.Array, field: pa.Field, render: Callable) -> tuple[list, list]:
    """Rows' spans and the rendering of every element the rows use (one render call)."""
    spans = _list_spans(array)
    used = [span for span in spans if span is not None and span[1] > span[0]]
    if not used:
        return spans, []
    low = min(s for s, _ in used)
    high = max(e for _, e in used)
    values = array.values.slice(low, high - low)
    rendered = render(values, element_field(field))
    spans = [None if span is None else (span[0] - low, span[1] - low) for span in spans]
    return spans, rendered


def _list_texts(array: pa.Array, field: pa.Field) -> Texts:
    """array_out: '{a,b}'; nested lists become PostgreSQL's multi-dimensional '{{1,2},{3}}'.

    A nested list stays unquoted (it is a sub-array); a NULL sub-list is written NULL,
    which PostgreSQL itself never produces (its arrays are rectangular).
    """
    nested = classify(element_field(field)) == "list"
    spans, elements = element_values(array, field, _texts)
    quote = (lambda e: e) if nested else _array_element
    out: Texts = []
    for span in spans:
        if span is None:
            out.append(None)
            continue
        items = elements[span[0] : span[1]]
        out.append("{" + ",".join("NULL" if e is None else quote(e) for e in items) + "}")
    return out


_ARRAY_SPECIAL = frozenset('"\\{},') | frozenset(" \t\n\r\v\f")


def _array_element(text: str) -> str:
    """array_out's quoting: quote empty, 'NULL' (any case) and anything with a
    delimiter, brace, quote, backslash or white space; escape '"' and '\\'."""
    if text and text.upper() != "NULL" and not _ARRAY_SPECIAL.intersection(text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _record_texts(array: pa.Array, field: pa.Field) -> Texts:
    """record_out: '(1,x)', each field's text, nothing for NULL, quoted as
    ``_record_field`` says. A STRUCT column is an anonymous record."""
    typ = array.type
    # field(i), not flatten(): see _json_structs
    columns = [_texts(array.field(i), typ.field(i)) for i in range(typ.num_fields)]
    valid = array.is_valid().to_pylist()
    texts = ["(" + ",".join("" if col[row] is None else _record_field(col[row])
                            for col in columns) + ")" if ok else None
             for row, ok in enumerate(valid)]
    _record_budget(array, texts)
    return texts


#: Quoting doubles a nested record's quotes at each level, so a few bytes of STRUCTs
#: nested 30 deep print as gigabytes (PostgreSQL's record_out too, up to its 1 GB
#: value limit). The text of one column of records in one batch may be this many
#: bytes plus RECORD_TEXT_RATIO times the column's Arrow size, else 54000.
RECORD_TEXT_BUDGET = 64 << 20
RECORD_TEXT_RATIO = 16


def _record_budget(array: pa.Array, texts: Texts) -> None:
    size = sum(len(text) for text in texts if text is not None)
    if size > RECORD_TEXT_BUDGET + RECORD_TEXT_RATIO * array.nbytes:
        raise PgError(SqlState.PROGRAM_LIMIT_EXCEEDED,
                      "the text of these record values is too large",
                      detail=f"{size} characters for {len(array)} rows of nested records.")


_RECORD_SPECIAL = frozenset('"\\(),') | frozenset(" \t\n\r\v\f")


def _record_field(text: str) -> str:
    """record_out's quoting: quote empty and anything with a quote, backslash,
    parenthesis, comma or white space; double '"' and '\\'."""
    if text and not _RECORD_SPECIAL.intersection(text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '""') + '"'


def _dictionary_texts(array: pa.Array, field: pa.Field) -> Texts:
    return decode_dictionary(array, field, _texts)


def decode_dictionary(array: pa.Array, field: pa.Field, render: Callable) -> Texts:
    # ENUM: render the dictionary once, then look each index up.
    values = render(array.dictionary, element_field(field))
    return [None if i is None else values[i] for i in array.indices.to_pylist()]


def _scaled_numeric_texts(array: pa.Array, _field: pa.Field) -> Texts:
    # numeric_out at the constant's display scale (types.SCALED_NUMERIC_FIELDS)
    return [None if d is None else format(d, "f") for d in unbounded.scaled_values(array)]


def _reg_texts(array: pa.Array, _field: pa.Field) -> Texts:
    # regtypeout and friends: the name (types.REG_FIELDS: a STRUCT of OID and name)
    names = array.field(1).to_pylist()
    return [None if valid is False else name
            for valid, name in zip(array.is_valid().to_pylist(), names)]


def _json_texts(array: pa.Array, field: pa.Field) -> Texts:
    # STRUCT / MAP / UNION columns are json; their text is the JSON document.
    return json_values(array, field)


# --- JSON of nested values ---------------------------------------------------------------
#
# Rules (close to PostgreSQL's to_json, see docs/types.md): NULL -> null; bool ->
# true/false; integers, numeric and floats -> their PostgreSQL text as a JSON number,
# except NaN/Infinity/-Infinity which become JSON strings; json -> embedded as is;
# lists -> [..]; STRUCT -> {"field":..} in field order; MAP -> {"<key text>":..};
# UNION -> the active member's value; everything else (text, dates, timestamps,
# intervals, uuid, bytea, bit, ...) -> a JSON string of its PostgreSQL text. Output is
# compact (no spaces), like row_to_json.

_JSON_NUMBER_KINDS = frozenset(
    {"int2", "int4", "int8", "oid", "uint64", "hugeint", "uhugeint", "bignum", "decimal", "float4", "float8"}
)
_NOT_JSON_NUMBERS = frozenset({"NaN", "Infinity", "-Infinity"})


def json_values(array: pa.Array, field: pa.Field) -> Texts:
    """JSON text of each value; None where the value is NULL."""
    kind = classify(field)
    array = storage_array(array)
    if kind in _JSON_CONTAINERS:
        return _JSON_CONTAINERS[kind](array, field)
    # JSON spells dates one way (ISO), whatever DateStyle says; intervals follow theirs
    with output_style(OutputStyle(intervals=_STYLE.get().intervals)):
        texts = _TEXT[kind](array, field)
    if kind == "bool":
        return [None if t is None else ("true" if t == "t" else "false") for t in texts]
    if kind in ("json", "jsonb"):
        return texts
    if kind in _JSON_NUMBER_KINDS:
        return [None if t is None else (json_string(t) if t in _NOT_JSON_NUMBERS else t) for t in texts]
    return [None if t is None else json_string(t) for t in texts]


def _json_or_null(value: str | None) -> str:
    return "null" if value is None else value


def _json_lists(array: pa.Array, field: pa.Field) -> Texts:
    spans, elements = element_values(array, field, json_values)
    return [
        None if span is None else "[" + ",".join(map(_json_or_null, elements[span[0] : span[1]])) + "]"
        for span in spans
    ]


def _json_structs(array: pa.Array, field: pa.Field) -> Texts:
    struct_type = array.type
    keys = [json_string(struct_type.field(i).name) for i in range(struct_type.num_fields)]
    # field(i), not flatten(): flatten() merges the parent's nulls into each child,
    # which aborts pyarrow for a union child (unions have no validity bitmap). Rows
    # where the struct itself is NULL are skipped below anyway.
    columns = [
        json_values(array.field(i), struct_type.field(i)) for i in range(struct_type.num_fields)
    ]
    valid = array.is_valid().to_pylist()
    return [
        "{" + ",".join(f"{key}:{_json_or_null(col[row])}" for key, col in zip(keys, columns, strict=True)) + "}"
        if ok
        else None
        for row, ok in enumerate(valid)
    ]


def _json_maps(array: pa.Array, field: pa.Field) -> Texts:
    map_type = array.type
    spans = _list_spans(array)
    keys = _texts(array.keys, map_type.key_field)
    items = json_values(array.items, map_type.item_field)
    return [
        None
        if span is None
        else "{"
        + ",".join(f"{json_string(keys[i])}:{_json_or_null(items[i])}" for i in range(*span))
        + "}"
        for span in spans
    ]


def _json_unions(array: pa.Array, field: pa.Field) -> Texts:
    """The active member's JSON; a NULL member makes the whole value NULL."""
    union_type = array.type
    members = [
        json_values(array.field(i), union_type.field(i)) for i in range(union_type.num_fields)
    ]
    position = {code: i for i, code in enumerate(union_type.type_codes)}
    codes, rows = _union_slots(array)
    return [members[position[code]][row] for code, row in zip(codes, rows, strict=True)]


def _union_slots(array: pa.Array) -> tuple[list[int], list[int] | range]:
    """Each row's type code and its row in the member array.

    pyarrow's type_codes/offsets ignore a slice's offset, so read the buffers. A
    sparse member from field() is already sliced (row i is row i); a dense member is
    whole and addressed by the value offsets.
    """
    start, end = array.offset, array.offset + len(array)
    buffers = array.buffers()
    codes = pa.Array.from_buffers(pa.int8(), end, [None, buffers[1]]).to_pylist()[start:]
    if array.type.mode == "dense":
        offsets = pa.Array.from_buffers(pa.int32(), end, [None, buffers[2]]).to_pylist()[start:]
        return codes, offsets
    return codes, range(len(array))


_JSON_CONTAINERS: dict[str, Callable[[pa.Array, pa.Field], Texts]] = {
    "list": _json_lists,
    "struct": _json_structs,
    "map": _json_maps,
    "union": _json_unions,
    "dictionary": lambda array, field: decode_dictionary(array, field, json_values),
}

_TEXT: dict[str, Callable[[pa.Array, pa.Field], Texts]] = {
    "bool": _bool_texts,
    "int2": _int_texts,
    "int4": _int_texts,
    "int8": _int_texts,
    "oid": _int_texts,
    "uint64": _int_texts,
    "hugeint": _hugeint_texts,
    "uhugeint": _hugeint_texts,
    "bignum": _bignum_texts,
    "decimal": _decimal_texts,
    "float4": _float4_texts,
    "float8": _float8_texts,
    "text": _string_texts,
    "json": _string_texts,
    "jsonb": lambda array, _field: jsonb.texts(array.to_pylist()),
    "bytea": _bytea_texts,
    "varbit": _varbit_texts,
    "uuid": _uuid_texts,
    "date": _date_texts,
    "time": _time_texts,
    "timetz": _timetz_texts,
    "timestamp": _timestamp_texts,
    "timestamptz": _timestamp_texts,
    "interval": _interval_texts,
    "list": _list_texts,
    "dictionary": _dictionary_texts,
    "struct": _record_texts,
    "scaled_numeric": _scaled_numeric_texts,
    "regtype": _reg_texts,
    "regclass": _reg_texts,
    "regnamespace": _reg_texts,
    "map": _json_texts,
    "union": _json_texts,
    "unknown": _unknown_texts,
}
