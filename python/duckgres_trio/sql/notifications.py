"""LISTEN, UNLISTEN, NOTIFY: read with PostgreSQL's parser (the session runs them,
frontend/notify.py)."""

from __future__ import annotations

from dataclasses import dataclass

from pglast import ast

from duckgres_trio.errors import PgError, SqlState
from duckgres_trio.sql.parsing import parse_statement

#: PostgreSQL's limit on a payload (NAMEDATALEN-based queue entries: 8000 bytes).
MAX_PAYLOAD = 8000


@dataclass(frozen=True, slots=True)
class NotificationCommand:
    """``kind`` "listen", "unlisten" (``channel`` None: UNLISTEN *) or "notify"."""

    kind: str
    channel: str | None
    payload: str = ""


def parse_notification(text: str) -> NotificationCommand:
    node = parse_statement(text)
    if isinstance(node, ast.ListenStmt):
        return NotificationCommand("listen", node.conditionname)
    if isinstance(node, ast.UnlistenStmt):
        return NotificationCommand("unlisten", node.conditionname)
    payload = node.payload or ""
    if len(payload.encode()) >= MAX_PAYLOAD:
        raise PgError(SqlState.INVALID_PARAMETER_VALUE, "payload string too long")
    return NotificationCommand("notify", node.conditionname, payload)
