"""The floor of a short statement over the wire: minimal trio servers beside ours.

Run: .venv/bin/python ci/bench/floor.py [--transactions 3000] [--rounds 7]
     [--modes standalone,controlplane]
Three minimal servers do only the essential work of ``pgbench -M prepared``: the
startup with trust, Parse, and each pipelined Bind/Describe/Execute/Sync answered in
one send, on trio with the wire's framer and row encoders (wire.rows). No sessions,
catalog queries, activity, metrics, cancel or timeouts. They differ in what runs the
statement:

- "canned row, no engine": nothing; each Execute answers the row the statement's
  first run gave. The wire, trio, the kernel and pgbench alone.
- "minimal server": the statement, bound and run inline through the engine's C API
  binding (engine/statement.py), in a database opened as the real server opens it, on
  one DuckDB thread (what engine/threads.py gives a known-short statement). What issue
  22 called "a minimal trio server running the lookup inline": the floor of the
  standalone mode.
- "minimal relay + worker": the same statement run by a minimal worker process over
  a Unix socket, one request and one Arrow IPC reply per execution (the control
  plane's statement path, engine/remote.py, at its leanest): the floor of the
  control-plane mode.

Round by round and alternating, pgbench -c 1 runs a fixed number of transactions of
the primary-key lookup and of ``SELECT 1`` against each floor and against duckgres-trio
(each --modes), and the in-process loop runs the same statements
(ci/bench/pgbench_lookup.py). Prints TPS medians, the ratio to the in-process loop,
and each server's CPU per transaction (its worker processes included; minimum and
median over the rounds: on a shared machine the minimum is the least disturbed).
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "python"))
sys.path.insert(0, str(ROOT / "ci" / "bench"))

FLOORS = {"floor: canned row, no engine": ("--canned",), "floor: minimal server": (),
          "floor: minimal relay + worker": ("--relay",)}


_LENGTH = struct.Struct("!I")


def _database(path: str):
    from duckgres_trio.engine.statement import connect, open_database
    from pgbench_lookup import SETUP

    database = open_database(path)
    setup = connect(database)
    for sql in SETUP:
        setup.run(sql)
    setup.run("SET threads = 1")  # what engine/threads.py gives a known-short statement
    return database


def work(path: str, socket_path: str) -> None:
    """The minimal worker (``floor.py --worker DB SOCKET``): one blocking connection;
    a request is a length-prefixed frame, "p" + name + NUL + SQL (prepare) or "x" +
    name + NUL + the value (run); the answer to a run is the Arrow IPC message of its
    rows (the relay knows the schema), as engine/remote.py's ROWS frame carries it."""
    from duckgres_trio.engine.statement import connect, start

    conn = connect(_database(path))
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(socket_path)
    listener.listen()
    os.rename(socket_path, socket_path + ".ready")
    while True:  # one client connection at a time (pgbench -c 1)
        peer, _ = listener.accept()
        reader = peer.makefile("rb")
        statements = {}
        while header := reader.read(4):
            request = reader.read(_LENGTH.unpack(header)[0])
            name, _, rest = request[1:].partition(b"\0")
            if request[:1] == b"p":
                statements[name] = conn.prepare(rest.decode())
                reply = b""
            else:
                statements[name].bind([int(rest)] if rest else [])
                started = start(statements[name], True)
                reply = started.first[0].serialize().to_pybytes()
            peer.sendall(_LENGTH.pack(len(reply)) + reply)
        peer.close()


