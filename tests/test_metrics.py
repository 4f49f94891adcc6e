"""The Prometheus endpoint: it parses with prometheus_client's own parser, and the
counters move as queries succeed, fail and get cancelled, and as logins fail."""

from __future__ import annotations

import os
import socket
import threading
import time
import urllib.request

import psycopg
import pytest

from tests.conftest import free_port
from tests.support.metrics import scrape, value


@pytest.fixture
def metered(start_server):
    port = free_port()
    server = start_server("--metrics-address", f"127.0.0.1:{port}")
    return server, port


def test_the_endpoint_parses_and_counts(metered):
    server, port = metered
    before = scrape(port)
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        during = scrape(port)
        assert value(during, "duckgres_connections_open") == value(before, "duckgres_connections_open") + 1
        conn.execute("select 1")
        conn.execute("select 2")
        with pytest.raises(psycopg.errors.UndefinedTable):
            conn.execute("select * from nowhere")
        with pytest.raises(psycopg.errors.DivisionByZero):
            conn.execute("select 1 / 0")

        def cancel_soon():
            time.sleep(0.5)
            conn.cancel()

        thread = threading.Thread(target=cancel_soon)
        thread.start()
        with pytest.raises(psycopg.errors.QueryCanceled):
            conn.execute("select count(*) from range(50000000000)")
        thread.join()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(server.dsn(password="wrong"))
    after = scrape(port)
    ok = "duckgres_query_total"
    assert value(after, ok, status="success", reason="") - value(before, ok, status="success", reason="") >= 2
    assert value(after, ok, status="error", reason="user") - value(before, ok, status="error", reason="user") >= 2
    assert value(after, "duckgres_query_cancellations_total") - value(before, "duckgres_query_cancellations_total") == 1
    assert value(after, "duckgres_auth_failures_total") - value(before, "duckgres_auth_failures_total") == 1
    assert value(after, "duckgres_connections_open") == value(before, "duckgres_connections_open")
    assert value(after, "duckgres_query_duration_seconds_count") > value(before, "duckgres_query_duration_seconds_count")
    assert value(after, "duckgres_session_start_duration_seconds_count") >= 1
    assert value(after, "duckgres_connection_duration_seconds_count") >= 1
    for name in ("duckgres_rate_limited_ips", "duckgres_control_plane_workers_active",
                 "duckgres_control_plane_worker_queue_depth"):
        assert (name, ()) in after, name
    if os.environ.get("DUCKGRES_MODE", "controlplane") == "controlplane":
        assert value(after, "duckgres_control_plane_workers_active") >= 1
        assert value(after, "duckgres_control_plane_worker_spawn_seconds_count") >= 1
        assert value(after, "duckgres_control_plane_worker_acquire_seconds_count") >= 1
        transitions = sum(v for (name, _), v in after.items()
                          if name == "duckgres_worker_lifecycle_transitions_total")
        assert transitions >= 2  # spawning -> idle -> reserved ...


def test_an_unknown_path_is_404_and_a_taken_address_does_not_stop_the_server(start_server):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = start_server("--metrics-address", f"127.0.0.1:{port}")
        with psycopg.connect(server.dsn()) as conn:
            assert conn.execute("select 42").fetchone() == (42,)
        assert "metrics endpoint not started" in server.log()
    port = free_port()
    server = start_server("--metrics-address", f"127.0.0.1:{port}")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/other", timeout=10)
    assert info.value.code == 404
