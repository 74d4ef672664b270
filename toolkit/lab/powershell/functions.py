"""Script functions, script blocks, ``$PSCmdlet`` and how a call runs them.

A function call gets a new scope whose parent is the *caller's* scope (PowerShell's dynamic scoping,
about_Scopes), which is how preferences flow into called functions. An advanced function (CmdletBinding)
takes the common parameters: ``-ErrorAction X`` sets ``$ErrorActionPreference`` in the function's scope,
``-WhatIf``/``-WhatIf:$false`` sets ``$WhatIfPreference`` there, ``-Verbose`` ``$VerbosePreference``
(``CommandProcessorBase.SetPreferenceVariables`` in the engine source). ``$PSCmdlet.ShouldProcess`` answers
False under WhatIf and writes ``What if: Performing the operation "ACTION" on target "TARGET".``
(``MshCommandRuntime.DoShouldProcess``, resource ``ShouldProcessMessage``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from toolkit.lab.powershell.binding import Arg, Bound, ParamInfo, Signature, bind, convert_param, validate
from toolkit.lab.powershell.contract import DotNetObject
from toolkit.lab.powershell.errors import ErrorRecord, PSError, ReturnFlow, make_record
from toolkit.lab.powershell.runtime import Scope
from toolkit.lab.powershell.values import Hashtable, to_string

Block = Callable[[Scope, list[Any]], None]
MAX_CALL_DEPTH = 100  # 5.1 stops far deeper; the lab only needs to stop runaway recursion


@dataclass
class FunctionDef:
    """A compiled function or script: its parameters and its begin/process/end blocks."""

    name: str
    params: list[ParamInfo]
    begin: Block | None = None
    process: Block | None = None
    end: Block | None = None
    advanced: bool = False
    should_process: bool = False
    default_set: str | None = None
    is_filter: bool = False
    source_text: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)

    _signature: Signature | None = field(default=None, repr=False, compare=False)

    def signature(self) -> Signature:
        """Built once: its fields do not change after compilation, and it caches name resolution."""
        if self._signature is None:
            self._signature = Signature(self.name, self.params, self.advanced, self.should_process, self.default_set)
        return self._signature


class ScriptBlock:
    """A ``{ ... }`` value: ``[string]`` gives its text; ``&`` runs it in a child scope."""

    type_names = ("System.Management.Automation.ScriptBlock", "System.Object")

    def __init__(self, definition: FunctionDef) -> None:
        self.definition = definition

    def __str__(self) -> str:
        return self.definition.source_text

    def run_dot_sourced(self, scope: Scope, underscore: Any, *, set_underscore: bool = True) -> list[Any]:
        """Run in ``scope`` itself with ``$_`` set (how ForEach-Object and Where-Object run their blocks)."""
        out: list[Any] = []
        saved = scope.vars.get("_", _UNSET)
        if set_underscore:
            scope.vars["_"] = underscore
        try:
            for block in (self.definition.begin, self.definition.process, self.definition.end):
                if block is not None:
                    try:
                        block(scope, out)
                    except ReturnFlow:
                        break
        finally:
            if saved is _UNSET:
                scope.vars.pop("_", None)
            else:
                scope.vars["_"] = saved
        return out


_UNSET = object()


class PSCmdletObject(DotNetObject):
    """``$PSCmdlet`` of an advanced function."""

    def __init__(self, name: str, bound: Bound, scope: Scope) -> None:
        super().__init__(["System.Management.Automation.PSScriptCmdlet", "System.Management.Automation.PSCmdlet"], {
            "ParameterSetName": bound.parameter_set,
            # Built when read: every advanced function call makes a $PSCmdlet, few scripts look at MyInvocation.
            "MyInvocation": lambda: self._invocation(name, bound),
        })
        self.name = name
        self.scope = scope

    _my_invocation: DotNetObject | None = None

    def _invocation(self, name: str, bound: Bound) -> DotNetObject:
        if self._my_invocation is None:
            self._my_invocation = DotNetObject(["System.Management.Automation.InvocationInfo"], {
                "MyCommand": DotNetObject(["System.Management.Automation.FunctionInfo"], {"Name": name},
                                          to_string=name),
                "BoundParameters": Hashtable(bound.values.items()), "InvocationName": name,
            })
        return self._my_invocation

    def call_in_scope(self, caller: Scope, method: str, args: list[Any]) -> Any:
        lowered = method.lower()
        if lowered == "shouldprocess":
            return self.should_process(args)
        if lowered == "throwterminatingerror":
            record = args[0] if args else None
            if not isinstance(record, ErrorRecord):
                raise PSError(make_record('Cannot convert argument "errorRecord" to type ErrorRecord.',
                                          "MethodArgumentConversionInvalidCastArgument", "NotSpecified",
                                          "System.Management.Automation.MethodException"))
            if "," not in record.fully_qualified_error_id:
                # ErrorRecord.SetInvocationInfo appends the command name to the error id.
                record.fully_qualified_error_id = f"{record.fully_qualified_error_id},{self.name}"
            raise PSError(record, kind="command")
        if lowered == "writeerror":
            from toolkit.lab.powershell.commands import write_error

            write_error(self.scope, args[0], self.scope.preference("erroractionpreference", "Continue"))
            return None
        if lowered == "writewarning":
            self.scope.rt.run.warnings.append(to_string(args[0]))
            return None
        if lowered in ("writeverbose", "writedebug"):
            return None
        if lowered == "writeobject":
            raise PSError(make_record("$PSCmdlet.WriteObject is not modelled by the lab engine.",
                                      "NotImplemented", "NotImplemented"))
        from toolkit.lab.powershell.methods import call_method

        return call_method(self, method, args)

    def should_process(self, args: list[Any]) -> bool:
        target = to_string(args[0]) if args else ""
        action = to_string(args[1]) if len(args) > 1 else self.name
        if self.scope.whatif_preference():
            self.scope.rt.run.whatif_lines.append(f'What if: Performing the operation "{action}" on target "{target}".')
            return False
        return True


def _default_for(param: ParamInfo) -> Any:
    """An unbound typed parameter holds its type's default ([string] '' , [int] 0, [switch] False)."""
    if param.is_switch or param.type == "System.Boolean":
        return False
    if param.type in ("System.Int32", "System.Int64", "System.Double"):
        return 0
    if param.type == "System.String":
        return ""
    return None


