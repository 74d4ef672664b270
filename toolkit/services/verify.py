"""``verify provisioned``: poll hosts until each expected JumpCloud user has its local account.

Each poll is one ``collect_facts`` per host not done yet, judged by the one diagnosis
(:class:`~toolkit.services.diagnose.DiagnoseService`), so "Last diagnosis" is what ``jcfix diagnose``
would say. Done means: the account exists with exactly that name and, for an account that was already
there (a takeover), the agent manages it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from toolkit.facts import HostFacts
from toolkit.models import HostReport
from toolkit.services.diagnose import DiagnoseService
from toolkit.services.run_action import Fleet, plan_action, run_planned


@dataclass
class UserProgress:
    """Where one JumpCloud user stands on one host."""

    jc_user: str
    existed_at_start: bool | None = None
    present: bool = False
    managed: bool = False

    @property
    def done(self) -> bool:
        """A takeover is done when the agent manages the existing account; a new account only has to appear."""
        return self.present and (self.managed or not self.existed_at_start)

    def describe(self) -> str:
        """Where the user stands, in words."""
        if self.done:
            return "taken over" if self.existed_at_start else "provisioned"
        if not self.present:
            return "no local account yet"
        return "account exists; the agent does not manage it yet"


@dataclass
class HostProgress:
    """Where one host's users stand, its last poll, and its last diagnosis (blockers and warnings)."""

    name: str
    users: list[UserProgress]
    last_report: HostReport | None = None
    findings: list[str] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return all(u.done for u in self.users)


def update(progress: HostProgress, report: HostReport, service: DiagnoseService | None = None) -> None:
    """Judge one poll of the host: who is present and managed now, and the diagnosis over the same facts.

    ``service``: the run's diagnosis (default: from the device alone, JumpCloud not read).
    """
    service = service or DiagnoseService()
    progress.last_report = report
    result = report.results[0][1] if report.results else None
    if result is None or not isinstance(result.data, HostFacts):
        return
    # managedUsers.json is parsed in Python by the diagnosis: every user, not one joined name.
    diagnosis = service.diagnose_report(report, [u.jc_user for u in progress.users])
    names = {u.name for u in result.data.users}  # exact: JumpCloud matches case-sensitively
    managed = set(diagnosis.decided.managed_users) if diagnosis.decided is not None else set()
    for user in progress.users:
        user.present = user.jc_user in names
        if user.existed_at_start is None:
            user.existed_at_start = user.present
        user.managed = user.jc_user in managed
    progress.findings = [f"{f.severity} {f.code}: {f.message}" for f in diagnosis.findings if f.severity != "info"]


def pending_summary(hosts: Mapping[str, HostProgress]) -> str:
    """``user@host: state`` for every user not done yet."""
    return ", ".join(f"{u.jc_user}@{h.name}: {u.describe()}" for h in hosts.values() for u in h.users if not u.done)


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
    """Poll the hosts not done yet until all are (True) or ``wait_s`` has passed (False).

    ``only(names)``: ``fleet`` limited to those hosts. ``on_wait`` gets the summary of who is still
    pending before each pause.
    """
    from toolkit.actions import get_action

    action = get_action("collect_facts")
    deadline = time.monotonic() + wait_s
    while True:
        waiting = [t.name for t in fleet.targets if not hosts[t.name].done]
        subset = only(waiting)
        if service.jumpcloud is not None:
            service.jumpcloud.refresh()  # each poll judges JumpCloud as it is now
        plan = plan_action(subset.targets, action, params)
        run_planned(subset, plan, on_report=lambda report: update(hosts[report.target.name], report, service))
        if all(h.done for h in hosts.values()):
            return True
        if time.monotonic() + interval_s > deadline:
            return False
        if on_wait is not None:
            on_wait(pending_summary(hosts))
        time.sleep(interval_s)
