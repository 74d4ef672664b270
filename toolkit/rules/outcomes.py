"""What each finding says about one question: will this JumpCloud user's account appear on the device, or
be taken over? The rules decide it once, here, so no diagnosis says both "it will" and "it will not".

Every code the rules emit is listed in :data:`IMPLIES` with one of:

- ``stops``: the account will not appear, or will not be taken over, until this is fixed (as a blocker);
- ``partial``: it would be taken over only partly (a blocker too: fix it first);
- ``will``: a prediction that it will appear or be taken over (``PROVISION_EXPECTED``, ``TAKEOVER_READY``);
- ``done``: a fact read from the device: it already appeared or was taken over (``PROVISIONED``,
  ``TAKEN_OVER``), true whatever blocks the future;
- ``wont``: the verdict that replaces a ``will`` when something stops it (``PROVISION_BLOCKED``);
- ``neutral``: says nothing about it (sign-in state, log lines, options).

The contradictory pairs are every ``will`` beside a ``stops`` or ``partial`` finding of the same user or of
the whole device (subject None): :func:`stopped_by` is the one test the verdicts use, and a test over every
lab scenario checks that no diagnosis holds such a pair.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final, Literal

from toolkit.results import Finding

Outcome = Literal["stops", "partial", "will", "done", "wont", "neutral"]

IMPLIES: Final[dict[str, Outcome]] = {
    # The device: nothing reaches any user while the agent is missing, stopped, unknown or off the air.
    "AGENT_NOT_INSTALLED": "stops",
    "AGENT_NOT_RUNNING": "stops",
    "DEVICE_NOT_IN_JUMPCLOUD": "stops",
    "AGENT_OFFLINE": "stops",  # also as a warning (active but silent a day): "next sync" is not in sight
    # JumpCloud's side of one user: the agent creates or manages nothing for them.
    "JC_USER_NOT_FOUND": "stops",
    "JC_USER_CASE_ONLY_MATCH": "stops",
    "JC_USERNAME_INVALID": "stops",
    "JC_USER_SUSPENDED": "stops",
    "JC_USER_STAGED": "stops",
    "START_DATE_IN_FUTURE": "stops",
    "NO_INITIAL_PASSWORD": "stops",
    "JC_ACCOUNT_LOCKED": "stops",
    "NOT_BOUND_TO_DEVICE": "stops",
    # The device's side of one user: a near-miss name is not taken over (a second account is created).
    "CASE_MISMATCH": "stops",
    "FULLNAME_ONLY_MATCH": "stops",
    "USERNAME_HAS_SPACE": "stops",  # as a blocker; as info (a spaced name nobody claims) it is neutral
    "MSA_LINKED": "partial",
    "HELLO_PIN_SET": "partial",
    "PICTURE_PASSWORD_SET": "partial",
    # Verdicts.
    "TAKEOVER_READY": "will",
    "PROVISION_EXPECTED": "will",
    "PROVISION_BLOCKED": "wont",
    "TAKEN_OVER": "done",
    "PROVISIONED": "done",
    # Context.
    "ACCOUNT_DISABLED": "neutral",
    "USER_SIGNED_IN": "neutral",
    "PROFILE_LOADED": "neutral",
    "SAME_NAME_SIGNED_IN": "neutral",
    "AGENT_LOG_ERRORS": "neutral",
    "AGENT_FILES_UNREADABLE": "neutral",
    "NOT_ELEVATED": "neutral",
    "LOCALACCOUNTS_UNAVAILABLE": "neutral",
    "JC_LOCAL_ACCOUNT_OPTION": "neutral",
}

# Stops whatever its severity: an agent JumpCloud has not heard from in a day syncs nothing "next".
_STOPS_AT_ANY_SEVERITY: Final = frozenset({"AGENT_OFFLINE"})


def stops(finding: Finding) -> bool:
    """Whether ``finding`` means the account will not appear or not be (fully) taken over until it is fixed."""
    if IMPLIES.get(finding.code) not in ("stops", "partial"):
        return False
    return finding.severity == "blocker" or finding.code in _STOPS_AT_ANY_SEVERITY


def stopped_by(found: Iterable[Finding], jc_user: str) -> list[Finding]:
    """The findings that stop ``jc_user``'s account: their own, and the device's (subject None)."""
    return [f for f in found if f.subject in (jc_user, None) and stops(f)]


def contradictions(findings: Sequence[Finding]) -> list[tuple[Finding, Finding]]:
    """Every pair of a ``will`` prediction and a finding that stops the same user (should be none)."""
    return [
        (claim, stop)
        for claim in findings
        if IMPLIES.get(claim.code) == "will" and claim.subject is not None
        for stop in stopped_by(findings, claim.subject)
    ]
