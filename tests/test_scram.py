"""Password authentication (frontend/scram.py): unit tests and a differential against PostgreSQL 15.

The SCRAM client below is written from RFC 5802 and checked against the RFC 7677
test vector, so the server is not only tested against itself. The PostgreSQL part
runs a throwaway cluster: it is the reference for verifier formats and SASLprep, and
it must accept the verifiers this module makes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import shutil
import socket
import subprocess
import tempfile
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import sql

from duckgres_trio.errors import PgError, ProtocolViolation, SqlState
from duckgres_trio.frontend import scram
from duckgres_trio.frontend.scram import (
    SCRAM_SHA_256,
    SCRAM_SHA_256_PLUS,
    Md5Verifier,
    ScramExchange,
    ScramVerifier,
    check_cleartext,
    check_md5_response,
    make_md5_verifier,
    make_scram_verifier,
    md5_salt,
    parse_verifier,
    tls_server_end_point,
)

SECRET = b"mock secret for tests"
CBIND = hashlib.sha256(b"pretend certificate").digest()


# --- a SCRAM client, from RFC 5802 ------------------------------------------------


def _hmac(key: bytes, msg: bytes) -> bytes:
    return hmac.digest(key, msg, "sha256")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class Client:
    """Just enough of a SCRAM client to drive the server, with knobs to misbehave."""

    def __init__(
        self,
        password: str,
        *,
        gs2_header: str = "n,,",
        cbind_data: bytes = b"",
        nonce: str = "fyko+d2lbbFgONRv9qkxdawL",
    ) -> None:
        self.password = password
        self.gs2_header = gs2_header
        self.cbind_data = cbind_data
        self.nonce = nonce
        self.bare = f"n=ignored,r={nonce}"
        self.server_signature = b""

    def first(self) -> bytes:
        return (self.gs2_header + self.bare).encode()

    def final(self, server_first: bytes, *, nonce: str | None = None, corrupt: bool = False) -> bytes:
        attrs = dict(item.split("=", 1) for item in server_first.decode().split(","))
        assert attrs["r"].startswith(self.nonce)
        # Passwords in these tests are ASCII or already SASLprep-normal.
        salted = hashlib.pbkdf2_hmac(
            "sha256", self.password.encode(), base64.b64decode(attrs["s"]), int(attrs["i"])
        )
        client_key = _hmac(salted, b"Client Key")
        cbind = _b64(self.gs2_header.encode() + self.cbind_data)
        without_proof = f"c={cbind},r={attrs['r'] if nonce is None else nonce}"
        auth = f"{self.bare},{server_first.decode()},{without_proof}".encode()
        signature = _hmac(hashlib.sha256(client_key).digest(), auth)
        proof = bytes(a ^ b for a, b in zip(client_key, signature))
        if corrupt:
            proof = bytes([proof[0] ^ 1]) + proof[1:]
        self.server_signature = _hmac(_hmac(salted, b"Server Key"), auth)
        return f"{without_proof},p={_b64(proof)}".encode()

    def check_server_final(self, server_final: bytes) -> None:
        assert server_final == b"v=" + _b64(self.server_signature).encode()


def exchange(verifier, *, username="alice", channel_binding=None) -> ScramExchange:
    return ScramExchange(
        verifier, username=username, channel_binding=channel_binding, mock_secret=SECRET
    )


def run(ex: ScramExchange, mechanism: str, client: Client) -> bytes:
    server_final = ex.server_final(client.final(ex.server_first(mechanism, client.first())))
    client.check_server_final(server_final)
    return server_final


def scram_verifier(password: str = "pw") -> ScramVerifier:
    verifier = parse_verifier(make_scram_verifier(password))
    assert isinstance(verifier, ScramVerifier)
    return verifier


def assert_auth_failed(exc: pytest.ExceptionInfo, username: str = "alice") -> None:
    assert type(exc.value) is PgError
    assert exc.value.sqlstate == SqlState.INVALID_PASSWORD
    assert exc.value.message == f'password authentication failed for user "{username}"'
    assert exc.value.severity == "FATAL"


# --- verifiers --------------------------------------------------------------------


def test_rfc7677_vector_through_the_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """The full RFC 7677 section 3 example, byte for byte, server side."""
    salt = base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ==")
    verifier = parse_verifier(make_scram_verifier("pencil", salt=salt))
    monkeypatch.setattr(scram, "_server_nonce", lambda: "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0")
    ex = exchange(verifier, username="user")
    server_first = ex.server_first(SCRAM_SHA_256, b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO")
    assert server_first == (
        b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
    )
    server_final = ex.server_final(
        b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
        b"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
    )
    assert server_final == b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="


def test_scram_verifier_roundtrip() -> None:
    text = make_scram_verifier("pw", iterations=5000, salt=b"0123456789abcdef")
    assert text.startswith("SCRAM-SHA-256$5000:MDEyMzQ1Njc4OWFiY2RlZg==$")
    verifier = parse_verifier(text)
    assert isinstance(verifier, ScramVerifier)
    assert (verifier.iterations, verifier.salt) == (5000, b"0123456789abcdef")
    assert str(verifier) == text
    assert make_scram_verifier("pw") != make_scram_verifier("pw")  # fresh salt each time


def test_md5_verifier() -> None:
    text = make_md5_verifier("alice", "pw")
    assert text == "md5" + hashlib.md5(b"pwalice").hexdigest()
    assert parse_verifier(text) == Md5Verifier(text[3:])
    assert str(parse_verifier(text)) == text


@pytest.mark.parametrize(
    "text",
    [
        "pw",
        "",
        "md5" + "A" * 32,
        "md5" + "a" * 31,
        "SCRAM-SHA-256$4096:c2FsdA==$c3RvcmVk:c2VydmVy",  # keys too short
        "SCRAM-SHA-256$0:" + "AA==$" + "A" * 43 + "=:" + "A" * 43 + "=",
        "SCRAM-SHA-256$x:" + "AA==$" + "A" * 43 + "=:" + "A" * 43 + "=",
        "SCRAM-SHA-256$4096:" + "AA==$" + "A" * 43 + "=",
        "SCRAM-SHA-256$4096:!!$" + "A" * 43 + "=:" + "A" * 43 + "=",
    ],
)
def test_parse_verifier_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="duckgres-trio passwd") as exc:
        parse_verifier(text)
    assert text == "" or text not in str(exc.value)


def test_make_scram_verifier_refuses_zero_iterations() -> None:
    with pytest.raises(ValueError):
        make_scram_verifier("pw", iterations=0)


def test_saslprep_mapping_and_fallback() -> None:
    def same(a: str, b: str) -> bool:
        return make_scram_verifier(a, salt=b"s" * 16) == make_scram_verifier(b, salt=b"s" * 16)

    assert same("ｐａｓｓ", "pass")  # NFKC
    assert same("pa\u00adss", "pass")  # soft hyphen maps to nothing
    assert same("pa\u00a0ss", "pa ss")  # non-ASCII space maps to space
    assert same("pa\u0308ss", "p\u00e4ss")  # composed
    # Prohibited (U+200E, C.8) or bad bidi: PostgreSQL hashes the raw bytes.
    assert not same("pa\u200ess", "pass")
    assert scram._saslprep("pa\u200ess") == "pa\u200ess".encode()
    assert scram._saslprep("a\u0627") == "a\u0627".encode()
    assert scram._saslprep("\u00ad") == b"\xc2\xad"
    assert scram._saslprep("p\x01w") == b"p\x01w"  # ASCII passes untouched


# --- the SCRAM exchange -----------------------------------------------------------


def test_mechanisms() -> None:
    assert exchange(None).mechanisms() == [SCRAM_SHA_256]
    assert exchange(None, channel_binding=CBIND).mechanisms() == [SCRAM_SHA_256_PLUS, SCRAM_SHA_256]


@pytest.mark.parametrize(
    ("mechanism", "channel_binding", "gs2_header", "cbind_data"),
    [
        (SCRAM_SHA_256, None, "n,,", b""),
        (SCRAM_SHA_256, None, "y,,", b""),  # client could bind, server cannot: fine
        (SCRAM_SHA_256, CBIND, "n,,", b""),  # client cannot bind: fine
        (SCRAM_SHA_256_PLUS, CBIND, "p=tls-server-end-point,,", CBIND),
    ],
)
def test_exchange_succeeds(mechanism, channel_binding, gs2_header, cbind_data) -> None:
    ex = exchange(scram_verifier(), channel_binding=channel_binding)
    client = Client("pw", gs2_header=gs2_header, cbind_data=cbind_data)
    assert run(ex, mechanism, client).startswith(b"v=")


def test_server_first_shape() -> None:
    client = Client("pw")
    first = exchange(scram_verifier()).server_first(SCRAM_SHA_256, client.first()).decode()
    r, s, i = first.split(",")
    assert r.startswith("r=" + client.nonce) and len(r) == 2 + len(client.nonce) + 24
    assert len(base64.b64decode(s[2:])) == 16 and i == "i=4096"


def test_downgrade_is_refused() -> None:
    """'y' says "I could bind but you cannot": false when we offered PLUS."""
    ex = exchange(scram_verifier(), channel_binding=CBIND)
    with pytest.raises(PgError) as exc:
        ex.server_first(SCRAM_SHA_256, Client("pw", gs2_header="y,,").first())
    assert exc.value.sqlstate == SqlState.INVALID_AUTHORIZATION_SPECIFICATION
    assert exc.value.fatal


def test_wrong_channel_binding_data() -> None:
    ex = exchange(scram_verifier(), channel_binding=CBIND)
    client = Client("pw", gs2_header="p=tls-server-end-point,,", cbind_data=b"x" * 32)
    server_first = ex.server_first(SCRAM_SHA_256_PLUS, client.first())
    with pytest.raises(PgError) as exc:
        ex.server_final(client.final(server_first))
    assert exc.value.sqlstate == SqlState.INVALID_AUTHORIZATION_SPECIFICATION
    assert exc.value.fatal


@pytest.mark.parametrize(
    ("mechanism", "channel_binding", "gs2_header"),
    [
        (SCRAM_SHA_256_PLUS, None, "p=tls-server-end-point,,"),  # PLUS not offered
        (SCRAM_SHA_256_PLUS, CBIND, "n,,"),
        (SCRAM_SHA_256_PLUS, CBIND, "y,,"),
        (SCRAM_SHA_256, CBIND, "p=tls-server-end-point,,"),
        (SCRAM_SHA_256_PLUS, CBIND, "p=tls-unique,,"),
        (SCRAM_SHA_256, None, "x,,"),
        ("SCRAM-SHA-1", None, "n,,"),
    ],
)
def test_gs2_header_violations(mechanism, channel_binding, gs2_header) -> None:
    ex = exchange(scram_verifier(), channel_binding=channel_binding)
    with pytest.raises(ProtocolViolation):
        ex.server_first(mechanism, Client("pw", gs2_header=gs2_header).first())


def test_non_plus_cbind_attribute_must_repeat_header() -> None:
    """Client said 'n' but then claims 'y' in c=: the header was tampered with."""
    ex = exchange(scram_verifier())
    client = Client("pw")
    server_first = ex.server_first(SCRAM_SHA_256, client.first())
    client.gs2_header = "y,,"
    with pytest.raises(ProtocolViolation):
        ex.server_final(client.final(server_first))


def test_bad_nonce() -> None:
    ex = exchange(scram_verifier())
    client = Client("pw")
    server_first = ex.server_first(SCRAM_SHA_256, client.first())
    with pytest.raises(ProtocolViolation):
        ex.server_final(client.final(server_first, nonce=client.nonce + "forged"))


@pytest.mark.parametrize("password", ["px", "PW", "pw "])
def test_wrong_password(password: str) -> None:
    ex = exchange(scram_verifier("pw"))
    client = Client(password)
    with pytest.raises(PgError) as exc:
        ex.server_final(client.final(ex.server_first(SCRAM_SHA_256, client.first())))
    assert_auth_failed(exc)


def test_corrupted_proof() -> None:
    ex = exchange(scram_verifier("pw"))
    client = Client("pw")
    with pytest.raises(PgError) as exc:
        ex.server_final(client.final(ex.server_first(SCRAM_SHA_256, client.first()), corrupt=True))
    assert_auth_failed(exc)


def test_unknown_user_looks_real_until_the_end() -> None:
    def shape(server_first: bytes) -> tuple[int, int, bytes]:
        r, s, i = server_first.split(b",")
        return len(r), len(base64.b64decode(s[2:])), i

    real = exchange(scram_verifier()).server_first(SCRAM_SHA_256, Client("pw").first())
    client = Client("pw")
    mock = exchange(None)
    server_first = mock.server_first(SCRAM_SHA_256, client.first())
    assert shape(server_first) == shape(real)
    with pytest.raises(PgError) as exc:
        mock.server_final(client.final(server_first))
    assert_auth_failed(exc)


def test_unknown_user_salt_is_deterministic_per_user() -> None:
    def salt(user: str, secret: bytes = SECRET) -> list[bytes]:
        ex = ScramExchange(None, username=user, channel_binding=None, mock_secret=secret)
        return ex.server_first(SCRAM_SHA_256, Client("pw").first()).split(b",")[1:]

    assert salt("mallory") == salt("mallory")
    assert salt("mallory") != salt("eve")
    assert salt("mallory") != salt("mallory", b"another secret")


def test_unknown_user_with_plus() -> None:
    ex = exchange(None, channel_binding=CBIND)
    client = Client("pw", gs2_header="p=tls-server-end-point,,", cbind_data=CBIND)
    with pytest.raises(PgError) as exc:
        run(ex, SCRAM_SHA_256_PLUS, client)
    assert_auth_failed(exc)


def test_startup_user_names_the_error_not_the_scram_username() -> None:
    ex = exchange(scram_verifier("pw"), username="bob")
    client = Client("px")
    client.bare = f"n=alice,r={client.nonce}"
    with pytest.raises(PgError) as exc:
        ex.server_final(client.final(ex.server_first(SCRAM_SHA_256, client.first())))
    assert_auth_failed(exc, "bob")


@pytest.mark.parametrize(
    "client_first",
    [
        b"",
        b"n",
        b"n,",
        b"n,,",
        b"n,,r=abc",
        b"n,,n=u",
        b"n,,n=u,r=",
        b"n,,r=abc,n=u",
        b"n,,n=u,r=abc,x=ext",  # attribute extensions are refused
        b"n,,n=u,r=a\x7fb",
        b"n,,n=u,r=a b",
        b"n,,n=u,r=a\x00b",
        b"n,,n=u,r=\xc3\xa9",
        b"\xff\xfe,,n=u,r=abc",
        b"n,x,n=u,r=abc",
        b"n=u,r=abc",
    ],
)
def test_malformed_client_first(client_first: bytes) -> None:
    with pytest.raises(ProtocolViolation) as exc:
        exchange(scram_verifier()).server_first(SCRAM_SHA_256, client_first)
    assert exc.value.sqlstate == SqlState.PROTOCOL_VIOLATION and exc.value.fatal


@pytest.mark.parametrize("client_first", [b"n,a=bob,n=u,r=abc", b"n,,m=ext,n=u,r=abc"])
def test_unsupported_client_first_features(client_first: bytes) -> None:
    with pytest.raises(PgError) as exc:
        exchange(scram_verifier()).server_first(SCRAM_SHA_256, client_first)
    assert exc.value.sqlstate == SqlState.FEATURE_NOT_SUPPORTED and exc.value.fatal


def _mangle_final(final: bytes, how: str) -> bytes:
    c, r, p = final.split(b",")
    return {
        "empty": b"",
        "no proof": c + b"," + r,
        "extension": c + b"," + r + b",x=1," + p,
        "reordered": r + b"," + c + b"," + p,
        "proof not base64": c + b"," + r + b",p=!!!!",
        "proof too short": c + b"," + r + b",p=" + base64.b64encode(b"x" * 31),
        "trailing": final + b",",
        "nul": final + b"\x00",
        "not utf-8": final + b"\xff",
    }[how]


@pytest.mark.parametrize(
    "how",
    ["empty", "no proof", "extension", "reordered", "proof not base64", "proof too short",
     "trailing", "nul", "not utf-8"],
)
def test_malformed_client_final(how: str) -> None:
    ex = exchange(scram_verifier())
    client = Client("pw")
    final = client.final(ex.server_first(SCRAM_SHA_256, client.first()))
    with pytest.raises(ProtocolViolation):
        ex.server_final(_mangle_final(final, how))


def test_calls_out_of_order() -> None:
    ex = exchange(scram_verifier())
    with pytest.raises(RuntimeError):
        ex.server_final(b"c=biws,r=x,p=x")
    failed = exchange(scram_verifier())
    with pytest.raises(ProtocolViolation):
        failed.server_first(SCRAM_SHA_256, b"garbage")
    with pytest.raises(RuntimeError):
        failed.server_final(b"c=biws,r=x,p=x")
    client = Client("pw")
    run(ex, SCRAM_SHA_256, client)
    with pytest.raises(RuntimeError):
        ex.server_final(b"c=biws,r=x,p=x")
    with pytest.raises(RuntimeError):
        ex.server_first(SCRAM_SHA_256, client.first())


@settings(max_examples=300)
@given(client_first=st.binary(max_size=64), client_final=st.binary(max_size=96),
       plus=st.booleans())
def test_arbitrary_bytes_only_raise_pg_errors(client_first, client_final, plus) -> None:
    ex = exchange(scram_verifier(), channel_binding=CBIND)
    mechanism = SCRAM_SHA_256_PLUS if plus else SCRAM_SHA_256
    try:
        ex.server_first(mechanism, client_first)
        ex.server_final(client_final)
    except PgError as exc:
        assert exc.fatal
    else:
        pytest.fail("random bytes authenticated")


# --- md5 and cleartext ------------------------------------------------------------


def md5_response(user: str, password: str, salt: bytes) -> bytes:
    inner = hashlib.md5((password + user).encode()).hexdigest()
    return b"md5" + hashlib.md5(inner.encode() + salt).hexdigest().encode()


def test_md5_challenge() -> None:
    salt = md5_salt()
    assert len(salt) == 4 and md5_salt() != md5_salt()
    verifier = parse_verifier(make_md5_verifier("alice", "pw"))
    check_md5_response(verifier, salt, md5_response("alice", "pw", salt), username="alice")
    for response in (md5_response("alice", "px", salt), md5_response("alice", "pw", b"salt"),
                     b"", b"md5"):
        with pytest.raises(PgError) as exc:
            check_md5_response(verifier, salt, response, username="alice")
        assert_auth_failed(exc)


def test_md5_challenge_unknown_user() -> None:
    salt = md5_salt()
    with pytest.raises(PgError) as exc:
        check_md5_response(None, salt, md5_response("alice", "pw", salt), username="alice")
    assert_auth_failed(exc)


@pytest.mark.parametrize("kind", ["scram", "md5"])
def test_cleartext(kind: str) -> None:
    text = make_scram_verifier("pw") if kind == "scram" else make_md5_verifier("alice", "pw")
    verifier = parse_verifier(text)
    check_cleartext(verifier, "alice", "pw")
    with pytest.raises(PgError) as exc:
        check_cleartext(verifier, "alice", "px")
    assert_auth_failed(exc)


def test_cleartext_unknown_user() -> None:
    with pytest.raises(PgError) as exc:
        check_cleartext(None, "alice", "pw")
    assert_auth_failed(exc)


# --- tls-server-end-point ---------------------------------------------------------


def make_cert_der(key, algorithm) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test")])
    now = datetime.now(timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .sign(key, algorithm)
    )
    return cert.public_bytes(Encoding.DER)


@pytest.fixture(scope="module")
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.mark.parametrize(
    ("algorithm", "expected"),
    [
        (hashes.SHA256(), hashlib.sha256),
        (hashes.SHA384(), hashlib.sha384),
        (hashes.SHA512(), hashlib.sha512),
    ],
)
def test_tls_server_end_point_rsa(rsa_key, algorithm, expected) -> None:
    der = make_cert_der(rsa_key, algorithm)
    assert tls_server_end_point(der) == expected(der).digest()


# sha256WithRSAEncryption, and the same-length OIDs of sha1WithRSA and md5WithRSA.
OID_SHA256_RSA = bytes.fromhex("06092a864886f70d01010b")


@pytest.mark.parametrize("oid_last_byte", [0x05, 0x04], ids=["sha1", "md5"])
def test_tls_server_end_point_weak_hash_upgraded(rsa_key, oid_last_byte: int) -> None:
    """RFC 5929: MD5 and SHA-1 become SHA-256. Such certificates cannot be signed
    any more, so the algorithm OIDs are patched (the signature is never checked)."""
    der = make_cert_der(rsa_key, hashes.SHA256())
    assert der.count(OID_SHA256_RSA) == 2
    der = der.replace(OID_SHA256_RSA, OID_SHA256_RSA[:-1] + bytes([oid_last_byte]))
    cert = x509.load_der_x509_certificate(der)
    assert cert.signature_hash_algorithm.name == ("sha1" if oid_last_byte == 5 else "md5")
    assert tls_server_end_point(der) == hashlib.sha256(der).digest()


def test_tls_server_end_point_ecdsa() -> None:
    der = make_cert_der(ec.generate_private_key(ec.SECP384R1()), hashes.SHA384())
    assert tls_server_end_point(der) == hashlib.sha384(der).digest()


def test_tls_server_end_point_ed25519_is_undefined() -> None:
    der = make_cert_der(ed25519.Ed25519PrivateKey.generate(), None)
    with pytest.raises(ValueError, match="no hash"):
        tls_server_end_point(der)


# --- differential against PostgreSQL 15 ------------------------------------------


@dataclass
class PgCluster:
    """A throwaway PostgreSQL cluster on 127.0.0.1, run as the postgres OS user."""

    bindir: Path
    datadir: Path
    port: int

    def connect(self, user: str = "postgres", password: str | None = None) -> psycopg.Connection:
        return psycopg.connect(
            host="127.0.0.1", port=self.port, dbname="postgres", user=user,
            password=password, sslmode="disable", connect_timeout=10, autocommit=True,
        )

    def rolpassword(self, role: str) -> str:
        with self.connect() as conn:
            row = conn.execute(
                "SELECT rolpassword FROM pg_authid WHERE rolname = %s", (role,)
            ).fetchone()
        assert row is not None and row[0] is not None
        return row[0]

    def set_password(self, role: str, password: str, encryption: str = "scram-sha-256") -> str:
        """ALTER ROLE ... PASSWORD (hashed by the server, or stored as-is if a verifier)."""
        with self.connect() as conn:
            conn.execute(sql.SQL("SET password_encryption = {}").format(sql.Literal(encryption)))
            conn.execute(
                sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                    sql.Identifier(role), sql.Literal(password)
                )
            )
        return self.rolpassword(role)


PG_HBA = """\
host all postgres 127.0.0.1/32 trust
host all scram_user 127.0.0.1/32 scram-sha-256
host all md5_user 127.0.0.1/32 md5
"""


def _pg_bindir() -> Path:
    candidates = [Path("/usr/lib/postgresql/15/bin")]
    if shutil.which("pg_config"):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True)
        candidates.append(Path(out.stdout.strip()))
    for bindir in candidates:
        if (bindir / "initdb").exists() and (bindir / "pg_ctl").exists():
            return bindir
    pytest.fail(f"PostgreSQL server binaries (initdb, pg_ctl) not found in {candidates}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_postgres(*argv: str | Path) -> None:
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    result = subprocess.run([*prefix, *map(str, argv)], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.fail(f"{argv[0]} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")


@pytest.fixture(scope="module")
def pg() -> Iterator[PgCluster]:
    bindir = _pg_bindir()
    root = Path(tempfile.mkdtemp(prefix="duckgres-scram-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    datadir = root / "data"
    cluster = PgCluster(bindir, datadir, _free_port())
    _as_postgres(bindir / "initdb", "-D", datadir, "-U", "postgres", "-E", "UTF8",
                 "--locale=C", "--auth=trust")
    (datadir / "pg_hba.conf").write_text(PG_HBA)
    options = (f"-p {cluster.port} -c listen_addresses=127.0.0.1 "
               f"-c unix_socket_directories={root} -c fsync=off")
    _as_postgres(bindir / "pg_ctl", "-D", datadir, "-w", "-l", root / "log", "-o", options, "start")
    try:
        with cluster.connect() as conn:
            conn.execute("CREATE ROLE scram_user LOGIN")
            conn.execute("CREATE ROLE md5_user LOGIN")
        yield cluster
    finally:
        _as_postgres(bindir / "pg_ctl", "-D", datadir, "-m", "immediate", "stop")
        shutil.rmtree(root)


def test_pg_scram_verifier(pg: PgCluster) -> None:
    text = pg.set_password("scram_user", "pw")
    verifier = parse_verifier(text)
    assert isinstance(verifier, ScramVerifier) and str(verifier) == text
    check_cleartext(verifier, "scram_user", "pw")
    with pytest.raises(PgError) as exc:
        check_cleartext(verifier, "scram_user", "px")
    assert_auth_failed(exc, "scram_user")
    run(exchange(verifier, username="scram_user"), SCRAM_SHA_256, Client("pw"))


def test_pg_md5_verifier(pg: PgCluster) -> None:
    text = pg.set_password("md5_user", "pw", encryption="md5")
    verifier = parse_verifier(text)
    assert verifier == Md5Verifier(text[3:]) and text == make_md5_verifier("md5_user", "pw")
    check_cleartext(verifier, "md5_user", "pw")
    with pytest.raises(PgError):
        check_cleartext(verifier, "md5_user", "px")
    salt = md5_salt()
    check_md5_response(verifier, salt, md5_response("md5_user", "pw", salt), username="md5_user")


# Characters that exercise every SASLprep step: mapping, NFKC, prohibition, bidi.
SASLPREP_CHARS = (
    "aZ09 !~\x01\x7f"
    "\u00e4a\u0308\u00c5\u212b\u2126\u00df\ufb01\uff50\u2460"  # NFKC
    "\u00ad\u200b\u2060\ufeff\u180b\u034f"  # mapped to nothing
    "\u00a0\u2000\u3000"  # non-ASCII spaces
    "\u200e\u0080\ue000\ufdd0\u2ff0\u0340\U000e0001\u0221"  # prohibited or unassigned (3.2)
    "\u0627\u05d0\u0661"  # RandALCat
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(password=st.one_of(
    st.text(alphabet=SASLPREP_CHARS, min_size=1, max_size=8),
    st.text(alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)),
            min_size=1, max_size=8),
))
def test_saslprep_matches_pg(pg: PgCluster, password: str) -> None:
    """PostgreSQL's own verifier for any password equals ours with the same salt."""
    if password.startswith(("md5", "SCRAM-SHA-256$")):  # PG would store those as-is
        return
    text = pg.set_password("scram_user", password)
    verifier = parse_verifier(text)
    assert isinstance(verifier, ScramVerifier)
    ours = make_scram_verifier(password, iterations=verifier.iterations, salt=verifier.salt)
    assert ours == text, (password, unicodedata.normalize("NFKC", password))


