"""Micro-benchmark: DataRows of large batches, Python codec path vs Rust codec path.

Four tables, every column encoded natively by the Rust codec:

* ``4col``: int64, int32 with NULLs, bool with NULLs, a short string;
* ``3col``: int64, float8, a short string (the issue's target table);
* ``20col``: a wide mix: five integer columns, four floats (float4 and float8, one
  with NULLs), three strings, two dates, three timestamps (us, ms, timestamptz UTC)
  and two bytea;
* ``kinds``: the kinds the Rust codec took over from Python last (numeric, time,
  interval, 1-D lists): int64, decimal(12,2) with NULLs, decimal(38,10), uint64,
  hugeint, time, interval, int4[] with NULL elements, text[] needing quotes,
  numeric[];
* ``struct`` and ``matrix``: nested columns (issue 5), one each: a STRUCT(a INT,
  b VARCHAR, c DOUBLE), sent as json, and an INT[][] of 2x3 arrays with a NULL
  element, sent as a 2-D array.

Each table is encoded in text and in binary format by both paths; the best of
``--repeat`` runs is reported as rows/s and MB/s of DataRow output, with the
Rust/Python speed-up. The Python reference is slow (float text alone is tens of
microseconds a value), so it can be timed on the first ``--python-rows`` rows only;
the Rust output for those rows is checked to be byte-identical to Python's. The Rust
path is also timed on the table cut into ``--chunk-rows`` batches (2048: DuckDB's
vector size, what the server encodes at a time), which adds the per-call cost.
``--copy`` also times COPY TO STDOUT data (``wire.copy.copy_data_messages``: CopyData
messages in text, CSV and binary format) the same way.

    .venv/bin/python ci/bench/encode_rows.py [--rows N] [--python-rows M] [--repeat R]
        [--chunk-rows C] [--tables 4col,3col,20col,kinds,struct,matrix] [--copy]
"""

from __future__ import annotations

import argparse
import time
from decimal import Decimal

import pyarrow as pa

from duckgres_trio.wire.copy import CopyOptions, copy_data_messages
from duckgres_trio.wire.rows import encode_rows

#: Distinct rows built in Python; longer tables repeat them (except the id column).
BLOCK = 1_000_000


