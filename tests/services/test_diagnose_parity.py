"""One diagnosis for every entry point: ``jcfix play provisioning-check`` sees what ``jcfix diagnose`` sees.

On the ``jumpcloud`` lab scenario most blockers are on JumpCloud's side (no initial password, a future
start date, staged, suspended...): a playbook's ``diagnose`` step must report them too, host by host.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jc_support import JcLab, jc_lab, json_out

from toolkit.exitcodes import ExitCode

JC_SIDE = {"NO_INITIAL_PASSWORD", "START_DATE_IN_FUTURE", "JC_USER_STAGED", "JC_USER_SUSPENDED"}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JcLab]:
    with jc_lab("jumpcloud", tmp_path_factory.mktemp("parity")) as running:
        yield running


# How a printed fix reaches the hosts (``jcfix diagnose`` adds the run's own so the command pastes): not
# part of what the diagnosis decided, so left out of the comparison.
_REACH = {"-i", "--inventory", "--limit", "--host", "-H", "--auth", "--jc-org-id"}
_REACH_FLAGS = {"--http", "--https"}


def _decided_fix(fix: str | None) -> tuple[str, ...] | None:
    if fix is None:
        return None
    words = shlex.split(fix)
    kept: list[str] = []
    skip = False
    for word in words:
        if skip:
            skip = False
        elif word in _REACH:
            skip = True
        elif word not in _REACH_FLAGS:
            kept.append(word)
    return tuple(kept)


def _key(finding: dict[str, Any]) -> tuple[str, str, str | None, tuple[str, ...] | None]:
    return (finding["code"], finding["severity"], finding["subject"], _decided_fix(finding["fix"]))


def test_play_and_diagnose_report_the_same_findings_for_every_host(lab: JcLab) -> None:
    diagnosed = lab.jcfix("diagnose", *lab.winrm(), "--output", "json")
    assert diagnosed.returncode == ExitCode.BLOCKERS, diagnosed.stderr[-2000:]
    by_diagnose = {h["host"]: sorted(map(_key, h["findings"])) for h in json_out(diagnosed)["hosts"]}

    played = lab.jcfix("play", "provisioning-check", *lab.winrm(), "--output", "json", "--plain")
    assert played.returncode == ExitCode.BLOCKERS, played.stderr[-2000:]
    lines = [json.loads(line) for line in played.stdout.splitlines()]
    by_play = {
        line["host"]: sorted(map(_key, line["findings"]))
        for line in lines
        if line["type"] == "step" and line["action"] == "collect_facts"
    }

    assert set(by_play) == set(by_diagnose) == {h.hostname for h in lab.fleet.hosts}
    for host, findings in by_diagnose.items():
        assert by_play[host] == findings, host
    jc_side = {code for findings in by_play.values() for code, *_ in findings} & JC_SIDE
    assert jc_side == JC_SIDE  # the JumpCloud-side blockers reached the playbook
    # The recap counts the same blocked hosts as diagnose does.
    blocked = sum(1 for findings in by_diagnose.values() if any(sev == "blocker" for _, sev, *_ in findings))
    assert f"{blocked} with blockers" in played.stderr


def test_play_without_the_api_leaves_jumpcloud_out(lab: JcLab, tmp_path: Path) -> None:
    played = lab.jcfix(
        "play", "provisioning-check", *lab.winrm(), "--limit", "lab-jc-nopw", "--no-jc-api", "--output", "json"
    )
    steps = [json.loads(line) for line in played.stdout.splitlines() if json.loads(line)["type"] == "step"]
    codes = {f["code"] for step in steps for f in step["findings"]}
    assert codes and not codes & JC_SIDE, played.stdout[-3000:] + played.stderr[-2000:]
