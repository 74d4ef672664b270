"""Get-Location and Set-Location (about_Locations, 5.1): the process's current location, a folder or a registry key.

``Get-Location`` writes a PathInfo (``Path``, ``ProviderPath``, ``Drive``, ``Provider``) that stringifies to
its path; ``Set-Location`` to a missing item is ItemNotFoundException. A new remote session starts in the
user's Documents folder; a scheduled task's process in its action's working directory.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from toolkit.lab.powershell.contract import CommandCall, CommandSpec, DotNetObject
from toolkit.lab.windows import errors as err
from toolkit.lab.windows import providers as pv
from toolkit.lab.windows.cmdlet_support import machine_of, param, parsed_paths

DOCS = "https://learn.microsoft.com/powershell/module/microsoft.powershell.management/"


def _path_info(path: pv.ProviderPath) -> DotNetObject:
    shown = (
        path.path
        if not path.is_registry
        else f"{path.drive}:{path.path.partition(chr(92))[1]}{path.path.partition(chr(92))[2]}"
    )
    return DotNetObject(
        ["System.Management.Automation.PathInfo"],
        {
            "Path": shown,
            "ProviderPath": path.path,
            "Drive": path.drive,
            "Provider": "Microsoft.PowerShell.Core\\" + ("Registry" if path.is_registry else "FileSystem"),
        },
        to_string=shown,
    )


def _get_location(call: CommandCall) -> Iterator[Any]:
    """The current location; with -PSProvider FileSystem while in the registry, the last file system one
    (modelled as the process's working folder: PowerShell keeps one current location per provider)."""
    machine = machine_of(call)
    current = pv.parse(machine.location, machine)
    wanted = str(call.bound.get("PSProvider") or "").lower()
    if wanted.endswith("filesystem") and current.is_registry:
        current = pv.parse(machine.environment()["USERPROFILE"], machine)
    elif wanted.endswith("registry") and not current.is_registry:
        current = pv.ProviderPath("registry", "HKEY_LOCAL_MACHINE")
    yield _path_info(current)


def _set_location(call: CommandCall) -> Iterator[Any]:
    machine = machine_of(call)
    for raw, path in parsed_paths(call, machine):
        if not pv.exists(machine, path) or (
            not path.is_registry and not machine.state.fs.get(pv.fs_physical(machine, path)).is_dir
        ):
            call.write_error(err.path_not_found(raw, "PathNotFound"))
            continue
        machine.location = path.path
    yield from ()


COMMANDS = [
    CommandSpec(
        "Get-Location",
        "Microsoft.PowerShell.Management",
        "cmdlet",
        (param("PSProvider", "string[]"),),
        False,
        _get_location,
        DOCS + "get-location?view=powershell-5.1",
    ),
    CommandSpec(
        "Set-Location",
        "Microsoft.PowerShell.Management",
        "cmdlet",
        (param("Path", "string", 0, pipeline=True), param("LiteralPath", "string", aliases=("PSPath",))),
        False,
        _set_location,
        DOCS + "set-location?view=powershell-5.1",
    ),
]
