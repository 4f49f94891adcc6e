"""bytea's functions and pg_terminate_backend, differential against PostgreSQL 15.

Each statement runs on both servers as a simple Query (text results) and through the
extended protocol (text and binary results); bytea parameters go in text and in binary.
Result column names, type OIDs and values, or the SQLSTATE when both fail, must agree.
What still differs is a strict xfail with its reason (and a line in
docs/compatibility.md).
"""

from __future__ import annotations

import psycopg
import pytest

from tests.support.differential import outcome
from tests.support.pg15 import pg15_dsn  # noqa: F401 - pytest fixture

#: statements without parameters: values, NULLs, empty values, and errors
CASES = [
    r"select length('\x0102'::bytea), octet_length('\x0102'::bytea), length('abé'), "
    r"octet_length('abé')",
    r"select position('\x02'::bytea in '\x0102'::bytea), "
    r"position('\x11'::bytea in '\x0110'::bytea), position(''::bytea in '\x01'::bytea), "
    r"position('b' in 'abc')",
    r"select substring('\x010203'::bytea from 2 for 1), substr('\x010203'::bytea, 2), "
    r"substring('\x010203'::bytea from 0 for 2), substring('\x010203'::bytea from -5 for 2), "
    r"substring('abc' from 2), substr('abc', 2, 1)",
    r"select substring('\x010203'::bytea from 5), substring('\x010203'::bytea for 2)",
    r"select substring('\x010203'::bytea from 1 for -1)",
    r"select overlay('\x010203'::bytea placing '\xff'::bytea from 2 for 1), "
    r"overlay('\x010203'::bytea placing '\xffee' from 2), "
    r"overlay('abcdef' placing 'XY' from 2 for 3), overlay('abc' placing 'Z' from 2)",
    r"select overlay('\x010203'::bytea placing '\xff'::bytea from 0 for 1)",
    r"select btrim('\x0001020001'::bytea, '\x00'::bytea), "
    r"trim('\x00'::bytea from '\x000100'::bytea), ltrim('\x0001'::bytea, '\x00'::bytea), "
    r"rtrim('\x0100'::bytea, '\x00'::bytea), btrim('\x0000'::bytea, '\x00'::bytea), "
    r"btrim('\x010203'::bytea, '\x0301'::bytea)",
    r"select trim(leading '\x00'::bytea from '\x000100'::bytea), "
    r"trim(trailing '\x00'::bytea from '\x000100'::bytea)",
    "select trim(both 'x' from 'xaxx'), trim(leading 'x' from 'xax'), "
    "trim(trailing 'x' from 'xax'), btrim('  a '), ltrim(' a'), rtrim('a  ')",
    r"select sha256('a'::bytea), sha256(''::bytea), sha256('abc'), md5('a'::bytea)",
    r"select sha224('a'::bytea), sha384('a'::bytea), sha512('a'::bytea)",
    r"select sha224(''::bytea), sha384('\x00ff'), sha512(null::bytea), sha224('abc'), "
    r"sha512(repeat('ab', 40)::bytea)",
    r"select convert_to('é', 'UTF8'), convert_from('\xc3a9', 'UTF8'), "
    r"convert('\xc3a9'::bytea, 'UTF8', 'LATIN1'), convert_to('é', 'latin1'), "
    r"convert_from('\xe9', 'LATIN1')",
    "select convert_to('€', 'LATIN1')",
    r"select encode('\x615c0001ff'::bytea, 'escape'), decode('a\\b\001c', 'escape'), "
    r"encode('ab'::bytea, 'base64'), decode('YWI=', 'base64'), encode('ab'::bytea, 'hex')",
    r"select decode('a\q', 'escape')",
    r"select encode(''::bytea, 'escape'), decode('', 'escape'), encode(null::bytea, 'escape')",
    r"select bit_count('\xff01'::bytea), bit_count(''::bytea), '\x01'::bytea || '\x02'::bytea",
    r"select length(null::bytea), position(null::bytea in '\x01'::bytea), "
    r"substring(null::bytea from 1 for 1), btrim(null::bytea, '\x00'::bytea)",
    # a bytea column
    "select length(b), octet_length(b), position('\\x00'::bytea in b), substr(b, 2, 2), "
    "btrim(b, '\\x61'::bytea), encode(b, 'escape'), bit_count(b), sha256(b), sha224(b), "
    "sha384(b), sha512(b) "
    "from bytea_t order by id",
]

#: statement -> why it still differs (docs/compatibility.md)
DIVERGENT: dict[str, str] = {}

