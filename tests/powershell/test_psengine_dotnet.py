""".NET members the templates use: static methods of pure types, machine types, string/array/hashtable members."""

from __future__ import annotations

from psengine_fakes import FakeMachine
from psengine_support import Run, run_script

from toolkit.lab.powershell.contract import DotNetObject


def test_convert_base64_both_ways(run: Run) -> None:
    script = """$b = [byte[]]@(104, 105, 0, 255)
$t = [Convert]::ToBase64String($b)
$t
$back = [Convert]::FromBase64String($t)
$back.Length
$back[3]
$back -is [byte[]]
try { [Convert]::FromBase64String('***') } catch { $_.Exception.GetType().FullName }
"""
    assert run(script).output == ["aGkA/w==", 4, 255, True, "System.Management.Automation.MethodInvocationException"]


def test_regex_static_match(run: Run) -> None:
    script = """$m = [regex]::Match('{"systemKey": "abc123"}', 'systemKey"\\s*:\\s*"(\\w+)"')
$m.Success
$m.Groups[1].Value
([regex]::Match('x', 'y')).Success
"""
    assert run(script).output == [True, "abc123", False]


def test_string_statics_and_path(run: Run) -> None:
    script = """[string]::IsNullOrEmpty('')
[string]::IsNullOrEmpty($null)
[string]::IsNullOrEmpty(' ')
[string]::Join(',', @('a', 'b'))
[System.IO.Path]::ChangeExtension('C:\\t\\unlink.json', '.result.json')
[System.IO.Path]::GetFileName('C:\\t\\file.txt')
[System.IO.Path]::Combine('C:\\t', 'x', 'y.txt')
"""
    assert run(script).output == [True, True, False, "a,b", "C:\\t\\unlink.result.json", "file.txt",
                                  "C:\\t\\x\\y.txt"]


def test_string_methods(run: Run) -> None:
    script = """$s = '  John Smith  '
$s.Trim()
$s.Trim().Split(' ')[1]
'a\\b/c'.IndexOfAny([char[]]'\\/')
'Report.LOG'.EndsWith('.log')
'Report.LOG'.ToLowerInvariant().EndsWith('.log')
'abc'.StartsWith('a')
'abc'.Replace('b', 'X')
'abcdef'.Substring(2, 3)
'abc'.Contains('B')
'abc'.Length
"""
    assert run(script).output == ["John Smith", "Smith", 1, False, True, True, "aXc", "cde", False, 3]


def test_array_and_hashtable_members(run: Run) -> None:
    script = """$a = @(1, 2, 3)
$a.Count
$a.Length
$a[-1]
$a[0..1] -join ','
$h = @{ one = 1 }
$h.Keys -join ','
$h.ContainsKey('ONE')
$h.Contains('two')
$objs = @([pscustomobject]@{ n = 'x' }, [pscustomobject]@{ n = 'y' })
$objs.n -join ','
"""
    assert run(script).output == [3, 3, 3, "1,2", "one", True, False, "x,y"]


def test_machine_static_members_and_objects() -> None:
    machine = FakeMachine()
    script = """[Environment]::Is64BitProcess
[System.Environment]::MachineName
[Environment]::NewLine.Length
$sid = (Get-LocalUser)[0].SID
$sid.Value
[string](Get-LocalUser).PrincipalSource
"""
    assert run_script(script, machine=machine).output == [True, "LAB-PC", 2, "S-1-5-21-1-1001", "Local"]


def test_dotnet_object_methods_and_missing_members() -> None:
    machine = FakeMachine()
    key = DotNetObject(["Microsoft.Win32.RegistryKey"], {"Name": "HKLM\\X"},
                       {"GetValueNames": lambda: ["a", "b"], "GetValue": lambda name, *rest: b"\x01\x02"})
    machine.items["HKLM:\\X"] = {}
    machine.static_member = lambda type_name, member: key if member == "Key" else (_ for _ in ()).throw(
        KeyError(member))  # type: ignore[method-assign]
    script = """$k = [Microsoft.Win32.Registry]::Key
$k.GetValueNames() -join ','
$v = $k.GetValue('a', $null, 'DoNotExpandEnvironmentNames')
$v -is [byte[]]
[Convert]::ToBase64String($v)
try { $k.NoSuchMethod() } catch { $_.FullyQualifiedErrorId }
$k.Missing
"""
    assert run_script(script, machine=machine).output == ["a,b", True, "AQI=", "MethodNotFound", None]


def test_generic_list_and_arraylist(run: Run) -> None:
    script = """$names = New-Object System.Collections.Generic.List[string]
$names.Add('x')
if (-not $names.Contains('y')) { $names.Add('y') }
$names.Count
$names -join ','
$arr = [System.Collections.Generic.List[string]]::new()
$arr.Count
"""
    assert run(script).output == [2, "x,y", 0]


def test_pure_enums_and_enum_casts(run: Run) -> None:
    script = """$share = [System.IO.FileShare]'ReadWrite,Delete'
[int]$share
[string][Microsoft.Win32.RegistryView]::Registry64
[int][Microsoft.Win32.RegistryHive]::LocalMachine
([System.IO.FileAttributes]::ReparsePoint -band 1024) -ne 0
[System.Management.Automation.ErrorCategory]::InvalidResult -eq 'InvalidResult'
try { [System.IO.FileMode]'Sideways' } catch { $_.Exception.GetType().FullName }
'ABC'.StartsWith('ab', [System.StringComparison]::OrdinalIgnoreCase)
"""
    assert run(script).output == [7, "Registry64", -2147483646, True, True,
                                  "System.Management.Automation.PSInvalidCastException", True]


def test_to_host_string() -> None:
    from datetime import datetime, timezone

    from toolkit.lab.powershell import to_host_string
    from toolkit.lab.powershell.values import Hashtable, SecureString

    assert to_host_string("text") == "text"
    assert to_host_string(None) == ""
    assert to_host_string(True) == "True"
    assert to_host_string([1, "a"]) == "1 a"
    assert to_host_string(1.5) == "1.5"
    assert to_host_string(Hashtable({"a": 1})) == "System.Collections.Hashtable"
    assert to_host_string(datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)) == "01/02/2026 03:04:05"
    assert to_host_string(SecureString("secret")) == "System.Security.SecureString"


def test_text_encodings(run: Run) -> None:
    script = """$utf8 = [System.Text.Encoding]::UTF8
$bytes = $utf8.GetBytes('né')
$bytes.Length
$utf8.GetString($bytes)
$utf8.GetPreamble().Length
(New-Object -TypeName System.Text.UTF8Encoding -ArgumentList $false).GetPreamble().Length
[System.Text.Encoding]::Unicode.GetBytes('a').Length
"""
    assert run(script).output == [3, "né", 3, 0, 2]
