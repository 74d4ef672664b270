"""The lab's WinRM listeners: WS-Management over HTTP(S) on loopback, one listener per simulated host.

One asyncio event loop serves every host of a fleet (1,000 hosts in one process), each on its own
loopback address at the WinRM port (``addressing="addresses"``: 127.0.x.y:5985, all of 127/8 is routed to
``lo`` on Linux) or on its own port of 127.0.0.1 (``addressing="ports"``, OS-chosen, so parallel test runs
never collide). Requests go through HTTP auth (Basic, or NTLM with WinRM message encryption), then the
WSMan action (Create, Command, Send, Receive, Signal, Delete, Get) against the host's shells
(:mod:`toolkit.lab.psrp`). Faults from each host's ``faults`` are applied here.

Run standalone (``jcfix lab up`` and benchmarks do)::

    python -m toolkit.lab.server --scenario healthy --hosts 10 --inventory lab.yaml
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import ipaddress
import json
import logging
import signal
import socket
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from toolkit.lab import events, wsman
from toolkit.lab.auth import AuthFailed, NegotiateSession, check_basic, ensure_ntlm_user_file
from toolkit.lab.certs import LabCertificate, make_certificate
from toolkit.lab.constants import ADDRESSING_MODES, AUTH_MODES, CONTROL_PATH, DEFAULT_BASE_ADDRESS
from toolkit.lab.host import LabHost
from toolkit.lab.psrp import ClientGone, LabShell, fragment_message_type

log = logging.getLogger(__name__)

MAX_HEADER_BYTES = 65536
MAX_BODY_BYTES = 8 * 1024 * 1024
REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed", 500: ""}


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


@dataclass
class HttpRequest:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes


def is_loopback(address: str) -> bool:
    """Whether ``address`` is a loopback address (the lab listens nowhere else)."""
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


class HttpConnection(asyncio.Protocol):
    """One client TCP connection: HTTP/1.1 keep-alive, requests answered one at a time in order."""

    def __init__(self, listener: LabListener) -> None:
        self.listener = listener
        self.transport: asyncio.Transport | None = None
        self.peer = ""
        self.negotiate: NegotiateSession | None = None
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._buffer = bytearray()
        self._head: tuple[str, str, dict[str, str], int] | None = None
        self._requests: asyncio.Queue[HttpRequest] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        raw = transport.get_extra_info("socket")
        if raw is not None:
            # Without it every small response waits for the peer's delayed ACK (about 40 ms).
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        peer = transport.get_extra_info("peername")
        self.peer = str(peer[0]) if peer else ""
        self.listener.connections.add(self)
        self._worker = asyncio.get_running_loop().create_task(self._serve())

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)
        self.listener.connections.discard(self)
        if self._worker is not None:
            self._worker.cancel()

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while True:
            if self._head is None:
                end = self._buffer.find(b"\r\n\r\n")
                if end < 0:
                    if len(self._buffer) > MAX_HEADER_BYTES:
                        self.abort()
                    return
                lines = bytes(self._buffer[:end]).decode("latin-1").split("\r\n")
                del self._buffer[: end + 4]
                parts = lines[0].split(" ")
                if len(parts) != 3:
                    self.abort()
                    return
                headers: dict[str, str] = {}
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                length_text = headers.get("content-length", "0") or "0"
                length = int(length_text) if length_text.isdigit() else -1
                if length < 0 or length > MAX_BODY_BYTES or "transfer-encoding" in headers:
                    self.abort()  # pypsrp always sends a Content-Length; nothing else is expected here
                    return
                self._head = (parts[0], parts[1], headers, length)
            method, target, headers, length = self._head
            if len(self._buffer) < length:
                return
            body = bytes(self._buffer[:length])
            del self._buffer[:length]
            self._head = None
            self._requests.put_nowait(HttpRequest(method, target, headers, body))

    async def _serve(self) -> None:
        while True:
            request = await self._requests.get()
            try:
                await self.listener.handle(self, request)
            except asyncio.CancelledError:
                raise
            except Exception:  # a lab bug must not kill the listener: log it and answer 500
                log.exception("lab listener %s failed on a request", self.listener.host.hostname)
                self.respond(500, {}, b"")

    def respond(self, status: int, headers: dict[str, str], body: bytes, *, partial: bool = False) -> None:
        """Write one response; ``partial`` sends half the body and closes (the drop fault)."""
        if self.transport is None or self.transport.is_closing():
            return
        lines = [f"HTTP/1.1 {status} {REASONS.get(status, '')}".rstrip(), "Server: Microsoft-HTTPAPI/2.0"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        lines.append(f"Content-Length: {len(body)}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if partial:
            self.transport.write(head + body[: len(body) // 2])
            self.transport.close()
            return
        self.transport.write(head + body)

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()


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
        """A lab event posted as JSON ``{"event": KIND, ...}``: ``sign_in``/``sign_out``/``reenrol_pin`` with
        ``user``, ``agent_sync``, ``on_battery`` with ``value`` (true: unplugged, the default), ``advance`` with
        ``seconds`` (time passes on the machine).

        Always Basic with the lab's credentials, whatever the WinRM auth of this listener: the channel
        exists only on loopback labs, to rehearse what happens between two jcfix runs.
        """
        if request.method != "POST" or not check_basic(request.headers.get("authorization", "")):
            connection.respond(401, {"WWW-Authenticate": 'Basic realm="jcfix-lab"'}, b"")
            return
        try:
            event = json.loads(request.body or b"{}")
            kind, user = event.get("event"), event.get("user")
            outcome: dict[str, Any] = {}
            if kind == "sign_in":
                outcome = {"tasks_run": events.sign_in(self.host, str(user))}
            elif kind == "sign_out":
                events.sign_out(self.host, str(user), bool(event.get("profile_lingers", False)))
            elif kind == "reenrol_pin":
                events.reenrol_pin(self.host, str(user))
            elif kind == "on_battery":
                events.on_battery(self.host, bool(event.get("value", True)))
            elif kind == "agent_sync":
                outcome = {"provisioned": events.agent_sync(self.host)}
            elif kind == "advance":
                outcome = {"tasks_deleted": events.advance(self.host, float(event.get("seconds", 0)))}
            else:
                raise ValueError(f"unknown event {kind!r}")
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

    async def _dispatch(self, connection: HttpConnection, request: wsman.WSManRequest) -> tuple[str, str, TraceEntry]:
        action = request.action
        body = request.body
        ns = wsman.NS
        if action == wsman.ACTION_CREATE:
            return self._create(connection, request)
        if action == wsman.ACTION_GET:
            if request.resource_uri.rstrip("/") == wsman.CONFIG_URI:
                return wsman.config_body(500), f"{wsman.TRANSFER}/GetResponse", TraceEntry("Get")
            shell = self._shell(request)
            return self._describe(connection, shell, created=False), f"{wsman.TRANSFER}/GetResponse", TraceEntry("Get")
        if action == wsman.ACTION_DELETE:
            shell = self._shell(request)
            shell.close()
            del self.shells[shell.shell_id.upper()]
            return "", f"{wsman.TRANSFER}/DeleteResponse", TraceEntry("Delete")
        if action == wsman.ACTION_COMMAND:
            shell = self._shell(request)
            command_line = body if body is not None else None
            arguments = command_line.findtext("rsp:Arguments", "", ns) if command_line is not None else ""
            given_id = command_line.get("CommandId") if command_line is not None else None
            command_id = shell.create_pipeline(given_id, _b64(arguments))
            response = f"<rsp:CommandResponse><rsp:CommandId>{command_id}</rsp:CommandId></rsp:CommandResponse>"
            return response, f"{wsman.SHELL}/CommandResponse", TraceEntry("Command", command_id=command_id)
        if action == wsman.ACTION_SEND:
            shell = self._shell(request)
            for stream in body.findall("rsp:Stream", ns) if body is not None else []:
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
        if action == wsman.ACTION_RECEIVE:
            shell = self._shell(request)
            desired = body.find("rsp:DesiredStream", ns) if body is not None else None
            command_id = desired.get("CommandId") if desired is not None else None
            streams, done = await shell.receive(
                command_id, request.operation_timeout_s, request.max_envelope_size, connection.closed
            )
            types = tuple(t for s in streams if (t := fragment_message_type(base64.b64decode(s))) is not None)
            entry = TraceEntry("Receive", types, command_id.upper() if command_id else None, done)
            return wsman.receive_body(streams, command_id, done), f"{wsman.SHELL}/ReceiveResponse", entry
        if action == wsman.ACTION_SIGNAL:
            shell = self._shell(request)
            command_id = body.get("CommandId", "") if body is not None else ""
            code = body.findtext("rsp:Code", "", ns) if body is not None else ""
            shell.signal(command_id, code)
            return "<rsp:SignalResponse/>", f"{wsman.SHELL}/SignalResponse", TraceEntry("Signal", command_id=command_id)
        raise wsman.WSManFault(
            wsman.CODE_NOT_SUPPORTED,
            "a:ActionNotSupported",
            f"The lab host {self.host.hostname} does not support the WS-Management action {action}.",
            sender=True,
        )

    def _create(self, connection: HttpConnection, request: wsman.WSManRequest) -> tuple[str, str, TraceEntry]:
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


def allocate_addresses(count: int, base_address: str = DEFAULT_BASE_ADDRESS) -> list[str]:
    """``count`` consecutive loopback addresses from ``base_address``, skipping x.x.x.0 and x.x.x.255."""
    current = ipaddress.IPv4Address(base_address)
    addresses: list[str] = []
    while len(addresses) < count:
        if not current.is_loopback:
            raise ValueError(f"{count} addresses from {base_address} leave 127.0.0.0/8")
        if current.packed[-1] not in (0, 255):
            addresses.append(str(current))
        current += 1
    return addresses


@dataclass
class LabServer:
    """Every listener of a fleet, in the running event loop.

    Attributes:
        hosts: the simulated hosts, in inventory order.
        tls: serve HTTPS with a fresh self-signed certificate (default HTTP).
        auth: ``basic`` or ``ntlm``.
        addressing: ``ports`` (127.0.0.1, OS-chosen ports; default) or ``addresses`` (one loopback address
            per host at port 5985/5986, or ``port``).
        base_address: the first address in ``addresses`` mode (default 127.0.10.1).
        port: the port in ``addresses`` mode (default 5985, or 5986 with ``tls``).
        username: the accepted user name (default the lab login).
        password: the accepted password (default the lab password).
        trace: record every WSMan exchange per listener (see :class:`TraceEntry`).
    """

    hosts: Sequence[LabHost]
    tls: bool = False
    auth: str = "basic"
    addressing: str = "ports"
    base_address: str = DEFAULT_BASE_ADDRESS
    port: int | None = None
    username: str = "labadmin"
    password: str = "Lab-Passw0rd!"
    trace: bool = False
    listeners: list[LabListener] = field(default_factory=list)
    certificate: LabCertificate | None = None
    _servers: list[asyncio.AbstractServer] = field(default_factory=list)
    _reserved: list[socket.socket] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.auth not in AUTH_MODES:
            raise ValueError(f"auth must be one of {', '.join(AUTH_MODES)}, not {self.auth!r}")
        if self.addressing not in ADDRESSING_MODES:
            raise ValueError(f"addressing must be one of {', '.join(ADDRESSING_MODES)}, not {self.addressing!r}")
        names = [h.hostname.lower() for h in self.hosts]
        if len(set(names)) != len(names):
            raise ValueError("two lab hosts have the same hostname")

    @property
    def endpoints(self) -> list[Endpoint]:
        return [listener.endpoint for listener in self.listeners]

    async def start(self) -> list[Endpoint]:
        """Bind every listener; returns the endpoints in host order."""
        if self.auth == "ntlm":
            ensure_ntlm_user_file(self.username, self.password)
        scheme = "https" if self.tls else "http"
        if self.addressing == "addresses":
            addresses = allocate_addresses(len(self.hosts), self.base_address)
            port = self.port or (5986 if self.tls else 5985)
        else:
            addresses = ["127.0.0.1"] * len(self.hosts)
            port = 0
        if not all(is_loopback(a) for a in addresses):
            raise ValueError("the lab listens on loopback addresses only")
        if self.tls:
            self.certificate = make_certificate(sorted(set(addresses)))
        context = self.certificate.server_context() if self.certificate is not None else None
        loop = asyncio.get_running_loop()
        try:
            for host, address in zip(self.hosts, addresses, strict=True):
                if host.faults.refuse_connection:
                    bound_port = self._reserve(address, port)
                    endpoint = Endpoint(host.hostname, address, bound_port, scheme, self.auth)
                    self.listeners.append(self._listener(host, endpoint))
                    continue
                listener = self._listener(host, Endpoint(host.hostname, address, port, scheme, self.auth))
                server = await loop.create_server(
                    lambda listener=listener: HttpConnection(listener),  # type: ignore[misc]
                    host=address,
                    port=port,
                    ssl=context,
                    reuse_address=True,
                    backlog=64,
                )
                bound_port = server.sockets[0].getsockname()[1]
                listener.endpoint = Endpoint(host.hostname, address, bound_port, scheme, self.auth)
                self._servers.append(server)
                self.listeners.append(listener)
        except OSError:
            await self.stop()
            raise
        return self.endpoints

    def _listener(self, host: LabHost, endpoint: Endpoint) -> LabListener:
        return LabListener(
            host, endpoint, self.certificate, username=self.username, password=self.password, trace=self.trace
        )

    def _reserve(self, address: str, port: int) -> int:
        """Hold a port without listening on it: connections to it are refused, and nobody else takes it."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, port))
        self._reserved.append(sock)
        return int(sock.getsockname()[1])

    async def stop(self) -> None:
        """Close every listener and every open connection."""
        for server in self._servers:
            server.close()
        for listener in self.listeners:
            for connection in list(listener.connections):
                connection.abort()
            for shell in listener.shells.values():
                shell.close()
        for server in self._servers:
            await server.wait_closed()
        for sock in self._reserved:
            sock.close()
        self._servers.clear()
        self._reserved.clear()


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m toolkit.lab.server", description=__doc__.split("\n")[0])
    parser.add_argument("--scenario", default="healthy", help="built-in scenario name or YAML file (default healthy)")
    parser.add_argument("--hosts", type=int, default=None, help="number of hosts (default: the scenario's own)")
    parser.add_argument("--seed", type=int, default=1, help="seed for the random scenario (default 1)")
    parser.add_argument("--tls", action="store_true", help="serve HTTPS with a self-signed certificate")
    parser.add_argument("--auth", choices=AUTH_MODES, default="basic", help="basic (default) or ntlm")
    parser.add_argument("--addressing", choices=ADDRESSING_MODES, default="addresses", help="default addresses")
    parser.add_argument("--base-address", default=DEFAULT_BASE_ADDRESS, help="first loopback address")
    parser.add_argument("--port", type=int, default=None, help="port in addresses mode (default 5985/5986)")
    parser.add_argument("--inventory", type=Path, default=None, help="write the inventory YAML here")
    parser.add_argument("--ready-file", type=Path, default=None, help="write 'ready' here once listening")
    parser.add_argument("--verbose", action="store_true", help="log each failure in detail")
    parser.add_argument(
        "--latency-ms", type=int, default=None, help="add this latency to every HTTP response of every host"
    )
    parser.add_argument(
        "--stats-file", type=Path, default=None, help="write request/pipeline totals here (JSON) on SIGUSR1 and exit"
    )
    return parser.parse_args(argv)


