"""Calls per Execute: how often one Bind/Execute/Sync of a prepared lookup crosses
between frontend modules (issue 22: the protocol layer calls the session, which never
calls it back), counted with sys.setprofile.

Run: PYTHONPATH=python .venv/bin/python ci/bench/execute_calls.py
(PYTHONPATH=<another checkout>/python for the code before a change: both the old
``session.extended`` and the new ``ExtendedProtocol(session)`` are driven.)
Prints, for the steady state (the fifth round), the Python calls made from one frontend
module into another (caller -> callee module: count; a coroutine resumed counts as a
call, as the profiler reports it), the calls between the protocol (extended) and the
session in each direction, and the calls of duckgres_trio's functions in all."""
from __future__ import annotations

import collections
import sys
import tempfile
from pathlib import Path

import trio

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from duckgres_trio.engine import local  # noqa: E402
from duckgres_trio.frontend.session import Session  # noqa: E402
from duckgres_trio.wire import frontend as msg  # noqa: E402
from tests.support.output import QueuedOutput  # noqa: E402

FRONTEND = "duckgres_trio/frontend/"


def _module(code) -> str | None:
    name = code.co_filename.replace("\\", "/")
    at = name.find(FRONTEND)
    return name[at + len(FRONTEND):-3] if at >= 0 else None


async def _round(protocol, session, out) -> None:
    session.begin_work()
    await protocol.bind(msg.Bind("", "lookup", (1,), ((7).to_bytes(4, "big"),), (1,)), out)
    execute = protocol.execute(msg.Execute("", 0), out, sync_next=True)
    if hasattr(session, "extended"):  # before: the connection wraps Execute in timed()
        execute = session.timed(execute, out)
    await execute
    await protocol.sync(out)
    session.end_work()


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        engine = local.LocalEngine(Path(tmp))
        session = Session(await engine.open_session("calls", "u"), "u", {})
        await session.start()
        if hasattr(session, "extended"):
            protocol = session.extended
        else:
            from duckgres_trio.frontend.extended import ExtendedProtocol
            protocol = ExtendedProtocol(session)
        out = QueuedOutput()
        await session.simple_query("CREATE TABLE t AS SELECT range::INTEGER AS id FROM range(1000)", out)
        await protocol.parse(msg.Parse("lookup", "SELECT id FROM t WHERE id = $1", (23,)), out)
        for _ in range(4):
            await _round(protocol, session, out)
        crossings: collections.Counter = collections.Counter()
        total = 0

        def profile(frame, event, arg):
            nonlocal total
            if event != "call":
                return
            if "duckgres_trio/" in frame.f_code.co_filename:
                total += 1  # ours only: trio's own calls depend on a thread hop or not
            callee, caller = _module(frame.f_code), frame.f_back and _module(frame.f_back.f_code)
            if callee and caller and callee != caller:
                crossings[f"{caller} -> {callee}"] += 1

        sys.setprofile(profile)
        try:
            await _round(protocol, session, out)
        finally:
            sys.setprofile(None)
        for pair, count in crossings.most_common():
            print(f"{count:4d}  {pair}")
        print(f"{sum(crossings.values()):4d}  between frontend modules")
        down = sum(c for pair, c in crossings.items() if pair.startswith("extended ->"))
        up = sum(c for pair, c in crossings.items() if pair.endswith("-> extended"))
        print(f"{down:4d}  protocol (extended) -> session layer")
        print(f"{up:4d}  session layer -> protocol (extended)")
        print(f"{total:4d}  calls of duckgres_trio functions in all")
        await session.close()


if __name__ == "__main__":
    trio.run(main)
