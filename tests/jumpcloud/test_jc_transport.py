"""``--via jumpcloud``: the wrapper, and the same scripts run end to end through the lab's JumpCloud Commands."""

from __future__ import annotations

import base64
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from jc_support import JcLab, jc_lab, json_out

from toolkit.actions import get_action
from toolkit.lab import readback
from toolkit.secrets import Secret
from toolkit.templates import RenderedScript
from toolkit.transport.base import TransportError
from toolkit.transport.jumpcloud import wrap

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import pstree


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[JcLab]:
    with jc_lab("jumpcloud", tmp_path) as running:
        yield running


def test_the_wrapper_is_fixed_text_around_one_literal_and_the_unchanged_script() -> None:
    action = get_action("rename_user")
    hostile = "x'; Remove-Item C:\\ -Recurse #\u2019$(evil)"
    one = wrap(action.render({"UserName": hostile, "NewName": "Jonathan", "RunId": "r1"}))
    two = wrap(action.render({"UserName": "bob", "NewName": "Jonathan", "RunId": "r1"}))
    diff = [(a, b) for a, b in zip(one.splitlines(), two.splitlines(), strict=True) if a != b]
    assert len(diff) == 1 and diff[0][0].startswith("$JcfixParametersBase64 = '")
    literal = diff[0][0].split(" = ", 1)[1]
    assert json.loads(base64.b64decode(literal.strip("'")))["UserName"] == hostile
    assert action.render_script() in one and "sysnative" in one
    assert not pstree.problems(pstree.parse(one)), pstree.problems(pstree.parse(one))


def test_secret_parameters_are_refused() -> None:
    rendered = RenderedScript("x", 1, "# jcfix-template: x v1\n", {"Password": Secret("p")})
    with pytest.raises(TransportError, match="secret"):
        wrap(rendered)


def test_users_list_end_to_end_and_the_command_is_deleted(lab: JcLab) -> None:
    result = lab.jcfix("users", "list", "--host", "lab-jc-ok", "--via", "jumpcloud", "-o", "json")
    assert result.returncode == 0, result.stderr
    (host,) = json_out(result)
    names = {u["name"] for u in host["results"][0]["data"]["users"]}
    assert names == {"Administrator", "alice"}
    assert lab.api.directory.commands == {} and lab.api.directory.results == {}
    (created,) = [r for r in lab.api.seen if r.method == "POST" and r.path == "/api/commands"]
    assert lab.api.api_key not in result.stdout + result.stderr and created.key_ok


def test_a_fix_in_check_mode_goes_through_with_whatif(lab: JcLab) -> None:
    result = lab.jcfix(
        "fix", "rename", "--host", "lab-jc-local", "--user", "jonathan", "--to", "Jonathan", "--check",
        "--via", "jumpcloud", "-o", "json",
    )  # fmt: skip
    assert result.returncode == 5, result.stderr
    (host,) = json_out(result)
    assert host["results"][0]["data"]["check_mode"] is True
    assert readback.account(lab.host("lab-jc-local"), "jonathan").name == "jonathan"  # type: ignore[union-attr]


def test_32bit_agent_powershell_relaunches_64bit(lab: JcLab) -> None:
    lab.host("lab-jc-ok").is_64bit_process = False
    result = lab.jcfix("users", "list", "--host", "lab-jc-ok", "--via", "jumpcloud", "-o", "json")
    (host,) = json_out(result)
    assert host["results"][0]["data"]["source"] == "Get-LocalUser"
    assert lab.host("lab-jc-ok").is_64bit_process is False


def test_an_offline_device_past_the_time_to_live_is_unreachable(lab: JcLab) -> None:
    result = lab.jcfix(
        "users", "list", "--host", "lab-jc-offline", "--via", "jumpcloud", "-o", "json",
        JCFIX_JC_COMMAND_TTL="1", JCFIX_JC_COMMAND_TIMEOUT="1",
    )  # fmt: skip
    assert result.returncode == 4
    (host,) = json_out(result)
    assert host["status"] == "unreachable" and "time-to-live (1s)" in host["results"][0]["error"]["message"]
    # How long this takes is measured by benchmarks/lab_timings.py (jc-ttl), not asserted here.
    assert lab.api.directory.commands == {} and lab.api.directory.results == {}


def test_exit_code_124_is_a_timeout(lab: JcLab) -> None:
    lab.host("lab-jc-ok").faults.script_delay_s = 5
    result = lab.jcfix(
        "users", "list", "--host", "lab-jc-ok", "--via", "jumpcloud", "-o", "json", JCFIX_JC_COMMAND_TIMEOUT="1"
    )
    (host,) = json_out(result)
    assert result.returncode == 4 and "exit code 124" in host["results"][0]["error"]["message"]
    assert lab.api.directory.results == {} and lab.api.directory.commands == {}


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_run_deletes_its_command(lab: JcLab, signum: int) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "toolkit", "users", "list", "--host", "lab-jc-offline", "--via", "jumpcloud"],
        env=lab.env(JCFIX_DEADLINE="60"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not lab.api.directory.commands and time.monotonic() < deadline:
            time.sleep(0.05)
        assert lab.api.directory.commands, "the command was never created"
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=20)
    finally:
        process.kill()
    assert process.returncode == 130, stderr
    assert lab.api.directory.commands == {} and lab.api.directory.results == {}
    assert lab.api.requests_to("DELETE", r"/api/commands/\w+")