def write_stats(server: LabServer, path: Path) -> None:
    """Write ``{hosts, requests_served, pipelines_run}`` totals over every listener to ``path`` (atomically)."""
    stats = {
        "hosts": len(server.listeners),
        "requests_served": sum(listener.requests_served for listener in server.listeners),
        "pipelines_run": sum(listener.pipelines_run for listener in server.listeners),
    }
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(json.dumps(stats), encoding="utf-8")
    temporary.replace(path)


def main(argv: Sequence[str] | None = None) -> int:
    """Serve a fleet until SIGINT/SIGTERM; the process ``jcfix lab up`` starts."""
    from toolkit.lab.fleet import write_inventory
    from toolkit.lab.scenarios import ScenarioError, load_hosts

    args = _parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    try:
        hosts = load_hosts(args.scenario, count=args.hosts, seed=args.seed)
    except ScenarioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.latency_ms is not None:
        for host in hosts:
            host.faults.latency_ms = args.latency_ms
    server = LabServer(
        hosts,
        tls=args.tls,
        auth=args.auth,
        addressing=args.addressing,
        base_address=args.base_address,
        port=args.port,
    )

    async def serve() -> None:
        started = time.monotonic()
        await server.start()
        if args.inventory is not None:
            write_inventory(args.inventory, server.endpoints, hosts, server.certificate)
        if args.ready_file is not None:
            args.ready_file.write_text("ready\n", encoding="utf-8")
        print(f"lab: {len(hosts)} hosts listening in {time.monotonic() - started:.1f}s", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        if args.stats_file is not None:
            # Benchmarks count HTTP requests on the lab side, where no client can miscount them.
            loop.add_signal_handler(signal.SIGUSR1, write_stats, server, args.stats_file)
        await stop.wait()
        await server.stop()
        if args.stats_file is not None:
            write_stats(server, args.stats_file)

    try:
        asyncio.run(serve())
    except OSError as exc:
        print(f"error: cannot listen: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
