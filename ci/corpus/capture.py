"""Capture the SQL that real PostgreSQL clients send, from a real PostgreSQL 15 log.

Why: a SQL translator in front of DuckDB is only as good as its coverage of what
clients actually send, most of which the user never writes: psql's backslash commands,
pgjdbc's DatabaseMetaData and type look-ups, psycopg's and asyncpg's type
introspection, SQLAlchemy's reflection, pgbench's workloads. Rather than guess, this
script runs those clients against a throwaway PostgreSQL 15 cluster (tests/support/pg15.py)
with ``log_statement = 'all'`` and turns the server's statement log into
tests/corpus/clients.jsonl, one ``{"client", "sql", "params"}`` object per line, so
translators can be measured on it.

Each client connects with its own application_name, which the log line prefix records;
the script's own schema set-up runs as ``setup`` and is left out. Duplicate
(client, sql) pairs keep their first appearance and its parameters; for pgbench, whose
simple-protocol runs inline random numbers, statements differing only in integer
literals count as duplicates.

Run: .venv/bin/python ci/corpus/capture.py
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from tests.support.pg15 import _bindir, running_pg15  # noqa: E402

OUTPUT = ROOT / "tests" / "corpus" / "clients.jsonl"
JDBC_JAR = Path("/usr/share/java/postgresql.jar")
JDBC_SOURCE = Path(__file__).with_name("JdbcMeta.java")
SETUP_APP = "setup"
CLIENT_TIMEOUT = 300

# Session id (%c: start time.pid) and application_name, in a form no message text
# starts with; continuation lines of a message start with a tab.
LOG_PREFIX = "@@%c|%a@@ "
LOG_SETTINGS = {
    "log_statement": "all",
    "log_min_duration_statement": "-1",
    "log_destination": "stderr",
    "log_line_prefix": LOG_PREFIX,
    "log_parameter_max_length": "-1",
}

SCHEMA = """
create table customers(id serial primary key, name text not null,
                       email varchar(100) unique, created timestamptz default now());
create table orders(id bigserial primary key, customer_id int references customers(id),
                    amount numeric(12,2), note text);
create index orders_customer on orders(customer_id);
create view big_orders as select * from orders where amount > 100;
comment on table customers is 'people';
comment on column customers.name is 'full name';
create schema sales;
create table sales.regions(code char(2) primary key, label text);
create type mood as enum ('happy', 'sad');
insert into customers(name, email) values
    ('Ada', 'ada@example.com'), ('Brian', 'brian@example.com'), ('Chen', null);
insert into orders(customer_id, amount, note) values
    (1, 50.00, 'small'), (1, 250.00, 'big'), (2, 120.50, null), (3, 9.99, 'tiny'),
    (2, 1000.00, 'huge'), (3, 75.25, null);