def tiled(build, rows: int) -> pa.Array:
    """`build(n)` for n = min(rows, BLOCK), repeated to `rows` values."""
    block = build(min(rows, BLOCK))
    chunks = [block] * (rows // len(block)) + [block.slice(0, rows % len(block))]
    return pa.concat_arrays(chunks)


def ids(rows: int) -> pa.Array:
    return pa.array(range(rows), pa.int64())


def table_4col(rows: int) -> pa.RecordBatch:
    return pa.record_batch({
        "id": ids(rows),
        "n": tiled(lambda n: pa.array(
            [(i * 7919) % 1_000_003 - 500_000 if i % 10 else None for i in range(n)], pa.int32()), rows),
        "flag": tiled(lambda n: pa.array([i % 3 == 0 if i % 7 else None for i in range(n)]), rows),
        "name": tiled(lambda n: pa.array([f"user{i % 1000}" for i in range(n)]), rows),
    })


def table_3col(rows: int) -> pa.RecordBatch:
    return pa.record_batch({
        "id": ids(rows),
        # Measurements: short and full 17-digit shortest forms, some exponents.
        "value": tiled(lambda n: pa.array(
            [i / 7 if i % 3 else i * 0.25 - 1000 if i % 5 else i * 1e-9 for i in range(n)]), rows),
        "name": tiled(lambda n: pa.array([f"user{i % 1000}" for i in range(n)]), rows),
    })


def table_20col(rows: int) -> pa.RecordBatch:
    epoch_days = 19_000
    epoch_us = 1_640_995_200_000_000  # 2022-01-01
    return pa.record_batch({
        "id": ids(rows),
        "qty": tiled(lambda n: pa.array([i % 500 if i % 9 else None for i in range(n)], pa.int32()), rows),
        "small": tiled(lambda n: pa.array([i % 30_000 - 15_000 for i in range(n)], pa.int16()), rows),
        "flag": tiled(lambda n: pa.array([i % 3 == 0 if i % 7 else None for i in range(n)]), rows),
        "big": tiled(lambda n: pa.array([(i * 2_654_435_761) % 2**62 - 2**61 for i in range(n)], pa.int64()), rows),
        "ratio": tiled(lambda n: pa.array([i / 7 for i in range(n)]), rows),
        "price": tiled(lambda n: pa.array([(i % 100_000) / 100 for i in range(n)]), rows),
        "f4": tiled(lambda n: pa.array([i * 0.37 for i in range(n)], pa.float32()), rows),
        "maybe": tiled(lambda n: pa.array([i * 1.5e-7 if i % 4 else None for i in range(n)]), rows),
        "name": tiled(lambda n: pa.array([f"user{i % 1000}" for i in range(n)]), rows),
        "comment": tiled(lambda n: pa.array(
            [f"order {i} shipped to warehouse {i % 97}, priority {i % 5}" for i in range(n)]), rows),
        "code": tiled(lambda n: pa.array([f"C{i % 10_007:05d}" for i in range(n)], pa.large_string()), rows),
        "day": tiled(lambda n: pa.array([epoch_days + i % 3000 for i in range(n)], pa.int32()).view(pa.date32()), rows),
        "due": tiled(lambda n: pa.array(
            [epoch_days + i % 400 if i % 6 else None for i in range(n)], pa.int32()).view(pa.date32()), rows),
        "created": tiled(lambda n: pa.array(
            [epoch_us + i * 1_000_003 for i in range(n)], pa.int64()).view(pa.timestamp("us")), rows),
        "updated": tiled(lambda n: pa.array(
            [epoch_us // 1000 + i * 60_000 for i in range(n)], pa.int64()).view(pa.timestamp("ms")), rows),
        "at": tiled(lambda n: pa.array(
            [epoch_us + i * 999_983 for i in range(n)], pa.int64()).view(pa.timestamp("us", tz="UTC")), rows),
        "hash": tiled(lambda n: pa.array(
            [(i * 0x9E3779B97F4A7C15 % 2**128).to_bytes(16, "little") for i in range(n)], pa.binary(16)), rows),
        "blob": tiled(lambda n: pa.array([bytes(range(i % 48)) for i in range(n)]), rows),
        "neg": tiled(lambda n: pa.array([-i * 31 for i in range(n)], pa.int64()), rows),
    })


def table_kinds(rows: int) -> pa.RecordBatch:
    hugeint = pa.opaque(pa.binary(16), "hugeint", "DuckDB")
    return pa.record_batch({
        "id": ids(rows),
        "price": tiled(lambda n: pa.array(
            [Decimal((i * 7919) % 10_000_000 - 5_000_000).scaleb(-2) if i % 8 else None for i in range(n)],
            pa.decimal128(12, 2)), rows),
        "exact": tiled(lambda n: pa.array(
            [Decimal(i * 1_000_003 - 7 * 10**9).scaleb(-10) for i in range(n)], pa.decimal128(38, 10)), rows),
        "counter": tiled(lambda n: pa.array([i * 18_446_744_073_709 for i in range(n)], pa.uint64()), rows),
        "huge": tiled(lambda n: pa.ExtensionArray.from_storage(hugeint, pa.array(
            [(i * 0x9E3779B97F4A7C15 - 2**100).to_bytes(16, "little", signed=True) for i in range(n)],
            pa.binary(16))), rows),
        "at": tiled(lambda n: pa.array(
            [i * 86_399 % 86_400_000_000 for i in range(n)], pa.int64()).view(pa.time64("us")), rows),
        "span": tiled(lambda n: pa.array(
            [pa.MonthDayNano([i % 25 - 5, i % 40, (i * 1_000_003 % 10**11 - 10**10) * 1000]) for i in range(n)],
            pa.month_day_nano_interval()), rows),
        "ints": tiled(lambda n: pa.array(
            [[i, None, -i] if i % 5 == 0 else list(range(i % 6)) for i in range(n)], pa.list_(pa.int32())), rows),
        "tags": tiled(lambda n: pa.array(
            [["red", "a b" if i % 3 else "", f"t{i % 100}"] for i in range(n)], pa.list_(pa.string())), rows),
        "amounts": tiled(lambda n: pa.array(
            [[Decimal(i % 1000).scaleb(-1), Decimal(-i % 77)] for i in range(n)],
            pa.list_(pa.decimal128(6, 1))), rows),
    })


def table_struct(rows: int) -> pa.RecordBatch:
    def build(n):
        return pa.StructArray.from_arrays([
            pa.array([i * 7919 % 1_000_003 - 500_000 for i in range(n)], pa.int32()),
            pa.array([f"name {i}" for i in range(n)]),
            pa.array([i / 7 for i in range(n)]),
        ], names=["a", "b", "c"])
    return pa.record_batch({"s": tiled(build, rows)})


def table_matrix(rows: int) -> pa.RecordBatch:
    return pa.record_batch({"m": tiled(lambda n: pa.array(
        [[[i, i + 1, i + 2], [i + 3, None, -i]] for i in range(n)], pa.list_(pa.list_(pa.int32()))), rows)})


TABLES = {"4col": table_4col, "3col": table_3col, "20col": table_20col, "kinds": table_kinds,
          "struct": table_struct, "matrix": table_matrix}


def best(fn, repeat: int) -> tuple[float, bytes]:
    times, out = [], b""
    for _ in range(repeat):
        out = b""  # free the previous output before the next run
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--python-rows", type=int, default=None,
                        help="rows the Python path encodes (default: --rows)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--chunk-rows", type=int, default=2048,
                        help="also time Rust on batches of this many rows (0: no)")
    parser.add_argument("--tables", default=",".join(TABLES))
    parser.add_argument("--copy", action="store_true",
                        help="also time COPY TO STDOUT data in text, CSV and binary")
    args = parser.parse_args()
    py_rows = min(args.python_rows or args.rows, args.rows)
    for name in args.tables.split(","):
        batch = TABLES[name](args.rows)
        sample = batch.slice(0, py_rows)
        print(f"\n{name}: {args.rows:,} rows (Python: {py_rows:,}), columns: "
              + ", ".join(f"{f.name} {f.type}" for f in batch.schema))
        for fmt_name, fmt in (("text", 0), ("binary", 1)):
            formats = [fmt] * batch.num_columns

            def encode(b, codec, formats=formats):
                return encode_rows(b, formats, codec=codec)

            report(name, fmt_name, encode, batch, sample, args)
        if args.copy:
            for fmt_name in ("text", "csv", "binary"):
                options = CopyOptions(format=fmt_name, delimiter="," if fmt_name == "csv" else "\t",
                                      null="" if fmt_name == "csv" else "\\N")

                def encode(b, codec, o=options):
                    return copy_data_messages(b, o, codec=codec)

                report(name, f"COPY {fmt_name}", encode, batch, sample, args)


def stream(encode, chunks: list[pa.RecordBatch]) -> None:
    """Encodes the chunks one after another, dropping each one's output as the server
    does once it is sent: held together, ~400 MB of outputs time page faults instead."""
    for chunk in chunks:
        encode(chunk, "rust")


def report(name: str, fmt_name: str, encode, batch: pa.RecordBatch, sample: pa.RecordBatch,
           args: argparse.Namespace) -> None:
    """Times `encode(batch, codec)` on both paths and prints one line (two with chunks)."""
    py_rows = sample.num_rows
    py_time, py_out = best(lambda: encode(sample, "python"), args.repeat)
    assert encode(sample, "rust") == py_out, f"{name} {fmt_name}: outputs differ"
    py_mb = len(py_out) / 1e6
    del py_out
    rs_time, rs_out = best(lambda: encode(batch, "rust"), args.repeat)
    rs_mb = len(rs_out) / 1e6
    del rs_out
    py_rate, rs_rate = py_rows / py_time, args.rows / rs_time
    print(f"  {fmt_name:11}  python {py_rate:>11,.0f} rows/s {py_mb / py_time:>7.1f} MB/s   "
          f"rust {rs_rate:>12,.0f} rows/s {rs_mb / rs_time:>7.1f} MB/s   "
          f"ratio {rs_rate / py_rate:>6.1f}x   ({rs_mb:,.1f} MB)", flush=True)
    if args.chunk_rows:
        chunks = [batch.slice(start, args.chunk_rows)
                  for start in range(0, args.rows, args.chunk_rows)]
        chunk_time, _ = best(lambda: stream(encode, chunks), args.repeat)
        chunk_rate = args.rows / chunk_time
        print(f"  {'':11}  rust in {args.chunk_rows}-row batches {chunk_rate:>12,.0f} rows/s "
              f"{rs_mb / chunk_time:>7.1f} MB/s   ratio {chunk_rate / py_rate:>6.1f}x", flush=True)


if __name__ == "__main__":
    main()
