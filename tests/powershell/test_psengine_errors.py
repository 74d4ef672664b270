"""Strict mode, terminating and non-terminating errors, ErrorAction, try/catch/finally, throw, error records."""

from __future__ import annotations

from psengine_fakes import FakeMachine
from psengine_support import Run

from toolkit.lab.powershell.contract import NativeResult


def test_strict_mode_unset_variable(run: Run) -> None:
    result = run("Set-StrictMode -Version Latest\n'a'\n$nope\n'b'")
    # A statement-terminating error: recorded, and the script goes on ($ErrorActionPreference is Continue).
    assert result.output == ["a", "b"]
    assert [(e.fully_qualified_error_id, e.message) for e in result.errors] == [
        ("VariableIsUndefined", "The variable '$nope' cannot be retrieved because it has not been set.")]
    assert run("'a'\n$nope\n'b'").output == ["a", None, "b"]


def test_strict_mode_member_access(run: Run) -> None:
    script = """Set-StrictMode -Version 2
$o = [pscustomobject]@{ A = 1 }
$h = @{ k = 1 }
foreach ($probe in @({ $o.A }, { $o.B }, { $null.X }, { $h.k }, { $h.missing })) {
    try { & $probe } catch { $_.FullyQualifiedErrorId }
}
"""
    assert run(script).output == [1, "PropertyNotFoundStrict", "PropertyNotFoundStrict", 1, "PropertyNotFoundStrict"]
    relaxed = run(script.replace("Set-StrictMode -Version 2", "Set-StrictMode -Off"))
    assert relaxed.output == [1, None, None, 1, None]


def test_method_call_on_null_always_fails(run: Run) -> None:
    result = run("$x = $null\ntry { $x.Trim() } catch { $_.FullyQualifiedErrorId; $_.Exception.Message }")
    assert result.output == ["InvokeMethodOnNull", "You cannot call a method on a null-valued expression."]


def test_error_action_stop_turns_a_non_terminating_error_terminating(run: Run) -> None:
    script = """'before'
Get-Item -LiteralPath 'HKLM:\\nope' -ErrorAction Stop
'after'
"""
    result = run(script)
    assert result.output == ["before"]
    assert result.terminating is not None
    assert result.terminating.exception_type == "System.Management.Automation.ActionPreferenceStopException"
    assert result.terminating.message == "Cannot find path 'HKLM:\\nope' because it does not exist."
    assert result.terminating.fully_qualified_error_id == "PathNotFound,Microsoft.PowerShell.Commands.GetItemCommand"


def test_error_action_preference_continue_silently_and_ignore(run: Run) -> None:
    script = "Get-Item -LiteralPath 'x:\\1'\nGet-Item -LiteralPath 'x:\\2' -ErrorAction SilentlyContinue\n" \
             "Get-Item -LiteralPath 'x:\\3' -ErrorAction Ignore\n$Error.Count\n'done'"
    result = run(script)
    assert result.output == [2, "done"]
    assert [e.target_name for e in result.errors] == ["x:\\1"]


def test_catch_sees_the_original_record(run: Run) -> None:
    script = """$ErrorActionPreference = 'Stop'
try {
    Get-Item -LiteralPath 'HKLM:\\nope'
}
catch {
    $_.FullyQualifiedErrorId
    $_.Exception.Message
    $_.Exception.GetType().FullName
    $_.CategoryInfo.Category
    $_.TargetObject
    $_.InvocationInfo.PositionMessage
}
"""
    output = run(script).output
    assert output[:5] == ["PathNotFound,Microsoft.PowerShell.Commands.GetItemCommand",
                          "Cannot find path 'HKLM:\\nope' because it does not exist.",
                          "System.Management.Automation.ItemNotFoundException", "ObjectNotFound", "HKLM:\\nope"]
    assert output[5].startswith("At line:3 char:5\n+     Get-Item -LiteralPath")


def test_throw_text_and_finally(run: Run) -> None:
    script = """try {
    throw 'went wrong'
}
catch [System.Management.Automation.RuntimeException] {
    'caught: ' + $_.Exception.Message + ' / ' + $_.FullyQualifiedErrorId
}
finally {
    'finally'
}
throw 'uncaught'
'never'
"""
    result = run(script)
    assert result.output == ["caught: went wrong / went wrong", "finally"]
    assert result.terminating is not None
    assert result.terminating.message == "uncaught"
    assert result.terminating.exception_type == "System.Management.Automation.RuntimeException"


