"""The engine's own commands (Microsoft.PowerShell.Core/Utility/Management/Security), as CommandSpecs.

Each follows its documentation on learn.microsoft.com (module reference for Windows PowerShell 5.1); the
machine's commands (Test-Path, Get-Item, Get-CimInstance...) are not here. ForEach-Object and Where-Object
run their script blocks in the caller's scope with ``$_`` set (as PowerShell does: assignments inside persist).
"""

from __future__ import annotations

import ntpath
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from toolkit.lab.powershell.contract import CommandParameter, CommandSpec, DotNetObject, ErrorSpec, ParamType
from toolkit.lab.powershell.convert import to_int
from toolkit.lab.powershell.dotnet import new_object, type_not_found
from toolkit.lab.powershell.errors import ErrorRecord, ExceptionObject, PSError, make_record
from toolkit.lab.powershell.functions import FunctionDef, ScriptBlock
from toolkit.lab.powershell.members import get_member
from toolkit.lab.powershell.operators import compare
from toolkit.lab.powershell.values import Hashtable, PSObject, SecureString, enumerate_value, to_string, truthy

P = CommandParameter
DOCS = "https://learn.microsoft.com/powershell/module/"


def _spec(name: str, module: str, params: tuple[CommandParameter, ...], invoke: Any, *, whatif: bool = False,
          doc: str = "") -> CommandSpec:
    return CommandSpec(name, module, "cmdlet", params, whatif, invoke, DOCS + doc)


def _items(call: Any) -> list[Any]:
    """Pipeline input, else -InputObject as one object."""
    if call.input is not None:
        return list(call.input)
    if "InputObject" in call.bound:
        return [call.bound["InputObject"]]
    return []


def _foreach(call: Any) -> Iterator[Any]:
    block = call.bound.get("Process")
    if isinstance(block, list):
        block = block[0] if len(block) == 1 else None
    if not isinstance(block, ScriptBlock):
        if "MemberName" in call.bound:
            name = to_string(call.bound["MemberName"])
            for item in _items(call):
                yield get_member(item, name, call.scope.strict_version())
            return
        raise PSError(make_record("ForEach-Object: only -Process {scriptblock} and -MemberName are modelled.",
                                  "NotImplemented", "NotImplemented"))
    for item in _items(call):
        yield from block.run_dot_sourced(call.scope, item)


def _where(call: Any) -> Iterator[Any]:
    block = call.bound.get("FilterScript")
    if not isinstance(block, ScriptBlock):
        raise PSError(make_record("Where-Object: only a -FilterScript block is modelled by the lab engine.",
                                  "NotImplemented", "NotImplemented"))
    for item in _items(call):
        result = block.run_dot_sourced(call.scope, item)
        if truthy(result[0] if len(result) == 1 else result):
            yield item


def _select(call: Any) -> Iterator[Any]:
    items = _items(call)
    bound = call.bound
    strict = call.scope.strict_version()
    if "Skip" in bound:
        items = items[to_int(bound["Skip"]):]
    if "First" in bound:
        items = items[: to_int(bound["First"])]
    if "Last" in bound:
        count = to_int(bound["Last"])
        items = items[-count:] if count else []
    if "ExpandProperty" in bound:
        name = to_string(bound["ExpandProperty"])
        for item in items:
            value = get_member(item, name, 0)
            if value is None and not _has(item, name):
                raise PSError(make_record(
                    f'Property "{name}" cannot be found.', "ExpandPropertyNotFound,"
                    "Microsoft.PowerShell.Commands.SelectObjectCommand", "InvalidArgument",
                    "System.Management.Automation.PSArgumentException"))
            yield from enumerate_value(value) if isinstance(value, (list, tuple)) else [value]
        return
    if "Property" in bound:
        names = [to_string(n) for n in enumerate_value(bound["Property"])]
        for item in items:
            yield PSObject([(n, get_member(item, n, 0)) for n in names],
                           type_names=("Selected." + (getattr(item, "type_names", None) or ("System.Object",))[0],))
        return
    del strict
    yield from items


def _has(item: Any, name: str) -> bool:
    if isinstance(item, Hashtable):
        return name in item
    if isinstance(item, PSObject):
        return name in item.props
    if isinstance(item, DotNetObject):
        return name in item.properties
    return False


