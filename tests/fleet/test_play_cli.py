"""``jcfix play`` end to end on loopback labs: the shipped playbooks on the mixed scenario (plan first,
--apply fixes, a second --apply is ok/pending only), usage errors, and Ctrl-C leaving a complete recap."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from toolkit.exitcodes import ExitCode
from toolkit.inventory import load_inventory
from toolkit.lab import readback
from toolkit.lab.fleet import LabFleet

Jcfix = Callable[..., subprocess.CompletedProcess[str]]
FIXED_HOSTS = ("lab-case", "lab-space", "lab-fullname", "lab-picture")


def _recap(stdout: str) -> dict[str, str]:
    """Host -> status from the RECAP block of --plain output."""
    lines = stdout.split("RECAP", 1)[1].splitlines()[1:]
    rows = {}
    for line in lines:
        parts = line.split()
        if len(parts) >= 2 and parts[0].startswith(("lab-", "fault-", "slow-")):
            rows[parts[0]] = parts[1]
    return rows


def test_fix_playbook_plans_then_applies_then_has_nothing_left(
    lab_fleet: Callable[..., tuple[LabFleet, Path]], jcfix: Jcfix
) -> None:
    fleet, inventory = lab_fleet("mixed")
    check = jcfix("play", "fix-takeover-blockers", "-i", str(inventory), "--plain")
    assert check.returncode == ExitCode.CHANGED, check.stderr
    assert "check mode (-WhatIf): nothing will change" in check.stdout
    assert "lab-case: would change" in check.stdout
    assert "plan: rename 'jonathan' to 'Jonathan'" in check.stdout
    assert "plan: run certutil -DeleteHelloContainer as 'pat'" in check.stdout
    recap = _recap(check.stdout)
    assert len(recap) == len(fleet.hosts) and recap["lab-healthy"] == "ok"
    assert readback.account(fleet.listener("lab-case").host, "jonathan").name == "jonathan"  # type: ignore[union-attr]

    applied = jcfix("play", "fix-takeover-blockers", "-i", str(inventory), "--plain", "--apply")
    assert applied.returncode == ExitCode.CHANGED, applied.stderr
    recap = _recap(applied.stdout)
    assert all(recap[name] == "changed" for name in FIXED_HOSTS), recap
    assert recap["lab-pin"] == recap["lab-msa"] == "pending"
    assert readback.account(fleet.listener("lab-case").host, "Jonathan").name == "Jonathan"  # type: ignore[union-attr]

    again = jcfix("play", "fix-takeover-blockers", "-i", str(inventory), "--plain", "--apply")
    recap = _recap(again.stdout)
    assert set(recap.values()) <= {"ok", "pending", "blocked"}, recap  # blocked: the agent hosts, no fix
    assert all(recap[name] == "ok" for name in FIXED_HOSTS)
    assert again.returncode == ExitCode.CHANGED  # pending PIN removal and the guided MSA conversion


def test_readiness_playbook_is_read_only_and_exits_with_blockers(
    lab_fleet: Callable[..., tuple[LabFleet, Path]], jcfix: Jcfix
) -> None:
    _, inventory = lab_fleet("mixed")
    result = jcfix("play", "takeover-readiness", "-i", str(inventory), "--plain", "--limit", "lab-case,lab-healthy")
    assert result.returncode == ExitCode.BLOCKERS, result.stderr
    assert "read-only" in result.stdout and "check mode" not in result.stdout
    assert "lab-case: ok" in result.stdout and "CASE_MISMATCH Jonathan" in result.stdout
    # A host whose diagnosis found a blocker is "blocked" in the recap, never "ok" (issue 13 item 5).
    assert _recap(result.stdout) == {"lab-case": "blocked", "lab-healthy": "ok"}
    for name in ("provisioning-check", "verify-after-bind"):
        other = jcfix("play", name, "-i", str(inventory), "--quiet", "--limit", "lab-healthy,lab-provisioning")
        assert other.returncode in (ExitCode.OK, ExitCode.BLOCKERS), other.stdout + other.stderr
        assert "2 hosts: 2 ok" in other.stdout


def test_bad_playbook_and_bad_serial_are_usage_errors(tmp_path: Path, jcfix: Jcfix) -> None:
    playbook = tmp_path / "bad.yml"
    playbook.write_text("name: bad\nsteps:\n  - action: diagnose\n    when: 'x =='\n")
    inventory = tmp_path / "inv.yml"
    inventory.write_text("hosts:\n  pc-1: {address: 127.0.0.1}\n")
    result = jcfix("play", str(playbook), "-i", str(inventory))
    assert result.returncode == ExitCode.USAGE
    assert f"{playbook}:4: steps[0].when: expression ends too early" in result.stderr
    result = jcfix("play", "takeover-readiness", "-i", str(inventory), "--serial", "0%")
    assert result.returncode == ExitCode.USAGE and "--serial" in result.stderr
    result = jcfix("play", "no-such-playbook", "-i", str(inventory))
    assert result.returncode == ExitCode.USAGE and "takeover-readiness.yml" in result.stderr


def test_max_fail_percent_on_the_faults_lab_via_the_cli(
    lab_fleet: Callable[..., tuple[LabFleet, Path]], jcfix: Jcfix
) -> None:
    _, inventory = lab_fleet("faults")
    result = jcfix(
        "play",
        "takeover-readiness",
        "-i",
        str(inventory),
        "--plain",
        "--serial",
        "1,2",
        "--max-fail-percent",
        "40",
        "--retries",
        "0",
        "--deadline",
        "6",
        "--read-timeout",
        "3",
        "--operation-timeout",
        "1",
    )
    assert result.returncode == ExitCode.FAILED, result.stdout + result.stderr
    recap = _recap(result.stdout)
    assert len(recap) == 14
    assert recap["fault-none"] == recap["fault-latency"] == "ok" and recap["fault-reject-auth"] == "failed"
    assert list(recap.values()).count("skipped") == 11
    assert "stopped starting hosts: max-fail-percent 40 exceeded" in result.stdout


SLOW_SCENARIO = """\
name: slow
description: hosts whose scripts take a while, to interrupt a run
defaults:
  users:
    - {name: alice, full_name: Alice Example, rid: 1001, profile_path: 'C:\\\\Users\\\\alice'}
  jc_users: [alice]
  faults: {script_delay_s: 1.5}
