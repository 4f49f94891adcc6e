"""Differential tests: decode_param must read Bind parameters the way PostgreSQL 15 does.

Binary: PostgreSQL's own send functions (int4send, numeric_send, array_send, ...) give
the exact bytes a client puts in a Bind message; decoding them must give the value.
Text: PostgreSQL's own output text, and the spellings drivers send, must decode to the
value PostgreSQL itself reads from them (we ask PostgreSQL with ``typ_send(text::typ)``
and decode that binary). Bad input must fail with PostgreSQL's SQLSTATE, and hostile
bytes must raise PgError and nothing else.
"""

from __future__ import annotations

import datetime as dt
import math
import struct
import uuid
from decimal import Decimal

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from duckgres_trio.errors import PgError, SqlState
from duckgres_trio.wire import params as P
from duckgres_trio.wire.params import Interval, decode_param
from tests.support.pg15 import pg15_dsn  # noqa: F401 - pytest fixture

UTC = dt.UTC

# type name -> (oid, array oid, send function)
TYPES = {
    "bool": (16, 1000, "boolsend"),
    "int2": (21, 1005, "int2send"),
    "int4": (23, 1007, "int4send"),
    "int8": (20, 1016, "int8send"),
    "oid": (26, 1028, "oidsend"),
    "float4": (700, 1021, "float4send"),
    "float8": (701, 1022, "float8send"),
    "numeric": (1700, 1231, "numeric_send"),
    "text": (25, 1009, "textsend"),
    "varchar": (1043, 1015, "varcharsend"),
    "bpchar": (1042, 1014, "bpcharsend"),
    "name": (19, 1003, "namesend"),
    "bytea": (17, 1001, "byteasend"),
    "json": (114, 199, "json_send"),
    "jsonb": (3802, 3807, "jsonb_send"),
    "uuid": (2950, 2951, "uuid_send"),
    "date": (1082, 1182, "date_send"),
    "time": (1083, 1183, "time_send"),
    "timetz": (1266, 1270, "timetz_send"),
    "timestamp": (1114, 1115, "timestamp_send"),
    "timestamptz": (1184, 1185, "timestamptz_send"),
    "interval": (1186, 1187, "interval_send"),
}


@pytest.fixture(scope="module")
def pg(pg15_dsn: str):  # noqa: F811 - the imported fixture
    with psycopg.connect(pg15_dsn, autocommit=True) as conn:
        conn.execute("SET TimeZone = 'UTC'")
        yield conn


def pg_send(pg, text: str, typ: str, array: bool = False) -> bytes:
    """PostgreSQL's binary send format of ``text::typ`` (or ``typ[]``)."""
    func = "array_send" if array else TYPES[typ][2]
    suffix = "[]" if array else ""
    return pg.execute(f"SELECT {func}(%s::{typ}{suffix})", [text]).fetchone()[0]


def pg_text(pg, text: str, typ: str, array: bool = False) -> str:
    """PostgreSQL's output text of ``text::typ``."""
    suffix = "[]" if array else ""
    return pg.execute(f"SELECT (%s::{typ}{suffix})::text", [text]).fetchone()[0]


def pg_reads(pg, text: str, typ: str, array: bool = False) -> object:
    """The value PostgreSQL reads from ``text``, via its binary send format."""
    oid = TYPES[typ][1] if array else TYPES[typ][0]
    return decode_param(pg_send(pg, text, typ, array), 1, oid)


def same(a: object, b: object) -> bool:
    """Equality that also matches NaN with NaN and Decimal scale and time zones."""
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, Decimal) and isinstance(b, Decimal):
        if a.is_nan() or b.is_nan():
            return a.is_nan() and b.is_nan()
        return a == b and a.as_tuple() == b.as_tuple()
    if isinstance(a, dt.datetime) and isinstance(b, dt.datetime):
        return a == b and (a.tzinfo is None) == (b.tzinfo is None)
    if isinstance(a, dt.time) and isinstance(b, dt.time):
        return a == b and a.utcoffset() == b.utcoffset()
    return type(a) is type(b) and a == b


# ---------------------------------------------------------------------------------------
# Binary: PostgreSQL's send bytes -> expected Python value

