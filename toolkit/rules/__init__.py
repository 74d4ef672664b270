"""Diagnosis rules: pure Python from a host's facts and its expected JumpCloud users to findings.

PowerShell only collects facts (the ``collect_facts`` action); every decision is made here, where it is
testable without Windows. Each module in this package checks one concern and has the same shape::

    def check(ctx: Context) -> Iterator[Finding]

:func:`diagnose` runs them all, then adds the per-user verdicts (``TAKEOVER_READY`` and friends) that
depend on what the others found.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from toolkit.facts import AccountFacts, HostFacts
from toolkit.results import SEVERITY_ORDER, Finding, Severity

if TYPE_CHECKING:
    from toolkit.jumpcloud.facts import JumpCloudFacts
    from toolkit.rules.decided import DecidedFacts

__all__ = ["SEVERITY_ORDER", "Context", "Finding", "Match", "Severity", "blockers", "diagnose"]


@dataclass(frozen=True)
class Match:
    """How a JumpCloud username relates to the host's local accounts."""

    kind: Literal["exact", "case", "full_name", "space", "none"]
    account: AccountFacts | None = None
    also_full_name: bool = False


@dataclass(frozen=True)
class Context:
    """What every rule sees: the host, its facts, and the JumpCloud usernames expected on it.

    ``jc`` is what the JumpCloud API says (users, this device, bindings), when an API key was configured;
    with it, a user is matched by its Local User Account (``systemUsername``) when set, as the agent does.
    ``decided`` is what the raw facts mean (agent files, who is signed in); computed from ``facts`` when not given.
    ``users_known``: False when nobody said which JumpCloud users to expect (no ``-j``, no ``jc_users``, no
    API bindings): then the account-level blockers are checked on every enabled local account instead.
    """

    host: str
    facts: HostFacts
    jc_users: Sequence[str]
    jc: JumpCloudFacts | None = None
    decided: DecidedFacts = None  # type: ignore[assignment]  # filled in by __post_init__
    users_known: bool = True

    def __post_init__(self) -> None:
        if self.decided is None:
            from toolkit.rules.decided import DecidedFacts

            object.__setattr__(self, "decided", DecidedFacts.from_raw(self.facts))

    def local_name(self, jc_user: str) -> str:
        """The local username the agent uses for ``jc_user``: its Local User Account when JumpCloud has one."""
        return self.jc.local_name(jc_user) if self.jc is not None else jc_user

    def command(self, *words: str) -> str:
        """A jcfix command line for this host, quoted for a POSIX shell."""
        return shlex.join(["jcfix", *words[:2], "--host", self.host, *words[2:]])

    def match(self, jc_user: str) -> Match:
        from toolkit.rules.matching import match_account

        return match_account(self.facts.users, self.local_name(jc_user))

    def signed_in(self, account: AccountFacts) -> bool:
        """Whether ``account`` is signed in: its own SID owns a process in an interactive session.

        Never by name (``CORP\\jonathan`` is not local ``jonathan``), and never because its profile is
        loaded: that is ``account.profile_loaded``, reported apart (:mod:`toolkit.rules.sessions`).
        """
        return self.decided.is_signed_in(account.sid)


def diagnose(
    host: str,
    facts: HostFacts,
    jc_users: Sequence[str],
    jc: JumpCloudFacts | None = None,
    decided: DecidedFacts | None = None,
    *,
    users_known: bool | None = None,
) -> list[Finding]:
    """Every finding for ``host``, blockers first, then by JumpCloud user and code.

    ``jc``: the JumpCloud API's view (see :mod:`toolkit.rules.jumpcloud`); without it those rules are silent.
    ``decided``: the decided view of ``facts`` when the caller already has it.
    ``users_known``: whether the expected JumpCloud users are known (see :class:`Context`); by default, when
    ``jc_users`` names any. True with an empty list: known to be nobody (JumpCloud binds no user here).
    """
    from toolkit.rules import accounts, agent, jumpcloud, names, sessions, verdicts

    users = list(dict.fromkeys(jc_users))
    known = bool(users) or bool(users_known)
    ctx = Context(host, facts, users, jc, decided, known)  # type: ignore[arg-type]
    findings: list[Finding] = []
    for module in (agent, names, accounts, sessions, jumpcloud):
        findings.extend(module.check(ctx))
    findings.extend(verdicts.check(ctx, findings))
    return sorted(findings, key=lambda f: (SEVERITY_ORDER[f.severity], f.subject or "", f.code))


def blockers(findings: Sequence[Finding]) -> Iterator[Finding]:
    return (f for f in findings if f.severity == "blocker")
