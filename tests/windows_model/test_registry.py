"""The registry: WOW64 views, value kinds, the registry provider's quirks, SAM access, injected faults."""

from __future__ import annotations

from tests.windows_model.conftest import machine_of, run_command
from toolkit.lab.powershell.contract import DotNetEnum
from toolkit.lab.windows.registry import physical_parts

POINTER = "HKLM:\\SOFTWARE\\JumpCloud\\JumpCloud Agent\\ConfigFile"
PIN_ROOT = "HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Authentication\\LogonUI\\NgcPin\\Credentials"


def test_redirection_follows_microsofts_shared_key_table() -> None:
    assert physical_parts("HKEY_LOCAL_MACHINE", ["SOFTWARE", "JumpCloud"], 32) == [
        "SOFTWARE",
        "WOW6432Node",
        "JumpCloud",
    ]
    assert physical_parts("HKEY_LOCAL_MACHINE", ["SOFTWARE", "Policies", "Microsoft"], 32) == [
        "SOFTWARE",
        "Policies",
        "Microsoft",
    ]
    profile_list = ["SOFTWARE", "Microsoft", "Windows NT", "CurrentVersion", "ProfileList"]
    assert physical_parts("HKEY_LOCAL_MACHINE", profile_list, 32) == profile_list
    logon_ui = ["SOFTWARE", "Microsoft", "Windows", "CurrentVersion", "Authentication", "LogonUI"]
    assert physical_parts("HKEY_LOCAL_MACHINE", logon_ui, 32)[1] == "WOW6432Node"
    assert physical_parts("HKEY_LOCAL_MACHINE", ["SOFTWARE", "Classes", "CLSID"], 32) == [
        "SOFTWARE",
        "Classes",
        "Wow6432Node",
        "CLSID",
    ]
    assert physical_parts("HKEY_LOCAL_MACHINE", ["SOFTWARE", "JumpCloud"], 64) == ["SOFTWARE", "JumpCloud"]
    assert physical_parts("HKEY_LOCAL_MACHINE", ["SYSTEM", "X"], 32) == ["SYSTEM", "X"]


def test_a_32bit_process_sees_no_agent_pointer_or_pin_marker_but_opens_the_64bit_view() -> None:
    machine = machine_of("win_wow64")
    sid = f"{machine.state.machine_sid}-1001"
    assert run_command(machine, "Test-Path", {"LiteralPath": POINTER}).output == [False]
    assert run_command(machine, "Test-Path", {"LiteralPath": f"{PIN_ROOT}\\{sid}"}).output == [False]
    base = machine.static_member("Microsoft.Win32.RegistryKey", "OpenBaseKey")("LocalMachine", "Registry64")
    key = base.call("OpenSubKey", "SOFTWARE\\JumpCloud\\JumpCloud Agent\\ConfigFile")
    assert key is not None and key.call("GetValue", "").endswith("Plugins\\Contrib\\jcagent.conf")
    pins = base.call("OpenSubKey", PIN_ROOT.removeprefix("HKLM:\\"))
    assert pins is not None and sid in pins.call("GetSubKeyNames")
    view32 = machine.static_member("Microsoft.Win32.RegistryKey", "OpenBaseKey")("LocalMachine", "Registry32")
    assert view32.call("OpenSubKey", "SOFTWARE\\JumpCloud") is None
    assert str(view32.get("View")) == "Registry32"


def test_the_same_64bit_process_sees_everything() -> None:
    machine = machine_of("win_wow64")
    view64 = machine.as_process(machine.token, True)
    assert run_command(view64, "Test-Path", {"LiteralPath": POINTER}).output == [True]


def test_value_kinds_and_net_types() -> None:
    machine = machine_of("healthy")
    path = "HKLM:\\SOFTWARE\\Lab\\Kinds"
    assert len(run_command(machine, "New-Item", {"Path": path, "Force": True}).output) == 1
    values = [
        ("D", 4294967295, "DWord"),
        ("Q", 5, "QWord"),
        ("S", "x", "String"),
        ("E", "%SystemRoot%\\a", "ExpandString"),
        ("M", ["a", "b"], "MultiString"),
        ("B", b"\x01\x02", "Binary"),
    ]
    for name, value, kind in values:
        ran = run_command(
            machine, "New-ItemProperty", {"LiteralPath": path, "Name": name, "Value": value, "PropertyType": kind}
        )
        assert not ran.errors
    key = run_command(machine, "Get-Item", {"LiteralPath": path}).output[0]
    assert key.call("GetValue", "D") == -1  # REG_DWORD reads as a signed Int32
    assert key.call("GetValue", "E") == "C:\\Windows\\a"
    assert key.call("GetValue", "E", None, "DoNotExpandEnvironmentNames") == "%SystemRoot%\\a"
    assert key.call("GetValue", "M") == ["a", "b"] and key.call("GetValue", "B") == b"\x01\x02"
    kind = key.call("GetValueKind", "Q")
    assert isinstance(kind, DotNetEnum) and (kind.name, kind.value) == ("QWord", 11)
    assert key.call("GetValue", "missing", "fallback") == "fallback"
    assert sorted(key.call("GetValueNames")) == ["B", "D", "E", "M", "Q", "S"]
    assert key.get("Name") == "HKEY_LOCAL_MACHINE\\SOFTWARE\\Lab\\Kinds"
    assert key.get("PSPath") == "Microsoft.PowerShell.Core\\Registry::HKEY_LOCAL_MACHINE\\SOFTWARE\\Lab\\Kinds"