def serve(path: str, port_file: str, relay: bool, canned: bool) -> None:
    """The minimal server (run in its own process: ``floor.py --serve DB PORTFILE``);
    ``relay``: its statements run on a minimal worker process (``work``), as the
    control plane's do, instead of inline; ``canned``: they do not run at all, each
    Execute answers the row its first run gave (the wire, trio, the kernel and pgbench
    alone)."""
    import pyarrow as pa
    import trio

    from duckgres_trio.engine.statement import columns, connect, start
    from duckgres_trio.wire import FrameDecoder, backend
    from duckgres_trio.wire import frontend as msg
    from duckgres_trio.wire.rows import RowEncoder, column_formats, row_description

    database = _database(path)
    worker = None
    if relay:
        socket_path = path + ".sock"
        worker = subprocess.Popen([sys.executable, __file__, "--worker", path + ".worker",
                                   socket_path])

    async def client(stream: trio.SocketStream) -> None:
        conn = connect(database)
        if relay:
            while not os.path.exists(socket_path + ".ready"):
                await trio.sleep(0.1)
            channel = await trio.open_unix_socket(socket_path + ".ready")
            replies = bytearray()

            async def call(request: bytes) -> bytes:
                await channel.send_all(_LENGTH.pack(len(request)) + request)
                while len(replies) < 4 or len(replies) < 4 + _LENGTH.unpack(replies[:4])[0]:
                    replies.extend(await channel.receive_some(65536))
                end = 4 + _LENGTH.unpack(replies[:4])[0]
                reply = bytes(replies[4:end])
                del replies[:end]
                return reply
        schemas, canned_rows = {}, {}
        frames = FrameDecoder()
        statements: dict[str, object] = {}
        while (packet := frames.next_startup()) is None:
            frames.feed(await stream.receive_some(65536))
        await stream.send_all(backend.authentication_ok()
                              + backend.parameter_status("client_encoding", "UTF8")
                              + backend.parameter_status("server_version", "15.0")
                              + backend.backend_key_data(1, 1) + backend.ready_for_query(b"I"))
        portal, described = None, False
        while True:
            out = bytearray()
            while (frame := frames.next_message()) is None:
                data = await stream.receive_some(65536)
                if not data:
                    return
                frames.feed(data)
            message = msg.parse_message(*frame)
            if isinstance(message, msg.Terminate):
                return
            if isinstance(message, msg.Parse):
                statements[message.name] = conn.prepare(message.sql)
                schemas[message.name] = columns(statements[message.name])
                if canned:  # one row of the statement, kept: no engine per execution
                    prepared = statements[message.name]
                    prepared.bind([42] if "$1" in message.sql else [])
                    canned_rows[message.name] = start(prepared, True).first[0]
                if relay:
                    await call(b"p" + message.name.encode() + b"\0" + message.sql.encode())
                out += backend.parse_complete()
            elif isinstance(message, msg.Bind):
                prepared = statements[message.statement]
                values = [int(p) for p in message.params]
                if not relay:
                    prepared.bind(values)
                portal, described = (message.statement, values, message.result_formats), False
                out += backend.bind_complete()
            elif isinstance(message, msg.Describe):
                described = True  # its RowDescription goes out with the rows, just after
            elif isinstance(message, msg.Execute):
                name, values, formats = portal
                schema = schemas[name]
                if canned:
                    batches = [canned_rows[name]]
                elif relay:
                    reply = await call(b"x" + name.encode() + b"\0"
                                       + b"".join(str(v).encode() for v in values))
                    batches = [pa.ipc.read_record_batch(pa.py_buffer(reply), schema)]
                else:
                    batches = start(statements[name], True).first
                formats = column_formats(formats, len(schema))
                if described:
                    out += row_description(schema, formats)
                rows = 0
                for batch in batches:
                    out += RowEncoder(batch.schema, formats).encode(batch)
                    rows += batch.num_rows
                out += backend.command_complete(f"SELECT {rows}")
            elif isinstance(message, msg.Sync):
                out += backend.ready_for_query(b"I")
            if out:
                await stream.send_all(bytes(out))

    async def main() -> None:
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        Path(port_file).write_text(str(listeners[0].socket.getsockname()[1]))
        await trio.serve_listeners(client, listeners)

    try:
        trio.run(main)
    finally:
        if worker is not None:
            worker.terminate()


