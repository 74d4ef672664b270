"""``jcfix fix jc-*``: fixes made in JumpCloud, not on a device.

``jc-unlock``, ``jc-bind``, ``jc-activate``, ``jc-local-account`` need the JumpCloud API key
(``JCFIX_JC_API_KEY`` or the keyring), not a host: each reads the user, changes it (``--check``: only says
what it would change; ``--dry-run``: prints the requests, connects to nothing), reads it back, journals
what it changes under ``--run-id`` and records the run in the run history, so ``jcfix runs list/show``
show it and ``jcfix undo --run-id`` undoes it (``jc-undo`` is an alias kept for older scripts).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any

import typer

from toolkit.actions._fixbase import RUN_ID_RE, check_run_id, new_run_id
from toolkit.cli.envelope import envelope, write_document
from toolkit.cli.layout import show_table
from toolkit.cli.output import OUTPUT_FORMATS, change_table, console
from toolkit.errors import UsageError
from toolkit.exitcodes import ExitCode
from toolkit.jumpcloud import fix_activate, fix_bind, fix_undo, fix_unlock, fixes, journal
from toolkit.jumpcloud.client import REGION_ENV, URL_ENV, JumpCloudClient, JumpCloudError, base_url_for, load_config
from toolkit.jumpcloud.fix_common import DryRunPlan, FixOutcome
from toolkit.jumpcloud.fix_history import JC_HOST, FixRunRecord
from toolkit.jumpcloud.writes import ApiRequest
from toolkit.models import worst_status
from toolkit.naming import has_control, name_problems
from toolkit.settings import read_secret
from toolkit.textvalues import printable

INITIAL_PASSWORD_ENV = "JCFIX_JC_INITIAL_PASSWORD"
SYSTEM_KEY_RE = re.compile(r"^[0-9a-fA-F]{24}$")  # a systemKey is the device's 24-hex ObjectId (JcSystem._id)

_User = Annotated[str, typer.Option("--jc-user", help="The JumpCloud username (exact, case-sensitive).")]
_OrgId = Annotated[
    str | None, typer.Option("--jc-org-id", help="JumpCloud organisation (multi-tenant admins) [env: JCFIX_JC_ORG_ID].")
]
_Check = Annotated[bool, typer.Option("--check", help="Read the user and say what would change; change nothing.")]
_DryRun = Annotated[bool, typer.Option("--dry-run", help="Print the HTTP requests it would send; connect to nothing.")]
_RunId = Annotated[str | None, typer.Option("--run-id", help="Name the run (default: generated).")]
_Output = Annotated[str, typer.Option("--output", "-o", help="table or json.")]


def _checked(output: str, run_id: str | None, jc_user: str | None = None, *, new_run: bool = True) -> str:
    """The run id, after checking the options every fix has; a :class:`UsageError` before anything connects.

    ``new_run``: ``--run-id`` names this new run, so one the history already holds is refused (undo: False).
    """
    if output not in OUTPUT_FORMATS:
        raise UsageError(f"--output must be one of {', '.join(OUTPUT_FORMATS)}")
    if new_run:
        run = check_run_id(run_id)
    else:
        run = run_id or new_run_id()
        if not RUN_ID_RE.match(run):
            raise UsageError("--run-id must be 1-64 letters, digits or dashes")
    if jc_user is not None and (
        not jc_user.strip() or any(c.isspace() for c in jc_user) or has_control(jc_user) or len(jc_user) > 1024
    ):
        raise UsageError(
            "--jc-user must be a JumpCloud username: not empty, no spaces or control characters, at most 1024 long"
        )
    return run


def _status_exit(outcomes: Sequence[FixOutcome]) -> int:
    statuses = {o.status for o in outcomes}
    if "failed" in statuses:
        return ExitCode.FAILED
    return ExitCode.CHANGED if statuses & {"changed", "pending"} else ExitCode.OK


def print_outcomes(command: str, outcomes: Sequence[FixOutcome], output: str, run_id: str, **extra: Any) -> int:
    """Print ``outcomes`` (a table each, or one JSON envelope whose one host is :data:`JC_HOST`); the exit code."""
    if output == "json":
        host = {
            "host": JC_HOST,
            "status": worst_status(o.status for o in outcomes),
            "results": [o.to_dict() for o in outcomes],
        }
        write_document(envelope(command, [host], run_id=run_id, **extra))
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
            show_table(out, table)
    return _status_exit(outcomes)


def print_requests(command: str, title: str, requests: Sequence[ApiRequest], output: str, run_id: str) -> int:
    """A dry run that is a list of requests (undo): printed, nothing sent."""
    if output == "json":
        write_document(envelope(command, [], run_id=run_id, dry_run={"writes": [r.to_dict() for r in requests]}))
        return ExitCode.OK
    print(f"{title}: dry run, nothing is sent")
    for request in requests:
        print("\n".join("  " + line for line in request.lines()))
    if not requests:
        print("  nothing this run changed can be restored")
    return ExitCode.OK


def _print_plan(command: str, plan: DryRunPlan, output: str, run_id: str) -> int:
    if output == "json":
        write_document(envelope(command, [], run_id=run_id, dry_run=plan.to_dict()))
    else:
        print(f"would send to {base_url_for(_env(REGION_ENV), _env(URL_ENV))} (run {run_id}):")
        print("\n".join(plan.lines()))
    return ExitCode.OK


def _env(name: str) -> str | None:
    return os.environ.get(name) or None


def _error_outcome(fix: str, jc_user: str, run_id: str, check: bool, exc: JumpCloudError) -> FixOutcome:
    category = {"unreachable": "unreachable", "auth": "auth_failed"}.get(exc.kind, "protocol")
    return FixOutcome(fix, jc_user, run_id, check).fail(category, exc.message)


def run_fix(
    fix: str,
    jc_user: str,
    *,
    run_id: str,
    check: bool,
    org_id: str | None,
    output: str,
    parameters: Mapping[str, Any],
    apply: Callable[[JumpCloudClient], FixOutcome],
) -> int:
    """Run one JumpCloud fix as a run: history opened first, the fix, the run recorded, the outcome printed.

    An API error is recorded as the run's failed outcome, then raised (the CLI prints it as ``jcfix: ...``).
    """
    config = load_config(org_id=org_id)
    record = FixRunRecord(run_id, check=check, base_url=config.base_url, parameters=parameters)
    try:
        with JumpCloudClient(config) as client:
            outcome = apply(client)
    except JumpCloudError as exc:
        record.record([_error_outcome(fix, jc_user, run_id, check, exc)], exc.exit_code)
        raise
    code = print_outcomes(f"fix {fix}", [outcome], output, run_id, check_mode=check)
    record.record([outcome], code)
    return code


def jc_unlock(
    jc_user: _User,
    check: _Check = False,
    dry_run: _DryRun = False,
    run_id: _RunId = None,
    output: _Output = "table",
    jc_org_id: _OrgId = None,
) -> int:
    """Unlock a JumpCloud user locked out after failed sign-ins (JC_ACCOUNT_LOCKED); undo cannot re-lock."""
    run = _checked(output, run_id, jc_user)
    if dry_run:
        return _print_plan("fix jc-unlock", fix_unlock.dry_run(jc_user), output, run)
    return run_fix(
        "jc-unlock",
        jc_user,
        run_id=run,
        check=check,
        org_id=jc_org_id,
        output=output,
        parameters={"jc_user": jc_user},
        apply=lambda client: fix_unlock.unlock(client, jc_user, run_id=run, check=check),
    )


def jc_bind(
    jc_user: _User,
    system_id: Annotated[str, typer.Option("--system-id", help="The device's systemKey (24 hex digits).")],
    check: _Check = False,
    dry_run: _DryRun = False,
    run_id: _RunId = None,
    output: _Output = "table",
    jc_org_id: _OrgId = None,
) -> int:
    """Bind a JumpCloud user to a device (NOT_BOUND_TO_DEVICE); undo unbinds it if this run bound it."""
    run = _checked(output, run_id, jc_user)
    if not SYSTEM_KEY_RE.match(system_id):
        raise UsageError(f"--system-id must be the device's systemKey, 24 hex digits, not {system_id!r}")
    if dry_run:
        return _print_plan("fix jc-bind", fix_bind.dry_run(jc_user, system_id), output, run)
    return run_fix(
        "jc-bind",
        jc_user,
        run_id=run,
        check=check,
        org_id=jc_org_id,
        output=output,
        parameters={"jc_user": jc_user, "system_id": system_id},
        apply=lambda client: fix_bind.bind(client, jc_user, system_id, run_id=run, check=check),
    )


def jc_local_account(
    jc_user: _User,
    to: Annotated[str, typer.Option("--to", help="The exact local username on the device.")],
    check: _Check = False,
    dry_run: _DryRun = False,
    run_id: _RunId = None,
    output: _Output = "table",
    jc_org_id: _OrgId = None,
) -> int:
    """Set a JumpCloud user's Local User Account to the device's exact local username (no device change)."""
    run = _checked(output, run_id, jc_user)
    problems = name_problems(to)
    if problems:  # the same rule the fix applies, before anything is sent
        raise UsageError(f"--to {printable(to)!r} cannot be a Windows account name: {'; '.join(problems)}")
    if dry_run:
        return _print_plan("fix jc-local-account", fixes.dry_run(jc_user, to), output, run)
    return run_fix(
        "jc-local-account",
        jc_user,
        run_id=run,
        check=check,
        org_id=jc_org_id,
        output=output,
        parameters={"jc_user": jc_user, "to": to},
        apply=lambda client: fixes.set_local_account(client, jc_user, to, run_id=run, check=check),
    )


def jc_activate(
    jc_user: _User,
    set_password: Annotated[
        bool,
        typer.Option("--set-password", help=f"Set an initial password from {INITIAL_PASSWORD_ENV} or the keyring."),
    ] = False,
    activate_now: Annotated[
        bool, typer.Option("--activate-now", help="Activate now instead of on the scheduled start date.")
    ] = False,
    reactivate_suspended: Annotated[
        bool,
        typer.Option(
            "--reactivate-suspended",
            help="Reactivate a Suspended user: they can sign in again everywhere JumpCloud manages.",
        ),
    ] = False,
    resend: Annotated[
        bool, typer.Option("--resend", help="Send the activation email even if one jcfix sent is still pending.")
    ] = False,
    check: _Check = False,
    dry_run: _DryRun = False,
    run_id: _RunId = None,
    output: _Output = "table",
    jc_org_id: _OrgId = None,
) -> int:
    """Activate a Staged (or, with --reactivate-suspended, a Suspended) user and get them a password."""
    run = _checked(output, run_id, jc_user)
    if dry_run:
        plan = fix_activate.dry_run(jc_user, reactivate_suspended=reactivate_suspended, set_password=set_password)
        return _print_plan("fix jc-activate", plan, output, run)
    password = read_secret(INITIAL_PASSWORD_ENV, "Initial JumpCloud password") if set_password and not check else None

    def apply(client: JumpCloudClient) -> FixOutcome:
        return fix_activate.activate(
            client,
            jc_user,
            run_id=run,
            check=check,
            password=password,
            activate_now=activate_now,
            wants_password=set_password,
            reactivate_suspended=reactivate_suspended,
            resend=resend,
        )

    options = {"set_password": set_password, "activate_now": activate_now, "resend": resend}
    return run_fix(
        "jc-activate",
        jc_user,
        run_id=run,
        check=check,
        org_id=jc_org_id,
        output=output,
        parameters={"jc_user": jc_user, "reactivate_suspended": reactivate_suspended, **options},
        apply=apply,
    )


def undo_jumpcloud_run(run_id: str, *, check: bool, dry_run: bool, output: str, org_id: str | None) -> int:
    """Undo a JumpCloud-side run from its journal (``jcfix undo --run-id`` and ``jc-undo``); recorded as a run."""
    if not journal.exists(run_id):
        raise UsageError(f"run {run_id} changed nothing in JumpCloud: nothing to undo")
    if dry_run:
        return print_requests("undo", f"undo of run {run_id}", fix_undo.dry_run(run_id), output, run_id)
    config = load_config(org_id=org_id)
    undo_run = new_run_id()
    record = FixRunRecord(undo_run, check=check, base_url=config.base_url, parameters={"undo_of": run_id})
    with JumpCloudClient(config) as client:
        outcomes = fix_undo.undo(client, run_id, check=check)
    code = print_outcomes("undo", outcomes, output, run_id, check_mode=check, undo_run_id=undo_run)
    if outcomes:
        record.record(outcomes, code)
    return code


def jc_undo(
    run_id: Annotated[str, typer.Option("--run-id", help="The run whose JumpCloud changes to undo.")],
    check: _Check = False,
    dry_run: _DryRun = False,
    output: _Output = "table",
    jc_org_id: _OrgId = None,
) -> int:
    """Alias of jcfix undo --run-id for a JumpCloud-side run (unbind, re-suspend, restore Local User Account)."""
    _checked(output, run_id, new_run=False)
    return undo_jumpcloud_run(run_id, check=check, dry_run=dry_run, output=output, org_id=jc_org_id)


def register(app: typer.Typer) -> None:
    """Add the JumpCloud fixes to ``jcfix fix``."""
    app.command("jc-unlock")(jc_unlock)
    app.command("jc-bind")(jc_bind)
    app.command("jc-local-account")(jc_local_account)
    app.command("jc-activate")(jc_activate)
    app.command("jc-undo")(jc_undo)


__all__ = ["print_outcomes", "register", "run_fix", "undo_jumpcloud_run"]
