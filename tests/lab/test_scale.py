"""One process serves 1,000 simulated hosts, each on its own loopback address, and every one answers."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from lab_client import FleetEndpoint, invoke, parse, script_of, wsman_for

from toolkit.lab.fleet import LabFleet
from toolkit.lab.hostmachine import built

HOSTS = 1000


@pytest.mark.slow
def test_thousand_hosts_start_and_answer() -> None:
    script = script_of("list_users")
    # How long starting takes is measured by benchmarks/lab_timings.py (listeners), not bounded here.
    # port=0: each of the 1,000 addresses gets an OS-chosen port, so a running 'jcfix lab up' never collides.
    with LabFleet.from_scenario(
        "random", hosts=HOSTS, seed=11, addressing="addresses", base_address="127.0.100.1", port=0
    ) as fleet:
        assert not any(built(host) for host in fleet.hosts)  # a machine is built on a host's first use only
        endpoints = fleet.endpoints
        assert len(endpoints) == HOSTS and len({e.address for e in endpoints}) == HOSTS
        assert all(e.address.startswith("127.0.") for e in endpoints)

        def list_users(endpoint: FleetEndpoint) -> tuple[str, str, int]:
            result = parse("list_users", invoke(wsman_for(endpoint), script))
            users = len(result.data.users) if result.data is not None else -1
            return endpoint.hostname, result.status, users

        with ThreadPoolExecutor(max_workers=32) as pool:
            answers = list(pool.map(list_users, endpoints))
        expected = {h.hostname: len(h.users) for h in fleet.hosts}
        assert [status for _, status, _ in answers] == ["ok"] * HOSTS
        assert {name: users for name, _, users in answers} == expected
        assert sum(listener.pipelines_run for listener in fleet.server.listeners) == HOSTS
