"""No diagnosis says both "the account will appear (or be taken over)" and "it will not" (issue 12).

Every lab scenario, with the JumpCloud API stand-in running, through the real CLI: once with the users the
inventory expects, once with none given (the users come from each device's JumpCloud bindings). For every
user on every host, a prediction (``PROVISION_EXPECTED``, ``TAKEOVER_READY``) never stands beside a
finding that says the account will not appear or not be taken over; ``PROVISION_BLOCKED`` says what stops
it instead. The codes that stop an account are written out here, from the issue, not imported from the
rules, so the rules cannot grade themselves.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from jc_support import JcLab, jc_lab, json_out

from toolkit.exitcodes import ExitCode
from toolkit.rules.outcomes import IMPLIES

SCENARIOS = sorted(p.stem for p in (Path(__file__).parents[2] / "toolkit/lab/scenarios").glob("*.yaml"))
# A hung host must not hold the test up: the faults scenarios have some.
BOUNDS = ("--deadline", "4", "--operation-timeout", "1", "--read-timeout", "3")

PROMISES = {"PROVISION_EXPECTED", "TAKEOVER_READY"}
# The account will not appear / not be (fully) taken over for this user until fixed (as a blocker).
STOPS_USER = {
    "JC_USER_NOT_FOUND",
    "JC_USER_CASE_ONLY_MATCH",
    "JC_USERNAME_INVALID",
    "NOT_BOUND_TO_DEVICE",
    "NO_INITIAL_PASSWORD",
    "JC_USER_STAGED",
    "START_DATE_IN_FUTURE",
    "JC_USER_SUSPENDED",
    "JC_ACCOUNT_LOCKED",
    "CASE_MISMATCH",
    "FULLNAME_ONLY_MATCH",
    "USERNAME_HAS_SPACE",
    "MSA_LINKED",
    "HELLO_PIN_SET",
    "PICTURE_PASSWORD_SET",
}
# ... for every user of the device, whatever the severity of AGENT_OFFLINE ("next sync" is not in sight).
STOPS_DEVICE = {"AGENT_NOT_INSTALLED", "AGENT_NOT_RUNNING", "DEVICE_NOT_IN_JUMPCLOUD", "AGENT_OFFLINE"}


def _stoppers(findings: list[dict[str, Any]], user: str) -> set[str]:
    return {
        f["code"]
        for f in findings
        if (f["subject"] == user and f["code"] in STOPS_USER and f["severity"] == "blocker")
        or (f["subject"] is None and f["code"] in STOPS_DEVICE)
    }


def check_host(host: dict[str, Any]) -> list[str]:
    """Every contradiction in one host's diagnosis, in words (empty: none)."""
    problems = []
    findings = host["findings"]
    for user in host["jc_users"]:
        codes = {f["code"] for f in findings if f["subject"] == user}
        stoppers = _stoppers(findings, user)
        if codes & PROMISES and stoppers:
            problems.append(f"{host['host']}/{user}: {sorted(codes & PROMISES)} beside {sorted(stoppers)}")
        if {"PROVISION_EXPECTED", "PROVISION_BLOCKED"} <= codes or (codes & PROMISES) == PROMISES:
            problems.append(f"{host['host']}/{user}: both {sorted(codes)}")
        blocked = [f for f in findings if f["subject"] == user and f["code"] == "PROVISION_BLOCKED"]
        if blocked and set(blocked[0]["evidence"]["blocked_by"]) != stoppers:
            problems.append(f"{host['host']}/{user}: PROVISION_BLOCKED names {blocked[0]['evidence']} not {stoppers}")
    return problems


def diagnose(lab: JcLab, inventory: Path) -> dict[str, Any]:
    args = ("--inventory", str(inventory), "--http", "--auth", "basic")
    result = lab.jcfix("diagnose", *args, "-o", "json", *BOUNDS)
    document = json_out(result)
    statuses = {h["status"] for h in document["hosts"]}
    blockers = sum(h["blockers"] for h in document["hosts"])
    if statuses <= {"ok"}:  # never an all-clear exit beside a blocker
        assert result.returncode == (ExitCode.BLOCKERS if blockers else ExitCode.OK), result.stderr[-2000:]
    else:
        assert result.returncode in (ExitCode.UNREACHABLE, ExitCode.FAILED), result.stderr[-2000:]
    return document


