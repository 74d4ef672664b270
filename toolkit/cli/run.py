"""``jcfix run ACTION``: run any read-only action on the hosts and print its data (table or JSON).

The generic entry for read-only actions, shipped or your own (``JCFIX_ACTIONS_DIR``): parameters come
as ``--param Name=value`` and are checked by the action's declaration before anything connects.
State-changing actions go through ``jcfix fix`` (check mode, backups, undo).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from toolkit.actions import get_action, parse_param_args
from toolkit.cli.connection import Connection, connection_options
from toolkit.cli.execute import run_action
from toolkit.cli.output import OUTPUT_FORMATS, exit_code, print_json, print_tables
from toolkit.errors import UsageError
from toolkit.exitcodes import ExitCode
from toolkit.runner import HostReport


def _cell(value: Any) -> str:
    """A host's value as table text: never read as rich markup (a name like ``[red]`` is shown as written)."""
    return escape(value if isinstance(value, str) else json.dumps(value, default=str))


def data_table(report: HostReport) -> Table | None:
    """The host's data: one row per item of its first list of records, else one row per field."""
    if not report.results or report.results[0][1].data is None:
        return None
    data = report.results[0][1].data.model_dump(mode="json")
    records = next((v for v in data.values() if isinstance(v, list) and v and isinstance(v[0], dict)), None)
    if records is not None:
        table = Table()
        for column in records[0]:
            table.add_column(column, overflow="fold")
        for record in records:
            table.add_row(*(_cell(record.get(column)) for column in records[0]))
        return table
    table = Table("Field", "Value")
    for key, value in data.items():
        table.add_row(key, _cell(value))
    return table


@connection_options
def run_command(
    connection: Connection,
    action_name: Annotated[str, typer.Argument(metavar="ACTION", help="A read-only action (jcfix templates).")],
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="Name=value for the script; repeatable.")
    ] = None,
    output: Annotated[str, typer.Option("--output", "-o", help="table or json.")] = "table",
) -> int:
    """Run a read-only action on the hosts and print its data."""
    if output not in OUTPUT_FORMATS:
        raise UsageError(f"--output must be one of {', '.join(OUTPUT_FORMATS)}")
    action = get_action(action_name)
    if action.changes_state:
        hint = f"jcfix fix {action.command}" if action.command else "a playbook"
        raise UsageError(f"{action.name} changes the host: run it with {hint} (check mode, backups, undo)")
    values = parse_param_args(action, param or [])
    reports = run_action(connection, action, values)
    if reports is None:
        return ExitCode.OK
    if output == "json":
        print_json(reports)
    else:
        print_tables(reports, lambda r: f"{r.target.name}: {action.name}", data_table)
    return exit_code(reports)
