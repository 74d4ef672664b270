"""``jcfix diagnose``: for each device and each JumpCloud user expected on it, what blocks takeover or
provisioning, and the jcfix command that fixes it."""

from __future__ import annotations

import sys
from dataclasses import replace
from typing import TYPE_CHECKING, Annotated

import typer

from toolkit.cli.connection import Connection, checked_jc_users, connection_options
from toolkit.cli.diagnose_view import DIAGNOSIS_SCHEMA, StreamedDiagnoses
from toolkit.errors import UsageError
from toolkit.exitcodes import ExitCode

if TYPE_CHECKING:
    from toolkit.runner import HostReport
    from toolkit.services.diagnose import Diagnosis, UsersFrom

__all__ = ["DIAGNOSIS_SCHEMA", "diagnose_command"]
DIAGNOSE_FORMATS = ("table", "json", "csv")  # toolkit.cli.output's OUTPUT_FORMATS, and csv


@connection_options
def diagnose_command(
    connection: Connection,
    jc_user: Annotated[
        list[str] | None,
        typer.Option("--jc-user", "-j", help="JumpCloud username expected on the hosts; repeatable."),
    ] = None,
    output: Annotated[str, typer.Option("--output", "-o", help="table, json, or csv (one row per finding).")] = "table",
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
        from toolkit.actions import get_action
        from toolkit.cli.execute import run_action

        run_action(connection, get_action("collect_facts"))
        return ExitCode.OK
    return _diagnose(connection, output, jc_api, jc_org_id, users_from="option" if jc_user else "inventory")


def _diagnose(
    connection: Connection, output: str, jc_api: bool | None, jc_org_id: str | None, users_from: UsersFrom
) -> int:
    """Diagnose every host, each host's output spooled as it finishes and printed in the fleet's order."""
    from toolkit.cli.output import console
    from toolkit.services.diagnose import diagnose_stream, diagnosis_document, expected_users

    users_for = {t.name: expected_users(t) for t in connection.targets}
    invocation = connection.invocation.plus("--jc-org-id", jc_org_id)
    streamed = StreamedDiagnoses(output, {t.name: i for i, t in enumerate(connection.targets)})

    def on_host(report: HostReport, diagnosis: Diagnosis) -> None:
        # Fixes run as printed: each host's document carries the run's own way to reach it.
        streamed.add(invocation.pasteable([diagnosis_document(diagnosis, report)])[0], report)

    try:
        code = diagnose_stream(
            connection, users_for, on_host, jc_api=jc_api, jc_org_id=jc_org_id, users_from=users_from
        )
        streamed.write(sys.stdout, console)
    finally:
        streamed.close()
    return code
