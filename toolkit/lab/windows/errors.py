"""Error records the machine's commands and .NET members raise, with Windows PowerShell 5.1's wording.

Messages are the provider and .NET resource strings (PowerShell/PowerShell ``src/System.Management.Automation/
resources/*.resx`` and .NET Framework's mscorlib resources); where a wording is not confirmed the comment
says so. A .NET method that throws is raised as :class:`CommandError` with the exception type; the engine
wraps it as PowerShell does (``MethodInvocationException``).
"""

from __future__ import annotations

from typing import Any, NoReturn

from toolkit.lab.powershell.contract import CommandError, ErrorSpec


def dotnet_throw(exception_type: str, message: str, target: Any = None) -> NoReturn:
    """Raise a .NET exception from a method or constructor."""
    raise CommandError(ErrorSpec(message, exception_type.rsplit(".", 1)[-1], "NotSpecified", exception_type, target))


def path_not_found(path: str, error_id: str = "PathNotFound") -> ErrorSpec:
    """ItemNotFoundException: ``Cannot find path 'X' because it does not exist.`` (SessionStateStrings.PathNotFound)."""
    return ErrorSpec(
        f"Cannot find path '{path}' because it does not exist.",
        error_id,
        "ObjectNotFound",
        "System.Management.Automation.ItemNotFoundException",
        path,
    )


def registry_access_denied(path: str, error_id: str) -> ErrorSpec:
    """SecurityException of the registry provider: ``Requested registry access is not allowed.`` (mscorlib)."""
    return ErrorSpec(
        "Requested registry access is not allowed.",
        error_id,
        "PermissionDenied",
        "System.Security.SecurityException",
        path,
    )


def file_access_denied(path: str, error_id: str) -> ErrorSpec:
    """UnauthorizedAccessException: ``Access to the path 'X' is denied.``

    mscorlib resource UnauthorizedAccess_IODenied_Path.
    """
    return ErrorSpec(
        f"Access to the path '{path}' is denied.",
        error_id,
        "PermissionDenied",
        "System.UnauthorizedAccessException",
        path,
    )


def file_in_use(path: str, error_id: str) -> ErrorSpec:
    """IOException for a sharing violation (mscorlib IO.IO_SharingViolation_File)."""
    return ErrorSpec(
        f"The process cannot access the file '{path}' because it is being used by another process.",
        error_id,
        "WriteError",
        "System.IO.IOException",
        path,
    )


def property_not_found(name: str, path: str) -> ErrorSpec:
    """``Property X does not exist at path Y.`` (Get-ItemProperty / Remove-ItemProperty, PSArgumentException)."""
    return ErrorSpec(
        f"Property {name} does not exist at path {path}.",
        "System.Management.Automation.PSArgumentException",
        "InvalidArgument",
        "System.Management.Automation.PSArgumentException",
        name,
    )


def item_exists(path: str, error_id: str = "NewItemIOError") -> ErrorSpec:
    """``An item with the specified name X already exists.`` (New-Item without -Force; FileSystemProvider)."""
    return ErrorSpec(
        f"An item with the specified name {path} already exists.",
        error_id,
        "ResourceExists",
        "System.IO.IOException",
        path,
    )


def cim_error(message: str, error_id: str, category: str = "NotSpecified", target: Any = None) -> ErrorSpec:
    """A CimException as the CIM cmdlets write it (``HRESULT 0x8004...`` ids with the cmdlet name appended)."""
    return ErrorSpec(message, error_id, category, "Microsoft.Management.Infrastructure.CimException", target)


def access_denied_hresult(target: Any, error_id: str = "HRESULT 0x80070005") -> ErrorSpec:
    """``Access is denied.`` (E_ACCESSDENIED) from a CIM/CDXML call such as Register-ScheduledTask."""
    return ErrorSpec(
        "Access is denied.", error_id, "PermissionDenied", "Microsoft.Management.Infrastructure.CimException", target
    )
