"""``jcfix verify provisioned``: stops at once when JumpCloud says a user will never appear, ``--output json``,
Ctrl-C says where it stood, and after a JumpCloud-side fix it waits for the agent's next sync."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import requests
import yaml
from e2e_support import Lab, run_jcfix
from envelope_check import envelope_of
from jc_support import jc_lab
from subprocess_env import environ_without_jcfix

from toolkit.exitcodes import ExitCode
from toolkit.lab.jcdirectory import LabDirectory

SLOW_WAIT = ["--wait", "120s", "--interval", "1s"]


def _users(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"{u['jc_user']}@{h['host']}": u for h in document["hosts"] for u in h["users"]}


def test_stops_at_once_when_jumpcloud_says_the_account_will_never_appear(tmp_path: Path) -> None:
    with jc_lab("jumpcloud", tmp_path) as lab:
        limit = "lab-jc-unbound,lab-jc-names,lab-jc-gone"
        started = time.monotonic()
        result = lab.jcfix("verify", "provisioned", *lab.winrm(), "--limit", limit, *SLOW_WAIT, "-o", "json")
        took = time.monotonic() - started
    assert result.returncode == ExitCode.BLOCKERS, result.stdout + result.stderr
    assert took < 60  # not the 120s wait: one poll told it all
    document = envelope_of(result, "verify provisioned")
    assert document["result"] == "stopped"
    users = _users(document)
    stops = {who: (u["state"], (u["reason"] or "").split(":")[0]) for who, u in users.items()}
    assert stops == {
        "ursula@lab-jc-unbound": ("stopped", "NOT_BOUND_TO_DEVICE"),
        "ghost@lab-jc-names": ("stopped", "JC_USER_NOT_FOUND"),
        "casey@lab-jc-names": ("stopped", "JC_USER_CASE_ONLY_MATCH"),
        "alice@lab-jc-gone": ("stopped", "DEVICE_NOT_IN_JUMPCLOUD"),
    }
    assert users["ursula@lab-jc-unbound"]["fix"].startswith("jcfix fix jc-bind --jc-user ursula --system-id ")
    assert all(h["polls"] == 1 and h["status"] == "stopped" for h in document["hosts"])
    assert all(u["waiting_for"] is None for u in users.values())
    assert sorted(result.stderr.strip().splitlines()) == [
        "jcfix: stopped: alice@lab-jc-gone: DEVICE_NOT_IN_JUMPCLOUD",
        "jcfix: stopped: casey@lab-jc-names: JC_USER_CASE_ONLY_MATCH",
        "jcfix: stopped: ghost@lab-jc-names: JC_USER_NOT_FOUND",
        "jcfix: stopped: ursula@lab-jc-unbound: NOT_BOUND_TO_DEVICE",
    ]


def _bind(url: str, key: str, directory: LabDirectory, username: str, system_id: str) -> None:
    """Bind the user to the device through the stand-in's API (``SystemAssociation_Set``), as a console admin would."""
    body = {"op": "add", "type": "user", "id": directory.user_id(username)}
    answer = requests.post(
        f"{url}/api/v2/systems/{system_id}/associations", json=body, headers={"x-api-key": key}, timeout=10
    )
    assert answer.status_code == 204, answer.text


def test_after_a_jumpcloud_side_fix_it_waits_for_the_agents_next_sync(tmp_path: Path) -> None:
    with jc_lab("jumpcloud", tmp_path) as lab:
        lab.api.directory.sync_interval_s = 4.0  # the next check-in is seconds after the change, not at once
        system_id = str(lab.host("lab-jc-unbound").agent.system_key)
        _bind(lab.api.url, lab.api.api_key, lab.api.directory, "ursula", system_id)
        started = time.monotonic()
        result = lab.jcfix("verify", "provisioned", *lab.winrm(), "--limit", "lab-jc-unbound", *SLOW_WAIT, "-o", "json")
        took = time.monotonic() - started
    assert result.returncode == ExitCode.OK, result.stdout + result.stderr
    document = envelope_of(result, "verify provisioned")
    ((host),) = document["hosts"]
    assert document["result"] == "done" and host["status"] == "done"
    assert _users(document)["ursula@lab-jc-unbound"]["state"] == "provisioned"
    # Bound, but the account came only with the agent's check-in: the first poll found it waiting for that.
    assert host["polls"] >= 2 and took >= 2
    waits = [line for line in result.stderr.splitlines() if line.startswith("jcfix: waiting: ")]
    assert waits and "ursula@lab-jc-unbound: no local account yet" in waits[0]


