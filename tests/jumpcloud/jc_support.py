"""A lab fleet plus the JumpCloud API stand-in over the same hosts, and the real CLI in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from subprocess_env import environ_without_jcfix

from toolkit.lab.fleet import LAB_PASSWORD, LAB_USERNAME, LabFleet, write_inventory
from toolkit.lab.host import LabHost
from toolkit.lab.jcapi import JumpCloudLab


@dataclass
class JcLab:
    fleet: LabFleet
    api: JumpCloudLab
    inventory: Path
    journal: Path

    def host(self, name: str) -> LabHost:
        return next(h for h in self.fleet.hosts if h.hostname == name)

    def env(self, **extra: str) -> dict[str, str]:
        base = environ_without_jcfix(keep=())
        base.update(
            JCFIX_CONFIG="/dev/null",
            JCFIX_USER=LAB_USERNAME,
            JCFIX_PASSWORD=LAB_PASSWORD,
            JCFIX_JC_JOURNAL_DIR=str(self.journal),
            JCFIX_JC_POLL_INTERVAL="0.1",
            JCFIX_HISTORY=str(self.journal / "history.sqlite"),
            PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
            COLUMNS="200",
            **self.api.env(),
        )
        base.update(extra)
        return base

    def jcfix(self, *args: str, timeout: float = 120, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "toolkit", *args],
            capture_output=True,
            text=True,
            env=self.env(**extra),
            timeout=timeout,
        )

    def agent_sync(self, name: str) -> list[str]:
        """Force the host's agent to check in now (``jcfix lab agent-sync``): the accounts it creates."""
        from toolkit.lab.events import agent_sync

        return agent_sync(self.host(name))

    def winrm(self) -> list[str]:
        return ["--inventory", str(self.inventory), "--http", "--auth", "basic"]


@contextmanager
def jc_lab(scenario: str, tmp_path: Path, *, agent_sync_s: float | None = None) -> Iterator[JcLab]:
    """The scenario's fleet and stand-in; ``agent_sync_s``: seconds to an agent's next check-in (0: at once;
    None: the scenario's or the lab's default), for tests that need a JumpCloud change on the device soon."""
    with LabFleet.from_scenario(scenario) as fleet, JumpCloudLab.for_hosts(fleet.hosts, scenario) as api:
        if agent_sync_s is not None:
            api.directory.sync_interval_s = agent_sync_s
        inventory = tmp_path / f"{scenario}.yaml"
        # Written after the API made the systemKeys unique, as `jcfix lab up` does.
        write_inventory(inventory, fleet.server.endpoints, fleet.hosts, fleet.certificate)
        yield JcLab(fleet, api, inventory, tmp_path / "journal")


def json_out(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.stdout.strip(), result.stderr
    return json.loads(result.stdout)
