"""``jcfix lab up`` starts the JumpCloud API stand-in beside the hosts, over the same hosts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from subprocess_env import environ_without_jcfix

from toolkit.jumpcloud import api
from toolkit.jumpcloud.client import JumpCloudClient, JumpCloudConfig
from toolkit.secrets import Secret


def jcfix(*args: str, lab_dir: Path) -> subprocess.CompletedProcess[str]:
    env = environ_without_jcfix()
    env["JCFIX_LAB_DIR"] = str(lab_dir)
    return subprocess.run(
        [sys.executable, "-m", "toolkit", *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_lab_up_serves_the_api_over_the_lab_hosts(tmp_path: Path) -> None:
    up = jcfix("lab", "up", "--scenario", "jumpcloud", "--addressing", "ports", lab_dir=tmp_path)
    assert up.returncode == 0, up.stderr
    try:
        state = json.loads((tmp_path / "jumpcloud.json").read_text())
        assert f"export JCFIX_JC_URL={state['url']}" in up.stdout
        config = JumpCloudConfig(base_url=state["url"], api_key=Secret(state["api_key"]))
        with JumpCloudClient(config) as client:
            systems = {s.hostname: s for s in api.list_systems(client)}
            assert len(systems) == 10 and "lab-jc-gone" not in systems
            assert systems["lab-jc-local"].id == "6a000000000000000000000b"
    finally:
        down = jcfix("lab", "down", lab_dir=tmp_path)
    assert down.returncode == 0 and not (tmp_path / "jumpcloud.json").exists()
