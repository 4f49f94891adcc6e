"""Flight SQL's protobuf messages, by hand, and its SqlInfo result table.

Flight SQL messages are protobuf messages of the package ``arrow.flight.protocol.sql``
wrapped in ``google.protobuf.Any``. No protobuf library is used: this small codec reads
and writes exactly the messages served, bounding every varint and length by its input.
Shared by the worker's Flight SQL service (``worker.flightsql``) and the control plane's
Flight SQL ingress (``flightingress``); pure (no trio, no DuckDB), and outside ``wire``
so the worker loads no PostgreSQL codec.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.flight as fl

# -- protobuf, by hand ------------------------------------------------------------------

_ANY_PREFIX = "type.googleapis.com/"
_PACKAGE = "arrow.flight.protocol.sql."


class Malformed(ValueError):
    """Bytes that are not the protobuf message expected."""


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    for i in range(pos, min(pos + 10, len(data))):  # a varint has at most 10 bytes
        value |= (data[i] & 0x7F) << shift
        if data[i] < 0x80:
            if value >> 64:
                raise Malformed("varint out of range")
            return value, i + 1
        shift += 7
    raise Malformed("truncated or overlong varint")


def pb_decode(data: bytes) -> dict[int, list[int | bytes]]:
    """A message's fields: number -> values in order (varint and fixed fields as int,
    length-delimited ones as bytes). Groups are rejected; nothing is interpreted."""
    fields: dict[int, list[int | bytes]] = {}
    pos, end = 0, len(data)
    while pos < end:
        key, pos = _read_varint(data, pos)
        number, wire = key >> 3, key & 7
        if not 0 < number < 1 << 29:
            raise Malformed(f"invalid field number {number}")
        if wire == 0:
            value, pos = _read_varint(data, pos)
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            if size > end - pos:
                raise Malformed("truncated fixed-size field")
            value, pos = int.from_bytes(data[pos:pos + size], "little"), pos + size
        elif wire == 2:
            size, pos = _read_varint(data, pos)
            if size > end - pos:
                raise Malformed("field length beyond the end of the message")
            value, pos = bytes(data[pos:pos + size]), pos + size
        else:
            raise Malformed(f"unsupported wire type {wire}")
        fields.setdefault(number, []).append(value)
    return fields


def _last(fields: dict, number: int, kind: type):
    values = fields.get(number)
    if not values:
        return None
    if not isinstance(values[-1], kind):  # proto3: the last occurrence wins
        raise Malformed(f"field {number} has the wrong wire type")
    return values[-1]


def pb_bytes(fields: dict, number: int) -> bytes:
    return _last(fields, number, bytes) or b""


def pb_str(fields: dict, number: int) -> str:
    try:
        return pb_bytes(fields, number).decode()
    except UnicodeDecodeError:
        raise Malformed(f"field {number} is not UTF-8") from None


def pb_uint32s(fields: dict, number: int) -> list[int]:
    """A repeated uint32 field, packed or not."""
    out: list[int] = []
    for value in fields.get(number, ()):
        if isinstance(value, int):
            out.append(value & 0xFFFFFFFF)
            continue
        pos = 0
        while pos < len(value):
            item, pos = _read_varint(value, pos)
            out.append(item & 0xFFFFFFFF)
    return out


def _write_varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # a negative int64 as its two's complement
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def pb_encode(*fields: tuple[int, int | bytes | str]) -> bytes:
    """A message of (number, value) fields: int as varint, str and bytes delimited."""
    out = bytearray()
    for number, value in fields:
        if isinstance(value, str):
            value = value.encode()
        if isinstance(value, bytes):
            out += _write_varint(number << 3 | 2) + _write_varint(len(value)) + value
        else:
            out += _write_varint(number << 3) + _write_varint(value)
    return bytes(out)


def pack_any(name: str, message: bytes) -> bytes:
    """``message`` as a google.protobuf.Any of arrow.flight.protocol.sql.<name>."""
    return pb_encode((1, _ANY_PREFIX + _PACKAGE + name), (2, message))


def unpack_any(data: bytes) -> tuple[str, dict[int, list[int | bytes]]]:
    """(Flight SQL message name, its fields) of a google.protobuf.Any."""
    fields = pb_decode(data)
    url = pb_str(fields, 1)
    name = url.rpartition("/")[2]
    if "/" not in url or not name.startswith(_PACKAGE):
        raise Malformed(f"not a Flight SQL message: {url[:200]!r}")
    return name[len(_PACKAGE):], pb_decode(pb_bytes(fields, 2))


# -- SqlInfo ----------------------------------------------------------------------------

_SQL_INFO_VALUE = pa.dense_union([
    pa.field("string_value", pa.utf8()),
    pa.field("bool_value", pa.bool_()),
    pa.field("bigint_value", pa.int64()),
    pa.field("int32_bitmask", pa.int32()),
    pa.field("string_list", pa.list_(pa.field("string_data", pa.utf8()))),
    pa.field("int32_to_int32_list_map",
             pa.map_(pa.int32(), pa.list_(pa.field("$data$", pa.int32())))),
])
SQL_INFO_SCHEMA = pa.schema([pa.field("info_name", pa.uint32(), nullable=False),
                             pa.field("value", _SQL_INFO_VALUE, nullable=False)])
#: SqlInfo id -> value: str (string_value), bool (bool_value) or int (int32_bitmask).


def sql_info_table(info: dict[int, str | bool | int], wanted: list[int]) -> pa.Table:
    """The SqlInfo rows asked for (all when ``wanted`` is empty; ids not in ``info``
    omitted): a str value is a string_value, a bool a bool_value, an int an int32_bitmask."""
    ids = [i for i in dict.fromkeys(wanted or info) if i in info]
    strings: list[str] = []
    bools: list[bool] = []
    ints: list[int] = []
    codes: list[int] = []
    offsets: list[int] = []
    for ident in ids:
        value = info[ident]
        column, code = ((bools, 1) if isinstance(value, bool) else
                        (strings, 0) if isinstance(value, str) else (ints, 3))
        codes.append(code)
        offsets.append(len(column))
        column.append(value)
    children = [pa.array(strings, pa.utf8()), pa.array(bools, pa.bool_()),
                pa.array([], pa.int64()), pa.array(ints, pa.int32()),
                pa.array([], _SQL_INFO_VALUE[4].type), pa.array([], _SQL_INFO_VALUE[5].type)]
    value = pa.UnionArray.from_dense(
        pa.array(codes, pa.int8()), pa.array(offsets, pa.int32()), children,
        [f.name for f in _SQL_INFO_VALUE], list(range(6)))
    return pa.Table.from_arrays([pa.array(ids, pa.uint32()), value], schema=SQL_INFO_SCHEMA)


class FlightUnimplementedError(pa.ArrowNotImplementedError):
    """Sent as gRPC UNIMPLEMENTED."""


def unpack_command(descriptor) -> tuple[str, dict]:
    """(Flight SQL message name, its fields) of a FlightDescriptor's command."""
    if descriptor.descriptor_type != fl.DescriptorType.CMD:
        raise FlightUnimplementedError("only Flight SQL command descriptors are served")
    return unpack_any(descriptor.command)


def expect(name: str, wanted: str) -> None:
    if name != wanted:
        raise Malformed(f"expected {wanted}, got {name}")
