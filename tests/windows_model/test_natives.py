"""Native programs: certutil only marks the Hello container (the PIN goes at sign-out), takeown's localised
answer, icacls, reg.exe export/import (success on stderr), missing programs."""

from __future__ import annotations

import pytest

from tests.windows_model.conftest import machine_of, run_command
from toolkit.lab.powershell.contract import CommandError
from toolkit.lab.windows import security as sec
from toolkit.lab.windows.security import user_token
from toolkit.lab.windows.state import NGC_PIN_ROOT, NGC_STORE, PIN_PROVIDER_ROOT

CERTUTIL = "C:\\Windows\\System32\\certutil.exe"


def pin_keys(machine, sid):
    return [
        root for root in (NGC_PIN_ROOT, PIN_PROVIDER_ROOT) if machine.state.registry.peek(f"{root}\\{sid}") is not None
    ]


def test_certutil_in_the_users_session_marks_and_the_pin_goes_at_sign_out() -> None:
    machine = machine_of("win_pin_until_signout")
    sid = f"{machine.state.machine_sid}-1001"
    assert pin_keys(machine, sid) == [NGC_PIN_ROOT, PIN_PROVIDER_ROOT]
    pat = machine.as_process(user_token(sid, False, False, False, session_id=2))
    result = pat.run_native(CERTUTIL, ["-DeleteHelloContainer"])
    assert result.exit_code == 0
    assert pin_keys(machine, sid) == [NGC_PIN_ROOT, PIN_PROVIDER_ROOT]  # still there while signed in
    machine.sign_out("pat")
    assert pin_keys(machine, sid) == [] and machine.state.fs.get(NGC_STORE).children == {}


def test_certutil_as_the_admin_session_does_not_touch_another_users_pin() -> None:
    machine = machine_of("pin")
    sid = f"{machine.state.machine_sid}-1001"
    result = machine.run_native(CERTUTIL, ["-DeleteHelloContainer"])
    assert result.exit_code == -2146893807 and "NTE_NOT_FOUND" in result.stdout[0]
    machine.sign_in("pat")
    machine.sign_out("pat")
    assert pin_keys(machine, sid) == [NGC_PIN_ROOT]


def test_reenrolment_creates_the_markers_the_scenario_chose() -> None:
    machine = machine_of("win_reenrol")
    sid = f"{machine.state.machine_sid}-1001"
    assert pin_keys(machine, sid) == [PIN_PROVIDER_ROOT]
    machine.state.hello[sid].pending_delete = True
    machine.sign_in("pat")
    machine.sign_out("pat")
    assert pin_keys(machine, sid) == []
    machine.reenrol_pin("pat")
    assert pin_keys(machine, sid) == [PIN_PROVIDER_ROOT]
    container = machine.state.hello[sid]
    assert machine.state.fs.get(f"{NGC_STORE}\\{container.guid}\\1.dat").data == sid.encode("utf-16-le")


@pytest.mark.parametrize(
    "scenario, answer, ok", [("pin", "y", True), ("win_reenrol", "y", False), ("win_reenrol", "J", True)]
)
def test_takeown_answer_letter_is_localised(scenario: str, answer: str, ok: bool) -> None:
    machine = machine_of(scenario)
    result = machine.run_native("C:\\Windows\\System32\\takeown.exe", ["/f", NGC_STORE, "/r", "/d", answer])
    assert (result.exit_code == 0) == ok
    if ok:
        assert machine.state.fs.get(NGC_STORE).sd.owner == machine.token.user
    else:
        assert "/D" in result.stderr[0] and machine.state.fs.get(NGC_STORE).sd.owner == sec.SYSTEM


def test_takeown_needs_an_elevated_administrator() -> None:
    machine = machine_of("win_filtered_token")
    result = machine.run_native("takeown.exe", ["/f", NGC_STORE])
    assert result.exit_code == 1 and "ownership privileges" in result.stderr[0]


def test_icacls_grant_needs_write_dac_and_reports_failures() -> None:
    machine = machine_of("pin")
    store = NGC_STORE
    denied = machine.run_native("icacls.exe", [store, "/grant", "*S-1-5-32-544:F", "/t", "/c"])
    assert denied.exit_code == 5 and "Failed processing" in denied.stdout[-1]
    machine.run_native("takeown.exe", ["/f", store, "/r", "/d", "y"])
    granted = machine.run_native("icacls.exe", [store, "/grant", "*S-1-5-32-544:F", "/t", "/c"])
    assert granted.exit_code == 0
    assert any(a.sid == sec.ADMINISTRATORS and a.rights == sec.FULL for a in machine.state.fs.get(store).sd.dacl)


