"""numeric without a precision: the DuckDB type that holds it, and the values it cannot.

PostgreSQL's bare ``numeric`` keeps every digit it is given; DuckDB 1.5.5's widest exact
type is DECIMAL(38, s). Bare ``numeric`` (columns, casts, arrays, parameters) is
DECIMAL(38, 10) here: 28 digits before the point hold every int8 and uint64 id (19-20
digits) and sums of money in cents up to 10^26, and 10 after it hold money (2-4
decimals), exchange rates and ratios (6-8), bitcoin (8) and SI-prefixed measures; wei
(18 decimals) does not fit and is refused, never rounded. The product of two such values
is DECIMAL(38, 20) (18 digits before the point), which DuckDB refuses, not rounds, on
overflow. docs/compatibility.md has the measurements behind the choice.

Results print as an unconstrained numeric does: a DECIMAL(38, s) with s >= 10 (bare
numeric and what arithmetic on it gives) is announced with typmod -1 and printed
without trailing fraction zeros, since DuckDB keeps no per-value display scale
(PostgreSQL prints ``1.0``, this server ``1``; the values are equal). A select-list
constant is the exception: its scale is known when the statement is translated and
goes with the value (``scaled``; wire.types.SCALED_NUMERIC_FIELDS).

Where a value cannot be held (more than 28 digits before the point, a non-zero digit
after the tenth decimal, NaN or +-Infinity), ``check`` raises the error, so parameters,
literal casts and COPY never round or overflow silently.
"""

from __future__ import annotations

import re
from decimal import Decimal, localcontext

import pyarrow as pa
import pyarrow.compute as pc

from duckgres_trio.errors import PgError, SqlState

PRECISION = 38
SCALE = 10
#: The DuckDB type of bare numeric, as it is written in SQL and in duckdb_columns().
DUCKDB_TYPE = f"DECIMAL({PRECISION},{SCALE})"
_INTEGER_DIGITS = PRECISION - SCALE


def is_unbounded(typ: pa.DataType) -> bool:
    """Whether a result column of this Arrow type is shown as numeric without a typmod:
    DECIMAL(38, s >= 10), bare numeric and the sums and products of it."""
    return pa.types.is_decimal128(typ) and typ.precision == PRECISION and typ.scale >= SCALE


def is_bare(typ: pa.DataType) -> bool:
    """Whether values bound or copied into this Arrow type are bare numeric's."""
    return pa.types.is_decimal128(typ) and typ.precision == PRECISION and typ.scale == SCALE


def trimmed(value: Decimal) -> Decimal:
    """``value`` without trailing fraction zeros (its integer digits kept: 100, not 1E+2)."""
    sign, digits, exponent = value.as_tuple()
    if exponent >= 0 or not isinstance(exponent, int):
        return value
    keep = len(digits)
    while exponent < 0 and keep > 1 and digits[keep - 1] == 0:
        keep -= 1
        exponent += 1
    if exponent < 0 and keep == 1 and digits[0] == 0:
        exponent = 0
    return Decimal((sign, digits[:keep], exponent))


def _overflow(text: str) -> PgError:
    return PgError(
        SqlState.NUMERIC_VALUE_OUT_OF_RANGE, "numeric field overflow",
        detail=(f"numeric without a precision holds {_INTEGER_DIGITS} digits before the "
                f"decimal point and {SCALE} after it here (DuckDB's {DUCKDB_TYPE}); "
                f'"{text}" has more. Declare numeric(p,s) to have values rounded to s '
                "decimals."))


def special(value: Decimal) -> PgError | None:
    """The error for NaN or +-Infinity, which no DuckDB DECIMAL holds."""
    if value.is_nan():
        return PgError(SqlState.FEATURE_NOT_SUPPORTED, "numeric NaN is not supported",
                       detail="DuckDB's DECIMAL has no NaN.")
    if value.is_infinite():
        return PgError(SqlState.FEATURE_NOT_SUPPORTED, "numeric infinity is not supported",
                       detail="DuckDB's DECIMAL has no infinity.")
    return None


def check(value: Decimal, text: str | None = None) -> None:
    """Raise unless bare numeric holds ``value`` exactly."""
    error = special(value)
    if error is not None:
        raise error
    sign, digits, exponent = trimmed(value).as_tuple()
    if exponent < -SCALE or (digits != (0,) and len(digits) + exponent > _INTEGER_DIGITS):
        raise _overflow(text if text is not None else format(value, "f"))


#: Text bare numeric holds: optional sign, up to 28 integer digits (leading zeros
#: aside), up to 10 fraction digits then only zeros; no exponent. Anything else is
#: looked at value by value (``check_texts``).
_FITS = rf"^\s*[+-]?0*[0-9]{{0,{_INTEGER_DIGITS}}}(\.[0-9]{{0,{SCALE}}}0*)?\s*$"
#: Text no DECIMAL holds: NaN and the infinities, as numeric_in reads them.
_SPECIAL = r"(?i)^\s*([+-]?(inf|infinity)|nan)\s*$"
_NUMBER = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?", re.ASCII)


def check_texts(texts: pa.Array, *, special_only: bool = False) -> None:
    """Raise for the first text of a string column (COPY's fields) that bare numeric
    cannot hold (``special_only``: that is NaN or Infinity, for a numeric(p,s) column,
    which rounds the rest); text that is not a number is left to the engine's cast
    (22P02)."""
    if special_only:
        outside = pc.fill_null(pc.match_substring_regex(texts, _SPECIAL), False)
    else:
        outside = pc.invert(pc.fill_null(pc.match_substring_regex(texts, _FITS), True))
    if not pc.any(outside).as_py():
        return
    for text in pc.filter(texts, outside).to_pylist():
        stripped = text.strip()
        if re.fullmatch(_SPECIAL, stripped) or _NUMBER.fullmatch(stripped):
            check(Decimal(stripped), text)


def scaled(value: Decimal, scale: int) -> Decimal:
    """``value`` with ``scale`` fraction digits (a select-list constant's display scale,
    wire.types.SCALED_NUMERIC_FIELDS), or trimmed if that would round it."""
    with localcontext() as context:
        context.prec = 2000  # quantize must never round to the context's 28 digits
        exact = value.quantize(Decimal(1).scaleb(-scale))
    return exact if exact == value else trimmed(value)


def scaled_values(array: pa.Array) -> list[Decimal | None]:
    """The values of a STRUCT of (value, dscale), each at its display scale."""
    values, scales = array.field(0).to_pylist(), array.field(1).to_pylist()
    return [None if not valid or value is None else scaled(value, scale)
            for valid, value, scale in zip(array.is_valid().to_pylist(), values, scales)]
