"""Log lines: one per event, as plain text, key=value pairs or JSON (``log_format``),
carrying the connection they belong to.

A connection's task binds its attributes (pid, user, database, worker) and each
statement its query id with ``bind``: they live in a context variable, which trio
gives every task a copy of, so whatever logs on a connection's behalf, in whichever
module, is tagged without passing anything around. Log messages never carry SQL text
(a statement may hold a password or a secret); the query id ties a log line to
pg_stat_activity and to the client's error instead.
"""

from __future__ import annotations

import contextvars
import json
import logging
import time

_ATTRS: contextvars.ContextVar[dict[str, object]] = contextvars.ContextVar(
    "duckgres_log_attrs", default={})

FORMATS = ("text", "keyvalue", "json")


def bind(**attrs: object) -> None:
    """Tag this task's (and its children's) log lines with ``attrs`` from now on."""
    _ATTRS.set({**_ATTRS.get(), **attrs})


def configure(level: str, fmt: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter({"text": TextFormatter, "keyvalue": KeyValueFormatter,
                          "json": JsonFormatter}[fmt]())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


def _fields(record: logging.LogRecord) -> dict[str, object]:
    fields: dict[str, object] = {
        "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        + f".{int(record.msecs):03d}Z",
        "level": record.levelname.lower(), "logger": record.name,
        "msg": record.getMessage()}
    fields.update(_ATTRS.get())
    if record.exc_info:
        fields["exc"] = logging.Formatter().formatException(record.exc_info)
    return fields


class TextFormatter(logging.Formatter):
    """The classic line, with the connection's attributes appended."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        attrs = _ATTRS.get()
        return line + "".join(f" {k}={v}" for k, v in attrs.items()) if attrs else line


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return " ".join(f"{k}={_quoted(v)}" for k, v in _fields(record).items())


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(_fields(record), default=str)


def _quoted(value: object) -> str:
    text = str(value)
    if text and not any(c in text for c in ' "=\n'):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
