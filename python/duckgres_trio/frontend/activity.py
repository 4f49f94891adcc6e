"""pg_stat_activity and the backend-signalling functions: the server's live sessions.

The sessions live in this process (the control plane), not in DuckDB, so a statement
that reads pg_stat_activity gets a snapshot: the session writes these rows into a
temporary table of its DuckDB connection just before the statement runs
(``Session.publish_activity``), and the translator points the view's name at it. The
table (``engine.pg_catalog.ACTIVITY_TABLE``) is the server's own, so no catalog
relation lists it.
Query texts that may carry a secret (CREATE SECRET, PASSWORD '...') have their string
literals redacted (``sql.redaction``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pyarrow as pa

from duckgres_trio.engine.base import Progress
from duckgres_trio.engine.databases import database_oid
from duckgres_trio.engine.pg_catalog import OWNER_OID
from duckgres_trio.sql.redaction import redacted

#: pg_stat_activity's columns (PostgreSQL 15), as ACTIVITY_DDL declares them.
COLUMNS = pa.schema([
    ("datid", pa.uint32()), ("datname", pa.string()), ("pid", pa.int32()),
    ("leader_pid", pa.int32()), ("usesysid", pa.uint32()), ("usename", pa.string()),
    ("application_name", pa.string()), ("client_addr", pa.string()),
    ("client_hostname", pa.string()), ("client_port", pa.int32()),
    ("backend_start", pa.timestamp("us", tz="UTC")), ("xact_start", pa.timestamp("us", tz="UTC")),
    ("query_start", pa.timestamp("us", tz="UTC")), ("state_change", pa.timestamp("us", tz="UTC")),
    ("wait_event_type", pa.string()), ("wait_event", pa.string()), ("state", pa.string()),
    ("backend_xid", pa.string()), ("backend_xmin", pa.string()), ("query_id", pa.int64()),
    ("query", pa.string()), ("backend_type", pa.string()),
    # not PostgreSQL's: where the session runs and how far its statement is
    ("worker", pa.string()), ("progress_percent", pa.float64()),
    ("progress_rows", pa.int64()), ("progress_total_rows", pa.int64()),
    ("progress_stalled", pa.bool_()),
])


@dataclass
class Activity:
    """What one session is doing, kept up to date by the session."""

    pid: int
    database: str
    user: str
    client_addr: str
    backend_start: dt.datetime
    application_name: str = ""
    usesysid: int = OWNER_OID  # the user's role OID (pg_roles)
    state: str = "idle"
    query: str = ""
    query_start: dt.datetime | None = None
    xact_start: dt.datetime | None = None
    state_change: dt.datetime | None = None
    query_id: int | None = None
    worker: str | None = None
    progress: Progress | None = None  # filled in when a snapshot is taken
    # what the session waits for: ("Lock", "transactionid") for a write turn
    wait_event_type: str | None = None
    wait_event: str | None = None


def snapshot(activities: list[Activity]) -> pa.RecordBatch:
    rows = [
        {"datid": database_oid(a.database), "datname": a.database, "pid": a.pid,
         "leader_pid": None, "usesysid": a.usesysid, "usename": a.user,
         "application_name": a.application_name,
         "client_addr": a.client_addr or None, "client_hostname": None, "client_port": None,
         "backend_start": a.backend_start, "xact_start": a.xact_start,
         "query_start": a.query_start, "state_change": a.state_change,
         "wait_event_type": a.wait_event_type, "wait_event": a.wait_event, "state": a.state,
         "backend_xid": None, "backend_xmin": None, "query_id": a.query_id,
         "query": redacted(a.query), "backend_type": "client backend",
         "worker": a.worker,
         "progress_percent": a.progress.percent if a.progress else None,
         "progress_rows": a.progress.rows if a.progress else None,
         "progress_total_rows": a.progress.total_rows if a.progress else None,
         "progress_stalled": a.progress.stalled if a.progress else None}
        for a in activities
    ]
    return pa.RecordBatch.from_pylist(rows, schema=COLUMNS)


def signalled_schema(schema: pa.Schema, signals: tuple[tuple[int, str], ...]) -> pa.Schema:
    """Result columns as the session shows them after carrying the signals out: a
    pg_cancel_backend / pg_terminate_backend column boolean (the translator made them
    pids), a set_config column the text value set (the translator made it the arguments),
    a pg_notify column empty text (PostgreSQL's void prints so)."""
    for index, kind in signals:
        typ = pa.string() if kind in ("set_config", "notify") else pa.bool_()
        schema = schema.set(index, pa.field(schema.field(index).name, typ))
    return schema
