"""TLS for client connections: the certificate (generated if missing) and the context."""

from __future__ import annotations

import contextvars
import datetime
import ipaddress
import logging
import os
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

log = logging.getLogger(__name__)

#: The server name (SNI) the client asked for in this task's TLS handshake. The
#: context's SNI callback runs inside ``do_handshake``, synchronously in the connection's
#: own task, and trio gives every task its own copy of the context: no connection sees
#: another's name, and nothing reaches into trio's SSLStream.
_SERVER_NAME: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "duckgres_tls_server_name", default=None)


def ensure_certificate(cert_path: Path, key_path: Path) -> None:
    """Generate a self-signed ECDSA P-256 certificate if neither file exists.

    Clients connect with sslmode=require (encrypted, not verified) out of the box;
    production deployments configure a real certificate. If only one of the two files
    exists something is wrong, and overwriting it could destroy a real key: refuse.
    """
    if cert_path.exists() and key_path.exists():
        return
    if cert_path.exists() or key_path.exists():
        raise FileNotFoundError(
            f"TLS: {cert_path} and {key_path} must both exist (one is missing)"
        )
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, "localhost"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "duckgres-trio"),
    ])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(
            x509.SubjectAlternativeName([
                x509.DNSName("localhost"),
                x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                x509.IPAddress(ipaddress.ip_address("::1")),
            ]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    key_path.parent.mkdir(parents=True, exist_ok=True)
    cert_path.parent.mkdir(parents=True, exist_ok=True)
    key_bytes = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # Create the key file 0600 from the start: never readable by others, even briefly.
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key_bytes)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    log.warning("generated a self-signed TLS certificate at %s (valid 1 year)", cert_path)


def check_key_permissions(key_path: Path) -> None:
    """Refuse a private key others can read, as PostgreSQL does: 0600 or less when this
    user owns it, 0640 or less when root does (a group shared with a key manager)."""
    st = os.stat(key_path)
    allowed = 0o640 if st.st_uid == 0 else 0o600
    if st.st_mode & 0o777 & ~allowed:
        raise PermissionError(
            f"TLS: private key file {key_path} has group or world access; it must have "
            f"permissions u=rw (0600) or less if owned by this user, or u=rw,g=r (0640) "
            f"or less if owned by root")


def server_context(cert_path: Path, key_path: Path) -> ssl.SSLContext:
    """A server-side context: TLS 1.2 minimum, no client certificates."""
    check_key_permissions(key_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_path, key_path)
    context.sni_callback = _remember_server_name
    return context


def _remember_server_name(ssl_object, server_name: str | None, context) -> None:
    _SERVER_NAME.set(server_name)
    return None  # continue the handshake with this context


def requested_server_name() -> str | None:
    """The SNI name of the current task's TLS handshake (None: none was sent)."""
    return _SERVER_NAME.get()


def certificate_der(cert_path: Path) -> bytes:
    """The DER bytes of the (first) certificate in a PEM file, for channel binding."""
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    return cert.public_bytes(serialization.Encoding.DER)
