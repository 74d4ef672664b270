"""Fleet fixtures: a lab fleet in this process (toolkit.lab.fleet), and the real jcfix CLI in a subprocess."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from subprocess_env import environ_without_jcfix

from toolkit.lab.fleet import LAB_PASSWORD, LAB_USERNAME, LabFleet, write_inventory
from toolkit.secrets import Secret
from toolkit.settings import ConnectionSettings


def jcfix_env(tmp_path: Path) -> dict[str, str]:
    """The environment a jcfix subprocess runs with: lab credentials, no user config, history in tmp."""
    env = environ_without_jcfix()
    env.update(
        JCFIX_CONFIG="/dev/null",
        JCFIX_USER=LAB_USERNAME,
        JCFIX_PASSWORD=LAB_PASSWORD,
        JCFIX_HISTORY=str(tmp_path / "history.db"),
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
        COLUMNS="200",
        NO_COLOR="1",
    )
    return env


@pytest.fixture
def jcfix_environment(tmp_path: Path) -> dict[str, str]:
    """The environment for a jcfix (or lab) subprocess of this test."""
    return jcfix_env(tmp_path)


@pytest.fixture
def jcfix(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """``jcfix(*args)``: the CLI in a subprocess against loopback labs; generous timeout against hangs."""

    def run(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "toolkit", *args],
            capture_output=True,
            text=True,
            env=jcfix_env(tmp_path),
            timeout=timeout,
        )

    return run


@pytest.fixture
def lab_fleet(tmp_path: Path) -> Iterator[Callable[..., tuple[LabFleet, Path]]]:
    """``lab_fleet(scenario, **kwargs)``: a running fleet and its inventory file; stopped after the test."""
    started: list[LabFleet] = []

    def start(scenario: str | Path, **kwargs: Any) -> tuple[LabFleet, Path]:
        fleet = LabFleet.from_scenario(scenario, **kwargs).start()
        started.append(fleet)
        inventory = tmp_path / f"inventory-{len(started)}.yaml"
        write_inventory(inventory, fleet.server.endpoints, fleet.hosts, fleet.certificate)
        return fleet, inventory

    yield start
    for fleet in started:
        fleet.stop()


@pytest.fixture
def lab_settings() -> ConnectionSettings:
    """Connection settings for an HTTP/basic lab, with short timeouts so fault hosts end quickly."""
    return ConnectionSettings(
        user=LAB_USERNAME,
        password=Secret(LAB_PASSWORD),
        scheme="http",
        auth="basic",
        connect_timeout=2,
        read_timeout=3,
        operation_timeout=1,
        deadline=6,
    )
