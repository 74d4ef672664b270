"""Engine-side commands: JSON (5.1 rules), paths, dates, Get-Command, New-Object, secure strings, sleep."""

from __future__ import annotations

import json
from datetime import timedelta

from psengine_fakes import FakeMachine
from psengine_support import Run, run_script


def test_convert_to_json_depth_defaults_to_two_and_truncates_deeper_levels(run: Run) -> None:
    script = """$doc = [ordered]@{ a = [ordered]@{ b = [ordered]@{ c = [ordered]@{ d = 1 } } }; n = 1 }
ConvertTo-Json -InputObject $doc -Compress
ConvertTo-Json -InputObject $doc -Compress -Depth 5
"""
    shallow, deep = run(script).output
    assert shallow == '{"a":{"b":{"c":"System.Collections.Specialized.OrderedDictionary"}},"n":1}'
    assert json.loads(deep) == {"a": {"b": {"c": {"d": 1}}}, "n": 1}


def test_convert_to_json_scalars_enums_dates_and_escaping(run: Run) -> None:
    script = """$d = [datetime]'2026-01-01T00:00:01Z'
ConvertTo-Json -Compress -InputObject ([ordered]@{
    cat = [System.Management.Automation.ErrorCategory]::InvalidArgument
    when = $d
    text = "<a & 'b'>"
    none = $null
    yes = $true
    list = @(1, 'x')
})
"""
    text = run(script).output[0]
    assert text == ('{"cat":5,"when":"\\/Date(1767225601000)\\/","text":"\\u003ca \\u0026 \\u0027b\\u0027\\u003e",'
                    '"none":null,"yes":true,"list":[1,"x"]}')
    assert json.loads(text)["text"] == "<a & 'b'>"


def test_convert_to_json_one_element_array_input_object_vs_pipeline(run: Run) -> None:
    script = ("ConvertTo-Json -InputObject @(1) -Compress\n@(1) | ConvertTo-Json -Compress\n"
              "1, 2 | ConvertTo-Json -Compress")
    assert run(script).output == ["[1]", "1", "[1,2]"]


def test_convert_to_json_indented_5_1_style(run: Run) -> None:
    text = run("ConvertTo-Json -InputObject ([ordered]@{ a = 1; b = 'x' })").output[0]
    assert text == '{\n    "a":  1,\n    "b":  "x"\n}'


def test_convert_from_json_writes_an_array_as_one_object(run: Run) -> None:
    # PowerShell/PowerShell#3424: in 5.1 the array reaches the pipeline as a single object.
    script = """$text = '[{"username":"alice"},{"username":"bob"}]'
@($text | ConvertFrom-Json | ForEach-Object { [string]$_.username })
$parsed = $text | ConvertFrom-Json
@($parsed).Count
foreach ($u in @($parsed)) { $u.username }
($text | ConvertFrom-Json).GetType().FullName
('{"a": {"b": 2}}' | ConvertFrom-Json).a.b
"""
    # Assigning first unwraps the one pipeline object: $parsed is the array, so @($parsed) has both users.
    assert run(script).output == ["alice bob", 2, "alice", "bob", "System.Object[]", 2]


def test_convert_from_json_invalid_text(run: Run) -> None:
    result = run("try { 'not json' | ConvertFrom-Json } catch { $_.FullyQualifiedErrorId }")
    assert result.output == ["System.ArgumentException,Microsoft.PowerShell.Commands.ConvertFromJsonCommand"]


def test_join_and_split_path(run: Run) -> None:
    script = """Join-Path $env:ProgramFiles 'JumpCloud'
Join-Path 'C:\\a\\' '\\b'
Split-Path -Path 'C:\\a\\b\\c.txt' -Parent
Split-Path -Path 'C:\\a\\b\\c.txt' -Leaf
"""
    assert run(script).output == ["C:\\Program Files\\JumpCloud", "C:\\a\\b", "C:\\a\\b", "c.txt"]


def test_get_date_uses_the_machine_clock_and_start_sleep_advances_it() -> None:
    machine = FakeMachine()
    script = """(Get-Date).ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ')
Start-Sleep -Milliseconds 1500
(Get-Date).ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ')
[datetime]::UtcNow.Year
(New-TimeSpan -Minutes 5).TotalSeconds
"""
    result = run_script(script, machine=machine)
    assert result.output == ["2026-11-30T12:00:00Z", "2026-11-30T12:00:01Z", 2026, 300.0]
    assert machine.slept == 1.5


def test_get_command_finds_functions_builtins_and_machine_commands() -> None:
    machine = FakeMachine()
    script = """function Get-Mine { }
(Get-Command -Name Get-Mine).CommandType
(Get-Command -Name ConvertTo-Json).Name
(Get-Command Get-LocalUser).Source
$null -eq (Get-Command -Name Get-Nope -ErrorAction SilentlyContinue)
"""
    assert run_script(script, machine=machine).output == ["Function", "ConvertTo-Json",
                                                          "Microsoft.PowerShell.LocalAccounts", True]
    machine.has_local_accounts = False
    assert run_script("$null -eq (Get-Command -Name Get-LocalUser -ErrorAction SilentlyContinue)",
                      machine=machine).output == [True]


def test_new_object_pure_and_machine_types(run: Run) -> None:
    script = """$l = New-Object System.Collections.Generic.List[string]
$l.Add('a')
$l.Add(5)
$l.Contains('5')
$l.Count
$l[1]
$sid = New-Object -TypeName System.Security.Principal.SecurityIdentifier -ArgumentList 'S-1-5-18'
$sid.Value
try { New-Object -TypeName No.Such.Type } catch { $_.FullyQualifiedErrorId }
$e = New-Object System.InvalidOperationException -ArgumentList 'msg'
$e.Message
$e -is [System.Exception]
"""
    assert run(script).output == [True, 2, "5", "S-1-5-18",
                                  "TypeNotFound,Microsoft.PowerShell.Commands.NewObjectCommand", "msg", True]


def test_secure_string_never_prints_its_text(run: Run) -> None:
    script = """$s = ConvertTo-SecureString -String 'P@ss' -AsPlainText -Force
[string]$s
"$s"
$s -is [securestring]
"""
    result = run(script)
    assert result.output == ["System.Security.SecureString", "System.Security.SecureString", True]
    assert "P@ss" not in json.dumps([str(o) for o in result.output])


def test_out_string_and_write_output(run: Run) -> None:
    assert run("'a', 'b' | Out-String\nWrite-Output 'x', 'y'").output == ["a\r\nb\r\n", "x", "y"]


def test_timespan_values(run: Run) -> None:
    assert run("New-TimeSpan -Hours 1 -Minutes 30").output == [timedelta(hours=1, minutes=30)]
