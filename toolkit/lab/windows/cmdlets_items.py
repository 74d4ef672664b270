"""Item cmdlets over the FileSystem and Registry providers (Microsoft.PowerShell.Management, 5.1).

Sources: the cmdlet reference pages (learn.microsoft.com/powershell/module/microsoft.powershell.management/*?view=
powershell-5.1) and the providers in PowerShell/PowerShell ``src/System.Management.Automation/namespaces/``
(RegistryProvider.cs: New-Item -Force on an existing key removes and recreates it; Get-ItemProperty writes
nothing for a key without values; FileSystemProvider.cs). Errors are non-terminating (``write_error``) as
the providers write them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from toolkit.lab.powershell.contract import CommandCall, CommandSpec, ErrorSpec
from toolkit.lab.windows import errors as err
from toolkit.lab.windows import providers as pv
from toolkit.lab.windows.cmdlet_support import as_list, flag, machine_of, param, paths_of, text, write_drive_not_found
from toolkit.lab.windows.filesystem import FsError
from toolkit.lab.windows.items import file_item, property_bag
from toolkit.lab.windows.machine import WindowsMachine
from toolkit.lab.windows.registry import VALUE_KINDS, RegistryError, ValueKind
from toolkit.lab.windows.regkey import registry_key

MODULE = "Microsoft.PowerShell.Management"
DOCS = "https://learn.microsoft.com/powershell/module/microsoft.powershell.management/"
PATH_PARAMS = (
    param("Path", "string[]", 0, pipeline=True, sets=("Path",)),
    param("LiteralPath", "string[]", aliases=("PSPath", "LP"), sets=("LiteralPath",)),
)


def item_for(machine: WindowsMachine, path: pv.ProviderPath, listed: bool = False) -> Any:
    """The object Get-Item gives for an existing item."""
    if path.is_registry:
        return registry_key(machine, path)
    physical = pv.fs_physical(machine, path)
    return file_item(machine, pv.ProviderPath("filesystem", physical), machine.state.fs.get(physical), listed)


def resolve(call: CommandCall, error_id: str, default: str | None = None) -> Iterator[pv.ProviderPath]:
    """Each existing item the call names; a missing one is a PathNotFound error (as the providers write it)."""
    machine = machine_of(call)
    for raw, literal in paths_of(call, default):
        try:
            found = [pv.parse(raw, machine)] if literal else pv.expand(machine, raw)
        except pv.PathError as exc:
            write_drive_not_found(call, raw, exc)
            continue
        present = [p for p in found if pv.exists(machine, p)]
        if not present and (literal or not pv.has_wildcards(raw)):
            call.write_error(err.path_not_found(found[0].path if found else raw, error_id))
        yield from present


# ------------------------------------------------------------------------------------------- Test-Path
def _test_path(call: CommandCall) -> Iterator[bool]:
    machine = machine_of(call)
    kind = (text(call, "PathType") or "Any").lower()
    for raw, literal in paths_of(call):
        try:
            found = [pv.parse(raw, machine)] if literal else pv.expand(machine, raw)
        except pv.PathError:
            yield False
            continue
        # An unreadable registry key (HKLM\SAM\SAM for an administrator) answers False: UNCONFIRMED whether
        # 5.1 answers False or writes an error there.
        present = [p for p in found if pv.exists(machine, p)]
        if kind == "any":
            yield bool(present)
            continue
        containers = [p.is_registry or machine.state.fs.get(pv.fs_physical(machine, p)).is_dir for p in present]
        yield bool(present) and all(containers) if kind == "container" else bool(present) and not any(containers)


# ------------------------------------------------------------------------------------------- Get-Item / Get-ChildItem
def _get_item(call: CommandCall) -> Iterator[Any]:
    machine = machine_of(call)
    for path in resolve(call, "PathNotFound"):
        yield item_for(machine, path)


def _children(
    machine: WindowsMachine, path: pv.ProviderPath, call: CommandCall
) -> Iterator[tuple[pv.ProviderPath, bool]]:
    """``(child path, is container)`` of a container, written as errors when it cannot be listed."""
    try:
        names = pv.children_names(machine, path)
    except (RegistryError, FsError) as exc:
        if getattr(exc, "kind", "") == "access_denied":
            spec = (
                err.registry_access_denied(path.path, "System.Security.SecurityException")
                if path.is_registry
                else err.file_access_denied(path.path, "DirUnauthorizedAccessError")
            )
            call.write_error(spec)
        return
    for name in names:
        child = path.join(name)
        if path.is_registry:
            yield child, True
            continue
        node = machine.state.fs.get(pv.fs_physical(machine, child))
        if node.hidden and not flag(call, "Force"):
            continue
        yield child, node.is_dir


def _get_child_item(call: CommandCall) -> Iterator[Any]:
    machine = machine_of(call)
    pattern = text(call, "Filter")
    include = [str(v) for v in as_list(call.bound.get("Include"))]
    recurse = flag(call, "Recurse")
    only_dirs, only_files = flag(call, "Directory"), flag(call, "File")
    # Without a path: the current location (a remote session starts in the user's Documents folder).
    here = machine.environment()["USERPROFILE"] + "\\Documents"
    for start in resolve(call, "PathNotFound", here):
        is_container = start.is_registry or machine.state.fs.get(pv.fs_physical(machine, start)).is_dir
        if not is_container:
            yield item_for(machine, start)
            continue
        stack = [start]
        while stack:
            current = stack.pop(0)
            for child, child_is_dir in _children(machine, current, call):
                name = child.child_name
                wanted = (pattern is None or pv.matches(name, pattern)) and (
                    not include or any(pv.matches(name, p) for p in include)
                )
                if wanted and not (only_dirs and not child_is_dir) and not (only_files and child_is_dir):
                    yield item_for(machine, child, listed=True)
                if recurse and child_is_dir:
                    stack.append(child)


# ------------------------------------------------------------------------------------------- properties
def _get_item_property(call: CommandCall) -> Iterator[Any]:
    machine = machine_of(call)
    names = [str(n) for n in as_list(call.bound.get("Name"))] or None
    for path in resolve(call, "PathNotFound"):
        if not path.is_registry:
            yield item_for(machine, path)
            continue
        try:
            bag = property_bag(machine, path, names)
        except RegistryError:
            call.write_error(err.registry_access_denied(path.path, "System.Security.SecurityException"))
            continue
        for name in names or []:
            if name.lower() not in {k.lower() for k in bag.properties}:
                call.write_error(err.property_not_found(name, path.path))
        if any(not k.startswith("PS") for k in bag.properties):
            yield bag


def _registry_kind(value: Any, kind: str) -> tuple[ValueKind, Any]:
    """The registry provider's conversion of ``-Value`` for ``-PropertyType``."""
    canonical = {k.lower(): k for k in VALUE_KINDS}
    chosen = canonical.get(kind.lower())
    if chosen is None:
        raise ValueError(f"The property type '{kind}' is not valid.")
    if chosen in ("DWord", "QWord"):
        number = int(str(value).strip(), 0) if isinstance(value, str) else int(value or 0)
        return chosen, number & (0xFFFFFFFF if chosen == "DWord" else 0xFFFFFFFFFFFFFFFF)
    if chosen == "Binary":
        return chosen, bytes(value) if isinstance(value, (bytes, bytearray)) else bytes(int(v) for v in as_list(value))
    if chosen == "MultiString":
        return chosen, [str(v) for v in as_list(value)]
    return chosen, "" if value is None else str(value)


