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
from toolkit.exitcodes import ExitCode, for_statuses
from toolkit.facts import HostFacts
from toolkit.jumpcloud import diagnosis as jumpcloud_diagnosis
from toolkit.jumpcloud.facts import JumpCloudFacts
from toolkit.rules import Finding, diagnose
from toolkit.rules.decided import DecidedFacts
from toolkit.runner import HostReport
from toolkit.transport.base import HostTarget

DIAGNOSIS_SCHEMA = 1
SEVERITY_STYLE = {"blocker": "bold red", "warning": "yellow", "info": "dim"}


def expected_users(target: HostTarget, jc_users: Sequence[str]) -> list[str]:
    """The JumpCloud usernames to check on ``target``: ``--jc-user`` values, else the inventory's ``jc_users``."""
    if jc_users:
        return list(jc_users)
    listed = target.vars.get("jc_users") or []
    if isinstance(listed, str):
        listed = [listed]
    return [str(u) for u in listed]


def host_diagnosis(report: HostReport, jc_users: Sequence[str], jc: JumpCloudFacts | None = None) -> dict[str, Any]:
    """One host's diagnosis in the documented JSON shape (``jc``: the JumpCloud API's view, if read)."""
    (_, result), *_ = report.results
    findings: list[Finding] = []
    decided: DecidedFacts | None = None
    if isinstance(result.data, HostFacts):
        decided = DecidedFacts.from_raw(result.data)
        findings = diagnose(report.target.name, result.data, jc_users, jc, decided)
    return {
        "host": report.target.name,
        "status": report.status,
        "error": result.error.model_dump() if result.error else None,
        "jc_users": list(jc_users),
        "blockers": sum(f.severity == "blocker" for f in findings),
        "findings": [f.to_dict() for f in findings],
        "facts": result.data.model_dump() if isinstance(result.data, HostFacts) else None,
        # What the raw facts mean (agent files parsed, who is signed in), as the rules read them.
        "decided": decided.to_dict() if decided is not None else None,
    }


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


def exit_code_for(diagnoses: Sequence[dict[str, Any]]) -> ExitCode:
    transport = for_statuses([d["status"] for d in diagnoses])
    if transport in (ExitCode.UNREACHABLE, ExitCode.FAILED):
        return transport
    return ExitCode.BLOCKERS if any(d["blockers"] for d in diagnoses) else ExitCode.OK


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
    users_for = {t.name: expected_users(t, []) for t in connection.targets}
    reports = run_action(connection, get_action("collect_facts"))
    if reports is None:
        return ExitCode.OK
    jc = jumpcloud_diagnosis.read_for_reports(reports, enabled=jc_api, org_id=jc_org_id)  # once per run
    diagnoses = [
        host_diagnosis(r, users_for[r.target.name] or jumpcloud_diagnosis.bound_users(jc, r), jc) for r in reports
    ]
    if output == "json":
        json.dump({"schema": DIAGNOSIS_SCHEMA, "hosts": diagnoses}, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        _print_tables(diagnoses, reports)
    return exit_code_for(diagnoses)
