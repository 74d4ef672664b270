"""Running a playbook over a fleet: hosts in batches, each through its steps, recorded as they finish.

The per-host part is :func:`toolkit.playbook_run.run_playbook_on_host`; this service schedules hosts
(``--serial`` batches, ``--max-fail-percent``, retries, the fleet deadline, Ctrl-C through
:class:`~toolkit.runner.FleetControl`), records each host, counts statuses and blocked hosts, and gives
the exit code. Printing is the caller's: it gets each finished host through ``on_host``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TextIO

from toolkit.exitcodes import ExitCode, for_statuses
from toolkit.models import HostReport
from toolkit.playbook import Playbook
from toolkit.playbook_run import PlayOptions, run_playbook_on_host, static_steps
from toolkit.recorder import HOST_STATUSES
from toolkit.report import ReportOptions
from toolkit.report.view import has_blockers
from toolkit.runner import FleetControl, LiveChannel, RetryPolicy, forkable, run_hosts
from toolkit.services.diagnose import DiagnoseService
from toolkit.settings import ConnectionSettings
from toolkit.signals import exit_code
from toolkit.transport.base import HostTarget

INTERRUPTED_EXIT = 130  # Ctrl-C; a run stopped by another signal exits 128 + its number


@dataclass(frozen=True)
class PlayRequest:
    """Everything a playbook run needs, as plain values.

    Attributes:
        playbook: the validated playbook.
        targets, settings, forks, reports: the hosts, how to reach them, how many at once, what to record.
        check_mode: run state-changing steps with ``-WhatIf``.
        run_id: the run's id (history; the ``RunId`` of every fix step).
        serial: batch sizes (``parse_serial``), empty for one batch.
        max_fail_percent: start no new host once more than this share of a batch failed.
        retries: retries of a transient (unreachable) error per host.
        diagnoser: the run's one diagnosis (JumpCloud's side included when its reader is active).
        json_stream: where JSON Lines go (``--output json``), else None.
    """

    playbook: Playbook
    targets: list[HostTarget]
    settings: ConnectionSettings
    forks: int
    reports: ReportOptions
    check_mode: bool
    run_id: str
    serial: list[str] = field(default_factory=list)
    max_fail_percent: float | None = None
    retries: int = 2
    diagnoser: DiagnoseService = field(default_factory=DiagnoseService)
    json_stream: TextIO | None = None


@dataclass
class Tally:
    """Counts by host status as hosts finish (counts only: 10,000 hosts stay cheap; the CLI prints each
    host's recap line as it finishes)."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(HOST_STATUSES, 0))
    blocked_hosts: int = 0

    def add(self, report: HostReport, blocked: bool) -> None:
        self.counts[report.status] += 1
        self.blocked_hosts += blocked


@dataclass(frozen=True)
class PlayOutcome:
    """How the run ended: the tally, the exit code, and why it stopped starting hosts (if it did)."""

    tally: Tally
    exit_code: int
    interrupted: bool
    stopped_reason: str | None
    abandoned: bool


def play(
    request: PlayRequest, control: FleetControl, on_host: Callable[[HostReport, Tally], None] | None = None
) -> PlayOutcome:
    """Run ``request.playbook`` on every host; ``on_host`` sees each host as it finishes (after it is recorded)."""
    from toolkit.report.recorders import report_recorders, run_meta, run_summary

    options = PlayOptions(
        check_mode=request.check_mode, run_id=request.run_id, stop=control.stop, diagnoser=request.diagnoser
    )
    placeholder_steps = static_steps(request.playbook, request.check_mode)
    retry = RetryPolicy(retries=request.retries)

    def work(target: HostTarget) -> HostReport:
        channel = LiveChannel(target, request.settings, retry=retry, stop=control.stop)
        with channel, control.track(channel):
            report = run_playbook_on_host(request.playbook, channel, options)
        untouched = not channel.done and all(result.status == "skipped" for _, result in report.results)
        if control.stopped_reason is not None and control.interrupted and untouched:
            # Stopped before its first step reached the host: skipped for the run's reason, like hosts not started.
            report.skipped_reason = control.stopped_reason
        report.retries = channel.retries
        for note in channel.notes:
            report.add_note(note)
        return report

    recorder = report_recorders(request.reports, settings=request.settings, json_stream=request.json_stream)
    meta = run_meta(
        request.run_id, hosts=len(request.targets), check_mode=request.check_mode, playbook=request.playbook.source
    )
    recorder.start(meta)
    tally = Tally()
    code = INTERRUPTED_EXIT  # what the reports say if something below raises: the run did not end normally
    try:
        for report in run_hosts(
            request.targets,
            work,
            forks=request.forks,
            deadline_s=request.settings.deadline,
            serial=request.serial,
            max_fail_percent=request.max_fail_percent,
            control=control,
            describe=lambda target: placeholder_steps,
            processes=None if forkable(request.settings) else 1,
        ):
            tally.add(report, has_blockers(report))
            recorder.host_done(report)
            if on_host is not None:
                on_host(report, tally)
        code = _exit_code(tally, control)
    finally:
        # Always: the history run is closed and the reports are complete files, whatever stopped the run.
        interrupted = control.interrupted or code == INTERRUPTED_EXIT
        summary = run_summary(tally.counts, exit_code=code, interrupted=interrupted)
        recorder.finish(replace(summary, stopped_reason=control.stopped_reason))
    return PlayOutcome(tally, code, control.interrupted, control.stopped_reason, control.abandon.is_set())


def _exit_code(tally: Tally, control: FleetControl) -> int:
    if control.interrupted:
        return exit_code(control.signum) if control.signum is not None else INTERRUPTED_EXIT
    code = for_statuses([s for s, n in tally.counts.items() if n and s != "skipped"])
    if code == ExitCode.OK and tally.blocked_hosts:
        code = ExitCode.BLOCKERS
    return int(code)


def describe_options(check_mode: bool, can_change: bool) -> str:
    """The run's mode in words, for the first line of its output."""
    if check_mode:
        return "check mode (-WhatIf): nothing will change; give --apply to make the changes"
    return "apply" if can_change else "read-only"
