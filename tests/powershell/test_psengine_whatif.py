"""-WhatIf and ShouldProcess: advanced scripts, functions, cmdlets (caller's preference) and CDXML commands."""

from __future__ import annotations

from psengine_fakes import FakeMachine
from psengine_support import Run

from toolkit.lab.powershell import Runspace

# The shape of _fix.ps1.j2's Get-JcfixSignedInName before the issue-10 fix (defect 1).
SIGNED_IN = """[CmdletBinding(SupportsShouldProcess)]
param()
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
function Get-SignedInName {
    [CmdletBinding()]
    param()
    foreach ($process in @(Get-CimInstance -ClassName Win32_Process -Filter "Name = 'explorer.exe'")) {
        $owner = Invoke-CimMethod -InputObject $process -MethodName GetOwner
        if ($owner.ReturnValue -eq 0 -and $owner.User) { [string]$owner.User }
    }
}
Get-SignedInName
"""


def test_whatif_reaches_a_should_process_cmdlet_and_strict_mode_then_fails_on_its_null_result(run: Run) -> None:
    # Fact sheet §8: Invoke-CimMethod honours the caller's $WhatIfPreference and skips GetOwner; $owner is
    # $null and '$owner.ReturnValue' throws PropertyNotFoundStrict under Set-StrictMode -Version Latest.
    result = run(SIGNED_IN, [("WhatIf", None)])
    assert result.output == []
    assert result.whatif_lines == ['What if: Performing the operation "GetOwner" on target '
                                   '"Win32_Process (Handle = "explorer.exe")".']
    assert result.terminating is not None
    assert result.terminating.fully_qualified_error_id == "PropertyNotFoundStrict"
    assert result.terminating.message == (
        "The property 'ReturnValue' cannot be found on this object. Verify that the property exists.")
    assert "$owner.ReturnValue" in result.terminating.position_message


def test_without_whatif_the_owner_is_read(run: Run) -> None:
    result = run(SIGNED_IN)
    assert result.terminating is None
    assert result.output == ["alice"]
    assert result.whatif_lines == []


def test_whatif_false_on_the_read_keeps_it_working_under_whatif(run: Run) -> None:
    fixed = SIGNED_IN.replace("-MethodName GetOwner", "-MethodName GetOwner -WhatIf:$false")
    result = run(fixed, [("WhatIf", True)])
    assert result.terminating is None
    assert result.output == ["alice"]
    assert result.whatif_lines == []


def test_should_process_in_functions_follows_the_scripts_whatif(run: Run) -> None:
    script = """[CmdletBinding(SupportsShouldProcess)]
param()
function Remove-Thing {
    [CmdletBinding(SupportsShouldProcess)]
    param([string] $Name)
    if ($PSCmdlet.ShouldProcess($Name, 'Remove thing')) { "removed $Name" }
    if ($PSCmdlet.ShouldProcess($Name)) { "again $Name" }
}
Remove-Thing -Name a
Remove-Thing -Name b -WhatIf:$false
$WhatIfPreference
"""
    result = run(script, [("WhatIf", None)])
    assert result.output == ["removed b", "again b", True]
    assert result.whatif_lines == [
        'What if: Performing the operation "Remove thing" on target "a".',
        'What if: Performing the operation "Remove-Thing" on target "a".',
    ]
    plain = run(script)
    assert plain.output == ["removed a", "again a", "removed b", "again b", False]
    assert plain.whatif_lines == []


def test_whatif_on_a_function_call_only(run: Run) -> None:
    script = """function Set-Thing {
    [CmdletBinding(SupportsShouldProcess)]
    param()
    if ($PSCmdlet.ShouldProcess('t', 'Set')) { 'set' } else { 'skipped' }
}
Set-Thing -WhatIf
Set-Thing
"""
    result = run(script)
    assert result.output == ["skipped", "set"]
    assert result.whatif_lines == ['What if: Performing the operation "Set" on target "t".']


def test_cmdlet_inherits_whatif_preference_from_a_script_variable(run: Run) -> None:
    machine = FakeMachine()
    machine.items["C:\\x"] = {}
    result = run("$WhatIfPreference = $true\nRemove-Item -LiteralPath 'C:\\x'\nTest-Path -LiteralPath 'C:\\x'",
                 machine=machine)
    assert result.output == [True]
    assert result.whatif_lines == ['What if: Performing the operation "Remove Directory" on target "C:\\x".']


def test_cdxml_commands_see_only_explicit_common_parameters() -> None:
    # ScheduledTasks is a CDXML module: no caller's script-scope preferences (fact sheet §8).
    machine = FakeMachine()
    runspace = Runspace(machine)
    script = """[CmdletBinding(SupportsShouldProcess)]
param()
$ErrorActionPreference = 'Stop'
Unregister-ScheduledTask -TaskName t
Unregister-ScheduledTask -TaskName t -WhatIf -ErrorAction Stop
Get-ScheduledTask -TaskName missing
'still running'
"""
    result = runspace.run_script(script, [("WhatIf", None)], use_local_scope=True)
    assert machine.cdxml_seen == [(False, "Continue"), (True, "Stop"), (False, "Continue")]
    assert result.output == ["still running"]
    assert [e.fully_qualified_error_id for e in result.errors] == [
        "CmdletizationQuery_NotFound_TaskName,Get-ScheduledTask"]
