"""What happens on the machine between scripts: sign-in and sign-out, PIN enrolment, the agent's sync,
time passing, and scheduled tasks running.
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING

from toolkit.lab.windows import security as sec
from toolkit.lab.windows.accounts import LocalAccount
from toolkit.lab.windows.state import (
    AGENT_CONTRIB,
    AGENT_CREATED_DESCRIPTION,
    NGC_PIN_ROOT,
    NGC_STORE,
    PIN_PROVIDER_ROOT,
    HelloContainer,
    Profile,
    WindowsState,
)
from toolkit.lab.windows.tasks import (
    ERROR_REQUEST_REFUSED,
    ScheduledTask,
    TaskTrigger,
    expired_for_deletion,
    parse_duration,
    split_arguments,
    trigger_active,
)

if TYPE_CHECKING:
    from toolkit.lab.windows.machine import WindowsMachine

# The process that runs task actions when no engine is attached: an exit code that says so.
NO_TASK_RUNNER = 0x8007007E  # ERROR_MOD_NOT_FOUND as an HRESULT: nothing could run the script


def _account(state: WindowsState, user: str) -> LocalAccount:
    account = state.sam.by_name(user) or state.sam.by_sid(user)
    if account is None:
        raise KeyError(f"{state.hostname} has no local account {user!r}")
    return account


# ---------------------------------------------------------------------------------------- sessions
def sign_in(machine: WindowsMachine, user: str, shell: str = "explorer.exe") -> list[str]:
    """Sign a local user in; returns the names of the logon tasks that ran (each at EVERY logon)."""
    state = machine.state
    account = _account(state, user)
    sid = state.sam.sid_of(account)
    if state.session_of(sid) is not None:
        return []
    session = state.next_session
    state.next_session += 1
    state.start_session_processes(session)
    for name in (shell, "sihost.exe", "taskhostw.exe", "RuntimeBroker.exe"):
        state.spawn(name, session, sid, f"C:\\Windows\\{name}" if name == "explorer.exe" else "")
    profile = state.profiles.get(sid)
    if profile is None:
        profile = Profile(sid, f"C:\\Users\\{account.name}")
        state.profiles[sid] = profile
        from toolkit.lab.windows.baseline import seed_user_folders

        seed_user_folders(state, sid, profile.local_path)
    profile.loaded = True
    profile.last_use_time = state.clock
    account.last_logon = state.clock
    return fire_logon_tasks(machine, sid)


def sign_out(machine: WindowsMachine, user: str, profile_lingers: bool = False) -> None:
    """End the user's session. A Hello container marked by ``certutil -DeleteHelloContainer`` is deleted now
    ("Users need to sign out after using this option for it to complete": fact sheet §8). With
    ``profile_lingers`` the hive stays loaded (Win32_UserProfile.Loaded lags, issue 10 defect 9)."""
    state = machine.state
    account = _account(state, user)
    sid = state.sam.sid_of(account)
    session = state.session_of(sid)
    if session is not None:
        state.end_session(session)
    profile = state.profiles.get(sid)
    if profile is not None and not profile_lingers:
        profile.loaded = False
    container = state.hello.get(sid)
    if container is not None and container.pending_delete:
        remove_pin(state, sid)


# ---------------------------------------------------------------------------------------- Windows Hello
def pin_marker_paths(state: WindowsState, sid: str) -> list[str]:
    """The registry keys a PIN of ``sid`` sets, per the scenario's choice (which one a consumer PIN sets is
    UNCONFIRMED: fact sheet §8)."""
    roots = {"ngc_pin": NGC_PIN_ROOT, "pin_provider": PIN_PROVIDER_ROOT}
    return [f"{roots[kind]}\\{sid}" for kind in state.pin_markers]


def enrol_pin(state: WindowsState, user: str) -> None:
    """The user sets up a PIN: a new NGC container (its ``1.dat`` holds the owner SID in UTF-16LE: third-party,
    UNCONFIRMED) and the PIN marker keys."""
    account = _account(state, user)
    sid = state.sam.sid_of(account)
    guid = "{" + str(uuid.uuid5(uuid.NAMESPACE_OID, f"{sid}/{len(state.log)}")).upper() + "}"
    state.log.append(f"pin enrolled {sid}")
    state.hello[sid] = HelloContainer(sid, guid)
    node = state.fs.seed_file(f"{NGC_STORE}\\{guid}\\1.dat", sid.encode("utf-16-le"), owner=sec.SYSTEM)
    # The NGC services keep the container's files open while they run (issue 10 defect 8).
    node.in_use = state.services_running("NgcSvc") or state.services_running("NgcCtnrSvc")
    for path in pin_marker_paths(state, sid):
        state.registry.seed(path, {"EncryptedPassword": ("Binary", b"\x01\x00\x00\x00")})


def remove_pin(state: WindowsState, sid: str) -> None:
    """The container and the PIN markers of ``sid`` go (what completes at sign-out)."""
    container = state.hello.pop(sid, None)
    if container is not None:
        folder = state.fs.node(f"{NGC_STORE}\\{container.guid}")
        if folder is not None:
            store = state.fs.get(NGC_STORE)
            store.children.pop(container.guid.lower(), None)
    for root in (NGC_PIN_ROOT, PIN_PROVIDER_ROOT):
        state.registry.drop(f"{root}\\{sid}")


# ---------------------------------------------------------------------------------------- tasks
def _trigger_matches(state: WindowsState, user_id: str | None, sid: str) -> bool:
    if user_id is None:
        return True
    return (state.lookup_name(user_id) if not user_id.upper().startswith("S-1-") else user_id.upper()) == sid


def fire_logon_tasks(machine: WindowsMachine, sid: str) -> list[str]:
    """Run every task with an active logon trigger for ``sid`` (Task Scheduler: at each logon); a trigger
    with a Delay queues the run until :func:`advance` reaches it. Returns the names that ran now."""
    ran = []
    state = machine.state
    for task in list(state.tasks.values()):
        triggers = [t for t in task.triggers if t.kind == "logon" and _trigger_matches(state, t.user_id, sid)
                    and _active(machine, t)]  # fmt: skip
        if not triggers:
            continue
        delay = min(parse_duration(t.delay) if t.delay else timedelta(0) for t in triggers)
        if delay:
            state.delayed_runs.append((state.clock + delay, task.key))
            continue
        run_task(machine, task)
        ran.append(task.name)
    return ran


def _active(machine: WindowsMachine, trigger: TaskTrigger) -> bool:
    return trigger_active(trigger, machine.state.clock)


def principal_sid(state: WindowsState, task: ScheduledTask) -> str | None:
    """The SID a task's principal names (SYSTEM by name or SID; a user by name, DOMAIN\\name or SID)."""
    user_id = task.principal.user_id or ""
    if user_id.upper() in ("SYSTEM", "NT AUTHORITY\\SYSTEM", "LOCALSYSTEM"):
        return sec.SYSTEM
    return user_id.upper() if user_id.upper().startswith("S-1-") else state.lookup_name(user_id)


