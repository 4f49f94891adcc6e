"""Server side of PostgreSQL password authentication, sans-IO: bytes in, bytes out.

SCRAM-SHA-256 and SCRAM-SHA-256-PLUS (RFC 5802, RFC 7677, channel binding type
tls-server-end-point from RFC 5929), md5 challenge-response, and cleartext checks,
all against verifiers in PostgreSQL's ``pg_authid.rolpassword`` format so roles can
be copied to and from a PostgreSQL cluster. The connection code frames the
Authentication* messages; this module only judges what the client sent.

Behaviour follows PostgreSQL's ``auth-scram.c`` where it matters to clients: the
same error for an unknown role as for a wrong password (raised only at the end of the
exchange), the same gs2 header rules, and the same SASLprep quirks.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
import stringprep
import unicodedata
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from duckgres_trio.errors import PgError, ProtocolViolation, SqlState

SCRAM_SHA_256 = "SCRAM-SHA-256"
SCRAM_SHA_256_PLUS = "SCRAM-SHA-256-PLUS"
#: PostgreSQL's default scram_iterations; also what a mock exchange advertises.
DEFAULT_ITERATIONS = 4096
_SALT_LEN = 16  # PostgreSQL's SCRAM_DEFAULT_SALT_LEN
_NONCE_LEN = 18  # PostgreSQL's SCRAM_RAW_NONCE_LEN
_KEY_LEN = 32  # SHA-256 output
_CBIND_TYPE = "tls-server-end-point"
_PASSWD_HINT = "store a verifier made by `duckgres-trio passwd` instead"


@dataclass(frozen=True)
class ScramVerifier:
    """A SCRAM-SHA-256 secret: enough to check a proof, not enough to log in."""

    iterations: int
    salt: bytes
    stored_key: bytes
    server_key: bytes

    def __str__(self) -> str:
        return (
            f"SCRAM-SHA-256${self.iterations}:{_b64(self.salt)}"
            f"${_b64(self.stored_key)}:{_b64(self.server_key)}"
        )


@dataclass(frozen=True)
class Md5Verifier:
    """A legacy md5 secret: md5hex(password + username), lowercase hex."""

    digest: str

    def __str__(self) -> str:
        return "md5" + self.digest


def make_scram_verifier(
    password: str, *, iterations: int = DEFAULT_ITERATIONS, salt: bytes | None = None
) -> str:
    """The pg_authid text PostgreSQL would store for ``password`` with this salt."""
    if iterations < 1:
        raise ValueError("SCRAM iterations must be at least 1")
    if salt is None:
        salt = os.urandom(_SALT_LEN)
    stored_key, server_key = _scram_keys(password, salt, iterations)
    return str(ScramVerifier(iterations, salt, stored_key, server_key))


def make_md5_verifier(user: str, password: str) -> str:
    """The pg_authid text PostgreSQL stores with password_encryption = md5."""
    return "md5" + _md5hex(_utf8(password) + _utf8(user))


def parse_verifier(text: str) -> ScramVerifier | Md5Verifier:
    """Parse a pg_authid verifier; anything else (a plaintext password) is refused.

    The offending text is never echoed in the error: it may be a password.
    """
    if text.startswith("SCRAM-SHA-256$"):
        return _parse_scram_verifier(text)
    digest = text[3:]
    if text.startswith("md5") and len(digest) == 32 and set(digest) <= set("0123456789abcdef"):
        return Md5Verifier(digest)
    raise ValueError(
        "not a password verifier (expected SCRAM-SHA-256$... or md5 + 32 hex digits); "
        f"plaintext passwords are not accepted, {_PASSWD_HINT}"
    )


def _parse_scram_verifier(text: str) -> ScramVerifier:
    """``SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>``, checked like parse_scram_secret."""
    try:
        _, params, keys = text.split("$")
        iterations_text, salt_b64 = params.split(":")
        stored_b64, server_b64 = keys.split(":")
        if not iterations_text.isascii() or not iterations_text.isdigit():
            raise ValueError
        verifier = ScramVerifier(
            int(iterations_text), _unb64(salt_b64), _unb64(stored_b64), _unb64(server_b64)
        )
    except ValueError:  # binascii.Error is a ValueError too
        raise ValueError(f"malformed SCRAM-SHA-256 verifier; {_PASSWD_HINT}") from None
    if verifier.iterations < 1 or not verifier.salt:
        raise ValueError(f"malformed SCRAM-SHA-256 verifier; {_PASSWD_HINT}")
    if len(verifier.stored_key) != _KEY_LEN or len(verifier.server_key) != _KEY_LEN:
        raise ValueError(f"malformed SCRAM-SHA-256 verifier; {_PASSWD_HINT}")
    return verifier


class ScramExchange:
    """One SCRAM-SHA-256(-PLUS) exchange: server_first, then server_final, once each.

    With ``verifier=None`` (unknown role, or a role with an md5 verifier) the
    exchange runs on a mock verifier whose salt is derived from the username (or
    ``mock_name``: an organisation's user is named by both), so a
    prober sees the same salt on every attempt, and fails only at the proof check
    with the wrong-password error. The proof is computed either way, so timing does
    not tell the two apart either.
    """

    def __init__(
        self,
        verifier: ScramVerifier | None,
        *,
        username: str,
        channel_binding: bytes | None,
        mock_secret: bytes,
        doomed: bool = False,
        mock_name: str | None = None,
    ) -> None:
        self._username = username
        self._channel_binding = channel_binding
        # doomed: a role that exists but may not log in (disabled): its own salt, and
        # the same failure at the same point as a wrong password.
        self._doomed = verifier is None or doomed
        self._verifier = (_mock_verifier(mock_name or username, mock_secret)
                          if verifier is None else verifier)
        self._step = 0  # 1 once server_first was called, 2 once server_final was
        self._plus = False
        self._gs2_header = ""
        self._client_first_bare = ""
        self._server_first = ""
        self._nonce = ""

    def mechanisms(self) -> list[str]:
        """The SASL mechanisms to offer, preferred first (PLUS needs TLS)."""
        if self._channel_binding is None:
            return [SCRAM_SHA_256]
        return [SCRAM_SHA_256_PLUS, SCRAM_SHA_256]

    def server_first(self, mechanism: str, client_first: bytes) -> bytes:
        """Check SASLInitialResponse data; return the server-first-message."""
        if self._step != 0:
            raise RuntimeError("server_first called twice")
        self._step = 1
        if mechanism not in self.mechanisms():
            raise ProtocolViolation("client selected an invalid SASL authentication mechanism")
        self._plus = mechanism == SCRAM_SHA_256_PLUS
        text = _decode(client_first, "client-first-message")
        self._gs2_header, self._client_first_bare = self._split_gs2_header(text)
        client_nonce = _read_client_first_bare(self._client_first_bare)
        self._nonce = client_nonce + _server_nonce()
        v = self._verifier
        self._server_first = f"r={self._nonce},s={_b64(v.salt)},i={v.iterations}"
        return self._server_first.encode("ascii")

    def server_final(self, client_final: bytes) -> bytes:
        """Check SASLResponse data; return the server-final-message (``v=...``)."""
        if self._step != 1 or not self._server_first:
            raise RuntimeError("server_final called out of order")
        self._step = 2
        text = _decode(client_final, "client-final-message")
        cbind_b64, nonce, proof_b64 = _read_attributes(text, "crp", "client-final-message")
        self._check_channel_binding(cbind_b64)
        if not hmac.compare_digest(nonce.encode(), self._nonce.encode()):
            raise _malformed("Nonce does not match.", message="invalid SCRAM response")
        proof = _decode_proof(proof_b64)
        without_proof = text[: text.rindex(",p=")]
        auth_message = ",".join((self._client_first_bare, self._server_first, without_proof))
        auth_bytes = auth_message.encode()
        v = self._verifier
        client_key = _xor(proof, _hmac(v.stored_key, auth_bytes))
        proof_ok = hmac.compare_digest(_sha256(client_key), v.stored_key)
        if not proof_ok or self._doomed:
            raise _auth_failed(self._username)
        return b"v=" + _b64(_hmac(v.server_key, auth_bytes)).encode("ascii")

    def _split_gs2_header(self, text: str) -> tuple[str, str]:
        """Apply auth-scram.c's gs2 header rules; return (header, client-first-bare)."""
        parts = text.split(",", 2)
        if len(parts) != 3:
            raise _malformed("Comma expected in the gs2 header.")
        flag, authzid, bare = parts
        if flag in ("n", "y") and self._plus:
            raise _malformed(
                "The client selected SCRAM-SHA-256-PLUS, but the SCRAM message does not "
                "include channel binding data."
            )
        if flag == "y" and self._channel_binding is not None:
            raise PgError(
                SqlState.INVALID_AUTHORIZATION_SPECIFICATION,
                "SCRAM channel binding negotiation error",
                severity="FATAL",
                detail="The client supports SCRAM channel binding but thinks the server "
                "does not.  However, this server does support channel binding.",
            )
        if flag.startswith("p="):
            if not self._plus:
                raise _malformed(
                    "The client selected SCRAM-SHA-256 without channel binding, but the "
                    "SCRAM message includes channel binding data."
                )
            if flag != "p=" + _CBIND_TYPE:
                raise ProtocolViolation("unsupported SCRAM channel-binding type")
        elif flag not in ("n", "y"):
            raise _malformed("Unexpected channel-binding flag.")
        if authzid.startswith("a="):
            raise PgError(
                SqlState.FEATURE_NOT_SUPPORTED,
                "client uses authorization identity, but it is not supported",
                severity="FATAL",
            )
        if authzid:
            raise _malformed("Unexpected attribute in client-first-message.")
        return f"{flag},,", bare

    def _check_channel_binding(self, cbind_b64: str) -> None:
        """``c=`` must repeat the gs2 header, plus the certificate hash under PLUS."""
        cbind_data = self._channel_binding if self._plus and self._channel_binding else b""
        expected = _b64(self._gs2_header.encode("ascii") + cbind_data)
        if hmac.compare_digest(cbind_b64.encode(), expected.encode()):
            return
        if self._plus:
            raise PgError(
                SqlState.INVALID_AUTHORIZATION_SPECIFICATION,
                "SCRAM channel binding check failed",
                severity="FATAL",
            )
        raise ProtocolViolation(
            "unexpected SCRAM channel-binding attribute in client-final-message"
        )


def tls_server_end_point(cert_der: bytes) -> bytes:
    """RFC 5929 tls-server-end-point data: the certificate hashed with its signature hash.

    MD5 and SHA-1 are upgraded to SHA-256 as the RFC requires. Signatures without a
    separate hash (Ed25519, Ed448) have no defined binding, so they are refused, as
    PostgreSQL refuses them.
    """
    cert = x509.load_der_x509_certificate(cert_der)
    algorithm = cert.signature_hash_algorithm
    if algorithm is None:
        raise ValueError(
            "the certificate's signature algorithm has no hash; "
            "tls-server-end-point channel binding is undefined for it"
        )
    if isinstance(algorithm, (hashes.MD5, hashes.SHA1)):
        algorithm = hashes.SHA256()
    return cert.fingerprint(algorithm)


def md5_salt() -> bytes:
    """The 4 random bytes of an AuthenticationMD5Password request."""
    return secrets.token_bytes(4)


def check_md5_response(
    verifier: Md5Verifier | None, salt: bytes, response: bytes, *, username: str,
    doomed: bool = False,
) -> None:
    """Check a PasswordMessage (without its NUL) answering an md5 challenge.

    The client sends ``md5`` + md5hex(md5hex(password + user) + salt). For an
    unknown role the same work is done against a random digest, then it fails.
    """
    digest = verifier.digest if verifier is not None else secrets.token_hex(16)
    expected = b"md5" + _md5hex(digest.encode("ascii") + salt).encode("ascii")
    if not hmac.compare_digest(expected, response) or verifier is None or doomed:
        raise _auth_failed(username)


def check_cleartext(
    verifier: ScramVerifier | Md5Verifier | None, username: str, password: str,
    doomed: bool = False,
) -> None:
    """Check a cleartext password against either verifier kind.

    For SCRAM the derived ServerKey is compared, as PostgreSQL's
    scram_verify_plain_password does. An unknown role still pays for the PBKDF2.
    """
    if isinstance(verifier, ScramVerifier):
        _, server_key = _scram_keys(password, verifier.salt, verifier.iterations)
        ok = hmac.compare_digest(server_key, verifier.server_key)
    elif isinstance(verifier, Md5Verifier):
        computed = make_md5_verifier(username, password).encode()
        ok = hmac.compare_digest(computed, str(verifier).encode())
    else:
        _scram_keys(password, bytes(_SALT_LEN), DEFAULT_ITERATIONS)
        ok = False
    if not ok or doomed:
        raise _auth_failed(username)


def _auth_failed(username: str) -> PgError:
    """The one error for a wrong password and for an unknown role, whatever the method."""
    return PgError(
        SqlState.INVALID_PASSWORD,
        f'password authentication failed for user "{username}"',
        severity="FATAL",
    )


def _malformed(detail: str, *, message: str = "malformed SCRAM message") -> ProtocolViolation:
    """A ProtocolViolation worded like PostgreSQL's, with the specifics as detail."""
    error = ProtocolViolation(message)
    error.detail = detail
    return error


def _decode(data: bytes, what: str) -> str:
    """SCRAM messages are UTF-8 text without NULs; anything else is malformed."""
    if not data:
        raise _malformed(f"The {what} is empty.")
    if b"\x00" in data:
        raise _malformed(f"The {what} contains a NUL byte.")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise _malformed(f"The {what} is not valid UTF-8.") from None


def _read_attributes(text: str, names: str, what: str) -> list[str]:
    """Values of exactly the attributes ``names``, in order; extensions are refused."""
    parts = text.split(",")
    if len(parts) != len(names) or any(
        not part.startswith(name + "=") for part, name in zip(parts, names)
    ):
        expected = ",".join(f"{name}=..." for name in names)
        raise _malformed(f"The {what} does not have the form {expected}.")
    return [part[2:] for part in parts]


def _read_client_first_bare(bare: str) -> str:
    """Return the client nonce; the ``n=`` username is ignored (the startup user counts)."""
    if bare.startswith("m="):
        raise PgError(
            SqlState.FEATURE_NOT_SUPPORTED,
            "client requires an unsupported SCRAM extension",
            severity="FATAL",
        )
    _username, nonce = _read_attributes(bare, "nr", "client-first-message")
    if not nonce or not all("\x21" <= ch <= "\x7e" for ch in nonce):
        raise ProtocolViolation("non-printable characters in SCRAM nonce")
    return nonce


def _decode_proof(proof_b64: str) -> bytes:
    try:
        proof = _unb64(proof_b64)
    except ValueError:
        proof = b""
    if len(proof) != _KEY_LEN:
        raise _malformed("Malformed proof in client-final-message.")
    return proof


def _server_nonce() -> str:
    return _b64(os.urandom(_NONCE_LEN))


def _mock_verifier(username: str, mock_secret: bytes) -> ScramVerifier:
    """A verifier shaped like a real one that no proof can match.

    The salt is a function of the username so repeated probes see a stable salt (a
    fresh one per attempt would give away that the role does not exist); iterations
    are the default, as on most real roles. The keys are random.
    """
    label = b"duckgres-trio scram mock salt\x00" + _utf8(username)
    salt = hmac.digest(mock_secret, label, "sha256")[:_SALT_LEN]
    return ScramVerifier(DEFAULT_ITERATIONS, salt, os.urandom(_KEY_LEN), os.urandom(_KEY_LEN))


def _scram_keys(password: str, salt: bytes, iterations: int) -> tuple[bytes, bytes]:
    """(StoredKey, ServerKey) for a password, per RFC 5802 section 3."""
    salted = hashlib.pbkdf2_hmac("sha256", _saslprep(password), salt, iterations)
    return _sha256(_hmac(salted, b"Client Key")), _hmac(salted, b"Server Key")


def _saslprep(password: str) -> bytes:
    """The password bytes PostgreSQL hashes (pg_saslprep, src/common/saslprep.c).

    PostgreSQL never refuses a password over SASLprep: pure ASCII passes untouched
    (control characters included), and whenever SASLprep would fail (prohibited or
    unassigned characters, bad bidi, nothing left after mapping) the raw UTF-8 bytes
    are used instead. libpq does the same on the client, so this must match exactly.
    Undecodable bytes carried as surrogate escapes come back out as themselves.
    """
    raw = _utf8(password)
    if password.isascii():
        return raw
    prepared = _stringprep(password)
    return raw if prepared is None else prepared.encode("utf-8")


def _stringprep(text: str) -> str | None:
    """RFC 4013 SASLprep for stored strings, or None where PostgreSQL gives up.

    Two PostgreSQL quirks are kept on purpose: C.1.2 spaces are mapped before B.1
    (U+200B is in both, so it becomes a space), and the prohibition and bidi checks
    look at the mapped string before NFKC, not at the normalized output.
    """
    mapped = "".join(
        " " if stringprep.in_table_c12(ch) else ch
        for ch in text
        if stringprep.in_table_c12(ch) or not stringprep.in_table_b1(ch)
    )
    if not mapped or any(_prohibited(ch) for ch in mapped):
        return None
    if any(stringprep.in_table_d1(ch) for ch in mapped):
        if any(stringprep.in_table_d2(ch) for ch in mapped):
            return None
        if not (stringprep.in_table_d1(mapped[0]) and stringprep.in_table_d1(mapped[-1])):
            return None
    return unicodedata.normalize("NFKC", mapped)


def _prohibited(ch: str) -> bool:
    """RFC 4013 section 2.3 prohibited output, plus unassigned code points (A.1)."""
    return (
        stringprep.in_table_c12(ch)
        or stringprep.in_table_c21_c22(ch)
        or stringprep.in_table_c3(ch)
        or stringprep.in_table_c4(ch)
        or stringprep.in_table_c5(ch)
        or stringprep.in_table_c6(ch)
        or stringprep.in_table_c7(ch)
        or stringprep.in_table_c8(ch)
        or stringprep.in_table_c9(ch)
        or stringprep.in_table_a1(ch)
    )


def _utf8(text: str) -> bytes:
    """UTF-8, letting undecodable client bytes (surrogate escapes) through unchanged."""
    return text.encode("utf-8", "surrogateescape")


def _hmac(key: bytes, message: bytes) -> bytes:
    return hmac.digest(key, message, "sha256")


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _md5hex(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def _xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b, strict=True))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    """Strict base64 (no stray characters), raising ValueError."""
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise ValueError("invalid base64") from exc