BINARY_CASES = [
    ("int4send(42)", 23, 42),
    ("int4send((-2147483648)::int4)", 23, -(2**31)),
    ("int2send((-32768)::int2)", 21, -32768),
    ("int8send(9223372036854775807)", 20, 2**63 - 1),
    ("oidsend(4294967295::oid)", 26, 4294967295),
    ("boolsend(true)", 16, True),
    ("boolsend(false)", 16, False),
    ("float8send(1.5)", 701, 1.5),
    ("float8send('NaN')", 701, math.nan),
    ("float8send('-Infinity')", 701, -math.inf),
    ("float4send('3.14')", 700, struct.unpack(">f", struct.pack(">f", 3.14))[0]),
    ("numeric_send(-1.50)", 1700, Decimal("-1.50")),
    ("numeric_send(0)", 1700, Decimal("0")),
    ("numeric_send(0.000001)", 1700, Decimal("0.000001")),
    ("numeric_send(10000)", 1700, Decimal("10000")),
    ("numeric_send(1e20)", 1700, Decimal("100000000000000000000")),
    (
        "numeric_send(123456789012345678901234567890.123456789)",
        1700,
        Decimal("123456789012345678901234567890.123456789"),
    ),
    ("numeric_send('NaN')", 1700, Decimal("NaN")),
    ("numeric_send('Infinity')", 1700, Decimal("Infinity")),
    ("numeric_send('-Infinity')", 1700, Decimal("-Infinity")),
    ("textsend('héllo wörld')", 25, "héllo wörld"),
    ("varcharsend('x'::varchar)", 1043, "x"),
    ("bpcharsend('ab'::bpchar)", 1042, "ab"),
    ("namesend('pg_class'::name)", 19, "pg_class"),
    ("byteasend('\\x00ff10'::bytea)", 17, b"\x00\xff\x10"),
    ("json_send('{\"a\": [1, 2]}'::json)", 114, '{"a": [1, 2]}'),
    ("jsonb_send('{\"a\": [1, 2]}'::jsonb)", 3802, '{"a": [1, 2]}'),
    (
        "uuid_send('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11')",
        2950,
        uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
    ),
    ("date_send('2024-01-02')", 1082, dt.date(2024, 1, 2)),
    ("date_send('0001-01-01')", 1082, dt.date(1, 1, 1)),
    ("date_send('infinity')", 1082, "infinity"),
    ("date_send('-infinity')", 1082, "-infinity"),
    ("date_send('0044-03-15 BC')", 1082, "0044-03-15 (BC)"),
    ("date_send('12345-06-07')", 1082, "12345-06-07"),
    ("time_send('03:04:05.123456')", 1083, dt.time(3, 4, 5, 123456)),
    ("time_send('24:00:00')", 1083, "24:00:00"),
    (
        "timetz_send('03:04:05.5+05:30')",
        1266,
        dt.time(3, 4, 5, 500000, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30))),
    ),
    (
        "timetz_send('03:04:05-08')",
        1266,
        dt.time(3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=-8))),
    ),
    ("timestamp_send('2024-01-02 03:04:05.5')", 1114, dt.datetime(2024, 1, 2, 3, 4, 5, 500000)),
    ("timestamp_send('infinity')", 1114, "infinity"),
    ("timestamp_send('0044-03-15 10:00:00 BC')", 1114, "0044-03-15 (BC) 10:00:00"),
    (
        "timestamptz_send('2024-01-02 03:04:05.123456+05:30')",
        1184,
        dt.datetime(2024, 1, 1, 21, 34, 5, 123456, tzinfo=UTC),
    ),
    ("timestamptz_send('-infinity')", 1184, "-infinity"),
    ("timestamptz_send('10000-01-01 00:00:00+00')", 1184, "10000-01-01 00:00:00+00"),
    (
        "interval_send('1 year 2 mons 3 days 04:05:06.5')",
        1186,
        Interval(14, 3, 14706500000),
    ),
    ("interval_send('-1 days +02:00:00')", 1186, Interval(0, -1, 7200000000)),
    ("array_send(ARRAY[[1,2],[3,NULL]]::int4[])", 1007, [[1, 2], [3, None]]),
    ("array_send('{}'::int4[])", 1007, []),
    ("array_send('[0:1]={5,6}'::int8[])", 1016, [5, 6]),
    ("array_send(ARRAY['a b', NULL, 'NULL', 'c\"d']::text[])", 1009, ["a b", None, "NULL", 'c"d']),
    ("array_send(ARRAY[1.5, NULL, 'NaN']::numeric[])", 1231, [Decimal("1.5"), None, Decimal("NaN")]),
    ("array_send(ARRAY[true, false]::bool[])", 1000, [True, False]),
    ("array_send(ARRAY['\\x01'::bytea])", 1001, [b"\x01"]),
    ("array_send(ARRAY['2024-01-02'::date, 'infinity'])", 1182, [dt.date(2024, 1, 2), "infinity"]),
    ("array_send(ARRAY['1 day'::interval])", 1187, [Interval(0, 1, 0)]),
    (
        "array_send(ARRAY['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid])",
        2951,
        [uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")],
    ),
    ("array_send(ARRAY['[1]'::json, NULL])", 199, ["[1]", None]),
    ("array_send(ARRAY[[[1]],[[2]]]::float8[])", 1022, [[[1.0]], [[2.0]]]),
    (
        "array_send(ARRAY['2024-01-02 03:04:05+00'::timestamptz])",
        1185,
        [dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)],
    ),
]


@pytest.mark.parametrize(("expr", "oid", "expected"), BINARY_CASES, ids=[c[0] for c in BINARY_CASES])
def test_binary_from_postgres(pg, expr, oid, expected):
    data = pg.execute(f"SELECT {expr}").fetchone()[0]
    assert same(decode_param(data, 1, oid), expected)


@pytest.mark.parametrize(("expr", "oid", "expected"), BINARY_CASES, ids=[c[0] for c in BINARY_CASES])
def test_text_output_of_postgres(pg, expr, oid, expected):
    """PostgreSQL's own output text of the same value decodes to the same thing."""
    func, _, arg = expr.partition("(")
    arg = arg[:-1]
    cast = {
        16: "bool", 17: "bytea", 19: "name", 20: "int8", 21: "int2", 23: "int4", 25: "text",
        26: "oid", 114: "json", 700: "float4", 701: "float8", 1042: "bpchar",
        1043: "varchar", 1082: "date", 1083: "time", 1114: "timestamp",
        1184: "timestamptz", 1186: "interval", 1266: "timetz", 1700: "numeric",
        2950: "uuid", 3802: "jsonb",
    }.get(oid)
    if func == "array_send":
        text = pg.execute(f"SELECT ({arg})::text").fetchone()[0]
    else:
        text = pg.execute(f"SELECT ({arg}::{cast})::text").fetchone()[0]
    assert same(decode_param(text.encode(), 0, oid), expected), text


