"""The Windows PowerShell 5.1 lint (tests/ps51lint/): every rule on snippets it must flag and snippets it must
pass, the allowance comments, where findings point, and every rendered template, which must be clean.

Each rule's source is cited beside the rule in tests/ps51lint/rule_*.py (fact sheet §8 of
../shared/research/windows-jumpcloud.md and the engine source or Microsoft docs it cites). Invoke-Expression,
Write-Host and PowerShell 7-only syntax live in tests/pscheckers.py (tested in test_static_checks.py and
test_static_checkers.py) and are not repeated here.
"""

from __future__ import annotations

import time

import ps51lint
import pstree
import pytest
from ps51lint import Finding, lint_source

# A script that runs with -WhatIf support, strict mode and stop-on-error, as every jcfix script does.
HEADER = (
    "[CmdletBinding(SupportsShouldProcess)]\nparam()\nSet-StrictMode -Version Latest\n$ErrorActionPreference = 'Stop'\n"
)

BAD: dict[str, list[str]] = {
    # Fact sheet §8: ShouldProcess cmdlets skip reads under -WhatIf (CimCmdlets/InvokeCimMethodCommand.cs).
    "PS51-WHATIF-READ": [
        HEADER + "foreach ($p in @(Get-CimInstance -ClassName Win32_Process)) {\n"
        "    $o = Invoke-CimMethod -InputObject $p -MethodName GetOwner\n}",
        "function Get-X {\n    [CmdletBinding(SupportsShouldProcess)]\n    param()\n"
        "    Invoke-WmiMethod -Class StdRegProv -Name GetStringValue -ArgumentList 1\n}",
        HEADER + "New-PSDrive -Name HKU -PSProvider Registry -Root HKEY_USERS -WhatIf:$WhatIfPreference",
        HEADER + "Invoke-CimMethod -InputObject $p -MethodName $method",
        HEADER + "$o = icim -InputObject $p -MethodName GetOwnerSid",
        HEADER + "if (-not $PSCmdlet.ShouldProcess('x', 'Start')) { 'no' }\nStart-Process -FilePath $exe -Wait",
    ],
    # Fact sheet §8: 5.1 writes a JSON array to the pipeline as one object (PowerShell/PowerShell#3424).
    "PS51-JSON-PIPE": [
        "$names = Get-Content -LiteralPath $f -Raw | ConvertFrom-Json | ForEach-Object { $_.username }",
        "$users = @(Get-Content -LiteralPath $f -Raw | ConvertFrom-Json)",
        "ConvertFrom-Json -InputObject $text | Where-Object { $_.username }",
        "function Get-User {\n    param()\n    Get-Content -LiteralPath $f -Raw | ConvertFrom-Json\n}",
        "function Get-User {\n    param()\n    return ConvertFrom-Json -InputObject $text\n}",
        "$r = Invoke-RestMethod -Uri $u | ForEach-Object { $_.id }",
    ],
    # Fact sheet §8: WOW64 file-system and registry redirection (learn.microsoft.com .../winprog64/).
    "PS51-WOW64-PATH": [
        "$dir = Join-Path $env:ProgramFiles 'JumpCloud'",
        "$dir = ${env:ProgramFiles(x86)}",
        '$dir = "$env:ProgramFiles\\JumpCloud"',
        "Test-Path -LiteralPath 'HKLM:\\SOFTWARE\\JumpCloud'",
        "Get-Item -LiteralPath 'Registry::HKEY_LOCAL_MACHINE\\SOFTWARE\\JumpCloud'",
        "Get-ChildItem HKLM:\\Software\\Microsoft",
        "reg.exe query 'HKLM\\SOFTWARE\\JumpCloud'",
        "$pf = [Environment]::GetFolderPath('ProgramFiles')",
    ],
    # Fact sheet §8: battery defaults (taskschedulerschema docs); -AtLogOn fires at every logon.
    "PS51-TASK-SETTINGS": [
        "Register-ScheduledTask -TaskName t -Action $a -Principal $p -ErrorAction Stop",
        "$s = New-ScheduledTaskSettingsSet -AllowStartIfOnBatteries -ErrorAction Stop",
        "$s = New-ScheduledTaskSettingsSet -AllowStartIfOnBatteries -DontStopIfGoingOnBatteries:$false "
        "-ErrorAction Stop",
        "$t = New-ScheduledTaskTrigger -AtLogOn -User $sid -ErrorAction Stop",
        "$s = New-ScheduledTaskSettingsSet -AllowStartIfOnBatteries -DontStopIfGoingOnBatteries -ErrorAction Stop\n"
        "Register-ScheduledTask -TaskName t -Action $a -Settings $s -ErrorAction Stop "
        "-Trigger (New-ScheduledTaskTrigger -AtLogOn -ErrorAction Stop)",
        "$task = New-ScheduledTask -Action $a -Trigger $t -ErrorAction Stop",
        "schtasks.exe /create /tn x /tr y /sc onlogon\nif ($LASTEXITCODE) { throw 'x' }",
    ],
    # Fact sheet §8: native stderr lines are error records; 5.1 applies 'Stop' to them (PowerShell#4002).
    "PS51-NATIVE-EXIT": [
        "& $takeown /f $dir /r /d y | Out-Null",
        "certutil.exe -DeleteHelloContainer\nGet-Date",
        "$ErrorActionPreference = 'Stop'\n$out = & $icacls $dir /t 2>&1\nif ($LASTEXITCODE -ne 0) { throw 'x' }",
        "$ErrorActionPreference = 'Stop'\nfunction Invoke-X {\n    $ErrorActionPreference = 'Continue'\n"
        "    & $exe /x\n    if ($LASTEXITCODE) { throw 'x' }\n}",
        "& $first\n& $second\nif ($LASTEXITCODE) { throw 'x' }",
        "& (Join-Path $env:SystemRoot 'System32\\takeown.exe') /f x",
        '& "$env:SystemRoot\\System32\\icacls.exe" x',
    ],
    # Fact sheet §8: any user can create and own a folder under C:\\ProgramData first.
    "PS51-PROGRAMDATA-DACL": [
        "$root = Join-Path $env:ProgramData 'jcfix'\n[void](New-Item -ItemType Directory -Path $root -Force)",
        "[IO.Directory]::CreateDirectory('C:\\ProgramData\\jcfix')",
        "function New-Dir {\n    param([string] $Path)\n    mkdir $Path\n}\n"
        "New-Dir -Path (Join-Path $env:ProgramData 'jcfix')",
        "$d = Join-Path $env:ProgramData 'jcfix'\n$sub = Join-Path $d 'tasks'\nmd $sub",
        "$d = [IO.DirectoryInfo]::new((Join-Path $env:ProgramData 'jcfix'))\n$d.Create()",
        "param([string] $State = (Join-Path $env:ProgramData 'kit'))\nmkdir $State",
    ],
    # Fact sheet §8: strict mode throws on a member of $null (PSGetMemberBinder).
    "PS51-STRICT-NULL": [
        "$owner = Invoke-CimMethod -InputObject $p -MethodName GetOwner -WhatIf:$false\n"
        "if ($owner.ReturnValue -eq 0) { $owner.User }",
        "$svc = Get-Service -Name x -ErrorAction SilentlyContinue\n$svc.Status",
        "$name = (Get-Item -LiteralPath $p).Name",
        "function Get-A {\n    param()\n    if ($x) { return }\n    1\n}\n$a = Get-A\n$a.Name",
        "$os = Get-CimInstance -ClassName Win32_OperatingSystem\nif ($os -or $x) { $os.Caption }",
        "$u = Get-LocalUser -Name $n -ErrorAction SilentlyContinue\nif ($null -eq $u) { Write-Verbose 'none' }\n$u.SID",
        "$k = Get-Item -Path $p -ErrorAction Stop\n$k.Name",
        "$userProfile = $profiles[$sid]\n$path = $userProfile.LocalPath",
        '$t = Get-ScheduledTask -TaskName t -ErrorAction SilentlyContinue\n$info = "$($t.State)"',
        "if ($a) { $x = Get-Item -LiteralPath $p -ErrorAction SilentlyContinue } else { $x = @() }\n$x.Count",
    ],
    # Fact sheet §8: CDXML module functions ignore the script's $ErrorActionPreference (PowerShell#4568).
    "PS51-CDXML-ERRORACTION": [
        "Unregister-ScheduledTask -TaskName t -Confirm:$false",
        "Get-NetFirewallRule -Name x",
        "$a = New-ScheduledTaskAction -Execute $exe",
    ],
}

