"""CIM/WMI: the classes jcfix reads (Win32_Process, Win32_UserProfile, Win32_UserAccount,
Win32_OperatingSystem, Win32_ComputerSystem), the simple WQL filters it uses, and their methods.

Sources: the class pages under learn.microsoft.com/windows/win32/cimwin32prov/ (Win32_Process.GetOwner and
GetOwnerSid return 0 success, 2 access denied, 3 insufficient privilege, 8 unknown failure, 9 path not found,
21 invalid parameter; Win32_UserAccount.Rename codes 0-10: fact sheet §4), Win32_UserProfile
(learn.microsoft.com/previous-versions/windows/desktop/legacy/ee886409(v=vs.85)). A caller without an
elevated token cannot open other users' processes, so GetOwner/GetOwnerSid answer 2 for them (KB 951016
filtered token; issue 10 defect 12).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from toolkit.lab.powershell.contract import DotNetObject
from toolkit.lab.windows import security as sec
from toolkit.lab.windows.errors import cim_error
from toolkit.lab.windows.state import Process

if TYPE_CHECKING:
    from toolkit.lab.windows.machine import WindowsMachine

NAMESPACE = "root/cimv2"
SPECIAL_PROFILES = {
    sec.SYSTEM: "C:\\Windows\\system32\\config\\systemprofile",
    sec.LOCAL_SERVICE: "C:\\Windows\\ServiceProfiles\\LocalService",
    sec.NETWORK_SERVICE: "C:\\Windows\\ServiceProfiles\\NetworkService",
}


class CimQueryError(Exception):
    """An invalid class or query (WBEM_E_INVALID_CLASS 0x80041010, WBEM_E_INVALID_QUERY 0x80041017)."""

    def __init__(self, message: str, error_id: str) -> None:
        super().__init__(message)
        self.error_id = error_id


def cim_instance(
    class_name: str, props: dict[str, Any], key: str, methods: dict[str, Callable[..., Any]]
) -> DotNetObject:
    """A CimInstance as PowerShell shows it (type name ``...CimInstance#root/cimv2/CLASS``).

    Its string form is CimInstance.ToString (Microsoft.Management.Infrastructure CimInstance.cs): class name,
    the Caption property when there is one, and the key properties; the resource's exact layout
    ("CLASS: Caption (Key = "value")") is UNCONFIRMED.
    """
    caption = props.get("Caption")
    if caption and key:
        text = f"{class_name}: {caption} ({key})"
    elif key:
        text = f"{class_name} ({key})"
    else:
        text = f"{class_name}: {caption}" if caption else class_name
    instance = DotNetObject(
        [
            f"Microsoft.Management.Infrastructure.CimInstance#{NAMESPACE}/{class_name}",
            "Microsoft.Management.Infrastructure.CimInstance",
        ],
        {**props, "PSComputerName": None, "CimClass": f"{NAMESPACE}:{class_name}"},
        to_string=text,
    )
    instance.lab["cim"] = (class_name, methods)
    return instance


def method_result(values: dict[str, Any]) -> DotNetObject:
    """What Invoke-CimMethod writes: the out parameters and ReturnValue."""
    return DotNetObject(["Microsoft.Management.Infrastructure.CimMethodResult"], {**values, "PSComputerName": None})


# ---------------------------------------------------------------------------------------------- classes
def _may_open(machine: WindowsMachine, process: Process) -> bool:
    token = machine.token
    return token.user == sec.SYSTEM or (token.is_admin and token.elevated) or process.owner_sid == token.user


def _processes(machine: WindowsMachine) -> list[DotNetObject]:
    state = machine.state
    out = []
    for process in state.processes:

        def get_owner(process: Process = process) -> DotNetObject:
            if not _may_open(machine, process):
                return method_result({"Domain": None, "ReturnValue": 2, "User": None})
            found = state.lookup_sid(process.owner_sid)
            if found is None:
                return method_result({"Domain": None, "ReturnValue": 8, "User": None})
            return method_result({"Domain": found[0], "ReturnValue": 0, "User": found[1]})

        def get_owner_sid(process: Process = process) -> DotNetObject:
            if not _may_open(machine, process):
                return method_result({"ReturnValue": 2, "Sid": None})
            return method_result({"ReturnValue": 0, "Sid": process.owner_sid})

        visible = _may_open(machine, process)
        out.append(
            cim_instance(
                "Win32_Process",
                {
                    "Name": process.name,
                    "Caption": process.name,
                    "ProcessId": process.pid,
                    "Handle": str(process.pid),
                    "SessionId": process.session_id,
                    "ExecutablePath": process.path if visible else None,
                    "CommandLine": (process.command_line or process.path) if visible else None,
                },
                f'Handle = "{process.pid}"',
                {"GetOwner": get_owner, "GetOwnerSid": get_owner_sid},
            )
        )
    return out


def _profiles(machine: WindowsMachine) -> list[DotNetObject]:
    state = machine.state
    out = []
    rows: list[tuple[str, str, bool, bool, datetime | None]]
    rows = [(sid, path, True, True, None) for sid, path in SPECIAL_PROFILES.items()]
    rows += [(p.sid, p.local_path, p.loaded, p.special, p.last_use_time) for p in state.profiles.values()]
    for sid, path, loaded, special, last_use in rows:
        out.append(
            cim_instance(
                "Win32_UserProfile",
                {
                    "SID": sid,
                    "LocalPath": path,
                    "Loaded": loaded,
                    "Special": special,
                    "LastUseTime": last_use,
                    "RefCount": 1 if loaded else 0,
                    "Status": 0,
                    "RoamingConfigured": False,
                },
                f'SID = "{sid}"',
                {},
            )
        )
    return out


def _accounts(machine: WindowsMachine) -> list[DotNetObject]:
    state = machine.state
    out = []
    for account in state.sam.ordered():
        sid = state.sam.sid_of(account)
        name = state.display_name(account)

        def rename(arguments: dict[str, Any], account: Any = account) -> DotNetObject:
            from toolkit.lab.windows.cmdlets_accounts import rename_account

            return method_result({"ReturnValue": rename_account(machine, account, str(arguments.get("Name", "")))})

        out.append(
            cim_instance(
                "Win32_UserAccount",
                {
                    "Name": name,
                    "Domain": state.netbios_name,
                    "Caption": f"{state.netbios_name}\\{name}",
                    "SID": sid,
                    "FullName": account.full_name,
                    "Disabled": not account.enabled,
                    "Description": account.description,
                    "LocalAccount": True,
                    "AccountType": 512,
                    "SIDType": 1,
                    "Status": "OK" if account.enabled else "Degraded",
                    "PasswordRequired": True,
                    "Lockout": False,
                },
                f'Domain = "{state.netbios_name}", Name = "{name}"',
                {"Rename": rename},
            )
        )
    return out


def _operating_system(machine: WindowsMachine) -> list[DotNetObject]:
    state = machine.state
    return [
        cim_instance(
            "Win32_OperatingSystem",
            {
                "Caption": state.os_caption,
                "Version": state.os_version,
                "BuildNumber": state.os_version.rsplit(".", 1)[-1],
                "OSArchitecture": "64-bit" if state.is_64bit_os else "32-bit",
                "CSName": state.netbios_name,
                "Name": f"{state.os_caption}|C:\\WINDOWS|\\Device\\Harddisk0\\Partition3",
                "OSLanguage": 1033,
            },
            "",
            {},
        )
    ]


def _computer_system(machine: WindowsMachine) -> list[DotNetObject]:
    state = machine.state
    console = next((p for p in state.processes if p.session_id > 0 and p.name.lower() == "explorer.exe"), None)
    user = state.lookup_sid(console.owner_sid) if console else None
    return [
        cim_instance(
            "Win32_ComputerSystem",
            {
                "Name": state.netbios_name,
                "Domain": "WORKGROUP",
                "PartOfDomain": False,
                "UserName": f"{user[0]}\\{user[1]}" if user else None,
                "SystemType": "x64-based PC" if state.is_64bit_os else "X86-based PC",
            },
            f'Name = "{state.netbios_name}"',
            {},
        )
    ]


CLASSES: dict[str, Callable[[Any], list[DotNetObject]]] = {
    "win32_process": _processes,
    "win32_userprofile": _profiles,
    "win32_useraccount": _accounts,
    "win32_operatingsystem": _operating_system,
    "win32_computersystem": _computer_system,
}

# --------------------------------------------------------------------------------------------- WQL filters
_CONDITION = re.compile(
    r"""^\s*(\w+)\s*(=|<>|!=|<=|>=|<|>|\s+LIKE\s+)\s*('(?:[^']*)'|"(?:[^"]*)"|-?\w+)\s*$""", re.IGNORECASE
)
INVALID_QUERY = ("Invalid query ", "HRESULT 0x80041017")


