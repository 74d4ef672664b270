"""``jcfix templates`` and ``jcfix render``: what scripts jcfix has, and exactly what one would send."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from toolkit.actions import get_action, parse_param_args, registry
from toolkit.cli.output import console
from toolkit.errors import UsageError
from toolkit.exitcodes import ExitCode


def list_templates() -> int:
    """List every action: its template, parameters and whether it changes the host."""
    table = Table()
    for column in ("Action", "Template", "Changes host", "Parameters", "Summary"):
        table.add_column(column, overflow="fold")
    for action in registry().values():
        params = ", ".join(
            f"{p.name}{'' if p.required else '?'}:{p.kind}" + (" (secret)" if p.secret else "") for p in action.params
        )
        table.add_row(
            action.name, f"{action.template} v{action.version}", "yes" if action.changes_state else "no",
            params or "-", action.summary,
        )  # fmt: skip
    console().print(table)
    return ExitCode.OK


def render(
    name: Annotated[str, typer.Argument(help="Action name, as listed by 'jcfix templates'.")],
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="NAME=VALUE; repeatable.")] = None,
    option: Annotated[
        list[str] | None, typer.Option("--option", help="Template switch NAME=true|false; repeatable.")
    ] = None,
    whatif: Annotated[bool, typer.Option("--whatif", help="Show it as check mode would send it.")] = False,
) -> int:
    """Print the rendered script and the parameter values that would be sent with it."""
    action = get_action(name)
    options: dict[str, bool] = {}
    for item in option or []:
        key, sep, value = item.partition("=")
        if not sep or key not in action.options:
            known = ", ".join(action.options) or "none"
            raise UsageError(f"--option {item!r}: expected NAME=true|false with NAME one of: {known}")
        if value.lower() not in ("true", "false"):
            raise UsageError(f"--option {item!r}: value must be true or false")
        options[key] = value.lower() == "true"
    rendered = action.render(parse_param_args(action, param or []), **options)
    if whatif:
        rendered = type(rendered)(
            rendered.action, rendered.version, rendered.script, {**rendered.parameters, "WhatIf": True}
        )
    typer.echo(rendered.preview(), nl=False)
    return ExitCode.OK
