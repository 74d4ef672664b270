"""``jcfix users list``: every local account of each host, as lusrmgr.msc would show it and more."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.text import Text

from toolkit.actions import get_action
from toolkit.actions.list_users import ListUsersData
from toolkit.cli.connection import Connection, connection_options
from toolkit.cli.execute import run_action
from toolkit.cli.layout import Column, Row, render_rows
from toolkit.cli.output import OUTPUT_FORMATS, console, exit_code, print_failures, print_json
from toolkit.errors import UsageError
from toolkit.exitcodes import ExitCode
from toolkit.runner import HostReport
from toolkit.textvalues import printable

app = typer.Typer(help="List the local user accounts of Windows hosts.", no_args_is_help=True)


COLUMNS = (
    Column("Name"),
    Column("Full name"),
    Column("Enabled"),
    Column("Source"),
    Column("Last logon"),
    Column("Signed in"),
    Column("SID", "long"),
    Column("Profile", "long"),
    Column("Description", "text"),
)


def _rows(report: HostReport) -> list[Row] | None:
    """One row per local account; names and SIDs are never broken (SIDs and paths get a line of their own)."""
    (_, result), *_ = report.results
    if not isinstance(result.data, ListUsersData):
        return None
    return [
        Row(
            [
                user.name,
                user.full_name,
                "yes" if user.enabled else "no",
                user.principal_source,
                user.last_logon or "",
                "yes" if user.profile_loaded else "no",
                user.sid,
                user.profile_path or "",
                user.description,
            ]
        )
        for user in result.data.users
    ]


def _print(reports: list[HostReport]) -> None:
    """Each host's accounts under its name, laid out for the terminal's width; then failures."""
    out = console()
    for report in reports:
        rows = _rows(report)
        if rows is not None:
            out.print(Text(printable(_title(report)), style="bold"))
            render_rows(out, COLUMNS, rows)
    print_failures(reports, out)


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
        _print(reports)
    return exit_code(reports)
