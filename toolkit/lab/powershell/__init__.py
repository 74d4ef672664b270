"""The lab's PowerShell engine: runs rendered jcfix scripts against a simulated Windows machine.

A :class:`Runspace` stands for one PSRP runspace pool: it keeps the global scope between pipelines.
``run_script(script, parameters)`` runs the script as pypsrp's ``add_script`` does: dot-sourced into the
global scope unless ``use_local_scope`` (``Command.CreateCommandProcessor``, ``_useLocalScope ?? false``:
fact sheet §8), so functions, variables and ``Set-StrictMode`` persist into the next run of the same runspace
(its parameters and the preferences its common parameters set do not: see :class:`DottedScope`).
Parameters bind to the script's ``param()`` block as PowerShell's binder does.

Unsupported syntax raises :class:`UnsupportedConstruct` before anything runs (the whole script is compiled
first), naming the construct and its line. A Python exception from the machine or the engine (a lab bug, never a
Windows behaviour) ends the run with a terminating ``LabBug`` record no ``catch`` can swallow, and
:attr:`ScriptRun.lab_bug` says where it came from. :mod:`~toolkit.lab.powershell.hosting` runs the machine's
scheduled tasks (``powershell.exe -File``/``-EncodedCommand``) through this engine.

Known simplifications (each visible, none silent): a pipeline runs stage by stage instead of streaming, so
``Select-Object -First`` does not stop the commands before it early and side effects of different stages do not
interleave; the last stage writes straight to its statement's output, so output written before a terminating
error is kept. ``trap``, labels on loops, ``switch`` options, ``$?`` and ``$MyInvocation`` are refused. The
tree-sitter grammar rejects a ``param()`` block on the same line as a function's opening brace (a parse error).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from toolkit.lab.powershell.binding import Arg, bind, plain_psrp
from toolkit.lab.powershell.compile_defs import compile_script
from toolkit.lab.powershell.contract import Machine
from toolkit.lab.powershell.errors import ErrorRecord, ExitFlow, PSError, ReturnFlow, UnsupportedConstruct
from toolkit.lab.powershell.functions import bind_into, run_blocks
from toolkit.lab.powershell.netcall import lab_bug_message
from toolkit.lab.powershell.runtime import DottedScope, RunState, Runtime, Scope
from toolkit.lab.powershell.values import DotNetList, to_string


@dataclass
class ErrorRecordInfo:
    """An error record as it leaves the engine (what PSRP serialises of it)."""

    message: str
    exception_type: str
    category: str
    fully_qualified_error_id: str
    target_name: str
    position_message: str = ""


@dataclass
class ScriptRun:
    """What one ``run_script`` produced: output objects, error records, the terminating error, side streams."""

    output: list[Any]
    errors: list[ErrorRecordInfo]
    terminating: ErrorRecordInfo | None
    whatif_lines: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # Set when a Python exception (a bug of the lab's machine or engine, never a Windows behaviour) ended the
    # run; ``terminating`` then carries the same text with exception type and error id ``LabBug``.
    lab_bug: str | None = None
    # The code of an ``exit N`` that ended the script (None: it did not call exit).
    exit_code: int | None = None


def info(record: ErrorRecord, *, stopped: bool = False) -> ErrorRecordInfo:
    """The record as data. A record that stopped a run through ErrorAction Stop keeps its message and id but
    travels as ActionPreferenceStopException (its message is the original's in 5.1, brief/fact sheet §8)."""
    exception_type = "System.Management.Automation.ActionPreferenceStopException" if stopped \
        else record.exception.type_name
    target = record.target
    return ErrorRecordInfo(record.exception.message, exception_type, record.category,
                           record.fully_qualified_error_id, "" if target is None else to_string(target),
                           record.position)


LAB_BUG = "LabBug"

# Preference variables' defaults in a new runspace (about_Preference_Variables).
DEFAULT_PREFERENCES = {
    "erroractionpreference": "Continue", "whatifpreference": False, "progresspreference": "Continue",
    "verbosepreference": "SilentlyContinue", "warningpreference": "Continue", "debugpreference": "SilentlyContinue",
    "confirmpreference": "High", "informationpreference": "SilentlyContinue", "ofs": " ",
}


class Runspace:
    """One PSRP runspace pool's engine state (see the module docstring)."""

    def __init__(self, machine: Machine) -> None:
        self.runtime = Runtime(machine)
        self.runtime.automatic.update({k.lower(): v for k, v in machine.automatic_variables().items()})
        self.runtime.automatic["error"] = DotNetList("System.Collections.ArrayList")
        self.global_scope = Scope(None, self.runtime, is_script=True)
        self.global_scope.vars.update(DEFAULT_PREFERENCES)
        self.global_scope.vars["lastexitcode"] = 0

    def run_script(self, script: str, parameters: Sequence[tuple[str | None, Any]] = (), *,
                   use_local_scope: bool = False) -> ScriptRun:
        """Run ``script`` with PSRP ``parameters`` (``(name, value)``, name None for positional)."""
        definition = compile_script(script)
        rt = self.runtime
        rt.run = RunState()
        rt.env_block = None
        rt.source = script
        rt.try_depth = 0
        rt.error_sinks = []
        scope = Scope(self.global_scope, rt, is_script=True) if use_local_scope else DottedScope(self.global_scope)
        output: list[Any] = []
        terminating: ErrorRecordInfo | None = None
        lab_bug: str | None = None
        exit_code: int | None = None
        try:
            args = [Arg(name.lstrip("-") if name else None, plain_psrp(value)) for name, value in parameters]
            bound = bind(definition.signature(), args)
            bind_into(scope, definition, bound)
            run_blocks(scope, definition, bound, None, output)
        except PSError as exc:
            terminating = info(exc.record, stopped=exc.stopped_by_preference)
        except ExitFlow as exc:
            exit_code = exc.code
        except ReturnFlow:
            pass
        except Exception as exc:  # a lab bug: it must reach the caller as a visible terminating error
            terminating = ErrorRecordInfo(lab_bug_message(exc), LAB_BUG, "NotSpecified", LAB_BUG, "")
            lab_bug = terminating.message
        return ScriptRun(output, [info(r) for r in rt.run.errors], terminating, list(rt.run.whatif_lines),
                         list(rt.run.warnings), lab_bug, exit_code)


def to_host_string(value: Any) -> str:
    """How an output object crosses PSRP as text when it is a string (``[string]`` conversion)."""
    return to_string(value)


__all__ = ["ErrorRecordInfo", "Runspace", "ScriptRun", "UnsupportedConstruct", "to_host_string"]