def _sort(call: Any) -> list[Any]:
    items = _items(call)
    prop = call.bound.get("Property")
    descending = bool(call.bound.get("Descending"))
    keys = [to_string(p) if not isinstance(p, ScriptBlock) else p for p in enumerate_value(prop)] if prop else []

    def key_of(item: Any) -> list[Any]:
        if not keys:
            return [item]
        out = []
        for key in keys:
            if isinstance(key, ScriptBlock):
                result = key.run_dot_sourced(call.scope, item)
                out.append(result[0] if len(result) == 1 else result)
            else:
                out.append(get_member(item, key, 0))
        return out

    decorated = [(key_of(item), index, item) for index, item in enumerate(items)]

    def cmp(a: tuple[list[Any], int, Any], b: tuple[list[Any], int, Any]) -> int:
        for x, y in zip(a[0], b[0], strict=True):
            result = compare(x, y)
            if result:
                return -result if descending else result
        return a[1] - b[1]  # Sort-Object is stable

    from functools import cmp_to_key

    ordered = sorted(decorated, key=cmp_to_key(cmp))
    if call.bound.get("Unique"):
        # -Unique drops items that compare equal to the one kept before them (without case unless -CaseSensitive).
        ignore_case = not call.bound.get("CaseSensitive")
        kept: list[tuple[list[Any], int, Any]] = []
        for entry in ordered:
            if not kept or any(compare(x, y, ignore_case) for x, y in zip(kept[-1][0], entry[0], strict=True)):
                kept.append(entry)
        ordered = kept
    return [item for _, _, item in ordered]


def _measure(call: Any) -> Iterator[Any]:
    items = _items(call)
    prop = call.bound.get("Property")
    values = [get_member(i, to_string(prop), 0) for i in items] if prop else items
    numbers = [v for v in values if isinstance(v, (int, float))]
    result = PSObject([("Count", len(values)),
                       ("Average", sum(numbers) / len(numbers) if call.bound.get("Average") and numbers else None),
                       ("Sum", sum(numbers) if call.bound.get("Sum") else None),
                       ("Maximum", max(numbers) if call.bound.get("Maximum") and numbers else None),
                       ("Minimum", min(numbers) if call.bound.get("Minimum") and numbers else None),
                       ("Property", to_string(prop) if prop else None)],
                      type_names=("Microsoft.PowerShell.Commands.GenericMeasureInfo",))
    yield result


def _out_null(call: Any) -> None:
    return None


def _out_string(call: Any) -> Iterator[str]:
    # Out-String renders through the formatter; for strings (all the lab needs) that is the text, one per line.
    lines = [to_string(i) for i in _items(call)]
    if call.bound.get("Stream"):
        yield from lines
    else:
        yield "".join(line + "\r\n" for line in lines)


def _write_output(call: Any) -> Iterator[Any]:
    yield from call.bound.get("InputObject", []) if call.input is None else call.input


def _write_error(call: Any) -> None:
    message = to_string(call.bound.get("Message", ""))
    exception = call.bound.get("Exception")
    if "ErrorRecord" in call.bound and isinstance(call.bound["ErrorRecord"], ErrorRecord):
        call.write_record(call.bound["ErrorRecord"])
        return
    if not isinstance(exception, ExceptionObject):
        exception = ExceptionObject("Microsoft.PowerShell.Commands.WriteErrorException", message)
    error_id = to_string(call.bound.get("ErrorId")) or "Microsoft.PowerShell.Commands.WriteErrorException"
    caller = call.scope.cmdlet.name if call.scope.cmdlet is not None else None
    if caller:
        error_id = f"{error_id},{caller}"
    category = call.bound.get("Category")
    record = ErrorRecord(exception, error_id, to_string(category) if category is not None else "NotSpecified",
                         call.bound.get("TargetObject"))
    call.write_record(record)


def _write_warning(call: Any) -> None:
    call.write_warning(to_string(call.bound.get("Message", "")))


def _write_verbose(call: Any) -> None:
    if call.scope.preference("verbosepreference", "SilentlyContinue") == "Continue":
        call.scope.rt.run.verbose.append(to_string(call.bound.get("Message", "")))


def _new_object(call: Any) -> Any:
    type_text = to_string(call.bound.get("TypeName"))
    args = call.bound.get("ArgumentList")
    values = list(args) if isinstance(args, (list, tuple)) else ([] if args is None else [args])
    try:
        created = new_object(call.machine, type_text, values)
    except KeyError:
        raise type_not_found(type_text, "Microsoft.PowerShell.Commands.NewObjectCommand") from None
    except PSError as exc:
        if not exc.record.parent_contains:
            raise
        # NewObjectCommand.CallConstructor: a MethodException from the constructor becomes the cmdlet's own
        # terminating error (ConstructorInvokedThrowException, InvalidOperation) holding that exception.
        raise PSError(ErrorRecord(exc.record.exception, "ConstructorInvokedThrowException,"
                                  "Microsoft.PowerShell.Commands.NewObjectCommand", "InvalidOperation")) from None
    properties = call.bound.get("Property")
    if isinstance(properties, Hashtable):
        from toolkit.lab.powershell.members import set_member

        for key, value in properties.items():
            set_member(created, key, value)
    return [created]


