"""Test-only launcher: a duckgres-trio server whose organisations and users come from
a JSON file named by ``DUCKGRES_TEST_TENANTS`` instead of a config store.

The product has no such file setting (organisations live in the config store); this
script stands in for the store's snapshot so routing and isolation can be tested on
their own. The file is read again when it changes, as a store reload would replace
the snapshot. Everything else is the real server: same flags, same process.

File: {"orgs": [{"name", "database_name", "hostname_alias"?, "max_connections"?,
"max_workers"?, "disabled"?, "max_vcpus"?,
"worker_cpu"?, "worker_memory"?, "worker_ttl"?}], "users": [{"org", "name", "password" or "verifier",
"disabled"?, "max_connections"?}]}
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time

import trio

from duckgres_trio import cli, logs
from duckgres_trio import config as configuration
from duckgres_trio.frontend import scram
from duckgres_trio.tenancy.directory import Org, Snapshot, User

ENV = "DUCKGRES_TEST_TENANTS"
_VERIFIERS: dict[str, str] = {}  # password -> verifier: PBKDF2 once per password


def load(path: str) -> Snapshot:
    with open(path) as f:
        spec = json.load(f)
    orgs = {o["name"]: Org(name=o["name"], database_name=o["database_name"],
                           hostname_alias=o.get("hostname_alias"),
                           max_connections=o.get("max_connections"),
                           max_workers=o.get("max_workers"), disabled=bool(o.get("disabled")),
                           worker_settings=o.get("worker_settings", {}),
                           max_vcpus=o.get("max_vcpus"), worker_cpu=o.get("worker_cpu"),
                           worker_memory=o.get("worker_memory"),
                           worker_ttl=o.get("worker_ttl"))
            for o in spec.get("orgs", ())}
    users = {}
    for u in spec.get("users", ()):
        verifier = u.get("verifier")
        if verifier is None:
            password = u["password"]
            if password not in _VERIFIERS:
                _VERIFIERS[password] = scram.make_scram_verifier(password)
            verifier = _VERIFIERS[password]
        users[(u["org"], u["name"])] = User(org=u["org"], name=u["name"], verifier=verifier,
                                            disabled=bool(u.get("disabled")),
                                            max_connections=u.get("max_connections"))
    return Snapshot(orgs=orgs, users=users, loaded_at=time.monotonic())


def snapshots(path: str):
    state: dict = {"stamp": None, "snapshot": None}

    def current() -> Snapshot:
        stamp = os.stat(path).st_mtime_ns
        if stamp != state["stamp"]:
            state["snapshot"], state["stamp"] = load(path), stamp
        return state["snapshot"]

    return current


def main(argv: list[str]) -> None:
    args = vars(cli._serve_parser().parse_args(argv))
    config = configuration.load(args.pop("config"), args)
    logs.configure(config.log_level, config.log_format)
    os.environ["DUCKGRES_LOG_FORMAT"] = config.log_format
    logging.getLogger("duckgres_trio").info("test launcher: organisations from %s",
                                            os.environ[ENV])
    config.data_dir.mkdir(parents=True, exist_ok=True)
    server = cli.build_server(config, snapshots(os.environ[ENV]))
    trio.run(server.serve)


if __name__ == "__main__":
    main(sys.argv[1:])
