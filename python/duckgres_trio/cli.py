"""Command line: ``duckgres-trio [flags]`` serves; ``duckgres-trio passwd`` makes verifiers."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import NoReturn

import trio

from duckgres_trio import __version__, logs
from duckgres_trio import config as configuration


#: The subcommands, for the usage line and the help's epilog.
SUBCOMMANDS = {"passwd": "print a password verifier for the users setting "
                         "(`duckgres-trio passwd --help`)",
               "admin": "organisations, users and secrets in the config store "
                        "(`duckgres-trio admin --help`)",
               "worker": "a long-lived fleet worker registered in the config store "
                         "(`duckgres-trio worker --help`, docs/scale-out.md)"}


def _serve_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="duckgres-trio",
        usage="%(prog)s [--config FILE] [--SETTING VALUE ...]\n"
              "       %(prog)s {" + ",".join(SUBCOMMANDS) + "} ...",
        description="A PostgreSQL-wire server in front of DuckDB. "
        "Settings: CLI flags > DUCKGRES_* environment > YAML file > defaults; "
        "defaults are shown as they would be written in the YAML file.",
        epilog="subcommands:\n" + "\n".join(f"  {name:<10}{text}"
                                             for name, text in SUBCOMMANDS.items()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"duckgres-trio {__version__}")
    parser.add_argument("--config", type=Path, metavar="FILE",
                        help="YAML configuration file (env DUCKGRES_CONFIG)")
    for setting in configuration.SETTINGS:
        flag = "--" + setting.name.replace("_", "-")
        shown = _show_default(setting)
        parser.add_argument(flag, dest=setting.name, metavar=setting.metavar,
                            help=f"{setting.help} (env {configuration.env_name(setting.name)}"
                            f"{shown})".replace("%", "%%"))
    return parser


def _show_default(setting: configuration.Setting) -> str:
    """", default 5m" as config writes it; nothing where the help already says which
    default applies (derived ones: 75% of RAM, <data_dir>/server.crt, ...)."""
    if "; default " in setting.help:
        return ""
    shown = configuration.show(setting, setting.default)
    return f", default {shown}" if shown else ", default empty"


def _passwd(argv: list[str]) -> int:
    from duckgres_trio.frontend import scram
    from duckgres_trio.tenancy import admin

    parser = argparse.ArgumentParser(
        prog="duckgres-trio passwd",
        description="Print a password verifier for the `users` setting (the password is "
        "read from the terminal, or from stdin when it is not a terminal).",
    )
    parser.add_argument("--method", choices=("scram-sha-256", "md5"), default="scram-sha-256")
    parser.add_argument("--user", help="user name (required for md5, which salts with it)")
    args = parser.parse_args(argv)
    if args.method == "md5" and not args.user:
        parser.error("--user is required with --method md5")
    try:
        password = admin.read_password()
    except admin.AdminError as exc:
        print(exc, file=sys.stderr)
        return 1
    if args.method == "md5":
        print(scram.make_md5_verifier(args.user, password))
    else:
        print(scram.make_scram_verifier(password))
    return 0


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["passwd"]:
        sys.exit(_passwd(argv[1:]))
    if argv[:1] == ["admin"]:
        from duckgres_trio.tenancy import admin

        sys.exit(admin.main(argv[1:]))
    if argv[:1] == ["worker"]:
        from duckgres_trio.fleet import agent

        sys.exit(agent.main(argv[1:]))
    args = vars(_serve_parser().parse_args(argv))
    config_file = args.pop("config")
    try:
        config = configuration.load(config_file, args)
        logs.configure(config.log_level, config.log_format)
        os.environ["DUCKGRES_LOG_FORMAT"] = config.log_format  # workers log alike
        if config.mode == "worker":
            from duckgres_trio.worker.main import main as worker_main

            sys.exit(worker_main())
        from duckgres_trio.frontend.listen import StartupError
        from duckgres_trio.wire import CODEC

        logging.getLogger("duckgres_trio").info(
            "duckgres-trio %s, %s mode, wire codec: %s", __version__, config.mode, CODEC)
        _check_data_dir(config.data_dir)
        server = build_server(config)
    except (configuration.ConfigError, OSError) as exc:
        _fail(exc)
    failure = None
    try:
        trio.run(server.serve)
    except* StartupError as group:
        failure = group.exceptions[0]
        while isinstance(failure, BaseExceptionGroup):  # raised in a nested nursery
            failure = failure.exceptions[0]
    if failure is not None:
        _fail(failure)


def connect_line(argv: list[str]) -> str:
    """The psql command that reaches a server started with ``argv`` (ci/serve.sh prints
    it before starting one); empty if the arguments do not make a configuration (the
    server then says why)."""
    args = vars(_serve_parser().parse_args(argv))
    try:
        config = configuration.load(args.pop("config"), args)
    except (configuration.ConfigError, OSError):
        return ""
    host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(config.host, config.host)
    user = next(iter(config.users), "postgres")
    password = "" if config.users else " (password postgres)"
    sslmode = "disable" if config.tls == "disabled" else "require"
    return (f'psql "host={host} port={config.port} user={user} dbname=postgres '
            f'sslmode={sslmode}"{password}')


def _fail(exc: BaseException) -> NoReturn:
    """A startup failure: one line on stderr, exit status 2 (no traceback)."""
    if isinstance(exc, OSError) and exc.strerror and exc.filename:
        message = f"{exc.filename}: {exc.strerror}"
    else:
        message = str(exc)
    print(f"duckgres-trio: {message}", file=sys.stderr)
    sys.exit(2)


def _check_data_dir(path: Path) -> None:
    """The data directory exists (created if missing) and is this user's to use:
    better to say so at start than on each client's first connect."""
    if path.exists() and not path.is_dir():
        raise configuration.ConfigError(f"data_dir: {path} is not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise configuration.ConfigError(
            f"data_dir: cannot create {path}: {exc.strerror}") from None
    if not os.access(path, os.R_OK | os.W_OK | os.X_OK):
        raise configuration.ConfigError(
            f"data_dir: {path} is not readable and writable by this user")


