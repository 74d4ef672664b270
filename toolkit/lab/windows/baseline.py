"""What every simulated Windows install has before a scenario adds to it: the folders with their default
owners and DACLs, system programs, base registry keys, services and system processes.

Default DACLs (``icacls`` on a Windows 10/11 install; the ProgramData one is fact sheet §8):
- ``C:\\ProgramData``: SYSTEM and Administrators full (OI)(CI), CREATOR OWNER full (OI)(CI)(IO), Users read &
  execute (OI)(CI) and Users (CI)(WD,AD,WEA,WA): any user may create a folder there and then owns it.
- ``C:\\Program Files``, ``C:\\Windows``: TrustedInstaller full, SYSTEM and Administrators modify, Users read.
- the NGC store is protected: SYSTEM and LOCAL SERVICE only ("access denied (expected - folder is protected)":
  fact sheet §3, third-party).
"""

from __future__ import annotations

from toolkit.lab.windows import security as sec
from toolkit.lab.windows.registry import Registry
from toolkit.lab.windows.security import Ace, SecurityDescriptor
from toolkit.lab.windows.state import NGC_STORE, PIN_PROVIDER_ROOT, Service, WindowsState

OICI = 3  # ContainerInherit | ObjectInherit
MODIFY = sec.FILE_RIGHTS["Modify"]
RX = sec.FILE_RIGHTS["ReadAndExecute"]
CREATE_FOLDERS = sec.FILE_RIGHTS["WriteData"] | sec.FILE_RIGHTS["AppendData"] | 16 | 256  # WD, AD, WEA, WA

ROOT_SD = SecurityDescriptor(
    sec.SYSTEM,
    [
        Ace(sec.ADMINISTRATORS, sec.FULL, True, OICI),
        Ace(sec.SYSTEM, sec.FULL, True, OICI),
        Ace(sec.USERS, RX, True, OICI),
        Ace(sec.AUTHENTICATED_USERS, MODIFY, True, OICI, 2),
        Ace(sec.AUTHENTICATED_USERS, sec.FILE_RIGHTS["AppendData"], True, 0),
    ],
    protected=True,
)
SYSTEM_FOLDER_SD = SecurityDescriptor(
    sec.TRUSTED_INSTALLER,
    [
        Ace(sec.TRUSTED_INSTALLER, sec.FULL, True, 1),
        Ace(sec.SYSTEM, MODIFY, True, OICI),
        Ace(sec.ADMINISTRATORS, MODIFY, True, OICI),
        Ace(sec.USERS, RX, True, OICI),
        Ace(sec.CREATOR_OWNER, sec.FULL, True, OICI, 2),
    ],
    protected=True,
)
PROGRAMDATA_SD = SecurityDescriptor(
    sec.SYSTEM,
    [
        Ace(sec.SYSTEM, sec.FULL, True, OICI),
        Ace(sec.ADMINISTRATORS, sec.FULL, True, OICI),
        Ace(sec.CREATOR_OWNER, sec.FULL, True, OICI, 2),
        Ace(sec.USERS, RX, True, OICI),
        Ace(sec.USERS, CREATE_FOLDERS, True, 1),
    ],
    protected=True,
)
TEMP_SD = SecurityDescriptor(
    sec.SYSTEM,
    [
        Ace(sec.SYSTEM, sec.FULL, True, OICI),
        Ace(sec.ADMINISTRATORS, sec.FULL, True, OICI),
        Ace(sec.CREATOR_OWNER, sec.FULL, True, OICI, 2),
        Ace(sec.USERS, CREATE_FOLDERS | 32, True, 1),
    ],
    protected=True,
)
NGC_SD = SecurityDescriptor(
    sec.SYSTEM,
    [
        Ace(sec.SYSTEM, sec.FULL, True, OICI),
        Ace(sec.LOCAL_SERVICE, sec.FULL, True, OICI),
    ],
    protected=True,
)
SYSTEM_PROGRAMS = (
    "certutil.exe",
    "takeown.exe",
    "icacls.exe",
    "reg.exe",
    "schtasks.exe",
    "sc.exe",
    "net.exe",
    "whoami.exe",
    "cmd.exe",
    "secedit.exe",
)