@pytest.fixture(params=SCENARIOS)
def lab(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[JcLab]:
    with jc_lab(request.param, tmp_path) as running:
        yield running


def without_jc_users(inventory: Path) -> Path:
    document = yaml.safe_load(inventory.read_text(encoding="utf-8"))
    for entry in document["hosts"].values():
        entry.pop("jc_users", None)
    bare = inventory.with_name("bare-" + inventory.name)
    bare.write_text(yaml.safe_dump(document), encoding="utf-8")
    return bare


def test_no_contradictory_findings_on_any_scenario(lab: JcLab) -> None:
    given = diagnose(lab, lab.inventory)
    bound = diagnose(lab, without_jc_users(lab.inventory))
    problems = [p for document in (given, bound) for host in document["hosts"] for p in check_host(host)]
    assert problems == []
    emitted = {f["code"] for document in (given, bound) for host in document["hosts"] for f in host["findings"]}
    assert emitted <= set(IMPLIES), emitted - set(IMPLIES)  # every code says what it implies
    # Without -j or jc_users the API's bindings name the users: where the list came from is said.
    for host in bound["hosts"]:
        if host["status"] == "ok":
            assert host["jc_users_from"] in ("jumpcloud", "none"), host
            assert host["jc_users_from"] == "jumpcloud" or host["notes"], host


def test_the_jumpcloud_scenario_says_what_blocks_instead(tmp_path: Path) -> None:
    """The pairs the issue saw (PROVISION_EXPECTED beside JC_USER_NOT_FOUND...) are each replaced, and every
    JumpCloud-side fix runs as printed."""
    with jc_lab("jumpcloud", tmp_path) as lab:
        hosts = {h["host"]: h for h in diagnose(lab, lab.inventory)["hosts"]}
        # Each JumpCloud-side fix pastes as printed (fixed names: jc-unlock, jc-bind, jc-activate...).
        fixes = {f["code"]: f["fix"] for h in hosts.values() for f in h["findings"] if " jc-" in (f["fix"] or "")}
        for fix in fixes.values():
            pasted = lab.jcfix(*shlex.split(fix)[1:], "--dry-run")
            assert pasted.returncode == ExitCode.OK and "dry run" in pasted.stdout, fix + pasted.stderr
    assert set(fixes) == {
        "NO_INITIAL_PASSWORD",
        "START_DATE_IN_FUTURE",
        "JC_USER_STAGED",
        "JC_USER_SUSPENDED",
        "JC_ACCOUNT_LOCKED",
        "NOT_BOUND_TO_DEVICE",
        "JC_LOCAL_ACCOUNT_OPTION",
    }
    blocked = {
        (name, f["subject"]): f["evidence"]["blocked_by"]
        for name, host in hosts.items()
        for f in host["findings"]
        if f["code"] == "PROVISION_BLOCKED"
    }
    assert blocked == {
        ("lab-jc-nopw", "newhire"): ["NO_INITIAL_PASSWORD"],
        ("lab-jc-future", "starter"): ["START_DATE_IN_FUTURE"],
        ("lab-jc-staged", "stager"): ["JC_USER_STAGED"],
        ("lab-jc-unbound", "ursula"): ["NOT_BOUND_TO_DEVICE"],
        ("lab-jc-names", "ghost"): ["JC_USER_NOT_FOUND"],
        ("lab-jc-names", "casey"): ["JC_USER_CASE_ONLY_MATCH"],
        ("lab-jc-gone", "alice"): ["DEVICE_NOT_IN_JUMPCLOUD"],
        ("lab-jc-offline", "olivia"): ["AGENT_OFFLINE"],
    }
    assert not any(f["code"] == "PROVISION_EXPECTED" for host in hosts.values() for f in host["findings"])
