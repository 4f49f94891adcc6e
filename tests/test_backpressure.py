"""A client that stops reading costs bounded server memory: the engine stops producing."""

from __future__ import annotations

import time

from tests.support.rawpg import RawClient


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def test_stalled_reader_does_not_make_the_server_buffer_the_result(start_server):
    srv = start_server("--auth-method", "trust")
    client = RawClient(srv.port)
    client.startup(user="postgres", database="postgres")
    client.until(b"Z")
    baseline = rss_bytes(srv.proc.pid)
    # ~100M rows of ~30 bytes each on the wire: ~3 GB if the server buffered it all.
    client.query("SELECT range AS i, 'padding-padding' AS p FROM range(100000000)")
    kind, _ = client.receive()
    assert kind == b"T"
    samples = []
    for _ in range(6):  # the client reads nothing for 3 seconds
        time.sleep(0.5)
        samples.append(rss_bytes(srv.proc.pid) - baseline)
    growth = max(samples)
    assert growth < 300 * 1024 * 1024, f"server grew by {growth / 2**20:.0f} MiB"
    # Memory is flat once the socket is full, not growing with the stall.
    assert samples[-1] - samples[2] < 50 * 1024 * 1024, samples
    # The stream is intact: reading resumes where it stopped.
    for _ in range(1000):
        kind, body = client.receive()
        assert kind == b"D"
    client.close()
    # The server stays healthy for others.
    other = RawClient(srv.port)
    other.startup(user="postgres", database="postgres")
    other.until(b"Z")
    other.query("SELECT 1")
    assert [m[0] for m in other.until(b"Z")] == [b"T", b"D", b"C", b"Z"]
