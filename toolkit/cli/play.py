"""``jcfix play PLAYBOOK``: run a playbook over an inventory, plan first, with a live count and a recap.

A playbook that can change anything runs in check mode (``-WhatIf``) unless ``--apply`` is given, and
the check run prints each host's plan. Every host ends with one status (``ok``, ``changed``,
``pending``, ``failed``, ``unreachable``, ``skipped``); the recap lists them all, also after Ctrl-C
(the first stops new hosts and lets running hosts finish their current step; a second stops waiting).
"""

from __future__ import annotations

import dataclasses
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from toolkit.actions._fixbase import FixData, new_run_id
from toolkit.cli.connection import Connection, connection_options
from toolkit.cli.execute import describe_target
from toolkit.cli.output import OUTPUT_FORMATS, STATUS_STYLE
from toolkit.errors import UsageError
from toolkit.exitcodes import ExitCode, for_statuses
from toolkit.playbook import DIAGNOSE, Playbook, PlayOptions, load_playbook, run_playbook_on_host, static_steps
from toolkit.recorder import HOST_STATUSES
from toolkit.rules import diagnose
from toolkit.runner import FleetControl, HostChannel, HostReport, RetryPolicy, parse_serial, run_hosts, skip_reason
from toolkit.transport.base import HostTarget

INTERRUPTED_EXIT = 130


@dataclass
class RecapRow:
    """What the recap keeps per host (small, so 10,000 hosts stay cheap)."""

    host: str
    status: str
    steps: dict[str, int]
    reason: str


@dataclass
class Tally:
    """Counts by host status as hosts finish, and the recap rows."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(HOST_STATUSES, 0))
    rows: list[RecapRow] = field(default_factory=list)
    blocked_hosts: int = 0

    def add(self, report: HostReport, blocked: bool) -> RecapRow:
        status = report.status
        self.counts[status] += 1
        self.blocked_hosts += blocked
        steps: dict[str, int] = {}
        for _, result in report.results:
            steps[result.status] = steps.get(result.status, 0) + 1
        row = RecapRow(report.target.name, status, steps, _reason(report))
        self.rows.append(row)
        return row


def _reason(report: HostReport) -> str:
    if report.reason:
        return report.reason
    for _, result in report.results:
        if result.status == "failed" and result.error is not None:
            return f"{result.error.category}: {result.error.message}"
    return ""


def _blocked(report: HostReport) -> bool:
    """Whether the host's last diagnose found a blocker (for the BLOCKERS exit code)."""
    from toolkit.actions.collect_facts import HostFacts
    from toolkit.report.view import expected_jc_users

    for position in reversed(range(len(report.results))):
        _, result = report.results[position]
        if isinstance(result.data, HostFacts):
            findings = report.diagnoses.get(position)
            if findings is None:
                findings = diagnose(report.target.name, result.data, expected_jc_users(report.target))
            return any(f.severity == "blocker" for f in findings)
    return False


def host_lines(report: HostReport, check_mode: bool) -> Iterator[str]:
    """The per-host block (rich markup): status, then the plan, findings, pending notes and failures."""
    status = report.status
    label = "would change" if (check_mode and status == "changed") else report.label
    reason = f" — {escape(report.reason)}" if report.reason else ""
    yield f"[{STATUS_STYLE.get(status, '')}]{escape(report.target.name)}: {label}[/]{reason}"
    for position, (step, result) in enumerate(report.results):
        data = result.data
        if step.action.name == "collect_facts" and data is not None:
            from toolkit.report.view import expected_jc_users

            findings = report.diagnoses.get(position)
            if findings is None:
                findings = diagnose(report.target.name, data, expected_jc_users(report.target))
            blockers = [f for f in findings if f.severity == "blocker"]
            summary = ", ".join(f"{f.code} {f.subject or ''}".strip() for f in blockers) or "no blockers"
            yield f"  {escape(step.name)}: {escape(summary)}"
        elif isinstance(data, FixData):
            if data.check_mode:
                for line in data.planned or ["nothing to change"]:
                    yield f"  {escape(step.name)}: plan: {escape(line)}"
            elif result.status == "pending":
                for note in data.notes[:1] or data.planned[:1]:
                    yield f"  {escape(step.name)}: pending: {escape(note)}"
            elif result.status == "changed":
                for line in data.planned:
                    yield f"  {escape(step.name)}: done: {escape(line)}"
        if result.status == "failed" and result.error is not None:
            yield f"  [red]{escape(step.name)}: {result.error.category}: {escape(result.error.message)}[/]"
        elif result.status == "skipped" and step.action.name != "collect_facts":
            why = skip_reason(result)
            if why and not why.startswith("condition is false") and not why.startswith("nothing to loop"):
                yield f"  [dim]{escape(step.name)}: skipped: {escape(why)}[/]"


