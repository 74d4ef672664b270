"""``remove_pin`` (``jcfix fix remove-pin``): remove a user's Windows Hello PIN (gone at the sign-out after sign-in)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from toolkit.actions import Action, Param
from toolkit.actions._fixbase import (
    PIN_PROVIDER_KEY,
    SYSTEM_POLICY_KEY,
    FixData,
    apply_lab_policy,
    fix_data,
    lab_pin_markers,
    lab_sessions,
    not_elevated_message,
    policy_value,
    run_id_param,
    save_lab_backup,
    untrusted_folder_message,
    user_param,
)
from toolkit.lab.documents import document, failure

if TYPE_CHECKING:
    from toolkit.lab.host import LabHost, LabUser

NGC_STORE = "C:\\Windows\\ServiceProfiles\\LocalService\\AppData\\Local\\Microsoft\\Ngc"

POLICY_NAME = "AllowDomainPINLogon"
TASK_PATH = "\\jcfix\\"
DEFAULT_EXPIRE_DAYS = 14
# What --block-reenroll does and does not do, in the plan, the notes and --help (issue 10, defect 10).
BLOCK_PLAN = (
    f"set policy {POLICY_NAME} = 0 (Microsoft words it for domain users; whether it stops local or "
    "Microsoft-account users from setting up a PIN again is UNCONFIRMED)"
)
BLOCK_NOTE = (
    f"{POLICY_NAME} is worded for domain users; for local and Microsoft-account users it may not stop a new PIN "
    "(UNCONFIRMED): run jcfix diagnose again later"
)
BLOCK_HELP = (
    f"also set {POLICY_NAME}=0 (blocks convenience PIN sign-in for domain users; for local and Microsoft-account "
    "users its effect is unconfirmed)"
)
WIPE_PLAN = (
    "as SYSTEM: stop NgcCtnrSvc and NgcSvc, delete every Windows Hello container on this device (all users), "
    "start them again"
)


def task_name(sid: str, *, cleanup: bool = False) -> str:
    """The lab's key of the user's one-shot PIN task (or its SYSTEM clean-up task)."""
    return f"{TASK_PATH}remove-pin-{'cleanup-' if cleanup else ''}{sid}"


def pending_note(account: str, state: dict[str, Any]) -> str:
    """``Get-JcfixPendingNote``: the PIN goes at the sign-out after the task ran (certutil's own help)."""
    if state["task_ran"]:
        return f"the task ran at sign-in; the PIN goes when '{account}' next signs out; run 'jcfix diagnose' afterwards"
    return (
        f"waiting for '{account}' to sign in (the task then runs) and sign out again (the PIN goes then); "
        "run 'jcfix diagnose' afterwards"
    )


def _register_tasks(host: LabHost, user: LabUser, sid: str, expire_days: int) -> None:
    """The two tasks ``Register-JcfixPinTask`` registers, as the lab's events run them."""
    expires = datetime.now(timezone.utc) + timedelta(days=expire_days)
    account = f"{host.hostname.upper()}\\{user.name}"
    settings = {"allow_start_on_batteries": True, "dont_stop_on_batteries": True, "delete_expired_after": "P1D"}
    host.scheduled_tasks[task_name(sid)] = {
        "trigger": "logon",
        "sid": sid,
        "user": account,
        "principal": account,
        "command": "certutil.exe -DeleteHelloContainer",
        "end_boundary": expires.strftime("%Y-%m-%dT%H:%M:%S"),
        "settings": settings,
        # certutil's help: "Users need to sign out after using this option for it to complete".
        "effect_at_sign_out": {"hello_pin": False},
        "ran": False,
    }
    host.scheduled_tasks[task_name(sid, cleanup=True)] = {
        "trigger": "logon",
        "sid": sid,
        "user": account,
        "principal": "S-1-5-18",
        "delay": "PT15M",
        "end_boundary": (expires + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S"),
        "settings": settings,
        "deletes": [task_name(sid), task_name(sid, cleanup=True)],
        "ran": False,
    }


def _plan(user: LabUser, before: dict[str, Any], all_users: bool, policy_wanted: bool, days: int) -> list[str]:
    planned = []
    if not before["hello_pin"]:
        if before["pending_task"]:
            planned.append("remove the jcfix sign-in tasks (no PIN marker is left)")
    elif all_users:
        planned.append(WIPE_PLAN)
    elif not before["pending_task"]:
        planned.append(
            f"run certutil -DeleteHelloContainer as '{user.name}' once, at their next sign-in; the PIN goes when "
            f"they next sign out (the task removes itself, and expires in {days} days)"
        )
    if policy_wanted:
        planned.append(BLOCK_PLAN)
    return planned


def _wipe_all(host: LabHost, run_id: str) -> str:
    """``-AllUsersNow`` as the SYSTEM task does it: every NGC container and every NgcPin marker goes.

    The task deletes only NgcPin\\Credentials\\<SID>: a credential-provider marker stays (UNCONFIRMED whether
    Windows clears it by itself), kept here as the lab registry key ``lab_pin_markers`` reads.
    """
    note = "Windows Hello containers cannot be backed up or restored"
    path = save_lab_backup(host, run_id, "ngc_wipe", {"path": NGC_STORE, "note": note})
    for each in host.users:
        if each.hello_pin and host.pin_marker in ("pin_provider", "both"):
            host.registry.setdefault(f"{PIN_PROVIDER_KEY}\\{host.sid_of(each)}", {})
        each.hello_pin = False
    return path


def _state(host: LabHost, user: LabUser) -> dict[str, Any]:
    """``Get-JcfixPinState``: the markers seen, the sign-in task and whether it ran, the policy."""
    markers = lab_pin_markers(host, user)
    task = host.scheduled_tasks.get(task_name(host.sid_of(user)))
    return {
        "hello_pin": bool(markers),
        "pin_markers": markers,
        "pending_task": task is not None,
        "task_ran": bool(task and task.get("ran")),
        "pin_policy": policy_value(host, SYSTEM_POLICY_KEY, POLICY_NAME),
    }


def _signed_in_refusal(host: LabHost) -> str | None:
    """-AllUsersNow while any user SID has an interactive session (Get-JcfixSignedInUserSid)."""
    signed = sorted({owner for _, _, owner, _, _ in lab_sessions(host)})
    if not signed:
        return None
    return (
        "--all-users-now deletes every user's Windows Hello containers and is refused while anyone is "
        f"signed in (signed in: {', '.join(signed)})"
    )


def _change(host: LabHost, user: LabUser, before: dict[str, Any], params: Mapping[str, Any], days: int) -> list[str]:
    """The change itself (no -WhatIf); returns the backup paths."""
    sid, run_id = host.sid_of(user), params["RunId"]
    backups = []
    if not before["hello_pin"] and before["pending_task"]:
        for key in (task_name(sid), task_name(sid, cleanup=True)):
            host.scheduled_tasks.pop(key, None)
    elif before["hello_pin"] and params.get("AllUsersNow"):
        backups.append(_wipe_all(host, run_id))
    elif before["hello_pin"] and not before["pending_task"]:
        entry = {
            "task_path": TASK_PATH,
            "task_name": f"remove-pin-{sid}",
            "cleanup_task_name": f"remove-pin-cleanup-{sid}",
            "sid": sid,
        }
        backups.append(save_lab_backup(host, run_id, "task", entry))
        _register_tasks(host, user, sid, days)
    if params.get("BlockReenroll") and before["pin_policy"] != 0:
        backups.append(apply_lab_policy(host, run_id, POLICY_NAME, 0))
    return backups


def simulate(host: LabHost, params: Mapping[str, Any], whatif: bool) -> dict[str, Any]:
    name, run_id = params["UserName"], params["RunId"]
    all_users, block = bool(params.get("AllUsersNow")), bool(params.get("BlockReenroll"))
    days = int(params.get("ExpireDays") or DEFAULT_EXPIRE_DAYS)
    if not host.elevated:
        return failure("remove_pin", not_elevated_message(), "invalid_input")
    data = fix_data(name, whatif=whatif)
    refused = untrusted_folder_message(host, run_id)
    user = host.find_user(name)
    if refused is None and user is None:
        refused = f"no local account named '{name}'"
    if refused is not None or user is None:
        return failure("remove_pin", str(refused), "invalid_input", data=data)
    before = _state(host, user)
    data.update(sid=host.sid_of(user), before=before)
    policy_wanted = block and before["pin_policy"] != 0
    refused = _signed_in_refusal(host) if before["hello_pin"] and all_users else None
    if refused is not None:
        return failure("remove_pin", refused, "invalid_input", data=data)
    data["planned"] = _plan(user, before, all_users, policy_wanted, days)
    notes = [f"PIN markers seen: {', '.join(before['pin_markers'])}"] if before["hello_pin"] else []
    if not data["planned"]:
        data["after"] = before
        if before["hello_pin"]:
            data["notes"] = [*notes, pending_note(user.name, before)]
            return document("remove_pin", data, status="pending")
        data["notes"] = ["nothing to do: no PIN registered"]
        return document("remove_pin", data)
    if whatif:
        data["notes"] = notes
        return document("remove_pin", data, status="changed")
    backups = _change(host, user, before, params, days)
    notes += [BLOCK_NOTE] if policy_wanted else []
    after = _state(host, user)
    data.update(backups=backups, after=after)
    if after["hello_pin"] and not all_users:
        data["notes"] = [*notes, pending_note(user.name, after)]
        return document("remove_pin", data, status="pending", changed=True)
    if all_users and before["hello_pin"]:
        notes.append("every user on this device must set up Windows Hello again, and this cannot be undone")
        if "pin_provider" in after["pin_markers"]:
            notes.append(
                "the PIN credential provider still lists this SID (UNCONFIRMED whether that marker clears by "
                "itself); run jcfix diagnose after the next sign-in"
            )
    data["notes"] = notes
    return document("remove_pin", data, status="changed", changed=True)


def _check_expire_days(value: int) -> None:
    if not 1 <= value <= 365:
        raise ValueError("must be between 1 and 365")


ACTION = Action(
    name="remove_pin",
    template="remove_pin.ps1.j2",
    version=2,
    summary="Remove a user's Windows Hello PIN: a one-shot task at next sign-in, gone at sign-out (pending till then).",
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
        Param("BlockReenroll", kind="bool", flag="--block-reenroll", help=BLOCK_HELP),
        Param(
            "ExpireDays",
            kind="int",
            help=f"days after which the sign-in tasks expire unused (1-365, default {DEFAULT_EXPIRE_DAYS})",
            validate=_check_expire_days,
        ),
    ),
    result_model=FixData,
    changes_state=True,
    simulate=simulate,
    command="remove-pin",
)
