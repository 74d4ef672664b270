"""Shell completion values: playbooks, scenarios, actions, and host and group names from ``-i``.

Command names and option names complete through click itself; this module adds the values click
cannot know. Each completer takes click's ``(ctx, param, incomplete)`` and never raises: a file that
does not parse completes nothing rather than printing a traceback into the user's shell.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

from typer import _click as click
from typer._click.shell_completion import CompletionItem

from toolkit.cli.helptext import walk
from toolkit.errors import JcfixError

Completer = Callable[[click.Context, click.Parameter, str], list[CompletionItem]]
_YAML = (".yml", ".yaml")


def _items(values: list[str], incomplete: str) -> list[CompletionItem]:
    seen = dict.fromkeys(v for v in values if v.startswith(incomplete))
    return [CompletionItem(v) for v in seen]


def playbook_names(incomplete: str, cwd: Path | None = None) -> list[str]:
    """Shipped playbook names, then YAML files in the directory ``incomplete`` points into (``playbooks/``)."""
    from toolkit.playbook import shipped_playbooks

    names = [Path(n).stem for n in shipped_playbooks()]
    base = cwd or Path.cwd()
    folder, _, _ = incomplete.rpartition("/")
    directory = base / folder if folder else base
    prefix = f"{folder}/" if folder else ""
    with contextlib.suppress(OSError):
        for entry in sorted(directory.iterdir()):
            if entry.is_dir() and not entry.name.startswith("."):
                names.append(f"{prefix}{entry.name}/")
            elif entry.suffix in _YAML:
                names.append(f"{prefix}{entry.name}")
    return [n for n in names if n.startswith(incomplete)]


def scenario_names(incomplete: str) -> list[str]:
    """Built-in lab scenario names (``random`` included), as ``jcfix lab scenarios`` knows them."""
    from toolkit.cli.lab import scenario_names as lab_scenario_names  # only the lab command imports the lab

    return [n for n in lab_scenario_names() if n.startswith(incomplete)]


def action_names(incomplete: str) -> list[str]:
    """Action names (as ``jcfix templates`` lists them)."""
    from toolkit.actions import registry

    return sorted(n for n in registry() if n.startswith(incomplete))


def inventory_names(inventory: Path | None, *, groups: bool) -> list[str]:
    """Host names (and group names when ``groups``) of ``inventory``; empty when it cannot be read."""
    if inventory is None:
        return []
    from toolkit.inventory import GROUP_NAMES_VAR, load_inventory

    try:
        targets = load_inventory(Path(inventory))
    except (JcfixError, OSError, ValueError):
        return []
    names = [t.name for t in targets]
    if groups:
        names += sorted({str(g) for t in targets for g in (t.vars.get(GROUP_NAMES_VAR) or [])})
    return names


def limit_values(inventory: Path | None, incomplete: str) -> list[str]:
    """``--limit`` values: the last comma-separated pattern completed, ``!`` kept, earlier ones kept."""
    done, comma, last = incomplete.rpartition(",")
    head = done + comma
    bang = "!" if last.startswith("!") else ""
    word = last[len(bang) :]
    return [f"{head}{bang}{n}" for n in inventory_names(inventory, groups=True) if n.startswith(word)]


def _inventory_of(ctx: click.Context) -> Path | None:
    value = ctx.params.get("inventory")
    return Path(value) if value else None


def _complete_playbook(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    return _items(playbook_names(incomplete), incomplete)


def _complete_scenario(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    return _items(scenario_names(incomplete), incomplete)


def _complete_action(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    return _items(action_names(incomplete), incomplete)


def _complete_host(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    return _items(inventory_names(_inventory_of(ctx), groups=False), incomplete)


def _complete_limit(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    return _items(limit_values(_inventory_of(ctx), incomplete), incomplete)


def _completer_for(command: click.Command, param: click.Parameter) -> Completer | None:
    has_inventory = any(p.name == "inventory" for p in command.params)
    if param.name == "playbook_name":
        return _complete_playbook
    if param.name == "scenario":
        return _complete_scenario
    if param.name in ("action_name",) or (command.name == "render" and param.name == "name"):
        return _complete_action
    if has_inventory and param.name == "host":
        return _complete_host
    if has_inventory and param.name == "limit":
        return _complete_limit
    return None


def attach_command_completers(command: click.Command) -> click.Command:
    """Give ``command``'s own parameters (not its subcommands') their completers (in place); returns it."""
    for param in command.params:
        completer = _completer_for(command, param)
        if completer is not None:
            param._custom_shell_complete = completer
    return command


def attach_completers(root: click.Command) -> click.Command:
    """Give each parameter whose values jcfix knows a completer (in place); returns ``root``."""
    for _path, command in walk(root):
        attach_command_completers(command)
    return root
