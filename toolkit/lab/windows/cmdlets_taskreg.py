"""ScheduledTasks: Register-, Unregister-, Get-, Start-ScheduledTask and Get-ScheduledTaskInfo (CDXML).

Who may register what: an elevated administrator or SYSTEM any task; anyone else only a task that runs as
themselves at the Limited run level (Task Scheduler security: learn.microsoft.com/windows/win32/taskschd/
security-contexts-for-running-tasks). Without a principal the task runs as the registering user, only when
that user is signed in (Interactive). Start-ScheduledTask runs the task now; in the model it finishes before
the command returns (a real task runs asynchronously: scripts must wait on its state, issue 10 defect 6).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from toolkit.lab.powershell.contract import CommandCall, CommandSpec, ErrorSpec
from toolkit.lab.windows import lifecycle
from toolkit.lab.windows import providers as pv
from toolkit.lab.windows.cmdlet_support import as_list, flag, machine_of, param, text
from toolkit.lab.windows.cmdlets_tasks import (
    CIM_EXCEPTION,
    DOCS,
    MODULE,
    _cim,
    _fail,
    _get,
    _resolve_account,
    _settings_of,
    _trigger_of,
    task_object,
)
from toolkit.lab.windows.machine import WindowsMachine
from toolkit.lab.windows.tasks import ScheduledTask, TaskAction, TaskPrincipal, normalize_task_path

MISSING_END_BOUNDARY = "The task XML is missing a required element or attribute.\r\n(38,4):EndBoundary:"


def _principal_of(machine: WindowsMachine, call: CommandCall, principal: Any) -> TaskPrincipal:
    if principal is not None:
        user = _get(principal, "UserId")
        _resolve_account(machine, str(user) if user else None, "Principal")
        return TaskPrincipal(
            str(user) if user else None,
            _get(principal, "GroupId"),
            str(_get(principal, "LogonType", "Interactive")),
            str(_get(principal, "RunLevel", "Limited")),
        )
    if call.bound.get("User"):
        _resolve_account(machine, text(call, "User"), "User")
        return TaskPrincipal(
            text(call, "User"),
            None,
            "Password" if call.bound.get("Password") else "Interactive",
            text(call, "RunLevel") or "Limited",
        )
    return TaskPrincipal(machine.token.user, None, "Interactive", text(call, "RunLevel") or "Limited")


def _may_register(machine: WindowsMachine, principal: TaskPrincipal) -> bool:
    if machine.token.is_admin:
        return True
    runs_as = _resolve_account(machine, principal.user_id, "Principal") if principal.user_id else machine.token.user
    return runs_as == machine.token.user and principal.run_level == "Limited"


def _register(call: CommandCall) -> Iterator[Any]:
    machine = machine_of(call)
    state = machine.state
    source = call.bound.get("InputObject")
    actions_in = as_list(call.bound.get("Action")) or as_list(_get(source, "Actions"))
    triggers_in = as_list(call.bound.get("Trigger")) or as_list(_get(source, "Triggers"))
    principal = _principal_of(machine, call, call.bound.get("Principal") or _get(source, "Principal"))
    settings = _settings_of(call.bound.get("Settings") or _get(source, "Settings"))
    name = text(call, "TaskName") or ""
    path = normalize_task_path(text(call, "TaskPath"))
    triggers = [_trigger_of(t) for t in triggers_in]
    for trigger in triggers:
        _resolve_account(machine, trigger.user_id, "Trigger")
    if settings.delete_expired_task_after is not None and not any(t.end_boundary for t in triggers):
        raise _fail(MISSING_END_BOUNDARY, "0x80041319", "NotSpecified", name)
    if not _may_register(machine, principal):
        raise _fail("Access is denied.", "0x80070005", "PermissionDenied", name)
    task = ScheduledTask(
        path,
        name,
        [
            TaskAction(str(_get(a, "Execute", "")), str(_get(a, "Arguments", "") or ""), _get(a, "WorkingDirectory"))
            for a in actions_in
        ],
        triggers,
        principal,
        settings,
        text(call, "Description") or str(_get(source, "Description", "") or ""),
        author=(state.lookup_sid(machine.token.user) or ("", ""))[1],
        state="Ready" if settings.enabled else "Disabled",
    )
    if task.key in state.tasks and not flag(call, "Force"):
        raise _fail("Cannot create a file when that file already exists.", "0x800700b7", "ResourceExists", name)
    state.tasks[task.key] = task
    yield task_object(task)


def _find(call: CommandCall, required: bool = True) -> Iterator[ScheduledTask]:
    """Tasks by -TaskName (wildcards) and -TaskPath, or by -InputObject."""
    state = machine_of(call).state
    source = call.bound.get("InputObject")
    names = [str(n) for n in as_list(call.bound.get("TaskName"))] or (
        [str(_get(source, "TaskName"))] if source is not None else ["*"]
    )
    path = text(call, "TaskPath") or (str(_get(source, "TaskPath")) if source is not None else None)
    for name in names:
        found = [
            t
            for t in state.tasks.values()
            if pv.matches(t.name, name) and (path is None or pv.matches(t.path, normalize_task_path(path)))
        ]
        if not found and required and not (pv.has_wildcards(name) and path is None):
            call.write_error(
                ErrorSpec(
                    f"No MSFT_ScheduledTask objects found with property 'TaskName' equal to '{name}'.  "
                    "Verify the value of the property and retry.",
                    "CmdletizationQuery_NotFound_TaskName",
                    "ObjectNotFound",
                    CIM_EXCEPTION,
                    name,
                )
            )
        yield from sorted(found, key=lambda t: (t.path.lower(), t.name.lower()))


def _get_task(call: CommandCall) -> Iterator[Any]:
    for task in _find(call):
        yield task_object(task)


def _visible_to(machine: WindowsMachine, task: ScheduledTask) -> bool:
    return machine.token.is_admin or lifecycle.principal_sid(machine.state, task) == machine.token.user


def _unregister(call: CommandCall) -> Iterator[Any]:
    machine = machine_of(call)
    for task in list(_find(call)):
        if not call.should_process(task.name, "Delete"):
            continue
        if not _visible_to(machine, task):
            call.write_error(
                ErrorSpec("Access is denied.", "HRESULT 0x80070005", "PermissionDenied", CIM_EXCEPTION, task.name)
            )
            continue
        machine.state.tasks.pop(task.key, None)
    yield from ()


def _start(call: CommandCall) -> Iterator[Any]:
    machine = machine_of(call)
    for task in list(_find(call)):
        if not _visible_to(machine, task):
            call.write_error(
                ErrorSpec("Access is denied.", "HRESULT 0x80070005", "PermissionDenied", CIM_EXCEPTION, task.name)
            )
            continue
        lifecycle.run_task(machine, task)
    yield from ()


def _info(call: CommandCall) -> Iterator[Any]:
    for task in _find(call):
        yield _cim(
            "MSFT_TaskDynamicInfo",
            {
                "TaskName": task.name,
                "TaskPath": task.path,
                "LastRunTime": task.last_run_time,
                "LastTaskResult": task.last_task_result,
                "NextRunTime": None,
                "NumberOfMissedRuns": 0,
            },
            settable=False,
        )


TASK_ID = (
    param("TaskName", "string[]", 0),
    param("TaskPath", "string", 1),
    param("InputObject", "object", pipeline=True),
)

COMMANDS = [
    CommandSpec(
        "Register-ScheduledTask",
        MODULE,
        "cdxml",
        (
            param("TaskName", "string", 0),
            param("TaskPath", "string", 1),
            param("Action", "object[]", 2),
            param("Trigger", "object[]"),
            param("Settings", "object"),
            param("Principal", "object"),
            param("User", "string"),
            param("Password", "string"),
            param("RunLevel", "string"),
            param("Description", "string"),
            param("InputObject", "object", pipeline=True),
            param("Force", "switch"),
        ),
        False,
        _register,
        DOCS + "register-scheduledtask",
    ),
    CommandSpec(
        "Unregister-ScheduledTask", MODULE, "cdxml", TASK_ID, True, _unregister, DOCS + "unregister-scheduledtask"
    ),
    CommandSpec("Get-ScheduledTask", MODULE, "cdxml", TASK_ID[:2], False, _get_task, DOCS + "get-scheduledtask"),
    CommandSpec("Start-ScheduledTask", MODULE, "cdxml", TASK_ID, False, _start, DOCS + "start-scheduledtask"),
    CommandSpec("Get-ScheduledTaskInfo", MODULE, "cdxml", TASK_ID, False, _info, DOCS + "get-scheduledtaskinfo"),
]