def test_get_item_property_writes_nothing_for_a_key_without_values_and_errors_for_a_missing_name() -> None:
    machine = machine_of("healthy")
    run_command(machine, "New-Item", {"Path": "HKLM:\\SOFTWARE\\Lab\\Empty", "Force": True})
    ran = run_command(machine, "Get-ItemProperty", {"LiteralPath": "HKLM:\\SOFTWARE\\Lab\\Empty"})
    assert ran.output == [] and ran.errors == []
    ran = run_command(machine, "Get-ItemProperty", {"LiteralPath": "HKLM:\\SOFTWARE\\Lab\\Empty", "Name": "Nope"})
    assert ran.output == [] and "Property Nope does not exist" in ran.errors[0].message
    missing = run_command(machine, "Get-ItemProperty", {"LiteralPath": "HKLM:\\SOFTWARE\\Lab\\Missing"})
    assert missing.errors[0].exception_type.endswith("ItemNotFoundException")


def test_pointer_default_value_reads_as_default_property() -> None:
    machine = machine_of("healthy")
    bag = run_command(machine, "Get-ItemProperty", {"LiteralPath": POINTER}).output[0]
    assert bag.get("(default)").endswith("jcagent.conf")


def test_new_item_force_on_an_existing_key_recreates_it_empty() -> None:
    machine = machine_of("healthy")
    path = "HKLM:\\SOFTWARE\\Lab\\Recreated"
    run_command(machine, "New-Item", {"Path": path, "Force": True})
    run_command(machine, "New-ItemProperty", {"LiteralPath": path, "Name": "keep", "Value": 1, "PropertyType": "DWord"})
    again = run_command(machine, "New-Item", {"Path": path})
    assert again.output == [] and again.errors[0].message == "A key at this path already exists."
    run_command(machine, "New-Item", {"Path": path, "Force": True})
    assert run_command(machine, "Get-Item", {"LiteralPath": path}).output[0].call("GetValueNames") == []


def test_remove_item_recurse_and_remove_item_property() -> None:
    machine = machine_of("picture")
    sid = f"{machine.state.machine_sid}-1001"
    key = f"HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Authentication\\LogonUI\\PicturePassword\\{sid}"
    assert run_command(machine, "Test-Path", {"LiteralPath": key}).output == [True]
    assert run_command(machine, "Remove-Item", {"LiteralPath": key, "Recurse": True}, whatif=True).call.whatif_lines
    assert run_command(machine, "Test-Path", {"LiteralPath": key}).output == [True]
    run_command(machine, "Remove-Item", {"LiteralPath": key, "Recurse": True})
    assert run_command(machine, "Test-Path", {"LiteralPath": key}).output == [False]
    ran = run_command(machine, "Remove-ItemProperty", {"LiteralPath": POINTER, "Name": "nope"})
    assert "does not exist" in ran.errors[0].message


def test_sam_values_are_readable_by_system_only() -> None:
    machine = machine_of("msa")
    key = "HKLM:\\SAM\\SAM\\Domains\\Account\\Users\\000003E9"
    assert run_command(machine, "Test-Path", {"LiteralPath": key}).output == [False]
    system = machine.as_system()
    item = run_command(system, "Get-Item", {"LiteralPath": key}).output[0]
    assert "InternetUserName" in item.call("GetValueNames")


def test_non_elevated_token_cannot_write_hklm() -> None:
    machine = machine_of("win_filtered_token")
    ran = run_command(
        machine, "New-Item", {"Path": "HKLM:\\SOFTWARE\\Policies\\Microsoft\\Windows\\System", "Force": True}
    )
    assert ran.output == [] and ran.errors[0].message == "Requested registry access is not allowed."


def test_injected_denied_key_lets_a_child_be_deleted_but_not_recreated() -> None:
    machine = machine_of("win_faults", 2)
    sid = f"{machine.state.machine_sid}-1003"
    key = f"HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Authentication\\LogonUI\\PicturePassword\\{sid}"
    assert run_command(machine, "Remove-Item", {"LiteralPath": key, "Recurse": True}).errors == []
    ran = run_command(machine, "New-Item", {"Path": key, "Force": True})
    assert ran.output == [] and ran.errors[0].category == "PermissionDenied"
