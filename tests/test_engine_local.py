"""The local engine: which executions skip the thread hop."""

from __future__ import annotations

from duckgres_trio.engine import local


async def test_quick_prepared_statements_run_inline_slow_ones_in_threads(tmp_path, monkeypatch):
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
        slow = await executor.prepare("SELECT count(*) AS n FROM range(20000000) t(a) WHERE a > $1")
        for statement, arg, expected in ((quick, 41, 42), (slow, -1, 20_000_000)):
            for _ in range(3):
                hops.clear()
                result = await executor.execute_prepared(statement, [arg], True)
                rows = [b async for b in result.batches()]
                assert rows[0].column(0)[0].as_py() == expected
                ran_inline = not hops
                if statement is slow:
                    assert not ran_inline and statement.last_seconds > local.INLINE_SECONDS
        # the quick one: first run in a thread (nothing known yet), then inline
        assert quick.last_seconds < local.INLINE_SECONDS
        hops.clear()
        result = await executor.execute_prepared(quick, [1], True)
        assert [b async for b in result.batches()][0].column(0)[0].as_py() == 2
        assert not hops
    finally:
        await executor.close()
        await engine.aclose()
