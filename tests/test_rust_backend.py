"""The Rust backend message encoders must equal the pure-Python reference byte for byte.

``backend.PYTHON`` holds the reference encoders of ``duckgres_trio.wire.backend``;
``_native`` holds their Rust twins, which ``backend`` exports when the codec is Rust.
Hypothesis gives both the same random arguments (text with NULs, non-ASCII and lone
surrogates, empty and long; integers at and past their wire type's bounds; random
PgError field combinations; RowDescription field tuples; DataRow values of None,
empty and long bytes, bytearray and memoryview; copy response column counts) and
checks that both return the same bytes, or both raise the same exception class.
The native module must be built.
"""

from __future__ import annotations

import inspect
import struct
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from duckgres_trio import _native
from duckgres_trio.errors import PgError, ProtocolViolation
from duckgres_trio.wire import CODEC, backend

PYTHON = backend.PYTHON
NO_ARGS = [
    "authentication_ok",
    "authentication_cleartext_password",
    "empty_query_response",
    "no_data",
    "parse_complete",
    "bind_complete",
    "close_complete",
    "portal_suspended",
    "copy_done",
]


def outcome(fn, *args):
    try:
        return fn(*args)
    except Exception as exc:  # noqa: BLE001 - the class is what is compared
        return type(exc)


def same(name: str, *args):
    """Both encoders' result (bytes, or the exception class raised), asserted equal."""
    expected = outcome(PYTHON[name], *args)
    actual = outcome(getattr(_native, name), *args)
    assert actual == expected, (name, args)
    return expected


def encodes(name: str, *args) -> bytes:
    """`same`, for arguments the reference accepts."""
    result = same(name, *args)
    assert isinstance(result, bytes), (name, args, result)
    return result


# ---- strategies ----

TEXT = st.one_of(
    st.text(),
    st.text(st.characters(codec="utf-8"), min_size=200, max_size=3000),
    st.sampled_from(["", "\0", "a\0b\0", "é✓😀", "SELECT 1"]),
)
SURROGATE_TEXT = st.builds(lambda a, b: a + "\ud800" + b, st.text(max_size=5), st.text(max_size=5))
NOT_TEXT = st.sampled_from([None, b"abc", 5, 1.5, ["a"]])
ANY_TEXT = st.one_of(TEXT, TEXT, TEXT, SURROGATE_TEXT, NOT_TEXT)

BYTES = st.one_of(
    st.binary(),
    st.binary(min_size=1000, max_size=20000),
    st.binary(max_size=50).map(bytearray),
    st.binary(max_size=50).map(memoryview),
)
NOT_BYTES = st.sampled_from([None, "abc", 5, 1.5, [1, 2]])
ANY_BYTES = st.one_of(BYTES, BYTES, NOT_BYTES)


def bounded_int(lo: int, hi: int):
    """Integers for a wire type of range lo..hi: in range, its bounds, just past them."""
    return st.one_of(
        st.integers(lo, hi),
        st.sampled_from([lo, hi, 0, lo - 1, hi + 1, 2**64, -(2**64), True, False]),
    )


NOT_INT = st.sampled_from([None, 1.5, "1", b"1"])
I16 = bounded_int(-(2**15), 2**15 - 1)
I32 = bounded_int(-(2**31), 2**31 - 1)
U32 = bounded_int(0, 2**32 - 1)


class Reiterable:
    """An iterable without len(), iterable again for the second encoder."""

    def __init__(self, items):
        self.items = items

    def __iter__(self):
        return iter(self.items)


def maybe_invalid(valid, invalid, ratio: int = 8):
    return st.one_of(*([valid] * ratio), invalid)


# ---- the tests ----


def test_every_encoder_has_a_twin():
    assert set(PYTHON) >= {
        "authentication_md5_password", "authentication_sasl", "parameter_status",
        "backend_key_data", "ready_for_query", "row_description", "data_row",
        "command_complete", "parameter_description", "error_response", "notice_response",
        "copy_in_response", "copy_out_response", "copy_data", *NO_ARGS,
    }
    for name, reference in PYTHON.items():
        twin = getattr(_native, name)
        assert list(inspect.signature(twin).parameters) == list(
            inspect.signature(reference).parameters
        ), name
        assert getattr(backend, name) is (twin if CODEC == "rust" else reference)


@pytest.mark.parametrize("name", NO_ARGS)
def test_no_argument_messages(name):
    message = encodes(name)
    assert message[1:5] == (b"\0\0\0\x08" if name.startswith("authentication") else b"\0\0\0\x04")


@given(ANY_BYTES)
def test_authentication_with_data(data):
    for name in ("authentication_md5_password", "authentication_sasl_continue",
                 "authentication_sasl_final"):
        same(name, data)


@given(st.one_of(st.lists(ANY_TEXT, max_size=4), st.tuples(TEXT, TEXT), TEXT,
                 st.sampled_from([None, 5])))
def test_authentication_sasl(mechanisms):
    same("authentication_sasl", mechanisms)
    if isinstance(mechanisms, list):
        same("authentication_sasl", Reiterable(mechanisms))


@given(ANY_TEXT, ANY_TEXT)
def test_parameter_status(name, value):
    same("parameter_status", name, value)


@given(TEXT, TEXT)
def test_parameter_status_valid(name, value):
    encodes("parameter_status", name, value)


@given(ANY_TEXT)
def test_command_complete(tag):
    same("command_complete", tag)


