"""The objects the providers hand to scripts: registry keys (``Microsoft.Win32.RegistryKey``, live: every
method reads the registry at call time, through the view and token the key was opened with), files and
folders (``System.IO.FileInfo`` / ``DirectoryInfo``), and Get-ItemProperty's property bags.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from toolkit.lab.powershell.contract import DotNetEnum, DotNetObject
from toolkit.lab.windows.dotnet_security import acl_object
from toolkit.lab.windows.errors import dotnet_throw
from toolkit.lab.windows.filesystem import FsError, FsNode
from toolkit.lab.windows.providers import ProviderPath, ps_properties_of
from toolkit.lab.windows.registry import dotnet_value

if TYPE_CHECKING:
    from toolkit.lab.windows.machine import WindowsMachine


ps_properties = ps_properties_of


def property_bag(machine: WindowsMachine, path: ProviderPath, names: list[str] | None) -> DotNetObject:
    """Get-ItemProperty's PSCustomObject: each value as a property (the default value as ``(default)``),
    expanded and typed as RegistryKey.GetValue gives them, then the PS* properties."""
    key = machine.state.registry.open(path.path, machine.view, machine.token)
    env = dict(machine.environment())
    values: dict[str, Any] = {}
    for value in key.values.values():
        label = value.name or "(default)"
        if names is None or label.lower() in {n.lower() for n in names}:
            values[label] = dotnet_value(value, True, env)
    props = ps_properties(path, True)
    props.pop("PSIsContainer")
    return DotNetObject(["System.Management.Automation.PSCustomObject"], {**values, **props}, settable=values.keys())


# ------------------------------------------------------------------------------------------- files
def _mode(node: FsNode) -> str:
    return ("d" if node.is_dir else "-") + ("-" if node.is_dir else "a") + "-" + ("h" if node.hidden else "-") + "--"


def file_item(machine: WindowsMachine, path: ProviderPath, node: FsNode, listed: bool = False) -> DotNetObject:
    """FileInfo/DirectoryInfo. In 5.1 a FileSystemInfo stringifies to the path it was created with: the
    bare name for an item Get-ChildItem listed, the full path for Get-Item (PowerShell 6 made it the full
    path; the 5.1 behaviour is the .NET Framework ``OriginalPath``)."""
    full = path.path
    name = node.name
    stamp: datetime = node.modified

    def get_acl(*_: Any) -> DotNetObject:
        try:
            sd = machine.state.fs.read_sd(full, machine.token)
        except FsError:
            dotnet_throw("System.UnauthorizedAccessException", "Attempted to perform an unauthorized operation.")
        return acl_object(machine.state, sd, node.is_dir, full)

    properties: dict[str, Any] = {
        "Name": name,
        "FullName": full,
        "Exists": lambda: machine.state.fs.node(full) is not None,
        "Attributes": DotNetEnum(
            "System.IO.FileAttributes", "Directory" if node.is_dir else "Archive", 16 if node.is_dir else 32
        ),
        "Mode": _mode(node),
        "LastWriteTime": stamp,
        "LastWriteTimeUtc": stamp,
        "CreationTime": stamp,
        **ps_properties(path, node.is_dir),
    }
    if node.is_dir:
        parent = path.parent
        properties["Parent"] = parent.path if parent else None
        type_names = ["System.IO.DirectoryInfo", "System.IO.FileSystemInfo"]
    else:
        base, dot, ext = name.rpartition(".")
        properties.update(
            Length=lambda: len(machine.state.fs.get(full).data),
            Extension=f".{ext}" if dot else "",
            BaseName=base if dot else name,
            DirectoryName=path.parent.path if path.parent else "",
        )
        type_names = ["System.IO.FileInfo", "System.IO.FileSystemInfo"]
    return DotNetObject(
        [*type_names, "System.MarshalByRefObject"],
        properties,
        {"GetAccessControl": get_acl, "ToString": lambda: name if listed else full},
        to_string=name if listed else full,
    )
