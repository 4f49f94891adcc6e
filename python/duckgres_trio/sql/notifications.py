"""LISTEN, UNLISTEN, NOTIFY: read with PostgreSQL's parser (the session runs them,
frontend/notify.py)."""

from __future__ import annotations

from dataclasses import dataclass

import pglast
from pglast import ast

from duckgres_trio.errors import PgError, SqlState

#: PostgreSQL's limit on a payload (NAMEDATALEN-based queue entries: 8000 bytes).
MAX_PAYLOAD = 8000


@dataclass(frozen=True, slots=True)
class NotificationCommand:
    """``kind`` "listen", "unlisten" (``channel`` None: UNLISTEN *) or "notify"."""

    kind: str
    channel: str | None
    payload: str = ""


def parse_notification(text: str) -> NotificationCommand:
    try:
        node = pglast.parse_sql(text)[0].stmt
    except pglast.parser.ParseError as exc:
        raise PgError(SqlState.SYNTAX_ERROR, str(exc).split(", at index")[0]) from None
    if isinstance(node, ast.ListenStmt):
        return NotificationCommand("listen", node.conditionname)
    if isinstance(node, ast.UnlistenStmt):
        return NotificationCommand("unlisten", node.conditionname)
    payload = node.payload or ""
    if len(payload.encode()) >= MAX_PAYLOAD:
        raise PgError(SqlState.INVALID_PARAMETER_VALUE, "payload string too long")
    return NotificationCommand("notify", node.conditionname, payload)