def test_reg_export_import_round_trip_and_success_is_reported_on_stderr() -> None:
    machine = machine_of("picture")
    sid = f"{machine.state.machine_sid}-1001"
    key = f"HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Authentication\\LogonUI\\PicturePassword\\{sid}"
    export = machine.run_native("reg.exe", ["export", key, "C:\\Windows\\Temp\\pp.reg", "/y"])
    assert export.exit_code == 0
    data = machine.state.fs.get("C:\\Windows\\Temp\\pp.reg").data
    assert data.startswith(b"\xff\xfe") and "Windows Registry Editor Version 5.00" in data[2:].decode("utf-16-le")
    machine.state.registry.drop("HKEY_LOCAL_MACHINE\\" + key.split("\\", 1)[1])
    imported = machine.run_native("reg.exe", ["import", "C:\\Windows\\Temp\\pp.reg"])
    assert (
        imported.exit_code == 0
        and imported.stdout == ()
        and imported.stderr == ("The operation completed successfully.",)
    )
    restored = machine.state.registry.peek("HKEY_LOCAL_MACHINE\\" + key.split("\\", 1)[1])
    assert restored is not None and restored.values["gestureblob"].data == b"\x02\x00\x00\x00"


def test_reg_exe_in_a_32bit_process_uses_the_32bit_view_unless_told() -> None:
    machine = machine_of("win_wow64")
    key = "HKLM\\SOFTWARE\\JumpCloud\\JumpCloud Agent\\ConfigFile"
    assert machine.run_native("reg.exe", ["query", key]).exit_code == 1
    assert machine.run_native("reg.exe", ["query", key, "/reg:64"]).exit_code == 0


def test_a_missing_program_is_command_not_found() -> None:
    with pytest.raises(CommandError) as caught:
        machine_of("healthy").run_native("C:\\Windows\\System32\\nope.exe", [])
    assert caught.value.spec.exception_type.endswith("CommandNotFoundException")


def test_reenrolled_pin_survives_once_the_one_shot_task_deleted_itself() -> None:
    machine = machine_of("win_reenrol")
    sid = f"{machine.state.machine_sid}-1001"
    certutil = run_command(
        machine, "New-ScheduledTaskAction", {"Execute": CERTUTIL, "Argument": "-DeleteHelloContainer"}
    ).output[0]
    delete = run_command(
        machine,
        "New-ScheduledTaskAction",
        {"Execute": "C:\\Windows\\System32\\schtasks.exe", "Argument": '/Delete /TN "\\jcfix\\pin" /F'},
    ).output[0]
    trigger = run_command(machine, "New-ScheduledTaskTrigger", {"AtLogOn": True, "User": sid}).output[0]
    principal = run_command(machine, "New-ScheduledTaskPrincipal", {"UserId": sid, "LogonType": "Interactive"}).output[
        0
    ]
    run_command(
        machine,
        "Register-ScheduledTask",
        {
            "TaskName": "pin",
            "TaskPath": "\\jcfix\\",
            "Action": [certutil, delete],
            "Trigger": trigger,
            "Principal": principal,
        },
    )
    assert machine.sign_in("pat") == ["pin"] and machine.state.tasks == {}
    assert pin_keys(machine, sid) == [PIN_PROVIDER_ROOT]  # marked only
    machine.sign_out("pat")
    assert pin_keys(machine, sid) == []
    machine.reenrol_pin("pat")
    machine.sign_in("pat")
    machine.sign_out("pat")
    assert pin_keys(machine, sid) == [PIN_PROVIDER_ROOT]  # the user's new PIN stays


def test_icacls_setowner_and_grant_as_system_then_the_store_can_be_emptied() -> None:
    machine = machine_of("pin")
    system = machine.as_system()
    icacls = "C:\\Windows\\System32\\icacls.exe"
    assert system.run_native(icacls, [NGC_STORE, "/setowner", "*S-1-5-18", "/T", "/C", "/Q"]).exit_code == 0
    assert system.run_native(icacls, [NGC_STORE, "/grant", "*S-1-5-18:(OI)(CI)F", "/T", "/C", "/Q"]).exit_code == 0
    assert all(node.sd.owner == sec.SYSTEM for _, node in machine.state.fs.walk(NGC_STORE))
    # An elevated administrator may name any owner (privileges), though the DACL grants it nothing...
    assert machine.run_native(icacls, [NGC_STORE, "/setowner", "*S-1-5-32-544"]).exit_code == 0
    # ...and still may not change that DACL without being granted WRITE_DAC: only the owner gets it.
    assert machine.state.fs.get(NGC_STORE).sd.owner == sec.ADMINISTRATORS
    filtered = machine_of("win_filtered_token")
    assert filtered.run_native(icacls, [NGC_STORE, "/setowner", "*S-1-5-32-544"]).exit_code == 5
