"""``jcfix undo``: restore what a run changed on each host, and say plainly what cannot be restored."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

import typer
from rich.table import Table

from toolkit.actions import get_action
from toolkit.actions.undo_run import UndoData
from toolkit.cli.connection import Connection, connection_options
from toolkit.cli.execute import run_action
from toolkit.cli.output import OUTPUT_FORMATS, exit_code, print_json, print_tables
from toolkit.errors import UsageError
from toolkit.exitcodes import ExitCode
from toolkit.history import History, history_path
from toolkit.runner import HostReport
from toolkit.settings import check_cleartext


def _table(report: HostReport) -> Table | None:
    (_, result), *_ = report.results
    data = result.data
    if not isinstance(data, UndoData):
        return None
    table = Table(show_header=False)
    table.add_column("", style="bold")
    table.add_column("", overflow="fold")
    if data.undone_before:
        table.add_row("already undone", data.undone_before)
    verb = "would restore" if data.check_mode else "restored"
    for line in data.restored:
        table.add_row(verb, line)
    for line in data.already:
        table.add_row("unchanged", line)
    for line in data.cannot:
        table.add_row("[red]cannot undo[/]", line)
    return table


def _hosts_from_history(connection: Connection, run_id: str) -> Connection:
    """``connection`` aimed at the hosts the run touched, reached as the run reached them (from history)."""
    path = history_path(connection.reports.history)
    with History(path) as history:
        if not history.attempts(run_id):
            raise UsageError(f"run {run_id} is not in the run history ({path}): give --host or --inventory")
        targets = history.touched_targets(run_id)
    if not targets:
        raise UsageError(f"run {run_id} changed nothing on any host (run history {path}): nothing to undo")
    for target in targets:
        check_cleartext(target.connect_address, target.scheme or "https", target.auth or connection.settings.auth)
    return replace(connection, targets=targets)


@connection_options(hosts_optional=True)
def undo_command(
    connection: Connection,
    run_id: Annotated[str, typer.Option("--run-id", help="The run to undo (see the fix's output).")],
    check: Annotated[bool, typer.Option("--check", help="Report what would be restored; change nothing.")] = False,
    output: Annotated[str, typer.Option("--output", "-o", help="table or json.")] = "table",
) -> int:
    """Restore what a jcfix run changed, from the backups it saved on each host.

    Without --host or --inventory, the hosts come from the run history: those the run changed.
    """
    if output not in OUTPUT_FORMATS:
        raise UsageError(f"--output must be one of {', '.join(OUTPUT_FORMATS)}")
    if not connection.targets:
        connection = _hosts_from_history(connection, run_id)
    reports = run_action(connection, get_action("undo_run"), {"RunId": run_id}, whatif=check)
    if reports is None:
        return ExitCode.OK
    if output == "json":
        print_json(reports)
    else:
        print_tables(reports, lambda r: f"{r.target.name}: undo run {run_id}", _table)
    return exit_code(reports)
