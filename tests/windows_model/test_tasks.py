"""Scheduled tasks: CDXML kind, battery defaults, AtLogOn at every logon, expiry, SYSTEM tasks read the
script file at run time, who may register what."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.windows_model.conftest import machine_of, raises_command_error, run_command
from toolkit.lab.powershell.contract import CommandError
from toolkit.lab.windows import security as sec

CERTUTIL = "C:\\Windows\\System32\\certutil.exe"


def system_script_task(machine, settings=None, name="unlink"):
    action = run_command(
        machine,
        "New-ScheduledTaskAction",
        {
            "Execute": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
            "Argument": '-NoProfile -File "C:\\ProgramData\\jcfix\\tasks\\run.ps1" -ParameterFile "C:\\x y\\p.json"',
        },
    ).output[0]
    principal = run_command(
        machine,
        "New-ScheduledTaskPrincipal",
        {"UserId": "S-1-5-18", "LogonType": "ServiceAccount", "RunLevel": "Highest"},
    ).output[0]
    bound = {"TaskName": name, "TaskPath": "\\jcfix\\", "Action": action, "Principal": principal}
    if settings is not None:
        bound["Settings"] = settings
    return run_command(machine, "Register-ScheduledTask", bound)


def test_scheduled_tasks_commands_are_cdxml() -> None:
    commands = machine_of("healthy").commands()
    for name in (
        "register-scheduledtask",
        "get-scheduledtask",
        "unregister-scheduledtask",
        "new-scheduledtasksettingsset",
    ):
        assert commands[name].kind == "cdxml" and commands[name].module == "ScheduledTasks"
    assert commands["unregister-scheduledtask"].supports_should_process


def test_default_settings_refuse_to_start_on_battery() -> None:
    machine = machine_of("win_battery")
    ran = []
    machine.task_runner = lambda m, path, args: ran.append(path) or 0
    registered = system_script_task(machine).output[0]
    assert registered.get("Settings").get("DisallowStartIfOnBatteries") is True
    run_command(machine, "Start-ScheduledTask", {"TaskName": "unlink", "TaskPath": "\\jcfix\\"})
    info = run_command(machine, "Get-ScheduledTaskInfo", {"TaskName": "unlink", "TaskPath": "\\jcfix\\"}).output[0]
    assert ran == [] and info.get("LastTaskResult") == 0x800710E0 and info.get("LastRunTime") is None


def test_settings_that_allow_batteries_run_and_the_script_is_read_at_run_time_as_system() -> None:
    machine = machine_of("win_battery")
    seen = []

    def runner(process, path, args):
        seen.append((process.token.user, path, args, process.read_script(path)))
        return 0

    machine.task_runner = runner
    machine.state.fs.mkdir("C:\\ProgramData\\jcfix\\tasks", machine.token)
    machine.state.fs.write("C:\\ProgramData\\jcfix\\tasks\\run.ps1", b"'original'", machine.token)
    settings = run_command(
        machine, "New-ScheduledTaskSettingsSet", {"AllowStartIfOnBatteries": True, "DontStopIfGoingOnBatteries": True}
    ).output[0]
    system_script_task(machine, settings)
    # Whoever can write the file between registration and run decides what SYSTEM runs.
    machine.state.fs.write("C:\\ProgramData\\jcfix\\tasks\\run.ps1", b"'swapped'", machine.token)
    run_command(machine, "Start-ScheduledTask", {"TaskName": "unlink", "TaskPath": "\\jcfix\\"})
    assert seen == [
        (sec.SYSTEM, "C:\\ProgramData\\jcfix\\tasks\\run.ps1", ["-ParameterFile", "C:\\x y\\p.json"], "'swapped'")
    ]
    info = run_command(machine, "Get-ScheduledTaskInfo", {"TaskName": "unlink", "TaskPath": "\\jcfix\\"}).output[0]
    assert info.get("LastTaskResult") == 0


def register_pin_task(machine, user="pat", end=None, settings=None):
    action = run_command(
        machine, "New-ScheduledTaskAction", {"Execute": CERTUTIL, "Argument": "-DeleteHelloContainer"}
    ).output[0]
    trigger = run_command(machine, "New-ScheduledTaskTrigger", {"AtLogOn": True, "User": user}).output[0]
    if end is not None:
        trigger.set("EndBoundary", end)
    sid = f"{machine.state.machine_sid}-1001"
    principal = run_command(
        machine, "New-ScheduledTaskPrincipal", {"UserId": sid, "LogonType": "Interactive", "RunLevel": "Limited"}
    ).output[0]
    if settings is None:
        settings = run_command(machine, "New-ScheduledTaskSettingsSet", {"AllowStartIfOnBatteries": True}).output[0]
    return run_command(
        machine,
        "Register-ScheduledTask",
        {
            "TaskName": "remove-pin",
            "TaskPath": "\\jcfix\\",
            "Action": action,
            "Trigger": trigger,
            "Principal": principal,
            "Settings": settings,
        },
    )


def test_an_atlogon_trigger_fires_at_every_logon_until_the_task_is_deleted() -> None:
    machine = machine_of("pin")
    register_pin_task(machine)
    assert machine.sign_in("pat") == ["remove-pin"]
    machine.sign_out("pat")  # the PIN goes now
    machine.reenrol_pin("pat")  # the user sets up a PIN again...
    assert machine.sign_in("pat") == ["remove-pin"]  # ...and the same task fires again
    machine.sign_out("pat")
    assert machine.state.hello == {}
    run_command(machine, "Unregister-ScheduledTask", {"TaskName": "remove-pin", "TaskPath": "\\jcfix\\"})
    machine.reenrol_pin("pat")
    assert machine.sign_in("pat") == []


def test_a_trigger_past_its_end_boundary_does_not_fire_and_expired_tasks_are_deleted() -> None:
    machine = machine_of("pin")
    end = (machine.now() + timedelta(hours=1)).replace(tzinfo=None).isoformat(timespec="seconds")
    settings = run_command(
        machine,
        "New-ScheduledTaskSettingsSet",
        {"AllowStartIfOnBatteries": True, "DeleteExpiredTaskAfter": timedelta(0)},
    ).output[0]
    assert settings.get("DeleteExpiredTaskAfter") == "PT0S"
    assert register_pin_task(machine, end=end, settings=settings).errors == []
    assert machine.advance(7200) == ["remove-pin"]
    assert run_command(machine, "Get-ScheduledTask", {"TaskName": "remove-pin", "TaskPath": "\\jcfix\\"}).errors


def test_end_boundary_without_delete_keeps_the_task_but_stops_it_firing() -> None:
    machine = machine_of("pin")
    end = (machine.now() + timedelta(minutes=5)).replace(tzinfo=None).isoformat(timespec="seconds")
    register_pin_task(machine, end=end)
    assert machine.advance(600) == []
    assert machine.sign_in("pat") == []


def test_delete_expired_without_an_end_boundary_fails_to_register() -> None:
    machine = machine_of("pin")
    settings = run_command(machine, "New-ScheduledTaskSettingsSet", {"DeleteExpiredTaskAfter": "PT0S"}).output[0]
    with pytest.raises(CommandError) as caught:
        register_pin_task(machine, settings=settings)
    assert "EndBoundary" in caught.value.spec.message


def test_registering_twice_needs_force_and_unknown_accounts_do_not_map() -> None:
    machine = machine_of("pin")
    register_pin_task(machine)
    with pytest.raises(CommandError) as caught:
        register_pin_task(machine)
    assert caught.value.spec.category == "ResourceExists"
    with pytest.raises(CommandError) as caught:
        register_pin_task(machine, user="nobody")
    assert "No mapping between account names" in caught.value.spec.message


def test_a_filtered_token_cannot_register_a_system_task() -> None:
    machine = machine_of("win_filtered_token")
    with pytest.raises(CommandError) as caught:
        system_script_task(machine)
    assert caught.value.spec.message == "Access is denied."


def test_get_scheduled_task_missing_is_a_cdxml_not_found_error() -> None:
    machine = machine_of("healthy")
    ran = run_command(machine, "Get-ScheduledTask", {"TaskName": "nope", "TaskPath": "\\jcfix\\"})
    assert ran.output == [] and ran.errors[0].error_id == "CmdletizationQuery_NotFound_TaskName"


def test_a_task_can_delete_itself_with_schtasks() -> None:
    machine = machine_of("pin")
    action = run_command(
        machine,
        "New-ScheduledTaskAction",
        {"Execute": "C:\\Windows\\System32\\schtasks.exe", "Argument": '/Delete /TN "\\jcfix\\once" /F'},
    ).output[0]
    trigger = run_command(machine, "New-ScheduledTaskTrigger", {"AtLogOn": True, "User": "pat"}).output[0]
    principal = run_command(
        machine, "New-ScheduledTaskPrincipal", {"UserId": "pat", "LogonType": "Interactive"}
    ).output[0]
    run_command(
        machine,
        "Register-ScheduledTask",
        {"TaskName": "once", "TaskPath": "\\jcfix\\", "Action": action, "Trigger": trigger, "Principal": principal},
    )
    assert machine.sign_in("pat") == ["once"]
    assert machine.state.tasks == {}


def test_register_without_a_principal_runs_as_the_caller() -> None:
    machine = machine_of("healthy")
    action = run_command(machine, "New-ScheduledTaskAction", {"Execute": CERTUTIL}).output[0]
    task = run_command(machine, "Register-ScheduledTask", {"TaskName": "t", "Action": action}).output[0]
    assert task.get("Principal").get("UserId") == machine.token.user
    assert (
        raises_command_error(machine, "Register-ScheduledTask", {"TaskName": "t", "Action": action}).category
        == "ResourceExists"
    )


def test_a_logon_trigger_delay_postpones_the_run() -> None:
    machine = machine_of("pin")
    action = run_command(
        machine,
        "New-ScheduledTaskAction",
        {"Execute": "C:\\Windows\\System32\\schtasks.exe", "Argument": '/Delete /TN "\\jcfix\\later" /F'},
    ).output[0]
    trigger = run_command(machine, "New-ScheduledTaskTrigger", {"AtLogOn": True, "User": "pat"}).output[0]
    trigger.set("Delay", "PT15M")
    principal = run_command(
        machine, "New-ScheduledTaskPrincipal", {"UserId": "SYSTEM", "LogonType": "ServiceAccount"}
    ).output[0]
    run_command(
        machine,
        "Register-ScheduledTask",
        {"TaskName": "later", "TaskPath": "\\jcfix\\", "Action": action, "Trigger": trigger, "Principal": principal},
    )
    assert (
        run_command(machine, "Get-ScheduledTask", {"TaskName": "later"}).output[0].get("Triggers")[0].get("Delay")
        == "PT15M"
    )
    assert machine.sign_in("pat") == []
    machine.advance(14 * 60)
    assert len(machine.state.tasks) == 1
    machine.advance(60)
    assert machine.state.tasks == {}


def test_a_profile_can_stay_loaded_after_sign_out() -> None:
    machine = machine_of("signed_in")
    sid = f"{machine.state.machine_sid}-1001"
    machine.sign_out("alice", profile_lingers=True)
    assert machine.state.session_of(sid) is None and machine.state.profiles[sid].loaded
    machine.sign_in("alice")
    machine.sign_out("alice")
    assert not machine.state.profiles[sid].loaded


def test_unplugging_and_plugging_in_decides_whether_a_default_task_starts() -> None:
    machine = machine_of("healthy")
    ran: list[str] = []
    machine.task_runner = lambda process, path, args: ran.append(path) or 0
    system_script_task(machine)
    machine.set_on_battery(True)
    run_command(machine, "Start-ScheduledTask", {"TaskName": "unlink", "TaskPath": "\\jcfix\\"})
    assert ran == []
    machine.set_on_battery(False)
    run_command(machine, "Start-ScheduledTask", {"TaskName": "unlink", "TaskPath": "\\jcfix\\"})
    assert ran == ["C:\\ProgramData\\jcfix\\tasks\\run.ps1"]