insert into sales.regions values ('EU', 'Europe'), ('NA', 'North America');
"""

PSQL_COMMANDS = [
    r"\d", r"\d customers", r"\d+ customers", r"\dt", r"\dt+", r"\dn", r"\l", r"\df",
    r"\dv", r"\di", r"\du", r"\dT", r"\dx", r"\d sales.regions", r"\d big_orders",
    r"\x", "select 1;",
]


@dataclass(frozen=True)
class Server:
    """How to reach the throwaway cluster."""

    dsn: str
    port: int
    user: str
    log: Path

    def conninfo(self, app: str) -> str:
        return f"{self.dsn} application_name={app}"

    def libpq_env(self, app: str) -> dict[str, str]:
        return {**os.environ, "PGHOST": "127.0.0.1", "PGPORT": str(self.port),
                "PGUSER": self.user, "PGDATABASE": "postgres", "PGAPPNAME": app}


# --- server set-up -----------------------------------------------------------------

def enable_statement_log(dsn: str) -> Path:
    """Turn on statement logging with ALTER SYSTEM, wait until new sessions see it, and
    return the log file: pg15.py starts pg_ctl with ``-l <root>/log`` next to the data
    directory ``<root>/data``, and logging_collector stays off so that file gets it all."""
    with psycopg.connect(dsn, application_name=SETUP_APP, autocommit=True) as conn:
        for name, value in LOG_SETTINGS.items():
            conn.execute(f"alter system set {name} = '{value}'")
        conn.execute("select pg_reload_conf()")
        collector = conn.execute("show logging_collector").fetchone()[0]
        datadir = Path(conn.execute("show data_directory").fetchone()[0])
    if collector != "off":
        raise RuntimeError(f"logging_collector is {collector}: the log would not be in pg_ctl's -l file")
    wait_for_settings(dsn)
    log = datadir.parent / "log"
    if not log.is_file():
        raise RuntimeError(f"server log not found at {log}")
    return log


def wait_for_settings(dsn: str, timeout: float = 10.0) -> None:
    """pg_reload_conf() only signals the postmaster; poll until a new session has the settings."""
    deadline = time.monotonic() + timeout
    while True:
        with psycopg.connect(dsn, application_name=SETUP_APP) as conn:
            current = {name: conn.execute(f"show {name}").fetchone()[0] for name in LOG_SETTINGS}
        if current["log_statement"] == "all" and current["log_line_prefix"] == LOG_PREFIX:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"log settings not applied after {timeout}s: {current}")
        time.sleep(0.1)


def create_schema(server: Server) -> None:
    with psycopg.connect(server.conninfo(SETUP_APP), autocommit=True) as conn:
        conn.execute(SCHEMA)


# --- clients -----------------------------------------------------------------------

def run(argv: list[str], env: dict[str, str] | None = None, stdin: str | None = None) -> str:
    proc = subprocess.run(argv, env=env, input=stdin, capture_output=True, text=True,
                          timeout=CLIENT_TIMEOUT)
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[0]} exited {proc.returncode}:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return proc.stdout


def client_psql(server: Server) -> None:
    psql = shutil.which("psql") or str(_bindir() / "psql")
    script = "\n".join(PSQL_COMMANDS) + "\n"
    run([psql, "-X", "-v", "ON_ERROR_STOP=1", "-f", "-"], env=server.libpq_env("psql"), stdin=script)


def client_pgjdbc(server: Server) -> None:
    if not JDBC_JAR.is_file():
        raise RuntimeError(f"{JDBC_JAR} missing: apt-get install -y libpostgresql-jdbc-java")
    url = (f"jdbc:postgresql://127.0.0.1:{server.port}/postgres?user={server.user}"
           "&ApplicationName=pgjdbc&prepareThreshold=5")
    with tempfile.TemporaryDirectory(prefix="jdbcmeta-") as classes:
        run(["javac", "-cp", str(JDBC_JAR), "-d", classes, str(JDBC_SOURCE)])
        out = run(["java", "-cp", f"{JDBC_JAR}{os.pathsep}{classes}", "JdbcMeta", url])
    failures = [line for line in out.splitlines() if line.startswith("FAIL")]
    if failures:
        raise RuntimeError("\n".join(failures))


def client_psycopg(server: Server) -> None:
    from psycopg.types import TypeInfo

    with psycopg.connect(server.conninfo("psycopg")) as conn:
        info = conn.info
        _ = (info.server_version, info.backend_pid, info.encoding, info.transaction_status,
             info.parameter_status("TimeZone"), info.get_parameters())
        conn.execute("select * from customers where id = %s and name <> %s", (1, "x")).fetchall()
        conn.execute("select %s::int + %s, %s::text, %s", (1, 2, None, 3.5)).fetchall()
        conn.execute("select now(), current_setting('TimeZone')").fetchone()
        conn.commit()
        with conn.cursor(name="c") as cur:
            cur.execute("select * from orders")
            cur.fetchall()
        conn.commit()
        TypeInfo.fetch(conn, "int4")
        with conn.transaction():
            conn.execute("insert into customers(name, email) values (%s, %s)", ("Dana", "dana@example.com"))
            with conn.transaction():  # nested: a savepoint
                conn.execute("update orders set note = %s where id = %s", ("edited", 1))
        conn.execute("select count(*) from customers").fetchone()


def client_asyncpg(server: Server) -> None:
    asyncio.run(_asyncpg_session(server))


async def _asyncpg_session(server: Server) -> None:
    import asyncpg

    conn = await asyncpg.connect(host="127.0.0.1", port=server.port, user=server.user,
                                 database="postgres",
                                 server_settings={"application_name": "asyncpg"})
    try:
        await conn.fetch("select * from orders where customer_id = $1 and amount > $2", 1, 10)
        await conn.fetchval("select array[1,2,3]::int[]")
        await conn.fetchval("select $1::numeric(12,2)", 12.5)
        await conn.fetchval("""select '{"a":1}'::json""")
        await conn.fetchval("select interval '1 day 2 hours'")
        await conn.set_type_codec("json", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
        await conn.fetchval("""select '{"a":1}'::json""")
        await conn.fetchval("select 'happy'::mood")
        await conn.fetchval("select array['happy','sad']::mood[]")
        async with conn.transaction():
            await conn.execute("update orders set note = $1 where id = $2", "async", 2)
    finally:
        await conn.close()


def client_sqlalchemy(server: Server) -> None:
    from sqlalchemy import MetaData, Table, create_engine, inspect, select, text

    url = (f"postgresql+psycopg://{server.user}@127.0.0.1:{server.port}/postgres"
           "?application_name=sqlalchemy")
    engine = create_engine(url)
    try:
        insp = inspect(engine)
        insp.get_schema_names()
        insp.get_table_names()
        insp.get_table_names(schema="sales")
        insp.get_view_names()
        insp.get_columns("customers")
        insp.get_pk_constraint("customers")
        insp.get_foreign_keys("orders")
        insp.get_indexes("orders")
        insp.get_unique_constraints("customers")
        insp.get_table_comment("customers")
        insp.has_table("customers")
        insp.has_table("regions", schema="sales")
        with engine.connect() as conn:
            conn.execute(text("select * from customers where id = :id"), {"id": 1}).fetchall()
            customers = Table("customers", MetaData(), autoload_with=conn)
            conn.execute(select(customers).where(customers.c.name == "Ada")).fetchall()
    finally:
        engine.dispose()


def client_pgbench(server: Server) -> None:
    pgbench = shutil.which("pgbench") or str(_bindir() / "pgbench")
    env = server.libpq_env("pgbench")
    run([pgbench, "-i", "-s", "1", "postgres"], env=env)
    # A fixed seed makes the values inlined into the first transactions the same every run.
    for args in (["-S", "-T", "2"], ["-b", "tpcb-like", "-T", "2"], ["-M", "prepared", "-S", "-t", "50"]):
        run([pgbench, "--random-seed=1", *args, "postgres"], env=env)


CLIENTS: dict[str, Callable[[Server], None]] = {
    "psql": client_psql,
    "pgjdbc": client_pgjdbc,
    "psycopg": client_psycopg,
    "asyncpg": client_asyncpg,
    "sqlalchemy": client_sqlalchemy,
    "pgbench": client_pgbench,
}


def run_clients(server: Server) -> dict[str, str]:
    """Run every client; a failing one is reported, not fatal. Returns name -> error."""
    failures = {}
    for name, client in CLIENTS.items():
        print(f"running {name}", flush=True)
        try:
            client(server)
        except Exception as exc:  # noqa: BLE001 - any client failure is reported
            failures[name] = f"{exc}\n{traceback.format_exc(limit=3)}"
    return failures


# --- log parsing -------------------------------------------------------------------

HEAD = re.compile(r"^@@([0-9a-f.]+)\|(.*?)@@ ([A-Z]+):  (.*)$")
STATEMENT = re.compile(r"^statement: (.*)$", re.S)
EXECUTE = re.compile(r"^execute(?: fetch from)? [^ :]+(?:/[^ :]+)?: (.*)$", re.S)
PARAMETERS = "parameters: "
UNKNOWN_APPS = {"", "[unknown]"}
# pgbench's simple-protocol runs inline a fresh random number into the same statements
# thousands of times a second: for these clients, statements differing only in integer
# literals count as duplicates, so the corpus neither drowns in them nor varies by run.
COLLAPSE_INTEGERS = {"pgbench"}


@dataclass
class Record:
    """One message of the log: its session, application, level and (joined) text."""

    session: str
    app: str
    level: str
    text: str


def read_records(lines: Iterator[str]) -> Iterator[Record]:
    """Messages with our prefix, continuation lines (tab-prefixed) joined back on."""
    current: Record | None = None
    for raw in lines:
        raw = raw.rstrip("\n")
        if raw.startswith("\t") and current is not None:
            current.text += "\n" + raw[1:]
            continue
        if current is not None:
            yield current
        head = HEAD.match(raw)
        current = Record(*head.groups()) if head else None
    if current is not None:
        yield current


def name_sessions(records: list[Record]) -> None:
    """Statements a client runs before its application_name is set (pgjdbc sends
    ``SET application_name`` after start-up) are logged as [unknown]: give them the
    name their session (%c: start time and pid, unique) has later."""
    names = {r.session: r.app for r in records if r.app not in UNKNOWN_APPS}
    for record in records:
        if record.app in UNKNOWN_APPS:
            record.app = names.get(record.session, record.app)


def parse_parameters(text: str) -> list[str | None]:
    """``$1 = 'a''b', $2 = NULL`` -> ["a'b", None]."""
    values: list[str | None] = []
    pos = 0
    pattern = re.compile(r"\$\d+ = (NULL|'((?:[^']|'')*)')(?:, |$)", re.S)
    while pos < len(text):
        match = pattern.match(text, pos)
        if not match:
            raise ValueError(f"unparseable parameters at {pos}: {text[pos:pos + 80]!r}")
        values.append(None if match.group(1) == "NULL" else match.group(2).replace("''", "'"))
        pos = match.end()
    return values


def statements(records: list[Record]) -> list[dict]:
    """Logged statements as {"client", "sql", "params"}, in log order. An ``execute``
    LOG's parameters are the DETAIL that is the next message of the same session."""
    items: list[dict] = []
    last: dict[str, dict | None] = {}  # session -> its previous message, if a statement
    for record in records:
        previous = last.pop(record.session, None)
        if record.level == "DETAIL" and previous is not None and record.text.startswith(PARAMETERS):
            previous["params"] = parse_parameters(record.text[len(PARAMETERS):])
            continue
        if record.level != "LOG" or record.app == SETUP_APP:
            continue
        match = STATEMENT.match(record.text) or EXECUTE.match(record.text)
        if match:
            item = {"client": record.app, "sql": match.group(1), "params": None}
            items.append(item)
            last[record.session] = item
    return items


