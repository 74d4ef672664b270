"""``jcfix lab up / down / scenarios``: a detached lab process, its inventory, and the real CLI against it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from toolkit.lab.auth import LAB_PASSWORD, LAB_USERNAME


def jcfix(*args: str, lab_dir: Path, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "JCFIX_LAB_DIR": str(lab_dir), **(extra_env or {})}
    return subprocess.run(
        [sys.executable, "-m", "toolkit", *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )


def test_scenarios_lists_builtins(tmp_path: Path) -> None:
    done = jcfix("lab", "scenarios", lab_dir=tmp_path)
    assert done.returncode == 0
    names = [line.split()[0] for line in done.stdout.splitlines()]
    assert {"healthy", "space", "faults", "mixed", "random"} <= set(names)


def test_up_writes_inventory_users_list_answers_and_down_stops_it(tmp_path: Path) -> None:
    up = jcfix("lab", "up", "--scenario", "mixed", "--addressing", "ports", lab_dir=tmp_path)
    assert up.returncode == 0, up.stderr
    state = json.loads((tmp_path / "lab.json").read_text())
    try:
        assert "export JCFIX_PASSWORD=" in up.stdout and f"export JCFIX_USER={LAB_USERNAME}" in up.stdout
        inventory = yaml.safe_load(Path(state["inventory"]).read_text())
        assert len(inventory["hosts"]) == 12
        entry = inventory["hosts"]["lab-case"]
        assert set(entry) == {"address", "port", "scheme", "auth", "jc_users"}
        assert entry["address"] == "127.0.0.1" and entry["scheme"] == "http" and entry["jc_users"] == ["Jonathan"]
        again = jcfix("lab", "up", lab_dir=tmp_path)
        assert again.returncode == 2 and "already running" in again.stderr
        listing = jcfix(
            "users", "list", "--inventory", state["inventory"], "--http", "--auth", "basic", "--output", "json",
            lab_dir=tmp_path, extra_env={"JCFIX_USER": LAB_USERNAME, "JCFIX_PASSWORD": LAB_PASSWORD},
        )  # fmt: skip
        assert listing.returncode == 0, listing.stderr
        assert "john smith" in listing.stdout and "jonathan" in listing.stdout
    finally:
        down = jcfix("lab", "down", lab_dir=tmp_path)
    assert down.returncode == 0 and f"pid {state['pid']}" in down.stdout
    assert not (tmp_path / "lab.json").exists() and not Path(state["inventory"]).exists()
    assert jcfix("lab", "down", lab_dir=tmp_path).stdout.strip() == "no lab is running"


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--scenario", "nope"], "unknown scenario 'nope'"), (["--auth", "kerberos"], "--auth must be one of")],
)
def test_up_rejects_bad_input_in_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    done = jcfix("lab", "up", *args, lab_dir=tmp_path)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "lab.json").exists()
