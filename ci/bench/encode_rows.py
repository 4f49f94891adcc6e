"""Micro-benchmark: DataRows of a 1M-row batch, Python codec path vs Rust codec path.

The batch has int64, int32, bool and short string columns (all encoded natively by
the Rust codec). Each path runs in text and binary format; the best of a few runs is
reported as rows/s, with the Rust/Python ratio. The outputs are checked to be equal.

    .venv/bin/python ci/bench/encode_rows.py [--rows N] [--repeat R]
"""

from __future__ import annotations

import argparse
import time

import pyarrow as pa

from duckgres_trio.wire.rows import encode_rows


def make_batch(rows: int) -> pa.RecordBatch:
    ids = pa.array(range(rows), pa.int64())
    return pa.record_batch({
        "id": ids,
        "n": pa.array([(i * 7919) % 1_000_003 - 500_000 if i % 10 else None for i in range(rows)], pa.int32()),
        "flag": pa.array([i % 3 == 0 if i % 7 else None for i in range(rows)]),
        "name": pa.array([f"user{i % 1000}" for i in range(rows)]),
    })


def best(fn, repeat: int) -> tuple[float, bytes]:
    times, out = [], b""
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    batch = make_batch(args.rows)
    print(f"{args.rows} rows, columns: {', '.join(f'{f.name} {f.type}' for f in batch.schema)}")
    for name, fmt in (("text", 0), ("binary", 1)):
        formats = [fmt] * batch.num_columns
        py_time, py_out = best(lambda: encode_rows(batch, formats, codec="python"), args.repeat)
        rs_time, rs_out = best(lambda: encode_rows(batch, formats, codec="rust"), args.repeat)
        assert py_out == rs_out, f"{name}: outputs differ"
        print(f"{name:6}  python {args.rows / py_time:>12,.0f} rows/s ({py_time:.3f} s)   "
              f"rust {args.rows / rs_time:>12,.0f} rows/s ({rs_time:.3f} s)   "
              f"ratio {py_time / rs_time:.1f}x   ({len(rs_out):,} bytes)")


if __name__ == "__main__":
    main()
