"""Item cmdlets that change things: New-Item, Remove-Item, Rename-Item, Move-Item, Copy-Item (5.1).

ShouldProcess targets and actions follow the providers' resource strings (FileSystemProviderStrings,
RegistryProviderStrings in PowerShell/PowerShell): ``Destination: X`` / ``Create Directory``, ``Item: X`` /
``Remove Directory``... Errors are written, not thrown, as the providers do.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from toolkit.lab.powershell.contract import CommandCall, CommandSpec, ErrorSpec
from toolkit.lab.windows import errors as err
from toolkit.lab.windows import providers as pv
from toolkit.lab.windows.cmdlet_support import flag, machine_of, param, parsed_paths, text
from toolkit.lab.windows.cmdlets_items import DOCS, MODULE, PATH_PARAMS, item_for, resolve
from toolkit.lab.windows.filesystem import FsError
from toolkit.lab.windows.machine import WindowsMachine
from toolkit.lab.windows.registry import RegistryError


def fs_error(call: CommandCall, exc: FsError, path: str, action: str) -> None:
    """The error record the FileSystem provider writes for a failed change."""
    if exc.kind == "access_denied":
        call.write_error(err.file_access_denied(path, f"{action}UnauthorizedAccessError"))
    elif exc.kind == "in_use":
        call.write_error(err.file_in_use(path, f"{action}IOError"))
    elif exc.kind == "exists":
        call.write_error(err.item_exists(path))
    elif exc.kind == "not_found":
        call.write_error(
            ErrorSpec(
                f"Could not find a part of the path '{path}'.",
                f"{action}IOError",
                "WriteError",
                "System.IO.DirectoryNotFoundException",
                path,
            )
        )
    else:
        call.write_error(
            ErrorSpec(f"{exc.kind}: {path}", f"{action}IOError", "WriteError", "System.IO.IOException", path)
        )


# ------------------------------------------------------------------------------------------- New-Item
def _new_item(call: CommandCall) -> Iterator[Any]:
    machine = machine_of(call)
    kind = (text(call, "ItemType") or "").lower()
    for _, path in parsed_paths(call, machine):
        if call.bound.get("Name"):
            path = path.join(str(call.bound["Name"]))
        if path.is_registry:
            yield from _new_key(call, machine, path)
        elif kind in ("directory", "container"):
            yield from _new_directory(call, machine, path)
        else:
            yield from _new_file(call, machine, path)


def _new_key(call: CommandCall, machine: WindowsMachine, path: pv.ProviderPath) -> Iterator[Any]:
    registry = machine.state.registry
    if not call.should_process(f"Item: {path.path}", "New Item"):
        return
    if registry.exists(path.path, machine.view, machine.token):
        if not flag(call, "Force"):
            call.write_error(
                ErrorSpec(
                    "A key at this path already exists.",
                    "System.IO.IOException",
                    "ResourceExists",
                    "System.IO.IOException",
                    path.path,
                )
            )
            return
        # RegistryProvider.NewItem: with -Force an existing key is removed before it is created again.
        registry.delete(path.path, machine.view, machine.token, recurse=True)
    parent = path.parent
    if parent is not None and not flag(call, "Force") and not registry.exists(parent.path, machine.view, machine.token):
        call.write_error(err.path_not_found(parent.path, "System.Management.Automation.ItemNotFoundException"))
        return
    try:
        registry.create(path.path, machine.view, machine.token)
    except RegistryError:
        call.write_error(err.registry_access_denied(path.path, "System.Security.SecurityException"))
        return
    if call.bound.get("Value") is not None:
        registry.set_value(path.path, machine.view, machine.token, "", "String", str(call.bound["Value"]))
    yield item_for(machine, path)


def _new_directory(call: CommandCall, machine: WindowsMachine, path: pv.ProviderPath) -> Iterator[Any]:
    physical = pv.fs_physical(machine, path)
    existing = machine.state.fs.node(physical)
    if existing is not None:
        if flag(call, "Force") and existing.is_dir:
            yield item_for(machine, path)
        else:
            call.write_error(err.item_exists(path.path, "DirectoryExist"))
        return
    if not call.should_process(f"Destination: {path.path}", "Create Directory"):
        return
    try:
        machine.state.fs.mkdir(physical, machine.token)
    except FsError as exc:
        fs_error(call, exc, path.path, "CreateDirectory")
        return
    yield item_for(machine, path)


def _new_file(call: CommandCall, machine: WindowsMachine, path: pv.ProviderPath) -> Iterator[Any]:
    physical = pv.fs_physical(machine, path)
    if machine.state.fs.node(physical) is not None and not flag(call, "Force"):
        call.write_error(err.item_exists(path.path))
        return
    if not call.should_process(f"Destination: {path.path}", "Create File"):
        return
    value = call.bound.get("Value")
    # The bytes New-Item -Value writes (no BOM, UTF-8) are UNCONFIRMED for 5.1; jcfix uses Set-Content.
    data = b"" if value is None else str(value).encode("utf-8")
    try:
        machine.state.fs.write(physical, data, machine.token)
    except FsError as exc:
        fs_error(call, exc, path.path, "NewItem")
        return
    yield item_for(machine, path)


# ------------------------------------------------------------------------------------------- Remove-Item
def _remove_item(call: CommandCall) -> Iterator[Any]:
    machine = machine_of(call)
    for path in list(resolve(call, "PathNotFound")):
        if path.is_registry:
            _remove_key(call, machine, path)
            continue
        physical = pv.fs_physical(machine, path)
        node = machine.state.fs.get(physical)
        if node.is_dir and node.children and not flag(call, "Recurse"):
            # A remote host cannot answer the "has children" confirmation: the removal fails.
            call.write_error(
                ErrorSpec(
                    f"The item at {path.path} has children and the Recurse parameter was not specified.",
                    "RemoveFileSystemItemIOError",
                    "WriteError",
                    "System.IO.IOException",
                    path.path,
                )
            )
            continue
        if node.hidden and not flag(call, "Force"):
            call.write_error(err.file_access_denied(path.path, "RemoveFileSystemItemUnAuthorizedAccess"))
            continue
        if not call.should_process(f"Item: {path.path}", "Remove Directory" if node.is_dir else "Remove File"):
            continue
        try:
            machine.state.fs.delete(physical, machine.token, recurse=True)
        except FsError as exc:
            fs_error(call, exc, exc.path, "RemoveFileSystemItem")
    yield from ()


def _remove_key(call: CommandCall, machine: WindowsMachine, path: pv.ProviderPath) -> None:
    registry = machine.state.registry
    key = registry.lookup(path.path, machine.view, machine.token)
    if key is not None and key.subkeys and not flag(call, "Recurse"):
        call.write_error(
            ErrorSpec(
                f"The item at {path.ps_path} has children and the Recurse parameter was not specified.",
                "System.IO.IOException",
                "WriteError",
                "System.IO.IOException",
                path.path,
            )
        )
        return
    if not call.should_process(f"Item: {path.path}", "Remove Key"):
        return
    try:
        registry.delete(path.path, machine.view, machine.token, recurse=True)
    except RegistryError:
        call.write_error(err.registry_access_denied(path.path, "System.Security.SecurityException"))


# ------------------------------------------------------------------------------------------- Rename / Move / Copy
def _rename_item(call: CommandCall) -> Iterator[Any]:
    machine = machine_of(call)
    new_name = text(call, "NewName") or ""
    for path in list(resolve(call, "PathNotFound")):
        parent = path.parent
        target = parent.join(new_name) if parent else path
        if not call.should_process(f"Item: {path.path} Destination: {target.path}", "Rename Item"):
            continue
        yield from _move(call, machine, path, target, "RenameItem")


def _move_item(call: CommandCall) -> Iterator[Any]:
    machine = machine_of(call)
    destination = pv.parse(text(call, "Destination") or "", machine)
    for path in list(resolve(call, "PathNotFound")):
        target = destination
        node = machine.state.fs.node(pv.fs_physical(machine, destination))
        if node is not None and node.is_dir:
            target = destination.join(path.child_name)
        if not call.should_process(f"Item: {path.path} Destination: {target.path}", "Move File"):
            continue
        yield from _move(call, machine, path, target, "MoveFileInfoItem")


def _move(
    call: CommandCall, machine: WindowsMachine, path: pv.ProviderPath, target: pv.ProviderPath, action: str
) -> Iterator[Any]:
    if path.is_registry:
        call.write_error(
            ErrorSpec(
                "Moving registry keys is not modelled by the lab.",
                "NotImplemented",
                "NotImplemented",
                "System.NotImplementedException",
                path.path,
            )
        )
        return
    try:
        machine.state.fs.move(
            pv.fs_physical(machine, path), pv.fs_physical(machine, target), machine.token, replace=flag(call, "Force")
        )
    except FsError as exc:
        fs_error(call, exc, path.path, action)
        return
    if flag(call, "PassThru"):
        yield item_for(machine, target)


def _copy_item(call: CommandCall) -> Iterator[Any]:
    machine = machine_of(call)
    destination = pv.parse(text(call, "Destination") or "", machine)
    fs = machine.state.fs
    for path in list(resolve(call, "PathNotFound")):
        source = fs.get(pv.fs_physical(machine, path))
        target = destination
        existing = fs.node(pv.fs_physical(machine, destination))
        if existing is not None and existing.is_dir:
            target = destination.join(path.child_name)
        if not call.should_process(f"Item: {path.path} Destination: {target.path}", "Copy File"):
            continue
        try:
            if source.is_dir:
                fs.mkdir(pv.fs_physical(machine, target), machine.token)
            else:
                fs.write(
                    pv.fs_physical(machine, target),
                    fs.read(pv.fs_physical(machine, path), machine.token),
                    machine.token,
                )
        except FsError as exc:
            fs_error(call, exc, target.path, "CopyFileInfoItem")
    yield from ()


COMMANDS = [
    CommandSpec(
        "New-Item",
        MODULE,
        "cmdlet",
        (
            param("Path", "string[]", 0),
            param("Name", "string"),
            param("ItemType", "string", aliases=("Type",)),
            param("Value", "object", pipeline=True),
            param("Force", "switch"),
        ),
        True,
        _new_item,
        DOCS + "new-item?view=powershell-5.1",
    ),
    CommandSpec(
        "Remove-Item",
        MODULE,
        "cmdlet",
        (
            param("Path", "string[]", 0, sets=("Path",)),
            param("LiteralPath", "string[]", aliases=("PSPath", "LP"), pipeline=True, sets=("LiteralPath",)),
            param("Recurse", "switch"),
            param("Force", "switch"),
        ),
        True,
        _remove_item,
        DOCS + "remove-item?view=powershell-5.1",
    ),
    CommandSpec(
        "Rename-Item",
        MODULE,
        "cmdlet",
        (
            *PATH_PARAMS,
            param("NewName", "string", 1, mandatory=True),
            param("Force", "switch"),
            param("PassThru", "switch"),
        ),
        True,
        _rename_item,
        DOCS + "rename-item?view=powershell-5.1",
    ),
    CommandSpec(
        "Move-Item",
        MODULE,
        "cmdlet",
        (*PATH_PARAMS, param("Destination", "string", 1), param("Force", "switch"), param("PassThru", "switch")),
        True,
        _move_item,
        DOCS + "move-item?view=powershell-5.1",
    ),
    CommandSpec(
        "Copy-Item",
        MODULE,
        "cmdlet",
        (*PATH_PARAMS, param("Destination", "string", 1), param("Recurse", "switch"), param("Force", "switch")),
        True,
        _copy_item,
        DOCS + "copy-item?view=powershell-5.1",
    ),
]