@pytest.mark.parametrize("password", ["pw", "p\u00e4ssw\u00f6rd\u00ad", "\uff50\uff57", "a\u0627"])
def test_pg_accepts_our_scram_verifier(pg: PgCluster, password: str) -> None:
    """libpq's SCRAM client (and its SASLprep) logs in against our verifier."""
    pg.set_password("scram_user", make_scram_verifier(password))
    with pg.connect("scram_user", password) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("scram_user",)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        pg.connect("scram_user", password + "x")


def test_pg_accepts_our_md5_verifier(pg: PgCluster) -> None:
    pg.set_password("md5_user", make_md5_verifier("md5_user", "pw"))
    with pg.connect("md5_user", "pw") as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("md5_user",)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        pg.connect("md5_user", "px")


def test_md5_verifier_under_scram_is_explained_in_the_log(start_server) -> None:
    """An md5 verifier cannot answer SCRAM: the client hears PostgreSQL's 28P01, the
    log says why (at start and at the failed login), so the operator can fix it."""
    md5 = make_md5_verifier("alice", "s3cret")
    srv = start_server("--users", f"alice={md5}")  # auth_method: scram-sha-256
    assert "cannot be used with auth_method scram-sha-256" in srv.log()
    with pytest.raises(psycopg.OperationalError) as info:
        psycopg.connect(srv.dsn(user="alice", password="s3cret"))
    assert "password authentication failed" in str(info.value)
    assert "user 'alice' failed SCRAM authentication: its stored md5 verifier" in srv.log()
