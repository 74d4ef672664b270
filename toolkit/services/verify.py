"""``verify provisioned``: poll hosts until each expected JumpCloud user has its local account.

Each poll is one ``collect_facts`` per host not settled yet, judged by the one diagnosis
(:class:`~toolkit.services.diagnose.DiagnoseService`), so "Last diagnosis" is what ``jcfix diagnose``
would say. Done means: the account exists with exactly that name and, for an account that was already
there (a takeover), the agent manages it.

When JumpCloud is read, a user JumpCloud says will never appear stops being waited for at once, with the
reason (:data:`STOP_CODES`: no such user, not bound to the device, the device unknown to JumpCloud); the
poll ends as soon as every user is done or stopped. Anything else that holds a user back (staged, no
password, agent offline) may be fixed while the poll runs, so it is shown as what the user waits for.
JumpCloud is read again before every poll: after a JumpCloud-side fix the poll sees the fix, then waits
for the agent's next sync to create or take over the account.

A host unreachable at :data:`UNREACHABLE_POLLS` polls in a row (refused, timed out, or a connection it
accepted and then dropped: every ``unreachable`` error alike) is given up: not polled again, reported
unreachable, and the poll ends once the other hosts are settled.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from toolkit.facts import HostFacts
from toolkit.models import HostReport
from toolkit.rules.outcomes import stopped_by
from toolkit.services.diagnose import DiagnoseService
from toolkit.services.run_action import Fleet, plan_action, run_planned

# JumpCloud's word that the account will not appear, whatever the agent does: nothing to wait for.
STOP_CODES = frozenset(
    {"JC_USER_NOT_FOUND", "JC_USER_CASE_ONLY_MATCH", "NOT_BOUND_TO_DEVICE", "DEVICE_NOT_IN_JUMPCLOUD"}
)
NEXT_SYNC = "the agent's next sync"
# Polls in a row a host may be unreachable before it is given up: a short outage (a reboot between two
# polls) is waited out, a host that is down or drops every connection does not hold the wait till --wait.
UNREACHABLE_POLLS = 3


@dataclass
class UserProgress:
    """Where one JumpCloud user stands on one host.

    ``stopped``: why the user is no longer waited for (``CODE: message``), else None; ``fix``: the command
    that fixes that, when there is one. ``waiting_for``: what the account still waits for, from the last
    diagnosis.
    """

    jc_user: str
    existed_at_start: bool | None = None
    present: bool = False
    managed: bool = False
    stopped: str | None = None
    stop_code: str | None = None
    fix: str | None = None
    waiting_for: str = "the first poll"

    @property
    def done(self) -> bool:
        """A takeover is done when the agent manages the existing account; a new account only has to appear."""
        return self.present and (self.managed or not self.existed_at_start)

    @property
    def settled(self) -> bool:
        """Nothing more to wait for: done, or stopped by JumpCloud's answer."""
        return self.done or self.stopped is not None

    @property
    def state(self) -> str:
        """``provisioned``, ``taken_over``, ``stopped`` or ``waiting``."""
        if self.done:
            return "taken_over" if self.existed_at_start else "provisioned"
        return "stopped" if self.stopped is not None else "waiting"

    def describe(self) -> str:
        """Where the user stands, in words."""
        if self.done:
            return "taken over" if self.existed_at_start else "provisioned"
        if self.stopped is not None:
            return f"stopped: {self.stop_code}"
        if not self.present:
            return "no local account yet"
        return "account exists; the agent does not manage it yet"

    def to_json(self) -> dict[str, Any]:
        """The user's state for ``--output json``."""
        return {
            "jc_user": self.jc_user,
            "state": self.state,
            "detail": self.describe(),
            "present": self.present,
            "managed": self.managed,
            "existed_at_start": self.existed_at_start,
            "reason": self.stopped,
            "fix": self.fix,
            "waiting_for": None if self.settled else self.waiting_for,
        }


@dataclass
class HostProgress:
    """Where one host's users stand, its last poll, and its last diagnosis (blockers and warnings).

    ``from_bindings``: the users are the ones JumpCloud binds to the device, learnt at the first poll that
    reads the device (no ``--jc-user``, no ``jc_users``, the API configured). ``notes``: what the admin must
    know (JumpCloud binds nobody to the device: nothing to wait for).
    """

    name: str
    users: list[UserProgress]
    last_report: HostReport | None = None
    findings: list[str] = field(default_factory=list)
    polls: int = 0
    from_bindings: bool = False
    notes: list[str] = field(default_factory=list)
    unreachable_polls: int = 0  # the last polls in a row that could not reach the host

    @property
    def given_up(self) -> bool:
        """Unreachable at :data:`UNREACHABLE_POLLS` polls in a row: not polled again."""
        return self.unreachable_polls >= UNREACHABLE_POLLS

    @property
    def known(self) -> bool:
        """Whether the users to wait for are known (bindings: once a poll has read the device)."""
        return bool(self.users) or bool(self.notes) or not self.from_bindings

    @property
    def done(self) -> bool:
        return bool(self.users) and all(u.done for u in self.users)

    @property
    def settled(self) -> bool:
        """Every user done or stopped, nobody to wait for, or the host given up: it is not polled again."""
        return self.given_up or (self.known and all(u.settled for u in self.users))

    @property
    def status(self) -> str:
        """``done``, ``unreachable`` (given up), ``stopped`` or ``waiting``."""
        if self.done:
            return "done"
        return "unreachable" if self.given_up else "stopped" if self.settled else "waiting"

    def to_json(self) -> dict[str, Any]:
        """The host for ``--output json``: per-user state and reason, the last poll and its diagnosis."""
        report = self.last_report
        error = None
        if report is not None:
            failed = [r.error for _, r in report.results if r.error is not None]
            error = {"category": failed[0].category, "message": failed[0].message} if failed else None
        return {
            "host": self.name,
            "status": self.status,
            "users_from": "jumpcloud" if self.from_bindings else "given",
            "last_poll": report.status if report is not None else None,
            "polls": self.polls,
            "error": error,
            "users": [u.to_json() for u in self.users],
            "findings": self.findings,
            "notes": self.notes,
        }


