"""The template checkers of tests/pscheckers.py catch what they are for: each on known-bad samples (it must
flag them) and on known-good ones (it must not), so none of the static checks can pass vacuously.
"""

from __future__ import annotations

from collections.abc import Callable

import pstree
import pytest
from pscheckers import (
    banned_commands,
    header_problems,
    ps7_syntax,
    raw_problems,
    script_parameters,
    unapproved_functions,
    unquoted_jinja_outputs,
)

GOOD_BODY = "Set-StrictMode -Version Latest\n$ErrorActionPreference = 'Stop'\n"


GOOD_SCRIPT = (
    "# jcfix-template: sample v1\n[CmdletBinding(SupportsShouldProcess)]\nparam()\n" + GOOD_BODY + "Get-Date\n"
)


def check(checker: Callable[[pstree.Parsed], list[str]], source: str) -> list[str]:
    """The checker's problems with ``source``, parsed."""
    return checker(pstree.parse(source))


@pytest.mark.parametrize(
    "bad",
    [
        "Invoke-Expression 'Get-Date'",
        "iex $code",
        "IEX($code)",
        "$code | iex",
        "Write-Host 'hi'",
        "write-host hi",
        "Microsoft.PowerShell.Utility\\Write-Host hi",
        "& 'Invoke-Expression' $code",
        "& ('iex') $code",
        "[ScriptBlock]::Create($code).Invoke()",
        "$ExecutionContext.InvokeCommand.InvokeScript($code)",
    ],
)
def test_banned_checker_catches(bad: str) -> None:
    assert check(banned_commands, bad)


@pytest.mark.parametrize(
    "fine",
    [
        "Write-Output 'Write-Host'",
        "# Invoke-Expression is banned\nGet-Date",
        "Write-Verbose 'iex'",
        "Get-Item iexplore",
    ],
)
def test_banned_checker_ignores(fine: str) -> None:
    assert check(banned_commands, fine) == []


@pytest.mark.parametrize(
    "bad",
    [
        "$a = $b ?? 1",
        "$a ??= 1",
        "$a = ${b}?.Name",
        "$a = ${b}?[0]",
        "$a = $b ? 1 : 2",
        "Get-Date && Get-Date",
        "Get-Date || Get-Date",
        "1..3 | ForEach-Object -Parallel { $_ }",
        "1..3 | % -parallel { $_ }",
        "ConvertTo-Json -InputObject $x -EnumsAsStrings",
        "'{}' | ConvertFrom-Json -AsHashtable",
        "function Get-X { process { 1 } clean { 2 } }",
        "function Get-X { clean { 2 } }",
    ],
)
def test_ps7_checker_catches(bad: str) -> None:
    assert check(ps7_syntax, bad)


@pytest.mark.parametrize(
    "fine",
    [
        "Get-Process | ? { $_.Id -gt 4 }",
        "Get-ChildItem a?b",
        "$a = 'a ?? b && c || d'",
        "# $a ?? b, a && b\nGet-Date",
        "<# clean { } #>\nGet-Date",
        "Get-Process | Group-Object -AsHashTable -Property Id",
        "$x = 'clean'",
        "function Get-X { process { 1 } end { 2 } }",
        "ConvertTo-Json -InputObject $x -Depth 12 -Compress",
    ],
)
def test_ps7_checker_ignores(fine: str) -> None:
    assert pstree.problems(pstree.parse(fine)) == []
    assert check(ps7_syntax, fine) == []


def test_header_checker_accepts_a_good_script() -> None:
    assert header_problems(pstree.parse(GOOD_SCRIPT), "sample", 1) == []


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        (GOOD_SCRIPT.replace("# jcfix-template: sample v1\n", ""), "marker"),
        (GOOD_SCRIPT.replace("sample v1", "sample v2"), "declaration"),
        (GOOD_SCRIPT.replace("sample v1", "other v1"), "declaration"),
        (GOOD_SCRIPT.replace("[CmdletBinding(SupportsShouldProcess)]\n", ""), "CmdletBinding"),
        (GOOD_SCRIPT.replace("(SupportsShouldProcess)", "()"), "SupportsShouldProcess"),
        (GOOD_SCRIPT.replace("(SupportsShouldProcess)", "(SupportsShouldProcess=$false)"), "SupportsShouldProcess"),
        (GOOD_SCRIPT.replace("[CmdletBinding(SupportsShouldProcess)]\nparam()\n", ""), "param"),
        (GOOD_SCRIPT.replace("Set-StrictMode -Version Latest\n", ""), "Set-StrictMode"),
        (GOOD_SCRIPT.replace("-Version Latest", "-Version 2.0"), "Set-StrictMode"),
        (GOOD_SCRIPT.replace("= 'Stop'", "= 'Continue'"), "ErrorActionPreference"),
        (GOOD_SCRIPT.replace("$ErrorActionPreference = 'Stop'\n", ""), "ErrorActionPreference"),
        (GOOD_SCRIPT.replace(GOOD_BODY, "Get-Date\n" + GOOD_BODY), "Set-StrictMode"),
    ],
)
def test_header_checker_catches(bad: str, expected: str) -> None:
    found = header_problems(pstree.parse(bad), "sample", 1)
    assert any(expected in problem for problem in found), found


@pytest.mark.parametrize("bad", ["function Do-Thing { }", "function helper { }", "function Get- { }"])
def test_verb_checker_catches(bad: str) -> None:
    assert check(unapproved_functions, bad + "\nGet-Date")


def test_verb_checker_accepts() -> None:
    assert check(unapproved_functions, "function ConvertTo-JcfixJson { }\nfunction Get-Thing { }\nGet-Date") == []


def test_param_reader() -> None:
    source = (
        "[CmdletBinding(SupportsShouldProcess)]\nparam(\n    [Parameter(Mandatory)] [string] $User,\n"
        "    [string[]] $Name = @(),\n    [Parameter(Mandatory=$false)][int] $Count,\n    [switch] $Force\n)\n"
        + GOOD_BODY
    )
    assert script_parameters(pstree.parse(source)) == [
        ("User", {"string"}, True),
        ("Name", {"string[]"}, False),
        ("Count", {"int"}, False),
        ("Force", {"switch"}, False),
    ]


@pytest.mark.parametrize(
    "bad",
    [
        "{{ common.prelude() }}\nInvoke-Expression $x",
        "$x = 1 && 2",
        "$a = $b ?? 1",
        "{% if x %}\nWrite-Host 'x'\n{% endif %}",
        "1..3 | ForEach-Object -Parallel { $_ }",
        "clean {\n}",
    ],
)
def test_raw_checker_catches(bad: str) -> None:
    assert raw_problems(bad)


def test_raw_checker_ignores_comments() -> None:
    assert raw_problems("{# no ??, &&, Write-Host #}\n# no iex here\n<#\n Write-Host\n#>\nGet-Date\n") == []


@pytest.mark.parametrize("bad", ["-Name '{{ name }}'", "{{ name | upper }}", '"{{ name }}"'])
def test_jinja_output_checker_catches(bad: str) -> None:
    assert unquoted_jinja_outputs(bad)


def test_jinja_output_checker_accepts() -> None:
    assert unquoted_jinja_outputs("{{ common.prelude() }}\n{{ caller() }}\n-Action {{ action | ps_literal }}") == []
