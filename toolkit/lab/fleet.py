"""A lab fleet running in a background thread, for tests and in-process use, and the inventory file.

::

    with LabFleet.from_scenario("healthy", hosts=3, tls=False, auth="basic") as fleet:
        for hostname, address, port, scheme in fleet.endpoints:
            ...  # connect with LAB_USERNAME / LAB_PASSWORD

One event loop in one daemon thread serves every host; leaving the ``with`` block (or :meth:`stop`)
closes all listeners and connections and joins the thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from toolkit.lab.certs import LabCertificate
from toolkit.lab.constants import LAB_PASSWORD, LAB_USERNAME
from toolkit.lab.host import LabHost
from toolkit.lab.scenarios import load_hosts
from toolkit.lab.server import Endpoint, LabListener, LabServer


class FleetEndpoint(NamedTuple):
    """``(hostname, address, port, scheme)`` of one lab host."""

    hostname: str
    address: str
    port: int
    scheme: str


class LabFleet:
    """Simulated hosts served from a background thread.

    Args:
        hosts: the hosts to serve (their machines change as scripts run: toolkit.lab.hostmachine).
        tls: HTTPS with a fresh self-signed certificate (default HTTP).
        auth: ``basic`` (default) or ``ntlm``.
        addressing: ``ports`` (127.0.0.1 with OS-chosen ports; default, never collides) or ``addresses``
            (127.0.x.y from ``base_address``, at port 5985/5986 or ``port``; ``port=0``: OS-chosen ports).
        trace: record every WSMan exchange per host (``fleet.listener(name).trace``).
        start_timeout_s: how long :meth:`start` waits for the listeners, in seconds (default 120).
        kwargs: passed to :class:`toolkit.lab.server.LabServer` (``base_address``, ``port``).
    """

    def __init__(
        self,
        hosts: Sequence[LabHost],
        *,
        tls: bool = False,
        auth: str = "basic",
        addressing: str = "ports",
        trace: bool = False,
        start_timeout_s: float = 120.0,
        **kwargs: Any,
    ) -> None:
        self.server = LabServer(list(hosts), tls=tls, auth=auth, addressing=addressing, trace=trace, **kwargs)
        self.start_timeout_s = start_timeout_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @classmethod
    def from_scenario(cls, scenario: str | Path, hosts: int | None = None, seed: int = 1, **kwargs: Any) -> LabFleet:
        """A fleet of a built-in scenario name, ``random``, or a YAML file (see :func:`load_hosts`)."""
        return cls(load_hosts(scenario, count=hosts, seed=seed), **kwargs)

    # ---- lifecycle ------------------------------------------------------------------------------

    def start(self) -> LabFleet:
        """Start the loop thread and bind every listener; raises what binding raised."""
        if self._thread is not None:
            return self
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name="jcfix-lab", daemon=True)
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self.server.start(), loop)
        try:
            future.result(timeout=self.start_timeout_s)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Close every listener and connection, stop the loop and join its thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if loop.is_running():
            try:
                asyncio.run_coroutine_threadsafe(self.server.stop(), loop).result(timeout=30)
            finally:
                loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
        loop.close()
        self._loop = self._thread = None

    def __enter__(self) -> LabFleet:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ---- what tests look at ---------------------------------------------------------------------

    @property
    def endpoints(self) -> list[FleetEndpoint]:
        """``(hostname, address, port, scheme)`` per host, in host order."""
        return [FleetEndpoint(e.hostname, e.address, e.port, e.scheme) for e in self.server.endpoints]

    @property
    def hosts(self) -> list[LabHost]:
        return [listener.host for listener in self.server.listeners]

    @property
    def certificate(self) -> LabCertificate | None:
        """The HTTPS certificate (``cert_path`` is a CA file a client can validate against)."""
        return self.server.certificate

    @property
    def username(self) -> str:
        return self.server.username

    @property
    def password(self) -> str:
        return self.server.password

    def listener(self, hostname: str) -> LabListener:
        """The listener of ``hostname`` (its ``host`` state, ``trace``, ``requests_served``)."""
        for listener in self.server.listeners:
            if listener.host.hostname.lower() == hostname.lower():
                return listener
        raise KeyError(hostname)

    def endpoint(self, hostname: str) -> Endpoint:
        return self.listener(hostname).endpoint

    def inventory(self) -> dict[str, Any]:
        """The inventory mapping (see :func:`inventory_document`)."""
        return inventory_document(self.server.endpoints, self.hosts, self.certificate)


def inventory_document(
    endpoints: Sequence[Endpoint], hosts: Sequence[LabHost], certificate: LabCertificate | None = None
) -> dict[str, Any]:
    """``{hosts: {NAME: {address, port, scheme, auth, jc_users}}}``, plus ``ca_cert`` for HTTPS labs."""
    by_name = {h.hostname: h for h in hosts}
    document: dict[str, Any] = {"hosts": {}}
    for endpoint in endpoints:
        entry: dict[str, Any] = {
            "address": endpoint.address,
            "port": endpoint.port,
            "scheme": endpoint.scheme,
            "auth": endpoint.auth,
        }
        host = by_name.get(endpoint.hostname)
        if host is not None and host.jc_users:
            entry["jc_users"] = list(host.jc_users)
        document["hosts"][endpoint.hostname] = entry
    if certificate is not None:
        document["ca_cert"] = str(certificate.cert_path)
    return document


def write_inventory(
    path: Path, endpoints: Sequence[Endpoint], hosts: Sequence[LabHost], certificate: LabCertificate | None = None
) -> None:
    """Write the inventory YAML for a running lab (atomically: a reader never sees half a file)."""
    text = yaml.safe_dump(inventory_document(endpoints, hosts, certificate), sort_keys=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)


__all__ = ["LAB_PASSWORD", "LAB_USERNAME", "FleetEndpoint", "LabFleet", "inventory_document", "write_inventory"]