#: (statement with %s placeholders, parameters): bytea parameters
PARAM_CASES = [
    ("select length(%s), octet_length(%s)", (b"ab\x00", b"ab\x00")),
    ("select position(%s in %s)", (b"\x00", b"ab\x00")),
    ("select substring(%s from %s for %s), substr(%s, %s)", (b"abc", 2, 1, b"abc", 2)),
    ("select overlay(%s placing %s from %s for %s)", (b"abcd", b"\xff", 2, 2)),
    ("select btrim(%s, %s), ltrim(%s, %s), rtrim(%s, %s)",
     (b"\x00a\x00", b"\x00", b"\x00a\x00", b"\x00", b"\x00a\x00", b"\x00")),
    ("select encode(%s, 'escape'), sha256(%s), bit_count(%s)", (b"a\\\x00", b"a", b"\x0f")),
    ("select sha224(%s), sha384(%s), sha512(%s)", (b"a\x00", b"", b"\xff")),
    ("select convert_from(%s, 'UTF8'), convert_from(%s, 'LATIN1')", (b"\xc3\xa9", b"\xe9")),
]

#: (binary results, extended protocol)
PROTOCOLS = {"simple-text": (False, False), "extended-text": (False, True),
             "extended-binary": (True, True)}

SETUP = ["drop table if exists bytea_t",
         "create table bytea_t (id integer, b bytea)",
         "insert into bytea_t values (1, '\\x61620063'::bytea), (2, ''::bytea), (3, null)"]


def _outcome(conn: psycopg.Connection, sql: str, params=None, *, binary: bool,
             extended: bool):
    return outcome(conn, sql, params, binary=binary, prepare=extended or None)


@pytest.fixture(scope="module")
def connections(server, pg15_dsn):  # noqa: F811
    ours = psycopg.connect(server.dsn(), autocommit=True)
    theirs = psycopg.connect(pg15_dsn, autocommit=True)
    for conn in (ours, theirs):
        for statement in SETUP:
            conn.execute(statement)
    yield ours, theirs
    for conn in (ours, theirs):
        conn.execute("drop table if exists bytea_t")
        conn.close()


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("sql", CASES)
def test_bytea_function_same_as_postgresql(connections, sql, protocol, request):
    if sql in DIVERGENT:
        request.applymarker(pytest.mark.xfail(reason=DIVERGENT[sql], strict=True))
    binary, extended = PROTOCOLS[protocol]
    ours, theirs = connections
    expected = _outcome(theirs, sql, binary=binary, extended=extended)
    assert _outcome(ours, sql, binary=binary, extended=extended) == expected


@pytest.mark.parametrize("result_binary", [False, True], ids=["text-result", "binary-result"])
@pytest.mark.parametrize("placeholder", ["%t", "%b"], ids=["text-params", "binary-params"])
@pytest.mark.parametrize(("sql", "params"), PARAM_CASES, ids=[c[0] for c in PARAM_CASES])
def test_bytea_parameter_same_as_postgresql(connections, sql, params, placeholder,
                                            result_binary):
    ours, theirs = connections
    statement = sql.replace("%s", placeholder)
    expected = _outcome(theirs, statement, params, binary=result_binary, extended=True)
    assert expected[0] != "error", expected
    assert _outcome(ours, statement, params, binary=result_binary, extended=True) == expected


# -- pg_terminate_backend ---------------------------------------------------------------

def _terminate_self(dsn: str, extended: bool) -> tuple:
    """What a client sees when its session terminates itself: the error, and whether
    the connection is closed afterwards."""
    conn = psycopg.connect(dsn, autocommit=True)
    try:
        with pytest.raises(psycopg.errors.AdminShutdown) as caught:
            conn.execute("select pg_terminate_backend(pg_backend_pid())",
                         prepare=extended or None)
        err = caught.value
        with pytest.raises(psycopg.OperationalError):
            conn.execute("select 1")
        return (err.sqlstate, err.diag.severity, err.diag.message_primary, conn.closed)
    finally:
        conn.close()


@pytest.mark.parametrize("extended", [False, True], ids=["simple", "extended"])
def test_terminate_own_backend_ends_the_session(server, pg15_dsn, extended):  # noqa: F811
    expected = _terminate_self(pg15_dsn, extended)
    assert expected[:3] == ("57P01", "FATAL",
                            "terminating connection due to administrator command")
    assert _terminate_self(server.dsn(), extended) == expected


def _terminate_other(dsn: str) -> tuple:
    victim = psycopg.connect(dsn, autocommit=True)
    try:
        pid = victim.execute("select pg_backend_pid()").fetchone()[0]
        with psycopg.connect(dsn, autocommit=True) as killer:
            signalled = killer.execute("select pg_terminate_backend(%s)", (pid,)).fetchone()
            # PostgreSQL's victim goes away asynchronously: wait until it is gone
            for _ in range(100):
                gone = killer.execute("select count(*) from pg_stat_activity "
                                      "where pid = %s", (pid,)).fetchone()[0] == 0
                if gone:
                    break
                killer.execute("select pg_sleep(0.05)")
        with pytest.raises(psycopg.OperationalError) as caught:
            victim.execute("select 1")
        return signalled, gone, caught.value.sqlstate in (None, "57P01")
    finally:
        victim.close()


def test_terminate_another_backend(server, pg15_dsn):  # noqa: F811
    expected = _terminate_other(pg15_dsn)
    assert expected == ((True,), True, True)
    assert _terminate_other(server.dsn()) == expected