def _set_strict_mode(call: Any) -> None:
    target = call.scope.strict_target()
    if call.bound.get("Off"):
        target.strict = 0
        return
    version = to_string(call.bound.get("Version", ""))
    # 'Latest' is the highest version the engine knows: 3.0 in Windows PowerShell 5.1 (about_Set-StrictMode).
    target.strict = 3 if version.lower() == "latest" else int(float(version.split(".")[0] or 0))


def _command_info(name: str, found: Any) -> DotNetObject:
    if isinstance(found, FunctionDef):
        return DotNetObject(["System.Management.Automation.FunctionInfo", "System.Management.Automation.CommandInfo"],
                            {"Name": found.name, "CommandType": "Function", "Source": "", "ModuleName": ""},
                            to_string=found.name)
    kind = {"cmdlet": "Cmdlet", "cdxml": "Function", "application": "Application"}[found.kind]
    return DotNetObject([f"System.Management.Automation.{kind}Info", "System.Management.Automation.CommandInfo"],
                        {"Name": found.name, "CommandType": kind, "Source": found.module, "ModuleName": found.module},
                        to_string=found.name)


def _get_command(call: Any) -> Iterator[Any]:
    from toolkit.lab.powershell.commands import resolve

    for name in enumerate_value(call.bound.get("Name")):
        text = to_string(name)
        found = resolve(call.scope, text)
        if found is None:
            call.write_error(ErrorSpec(
                f"The term '{text}' is not recognized as the name of a cmdlet, function, script file, or operable "
                "program. Check the spelling of the name, or if a path was included, verify that the path is "
                "correct and try again.", "CommandNotFoundException", "ObjectNotFound",
                "System.Management.Automation.CommandNotFoundException", text))
            continue
        yield _command_info(text, found)


def _join_path(call: Any) -> Iterator[str]:
    child = to_string(call.bound.get("ChildPath", ""))
    for path in enumerate_value(call.bound.get("Path")):
        base = to_string(path)
        if not child:
            yield base
        elif not base:
            yield child
        else:
            # The FileSystem provider joins with one backslash, whatever the ends look like.
            yield base.rstrip("\\/") + "\\" + child.lstrip("\\/")


def _split_path(call: Any) -> Iterator[str]:
    for path in enumerate_value(call.bound.get("Path")):
        text = to_string(path).rstrip("\\") if len(to_string(path)) > 3 else to_string(path)
        if call.bound.get("Leaf"):
            yield ntpath.basename(text)
        elif call.bound.get("Qualifier"):
            yield ntpath.splitdrive(text)[0]
        else:
            parent = ntpath.dirname(text)
            yield parent if parent != text else ""


def _get_date(call: Any) -> Iterator[Any]:
    from toolkit.lab.powershell.convert import to_datetime
    from toolkit.lab.powershell.fmt import format_datetime

    value = to_datetime(call.bound["Date"]) if "Date" in call.bound else call.machine.now()
    if "Format" in call.bound:
        yield format_datetime(value, to_string(call.bound["Format"]))
    else:
        yield value


def _start_sleep(call: Any) -> None:
    seconds = float(to_int(call.bound.get("Seconds", 0))) + to_int(call.bound.get("Milliseconds", 0)) / 1000
    # No real sleep: a machine with a virtual clock (``sleep(seconds)``) advances it; otherwise nothing happens.
    advance = getattr(call.machine, "sleep", None)
    if callable(advance):
        advance(seconds)


def _new_timespan(call: Any) -> Iterator[timedelta]:
    bound = call.bound
    if "Start" in bound or "End" in bound:
        from toolkit.lab.powershell.convert import to_datetime

        start = to_datetime(bound["Start"]) if "Start" in bound else call.machine.now()
        end = to_datetime(bound["End"]) if "End" in bound else call.machine.now()
        yield end - start
        return
    yield timedelta(days=to_int(bound.get("Days", 0)), hours=to_int(bound.get("Hours", 0)),
                    minutes=to_int(bound.get("Minutes", 0)), seconds=to_int(bound.get("Seconds", 0)))


def _to_secure_string(call: Any) -> Iterator[SecureString]:
    text = call.bound.get("String")
    if not call.bound.get("AsPlainText"):
        raise PSError(make_record("ConvertTo-SecureString without -AsPlainText (DPAPI text) is not modelled.",
                                  "NotImplemented", "NotImplemented"))
    if not call.bound.get("Force"):
        # 5.1: -AsPlainText needs -Force (ConvertTo-SecureString docs).
        raise PSError(make_record("The system cannot protect plain text input. To suppress this warning and convert "
                                  "the plain text to a SecureString, reissue the command specifying the Force "
                                  "parameter.", "ImportSecureString_ForceRequired,"
                                  "Microsoft.PowerShell.Commands.ConvertToSecureStringCommand", "InvalidArgument",
                                  "System.ArgumentException"))
    yield SecureString(to_string(text))