def test_without_users_given_it_waits_for_the_users_jumpcloud_binds(tmp_path: Path) -> None:
    with jc_lab("jumpcloud", tmp_path) as lab:
        inventory = yaml.safe_load(lab.inventory.read_text(encoding="utf-8"))
        for entry in inventory["hosts"].values():
            entry.pop("jc_users", None)
        bare = tmp_path / "no-jc-users.yaml"
        bare.write_text(yaml.safe_dump(inventory), encoding="utf-8")
        winrm = ["-i", str(bare), "--http", "--auth", "basic", "--limit", "lab-jc-ok,lab-jc-unbound"]
        result = lab.jcfix("verify", "provisioned", *winrm, *SLOW_WAIT, "-o", "json")
        without_api = lab.jcfix("verify", "provisioned", *winrm, JCFIX_JC_API_KEY="", JCFIX_JC_URL="")
    assert result.returncode == ExitCode.BLOCKERS, result.stdout + result.stderr
    hosts = {h["host"]: h for h in envelope_of(result, "verify provisioned")["hosts"]}
    ok, unbound = hosts["lab-jc-ok"], hosts["lab-jc-unbound"]
    assert ok["users_from"] == "jumpcloud" and ok["status"] == "done"
    assert [(u["jc_user"], u["state"]) for u in ok["users"]] == [("alice", "taken_over")]
    assert unbound["users"] == [] and unbound["status"] == "stopped" and unbound["notes"]
    assert "jcfix: stopped: lab-jc-unbound: no JumpCloud user to wait for (notes above)" in result.stderr
    assert without_api.returncode == ExitCode.USAGE and "no JumpCloud users to wait for" in without_api.stderr


def _interrupt_when(process: subprocess.Popen[str], stream: IO[str], marker: str) -> None:
    """Send Ctrl-C once ``marker`` appears on ``stream`` (the poll is waiting between two polls)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = stream.readline()
        if marker in line:
            process.send_signal(signal.SIGINT)
            return
        assert line or process.poll() is None, "verify ended before it waited"
    raise AssertionError(f"{marker!r} never appeared")


def _verify_until_ctrl_c(lab: Lab, *extra: str, marker: str, on: str) -> tuple[int, str, str]:
    env = environ_without_jcfix()
    env.update(run_env(), PYTHONUNBUFFERED="1", COLUMNS="80")
    args = ["verify", "provisioned", "-i", str(lab.inventory), "-j", "newhire", *SLOW_WAIT, *extra]
    process = subprocess.Popen(
        [sys.executable, "-m", "toolkit", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        assert process.stdout is not None and process.stderr is not None
        _interrupt_when(process, process.stdout if on == "stdout" else process.stderr, marker)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    return process.returncode, out, err


def run_env() -> dict[str, str]:
    """The environment run_jcfix gives: the lab's credentials, no user config."""
    from toolkit.lab.fleet import LAB_PASSWORD, LAB_USERNAME

    return {
        "JCFIX_CONFIG": "/dev/null",
        "JCFIX_USER": LAB_USERNAME,
        "JCFIX_PASSWORD": LAB_PASSWORD,
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }


def test_ctrl_c_prints_where_it_stood_and_exits_130(start_lab: Callable[..., Lab]) -> None:
    lab = start_lab("provisioning")  # this lab's agent never provisions: verify would wait the full 120s
    code, out, err = _verify_until_ctrl_c(lab, marker="waiting:", on="stdout")
    assert code == 130, out + err
    assert "newhire" in out and "no local account yet" in out and "the agent's next sync" in out
    assert all(len(line) <= 80 for line in out.splitlines())
    assert "Traceback" not in err and all(line.startswith("jcfix") for line in err.splitlines())
    assert "jcfix: interrupted: 0 of 1 user appeared, 0 stopped, 1 still waiting" in err
    code, out, err = _verify_until_ctrl_c(lab, "-o", "json", marker="jcfix: waiting:", on="stderr")
    assert code == 130, out + err
    document = envelope_of(subprocess.CompletedProcess([], code, out, err), "verify provisioned")
    assert document["result"] == "interrupted"
    (user,) = _users(document).values()
    assert user["state"] == "waiting" and user["waiting_for"] == "the agent's next sync"


def test_verify_json_when_every_user_is_done(start_lab: Callable[..., Lab]) -> None:
    lab = start_lab("healthy")
    result = run_jcfix(
        "verify", "provisioned", "-i", str(lab.inventory), "--wait", "5s", "--interval", "1s", "-o", "json"
    )
    assert result.returncode == ExitCode.OK, result.stdout + result.stderr
    document = envelope_of(result, "verify provisioned")
    assert document["result"] == "done"
    assert document["hosts"] and all(h["status"] == "done" and h["polls"] == 1 for h in document["hosts"])
    assert json.loads(result.stdout) == document and result.stderr == ""
