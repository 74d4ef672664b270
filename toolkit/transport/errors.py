"""Turns whatever pypsrp, requests or the OS raised into one :class:`TransportError` line."""

from __future__ import annotations

import socket
import ssl

import requests
from pypsrp.exceptions import (
    AuthenticationError,
    InvalidPipelineStateError,
    InvalidPSRPOperation,
    InvalidRunspacePoolStateError,
    WinRMError,
    WinRMTransportError,
    WSManFaultError,
)

from toolkit.transport.base import TransportError


class DeadlineExceeded(Exception):
    """The per-host deadline passed; raised by the deadline-aware HTTP adapter before a request."""

    def __init__(self, deadline: float) -> None:
        super().__init__(f"per-host deadline of {deadline:g}s exceeded")
        self.deadline = deadline


# WSMan fault codes an admin meets, in words (MS-WSMV; the codes are the HRESULTs Windows sends).
_WSMAN_FAULTS = {
    2150858770: "the WinRM service refused the shell (too many shells or the endpoint is disabled)",
    2150858793: "the operation timed out on the host",
    2150859046: "the PowerShell endpoint (configuration) does not exist on the host",
    5: "access denied: the user is not allowed to use WinRM/PowerShell remoting on this host",
}


def _root_cause(exc: BaseException) -> BaseException:
    seen = set()
    while exc.__cause__ is not None or exc.__context__ is not None:
        if id(exc) in seen:
            break
        seen.add(id(exc))
        nxt = exc.__cause__ or exc.__context__
        assert nxt is not None
        exc = nxt
    return exc


def classify(exc: BaseException, *, host: str) -> TransportError:
    """One :class:`TransportError` for ``exc``, worded for the admin; never includes a password."""
    if isinstance(exc, TransportError):
        return exc
    if isinstance(exc, DeadlineExceeded):
        return TransportError("unreachable", f"{host}: no answer within the per-host deadline ({exc.deadline:g}s)")
    if isinstance(exc, AuthenticationError):
        return TransportError("auth_failed", f"{host}: the host refused the credentials (HTTP 401)")
    if isinstance(exc, WSManFaultError):
        words = _WSMAN_FAULTS.get(exc.code or 0)
        detail = words or (exc.reason or exc.message or "WSMan fault").strip().splitlines()[0]
        return TransportError("protocol", f"{host}: WSMan fault {exc.code}: {detail}")
    if isinstance(exc, WinRMTransportError):
        if exc.code in (502, 503, 504):
            return TransportError("unreachable", f"{host}: HTTP {exc.code} from the WinRM listener or a proxy")
        return TransportError("protocol", f"{host}: HTTP {exc.code} from the WinRM listener")
    if isinstance(exc, requests.exceptions.SSLError):
        cause = _root_cause(exc)
        if isinstance(cause, ssl.SSLCertVerificationError):
            return TransportError(
                "unreachable",
                f"{host}: the HTTPS certificate did not verify ({cause.verify_message}); "
                "give --ca-cert, or --no-cert-validation on a lab",
            )
        return TransportError("unreachable", f"{host}: TLS failed: {cause}")
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return TransportError("unreachable", f"{host}: connection timed out")
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return TransportError("unreachable", f"{host}: the host stopped answering (read timeout)")
    if isinstance(exc, requests.exceptions.ConnectionError):
        cause = _root_cause(exc)
        if isinstance(cause, socket.gaierror):
            return TransportError("unreachable", f"{host}: name does not resolve")
        if isinstance(cause, ConnectionRefusedError):
            return TransportError("unreachable", f"{host}: connection refused (is WinRM listening on that port?)")
        return TransportError("unreachable", f"{host}: connection dropped ({type(cause).__name__})")
    if isinstance(exc, (InvalidRunspacePoolStateError, InvalidPipelineStateError, InvalidPSRPOperation)):
        return TransportError("protocol", f"{host}: unexpected PowerShell remoting state: {exc}")
    if isinstance(exc, WinRMError):
        return TransportError("protocol", f"{host}: {exc}")
    if isinstance(exc, (ConnectionError, TimeoutError, OSError)):
        return TransportError("unreachable", f"{host}: {type(exc).__name__}: {exc}")
    return TransportError("protocol", f"{host}: {type(exc).__name__}: {exc}")
