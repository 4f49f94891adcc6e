"""Parameter values in the form DuckDB binds them, without DuckDB.

DuckDB binds NULL, booleans, 64-bit integers, doubles and blobs natively; every other
value goes as the text DuckDB's cast to the parameter's type reads back (which is how
DuckDB itself reads SQL literals). ``bind_form`` does that reduction, so the control
plane can ship parameters to a worker as those six primitive kinds and the worker binds
them exactly as the in-process engine does.
"""

from __future__ import annotations

import datetime
import decimal
import uuid

#: What ``bind_form`` returns: the kinds DuckDB's C API binds directly.
Primitive = None | bool | int | float | bytes | str


class UnbindableValue(ValueError):
    """A value with no DuckDB form (the message is a DuckDB-style error)."""


def bind_form(value: object) -> Primitive:
    """``value`` as one of None, bool, int (64-bit), float, bytes or str."""
    if value is None or isinstance(value, (bool, float, bytes, str)):
        return value
    if isinstance(value, int) and -(1 << 63) <= value < (1 << 63):
        return value
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, list):
        return _list_literal(value)
    if type(value) is tuple:  # noqa: E721 - a record's fields (not a named tuple)
        return _struct_literal(value)
    return literal_text(value)


def literal_text(value: object) -> str:
    """The text DuckDB reads back as ``value`` when casting to the parameter's type."""
    if isinstance(value, str):
        return value
    if isinstance(value, datetime.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (datetime.date, datetime.time, decimal.Decimal, uuid.UUID, int, float)):
        return value.isoformat() if hasattr(value, "isoformat") else str(value)
    months, days, micros = (getattr(value, "months", None), getattr(value, "days", None),
                            getattr(value, "microseconds", None))
    if None not in (months, days, micros):  # an interval
        return f"{months} months {days} days {micros} microseconds"
    raise UnbindableValue(
        f"Conversion Error: cannot bind a parameter of type {type(value).__name__}")


def _list_literal(items: list) -> str:
    """A list as DuckDB's VARCHAR -> LIST cast reads it: elements double-quoted with
    backslash escapes, so commas, brackets, quotes and spaces inside them survive."""
    return "[" + ", ".join(_element(item) for item in items) + "]"


def _struct_literal(fields: tuple) -> str:
    """A record's fields (wire/records.py's binary input) as DuckDB's VARCHAR ->
    STRUCT cast reads them, by position: each field double-quoted with backslash
    escapes, NULL bare; DuckDB then casts each field's text to the field's type."""
    return "(" + ",".join(_element(field) for field in fields) + ")"


def _element(item: object) -> str:
    """One element of a list or field of a record, in the text of either."""
    if item is None:
        return "NULL"
    if isinstance(item, list):
        text = _list_literal(item)
    elif type(item) is tuple:  # noqa: E721 - a record
        text = _struct_literal(item)
    elif isinstance(item, (bytes, bytearray, memoryview)):
        # DuckDB's VARCHAR -> BLOB cast reads \xHH escapes (and takes other text as is)
        text = "".join(f"\\x{b:02X}" for b in bytes(item))
    elif isinstance(item, bool):
        text = "true" if item else "false"
    else:
        text = literal_text(item)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
