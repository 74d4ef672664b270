"""The ScheduledTasks module: CDXML functions (kind ``cdxml``: they see only preferences passed to them as
common parameters, fact sheet §8) over the Task Scheduler model in :mod:`toolkit.lab.windows.tasks`.

Objects are CimInstances of the MSFT_Task* classes (learn.microsoft.com/powershell/module/scheduledtasks/).
Errors use the Task Scheduler's HRESULTs: 0x800700B7 (the task exists; ``-Force`` replaces it), 0x80070005
(access denied), 0x80070534 (an account name that does not map to a SID), the CDXML "No MSFT_ScheduledTask
objects found" message for a missing task. Registering ``DeleteExpiredTaskAfter`` without a trigger end
boundary fails with SCHED_E_MISSINGNODE for EndBoundary (widely reported; the line/column numbers in the
message are UNCONFIRMED).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from toolkit.lab.powershell.contract import CommandCall, CommandError, CommandSpec, DotNetEnum, DotNetObject, ErrorSpec
from toolkit.lab.windows.cmdlet_support import as_list, flag, machine_of, param, text
from toolkit.lab.windows.machine import WindowsMachine
from toolkit.lab.windows.tasks import (
    ScheduledTask,
    TaskSettings,
    TaskTrigger,
    format_duration,
    parse_duration,
)

MODULE = "ScheduledTasks"
DOCS = "https://learn.microsoft.com/powershell/module/scheduledtasks/"
CIM = "Microsoft.Management.Infrastructure.CimInstance#Root/Microsoft/Windows/TaskScheduler/"
TASK_STATES = {"Unknown": 0, "Disabled": 1, "Queued": 2, "Ready": 3, "Running": 4}
CIM_EXCEPTION = "Microsoft.Management.Infrastructure.CimException"


def _cim(class_name: str, props: dict[str, Any], settable: bool = True) -> DotNetObject:
    return DotNetObject(
        [CIM + class_name, "Microsoft.Management.Infrastructure.CimInstance"],
        {**props, "PSComputerName": None},
        settable=props.keys() if settable else (),
        to_string=class_name,
    )


def duration_text(value: Any) -> str:
    """A [TimeSpan] argument as the XML duration the Task Scheduler stores."""
    if isinstance(value, timedelta):
        return format_duration(value)
    seconds = getattr(value, "total_seconds", None)
    if callable(seconds):
        return format_duration(timedelta(seconds=float(seconds())))
    if isinstance(value, DotNetObject) and "TotalSeconds" in value.properties:
        return format_duration(timedelta(seconds=float(value.get("TotalSeconds"))))
    if isinstance(value, (int, float)):
        return format_duration(timedelta(seconds=float(value)))
    raw = str(value)
    if raw.upper().startswith("P"):
        return format_duration(parse_duration(raw))
    days, _, clock = raw.rpartition(".") if raw.count(":") == 2 and "." in raw.split(":")[0] else ("0", "", raw)
    hours, minutes, secs = (int(float(p)) for p in clock.split(":"))
    return format_duration(timedelta(days=int(days or 0), hours=hours, minutes=minutes, seconds=secs))


# ------------------------------------------------------------------------------------------- New-* builders
def _new_action(call: CommandCall) -> Iterator[Any]:
    yield _cim(
        "MSFT_TaskExecAction",
        {
            "Id": None,
            "Execute": text(call, "Execute"),
            "Arguments": text(call, "Argument"),
            "WorkingDirectory": text(call, "WorkingDirectory"),
        },
    )


def _new_trigger(call: CommandCall) -> Iterator[Any]:
    now = machine_of(call).state.clock.replace(tzinfo=None).isoformat(timespec="seconds")
    at = call.bound.get("At")
    start = (
        at.replace(tzinfo=None).isoformat(timespec="seconds") if isinstance(at, datetime) else (str(at) if at else now)
    )
    common = {"Id": None, "Enabled": True, "EndBoundary": None, "ExecutionTimeLimit": None, "Repetition": None}
    if flag(call, "AtLogOn"):
        # -AtLogOn without -User: any user's logon fires it.
        yield _cim(
            "MSFT_TaskLogonTrigger", {**common, "StartBoundary": None, "UserId": text(call, "User"), "Delay": None}
        )
    elif flag(call, "AtStartup"):
        yield _cim("MSFT_TaskBootTrigger", {**common, "StartBoundary": None, "Delay": None})
    elif flag(call, "Daily"):
        yield _cim("MSFT_TaskDailyTrigger", {**common, "StartBoundary": start, "DaysInterval": 1})
    else:
        yield _cim("MSFT_TaskTimeTrigger", {**common, "StartBoundary": start})


def _new_principal(call: CommandCall) -> Iterator[Any]:
    yield _cim(
        "MSFT_TaskPrincipal2",
        {
            "Id": "Author",
            "DisplayName": None,
            "UserId": text(call, "UserId"),
            "GroupId": text(call, "GroupId"),
            "LogonType": text(call, "LogonType") or ("Interactive" if call.bound.get("UserId") else "None"),
            "RunLevel": text(call, "RunLevel") or "Limited",
        },
    )


def _new_settings(call: CommandCall) -> Iterator[Any]:
    limit = call.bound.get("ExecutionTimeLimit")
    delete_after = call.bound.get("DeleteExpiredTaskAfter")
    yield _cim(
        "MSFT_TaskSettings3",
        {
            # The switches only turn the defaults (true) off: Task Scheduler schema defaults, fact sheet §8.
            "DisallowStartIfOnBatteries": not flag(call, "AllowStartIfOnBatteries"),
            "StopIfGoingOnBatteries": not flag(call, "DontStopIfGoingOnBatteries"),
            "ExecutionTimeLimit": duration_text(limit) if limit is not None else "PT72H",
            "DeleteExpiredTaskAfter": duration_text(delete_after) if delete_after is not None else None,
            "Enabled": not flag(call, "Disable"),
            "Hidden": flag(call, "Hidden"),
            "MultipleInstances": text(call, "MultipleInstances") or "IgnoreNew",
            "StartWhenAvailable": flag(call, "StartWhenAvailable"),
        },
    )


def _new_task(call: CommandCall) -> Iterator[Any]:
    yield _cim(
        "MSFT_ScheduledTask",
        {
            "Actions": as_list(call.bound.get("Action")),
            "Triggers": as_list(call.bound.get("Trigger")),
            "Principal": call.bound.get("Principal"),
            "Settings": call.bound.get("Settings"),
            "Description": text(call, "Description"),
            "TaskName": None,
            "TaskPath": None,
        },
    )


# ------------------------------------------------------------------------------------------- model <-> objects
def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, DotNetObject) and name in obj.properties:
        value = obj.get(name)
        return default if value is None else value
    return default


def _trigger_of(obj: Any) -> TaskTrigger:
    kinds = {"msft_tasklogontrigger": "logon", "msft_taskboottrigger": "startup", "msft_taskdailytrigger": "daily"}
    kind = next(
        (v for k, v in kinds.items() if isinstance(obj, DotNetObject) and obj.type_names[0].lower().endswith(k)), "once"
    )
    end = _get(obj, "EndBoundary")
    start = _get(obj, "StartBoundary")
    delay = _get(obj, "Delay")
    return TaskTrigger(
        kind,
        _get(obj, "UserId"),
        bool(_get(obj, "Enabled", True)),
        str(start) if start else None,
        str(end) if end else None,
        delay=duration_text(delay) if delay else None,
    )


def _settings_of(obj: Any) -> TaskSettings:
    if obj is None:
        return TaskSettings()
    return TaskSettings(
        bool(_get(obj, "DisallowStartIfOnBatteries", True)),
        bool(_get(obj, "StopIfGoingOnBatteries", True)),
        str(_get(obj, "ExecutionTimeLimit", "PT72H")),
        _get(obj, "DeleteExpiredTaskAfter"),
        bool(_get(obj, "Enabled", True)),
        str(_get(obj, "MultipleInstances", "IgnoreNew")),
        bool(_get(obj, "Hidden", False)),
    )


TRIGGER_CLASSES = {
    "logon": "MSFT_TaskLogonTrigger",
    "startup": "MSFT_TaskBootTrigger",
    "daily": "MSFT_TaskDailyTrigger",
}


def _parts_of(task: ScheduledTask) -> dict[str, Any]:
    """The registered task's actions, triggers, principal and settings as MSFT_* objects."""
    s = task.settings
    p = task.principal
    return {
        "Actions": [
            _cim("MSFT_TaskExecAction", {"Id": None, "Execute": a.execute, "Arguments": a.arguments or None,
                                         "WorkingDirectory": a.working_directory})
            for a in task.actions
        ],
        "Triggers": [
            _cim(TRIGGER_CLASSES.get(t.kind, "MSFT_TaskTimeTrigger"),
                 {"Enabled": t.enabled, "UserId": t.user_id, "StartBoundary": t.start_boundary,
                  "EndBoundary": t.end_boundary, "Delay": t.delay})
            for t in task.triggers
        ],
        "Principal": _cim("MSFT_TaskPrincipal2", {"UserId": p.user_id, "GroupId": p.group_id,
                                                  "LogonType": p.logon_type, "RunLevel": p.run_level}),
        "Settings": _cim("MSFT_TaskSettings3", {
            "DisallowStartIfOnBatteries": s.disallow_start_if_on_batteries,
            "StopIfGoingOnBatteries": s.stop_if_going_on_batteries, "ExecutionTimeLimit": s.execution_time_limit,
            "DeleteExpiredTaskAfter": s.delete_expired_task_after, "Enabled": s.enabled, "Hidden": s.hidden}),
    }  # fmt: skip


