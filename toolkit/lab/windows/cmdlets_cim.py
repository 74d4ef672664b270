"""CimCmdlets: Get-CimInstance (a read: not ShouldProcess) and Invoke-CimMethod (SupportsShouldProcess).

Invoke-CimMethod on the ``-InputObject`` path asks ``ShouldProcess(instance.ToString(), "Invoke-CimMethod:
<method>")`` and returns without calling the method when it is false, so under -WhatIf it outputs NOTHING
(PowerShell/PowerShell src/Microsoft.Management.Infrastructure.CimCmdlets/CimInvokeCimMethod.cs; fact sheet §8).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from toolkit.lab.powershell.contract import CommandCall, CommandError, CommandSpec, DotNetObject, ErrorSpec
from toolkit.lab.windows import cim
from toolkit.lab.windows.cmdlet_support import as_list, machine_of, param, text
from toolkit.lab.windows.errors import cim_error

MODULE = "CimCmdlets"
DOCS = "https://learn.microsoft.com/powershell/module/cimcmdlets/"
RENAME_OUTCOMES = {"ok": 0, "invalid": 3, "in_use": 9}


def _get_cim_instance(call: CommandCall) -> Iterator[Any]:
    machine = machine_of(call)
    class_name = text(call, "ClassName") or ""
    try:
        found = cim.query(machine, class_name, text(call, "Filter"))
    except cim.CimQueryError as exc:
        raise CommandError(cim.error_spec(exc, class_name)) from None
    yield from found


def _invoke_cim_method(call: CommandCall) -> Iterator[Any]:
    method = text(call, "MethodName") or ""
    arguments = call.bound.get("Arguments") or {}
    instances = as_list(call.bound.get("InputObject")) or list(call.input or [])
    if not instances and "ClassName" in call.bound:
        call.write_error(
            cim_error(
                "The method is not modelled as a static method by the lab.",
                "HRESULT 0x8004102e",
                "MetadataError",
                call.bound["ClassName"],
            )
        )
        return
    for instance in instances:
        if not call.should_process(str(instance), f"Invoke-CimMethod: {method}"):
            continue  # no call and no output under -WhatIf
        handle = instance.lab.get("cim") if isinstance(instance, DotNetObject) else None
        if not isinstance(instance, DotNetObject) or handle is None:
            call.write_error(
                ErrorSpec(
                    "Cannot bind the InputObject: not a CimInstance.",
                    "InvalidArgument",
                    "InvalidArgument",
                    "System.ArgumentException",
                    instance,
                )
            )
            continue
        _, methods = handle
        wanted = next((m for name, m in methods.items() if name.lower() == method.lower()), None)
        if wanted is None:
            call.write_error(cim_error("Method not found ", "HRESULT 0x80041055", "MetadataError", method))
            continue
        if method.lower() == "rename":
            yield from _rename(call, wanted, dict(arguments))
            continue
        yield wanted()


def _rename(call: CommandCall, method: Any, arguments: dict[str, Any]) -> Iterator[Any]:
    """Win32_UserAccount.Rename: an access-denied caller gets a CIM error, else a ReturnValue (fact sheet §4).

    The mapping of a name in use to 9 ("other API error") and of an invalid name to 3 is UNCONFIRMED.
    """
    result = method(arguments)
    code = result.get("ReturnValue")
    if code == "access_denied":
        call.write_error(cim_error("Access denied ", "HRESULT 0x80041003", "PermissionDenied", "Win32_UserAccount"))
        return
    result.properties["ReturnValue"] = RENAME_OUTCOMES.get(str(code), 9)
    yield result


COMMANDS = [
    CommandSpec(
        "Get-CimInstance",
        MODULE,
        "cmdlet",
        (
            param("ClassName", "string", 0, mandatory=True),
            param("Filter", "string"),
            param("Namespace", "string"),
            param("Property", "string[]"),
        ),
        False,
        _get_cim_instance,
        DOCS + "get-ciminstance?view=powershell-5.1",
    ),
    CommandSpec(
        "Invoke-CimMethod",
        MODULE,
        "cmdlet",
        (
            param(
                "InputObject", "object", 0, pipeline=True, aliases=("CimInstance",), sets=("CimInstanceComputerSet",)
            ),
            param("ClassName", "string", sets=("ClassNameComputerSet",)),
            param("Arguments", "hashtable", 1),
            param("MethodName", "string", 2, mandatory=True, aliases=("Name",)),
        ),
        True,
        _invoke_cim_method,
        DOCS + "invoke-cimmethod?view=powershell-5.1",
    ),
]
