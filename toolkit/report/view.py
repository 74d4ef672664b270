"""One host's report as every report format sees it: steps with their status, error and findings.

Findings come from two places: a result document's own ``findings``, and the diagnosis rules run over
``collect_facts`` data (the same rules ``jcfix diagnose`` runs, with the host's expected JumpCloud users
from the inventory), so a report of a readiness run shows every blocker and the command that fixes it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from toolkit.facts import HostFacts
from toolkit.models import CONNECTION_CATEGORIES, HostReport, Step
from toolkit.results import ResultDocument, status_label
from toolkit.rules import Finding, diagnose
from toolkit.transport.base import HostTarget

# A step failed because the host could not be worked with at all, rather than the script saying no.
TRANSPORT_CATEGORIES = CONNECTION_CATEGORIES

FindingsFor = Callable[[HostTarget, HostFacts], Sequence[Finding]]


def expected_jc_users(target: HostTarget) -> list[str]:
    """The JumpCloud usernames the inventory expects on ``target`` (its ``jc_users`` variable)."""
    listed = target.vars.get("jc_users") or []
    if isinstance(listed, str):
        listed = [listed]
    return [str(user) for user in listed]


def default_findings(target: HostTarget, facts: HostFacts) -> list[Finding]:
    """The diagnosis rules over ``facts``, for the users the inventory expects on the host."""
    return diagnose(target.name, facts, expected_jc_users(target))


@dataclass(frozen=True)
class StepView:
    """One step of one host, flattened for reports.

    Attributes:
        position: the step's index on its host, from 0.
        name: the step's display name; ``action`` the action it ran.
        whatif: whether it ran in check mode.
        status, changed: as the result document says (``failed`` with ``changed`` true: a change, then a failure).
        label: the status in words, ``failed (changed)`` for a change followed by a failure.
        error_category, error_message: why it failed, else None.
        findings: what the document and the rules found.
        document: the validated result document, JSON-ready.
    """

    position: int
    name: str
    action: str
    whatif: bool
    status: str
    changed: bool
    label: str
    error_category: str | None
    error_message: str | None
    findings: list[Finding]
    document: dict[str, Any]

    @property
    def blockers(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "blocker"]


def step_findings(
    report: HostReport,
    result: ResultDocument[Any],
    findings_for: FindingsFor = default_findings,
    position: int | None = None,
) -> list[Finding]:
    """The document's own findings, then the rules' findings when the step collected facts.

    The rules' findings are the ones the run itself computed for that step when it recorded them
    (``report.diagnoses``, e.g. a playbook that chose its own JumpCloud users), else ``findings_for``.
    """
    found = [Finding(f.code, f.severity, f.message, evidence=dict(f.evidence)) for f in result.findings]
    if isinstance(result.data, HostFacts):
        recorded = getattr(report, "diagnoses", {}).get(position) if position is not None else None
        found.extend(recorded if recorded is not None else findings_for(report.target, result.data))
    return found


def step_views(report: HostReport, findings_for: FindingsFor = default_findings) -> Iterator[StepView]:
    """Each step of ``report`` as a :class:`StepView`, in order."""
    step: Step
    for position, (step, result) in enumerate(report.results):
        yield StepView(
            position=position,
            name=step.name or step.action.name,
            action=step.action.name,
            whatif=step.whatif,
            status=result.status,
            changed=result.changed,
            label=status_label(result.status, result.changed and not step.whatif),
            error_category=result.error.category if result.error else None,
            error_message=result.error.message if result.error else None,
            findings=step_findings(report, result, findings_for, position),
            document=result.to_json_dict(),
        )


def host_reason(report: HostReport) -> str | None:
    """Why the host was skipped or stopped early (runner versions without ``reason`` give None)."""
    return getattr(report, "reason", None)


def host_changed(report: HostReport) -> bool:
    """Whether a step changed the host (a step that failed after its change counts; check mode never does)."""
    return any(result.changed and not step.whatif for step, result in report.results)


def host_label(report: HostReport) -> str:
    """The host's status in words: ``failed (changed)`` when a step changed it before something failed."""
    return status_label(report.status, host_changed(report))


def changed_then_failed(report: HostReport) -> bool:
    """Whether the host failed after a step had changed it: the failure must not hide the change."""
    return host_label(report) == status_label("failed", True)


def has_blockers(report: HostReport, findings_for: FindingsFor = default_findings) -> bool:
    """Whether any step of ``report`` found a blocker."""
    return any(view.blockers for view in step_views(report, findings_for))
