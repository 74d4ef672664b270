"""The one diagnosis: a host's device facts, JumpCloud's view of it, and the rules, run once per host.

Every entry point that judges a host goes through :class:`DiagnoseService`: ``jcfix diagnose`` (one
``collect_facts`` per host), a playbook's ``diagnose`` step, ``jcfix verify provisioned``. The findings
are stored on the host's report (``HostReport.diagnoses``), so the reports and the exit codes read the
same findings instead of running the rules again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from toolkit.agentfiles import DEFAULT_LOG_LINES
from toolkit.exitcodes import ExitCode, for_statuses
from toolkit.facts import HostFacts
from toolkit.jumpcloud.diagnosis import JumpCloudReader
from toolkit.jumpcloud.facts import JumpCloudFacts
from toolkit.models import HostReport
from toolkit.rules import Finding, diagnose
from toolkit.rules.decided import DecidedFacts
from toolkit.services.run_action import Fleet
from toolkit.transport.base import HostTarget


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
    """

    host: str
    jc_users: list[str]
    findings: list[Finding] = field(default_factory=list)
    facts: HostFacts | None = None
    decided: DecidedFacts | None = None
    jumpcloud: bool = False

    @property
    def blockers(self) -> int:
        """How many findings block takeover or provisioning."""
        return sum(f.severity == "blocker" for f in self.findings)


class DiagnoseService:
    """Diagnoses hosts from their facts; one instance per run, shared by all hosts (thread-safe).

    ``jumpcloud``: the run's JumpCloud reader, or None to leave JumpCloud's side out.
    """

    def __init__(self, jumpcloud: JumpCloudReader | None = None) -> None:
        self.jumpcloud = jumpcloud

    def jumpcloud_facts(self, decided: DecidedFacts) -> JumpCloudFacts | None:
        """JumpCloud's view of the users and of this device (None: not read)."""
        if self.jumpcloud is None:
            return None
        return self.jumpcloud.facts_for(decided.system_key)

    def diagnose_facts(
        self, host: str, facts: HostFacts, jc_users: Sequence[str], *, log_lines: int = DEFAULT_LOG_LINES
    ) -> Diagnosis:
        """Run the rules once over ``facts``; with no ``jc_users``, check the users JumpCloud binds to the device."""
        decided = DecidedFacts.from_raw(facts, log_lines=log_lines)
        jc = self.jumpcloud_facts(decided)
        users = list(jc_users)
        if not users and jc is not None and decided.system_key:
            users = jc.bound_usernames(decided.system_key)
        findings = diagnose(host, facts, users, jc, decided)
        return Diagnosis(host, users, findings, facts, decided, jumpcloud=jc is not None)

    def diagnose_report(self, report: HostReport, jc_users: Sequence[str], position: int = 0) -> Diagnosis:
        """Diagnose the facts at ``position`` of ``report`` and record the findings on it for the reports."""
        result = report.results[position][1] if len(report.results) > position else None
        if result is None or not isinstance(result.data, HostFacts):
            return Diagnosis(report.target.name, list(jc_users))
        diagnosis = self.diagnose_facts(report.target.name, result.data, jc_users)
        report.diagnoses[position] = list(diagnosis.findings)
        return diagnosis


def diagnose_fleet(
    fleet: Fleet,
    users_for: Mapping[str, Sequence[str]],
    *,
    jc_api: bool | None = None,
    jc_org_id: str | None = None,
) -> list[tuple[HostReport, Diagnosis]]:
    """``jcfix diagnose``: collect every host's facts and diagnose each as it comes in, JumpCloud read once.

    ``users_for``: the JumpCloud usernames expected on each host (empty: the users bound to its device).
    ``jc_api``: see :class:`~toolkit.jumpcloud.diagnosis.JumpCloudReader`. Each host's findings are stored
    on its report before it is recorded, so the reports and the exit code judge by this diagnosis.
    """
    from toolkit.actions import get_action
    from toolkit.services.run_action import plan_action, run_planned

    plan = plan_action(fleet.targets, get_action("collect_facts"))
    diagnoses: dict[str, Diagnosis] = {}
    with JumpCloudReader(enabled=jc_api, org_id=jc_org_id) as jumpcloud:
        service = DiagnoseService(jumpcloud)

        def diagnose_host(report: HostReport) -> None:
            diagnoses[report.target.name] = service.diagnose_report(report, users_for.get(report.target.name, ()))

        reports = run_planned(fleet, plan, on_report=diagnose_host)
    return [(report, diagnoses[report.target.name]) for report in reports]


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
        "blockers": diagnosis.blockers,
        "findings": [f.to_dict() for f in diagnosis.findings],
        "facts": diagnosis.facts.model_dump() if diagnosis.facts is not None else None,
        "decided": diagnosis.decided.to_dict() if diagnosis.decided is not None else None,
    }
