"""The Flight SQL ingress's gRPC side: authentication, the Flight SQL calls, the bridge
to the server's trio loop.

Arrow Flight's server (pyarrow, gRPC) calls these handlers on its own threads; each
handler does its session work on the server's trio loop (``trio.from_thread``), where
engine sessions live, and waits for it. A result's batches are pulled from the engine
one at a time as gRPC asks for the next (``GeneratorStream``): gRPC's flow control
holds a slow reader's stream, which then stops pulling, which stops the worker.

Authentication (``_AuthFactory``): a Handshake with ``authorization: Basic
<user:password>`` (what ADBC and pyarrow's ``authenticate_basic_token`` send) is
checked against the server's users and verifiers (a SCRAM verifier checks the plaintext
password as PostgreSQL's ``password`` method does); it opens a session and is
answered with the header ``authorization: Bearer <token>``, which every later call
carries. Headers of the logging-in call: ``database`` (default: the user's name, as in libpq), and
``application_name`` (pg_stat_activity).
"""

from __future__ import annotations

import base64
import binascii
import logging
import math
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import pyarrow as pa
import pyarrow.flight as fl
import trio

from duckgres_trio import __version__
from duckgres_trio.errors import PgError, SqlState
from duckgres_trio.flightingress import arrow_types, catalog
from duckgres_trio.flightingress.session import FlightSession
from duckgres_trio.frontend import auth, scram
from duckgres_trio.flightsql import (
    SQL_INFO_SCHEMA,
    Malformed,
    pack_any,
    pb_bytes,
    pb_encode,
    pb_str,
    pb_uint32s,
    sql_info_table,
    FlightUnimplementedError,
    expect,
    unpack_any,
    unpack_command,
)

log = logging.getLogger(__name__)

#: Parameter rows one DoPut may send (ADBC's executemany): each is one execution.
MAX_PARAMETER_ROWS = 100_000
DATABASE_HEADER = "database"
APPLICATION_HEADER = "application_name"
_AUTH = "auth"

SQL_INFO: dict[int, str | bool | int] = {
    0: "duckgres-trio",                                   # FLIGHT_SQL_SERVER_NAME
    1: __version__,                                       # FLIGHT_SQL_SERVER_VERSION
    2: pa.__version__,                                    # FLIGHT_SQL_SERVER_ARROW_VERSION
    3: False,                                             # FLIGHT_SQL_SERVER_READ_ONLY
    4: True,                                              # FLIGHT_SQL_SERVER_SQL
    5: False,                                             # FLIGHT_SQL_SERVER_SUBSTRAIT
    8: 1,                                 # FLIGHT_SQL_SERVER_TRANSACTION: transactions
    9: True,                                              # FLIGHT_SQL_SERVER_CANCEL
}
_METADATA = {"CommandGetCatalogs": catalog.CATALOGS, "CommandGetDbSchemas": catalog.DB_SCHEMAS,
             "CommandGetTableTypes": catalog.TABLE_TYPES,
             "CommandGetPrimaryKeys": catalog.PRIMARY_KEYS}
_ACTIONS = {
    "CreatePreparedStatement": "Flight SQL: prepare a statement",
    "ClosePreparedStatement": "Flight SQL: release a prepared statement",
    "BeginTransaction": "Flight SQL: begin a transaction",
    "EndTransaction": "Flight SQL: commit or roll back the transaction",
    "CancelQuery": "Flight SQL: cancel the session's running statement",
    "CancelFlightInfo": "Cancel the session's running statement",
    "CloseSession": "End the session of this bearer token",
}


def flight_error(err: PgError) -> fl.FlightError:
    """A PgError as the Flight error a client sees: PostgreSQL's message, its detail and
    hint, and "(SQLSTATE xxxxx)", as psql shows a pgwire error."""
    text = err.message
    if err.detail:
        text += f"\nDETAIL:  {err.detail}"
    if err.hint:
        text += f"\nHINT:  {err.hint}"
    text += f" (SQLSTATE {err.sqlstate})"
    extra = err.sqlstate.encode()
    if err.sqlstate.startswith("28"):
        return fl.FlightUnauthenticatedError(text, extra_info=extra)
    if err.sqlstate == SqlState.QUERY_CANCELED:
        return fl.FlightCancelledError(text, extra_info=extra)
    if err.sqlstate in (SqlState.TOO_MANY_CONNECTIONS, "57P03"):
        return fl.FlightUnavailableError(text, extra_info=extra)
    return fl.FlightServerError(text, extra_info=extra)


