"""The lab's self-signed HTTPS certificate, made fresh at start with ``cryptography``."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import tempfile
from dataclasses import dataclass, replace
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
        cert_path: the CA file a client validates the lab with: this certificate, or the bundle of all the
            lab's certificates when a big lab has several (see :func:`make_certificates`).
        key_path: file holding ``key_pem``.
        chain_path: file holding ``cert_pem`` alone when ``cert_path`` is a bundle (None: ``cert_path``).
    """

    cert_pem: bytes
    key_pem: bytes
    der: bytes
    cert_path: Path
    key_path: Path
    chain_path: Path | None = None

    def server_context(self) -> ssl.SSLContext:
        """A TLS server context presenting this certificate."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.chain_path or self.cert_path, self.key_path)
        return context


def make_certificate(
    addresses: list[str],
    names: list[str] | None = None,
    directory: Path | None = None,
    valid_days: int = 30,
    common_name: str = "jcfix lab",
) -> LabCertificate:
    """A self-signed certificate for the lab's loopback ``addresses`` and host ``names``.

    Args:
        addresses: IP addresses put in the subjectAltName (the lab's listeners).
        names: DNS names put in the subjectAltName (default: ``localhost``).
        directory: where the PEM files go (default: a new temporary directory).
        valid_days: validity in days from now (default 30).
        common_name: the subject (and issuer) name; certificates in one CA file need distinct ones.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
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


# Addresses per certificate in a big lab. One certificate naming all 10,000 hosts of a big lab would be
# 60 KB, sent and parsed at every TLS handshake (milliseconds each, where a Windows host's is ~1 KB).
ADDRESSES_PER_CERTIFICATE = 256


def make_certificates(
    addresses: list[str], directory: Path | None = None, per_certificate: int | None = None
) -> dict[str, LabCertificate]:
    """Self-signed certificates for the lab's ``addresses``: each names up to ``per_certificate`` of them.

    Returns each address's certificate (``per_certificate`` default :data:`ADDRESSES_PER_CERTIFICATE`). With
    more than one, every certificate's ``cert_path`` is the bundle of all of them (``lab-ca.pem``), the one
    CA file an inventory names for the whole lab; each host presents its own group's certificate.
    """
    per_certificate = per_certificate or ADDRESSES_PER_CERTIFICATE
    unique = sorted(set(addresses), key=lambda a: ipaddress.ip_address(a))
    folder = directory or Path(tempfile.mkdtemp(prefix="jcfix-lab-tls-"))
    if len(unique) <= per_certificate:
        certificate = make_certificate(unique, directory=folder)
        return dict.fromkeys(unique, certificate)
    groups = [unique[i : i + per_certificate] for i in range(0, len(unique), per_certificate)]
    # Distinct subjects: a validating client finds a self-signed certificate's issuer in the bundle by name.
    made = [
        make_certificate(group, directory=folder / f"group-{n}", common_name=f"jcfix lab {n + 1}")
        for n, group in enumerate(groups)
    ]
    bundle = folder / "lab-ca.pem"
    bundle.write_bytes(b"".join(c.cert_pem for c in made))
    by_address: dict[str, LabCertificate] = {}
    for group, certificate in zip(groups, made, strict=True):
        shared = replace(certificate, cert_path=bundle, chain_path=certificate.cert_path)
        by_address.update(dict.fromkeys(group, shared))
    return by_address
