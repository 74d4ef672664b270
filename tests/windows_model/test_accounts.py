"""Accounts, identity and the agent: LocalAccounts cmdlets, PrincipalSource from the SAM, elevation checks,
password policy, the read-back fault, the agent's sync, services."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.windows_model.conftest import machine_of, raises_command_error, run_command
from toolkit.lab.powershell.contract import DotNetEnum
from toolkit.lab.windows import security as sec
from toolkit.lab.windows.state import AGENT_CONTRIB, Provision


class Secure:
    """What the engine passes for a SecureString (it reveals its text to machine commands)."""

    def __init__(self, text: str) -> None:
        self._text = text

    def reveal(self) -> str:
        return self._text


def test_get_local_user_objects() -> None:
    machine = machine_of("msa")
    users = run_command(machine, "Get-LocalUser").output
    assert [u.get("Name") for u in users] == ["Administrator", "DefaultAccount", "Guest", "maria"]
    maria = users[-1]
    assert maria.get("SID").get("Value") == f"{machine.state.machine_sid}-1001"
    source = maria.get("PrincipalSource")
    assert isinstance(source, DotNetEnum) and (str(source), source.value) == ("MicrosoftAccount", 4)
    assert (
        maria.get("LastLogon") is not None and maria.get("Enabled") is True and maria.get("FullName") == "Maria Lopez"
    )
    ran = run_command(machine, "Get-LocalUser", {"Name": "nobody"})
    assert ran.output == [] and ran.errors[0].error_id == "UserNotFound"
    assert [u.get("Name") for u in run_command(machine, "Get-LocalUser", {"Name": "MARIA"}).output] == ["maria"]


def test_principal_source_follows_the_sam_values() -> None:
    machine = machine_of("msa")
    system = machine.as_system()
    key = "HKLM:\\SAM\\SAM\\Domains\\Account\\Users\\000003E9"
    for name in ("InternetUserName", "InternetUID", "InternetSID", "InternetProviderGUID"):
        run_command(system, "Remove-ItemProperty", {"LiteralPath": key, "Name": name})
    maria = run_command(machine, "Get-LocalUser", {"Name": "maria"}).output[0]
    assert str(maria.get("PrincipalSource")) == "Local"


def test_localaccounts_is_missing_in_a_32bit_process() -> None:
    commands = machine_of("x86").commands()
    assert "get-localuser" not in commands and "rename-localuser" not in commands
    assert "get-ciminstance" in commands
    assert "get-localuser" in machine_of("healthy").commands()


def test_rename_local_user_case_only_whatif_and_clashes() -> None:
    machine = machine_of("case")
    sid = f"{machine.state.machine_sid}-1001"
    spec = machine.commands()["rename-localuser"]
    assert spec.supports_should_process
    ran = run_command(machine, "Rename-LocalUser", {"SID": sid, "NewName": "Jonathan"}, whatif=True)
    assert ran.call.whatif_lines == [
        'What if: Performing the operation "Rename local user to Jonathan" on target "jonathan".'
    ]
    assert machine.state.sam.accounts[1001].name == "jonathan"
    assert run_command(machine, "Rename-LocalUser", {"SID": sid, "NewName": "Jonathan"}).errors == []
    assert machine.state.sam.accounts[1001].name == "Jonathan"
    clash = run_command(machine, "Rename-LocalUser", {"SID": sid, "NewName": "guest"})
    assert clash.errors[0].error_id == "NameInUse"
    group = run_command(machine, "Rename-LocalUser", {"SID": sid, "NewName": "Administrators"})
    assert group.errors[0].error_id == "NameInUse"


def test_rename_read_back_fault_shows_the_old_name() -> None:
    machine = machine_of("win_faults", 0)
    sid = f"{machine.state.machine_sid}-1001"
    run_command(machine, "Rename-LocalUser", {"SID": sid, "NewName": "Jonathan"})
    assert machine.state.sam.accounts[1001].name == "Jonathan"
    assert run_command(machine, "Get-LocalUser", {"SID": sid}).output[0].get("Name") == "jonathan"


def test_set_local_user_password_policy_and_fault() -> None:
    machine = machine_of("win_faults", 1)
    sid = f"{machine.state.machine_sid}-1002"
    ran = run_command(machine, "Set-LocalUser", {"SID": sid, "Password": Secure("Str0ng!Passw0rd#2025")})
    assert ran.errors[0].error_id == "InvalidPassword" and "requirements" in ran.errors[0].message
    machine.state.faults.password_rejected = False
    assert run_command(machine, "Set-LocalUser", {"SID": sid, "Password": Secure("short")}).errors
    assert run_command(machine, "Set-LocalUser", {"SID": sid, "Password": Secure("Str0ng!Passw0rd#2025")}).errors == []
    assert machine.state.sam.accounts[1002].password == "Str0ng!Passw0rd#2025"


def test_password_policy_rules() -> None:
    policy = machine_of("win_faults", 1).state.sam.policy
    assert policy.problems("maria", "Maria2025!LongEnough") == ["contains the account name"]
    assert policy.problems("maria", "alllowercaselong1") == ["fewer than three character classes"]
    assert policy.problems("maria", "Ab1!") == ["shorter than 14 characters"]


def test_filtered_token_cannot_change_accounts() -> None:
    machine = machine_of("win_filtered_token")
    sid = f"{machine.state.machine_sid}-1001"
    ran = run_command(machine, "Rename-LocalUser", {"SID": sid, "NewName": "Alice"})
    assert ran.errors[0].category == "PermissionDenied" and machine.state.sam.accounts[1001].name == "alice"
    assert (
        raises_command_error(machine, "Set-LocalUser", {"SID": sid, "Password": Secure("x")}).error_id == "AccessDenied"
    )


@pytest.mark.parametrize("scenario, admin", [("healthy", True), ("win_filtered_token", False)])
def test_elevation_check_through_windows_principal(scenario: str, admin: bool) -> None:
    machine = machine_of(scenario)
    identity = machine.static_member("Security.Principal.WindowsIdentity", "GetCurrent")()
    principal = machine.new_object("Security.Principal.WindowsPrincipal", [identity])
    role = machine.static_member("Security.Principal.WindowsBuiltInRole", "Administrator")
    assert principal.call("IsInRole", role) is admin
    assert principal.call("IsInRole", "S-1-5-32-544") is admin


def test_security_identifier_translate_and_account_domain() -> None:
    machine = machine_of("healthy")
    sid = machine.new_object("System.Security.Principal.SecurityIdentifier", [f"{machine.state.machine_sid}-1001"])
    account = sid.call("Translate", "System.Security.Principal.NTAccount")
    assert account.get("Value") == "LAB-HEALTHY\\alice"
    assert sid.get("AccountDomainSid").get("Value") == machine.state.machine_sid
    back = machine.new_object("System.Security.Principal.NTAccount", ["BUILTIN", "Administrators"])
    assert back.call("Translate", "System.Security.Principal.SecurityIdentifier").get("Value") == sec.ADMINISTRATORS


def test_agent_sync_provisions_due_accounts_and_rewrites_managed_users() -> None:
    machine = machine_of("provisioning_delayed")
    assert machine.agent_sync() == []
    machine.advance(5)
    assert machine.agent_sync() == ["newhire"]
    user = run_command(machine, "Get-LocalUser", {"Name": "newhire"}).output[0]
    assert user.get("Description") == "Created by Jumpcloud"
    data = machine.state.fs.get(f"{AGENT_CONTRIB}\\managedUsers.json").data
    assert data == b'[{"username": "alice"}, {"username": "newhire"}]'


def test_agent_sync_keeps_a_bom_and_a_stopped_agent_does_nothing() -> None:
    shared = machine_of("win_shared_device")
    shared.state.provisions.append(Provision("dave", "Dave", shared.now() - timedelta(seconds=1)))
    assert shared.agent_sync() == ["dave"]
    assert shared.state.fs.get(f"{AGENT_CONTRIB}\\managedUsers.json").data.startswith(b"\xef\xbb\xbf[")
    stopped = machine_of("agent_stopped")
    assert stopped.agent_sync() == []


def test_get_service_and_stopping_the_ngc_services_releases_the_store() -> None:
    machine = machine_of("pin")
    service = run_command(machine, "Get-Service", {"Name": "jumpcloud-agent"}).output[0]
    assert str(service.get("Status")) == "Running"
    missing = run_command(machine_of("agent_missing"), "Get-Service", {"Name": "jumpcloud-agent"})
    assert missing.output == [] and missing.errors[0].error_id == "NoServiceFoundForGivenName"
    system = machine.as_system()
    store = machine.state.fs.get("C:\\Windows\\ServiceProfiles\\LocalService\\AppData\\Local\\Microsoft\\Ngc")
    container = next(iter(store.children.values()))
    assert all(n.in_use for n in container.children.values())
    run_command(system, "Stop-Service", {"Name": ["NgcSvc", "NgcCtnrSvc"]})
    assert not any(n.in_use for n in container.children.values())
    run_command(system, "Start-Service", {"Name": "NgcSvc"})
    assert all(n.in_use for n in container.children.values())


def test_deleting_the_ngc_store_as_system_fails_while_the_services_hold_it() -> None:
    machine = machine_of("pin")
    system = machine.as_system()
    store = "C:\\Windows\\ServiceProfiles\\LocalService\\AppData\\Local\\Microsoft\\Ngc"
    children = run_command(system, "Get-ChildItem", {"LiteralPath": store, "Force": True}).output
    held = run_command(
        system, "Remove-Item", {"LiteralPath": children[0].get("FullName"), "Recurse": True, "Force": True}
    )
    assert held.errors and "being used by another process" in held.errors[0].message
    run_command(system, "Stop-Service", {"Name": ["NgcSvc", "NgcCtnrSvc"]})
    assert (
        run_command(
            system, "Remove-Item", {"LiteralPath": children[0].get("FullName"), "Recurse": True, "Force": True}
        ).errors
        == []
    )