GOOD: dict[str, list[str]] = {
    "PS51-WHATIF-READ": [
        HEADER + "$o = Invoke-CimMethod -InputObject $p -MethodName GetOwner -WhatIf:$false",
        "Invoke-CimMethod -InputObject $p -MethodName GetOwner",
        HEADER + "if ($PSCmdlet.ShouldProcess('x', 'Rename')) {\n"
        "    Invoke-CimMethod -InputObject $a -MethodName Rename -Arguments @{ Name = 'y' }\n}",
        HEADER + "New-CimInstance -ClassName Win32_Environment -Property @{ Name = 'x' }",
        HEADER + "if (-not $PSCmdlet.ShouldProcess('x', 'Start')) { return }\nStart-Process -FilePath $exe -Wait",
        HEADER + "if ($go -and $PSCmdlet.ShouldProcess('x', 'Start')) {\n    Start-Process -FilePath $exe -Wait\n}",
    ],
    "PS51-JSON-PIPE": [
        "$parsed = ConvertFrom-Json -InputObject $text\nforeach ($u in @($parsed)) { $u }",
        "$parsed = Get-Content -LiteralPath $f -Raw | ConvertFrom-Json",
        "function Get-User {\n    param()\n    $parsed = ConvertFrom-Json -InputObject $text\n    $parsed\n}",
        # Parentheses make 5.1 enumerate the array (the workaround in PowerShell/PowerShell#3424).
        "(ConvertFrom-Json -InputObject $text) | ForEach-Object { $_ }",
        "function Get-User {\n    param()\n    return (ConvertFrom-Json -InputObject $text)\n}",
    ],
    "PS51-WOW64-PATH": [
        "$dir = Join-Path $env:ProgramW6432 'JumpCloud'",
        "$base = [Microsoft.Win32.RegistryKey]::OpenBaseKey('LocalMachine', 'Registry64')\n"
        "$key = $base.OpenSubKey('SOFTWARE\\JumpCloud')",
        "function Get-P {\n    if ([string]::IsNullOrEmpty($env:ProgramW6432)) { return $env:ProgramFiles }\n"
        "    $env:ProgramW6432\n}",
        "Write-Verbose 'set HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Policies\\System'",
        "Get-Item -LiteralPath 'HKLM:\\SYSTEM\\CurrentControlSet'",
        "# $env:ProgramFiles and HKLM:\\SOFTWARE in a comment\nGet-Date",
    ],
    "PS51-TASK-SETTINGS": [
        "$s = New-ScheduledTaskSettingsSet -AllowStartIfOnBatteries -DontStopIfGoingOnBatteries -ErrorAction Stop\n"
        "Register-ScheduledTask -TaskName t -Action $a -Settings $s -ErrorAction Stop",
        "$t = New-ScheduledTaskTrigger -AtLogOn -User $sid -ErrorAction Stop\n"
        "$t.EndBoundary = (Get-Date).AddDays(7).ToString('s')",
        "$task = @{ TaskName = 't'; Action = $a; Settings = $s; ErrorAction = 'Stop' }\nRegister-ScheduledTask @task",
        "$t = New-ScheduledTaskTrigger -Once -At (Get-Date) -ErrorAction Stop",
        "$task = New-ScheduledTask -Action $a -Settings $s -ErrorAction Stop\n"
        "Register-ScheduledTask -TaskName t -InputObject $task -ErrorAction Stop",
        "schtasks.exe /create /xml task.xml /tn x\nif ($LASTEXITCODE) { throw 'x' }",
    ],
    "PS51-NATIVE-EXIT": [
        "$ErrorActionPreference = 'Stop'\nfunction Invoke-X {\n    $ErrorActionPreference = 'Continue'\n"
        "    $out = @(& $exe /x 2>&1)\n    if ($LASTEXITCODE -ne 0) { throw 'x' }\n}",
        "$block = { Get-Date }\n& $block",
        "& { param($x) $x } 1\n& 'Get-Date'",
        "reg.exe query x\nif ($LASTEXITCODE -ne 0) { throw 'x' }",
    ],
    "PS51-PROGRAMDATA-DACL": [
        "$root = Join-Path $env:ProgramData 'jcfix'\n[void][System.IO.Directory]::CreateDirectory($root, $security)",
        "[void](New-Item -ItemType Directory -Path (Join-Path $env:TEMP 'x') -Force)",
        "$d = [IO.DirectoryInfo]::new((Join-Path $env:ProgramData 'jcfix'))\n$d.Create($security)",
    ],
    "PS51-STRICT-NULL": [
        "$owner = Invoke-CimMethod -InputObject $p -MethodName GetOwner -WhatIf:$false\n"
        "if ($owner -and $owner.ReturnValue -eq 0) { $owner.User }",
        "$svc = Get-Service -Name x -ErrorAction SilentlyContinue\nif ($null -eq $svc) { return }\n$svc.Status",
        "$svc = Get-Service -Name x -ErrorAction SilentlyContinue\n"
        "$state = $(if ($svc) { [string]$svc.Status } else { $null })",
        "$key = Get-Item -LiteralPath $p -ErrorAction Stop\n$key.GetValueNames()",
        "$all = @(Get-CimInstance -ClassName Win32_UserProfile)\n$all.Count",
        "function Stop-X {\n    param()\n    throw 'no'\n}\n$u = Get-LocalUser -Name $n -ErrorAction SilentlyContinue\n"
        "if (-not $u) { Stop-X }\n$u.SID",
        "$x = Get-CimInstance -ClassName Win32_OperatingSystem\n"
        "if ($null -eq $x -or $x.Caption -eq '') { throw 'no OS' }\n$x.Version",
        "$x = Get-Item -LiteralPath $p -ErrorAction SilentlyContinue\nif ($null -eq $x) { 'none' } else { $x.Name }",
        "$x = Get-CimInstance -ClassName Win32_OperatingSystem\n"
        "if (-not $x) { $x = [pscustomobject]@{ Caption = '' } }\n$x.Caption",
        "$v = Get-Service -Name x -ErrorAction SilentlyContinue\nif ($v) {\n    if ($y) { $v.Status }\n}",
        "$x = Get-Item -LiteralPath $p -ErrorAction SilentlyContinue\n$x = @($x)\n$x.Count",
        "$userProfile = $profiles[$sid]\nif ($userProfile) { $userProfile.LocalPath }\n$m.Groups[1].Value",
    ],
    "PS51-CDXML-ERRORACTION": [
        "Unregister-ScheduledTask -TaskName t -Confirm:$false -ErrorAction Stop",
        "$t = Get-ScheduledTask -TaskName t -EA SilentlyContinue",
    ],
}


