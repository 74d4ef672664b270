"""Every diagnosis rule over hand-made facts, with the edge cases that trip a naive matcher."""

from __future__ import annotations

import json
from typing import Any

import pytest
from factsupport import MACHINE, host_facts, session
from factsupport import account as v2_account

from toolkit.facts import AccountFacts, HostFacts
from toolkit.naming import jumpcloud_name_problems, name_problems, space_name_forms, windows_name_problems
from toolkit.rules import Finding, diagnose

SID = MACHINE


def account(name: str, rid: int = 1001, **overrides: Any) -> AccountFacts:
    return v2_account(name, rid, **overrides)


def facts(
    *users: AccountFacts,
    managed: list[str] | None = None,
    system_key: str | None = "abc123",
    log_lines: list[str] | None = None,
    agent: dict[str, Any] | None = None,
    **overrides: Any,
) -> HostFacts:
    """v2 facts: ``managed`` becomes managedUsers.json, ``log_lines`` the log tail, as the host sends them."""
    return host_facts(
        *users,
        managed_users=json.dumps([{"username": name} for name in managed or []]).encode(),
        agent_conf=json.dumps({"systemKey": system_key}).encode() if system_key else b"{}",
        log_tail="".join(f"{line}\r\n" for line in log_lines or []).encode(),
        agent=agent,
        **overrides,
    )


def codes(findings: list[Finding], subject: str | None = "any") -> set[str]:
    return {f.code for f in findings if subject == "any" or f.subject == subject}


def only(findings: list[Finding], code: str) -> Finding:
    matching = [f for f in findings if f.code == code]
    assert len(matching) == 1, (code, findings)
    return matching[0]


def test_exact_match_with_nothing_wrong_is_ready() -> None:
    findings = diagnose("pc-1", facts(account("Jonathan")), ["Jonathan"])
    assert codes(findings) == {"TAKEOVER_READY"}
    assert only(findings, "TAKEOVER_READY").severity == "info"


def test_taken_over_when_the_agent_manages_it() -> None:
    findings = diagnose("pc-1", facts(account("jdoe"), managed=["jdoe"]), ["jdoe"])
    assert codes(findings) == {"TAKEN_OVER"}


def test_provisioned_account_is_recognised_by_its_description() -> None:
    created = account("jdoe", description="Created by Jumpcloud")
    findings = diagnose("pc-1", facts(created, managed=["jdoe"]), ["jdoe"])
    assert codes(findings) == {"TAKEN_OVER", "PROVISIONED"}


def test_no_local_account_means_the_agent_will_provision() -> None:
    findings = diagnose("pc-1", facts(account("someone")), ["newhire"])
    finding = only(findings, "PROVISION_EXPECTED")
    assert finding.fix == "jcfix verify provisioned --host pc-1 --jc-user newhire"


def test_case_mismatch_suggests_the_rename() -> None:
    findings = diagnose("pc-1", facts(account("jonathan")), ["Jonathan"])
    finding = only(findings, "CASE_MISMATCH")
    assert finding.severity == "blocker"
    assert finding.fix == "jcfix fix rename --host pc-1 --user jonathan --to Jonathan"
    assert "TAKEOVER_READY" not in codes(findings)


def test_case_mismatch_that_is_also_a_full_name_match_is_reported_once_as_case() -> None:
    findings = diagnose("pc-1", facts(account("jonathan", full_name="Jonathan")), ["Jonathan"])
    assert codes(findings) == {"CASE_MISMATCH"}
    assert "Full Name matches too" in only(findings, "CASE_MISMATCH").message


def test_two_accounts_differing_only_in_case_prefer_the_exact_one() -> None:
    # Windows does not normally allow this; if facts show it, the exact account is the one the agent takes.
    findings = diagnose("pc-1", facts(account("jonathan", 1001), account("Jonathan", 1002)), ["Jonathan"])
    assert codes(findings) == {"TAKEOVER_READY"}
    assert only(findings, "TAKEOVER_READY").evidence["sid"].endswith("-1002")


def test_full_name_only_match_names_the_username() -> None:
    findings = diagnose("pc-1", facts(account("jsmith2", full_name="john.smith")), ["john.smith"])
    finding = only(findings, "FULLNAME_ONLY_MATCH")
    assert finding.evidence["local_username"] == "jsmith2"
    assert "'jsmith2'" in finding.message
    assert finding.fix == "jcfix fix rename --host pc-1 --user jsmith2 --to john.smith"


@pytest.mark.parametrize("jc_user", ["john.smith", "jsmith", "johnsmith", "john_smith", "John.Smith"])
def test_spaced_username_matching_the_jumpcloud_user_is_a_blocker(jc_user: str) -> None:
    findings = diagnose("pc-1", facts(account("john smith")), [jc_user])
    finding = only(findings, "USERNAME_HAS_SPACE")
    assert finding.severity == "blocker"
    assert finding.fix == f"jcfix fix rename --host pc-1 --user 'john smith' --to {jc_user}"


def test_unrelated_spaced_username_is_info() -> None:
    findings = diagnose("pc-1", facts(account("guest user"), account("jdoe", 1002)), ["jdoe"])
    finding = only(findings, "USERNAME_HAS_SPACE")
    assert finding.severity == "info"
    assert finding.subject is None
    assert "TAKEOVER_READY" in codes(findings)


