"""PostgreSQL types of the columns we send: Arrow field in, RowDescription type out.

DuckDB hands us Arrow (with ``arrow_lossless_conversion`` on, so HUGEINT, TIMETZ, BIT,
UUID, JSON, ... arrive as extension types). ``classify`` names the logical kind of a
field once; ``pg_type_for`` (here) and the text encoder (``wire.text``) both dispatch on
that kind, so the type a client is told and the bytes it gets cannot disagree.
docs/types.md has the full table and the reasons behind each choice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

import pyarrow as pa

from duckgres_trio.wire import unbounded

# OIDs from PostgreSQL's pg_type.dat (stable across versions).
BOOL = 16
BYTEA = 17
INT8 = 20
INT2 = 21
INT4 = 23
TEXT = 25
OID = 26
JSON = 114
JSON_ARRAY = 199
FLOAT4 = 700
FLOAT8 = 701
BOOL_ARRAY = 1000
BYTEA_ARRAY = 1001
INT2_ARRAY = 1005
INT4_ARRAY = 1007
TEXT_ARRAY = 1009
INT8_ARRAY = 1016
OID_ARRAY = 1028
FLOAT4_ARRAY = 1021
FLOAT8_ARRAY = 1022
DATE = 1082
TIME = 1083
TIMESTAMP = 1114
TIMESTAMP_ARRAY = 1115
DATE_ARRAY = 1182
TIME_ARRAY = 1183
TIMESTAMPTZ = 1184
TIMESTAMPTZ_ARRAY = 1185
INTERVAL = 1186
INTERVAL_ARRAY = 1187
NUMERIC_ARRAY = 1231
TIMETZ = 1266
TIMETZ_ARRAY = 1270
VARBIT = 1562
VARBIT_ARRAY = 1563
NUMERIC = 1700
UUID = 2950
UUID_ARRAY = 2951
REGCLASS = 2205
REGTYPE = 2206
REGCLASS_ARRAY = 2210
REGTYPE_ARRAY = 2211
REGNAMESPACE = 4089
REGNAMESPACE_ARRAY = 4090
RECORD = 2249
RECORD_ARRAY = 2287
JSONB = 3802
JSONB_ARRAY = 3807

#: PostgreSQL's numeric typmod encoding (VARHDRSZ is 4).
_VARHDRSZ = 4


@dataclass(frozen=True, slots=True)
class PgType:
    """What RowDescription says about a column: OID, name, pg_type.typlen, typmod."""

    oid: int
    name: str
    typlen: int
    typmod: int = -1


def numeric_typmod(precision: int, scale: int) -> int:
    """atttypmod of numeric(precision, scale), as PostgreSQL stores it."""
    return ((precision << 16) | (scale & 0xFFFF)) + _VARHDRSZ


# Scalar kinds -> (element type, array type). typlen is pg_type.typlen.
_SCALARS: dict[str, tuple[PgType, PgType]] = {
    "bool": (PgType(BOOL, "bool", 1), PgType(BOOL_ARRAY, "_bool", -1)),
    "int2": (PgType(INT2, "int2", 2), PgType(INT2_ARRAY, "_int2", -1)),
    "int4": (PgType(INT4, "int4", 4), PgType(INT4_ARRAY, "_int4", -1)),
    "int8": (PgType(INT8, "int8", 8), PgType(INT8_ARRAY, "_int8", -1)),
    "oid": (PgType(OID, "oid", 4), PgType(OID_ARRAY, "_oid", -1)),
    "float4": (PgType(FLOAT4, "float4", 4), PgType(FLOAT4_ARRAY, "_float4", -1)),
    "float8": (PgType(FLOAT8, "float8", 8), PgType(FLOAT8_ARRAY, "_float8", -1)),
    "numeric": (PgType(NUMERIC, "numeric", -1), PgType(NUMERIC_ARRAY, "_numeric", -1)),
    "text": (PgType(TEXT, "text", -1), PgType(TEXT_ARRAY, "_text", -1)),
    "bytea": (PgType(BYTEA, "bytea", -1), PgType(BYTEA_ARRAY, "_bytea", -1)),
    "varbit": (PgType(VARBIT, "varbit", -1), PgType(VARBIT_ARRAY, "_varbit", -1)),
    "date": (PgType(DATE, "date", 4), PgType(DATE_ARRAY, "_date", -1)),
    # STRUCT: an anonymous record (DuckDB's STRUCT keeps no composite type's name)
    "record": (PgType(RECORD, "record", -1), PgType(RECORD_ARRAY, "_record", -1)),
    "time": (PgType(TIME, "time", 8), PgType(TIME_ARRAY, "_time", -1)),
    "timetz": (PgType(TIMETZ, "timetz", 12), PgType(TIMETZ_ARRAY, "_timetz", -1)),
    "timestamp": (PgType(TIMESTAMP, "timestamp", 8), PgType(TIMESTAMP_ARRAY, "_timestamp", -1)),
    "timestamptz": (
        PgType(TIMESTAMPTZ, "timestamptz", 8),
        PgType(TIMESTAMPTZ_ARRAY, "_timestamptz", -1),
    ),
    "interval": (PgType(INTERVAL, "interval", 16), PgType(INTERVAL_ARRAY, "_interval", -1)),
    "uuid": (PgType(UUID, "uuid", 16), PgType(UUID_ARRAY, "_uuid", -1)),
    "json": (PgType(JSON, "json", -1), PgType(JSON_ARRAY, "_json", -1)),
    "regtype": (PgType(REGTYPE, "regtype", 4), PgType(REGTYPE_ARRAY, "_regtype", -1)),
    "regclass": (PgType(REGCLASS, "regclass", 4), PgType(REGCLASS_ARRAY, "_regclass", -1)),
    "regnamespace": (PgType(REGNAMESPACE, "regnamespace", 4),
                     PgType(REGNAMESPACE_ARRAY, "_regnamespace", -1)),
    "jsonb": (PgType(JSONB, "jsonb", -1), PgType(JSONB_ARRAY, "_jsonb", -1)),
}

#: A reg* value (regtype, regclass, regnamespace) is an OID that prints as a name, and
#: DuckDB has no such type: the engine sends a STRUCT of the two, whose first field's
#: name says which type (pg_catalog's <kind>_value macros). Its text form is the name,
#: its binary form the OID, as regtypeout / regtypesend give them.
REG_FIELDS = {"duckgres_regtype": "regtype", "duckgres_regclass": "regclass",
              "duckgres_regnamespace": "regnamespace"}
REG_NAME_FIELD = "name"

#: A select list's constant of bare numeric with the display scale PostgreSQL gives it
#: (``1.50::numeric`` is 1.50): DuckDB's DECIMAL keeps no scale per value, so the
#: engine sends a STRUCT of the value and its scale (pg_catalog's numeric_scaled).
SCALED_NUMERIC_FIELDS = ("duckgres_numeric", "dscale")

# Kinds whose PostgreSQL type is numeric, and the typmod each gets: the smallest
# numeric(p, 0) holding every value (uint64 max has 20 digits, uhugeint max and
# hugeint min have 39); bignum (DuckDB VARINT) is unbounded, so plain numeric.
_NUMERIC_TYPMOD = {
    "uint64": numeric_typmod(20, 0),
    "hugeint": numeric_typmod(39, 0),
    "uhugeint": numeric_typmod(39, 0),
    "bignum": -1,
}

# Which integer widths fit which PostgreSQL integer: unsigned types go one size up
# because PostgreSQL has no unsigned integers.
_INT_KIND = {
    pa.int8(): "int2",
    pa.int16(): "int2",
    pa.uint8(): "int2",
    pa.int32(): "int4",
    pa.uint16(): "int4",
    pa.int64(): "int8",
    pa.uint32(): "oid",  # PostgreSQL's one unsigned 32-bit type (docs/types.md)
    pa.uint64(): "uint64",
}

# DuckDB's own extension types (vendor DuckDB, canonical name arrow.opaque).
_DUCKDB_OPAQUE = {
    "hugeint": "hugeint",
    "uhugeint": "uhugeint",
    "bit": "varbit",
    "time_tz": "timetz",
    "bignum": "bignum",
}
_CANONICAL_EXTENSIONS = {"arrow.uuid": "uuid", "arrow.json": "json", "arrow.bool8": "bool"}


def extension_of(field: pa.Field) -> tuple[str, str] | None:
    """(extension name, opaque type_name) of a field, or None for a plain Arrow type.

    pyarrow registers the canonical extensions (bool8, uuid, json, opaque) since 18/19;
    an older pyarrow leaves them as storage type plus field metadata, so read both.
    """
    typ = field.type
    if isinstance(typ, pa.BaseExtensionType):
        return typ.extension_name, getattr(typ, "type_name", "")
    meta = field.metadata or {}
    name = meta.get(b"ARROW:extension:name")
    if name is None:
        return None
    type_name = ""
    if name == b"arrow.opaque":
        type_name = json.loads(meta.get(b"ARROW:extension:metadata", b"{}")).get("type_name", "")
    return name.decode(), type_name


def storage_field(field: pa.Field) -> pa.Field:
    """The field with its extension type replaced by the storage type."""
    typ = field.type
    if isinstance(typ, pa.BaseExtensionType):
        typ = typ.storage_type
    return pa.field(field.name, typ, field.nullable)


def classify(field: pa.Field) -> str:
    """See ``_classify``; cached, since every batch of a result asks again."""
    return _classify_cached(field, _metadata_key(field))


def _metadata_key(field: pa.Field) -> tuple | None:
    # Field equality ignores metadata, and an extension may be named only there.
    return tuple(sorted(field.metadata.items())) if field.metadata else None


@lru_cache(maxsize=4096)
def _classify_cached(field: pa.Field, _metadata: tuple | None) -> str:
    return _classify(field)


def _classify(field: pa.Field) -> str:
    """The logical kind of a field: a key of _SCALARS, a numeric kind, or a container.

    Containers are "list" (list, large_list, list_view, fixed_size_list), "struct",
    "map", "union" and "dictionary"; "unknown" is anything else, sent as text.
    """
    ext = extension_of(field)
    if ext is not None:
        name, type_name = ext
        if name == "arrow.opaque" and type_name in _DUCKDB_OPAQUE:
            return _DUCKDB_OPAQUE[type_name]
        if name == "arrow.json" and _declared_parts(field) == JSONB_IDENTITY:
            return "jsonb"
        if name in _CANONICAL_EXTENSIONS:
            return _CANONICAL_EXTENSIONS[name]
        # An extension we do not know (e.g. DuckDB GEOMETRY as geoarrow.wkb) is sent
        # as whatever its storage is.
        return classify(storage_field(field))
    return _classify_plain(field.type)


def _classify_plain(typ: pa.DataType) -> str:
    t = pa.types
    if t.is_boolean(typ):
        return "bool"
    if t.is_integer(typ):
        return _INT_KIND[typ]
    if t.is_float32(typ) or t.is_float16(typ):
        return "float4"
    if t.is_float64(typ):
        return "float8"
    if t.is_decimal(typ):
        return "decimal"
    if t.is_string(typ) or t.is_large_string(typ) or t.is_string_view(typ):
        return "text"
    if (
        t.is_binary(typ)
        or t.is_large_binary(typ)
        or t.is_binary_view(typ)
        or t.is_fixed_size_binary(typ)
    ):
        return "bytea"
    if t.is_date(typ):
        return "date"
    if t.is_time(typ):
        return "time"
    if t.is_timestamp(typ):
        return "timestamptz" if typ.tz is not None else "timestamp"
    if t.is_interval(typ) or t.is_duration(typ):
        return "interval"
    if t.is_map(typ):
        return "map"
    if t.is_list(typ) or t.is_large_list(typ) or t.is_fixed_size_list(typ):
        return "list"
    if t.is_list_view(typ) or t.is_large_list_view(typ):
        return "list"
    if t.is_struct(typ):
        if typ.num_fields == 2 and typ.field(1).name == REG_NAME_FIELD \
                and typ.field(0).name in REG_FIELDS:
            return REG_FIELDS[typ.field(0).name]
        if tuple(typ.field(i).name for i in range(typ.num_fields)) == SCALED_NUMERIC_FIELDS:
            return "scaled_numeric"
        return "struct"
    if t.is_union(typ):
        return "union"
    if t.is_dictionary(typ):
        return "dictionary"
    return "unknown"


def element_field(field: pa.Field) -> pa.Field:
    """The field a list or dictionary column's values have."""
    typ = field.type
    if pa.types.is_dictionary(typ):
        return pa.field(field.name, typ.value_type)
    return typ.value_field