hosts:
""" + "".join(f"  - hostname: slow-{i:02d}\n" for i in range(12))


def test_ctrl_c_stops_new_hosts_and_still_prints_a_complete_recap(
    tmp_path: Path, jcfix_environment: dict[str, str]
) -> None:
    scenario = tmp_path / "slow.yaml"
    scenario.write_text(SLOW_SCENARIO)
    inventory, ready = tmp_path / "inv.yaml", tmp_path / "ready"
    env = jcfix_environment
    lab = subprocess.Popen(
        [
            *(sys.executable, "-m", "toolkit.lab.server", "--scenario", str(scenario), "--addressing", "ports"),
            *("--inventory", str(inventory), "--ready-file", str(ready)),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        limit = time.monotonic() + 60
        while not ready.exists() and time.monotonic() < limit:
            time.sleep(0.1)
        assert ready.exists(), "the lab did not start"
        assert len(load_inventory(inventory)) == 12
        play = subprocess.Popen(
            [
                *(sys.executable, "-m", "toolkit", "play", "takeover-readiness", "-i", str(inventory), "--plain"),
                *("--forks", "2", "--html", str(tmp_path / "report.html")),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert play.stdout is not None
        # Wait until the first host has finished, then interrupt mid-run.
        first = play.stdout.readline()
        while first and not first.startswith("slow-"):
            first = play.stdout.readline()
        assert first.startswith("slow-"), first
        play.send_signal(signal.SIGINT)
        out, err = play.communicate(timeout=60)
    finally:
        lab.send_signal(signal.SIGINT)
        try:
            lab.wait(timeout=30)
        except subprocess.TimeoutExpired:
            lab.kill()
    assert play.returncode == 130, err
    assert "interrupted: no new hosts start" in err
    recap = _recap(first + out)
    assert sorted(recap) == [f"slow-{i:02d}" for i in range(12)]  # every host has a status
    assert "ok" in recap.values() and "skipped" in recap.values()
    assert "interrupted before it started" in out
    assert (tmp_path / "report.html").stat().st_size > 0  # the report is still written


@pytest.mark.parametrize("flag", ["--quiet", "--plain"])
def test_quiet_and_plain_modes_have_no_colour_codes(
    lab_fleet: Callable[..., tuple[LabFleet, Path]], jcfix: Jcfix, flag: str
) -> None:
    _, inventory = lab_fleet("healthy")
    result = jcfix("play", "takeover-readiness", "-i", str(inventory), flag)
    assert result.returncode == ExitCode.OK, result.stderr
    assert "\x1b[" not in result.stdout
    assert "1 host: 1 ok" in result.stdout
    if flag == "--quiet":
        assert "lab-healthy" not in result.stdout  # quiet lists only hosts that are not ok


def _without_jc_users(node: object) -> object:
    if isinstance(node, dict):
        return {k: _without_jc_users(v) for k, v in node.items() if k != "jc_users"}
    if isinstance(node, list):
        return [_without_jc_users(v) for v in node]
    return node


def test_a_finding_without_a_target_name_is_skipped_not_failed(
    lab_fleet: Callable[..., tuple[LabFleet, Path]], jcfix: Jcfix, tmp_path: Path
) -> None:
    import yaml

    _, inventory = lab_fleet("space")
    bare = tmp_path / "no-jc-users.yaml"
    bare.write_text(yaml.safe_dump(_without_jc_users(yaml.safe_load(inventory.read_text()))))
    # No JumpCloud usernames: the spaced name is a blocker with no name to rename it to.
    result = jcfix("play", "fix-takeover-blockers", "-i", str(bare), "--plain", "--apply")
    assert result.returncode != ExitCode.FAILED, result.stdout + result.stderr
    assert "the finding gives no NewName" in result.stdout, result.stdout
    assert "NoneType" not in result.stdout + result.stderr