def principal_token(state: WindowsState, task: ScheduledTask) -> sec.Token | None:
    """The token a task runs with; None when its interactive user is not signed in (it cannot start)."""
    sid = principal_sid(state, task)
    if sid == sec.SYSTEM:
        return sec.system_token()
    if sid is None:
        return None
    account = state.sam.by_sid(sid)
    session = state.session_of(sid)
    if task.principal.logon_type == "Interactive" and session is None:
        return None
    admin = account is not None and state.sam.is_admin(account)
    return sec.user_token(sid, admin, task.principal.run_level == "Highest", False, session or 0)


def run_task(machine: WindowsMachine, task: ScheduledTask) -> int:
    """Run a task's actions now, as its principal; records LastRunTime and LastTaskResult."""
    state = machine.state
    if not task.settings.enabled:
        return task.last_task_result
    if state.on_battery and task.settings.disallow_start_if_on_batteries:
        task.last_task_result = ERROR_REQUEST_REFUSED
        return task.last_task_result
    token = principal_token(state, task)
    if token is None:
        return task.last_task_result
    process = machine.as_process(token, True)
    result = 0
    task.state = "Running"
    for action in task.actions:
        # Each action is its own process, started in the action's working directory (default System32).
        process.location = action.working_directory or "C:\\Windows\\system32"
        result = _run_action(process, action.execute, action.arguments)
        if result:
            break
    task.state = "Ready" if task.settings.enabled else "Disabled"
    task.last_run_time = state.clock
    task.last_task_result = result & 0xFFFFFFFF
    task.run_count += 1
    return task.last_task_result