def _element_type(field: pa.Field) -> PgType:
    """The PostgreSQL type of one non-array value of this field."""
    kind = classify(field)
    if kind == "dictionary":
        return _element_type(element_field(field))
    if kind in _SCALARS:
        return _SCALARS[kind][0]
    if kind == "decimal":
        typ = storage_field(field).type
        if unbounded.is_unbounded(typ):  # bare numeric and arithmetic on it: no typmod
            return PgType(NUMERIC, "numeric", -1)
        return PgType(NUMERIC, "numeric", -1, numeric_typmod(typ.precision, typ.scale))
    if kind == "scaled_numeric":
        return PgType(NUMERIC, "numeric", -1)
    if kind in _NUMERIC_TYPMOD:
        return PgType(NUMERIC, "numeric", -1, _NUMERIC_TYPMOD[kind])
    if kind == "struct":
        return _SCALARS["record"][0]
    if kind in ("map", "union"):
        return _SCALARS["json"][0]
    return _SCALARS["text"][0]


def _innermost(field: pa.Field) -> pa.Field:
    """Strip every list level: PostgreSQL arrays are multi-dimensional, not nested."""
    while classify(field) == "list":
        field = element_field(field)
    return field


def pg_type_for(field: pa.Field) -> PgType:
    """The RowDescription type of a column holding this Arrow field."""
    return _pg_type_cached(field, _metadata_key(field))


