""".NET members that throw: MethodInvocationException wrapping, catch matching on the inner exception, lab bugs.

Sources: engine source (5.1) ExceptionHandlingOps.ConvertToMethodInvocationException and FindMatchingHandler,
ErrorRecord(ErrorRecord, Exception), NewObjectCommand.CallConstructor, Adapter.BasePropertyGet.
"""

from __future__ import annotations

from typing import Any

from psengine_fakes import FakeMachine
from psengine_support import run_script

from toolkit.lab.powershell.contract import CommandError, DotNetObject, ErrorSpec

DENIED = "Access to the path 'C:\\x' is denied."


def _throw(exception_type: str, message: str) -> Any:
    raise CommandError(ErrorSpec(message, exception_type.rsplit(".", 1)[-1], "NotSpecified", exception_type))


class ThrowingMachine(FakeMachine):
    """.NET members that throw as Windows would, and one with a Python bug."""

    def static_member(self, type_name: str, member: str) -> Any:
        if type_name.lower() == "system.io.file" and member.lower() == "delete":
            return lambda path: _throw("System.UnauthorizedAccessException", DENIED)
        if type_name.lower() == "system.io.file" and member.lower() == "buggy":
            return lambda path: {}["no such key"]
        return super().static_member(type_name, member)

    def new_object(self, type_name: str, args: list[Any]) -> Any:
        if type_name == "System.IO.FileStream":
            _throw("System.IO.FileNotFoundException", f"Could not find file '{args[0]}'.")
        if type_name == "System.Security.AccessControl.Thing":
            return DotNetObject([type_name], {"Owner": lambda: _throw("System.UnauthorizedAccessException", DENIED),
                                              "Name": "thing"},
                                {"Broken": lambda: int("x")})
        return super().new_object(type_name, args)


def run(script: str) -> Any:
    return run_script(script, machine=ThrowingMachine())


def test_typed_catch_matches_the_inner_exception_and_gets_it_as_dollar_underscore_exception() -> None:
    result = run("""try { [System.IO.File]::Delete('C:\\x') }
catch [System.UnauthorizedAccessException] { 'typed'; $_.Exception.GetType().FullName; $_.FullyQualifiedErrorId }
catch { 'all' }
""")
    assert result.output == ["typed", "System.UnauthorizedAccessException", "UnauthorizedAccessException"]


def test_a_base_type_of_the_inner_exception_matches_too() -> None:
    result = run("""try { [System.IO.File]::Delete('C:\\x') }
catch [System.SystemException] { $_.Exception.GetType().FullName }
""")
    assert result.output == ["System.UnauthorizedAccessException"]


def test_catch_all_sees_the_method_invocation_exception_with_its_inner_exception() -> None:
    result = run("""try { [System.IO.File]::Delete('C:\\x') }
catch { $_.Exception.GetType().FullName; $_.Exception.Message; $_.Exception.InnerException.GetType().FullName
        $_.Exception.InnerException.Message }
""")
    assert result.output == [
        "System.Management.Automation.MethodInvocationException",
        f'Exception calling "Delete" with "1" argument(s): "{DENIED}"',
        "System.UnauthorizedAccessException",
        DENIED,
    ]


def test_catching_the_wrapper_type_keeps_the_wrapper() -> None:
    result = run("""try { [System.IO.File]::Delete('C:\\x') }
catch [System.Management.Automation.MethodInvocationException] { $_.Exception.GetType().Name }
""")
    assert result.output == ["MethodInvocationException"]


def test_uncaught_method_exception_is_a_statement_terminating_error() -> None:
    result = run("[System.IO.File]::Delete('C:\\x')\n'after'\n")
    assert result.output == ["after"]
    assert result.terminating is None
    [error] = result.errors
    assert error.exception_type == "System.Management.Automation.MethodInvocationException"
    assert error.fully_qualified_error_id == "UnauthorizedAccessException"
    assert error.message == f'Exception calling "Delete" with "1" argument(s): "{DENIED}"'


def test_new_object_constructor_exception_is_new_objects_terminating_error() -> None:
    result = run("""try { New-Object System.IO.FileStream -ArgumentList 'C:\\nope' }
catch [System.IO.FileNotFoundException] {
    $_.FullyQualifiedErrorId; $_.Exception.GetType().Name; $_.Exception.Message; $_.CategoryInfo.Category }
""")
    assert result.output == [
        "ConstructorInvokedThrowException,Microsoft.PowerShell.Commands.NewObjectCommand",
        "MethodInvocationException",
        'Exception calling ".ctor" with "1" argument(s): "Could not find file \'C:\\nope\'."',
        "InvalidOperation",
    ]


def test_static_new_wraps_the_constructor_exception() -> None:
    result = run("""try { [System.IO.FileStream]::new('C:\\nope') }
catch [System.IO.IOException] { $_.Exception.GetType().Name; $_.FullyQualifiedErrorId }
""")
    assert result.output == ["FileNotFoundException", "FileNotFoundException"]


def test_property_getter_exception_is_get_value_invocation_exception() -> None:
    result = run("""$t = New-Object System.Security.AccessControl.Thing
$t.Name
try { $t.Owner } catch { $_.Exception.GetType().Name; $_.Exception.Message; $_.FullyQualifiedErrorId }
""")
    assert result.output == ["thing", "GetValueInvocationException", f'Exception getting "Owner": "{DENIED}"',
                             "CatchFromBaseAdapterGetValueTI"]


def test_wrong_argument_count_finds_no_overload() -> None:
    result = run("try { [System.IO.File]::Delete('a', 'b') } catch { $_.Exception.Message }")
    assert result.output == ['Cannot find an overload for "Delete" and the argument count: "2".']


def test_a_python_exception_from_machine_code_is_a_lab_bug_no_catch_can_hide() -> None:
    for script in ("try { [System.IO.File]::Buggy('x') } catch { 'hidden' }",
                   "$t = New-Object System.Security.AccessControl.Thing\ntry { $t.Broken() } catch { 'hidden' }"):
        result = run(script)
        assert result.output == []
        assert result.terminating is not None
        assert result.terminating.exception_type == "LabBug"
        assert result.lab_bug is not None and result.lab_bug.startswith("lab bug: ")
    assert "KeyError" in (run("[System.IO.File]::Buggy('x')").lab_bug or "")
