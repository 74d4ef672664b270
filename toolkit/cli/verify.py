"""``jcfix verify provisioned``: wait until each bound JumpCloud user has its local account.

The troubleshooting article's last step ("verify the account is listed in lusrmgr.msc"), done for a
fleet: poll each host until every expected username exists as a local account with exactly that
name and, for an account that was already there (a takeover), until the agent manages it.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated

import typer
from rich.table import Table

from toolkit.actions import get_action
from toolkit.cli.connection import Connection, connection_options
from toolkit.cli.diagnose import expected_users
from toolkit.cli.execute import run_action
from toolkit.cli.output import console, print_failures
from toolkit.errors import UsageError
from toolkit.exitcodes import ExitCode
from toolkit.facts import HostFacts
from toolkit.rules import diagnose
from toolkit.rules.decided import DecidedFacts
from toolkit.runner import HostReport

app = typer.Typer(help="Confirm that a fix or a binding took effect.", no_args_is_help=True)

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h)?$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def parse_duration(text: str, option: str) -> float:
    """``10m``, ``30s``, ``1h``, ``500ms`` or plain seconds, as seconds."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise UsageError(f"{option} {text!r}: expected a duration such as 30s, 10m or 1h")
    return float(match[1]) * _UNIT_SECONDS[match[2]]


@dataclass
class UserProgress:
    """Where one JumpCloud user stands on one host."""

    jc_user: str
    existed_at_start: bool | None = None
    present: bool = False
    managed: bool = False

    @property
    def done(self) -> bool:
        # A takeover is done when the agent manages the existing account; a new account only has to appear.
        return self.present and (self.managed or not self.existed_at_start)

    def describe(self) -> str:
        if self.done:
            return "taken over" if self.existed_at_start else "provisioned"
        if not self.present:
            return "no local account yet"
        return "account exists; the agent does not manage it yet"


@dataclass
class HostProgress:
    name: str
    users: list[UserProgress]
    last_report: HostReport | None = None
    findings: list[str] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return all(u.done for u in self.users)


def _update(progress: HostProgress, report: HostReport) -> None:
    progress.last_report = report
    (_, result), *_ = report.results
    if not isinstance(result.data, HostFacts):
        return
    facts = result.data
    decided = DecidedFacts.from_raw(facts)  # managedUsers.json parsed in Python: every user, not one joined name
    names = {u.name for u in facts.users}  # exact: JumpCloud matches case-sensitively
    managed = set(decided.managed_users)
    for user in progress.users:
        user.present = user.jc_user in names
        if user.existed_at_start is None:
            user.existed_at_start = user.present
        user.managed = user.jc_user in managed
    progress.findings = [
        f"{f.severity} {f.code}: {f.message}"
        for f in diagnose(progress.name, facts, [u.jc_user for u in progress.users], decided=decided)
        if f.severity != "info"
    ]


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
    out = console()
    deadline = time.monotonic() + wait_s
    while True:
        waiting = [t for t in connection.targets if not hosts[t.name].done]
        polled = run_action(connection.only(waiting), action, params)
        if polled is None:  # a dry run: the poll's script was printed
            return ExitCode.OK
        for report in polled:
            _update(hosts[report.target.name], report)
        pending = [h for h in hosts.values() if not h.done]
        summary = ", ".join(f"{u.jc_user}@{h.name}: {u.describe()}" for h in pending for u in h.users if not u.done)
        if not pending:
            break
        if time.monotonic() + interval_s > deadline:
            out.print(_final_table(list(hosts.values())))
            reports = [h.last_report for h in hosts.values() if h.last_report is not None]
            print_failures(reports, out)
            print(f"jcfix: gave up after {wait}: {summary}", file=sys.stderr)
            return ExitCode.TIMEOUT
        out.print(f"waiting: {summary}", highlight=False)
        time.sleep(interval_s)
    out.print(_final_table(list(hosts.values())))
    return ExitCode.OK
