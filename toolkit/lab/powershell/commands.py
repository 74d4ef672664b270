"""Running one command of a pipeline: resolution, binding, preferences, errors, native programs.

Resolution order (about_Command_Precedence): functions, then cmdlets (the engine's own built-ins first,
then the machine's commands), then native programs. Effective preferences for a ``CommandSpec``:

* ``cmdlet``: its own ``-WhatIf``/``-ErrorAction``, else the caller's ``$WhatIfPreference`` (when it supports
  ShouldProcess) and ``$ErrorActionPreference`` found by dynamic scoping (fact sheet §8, Invoke-CimMethod);
* ``cdxml``: only an explicit ``-WhatIf``/``-ErrorAction`` (a CDXML function runs in its module's scope and
  does not see a caller's script-scope preferences: fact sheet §8, ScheduledTasks).

Non-terminating errors follow the effective ErrorAction: ``Stop`` raises (ActionPreferenceStopException,
script-terminating: MicrosoftDocs/PowerShell-Docs#1583 "Our Error Handling, Ourselves"), ``Continue`` records,
``SilentlyContinue`` only adds to ``$Error``, ``Ignore`` drops. ``2>&1`` sends the records to the output.

Native programs (fact sheet §8): ``$LASTEXITCODE`` is set; in a remote session each stderr line becomes an
error record (``NativeCommandError``), which the ErrorAction preference applies to, so under ``Stop`` the
first line ends the script. In Windows PowerShell 5.1 this holds when stderr is redirected too (``2>&1``,
``2>$null``): the records pass through the error stream first (PowerShell 7.1 changed it: MicrosoftDocs/
PowerShell-Docs#6466, PowerShell/PowerShell#13361).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from toolkit.lab.powershell.binding import SPEC_TYPES, Arg, ParamInfo, Signature, bind
from toolkit.lab.powershell.contract import CommandError, CommandSpec, ErrorSpec, Machine
from toolkit.lab.powershell.errors import ErrorRecord, ExceptionObject, PSError, make_record, position_message
from toolkit.lab.powershell.functions import FunctionDef, ScriptBlock, call_function, call_scriptblock
from toolkit.lab.powershell.runtime import Scope
from toolkit.lab.powershell.values import enumerate_value, to_string

ArgFn = Callable[[Scope], list[Arg]]


@dataclass
class CompiledCommand:
    """A command element of a pipeline as the compiler left it."""

    name: str | None
    name_fn: Callable[[Scope], Any] | None
    args: ArgFn
    merge_errors: bool
    discard_errors: bool
    discard_output: bool
    line: int
    column: int
    length: int
    dot_source: bool = False


def command_type_name(spec: CommandSpec) -> str:
    """What PowerShell appends to a command's error ids: the cmdlet's class, or a function's name.

    Cmdlet classes are ``Verb``+``Noun``+``Command`` in the module's namespace (``GetItemCommand`` in
    ``Microsoft.PowerShell.Commands``; CIM cmdlets in ``Microsoft.Management.Infrastructure.CimCmdlets``).
    """
    if spec.kind != "cmdlet":
        return spec.name
    namespace = "Microsoft.Management.Infrastructure.CimCmdlets" if spec.module.lower() == "cimcmdlets" \
        else "Microsoft.PowerShell.Commands"
    return f"{namespace}.{spec.name.replace('-', '')}Command"


def record_from_spec(spec: ErrorSpec, command: CommandSpec | None) -> ErrorRecord:
    error_id = spec.error_id if command is None else f"{spec.error_id},{command_type_name(command)}"
    return ErrorRecord(ExceptionObject(spec.exception_type, spec.message), error_id, spec.category, spec.target,
                       activity=command.name if command else "")


def write_error(scope: Scope, record: ErrorRecord, action: str) -> None:
    """A non-terminating error under ErrorAction ``action`` (see the module docstring)."""
    rt = scope.rt
    if action == "Stop":
        raise PSError(record, kind="script", stopped_by_preference=True)
    if action == "Ignore":
        return
    error_list = rt.automatic.get("error")
    if error_list is not None:
        error_list.insert(0, record)
    if action == "SilentlyContinue":
        return
    if rt.error_sinks:
        rt.error_sinks[-1].append(record)
    else:
        rt.run.errors.append(record)


class Call:
    """The :class:`~toolkit.lab.powershell.contract.CommandCall` a command implementation receives."""

    def __init__(self, scope: Scope, spec: CommandSpec, bound: Mapping[str, Any], pipeline_input: list[Any] | None,
                 whatif: bool, error_action: str, line: int) -> None:
        self.scope = scope
        self.machine: Machine = scope.rt.machine
        self.spec = spec
        self.bound = bound
        self.input = pipeline_input
        self.whatif = whatif
        self.error_action = error_action
        self.line = line

    def should_process(self, target: str, action: str) -> bool:
        if self.whatif:
            self.scope.rt.run.whatif_lines.append(
                f'What if: Performing the operation "{action}" on target "{target}".')
            return False
        return True

    def write_error(self, spec: ErrorSpec) -> None:
        record = record_from_spec(spec, self.spec)
        record.line = self.line
        write_error(self.scope, record, self.error_action)

    def write_record(self, record: ErrorRecord) -> None:
        """Engine built-ins (Write-Error) write a record they built themselves."""
        write_error(self.scope, record, self.error_action)

    def write_warning(self, message: str) -> None:
        preference = self.scope.preference("warningpreference", "Continue")
        if self.bound.get("__warning_action"):
            preference = self.bound["__warning_action"]
        if preference not in ("SilentlyContinue", "Ignore"):
            self.scope.rt.run.warnings.append(message)


def spec_signature(spec: CommandSpec) -> Signature:
    params = [ParamInfo(p.name, SPEC_TYPES.get(p.type, "object"), p.position, p.mandatory, p.pipeline, p.aliases,
                        p.sets) for p in spec.parameters]
    return Signature(spec.name, params, advanced=True, should_process=spec.supports_should_process)


@lru_cache(maxsize=2048)
def _signature(spec: CommandSpec) -> Signature:
    """CommandSpec is a frozen dataclass: equal specs share one Signature, however often the machine builds them."""
    return spec_signature(spec)


def command_not_found(name: str) -> PSError:
    return PSError(make_record(
        f"The term '{name}' is not recognized as the name of a cmdlet, function, script file, or operable program. "
        "Check the spelling of the name, or if a path was included, verify that the path is correct and try again.",
        "CommandNotFoundException", "ObjectNotFound", "System.Management.Automation.CommandNotFoundException",
        target=name))


def resolve(scope: Scope, name: str) -> FunctionDef | CommandSpec | None:
    """A function, an engine built-in, or a machine command named ``name`` (without case)."""
    from toolkit.lab.powershell.builtins import ALIASES, BUILTINS

    lowered = name.lower()
    found = scope.find_function(lowered)
    if found is not None:
        return found
    lowered = ALIASES.get(lowered, lowered)
    builtin = BUILTINS.get(lowered)
    if builtin is not None:
        return builtin
    return scope.rt.machine.commands().get(lowered)


def invoke(scope: Scope, command: CompiledCommand, pipeline_input: list[Any] | None,
           sink: list[Any] | None = None) -> list[Any]:
    """Run ``command`` with ``pipeline_input`` (None: first in its pipeline); returns its output objects.

    The lab runs a pipeline stage by stage, not streaming; the last stage writes straight into ``sink`` so
    that what it wrote before a terminating error stays written, as it would in PowerShell.
    """
    rt = scope.rt
    out: list[Any] = sink if sink is not None and not command.discard_output else []
    if command.merge_errors:
        rt.error_sinks.append(out)
    elif command.discard_errors:
        rt.error_sinks.append([])
    try:
        _dispatch(scope, command, pipeline_input, out)
    except PSError as exc:
        if not exc.record.position:
            exc.record.position = position_message(rt.source, command.line, command.column, command.length)
            exc.record.line = command.line
        raise
    finally:
        if command.merge_errors or command.discard_errors:
            rt.error_sinks.pop()
    return [] if command.discard_output or out is sink else out


def _dispatch(scope: Scope, command: CompiledCommand, pipeline_input: list[Any] | None, out: list[Any]) -> None:
    target: Any = command.name
    if command.name_fn is not None:
        target = command.name_fn(scope)
    args = command.args(scope)
    if isinstance(target, ScriptBlock):
        call_scriptblock(scope, target, args, pipeline_input, out)
        return
    name = to_string(target)
    resolved = resolve(scope, name)
    if isinstance(resolved, FunctionDef):
        call_function(scope, resolved, args, pipeline_input, out)
    elif isinstance(resolved, CommandSpec) and resolved.kind != "application":
        _run_spec(scope, resolved, args, pipeline_input, out, command.line)
    elif isinstance(resolved, CommandSpec) or command.name_fn is not None or "\\" in name or "/" in name:
        run_native(scope, name, args, out, merge=command.merge_errors)
    else:
        raise command_not_found(name)


def effective(scope: Scope, spec: CommandSpec, common: Mapping[str, Any]) -> tuple[bool, str]:
    """(WhatIf, ErrorAction) for ``spec`` (see the module docstring)."""
    if "WhatIf" in common:
        whatif = bool(common["WhatIf"])
    elif spec.kind == "cmdlet" and spec.supports_should_process:
        whatif = scope.whatif_preference()
    else:
        whatif = False
    if "ErrorAction" in common:
        action = str(common["ErrorAction"])
    elif spec.kind == "cmdlet":
        action = scope.preference("erroractionpreference", "Continue")
    else:
        action = "Continue"
    return whatif, action


def _run_spec(scope: Scope, spec: CommandSpec, args: list[Arg], pipeline_input: list[Any] | None, out: list[Any],
              line: int) -> None:
    bound = bind(_signature(spec), args, has_input=pipeline_input is not None)
    whatif, action = effective(scope, spec, bound.common)
    values = dict(bound.values)
    if "WarningAction" in bound.common:
        values["__warning_action"] = bound.common["WarningAction"]
    call = Call(scope, spec, values, pipeline_input, whatif, action, line)
    try:
        produced = spec.invoke(call)
        if produced is not None:
            for item in produced:
                out.append(item)
    except CommandError as exc:
        raise PSError(record_from_spec(exc.spec, spec), kind="statement") from None


def native_args(args: list[Arg]) -> list[str]:
    """Arguments of a native program as text (arrays spread into separate arguments)."""
    out: list[str] = []
    for arg in args:
        if arg.name is not None:
            out.append(f"-{arg.name}" + (f":{to_string(arg.value)}" if arg.has_value else ""))
        elif isinstance(arg.value, (list, tuple)):
            out.extend(to_string(v) for v in arg.value)
        else:
            out.append(to_string(arg.value))
    return out


def run_native(scope: Scope, path: str, args: list[Arg], out: list[Any], *, merge: bool) -> None:
    """``& $path args``: output lines, ``$LASTEXITCODE``, stderr lines as NativeCommandError records."""
    try:
        result = scope.rt.machine.run_native(path, native_args(args))
    except CommandError as exc:  # the machine could not start it (CommandNotFoundException...)
        raise PSError(record_from_spec(exc.spec, None), kind="statement") from None
    scope.global_scope().vars["lastexitcode"] = result.exit_code
    out.extend(result.stdout)
    action = scope.preference("erroractionpreference", "Continue")
    for index, line in enumerate(result.stderr):
        error_id = "NativeCommandError" if index == 0 else "NativeCommandErrorMessage"
        record = ErrorRecord(ExceptionObject("System.Management.Automation.RemoteException", line), error_id,
                             "NotSpecified", line)
        write_error(scope, record, action)


def enumerate_input(value: Any) -> list[Any]:
    """An expression's value as pipeline input: arrays unroll, ``$null`` is one ``$null`` object."""
    if value is None:
        return [None]
    return list(enumerate_value(value))


def output_items(produced: Iterable[Any] | None) -> list[Any]:
    return list(produced) if produced is not None else []
