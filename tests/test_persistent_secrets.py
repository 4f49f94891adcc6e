"""Persistent secrets (issue 19): sealed in the config store (a throwaway PostgreSQL 15
database), replayed at the start of each of the user's sessions, never shown.

PostgreSQL has no CREATE PERSISTENT SECRET (DuckDB's syntax), so nothing here is
differential: PostgreSQL 15 is the config store. Users log in with their store
passwords; the database names the organisation (``sni_routing_mode`` off).
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import time

import psycopg
import pytest

from duckgres_trio.errors import PgError
from duckgres_trio.sql import secrets as secret_ddl
from duckgres_trio.tenancy import secrets
from tests.support.config_store import admin, ok
from tests.support.pg15 import fresh_database, pg15_dsn  # noqa: F401 - pytest fixture

VALUE = "tok-7Qx9-persist"  # the secret's value: must never be shown
BARE = "tok7Qx9bare"  # one given unquoted (DuckDB takes a word as a value)
KEY = base64.b64encode(bytes(range(32))).decode()


# -- sealing -----------------------------------------------------------------------------

def test_seal_opens_only_in_its_own_row_and_with_its_key():
    key = os.urandom(32)
    blob = secrets.seal(key, "acme", "alice", "web", "(TYPE http)")
    assert blob[0] == 1 and len(blob) == 1 + 12 + len("(TYPE http)") + 16
    assert secrets.open_blob(key, "acme", "alice", "web", blob) == "(TYPE http)"
    assert secrets.seal(key, "acme", "alice", "web", "(TYPE http)")[1:13] != blob[1:13]
    for row in [("beta", "alice", "web"), ("acme", "bob", "web"), ("acme", "alice", "web2")]:
        with pytest.raises(secrets.OpenError):
            secrets.open_blob(key, *row, blob)
    # the names are length-prefixed: moving a character between them changes the data
    shifted = secrets.seal(key, "ab", "c", "n", "x")
    with pytest.raises(secrets.OpenError):
        secrets.open_blob(key, "a", "bc", "n", shifted)
    with pytest.raises(secrets.OpenError):
        secrets.open_blob(os.urandom(32), "acme", "alice", "web", blob)
    with pytest.raises(secrets.OpenError, match="version 2"):
        secrets.open_blob(key, "acme", "alice", "web", bytes([2]) + blob[1:])
    with pytest.raises(secrets.OpenError):
        secrets.open_blob(key, "acme", "alice", "web", blob[:-1])
    with pytest.raises(secrets.OpenError, match="too short"):
        secrets.open_blob(key, "acme", "alice", "web", blob[:20])


def test_key_comes_from_the_environment_as_32_bytes_of_base64():
    assert secrets.load_key({}) is None
    assert secrets.load_key({secrets.KEY_ENV: KEY}) == bytes(range(32))
    raw = base64.urlsafe_b64encode(b"\xff" * 32).decode().rstrip("=")
    assert secrets.load_key({secrets.KEY_ENV: raw}) == b"\xff" * 32
    with pytest.raises(secrets.SealingKeyError, match="32 bytes.*decodes to 16"):
        secrets.load_key({secrets.KEY_ENV: base64.b64encode(b"x" * 16).decode()})
    with pytest.raises(secrets.SealingKeyError, match="not base64"):
        secrets.load_key({secrets.KEY_ENV: "not base64 at all!"})


def test_statements_read_as_duckdb_reads_them():
    create = secret_ddl.parse(f"create or replace persistent secret \"Web\" "
                              f"(TYPE http, BEARER_TOKEN '{VALUE}');")
    assert (create.kind, create.name, create.replace) == ("create", "web", True)
    assert create.temporary_sql() == \
        f"CREATE OR REPLACE TEMPORARY SECRET \"web\" (TYPE http, BEARER_TOKEN '{VALUE}')"
    assert secret_ddl.parse("CREATE PERSISTENT SECRET (TYPE http)").name == "__default_http"
    assert secret_ddl.parse("CREATE PERSISTENT SECRET IF NOT EXISTS s (TYPE http)") \
        .if_not_exists
    drop = secret_ddl.parse("DROP PERSISTENT SECRET IF EXISTS s")
    assert (drop.kind, drop.name, drop.missing_ok) == ("drop", "s", True)
    assert secret_ddl.parse("CREATE SECRET s (TYPE http)") is None
    assert secret_ddl.parse("CREATE TEMPORARY SECRET s (TYPE http)") is None
    for text, state in [("CREATE PERSISTENT SECRET s IN local_file (TYPE http)", "0A000"),
                        ("CREATE PERSISTENT SECRET s (TYPE http) x", "42601"),
                        ("CREATE PERSISTENT SECRET s (TYPE http, X $1)", "0A000"),
                        ("CREATE PERSISTENT SECRET (X 1)", "42601"),
                        ("DROP PERSISTENT SECRET s FROM local_file", "42601"),
                        ("CREATE PERSISTENT SECRET s (X '" + "y" * 9000 + "')", "54000")]:
        with pytest.raises(PgError) as caught:
            secret_ddl.parse(text)
        assert caught.value.sqlstate == state, text


# -- the server --------------------------------------------------------------------------

@pytest.fixture
def store(pg15_dsn, request):  # noqa: F811
    dsn = fresh_database(pg15_dsn, "ps_" + request.node.name[5:][:40])
    for org in ("acme", "beta"):
        ok(admin(dsn, "org", "create", org))
    for org, user in (("acme", "alice"), ("acme", "bob"), ("beta", "alice")):
        ok(admin(dsn, "user", "create", org, user, password="pw"))
    return dsn


#: Where secrets are kept apart per user: control-plane workers on DuckLake, each serving
#: one user of an organisation at a time (the lake's catalog: the store's server).
OWN_INSTANCES = ("--mode", "controlplane", "--storage", "ducklake")


def _start(start_server, tmp_path, dsn, *, key=KEY, name="srv", extra=OWN_INSTANCES):
    """A server with the store (and the sealing key, unless None); every server of a
    test on the same lake data (DuckLake keeps a lake's data path in its catalog)."""
    return start_server("--config-store", dsn, "--min-workers", "0", "--metrics-address", "",
                        "--log-level", "debug", "--ducklake-data-path", str(tmp_path / "lake"),
                        *extra, env={secrets.KEY_ENV: key or ""}, data_dir=tmp_path / name)


def _connect(server, user="alice", org="acme"):
    """A session of ``user`` of ``org``, on the organisation's database."""
    return psycopg.connect(server.dsn(user=user, password="pw", dbname=org), autocommit=True)


def _secrets(conn) -> list[tuple]:
    return conn.execute("SELECT name, type FROM duckdb_secrets() ORDER BY name").fetchall()


def _eventually(conn, expected: list[tuple], seconds: float = 5.0) -> None:
    """``conn`` sees ``expected`` secrets within ``seconds``: a session that a client
    closed ends on the server a moment later."""
    deadline = time.monotonic() + seconds
    while (found := _secrets(conn)) != expected:
        assert time.monotonic() < deadline, found
        time.sleep(0.05)


def _error(conn, sql: str, *, simple: bool = False) -> psycopg.Error:
    with pytest.raises(psycopg.Error) as caught:
        if simple:
            psycopg.ClientCursor(conn).execute(sql)
        else:
            conn.execute(sql)
    return caught.value


def _texts(err: psycopg.Error) -> str:
    diag = err.diag
    return " ".join(filter(None, [str(err), diag.message_primary, diag.message_detail,
                                  diag.message_hint, diag.context]))


def _store_text(dsn: str) -> str:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return "\n".join(row[0] for row in conn.execute(
            "SELECT t::text FROM duckgres.user_secrets t").fetchall())


@pytest.mark.controlplane_only  # conftest.py: control plane whatever the mode
def test_created_kept_replayed_elsewhere_and_dropped(store, start_server, tmp_path):
    server = _start(start_server, tmp_path, store)
    with _connect(server) as alice, _connect(server, "alice") as watcher:
        alice.execute(f"CREATE PERSISTENT SECRET Web (TYPE http, BEARER_TOKEN '{VALUE}')")
        assert _secrets(alice) == [("web", "http")]
        # the simple protocol too
        psycopg.ClientCursor(alice).execute(
            f"CREATE OR REPLACE PERSISTENT SECRET api (TYPE http, BEARER_TOKEN {BARE})")
        # what others are shown of it: pg_stat_activity, errors
        shown = watcher.execute("SELECT query FROM pg_stat_activity").fetchall()
        assert BARE.lower() not in repr(shown).lower(), shown
        assert "CREATE OR REPLACE PERSISTENT SECRET api (TYPE http, BEARER_TOKEN <redacted>)" \
            in [q for (q,) in shown]
        for sql, state in [
                (f"CREATE PERSISTENT SECRET web (TYPE http, BEARER_TOKEN '{VALUE}')", None),
                (f"CREATE PERSISTENT SECRET bad (TYPE http, NO_SUCH '{VALUE}')", None),
                (f"CREATE PERSISTENT SECRET bad (TYPE http, NO_SUCH {BARE})", None),
                (f"BEGIN; CREATE PERSISTENT SECRET x (TYPE http, BEARER_TOKEN '{VALUE}')",
                 "25001")]:
            err = _error(alice, sql, simple=sql.startswith("BEGIN"))
            assert VALUE not in _texts(err) and BARE.lower() not in _texts(err).lower(), \
                _texts(err)
            if state:
                assert err.sqlstate == state
            alice.rollback()
        assert _secrets(alice) == [("api", "http"), ("web", "http")]
    text = _store_text(store)
    assert "web" in text and "api" in text
    for secret in (VALUE, BARE):
        assert secret not in text and secret.encode().hex() not in text
    server.stop()
    # another server process (so another worker): replayed
    again = _start(start_server, tmp_path, store, name="again")
    with _connect(again, "alice") as alice:
        assert _secrets(alice) == [("api", "http"), ("web", "http")]
    # another user of the organisation does not have them
    with _connect(again, "bob") as bob:
        _eventually(bob, [])
    # nor does the same user name in another organisation
    with _connect(again, "alice", "beta") as alice_beta:
        assert _secrets(alice_beta) == []
        alice_beta.execute("CREATE PERSISTENT SECRET web (TYPE http, BEARER_TOKEN 'b')")
    with _connect(again, "alice") as alice:
        assert _secrets(alice) == [("api", "http"), ("web", "http")]
        alice.execute("DROP PERSISTENT SECRET web")
        assert _secrets(alice) == [("api", "http")]
        err = _error(alice, "DROP PERSISTENT SECRET web")
        assert err.sqlstate == "42704" and 'persistent secret "web" does not exist' in str(err)
        notices = []
        alice.add_notice_handler(lambda d: notices.append((d.sqlstate, d.message_primary)))
        alice.execute("DROP PERSISTENT SECRET IF EXISTS web")
        assert notices == [("00000", 'persistent secret "web" does not exist, skipping')]
    with _connect(again, "alice") as alice:
        assert _secrets(alice) == [("api", "http")]
    with _connect(again, "alice", "beta") as alice_beta:  # beta's own is still there
        assert _secrets(alice_beta) == [("web", "http")]
    for srv in (server, again):
        assert VALUE not in srv.log() and BARE.lower() not in srv.log().lower()


@pytest.mark.controlplane_only  # conftest.py: control plane whatever the mode
def test_moved_blob_is_skipped_and_a_user_keeps_at_most_32(store, start_server, tmp_path):
    server = _start(start_server, tmp_path, store)
    with _connect(server) as alice:
        alice.execute(f"CREATE PERSISTENT SECRET web (TYPE http, BEARER_TOKEN '{VALUE}')")
    with psycopg.connect(store, autocommit=True) as conn:
        conn.execute("INSERT INTO duckgres.user_secrets (org, user_name, name, sealed) "
                     "SELECT org, 'bob', 'web', sealed FROM duckgres.user_secrets "
                     "UNION ALL SELECT org, user_name, 'moved', sealed "
                     "FROM duckgres.user_secrets")
    with _connect(server, "bob") as bob:
        assert _secrets(bob) == []
    with _connect(server) as alice:
        assert _secrets(alice) == [("web", "http")]
        for i in range(30):  # with web and the moved row: 32
            alice.execute(f"CREATE PERSISTENT SECRET s{i} (TYPE http, BEARER_TOKEN 'v')")
        err = _error(alice, "CREATE PERSISTENT SECRET one_more (TYPE http, BEARER_TOKEN 'v')")
        assert err.sqlstate == "54000" and "(32)" in str(err)
        assert ("one_more", "http") not in _secrets(alice)  # not kept: not set either
        alice.execute("CREATE OR REPLACE PERSISTENT SECRET s0 (TYPE http, BEARER_TOKEN 'w')")
    log = server.log()
    assert "persistent secret 'web' of acme/bob skipped" in log
    assert "persistent secret 'moved' of acme/alice skipped" in log
    assert VALUE not in log


@pytest.mark.controlplane_only  # conftest.py: control plane whatever the mode
def test_the_users_last_session_takes_them_off_the_instance(store, start_server, tmp_path):
    """A user's sessions on one worker share what one of them creates; bob, on a worker
    of his own, never sees it."""
    server = _start(start_server, tmp_path, store,
                    extra=(*OWN_INSTANCES, "--max-workers-per-database", "1"))
    first, second = _connect(server), _connect(server)
    first.execute(f"CREATE PERSISTENT SECRET web (TYPE http, BEARER_TOKEN '{VALUE}')")
    first.close()
    with _connect(server, "bob") as bob:
        assert _secrets(second) == [("web", "http")]  # alice's other session keeps it
        second.close()
        _eventually(bob, [])  # her last one ended: off the instance bob shares


@pytest.mark.parametrize("prepare", [False, True])
def test_where_users_share_an_instance_no_secret_is_created(store, start_server, tmp_path,
                                                            prepare):
    """On DuckDB files (either mode) one database's instance serves every user of the
    organisation, and DuckDB 1.5.5 keeps secrets per instance: a secret one user created
    would be another's, so CREATE SECRET of any kind is refused there (0A000, naming
    the way out) and the session goes on."""
    server = _start(start_server, tmp_path, store, extra=("--storage", "duckdb"))
    with _connect(server) as alice, _connect(server, "bob") as bob:
        for create in (f"CREATE PERSISTENT SECRET web (TYPE http, BEARER_TOKEN '{VALUE}')",
                       f"CREATE SECRET web (TYPE http, BEARER_TOKEN '{VALUE}')",
                       f"CREATE OR REPLACE TEMPORARY SECRET w (TYPE http, BEARER_TOKEN '{VALUE}')"):
            with pytest.raises(psycopg.errors.FeatureNotSupported) as caught:
                alice.execute(create, prepare=prepare)
            assert "ducklake" in (caught.value.diag.message_hint or "")
            assert VALUE not in str(caught.value)
            assert _secrets(alice) == [] and _secrets(bob) == []
        assert alice.execute("SELECT 1").fetchone() == (1,)
    assert VALUE not in server.log()


@pytest.mark.controlplane_only  # conftest.py: control plane whatever the mode
def test_on_ducklake_another_users_concurrent_session_does_not_see_it(store, start_server,
                                                                     tmp_path):
    """With DuckLake storage a worker serves one user of an organisation at a time
    (controlplane.sessions), so the instance holding alice's secrets serves no session
    of bob's, whenever she creates them; her own sessions share it."""
    server = _start(start_server, tmp_path, store, extra=("--mode", "controlplane",
                                                          "--storage", "ducklake"))
    with _connect(server) as alice, _connect(server, "bob") as bob, \
            _connect(server) as alice2:
        worker = "SELECT duckgres_worker()"
        assert alice.execute(worker).fetchone() != bob.execute(worker).fetchone()
        alice.execute(f"CREATE PERSISTENT SECRET web (TYPE http, BEARER_TOKEN '{VALUE}')")
        assert _secrets(alice) == [("web", "http")]
        assert _secrets(bob) == []
        alice.execute("CREATE TABLE shared_t (x integer)")
        bob.execute("INSERT INTO shared_t VALUES (1)")  # one lake: bob's writes are alice's
        assert alice.execute("SELECT x FROM shared_t").fetchall() == [(1,)]
        with _connect(server, "bob") as bob2:  # a later session of bob's neither
            assert _secrets(bob2) == []
        assert _secrets(alice2) in ([("web", "http")], [])  # hers: shared or not yet
    with _connect(server) as alice:
        assert _secrets(alice) == [("web", "http")]
    assert VALUE not in server.log()


@pytest.mark.controlplane_only  # conftest.py: control plane whatever the mode
def test_without_the_key_create_is_refused_and_drop_works(store, start_server, tmp_path):
    server = _start(start_server, tmp_path, store, key=None)
    with _connect(server) as alice:
        err = _error(alice, f"CREATE PERSISTENT SECRET web (TYPE http, BEARER_TOKEN '{VALUE}')")
        assert err.sqlstate == "0A000" and "no sealing key" in str(err)
        assert secrets.KEY_ENV in err.diag.message_hint
        assert _secrets(alice) == []
        alice.execute("DROP PERSISTENT SECRET IF EXISTS web")
    assert VALUE not in server.log()


def test_a_malformed_key_stops_the_start(store, tmp_path):
    env = {**os.environ, secrets.KEY_ENV: base64.b64encode(b"short").decode()}
    result = subprocess.run(
        [sys.executable, "-m", "duckgres_trio", "--data-dir", str(tmp_path / "d"),
         "--port", "0", "--metrics-address", "", "--config-store", store],
        capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode != 0
    assert f"{secrets.KEY_ENV} must be 32 bytes in base64" in result.stderr, result.stderr


def test_without_a_config_store_persistent_secrets_are_refused(server):
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        for sql in (f"CREATE PERSISTENT SECRET web (TYPE http, BEARER_TOKEN '{VALUE}')",
                    "DROP PERSISTENT SECRET web"):
            err = _error(conn, sql)
            assert err.sqlstate == "0A000" and "needs a config store" in str(err)
            assert VALUE not in _texts(err)
        # DuckDB's own persistent storage (files in the server's home) stays off
        err = _error(conn, f"CREATE SECRET web IN local_file (TYPE http, BEARER_TOKEN '{VALUE}')")
        assert "Persistent secrets are disabled" in str(err) and VALUE not in _texts(err)
        assert _secrets(conn) == []
