"""The lab agent applies a JumpCloud change at its next check-in, not at once; ``agent-sync`` forces one.

A real agent checks in about once a minute (research §2); the lab's interval is a few seconds by default,
and a scenario's ``jumpcloud: agent_sync_interval_s`` (or a test) sets it.
"""

from __future__ import annotations

import time
from pathlib import Path

from jc_support import JcLab, jc_lab

from toolkit.jumpcloud import api
from toolkit.jumpcloud.client import JumpCloudClient, JumpCloudConfig
from toolkit.lab import readback
from toolkit.lab.hostmachine import catch_up
from toolkit.lab.jcapi import jumpcloud_section
from toolkit.lab.jcdirectory import DEFAULT_SYNC_INTERVAL_S
from toolkit.secrets import Secret


def give_newhire_a_password(lab: JcLab) -> None:
    config = JumpCloudConfig(base_url=lab.api.url, api_key=Secret(lab.api.api_key))
    with JumpCloudClient(config) as client:
        user = api.lookup_user(client, "newhire")
        api.update_user(client, user.id, {"password": "a long enough password"})


def newhire_on_device(lab: JcLab) -> bool:
    host = lab.host("lab-jc-nopw")
    catch_up(host)  # what happens before any script on the host
    return readback.account(host, "newhire") is not None


def test_a_change_reaches_the_device_at_the_next_check_in(tmp_path: Path) -> None:
    with jc_lab("jumpcloud", tmp_path, agent_sync_s=1.5) as lab:
        give_newhire_a_password(lab)
        assert not newhire_on_device(lab)  # not at once
        deadline = time.monotonic() + 10
        while not newhire_on_device(lab) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert newhire_on_device(lab)


def test_agent_sync_forces_the_check_in(tmp_path: Path) -> None:
    with jc_lab("jumpcloud", tmp_path, agent_sync_s=3600) as lab:
        give_newhire_a_password(lab)
        assert not newhire_on_device(lab)
        assert lab.agent_sync("lab-jc-nopw") == ["newhire"]
        assert newhire_on_device(lab)


def test_the_interval_defaults_to_a_few_seconds_and_a_scenario_sets_it(tmp_path: Path) -> None:
    with jc_lab("jumpcloud", tmp_path) as lab:
        assert lab.api.directory.sync_interval_s == DEFAULT_SYNC_INTERVAL_S and 0 < DEFAULT_SYNC_INTERVAL_S <= 10
    scenario = tmp_path / "slow.yaml"
    original = (Path(__file__).parents[2] / "toolkit/lab/scenarios/jumpcloud.yaml").read_text(encoding="utf-8")
    scenario.write_text(original.replace("jumpcloud:\n", "jumpcloud:\n  agent_sync_interval_s: 42\n", 1))
    section = jumpcloud_section(scenario)
    assert section is not None and section.agent_sync_interval_s == 42
