"""Issue 15, "a fault and abuse suite that stays": a 100-host fleet where every fault kind the lab can inject
(toolkit/lab/host.py LabFaults) sits on its own host among healthy ones. Every host is accounted for exactly
once with the right class, the healthy hosts' findings equal a clean run's, and the whole run ends within one
per-host deadline (plus a generous margin for starting and a loaded machine: a bound against hangs, not a
timing assertion).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from hardening_support import base_environment, run_process

from toolkit.lab.fleet import LabFleet, write_inventory
from toolkit.lab.host import LabFaults
from toolkit.lab.scenarios import load_hosts

HOSTS = 100
DEADLINE_S = 12.0
# Seconds past one deadline the whole run may take: interpreter start, 100 hosts in forks, a loaded machine.
MARGIN_S = 40.0
TIMEOUTS = ["--deadline", str(DEADLINE_S), "--operation-timeout", "1", "--read-timeout", "3", "--connect-timeout", "2"]

# Each fault kind's host in the built-in "faults" scenario and the class jcfix must give it:
# (status, error category or None), in the categories toolkit/models.py defines (TransportCategory, ErrorCategory).
EXPECTED: dict[str, tuple[str, str | None]] = {
    "fault-latency": ("ok", None),
    "fault-reject-auth": ("failed", "auth_failed"),
    "fault-http-500": ("failed", "protocol"),
    "fault-drop": ("unreachable", "unreachable"),
    "fault-refused": ("unreachable", "unreachable"),
    "fault-hang": ("unreachable", "unreachable"),
    "fault-slow-script": ("ok", None),
    "fault-error-records": ("failed", "script_failed"),
    "fault-result-empty": ("failed", "invalid_result"),
    "fault-result-two": ("failed", "invalid_result"),
    "fault-result-not-json": ("failed", "invalid_result"),
    "fault-result-wrong-shape": ("failed", "invalid_result"),
    "fault-terminating-error": ("failed", "script_failed"),
}


def test_every_fault_kind_is_in_the_mix() -> None:
    """A fault kind added to the lab must get a host (and an expected class) here."""
    faulty = {h.hostname for h in load_hosts("faults") if h.faults != LabFaults()}
    assert faulty == set(EXPECTED)
    kinds = set(LabFaults.model_fields)
    covered = {k for h in load_hosts("faults") for k in kinds if getattr(h.faults, k) != getattr(LabFaults(), k)}
    assert covered == kinds


def _fleet_hosts() -> list[Any]:
    scenario = load_hosts("faults")
    healthy = next(h for h in scenario if h.hostname == "fault-none")
    faulty = [h for h in scenario if h.hostname in EXPECTED]
    clean = [healthy.model_copy(deep=True, update={"hostname": f"ok-{i:03d}"}) for i in range(HOSTS - len(faulty))]
    # Faulty hosts spread through the fleet, not bunched at one end.
    hosts = list(clean)
    for n, host in enumerate(faulty):
        hosts.insert(n * (HOSTS // len(faulty)), host)
    return hosts


def _diagnose(tmp_path: Path, hosts: list[Any], name: str, workers: int = 1) -> tuple[int, dict[str, Any], float]:
    with LabFleet(hosts) as fleet:
        inventory = tmp_path / f"{name}.yaml"
        write_inventory(inventory, fleet.server.endpoints, fleet.hosts, fleet.certificate)
        env = base_environment(tmp_path)
        env["JCFIX_HISTORY"] = str(tmp_path / f"{name}.sqlite3")
        env["JCFIX_WORKERS"] = str(workers)
        started = time.monotonic()
        outcome = run_process(["diagnose", "-i", str(inventory), "-o", "json", "--forks", "50", *TIMEOUTS], env, 120)
        elapsed = time.monotonic() - started
    assert outcome.stdout.strip(), outcome.stderr[-2000:]
    return outcome.code, json.loads(outcome.stdout), elapsed


# workers 2: the same fleet with its hosts in two forked worker processes (toolkit.workers), as large runs are.
@pytest.mark.parametrize("workers", [1, 2])
def test_fault_mix_fleet_accounts_every_host_once(tmp_path: Path, workers: int) -> None:
    hosts = _fleet_hosts()
    assert len(hosts) == HOSTS
    _, clean, _ = _diagnose(tmp_path, [h for h in hosts if h.hostname == "ok-000"], "clean")
    (clean_host,) = clean["hosts"]
    code, mixed, elapsed = _diagnose(tmp_path, hosts, "mixed", workers)

    names = [h["host"] for h in mixed["hosts"]]
    assert sorted(names) == sorted(h.hostname for h in hosts)  # every host once: none lost, none twice
    by_name = {h["host"]: h for h in mixed["hosts"]}
    classes = {name: (by_name[name]["status"], (by_name[name].get("error") or {}).get("category")) for name in EXPECTED}
    assert classes == EXPECTED
    for name in EXPECTED:
        # A host whose read failed is never judged, not even from the output it wrote before failing.
        if EXPECTED[name][0] != "ok":
            assert by_name[name]["findings"] == [], name
    healthy = [h for h in mixed["hosts"] if h["host"].startswith("ok-")]
    assert len(healthy) == HOSTS - len(EXPECTED)
    for host in healthy:
        assert host["status"] == clean_host["status"], host
        assert host["findings"] == clean_host["findings"], host["host"]
    assert code == 4  # unreachable hosts rank first (toolkit/exitcodes.py)
    assert elapsed < DEADLINE_S + MARGIN_S
