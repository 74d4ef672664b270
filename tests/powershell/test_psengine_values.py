"""Values and operators: arrays, unrolling, hashtables, strings, -f, comparisons, casts, truthiness."""

from __future__ import annotations

import pytest
from psengine_support import Run

from toolkit.lab.powershell.values import Hashtable, PSObject


def test_function_output_unrolls_and_array_subexpression_wraps(run: Run) -> None:
    script = """function One { ,@('only') }
function Single { @('only') }
function None { @() }
$a = Single
$a.GetType().FullName
@(Single).Count
$n = None
$null -eq $n
@(None).Count
(One).GetType().FullName
"""
    assert run(script).output == ["System.String", 1, True, 0, "System.Object[]"]


def test_hashtables_are_case_insensitive_and_ordered_keeps_order(run: Run) -> None:
    script = """$h = @{ Name = 'a' }
$h.name
$h['NAME']
$h.Extra = 1
$h['extra'] += 1
$h.Extra
$o = [ordered]@{ z = 1; a = 2 }
$o.Keys -join ','
$o.Contains('Z')
$h.ContainsKey('nAme')
$h.Count
"""
    result = run(script)
    assert result.output == ["a", "a", 2, "z,a", True, True, 2]


def test_pscustomobject_and_psobject_properties(run: Run) -> None:
    script = """$o = [pscustomobject]@{ Name = 'n'; '(default)' = 'd' }
$o.Name
$o.'(default)'
[bool]$o.PSObject.Properties['(default)']
$null -eq $o.PSObject.Properties['missing']
$o.PSObject.Properties['name'].Value
# A hashtable's PSObject shows the Hashtable type's properties, not its keys.
$null -eq (@{ key = 1 }).PSObject.Properties['key']
(@{ key = 1 }).PSObject.Properties['Count'].Value
"""
    assert run(script).output == ["n", "d", True, True, "n", True, 1]


def test_string_expansion_and_here_strings(run: Run) -> None:
    script = """$name = 'World'
$h = @{ k = 'v' }
"Hello $name, $($h.k) and $h.k; `$escaped `"q`" ""dq"" ${name}!"
'single $name ''quoted'''
@'
here $name
'@
@"
here $name
"@
"""
    assert run(script).output == [
        'Hello World, v and System.Collections.Hashtable.k; $escaped "q" "dq" World!',
        "single $name 'quoted'",
        "here $name",
        "here World",
    ]


@pytest.mark.parametrize(("expression", "expected"), [
    ("'{0:D3}-{1}' -f 7, 'x'", "007-x"),
    ("'{0:X8}' -f 255", "000000FF"),
    ("'{0:x}' -f 255", "ff"),
    ("'{0,5}|{1,-3}|' -f 'ab', 'c'", "   ab|c  |"),
    ("'{{{0}}}' -f 1", "{1}"),
    ("'{0:N2}' -f 1234.5", "1,234.50"),
])
def test_format_operator(run: Run, expression: str, expected: str) -> None:
    assert run(expression).output == [expected]


@pytest.mark.parametrize(("expression", "expected"), [
    ("'abc' -eq 'ABC'", True),
    ("'abc' -ceq 'ABC'", False),
    ("1 -eq '1'", True),
    ("'1' -eq 1", True),
    ("10 -gt 9", True),
    ("'10' -gt '9'", False),
    ("'Jonathan' -like 'jon*'", True),
    ("'Jonathan' -clike 'jon*'", False),
    ("'x' -notlike '*y*'", True),
    ("'a','b' -contains 'B'", True),
    ("'a','b' -ccontains 'B'", False),
    ("'c' -notin 'a','b'", True),
    ("'a' -in 'A','b'", True),
    ("$null -eq $null", True),
    ("'' -eq $null", False),
    ("'x' -is [string]", True),
    ("1 -is [string]", False),
    ("1 -isnot [string]", True),
    ("'5' -as [int]", 5),
    ("'five' -as [int]", None),
    ("'a-b-c' -replace '-', '+'", "a+b+c"),
    ("'John Smith' -replace '(\\w+) (\\w+)', '$2, $1'", "Smith, John"),
    ("'ABC' -creplace 'b', 'x'", "ABC"),
    ("'1,2' -split ','", ["1", "2"]),
    ("@('a','b') -join '/'", "a/b"),
    ("-not $false", True),
    ("!0", True),
    ("$true -and $false -or $true", True),
    ("5 % 3", 2),
    ("7 / 2", 3.5),
    ("6 / 2", 3),
    ("'ab' * 2", "abab"),
])
def test_operators(run: Run, expression: str, expected: object) -> None:
    output = run(expression).output
    assert (output if isinstance(expected, list) else output[0]) == expected


def test_array_on_the_left_filters(run: Run) -> None:
    script = "@(1, 2, 3, 2) -eq 2\n(@('a','bb','c') -ne 'bb').Count\n@('x1','y','x2') -like 'x*'\n@(1,2) -eq 5"
    assert run(script).output == [2, 2, 2, "x1", "x2"]


def test_match_sets_matches(run: Run) -> None:
    script = """if ('user: Jon' -match 'user: (?<name>\\w+)') { $Matches['name']; $Matches[0] }
@('a1', 'b2') -match '\\d' | ForEach-Object { $_ }
'abc' -notmatch 'z'
"""
    assert run(script).output == ["Jon", "user: Jon", "a1", "b2", True]


def test_addition_on_strings_arrays_numbers_and_hashtables(run: Run) -> None:
    script = """$a = @(1)
$a += 2
$a += @(3, 4)
$a.Count
'x' + 1
1 + '2'
$h = @{ a = 1 } + @{ b = 2 }
$h.Count
$null + 'n'
$i = 5
$i++
$i
$i -= 2
$i
"""
    assert run(script).output == [4, "x1", 3, 2, "n", 6, 4]


def test_casts(run: Run) -> None:
    script = """[string]5
[int]'42'
[int]2.5
[int]3.5
[bool]'false'
[bool]''
[bool]@()
[bool]@(0)
[bool]@(0, 0)
[string[]]'one'
([char[]]'ab').Count
([byte[]]@(1, 2, 255)).Length
[string]@(1, 2)
[regex]::Escape('a.b')
[datetime]'2026-03-04T05:06:07Z' -is [datetime]
"""
    assert run(script).output == ["5", 42, 2, 4, True, False, False, False, True, "one", 2, 3, "1 2", "a\\.b", True]


def test_hashtable_and_objects_as_output_values(run: Run) -> None:
    output = run("@{ a = 1 }\n[pscustomobject]@{ b = 2 }").output
    assert isinstance(output[0], Hashtable) and output[0]["A"] == 1
    assert isinstance(output[1], PSObject) and output[1].props["b"] == 2


def test_increment_statement_writes_nothing(run: Run) -> None:
    assert run("$i = 0\n$i++\n$i").output == [1]