def _waiting_for(user: UserProgress, holding: Sequence[str]) -> str:
    """What a user not done yet waits for: the findings that hold it back, then the agent."""
    agent = NEXT_SYNC if not user.present else f"the agent to take the account over ({NEXT_SYNC})"
    return f"{', '.join(holding)} to be fixed, then {agent}" if holding else agent


def update(progress: HostProgress, report: HostReport, service: DiagnoseService | None = None) -> None:
    """Judge one poll of the host: who is present and managed now, and the diagnosis over the same facts.

    ``service``: the run's diagnosis (default: from the device alone, JumpCloud not read).
    """
    service = service or DiagnoseService()
    progress.last_report = report
    progress.polls += 1
    # Any unreachable error counts alike: whether the host refused, timed out or dropped what it accepted.
    progress.unreachable_polls = progress.unreachable_polls + 1 if report.status == "unreachable" else 0
    result = report.results[0][1] if report.results else None
    if result is None or not isinstance(result.data, HostFacts):
        return
    # managedUsers.json is parsed in Python by the diagnosis: every user, not one joined name.
    diagnosis = service.diagnose_report(report, [u.jc_user for u in progress.users])
    if not progress.known:
        # No users given: the ones JumpCloud binds to the device, as the diagnosis read them.
        progress.users = [UserProgress(u) for u in diagnosis.jc_users] if diagnosis.users_from == "jumpcloud" else []
        progress.notes = [] if progress.users else list(diagnosis.notes) or ["JumpCloud binds no user to this device"]
    names = {u.name for u in result.data.users}  # exact: JumpCloud matches case-sensitively
    managed = set(diagnosis.decided.managed_users) if diagnosis.decided is not None else set()
    for user in progress.users:
        user.present = user.jc_user in names
        if user.existed_at_start is None:
            user.existed_at_start = user.present
        user.managed = user.jc_user in managed
        holding = stopped_by(diagnosis.findings, user.jc_user)
        final = next((f for f in holding if f.code in STOP_CODES), None)
        # Read again each poll: a JumpCloud-side fix made meanwhile lifts the stop.
        user.stopped = f"{final.code}: {final.message}" if final is not None and not user.done else None
        user.stop_code = final.code if user.stopped is not None and final is not None else None
        user.fix = final.fix if user.stopped is not None and final is not None else None
        user.waiting_for = _waiting_for(user, sorted({f.code for f in holding}))
    progress.findings = [f"{f.severity} {f.code}: {f.message}" for f in diagnosis.findings if f.severity != "info"]


def pending_summary(hosts: Mapping[str, HostProgress]) -> str:
    """``user@host: state`` for every user not done yet (``host unreachable`` while its last poll was)."""
    return ", ".join(
        f"{u.jc_user}@{h.name}: {'host unreachable' if h.unreachable_polls else u.describe()}"
        for h in hosts.values()
        for u in h.users
        if not u.done
    )


def wait_provisioned(
    fleet: Fleet,
    only: Callable[[Sequence[str]], Fleet],
    hosts: Mapping[str, HostProgress],
    service: DiagnoseService,
    *,
    wait_s: float,
    interval_s: float,
    params: Mapping[str, Any] | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> bool:
    """Poll the hosts not settled yet until every user is done or stopped (True) or ``wait_s`` has passed (False).

    ``only(names)``: ``fleet`` limited to those hosts. ``on_wait`` gets the summary of who is still
    pending before each pause. True does not mean every user is done: a stopped user or a host given up
    (unreachable :data:`UNREACHABLE_POLLS` polls in a row) ends the wait too.
    """
    from toolkit.actions import get_action

    action = get_action("collect_facts")
    deadline = time.monotonic() + wait_s
    while True:
        waiting = [t.name for t in fleet.targets if not hosts[t.name].settled]
        subset = only(waiting)
        if service.jumpcloud is not None:
            service.jumpcloud.refresh()  # each poll judges JumpCloud as it is now
        plan = plan_action(subset.targets, action, params)
        run_planned(subset, plan, on_report=lambda report: update(hosts[report.target.name], report, service))
        if all(h.settled for h in hosts.values()):
            return True
        if time.monotonic() + interval_s > deadline:
            return False
        if on_wait is not None:
            on_wait(pending_summary({n: h for n, h in hosts.items() if not h.settled}))
        time.sleep(interval_s)
