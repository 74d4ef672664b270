"""The suite runs beside a running ``jcfix lab up``: what the test fixtures start never takes its addresses.

``jcfix lab up`` (its defaults: the ``mixed`` scenario, one loopback address per host from 127.0.10.1 at port
5985, the JumpCloud API stand-in on a free port of 127.0.0.1) is started here exactly as a developer would,
and a diagnose, a fix and its undo run on a lab started by the test fixtures while it is up. When a lab
already listens at the default address (a developer's own), the tests run beside that one instead.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from subprocess_env import environ_without_jcfix

from toolkit.exitcodes import ExitCode
from toolkit.lab.constants import CONTROL_PATH, DEFAULT_BASE_ADDRESS, LAB_PASSWORD, LAB_USERNAME
from toolkit.lab.fleet import LabFleet, write_inventory

WINRM_PORT = 5985  # what `jcfix lab up` binds on each of its addresses without --port


@dataclass(frozen=True)
class RunningLab:
    """The lab started as `jcfix lab up` does; ``inventory`` is None when it is a developer's own lab."""

    inventory: Path | None


def _listening(address: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(2)
        return probe.connect_ex((address, port)) == 0


def _jcfix(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``jcfix ARGS`` in a subprocess with the lab's credentials, no user config and ``env`` on top."""
    base = environ_without_jcfix()
    base.update(
        JCFIX_CONFIG="/dev/null",
        JCFIX_USER=LAB_USERNAME,
        JCFIX_PASSWORD=LAB_PASSWORD,
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
        COLUMNS="200",
        **(env or {}),
    )
    return subprocess.run(
        [sys.executable, "-m", "toolkit", *args], capture_output=True, text=True, env=base, timeout=180, check=False
    )


def _only_result(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.stdout.strip(), result.stderr
    (host,) = json.loads(result.stdout)
    (document,) = host["results"]
    return dict(document)


@pytest.fixture(scope="module")
def running_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningLab]:
    """`jcfix lab up` with every default (its own lab directory), stopped with `jcfix lab down` at the end."""
    if _listening(DEFAULT_BASE_ADDRESS, WINRM_PORT):
        yield RunningLab(None)  # a developer's lab is up already: the tests run beside that one
        return
    lab_dir = {"JCFIX_LAB_DIR": str(tmp_path_factory.mktemp("lab-up"))}
    up = _jcfix("lab", "up", env=lab_dir)
    assert up.returncode == 0, up.stderr
    try:
        state = json.loads((Path(lab_dir["JCFIX_LAB_DIR"]) / "lab.json").read_text(encoding="utf-8"))
        yield RunningLab(Path(state["inventory"]))
    finally:
        down = _jcfix("lab", "down", env=lab_dir)
    assert down.returncode == 0, down.stderr


def test_lab_up_binds_its_defaults(running_lab: RunningLab) -> None:
    assert _listening(DEFAULT_BASE_ADDRESS, WINRM_PORT)
    if running_lab.inventory is None:
        return
    hosts = yaml.safe_load(running_lab.inventory.read_text(encoding="utf-8"))["hosts"]
    assert len(hosts) == 12  # the mixed scenario
    assert {entry["port"] for entry in hosts.values()} == {WINRM_PORT}
    assert next(iter(hosts.values()))["address"] == DEFAULT_BASE_ADDRESS


def test_diagnose_fix_and_undo_beside_it(running_lab: RunningLab, tmp_path: Path) -> None:
    with LabFleet.from_scenario("space") as fleet:  # what the e2e fixtures start
        assert all(e.port != WINRM_PORT for e in fleet.endpoints)
        inventory = tmp_path / "space.yaml"
        write_inventory(inventory, fleet.server.endpoints, fleet.hosts, fleet.certificate)
        history = {"JCFIX_HISTORY": str(tmp_path / "history.db")}

        diagnosis = _jcfix("diagnose", "-i", str(inventory), "-o", "json", env=history)
        assert diagnosis.stdout.strip(), diagnosis.stderr
        (host,) = json.loads(diagnosis.stdout)["hosts"]
        assert "USERNAME_HAS_SPACE" in {finding["code"] for finding in host["findings"]}, host

        fix = _jcfix(
            "fix", "rename", "-i", str(inventory), "--user", "john smith", "--to", "john.smith", "--run-id", "b-1",
            "-o", "json", env=history,
        )  # fmt: skip
        assert fix.returncode == ExitCode.CHANGED, fix.stderr
        applied = _only_result(fix)
        assert (applied["status"], applied["data"]["after"]["name"]) == ("changed", "john.smith")

        undo = _jcfix("undo", "-i", str(inventory), "--run-id", "b-1", "-o", "json", env=history)
        undone = _only_result(undo)
        assert undone["status"] == "changed", undone
        assert undone["data"]["restored"] == ["renamed 'john.smith' back to 'john smith'"]
    # The lab that was up before is still up and answering.
    assert _listening(DEFAULT_BASE_ADDRESS, WINRM_PORT)
    if running_lab.inventory is not None:
        document = yaml.safe_load(running_lab.inventory.read_text(encoding="utf-8"))
        one_host = tmp_path / "running-lab-space.yaml"
        one_host.write_text(yaml.safe_dump({"hosts": {"lab-space": document["hosts"]["lab-space"]}}), encoding="utf-8")
        listing = _jcfix("users", "list", "-i", str(one_host), "--http", "--auth", "basic", "-o", "json")
        assert listing.returncode == 0, listing.stderr
        assert "john smith" in listing.stdout


def test_the_default_addresses_with_port_zero_take_free_ports_and_report_them(running_lab: RunningLab) -> None:
    # The very addresses `jcfix lab up` listens on, port 0: each listener gets a free port, reported everywhere.
    with LabFleet.from_scenario(
        "healthy", hosts=3, addressing="addresses", base_address=DEFAULT_BASE_ADDRESS, port=0
    ) as fleet:
        endpoints = fleet.endpoints
        assert [e.address for e in endpoints] == ["127.0.10.1", "127.0.10.2", "127.0.10.3"]
        assert all(e.port not in (0, WINRM_PORT) for e in endpoints)
        inventory = fleet.inventory()["hosts"]
        assert [(entry["address"], entry["port"]) for entry in inventory.values()] == [
            (e.address, e.port) for e in endpoints
        ]
        first = endpoints[0]
        answer = requests.post(
            f"http://{first.address}:{first.port}{CONTROL_PATH}",
            json={"event": "agent_sync"},
            auth=(LAB_USERNAME, LAB_PASSWORD),
            timeout=10,
        )
        assert answer.status_code == 200 and answer.json()["host"] == first.hostname


def test_lab_up_with_port_zero_writes_the_bound_ports(running_lab: RunningLab, tmp_path: Path) -> None:
    # A second `jcfix lab up` on the default addresses, port 0: its inventory names the ports it got.
    lab_dir = {"JCFIX_LAB_DIR": str(tmp_path)}
    up = _jcfix("lab", "up", "--scenario", "healthy", "--hosts", "2", "--port", "0", "--no-jumpcloud", env=lab_dir)
    assert up.returncode == 0, up.stderr
    try:
        hosts = yaml.safe_load((tmp_path / "inventory.yaml").read_text(encoding="utf-8"))["hosts"]
        assert [entry["address"] for entry in hosts.values()] == ["127.0.10.1", "127.0.10.2"]
        assert all(entry["port"] not in (0, WINRM_PORT) and _listening(entry["address"], entry["port"])
                   for entry in hosts.values())  # fmt: skip
        one_host = tmp_path / "one.yaml"
        one_host.write_text(yaml.safe_dump({"hosts": dict(list(hosts.items())[:1])}), encoding="utf-8")
        listing = _jcfix("users", "list", "-i", str(one_host), "--http", "--auth", "basic", "-o", "json")
        assert listing.returncode == 0, listing.stderr
    finally:
        down = _jcfix("lab", "down", env=lab_dir)
    assert down.returncode == 0, down.stderr
