"""The engine alone: scripts run on the host's machine, PowerShell's parameter binding, scopes, faults."""

from __future__ import annotations

import json

import pytest

from toolkit.actions import get_action
from toolkit.lab.engine import LabCommand, run_pipeline, run_script
from toolkit.lab.host import LabFaults, LabHost, LabUser
from toolkit.lab.hostmachine import machine_of
from toolkit.lab.powershell import Runspace
from toolkit.results import RawOutput


@pytest.fixture
def host() -> LabHost:
    return LabHost(
        hostname="pc1",
        users=[LabUser(name="john smith", rid=1001), LabUser(name="Jonathan", rid=1002)],
    )


def list_users_script() -> str:
    return get_action("list_users").render({}).script


def test_known_script_outputs_one_document_with_bound_parameters(host: LabHost) -> None:
    result = run_script(host, list_users_script(), [("Name", ["JOHN SMITH"])])
    assert result.terminating is None and result.errors == []
    (text,) = result.output
    document = json.loads(text)
    assert document["action"] == "list_users"
    assert [u["name"] for u in document["data"]["users"]] == ["john smith"]


def test_a_single_string_binds_to_a_string_array_and_prefixes_resolve(host: LabHost) -> None:
    result = run_script(host, list_users_script(), [("na", "jonathan"), ("WhatIf", None)])
    assert [u["name"] for u in json.loads(result.output[0])["data"]["users"]] == ["Jonathan"]


def test_unknown_parameter_is_a_parameter_binding_error(host: LabHost) -> None:
    result = run_script(host, list_users_script(), [("Bogus", "x")])
    assert result.output == []
    assert result.terminating is not None
    assert result.terminating.message == "A parameter cannot be found that matches parameter name 'Bogus'."
    assert result.terminating.exception_type.endswith("ParameterBindingException")
    assert result.terminating.fully_qualified_error_id == "NamedParameterNotFound"


def test_ambiguous_prefix_lists_the_candidates(host: LabHost) -> None:
    result = run_script(host, list_users_script(), [("W", True)])
    assert result.terminating is not None
    assert "ambiguous" in result.terminating.message and "-WhatIf" in result.terminating.message


def test_missing_mandatory_and_bad_int_are_binding_errors() -> None:
    rename = get_action("rename_user")
    script = rename.render({"UserName": "a", "NewName": "b", "RunId": "r"}).script
    missing = run_script(LabHost(hostname="pc"), script, [("UserName", "a")])
    assert missing.terminating is not None
    assert missing.terminating.message.startswith("Cannot process command because of one or more missing mandatory")
    facts = get_action("collect_facts").render({}).script
    bad_int = run_script(LabHost(hostname="pc"), facts, [("LogTailBytes", "many")])
    assert bad_int.terminating is not None
    assert 'Cannot convert value "many" to type "System.Int32"' in bad_int.terminating.message


def test_a_script_without_a_marker_simply_runs(host: LabHost) -> None:
    result = run_script(host, "$n = 1 + 1; 'hello ' + $n; Get-Process", [])
    assert result.output == ["hello 2"] and result.terminating is None
    # A command the machine does not have is a non-terminating CommandNotFoundException, as in PowerShell.
    (error,) = result.errors
    assert error.reason == "CommandNotFoundException" and error.target_name == "Get-Process"


def test_the_marker_is_a_comment_a_mismatched_version_still_runs(host: LabHost) -> None:
    script = list_users_script().replace("list_users v1", "list_users v9", 1)
    result = run_script(host, script, [])
    assert result.terminating is None and json.loads(result.output[0])["status"] == "ok"


def test_an_unsupported_construct_fails_the_pipeline_with_a_clear_message(host: LabHost) -> None:
    result = run_script(host, "trap { continue }\n'x'", [])
    assert result.output == [] and result.terminating is not None
    assert result.terminating.fully_qualified_error_id == "JcfixLabUnsupportedConstruct"
    assert "cannot run this script" in result.terminating.message and "trap" in result.terminating.message


def test_a_lab_bug_fails_the_pipeline_and_says_it_is_the_lab(host: LabHost, monkeypatch: pytest.MonkeyPatch) -> None:
    machine = machine_of(host)

    def broken(*_: object) -> object:
        raise ZeroDivisionError("machine bug")

    monkeypatch.setattr(machine, "run_native", broken)
    result = run_script(host, "'before'; & 'C:\\Windows\\system32\\whoami.exe'", [])
    assert result.terminating is not None and result.terminating.fully_qualified_error_id == "JcfixLabBug"
    assert "a bug of the lab" in result.terminating.message and "machine bug" in result.terminating.message


def test_dot_sourcing_persists_in_a_runspace_unless_use_local_scope(host: LabHost) -> None:
    runspace = Runspace(machine_of(host))
    define = [LabCommand("function Get-Marker { 'defined' }", is_script=True, end_of_statement=True)]
    call = [LabCommand("Get-Marker", is_script=True, end_of_statement=True)]
    run_pipeline(host, define, runspace)
    assert run_pipeline(host, call, runspace).output == ["defined"]
    fresh = Runspace(machine_of(host))
    local = [LabCommand(define[0].text, is_script=True, end_of_statement=True, use_local_scope=True)]
    run_pipeline(host, local, fresh)
    unseen = run_pipeline(host, call, fresh)
    assert unseen.output == [] and unseen.errors[0].reason == "CommandNotFoundException"


@pytest.mark.parametrize(
    ("kind", "count"), [("empty", 0), ("two", 2), ("not_json", 1), ("wrong_shape", 1), ("none", 1)]
)
def test_malformed_result_faults(host: LabHost, kind: str, count: int) -> None:
    host.faults = LabFaults(malformed_result=kind)
    result = run_script(host, list_users_script(), [])
    assert len(result.output) == count
    parsed = get_action("list_users").parse(RawOutput(output=result.output))
    assert (parsed.status == "failed") == (kind != "none")


def test_invoke_expression_wrapper_and_unknown_commands(host: LabHost) -> None:
    wrapped = run_pipeline(
        host,
        [
            LabCommand("Invoke-Expression", parameters=[("Command", list_users_script())]),
            LabCommand("Out-String", parameters=[("Stream", True)], end_of_statement=True),
        ],
    )
    assert wrapped.terminating is None and len(wrapped.output) == 1
    unknown = run_pipeline(host, [LabCommand("Get-Thing", end_of_statement=True)])
    assert unknown.terminating is not None and unknown.terminating.reason == "CommandNotFoundException"
