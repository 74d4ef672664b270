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
from toolkit.rules import SEVERITY_ORDER, Finding, diagnose
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


def last_diagnosis(report: HostReport) -> int | None:
    """The position of the host's last step that collected facts (the diagnosis that stands), else None."""
    positions = [p for p, (_, result) in enumerate(report.results) if isinstance(result.data, HostFacts)]
    return positions[-1] if positions else None


def diagnosis_findings(report: HostReport, findings_for: FindingsFor = default_findings) -> list[Finding]:
    """What the host's last diagnosis found (a later diagnosis, after the fixes, supersedes an earlier one)."""
    last = last_diagnosis(report)
    if last is None:
        return []
    return step_findings(report, report.results[last][1], findings_for, last)


def blocked_by_last_diagnosis(report: HostReport, views: Sequence[StepView]) -> bool:
    """:func:`has_blockers` from already computed ``views`` of ``report``."""
    last = last_diagnosis(report)
    return any(f.severity == "blocker" for view in views if view.position == last for f in view.findings)


def has_blockers(report: HostReport, findings_for: FindingsFor = default_findings) -> bool:
    """Whether the host's last diagnosis found a blocker: the one rule of the console recap, the exit codes
    and every report ("N with blockers")."""
    return any(f.severity == "blocker" for f in diagnosis_findings(report, findings_for))


def worst_findings(findings: Sequence[Finding]) -> list[Finding]:
    """``findings`` worst first (blockers, warnings, info), in their order within a severity."""
    return sorted(findings, key=lambda f: SEVERITY_ORDER.get(f.severity, len(SEVERITY_ORDER)))