def task_object(task: ScheduledTask) -> DotNetObject:
    """An MSFT_ScheduledTask for a registered task."""
    state = DotNetEnum(
        "Microsoft.PowerShell.Cmdletization.GeneratedTypes.ScheduledTask.StateEnum", task.state, TASK_STATES[task.state]
    )
    return _cim(
        "MSFT_ScheduledTask",
        {"TaskName": task.name, "TaskPath": task.path, "Description": task.description or None, "Author": task.author,
         "URI": task.path + task.name, "State": state, **_parts_of(task)},
        settable=False,
    )  # fmt: skip


def _fail(message: str, hresult: str, category: str, target: Any) -> CommandError:
    return CommandError(ErrorSpec(message, f"HRESULT {hresult}", category, CIM_EXCEPTION, target))


def _resolve_account(machine: WindowsMachine, name: str | None, target: str) -> str | None:
    if not name:
        return None
    sid = name.upper() if name.upper().startswith("S-1-") else machine.state.lookup_name(name)
    if sid is None or (name.upper().startswith("S-1-") and machine.state.lookup_sid(sid) is None):
        raise _fail("No mapping between account names and security IDs was done.", "0x80070534", "NotSpecified", target)
    return sid


# The New-ScheduledTask* builders: they only make objects.
BUILDERS = [
    CommandSpec(
        "New-ScheduledTaskAction",
        MODULE,
        "cdxml",
        (
            param("Execute", "string", 0, mandatory=True),
            param("Argument", "string", 1),
            param("WorkingDirectory", "string", 2),
            param("Id", "string"),
        ),
        False,
        _new_action,
        DOCS + "new-scheduledtaskaction",
    ),
    CommandSpec(
        "New-ScheduledTaskTrigger",
        MODULE,
        "cdxml",
        (
            param("AtLogOn", "switch"),
            param("AtStartup", "switch"),
            param("Once", "switch"),
            param("Daily", "switch"),
            param("At", "datetime"),
            param("User", "string"),
            param("RandomDelay", "timespan"),
        ),
        False,
        _new_trigger,
        DOCS + "new-scheduledtasktrigger",
    ),
    CommandSpec(
        "New-ScheduledTaskPrincipal",
        MODULE,
        "cdxml",
        (
            param("UserId", "string", 0),
            param("GroupId", "string"),
            param("LogonType", "string"),
            param("RunLevel", "string"),
            param("Id", "string"),
        ),
        False,
        _new_principal,
        DOCS + "new-scheduledtaskprincipal",
    ),
    CommandSpec(
        "New-ScheduledTaskSettingsSet",
        MODULE,
        "cdxml",
        (
            param("AllowStartIfOnBatteries", "switch"),
            param("DontStopIfGoingOnBatteries", "switch"),
            param("ExecutionTimeLimit", "timespan"),
            param("DeleteExpiredTaskAfter", "timespan"),
            param("Disable", "switch"),
            param("Hidden", "switch"),
            param("StartWhenAvailable", "switch"),
            param("MultipleInstances", "string"),
        ),
        False,
        _new_settings,
        DOCS + "new-scheduledtasksettingsset",
    ),
    CommandSpec(
        "New-ScheduledTask",
        MODULE,
        "cdxml",
        (
            param("Action", "object[]", 0),
            param("Trigger", "object[]", 1),
            param("Settings", "object", 2),
            param("Principal", "object", 3),
            param("Description", "string"),
        ),
        False,
        _new_task,
        DOCS + "new-scheduledtask",
    ),
]
