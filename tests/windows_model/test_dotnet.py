"""Machine-bound .NET members: RegistryKey writes and views, RegistrySecurity, FileStream, File.Create with
security, Path.GetTempFileName, GetFolderPath, secedit, inline task commands, WQL operators."""

from __future__ import annotations

import base64

import pytest

from tests.windows_model.conftest import machine_of, run_command
from toolkit.lab.powershell.contract import CommandError, DotNetEnum
from toolkit.lab.windows import security as sec
from toolkit.lab.windows.encoding import decode_text

POLICY = "SOFTWARE\\Policies\\Microsoft\\Windows\\System"


def hive(machine, view="Registry64"):
    return machine.static_member("Microsoft.Win32.RegistryKey", "OpenBaseKey")("LocalMachine", view)


def test_registry_key_writes_through_writable_handles_only() -> None:
    machine = machine_of("healthy")
    key = hive(machine).call("CreateSubKey", POLICY)
    key.call("SetValue", "AllowDomainPINLogon", 0, DotNetEnum("Microsoft.Win32.RegistryValueKind", "DWord", 4))
    key.call("SetValue", "Inferred", "text")
    read_only = hive(machine).call("OpenSubKey", POLICY)
    assert read_only.call("GetValue", "AllowDomainPINLogon") == 0
    assert str(read_only.call("GetValueKind", "Inferred")) == "String"
    with pytest.raises(CommandError) as caught:
        read_only.call("SetValue", "x", 1)
    assert caught.value.spec.message == "Cannot write to the registry key."
    writable = hive(machine).call("OpenSubKey", POLICY, True)
    writable.call("DeleteValue", "Inferred")
    assert read_only.call("GetValueNames") == ["AllowDomainPINLogon"]
    parent = hive(machine).call("OpenSubKey", "SOFTWARE\\Policies\\Microsoft\\Windows", True)
    parent.call("DeleteSubKeyTree", "System", False)
    assert hive(machine).call("OpenSubKey", POLICY) is None
    parent.call("DeleteSubKeyTree", "System", False)  # missing, and told not to throw
    with pytest.raises(CommandError):
        parent.call("DeleteSubKeyTree", "System")


def test_a_32bit_process_writes_the_64bit_view_through_openbasekey() -> None:
    machine = machine_of("win_wow64")
    hive(machine).call("CreateSubKey", "SOFTWARE\\Lab").call("SetValue", "v", 1)
    assert machine.state.registry.peek("HKEY_LOCAL_MACHINE\\SOFTWARE\\Lab") is not None
    hive(machine, "Registry32").call("CreateSubKey", "SOFTWARE\\Lab32")
    assert machine.state.registry.peek("HKEY_LOCAL_MACHINE\\SOFTWARE\\WOW6432Node\\Lab32") is not None


def test_registry_security_round_trip() -> None:
    machine = machine_of("healthy")
    key = hive(machine).call("CreateSubKey", "SOFTWARE\\Lab\\Acl")
    sddl = key.call("GetAccessControl").call("GetSecurityDescriptorSddlForm", "Access")
    assert sddl.startswith("D:")
    security = machine.new_object("System.Security.AccessControl.RegistrySecurity", [])
    security.call("SetSecurityDescriptorSddlForm", "D:P(A;;KA;;;SY)", "Access")
    key.call("SetAccessControl", security)
    assert key.call("GetAccessControl").call("GetSecurityDescriptorSddlForm", "Access") == "D:P(A;;KA;;;SY)"


def test_filestream_reads_a_bounded_tail_like_collect_facts() -> None:
    machine = machine_of("agent_stopped")
    stream = machine.new_object(
        "System.IO.FileStream", ["C:\\Windows\\Temp\\jcagent.log", "Open", "Read", "ReadWrite,Delete"]
    )
    size = stream.get("Length")
    assert size == len(machine.state.fs.get("C:\\Windows\\Temp\\jcagent.log").data)
    stream.call("Seek", size - 8, "Begin")
    buffer = bytearray(8)
    assert stream.call("Read", buffer, 0, 8) == 8 and bytes(buffer).endswith(b"\n")
    assert stream.call("Read", buffer, 0, 8) == 0
    stream.call("Dispose")
    with pytest.raises(CommandError):
        stream.call("Read", buffer, 0, 1)
    with pytest.raises(CommandError) as caught:
        machine.new_object("System.IO.FileStream", ["C:\\Windows\\Temp\\nope.log", "Open", "Read"])
    assert caught.value.spec.exception_type == "System.IO.FileNotFoundException"


