"""Helpers for the end-to-end tests: a lab fleet in this process, the real ``jcfix`` CLI in a subprocess.

The CLI talks to the fleet over real WinRM on loopback, exactly as it would to Windows hosts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from toolkit.lab.fleet import LAB_PASSWORD, LAB_USERNAME, LabFleet, write_inventory


@dataclass
class Lab:
    """A running lab fleet and the inventory file that points at it."""

    fleet: LabFleet
    inventory: Path

    def host(self, name: str) -> Any:
        return next(h for h in self.fleet.hosts if h.hostname == name)


def run_jcfix(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``jcfix ARGS`` in a subprocess, with the lab's credentials and no user config."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("JCFIX_")}
    base.update(
        JCFIX_CONFIG="/nonexistent/jcfix-config.yaml",
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