def test_timestamptz_text_in_many_zones(pg):
    """PostgreSQL prints the session zone's offset, with seconds for LMT-era values."""
    values = ["2024-01-02 03:04:05.123456+00", "1900-01-01 00:00:00+00", "1969-07-20 20:17:40+00"]
    try:
        for zone in ["Asia/Kolkata", "America/St_Johns", "Europe/Amsterdam", "Pacific/Chatham"]:
            pg.execute(f"SET TimeZone = '{zone}'")
            for value in values:
                text = pg_text(pg, value, "timestamptz")
                expected = pg_reads(pg, value, "timestamptz")
                assert same(decode_param(text.encode(), 0, 1184), expected), (zone, text)
    finally:
        pg.execute("SET TimeZone = 'UTC'")


@pytest.mark.parametrize("style", ["postgres", "postgres_verbose", "iso_8601"])
def test_interval_text_in_every_style(pg, style):
    values = [
        "1 year 2 mons 3 days 04:05:06.5",
        "-1 year -2 mons +3 days -04:05:06.5",
        "1 day",
        "-00:00:00.000001",
        "178000000 years",
        "0",
        "3 days 100:00:00",
    ]
    try:
        pg.execute(f"SET IntervalStyle = {style}")
        for value in values:
            text = pg_text(pg, value, "interval")
            pg.execute("SET IntervalStyle = postgres")
            expected = pg_reads(pg, value, "interval")
            pg.execute(f"SET IntervalStyle = {style}")
            assert decode_param(text.encode(), 0, 1186) == expected, (style, text)
    finally:
        pg.execute("SET IntervalStyle = postgres")


# ---------------------------------------------------------------------------------------
# Text: the spellings clients send, compared with what PostgreSQL reads from them

