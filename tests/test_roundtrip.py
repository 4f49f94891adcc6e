"""Hypothesis: values round-trip through psycopg unchanged, every combination of text and
binary parameters and text and binary results."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

MAX_EXAMPLES = 25

text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
               max_size=40)
aware = st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30),
                     timezones=st.just(dt.timezone.utc))

CASES = {
    "SMALLINT": st.integers(-(2**15), 2**15 - 1),
    "INTEGER": st.integers(-(2**31), 2**31 - 1),
    "BIGINT": st.integers(-(2**63), 2**63 - 1),
    "DOUBLE": st.floats(allow_nan=False),
    "DECIMAL(18,4)": st.decimals(min_value=-(10**13), max_value=10**13, places=4,
                                 allow_nan=False, allow_infinity=False),
    "VARCHAR": text,
    "BLOB": st.binary(max_size=40),
    "BOOLEAN": st.booleans(),
    "DATE": st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)),
    "TIMESTAMP": st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31)),
    "TIMESTAMPTZ": aware,
    "TIME": st.times(),
    "UUID": st.uuids(),
    "INTEGER[]": st.lists(st.one_of(st.none(), st.integers(-(2**31), 2**31 - 1)), max_size=8),
    "VARCHAR[]": st.lists(st.one_of(st.none(), text), max_size=6),
}


@pytest.fixture(scope="module")
def conn(server):
    with psycopg.connect(server.dsn(dbname="roundtrip"), autocommit=True) as connection:
        yield connection


@pytest.mark.parametrize("param_format", ["s", "b"])
@pytest.mark.parametrize("binary_results", [False, True])
@pytest.mark.parametrize("type_name", list(CASES))
def test_round_trip(conn, type_name, param_format, binary_results):
    strategy = CASES[type_name]

    @settings(max_examples=MAX_EXAMPLES, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(strategy)
    def check(value):
        cur = conn.cursor(binary=binary_results)
        cur.execute(f"SELECT %{param_format}::{type_name}", [value])
        (back,) = cur.fetchone()
        assert back == _normalise(value, type_name), (value, back)

    check()


def _normalise(value, type_name):
    if type_name == "DECIMAL(18,4)":
        return value.quantize(Decimal("0.0001"))
    if type_name == "UUID":
        return uuid.UUID(str(value))
    return value
