"""``jcfix diagnose``: for each device and each JumpCloud user expected on it, what blocks takeover or
provisioning, and the jcfix command that fixes it."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from typing import Annotated

import typer

from toolkit.actions import get_action
from toolkit.cli.connection import Connection, checked_jc_users, connection_options
from toolkit.cli.diagnose_view import print_diagnoses, write_csv
from toolkit.cli.execute import run_action
from toolkit.cli.output import OUTPUT_FORMATS, console
from toolkit.errors import UsageError
from toolkit.exitcodes import ExitCode
from toolkit.services.diagnose import diagnose_fleet, diagnosis_document, exit_code, expected_users

DIAGNOSIS_SCHEMA = 1
DIAGNOSE_FORMATS = (*OUTPUT_FORMATS, "csv")


@connection_options
def diagnose_command(
    connection: Connection,
    jc_user: Annotated[
        list[str] | None,
        typer.Option("--jc-user", "-j", help="JumpCloud username expected on the hosts; repeatable."),
    ] = None,
    output: Annotated[
        str, typer.Option("--output", "-o", help="table, json, or csv (one row per finding).")
    ] = "table",
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
    if output not in DIAGNOSE_FORMATS:
        raise UsageError(f"--output must be one of {', '.join(DIAGNOSE_FORMATS)}")
    jc_user = checked_jc_users(jc_user)
    if jc_user:
        # --jc-user replaces each host's jc_users, so the reports and the history judge by the same list.
        connection = connection.only(
            [replace(t, vars={**t.vars, "jc_users": list(jc_user)}) for t in connection.targets]
        )
    if connection.dry_run:  # the exact script each host would run; connects to nothing
        run_action(connection, get_action("collect_facts"))
        return ExitCode.OK
    users_for = {t.name: expected_users(t) for t in connection.targets}
    diagnosed = diagnose_fleet(
        connection, users_for, jc_api=jc_api, jc_org_id=jc_org_id, users_from="option" if jc_user else "inventory"
    )
    reports = [report for report, _ in diagnosed]
    ordered = [diagnosis_document(diagnosis, report) for report, diagnosis in diagnosed]
    ordered = connection.invocation.plus("--jc-org-id", jc_org_id).pasteable(ordered)  # fixes run as printed
    if output == "json":
        json.dump({"schema": DIAGNOSIS_SCHEMA, "hosts": ordered}, sys.stdout, indent=2)
        sys.stdout.write("\n")
    elif output == "csv":
        write_csv(ordered, sys.stdout)
    else:
        print_diagnoses(ordered, reports, console())
    return exit_code(diagnosed)
