"""The engine alone: marker lookup, PowerShell-style parameter binding, faults in the output."""

from __future__ import annotations

import json

import pytest

from toolkit.actions import get_action
from toolkit.lab.engine import LabCommand, run_pipeline, run_script
from toolkit.lab.host import LabFaults, LabHost, LabUser
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


def test_script_without_marker_fails_like_powershell(host: LabHost) -> None:
    result = run_script(host, "Get-Process | Select-Object -First 1", [])
    assert result.terminating is not None and result.terminating.fully_qualified_error_id == "JcfixLabUnknownScript"
    assert "Get-Process" in result.terminating.message


def test_version_mismatch_is_refused(host: LabHost) -> None:
    script = list_users_script().replace("list_users v1", "list_users v9", 1)
    result = run_script(host, script, [])
    assert result.terminating is not None and "v9" in result.terminating.message


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
