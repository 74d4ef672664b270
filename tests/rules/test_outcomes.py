"""Will the account appear or be taken over? Decided once: no prediction beside a finding that stops it.

Also the account-level checks run when nobody said which JumpCloud users to expect (issue 13, item 4),
and the fix each JumpCloud-side finding suggests (the fixed command names of issue 12).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from factsupport import account as v2_account
from factsupport import host_facts

from toolkit.facts import AccountFacts, HostFacts
from toolkit.jumpcloud.api import JcSystem, JcUser, ScheduledState
from toolkit.jumpcloud.facts import JumpCloudFacts
from toolkit.results import Finding
from toolkit.rules import diagnose
from toolkit.rules.outcomes import IMPLIES, contradictions, stopped_by

KEY = "6a0000000000000000000042"
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)


def account(name: str, rid: int = 1001, **overrides: Any) -> AccountFacts:
    return v2_account(name, rid, **overrides)


def facts(*users: AccountFacts, agent: dict[str, Any] | None = None, managed: list[str] | None = None) -> HostFacts:
    return host_facts(
        *users,
        managed_users=json.dumps([{"username": n} for n in managed or []]).encode(),
        agent_conf=json.dumps({"systemKey": KEY}).encode(),
        log_tail=b"",
        agent=agent,
    )


def jumpcloud(*users: JcUser, bound: tuple[str, ...] = (), **system: Any) -> JumpCloudFacts:
    """JumpCloud's view: ``users``, this device (active, in contact now unless told), ``bound`` user ids."""
    values = {"_id": KEY, "hostname": "pc-1", "active": True, "lastContact": NOW.isoformat(), **system}
    return JumpCloudFacts(
        users=users,
        systems={KEY: JcSystem.model_validate(values)},
        bound={KEY: frozenset(bound)},
        read_at=NOW,
    )


def user(name: str, uid: str = "u1", **fields: Any) -> JcUser:
    return JcUser.model_validate({"_id": uid, "username": name, **fields})


def by_code(findings: list[Finding]) -> dict[str, Finding]:
    return {f.code: f for f in findings}


@pytest.mark.parametrize(
    ("jc_user", "blocker"),
    [
        (user("newhire", activated=False), "NO_INITIAL_PASSWORD"),
        (user("stager", state="STAGED"), "JC_USER_STAGED"),
        (user("sam", state="SUSPENDED"), "JC_USER_SUSPENDED"),
        (user("lou", account_locked=True), "JC_ACCOUNT_LOCKED"),
    ],
)
def test_a_jumpcloud_blocker_replaces_the_promise_to_provision(jc_user: JcUser, blocker: str) -> None:
    found = by_code(diagnose("pc-1", facts(), [jc_user.username], jumpcloud(jc_user, bound=("u1",))))
    assert blocker in found and "PROVISION_EXPECTED" not in found
    instead = found["PROVISION_BLOCKED"]
    assert instead.subject == jc_user.username and instead.evidence["blocked_by"] == [blocker]
    assert blocker in instead.message and instead.fix is None


def test_unbound_unknown_and_case_only_users_are_not_promised_an_account() -> None:
    jc = jumpcloud(user("ursula", "u1"), user("Casey", "u2"))
    findings = diagnose("pc-1", facts(), ["ursula", "ghost", "casey"], jc)
    blocked = {f.subject: f.evidence["blocked_by"] for f in findings if f.code == "PROVISION_BLOCKED"}
    assert blocked == {
        "ursula": ["NOT_BOUND_TO_DEVICE"],
        "ghost": ["JC_USER_NOT_FOUND"],
        "casey": ["JC_USER_CASE_ONLY_MATCH"],
    }
    assert not [f for f in findings if f.code == "PROVISION_EXPECTED"]


def test_the_device_side_stops_every_user() -> None:
    """A stopped agent (no API needed) or a device JumpCloud has not heard from in days stops everyone."""
    stopped = diagnose("pc-1", facts(agent={"service_state": "Stopped"}), ["newhire"])
    assert by_code(stopped)["PROVISION_BLOCKED"].evidence["blocked_by"] == ["AGENT_NOT_RUNNING"]
    stale = (NOW - timedelta(days=3)).isoformat()
    # Active but silent for three days: a warning, and still no "at its next sync".
    offline = diagnose("pc-1", facts(), ["newhire"], jumpcloud(user("newhire"), bound=("u1",), lastContact=stale))
    found = by_code(offline)
    assert found["AGENT_OFFLINE"].severity == "warning"
    assert "PROVISION_EXPECTED" not in found and found["PROVISION_BLOCKED"].evidence["blocked_by"] == ["AGENT_OFFLINE"]


def test_nothing_in_the_way_still_promises_the_account() -> None:
    with_api = by_code(diagnose("pc-1", facts(), ["newhire"], jumpcloud(user("newhire"), bound=("u1",))))
    assert set(with_api) == {"PROVISION_EXPECTED"}
    # The API already said the user has a password and no start date: no "check that in JumpCloud" hint.
    assert "initial password" not in with_api["PROVISION_EXPECTED"].message
    without = by_code(diagnose("pc-1", facts(), ["newhire"]))
    assert "initial password" in without["PROVISION_EXPECTED"].message


def test_takeover_ready_is_never_said_beside_a_jumpcloud_blocker() -> None:
    findings = diagnose("pc-1", facts(account("lou")), ["lou"], jumpcloud(user("lou", account_locked=True)))
    codes = {f.code for f in findings}
    assert "JC_ACCOUNT_LOCKED" in codes and "NOT_BOUND_TO_DEVICE" in codes and "TAKEOVER_READY" not in codes
    assert contradictions(findings) == []