CLIENT_TEXT = [
    # psycopg
    ("2024-01-02", "date"),
    ("2024-01-02 03:04:05.123456+05:30", "timestamptz"),
    ("2024-01-02 03:04:05.123456-03:30", "timestamptz"),
    ("2024-01-02T03:04:05", "timestamp"),
    ("1 day 02:03:04", "interval"),
    ("1 day 2:03:04.000005", "interval"),
    ("-1 day 23:59:59", "interval"),
    ("3 days 0:00:00", "interval"),
    ("03:04:05.000001", "time"),
    ("03:04:05+05:30", "timetz"),
    ("12.50", "numeric"),
    ("t", "bool"),
    ("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "uuid"),
    # pgjdbc
    ("2024-01-02 03:04:05.123+00", "timestamptz"),
    ("2024-01-02 03:04:05.123+00", "timestamp"),
    ("2024-01-02 +00", "date"),
    ("0 years 0 mons 1 days 2 hours 3 mins 4.0 secs", "interval"),
    ("0 years 0 mons -1 days -2 hours -3 mins -4.5 secs", "interval"),
    ("0044-03-15 10:00:00+00 BC", "timestamptz"),
    ("0044-03-15 BC", "date"),
    ("03:04:05+00", "time"),
    # others and corner cases
    ("2024-01-02 03:04:05Z", "timestamptz"),
    ("2024-01-02 03:04:05+05", "timestamptz"),
    ("2024-01-02 03:04:05+0530", "timestamptz"),
    ("1900-01-01 00:00:00+00:19:32", "timestamptz"),
    ("2024-01-02 03:04:05 America/New_York", "timestamptz"),
    ("2024-01-02 03:04:05 UTC", "timestamptz"),
    ("2024-01-02 24:00:00", "timestamp"),
    ("2024-02-29 23:59:59.9999995", "timestamp"),
    ("  2024-01-02  ", "date"),
    ("epoch", "timestamp"),
    ("Infinity", "timestamptz"),
    ("12345-01-01", "date"),
    ("P1Y2M3DT4H5M6S", "interval"),
    ("P1Y2M3DT4H5M6.25S", "interval"),
    ("PT0.5S", "interval"),
    ("P1W", "interval"),
    ("P-1D", "interval"),
    ("P1.5M", "interval"),
    ("0.3 mons", "interval"),
    ("1:2", "interval"),
    ("-1:02:03.5", "interval"),
    ("00:00:60", "interval"),
    ("1 day 5", "interval"),
    ("P1.5Y", "interval"),
    ("1.5 months", "interval"),
    ("1.5 weeks", "interval"),
    ("2.5 days", "interval"),
    ("1 decade 2 centuries", "interval"),
    ("5", "interval"),
    ("@ 1 day 2 hours ago", "interval"),
    ("1 day ago", "interval"),
    ("100 ms 3 us", "interval"),
    ("  42  ", "int4"),
    ("+7", "int2"),
    ("-9223372036854775808", "int8"),
    ("-1", "oid"),
    ("1e-310", "float8"),
    ("  -Infinity ", "float8"),
    ("inf", "float4"),
    ("nan", "float8"),
    (".5", "float8"),
    ("5.", "float8"),
    ("1.17549435e-38", "float4"),
    ("1.5e3", "numeric"),
    ("-0", "numeric"),
    ("-0.000", "numeric"),
    ("1e-5", "numeric"),
    ("  1.000e+2 ", "numeric"),
    ("1e131071", "numeric"),
    ("1e-16383", "numeric"),
    ("inf", "numeric"),
    ("yes", "bool"),
    ("of", "bool"),
    ("  TRUE ", "bool"),
    ("0", "bool"),
    ("{A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11}", "uuid"),
    ("a0eebc999c0b4ef8bb6d6bb9bd380a11", "uuid"),
    ("a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11", "uuid"),
    ("\\xDEADbeef", "bytea"),
    ("\\x de ad", "bytea"),
    ("abc\\\\def\\001\\377", "bytea"),
    ("plain é", "bytea"),
    ("x" * 70, "name"),
    ("é" * 40, "name"),
    (' {"a": [1, 2.5e3, null, "x\\u00e9"]} ', "json"),
    ("1", "json"),
]


@pytest.mark.parametrize(("text", "typ"), CLIENT_TEXT, ids=[f"{t}:{s}" for s, t in CLIENT_TEXT])
def test_client_text_matches_postgres(pg, text, typ):
    ours = decode_param(text.encode(), 0, TYPES[typ][0])
    theirs = pg_reads(pg, text, typ)
    if typ == "timestamptz" and isinstance(ours, dt.datetime) and ours.tzinfo is None:
        ours = ours.replace(tzinfo=UTC)  # no offset: the session zone, UTC here
    if typ == "json":
        theirs = text  # json keeps the text as sent; PostgreSQL's json_send does too
    assert same(ours, theirs), (ours, theirs)


def test_named_zone_and_missing_offset():
    naive = decode_param(b"2024-01-02 03:04:05", 0, 1184)
    assert naive == dt.datetime(2024, 1, 2, 3, 4, 5) and naive.tzinfo is None
    assert decode_param(b"03:04:05", 0, 1266) == dt.time(3, 4, 5)
    bc = decode_param(b"0044-03-15 10:00:00+05 BC", 0, 1184)
    assert bc == "0044-03-15 (BC) 05:00:00+00"


ARRAY_TEXT = [
    ("{1,2,NULL}", "int4"),
    ("{{1,2},{3,4}}", "int4"),
    ("[1:2]={1,2}", "int4"),
    ("[0:1][1:1]={{1},{2}}", "int8"),
    ("  { 1 , 2 }  ", "int2"),
    ("{}", "int4"),
    ('{"a b","c\\"d",NULL,"NULL",null,"",\\,x}', "text"),
    ("{ a b , c\\ , \\ d}", "text"),
    ('{"{}","a,b",\\"q}', "varchar"),
    ("{{{{{{1}}}}}}", "int4"),
    ('{"\\\\x01",NULL}', "bytea"),
    ("{1.50,NaN,-0}", "numeric"),
    ("{t,f,NULL}", "bool"),
    ("{2024-01-02,infinity}", "date"),
    ('{"2024-01-02 03:04:05+05:30"}', "timestamptz"),
    ('{"1 day 02:00:00",NULL}', "interval"),
    ("{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}", "uuid"),
    ('{"{\\"a\\": 1}",NULL}', "json"),
    ("{1.5,-Infinity}", "float8"),
    ("{03:04:05}", "time"),
]


@pytest.mark.parametrize(("text", "typ"), ARRAY_TEXT, ids=[t for t, _ in ARRAY_TEXT])
def test_array_text_matches_postgres(pg, text, typ):
    oid = TYPES[typ][1]
    ours = decode_param(text.encode(), 0, oid)
    assert same(ours, pg_reads(pg, text, typ, array=True))
    # and PostgreSQL's output of it reads back the same
    assert same(decode_param(pg_text(pg, text, typ, array=True).encode(), 0, oid), ours)


def test_array_text_examples():
    assert decode_param(b'{"a b","c\\"d",NULL,"NULL"}', 0, 1009) == ["a b", 'c"d', None, "NULL"]
    assert decode_param(b"{{1,2},{3,4}}", 0, 1007) == [[1, 2], [3, 4]]
    assert decode_param(b"[1:2]={1,2}", 0, 1007) == [1, 2]


# ---------------------------------------------------------------------------------------
# Errors: same SQLSTATE as PostgreSQL for the same bad text

BAD_TEXT = [
    ("abc", "int4"),
    ("", "int4"),
    ("1.5", "int4"),
    ("1_000", "int4"),
    ("99999999999", "int4"),
    ("40000", "int2"),
    ("99999999999999999999999", "int8"),
    ("1" * 5000, "int8"),
    ("0x10", "int8"),
    ("maybe", "bool"),
    ("o", "bool"),
    ("", "bool"),
    ("1.2.3", "numeric"),
    ("1_000", "numeric"),
    ("1e131072", "numeric"),
    ("1e-16384", "numeric"),
    ("1.5e-16383", "numeric"),
    ("1e2147483647", "numeric"),
    ("1e99999999999999999999", "numeric"),
    ("", "numeric"),
    ("sNaN", "numeric"),
    ("1e400", "float8"),
    ("1e-400", "float8"),
    ("1e39", "float4"),
    ("abc", "float8"),
    ("1_0", "float8"),
    ("2024-13-01", "date"),
    ("2024-02-30", "date"),
    ("2023-02-29", "date"),
    ("not a date", "date"),
    ("5874898-01-01", "date"),
    ("0000-01-01", "date"),
    ("2024-01-02 25:00:00", "timestamp"),
    ("2024-01-02 24:00:01", "timestamp"),
    ("2024-01-02 12:60:00", "timestamp"),
    ("2024-01-02 03:04:05+16", "timestamptz"),
    ("2024-01-02 03:04:05 Mars/Olympus", "timestamptz"),
    ("294277-01-01 00:00:00", "timestamp"),
    ("25:00:00", "time"),
    ("24:00:00.5", "time"),
    ("noon", "time"),
    ("1 fortnight", "interval"),
    ("5 1", "interval"),
    ("-P1D", "interval"),
    ("", "interval"),
    ("1 day 12:60:00", "interval"),
    ("99999999999 days", "interval"),
    ("9999999999999999999999999 hours", "interval"),
    ("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1", "uuid"),
    ("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11x", "uuid"),
    ("a0eebc99--9c0b-4ef8-bb6d-6bb9bd380a11", "uuid"),
    (" a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "uuid"),
    ("\\xabc", "bytea"),
    ("\\xzz", "bytea"),
    ("a\\9", "bytea"),
    ("a\\", "bytea"),
    ("{bad", "json"),
    ("NaN", "json"),
    ("[1,]", "json"),
]


def pg_sqlstate(pg, text: str, typ: str, array: bool = False) -> str | None:
    suffix = "[]" if array else ""
    try:
        pg.execute(f"SELECT %s::{typ}{suffix}", [text])
    except psycopg.Error as exc:
        return exc.sqlstate
    return None


@pytest.mark.parametrize(("text", "typ"), BAD_TEXT, ids=[f"{t}:{s[:30]}" for s, t in BAD_TEXT])
def test_bad_text_same_sqlstate_as_postgres(pg, text, typ):
    expected = pg_sqlstate(pg, text, typ)
    assert expected is not None, "PostgreSQL accepted it"
    with pytest.raises(PgError) as info:
        decode_param(text.encode(), 0, TYPES[typ][0])
    assert info.value.sqlstate == expected, info.value.message


BAD_ARRAYS = [
    ("{1,2", "int4"),
    ("{1,,2}", "int4"),
    ("{{1,2},{3}}", "int4"),
    ("{{1},2}", "int4"),
    ("{1,abc}", "int4"),
    ("1,2", "int4"),
    ("{1}x", "int4"),
    ('{"a}', "text"),
    ('{a"b}', "text"),
    ("[1:3]={1,2}", "int4"),
    ("[2:1]={1}", "int4"),
    ("{{{{{{{1}}}}}}}", "int4"),
    ("[1][1][1][1][1][1][1]={{{{{{{1}}}}}}}", "int4"),
    ("{1,2}}", "int4"),
    ("{1}=", "int4"),
]


@pytest.mark.parametrize(("text", "typ"), BAD_ARRAYS, ids=[t for t, _ in BAD_ARRAYS])
def test_bad_array_text_same_sqlstate_as_postgres(pg, text, typ):
    expected = pg_sqlstate(pg, text, typ, array=True)
    assert expected is not None, "PostgreSQL accepted it"
    with pytest.raises(PgError) as info:
        decode_param(text.encode(), 0, TYPES[typ][1])
    assert info.value.sqlstate == expected, info.value.message


def test_error_messages_like_postgres():
    with pytest.raises(PgError) as info:
        decode_param(b"abc", 0, 23)
    assert info.value.sqlstate == SqlState.INVALID_TEXT_REPRESENTATION
    assert info.value.message == 'invalid input syntax for type integer: "abc"'
    with pytest.raises(PgError) as info:
        decode_param(b"\x00\x00\x00\x00\x00", 1, 23, index=1)
    assert info.value.sqlstate == SqlState.INVALID_BINARY_REPRESENTATION == "22P03"
    assert info.value.message == "incorrect binary data format in bind parameter 1"
    with pytest.raises(PgError) as info:
        decode_param(b"\x00\x00", 1, 23, index=1)
    assert info.value.sqlstate == SqlState.PROTOCOL_VIOLATION and info.value.severity == "ERROR"
    assert info.value.message == "insufficient data left in message"


class RawBinary:
    """A Bind parameter sent as these bytes in binary format, announced as ``oid``."""

    def __init__(self, oid: int, data: bytes) -> None:
        self.oid, self.data = oid, data


def pg_binary_sqlstate(pg, oid: int, data: bytes) -> str | None:
    """PostgreSQL's SQLSTATE for a binary Bind parameter of ``oid`` holding ``data``."""
    class Dump(psycopg.adapt.Dumper):
        format = psycopg.pq.Format.BINARY

        def __init__(self, cls, context=None):
            super().__init__(cls, context)

        def get_key(self, obj, format):
            return (RawBinary, obj.oid)

        def upgrade(self, obj, format):
            dumper = Dump(RawBinary)
            dumper.oid = obj.oid
            return dumper

        def dump(self, obj):
            return obj.data

    with pg.cursor() as cur:
        cur.adapters.register_dumper(RawBinary, Dump)
        try:
            cur.execute("SELECT %b", [RawBinary(oid, data)])
        except psycopg.Error as exc:
            return exc.sqlstate
    return None


SHORT_AND_LONG = [
    (23, b"\x00\x00"), (23, b"\x00" * 5), (20, b"\x00" * 7), (20, b""), (21, b"\x01"),
    (701, b"\x00" * 4), (700, b"\x00" * 8), (16, b""), (2950, b"\x00" * 15),
    (1082, b"\x00"), (1114, b"\x00" * 9),
    (1007, struct.pack(">iiI", 1, 0, 23) + struct.pack(">ii", 2, 1) + struct.pack(">ii", 4, 1)),
    (1007, struct.pack(">iiI", 1, 0, 23) + struct.pack(">ii", 1, 1) + struct.pack(">ih", 4, 1)),
    (1007, struct.pack(">iiI", 1, 0, 23) + struct.pack(">ii", 1, 1) + struct.pack(">ii", 2, 1)),
]


@pytest.mark.parametrize(("oid", "data"), SHORT_AND_LONG, ids=range(len(SHORT_AND_LONG)))
def test_short_and_long_binary_values_same_sqlstate_as_postgres(pg, oid, data):
    """Too short: 08P01 (PostgreSQL runs out of message); bytes left over: 22P03."""
    expected = pg_binary_sqlstate(pg, oid, data)
    assert expected is not None, "PostgreSQL accepted it"
    with pytest.raises(PgError) as info:
        decode_param(data, 1, oid, index=1)
    assert info.value.sqlstate == expected, info.value.message


def test_invalid_utf8_and_nul():
    for data in (b"\xff", b"a\x00b", b"\xc3("):
        with pytest.raises(PgError) as info:
            decode_param(data, 0, 25)
        assert info.value.sqlstate == "22021"
        with pytest.raises(PgError):
            decode_param(data, 1, 25)


def test_unknown_oids_and_formats():
    assert decode_param(b"(1,2)", 0, 600) == "(1,2)"  # point: text passes through
    assert decode_param(b"42", 0, 0) == "42"
    assert decode_param(b"whatever", 0, 705) == "whatever"
    assert decode_param(b"whatever", 1, 705) == "whatever"
    with pytest.raises(PgError) as info:
        decode_param(b"\x00" * 16, 1, 600)
    assert info.value.sqlstate == SqlState.FEATURE_NOT_SUPPORTED
    assert "no binary input function available for type oid 600" in info.value.message
    with pytest.raises(PgError) as info:
        decode_param(b"\x00\x00\x00\x01", 1, 0, index=3)
    assert info.value.sqlstate == "42P18"
    with pytest.raises(PgError) as info:
        decode_param(b"1", 2, 23)
    assert info.value.sqlstate == SqlState.INVALID_PARAMETER_VALUE


def test_interval_str_is_a_duckdb_literal():
    import duckdb

    value = Interval(14, 3, 14706500000)
    got = duckdb.sql(f"SELECT '{value}'::INTERVAL::VARCHAR").fetchone()[0]
    assert got == "1 year 2 months 3 days 04:05:06.5"


# ---------------------------------------------------------------------------------------
# Hostile binary input: PgError and nothing else


def array_header(ndim: int, flags: int, elem: int, dims: list[tuple[int, int]]) -> bytes:
    out = struct.pack(">iiI", ndim, flags, elem)
    for dim, lower in dims:
        out += struct.pack(">ii", dim, lower)
    return out


HOSTILE_ARRAYS = [
    array_header(100, 0, 23, []),
    array_header(7, 0, 23, [(1, 1)] * 7),
    array_header(-1, 0, 23, []),
    array_header(1, 2, 23, [(1, 1)]),
    array_header(1, 0, 25, [(1, 1)]) + struct.pack(">i", 1) + b"x",  # wrong element type
    array_header(1, 0, 23, [(-5, 1)]),
    array_header(2, 0, 23, [(2**31 - 1, 1), (2**31 - 1, 1)]),  # 4.6e18 items, no data
    array_header(6, 0, 23, [(2**31 - 1, 1)] * 6),
    array_header(1, 0, 23, [(1000000, 1)]) + struct.pack(">ii", 4, 1),
    array_header(1, 0, 23, [(1, 1)]) + struct.pack(">i", -2),  # negative length
    array_header(1, 0, 23, [(1, 1)]) + struct.pack(">i", 2**31 - 1),  # length past the end
    array_header(1, 0, 23, [(1, 1)]) + struct.pack(">i", 3) + b"\x00\x00\x00",  # short int4
    array_header(1, 0, 23, [(1, 1)]) + struct.pack(">ii", 5, 1) + b"\x00",  # long int4
    array_header(1, 0, 23, [(2, 2**31 - 1)]) + struct.pack(">iiii", 4, 1, 4, 2),
    array_header(1, 0, 23, [(1, 1)]),  # no elements at all
    array_header(1, 0, 23, [(1, 1)]) + struct.pack(">ii", 4, 1) + b"junk",
    b"\x00\x00\x00\x01",
    b"",
]


@pytest.mark.parametrize("data", HOSTILE_ARRAYS, ids=range(len(HOSTILE_ARRAYS)))
def test_hostile_binary_arrays(data):
    with pytest.raises(PgError) as info:
        decode_param(data, 1, 1007)
    assert info.value.sqlstate in ("22P03", "08P01", "54000", "42804")


def test_hostile_array_sqlstates():
    with pytest.raises(PgError) as info:
        decode_param(array_header(100, 0, 23, []), 1, 1007)
    assert info.value.sqlstate == SqlState.PROGRAM_LIMIT_EXCEEDED
    with pytest.raises(PgError) as info:
        decode_param(array_header(1, 0, 25, [(0, 1)]), 1, 1007)
    assert info.value.sqlstate == SqlState.DATATYPE_MISMATCH


HOSTILE_NUMERICS = [
    struct.pack(">HhHH", 2, 0, 0, 0) + struct.pack(">h", 1),  # 2 digits claimed, 1 given
    struct.pack(">HhHH", 3, 0, 0, 0) + struct.pack(">h", 10000),  # bad digit, then short
    struct.pack(">HhHH", 2, 0, 0x1234, 0),  # bad sign, and short
    struct.pack(">HhHH", 1, 0, 0, 0) + struct.pack(">h", 1) + b"\x00",  # a byte left over
    struct.pack(">HhH", 1, 0, 0),
    struct.pack(">HhHH", 65535, 0, 0, 0),
    struct.pack(">HhHH", 1, 0, 0x1234, 0) + struct.pack(">h", 1),  # bad sign
    struct.pack(">HhHH", 1, 0, 0, 0x4000) + struct.pack(">h", 1),  # bad dscale
    struct.pack(">HhHH", 1, 0, 0, 0) + struct.pack(">h", 10000),  # bad digit
    struct.pack(">HhHH", 1, 0, 0, 0) + struct.pack(">h", -1),
]


@pytest.mark.parametrize("data", HOSTILE_NUMERICS, ids=range(len(HOSTILE_NUMERICS)))
def test_hostile_binary_numerics(pg, data):
    expected = pg_binary_sqlstate(pg, 1700, data)
    assert expected is not None, "PostgreSQL accepted it"
    with pytest.raises(PgError) as info:
        decode_param(data, 1, 1700)
    assert info.value.sqlstate == expected, info.value.message


def test_numeric_extreme_weights_stay_bounded():
    big = struct.pack(">HhHH", 1, 32767, 0, 16383) + struct.pack(">h", 9999)
    value = decode_param(big, 1, 1700)
    assert value == Decimal(9999) * Decimal(10000) ** 32767
    tiny = struct.pack(">HhHH", 1, -32768, 0, 0) + struct.pack(">h", 9999)
    assert decode_param(tiny, 1, 1700) == Decimal(0)  # truncated to dscale 0, as PG does


@pytest.mark.parametrize(
    "expr",
    [
        "int4send(42)",
        "int8send(42)",
        "numeric_send(-123.456)",
        "date_send('2024-01-02')",
        "timestamptz_send('2024-01-02 03:04:05+00')",
        "interval_send('1 day')",
        "uuid_send(gen_random_uuid())",
        "timetz_send('03:04:05+01')",
        "array_send(ARRAY[[1,2],[3,NULL]]::int4[])",
        "array_send(ARRAY['a','b']::text[])",
        "jsonb_send('[1]'::jsonb)",
        "float8send(1.5)",
        "boolsend(true)",
    ],
)
def test_every_truncation_fails(pg, expr):
    data = pg.execute(f"SELECT {expr}").fetchone()[0]
    oid = {
        "int4send": 23, "int8send": 20, "numeric_send": 1700, "date_send": 1082,
        "timestamptz_send": 1184, "interval_send": 1186, "uuid_send": 2950,
        "timetz_send": 1266, "jsonb_send": 3802, "float8send": 701, "boolsend": 16,
    }.get(expr.split("(")[0])
    if oid is None:
        oid = 1007 if "int4" in expr else 1009
    decode_param(data, 1, oid)
    for cut in range(len(data)):
        with pytest.raises(PgError):
            decode_param(data[:cut], 1, oid)
    with pytest.raises(PgError):
        decode_param(data + b"\x00", 1, oid)


KNOWN_OIDS = sorted(set(P._BINARY_DECODERS) | set(P.ARRAY_ELEMENT))


@settings(max_examples=400, deadline=None)
@given(
    oid=st.sampled_from(KNOWN_OIDS),
    fmt=st.sampled_from([0, 1]),
    data=st.binary(max_size=80),
)
def test_random_bytes_raise_only_pgerror(oid, fmt, data):
    try:
        decode_param(data, fmt, oid)
    except PgError:
        pass


@st.composite
def mutated_array(draw):
    elem_oid = draw(st.sampled_from(sorted(P.ARRAY_ELEMENT.items())))
    ndim = draw(st.integers(0, 7))
    header = struct.pack(">iiI", ndim, draw(st.sampled_from([0, 1, 2])), elem_oid[1])
    for _ in range(ndim):
        header += struct.pack(
            ">ii", draw(st.integers(-2, 4) | st.just(2**31 - 1)), draw(st.integers(-5, 5))
        )
    body = b""
    for _ in range(draw(st.integers(0, 6))):
        length = draw(st.integers(-3, 12) | st.just(2**31 - 1))
        body += struct.pack(">i", length) + draw(st.binary(max_size=12))
    return elem_oid[0], header + body


@settings(max_examples=400, deadline=None)
@given(mutated_array())
def test_structured_garbage_arrays_raise_only_pgerror(case):
    oid, data = case
    try:
        decode_param(data, 1, oid)
    except PgError:
        pass


@settings(max_examples=300, deadline=None)
@given(
    oid=st.sampled_from(sorted(P._TEXT_DECODERS) + sorted(P.ARRAY_ELEMENT)),
    text=st.text(alphabet=st.sampled_from(list('{}[]:=,"\\ NULnul0123456789.-+eE:TZtbcday ')), max_size=40),
)
def test_random_text_raises_only_pgerror(oid, text):
    try:
        decode_param(text.encode(), 0, oid)
    except PgError:
        pass


# ---------------------------------------------------------------------------------------
# Hypothesis round trips through PostgreSQL

HYP = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@HYP
@given(st.integers(-(2**63), 2**63 - 1))
def test_int8_round_trip(pg, value):
    data = pg.execute("SELECT int8send(%s::int8)", [str(value)]).fetchone()[0]
    assert decode_param(data, 1, 20) == value
    assert decode_param(str(value).encode(), 0, 20) == value


@HYP
@given(st.integers(-(2**31), 2**31 - 1))
def test_int4_round_trip(pg, value):
    data = pg.execute("SELECT int4send(%s::int4)", [str(value)]).fetchone()[0]
    assert decode_param(data, 1, 23) == value


@HYP
@given(st.floats(allow_nan=True, allow_infinity=True))
def test_float8_round_trip(pg, value):
    data, text = pg.execute("SELECT float8send(%s::float8), %s::float8::text", [repr(value)] * 2).fetchone()
    assert same(decode_param(data, 1, 701), value)
    assert same(decode_param(text.encode(), 0, 701), value)
    assert same(decode_param(repr(value).encode(), 0, 701), value)


@HYP
@given(st.floats(width=32, allow_nan=False))
def test_float4_round_trip(pg, value):
    data, text = pg.execute("SELECT float4send(%s::float4), %s::float4::text", [repr(value)] * 2).fetchone()
    assert decode_param(data, 1, 700) == value
    assert decode_param(text.encode(), 0, 700) == value
    assert decode_param(repr(value).encode(), 0, 700) == value


@HYP
@given(st.decimals(allow_nan=False, allow_infinity=False) | st.decimals(places=8, allow_nan=False, allow_infinity=False))
def test_numeric_round_trip(pg, value):
    text_in = str(value)
    if abs(value.adjusted()) > 900:
        return  # beyond what numeric_in accepts in exponent form
    data, text = pg.execute("SELECT numeric_send(%s::numeric), %s::numeric::text", [text_in] * 2).fetchone()
    from_binary = decode_param(data, 1, 1700)
    assert from_binary == value
    assert same(decode_param(text.encode(), 0, 1700), from_binary)
    assert same(decode_param(text_in.encode(), 0, 1700), from_binary)


@HYP
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")))
def test_text_round_trip(pg, value):
    data = pg.execute("SELECT textsend(%s::text)", [value]).fetchone()[0]
    assert decode_param(data, 1, 25) == value
    assert decode_param(value.encode(), 0, 25) == value


@HYP
@given(st.binary())
def test_bytea_round_trip(pg, value):
    data, text = pg.execute("SELECT byteasend(%s::bytea), %s::bytea::text", [value] * 2).fetchone()
    assert decode_param(data, 1, 17) == value
    assert decode_param(text.encode(), 0, 17) == value


@HYP
@given(st.dates())
def test_date_round_trip(pg, value):
    data, text = pg.execute("SELECT date_send(%s::date), %s::date::text", [value.isoformat()] * 2).fetchone()
    assert decode_param(data, 1, 1082) == value
    assert decode_param(text.encode(), 0, 1082) == value


@HYP
@given(st.datetimes())
def test_timestamp_round_trip(pg, value):
    iso = value.isoformat(" ")
    data, text = pg.execute(
        "SELECT timestamp_send(%s::timestamp), %s::timestamp::text", [iso] * 2
    ).fetchone()
    assert decode_param(data, 1, 1114) == value
    assert decode_param(text.encode(), 0, 1114) == value
    assert decode_param(iso.encode(), 0, 1114) == value


@HYP
@given(
    st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30)),
    st.integers(-15 * 60, 15 * 60).map(lambda m: dt.timezone(dt.timedelta(minutes=m))),
)
def test_timestamptz_round_trip(pg, naive, tz):
    value = naive.replace(tzinfo=tz)
    iso = value.isoformat(" ")
    data, text = pg.execute(
        "SELECT timestamptz_send(%s::timestamptz), %s::timestamptz::text", [iso] * 2
    ).fetchone()
    assert decode_param(data, 1, 1184) == value
    assert decode_param(text.encode(), 0, 1184) == value
    assert decode_param(iso.encode(), 0, 1184) == value


