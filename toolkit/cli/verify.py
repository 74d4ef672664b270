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
from rich.console import Console
from rich.text import Text

from toolkit.actions import get_action
from toolkit.cli.connection import Connection, checked_jc_users, connection_options
from toolkit.cli.envelope import envelope, write_document
from toolkit.cli.execute import run_action
from toolkit.cli.layout import Column, Row, render_rows
from toolkit.cli.output import OUTPUT_FORMATS, console, print_failures
from toolkit.errors import UsageError
from toolkit.exitcodes import ExitCode
from toolkit.jumpcloud.diagnosis import JumpCloudReader
from toolkit.services.diagnose import DiagnoseService, expected_users
from toolkit.services.verify import HostProgress, UserProgress, pending_summary, wait_provisioned
from toolkit.textvalues import plural

app = typer.Typer(help="Confirm that a fix or a binding took effect.", no_args_is_help=True)

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h)?$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def parse_duration(text: str, option: str) -> float:
    """``10m``, ``30s``, ``1h``, ``500ms`` or plain seconds, as seconds."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise UsageError(f"{option} {text!r}: expected a duration such as 30s, 10m or 1h")
    return float(match[1]) * _UNIT_SECONDS[match[2]]


def _print_where(out: Console, hosts: Sequence[HostProgress]) -> None:
    """Each user's state, and why it stopped or what it waits for; the host's last diagnosis below it."""
    columns = [Column("Host"), Column("JumpCloud user"), Column("State"), Column("Waiting for / why", "text")]
    rows = []
    for host in hosts:
        if not host.users:  # users from JumpCloud's bindings: none, or not read yet
            state = "nobody to wait for" if host.known else "device not read yet"
            rows.append(Row([host.name, "-", Text(state, style="red"), ""], after=[*host.notes, *host.findings]))
            continue
        # A stop's reason is shown on its user's row: the host's findings below do not say it twice.
        shown = {f"blocker {u.stopped}" for u in host.users if u.stopped}
        for index, user in enumerate(host.users):
            style = "green" if user.done else "red" if user.stopped or host.given_up else "yellow"
            why = (user.stopped or "").partition(": ")[2] if user.stopped else "" if user.done else user.waiting_for
            state = "host unreachable" if host.given_up and not user.done else user.describe()
            why = "given up (error below)" if state == "host unreachable" and not user.stopped else why
            after: list[str | Text] = [f"fix: {user.fix}"] if user.fix else []
            after += [line for line in host.findings if line not in shown] if index == len(host.users) - 1 else []
            rows.append(Row([host.name, user.jc_user, Text(state, style=style), why], after=after))
    out.print("[bold]verify provisioned[/]")
    render_rows(out, columns, rows)


def _finish(out: Console, hosts: dict[str, HostProgress], output: str, outcome: str, waited: str) -> int:
    """Print where every user stands (table or JSON), the one-line verdict on stderr, and the exit code."""
    progress = list(hosts.values())
    if output == "json":
        write_document(envelope("verify provisioned", [h.to_json() for h in progress], result=outcome))
    else:
        _print_where(out, progress)
        reports = [h.last_report for h in progress if h.last_report is not None]
        print_failures(reports, out)
    unreachable = [f"{h.name}: {plural(h.unreachable_polls, 'poll')} in a row failed" for h in progress if h.given_up]
    stopped = [f"{u.jc_user}@{h.name}: {u.stop_code}" for h in progress for u in h.users if u.stopped and not u.done]
    stopped += [f"{h.name}: no JumpCloud user to wait for (notes above)" for h in progress if h.known and not h.users]
    if outcome == "interrupted":
        users = [u for h in progress for u in h.users]
        appeared = sum(u.done for u in users)
        print(
            f"jcfix: interrupted: {appeared} of {plural(len(users), 'user')} appeared, {len(stopped)} stopped, "
            f"{len(users) - appeared - len(stopped)} still waiting (each one's state is above)",
            file=sys.stderr,
        )
        return 130
    for line in unreachable:  # one line each: a fleet's list would not fit one line
        print(f"jcfix: unreachable: {line}", file=sys.stderr)
    for line in stopped:
        print(f"jcfix: stopped: {line}", file=sys.stderr)
    if unreachable or stopped:
        return ExitCode.UNREACHABLE if unreachable else ExitCode.BLOCKERS
    if outcome == "timeout":
        print(f"jcfix: gave up after {waited}: {pending_summary(hosts)}", file=sys.stderr)
        return ExitCode.TIMEOUT
    return ExitCode.OK


@app.command("provisioned")
@connection_options
def provisioned(
    connection: Connection,
    jc_user: Annotated[
        list[str] | None, typer.Option("--jc-user", "-j", help="JumpCloud username to wait for; repeatable.")
    ] = None,
    wait: Annotated[str, typer.Option("--wait", help="How long to keep polling (e.g. 10m).")] = "10m",
    interval: Annotated[str, typer.Option("--interval", help="Time between polls (e.g. 30s).")] = "30s",
    output: Annotated[str, typer.Option("--output", "-o", help="table or json.")] = "table",
) -> int:
    """Poll until each JumpCloud user's local account exists (and, for a takeover, the agent manages it).

    With the JumpCloud API, a user JumpCloud says will never appear (no such user, not bound to the
    device, the device unknown) stops the wait for that user at once, with the reason (exit 6).
    """
    if output not in OUTPUT_FORMATS:
        raise UsageError(f"--output must be one of {', '.join(OUTPUT_FORMATS)}")
    jc_user = checked_jc_users(jc_user)
    wait_s = parse_duration(wait, "--wait")
    interval_s = parse_duration(interval, "--interval")
    if interval_s <= 0:
        raise UsageError("--interval must be more than 0")
    out = console()
    with JumpCloudReader(enabled=None) as jumpcloud:
        hosts = _progress(connection, jc_user or [], bindings=jumpcloud.active)
        action = get_action("collect_facts")
        # collect_facts v2 sends the raw log tail and has no LogLines; an older declaration still takes it.
        params = {"LogLines": 5} if any(p.name == "LogLines" for p in action.params) else {}
        if connection.dry_run:  # the poll's script, as each host would run it
            run_action(connection, action, params)
            return ExitCode.OK

        def on_wait(summary: str) -> None:
            if output == "json":  # stdout holds the one JSON document
                print(f"jcfix: waiting: {summary}", file=sys.stderr)
            else:
                out.print(f"waiting: {summary}", highlight=False, markup=False)

        try:
            settled = wait_provisioned(
                connection,
                lambda names: connection.only([t for t in connection.targets if t.name in names]),
                hosts,
                DiagnoseService(jumpcloud),
                wait_s=wait_s,
                interval_s=interval_s,
                params=params,
                on_wait=on_wait,
            )
        except KeyboardInterrupt:
            return _finish(out, hosts, output, "interrupted", wait)
    all_done = all(h.done for h in hosts.values())
    given_up = any(h.given_up for h in hosts.values())
    outcome = "done" if all_done else "timeout" if not settled else "unreachable" if given_up else "stopped"
    return _finish(out, hosts, output, outcome, wait)


def _progress(connection: Connection, jc_users: list[str], *, bindings: bool) -> dict[str, HostProgress]:
    """Each host's users to wait for: ``--jc-user``, else the inventory's ``jc_users``, else (with the
    JumpCloud API) the users JumpCloud binds to the device, read at the first poll; none at all is bad input."""
    hosts = {
        t.name: HostProgress(t.name, [UserProgress(u) for u in expected_users(t, jc_users)]) for t in connection.targets
    }
    empty = [name for name, host in hosts.items() if not host.users]
    if empty and not bindings:
        raise UsageError(
            f"no JumpCloud users to wait for on {', '.join(empty)}: give --jc-user or jc_users in the inventory "
            "(or configure the JumpCloud API: then the device's bound users)"
        )
    for name in empty:
        hosts[name].from_bindings = True
    return hosts
