"""Pure .NET enums: ``[Microsoft.Win32.RegistryHive]::LocalMachine``, ``[System.IO.FileShare]'Read,Write'``...

Enums carry no machine state, so they are the engine's (the machine is asked first for any ``[Type]::Member``
anyway). Values are from the .NET Framework reference (learn.microsoft.com/dotnet/api/<enum>).
"""

from __future__ import annotations

from typing import Any

from toolkit.lab.powershell.contract import DotNetEnum
from toolkit.lab.powershell.errors import PSError, make_record
from toolkit.lab.powershell.values import to_string


def _full_type_name(type_text: str) -> str:
    from toolkit.lab.powershell.convert import full_type_name

    return full_type_name(type_text)


# System.Management.Automation.ErrorCategory (PowerShell SDK reference, learn.microsoft.com).
ERROR_CATEGORIES = [
    "NotSpecified", "OpenError", "CloseError", "DeviceError", "DeadlockDetected", "InvalidArgument", "InvalidData",
    "InvalidOperation", "InvalidResult", "InvalidType", "MetadataError", "NotImplemented", "NotInstalled",
    "ObjectNotFound", "OperationStopped", "OperationTimeout", "SyntaxError", "ParserError", "PermissionDenied",
    "ResourceBusy", "ResourceExists", "ResourceUnavailable", "ReadError", "WriteError", "FromStdErr",
    "SecurityError", "ProtocolError", "ConnectionError", "AuthenticationError", "LimitsExceeded", "QuotaExceeded",
    "NotEnabled",
]
# Pure .NET enums (names → values, from the .NET Framework reference on learn.microsoft.com). Machine-bound
# enums do not exist: these carry no machine state, so they are the engine's.
ENUM_VALUES: dict[str, dict[str, int]] = {
    "System.Management.Automation.ErrorCategory": {name: index for index, name in enumerate(ERROR_CATEGORIES)},
    "System.Management.Automation.ActionPreference": {"SilentlyContinue": 0, "Stop": 1, "Continue": 2, "Inquire": 3,
                                                      "Ignore": 4, "Suspend": 5},
    "Microsoft.Win32.RegistryHive": {"ClassesRoot": -2147483648, "CurrentUser": -2147483647,
                                     "LocalMachine": -2147483646, "Users": -2147483645, "PerformanceData": -2147483644,
                                     "CurrentConfig": -2147483643},
    "Microsoft.Win32.RegistryView": {"Default": 0, "Registry64": 256, "Registry32": 512},
    "Microsoft.Win32.RegistryValueKind": {"None": -1, "Unknown": 0, "String": 1, "ExpandString": 2, "Binary": 3,
                                          "DWord": 4, "MultiString": 7, "QWord": 11},
    "Microsoft.Win32.RegistryValueOptions": {"None": 0, "DoNotExpandEnvironmentNames": 1},
    "System.IO.FileAccess": {"Read": 1, "Write": 2, "ReadWrite": 3},
    "System.IO.FileMode": {"CreateNew": 1, "Create": 2, "Open": 3, "OpenOrCreate": 4, "Truncate": 5, "Append": 6},
    "System.IO.FileShare": {"None": 0, "Read": 1, "Write": 2, "ReadWrite": 3, "Delete": 4},
    "System.IO.SeekOrigin": {"Begin": 0, "Current": 1, "End": 2},
    "System.IO.FileOptions": {"None": 0, "Encrypted": 16384, "DeleteOnClose": 67108864, "SequentialScan": 134217728,
                              "RandomAccess": 268435456, "Asynchronous": 1073741824, "WriteThrough": -2147483648},
    "System.IO.FileAttributes": {"ReadOnly": 1, "Hidden": 2, "System": 4, "Directory": 16, "Archive": 32,
                                 "Device": 64, "Normal": 128, "Temporary": 256, "SparseFile": 512,
                                 "ReparsePoint": 1024, "Compressed": 2048, "Offline": 4096,
                                 "NotContentIndexed": 8192, "Encrypted": 16384},
    "System.Security.AccessControl.AccessControlSections": {"None": 0, "Audit": 1, "Access": 2, "Owner": 4,
                                                            "Group": 8, "All": 15},
    "System.Security.AccessControl.InheritanceFlags": {"None": 0, "ContainerInherit": 1, "ObjectInherit": 2},
    "System.Security.AccessControl.PropagationFlags": {"None": 0, "NoPropagateInherit": 1, "InheritOnly": 2},
    "System.Security.AccessControl.AccessControlType": {"Allow": 0, "Deny": 1},
    "System.Security.AccessControl.FileSystemRights": {
        "ReadData": 1, "ListDirectory": 1, "WriteData": 2, "CreateFiles": 2, "AppendData": 4, "CreateDirectories": 4,
        "ReadExtendedAttributes": 8, "WriteExtendedAttributes": 16, "ExecuteFile": 32, "Traverse": 32,
        "DeleteSubdirectoriesAndFiles": 64, "ReadAttributes": 128, "WriteAttributes": 256, "Write": 278,
        "Delete": 65536, "ReadPermissions": 131072, "Read": 131209, "ReadAndExecute": 131241, "Modify": 197055,
        "ChangePermissions": 262144, "TakeOwnership": 524288, "Synchronize": 1048576, "FullControl": 2032127},
    "System.Security.AccessControl.RegistryRights": {"QueryValues": 1, "SetValue": 2, "CreateSubKey": 4,
                                                     "EnumerateSubKeys": 8, "ReadKey": 131097, "WriteKey": 131078,
                                                     "FullControl": 983103},
    "System.Security.Principal.WindowsBuiltInRole": {"Administrator": 544, "User": 545, "Guest": 546,
                                                     "PowerUser": 547},
    "System.StringComparison": {"CurrentCulture": 0, "CurrentCultureIgnoreCase": 1, "InvariantCulture": 2,
                                "InvariantCultureIgnoreCase": 3, "Ordinal": 4, "OrdinalIgnoreCase": 5},
    "System.StringSplitOptions": {"None": 0, "RemoveEmptyEntries": 1},
    "System.Text.RegularExpressions.RegexOptions": {"None": 0, "IgnoreCase": 1, "Multiline": 2,
                                                    "Singleline": 16},
    "System.DateTimeKind": {"Unspecified": 0, "Utc": 1, "Local": 2},
}
_ENUM_INDEX = {name.lower(): name for name in ENUM_VALUES}