def build_server(config: configuration.Config, snapshots=None):
    """The server for ``config``. With a ``config_store`` (or, in tests, ``snapshots``:
    a callable returning the current ``tenancy.directory.Snapshot``) it serves many
    organisations; without, exactly one tenant as always."""
    from duckgres_trio.frontend.server import Server

    if snapshots is None and not config.config_store:
        return Server(config, _engine(config))
    server = None
    if snapshots is None:  # the store's, which the server runs and reloads
        def snapshots():
            return server.current_snapshot()
    server = Server(config, _tenancy(config, snapshots), tenancy=True)
    if config.worker_backend == "remote" and server.config_store is not None:
        # one id for this control plane in the store: its row and its workers' owner
        server.config_store.instance_id = server.engine.pool.cp_id
    admission = getattr(server.engine, "admission", None)
    if server.config_store is not None and hasattr(admission, "cp_id"):
        admission.cp_id = server.config_store.instance_id  # its reservations' owner
    return server


def _tenancy(config: configuration.Config, snapshots):
    """One engine per organisation (``tenancy.engines``); in control-plane mode all on
    one worker pool."""
    from duckgres_trio.controlplane import admission as vcpus
    from duckgres_trio.engine import profiles
    from duckgres_trio.tenancy import engines, routing, store

    pool = _pool(config) if config.mode != "standalone" else None
    limits = profiles.Limits.from_config(config)
    # max_vcpus counted in the store (across control planes), else in this process
    # (a reservation counts while its control plane's row is fresh: the lease, but at
    # least three of the store's own heartbeats, which every control plane writes)
    admission = (vcpus.StoreAdmission(config.config_store,
                                      max(config.fleet_lease, 3 * store.HEARTBEAT))
                 if config.config_store else vcpus.Admission())

    def make(org, directory, current):
        settings = engines.org_engine_config(config.file_access, directory,
                                             dict(org.worker_settings))
        if pool is None:
            from duckgres_trio.engine.local import LocalEngine

            if config.duckdb_threads:
                settings.setdefault("threads", str(config.duckdb_threads))
            if config.duckdb_memory_limit:
                settings.setdefault("memory_limit", config.duckdb_memory_limit)
            return LocalEngine(directory, auto_create=config.auto_create_databases,
                               max_concurrent=config.max_connections, duckdb_config=settings,
                               lake=_lake(config, org.name))
        from duckgres_trio.controlplane.sessions import ControlPlaneEngine

        return ControlPlaneEngine(
            pool, directory, auto_create=config.auto_create_databases,
            queue_timeout=config.worker_queue_timeout, org=org.name, engine_config=settings,
            max_workers=lambda: current().max_workers,
            slots=engines.org_slots(current, config.max_connections),
            lake=_lake(config, org.name),
            default_profile=lambda: profiles.resolve(limits, {}, current()),
            max_vcpus=lambda: current().max_vcpus, admission=admission)

    tenancy = engines.Tenancy(snapshots, data_dir=config.data_dir, make_engine=make,
                              pool=pool, mode=config.sni_routing_mode,
                              suffixes=routing.normalise_suffixes(
                                  config.managed_hostname_suffixes))
    tenancy.admission = admission if pool is not None else None
    return tenancy