@given(maybe_invalid(I32, NOT_INT), maybe_invalid(U32, NOT_INT))
def test_backend_key_data(pid, secret):
    same("backend_key_data", pid, secret)


@given(st.one_of(st.sampled_from([b"I", b"T", b"E"]), ANY_BYTES))
def test_ready_for_query(status):
    same("ready_for_query", status)


FIELD = st.tuples(TEXT, maybe_invalid(U32, NOT_INT, 20), maybe_invalid(I16, NOT_INT, 20),
                  maybe_invalid(I32, NOT_INT, 20), maybe_invalid(I16, NOT_INT, 20))
VALID_FIELD = st.tuples(TEXT, st.integers(0, 2**32 - 1), st.integers(-(2**15), 2**15 - 1),
                        st.integers(-(2**31), 2**31 - 1), st.sampled_from([0, 1, -1, 32767]))
BAD_FIELD = st.one_of(
    st.tuples(ANY_TEXT, st.just(23), st.just(4), st.just(-1), st.just(0)),
    st.tuples(TEXT, st.just(23), st.just(4), st.just(-1)),  # too few
    st.tuples(TEXT, st.just(23), st.just(4), st.just(-1), st.just(0), st.just(0)),  # too many
    st.sampled_from([None, 5, "abcde", "abc"]),
)


@given(st.lists(st.one_of(FIELD, FIELD, FIELD, FIELD.map(list), BAD_FIELD), max_size=6))
def test_row_description(fields):
    same("row_description", fields)
    same("row_description", Reiterable(fields))
    same("row_description", tuple(fields))


@given(st.lists(VALID_FIELD, max_size=8))
def test_row_description_valid(fields):
    encodes("row_description", fields)


def test_row_description_column_limit():
    field = ("c", 23, 4, -1, 0)
    assert encodes("row_description", [field] * 32767)[5:7] == b"\x7f\xff"
    assert same("row_description", [field] * 32768) is struct.error
    assert same("row_description", None) is TypeError


VALUE = st.one_of(st.none(), st.just(b""), BYTES)


@given(st.lists(st.one_of(VALUE, VALUE, VALUE, NOT_BYTES.filter(lambda v: v is not None)),
                max_size=10))
def test_data_row(values):
    same("data_row", values)
    same("data_row", tuple(values))


@given(st.lists(VALUE, max_size=10))
def test_data_row_valid(values):
    encodes("data_row", values)


def test_data_row_limits():
    assert encodes("data_row", ()) == b"D\0\0\0\x06\0\0"
    encodes("data_row", [None] * 32767)
    assert same("data_row", [b"x"] * 32768) is struct.error
    assert same("data_row", Reiterable([b"x"])) is TypeError  # the reference takes len()
    assert same("data_row", None) is TypeError


@given(st.lists(maybe_invalid(U32, NOT_INT, 20), max_size=10))
def test_parameter_description(oids):
    same("parameter_description", oids)
    same("parameter_description", tuple(oids))


def test_parameter_description_limits():
    encodes("parameter_description", [0] * 32767)
    assert same("parameter_description", [0] * 32768) is struct.error
    assert same("parameter_description", "12") is struct.error
    assert same("parameter_description", Reiterable([1])) is TypeError
    assert same("parameter_description", None) is TypeError


OPTIONAL_TEXT = st.one_of(st.none(), st.just(""), TEXT)


@given(TEXT, TEXT, st.sampled_from(["ERROR", "FATAL", "PANIC", "WARNING", "NOTICE", "é", ""]),
       OPTIONAL_TEXT, OPTIONAL_TEXT)
def test_error_and_notice_response(sqlstate, message, severity, detail, hint):
    err = PgError(sqlstate, message, severity=severity, detail=detail, hint=hint)
    for name in ("error_response", "notice_response"):
        encodes(name, err)


ODD_FIELD = st.one_of(OPTIONAL_TEXT, SURROGATE_TEXT, st.sampled_from([b"", b"x", 0, 1, [], None]))


@given(ODD_FIELD, ODD_FIELD, ODD_FIELD, ODD_FIELD, ODD_FIELD, st.booleans())
def test_error_response_odd_fields(sqlstate, message, severity, detail, hint, drop_hint):
    fields = dict(sqlstate=sqlstate, message=message, severity=severity, detail=detail,
                  hint=hint)
    if drop_hint:
        del fields["hint"]
    err = SimpleNamespace(**fields)
    for name in ("error_response", "notice_response"):
        same(name, err)


def test_error_response_examples():
    err = ProtocolViolation("bad\0frame")
    assert encodes("error_response", err) == (
        b"E\0\0\0\x26SFATAL\0VFATAL\0C08P01\0Mbad\\0frame\0\0"
    )
    assert same("error_response", None) is AttributeError


BINARY = st.one_of(st.booleans(), st.integers(-130, 130), st.sampled_from(["1", "x", None, 1.5]))
COLUMNS = st.one_of(
    st.integers(-5, 300),
    st.sampled_from([32767, 32768, 100_000, -(2**70), 2**70, True, False, 2.0, "3", None]),
)


@given(BINARY, COLUMNS)
def test_copy_responses(binary, columns):
    for name in ("copy_out_response", "copy_in_response"):
        same(name, binary, columns)


@given(st.booleans(), st.integers(0, 32767))
def test_copy_responses_valid(binary, columns):
    for name in ("copy_out_response", "copy_in_response"):
        encodes(name, binary, columns)


@given(ANY_BYTES)
def test_copy_data(data):
    same("copy_data", data)
