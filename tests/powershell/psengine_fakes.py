"""A small fake Machine for the engine's tests: a few commands with the shapes Windows gives them.

It is deliberately tiny and independent of the simulated Windows machine (toolkit/lab/windows): the engine's
tests check the *language*, so the commands here only need the behaviours the language tests observe
(ShouldProcess, non-terminating and terminating errors, pipeline input, CDXML vs cmdlet preferences).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from toolkit.lab.powershell.contract import (
    CaseInsensitiveDict,
    CommandCall,
    CommandError,
    CommandParameter,
    CommandSpec,
    DotNetEnum,
    DotNetObject,
    ErrorSpec,
    NativeResult,
)

P = CommandParameter


class FakeMachine:
    """Processes with owners, a registry-like item store, a native program table, a settable clock."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}
        self.files: dict[str, bytes] = {}
        self.registry: dict[str, dict[str, Any]] = {}
        self.elevated = True
        self.processes = [("explorer.exe", 2, "alice"), ("svchost.exe", 0, "SYSTEM"), ("dwm.exe", 2, "DWM-2")]
        self.sids = {"alice": "S-1-5-21-1-1001", "SYSTEM": "S-1-5-18", "DWM-2": "S-1-5-90-0-2"}
        self.native: dict[str, NativeResult] = {}
        self.native_calls: list[tuple[str, list[str]]] = []
        self.clock = datetime(2026, 11, 30, 12, 0, 0, tzinfo=timezone.utc)
        self.slept = 0.0
        self.env = CaseInsensitiveDict({"COMPUTERNAME": "LAB-PC", "ProgramFiles": "C:\\Program Files",
                                        "ProgramData": "C:\\ProgramData", "SystemRoot": "C:\\Windows"})
        self.has_local_accounts = True
        self.renamed: list[tuple[str, str]] = []
        self.cdxml_seen: list[tuple[bool, str]] = []
        self.services: dict[str, str] = {"jumpcloud-agent": "Running"}
        self._commands = self._build_commands()

    # ----------------------------------------------------------------------------- the Machine protocol
    def commands(self) -> Mapping[str, CommandSpec]:
        found = dict(self._commands)
        if not self.has_local_accounts:
            found.pop("get-localuser", None)
        return found

    def environment(self) -> Mapping[str, str]:
        return self.env

    def automatic_variables(self) -> Mapping[str, Any]:
        return {"PSVersionTable": CaseInsensitiveDict({"PSVersion": "5.1.19041.4648"}), "PSHOME": "C:\\WINDOWS"}

    def static_member(self, type_name: str, member: str) -> Any:
        statics: dict[str, dict[str, Any]] = {
            "system.environment": {"is64bitprocess": True, "is64bitoperatingsystem": True, "machinename": "LAB-PC",
                                   "getfolderpath": lambda folder: {"commonapplicationdata": "C:\\ProgramData"}[
                                       str(folder).lower()]},
            "system.security.principal.windowsidentity": {"getcurrent": lambda: DotNetObject(
                ["System.Security.Principal.WindowsIdentity"], {"Name": "LAB-PC\\Administrator"})},
            "microsoft.win32.registrykey": {"openbasekey": lambda hive, view: self._key("")},
            "system.io.file": {"exists": lambda path: str(path) in self.files,
                               "readalltext": lambda path, *rest: self.files[str(path)].decode("utf-8")},
        }
        table = statics.get(type_name.lower(), {})
        if member.lower() in table:
            return table[member.lower()]
        raise KeyError(member)

    def new_object(self, type_name: str, args: list[Any]) -> Any:
        if type_name == "System.Security.Principal.SecurityIdentifier":
            return DotNetObject([type_name], {"Value": args[0]}, to_string=args[0])
        if type_name == "System.Security.Principal.WindowsPrincipal":
            return DotNetObject([type_name], {}, {"IsInRole": lambda role: self.elevated})
        if type_name == "System.IO.FileStream":
            return self._stream(self.files[str(args[0])])
        raise KeyError(type_name)

    def _key(self, path: str) -> DotNetObject | None:
        """A registry key of the 64-bit HKLM view (the fake has one view: enough for the engine's tests)."""
        if path and path.lower() not in (k.lower() for k in self.registry):
            return None
        values = next((v for k, v in self.registry.items() if k.lower() == path.lower()), {})
        return DotNetObject(["Microsoft.Win32.RegistryKey"], {"Name": "HKEY_LOCAL_MACHINE\\" + path}, {
            "OpenSubKey": lambda sub, writable=False: self._key(f"{path}\\{sub}".strip("\\")),
            "GetValue": lambda name, default=None, options=None: values.get(name, default),
            "GetValueNames": lambda: list(values),
            "Dispose": lambda: None,
        })

    def _stream(self, data: bytes) -> DotNetObject:
        state = {"position": 0}

        def read(buffer: bytearray, offset: int, count: int) -> int:
            chunk = data[state["position"] : state["position"] + count]
            buffer[offset : offset + len(chunk)] = chunk
            state["position"] += len(chunk)
            return len(chunk)

        def seek(offset: int, origin: Any) -> int:
            state["position"] = int(offset)
            return state["position"]

        return DotNetObject(["System.IO.FileStream"], {"Length": len(data)},
                            {"Read": read, "Seek": seek, "Dispose": lambda: None})

    def run_native(self, path: str, args: list[str]) -> NativeResult:
        self.native_calls.append((path, args))
        return self.native.get(path.lower(), NativeResult(0))

    def now(self) -> datetime:
        return self.clock

    def sleep(self, seconds: float) -> None:
        self.slept += seconds
        self.clock += timedelta(seconds=seconds)

    # ---------------------------------------------------------------------------------------- commands
    def _build_commands(self) -> dict[str, CommandSpec]:
        specs = [
            CommandSpec("Get-CimInstance", "CimCmdlets", "cmdlet",
                        (P("ClassName", "string", 0), P("Filter", "string")), False, self._get_cim),
            CommandSpec("Invoke-CimMethod", "CimCmdlets", "cmdlet",
                        (P("InputObject", "object", pipeline=True), P("MethodName", "string", 1),
                         P("Arguments", "hashtable")), True, self._invoke_cim),
            CommandSpec("Get-Item", "Microsoft.PowerShell.Management", "cmdlet",
                        (P("Path", "string[]", 0), P("LiteralPath", "string[]")), False, self._get_item),
            CommandSpec("Test-Path", "Microsoft.PowerShell.Management", "cmdlet",
                        (P("Path", "string[]", 0), P("LiteralPath", "string[]")), False, self._test_path),
            CommandSpec("Get-Content", "Microsoft.PowerShell.Management", "cmdlet",
                        (P("Path", "string[]", 0), P("LiteralPath", "string[]"), P("Raw", "switch"),
                         P("Tail", "int")), False, self._get_content),
            CommandSpec("Remove-Item", "Microsoft.PowerShell.Management", "cmdlet",
                        (P("Path", "string[]", 0), P("LiteralPath", "string[]"), P("Force", "switch"),
                         P("Recurse", "switch")), True, self._remove_item),
            CommandSpec("Get-LocalUser", "Microsoft.PowerShell.LocalAccounts", "cmdlet",
                        (P("Name", "string[]", 0),), False, self._get_local_user),
            CommandSpec("Rename-LocalUser", "Microsoft.PowerShell.LocalAccounts", "cmdlet",
                        (P("SID", "string"), P("NewName", "string", 1, mandatory=True)), True, self._rename),
            CommandSpec("Get-Service", "Microsoft.PowerShell.Management", "cmdlet",
                        (P("Name", "string[]", 0),), False, self._get_service),
            CommandSpec("Get-ItemProperty", "Microsoft.PowerShell.Management", "cmdlet",
                        (P("Path", "string[]", 0), P("LiteralPath", "string[]"), P("Name", "string[]", 1)), False,
                        self._get_item_property),
            CommandSpec("Get-ScheduledTask", "ScheduledTasks", "cdxml",
                        (P("TaskName", "string[]", 0), P("TaskPath", "string[]")), False, self._get_task),
            CommandSpec("Unregister-ScheduledTask", "ScheduledTasks", "cdxml",
                        (P("TaskName", "string[]", 0), P("TaskPath", "string[]"), P("Confirm", "switch")), True,
                        self._unregister_task),
        ]
        return {spec.name.lower(): spec for spec in specs}

    def _process(self, name: str, session: int, user: str) -> DotNetObject:
        return DotNetObject(["Microsoft.Management.Infrastructure.CimInstance#root/cimv2/Win32_Process"],
                            {"Name": name, "SessionId": session, "_owner": user})

    def _get_cim(self, call: CommandCall) -> Iterator[Any]:
        cls = str(call.bound.get("ClassName", ""))
        if cls == "Win32_Process":
            wanted = str(call.bound.get("Filter", ""))
            for name, session, user in self.processes:
                if not wanted or name in wanted or (wanted == "SessionId > 0" and session > 0):
                    yield self._process(name, session, user)
        elif cls == "Win32_OperatingSystem":
            yield DotNetObject(["Win32_OperatingSystem"], {"Caption": "Microsoft Windows 11 Pro",
                                                           "Version": "10.0.22631"})
        elif cls == "Win32_UserProfile":
            yield DotNetObject(["Win32_UserProfile"], {"SID": "S-1-5-21-1-1001", "LocalPath": "C:\\Users\\alice",
                                                       "Loaded": True, "Special": False})
        elif cls == "Win32_UserAccount":
            yield DotNetObject(["Win32_UserAccount"], {"Name": "alice", "FullName": "Alice", "SID": "S-1-5-21-1-1001",
                                                       "Disabled": False, "Description": ""})

    def _invoke_cim(self, call: CommandCall) -> Iterator[Any]:
        # Invoke-CimMethod skips the method when ShouldProcess says no (fact sheet §8).
        target = call.bound["InputObject"] if "InputObject" in call.bound else (call.input or [None])[0]
        method = str(call.bound["MethodName"])
        if not call.should_process(f"Win32_Process (Handle = \"{target.get('Name')}\")", method):
            return
        if method == "GetOwnerSid":
            yield DotNetObject(["Microsoft.Management.Infrastructure.CimMethodResult#Win32_Process#GetOwnerSid"],
                               {"ReturnValue": 0, "Sid": self.sids[target.get("_owner")]})
        if method == "GetOwner":
            yield DotNetObject(["Microsoft.Management.Infrastructure.CimMethodResult#Win32_Process#GetOwner"],
                               {"ReturnValue": 0, "User": target.get("_owner"), "Domain": "LAB-PC"})

    def _get_item(self, call: CommandCall) -> Iterator[Any]:
        for path in call.bound.get("LiteralPath") or call.bound.get("Path") or []:
            if path.lower() in (k.lower() for k in self.items):
                key = next(k for k in self.items if k.lower() == path.lower())
                yield DotNetObject(["Microsoft.Win32.RegistryKey"], {"Name": key, **self.items[key]})
            else:
                call.write_error(ErrorSpec(f"Cannot find path '{path}' because it does not exist.", "PathNotFound",
                                           "ObjectNotFound", "System.Management.Automation.ItemNotFoundException",
                                           path))

    def _get_service(self, call: CommandCall) -> Iterator[Any]:
        for name in call.bound.get("Name") or []:
            if name.lower() in self.services:
                yield DotNetObject(["System.ServiceProcess.ServiceController"], {
                    "Name": name, "Status": DotNetEnum("System.ServiceProcess.ServiceControllerStatus",
                                                       self.services[name.lower()], 4)})
            else:
                call.write_error(ErrorSpec(f"Cannot find any service with service name '{name}'.",
                                           "NoServiceFoundForGivenName", "ObjectNotFound",
                                           "Microsoft.PowerShell.Commands.ServiceCommandException", name))

    def _get_item_property(self, call: CommandCall) -> Iterator[Any]:
        from toolkit.lab.powershell.values import PSObject

        for path in call.bound.get("LiteralPath") or call.bound.get("Path") or []:
            values = self.items.get(path)
            if values is None:
                call.write_error(ErrorSpec(f"Cannot find path '{path}' because it does not exist.", "PathNotFound",
                                           "ObjectNotFound", "System.Management.Automation.ItemNotFoundException",
                                           path))
                continue
            yield PSObject([*values.items(), ("PSPath", path)])

    def _test_path(self, call: CommandCall) -> Iterator[bool]:
        for path in call.bound.get("LiteralPath") or call.bound.get("Path") or []:
            yield any(k.lower() == path.lower() for k in [*self.items, *self.files])

    def _get_content(self, call: CommandCall) -> Iterator[str]:
        for path in call.bound.get("LiteralPath") or call.bound.get("Path") or []:
            data = self.files.get(path)
            if data is None:
                raise CommandError(ErrorSpec(f"Cannot find path '{path}' because it does not exist.",
                                             "PathNotFound", "ObjectNotFound",
                                             "System.Management.Automation.ItemNotFoundException", path))
            text = data.decode("utf-8")
            if call.bound.get("Raw"):
                yield text
            else:
                lines = text.splitlines()
                yield from lines[-call.bound["Tail"]:] if "Tail" in call.bound else lines

    def _remove_item(self, call: CommandCall) -> None:
        for path in call.bound.get("LiteralPath") or call.bound.get("Path") or []:
            if call.should_process(path, "Remove Directory"):
                self.items.pop(path, None)

    def _get_local_user(self, call: CommandCall) -> Iterator[Any]:
        sid = DotNetObject(["System.Security.Principal.SecurityIdentifier"], {"Value": "S-1-5-21-1-1001"},
                           to_string="S-1-5-21-1-1001")
        yield DotNetObject(["Microsoft.PowerShell.Commands.LocalUser"], {
            "Name": "alice", "FullName": "Alice", "SID": sid, "Enabled": True, "Description": "", "LastLogon": None,
            "PrincipalSource": DotNetEnum("Microsoft.PowerShell.Commands.PrincipalSource", "Local", 1)},
            to_string="alice")

    def _rename(self, call: CommandCall) -> None:
        if call.should_process(str(call.bound.get("SID")), "Rename local user"):
            self.renamed.append((str(call.bound.get("SID")), str(call.bound["NewName"])))

    def _get_task(self, call: CommandCall) -> Iterator[Any]:
        self.cdxml_seen.append((call.whatif, call.error_action))
        for name in call.bound.get("TaskName") or []:
            call.write_error(ErrorSpec(f"No MSFT_ScheduledTask objects found with property 'TaskName' equal to "
                                       f"'{name}'.  Verify the value of the property and retry.",
                                       "CmdletizationQuery_NotFound_TaskName", "ObjectNotFound",
                                       "Microsoft.Management.Infrastructure.CimException", name))
        return iter(())

    def _unregister_task(self, call: CommandCall) -> None:
        self.cdxml_seen.append((call.whatif, call.error_action))