def _literal(raw: str) -> Any:
    if raw[0] in "'\"":
        return raw[1:-1]
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    if raw.lstrip("-").isdigit():
        return int(raw)
    raise CimQueryError(*INVALID_QUERY)


def _compare(value: Any, operator: str, wanted: Any) -> bool:
    """WQL comparison: strings without case, LIKE with % and _.

    learn.microsoft.com/windows/win32/wmisdk/wql-operators
    """
    if operator == "like":
        pattern = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in str(wanted))
        return value is not None and re.fullmatch(pattern, str(value), re.IGNORECASE) is not None
    if value is None:
        return False
    if isinstance(wanted, str):
        value, wanted = str(value).lower(), wanted.lower()
    checks = {"=": value == wanted, "<>": value != wanted, "!=": value != wanted}
    if operator in checks:
        return bool(checks[operator])
    try:
        return bool({"<": value < wanted, ">": value > wanted, "<=": value <= wanted, ">=": value >= wanted}[operator])
    except TypeError:
        return False


def _condition(text: str) -> Callable[[DotNetObject], bool]:
    match = _CONDITION.match(text)
    if not match:
        raise CimQueryError(*INVALID_QUERY)
    name, operator, raw = match.group(1), match.group(2).strip().lower(), match.group(3)
    wanted = _literal(raw)

    def test(instance: DotNetObject) -> bool:
        if name not in instance.properties:
            raise CimQueryError(*INVALID_QUERY)
        return _compare(instance.get(name), operator, wanted)

    return test


