"""Signed-in decided from SIDs, and the decided view the rules and ``jcfix verify`` read."""

from __future__ import annotations

import json

import pytest
from factsupport import MACHINE, account, host_facts, sample, session, system_sessions

from toolkit.facts import HostFacts
from toolkit.rules import Finding, diagnose
from toolkit.rules.decided import DecidedFacts
from toolkit.rules.sessions import is_user_sid, signed_in_sids

AZURE_SID = "S-1-12-1-1234567890-1234567890-1234567890-1234567890"
DOMAIN_SID = "S-1-5-21-9999999999-8888888888-7777777777-1105"


def codes(findings: list[Finding]) -> set[str]:
    return {f.code for f in findings}


def only(findings: list[Finding], code: str) -> Finding:
    (found,) = [f for f in findings if f.code == code]
    return found


@pytest.mark.parametrize(
    ("sid", "user"),
    [
        (f"{MACHINE}1001", True),
        (DOMAIN_SID, True),
        (AZURE_SID, True),
        ("S-1-5-18", False),
        ("S-1-5-19", False),
        ("S-1-5-20", False),
        ("S-1-5-90-0-1", False),
        ("S-1-5-96-0-1", False),
        ("S-1-5-82-3006700770-424185619-1745488364-794895919-4004696415", False),  # IIS app pool
        ("S-1-5-21-1-2-3", False),  # a machine SID without a RID is nobody
        (None, False),
        ("", False),
    ],
)
def test_user_sids(sid: str | None, user: bool) -> None:
    assert is_user_sid(sid) is user


def test_only_user_sids_in_interactive_sessions_are_signed_in() -> None:
    sessions = [
        *system_sessions(1),
        session(f"{MACHINE}1001", "alice", "PC-1"),
        session(f"{MACHINE}1002", "bob", "PC-1", session_id=0, process="svc.exe"),  # session 0: services
        session(None, None, None, process="gone.exe"),  # the process ended before GetOwnerSid answered
    ]
    assert signed_in_sids(sessions) == frozenset({f"{MACHINE}1001"})


def test_a_shell_other_than_explorer_counts() -> None:
    alice = account("alice")
    facts = host_facts(alice, sessions=[session(alice.sid, "alice", "PC-1", process="cmd.exe", session_id=3)])
    assert only(diagnose("pc-1", facts, ["alice"]), "USER_SIGNED_IN").subject == "alice"


@pytest.mark.parametrize(("domain", "sid"), [("CORP", DOMAIN_SID), ("AzureAD", AZURE_SID)])
def test_a_same_named_domain_or_azure_user_never_makes_the_local_one_signed_in(domain: str, sid: str) -> None:
    jonathan = account("jonathan")
    facts = host_facts(jonathan, sessions=[*system_sessions(), session(sid, "jonathan", domain)])
    findings = diagnose("pc-1", facts, ["jonathan"])
    assert "USER_SIGNED_IN" not in codes(findings)
    other = only(findings, "SAME_NAME_SIGNED_IN")
    assert other.evidence["same_name_signed_in"] == [f"{domain}\\jonathan"]
    assert "TAKEOVER_READY" in codes(findings)
    assert DecidedFacts.from_raw(facts).signed_in == (
        {"sid": sid.upper(), "domain": domain, "user": "jonathan", "sessions": [1]},
    )


def test_the_local_account_signed_in_beside_a_same_named_domain_user() -> None:
    jonathan = account("jonathan")
    sessions = [session(DOMAIN_SID, "jonathan", "CORP"), session(jonathan.sid, "jonathan", "PC-1", session_id=2)]
    findings = diagnose("pc-1", host_facts(jonathan, sessions=sessions), ["jonathan"])
    signed_in = only(findings, "USER_SIGNED_IN")
    assert signed_in.evidence["same_name_signed_in"] == ["CORP\\jonathan"]
    assert "SAME_NAME_SIGNED_IN" not in codes(findings)


def test_a_loaded_profile_is_not_a_sign_in() -> None:
    # Win32_UserProfile.Loaded lingers after sign-out (a service or task holds the hive).
    findings = diagnose("pc-1", host_facts(account("alice", profile_loaded=True)), ["alice"])
    assert "USER_SIGNED_IN" not in codes(findings)
    loaded = only(findings, "PROFILE_LOADED")
    assert loaded.severity == "info" and "not signed in" in loaded.message
    assert loaded.evidence["profile_loaded"] is True