def rules_of(source: str) -> list[str]:
    return [finding.rule for finding in lint_source(source)]


def cases(table: dict[str, list[str]]) -> list[object]:
    return [pytest.param(rule, s, id=f"{rule}-{i}") for rule, snippets in table.items() for i, s in enumerate(snippets)]


def test_every_rule_has_a_failing_and_a_passing_example() -> None:
    rules = set(ps51lint.CHECKS)
    assert rules == set(BAD) == set(GOOD)
    assert rules | {"PS51-ALLOW"} == set(ps51lint.RULES)


@pytest.mark.parametrize(("rule", "source"), cases(BAD))
def test_rule_flags(rule: str, source: str) -> None:
    assert pstree.problems(pstree.parse(source)) == [], "the example must be valid PowerShell"
    assert rule in rules_of(source)


@pytest.mark.parametrize(("rule", "source"), cases(GOOD))
def test_rule_passes(rule: str, source: str) -> None:
    assert pstree.problems(pstree.parse(source)) == [], "the example must be valid PowerShell"
    assert rule not in rules_of(source), lint_source(source)


def test_findings_name_the_line_and_what_is_wrong() -> None:
    found = lint_source("Get-Date\n\nUnregister-ScheduledTask -TaskName t -Confirm:$false", "sample.ps1")
    assert found == [Finding("PS51-CDXML-ERRORACTION", "sample.ps1", 3, found[0].message)]
    assert "Unregister-ScheduledTask" in found[0].message and "-ErrorAction" in found[0].message