def main() -> None:
    if sys.argv[1:2] == ["--serve"]:
        serve(sys.argv[2], sys.argv[3], "--relay" in sys.argv, "--canned" in sys.argv)
        return
    if sys.argv[1:2] == ["--worker"]:
        work(sys.argv[2], sys.argv[3])
        return
    import psycopg

    from pgbench_lookup import SETUP, in_process_tps
    from short_statements import IN_PROCESS, _cpu_seconds, write_scripts
    from tests.conftest import ServerProcess

    parser = argparse.ArgumentParser()
    parser.add_argument("--transactions", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--modes", default="standalone,controlplane")
    args = parser.parse_args()
    cpu: dict[tuple[str, str], list[float]] = {}
    tps: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        scripts = write_scripts(Path(tmp))
        servers: dict[str, tuple[int, int]] = {}
        floors, ours = [], []
        try:
            for name, extra in FLOORS.items():
                port_file = Path(tmp) / f"{len(floors)}.port"
                floor = subprocess.Popen([sys.executable, __file__, "--serve",
                                          str(Path(tmp) / f"{len(floors)}.duckdb"),
                                          str(port_file), *extra], start_new_session=True)
                floors.append(floor)
                deadline = time.monotonic() + 60
                while not port_file.exists() or not port_file.read_text():
                    if time.monotonic() > deadline or floor.poll() is not None:
                        raise RuntimeError("the floor server did not start")
                    time.sleep(0.1)
                servers[name] = (int(port_file.read_text()), floor.pid)
            for mode in args.modes.split(","):
                server = ServerProcess(Path(tmp) / mode,
                                       ["--mode", mode, "--tls", "disabled",
                                        "--auth-method", "trust"]).start()
                ours.append(server)
                with psycopg.connect(server.dsn(sslmode="disable", dbname="bench"),
                                     autocommit=True) as conn:
                    for sql in SETUP:
                        conn.execute(sql)
                servers[f"duckgres-trio {mode}"] = (server.port, server.proc.pid)
            for _ in range(args.rounds):
                for statement, script in scripts.items():
                    for name, (port, pid) in servers.items():
                        before, started = _cpu_seconds(pid), time.perf_counter()
                        result = subprocess.run(
                            ["pgbench", "-n", "-c", "1", "-t", str(args.transactions),
                             "-M", "prepared", "-f", str(script), "-h", "127.0.0.1",
                             "-p", str(port), "-U", "postgres", "bench"],
                            capture_output=True, text=True, timeout=600,
                            env={**os.environ, "PGSSLMODE": "disable"})
                        elapsed = time.perf_counter() - started
                        if result.returncode != 0:
                            raise RuntimeError(result.stdout + result.stderr)
                        cpu.setdefault((statement, name), []).append(
                            (_cpu_seconds(pid) - before) / args.transactions * 1e6)
                        tps.setdefault((statement, name), []).append(
                            args.transactions / elapsed)
                    tps.setdefault((statement, "in-process loop"), []).append(
                        in_process_tps(2, **IN_PROCESS[statement]))
        finally:
            for server in ours:
                server.stop()
            for floor in floors:  # with the relay's worker, its process group
                os.killpg(floor.pid, signal.SIGTERM)
                floor.wait()
    print(f"{'statement':10} {'served by':30} {'TPS (median)':>12} {'vs in-process':>14} "
          f"{'CPU us/tx min':>14} {'median':>7}")
    for statement in scripts:
        limit = statistics.median(tps[(statement, "in-process loop")])
        for (name_statement, name), values in tps.items():
            if name_statement != statement:
                continue
            median = statistics.median(values)
            used = cpu.get((statement, name))
            used_text = (f"{min(used):14.0f} {statistics.median(used):7.0f}" if used
                         else f"{'-':>14} {'-':>7}")
            print(f"{statement:10} {name:30} {median:12.0f} {median / limit:14.2f} {used_text}")


if __name__ == "__main__":
    socket.setdefaulttimeout(None)
    main()
