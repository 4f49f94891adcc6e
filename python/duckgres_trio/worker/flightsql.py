"""The worker's Arrow Flight SQL service, for ADBC and other Flight SQL clients.

``WorkerFlightServer`` (``flight.py``) hands every Flight call that is not one of its
JSON control actions to ``FlightSql``. Flight SQL messages are protobuf messages of the
package ``arrow.flight.protocol.sql`` wrapped in ``google.protobuf.Any``; the small
hand-written codec of ``duckgres_trio.flightsql`` (shared with the control plane's Flight SQL
ingress) reads and writes them.

Served:

- GetFlightInfo / GetSchema / DoGet: ``CommandStatementQuery``,
  ``CommandPreparedStatementQuery``, ``CommandGetSqlInfo``; DoGet of the
  ``TicketStatementQuery`` a GetFlightInfo returned.
- DoPut: ``CommandStatementUpdate``, ``CommandPreparedStatementQuery`` (binds one row of
  parameters), ``CommandPreparedStatementUpdate``.
- DoAction: ``CreatePreparedStatement``, ``ClosePreparedStatement``.

Anything else is answered with FlightUnimplementedError naming it (transactions of the
Flight SQL API too: SqlInfo says so, and plain ``BEGIN``/``COMMIT`` statements work).

Sessions: a call carrying the gRPC header ``x-duckgres-session: <token>`` runs in that
worker session (the control plane created it with ``CreateSession``). A call without it
(a plain Flight SQL client such as ADBC) runs in this service's default session, created
on first use as user "flightsql" (with standard Arrow types: ``DEFAULT_SESSION_SETUP``)
and shared by all such clients: one DuckDB connection, whose session lock serialises
their calls. Clients sharing it therefore share its transaction state, temporary
objects, settings and prepared statements, and a statement supersedes the result another
client has not fetched yet.

A query runs once, in GetFlightInfo: its first batches and its open DuckDB result are
kept under a random ticket that DoGet streams (more rows are fetched as the client reads).
A kept result is dropped when a later statement of its session supersedes it, when DoGet
ends without reading it all, or when no DoGet came for it within ``RESULT_TTL`` seconds.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.flight as fl

from duckgres_trio import __version__
from duckgres_trio.engine import duckdb_capi as capi
from duckgres_trio.engine.base import is_result_set
from duckgres_trio.engine.literals import UnbindableValue, bind_form
from duckgres_trio.engine.statement import Started
from duckgres_trio.flightsql import (  # noqa: F401 (re-exported)
    SQL_INFO_SCHEMA,
    Malformed,
    pack_any,
    pb_bytes,
    pb_decode,
    pb_encode,
    pb_str,
    pb_uint32s,
    FlightUnimplementedError,
    expect,
    unpack_any,
    unpack_command,
)
from duckgres_trio.flightsql import sql_info_table as _sql_info_table
from duckgres_trio.worker.session import Sessions, Unavailable, WorkerSession

log = logging.getLogger(__name__)

SESSION_HEADER = "x-duckgres-session"
#: The key of the middleware (``middleware``) that reads ``SESSION_HEADER``.
SESSION_MIDDLEWARE = "duckgres-session"
#: Run when the default session is created. The worker's database exports DuckDB's own
#: types as DuckDB extension types (``arrow_lossless_conversion``, for the PostgreSQL
#: encoders); a plain Flight SQL client gets the standard Arrow types DuckDB gives any
#: Arrow consumer instead (HUGEINT as decimal128(38, 0), UUID as text, ...).
DEFAULT_SESSION_SETUP = ("SET SESSION arrow_lossless_conversion = false",)
#: Seconds a query result waits for its DoGet before it is dropped.
RESULT_TTL = 60.0
#: Seconds a call waits for its session while another call uses it.
SESSION_WAIT = 60.0
#: Seconds the sweeper waits for a busy session before trying again.
_SWEEP_RETRY = 1.0


# -- SqlInfo ----------------------------------------------------------------------------

SQL_INFO: dict[int, str | bool | int] = {
    0: "duckgres-trio",                                   # FLIGHT_SQL_SERVER_NAME
    1: f"{__version__} (DuckDB {capi.VERSION})",          # FLIGHT_SQL_SERVER_VERSION
    2: pa.__version__,                                    # FLIGHT_SQL_SERVER_ARROW_VERSION
    3: False,                                             # FLIGHT_SQL_SERVER_READ_ONLY
    4: True,                                              # FLIGHT_SQL_SERVER_SQL
    5: False,                                             # FLIGHT_SQL_SERVER_SUBSTRAIT
    8: 0,                                 # FLIGHT_SQL_SERVER_TRANSACTION: none (API-wise)
    9: False,                                             # FLIGHT_SQL_SERVER_CANCEL
}


def sql_info_table(wanted: list[int]) -> pa.Table:
    """The SqlInfo rows asked for (all when ``wanted`` is empty; unknown ids omitted)."""
    return _sql_info_table(SQL_INFO, wanted)


# -- the service ------------------------------------------------------------------------

class _SessionHeader(fl.ServerMiddleware):
    def __init__(self, token: str) -> None:
        self.token = token


class _SessionHeaderFactory(fl.ServerMiddlewareFactory):
    """Makes the ``x-duckgres-session`` header of a call readable by its handler."""

    def start_call(self, info, headers):
        values = headers.get(SESSION_HEADER)
        return _SessionHeader(str(values[-1])) if values else None


@dataclass
class _Kept:
    """A query result waiting for its DoGet."""

    session: WorkerSession
    schema: pa.Schema
    first: list[pa.RecordBatch]
    #: The open DuckDB result while more rows remain. While it is open it is the
    #: session's current result: a later statement of the session closes it first.
    result: capi.Result | None
    deadline: float


class FlightSql:
    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions
        self._default_lock = threading.Lock()
        self._default: WorkerSession | None = None
        #: session -> prepared handle -> the parameter row a DoPut bound (an entry goes
        #: with its session).
        self._bound: weakref.WeakKeyDictionary[WorkerSession, dict[int, list]] = (
            weakref.WeakKeyDictionary())
        self._cond = threading.Condition()
        self._kept: dict[bytes, _Kept] = {}
        #: Expired results whose session was busy when the sweeper came for them.
        self._dying: list[_Kept] = []
        self._sweeper: threading.Thread | None = None

    #: Middleware for the Flight server (the header of a call is only readable there).
    @property
    def middleware(self) -> dict[str, fl.ServerMiddlewareFactory]:
        return {SESSION_MIDDLEWARE: _SessionHeaderFactory()}

    def list_actions(self) -> list[tuple[str, str]]:
        return [("CreatePreparedStatement", "Flight SQL: prepare a statement"),
                ("ClosePreparedStatement", "Flight SQL: release a prepared statement")]

    # -- Flight calls -----------------------------------------------------------------

    def do_action(self, context, action):
        with _flight_errors():
            if action.type not in ("CreatePreparedStatement", "ClosePreparedStatement"):
                log.debug("Flight SQL action %s: not served", action.type)
                raise FlightUnimplementedError(f"unknown action {action.type!r}")
            name, fields = unpack_any(action.body.to_pybytes() if action.body else b"")
            log.debug("Flight SQL action %s (%s)", action.type, name)
            session = self._session(context)
            if action.type == "CreatePreparedStatement":
                expect(name, "ActionCreatePreparedStatementRequest")
                if 2 in fields:
                    raise FlightUnimplementedError("Flight SQL transactions are not supported")
                with self._locked(session):
                    self._supersede(session)  # DuckDB's prepare ends an open result
                    handle, params, columns = session.prepare(pb_str(fields, 1))
                if not is_result_set(columns):
                    columns = pa.schema([])
                result = pb_encode((1, str(handle).encode()),
                                   (2, columns.serialize().to_pybytes()),
                                   (3, params.serialize().to_pybytes()))
                return [fl.Result(pack_any("ActionCreatePreparedStatementResult", result))]
            expect(name, "ActionClosePreparedStatementRequest")
            handle = _handle(pb_bytes(fields, 1))
            with self._locked(session):
                session.unprepare(handle)
                self._bound.get(session, {}).pop(handle, None)
            return []

    def get_flight_info(self, context, descriptor):
        with _flight_errors():
            name, fields = unpack_command(descriptor)
            log.debug("Flight SQL GetFlightInfo %s", name)
            if name == "CommandGetSqlInfo":
                rows = sql_info_table(pb_uint32s(fields, 1)).num_rows
                ticket = pack_any(name, pb_encode(*((1, i) for i in pb_uint32s(fields, 1))))
                return fl.FlightInfo(SQL_INFO_SCHEMA, descriptor,
                                     [fl.FlightEndpoint(ticket, [])], rows, -1)
            session = self._session(context)
            if name == "CommandStatementQuery":
                _no_transaction(fields)
                sql = pb_str(fields, 1)
                execute = lambda: session.execute(sql, None)  # noqa: E731
            elif name == "CommandPreparedStatementQuery":
                handle = _handle(pb_bytes(fields, 1))
                execute = lambda: session.run(  # noqa: E731
                    handle, self._bound.get(session, {}).get(handle, []), None)
            else:
                raise FlightUnimplementedError(f"Flight SQL command {name} is not supported")
            with self._locked(session):
                started = self._run(session, execute)
                if started.schema is None:  # no rows: an empty result, the count as its size
                    count = -1 if started.rowcount is None else started.rowcount
                    return fl.FlightInfo(pa.schema([]), descriptor, [], count, -1)
                ticket = pack_any("TicketStatementQuery",
                                  pb_encode((1, self._keep(session, started))))
            return fl.FlightInfo(started.schema, descriptor, [fl.FlightEndpoint(ticket, [])],
                                 -1, -1)

    def get_schema(self, context, descriptor):
        with _flight_errors():
            name, fields = unpack_command(descriptor)
            log.debug("Flight SQL GetSchema %s", name)
            if name == "CommandGetSqlInfo":
                return fl.SchemaResult(SQL_INFO_SCHEMA)
            session = self._session(context)
            with self._locked(session):
                if name == "CommandStatementQuery":
                    _no_transaction(fields)
                    self._supersede(session)  # DuckDB's prepare ends an open result
                    handle, _, columns = session.prepare(pb_str(fields, 1))
                    session.unprepare(handle)
                elif name == "CommandPreparedStatementQuery":
                    columns = session.described_columns(_handle(pb_bytes(fields, 1)))
                else:
                    raise FlightUnimplementedError(
                        f"Flight SQL command {name} is not supported")
            return fl.SchemaResult(columns if is_result_set(columns) else pa.schema([]))

    def do_get(self, context, ticket):
        with _flight_errors():
            name, fields = unpack_any(ticket.ticket)
            log.debug("Flight SQL DoGet %s", name)
            if name == "CommandGetSqlInfo":
                return fl.RecordBatchStream(sql_info_table(pb_uint32s(fields, 1)))
            expect(name, "TicketStatementQuery")
            with self._cond:
                kept = self._kept.pop(pb_bytes(fields, 1), None)
            if kept is None:
                raise fl.FlightServerError(
                    "unknown statement ticket: the result expired, was superseded by a later "
                    "statement of its session, or was already read")
            return fl.GeneratorStream(kept.schema, self._stream(kept))

    def do_put(self, context, descriptor, reader, writer):
        with _flight_errors():
            name, fields = unpack_command(descriptor)
            log.debug("Flight SQL DoPut %s", name)
            session = self._session(context)
            if name == "CommandStatementUpdate":
                _no_transaction(fields)
                sql = pb_str(fields, 1)
                with self._locked(session):
                    started = self._run(session, lambda: session.execute(sql, False))
            elif name == "CommandPreparedStatementQuery":
                raw = pb_bytes(fields, 1)
                handle = _handle(raw)
                row = _parameter_row(reader)
                with self._locked(session):
                    session.described_columns(handle)  # fails if there is no such statement
                    if row is not None:
                        self._bound.setdefault(session, {})[handle] = row
                # DoPutPreparedStatementResult: the handle stays the same.
                writer.write(pa.py_buffer(pb_encode((1, raw))))
                return
            elif name == "CommandPreparedStatementUpdate":
                handle = _handle(pb_bytes(fields, 1))
                row = _parameter_row(reader)
                if row is None:
                    row = self._bound.get(session, {}).get(handle, [])
                with self._locked(session):
                    started = self._run(session, lambda: session.run(handle, row, False))
            else:
                raise FlightUnimplementedError(f"Flight SQL command {name} is not supported")
            count = -1 if started.rowcount is None else started.rowcount
            writer.write(pa.py_buffer(pb_encode((1, count))))  # DoPutUpdateResult

    # -- sessions -----------------------------------------------------------------------

    def _session(self, context) -> WorkerSession:
        header = context.get_middleware(SESSION_MIDDLEWARE)
        if header is not None:
            session = self._sessions.get(header.token)
            if session is None:
                raise fl.FlightUnauthenticatedError("unknown duckgres session")
            return session
        with self._default_lock:
            session = self._default
            if session is None or self._sessions.get(session.token) is not session:
                try:
                    session = self._default = self._sessions.create(
                        "flightsql", replay=DEFAULT_SESSION_SETUP)
                except Unavailable as exc:
                    raise fl.FlightUnavailableError(f"create session: {exc}") from None
            return session

    @contextmanager
    def _locked(self, session: WorkerSession):
        """Hold the session's lock (bounded wait); fails if the session has ended."""
        if not session.lock.acquire(timeout=SESSION_WAIT):
            raise fl.FlightUnavailableError("the session is busy with another call")
        try:
            if self._sessions.get(session.token) is not session:  # destroyed meanwhile
                raise fl.FlightUnavailableError("the session has ended")
            yield
        finally:
            session.lock.release()

    def _run(self, session: WorkerSession, execute) -> Started:
        """Run a statement in the session (the caller holds its lock)."""
        self._supersede(session)
        try:
            return execute()
        except BaseException:
            session.drop_result()
            raise

    def _supersede(self, session: WorkerSession) -> None:
        """Drop the session's kept result before something else runs in it (the caller
        holds its lock): a later DoGet of its ticket is refused as superseded."""
        self._forget(session)
        session.drop_result()

    # -- kept results -------------------------------------------------------------------

    def _keep(self, session: WorkerSession, started: Started) -> bytes:
        handle = secrets.token_bytes(16)
        with self._cond:
            self._forget(session)
            self._kept[handle] = _Kept(session, started.schema, started.first or [],
                                       started.result, time.monotonic() + RESULT_TTL)
            if self._sweeper is None:
                self._sweeper = threading.Thread(target=self._sweep, daemon=True,
                                                 name="flightsql-results")
                self._sweeper.start()
            self._cond.notify()
        return handle

    def _forget(self, session: WorkerSession) -> None:
        """Forget the kept entry of ``session``."""
        with self._cond:
            for handle in [h for h, k in self._kept.items() if k.session is session]:
                del self._kept[handle]

    def _stream(self, kept: _Kept) -> Iterator[pa.RecordBatch]:
        finished = False
        try:
            first, kept.first = kept.first, []
            yield from first
            while kept.result is not None:
                with _flight_errors(), self._locked(kept.session):
                    if kept.result.exhausted:
                        raise fl.FlightServerError(
                            "the result was superseded by a later statement of its session")
                    batches, exhausted = kept.session.fetch()
                yield from batches
                if exhausted:
                    break
            finished = True
        finally:
            if not finished and not self._release(kept, wait=0.05):
                with self._cond:  # the client went away while the session is busy
                    self._dying.append(kept)
                    self._cond.notify()

    def _release(self, kept: _Kept, wait: float) -> bool:
        """Close the kept DuckDB result if it is still open; False if the session stayed
        busy for ``wait`` seconds."""
        if kept.result is None or kept.result.exhausted:
            return True
        if not kept.session.lock.acquire(timeout=wait):
            return False
        try:
            if not kept.result.exhausted:  # still the session's current result
                kept.session.drop_result()
        except Exception:
            log.exception("dropping a Flight SQL result")
        finally:
            kept.session.lock.release()
        return True

    def _sweep(self) -> None:
        """Drop kept results whose DoGet did not come in time (a daemon thread)."""
        while True:
            with self._cond:
                while True:
                    now = time.monotonic()
                    due = [h for h, k in self._kept.items() if k.deadline <= now]
                    if due or self._dying:
                        break
                    nearest = min((k.deadline for k in self._kept.values()), default=None)
                    self._cond.wait(None if nearest is None else nearest - now)
                dying = self._dying + [self._kept.pop(h) for h in due]
                self._dying = []
            busy = [kept for kept in dying if not self._release(kept, wait=0.05)]
            if busy:  # their sessions are running something: try again soon
                with self._cond:
                    self._dying += busy
                time.sleep(_SWEEP_RETRY)

    # -- helpers ------------------------------------------------------------------------