def _new_item_property(call: CommandCall) -> Iterator[Any]:
    machine = machine_of(call)
    name = text(call, "Name") or ""
    try:
        kind, data = _registry_kind(call.bound.get("Value"), text(call, "PropertyType") or "String")
    except (ValueError, TypeError) as exc:
        raise_invalid(call, str(exc))
        return
    for path in resolve(call, "PathNotFound"):
        if not call.should_process(f"Item: {path.path} Property: {name}", "New Property"):
            continue
        key = machine.state.registry.lookup(path.path, machine.view, machine.token)
        if key is not None and name.lower() in key.values and not flag(call, "Force"):
            call.write_error(
                ErrorSpec(
                    "The property already exists.",
                    "System.IO.IOException",
                    "ResourceExists",
                    "System.IO.IOException",
                    path.path,
                )
            )
            continue
        try:
            machine.state.registry.set_value(path.path, machine.view, machine.token, name, kind, data)
        except RegistryError:
            call.write_error(err.registry_access_denied(path.path, "System.Security.SecurityException"))
            continue
        yield property_bag(machine, path, [name or "(default)"])


def _set_item_property(call: CommandCall) -> Iterator[Any]:
    machine = machine_of(call)
    name = text(call, "Name") or ""
    for path in resolve(call, "PathNotFound"):
        key = machine.state.registry.lookup(path.path, machine.view, machine.token)
        existing = key.values.get(name.lower()) if key is not None else None
        kind_name = text(call, "Type") or (existing.kind if existing else "String")
        kind, data = _registry_kind(call.bound.get("Value"), kind_name)
        if not call.should_process(f"Item: {path.path} Property: {name}", "Set Property"):
            continue
        try:
            machine.state.registry.set_value(path.path, machine.view, machine.token, name, kind, data)
        except RegistryError:
            call.write_error(err.registry_access_denied(name, "System.Security.SecurityException"))
    yield from ()


