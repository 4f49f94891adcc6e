"""FrameDecoder: the pure-Python reference and the Rust one must agree exactly.

Every test runs against both implementations; the Hypothesis tests also run them side
by side on the same random streams and cut points and compare every result, including
the exception type and text. The native module must be built (``maturin develop``):
a missing one fails here rather than skipping.
"""

from __future__ import annotations

import itertools
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from duckgres_trio import _native
from duckgres_trio.errors import ProtocolViolation, SqlState
from duckgres_trio.wire import framing

IMPLEMENTATIONS = [framing.FrameDecoder, _native.FrameDecoder]


@pytest.fixture(params=IMPLEMENTATIONS, ids=["python", "native"])
def decoder_cls(request):
    return request.param


def startup(body: bytes) -> bytes:
    return struct.pack("!I", len(body) + 4) + body


def message(msg_type: int, body: bytes) -> bytes:
    return struct.pack("!BI", msg_type, len(body) + 4) + body


def decode(decoder, chunks, startups: int) -> list:
    """Feeds chunks one by one, pulling all it can after each: `startups` startup
    packets first, then typed messages. Records each result and `buffered`; an
    exception is recorded as (type, text) and ends the run."""
    events = []
    for chunk in chunks:
        decoder.feed(chunk)
        try:
            while True:
                if startups:
                    packet = decoder.next_startup()
                    startups -= packet is not None
                else:
                    packet = decoder.next_message()
                if packet is None:
                    break
                events.append(packet)
        except Exception as exc:  # noqa: BLE001 - any divergence must be compared
            events.append((type(exc), str(exc)))
            return events
        events.append(("buffered", decoder.buffered))
    return events


def packets(events) -> list:
    return [e for e in events if not (isinstance(e, tuple) and e[0] == "buffered")]


