"""The WinRM service of one simulated host: HTTP auth, the lab's event channel, and the WSMan actions.

Requests go through HTTP auth (Basic, or NTLM with WinRM message encryption), then the WSMan action
(Create, Command, Send, Receive, Signal, Delete, Get) against the host's shells (:mod:`toolkit.lab.psrp`).
Faults from each host's ``faults`` are applied here. :mod:`toolkit.lab.server` binds one listener per host.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from toolkit.lab import events, wsman
from toolkit.lab.auth import AuthFailed, NegotiateSession, check_basic
from toolkit.lab.certs import LabCertificate
from toolkit.lab.constants import CONTROL_PATH
from toolkit.lab.host import LabHost
from toolkit.lab.httpconn import HttpConnection, HttpRequest
from toolkit.lab.psrp import ClientGone, LabShell, fragment_message_type

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Endpoint:
    """Where a simulated host listens.

    Attributes:
        hostname: the simulated host's name (what the inventory calls it).
        address: the loopback address to connect to.
        port: the TCP port.
        scheme: ``http`` or ``https``.
        auth: ``basic`` or ``ntlm`` (a client may use ``negotiate``; it falls back to NTLM).
    """

    hostname: str
    address: str
    port: int
    scheme: str
    auth: str


@dataclass(frozen=True)
class TraceEntry:
    """One WSMan exchange as a listener saw it (kept when tracing is on, for fidelity tests).

    Attributes:
        action: the request's short action (``Create``, ``Receive``...).
        message_types: PSRP message types of the response's fragments, in order (start fragments only).
        command_id: the CommandId a Receive/Command/Signal targeted (None for the pool).
        command_done: whether a Receive reported CommandState Done.
        fault_code: the WSManFault code when the answer was a fault.
    """

    action: str
    message_types: tuple[int, ...] = ()
    command_id: str | None = None
    command_done: bool = False
    fault_code: int | None = None


Answer = tuple[str, str, TraceEntry]  # a WSMan answer: (body, response action, what the trace keeps)


class LabListener:
    """The WinRM service of one simulated host.

    Args:
        host: the host's scenario description (its machine: toolkit.lab.hostmachine).
        endpoint: where it listens.
        certificate: the TLS certificate when ``endpoint.scheme`` is https (also used for channel binding).
        username: the accepted user (default the lab login); password likewise.
        trace: keep a :class:`TraceEntry` per WSMan exchange in :attr:`trace`.
    """

    def __init__(
        self,
        host: LabHost,
        endpoint: Endpoint,
        certificate: LabCertificate | None = None,
        *,
        username: str,
        password: str,
        trace: bool = False,
    ) -> None:
        self.host = host
        self.endpoint = endpoint
        self.certificate = certificate
        self.username = username
        self.password = password
        self.shells: dict[str, LabShell] = {}
        self.connections: set[HttpConnection] = set()
        self.trace: list[TraceEntry] | None = [] if trace else None
        self.requests_served = 0
        self.pipelines_run = 0

    # ---- HTTP and auth --------------------------------------------------------------------------

    def _challenge_headers(self) -> dict[str, str]:
        if self.endpoint.auth == "basic":
            return {"WWW-Authenticate": 'Basic realm="WSMAN"'}
        return {"WWW-Authenticate": "Negotiate"}

    def _authenticate(self, connection: HttpConnection, request: HttpRequest) -> tuple[bool, dict[str, str]]:
        """Whether the request may proceed, and headers to add to the response either way."""
        if self.host.faults.reject_auth:
            return False, self._challenge_headers()
        authorization = request.headers.get("authorization", "")
        if self.endpoint.auth == "basic":
            return check_basic(authorization, self.username, self.password), self._challenge_headers()
        scheme, _, token_text = authorization.partition(" ")
        if scheme.lower() not in ("negotiate", "ntlm", "kerberos"):
            # Connection-based auth: once a connection has authenticated, its requests carry no header.
            authorized = connection.negotiate is not None and connection.negotiate.complete
            return authorized, {} if authorized else self._challenge_headers()
        try:
            token = base64.b64decode(token_text.strip(), validate=True)
        except binascii.Error:
            return False, self._challenge_headers()
        if connection.negotiate is None or connection.negotiate.complete:
            der = self.certificate.der if self.certificate is not None else None
            connection.negotiate = NegotiateSession(der)
        try:
            reply = connection.negotiate.step(token)
        except AuthFailed as exc:
            log.info("lab host %s refused NTLM auth: %s", self.host.hostname, exc)
            connection.negotiate = None
            return False, self._challenge_headers()
        headers = {"WWW-Authenticate": f"Negotiate {base64.b64encode(reply).decode()}"} if reply else {}
        return connection.negotiate.complete, headers or self._challenge_headers()

    async def handle(self, connection: HttpConnection, request: HttpRequest) -> None:
        """Answer one HTTP request (applying this host's faults)."""
        if request.target.split("?", 1)[0].rstrip("/").lower() == CONTROL_PATH:
            # The lab's own channel (jcfix lab sign-in): outside WinRM, its faults and its request count.
            self._control(connection, request)
            return
        faults = self.host.faults
        self.requests_served += 1
        if faults.hang:
            await connection.closed  # accepted, read, never answered
            return
        if faults.latency_ms > 0:
            await asyncio.sleep(faults.latency_ms / 1000)
        if request.target.split("?", 1)[0].rstrip("/").lower() != "/wsman":
            connection.respond(404, {}, b"")
            return
        if request.method != "POST":
            connection.respond(405, {"Allow": "POST"}, b"")
            return
        authorized, auth_headers = self._authenticate(connection, request)
        if not authorized:
            connection.respond(401, auth_headers, b"")
            return
        encrypted = request.headers.get("content-type", "").lower().startswith("multipart/encrypted")
        clear = request.body
        if encrypted:
            if connection.negotiate is None or not connection.negotiate.complete:
                connection.respond(401, self._challenge_headers(), b"")
                return
            try:
                clear = connection.negotiate.unwrap(request.body)
            except AuthFailed as exc:
                log.info("lab host %s could not unseal a message: %s", self.host.hostname, exc)
                connection.respond(400, {}, b"")
                return
        if not clear:
            # The empty POST pypsrp sends to set up the security context before encrypting.
            connection.respond(200, auth_headers, b"")
            return
        status, xml = await self._soap(connection, clear)
        if status == 0:
            return  # the client left while a Receive waited
        headers = dict(auth_headers)
        body = xml
        if encrypted and connection.negotiate is not None:
            headers["Content-Type"], body = connection.negotiate.wrap(xml)
        else:
            headers["Content-Type"] = "application/soap+xml;charset=UTF-8"
        connection.respond(status, headers, body, partial=faults.drop_connection)

    def _control(self, connection: HttpConnection, request: HttpRequest) -> None:
        """A lab event posted as JSON ``{"event": KIND, ...}`` (see :func:`toolkit.lab.events.apply`).

        Always Basic with the lab's credentials, whatever the WinRM auth of this listener: the channel
        exists only on loopback labs, to rehearse what happens between two jcfix runs.
        """
        if request.method != "POST" or not check_basic(request.headers.get("authorization", "")):
            connection.respond(401, {"WWW-Authenticate": 'Basic realm="jcfix-lab"'}, b"")
            return
        try:
            outcome = events.apply(self.host, json.loads(request.body or b"{}"))
        except (ValueError, KeyError, AttributeError) as exc:
            connection.respond(400, {"Content-Type": "application/json"}, json.dumps({"error": str(exc)}).encode())
            return
        body = json.dumps({"host": self.host.hostname, **outcome}).encode()
        connection.respond(200, {"Content-Type": "application/json"}, body)

    # ---- WSMan ----------------------------------------------------------------------------------

    async def _soap(self, connection: HttpConnection, data: bytes) -> tuple[int, bytes]:
        """``(HTTP status, envelope)`` for one SOAP request; status 0 when no answer is due."""
        relates_to = ""
        try:
            request = wsman.parse_request(data)
            relates_to = request.message_id
            if self.host.faults.http_500:
                raise wsman.WSManFault(
                    wsman.CODE_INTERNAL,
                    "w:InternalError",
                    f"The WS-Management service on {self.host.hostname} encountered an internal error "
                    "(lab fault http_500).",
                )
            body, action, entry = await self._dispatch(connection, request)
        except ClientGone:
            return 0, b""
        except wsman.WSManFault as fault:
            if self.trace is not None:
                self.trace.append(TraceEntry(action="Fault", fault_code=fault.code))
            return 500, wsman.fault_envelope(fault, relates_to, self.host.hostname)
        if self.trace is not None:
            self.trace.append(entry)
        return 200, wsman.envelope(action, relates_to, body)

    def _shell(self, request: wsman.WSManRequest) -> LabShell:
        shell_id = request.selectors.get("ShellId", "")
        shell = self.shells.get(shell_id.upper())
        if shell is None:
            raise wsman.shell_not_found(shell_id)
        return shell

    async def _dispatch(self, connection: HttpConnection, request: wsman.WSManRequest) -> Answer:
        handlers: dict[str, Callable[[HttpConnection, wsman.WSManRequest], Awaitable[Answer]]] = {
            wsman.ACTION_CREATE: self._create,
            wsman.ACTION_GET: self._get,
            wsman.ACTION_DELETE: self._delete,
            wsman.ACTION_COMMAND: self._command,
            wsman.ACTION_SEND: self._send,
            wsman.ACTION_RECEIVE: self._receive,
            wsman.ACTION_SIGNAL: self._signal,
        }
        handler = handlers.get(request.action)
        if handler is None:
            raise wsman.WSManFault(
                wsman.CODE_NOT_SUPPORTED,
                "a:ActionNotSupported",
                f"The lab host {self.host.hostname} does not support the WS-Management action {request.action}.",
                sender=True,
            )
        return await handler(connection, request)

    async def _get(self, connection: HttpConnection, request: wsman.WSManRequest) -> Answer:
        if request.resource_uri.rstrip("/") == wsman.CONFIG_URI:
            return wsman.config_body(500), f"{wsman.TRANSFER}/GetResponse", TraceEntry("Get")
        shell = self._shell(request)
        return self._describe(connection, shell, created=False), f"{wsman.TRANSFER}/GetResponse", TraceEntry("Get")

    async def _delete(self, connection: HttpConnection, request: wsman.WSManRequest) -> Answer:
        shell = self._shell(request)
        shell.close()
        del self.shells[shell.shell_id.upper()]
        return "", f"{wsman.TRANSFER}/DeleteResponse", TraceEntry("Delete")

    async def _command(self, connection: HttpConnection, request: wsman.WSManRequest) -> Answer:
        shell = self._shell(request)
        command_line = request.body
        arguments = command_line.findtext("rsp:Arguments", "", wsman.NS) if command_line is not None else ""
        given_id = command_line.get("CommandId") if command_line is not None else None
        command_id = shell.create_pipeline(given_id, _b64(arguments))
        response = f"<rsp:CommandResponse><rsp:CommandId>{command_id}</rsp:CommandId></rsp:CommandResponse>"
        return response, f"{wsman.SHELL}/CommandResponse", TraceEntry("Command", command_id=command_id)

    async def _send(self, connection: HttpConnection, request: wsman.WSManRequest) -> Answer:
        shell = self._shell(request)
        body = request.body
        for stream in body.findall("rsp:Stream", wsman.NS) if body is not None else []:
            command_id = stream.get("CommandId")
            pipeline_id = uuid.UUID(command_id) if command_id else None
            if pipeline_id is not None and pipeline_id not in shell.channels:
                raise wsman.WSManFault(
                    wsman.CODE_SHELL_NOT_FOUND,
                    "w:InvalidSelectors",
                    f"The Send for CommandId {command_id} failed: no such command in this shell.",
                    sender=True,
                )
            shell.feed(_b64(stream.text or ""), pipeline_id)
        return "<rsp:SendResponse/>", f"{wsman.SHELL}/SendResponse", TraceEntry("Send")

    async def _receive(self, connection: HttpConnection, request: wsman.WSManRequest) -> Answer:
        shell = self._shell(request)
        desired = request.body.find("rsp:DesiredStream", wsman.NS) if request.body is not None else None
        command_id = desired.get("CommandId") if desired is not None else None
        streams, done = await shell.receive(
            command_id, request.operation_timeout_s, request.max_envelope_size, connection.closed
        )
        types = tuple(t for s in streams if (t := fragment_message_type(base64.b64decode(s))) is not None)
        entry = TraceEntry("Receive", types, command_id.upper() if command_id else None, done)
        return wsman.receive_body(streams, command_id, done), f"{wsman.SHELL}/ReceiveResponse", entry

    async def _signal(self, connection: HttpConnection, request: wsman.WSManRequest) -> Answer:
        shell = self._shell(request)
        body = request.body
        command_id = body.get("CommandId", "") if body is not None else ""
        code = body.findtext("rsp:Code", "", wsman.NS) if body is not None else ""
        shell.signal(command_id, code)
        return "<rsp:SignalResponse/>", f"{wsman.SHELL}/SignalResponse", TraceEntry("Signal", command_id=command_id)

    async def _create(self, connection: HttpConnection, request: wsman.WSManRequest) -> Answer:
        ns = wsman.NS
        shell_xml = request.body
        if not request.resource_uri.startswith("http://schemas.microsoft.com/powershell/") or shell_xml is None:
            raise wsman.WSManFault(
                wsman.CODE_NOT_SUPPORTED,
                "w:ActionNotSupported",
                f"The lab host {self.host.hostname} only hosts PowerShell shells, not {request.resource_uri}.",
                sender=True,
            )
        shell_id = (shell_xml.get("ShellId") or "").upper() or _new_id()
        creation = shell_xml.findtext("pwsh:creationXml", "", ns)
        shell = LabShell(
            self.host,
            shell_id,
            request.resource_uri,
            wsman.parse_duration(shell_xml.findtext("rsp:IdleTimeOut", "", ns), 7200.0),
            on_pipeline_done=self._count_pipeline,
        )
        self.shells[shell_id] = shell
        shell.feed(_b64(creation))
        body = self._describe(connection, shell, created=True)
        return body, f"{wsman.TRANSFER}/CreateResponse", TraceEntry("Create")

    def _count_pipeline(self, action: str | None) -> None:
        self.pipelines_run += 1

    def _describe(self, connection: HttpConnection, shell: LabShell, *, created: bool) -> str:
        endpoint = self.endpoint
        return wsman.shell_body(
            shell_id=shell.shell_id,
            resource_uri=shell.resource_uri,
            owner=f"{self.host.hostname.upper()}\\{self.username}",
            client_ip=connection.peer,
            idle_timeout_s=shell.idle_timeout_s,
            input_streams="stdin pr",
            output_streams="stdout",
            address=f"{endpoint.scheme}://{endpoint.address}:{endpoint.port}/wsman",
            created=created,
        )


def _b64(text: str) -> bytes:
    try:
        return base64.b64decode(text.strip(), validate=True)
    except binascii.Error:
        fault = wsman.WSManFault(wsman.CODE_INTERNAL, "w:SchemaValidationError", "invalid base64 data", sender=True)
        raise fault from None


def _new_id() -> str:
    return str(uuid.uuid4()).upper()
