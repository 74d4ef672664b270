"""One process on the simulated Windows machine: the :class:`~toolkit.lab.powershell.contract.Machine` the engine
runs a script on.

A :class:`WindowsMachine` is a token (who runs, elevated or not) and a bitness over a shared
:class:`~toolkit.lab.windows.state.WindowsState`. The WinRM session, a SYSTEM scheduled task and a user's
sign-in task are three machines over one state. Events between scripts (a user signs in, the agent syncs,
the laptop goes on battery) are methods here, implemented in :mod:`toolkit.lab.windows.lifecycle`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from toolkit.lab.powershell.contract import CaseInsensitiveDict, CommandSpec, DotNetObject, NativeResult
from toolkit.lab.windows import lifecycle
from toolkit.lab.windows.security import SYSTEM, Token, system_token
from toolkit.lab.windows.state import WindowsState

TaskRunner = Callable[[Any, str, list[str]], int]
CommandRunner = Callable[[Any, str], int]


def _version(text: str) -> DotNetObject:
    """A System.Version (``$PSVersionTable.PSVersion.Major`` works; ``[string]`` gives the dotted text)."""
    parts = [int(p) for p in text.split(".") if p.isdigit()] + [-1, -1, -1, -1]
    return DotNetObject(
        ["System.Version"],
        {"Major": parts[0], "Minor": parts[1], "Build": parts[2], "Revision": parts[3]},
        {"ToString": lambda *_: text},
        to_string=text,
    )


class WindowsMachine:
    """The simulated Windows machine as one PowerShell process sees it."""

    def __init__(self, state: WindowsState, token: Token, is_64bit_process: bool = True) -> None:
        self.state = state
        self.token = token
        # A 32-bit process exists only on 64-bit Windows through WOW64; on 32-bit Windows every process is 32-bit.
        self.is_64bit_process = is_64bit_process and state.is_64bit_os
        self._commands: dict[str, CommandSpec] | None = None
        # The current location (Get-Location): a remote session starts in the user's Documents folder
        # (about_Locations); a task's process in its action's working directory.
        self.location: str = self.environment()["USERPROFILE"] + "\\Documents"

    # ------------------------------------------------------------------ views
    @property
    def view(self) -> int:
        """The registry view (64 or 32) this process reaches by default."""
        return 64 if self.is_64bit_process else 32

    @property
    def task_runner(self) -> TaskRunner | None:
        """Runs ``powershell.exe -File script args`` for a scheduled task: ``(machine, path, args) -> exit code``.

        The lab's engine sets it; the machine cannot run PowerShell itself. Shared by every view of the state.
        """
        return self.state.task_runner

    @task_runner.setter
    def task_runner(self, runner: TaskRunner | None) -> None:
        self.state.task_runner = runner

    @property
    def command_runner(self) -> CommandRunner | None:
        """Runs an inline ``powershell.exe -EncodedCommand``/``-Command`` script for a scheduled task:
        ``(machine, script_text) -> exit code``. Set by the lab's engine, like :attr:`task_runner`."""
        return self.state.command_runner

    @command_runner.setter
    def command_runner(self, runner: CommandRunner | None) -> None:
        self.state.command_runner = runner

    def as_process(self, token: Token, is_64bit_process: bool = True) -> WindowsMachine:
        """Another process on the same machine (a task's principal, a user's session)."""
        return WindowsMachine(self.state, token, is_64bit_process)

    def as_system(self) -> WindowsMachine:
        """A 64-bit process running as LocalSystem (what a SYSTEM scheduled task gets)."""
        return WindowsMachine(self.state, system_token(), True)

    # ------------------------------------------------------------------ the Machine protocol
    def commands(self) -> Mapping[str, CommandSpec]:
        """Every command of this process; the LocalAccounts module is missing in a 32-bit process
        ("not available in 32-bit PowerShell on a 64-bit system": every LocalAccounts cmdlet page)."""
        if self._commands is None:
            from toolkit.lab.windows.catalog import all_commands

            specs = all_commands()
            if not self.is_64bit_process:
                specs = [s for s in specs if s.module != "Microsoft.PowerShell.LocalAccounts"]
            self._commands = {s.name.lower(): s for s in specs}
        return self._commands

    def environment(self) -> Mapping[str, str]:
        """The environment block as this process sees it (WOW64 changes ProgramFiles and the processor
        variables: learn.microsoft.com/windows/win32/winprog64/wow64-implementation-details)."""
        is_system = self.token.user == SYSTEM
        user = self.state.lookup_sid(self.token.user) or ("", "user")
        profile = "C:\\Windows\\system32\\config\\systemprofile" if is_system else f"C:\\Users\\{user[1]}"
        env = {
            "ALLUSERSPROFILE": "C:\\ProgramData",
            "APPDATA": profile + "\\AppData\\Roaming",
            "CommonProgramFiles": "C:\\Program Files\\Common Files",
            "CommonProgramFiles(x86)": "C:\\Program Files (x86)\\Common Files",
            "CommonProgramW6432": "C:\\Program Files\\Common Files",
            "COMPUTERNAME": self.state.netbios_name,
            "ComSpec": "C:\\Windows\\system32\\cmd.exe",
            "LOCALAPPDATA": profile + "\\AppData\\Local",
            "NUMBER_OF_PROCESSORS": "2",
            "OS": "Windows_NT",
            "Path": "C:\\Windows\\system32;C:\\Windows;C:\\Windows\\System32\\Wbem;"
            "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\",
            "PATHEXT": ".COM;.EXE;.BAT;.CMD;.VBS;.VBE;.JS;.JSE;.WSF;.WSH;.MSC;.CPL",
            "PROCESSOR_ARCHITECTURE": "AMD64",
            "ProgramData": "C:\\ProgramData",
            "ProgramFiles": "C:\\Program Files",
            "ProgramFiles(x86)": "C:\\Program Files (x86)",
            "ProgramW6432": "C:\\Program Files",
            "PSModulePath": "C:\\Program Files\\WindowsPowerShell\\Modules;"
            "C:\\Windows\\system32\\WindowsPowerShell\\v1.0\\Modules",
            "PUBLIC": "C:\\Users\\Public",
            "SystemDrive": "C:",
            "SystemRoot": "C:\\Windows",
            "TEMP": "C:\\Windows\\TEMP" if is_system else profile + "\\AppData\\Local\\Temp",
            "TMP": "C:\\Windows\\TEMP" if is_system else profile + "\\AppData\\Local\\Temp",
            "USERDOMAIN": user[0] if not is_system else "WORKGROUP",
            "USERNAME": f"{self.state.netbios_name}$" if is_system else user[1],
            "USERPROFILE": profile,
            "windir": "C:\\Windows",
        }
        if not self.state.is_64bit_os:
            for name in ("ProgramFiles(x86)", "ProgramW6432", "CommonProgramFiles(x86)", "CommonProgramW6432"):
                env.pop(name)
            env["PROCESSOR_ARCHITECTURE"] = "x86"
        elif not self.is_64bit_process:
            env["ProgramFiles"] = "C:\\Program Files (x86)"
            env["CommonProgramFiles"] = "C:\\Program Files (x86)\\Common Files"
            env["PROCESSOR_ARCHITECTURE"] = "x86"
            env["PROCESSOR_ARCHITEW6432"] = "AMD64"
        return CaseInsensitiveDict(env)

    def automatic_variables(self) -> Mapping[str, Any]:
        """``$PSHOME`` (SysWOW64 in a 32-bit process), ``$PSVersionTable``, ``$PSCulture``/``$PSUICulture``."""
        system_dir = "System32" if self.is_64bit_process or not self.state.is_64bit_os else "SysWOW64"
        return CaseInsensitiveDict(
            {
                "PSHOME": f"C:\\Windows\\{system_dir}\\WindowsPowerShell\\v1.0",
                "PSVersionTable": CaseInsensitiveDict(
                    {
                        "PSVersion": _version(self.state.ps_version),
                        "PSEdition": "Desktop",
                        "BuildVersion": self.state.os_version,
                        "CLRVersion": "4.0.30319.42000",
                        "WSManStackVersion": "3.0",
                        "PSRemotingProtocolVersion": "2.3",
                        "SerializationVersion": "1.1.0.1",
                        "PSCompatibleVersions": ["1.0", "2.0", "3.0", "4.0", "5.0", "5.1"],
                    }
                ),
                "PSCulture": self.state.language,
                "PSUICulture": self.state.language,
            }
        )

    def static_member(self, type_name: str, member: str) -> Any:
        from toolkit.lab.windows.dotnet import static_member

        return static_member(self, type_name, member)

    def new_object(self, type_name: str, args: list[Any]) -> Any:
        from toolkit.lab.windows.dotnet import new_object

        return new_object(self, type_name, args)

    def run_native(self, path: str, args: list[str]) -> NativeResult:
        from toolkit.lab.windows.natives import run_native

        return run_native(self, path, list(args))

    def now(self) -> datetime:
        return self.state.clock

    # ------------------------------------------------------------------ script files
    def read_script(self, path: str) -> str:
        """A script file's text as powershell.exe -File reads it, as this process (BOM: that encoding;
        none: the ANSI code page in 5.1). Raises FsError when it cannot be read."""
        from toolkit.lab.windows.encoding import decode_text
        from toolkit.lab.windows.filesystem import redirect

        data = self.state.fs.read(redirect(path, self.is_64bit_process), self.token)
        return decode_text(data, None)

    # ------------------------------------------------------------------ events between scripts
    def sign_in(self, user: str) -> list[str]:
        """``user`` signs in: a new session with its shell, the profile loads, its logon tasks run."""
        return lifecycle.sign_in(self, user)

    def sign_out(self, user: str, profile_lingers: bool = False) -> None:
        """``user`` signs out: the session ends, the profile unloads (unless ``profile_lingers``: the hive can
        stay loaded a while), a Hello container marked for deletion goes."""
        lifecycle.sign_out(self, user, profile_lingers)

    def reenrol_pin(self, user: str) -> None:
        """``user`` sets up a Windows Hello PIN again."""
        lifecycle.enrol_pin(self.state, user)

    def agent_sync(self) -> list[str]:
        """The JumpCloud agent syncs: due accounts are created and managedUsers.json rewritten."""
        return lifecycle.agent_sync(self.state)

    def set_on_battery(self, on_battery: bool) -> None:
        """Unplug or plug in the laptop (tasks that stop on batteries stop)."""
        self.state.on_battery = on_battery

    def deny_registry_writes(self, physical_path: str) -> None:
        """Inject a failure from now on: writes to this key (values, subkeys, deletion) are denied."""
        self.state.registry.denied_writes.add(physical_path.lower())
        self.state.faults.denied_registry_writes.append(physical_path)

    def advance(self, seconds: float) -> list[str]:
        """Let time pass: delayed logon runs fall due, expired tasks with DeleteExpiredTaskAfter are deleted.
        Returns the deleted task names."""
        return lifecycle.advance(self, seconds)
