"""The lab's self-signed HTTPS certificate, made fresh at start with ``cryptography``."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class LabCertificate:
    """A certificate, its key, and where both were written (PEM) for ``ssl`` to load.

    Attributes:
        cert_pem: the certificate, PEM (give it to a client as ``--ca-cert`` to validate the lab).
        key_pem: the private key, PEM (unencrypted; it protects nothing outside loopback).
        der: the certificate, DER (for NTLM channel binding).
        cert_path: file holding ``cert_pem``.
        key_path: file holding ``key_pem``.
    """

    cert_pem: bytes
    key_pem: bytes
    der: bytes
    cert_path: Path
    key_path: Path

    def server_context(self) -> ssl.SSLContext:
        """A TLS server context presenting this certificate."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_path, self.key_path)
        return context


def make_certificate(
    addresses: list[str], names: list[str] | None = None, directory: Path | None = None, valid_days: int = 30
) -> LabCertificate:
    """A self-signed certificate for the lab's loopback ``addresses`` and host ``names``.

    Args:
        addresses: IP addresses put in the subjectAltName (the lab's listeners).
        names: DNS names put in the subjectAltName (default: ``localhost``).
        directory: where the PEM files go (default: a new temporary directory).
        valid_days: validity in days from now (default 30).
    """
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "jcfix lab")])
    now = datetime.datetime.now(datetime.timezone.utc)
    alt_names: list[x509.GeneralName] = [x509.DNSName(n) for n in (names or ["localhost"])]
    alt_names += [x509.IPAddress(ipaddress.ip_address(a)) for a in sorted(set(addresses))]
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=valid_days))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = certificate.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    folder = directory or Path(tempfile.mkdtemp(prefix="jcfix-lab-tls-"))
    folder.mkdir(parents=True, exist_ok=True)
    cert_path = folder / "lab-cert.pem"
    key_path = folder / "lab-key.pem"
    cert_path.write_bytes(cert_pem)
    key_path.write_bytes(key_pem)
    key_path.chmod(0o600)
    return LabCertificate(cert_pem, key_pem, certificate.public_bytes(serialization.Encoding.DER), cert_path, key_path)
