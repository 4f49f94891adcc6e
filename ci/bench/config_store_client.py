"""The config store's client under trio: psycopg's sans-IO generators driven by
trio.lowlevel.wait_readable (tenancy/pgtrio.py) vs psycopg's AsyncConnection through
trio-asyncio. The numbers in docs/multitenancy.md come from here.

Run: .venv/bin/python ci/bench/config_store_client.py sansio
     PYTHONPATH=<dir with trio-asyncio> .venv/bin/python ci/bench/config_store_client.py trio-asyncio
(trio-asyncio is not a dependency: install it anywhere outside .venv, e.g.
`pip install --target /tmp/ta trio-asyncio`.) Starts a throwaway PostgreSQL 15 cluster;
prints connect time, SELECT 1 round trip and NOTIFY-to-wake-up latency (medians).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

if sys.argv[1:] == ["trio-asyncio"]:
    import trio_asyncio  # noqa: F401 - must patch asyncio before psycopg imports it

import psycopg  # noqa: E402
import trio  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "python"))

from tests.support.pg15 import running_pg15  # noqa: E402

ROUND_TRIPS, NOTIFIES = 3000, 200


async def sansio(dsn: str) -> tuple[float, float, float]:
    from duckgres_trio.tenancy.pgtrio import Connection

    started = time.perf_counter()
    conn = await Connection.connect(dsn)
    connect = time.perf_counter() - started
    for _ in range(200):
        await conn.query("select 1")
    started = time.perf_counter()
    for _ in range(ROUND_TRIPS):
        await conn.query("select 1")
    round_trip = (time.perf_counter() - started) / ROUND_TRIPS
    listener = await Connection.connect(dsn)
    await listener.query("listen bench")
    latencies = []
    for _ in range(NOTIFIES):
        started = time.perf_counter()
        await conn.query("notify bench")
        await listener.notifies()
        latencies.append(time.perf_counter() - started)
    return connect, round_trip, statistics.median(latencies)


async def via_trio_asyncio(dsn: str) -> tuple[float, float, float]:
    import trio_asyncio

    async with trio_asyncio.open_loop():
        async def connect_aio():
            return await psycopg.AsyncConnection.connect(dsn, autocommit=True)

        started = time.perf_counter()
        conn = await trio_asyncio.aio_as_trio(connect_aio)()
        connect = time.perf_counter() - started

        async def select_aio():
            return await (await conn.execute("select 1")).fetchall()

        select = trio_asyncio.aio_as_trio(select_aio)
        for _ in range(200):
            await select()
        started = time.perf_counter()
        for _ in range(ROUND_TRIPS):
            await select()
        round_trip = (time.perf_counter() - started) / ROUND_TRIPS
        listener = await trio_asyncio.aio_as_trio(connect_aio)()

        async def listen_aio():
            await listener.execute("listen bench")
        await trio_asyncio.aio_as_trio(listen_aio)()
        stream = listener.notifies()

        async def notify_aio():
            await conn.execute("notify bench")

        async def next_aio():
            return await stream.__anext__()
        notify, wake = trio_asyncio.aio_as_trio(notify_aio), trio_asyncio.aio_as_trio(next_aio)
        latencies = []
        for _ in range(NOTIFIES):
            started = time.perf_counter()
            await notify()
            await wake()
            latencies.append(time.perf_counter() - started)
        return connect, round_trip, statistics.median(latencies)


def main() -> None:
    which = sys.argv[1] if len(sys.argv) > 1 else "sansio"
    run = {"sansio": sansio, "trio-asyncio": via_trio_asyncio}[which]
    with running_pg15() as dsn:
        connect, round_trip, wake = trio.run(run, dsn)
    print(f"{which}: connect {connect * 1e3:.1f} ms, SELECT 1 {round_trip * 1e6:.0f} us, "
          f"NOTIFY to wake-up {wake * 1e6:.0f} us (median)")


if __name__ == "__main__":
    main()
