"""The whole state of one simulated Windows machine, shared by every process that runs on it.

A :class:`toolkit.lab.windows.machine.WindowsMachine` is one process on this state (a token and a bitness);
the WinRM session's PowerShell, a SYSTEM scheduled task and a user's sign-in task all see the same state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from toolkit.lab.windows import security as sec
from toolkit.lab.windows.accounts import LocalAccount, Sam
from toolkit.lab.windows.filesystem import FileSystem
from toolkit.lab.windows.registry import Registry
from toolkit.lab.windows.tasks import ScheduledTask

LOGONUI = "HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Authentication\\LogonUI"
NGC_PIN_ROOT = LOGONUI + "\\NgcPin\\Credentials"
PIN_PROVIDER_GUID = "{D6886603-9D2F-4EB2-B667-1971041FA96B}"
PIN_PROVIDER_ROOT = (
    "HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Authentication\\Credential Providers\\"
    + PIN_PROVIDER_GUID
)
PICTURE_ROOT = LOGONUI + "\\PicturePassword"
NGC_STORE = "C:\\Windows\\ServiceProfiles\\LocalService\\AppData\\Local\\Microsoft\\Ngc"
AGENT_DIR = "C:\\Program Files\\JumpCloud"
AGENT_CONTRIB = AGENT_DIR + "\\Plugins\\Contrib"
AGENT_LOG = "C:\\Windows\\Temp\\jcagent.log"
AGENT_CONFIG_POINTER = "HKEY_LOCAL_MACHINE\\SOFTWARE\\JumpCloud\\JumpCloud Agent\\ConfigFile"
# The Description the agent gives the accounts it creates (fact sheet §0).
AGENT_CREATED_DESCRIPTION = "Created by Jumpcloud"


@dataclass
class Identity:
    """An account that is not in the local SAM (a domain or AzureAD user, a session's DWM/UMFD account)."""

    sid: str
    domain: str
    name: str


@dataclass
class Process:
    """A running process: Win32_Process with its owner."""

    pid: int
    name: str
    session_id: int
    owner_sid: str
    path: str = ""
    command_line: str = ""


@dataclass
class Profile:
    """A user profile: Win32_UserProfile."""

    sid: str
    local_path: str
    loaded: bool = False
    special: bool = False
    last_use_time: datetime | None = None


@dataclass
class Service:
    """A Windows service (Get-Service)."""

    name: str
    display_name: str
    status: str = "Running"
    start_type: str = "Automatic"


@dataclass
class HelloContainer:
    """One user's Windows Hello (NGC) container and its PIN; ``pending_delete`` after certutil in their context."""

    sid: str
    guid: str
    pending_delete: bool = False


@dataclass
class Provision:
    """An account the agent will create at a sync once ``due`` has passed."""

    username: str
    full_name: str
    due: datetime


@dataclass
class WindowsFaults:
    """Failures injected after a change (the scenario's ``windows_faults``)."""

    rename_readback_stale: bool = False  # renames apply, but reads keep showing the old name
    password_rejected: bool = False  # every password change is refused by the SAM
    denied_registry_writes: list[str] = field(default_factory=list)  # physical key paths


@dataclass
class WindowsState:
    """Everything on one machine."""

    hostname: str
    machine_sid: str
    registry: Registry
    fs: FileSystem
    sam: Sam
    os_caption: str = "Microsoft Windows 11 Pro"
    os_version: str = "10.0.22631"
    ps_version: str = "5.1.22621.2506"
    is_64bit_os: bool = True
    language: str = "en-US"
    clock: datetime = field(default_factory=lambda: datetime(2025, 1, 20, 9, 0, tzinfo=timezone.utc))
    on_battery: bool = False
    processes: list[Process] = field(default_factory=list)
    profiles: dict[str, Profile] = field(default_factory=dict)
    identities: dict[str, Identity] = field(default_factory=dict)
    services: dict[str, Service] = field(default_factory=dict)
    tasks: dict[tuple[str, str], ScheduledTask] = field(default_factory=dict)
    hello: dict[str, HelloContainer] = field(default_factory=dict)
    pin_markers: tuple[str, ...] = ("ngc_pin",)
    provisions: list[Provision] = field(default_factory=list)
    faults: WindowsFaults = field(default_factory=WindowsFaults)
    stale_names: dict[int, str] = field(default_factory=dict)
    next_pid: int = 4000
    next_session: int = 2
    task_runner: Callable[[Any, str, list[str]], int] | None = None
    command_runner: Callable[[Any, str], int] | None = None
    log: list[str] = field(default_factory=list)
    # Logon-triggered runs waiting for their trigger's Delay: (due, task key).
    delayed_runs: list[tuple[datetime, tuple[str, str]]] = field(default_factory=list)

    # ---------------------------------------------------------------- identities
    @property
    def netbios_name(self) -> str:
        """The computer name as GetOwner reports the domain of local accounts (upper case, 15 characters)."""
        return self.hostname.split(".")[0].upper()[:15]

    def lookup_sid(self, sid: str) -> tuple[str, str] | None:
        """``(domain, name)`` of a SID, as LookupAccountSid answers; None when unknown."""
        if sid in sec.WELL_KNOWN:
            return sec.WELL_KNOWN[sid]
        account = self.sam.by_sid(sid)
        if account is not None:
            return self.netbios_name, self.display_name(account)
        identity = self.identities.get(sid)
        return (identity.domain, identity.name) if identity else None

    def lookup_name(self, text: str) -> str | None:
        """The SID of ``NAME``, ``DOMAIN\\NAME`` or ``.\\NAME`` (local accounts first), as LookupAccountName does."""
        domain, _, name = text.rpartition("\\")
        lowered = domain.lower()
        if lowered in ("", ".", self.netbios_name.lower()):
            account = self.sam.by_name(name)
            if account is not None:
                return self.sam.sid_of(account)
        for group in self.sam.groups.values():
            if group.name.lower() == name.lower() and lowered in ("", "builtin"):
                return group.sid
        for sid, (well_domain, well_name) in sec.WELL_KNOWN.items():
            if well_name.lower() == name.lower() and lowered in ("", well_domain.lower()):
                return sid
        for identity in self.identities.values():
            if identity.name.lower() == name.lower() and lowered == identity.domain.lower():
                return identity.sid
        return None

    def display_name(self, account: LocalAccount) -> str:
        """The name reads return: the stale one while the read-back fault holds."""
        return self.stale_names.get(account.rid, account.name)

    # ---------------------------------------------------------------- sessions
    def spawn(self, name: str, session_id: int, owner_sid: str, path: str = "") -> Process:
        self.next_pid += 4
        process = Process(self.next_pid, name, session_id, owner_sid, path or f"C:\\Windows\\System32\\{name}")
        self.processes.append(process)
        return process

    def session_of(self, sid: str) -> int | None:
        """The interactive session a user is signed in to (owns a process in a session > 0), if any."""
        for process in self.processes:
            if process.owner_sid == sid and process.session_id > 0:
                return process.session_id
        return None

    def start_session_processes(self, session_id: int) -> None:
        """What every interactive session runs as system accounts: csrss/winlogon (SYSTEM), dwm (DWM-n),
        fontdrvhost (UMFD-n) (learn.microsoft.com/windows/security/identity-protection/access-control/
        special-identities lists the Window Manager and Font Driver Host groups; the per-session account SIDs
        S-1-5-90-0-n and S-1-5-96-0-n)."""
        dwm = f"S-1-5-90-0-{session_id}"
        umfd = f"S-1-5-96-0-{session_id}"
        self.identities.setdefault(dwm, Identity(dwm, "Window Manager", f"DWM-{session_id}"))
        self.identities.setdefault(umfd, Identity(umfd, "Font Driver Host", f"UMFD-{session_id}"))
        self.spawn("csrss.exe", session_id, sec.SYSTEM)
        self.spawn("winlogon.exe", session_id, sec.SYSTEM)
        self.spawn("dwm.exe", session_id, dwm)
        self.spawn("fontdrvhost.exe", session_id, umfd)

    def end_session(self, session_id: int) -> None:
        self.processes = [p for p in self.processes if p.session_id != session_id]

    def services_running(self, name: str) -> bool:
        service = self.services.get(name.lower())
        return service is not None and service.status == "Running"
