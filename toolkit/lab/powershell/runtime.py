"""Scopes, variables and the per-run state of the lab PowerShell engine.

PowerShell scopes (about_Scopes, learn.microsoft.com): the global scope of a runspace, a script scope for a
script run in its own scope, and one new scope per function or script block call; a dot-sourced script runs
in its caller's scope. Variable lookup walks from the current scope to the global one; assignment without a
scope modifier writes the current scope. Preference variables are found the same way, which is how a called
function "inherits" its caller's ``$ErrorActionPreference`` (dynamic scoping).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from toolkit.lab.powershell.contract import CaseInsensitiveDict, Machine

if TYPE_CHECKING:
    from toolkit.lab.powershell.errors import ErrorRecord
    from toolkit.lab.powershell.functions import FunctionDef

_MISSING = object()
MISSING: Any = _MISSING


class Scope:
    """One PowerShell scope: variables (lower-cased names), functions, strict-mode version."""

    __slots__ = ("cmdlet", "functions", "is_script", "node_source", "parent", "rt", "strict", "vars")

    def __init__(self, parent: Scope | None, rt: Runtime, *, is_script: bool = False) -> None:
        self.vars: dict[str, Any] = {}
        self.parent = parent
        self.functions: dict[str, FunctionDef] = {}
        self.strict: int | None = None  # None: inherit; 0: off
        self.rt = rt
        self.is_script = is_script
        self.cmdlet: Any = None  # the $PSCmdlet of the advanced function running in this scope

    def strict_target(self) -> Scope:
        """The scope Set-StrictMode changes (a dot-sourced script's layer passes it to its caller's scope)."""
        return self

    def child(self) -> Scope:
        scope = Scope(self, self.rt)
        return scope

    def lookup(self, name: str) -> Any:
        """The value of variable ``name`` (lower-cased), or :data:`MISSING`."""
        scope: Scope | None = self
        while scope is not None:
            value = scope.vars.get(name, _MISSING)
            if value is not _MISSING:
                return value
            scope = scope.parent
        return self.rt.automatic.get(name, _MISSING)

    def set(self, name: str, value: Any) -> None:
        self.vars[name] = value

    def strict_version(self) -> int:
        """The strict-mode version in force here (Set-StrictMode applies to a scope and its children)."""
        scope: Scope | None = self
        while scope is not None:
            if scope.strict is not None:
                return scope.strict
            scope = scope.parent
        return 0

    def script_scope(self) -> Scope:
        scope: Scope = self
        while not scope.is_script and scope.parent is not None:
            scope = scope.parent
        return scope

    def global_scope(self) -> Scope:
        scope: Scope = self
        while scope.parent is not None:
            scope = scope.parent
        return scope

    def find_function(self, name: str) -> FunctionDef | None:
        scope: Scope | None = self
        while scope is not None:
            found = scope.functions.get(name)
            if found is not None:
                return found
            scope = scope.parent
        return None

    def preference(self, name: str, default: str) -> str:
        value = self.lookup(name)
        return default if value is _MISSING or value is None else str(value)

    def whatif_preference(self) -> bool:
        from toolkit.lab.powershell.values import truthy

        value = self.lookup("whatifpreference")
        return value is not _MISSING and truthy(value)


class DottedScope(Scope):
    """What a dot-sourced script runs in: its caller's scope plus a layer holding only its own parameters,
    ``$PSCmdlet``/``$PSBoundParameters`` and the preferences its common parameters set.

    Engine source ``DlrScriptCommandProcessor`` (``EnterScope``/``ExitScope``, ``SetPreferenceVariables``): a
    dot-sourced script's locals tuple is pushed on the current scope's ``DottedScopes`` while it runs and popped
    after, so those go away; everything else it assigns or defines (variables, functions, ``Set-StrictMode``)
    lands in the caller's scope and stays.
    """

    __slots__ = ("caller",)

    def __init__(self, parent: Scope) -> None:
        super().__init__(parent, parent.rt)
        self.caller = parent  # the parent, typed as never None: a dotted layer always sits on a caller's scope
        self.functions = parent.functions

    def set(self, name: str, value: Any) -> None:
        if name in self.vars:
            self.vars[name] = value
        else:
            self.caller.set(name, value)

    def strict_target(self) -> Scope:
        return self.caller


@dataclass
class RunState:
    """What one ``run_script`` collects besides its output."""

    errors: list[ErrorRecord] = field(default_factory=list)
    whatif_lines: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    verbose: list[str] = field(default_factory=list)


class Runtime:
    """The state a Runspace keeps across pipelines: the machine, automatic variables, ``$env:`` overrides."""

    def __init__(self, machine: Machine) -> None:
        self.machine = machine
        self.automatic: dict[str, Any] = {}
        self.env_overrides = CaseInsensitiveDict()
        self.env_block: dict[str, Any] | None = None
        self.run = RunState()
        self.try_depth = 0
        self.source = ""
        self.clock_offset = 0.0
        self.call_depth = 0
        self.error_sinks: list[list[Any]] = []

    def env(self, name: str) -> Any:
        if name in self.env_overrides:
            return self.env_overrides[name]
        if self.env_block is None:
            # A process's environment block is its own copy, made when it starts: read once per run.
            self.env_block = {key.lower(): value for key, value in self.machine.environment().items()}
        return self.env_block.get(name.lower())
