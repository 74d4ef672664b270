"""Every JumpCloud finding from the ``jumpcloud`` lab scenario, through the real CLI, WinRM and the API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jc_support import JcLab, jc_lab, json_out

JC_CODES = {
    "JC_USER_NOT_FOUND",
    "JC_USER_CASE_ONLY_MATCH",
    "NO_INITIAL_PASSWORD",
    "START_DATE_IN_FUTURE",
    "JC_USER_STAGED",
    "JC_USER_SUSPENDED",
    "JC_ACCOUNT_LOCKED",
    "NOT_BOUND_TO_DEVICE",
    "DEVICE_NOT_IN_JUMPCLOUD",
    "AGENT_OFFLINE",
    "JC_LOCAL_ACCOUNT_OPTION",
}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JcLab]:
    with jc_lab("jumpcloud", tmp_path_factory.mktemp("jc")) as running:
        yield running


@pytest.fixture(scope="module")
def diagnosis(lab: JcLab) -> dict[str, Any]:
    lab.api.seen.clear()
    result = lab.jcfix("diagnose", *lab.winrm(), "--output", "json")
    assert result.returncode == 6, result.stderr
    assert lab.api.api_key not in result.stdout + result.stderr
    return {h["host"]: h for h in json_out(result)["hosts"]}


def findings(diagnosis: dict[str, Any], host: str) -> dict[tuple[str, str | None], dict[str, Any]]:
    return {(f["code"], f["subject"]): f for f in diagnosis[host]["findings"]}


@pytest.mark.parametrize(
    ("host", "code", "subject", "fix"),
    [
        ("lab-jc-nopw", "NO_INITIAL_PASSWORD", "newhire", "jcfix fix jc-activate --jc-user newhire"),
        ("lab-jc-future", "START_DATE_IN_FUTURE", "starter", "jcfix fix jc-activate --jc-user starter --activate-now"),
        ("lab-jc-staged", "JC_USER_STAGED", "stager", "jcfix fix jc-activate --jc-user stager"),
        (
            "lab-jc-suspended",
            "JC_USER_SUSPENDED",
            "sam",
            "jcfix fix jc-activate --jc-user sam --reactivate-suspended",
        ),
        ("lab-jc-locked", "JC_ACCOUNT_LOCKED", "lou", "jcfix fix jc-unlock --jc-user lou"),
        (
            "lab-jc-unbound",
            "NOT_BOUND_TO_DEVICE",
            "ursula",
            "jcfix fix jc-bind --jc-user ursula --system-id {system_key}",
        ),
        ("lab-jc-names", "JC_USER_NOT_FOUND", "ghost", None),
        ("lab-jc-names", "JC_USER_CASE_ONLY_MATCH", "casey", None),
        ("lab-jc-gone", "DEVICE_NOT_IN_JUMPCLOUD", None, None),
        ("lab-jc-offline", "AGENT_OFFLINE", None, None),
        (
            "lab-jc-local",
            "JC_LOCAL_ACCOUNT_OPTION",
            "Jonathan",
            "jcfix fix jc-local-account --jc-user Jonathan --to jonathan",
        ),
    ],
)
def test_each_finding_with_console_words_and_fix(
    diagnosis: dict[str, Any], host: str, code: str, subject: str | None, fix: str | None
) -> None:
    found = findings(diagnosis, host)
    assert (code, subject) in found, sorted(found)
    finding = found[(code, subject)]
    # {system_key}: the device's systemKey, the id jc-bind takes (the stand-in makes each lab's unique).
    assert finding["fix"] == (fix.format(system_key=diagnosis[host]["decided"]["system_key"]) if fix else None)
    assert any(word in finding["message"] for word in ("Users >", "Devices >", "console", "inventory"))


def test_start_date_says_when_and_severities(diagnosis: dict[str, Any]) -> None:
    future = findings(diagnosis, "lab-jc-future")[("START_DATE_IN_FUTURE", "starter")]
    assert future["evidence"]["scheduled_activation"][:10] in future["message"]
    assert findings(diagnosis, "lab-jc-offline")[("AGENT_OFFLINE", None)]["severity"] == "blocker"


def test_a_healthy_host_has_no_jumpcloud_finding(diagnosis: dict[str, Any]) -> None:
    codes = {code for code, _ in findings(diagnosis, "lab-jc-ok")}
    assert codes == {"TAKEN_OVER"}


def test_matching_uses_the_local_user_account(diagnosis: dict[str, Any]) -> None:
    """jsmith's Local User Account is john.smith, which exists: ready, not 'to provision'."""
    found = findings(diagnosis, "lab-jc-local")
    assert ("TAKEOVER_READY", "jsmith") in found
    assert found[("TAKEOVER_READY", "jsmith")]["evidence"]["local_username"] == "john.smith"
    assert ("PROVISION_EXPECTED", "jsmith") not in found


def test_the_api_is_read_once_per_run(lab: JcLab, diagnosis: dict[str, Any]) -> None:
    assert len(lab.api.requests_to("GET", "/api/systemusers")) == 1
    assert len(lab.api.requests_to("GET", r"/api/systems/\w+")) == len(diagnosis)


def test_no_jc_api_leaves_jumpcloud_out(lab: JcLab) -> None:
    result = lab.jcfix("diagnose", *lab.winrm(), "--limit", "lab-jc-nopw", "--no-jc-api", "--output", "json")
    codes = {f["code"] for h in json_out(result)["hosts"] for f in h["findings"]}
    assert codes and not codes & JC_CODES


def test_a_bad_key_warns_and_diagnoses_the_devices_anyway(lab: JcLab) -> None:
    result = lab.jcfix(
        "diagnose", *lab.winrm(), "--limit", "lab-jc-local", "--output", "json", JCFIX_JC_API_KEY="not-the-key"
    )
    assert "HTTP 401" in result.stderr and "not-the-key" not in result.stderr + result.stdout
    codes = {f["code"] for h in json_out(result)["hosts"] for f in h["findings"]}
    assert "CASE_MISMATCH" in codes and not codes & JC_CODES
    forced = lab.jcfix("diagnose", *lab.winrm(), "--jc-api", "--limit", "lab-jc-local", JCFIX_JC_API_KEY="bad")
    assert forced.returncode == 3 and "HTTP 401" in forced.stderr


def test_jumpcloud_inventory_lists_windows_devices_with_their_bound_users(lab: JcLab, tmp_path: Path) -> None:
    result = lab.jcfix(
        "diagnose", "--inventory", f"jumpcloud:{lab.inventory}", "--http", "--auth", "basic", "-o", "json"
    )
    hosts = {h["host"]: h for h in json_out(result)["hosts"]}
    assert "lab-jc-gone" not in hosts and len(hosts) == 10
    assert hosts["lab-jc-local"]["jc_users"] == ["Jonathan", "jsmith"]
    assert hosts["lab-jc-unbound"]["jc_users"] == []
    assert hosts["lab-jc-ok"]["status"] == "ok"
