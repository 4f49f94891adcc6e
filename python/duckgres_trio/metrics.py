"""The server's Prometheus metrics, under the reference system's (duckgres) names.

One registry per process, owned here because every layer counts something: connections
and queries (frontend), workers (controlplane). Gauges that describe current state
(open workers, queue depth, banned addresses) are read when Prometheus scrapes, through
functions the owners register, never kept in step by hand. ``frontend/metrics_server.py``
serves ``exposition()`` over HTTP.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

REGISTRY = CollectorRegistry(auto_describe=True)

#: SQLSTATE classes that are the client's doing (duckgres' "user" errors); others are
#: the server's ("system").
_USER_CLASSES = frozenset({"0A", "22", "23", "25", "28", "2B", "3D", "3F", "42", "44"})

connections_open = Gauge("duckgres_connections_open", "Client connections past authentication",
                         registry=REGISTRY)
connection_duration = Histogram(
    "duckgres_connection_duration_seconds", "How long client connections lasted",
    buckets=(0.1, 1, 10, 60, 600, 3600, 86400), registry=REGISTRY)
queries = Counter("duckgres_query_total", "Statements run, by outcome",
                  ["status", "reason"], registry=REGISTRY)
query_duration = Histogram("duckgres_query_duration_seconds", "Statement run time",
                           registry=REGISTRY)
cancellations = Counter("duckgres_query_cancellations_total",
                        "Statements stopped by a cancel request, a timeout or pg_cancel_backend",
                        registry=REGISTRY)
auth_failures = Counter("duckgres_auth_failures_total", "Failed authentications",
                        registry=REGISTRY)
rate_limit_rejects = Counter(
    "duckgres_rate_limit_rejects_total",
    "Connections refused by the per-address limits (bans, max_connections_per_ip)",
    registry=REGISTRY)
rate_limited_ips = Gauge("duckgres_rate_limited_ips", "Addresses banned right now",
                         registry=REGISTRY)
workers_active = Gauge("duckgres_control_plane_workers_active", "Worker processes alive",
                       registry=REGISTRY)
worker_acquire = Histogram("duckgres_control_plane_worker_acquire_seconds",
                           "Time a new session waited for a worker", registry=REGISTRY)
worker_spawn = Histogram("duckgres_control_plane_worker_spawn_seconds",
                         "Time from spawning a worker until it answered", registry=REGISTRY)
worker_queue_depth = Gauge("duckgres_control_plane_worker_queue_depth",
                           "Sessions waiting for a worker or a slot", registry=REGISTRY)
worker_transitions = Counter(
    "duckgres_worker_lifecycle_transitions_total", "Worker lifecycle steps",
    ["operation", "outcome", "origin"], registry=REGISTRY)
session_start = Histogram("duckgres_session_start_duration_seconds",
                          "Time from a connection's first byte to its first ReadyForQuery",
                          registry=REGISTRY)
config_snapshot_age = Gauge(
    "duckgres_config_snapshot_age_seconds",
    "Age of the organisations and users snapshot read from the config store",
    registry=REGISTRY)
config_reloads = Counter(
    "duckgres_config_snapshot_reloads_total",
    "Config store snapshots read, by trigger (start, notify, poll, reconnect)",
    ["trigger"], registry=REGISTRY)
config_orgs = Gauge("duckgres_config_orgs", "Organisations in the config store snapshot",
                    registry=REGISTRY)
config_users = Gauge("duckgres_config_users", "Users in the config store snapshot",
                     registry=REGISTRY)
config_store_up = Gauge("duckgres_config_store_up",
                        "1 while the config store is reachable, 0 during an outage",
                        registry=REGISTRY)


def count_query(seconds: float, sqlstate: str | None) -> None:
    """One statement ended, successfully (``sqlstate`` None) or with that error."""
    query_duration.observe(seconds)
    if sqlstate is None:
        queries.labels("success", "").inc()
        return
    queries.labels("error", "user" if sqlstate[:2] in _USER_CLASSES else "system").inc()
    if sqlstate == "57014":
        cancellations.inc()


def gauge_from(gauge: Gauge, read: Callable[[], float]) -> None:
    """Let ``gauge`` report ``read()`` at each scrape (the owner of the state calls
    this once; a later call replaces the function, as a new owner would)."""
    gauge.set_function(read)


#: Per-organisation gauges (many tenants): name suffix -> help.
_PER_ORG = {
    "connections": "Sessions of the organisation past authentication",
    "workers": "Worker processes holding one of the organisation's databases",
    "waiting": "The organisation's sessions waiting for a slot or a worker",
}


class _PerOrgCollector:
    """``duckgres_org_<what>{org=...}``, read at each scrape from the function the
    server registers (organisations come and go with the config store)."""

    def __init__(self) -> None:
        self.read: Callable[[], dict[str, dict[str, float]]] = dict

    def collect(self):
        values = self.read()
        for what, help_text in _PER_ORG.items():
            family = GaugeMetricFamily(f"duckgres_org_{what}", help_text, labels=["org"])
            for org, value in sorted((values.get(what) or {}).items()):
                if value or what == "connections":
                    family.add_metric([org], value)
            yield family

    def describe(self):
        return [GaugeMetricFamily(f"duckgres_org_{what}", help_text, labels=["org"])
                for what, help_text in _PER_ORG.items()]


_per_org = _PerOrgCollector()
REGISTRY.register(_per_org)


def per_org(read: Callable[[], dict[str, dict[str, float]]]) -> None:
    """Let the per-organisation gauges report ``read()`` ({what: {org: value}})."""
    _per_org.read = read


def exposition() -> bytes:
    """The Prometheus text format of every metric."""
    return generate_latest(REGISTRY)