def _pool(config: configuration.Config):
    if config.worker_backend == "remote":
        from duckgres_trio.fleet.agent import read_token
        from duckgres_trio.fleet.backend import FleetPool

        try:
            token = read_token(config.fleet_token_file)
        except ValueError as exc:
            raise configuration.ConfigError(str(exc)) from None
        return FleetPool(dsn=config.config_store, token=token, ca_file=config.fleet_ca_file,
                         lease=config.fleet_lease, grace=config.fleet_grace,
                         max_workers_per_database=config.max_workers_per_database,
                         threads=config.duckdb_threads,
                         memory_limit=config.duckdb_memory_limit,
                         engine_config=_lockdown(config),
                         idle_timeout=config.worker_idle_timeout)
    from duckgres_trio.controlplane.pool import WorkerPool

    return WorkerPool(
        socket_dir=config.worker_socket_dir,
        max_workers=config.worker_limit,
        max_workers_per_database=config.max_workers_per_database,
        min_workers=config.min_workers,
        idle_timeout=config.worker_idle_timeout,
        memory_budget=config.worker_memory_budget,
        memory_limit=config.duckdb_memory_limit,
        threads=config.duckdb_threads,
        retire_on_session_end=config.retire_on_session_end,
        log_level=config.log_level,
        engine_config=_lockdown(config),
    )


def _engine(config: configuration.Config):
    if config.mode == "standalone":
        from duckgres_trio.engine.local import LocalEngine

        return LocalEngine(
            config.data_dir,
            auto_create=config.auto_create_databases,
            max_concurrent=config.max_connections,
            duckdb_config=_duckdb_config(config),
            lake=_lake(config),
        )
    from duckgres_trio.controlplane.sessions import ControlPlaneEngine

    from duckgres_trio.engine import profiles

    pool = _pool(config)
    default = profiles.resolve(profiles.Limits.from_config(config), {})
    return ControlPlaneEngine(pool, config.data_dir, auto_create=config.auto_create_databases,
                              max_sessions=config.max_connections,
                              queue_timeout=config.worker_queue_timeout, lake=_lake(config),
                              default_profile=lambda: default)


def _lake(config: configuration.Config, org: str | None = None):
    """DuckLake storage (engine.lake), or None for DuckDB files. An organisation's
    lakes are its own: schemas ``<org>/<database>``, files under ``orgs/<org>/``."""
    if config.storage != "ducklake":
        return None
    from duckgres_trio.engine.lake import Lake

    if org is None:
        return Lake(config.lake_catalog, config.lake_data_path)
    return Lake(config.lake_catalog, config.lake_data_path.rstrip("/") + f"/orgs/{org}",
                schema_prefix=f"{org}/")


def _lockdown(config: configuration.Config) -> dict[str, str]:
    """file_access and the extension policy as DuckDB settings (engine.lockdown)."""
    from duckgres_trio.engine import lockdown

    return lockdown.duckdb_config(config.file_access, config.data_dir, config.allowed_directories)


def _duckdb_config(config: configuration.Config) -> dict[str, str]:
    settings = _lockdown(config)
    if config.duckdb_threads:
        settings["threads"] = str(config.duckdb_threads)
    if config.duckdb_memory_limit:
        settings["memory_limit"] = config.duckdb_memory_limit
    return settings
