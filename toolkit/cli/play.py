"""``jcfix play PLAYBOOK``: run a playbook over an inventory, plan first, with a live count and a recap.

A playbook that can change anything runs in check mode (``-WhatIf``) unless ``--apply`` is given, and
the check run prints each host's plan. Every host ends with one status (``ok``, ``changed``,
``pending``, ``failed``, ``unreachable``, ``skipped``); the recap lists them all, also after Ctrl-C,
SIGTERM or SIGHUP (the first stops new hosts and lets running hosts finish their current step; a
second stops waiting: :mod:`toolkit.signals`).
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from toolkit.actions._fixbase import FixData, new_run_id
from toolkit.cli.connection import Connection, connection_options
from toolkit.cli.execute import describe_target
from toolkit.cli.layout import INDENT, print_lines, wrap
from toolkit.cli.output import OUTPUT_FORMATS, STATUS_STYLE
from toolkit.cli.recap import Recap, print_recap
from toolkit.errors import UsageError
from toolkit.exitcodes import ExitCode
from toolkit.jumpcloud.diagnosis import JumpCloudReader
from toolkit.playbook import Playbook, load_playbook
from toolkit.runner import FleetControl, HostReport, batch_sizes, parse_serial, skip_reason
from toolkit.services.diagnose import DiagnoseService
from toolkit.services.play import PlayOutcome, PlayRequest, Tally, describe_options, play
from toolkit.signals import end_now, stop_on_signals
from toolkit.textvalues import plural


def host_lines(report: HostReport, check_mode: bool) -> Iterator[str]:
    """The per-host block (rich markup): status, then the plan, findings, pending notes and failures.

    With ``--serial`` the first line starts with the host's batch number (``#1`` is the canary).
    """
    status = report.status
    label = "would change" if (check_mode and status == "changed") else report.label
    reason = f" — {escape(report.reason)}" if report.reason else ""
    batch = f"#{report.batch} " if report.batch is not None else ""
    yield f"{batch}[{STATUS_STYLE.get(status, '')}]{escape(report.target.name)}: {label}[/]{reason}"
    for position, (step, result) in enumerate(report.results):
        data = result.data
        if step.action.name == "collect_facts" and data is not None:
            from toolkit.report.view import step_findings

            findings = step_findings(report, result, position=position)
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


def _interrupt_handler(control: FleetControl, err: Console) -> AbstractContextManager[None]:
    """Ctrl-C, SIGTERM, SIGHUP: the first stops starting hosts, the next stops waiting (toolkit.signals)."""
    return stop_on_signals(control, lambda line: err.print(line, highlight=False))


def _run_id(given: str | None) -> str:
    """``--run-id`` checked, else a new run id."""
    from toolkit.actions._fixbase import RUN_ID_RE

    rid = given or new_run_id()
    if not RUN_ID_RE.match(rid):
        raise UsageError("--run-id must be 1-64 letters, digits or dashes")
    return rid


def _consoles(color: bool, *, json_output: bool) -> tuple[Console, Console]:
    """The people-facing console and stderr's; with --output json, stdout carries only the JSON Lines."""
    out = Console(
        no_color=not color,
        highlight=False,
        soft_wrap=True,
        force_terminal=None if color else False,
        stderr=json_output,
    )
    return out, Console(stderr=True, no_color=not color, highlight=False)


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
        action = step.pseudo.name if step.pseudo is not None else step.runs_action.name
        out.print(f"#  {index}. {escape(step.name)}: {action} [{mode}]", highlight=False)
    for target in connection.targets:
        out.print(f"# host {escape(describe_target(target, connection))}", highlight=False)


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
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Only the recap, without the hosts that have nothing to do.")
    ] = False,
    plain: Annotated[bool, typer.Option("--plain", help="No colours, no live progress: one line per event.")] = False,
    output: Annotated[
        str, typer.Option("--output", "-o", help="table, or json: one JSON object per host and step, streamed.")
    ] = "table",
    jc_api: Annotated[
        bool | None,
        typer.Option("--jc-api/--no-jc-api", help="Diagnose JumpCloud's side too [default: when an API key is set]."),
    ] = None,
    jc_org_id: Annotated[
        str | None,
        typer.Option("--jc-org-id", help="JumpCloud organisation (multi-tenant admins) [env: JCFIX_JC_ORG_ID]."),
    ] = None,
) -> int:
    """Run a playbook (check mode unless --apply) with a live count and a final recap per host."""
    if output not in OUTPUT_FORMATS:
        raise UsageError(f"--output must be one of {', '.join(OUTPUT_FORMATS)}")
    if max_fail_percent is not None and not 0 <= max_fail_percent <= 100:  # also nan and inf
        raise UsageError(f"--max-fail-percent must be a number from 0 to 100, not {max_fail_percent}")
    playbook = load_playbook(playbook_name)
    parse_serial(serial)  # bad input stops here, before anything connects
    check_mode = playbook.can_change and not apply
    rid = _run_id(run_id)
    color = not plain and os.environ.get("NO_COLOR") is None
    out, err = _consoles(color, json_output=output == "json")
    if connection.dry_run:
        _print_plan_dry_run(playbook, connection, check_mode, out)
        return ExitCode.OK
    request = PlayRequest(
        playbook=playbook,
        targets=connection.targets,
        settings=connection.with_password(),
        forks=connection.forks,
        reports=connection.reports,
        check_mode=check_mode,
        run_id=rid,
        serial=parse_serial(serial),
        max_fail_percent=max_fail_percent,
        retries=retries,
        json_stream=sys.stdout if output == "json" else None,
    )
    with JumpCloudReader(enabled=jc_api, org_id=jc_org_id) as jumpcloud:
        request = dataclasses.replace(request, diagnoser=DiagnoseService(jumpcloud))
        live = color and not quiet and err.is_terminal
        outcome = _play_with_progress(request, out, err, recap := Recap(), live=live, quiet=quiet)
    print_recap(
        recap,
        outcome.tally.counts,
        out,
        quiet=quiet,
        check_mode=check_mode,
        stopped=outcome.stopped_reason,
        command=connection.invocation.command,  # next commands run as printed (-i, --via... carried)
    )
    return _exit(outcome)