@contextmanager
def _errors():
    try:
        yield
    except (fl.FlightError, NotImplementedError):
        raise
    except PgError as err:
        raise flight_error(err) from None
    except Malformed as exc:
        raise fl.FlightServerError(f"invalid Flight SQL request: {exc}") from None
    except trio.RunFinishedError:
        raise fl.FlightUnavailableError("the server is shutting down") from None
    except Exception as exc:
        log.exception("Flight SQL call failed")
        raise fl.FlightInternalError(f"{type(exc).__name__}: {exc}") from None


class _Auth(fl.ServerMiddleware):
    def __init__(self, session: FlightSession, issued: str | None = None) -> None:
        self.session = session
        self._issued = issued

    def sending_headers(self):
        return {"authorization": f"Bearer {self._issued}"} if self._issued else {}


class _AuthFactory(fl.ServerMiddlewareFactory):
    def __init__(self, ingress: FlightIngress) -> None:
        self._ingress = ingress

    def start_call(self, info, headers):
        values = headers.get("authorization") or []
        value = str(values[-1]) if values else ""
        scheme, _, credentials = value.partition(" ")
        with _errors():
            if scheme.lower() == "basic":
                if info.method != fl.FlightMethod.HANDSHAKE:  # one session per login
                    raise fl.FlightUnauthenticatedError(
                        "basic auth is accepted on the Handshake call only: send the "
                        "bearer token it answers with")
                session = self._ingress.login(credentials, headers)
                return _Auth(session, session.token)
            if scheme.lower() == "bearer":
                session = self._ingress.sessions.get(credentials)
                if session is None or session.closed:
                    raise fl.FlightUnauthenticatedError(
                        "unknown or expired Flight SQL session token: authenticate again "
                        "(basic auth)")
                return _Auth(session)
        raise fl.FlightUnauthenticatedError(
            "authentication required: basic auth (user and password) or a bearer token")


class _NoHandshakeAuth(fl.ServerAuthHandler):
    """Lets the Handshake call through: the middleware authenticates it (and every
    other call) from its headers."""

    def authenticate(self, outgoing, incoming):
        pass

    def is_valid(self, token):
        return b""


