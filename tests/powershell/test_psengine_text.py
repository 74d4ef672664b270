"""Encodings, Unicode regex categories, integer casts, Sort-Object -Unique, Start-Sleep without a clock.

Sources: learn.microsoft.com/dotnet/api/system.text.encoding (GetPreamble, Default, replacement fallback),
UTF8Encoding(Boolean) and UnicodeEncoding(Boolean, Boolean) constructors; .NET "Character classes in regular
expressions" (\\p{name}); LanguagePrimitives.ConvertNumeric (InvalidCastIConvertible) and mscorlib Overflow_*
strings; Sort-Object -Unique (about Sort-Object: case-insensitive unless -CaseSensitive); Start-Sleep and
the contract's optional Machine.sleep.
"""

from __future__ import annotations

from psengine_fakes import FakeMachine
from psengine_support import Run, run_script


def test_utf8_encoding_constructor_decides_the_preamble(run: Run) -> None:
    script = """$no = New-Object System.Text.UTF8Encoding $false
$yes = New-Object -TypeName System.Text.UTF8Encoding -ArgumentList $true
$no.GetPreamble().Length
$yes.GetPreamble().Length
($yes.GetPreamble() | ForEach-Object { '{0:X2}' -f $_ }) -join ''
$bytes = $no.GetBytes('héllo')
$bytes.Length
$no.GetString($bytes)
$yes.GetString($bytes, 1, 2)
$no.GetType().FullName
"""
    assert run(script).output == [0, 3, "EFBBBF", 6, "héllo", "é", "System.Text.UTF8Encoding"]


def test_encoding_statics(run: Run) -> None:
    script = """[System.Text.Encoding]::UTF8.GetPreamble().Length
[System.Text.Encoding]::Unicode.GetBytes('A').Length
[System.Text.Encoding]::Unicode.WebName
[System.Text.Encoding]::ASCII.GetString([System.Text.Encoding]::ASCII.GetBytes('naïve'))
[System.Text.Encoding]::ASCII.GetString([byte[]]@(104, 200))
[System.Text.Encoding]::Default.CodePage
[System.Text.Encoding]::Default.GetBytes('€')[0]
[System.Text.Encoding]::Default.GetString([byte[]]@(0x80, 0x81))
[Convert]::ToBase64String([System.Text.Encoding]::Unicode.GetBytes('ab'))
"""
    assert run(script).output == [3, 2, "utf-16", "na?ve", "h?", 1252, 0x80, "€\x81", "YQBiAA=="]


def test_unicode_categories_in_regex(run: Run) -> None:
    script = """'Pässword1!' -cmatch '\\p{Lu}'
'pässword1!' -cmatch '\\p{Lu}'
'ÄBC' -cmatch '^\\p{Lu}+$'
'abc1' -cmatch '[^\\p{L}\\d]'
'abc1!' -cmatch '[^\\p{L}\\d]'
'ab' -cmatch '\\P{Ll}'
'aB' -cmatch '\\P{Ll}'
'x-y' -replace '\\p{P}', '_'
[regex]::Match('12ä', '\\p{L}').Value
"""
    assert run(script).output == [True, False, True, False, True, False, True, "x_y", "ä"]


def test_unknown_unicode_category_is_an_invalid_pattern(run: Run) -> None:
    result = run("try { 'a' -cmatch '\\p{Foo}' } catch { $_.Exception.GetType().Name }")
    assert result.output == ["ArgumentException"]


def test_int_cast_overflow_fails_as_in_5_1(run: Run) -> None:
    script = """try { [int]2147483648 } catch { $_.Exception.Message; $_.FullyQualifiedErrorId }
try { [int]'3000000000' } catch { $_.FullyQualifiedErrorId }
[int]2147483647
[int64]2147483648
[long]'9000000000'
[uint32]4294967295
try { [uint32]-1 } catch { $_.Exception.Message }
try { [int64]9223372036854775808 } catch { $_.FullyQualifiedErrorId }
try { [int]([double]::NaN) } catch { $_.Exception.Message }
"""
    assert run(script).output == [
        'Cannot convert value "2147483648" to type "System.Int32". Error: "Value was either too large or too small '
        'for an Int32."',
        "InvalidCastIConvertible",
        "InvalidCastFromStringToInteger",
        2147483647,
        2147483648,
        9000000000,
        4294967295,
        'Cannot convert value "-1" to type "System.UInt32". Error: "Value was either too large or too small for a '
        'UInt32."',
        "InvalidCastIConvertible",
        'Cannot convert value "NaN" to type "System.Int32". Error: "Value was either too large or too small for an '
        'Int32."',
    ]


def test_int_parameter_rejects_a_value_over_int32(run: Run) -> None:
    result = run("param([int] $N)\n$N\n", [("N", 2**31)])
    assert result.output == []
    assert result.terminating is not None
    assert "Value was either too large or too small for an Int32." in result.terminating.message


def test_sort_object_unique_ignores_case_unless_case_sensitive(run: Run) -> None:
    script = """(@('b', 'A', 'a', 'B', 'c', 'b') | Sort-Object -Unique) -join ','
(@('b', 'A', 'a', 'B') | Sort-Object -Unique -CaseSensitive).Count
(@(3, 1, 3, 2, 1) | Sort-Object -Unique) -join ','
@(@{ n = 'x' }, @{ n = 'X' }, @{ n = 'y' }) | ForEach-Object { [pscustomobject]$_ } | Sort-Object -Property n -Unique |
    ForEach-Object { $_.n }
@(5, 5) | Sort-Object -Unique -Descending
"""
    assert run(script).output == ["A,b,c", 4, "1,2,3", "x", "y", 5]


class ClocklessMachine(FakeMachine):
    """A machine without the optional ``sleep``: Start-Sleep returns at once (contract note)."""

    def __getattribute__(self, name: str) -> object:
        if name == "sleep":
            raise AttributeError(name)
        return super().__getattribute__(name)


def test_start_sleep_without_a_machine_clock_returns_at_once() -> None:
    machine = ClocklessMachine()
    result = run_script("Start-Sleep -Seconds 3600\n'done'\n", machine=machine)
    assert result.output == ["done"]
    assert result.errors == [] and result.terminating is None
    assert machine.slept == 0.0


def test_start_sleep_positional_seconds_advance_the_machine_clock() -> None:
    machine = FakeMachine()
    result = run_script("$a = Get-Date\nStart-Sleep 2\n((Get-Date) - $a).TotalSeconds\n", machine=machine)
    assert result.output == [2.0]
    assert machine.slept == 2.0