def split(data: bytes, cuts) -> list[bytes]:
    bounds = [0, *sorted(cuts), len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


SESSION = (
    startup(struct.pack("!I", 80877103)),  # an SSLRequest
    startup(b"\x00\x03\x00\x00user\x00alice\x00database\x00db\x00\x00"),
    message(ord("Q"), b"select 1\x00"),
    message(ord("S"), b""),
    message(0, b"\xff\x00"),
    message(ord("X"), b""),
)
SESSION_PACKETS = [
    struct.pack("!I", 80877103),
    b"\x00\x03\x00\x00user\x00alice\x00database\x00db\x00\x00",
    (ord("Q"), b"select 1\x00"),
    (ord("S"), b""),
    (0, b"\xff\x00"),
    (ord("X"), b""),
]


def test_whole_session_in_one_feed(decoder_cls):
    events = decode(decoder_cls(), [b"".join(SESSION)], startups=2)
    assert events == [*SESSION_PACKETS, ("buffered", 0)]


def test_split_at_every_boundary(decoder_cls):
    data = b"".join(SESSION)
    for cut in range(len(data) + 1):
        assert packets(decode(decoder_cls(), split(data, [cut]), startups=2)) == SESSION_PACKETS


def test_one_byte_at_a_time(decoder_cls):
    data = b"".join(SESSION)
    chunks = [data[i : i + 1] for i in range(len(data))]
    assert packets(decode(decoder_cls(), chunks, startups=2)) == SESSION_PACKETS


def test_many_messages_across_compactions(decoder_cls):
    # Well past the 64 KiB compaction threshold, in chunks that never align.
    bodies = [bytes([i % 256]) * (1000 + i) for i in range(200)]
    data = b"".join(message(ord("d"), body) for body in bodies)
    chunks = [data[i : i + 777] for i in range(0, len(data), 777)]
    events = decode(decoder_cls(), chunks, startups=0)
    assert packets(events) == [(ord("d"), body) for body in bodies]
    assert events[-1] == ("buffered", 0)


def test_accepts_any_byte_buffer(decoder_cls):
    decoder = decoder_cls()
    decoder.feed(bytearray(b"Q\x00\x00"))
    decoder.feed(memoryview(b"\x00\x06hi"))
    assert decoder.next_message() == (ord("Q"), b"hi")


def test_incomplete_returns_none_and_counts_buffered(decoder_cls):
    decoder = decoder_cls()
    assert decoder.next_startup() is None
    assert decoder.next_message() is None
    decoder.feed(message(ord("P"), b"abc")[:-1])
    assert decoder.next_message() is None
    assert decoder.buffered == 7
    decoder.feed(b"c")
    assert decoder.next_message() == (ord("P"), b"abc")
    assert decoder.buffered == 0


def test_oversized_message_rejected_on_header_alone(decoder_cls):
    decoder = decoder_cls(max_message_size=100)
    decoder.feed(b"Q\x00\x00\x00")
    assert decoder.next_message() is None
    decoder.feed(bytes([105]))  # a 101-byte body; none of it is sent
    with pytest.raises(ProtocolViolation) as info:
        decoder.next_message()
    assert str(info.value) == "message of type 'Q' is 101 bytes, over the limit of 100"
    assert decoder.buffered == 5
    # Nothing was consumed: asking again gives the same answer.
    with pytest.raises(ProtocolViolation, match="over the limit of 100"):
        decoder.next_message()


def test_hostile_message_length(decoder_cls):
    decoder = decoder_cls()
    decoder.feed(b"D\xff\xff\xff\xff")
    with pytest.raises(ProtocolViolation) as info:
        decoder.next_message()
    assert str(info.value) == (
        "message of type 'D' is 4294967291 bytes, over the limit of 67108864"
    )


def test_oversized_startup_rejected_on_header_alone(decoder_cls):
    decoder = decoder_cls()
    decoder.feed(struct.pack("!I", 10_001))
    with pytest.raises(ProtocolViolation, match="^invalid length of startup packet$"):
        decoder.next_startup()


@pytest.mark.parametrize("length", range(8))
def test_startup_length_below_8(decoder_cls, length):
    decoder = decoder_cls()
    decoder.feed(struct.pack("!I", length))
    with pytest.raises(ProtocolViolation, match="^invalid length of startup packet$"):
        decoder.next_startup()


@pytest.mark.parametrize("length", range(4))
def test_message_length_below_4(decoder_cls, length):
    decoder = decoder_cls()
    decoder.feed(struct.pack("!BI", ord("Q"), length))
    with pytest.raises(ProtocolViolation) as info:
        decoder.next_message()
    assert str(info.value) == f"invalid message length {length}"


def test_smallest_packets(decoder_cls):
    decoder = decoder_cls()
    decoder.feed(struct.pack("!I", 8) + b"abcd" + message(ord("H"), b""))
    assert decoder.next_startup() == b"abcd"
    assert decoder.next_message() == (ord("H"), b"")


def test_exact_limits(decoder_cls):
    decoder = decoder_cls(max_message_size=10, max_startup_size=20)
    decoder.feed(startup(b"s" * 16) + message(ord("P"), b"m" * 10))
    assert decoder.next_startup() == b"s" * 16
    assert decoder.next_message() == (ord("P"), b"m" * 10)
    decoder.feed(message(ord("P"), b"m" * 11))
    with pytest.raises(ProtocolViolation, match="is 11 bytes, over the limit of 10$"):
        decoder.next_message()

    decoder = decoder_cls(max_message_size=10, max_startup_size=20)
    decoder.feed(startup(b"s" * 17))
    with pytest.raises(ProtocolViolation, match="^invalid length of startup packet$"):
        decoder.next_startup()


@pytest.mark.parametrize("msg_type", range(256))
def test_type_byte_in_error_is_python_repr(decoder_cls, msg_type):
    decoder = decoder_cls(max_message_size=4)
    decoder.feed(message(msg_type, b"12345"))
    with pytest.raises(ProtocolViolation) as info:
        decoder.next_message()
    assert str(info.value) == (
        f"message of type {chr(msg_type)!r} is 5 bytes, over the limit of 4"
    )


def test_raises_the_shared_protocol_violation(decoder_cls):
    decoder = decoder_cls()
    decoder.feed(b"\x00\x00\x00\x00")
    with pytest.raises(ProtocolViolation) as info:
        decoder.next_startup()
    assert type(info.value) is ProtocolViolation
    assert info.value.sqlstate == SqlState.PROTOCOL_VIOLATION
    assert info.value.fatal


def test_defaults_and_limits(decoder_cls):
    decoder = decoder_cls()
    assert (decoder.max_message_size, decoder.max_startup_size) == (64 << 20, 10_000)
    assert decoder.buffered == 0
    decoder = decoder_cls(4, 8)
    assert (decoder.max_message_size, decoder.max_startup_size) == (4, 8)
    decoder = decoder_cls(max_startup_size=0x3FFFFFFF, max_message_size=0x3FFFFFFF)
    assert (decoder.max_message_size, decoder.max_startup_size) == (0x3FFFFFFF, 0x3FFFFFFF)


@pytest.mark.parametrize("size", [-(2**70), -1, 0, 3, 0x40000000, 2**32 + 64, 2**70])
def test_max_message_size_out_of_range(decoder_cls, size):
    with pytest.raises(ValueError, match="^max_message_size out of range$"):
        decoder_cls(max_message_size=size)


@pytest.mark.parametrize("size", [-(2**70), -1, 0, 7, 0x40000000, 2**32 + 64, 2**70])
def test_max_startup_size_out_of_range(decoder_cls, size):
    with pytest.raises(ValueError, match="^max_startup_size out of range$"):
        decoder_cls(max_startup_size=size)


def test_non_int_limit_is_a_type_error(decoder_cls):
    with pytest.raises(TypeError):
        decoder_cls(max_message_size="64")


# -- differential tests -----------------------------------------------------------

limits = st.one_of(st.none(), st.integers(4, 300))
startup_limits = st.one_of(st.none(), st.integers(8, 300))
bodies = st.binary(max_size=260)


@st.composite
def streams(draw):
    """A client byte stream: startup packets, typed messages, maybe a garbage tail,
    maybe a corrupted byte; the number of startup packets; and chunk cut points."""
    startup_bodies = draw(st.lists(st.binary(min_size=4, max_size=260), max_size=3))
    messages = draw(st.lists(st.tuples(st.integers(0, 255), bodies), max_size=12))
    data = bytearray(b"".join(startup(b) for b in startup_bodies))
    data += b"".join(message(t, b) for t, b in messages)
    data += draw(st.binary(max_size=12))
    if data and draw(st.booleans()):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    cuts = draw(st.lists(st.integers(0, len(data)), max_size=12))
    return bytes(data), len(startup_bodies), cuts


def limit_kwargs(max_message_size, max_startup_size) -> dict:
    kwargs = {}
    if max_message_size is not None:
        kwargs["max_message_size"] = max_message_size
    if max_startup_size is not None:
        kwargs["max_startup_size"] = max_startup_size
    return kwargs


def assert_same(data, startups, cuts, kwargs) -> list:
    chunks = split(data, cuts)
    python, native = (decode(cls(**kwargs), chunks, startups) for cls in IMPLEMENTATIONS)
    assert native == python
    return python


@settings(max_examples=400, deadline=None)
@given(streams(), limits, startup_limits)
def test_same_results_on_random_streams(stream, max_message_size, max_startup_size):
    data, startups, cuts = stream
    assert_same(data, startups, cuts, limit_kwargs(max_message_size, max_startup_size))


@settings(max_examples=400, deadline=None)
@given(
    st.binary(max_size=600),
    st.integers(0, 3),
    st.lists(st.integers(0, 600), max_size=12),
    limits,
    startup_limits,
)
def test_same_results_on_garbage(data, startups, cuts, max_message_size, max_startup_size):
    cuts = [min(c, len(data)) for c in cuts]
    assert_same(data, startups, cuts, limit_kwargs(max_message_size, max_startup_size))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.binary(min_size=4, max_size=100), max_size=3),
    st.lists(st.tuples(st.integers(0, 255), bodies), max_size=12),
    st.lists(st.integers(0, 5000), max_size=12),
)
def test_valid_streams_decode_to_their_messages(startup_bodies, messages, cuts):
    data = b"".join(map(startup, startup_bodies))
    data += b"".join(message(t, b) for t, b in messages)
    cuts = [min(c, len(data)) for c in cuts]
    events = assert_same(data, len(startup_bodies), cuts, {})
    assert packets(events) == [*startup_bodies, *messages]
    assert events[-1] == ("buffered", 0)