def test_the_contradiction_check_can_fail() -> None:
    promise = Finding("PROVISION_EXPECTED", "info", "will appear", subject="newhire")
    device = Finding("AGENT_NOT_RUNNING", "blocker", "stopped")
    other_user = Finding("NO_INITIAL_PASSWORD", "blocker", "no password", subject="someone")
    assert contradictions([promise, device, other_user]) == [(promise, device)]
    assert stopped_by([other_user], "newhire") == []
    info_space = Finding("USERNAME_HAS_SPACE", "info", "spaced, nobody claims it")
    assert contradictions([promise, info_space]) == []


@pytest.mark.parametrize(
    ("jc_user", "code", "fix"),
    [
        (user("lou", account_locked=True), "JC_ACCOUNT_LOCKED", "jcfix fix jc-unlock --jc-user lou"),
        (
            user("sam", state="SUSPENDED"),
            "JC_USER_SUSPENDED",
            "jcfix fix jc-activate --jc-user sam --reactivate-suspended",
        ),
        (user("ursula"), "NOT_BOUND_TO_DEVICE", f"jcfix fix jc-bind --jc-user ursula --system-id {KEY}"),
        (user("newhire", activated=False), "NO_INITIAL_PASSWORD", "jcfix fix jc-activate --jc-user newhire"),
        (user("stager", state="STAGED"), "JC_USER_STAGED", "jcfix fix jc-activate --jc-user stager"),
    ],
)
def test_each_jumpcloud_side_finding_suggests_its_fix(jc_user: JcUser, code: str, fix: str) -> None:
    found = by_code(diagnose("pc-1", facts(), [jc_user.username], jumpcloud(jc_user)))
    assert found[code].fix == fix


def test_a_suspended_users_scheduled_reactivation_is_said() -> None:
    sam = user("sam", state="SUSPENDED")
    event = ScheduledState.model_validate(
        {"scheduledDate": (NOW + timedelta(days=2)).isoformat(), "state": "ACTIVATED", "systemUserId": "u1"}
    )
    jc = jumpcloud(sam, bound=("u1",))
    jc = JumpCloudFacts(users=jc.users, systems=jc.systems, bound=jc.bound, scheduled={"u1": (event,)}, read_at=NOW)
    finding = by_code(diagnose("pc-1", facts(), ["sam"], jc))["JC_USER_SUSPENDED"]
    assert "2026-12-02" in finding.message and finding.evidence["scheduled_activation"] == event.scheduled_date


def test_every_code_the_rules_emit_says_what_it_implies() -> None:
    """A new code must be classified in IMPLIES, or the contradiction test cannot judge it."""
    hosts = [
        facts(account("jonathan"), account("JD-Laptop", 1002, full_name="janedoe"), account("john smith", 1003)),
        facts(account("maria", principal_source="MicrosoftAccount", enabled=False), agent={"service_state": "Stopped"}),
        facts(account("pat", hello_pin=True), account("quinn", 1002, picture_password=True), managed=["pat"]),
    ]
    jc = jumpcloud(user("lou", "u1", account_locked=True), user("Casey", "u2"), user("Jonathan", "u3"))
    wanted = ["Jonathan", "janedoe", "john.smith", "maria", "pat", "quinn", "lou", "casey", "ghost", "bad/name"]
    emitted = {f.code for host in hosts for f in diagnose("pc-1", host, wanted, jc)}
    emitted |= {f.code for host in hosts for f in diagnose("pc-1", host, [], users_known=False)}
    assert len(emitted) > 15
    assert emitted <= set(IMPLIES), emitted - set(IMPLIES)


# ---- no expected users: account-level blockers on every enabled account (issue 13, item 4) -------------


def test_without_expected_users_every_enabled_account_is_checked() -> None:
    host = facts(
        account("maria", principal_source="MicrosoftAccount"),
        account("pat", 1002, hello_pin=True),
        account("quinn", 1003, picture_password=True),
        account("john smith", 1004),
        account("old", 1005, hello_pin=True, enabled=False),
    )
    findings = diagnose("pc-1", host, [], users_known=False)
    found = {(f.code, f.evidence["local_username"]): f for f in findings}
    assert set(found) == {
        ("MSA_LINKED", "maria"),
        ("HELLO_PIN_SET", "pat"),
        ("PICTURE_PASSWORD_SET", "quinn"),
        ("USERNAME_HAS_SPACE", "john smith"),
    }
    assert all(f.severity == "blocker" and f.subject is None for f in findings)
    assert found[("HELLO_PIN_SET", "pat")].fix == "jcfix fix remove-pin --host pc-1 --user pat"
    assert diagnose("pc-1", host, []) == findings  # no users named: not known, by default
    # Known to be nobody (JumpCloud binds no user here): unclaimed accounts are context, not blockers.
    known_empty = diagnose("pc-1", host, [], users_known=True)
    assert {(f.code, f.severity) for f in known_empty} == {("USERNAME_HAS_SPACE", "info")}


def test_named_users_switch_the_account_level_mode_off() -> None:
    host = facts(account("pat", hello_pin=True), account("maria", 1002, principal_source="MicrosoftAccount"))
    findings = diagnose("pc-1", host, ["pat"], users_known=False)
    assert {(f.code, f.subject) for f in findings} == {("HELLO_PIN_SET", "pat")}


def test_ready_says_what_could_not_be_read() -> None:
    """Read through WMI, a Microsoft-account link is invisible: "ready" says it saw no blocker, not that none is."""
    host = host_facts(account("alice"), localaccounts_available=False, is_64bit_process=False)
    ready = by_code(diagnose("pc-1", host, ["alice"]))["TAKEOVER_READY"]
    assert "could not be read" in ready.message
    plain = by_code(diagnose("pc-1", facts(account("alice")), ["alice"]))["TAKEOVER_READY"]
    assert "could not be read" not in plain.message
