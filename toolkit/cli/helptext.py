"""One voice for every ``--help``: a pass over the click command tree after typer builds it.

typer's rich help prints Python types as metavars (``<bool>``, ``<list[str]>``, ``<float range>``), eats
``[env: ...]`` and ``[default: ...]`` as markup (leaving " ." endings) and squeezes options into narrow
boxes at 80 columns. This pass switches every command to click's plain help (wrapped at the real width),
gives each option a metavar that says what to type (``HOST``, ``FILE``, ``SECONDS``), and makes every
help text a sentence ending with a period, whichever module (or action declaration) wrote it.
"""

from __future__ import annotations

import re
import types
from collections.abc import Iterator
from typing import Any

from typer import _click as click
from typer.core import TyperArgument, TyperOption

MAX_HELP_WIDTH = 120

# What to type, by the option's Python name, where the type alone would not say it.
NAMED_METAVARS: dict[str, str] = {
    "param": "NAME=VALUE",
    "option": "NAME=BOOL",
    "host": "HOST",
    "limit": "PATTERNS",
    "output": "FORMAT",
    "format": "FORMAT",
    "via": "TRANSPORT",
    "auth": "METHOD",
    "serial": "BATCHES",
    "wait": "DURATION",
    "interval": "DURATION",
    "scenario": "SCENARIO",
    "login_user": "USER",
    "user": "USER",
    "to": "NAME",
    "jc_user": "USERNAME",
    "jc_org_id": "ORG_ID",
    "run_id": "RUN_ID",
    "ca_cert": "FILE",
    "cert_pem": "FILE",
    "cert_key_pem": "FILE",
    "base_address": "ADDRESS",
    "addressing": "MODE",
    "max_fail_percent": "PERCENT",
    "port": "PORT",
    "where": "FILTER",
    "from_run": "RUN_ID",
    "retry_failed": "RUN_ID",
}


def walk(command: click.Command, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    """Every command under ``command`` (itself first) with its path of names."""
    yield path, command
    for name, sub in (getattr(command, "commands", None) or {}).items():
        yield from walk(sub, (*path, name))


# A help text that starts by listing the values ("table or json", "guided (default) or unlink"): its
# first word is a literal to type, so it is introduced rather than capitalised.
_VALUES_FIRST = re.compile(r"^[a-z][\w-]*( \(default\))?( or |, )")


def sentence(text: str | None, option: str | None = None) -> str | None:
    """``text`` as a sentence: first letter upper case (values lists introduced), a period at the end."""
    if not text:
        return text
    text = text.strip()
    if _VALUES_FIRST.match(text):
        text = ("Output format: " if option == "output" else "Choose ") + text
    elif text[0].islower():
        text = text[0].upper() + text[1:]
    if not text.endswith((".", "?", "!")):
        text += "."
    return text


def option_metavar(param: click.Parameter) -> str:
    """The metavar for a value-taking option: a word for what to type, never a Python type."""
    name = param.name or ""
    descriptor = getattr(param, "type_descriptor", None)
    annotation = getattr(descriptor, "annotation", None)
    numeric = annotation in (int, float) and name not in ("port", "max_fail_percent")
    if name in NAMED_METAVARS and not numeric:
        return NAMED_METAVARS[name]
    if descriptor is not None and descriptor.is_choice and descriptor.choices:
        return "[" + "|".join(str(getattr(c, "value", c)) for c in descriptor.choices) + "]"
    if descriptor is not None and descriptor.is_path:
        return "FILE"
    if annotation is float:
        return "SECONDS" if any(w in name for w in ("timeout", "deadline", "delay")) else "NUMBER"
    if annotation is int:
        return "N"
    return name.upper() or "VALUE"


class PlainArgument(TyperArgument):
    """A positional argument shown as ``NAME`` (required) or ``[NAME]`` in usage, as click shows them."""

    def get_usage_pieces(self, ctx: click.Context) -> list[str]:
        name = self.display_name_raw
        name = name if self.required else f"[{name}]"
        return [name + ("..." if self.nargs != 1 else "")]

    def display_type_rich(self, ctx: click.Context) -> str | None:
        # The help text says what to give; typer would add the Python type (<str>).
        return None


def _polish_param(param: click.Parameter) -> None:
    if isinstance(param, TyperArgument):
        if param.metavar is None:
            param.metavar = (param.name or "value").upper()
        param.__class__ = PlainArgument
    elif isinstance(param, TyperOption) and not (param.is_flag or param.count) and param.metavar is None:
        param.metavar = option_metavar(param)
    help_text: Any = getattr(param, "help", None)
    if isinstance(help_text, str):
        param.help = sentence(help_text, param.name)  # type: ignore[attr-defined]


def format_options(command: click.Command, ctx: click.Context, formatter: click.HelpFormatter) -> None:
    """Arguments, then options, then each help panel's options (``Connection``, ``Reports``) in sections."""
    sections: dict[str, list[tuple[str, str]]] = {"Arguments": [], "Options": []}
    for param in command.get_params(ctx):
        record = param.get_help_record(ctx)
        if record is None:
            continue
        title = "Arguments" if param.param_type_name == "argument" else None
        title = title or getattr(param, "rich_help_panel", None) or "Options"
        sections.setdefault(title, []).append(record)
    for title, rows in sections.items():
        if rows:
            with formatter.section(title):
                formatter.write_dl(rows)
    format_commands = getattr(command, "format_commands", None)
    if format_commands is not None:
        format_commands(ctx, formatter)


def polish_command(command: click.Command) -> click.Command:
    """Apply one voice to ``command`` alone, not to its subcommands (in place); returns ``command``.

    A lazy group (:mod:`toolkit.cli.lazy`) polishes each command when it is built, so polishing the
    root must not build them all.
    """
    # Plain click help: wrapped at the terminal width, no markup to eat [env: ...] notes.
    command.rich_markup_mode = None  # type: ignore[attr-defined]
    command.format_options = types.MethodType(format_options, command)  # type: ignore[method-assign]
    # The real terminal width (click's default stops at 80), up to a width that still reads well.
    command.context_settings.setdefault("max_content_width", MAX_HELP_WIDTH)
    if command.help:
        first, _, rest = command.help.strip().partition("\n\n")
        first = sentence(" ".join(first.split())) or ""
        command.help = first + (f"\n\n{rest}" if rest else "")
        # Listed in full (wrapped) under Commands, not cut at an ellipsis.
        command.short_help = first
    for param in command.params:
        _polish_param(param)
    return command


def polish(root: click.Command) -> click.Command:
    """Apply one voice to ``root`` and every command under it (in place); returns ``root``."""
    for _path, command in walk(root):
        polish_command(command)
    return root
