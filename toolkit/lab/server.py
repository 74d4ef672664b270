"""The lab's WinRM listeners: WS-Management over HTTP(S) on loopback, one listener per simulated host.

One asyncio event loop serves every host of a fleet (1,000 hosts in one process), each on its own
loopback address at the WinRM port (``addressing="addresses"``: 127.0.x.y:5985, all of 127/8 is routed to
``lo`` on Linux; ``port=0``: a free port per address) or on its own port of 127.0.0.1 (``addressing="ports"``,
OS-chosen, so parallel test runs never collide). Each listener (:mod:`toolkit.lab.listener`) answers its
host's WinRM requests over :mod:`toolkit.lab.httpconn`.

Run standalone (``jcfix lab up`` and benchmarks do)::

    python -m toolkit.lab.server --scenario healthy --hosts 10 --inventory lab.yaml
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import ipaddress
import json
import logging
import resource
import signal
import socket
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from toolkit.lab.auth import ensure_ntlm_user_file
from toolkit.lab.certs import LabCertificate, make_certificates
from toolkit.lab.constants import ADDRESSING_MODES, AUTH_MODES, CONTROL_PATH, DEFAULT_BASE_ADDRESS
from toolkit.lab.host import LabHost
from toolkit.lab.httpconn import HttpConnection
from toolkit.lab.listener import Endpoint, LabListener, TraceEntry

# Kept importable from here: the lab's callers (tests, fleet) knew them as toolkit.lab.server names.
__all__ = [
    "CONTROL_PATH",
    "Endpoint",
    "HttpConnection",
    "LabListener",
    "LabServer",
    "TraceEntry",
    "allocate_addresses",
    "ensure_descriptors",
    "is_loopback",
    "main",
    "write_stats",
]


def is_loopback(address: str) -> bool:
    """Whether ``address`` is a loopback address (the lab listens nowhere else)."""
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


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
        tls: serve HTTPS with fresh self-signed certificates (default HTTP): one per 256 addresses, so a
            handshake carries a certificate of a real host's size; :attr:`certificate`'s ``cert_path`` is the
            CA file that validates every host.
        auth: ``basic`` or ``ntlm``.
        addressing: ``ports`` (127.0.0.1, OS-chosen ports; default) or ``addresses`` (one loopback address
            per host at port 5985/5986, or ``port``).
        base_address: the first address in ``addresses`` mode (default 127.0.10.1).
        port: the port in ``addresses`` mode (default 5985, or 5986 with ``tls``; 0: an OS-chosen free port per
            address, reported in :attr:`endpoints`).
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
            # None: the WinRM port; 0: any free port per address (tests beside a running 'jcfix lab up').
            port = (5986 if self.tls else 5985) if self.port is None else self.port
        else:
            addresses = ["127.0.0.1"] * len(self.hosts)
            port = 0
        if not all(is_loopback(a) for a in addresses):
            raise ValueError("the lab listens on loopback addresses only")
        # One certificate per 256 addresses, one TLS context per certificate (built once, shared by its hosts).
        certificates = make_certificates(addresses) if self.tls else {}
        distinct = {id(c): c for c in certificates.values()}
        contexts = {key: c.server_context() for key, c in distinct.items()}
        self.certificate = certificates[addresses[0]] if certificates else None
        loop = asyncio.get_running_loop()
        try:
            for host, address in zip(self.hosts, addresses, strict=True):
                certificate = certificates.get(address)
                if host.faults.refuse_connection:
                    bound_port = self._reserve(address, port)
                    endpoint = Endpoint(host.hostname, address, bound_port, scheme, self.auth)
                    self.listeners.append(self._listener(host, endpoint, certificate))
                    continue
                endpoint = Endpoint(host.hostname, address, port, scheme, self.auth)
                listener = self._listener(host, endpoint, certificate)
                server = await loop.create_server(
                    lambda listener=listener: HttpConnection(listener),
                    host=address,
                    port=port,
                    ssl=contexts[id(certificate)] if certificate is not None else None,
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

    def _listener(self, host: LabHost, endpoint: Endpoint, certificate: LabCertificate | None) -> LabListener:
        return LabListener(
            host, endpoint, certificate, username=self.username, password=self.password, trace=self.trace
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
    parser.add_argument(
        "--port", type=int, default=None, help="port in addresses mode (default 5985/5986; 0: any free port)"
    )
    parser.add_argument("--inventory", type=Path, default=None, help="write the inventory YAML here")
    parser.add_argument("--ready-file", type=Path, default=None, help="write 'ready' here once listening")
    parser.add_argument("--verbose", action="store_true", help="log each failure in detail")
    parser.add_argument(
        "--latency-ms", type=int, default=None, help="add this latency to every HTTP response of every host"
    )
    parser.add_argument(
        "--stats-file",
        type=Path,
        default=None,
        help="write request/pipeline/CPU totals here (JSON) on SIGUSR1 and at exit",
    )
    return parser.parse_args(argv)


def write_stats(server: LabServer, path: Path) -> None:
    """Write the lab's totals to ``path`` (JSON, atomically).

    ``hosts``, ``requests_served`` and ``pipelines_run`` over every listener, and this process's own cost so
    far: ``cpu_s`` (user + system seconds, getrusage) and ``max_rss_mb``, so a benchmark can report the lab's
    CPU per host beside the client's.
    """
    usage = resource.getrusage(resource.RUSAGE_SELF)
    stats = {
        "hosts": len(server.listeners),
        "requests_served": sum(listener.requests_served for listener in server.listeners),
        "pipelines_run": sum(listener.pipelines_run for listener in server.listeners),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
        "max_rss_mb": round(usage.ru_maxrss / 1024, 1),  # Linux reports kilobytes
    }
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(json.dumps(stats), encoding="utf-8")
    temporary.replace(path)


# Descriptors beyond one listening socket per host: client connections, files, the event loop's own.
SPARE_DESCRIPTORS = 1024


def ensure_descriptors(hosts: int) -> str | None:
    """Raise this process's open-file soft limit for ``hosts`` listeners (up to the hard limit).

    Returns None when there are enough, else the sentence saying what limits the lab.
    """
    needed = hosts + SPARE_DESCRIPTORS
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return None
    if hard != resource.RLIM_INFINITY and hard < needed:
        return f"{hosts} hosts need about {needed} open files; the limit is {hard} (ulimit -n)"
    resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
    return None


def freeze_startup_heap() -> int:
    """Move every object alive now (the fleet, its listeners, the modules) out of the cyclic GC's scans.

    They live as long as the lab process, yet every full collection would walk them again while the simulated
    machines grow. Garbage is collected first, so nothing collectable is frozen. Returns how many were frozen.
    """
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def main(argv: Sequence[str] | None = None) -> int:
    """Serve a fleet until SIGINT/SIGTERM; the process ``jcfix lab up`` starts."""
    from toolkit.lab.scenarios import ScenarioError, load_hosts

    args = _parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    try:
        hosts = load_hosts(args.scenario, count=args.hosts, seed=args.seed)
    except ScenarioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    shortage = ensure_descriptors(len(hosts))
    if shortage is not None:
        print(f"error: {shortage}", file=sys.stderr)
        return 1
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
    try:
        asyncio.run(_serve(server, hosts, args))
    except OSError as exc:
        print(f"error: cannot listen: {exc}", file=sys.stderr)
        return 1
    return 0


async def _serve(server: LabServer, hosts: Sequence[LabHost], args: argparse.Namespace) -> None:
    """Start ``server``, write its inventory and ready file, serve until SIGINT/SIGTERM, stop it."""
    from toolkit.lab.fleet import write_inventory

    started = time.monotonic()
    await server.start()
    if args.inventory is not None:
        write_inventory(args.inventory, server.endpoints, hosts, server.certificate)
    freeze_startup_heap()  # only in the lab's own process: tests start labs inside theirs
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


if __name__ == "__main__":
    sys.exit(main())
