"""A session's prepared statements and portals, by name, and their lifetimes.

What Parse / Bind and SQL's PREPARE / DECLARE make (frontend/statements.py) is kept here
for the session: portals end with their transaction (but WITH HOLD cursors), a
portal's open DuckDB result is parked (read into memory) before anything else runs on
the session's connection, since a DuckDB connection streams one result at a time.
This module calls nothing above it: the session and the protocol call it, never the
reverse.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pyarrow as pa

from duckgres_trio.engine.base import Executor, Prepared
from duckgres_trio.errors import PgError
from duckgres_trio.frontend.origins import blank_padded
from duckgres_trio.sql import Statement
from duckgres_trio.sql.prepared import type_name
from duckgres_trio.wire import frontend as msg
from duckgres_trio.wire.rows import RowEncoder, row_description


@dataclass
class PreparedStatement:
    statement: Statement | None  # None: the empty query
    prepared: Prepared | None  # None: answered by the session, not the engine
    param_oids: tuple[int, ...]
    columns: pa.Schema | None  # None: no rows (NoData)
    cast: bool = False  # DuckDB prepared the text with casts added (errors: no position)
    #: for a statement that reads the session's settings (current_setting()): the
    #: Session.settings_version it was planned at. DuckDB reads a variable once, when it
    #: plans, so a SET since then means planning it again.
    settings_version: int | None = None
    # what pg_prepared_statements shows: the text as PostgreSQL shows it (PREPARE's
    # whole statement, a Parse's query), when, and whether by PREPARE
    text: str = ""
    prepare_time: dt.datetime | None = None
    from_sql: bool = False
    #: result column -> jsonb or not, as frontend/jsontypes.py resolved them at Parse
    json_types: dict[int, bool] = field(default_factory=dict)
    #: a Parse's statement: the parameter types it declared and Session.plan_state when
    #: it was planned (None: never reused). A Parse of the same text with the same
    #: types in the same state (pgbench -M extended, drivers' unnamed statements)
    #: takes it as it is instead of planning again.
    declared: tuple[int, ...] | None = None
    plan_state: tuple | None = None
    #: RowDescriptions by result formats, made once (for ``columns`` as they were)
    descriptions: dict[tuple[int, ...], bytes] = field(default_factory=dict)
    described_columns: pa.Schema | None = None
    widths: dict[int, int] = field(default_factory=dict)  # its char(n) columns'
    #: the row encoder of its last result (frontend/results.encode)
    encoder: RowEncoder | None = None

    def reusable(self, message: msg.Parse, state: tuple | None) -> bool:
        """Whether a Parse of ``message`` may take this statement as it is."""
        return state is not None and self.plan_state == state \
            and self.declared == message.param_oids and self.text == message.sql

    def row_description(self, formats: list[int] | None) -> bytes:
        """Its RowDescription with ``formats``, encoded once per format set."""
        self._follow_columns()
        key = tuple(formats) if formats else ()
        description = self.descriptions.get(key)
        if description is None:
            description = row_description(self.columns, formats)
            if len(self.descriptions) < 16:
                self.descriptions[key] = description
        return description

    def padding(self) -> dict[int, int]:
        """Its char(n) result columns' widths (frontend/origins.py), worked out once."""
        self._follow_columns()
        return self.widths

    def _follow_columns(self) -> None:
        columns = self.columns
        if self.described_columns is not columns:  # EXECUTE's follow their statement
            self.descriptions, self.described_columns = {}, columns
            self.widths = blank_padded(columns)


#: pg_prepared_statements' columns, as engine.pg_catalog.PREPARED_DDL declares them.
_PREPARED_COLUMNS = pa.schema([
    ("name", pa.string()), ("statement", pa.string()),
    ("prepare_time", pa.timestamp("us", tz="UTC")), ("parameter_types", pa.list_(pa.string())),
    ("from_sql", pa.bool_()), ("generic_plans", pa.int64()), ("custom_plans", pa.int64()),
])