# ---- allowances ---------------------------------------------------------------------------------------

FLAGGED = "Unregister-ScheduledTask -TaskName t -Confirm:$false"


def test_allowance_with_a_reason_suppresses_its_rule_on_the_next_line() -> None:
    assert lint_source(f"# ps51lint: allow PS51-CDXML-ERRORACTION: wrapped in try/catch by the caller\n{FLAGGED}") == []


def test_stacked_allowances_cover_two_rules_on_one_line() -> None:
    line = "$t = Get-ScheduledTask -TaskName t -ErrorAction SilentlyContinue; $t.State"
    assert set(rules_of(line)) == {"PS51-STRICT-NULL"}
    both = f"# ps51lint: allow PS51-STRICT-NULL: demo\n# ps51lint: allow PS51-CDXML-ERRORACTION: demo\n{line}"
    assert rules_of(both) == ["PS51-ALLOW"]  # the CDXML allowance suppresses nothing: -ErrorAction is there


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (f"# ps51lint: allow PS51-CDXML-ERRORACTION:\n{FLAGGED}", {"PS51-ALLOW", "PS51-CDXML-ERRORACTION"}),
        (f"# ps51lint: allow PS51-CDXML-ERRORACTION:   \n{FLAGGED}", {"PS51-ALLOW", "PS51-CDXML-ERRORACTION"}),
        (f"# ps51lint allow PS51-CDXML-ERRORACTION because\n{FLAGGED}", {"PS51-ALLOW", "PS51-CDXML-ERRORACTION"}),
        (f"# ps51lint: allow PS51-NO-SUCH-RULE: x\n{FLAGGED}", {"PS51-ALLOW", "PS51-CDXML-ERRORACTION"}),
        (f"# ps51lint: allow PS51-JSON-PIPE: wrong rule\n{FLAGGED}", {"PS51-ALLOW", "PS51-CDXML-ERRORACTION"}),
        (f"# ps51lint: allow PS51-CDXML-ERRORACTION: too far\n\n{FLAGGED}", {"PS51-ALLOW", "PS51-CDXML-ERRORACTION"}),
        ("# ps51lint: allow PS51-CDXML-ERRORACTION: nothing to allow\nGet-Date", {"PS51-ALLOW"}),
    ],
)
def test_bad_or_unused_allowances_are_findings(source: str, expected: set[str]) -> None:
    assert set(rules_of(source)) == expected


