"""jsonb's text as PostgreSQL prints it (jsonb_out), from any JSON text.

PostgreSQL parses jsonb on input and prints the parsed value: object keys sorted by
length, then bytewise (jsonb's key order), a duplicate key keeping its last value, one
space after ``:`` and ``,``, numbers printed by numeric_out (``1e2`` is ``100``,
``1.50`` stays ``1.50``), strings escaped by escape_json (``\\u0041`` is ``A``).
DuckDB's JSON keeps the text it was given (that is json's behaviour), so a column
announced as jsonb is printed through here. Its binary form is a version byte 1
followed by this text (jsonb_send).
"""

from __future__ import annotations

import json
from decimal import Decimal

#: jsonb_send's version byte.
VERSION = 1

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r",
            "\t": "\\t"}


class _Number(str):
    """A JSON number's text as numeric_out prints it."""


#: numeric's limit on digits before / after the point (numeric_in refuses more);
#: a number beyond it keeps its text rather than being expanded.
_MAX_DIGITS = 131072


def _number(text: str) -> _Number:
    value = Decimal(text)
    if abs(value.adjusted()) > _MAX_DIGITS or -value.as_tuple().exponent > _MAX_DIGITS:
        return _Number(text)
    if value.is_zero():
        value = value.copy_abs()  # numeric has no negative zero
    # "f" prints 1e2 as 100: numeric's scale is never negative
    return _Number(format(value, "f"))


def _pairs(pairs: list[tuple[str, object]]) -> dict:
    # dict keeps the last of duplicate keys, at the first one's place: order is
    # decided when printing, so that does not matter
    return dict(pairs)


def _decoder() -> json.JSONDecoder:
    return json.JSONDecoder(object_pairs_hook=_pairs, parse_float=_number,
                            parse_int=_number, parse_constant=_reject)


def _reject(name: str) -> None:
    raise ValueError(f"not JSON: {name}")


_DECODER = _decoder()


def _key(text: str) -> tuple[int, bytes]:
    encoded = text.encode()
    return len(encoded), encoded


def json_string(text: str) -> str:
    """escape_json: quote, escape '"' '\\' \\b \\f \\n \\r \\t, other controls as \\u00xx
    (json and jsonb output, and keys and strings that text output puts in JSON)."""
    out = ['"']
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ch < " ":
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _print(value: object, out: list[str]) -> None:
    if isinstance(value, dict):
        out.append("{")
        for i, key in enumerate(sorted(value, key=_key)):
            if i:
                out.append(", ")
            out.append(json_string(key))
            out.append(": ")
            _print(value[key], out)
        out.append("}")
    elif isinstance(value, list):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(", ")
            _print(item, out)
        out.append("]")
    elif isinstance(value, _Number):
        out.append(value)
    elif isinstance(value, str):
        out.append(json_string(value))
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    else:
        out.append("null")


def normalize(text: str) -> str:
    """``text`` as jsonb_out prints it; text that is not JSON (DuckDB accepted it)
    is returned unchanged rather than failing the whole result."""
    try:
        value = _DECODER.decode(text)
    except (ValueError, RecursionError):
        return text
    out: list[str] = []
    try:
        _print(value, out)
    except RecursionError:
        return text
    return "".join(out)


def texts(values: list[str | None]) -> list[str | None]:
    """``normalize`` of each value; None stays None."""
    return [None if v is None else normalize(v) for v in values]


def binary(values: list[str | None]) -> list[bytes | None]:
    """jsonb_send of each value: the version byte, then the normalized text."""
    return [None if v is None else bytes((VERSION,)) + normalize(v).encode() for v in values]
