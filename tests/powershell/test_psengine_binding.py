"""Script param() binding from PSRP parameters, and function binding, with PowerShell's own messages."""

from __future__ import annotations

from datetime import datetime, timezone

from psengine_support import Run

SCRIPT = """[CmdletBinding(SupportsShouldProcess)]
param(
    [Parameter(Mandatory)] [ValidatePattern('^[a-z]+$')] [string] $UserName,
    [ValidateRange(0, 500)] [int] $LogLines = 20,
    [ValidateSet('guided', 'unlink')] [string] $Method = 'guided',
    [string[]] $Names,
    [switch] $Force,
    [datetime] $When,
    [AllowEmptyString()] [Parameter(Mandatory)] [string] $Note
)
"{0}|{1}|{2}|{3}|{4}|{5}|{6}" -f $UserName, $LogLines, $Method, ($Names -join '+'), $Force, $Names.Count, $Note
"""


def test_names_bind_by_unambiguous_prefix_without_case(run: Run) -> None:
    result = run(SCRIPT, [("username", "alice"), ("LOG", "7"), ("me", "Unlink"), ("Names", ["a", "b"]),
                          ("Fo", None), ("Note", "")])
    assert result.terminating is None
    assert result.output == ["alice|7|Unlink|a+b|True|2|"]


def test_positional_parameters_bind_in_declaration_order(run: Run) -> None:
    # No Position anywhere: parameters are positional in declaration order, switches excepted.
    result = run(SCRIPT, [(None, "bob"), (None, 3), ("Note", "n")])
    assert result.output == ["bob|3|guided||False|0|n"]


def test_ambiguous_prefix_is_refused_with_powershells_message(run: Run) -> None:
    result = run(SCRIPT, [("N", "x")])
    assert result.terminating is not None
    assert result.terminating.message == (
        "Parameter cannot be processed because the parameter name 'N' is ambiguous. "
        "Possible matches include: -Names -Note."
    )
    assert result.terminating.fully_qualified_error_id == "AmbiguousParameter"
    assert result.output == []


def test_unknown_parameter(run: Run) -> None:
    result = run(SCRIPT, [("Bogus", 1)])
    assert result.terminating is not None
    assert result.terminating.message == "A parameter cannot be found that matches parameter name 'Bogus'."
    assert result.terminating.exception_type == "System.Management.Automation.ParameterBindingException"


def test_missing_mandatory(run: Run) -> None:
    result = run(SCRIPT, [("LogLines", 1)])
    assert result.terminating is not None
    assert result.terminating.message == (
        "Cannot process command because of one or more missing mandatory parameters: UserName Note."
    )


def test_validate_pattern_range_and_set(run: Run) -> None:
    bad_pattern = run(SCRIPT, [("UserName", "Al1ce"), ("Note", "")])
    assert bad_pattern.terminating is not None
    assert bad_pattern.terminating.message == (
        "Cannot validate argument on parameter 'UserName'. The argument \"Al1ce\" does not match the \"^[a-z]+$\" "
        "pattern. Supply an argument that matches \"^[a-z]+$\" and try the command again."
    )
    assert bad_pattern.terminating.exception_type.endswith("ParameterBindingValidationException")
    bad_range = run(SCRIPT, [("UserName", "al"), ("Note", ""), ("LogLines", 501)])
    assert bad_range.terminating is not None
    assert "The 501 argument is greater than the maximum allowed range of 500." in bad_range.terminating.message
    bad_set = run(SCRIPT, [("UserName", "al"), ("Note", ""), ("Method", "other")])
    assert bad_set.terminating is not None
    assert 'The argument "other" does not belong to the set "guided,unlink"' in bad_set.terminating.message


def test_empty_string_needs_allow_empty_string_when_mandatory(run: Run) -> None:
    result = run(SCRIPT, [("UserName", ""), ("Note", "")])
    assert result.terminating is not None
    assert result.terminating.message == "Cannot bind argument to parameter 'UserName' because it is an empty string."


def test_int_conversion_failure(run: Run) -> None:
    result = run(SCRIPT, [("UserName", "al"), ("Note", ""), ("LogLines", "many")])
    assert result.terminating is not None
    assert result.terminating.message == (
        "Cannot process argument transformation on parameter 'LogLines'. Cannot convert value \"many\" to type "
        "\"System.Int32\". Error: \"Input string was not in a correct format.\""
    )


def test_datetime_parameter(run: Run) -> None:
    script = "param([datetime] $When)\n$When.ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ')\n$When -is [datetime]"
    result = run(script, [("When", "2026-01-02T03:04:05Z")])
    assert result.output == ["2026-01-02T03:04:05Z", True]
    native = run(script, [("When", datetime(2025, 5, 6, 7, 8, 9, tzinfo=timezone.utc))])
    assert native.output == ["2025-05-06T07:08:09Z", True]


def test_specified_twice(run: Run) -> None:
    result = run(SCRIPT, [("UserName", "a"), ("user", "b")])
    assert result.terminating is not None
    assert result.terminating.message == (
        "Cannot bind parameter because parameter 'UserName' is specified more than once.")


def test_common_parameters_only_on_cmdletbinding(run: Run) -> None:
    advanced = run("[CmdletBinding()]\nparam()\n$ErrorActionPreference", [("ErrorAction", "Stop")])
    assert advanced.output == ["Stop"]
    simple = run("param($A)\n$A", [("ErrorAction", "Stop")])
    assert simple.terminating is not None
    assert simple.terminating.message == "A parameter cannot be found that matches parameter name 'ErrorAction'."
    no_should_process = run("[CmdletBinding()]\nparam()\n1", [("WhatIf", None)])
    assert no_should_process.terminating is not None
    assert "matches parameter name 'WhatIf'" in no_should_process.terminating.message


def test_function_parameter_sets_and_switches(run: Run) -> None:
    script = """function Get-Thing {
    [CmdletBinding(DefaultParameterSetName = 'Name')]
    param(
        [Parameter(Mandatory, ParameterSetName = 'Name')] [string] $Name,
        [Parameter(Mandatory, ParameterSetName = 'Sid')] [string] $Sid,
        [switch] $Loud
    )
    '{0}:{1}{2}:{3}' -f $PSCmdlet.ParameterSetName, $Name, $Sid, $Loud
}
Get-Thing -Name a
Get-Thing -Sid S-1 -Loud
Get-Thing -Loud:$false -Name b
"""
    result = run(script)
    assert result.errors == []
    assert result.output == ["Name:a:False", "Sid:S-1:True", "Name:b:False"]


def test_simple_function_extra_arguments_go_to_args(run: Run) -> None:
    script = "function F {\n    param($First)\n    \"$First;$($args.Count);$($args[1])\"\n}\nF 1 2 3"
    assert run(script).output == ["1;2;3"]
