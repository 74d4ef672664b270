"""The one diagnosis: a host's device facts, JumpCloud's view of it, and the rules, run once per host.

Every entry point that judges a host goes through :class:`DiagnoseService`: ``jcfix diagnose`` (one
``collect_facts`` per host), a playbook's ``diagnose`` step, ``jcfix verify provisioned``. The findings
are stored on the host's report (``HostReport.diagnoses``), so the reports and the exit codes read the
same findings instead of running the rules again.
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from toolkit.agentfiles import DEFAULT_LOG_LINES
from toolkit.exitcodes import ExitCode, for_statuses
from toolkit.facts import HostFacts
from toolkit.jumpcloud.diagnosis import JumpCloudReader
from toolkit.jumpcloud.facts import JumpCloudFacts
from toolkit.models import HostReport
from toolkit.rules import Finding, diagnose
from toolkit.rules.decided import DecidedFacts
from toolkit.services.pending import PendingIndex
from toolkit.services.run_action import Fleet
from toolkit.transport.base import HostTarget

# Where a host's expected JumpCloud users came from: --jc-user, the inventory's jc_users, the device's
# bindings in JumpCloud (neither given, the API read), or nowhere.
UsersFrom = Literal["option", "inventory", "jumpcloud", "none"]

NO_USERS_NOTE = (
    "no JumpCloud usernames were given (no -j, no jc_users, no JumpCloud API): name matching was not "
    "checked; every enabled local account was checked for blockers"
)
NO_DEVICE_NOTE = (
    "no JumpCloud usernames were given and JumpCloud has no bindings for this device (no systemKey, or an "
    "unknown device): name matching was not checked; every enabled local account was checked for blockers"
)
NO_BINDINGS_NOTE = "JumpCloud binds no user to this device: no username to check"


def expected_users(target: HostTarget, jc_users: Sequence[str] = ()) -> list[str]:
    """The JumpCloud usernames to check on ``target``: ``jc_users`` when given, else the inventory's ``jc_users``."""
    if jc_users:
        return list(jc_users)
    listed = target.vars.get("jc_users") or []
    if isinstance(listed, str):
        listed = [listed]
    return [str(u) for u in listed]


@dataclass(frozen=True)
class Diagnosis:
    """One host's diagnosis.

    Attributes:
        host: the inventory name.
        jc_users: the JumpCloud usernames checked (given, from the inventory, or bound to the device).
        findings: every finding, blockers first.
        facts: the raw device facts, None when they could not be read.
        decided: what the raw facts mean (agent files parsed, who is signed in), as the rules read them.
        jumpcloud: whether JumpCloud's side was read for this host.
        users_from: where ``jc_users`` came from (:data:`UsersFrom`).
        notes: what the admin must know about this diagnosis (e.g. name matching was not checked).
        pending: the blockers whose fix already ran and waits: ``{code, subject, run_id, waiting_for}``.
    """

    host: str
    jc_users: list[str]
    findings: list[Finding] = field(default_factory=list)
    facts: HostFacts | None = None
    decided: DecidedFacts | None = None
    jumpcloud: bool = False
    users_from: UsersFrom = "none"
    notes: list[str] = field(default_factory=list)
    pending: list[dict[str, Any]] = field(default_factory=list)

    @property
    def blockers(self) -> int:
        """How many findings block takeover or provisioning."""
        return sum(f.severity == "blocker" for f in self.findings)


class DiagnoseService:
    """Diagnoses hosts from their facts; one instance per run, shared by all hosts (thread-safe).

    ``jumpcloud``: the run's JumpCloud reader, or None to leave JumpCloud's side out. ``pending``: the fixes
    the run history shows waiting (their findings suggest no second fix), or None to leave history out.
    """

    def __init__(self, jumpcloud: JumpCloudReader | None = None, pending: PendingIndex | None = None) -> None:
        self.jumpcloud = jumpcloud
        self.pending = pending

    def jumpcloud_facts(self, decided: DecidedFacts) -> JumpCloudFacts | None:
        """JumpCloud's view of the users and of this device (None: not read)."""
        if self.jumpcloud is None:
            return None
        return self.jumpcloud.facts_for(decided.system_key)

    def diagnose_facts(
        self,
        host: str,
        facts: HostFacts,
        jc_users: Sequence[str],
        *,
        log_lines: int = DEFAULT_LOG_LINES,
        users_from: UsersFrom = "inventory",
    ) -> Diagnosis:
        """Run the rules once over ``facts``.

        ``jc_users``: the expected JumpCloud users (``users_from`` says where they came from); with none, the
        users JumpCloud binds to the device, and without the API every enabled local account's blockers.
        """
        decided = DecidedFacts.from_raw(facts, log_lines=log_lines)
        jc = self.jumpcloud_facts(decided)
        users = list(jc_users)
        source: UsersFrom = users_from if users else "none"
        notes: list[str] = []
        if not users and jc is not None and decided.system_key and jc.systems.get(decided.system_key) is not None:
            users, source = jc.bound_usernames(decided.system_key), "jumpcloud"
            if not users:
                notes.append(NO_BINDINGS_NOTE)
        if source == "none":
            notes.append(NO_USERS_NOTE if jc is None else NO_DEVICE_NOTE)
        findings = diagnose(host, facts, users, jc, decided, users_known=source != "none")
        pending: list[dict[str, Any]] = []
        if self.pending is not None:
            findings, pending = self.pending.apply(host, findings)
        return Diagnosis(host, users, findings, facts, decided, jc is not None, source, notes, pending)

    def diagnose_report(
        self, report: HostReport, jc_users: Sequence[str], position: int = 0, *, users_from: UsersFrom = "inventory"
    ) -> Diagnosis:
        """Diagnose the facts at ``position`` of ``report`` and record the findings on it for the reports."""
        result = report.results[position][1] if len(report.results) > position else None
        # A read that failed (error records beside its output) gave facts nobody can trust: judging them
        # would say TAKEOVER_READY from half a picture. The host is reported failed, with no findings.
        if result is None or result.status == "failed" or not isinstance(result.data, HostFacts):
            return Diagnosis(report.target.name, list(jc_users), users_from=users_from if jc_users else "none")
        diagnosis = self.diagnose_facts(report.target.name, result.data, jc_users, users_from=users_from)
        report.diagnoses[position] = list(diagnosis.findings)
        return diagnosis


