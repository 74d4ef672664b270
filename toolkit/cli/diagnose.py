"""``jcfix diagnose``: for each device and each JumpCloud user expected on it, what blocks takeover or
provisioning, and the jcfix command that fixes it."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import replace
from typing import Annotated, Any

import typer
from rich.table import Table

from toolkit.actions import get_action
from toolkit.cli.connection import Connection, connection_options
from toolkit.cli.execute import run_action
from toolkit.cli.output import OUTPUT_FORMATS, STATUS_STYLE, console, print_failures
from toolkit.errors import UsageError
from toolkit.exitcodes import ExitCode
from toolkit.runner import HostReport
from toolkit.services.diagnose import diagnose_fleet, diagnosis_document, exit_code, expected_users

DIAGNOSIS_SCHEMA = 1
SEVERITY_STYLE = {"blocker": "bold red", "warning": "yellow", "info": "dim"}


def _print_tables(diagnoses: Sequence[dict[str, Any]], reports: Sequence[HostReport]) -> None:
    """One table for the fleet, a block of rows per host, blockers first; then failures and a summary."""
    out = console()
    table = Table(show_lines=True)
    for column in ("Host", "Severity", "Code", "JumpCloud user", "What is wrong", "Fix"):
        table.add_column(column, overflow="fold")
    for diagnosis in diagnoses:
        if diagnosis["error"] is not None:
            continue
        if not diagnosis["findings"]:
            users = ", ".join(diagnosis["jc_users"]) or "no JumpCloud users given"
            table.add_row(diagnosis["host"], "", "", "", f"nothing found ({users})", "")
        for finding in diagnosis["findings"]:
            severity = finding["severity"]
            table.add_row(
                diagnosis["host"],
                f"[{SEVERITY_STYLE[severity]}]{severity}[/]",
                finding["code"],
                finding["subject"] or "",
                finding["message"],
                finding["fix"] or "",
            )
    if table.row_count:
        out.print(table)
    print_failures(reports, out)
    counts: dict[str, int] = {}
    for diagnosis in diagnoses:
        counts[diagnosis["status"]] = counts.get(diagnosis["status"], 0) + 1
    summary = ", ".join(f"[{STATUS_STYLE.get(k, '')}]{v} {k}[/]" for k, v in sorted(counts.items()))
    blocked = sum(1 for d in diagnoses if d["blockers"])
    out.print(f"{len(diagnoses)} host(s): {summary}; {blocked} with blockers", highlight=False)


@connection_options
def diagnose_command(
    connection: Connection,
    jc_user: Annotated[
        list[str] | None,
        typer.Option("--jc-user", "-j", help="JumpCloud username expected on the hosts; repeatable."),
    ] = None,
    output: Annotated[str, typer.Option("--output", "-o", help="table or json.")] = "table",
    jc_api: Annotated[
        bool | None,
        typer.Option("--jc-api/--no-jc-api", help="Also check JumpCloud's side [default: when an API key is set]."),
    ] = None,
    jc_org_id: Annotated[
        str | None,
        typer.Option("--jc-org-id", help="JumpCloud organisation (multi-tenant admins) [env: JCFIX_JC_ORG_ID]."),
    ] = None,
) -> int:
    """Find every takeover and provisioning blocker, with the command that fixes each."""
    if output not in OUTPUT_FORMATS:
        raise UsageError(f"--output must be one of {', '.join(OUTPUT_FORMATS)}")
    if jc_user:
        # --jc-user replaces each host's jc_users, so the reports and the history judge by the same list.
        connection = connection.only(
            [replace(t, vars={**t.vars, "jc_users": list(jc_user)}) for t in connection.targets]
        )
    if connection.dry_run:  # the exact script each host would run; connects to nothing
        run_action(connection, get_action("collect_facts"))
        return ExitCode.OK
    users_for = {t.name: expected_users(t) for t in connection.targets}
    diagnosed = diagnose_fleet(connection, users_for, jc_api=jc_api, jc_org_id=jc_org_id)
    reports = [report for report, _ in diagnosed]
    ordered = [diagnosis_document(diagnosis, report) for report, diagnosis in diagnosed]
    if output == "json":
        json.dump({"schema": DIAGNOSIS_SCHEMA, "hosts": ordered}, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        _print_tables(ordered, reports)
    return exit_code(diagnosed)