def set_preferences(scope: Scope, common: dict[str, Any]) -> None:
    """Common parameters become preference variables of the command's own scope."""
    for name, value in common.items():
        lowered = name.lower()
        if lowered == "erroraction":
            scope.vars["erroractionpreference"] = value
        elif lowered == "warningaction":
            scope.vars["warningpreference"] = value
        elif lowered == "whatif":
            scope.vars["whatifpreference"] = bool(value)
        elif lowered == "verbose":
            scope.vars["verbosepreference"] = "Continue" if value else "SilentlyContinue"


def bind_into(scope: Scope, fdef: FunctionDef, bound: Bound) -> None:
    """Set the bound parameters (and defaults) as variables of ``scope``."""
    for param in fdef.params:
        key = param.name.lower()
        if param.name in bound.values:
            scope.vars[key] = bound.values[param.name]
        elif param.default is not None:
            scope.vars[key] = convert_param(fdef.signature(), param, param.default(scope))
        else:
            scope.vars[key] = _default_for(param)
    scope.vars["psboundparameters"] = Hashtable(bound.values.items())
    if not fdef.advanced:
        scope.vars["args"] = list(bound.extra)
    if fdef.advanced:
        cmdlet = PSCmdletObject(fdef.name, bound, scope)
        scope.vars["pscmdlet"] = cmdlet
        scope.cmdlet = cmdlet
        set_preferences(scope, bound.common)


def run_blocks(scope: Scope, fdef: FunctionDef, bound: Bound, pipeline_input: list[Any] | None,
               out: list[Any] | None = None) -> list[Any]:
    """begin, process (once per input object, or once without input), end; ``return`` ends one block."""
    out = [] if out is None else out
    signature = fdef.signature()
    if fdef.begin is not None:
        _run_block(fdef.begin, scope, out)
    process = fdef.process if not fdef.is_filter else (fdef.process or fdef.end)
    if process is not None:
        items = pipeline_input if pipeline_input is not None else [_NO_INPUT]
        for item in items:
            if item is not _NO_INPUT:
                scope.vars["_"] = item
                param = bound.pipeline_param
                if param is not None:
                    value = convert_param(signature, param, item)
                    validate(signature, param, value)
                    scope.vars[param.name.lower()] = value
            _run_block(process, scope, out)
    if fdef.end is not None and not fdef.is_filter:
        scope.vars["input"] = list(pipeline_input or [])
        _run_block(fdef.end, scope, out)
    return out


_NO_INPUT = object()


def _run_block(block: Block, scope: Scope, out: list[Any]) -> None:
    with contextlib.suppress(ReturnFlow):
        block(scope, out)


def call_function(caller: Scope, fdef: FunctionDef, args: list[Arg], pipeline_input: list[Any] | None,
                  out: list[Any] | None = None) -> list[Any]:
    """Run a script function: bind, new scope, blocks (output into ``out``). ThrowTerminatingError ends it here."""
    rt = caller.rt
    if rt.call_depth >= MAX_CALL_DEPTH:
        raise PSError(make_record("The script failed due to call depth overflow.", "CallDepthOverflow",
                                  "InvalidOperation", "System.Management.Automation.ScriptCallDepthException"),
                      kind="script")
    bound = bind(fdef.signature(), args, has_input=pipeline_input is not None)
    scope = caller.child()
    bind_into(scope, fdef, bound)
    rt.call_depth += 1
    try:
        return run_blocks(scope, fdef, bound, pipeline_input, out)
    except PSError as exc:
        if exc.kind == "command":
            exc.kind = "statement"  # a terminating error of this command: it ends the caller's statement
        raise
    finally:
        rt.call_depth -= 1


def call_scriptblock(caller: Scope, block: ScriptBlock, args: list[Arg], pipeline_input: list[Any] | None,
                     out: list[Any] | None = None) -> list[Any]:
    """``& { ... } args``: a child scope, like a function."""
    return call_function(caller, block.definition, args, pipeline_input, out)
