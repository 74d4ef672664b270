"""Machine-bound .NET types: ``[Environment]``, ``[Microsoft.Win32.RegistryKey]``, ``[Security.Principal.
WindowsIdentity]``, the constructors of the security types, and the dispatch to ``[IO.Directory]``/``[IO.File]``/
``[IO.Path]`` (:mod:`toolkit.lab.windows.dotnet_io`) (learn.microsoft.com/dotnet/api, .NET Framework 4.x as
Windows PowerShell 5.1 runs on it). A member this module does not provide raises KeyError, so the engine
falls back to its pure types.

- ``RegistryKey.OpenBaseKey(hive, 'Registry64')`` opens the 64-bit view from a 32-bit process on 64-bit
  Windows (learn.microsoft.com/windows/win32/winprog64/accessing-an-alternate-registry-view).
- ``WindowsPrincipal.IsInRole`` checks the token's enabled groups: a filtered token is not an administrator.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from toolkit.lab.powershell.contract import DotNetEnum, DotNetObject
from toolkit.lab.windows import providers as pv
from toolkit.lab.windows import security as sec
from toolkit.lab.windows.dotnet_io import (
    directory_members,
    file_members,
    fs_error,
    physical_path,
    temp_file,
    temp_path,
)
from toolkit.lab.windows.dotnet_security import (
    acl_object,
    new_access_rule,
    nt_account,
    security_identifier,
)
from toolkit.lab.windows.errors import dotnet_throw
from toolkit.lab.windows.filesystem import FsError
from toolkit.lab.windows.items import file_item
from toolkit.lab.windows.registry import expand_environment
from toolkit.lab.windows.regkey import registry_key, registry_security

if TYPE_CHECKING:
    from toolkit.lab.windows.machine import WindowsMachine

HIVE_NAMES = {"localmachine": "HKEY_LOCAL_MACHINE", "users": "HKEY_USERS", "currentuser": "HKEY_CURRENT_USER"}
BUILTIN_ROLES = {"administrator": 544, "user": 545, "guest": 546, "poweruser": 547}


def canonical_type(name: str) -> str:
    """``[IO.Directory]`` / ``System.IO.Directory`` / ``io.directory`` -> ``system.io.directory``."""
    text = name.strip().strip("[]").lower()
    return text if text.startswith(("system.", "microsoft.")) else "system." + text


# ------------------------------------------------------------------------------------------- identity
def current_identity(machine: WindowsMachine) -> DotNetObject:
    """``[Security.Principal.WindowsIdentity]::GetCurrent()``."""
    state = machine.state
    token = machine.token
    domain, name = state.lookup_sid(token.user) or ("", token.user)
    return DotNetObject(
        ["System.Security.Principal.WindowsIdentity", "System.Security.Claims.ClaimsIdentity"],
        {
            "Name": f"{domain}\\{name}" if domain else name,
            "User": security_identifier(state, token.user),
            "Groups": [security_identifier(state, g) for g in sorted(token.groups)],
            "IsSystem": token.user == sec.SYSTEM,
            "IsAuthenticated": True,
            "AuthenticationType": "Kerberos" if token.user != sec.SYSTEM else "NTLM",
            "Owner": security_identifier(state, token.default_owner),
        },
        to_string="System.Security.Principal.WindowsIdentity",
    )


def windows_principal(machine: WindowsMachine, identity: Any) -> DotNetObject:
    """``New-Object Security.Principal.WindowsPrincipal($identity)``: IsInRole checks the token's ENABLED
    groups, so a filtered token is not in Administrators (KB 951016)."""
    token = machine.token

    def is_in_role(role: Any) -> bool:
        if isinstance(role, DotNetEnum):
            rid = role.value
        elif isinstance(role, DotNetObject) and "Value" in role.properties:
            return str(role.get("Value")) in token.sids()
        elif isinstance(role, int):
            rid = role
        elif str(role).upper().startswith("S-1-"):
            return str(role).upper() in token.sids()
        else:
            rid = BUILTIN_ROLES.get(str(role).lower().split("\\")[-1].rstrip("s"), -1)
        return f"S-1-5-32-{rid}" in token.sids()

    return DotNetObject(
        ["System.Security.Principal.WindowsPrincipal"], {"Identity": identity}, {"IsInRole": is_in_role}
    )


# ------------------------------------------------------------------------------------------- dispatch
def _environment_members(machine: WindowsMachine) -> dict[str, Any]:
    env = machine.environment()
    return {
        "Is64BitProcess": machine.is_64bit_process,
        "Is64BitOperatingSystem": machine.state.is_64bit_os,
        "MachineName": machine.state.netbios_name,
        "UserName": env["USERNAME"],
        "UserDomainName": env["USERDOMAIN"],
        "NewLine": "\r\n",
        "SystemDirectory": "C:\\Windows\\system32" if machine.is_64bit_process else "C:\\Windows\\SysWOW64",
        "GetEnvironmentVariable": lambda name, target=None: env.get(str(name)),
        "ExpandEnvironmentVariables": lambda text: expand_environment(str(text), dict(env)),
        "GetFolderPath": lambda folder, *_: special_folder(machine, folder),
    }


def special_folder(machine: WindowsMachine, folder: Any) -> str:
    """``[Environment]::GetFolderPath``: the known folders as this process sees them (ProgramFiles is the
    x86 folder in a 32-bit process: learn.microsoft.com/dotnet/api/system.environment.specialfolder)."""
    env = machine.environment()
    name = str(getattr(folder, "name", folder)).lower()
    table = {
        "commonapplicationdata": "C:\\ProgramData",
        "programfiles": env["ProgramFiles"],
        "programfilesx86": env.get("ProgramFiles(x86)") or env["ProgramFiles"],
        "commonprogramfiles": env["CommonProgramFiles"],
        "windows": "C:\\Windows",
        "system": "C:\\Windows\\system32",
        "systemx86": "C:\\Windows\\SysWOW64" if machine.state.is_64bit_os else "C:\\Windows\\system32",
        "userprofile": env["USERPROFILE"],
        "applicationdata": env["APPDATA"],
        "localapplicationdata": env["LOCALAPPDATA"],
    }
    if name not in table:
        dotnet_throw("System.ArgumentException", f"Illegal enum value: {name}.")
    return table[name]


def _registry_members(machine: WindowsMachine) -> dict[str, Any]:
    def open_base_key(hive: Any, view: Any) -> DotNetObject:
        name = HIVE_NAMES.get(str(hive).lower().replace("hkey_", "").replace("_", ""))
        if name is None:
            dotnet_throw("System.ArgumentException", "Registry HKEY was out of the legal range.")
        wanted = str(view).lower()
        bits = machine.view if wanted == "default" else (64 if wanted == "registry64" else 32)
        if not machine.state.is_64bit_os:
            bits = 32  # one view only on 32-bit Windows
        return registry_key(machine, pv.ProviderPath("registry", name), bits, writable=True)

    return {"OpenBaseKey": open_base_key}


def static_member(machine: WindowsMachine, type_name: str, member: str) -> Any:
    """``[Type]::Member`` for the machine-bound types; KeyError for anything else."""
    kind = canonical_type(type_name)
    tables: dict[str, Callable[[WindowsMachine], dict[str, Any]]] = {
        "system.environment": _environment_members,
        "system.io.directory": directory_members,
        "system.io.file": file_members,
        "microsoft.win32.registrykey": _registry_members,
        "system.security.principal.windowsidentity": lambda m: {"GetCurrent": lambda *_: current_identity(m)},
        "system.io.path": lambda m: {"GetTempFileName": lambda: temp_file(m), "GetTempPath": lambda: temp_path(m)},
        "microsoft.win32.registry": lambda m: {
            "LocalMachine": registry_key(m, pv.ProviderPath("registry", "HKEY_LOCAL_MACHINE")),
            "Users": registry_key(m, pv.ProviderPath("registry", "HKEY_USERS")),
        },
        "system.security.principal.windowsbuiltinrole": lambda m: {
            k.capitalize() if k != "poweruser" else "PowerUser": DotNetEnum(
                "System.Security.Principal.WindowsBuiltInRole", k.capitalize() if k != "poweruser" else "PowerUser", v
            )
            for k, v in BUILTIN_ROLES.items()
        },
    }
    if kind not in tables:
        raise KeyError(type_name)
    members = tables[kind](machine)
    lowered = {k.lower(): v for k, v in members.items()}
    if member.lower() not in lowered:
        raise KeyError(f"{type_name}::{member}")
    return lowered[member.lower()]


def new_object(machine: WindowsMachine, type_name: str, args: list[Any]) -> Any:
    """Constructors of the machine-bound types; KeyError for anything else."""
    kind = canonical_type(type_name)
    state = machine.state
    if kind in ("system.security.accesscontrol.directorysecurity", "system.security.accesscontrol.filesecurity"):
        is_dir = kind.endswith("directorysecurity")
        if args:
            try:
                return acl_object(
                    state, state.fs.read_sd(physical_path(machine, args[0]), machine.token), is_dir, str(args[0])
                )
            except FsError as exc:
                fs_error(exc, str(args[0]))
        return acl_object(state, None, is_dir)
    if kind == "system.security.accesscontrol.filesystemaccessrule":
        return new_access_rule(state, list(args))
    if kind == "system.security.principal.securityidentifier":
        return security_identifier(state, str(args[0]) if args else "")
    if kind == "system.security.principal.ntaccount":
        return nt_account(state, str(args[-1]), str(args[0]) if len(args) == 2 else None)
    if kind == "system.security.principal.windowsprincipal":
        return windows_principal(machine, args[0] if args else None)
    if kind == "system.security.accesscontrol.registrysecurity":
        return registry_security()
    if kind == "system.io.filestream":
        from toolkit.lab.windows.streams import open_stream

        return open_stream(
            machine,
            physical_path(machine, args[0]),
            args[1] if len(args) > 1 else None,
            args[2] if len(args) > 2 else None,
        )
    if kind in ("system.io.directoryinfo", "system.io.fileinfo"):
        physical = physical_path(machine, args[0])
        node = state.fs.node(physical)
        if node is None:
            dotnet_throw("System.IO.FileNotFoundException", f"Could not find file '{args[0]}'.")
        return file_item(machine, pv.ProviderPath("filesystem", physical), node)
    raise KeyError(type_name)
