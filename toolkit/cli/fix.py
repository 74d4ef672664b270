"""``jcfix fix NAME``: one command per fix action, built from the action's declaration.

Adding a fix means adding a template and its declaration (with ``command=`` and a ``flag=`` per
parameter); this module turns that into a command with the connection options, ``--check``,
``--run-id`` and ``--output``, so neither the CLI nor the runner changes.
"""

from __future__ import annotations

import inspect
import sys
from typing import Annotated, Any

import typer
from rich.table import Table

from toolkit.actions import Action, Param, registry
from toolkit.actions._fixbase import FixData
from toolkit.cli.connection import Connection, connection_options
from toolkit.cli.execute import run_action
from toolkit.cli.output import OUTPUT_FORMATS, change_table, exit_code, print_json, print_tables
from toolkit.errors import UsageError
from toolkit.exitcodes import ExitCode
from toolkit.runner import HostReport
from toolkit.services.apply_fix import USER_PARAM, MissingAccountReview, fix_values
from toolkit.settings import read_secret

app = typer.Typer(help="Fix what diagnose found: previewed (--dry-run, --check), backed up, verified.")

_TYPES = {"string": str, "string[]": list[str], "int": int, "bool": bool}


def _python_name(param: Param) -> str:
    return param.flags[0].lstrip("-").replace("-", "_")


def _option_parameter(param: Param) -> inspect.Parameter:
    python_type = _TYPES[param.kind]
    annotation: Any  # an Annotated[...] form for typer, built from the declaration
    if param.kind == "bool":
        annotation = Annotated[bool, typer.Option(*param.flags, help=param.help)]
        default: Any = False
    elif param.required:
        annotation = Annotated[python_type, typer.Option(*param.flags, help=param.help)]
        default = inspect.Parameter.empty
    else:
        annotation = Annotated[python_type | None, typer.Option(*param.flags, help=param.help)]
        default = None
    kind = inspect.Parameter.KEYWORD_ONLY
    return inspect.Parameter(_python_name(param), kind, annotation=annotation, default=default)


def _table(report: HostReport) -> Table | None:
    (_, result), *_ = report.results
    # A failed fix keeps what it reported (a change followed by a failure still shows before, after,
    # backups): the validated model when complete, else the partial data exactly as the host sent it.
    data = result.data.model_dump(mode="json") if isinstance(result.data, FixData) else result.data_dict()
    if not isinstance(data, dict) or "planned" not in data:
        return None
    return change_table(
        status=result.label,
        check_mode=bool(data.get("check_mode")),
        planned=list(data.get("planned") or []),
        before=data.get("before"),
        after=data.get("after"),
        notes=list(data.get("notes") or []),
        backups=list(data.get("backups") or []),
        heading=[("account", f"{data.get('user')} ({data.get('sid') or 'no SID'})")]
        + ([("skipped", report.reason)] if report.status == "skipped" and report.reason else []),
    )


def make_command(action: Action) -> Any:
    """The ``jcfix fix`` command for ``action``."""
    offered = [p for p in action.params if p.flags]

    def command(connection: Connection, check: bool, run_id: str | None, output: str, **options: Any) -> int:
        if output not in OUTPUT_FORMATS:
            raise UsageError(f"--output must be one of {', '.join(OUTPUT_FORMATS)}")
        given = {p.name: options[_python_name(p)] for p in offered}
        fix = fix_values(action, given, run_id=run_id, read_secret=None if connection.dry_run else read_secret)
        for warning in fix.warnings:
            print(f"jcfix: warning: {warning}", file=sys.stderr)
        # A fleet-wide fix skips the hosts without its account instead of failing them (issue 13 item 9).
        review = MissingAccountReview() if any(p.name == USER_PARAM for p in action.params) else None
        reports = run_action(connection, action, fix.values, whatif=check, run_id=fix.run_id, review=review)
        if reports is None:
            return ExitCode.OK
        if output == "json":
            print_json(reports)
        else:
            print_tables(reports, lambda r: f"{r.target.name}: {action.command} (run {fix.run_id})", _table)
        return exit_code(reports)

    own = [
        inspect.Parameter("connection", inspect.Parameter.KEYWORD_ONLY, annotation=Connection),
        *(_option_parameter(p) for p in offered),
        inspect.Parameter(
            "check",
            inspect.Parameter.KEYWORD_ONLY,
            annotation=Annotated[
                bool, typer.Option("--check", help="Connect and report what would change; change nothing.")
            ],
            default=False,
        ),
        inspect.Parameter(
            "run_id",
            inspect.Parameter.KEYWORD_ONLY,
            annotation=Annotated[str | None, typer.Option("--run-id", help="Name the run (default: generated).")],
            default=None,
        ),
        inspect.Parameter(
            "output",
            inspect.Parameter.KEYWORD_ONLY,
            annotation=Annotated[str, typer.Option("--output", "-o", help="table or json.")],
            default="table",
        ),
    ]

    def entry(**kwargs: Any) -> int:
        fixed = {k: kwargs.pop(k) for k in ("connection", "check", "run_id", "output")}
        return command(**fixed, **kwargs)

    entry.__signature__ = inspect.Signature(own)  # type: ignore[attr-defined]
    entry.__annotations__ = {p.name: p.annotation for p in own}
    entry.__name__ = f"fix_{action.name}"
    entry.__doc__ = action.summary
    return connection_options(entry)


for _action in registry().values():
    if _action.command is not None:
        app.command(_action.command)(make_command(_action))

# Fixes made through the JumpCloud API rather than a device script (toolkit.cli.jcfix_api).
from toolkit.cli.jcfix_api import register as _register_jumpcloud_fixes  # noqa: E402

_register_jumpcloud_fixes(app)