def dedupe(items: list[dict]) -> list[dict]:
    seen: set[tuple[str, str]] = set()
    kept = []
    for item in items:
        sql = item["sql"]
        if item["client"] in COLLAPSE_INTEGERS:
            sql = re.sub(r"(?<![\w.])-?\d+\b", "0", sql)
        if (item["client"], sql) not in seen:
            seen.add((item["client"], sql))
            kept.append(item)
    return kept


def parse_log(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", errors="replace") as lines:
        records = list(read_records(lines))
    name_sessions(records)
    return dedupe(statements(records))


def write_corpus(items: list[dict]) -> None:
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    with OUTPUT.open("w", encoding="utf-8") as out:
        for item in items:
            out.write(json.dumps(item, ensure_ascii=False) + "\n")


# --- main --------------------------------------------------------------------------

def main() -> int:
    with running_pg15() as dsn:
        log = enable_statement_log(dsn)
        port = int(re.search(r"port=(\d+)", dsn).group(1))
        user = re.search(r"user=(\S+)", dsn).group(1)
        server = Server(dsn=dsn, port=port, user=user, log=log)
        create_schema(server)
        failures = run_clients(server)
        time.sleep(0.5)  # let backends of closed sessions finish writing
        items = parse_log(server.log)
    write_corpus(items)
    counts = Counter(item["client"] for item in items)
    for client in CLIENTS:
        print(f"{client:12} {counts.get(client, 0):6}")
    for other in sorted(set(counts) - set(CLIENTS)):
        print(f"{other or '(none)':12} {counts[other]:6}  (not one of ours)")
    print(f"{'total':12} {len(items):6}  -> {OUTPUT.relative_to(ROOT)}")
    for name, error in failures.items():
        print(f"FAILED {name}: {error}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
