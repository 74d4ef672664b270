"""The file system: ProgramData's creator-owner rule, CreateDirectory with security, Set-Acl, encodings, WOW64."""

from __future__ import annotations

import pytest

from tests.windows_model.conftest import machine_of, run_command
from toolkit.lab.powershell.contract import CommandError
from toolkit.lab.windows import security as sec
from toolkit.lab.windows.security import user_token

JCFIX = "C:\\ProgramData\\jcfix"


def protected_security(machine):
    acl = machine.new_object("System.Security.AccessControl.DirectorySecurity", [])
    acl.call("SetAccessRuleProtection", True, False)
    for sid in (sec.SYSTEM, sec.ADMINISTRATORS):
        identity = machine.new_object("System.Security.Principal.SecurityIdentifier", [sid])
        rule = machine.new_object(
            "System.Security.AccessControl.FileSystemAccessRule",
            [identity, "FullControl", "ContainerInherit,ObjectInherit", "None", "Allow"],
        )
        acl.call("AddAccessRule", rule)
    acl.call("SetOwner", machine.new_object("System.Security.Principal.SecurityIdentifier", [sec.ADMINISTRATORS]))
    return acl


def test_any_user_can_create_a_programdata_folder_and_owns_it() -> None:
    machine = machine_of("healthy")
    alice = user_token(f"{machine.state.machine_sid}-1001", admin=False, elevated=False, network=False)
    as_alice = machine.as_process(alice)
    assert run_command(as_alice, "New-Item", {"Path": JCFIX, "ItemType": "Directory"}).errors == []
    node = machine.state.fs.get(JCFIX)
    assert node.sd.owner == alice.user
    assert any(a.sid == alice.user and a.rights == sec.FULL for a in node.sd.dacl)  # CREATOR OWNER became alice
    # ...and alice may then put files in it (the swap of a SYSTEM task's script).
    as_alice.state.fs.write(f"{JCFIX}\\planted.ps1", b"evil", alice)
    users_write = sec.has_access(machine.state.fs.get("C:\\ProgramData").sd, alice, sec.WRITE_DATA)
    assert users_write  # Users:(CI)(WD,AD,WEA,WA) on ProgramData itself


def test_precreated_scenario_folder_is_owned_by_the_user_and_acl_reads_so() -> None:
    machine = machine_of("win_precreated")
    acl = run_command(machine, "Get-Acl", {"LiteralPath": JCFIX}).output[0]
    assert acl.get("Owner") == "LAB-WIN-PRECREA\\mallory"
    owner_sid = acl.call("GetOwner", "System.Security.Principal.SecurityIdentifier")
    assert owner_sid.get("Value") == f"{machine.state.machine_sid}-1001"
    rules = acl.call("GetAccessRules", True, True, "System.Security.Principal.SecurityIdentifier")
    assert any(
        r.get("IdentityReference").get("Value") == owner_sid.get("Value")
        and str(r.get("FileSystemRights")) == "FullControl"
        for r in rules
    )
    assert machine.state.fs.get(JCFIX + "\\tasks").sd.owner == owner_sid.get("Value")


def test_create_directory_with_security_sets_exactly_that_dacl_and_owner_in_one_call() -> None:
    machine = machine_of("healthy")
    create = machine.static_member("System.IO.Directory", "CreateDirectory")
    info = create(JCFIX + "\\backups", protected_security(machine))
    assert info.get("FullName") == JCFIX + "\\backups"
    for path in (JCFIX, JCFIX + "\\backups"):  # every level it created
        sd = machine.state.fs.get(path).sd
        assert sd.owner == sec.ADMINISTRATORS and sd.protected
        assert sorted(a.sid for a in sd.dacl) == sorted([sec.SYSTEM, sec.ADMINISTRATORS])


def test_create_directory_on_an_existing_folder_leaves_its_acl_alone() -> None:
    machine = machine_of("win_precreated")
    before = machine.state.fs.get(JCFIX).sd.copy()
    machine.static_member("System.IO.Directory", "CreateDirectory")(JCFIX, protected_security(machine))
    assert machine.state.fs.get(JCFIX).sd == before  # still mallory's: scripts must check, not assume


def test_new_item_directory_inherits_programdata_dacl_for_an_admin() -> None:
    machine = machine_of("healthy")
    run_command(machine, "New-Item", {"Path": JCFIX, "ItemType": "Directory"})
    sd = machine.state.fs.get(JCFIX).sd
    assert sd.owner == sec.ADMINISTRATORS and not sd.protected
    assert any(a.sid == sec.USERS and a.inherited for a in sd.dacl)
    again = run_command(machine, "New-Item", {"Path": JCFIX, "ItemType": "Directory"})
    assert again.output == [] and "already exists" in again.errors[0].message
    assert len(run_command(machine, "New-Item", {"Path": JCFIX, "ItemType": "Directory", "Force": True}).output) == 1


