"""CIM: Get-CimInstance filters, Invoke-CimMethod under WhatIf, GetOwner/GetOwnerSid, filtered tokens."""

from __future__ import annotations

import pytest

from tests.windows_model.conftest import machine_of, raises_command_error, run_command
from toolkit.lab.windows import security as sec


def explorers(machine):
    return run_command(
        machine, "Get-CimInstance", {"ClassName": "Win32_Process", "Filter": "Name = 'explorer.exe'"}
    ).output


def test_get_cim_instance_is_a_read_and_filters_by_wql() -> None:
    machine = machine_of("signed_in")
    assert not machine.commands()["get-ciminstance"].supports_should_process
    found = explorers(machine)
    assert [p.get("Name") for p in found] == ["explorer.exe"]
    assert found[0].get("SessionId") > 0
    profiles = run_command(
        machine, "Get-CimInstance", {"ClassName": "Win32_UserProfile", "Filter": "Special = FALSE"}
    ).output
    assert [p.get("LocalPath") for p in profiles] == ["C:\\Users\\alice"] and profiles[0].get("Loaded") is True
    everyone = run_command(machine, "Get-CimInstance", {"ClassName": "Win32_UserProfile"}).output
    assert any(p.get("SID") == sec.SYSTEM and p.get("Special") for p in everyone)


def test_wql_string_compare_ignores_case_and_bad_queries_fail() -> None:
    machine = machine_of("signed_in")
    assert (
        len(
            run_command(
                machine, "Get-CimInstance", {"ClassName": "Win32_Process", "Filter": "Name = 'EXPLORER.EXE'"}
            ).output
        )
        == 1
    )
    spec = raises_command_error(machine, "Get-CimInstance", {"ClassName": "Win32_Process", "Filter": "Nonsense = 1"})
    assert "Invalid query" in spec.message
    spec = raises_command_error(machine, "Get-CimInstance", {"ClassName": "Win32_Nope"})
    assert "Invalid class" in spec.message


def test_invoke_cim_method_under_whatif_calls_nothing_and_outputs_nothing() -> None:
    machine = machine_of("signed_in")
    process = explorers(machine)[0]
    spec = machine.commands()["invoke-cimmethod"]
    assert spec.supports_should_process and spec.kind == "cmdlet"
    ran = run_command(machine, "Invoke-CimMethod", {"InputObject": process, "MethodName": "GetOwner"}, whatif=True)
    assert ran.output == []  # the bite: $owner is $null, $owner.ReturnValue throws under strict mode
    assert ran.call.whatif_lines == [
        f'What if: Performing the operation "Invoke-CimMethod: GetOwner" on target "{process}".'
    ]
    assert str(process) == f'Win32_Process: explorer.exe (Handle = "{process.get("ProcessId")}")'
    real = run_command(machine, "Invoke-CimMethod", {"InputObject": process, "MethodName": "GetOwner"})
    assert [(r.get("ReturnValue"), r.get("Domain"), r.get("User")) for r in real.output] == [
        (0, "LAB-SIGNED-IN", "alice")
    ]


def test_domain_and_azuread_shadows_have_their_own_sids() -> None:
    machine = machine_of("win_domain_shadow")
    owners = []
    for process in explorers(machine):
        owner = run_command(machine, "Invoke-CimMethod", {"InputObject": process, "MethodName": "GetOwner"}).output[0]
        sid = run_command(machine, "Invoke-CimMethod", {"InputObject": process, "MethodName": "GetOwnerSid"}).output[0]
        owners.append((owner.get("Domain"), owner.get("User"), sid.get("Sid")))
    local_sid = f"{machine.state.machine_sid}-1001"
    assert {(d, u) for d, u, _ in owners} == {("CORP", "jonathan"), ("AzureAD", "jonathan")}
    assert local_sid not in {s for _, _, s in owners}
    assert any(s.startswith("S-1-12-1-") for _, _, s in owners)


def test_session_processes_of_system_accounts_are_there() -> None:
    machine = machine_of("healthy")
    processes = run_command(machine, "Get-CimInstance", {"ClassName": "Win32_Process"}).output
    dwm = next(p for p in processes if p.get("Name") == "dwm.exe")
    owner = run_command(machine, "Invoke-CimMethod", {"InputObject": dwm, "MethodName": "GetOwnerSid"}).output[0]
    assert owner.get("Sid").startswith("S-1-5-90-0-") and dwm.get("SessionId") == 1
    assert not any(p.get("Name") == "explorer.exe" for p in processes)  # nobody signed in


def test_filtered_token_gets_access_denied_from_get_owner() -> None:
    machine = machine_of("win_filtered_token")
    assert not machine.token.is_admin
    process = explorers(machine)[0]
    owner = run_command(machine, "Invoke-CimMethod", {"InputObject": process, "MethodName": "GetOwner"}).output[0]
    assert owner.get("ReturnValue") == 2 and owner.get("User") is None
    sid = run_command(machine, "Invoke-CimMethod", {"InputObject": process, "MethodName": "GetOwnerSid"}).output[0]
    assert sid.get("ReturnValue") == 2 and sid.get("Sid") is None
    assert process.get("ExecutablePath") is None


@pytest.mark.parametrize("new_name, code", [("Jonathan", 0), ("Administrator", 9), ("bad/name", 3)])
def test_win32_useraccount_rename_return_codes(new_name: str, code: int) -> None:
    machine = machine_of("case")
    account = next(
        a
        for a in run_command(
            machine, "Get-CimInstance", {"ClassName": "Win32_UserAccount", "Filter": "LocalAccount = TRUE"}
        ).output
        if a.get("Name") == "jonathan"
    )
    result = run_command(
        machine, "Invoke-CimMethod", {"InputObject": account, "MethodName": "Rename", "Arguments": {"Name": new_name}}
    ).output
    assert result[0].get("ReturnValue") == code
    assert (machine.state.sam.accounts[1001].name == new_name) == (code == 0)


def test_win32_useraccount_rename_as_filtered_token_is_access_denied() -> None:
    machine = machine_of("win_filtered_token")
    account = next(
        a
        for a in run_command(machine, "Get-CimInstance", {"ClassName": "Win32_UserAccount"}).output
        if a.get("Name") == "alice"
    )
    ran = run_command(
        machine, "Invoke-CimMethod", {"InputObject": account, "MethodName": "Rename", "Arguments": {"Name": "Alice"}}
    )
    assert ran.output == [] and ran.errors[0].category == "PermissionDenied"
    assert machine.state.sam.accounts[1001].name == "alice"
