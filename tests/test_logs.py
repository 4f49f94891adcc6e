"""Log lines in key=value and JSON form, tagged with their connection's attributes, and
never carrying a statement's text."""

from __future__ import annotations

import json
import os

import psycopg
import pytest


def _terminate_someone(server) -> int:
    with psycopg.connect(server.dsn(application_name="terminator"), autocommit=True) as conn:
        victim = psycopg.connect(server.dsn())
        conn.execute("select pg_terminate_backend(%s), 'hunter2' as secret",
                     [victim.info.backend_pid])
        pid = conn.info.backend_pid
        victim.close()
    return pid


def test_json_lines_carry_the_connection(start_server):
    server = start_server("--log-format", "json")
    pid = _terminate_someone(server)
    lines = [json.loads(line) for line in server.log().splitlines() if line.startswith("{")]
    assert lines, server.log()
    event = next(line for line in lines if "terminate requested" in line["msg"])
    assert event["pid"] == pid and event["user"] == "postgres"
    assert event["database"] == "postgres" and event["level"] == "info"
    assert isinstance(event["query_id"], int)
    if os.environ.get("DUCKGRES_MODE", "controlplane") == "controlplane":
        assert event["worker"].startswith("w")
    assert "hunter2" not in server.log()


@pytest.mark.parametrize("fmt", ["keyvalue", "text"])
def test_other_formats_carry_it_too(start_server, fmt):
    server = start_server("--log-format", fmt)
    pid = _terminate_someone(server)
    line = next(line for line in server.log().splitlines() if "terminate requested" in line)
    assert f"pid={pid}" in line and "user=postgres" in line and "query_id=" in line
    assert "hunter2" not in server.log()