def test_throw_terminating_error_with_a_constructed_record(run: Run) -> None:
    script = """function Stop-Refusal {
    [CmdletBinding()]
    param([Parameter(Mandatory)] [string] $Message)
    $exception = New-Object -TypeName System.InvalidOperationException -ArgumentList $Message
    $category = [System.Management.Automation.ErrorCategory]::InvalidArgument
    $record = New-Object -TypeName System.Management.Automation.ErrorRecord `
        -ArgumentList $exception, 'Refused', $category, $null
    $PSCmdlet.ThrowTerminatingError($record)
    'not reached'
}
try { Stop-Refusal -Message 'no way' } catch {
    $_.FullyQualifiedErrorId
    $_.Exception.Message
    $_.Exception.GetType().FullName
    [string]$_.CategoryInfo.Category
    $_.FullyQualifiedErrorId -like 'Refused*'
}
Stop-Refusal -Message 'outside try'
'the script goes on after a statement-terminating error'
"""
    result = run(script)
    assert result.output == ["Refused,Stop-Refusal", "no way", "System.InvalidOperationException", "InvalidArgument",
                             True, "the script goes on after a statement-terminating error"]
    assert [e.message for e in result.errors] == ["outside try"]


def test_uncaught_terminating_error_keeps_earlier_output(run: Run) -> None:
    result = run("$ErrorActionPreference = 'Stop'\n'one'\n[int]'x'\n'two'")
    assert result.output == ["one"]
    assert result.terminating is not None
    assert result.terminating.message == (
        'Cannot convert value "x" to type "System.Int32". Error: "Input string was not in a correct format."')


def test_native_command_exit_code_and_stderr() -> None:
    from psengine_support import run_script

    machine = FakeMachine()
    machine.native["c:\\tool.exe"] = NativeResult(3, ("out line",), ("err line",))
    script = """$tool = 'C:\\tool.exe'
$out = & $tool /x 'a b'
"exit=$LASTEXITCODE out=$out"
$merged = & $tool 2>&1
$merged.Count
$merged[1].GetType().FullName
"""
    result = run_script(script, machine=machine)
    assert machine.native_calls[0] == ("C:\\tool.exe", ["/x", "a b"])
    assert result.output == ["exit=3 out=out line", 2, "System.Management.Automation.ErrorRecord"]
    assert [e.fully_qualified_error_id for e in result.errors] == ["NativeCommandError"]
    stopped = run_script("$ErrorActionPreference = 'Stop'\n& 'C:\\tool.exe'\n'after'", machine=machine)
    assert stopped.output == ["out line"]
    assert stopped.terminating is not None
    assert stopped.terminating.message == "err line"
    # 5.1: redirecting stderr does not keep 'Stop' from acting on its records (MicrosoftDocs/PowerShell-Docs#6466).
    merged_stop = run_script("$ErrorActionPreference = 'Stop'\n$x = & 'C:\\tool.exe' 2>&1\n'after'", machine=machine)
    assert merged_stop.terminating is not None
    assert merged_stop.output == []


def test_write_error_and_warning(run: Run) -> None:
    script = """function Test-It {
    [CmdletBinding()]
    param()
    Write-Error -Message 'soft failure'
    Write-Warning -Message 'careful'
    'went on'
}
Test-It
Test-It -ErrorAction Stop
'not reached'
"""
    result = run(script)
    assert result.output == ["went on"]
    assert [e.fully_qualified_error_id for e in result.errors] == [
        "Microsoft.PowerShell.Commands.WriteErrorException,Test-It"]
    assert result.warnings == ["careful"]
    assert result.terminating is not None
    assert result.terminating.message == "soft failure"


def test_command_not_found(run: Run) -> None:
    result = run("Get-Nothing\n'after'")
    assert result.output == ["after"]
    assert result.errors[0].fully_qualified_error_id == "CommandNotFoundException"
    assert result.errors[0].message.startswith("The term 'Get-Nothing' is not recognized")


def test_output_written_by_a_function_before_it_fails_stays_written(run: Run) -> None:
    result = run("function F {\n    'first'\n    throw 'then failed'\n}\nF\n'never'")
    assert result.output == ["first"]
    assert result.terminating is not None
    assert result.terminating.message == "then failed"
