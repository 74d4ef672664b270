"""A loopback HTTP server that misbehaves in one chosen way, for failure-message tests.

Each mode answers every request the same way: ``reset`` (TCP RST after the request), ``close`` (closes without
a response), ``drop`` (headers and half the announced body, then closes), ``drop_chunked`` (a chunked body
cut off), ``hang`` (reads the request and never answers), ``status`` (a given HTTP status and body).
"""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager


def _read_request(conn: socket.socket) -> None:
    """Read one request (headers and a Content-Length body), so the client is never reset while sending."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return
        body += chunk


def _respond(conn: socket.socket, mode: str, status: int, body: bytes, stop: threading.Event) -> None:
    _read_request(conn)
    if mode == "reset":
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    elif mode == "drop":
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml\r\nContent-Length: 4000\r\n\r\n<s:Env")
    elif mode == "drop_chunked":
        conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n<s:Envelope xmln")
    elif mode == "hang":
        stop.wait(30)
    elif mode == "status":
        conn.sendall(
            f"HTTP/1.1 {status} Whatever\r\nContent-Type: application/soap+xml;charset=UTF-8\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body
        )
    conn.close()


@contextmanager
def bad_server(mode: str, *, status: int = 500, body: bytes = b"") -> Iterator[int]:
    """Serve ``mode`` on 127.0.0.1 (an OS-chosen port, yielded) until the block ends."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            conn.settimeout(10)
            threading.Thread(target=_respond, args=(conn, mode, status, body, stop), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        listener.close()


def refused_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