@contextmanager
def _interrupt_handler(control: FleetControl, err: Console) -> Iterator[None]:
    """First Ctrl-C: stop starting hosts; second: stop waiting for running ones. The recap still prints."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handle(signum: int, frame: Any) -> None:
        if control.stop.is_set():
            control.abandon.set()
            err.print("jcfix: interrupted again: not waiting for running hosts", highlight=False)
        else:
            control.stop.set()
            err.print(
                "jcfix: interrupted: no new hosts start; running hosts finish their current step "
                "(Ctrl-C again to stop waiting)",
                highlight=False,
            )

    previous = signal.signal(signal.SIGINT, handle)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _print_plan_dry_run(playbook: Playbook, connection: Connection, check_mode: bool, out: Console) -> None:
    out.print(f"# playbook {escape(playbook.name)} ({escape(playbook.source)}), {'check' if check_mode else 'apply'}")
    for index, step in enumerate(playbook.steps, start=1):
        mode = (
            "check (-WhatIf)"
            if (check_mode and step.changes_state)
            else "read-only"
            if not step.changes_state
            else "apply"
        )
        action = DIAGNOSE if step.action is None else step.action.name
        out.print(f"#  {index}. {escape(step.name)}: {action} [{mode}]", highlight=False)
    for target in connection.targets:
        out.print(f"# host {escape(describe_target(target, connection))}", highlight=False)


def _recap(tally: Tally, out: Console, *, quiet: bool, check_mode: bool, stopped: str | None) -> None:
    rows = tally.rows if not quiet else [r for r in tally.rows if r.status not in ("ok",)]
    if rows:
        out.print("RECAP" + (" (check mode: nothing was changed)" if check_mode else ""), highlight=False)
        width = max(len(r.host) for r in rows)
        for row in rows:
            steps = " ".join(f"{k}={v}" for k, v in sorted(row.steps.items()))
            reason = f"  {escape(row.reason)}" if row.reason else ""
            style = STATUS_STYLE.get(row.status, "")
            out.print(f"{escape(row.host).ljust(width)}  [{style}]{row.status:<11}[/] {steps}{reason}", highlight=False)
    total = sum(tally.counts.values())
    counts = ", ".join(f"[{STATUS_STYLE.get(k, '')}]{v} {k}[/]" for k, v in tally.counts.items() if v)
    blocked = f"; {tally.blocked_hosts} with blockers" if tally.blocked_hosts else ""
    out.print(f"{total} host(s): {counts or 'none'}{blocked}", highlight=False)
    if stopped:
        out.print(f"stopped starting hosts: {escape(stopped)}", highlight=False)


@connection_options
def play_command(
    connection: Connection,
    playbook_name: Annotated[str, typer.Argument(metavar="PLAYBOOK", help="A playbook file, or a shipped name.")],
    apply: Annotated[bool, typer.Option("--apply", help="Make the changes (default: check mode, -WhatIf).")] = False,
    serial: Annotated[
        str | None, typer.Option("--serial", help="Batches: N hosts, or percentages (5%,50%,100%); canary first.")
    ] = None,
    max_fail_percent: Annotated[
        float | None,
        typer.Option("--max-fail-percent", help="Start no new host once more than this % of a batch failed.", min=0),
    ] = None,
    retries: Annotated[
        int, typer.Option("--retries", help="Retries of a transient (unreachable) error per host.", min=0, max=10)
    ] = 2,
    run_id: Annotated[str | None, typer.Option("--run-id", help="Name the run (default: generated).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only the recap of hosts that are not ok.")] = False,
    plain: Annotated[bool, typer.Option("--plain", help="No colours, no live progress: one line per event.")] = False,
    output: Annotated[
        str, typer.Option("--output", "-o", help="table, or json: one JSON object per host and step, streamed.")
    ] = "table",
) -> int:
    """Run a playbook (check mode unless --apply) with a live count and a final recap per host."""
    from toolkit.report.recorders import report_recorders, run_meta, run_summary

    if output not in OUTPUT_FORMATS:
        raise UsageError(f"--output must be one of {', '.join(OUTPUT_FORMATS)}")
    playbook = load_playbook(playbook_name)
    serial_spec = parse_serial(serial)
    check_mode = playbook.can_change and not apply
    rid = run_id or new_run_id()
    from toolkit.actions._fixbase import RUN_ID_RE

    if not RUN_ID_RE.match(rid):
        raise UsageError("--run-id must be 1-64 letters, digits or dashes")
    color = not plain and os.environ.get("NO_COLOR") is None
    # With --output json, stdout carries only the JSON Lines; the people-facing lines go to stderr.
    out = Console(
        no_color=not color,
        highlight=False,
        soft_wrap=True,
        force_terminal=None if color else False,
        stderr=output == "json",
    )
    err = Console(stderr=True, no_color=not color, highlight=False)
    if connection.dry_run:
        _print_plan_dry_run(playbook, connection, check_mode, out)
        return ExitCode.OK
    settings = connection.with_password()
    targets: list[HostTarget] = connection.targets
    control = FleetControl()
    retry = RetryPolicy(retries=retries)
    options = PlayOptions(check_mode=check_mode, run_id=rid, stop=control.stop)
    placeholder_steps = static_steps(playbook, check_mode)

    def work(target: HostTarget) -> HostReport:
        with HostChannel(target, settings, retry=retry, stop=control.stop) as channel:
            report = run_playbook_on_host(playbook, channel, options)
        report.retries = channel.retries
        for note in channel.notes:
            report.add_note(note)
        return report

    recorder = report_recorders(
        connection.reports, settings=settings, json_stream=sys.stdout if output == "json" else None
    )
    recorder.start(run_meta(rid, hosts=len(targets), check_mode=check_mode, playbook=playbook.source))
    if not quiet:
        mode = "check mode (-WhatIf): nothing will change; give --apply to make the changes" if check_mode else ""
        mode = mode or ("apply" if playbook.can_change else "read-only")
        out.print(f"jcfix play {escape(playbook.name)} — {len(targets)} host(s), run {rid}, {mode}", highlight=False)
    tally = Tally()
    live = color and not quiet and err.is_terminal
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[counts]}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not live,
    )
    with _interrupt_handler(control, err), progress:
        task = progress.add_task(playbook.name, total=len(targets), counts="")
        for report in run_hosts(
            targets,
            work,
            forks=connection.forks,
            deadline_s=settings.deadline,
            serial=serial_spec,
            max_fail_percent=max_fail_percent,
            control=control,
            describe=lambda target: placeholder_steps,
        ):
            tally.add(report, _blocked(report))
            recorder.host_done(report)
            if not quiet:  # quiet: the recap lists the hosts that are not ok
                for line in host_lines(report, check_mode):
                    (progress.console if live else out).print(line, highlight=False)
            counts = " ".join(f"{k}={v}" for k, v in tally.counts.items() if v)
            progress.update(task, advance=1, counts=counts)
    interrupted = control.interrupted
    code = for_statuses([s for s, n in tally.counts.items() if n and s != "skipped"])
    if code == ExitCode.OK and tally.blocked_hosts:
        code = ExitCode.BLOCKERS
    if interrupted:
        code = INTERRUPTED_EXIT
    _recap(tally, out, quiet=quiet, check_mode=check_mode, stopped=control.stopped_reason)
    summary = dataclasses.replace(
        run_summary(tally.counts, exit_code=int(code), interrupted=interrupted), stopped_reason=control.stopped_reason
    )
    recorder.finish(summary)
    sys.stdout.flush()
    if control.abandon.is_set():
        # Workers we stopped waiting for may still be inside a host's deadline: do not wait for them.
        sys.stderr.flush()
        os._exit(int(code))
    return int(code)
