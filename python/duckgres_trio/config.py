"""Server configuration: defaults < YAML file < DUCKGRES_* environment < CLI flags.

Every setting is declared once, in ``SETTINGS``, with its type, default and help; the
YAML loader, the environment reader and the CLI flags are all derived from that table,
so a setting cannot exist in one source and be missing from another. Invalid values
fail at start with a message naming the setting and where its value came from.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import re
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


class ConfigError(ValueError):
    """A configuration value is invalid; the message names the key and its source."""


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected true or false")


def _int_range(low: int, high: int) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        if isinstance(value, bool):
            raise ValueError("expected an integer")
        number = int(str(value).strip(), 10)
        if not low <= number <= high:
            raise ValueError(f"must be between {low} and {high}")
        return number

    return parse


_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|min|m|h)?")
_UNITS = {None: 1.0, "ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}


def _duration(value: Any) -> float:
    """Seconds; accepts 30, 2.5, "500ms", "30s", "5m", "1h". 0 disables a timeout."""
    m = _DURATION.fullmatch(str(value).strip())
    if not m:
        raise ValueError("expected a duration such as 30s, 5m or 500ms")
    return float(m.group(1)) * _UNITS[m.group(2)]


_SIZE = re.compile(r"(\d+)\s*(B|kB|KB|KiB|MB|MiB|GB|GiB)?", re.IGNORECASE)
_SIZE_UNITS = {None: 1, "b": 1, "kb": 1 << 10, "kib": 1 << 10, "mb": 1 << 20,
               "mib": 1 << 20, "gb": 1 << 30, "gib": 1 << 30}


def _size(value: Any) -> int:
    m = _SIZE.fullmatch(str(value).strip())
    if not m:
        raise ValueError("expected a size such as 65536, 64MB or 1GiB")
    size = int(m.group(1)) * _SIZE_UNITS[(m.group(2) or "b").lower()]
    if not 1024 <= size <= 0x3FFFFFFF:
        raise ValueError("must be between 1kB and 1GiB - 1")
    return size


_MEMORY = re.compile(r"(\d+(?:\.\d+)?)\s*(B|KB|KiB|MB|MiB|GB|GiB|TB|TiB)?", re.IGNORECASE)
_MEMORY_UNITS = {"b": 1, "kb": 1000, "kib": 1 << 10, "mb": 1000**2, "mib": 1 << 20,
                 "gb": 1000**3, "gib": 1 << 30, "tb": 1000**4, "tib": 1 << 40}


def _memory(value: Any) -> int:
    """Bytes of memory, e.g. 8GB or 512MiB; empty or 0 means "derive it" (0)."""
    text = str(value).strip()
    if not text:
        return 0
    m = _MEMORY.fullmatch(text)
    if not m:
        raise ValueError("expected a memory size such as 8GB or 512MiB")
    return int(float(m.group(1)) * _MEMORY_UNITS[(m.group(2) or "b").lower()])


def show_duration(seconds: float) -> str:
    """A duration as it is written in config (300.0 -> "5m"); parses back to itself."""
    if seconds == 0:
        return "0"
    if seconds < 120 and seconds % 1 == 0:
        return f"{int(seconds)}s"  # 60s reads better than 1m
    for unit, size in (("h", 3600), ("m", 60), ("s", 1)):
        if seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    if (seconds * 1000) % 1 == 0:
        return f"{int(seconds * 1000)}ms"
    return f"{seconds}s"


def _show_bytes(size: int, units: tuple[tuple[str, int], ...]) -> str:
    for unit, factor in units:
        if size and size % factor == 0:
            return f"{size // factor}{unit}"
    return str(size)


def show(setting: Setting, value: Any) -> str:
    """``value`` of ``setting`` as it would be written in config (``--help``, logs)."""
    if setting.parse is _duration:
        return show_duration(value)
    if setting.parse is _size:  # this parser's MB is 2**20 bytes
        return _show_bytes(value, (("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10)))
    if setting.parse is _memory:
        return _show_bytes(value, (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)))
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):  # a list setting: written comma-separated
        return ",".join(map(str, value))
    return "" if value is None or value == {} else str(value)


def _choice(*choices: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        text = str(value).strip().lower()
        if text not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")
        return text

    return parse


def _path(value: Any) -> Path:
    text = str(value).strip()
    if not text:
        raise ValueError("must not be empty")
    return Path(text)


def _optional_path(value: Any) -> Path | None:
    return _path(value) if str(value).strip() else None


def _text(value: Any) -> str:
    return str(value).strip()


def _users(value: Any) -> dict[str, str]:
    """A mapping user -> verifier; from the environment: "user=verifier,user2=verifier"."""
    if isinstance(value, Mapping):
        items = [(str(k), str(v)) for k, v in value.items()]
    else:
        items = []
        for part in str(value).split(","):
            if part.strip():
                name, sep, verifier = part.strip().partition("=")
                if not sep:
                    raise ValueError("expected user=verifier pairs separated by commas")
                items.append((name, verifier))
    users = {}
    for name, verifier in items:
        if not name:
            raise ValueError("empty user name")
        users[name] = verifier.strip()
    return users


def _list(value: Any) -> tuple[str, ...]:
    """A YAML list, or from the environment / CLI: items separated by commas."""
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    return tuple(text for item in items if (text := str(item).strip()))


def _networks(value: Any) -> tuple[str, ...]:
    """Addresses or CIDR blocks (127.0.0.0/8, ::1, 10.1.2.3), checked and normalised."""
    try:
        return tuple(str(ipaddress.ip_network(item, strict=False)) for item in _list(value))
    except ValueError as exc:
        raise ValueError(f"expected addresses or CIDR blocks: {exc}") from None


def _paths(value: Any) -> tuple[Path, ...]:
    return tuple(Path(item) for item in _list(value))


#: What the DuckDB wheel has built in (statically linked): a session may LOAD these.
BUNDLED_EXTENSIONS = ("core_functions", "icu", "json", "parquet")


@dataclass(frozen=True)
class Setting:
    name: str
    parse: Callable[[Any], Any]
    default: Any
    help: str
    metavar: str = "VALUE"


SETTINGS: tuple[Setting, ...] = (
    Setting("host", _text, "127.0.0.1", "address to listen on (0.0.0.0 for every IPv4 address)", "HOST"),
    Setting("port", _int_range(0, 65535), 5432, "TCP port to listen on", "PORT"),
    Setting("data_dir", _path, Path("data"), "directory of the DuckDB files (one per database) and the generated TLS certificate", "DIR"),
    Setting("mode", _choice("controlplane", "standalone", "worker"), "controlplane", "controlplane: sessions run on DuckDB worker processes; standalone: DuckDB runs inside the server process; worker: what the control plane spawns", "MODE"),
    Setting("socket_dir", _optional_path, None, "directory (mode 0700) of the workers' Unix sockets; default /tmp/duckgres-trio-<uid>-<hash of data_dir>", "DIR"),
    Setting("min_workers", _int_range(0, 10_000), 1, "workers kept running (spare ones start before they are needed)", "N"),
    Setting("max_workers", _int_range(0, 10_000), 0, "most worker processes at once; 0: memory_budget / 256MiB", "N"),
    Setting("max_workers_per_database", _int_range(1, 10_000), 2, "with storage ducklake: most workers serving one database's sessions at once (file databases have one)", "N"),
    Setting("memory_budget", _memory, 0, "memory all workers share (each gets its part as DuckDB memory_limit); default 75% of RAM", "SIZE"),
    Setting("worker_idle_timeout", _duration, 300.0, "retire a worker without sessions for this long (min_workers are kept); 0 disables", "DURATION"),
    Setting("worker_queue_timeout", _duration, 60.0, "how long a new session may wait for a worker or a connection slot before FATAL 53300", "DURATION"),
    Setting("retire_on_session_end", _bool, False, "retire a worker when its last session ends", "BOOL"),
    Setting("auto_create_databases", _bool, True, "create a database on first connect; if false an unknown database is FATAL 3D000", "BOOL"),
    Setting("tls", _choice("required", "optional", "disabled"), "required", "TLS policy for client connections", "POLICY"),
    Setting("tls_cert", _optional_path, None, "certificate file (PEM); default <data_dir>/server.crt, generated if missing", "FILE"),
    Setting("tls_key", _optional_path, None, "private key file (PEM); default <data_dir>/server.key, generated if missing", "FILE"),
    Setting("auth_method", _choice("scram-sha-256", "md5", "password", "trust"), "scram-sha-256", "how clients authenticate", "METHOD"),
    Setting("users", _users, {}, "users and their password verifiers (see `duckgres-trio passwd`); default user postgres/postgres", "USER=VERIFIER,..."),
    Setting("max_message_size", _size, 64 << 20, "largest frontend message accepted; larger ones get FATAL 08P01", "SIZE"),
    Setting("authentication_timeout", _duration, 60.0, "time allowed for startup, TLS and authentication", "DURATION"),
    Setting("idle_session_timeout", _duration, 0.0, "close a session idle (outside a transaction) this long with FATAL 57P05; 0 disables", "DURATION"),
    Setting("idle_in_transaction_session_timeout", _duration, 0.0, "close a session idle inside a transaction this long with FATAL 25P03; 0 disables (sessions may SET it)", "DURATION"),
    Setting("statement_timeout", _duration, 0.0, "cancel a statement running this long with 57014; 0 disables (sessions may SET it)", "DURATION"),
    Setting("write_turns", _bool, True, "statements that can conflict with another transaction's writes (UPDATE, DELETE, MERGE, upserts, DDL, SELECT FOR UPDATE) wait for their database's turn, as PostgreSQL's row locks make writers wait; off: they run at once and the loser of a conflict gets 40001", "BOOL"),
    Setting("write_timeout", _duration, 60.0, "disconnect a client that accepts no data for this long (also TCP_USER_TIMEOUT); 0 disables", "DURATION"),
    Setting("max_connections_per_ip", _int_range(0, 100_000), 0, "connections at once from one client address; 0: no limit", "N"),
    Setting("auth_failure_limit", _int_range(0, 1000), 5, "failed authentications from one address within auth_failure_window that ban it; 0 disables bans", "N"),
    Setting("auth_failure_window", _duration, 300.0, "window in which failed authentications are counted", "DURATION"),
    Setting("auth_ban_duration", _duration, 900.0, "how long a banned address is refused (told so with FATAL 28000, then closed)", "DURATION"),
    Setting("auth_ban_exempt", _networks, ("127.0.0.0/8", "::1/128"), "addresses or CIDR blocks whose failed logins never ban them", "CIDR,..."),
    Setting("file_access", _choice("all", "data_dir", "none"), "data_dir", "which files SQL may read and write (read_csv, COPY ... TO 'file', ATTACH): all, data_dir (the data directory and allowed_directories) or none", "SCOPE"),
    Setting("allowed_directories", _paths, (), "more directories SQL may read and write under file_access: data_dir", "DIR,..."),
    Setting("allowed_extensions", _list, BUNDLED_EXTENSIONS, "DuckDB extensions a session may LOAD (INSTALL is always refused); the default is those built into DuckDB", "NAME,..."),
    Setting("handover_drain_timeout", _duration, 30.0, "on SIGTERM/SIGINT, how long running statements may finish before they are cancelled (new sessions meanwhile get FATAL 57P03)", "DURATION"),
    Setting("timezone", _text, "UTC", "default TimeZone of new sessions", "ZONE"),
    Setting("max_connections", _int_range(1, 100_000), 100, "most client connections at once; also bounds concurrent DuckDB calls", "N"),
    Setting("duckdb_threads", _int_range(0, 4096), 0, "DuckDB threads per database (a worker's in controlplane mode) for long statements, 0: all cores; short ones run on one", "N"),
    Setting("duckdb_memory_limit", _text, "", "DuckDB memory_limit per database (per worker in controlplane mode), e.g. 4GB; empty: DuckDB decides (standalone) or a share of memory_budget (controlplane)", "SIZE"),
    Setting("log_level", _choice("debug", "info", "warning", "error"), "info", "log verbosity", "LEVEL"),
    Setting("log_format", _choice("text", "keyvalue", "json"), "text", "log lines as text, key=value pairs or JSON, each with its connection's pid, user, database, worker and query id", "FORMAT"),
    Setting("sni_routing_mode", _choice("off", "passthrough", "enforce"), "off", "with a config store: how a connection's organisation is found: off (by the database name), passthrough (a TLS server name under managed_hostname_suffixes names it; other names route as off), enforce (a managed server name is required)", "MODE"),
    Setting("managed_hostname_suffixes", _list, (), "with a config store: DNS suffixes (e.g. .dw.example.com) whose one label before them names an organisation", "SUFFIX,..."),
    Setting("metrics_address", _text, "127.0.0.1:8432", "host:port of the Prometheus endpoint (GET /metrics); empty disables", "HOST:PORT"),
    Setting("flight_address", _text, "", "host:port of the Arrow Flight SQL ingress (docs/flight-sql.md): TLS with the pgwire certificate (plaintext only with tls: disabled), the same users and limits; empty disables", "HOST:PORT"),
    Setting("flight_idle_timeout", _duration, 600.0, "end a Flight SQL session (its bearer token) unused this long; 0 disables", "DURATION"),
    Setting("config_store", _text, "", "libpq connection string of the PostgreSQL config store of organisations and users (docs/multitenancy.md); empty: the single-tenant users setting", "DSN"),
    Setting("config_poll_interval", _duration, 30.0, "reload the config store's snapshot this often besides on NOTIFY; 0: on NOTIFY only", "DURATION"),
    Setting("storage", _choice("duckdb", "ducklake"), "duckdb", "where databases live: duckdb (a DuckDB file each in data_dir) or ducklake (a DuckLake each: catalog in PostgreSQL, data files under ducklake_data_path; docs/ducklake.md)", "KIND"),
    Setting("ducklake_catalog", _text, "", "with storage ducklake: libpq connection string of the PostgreSQL database holding the lakes' catalogs (one schema per database); default: config_store's", "DSN"),
    Setting("ducklake_data_path", _text, "", "with storage ducklake: directory (or s3:// prefix) of the lakes' data files, one subdirectory per database; default <data_dir>/lake", "PATH"),
    Setting("worker_backend", _choice("process", "remote"), "process", "process: the control plane spawns its workers; remote: sessions go to fleet workers (`duckgres-trio worker`) registered in the config store (needs config_store, storage ducklake and the fleet token; docs/scale-out.md)", "KIND"),
    Setting("fleet_token_file", _optional_path, None, "with worker_backend remote: file holding the fleet's bearer token; default: env DUCKGRES_FLEET_TOKEN", "FILE"),
    Setting("fleet_ca_file", _optional_path, None, "with worker_backend remote: CA certificates (PEM) that fleet workers' TLS certificates are verified against; default: the system's", "FILE"),
    Setting("fleet_lease", _duration, 20.0, "with worker_backend remote: a control plane or worker silent this long is expired (heartbeats every lease/4)", "DURATION"),
    Setting("fleet_grace", _duration, 10.0, "with worker_backend remote: how long after its control plane expired a worker is reclaimed", "DURATION"),
    Setting("allow_client_worker_profile", _bool, False, "let clients choose their worker's profile with the startup options duckgres.worker_cpu, duckgres.worker_memory and duckgres.worker_ttl (clamped to the limits below); off: asking is FATAL 42501 (docs/scale-out.md)", "BOOL"),
    Setting("worker_cpu_min", _int_range(1, 4096), 1, "fewest vCPUs (DuckDB threads) a worker profile gets", "N"),
    Setting("worker_cpu_max", _int_range(0, 4096), 0, "most vCPUs (DuckDB threads) a worker profile gets; 0: this machine's cores", "N"),
    Setting("worker_memory_min", _memory, 256 << 20, "smallest memory_limit a worker profile gets", "SIZE"),
    Setting("worker_memory_max", _memory, 0, "largest memory_limit a worker profile gets; 0: memory_budget", "SIZE"),
    Setting("worker_ttl_max", _duration, 0.0, "longest hot-idle TTL a worker profile gets; 0: worker_idle_timeout", "DURATION"),
)

BY_NAME = {s.name: s for s in SETTINGS}


@dataclass(frozen=True)
class Config:
    """The resolved settings (one attribute per entry of SETTINGS); build with load()."""

    host: str
    port: int
    data_dir: Path
    mode: str
    socket_dir: Path | None
    min_workers: int
    max_workers: int
    max_workers_per_database: int
    memory_budget: int
    worker_idle_timeout: float
    worker_queue_timeout: float
    retire_on_session_end: bool
    auto_create_databases: bool
    tls: str
    tls_cert: Path | None
    tls_key: Path | None
    auth_method: str
    users: dict[str, str]
    max_message_size: int
    authentication_timeout: float
    idle_session_timeout: float
    idle_in_transaction_session_timeout: float
    statement_timeout: float
    write_turns: bool
    write_timeout: float
    max_connections_per_ip: int
    auth_failure_limit: int
    auth_failure_window: float
    auth_ban_duration: float
    auth_ban_exempt: tuple[str, ...]
    file_access: str
    allowed_directories: tuple[Path, ...]
    allowed_extensions: tuple[str, ...]
    handover_drain_timeout: float
    timezone: str
    max_connections: int
    duckdb_threads: int
    duckdb_memory_limit: str
    log_level: str
    log_format: str
    sni_routing_mode: str
    managed_hostname_suffixes: tuple[str, ...]
    metrics_address: str
    flight_address: str
    flight_idle_timeout: float
    config_store: str
    config_poll_interval: float
    storage: str
    ducklake_catalog: str
    ducklake_data_path: str
    worker_backend: str
    fleet_token_file: Path | None
    fleet_ca_file: Path | None
    fleet_lease: float
    fleet_grace: float
    allow_client_worker_profile: bool
    worker_cpu_min: int
    worker_cpu_max: int
    worker_memory_min: int
    worker_memory_max: int
    worker_ttl_max: float

    @property
    def cert_path(self) -> Path:
        return self.tls_cert or self.data_dir / "server.crt"

    @property
    def key_path(self) -> Path:
        return self.tls_key or self.data_dir / "server.key"

    @property
    def worker_socket_dir(self) -> Path:
        """Where workers' sockets live: short (a Unix socket path has 107 bytes at most)
        and different for every data directory, so servers can run side by side."""
        if self.socket_dir is not None:
            return self.socket_dir
        digest = hashlib.sha256(str(self.data_dir.resolve()).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"duckgres-trio-{os.getuid()}-{digest}"

    @property
    def lake_catalog(self) -> str:
        """The DuckLake catalog's DSN: ducklake_catalog, else the config store's."""
        return self.ducklake_catalog or self.config_store

    @property
    def lake_data_path(self) -> str:
        """Where the lakes' data files go: ducklake_data_path, else <data_dir>/lake (a
        local directory made absolute: workers may start elsewhere; s3:// as given)."""
        path = self.ducklake_data_path or str(self.data_dir / "lake")
        return path if "://" in path else str(Path(path).resolve())

    @property
    def worker_memory_budget(self) -> int:
        return self.memory_budget or _default_memory_budget()

    @property
    def worker_limit(self) -> int:
        """The most workers at once: max_workers, or the memory budget / 256 MiB."""
        return self.max_workers or max(1, self.worker_memory_budget // (256 << 20))


def _default_memory_budget() -> int:
    """75% of the machine's memory (4 GiB if /proc/meminfo cannot be read)."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024 * 3 // 4
    except OSError:
        pass
    return 4 << 30


def env_name(name: str) -> str:
    return "DUCKGRES_" + name.upper()


def load(
    config_file: Path | None = None,
    cli: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Resolve every setting: CLI > environment > YAML > default."""
    environ = os.environ if environ is None else environ
    cli = cli or {}
    if config_file is None and environ.get("DUCKGRES_CONFIG"):
        config_file = Path(environ["DUCKGRES_CONFIG"])
    from_file = _read_yaml(config_file) if config_file else {}
    values = {}
    for setting in SETTINGS:
        env = env_name(setting.name)
        if cli.get(setting.name) is not None:
            raw, source = cli[setting.name], f"--{setting.name.replace('_', '-')}"
        elif env in environ:
            raw, source = environ[env], env
        elif setting.name in from_file:
            raw, source = from_file[setting.name], f"{config_file}"
        else:
            values[setting.name] = setting.default
            continue
        try:
            values[setting.name] = setting.parse(raw)
        except ValueError as exc:
            raise ConfigError(f"{setting.name}: {exc} (got {raw!r} from {source})") from None
    config = Config(**values)
    if config.storage == "ducklake" and not config.lake_catalog:
        raise ConfigError("ducklake_catalog: storage ducklake needs the PostgreSQL database "
                          "of the lakes' catalogs (a libpq connection string), or a "
                          "config_store to default to")
    if config.worker_backend == "remote" and (
            config.mode != "controlplane" or not config.config_store
            or config.storage != "ducklake"):
        raise ConfigError("worker_backend: remote needs mode controlplane, a config_store "
                          "(where the fleet registers) and storage ducklake (so any worker "
                          "can serve any organisation)")
    if config.worker_backend == "remote" and not (
            config.fleet_token_file or environ.get("DUCKGRES_FLEET_TOKEN")):
        raise ConfigError("worker_backend: remote needs the fleet token: fleet_token_file "
                          "or DUCKGRES_FLEET_TOKEN")
    return config


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"config: cannot read {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"config: {path} is not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config: {path} must hold a mapping of settings")
    for key in data:
        if key not in BY_NAME:
            raise ConfigError(f"{key}: unknown setting in {path}")
    return data