def _no_transaction(fields: dict) -> None:
    if 2 in fields:
        raise FlightUnimplementedError("Flight SQL transactions are not supported")


def _handle(raw: bytes) -> int:
    if not (0 < len(raw) <= 10 and raw.isdigit()):
        raise Malformed("invalid prepared statement handle")
    return int(raw)


def _parameter_row(reader) -> list | None:
    """The one parameter row a DoPut sends, as bind forms (None when it sends none)."""
    row: list | None = None
    while True:
        try:
            batch = reader.read_chunk().data
        except StopIteration:
            return row
        if batch is None or batch.num_rows == 0:
            continue
        if row is not None or batch.num_rows > 1:
            raise fl.FlightServerError(
                "binding several parameter rows at once is not supported: "
                "bind and execute one row at a time")
        row = []
        for index, column in enumerate(batch.columns, 1):
            try:
                row.append(bind_form(column[0].as_py()))
            except (UnbindableValue, ValueError, TypeError, OverflowError) as exc:
                raise fl.FlightServerError(f"parameter ${index}: {exc}") from None


@contextmanager
def _flight_errors():
    """Any failure as the Flight error the client sees; DuckDB's message unchanged."""
    try:
        yield
    except (fl.FlightError, NotImplementedError):
        raise
    except Malformed as exc:
        raise fl.FlightServerError(f"invalid Flight SQL request: {exc}") from None
    except (capi.DuckDBError, UnbindableValue, pa.ArrowException) as exc:
        raise fl.FlightServerError(str(exc)) from None
    except Exception as exc:
        log.exception("Flight SQL call failed")
        raise fl.FlightInternalError(f"{type(exc).__name__}: {exc}") from None
