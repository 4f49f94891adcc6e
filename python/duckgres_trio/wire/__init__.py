"""The sans-IO PostgreSQL protocol: bytes in, messages out; messages in, bytes out.

No sockets, no trio, no DuckDB here. Two implementations share one interface, chosen at
import by ``DUCKGRES_CODEC`` (``rust``, the default, or ``python``): the Rust extension
``duckgres_trio._native`` and the pure-Python reference modules in this package. Parts the
Rust side does not implement yet always come from Python.
"""

from __future__ import annotations

import os

from duckgres_trio.wire import framing as _py_framing

CODEC = os.environ.get("DUCKGRES_CODEC", "rust").strip().lower()
if CODEC not in ("rust", "python"):
    raise ImportError(f"DUCKGRES_CODEC must be 'rust' or 'python', not {CODEC!r}")

if CODEC == "rust":
    from duckgres_trio import _native

    FrameDecoder = _native.FrameDecoder
else:
    FrameDecoder = _py_framing.FrameDecoder

__all__ = ["CODEC", "FrameDecoder"]
