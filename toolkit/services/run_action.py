"""One declared action over a fleet: plan (render once, input checked), run, record, return the reports.

``jcfix run``, ``jcfix fix``, ``jcfix undo``, ``jcfix diagnose`` and ``jcfix verify`` all run their action
through :func:`run_planned`; the CLI only decides whether to preview the plan (``--dry-run``) or run it.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from toolkit.actions import RUN_ID_PARAM, Action
from toolkit.exitcodes import ExitCode, for_statuses
from toolkit.models import HostReport, Step
from toolkit.recorder import RunRecorder
from toolkit.report import ReportOptions
from toolkit.runner import FleetControl, run_fleet
from toolkit.settings import ConnectionSettings
from toolkit.signals import StoppedBySignal, end_now, stop_on_signals
from toolkit.signals import exit_code as signal_exit_code
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


class Review(Protocol):
    """A second look at hosts whose result may say the action does not concern them (issue 13 item 9).

    ``held``: whether ``report`` needs that look (its recording waits for it); ``decide``: for each held
    report that the action does not concern, why (host name -> reason), given the run's other reports.
    It may read the held hosts again (``settings``, ``forks``), and must decide from what they returned,
    never from message text.
    """

    def held(self, report: HostReport) -> bool: ...

    def decide(
        self, held: list[HostReport], others: list[HostReport], settings: ConnectionSettings, forks: int
    ) -> dict[str, str]: ...


@dataclass(frozen=True)
class ActionPlan:
    """An action rendered once (its input checked) and the step each host will run.

    ``skipped``: hosts decided before the run not to concern the action (host name -> why); they are
    recorded ``skipped`` and never connected to. ``review``: see :class:`Review`.
    """

    action: Action
    run_id: str
    parameters: Mapping[str, Any]
    steps: dict[str, list[Step]]
    skipped: Mapping[str, str] = field(default_factory=dict)
    review: Review | None = None


def mark_skipped(report: HostReport, reason: str) -> None:
    """Make ``report`` a host the action did not concern: ``skipped`` with ``reason``, not a failure.

    Its failed step stays in the report as ``skipped`` (the host's error kept beside it, so JSON says
    what it returned), and the host's status and the exit code no longer count it as failed.
    """
    report.skipped_reason = reason
    report.results = [
        (step, result.model_copy(update={"status": "skipped"}) if result.status == "failed" else result)
        for step, result in report.results
    ]


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

    Recorded: run history, and ``--junit``/``--html`` when asked; the end of the run also after Ctrl-C,
    SIGTERM or SIGHUP (:mod:`toolkit.signals`: the hosts not started are recorded ``skipped``, then
    ``KeyboardInterrupt`` or :class:`~toolkit.signals.StoppedBySignal` is raised). ``on_report`` sees
    each report before it is recorded (the diagnose service stores its findings there, so the reports
    and the exit code judge by them). Reports come back in the fleet's order. Hosts in
    ``plan.skipped`` are recorded ``skipped`` without connecting; reports ``plan.review`` holds are
    recorded after its decision.
    """
    reports: list[HostReport] = []
    _run(fleet, plan, on_report, reports)
    order = {t.name: i for i, t in enumerate(fleet.targets)}
    return sorted(reports, key=lambda r: order[r.target.name])


def run_streamed(fleet: Fleet, plan: ActionPlan, *, on_report: Callable[[HostReport], None] | None = None) -> RunTally:
    """:func:`run_planned` keeping no report: each is seen by ``on_report``, recorded, then let go.

    Memory stays flat in the number of hosts (``jcfix diagnose`` on 10,000 hosts); what the run's end
    needs is tallied as hosts finish. A plan with a ``review`` needs every report, so it is refused here.
    """
    if plan.review is not None:
        raise ValueError("a plan with a review keeps its reports: use run_planned")
    return _run(fleet, plan, on_report, None)


