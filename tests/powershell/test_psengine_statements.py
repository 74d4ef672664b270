"""Statements: if/elseif/else, loops, switch, break/continue/return, functions with pipeline blocks, $null = ..."""

from __future__ import annotations

import pytest
from psengine_support import Run

from toolkit.lab.powershell import UnsupportedConstruct


def test_if_elseif_else_and_statement_values(run: Run) -> None:
    script = """foreach ($n in 1, 5, 9) {
    if ($n -lt 3) { 'small' }
    elseif ($n -lt 7) { 'medium' }
    else { 'large' }
}
$v = $(if ($false) { 'a' } else { 'b' })
$v
$w = if ($true) { 'direct' }
$w
"""
    assert run(script).output == ["small", "medium", "large", "b", "direct"]


def test_loops_break_continue(run: Run) -> None:
    script = """for ($i = 0; $i -lt 10; $i++) {
    if ($i -eq 1) { continue }
    if ($i -eq 4) { break }
    $i
}
$j = 0
while ($j -lt 3) { $j++ }
$j
do { $j-- } while ($j -gt 0)
$j
do { $j++ } until ($j -ge 2)
$j
foreach ($x in $null) { 'never' }
"""
    assert run(script).output == [0, 2, 3, 3, 0, 2]


def test_switch_values_default_and_break(run: Run) -> None:
    script = """foreach ($v in 'restored', 'ALREADY', 'other') {
    switch ($v) {
        'restored' { 'R' }
        'already' { 'A' }
        default { 'D' }
    }
}
switch (1, 2, 3) {
    2 { 'two'; break }
    default { "n$_" }
}
switch (5) {
    { $_ -gt 3 } { 'big' }
    5 { 'five' }
}
"""
    assert run(script).output == ["R", "A", "D", "n1", "two", "big", "five"]


def test_return_ends_the_function_and_writes_its_value(run: Run) -> None:
    script = """function F {
    param($x)
    if ($x) { return 'early' }
    'late'
    return
    'never'
}
F 1
F 0
"""
    assert run(script).output == ["early", "late"]


def test_pipeline_function_blocks(run: Run) -> None:
    script = """function ConvertTo-Upper {
    [CmdletBinding()]
    param([Parameter(ValueFromPipeline)] $Value)
    begin { 'begin' }
    process {
        if ($null -eq $Value) { return }
        $Value.ToUpper()
    }
    end { 'end' }
}
'a', $null, 'b' | ConvertTo-Upper
ConvertTo-Upper -Value 'solo'
"""
    assert run(script).output == ["begin", "A", "B", "end", "begin", "SOLO", "end"]


def test_discarding_output(run: Run) -> None:
    script = """$l = New-Object System.Collections.ArrayList
$l.Add('kept')
[void]$l.Add('x')
$null = $l.Add('y')
$l.Add('z') | Out-Null
$l.Count
"""
    assert run(script).output == [0, 4]


def test_select_sort_measure_where(run: Run) -> None:
    script = """$items = @(
    [pscustomobject]@{ Name = 'b'; N = 2 }
    [pscustomobject]@{ Name = 'a'; N = 3 }
    [pscustomobject]@{ Name = 'c'; N = 1 }
)
($items | Sort-Object -Property N | Select-Object -First 1).Name
($items | Sort-Object Name -Descending | ForEach-Object { $_.Name }) -join ''
$items | Select-Object -ExpandProperty Name -Last 1
($items | Where-Object { $_.N -ge 2 } | Measure-Object).Count
($items | Select-Object -Property Name)[0].PSObject.Properties.Count
5, 3, 9 | Sort-Object
"""
    assert run(script).output == ["c", "cba", "c", 2, 1, 3, 5, 9]


def test_multiple_assignment(run: Run) -> None:
    script = "function Two { 'first'; 'second'; 'third' }\n$a, $b = Two\n$a\n$b -join '+'"
    assert run(script).output == ["first", "second+third"]


def test_unsupported_syntax_is_named_with_its_line(run: Run) -> None:
    with pytest.raises(UnsupportedConstruct, match=r"unsupported construct switch option -regex at line 2"):
        run("'x'\nswitch -regex ('a') {\n    'a' { 1 }\n}")
    with pytest.raises(UnsupportedConstruct, match=r"parse error"):
        run("if (")


def test_method_call_in_argument_mode(run: Run) -> None:
    script = """function Show {
    param($Name, $Other)
    "$Name|$Other"
}
$path = 'SOFTWARE\\Vendor\\Key'
Show -Name $path.Substring($path.LastIndexOf('\\') + 1) -Other $path.Length
Show $path.ToUpper() 2
"""
    assert run(script).output == ["Key|19", "SOFTWARE\\VENDOR\\KEY|2"]


def test_switch_clause_conditions_of_every_literal_kind(run: Run) -> None:
    # about_Switch: a clause condition may be a number, a quoted or expandable string, or a bare word (a string);
    # the grammar keeps "..." and bare words as single tokens.
    script = """$n = 'B'
switch ('b') {
    "a" { 'dq' }
    "$n" { 'expanded' }
    default { 'default' }
}
switch ('word') {
    word { 'bare' }
}
switch (@(1, 2)) {
    1 { 'one' }
    2 { 'two' }
}
"""
    assert run(script).output == ["expanded", "bare", "one", "two"]
