"""The worker's Arrow Flight endpoint: control actions for the control plane, and the
Flight SQL service for ADBC and other Flight SQL clients (``flightsql``).

Arrow's gRPC transport lifts gRPC's 4 MiB message limit, so batches of any size pass.
Every call carries ``authorization: Bearer <worker token>``; the token reaches the
worker through its environment, never its command line.

Custom actions (JSON bodies and results):

- ``Activate`` {database: path or null, duckdb_config, lake?} -> {activated}: open the
  database this worker owns (a spare worker starts without one)
- ``SetLimits`` {memory_limit?, threads?} -> {}: this process's share of the budget
- ``CreateSession`` {user, memory_limit?, threads?, replay?: [sql]} -> {session_token}
- ``DestroySession`` {session_token} -> {destroyed}
- ``HealthCheck`` {} -> {healthy, draining, sessions, active_queries, uptime_seconds,
  invalidated, progress: {token prefix: {percentage, rows_processed, total_rows,
  running_seconds}}, progress_timed_out, epoch, refused, older_sessions (those a
  previous owner created)}
- ``Adopt`` {epoch, owner_pid} -> {adopted, epoch, pid, sessions}: a new control plane takes
  the worker over (an upgrade); the owner epoch fences control actions (``owner``)

A fleet worker (``fleet.agent``) serves on TCP (TLS with a certificate) under the
fleet's token, and fences: every action but HealthCheck carries ``fence`` {cp, epoch}
and one under a stale epoch is refused (``fleet.fence``), but for DestroySession of a
session created under that very fence (an upgrade's old control plane ending the
sessions it still has on a worker its successor adopted); ``Reset`` {fence} -> {}
ends every session, closes the database and registers the worker again, idle. Its
owner is its record in the config store: ``Adopt`` only confirms the new owner's
fence (``fleet.backend``: the successor moved the record first). Its HealthCheck also
names whose the older sessions are (``older_owners`` {control plane: sessions});
``EndOlderSessions`` {fence, owners: [control plane]} -> {ended, older_sessions,
older_owners}, under the current fence only, ends the sessions those owners created
under an older epoch: its owner found them gone in the store (their process died
before ending them, and a fleet worker has no pidfd to watch, as a local one has).
"""

from __future__ import annotations

import hmac
import json
import logging
import os

import pyarrow.flight as fl

from duckgres_trio.worker.owner import EPOCH_HEADER, Owner, StaleOwner
from duckgres_trio.worker.session import Sessions, Unavailable

log = logging.getLogger(__name__)

CUSTOM_ACTIONS = {
    "Activate": "Open the worker's database: {database, duckdb_config} -> {activated}",
    "SetLimits": "Set DuckDB memory_limit and threads: {memory_limit, threads}",
    "CreateSession": "Open a session: {user, memory_limit, threads, replay} -> {session_token}",
    "DestroySession": "End a session: {session_token} -> {destroyed}",
    "HealthCheck": "Worker health, sessions and per-session query progress",
    "Adopt": "A new owner takes the worker over: {epoch, owner_pid} -> {adopted}",
}
#: A fleet worker's too (fenced: ``fleet.fence``).
FLEET_ACTIONS = {
    "Reset": "End every session, close the database and register again, idle",
    "EndOlderSessions": "End the older-epoch sessions of gone owners: {owners} -> {ended}",
}
#: Control planes an EndOlderSessions may name (a bound on what a body makes us do).
MAX_OWNERS = 64


class _Caller(fl.ServerMiddleware):
    """What a call claims beyond its token: the owner epoch (worker.owner)."""

    def __init__(self, epoch: str | None) -> None:
        self.epoch = epoch


class _BearerAuth(fl.ServerMiddlewareFactory):
    def __init__(self, token: str) -> None:
        self._expected = f"Bearer {token}".encode()

    def start_call(self, info, headers):
        values = headers.get("authorization") or headers.get("Authorization") or []
        if not any(hmac.compare_digest(v.encode(), self._expected) for v in values):
            raise fl.FlightUnauthenticatedError("invalid or missing worker token")
        epoch = headers.get(EPOCH_HEADER) or []
        return _Caller(epoch[0] if epoch else None)