#: Field metadata the engine sets where the Arrow type cannot name the PostgreSQL type
#: (a user's enum type, found by its labels; a composite type, found by its fields):
#: b"<oid> <typlen> <element oid> <typname>", the element OID 0 unless it is an array
#: type. engine/statement.py writes it under the same key. An enum's values are text
#: (a dictionary of strings), as enum_send's are; a composite's are records.
PG_TYPE_KEY = b"duckgres.pg_type"
#: PG_TYPE_KEY's value (split) on a JSON column that is jsonb (a column declared jsonb,
#: a jsonb expression): classified "jsonb", its own kind (wire/jsonb.py prints it).
JSONB_IDENTITY = ["3802", "-1", "0", "jsonb"]


def _declared_parts(field: pa.Field) -> list[str] | None:
    value = (field.metadata or {}).get(PG_TYPE_KEY)
    return None if value is None else value.decode().split(" ", 3)


def _declared(field: pa.Field) -> PgType | None:
    parts = _declared_parts(field)
    if parts is None or parts == JSONB_IDENTITY:
        return None
    return PgType(int(parts[0]), parts[3], int(parts[1]))


def declared_element_oid(field: pa.Field) -> int | None:
    """The element OID of an array column whose type PG_TYPE_KEY names, else None."""
    parts = _declared_parts(field)
    return int(parts[2]) or None if parts is not None else None


@lru_cache(maxsize=4096)
def _pg_type_cached(field: pa.Field, _metadata: tuple | None) -> PgType:
    declared = _declared(field)
    if declared is not None:
        return declared
    if classify(field) != "list":
        return _element_type(field)
    element = _element_type(_innermost(field))
    array_type = _SCALARS[_scalar_key(element)][1]
    # PostgreSQL reports an array column's typmod as its element's (numeric(10,2)[]).
    return PgType(array_type.oid, array_type.name, array_type.typlen, element.typmod)


def _scalar_key(element: PgType) -> str:
    for key, (scalar, _array) in _SCALARS.items():
        if scalar.oid == element.oid:
            return key
    raise AssertionError(f"no array type for {element}")