def _run_action(process: WindowsMachine, execute: str, arguments: str) -> int:
    """One Exec action. powershell.exe goes to the engine's hooks: ``-File path args`` to ``task_runner``
    (the script is read from disk now, as the task's user), ``-EncodedCommand``/``-Command`` to
    ``command_runner`` (the script travels inside the action: about_PowerShell_exe, -EncodedCommand is
    base64 of UTF-16LE text)."""
    from toolkit.lab.windows.registry import expand_environment

    program = expand_environment(execute.strip('"'), dict(process.environment()))
    args = split_arguments(expand_environment(arguments, dict(process.environment())))
    if program.lower().rsplit("\\", 1)[-1] not in ("powershell.exe", "powershell"):
        return process.run_native(program, args).exit_code
    lowered = [a.lower() for a in args]
    for flag in ("-file", "-encodedcommand", "-enc", "-ec", "-command", "-c"):
        if flag not in lowered:
            continue
        index = lowered.index(flag)
        if flag == "-file":
            if process.task_runner is None:
                process.state.log.append(f"no task runner for {args[index + 1]}")
                return NO_TASK_RUNNER
            return int(process.task_runner(process, args[index + 1], args[index + 2 :]))
        if process.command_runner is None:
            process.state.log.append("no command runner for an inline powershell.exe command")
            return NO_TASK_RUNNER
        if flag in ("-command", "-c"):
            text = " ".join(args[index + 1 :])
        else:
            text = base64.b64decode(args[index + 1]).decode("utf-16-le")
        return int(process.command_runner(process, text))
    return process.run_native(program, args).exit_code


def advance(machine: WindowsMachine, seconds: float) -> list[str]:
    """Move the clock: delayed logon runs that fall due run (in order), then the Task Scheduler deletes
    expired tasks whose DeleteExpiredTaskAfter has passed. Returns the names of the deleted tasks."""
    state = machine.state
    target = state.clock + timedelta(seconds=seconds)
    for due, key in sorted(state.delayed_runs):
        if due > target:
            continue
        state.delayed_runs.remove((due, key))
        state.clock = max(state.clock, due)
        task = state.tasks.get(key)
        if task is not None:
            run_task(machine, task)
            state.log.append(f"delayed run of {task.name}")
    state.clock = target
    deleted = []
    for key, task in list(state.tasks.items()):
        if expired_for_deletion(task, state.clock):
            del state.tasks[key]
            deleted.append(task.name)
    return deleted


# ---------------------------------------------------------------------------------------- the agent
def agent_sync(state: WindowsState) -> list[str]:
    """The agent's sync (running agent only): create every account whose provisioning is due, with the
    Description the agent gives (fact sheet §0), and add it to managedUsers.json."""
    if not state.services_running("jumpcloud-agent"):
        return []
    created = []
    for provision in list(state.provisions):
        if state.clock < provision.due:
            continue
        state.provisions.remove(provision)
        if state.sam.by_name(provision.username) is None:
            state.sam.add(
                LocalAccount(
                    state.sam.next_rid(),
                    provision.username,
                    provision.full_name,
                    description=AGENT_CREATED_DESCRIPTION,
                    groups={sec.USERS},
                )
            )
        add_managed_user(state, provision.username)
        created.append(provision.username)
    return created


def add_managed_user(state: WindowsState, username: str) -> None:
    """Append ``{"username": ...}`` to managedUsers.json, keeping a BOM if the file had one. The agent's
    own formatting of this file is UNCONFIRMED (fact sheet §5: only ``username`` is known)."""
    path = f"{AGENT_CONTRIB}\\managedUsers.json"
    node = state.fs.node(path)
    raw = node.data if node is not None else b""
    bom = raw.startswith(b"\xef\xbb\xbf")
    try:
        entries = json.loads(raw[3:] if bom else raw) if raw.strip() else []
    except ValueError:
        entries = []
    if not isinstance(entries, list):
        entries = [entries]
    if any(isinstance(e, dict) and e.get("username") == username for e in entries):
        return
    entries.append({"username": username})
    data = (b"\xef\xbb\xbf" if bom else b"") + json.dumps(entries).encode("utf-8")
    if node is None:
        state.fs.seed_file(path, data)
    else:
        node.data = data
