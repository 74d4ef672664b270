"""Issue 14: a failed host releases its sockets at once. Before, 33 sockets stayed open after 60 failed hosts
until a garbage collection: urllib3 2's PoolManager.clear() only forgets its pools, and a failed request's
response (kept by the exception's traceback, a reference cycle) kept its pool and socket alive.

The lab runs in this process, so only the client's sockets are counted: the sockets among /proc/self/fd whose
TCP peer is one of the lab's listeners.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator

import pytest

from toolkit.actions import get_action
from toolkit.lab.fleet import LAB_PASSWORD, LAB_USERNAME, LabFleet
from toolkit.lab.host import LabFaults
from toolkit.lab.scenarios import load_hosts
from toolkit.livehost import LiveChannel
from toolkit.models import Step
from toolkit.secrets import Secret
from toolkit.settings import ConnectionSettings
from toolkit.transport.base import HostTarget

PER_FAULT = 8
# Fault kinds that fail a host after its connection is made (a refused connection never opens a socket).
FAULTS = [{"reject_auth": True}, {"http_500": True}, {"drop_connection": True}]
HUNG = 1  # hosts that accept and never answer: each costs a read timeout, so only one
ALLOWED_LEFT = 2  # a small bound: not one per failed host


def client_sockets(ports: set[int]) -> int:
    """Sockets of this process connected to one of ``ports`` (IPv4 or IPv6 loopback)."""
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            link = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue  # closed meanwhile
        if link.startswith("socket:["):
            inodes.add(link[len("socket:[") : -1])
    count = 0
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        with open(table) as rows:
            for row in rows.read().splitlines()[1:]:
                fields = row.split()
                if fields[9] in inodes and int(fields[2].rsplit(":", 1)[1], 16) in ports:
                    count += 1
    return count


@pytest.fixture
def gc_off() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@pytest.mark.parametrize(("auth", "tls"), [("basic", False), ("ntlm", True)])
def test_failed_hosts_leave_no_sockets_open(auth: str, tls: bool, gc_off: None) -> None:
    healthy = next(h for h in load_hosts("faults") if h.hostname == "fault-none")
    hosts = [
        healthy.model_copy(deep=True, update={"hostname": f"bad-{n}-{i}", "faults": LabFaults(**fault)})
        for n, fault in enumerate(FAULTS)
        for i in range(PER_FAULT)
    ]
    hosts += [
        healthy.model_copy(deep=True, update={"hostname": f"hung-{i}", "faults": LabFaults(hang=True)})
        for i in range(HUNG)
    ]
    settings = ConnectionSettings(
        user=LAB_USERNAME,
        password=Secret(LAB_PASSWORD),
        scheme="https" if tls else "http",
        auth=auth,
        cert_validation=False,
        connect_timeout=2,
        read_timeout=3,
        operation_timeout=1,
        deadline=6,
    )
    action = get_action("collect_facts")
    step = Step(action, action.render({}))
    with LabFleet(hosts, auth=auth, tls=tls) as fleet:
        ports = {e.port for e in fleet.endpoints}
        statuses = []
        for endpoint in fleet.endpoints:
            target = HostTarget(endpoint.hostname, address=endpoint.address, port=endpoint.port)
            with LiveChannel(target, settings) as channel:  # as the runner works a host: run, then close
                statuses.append(channel.run(step).status)
        assert set(statuses) == {"failed"}, statuses
        assert client_sockets(ports) <= ALLOWED_LEFT
