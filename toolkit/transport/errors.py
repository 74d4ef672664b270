"""Turns whatever pypsrp, requests or the OS raised into one :class:`TransportError` line.

Each line says in jcfix's words what happened, then keeps the host's (or the OS's) own short text after a
colon: never a library class name or a traceback (``--debug`` logs the full exception).
"""

from __future__ import annotations

import http.client
import re
import socket
import ssl
import xml.etree.ElementTree as ET
from collections.abc import Iterator

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
from urllib3.exceptions import InvalidChunkLength

from toolkit.models import TransportCategory
from toolkit.textvalues import printable
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
_SHORT = 240  # characters of the host's own text kept in a message
_SOAP = {"s": "http://www.w3.org/2003/05/soap-envelope"}
# requests/urllib3 prefix their text with the pool and wrap it in reprs of their own objects.
_SECONDS = re.compile(r"(?<=timeout=)\d+\.\d{4,}")
_NOISE = re.compile(r"HTTPS?ConnectionPool\([^)]*\):\s*|<[\w.]+ object at 0x[0-9a-f]+>,?\s*|\(Caused by \w+\(")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and what it wraps: causes, contexts, and the exceptions requests and urllib3 keep in args."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        inner = [a for a in (*current.args, getattr(current, "reason", None)) if isinstance(a, BaseException)]
        current = current.__cause__ or (inner[0] if inner else None) or current.__context__


def _root_cause(exc: BaseException) -> BaseException:
    *_, last = _chain(exc)
    return last


def _short(text: object) -> str:
    """One line of at most :data:`_SHORT` characters, control characters escaped."""
    line = " ".join(_NOISE.sub("", str(text)).split())
    line = _SECONDS.sub(lambda m: f"{float(m.group()):.3g}", line).strip(" '\"").rstrip(".")
    if line.count("(") < line.count(")") and line.endswith(")"):
        line = line[:-1].rstrip(".")  # the close of a wrapper stripped by _NOISE
    if len(line) > _SHORT:
        line = line[: _SHORT - 3].rstrip() + "..."
    return printable(line)


def _original(exc: BaseException) -> str:
    """The innermost text of ``exc``: the OS's error string, or the first words in its chain."""
    for inner in reversed(list(_chain(exc))):
        if isinstance(inner, InvalidChunkLength):
            return f"invalid chunk length {inner.length!r} after {inner.partial} bytes"
        if isinstance(inner, http.client.IncompleteRead):  # urllib3's own is a subclass (partial: a count)
            read = inner.partial if isinstance(inner.partial, int) else len(inner.partial)
            more = f", {inner.expected} more expected" if inner.expected is not None else ""
            return f"{read} bytes read{more}"
        if isinstance(inner, OSError) and inner.strerror:
            return _short(inner.strerror)
        words = [a for a in inner.args if isinstance(a, str) and a.strip()]
        if len(inner.args) > 1 and words:  # urllib3 keeps (connection, message): the message alone
            return _short(words[-1])
        if str(inner).strip():
            return _short(inner)
    return ""


def _said(words: str, original: str) -> str:
    """``words: original``, unless the original adds nothing to the words."""
    if not original or original.lower() in words.lower():
        return words
    return f"{words}: {original}"


def _subcode(fault: WSManFaultError) -> str:
    """The SOAP subcode (``w:TimedOut``) of the fault envelope pypsrp parsed ``fault`` from, if it kept it."""
    for inner in _chain(fault):
        if isinstance(inner, WinRMTransportError) and isinstance(inner.response_text, str):
            try:
                value = ET.fromstring(inner.response_text).find("s:Body/s:Fault/s:Code/s:Subcode/s:Value", _SOAP)
            except ET.ParseError:
                return ""
            return _short(value.text) if value is not None and value.text else ""
    return ""


def _http_status(code: int, body: object) -> TransportError:
    """A non-WSMan HTTP error answer: 502-504 come from a proxy or a listener that is not there yet."""
    text = re.sub(r"<[^>]*>", " ", body) if isinstance(body, str) else ""
    category: TransportCategory = "unreachable" if code in (502, 503, 504) else "protocol"
    words = f"HTTP {code} from the WinRM listener" + (" or a proxy" if category == "unreachable" else "")
    return TransportError(category, _said(words, _short(text)))