@lru_cache(maxsize=256)
def parse_filter(text: str) -> Callable[[DotNetObject], bool]:
    """A WQL WHERE clause: comparisons joined by AND, then OR (no parentheses: the forms scripts use).

    Parsed once per text (a pure function of it; a query that does not parse raises every time)."""
    alternatives = []
    for branch in re.split(r"\s+OR\s+", text.strip(), flags=re.IGNORECASE):
        tests = [_condition(part) for part in re.split(r"\s+AND\s+", branch, flags=re.IGNORECASE)]
        alternatives.append(tests)
    return lambda instance: any(all(test(instance) for test in tests) for tests in alternatives)


def query(machine: WindowsMachine, class_name: str, where: str | None) -> list[DotNetObject]:
    """The instances of ``class_name`` matching ``where``; raises CimQueryError."""
    factory = CLASSES.get(class_name.lower())
    if factory is None:
        raise CimQueryError("Invalid class ", "HRESULT 0x80041010")
    instances = factory(machine)
    if not where:
        return instances
    test = parse_filter(where)
    return [i for i in instances if test(i)]


def error_spec(exc: CimQueryError, target: Any) -> Any:
    return cim_error(str(exc), exc.error_id, "InvalidArgument" if "query" in str(exc) else "MetadataError", target)