def profile_sd(sid: str) -> SecurityDescriptor:
    """A user profile folder: SYSTEM, Administrators and the user, full control, protected."""
    return SecurityDescriptor(
        sid,
        [
            Ace(sec.SYSTEM, sec.FULL, True, OICI),
            Ace(sec.ADMINISTRATORS, sec.FULL, True, OICI),
            Ace(sid, sec.FULL, True, OICI),
        ],
        protected=True,
    )


def seed_user_folders(state: WindowsState, sid: str, path: str) -> None:
    """A profile folder with the AppData folders a process's %TEMP% and %APPDATA% point into."""
    state.fs.seed_dir(path, profile_sd(sid))
    for sub in ("AppData\\Local\\Temp", "AppData\\Roaming", "Documents"):
        state.fs.seed_dir(f"{path}\\{sub}", owner=sid)


def seed_files(state: WindowsState) -> None:
    fs = state.fs
    fs.seed_dir("C:\\Windows", SYSTEM_FOLDER_SD)
    for system_dir in ("System32", "SysWOW64") if state.is_64bit_os else ("System32",):
        fs.seed_dir(f"C:\\Windows\\{system_dir}", SYSTEM_FOLDER_SD)
        for program in SYSTEM_PROGRAMS:
            fs.seed_file(f"C:\\Windows\\{system_dir}\\{program}", b"MZ", owner=sec.TRUSTED_INSTALLER)
        fs.seed_file(
            f"C:\\Windows\\{system_dir}\\WindowsPowerShell\\v1.0\\powershell.exe", b"MZ", owner=sec.TRUSTED_INSTALLER
        )
    fs.seed_dir("C:\\Windows\\Temp", TEMP_SD)
    fs.seed_dir("C:\\Windows\\ServiceProfiles\\LocalService\\AppData\\Local\\Microsoft")
    fs.seed_dir(NGC_STORE, NGC_SD)
    fs.seed_dir("C:\\ProgramData", PROGRAMDATA_SD)
    fs.seed_dir("C:\\ProgramData\\Microsoft\\Windows")
    fs.seed_dir("C:\\Program Files", SYSTEM_FOLDER_SD)
    if state.is_64bit_os:
        fs.seed_dir("C:\\Program Files (x86)", SYSTEM_FOLDER_SD)
    fs.seed_dir("C:\\Users")
    fs.seed_dir("C:\\Users\\Public")


def seed_registry(registry: Registry, is_64bit_os: bool) -> None:
    base = "HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion"
    registry.seed(base + "\\Authentication\\LogonUI\\NgcPin\\Credentials")
    registry.seed(base + "\\Authentication\\LogonUI\\PicturePassword")
    registry.seed(PIN_PROVIDER_ROOT, {"": ("String", "PINLogonProvider")})
    registry.seed(base + "\\Policies\\System", {"EnableLUA": ("DWord", 1)})
    registry.seed("HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\ProfileList")
    registry.seed("HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Windows")
    registry.seed("HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services")
    if is_64bit_os:
        registry.seed("HKEY_LOCAL_MACHINE\\SOFTWARE\\WOW6432Node\\Microsoft\\Windows\\CurrentVersion")


def seed_services_and_processes(state: WindowsState, agent_installed: bool, agent_running: bool) -> None:
    services = [
        ("WinRM", "Windows Remote Management (WS-Management)"),
        ("Schedule", "Task Scheduler"),
        ("NgcSvc", "Microsoft Passport"),
        ("NgcCtnrSvc", "Microsoft Passport Container"),
    ]
    for name, display in services:
        state.services[name.lower()] = Service(name, display)
    if agent_installed:
        state.services["jumpcloud-agent"] = Service(
            "jumpcloud-agent", "JumpCloud Agent", "Running" if agent_running else "Stopped"
        )
    state.spawn("System", 0, sec.SYSTEM, "")
    for name in ("smss.exe", "csrss.exe", "wininit.exe", "services.exe", "lsass.exe", "svchost.exe"):
        state.spawn(name, 0, sec.SYSTEM)
    state.spawn("svchost.exe", 0, sec.LOCAL_SERVICE)
    state.spawn("svchost.exe", 0, sec.NETWORK_SERVICE)
    if agent_installed and agent_running:
        state.spawn("jumpcloud-agent.exe", 0, sec.SYSTEM, "C:\\Program Files\\JumpCloud\\jumpcloud-agent.exe")
    # The console session exists with nobody on it: its system processes and the sign-in screen.
    state.start_session_processes(1)
    state.spawn("LogonUI.exe", 1, sec.SYSTEM)