def _remove_item_property(call: CommandCall) -> Iterator[Any]:
    machine = machine_of(call)
    for path in resolve(call, "PathNotFound"):
        for name in (str(n) for n in as_list(call.bound.get("Name"))):
            if not call.should_process(f"Item: {path.path} Property: {name}", "Remove Property"):
                continue
            try:
                machine.state.registry.remove_value(path.path, machine.view, machine.token, name)
            except RegistryError as exc:
                spec = (
                    err.property_not_found(name, path.path)
                    if exc.kind == "value_not_found"
                    else err.registry_access_denied(name, "System.Security.SecurityException")
                )
                call.write_error(spec)
    yield from ()


def raise_invalid(call: CommandCall, message: str) -> None:
    call.write_error(ErrorSpec(message, "System.ArgumentException", "InvalidArgument", "System.ArgumentException"))


COMMANDS = [
    CommandSpec(
        "Test-Path",
        MODULE,
        "cmdlet",
        (*PATH_PARAMS, param("PathType", "string"), param("IsValid", "switch")),
        False,
        _test_path,
        DOCS + "test-path?view=powershell-5.1",
    ),
    CommandSpec(
        "Get-Item",
        MODULE,
        "cmdlet",
        (*PATH_PARAMS, param("Force", "switch")),
        False,
        _get_item,
        DOCS + "get-item?view=powershell-5.1",
    ),
    CommandSpec(
        "Get-ChildItem",
        MODULE,
        "cmdlet",
        (
            *PATH_PARAMS,
            param("Filter", "string", 1),
            param("Include", "string[]"),
            param("Recurse", "switch"),
            param("Force", "switch"),
            param("Directory", "switch"),
            param("File", "switch"),
        ),
        False,
        _get_child_item,
        DOCS + "get-childitem?view=powershell-5.1",
    ),
    CommandSpec(
        "Get-ItemProperty",
        MODULE,
        "cmdlet",
        (*PATH_PARAMS, param("Name", "string[]", 1)),
        False,
        _get_item_property,
        DOCS + "get-itemproperty?view=powershell-5.1",
    ),
    CommandSpec(
        "New-ItemProperty",
        MODULE,
        "cmdlet",
        (
            *PATH_PARAMS,
            param("Name", "string", 1, mandatory=True),
            param("Value", "object", 2),
            param("PropertyType", "string", aliases=("Type",)),
            param("Force", "switch"),
        ),
        True,
        _new_item_property,
        DOCS + "new-itemproperty?view=powershell-5.1",
    ),
    CommandSpec(
        "Set-ItemProperty",
        MODULE,
        "cmdlet",
        (
            *PATH_PARAMS,
            param("Name", "string", 1),
            param("Value", "object", 2),
            param("Type", "string"),
            param("Force", "switch"),
        ),
        True,
        _set_item_property,
        DOCS + "set-itemproperty?view=powershell-5.1",
    ),
    CommandSpec(
        "Remove-ItemProperty",
        MODULE,
        "cmdlet",
        (*PATH_PARAMS, param("Name", "string[]", 1, mandatory=True), param("Force", "switch")),
        True,
        _remove_item_property,
        DOCS + "remove-itemproperty?view=powershell-5.1",
    ),
]
