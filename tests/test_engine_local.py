"""The local engine: which executions skip the thread hop."""

from __future__ import annotations

import pytest

from duckgres_trio.engine import local

# the standalone engine, in process: no server, the same in either mode (tests/conftest.py)
pytestmark = pytest.mark.mode_independent


async def test_quick_prepared_statements_run_inline_slow_ones_in_threads(tmp_path, monkeypatch):
    # The rule is checked against the times the engine measured itself, with a
    # threshold far from both statements' times (quick: ~0.3 ms, a few ms on a
    # loaded machine; slow: ~150 ms on two idle cores, since the statement runs on all
    # of the database's threads: engine.threads), so a noisy machine cannot flip it.
    monkeypatch.setattr(local, "INLINE_SECONDS", 0.03)
    engine = local.LocalEngine(tmp_path)
    executor = await engine.open_session("inline", "u")
    hops = []
    real_call = executor._call

    async def counting_call(fn):
        hops.append(fn)
        return await real_call(fn)

    monkeypatch.setattr(executor, "_call", counting_call)
    try:
        quick = await executor.prepare("SELECT $1::INTEGER + 1 AS n")
        slow = await executor.prepare("SELECT count(*) AS n FROM range(100000000) t(a) WHERE a > $1")
        inline = {}
        for statement, arg, expected in ((quick, 41, 42), (slow, -1, 100_000_000)):
            runs = inline[statement is quick] = []
            for _ in range(3):
                hops.clear()
                known = statement.last_seconds
                result = await executor.execute_prepared(statement, [arg], True)
                rows = [b async for b in result.batches()]
                assert rows[0].column(0)[0].as_py() == expected
                runs.append(not hops)
                assert runs[-1] == (known < local.INLINE_SECONDS)
        # the quick one: first run in a thread (nothing known yet), then inline
        assert inline[True] == [False, True, True]
        assert inline[False] == [False, False, False]
        assert slow.last_seconds > local.INLINE_SECONDS
    finally:
        await executor.close()
        await engine.aclose()