class WorkerFlightServer(fl.FlightServerBase):
    def __init__(self, location: str, token: str, sessions: Sessions, *,
                 owner: Owner | None = None, fence=None, on_reset=None,
                 tls_certificates=None, health_extra=None) -> None:
        from duckgres_trio.worker.flightsql import FlightSql  # noqa: PLC0415

        self._sessions = sessions
        self._owner = owner or Owner(os.getppid())
        self._created: dict[str, int] = {}  # session token -> the epoch that created it
        #: fleet: session token -> the (control plane, epoch) fence that created it
        self._fenced: dict[str, tuple[str, int]] = {}
        self._sql = FlightSql(sessions)
        self._fence = fence  # fleet.fence.Fence on a fleet worker
        self._on_reset = on_reset
        self._health_extra = health_extra or (lambda: {})
        super().__init__(location, middleware={"auth": _BearerAuth(token), **self._sql.middleware},
                         tls_certificates=tls_certificates or [])

    # -- actions ----------------------------------------------------------------------

    def list_actions(self, context):
        return [(name, doc) for name, doc in CUSTOM_ACTIONS.items()] + self._sql.list_actions()

    def do_action(self, context, action):
        kind = action.type
        if kind not in CUSTOM_ACTIONS and not (kind in FLEET_ACTIONS and self._fence is not None):
            return self._sql.do_action(context, action)
        body = json.loads(action.body.to_pybytes() or b"{}")
        fenced = None
        if self._fence is not None and kind != "HealthCheck":
            from duckgres_trio.fleet.fence import Refused  # noqa: PLC0415

            try:
                fenced = self._fence.admit(kind, body.get("fence"),
                                           self._fenced.get(str(body.get("session_token"))))
            except Refused as exc:
                raise fl.FlightUnauthorizedError(str(exc)) from None
        caller = context.get_middleware("auth")
        epoch = self._owner.current(caller.epoch if caller is not None else None)
        try:
            if kind == "Adopt":
                if self._fence is not None:  # the fence took the new epoch (admit)
                    return [fl.Result(json.dumps(
                        {"adopted": True, "epoch": self._fence.epoch, "pid": os.getpid(),
                         "sessions": len(self._sessions.all())}).encode())]
                return [fl.Result(json.dumps(self._adopt(body)).encode())]
            self._owner.check(kind, epoch, self._created.get(str(body.get("session_token"))))
        except (StaleOwner, ValueError, TypeError, OSError) as exc:
            raise fl.FlightUnauthorizedError(str(exc)) from None
        if kind == "HealthCheck":
            epoch = self._owner.epoch
            reply = {**self._sessions.health(), **self._health_extra(), "epoch": epoch,
                     "refused": self._owner.refused,
                     "older_sessions": sum(1 for e in list(self._created.values()) if e < epoch)}
            if self._fence is not None:  # a fleet worker's owners are its fence's
                reply.update(self._older())
        elif kind == "EndOlderSessions":
            reply = {"ended": self._end_older(body, fenced), **self._older()}
        elif kind == "Reset":
            self._fenced.clear()  # every session ends
            self._on_reset()
            reply = {}
        elif kind == "CreateSession":
            reply = self._create_session(body)
            self._created[reply["session_token"]] = epoch
            if fenced is not None:
                self._fenced[reply["session_token"]] = fenced
        elif kind == "Activate":
            reply = self._activate(body)
        elif kind == "SetLimits":
            reply = self._guarded("set limits", lambda: self._sessions.set_limits(body)) or {}
        else:
            token = str(body.get("session_token", ""))
            self._created.pop(token, None)
            self._fenced.pop(token, None)
            reply = {"destroyed": self._sessions.destroy(token)}
        return [fl.Result(json.dumps(reply).encode())]

    def end_sessions_of(self, epoch: int) -> None:
        """A previous owner's process is gone: end the sessions it created (worker.owner)."""
        tokens = [t for t, created in list(self._created.items()) if created == epoch]
        self._end(tokens)
        if tokens:
            log.warning("ended %d sessions of the owner at epoch %d, which exited",
                        len(tokens), epoch)

    def _older(self) -> dict:
        """A fleet worker's sessions created under an older epoch than its current one,
        and whose (the control plane that created them). Sessions ended without a
        DestroySession (a write-off at the worker's own heartbeat ends them all:
        ``fleet.agent``) are forgotten here first, or they would count for every later
        owner."""
        current = self._fence.epoch
        owners: dict[str, int] = {}
        for token, (cp, epoch) in list(self._fenced.items()):
            if self._sessions.get(token) is None:
                self._fenced.pop(token, None)
                self._created.pop(token, None)
            elif epoch < current:
                owners[cp] = owners.get(cp, 0) + 1
        return {"older_sessions": sum(owners.values()), "older_owners": owners}

    def _end_older(self, body: dict, fenced: tuple[str, int]) -> int:
        """The fleet's ``end_sessions_of``: the current owner (``fenced``, admitted under
        the current epoch) read in the store that ``owners`` are gone, so the sessions
        they created here under an older epoch are ended: what runs is interrupted, what
        is open rolled back, the connection freed. The sender's own sessions and those
        of owners it does not name (an old process still alive) are never touched."""
        owners = body.get("owners")
        if (not isinstance(owners, list) or len(owners) > MAX_OWNERS
                or not all(isinstance(o, str) for o in owners)):
            raise fl.FlightServerError(
                f"EndOlderSessions: owners: a list of at most {MAX_OWNERS} control plane ids")
        sender, epoch = fenced
        gone = set(owners) - {sender}
        tokens = [t for t, (cp, e) in list(self._fenced.items()) if cp in gone and e < epoch]
        ended = self._end(tokens)
        if tokens:
            log.warning("ended %d sessions of %s, previous owners that are gone (at the "
                        "word of %s, epoch %d)", ended, ", ".join(sorted(gone)), sender,
                        epoch)
        return ended

    def _end(self, tokens: list[str]) -> int:
        """Destroy these sessions (interrupt, roll back, release); how many ended."""
        ended = 0
        for token in tokens:
            self._created.pop(token, None)
            self._fenced.pop(token, None)
            ended += bool(self._sessions.destroy(token))
        return ended

    def _adopt(self, body: dict) -> dict:
        self._owner.adopt(int(body["epoch"]), int(body["owner_pid"]))
        return {"adopted": True, "epoch": self._owner.epoch, "pid": os.getpid(),
                "sessions": len(self._sessions.all())}

    def _create_session(self, body: dict) -> dict:
        try:
            session = self._sessions.create(
                str(body.get("user", "")),
                memory_limit=body.get("memory_limit") or None,
                threads=body.get("threads") or None,
                replay=[str(s) for s in body.get("replay") or ()],
            )
        except Unavailable as exc:
            raise fl.FlightUnavailableError(f"create session: {exc}") from None
        except Exception as exc:
            raise fl.FlightServerError(f"create session: {exc}") from None
        return {"session_token": session.token}

    def _activate(self, body: dict) -> dict:
        self._guarded("activate", lambda: self._sessions.activate(
            body.get("database"), dict(body.get("duckdb_config") or {}),
            body.get("lake") or None))
        return {"activated": True}

    @staticmethod
    def _guarded(what: str, fn):
        try:
            return fn()
        except Exception as exc:
            raise fl.FlightServerError(f"{what}: {exc}") from None

    # -- Flight SQL ---------------------------------------------------------------------

    def get_flight_info(self, context, descriptor):
        return self._sql.get_flight_info(context, descriptor)

    def get_schema(self, context, descriptor):
        return self._sql.get_schema(context, descriptor)

    def do_get(self, context, ticket):
        return self._sql.do_get(context, ticket)

    def do_put(self, context, descriptor, reader, writer):
        return self._sql.do_put(context, descriptor, reader, writer)
