"""``remove_pin`` (``jcfix fix remove-pin``): remove a user's Windows Hello PIN (at their next sign-in)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from toolkit.actions import Action, Param
from toolkit.actions._fixbase import (
    SYSTEM_POLICY_KEY,
    FixData,
    apply_lab_policy,
    fix_data,
    policy_value,
    run_id_param,
    save_lab_backup,
    user_param,
)
from toolkit.lab.documents import document, failure

if TYPE_CHECKING:
    from toolkit.lab.host import LabHost

POLICY_NAME = "AllowDomainPINLogon"
TASK_PATH = "\\jcfix\\"


def task_name(sid: str) -> str:
    return f"{TASK_PATH}remove-pin-{sid}"


def simulate(host: LabHost, params: Mapping[str, Any], whatif: bool) -> dict[str, Any]:
    name, run_id = params["UserName"], params["RunId"]
    all_users, block = bool(params.get("AllUsersNow")), bool(params.get("BlockReenroll"))
    user = host.find_user(name)
    if user is None:
        return failure("remove_pin", f"no local account named '{name}'", "invalid_input")
    sid = host.sid_of(user)
    task = task_name(sid)

    def state() -> dict[str, Any]:
        return {
            "hello_pin": user.hello_pin,
            "pending_task": task in host.scheduled_tasks,
            "pin_policy": policy_value(host, SYSTEM_POLICY_KEY, POLICY_NAME),
        }

    data = fix_data(name, whatif=whatif)
    before = state()
    data.update(sid=sid, before=before)
    policy_wanted = block and before["pin_policy"] != 0
    planned = []
    if not before["hello_pin"]:
        if before["pending_task"]:
            planned.append("remove the finished jcfix sign-in task (the PIN is gone)")
    elif all_users:
        planned.append("delete every Windows Hello container on this device now (all users)")
    elif not before["pending_task"]:
        planned.append(f"run certutil -DeleteHelloContainer as '{user.name}' at their next sign-in")
    if policy_wanted:
        planned.append(f"set policy {POLICY_NAME} = 0")
    data["planned"] = planned
    if not planned:
        data["after"] = before
        if before["hello_pin"]:
            data["notes"] = [f"waiting for '{user.name}' to sign in; the task then removes the PIN"]
            return document("remove_pin", data, status="pending")
        data["notes"] = ["nothing to do: no PIN registered"]
        return document("remove_pin", data)
    if whatif:
        return document("remove_pin", data, status="changed")
    backups = []
    if not before["hello_pin"] and before["pending_task"]:
        del host.scheduled_tasks[task]
    elif before["hello_pin"] and all_users:
        note = "Windows Hello containers cannot be backed up or restored"
        backups.append(save_lab_backup(host, run_id, "ngc_wipe", {"note": note}))
        for each in host.users:
            each.hello_pin = False
    elif before["hello_pin"] and not before["pending_task"]:
        backups.append(save_lab_backup(host, run_id, "task", {"task": task, "sid": sid}))
        host.scheduled_tasks[task] = {
            "trigger": "logon",
            "user": user.name,
            "command": "certutil.exe -DeleteHelloContainer",
            "effect": {"hello_pin": False},
        }
    if policy_wanted:
        backups.append(apply_lab_policy(host, run_id, POLICY_NAME, 0))
    after = state()
    data.update(backups=backups, after=after)
    if after["hello_pin"]:
        data["notes"] = [f"the PIN goes when '{user.name}' next signs in; run 'jcfix diagnose' afterwards to confirm"]
        return document("remove_pin", data, status="pending", changed=True)
    if all_users:
        data["notes"] = ["every user on this device must set up Windows Hello again, and this cannot be undone"]
    return document("remove_pin", data, status="changed", changed=True)


ACTION = Action(
    name="remove_pin",
    template="remove_pin.ps1.j2",
    version=1,
    summary="Remove a user's Windows Hello PIN at their next sign-in (pending until then), or all PINs now.",
    params=(
        user_param(),
        run_id_param(),
        Param(
            "AllUsersNow",
            kind="bool",
            flag="--all-users-now",
            help="wipe every user's PIN now (not undoable)",
            warning="--all-users-now deletes the Windows Hello PIN and credentials of EVERY user on the device, "
            "and cannot be undone",
        ),
        Param("BlockReenroll", kind="bool", flag="--block-reenroll", help="also set the policy that blocks PINs"),
    ),
    result_model=FixData,
    changes_state=True,
    simulate=simulate,
    command="remove-pin",
)
