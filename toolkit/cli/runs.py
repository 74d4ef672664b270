"""``jcfix runs``: the run history: what ran, when, by whom, and what happened on each host."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape as markup_escape
from rich.text import Text

from toolkit.cli.envelope import envelope, write_document
from toolkit.cli.layout import Column, Row, render_rows
from toolkit.cli.output import OUTPUT_FORMATS, STATUS_STYLE, console
from toolkit.errors import UsageError
from toolkit.exitcodes import ExitCode
from toolkit.history import History, HostRow, RunRow, StepRow, history_path
from toolkit.report import check_report_path
from toolkit.report.export import EXPORT_FORMATS, export_run
from toolkit.textvalues import plural, printable

app = typer.Typer(help="Show the run history: every run, each host and each step's result.", no_args_is_help=True)

HistoryOption = Annotated[
    Path | None,
    typer.Option("--history", help="Run-history database [env: JCFIX_HISTORY; default: the user's data directory]."),
]
OutputOption = Annotated[str, typer.Option("--output", "-o", help="table or json.")]


def escape(value: str) -> str:
    """A recorded value for a markup line: control characters escaped (a newline in a host's error or a name
    never starts a line of its own), and ``[`` never read as a style."""
    return markup_escape(printable(value))


def _check_output(output: str) -> None:
    if output not in OUTPUT_FORMATS:
        raise UsageError(f"--output must be one of {', '.join(OUTPUT_FORMATS)}")


def _counts_text(counts: dict[str, int] | None, markup: bool = True) -> str:
    if counts is None:
        return "not finished"
    parts = [(status, n) for status, n in counts.items() if n]
    if not markup:
        return ", ".join(f"{n} {status}" for status, n in parts)
    return ", ".join(f"[{STATUS_STYLE.get(status, '')}]{n} {status}[/]" for status, n in parts) or "no hosts"


def _run_json(run: RunRow) -> dict[str, Any]:
    return {
        "run_id": run.run_id,
        "command": run.command,
        "playbook": run.playbook,
        "user": run.user,
        "started": run.started,
        "ended": run.ended,
        "check_mode": run.check_mode,
        "seq": run.seq,
        "planned_hosts": run.planned_hosts,
        "parameters": run.parameters,
        "counts": run.counts,
        "interrupted": run.interrupted,
        "exit_code": run.exit_code,
        "stopped_reason": run.stopped_reason,
    }


@app.command("list")
def list_runs(
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many runs, newest first.", min=1)] = 20,
    history: HistoryOption = None,
    output: OutputOption = "table",
) -> int:
    """List the latest runs, newest first: id, when, who, what, and how many hosts ended how."""
    _check_output(output)
    with History(history_path(history)) as db:
        runs = db.runs(limit)
    if output == "json":
        write_document(envelope("runs list", runs=[_run_json(r) for r in runs]))
        return ExitCode.OK
    columns = [
        Column("Run id"), Column("Started"), Column("User"), Column("Command", "long"), Column("Hosts"),
        Column("Result", "text"), Column("Exit"),
    ]  # fmt: skip
    rows = []
    for run in runs:
        what = run.playbook or run.command
        mode = " (check)" if run.check_mode else ""
        result = Text.from_markup(_counts_text(run.counts) + (" [red]interrupted[/]" if run.interrupted else ""))
        exit_code = "" if run.exit_code is None else str(run.exit_code)
        rows.append(Row([run.run_id, run.started, run.user, what + mode, str(run.planned_hosts), result, exit_code]))
    out = console()
    out.print(f"[bold]{plural(len(runs), 'latest run')}[/]")
    # Laid out for the real width: run ids and times are never broken across lines.
    render_rows(out, columns, rows)
    return ExitCode.OK


def _step_json(step: StepRow, with_document: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "step": step.name,
        "action": step.action,
        "whatif": step.whatif,
        "status": step.status,
        "changed": step.changed,
        "error": {"category": step.error_category, "message": step.error_message} if step.error_category else None,
        "parameters": step.parameters,
    }
    if with_document:
        data["result"] = step.document
    return data


def _host_json(run: RunRow, host: HostRow, steps: list[StepRow], with_document: bool) -> dict[str, Any]:
    return {
        "host": host.host,
        "run_seq": run.seq,
        "status": host.status,
        "reason": host.reason,
        "touched": host.touched,
        "reached_at": f"{host.scheme}://{host.address}:{host.port} (auth {host.auth})",
        "finished": host.finished,
        "steps": [_step_json(s, with_document) for s in steps],
    }


def _print_run(db: History, run: RunRow, host: str | None) -> int:
    out = console()
    out.print(f"[bold]run {escape(run.run_id)}[/] (#{run.seq})", highlight=False)
    out.print(f"  command:   {escape(run.command)}", highlight=False)
    if run.playbook:
        out.print(f"  playbook:  {escape(run.playbook)}", highlight=False)
    out.print(f"  by:        {escape(run.user)}", highlight=False)
    out.print(f"  started:   {run.started}, ended {run.ended or 'never (not finished)'}", highlight=False)
    out.print(f"  mode:      {'check (-WhatIf)' if run.check_mode else 'apply'}", highlight=False)
    if run.parameters:
        shown = ", ".join(f"{k}={json.dumps(v)}" for k, v in run.parameters.items())
        out.print(f"  parameters: {escape(shown)}", highlight=False)
    interrupted = " [red](interrupted)[/]" if run.interrupted else ""
    out.print(f"  hosts:     {run.planned_hosts}: {_counts_text(run.counts)}{interrupted}", highlight=False)
    if run.stopped_reason:
        out.print(f"  stopped:   {escape(run.stopped_reason)}", highlight=False)
    shown_hosts = 0
    # One host at a time, straight from the database: a 10,000-host run prints without loading it all.
    for row in db.hosts(run.seq, host):
        shown_hosts += 1
        style = STATUS_STYLE.get(row.status, "")
        reason = f" ({escape(row.reason)})" if row.reason else ""
        out.print(
            f"  [{style}]{row.label:<11}[/] [bold]{escape(row.host)}[/]{reason}  "
            f"{row.scheme}://{escape(row.address)}:{row.port}",
            highlight=False,
        )
        for step in db.steps(run.seq, row.host):
            changed = ", changed" if step.changed else ""
            check = " (check)" if step.whatif else ""
            error = f": {step.error_category}: {escape(step.error_message or '')}" if step.error_category else ""
            style = STATUS_STYLE.get(step.status, "")
            out.print(f"      {escape(step.name)} [{style}]{step.status}[/]{changed}{check}{error}", highlight=False)
            if host is not None:
                # One host asked for: show what it answered, in full.
                out.print(escape(json.dumps(step.document, indent=2)), highlight=False, soft_wrap=True)
    return shown_hosts


@app.command("show")
def show_run(
    run_id: Annotated[str, typer.Argument(help="The run id (see jcfix runs list).")],
    host: Annotated[str | None, typer.Option("--host", "-H", help="Only this host, with its full results.")] = None,
    history: HistoryOption = None,
    output: OutputOption = "table",
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            metavar="FORMAT",
            help=f"Rebuild a report of the run: {', '.join(EXPORT_FORMATS)} (latest attempt).",
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", metavar="FILE", help="Write the --format report here (default: stdout).")
    ] = None,
) -> int:
    """Show one run: who, when, what, each host's status and each step's result (--host: one host, in full)."""
    _check_output(output)
    if fmt is not None and fmt not in EXPORT_FORMATS:
        raise UsageError(f"--format must be one of {', '.join(EXPORT_FORMATS)}, not {fmt!r}")
    if out is not None and fmt is None:
        raise UsageError("--out needs --format (csv, json, junit or html)")
    if fmt is not None and host is not None:
        raise UsageError("--format exports the whole run: leave out --host")
    if out is not None:
        check_report_path("--out", out)  # a folder or an unwritable place: refused before anything is written
    with History(history_path(history)) as db:
        runs = db.attempts(run_id)
        if not runs:
            raise UsageError(f"no run {run_id!r} in the run history ({db.path})")
        if fmt is not None:
            # A run id re-used by later runs (a fix re-run with the same --run-id): the latest one.
            count = export_run(db, runs[-1], fmt, out)
            if out is not None:
                wrote = f"the {fmt} report of run {run_id} ({plural(count, 'host')})"
                print(f"jcfix: wrote {wrote} to {out}", file=sys.stderr)
            return ExitCode.OK
        if output == "json":
            hosts = [
                _host_json(run, h, db.steps(run.seq, h.host), host is not None) for run in runs
                for h in db.hosts(run.seq, host)
            ]  # fmt: skip
            if host is not None and not hosts:
                raise UsageError(f"run {run_id} has no host {host!r}")
            write_document(envelope("runs show", hosts, run_id=run_id, runs=[_run_json(r) for r in runs]))
            return ExitCode.OK
        shown = sum(_print_run(db, run, host) for run in runs)
    if host is not None and not shown:
        raise UsageError(f"run {run_id} has no host {host!r}")
    return ExitCode.OK
