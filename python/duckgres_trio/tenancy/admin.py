"""``duckgres-trio admin``: organisations, users and secrets in the config store.

Every write runs in one transaction with its ``pg_notify``, so running control planes
reload exactly when the change commits (and never for one that rolled back). Passwords
are read from the terminal (asked twice) or as one line of stdin and stored only as a
SCRAM-SHA-256 verifier. Failures print one line and exit with status 1; list commands
print a table, or JSON with ``--json``.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import re
import sys
from collections.abc import Sequence
from typing import Any

import trio
from psycopg import Error as PsycopgError
from psycopg import errors as pg_errors

from duckgres_trio import config as configuration
from duckgres_trio.tenancy import migrate, store
from duckgres_trio.tenancy.pgtrio import Connection

S = migrate.SCHEMA
_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
#: Constraint names (migrations/0001_initial.sql) and what they mean to the operator.
_CONSTRAINTS = {
    "orgs_pkey": "organisation {name!r} already exists",
    "orgs_database_name_key": "database name {database_name!r} belongs to another organisation",
    "orgs_hostname_alias_key": "hostname alias {hostname_alias!r} belongs to another organisation",
    "users_pkey": "user {name!r} already exists in organisation {org!r}",
    "users_org_fkey": "no organisation {org!r}",
    "orgs_database_name_valid": "the database name must have 1 to 63 characters",
    "users_name_valid": "a user name must have 1 to 63 characters",
}


class AdminError(Exception):
    """What went wrong, in one line for the operator."""


def read_password(prompt: str = "Password: ") -> str:
    """From the terminal (asked twice), or one line of stdin when it is not a terminal."""
    if sys.stdin.isatty():
        password = getpass.getpass(prompt)
        if getpass.getpass("Again: ") != password:
            raise AdminError("passwords differ")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise AdminError("empty password refused")
    return password


# -- the parser ---------------------------------------------------------------------

def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="duckgres-trio admin",
        description="Manage organisations, users and secrets in the config store "
        "(docs/multitenancy.md). Running servers see each change within a second.")
    parser.add_argument("--config-store", metavar="DSN",
                        default=os.environ.get("DUCKGRES_CONFIG_STORE"),
                        help="libpq connection string (env DUCKGRES_CONFIG_STORE)")
    objects = parser.add_subparsers(dest="object", required=True, metavar="{org,user,secret}")

    org = objects.add_parser("org", help="organisations").add_subparsers(
        dest="action", required=True)
    create = org.add_parser("create", help="create an organisation")
    create.add_argument("name", help="lowercase letters, digits and '-' (its DNS label)")
    _org_options(create)
    _json(org.add_parser("list", help="list the organisations"))
    update = org.add_parser("update", help="change an organisation's settings")
    update.add_argument("name")
    _org_options(update)
    for action, text in (("disable", "refuse the organisation's new connections"),
                         ("enable", "accept its connections again"),
                         ("delete", "delete it with its users and their secrets")):
        org.add_parser(action, help=text).add_argument("name")

    user = objects.add_parser("user", help="users of an organisation").add_subparsers(
        dest="action", required=True)
    for action, text in (("create", "create a user (password from the terminal or stdin)"),
                         ("passwd", "set a user's password"),
                         ("disable", "refuse the user's new connections"),
                         ("enable", "accept its connections again"),
                         ("delete", "delete a user and its secrets")):
        sub = user.add_parser(action, help=text)
        sub.add_argument("org")
        sub.add_argument("name")
        if action == "create":
            sub.add_argument("--max-connections", type=_limit, metavar="N")
    listing = user.add_parser("list", help="list an organisation's users")
    listing.add_argument("org")
    _json(listing)

    secret = objects.add_parser("secret", help="users' persistent secrets").add_subparsers(
        dest="action", required=True)
    listing = secret.add_parser("list", help="a user's secret names (never their values)")
    listing.add_argument("org")
    listing.add_argument("user")
    _json(listing)
    return parser


def _json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON, not a table")


def _org_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--database-name", metavar="D",
                        help="the startup database that selects it (default: its name)")
    parser.add_argument("--hostname-alias", metavar="A",
                        help="another DNS label that reaches it ('' removes it)")
    parser.add_argument("--max-connections", type=_limit, metavar="N",
                        help="its connections at once (0: no limit of its own)")
    parser.add_argument("--max-workers", type=_limit, metavar="N",
                        help="its share of the worker pool (0: no share of its own)")
    parser.add_argument("--max-hot-idle-workers", type=_limit, metavar="N",
                        help="fleet workers it keeps hot-idle at most; the janitor retires "
                        "the longest idle above it (0: no cap of its own)")
    parser.add_argument("--max-vcpus", type=_limit, metavar="N",
                        help="vCPUs its sessions' worker profiles may hold at once, across "
                        "all control planes (0: no limit)")
    parser.add_argument("--worker-cpu", type=_limit, metavar="N",
                        help="its sessions' default worker vCPUs (0: the deployment's)")
    parser.add_argument("--worker-memory", type=_size, metavar="SIZE",
                        help="its sessions' default worker memory, e.g. 2GB (0: the "
                        "deployment's)")
    parser.add_argument("--worker-ttl", type=_seconds, metavar="DURATION",
                        help="how long its workers stay hot-idle by default, e.g. 5m "
                        "('' : the deployment's)")
    parser.add_argument("--worker-setting", action="append", metavar="KEY=VALUE",
                        help="a default DuckDB setting of its sessions (repeatable; "
                        "KEY= removes one)")


def _size(text: str) -> int:
    try:
        return configuration._memory(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _seconds(text: str) -> int | str:
    if not text.strip():
        return ""  # back to the deployment's
    try:
        return round(configuration._duration(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


#: org columns of a worker profile / admission: option -> (column, value to store)
_PROFILE_COLUMNS = {"max_vcpus": lambda v: v or None, "worker_cpu": lambda v: v or None,
                    "worker_memory": lambda v: v or None,
                    "worker_ttl": lambda v: None if v == "" else v}


def _limit(text: str) -> int:
    try:
        value = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if not 0 <= value <= 1_000_000:
        raise argparse.ArgumentTypeError("must be between 0 and 1000000")
    return value


# -- running ------------------------------------------------------------------------

def main(argv: Sequence[str]) -> int:
    args = _parser().parse_args(list(argv))
    if not args.config_store:
        print("duckgres-trio admin: --config-store (or DUCKGRES_CONFIG_STORE) is required",
              file=sys.stderr)
        return 1
    try:
        # the password first: a prompt after connecting would hold a connection open
        password = (read_password() if args.object == "user"
                    and args.action in ("create", "passwd") else None)
        output = trio.run(_run, args, password)
    except AdminError as exc:
        print(f"duckgres-trio admin: {exc}", file=sys.stderr)
        return 1
    except migrate.MigrationError as exc:
        print(f"duckgres-trio admin: {exc}", file=sys.stderr)
        return 1
    except PsycopgError as exc:
        print(f"duckgres-trio admin: {_describe(exc, args)}", file=sys.stderr)
        return 1
    if output:
        print(output)
    return 0


def _describe(exc: PsycopgError, args: argparse.Namespace) -> str:
    diag = getattr(exc, "diag", None)
    constraint = diag.constraint_name if diag is not None else None
    if constraint in _CONSTRAINTS:
        values = {"database_name": None, "hostname_alias": None, **vars(args)}
        if values["database_name"] is None:
            values["database_name"] = values.get("name")
        return _CONSTRAINTS[constraint].format(**values)
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    if isinstance(exc, pg_errors.OperationalError):
        return f"config store: {first}"
    return first


async def _run(args: argparse.Namespace, password: str | None) -> str:
    conn = await Connection.connect(args.config_store)
    try:
        await migrate.migrate(conn)
        action = _ACTIONS[(args.object, args.action)]
        return await action(conn, args, password)
    finally:
        conn.close()


async def _write(conn: Connection, what: str, name: str, sql: str,
                 params: list[Any]) -> int:
    """Run one write and its notification in one transaction; rows it touched."""
    await conn.query("BEGIN")
    try:
        rows = await conn.query(sql + " RETURNING 1", params)
        if rows:
            await conn.query(*store.notify_payload(what, name))
        await conn.query("COMMIT")
    except BaseException:
        if not conn.closed:
            await conn.query("ROLLBACK")
        raise
    return len(rows)


def _label(kind: str, value: str) -> str:
    if not _LABEL.fullmatch(value):
        raise AdminError(f"invalid {kind} {value!r}: lowercase letters, digits and '-', "
                         "at most 63, not starting or ending with '-'")
    return value


def _settings(pairs: list[str] | None, current: dict[str, str]) -> dict[str, str]:
    settings = dict(current)
    for pair in pairs or ():
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise AdminError(f"--worker-setting expects KEY=VALUE, got {pair!r}")
        if value:
            settings[key.strip()] = value
        else:
            settings.pop(key.strip(), None)
    return settings


async def _org_create(conn: Connection, args, _password) -> str:
    name = _label("organisation name", args.name)
    alias = _label("hostname alias", args.hostname_alias) if args.hostname_alias else None
    database = args.database_name or name
    if not 0 < len(database) <= 63:
        raise AdminError("the database name must have 1 to 63 characters")
    await _write(conn, "org", name,
                 f"INSERT INTO {S}.orgs (name, database_name, hostname_alias, "
                 "max_connections, max_workers, worker_settings, max_hot_idle_workers, "
                 "max_vcpus, worker_cpu, worker_memory, worker_ttl) "
                 "VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9, $10, $11)",
                 [name, database, alias, args.max_connections or None,
                  args.max_workers or None, json.dumps(_settings(args.worker_setting, {})),
                  args.max_hot_idle_workers or None,
                  *(convert(getattr(args, option)) if getattr(args, option) is not None
                    else None for option, convert in _PROFILE_COLUMNS.items())])
    return f"organisation {name} created (database {database})"


async def _org_update(conn: Connection, args, _password) -> str:
    rows = await conn.query(f"SELECT worker_settings FROM {S}.orgs WHERE name = $1",
                            [args.name])
    if not rows:
        raise AdminError(f"no organisation {args.name!r}")
    sets, params = [], [args.name]

    def assign(column: str, value: Any) -> None:
        params.append(value)
        sets.append(f"{column} = ${len(params)}")

    if args.database_name is not None:
        assign("database_name", args.database_name)
    if args.hostname_alias is not None:
        assign("hostname_alias", _label("hostname alias", args.hostname_alias)
               if args.hostname_alias else None)
    if args.max_connections is not None:
        assign("max_connections", args.max_connections or None)
    if args.max_workers is not None:
        assign("max_workers", args.max_workers or None)
    if args.max_hot_idle_workers is not None:
        assign("max_hot_idle_workers", args.max_hot_idle_workers or None)
    for option, convert in _PROFILE_COLUMNS.items():
        if getattr(args, option) is not None:
            assign(option, convert(getattr(args, option)))
    if args.worker_setting:
        assign("worker_settings",
               json.dumps(_settings(args.worker_setting, json.loads(rows[0][0]))))
        sets[-1] += "::jsonb"
    if not sets:
        raise AdminError("nothing to change: give at least one option")
    await _write(conn, "org", args.name, f"UPDATE {S}.orgs SET {', '.join(sets)}, "
                 "updated_at = now() WHERE name = $1", params)
    return f"organisation {args.name} updated"


async def _org_flag(conn: Connection, args, _password) -> str:
    if args.action == "delete":
        sql = f"DELETE FROM {S}.orgs WHERE name = $1"
    else:
        sql = (f"UPDATE {S}.orgs SET disabled = {str(args.action == 'disable').lower()}, "
               "updated_at = now() WHERE name = $1")
    if not await _write(conn, "org", args.name, sql, [args.name]):
        raise AdminError(f"no organisation {args.name!r}")
    return f"organisation {args.name} {args.action}d"


async def _org_list(conn: Connection, args, _password) -> str:
    rows = await conn.query(
        f"SELECT name, database_name, hostname_alias, max_connections, max_workers, "
        f"disabled, worker_settings, (SELECT count(*) FROM {S}.users u WHERE u.org = o.name), "
        f"max_hot_idle_workers FROM {S}.orgs o ORDER BY name")
    records = [{"name": r[0], "database_name": r[1], "hostname_alias": r[2],
                "max_connections": _int(r[3]), "max_workers": _int(r[4]),
                "disabled": r[5] == "t", "worker_settings": json.loads(r[6]),
                "users": int(r[7]), "max_hot_idle_workers": _int(r[8])} for r in rows]
    return _render(records, args.json)


async def _user_create(conn: Connection, args, password: str) -> str:
    from duckgres_trio.frontend.scram import make_scram_verifier

    await _write(conn, "user", f"{args.org}/{args.name}",
                 f"INSERT INTO {S}.users (org, name, verifier, max_connections) "
                 "VALUES ($1, $2, $3, $4)",
                 [args.org, args.name, make_scram_verifier(password),
                  args.max_connections or None])
    return f"user {args.name} created in organisation {args.org}"


async def _user_change(conn: Connection, args, password: str | None) -> str:
    where = "WHERE org = $1 AND name = $2"
    if args.action == "passwd":
        from duckgres_trio.frontend.scram import make_scram_verifier

        sql, params = (f"UPDATE {S}.users SET verifier = $3, updated_at = now() {where}",
                       [args.org, args.name, make_scram_verifier(password)])
    elif args.action == "delete":
        sql, params = f"DELETE FROM {S}.users {where}", [args.org, args.name]
    else:
        sql, params = (f"UPDATE {S}.users SET disabled = "
                       f"{str(args.action == 'disable').lower()}, updated_at = now() {where}",
                       [args.org, args.name])
    if not await _write(conn, "user", f"{args.org}/{args.name}", sql, params):
        raise AdminError(f"no user {args.name!r} in organisation {args.org!r}")
    done = {"passwd": "password changed", "delete": "deleted"}.get(args.action,
                                                                   f"{args.action}d")
    return f"user {args.name} of organisation {args.org}: {done}"


async def _user_list(conn: Connection, args, _password) -> str:
    await _need_org(conn, args.org)
    rows = await conn.query(
        f"SELECT name, disabled, max_connections, "
        f"(SELECT count(*) FROM {S}.user_secrets s WHERE s.org = u.org "
        f"AND s.user_name = u.name), split_part(verifier, '$', 1) "
        f"FROM {S}.users u WHERE org = $1 ORDER BY name", [args.org])
    records = [{"name": r[0], "disabled": r[1] == "t", "max_connections": _int(r[2]),
                "secrets": int(r[3]),
                "verifier": "md5" if r[4].startswith("md5") else r[4]} for r in rows]
    return _render(records, args.json)


async def _secret_list(conn: Connection, args, _password) -> str:
    users = await conn.query(f"SELECT 1 FROM {S}.users WHERE org = $1 AND name = $2",
                             [args.org, args.user])
    if not users:
        raise AdminError(f"no user {args.user!r} in organisation {args.org!r}")
    rows = await conn.query(
        f"SELECT name, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') "
        f"FROM {S}.user_secrets WHERE org = $1 AND user_name = $2 ORDER BY name",
        [args.org, args.user])
    return _render([{"name": r[0], "created_at": r[1]} for r in rows], args.json)


async def _need_org(conn: Connection, name: str) -> None:
    if not await conn.query(f"SELECT 1 FROM {S}.orgs WHERE name = $1", [name]):
        raise AdminError(f"no organisation {name!r}")


def _int(text: str | None) -> int | None:
    return None if text is None else int(text)


def _render(records: list[dict[str, Any]], as_json: bool) -> str:
    """JSON (a list of objects), or an aligned table with a header line."""
    if as_json:
        return json.dumps(records, indent=2)
    if not records:
        return "(none)"
    columns = list(records[0])

    def cell(value: Any) -> str:
        if value is None:
            return "-"
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, dict):
            return ",".join(f"{k}={v}" for k, v in value.items()) or "-"
        return str(value)

    table = [columns] + [[cell(r[c]) for c in columns] for r in records]
    widths = [max(len(row[i]) for row in table) for i in range(len(columns))]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip()
                     for row in table)


_ACTIONS = {
    ("org", "create"): _org_create, ("org", "update"): _org_update,
    ("org", "disable"): _org_flag, ("org", "enable"): _org_flag,
    ("org", "delete"): _org_flag, ("org", "list"): _org_list,
    ("user", "create"): _user_create, ("user", "passwd"): _user_change,
    ("user", "disable"): _user_change, ("user", "enable"): _user_change,
    ("user", "delete"): _user_change, ("user", "list"): _user_list,
    ("secret", "list"): _secret_list,
}
