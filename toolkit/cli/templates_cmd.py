"""``jcfix templates`` and ``jcfix render``: what scripts jcfix has, and exactly what one would send."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from toolkit.actions import RUN_ID_PARAM, Action, get_action, parse_param_args, registry
from toolkit.cli.envelope import envelope, write_document
from toolkit.cli.layout import Column, Row, render_rows
from toolkit.cli.output import OUTPUT_FORMATS, console
from toolkit.errors import UsageError
from toolkit.exitcodes import ExitCode
from toolkit.secrets import redact
from toolkit.templates import PREVIEW_SEPARATOR, RenderedScript

# Shown for RunId when none is given: a real run fills in its own id (it names the fix's backups on the host).
PLACEHOLDER_RUN_ID = "PLACEHOLDER-RUN-ID"
PLACEHOLDER_NOTE = f"    # {RUN_ID_PARAM}: a placeholder; each run sends its own id (--run-id, or a new one)"

OutputOption = Annotated[str, typer.Option("--output", "-o", help="table or json.")]


def _check_output(output: str) -> None:
    if output not in OUTPUT_FORMATS:
        raise UsageError(f"--output must be one of {', '.join(OUTPUT_FORMATS)}")


def _action_json(action: Action) -> dict[str, Any]:
    return {
        "action": action.name,
        "template": action.template,
        "version": action.version,
        "changes_host": action.changes_state,
        "command": action.command,
        "summary": action.summary,
        "parameters": [
            {"name": p.name, "kind": p.kind, "required": p.required, "secret": p.secret, "help": p.help}
            for p in action.params
        ],
        "options": dict(action.options),
    }


def list_templates(output: OutputOption = "table") -> int:
    """List every action: its template, parameters and whether it changes the host."""
    _check_output(output)
    if output == "json":
        write_document(envelope("templates", templates=[_action_json(a) for a in registry().values()]))
        return ExitCode.OK
    columns = [
        Column("Action"), Column("Template", "long"), Column("Changes host"), Column("Parameters", "text"),
        Column("Summary", "text"),
    ]  # fmt: skip
    rows = []
    for action in registry().values():
        params = ", ".join(
            f"{p.name}{'' if p.required else '?'}:{p.kind}" + (" (secret)" if p.secret else "") for p in action.params
        )
        changes = "yes" if action.changes_state else "no"
        template = f"{action.template} v{action.version}"
        rows.append(Row([action.name, template, changes, params or "-", action.summary]))
    # Laid out for the real width: action and template names are never broken across lines.
    render_rows(console(), columns, rows)
    return ExitCode.OK


def _options(action: Action, items: list[str]) -> dict[str, bool]:
    options: dict[str, bool] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or key not in action.options:
            known = ", ".join(action.options) or "none"
            raise UsageError(f"--option {item!r}: expected NAME=true|false with NAME one of: {known}")
        if value.lower() not in ("true", "false"):
            raise UsageError(f"--option {item!r}: value must be true or false")
        options[key] = value.lower() == "true"
    return options


def _marked_preview(rendered: RenderedScript) -> str:
    """The preview with a comment above the placeholder RunId, so nobody takes it for a real run's id."""
    lines = rendered.preview().split("\n")
    start = lines.index(PREVIEW_SEPARATOR)
    for index in range(start, len(lines)):
        if lines[index].lstrip().startswith(f"{RUN_ID_PARAM} = "):
            lines.insert(index, PLACEHOLDER_NOTE)
            break
    return "\n".join(lines)


def render(
    name: Annotated[str, typer.Argument(help="Action name, as listed by 'jcfix templates'.")],
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="NAME=VALUE; repeatable.")] = None,
    option: Annotated[
        list[str] | None, typer.Option("--option", help="Template switch NAME=true|false; repeatable.")
    ] = None,
    whatif: Annotated[bool, typer.Option("--whatif", help="Show it as check mode would send it.")] = False,
    output: OutputOption = "table",
) -> int:
    """Print the rendered script and the parameter values that would be sent with it.

    A fix's RunId, when not given, is a placeholder (marked as such): each run sends its own.
    """
    _check_output(output)
    action = get_action(name)
    options = _options(action, option or [])
    values = parse_param_args(action, param or [])
    placeholder = action.needs_run_id and RUN_ID_PARAM not in values
    if placeholder:
        values[RUN_ID_PARAM] = PLACEHOLDER_RUN_ID
    rendered = action.render(values, **options)
    if whatif:
        rendered = RenderedScript(
            rendered.action, rendered.version, rendered.script, {**rendered.parameters, "WhatIf": True}
        )
    if output == "json":
        document = envelope(
            "render", action=rendered.action, version=rendered.version, script=rendered.script,
            parameters=redact(dict(rendered.parameters)), placeholders=[RUN_ID_PARAM] if placeholder else [],
        )  # fmt: skip
        write_document(document)
        return ExitCode.OK
    typer.echo(_marked_preview(rendered) if placeholder else rendered.preview(), nl=False)
    return ExitCode.OK
