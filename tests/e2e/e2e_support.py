"""Helpers for the end-to-end tests: a lab fleet in this process, the real ``jcfix`` CLI in a subprocess.

The CLI talks to the fleet over real WinRM on loopback, exactly as it would to Windows hosts.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from subprocess_env import environ_without_jcfix

from toolkit.cli.lab import post_event
from toolkit.lab import readback
from toolkit.lab.fleet import LAB_PASSWORD, LAB_USERNAME, LabFleet, write_inventory
from toolkit.lab.hostmachine import machine_of


@dataclass
class Lab:
    """A running lab fleet and the inventory file that points at it."""

    fleet: LabFleet
    inventory: Path

    def host(self, name: str) -> Any:
        return next(h for h in self.fleet.hosts if h.hostname == name)


def run_jcfix(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``jcfix ARGS`` in a subprocess, with the lab's credentials and no user config."""
    base = environ_without_jcfix()
    base.update(
        JCFIX_CONFIG="/dev/null",
        JCFIX_USER=LAB_USERNAME,
        JCFIX_PASSWORD=LAB_PASSWORD,
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
        COLUMNS="200",
    )
    base.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "toolkit", *args], capture_output=True, text=True, env=base, timeout=timeout
    )


def json_out(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.stdout.strip(), result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def start_lab(tmp_path: Path) -> Iterator[Callable[..., Lab]]:
    """``start_lab(scenario, **fleet_kwargs)``: a running fleet and its inventory, stopped after the test."""
    stack: list[LabFleet] = []

    def start(scenario: str, **kwargs: Any) -> Lab:
        fleet = LabFleet.from_scenario(scenario, **kwargs).start()
        stack.append(fleet)
        inventory = tmp_path / f"{scenario}-{len(stack)}.yaml"
        write_inventory(inventory, fleet.server.endpoints, fleet.hosts, fleet.certificate)
        return Lab(fleet, inventory)

    yield start
    for fleet in stack:
        fleet.stop()


@contextmanager
def lab(scenario: str, tmp_path: Path, **kwargs: Any) -> Iterator[Lab]:
    with LabFleet.from_scenario(scenario, **kwargs) as fleet:
        inventory = tmp_path / f"{scenario}.yaml"
        write_inventory(inventory, fleet.server.endpoints, fleet.hosts, fleet.certificate)
        yield Lab(fleet, inventory)


# ---- reading and driving a lab host's machine ------------------------------------------------------------


def fix(lab: Lab, name: str, *args: str, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    """Run ``jcfix fix NAME`` on the lab's only host; returns the exit code and its one result document."""
    result = run_jcfix("fix", name, "-i", str(lab.inventory), "-o", "json", *args, env=env)
    (host,) = json_out(result)
    (document,) = host["results"]
    return result.returncode, document


def state(lab: Lab) -> dict[str, Any]:
    """Everything a script could change on the lab's only host's machine (readback.fingerprint)."""
    (host,) = lab.fleet.hosts
    return readback.fingerprint(host)


def changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, set[str]]:
    """Which entries of which part of the fingerprint differ (registry keys, files by path...)."""
    out: dict[str, set[str]] = {}
    for part in before:
        old, new = before[part], after[part]
        if old == new:
            continue
        if isinstance(old, dict):
            out[part] = {k for k in set(old) | set(new) if old.get(k) != new.get(k)}
        else:
            out[part] = {part}
    return out


def values_only(fingerprint: dict[str, Any]) -> dict[str, Any]:
    """The fingerprint with registry keys' SDDL left out (values only)."""
    registry = {k: {n: v for n, v in values.items() if n != "<sddl>"} for k, values in fingerprint["registry"].items()}
    return {**fingerprint, "registry": registry}


def name_of_rid(lab: Lab, rid: int) -> str:
    (host,) = lab.fleet.hosts
    return machine_of(host).state.sam.accounts[rid].name


def edit_record(host: Any, run_id: str, name: str, change: Callable[[dict[str, Any]], None]) -> None:
    """Tamper with a backup record on the host's disk (as an administrator could), keeping its owner."""
    node = machine_of(host).state.fs.node(f"{readback.BACKUP_ROOT}\\{run_id}\\{name}")
    assert node is not None, name
    bom = node.data.startswith(b"\xef\xbb\xbf")
    record = readback.file_json(host, f"{readback.BACKUP_ROOT}\\{run_id}\\{name}")
    change(record)
    node.data = (b"\xef\xbb\xbf" if bom else b"") + json.dumps(record, indent=4).encode("utf-8")


def one_host(start_lab: Callable[..., Lab], scenario: str, hostname: str, tmp_path: Any) -> Lab:
    """A lab of ``scenario`` whose inventory holds only ``hostname``."""
    lab = start_lab(scenario)
    document = yaml.safe_load(lab.inventory.read_text(encoding="utf-8"))
    document["hosts"] = {hostname: document["hosts"][hostname]}
    path = tmp_path / f"{hostname}.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return Lab(lab.fleet, path)


def event(lab: Lab, hostname: str, **body: Any) -> dict[str, Any]:
    """Post a lab event (``event="sign_in", user=...``) on the control channel ``jcfix lab sign-in`` uses."""
    endpoint = next(e for e in lab.fleet.server.endpoints if e.hostname == hostname)
    entry = {"address": endpoint.address, "port": endpoint.port, "scheme": endpoint.scheme}
    return post_event(entry, None, body)


def finding_codes(lab: Lab) -> dict[str, set[str]]:
    """``jcfix diagnose``'s finding codes per subject on the inventory's only host."""
    diagnosis = json_out(run_jcfix("diagnose", "-i", str(lab.inventory), "-o", "json"))
    (host,) = diagnosis["hosts"]
    codes: dict[str, set[str]] = {}
    for finding in host["findings"]:
        codes.setdefault(finding["code"], set()).add(finding.get("subject"))
    return codes
