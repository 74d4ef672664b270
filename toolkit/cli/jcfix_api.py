"""``jcfix fix jc-local-account``, ``jc-activate`` and ``jc-undo``: fixes made in JumpCloud, not on a device.

They need the JumpCloud API key (``JCFIX_JC_API_KEY`` or the keyring), not a host: each reads the user,
changes it (or with ``--check`` only says what it would change), reads it back, and records what it
changed in a local journal under ``--run-id`` so ``jc-undo`` can restore the Local User Account.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Annotated

import typer

from toolkit.actions._fixbase import RUN_ID_RE, new_run_id
from toolkit.cli.output import OUTPUT_FORMATS, change_table, console
from toolkit.errors import UsageError
from toolkit.exitcodes import ExitCode
from toolkit.jumpcloud import fixes
from toolkit.jumpcloud.client import JumpCloudClient, load_config
from toolkit.jumpcloud.fixes import FixOutcome
from toolkit.settings import read_secret

INITIAL_PASSWORD_ENV = "JCFIX_JC_INITIAL_PASSWORD"

_OrgId = Annotated[
    str | None, typer.Option("--jc-org-id", help="JumpCloud organisation (multi-tenant admins) [env: JCFIX_JC_ORG_ID].")
]
_Check = Annotated[bool, typer.Option("--check", help="Read the user and say what would change; change nothing.")]
_RunId = Annotated[str | None, typer.Option("--run-id", help="Name the run (default: generated).")]
_Output = Annotated[str, typer.Option("--output", "-o", help="table or json.")]


def _checked(output: str, run_id: str | None) -> str:
    if output not in OUTPUT_FORMATS:
        raise UsageError(f"--output must be one of {', '.join(OUTPUT_FORMATS)}")
    run = run_id or new_run_id()
    if not RUN_ID_RE.match(run):
        raise UsageError("--run-id must be 1-64 letters, digits or dashes")
    return run


def _print(outcomes: Sequence[FixOutcome], output: str) -> int:
    if output == "json":
        json.dump([o.to_dict() for o in outcomes], sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        out = console()
        for outcome in outcomes:
            table = change_table(
                status=outcome.status,
                check_mode=outcome.check_mode,
                planned=outcome.planned,
                before=outcome.before,
                after=outcome.after,
                notes=outcome.notes,
                title=f"{outcome.fix} {outcome.jc_user} (run {outcome.run_id})",
            )
            if outcome.error is not None:
                table.add_row("[red]error[/]", f"{outcome.error['category']}: {outcome.error['message']}")
            out.print(table)
    statuses = {o.status for o in outcomes}
    if "failed" in statuses:
        return ExitCode.FAILED
    return ExitCode.CHANGED if statuses & {"changed", "pending"} else ExitCode.OK


def jc_local_account(
    jc_user: Annotated[str, typer.Option("--jc-user", help="The JumpCloud username.")],
    to: Annotated[str, typer.Option("--to", help="The exact local username on the device.")],
    check: _Check = False,
    run_id: _RunId = None,
    output: _Output = "table",
    jc_org_id: _OrgId = None,
) -> int:
    """Set a JumpCloud user's Local User Account to the device's exact local username (no device change)."""
    run = _checked(output, run_id)
    with JumpCloudClient(load_config(org_id=jc_org_id)) as client:
        outcome = fixes.set_local_account(client, jc_user, to, run_id=run, check=check)
    return _print([outcome], output)


def jc_activate(
    jc_user: Annotated[str, typer.Option("--jc-user", help="The JumpCloud username.")],
    set_password: Annotated[
        bool,
        typer.Option("--set-password", help=f"Set an initial password from {INITIAL_PASSWORD_ENV} or the keyring."),
    ] = False,
    activate_now: Annotated[
        bool, typer.Option("--activate-now", help="Activate now instead of on the scheduled start date.")
    ] = False,
    check: _Check = False,
    run_id: _RunId = None,
    output: _Output = "table",
    jc_org_id: _OrgId = None,
) -> int:
    """Activate a Staged user and/or get them a password (activation email by default)."""
    run = _checked(output, run_id)
    config = load_config(org_id=jc_org_id)
    password = read_secret(INITIAL_PASSWORD_ENV, "Initial JumpCloud password") if set_password and not check else None
    with JumpCloudClient(config) as client:
        outcome = fixes.activate(
            client,
            jc_user,
            run_id=run,
            check=check,
            password=password,
            activate_now=activate_now,
        )
        if check and set_password and outcome.planned:
            outcome.planned = [
                p.replace("send the activation email", "set an initial password") for p in outcome.planned
            ]
    return _print([outcome], output)


def jc_undo(
    run_id: Annotated[str, typer.Option("--run-id", help="The run whose JumpCloud changes to undo.")],
    check: _Check = False,
    output: _Output = "table",
    jc_org_id: _OrgId = None,
) -> int:
    """Restore the Local User Account a jc-local-account run changed (activation cannot be undone)."""
    _checked(output, run_id)
    with JumpCloudClient(load_config(org_id=jc_org_id)) as client:
        outcomes = fixes.undo(client, run_id, check=check)
    return _print(outcomes, output)


def register(app: typer.Typer) -> None:
    """Add the JumpCloud fixes to ``jcfix fix``."""
    app.command("jc-local-account")(jc_local_account)
    app.command("jc-activate")(jc_activate)
    app.command("jc-undo")(jc_undo)