def test_set_acl_takes_over_a_user_owned_folder_dacl_but_not_its_owner_without_asking() -> None:
    machine = machine_of("win_precreated")
    acl = machine.new_object("System.Security.AccessControl.DirectorySecurity", [])
    acl.call("SetAccessRuleProtection", True, False)
    rule = machine.new_object(
        "System.Security.AccessControl.FileSystemAccessRule",
        [
            machine.new_object("System.Security.Principal.NTAccount", ["BUILTIN\\Administrators"]),
            "FullControl",
            "ContainerInherit,ObjectInherit",
            "None",
            "Allow",
        ],
    )
    acl.call("AddAccessRule", rule)
    assert run_command(machine, "Set-Acl", {"LiteralPath": JCFIX, "AclObject": acl}).errors == []
    sd = machine.state.fs.get(JCFIX).sd
    assert [a.sid for a in sd.dacl] == [sec.ADMINISTRATORS] and sd.owner.endswith("-1001")


def test_a_standard_user_cannot_create_folders_under_program_files() -> None:
    machine = machine_of("healthy")
    alice = machine.as_process(user_token(f"{machine.state.machine_sid}-1001", False, False, False))
    ran = run_command(alice, "New-Item", {"Path": "C:\\Program Files\\Evil", "ItemType": "Directory"})
    assert ran.output == [] and ran.errors[0].exception_type == "System.UnauthorizedAccessException"


def test_get_content_decodes_bomless_utf8_as_ansi_unless_told() -> None:
    machine = machine_of("win_shared_device")
    machine.state.fs.write("C:\\Windows\\Temp\\plain.json", '["zoë"]'.encode(), machine.token)
    ansi = run_command(machine, "Get-Content", {"LiteralPath": "C:\\Windows\\Temp\\plain.json", "Raw": True}).output
    assert ansi == ['["zoÃ«"]']
    utf8 = run_command(
        machine, "Get-Content", {"LiteralPath": "C:\\Windows\\Temp\\plain.json", "Raw": True, "Encoding": "UTF8"}
    )
    assert utf8.output == ['["zoë"]']
    managed = "C:\\Program Files\\JumpCloud\\Plugins\\Contrib\\managedUsers.json"
    with_bom = run_command(machine, "Get-Content", {"LiteralPath": managed, "Raw": True}).output[0]
    assert with_bom.startswith("[{") and "zoë" in with_bom  # the BOM decides
    assert (
        run_command(machine, "Get-Content", {"LiteralPath": managed, "Encoding": "Byte", "Raw": True}).output[0][:3]
        == b"\xef\xbb\xbf"
    )


def test_get_content_lines_tail_totalcount_and_empty_raw() -> None:
    machine = machine_of("healthy")
    path = "C:\\Windows\\Temp\\lines.txt"
    machine.state.fs.write(path, b"a\r\nb\nc\r\n", machine.token)
    assert run_command(machine, "Get-Content", {"LiteralPath": path}).output == ["a", "b", "c"]
    assert run_command(machine, "Get-Content", {"LiteralPath": path, "Tail": 2}).output == ["b", "c"]
    assert run_command(machine, "Get-Content", {"LiteralPath": path, "TotalCount": 1}).output == ["a"]
    machine.state.fs.write(path, b"", machine.token)
    assert run_command(machine, "Get-Content", {"LiteralPath": path, "Raw": True}).output == []


def test_set_content_utf8_writes_a_bom_in_51_and_default_is_ansi() -> None:
    machine = machine_of("healthy")
    path = "C:\\Windows\\Temp\\out.txt"
    run_command(machine, "Set-Content", {"LiteralPath": path, "Value": "zoë", "Encoding": "UTF8"})
    assert machine.state.fs.get(path).data == b"\xef\xbb\xbfzo\xc3\xab\r\n"
    run_command(machine, "Set-Content", {"LiteralPath": path, "Value": ["zoë", "x"]})
    assert machine.state.fs.get(path).data == b"zo\xeb\r\nx\r\n"
    assert run_command(machine, "Set-Content", {"LiteralPath": path, "Value": "y"}, whatif=True).call.whatif_lines
    assert machine.state.fs.get(path).data == b"zo\xeb\r\nx\r\n"


