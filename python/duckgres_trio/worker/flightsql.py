"""Flight SQL commands on the worker (placeholder until the service is built)."""

from __future__ import annotations

import pyarrow.flight as fl

from duckgres_trio.worker.session import Sessions


class FlightSql:
    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions

    def list_actions(self) -> list[tuple[str, str]]:
        return []

    def do_action(self, context, action):
        raise fl.FlightUnimplementedError(f"unknown action {action.type!r}")

    def get_flight_info(self, context, descriptor):
        raise fl.FlightUnimplementedError("Flight SQL is not available yet")

    def get_schema(self, context, descriptor):
        raise fl.FlightUnimplementedError("Flight SQL is not available yet")

    def do_get(self, context, ticket):
        raise fl.FlightUnimplementedError("Flight SQL is not available yet")

    def do_put(self, context, descriptor, reader, writer):
        raise fl.FlightUnimplementedError("Flight SQL is not available yet")