@HYP
@given(
    st.integers(-(2**31), 2**31 - 1),
    st.integers(-(2**31), 2**31 - 1),
    st.integers(-(2**62), 2**62),
)
def test_interval_round_trip(pg, months, days, micros):
    literal = f"{months} months {days} days {micros} microseconds"
    data, text = pg.execute(
        "SELECT interval_send(%s::interval), %s::interval::text", [literal] * 2
    ).fetchone()
    expected = Interval(months, days, micros)
    assert decode_param(data, 1, 1186) == expected
    assert decode_param(text.encode(), 0, 1186) == expected
    assert decode_param(literal.encode(), 0, 1186) == expected


def _rectangular(elements):
    """Nested lists: 1-3 dimensions of matching lengths."""
    return st.integers(1, 3).flatmap(
        lambda ndim: st.lists(st.integers(1, 3), min_size=ndim, max_size=ndim).flatmap(
            lambda dims: _shaped(elements, dims)
        )
    )


def _shaped(elements, dims):
    if len(dims) == 1:
        return st.lists(elements, min_size=dims[0], max_size=dims[0])
    return st.lists(_shaped(elements, dims[1:]), min_size=dims[0], max_size=dims[0])


def _literal(value, quote) -> str:
    if isinstance(value, list):
        return "{" + ",".join(_literal(v, quote) for v in value) + "}"
    if value is None:
        return "NULL"
    return quote(value)


