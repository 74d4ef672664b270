"""PowerShell provider paths: which provider a path names, its provider-internal form, wildcards.

Forms accepted (about_Providers, about_Registry_Provider, about_FileSystem_Provider):
``HKLM:\\X``, ``HKCU:\\X``, ``Registry::HKEY_LOCAL_MACHINE\\X``, ``Microsoft.PowerShell.Core\\Registry::...``,
``C:\\X``, ``FileSystem::C:\\X``, ``Microsoft.PowerShell.Core\\FileSystem::C:\\X``. ``-Path`` expands
wildcards (``*``, ``?``, ``[a-z]``) in any component; ``-LiteralPath`` never does.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from toolkit.lab.windows.filesystem import FsError, normalize, redirect
from toolkit.lab.windows.registry import HIVES, RegistryError

if TYPE_CHECKING:
    from toolkit.lab.windows.machine import WindowsMachine

REGISTRY_PROVIDER = "Microsoft.PowerShell.Core\\Registry"
FILESYSTEM_PROVIDER = "Microsoft.PowerShell.Core\\FileSystem"
_DRIVE_OF_HIVE = {"HKEY_LOCAL_MACHINE": "HKLM", "HKEY_CURRENT_USER": "HKCU"}
_PROVIDER_PREFIX = re.compile(r"^(?:Microsoft\.PowerShell\.Core\\)?(Registry|FileSystem)::", re.IGNORECASE)


class PathError(Exception):
    """A path no provider understands (a drive that does not exist)."""


@dataclass(frozen=True)
class ProviderPath:
    """A resolved provider path: ``registry`` with ``HKEY_...\\X``, or ``filesystem`` with ``C:\\X``."""

    provider: str
    path: str

    @property
    def is_registry(self) -> bool:
        return self.provider == "registry"

    @property
    def ps_path(self) -> str:
        prefix = REGISTRY_PROVIDER if self.is_registry else FILESYSTEM_PROVIDER
        return f"{prefix}::{self.path}"

    @property
    def parent(self) -> ProviderPath | None:
        trimmed = self.path.rstrip("\\")
        head, sep, _ = trimmed.rpartition("\\")
        if not sep:
            return None
        return ProviderPath(self.provider, head + "\\" if not self.is_registry and len(head) == 2 else head)

    @property
    def child_name(self) -> str:
        return self.path.rstrip("\\").rpartition("\\")[2] or self.path

    @property
    def drive(self) -> str:
        if self.is_registry:
            return _DRIVE_OF_HIVE.get(self.path.split("\\", 1)[0], "")
        return self.path[0]

    def join(self, name: str) -> ProviderPath:
        return ProviderPath(self.provider, self.path.rstrip("\\") + "\\" + name)


def parse(text: str, machine: WindowsMachine | None = None) -> ProviderPath:
    """The provider path a script's path names; raises PathError for an unknown drive."""
    raw = str(text).strip()
    match = _PROVIDER_PREFIX.match(raw)
    if match:
        rest = raw[match.end() :]
        if match.group(1).lower() == "registry":
            return ProviderPath("registry", _registry_form(rest))
        return ProviderPath("filesystem", normalize(rest))
    drive, colon, rest = raw.partition(":")
    if colon and drive.lower() in ("hklm", "hkcu"):
        return ProviderPath("registry", _registry_form(f"{drive}\\{rest}"))
    if colon and len(drive) == 1 and drive.isalpha():
        if drive.upper() != "C":
            raise PathError(f"Cannot find drive. A drive with the name '{drive}' does not exist.")
        return ProviderPath("filesystem", normalize(raw))
    if colon:
        raise PathError(f"Cannot find drive. A drive with the name '{drive}' does not exist.")
    # A relative path: relative to the process's current location.
    here = machine.location if machine is not None else "C:\\Users\\Public\\Documents"
    if here.lower().startswith(("hklm", "hkey_")):
        return ProviderPath("registry", _registry_form(f"{here}\\{raw}"))
    return ProviderPath("filesystem", normalize(f"{here}\\{raw}"))


def _registry_form(text: str) -> str:
    parts = [p for p in text.replace("/", "\\").split("\\") if p]
    if not parts:
        raise PathError("Cannot find path '' because it does not exist.")
    hive = HIVES.get(parts[0].rstrip(":").lower())
    if hive is None:
        raise PathError(f"Cannot find drive. A drive with the name '{parts[0]}' does not exist.")
    return "\\".join([hive, *parts[1:]])


def has_wildcards(text: str) -> bool:
    return any(c in text for c in "*?[")


def fs_physical(machine: WindowsMachine, path: ProviderPath) -> str:
    """The file system path this process reaches (WOW64 System32 redirection)."""
    return redirect(path.path, machine.is_64bit_process)


def exists(machine: WindowsMachine, path: ProviderPath) -> bool:
    """Whether the item exists and this process may see it (an unreadable registry key does not)."""
    if path.is_registry:
        return machine.state.registry.exists(path.path, machine.view, machine.token)
    return machine.state.fs.node(fs_physical(machine, path)) is not None


def children_names(machine: WindowsMachine, path: ProviderPath) -> list[str]:
    """Names of the children of a container; raises RegistryError/FsError."""
    if path.is_registry:
        key = machine.state.registry.open(path.path, machine.view, machine.token)
        return sorted((k.name for k in key.subkeys.values()), key=str.lower)
    return [n.name for n in machine.state.fs.list_dir(fs_physical(machine, path), machine.token)]


def expand(machine: WindowsMachine, text: str) -> list[ProviderPath]:
    """The existing items a ``-Path`` names (wildcards expanded component by component, sorted)."""
    path = parse(text, machine)
    if not has_wildcards(path.path):
        return [path]
    parts = path.path.split("\\")
    found = [ProviderPath(path.provider, parts[0] + ("" if path.is_registry else "\\"))]
    for part in parts[1:]:
        if not part:
            continue
        following: list[ProviderPath] = []
        for base in found:
            if not has_wildcards(part):
                candidate = base.join(part)
                if exists(machine, candidate):
                    following.append(candidate)
                continue
            try:
                names = children_names(machine, base)
            except (RegistryError, FsError):
                continue
            following.extend(base.join(n) for n in names if matches(n, part))
        found = following
    return found


def matches(name: str, pattern: str) -> bool:
    """PowerShell wildcard match, without case."""
    return fnmatch.fnmatchcase(name.lower(), pattern.lower())


def ps_properties_of(path: ProviderPath, is_container: bool) -> dict[str, Any]:
    """The PS* note properties a provider adds to every item."""
    parent = path.parent
    return {
        "PSPath": path.ps_path,
        "PSParentPath": parent.ps_path if parent else "",
        "PSChildName": path.child_name,
        "PSDrive": path.drive,
        "PSProvider": REGISTRY_PROVIDER if path.is_registry else FILESYSTEM_PROVIDER,
        "PSIsContainer": is_container,
    }


# ------------------------------------------------------------------------------------------- registry