def test_file_write_all_text_move_and_replace() -> None:
    machine = machine_of("healthy")
    write = machine.static_member("IO.File", "WriteAllText")
    write("C:\\Windows\\Temp\\r.tmp", "{}")
    assert machine.state.fs.get("C:\\Windows\\Temp\\r.tmp").data == b"{}"  # no BOM from WriteAllText
    machine.static_member("IO.File", "Move")("C:\\Windows\\Temp\\r.tmp", "C:\\Windows\\Temp\\r.json")
    write("C:\\Windows\\Temp\\r.tmp", "{1}")
    with pytest.raises(CommandError):
        machine.static_member("IO.File", "Move")("C:\\Windows\\Temp\\r.tmp", "C:\\Windows\\Temp\\r.json")
    machine.static_member("IO.File", "Replace")("C:\\Windows\\Temp\\r.tmp", "C:\\Windows\\Temp\\r.json", None)
    assert machine.static_member("IO.File", "ReadAllBytes")("C:\\Windows\\Temp\\r.json") == b"{1}"
    assert machine.state.fs.node("C:\\Windows\\Temp\\r.tmp") is None


def test_wow64_environment_and_pshome() -> None:
    wow = machine_of("win_wow64")
    env = wow.environment()
    assert env["ProgramFiles"] == "C:\\Program Files (x86)" and env["ProgramW6432"] == "C:\\Program Files"
    assert env["PROCESSOR_ARCHITECTURE"] == "x86" and env["processor_architew6432"] == "AMD64"
    assert wow.automatic_variables()["PSHOME"] == "C:\\Windows\\SysWOW64\\WindowsPowerShell\\v1.0"
    assert wow.static_member("Environment", "Is64BitProcess") is False
    assert wow.static_member("System.Environment", "Is64BitOperatingSystem") is True
    agent = "C:\\Program Files (x86)\\JumpCloud\\Plugins\\Contrib\\jcagent.conf"
    assert run_command(wow, "Test-Path", {"LiteralPath": agent}).output == [False]
    assert run_command(
        wow, "Test-Path", {"LiteralPath": "C:\\Program Files\\JumpCloud\\Plugins\\Contrib\\jcagent.conf"}
    ).output == [True]
    native = machine_of("healthy").environment()
    assert native["ProgramFiles"] == "C:\\Program Files" and native["PROCESSOR_ARCHITECTURE"] == "AMD64"


def test_get_child_item_filter_recurse_and_listed_names() -> None:
    machine = machine_of("healthy")
    items = run_command(
        machine, "Get-ChildItem", {"LiteralPath": "C:\\Program Files\\JumpCloud", "Recurse": True, "Filter": "*.json"}
    ).output
    assert [i.get("Name") for i in items] == ["managedUsers.json"]
    assert str(items[0]) == "managedUsers.json"  # 5.1: a listed FileInfo stringifies to its name
    item = run_command(machine, "Get-Item", {"LiteralPath": items[0].get("FullName")}).output[0]
    assert str(item) == items[0].get("FullName")


def test_ngc_store_is_protected_from_administrators() -> None:
    machine = machine_of("pin")
    store = "C:\\Windows\\ServiceProfiles\\LocalService\\AppData\\Local\\Microsoft\\Ngc"
    assert run_command(machine, "Test-Path", {"LiteralPath": store}).output == [True]
    ran = run_command(machine, "Get-ChildItem", {"LiteralPath": store, "Force": True})
    assert ran.output == [] and ran.errors[0].category == "PermissionDenied"
    assert len(run_command(machine.as_system(), "Get-ChildItem", {"LiteralPath": store, "Force": True}).output) == 1


def test_system32_is_redirected_for_a_32bit_process_and_sysnative_reaches_it() -> None:
    wow = machine_of("win_wow64")
    wow.state.fs.write("C:\\Windows\\System32\\only64.txt", b"64", wow.as_system().token)
    assert run_command(wow, "Test-Path", {"LiteralPath": "C:\\Windows\\System32\\only64.txt"}).output == [False]
    assert run_command(wow, "Test-Path", {"LiteralPath": "C:\\Windows\\Sysnative\\only64.txt"}).output == [True]
    assert wow.run_native("C:\\Windows\\System32\\certutil.exe", ["-DeleteHelloContainer"]).exit_code != 0


def test_read_script_decodes_like_powershell_51() -> None:
    machine = machine_of("healthy")
    machine.state.fs.write("C:\\Windows\\Temp\\s.ps1", "'zoë'".encode(), machine.token)
    assert machine.read_script("C:\\Windows\\Temp\\s.ps1") == "'zoÃ«'"  # no BOM: the ANSI code page
    machine.state.fs.write("C:\\Windows\\Temp\\s.ps1", b"\xef\xbb\xbf" + "'zoë'".encode(), machine.token)
    assert machine.read_script("C:\\Windows\\Temp\\s.ps1") == "'zoë'"