def _quote_text(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


@HYP
@given(_rectangular(st.none() | st.integers(-(2**63), 2**63 - 1)))
def test_int_array_round_trip(pg, value):
    literal = _literal(value, str)
    data, text = pg.execute("SELECT array_send(%s::int8[]), %s::int8[]::text", [literal] * 2).fetchone()
    assert decode_param(data, 1, 1016) == value
    assert decode_param(text.encode(), 0, 1016) == value
    assert decode_param(literal.encode(), 0, 1016) == value


@HYP
@given(
    _rectangular(
        st.none()
        | st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))
    )
)
def test_text_array_round_trip(pg, value):
    literal = _literal(value, _quote_text)
    data, text = pg.execute("SELECT array_send(%s::text[]), %s::text[]::text", [literal] * 2).fetchone()
    assert decode_param(data, 1, 1009) == value
    assert decode_param(text.encode(), 0, 1009) == value
    assert decode_param(literal.encode(), 0, 1009) == value


def test_check_numeric_params_finds_decimals_at_any_depth_once_per_schema():
    # which parameters can hold a DECIMAL is remembered per schema object (every Bind
    # checks): a DECIMAL inside a list or a record still counts, and a schema without
    # one lets anything through unchecked
    import pyarrow as pa

    nested = pa.schema([
        pa.field("$1", pa.int32()),
        pa.field("$2", pa.struct([pa.field("a", pa.int32()),
                                  pa.field("b", pa.list_(pa.decimal128(5, 2)))])),
        pa.field("$3", pa.list_(pa.decimal128(38, 10)))])
    plain = pa.schema([pa.field("$1", pa.int32()), pa.field("$2", pa.string())])
    for _ in range(2):  # the second round answers from what the first remembered
        for values in ([1, (1, [Decimal("NaN")]), None], [1, None, [Decimal("Infinity")]]):
            with pytest.raises(PgError):
                P.check_numeric_params(values, nested)
        P.check_numeric_params([1, (1, [Decimal("1.5")]), [Decimal("2")]], nested)
        P.check_numeric_params([Decimal("NaN"), "NaN"], plain)