@pytest.mark.parametrize(
    ("jc_user", "problem"),
    [
        ("john smith", "contains a space"),
        ("john@corp", "contains @"),
        ("1john", "does not start with a letter"),
        ("averyveryverylongusername", "longer than 20"),
        ("jo;hn", "Windows forbids"),
    ],
)
def test_invalid_jumpcloud_usernames(jc_user: str, problem: str) -> None:
    findings = diagnose("pc-1", facts(), [jc_user])
    finding = only(findings, "JC_USERNAME_INVALID")
    assert problem in finding.message
    assert finding.severity == "blocker"


def test_account_blockers_point_at_their_fixes() -> None:
    linked = account("jdoe", principal_source="MicrosoftAccount", hello_pin=True, picture_password=True)
    findings = diagnose("pc-1", facts(linked), ["jdoe"])
    assert codes(findings) == {"MSA_LINKED", "HELLO_PIN_SET", "PICTURE_PASSWORD_SET"}
    assert only(findings, "MSA_LINKED").fix == "jcfix fix convert-msa --host pc-1 --user jdoe"
    assert only(findings, "HELLO_PIN_SET").fix == "jcfix fix remove-pin --host pc-1 --user jdoe"
    assert only(findings, "PICTURE_PASSWORD_SET").fix == "jcfix fix remove-picture-password --host pc-1 --user jdoe"


def test_blockers_follow_a_case_mismatched_account() -> None:
    findings = diagnose("pc-1", facts(account("jonathan", hello_pin=True)), ["Jonathan"])
    assert codes(findings) == {"CASE_MISMATCH", "HELLO_PIN_SET"}


def test_disabled_and_signed_in_accounts() -> None:
    jdoe = account("jdoe", enabled=False, profile_loaded=True)
    findings = diagnose("pc-1", facts(jdoe, sessions=[session(jdoe.sid.lower(), "JDOE", "PC-1")]), ["jdoe"])
    assert only(findings, "ACCOUNT_DISABLED").severity == "warning"
    assert only(findings, "USER_SIGNED_IN").evidence["profile_loaded"] is True
    assert "PROFILE_LOADED" not in codes(findings)  # signed in says it all


def test_no_agent_at_all_blocks_everything() -> None:
    agent = {"installed": False, "service_state": None, "version": None}
    absent = host_facts(account("jdoe"), managed_users=None, agent_conf=None, log_tail=None, agent=agent)
    findings = diagnose("pc-1", absent, ["jdoe"])
    assert codes(findings) == {"AGENT_NOT_INSTALLED"}
    assert only(findings, "AGENT_NOT_INSTALLED").subject is None


def test_stopped_agent_and_log_errors() -> None:
    lines = ["2026/11/20 10:00:00 [123] [ERROR] failed to sync users"]
    findings = diagnose("pc-1", facts(account("jdoe"), agent={"service_state": "Stopped"}, log_lines=lines), [])
    assert codes(findings) == {"AGENT_NOT_RUNNING", "AGENT_LOG_ERRORS"}
    assert only(findings, "AGENT_LOG_ERRORS").evidence["lines"] == lines


def test_32_bit_endpoint_is_a_warning() -> None:
    findings = diagnose("pc-1", facts(localaccounts_available=False, is_64bit_process=False), [])
    assert only(findings, "LOCALACCOUNTS_UNAVAILABLE").severity == "warning"


def test_findings_are_sorted_blockers_first_and_duplicate_users_collapse() -> None:
    findings = diagnose("pc-1", facts(account("jonathan"), account("jdoe", 1002)), ["jdoe", "Jonathan", "jdoe"])
    assert [f.severity for f in findings] == sorted(
        (f.severity for f in findings), key={"blocker": 0, "warning": 1, "info": 2}.get
    )
    assert sum(f.code == "TAKEOVER_READY" for f in findings) == 1


def test_fix_commands_quote_hostile_names() -> None:
    findings = diagnose("pc-1", facts(account("john smith; rm -rf ~")), ["johnsmith"])
    spaced = only(findings, "USERNAME_HAS_SPACE")
    assert spaced.fix is None  # an unrelated spaced name gets no rename suggestion
    findings = diagnose("pc-1", facts(account("jo'hn", full_name="john.x")), ["john.x"])
    assert only(findings, "FULLNAME_ONLY_MATCH").fix == "jcfix fix rename --host pc-1 --user 'jo'\"'\"'hn' --to john.x"


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("Jonathan", True),
        ("a" * 20, True),
        ("a" * 21, False),
        ("john.", False),
        ("...", False),
        ("   ", False),
        ("a\x01b", False),
        *((f"a{c}b", False) for c in '"/\\[]:;|=,+*?<>@'),
    ],
)
def test_windows_name_rules(name: str, ok: bool) -> None:
    assert (windows_name_problems(name) == []) is ok


def test_jumpcloud_and_combined_rules() -> None:
    assert jumpcloud_name_problems("john.smith_2-x") == []
    assert "contains a space" in jumpcloud_name_problems("john smith")
    assert name_problems("") == ["is empty"]
    assert space_name_forms("John  Smith") >= {"johnsmith", "john.smith", "jsmith", "smithj"}
    assert space_name_forms("single") == set()
