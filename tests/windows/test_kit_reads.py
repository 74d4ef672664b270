"""Every read on a host set up by setup-host.ps1: ``users list`` and ``diagnose`` on each of the article's cases.

Each expectation comes from what the kit built (its summary: names, SIDs, the fake agent) and is checked
against what jcfix reports; where it matters, the host is also asked directly (:class:`winkit.HostShell`).
"""

from __future__ import annotations

from typing import Any

import pytest
from winkit import MARKS, HostShell, codes, decided, diagnose, fact_user, finding, jcfix, kit_accounts, one_document

from toolkit.exitcodes import ExitCode

pytestmark = MARKS

# case (setup-host.ps1) -> the finding jcfix must report for the case's JumpCloud user, and its severity.
EXPECTED: dict[str, tuple[str, str]] = {
    "space": ("USERNAME_HAS_SPACE", "blocker"),
    "case": ("CASE_MISMATCH", "blocker"),
    "fullname": ("FULLNAME_ONLY_MATCH", "blocker"),
    "disabled": ("ACCOUNT_DISABLED", "warning"),
    "pin_ngc": ("HELLO_PIN_SET", "blocker"),
    "pin_provider": ("HELLO_PIN_SET", "blocker"),  # issue 10, defect 4: the second PIN marker counts too
    "picture": ("PICTURE_PASSWORD_SET", "blocker"),
    "managed": ("TAKEN_OVER", "info"),  # two users in managedUsers.json: defect 3
    "provisioned": ("PROVISIONED", "info"),
}
# The partial-takeover markers no other case may show (a marker read for the wrong SID would).
MARKER_CODES = {"HELLO_PIN_SET", "PICTURE_PASSWORD_SET"}


@pytest.fixture(scope="module")
def diagnosis(kit: dict[str, Any]) -> dict[str, Any]:
    """One diagnose of every JumpCloud user the kit's cases expect."""
    return diagnose(*[a["jc_user"] for a in kit["accounts"]])


@pytest.fixture(scope="module")
def listing(kit: dict[str, Any]) -> dict[str, Any]:
    result = jcfix("users", "list", "-o", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    document = one_document(result)
    assert document["status"] == "ok"
    return {u["sid"].upper(): u for u in document["data"]["users"]}


def test_users_list_shows_every_kit_account_as_built(kit: dict[str, Any], listing: dict[str, Any]) -> None:
    for account in kit["accounts"]:
        user = listing[account["sid"].upper()]
        assert user["name"] == account["name"]  # exact letter case, space included
        assert user["full_name"] == account["full_name"]
        assert user["enabled"] is (account["case"] != "disabled")
        assert user["principal_source"] == "Local"


def test_users_list_agrees_with_the_host(kit: dict[str, Any], listing: dict[str, Any], shell: HostShell) -> None:
    direct = shell.json(
        "ConvertTo-Json -Compress -InputObject @(Get-LocalUser | ForEach-Object { "
        "[ordered]@{ sid = $_.SID.Value; name = $_.Name; enabled = $_.Enabled } })"
    )
    assert {u["sid"].upper(): (u["name"], u["enabled"]) for u in direct} == {
        sid: (u["name"], u["enabled"]) for sid, u in listing.items()
    }


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_diagnose_reports_each_case(kit: dict[str, Any], diagnosis: dict[str, Any], case: str) -> None:
    code, severity = EXPECTED[case]
    for account in kit_accounts(kit, case):
        found = finding(diagnosis, code, account["jc_user"])
        assert found["severity"] == severity
        if "local_username" in found["evidence"]:
            assert found["evidence"]["local_username"] == account["name"]
        if code not in MARKER_CODES:
            assert not codes(diagnosis, account["jc_user"]) & MARKER_CODES, f"{account['name']} has no marker"


def test_pin_markers_are_reported_by_kind(kit: dict[str, Any], diagnosis: dict[str, Any]) -> None:
    (ngc,) = kit_accounts(kit, "pin_ngc")
    (provider,) = kit_accounts(kit, "pin_provider")
    assert fact_user(diagnosis, ngc["sid"])["pin_markers"] == ["ngc_pin"]
    assert fact_user(diagnosis, provider["sid"])["pin_markers"] == ["pin_provider"]
    (picture,) = kit_accounts(kit, "picture")
    assert fact_user(diagnosis, picture["sid"])["picture_password"] is True
    assert fact_user(diagnosis, picture["sid"])["hello_pin"] is False


def test_fix_commands_name_the_local_account(kit: dict[str, Any], diagnosis: dict[str, Any]) -> None:
    for case, code in (("space", "USERNAME_HAS_SPACE"), ("case", "CASE_MISMATCH"), ("fullname", "FULLNAME_ONLY_MATCH")):
        (account,) = kit_accounts(kit, case)
        fix = finding(diagnosis, code, account["jc_user"])["fix"]
        assert "rename" in fix and account["jc_user"] in fix and account["name"].split()[0] in fix


def test_the_fake_agent_is_read(kit: dict[str, Any], diagnosis: dict[str, Any]) -> None:
    host_codes = codes(diagnosis)
    assert "AGENT_NOT_INSTALLED" in host_codes  # files only, no jumpcloud-agent service
    assert sorted(decided(diagnosis, "managed_users")) == sorted(kit["agent"]["managed_users"])
    assert decided(diagnosis, "system_key") == kit["agent"]["system_key"]
    lines = finding(diagnosis, "AGENT_LOG_ERRORS")["evidence"]["lines"]
    assert len(lines) == 2
    assert "[WARN] jcfix test kit: User karen is disabled" in lines[0]
    assert "[ERROR] jcfix test kit: Locking user jonathan" in lines[1]


def test_facts_describe_this_endpoint(diagnosis: dict[str, Any]) -> None:
    facts = diagnosis["facts"]
    assert facts["ps_version"].startswith("5.1.")
    assert facts["is_64bit_process"] is True and facts["localaccounts_available"] is True
    assert facts.get("elevated", True) is True


def test_a_jc_user_matching_nothing_is_provision_blocked(diagnosis: dict[str, Any]) -> None:
    # The kit host has no JumpCloud agent: nothing will create the account, and the diagnosis says so
    # (PROVISION_BLOCKED, naming the agent finding) instead of promising it at the next sync.
    result = diagnose("jcfixkit-nobody")
    assert codes(result, "jcfixkit-nobody") == {"PROVISION_BLOCKED"}
    assert diagnosis["facts"]["computer_name"] == result["facts"]["computer_name"]


def test_verify_provisioned_sees_the_managed_users() -> None:
    done = jcfix("verify", "provisioned", "-j", "alice", "-j", "bob", "--wait", "5s", "--interval", "1s")
    assert done.returncode == ExitCode.OK, done.stdout + done.stderr
    assert done.stdout.count("taken over") == 2
    waiting = jcfix("verify", "provisioned", "-j", "jcfixkit-nobody", "--wait", "2s", "--interval", "1s")
    assert waiting.returncode == ExitCode.TIMEOUT and "gave up" in waiting.stderr
