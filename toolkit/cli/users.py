"""``jcfix users list``: every local account of each host, as lusrmgr.msc would show it and more."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from toolkit.actions import get_action
from toolkit.actions.list_users import ListUsersData
from toolkit.cli.connection import Connection, connection_options
from toolkit.cli.execute import run_action
from toolkit.cli.output import OUTPUT_FORMATS, exit_code, print_json, print_tables
from toolkit.errors import UsageError
from toolkit.exitcodes import ExitCode
from toolkit.runner import HostReport

app = typer.Typer(help="Local user accounts.", no_args_is_help=True)


COLUMNS = ("Name", "Full name", "SID", "Enabled", "Source", "Last logon", "Profile", "Signed in", "Description")


def _table(report: HostReport) -> Table | None:
    (_, result), *_ = report.results
    if not isinstance(result.data, ListUsersData):
        return None
    table = Table(show_lines=False)
    for column in (
        "Name",
        "Full name",
        "SID",
        "Enabled",
        "Source",
        "Last logon",
        "Profile",
        "Signed in",
        "Description",
    ):
        table.add_column(column, overflow="fold")
    for user in result.data.users:
        table.add_row(
            user.name,
            user.full_name,
            user.sid,
            "yes" if user.enabled else "no",
            user.principal_source,
            user.last_logon or "",
            user.profile_path or "",
            "yes" if user.profile_loaded else "no",
            user.description,
        )
    return table


def _title(report: HostReport) -> str:
    (_, result), *_ = report.results
    data = result.data
    source = f" via {data.source}" if isinstance(data, ListUsersData) else ""
    return f"{report.target.name}{source}"


@app.command("list")
@connection_options
def list_users(
    connection: Connection,
    name: Annotated[list[str] | None, typer.Option("--name", help="Only these usernames (any case).")] = None,
    output: Annotated[str, typer.Option("--output", "-o", help="table or json.")] = "table",
) -> int:
    """List each host's local users: username, full name, SID, enabled, source, profile, signed in."""
    if output not in OUTPUT_FORMATS:
        raise UsageError(f"--output must be one of {', '.join(OUTPUT_FORMATS)}")
    reports = run_action(connection, get_action("list_users"), {"Name": name} if name else {})
    if reports is None:
        return ExitCode.OK
    if output == "json":
        print_json(reports)
    else:
        print_tables(reports, _title, _table)
    return exit_code(reports)
