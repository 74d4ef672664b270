"""Small helpers every command module uses: parameter declarations and reading bound values."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, cast

from toolkit.lab.powershell.contract import CommandCall, CommandParameter, DotNetObject, ErrorSpec, ParamType
from toolkit.lab.windows import providers as pv

if TYPE_CHECKING:
    from toolkit.lab.windows.machine import WindowsMachine


def param(
    name: str,
    kind: ParamType = "object",
    position: int | None = None,
    *,
    mandatory: bool = False,
    pipeline: bool = False,
    aliases: tuple[str, ...] = (),
    sets: tuple[str, ...] = (),
) -> CommandParameter:
    return CommandParameter(name, kind, position, mandatory, pipeline, aliases, sets)


def machine_of(call: CommandCall) -> WindowsMachine:
    return cast("WindowsMachine", call.machine)


def as_list(value: Any) -> list[Any]:
    """A bound value as a list (a scalar becomes one item; None none)."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def flag(call: CommandCall, name: str) -> bool:
    return bool(call.bound.get(name, False))


def text(call: CommandCall, name: str, default: str | None = None) -> str | None:
    value = call.bound.get(name)
    return default if value is None else str(value)


def paths_of(call: CommandCall, default: str | None = None) -> Iterable[tuple[str, bool]]:
    """``(path, literal)`` for each path of -Path / -LiteralPath / pipeline input (items by their PSPath)."""
    if "LiteralPath" in call.bound:
        for value in as_list(call.bound["LiteralPath"]):
            yield str(value), True
        return
    if "Path" in call.bound:
        for value in as_list(call.bound["Path"]):
            yield str(value), False
        return
    if call.input:
        for item in call.input:
            if isinstance(item, DotNetObject) and "PSPath" in item.properties:
                yield str(item.get("PSPath")), True
            else:
                yield str(item), False
        return
    if default is not None:
        yield default, True


def write_drive_not_found(call: CommandCall, raw: str, error: Exception) -> None:
    """The non-terminating error a provider cmdlet writes for a path on a drive that does not exist."""
    exception = "System.Management.Automation.DriveNotFoundException"
    call.write_error(ErrorSpec(str(error), "DriveNotFound", "ObjectNotFound", exception, raw))


def parsed_paths(call: CommandCall, machine: WindowsMachine) -> Iterator[tuple[str, pv.ProviderPath]]:
    """Each path the command was given, parsed; one on a drive that does not exist is a non-terminating error."""
    for raw, _ in paths_of(call):
        try:
            path = pv.parse(raw, machine)
        except pv.PathError as exc:
            write_drive_not_found(call, raw, exc)
            continue
        yield raw, path