def _wsman_fault(exc: WSManFaultError) -> TransportError:
    if exc.code is None:  # an error page, not a fault envelope: pypsrp parsed nothing from it
        transport = next((e for e in _chain(exc) if isinstance(e, WinRMTransportError)), None)
        if transport is not None:
            return _http_status(int(transport.code), transport.response_text)
    code = " ".join(str(part) for part in (exc.code, _subcode(exc)) if part)
    words = _WSMAN_FAULTS.get(exc.code if isinstance(exc.code, int) else -1)
    head = f"WSMan fault {code}" + (f" ({words})" if words else "")
    host_text = exc.reason or exc.provider_fault or "the host sent no message"
    return TransportError("protocol", f"{head}: {_short(host_text)}")


def _connection(exc: BaseException) -> TransportError:
    """A connection that failed or broke: which way, in words, with the OS's own text."""
    chain = list(_chain(exc))
    original = _original(exc)
    if any(isinstance(e, socket.gaierror) for e in chain):
        return TransportError("unreachable", _said("name does not resolve", original))
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        return TransportError("unreachable", _said("connection refused (is WinRM listening on that port?)", original))
    if any(isinstance(e, (http.client.IncompleteRead, requests.exceptions.ChunkedEncodingError)) for e in chain):
        return TransportError("unreachable", _said("connection dropped mid-response (the host closed it)", original))
    if any(isinstance(e, http.client.RemoteDisconnected) for e in chain):  # before reset: it is a subclass
        words = "connection dropped before any response (the host closed it)"
        return TransportError("unreachable", _said(words, original))
    if any(isinstance(e, ConnectionResetError) for e in chain):
        return TransportError("unreachable", _said("the host reset the connection", original))
    return TransportError("unreachable", _said("connection failed", original))


def _requests_error(exc: requests.exceptions.RequestException) -> TransportError:
    if isinstance(exc, requests.exceptions.SSLError):
        cause = _root_cause(exc)
        if isinstance(cause, ssl.SSLCertVerificationError):
            return TransportError(
                "unreachable",
                f"the HTTPS certificate did not verify ({_short(cause.verify_message)}); "
                "give --ca-cert, or --no-cert-validation on a lab",
            )
        return TransportError("unreachable", _said("TLS failed", _original(exc)))
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return TransportError("unreachable", _said("connection timed out", _original(exc.args[0] if exc.args else exc)))
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return TransportError("unreachable", _said("the host stopped answering (read timeout)", _short(exc)))
    return _connection(exc)


def _classified(exc: BaseException) -> TransportError:
    """The category and the message (without the host name) for ``exc``."""
    deadline = next((e for e in _chain(exc) if isinstance(e, DeadlineExceeded)), None)
    if deadline is not None:
        return TransportError("unreachable", f"no answer within the per-host deadline ({deadline.deadline:g}s)")
    if isinstance(exc, AuthenticationError):
        return TransportError("auth_failed", _said("the host refused the credentials (HTTP 401)", _short(exc)))
    if isinstance(exc, WSManFaultError):
        return _wsman_fault(exc)
    if isinstance(exc, WinRMTransportError):
        return _http_status(int(exc.code), exc.response_text)
    if isinstance(exc, requests.exceptions.RequestException):
        return _requests_error(exc)
    if isinstance(exc, (InvalidRunspacePoolStateError, InvalidPipelineStateError, InvalidPSRPOperation)):
        return TransportError("protocol", _said("unexpected PowerShell remoting state", _short(exc)))
    if isinstance(exc, WinRMError):
        return TransportError("protocol", _said("WinRM error", _short(exc)))
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return _connection(exc)
    if isinstance(exc, OSError):
        return TransportError("unreachable", _said("network error", _original(exc)))
    return TransportError("protocol", _said("unexpected failure", _original(exc)))


class HostHung(TransportError):
    """``unreachable``: the host accepted the connection and a request, then stopped answering (a read timeout).

    Not retried by default (toolkit.livehost): a host that hung once hangs again, each try costing a read timeout.
    """


def classify(exc: BaseException, *, host: str) -> TransportError:
    """One :class:`TransportError` for ``exc``, worded for the admin; never includes a password.

    The message is ``host: what happened in jcfix's words: the host's own short text``, on one line.
    """
    if isinstance(exc, TransportError):
        return exc
    error = _classified(exc)
    hung = error.category == "unreachable" and any(
        isinstance(e, requests.exceptions.ReadTimeout) for e in _chain(exc)
    )
    return (HostHung if hung else TransportError)(error.category, f"{host}: {error.message}")
