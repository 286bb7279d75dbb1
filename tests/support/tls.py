"""Throwaway TLS material for the loopback test sites, generated at run time.

One CA signs two leaf certificates: the *server* certificate used by the target site
(every test name and loopback address) and the *canary* certificate (``canary.test`` and
127.0.0.2 only). Keys are EC P-256, so generating everything takes milliseconds. Nothing
here is ever trusted outside the test run: files live in a pytest tmp dir.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import ipaddress
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SERVER_DNS_NAMES: tuple[str, ...] = (
    "app.test",
    "*.app.test",
    "other.test",
    "thirdparty.test",
    "canary.test",
    "localhost",
)
"""DNS names in the server certificate's SAN."""

SERVER_IPS: tuple[str, ...] = ("127.0.0.1", "127.0.0.2", "127.0.0.3")
"""IP addresses in the server certificate's SAN."""

CANARY_DNS_NAMES: tuple[str, ...] = ("canary.test",)
"""DNS names in the canary certificate's SAN."""

CANARY_IPS: tuple[str, ...] = ("127.0.0.2",)
"""IP addresses in the canary certificate's SAN."""

DEFAULT_ALPN: tuple[str, ...] = ("h2", "http/1.1")
"""ALPN protocols a server context offers unless told otherwise."""

_VALIDITY = datetime.timedelta(days=30)
_BACKDATE = datetime.timedelta(days=1)


@dataclass(frozen=True)
class TLSMaterial:
    """Paths to the generated PEM files, and the CA certificate as text.

    ``*_spki_sha256`` are base64 SHA-256 hashes of the leaf public keys, the format of
    Chromium's ``--ignore-certificate-errors-spki-list`` (handy when a browser must
    accept these certificates without installing the CA).
    """

    directory: Path
    ca_cert_path: Path
    ca_pem: str
    cert_path: Path
    key_path: Path
    canary_cert_path: Path
    canary_key_path: Path
    server_spki_sha256: str
    canary_spki_sha256: str

    def server_context(
        self, *, canary: bool = False, alpn: Sequence[str] = DEFAULT_ALPN
    ) -> ssl.SSLContext:
        """A server-side context with the server (or, with ``canary=True``, canary) cert."""
        if canary:
            return server_ssl_context(self.canary_cert_path, self.canary_key_path, alpn)
        return server_ssl_context(self.cert_path, self.key_path, alpn)

    def client_context(self) -> ssl.SSLContext:
        """A client-side context that trusts only the throwaway CA."""
        return client_ssl_context(self.ca_pem)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "SessionShot tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _make_ca() -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name("SessionShot throwaway test CA")
    now = _now()
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _make_leaf(
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    dns_names: Sequence[str],
    ips: Sequence[str],
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key()
    now = _now()
    san: list[x509.GeneralName] = [x509.DNSName(name) for name in dns_names]
    san += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(dns_names[0]))
        .issuer_name(ca_cert.subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return cert, key


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write(path: Path, data: bytes, mode: int = 0o644) -> Path:
    path.write_bytes(data)
    path.chmod(mode)
    return path


def spki_sha256(cert: x509.Certificate) -> str:
    """Base64 SHA-256 of ``cert``'s SubjectPublicKeyInfo (Chromium's SPKI-list format)."""
    der = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(der).digest()).decode("ascii")


def generate_tls_material(directory: Path) -> TLSMaterial:
    """Create a CA, a server cert and a canary cert as PEM files under ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_cert, ca_key = _make_ca()
    server_cert, server_key = _make_leaf(ca_cert, ca_key, SERVER_DNS_NAMES, SERVER_IPS)
    canary_cert, canary_key = _make_leaf(ca_cert, ca_key, CANARY_DNS_NAMES, CANARY_IPS)
    ca_pem = _cert_pem(ca_cert)
    # The CA key is not written anywhere: nothing may sign with it after this call.
    return TLSMaterial(
        directory=directory,
        ca_cert_path=_write(directory / "ca.pem", ca_pem),
        ca_pem=ca_pem.decode("ascii"),
        cert_path=_write(directory / "server.pem", _cert_pem(server_cert) + ca_pem),
        key_path=_write(directory / "server-key.pem", _key_pem(server_key), 0o600),
        canary_cert_path=_write(directory / "canary.pem", _cert_pem(canary_cert) + ca_pem),
        canary_key_path=_write(directory / "canary-key.pem", _key_pem(canary_key), 0o600),
        server_spki_sha256=spki_sha256(server_cert),
        canary_spki_sha256=spki_sha256(canary_cert),
    )


def server_ssl_context(
    cert_path: Path, key_path: Path, alpn: Sequence[str] = DEFAULT_ALPN
) -> ssl.SSLContext:
    """A TLS >= 1.2 server context for ``cert_path``/``key_path`` offering ``alpn``."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certfile=str(cert_path), keyfile=str(key_path))
    if alpn:
        context.set_alpn_protocols(list(alpn))
    return context


def client_ssl_context(ca_pem: str) -> ssl.SSLContext:
    """A client context that verifies peers against ``ca_pem`` only (hostname checked)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_verify_locations(cadata=ca_pem)
    return context
