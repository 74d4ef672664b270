"""Scopes: dot-sourced runs into the runspace's global scope (pypsrp's default), local scope, functions."""

from __future__ import annotations

from psengine_fakes import FakeMachine
from psengine_support import Run

from toolkit.lab.powershell import Runspace

DEFINE = """Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
$Leftover = 'from run 1'
function Get-Leftover {
    'function from run 1'
}
'defined'
"""
PROBE = """$found = Get-Command -Name Get-Leftover -ErrorAction SilentlyContinue
$a = $(if ($found) { Get-Leftover } else { 'no function' })
$a
$ErrorActionPreference
try { $NeverSet; 'no strict mode' } catch { $_.FullyQualifiedErrorId }
"""


def test_dot_sourced_run_leaves_functions_variables_and_strict_mode_for_the_next_run() -> None:
    # pypsrp add_script without use_local_scope: Command.CreateCommandProcessor uses _useLocalScope ?? false.
    runspace = Runspace(FakeMachine())
    assert runspace.run_script(DEFINE).output == ["defined"]
    result = runspace.run_script(PROBE)
    assert result.output == ["function from run 1", "Stop", "VariableIsUndefined"]
    assert runspace.run_script("$Leftover").output == ["from run 1"]


def test_local_scope_run_leaves_nothing_behind() -> None:
    runspace = Runspace(FakeMachine())
    assert runspace.run_script(DEFINE, use_local_scope=True).output == ["defined"]
    result = runspace.run_script(PROBE, use_local_scope=True)
    assert result.output == ["no function", "Continue", None, "no strict mode"]


def test_function_scope_reads_callers_variables_and_writes_its_own(run: Run) -> None:
    script = """$x = 'outer'
function Set-X {
    "inside sees $x"
    $x = 'inner'
    $script:y = 'script-level'
}
Set-X
$x
$y
"""
    assert run(script).output == ["inside sees outer", "outer", "script-level"]


def test_dynamic_scoping_of_preferences_into_called_functions(run: Run) -> None:
    script = """function Inner {
    $ErrorActionPreference
}
function Outer {
    $ErrorActionPreference = 'SilentlyContinue'
    Inner
}
Outer
Inner
"""
    assert run(script).output == ["SilentlyContinue", "Continue"]


def test_foreach_object_block_runs_in_the_callers_scope(run: Run) -> None:
    assert run("1, 2, 3 | ForEach-Object { $last = $_ }\n$last").output == [3]


def test_script_block_call_operator_gets_its_own_scope(run: Run) -> None:
    script = "$v = 1\n& {\n    $v = 2\n    $v\n}\n$v"
    assert run(script).output == [2, 1]


def test_env_variables_come_from_the_machine(run: Run) -> None:
    assert run("$env:computername\n$env:ProgramFiles\n$env:NOPE -eq $null").output == [
        "LAB-PC", "C:\\Program Files", True]


def test_dot_sourced_parameters_and_common_parameter_preferences_do_not_persist() -> None:
    # DlrScriptCommandProcessor: a dot-sourced script's locals tuple (parameters, $PSCmdlet, the preferences
    # set by -WhatIf/-ErrorAction) is pushed on DottedScopes while it runs and popped afterwards.
    runspace = Runspace(FakeMachine())
    script = "[CmdletBinding(SupportsShouldProcess)]\nparam([string] $Name)\n$Kept = $Name\n$WhatIfPreference"
    assert runspace.run_script(script, [("Name", "n"), ("WhatIf", None)]).output == [True]
    probe = runspace.run_script("$WhatIfPreference\n$Kept\nTest-Path -LiteralPath 'C:\\nothing'\n$null -eq $Name")
    assert probe.output == [False, "n", False, True]