def diagnose_fleet(
    fleet: Fleet,
    users_for: Mapping[str, Sequence[str]],
    *,
    jc_api: bool | None = None,
    jc_org_id: str | None = None,
    users_from: UsersFrom = "inventory",
) -> list[tuple[HostReport, Diagnosis]]:
    """Every host's report and diagnosis, in the fleet's order (:func:`diagnose_stream`, kept in a list).

    For callers that need them all at once (a few hosts); ``jcfix diagnose`` streams instead.
    """
    diagnosed: list[tuple[HostReport, Diagnosis]] = []
    diagnose_stream(
        fleet,
        users_for,
        lambda report, diagnosis: diagnosed.append((report, diagnosis)),
        jc_api=jc_api,
        jc_org_id=jc_org_id,
        users_from=users_from,
    )
    order = {t.name: i for i, t in enumerate(fleet.targets)}
    return sorted(diagnosed, key=lambda pair: order[pair[0].target.name])


def diagnose_stream(
    fleet: Fleet,
    users_for: Mapping[str, Sequence[str]],
    on_host: Callable[[HostReport, Diagnosis], None],
    *,
    jc_api: bool | None = None,
    jc_org_id: str | None = None,
    users_from: UsersFrom = "inventory",
) -> ExitCode:
    """``jcfix diagnose``: collect every host's facts and diagnose each as it comes in, JumpCloud read once.

    ``on_host`` sees each host's report and diagnosis as it finishes (in finishing order), before it is
    recorded; nothing is kept after that, so memory stays flat in the number of hosts. Returns the exit
    code (:func:`exit_code`'s, from counts taken as hosts finish).

    ``users_for``: the JumpCloud usernames expected on each host (empty: the users bound to its device);
    ``users_from``: where they came from (``option`` for --jc-user). ``jc_api``: see
    :class:`~toolkit.jumpcloud.diagnosis.JumpCloudReader`. The run history is read first, for the fixes
    still pending. Each host's findings are stored on its report before it is recorded, so the reports and
    the exit code judge by this diagnosis.
    """
    from toolkit.actions import get_action
    from toolkit.services.run_action import plan_action, run_streamed

    plan = plan_action(fleet.targets, get_action("collect_facts"))
    pending = read_pending(fleet)
    blocked = 0
    with JumpCloudReader(enabled=jc_api, org_id=jc_org_id) as jumpcloud:
        service = DiagnoseService(jumpcloud, pending)

        def diagnose_host(report: HostReport) -> None:
            nonlocal blocked
            users = users_for.get(report.target.name, ())
            diagnosis = service.diagnose_report(report, users, users_from=users_from)
            blocked += diagnosis.blockers > 0
            on_host(report, diagnosis)

        tally = run_streamed(fleet, plan, on_report=diagnose_host)
    transport = for_statuses([status for status, n in tally.counts.items() if n])
    if transport in (ExitCode.UNREACHABLE, ExitCode.FAILED):
        return transport
    return ExitCode.BLOCKERS if blocked else ExitCode.OK


def read_pending(fleet: Fleet) -> PendingIndex | None:
    """The fixes the run history shows pending on ``fleet``'s hosts (None, with a warning: unreadable)."""
    from toolkit.history import HistoryMigrationError, HistoryTooNewError, history_path

    try:
        return PendingIndex.read(history_path(fleet.reports.history), [t.name for t in fleet.targets])
    except (sqlite3.Error, HistoryMigrationError, HistoryTooNewError) as exc:
        print(f"jcfix: warning: run history not read ({exc}); pending fixes are not shown", file=sys.stderr)
        return None


def exit_code(diagnosed: Sequence[tuple[HostReport, Diagnosis]]) -> ExitCode:
    """``jcfix diagnose``'s exit code: unreachable or failed hosts first, then blockers, else OK."""
    transport = for_statuses([report.status for report, _ in diagnosed])
    if transport in (ExitCode.UNREACHABLE, ExitCode.FAILED):
        return transport
    return ExitCode.BLOCKERS if any(diagnosis.blockers for _, diagnosis in diagnosed) else ExitCode.OK


def diagnosis_document(diagnosis: Diagnosis, report: HostReport) -> dict[str, Any]:
    """One host's diagnosis in the documented JSON shape of ``jcfix diagnose --output json``."""
    error = report.results[0][1].error if report.results else None
    return {
        "host": diagnosis.host,
        "status": report.status,
        "error": error.model_dump() if error else None,
        "jc_users": list(diagnosis.jc_users),
        "jc_users_from": diagnosis.users_from,
        "blockers": diagnosis.blockers,
        "findings": [f.to_dict() for f in diagnosis.findings],
        "notes": list(diagnosis.notes),
        "pending": [dict(entry) for entry in diagnosis.pending],
        "facts": diagnosis.facts.model_dump() if diagnosis.facts is not None else None,
        "decided": diagnosis.decided.to_dict() if diagnosis.decided is not None else None,
    }
