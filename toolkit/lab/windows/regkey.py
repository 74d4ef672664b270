"""``Microsoft.Win32.RegistryKey`` as .NET Framework 4.x gives it to a script: a live handle opened with a view,
a token and read-only or writable access (learn.microsoft.com/dotnet/api/microsoft.win32.registrykey).

- ``OpenBaseKey`` and ``CreateSubKey`` give writable keys; ``OpenSubKey(name)`` a read-only one unless
  ``OpenSubKey(name, $true)``; Get-Item's keys are read-only. Writing through a read-only handle throws
  UnauthorizedAccessException "Cannot write to the registry key."
- ``SetValue(name, value)`` without a kind: Int32 -> DWord, string -> String, string[] -> MultiString,
  byte[] -> Binary, anything else its string form (RegistryKey.SetValue docs).
- Registry ACLs are NOT modelled beyond the machine's access rules: every key reports one default DACL
  (the usual one of an HKLM\\SOFTWARE key) until a script sets another with SetAccessControl, which is stored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from toolkit.lab.powershell.contract import DotNetEnum, DotNetObject
from toolkit.lab.windows.errors import dotnet_throw
from toolkit.lab.windows.providers import ProviderPath, ps_properties_of
from toolkit.lab.windows.registry import (
    VALUE_KIND_NUMBERS,
    VALUE_KINDS,
    Registry,
    RegistryError,
    RegKey,
    ValueKind,
    dotnet_value,
)

if TYPE_CHECKING:
    from toolkit.lab.windows.machine import WindowsMachine

REGISTRY_DENIED = "Requested registry access is not allowed."
# What .NET throws on a handle whose key was deleted under it.
KEY_DELETED = "Illegal operation attempted on a registry key that has been marked for deletion."
READ_ONLY = "Cannot write to the registry key."
# The DACL of a typical HKLM\SOFTWARE key (Users read, Administrators/SYSTEM/CREATOR OWNER full, app
# packages read); representative, UNCONFIRMED per key.
DEFAULT_SDDL = "D:AI(A;CIID;KR;;;BU)(A;CIID;KA;;;BA)(A;CIID;KA;;;SY)(A;CIIOID;KA;;;CO)(A;CIID;KR;;;AC)"


def _kind_name(kind: Any) -> ValueKind:
    text = str(getattr(kind, "name", kind))
    known = {k.lower(): k for k in VALUE_KINDS}  # RegistryValueKind's Unknown and None are not writable
    if text.lower() not in known:
        dotnet_throw("System.ArgumentException", f"The specified RegistryValueKind is an invalid value: {text}")
    return known[text.lower()]


def _infer(value: Any) -> tuple[ValueKind, Any]:
    if isinstance(value, bool):
        return "String", str(value)
    if isinstance(value, int) and -(2**31) <= value < 2**31:
        return "DWord", value & 0xFFFFFFFF
    if isinstance(value, (bytes, bytearray)):
        return "Binary", bytes(value)
    if isinstance(value, (list, tuple)):
        return "MultiString", [str(v) for v in value]
    return "String", str(value)


def _convert(kind: str, value: Any) -> Any:
    if kind in ("DWord", "QWord"):
        return int(value) & (0xFFFFFFFF if kind == "DWord" else 0xFFFFFFFFFFFFFFFF)
    if kind == "Binary":
        return bytes(value)
    if kind == "MultiString":
        return [str(v) for v in (value if isinstance(value, (list, tuple)) else [value])]
    return str(value)


class LiveKey:
    """A registry key handle: every call reads or writes the registry now, through its view and token."""

    def __init__(self, machine: WindowsMachine, path: ProviderPath, bits: int, writable: bool) -> None:
        self.machine = machine
        self.path = path
        self.bits = bits
        self.writable = writable

    @property
    def registry(self) -> Registry:
        return self.machine.state.registry

    def node(self) -> RegKey:
        try:
            return self.registry.open(self.path.path, self.bits, self.machine.token)
        except RegistryError as exc:
            if exc.kind == "access_denied":
                dotnet_throw("System.Security.SecurityException", REGISTRY_DENIED)
            dotnet_throw("System.IO.IOException", KEY_DELETED)

    def _write(self, action: Any) -> Any:
        if not self.writable:
            dotnet_throw("System.UnauthorizedAccessException", READ_ONLY)
        try:
            return action()
        except RegistryError as exc:
            if exc.kind == "not_found":
                dotnet_throw("System.IO.IOException", KEY_DELETED)
            dotnet_throw(
                "System.UnauthorizedAccessException", f"Access to the registry key '{self.path.path}' is denied."
            )

    def _value(self, name: Any) -> Any:
        return self.node().values.get(("" if name is None else str(name)).lower())

    def get_value(self, name: Any, default: Any = None, options: Any = None) -> Any:
        found = self._value(name)
        if found is None:
            return default
        expand = "donotexpand" not in str(getattr(options, "name", options) or "").lower()
        return dotnet_value(found, expand, dict(self.machine.environment()))

    def get_kind(self, name: Any) -> DotNetEnum:
        found = self._value(name)
        if found is None:
            dotnet_throw("System.IO.IOException", "The specified registry key does not exist.")
        return DotNetEnum("Microsoft.Win32.RegistryValueKind", found.kind, VALUE_KIND_NUMBERS[found.kind])

    def open_sub_key(self, name: Any, writable: Any = False) -> DotNetObject | None:
        """OpenSubKey: None when missing, SecurityException when not allowed."""
        child = self.path.join(str(name)) if str(name) else self.path
        try:
            self.registry.open(child.path, self.bits, self.machine.token, write=bool(writable))
        except RegistryError as exc:
            if exc.kind == "access_denied":
                dotnet_throw("System.Security.SecurityException", REGISTRY_DENIED)
            return None
        return registry_key(self.machine, child, self.bits, writable=bool(writable))

    def create_sub_key(self, name: Any, *_: Any) -> DotNetObject:
        child = self.path.join(str(name))
        self._write(lambda: self.registry.create(child.path, self.bits, self.machine.token))
        return registry_key(self.machine, child, self.bits, writable=True)

    def set_value(self, name: Any, value: Any, kind: Any = None) -> None:
        chosen, data = _infer(value) if kind is None else (_kind_name(kind), None)
        data = data if kind is None else _convert(chosen, value)
        self._write(
            lambda: self.registry.set_value(
                self.path.path, self.bits, self.machine.token, "" if name is None else str(name), chosen, data
            )
        )

    def delete_value(self, name: Any, throw: Any = True) -> None:
        if self._value(name) is None:
            if throw:
                dotnet_throw("System.ArgumentException", "No value exists with that name.")
            return
        self._write(lambda: self.registry.remove_value(self.path.path, self.bits, self.machine.token, str(name)))

    def delete_sub_key(self, name: Any, throw: Any = True, tree: bool = True) -> None:
        child = self.path.join(str(name))
        node = self.registry.lookup(child.path, self.bits, self.machine.token)
        if node is None:
            if throw:
                dotnet_throw(
                    "System.ArgumentException", "Cannot delete a subkey tree because the subkey does not exist."
                )
            return
        if not tree and node.subkeys:
            dotnet_throw(
                "System.InvalidOperationException",
                "Registry key has subkeys and recursive removes are not supported by this method.",
            )
        self._write(lambda: self.registry.delete(child.path, self.bits, self.machine.token, recurse=True))

    def get_access_control(self, *_: Any) -> DotNetObject:
        node = self.node()
        return registry_security(getattr(node, "sddl", None) or DEFAULT_SDDL)

    def set_access_control(self, security: Any) -> None:
        sddl = security.lab.get("sddl") if isinstance(security, DotNetObject) else None
        if not isinstance(sddl, dict) or not sddl.get("value"):
            dotnet_throw("System.ArgumentNullException", "Value cannot be null.\r\nParameter name: registrySecurity")
        if not self.machine.token.is_admin:
            dotnet_throw("System.UnauthorizedAccessException", "Attempted to perform an unauthorized operation.")
        node = self.node()
        self._write(lambda: setattr(node, "sddl", sddl["value"]))


def registry_security(sddl: str | None = None) -> DotNetObject:
    """A RegistrySecurity: only its SDDL form is modelled."""
    holder = {"value": sddl}

    def get_form(*_: Any) -> str:
        value = holder["value"] or ""
        return value[value.index("D:") :] if "D:" in value else value

    def set_form(text: Any, *_: Any) -> None:
        holder["value"] = str(text)

    security = DotNetObject(
        ["System.Security.AccessControl.RegistrySecurity", "System.Security.AccessControl.NativeObjectSecurity"],
        {"Sddl": lambda: holder["value"]},
        {"GetSecurityDescriptorSddlForm": get_form, "SetSecurityDescriptorSddlForm": set_form},
        to_string="System.Security.AccessControl.RegistrySecurity",
    )
    security.lab["sddl"] = holder
    return security


def registry_key(
    machine: WindowsMachine, path: ProviderPath, view: int | None = None, writable: bool = False
) -> DotNetObject:
    """A live RegistryKey for ``path`` (``HKEY_...\\\\X``) in ``view`` (default: the process's own)."""
    bits = view or machine.view
    key = LiveKey(machine, path, bits, writable)
    view_name = "Registry64" if bits == 64 else "Registry32"
    properties: dict[str, Any] = {
        "Name": path.path,
        "SubKeyCount": lambda: len(key.node().subkeys),
        "ValueCount": lambda: len(key.node().values),
        "Property": lambda: [v.name or "(default)" for v in key.node().values.values()],
        "View": DotNetEnum("Microsoft.Win32.RegistryView", view_name, 256 if bits == 64 else 512),
        **ps_properties_of(path, True),
    }
    return DotNetObject(
        ["Microsoft.Win32.RegistryKey", "System.MarshalByRefObject"],
        properties,
        {
            "GetValueNames": lambda: [v.name for v in key.node().values.values()],
            "GetValue": key.get_value,
            "GetValueKind": key.get_kind,
            "GetSubKeyNames": lambda: [k.name for k in key.node().subkeys.values()],
            "OpenSubKey": key.open_sub_key,
            "CreateSubKey": key.create_sub_key,
            "SetValue": key.set_value,
            "DeleteValue": key.delete_value,
            "DeleteSubKey": lambda name, throw=True: key.delete_sub_key(name, throw, tree=False),
            "DeleteSubKeyTree": lambda name, throw=True: key.delete_sub_key(name, throw, tree=True),
            "GetAccessControl": key.get_access_control,
            "SetAccessControl": key.set_access_control,
            "Close": lambda: None,
            "Dispose": lambda: None,
            "Flush": lambda: None,
            "ToString": lambda: path.path,
        },
        to_string=path.path,
    )