def test_allowance_finding_points_at_the_comment() -> None:
    found = lint_source("Get-Date\n# ps51lint: allow PS51-JSON-PIPE: nothing here\nGet-Date")
    assert [(f.rule, f.line) for f in found] == [("PS51-ALLOW", 2)]


# ---- scripts in here-strings, and where template findings point -----------------------------------------


def test_a_script_in_a_here_string_is_linted_with_outer_line_numbers() -> None:
    source = "$task = @'\nparam([string] $File)\n$x = 1\nUnregister-ScheduledTask -TaskName t\n'@\nGet-Date"
    assert [(f.rule, f.line) for f in lint_source(source)] == [("PS51-CDXML-ERRORACTION", 4)]
    allowed = source.replace("$x = 1", "# ps51lint: allow PS51-CDXML-ERRORACTION: a demo")
    assert lint_source(allowed) == []


def test_a_here_string_appended_to_a_prelude_is_linted_with_it() -> None:
    # The prelude sets 'Stop'; the task script's native call is linted under it, at the task script's line.
    source = (
        "function Get-Prelude {\n    param()\n    @'\n$ErrorActionPreference = 'Stop'\n$w = 1\n'@\n}\n"
        "$task = (Get-Prelude) + @'\n$x = 1\n& $exe /y 2>&1\nif ($LASTEXITCODE) { throw 'x' }\n'@"
    )
    found = lint_source(source)
    assert [(f.rule, f.line) for f in found] == [("PS51-NATIVE-EXIT", 10)]
    assert "is 'Stop' here" in found[0].message and "not merged" not in found[0].message
    assert lint_source(source.replace("$w = 1", "$ErrorActionPreference = 'Continue'")) == []


def test_prose_in_a_here_string_is_not_linted() -> None:
    assert lint_source("$help = @'\nUnregister-ScheduledTask -TaskName t\n'@") == []


def test_line_origins_follow_the_rendering_order() -> None:
    own = ["# marker", "{{ common.prelude() }}", "$a = 1", "Get-Date"]
    shared = ["{% macro prelude() %}", "Get-Date", "$z = 2", "{% endmacro %}"]
    rendered = ["# marker", "Get-Date", "$z = 2", "$a = 1", "Get-Date"]
    origins = ps51lint.line_origins(rendered, [("own.j2", own), ("_shared.j2", shared)])
    assert origins == {1: ("own.j2", 1), 2: ("_shared.j2", 2), 3: ("_shared.j2", 3), 4: ("own.j2", 3), 5: ("own.j2", 4)}


