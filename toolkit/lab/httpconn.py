"""The lab's HTTP/1.1 server side: one client connection, its requests parsed and answered in order.

What a WinRM listener needs of HTTP and no more: keep-alive, ``Content-Length`` bodies (pypsrp always sends
one), one response per request. The requests themselves are answered by a :class:`RequestHandler` (a
:class:`toolkit.lab.listener.LabListener`).
"""

from __future__ import annotations

import asyncio
import logging
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from toolkit.lab.auth import NegotiateSession
    from toolkit.lab.host import LabHost

log = logging.getLogger(__name__)

MAX_HEADER_BYTES = 65536
MAX_BODY_BYTES = 8 * 1024 * 1024
REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed", 500: ""}


@dataclass
class HttpRequest:
    """One HTTP request as received: method, target, lower-cased header names, body."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes


class RequestHandler(Protocol):
    """What answers a connection's requests (a lab host's WinRM listener)."""

    host: LabHost
    connections: set[HttpConnection]

    async def handle(self, connection: HttpConnection, request: HttpRequest) -> None:
        """Answer one request (through ``connection.respond``)."""


class HttpConnection(asyncio.Protocol):
    """One client TCP connection: HTTP/1.1 keep-alive, requests answered one at a time in order."""

    def __init__(self, listener: RequestHandler) -> None:
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