@dataclass
class RunTally:
    """What the end of a run needs, counted as hosts finish: hosts by status, and hosts with blockers."""

    counts: dict[str, int] = field(default_factory=dict)
    blocked: int = 0

    def add(self, report: HostReport, blocked: bool) -> None:
        """Count one finished host."""
        self.counts[report.status] = self.counts.get(report.status, 0) + 1
        self.blocked += blocked

    def exit_code(self, diagnosed: bool) -> int:
        """The run's exit code by statuses; ``diagnosed`` (``jcfix diagnose``): blockers found exit 6."""
        code: int = for_statuses([status for status, n in self.counts.items() if n])
        if code == ExitCode.OK and diagnosed and self.blocked:
            code = ExitCode.BLOCKERS
        return code


def _run(
    fleet: Fleet,
    plan: ActionPlan,
    on_report: Callable[[HostReport], None] | None,
    reports: list[HostReport] | None,
) -> RunTally:
    """Run and record ``plan``; each report is appended to ``reports`` when given (else let go)."""
    from toolkit.report.recorders import report_recorders, run_meta
    from toolkit.report.view import has_blockers
    from toolkit.transport.registry import for_settings

    settings = fleet.with_password()
    # A script the transport cannot carry (a secret through JumpCloud Commands) is refused before any host.
    for_settings(settings).check_sendable(step.rendered for steps in plan.steps.values() for step in steps)
    targets = fleet.targets
    whatif = any(step.whatif for steps in plan.steps.values() for step in steps)
    recorder = report_recorders(fleet.reports, settings=settings, parameters=plan.parameters)
    recorder.start(run_meta(plan.run_id, hosts=len(targets), check_mode=whatif))
    tally = RunTally()
    diagnosed = plan.action.name == "collect_facts"  # blockers are what the diagnosis found
    held: list[HostReport] = []
    control = FleetControl()
    interrupted = True

    def record(report: HostReport) -> None:
        recorder.host_done(report)
        tally.add(report, diagnosed and has_blockers(report))
        if reports is not None:
            reports.append(report)

    try:
        for target in targets:
            if target.name in plan.skipped:
                record(HostReport(target, skipped_reason=plan.skipped[target.name]))
        planned = [(t, plan.steps[t.name]) for t in targets if t.name not in plan.skipped]
        with stop_on_signals(control, lambda line: print(line, file=sys.stderr, flush=True)):
            for report in run_fleet(planned, settings, forks=fleet.forks, control=control):
                if on_report is not None:
                    on_report(report)
                if plan.review is not None and plan.review.held(report) and not control.interrupted:
                    held.append(report)
                else:
                    record(report)
        if plan.review is not None and held:
            others = list(reports or [])
            for name, reason in plan.review.decide(held, others, settings, fleet.forks).items():
                mark_skipped(next(r for r in held if r.target.name == name), reason)
        interrupted = control.interrupted
    finally:
        # Also after Ctrl-C: the hosts that finished stay recorded, and the reports are complete files.
        for report in held:
            record(report)
        _finish(recorder, tally, diagnosed, interrupted, control)
    _stopped(control)
    return tally


def _stopped(control: FleetControl) -> None:
    """After a run a signal stopped (everything recorded): end as that signal says."""
    if not control.interrupted:
        return
    signum = control.signum if control.signum is not None else signal.SIGINT
    if control.abandon.is_set():
        end_now(signal_exit_code(signum))  # workers still inside a host's deadline: do not join them
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise StoppedBySignal(signum)


def _finish(recorder: RunRecorder, tally: RunTally, diagnosed: bool, interrupted: bool, control: FleetControl) -> None:
    """Record how the run ended: its counts and exit code (128 + the signal's number after a signal)."""
    from toolkit.report.recorders import run_summary

    exit_code = tally.exit_code(diagnosed)  # for diagnose: exit 6 when the diagnosis found blockers
    if interrupted:
        exit_code = signal_exit_code(control.signum if control.signum is not None else signal.SIGINT)
    summary = run_summary(tally.counts, exit_code=exit_code, interrupted=interrupted)
    recorder.finish(replace(summary, stopped_reason=control.stopped_reason))
