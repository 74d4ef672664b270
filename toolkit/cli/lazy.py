"""A command group that imports a command's module only when that command is used.

``jcfix --help`` lists every command with its one-line help, but importing every command module to get
those lines costs more than the rest of start-up together (the lab, httpx, pydantic, rich). The group
below knows each command's name, short help and where it lives (``module:attribute``), and builds the
real click command the first time something asks for it: running it, its own ``--help``, completing its
options. Listing, completing command names and did-you-mean need only the names.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Iterator, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import typer
from typer import _click as click
from typer._click.shell_completion import CompletionItem
from typer.core import TyperGroup


@dataclass(frozen=True)
class LazyCommand:
    """One command of a lazy group: what ``--help`` lists, and where the command is.

    Attributes:
        name: the command's name on the command line.
        target: ``module:attribute``: a typer command function, or a :class:`typer.Typer` of subcommands.
        help: the one line ``--help`` lists for it, exactly as the loaded command's ``short_help`` reads.
    """

    name: str
    target: str
    help: str


def build(spec: LazyCommand) -> click.Command:
    """The click command ``spec`` names, built by typer as ``app.command``/``app.add_typer`` would build it."""
    module_name, _, attribute = spec.target.partition(":")
    target = getattr(importlib.import_module(module_name), attribute)
    holder = typer.Typer(pretty_exceptions_enable=False)
    if isinstance(target, typer.Typer):
        holder.add_typer(target, name=spec.name)
    else:
        holder.command(spec.name)(target)
    return typer.main.get_group(holder).commands[spec.name]


class LazyCommands(MutableMapping[str, click.Command]):
    """A group's ``commands``: names known up front, each command built (and prepared) on first access.

    Iterating, ``len`` and ``in`` never import anything; ``commands[name]``, ``.get`` and ``.items()``
    build what they return. Commands added later (``add_command``) are kept as given.
    """

    def __init__(
        self,
        specs: Iterable[LazyCommand],
        load: Callable[[LazyCommand], click.Command],
        loaded: MutableMapping[str, click.Command] | None = None,
    ) -> None:
        self._specs = {spec.name: spec for spec in specs}
        self._load = load
        self._loaded: dict[str, click.Command] = dict(loaded or {})

    def spec(self, name: str) -> LazyCommand | None:
        """The declaration of ``name``, if it is a lazy command."""
        return self._specs.get(name)

    def is_loaded(self, name: str) -> bool:
        """Whether ``name``'s command has been built (its module imported)."""
        return name in self._loaded

    def __getitem__(self, name: str) -> click.Command:
        if name not in self._loaded:
            spec = self._specs.get(name)
            if spec is None:
                raise KeyError(name)
            self._loaded[name] = self._load(spec)
        return self._loaded[name]

    def __setitem__(self, name: str, command: click.Command) -> None:
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        if name not in self:
            raise KeyError(name)
        self._specs.pop(name, None)
        self._loaded.pop(name, None)

    def __contains__(self, name: object) -> bool:
        return name in self._specs or name in self._loaded

    def __iter__(self) -> Iterator[str]:
        yield from self._specs
        yield from (name for name in self._loaded if name not in self._specs)

    def __len__(self) -> int:
        return len(self._specs) + sum(1 for name in self._loaded if name not in self._specs)


class LazyGroup(TyperGroup):
    """A typer group whose commands come from :attr:`lazy_commands`, each imported on first use.

    Subclasses set ``lazy_commands`` and may override :meth:`prepare` (run once on each command built).
    """

    lazy_commands: ClassVar[Sequence[LazyCommand]] = ()

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = LazyCommands(self.lazy_commands, self._build, loaded=self.commands)

    def prepare(self, command: click.Command) -> click.Command:
        """Finish a freshly built command (help polish, completers); returns it."""
        return command

    def _build(self, spec: LazyCommand) -> click.Command:
        return self.prepare(build(spec))

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every command name, in declaration order, without importing any command."""
        return list(self.commands)

    def listed_help(self, name: str, limit: int = 45) -> str:
        """``name``'s line in ``--help``: from its declaration until it is loaded, then from the command."""
        commands = self.commands
        spec = commands.spec(name) if isinstance(commands, LazyCommands) else None
        if spec is not None and not (isinstance(commands, LazyCommands) and commands.is_loaded(name)):
            return spec.help
        return commands[name].get_short_help_str(limit)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The ``Commands`` section, as typer writes it, from the declarations (nothing imported)."""
        names = [name for name in self.list_commands(ctx) if not self._hidden(name)]
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        with formatter.section("Commands"):
            formatter.write_dl([(name, self.listed_help(name, limit)) for name in names])

    def _hidden(self, name: str) -> bool:
        commands = self.commands
        if isinstance(commands, LazyCommands) and not commands.is_loaded(name) and commands.spec(name):
            return False  # a declared command is listed
        return bool(commands[name].hidden)

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[CompletionItem]:
        """Command names (with their help) and then options, without importing any command."""
        results = [
            CompletionItem(name, help=self.listed_help(name))
            for name in self.list_commands(ctx)
            if name.startswith(incomplete) and not self._hidden(name)
        ]
        results.extend(click.Command.shell_complete(self, ctx, incomplete))
        return results