@dataclass
class Portal:
    statement: PreparedStatement
    params: list[object]
    formats: list[int]
    started: bool = False
    done: bool = False
    stream: AsyncIterator[pa.RecordBatch] | None = None
    parked: list[pa.RecordBatch] = field(default_factory=list)
    cursor: bool = False  # DECLAREd: its statement belongs to it alone
    hold: bool = False  # WITH HOLD: outlives its transaction
    command: str | None = None  # the tag's command when not its statement's (EXECUTE)

    async def close(self) -> None:
        if self.stream is not None:
            await self.stream.aclose()
            self.stream = None
        self.parked.clear()


class Portals:
    """The statements and portals of one session."""

    def __init__(self, executor: Executor) -> None:
        self._executor = executor
        self.statements: dict[str, PreparedStatement] = {}
        self.portals: dict[str, Portal] = {}

    async def park(self, keep: Portal | None = None) -> None:
        """Read every open portal's remaining rows into memory (but ``keep``'s): the
        engine connection is about to run something else, which would end their DuckDB
        results. A cursor FETCHed with nothing in between is never parked: its memory
        stays one batch."""
        for portal in self.portals.values():
            if portal.stream is not None and portal is not keep:
                async for batch in portal.stream:
                    portal.parked.append(batch)
                portal.stream = None

    def reading(self) -> bool:
        """Whether a portal's statement is still being read from the engine."""
        return any(portal.stream is not None for portal in self.portals.values())

    async def drop_portals(self) -> None:
        portals = list(self.portals.values())
        self.portals.clear()
        for portal in portals:
            await self.discard(portal)

    async def end_transaction(self) -> None:
        """The transaction is over, and its portals with it, except WITH HOLD cursors,
        which keep their remaining rows (read now, as PostgreSQL materialises them)."""
        portals = dict(self.portals)
        self.portals.clear()
        for name, portal in portals.items():
            if portal.hold and not portal.done:
                self.portals[name] = portal
            else:
                await self.discard(portal)
        await self.park()

    async def drop_unnamed_portal(self) -> None:
        portal = self.portals.pop("", None)
        if portal is not None:
            await self.discard(portal)

    async def discard(self, portal: Portal) -> None:
        await portal.close()
        if portal.cursor:
            await self.release(portal.statement)

    async def close_statements(self) -> None:
        statements = list(self.statements.values())
        self.statements.clear()
        for statement in statements:
            await self.release(statement)

    async def release(self, statement: PreparedStatement) -> None:
        await self.unbind(statement)
        if statement.prepared is not None:
            await self._executor.close_prepared(statement.prepared)

    async def unbind(self, statement: PreparedStatement) -> None:
        """Close the portals bound to ``statement``."""
        for name, portal in list(self.portals.items()):
            if portal.statement is statement:
                await portal.close()
                del self.portals[name]

    def prepared_statements(self) -> pa.RecordBatch:
        """pg_prepared_statements' rows: the named statements, SQL and protocol level."""
        rows = [(name, p.text, p.prepare_time, [type_name(oid) for oid in p.param_oids],
                 p.from_sql, 0, 0) for name, p in self.statements.items() if name]
        return pa.RecordBatch.from_pylist(
            [dict(zip(_PREPARED_COLUMNS.names, row)) for row in rows], schema=_PREPARED_COLUMNS)

    async def deallocate(self, name: str | None) -> None:
        """DEALLOCATE name, or (None) DEALLOCATE ALL: every named statement, SQL or
        protocol level; the unnamed one stays, as in PostgreSQL."""
        if name is not None:
            if name not in self.statements:
                raise PgError("26000", f'prepared statement "{name}" does not exist')
            await self.release(self.statements.pop(name))
            return
        for old in [n for n in self.statements if n]:
            await self.release(self.statements.pop(old))