def is_enum_type(type_text: str) -> bool:
    return _full_type_name(type_text).lower() in _ENUM_INDEX


def enum_value(type_text: str, name: str) -> DotNetEnum | None:
    """``[Enum]::Name`` (None when ``type_text`` is not a known enum or has no such member)."""
    full = _ENUM_INDEX.get(_full_type_name(type_text).lower())
    if full is None:
        return None
    for candidate, value in ENUM_VALUES[full].items():
        if candidate.lower() == name.lower():
            return DotNetEnum(full, candidate, value)
    return None


def to_enum(type_text: str, value: Any) -> DotNetEnum:
    """``[Enum]$value``: a name, comma-separated flag names, or a number (LanguagePrimitives enum rules)."""
    full = _ENUM_INDEX[_full_type_name(type_text).lower()]
    members = ENUM_VALUES[full]
    if isinstance(value, DotNetEnum):
        value = value.value if value.type_name != full else value
        if isinstance(value, DotNetEnum):
            return value
    if isinstance(value, int) and not isinstance(value, bool):
        names = [k for k, v in members.items() if v == value]
        return DotNetEnum(full, names[0] if names else str(value), value)
    parts = [p.strip() for p in to_string(value).split(",")]
    total, names = 0, []
    for part in parts:
        found = enum_value(full, part)
        if found is None:
            raise PSError(make_record(
                f'Cannot convert value "{to_string(value)}" to type "{full}". Error: "Unable to match the identifier '
                f'name {part} to a valid enumerator name. Specify one of the following enumerator names and try '
                f'again:\r\n{", ".join(members)}"', "RuntimeException", "InvalidArgument",
                "System.Management.Automation.PSInvalidCastException"))
        total |= found.value
        names.append(found.name)
    return DotNetEnum(full, ", ".join(names), total)