# --- typed extended-protocol message bodies (wire/frontend.py) --------------------

import struct as _struct

from duckgres_trio.errors import ProtocolViolation as _PV
from duckgres_trio.wire import frontend as _fe


def test_extended_messages_parse():
    assert _fe.parse_message(0x50, b"s1\0SELECT $1\0" + _struct.pack("!hI", 1, 0xFFFFFFFF)) == \
        _fe.Parse("s1", "SELECT $1", (0xFFFFFFFF,))
    body = (b"p\0s\0" + _struct.pack("!hh", 1, 1) + _struct.pack("!hi", 2, 2) + b"ab"
            + _struct.pack("!i", -1) + _struct.pack("!hhh", 2, 0, 1))
    assert _fe.parse_message(0x42, body) == _fe.Bind("p", "s", (1,), (b"ab", None), (0, 1))
    assert _fe.parse_message(0x44, b"Pp\0") == _fe.Describe("P", "p")
    assert _fe.parse_message(0x45, b"p\0" + _struct.pack("!i", 10)) == _fe.Execute("p", 10)
    assert _fe.parse_message(0x43, b"S\0") == _fe.Close("S", "")


@pytest.mark.parametrize("kind, body", [
    (0x42, b"\0\0" + _struct.pack("!h", 32767)),  # format count beyond the body
    (0x42, b"\0\0" + _struct.pack("!hh", 0, 1) + _struct.pack("!i", 1 << 30)),  # param longer than body
    (0x42, b"\0\0" + _struct.pack("!hh", 0, -1)),  # negative count
    (0x42, b"\0\0" + _struct.pack("!hhhh", 1, 2, 0, 0)),  # format code 2
    (0x50, b"s\0SELECT 1\0" + _struct.pack("!h", 5)),  # OID count beyond the body
    (0x44, b"Xname\0"),
    (0x45, b"p\0\0\0"),  # truncated max_rows
    (0x51, b"SELECT 1\0extra"),
])
def test_malformed_extended_messages_are_protocol_violations(kind, body):
    with pytest.raises(_PV):
        _fe.parse_message(kind, body)