class FlightIngress(fl.FlightServerBase):
    def __init__(self, location: str, server, trio_token: trio.lowlevel.TrioToken,
                 tls_certificates=None) -> None:
        self.server = server
        self._token = trio_token
        #: bearer token -> session; read on gRPC threads, changed on the trio loop
        self.sessions: dict[str, FlightSession] = {}
        super().__init__(location, auth_handler=_NoHandshakeAuth(),
                         tls_certificates=tls_certificates or [],
                         middleware={_AUTH: _AuthFactory(self)})

    # -- the bridge ---------------------------------------------------------------------

    def _trio(self, fn, *args):
        return trio.from_thread.run(fn, *args, trio_token=self._token)

    def _session(self, context) -> FlightSession:
        """The call's session; its first call after the login also admits the client's
        address (``_admit_address``)."""
        auth = context.get_middleware(_AUTH)
        if auth is None:  # not reached: the middleware refuses calls without it
            raise fl.FlightUnauthenticatedError("authentication required")
        session = auth.session
        if session.address is None:
            self._trio(self._admit_address, session, peer_address(context.peer()))
        return session

    async def _admit_address(self, session: FlightSession, address: str) -> None:
        """The per-address limits of pgwire connections (``max_connections_per_ip``, a
        ban after failed logins), applied at a session's first call after its login:
        the Handshake, where the login happens, is not shown the client's address
        (pyarrow gives its middleware and auth handler none), the calls' context is.
        A session counts as one connection of its address until it ends (pgwire and
        Flight SQL together), whatever gRPC connections carry its calls."""
        if session.address is not None:  # another call of the session came first
            return
        limits = self.server.limits
        if not limits.admit(address):
            remaining = limits.ban_remaining(address)
            await self.end(session)
            if remaining:
                raise PgError(SqlState.INVALID_AUTHORIZATION_SPECIFICATION,
                              "too many failed login attempts from this address; retry "
                              f"after {math.ceil(remaining)} s", severity="FATAL")
            raise PgError(SqlState.TOO_MANY_CONNECTIONS,
                          f"too many connections from {address} (max_connections_per_ip)",
                          severity="FATAL")
        session.address = session.activity.client_addr = address

    # -- authentication -----------------------------------------------------------------

    def login(self, credentials: str, headers: dict) -> FlightSession:
        """Check basic-auth credentials (on the gRPC thread: the verifier's PBKDF2
        costs the loop nothing) and open a session for them."""
        try:
            # Go's Flight client sends unpadded base64 (RawStdEncoding)
            padded = credentials.strip() + "=" * (-len(credentials.strip()) % 4)
            user, sep, password = base64.b64decode(padded, validate=True).decode() \
                .partition(":")
        except (binascii.Error, UnicodeDecodeError):
            user, sep, password = "", "", ""
        if not sep or not user:
            raise fl.FlightUnauthenticatedError("malformed basic auth credentials")
        database = _header(headers, DATABASE_HEADER)
        application = _header(headers, APPLICATION_HEADER) or ""
        server = self.server
        config = server.config
        org = None
        if server.tenancy is not None:
            org, verifier, why, database = self._route(user, database)
        else:
            verifier, why = server.users.get(user), ""
            database = database or user
        try:
            if config.auth_method == "trust":
                if why:
                    raise scram._auth_failed(user)
            else:
                scram.check_cleartext(verifier, user, password, bool(why))
        except PgError:
            if why:
                log.info("Flight SQL login of %r refused: %s", user, why)
            raise
        return self._trio(self._open, user, org, database, application)

    def _route(self, user: str, database: str | None):
        """Many tenants: the organisation (from the database name, as pgwire routes a
        connection without a TLS server name), the user's verifier, why it must fail."""
        from duckgres_trio.tenancy import routing

        tenancy = self.server.tenancy
        snapshot = tenancy.snapshot()
        found = routing.route(snapshot, mode="off", suffixes=(), server_name=None,
                              database=database or None, user=user)
        org = found.org
        verifier, why = auth.tenant_login(snapshot, org, user)
        why = found.why or why
        return org, verifier, why, found.database

    async def _open(self, user: str, org, database: str, application: str) -> FlightSession:
        server = self.server
        engine = server.engine if org is None else server.tenancy.engine_for(org)
        session = FlightSession(server, engine, token=secrets.token_urlsafe(32), user=user,
                                org=None if org is None else org.name, database=database,
                                address="", application_name=application)
        server.admit(session)  # max_connections, the organisation's and role's limits
        server._connections.add(session)
        try:
            await session.open()
        except BaseException:
            server.forget(session)
            raise
        self.sessions[session.token] = session
        log.info("Flight SQL session %d opened for %r on database %r", session.pid, user,
                 database)
        return session

    async def end(self, session: FlightSession) -> None:
        self.sessions.pop(session.token, None)
        try:
            await session.close()
        finally:
            self.server.forget(session)
            if session.address:  # counted by _admit_address: given back once
                self.server.limits.release(session.address)
                session.address = ""

    # -- Flight calls -------------------------------------------------------------------

    def list_actions(self, context):
        return list(_ACTIONS.items())

    def do_action(self, context, action):
        with _errors():
            session = self._session(context)
            body = action.body.to_pybytes() if action.body else b""
            kind = action.type
            if kind == "CloseSession":
                self._trio(self.end, session)
                return [fl.Result(pb_encode((1, 1)))]  # CloseSessionResult: CLOSED
            if kind == "CancelFlightInfo":
                self._cancel(session)
                return [fl.Result(pb_encode((1, 1)))]  # CancelFlightInfoResult: CANCELLED
            if kind not in _ACTIONS:
                raise FlightUnimplementedError(f"unknown action {kind!r}")
            name, fields = unpack_any(body)
            if kind == "CancelQuery":
                self._cancel(session)
                return [fl.Result(pack_any("ActionCancelQueryResult", pb_encode((1, 1))))]
            if kind == "BeginTransaction":
                self._trio(session.update, "BEGIN", context)
                result = pb_encode((1, secrets.token_hex(8)))
                return [fl.Result(pack_any("ActionBeginTransactionResult", result))]
            if kind == "EndTransaction":
                action_kind = fields.get(2, [0])[-1]
                if action_kind not in (1, 2):
                    raise Malformed("EndTransaction needs COMMIT or ROLLBACK")
                self._trio(session.update, "COMMIT" if action_kind == 1 else "ROLLBACK",
                           context)
                return []
            if kind == "CreatePreparedStatement":
                expect(name, "ActionCreatePreparedStatementRequest")
                handle, params, columns = self._trio(session.prepare, pb_str(fields, 1),
                                                     context)
                result = pb_encode((1, str(handle)), (2, columns.serialize().to_pybytes()),
                                   (3, params.serialize().to_pybytes()))
                return [fl.Result(pack_any("ActionCreatePreparedStatementResult", result))]
            expect(name, "ActionClosePreparedStatementRequest")
            self._trio(session.close_prepared, _handle(pb_bytes(fields, 1)))
            return []

    def _cancel(self, session: FlightSession) -> None:
        trio.from_thread.run_sync(session.request_cancel, trio_token=self._token)

    def get_flight_info(self, context, descriptor):
        with _errors():
            name, fields = unpack_command(descriptor)
            session = self._session(context)
            if name == "CommandGetSqlInfo":
                rows = sql_info_table(SQL_INFO, pb_uint32s(fields, 1)).num_rows
                return self._info(SQL_INFO_SCHEMA, descriptor, rows)
            if name == "CommandGetTables":
                schema = catalog.TABLES_WITH_SCHEMA if fields.get(5, [0])[-1] else catalog.TABLES
                return self._info(schema, descriptor)
            if name in _METADATA:
                return self._info(_METADATA[name], descriptor)
            if name == "CommandStatementQuery":
                outcome = self._trio(session.query, pb_str(fields, 1), context)
            elif name == "CommandPreparedStatementQuery":
                outcome = self._trio(session.run_prepared, _handle(pb_bytes(fields, 1)), None,
                                     context)
            else:
                raise FlightUnimplementedError(f"Flight SQL command {name} is not supported")
            if isinstance(outcome, int):  # no rows: an empty result, the count as its size
                return fl.FlightInfo(pa.schema([]), descriptor, [], outcome, -1)
            schema, ticket = outcome
            ticket = pack_any("TicketStatementQuery", pb_encode((1, ticket)))
            return fl.FlightInfo(schema, descriptor, [fl.FlightEndpoint(ticket, [])], -1, -1)

    @staticmethod
    def _info(schema, descriptor, rows: int = -1):
        """A metadata command's FlightInfo: its ticket is the command, run at DoGet."""
        return fl.FlightInfo(schema, descriptor, [fl.FlightEndpoint(descriptor.command, [])],
                             rows, -1)

    def get_schema(self, context, descriptor):
        with _errors():
            name, fields = unpack_command(descriptor)
            session = self._session(context)
            if name == "CommandGetSqlInfo":
                return fl.SchemaResult(SQL_INFO_SCHEMA)
            if name == "CommandGetTables":
                return fl.SchemaResult(catalog.TABLES_WITH_SCHEMA if fields.get(5, [0])[-1]
                                       else catalog.TABLES)
            if name in _METADATA:
                return fl.SchemaResult(_METADATA[name])
            if name == "CommandStatementQuery":
                handle, _, columns = self._trio(session.prepare, pb_str(fields, 1), context)
                self._trio(session.close_prepared, handle)
            elif name == "CommandPreparedStatementQuery":
                columns = arrow_types.client_schema(
                    session.statement(_handle(pb_bytes(fields, 1))).prepared.columns)
            else:
                raise FlightUnimplementedError(f"Flight SQL command {name} is not supported")
            return fl.SchemaResult(columns)

    def do_get(self, context, ticket):
        with _errors():
            session = self._session(context)
            name, fields = unpack_any(ticket.ticket)
            if name == "CommandGetSqlInfo":
                return fl.RecordBatchStream(sql_info_table(SQL_INFO, pb_uint32s(fields, 1)))
            if name == "CommandGetTableTypes":
                return fl.RecordBatchStream(catalog.table(catalog.TABLE_TYPES,
                                                          [(k,) for k in catalog.KINDS]))
            if name in _METADATA or name == "CommandGetTables":
                return fl.RecordBatchStream(self._trio(self._metadata, session, name, fields))
            expect(name, "TicketStatementQuery")
            handle = pb_bytes(fields, 1)
            schema = self._trio(session.kept_schema, handle)
            return fl.GeneratorStream(schema, self._stream(session, handle))

    def _stream(self, session: FlightSession, handle: bytes) -> Iterator[pa.RecordBatch]:
        finished = False
        try:
            while True:
                with _errors():
                    batch = self._trio(session.next_batch, handle)
                if batch is None:
                    finished = True
                    return
                yield batch
        finally:
            if not finished:  # the client went away, or failed: close the result
                try:
                    self._trio(session.drop, handle)
                except Exception:
                    log.debug("dropping an abandoned Flight SQL result", exc_info=True)

    async def _metadata(self, session: FlightSession, name: str, fields: dict) -> pa.Table:
        def optional(number: int) -> str | None:
            return pb_str(fields, number) if number in fields else None

        if name == "CommandGetCatalogs":
            return catalog.table(catalog.CATALOGS, await session.rows(catalog.catalogs_sql()))
        if name == "CommandGetDbSchemas":
            return catalog.table(catalog.DB_SCHEMAS, await session.rows(
                catalog.db_schemas_sql(optional(1), optional(2))))
        if name == "CommandGetPrimaryKeys":
            return catalog.table(catalog.PRIMARY_KEYS, await session.rows(
                catalog.primary_keys_sql(optional(1), optional(2), pb_str(fields, 3))))
        kinds = [k.decode(errors="replace") for k in fields.get(4, []) if isinstance(k, bytes)]
        sql = catalog.tables_sql(optional(1), optional(2), optional(3), kinds)
        rows = await session.rows(sql) if sql else []
        if not fields.get(5, [0])[-1]:
            return catalog.table(catalog.TABLES, rows)
        described = []
        for row in rows:
            schema = await session.describe(catalog.relation_sql(*row[:3]))
            described.append((*row, schema.serialize().to_pybytes()))
        return catalog.table(catalog.TABLES_WITH_SCHEMA, described)

    def do_put(self, context, descriptor, reader, writer):
        with _errors():
            name, fields = unpack_command(descriptor)
            session = self._session(context)
            if name == "CommandStatementUpdate":
                count = self._trio(session.update, pb_str(fields, 1), context)
            elif name == "CommandPreparedStatementQuery":
                raw = pb_bytes(fields, 1)
                handle = _handle(raw)
                row = _parameter_row(reader)
                session.statement(handle)  # fails if there is no such statement
                if row is not None:
                    self._trio(session.bind, handle, row)
                writer.write(pa.py_buffer(pb_encode((1, raw))))  # DoPutPreparedStatementResult
                return
            elif name == "CommandPreparedStatementUpdate":
                handle = _handle(pb_bytes(fields, 1))
                count = 0
                for row in _parameter_rows(reader) or [None]:  # executemany: row by row
                    outcome = self._trio(session.run_prepared, handle, row, context, False)
                    if not isinstance(outcome, int):
                        self._trio(session.drop, outcome[1])
                        outcome = -1
                    count = -1 if outcome < 0 or count < 0 else count + outcome
            else:
                raise FlightUnimplementedError(f"Flight SQL command {name} is not supported")
            writer.write(pa.py_buffer(pb_encode((1, count))))  # DoPutUpdateResult


