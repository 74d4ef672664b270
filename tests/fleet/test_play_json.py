"""``jcfix play --output json``: stdout is only JSON Lines, one object per host and step, streamed."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

from toolkit.exitcodes import ExitCode
from toolkit.lab.fleet import LabFleet


def test_play_streams_one_json_object_per_host_and_step(
    lab_fleet: Callable[..., tuple[LabFleet, Path]], jcfix: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    fleet, inventory = lab_fleet("mixed")
    result = jcfix("play", "takeover-readiness", "-i", str(inventory), "--output", "json", "--plain")
    assert result.returncode == ExitCode.BLOCKERS, result.stderr[-2000:]
    lines = [json.loads(line) for line in result.stdout.splitlines()]  # every stdout line is JSON
    kinds = [line["type"] for line in lines]
    assert kinds[0] == "run" and kinds[-1] == "summary"
    hosts = {h.hostname for h in fleet.hosts}
    assert {line["host"] for line in lines if line["type"] == "host"} == hosts
    steps = [line for line in lines if line["type"] == "step"]
    assert {line["host"] for line in steps} == hosts
    case = next(line for line in steps if line["host"] == "lab-case")
    assert "CASE_MISMATCH" in {f["code"] for f in case["findings"]}
    assert "RECAP" in result.stderr or "host(s)" in result.stderr  # the people-facing recap went to stderr


def test_play_refuses_an_unknown_output_format(jcfix: Callable[..., subprocess.CompletedProcess[str]]) -> None:
    result = jcfix("play", "takeover-readiness", "-H", "pc-1", "--output", "xml")
    assert result.returncode == ExitCode.USAGE
    assert "--output must be one of" in result.stderr


def test_reports_use_the_playbooks_own_diagnosis(
    lab_fleet: Callable[..., tuple[LabFleet, Path]],
    jcfix: Callable[..., subprocess.CompletedProcess[str]],
    tmp_path: Path,
) -> None:
    # The inventory expects 'alice' on lab-healthy (ready); this playbook asks about 'ALICE' (a case
    # mismatch). The streamed findings, the JUnit report and the exit code must all judge by the playbook's.
    _, inventory = lab_fleet("healthy")
    playbook = tmp_path / "custom.yml"
    playbook.write_text(
        "name: custom users\nsteps:\n  - name: Diagnose\n    action: diagnose\n    params: {jc_users: [ALICE]}\n"
    )
    junit = tmp_path / "report.xml"
    result = jcfix("play", str(playbook), "-i", str(inventory), "--output", "json", "--junit", str(junit))
    assert result.returncode == ExitCode.BLOCKERS, result.stderr[-2000:]
    (step,) = [json.loads(line) for line in result.stdout.splitlines() if json.loads(line)["type"] == "step"]
    assert {f["code"] for f in step["findings"]} == {"CASE_MISMATCH"}
    assert "CASE_MISMATCH" in junit.read_text(encoding="utf-8")