# ---- the templates ------------------------------------------------------------------------------------


def test_every_template_is_clean() -> None:
    findings = ps51lint.lint_templates()
    assert findings == [], "Windows PowerShell 5.1 lint findings:\n" + "\n".join(map(str, findings))


def test_the_lint_is_fast() -> None:
    # CPU time, not wall time, so other processes on the machine do not count; the target is < 1 s.
    start = time.process_time()
    ps51lint.lint_templates()
    assert time.process_time() - start < 2.0


# ---- the defects of issue 10, as the templates had them before the fixes (commit 7f72de6) ---------------

PRE_FIX_HEADER = HEADER.replace("param()", "param([string] $RunId)")
PRE_FIX = {
    # Defect 1: GetOwner under -WhatIf returns nothing, then strict mode throws on $owner.ReturnValue.
    "defect-1-getowner": (
        PRE_FIX_HEADER + "function Get-JcfixSignedInName {\n    [CmdletBinding()]\n    param()\n"
        "    foreach ($process in @(Get-CimInstance -ClassName Win32_Process -Filter \"Name = 'explorer.exe'\")) {\n"
        "        $owner = Invoke-CimMethod -InputObject $process -MethodName GetOwner\n"
        "        if ($owner.ReturnValue -eq 0 -and $owner.User) { [string]$owner.User }\n    }\n}",
        {"PS51-WHATIF-READ", "PS51-STRICT-NULL"},
    ),
    # Defect 2: the backup and task folders created with New-Item, their DACL set afterwards.
    "defect-2-programdata": (
        PRE_FIX_HEADER + "$JcfixBackupRoot = Join-Path $env:ProgramData 'jcfix\\backups'\n"
        "$directory = Join-Path $JcfixBackupRoot $RunId\n"
        "if (-not (Test-Path -LiteralPath $directory)) {\n"
        "    [void](New-Item -ItemType Directory -Path $directory -Force)\n}",
        {"PS51-PROGRAMDATA-DACL"},
    ),
    # Defect 3: managedUsers.json parsed through a pipeline inside @().
    "defect-3-managed-users": (
        PRE_FIX_HEADER + "$names = @(@(Get-Content -LiteralPath $managedFile -Raw | ConvertFrom-Json) |\n"
        "    ForEach-Object { [string]$_.username } | Where-Object { $_ })",
        {"PS51-JSON-PIPE"},
    ),
    # Defects 4 and 11: an -AtLogOn trigger that never expires; CDXML calls without -ErrorAction.
    "defect-4-pin-task": (
        PRE_FIX_HEADER + "$trigger = New-ScheduledTaskTrigger -AtLogOn -User $AccountName\n"
        "$settings = New-ScheduledTaskSettingsSet -AllowStartIfOnBatteries -DontStopIfGoingOnBatteries\n"
        "[void](Register-ScheduledTask -TaskPath '\\jcfix\\' -TaskName $name -Action $action -Trigger $trigger "
        "-Settings $settings -Force)",
        {"PS51-TASK-SETTINGS", "PS51-CDXML-ERRORACTION"},
    ),
    # Defect 6: the MSA-unlink SYSTEM task registered with the default (battery-refusing) settings.
    "defect-6-unlink-task": (
        PRE_FIX_HEADER + "[void](Register-ScheduledTask -TaskPath '\\jcfix\\' -TaskName $taskName -Action $action "
        "-Principal $principal -Force -ErrorAction Stop)",
        {"PS51-TASK-SETTINGS"},
    ),
    # Defect 7: the agent folder and its registry pointer read through WOW64-redirected locations.
    "defect-7-wow64": (
        PRE_FIX_HEADER + "$installDir = Join-Path $env:ProgramFiles 'JumpCloud'\n"
        "$pointer = Get-ItemProperty -LiteralPath 'HKLM:\\SOFTWARE\\JumpCloud\\JumpCloud Agent\\ConfigFile' "
        "-ErrorAction SilentlyContinue",
        {"PS51-WOW64-PATH"},
    ),
    # Defect 8: takeown/icacls without exit-code checks, stderr able to end the script under 'Stop'.
    "defect-8-native": (
        PRE_FIX_HEADER + "& $takeown /f $NgcStore /r /d y | Out-Null\n"
        "& $icacls $NgcStore /grant '*S-1-5-32-544:F' /t /c | Out-Null",
        {"PS51-NATIVE-EXIT"},
    ),
}


