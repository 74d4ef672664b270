"""Authentication for the lab listener: Basic, and NTLM/Negotiate with WinRM message encryption.

The lab has one fixed, public login (:data:`LAB_USERNAME` / :data:`LAB_PASSWORD`): it protects nothing,
it only lets the client's real auth code run. NTLM uses pyspnego's acceptor, which reads the valid
credentials from the file named by the ``NTLM_USER_FILE`` environment variable (process-wide);
:func:`ensure_ntlm_user_file` writes that file and points the variable at it.

Message encryption is the ``multipart/encrypted`` framing WinRM uses over HTTP: each body is a MIME
part announcing the clear length, then a part with a 4-byte little-endian header length, the NTLM
signature header and the sealed bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import struct
import tempfile
from pathlib import Path

import spnego
from spnego._ntlm_raw.crypto import lmowfv1, ntowfv1
from spnego.channel_bindings import GssChannelBindings

from toolkit.lab.constants import LAB_PASSWORD, LAB_USERNAME

SPNEGO_ENCRYPTED = "application/HTTP-SPNEGO-session-encrypted"
BOUNDARY = "Encrypted Boundary"
_PART_SEPARATOR = f"--{BOUNDARY}\r\n".encode()
_END_MARKER = f"--{BOUNDARY}--\r\n".encode()
_OCTET_HEADER = b"\tContent-Type: application/octet-stream\r\n"
_LENGTH = re.compile(rb"Length=(\d+)")


class AuthFailed(Exception):
    """The client's credentials or token were refused (the listener answers 401)."""


def check_basic(authorization: str, username: str = LAB_USERNAME, password: str = LAB_PASSWORD) -> bool:
    """Whether an ``Authorization: Basic ...`` header carries ``username``/``password`` (name without case)."""
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return False
    user, sep, given = decoded.partition(":")
    # Windows accepts DOMAIN\user and user@domain forms for a local account; the lab takes the bare name.
    user = user.rsplit("\\", 1)[-1].split("@", 1)[0]
    return bool(sep) and user.lower() == username.lower() and hmac.compare_digest(given, password)


def ntlm_user_line(username: str = LAB_USERNAME, password: str = LAB_PASSWORD) -> str:
    """The credential-file line for ``username``: smbpasswd form, its LM and NT hashes computed here once.

    pyspnego also reads ``:USER:PASSWORD`` lines, but then derives both hashes again at every sign-in
    (the LM hash through pure-Python DES: milliseconds per host); Windows keeps the hashes, not the password.
    """
    lm_hash = base64.b16encode(lmowfv1(password)).decode()
    nt_hash = base64.b16encode(ntowfv1(password)).decode()
    return f"{username}:1000:{lm_hash}:{nt_hash}:[U]:LCT-00000000"


def ensure_ntlm_user_file(username: str = LAB_USERNAME, password: str = LAB_PASSWORD) -> Path:
    """Make pyspnego's NTLM acceptor accept the lab login; returns the credential file.

    An existing ``NTLM_USER_FILE`` that already lists the user is kept (another fleet in this process
    set it); otherwise a private file is written and the variable points at it.
    """
    current = os.environ.get("NTLM_USER_FILE")
    line = ntlm_user_line(username, password)
    if current and Path(current).is_file() and line in Path(current).read_text(encoding="utf-8").splitlines():
        return Path(current)
    handle, name = tempfile.mkstemp(prefix="jcfix-lab-ntlm-", suffix=".txt")
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        stream.write(line + "\n")
    os.environ["NTLM_USER_FILE"] = name
    return Path(name)


def channel_bindings_for(certificate_der: bytes) -> GssChannelBindings:
    """The tls-server-end-point binding (RFC 5929) a client derives from our certificate (SHA-256)."""
    digest = hashlib.sha256(certificate_der).digest()
    return GssChannelBindings(application_data=b"tls-server-end-point:" + digest)


class NegotiateSession:
    """The NTLM (or SPNEGO-wrapped NTLM) context of one TCP connection, and its message sealing.

    Args:
        certificate_der: our TLS certificate when the connection is HTTPS, to check channel binding.
    """

    def __init__(self, certificate_der: bytes | None = None) -> None:
        bindings = channel_bindings_for(certificate_der) if certificate_der else None
        self._context = spnego.server(protocol="negotiate", channel_bindings=bindings)

    @property
    def complete(self) -> bool:
        return bool(self._context.complete)

    def step(self, token: bytes) -> bytes | None:
        """Process one client token; returns the token to send back (None when there is none)."""
        try:
            return self._context.step(token)
        except spnego.exceptions.SpnegoError as exc:
            raise AuthFailed(str(exc)) from None

    def unwrap(self, body: bytes) -> bytes:
        """The clear SOAP text of a ``multipart/encrypted`` request body."""
        parts = [p for p in body.split(_PART_SEPARATOR) if p]
        if len(parts) < 2:
            raise AuthFailed("encrypted body without its two MIME parts")
        clear = b""
        for header_part, data_part in zip(parts[0::2], parts[1::2], strict=False):
            length_match = _LENGTH.search(header_part)
            if data_part.endswith(_END_MARKER):
                data_part = data_part[: -len(_END_MARKER)]
            if data_part.startswith(_OCTET_HEADER):
                data_part = data_part[len(_OCTET_HEADER) :]
            if len(data_part) < 4:
                raise AuthFailed("encrypted part too short")
            (signature_length,) = struct.unpack("<i", data_part[:4])
            signature = data_part[4 : 4 + signature_length]
            try:
                chunk = self._context.unwrap_winrm(signature, data_part[4 + signature_length :])
            except spnego.exceptions.SpnegoError as exc:
                raise AuthFailed(f"cannot unseal the message: {exc}") from None
            if length_match is not None and int(length_match[1]) != len(chunk):
                raise AuthFailed("unsealed length differs from the announced length")
            clear += chunk
        return clear

    def wrap(self, clear: bytes) -> tuple[str, bytes]:
        """``(content type, body)`` of a sealed response carrying ``clear``."""
        result = self._context.wrap_winrm(clear)
        head = (
            f"--{BOUNDARY}\r\n\tContent-Type: {SPNEGO_ENCRYPTED}\r\n"
            f"\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length={len(clear) + result.padding_length}"
            f"\r\n--{BOUNDARY}\r\n"
        ).encode()
        body = head + _OCTET_HEADER + struct.pack("<i", len(result.header)) + result.header + result.data + _END_MARKER
        content_type = f'multipart/encrypted;protocol="{SPNEGO_ENCRYPTED}";boundary="{BOUNDARY}"'
        return content_type, body