def _specs() -> list[CommandSpec]:
    from toolkit.lab.powershell.jsoncmdlets import convert_from_json, convert_to_json

    obj: ParamType = "object"
    core, util, mgmt = "Microsoft.PowerShell.Core", "Microsoft.PowerShell.Utility", "Microsoft.PowerShell.Management"
    return [
        _spec("ForEach-Object", core, (P("Process", obj, 0), P("InputObject", obj, pipeline=True),
                                       P("MemberName", "string")), _foreach,
              doc="microsoft.powershell.core/foreach-object"),
        _spec("Where-Object", core, (P("FilterScript", obj, 0), P("InputObject", obj, pipeline=True)), _where,
              doc="microsoft.powershell.core/where-object"),
        _spec("Select-Object", util, (P("Property", obj, 0), P("First", "int"), P("Last", "int"), P("Skip", "int"),
                                      P("ExpandProperty", "string"), P("InputObject", obj, pipeline=True)), _select),
        _spec("Sort-Object", util, (P("Property", obj, 0), P("Descending", "switch"), P("Unique", "switch"),
                                    P("CaseSensitive", "switch"), P("InputObject", obj, pipeline=True)), _sort),
        _spec("Measure-Object", util, (P("Property", obj, 0), P("Sum", "switch"), P("Average", "switch"),
                                       P("Maximum", "switch"), P("Minimum", "switch"),
                                       P("InputObject", obj, pipeline=True)), _measure),
        _spec("Out-Null", core, (P("InputObject", obj, pipeline=True),), _out_null),
        _spec("Out-String", util, (P("Stream", "switch"), P("Width", "int"), P("InputObject", obj, pipeline=True)),
              _out_string),
        _spec("Write-Output", util, (P("InputObject", "object[]", 0, pipeline=True), P("NoEnumerate", "switch")),
              _write_output),
        _spec("Write-Error", util, (P("Message", "string", 0), P("Exception", obj), P("ErrorRecord", obj),
                                    P("ErrorId", "string"), P("Category", obj), P("TargetObject", obj)), _write_error),
        _spec("Write-Warning", util, (P("Message", "string", 0, mandatory=True),), _write_warning),
        _spec("Write-Verbose", util, (P("Message", "string", 0, mandatory=True),), _write_verbose),
        _spec("New-Object", util, (P("TypeName", "string", 0), P("ArgumentList", "object[]", 1),
                                   P("Property", "hashtable")), _new_object),
        _spec("Set-StrictMode", core, (P("Version", "string", aliases=("v",)), P("Off", "switch")), _set_strict_mode),
        _spec("Get-Command", core, (P("Name", "string[]", 0), P("CommandType", obj), P("Module", obj)), _get_command),
        _spec("ConvertTo-Json", util, (P("InputObject", obj, 0, pipeline=True), P("Depth", "int"),
                                       P("Compress", "switch")), convert_to_json),
        _spec("ConvertFrom-Json", util, (P("InputObject", "string", 0, mandatory=True, pipeline=True),),
              convert_from_json),
        _spec("Join-Path", mgmt, (P("Path", "string[]", 0, mandatory=True), P("ChildPath", "string", 1),
                                  P("Resolve", "switch")), _join_path),
        _spec("Split-Path", mgmt, (P("Path", "string[]", 0, mandatory=True, pipeline=True), P("Parent", "switch"),
                                   P("Leaf", "switch"), P("Qualifier", "switch")), _split_path),
        _spec("Get-Date", util, (P("Date", "datetime", 0), P("Format", "string"), P("UFormat", "string")), _get_date),
        _spec("Start-Sleep", util, (P("Seconds", "int", 0), P("Milliseconds", "int")), _start_sleep),
        _spec("New-TimeSpan", util, (P("Start", "datetime", 0), P("End", "datetime", 1), P("Days", "int"),
                                     P("Hours", "int"), P("Minutes", "int"), P("Seconds", "int")), _new_timespan),
        _spec("ConvertTo-SecureString", "Microsoft.PowerShell.Security",
              (P("String", "string", 0, mandatory=True, pipeline=True), P("AsPlainText", "switch"),
               P("Force", "switch")), _to_secure_string),
    ]


BUILTINS: dict[str, CommandSpec] = {spec.name.lower(): spec for spec in _specs()}
# The default aliases the templates' style allows (about_Aliases; Windows PowerShell 5.1 defaults).
ALIASES = {"%": "foreach-object", "foreach": "foreach-object", "?": "where-object", "where": "where-object",
           "select": "select-object", "sort": "sort-object", "measure": "measure-object", "write": "write-output",
           "echo": "write-output", "gcm": "get-command"}
