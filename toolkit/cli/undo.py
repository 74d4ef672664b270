"""``jcfix undo``: restore what a run changed on each host, and say plainly what cannot be restored."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from toolkit.actions.undo_run import UndoData
from toolkit.cli.connection import Connection, connection_options
from toolkit.cli.execute import print_dry_run
from toolkit.cli.jcfix_api import undo_jumpcloud_run
from toolkit.cli.output import OUTPUT_FORMATS, exit_code, print_json, print_tables
from toolkit.errors import UsageError
from toolkit.exitcodes import ExitCode
from toolkit.jumpcloud import journal
from toolkit.jumpcloud.fix_history import JC_HOST, is_jumpcloud_run
from toolkit.runner import HostReport
from toolkit.services.run_action import run_planned
from toolkit.services.undo import hosts_from_history, plan_undo


def _table(report: HostReport) -> Table | None:
    (_, result), *_ = report.results
    data = result.data
    if not isinstance(data, UndoData):
        return None
    table = Table(show_header=False)
    table.add_column("", style="bold")
    table.add_column("", overflow="fold")
    if data.undone_before:
        table.add_row("already undone", escape(data.undone_before))
    verb = "would restore" if data.check_mode else "restored"
    for line in data.restored:
        table.add_row(verb, escape(line))
    for line in data.already:
        table.add_row("unchanged", escape(line))
    for line in data.cannot:
        table.add_row("[red]cannot undo[/]", escape(line))
    return table


def _is_jumpcloud(connection: Connection, run_id: str) -> bool:
    """Whether ``run_id`` is a JumpCloud-side fix run: in the history as one, or with a JumpCloud journal."""
    return is_jumpcloud_run(run_id, connection.reports.history) or journal.exists(run_id)


@connection_options(hosts_optional=True)
def undo_command(
    connection: Connection,
    run_id: Annotated[str, typer.Option("--run-id", help="The run to undo (see the fix's output).")],
    check: Annotated[bool, typer.Option("--check", help="Report what would be restored; change nothing.")] = False,
    output: Annotated[str, typer.Option("--output", "-o", help="table or json.")] = "table",
    jc_org_id: Annotated[
        str | None,
        typer.Option("--jc-org-id", help="JumpCloud organisation, for a JumpCloud-side run [env: JCFIX_JC_ORG_ID]."),
    ] = None,
) -> int:
    """Restore what a jcfix run changed, from the backups it saved on each host.

    Without --host or --inventory, the hosts come from the run history: those the run changed. A
    JumpCloud-side run (jcfix fix jc-*) is undone in JumpCloud, from the journal it kept.
    """
    if output not in OUTPUT_FORMATS:
        raise UsageError(f"--output must be one of {', '.join(OUTPUT_FORMATS)}")
    if not connection.targets and _is_jumpcloud(connection, run_id):
        return undo_jumpcloud_run(run_id, check=check, dry_run=connection.dry_run, output=output, org_id=jc_org_id)
    if not connection.targets:
        targets = hosts_from_history(connection.reports, run_id, connection.settings.auth)
        # JC_HOST is the API, never a device: it is not handed to WinRM.
        connection = replace(connection, targets=[t for t in targets if t.name != JC_HOST])
    plan = plan_undo(connection.targets, run_id, check=check, reports=connection.reports)
    if connection.dry_run:
        print_dry_run(connection, plan.steps)
        return ExitCode.OK
    reports = run_planned(connection, plan)
    if output == "json":
        print_json(reports)
    else:
        print_tables(reports, lambda r: f"{r.target.name}: undo run {run_id}", _table)
    return exit_code(reports)
