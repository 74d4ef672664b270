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
    # hostile, yet a name an existing account may have (the name rules refuse ; : \\ and anything over 20)
    hostile = "x'$(evil)\u2019#`a'"
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


def test_a_run_with_a_secret_is_bad_input_before_anything_is_sent() -> None:
    from toolkit.errors import UsageError
    from toolkit.transport.jumpcloud import TRANSPORT

    plain = RenderedScript("x", 1, "# jcfix-template: x v1\n", {"UserName": "alice"})
    secret = RenderedScript("y", 1, "# jcfix-template: y v1\n", {"NewPassword": Secret("hunter2-secret")})
    TRANSPORT.check_sendable([plain])  # nothing to refuse
    with pytest.raises(UsageError) as caught:
        TRANSPORT.check_sendable([plain, secret])
    assert caught.value.exit_code == 2 and "NewPassword is a secret" in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_a_secret_through_jumpcloud_is_exit_2_and_no_command_is_created(lab: JcLab) -> None:
    result = lab.jcfix(
        *("fix", "convert-msa", "--host", "lab-jc-ok", "--via", "jumpcloud", "--user", "alice"),
        *("--method", "unlink", "--accept-data-loss"),
        JCFIX_NEW_PASSWORD="S3cret-Sentinel-771",
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "NewPassword is a secret" in result.stderr and len(result.stderr.splitlines()) == 1
    assert "S3cret-Sentinel-771" not in result.stdout + result.stderr
    assert lab.api.requests_to("POST", r"/api/commands$") == []


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


def test_a_device_jumpcloud_reports_inactive_fails_at_once_with_its_last_contact(lab: JcLab) -> None:
    started = time.monotonic()
    result = lab.jcfix(
        "users", "list", "--host", "lab-jc-offline", "--via", "jumpcloud", "-o", "json",
        JCFIX_JC_COMMAND_TTL="600", JCFIX_DEADLINE="600", timeout=60,
    )  # fmt: skip
    assert result.returncode == 4 and time.monotonic() - started < 60
    (host,) = json_out(result)
    message = host["results"][0]["error"]["message"]
    contact = lab.api.directory.systems["6a000000000000000000000a"]["lastContact"]
    assert host["status"] == "unreachable" and "inactive" in message and f"last contact {contact}" in message
    assert not lab.api.requests_to("POST", "/api/commands")  # nothing was sent


def stop_agent_unnoticed(lab: JcLab, hostname: str) -> None:
    """The agent stops, and JumpCloud still shows the device active (it has not noticed yet)."""
    lab.host(hostname).agent.running = False


def test_an_active_device_that_never_answers_is_unreachable_past_the_time_to_live(lab: JcLab) -> None:
    stop_agent_unnoticed(lab, "lab-jc-ok")
    result = lab.jcfix(
        "users", "list", "--host", "lab-jc-ok", "--via", "jumpcloud", "-o", "json",
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
    stop_agent_unnoticed(lab, "lab-jc-ok")
    process = subprocess.Popen(
        [sys.executable, "-m", "toolkit", "users", "list", "--host", "lab-jc-ok", "--via", "jumpcloud"],
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
    assert process.returncode == 128 + signum, stderr
    assert lab.api.directory.commands == {} and lab.api.directory.results == {}
    assert lab.api.requests_to("DELETE", r"/api/commands/\w+")
