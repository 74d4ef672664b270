"""One declared action over a fleet: plan (render once, input checked), run, record, return the reports.

``jcfix run``, ``jcfix fix``, ``jcfix undo``, ``jcfix diagnose`` and ``jcfix verify`` all run their action
through :func:`run_planned`; the CLI only decides whether to preview the plan (``--dry-run``) or run it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from toolkit.actions import RUN_ID_PARAM, Action
from toolkit.exitcodes import ExitCode, for_statuses
from toolkit.models import HostReport, Step
from toolkit.report import ReportOptions
from toolkit.runner import run_fleet
from toolkit.settings import ConnectionSettings
from toolkit.transport.base import HostTarget


class Fleet(Protocol):
    """Where an action runs: the hosts, how many at once, the reports to write, and the sign-in."""

    @property
    def targets(self) -> list[HostTarget]: ...

    @property
    def forks(self) -> int: ...

    @property
    def reports(self) -> ReportOptions: ...

    def with_password(self) -> ConnectionSettings: ...


@dataclass(frozen=True)
class ActionPlan:
    """An action rendered once (its input checked) and the step each host will run."""

    action: Action
    run_id: str
    parameters: Mapping[str, Any]
    steps: dict[str, list[Step]]


def plan_action(
    targets: list[HostTarget],
    action: Action,
    values: Mapping[str, Any] | None = None,
    *,
    whatif: bool = False,
    run_id: str | None = None,
    **options: Any,
) -> ActionPlan:
    """Check ``values`` and render ``action`` once, before anything connects; bad input costs nothing.

    ``run_id`` names the run (history, and the backups of a fix on the hosts): given, else new. An action
    that declares a ``RunId`` parameter gets it filled in with the run's id unless ``values`` has one
    (``undo_run``'s names the run to undo).
    """
    from toolkit.actions._fixbase import new_run_id

    values = dict(values or {})
    rid = run_id or new_run_id()  # undo names the run it undoes in RunId, and is a run of its own
    if action.needs_run_id:
        values.setdefault(RUN_ID_PARAM, rid)
    rendered = action.render(values, **options)
    steps = {t.name: [Step(action, rendered, whatif=whatif)] for t in targets}
    return ActionPlan(action, rid, rendered.parameters, steps)


def run_planned(
    fleet: Fleet, plan: ActionPlan, *, on_report: Callable[[HostReport], None] | None = None
) -> list[HostReport]:
    """Run ``plan`` on every host of ``fleet``; each host's report is recorded as it finishes.

    Recorded: run history, and ``--junit``/``--html`` when asked; the end of the run also after Ctrl-C.
    ``on_report`` sees each report before it is recorded (the diagnose service stores its findings there,
    so the reports and the exit code judge by them). Reports come back in the fleet's order.
    """
    from toolkit.report.recorders import report_recorders, run_meta, run_summary
    from toolkit.report.view import has_blockers

    settings = fleet.with_password()
    targets = fleet.targets
    order = {t.name: i for i, t in enumerate(targets)}
    whatif = any(step.whatif for steps in plan.steps.values() for step in steps)
    recorder = report_recorders(fleet.reports, settings=settings, parameters=plan.parameters)
    recorder.start(run_meta(plan.run_id, hosts=len(targets), check_mode=whatif))
    reports: list[HostReport] = []
    counts: dict[str, int] = {}
    interrupted = True
    try:
        for report in run_fleet([(t, plan.steps[t.name]) for t in targets], settings, forks=fleet.forks):
            if on_report is not None:
                on_report(report)
            recorder.host_done(report)
            counts[report.status] = counts.get(report.status, 0) + 1
            reports.append(report)
        interrupted = False
    finally:
        # Also after Ctrl-C: the hosts that finished stay recorded, and the reports are complete files.
        exit_code = for_statuses([r.status for r in reports])
        diagnosed = plan.action.name == "collect_facts"  # blockers are what the diagnosis found
        if exit_code == ExitCode.OK and diagnosed and any(has_blockers(r) for r in reports):
            exit_code = ExitCode.BLOCKERS  # what jcfix diagnose exits with
        recorder.finish(run_summary(counts, exit_code=130 if interrupted else exit_code, interrupted=interrupted))
    return sorted(reports, key=lambda r: order[r.target.name])