def test_file_create_with_security_protects_a_new_file_in_one_call() -> None:
    machine = machine_of("healthy")
    machine.state.fs.mkdir("C:\\ProgramData\\jcfix", machine.token)
    security = machine.new_object("System.Security.AccessControl.FileSecurity", [])
    security.call("SetAccessRuleProtection", True, False)
    security.call("SetOwner", machine.new_object("System.Security.Principal.SecurityIdentifier", [sec.ADMINISTRATORS]))
    for sid in (sec.SYSTEM, sec.ADMINISTRATORS):
        identity = machine.new_object("System.Security.Principal.SecurityIdentifier", [sid])
        security.call(
            "AddAccessRule",
            machine.new_object(
                "System.Security.AccessControl.FileSystemAccessRule", [identity, "FullControl", "None", "None", "Allow"]
            ),
        )
    stream = machine.static_member("System.IO.File", "Create")("C:\\ProgramData\\jcfix\\a.json", 4096, None, security)
    stream.call("Write", b"{}", 0, 2)
    stream.call("Dispose")
    node = machine.state.fs.get("C:\\ProgramData\\jcfix\\a.json")
    assert node.data == b"{}" and node.sd.protected and node.sd.owner == sec.ADMINISTRATORS
    assert sorted(a.sid for a in node.sd.dacl) == sorted([sec.SYSTEM, sec.ADMINISTRATORS])


def test_temp_file_and_folder_paths() -> None:
    machine = machine_of("healthy")
    first = machine.static_member("System.IO.Path", "GetTempFileName")()
    second = machine.static_member("System.IO.Path", "GetTempFileName")()
    assert first != second and first.startswith("C:\\Users\\Administrator\\AppData\\Local\\Temp\\tmp")
    assert machine.state.fs.get(first).data == b""
    with pytest.raises(KeyError):
        machine.static_member("System.IO.Path", "Combine")  # a pure member: the engine's
    assert machine.static_member("Environment", "GetFolderPath")("CommonApplicationData") == "C:\\ProgramData"
    wow = machine_of("win_wow64")
    assert wow.static_member("Environment", "GetFolderPath")("ProgramFiles") == "C:\\Program Files (x86)"


def test_secedit_exports_the_password_policy() -> None:
    machine = machine_of("win_faults", 1)
    result = machine.run_native(
        "C:\\Windows\\System32\\secedit.exe",
        ["/export", "/cfg", "C:\\Windows\\Temp\\p.inf", "/areas", "SECURITYPOLICY", "/quiet"],
    )
    assert result.exit_code == 0
    text = decode_text(machine.state.fs.get("C:\\Windows\\Temp\\p.inf").data, None)
    assert "MinimumPasswordLength = 14" in text and "PasswordComplexity = 1" in text
    assert machine_of("win_filtered_token").run_native("secedit.exe", ["/export", "/cfg", "C:\\x.inf"]).exit_code == 5


def test_an_inline_encoded_command_task_runs_as_system() -> None:
    machine = machine_of("healthy")
    seen = []
    machine.command_runner = lambda process, text: seen.append((process.token.user, text)) or 3
    encoded = base64.b64encode("'hello'".encode("utf-16-le")).decode()
    action = run_command(
        machine,
        "New-ScheduledTaskAction",
        {
            "Execute": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
            "Argument": f"-NoProfile -NonInteractive -EncodedCommand {encoded}",
        },
    ).output[0]
    principal = run_command(
        machine, "New-ScheduledTaskPrincipal", {"UserId": "S-1-5-18", "LogonType": "ServiceAccount"}
    ).output[0]
    run_command(
        machine,
        "Register-ScheduledTask",
        {"TaskName": "x", "TaskPath": "\\jcfix\\", "Action": action, "Principal": principal},
    )
    run_command(machine, "Start-ScheduledTask", {"TaskName": "x", "TaskPath": "\\jcfix\\"})
    assert seen == [(sec.SYSTEM, "'hello'")]
    info = run_command(machine, "Get-ScheduledTaskInfo", {"TaskName": "x", "TaskPath": "\\jcfix\\"}).output[0]
    assert info.get("LastTaskResult") == 3


@pytest.mark.parametrize(
    "where, count",
    [
        ("SessionId > 0", 5),
        ("SessionId >= 1 AND Name = 'dwm.exe'", 1),
        ("Name LIKE 'font%'", 1),
        ("Name = 'dwm.exe' OR Name = 'LogonUI.exe'", 2),
    ],
)
def test_wql_operators(where: str, count: int) -> None:
    machine = machine_of("healthy")
    found = run_command(machine, "Get-CimInstance", {"ClassName": "Win32_Process", "Filter": where}).output
    assert len(found) == count
