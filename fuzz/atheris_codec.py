"""Coverage-guided fuzzing (atheris) of everything that reads bytes from a socket.

Run: .venv/bin/python fuzz/atheris_codec.py -max_total_time=60 [-runs=N] [corpus_dir]
(CI runs it for a bounded time; longer runs take the same command with a larger
-max_total_time.) Targets, driven by one input:

- frame decoding, both codecs: the Rust ``_native.FrameDecoder`` and the Python
  reference are fed the same bytes cut at the same (input-chosen) places and must give
  the same packets, or both the same error, with the same limits;
- every frontend message parser on every decoded packet (only PgError may escape);
- the worker statement-path codec (frames, bind values; only ProtocolError);
- COPY FROM STDIN parsers, text/CSV/binary (only CopyFormatError); binary in both
  codecs, which must give the same rows or the same error;
- Bind parameter decoding, text and binary, for every type OID it knows (only PgError).

Any other exception, a parity difference or a crash is a finding: atheris stops and
writes the input as crash-<hash>.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    from duckgres_trio import _native
    from duckgres_trio.errors import PgError
    from duckgres_trio.wire import copy as wire_copy
    from duckgres_trio.wire import framing, frontend, params
    from duckgres_trio.worker import protocol

MAX_MESSAGE = 4096
MAX_STARTUP = 512
_OIDS = (16, 17, 18, 19, 20, 21, 23, 25, 26, 114, 700, 701, 705, 1042, 1043, 1082, 1083,
         1114, 1184, 1186, 1266, 1700, 2950, 3802, 1000, 1005, 1007, 1016, 1009, 1021, 1022,
         1115, 1182, 1185, 1231, 2951, 0, 99999)


def _decode_all(decoder, chunks: list[bytes], startup_packets: int):
    """Packets, in order, and the error that ended decoding (as a comparable tuple)."""
    out = []
    try:
        for chunk in chunks:
            decoder.feed(chunk)
            while True:
                if len(out) < startup_packets:
                    packet = decoder.next_startup()
                    if packet is None:
                        break
                    out.append(("startup", packet))
                else:
                    message = decoder.next_message()
                    if message is None:
                        break
                    out.append(message)
        return out, None, decoder.buffered
    except PgError as exc:
        return out, (type(exc).__name__, exc.sqlstate), None


def _check_frames(fdp: atheris.FuzzedDataProvider) -> list:
    startup_packets = fdp.ConsumeIntInRange(0, 2)
    cuts = [fdp.ConsumeIntInRange(1, 64) for _ in range(fdp.ConsumeIntInRange(0, 8))]
    data = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 8192))
    chunks, pos = [], 0
    for size in cuts:
        chunks.append(data[pos:pos + size])
        pos += size
    chunks.append(data[pos:])
    rust = _decode_all(_native.FrameDecoder(MAX_MESSAGE, MAX_STARTUP), chunks, startup_packets)
    python = _decode_all(framing.FrameDecoder(MAX_MESSAGE, MAX_STARTUP), chunks,
                         startup_packets)
    if rust != python:
        raise AssertionError(f"codec parity: rust {rust!r} != python {python!r}")
    return rust[0]


def _check_parsers(packets: list) -> None:
    for packet in packets:
        try:
            if packet[0] == "startup":
                frontend.parse_startup(packet[1])
            else:
                frontend.parse_message(*packet)
        except PgError:
            pass


def _check_worker_codec(data: bytes) -> None:
    reader = protocol.FrameReader(max_frame=4096)
    try:
        reader.feed(data)
        while (got := reader.next()) is not None:
            kind, payload = got
            if kind == protocol.RUN:
                protocol.decode_values(payload, 5)
            elif kind == protocol.ERROR:
                protocol.read_error(payload)
    except protocol.ProtocolError:
        pass
    except UnicodeDecodeError:
        pass


def _copy_run(parser, data: bytes, cut: int) -> list:
    """What the two feeds and finish return, or the CopyFormatError that ends it."""
    out = []
    try:
        out.append(parser.feed(data[:cut]))
        out.append(parser.feed(data[cut:]))
        out.append(parser.finish())
    except wire_copy.CopyFormatError as exc:
        out.append(("error", str(exc)))
    return out


def _check_copy(fdp: atheris.FuzzedDataProvider) -> None:
    fmt = fdp.PickValueInList(["text", "csv", "binary"])
    columns = fdp.ConsumeIntInRange(0, 5)
    data = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 2048))
    if fmt == "binary":
        cut = fdp.ConsumeIntInRange(0, len(data))
        rust, python = (_copy_run(wire_copy.BinaryCopyInParser(columns, 1024, codec=codec), data, cut)
                        for codec in ("rust", "python"))
        if rust != python:
            raise AssertionError(f"binary COPY parity: rust {rust!r} != python {python!r}")
        return
    options = wire_copy.CopyOptions(
        format=fmt, delimiter="," if fmt == "csv" else "\t",
        null="" if fmt == "csv" else "\\N", header=fdp.ConsumeBool())
    _copy_run(wire_copy.CopyInParser(options, columns), data, fdp.ConsumeIntInRange(0, len(data)))


def _check_params(fdp: atheris.FuzzedDataProvider) -> None:
    oid = fdp.PickValueInList(list(_OIDS))
    fmt = fdp.ConsumeIntInRange(0, 2)
    data = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 256))
    try:
        params.decode_param(data, fmt, oid, index=1)
    except PgError:
        pass


def test_one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    target = fdp.ConsumeIntInRange(0, 3)
    if target == 0:
        _check_parsers(_check_frames(fdp))
    elif target == 1:
        _check_worker_codec(fdp.ConsumeBytes(4096))
    elif target == 2:
        _check_copy(fdp)
    else:
        _check_params(fdp)


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
