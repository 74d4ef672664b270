"""``jcfix verify provisioned``: wait until each bound JumpCloud user has its local account.

The troubleshooting article's last step ("verify the account is listed in lusrmgr.msc"), done for a
fleet: poll each host until every expected username exists as a local account with exactly that
name and, for an account that was already there (a takeover), until the agent manages it.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from typing import Annotated

import typer
from rich.table import Table

from toolkit.actions import get_action
from toolkit.cli.connection import Connection, connection_options
from toolkit.cli.execute import run_action
from toolkit.cli.output import console, print_failures
from toolkit.errors import UsageError
from toolkit.exitcodes import ExitCode
from toolkit.jumpcloud.diagnosis import JumpCloudReader
from toolkit.services.diagnose import DiagnoseService, expected_users
from toolkit.services.verify import HostProgress, UserProgress, pending_summary, wait_provisioned

app = typer.Typer(help="Confirm that a fix or a binding took effect.", no_args_is_help=True)

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h)?$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def parse_duration(text: str, option: str) -> float:
    """``10m``, ``30s``, ``1h``, ``500ms`` or plain seconds, as seconds."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise UsageError(f"{option} {text!r}: expected a duration such as 30s, 10m or 1h")
    return float(match[1]) * _UNIT_SECONDS[match[2]]


def _final_table(hosts: Sequence[HostProgress]) -> Table:
    table = Table(title="verify provisioned")
    for column in ("Host", "JumpCloud user", "State", "Last diagnosis"):
        table.add_column(column, overflow="fold")
    for host in hosts:
        for user in host.users:
            style = "green" if user.done else "red"
            table.add_row(host.name, user.jc_user, f"[{style}]{user.describe()}[/]", "\n".join(host.findings))
    return table


@app.command("provisioned")
@connection_options
def provisioned(
    connection: Connection,
    jc_user: Annotated[
        list[str] | None, typer.Option("--jc-user", "-j", help="JumpCloud username to wait for; repeatable.")
    ] = None,
    wait: Annotated[str, typer.Option("--wait", help="How long to keep polling (e.g. 10m).")] = "10m",
    interval: Annotated[str, typer.Option("--interval", help="Time between polls (e.g. 30s).")] = "30s",
) -> int:
    """Poll until each JumpCloud user's local account exists (and, for a takeover, the agent manages it)."""
    wait_s = parse_duration(wait, "--wait")
    interval_s = parse_duration(interval, "--interval")
    if interval_s <= 0:
        raise UsageError("--interval must be more than 0")
    hosts = {
        t.name: HostProgress(t.name, [UserProgress(u) for u in expected_users(t, jc_user or [])])
        for t in connection.targets
    }
    empty = [name for name, host in hosts.items() if not host.users]
    if empty:
        raise UsageError(
            f"no JumpCloud users to wait for on {', '.join(empty)}: give --jc-user or jc_users in the inventory"
        )
    action = get_action("collect_facts")
    # collect_facts v2 sends the raw log tail and has no LogLines; an older declaration still takes it.
    params = {"LogLines": 5} if any(p.name == "LogLines" for p in action.params) else {}
    if connection.dry_run:  # the poll's script, as each host would run it
        run_action(connection, action, params)
        return ExitCode.OK
    out = console()
    with JumpCloudReader(enabled=None) as jumpcloud:
        done = wait_provisioned(
            connection,
            lambda names: connection.only([t for t in connection.targets if t.name in names]),
            hosts,
            DiagnoseService(jumpcloud),
            wait_s=wait_s,
            interval_s=interval_s,
            params=params,
            on_wait=lambda summary: out.print(f"waiting: {summary}", highlight=False),
        )
    out.print(_final_table(list(hosts.values())))
    if not done:
        reports = [h.last_report for h in hosts.values() if h.last_report is not None]
        print_failures(reports, out)
        print(f"jcfix: gave up after {wait}: {pending_summary(hosts)}", file=sys.stderr)
        return ExitCode.TIMEOUT
    return ExitCode.OK