def _exit(outcome: PlayOutcome) -> int:
    sys.stdout.flush()
    if outcome.abandoned:
        # Workers we stopped waiting for may still be inside a host's deadline: do not wait for them.
        end_now(outcome.exit_code)
    return outcome.exit_code


def _batch_heading(number: int, sizes: list[int]) -> str:
    """``batch 1 of 3 (canary): 1 host``."""
    canary = " (canary)" if number == 1 and len(sizes) > 1 else ""
    return f"batch {number} of {len(sizes)}{canary}: {plural(sizes[number - 1], 'host')}"


def _play_with_progress(
    request: PlayRequest, out: Console, err: Console, recap: Recap, *, live: bool, quiet: bool
) -> PlayOutcome:
    """Run the play service with a live count (on a terminal) and each host's block as it finishes.

    With ``--serial``, a heading starts each batch (the first, the canary, is marked) as its first host ends.
    """
    sizes = list(batch_sizes(request.serial, len(request.targets))) if request.serial else []
    if not quiet:
        mode = describe_options(request.check_mode, request.playbook.can_change)
        name, hosts = escape(request.playbook.name), plural(len(request.targets), "host")
        batches = f", {len(sizes)} batch{'es' if len(sizes) > 1 else ''}" if sizes else ""
        intro = Text.from_markup(f"jcfix play {name} — {hosts}{batches}, run {request.run_id}, {mode}")
        print_lines(out, wrap(intro, out.width, indent=INDENT))
    seen_batches: set[int] = set()
    control = FleetControl()
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
        task = progress.add_task(request.playbook.name, total=len(request.targets), counts="")

        def on_host(report: HostReport, tally: Tally) -> None:
            recap.add(report)
            shown = progress.console if live else out
            if not quiet and sizes and report.batch is not None and report.batch not in seen_batches:
                seen_batches.add(report.batch)
                shown.print(_batch_heading(report.batch, sizes), style="bold", highlight=False)
            if not quiet:  # quiet: the recap lists the hosts with something to do
                for line in host_lines(report, request.check_mode):
                    print_lines(shown, wrap(Text.from_markup(line), shown.width, indent=INDENT))
            counts = " ".join(f"{k}={v}" for k, v in tally.counts.items() if v)
            progress.update(task, advance=1, counts=counts)

        return play(request, control, on_host)
