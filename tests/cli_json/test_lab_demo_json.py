"""``jcfix lab *`` and ``jcfix demo`` with ``--output json``: one envelope each, never a credential."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from e2e_support import run_jcfix
from envelope_check import envelope_of

from toolkit.exitcodes import ExitCode
from toolkit.lab.constants import LAB_PASSWORD
from toolkit.lab.scenarios import builtin_names


def lab(*args: str, lab_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "JCFIX_LAB_DIR": str(lab_dir)}
    return subprocess.run(
        [sys.executable, "-m", "toolkit", "lab", *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_lab_scenarios_json(tmp_path: Path) -> None:
    document = envelope_of(lab("scenarios", "-o", "json", lab_dir=tmp_path), "lab scenarios")
    assert [s["name"] for s in document["scenarios"]] == builtin_names()
    assert all(s["description"] for s in document["scenarios"])


def test_lab_up_events_and_down_json(tmp_path: Path) -> None:
    host = "lab-provisioning-delayed"
    up = lab("up", "--scenario", "provisioning_delayed", "--addressing", "ports", "-o", "json", lab_dir=tmp_path)
    assert up.returncode == 0, up.stderr
    try:
        document = envelope_of(up, "lab up")
        state = json.loads((tmp_path / "lab.json").read_text())
        assert [h["host"] for h in document["hosts"]] == [host]
        assert document["hosts"][0]["address"] == "127.0.0.1" and document["hosts"][0]["port"] > 0
        assert document["lab"]["inventory"] == state["inventory"] and document["lab"]["pid"] == state["pid"]
        # The stand-in's URL, never its API key (nor the lab's password): those stay in their files.
        assert document["lab"]["jumpcloud"]["url"] == state["jumpcloud"]["url"]
        assert state["jumpcloud"]["api_key"] not in up.stdout and LAB_PASSWORD not in up.stdout
        synced = envelope_of(lab("agent-sync", "-H", host, "-o", "json", lab_dir=tmp_path), "lab agent-sync")
        assert synced["hosts"] == [
            {"host": host, "event": "agent_sync", "provisioned": synced["hosts"][0]["provisioned"]}
        ]
        assert isinstance(synced["hosts"][0]["provisioned"], list)
        battery = envelope_of(lab("on-battery", "-H", host, "-o", "json", lab_dir=tmp_path), "lab on-battery")
        assert battery["hosts"] == [{"host": host, "event": "on_battery", "on_battery": True}]
    finally:
        down = lab("down", "-o", "json", lab_dir=tmp_path)
    assert envelope_of(down, "lab down")["stopped"] == {"pid": state["pid"]}
    assert envelope_of(lab("down", "-o", "json", lab_dir=tmp_path), "lab down")["stopped"] is None


def test_lab_refuses_a_bad_output_before_starting_anything(tmp_path: Path) -> None:
    result = lab("up", "-o", "xml", lab_dir=tmp_path)
    assert result.returncode == ExitCode.USAGE
    assert result.stderr.strip().splitlines() == ["jcfix: error: --output must be one of table, json"]
    assert not (tmp_path / "lab.json").exists()


def test_demo_json_is_one_envelope_with_every_step() -> None:
    result = run_jcfix("demo", "-o", "json", timeout=300)
    assert result.returncode == 0, result.stderr
    document = envelope_of(result, "demo")
    steps = document["steps"]
    assert len(steps) == 10
    assert [s["title"].split(".")[0] for s in steps] == [str(n) for n in range(1, 11)]
    first = steps[0]
    assert first["command"].startswith("jcfix diagnose -i ") and first["command"].endswith(" -o json")
    assert first["exit_code"] == ExitCode.BLOCKERS and isinstance(first["result"], dict | list)
    preview = steps[1]  # a --dry-run's answer is a script: kept as text
    assert "--dry-run" in preview["command"] and "-o json" not in preview["command"]
    assert "rename_user" in preview["output"]
    assert steps[7]["lab"]["pin_still_on_host"] is False and steps[7]["lab"]["tasks_run_at_sign_in"]
    assert all("result" in s or "output" in s or "lab" in s for s in steps)
    assert [line for line in result.stderr.splitlines() if not line.startswith("jcfix")] == []