def peer_address(peer: str | bytes) -> str:
    """The client's IP address in gRPC's peer text (``ipv4:1.2.3.4:5678``,
    ``ipv6:[::1]:5678``, ``ipv6:%5B::1%5D:5678`` in some versions); the text itself
    for another kind (``unix:...``)."""
    text = peer.decode(errors="replace") if isinstance(peer, bytes) else str(peer)
    kind, _, rest = text.partition(":")
    if kind not in ("ipv4", "ipv6"):
        return text or "unknown"
    rest = rest.replace("%5B", "[").replace("%5D", "]")
    host = rest.rpartition(":")[0] if kind == "ipv4" else rest.rpartition("]")[0]
    return host.strip("[]") or "unknown"


def _header(headers: dict, name: str) -> str | None:
    values = headers.get(name)
    return str(values[-1]) if values else None


def _handle(raw: bytes) -> int:
    if not (0 < len(raw) <= 10 and raw.isdigit()):
        raise Malformed("invalid prepared statement handle")
    return int(raw)


def _parameter_rows(reader) -> list[list]:
    """The parameter rows a DoPut sends, as Python values (at most MAX_PARAMETER_ROWS)."""
    rows: list[list] = []
    while True:
        try:
            batch = reader.read_chunk().data
        except StopIteration:
            return rows
        if batch is not None and batch.num_rows:
            if len(rows) + batch.num_rows > MAX_PARAMETER_ROWS:
                raise fl.FlightServerError(
                    f"more than {MAX_PARAMETER_ROWS} parameter rows in one call")
            rows.extend(zip(*(column.to_pylist() for column in batch.columns)))


def _parameter_row(reader) -> list | None:
    """The one parameter row a bind sends (None when it sends none)."""
    rows = _parameter_rows(reader)
    if len(rows) > 1:
        raise fl.FlightServerError(
            "binding several parameter rows to a query is not supported: bind and run "
            "one row at a time (an update runs each row)")
    return list(rows[0]) if rows else None