@pytest.mark.parametrize("case", list(PRE_FIX))
def test_the_lint_finds_the_defects_of_issue_10_in_the_old_templates(case: str) -> None:
    source, expected = PRE_FIX[case]
    assert pstree.problems(pstree.parse(source)) == []
    assert expected <= set(rules_of(source)), lint_source(source)


# ---- placing findings of renderings in the raw templates (with stand-in templates) --------------------

ALLOWANCE = "# ps51lint: allow PS51-CDXML-ERRORACTION: demo\n"
OWN = "# marker\n{{ common.piece() }}\n" + ALLOWANCE + "{% if flag %}{{ line }}{% endif %}\n"
SHARED = "{% macro piece() %}\nGet-NetFirewallRule -Name x\n{% endmacro %}\n"
FLAGGED_IF_ON = "Unregister-ScheduledTask -TaskName t -Confirm:$false\n"


class StandInAction:
    """What lint_templates reads of an action: its template and its switches."""

    def __init__(self) -> None:
        self.template = "own.ps1.j2"
        self.options = {"flag": False}


def render_stand_in(name: str, options: dict[str, object]) -> str:
    assert name == "own.ps1.j2"
    return "# marker\nGet-NetFirewallRule -Name x\n" + ALLOWANCE + (FLAGGED_IF_ON if options["flag"] else "")


@pytest.fixture
def stand_in_templates(monkeypatch: pytest.MonkeyPatch) -> None:
    import actioncases

    import toolkit.templates

    sources = {"own.ps1.j2": OWN, "_shared.ps1.j2": SHARED}
    monkeypatch.setattr(toolkit.templates, "render_template", render_stand_in)
    monkeypatch.setattr(toolkit.templates, "template_source", sources.__getitem__)
    monkeypatch.setattr(toolkit.templates, "template_names", lambda: sorted(sources))
    action = StandInAction()
    monkeypatch.setattr(actioncases, "all_renderings", lambda: [(action, {"flag": True}), (action, {"flag": False})])


@pytest.mark.usefixtures("stand_in_templates")
def test_template_findings_point_at_the_raw_line_they_came_from() -> None:
    found = ps51lint.lint_templates()
    # The shared macro's line is reported once, in the shared template; the allowed line is not reported, and
    # the allowance counts as used although the rendering without the flag has nothing for it to allow.
    assert [(f.rule, f.template, f.line) for f in found] == [("PS51-CDXML-ERRORACTION", "_shared.ps1.j2", 2)]


@pytest.mark.usefixtures("stand_in_templates")
def test_an_allowance_unused_in_every_rendering_is_reported_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import toolkit.templates

    monkeypatch.setattr(toolkit.templates, "render_template", lambda name, options: "# marker\n" + ALLOWANCE)
    found = ps51lint.lint_templates()
    assert [(f.rule, f.template, f.line) for f in found] == [("PS51-ALLOW", "own.ps1.j2", 3)]


@pytest.mark.usefixtures("stand_in_templates")
def test_a_line_no_raw_template_holds_is_reported_as_rendered(monkeypatch: pytest.MonkeyPatch) -> None:
    import toolkit.templates

    shared = [("_shared.ps1.j2", ps51lint.stripped_lines(SHARED))]
    found, allowances = ps51lint.lint_rendering("own.ps1.j2", {"flag": True}, shared)
    assert {(f.template, f.line) for f in found} == {("_shared.ps1.j2", 2)}
    assert [(where, used) for where, _, used in allowances] == [(("own.ps1.j2", 3), True)]
    rendered = "# marker\nGet-NetFirewallRule -Name x\nGet-NetAdapter -Name y\n"  # line 3 comes from a value
    monkeypatch.setattr(toolkit.templates, "render_template", lambda name, options: rendered)
    found, allowances = ps51lint.lint_rendering("own.ps1.j2", {"flag": True}, shared)
    assert {(f.template, f.line) for f in found} == {("_shared.ps1.j2", 2), ("own.ps1.j2 (rendered)", 3)}
    assert allowances == []