def test_nobody_signed_in_gives_no_session_finding() -> None:
    findings = diagnose("pc-1", host_facts(account("alice"), sessions=system_sessions()), ["alice"])
    assert codes(findings) == {"TAKEOVER_READY"}


def _joined_like_windows_powershell_51(names: list[str]) -> bytes:
    """What collect_facts v1 made of several users: 5.1's ConvertFrom-Json sent the array down the pipeline
    as one object, so ``[string]$_.username`` was every name joined by spaces (issue 10, defect 3)."""
    return json.dumps([{"username": " ".join(names)}]).encode()


def _shared_device(managed_users: bytes) -> HostFacts:
    return host_facts(
        account("alice", 1001), account("bob", 1002), account("jonathan", 1003), managed_users=managed_users
    )


def test_taken_over_on_a_shared_device_with_several_managed_users() -> None:
    facts = _shared_device(sample("managed_users_several.json"))  # alice, bob, jonathan
    findings = diagnose("pc-1", facts, ["alice", "bob", "jonathan"])
    assert {f.subject for f in findings if f.code == "TAKEN_OVER"} == {"alice", "bob", "jonathan"}
    assert "TAKEOVER_READY" not in codes(findings)
    # The old reading of the same file: one joined name, and no user reads as taken over. This test's
    # first assertion is what fails against it.
    old = diagnose(
        "pc-1",
        _shared_device(_joined_like_windows_powershell_51(["alice", "bob", "jonathan"])),
        ["alice", "bob", "jonathan"],
    )
    assert "TAKEN_OVER" not in codes(old)


def test_taken_over_from_a_ps51_single_object_file() -> None:
    facts = host_facts(account("jonathan"), managed_users=sample("managed_users_one_ps51_object.json"))
    assert codes(diagnose("pc-1", facts, ["jonathan"])) == {"TAKEN_OVER"}


def test_taken_over_with_a_utf16_file_and_a_non_ascii_name() -> None:
    facts = host_facts(account("José"), managed_users=sample("managed_users_utf16le_bom.json"))
    findings = diagnose("pc-1", facts, ["José"])
    # JumpCloud's own naming rules refuse "é" (JC_USERNAME_INVALID); the agent's file still names the account.
    assert codes(findings) == {"TAKEN_OVER", "JC_USERNAME_INVALID"}


def test_an_unreadable_managed_users_file_is_a_warning() -> None:
    facts = host_facts(account("alice"), managed_users=sample("managed_users_invalid.json"))
    decided = DecidedFacts.from_raw(facts)
    assert decided.managed_users == () and decided.managed_users_read is False
    findings = diagnose("pc-1", facts, ["alice"])
    unreadable = only(findings, "AGENT_FILES_UNREADABLE")
    assert unreadable.severity == "warning" and "managedUsers.json is not valid JSON" in unreadable.message


def test_decided_view_of_a_whole_document() -> None:
    facts = host_facts(
        account("alice"),
        managed_users=sample("managed_users_several.json"),
        agent_conf=sample("jcagent.conf"),
        log_tail=sample("jcagent.log"),
        sessions=[session(f"{MACHINE}1001", "alice", "PC-1")],
        agent={"notes": ["version.txt could not be read"]},
    )
    decided = DecidedFacts.from_raw(facts, log_lines=1)
    assert decided.managed_users == ("alice", "bob", "jonathan")
    assert decided.system_key == "5f3e1b2c9d8a7b6c5d4e3f21"
    assert len(decided.log_lines) == 1 and "José failed to login" in decided.log_lines[0]
    assert decided.is_signed_in(f"{MACHINE.lower()}1001") and not decided.is_signed_in(f"{MACHINE}1002")
    assert decided.notes == ("version.txt could not be read",)
    as_json = json.loads(json.dumps(decided.to_dict()))
    assert as_json["signed_in"] == [{"sid": f"{MACHINE}1001", "domain": "PC-1", "user": "alice", "sessions": [1]}]


def test_not_elevated_is_a_warning() -> None:
    findings = diagnose("pc-1", host_facts(account("alice"), elevated=False), ["alice"])
    assert only(findings, "NOT_ELEVATED").severity == "warning"
    assert "LocalAccountTokenFilterPolicy" in only(findings, "NOT_ELEVATED").message
